//! Runs every feature under `features/` (the repository root's), once per runtime: a pass on
//! the process runtime, then one on Docker. Part of `cargo test`.
//!
//! - `PODLIFE_RUNTIME=process|docker` runs one pass only (a conformance run of one runtime).
//! - Tags: `@process` / `@docker` run a scenario on that runtime only; `@static` scenarios
//!   (manifest validation) need no runtime and run once; `@timescale=N` runs its manifest
//!   time N times faster; `@conformance=<key>` records the verdict for the README's table.
//! - Without a Docker engine the Docker pass is reported as skipped, with the reason, and
//!   every scenario it would have run is listed.
//! - `PODLIFE_CONCURRENCY=n` scenarios at once (default 3); `PODLIFE_JUNIT=path` and
//!   `PODLIFE_CUCUMBER_JSON=path` write reports (the Docker pass's next to it, `.docker`
//!   before the extension).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use cucumber::tag::Ext as _;
use cucumber::writer::Stats as _;
use cucumber::{World as _, WriterExt as _, event, gherkin, writer};
use podlife::conformance::{self, Outcome, Verdict};
use podlife_steps::{PodlifeWorld, RuntimeKind, repository_root, set_current_runtime};

/// A report file named by `variable` (suffixed for passes after the first), or nowhere.
fn report(variable: &str, pass: RuntimeKind) -> Box<dyn Write> {
    match std::env::var_os(variable) {
        Some(path) => {
            let path = suffixed(Path::new(&path), pass);
            Box::new(
                File::create(&path)
                    .unwrap_or_else(|e| panic!("cannot write {variable}={}: {e}", path.display())),
            )
        }
        None => Box::new(std::io::sink()),
    }
}

fn suffixed(path: &Path, pass: RuntimeKind) -> PathBuf {
    if pass == RuntimeKind::Process {
        return path.to_path_buf();
    }
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{}.{}", pass.name(), ext.to_string_lossy()),
        None => format!("{stem}.{}", pass.name()),
    };
    path.with_file_name(name)
}

fn tags<'a>(feature: &'a gherkin::Feature, scenario: &'a gherkin::Scenario) -> Vec<&'a str> {
    feature
        .tags
        .iter()
        .chain(&scenario.tags)
        .map(String::as_str)
        .collect()
}

/// Whether the scenario runs in this pass.
fn runs_in(pass: RuntimeKind, feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> bool {
    let tags = tags(feature, scenario);

    if tags.contains(&"static") {
        return pass == RuntimeKind::Process;
    }
    let only: Vec<RuntimeKind> = tags.iter().filter_map(|t| RuntimeKind::parse(t)).collect();
    only.is_empty() || only.contains(&pass)
}

/// The conformance feature a scenario reports on (`@conformance=<key>`).
fn conformance_feature(tags: &[&str]) -> Option<&'static str> {
    let key = tags.iter().find_map(|t| t.strip_prefix("conformance="))?;
    Some(conformance::feature_by_key(key).unwrap_or_else(|| {
        panic!(
            "@conformance={key}: not a feature key; the keys are {:?}",
            conformance::FEATURE_KEYS
        )
    }))
}

fn scenarios(pass: RuntimeKind) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let dir = repository_root().join("features");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for file in files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "feature"))
    {
        let Ok(feature) = gherkin::Feature::parse_path(&file, gherkin::GherkinEnv::default())
        else {
            continue;
        };
        let all: Vec<&gherkin::Scenario> = feature
            .scenarios
            .iter()
            .chain(feature.rules.iter().flat_map(|r| &r.scenarios))
            .collect();
        for scenario in all {
            if runs_in(pass, &feature, scenario) {
                let tags = tags(&feature, scenario)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                out.push((format!("{}: {}", feature.name, scenario.name), tags));
            }
        }
    }
    out
}

async fn docker_available() -> Result<(), String> {
    podlife::runtime::docker::DockerRuntime::new()
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// One pass over the features on `pass`; whether it failed.
async fn run_pass(pass: RuntimeKind) -> bool {
    set_current_runtime(pass);
    println!("\n=== features on the {} runtime ===", pass.name());
    if pass == RuntimeKind::Docker
        && let Err(why) = docker_available().await
    {
        let skipped = scenarios(pass);
        println!(
            "SKIPPED the Docker pass ({} scenarios): {why}",
            skipped.len()
        );
        for (name, tags) in skipped {
            println!("  skipped: {name}");
            let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
            if let Some(feature) = conformance_feature(&tags) {
                let mut outcome = Outcome::new(feature, pass.name(), &name, Verdict::Skipped);
                outcome.note = Some("no Docker engine".into());
                let _ = conformance::record(&conformance::results_path(), &outcome);
            }
        }
        return false;
    }
    let concurrency = std::env::var("PODLIFE_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let features = repository_root().join("features");
    // `--name` and `--tags` would replace the runtime filter below; apply them inside it.
    let mut cli = cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::parsed();
    let name_filter = cli.re_filter.take();
    let tags_filter = cli.tags_filter.take();
    let result = PodlifeWorld::cucumber()
        .max_concurrent_scenarios(concurrency)
        .before(|feature, _, scenario, world| {
            Box::pin(async move {
                for tag in tags(feature, scenario) {
                    if let Some(factor) = tag.strip_prefix("timescale=") {
                        let factor: f64 = factor
                            .parse()
                            .unwrap_or_else(|_| panic!("@{tag}: write @timescale=20"));
                        world.scale = 1.0 / factor;
                    }
                }
            })
        })
        .after(move |feature, _, scenario, finished, world| {
            Box::pin(async move {
                if let Some(world) = world {
                    world.shut_down().await;
                }
                if let Some(key) = conformance_feature(&tags(feature, scenario)) {
                    let verdict = match finished {
                        event::ScenarioFinished::StepPassed => Verdict::Pass,
                        event::ScenarioFinished::StepSkipped => Verdict::Skipped,
                        _ => Verdict::Fail,
                    };
                    let name = format!("{}: {}", feature.name, scenario.name);
                    let outcome = Outcome::new(key, pass.name(), &name, verdict);
                    let _ = conformance::record(&conformance::results_path(), &outcome);
                }
            })
        })
        .with_writer(
            writer::Basic::stdout()
                .summarized()
                .tee::<PodlifeWorld, _>(writer::JUnit::for_tee(report("PODLIFE_JUNIT", pass), 0))
                .tee::<PodlifeWorld, _>(writer::Json::for_tee(report(
                    "PODLIFE_CUCUMBER_JSON",
                    pass,
                )))
                .normalized(),
        )
        .fail_on_skipped()
        .with_cli(cli)
        .filter_run(features, move |feature, rule, scenario| {
            runs_in(pass, feature, scenario)
                && name_filter
                    .as_ref()
                    .is_none_or(|re| re.is_match(&scenario.name))
                && tags_filter.as_ref().is_none_or(|tags| {
                    tags.eval(
                        feature
                            .tags
                            .iter()
                            .chain(rule.iter().flat_map(|r| &r.tags))
                            .chain(scenario.tags.iter()),
                    )
                })
        })
        .await;
    result.execution_has_failed()
}

#[tokio::main]
async fn main() {
    let passes: Vec<RuntimeKind> = match std::env::var("PODLIFE_RUNTIME") {
        Ok(name) => vec![
            RuntimeKind::parse(&name)
                .unwrap_or_else(|| panic!("PODLIFE_RUNTIME={name}: use process or docker")),
        ],
        Err(_) => RuntimeKind::ALL.to_vec(),
    };
    let mut failed = false;
    for pass in passes {
        failed |= run_pass(pass).await;
    }
    if failed {
        std::process::exit(1);
    }
}
