//! Rules for the objects pods consume (`ValidateConfigMap`, `ValidateSecret`,
//! `ValidatePersistentVolumeClaim` in Kubernetes' `pkg/apis/core/validation`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret};

use super::names::{is_config_map_key, is_dns1123_subdomain, is_path_segment_name};
use super::workload::validate_meta;
use super::{FieldError, one_of};
use crate::manifest::field::FieldPath;
use crate::manifest::object::Input;

/// PersistentVolumeClaim access modes.
const ACCESS_MODES: [&str; 4] = [
    "ReadWriteOnce",
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOncePod",
];

/// API rules for an input object, with paths from the object's root.
pub fn validate_input(input: &Input) -> Vec<FieldError> {
    let root = FieldPath::root();
    let mut errors = Vec::new();
    let name_rule = match input {
        Input::PersistentVolumeClaim(_) => is_path_segment_name,
        Input::ConfigMap(_) | Input::Secret(_) => is_dns1123_subdomain,
    };
    validate_meta(
        input.metadata(),
        name_rule,
        &root.child("metadata"),
        &mut errors,
    );
    match input {
        Input::ConfigMap(c) => config_map(c, &root, &mut errors),
        Input::Secret(s) => secret(s, &root, &mut errors),
        Input::PersistentVolumeClaim(c) => claim(c, &root, &mut errors),
    }
    errors
}

fn keys<'a, V: 'a>(
    map: Option<&'a BTreeMap<String, V>>,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) -> Vec<&'a str> {
    let keys: Vec<&str> = map.into_iter().flatten().map(|(k, _)| k.as_str()).collect();
    for key in &keys {
        if let Err(reasons) = is_config_map_key(key) {
            errors.push(FieldError::invalid(
                path.key(key),
                format!("{key:?}"),
                reasons.join("; "),
            ));
        }
    }
    keys
}

fn config_map(c: &ConfigMap, root: &FieldPath, errors: &mut Vec<FieldError>) {
    let data = keys(c.data.as_ref(), &root.child("data"), errors);
    let binary = keys(c.binary_data.as_ref(), &root.child("binaryData"), errors);
    for key in data.iter().filter(|k| binary.contains(k)) {
        errors.push(FieldError::invalid(
            root.child("data").key(key),
            format!("{key:?}"),
            format!("duplicate of key {key:?} present in `binaryData`"),
        ));
    }
}

fn secret(s: &Secret, root: &FieldPath, errors: &mut Vec<FieldError>) {
    let mut present = keys(s.data.as_ref(), &root.child("data"), errors);
    present.extend(keys(
        s.string_data.as_ref(),
        &root.child("stringData"),
        errors,
    ));
    let required: &[&str] = match s.type_.as_deref() {
        Some("kubernetes.io/tls") => &["tls.crt", "tls.key"],
        Some("kubernetes.io/dockerconfigjson") => &[".dockerconfigjson"],
        Some("kubernetes.io/dockercfg") => &[".dockercfg"],
        Some("kubernetes.io/ssh-auth") => &["ssh-privatekey"],
        _ => &[],
    };
    for key in required.iter().filter(|k| !present.contains(k)) {
        errors.push(
            FieldError::required(root.child("data").key(key), "").help(format!(
                "a Secret of type {} needs the key `{key}`",
                s.type_.as_deref().unwrap_or_default()
            )),
        );
    }
}

fn claim(c: &PersistentVolumeClaim, root: &FieldPath, errors: &mut Vec<FieldError>) {
    let spec_path = root.child("spec");
    let Some(spec) = &c.spec else {
        errors.push(FieldError::required(spec_path, ""));
        return;
    };
    let modes = spec.access_modes.as_deref().unwrap_or(&[]);
    if modes.is_empty() {
        errors.push(
            FieldError::required(
                spec_path.child("accessModes"),
                "at least 1 access mode is required",
            )
            .help("e.g. `accessModes: [ReadWriteOnce]`"),
        );
    }
    for (i, mode) in modes.iter().enumerate() {
        one_of(
            Some(mode),
            spec_path.child("accessModes").index(i),
            &ACCESS_MODES,
            errors,
        );
    }
    let storage = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .is_some_and(|r| r.contains_key("storage"));
    if !storage {
        errors.push(
            FieldError::required(spec_path.child("resources").key("storage"), "")
                .help("request a size: `resources: {requests: {storage: 1Gi}}`"),
        );
    }
}
