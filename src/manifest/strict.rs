//! Strict schema checking, like `kubectl apply --validate=strict`, but with every problem of a
//! document reported at once, each with its line and column and a suggestion.
//!
//! The checker walks the YAML tree against the compiled Kubernetes schema and, at the same
//! time, builds the JSON value that the typed k8s-openapi object is read from. Unknown fields
//! and values of the wrong type are left out of that JSON and missing required fields get an
//! empty value, so the typed object can always be built and the API rules can still run.

use k8s_openapi::ByteString;
use serde_json::{Map as JsonMap, Value as Json};

use super::diagnostic::{Code, Diagnostic, Position};
use super::field::FieldPath;
use super::newer;
use super::schema::{ObjectShape, Schema, Shape, ShapeId};
use super::source::Source;
use super::suggest::did_you_mean;
use super::version::SCHEMA_VERSION;
use super::yaml::{Entry, Node, Value};

/// What strict checking found, and the JSON for the typed object.
#[derive(Debug)]
pub struct Checked {
    pub json: Json,
    pub diagnostics: Vec<Diagnostic>,
    /// Paths the schema already complained about, so API rules do not repeat them.
    pub error_paths: Vec<FieldPath>,
}

/// Checks `node` as a `shape` found at `path`. `owner` is where the node's key is, for
/// "missing field" reports; a `fragment` root may lack its required fields.
pub fn check(
    source: &Source,
    node: &Node,
    shape: ShapeId,
    path: FieldPath,
    owner: Position,
    fragment: bool,
) -> Checked {
    let mut checker = Checker {
        schema: Schema::get(),
        source,
        diagnostics: Vec::new(),
        error_paths: Vec::new(),
    };
    let base = Path {
        parent: None,
        step: Step::Base(&path),
        object: None,
    };
    let json = checker
        .value(node, shape, &base, owner, !fragment)
        .unwrap_or_else(|| checker.default_for(shape));
    Checked {
        json,
        diagnostics: checker.diagnostics,
        error_paths: checker.error_paths,
    }
}

struct Checker<'a> {
    schema: &'static Schema,
    source: &'a Source,
    diagnostics: Vec<Diagnostic>,
    error_paths: Vec<FieldPath>,
}

/// Where the checker is, as a chain of steps on the stack: a [`FieldPath`] is only built
/// when something is reported, which keeps checking large streams cheap.
#[derive(Clone, Copy)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    step: Step<'a>,
    /// The object shape of the value here, for "this field belongs one level up" hints.
    object: Option<&'static ObjectShape>,
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Base(&'a FieldPath),
    Field(&'a str),
    Index(usize),
    Key(&'a str),
}

impl<'a> Path<'a> {
    fn step(&'a self, step: Step<'a>) -> Path<'a> {
        Path {
            parent: Some(self),
            step,
            object: None,
        }
    }

    fn child(&'a self, name: &'a str) -> Path<'a> {
        self.step(Step::Field(name))
    }

    fn index(&'a self, index: usize) -> Path<'a> {
        self.step(Step::Index(index))
    }

    fn key(&'a self, key: &'a str) -> Path<'a> {
        self.step(Step::Key(key))
    }

    fn field_path(&self) -> FieldPath {
        let parent = self.parent.map(Path::field_path).unwrap_or_default();
        match self.step {
            Step::Base(base) => parent.join(base),
            Step::Field(name) => parent.child(name),
            Step::Index(i) => parent.index(i),
            Step::Key(k) => parent.key(k),
        }
    }

    /// Enclosing objects, innermost first, with their paths.
    fn ancestors(&self) -> impl Iterator<Item = (&'static ObjectShape, &Path<'a>)> {
        std::iter::successors(self.parent, |p| p.parent).filter_map(|p| p.object.map(|o| (o, p)))
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.field_path().fmt(f)
    }
}

impl Checker<'_> {
    fn report(&mut self, path: &Path<'_>, diagnostic: Diagnostic) {
        let path = path.field_path();
        self.diagnostics.push(diagnostic.field(path.to_string()));
        self.error_paths.push(path);
    }

    /// The text of a scalar as the user wrote it.
    fn original(&self, node: &Node) -> String {
        let line = self.source.line(node.at.line);
        let text: String = line
            .chars()
            .skip(node.at.column.saturating_sub(1))
            .take(node.at.len.max(1))
            .collect();
        text.trim().to_owned()
    }

    fn value(
        &mut self,
        node: &Node,
        shape: ShapeId,
        path: &Path<'_>,
        owner: Position,
        required: bool,
    ) -> Option<Json> {
        let schema = self.schema;
        if node.is_null() {
            return Some(Json::Null);
        }
        match (schema.shape(shape), &node.value) {
            (Shape::Object(object), Value::Map(entries)) => {
                Some(self.object(object, entries, path, owner, required))
            }
            (Shape::Map(values), Value::Map(entries)) => {
                let mut out = JsonMap::new();
                for entry in entries {
                    let child = path.key(&entry.key);
                    if let Some(v) = self.value(&entry.value, *values, &child, entry.key_at, true) {
                        out.insert(entry.key.clone(), v);
                    }
                }
                Some(Json::Object(out))
            }
            (Shape::Array(item), Value::Seq(items)) => Some(Json::Array(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| self.value(n, *item, &path.index(i), n.at, true))
                    .collect(),
            )),
            (Shape::String, Value::Str(s)) => Some(Json::String(s.clone())),
            (Shape::Bytes, Value::Str(s)) => self.base64(node, s, path),
            (Shape::Integer(bits), Value::Int(i)) => {
                if *bits == 32 && i32::try_from(*i).is_err() {
                    self.report(
                        path,
                        Diagnostic::error(
                            Code::FieldInvalid,
                            format!("`{path}` is {i}, too large for a 32-bit integer"),
                        )
                        .at(node.at)
                        .label("out of range")
                        .help(format!(
                            "use a value between {} and {}",
                            i32::MIN,
                            i32::MAX
                        )),
                    );
                    return None;
                }
                Some(Json::from(*i))
            }
            (Shape::Number, Value::Int(i)) => Some(Json::from(*i)),
            (Shape::Number, Value::Float(f)) => serde_json::Number::from_f64(*f).map(Json::Number),
            (Shape::Boolean, Value::Bool(b)) => Some(Json::Bool(*b)),
            (Shape::IntOrString, Value::Int(i)) => Some(Json::from(*i)),
            (Shape::IntOrString, Value::Str(s)) => Some(Json::String(s.clone())),
            (Shape::Quantity, Value::Str(_) | Value::Int(_) | Value::Float(_)) => {
                let text = match &node.value {
                    Value::Str(s) => s.clone(),
                    _ => self.original(node),
                };
                Some(Json::String(text))
            }
            (Shape::Any, _) => Some(to_json(node)),
            (expected, _) => {
                self.wrong_type(node, expected, path);
                None
            }
        }
    }

    /// Base64 text, decoded as the API server decodes it (standard alphabet, padded).
    fn base64(&mut self, node: &Node, text: &str, path: &Path<'_>) -> Option<Json> {
        let json = Json::String(text.to_owned());
        match serde_json::from_value::<ByteString>(json.clone()) {
            Ok(_) => Some(json),
            Err(e) => {
                self.report(
                    path,
                    Diagnostic::error(
                        Code::FieldInvalid,
                        format!("`{path}` is not base64: {e}"),
                    )
                    .at(node.at)
                    .label("not base64")
                    .help(
                        "encode the value (`printf %s 'value' | base64`), or put the plain text \
                         in a Secret's `stringData` (a ConfigMap's `data`) instead",
                    ),
                );
                None
            }
        }
    }

    fn object(
        &mut self,
        object: &'static ObjectShape,
        entries: &[Entry],
        path: &Path<'_>,
        owner: Position,
        required: bool,
    ) -> Json {
        let mut out = JsonMap::new();
        let here = Path {
            object: Some(object),
            ..*path
        };
        let path = &here;
        for (index, entry) in entries.iter().enumerate() {
            let child = path.child(&entry.key);
            if let Some(first) = entries[..index].iter().find(|e| e.key == entry.key) {
                self.report(
                    &child,
                    Diagnostic::error(
                        Code::DuplicateKey,
                        format!("duplicate field `{}` {}", entry.key, describe_path(&path.field_path())),
                    )
                    .at(entry.key_at)
                    .label("second time")
                    .related(first.key_at, "first here")
                    .help("remove one of them: Kubernetes rejects duplicate fields under strict validation"),
                );
                continue;
            }
            match object.field(&entry.key) {
                Some(field) => {
                    if let Some(v) =
                        self.value(&entry.value, field.shape, &child, entry.key_at, true)
                    {
                        out.insert(entry.key.clone(), v);
                    }
                }
                None => {
                    if let Some(shape) = self.unknown_field(object, entry, entries, path) {
                        // Check the value as what the user most likely meant, so that
                        // problems further down are found in the same run.
                        let _ = self.value(&entry.value, shape, &child, entry.key_at, true);
                    }
                }
            }
        }
        if required {
            for name in &object.required {
                let present = entries.iter().any(|e| &e.key == name && !e.value.is_null());
                if !present {
                    let help = required_help(&object.name, name, entries);
                    self.report(
                        &path.child(name),
                        Diagnostic::error(
                            Code::FieldRequired,
                            format!(
                                "missing required field `{name}` {}",
                                describe_path(&path.field_path())
                            ),
                        )
                        .at(owner)
                        .label(format!("{} needs `{name}`", object.name))
                        .maybe_help(help),
                    );
                    if let Some(field) = object.field(name) {
                        out.insert(name.clone(), self.default_for(field.shape));
                    }
                }
            }
        }
        Json::Object(out)
    }

    /// Reports an unknown field; returns the shape its value should be checked as, when the
    /// intended field is clear.
    fn unknown_field(
        &mut self,
        object: &ObjectShape,
        entry: &Entry,
        siblings: &[Entry],
        path: &Path<'_>,
    ) -> Option<ShapeId> {
        let key = entry.key.as_str();
        let names = object.fields.iter().map(|f| f.name.as_str());
        let mut continue_as = None;
        let newer = newer::lookup(&object.name, key);
        let help = if let Some(newer) = newer {
            Some(newer.help())
        } else if let Some(meant) =
            did_you_mean(key, names).filter(|m| !siblings.iter().any(|s| s.key == *m))
        {
            continue_as = object.field(meant).map(|f| f.shape);
            Some(format!("did you mean `{meant}`?"))
        } else if let Some((sibling, owner)) = siblings.iter().find_map(|s| {
            let field = object.field(&s.key)?;
            let owner = self.schema.element_object(field.shape)?;
            owner.field(key).map(|f| {
                continue_as = Some(f.shape);
                (s, owner)
            })
        }) {
            let empty = if sibling.value.is_null() {
                format!(
                    "; `{}` is empty here, so this line has probably lost its indentation",
                    sibling.key
                )
            } else {
                String::new()
            };
            Some(format!(
                "`{key}` is a field of `{}` (a {}): indent it under `{}`{empty}",
                sibling.key, owner.name, sibling.key
            ))
        } else if let Some((owner, at)) = path.ancestors().find(|(o, _)| o.field(key).is_some()) {
            Some(format!(
                "`{key}` is a field of the {} {}, not of a {}: move it there",
                owner.name,
                describe_path(&at.field_path()),
                object.name
            ))
        } else if object.fields.len() <= 12 {
            let all: Vec<String> = object
                .fields
                .iter()
                .map(|f| format!("`{}`", f.name))
                .collect();
            Some(format!(
                "a {} has these fields: {}",
                object.name,
                all.join(", ")
            ))
        } else {
            None
        };
        self.report(
            &path.child(key),
            Diagnostic::error(
                Code::UnknownField,
                format!(
                    "unknown field `{key}` {}{}",
                    describe_path(&path.field_path()),
                    newer.map_or(String::new(), |n| format!(" {}", n.note()))
                ),
            )
            .at(entry.key_at)
            .label(match newer {
                Some(_) => format!(
                    "not a field of {} in Kubernetes {SCHEMA_VERSION}",
                    object.name
                ),
                None => format!("not a field of {}", object.name),
            })
            .maybe_help(help),
        );
        continue_as
    }

    fn wrong_type(&mut self, node: &Node, expected: &Shape, path: &Path<'_>) {
        let schema = self.schema;
        let raw = self.original(node);
        let (wanted, help) = match (expected, &node.value) {
            (Shape::String | Shape::Bytes, Value::Int(_) | Value::Float(_) | Value::Bool(_)) => (
                "a string".to_owned(),
                Some(format!(
                    "quote it: \"{raw}\" (YAML reads {raw} unquoted as {})",
                    node.describe().split(' ').next().unwrap_or("a number")
                )),
            ),
            (Shape::String | Shape::Bytes, Value::Seq(_) | Value::Map(_)) => (
                "a string".to_owned(),
                Some(if path.to_string().contains("annotations[") {
                    "annotation values are strings; write structured data as one quoted string (e.g. JSON)".to_owned()
                } else {
                    "write a single value".to_owned()
                }),
            ),
            (Shape::Integer(_) | Shape::Number, Value::Str(s))
                if s.trim().parse::<f64>().is_ok() =>
            {
                (
                    "a number".to_owned(),
                    Some(format!("remove the quotes: {}", s.trim())),
                )
            }
            (Shape::Integer(_), Value::Float(_)) => (
                "a whole number".to_owned(),
                Some("Kubernetes counts these in whole units".into()),
            ),
            (Shape::Integer(_) | Shape::Number, _) => ("a number".to_owned(), None),
            (Shape::Boolean, Value::Str(s)) if matches!(s.as_str(), "true" | "false") => (
                "true or false".to_owned(),
                Some(format!("remove the quotes: {s}")),
            ),
            (Shape::Boolean, _) => ("true or false".to_owned(), None),
            (Shape::IntOrString, _) => ("a number or a name".to_owned(), None),
            (Shape::Quantity, _) => ("a quantity such as 500m or 1Gi".to_owned(), None),
            (Shape::Array(_), Value::Str(_)) => (
                "a list".to_owned(),
                Some(format!("write a list: [{raw}] or one `- ` item per line")),
            ),
            (Shape::Array(_), Value::Map(_)) => (
                "a list".to_owned(),
                Some("start each item with `- `".to_owned()),
            ),
            (Shape::Array(_), _) => ("a list".to_owned(), None),
            (Shape::Object(o), Value::Seq(_)) => (
                format!("a mapping (a {})", o.name),
                Some("remove the `- `: this is a single object, not a list".to_owned()),
            ),
            (Shape::Object(o), _) => (format!("a mapping (a {})", o.name), None),
            (Shape::Map(values), _) => {
                let of = match schema.shape(*values) {
                    Shape::String => "of strings",
                    _ => "of values",
                };
                (format!("a mapping {of}"), None)
            }
            _ => ("another type".to_owned(), None),
        };
        self.report(
            path,
            Diagnostic::error(
                Code::WrongType,
                format!("`{path}` must be {wanted}, not {}", node.describe()),
            )
            .at(node.at)
            .label(format!("expected {wanted}"))
            .maybe_help(help),
        );
    }

    /// An empty value of `shape`, standing in for a missing required field.
    fn default_for(&self, shape: ShapeId) -> Json {
        match self.schema.shape(shape) {
            Shape::Object(o) => Json::Object(
                o.required
                    .iter()
                    .filter_map(|r| o.field(r))
                    .map(|f| (f.name.clone(), self.default_for(f.shape)))
                    .collect(),
            ),
            Shape::Map(_) | Shape::Any => Json::Object(JsonMap::new()),
            Shape::Array(_) => Json::Array(Vec::new()),
            Shape::String | Shape::Bytes | Shape::Quantity => Json::String(String::new()),
            Shape::Integer(_) | Shape::Number | Shape::IntOrString => Json::from(0),
            Shape::Boolean => Json::Bool(false),
        }
    }
}

/// `spec.containers[0]` as "in `spec.containers[0]`", the root as "at the top level".
pub fn describe_path(path: &FieldPath) -> String {
    if path.is_root() {
        "at the top level".to_owned()
    } else {
        format!("in `{path}`")
    }
}

/// Extra help for missing fields users commonly forget.
fn required_help(object: &str, field: &str, entries: &[Entry]) -> Option<String> {
    match (object, field) {
        (_, "selector") if object.ends_with("Spec") => {
            let labels = entries
                .iter()
                .find(|e| e.key == "template")
                .and_then(|t| t.value.get("metadata"))
                .and_then(|m| m.get("labels"))
                .map(|l| {
                    l.entries()
                        .iter()
                        .map(|e| format!("{}: {}", e.key, to_json(&e.value)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|l| !l.is_empty());
            Some(match labels {
                Some(labels) => format!(
                    "add `selector: {{matchLabels: {{{labels}}}}}` to match the template's labels \
                     (apps/v1 no longer defaults it)"
                ),
                None => {
                    "add a `selector` whose matchLabels match `template.metadata.labels`".to_owned()
                }
            })
        }
        ("Container", "name") => {
            Some("give the container a name (a DNS label such as `web`)".to_owned())
        }
        (_, "containers") => {
            Some("a pod needs at least one container under `containers`".to_owned())
        }
        _ => None,
    }
}

/// The node as plain JSON, no schema applied.
pub fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), to_json(&e.value)))
                .collect(),
        ),
    }
}
