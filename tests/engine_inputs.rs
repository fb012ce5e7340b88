//! What pods consume besides their spec, on both runtimes (docs/semantics.md §10): ConfigMaps
//! and Secrets as environment variables and as files, the downward API, a claim's storage that
//! the next pod under the same claim finds again, and the kubelet's errors when a source is
//! missing.

#[macro_use]
mod common;

use std::time::Duration;

use common::{Harness, events, timeline};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};

const LIMIT: Duration = Duration::from_secs(15);

fn config_map(data: serde_json::Value) -> ConfigMap {
    serde_json::from_value(serde_json::json!({"metadata": {"name": "settings"}, "data": data}))
        .unwrap()
}

fn secret() -> Secret {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "creds"},
        "stringData": {"password": "hunter2"}
    }))
    .unwrap()
}

/// Waits until the scratch file `name` holds something, and returns it.
async fn written(h: &Harness, name: &str) -> String {
    h.file(name).await;
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let text = h.read(name);
        if !text.is_empty() || tokio::time::Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

conformance! {
    /// A container reads a ConfigMap's keys as files and as variables, a Secret's key as a
    /// variable, and its own name and IP through the downward API.
    async fn config_maps_secrets_and_the_downward_api_reach_the_container(h, scale = 0.5, feature = "Pod inputs: ConfigMaps, Secrets, downward API, claims") {
        h.engine.apply_config_map(&config_map(serde_json::json!({"MODE": "fast", "app.properties": "threads=4\n"})));
        h.engine.apply_secret(&secret());
        h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: consumer, labels: {tier: front}}
    spec:
      restartPolicy: Never
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "cat /etc/app/app.properties > $OUT/props; echo \"$CFG_MODE $PASSWORD $NAME $KUBERNETES_SERVICE_PORT\" > $OUT/env.tmp; cat /etc/info/tier > $OUT/tier; mv $OUT/env.tmp $OUT/env"]
        envFrom: [{configMapRef: {name: settings}, prefix: CFG_}]
        env:
        - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
        - {name: NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        volumeMounts:
        - {name: config, mountPath: /etc/app}
        - {name: info, mountPath: /etc/info}
      volumes:
      - {name: config, configMap: {name: settings}}
      - name: info
        downwardAPI: {items: [{path: tier, fieldRef: {fieldPath: "metadata.labels['tier']"}}]}
    "#,
        );
        if !h.isolation() {
            h.unsupported("volumes are mounted at their mountPath only as root");
            return;
        }
        assert_eq!(written(&h, "env").await.trim(), "fast hunter2 consumer 443", "{}", timeline(&h.records()));
        assert_eq!(h.read("props"), "threads=4\n");
        assert_eq!(h.read("tier"), "front");
    }
}

conformance! {
    /// A missing ConfigMap key is the kubelet's `CreateContainerConfigError`; once the
    /// ConfigMap has it, the container starts.
    async fn a_missing_key_waits_in_create_container_config_error(h, scale = 0.1, feature = "Pod inputs: ConfigMaps, Secrets, downward API, claims") {
        h.engine.apply_config_map(&config_map(serde_json::json!({"OTHER": "x"})));
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: early}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "echo $MODE > $OUT/mode; sleep 300"]
        env:
        - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: MODE}}}
    "#,
        );
        let pod = &pods[0];
        h.until(LIMIT, "CreateContainerConfigError", |_| {
            h.engine.status(pod).and_then(|s| s.container_statuses).is_some_and(|c| {
                c[0].state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref())
                    == Some("CreateContainerConfigError")
            })
        })
        .await;
        let records = h.records();
        assert!(
            events(&records, "Failed").iter().any(|r| r.event().unwrap().message
                == "Error: couldn't find key MODE in ConfigMap default/settings"),
            "{}",
            timeline(&records)
        );
        h.engine.apply_config_map(&config_map(serde_json::json!({"MODE": "late"})));
        assert_eq!(written(&h, "mode").await.trim(), "late");
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// A volume whose ConfigMap does not exist yet holds the pod in ContainerCreating with
    /// `FailedMount` warnings; it starts once the ConfigMap is applied.
    async fn a_missing_volume_source_holds_the_pod_until_it_exists(h, scale = 0.1, feature = "Pod inputs: ConfigMaps, Secrets, downward API, claims") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: mounting}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "touch $OUT/started; sleep 300"]
        volumeMounts: [{name: config, mountPath: /etc/app}]
      volumes:
      - {name: config, configMap: {name: settings}}
    "#,
        );
        let pod = &pods[0];
        h.until(LIMIT, "FailedMount", |r| !events(r, "FailedMount").is_empty()).await;
        let records = h.records();
        assert_eq!(
            events(&records, "FailedMount")[0].event().unwrap().message,
            "MountVolume.SetUp failed for volume \"config\" : configmap \"settings\" not found"
        );
        assert_eq!(h.phase(pod), "Pending");
        h.engine.apply_config_map(&config_map(serde_json::json!({"k": "v"})));
        h.file("started").await;
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// A claim's storage outlives the pod: a pod that mounts the same claim after it finds
    /// what the first one wrote (as a StatefulSet's recreated pod finds its volume again).
    async fn a_claims_storage_outlives_the_pod(h, scale = 0.2, feature = "Pod inputs: ConfigMaps, Secrets, downward API, claims") {
        let pod = |name: &str, script: &str| {
            format!(
                r#"
    apiVersion: v1
    kind: Pod
    metadata: {{name: {name}}}
    spec:
      restartPolicy: Never
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "{script}"]
        volumeMounts: [{{name: data, mountPath: /data}}]
      volumes:
      - {{name: data, persistentVolumeClaim: {{claimName: www-web-0}}}}
    "#
            )
        };
        if !h.isolation() {
            h.unsupported("volumes are mounted at their mountPath only as root");
            return;
        }
        let first = h.apply(&pod("writer", "echo kept > /data/note"));
        h.until(LIMIT, "writer finished", |r| {
            r.iter().any(|r| r.pod == first[0] && matches!(r.observation(), Some(podlife::engine::Observation::PodFinished)))
        })
        .await;
        h.apply(&pod("reader", "cat /data/note > $OUT/note.tmp; mv $OUT/note.tmp $OUT/note"));
        assert_eq!(written(&h, "note").await.trim(), "kept");
    }
}
