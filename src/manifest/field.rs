//! Kubernetes field paths (`spec.containers[0].livenessProbe`), as the API server prints them.

use std::fmt;

use super::diagnostic::Position;
use super::yaml::{Node, Value};

/// A path from a document's root to one field, printed the way Kubernetes prints field errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Field(String),
    Index(usize),
    /// A key of a free-form map (`metadata.labels[app]`).
    Key(String),
}

impl FieldPath {
    /// The document root.
    pub fn root() -> Self {
        Self::default()
    }

    /// `self.name`
    pub fn child(&self, name: &str) -> Self {
        self.with(Segment::Field(name.to_owned()))
    }

    /// `self[index]`
    pub fn index(&self, index: usize) -> Self {
        self.with(Segment::Index(index))
    }

    /// `self[key]` for a key of a free-form map.
    pub fn key(&self, key: &str) -> Self {
        self.with(Segment::Key(key.to_owned()))
    }

    /// `self` followed by `other`.
    pub fn join(&self, other: &FieldPath) -> Self {
        let mut segments = self.0.clone();
        segments.extend(other.0.iter().cloned());
        Self(segments)
    }

    fn with(&self, segment: Segment) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment);
        Self(segments)
    }

    /// Number of segments (`spec.containers[0]` has 3).
    pub fn depth(&self) -> usize {
        self.0.len()
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `self` is `other` or inside it.
    pub fn starts_with(&self, other: &FieldPath) -> bool {
        self.0.starts_with(&other.0)
    }

    /// The last field name, if the path ends in one.
    pub fn last_field(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Field(f)) => Some(f),
            _ => None,
        }
    }

    /// Where this path is in `root`: the value when it exists, else the deepest existing
    /// ancestor's key (where the missing field would be added). `key` asks for the key of a
    /// map entry rather than its value.
    pub fn locate(&self, root: &Node, key: bool) -> Position {
        let mut node = root;
        let mut at = root.at;
        for (i, segment) in self.0.iter().enumerate() {
            let last = i + 1 == self.0.len();
            let next = match (segment, &node.value) {
                (Segment::Field(name) | Segment::Key(name), Value::Map(_)) => {
                    node.entry(name).map(|e| {
                        at = e.key_at;
                        (&e.value, e.key_at)
                    })
                }
                (Segment::Index(index), Value::Seq(items)) => items.get(*index).map(|n| {
                    at = n.at;
                    (n, n.at)
                }),
                _ => None,
            };
            match next {
                Some((child, key_at)) => {
                    node = child;
                    if last && key {
                        return key_at;
                    }
                }
                None => return at,
            }
        }
        if node.at.line == 0 { at } else { node.at }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for segment in &self.0 {
            match segment {
                Segment::Field(name) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(name)?;
                }
                Segment::Index(i) => write!(f, "[{i}]")?,
                Segment::Key(k) => write!(f, "[{k}]")?,
            }
            first = false;
        }
        if first {
            f.write_str("<root>")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_kubernetes() {
        let p = FieldPath::root()
            .child("spec")
            .child("containers")
            .index(0)
            .child("name");
        assert_eq!(p.to_string(), "spec.containers[0].name");
        let l = FieldPath::root()
            .child("metadata")
            .child("labels")
            .key("app");
        assert_eq!(l.to_string(), "metadata.labels[app]");
        assert_eq!(FieldPath::root().to_string(), "<root>");
        assert!(p.starts_with(&FieldPath::root().child("spec")));
        assert_eq!(p.last_field(), Some("name"));
    }
}
