//! Objects podlife reads but does not run: ServiceAccounts, Roles, Ingresses, CRDs and their
//! custom resources in an application bundle.
//!
//! A bundle is valid when its objects are: kinds Kubernetes serves are checked against their
//! schema (so a typo in a Role is still caught) and noted, custom resources are noted without
//! a check, and neither makes the file invalid unless `--strict-kinds` asks for it.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::catalog::{self, Served};
use super::diagnostic::{Code, Diagnostic, Position};
use super::document::{Interpreted, push_rule_errors};
use super::field::FieldPath;
use super::kinds::{self, Role};
use super::object::{Kind, name_of, namespace_of};
use super::options::Options;
use super::schema::Schema;
use super::source::Source;
use super::strict;
use super::suggest::did_you_mean;
use super::validate;
use super::version::SCHEMA_VERSION;
use super::yaml::{Entry, Node};

/// An object podlife does not run, for listings and for `podlife run`'s report of what it
/// skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotRun {
    pub kind: String,
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub name: String,
    pub namespace: String,
    /// Where its `kind` is written.
    #[serde(flatten)]
    pub at: Position,
    /// Whether its fields were checked against a Kubernetes schema.
    pub checked: bool,
}

impl std::fmt::Display for NotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not run by podlife: {} {}", self.kind, self.name)
    }
}

/// An object whose kind is not one podlife runs, and where it is.
pub struct Other<'a> {
    pub source: &'a Arc<Source>,
    pub node: &'a Node,
    /// The object's path in its document (`items[2]` in a List).
    pub prefix: &'a FieldPath,
    pub kind: &'a str,
    /// The `kind: …` entry.
    pub kind_entry: &'a Entry,
    pub api_version: Option<&'a str>,
}

/// Checks an object of `role` (anything but [`Role::Podlife`]), noting it or reporting why it
/// is wrong.
pub fn check(other: &Other<'_>, role: Role, options: &Options, out: &mut Interpreted) {
    let kind = other.kind;
    let written = other.api_version.unwrap_or_default();
    let kind_at = other.kind_entry.value.at;
    let api_field = other.prefix.child("apiVersion").to_string();
    let api_at = other
        .node
        .get("apiVersion")
        .map_or(other.kind_entry.key_at, |v| v.at);
    let schema: Option<&Served> = match role {
        Role::Podlife(_) => return,
        Role::Served(served) => Some(served),
        Role::Custom => None,
        Role::Removed(removed) => {
            out.diagnostics.push(
                removed
                    .diagnostic(kind, options, None)
                    .at(api_at)
                    .field(api_field),
            );
            None
        }
        Role::MissingApiVersion { served_at } => {
            let help = match served_at.first() {
                Some(v) => format!("add `apiVersion: {v}`"),
                None => format!(
                    "add the apiVersion (group/version) of the CustomResourceDefinition that \
                     defines {kind}"
                ),
            };
            out.diagnostics.push(
                kinds::missing_api_version(kind, help)
                    .at(other.kind_entry.key_at)
                    .field(api_field),
            );
            served_at.first().and_then(|v| catalog::lookup(v, kind))
        }
        Role::WrongApiVersion { served_at } => {
            let modern = served_at[0];
            out.diagnostics.push(
                kinds::wrong_api_version(written, kind, modern)
                    .at(api_at)
                    .field(api_field),
            );
            catalog::lookup(modern, kind)
        }
        Role::Unknown => {
            out.diagnostics.push(unknown_kind(other, written));
            return;
        }
    };
    let checked = schema.is_some();
    let json = match schema {
        Some(served) => schema_check(other, served, out),
        None => strict::to_json(other.node),
    };
    let meta: ObjectMeta = json
        .get("metadata")
        .cloned()
        .and_then(|m| serde_json::from_value(m).ok())
        .unwrap_or_default();
    let not_run = NotRun {
        kind: kind.to_owned(),
        api_version: written.to_owned(),
        name: name_of(&meta).to_owned(),
        namespace: namespace_of(&meta).to_owned(),
        at: kind_at,
        checked,
    };
    out.diagnostics
        .push(note(&not_run, options, other).field(other.prefix.child("kind").to_string()));
    out.not_run.push(not_run);
}

/// The schema check of an object of a served kind, and the metadata rules every kind
/// shares (labels, annotations, a name); returns the object as JSON.
fn schema_check(other: &Other<'_>, served: &Served, out: &mut Interpreted) -> serde_json::Value {
    let shape = Schema::get().of_served(served);
    let checked = strict::check(
        other.source,
        other.node,
        shape,
        other.prefix.clone(),
        other.kind_entry.key_at,
        false,
    );
    out.diagnostics.extend(checked.diagnostics);
    if let Some(meta) = checked
        .json
        .get("metadata")
        .cloned()
        .and_then(|m| serde_json::from_value::<ObjectMeta>(m).ok())
    {
        let mut errors = Vec::new();
        // Names follow per-kind rules (`system:controller:x` is a valid ClusterRole name).
        validate::validate_meta(
            &meta,
            |_| Ok(()),
            &FieldPath::root().child("metadata"),
            &mut errors,
        );
        push_rule_errors(errors, &checked.error_paths, other.node, other.prefix, out);
    }
    checked.json
}

/// The note for an object podlife does not run, or the error `--strict-kinds` makes of it.
fn note(not_run: &NotRun, options: &Options, other: &Other<'_>) -> Diagnostic {
    let at = other.kind_entry.value.at;
    let checked = if not_run.checked {
        format!(
            "its fields were checked against the Kubernetes {SCHEMA_VERSION} schema of {} {}",
            not_run.api_version, not_run.kind
        )
    } else if catalog::is_builtin_group(catalog::group_of(&not_run.api_version)) {
        "its fields were not checked (podlife has no schema for this apiVersion)".to_owned()
    } else {
        format!(
            "a custom resource: its fields were not checked (podlife has no schema for `{}`)",
            not_run.api_version
        )
    };
    if options.strict_kinds {
        return Diagnostic::error(
            Code::UnsupportedKind,
            format!("podlife does not run `{}` objects", not_run.kind),
        )
        .at(at)
        .label("unsupported kind")
        .help(format!(
            "podlife runs {}, and reads {} for their pods; without --strict-kinds other objects \
             are checked and noted, not errors",
            list(&Kind::RUN),
            list(&Kind::INPUTS)
        ));
    }
    Diagnostic::note(Code::NotRun, not_run.to_string())
        .at(at)
        .label("not run")
        .help(checked)
}

fn list(kinds: &[Kind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A kind the built-in apiVersion does not have, with the likely meant one.
fn unknown_kind(other: &Other<'_>, written: &str) -> Diagnostic {
    let group = catalog::group_of(written);
    let mut candidates: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    candidates.extend(catalog::kinds_in_group(group));
    let help = match did_you_mean(other.kind, candidates) {
        Some(meant) => format!(
            "did you mean `{meant}`? (`kubectl api-resources` lists the kinds a cluster serves)"
        ),
        None => format!(
            "`kubectl api-resources --api-group={group}` lists the kinds of this group; podlife \
             runs {}",
            list(&Kind::RUN)
        ),
    };
    Diagnostic::error(
        Code::UnknownKind,
        format!("`{written}` has no kind `{}`", other.kind),
    )
    .at(other.kind_entry.value.at)
    .label("unknown kind")
    .field(other.prefix.child("kind").to_string())
    .help(help)
}
