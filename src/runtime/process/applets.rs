//! Busybox's commands for containers of podlife's busybox-based images. Their `sh`, `sleep`,
//! `wget` … are busybox's in a real container; on the process runtime they would be the
//! host's (Debian's `sh` is dash, which rejects `trap _term SIGTERM`). So such a container gets
//! a directory of links, one per applet, first on its `PATH`.
//!
//! The directory is made once per podlife process and shared by its runtimes: its ~270 links
//! took 0.1 s of system time on the project machine, once per runtime, which delayed the
//! timers of concurrent scenarios. It lies among the runs as a run of this process, so the
//! first runtime started after the process has gone reaps it.

use std::path::{Path, PathBuf};

use tokio::sync::OnceCell;

/// Whether `image` is one of podlife's images, all of which are busybox or built on it
/// (`busybox`, `busybox:latest`, the testapp image, the seed's images).
pub(crate) fn busybox_based(image: &str) -> bool {
    let mut recipe = crate::images::recipe_for(image);
    while let Some(r) = recipe {
        if r.references()
            .any(|name| name == crate::images::BUSYBOX_IMAGE)
        {
            return true;
        }
        recipe = r.base.and_then(crate::images::recipe_for);
    }
    false
}

/// How containers of busybox-based images get busybox's commands on this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applets {
    /// A directory of links, one per applet (and `busybox` itself), to put first on `PATH`.
    Dir(PathBuf),
    /// No usable busybox here (why): such containers keep the host's commands.
    Missing(String),
}

/// This process's applets, once made.
static SHARED: OnceCell<Applets> = OnceCell::const_new();

/// This process's applets, made on first use under `runs` (off the async workers).
pub(crate) async fn shared(runs: &Path) -> &'static Applets {
    SHARED
        .get_or_init(|| async {
            let busybox = crate::images::busybox::path(&|line| tracing::info!("{line}")).await;
            let runs = runs.to_path_buf();
            let applets = tokio::task::spawn_blocking(move || Applets::prepare(busybox, &runs))
                .await
                .unwrap_or_else(|e| Applets::Missing(format!("linking the applets failed: {e}")));
            if let Some(notice) = applets.notice() {
                tracing::warn!("{notice}");
            }
            applets
        })
        .await
}

/// This process's applets if they have been looked for.
pub(crate) fn shared_if_made() -> Option<&'static Applets> {
    SHARED.get()
}

impl Applets {
    /// Links the applets of `busybox` (or says why there are none) in a directory under
    /// `runs` owned by this process: staged under a dot-name with its owner file, then renamed
    /// into place, so that a runtime starting meanwhile never reaps it.
    pub fn prepare(busybox: Result<PathBuf, String>, runs: &Path) -> Self {
        let name = format!("{}-busybox", std::process::id());
        let staged = runs.join(format!(".{name}"));
        let dir = runs.join(name);
        let linked = busybox.and_then(|busybox| {
            let _ = std::fs::remove_dir_all(&staged);
            link_applets(&busybox, &staged)?;
            let owner = super::owner_token(std::process::id()).unwrap_or_default();
            std::fs::write(staged.join("owner"), owner)
                .and_then(|()| std::fs::rename(&staged, &dir))
                .map_err(|e| format!("cannot set up {}: {e}", dir.display()))
        });
        match linked {
            Ok(()) => Self::Dir(dir),
            Err(why) => {
                let _ = std::fs::remove_dir_all(&staged);
                Self::Missing(why)
            }
        }
    }

    /// What users should know: the host's commands stand in for busybox's.
    pub fn notice(&self) -> Option<String> {
        match self {
            Self::Dir(_) => None,
            Self::Missing(why) => Some(format!(
                "process runtime: no busybox ({why}): containers of busybox images run this \
                 machine's `sh`, `sleep` … instead of busybox's (install busybox-static or set \
                 PODLIFE_BUSYBOX)"
            )),
        }
    }

    /// `path` with the applets first, or as it is without them.
    pub fn path_for(&self, path: &str) -> String {
        match self {
            Self::Dir(dir) => format!("{}:{path}", dir.display()),
            Self::Missing(_) => path.to_owned(),
        }
    }

    pub fn dir(&self) -> Option<&Path> {
        match self {
            Self::Dir(dir) => Some(dir),
            Self::Missing(_) => None,
        }
    }
}

/// Puts `busybox` in `dir` (a hard link, else a copy: the original may be where a
/// container's private `/tmp` hides it) and a link `<applet> -> busybox` for each applet it
/// lists.
fn link_applets(busybox: &Path, dir: &Path) -> Result<(), String> {
    let failed = |what: &str, e: std::io::Error| format!("cannot {what}: {e}");
    std::fs::create_dir_all(dir).map_err(|e| failed(&format!("create {}", dir.display()), e))?;
    let own = dir.join("busybox");
    if std::fs::hard_link(busybox, &own).is_err() {
        std::fs::copy(busybox, &own)
            .map_err(|e| failed(&format!("copy {}", busybox.display()), e))?;
    }
    let list = std::process::Command::new(&own)
        .arg("--list")
        .output()
        .map_err(|e| failed(&format!("run {} --list", busybox.display()), e))?;
    if !list.status.success() {
        return Err(format!(
            "`{} --list` failed ({})",
            busybox.display(),
            list.status
        ));
    }
    for applet in applet_names(&String::from_utf8_lossy(&list.stdout)) {
        std::os::unix::fs::symlink("busybox", dir.join(applet))
            .map_err(|e| failed(&format!("link {applet}"), e))?;
    }
    Ok(())
}

/// The applet names of `busybox --list`, without `busybox` itself.
fn applet_names(list: &str) -> impl Iterator<Item = &str> {
    list.lines()
        .map(str::trim)
        .filter(|name| !name.is_empty() && !name.contains('/') && *name != "busybox")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podlifes_images_are_busybox_based() {
        for image in [
            "busybox",
            "busybox:latest",
            "docker.io/library/busybox",
            "podlife/busybox:1",
            "podlife/testapp:1",
            "sample:v2",
            "centos:nginx",
            "testapp",
        ] {
            assert!(busybox_based(image), "{image}");
        }
        for image in ["busybox:1.36", "alpine", "nginx:1.27", "debian:12"] {
            assert!(!busybox_based(image), "{image}");
        }
    }

    #[test]
    fn applet_names_leave_out_busybox_and_paths() {
        let names: Vec<&str> = applet_names("[\nbusybox\nsh\n\n../x\nsleep\n").collect();
        assert_eq!(names, ["[", "sh", "sleep"]);
    }

    #[test]
    fn without_busybox_the_path_stays_and_a_notice_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let applets = Applets::prepare(Err("no busybox here".into()), dir.path());
        assert_eq!(applets.path_for("/usr/bin:/bin"), "/usr/bin:/bin");
        assert!(applets.dir().is_none());
        let notice = applets.notice().unwrap();
        assert!(notice.contains("no busybox here"), "{notice}");
    }

    #[test]
    fn an_unusable_busybox_is_missing_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let applets = Applets::prepare(Ok(PathBuf::from("/no/such/busybox")), dir.path());
        assert!(matches!(applets, Applets::Missing(_)), "{applets:?}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing left"
        );
    }

    #[test]
    fn the_applets_are_links_to_a_busybox_of_this_process() {
        // Any program that lists names for `--list` will do as a busybox here.
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake-busybox");
        std::fs::write(&fake, "#!/bin/sh\nprintf 'sh\\nsleep\\nbusybox\\n'\n").unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let runs = dir.path().join("runs");
        std::fs::create_dir(&runs).unwrap();
        let applets = Applets::prepare(Ok(fake), &runs);
        let made = runs.join(format!("{}-busybox", std::process::id()));
        assert_eq!(applets, Applets::Dir(made.clone()));
        assert_eq!(applets.path_for("/bin"), format!("{}:/bin", made.display()));
        for applet in ["sh", "sleep"] {
            assert_eq!(
                std::fs::read_link(made.join(applet)).unwrap(),
                Path::new("busybox")
            );
        }
        assert!(made.join("busybox").is_file());
        let owner = std::fs::read_to_string(made.join("owner")).unwrap();
        assert!(
            owner.starts_with(&format!("{} ", std::process::id())),
            "{owner}"
        );
    }
}
