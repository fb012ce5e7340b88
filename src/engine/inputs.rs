//! What a pod consumes besides its own spec, resolved as the kubelet resolves it: ConfigMaps and
//! Secrets as environment variables (`env[].valueFrom`, `envFrom`) and as volumes, the downward
//! API (`fieldRef`, `resourceFieldRef`) as both, and PersistentVolumeClaims as storage that
//! outlives the pod (docs/semantics.md §10).
//!
//! Sources: `makeEnvironmentVariables` (`pkg/kubelet/kubelet_pods.go`), `podFieldSelectorRuntimeValue`,
//! the configmap / secret / downwardapi volume plugins (`pkg/volume/…`), and their messages.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use k8s_openapi::api::core::v1::{
    ConfigMap, Container, KeyToPath, ObjectFieldSelector, Pod, ResourceFieldSelector, Secret,
    Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::spec::expand_env;
use crate::runtime::{VolumeFile, VolumeSource, VolumeSpec};

/// The kubelet's default file mode for ConfigMap, Secret and downward API volumes.
const DEFAULT_MODE: u32 = 0o644;

/// The ConfigMaps and Secrets applied so far, by namespace and name.
#[derive(Debug, Default)]
pub struct Inputs {
    config_maps: BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>,
    secrets: BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>,
}

/// Shared between the engine (which applies) and pod workers (which read).
pub type SharedInputs = Arc<RwLock<Inputs>>;

fn key(namespace: Option<&str>, name: Option<&str>) -> (String, String) {
    (
        namespace.unwrap_or("default").to_owned(),
        name.unwrap_or_default().to_owned(),
    )
}

impl Inputs {
    /// Adds (or replaces) a ConfigMap: its `data` and `binaryData` keys.
    pub fn add_config_map(&mut self, map: &ConfigMap) {
        let mut data: BTreeMap<String, Vec<u8>> = map
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
            .collect();
        data.extend(
            map.binary_data
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.0.clone())),
        );
        let meta = &map.metadata;
        self.config_maps
            .insert(key(meta.namespace.as_deref(), meta.name.as_deref()), data);
    }

    /// Adds (or replaces) a Secret: its `data` (decoded) and `stringData` keys, the latter
    /// winning as the API server merges them.
    pub fn add_secret(&mut self, secret: &Secret) {
        let mut data: BTreeMap<String, Vec<u8>> = secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect();
        data.extend(
            secret
                .string_data
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone().into_bytes())),
        );
        let meta = &secret.metadata;
        self.secrets
            .insert(key(meta.namespace.as_deref(), meta.name.as_deref()), data);
    }

    fn source(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Option<&BTreeMap<String, Vec<u8>>> {
        let key = (namespace.to_owned(), name.to_owned());
        match kind {
            Kind::ConfigMap => self.config_maps.get(&key),
            Kind::Secret => self.secrets.get(&key),
        }
    }

    /// A container's own variables (`envFrom` in order, then `env`, later ones winning), with
    /// `$(VAR)` in values expanded against those before them and `provided` (the Service
    /// variables); an error is the kubelet's `CreateContainerConfigError` message.
    pub fn env(
        &self,
        pod: &Pod,
        container: &Container,
        pod_ip: Option<IpAddr>,
        provided: &[(String, String)],
    ) -> Result<Vec<(String, String)>, String> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let mut env: Vec<(String, String)> = Vec::new();
        let set = |env: &mut Vec<(String, String)>, name: String, value: String| {
            env.retain(|(k, _)| *k != name);
            env.push((name, value));
        };
        for from in container.env_from.iter().flatten() {
            let (kind, name, optional) = match (&from.config_map_ref, &from.secret_ref) {
                (Some(r), _) => (Kind::ConfigMap, r.name.as_str(), r.optional),
                (None, Some(r)) => (Kind::Secret, r.name.as_str(), r.optional),
                (None, None) => continue,
            };
            match self.source(kind, namespace, name) {
                Some(data) => {
                    let prefix = from.prefix.clone().unwrap_or_default();
                    for (k, v) in data {
                        set(
                            &mut env,
                            format!("{prefix}{k}"),
                            String::from_utf8_lossy(v).into_owned(),
                        );
                    }
                }
                None if optional == Some(true) => {}
                None => return Err(format!("{kind} {name:?} not found")),
            }
        }
        for var in container.env.iter().flatten() {
            let value = match (&var.value, &var.value_from) {
                (_, Some(from)) => {
                    if let Some(r) = &from.config_map_key_ref {
                        self.key_ref(Kind::ConfigMap, namespace, &r.name, &r.key, r.optional)?
                    } else if let Some(r) = &from.secret_key_ref {
                        self.key_ref(Kind::Secret, namespace, &r.name, &r.key, r.optional)?
                    } else if let Some(field) = &from.field_ref {
                        Some(field_value(pod, field, pod_ip)?)
                    } else if let Some(resource) = &from.resource_field_ref {
                        Some(resource_value(pod, Some(container), resource)?)
                    } else {
                        None
                    }
                }
                (Some(value), None) => {
                    let known: Vec<(String, String)> =
                        provided.iter().chain(env.iter()).cloned().collect();
                    Some(expand_env(value, &known))
                }
                (None, None) => Some(String::new()),
            };
            if let Some(value) = value {
                set(&mut env, var.name.clone(), value);
            }
        }
        Ok(env)
    }

    /// One key of a ConfigMap or Secret; `None` when it is optional and missing.
    fn key_ref(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        key: &str,
        optional: Option<bool>,
    ) -> Result<Option<String>, String> {
        let optional = optional == Some(true);
        match self.source(kind, namespace, name) {
            Some(data) => match data.get(key) {
                Some(v) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
                None if optional => Ok(None),
                None => Err(format!(
                    "couldn't find key {key} in {} {namespace}/{name}",
                    kind.title()
                )),
            },
            None if optional => Ok(None),
            None => Err(format!("{kind} {name:?} not found")),
        }
    }

    /// The pod's volumes as the runtime makes them; an error is the kubelet's `FailedMount`
    /// message (the pod waits until the source exists).
    pub fn volumes(&self, pod: &Pod) -> Result<Vec<VolumeSpec>, String> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let spec = pod.spec.clone().unwrap_or_default();
        spec.volumes
            .iter()
            .flatten()
            .map(|volume| {
                Ok(VolumeSpec {
                    name: volume.name.clone(),
                    source: self.volume_source(pod, namespace, volume).map_err(|e| {
                        format!(
                            "MountVolume.SetUp failed for volume {:?} : {e}",
                            volume.name
                        )
                    })?,
                })
            })
            .collect()
    }

    fn volume_source(
        &self,
        pod: &Pod,
        namespace: &str,
        volume: &Volume,
    ) -> Result<VolumeSource, String> {
        let keyed = |kind: Kind,
                     name: &str,
                     items: &Option<Vec<KeyToPath>>,
                     mode: Option<i32>,
                     optional: Option<bool>| {
            let mode = mode.map_or(DEFAULT_MODE, |m| m as u32);
            let Some(data) = self.source(kind, namespace, name) else {
                return if optional == Some(true) {
                    Ok(VolumeSource::Files(Vec::new()))
                } else {
                    Err(format!("{kind} {name:?} not found"))
                };
            };
            let files = match items {
                None => data
                    .iter()
                    .map(|(k, v)| VolumeFile {
                        path: k.clone(),
                        content: v.clone(),
                        mode,
                    })
                    .collect(),
                Some(items) => items
                    .iter()
                    .map(|item| match data.get(&item.key) {
                        Some(v) => Ok(VolumeFile {
                            path: item.path.clone(),
                            content: v.clone(),
                            mode: item.mode.map_or(mode, |m| m as u32),
                        }),
                        None => Err(format!(
                            "configmap references non-existent config key: {}",
                            item.key
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            };
            Ok(VolumeSource::Files(files))
        };
        if let Some(c) = &volume.config_map {
            return keyed(
                Kind::ConfigMap,
                &c.name,
                &c.items,
                c.default_mode,
                c.optional,
            );
        }
        if let Some(s) = &volume.secret {
            let name = s.secret_name.clone().unwrap_or_default();
            return keyed(Kind::Secret, &name, &s.items, s.default_mode, s.optional);
        }
        if let Some(d) = &volume.downward_api {
            let mode = d.default_mode.map_or(DEFAULT_MODE, |m| m as u32);
            let files = d
                .items
                .iter()
                .flatten()
                .map(|item| {
                    let value = match (&item.field_ref, &item.resource_field_ref) {
                        (Some(field), _) => field_value(pod, field, None)?,
                        (None, Some(resource)) => resource_value(pod, None, resource)?,
                        (None, None) => String::new(),
                    };
                    Ok(VolumeFile {
                        path: item.path.clone(),
                        content: value.into_bytes(),
                        mode: item.mode.map_or(mode, |m| m as u32),
                    })
                })
                .collect::<Result<_, String>>()?;
            return Ok(VolumeSource::Files(files));
        }
        if let Some(claim) = &volume.persistent_volume_claim {
            return Ok(VolumeSource::Claim(claim.claim_name.clone()));
        }
        Ok(VolumeSource::Empty)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ConfigMap,
    Secret,
}

impl Kind {
    fn title(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
        }
    }
}

impl std::fmt::Display for Kind {
    /// As the kubelet's errors name them (`configmap "web" not found`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::ConfigMap => "configmap",
            Kind::Secret => "secret",
        })
    }
}

/// A downward API `fieldRef` (`podFieldSelectorRuntimeValue` and `ExtractFieldPathAsString`).
fn field_value(
    pod: &Pod,
    field: &ObjectFieldSelector,
    pod_ip: Option<IpAddr>,
) -> Result<String, String> {
    let meta = &pod.metadata;
    let spec = pod.spec.clone().unwrap_or_default();
    let path = field.field_path.as_str();
    let ip = || pod_ip.map(|ip| ip.to_string()).unwrap_or_default();
    let keyed = |map: &Option<BTreeMap<String, String>>, prefix: &str| -> Option<String> {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(map.as_ref()?.get(key).cloned().unwrap_or_default())
    };
    let all = |map: &Option<BTreeMap<String, String>>| -> String {
        map.iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_else(|| "default".into()),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => all(&meta.labels),
        "metadata.annotations" => all(&meta.annotations),
        "spec.nodeName" => "podlife".to_owned(),
        "spec.serviceAccountName" => spec
            .service_account_name
            .clone()
            .unwrap_or_else(|| "default".into()),
        "status.hostIP" | "status.hostIPs" => "127.0.0.1".to_owned(),
        "status.podIP" | "status.podIPs" => ip(),
        _ => keyed(&meta.labels, "metadata.labels['")
            .or_else(|| keyed(&meta.annotations, "metadata.annotations['"))
            .ok_or_else(|| format!("unsupported fieldPath: {path}"))?,
    })
}

/// A downward API `resourceFieldRef`: the container's limit or request, else (for limits)
/// the node's allocatable, divided by the divisor and rounded up (`ExtractResourceValueByContainerName`).
fn resource_value(
    pod: &Pod,
    container: Option<&Container>,
    field: &ResourceFieldSelector,
) -> Result<String, String> {
    let spec = pod.spec.clone().unwrap_or_default();
    let container = match (&field.container_name, container) {
        (Some(name), _) => spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .find(|c| c.name == *name)
            .cloned()
            .ok_or_else(|| format!("container {name} not found"))?,
        (None, Some(c)) => c.clone(),
        (None, None) => return Err("resourceFieldRef needs a containerName in a volume".into()),
    };
    let (set, resource) = field
        .resource
        .split_once('.')
        .ok_or_else(|| format!("unsupported container resource: {}", field.resource))?;
    let resources = container.resources.clone().unwrap_or_default();
    let declared = match set {
        "limits" => resources.limits,
        "requests" => resources.requests,
        _ => None,
    }
    .and_then(|m| m.get(resource).cloned());
    let amount = match declared {
        Some(q) => quantity(&q)?,
        None => node_allocatable(resource)?,
    };
    let divisor = field
        .divisor
        .as_ref()
        .map(quantity)
        .transpose()?
        .unwrap_or(1.0);
    let divisor = if divisor == 0.0 { 1.0 } else { divisor };
    // `convertResourceCPUToString` and its siblings: the ceiling, with no floor.
    Ok(format!("{}", (amount / divisor).ceil()))
}

/// This machine as the node: its cores and its memory.
fn node_allocatable(resource: &str) -> Result<f64, String> {
    match resource {
        "cpu" => Ok(std::thread::available_parallelism().map_or(1, |n| n.get()) as f64),
        "memory" | "ephemeral-storage" => {
            let pages = nix::unistd::sysconf(nix::unistd::SysconfVar::_PHYS_PAGES)
                .ok()
                .flatten()
                .unwrap_or(0);
            let size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
                .ok()
                .flatten()
                .unwrap_or(4096);
            Ok((pages * size) as f64)
        }
        other => Err(format!("unsupported container resource: {other}")),
    }
}

/// A resource quantity as a number (`500m` → 0.5, `64Mi` → 67108864).
fn quantity(q: &Quantity) -> Result<f64, String> {
    let text = q.0.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("not a quantity: {text:?}"))?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0f64.powi(2),
        "Gi" => 1024.0f64.powi(3),
        "Ti" => 1024.0f64.powi(4),
        _ => return Err(format!("not a quantity: {text:?}")),
    };
    Ok(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: serde_json::Value) -> Pod {
        serde_json::from_value(yaml).unwrap()
    }

    fn inputs() -> Inputs {
        let mut inputs = Inputs::default();
        inputs.add_config_map(
            &serde_json::from_value(serde_json::json!({
                "metadata": {"name": "settings"},
                "data": {"MODE": "fast", "app.properties": "a=1\n"}
            }))
            .unwrap(),
        );
        inputs.add_secret(
            &serde_json::from_value(serde_json::json!({
                "metadata": {"name": "creds"},
                "data": {"password": "aHVudGVyMg=="}
            }))
            .unwrap(),
        );
        inputs
    }

    #[test]
    fn env_from_config_maps_secrets_and_the_downward_api() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{
                "name": "app",
                "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
                "env": [
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                    {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                    {"name": "URL", "value": "http://$(IP):8080/$(CFG_MODE)"},
                    {"name": "MISSING", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": true}}}
                ]
            }]}
        }));
        let container = p.spec.as_ref().unwrap().containers[0].clone();
        let env = inputs()
            .env(&p, &container, Some("10.1.2.3".parse().unwrap()), &[])
            .unwrap();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("CFG_MODE"), Some("fast"));
        assert_eq!(get("PASSWORD"), Some("hunter2"));
        assert_eq!(get("IP"), Some("10.1.2.3"));
        assert_eq!(get("APP"), Some("web"));
        assert_eq!(get("URL"), Some("http://10.1.2.3:8080/fast"));
        assert_eq!(get("MISSING"), None);
    }

    #[test]
    fn a_missing_source_is_the_kubelets_config_error() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app", "env": [
                {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "nope"}}}
            ]}]}
        }));
        let container = p.spec.as_ref().unwrap().containers[0].clone();
        assert_eq!(
            inputs().env(&p, &container, None, &[]).unwrap_err(),
            "couldn't find key nope in ConfigMap default/settings"
        );
        let p = pod(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app", "envFrom": [{"secretRef": {"name": "gone"}}]}]}
        }));
        let container = p.spec.as_ref().unwrap().containers[0].clone();
        assert_eq!(
            inputs().env(&p, &container, None, &[]).unwrap_err(),
            "secret \"gone\" not found"
        );
    }

    #[test]
    fn volumes_hold_keys_as_files_with_their_modes() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "web", "labels": {"tier": "front"}},
            "spec": {"containers": [{"name": "app"}], "volumes": [
                {"name": "config", "configMap": {"name": "settings", "items": [{"key": "app.properties", "path": "conf/app.properties"}]}},
                {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}},
                {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "www-web-0"}},
                {"name": "scratch", "emptyDir": {}}
            ]}
        }));
        let volumes = inputs().volumes(&p).unwrap();
        let files = |i: usize| match &volumes[i].source {
            VolumeSource::Files(f) => f.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(files(0)[0].path, "conf/app.properties");
        assert_eq!(files(0)[0].content, b"a=1\n");
        assert_eq!(
            (files(1)[0].content.as_slice(), files(1)[0].mode),
            (b"hunter2".as_slice(), 0o400)
        );
        assert_eq!(files(2)[0].content, b"tier=\"front\"");
        assert_eq!(volumes[3].source, VolumeSource::Claim("www-web-0".into()));
        assert_eq!(volumes[4].source, VolumeSource::Empty);
        let missing = pod(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app"}], "volumes": [{"name": "c", "configMap": {"name": "nope"}}]}
        }));
        assert_eq!(
            inputs().volumes(&missing).unwrap_err(),
            "MountVolume.SetUp failed for volume \"c\" : configmap \"nope\" not found"
        );
    }

    #[test]
    fn quantities_and_resource_values() {
        assert_eq!(quantity(&Quantity("500m".into())).unwrap(), 0.5);
        assert_eq!(quantity(&Quantity("64Mi".into())).unwrap(), 67_108_864.0);
        let p = pod(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "64Mi"}}}]}
        }));
        let field = ResourceFieldSelector {
            resource: "limits.memory".into(),
            divisor: Some(Quantity("1Mi".into())),
            container_name: Some("app".into()),
        };
        assert_eq!(resource_value(&p, None, &field).unwrap(), "64");
    }
}
