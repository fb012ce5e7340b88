//! `podlife run`: validate, run every pod with the kubelet's semantics, show what happens and
//! when, delete gracefully at the end, and summarise like `kubectl describe`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, PodStatus};

use super::checks::CheckArgs;
use super::{ColorChoice, EXIT_INVALID, EXIT_OK};
use crate::engine::status::PodPhase;
use crate::engine::{Engine, Observation, Record, What, timeline};
use crate::manifest::expand::{self, Plan, PodPlan};
use crate::manifest::render::{self, TextStyle};
use crate::manifest::{FileReport, Manifest, load_inputs};
use crate::runtime::ContainerRuntime;
use crate::runtime::docker::{DockerOptions, DockerRuntime};
use crate::runtime::process::ProcessRuntime;
use crate::runtime::sim::SimRuntime;
use crate::time::TimeScale;

/// Run the pods of Kubernetes manifests with the kubelet's lifecycle semantics and show, live,
/// what happens and when: container starts, hooks, probe results, signals, restarts.
///
/// The manifests are validated first (nothing starts if one is invalid); objects of kinds podlife
/// does not run (a bundle's ServiceAccount, Role, Ingress, …) are listed as not run. The run ends when every
/// pod has finished by itself, after --for, or on Ctrl-C: pods are then deleted gracefully
/// (preStop, stop signal, SIGKILL after the grace period); a second Ctrl-C kills at once.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  podlife run fixtures/liveness-tcp.yaml --for 30s\n  podlife run fixtures/inessprobe.yaml --time-scale 0.1 --for 5m\n\nExit status: 0 every pod ran without failing, 1 a manifest is invalid or a pod failed, 2 usage error."
)]
pub struct RunArgs {
    /// Manifest files, directories, or - for stdin.
    #[arg(required = true, value_name = "FILE|DIR|-")]
    pub inputs: Vec<String>,

    /// Also read the subdirectories of directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,

    #[command(flatten)]
    pub checks: CheckArgs,

    /// Where containers run.
    #[arg(long, value_enum, default_value_t = RuntimeChoice::Process)]
    pub runtime: RuntimeChoice,

    /// How fast manifest time runs: 0.1 makes a 120 s delay take 12 s. Times shown are
    /// manifest time.
    #[arg(long, default_value = "1", value_name = "FACTOR")]
    pub time_scale: TimeScale,

    /// Delete the pods after this long (manifest time, e.g. 90s, 5m); without it, run until
    /// every pod has finished or Ctrl-C.
    #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,

    /// Grace period for the deletion at the end, in seconds, instead of each pod's
    /// terminationGracePeriodSeconds; 0 kills at once.
    #[arg(long, value_name = "SECONDS")]
    pub grace_period: Option<i64>,

    /// Make NAME resolve to IP for hooks and probes (and, on Docker, inside the pods).
    #[arg(long = "host", value_name = "NAME=IP")]
    pub hosts: Vec<String>,

    /// Start a stand-in for an endpoint the manifests call (e.g. the seed's preStop
    /// `monitor.com:8080`): it answers 200 and shows each request on the timeline.
    #[arg(long = "monitor", value_name = "NAME[:PORT]")]
    pub monitors: Vec<String>,

    /// Output format: live lines and a describe-style summary, JSON lines, or YAML documents.
    #[arg(short, long, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,

    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Container runtimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeChoice {
    /// Process groups on this machine (needs nothing installed).
    Process,
    /// Containers on the local Docker engine, from images podlife builds itself.
    Docker,
    /// Simulated containers on a simulated clock: what-if runs of a manifest's timing that
    /// take no time (needs --for). Containers follow their `sim.podlife.dev/<container>`
    /// annotation scripts, else run until stopped and pass every check.
    Sim,
}

/// Output formats of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunOutput {
    Text,
    /// One JSON object per event or observation, then one per pod with its final status.
    Json,
    /// The same as YAML documents.
    Yaml,
}

pub fn run(args: &RunArgs) -> i32 {
    let reports = load_inputs(&args.inputs, args.recursive, &args.checks.options());
    if !reports.iter().all(FileReport::is_valid) {
        let style = TextStyle {
            color: args.color.enabled(),
            ..TextStyle::default()
        };
        for report in &reports {
            for d in &report.diagnostics {
                eprint!("{}", render::render(&report.source, d, style));
                eprintln!();
            }
        }
        eprintln!("podlife: invalid manifests, nothing was started (see `podlife validate`)");
        return EXIT_INVALID;
    }
    // A bundle's ServiceAccounts, Roles, Ingresses, …: run what can run, say what is skipped.
    for not_run in reports.iter().flat_map(|r| &r.not_run) {
        eprintln!("{not_run}");
    }
    let manifests: Vec<Manifest> = reports.iter().flat_map(|r| r.manifests.clone()).collect();
    let inputs: Vec<_> = reports.iter().flat_map(|r| r.inputs.clone()).collect();
    let plan = expand::expand(&manifests, &mut fastrand::Rng::new()).with_inputs(&inputs);
    if plan.pods.is_empty() {
        eprintln!("podlife: the manifests hold no pods to run");
        return EXIT_INVALID;
    }
    let tokio = if args.runtime == RuntimeChoice::Sim {
        if args.duration.is_none() {
            eprintln!(
                "podlife: --runtime sim needs --for: its clock never waits, so a run without an \
                 end would not end"
            );
            return super::EXIT_USAGE;
        }
        // The simulated clock: it jumps to the next timer whenever everything waits.
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
    } else {
        tokio::runtime::Runtime::new()
    };
    let tokio = match tokio {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("podlife: cannot start the async runtime: {e}");
            return EXIT_INVALID;
        }
    };
    tokio.block_on(run_pods(args, plan))
}

async fn run_pods(args: &RunArgs, plan: Plan) -> i32 {
    let pods = plan.pods.clone();
    let hosts = crate::probe::hosts::Hosts::new();
    for spec in &args.hosts {
        match spec
            .split_once('=')
            .and_then(|(n, ip)| Some((n.to_owned(), ip.parse().ok()?)))
        {
            Some((name, ip)) => hosts.alias(&name, ip),
            None => {
                eprintln!("podlife: --host takes NAME=IP, not `{spec}`");
                return super::EXIT_USAGE;
            }
        }
    }
    let mut monitors = Vec::new();
    for spec in &args.monitors {
        match super::monitor::parse(spec) {
            Ok(monitor) => monitors.push(monitor),
            Err(e) => {
                eprintln!("podlife: --monitor: {e}");
                return super::EXIT_USAGE;
            }
        }
    }
    let runtime: Arc<dyn ContainerRuntime> = match args.runtime {
        RuntimeChoice::Process => match ProcessRuntime::new() {
            Ok(rt) => {
                let rt = rt.with_hosts(hosts.clone());
                // Busybox is looked for now, so that the notices below say if it is missing.
                rt.prepare_for(pods.iter().flat_map(|p| images_of(&p.pod)))
                    .await;
                Arc::new(rt)
            }
            Err(e) => {
                eprintln!("podlife: cannot start the process runtime: {e}");
                return EXIT_INVALID;
            }
        },
        RuntimeChoice::Docker => match DockerRuntime::with_options(DockerOptions {
            hosts: hosts.clone(),
            ..DockerOptions::default()
        })
        .await
        {
            Ok(rt) => Arc::new(rt),
            Err(e) => {
                eprintln!("podlife: cannot start the Docker runtime: {e}");
                return EXIT_INVALID;
            }
        },
        RuntimeChoice::Sim => Arc::new(SimRuntime::new()),
    };
    let text = args.output == RunOutput::Text;
    let format = args.output;
    for notice in runtime.notices() {
        if text {
            eprintln!("note: {notice}");
        }
    }
    // Before the clock starts: a first build takes seconds that are no part of the manifests'
    // timing, and `--for` must not run out during it.
    prepare_images(&*runtime, &pods, text).await;
    let scale = args.time_scale;
    let mut warned = Vec::new();
    for pod in &pods {
        for warning in
            crate::engine::spec::compressed_timeouts(&pod.pod, scale, runtime.exec_latency())
        {
            if text && !warned.contains(&warning) {
                eprintln!("warning: {warning}");
                warned.push(warning);
            }
        }
    }
    let engine = Arc::new(Engine::with_hosts(runtime, scale, hosts));
    let mut records = engine.log().subscribe();
    if text {
        println!(
            "running {} pod{} on the {} runtime{}",
            pods.len(),
            if pods.len() == 1 { "" } else { "s" },
            engine.runtime().name(),
            if scale.factor() == 1.0 {
                String::new()
            } else {
                format!(
                    ", time scale {} (times shown are manifest time)",
                    scale.factor()
                )
            }
        );
    }
    for (name, port) in &monitors {
        match super::monitor::start(name, *port, engine.log().clone(), engine.hosts()).await {
            Ok(addr) => {
                if text {
                    println!("monitor {name}:{port} listening on {addr}");
                }
            }
            Err(e) => {
                eprintln!("podlife: cannot start the monitor {name}:{port}: {e}");
                return EXIT_INVALID;
            }
        }
    }
    for e in engine.apply_plan(&plan).await {
        eprintln!("podlife: {e}");
    }
    for service in &plan.services {
        let name = service.service.metadata.name.clone().unwrap_or_default();
        if text {
            for (port_name, port, address) in engine.service_addresses(&name) {
                let label = port_name.map(|n| format!(" ({n})")).unwrap_or_default();
                println!(
                    "service {name} port {port}{label}: {address} (e.g. curl http://{address}/)"
                );
            }
            let namespace = service
                .service
                .metadata
                .namespace
                .as_deref()
                .unwrap_or("default");
            println!(
                "service {name}: pods reach it as {}",
                crate::engine::service_dns_names(&name, namespace).join(", ")
            );
        }
    }
    // The `pod/container` column fits the longest name.
    let width = pods
        .iter()
        .flat_map(|p| {
            let spec = p.pod.spec.clone().unwrap_or_default();
            let containers: Vec<String> = spec
                .init_containers
                .into_iter()
                .flatten()
                .chain(spec.containers)
                .map(|c| c.name)
                .collect();
            containers
                .into_iter()
                .map(move |c| p.name().len() + 1 + c.len())
        })
        .chain(monitors.iter().map(|(name, _)| name.len()))
        .chain(plan.workloads.iter().filter_map(|w| {
            let first = plan.pods_of(w).first()?.pod.clone();
            Some(crate::engine::controller::workload_name(w, &first).len())
        }))
        .max()
        .unwrap_or(0)
        .max(20);
    let printer = tokio::spawn(async move {
        loop {
            match records.recv().await {
                Ok(record) => print_record(&record, format, scale, width),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    });

    let all_finished = {
        let engine = engine.clone();
        async move { engine.wait_idle().await }
    };
    tokio::pin!(all_finished);
    let limit = async {
        match args.duration {
            Some(d) => tokio::time::sleep(scale.wall(d)).await,
            None => std::future::pending().await,
        }
    };
    let mut done = false;
    // The last record before podlife began deleting: workloads are summarised as they were.
    let last_before_deletion = || engine.log().records().last().map(|r| r.seq);
    let mut before_deletion = None;
    tokio::select! {
        _ = &mut all_finished => done = true,
        _ = limit => {
            if text {
                println!("--- time is up: deleting the pods");
            }
            before_deletion = last_before_deletion();
            engine.delete_all(args.grace_period);
        }
        _ = tokio::signal::ctrl_c() => {
            if text {
                println!("--- interrupted: deleting the pods (Ctrl-C again to kill at once)");
            }
            before_deletion = last_before_deletion();
            engine.delete_all(args.grace_period);
        }
    }
    if !done {
        tokio::select! {
            _ = &mut all_finished => {}
            _ = tokio::signal::ctrl_c() => {
                if text {
                    println!("--- killing the pods now");
                }
                engine.kill_all();
                all_finished.await;
            }
        }
    }
    // Let the printer catch up with the last records.
    tokio::time::sleep(Duration::from_millis(50)).await;
    printer.abort();
    let records = engine.log().records();
    // Every pod that ran, the controllers' replacements included.
    let names = engine.pods();
    let statuses: BTreeMap<String, PodStatus> = names
        .iter()
        .filter_map(|n| engine.status(n).map(|s| (n.clone(), s)))
        .collect();
    if text {
        for name in &names {
            if let (Some(plan), Some(status)) = (plan_of(name, &pods), statuses.get(name)) {
                println!("{}", describe(&plan, status, &records));
            }
        }
        for line in replica_summary(&records, before_deletion) {
            println!("{line}");
        }
    } else {
        for (name, status) in &statuses {
            let value = serde_json::json!({"pod": name, "status": status});
            println!("{}", structured(&value, args.output));
        }
    }
    // A Job's pods fail and are retried: the Job's outcome is what counts.
    let job_pods: Vec<String> = plan
        .workloads
        .iter()
        .filter(|w| matches!(w.policy, expand::Policy::Job { .. }))
        .flat_map(|w| engine.pods_owned_by("Job", &w.owner.name))
        .collect();
    // Every Job must have completed (not failed, nor been cut short by --for or Ctrl-C).
    let job_failed = plan
        .workloads
        .iter()
        .filter(|w| matches!(w.policy, expand::Policy::Job { .. }))
        .any(|w| {
            let job = format!("job/{}", w.owner.name);
            !records.iter().any(|r| {
                r.pod == job && matches!(&r.what, What::Event(e) if e.reason == "Completed")
            })
        });
    if job_failed
        || names
            .iter()
            .filter(|name| !job_pods.contains(name))
            .any(|name| failed_before_deletion(name, &records))
    {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}

/// Each replica workload's last counts before the deletion (`replicaset/web-5d9c7b6f4: 3
/// desired, 3 ready, 2 available`), as `kubectl get rs` shows them.
fn replica_summary(records: &[Record], before: Option<u64>) -> Vec<String> {
    let mut last: BTreeMap<&str, String> = BTreeMap::new();
    for record in records
        .iter()
        .filter(|r| before.is_none_or(|seq| r.seq <= seq))
    {
        if let What::Observation(Observation::Replicas {
            desired,
            ready,
            available,
        }) = &record.what
        {
            last.insert(
                &record.pod,
                format!("{desired} desired, {ready} ready, {available} available"),
            );
        }
    }
    if last.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["Workloads:".to_owned()];
    lines.extend(
        last.into_iter()
            .map(|(name, counts)| format!("  {name}: {counts}")),
    );
    lines
}

/// The images of a pod's containers, init containers first.
fn images_of(pod: &k8s_openapi::api::core::v1::Pod) -> Vec<&str> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .filter_map(|c| c.image.as_deref())
        .collect()
}

/// The plan of pod `name`, or for a controller's replacement the plan it was made from
/// (the same name, or the same generated-name base), under its own name.
fn plan_of(name: &str, pods: &[PodPlan]) -> Option<PodPlan> {
    let base = |n: &str| n.rsplit_once('-').map(|(b, _)| b.to_owned());
    let plan = pods.iter().find(|p| p.name() == name).or_else(|| {
        pods.iter()
            .find(|p| p.owner.is_some() && base(p.name()) == base(name))
    })?;
    let mut plan = plan.clone();
    plan.pod.metadata.name = Some(name.to_owned());
    Some(plan)
}

/// A pod that reached Failed before podlife deleted it (init failure under Never, a failed
/// Job pod, a deadline), or whose container could not be created.
fn failed_before_deletion(pod: &str, records: &[Record]) -> bool {
    let mut deleted = false;
    for record in records.iter().filter(|r| r.pod == pod) {
        match &record.what {
            // A new pod under the name (a StatefulSet's): its own story starts here.
            What::Event(e) if e.reason == "Scheduled" => deleted = false,
            What::Observation(Observation::Terminating { .. }) => deleted = true,
            What::Observation(Observation::PhaseChanged { phase })
                if *phase == PodPhase::Failed && !deleted =>
            {
                return true;
            }
            What::Event(e) if e.reason == "Failed" || e.reason == "DeadlineExceeded" => {
                return true;
            }
            _ => {}
        }
    }
    false
}

/// A JSON line, or a YAML document.
fn structured<T: serde::Serialize>(value: &T, format: RunOutput) -> String {
    match format {
        RunOutput::Yaml => format!(
            "---\n{}",
            serde_saphyr::to_string(value)
                .unwrap_or_default()
                .trim_end()
        ),
        _ => serde_json::to_string(value).unwrap_or_default(),
    }
}

fn print_record(record: &Record, format: RunOutput, scale: TimeScale, width: usize) {
    if format != RunOutput::Text {
        println!("{}", structured(record, format));
        return;
    }
    if let Some(line) = timeline::line(record, scale, width, false) {
        println!("{line}");
    }
}

/// A `kubectl describe pod`-style summary.
fn describe(plan: &PodPlan, status: &PodStatus, records: &[Record]) -> String {
    let mut out = String::new();
    let name = plan.name();
    let _ = writeln!(out, "\nName:         {name}");
    let _ = writeln!(
        out,
        "Namespace:    {}",
        plan.pod.metadata.namespace.as_deref().unwrap_or("default")
    );
    if let Some(owner) = &plan.owner {
        let _ = writeln!(out, "Controlled By: {}/{}", owner.kind, owner.name);
    }
    let _ = writeln!(
        out,
        "Status:       {}{}",
        status.phase.as_deref().unwrap_or("Unknown"),
        status
            .reason
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    if let Some(message) = &status.message {
        let _ = writeln!(out, "Message:      {message}");
    }
    let _ = writeln!(
        out,
        "IP:           {}",
        status.pod_ip.as_deref().unwrap_or("<none>")
    );
    for (title, list) in [
        ("Init Containers", &status.init_container_statuses),
        ("Containers", &status.container_statuses),
    ] {
        if let Some(list) = list {
            let _ = writeln!(out, "{title}:");
            for c in list {
                container_section(&mut out, c);
            }
        }
    }
    let _ = writeln!(out, "Conditions:\n  Type                        Status");
    for c in status.conditions.iter().flatten() {
        let _ = writeln!(out, "  {:<27} {}", c.type_, c.status);
    }
    let _ = writeln!(
        out,
        "Events:\n  Type     Reason                At (x count)        Message"
    );
    let mut merged: Vec<(String, String, String, f64, f64, usize)> = Vec::new();
    for r in records.iter().filter(|r| r.pod == name) {
        let Some(e) = r.event() else { continue };
        let at = r.manifest.as_secs_f64();
        let message = match &r.container {
            Some(c) => format!("{c}: {}", e.message),
            None => e.message.clone(),
        };
        match merged
            .iter_mut()
            .find(|m| m.1 == e.reason && m.2 == message)
        {
            Some(m) => {
                m.4 = at;
                m.5 += 1;
            }
            None => merged.push((
                format!("{:?}", e.type_),
                e.reason.clone(),
                message,
                at,
                at,
                1,
            )),
        }
    }
    for (kind, reason, message, first, last, count) in merged {
        let when = if count == 1 {
            format!("{first:.1}s")
        } else {
            format!("{first:.1}s (x{count} to {last:.1}s)")
        };
        let _ = writeln!(out, "  {kind:<8} {reason:<21} {when:<19} {message}");
    }
    out
}

fn container_section(out: &mut String, c: &ContainerStatus) {
    let _ = writeln!(out, "  {}:", c.name);
    let _ = writeln!(out, "    Image:          {}", c.image);
    state_lines(out, "State", c.state.as_ref());
    if c.last_state.is_some() {
        state_lines(out, "Last State", c.last_state.as_ref());
    }
    let _ = writeln!(
        out,
        "    Ready:          {}",
        if c.ready { "True" } else { "False" }
    );
    let _ = writeln!(out, "    Restart Count:  {}", c.restart_count);
}

fn state_lines(out: &mut String, title: &str, state: Option<&ContainerState>) {
    let Some(state) = state else { return };
    let label = format!("{title}:");
    if let Some(w) = &state.waiting {
        let _ = writeln!(out, "    {label:<16}Waiting");
        let _ = writeln!(
            out,
            "      Reason:       {}",
            w.reason.as_deref().unwrap_or("")
        );
        if let Some(m) = &w.message {
            let _ = writeln!(out, "      Message:      {m}");
        }
    } else if let Some(r) = &state.running {
        let _ = writeln!(out, "    {label:<16}Running");
        if let Some(t) = &r.started_at {
            let _ = writeln!(out, "      Started:      {}", t.0);
        }
    } else if let Some(t) = &state.terminated {
        let _ = writeln!(out, "    {label:<16}Terminated");
        let _ = writeln!(
            out,
            "      Reason:       {}",
            t.reason.as_deref().unwrap_or("")
        );
        if let Some(m) = &t.message {
            let _ = writeln!(out, "      Message:      {}", m.trim_end());
        }
        let _ = writeln!(out, "      Exit Code:    {}", t.exit_code);
        if let Some(s) = t.signal {
            let _ = writeln!(out, "      Signal:       {s}");
        }
    }
}

/// Builds (or pulls) every image the pods need, and the runtime's sandbox image, saying so on
/// stderr when that takes a build. An image that cannot be had is left to the pod, which then
/// shows `ErrImagePull` as on a node.
async fn prepare_images(runtime: &dyn ContainerRuntime, pods: &[PodPlan], text: bool) {
    let mut images: Vec<&str> = runtime.sandbox_image().into_iter().collect();
    for image in pods.iter().flat_map(|p| images_of(&p.pod)) {
        if !images.contains(&image) {
            images.push(image);
        }
    }
    for image in images {
        let began = std::time::Instant::now();
        let fetching = || {
            if text {
                eprintln!(
                    "preparing image {image} (built locally; this takes a while the first time)…"
                );
            }
        };
        match runtime.pull_image(image, &fetching).await {
            Ok(crate::runtime::Fetched::Fetched) if text => {
                eprintln!(
                    "image {image} ready in {:.1}s",
                    began.elapsed().as_secs_f64()
                );
            }
            Ok(_) => {}
            Err(e) => eprintln!("podlife: image {image}: {e}"),
        }
    }
}
