//! The process runtime on its own: real process groups, signals, exec, volumes, cleanup.

use std::time::{Duration, Instant};

use podlife::runtime::process::ProcessRuntime;
use podlife::runtime::{
    ContainerRuntime, ContainerSpec, ExecError, MountSpec, SandboxSpec, Signal,
};

fn sandbox_spec(name: &str) -> SandboxSpec {
    SandboxSpec {
        domain_names: Vec::new(),
        pod_uid: format!("uid-{name}-0000"),
        pod_name: name.to_owned(),
        namespace: "default".to_owned(),
        hostname: name.to_owned(),
        volumes: vec![podlife::runtime::VolumeSpec::empty("data")],
        annotations: Default::default(),
    }
}

fn container(name: &str, script: &str) -> ContainerSpec {
    ContainerSpec {
        name: name.to_owned(),
        image: "busybox".to_owned(),
        command: vec!["sh".into(), "-c".into(), script.to_owned()],
        args: vec![],
        env: vec![("GREETING".into(), "hello".into())],
        working_dir: None,
        mounts: vec![MountSpec {
            volume: "data".into(),
            path: "/podlife-test-data".into(),
            read_only: false,
        }],
        attempt: 0,
        termination_message_path: Some("/dev/termination-log".into()),
    }
}

/// How a container ends on a stop signal: as in a container runtime when there is a PID
/// namespace (root), as a process group otherwise.
#[tokio::test]
async fn signals_and_exit_codes_follow_the_pid_namespace() {
    let runtime = ProcessRuntime::new().unwrap();
    let sandbox = runtime.create_sandbox(&sandbox_spec("sig")).await.unwrap();
    // `sh` without a trap, with a child in the background.
    let id = runtime
        .create_container(
            &sandbox,
            &container("app", "sleep 300 & echo $GREETING $POD_IP; wait"),
        )
        .await
        .unwrap();
    runtime.start_container(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    runtime
        .signal_container(&id, Signal::SIGTERM)
        .await
        .unwrap();
    let exit = if runtime.pid_namespace() {
        // PID 1 ignores a signal it has no handler for, and only PID 1 gets it.
        let waited =
            tokio::time::timeout(Duration::from_millis(500), runtime.wait_container(&id)).await;
        assert!(waited.is_err(), "PID 1 died of SIGTERM: {waited:?}");
        runtime
            .signal_container(&id, Signal::SIGKILL)
            .await
            .unwrap();
        let exit = tokio::time::timeout(Duration::from_secs(5), runtime.wait_container(&id))
            .await
            .expect("exits after SIGKILL")
            .unwrap();
        assert_eq!((exit.code, exit.signal), (137, Some(9)));
        exit
    } else {
        // The whole group gets it, the first process too.
        let exit = tokio::time::timeout(Duration::from_secs(5), runtime.wait_container(&id))
            .await
            .expect("exits after SIGTERM")
            .unwrap();
        assert_eq!((exit.code, exit.signal), (143, Some(15)));
        exit
    };
    assert_eq!(exit.reason(), "Error");
    let log = runtime.logs_tail(&id, 10, 1000).await.unwrap();
    assert_eq!(log, format!("hello {}", sandbox.ip));
    assert!(sandbox.ip.to_string().starts_with("127."));
}

#[tokio::test]
async fn exec_runs_inside_with_a_timeout() {
    let runtime = ProcessRuntime::new().unwrap();
    let sandbox = runtime.create_sandbox(&sandbox_spec("exec")).await.unwrap();
    let id = runtime
        .create_container(
            &sandbox,
            &container("app", "echo made > $PODLIFE_VOLUME_DATA/file; sleep 300"),
        )
        .await
        .unwrap();
    runtime.start_container(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = runtime
        .exec(
            &id,
            &sh("cat $PODLIFE_VOLUME_DATA/file; echo err >&2; exit 3"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, 3);
    assert_eq!(out.output, "made\nerr\n");
    let start = Instant::now();
    let timed = runtime
        .exec(&id, &sh("sleep 30"), Some(Duration::from_millis(300)))
        .await;
    assert_eq!(timed, Err(ExecError::TimedOut));
    assert!(start.elapsed() < Duration::from_secs(2));
    let missing = runtime
        .exec(&id, &["/no/such/program".to_owned()], None)
        .await;
    assert!(matches!(missing, Err(ExecError::Failed(_))), "{missing:?}");
    runtime
        .signal_container(&id, Signal::SIGKILL)
        .await
        .unwrap();
    let exit = runtime.wait_container(&id).await.unwrap();
    assert_eq!(exit.code, 137);
}

#[tokio::test]
async fn termination_message_and_volume_mounts() {
    let runtime = ProcessRuntime::new().unwrap();
    if !runtime.isolation() {
        eprintln!("SKIPPED: mount namespaces need root here");
        return;
    }
    let sandbox = runtime.create_sandbox(&sandbox_spec("msg")).await.unwrap();
    let id = runtime
        .create_container(
            &sandbox,
            &container("app", "echo bye > /dev/termination-log; exit 2"),
        )
        .await
        .unwrap();
    runtime.start_container(&id).await.unwrap();
    let exit = runtime.wait_container(&id).await.unwrap();
    assert_eq!(exit.code, 2);
    let message = runtime
        .read_file(&id, "/dev/termination-log", 4096)
        .await
        .unwrap();
    assert_eq!(message.as_deref(), Some(&b"bye\n"[..]));
    // The host's /dev/termination-log is not written: it is a private bind mount.
    let host = std::fs::read_to_string("/dev/termination-log").unwrap_or_default();
    assert!(!host.contains("bye"));
}

#[tokio::test]
async fn a_command_is_required() {
    let runtime = ProcessRuntime::new().unwrap();
    let sandbox = runtime
        .create_sandbox(&sandbox_spec("nocmd"))
        .await
        .unwrap();
    let mut spec = container("app", "");
    spec.command.clear();
    let err = runtime.create_container(&sandbox, &spec).await.unwrap_err();
    assert!(err.0.contains("has no `command`"), "{err}");
}

/// The PIDs (on this machine) of live processes with `arg` among their arguments.
fn processes_with_arg(arg: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            cmdline.split(|b| *b == 0).any(|a| a == arg.as_bytes()) && !stat.contains(") Z ")
        })
        .collect()
}

/// A `sleep` argument no other process has: 1000 s and a random fraction.
fn unique_sleep() -> String {
    format!("1000.{}", fastrand::u32(1..u32::MAX))
}

/// Waits up to 2 s until no live process has `arg`.
async fn until_gone(arg: &str) -> Vec<i32> {
    for _ in 0..40 {
        if processes_with_arg(arg).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    processes_with_arg(arg)
}

#[test]
fn dropping_the_runtime_kills_its_processes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let marker = unique_sleep();
    rt.block_on(async {
        let runtime = ProcessRuntime::new().unwrap();
        let sandbox = runtime.create_sandbox(&sandbox_spec("drop")).await.unwrap();
        let id = runtime
            .create_container(&sandbox, &container("app", &format!("sleep {marker}")))
            .await
            .unwrap();
        runtime.start_container(&id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !processes_with_arg(&marker).is_empty(),
            "the container runs"
        );
        drop(runtime);
        let left = until_gone(&marker).await;
        assert!(left.is_empty(), "processes {left:?} outlived the runtime");
    });
}

/// A container's first process, and the probes and hooks exec'd in it, work in its
/// `workingDir`, or in a directory of its own without one: a relative path is never the
/// host's `/` (an exec probe `touch started` once created `/started` on this machine).
#[tokio::test]
async fn exec_runs_in_the_containers_working_directory() {
    let runtime = ProcessRuntime::new().unwrap();
    let sandbox = runtime.create_sandbox(&sandbox_spec("cwd")).await.unwrap();
    let id = runtime
        .create_container(
            &sandbox,
            &container("app", "pwd > where; touch made-by-app; sleep 300"),
        )
        .await
        .unwrap();
    runtime.start_container(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe = format!("podlife-exec-cwd-{}", fastrand::u64(..));
    let out = runtime
        .exec(
            &id,
            &sh(&format!(
                "test -f made-by-app && touch {probe} && test \"$(pwd)\" = \"$(cat where)\""
            )),
            None,
        )
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.output.as_str()), (0, ""));
    assert!(
        !std::path::Path::new("/").join(&probe).exists(),
        "the exec wrote into this machine's /"
    );
    let _ = std::fs::remove_file(std::path::Path::new("/").join(&probe));

    if !runtime.isolation() {
        eprintln!("SKIPPED (workingDir in a volume): mount namespaces need root here");
        return;
    }
    // A workingDir that is a volume's mountPath is the volume, for the app and for exec.
    let mut spec = container("vol", "echo from-app > here; sleep 300");
    spec.working_dir = Some("/podlife-test-data".into());
    let id = runtime.create_container(&sandbox, &spec).await.unwrap();
    runtime.start_container(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = runtime.exec(&id, &sh("cat here"), None).await.unwrap();
    assert_eq!((out.exit_code, out.output.as_str()), (0, "from-app\n"));
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()]
}

/// Each container has a `/tmp` of its own (a tmpfs in its mount namespace), which its exec'd
/// probes and hooks share: one pod's probe file never satisfies another pod's probe. A
/// shared directory stays visible at its path.
#[tokio::test]
async fn each_container_has_a_private_tmp() {
    let shared = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::new()
        .unwrap()
        .with_shared_dir(shared.path());
    if !runtime.isolation() {
        eprintln!("SKIPPED: a private /tmp needs a mount namespace (root)");
        return;
    }
    let file = format!("/tmp/podlife-private-{}", fastrand::u64(..));
    let seen = shared.path().join("seen");
    let mut ids = Vec::new();
    for (pod, script) in [
        (
            "maker",
            format!("touch {file}; echo yes > {}; sleep 300", seen.display()),
        ),
        ("other", "sleep 300".to_owned()),
    ] {
        let sandbox = runtime.create_sandbox(&sandbox_spec(pod)).await.unwrap();
        let id = runtime
            .create_container(&sandbox, &container("app", &script))
            .await
            .unwrap();
        runtime.start_container(&id).await.unwrap();
        ids.push(id);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let test_file = sh(&format!("test -f {file}"));
    let maker = runtime.exec(&ids[0], &test_file, None).await.unwrap();
    let other = runtime.exec(&ids[1], &test_file, None).await.unwrap();
    assert_eq!((maker.exit_code, other.exit_code), (0, 1));
    assert!(
        !std::path::Path::new(&file).exists(),
        "{file} is on the host"
    );
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "yes\n");
    let mounts = runtime
        .exec(&ids[1], &sh("grep ' /tmp ' /proc/self/mounts"), None)
        .await
        .unwrap();
    assert!(mounts.output.starts_with("tmpfs /tmp tmpfs"), "{mounts:?}");
}

/// A container is PID 1 of a PID namespace of its own, as in a container runtime: a `sleep`
/// ignores SIGTERM (no handler) and is SIGKILLed (137); exec'd processes join the namespace;
/// and every process in it dies with PID 1, also one that left the process group.
#[tokio::test]
async fn a_container_is_pid_1_of_its_own_pid_namespace() {
    let runtime = ProcessRuntime::new().unwrap();
    if !runtime.pid_namespace() {
        eprintln!("SKIPPED: PID namespaces need root here");
        return;
    }
    let sandbox = runtime.create_sandbox(&sandbox_spec("pid")).await.unwrap();
    let mut spec = container("app", "");
    spec.command = vec!["sleep".into(), "300".into()];
    let id = runtime.create_container(&sandbox, &spec).await.unwrap();
    runtime.start_container(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = runtime
        .exec(
            &id,
            &sh("cat /proc/1/cmdline | tr '\\0' ' '; echo; readlink /proc/self"),
            None,
        )
        .await
        .unwrap();
    let lines: Vec<&str> = out.output.lines().collect();
    assert_eq!(lines.first(), Some(&"sleep 300 "), "{out:?}");
    assert!(
        lines
            .get(1)
            .and_then(|pid| pid.parse::<i32>().ok())
            .is_some(),
        "the exec'd process has no PID in the container's namespace: {out:?}"
    );
    runtime
        .signal_container(&id, Signal::SIGTERM)
        .await
        .unwrap();
    let waited =
        tokio::time::timeout(Duration::from_millis(500), runtime.wait_container(&id)).await;
    assert!(
        waited.is_err(),
        "sleep as PID 1 died of SIGTERM: {waited:?}"
    );
    runtime
        .signal_container(&id, Signal::SIGKILL)
        .await
        .unwrap();
    let exit = runtime.wait_container(&id).await.unwrap();
    assert_eq!((exit.code, exit.signal), (137, Some(9)));

    // A process that left the container's process group still ends with it.
    let marker = unique_sleep();
    let id = runtime
        .create_container(
            &sandbox,
            &container(
                "escapee",
                &format!("setsid sleep {marker} & echo $$; sleep 300"),
            ),
        )
        .await
        .unwrap();
    runtime.start_container(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(runtime.logs_tail(&id, 1, 100).await.unwrap(), "1");
    assert_eq!(processes_with_arg(&marker).len(), 1);
    runtime.remove_container(&id).await.unwrap();
    let left = until_gone(&marker).await;
    assert!(left.is_empty(), "{left:?} outlived its container");
}

/// Containers of podlife's busybox-based images run busybox's `sh`, `sleep` … (first on
/// their PATH), as in the image: busybox's shell takes `trap … SIGTERM`, which dash refuses.
/// Other images keep this machine's commands.
#[tokio::test]
async fn busybox_images_get_busybox_commands() {
    let runtime = ProcessRuntime::new().unwrap();
    runtime.prepare_for(["busybox"]).await;
    if let Some(missing) = runtime.notices().iter().find(|n| n.contains("no busybox")) {
        eprintln!("SKIPPED: {missing}");
        return;
    }
    let sandbox = runtime.create_sandbox(&sandbox_spec("bb")).await.unwrap();
    let mut spec = container(
        "app",
        "trap 'echo got TERM; exit 7' SIGTERM; while true; do sleep 0.05; done",
    );
    spec.image = "busybox:latest".into();
    let id = runtime.create_container(&sandbox, &spec).await.unwrap();
    runtime.start_container(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = runtime
        .exec(
            &id,
            &sh("trap 'true' SIGTERM && sleep --help 2>&1 | head -n 1"),
            None,
        )
        .await
        .unwrap();
    assert!(
        out.exit_code == 0 && out.output.starts_with("BusyBox v"),
        "{out:?}"
    );
    runtime
        .signal_container(&id, Signal::SIGTERM)
        .await
        .unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(5), runtime.wait_container(&id))
        .await
        .expect("the trap ends it")
        .unwrap();
    assert_eq!(exit.code, 7);
    assert_eq!(runtime.logs_tail(&id, 1, 100).await.unwrap(), "got TERM");

    let mut spec = container("plain", "sleep 300");
    spec.image = "debian:12".into();
    let id = runtime.create_container(&sandbox, &spec).await.unwrap();
    runtime.start_container(&id).await.unwrap();
    let out = runtime.exec(&id, &sh("echo $PATH"), None).await.unwrap();
    assert_eq!(out.output.trim(), std::env::var("PATH").unwrap());
}

/// Concurrent scenarios each start a runtime: their pods must never share an address (two
/// testapps on one IP:port made a scenario's probe reach another scenario's pod).
#[tokio::test]
async fn runtimes_side_by_side_give_their_pods_distinct_addresses() {
    let starts: Vec<_> = (0..40)
        .map(|_| std::thread::spawn(|| ProcessRuntime::new().unwrap()))
        .collect();
    let runtimes: Vec<ProcessRuntime> = starts.into_iter().map(|t| t.join().unwrap()).collect();
    let mut ips = std::collections::BTreeSet::new();
    for runtime in &runtimes {
        let sandbox = runtime
            .create_sandbox(&sandbox_spec("first"))
            .await
            .unwrap();
        assert!(ips.insert(sandbox.ip), "{} given twice", sandbox.ip);
    }
}
