//! One YAML document → typed objects (several for a `kind: List`), or a checked fragment.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Container, Lifecycle, PodSpec, PodTemplateSpec, Probe};
use serde::de::DeserializeOwned;

use super::diagnostic::{Code, Diagnostic, Position};
use super::field::FieldPath;
use super::kinds::{self, Role};
use super::not_run::{self, NotRun, Other};
use super::object::{Input, Kind, Object};
use super::options::Options;
use super::removed;
use super::schema::{Schema, ShapeId};
use super::source::Source;
use super::strict::{self, Checked};
use super::validate::{self, FieldError, Fragment};
use super::yaml::{Entry, Node, Value};

/// A valid-enough object and where it came from: an [`Object`] podlife runs, or an [`Input`]
/// that pods consume.
#[derive(Debug, Clone)]
pub struct Manifest<O = Object> {
    pub object: O,
    pub origin: Origin,
}

/// Where an object was written, so later stages (expansion, the engine) can point at it.
#[derive(Debug, Clone)]
pub struct Origin {
    pub source: Arc<Source>,
    /// 1-based index of the document in its file.
    pub document: usize,
    /// The object's first line.
    pub at: Position,
    /// The apiVersion as written.
    pub api_version: String,
    /// The document's YAML tree.
    pub tree: Arc<Node>,
    /// The object's path inside the document (`items[2]` in a List).
    pub prefix: FieldPath,
}

impl Origin {
    /// `file:line` of the object, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.source.name(), self.at.line)
    }

    /// Where `path` (relative to the object) is in the source.
    pub fn locate(&self, path: &FieldPath) -> Position {
        self.prefix.join(path).locate(&self.tree, false)
    }
}

/// What one document yielded.
#[derive(Debug, Default)]
pub struct Interpreted {
    pub manifests: Vec<Manifest>,
    pub inputs: Vec<Manifest<Input>>,
    pub not_run: Vec<NotRun>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks document number `index` of `source` and reads its objects.
pub fn interpret(source: &Arc<Source>, node: Node, index: usize, options: &Options) -> Interpreted {
    let tree = Arc::new(node);
    let mut out = Interpreted::default();
    let list_kind = tree
        .get("kind")
        .and_then(Node::as_str)
        .filter(|k| k.ends_with("List"));
    match (list_kind, tree.get("items")) {
        (Some(kind), Some(items)) => {
            let Value::Seq(items) = &items.value else {
                out.diagnostics.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!("`items` of a {kind} must be a list"),
                    )
                    .at(items.at)
                    .field("items"),
                );
                return out;
            };
            let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
            for (i, item) in items.iter().enumerate() {
                let prefix = FieldPath::root().child("items").index(i);
                if let (Some(expected), Some(actual)) =
                    (item_kind, item.get("kind").and_then(Node::as_str))
                    && expected != actual
                {
                    out.diagnostics.push(
                        Diagnostic::error(
                            Code::FieldInvalid,
                            format!("a {kind} may only hold {expected} objects, not {actual}"),
                        )
                        .at(item.at)
                        .field(prefix.to_string()),
                    );
                }
                object(source, &tree, item, prefix, index, options, &mut out);
            }
        }
        _ => object(
            source,
            &tree,
            &tree,
            FieldPath::root(),
            index,
            options,
            &mut out,
        ),
    }
    out
}

/// Checks one object (the document itself, or an item of a List).
fn object(
    source: &Arc<Source>,
    tree: &Arc<Node>,
    node: &Node,
    prefix: FieldPath,
    index: usize,
    options: &Options,
    out: &mut Interpreted,
) {
    let Value::Map(entries) = &node.value else {
        out.diagnostics.push(
            Diagnostic::error(
                Code::NotAnObject,
                format!(
                    "document {index} is {}, not a Kubernetes object",
                    node.describe()
                ),
            )
            .at(node.at)
            .label("expected a mapping with apiVersion, kind, metadata and spec"),
        );
        return;
    };
    let kind_entry = node.entry("kind");
    let kind = match kind_entry.map(|e| &e.value) {
        None => match guess_kind(node) {
            Some(kind) => {
                out.diagnostics.push(
                    Diagnostic::error(Code::MissingKind, format!("document {index} has no `kind`"))
                        .at(node.at)
                        .label("kind missing")
                        .help(format!(
                            "this looks like a {kind}: add `apiVersion: {}` and `kind: {kind}`",
                            kind.api_version()
                        )),
                );
                kind
            }
            None => return fragment(source, node, index, out),
        },
        Some(value) => {
            let Some(name) = value.as_str() else {
                out.diagnostics.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!("`kind` must be a string, not {}", value.describe()),
                    )
                    .at(value.at)
                    .field(prefix.child("kind").to_string()),
                );
                return;
            };
            let api_version = node.get("apiVersion").and_then(Node::as_str);
            match kinds::classify(api_version, name) {
                Role::Podlife(kind) => kind,
                role => {
                    let Some(kind_entry) = kind_entry else {
                        return;
                    };
                    let other = Other {
                        source,
                        node,
                        prefix: &prefix,
                        kind: name,
                        kind_entry,
                        api_version,
                    };
                    return not_run::check(&other, role, options, out);
                }
            }
        }
    };

    let (api_version, defaulted) =
        check_api_version(node, entries, kind, kind_entry, &prefix, options, out);
    let node = defaulted.as_ref().unwrap_or(node);
    legacy_annotations(node, kind, &prefix, out);

    let owner = kind_entry.map_or(node.at, |e| e.key_at);
    let Checked {
        mut json,
        diagnostics,
        error_paths,
    } = strict::check(source, node, kind.shape(), prefix.clone(), owner, false);
    out.diagnostics.extend(diagnostics);
    json["apiVersion"] = kind.api_version().into();
    json["kind"] = kind.as_str().into();
    let origin = Origin {
        source: source.clone(),
        document: index,
        at: tree_at(tree, &prefix),
        api_version,
        tree: tree.clone(),
        prefix: prefix.clone(),
    };
    let unreadable = |e: serde_json::Error| {
        Diagnostic::error(Code::WrongType, format!("cannot read this {kind}: {e}")).at(node.at)
    };
    if kind.is_pod_input() {
        match Input::from_json(kind, json) {
            Ok(input) => {
                let rules = validate::validate_input(&input);
                push_rule_errors(rules, &error_paths, node, &prefix, out);
                out.inputs.push(Manifest {
                    object: input,
                    origin,
                });
            }
            Err(e) => out.diagnostics.push(unreadable(e)),
        }
        return;
    }
    match Object::from_json(kind, json) {
        Ok(object) => {
            let rules = validate::validate_object(&object);
            push_rule_errors(rules, &error_paths, node, &prefix, out);
            out.manifests.push(Manifest { object, origin });
        }
        Err(e) => out.diagnostics.push(unreadable(e)),
    }
}

fn tree_at(tree: &Node, prefix: &FieldPath) -> Position {
    prefix.locate(tree, false)
}

/// Rule findings, minus those on a path the schema already reported.
pub(crate) fn push_rule_errors(
    rules: Vec<FieldError>,
    error_paths: &[FieldPath],
    node: &Node,
    prefix: &FieldPath,
    out: &mut Interpreted,
) {
    for error in rules {
        let full = prefix.join(&error.path);
        if error_paths.iter().any(|p| full.starts_with(p)) {
            continue;
        }
        let mut d = error.into_diagnostic(node, &FieldPath::root());
        d.field = Some(full.to_string());
        out.diagnostics.push(d);
    }
}

/// Checks `apiVersion` against `kind`; returns it as written and, for old apiVersions that
/// defaulted the selector, a copy of `node` with the selector added as the API server did.
fn check_api_version(
    node: &Node,
    entries: &[Entry],
    kind: Kind,
    kind_entry: Option<&Entry>,
    prefix: &FieldPath,
    options: &Options,
    out: &mut Interpreted,
) -> (String, Option<Node>) {
    let modern = kind.api_version();
    let field = prefix.child("apiVersion").to_string();
    let Some(entry) = entries.iter().find(|e| e.key == "apiVersion") else {
        let help = format!("add `apiVersion: {modern}` (podlife checks this {kind} as {modern})");
        out.diagnostics.push(
            kinds::missing_api_version(kind.as_str(), help)
                .at(kind_entry.map_or(node.at, |e| e.key_at))
                .field(field),
        );
        return (modern.to_owned(), None);
    };
    let Some(written) = entry.value.as_str() else {
        return (modern.to_owned(), None);
    };
    if written == modern {
        return (written.to_owned(), None);
    }
    let mut defaulted = None;
    if let Some(removed) = removed::lookup(written, kind.as_str()) {
        let mut d = removed.diagnostic(kind.as_str(), options, Some(modern));
        let mut copy = node.clone();
        if kind.defaults_selector(written) && default_selector(&mut copy) {
            defaulted = Some(copy);
            let help = d.help.take().unwrap_or_default();
            d = d.help(format!(
                "{help}, with `spec.selector` defaulted from the template's labels as this old \
                 version did (apps/v1 requires it to be written)"
            ));
        }
        out.diagnostics.push(d.at(entry.value.at).field(field));
    } else {
        out.diagnostics.push(
            kinds::wrong_api_version(written, kind.as_str(), modern)
                .at(entry.value.at)
                .field(field),
        );
    }
    (written.to_owned(), defaulted)
}

/// Adds `spec.selector.matchLabels` = the template's labels when the selector is missing.
fn default_selector(node: &mut Node) -> bool {
    let Value::Map(entries) = &mut node.value else {
        return false;
    };
    let Some(spec) = entries.iter_mut().find(|e| e.key == "spec") else {
        return false;
    };
    if spec.value.get("selector").is_some() {
        return false;
    }
    let Some(labels) = spec
        .value
        .get("template")
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .cloned()
    else {
        return false;
    };
    let at = spec.key_at;
    let selector = Node {
        value: Value::Map(vec![Entry {
            key: "matchLabels".to_owned(),
            key_at: at,
            value: labels,
        }]),
        at,
    };
    if let Value::Map(spec_entries) = &mut spec.value.value {
        spec_entries.push(Entry {
            key: "selector".to_owned(),
            key_at: at,
            value: selector,
        });
        return true;
    }
    false
}

/// The pre-1.6 `pod.beta.kubernetes.io/init-containers` annotation, which Kubernetes stopped
/// reading in 1.8: the init containers it lists never run.
fn legacy_annotations(node: &Node, kind: Kind, prefix: &FieldPath, out: &mut Interpreted) {
    let places = [
        (
            node.get("metadata"),
            FieldPath::root().child("metadata"),
            true,
        ),
        (
            node.get("spec")
                .and_then(|s| s.get("template"))
                .and_then(|t| t.get("metadata")),
            FieldPath::root()
                .child("spec")
                .child("template")
                .child("metadata"),
            false,
        ),
    ];
    for (meta, path, on_object) in places {
        let Some(annotations) = meta.and_then(|m| m.get("annotations")) else {
            continue;
        };
        for entry in annotations.entries() {
            if !entry
                .key
                .to_lowercase()
                .ends_with(".kubernetes.io/init-containers")
                && !entry
                    .key
                    .to_lowercase()
                    .ends_with(".k8s.io/init-containers")
            {
                continue;
            }
            let target = if kind == Kind::Pod {
                "spec.initContainers"
            } else {
                "spec.template.spec.initContainers"
            };
            let mut help = format!(
                "declare the init containers under `{target}` (a field since Kubernetes 1.6)"
            );
            if on_object && kind.is_workload() && kind != Kind::Pod {
                help.push_str(&format!(
                    "; note that this annotation sits on the {kind} itself, not on its pod template, \
                     so even Kubernetes 1.5 would not have run these containers"
                ));
            }
            out.diagnostics.push(
                Diagnostic::warning(
                    Code::Deprecated,
                    format!(
                        "the `{}` annotation is ignored since Kubernetes 1.8",
                        entry.key
                    ),
                )
                .at(entry.key_at)
                .label("these init containers never run")
                .field(
                    prefix
                        .join(&path.child("annotations").key(&entry.key))
                        .to_string(),
                )
                .help(help),
            );
        }
    }
}

/// The kind a document without `kind` most likely is: a Pod when `spec` has containers, a
/// Deployment when it has a pod template, a Service when it has ports.
fn guess_kind(node: &Node) -> Option<Kind> {
    let spec = node.get("spec")?;
    if spec.get("containers").is_some() {
        Some(Kind::Pod)
    } else if spec.get("template").is_some() {
        Some(Kind::Deployment)
    } else if spec.get("ports").is_some() {
        Some(Kind::Service)
    } else {
        None
    }
}

/// A snippet without `kind` that is part of an object: checked as what it looks like.
fn fragment(source: &Arc<Source>, node: &Node, index: usize, out: &mut Interpreted) {
    let schema = Schema::get();
    let candidates: [(&str, ShapeId, &str); 5] = [
        (
            "pod spec",
            schema.of::<PodSpec>(),
            "put these fields under `spec:` of a Pod (apiVersion: v1, kind: Pod, metadata: {name: …})",
        ),
        (
            "container",
            schema.of::<Container>(),
            "put the container under `spec.containers` of a Pod, or of a workload's pod template",
        ),
        (
            "probe",
            schema.of::<Probe>(),
            "put it under a container's `livenessProbe`, `readinessProbe` or `startupProbe`",
        ),
        (
            "lifecycle",
            schema.of::<Lifecycle>(),
            "put it under a container's `lifecycle`",
        ),
        (
            "pod template",
            schema.of::<PodTemplateSpec>(),
            "put it under `spec.template` of a workload",
        ),
    ];
    let keys: Vec<&str> = node.entries().iter().map(|e| e.key.as_str()).collect();
    let best = candidates
        .iter()
        .map(|c| {
            let shape = schema.object(c.1);
            let known = keys
                .iter()
                .filter(|k| shape.is_some_and(|s| s.field(k).is_some()))
                .count();
            (known, c)
        })
        .filter(|(known, _)| *known > 0 && known * 2 >= keys.len())
        .max_by_key(|(known, c)| (*known, std::cmp::Reverse(c.0)));
    let Some((_, &(what, shape, wrap))) = best else {
        let supported: Vec<&str> = Kind::RUN.iter().map(|k| k.as_str()).collect();
        out.diagnostics.push(
            Diagnostic::error(Code::MissingKind, format!("document {index} has no `kind`"))
                .at(node.at)
                .label("kind missing")
                .help(format!(
                    "add `apiVersion` and `kind` (podlife runs {})",
                    supported.join(", ")
                )),
        );
        return;
    };
    out.diagnostics.push(
        Diagnostic::error(
            Code::MissingKind,
            format!("document {index} has no `kind`: it is a fragment of a {what}"),
        )
        .at(node.at)
        .label(format!("checked as a {what}"))
        .help(format!("podlife needs whole objects to run: {wrap}")),
    );
    let checked = strict::check(source, node, shape, FieldPath::root(), node.at, true);
    out.diagnostics.extend(checked.diagnostics);
    let json = checked.json;
    let fragment = match what {
        "pod spec" => read(json).map(Fragment::PodSpec),
        "container" => read(json).map(Fragment::Container),
        "probe" => read(json).map(Fragment::Probe),
        "lifecycle" => read(json).map(Fragment::Lifecycle),
        _ => read(json).map(Fragment::PodTemplateSpec),
    };
    if let Some(fragment) = fragment {
        // A snippet lacks what its surroundings would give it (a container's name and image).
        let rules = validate::validate_fragment(&fragment)
            .into_iter()
            .filter(|e| !(e.kind == validate::ErrorKind::Required && e.path.depth() == 1))
            .collect();
        push_rule_errors(rules, &checked.error_paths, node, &FieldPath::root(), out);
    }
}

fn read<T: DeserializeOwned>(json: serde_json::Value) -> Option<Box<T>> {
    serde_json::from_value(json).ok().map(Box::new)
}
