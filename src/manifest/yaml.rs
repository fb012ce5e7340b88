//! YAML text → a tree of [`Node`]s that remember where in the original file they came from.
//!
//! Parsing is granit-parser's (the pure-Rust parser under serde-saphyr), turned into nodes here
//! with the scalar rules of Kubernetes' own YAML reader and with limits on nesting and alias
//! expansion. The stream is split into documents at `---` lines first, so a syntax error in one document does
//! not hide the others. When a key is indented so that YAML reads it as part of the previous
//! value (the seed's `- image: sample:v2` / `     name: war`), the slip is reported and the
//! block is re-aligned, so that the rest of the document is still checked.

use std::collections::HashMap;

use granit_parser::{Event, Options as ParserOptions, Parser, ScalarStyle, ScanError, Span};

use super::diagnostic::{Code, Diagnostic, Position};
use super::repair::{LineShifts, Repaired};

/// Deepest nesting accepted; Kubernetes objects nest about 15 levels.
pub const MAX_DEPTH: usize = 64;
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
    let mut parsed = Parsed::default();
    let mut starts = line_starts(&repaired.text);
    for chunk in split_documents(&repaired.text) {
        let mut repairs = 0;
        loop {
            let text = chunk_text(&repaired.text, &starts, &chunk);
            match parse_chunk(text, chunk.start, &repaired.shifts, repaired.apostrophe) {
                Ok(documents) => {
                    parsed
                        .documents
                        .extend(documents.into_iter().filter(|node| !node.is_null()));
                    break;
                }
                Err(err) => {
                    let line = err.line + chunk.start;
                    let column = err.column;
                    if repairs < MAX_REPAIRS && is_mapping_in_scalar(&err) {
                        let mut lines = repaired.lines();
                        if let Some(d) =
                            realign_key(&mut lines, line, chunk.clone(), &mut repaired.shifts)
                        {
                            repaired.set_lines(&lines);
                            starts = line_starts(&repaired.text);
                            parsed.diagnostics.push(d);
                            repairs += 1;
                            continue;
                        }
                    }
                    parsed.diagnostics.push(syntax_error(
                        &err,
                        line,
                        repaired.shifts.original_column(line, column),
                    ));
                    break;
                }
            }
        }
    }
    parsed
}

/// Byte offset of the start of each line.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The text of lines `chunk` (0-based, end exclusive), without allocating.
fn chunk_text<'t>(text: &'t str, starts: &[usize], chunk: &std::ops::Range<usize>) -> &'t str {
    let start = starts.get(chunk.start).copied().unwrap_or(text.len());
    let end = starts
        .get(chunk.end)
        .map_or(text.len(), |&e| e.saturating_sub(1));
    &text[start..end.max(start)]
}

/// Whether `text` is well-formed YAML as it stands (no repairs).
pub fn parses(text: &str) -> bool {
    Parser::new_from_str_with_options(text, parser_options()).all(|item| item.is_ok())
}

/// Line ranges of the documents of a stream: a `---` line starts one, a `...` line ends one.
fn split_documents(text: &str) -> Vec<std::ops::Range<usize>> {
    let marker = |line: &str, m: &str| {
        line.strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (i, line) in text.split('\n').enumerate() {
        count = i + 1;
        if marker(line, "---") && i > start {
            chunks.push(start..i);
            start = i;
        } else if marker(line, "...") {
            chunks.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < count {
        chunks.push(start..count);
    }
    chunks
}

fn parser_options() -> ParserOptions {
    let mut options = ParserOptions::default();
    // The parser recurses per level: stop it just past what documents may use.
    options.block_nesting_limit = MAX_DEPTH + 1;
    options.flow_nesting_limit = MAX_DEPTH + 1;
    options.emit_comments = false;
    options
}

/// Why a chunk did not parse.
struct ParseError {
    message: String,
    /// 1-based line and column inside the chunk.
    line: usize,
    column: usize,
    too_big: bool,
}

impl ParseError {
    fn at(span: &Span, message: String, too_big: bool) -> Self {
        Self {
            message,
            line: span.start.line(),
            column: span.start.col() + 1,
            too_big,
        }
    }
}

impl From<ScanError> for ParseError {
    fn from(e: ScanError) -> Self {
        let message = e.info();
        let too_big = message.contains("recursion limit") || message.contains("nesting");
        Self {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message,
            too_big,
        }
    }
}

fn is_mapping_in_scalar(err: &ParseError) -> bool {
    err.message.contains("mapping values are not allowed")
}

fn syntax_error(err: &ParseError, line: usize, column: usize) -> Diagnostic {
    let text = &err.message;
    let d = if err.too_big {
        Diagnostic::error(
            Code::InputTooLarge,
            format!("YAML too large or too deep: {text}"),
        )
        .help(format!(
            "podlife accepts manifests nested at most {MAX_DEPTH} levels deep and bounded alias \
                 expansion (this guards against 'billion laughs' alias bombs)"
        ))
    } else {
        Diagnostic::error(Code::YamlSyntax, format!("YAML syntax error: {text}"))
    };
    d.at(Position::new(line, column, 1)).label(text.clone())
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
    let at = Position::new(
        line,
        shifts.original_column(line, indent + 1),
        key.chars().count(),
    );
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
    .label(format!(
        "YAML reads this line as part of the value `{prev_value}`"
    ))
    .related(prev_at, format!("`{key}` should line up with `{prev_key}`"))
    .help(format!(
        "remove {delta} space{} before `{key}` (and before the lines that belong to it) so that it \
         starts in the same column as `{prev_key}`",
        if delta == 1 { "" } else { "s" }
    ));
    for (j, line) in lines.iter_mut().enumerate().take(chunk.end).skip(index) {
        if line.trim().is_empty() {
            continue;
        }
        if leading_spaces(line) < indent {
            break;
        }
        line.drain(..delta);
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

/// Nodes that aliases may copy into one document (the 'billion laughs' guard).
const MAX_ALIAS_NODES: usize = 100_000;

/// An open collection while its events arrive.
enum Frame {
    Seq {
        items: Vec<Node>,
        at: Position,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        key: Option<(String, Position)>,
        at: Position,
        anchor: usize,
    },
}

/// Builds [`Node`]s from parser events, with positions in the original text.
struct Builder<'a> {
    /// Lines before the chunk.
    offset: usize,
    shifts: &'a LineShifts,
    /// What `\'` was rewritten to in double-quoted scalars (see [`Repaired::apostrophe`]).
    apostrophe: Option<char>,
    stack: Vec<Frame>,
    /// Anchored nodes and their sizes, by anchor id.
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    documents: Vec<Node>,
}

/// Parses one chunk (one document, usually) into nodes positioned in the original text.
fn parse_chunk(
    text: &str,
    offset: usize,
    shifts: &LineShifts,
    apostrophe: Option<char>,
) -> Result<Vec<Node>, ParseError> {
    let mut builder = Builder {
        offset,
        shifts,
        apostrophe,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        documents: Vec::new(),
    };
    for item in Parser::new_from_str_with_options(text, parser_options()) {
        let (event, span) = item?;
        builder.event(event, &span)?;
    }
    Ok(builder.documents)
}

impl Builder<'_> {
    fn position(&self, span: &Span) -> Position {
        let line = span.start.line() + self.offset;
        let column = self.shifts.original_column(line, span.start.col() + 1);
        let len = if span.end.line() == span.start.line() {
            span.end.index().saturating_sub(span.start.index())
        } else {
            0
        };
        Position::new(line, column, len)
    }

    fn event(&mut self, event: Event<'_>, span: &Span) -> Result<(), ParseError> {
        match event {
            Event::Scalar(mut value, style, anchor, tag) => {
                let at = self.position(span);
                if let Some(stand_in) = self.apostrophe
                    && style == ScalarStyle::DoubleQuoted
                    && value.contains(stand_in)
                {
                    value = value.replace(stand_in, "'").into();
                }
                if let Some(Frame::Map {
                    key: key @ None, ..
                }) = self.stack.last_mut()
                {
                    // Keys stay text, as JSON object keys do.
                    *key = Some((value.into_owned(), at));
                    return Ok(());
                }
                let node = Node {
                    value: resolve_scalar(&value, style, tag.as_deref().map(|t| t.suffix())),
                    at,
                };
                self.anchor(anchor, &node, 1);
                self.attach(node, span)
            }
            Event::SequenceStart(_, anchor, _) => {
                let at = self.position(span);
                self.open(
                    Frame::Seq {
                        items: Vec::new(),
                        at,
                        anchor,
                    },
                    span,
                )
            }
            Event::MappingStart(_, anchor, _) => {
                let at = self.position(span);
                self.open(
                    Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        at,
                        anchor,
                    },
                    span,
                )
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, at, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { items, at, anchor }) => (Value::Seq(items), at, anchor),
                    Some(Frame::Map {
                        entries,
                        at,
                        anchor,
                        ..
                    }) => (Value::Map(merge_keys(entries)), at, anchor),
                    None => return Ok(()),
                };
                let node = Node { value, at };
                if anchor != 0 {
                    self.anchor(anchor, &node, size(&node));
                }
                self.attach(node, span)
            }
            Event::Alias(id) => {
                let Some((node, nodes)) = self.anchors.get(&id) else {
                    return Err(ParseError::at(
                        span,
                        "alias to an unknown anchor".into(),
                        false,
                    ));
                };
                self.alias_nodes += nodes;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(ParseError::at(
                        span,
                        format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                        true,
                    ));
                }
                let mut node = node.clone();
                node.at = self.position(span);
                self.attach(node, span)
            }
            Event::UnresolvedAlias(name) => Err(ParseError::at(
                span,
                format!("alias `*{name}` refers to no anchor defined before it"),
                false,
            )),
            _ => Ok(()),
        }
    }

    fn open(&mut self, frame: Frame, span: &Span) -> Result<(), ParseError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(ParseError::at(
                span,
                format!("nested more than {MAX_DEPTH} levels deep"),
                true,
            ));
        }
        if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
            return Err(complex_key(span));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn anchor(&mut self, anchor: usize, node: &Node, nodes: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), nodes));
        }
    }

    /// Adds a finished node to its parent, or makes it a document.
    fn attach(&mut self, node: Node, span: &Span) -> Result<(), ParseError> {
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some((key, key_at)) => entries.push(Entry {
                    key,
                    key_at,
                    value: node,
                }),
                // An alias used as a key: its text is the key.
                None => match scalar_text(&node) {
                    Some(text) => *key = Some((text, node.at)),
                    None => return Err(complex_key(span)),
                },
            },
        }
        Ok(())
    }
}

fn complex_key(span: &Span) -> ParseError {
    ParseError::at(
        span,
        "a list or mapping as a mapping key is not supported".into(),
        false,
    )
}

/// Number of nodes in `node`, for the alias budget.
fn size(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|e| size(&e.value)).sum::<usize>(),
        _ => 1,
    }
}

fn scalar_text(node: &Node) -> Option<String> {
    Some(match &node.value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        Value::Seq(_) | Value::Map(_) => return None,
    })
}

/// `<<: *base` merge keys: a mapping gets the merged mappings' entries it does not set itself.
fn merge_keys(entries: Vec<Entry>) -> Vec<Entry> {
    if !entries.iter().any(|e| e.key == "<<") {
        return entries;
    }
    let (merges, mut own): (Vec<Entry>, Vec<Entry>) =
        entries.into_iter().partition(|e| e.key == "<<");
    for merge in merges {
        let sources = match merge.value.value {
            Value::Seq(items) => items,
            _ => vec![merge.value],
        };
        for source in sources {
            if let Value::Map(inherited) = source.value {
                for entry in inherited {
                    if !own.iter().any(|e| e.key == entry.key) {
                        own.push(entry);
                    }
                }
            }
        }
    }
    own
}

/// Types a scalar the way Kubernetes' YAML reader (go-yaml v2, YAML 1.1 rules) does, so that
/// `version: 1.0`, `enabled: yes` and `mode: 0644` mean here what they mean to kubectl.
pub fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    if style != ScalarStyle::Plain || tag == Some("str") {
        return Value::Str(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if let Some(i) = parse_integer(unsigned) {
        return Value::Int(if negative { -i } else { i });
    }
    if is_decimal(unsigned)
        && let Ok(f) = text.replace('_', "").parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

/// YAML 1.1 integers: decimal, `0x` hex, `0b` binary, `0` or `0o` octal, `_` separators.
fn parse_integer(s: &str) -> Option<i64> {
    if s.is_empty() || s.starts_with('_') {
        return None;
    }
    let s: String = s.chars().filter(|&c| c != '_').collect();
    let (digits, radix) = if let Some(hex) = s.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(bin) = s.strip_prefix("0b") {
        (bin, 2)
    } else if let Some(oct) = s.strip_prefix("0o") {
        (oct, 8)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s.as_str(), 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i64::from_str_radix(digits, radix).ok()
}

/// `1.5`, `.5`, `1.`, `1e3`, `1.5E-3`, `12345678901234567890` (an integer too big for i64).
fn is_decimal(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (a.is_empty() || digits(a))
                && (b.is_empty() || digits(b))
                && !(a.is_empty() && b.is_empty())
        }
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(|e| digits(e.trim_start_matches(['+', '-'])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed {
        let mut repaired = Repaired {
            text: text.to_owned(),
            ..Repaired::default()
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
        let p = parse(
            "containers:\n- image: x:v2\n     name: war\n     lifecycle:\n      a: 1\nnext: 1\n",
        );
        assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
        let d = &p.diagnostics[0];
        assert_eq!(d.code, Code::YamlIndentation);
        assert_eq!((d.at.unwrap().line, d.at.unwrap().column), (3, 6));
        let item = &p.documents[0].get("containers").unwrap();
        let Value::Seq(items) = &item.value else {
            panic!()
        };
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
                [prev.as_str(); 10].join(", ")
            ));
        }
        let p = parse(&text);
        assert_eq!(p.documents.len(), 0);
        assert_eq!(
            p.diagnostics[0].code,
            Code::InputTooLarge,
            "{:?}",
            p.diagnostics
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        let p = parse(&text);
        assert_eq!(
            p.diagnostics[0].code,
            Code::InputTooLarge,
            "{:?}",
            p.diagnostics
        );
    }
}
