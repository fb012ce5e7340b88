//! `podlife validate` over `fixtures/corpus/`: manifests shaped like the documentation's and
//! popular projects' (StatefulSets with claim templates, scripts with here-documents, bundles
//! of kinds podlife does not run, tab-indented JSON, go-yaml's `\'`, removed apiVersions) and a
//! few truly invalid ones, each with its exact verdict.

use std::collections::BTreeMap;

use assert_cmd::Command;
use serde_json::Value;

/// A file's verdict: valid or not, the codes of its errors and warnings (sorted, repeated as
/// often as they occur), and how many objects are noted as not run.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    valid: bool,
    codes: Vec<String>,
    not_run: usize,
}

fn verdict(valid: bool, codes: &[&str], not_run: usize) -> Verdict {
    let mut codes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    codes.sort();
    Verdict {
        valid,
        codes,
        not_run,
    }
}

fn valid(not_run: usize) -> Verdict {
    verdict(true, &[], not_run)
}

fn invalid(codes: &[&str], not_run: usize) -> Verdict {
    verdict(false, codes, not_run)
}

/// Runs `podlife validate -o json` with `args` and returns each file's verdict and exit code.
fn validate(args: &[&str]) -> (BTreeMap<String, Verdict>, i32) {
    let output = Command::cargo_bin("podlife")
        .expect("the podlife binary is built")
        .args(["validate", "-o", "json"])
        .args(args)
        .output()
        .expect("podlife runs");
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let mut verdicts = BTreeMap::new();
    for file in json["files"].as_array().expect("files") {
        let name = file["file"].as_str().unwrap();
        let name = name.rsplit('/').next().unwrap().to_owned();
        let diagnostics = file["diagnostics"].as_array().unwrap();
        let severity = |d: &&Value| d["severity"].as_str().unwrap().to_owned();
        let mut codes: Vec<String> = diagnostics
            .iter()
            .filter(|d| severity(d) != "note")
            .map(|d| d["code"].as_str().unwrap().to_owned())
            .collect();
        codes.sort();
        let not_run = diagnostics.iter().filter(|d| severity(d) == "note").count();
        let verdict = Verdict {
            valid: file["valid"].as_bool().unwrap(),
            codes,
            not_run,
        };
        verdicts.insert(name, verdict);
    }
    (verdicts, output.status.code().unwrap_or(-1))
}

#[test]
fn every_corpus_file_has_its_exact_verdict() {
    let expected: BTreeMap<&str, Verdict> = [
        // StatefulSets mounting their claim templates.
        ("statefulset-nginx-claims.yaml", valid(0)),
        ("statefulset-postgres-config.yaml", valid(0)),
        ("statefulset-heredoc-init.yaml", valid(0)),
        (
            "statefulset-unknown-mount.yaml",
            invalid(&["field-not-found"], 0),
        ),
        // Here-documents inside YAML scalars are scripts, not shell wrappers.
        ("deployment-heredoc-entrypoint.yaml", valid(0)),
        ("job-heredoc-python.yaml", valid(0)),
        ("configmap-script-heredoc.yaml", valid(0)),
        ("shell-wrapped.yaml", invalid(&["shell-wrapper"], 0)),
        // Bundles: kinds podlife does not run are noted, their typos still caught.
        ("gitops-server-bundle.yaml", valid(3)),
        ("webapp-ingress-hpa-pdb.yaml", valid(3)),
        ("crd-and-instance.yaml", valid(2)),
        ("certificate-and-deployment.yaml", valid(2)),
        ("servicemonitor.yaml", valid(1)),
        ("knative-service.yaml", valid(1)),
        ("namespace-quota-netpol.yaml", valid(4)),
        ("cluster-rbac.yaml", valid(3)),
        ("cronjob.yaml", valid(1)),
        ("daemonset-log-agent.yaml", valid(2)),
        ("pvc-and-pod.yaml", valid(0)),
        ("tls-secret-ingress.yaml", valid(1)),
        (
            "role-typo.yaml",
            invalid(&["field-required", "unknown-field"], 2),
        ),
        ("hpa-quoted-number.yaml", invalid(&["wrong-type"], 1)),
        (
            "ingress-wrong-apiversion.yaml",
            invalid(&["unknown-api-version"], 1),
        ),
        ("deployment-kind-typo.yaml", invalid(&["unknown-kind"], 0)),
        ("configmap-bad-key.yaml", invalid(&["field-invalid"], 0)),
        ("pvc-missing-size.yaml", invalid(&["field-required"], 0)),
        // JSON indented with tabs, go-yaml's `\'`.
        ("pod-tab-indented.json", valid(0)),
        ("deployment-tab-indented.json", valid(0)),
        ("list-tab-indented.json", valid(0)),
        ("escaped-apostrophe.yaml", valid(0)),
        (
            "yaml-tab-indented.yaml",
            invalid(&["tab-indentation"; 4], 0),
        ),
        // Removed apiVersions: readable, with a warning.
        (
            "legacy-extensions-deployment.yaml",
            verdict(true, &["deprecated"], 0),
        ),
        (
            "legacy-apps-v1beta2-statefulset.yaml",
            verdict(true, &["deprecated"], 0),
        ),
        (
            "legacy-ingress-extensions.yaml",
            verdict(true, &["deprecated"], 1),
        ),
        (
            "legacy-rbac-v1beta1.yaml",
            verdict(true, &["deprecated"], 1),
        ),
        // API rules that the API server enforces too.
        (
            "ephemeral-containers-pod.yaml",
            invalid(&["field-forbidden"], 0),
        ),
        ("cgroup-options.yaml", invalid(&["unknown-field"], 0)),
    ]
    .into_iter()
    .collect();
    assert!(expected.len() >= 30);
    let (actual, code) = validate(&["fixtures/corpus/"]);
    let names: Vec<&String> = actual.keys().collect();
    let listed: Vec<&&str> = expected.keys().collect();
    assert_eq!(
        names.len(),
        listed.len(),
        "every corpus file has a verdict here: {names:?} vs {listed:?}"
    );
    for (name, want) in &expected {
        let got = actual
            .get(*name)
            .unwrap_or_else(|| panic!("{name} was not validated"));
        assert_eq!(got, want, "verdict of fixtures/corpus/{name}");
    }
    assert_eq!(code, 1, "some corpus files are invalid");
}

#[test]
fn removed_api_versions_are_errors_for_a_release_without_them() {
    let files = [
        "fixtures/corpus/legacy-extensions-deployment.yaml",
        "fixtures/corpus/legacy-ingress-extensions.yaml",
        "fixtures/corpus/legacy-rbac-v1beta1.yaml",
    ];
    let run = |version: &str| {
        let mut args = vec!["--kubernetes-version", version];
        args.extend(files);
        validate(&args)
    };
    // 1.21 still serves Ingress and RBAC v1beta1, not extensions/v1beta1 Deployments.
    let (v, code) = run("1.21");
    assert_eq!(code, 1);
    assert_eq!(
        v["legacy-extensions-deployment.yaml"],
        invalid(&["deprecated"], 0)
    );
    assert_eq!(
        v["legacy-ingress-extensions.yaml"],
        verdict(true, &["deprecated"], 1)
    );
    assert_eq!(
        v["legacy-rbac-v1beta1.yaml"],
        verdict(true, &["deprecated"], 1)
    );
    let (v, _) = run("v1.29.3");
    assert!(v.values().all(|v| !v.valid), "{v:?}");
    let (v, code) = run("1.15");
    assert_eq!(code, 0);
    assert!(v.values().all(|v| v.valid), "{v:?}");
}

#[test]
fn strict_kinds_refuses_what_podlife_does_not_run() {
    let (v, code) = validate(&[
        "--strict-kinds",
        "fixtures/corpus/gitops-server-bundle.yaml",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        v["gitops-server-bundle.yaml"],
        invalid(&["unsupported-kind"; 3], 0),
        "ServiceAccount, Role and RoleBinding; the ConfigMap and Secret are pod inputs"
    );
}
