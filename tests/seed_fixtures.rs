//! The seed article's YAML, as printed, is rejected with exactly these diagnostics; the
//! corrected versions in `fixtures/` validate clean.

use std::path::Path;

use podlife::manifest::render::{self, TextStyle};
use podlife::manifest::{FileReport, Severity, load_file};

const E: Severity = Severity::Error;
const W: Severity = Severity::Warning;

type Expected = (Severity, &'static str, usize, usize, &'static str);

/// Loads `path` relative to the package root (cargo's working directory for tests), so that
/// reports name it as a user would see it.
fn load(path: &str) -> FileReport {
    load_file(Path::new(path))
}

fn assert_diagnostics(path: &str, expected: &[Expected]) -> FileReport {
    let report = load(path);
    let actual: Vec<(Severity, &str, usize, usize, &str)> = report
        .diagnostics
        .iter()
        .map(|d| {
            let at = d.at.expect("every seed diagnostic has a position");
            (
                d.severity,
                d.code.as_str(),
                at.line,
                at.column,
                d.message.as_str(),
            )
        })
        .collect();
    assert_eq!(actual, expected, "diagnostics of {path}");
    report
}

fn help_of<'a>(report: &'a FileReport, message_part: &str) -> &'a str {
    report
        .diagnostics
        .iter()
        .find(|d| d.message.contains(message_part))
        .and_then(|d| d.help.as_deref())
        .unwrap_or_else(|| panic!("no help for {message_part}"))
}

#[test]
fn war_hooks_as_printed() {
    let report = assert_diagnostics(
        "fixtures/seed/war-hooks.yaml",
        &[
            (E, "elision", 1, 1, "documentation elision `......`"),
            (
                E,
                "missing-kind",
                2,
                1,
                "document 1 has no `kind`: it is a fragment of a pod spec",
            ),
            (
                E,
                "yaml-indentation",
                4,
                6,
                "`name` is indented more than `image` above it",
            ),
            (
                E,
                "fullwidth-punctuation",
                5,
                15,
                "full-width colon '：' (U+FF1A) after `lifecycle`",
            ),
            (
                E,
                "typographic-quote",
                9,
                13,
                "typographic quote left double quotation mark '“' (U+201C) around `cp`",
            ),
            (
                E,
                "typographic-quote",
                10,
                13,
                "typographic quote left double quotation mark '“' (U+201C) around `/sample.war`",
            ),
            (
                E,
                "typographic-quote",
                11,
                13,
                "typographic quote left double quotation mark '“' (U+201C) around `/app`",
            ),
            (
                E,
                "unknown-field",
                12,
                7,
                "unknown field `prestop` in `containers[0].lifecycle`",
            ),
            (
                E,
                "unknown-field",
                15,
                9,
                "unknown field `psth` in `containers[0].lifecycle.prestop.httpGet`",
            ),
            (E, "elision", 18, 1, "documentation elision `......`"),
        ],
    );
    assert_eq!(help_of(&report, "`prestop`"), "did you mean `preStop`?");
    assert_eq!(help_of(&report, "`psth`"), "did you mean `path`?");
    assert!(help_of(&report, "around `cp`").contains("the value is `“cp”`"));
    assert!(help_of(&report, "`name` is indented").contains("remove 3 spaces"));
    assert!(
        report.manifests.is_empty(),
        "a fragment yields nothing to run"
    );
}

#[test]
fn nginx_demo_as_printed() {
    let report = assert_diagnostics(
        "fixtures/seed/nginx-demo.yaml",
        &[
            (
                E,
                "missing-api-version",
                1,
                1,
                "the Deployment has no `apiVersion`",
            ),
            (
                E,
                "field-required",
                6,
                1,
                "missing required field `selector` in `spec`",
            ),
        ],
    );
    assert_eq!(
        help_of(&report, "`apiVersion`"),
        "add `apiVersion: apps/v1` (podlife checks this Deployment as apps/v1)"
    );
    assert!(
        help_of(&report, "`selector`").contains("selector: {matchLabels: {app: \"nginx-demo\"}}")
    );
}

#[test]
fn init_container_deployment_as_printed() {
    let report = assert_diagnostics(
        "fixtures/seed/init-container-deploy.yaml",
        &[
            (
                E,
                "shell-wrapper",
                1,
                1,
                "shell here-document around the manifest: `cat << EOF > lykops-deploy-init-container.yaml`",
            ),
            (
                W,
                "deprecated",
                2,
                13,
                "`extensions/v1beta1` Deployment was removed in Kubernetes 1.16",
            ),
            (
                W,
                "deprecated",
                11,
                5,
                "the `pod.beta.K8S.io/init-containers` annotation is ignored since Kubernetes 1.8",
            ),
            (
                E,
                "wrong-type",
                12,
                7,
                "`metadata.annotations[pod.beta.K8S.io/init-containers]` must be a string, not a list",
            ),
            (
                E,
                "shell-wrapper",
                41,
                1,
                "shell command in the manifest: `kubectl create -f lykops-deploy-init-container.yaml`",
            ),
        ],
    );
    assert!(
        help_of(&report, "here-document")
            .contains("save them as `lykops-deploy-init-container.yaml`")
    );
    assert!(
        help_of(&report, "annotation is ignored").contains("spec.template.spec.initContainers")
    );
}

#[test]
fn liveness_exec_snippet_as_printed() {
    assert_diagnostics(
        "fixtures/seed/liveness-exec.yaml",
        &[
            (E, "elision", 1, 1, "documentation elision `……`"),
            (
                E,
                "missing-kind",
                2,
                7,
                "document 1 has no `kind`: it is a fragment of a container",
            ),
            (E, "elision", 7, 1, "documentation elision `……`"),
        ],
    );
}

#[test]
fn liveness_tcp_snippet_as_printed() {
    let report = assert_diagnostics(
        "fixtures/seed/liveness-tcp.yaml",
        &[
            (E, "elision", 1, 1, "documentation elision `……`"),
            (
                E,
                "missing-kind",
                2,
                1,
                "document 1 has no `kind`: it is a fragment of a container",
            ),
            (
                E,
                "unknown-field",
                3,
                1,
                "unknown field `tcpSocket` at the top level",
            ),
            (E, "elision", 5, 1, "documentation elision `……`"),
        ],
    );
    assert!(help_of(&report, "`tcpSocket`").starts_with(
        "`tcpSocket` is a field of `livenessProbe` (a Probe): indent it under `livenessProbe`"
    ));
}

#[test]
fn inessprobe_as_printed() {
    let report = assert_diagnostics(
        "fixtures/seed/inessprobe.yaml",
        &[
            (
                E,
                "shell-wrapper",
                1,
                1,
                "shell here-document around the manifest: `cat << EOF > inessprobe.yaml`",
            ),
            (
                E,
                "shell-wrapper",
                53,
                1,
                "shell here-document around the manifest: `cat << EOF > inessprobe-svc.yaml`",
            ),
            (
                E,
                "shell-wrapper",
                73,
                1,
                "shell command in the manifest: `kubectl create -f inessprobe-svc.yaml`",
            ),
            (
                E,
                "shell-wrapper",
                74,
                1,
                "shell command in the manifest: `kubectl create -f inessprobe.yaml`",
            ),
        ],
    );
    // Both here-document bodies were still checked, and are fine.
    let kinds: Vec<&str> = report
        .manifests
        .iter()
        .map(|m| m.object.kind().as_str())
        .collect();
    assert_eq!(kinds, ["ReplicationController", "Service"]);
}

#[test]
fn rendered_reports() {
    for name in [
        "war-hooks",
        "nginx-demo",
        "init-container-deploy",
        "liveness-exec",
        "liveness-tcp",
        "inessprobe",
    ] {
        let report = load(&format!("fixtures/seed/{name}.yaml"));
        let text: String = report
            .diagnostics
            .iter()
            .map(|d| render::render(&report.source, d, TextStyle::default()))
            .collect::<Vec<_>>()
            .join("\n");
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn corrected_fixtures_validate_clean() {
    let dir = Path::new("fixtures");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let report = load_file(&path);
            assert!(
                report.diagnostics.is_empty(),
                "{} should be clean: {:#?}",
                path.display(),
                report.diagnostics
            );
            assert!(!report.manifests.is_empty());
            checked.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    // Every as-printed seed example has a corrected twin.
    for entry in std::fs::read_dir(dir.join("seed")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(checked.contains(&name), "fixtures/{name} is missing");
    }
}
