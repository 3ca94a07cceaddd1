//! Request validation against an operation's model: path, query and header parameters
//! (strings coerced to their schema's type) and the JSON body.
//!
//! The JSON Schema subset: `type` (a name or a list, `integer` vs `number`, `"null"`;
//! OpenAPI 3.0 `nullable: true` too), `enum`, `const`, `required`, `properties`,
//! `additionalProperties` (false or a schema), `minProperties`/`maxProperties`, `minimum`,
//! `maximum`, `exclusiveMinimum`/`exclusiveMaximum` (number or 3.0 boolean form), `multipleOf`,
//! `minLength`/`maxLength` (in characters), `pattern` (the subset of
//! [`crate::model`]'s pattern engine, checked when the model loads), `format` (`date-time`,
//! `date`, `email`, `uuid`; others are not checked), `items`, `minItems`/`maxItems`,
//! `uniqueItems`, `allOf`, `anyOf`, `oneOf`. Unknown keywords are ignored.
//!
//! Each failure is a [`FieldError`] with a path such as `body.items[0].quantity`,
//! `query.limit` or `header.Idempotency-Key` and the rule it broke (`must be >= 1`).

mod schema;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::model::{Operation, ParamLocation, Parameter};
pub use schema::FastString;
use schema::{check, type_message, types_of};

/// At most this many errors are reported for one request.
pub const MAX_ERRORS: usize = 50;

/// One failed rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// `body.items[0].quantity`, `query.limit`, `header.Idempotency-Key`, `path.orderId`.
    pub path: String,
    /// The rule, e.g. `must be >= 1`, `is required`.
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Checks a request against `op`. `path_params` as the router decoded them; `query` as
/// decoded pairs in request order; `body` the parsed JSON, if the request had one.
pub fn validate_request(
    op: &Operation,
    path_params: &[(String, String)],
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Option<&Value>,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    for parameter in &op.parameters {
        let raw: Vec<&str> = match parameter.location {
            ParamLocation::Path => path_params
                .iter()
                .filter(|(name, _)| *name == parameter.name)
                .map(|(_, value)| value.as_str())
                .collect(),
            ParamLocation::Query => query
                .iter()
                .filter(|(name, _)| *name == parameter.name)
                .map(|(_, value)| value.as_str())
                .collect(),
            ParamLocation::Header => {
                let mut values = Vec::new();
                for value in headers.get_all(parameter.name.as_str()) {
                    match value.to_str() {
                        Ok(text) => values.push(text),
                        Err(_) => errors.push(FieldError::new(
                            field_path(parameter),
                            "must be visible ASCII text",
                        )),
                    }
                }
                values
            }
            // Cookies are not part of the partner API contract; not checked.
            ParamLocation::Cookie => continue,
        };
        check_parameter(parameter, &raw, &mut errors);
    }
    if let Some(schema) = &op.request_body {
        match body {
            Some(body) => {
                let mut path = String::from("body");
                check(schema, body, &mut path, &mut errors, 0);
            }
            None if op.request_body_required => {
                errors.push(FieldError::new("body", "is required (a JSON document)"));
            }
            None => {}
        }
    }
    errors.truncate(MAX_ERRORS);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Checks any JSON value against a schema; `path` names the value in the errors.
pub fn validate_value(schema: &Value, value: &Value, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut path = path.to_owned();
    check(schema, value, &mut path, &mut errors, 0);
    errors.truncate(MAX_ERRORS);
    errors
}

/// Parses a request body: empty (or only whitespace) → `None`; otherwise JSON, or a
/// `FieldError` at `body` saying where the syntax broke.
pub fn parse_json_body(bytes: &[u8]) -> Result<Option<Value>, FieldError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| FieldError::new("body", format!("is not valid JSON ({e})")))
}

/// The Smithy-shaped `ValidationException` body with `fieldErrors`.
pub fn validation_error_body(errors: &[FieldError], request_id: Option<&str>) -> Value {
    let message = match errors {
        [only] => format!("{} {}.", only.path, only.message),
        _ => format!(
            "{} fields are invalid: {}.",
            errors.len(),
            errors
                .iter()
                .map(|e| format!("{} {}", e.path, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    let mut body = Map::new();
    body.insert("__type".into(), Value::from("ValidationException"));
    body.insert("message".into(), Value::from(message));
    if let Some(id) = request_id {
        body.insert("requestId".into(), Value::from(id));
    }
    body.insert(
        "fieldErrors".into(),
        serde_json::to_value(errors).unwrap_or(Value::Null),
    );
    Value::Object(body)
}

fn field_path(parameter: &Parameter) -> String {
    format!("{}.{}", parameter.location.as_str(), parameter.name)
}

fn check_parameter(parameter: &Parameter, raw: &[&str], errors: &mut Vec<FieldError>) {
    // Most parameters are plain strings (ids, codes) and most requests are valid: accept
    // those without building paths or JSON values; anything else takes the full check, which
    // also words the errors.
    if let (Some(fast), [single]) = (&parameter.fast_check, raw)
        && fast.accepts(single)
    {
        return;
    }
    let mut path = field_path(parameter);
    if raw.is_empty() {
        if parameter.required {
            errors.push(FieldError::new(path, "is required"));
        }
        return;
    }
    let schema = &parameter.schema;
    let value = if types_of(schema).contains(&"array") {
        let items = schema.get("items").unwrap_or(&Value::Bool(true));
        let parts: Vec<&str> = if parameter.explode {
            raw.to_vec()
        } else {
            raw.iter().flat_map(|r| r.split(',')).collect()
        };
        let mut values = Vec::with_capacity(parts.len());
        for (index, part) in parts.iter().enumerate() {
            match coerce(part, items) {
                Ok(value) => values.push(value),
                Err(message) => {
                    errors.push(FieldError::new(format!("{path}[{index}]"), message));
                    return;
                }
            }
        }
        Value::Array(values)
    } else {
        if raw.len() > 1 {
            errors.push(FieldError::new(path, "must be given only once"));
            return;
        }
        match coerce(raw[0], schema) {
            Ok(value) => value,
            Err(message) => {
                errors.push(FieldError::new(path, message));
                return;
            }
        }
    };
    check(schema, &value, &mut path, errors, 0);
}

/// A parameter's text as the JSON value its schema expects.
fn coerce(raw: &str, schema: &Value) -> Result<Value, String> {
    let types = types_of(schema);
    if types.is_empty() || types.contains(&"string") {
        return Ok(Value::String(raw.to_owned()));
    }
    if types.contains(&"integer") {
        if let Ok(n) = raw.parse::<i64>() {
            return Ok(Value::Number(n.into()));
        }
        if let Ok(n) = raw.parse::<u64>() {
            return Ok(Value::Number(n.into()));
        }
    }
    if types.contains(&"number")
        && let Some(n) = raw
            .parse::<f64>()
            .ok()
            .filter(|n| {
                n.is_finite() && !raw.starts_with('+') && !raw.contains(['i', 'I', 'n', 'N'])
            })
            .and_then(Number::from_f64)
    {
        return Ok(Value::Number(n));
    }
    if types.contains(&"boolean") {
        match raw {
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
    }
    if types.contains(&"null") && (raw.is_empty() || raw == "null") {
        return Ok(Value::Null);
    }
    Err(type_message(&types))
}
