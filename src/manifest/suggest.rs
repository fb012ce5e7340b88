//! "Did you mean …?" for field names, kinds and enum values.

/// The candidate the user most likely meant by `input`: the same word in another case
/// (`prestop` → `preStop`), else the closest by edit distance (`psth` → `path`) when close
/// enough to be a typo, else a candidate that `input` abbreviates (`initialDelay` →
/// `initialDelaySeconds`).
pub fn did_you_mean<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let lower = input.to_lowercase();
    if let Some(same) = candidates.iter().find(|c| c.to_lowercase() == lower) {
        return Some(same);
    }
    let limit = (input.chars().count() / 3).max(1);
    let best = candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d);
    if let Some((_, c)) = best {
        return Some(c);
    }
    if input.chars().count() >= 4 {
        let mut prefixed = candidates
            .iter()
            .filter(|c| c.to_lowercase().starts_with(&lower));
        if let (Some(c), None) = (prefixed.next(), prefixed.next()) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFECYCLE: [&str; 3] = ["postStart", "preStop", "stopSignal"];
    const HTTP: [&str; 5] = ["host", "httpHeaders", "path", "port", "scheme"];

    #[test]
    fn the_seed_typos() {
        assert_eq!(did_you_mean("prestop", LIFECYCLE), Some("preStop"));
        assert_eq!(did_you_mean("psth", HTTP), Some("path"));
        assert_eq!(did_you_mean("poststart", LIFECYCLE), Some("postStart"));
    }

    #[test]
    fn abbreviations_and_misses() {
        let probe = ["initialDelaySeconds", "periodSeconds", "timeoutSeconds"];
        assert_eq!(
            did_you_mean("initialDelay", probe),
            Some("initialDelaySeconds")
        );
        assert_eq!(did_you_mean("period", probe), Some("periodSeconds"));
        assert_eq!(did_you_mean("banana", probe), None);
        assert_eq!(did_you_mean("x", HTTP), None);
    }
}
