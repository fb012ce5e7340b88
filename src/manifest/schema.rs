//! The Kubernetes OpenAPI schema of every served kind, compiled once for strict checking.
//!
//! The schema is not hand-written: it is what k8s-openapi publishes through `schemars` for the
//! Kubernetes version it is generated from, so field names, types and required fields follow
//! Kubernetes itself. It is compiled into a small graph of [`Shape`]s so that checking a
//! 10,000-document stream does not chase JSON references.

use std::collections::HashMap;
use std::sync::LazyLock;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Container, Lifecycle, LifecycleHandler, Pod, PodSpec, PodTemplateSpec, Probe,
    ReplicationController, Service,
};
use schemars::JsonSchema;

use super::catalog::{self, Served};
use serde_json::Value as Json;

/// Index of a [`Shape`] in the [`Schema`].
pub type ShapeId = usize;

/// What a value must look like.
#[derive(Debug)]
pub enum Shape {
    /// A mapping with known fields.
    Object(ObjectShape),
    /// A mapping with free-form keys and values of one shape (labels, annotations).
    Map(ShapeId),
    Array(ShapeId),
    String,
    /// Base64 text (`format: byte`): a Secret's `data`, a ConfigMap's `binaryData`.
    Bytes,
    /// An integer of the given bit width (32 or 64).
    Integer(u8),
    Number,
    Boolean,
    /// A port: a number or a name.
    IntOrString,
    /// A resource quantity: `500m`, `1Gi`, or a bare number.
    Quantity,
    /// Anything (raw extensions).
    Any,
}

/// A mapping with named fields, such as a Probe.
#[derive(Debug)]
pub struct ObjectShape {
    /// Short type name for messages: `Probe`, `Container`.
    pub name: String,
    pub fields: Vec<FieldShape>,
    pub required: Vec<String>,
}

impl ObjectShape {
    /// The field called `name`, exactly.
    pub fn field(&self, name: &str) -> Option<&FieldShape> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One field of an [`ObjectShape`].
#[derive(Debug)]
pub struct FieldShape {
    pub name: String,
    pub shape: ShapeId,
}

/// The compiled schema of every supported kind and the fragments users paste.
#[derive(Debug)]
pub struct Schema {
    shapes: Vec<Shape>,
    by_name: HashMap<String, ShapeId>,
}

static SCHEMA: LazyLock<Schema> = LazyLock::new(Schema::build);

impl Schema {
    /// The schema, compiled on first use.
    pub fn get() -> &'static Schema {
        &SCHEMA
    }

    pub fn shape(&self, id: ShapeId) -> &Shape {
        &self.shapes[id]
    }

    /// The object shape of `id`, if it is one.
    pub fn object(&self, id: ShapeId) -> Option<&ObjectShape> {
        match &self.shapes[id] {
            Shape::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The shape of the Kubernetes type `T`.
    pub fn of<T: JsonSchema>(&self) -> ShapeId {
        self.by_name[T::schema_name().as_ref()]
    }

    /// The shape of a kind of the [`catalog`].
    pub fn of_served(&self, served: &Served) -> ShapeId {
        self.by_name[(served.schema_name)().as_ref()]
    }

    /// The object shape reached through `id`, looking through arrays (`containers` → Container).
    pub fn element_object(&self, id: ShapeId) -> Option<&ObjectShape> {
        match &self.shapes[id] {
            Shape::Object(o) => Some(o),
            Shape::Array(item) => self.element_object(*item),
            _ => None,
        }
    }

    fn build() -> Schema {
        let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
        // Roots: the supported kinds and the fragments a pasted snippet may be.
        generator.subschema_for::<Pod>();
        generator.subschema_for::<Deployment>();
        generator.subschema_for::<ReplicaSet>();
        generator.subschema_for::<ReplicationController>();
        generator.subschema_for::<StatefulSet>();
        generator.subschema_for::<DaemonSet>();
        generator.subschema_for::<Job>();
        generator.subschema_for::<Service>();
        generator.subschema_for::<PodSpec>();
        generator.subschema_for::<PodTemplateSpec>();
        generator.subschema_for::<Container>();
        generator.subschema_for::<Probe>();
        generator.subschema_for::<Lifecycle>();
        generator.subschema_for::<LifecycleHandler>();
        // Every other served kind, so that objects podlife does not run are checked too.
        for served in catalog::all() {
            (served.register)(&mut generator);
        }
        let definitions = generator.take_definitions(false);
        let mut compiler = Compiler {
            definitions: &definitions,
            schema: Schema {
                shapes: Vec::new(),
                by_name: HashMap::new(),
            },
        };
        for name in definitions.keys() {
            compiler.named(name);
        }
        compiler.schema
    }
}

struct Compiler<'a> {
    definitions: &'a serde_json::Map<String, Json>,
    schema: Schema,
}

impl Compiler<'_> {
    fn push(&mut self, shape: Shape) -> ShapeId {
        self.schema.shapes.push(shape);
        self.schema.shapes.len() - 1
    }

    fn named(&mut self, name: &str) -> ShapeId {
        if let Some(&id) = self.schema.by_name.get(name) {
            return id;
        }
        if name.ends_with(".resource.Quantity") {
            let id = self.push(Shape::Quantity);
            self.schema.by_name.insert(name.to_owned(), id);
            return id;
        }
        // Reserve the slot first: definitions may refer to themselves.
        let id = self.push(Shape::Any);
        self.schema.by_name.insert(name.to_owned(), id);
        let definition = self.definitions.get(name).cloned().unwrap_or(Json::Null);
        let short = name.rsplit('.').next().unwrap_or(name).to_owned();
        self.schema.shapes[id] = self.compile(&definition, Some(short));
        id
    }

    fn inline(&mut self, schema: &Json) -> ShapeId {
        if let Some(reference) = schema.get("$ref").and_then(Json::as_str) {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            return self.named(name);
        }
        let shape = self.compile(schema, None);
        self.push(shape)
    }

    fn compile(&mut self, schema: &Json, name: Option<String>) -> Shape {
        if schema.get("x-kubernetes-int-or-string") == Some(&Json::Bool(true)) {
            return Shape::IntOrString;
        }
        if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Json::Bool(true)) {
            return Shape::Any;
        }
        match schema.get("type").and_then(Json::as_str) {
            Some("object") => {
                if let Some(properties) = schema.get("properties").and_then(Json::as_object) {
                    let fields = properties
                        .iter()
                        .map(|(field, sub)| FieldShape {
                            name: field.clone(),
                            shape: self.inline(sub),
                        })
                        .collect();
                    let required = schema
                        .get("required")
                        .and_then(Json::as_array)
                        .map(|r| {
                            r.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    Shape::Object(ObjectShape {
                        name: name.unwrap_or_else(|| "object".to_owned()),
                        fields,
                        required,
                    })
                } else if let Some(values) =
                    schema.get("additionalProperties").filter(|v| v.is_object())
                {
                    Shape::Map(self.inline(values))
                } else {
                    Shape::Any
                }
            }
            Some("array") => {
                let items = schema.get("items").cloned().unwrap_or(Json::Null);
                Shape::Array(self.inline(&items))
            }
            Some("string") if schema.get("format").and_then(Json::as_str) == Some("byte") => {
                Shape::Bytes
            }
            Some("string") => Shape::String,
            Some("integer") => Shape::Integer(
                if schema.get("format").and_then(Json::as_str) == Some("int32") {
                    32
                } else {
                    64
                },
            ),
            Some("number") => Shape::Number,
            Some("boolean") => Shape::Boolean,
            _ => Shape::Any,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_and_container_shapes_follow_kubernetes() {
        let schema = Schema::get();
        let probe = schema.object(schema.of::<Probe>()).unwrap();
        assert_eq!(probe.name, "Probe");
        let period = probe.field("periodSeconds").unwrap();
        assert!(matches!(schema.shape(period.shape), Shape::Integer(32)));
        let container = schema.object(schema.of::<Container>()).unwrap();
        assert_eq!(container.required, vec!["name".to_owned()]);
        let lifecycle = container.field("lifecycle").unwrap();
        let lifecycle = schema.object(lifecycle.shape).unwrap();
        assert!(lifecycle.field("preStop").is_some());
        let http = schema
            .object(
                schema
                    .object(schema.of::<LifecycleHandler>())
                    .unwrap()
                    .field("httpGet")
                    .unwrap()
                    .shape,
            )
            .unwrap();
        assert!(matches!(
            schema.shape(http.field("port").unwrap().shape),
            Shape::IntOrString
        ));
        let meta = schema
            .object(schema.of::<PodTemplateSpec>())
            .unwrap()
            .field("metadata")
            .unwrap();
        let labels = schema.object(meta.shape).unwrap().field("labels").unwrap();
        assert!(matches!(schema.shape(labels.shape), Shape::Map(_)));
    }
}
