//! Rules for pod specs and containers (`ValidatePodSpec`, `validateContainers`,
//! `validateInitContainers` in Kubernetes' `pkg/apis/core/validation`).

use std::collections::HashSet;

use k8s_openapi::api::core::v1::{Container, ContainerPort, PodSpec, Volume};

use super::names::{is_dns1123_label, is_env_var_name, is_valid_port_name};
use super::probe::{ProbeKind, validate_lifecycle, validate_probe};
use super::{ErrorKind, FieldError, PROTOCOLS, one_of, port_number};
use crate::manifest::field::FieldPath;

/// Pod restart policies.
pub const RESTART_POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];
/// Kubernetes' default `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE_PERIOD: i64 = 30;

/// Which list a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerRole {
    App,
    /// A regular init container: runs to completion before the app containers.
    Init,
    /// An init container with `restartPolicy: Always`.
    Sidecar,
}

/// What a container's rules need to know about its pod. `None` means unknown (a fragment).
#[derive(Debug, Clone)]
pub struct ContainerContext {
    pub role: ContainerRole,
    /// The container's declared ports, for named probe and hook ports.
    pub ports: Option<Vec<ContainerPort>>,
    /// The pod's volume names, for volume mounts.
    pub volumes: Option<Vec<String>>,
    /// The pod's grace period, bounding `sleep` hooks.
    pub grace_period: i64,
    /// `spec.os.name`: `Some(None)` when the pod sets none.
    pub os_name: Option<Option<String>>,
}

impl ContainerContext {
    /// A container pasted on its own.
    pub fn standalone(container: &Container) -> Self {
        Self {
            role: ContainerRole::App,
            ports: Some(container.ports.clone().unwrap_or_default()),
            volumes: None,
            grace_period: DEFAULT_GRACE_PERIOD,
            os_name: None,
        }
    }

    /// A probe or lifecycle pasted without its container.
    pub fn unknown() -> Self {
        Self {
            role: ContainerRole::App,
            ports: None,
            volumes: None,
            grace_period: DEFAULT_GRACE_PERIOD,
            os_name: None,
        }
    }
}

pub fn validate_pod_spec(spec: &PodSpec, path: &FieldPath, errors: &mut Vec<FieldError>) {
    validate_pod_spec_with(spec, path, &[], errors);
}

/// A pod spec whose pods also get the volumes `added` by their controller (a StatefulSet's
/// `volumeClaimTemplates`), which volume mounts may name.
pub fn validate_pod_spec_with(
    spec: &PodSpec,
    path: &FieldPath,
    added: &[String],
    errors: &mut Vec<FieldError>,
) {
    one_of(
        spec.restart_policy.as_deref(),
        path.child("restartPolicy"),
        &RESTART_POLICIES,
        errors,
    );
    if let Some(grace) = spec.termination_grace_period_seconds.filter(|g| *g < 0) {
        errors.push(FieldError::invalid(
            path.child("terminationGracePeriodSeconds"),
            grace,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(deadline) = spec.active_deadline_seconds.filter(|d| *d < 1) {
        errors.push(FieldError::invalid(
            path.child("activeDeadlineSeconds"),
            deadline,
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    if let Some(os) = &spec.os {
        one_of(
            Some(&os.name),
            path.child("os").child("name"),
            &["linux", "windows"],
            errors,
        );
    }
    let mut volumes = validate_volumes(spec.volumes.as_deref().unwrap_or(&[]), path, errors);
    volumes.extend(
        added
            .iter()
            .filter(|a| !volumes.contains(a))
            .cloned()
            .collect::<Vec<_>>(),
    );

    if spec.containers.is_empty() {
        errors.push(
            FieldError::required(path.child("containers"), "")
                .help("a pod needs at least one container"),
        );
    }
    let grace = spec
        .termination_grace_period_seconds
        .unwrap_or(DEFAULT_GRACE_PERIOD)
        .max(0);
    let os_name = Some(spec.os.as_ref().map(|os| os.name.clone()));
    let mut names: HashSet<&str> = HashSet::new();
    let lists = [
        (
            "initContainers",
            spec.init_containers.as_deref().unwrap_or(&[]),
            true,
        ),
        ("containers", spec.containers.as_slice(), false),
    ];
    for (list, containers, init) in lists {
        for (i, container) in containers.iter().enumerate() {
            let cpath = path.child(list).index(i);
            if !container.name.is_empty() && !names.insert(&container.name) {
                errors.push(
                    FieldError::new(
                        cpath.child("name"),
                        ErrorKind::Duplicate(format!("{:?}", container.name)),
                        "",
                    )
                    .help("container names must be unique across initContainers and containers"),
                );
            }
            let role = match (init, container.restart_policy.as_deref()) {
                (false, _) => ContainerRole::App,
                (true, Some("Always")) => ContainerRole::Sidecar,
                (true, _) => ContainerRole::Init,
            };
            let ctx = ContainerContext {
                role,
                ports: Some(container.ports.clone().unwrap_or_default()),
                volumes: Some(volumes.clone()),
                grace_period: grace,
                os_name: os_name.clone(),
            };
            validate_container(container, &cpath, &ctx, errors);
        }
    }
}

fn validate_volumes(
    volumes: &[Volume],
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    let mut seen = HashSet::new();
    for (i, volume) in volumes.iter().enumerate() {
        let vpath = path.child("volumes").index(i);
        if volume.name.is_empty() {
            errors.push(FieldError::required(vpath.child("name"), ""));
        } else if let Err(reasons) = is_dns1123_label(&volume.name) {
            errors.push(FieldError::invalid(
                vpath.child("name"),
                format!("{:?}", volume.name),
                reasons.join("; "),
            ));
        } else if !seen.insert(volume.name.as_str()) {
            errors.push(FieldError::new(
                vpath.child("name"),
                ErrorKind::Duplicate(format!("{:?}", volume.name)),
                "",
            ));
        }
        let json = serde_json::to_value(volume).unwrap_or_default();
        let sources: Vec<&String> = json
            .as_object()
            .map(|o| o.keys().filter(|k| *k != "name").collect())
            .unwrap_or_default();
        if sources.len() > 1 {
            errors.push(FieldError::forbidden(
                vpath.child(sources[1]),
                "may not specify more than 1 volume type",
            ));
        }
    }
    volumes.iter().map(|v| v.name.clone()).collect()
}

pub fn validate_container(
    container: &Container,
    path: &FieldPath,
    ctx: &ContainerContext,
    errors: &mut Vec<FieldError>,
) {
    if !container.name.is_empty()
        && let Err(reasons) = is_dns1123_label(&container.name)
    {
        errors.push(FieldError::invalid(
            path.child("name"),
            format!("{:?}", container.name),
            reasons.join("; "),
        ));
    }
    if container
        .image
        .as_deref()
        .is_none_or(|i| i.trim().is_empty())
    {
        errors.push(
            FieldError::required(path.child("image"), "")
                .help("name the image the container runs, e.g. `image: busybox:1.36`"),
        );
    }
    validate_ports(container.ports.as_deref().unwrap_or(&[]), path, errors);
    for (i, env) in container.env.iter().flatten().enumerate() {
        let epath = path.child("env").index(i);
        if let Err(reasons) = is_env_var_name(&env.name) {
            errors.push(FieldError::invalid(
                epath.child("name"),
                format!("{:?}", env.name),
                reasons.join("; "),
            ));
        }
        if env.value.as_deref().is_some_and(|v| !v.is_empty()) && env.value_from.is_some() {
            errors.push(FieldError::invalid(
                epath.child("valueFrom"),
                "",
                "may not be specified when `value` is not empty",
            ));
        }
    }
    let mut mount_paths = HashSet::new();
    for (i, mount) in container.volume_mounts.iter().flatten().enumerate() {
        let mpath = path.child("volumeMounts").index(i);
        if let Some(volumes) = &ctx.volumes
            && !mount.name.is_empty()
            && !volumes.contains(&mount.name)
        {
            let help = if volumes.is_empty() {
                "the pod declares no volumes; add one under `spec.volumes` (e.g. `- name: data` with `emptyDir: {}`)".to_owned()
            } else {
                format!("the pod's volumes are {}", volumes.join(", "))
            };
            errors.push(
                FieldError::new(
                    mpath.child("name"),
                    ErrorKind::NotFound(format!("{:?}", mount.name)),
                    "",
                )
                .help(help),
            );
        }
        if mount.mount_path.is_empty() {
            errors.push(FieldError::required(mpath.child("mountPath"), ""));
        } else if !mount_paths.insert(mount.mount_path.as_str()) {
            errors.push(FieldError::invalid(
                mpath.child("mountPath"),
                format!("{:?}", mount.mount_path),
                "must be unique",
            ));
        }
    }
    one_of(
        container.image_pull_policy.as_deref(),
        path.child("imagePullPolicy"),
        &["Always", "IfNotPresent", "Never"],
        errors,
    );
    one_of(
        container.termination_message_policy.as_deref(),
        path.child("terminationMessagePolicy"),
        &["File", "FallbackToLogsOnError"],
        errors,
    );
    if let Some(policy) = &container.restart_policy {
        match ctx.role {
            ContainerRole::App => errors.push(
                FieldError::forbidden(
                    path.child("restartPolicy"),
                    "may not be set for non-init containers",
                )
                .help("the pod's `spec.restartPolicy` decides restarts of app containers"),
            ),
            _ if policy != "Always" => errors.push(FieldError::not_supported(
                path.child("restartPolicy"),
                policy,
                &["Always"],
            )),
            _ => {}
        }
    }
    let probes = [
        (
            "livenessProbe",
            &container.liveness_probe,
            ProbeKind::Liveness,
        ),
        (
            "readinessProbe",
            &container.readiness_probe,
            ProbeKind::Readiness,
        ),
        ("startupProbe", &container.startup_probe, ProbeKind::Startup),
    ];
    for (name, probe, kind) in probes {
        let Some(probe) = probe else { continue };
        if ctx.role == ContainerRole::Init {
            errors.push(init_forbidden(path.child(name)));
            continue;
        }
        validate_probe(probe, kind, &path.child(name), ctx, errors);
    }
    if let Some(lifecycle) = &container.lifecycle {
        if ctx.role == ContainerRole::Init {
            errors.push(init_forbidden(path.child("lifecycle")));
        } else {
            validate_lifecycle(lifecycle, &path.child("lifecycle"), ctx, errors);
        }
    }
}

fn init_forbidden(path: FieldPath) -> FieldError {
    FieldError::forbidden(
        path,
        "may not be set for init containers without restartPolicy=Always",
    )
    .help(
        "an init container runs to completion before the app starts, so it has no probes or hooks; \
         make it a sidecar with `restartPolicy: Always` if it must keep running",
    )
}

fn validate_ports(ports: &[ContainerPort], path: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let ppath = path.child("ports").index(i);
        port_number(port.container_port, ppath.child("containerPort"), errors);
        if let Some(host) = port.host_port.filter(|p| *p != 0) {
            port_number(host, ppath.child("hostPort"), errors);
        }
        if let Some(name) = &port.name {
            if let Err(reasons) = is_valid_port_name(name) {
                errors.push(FieldError::invalid(
                    ppath.child("name"),
                    format!("{name:?}"),
                    reasons.join("; "),
                ));
            } else if !names.insert(name.as_str()) {
                errors.push(FieldError::new(
                    ppath.child("name"),
                    ErrorKind::Duplicate(format!("{name:?}")),
                    "",
                ));
            }
        }
        one_of(
            port.protocol.as_deref(),
            ppath.child("protocol"),
            &PROTOCOLS,
            errors,
        );
    }
}
