//! The recipes: every Dockerfile and file podlife's images are built from, kept in the source so
//! that an installed `podlife` binary can build them anywhere. Build contexts are assembled in
//! memory (see `context.rs`); the only files taken from the machine are `/bin/busybox` (Debian's
//! `busybox-static`) and the static `testapp` binary.
//!
//! Each Dockerfile step of Docker's classic builder costs about a second (a container is
//! created and committed), so recipes keep to `FROM`, one `COPY rootfs/ /`, one `CMD` or
//! `ENTRYPOINT` (and the labels `build` adds); only busybox needs a `RUN`. No `STOPSIGNAL`:
//! every image stops on SIGTERM.

/// Where a recipe's binary comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binary {
    /// The host's static busybox (`$PODLIFE_BUSYBOX`, else `/bin/busybox`), as
    /// `rootfs/bin/busybox` in the build context.
    Busybox,
    /// The host's busybox without its `httpd` applet (renamed `httpD` in its applet table), as
    /// `rootfs/usr/local/bin/sh`: Debian's busybox-static runs applets before searching PATH
    /// (FEATURE_SH_STANDALONE), so without this `sh -c "httpd -t"` would never reach the
    /// Apache stand-in `/usr/local/bin/httpd`.
    ShellWithoutHttpd,
    /// The static testapp binary (`$PODLIFE_TESTAPP_STATIC`, else built from the source tree),
    /// as `rootfs/usr/local/bin/testapp` in the build context.
    Testapp,
}

/// One entry of a recipe's `rootfs/` tree: copied to `/` by `COPY rootfs/ /`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// Path below `rootfs/`, without a leading slash; a trailing slash makes a directory.
    pub path: &'static str,
    pub mode: u32,
    pub content: &'static str,
}

const fn file(path: &'static str, mode: u32, content: &'static str) -> Entry {
    Entry {
        path,
        mode,
        content,
    }
}

const fn dir(path: &'static str, mode: u32) -> Entry {
    Entry {
        path,
        mode,
        content: "",
    }
}

/// An image podlife builds itself.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// The reference it is built and listed as, e.g. `busybox:latest`.
    pub name: &'static str,
    /// Further references tagged on the same image, e.g. `podlife/busybox:1`.
    pub also: &'static [&'static str],
    /// The image this one is built `FROM` (a reference of another recipe), built first.
    pub base: Option<&'static str>,
    /// One line on what it is for.
    pub about: &'static str,
    pub(crate) dockerfile: &'static str,
    pub(crate) entries: &'static [Entry],
    pub(crate) binary: Option<Binary>,
}

impl Recipe {
    /// Every reference of the image: its name first, then the others.
    pub fn references(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.name).chain(self.also.iter().copied())
    }
}

/// The base image of every other one.
pub(crate) const BUSYBOX_BASE: &str = "podlife/busybox:1";

const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
";

const GROUP: &str = "\
root:x:0:
nobody:x:65534:
";

const BUSYBOX_DOCKERFILE: &str = r#"# podlife/busybox:1 (also busybox:latest): Debian's busybox-static on an empty file system,
# the base of every podlife image.
FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["sh"]
"#;

const PAUSE_DOCKERFILE: &str = r#"# podlife/pause:1: the pod sandbox, which owns the pod's network namespace.
FROM podlife/busybox:1
COPY rootfs/ /
CMD ["/usr/local/bin/pause"]
"#;

const PAUSE_SH: &str = r#"#!/bin/sh
# The pod sandbox: sleeps until SIGTERM or SIGINT, then exits 0.
trap 'exit 0' TERM INT
while true; do
    sleep 3600 &
    wait $!
done
"#;

const TESTAPP_DOCKERFILE: &str = r#"# podlife/testapp:1 (also testapp:latest): podlife's test program, statically linked, on
# busybox so that exec probes and hooks have a shell.
FROM podlife/busybox:1
COPY rootfs/ /
ENTRYPOINT ["/usr/local/bin/testapp"]
"#;

const SAMPLE_DOCKERFILE: &str = r#"# sample:v2: the seed article's war-deployment placeholder: /sample.war and an empty /app.
FROM podlife/busybox:1
COPY rootfs/ /
CMD ["sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 1 & wait $!; done"]
"#;

const SAMPLE_WAR: &str = "\
podlife sample.war: a placeholder web archive for the seed article's sample:v2 image.
";

const WEB_APACHE_DOCKERFILE: &str = r#"# web:apache: the seed article's Apache placeholder: /etc/run.sh serves /var/www on port 80
# (busybox httpd), and `httpd -t` answers Apache's configuration test. /usr/local/bin/sh is a
# busybox whose shell finds `httpd` on PATH (/usr/local/bin/httpd) instead of its own applet.
FROM podlife/busybox:1
COPY rootfs/ /
CMD ["sh", "/etc/run.sh"]
"#;

const WEB_RUN_SH: &str = r#"#!/bin/sh
# Serves /var/www on port 80 in the foreground, as Apache's `httpd -DFOREGROUND` would.
# SIGTERM or SIGINT stop it at once with exit 0, as they stop Apache.
trap 'kill "$server" 2>/dev/null; exit 0' TERM INT
# The page also says which pod answered (as testapp does), so that requests through a
# Service can be told apart.
echo "<html><body><h1>It works!</h1><p>hello from $(hostname)</p></body></html>" > /var/www/index.html
/bin/busybox httpd -f -p 80 -h /var/www &
server=$!
wait "$server"
"#;

const WEB_HTTPD: &str = r#"#!/bin/sh
# Apache's `httpd -t` (configuration test) says "Syntax OK"; anything else is busybox httpd.
if [ "$1" = "-t" ]; then
    echo "Syntax OK" >&2
    exit 0
fi
exec /bin/busybox httpd "$@"
"#;

const WEB_INDEX: &str = "<html><body><h1>It works!</h1></body></html>\n";

const NGINX_DOCKERFILE: &str = r#"# centos:nginx: the seed article's nginx placeholder: HTTP on port 80 (busybox httpd);
# SIGTERM exits at once, `nginx -s quit` shuts down gracefully.
FROM podlife/busybox:1
COPY rootfs/ /
CMD ["/usr/local/nginx/sbin/nginx", "-g", "daemon off;"]
"#;

const NGINX_SH: &str = r#"#!/bin/sh
# A stand-in for nginx, with its signal semantics:
#   nginx [-g 'daemon off;']  serve /usr/local/nginx/html on port 80 in the foreground,
#                             pid in /run/nginx.pid
#   SIGTERM, SIGINT           fast shutdown: exit 0 at once
#   SIGQUIT (nginx -s quit)   graceful shutdown: stop listening, finish in-flight requests
#                             (about 1 s), exit 0; a SIGTERM meanwhile does not cut it short
#   nginx -s stop|quit|reopen|reload   signal the running server;  nginx -t  config test
pidfile=/run/nginx.pid
case "$1" in
-s)
    pid=$(cat "$pidfile" 2>/dev/null) || {
        echo "nginx: [error] open() \"$pidfile\" failed (2: No such file or directory)" >&2
        exit 1
    }
    case "$2" in
    stop) kill -TERM "$pid" ;;
    quit) kill -QUIT "$pid" ;;
    reopen) kill -USR1 "$pid" ;;
    reload) kill -HUP "$pid" ;;
    *) echo "nginx: [emerg] invalid option: \"-s $2\"" >&2; exit 1 ;;
    esac
    exit ;;
-t)
    echo "nginx: configuration file /usr/local/nginx/conf/nginx.conf test is successful" >&2
    exit 0 ;;
-v|-V)
    echo "nginx version: podlife stand-in (busybox httpd)" >&2
    exit 0 ;;
esac
fast_shutdown() {
    echo "nginx: fast shutdown"
    kill "$server" 2>/dev/null
    rm -f "$pidfile"
    exit 0
}
graceful_shutdown() {
    trap 'echo "nginx: SIGTERM ignored: shutting down gracefully"' TERM INT
    echo "nginx: graceful shutdown: finishing in-flight requests"
    kill "$server" 2>/dev/null  # stops listening; requests being served finish
    sleep 1
    rm -f "$pidfile"
    echo "nginx: exit"
    exit 0
}
trap fast_shutdown TERM INT
trap graceful_shutdown QUIT
trap '' HUP USR1
mkdir -p /run
echo $$ > "$pidfile"
/bin/busybox httpd -f -p 80 -h /usr/local/nginx/html &
server=$!
echo "nginx: serving on port 80 (pid $$)"
wait "$server"
"#;

const NGINX_INDEX: &str = "<html><body><h1>Welcome to nginx!</h1></body></html>\n";

static RECIPES: &[Recipe] = &[
    Recipe {
        name: "busybox:latest",
        also: &[BUSYBOX_BASE],
        base: None,
        about: "Debian's busybox-static on an empty file system; the base of the others",
        dockerfile: BUSYBOX_DOCKERFILE,
        entries: &[
            file("etc/passwd", 0o644, PASSWD),
            file("etc/group", 0o644, GROUP),
            dir("tmp/", 0o1777),
            dir("root/", 0o700),
            dir("var/log/", 0o755),
        ],
        binary: Some(Binary::Busybox),
    },
    Recipe {
        name: super::PAUSE_IMAGE,
        also: &[],
        base: Some(BUSYBOX_BASE),
        about: "the pod sandbox: sleeps, exits 0 on SIGTERM",
        dockerfile: PAUSE_DOCKERFILE,
        entries: &[file("usr/local/bin/pause", 0o755, PAUSE_SH)],
        binary: None,
    },
    Recipe {
        name: super::TESTAPP_IMAGE,
        also: &["testapp:latest"],
        base: Some(BUSYBOX_BASE),
        about: "podlife's test program (static), ENTRYPOINT /usr/local/bin/testapp",
        dockerfile: TESTAPP_DOCKERFILE,
        entries: &[dir("var/log/testapp/", 0o755)],
        binary: Some(Binary::Testapp),
    },
    Recipe {
        name: "sample:v2",
        also: &[],
        base: Some(BUSYBOX_BASE),
        about: "the seed's war image: /sample.war, an empty /app",
        dockerfile: SAMPLE_DOCKERFILE,
        entries: &[file("sample.war", 0o644, SAMPLE_WAR), dir("app/", 0o755)],
        binary: None,
    },
    Recipe {
        name: "web:apache",
        also: &[],
        base: Some(BUSYBOX_BASE),
        about: "the seed's Apache: /etc/run.sh serves port 80, `httpd -t` says Syntax OK",
        dockerfile: WEB_APACHE_DOCKERFILE,
        entries: &[
            file("etc/run.sh", 0o755, WEB_RUN_SH),
            file("usr/local/bin/httpd", 0o755, WEB_HTTPD),
            file("var/www/index.html", 0o644, WEB_INDEX),
        ],
        binary: Some(Binary::ShellWithoutHttpd),
    },
    Recipe {
        name: "centos:nginx",
        also: &[],
        base: Some(BUSYBOX_BASE),
        about: "the seed's nginx: port 80; SIGTERM exits at once, `nginx -s quit` drains 1 s",
        dockerfile: NGINX_DOCKERFILE,
        entries: &[
            file("usr/local/nginx/sbin/nginx", 0o755, NGINX_SH),
            file("usr/local/nginx/html/index.html", 0o644, NGINX_INDEX),
            dir("run/", 0o755),
        ],
        binary: None,
    },
];

/// Every recipe, each after its base.
pub(crate) fn all() -> &'static [Recipe] {
    RECIPES
}
