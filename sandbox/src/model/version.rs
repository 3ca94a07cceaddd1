//! One API version (one model file): [`ApiVersion`], its declared scopes and webhook events,
//! and how a file's text is read into one (with its route table).

use std::sync::Arc;

use axum::http::Method;
use serde_json::{Map, Value};

use super::lifecycle::LiveLifecycle;
use super::operation::parse_operation;
use super::router::RouteTable;
use super::{
    DatesError, Lifecycle, LifecycleState, ModelError, Operation, VersionDates, dates, refs, yaml,
};

/// One API version (one model file).
#[derive(Clone, Debug)]
pub struct ApiVersion {
    /// From the file name: `v2.yaml` → `v2`. Shared: every request-log record names it.
    pub name: Arc<str>,
    /// The file, as named in messages.
    pub file: String,
    /// The lifecycle dates as the model file gives them.
    pub model_dates: VersionDates,
    /// The dates in force (the model's, or an admin's) and what they mean today.
    pub(super) lifecycle: LiveLifecycle,
    /// The document with every internal `$ref` inlined.
    pub document: Value,
    /// In file order.
    pub operations: Vec<Operation>,
    /// The OpenAPI `webhooks` section: the events partners' endpoints can receive.
    pub webhooks: Vec<WebhookEvent>,
    /// The scopes the model declares (its `oauth2` security schemes'
    /// `flows.clientCredentials.scopes`), sorted by name.
    pub scopes: Vec<DeclaredScope>,
    /// The document as written.
    pub(super) source: Value,
}

/// A scope a model declares, with its description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredScope {
    pub name: String,
    pub description: String,
}

/// Reads the scopes of every `oauth2` security scheme's client-credentials flow (the only
/// grant Portico issues tokens for).
fn parse_declared_scopes(document: &Value) -> Result<Vec<DeclaredScope>, String> {
    let mut declared: Vec<DeclaredScope> = Vec::new();
    let Some(schemes) = document.pointer("/components/securitySchemes") else {
        return Ok(declared);
    };
    let Value::Object(schemes) = schemes else {
        return Err("components.securitySchemes must be a map".into());
    };
    for (scheme_name, scheme) in schemes {
        if scheme.get("type").and_then(Value::as_str) != Some("oauth2") {
            continue;
        }
        let at = format!("components.securitySchemes.{scheme_name}.flows.clientCredentials.scopes");
        let Some(scopes) = scheme.pointer("/flows/clientCredentials/scopes") else {
            continue;
        };
        let Value::Object(scopes) = scopes else {
            return Err(format!("{at} must be a map of scope → description"));
        };
        for (name, description) in scopes {
            let Some(description) = description.as_str() else {
                return Err(format!("{at}: the description of {name} must be text"));
            };
            match portico_core::authz::scopes::Scopes::parse(name) {
                Ok(parsed) if parsed.iter().count() == 1 => {}
                _ => {
                    return Err(format!(
                        "{at}: {name:?} is not a scope name (printable characters, no space or quote)"
                    ));
                }
            }
            if !declared.iter().any(|d| d.name == *name) {
                declared.push(DeclaredScope {
                    name: name.clone(),
                    description: description.trim().to_owned(),
                });
            }
        }
    }
    declared.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(declared)
}

/// One event of the `webhooks` section (`order.created`): what the docs show of it.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEvent {
    pub name: String,
    pub summary: String,
    pub description: String,
    /// The payload's schema (resolved), `Null` when not given.
    pub payload_schema: Value,
}

/// Reads the `webhooks` section: a map of event name → path item whose `post` describes the
/// delivery (summary, description, JSON request body).
fn parse_webhooks(document: &Value) -> Result<Vec<WebhookEvent>, String> {
    let webhooks = match document.get("webhooks") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err("webhooks must be a map of event name → path item".into()),
    };
    let mut events = Vec::with_capacity(webhooks.len());
    for (name, item) in webhooks {
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_');
        if !valid_name {
            return Err(format!(
                "webhook {name:?}: event names are lower-case words joined by dots (order.created)"
            ));
        }
        let Some(post) = item.get("post") else {
            return Err(format!(
                "webhook {name}: needs a post operation describing the delivery"
            ));
        };
        let text = |key: &str| {
            post.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        events.push(WebhookEvent {
            name: name.clone(),
            summary: text("summary"),
            description: text("description"),
            payload_schema: post
                .pointer("/requestBody/content/application~1json/schema")
                .cloned()
                .unwrap_or(Value::Null),
        });
    }
    Ok(events)
}

impl ApiVersion {
    /// Where the version stands now.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle.read().lifecycle.clone()
    }

    /// The dates in force.
    pub fn dates(&self) -> VersionDates {
        self.lifecycle.read().dates
    }

    /// The live state, held briefly (the gateway reads it on every request).
    pub(crate) fn lifecycle_state(&self) -> std::sync::RwLockReadGuard<'_, LifecycleState> {
        self.lifecycle.read()
    }

    /// Puts `dates` in force as of `today`; `Ok(true)` when something changed.
    pub fn set_dates(&self, dates: VersionDates, today: time::Date) -> Result<bool, DatesError> {
        self.lifecycle.set(dates, today)
    }

    pub fn operation(&self, operation_id: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|op| op.operation_id == operation_id)
    }

    /// The document as written (`$ref`s kept).
    pub fn source_document(&self) -> &Value {
        &self.source
    }

    /// `info.title`, if any.
    pub fn title(&self) -> Option<&str> {
        self.document.pointer("/info/title").and_then(Value::as_str)
    }
}

const METHODS: [(&str, Method); 8] = [
    ("get", Method::GET),
    ("put", Method::PUT),
    ("post", Method::POST),
    ("delete", Method::DELETE),
    ("options", Method::OPTIONS),
    ("head", Method::HEAD),
    ("patch", Method::PATCH),
    ("trace", Method::TRACE),
];

pub(super) fn parse_version(
    file: &str,
    name: String,
    text: &str,
    today: time::Date,
) -> Result<(ApiVersion, RouteTable), ModelError> {
    let source = yaml::to_json(text).map_err(|message| ModelError::Parse {
        file: file.to_owned(),
        message,
    })?;
    let Value::Object(root) = &source else {
        return Err(ModelError::invalid(file, "the document must be a map"));
    };
    match root.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.") => {}
        _ => {
            return Err(ModelError::invalid(
                file,
                "not an OpenAPI 3 document (openapi: 3.1.0 missing)",
            ));
        }
    }
    let document = refs::resolve(&source).map_err(|e| ModelError::Ref {
        file: file.to_owned(),
        operation: operation_at(&source, &e.at),
        reference: e.reference,
        message: e.message,
    })?;
    let (model_dates, lifecycle) = {
        let date = |key: &str| -> Result<Option<time::Date>, ModelError> {
            let value = document
                .get("info")
                .and_then(|info| info.get(key))
                .or_else(|| document.get(key));
            match value {
                None => Ok(None),
                Some(Value::String(s)) => dates::parse_date(s).map(Some).ok_or_else(|| {
                    ModelError::invalid(
                        file,
                        format!("{key} must be a date like 2027-06-30, not {s:?}"),
                    )
                }),
                Some(_) => Err(ModelError::invalid(
                    file,
                    format!("{key} must be a quoted date like \"2027-06-30\""),
                )),
            }
        };
        let model_dates = VersionDates {
            ga: date("x-ga")?,
            deprecated_since: date("x-deprecated-since")?,
            sunset: date("x-sunset")?,
        };
        let lifecycle = model_dates.lifecycle(today).map_err(|e| {
            ModelError::invalid(file, format!("x-ga / x-deprecated-since / x-sunset: {e}"))
        })?;
        (model_dates, lifecycle)
    };

    let collections = document
        .get("x-sandbox-collections")
        .cloned()
        .unwrap_or(Value::Null);
    if !matches!(collections, Value::Null | Value::Object(_)) {
        return Err(ModelError::invalid(
            file,
            "x-sandbox-collections must be a map of collection name → x-sandbox defaults",
        ));
    }

    let mut errors = Vec::new();
    let mut operations: Vec<Operation> = Vec::new();
    let mut table = RouteTable::default();
    let empty = Map::new();
    let paths = match document.get("paths") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(paths)) => paths,
        Some(_) => return Err(ModelError::invalid(file, "paths must be a map")),
    };
    for (path, item) in paths {
        let Value::Object(item) = item else {
            errors.push(ModelError::invalid(
                file,
                format!("path {path}: must be a map"),
            ));
            continue;
        };
        let shared_params = item.get("parameters");
        for (key, method) in &METHODS {
            let Some(op) = item.get(*key) else {
                continue;
            };
            let index = operations.len();
            match parse_operation(path, method, op, shared_params, &collections) {
                Ok(operation) => {
                    if let Some(first) = operations
                        .iter()
                        .find(|o| o.operation_id == operation.operation_id)
                    {
                        errors.push(ModelError::invalid(
                            file,
                            format!(
                                "operationId {} is used by both {} {} and {method} {path}",
                                operation.operation_id, first.method, first.path
                            ),
                        ));
                        continue;
                    }
                    if let Err(message) = table.insert(path, method, index) {
                        errors.push(ModelError::invalid(file, message));
                        continue;
                    }
                    operations.push(operation);
                }
                Err(message) => errors.push(ModelError::invalid(
                    file,
                    format!("{method} {path}: {message}"),
                )),
            }
        }
    }
    let webhooks = match parse_webhooks(&document) {
        Ok(webhooks) => webhooks,
        Err(message) => {
            errors.push(ModelError::invalid(file, message));
            Vec::new()
        }
    };
    let scopes = match parse_declared_scopes(&document) {
        Ok(scopes) => scopes,
        Err(message) => {
            errors.push(ModelError::invalid(file, message));
            Vec::new()
        }
    };
    for operation in &operations {
        let emits = operation.sandbox.as_ref().map_or(&[][..], |b| &b.emits[..]);
        for event in emits {
            if !webhooks.iter().any(|w| &w.name == event) {
                errors.push(ModelError::invalid(
                    file,
                    format!(
                        "{}: x-sandbox emits {event}, which the webhooks section does not declare",
                        operation.operation_id
                    ),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ModelError::many(errors));
    }
    Ok((
        ApiVersion {
            webhooks,
            scopes,
            operations: operations
                .into_iter()
                .map(|mut op| {
                    op.route_label = Arc::from(format!("/{name}{}", op.path));
                    op
                })
                .collect(),
            name: name.into(),
            file: file.to_owned(),
            model_dates,
            lifecycle: LiveLifecycle::new(model_dates, lifecycle),
            document,
            source,
        },
        table,
    ))
}

/// The operation a document location (`paths`, path, method, …) is inside of, named like the
/// check names it: `ListOrders (GET /commercial/orders)`.
fn operation_at(source: &Value, at: &[String]) -> Option<String> {
    let [root, path, method, ..] = at else {
        return None;
    };
    if root != "paths" {
        return None;
    }
    let (_, http_method) = METHODS.iter().find(|(key, _)| key == method)?;
    let id = source
        .get("paths")?
        .get(path)?
        .get(method)?
        .get("operationId")?
        .as_str()?;
    Some(format!("{id} ({http_method} {path})"))
}
