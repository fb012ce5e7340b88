//! Name syntax rules from `k8s.io/apimachinery/pkg/util/validation`, with its messages.

const LABEL_FMT: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or \
'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

const SUBDOMAIN_FMT: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. \
'example.com', regex used for validation is \
'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const QUALIFIED_NAME_FMT: &str = "name part must consist of alphanumeric characters, '-', '_' or \
'.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or \
'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

const LABEL_VALUE_FMT: &str = "a valid label must be an empty string or consist of alphanumeric \
characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. \
'MyValue',  or 'my_value',  or '12345', regex used for validation is \
'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

fn label_chars(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// RFC 1123 label (container names, volume names, namespaces): `Err` holds the reasons.
pub fn is_dns1123_label(s: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !label_chars(s) {
        errs.push(LABEL_FMT.to_owned());
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// RFC 1123 subdomain (object names, label key prefixes).
pub fn is_dns1123_subdomain(s: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    if !s.split('.').all(label_chars) {
        errs.push(SUBDOMAIN_FMT.to_owned());
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// RFC 1035 label (Service names: must start with a letter).
pub fn is_dns1035_label(s: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !label_chars(s) || !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        errs.push(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with \
             an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or \
             'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
                .to_owned(),
        );
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// IANA service name, used for named ports: at most 15 characters, lower case letters, digits
/// and single hyphens, at least one letter.
pub fn is_valid_port_name(s: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    if s.len() > 15 {
        errs.push("must be no more than 15 characters".to_owned());
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned(),
        );
    }
    if s.contains("--") {
        errs.push("must not contain consecutive hyphens".to_owned());
    }
    if !s.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_owned());
    }
    if s.starts_with('-') || s.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_owned());
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

fn qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// Label and annotation keys: `[prefix/]name`.
pub fn is_qualified_name(s: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            errs.push("prefix part must be non-empty".to_owned());
        } else if let Err(e) = is_dns1123_subdomain(prefix) {
            errs.extend(e.into_iter().map(|m| format!("prefix part {m}")));
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else {
        if name.len() > 63 {
            errs.push("name part must be no more than 63 characters".to_owned());
        }
        if !qualified_name_part(name) {
            errs.push(QUALIFIED_NAME_FMT.to_owned());
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// Label values: empty, or a qualified-name part of at most 63 characters.
pub fn is_valid_label_value(s: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !s.is_empty() && !qualified_name_part(s) {
        errs.push(LABEL_VALUE_FMT.to_owned());
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// Environment variable names: printable ASCII without `=` (RelaxedEnvironmentVariableValidation,
/// on by default since Kubernetes 1.32).
pub fn is_env_var_name(s: &str) -> Result<(), Vec<String>> {
    if !s.is_empty() && s.bytes().all(|c| (32..=126).contains(&c) && c != b'=') {
        Ok(())
    } else {
        Err(vec![
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
                .to_owned(),
        ])
    }
}

/// HTTP header field names (RFC 7230 tokens).
pub fn is_http_header_name(s: &str) -> Result<(), Vec<String>> {
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if !s.is_empty() && s.bytes().all(token) {
        Ok(())
    } else {
        Err(vec![
            "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name')"
                .to_owned(),
        ])
    }
}

/// ConfigMap and Secret keys (`IsConfigMapKey`): file names a volume can hold.
pub fn is_config_map_key(s: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    let key_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    if s.is_empty() || !s.bytes().all(key_char) {
        errs.push(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. \
             'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is \
             '[-._a-zA-Z0-9]+')"
                .to_owned(),
        );
    }
    match s {
        "." => errs.push("must not be '.'".to_owned()),
        ".." => errs.push("must not be '..'".to_owned()),
        _ if s.starts_with("..") => errs.push("must not start with '..'".to_owned()),
        _ => {}
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// Names that are one path segment (`IsValidPathSegmentName`): PersistentVolumeClaims.
pub fn is_path_segment_name(s: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    if s == "." || s == ".." {
        errs.push(format!("may not be '{s}'"));
    }
    for c in ['/', '%'] {
        if s.contains(c) {
            errs.push(format!("may not contain '{c}'"));
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys_and_path_segments() {
        assert!(is_config_map_key("app.properties").is_ok());
        assert!(is_config_map_key(".dockerconfigjson").is_ok());
        assert!(is_config_map_key("a/b").is_err());
        assert!(is_config_map_key("..data").is_err());
        assert!(is_path_segment_name("Data_1").is_ok());
        assert!(is_path_segment_name("a/b").is_err());
    }

    #[test]
    fn labels_and_subdomains() {
        assert!(is_dns1123_label("web-1").is_ok());
        assert!(is_dns1123_label("Web").is_err());
        assert!(is_dns1123_label("-web").is_err());
        assert!(is_dns1123_label(&"a".repeat(64)).is_err());
        assert!(is_dns1123_subdomain("nginx-demo.v1").is_ok());
        assert!(is_dns1123_subdomain("pod.beta.K8S.io").is_err());
        assert!(is_dns1035_label("1abc").is_err());
    }

    #[test]
    fn port_names() {
        assert!(is_valid_port_name("http").is_ok());
        assert!(is_valid_port_name("8080").is_err());
        assert!(is_valid_port_name("my--port").is_err());
        assert!(is_valid_port_name("a-very-long-port-name").is_err());
    }

    #[test]
    fn qualified_names_and_label_values() {
        assert!(is_qualified_name("app").is_ok());
        assert!(is_qualified_name("pod.beta.kubernetes.io/init-containers").is_ok());
        let errs = is_qualified_name("pod.beta.K8S.io/init-containers").unwrap_err();
        assert!(errs[0].starts_with("prefix part a lowercase RFC 1123 subdomain"));
        assert!(is_valid_label_value("v1").is_ok());
        assert!(is_valid_label_value("").is_ok());
        assert!(is_valid_label_value("a b").is_err());
    }

    #[test]
    fn env_and_headers() {
        assert!(is_env_var_name("JAVA_OPTS").is_ok());
        assert!(is_env_var_name("A=B").is_err());
        assert!(is_http_header_name("X-Custom").is_ok());
        assert!(is_http_header_name("Bad Header").is_err());
    }
}
