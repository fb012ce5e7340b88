//! Each Kubernetes validation rule on the lifecycle fields, shown by a small manifest that
//! breaks it (and, where the rule has an edge, one that just passes).

use podlife::manifest::{Severity, Source, analyze};

/// (severity, code, line, column, message) of every finding in `yaml`.
fn findings(yaml: &str) -> Vec<(Severity, String, usize, usize, String)> {
    analyze(Source::new("t.yaml", yaml))
        .diagnostics
        .into_iter()
        .map(|d| {
            let at = d.at.unwrap_or_default_position();
            (d.severity, d.code.to_string(), at.0, at.1, d.message)
        })
        .collect()
}

trait PositionOrDefault {
    fn unwrap_or_default_position(self) -> (usize, usize);
}

impl PositionOrDefault for Option<podlife::manifest::Position> {
    fn unwrap_or_default_position(self) -> (usize, usize) {
        self.map_or((0, 0), |p| (p.line, p.column))
    }
}

/// A Pod whose single container `app` has `extra` (indented by 4) appended.
fn pod(extra: &str) -> String {
    let mut yaml = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: busybox\n",
    );
    for line in extra.lines() {
        yaml.push_str("    ");
        yaml.push_str(line);
        yaml.push('\n');
    }
    yaml
}

/// Asserts exactly one finding, with this code, line and message.
fn one(yaml: &str, code: &str, line: usize, message: &str) {
    let found = findings(yaml);
    assert_eq!(
        found.len(),
        1,
        "expected one finding for:\n{yaml}\ngot {found:#?}"
    );
    let (_, c, l, _, m) = &found[0];
    assert_eq!(
        (c.as_str(), *l, m.as_str()),
        (code, line, message),
        "for:\n{yaml}"
    );
}

fn clean(yaml: &str) {
    let found = findings(yaml);
    assert!(
        found.is_empty(),
        "expected no findings for:\n{yaml}\ngot {found:#?}"
    );
}

#[test]
fn a_probe_has_exactly_one_handler() {
    one(
        &pod("livenessProbe:\n  periodSeconds: 5"),
        "field-required",
        9,
        "spec.containers[0].livenessProbe: Required value: must specify a handler type",
    );
    one(
        &pod("readinessProbe:\n  exec: {command: [ls]}\n  tcpSocket: {port: 80}"),
        "field-forbidden",
        11,
        "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
    );
}

#[test]
fn a_hook_has_exactly_one_handler() {
    one(
        &pod("lifecycle:\n  preStop: {}"),
        "field-required",
        10,
        "spec.containers[0].lifecycle.preStop: Required value: must specify a handler type",
    );
    one(
        &pod("lifecycle:\n  postStart:\n    exec: {command: [ls]}\n    sleep: {seconds: 1}"),
        "field-forbidden",
        12,
        "spec.containers[0].lifecycle.postStart.sleep: Forbidden: may not specify more than 1 handler type",
    );
}

#[test]
fn probe_numbers_are_non_negative_and_zero_means_the_default() {
    for field in [
        "initialDelaySeconds",
        "periodSeconds",
        "timeoutSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        one(
            &pod(&format!(
                "readinessProbe:\n  tcpSocket: {{port: 80}}\n  {field}: -1"
            )),
            "field-invalid",
            11,
            &format!(
                "spec.containers[0].readinessProbe.{field}: Invalid value: -1: must be greater than or equal to 0"
            ),
        );
    }
    let found = findings(&pod(
        "livenessProbe:\n  tcpSocket: {port: 80}\n  periodSeconds: 0",
    ));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, Severity::Warning);
    assert_eq!(
        found[0].4,
        "spec.containers[0].livenessProbe.periodSeconds: 0 means the default, 10"
    );
    clean(&pod(
        "livenessProbe:\n  tcpSocket: {port: 80}\n  initialDelaySeconds: 0",
    ));
}

#[test]
fn success_threshold_is_one_for_liveness_and_startup() {
    for probe in ["livenessProbe", "startupProbe"] {
        one(
            &pod(&format!(
                "{probe}:\n  tcpSocket: {{port: 80}}\n  successThreshold: 2"
            )),
            "field-invalid",
            11,
            &format!("spec.containers[0].{probe}.successThreshold: Invalid value: 2: must be 1"),
        );
    }
    clean(&pod(
        "readinessProbe:\n  tcpSocket: {port: 80}\n  successThreshold: 2",
    ));
}

#[test]
fn probe_grace_period() {
    one(
        &pod("readinessProbe:\n  tcpSocket: {port: 80}\n  terminationGracePeriodSeconds: 5"),
        "field-invalid",
        11,
        "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes",
    );
    one(
        &pod("livenessProbe:\n  tcpSocket: {port: 80}\n  terminationGracePeriodSeconds: 0"),
        "field-invalid",
        11,
        "spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0",
    );
}

#[test]
fn pod_grace_period_is_non_negative() {
    let yaml = pod("").replace("spec:\n", "spec:\n  terminationGracePeriodSeconds: -5\n");
    one(
        &yaml,
        "field-invalid",
        6,
        "spec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or equal to 0",
    );
    clean(&pod("").replace("spec:\n", "spec:\n  terminationGracePeriodSeconds: 0\n"));
}

#[test]
fn ports_are_numbers_in_range_or_declared_names() {
    one(
        &pod("livenessProbe:\n  httpGet: {port: 0}"),
        "field-invalid",
        10,
        "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
    );
    one(
        &pod("livenessProbe:\n  tcpSocket: {port: 70000}"),
        "field-invalid",
        10,
        "spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: 70000: must be between 1 and 65535, inclusive",
    );
    one(
        &pod("livenessProbe:\n  httpGet: {port: web}"),
        "field-not-found",
        10,
        "spec.containers[0].livenessProbe.httpGet.port: Not found: \"web\": the container declares no port named \"web\", so the kubelet fails this probe at run time (podlife checks it up front)",
    );
    clean(&pod(
        "ports:\n- {name: web, containerPort: 8080}\nlivenessProbe:\n  httpGet: {port: web}",
    ));
    clean(&pod(
        "lifecycle:\n  preStop:\n    httpGet: {host: monitor.com, port: 8080}",
    ));
    let found = findings(&pod("livenessProbe:\n  httpGet: {port: \"8080\"}"));
    assert_eq!(found.len(), 1);
    assert!(
        found[0].4.contains("must contain at least one letter"),
        "{found:?}"
    );
    one(
        &pod("livenessProbe:\n  grpc: {port: 0}"),
        "field-invalid",
        10,
        "spec.containers[0].livenessProbe.grpc.port: Invalid value: 0: must be between 1 and 65535, inclusive",
    );
}

#[test]
fn scheme_is_http_or_https() {
    let yaml = pod("livenessProbe:\n  httpGet: {port: 80, scheme: http}");
    one(
        &yaml,
        "field-not-supported",
        10,
        "spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: \"http\": supported values: \"HTTP\", \"HTTPS\"",
    );
    let report = analyze(Source::new("t.yaml", yaml));
    assert_eq!(
        report.diagnostics[0].help.as_deref(),
        Some("did you mean `HTTP`?")
    );
}

#[test]
fn container_names_are_unique_dns_labels() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n  - {name: web, image: busybox}\n  containers:\n  - {name: web, image: busybox}\n  - {name: Web_2, image: busybox}\n";
    let found = findings(yaml);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        found[0].4,
        "spec.containers[0].name: Duplicate value: \"web\""
    );
    assert_eq!(found[0].2, 8);
    assert!(found[1].4.starts_with(
        "spec.containers[1].name: Invalid value: \"Web_2\": a lowercase RFC 1123 label"
    ));
}

#[test]
fn containers_need_a_name_and_an_image() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - command: [sleep, '1']\n";
    let found = findings(yaml);
    let messages: Vec<&str> = found.iter().map(|f| f.4.as_str()).collect();
    assert_eq!(
        messages,
        [
            "missing required field `name` in `spec.containers[0]`",
            "spec.containers[0].image: Required value"
        ]
    );
}

#[test]
fn restart_policy_values_and_workload_constraints() {
    one(
        &pod("").replace("spec:\n", "spec:\n  restartPolicy: Sometimes\n"),
        "field-not-supported",
        6,
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
    );
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {app: d}}\n  template:\n    metadata: {labels: {app: d}}\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n";
    one(
        deployment,
        "field-not-supported",
        9,
        "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
    );
    for kind in ["ReplicaSet", "StatefulSet", "DaemonSet"] {
        let yaml = deployment.replace("Deployment", kind);
        assert!(
            findings(&yaml)
                .iter()
                .any(|f| f.4.contains("supported values: \"Always\"")),
            "{kind}"
        );
    }
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: busybox}]\n";
    one(
        job,
        "field-not-supported",
        6,
        "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
    );
    clean(&job.replace("    spec:\n", "    spec:\n      restartPolicy: OnFailure\n"));
    let rc = "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: r}\nspec:\n  template:\n    metadata: {labels: {app: r}}\n    spec:\n      restartPolicy: OnFailure\n      containers: [{name: c, image: busybox}]\n";
    assert_eq!(findings(rc).len(), 1);
}

#[test]
fn init_containers_have_no_probes_or_hooks_unless_sidecars() {
    let base = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: app, image: busybox}]\n  initContainers:\n  - name: init\n    image: busybox\n";
    one(
        &format!("{base}    readinessProbe: {{tcpSocket: {{port: 80}}}}\n"),
        "field-forbidden",
        9,
        "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
    );
    one(
        &format!("{base}    lifecycle: {{preStop: {{sleep: {{seconds: 1}}}}}}\n"),
        "field-forbidden",
        9,
        "spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always",
    );
    clean(&format!(
        "{base}    restartPolicy: Always\n    readinessProbe: {{tcpSocket: {{port: 80}}}}\n"
    ));
    one(
        &format!("{base}    restartPolicy: Never\n"),
        "field-not-supported",
        9,
        "spec.initContainers[0].restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
    );
}

#[test]
fn sleep_hooks_fit_in_the_grace_period() {
    one(
        &pod("lifecycle:\n  preStop:\n    sleep: {seconds: 31}"),
        "field-invalid",
        11,
        "spec.containers[0].lifecycle.preStop.sleep.seconds: Invalid value: 31: must be non-negative and less than terminationGracePeriodSeconds (30)",
    );
    clean(&pod("lifecycle:\n  preStop:\n    sleep: {seconds: 30}"));
}

#[test]
fn tcp_socket_hooks_are_accepted_but_fail_at_run_time() {
    let found = findings(&pod("lifecycle:\n  postStart:\n    tcpSocket: {port: 80}"));
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].0, found[0].1.as_str()),
        (Severity::Warning, "runtime-failure")
    );
    assert!(
        found[0]
            .4
            .contains("the container is killed (FailedPostStartHook)")
    );
}

#[test]
fn exec_needs_a_command() {
    one(
        &pod("livenessProbe:\n  exec: {}"),
        "field-required",
        10,
        "spec.containers[0].livenessProbe.exec.command: Required value",
    );
}

#[test]
fn labels_and_annotations_are_string_maps() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    version: 1.0\n  annotations:\n    replicas: 3\nspec:\n  containers: [{name: c, image: busybox}]\n";
    let found = findings(yaml);
    assert_eq!(
        found
            .iter()
            .map(|f| (f.2, f.4.as_str()))
            .collect::<Vec<_>>(),
        [
            (
                6,
                "`metadata.labels[version]` must be a string, not number 1"
            ),
            (
                8,
                "`metadata.annotations[replicas]` must be a string, not integer 3"
            ),
        ]
    );
    let report = analyze(Source::new("t.yaml", yaml));
    assert_eq!(
        report.diagnostics[0].help.as_deref(),
        Some("quote it: \"1.0\" (YAML reads 1.0 unquoted as number)")
    );
    let bad_key = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    \"-bad\": x\nspec:\n  containers: [{name: c, image: busybox}]\n";
    let found = findings(bad_key);
    assert_eq!(
        (found.len(), found[0].2, found[0].3),
        (1, 6, 5),
        "{found:?}"
    );
}

#[test]
fn selector_must_match_the_template() {
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: db}\n    spec:\n      containers: [{name: c, image: busybox}]\n";
    one(
        yaml,
        "field-invalid",
        8,
        "spec.template.metadata.labels: Invalid value: {\"app\":\"db\"}: `selector` does not match template `labels`",
    );
}

#[test]
fn kinds_and_api_versions() {
    // A ConfigMap is an input to pods; a ServiceAccount is checked and noted, not run.
    let report = analyze(Source::new(
        "t.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    ));
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    assert_eq!(report.inputs.len(), 1);
    let found = findings("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s}\n");
    assert_eq!(
        (found[0].0, found[0].1.as_str(), found[0].4.as_str()),
        (
            Severity::Note,
            "not-run",
            "not run by podlife: ServiceAccount s"
        )
    );
    let report = analyze(Source::new(
        "t.yaml",
        "apiVersion: v1\nkind: pod\nmetadata: {name: c}\n",
    ));
    assert!(
        report.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `Pod`?")
    );
    one(
        "apiVersion: v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {app: d}}\n  template:\n    metadata: {labels: {app: d}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
        "unknown-api-version",
        1,
        "`v1` does not serve Deployment",
    );
}

#[test]
fn legacy_api_versions_are_read_with_a_warning() {
    // extensions/v1beta1 defaulted the selector from the template labels; apps/v1 needs it.
    let yaml = "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata: {labels: {app: d}}\n    spec: {containers: [{name: c, image: busybox}]}\n";
    let report = analyze(Source::new("t.yaml", yaml));
    assert_eq!(report.errors(), 0, "{:#?}", report.diagnostics);
    assert_eq!(report.warnings(), 1);
    assert!(
        report.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("defaulted from the template's labels")
    );
    let apps_v1 = yaml.replace("extensions/v1beta1", "apps/v1");
    assert_eq!(
        findings(&apps_v1)[0].4,
        "missing required field `selector` in `spec`"
    );
}

#[test]
fn lists_hold_objects() {
    let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec: {containers: [{name: c, image: busybox}]}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n  spec: {containers: [{name: c, image: busybox, prots: []}]}\n";
    let report = analyze(Source::new("t.yaml", yaml));
    assert_eq!(report.manifests.len(), 2);
    assert_eq!(report.diagnostics.len(), 1);
    let d = &report.diagnostics[0];
    assert_eq!(
        d.message,
        "unknown field `prots` in `items[1].spec.containers[0]`"
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `ports`?"));
    assert_eq!(d.at.map(|a| (a.line, a.column)), Some((11, 49)));
}

#[test]
fn duplicate_keys_and_wrong_types() {
    let yaml = pod("ports:\n- containerPort: \"80\"\nimage: other");
    let found = findings(&yaml);
    assert_eq!(
        found
            .iter()
            .map(|f| (f.1.as_str(), f.2, f.4.as_str()))
            .collect::<Vec<_>>(),
        [
            (
                "wrong-type",
                10,
                "`spec.containers[0].ports[0].containerPort` must be a number, not string \"80\""
            ),
            (
                "duplicate-key",
                11,
                "duplicate field `image` in `spec.containers[0]`"
            ),
        ]
    );
}

#[test]
fn volume_mounts_name_a_volume() {
    one(
        &pod("volumeMounts:\n- {name: data, mountPath: /data}"),
        "field-not-found",
        10,
        "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
    );
}

#[test]
fn misplaced_fields_point_where_they_belong() {
    let yaml = pod("terminationGracePeriodSeconds: 10");
    let report = analyze(Source::new("t.yaml", yaml));
    assert_eq!(
        report.diagnostics[0].help.as_deref(),
        Some(
            "`terminationGracePeriodSeconds` is a field of the PodSpec in `spec`, not of a Container: move it there"
        )
    );
    let report = analyze(Source::new(
        "t.yaml",
        pod("livenessProbe:\n  initialDelay: 5\n  exec: {command: [ls]}"),
    ));
    assert_eq!(
        report.diagnostics[0].help.as_deref(),
        Some("did you mean `initialDelaySeconds`?")
    );
}

#[test]
fn services() {
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: s}\n  ports:\n  - {port: 80}\n  - {port: 8080, targetPort: 0}\n";
    let found = findings(yaml);
    assert_eq!(
        found.iter().map(|f| f.4.as_str()).collect::<Vec<_>>(),
        [
            "spec.ports[0].name: Required value",
            "spec.ports[1].name: Required value",
            "spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        ]
    );
}

#[test]
fn pod_inputs_follow_their_api_rules() {
    one(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  password: not base64!\n",
        "field-invalid",
        5,
        "`data[password]` is not base64: Invalid symbol 32, offset 3.",
    );
    one(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: tls}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: x\n",
        "field-required",
        1,
        "data[tls.key]: Required value",
    );
    one(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\nbinaryData: {a: eA==}\n",
        "field-invalid",
        4,
        "data[a]: Invalid value: \"a\": duplicate of key \"a\" present in `binaryData`",
    );
    one(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: Data_1}\nspec:\n  accessModes: [ReadWriteSometimes]\n  resources: {requests: {storage: 1Gi}}\n",
        "field-not-supported",
        5,
        "spec.accessModes[0]: Unsupported value: \"ReadWriteSometimes\": supported values: \"ReadWriteOnce\", \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOncePod\"",
    );
    clean("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  password: cGFzcw==\n");
}
