//! The API reference of one version, generated from its model as written (`$ref`s kept, so
//! named schemas show their names): operations grouped by tag, each with its parameters,
//! body and response tables, errors, scopes, Cedar action, lifecycle and code samples.

use crate::markdown;
use crate::schema::{self, SchemaRow, SchemaWalker};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where a version stands (the gateway's lifecycle, as the docs show it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionState {
    Current,
    Deprecated { since: String, sunset: String },
    Sunset { since: String },
}

impl VersionState {
    pub fn label(&self) -> &'static str {
        match self {
            VersionState::Current => "current",
            VersionState::Deprecated { .. } => "deprecated",
            VersionState::Sunset { .. } => "sunset",
        }
    }

    pub fn sunset_date(&self) -> Option<&str> {
        match self {
            VersionState::Current => None,
            VersionState::Deprecated { sunset, .. } => Some(sunset),
            VersionState::Sunset { since } => Some(since),
        }
    }
}

/// What the reference of one version is built from.
#[derive(Clone, Copy, Debug)]
pub struct VersionSource<'a> {
    pub name: &'a str,
    /// The model as written.
    pub document: &'a Value,
    pub state: &'a VersionState,
    pub ga: Option<&'a str>,
    pub deprecated_since: Option<&'a str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionDoc {
    pub name: String,
    pub title: String,
    pub description_html: String,
    pub state: VersionState,
    /// General availability (`YYYY-MM-DD`), when the model says.
    pub ga: Option<String>,
    /// When the deprecation was announced, whatever the state now.
    pub deprecated_since: Option<String>,
    pub tags: Vec<TagGroup>,
    pub operations: Vec<OperationDoc>,
    /// The events of the model's `webhooks` section.
    #[serde(default)]
    pub webhooks: Vec<WebhookDoc>,
}

/// One webhook event as the reference shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDoc {
    /// `order.created`
    pub name: String,
    pub summary: String,
    pub description_html: String,
    pub payload: BodyDoc,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagGroup {
    pub name: String,
    pub description_html: String,
    pub operations: Vec<OperationSummary>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationSummary {
    pub id: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub deprecated: bool,
}

/// One code sample of an operation (written by [`crate::samples`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Unique on the page (tab ids, `data-language`): `typescript-sdk`, `python-sdk`, `curl`,
    /// `python`, `typescript`, `rust`.
    pub key: String,
    /// `TypeScript SDK`, `Python SDK`, `curl`, `Python`, `TypeScript`, `Rust`.
    pub label: String,
    /// The fence language: `bash`, `python`, `typescript`, `rust`.
    pub language: String,
    pub code: String,
    pub html: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationDoc {
    pub id: String,
    pub version: String,
    /// Upper case: `POST`.
    pub method: String,
    /// With the version prefix: `/v2/commercial/orders/{orderId}`.
    pub path: String,
    pub summary: String,
    pub description_html: String,
    pub tag: String,
    /// The operation itself is deprecated (`deprecated: true`), or its whole version is.
    pub deprecated: bool,
    /// The operation itself is deprecated, whatever its version's state.
    pub deprecated_itself: bool,
    /// When it stops working: the operation's `x-sunset`, else its version's.
    pub sunset: Option<String>,
    pub scopes: Vec<String>,
    pub action: String,
    pub parameters: Vec<ParameterDoc>,
    pub request_body: Option<BodyDoc>,
    pub responses: Vec<ResponseDoc>,
    pub errors: Vec<ErrorDoc>,
    pub example: RequestExample,
    pub samples: Vec<Sample>,
}

impl OperationDoc {
    pub fn summary(&self) -> OperationSummary {
        OperationSummary {
            id: self.id.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            summary: self.summary.clone(),
            deprecated: self.deprecated,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterDoc {
    pub name: String,
    /// `path`, `query` or `header`.
    pub location: String,
    pub required: bool,
    pub type_label: String,
    pub description_html: String,
    pub constraints: Vec<String>,
    pub example: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyDoc {
    pub required: bool,
    pub content_type: String,
    pub schema_name: Option<String>,
    pub rows: Vec<SchemaRow>,
    /// Pretty-printed example, highlighted.
    pub example_html: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseDoc {
    pub status: String,
    pub description_html: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<BodyDoc>,
}

/// An error the operation can return, with its Smithy-shaped body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDoc {
    pub status: String,
    /// `__type` values: `ThrottlingException`, `LimitExceededException`.
    pub types: Vec<String>,
    pub description_html: String,
    pub headers: Vec<String>,
    pub example_html: String,
}

/// The request the model's examples make: what the samples send and "Try it" fills in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestExample {
    pub path_params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// Pretty JSON.
    pub body: Option<String>,
}

impl RequestExample {
    /// The path with its parameters filled in (percent-encoded).
    pub fn path(&self, template: &str) -> String {
        let mut path = template.to_owned();
        for (name, value) in &self.path_params {
            path = path.replace(&format!("{{{name}}}"), &percent_encode(value));
        }
        path
    }

    /// `?a=1&b=2`, or "".
    pub fn query_string(&self) -> String {
        if self.query.is_empty() {
            return String::new();
        }
        let pairs: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        format!("?{}", pairs.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

impl VersionDoc {
    /// The version's reference, without code samples (the site adds them: [`crate::samples`]).
    pub fn build(source: VersionSource<'_>) -> VersionDoc {
        let document = source.document;
        let walker = SchemaWalker::new(document);
        let text = |pointer: &str| {
            document
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let mut operations = Vec::new();
        if let Some(Value::Object(paths)) = document.get("paths") {
            for (path, item) in paths {
                for method in METHODS {
                    let Some(operation) = item.get(method) else {
                        continue;
                    };
                    operations.push(operation_doc(
                        source, &walker, path, method, item, operation,
                    ));
                }
            }
        }
        let mut tags: Vec<TagGroup> = document
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(|tag| {
                        Some(TagGroup {
                            name: tag.get("name")?.as_str()?.to_owned(),
                            description_html: tag
                                .get("description")
                                .and_then(Value::as_str)
                                .map(markdown::render_inline)
                                .unwrap_or_default(),
                            operations: Vec::new(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        for operation in &operations {
            match tags.iter_mut().find(|t| t.name == operation.tag) {
                Some(group) => group.operations.push(operation.summary()),
                None => tags.push(TagGroup {
                    name: operation.tag.clone(),
                    description_html: String::new(),
                    operations: vec![operation.summary()],
                }),
            }
        }
        tags.retain(|t| !t.operations.is_empty());
        let webhooks = document
            .get("webhooks")
            .and_then(Value::as_object)
            .map(|events| {
                events
                    .iter()
                    .map(|(name, item)| {
                        let post = item.get("post").unwrap_or(&Value::Null);
                        let field = |key: &str| {
                            post.get(key)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned()
                        };
                        WebhookDoc {
                            name: name.clone(),
                            summary: field("summary"),
                            description_html: markdown::render_inline(&field("description")),
                            payload: body_doc(
                                &walker,
                                true,
                                "application/json".into(),
                                post.pointer("/requestBody/content/application~1json"),
                                None,
                            ),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        VersionDoc {
            webhooks,
            name: source.name.to_owned(),
            title: text("/info/title"),
            description_html: markdown::render_inline(&text("/info/description")),
            state: source.state.clone(),
            ga: source.ga.map(str::to_owned),
            deprecated_since: source.deprecated_since.map(str::to_owned),
            tags,
            operations,
        }
    }

    pub fn operation(&self, id: &str) -> Option<&OperationDoc> {
        self.operations.iter().find(|op| op.id == id)
    }
}

fn operation_doc(
    version: VersionSource<'_>,
    walker: &SchemaWalker<'_>,
    path: &str,
    method: &str,
    path_item: &Value,
    operation: &Value,
) -> OperationDoc {
    let get_str = |key: &str| {
        operation
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let strings = |key: &str| -> Vec<String> {
        operation
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let id = get_str("operationId");
    let full_path = format!("/{}{path}", version.name);

    // Path-level parameters first, then the operation's (which override by name and place).
    let mut parameters: Vec<(ParameterDoc, Option<Value>)> = Vec::new();
    for list in [path_item.get("parameters"), operation.get("parameters")] {
        for parameter in list.and_then(Value::as_array).into_iter().flatten() {
            let (parameter, _) = walker.resolve(parameter);
            let doc = parameter_doc(walker, &parameter);
            parameters.retain(|(p, _)| !(p.name == doc.name && p.location == doc.location));
            let example = parameter_example(walker, &parameter);
            parameters.push((doc, example));
        }
    }

    let mut example = RequestExample::default();
    for (parameter, value) in &parameters {
        let Some(value) = value else { continue };
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match parameter.location.as_str() {
            "path" => example.path_params.push((parameter.name.clone(), text)),
            "query" if parameter.required => example.query.push((parameter.name.clone(), text)),
            "header" => example.headers.push((parameter.name.clone(), text)),
            _ => {}
        }
    }

    let request_body = operation.get("requestBody").map(|body| {
        let (body, _) = walker.resolve(body);
        let required = body.get("required") == Some(&Value::Bool(true));
        let (content_type, media) = first_media(&body);
        let example_value = media.as_ref().and_then(|m| media_example(walker, m));
        if let Some(value) = &example_value {
            example.body = serde_json::to_string_pretty(value).ok();
        }
        body_doc(
            walker,
            required,
            content_type,
            media.as_ref(),
            example_value.as_ref(),
        )
    });

    let mut responses = Vec::new();
    let mut errors = Vec::new();
    if let Some(Value::Object(map)) = operation.get("responses") {
        for (status, response) in map {
            let (response, _) = walker.resolve(response);
            let description_html = response
                .get("description")
                .and_then(Value::as_str)
                .map(markdown::render_inline)
                .unwrap_or_default();
            let header_names: Vec<String> = response
                .get("headers")
                .and_then(Value::as_object)
                .map(|h| h.keys().cloned().collect())
                .unwrap_or_default();
            let (content_type, media) = first_media(&response);
            if status.starts_with(['4', '5']) {
                errors.push(error_doc(
                    walker,
                    status,
                    description_html,
                    header_names,
                    media.as_ref(),
                ));
            } else {
                let headers = response
                    .get("headers")
                    .and_then(Value::as_object)
                    .map(|h| {
                        h.iter()
                            .map(|(name, header)| {
                                let (header, _) = walker.resolve(header);
                                let description = header
                                    .get("description")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_owned();
                                (name.clone(), description)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let example_value = media.as_ref().and_then(|m| media_example(walker, m));
                let body = media.as_ref().map(|m| {
                    body_doc(walker, false, content_type, Some(m), example_value.as_ref())
                });
                responses.push(ResponseDoc {
                    status: status.clone(),
                    description_html,
                    headers,
                    body,
                });
            }
        }
    }

    let own_deprecated = operation.get("deprecated") == Some(&Value::Bool(true));
    let sunset = operation
        .get("x-sunset")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| version.state.sunset_date().map(str::to_owned));
    let deprecated = own_deprecated || !matches!(version.state, VersionState::Current);
    let scopes = strings("x-required-scopes");
    OperationDoc {
        id,
        version: version.name.to_owned(),
        method: method.to_ascii_uppercase(),
        path: full_path,
        summary: get_str("summary"),
        description_html: markdown::render_inline(&get_str("description")),
        tag: strings("tags")
            .into_iter()
            .next()
            .unwrap_or_else(|| "Other".into()),
        deprecated,
        deprecated_itself: own_deprecated,
        sunset: if deprecated { sunset } else { None },
        action: get_str("x-cedar-action"),
        scopes,
        parameters: parameters.into_iter().map(|(p, _)| p).collect(),
        request_body,
        responses,
        errors,
        example,
        samples: Vec::new(),
    }
}

fn parameter_doc(walker: &SchemaWalker<'_>, parameter: &Value) -> ParameterDoc {
    let schema = parameter
        .get("schema")
        .map(|s| walker.resolve(s).0)
        .unwrap_or(Value::Null);
    let description = parameter
        .get("description")
        .or_else(|| schema.get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let location = parameter
        .get("in")
        .and_then(Value::as_str)
        .unwrap_or("query")
        .to_owned();
    ParameterDoc {
        name: parameter
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        required: location == "path" || parameter.get("required") == Some(&Value::Bool(true)),
        location,
        type_label: schema::type_label(&schema),
        description_html: markdown::render_inline(description),
        constraints: schema::constraints(&schema),
        example: parameter_example(walker, parameter).map(|v| match v {
            Value::String(s) => s,
            other => other.to_string(),
        }),
    }
}

/// A parameter's example: its own `example` / `examples`, else its schema's, else the
/// first enum value or the default.
fn parameter_example(walker: &SchemaWalker<'_>, parameter: &Value) -> Option<Value> {
    if let Some(value) = parameter.get("example") {
        return Some(value.clone());
    }
    if let Some(Value::Object(examples)) = parameter.get("examples")
        && let Some(first) = examples.values().next()
    {
        let (first, _) = walker.resolve(first);
        if let Some(value) = first.get("value") {
            return Some(value.clone());
        }
    }
    let schema = walker.resolve(parameter.get("schema")?).0;
    schema::example_of(&schema)
        .cloned()
        .or_else(|| schema.get("enum").and_then(|e| e.get(0)).cloned())
        .or_else(|| schema.get("default").cloned())
}

fn first_media(container: &Value) -> (String, Option<Value>) {
    match container.get("content").and_then(Value::as_object) {
        Some(content) => match content
            .get_key_value("application/json")
            .or_else(|| content.iter().next())
        {
            Some((content_type, media)) => (content_type.clone(), Some(media.clone())),
            None => (String::new(), None),
        },
        None => (String::new(), None),
    }
}

/// A media type's example: the first named `examples` entry, its `example`, the schema's
/// example, or one built from the properties' examples.
fn media_example(walker: &SchemaWalker<'_>, media: &Value) -> Option<Value> {
    if let Some(Value::Object(examples)) = media.get("examples")
        && let Some(first) = examples.values().next()
    {
        let (first, _) = walker.resolve(first);
        if let Some(value) = first.get("value") {
            return Some(value.clone());
        }
    }
    if let Some(value) = media.get("example") {
        return Some(value.clone());
    }
    let schema = media.get("schema")?;
    built_example(walker, schema, &mut Vec::new())
}

/// An example assembled from the schema's property examples (required properties and those
/// with an example), for models that give none for the whole body. A schema that refers back
/// to one being assembled is left out (recursive schemas end).
fn built_example(
    walker: &SchemaWalker<'_>,
    schema: &Value,
    seen: &mut Vec<String>,
) -> Option<Value> {
    let reference = schema
        .get("$ref")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(r) = &reference {
        if seen.contains(r) || seen.len() > 8 {
            return None;
        }
        seen.push(r.clone());
    }
    let (resolved, _) = walker.resolve(schema);
    let example = if let Some(value) = schema::example_of(&resolved) {
        Some(value.clone())
    } else if let Some(Value::Object(properties)) = resolved.get("properties") {
        let mut object = Map::new();
        for (name, property) in properties {
            if let Some(value) = built_example(walker, property, seen) {
                object.insert(name.clone(), value);
            }
        }
        Some(Value::Object(object))
    } else if let Some(items) = resolved.get("items") {
        built_example(walker, items, seen).map(|item| Value::Array(vec![item]))
    } else {
        resolved
            .get("enum")
            .and_then(|e| e.get(0))
            .or_else(|| resolved.get("default"))
            .cloned()
    };
    if reference.is_some() {
        seen.pop();
    }
    example
}

fn body_doc(
    walker: &SchemaWalker<'_>,
    required: bool,
    content_type: String,
    media: Option<&Value>,
    example: Option<&Value>,
) -> BodyDoc {
    let schema = media.and_then(|m| m.get("schema"));
    BodyDoc {
        required,
        content_type,
        schema_name: schema
            .and_then(|s| s.get("$ref"))
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .map(str::to_owned),
        rows: schema.map(|s| walker.rows(s)).unwrap_or_default(),
        example_html: example
            .and_then(|v| serde_json::to_string_pretty(v).ok())
            .map(|json| crate::highlight::code_block(&json, "json")),
    }
}

fn error_doc(
    walker: &SchemaWalker<'_>,
    status: &str,
    description_html: String,
    headers: Vec<String>,
    media: Option<&Value>,
) -> ErrorDoc {
    let mut types = Vec::new();
    let mut examples = Vec::new();
    if let Some(Value::Object(named)) = media.and_then(|m| m.get("examples")) {
        for (name, example) in named {
            let (example, _) = walker.resolve(example);
            let value = example.get("value").cloned().unwrap_or(Value::Null);
            let type_name = value
                .get("__type")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_owned();
            types.push(type_name);
            examples.push(value);
        }
    }
    if types.is_empty() {
        let fallback = default_error_type(status);
        types.push(fallback.to_owned());
        examples.push(serde_json::json!({
            "__type": fallback,
            "message": "…",
            "requestId": "req_…",
        }));
    }
    let example_html = examples
        .iter()
        .filter_map(|e| serde_json::to_string_pretty(e).ok())
        .map(|json| crate::highlight::code_block(&json, "json"))
        .collect();
    ErrorDoc {
        status: status.to_owned(),
        types,
        description_html,
        headers,
        example_html,
    }
}

/// The Smithy error type of a status, when the model names none.
pub fn default_error_type(status: &str) -> &'static str {
    match status {
        "400" => "ValidationException",
        "401" => "UnauthorizedException",
        "403" => "ForbiddenException",
        "404" => "NotFoundException",
        "409" => "ConflictException",
        "410" => "GoneException",
        "429" => "ThrottlingException",
        "503" => "ServiceUnavailableException",
        _ => "InternalServerException",
    }
}
