//! Manifests the API server accepts that podlife once rejected (issue 11), each as the
//! smallest manifest of the shape found in public repositories.

use podlife::manifest::{FileReport, Source, analyze};

fn report(yaml: &str) -> FileReport {
    analyze(Source::new("t.yaml", yaml))
}

/// Asserts that `yaml` has no finding at all and yields `objects` runnable objects.
fn clean(yaml: &str, objects: usize) -> FileReport {
    let report = report(yaml);
    let found: Vec<String> = report
        .diagnostics
        .iter()
        .map(|d| format!("{:?} {} {}", d.severity, d.code, d.message))
        .collect();
    assert!(found.is_empty(), "for:\n{yaml}\nfound {found:#?}");
    assert_eq!(report.manifests.len(), objects, "objects of:\n{yaml}");
    report
}

/// Issue item 1: a StatefulSet's claim templates are volumes its pods get, so mounts may name
/// them.
#[test]
fn statefulset_mounts_its_volume_claim_templates() {
    clean(
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
"#,
        1,
    );
}

/// Issue item 1b: … also when the template declares volumes of its own.
#[test]
fn statefulset_mounts_claim_templates_next_to_its_own_volumes() {
    clean(
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: db
        image: postgres
        volumeMounts:
        - {name: data, mountPath: /var/lib/postgresql/data}
        - {name: config, mountPath: /etc/postgresql}
      volumes:
      - name: config
        emptyDir: {}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 10Gi}}
"#,
        1,
    );
    // A mount that names neither is still found.
    let report = report(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec:\n  serviceName: s\n  selector: {matchLabels: {app: s}}\n  template:\n    metadata: {labels: {app: s}}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n        volumeMounts: [{name: wwww, mountPath: /x}]\n  volumeClaimTemplates:\n  - metadata: {name: www}\n    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
    );
    let codes: Vec<&str> = report.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["field-not-found"]);
}

/// Issue item 2: a here-document inside a container script (a YAML block scalar) is the
/// script's, not a shell wrapper around the file.
#[test]
fn heredoc_in_a_block_scalar_is_part_of_the_script() {
    clean(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: writer
spec:
  initContainers:
  - name: config
    image: busybox
    command:
    - sh
    - -c
    - |
      cat << 'EOF' > /config/app.conf
      listen 8080
      log stdout
      EOF
      cat <<EOF >> /config/app.conf
      started $(date)
      EOF
    volumeMounts:
    - {name: config, mountPath: /config}
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "cat /config/app.conf; sleep 3600"]
    volumeMounts:
    - {name: config, mountPath: /config}
  volumes:
  - name: config
    emptyDir: {}
"#,
        1,
    );
}

/// Issue item 2b: … and in a plain list item of a command (`- cat << EOF` is YAML, not shell).
#[test]
fn heredoc_in_a_list_item_is_yaml() {
    clean(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    args:\n    - cat << EOF > /tmp/x\n      EOF\n",
        1,
    );
}

/// Issue item 3: go-yaml v2, which Kubernetes reads YAML with, accepts `\'` in double quotes.
#[test]
fn escaped_apostrophe_in_double_quotes() {
    let report = clean(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    note: \"it\\'s \\\"here\\\" \\\\ now\"\nspec:\n  containers:\n  - name: c\n    image: busybox\n    args: [\"sh\", \"-c\", \"echo \\'hi\\'\"]\n",
        1,
    );
    let pod = &report.manifests[0].object;
    let note = &pod.metadata().annotations.as_ref().unwrap()["note"];
    assert_eq!(note, "it's \"here\" \\ now");
}

/// Issue item 4: tabs are JSON whitespace; `json.dumps(indent="\t")` output is valid.
#[test]
fn tab_indented_json() {
    clean(
        "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Pod\",\n\t\"metadata\": {\n\t\t\"name\": \"p\"\n\t},\n\t\"spec\": {\n\t\t\"containers\": [\n\t\t\t{\n\t\t\t\t\"name\": \"c\",\n\t\t\t\t\"image\": \"busybox\"\n\t\t\t}\n\t\t]\n\t}\n}\n",
        1,
    );
}

/// Issue item 5: `securityContext.cgroupOptions` is not in the schema's release: the report
/// says which release has it.
#[test]
fn cgroup_options_says_which_release_has_it() {
    let report = report(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    securityContext:\n      cgroupOptions: {mountMode: Writable}\n",
    );
    assert_eq!(report.diagnostics.len(), 1, "{:?}", report.diagnostics);
    let d = &report.diagnostics[0];
    assert_eq!(d.code.as_str(), "unknown-field");
    assert!(
        d.message.contains("not in Kubernetes 1.37"),
        "{}",
        d.message
    );
    assert!(d.help.as_deref().unwrap().contains("1.38"), "{:?}", d.help);
}
