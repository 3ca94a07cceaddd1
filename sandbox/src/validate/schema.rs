//! The JSON Schema checker behind request validation (the subset the [module docs](super)
//! list), and [`FastString`], its allocation-free "certainly valid" check of plain strings.

use serde_json::{Map, Number, Value};

use super::{FieldError, MAX_ERRORS};
use crate::model::{dates, pattern::Pattern};

pub(super) fn types_of(schema: &Value) -> Vec<&str> {
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

pub(super) fn type_message(types: &[&str]) -> String {
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

pub(super) fn check(
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
pub(super) fn json_equal(a: &Value, b: &Value) -> bool {
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
