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
        volumes: vec!["data".to_owned()],
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

#[tokio::test]
async fn signals_reach_the_whole_group_and_exit_codes_follow() {
    let runtime = ProcessRuntime::new().unwrap();
    let sandbox = runtime.create_sandbox(&sandbox_spec("sig")).await.unwrap();
    // A child in the background must die with the container, as in a PID namespace.
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
    let exit = tokio::time::timeout(Duration::from_secs(5), runtime.wait_container(&id))
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert_eq!((exit.code, exit.signal), (143, Some(15)));
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
            &container("app", "echo made > /podlife-test-data/file; sleep 300"),
        )
        .await
        .unwrap();
    runtime.start_container(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sh = |s: &str| vec!["sh".to_owned(), "-c".to_owned(), s.to_owned()];
    let out = runtime
        .exec(
            &id,
            &sh("cat /podlife-test-data/file; echo err >&2; exit 3"),
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

#[test]
fn dropping_the_runtime_kills_its_processes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pid_file = std::env::temp_dir().join(format!("podlife-drop-{}", std::process::id()));
    rt.block_on(async {
        let runtime = ProcessRuntime::new().unwrap();
        let sandbox = runtime.create_sandbox(&sandbox_spec("drop")).await.unwrap();
        let script = format!("echo $$ > {}; sleep 300", pid_file.display());
        let id = runtime
            .create_container(&sandbox, &container("app", &script))
            .await
            .unwrap();
        runtime.start_container(&id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(runtime);
    });
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ");
    assert!(!alive, "process {pid} outlived the runtime");
    let _ = std::fs::remove_file(pid_file);
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
