//! Fields newer than the Kubernetes release of podlife's schema, so that an unknown-field
//! report can say which release has the field instead of only "unknown".

use super::version::SCHEMA_VERSION;

/// A field that a later Kubernetes release adds (or is proposed to add).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewerField {
    /// The schema type that gets it (`SecurityContext`).
    pub owner: &'static str,
    pub field: &'static str,
    /// The release that has it, in a few words.
    pub release: &'static str,
    /// Which release has it, and how to get it.
    pub availability: &'static str,
}

const NEWER: &[NewerField] = &[NewerField {
    owner: "SecurityContext",
    field: "cgroupOptions",
    release: "proposed for 1.38",
    availability: "KEP-5474 (writable cgroups for unprivileged containers) targets it at \
        Kubernetes 1.38 as an alpha field behind the CgroupOptions feature gate, off by default; \
        no released Kubernetes serves it yet",
}];

/// The newer field `field` of the schema type `owner`, if it is one.
pub fn lookup(owner: &str, field: &str) -> Option<&'static NewerField> {
    NEWER.iter().find(|f| f.owner == owner && f.field == field)
}

impl NewerField {
    /// Said after "unknown field `x`": which release has it.
    pub fn note(&self) -> String {
        format!("(not in Kubernetes {SCHEMA_VERSION}; {})", self.release)
    }

    /// Help for the unknown-field report.
    pub fn help(&self) -> String {
        format!(
            "`{}` is not in Kubernetes {SCHEMA_VERSION}, whose schema podlife checks against (and \
             API servers up to {SCHEMA_VERSION} reject it under strict field validation): {}",
            self.field, self.availability
        )
    }
}
