//! The images podlife builds itself (`src/images`), with no registry: each is built, run with
//! bollard and checked for the behaviour the Docker runtime and the seed fixtures rely on.
//!
//! Needs a Docker engine; without one every test prints `SKIPPED: no Docker engine (…)` and
//! returns. Containers are labelled `io.podlife.test=true` and removed, also when a test fails.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::exec::StartExecResults;
use bollard::models::{ContainerCreateBody, ExecConfig};
use bollard::query_parameters::{
    KillContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    TagImageOptionsBuilder, WaitContainerOptions,
};
use futures::{FutureExt, StreamExt};
use podlife::images::{self, HASH_LABEL, IMAGE_LABEL, PAUSE_IMAGE, TESTAPP_IMAGE};

const TEST_LABEL: &str = "io.podlife.test";

/// The local Docker engine, or None after saying why the test is skipped (on the terminal:
/// writes to the stderr handle are not captured by the test harness).
async fn docker() -> Option<Docker> {
    let reason = match Docker::connect_with_local_defaults() {
        Ok(docker) => match tokio::time::timeout(Duration::from_secs(10), docker.ping()).await {
            Ok(Ok(_)) => return Some(docker),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer to ping within 10 s".to_owned(),
        },
        Err(e) => e.to_string(),
    };
    use std::io::Write;
    let name = std::thread::current().name().unwrap_or("test").to_owned();
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: no Docker engine ({reason}) [{name}]"
    );
    None
}

/// Progress lines, kept for assertions and printed (captured) for failures.
fn progress(seen: &Mutex<Vec<String>>) -> impl Fn(&str) + Sync + '_ {
    move |line: &str| {
        println!("  {line}");
        seen.lock().unwrap().push(line.to_owned());
    }
}

async fn ensure(docker: &Docker, image: &str) {
    let lines = Mutex::new(Vec::new());
    if let Err(e) = images::ensure(docker, image, &progress(&lines)).await {
        panic!("ensure({image}) failed: {e}");
    }
}

/// Creates and starts a container of `image` (with `cmd` and/or `entrypoint` when given), runs
/// `body` with its id, and removes the container whatever happens.
async fn with_container<T, Fut>(
    docker: &Docker,
    image: &str,
    entrypoint: Option<&[&str]>,
    cmd: Option<&[&str]>,
    body: impl FnOnce(String) -> Fut,
) -> T
where
    Fut: Future<Output = T>,
{
    let to_vec = |args: &[&str]| args.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let created = docker
        .create_container(
            None,
            ContainerCreateBody {
                image: Some(image.to_owned()),
                entrypoint: entrypoint.map(to_vec),
                cmd: cmd.map(to_vec),
                labels: Some([(TEST_LABEL.to_owned(), "true".to_owned())].into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("cannot create a container of {image}: {e}"));
    let id = created.id;
    let run = async {
        docker
            .start_container(&id, None)
            .await
            .unwrap_or_else(|e| panic!("cannot start a container of {image}: {e}"));
        body(id.clone()).await
    };
    let result = AssertUnwindSafe(run).catch_unwind().await;
    let _ = docker
        .remove_container(
            &id,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await;
    match result {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The container's exit code, waiting at most `limit`.
async fn wait_exit(docker: &Docker, id: &str, limit: Duration) -> i64 {
    let mut waiting = docker.wait_container(id, None::<WaitContainerOptions>);
    match tokio::time::timeout(limit, waiting.next()).await {
        Ok(Some(Ok(response))) => response.status_code,
        Ok(Some(Err(DockerError::DockerContainerWaitError { code, .. }))) => code,
        Ok(other) => panic!("waiting for {id}: {other:?}"),
        Err(_) => panic!("{id} still running after {limit:?}"),
    }
}

/// Everything the container wrote (stdout and stderr).
async fn logs(docker: &Docker, id: &str) -> String {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .build();
    let mut out = String::new();
    let mut stream = docker.logs(id, Some(options));
    while let Some(Ok(chunk)) = stream.next().await {
        out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    out
}

/// `docker exec`: exit code and output.
async fn exec(docker: &Docker, id: &str, cmd: &[&str]) -> (i64, String) {
    let created = docker
        .create_exec(
            id,
            ExecConfig {
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("exec {cmd:?}: {e}"));
    let mut out = String::new();
    if let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&created.id, None).await.unwrap()
    {
        while let Some(Ok(chunk)) = output.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
    }
    let code = docker
        .inspect_exec(&created.id)
        .await
        .unwrap()
        .exit_code
        .unwrap_or(-1);
    (code, out)
}

async fn kill(docker: &Docker, id: &str, signal: &str) {
    docker
        .kill_container(
            id,
            Some(
                KillContainerOptionsBuilder::default()
                    .signal(signal)
                    .build(),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("kill -{signal} {id}: {e}"));
}

/// Polls `wget` inside the container until port 80 answers; returns the page.
async fn wait_for_http(docker: &Docker, id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, out) = exec(docker, id, &["wget", "-qO-", "http://127.0.0.1/"]).await;
        if code == 0 {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "port 80 does not answer: {out}\nlogs: {}",
            logs(docker, id).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn label(image: &bollard::models::ImageInspect, key: &str) -> Option<String> {
    image.config.as_ref()?.labels.as_ref()?.get(key).cloned()
}

/// Builds everything, rebuilds an image whose recipe hash is stale, skips current ones; the
/// pause image (only touched here, since this test retags it) exits 0 on SIGTERM.
#[tokio::test(flavor = "multi_thread")]
async fn builds_every_recipe_rebuilds_outdated_skips_current() {
    let Some(docker) = docker().await else { return };
    let lines = Mutex::new(Vec::new());
    let started = Instant::now();
    let built = images::build(&docker, &[], false, &progress(&lines))
        .await
        .unwrap_or_else(|e| panic!("build: {e}"));
    println!("first build: {built:?} in {:?}", started.elapsed());
    for recipe in images::recipes() {
        for reference in recipe.references() {
            let image = docker
                .inspect_image(reference)
                .await
                .unwrap_or_else(|e| panic!("{reference} missing after build: {e}"));
            assert_eq!(
                label(&image, IMAGE_LABEL).as_deref(),
                Some("true"),
                "{reference}"
            );
            assert!(label(&image, HASH_LABEL).is_some(), "{reference}");
        }
    }

    // Make podlife/pause:1 an image of ours built from another recipe (busybox's): `ensure`
    // must see the stale hash and rebuild it.
    let busybox = docker.inspect_image(images::BUSYBOX_IMAGE).await.unwrap();
    docker
        .tag_image(
            images::BUSYBOX_IMAGE,
            Some(
                TagImageOptionsBuilder::default()
                    .repo("podlife/pause")
                    .tag("1")
                    .build(),
            ),
        )
        .await
        .unwrap();
    images::ensure(&docker, PAUSE_IMAGE, &progress(&lines))
        .await
        .unwrap_or_else(|e| panic!("ensure pause: {e}"));
    let pause = docker.inspect_image(PAUSE_IMAGE).await.unwrap();
    assert_ne!(
        pause.id, busybox.id,
        "the outdated pause image was not rebuilt"
    );
    assert_ne!(label(&pause, HASH_LABEL), label(&busybox, HASH_LABEL));
    assert!(
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("podlife/pause:1: its recipe changed")),
        "{:?}",
        lines.lock().unwrap()
    );

    let started = Instant::now();
    let again = images::build(&docker, &[], false, &progress(&lines))
        .await
        .unwrap();
    assert!(
        again.is_empty(),
        "up-to-date images were rebuilt: {again:?}"
    );
    println!("second build (all up to date): {:?}", started.elapsed());

    with_container(&docker, PAUSE_IMAGE, None, None, |id| {
        let docker = &docker;
        async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let sent = Instant::now();
            kill(docker, &id, "SIGTERM").await;
            let code = wait_exit(docker, &id, Duration::from_secs(5)).await;
            assert_eq!(code, 0);
            assert!(
                sent.elapsed() < Duration::from_secs(2),
                "{:?}",
                sent.elapsed()
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn busybox_has_a_shell_and_a_unix_layout() {
    let Some(docker) = docker().await else { return };
    ensure(&docker, "busybox").await;
    let script =
        "echo ok; stat -c %a /tmp; id -u nobody; test -d /root && test -d /var/log && echo dirs";
    with_container(
        &docker,
        "busybox",
        None,
        Some(&["sh", "-c", script]),
        |id| {
            let docker = &docker;
            async move {
                let code = wait_exit(docker, &id, Duration::from_secs(20)).await;
                let out = logs(docker, &id).await;
                assert_eq!(code, 0, "{out}");
                assert_eq!(out, "ok\n1777\n65534\ndirs\n");
            }
        },
    )
    .await;
}

/// fixtures/init-container-deploy.yaml: the init container runs `sh -c "httpd -t"`, the app
/// container `sh /etc/run.sh`; fixtures/inessprobe.yaml probes port 80.
#[tokio::test(flavor = "multi_thread")]
async fn web_apache_passes_the_config_test_and_serves_port_80() {
    let Some(docker) = docker().await else { return };
    ensure(&docker, "web:apache").await;
    with_container(
        &docker,
        "web:apache",
        None,
        Some(&["sh", "-c", "httpd -t"]),
        |id| {
            let docker = &docker;
            async move {
                let code = wait_exit(docker, &id, Duration::from_secs(20)).await;
                let out = logs(docker, &id).await;
                assert_eq!(code, 0, "{out}");
                assert!(out.contains("Syntax OK"), "{out}");
            }
        },
    )
    .await;
    with_container(
        &docker,
        "web:apache",
        None,
        Some(&["sh", "/etc/run.sh"]),
        |id| {
            let docker = &docker;
            async move {
                let page = wait_for_http(docker, &id).await;
                assert!(page.contains("It works!"), "{page}");
                let sent = Instant::now();
                kill(docker, &id, "SIGTERM").await;
                assert_eq!(wait_exit(docker, &id, Duration::from_secs(5)).await, 0);
                assert!(
                    sent.elapsed() < Duration::from_secs(2),
                    "{:?}",
                    sent.elapsed()
                );
            }
        },
    )
    .await;
}

/// fixtures/war-hooks.yaml: postStart copies /sample.war into /app.
#[tokio::test(flavor = "multi_thread")]
async fn sample_v2_has_the_war_and_an_app_directory() {
    let Some(docker) = docker().await else { return };
    ensure(&docker, "sample:v2").await;
    with_container(&docker, "sample:v2", None, None, |id| {
        let docker = &docker;
        async move {
            let (code, out) = exec(docker, &id, &["cp", "/sample.war", "/app"]).await;
            assert_eq!(code, 0, "{out}");
            let (code, out) = exec(docker, &id, &["ls", "/app"]).await;
            assert_eq!((code, out.as_str()), (0, "sample.war\n"));
            let sent = Instant::now();
            kill(docker, &id, "SIGTERM").await;
            assert_eq!(wait_exit(docker, &id, Duration::from_secs(5)).await, 0);
            assert!(
                sent.elapsed() < Duration::from_secs(2),
                "{:?}",
                sent.elapsed()
            );
        }
    })
    .await;
}

/// fixtures/nginx-demo.yaml: SIGTERM is nginx's fast shutdown — exit 0 (as nginx), at once.
#[tokio::test(flavor = "multi_thread")]
async fn centos_nginx_exits_at_once_on_sigterm() {
    let Some(docker) = docker().await else { return };
    ensure(&docker, "centos:nginx").await;
    with_container(&docker, "centos:nginx", None, None, |id| {
        let docker = &docker;
        async move {
            let page = wait_for_http(docker, &id).await;
            assert!(page.contains("Welcome to nginx!"), "{page}");
            let sent = Instant::now();
            kill(docker, &id, "SIGTERM").await;
            let code = wait_exit(docker, &id, Duration::from_secs(5)).await;
            let took = sent.elapsed();
            let out = logs(docker, &id).await;
            assert_eq!(code, 0, "{out}");
            assert!(took < Duration::from_millis(800), "took {took:?}");
            assert!(out.contains("fast shutdown"), "{out}");
        }
    })
    .await;
}

/// fixtures/nginx-demo.yaml: the preStop hook `nginx -s quit` drains for about a second and
/// exits 0, also when the kubelet's SIGTERM follows the hook at once.
#[tokio::test(flavor = "multi_thread")]
async fn centos_nginx_quit_shuts_down_gracefully() {
    let Some(docker) = docker().await else { return };
    ensure(&docker, "centos:nginx").await;
    for then_sigterm in [false, true] {
        with_container(&docker, "centos:nginx", None, None, |id| {
            let docker = &docker;
            async move {
                wait_for_http(docker, &id).await;
                let (code, out) =
                    exec(docker, &id, &["/usr/local/nginx/sbin/nginx", "-s", "quit"]).await;
                let quit = Instant::now();
                assert_eq!(code, 0, "{out}");
                if then_sigterm {
                    kill(docker, &id, "SIGTERM").await;
                }
                let code = wait_exit(docker, &id, Duration::from_secs(10)).await;
                let took = quit.elapsed();
                let out = logs(docker, &id).await;
                assert_eq!(code, 0, "{out}");
                assert!(
                    took >= Duration::from_millis(800) && took < Duration::from_secs(4),
                    "exited {took:?} after nginx -s quit (SIGTERM too: {then_sigterm})\n{out}"
                );
                assert!(out.contains("graceful shutdown"), "{out}");
                assert!(!out.contains("fast shutdown"), "{out}");
            }
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn testapp_image_runs_the_static_testapp() {
    let Some(docker) = docker().await else { return };
    ensure(&docker, TESTAPP_IMAGE).await;
    let alias = docker.inspect_image("testapp:latest").await.unwrap();
    let image = docker.inspect_image(TESTAPP_IMAGE).await.unwrap();
    assert_eq!(alias.id, image.id);
    let entrypoint = image.config.as_ref().and_then(|c| c.entrypoint.clone());
    assert_eq!(entrypoint, Some(vec!["/usr/local/bin/testapp".to_owned()]));
    with_container(&docker, TESTAPP_IMAGE, None, Some(&["--help"]), |id| {
        let docker = &docker;
        async move {
            let code = wait_exit(docker, &id, Duration::from_secs(20)).await;
            let out = logs(docker, &id).await;
            assert_eq!(code, 0, "{out}");
            assert!(out.contains("Usage: testapp"), "{out}");
        }
    })
    .await;
    // A shell for exec probes, and the log directory.
    with_container(
        &docker,
        TESTAPP_IMAGE,
        Some(&["sh", "-c"]),
        Some(&["test -d /var/log/testapp && testapp --version"]),
        |id| {
            let docker = &docker;
            async move {
                let code = wait_exit(docker, &id, Duration::from_secs(20)).await;
                let out = logs(docker, &id).await;
                assert_eq!(code, 0, "{out}");
                assert!(out.starts_with("testapp "), "{out}");
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_image_fails_fast_saying_how_to_provide_it() {
    let Some(docker) = docker().await else { return };
    let lines = Mutex::new(Vec::new());
    let started = Instant::now();
    let result = images::ensure(&docker, "nosuch/image:1", &progress(&lines)).await;
    let took = started.elapsed();
    let err = result.expect_err("nosuch/image:1 cannot exist").to_string();
    println!("{err}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    for needle in [
        "`nosuch/image:1`",
        "docker load",
        "docker build",
        "podlife images build",
    ] {
        assert!(err.contains(needle), "{needle} missing: {err}");
    }
    assert!(
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("pulling nosuch/image:1")),
        "{:?}",
        lines.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_ensures_of_one_image_all_succeed() {
    let Some(docker) = docker().await else { return };
    let names = [
        "sample:v2",
        "sample:v2",
        "docker.io/library/sample:v2",
        "sample:v2",
    ];
    let results = futures::future::join_all(names.iter().map(|name| {
        let docker = docker.clone();
        async move {
            let quiet = |_: &str| {};
            images::ensure(&docker, name, &quiet).await
        }
    }))
    .await;
    for (name, result) in names.iter().zip(results) {
        if let Err(e) = result {
            panic!("ensure({name}): {e}");
        }
    }
}

#[test]
fn cli_builds_lists_and_rejects_unknown_names() {
    // An unknown name is a usage error, found before Docker is asked anything.
    let out = Command::cargo_bin("podlife")
        .unwrap()
        .args(["images", "build", "nosuch:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no recipe for `nosuch:1`"), "{stderr}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    if runtime.block_on(docker()).is_none() {
        return;
    }
    let out = Command::cargo_bin("podlife")
        .unwrap()
        .args(["images", "build", "--quiet", "busybox", "centos:nginx"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("busybox:latest "), "{stdout}");
    assert!(lines[1].starts_with("centos:nginx "), "{stdout}");

    let out = Command::cargo_bin("podlife")
        .unwrap()
        .args(["images", "list"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("IMAGE "), "{stdout}");
    for recipe in images::recipes() {
        assert!(
            stdout.lines().any(|l| l.starts_with(recipe.name)),
            "{} not listed:\n{stdout}",
            recipe.name
        );
    }
}
