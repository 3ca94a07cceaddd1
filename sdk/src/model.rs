//! What the generators read: one API version's operations and named types, taken from the
//! same OpenAPI document the docs and the gateway load (`$ref`s kept, so named schemas become
//! named types and recursive schemas stay finite).

use crate::SdkError;
use serde_json::{Map, Value};

/// One API version, as the SDKs see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Api {
    /// The version's name, as in its URLs: `v2`.
    pub version: String,
    /// The number in the name: 2 (the packages' major version).
    pub major: u64,
    /// `info.title`: "Portico Commercial API".
    pub title: String,
    /// `info.description`.
    pub description: String,
    /// `info.version` as written: "2.0.0".
    pub info_version: String,
    /// Operations in document order (paths, then methods).
    pub operations: Vec<Operation>,
    /// `components.schemas`, in document order.
    pub types: Vec<NamedType>,
    /// Every `__type` the model documents: the error schema's enum, then the types its
    /// response examples name, in first-seen order.
    pub error_types: Vec<ErrorType>,
    /// The oauth2 scheme's client-credentials scopes and their descriptions.
    pub scopes: Vec<(String, String)>,
    /// The webhook event names (`order.created`).
    pub webhook_events: Vec<String>,
}

/// An error `__type`, the statuses it comes with and whether its body has `fieldErrors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorType {
    pub name: String,
    pub statuses: Vec<u16>,
    pub has_field_errors: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NamedType {
    pub name: String,
    pub description: Option<String>,
    pub schema: Schema,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Schema {
    /// A named type (`#/components/schemas/Order` → `Order`).
    Ref(String),
    String {
        /// The allowed values, when the schema lists them (or has a string `const`).
        enumeration: Option<Vec<String>>,
        /// `date-time`, `email`, … (documentation only: values stay strings).
        format: Option<String>,
    },
    Integer,
    Number,
    Boolean,
    Null,
    Array(Box<Schema>),
    Object(ObjectSchema),
    /// An object with only `additionalProperties: <schema>`: a string-keyed map.
    Map(Box<Schema>),
    /// `oneOf` / `anyOf` / a `type` list (`[string, "null"]`).
    Union(Vec<Schema>),
    /// `allOf`: every part at once.
    AllOf(Vec<Schema>),
    /// Anything (no type, or one the generators cannot express).
    Any,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectSchema {
    pub properties: Vec<Property>,
    /// Whether other properties may appear (`additionalProperties` not false).
    pub open: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    pub name: String,
    pub schema: Schema,
    pub required: bool,
    pub description: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    /// The name on the wire: `orderId`, `limit`, `Idempotency-Key`.
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub schema: Schema,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RequestBody {
    pub schema: Schema,
    pub required: bool,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Success {
    pub status: u16,
    /// The JSON body's schema; `None` for an empty response (204).
    pub schema: Option<Schema>,
}

/// An error response of one operation: its status and the `__type`s it documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationError {
    pub status: u16,
    pub types: Vec<String>,
    pub description: String,
}

/// How a list operation pages (the model's `x-sandbox.pagination`, same defaults as the
/// gateway).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pagination {
    /// `?cursor=…&limit=n` → `{<items_field>: [...], <next_cursor_field>: "…" | null}`.
    Cursor {
        cursor_param: String,
        limit_param: String,
        items_field: String,
        next_cursor_field: String,
    },
    /// `?page=p&per_page=n` → `{<items_field>: [...], <total_field>: total}`; the last page
    /// is the first shorter than `per_page` (or the one that reaches `total`).
    Page {
        page_param: String,
        size_param: String,
        items_field: String,
        total_field: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// `operationId`: `CreateOrder`.
    pub id: String,
    /// Upper case: `POST`.
    pub method: String,
    /// The template under the version: `/commercial/orders/{orderId}`.
    pub path: String,
    pub summary: String,
    pub description: String,
    pub tag: Option<String>,
    pub deprecated: bool,
    pub scopes: Vec<String>,
    /// Path, query and header parameters (operation-level over path-level, by name and
    /// location), without `Authorization` and `x-api-key`, which the runtime sends.
    pub parameters: Vec<Parameter>,
    pub body: Option<RequestBody>,
    /// The first 2xx response.
    pub success: Success,
    pub errors: Vec<OperationError>,
    pub pagination: Option<Pagination>,
}

impl Operation {
    /// The operation's `Idempotency-Key` header parameter, when it takes one: the runtime
    /// fills it (one key per logical call, reused by its retries) unless the caller does.
    pub fn idempotency_key(&self) -> Option<&Parameter> {
        self.parameters.iter().find(|p| {
            p.location == Location::Header && p.name.eq_ignore_ascii_case("idempotency-key")
        })
    }

    /// Whether retrying after a network error cannot act twice: safe methods, PUT and
    /// DELETE, and anything sent with an idempotency key.
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self.method.as_str(),
            "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE"
        ) || self.idempotency_key().is_some()
    }

    pub fn parameters_in(&self, location: Location) -> impl Iterator<Item = &Parameter> {
        self.parameters
            .iter()
            .filter(move |p| p.location == location)
    }
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

impl Api {
    /// Reads one version's model. `version` is its name (`v2`): the packages' major version
    /// is its number.
    pub fn from_openapi(version: &str, document: &Value) -> Result<Api, SdkError> {
        let invalid = |message: String| SdkError::Model {
            version: version.to_owned(),
            message,
        };
        let major = version
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .filter(|digits| !digits.is_empty())
            .and_then(|digits| digits.parse::<u64>().ok())
            .ok_or_else(|| {
                invalid(format!(
                    "the version name {version:?} does not end in a number"
                ))
            })?;
        let reader = Reader { document };
        let text = |pointer: &str| {
            document
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };

        let types = document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|schemas| {
                schemas
                    .iter()
                    .map(|(name, schema)| NamedType {
                        name: name.clone(),
                        description: description(schema),
                        schema: reader.schema(schema),
                    })
                    .collect()
            })
            .unwrap_or_default();

        let mut operations = Vec::new();
        if let Some(paths) = document.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                for method in METHODS {
                    let Some(operation) = item.get(method) else {
                        continue;
                    };
                    operations.push(reader.operation(path, method, item, operation).map_err(
                        |message| invalid(format!("{} {path}: {message}", method.to_uppercase())),
                    )?);
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for op in &operations {
            if !seen.insert(op.id.as_str()) {
                return Err(invalid(format!("operationId {} is used twice", op.id)));
            }
        }

        let error_types = reader.error_types();
        let scopes = document
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|schemes| schemes.values())
            .filter_map(|scheme| {
                scheme
                    .pointer("/flows/clientCredentials/scopes")?
                    .as_object()
            })
            .flat_map(|scopes| {
                scopes.iter().map(|(name, description)| {
                    (
                        name.clone(),
                        description.as_str().unwrap_or_default().to_owned(),
                    )
                })
            })
            .collect();
        let webhook_events = document
            .get("webhooks")
            .and_then(Value::as_object)
            .map(|events| events.keys().cloned().collect())
            .unwrap_or_default();

        Ok(Api {
            version: version.to_owned(),
            major,
            title: text("/info/title"),
            description: text("/info/description"),
            info_version: text("/info/version"),
            operations,
            types,
            error_types,
            scopes,
            webhook_events,
        })
    }

    /// The packages' version: the model's `info.version` when it is `major.minor.patch` with
    /// this version's number as major, else `major.0.0`.
    pub fn package_version(&self) -> String {
        let parts: Vec<u64> = self
            .info_version
            .split('.')
            .map_while(|p| p.parse().ok())
            .collect();
        match parts.as_slice() {
            [major, minor, patch] if *major == self.major => format!("{major}.{minor}.{patch}"),
            _ => format!("{}.0.0", self.major),
        }
    }

    pub fn named(&self, name: &str) -> Option<&NamedType> {
        self.types.iter().find(|t| t.name == name)
    }

    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }
}

fn description(schema: &Value) -> Option<String> {
    schema
        .get("description")
        .and_then(Value::as_str)
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
}

struct Reader<'a> {
    document: &'a Value,
}

impl Reader<'_> {
    /// Follows `$ref`s that are not schemas (parameters, responses, request bodies).
    fn resolve<'b>(&'b self, value: &'b Value) -> &'b Value {
        let mut current = value;
        for _ in 0..16 {
            match current
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|pointer| self.document.pointer(pointer))
            {
                Some(target) => current = target,
                None => break,
            }
        }
        current
    }

    fn schema(&self, value: &Value) -> Schema {
        let Some(map) = value.as_object() else {
            return Schema::Any;
        };
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            return match reference.strip_prefix("#/components/schemas/") {
                Some(name) => Schema::Ref(name.to_owned()),
                None => self.schema(self.resolve(value)),
            };
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(parts) = map.get(key).and_then(Value::as_array) {
                return Schema::Union(parts.iter().map(|p| self.schema(p)).collect());
            }
        }
        if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
            let mut parts: Vec<Schema> = parts.iter().map(|p| self.schema(p)).collect();
            return if parts.len() == 1 {
                parts.remove(0)
            } else {
                Schema::AllOf(parts)
            };
        }
        match map.get("type") {
            Some(Value::Array(types)) => {
                let variants: Vec<Schema> = types
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|t| self.typed(t, map))
                    .collect();
                if variants.len() == 1 {
                    variants.into_iter().next().unwrap_or(Schema::Any)
                } else {
                    Schema::Union(variants)
                }
            }
            Some(Value::String(t)) => self.typed(t, map),
            _ if map.contains_key("properties") => self.typed("object", map),
            _ if map.contains_key("items") => self.typed("array", map),
            _ if map.contains_key("enum") || map.contains_key("const") => self.typed("string", map),
            _ => Schema::Any,
        }
    }

    fn typed(&self, kind: &str, map: &Map<String, Value>) -> Schema {
        match kind {
            "string" => {
                let values = map
                    .get("enum")
                    .and_then(Value::as_array)
                    .cloned()
                    .or_else(|| map.get("const").map(|c| vec![c.clone()]));
                let enumeration = values.and_then(|values| {
                    values
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                });
                Schema::String {
                    enumeration,
                    format: map.get("format").and_then(Value::as_str).map(str::to_owned),
                }
            }
            "integer" => Schema::Integer,
            "number" => Schema::Number,
            "boolean" => Schema::Boolean,
            "null" => Schema::Null,
            "array" => Schema::Array(Box::new(
                map.get("items")
                    .map_or(Schema::Any, |items| self.schema(items)),
            )),
            "object" => {
                let required: Vec<&str> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let properties: Vec<Property> = map
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|properties| {
                        properties
                            .iter()
                            .map(|(name, schema)| Property {
                                name: name.clone(),
                                schema: self.schema(schema),
                                required: required.contains(&name.as_str()),
                                description: description(schema),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                match map.get("additionalProperties") {
                    Some(Value::Bool(false)) => Schema::Object(ObjectSchema {
                        properties,
                        open: false,
                    }),
                    Some(extra @ Value::Object(_)) if properties.is_empty() => {
                        Schema::Map(Box::new(self.schema(extra)))
                    }
                    _ => Schema::Object(ObjectSchema {
                        properties,
                        open: true,
                    }),
                }
            }
            _ => Schema::Any,
        }
    }

    fn operation(
        &self,
        path: &str,
        method: &str,
        item: &Value,
        operation: &Value,
    ) -> Result<Operation, String> {
        let id = operation
            .get("operationId")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or("no operationId (the SDK method is named from it)")?
            .to_owned();
        let text = |key: &str| {
            operation
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };

        // Operation parameters override the path item's (same name and location).
        let mut parameters: Vec<Parameter> = Vec::new();
        let declared = item
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                operation
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        for raw in declared {
            let raw = self.resolve(raw);
            let Some(name) = raw.get("name").and_then(Value::as_str) else {
                continue;
            };
            let location = match raw.get("in").and_then(Value::as_str) {
                Some("path") => Location::Path,
                Some("query") => Location::Query,
                Some("header") => Location::Header,
                _ => continue,
            };
            if location == Location::Header
                && (name.eq_ignore_ascii_case("authorization")
                    || name.eq_ignore_ascii_case("x-api-key"))
            {
                continue;
            }
            let parameter = Parameter {
                name: name.to_owned(),
                location,
                required: location == Location::Path
                    || raw
                        .get("required")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                schema: raw.get("schema").map_or(Schema::Any, |s| self.schema(s)),
                description: description(raw),
            };
            parameters.retain(|p| !(p.name == parameter.name && p.location == location));
            parameters.push(parameter);
        }

        let body = operation.get("requestBody").map(|raw| {
            let raw = self.resolve(raw);
            RequestBody {
                schema: raw
                    .pointer("/content/application~1json/schema")
                    .map_or(Schema::Any, |s| self.schema(s)),
                required: raw
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                description: description(raw),
            }
        });

        let mut success = None;
        let mut errors = Vec::new();
        if let Some(responses) = operation.get("responses").and_then(Value::as_object) {
            for (status, response) in responses {
                let Ok(code) = status.parse::<u16>() else {
                    continue;
                };
                let response = self.resolve(response);
                if (200..300).contains(&code) {
                    if success.is_none() {
                        success = Some(Success {
                            status: code,
                            schema: response
                                .pointer("/content/application~1json/schema")
                                .map(|s| self.schema(s)),
                        });
                    }
                } else if code >= 400 {
                    errors.push(OperationError {
                        status: code,
                        types: example_types(response),
                        description: description(response).unwrap_or_default(),
                    });
                }
            }
        }
        let success = success.ok_or("no 2xx response")?;

        let scopes = operation
            .get("x-required-scopes")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let pagination = operation
            .pointer("/x-sandbox/pagination")
            .and_then(Value::as_object)
            .map(pagination)
            .transpose()?;

        Ok(Operation {
            id,
            method: method.to_uppercase(),
            path: path.to_owned(),
            summary: text("summary"),
            description: text("description"),
            tag: operation
                .pointer("/tags/0")
                .and_then(Value::as_str)
                .map(str::to_owned),
            deprecated: operation
                .get("deprecated")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            scopes,
            parameters,
            body,
            success,
            errors,
            pagination,
        })
    }

    fn error_types(&self) -> Vec<ErrorType> {
        let mut types: Vec<ErrorType> = Vec::new();
        let mut add = |name: &str, status: Option<u16>, has_field_errors: bool| {
            let entry = match types.iter_mut().position(|t| t.name == name) {
                Some(i) => &mut types[i],
                None => {
                    types.push(ErrorType {
                        name: name.to_owned(),
                        statuses: Vec::new(),
                        has_field_errors: false,
                    });
                    let last = types.len() - 1;
                    &mut types[last]
                }
            };
            if let Some(status) = status
                && !entry.statuses.contains(&status)
            {
                entry.statuses.push(status);
            }
            entry.has_field_errors |= has_field_errors;
        };
        // The declared list: every schema with a `__type` enum.
        if let Some(schemas) = self
            .document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            for schema in schemas.values() {
                if let Some(names) = schema
                    .pointer("/properties/__type/enum")
                    .and_then(Value::as_array)
                {
                    for name in names.iter().filter_map(Value::as_str) {
                        add(name, None, false);
                    }
                }
            }
        }
        // Statuses and field errors from what the operations document.
        if let Some(paths) = self.document.get("paths").and_then(Value::as_object) {
            for item in paths.values() {
                for method in METHODS {
                    let Some(responses) = item
                        .get(method)
                        .and_then(|op| op.get("responses"))
                        .and_then(Value::as_object)
                    else {
                        continue;
                    };
                    for (status, response) in responses {
                        let Ok(code) = status.parse::<u16>() else {
                            continue;
                        };
                        let response = self.resolve(response);
                        let with_fields = response
                            .pointer("/content/application~1json/schema")
                            .is_some_and(|s| self.mentions_property(s, "fieldErrors", 0));
                        for name in example_types(response) {
                            add(&name, Some(code), with_fields);
                        }
                    }
                }
            }
        }
        types
    }

    fn mentions_property(&self, schema: &Value, property: &str, depth: usize) -> bool {
        if depth > 8 {
            return false;
        }
        let schema = self.resolve(schema);
        schema
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| p.contains_key(property))
            || schema
                .get("allOf")
                .and_then(Value::as_array)
                .is_some_and(|parts| {
                    parts
                        .iter()
                        .any(|p| self.mentions_property(p, property, depth + 1))
                })
    }
}

/// The `__type`s a response's examples name.
fn example_types(response: &Value) -> Vec<String> {
    let content = response.pointer("/content/application~1json");
    let mut types: Vec<String> = content
        .and_then(|c| c.get("examples"))
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|examples| examples.values())
        .filter_map(|example| example.pointer("/value/__type")?.as_str())
        .map(str::to_owned)
        .collect();
    if let Some(single) = content
        .and_then(|c| c.pointer("/example/__type"))
        .and_then(Value::as_str)
    {
        types.push(single.to_owned());
    }
    types.dedup();
    types
}

fn pagination(raw: &Map<String, Value>) -> Result<Pagination, String> {
    let text = |key: &str, default: &str| {
        raw.get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    match raw.get("style").and_then(Value::as_str) {
        Some("cursor") => Ok(Pagination::Cursor {
            cursor_param: text("cursor-param", "cursor"),
            limit_param: text("limit-param", "limit"),
            items_field: text("items-field", "data"),
            next_cursor_field: text("next-cursor-field", "next_cursor"),
        }),
        Some("page") => Ok(Pagination::Page {
            page_param: text("page-param", "page"),
            size_param: text("size-param", "per_page"),
            items_field: text("items-field", "items"),
            total_field: raw
                .get("total-field")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }),
        other => Err(format!("pagination style {other:?} must be cursor or page")),
    }
}
