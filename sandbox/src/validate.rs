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

use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::model::{Operation, ParamLocation, Parameter, dates, pattern::Pattern};

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

fn types_of(schema: &Value) -> Vec<&str> {
    let mut types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        types.push("null");
    }
    types
}

fn type_message(types: &[&str]) -> String {
    let name = |t: &str| match t {
        "integer" => "an integer",
        "number" => "a number",
        "string" => "a string",
        "boolean" => "true or false",
        "object" => "an object",
        "array" => "an array",
        "null" => "null",
        _ => "of an unknown type",
    };
    let names: Vec<&str> = types.iter().map(|t| name(t)).collect();
    match names.as_slice() {
        [] => "has the wrong type".into(),
        [one] => format!("must be {one}"),
        _ => format!("must be {}", names.join(" or ")),
    }
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => match value {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        _ => true,
    }
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", Value::from(key)));
    }
}

fn error(path: &str, errors: &mut Vec<FieldError>, message: impl Into<String>) {
    if errors.len() < MAX_ERRORS {
        errors.push(FieldError::new(path, message));
    }
}

fn check(
    schema: &Value,
    value: &Value,
    path: &mut String,
    errors: &mut Vec<FieldError>,
    depth: u32,
) {
    if depth > 64 || errors.len() >= MAX_ERRORS {
        return;
    }
    let map = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return error(path, errors, "is not allowed"),
        Value::Object(map) => map,
        _ => return,
    };

    let types = types_of(schema);
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, value)) {
        return error(path, errors, type_message(&types));
    }
    if value.is_null() && types.contains(&"null") {
        return;
    }

    if let Some(Value::Array(allowed)) = map.get("enum")
        && !allowed.iter().any(|a| json_equal(a, value))
    {
        let list: Vec<String> = allowed
            .iter()
            .map(|a| match a {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        error(path, errors, format!("must be one of: {}", list.join(", ")));
    }
    if let Some(constant) = map.get("const")
        && !json_equal(constant, value)
    {
        error(path, errors, format!("must be {constant}"));
    }

    match value {
        Value::Number(n) => check_number(map, n, path, errors),
        Value::String(s) => check_string(map, s, path, errors),
        Value::Array(items) => check_array(map, items, path, errors, depth),
        Value::Object(object) => check_object(map, object, path, errors, depth),
        _ => {}
    }

    if let Some(Value::Array(all)) = map.get("allOf") {
        for sub in all {
            check(sub, value, path, errors, depth + 1);
        }
    }
    if let Some(Value::Array(any)) = map.get("anyOf")
        && !any.iter().any(|sub| passes(sub, value, path, depth))
    {
        error(
            path,
            errors,
            "must match at least one of the allowed shapes (anyOf)",
        );
    }
    if let Some(Value::Array(one)) = map.get("oneOf") {
        let matching = one
            .iter()
            .filter(|sub| passes(sub, value, path, depth))
            .count();
        if matching != 1 {
            error(
                path,
                errors,
                "must match exactly one of the allowed shapes (oneOf)",
            );
        }
    }
}

fn passes(schema: &Value, value: &Value, path: &str, depth: u32) -> bool {
    let mut scratch = Vec::new();
    let mut path = path.to_owned();
    check(schema, value, &mut path, &mut scratch, depth + 1);
    scratch.is_empty()
}

/// Equality with numbers compared by value (`1` equals `1.0`).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(x), Some(y)) if x == y)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn number_of(map: &Map<String, Value>, key: &str) -> Option<f64> {
    map.get(key).and_then(Value::as_f64)
}

fn show(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn check_number(map: &Map<String, Value>, n: &Number, path: &str, errors: &mut Vec<FieldError>) {
    let Some(x) = n.as_f64() else {
        return;
    };
    let exclusive_flag = |key: &str| map.get(key).and_then(Value::as_bool) == Some(true);
    if let Some(min) = number_of(map, "minimum") {
        if exclusive_flag("exclusiveMinimum") {
            if x <= min {
                error(path, errors, format!("must be > {}", show(min)));
            }
        } else if x < min {
            error(path, errors, format!("must be >= {}", show(min)));
        }
    }
    if let Some(max) = number_of(map, "maximum") {
        if exclusive_flag("exclusiveMaximum") {
            if x >= max {
                error(path, errors, format!("must be < {}", show(max)));
            }
        } else if x > max {
            error(path, errors, format!("must be <= {}", show(max)));
        }
    }
    if let Some(min) = number_of(map, "exclusiveMinimum")
        && x <= min
    {
        error(path, errors, format!("must be > {}", show(min)));
    }
    if let Some(max) = number_of(map, "exclusiveMaximum")
        && x >= max
    {
        error(path, errors, format!("must be < {}", show(max)));
    }
    if let Some(step) = number_of(map, "multipleOf")
        && step > 0.0
    {
        let ratio = x / step;
        if (ratio - ratio.round()).abs() > 1e-9 {
            error(
                path,
                errors,
                format!("must be a multiple of {}", show(step)),
            );
        }
    }
}

fn check_string(map: &Map<String, Value>, s: &str, path: &str, errors: &mut Vec<FieldError>) {
    let length = || s.chars().count();
    if let Some(min) = map.get("minLength").and_then(Value::as_u64)
        && (length() as u64) < min
    {
        let message = if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters long")
        };
        error(path, errors, message);
    }
    if let Some(max) = map.get("maxLength").and_then(Value::as_u64)
        && (length() as u64) > max
    {
        error(
            path,
            errors,
            format!("must be at most {max} characters long"),
        );
    }
    if let Some(Value::String(source)) = map.get("pattern") {
        match compiled(source).map(|p| p.is_match(s)) {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => error(path, errors, format!("must match the pattern {source}")),
            Ok(Err(_)) => error(
                path,
                errors,
                format!("could not be checked against the pattern {source}"),
            ),
            // Refused when the model loaded ([`crate::model::ApiCatalog::check`]).
            Err(_) => {}
        }
    }
    if let Some(Value::String(format)) = map.get("format")
        && !format_ok(format, s)
    {
        let example = match format.as_str() {
            "date-time" => " (RFC 3339, e.g. 2026-06-01T12:00:00Z)",
            "date" => " (YYYY-MM-DD)",
            _ => "",
        };
        error(path, errors, format!("must be a valid {format}{example}"));
    }
}

/// `format` keywords the validator checks; unknown formats are annotations (always true).
fn format_ok(format: &str, s: &str) -> bool {
    match format {
        "date-time" => dates::is_date_time(s),
        "date" => dates::parse_date(s).is_some(),
        "email" => is_email(s),
        "uuid" => is_uuid(s),
        _ => true,
    }
}

/// A plain string schema (`type: string` with any of `pattern`, `minLength`, `maxLength`,
/// `format`, `enum` and annotations), prepared when the model loads so that a valid value is
/// accepted without allocating. It only ever says "valid": a value it does not accept goes
/// through [`check`], which decides again and words the errors.
#[derive(Debug, PartialEq)]
pub struct FastString {
    pattern: Option<std::sync::Arc<Pattern>>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    format: Option<String>,
    allowed: Option<Vec<String>>,
}

impl FastString {
    /// `None` when the schema uses anything beyond the keywords above.
    pub fn compile(schema: &Value) -> Option<FastString> {
        let map = schema.as_object()?;
        let mut fast = FastString {
            pattern: None,
            min_length: None,
            max_length: None,
            format: None,
            allowed: None,
        };
        let mut typed = false;
        for (key, value) in map {
            match (key.as_str(), value) {
                ("type", Value::String(t)) if t == "string" => typed = true,
                ("type", Value::Array(list))
                    if list.len() == 1 && list[0].as_str() == Some("string") =>
                {
                    typed = true;
                }
                ("pattern", Value::String(source)) => {
                    fast.pattern = Some(std::sync::Arc::new(Pattern::parse(source).ok()?));
                }
                ("minLength", Value::Number(n)) => fast.min_length = Some(n.as_u64()?),
                ("maxLength", Value::Number(n)) => fast.max_length = Some(n.as_u64()?),
                ("format", Value::String(format)) => fast.format = Some(format.clone()),
                ("enum", Value::Array(values)) => {
                    let strings: Option<Vec<String>> = values
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    fast.allowed = Some(strings?);
                }
                (
                    "description" | "title" | "example" | "examples" | "default" | "deprecated",
                    _,
                ) => {}
                (other, _) if other.starts_with("x-") => {}
                _ => return None,
            }
        }
        typed.then_some(fast)
    }

    /// Whether the value is certainly valid.
    pub fn accepts(&self, s: &str) -> bool {
        if self.min_length.is_some() || self.max_length.is_some() {
            let length = s.chars().count() as u64;
            if self.min_length.is_some_and(|min| length < min)
                || self.max_length.is_some_and(|max| length > max)
            {
                return false;
            }
        }
        self.pattern
            .as_ref()
            .is_none_or(|p| p.is_match(s) == Ok(true))
            && self.format.as_deref().is_none_or(|f| format_ok(f, s))
            && self
                .allowed
                .as_ref()
                .is_none_or(|allowed| allowed.iter().any(|a| a == s))
    }
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && !domain.contains("..")
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b >= 0x80)
}

fn is_uuid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn check_array(
    map: &Map<String, Value>,
    items: &[Value],
    path: &mut String,
    errors: &mut Vec<FieldError>,
    depth: u32,
) {
    let count = items.len() as u64;
    if let Some(min) = map.get("minItems").and_then(Value::as_u64)
        && count < min
    {
        let message = if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must have at least {min} items")
        };
        error(path, errors, message);
    }
    if let Some(max) = map.get("maxItems").and_then(Value::as_u64)
        && count > max
    {
        error(path, errors, format!("must have at most {max} items"));
    }
    if map.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
        let duplicate = items
            .iter()
            .enumerate()
            .any(|(i, a)| items[..i].iter().any(|b| json_equal(a, b)));
        if duplicate {
            error(path, errors, "must not contain duplicates");
        }
    }
    if let Some(schema) = map.get("items") {
        for (index, item) in items.iter().enumerate() {
            let len = path.len();
            path.push_str(&format!("[{index}]"));
            check(schema, item, path, errors, depth + 1);
            path.truncate(len);
        }
    }
}

fn check_object(
    map: &Map<String, Value>,
    object: &Map<String, Value>,
    path: &mut String,
    errors: &mut Vec<FieldError>,
    depth: u32,
) {
    if let Some(Value::Array(required)) = map.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                let len = path.len();
                push_key(path, name);
                error(path, errors, "is required");
                path.truncate(len);
            }
        }
    }
    let count = object.len() as u64;
    if let Some(min) = map.get("minProperties").and_then(Value::as_u64)
        && count < min
    {
        error(path, errors, format!("must have at least {min} properties"));
    }
    if let Some(max) = map.get("maxProperties").and_then(Value::as_u64)
        && count > max
    {
        error(path, errors, format!("must have at most {max} properties"));
    }
    let properties = map.get("properties").and_then(Value::as_object);
    let additional = map.get("additionalProperties");
    for (key, item) in object {
        let len = path.len();
        push_key(path, key);
        match properties.and_then(|p| p.get(key)) {
            Some(schema) => check(schema, item, path, errors, depth + 1),
            None => match additional {
                Some(Value::Bool(false)) => error(path, errors, "is not an allowed property"),
                Some(schema @ Value::Object(_)) => check(schema, item, path, errors, depth + 1),
                _ => {}
            },
        }
        path.truncate(len);
    }
}

/// Patterns come from the loaded models only (a finite set), so each is compiled once per
/// thread and kept there: no lock shared by the runtime's workers.
fn compiled(source: &str) -> Result<std::rc::Rc<Pattern>, String> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;
    thread_local! {
        static COMPILED: RefCell<HashMap<Box<str>, Rc<Pattern>>> = RefCell::default();
    }
    if let Some(pattern) = COMPILED.with_borrow(|compiled| compiled.get(source).cloned()) {
        return Ok(pattern);
    }
    let pattern = Rc::new(Pattern::parse(source)?);
    COMPILED.with_borrow_mut(|compiled| compiled.insert(source.into(), pattern.clone()));
    Ok(pattern)
}

#[cfg(test)]
#[path = "validate_fuzz_tests.rs"]
mod fuzz_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The quick check never accepts what the full check refuses, and accepts the valid
    /// values it is built for.
    #[test]
    fn the_quick_string_check_agrees_with_the_full_check() {
        let schemas = [
            json!({"type": "string", "pattern": "^ord_[0-9a-z]{26}$", "example": "ord_x"}),
            json!({"type": ["string"], "minLength": 2, "maxLength": 4}),
            json!({"type": "string", "format": "date"}),
            json!({"type": "string", "format": "uuid"}),
            json!({"type": "string", "enum": ["pending", "confirmed"], "description": "d"}),
            json!({"type": "string", "pattern": "(a|b)+c", "x-note": 1}),
        ];
        let texts = [
            "",
            "a",
            "ab",
            "abcd",
            "abcde",
            "ééé",
            "ord_01jd8x5v7k2m3n4p5q6r7s8t9v",
            "ord_01jd8x5v7k2m3n4p5q6r7s8t9",
            "2026-02-29",
            "2028-02-29",
            "123e4567-e89b-12d3-a456-426614174000",
            "pending",
            "Pending",
            "xxabcx",
            "c",
        ];
        for schema in &schemas {
            let fast = FastString::compile(schema).unwrap_or_else(|| panic!("{schema}"));
            let mut accepted = 0;
            for text in texts {
                let valid = validate_value(schema, &Value::from(text), "p").is_empty();
                assert_eq!(fast.accepts(text), valid, "{schema} on {text:?}");
                accepted += usize::from(valid);
            }
            assert!(accepted > 0, "{schema} accepts something");
        }
        // Anything more than a plain string schema takes the full check.
        for schema in [
            json!({"type": "integer"}),
            json!({"type": "string", "nullable": true}),
            json!({"type": ["string", "null"]}),
            json!({"type": "string", "const": "a"}),
            json!({"$ref": "#/components/schemas/X"}),
            json!({"pattern": "^a$"}),
        ] {
            assert!(FastString::compile(&schema).is_none(), "{schema}");
        }
    }

    #[expect(
        clippy::needless_pass_by_value,
        reason = "tests read better with owned json!()"
    )]
    fn errors(schema: Value, value: Value) -> Vec<(String, String)> {
        validate_value(&schema, &value, "body")
            .into_iter()
            .map(|e| (e.path, e.message))
            .collect()
    }

    #[test]
    fn checks_types_bounds_and_formats() {
        let schema = json!({
            "type": "object",
            "required": ["quantity", "when"],
            "additionalProperties": false,
            "properties": {
                "quantity": {"type": "integer", "minimum": 1, "maximum": 10},
                "when": {"type": "string", "format": "date-time"},
                "note": {"type": ["string", "null"], "maxLength": 3},
                "mail": {"type": "string", "format": "email"},
                "id": {"type": "string", "format": "uuid"},
                "kind": {"enum": ["a", "b"]},
                "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "tags": {"type": "array", "minItems": 1, "uniqueItems": true, "items": {"type": "string"}}
            }
        });
        assert!(
            errors(
                schema.clone(),
                json!({"quantity": 2, "when": "2026-01-01T00:00:00Z", "note": null})
            )
            .is_empty()
        );
        assert!(
            errors(
                schema.clone(),
                json!({"quantity": 2.0, "when": "2026-01-01T00:00:00Z"})
            )
            .is_empty()
        );
        let found = errors(
            schema,
            json!({
                "quantity": 0, "when": "yesterday", "note": "long", "mail": "nope", "id": "x",
                "kind": "c", "code": "eur", "tags": [], "extra": 1
            }),
        );
        let expect = |path: &str, message: &str| {
            assert!(
                found
                    .iter()
                    .any(|(p, m)| p == path && m.starts_with(message)),
                "{path}: {message} not in {found:?}"
            );
        };
        expect("body.quantity", "must be >= 1");
        expect("body.when", "must be a valid date-time");
        expect("body.note", "must be at most 3 characters long");
        expect("body.mail", "must be a valid email");
        expect("body.id", "must be a valid uuid");
        expect("body.kind", "must be one of: a, b");
        expect("body.code", "must match the pattern ^[A-Z]{3}$");
        expect("body.tags", "must not be empty");
        expect("body.extra", "is not an allowed property");
        assert_eq!(found.len(), 9, "{found:?}");
    }

    #[test]
    fn reports_nested_paths_and_missing_fields() {
        let schema = json!({
            "type": "object",
            "required": ["items"],
            "properties": {"items": {"type": "array", "items": {
                "type": "object", "required": ["quantity"],
                "properties": {"quantity": {"type": "integer", "exclusiveMinimum": 0}}
            }}}
        });
        assert_eq!(
            errors(
                schema.clone(),
                json!({"items": [{"quantity": 1}, {"quantity": 0}, {}, {"quantity": "2"}]})
            ),
            [
                (
                    "body.items[1].quantity".to_owned(),
                    "must be > 0".to_owned()
                ),
                (
                    "body.items[2].quantity".to_owned(),
                    "is required".to_owned()
                ),
                (
                    "body.items[3].quantity".to_owned(),
                    "must be an integer".to_owned()
                ),
            ]
        );
        assert_eq!(
            errors(schema, json!([])),
            [("body".to_owned(), "must be an object".to_owned())]
        );
        assert_eq!(
            errors(json!({"type": "object", "required": ["a b"]}), json!({})),
            [("body[\"a b\"]".to_owned(), "is required".to_owned())]
        );
    }

    #[test]
    fn combinators() {
        let any = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
        assert!(errors(any.clone(), json!(3)).is_empty());
        assert_eq!(errors(any, json!(true)).len(), 1);
        let one = json!({"oneOf": [{"type": "integer"}, {"type": "number"}]});
        assert_eq!(errors(one, json!(3)).len(), 1);
        let all = json!({"allOf": [{"minimum": 2}, {"maximum": 4}]});
        assert_eq!(
            errors(all, json!(5)),
            [("body".to_owned(), "must be <= 4".to_owned())]
        );
    }

    #[test]
    fn coerces_parameter_text() {
        assert_eq!(coerce("12", &json!({"type": "integer"})), Ok(json!(12)));
        assert!(coerce("1.5", &json!({"type": "integer"})).is_err());
        assert!(coerce("ten", &json!({"type": "integer"})).is_err());
        assert_eq!(coerce("1.5", &json!({"type": "number"})), Ok(json!(1.5)));
        assert!(coerce("NaN", &json!({"type": "number"})).is_err());
        assert_eq!(coerce("true", &json!({"type": "boolean"})), Ok(json!(true)));
        assert_eq!(coerce("12", &json!({"type": "string"})), Ok(json!("12")));
        assert_eq!(coerce("x", &json!({})), Ok(json!("x")));
    }

    #[test]
    fn parses_bodies() {
        assert_eq!(parse_json_body(b"  ").unwrap(), None);
        assert_eq!(
            parse_json_body(br#"{"a":1}"#).unwrap(),
            Some(json!({"a": 1}))
        );
        let error = parse_json_body(b"{").unwrap_err();
        assert_eq!(error.path, "body");
        assert!(error.message.starts_with("is not valid JSON"));
    }
}
