//! Where the static busybox comes from: `$PODLIFE_BUSYBOX`, the host's `busybox-static`, or —
//! on a Debian machine that lacks it — Debian's `busybox-static` package fetched with
//! `apt-get download` and unpacked into a cache directory (nothing is installed on the host).
//!
//! Every image podlife builds is busybox-based, and there is no registry to pull one from, so
//! a fresh machine must be able to get busybox by itself: `cargo test` and
//! `podlife run --runtime docker` work without a manual install step.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

/// The Debian package that holds a statically linked busybox.
const PACKAGE: &str = "busybox-static";

/// Where a fetched busybox is kept: `$PODLIFE_CACHE`, the source tree's `target/` when podlife
/// runs from it, else `$XDG_CACHE_HOME/podlife` or `~/.cache/podlife`.
pub(crate) fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PODLIFE_CACHE") {
        return PathBuf::from(dir);
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    if source.join("Cargo.toml").is_file() {
        return source.join("target/podlife-cache");
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("podlife")
}

/// The busybox to use: `$PODLIFE_BUSYBOX`, else the host's static busybox, else one fetched
/// earlier into the cache, else one fetched now (`progress` is told first: it takes seconds).
/// The result is not checked for static linking here; callers do that.
pub async fn path(progress: &(dyn Fn(&str) + Sync)) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("PODLIFE_BUSYBOX") {
        return Ok(PathBuf::from(path));
    }
    if let Some(host) = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists() && is_static(p))
    {
        return Ok(host);
    }
    let cached = cache_dir().join(PACKAGE).join("busybox");
    if cached.is_file() {
        return Ok(cached);
    }
    progress(&format!(
        "fetching Debian's {PACKAGE} (no static busybox on this machine)"
    ));
    fetch(&cached).await?;
    Ok(cached)
}

/// Whether the file at `path` is a statically linked ELF (Debian's plain `busybox` is not).
fn is_static(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| super::context::check_static_elf(&bytes).is_ok())
}

/// `apt-get download busybox-static` into a private directory, `dpkg-deb -x`, then the binary
/// renamed into place (atomic, so concurrent fetchers never see half a file).
async fn fetch(into: &Path) -> Result<(), String> {
    let parent = into.parent().expect("cache path has a parent");
    let work = parent.join(format!("fetch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let result = fetch_in(&work, into).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn fetch_in(work: &Path, into: &Path) -> Result<(), String> {
    let mut download = run(work, "apt-get", &["download", "-q", PACKAGE]).await;
    if download.is_err() && nix::unistd::geteuid().is_root() {
        // A fresh machine has no package lists yet.
        run(work, "apt-get", &["update", "-q"]).await?;
        download = run(work, "apt-get", &["download", "-q", PACKAGE]).await;
    }
    download.map_err(|e| {
        format!("{e}; install it (`apt-get install {PACKAGE}`) or set PODLIFE_BUSYBOX")
    })?;
    let deb = std::fs::read_dir(work)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| format!("apt-get download left no {PACKAGE} package"))?;
    let root = work.join("root");
    let (deb, root_arg) = (deb.to_string_lossy(), root.to_string_lossy());
    run(work, "dpkg-deb", &["-x", &deb, &root_arg]).await?;
    let binary = ["bin/busybox", "usr/bin/busybox"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{PACKAGE} holds no bin/busybox"))?;
    std::fs::rename(&binary, into).map_err(|e| format!("cannot keep {}: {e}", into.display()))
}

/// Runs `program args` in `dir`; an error carries what it printed.
async fn run(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "`{program} {}` failed ({}): {}",
        args.join(" "),
        output.status,
        said.trim()
    ))
}
