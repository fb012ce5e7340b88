//! YAML text → a tree of [`Node`]s that remember where in the original file they came from.
//!
//! Parsing is serde-saphyr's (pure Rust, budgets against alias bombs and deep nesting). The
//! stream is split into documents at `---` lines first, so a syntax error in one document does
//! not hide the others. When a key is indented so that YAML reads it as part of the previous
//! value (the seed's `- image: sample:v2` / `     name: war`), the slip is reported and the
//! block is re-aligned, so that the rest of the document is still checked.

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::diagnostic::{Code, Diagnostic, Position};
use super::repair::{LineShifts, Repaired};

/// Deepest nesting accepted; Kubernetes objects nest about 15 levels.
pub const MAX_DEPTH: usize = 100;
/// Repairs tried per document before giving up on its syntax.
const MAX_REPAIRS: usize = 20;

/// A YAML node and its position in the original source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub at: Position,
}

/// The value of a [`Node`]; scalars keep the type YAML gave them (`80` vs `"80"`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_at: Position,
    pub value: Node,
}

impl Node {
    /// The entry for `key`, if this is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The value of `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The string value, if this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// What the value is, for messages: `string "80"`, `integer 80`, `a list`, …
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Null => "null (empty)".to_owned(),
            Value::Bool(b) => format!("boolean {b}"),
            Value::Int(i) => format!("integer {i}"),
            Value::Float(f) => format!("number {f}"),
            Value::Str(s) => format!("string {s:?}"),
            Value::Seq(_) => "a list".to_owned(),
            Value::Map(_) => "a mapping".to_owned(),
        }
    }
}

/// Documents parsed from one input and what went wrong on the way.
#[derive(Debug, Default)]
pub struct Parsed {
    pub documents: Vec<Node>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses every document of `repaired`, re-aligning mis-indented blocks (recorded in its shifts).
pub fn parse_stream(repaired: &mut Repaired) -> Parsed {
    let mut lines = repaired.lines();
    let mut parsed = Parsed::default();
    for chunk in split_documents(&lines) {
        let mut repairs = 0;
        loop {
            let text = lines[chunk.clone()].join("\n");
            match parse_chunk(&text) {
                Ok(raws) => {
                    let offset = chunk.start;
                    parsed.documents.extend(
                        raws.into_iter()
                            .map(|raw| convert(raw, offset, &repaired.shifts))
                            .filter(|node| !node.is_null()),
                    );
                    break;
                }
                Err(err) => {
                    let location = err.location();
                    let line = location.map_or(chunk.start + 1, |l| l.line() as usize + chunk.start);
                    let column = location.map_or(1, |l| l.column() as usize);
                    if repairs < MAX_REPAIRS && is_mapping_in_scalar(&err) {
                        if let Some(d) = realign_key(&mut lines, line, chunk.clone(), &mut repaired.shifts) {
                            parsed.diagnostics.push(d);
                            repairs += 1;
                            continue;
                        }
                    }
                    parsed
                        .diagnostics
                        .push(syntax_error(&err, line, repaired.shifts.original_column(line, column)));
                    break;
                }
            }
        }
    }
    repaired.set_lines(&lines);
    parsed
}

/// Line ranges of the documents of a stream: a `---` line starts one, a `...` line ends one.
fn split_documents(lines: &[String]) -> Vec<std::ops::Range<usize>> {
    let marker = |line: &str, m: &str| {
        line.strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    let mut chunks = Vec::new();
    let mut start = 0;
    for (i, line) in lines.iter().enumerate() {
        if marker(line, "---") && i > start {
            chunks.push(start..i);
            start = i;
        } else if marker(line, "...") {
            chunks.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < lines.len() {
        chunks.push(start..lines.len());
    }
    chunks
}

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_documents = 16;
    budget.max_nodes = 2_000_000;
    budget.max_events = 4_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    options.alias_limits.max_total_replayed_events = 100_000;
    options
}

fn parse_chunk(text: &str) -> Result<Vec<Spanned<Raw>>, serde_saphyr::Error> {
    serde_saphyr::from_multiple_with_options(text, options())
}

fn is_mapping_in_scalar(err: &serde_saphyr::Error) -> bool {
    message(err).contains("mapping values are not allowed")
}

fn message(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    serde_saphyr::UserMessageFormatter
        .format_message(err.without_snippet())
        .into_owned()
}

fn syntax_error(err: &serde_saphyr::Error, line: usize, column: usize) -> Diagnostic {
    let text = message(err);
    let too_big = matches!(
        err.without_snippet(),
        serde_saphyr::Error::Budget { .. }
            | serde_saphyr::Error::AliasReplayLimitExceeded { .. }
            | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
            | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
    ) || ["budget", "nesting", "recursion limit", "too large or too complex"]
        .iter()
        .any(|needle| text.contains(needle));
    let d = if too_big {
        Diagnostic::error(Code::InputTooLarge, format!("YAML too large or too deep: {text}"))
            .help(format!(
                "podlife accepts manifests nested at most {MAX_DEPTH} levels deep and bounded alias \
                 expansion (this guards against 'billion laughs' alias bombs)"
            ))
    } else {
        Diagnostic::error(Code::YamlSyntax, format!("YAML syntax error: {text}"))
    };
    d.at(Position::new(line, column, 1)).label(text)
}

/// The seed's slip: a key indented deeper than the key above it, which YAML then reads as a
/// continuation of that key's value. Shifts the block left to line up and reports it.
fn realign_key(
    lines: &mut [String],
    line: usize,
    chunk: std::ops::Range<usize>,
    shifts: &mut LineShifts,
) -> Option<Diagnostic> {
    let index = line.checked_sub(1)?;
    let current = lines.get(index)?;
    let indent = leading_spaces(current);
    let key = mapping_key(&current[indent..])?;
    let above = (chunk.start..index).rev().find(|&j| {
        let t = lines[j].trim();
        !t.is_empty() && !t.starts_with('#')
    })?;
    let prev = &lines[above];
    let mut column = leading_spaces(prev);
    while prev[column..].starts_with("- ") {
        column += 2 + leading_spaces(&prev[column + 2..]);
    }
    let prev_key = mapping_key(&prev[column..])?;
    let prev_value = prev[column + prev_key.len() + 1..].trim();
    if indent <= column || prev_value.is_empty() {
        return None;
    }
    let delta = indent - column;
    let at = Position::new(line, shifts.original_column(line, indent + 1), key.chars().count());
    let prev_at = Position::new(
        above + 1,
        shifts.original_column(above + 1, column + 1),
        prev_key.chars().count(),
    );
    let d = Diagnostic::error(
        Code::YamlIndentation,
        format!("`{key}` is indented more than `{prev_key}` above it"),
    )
    .at(at)
    .label(format!("YAML reads this line as part of the value `{prev_value}`"))
    .related(prev_at, format!("`{key}` should line up with `{prev_key}`"))
    .help(format!(
        "remove {delta} space{} before `{key}` (and before the lines that belong to it) so that it \
         starts in the same column as `{prev_key}`",
        if delta == 1 { "" } else { "s" }
    ));
    for j in index..chunk.end {
        if lines[j].trim().is_empty() {
            continue;
        }
        if leading_spaces(&lines[j]) < indent {
            break;
        }
        lines[j].drain(..delta);
        shifts.add(j + 1, delta as isize);
    }
    Some(d)
}

fn leading_spaces(s: &str) -> usize {
    s.len() - s.trim_start_matches(' ').len()
}

/// `key` of a line starting with `key:` (a plain, simple key).
fn mapping_key(s: &str) -> Option<&str> {
    let end = s.find(':')?;
    let key = &s[..end];
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    let after = &s[end + 1..];
    (ok && (after.is_empty() || after.starts_with([' ', '\t', '\r']))).then_some(key)
}

/// A YAML node as serde-saphyr delivers it, with locations relative to its chunk.
#[derive(Debug)]
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<String>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = Raw;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_none<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
                Raw::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
                Ok(i64::try_from(v).map_or(Raw::Float(v as f64), Raw::Int))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
                Ok(i64::try_from(v).map_or(Raw::Float(v as f64), Raw::Int))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Raw, E> {
                Ok(i64::try_from(v).map_or(Raw::Float(v as f64), Raw::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::Str(v))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Raw, E> {
                Ok(Raw::Str(String::from_utf8_lossy(v).into_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Raw::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(Raw::Map(entries))
            }
        }
        deserializer.deserialize_any(RawVisitor)
    }
}

fn position(location: &Location, line_offset: usize, shifts: &LineShifts) -> Position {
    let line = location.line() as usize + line_offset;
    let column = shifts.original_column(line, location.column() as usize);
    Position::new(line, column, location.span().len() as usize)
}

fn convert(raw: Spanned<Raw>, offset: usize, shifts: &LineShifts) -> Node {
    let at = position(&raw.referenced, offset, shifts);
    let value = match raw.value {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(i) => Value::Int(i),
        Raw::Float(f) => Value::Float(f),
        Raw::Str(s) => Value::Str(s),
        Raw::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|item| convert(item, offset, shifts))
                .collect(),
        ),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(key, value)| Entry {
                    key_at: position(&key.referenced, offset, shifts),
                    key: key.value,
                    value: convert(value, offset, shifts),
                })
                .collect(),
        ),
    };
    Node { value, at }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed {
        let mut repaired = Repaired {
            text: text.to_owned(),
            shifts: LineShifts::default(),
        };
        parse_stream(&mut repaired)
    }

    #[test]
    fn documents_keep_their_positions() {
        let p = parse("a: 1\n---\nkind: Pod\nspec:\n  x: \"80\"\n");
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        assert_eq!(p.documents.len(), 2);
        let spec = p.documents[1].entry("spec").unwrap();
        assert_eq!((spec.key_at.line, spec.key_at.column), (4, 1));
        let x = spec.value.get("x").unwrap();
        assert_eq!(x.value, Value::Str("80".into()));
        assert_eq!((x.at.line, x.at.column), (5, 6));
    }

    #[test]
    fn a_syntax_error_does_not_hide_other_documents() {
        let p = parse("a: [1\n---\nb: 2\n");
        assert_eq!(p.documents.len(), 1);
        assert_eq!(p.diagnostics.len(), 1);
        assert_eq!(p.diagnostics[0].code, Code::YamlSyntax);
    }

    #[test]
    fn mis_indented_key_is_realigned() {
        let p = parse("containers:\n- image: x:v2\n     name: war\n     lifecycle:\n      a: 1\nnext: 1\n");
        assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
        let d = &p.diagnostics[0];
        assert_eq!(d.code, Code::YamlIndentation);
        assert_eq!((d.at.unwrap().line, d.at.unwrap().column), (3, 6));
        let item = &p.documents[0].get("containers").unwrap();
        let Value::Seq(items) = &item.value else { panic!() };
        let name = items[0].entry("name").unwrap();
        // Positions are those of the original text.
        assert_eq!((name.key_at.line, name.key_at.column), (3, 6));
        assert!(items[0].get("lifecycle").unwrap().get("a").is_some());
        assert!(p.documents[0].get("next").is_some());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                vec![prev.as_str(); 10].join(", ")
            ));
        }
        let p = parse(&text);
        assert_eq!(p.documents.len(), 0);
        assert_eq!(p.diagnostics[0].code, Code::InputTooLarge, "{:?}", p.diagnostics);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        let p = parse(&text);
        assert_eq!(p.diagnostics[0].code, Code::InputTooLarge, "{:?}", p.diagnostics);
    }
}
