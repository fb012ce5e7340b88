//! Workloads become the pods their controllers would create, named and labelled as
//! Kubernetes does.

use podlife::manifest::expand::{Plan, expand};
use podlife::manifest::{Kind, Source, analyze};

fn plan(yaml: &str) -> Plan {
    let report = analyze(Source::new("t.yaml", yaml));
    assert!(report.is_valid(), "{:#?}", report.diagnostics);
    expand(&report.manifests, &mut fastrand::Rng::with_seed(1))
}

fn template(kind: &str, api: &str, extra_spec: &str, restart: &str) -> String {
    format!(
        "apiVersion: {api}\nkind: {kind}\nmetadata: {{name: web}}\nspec:\n{extra_spec}  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      restartPolicy: {restart}\n      containers: [{{name: c, image: busybox}}]\n"
    )
}

fn is_suffix(s: &str) -> bool {
    s.len() == 5
        && s.bytes()
            .all(|c| b"bcdfghjklmnpqrstvwxz2456789".contains(&c))
}

#[test]
fn statefulset_pods_are_numbered() {
    let p = plan(&template(
        "StatefulSet",
        "apps/v1",
        "  replicas: 3\n  serviceName: web\n",
        "Always",
    ));
    let names: Vec<&str> = p.pods.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["web-0", "web-1", "web-2"]);
    let pod = &p.pods[1];
    assert_eq!(pod.ordinal, Some(1));
    let labels = pod.pod.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["statefulset.kubernetes.io/pod-name"], "web-1");
    assert_eq!(labels["app"], "web");
    assert_eq!(
        pod.pod.spec.as_ref().unwrap().hostname.as_deref(),
        Some("web-1")
    );
    assert_eq!(pod.owner.as_ref().unwrap().kind, Kind::StatefulSet);
}

#[test]
fn deployment_pods_carry_the_template_hash() {
    let p = plan(&template(
        "Deployment",
        "apps/v1",
        "  replicas: 2\n",
        "Always",
    ));
    assert_eq!(p.pods.len(), 2);
    let hash = p.pods[0].pod.metadata.labels.as_ref().unwrap()["pod-template-hash"].clone();
    for pod in &p.pods {
        let name = pod.name();
        let rest = name.strip_prefix(&format!("web-{hash}-")).expect(name);
        assert!(is_suffix(rest), "{name}");
        let owner = &pod.pod.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.clone()),
            ("ReplicaSet", format!("web-{hash}"))
        );
        assert_eq!(pod.owner.as_ref().unwrap().kind, Kind::Deployment);
    }
    assert_ne!(p.pods[0].name(), p.pods[1].name());
}

#[test]
fn replicasets_controllers_and_daemonsets_get_random_suffixes() {
    let rs = plan(&template(
        "ReplicaSet",
        "apps/v1",
        "  replicas: 4\n",
        "Always",
    ));
    assert_eq!(rs.pods.len(), 4);
    assert!(
        rs.pods
            .iter()
            .all(|p| is_suffix(p.name().strip_prefix("web-").unwrap()))
    );
    let ds = plan(&template("DaemonSet", "apps/v1", "", "Always"));
    assert_eq!(ds.pods.len(), 1, "one pod on our one node");
    let rc = plan(
        "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: web}\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
    );
    assert_eq!(rc.pods.len(), 2);
    assert_eq!(
        rc.pods[0].owner.as_ref().unwrap().kind,
        Kind::ReplicationController
    );
    assert_eq!(
        rc.pods[0].pod.metadata.labels.as_ref().unwrap()["app"],
        "web"
    );
}

#[test]
fn job_pods_are_labelled_with_the_job() {
    let yaml = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  parallelism: 2\n  completions: 5\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n";
    let p = plan(yaml);
    assert_eq!(p.pods.len(), 2, "at most `parallelism` pods at once");
    let labels = p.pods[0].pod.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["batch.kubernetes.io/job-name"], "once");
    assert_eq!(labels["job-name"], "once");
}

#[test]
fn bare_pods_and_services_pass_through() {
    let p = plan(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: solo, namespace: team}\nspec: {containers: [{name: c, image: busybox}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: svc}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
    );
    assert_eq!(p.pods.len(), 1);
    assert_eq!(p.pods[0].name(), "solo");
    assert_eq!(p.pods[0].pod.metadata.namespace.as_deref(), Some("team"));
    assert!(p.pods[0].owner.is_none());
    assert_eq!(p.services.len(), 1);
    assert_eq!(p.services[0].origin.at.line, 6);
}

#[test]
fn the_seed_replication_controller_makes_six_pods() {
    let report = podlife::manifest::load_file(std::path::Path::new("fixtures/inessprobe.yaml"));
    let p = expand(&report.manifests, &mut fastrand::Rng::with_seed(2));
    assert_eq!(p.pods.len(), 6);
    assert_eq!(p.services.len(), 1);
    let mut names: Vec<&str> = p.pods.iter().map(|p| p.name()).collect();
    names.dedup();
    assert_eq!(names.len(), 6);
}

#[test]
fn statefulset_claim_templates_become_each_pods_claim() {
    let p = plan(&template(
        "StatefulSet",
        "apps/v1",
        "  replicas: 2\n  serviceName: web\n  volumeClaimTemplates:\n  - metadata: {name: www}\n    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
        "Always",
    ));
    for (pod, claim) in p.pods.iter().zip(["www-web-0", "www-web-1"]) {
        let volumes = pod.pod.spec.as_ref().unwrap().volumes.clone().unwrap();
        assert_eq!(volumes.len(), 1);
        assert_eq!(volumes[0].name, "www");
        assert_eq!(
            volumes[0]
                .persistent_volume_claim
                .as_ref()
                .unwrap()
                .claim_name,
            claim
        );
    }
}
