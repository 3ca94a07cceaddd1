//! One operation of a version: [`Operation`] and its [`Parameter`]s, and how an operation of
//! the document is read (its `x-sandbox` by [`super::binding`]).

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value};

use super::binding::parse_sandbox;
use super::{OperationDeprecation, SandboxBinding, dates, pattern, router};

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParamLocation {
    /// The prefix of field paths in validation errors (`path`, `query`, `header`, `cookie`).
    pub fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Cookie => "cookie",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub location: ParamLocation,
    pub required: bool,
    /// The (resolved) JSON schema; `{}` when none was given.
    pub schema: Value,
    /// OpenAPI `explode` (default true for query parameters): an array travels as repeated
    /// `name=a&name=b`; false means one comma-separated value.
    pub explode: bool,
    /// The schema prepared for a quick "valid" answer, when it is a plain string schema.
    pub fast_check: Option<std::sync::Arc<crate::validate::FastString>>,
}

/// One operation of a version.
#[derive(Clone, Debug)]
pub struct Operation {
    pub operation_id: String,
    pub method: Method,
    /// The path template under the version prefix, e.g. `/commercial/orders/{orderId}`.
    pub path: String,
    /// The Cedar action id (`x-cedar-action`); empty when missing
    /// ([`ApiCatalog::check`](super::ApiCatalog::check) refuses that). Shared: every
    /// request-log record names it.
    pub action: Arc<str>,
    pub required_scopes: Vec<String>,
    /// Path-level and operation-level parameters merged (the operation's win).
    pub parameters: Vec<Parameter>,
    /// The `application/json` request body schema.
    pub request_body: Option<Value>,
    pub request_body_required: bool,
    /// The lowest 2xx response code of the model (200 when none is given).
    pub success_status: StatusCode,
    pub sandbox: Option<SandboxBinding>,
    /// `/{version}{path}`, the label of this operation in logs, metrics and the request log.
    pub route_label: Arc<str>,
    /// Deprecated on its own (`deprecated: true`), with its own dates.
    pub deprecation: Option<OperationDeprecation>,
    /// Extension problems found while loading, reported by `check`.
    pub(super) problems: Vec<String>,
}

impl Operation {
    pub fn parameter(&self, location: ParamLocation, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| {
            p.location == location
                && if location == ParamLocation::Header {
                    p.name.eq_ignore_ascii_case(name)
                } else {
                    p.name == name
                }
        })
    }
}

pub(super) fn parse_operation(
    path: &str,
    method: &Method,
    op: &Value,
    shared_params: Option<&Value>,
    collections: &Value,
) -> Result<Operation, String> {
    let Value::Object(op) = op else {
        return Err("must be a map".into());
    };
    let operation_id = match op.get("operationId") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.clone(),
        _ => return Err("missing operationId".into()),
    };
    let mut problems = Vec::new();

    let action = match op.get("x-cedar-action") {
        None => String::new(),
        Some(Value::String(action)) => action.clone(),
        Some(_) => {
            problems.push("x-cedar-action must be a string such as commercial:GetOrder".into());
            String::new()
        }
    };
    let required_scopes = match op.get("x-required-scopes") {
        None => {
            problems.push(
                "missing x-required-scopes (the OAuth scopes a caller needs, e.g. [commercial:read])"
                    .into(),
            );
            Vec::new()
        }
        Some(Value::Array(items)) if !items.is_empty() => {
            let scopes: Vec<String> = items
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect();
            if scopes.len() != items.len() {
                problems.push("x-required-scopes must list scope names (strings)".into());
            }
            scopes
        }
        Some(_) => {
            problems.push("x-required-scopes must be a non-empty list of scope names".into());
            Vec::new()
        }
    };

    let mut parameters: Vec<Parameter> = Vec::new();
    for list in [shared_params, op.get("parameters")].into_iter().flatten() {
        let Value::Array(list) = list else {
            return Err("parameters must be a list".into());
        };
        for raw in list {
            let parameter = parse_parameter(raw)?;
            match parameters
                .iter_mut()
                .find(|p| p.location == parameter.location && p.name == parameter.name)
            {
                Some(existing) => *existing = parameter,
                None => parameters.push(parameter),
            }
        }
    }
    let template = router::parse_template(path)?;
    let template_params: Vec<&str> = template
        .iter()
        .filter_map(|segment| match segment {
            router::Segment::Param(name) => Some(*name),
            router::Segment::Literal(_) => None,
        })
        .collect();
    for name in &template_params {
        if !parameters
            .iter()
            .any(|p| p.location == ParamLocation::Path && p.name == *name)
        {
            return Err(format!(
                "path parameter {{{name}}} is not declared in parameters"
            ));
        }
    }
    for parameter in &parameters {
        if parameter.location == ParamLocation::Path
            && !template_params.contains(&parameter.name.as_str())
        {
            return Err(format!(
                "parameter {} is declared `in: path` but the path has no {{{}}}",
                parameter.name, parameter.name
            ));
        }
    }

    let (request_body, request_body_required) = match op.get("requestBody") {
        None => (None, false),
        Some(body) => {
            let schema = body
                .get("content")
                .and_then(Value::as_object)
                .and_then(|content| {
                    content.get("application/json").or_else(|| {
                        content
                            .iter()
                            .find(|(media, _)| media.ends_with("+json"))
                            .map(|(_, v)| v)
                    })
                })
                .map(|media| media.get("schema").cloned().unwrap_or(Value::Bool(true)));
            let Some(schema) = schema else {
                return Err("requestBody needs content: application/json: schema".into());
            };
            (
                Some(schema),
                body.get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            )
        }
    };

    let responses = op.get("responses").and_then(Value::as_object);
    let success_status = responses
        .into_iter()
        .flat_map(|r| r.keys())
        .filter_map(|code| code.parse::<u16>().ok())
        .filter(|code| (200..300).contains(code))
        .min()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK);

    let mut operation = Operation {
        operation_id,
        method: method.clone(),
        path: path.to_owned(),
        action: action.into(),
        required_scopes,
        parameters,
        request_body,
        request_body_required,
        success_status,
        sandbox: None,
        route_label: Arc::from(""),
        deprecation: match operation_deprecation(op) {
            Ok(deprecation) => deprecation,
            Err(message) => {
                problems.push(message);
                None
            }
        },
        problems: Vec::new(),
    };
    if let Err(message) = check_schemas(&operation) {
        problems.push(message);
    }
    if let Some(raw) = op.get("x-sandbox") {
        match parse_sandbox(raw, collections, &operation, responses) {
            Ok(binding) => operation.sandbox = Some(binding),
            Err(message) => problems.push(format!("x-sandbox: {message}")),
        }
    }
    operation.problems = problems;
    Ok(operation)
}

/// `deprecated: true` on an operation, with its optional `x-deprecated-since` / `x-sunset`.
fn operation_deprecation(op: &Map<String, Value>) -> Result<Option<OperationDeprecation>, String> {
    let date = |key: &str| match op.get(key) {
        None => Ok(None),
        Some(Value::String(text)) => dates::parse_date(text)
            .map(Some)
            .ok_or_else(|| format!("{key} must be a date like 2027-06-30, not {text:?}")),
        Some(_) => Err(format!("{key} must be a quoted date like \"2027-06-30\"")),
    };
    let since = date("x-deprecated-since")?;
    let sunset = date("x-sunset")?;
    let deprecated = match op.get("deprecated") {
        None => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => return Err("deprecated must be true or false".into()),
    };
    if !deprecated {
        return match since.or(sunset) {
            Some(_) => {
                Err("x-deprecated-since / x-sunset on an operation need `deprecated: true`".into())
            }
            None => Ok(None),
        };
    }
    OperationDeprecation::new(since, sunset)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn parse_parameter(raw: &Value) -> Result<Parameter, String> {
    let Value::Object(map) = raw else {
        return Err("a parameter must be a map".into());
    };
    let Some(name) = map.get("name").and_then(Value::as_str) else {
        return Err("a parameter needs a name".into());
    };
    let location = match map.get("in").and_then(Value::as_str) {
        Some("path") => ParamLocation::Path,
        Some("query") => ParamLocation::Query,
        Some("header") => ParamLocation::Header,
        Some("cookie") => ParamLocation::Cookie,
        _ => {
            return Err(format!(
                "parameter {name}: `in` must be path, query, header or cookie"
            ));
        }
    };
    let required = map
        .get("required")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if location == ParamLocation::Path && !required {
        return Err(format!("path parameter {name} must be `required: true`"));
    }
    if location == ParamLocation::Header
        && axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
    {
        return Err(format!(
            "header parameter {name:?} is not a valid header name"
        ));
    }
    let schema = map
        .get("schema")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let explode = map
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(location == ParamLocation::Query || location == ParamLocation::Cookie);
    let fast_check = crate::validate::FastString::compile(&schema).map(std::sync::Arc::new);
    Ok(Parameter {
        name: name.to_owned(),
        location,
        required,
        schema,
        explode,
        fast_check,
    })
}

/// Every `pattern` of the operation's parameter and body schemas must be one the validator
/// understands.
fn check_schemas(op: &Operation) -> Result<(), String> {
    fn walk(schema: &Value, at: &str, depth: u32) -> Result<(), String> {
        if depth > 64 {
            return Ok(());
        }
        match schema {
            Value::Object(map) => {
                if let Some(Value::String(source)) = map.get("pattern") {
                    pattern::Pattern::parse(source)
                        .map_err(|e| format!("pattern {source:?} at {at}: {e}"))?;
                }
                for (key, value) in map {
                    if matches!(
                        key.as_str(),
                        "example" | "examples" | "enum" | "const" | "default"
                    ) {
                        continue;
                    }
                    walk(value, &format!("{at}.{key}"), depth + 1)?;
                }
                Ok(())
            }
            Value::Array(items) => items.iter().try_for_each(|item| walk(item, at, depth + 1)),
            _ => Ok(()),
        }
    }
    for parameter in &op.parameters {
        walk(
            &parameter.schema,
            &format!("{}.{}", parameter.location.as_str(), parameter.name),
            0,
        )?;
    }
    if let Some(body) = &op.request_body {
        walk(body, "body", 0)?;
    }
    Ok(())
}
