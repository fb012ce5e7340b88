//! `podlife validate`: strict checks, every problem at once, and what would run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::checks::CheckArgs;
use super::{ColorChoice, EXIT_INVALID, EXIT_OK};
use crate::manifest::expand::{self, Plan};
use crate::manifest::render::{self, TextStyle};
use crate::manifest::{Diagnostic, FileReport, Manifest, Severity, load_inputs};

/// Check manifests as strictly as `kubectl apply --validate=strict` and the API server's
/// validation of lifecycle fields, and show the pods they would run.
///
/// Every problem of a file is reported at once, with its line and column, the source line, and
/// a suggestion: unknown fields (`prestop` → did you mean `preStop`?), wrong types, missing
/// fields, probe and hook rules, and copy-paste hazards such as full-width colons (`：`),
/// typographic quotes (`“cp”`), tabs and `......` elision lines. Nothing is started.
///
/// A bundle may hold kinds podlife does not run (ServiceAccount, Role, Ingress, CRDs and custom
/// resources): they are checked against their schema where Kubernetes has one and listed as not
/// run, without making the file invalid (unless --strict-kinds). ConfigMaps, Secrets and
/// PersistentVolumeClaims are read as inputs to the pods.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  podlife validate fixtures/\n  podlife validate -o json pod.yaml\n  podlife validate --kubernetes-version 1.29 bundle.yaml\n  kubectl get pod web -o yaml | podlife validate -\n\nExit status: 0 all valid (warnings allowed), 1 an input is invalid or unreadable, 2 usage error."
)]
pub struct ValidateArgs {
    /// Manifest files, directories (their .yaml, .yml and .json files), or - for stdin.
    #[arg(required = true, value_name = "FILE|DIR|-")]
    pub inputs: Vec<String>,

    /// Also read the subdirectories of directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,

    #[command(flatten)]
    pub checks: CheckArgs,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,

    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Only print problems, not the objects and pods of valid files.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Reports with the source line and a caret, for people.
    Text,
    /// One JSON document, for machines.
    Json,
}

pub fn run(args: &ValidateArgs) -> i32 {
    let reports = load_inputs(&args.inputs, args.recursive, &args.checks.options());
    let manifests: Vec<Manifest> = reports.iter().flat_map(|r| r.manifests.clone()).collect();
    let plan = expand::expand(&manifests, &mut fastrand::Rng::new());
    let out = match args.output {
        Output::Text => text(&reports, &plan, args),
        Output::Json => json(&reports, &plan),
    };
    print!("{out}");
    if reports.iter().all(FileReport::is_valid) {
        EXIT_OK
    } else {
        EXIT_INVALID
    }
}

fn text(reports: &[FileReport], plan: &Plan, args: &ValidateArgs) -> String {
    let style = TextStyle {
        color: args.color.enabled(),
        ..TextStyle::default()
    };
    let mut out = String::new();
    for report in reports {
        // Notes are not problems: the listing of the file shows them.
        for diagnostic in report
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
        {
            out.push_str(&render::render(&report.source, diagnostic, style));
            out.push('\n');
        }
    }
    let (errors, warnings) = totals(reports);
    for report in reports {
        let name = report.source.name();
        let counts = counts(report.errors(), report.warnings());
        if !report.is_valid() {
            let _ = writeln!(out, "✗ {name}: invalid ({counts})");
            continue;
        }
        let suffix = if report.warnings() > 0 {
            format!(" ({counts})")
        } else {
            String::new()
        };
        let _ = writeln!(out, "✓ {name}: valid{suffix}");
        if args.quiet {
            continue;
        }
        for object in objects(report, plan) {
            let _ = writeln!(out, "    {}", object.summary());
        }
    }
    let invalid = reports.iter().filter(|r| !r.is_valid()).count();
    let verdict = if invalid == 0 {
        "all valid".to_owned()
    } else {
        format!("{invalid} invalid")
    };
    let _ = writeln!(
        out,
        "{} file{}: {verdict} ({})",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        counts(errors, warnings)
    );
    out
}

fn counts(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

fn totals(reports: &[FileReport]) -> (usize, usize) {
    reports
        .iter()
        .fold((0, 0), |(e, w), r| (e + r.errors(), w + r.warnings()))
}

/// An object of a valid file and what it runs.
#[derive(Debug, Serialize)]
struct ObjectSummary {
    kind: String,
    name: String,
    namespace: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    line: usize,
    role: Role,
    /// For objects not run: whether their fields were checked against a Kubernetes schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    checked: Option<bool>,
    /// Pods it expands to (workloads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pods: Option<Vec<String>>,
    /// The labels it selects (Services).
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<BTreeMap<String, String>>,
}

/// What podlife does with an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Role {
    /// Runs it (a workload's pods, a Service's endpoints).
    Run,
    /// Pods consume it (ConfigMap, Secret, PersistentVolumeClaim).
    PodInput,
    /// Only checks it: against its schema, or not at all (a custom resource).
    NotRun,
}

impl ObjectSummary {
    fn summary(&self) -> String {
        let head = format!("{} {} ({})", self.kind, self.name, self.api_version);
        match (&self.role, &self.pods, &self.selector) {
            (Role::PodInput, _, _) => format!("{head}: input to pods"),
            (Role::NotRun, _, _) => format!(
                "note: not run by podlife: {} {} ({}, {})",
                self.kind,
                self.name,
                self.api_version,
                if self.checked == Some(true) {
                    "fields checked"
                } else {
                    "not checked"
                }
            ),
            (_, Some(pods), _) if pods.len() == 1 => format!("{head} → pod {}", pods[0]),
            (_, Some(pods), _) => format!("{head} → {} pods: {}", pods.len(), pods.join(", ")),
            (_, None, Some(selector)) => {
                let s: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{head} → selects {}", s.join(","))
            }
            _ => head,
        }
    }
}

/// Every object of `report`, in the order of the file.
fn objects(report: &FileReport, plan: &Plan) -> Vec<ObjectSummary> {
    let mut objects: Vec<ObjectSummary> = report
        .manifests
        .iter()
        .map(|m| run_summary(m, plan))
        .collect();
    objects.extend(report.inputs.iter().map(|m| ObjectSummary {
        kind: m.object.kind().to_string(),
        name: m.object.name().to_owned(),
        namespace: m.object.namespace().to_owned(),
        api_version: m.origin.api_version.clone(),
        line: m.origin.at.line,
        role: Role::PodInput,
        checked: None,
        pods: None,
        selector: None,
    }));
    objects.extend(report.not_run.iter().map(|n| ObjectSummary {
        kind: n.kind.clone(),
        name: n.name.clone(),
        namespace: n.namespace.clone(),
        api_version: n.api_version.clone(),
        line: n.at.line,
        role: Role::NotRun,
        checked: Some(n.checked),
        pods: None,
        selector: None,
    }));
    objects.sort_by_key(|o| o.line);
    objects
}

/// An object podlife runs, with its pods or the labels it selects.
fn run_summary(m: &Manifest, plan: &Plan) -> ObjectSummary {
    let kind = m.object.kind();
    let same_origin = |o: &crate::manifest::Origin| {
        std::sync::Arc::ptr_eq(&o.source, &m.origin.source)
            && o.document == m.origin.document
            && o.prefix == m.origin.prefix
    };
    let pods = kind.is_workload().then(|| {
        plan.pods
            .iter()
            .filter(|p| same_origin(&p.origin))
            .map(|p| p.name().to_owned())
            .collect()
    });
    let selector = plan
        .services
        .iter()
        .find(|s| same_origin(&s.origin))
        .map(|s| {
            s.service
                .spec
                .as_ref()
                .and_then(|s| s.selector.clone())
                .unwrap_or_default()
        });
    ObjectSummary {
        kind: kind.to_string(),
        name: m.object.name().to_owned(),
        namespace: m.object.namespace().to_owned(),
        api_version: m.origin.api_version.clone(),
        line: m.origin.at.line,
        role: Role::Run,
        checked: None,
        pods,
        selector,
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    valid: bool,
    errors: usize,
    warnings: usize,
    files: Vec<JsonFile<'a>>,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    file: &'a str,
    valid: bool,
    diagnostics: &'a [Diagnostic],
    objects: Vec<ObjectSummary>,
}

fn json(reports: &[FileReport], plan: &Plan) -> String {
    let (errors, warnings) = totals(reports);
    let report = JsonReport {
        valid: errors == 0,
        errors,
        warnings,
        files: reports
            .iter()
            .map(|r| JsonFile {
                file: r.source.name(),
                valid: r.is_valid(),
                diagnostics: &r.diagnostics,
                objects: if r.is_valid() {
                    objects(r, plan)
                } else {
                    Vec::new()
                },
            })
            .collect(),
    };
    let mut out = serde_json::to_string_pretty(&report).unwrap_or_default();
    out.push('\n');
    out
}
