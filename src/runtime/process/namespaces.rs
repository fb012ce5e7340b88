//! What makes a process group on this machine look like a container from inside: a private
//! mount namespace (volumes at their mountPath, a private `/tmp`) and a PID namespace whose
//! PID 1 is the container's first process. Both need root; without it a container is a plain
//! process group (see the runtime's notices).
//!
//! Everything that runs between fork and exec is prepared before the fork: a forked child of
//! a multi-threaded process may only make async-signal-safe system calls (no allocation).

use std::ffi::CStr;
use std::io;
use std::os::fd::{IntoRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use tokio::sync::oneshot;

/// Where each container gets a tmpfs of its own: concurrent pods never see each other's
/// files there (one pod's probe file satisfied another pod's probe while `/tmp` was shared).
pub(crate) const PRIVATE_TMP: &str = "/tmp";

/// What the kernel lets this runtime give each container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Namespaces {
    /// A private mount namespace: volumes at their mountPath, a private `/tmp`.
    pub mount: bool,
    /// A PID namespace whose PID 1 is the container's first process.
    pub pid: bool,
}

impl Namespaces {
    /// Tries each namespace once with `true` (both need root).
    pub fn detect() -> Self {
        if !nix::unistd::geteuid().is_root() {
            return Self::default();
        }
        Self {
            mount: mount_namespace_works(),
            pid: pid_namespace_works(),
        }
    }
}

/// `true` in a private mount namespace with a private `/tmp`.
fn mount_namespace_works() -> bool {
    let plan = MountPlan::prepare(&[], &[], false);
    let mut probe = quiet_true();
    use std::os::unix::process::CommandExt;
    // SAFETY: `MountPlan::apply` only makes async-signal-safe system calls.
    unsafe {
        probe.pre_exec(move || plan.apply());
    }
    probe.status().is_ok_and(|s| s.success())
}

/// `true` as PID 1 of a new PID namespace.
fn pid_namespace_works() -> bool {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::unshare(CloneFlags::CLONE_NEWPID).is_ok()
                    && quiet_true().status().is_ok_and(|s| s.success())
            })
            .join()
            .unwrap_or(false)
    })
}

fn quiet_true() -> std::process::Command {
    let mut command = std::process::Command::new("true");
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

/// What a bind mount's target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MountKind {
    Dir,
    File,
}

/// A host path mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BindMount {
    pub source: PathBuf,
    pub target: PathBuf,
    pub read_only: bool,
    pub kind: MountKind,
}

/// Whether `path` is inside (or is) the private `/tmp`, so that it only exists in the
/// container's namespace once that tmpfs is mounted.
pub(crate) fn in_private_tmp(path: &Path) -> bool {
    path.starts_with(PRIVATE_TMP)
}

/// A container's mount namespace, made ready before the fork. In the new namespace, sources
/// are opened before the private `/tmp` is mounted and then mounted from `/proc/self/fd/N`:
/// a source inside `/tmp` (podlife's state directory is there) is hidden once the tmpfs is
/// over it. (A source opened before the fork would not do: the kernel refuses to bind a
/// mount of another namespace.)
pub(crate) struct MountPlan {
    binds: Vec<PreparedBind>,
    /// Directories to make in the private `/tmp` after the binds (a `workingDir` there).
    dirs: Vec<PathBuf>,
    /// Mount a `/proc` of the container's PID namespace (its PID 1 is 1 there too).
    proc: bool,
}

struct PreparedBind {
    source: PathBuf,
    /// The source opened in the container's namespace (-1 before).
    opened: AtomicI32,
    target: PathBuf,
    read_only: bool,
    /// What to create in the private `/tmp` first, outermost first (empty for a target
    /// outside it: its mount point exists on the host).
    create: Vec<(PathBuf, MountKind)>,
}

impl MountPlan {
    /// Binds `visible` (host directories that the container keeps at their own path; only
    /// those inside `/tmp` need it), then `mounts` (volumes, files); `proc` mounts a `/proc`
    /// of the container's PID namespace.
    pub fn prepare(visible: &[PathBuf], mounts: &[BindMount], proc: bool) -> Self {
        let kept = visible
            .iter()
            .filter(|dir| in_private_tmp(dir))
            .map(|dir| BindMount {
                source: dir.clone(),
                target: dir.clone(),
                read_only: false,
                kind: MountKind::Dir,
            });
        let binds = kept
            .chain(mounts.iter().cloned())
            .map(PreparedBind::new)
            .collect();
        Self {
            binds,
            dirs: Vec::new(),
            proc,
        }
    }

    /// Also makes `dir` (and its parents) when it is inside the private `/tmp`.
    pub fn with_workdir(mut self, dir: &Path) -> Self {
        self.dirs = to_create(dir, MountKind::Dir)
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        self
    }

    /// In a new mount namespace: `/` made private (nothing propagates back to the host), a
    /// tmpfs on `/tmp`, the binds, then `/proc`. Runs between fork and exec.
    pub fn apply(&self) -> io::Result<()> {
        nix::sched::unshare(CloneFlags::CLONE_NEWNS)?;
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )?;
        for bind in &self.binds {
            bind.open()?;
        }
        mount(
            Some("tmpfs"),
            PRIVATE_TMP,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=1777"),
        )?;
        for bind in &self.binds {
            bind.apply()?;
        }
        for dir in &self.dirs {
            make(dir, MountKind::Dir)?;
        }
        if self.proc {
            // Best effort: where a new procfs is refused (a locked-down machine), the
            // container still runs, with this machine's /proc.
            let _ = mount(
                Some("proc"),
                "/proc",
                Some("proc"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                None::<&str>,
            );
        }
        Ok(())
    }
}

impl PreparedBind {
    fn new(mount: BindMount) -> Self {
        let create = to_create(&mount.target, mount.kind);
        Self {
            source: mount.source,
            opened: AtomicI32::new(-1),
            target: mount.target,
            read_only: mount.read_only,
            create,
        }
    }

    /// Opens the source (`O_PATH`, closed at exec).
    fn open(&self) -> io::Result<()> {
        let fd = nix::fcntl::open(
            &self.source,
            OFlag::O_PATH | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        self.opened.store(fd.into_raw_fd(), Ordering::Relaxed);
        Ok(())
    }

    fn apply(&self) -> io::Result<()> {
        for (path, kind) in &self.create {
            make(path, *kind)?;
        }
        let mut buf = [0u8; FD_PATH_LEN];
        let source = fd_path(self.opened.load(Ordering::Relaxed), &mut buf);
        mount(
            Some(source),
            self.target.as_path(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )?;
        if self.read_only {
            mount(
                None::<&str>,
                self.target.as_path(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                None::<&str>,
            )?;
        }
        Ok(())
    }
}

const FD_PATH_LEN: usize = 32;

/// `/proc/self/fd/<fd>` as a C string in `buf`, without allocating.
fn fd_path(fd: i32, buf: &mut [u8; FD_PATH_LEN]) -> &CStr {
    const PREFIX: &[u8] = b"/proc/self/fd/";
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = [0u8; 10];
    let mut n = fd.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (i, digit) in digits[..len].iter().rev().enumerate() {
        buf[PREFIX.len() + i] = *digit;
    }
    buf[PREFIX.len() + len] = 0;
    CStr::from_bytes_until_nul(&buf[..]).expect("NUL-terminated")
}

/// The paths to make, outermost first, for `target` inside the private `/tmp`: its parents
/// below `/tmp` as directories, then `target` as `kind`; none for a target outside it (its
/// mount point is on the host).
fn to_create(target: &Path, kind: MountKind) -> Vec<(PathBuf, MountKind)> {
    if !in_private_tmp(target) || target == Path::new(PRIVATE_TMP) {
        return Vec::new();
    }
    let mut paths: Vec<(PathBuf, MountKind)> = target
        .ancestors()
        .skip(1)
        .take_while(|p| *p != Path::new(PRIVATE_TMP))
        .map(|p| (p.to_path_buf(), MountKind::Dir))
        .collect();
    paths.reverse();
    paths.push((target.to_path_buf(), kind));
    paths
}

/// Makes a directory or an empty file; one that exists already is fine. Async-signal-safe.
fn make(path: &Path, kind: MountKind) -> io::Result<()> {
    let made = match kind {
        MountKind::Dir => nix::unistd::mkdir(path, Mode::from_bits_truncate(0o755)),
        MountKind::File => nix::fcntl::open(
            path,
            OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o644),
        )
        .map(drop),
    };
    match made {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Between fork and exec of a container's first process: it dies with the runtime, gets its
/// mounts, then its working directory. The directory is entered last, so that a `workingDir`
/// inside a volume or the private `/tmp` is the container's, not the host's.
pub(crate) fn enter_container(plan: Option<&MountPlan>, cwd: &Path) -> io::Result<()> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    if let Some(plan) = plan {
        plan.apply()?;
    }
    nix::unistd::chdir(cwd)?;
    Ok(())
}

/// Between fork and exec of a process exec'd in a container: it joins the container's mount
/// namespace, then enters the container's working directory. `setns` moves a process to the
/// namespace's root directory, so the directory must be entered after it (an exec probe's
/// `touch started` once created `/started` on the host).
pub(crate) fn join_container(mount_ns: Option<&OwnedFd>, cwd: &Path) -> io::Result<()> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    if let Some(ns) = mount_ns {
        nix::sched::setns(ns, CloneFlags::CLONE_NEWNS)?;
    }
    nix::unistd::chdir(cwd)?;
    Ok(())
}

/// The PID namespace a new process starts in.
pub(crate) enum PidNamespace {
    /// This machine's (no isolation).
    Host,
    /// A new one, whose PID 1 the process is (a container's first process).
    New,
    /// A container's (`/proc/<pid>/ns/pid`), for exec'd probes and hooks.
    Join(OwnedFd),
}

impl PidNamespace {
    /// Makes the calling thread's next child start in this namespace (a thread's own PID
    /// namespace never changes).
    fn enter(&self) -> io::Result<()> {
        match self {
            Self::Host => Ok(()),
            Self::New => Ok(nix::sched::unshare(CloneFlags::CLONE_NEWPID)?),
            Self::Join(ns) => Ok(nix::sched::setns(ns, CloneFlags::CLONE_NEWPID)?),
        }
    }
}

/// A process started by [`spawn_waited`].
pub(crate) struct Started {
    /// Its PID on this machine (also its process group: commands get groups of their own).
    pub pid: i32,
    /// How it ended, once it has (it is reaped by then).
    pub exit: oneshot::Receiver<io::Result<ExitStatus>>,
}

/// Starts `command` from a thread of its own, which then waits for it. The thread is the
/// process's parent for its whole life, so `PR_SET_PDEATHSIG` (which follows the parent
/// *thread*) fires only when podlife dies; and the thread can enter `pid_ns` for its child
/// without moving the rest of podlife.
pub(crate) async fn spawn_waited(
    mut command: std::process::Command,
    pid_ns: PidNamespace,
) -> io::Result<Started> {
    let (started_tx, started_rx) = oneshot::channel();
    let (exit_tx, exit_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("podlife-process".into())
        .spawn(move || {
            let spawned = pid_ns.enter().and_then(|()| command.spawn());
            // This side's copies of what the child was given (a namespace, the output pipe's
            // write end) close here, so that its output ends when it does.
            drop((command, pid_ns));
            let mut child = match spawned {
                Ok(child) => child,
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                    return;
                }
            };
            let pid = child.id() as i32;
            if started_tx.send(Ok(pid)).is_err() {
                // The caller is gone (cancelled): nobody would ever stop it.
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(-pid), Signal::SIGKILL);
            }
            let _ = exit_tx.send(child.wait());
        })?;
    let pid = started_rx
        .await
        .map_err(|_| io::Error::other("the thread starting the process died"))??;
    Ok(Started { pid, exit: exit_rx })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_parents_below_tmp_then_the_target() {
        assert_eq!(
            to_create(Path::new("/tmp/a/b/log"), MountKind::File),
            [
                (PathBuf::from("/tmp/a"), MountKind::Dir),
                (PathBuf::from("/tmp/a/b"), MountKind::Dir),
                (PathBuf::from("/tmp/a/b/log"), MountKind::File),
            ]
        );
        assert_eq!(to_create(Path::new("/tmp"), MountKind::Dir), []);
        assert_eq!(to_create(Path::new("/var/log"), MountKind::Dir), []);
    }

    #[test]
    fn fd_paths() {
        let mut buf = [0u8; FD_PATH_LEN];
        assert_eq!(fd_path(7, &mut buf).to_str(), Ok("/proc/self/fd/7"));
        assert_eq!(fd_path(1234, &mut buf).to_str(), Ok("/proc/self/fd/1234"));
        assert_eq!(fd_path(0, &mut buf).to_str(), Ok("/proc/self/fd/0"));
    }

    #[test]
    fn only_paths_under_tmp_are_private() {
        assert!(in_private_tmp(Path::new("/tmp")));
        assert!(in_private_tmp(Path::new("/tmp/x")));
        assert!(!in_private_tmp(Path::new("/tmpfoo")));
        assert!(!in_private_tmp(Path::new("/var/tmp")));
    }
}
