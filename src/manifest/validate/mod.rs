//! Kubernetes API validation of the lifecycle fields and workload rules, on typed objects.
//!
//! Rules are written against k8s-openapi types and report Kubernetes-style field errors
//! (`spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1`); the
//! document's YAML tree turns each path into a line and column afterwards. Where podlife is
//! stricter than the API server (a named probe port the container does not declare), or only
//! warns where the kubelet would silently apply a default, the rule says so in its text.

mod input;
mod names;
mod pod;
mod probe;
mod workload;

pub use input::validate_input;
pub use names::{is_dns1123_label, is_dns1123_subdomain, is_valid_port_name};
pub use workload::{validate_meta, validate_object};

use k8s_openapi::api::core::v1::{Container, Lifecycle, PodSpec, PodTemplateSpec, Probe};

use super::diagnostic::{Code, Diagnostic, Severity};
use super::field::FieldPath;
use super::yaml::Node;

/// One finding of an API rule, located by its field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: FieldPath,
    pub kind: ErrorKind,
    pub detail: String,
    pub help: Option<String>,
}

/// The kinds of field error the Kubernetes API server reports, plus podlife's warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    Required,
    /// The offending value, as Kubernetes prints it.
    Invalid(String),
    Forbidden,
    /// The value and the supported ones.
    NotSupported(String, Vec<&'static str>),
    Duplicate(String),
    NotFound(String),
    /// An explicit 0 that Kubernetes replaces by the default (a warning).
    Defaulted(String),
    /// Accepted by the API server, failed by the kubelet at run time (a warning).
    RuntimeFailure,
    /// A label or annotation key (points at the key, not the value).
    InvalidKey(String),
}

impl FieldError {
    pub fn new(path: FieldPath, kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            path,
            kind,
            detail: detail.into(),
            help: None,
        }
    }

    pub fn required(path: FieldPath, detail: impl Into<String>) -> Self {
        Self::new(path, ErrorKind::Required, detail)
    }

    pub fn invalid(
        path: FieldPath,
        value: impl std::fmt::Display,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(path, ErrorKind::Invalid(value.to_string()), detail)
    }

    pub fn forbidden(path: FieldPath, detail: impl Into<String>) -> Self {
        Self::new(path, ErrorKind::Forbidden, detail)
    }

    pub fn not_supported(path: FieldPath, value: &str, supported: &[&'static str]) -> Self {
        let mut e = Self::new(
            path,
            ErrorKind::NotSupported(format!("{value:?}"), supported.to_vec()),
            "",
        );
        if let Some(meant) = super::suggest::did_you_mean(value, supported.iter().copied()) {
            e.help = Some(format!("did you mean `{meant}`?"));
        }
        e
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn severity(&self) -> Severity {
        match self.kind {
            ErrorKind::Defaulted(_) | ErrorKind::RuntimeFailure => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// The message as the API server would print it.
    pub fn message(&self) -> String {
        let path = &self.path;
        let detail = |prefix: String| {
            if self.detail.is_empty() {
                prefix
            } else {
                format!("{prefix}: {}", self.detail)
            }
        };
        match &self.kind {
            ErrorKind::Required => detail(format!("{path}: Required value")),
            ErrorKind::Invalid(v) | ErrorKind::InvalidKey(v) => {
                detail(format!("{path}: Invalid value: {v}"))
            }
            ErrorKind::Forbidden => detail(format!("{path}: Forbidden")),
            ErrorKind::NotSupported(v, supported) => {
                let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
                format!(
                    "{path}: Unsupported value: {v}: supported values: {}",
                    list.join(", ")
                )
            }
            ErrorKind::Duplicate(v) => detail(format!("{path}: Duplicate value: {v}")),
            ErrorKind::NotFound(v) => detail(format!("{path}: Not found: {v}")),
            ErrorKind::Defaulted(v) => detail(format!("{path}: {v}")),
            ErrorKind::RuntimeFailure => detail(format!("{path}")),
        }
    }

    fn code(&self) -> Code {
        match self.kind {
            ErrorKind::Required => Code::FieldRequired,
            ErrorKind::Invalid(_) | ErrorKind::InvalidKey(_) => Code::FieldInvalid,
            ErrorKind::Forbidden => Code::FieldForbidden,
            ErrorKind::NotSupported(..) => Code::FieldNotSupported,
            ErrorKind::Duplicate(_) => Code::FieldDuplicate,
            ErrorKind::NotFound(_) => Code::FieldNotFound,
            ErrorKind::Defaulted(_) => Code::FieldDefaulted,
            ErrorKind::RuntimeFailure => Code::RuntimeFailure,
        }
    }

    fn label(&self) -> &'static str {
        match self.kind {
            ErrorKind::Required => "missing here",
            ErrorKind::Invalid(_) | ErrorKind::InvalidKey(_) => "invalid",
            ErrorKind::Forbidden => "not allowed here",
            ErrorKind::NotSupported(..) => "not a supported value",
            ErrorKind::Duplicate(_) => "duplicate",
            ErrorKind::NotFound(_) => "not found",
            ErrorKind::Defaulted(_) => "replaced by the default",
            ErrorKind::RuntimeFailure => "fails at run time",
        }
    }

    /// The diagnostic, located in the document `root` (`prefix` is the object's own path
    /// inside the document, for items of a `kind: List`).
    pub fn into_diagnostic(self, root: &Node, prefix: &FieldPath) -> Diagnostic {
        let full = prefix.join(&self.path);
        // Point at the key for what is missing or not allowed, at the value for bad values.
        let key = matches!(
            self.kind,
            ErrorKind::InvalidKey(_) | ErrorKind::Required | ErrorKind::Forbidden
        );
        let at = full.locate(root, key);
        let mut d = Diagnostic::new(self.severity(), self.code(), self.message())
            .at(at)
            .label(self.label())
            .field(full.to_string());
        if let Some(help) = self.help {
            d = d.help(help);
        }
        d
    }
}

/// An optional enumerated field: when set, it must be one of `supported`.
pub(crate) fn one_of(
    value: Option<&str>,
    path: FieldPath,
    supported: &[&'static str],
    errors: &mut Vec<FieldError>,
) {
    if let Some(value) = value.filter(|v| !supported.contains(v)) {
        errors.push(FieldError::not_supported(path, value, supported));
    }
}

/// A port number: 1–65535.
pub(crate) fn port_number(port: i32, path: FieldPath, errors: &mut Vec<FieldError>) {
    if !(1..=65535).contains(&port) {
        errors.push(FieldError::invalid(
            path,
            port,
            "must be between 1 and 65535, inclusive",
        ));
    }
}

/// Protocols of container and Service ports.
pub(crate) const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];

/// A pasted snippet that is only part of an object, checked as what it is.
#[derive(Debug, Clone)]
pub enum Fragment {
    PodSpec(Box<PodSpec>),
    PodTemplateSpec(Box<PodTemplateSpec>),
    Container(Box<Container>),
    Probe(Box<Probe>),
    Lifecycle(Box<Lifecycle>),
}

/// API rules for a fragment, with paths relative to the fragment's root.
pub fn validate_fragment(fragment: &Fragment) -> Vec<FieldError> {
    let root = FieldPath::root();
    let mut errors = Vec::new();
    match fragment {
        Fragment::PodSpec(spec) => pod::validate_pod_spec(spec, &root, &mut errors),
        Fragment::PodTemplateSpec(template) => {
            if let Some(spec) = &template.spec {
                pod::validate_pod_spec(spec, &root.child("spec"), &mut errors);
            }
        }
        Fragment::Container(container) => {
            let ctx = pod::ContainerContext::standalone(container);
            pod::validate_container(container, &root, &ctx, &mut errors);
        }
        Fragment::Probe(p) => {
            let ctx = pod::ContainerContext::unknown();
            probe::validate_probe(p, probe::ProbeKind::Unknown, &root, &ctx, &mut errors)
        }
        Fragment::Lifecycle(l) => {
            let ctx = pod::ContainerContext::unknown();
            probe::validate_lifecycle(l, &root, &ctx, &mut errors)
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_the_api_server() {
        let p = FieldPath::root().child("spec").child("restartPolicy");
        let e = FieldError::not_supported(p, "always", &["Always", "OnFailure", "Never"]);
        assert_eq!(
            e.message(),
            "spec.restartPolicy: Unsupported value: \"always\": supported values: \"Always\", \"OnFailure\", \"Never\""
        );
        assert_eq!(e.help.as_deref(), Some("did you mean `Always`?"));
        let p = FieldPath::root()
            .child("spec")
            .child("containers")
            .index(0)
            .child("image");
        assert_eq!(
            FieldError::required(p, "").message(),
            "spec.containers[0].image: Required value"
        );
    }

    #[test]
    fn prefixes_join() {
        let prefix = FieldPath::root().child("items").index(2);
        let path = FieldPath::root()
            .child("metadata")
            .child("labels")
            .key("a.b/c");
        assert_eq!(
            prefix.join(&path).to_string(),
            "items[2].metadata.labels[a.b/c]"
        );
    }
}
