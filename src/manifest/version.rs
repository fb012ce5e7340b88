//! Kubernetes release numbers: the one podlife's schema comes from, and the one a user says
//! their API server runs (`--kubernetes-version`), so removed apiVersions can be judged.

use std::fmt;
use std::str::FromStr;

/// A Kubernetes minor release, `1.16`. Patch numbers do not change which APIs are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
}

impl KubeVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }
}

/// The release whose OpenAPI schema podlife checks against: k8s-openapi's `latest` feature
/// (0.29 → Kubernetes 1.37). Change it with the k8s-openapi version in Cargo.toml.
pub const SCHEMA_VERSION: KubeVersion = KubeVersion::new(1, 37);

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for KubeVersion {
    type Err = String;

    /// `1.16`, `v1.16` or `1.16.3` (what `kubectl version` prints).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a Kubernetes version; write it as 1.29 or v1.29.3");
        let trimmed = text.trim().trim_start_matches('v');
        let mut parts = trimmed.split('.');
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let minor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        match parts.next() {
            None => {}
            Some(patch) if patch.parse::<u32>().is_ok() && parts.next().is_none() => {}
            Some(_) => return Err(bad()),
        }
        Ok(Self { major, minor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_kubectl_prints() {
        assert_eq!("1.16".parse(), Ok(KubeVersion::new(1, 16)));
        assert_eq!("v1.29.3".parse(), Ok(KubeVersion::new(1, 29)));
        assert!("1".parse::<KubeVersion>().is_err());
        assert!("one.two".parse::<KubeVersion>().is_err());
        assert!(KubeVersion::new(1, 9) < KubeVersion::new(1, 16));
        assert_eq!(SCHEMA_VERSION.to_string(), "1.37");
    }
}
