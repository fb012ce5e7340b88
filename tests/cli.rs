//! `podlife validate` end to end: what a user types and sees, and the documented exit codes.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

fn podlife() -> Command {
    Command::cargo_bin("podlife").expect("the podlife binary is built")
}

#[test]
fn corrected_fixtures_are_valid_and_show_their_pods() {
    podlife()
        .args(["validate", "fixtures/"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "✓ fixtures/nginx-demo.yaml: valid",
        ))
        .stdout(
            predicate::str::is_match(
                r"Deployment nginx-demo \(apps/v1\) → pod nginx-demo-[b-z2-9]+-[b-z2-9]{5}\n",
            )
            .unwrap(),
        )
        .stdout(
            predicate::str::is_match(r"ReplicationController inessprobe \(v1\) → 6 pods: ")
                .unwrap(),
        )
        .stdout(predicate::str::contains(
            "6 files: all valid (0 errors, 0 warnings)",
        ));
}

#[test]
fn seed_manifest_as_printed_is_invalid_with_located_suggestions() {
    podlife()
        .args(["validate", "fixtures/seed/war-hooks.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "[fixtures/seed/war-hooks.yaml:12:7]",
        ))
        .stdout(predicate::str::contains("help: did you mean `preStop`?"))
        .stdout(predicate::str::contains("help: did you mean `path`?"))
        .stdout(predicate::str::contains(
            "✗ fixtures/seed/war-hooks.yaml: invalid (10 errors, 0 warnings)",
        ));
}

#[test]
fn reads_stdin() {
    podlife()
        .args(["validate", "-"])
        .write_stdin("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: busybox}]\n")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("✓ <stdin>: valid"))
        .stdout(predicate::str::contains("Pod p (v1) → pod p"));
}

#[test]
fn warnings_alone_keep_exit_status_zero() {
    podlife()
        .args(["validate", "-"])
        .write_stdin("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata: {labels: {app: d}}\n    spec: {containers: [{name: c, image: busybox}]}\n")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("warning: `extensions/v1beta1` Deployment was removed in Kubernetes 1.16"))
        .stdout(predicate::str::contains("✓ <stdin>: valid (0 errors, 1 warning)"));
}

#[test]
fn json_output_for_machines() {
    let output = podlife()
        .args([
            "validate",
            "-o",
            "json",
            "fixtures/seed/nginx-demo.yaml",
            "fixtures/war-hooks.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert_eq!(json["valid"], false);
    assert_eq!(json["errors"], 2);
    let first = &json["files"][0]["diagnostics"][0];
    assert_eq!(first["code"], "missing-api-version");
    assert_eq!(first["severity"], "error");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        first["help"],
        "add `apiVersion: apps/v1` (podlife checks this Deployment as apps/v1)"
    );
    let second = &json["files"][0]["diagnostics"][1];
    assert_eq!(second["field"], "spec.selector");
    let war = &json["files"][1];
    assert_eq!(war["valid"], true);
    assert_eq!(war["objects"][0]["kind"], "Pod");
    assert_eq!(war["objects"][0]["pods"][0], "war");
}

#[test]
fn unreadable_input_is_invalid() {
    podlife()
        .args(["validate", "no/such/file.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("cannot read no/such/file.yaml"));
}

#[test]
fn usage_errors_exit_two() {
    podlife()
        .arg("validate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage"));
    podlife()
        .args(["validate", "--output", "xml", "x.yaml"])
        .assert()
        .code(2);
    podlife().args(["frobnicate"]).assert().code(2);
}

#[test]
fn help_explains_the_command() {
    podlife()
        .args(["validate", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("FILE|DIR|-"))
        .stdout(predicate::str::contains("did you mean `preStop`?"))
        .stdout(predicate::str::contains("Exit status: 0 all valid"));
    podlife()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("validate"));
}

#[test]
fn directories_are_read_like_kubectl_and_recursively_on_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("README.md"), "not a manifest").unwrap();
    std::fs::write(
        dir.path().join("sub/pod.yml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox}]}\n",
    )
    .unwrap();
    let path = dir.path().to_str().unwrap();
    podlife()
        .args(["validate", path])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no .yaml, .yml or .json files"));
    podlife()
        .args(["validate", "--recursive", path])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("pod.yml: valid"));
}

#[test]
fn quiet_prints_only_problems() {
    podlife()
        .args(["validate", "-q", "fixtures/liveness-tcp.yaml"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("→").not());
}

#[test]
fn a_bundle_lists_what_runs_what_pods_consume_and_what_is_not_run() {
    podlife()
        .args(["validate", "fixtures/corpus/gitops-server-bundle.yaml"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "✓ fixtures/corpus/gitops-server-bundle.yaml: valid\n    note: not run by podlife: ServiceAccount gitops-server (v1, fields checked)\n",
        ))
        .stdout(predicate::str::contains(
            "    ConfigMap gitops-cm (v1): input to pods\n",
        ))
        .stdout(predicate::str::contains(
            "    note: not run by podlife: Certificate api-tls").not())
        .stdout(predicate::str::is_match(r"Deployment gitops-server \(apps/v1\) → pod gitops-server-").unwrap());
    podlife()
        .args(["validate", "fixtures/corpus/knative-service.yaml"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "note: not run by podlife: Service hello (serving.knative.dev/v1, not checked)",
        ));
}

#[test]
fn a_kubernetes_version_must_be_one() {
    podlife()
        .args(["validate", "--kubernetes-version", "latest", "fixtures/"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("write it as 1.29"));
}

#[test]
fn run_starts_what_it_can_and_says_what_it_does_not_run() {
    podlife()
        .args(["run", "-", "--time-scale", "0.1"])
        .write_stdin("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: runner}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: once}\nspec:\n  serviceAccountName: runner\n  restartPolicy: Never\n  containers:\n  - {name: c, image: busybox, command: [sh, -c, 'exit 0']}\n")
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("not run by podlife: ServiceAccount runner\n"))
        .stdout(predicate::str::contains("Status:       Succeeded"));
}

#[test]
fn run_shows_the_lifecycle_and_ends_gracefully() {
    podlife()
        .args([
            "run",
            "fixtures/liveness-exec.yaml",
            "--for",
            "20s",
            "--time-scale",
            "0.05",
        ])
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "time scale 0.05 (times shown are manifest time)",
        ))
        .stdout(
            predicate::str::is_match(r"liveness-exec/liveness +Normal +Started +Container started")
                .unwrap(),
        )
        .stdout(predicate::str::contains(
            "--- time is up: deleting the pods",
        ))
        .stdout(predicate::str::contains("SIGTERM sent"))
        .stdout(predicate::str::contains("Status:       Succeeded"))
        .stdout(predicate::str::contains("Killing               20."));
}

#[test]
fn run_refuses_invalid_manifests_and_starts_nothing() {
    podlife()
        .args(["run", "fixtures/seed/war-hooks.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean `preStop`?"))
        .stderr(predicate::str::contains("nothing was started"));
}

#[test]
fn run_reports_a_pod_that_fails_by_itself() {
    podlife()
        .args(["run", "-", "--time-scale", "0.1"])
        .write_stdin("apiVersion: v1\nkind: Pod\nmetadata: {name: once}\nspec:\n  restartPolicy: Never\n  containers:\n  - {name: c, image: busybox, command: [sh, -c, 'exit 3']}\n")
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("exit code 3 (Error)"))
        .stdout(predicate::str::contains("Status:       Failed"));
}

/// A Job: `backoff_limit`, and a container that exits with `code`.
fn job(backoff_limit: u32, code: u32) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: once}}\nspec:\n  backoffLimit: {backoff_limit}\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {{name: c, image: busybox, command: [sh, -c, 'exit {code}']}}\n"
    )
}

#[test]
fn run_ends_with_a_job_that_completes() {
    podlife()
        .args(["run", "-", "--time-scale", "0.1"])
        .write_stdin(job(1, 0))
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "SuccessfulCreate     Created pod: once-",
        ))
        .stdout(predicate::str::contains(
            "Completed            Job completed",
        ));
}

#[test]
fn run_retries_a_failing_job_and_fails_at_its_backoff_limit() {
    let output = podlife()
        .args(["run", "-", "--time-scale", "0.1"])
        .write_stdin(job(1, 3))
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "BackoffLimitExceeded Job has reached the specified backoff limit",
        ))
        .get_output()
        .stdout
        .clone();
    let created = String::from_utf8_lossy(&output)
        .matches("Created pod: once-")
        .count();
    assert_eq!(created, 2, "the first pod and one retry");
}

/// Starts `podlife run` on `yaml` (from stdin) and waits until its output contains `line`.
fn spawn_run(
    yaml: &str,
    extra: &[&str],
    line: &str,
) -> (common::Helper, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, Write};
    let mut child = common::Helper(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("podlife"))
            .args(["run", "-"])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(line) => break,
            Ok(_) => {}
            Err(_) => panic!("podlife run never printed {line:?}"),
        }
    }
    (child, rx)
}

fn rest(rx: &std::sync::mpsc::Receiver<String>) -> String {
    rx.iter().collect::<Vec<_>>().join("\n")
}

#[test]
fn ctrl_c_deletes_gracefully_and_a_second_one_kills() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: stubborn}\nspec:\n  terminationGracePeriodSeconds: 60\n  containers:\n  - {name: c, image: busybox, command: [sh, -c, \"trap 'echo got TERM' TERM; echo trapped; while true; do sleep 0.1; done\"]}\n";
    let (mut child, rx) = spawn_run(yaml, &[], "Phase                Running");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGINT).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still in its 60 s grace period"
    );
    kill(pid, Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    let out = rest(&rx);
    assert!(out.contains("--- interrupted: deleting the pods"), "{out}");
    assert!(out.contains("SIGTERM sent"), "{out}");
    assert!(out.contains("--- killing the pods now"), "{out}");
    assert!(out.contains("SIGKILL sent"), "{out}");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn nothing_survives_a_killed_engine() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    // Not below /tmp: a container has a private /tmp (as root).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let ready = dir.path().join("ready");
    // The background sleep is a grandchild: PR_SET_PDEATHSIG does not reach it, reaping (or
    // its PID namespace) does. Its argument finds it on this machine, whatever its PID inside.
    let marker = format!("1000.{}", fastrand::u32(1..u32::MAX));
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: orphan}}\nspec:\n  containers:\n  - {{name: c, image: busybox, command: [sh, -c, 'sleep {marker} & touch {}; wait']}}\n",
        ready.display()
    );
    let (mut child, _rx) = spawn_run(&yaml, &[], "Phase                Running");
    let sleeper = |marker: &str| {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .find(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                cmdline.split(|b| *b == 0).any(|a| a == marker.as_bytes())
            })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ready.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the container never wrote {}",
            ready.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // `touch` can finish before the backgrounded shell has exec'd `sleep`: wait for it.
    let sleeper = loop {
        if let Some(pid) = sleeper(&marker) {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the background sleep never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
    };
    // The next engine reaps what the dead one left.
    let _next = podlife::runtime::process::ProcessRuntime::new().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while alive(sleeper) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!alive(sleeper), "process {sleeper} outlived its engine");
}

#[test]
fn run_speaks_json_and_yaml_for_machines() {
    for (format, started, phase) in [
        ("json", "\"reason\":\"Started\"", "\"phase\":\"Succeeded\""),
        ("yaml", "reason: Started", "phase: Succeeded"),
    ] {
        podlife()
            .args([
                "run",
                "fixtures/liveness-exec.yaml",
                "--for",
                "2s",
                "--time-scale",
                "0.1",
                "-o",
                format,
            ])
            .timeout(std::time::Duration::from_secs(30))
            .assert()
            .code(0)
            .stdout(predicate::str::contains(started))
            .stdout(predicate::str::contains(phase));
    }
}

/// Whether a Docker engine answers; says SKIPPED on the terminal when not.
fn docker_available(test: &str) -> bool {
    use std::io::Write;
    let ok = std::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: no Docker engine");
    }
    ok
}

#[test]
fn the_seed_war_example_runs_on_docker_as_the_article_says() {
    if !docker_available("the_seed_war_example_runs_on_docker_as_the_article_says") {
        return;
    }
    let output = podlife()
        .args([
            "run",
            "--runtime",
            "docker",
            "fixtures/war-hooks.yaml",
            "--monitor",
            "monitor.com:8080",
            "--for",
            "5s",
        ])
        .timeout(std::time::Duration::from_secs(180))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{out}");
    let line = |needle: &str| {
        out.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{out}"))
    };
    // postStart copied the war (cp exited 0) before the container counted as Running.
    assert!(line("PostStart            finished") < line("Phase                Running"));
    // preStop told the monitor, then SIGTERM came.
    let request = line("GET /waring (kube-lifecycle/1.37)");
    assert!(out.lines().nth(request).unwrap().contains("monitor.com"));
    assert!(request < line("SIGTERM sent"));
    assert!(out.contains("Status:       Succeeded"));
}

/// What `docker <kind> ls -q --filter <filter>` lists.
fn docker_ls(kind: &str, filter: &str) -> Vec<String> {
    let mut args = vec![kind, "ls", "-q", "--filter", filter];
    if kind == "container" {
        args.push("--all");
    }
    let out = std::process::Command::new("docker")
        .args(&args)
        .output()
        .expect("docker CLI");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn nothing_of_a_killed_engine_survives_on_docker() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    if !docker_available("nothing_of_a_killed_engine_survives_on_docker") {
        return;
    }
    let pod = format!("orphan-{:08x}", fastrand::u32(..));
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}}}\nspec:\n  volumes: [{{name: scratch, emptyDir: {{}}}}]\n  containers:\n  - {{name: c, image: busybox, command: [sleep, '300'], volumeMounts: [{{name: scratch, mountPath: /scratch}}]}}\n"
    );
    let (mut child, _rx) = spawn_run(
        &yaml,
        &["--runtime", "docker"],
        "Phase                Running",
    );
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    // The dead engine left its pod behind: sandbox, container, volume, network.
    let sandbox = docker_ls("container", &format!("name=podlife-{pod}-"));
    assert_eq!(sandbox.len(), 1, "the pod's sandbox is still there");
    let inspect = std::process::Command::new("docker")
        .args([
            "inspect",
            "--format",
            "{{index .Config.Labels \"io.podlife.run\"}}",
            &sandbox[0],
        ])
        .output()
        .unwrap();
    let run = String::from_utf8_lossy(&inspect.stdout).trim().to_owned();
    let label = format!("label=io.podlife.run={run}");
    assert_eq!(
        docker_ls("container", &label).len(),
        2,
        "and its app container"
    );
    assert!(!docker_ls("volume", &label).is_empty(), "its volume too");
    assert!(!docker_ls("network", &label).is_empty(), "and its network");
    // The next engine reaps them.
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(podlife::runtime::docker::DockerRuntime::new())
        .expect("a Docker runtime");
    for kind in ["container", "volume", "network"] {
        assert_eq!(
            docker_ls(kind, &label),
            Vec::<String>::new(),
            "{kind}s of run {run}"
        );
    }
}

/// An image the machine lacks is built before the clock starts, said on stderr; the run's
/// timeline then finds it present (`--for` is not spent on the build).
#[test]
fn images_are_built_before_the_run_starts() {
    if !docker_available("images_are_built_before_the_run_starts") {
        return;
    }
    let _ = std::process::Command::new("docker")
        .args(["rmi", "sample:v2"])
        .output();
    let output = podlife()
        .args(["run", "--runtime", "docker", "-", "--for", "1s", "--grace-period", "1"])
        .write_stdin(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: prepared}\nspec:\n  containers:\n  - name: app\n    image: sample:v2\n    command: [\"sleep\", \"300\"]\n",
        )
        .timeout(std::time::Duration::from_secs(180))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("preparing image sample:v2"), "{err}");
    assert!(err.contains("image sample:v2 ready in"), "{err}");
    assert!(
        out.contains("Container image \"sample:v2\" already present on machine"),
        "{out}"
    );
    assert!(!out.contains("Pulling"), "{out}");
}

/// `--runtime sim`: a what-if run on the simulated clock follows the pod's script annotation
/// and the kubelet's timing exactly, and takes no time.
#[test]
fn a_simulated_run_follows_its_script_on_a_simulated_clock() {
    let manifest = r#"apiVersion: v1
kind: Pod
metadata:
  name: whatif
  annotations:
    sim.podlife.dev/app: "exec cat fails from 30s; on-signal exits 0 after 3s | runs"
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "infinity"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/healthy"]}
      periodSeconds: 5
      failureThreshold: 3
"#;
    let began = std::time::Instant::now();
    let output = podlife()
        .args(["run", "--runtime", "sim", "-", "--for", "10m", "-o", "json"])
        .write_stdin(manifest)
        .output()
        .unwrap();
    assert!(
        began.elapsed() < std::time::Duration::from_secs(60),
        "ten simulated minutes took {:?}",
        began.elapsed()
    );
    let lines: Vec<serde_json::Value> = output
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("JSON lines"))
        .collect();
    let at = |reason: &str| -> Vec<f64> {
        lines
            .iter()
            .filter(|l| l["reason"] == reason)
            .filter_map(|l| l["manifest"].as_f64())
            .collect()
    };
    // Probes fail from 30 s; the third failure (40 s) kills; the container takes 3 s to exit
    // and is restarted at once; the deletion at 10 min stops the second instance.
    assert_eq!(at("Killing"), [40.0, 600.0], "{lines:#?}");
    assert_eq!(at("Started"), [0.0, 43.0], "{lines:#?}");
}

#[test]
fn a_simulated_run_needs_an_end() {
    podlife()
        .args(["run", "--runtime", "sim", "fixtures/liveness-exec.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--runtime sim needs --for"));
}

/// A `sim.podlife.dev/<container>` script that cannot be read is an error where it is
/// written (pods and workload templates alike), and nothing starts.
#[test]
fn an_unreadable_simulation_script_is_an_error_at_its_place() {
    let manifest = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        sim.podlife.dev/app: "exits soon"
    spec:
      containers:
      - {name: app, image: busybox, command: ["sleep", "infinity"]}
"#;
    let output = podlife()
        .args(["validate", "-o", "json", "-"])
        .write_stdin(manifest)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let first = &json["files"][0]["diagnostics"][0];
    assert_eq!(first["code"], "field-invalid");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(11), Some(30))
    );
    let message = first["message"].as_str().unwrap();
    assert!(
        message.contains("`exits` takes `<code> after <duration>`"),
        "{message}"
    );
    podlife()
        .args(["run", "--runtime", "sim", "-", "--for", "1m"])
        .write_stdin(manifest)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("nothing was started"));
}

/// A Job that retried a failed pod to success has succeeded: its failed pod does not make the
/// run fail (`Engine::pods_owned_by` tells the Job's pods apart).
#[test]
fn a_job_retried_to_success_ends_the_run_with_success() {
    // Not below /tmp: a container has a private /tmp (as root).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let marker = dir.path().join("ran");
    let manifest = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: flaky}}\nspec:\n  backoffLimit: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {{name: c, image: busybox, command: [sh, -c, 'if [ -e {m} ]; then exit 0; fi; touch {m}; exit 1']}}\n",
        m = marker.display()
    );
    podlife()
        .args(["run", "-", "--time-scale", "0.1"])
        .write_stdin(manifest)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "Completed            Job completed",
        ));
}
