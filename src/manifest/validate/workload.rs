//! Rules for object metadata, the workload kinds and Services (`pkg/apis/apps/validation`,
//! `pkg/apis/batch/validation`, `ValidateService`).

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::core::v1::{PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::names::{
    is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
    is_valid_label_value, is_valid_port_name,
};
use super::pod::{validate_pod_spec, validate_pod_spec_with};
use super::{ErrorKind, FieldError, PROTOCOLS, one_of, port_number};
use crate::manifest::field::FieldPath;
use crate::manifest::object::Object;
use crate::manifest::selector;
use crate::runtime::sim;

/// API rules for a whole object, with paths from the object's root.
pub fn validate_object(object: &Object) -> Vec<FieldError> {
    let root = FieldPath::root();
    let spec = root.child("spec");
    let mut errors = Vec::new();
    let name_rule = if matches!(object, Object::Service(_)) {
        is_dns1035_label
    } else {
        is_dns1123_subdomain
    };
    validate_meta(
        object.metadata(),
        name_rule,
        &root.child("metadata"),
        &mut errors,
    );
    match object {
        Object::Pod(pod) => match &pod.spec {
            Some(s) => {
                // `ValidatePodCreate`: ephemeral containers are added to running pods only.
                if s.ephemeral_containers
                    .as_ref()
                    .is_some_and(|e| !e.is_empty())
                {
                    errors.push(
                        FieldError::forbidden(spec.child("ephemeralContainers"), "cannot be set on create")
                            .help("ephemeral containers join a running pod (`kubectl debug`); move them to `containers` or drop them"),
                    );
                }
                validate_pod_spec(s, &spec, &mut errors)
            }
            None => errors.push(FieldError::required(spec, "")),
        },
        Object::Deployment(d) => {
            let s = &d.spec;
            replicas(s.replicas, &spec, &mut errors);
            non_negative(s.min_ready_seconds, "minReadySeconds", &spec, &mut errors);
            non_negative(
                s.revision_history_limit,
                "revisionHistoryLimit",
                &spec,
                &mut errors,
            );
            if let Some(deadline) = s.progress_deadline_seconds
                && deadline <= s.min_ready_seconds.unwrap_or(0)
            {
                errors.push(FieldError::invalid(
                    spec.child("progressDeadlineSeconds"),
                    deadline,
                    "must be greater than minReadySeconds",
                ));
            }
            if let Some(strategy) = &s.strategy {
                let path = spec.child("strategy");
                match strategy.type_.as_deref() {
                    None | Some("RollingUpdate") => {}
                    Some("Recreate") if strategy.rolling_update.is_some() => {
                        errors.push(FieldError::forbidden(
                            path.child("rollingUpdate"),
                            "may not be specified when strategy `type` is 'Recreate'",
                        ))
                    }
                    Some("Recreate") => {}
                    Some(other) => errors.push(FieldError::not_supported(
                        path.child("type"),
                        other,
                        &["Recreate", "RollingUpdate"],
                    )),
                }
            }
            apps_selector(&s.selector, &s.template, "deployment", &spec, &mut errors);
            template(
                &s.template,
                &spec.child("template"),
                &["Always"],
                &mut errors,
            );
        }
        Object::ReplicaSet(r) => {
            let s = &r.spec;
            replicas(s.replicas, &spec, &mut errors);
            non_negative(s.min_ready_seconds, "minReadySeconds", &spec, &mut errors);
            if let Some(t) = &s.template {
                apps_selector(&s.selector, t, "replicaset", &spec, &mut errors);
                template(t, &spec.child("template"), &["Always"], &mut errors);
            } else {
                errors.push(FieldError::required(spec.child("template"), ""));
            }
        }
        Object::ReplicationController(rc) => {
            let Some(s) = &rc.spec else {
                return missing_spec(errors, spec);
            };
            replicas(s.replicas, &spec, &mut errors);
            non_negative(s.min_ready_seconds, "minReadySeconds", &spec, &mut errors);
            let Some(t) = &s.template else {
                errors.push(FieldError::required(spec.child("template"), ""));
                return errors;
            };
            let labels = t
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default();
            // An RC without a selector selects its template's labels (v1 defaulting).
            let selector = s
                .selector
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or(labels.clone());
            validate_labels(&selector, &spec.child("selector"), &mut errors);
            if selector.is_empty() {
                errors.push(
                    FieldError::required(spec.child("selector"), "")
                        .help("label the template (`template.metadata.labels`) or set a selector"),
                );
            } else if !selector::map_matches(&selector, &labels) {
                errors.push(selector_mismatch(&spec, &labels));
            }
            template(t, &spec.child("template"), &["Always"], &mut errors);
        }
        Object::StatefulSet(st) => {
            let s = &st.spec;
            replicas(s.replicas, &spec, &mut errors);
            non_negative(s.min_ready_seconds, "minReadySeconds", &spec, &mut errors);
            one_of(
                s.pod_management_policy.as_deref(),
                spec.child("podManagementPolicy"),
                &["OrderedReady", "Parallel"],
                &mut errors,
            );
            if let Some(kind) = s.update_strategy.as_ref().and_then(|u| u.type_.as_deref()) {
                update_strategy(kind, &spec.child("updateStrategy"), &mut errors);
            }
            apps_selector(&s.selector, &s.template, "statefulset", &spec, &mut errors);
            // The controller adds a volume per claim template to each pod, so mounts may name
            // them (`ValidatePodTemplateSpecForStatefulSet` leaves template volumes alone).
            let claims: Vec<String> = s
                .volume_claim_templates
                .iter()
                .flatten()
                .filter_map(|c| c.metadata.name.clone())
                .collect();
            template_with(
                &s.template,
                &spec.child("template"),
                &["Always"],
                &claims,
                &mut errors,
            );
        }
        Object::DaemonSet(ds) => {
            let s = &ds.spec;
            non_negative(s.min_ready_seconds, "minReadySeconds", &spec, &mut errors);
            if let Some(kind) = s.update_strategy.as_ref().and_then(|u| u.type_.as_deref()) {
                update_strategy(kind, &spec.child("updateStrategy"), &mut errors);
            }
            apps_selector(&s.selector, &s.template, "daemonset", &spec, &mut errors);
            template(
                &s.template,
                &spec.child("template"),
                &["Always"],
                &mut errors,
            );
        }
        Object::Job(job) => {
            let Some(s) = &job.spec else {
                return missing_spec(errors, spec);
            };
            non_negative(s.parallelism, "parallelism", &spec, &mut errors);
            non_negative(s.completions, "completions", &spec, &mut errors);
            non_negative(s.backoff_limit, "backoffLimit", &spec, &mut errors);
            non_negative(
                s.ttl_seconds_after_finished,
                "ttlSecondsAfterFinished",
                &spec,
                &mut errors,
            );
            if let Some(deadline) = s.active_deadline_seconds.filter(|d| *d < 0) {
                errors.push(FieldError::invalid(
                    spec.child("activeDeadlineSeconds"),
                    deadline,
                    "must be greater than or equal to 0",
                ));
            }
            one_of(
                s.completion_mode.as_deref(),
                spec.child("completionMode"),
                &["NonIndexed", "Indexed"],
                &mut errors,
            );
            if s.selector.is_some() && s.manual_selector != Some(true) {
                errors.push(
                    FieldError::invalid(spec.child("selector"), "…", "`selector` will be auto-generated")
                        .help("remove the selector (the Job controller makes one), or set `manualSelector: true`"),
                );
            }
            template(
                &s.template,
                &spec.child("template"),
                &["OnFailure", "Never"],
                &mut errors,
            );
        }
        Object::Service(service) => validate_service(service, &spec, &mut errors),
    }
    errors
}

fn missing_spec(mut errors: Vec<FieldError>, spec: FieldPath) -> Vec<FieldError> {
    errors.push(FieldError::required(spec, ""));
    errors
}

fn replicas(value: Option<i32>, spec: &FieldPath, errors: &mut Vec<FieldError>) {
    non_negative(value, "replicas", spec, errors);
}

fn non_negative(value: Option<i32>, name: &str, spec: &FieldPath, errors: &mut Vec<FieldError>) {
    if let Some(v) = value.filter(|v| *v < 0) {
        errors.push(FieldError::invalid(
            spec.child(name),
            v,
            "must be greater than or equal to 0",
        ));
    }
}

fn update_strategy(kind: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    one_of(
        Some(kind),
        path.child("type"),
        &["RollingUpdate", "OnDelete"],
        errors,
    );
}

/// `metadata`: name (by `name_rule`, which differs per kind), namespace, labels, annotations.
pub fn validate_meta(
    meta: &ObjectMeta,
    name_rule: fn(&str) -> Result<(), Vec<String>>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    match (&meta.name, &meta.generate_name) {
        (None, None) => errors.push(
            FieldError::required(path.child("name"), "name or generateName is required")
                .help("give the object a name under `metadata`, e.g. `name: web`"),
        ),
        (Some(name), _) => {
            if let Err(reasons) = name_rule(name) {
                errors.push(FieldError::invalid(
                    path.child("name"),
                    format!("{name:?}"),
                    reasons.join("; "),
                ));
            }
        }
        _ => {}
    }
    if let Some(ns) = &meta.namespace
        && let Err(reasons) = is_dns1123_label(ns)
    {
        errors.push(FieldError::invalid(
            path.child("namespace"),
            format!("{ns:?}"),
            reasons.join("; "),
        ));
    }
    if let Some(labels) = &meta.labels {
        validate_labels(labels, &path.child("labels"), errors);
    }
    if let Some(annotations) = &meta.annotations {
        validate_annotations(annotations, &path.child("annotations"), errors);
    }
}

/// Annotation keys (`ValidateAnnotations`), and podlife's own: a container's script for
/// `--runtime sim` must read.
fn validate_annotations(
    annotations: &BTreeMap<String, String>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    for (key, value) in annotations {
        // Kubernetes checks annotation keys in lower case.
        if let Err(reasons) = is_qualified_name(&key.to_lowercase()) {
            errors.push(FieldError::new(
                path.key(key),
                ErrorKind::InvalidKey(format!("{key:?}")),
                reasons.join("; "),
            ));
        }
        if key.starts_with(sim::ANNOTATION_PREFIX)
            && let Err(why) = value.parse::<sim::Script>()
        {
            errors.push(
                FieldError::invalid(path.key(key), format!("{value:?}"), why)
                    .help("e.g. `exits 1 after 5s; port 8080 fails from 30s | runs`"),
            );
        }
    }
}

fn validate_labels(
    labels: &BTreeMap<String, String>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    for (key, value) in labels {
        if let Err(reasons) = is_qualified_name(key) {
            errors.push(FieldError::new(
                path.key(key),
                ErrorKind::InvalidKey(format!("{key:?}")),
                reasons.join("; "),
            ));
        }
        if let Err(reasons) = is_valid_label_value(value) {
            errors.push(FieldError::invalid(
                path.key(key),
                format!("{value:?}"),
                reasons.join("; "),
            ));
        }
    }
}

fn validate_label_selector(
    selector: &LabelSelector,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    if let Some(labels) = &selector.match_labels {
        validate_labels(labels, &path.child("matchLabels"), errors);
    }
    for (i, requirement) in selector.match_expressions.iter().flatten().enumerate() {
        let rpath = path.child("matchExpressions").index(i);
        let values = requirement.values.as_deref().unwrap_or(&[]);
        match requirement.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => errors.push(FieldError::required(
                rpath.child("values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errors.push(FieldError::forbidden(
                rpath.child("values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.push(FieldError::not_supported(
                rpath.child("operator"),
                other,
                &["In", "NotIn", "Exists", "DoesNotExist"],
            )),
        }
        if let Err(reasons) = is_qualified_name(&requirement.key) {
            errors.push(FieldError::invalid(
                rpath.child("key"),
                format!("{:?}", requirement.key),
                reasons.join("; "),
            ));
        }
    }
}

/// apps/v1 workloads: a non-empty selector that selects the template's labels.
fn apps_selector(
    selector: &LabelSelector,
    template: &PodTemplateSpec,
    kind: &str,
    spec: &FieldPath,
    errors: &mut Vec<FieldError>,
) {
    let path = spec.child("selector");
    validate_label_selector(selector, &path, errors);
    let labels = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    if selector::is_empty(selector) {
        errors.push(
            FieldError::invalid(path, "{}", format!("empty selector is invalid for {kind}"))
                .help("select the template's labels with `matchLabels`"),
        );
    } else if !selector::matches(selector, &labels) {
        errors.push(selector_mismatch(spec, &labels));
    }
}

fn selector_mismatch(spec: &FieldPath, labels: &BTreeMap<String, String>) -> FieldError {
    FieldError::invalid(
        spec.child("template").child("metadata").child("labels"),
        serde_json::to_string(labels).unwrap_or_default(),
        "`selector` does not match template `labels`",
    )
    .help("every label in the selector must be on the template with the same value")
}

/// A workload's pod template: labels, and a pod spec whose restartPolicy the kind allows.
fn template(
    template: &PodTemplateSpec,
    path: &FieldPath,
    restart_policies: &[&'static str],
    errors: &mut Vec<FieldError>,
) {
    if let Some(spec) = &template.spec
        && spec
            .ephemeral_containers
            .as_ref()
            .is_some_and(|e| !e.is_empty())
    {
        errors.push(FieldError::forbidden(
            path.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    template_with(template, path, restart_policies, &[], errors);
}

/// [`template`] for pods that also get volumes from their controller.
fn template_with(
    template: &PodTemplateSpec,
    path: &FieldPath,
    restart_policies: &[&'static str],
    added_volumes: &[String],
    errors: &mut Vec<FieldError>,
) {
    if let Some(meta) = &template.metadata {
        if let Some(labels) = &meta.labels {
            validate_labels(labels, &path.child("metadata").child("labels"), errors);
        }
        if let Some(annotations) = &meta.annotations {
            validate_annotations(
                annotations,
                &path.child("metadata").child("annotations"),
                errors,
            );
        }
    }
    let Some(spec) = &template.spec else {
        errors.push(FieldError::required(path.child("spec"), ""));
        return;
    };
    let spec_path = path.child("spec");
    let policy = spec.restart_policy.as_deref().unwrap_or("Always");
    if !restart_policies.contains(&policy) {
        let mut e =
            FieldError::not_supported(spec_path.child("restartPolicy"), policy, restart_policies);
        if spec.restart_policy.is_none() {
            e = e.help("a Job's pods must set `restartPolicy: OnFailure` or `Never`; the pod default, Always, is not allowed");
        } else if restart_policies == ["Always"] {
            e = e.help("this workload keeps its pods running, so it only allows `Always`; use a Job for run-to-completion pods");
        }
        errors.push(e);
    }
    validate_pod_spec_with(spec, &spec_path, added_volumes, errors);
}

fn validate_service(service: &Service, spec_path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(spec) = &service.spec else {
        errors.push(FieldError::required(spec_path.clone(), ""));
        return;
    };
    let kind = spec.type_.as_deref().unwrap_or("ClusterIP");
    one_of(
        Some(kind),
        spec_path.child("type"),
        &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"],
        errors,
    );
    one_of(
        spec.session_affinity.as_deref(),
        spec_path.child("sessionAffinity"),
        &["None", "ClientIP"],
        errors,
    );
    if let Some(selector) = &spec.selector {
        validate_labels(selector, &spec_path.child("selector"), errors);
    }
    let ports = spec.ports.as_deref().unwrap_or(&[]);
    let headless = spec.cluster_ip.as_deref() == Some("None");
    if ports.is_empty() && kind != "ExternalName" && !headless {
        errors.push(
            FieldError::required(spec_path.child("ports"), "")
                .help("list the ports the Service exposes, e.g. `- port: 80`"),
        );
    }
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let path = spec_path.child("ports").index(i);
        match &port.name {
            None if ports.len() > 1 => errors.push(
                FieldError::required(path.child("name"), "")
                    .help("name every port when a Service has several"),
            ),
            Some(name) => {
                if let Err(reasons) = is_dns1123_label(name) {
                    errors.push(FieldError::invalid(
                        path.child("name"),
                        format!("{name:?}"),
                        reasons.join("; "),
                    ));
                } else if !names.insert(name.as_str()) {
                    errors.push(FieldError::new(
                        path.child("name"),
                        ErrorKind::Duplicate(format!("{name:?}")),
                        "",
                    ));
                }
            }
            None => {}
        }
        port_number(port.port, path.child("port"), errors);
        one_of(
            port.protocol.as_deref(),
            path.child("protocol"),
            &PROTOCOLS,
            errors,
        );
        match &port.target_port {
            Some(IntOrString::Int(n)) => port_number(*n, path.child("targetPort"), errors),
            Some(IntOrString::String(name)) => {
                if let Err(reasons) = is_valid_port_name(name) {
                    errors.push(FieldError::invalid(
                        path.child("targetPort"),
                        format!("{name:?}"),
                        reasons.join("; "),
                    ));
                }
            }
            _ => {}
        }
        if let Some(node_port) = port.node_port.filter(|p| *p != 0) {
            port_number(node_port, path.child("nodePort"), errors);
        }
    }
}
