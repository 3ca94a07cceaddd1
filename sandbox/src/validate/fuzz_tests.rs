//! Property tests of request validation (issue 17: fuzzing without a nightly toolchain).
//! Whatever a partner sends, `parse_json_body`, `validate_request` and `validate_value` must
//! not panic, every [`FieldError`] must say where and what, and a request that follows the
//! shipped model (its own examples, or values generated from its schemas) must pass.
//!
//! `PROPTEST_CASES` sets the cases per property (256 by default); `scripts/fuzz.sh` runs
//! them for longer with fresh seeds. The tests in `properties` are the fuzz target.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use serde_json::{Map, Number, Value, json};

use super::schema::json_equal;
use super::*;
use crate::model::{ApiCatalog, Operation, ParamLocation};

/// The shipped models, built into the binary.
static CATALOG: LazyLock<ApiCatalog> =
    LazyLock::new(|| ApiCatalog::embedded().expect("the shipped models load"));

/// Every operation of every version.
static OPERATIONS: LazyLock<Vec<&'static Operation>> = LazyLock::new(|| {
    CATALOG
        .versions()
        .iter()
        .flat_map(|v| v.operations.iter())
        .collect()
});

/// Every request-body, parameter and webhook-payload schema, named for messages.
static SCHEMAS: LazyLock<Vec<(String, &'static Value)>> = LazyLock::new(|| {
    let mut schemas = Vec::new();
    for version in CATALOG.versions() {
        for op in &version.operations {
            if let Some(body) = &op.request_body {
                schemas.push((format!("{} body", op.route_label), body));
            }
            for p in &op.parameters {
                let name = format!("{} {}.{}", op.route_label, p.location.as_str(), p.name);
                schemas.push((name, &p.schema));
            }
        }
        for event in &version.webhooks {
            if !event.payload_schema.is_null() {
                schemas.push((
                    format!("{} webhook {}", version.name, event.name),
                    &event.payload_schema,
                ));
            }
        }
    }
    schemas
});

/// The property names the schemas use: generated objects use them, so values reach the
/// nested rules instead of stopping at `additionalProperties`.
static KEYS: LazyLock<Vec<String>> = LazyLock::new(|| {
    fn walk(schema: &Value, keys: &mut BTreeSet<String>) {
        match schema {
            Value::Object(map) => {
                if let Some(Value::Object(properties)) = map.get("properties") {
                    keys.extend(properties.keys().cloned());
                }
                map.values().for_each(|v| walk(v, keys));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, keys)),
            _ => {}
        }
    }
    let mut keys = BTreeSet::new();
    for (_, schema) in SCHEMAS.iter() {
        walk(schema, &mut keys);
    }
    keys.into_iter().collect()
});

/// Every error names a field under `prefixes` and a rule, at most [`MAX_ERRORS`] of them,
/// and they render as a `ValidationException` body.
fn assert_well_formed(errors: &[FieldError], prefixes: &[&str]) -> TestCaseResult {
    prop_assert!(errors.len() <= MAX_ERRORS, "{} errors", errors.len());
    for e in errors {
        prop_assert!(
            prefixes.iter().any(|p| e.path.starts_with(p)) && e.path.len() > 1,
            "path {:?} ({})",
            e.path,
            e.message
        );
        prop_assert!(!e.message.trim().is_empty(), "no message at {}", e.path);
    }
    if !errors.is_empty() {
        let body = validation_error_body(errors, Some("req_1"));
        prop_assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        prop_assert_eq!(
            body["fieldErrors"].as_array().map(Vec::len),
            Some(errors.len())
        );
    }
    Ok(())
}

const REQUEST_PREFIXES: [&str; 4] = ["body", "query.", "path.", "header."];

// ---------------------------------------------------------------------------------------
// Arbitrary input.

/// Numbers at the edges: huge, tiny, negative, negative zero, integral floats.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        proptest::sample::select(vec![
            json!(0),
            json!(-0.0),
            json!(1),
            json!(-1),
            json!(1.0),
            json!(2.5),
            json!(1e308),
            json!(-1e308),
            json!(5e-324),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1000),
            json!(1001),
            json!(9_007_199_254_740_993_u64),
        ]),
    ]
}

/// Strings: any Unicode, ids and codes that nearly fit the model's patterns, long ones.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "\\PC{0,12}",
        2 => proptest::sample::select(vec![
            "", " ", "pending", "PENDING", "EUR", "eur", "129.90", "129.9", "0.00",
            "ord_01jd8x5v7k2m3n4p5q6r7s8t9v", "ord_01JD8X5V7K2M3N4P5Q6R7S8T9V",
            "prd_01jd8x5v7k2m3n4p5q6r7s8t9", "PAL-00120", "2026-06-01T12:00:00Z",
            "2026-02-30T12:00:00Z", "2026-06-01", "a@b.example", "@", "é日😀\u{202e}\u{301}",
            "\u{0}", "null", "true", "12", "1e3", "-0", "NaN", "inf", "1,2,3",
        ]).prop_map(str::to_owned),
        1 => (1_usize..20_000).prop_map(|n| "x".repeat(n)),
    ]
}

/// Any JSON value, nested at most 6 deep, its keys mostly the model's property names.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        let key = prop_oneof![
            3 => proptest::sample::select(KEYS.clone()),
            1 => "\\PC{0,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((key, inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Bytes for a body: anything, or JSON-looking fragments (unbalanced, deep, odd escapes and
/// numbers out of range).
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    let fragment = proptest::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\"a\"",
        "\"items\"",
        "1",
        "-0",
        "1e999",
        "-1e999",
        "123456789012345678901234567890",
        "0.1e-400",
        "true",
        "null",
        "nul",
        "\\u0000",
        "\"\\ud800\"",
        "\"\\uDC00\\uD800\"",
        "\"\\x\"",
        " ",
        "\n",
        "\u{feff}",
        "é",
        "//",
    ]);
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..512),
        3 => proptest::collection::vec(fragment, 0..64).prop_map(|parts| parts.concat().into_bytes()),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => (1_usize..5_000, any::<bool>()).prop_map(|(depth, object)| {
            if object {
                "{\"a\":".repeat(depth).into_bytes()
            } else {
                "[".repeat(depth).into_bytes()
            }
        }),
    ]
}

// ---------------------------------------------------------------------------------------
// Conforming input: values generated from a schema.

/// splitmix64, seeded by the property: the generator below is deterministic per case.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(usize::try_from(self.below(items.len() as u64)).ok()?)
    }
}

/// A value `schema` accepts; `None` when it needs more than this generator knows
/// (`oneOf`, contradictory bounds, …). `ascii`: strings of letters and digits only (headers).
fn conforming(schema: &Value, g: &mut Gen, ascii: bool, depth: u32) -> Option<Value> {
    let map = match schema {
        Value::Bool(true) => return Some(Value::from(g.below(100))),
        Value::Object(map) => map,
        _ => return None,
    };
    if depth > 8
        || ["oneOf", "anyOf", "allOf", "not"]
            .iter()
            .any(|k| map.contains_key(*k))
    {
        return None;
    }
    if let Some(constant) = map.get("const") {
        return Some(constant.clone());
    }
    if let Some(Value::Array(choices)) = map.get("enum") {
        return g.pick(choices).cloned();
    }
    let types = types_of(schema);
    let kind = match g.pick(&types) {
        Some(kind) => *kind,
        None if map.contains_key("properties") => "object",
        None if map.contains_key("items") => "array",
        None => "string",
    };
    match kind {
        "null" => Some(Value::Null),
        "boolean" => Some(Value::Bool(g.coin())),
        "integer" => integer_in(map, g),
        "number" => number_in(map, g),
        "string" => string_for(map, g, ascii).map(Value::String),
        "array" => array_for(map, g, ascii, depth),
        "object" => object_for(map, g, ascii, depth),
        _ => None,
    }
}

/// The inclusive integer range of `minimum`/`maximum` and their exclusive forms.
fn integer_range(map: &Map<String, Value>) -> (i64, i64) {
    let flag = |key: &str| map.get(key).and_then(Value::as_bool) == Some(true);
    let bound = |key: &str| map.get(key).and_then(Value::as_f64);
    let mut low = bound("minimum").map(|m| m.ceil() as i64);
    if let Some(m) = bound("exclusiveMinimum") {
        low = Some(
            low.unwrap_or(i64::MIN)
                .max((m.floor() as i64).saturating_add(1)),
        );
    } else if flag("exclusiveMinimum") {
        low = low.map(|l| l.saturating_add(1));
    }
    let mut high = bound("maximum").map(|m| m.floor() as i64);
    if let Some(m) = bound("exclusiveMaximum") {
        high = Some(
            high.unwrap_or(i64::MAX)
                .min((m.ceil() as i64).saturating_sub(1)),
        );
    } else if flag("exclusiveMaximum") {
        high = high.map(|h| h.saturating_sub(1));
    }
    // Unbounded sides: a range of 2,000 around zero or the given bound.
    match (low, high) {
        (Some(low), Some(high)) => (low, high),
        (Some(low), None) => (low, low.saturating_add(2_000)),
        (None, Some(high)) => (high.saturating_sub(2_000), high),
        (None, None) => (-1_000, 1_000),
    }
}

fn integer_in(map: &Map<String, Value>, g: &mut Gen) -> Option<Value> {
    let (low, high) = integer_range(map);
    if low > high {
        return None;
    }
    let span = high.abs_diff(low).saturating_add(1);
    let mut value = low.saturating_add_unsigned(g.below(span));
    // The ends of the range, where off-by-one errors live.
    match g.below(4) {
        0 => value = low,
        1 => value = high,
        _ => {}
    }
    if let Some(step) = map.get("multipleOf").and_then(Value::as_i64) {
        if step <= 0 {
            return None;
        }
        // The nearest multiple at or above, else below, inside the range.
        let rest = value.rem_euclid(step);
        if rest != 0 {
            value = value.checked_add(step - rest)?;
        }
        if value > high {
            value = value.checked_sub(step)?;
        }
        if value < low {
            return None;
        }
    }
    Some(Value::from(value))
}

fn number_in(map: &Map<String, Value>, g: &mut Gen) -> Option<Value> {
    if map.contains_key("multipleOf") || g.coin() {
        return integer_in(map, g);
    }
    let (low, high) = integer_range(map);
    if low >= high {
        return None;
    }
    // Strictly inside the range: a whole number plus a fraction.
    let whole = low.saturating_add_unsigned(g.below(high.abs_diff(low)));
    let fraction = (g.below(99) + 1) as f64 / 100.0;
    Number::from_f64(whole as f64 + fraction).map(Value::Number)
}

fn string_for(map: &Map<String, Value>, g: &mut Gen, ascii: bool) -> Option<String> {
    const ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const UNICODE: &[char] = &[
        'a', 'Z', '7', ' ', '-', 'é', '日', '😀', '\u{301}', '\u{202e}', '"',
    ];
    let min = map.get("minLength").and_then(Value::as_u64).unwrap_or(0);
    let max = map.get("maxLength").and_then(Value::as_u64);
    let text = if let Some(Value::String(source)) = map.get("pattern") {
        crate::model::pattern::Pattern::parse(source)
            .ok()?
            .generate(&mut |n| g.below(n))
    } else if let Some(Value::String(format)) = map.get("format") {
        let hex = |g: &mut Gen, n: usize| -> String {
            (0..n)
                .map(|_| char::from(b"0123456789abcdef"[(g.below(16)) as usize]))
                .collect()
        };
        match format.as_str() {
            "date-time" => g
                .pick(&[
                    "2026-06-01T12:00:00Z",
                    "2024-02-29T23:59:59.999+05:30",
                    "1999-12-31t00:00:00-00:00",
                ])?
                .to_string(),
            "date" => g
                .pick(&["2026-06-01", "2024-02-29", "2000-01-31"])?
                .to_string(),
            "email" => g
                .pick(&["a@b.example", "first.last+tag@mail.example.org"])?
                .to_string(),
            "uuid" => format!(
                "{}-{}-{}-{}-{}",
                hex(g, 8),
                hex(g, 4),
                hex(g, 4),
                hex(g, 4),
                hex(g, 12)
            ),
            _ => "anything".to_owned(),
        }
    } else {
        let len = min + g.below(max.unwrap_or(min + 16).saturating_sub(min).min(16) + 1);
        (0..len)
            .map(|_| {
                if ascii {
                    char::from(ALPHANUMERIC[g.below(ALPHANUMERIC.len() as u64) as usize])
                } else {
                    UNICODE[g.below(UNICODE.len() as u64) as usize]
                }
            })
            .collect()
    };
    let chars = text.chars().count() as u64;
    (chars >= min && max.is_none_or(|max| chars <= max) && (!ascii || text.is_ascii()))
        .then_some(text)
}

fn array_for(map: &Map<String, Value>, g: &mut Gen, ascii: bool, depth: u32) -> Option<Value> {
    let min = map.get("minItems").and_then(Value::as_u64).unwrap_or(0);
    let max = map
        .get("maxItems")
        .and_then(Value::as_u64)
        .unwrap_or(min + 3)
        .min(min + 3);
    if min > max {
        return None;
    }
    let count = min + g.below(max - min + 1);
    let items = map.get("items").unwrap_or(&Value::Bool(true));
    let unique = map.get("uniqueItems").and_then(Value::as_bool) == Some(true);
    let mut out: Vec<Value> = Vec::new();
    let mut attempts = 0;
    while (out.len() as u64) < count {
        attempts += 1;
        if attempts > count * 4 + 4 {
            return None;
        }
        let item = conforming(items, g, ascii, depth + 1)?;
        if !(unique && out.iter().any(|o| json_equal(o, &item))) {
            out.push(item);
        }
    }
    Some(Value::Array(out))
}

fn object_for(map: &Map<String, Value>, g: &mut Gen, ascii: bool, depth: u32) -> Option<Value> {
    let empty = Map::new();
    let properties = map
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let additional = map.get("additionalProperties");
    let required: Vec<&str> = map
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = Map::new();
    for (name, schema) in properties {
        if required.contains(&name.as_str()) || g.coin() {
            out.insert(name.clone(), conforming(schema, g, ascii, depth + 1)?);
        }
    }
    for name in required {
        if !out.contains_key(name) {
            let schema = match additional {
                None | Some(Value::Bool(true)) => &Value::Bool(true),
                Some(schema @ Value::Object(_)) => schema,
                Some(_) => return None,
            };
            out.insert(name.to_owned(), conforming(schema, g, ascii, depth + 1)?);
        }
    }
    // Undeclared properties are allowed unless `additionalProperties: false`.
    if g.coin() && !properties.contains_key("x_extra") {
        match additional {
            None | Some(Value::Bool(true)) => {
                out.insert("x_extra".into(), Value::from(g.below(10)));
            }
            Some(schema @ Value::Object(_)) => {
                out.insert("x_extra".into(), conforming(schema, g, ascii, depth + 1)?);
            }
            Some(_) => {}
        }
    }
    let count = out.len() as u64;
    let fits = map
        .get("minProperties")
        .and_then(Value::as_u64)
        .is_none_or(|min| count >= min)
        && map
            .get("maxProperties")
            .and_then(Value::as_u64)
            .is_none_or(|max| count <= max);
    fits.then_some(Value::Object(out))
}

/// A parameter value as it travels: text, several texts for an exploded array.
fn parameter_texts(value: &Value, explode: bool) -> Option<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) | Value::Null => Some(v.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => {
            let texts: Vec<String> = items.iter().map(one).collect::<Option<_>>()?;
            if explode {
                Some(texts)
            } else if texts.iter().any(|t| t.contains(',')) {
                None
            } else {
                Some(vec![texts.join(",")])
            }
        }
        other => one(other).map(|t| vec![t]),
    }
}

/// Path, query, headers and body of a request that follows `op`'s model.
type Request = (
    Vec<(String, String)>,
    Vec<(String, String)>,
    HeaderMap,
    Option<Value>,
);

fn conforming_request(op: &Operation, g: &mut Gen) -> Option<Request> {
    let (mut path, mut query, mut headers) = (Vec::new(), Vec::new(), HeaderMap::new());
    for p in &op.parameters {
        if p.location == ParamLocation::Cookie || (!p.required && g.coin()) {
            continue;
        }
        let header = p.location == ParamLocation::Header;
        let value = conforming(&p.schema, g, header, 0)?;
        for text in parameter_texts(&value, p.explode)? {
            match p.location {
                ParamLocation::Path => path.push((p.name.clone(), text)),
                ParamLocation::Query => query.push((p.name.clone(), text)),
                ParamLocation::Header => {
                    let name = HeaderName::from_bytes(p.name.as_bytes()).ok()?;
                    headers.append(name, HeaderValue::from_str(&text).ok()?);
                }
                ParamLocation::Cookie => {}
            }
        }
    }
    let body = match &op.request_body {
        Some(schema) if op.request_body_required || g.coin() => {
            Some(conforming(schema, g, false, 0)?)
        }
        _ => None,
    };
    Some((path, query, headers, body))
}

/// Equal, but floats only to 1 part in 10^15: serde_json's fast float parsing (without its
/// `float_roundtrip` feature) may read a printed float back 1 ULP off.
fn nearly_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            matches!((x.as_f64(), y.as_f64()), (Some(x), Some(y))
                if x == y || (x - y).abs() <= x.abs().max(y.abs()) * 1e-15)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| nearly_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| nearly_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Every node of a value, for edits.
fn node_count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(node_count).sum(),
        Value::Object(map) => map.values().map(node_count).sum(),
        _ => 0,
    }
}

/// Replaces the `index`-th node (depth first, the root is 0) with `with`.
fn replace_node(value: &mut Value, index: &mut usize, with: &Value) -> bool {
    if *index == 0 {
        *value = with.clone();
        return true;
    }
    *index -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|v| replace_node(v, index, with)),
        Value::Object(map) => map.values_mut().any(|v| replace_node(v, index, with)),
        _ => false,
    }
}

mod properties {
    use super::*;

    proptest! {
        /// Any bytes: an empty body, a JSON document, or an error at `body` saying so.
        #[test]
        fn any_body_bytes_parse_or_explain(bytes in body_bytes()) {
            match parse_json_body(&bytes) {
                Ok(None) => prop_assert!(bytes.iter().all(u8::is_ascii_whitespace)),
                Ok(Some(value)) => {
                    // What was parsed is a document that reads back the same.
                    let again = parse_json_body(value.to_string().as_bytes());
                    prop_assert!(
                        matches!(&again, Ok(Some(again)) if nearly_equal(again, &value)),
                        "{value} read back as {again:?}"
                    );
                }
                Err(error) => {
                    prop_assert_eq!(error.path.as_str(), "body");
                    prop_assert!(error.message.starts_with("is not valid JSON ("), "{}", error.message);
                }
            }
        }

        /// Any JSON value against every body, parameter and payload schema of the shipped
        /// models, and as the body of every operation's request.
        #[test]
        fn any_value_against_every_schema(value in json_value()) {
            for (name, schema) in SCHEMAS.iter() {
                let errors = validate_value(schema, &value, "body");
                assert_well_formed(&errors, &["body"]).map_err(|e| {
                    TestCaseError::fail(format!("{name}: {e}"))
                })?;
            }
            let mut g = Gen(0);
            for op in OPERATIONS.iter() {
                // Valid parameters, so the body is what is judged.
                let Some((path, query, headers, _)) = conforming_request(op, &mut g) else {
                    continue;
                };
                if let Err(errors) = validate_request(op, &path, &query, &headers, Some(&value)) {
                    assert_well_formed(&errors, &["body"])?;
                }
            }
        }

        /// Valid requests with a few nodes replaced by arbitrary values: close to the rules,
        /// so each is checked; the errors stay well formed.
        #[test]
        fn nearly_valid_bodies(
            op in 0_usize..1_000,
            seed in any::<u64>(),
            edits in proptest::collection::vec((any::<usize>(), json_value()), 1..4),
        ) {
            let op = OPERATIONS[op % OPERATIONS.len()];
            let mut g = Gen(seed);
            let Some((path, query, headers, body)) = conforming_request(op, &mut g) else {
                return Ok(());
            };
            let mut body = body.unwrap_or(Value::Null);
            for (at, with) in &edits {
                let mut index = at % node_count(&body);
                replace_node(&mut body, &mut index, with);
            }
            if let Err(errors) = validate_request(op, &path, &query, &headers, Some(&body)) {
                assert_well_formed(&errors, &["body"])?;
            }
        }

        /// Any text (and any header bytes) as every parameter of every operation; where the
        /// quick string check accepts a value, the full check agrees.
        #[test]
        fn any_parameter_text(
            texts in proptest::collection::vec(text(), 1..4),
            header_bytes in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            for op in OPERATIONS.iter() {
                let mut path = Vec::new();
                let mut query = Vec::new();
                let mut headers = HeaderMap::new();
                for (i, p) in op.parameters.iter().enumerate() {
                    let text = texts[i % texts.len()].clone();
                    if let Some(fast) = &p.fast_check
                        && fast.accepts(&text)
                    {
                        let full = validate_value(&p.schema, &Value::from(text.as_str()), "p");
                        prop_assert!(full.is_empty(), "{} {text:?}: {full:?}", p.name);
                    }
                    match p.location {
                        ParamLocation::Path => path.push((p.name.clone(), text)),
                        ParamLocation::Query => {
                            // Repeated, to reach "given only once" and arrays.
                            query.push((p.name.clone(), text.clone()));
                            if texts.len() > 2 {
                                query.push((p.name.clone(), text));
                            }
                        }
                        ParamLocation::Header => {
                            if let (Ok(name), Ok(value)) = (
                                HeaderName::from_bytes(p.name.as_bytes()),
                                HeaderValue::from_bytes(&header_bytes),
                            ) {
                                headers.append(name, value);
                            }
                        }
                        ParamLocation::Cookie => {}
                    }
                }
                let body = Value::from(texts[0].as_str());
                if let Err(errors) = validate_request(op, &path, &query, &headers, Some(&body)) {
                    assert_well_formed(&errors, &REQUEST_PREFIXES)?;
                }
            }
        }

        /// Requests generated from the model's own schemas (required and some optional
        /// parameters, bodies with and without optional and extra fields) pass.
        #[test]
        fn conforming_requests_pass(op in 0_usize..1_000, seed in any::<u64>()) {
            let op = OPERATIONS[op % OPERATIONS.len()];
            let mut g = Gen(seed);
            let request = conforming_request(op, &mut g);
            prop_assert!(request.is_some(), "no request generated for {}", op.route_label);
            let Some((path, query, headers, body)) = request else {
                return Ok(());
            };
            let outcome = validate_request(op, &path, &query, &headers, body.as_ref());
            prop_assert!(
                outcome.is_ok(),
                "{} {path:?} {query:?} {headers:?} {body:?}: {outcome:?}",
                op.route_label
            );
        }
    }
}

/// Deterministic checks of the shipped models' examples.
mod examples {
    use super::*;

    /// Every `example` / `examples` inside a schema is accepted by the schema it sits in.
    fn check_schema_examples(schema: &Value, at: &str, checked: &mut usize) {
        let Value::Object(map) = schema else {
            return;
        };
        let mut examples: Vec<&Value> = map.get("example").into_iter().collect();
        if let Some(Value::Array(list)) = map.get("examples") {
            examples.extend(list);
        }
        for example in examples {
            let errors = validate_value(schema, example, "example");
            assert!(errors.is_empty(), "{at}: {example} fails: {errors:?}");
            *checked += 1;
        }
        for (key, value) in map {
            match (key.as_str(), value) {
                ("properties", Value::Object(properties)) => {
                    for (name, sub) in properties {
                        check_schema_examples(sub, &format!("{at}.{name}"), checked);
                    }
                }
                ("items" | "additionalProperties", sub) => {
                    check_schema_examples(sub, &format!("{at}[]"), checked);
                }
                ("allOf" | "anyOf" | "oneOf", Value::Array(subs)) => {
                    for sub in subs {
                        check_schema_examples(sub, at, checked);
                    }
                }
                _ => {}
            }
        }
    }

    #[test]
    fn the_models_own_examples_pass() {
        let mut checked = 0;
        for (name, schema) in SCHEMAS.iter() {
            check_schema_examples(schema, name, &mut checked);
        }
        for version in CATALOG.versions() {
            for op in &version.operations {
                let method = op.method.as_str().to_lowercase();
                let Some(item) = version.document["paths"][op.path.as_str()].as_object() else {
                    panic!("{} is not in the document", op.route_label);
                };
                // Parameter examples (`example` next to the schema), one parameter at a time.
                let declared = item
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .chain(item[&method]["parameters"].as_array())
                    .flatten();
                for raw in declared {
                    let (Some(name), Some(example)) = (raw["name"].as_str(), raw.get("example"))
                    else {
                        continue;
                    };
                    let location = raw["in"].as_str().unwrap_or_default();
                    let p = op
                        .parameters
                        .iter()
                        .find(|p| p.name == name && p.location.as_str() == location)
                        .unwrap_or_else(|| panic!("{} {name}", op.route_label));
                    let texts = parameter_texts(example, p.explode).unwrap_or_default();
                    let raw: Vec<&str> = texts.iter().map(String::as_str).collect();
                    let mut errors = Vec::new();
                    check_parameter(p, &raw, &mut errors);
                    assert!(
                        errors.is_empty(),
                        "{} {name}={example}: {errors:?}",
                        op.route_label
                    );
                    checked += 1;
                }
                // Request-body examples (`examples: {name: {value}}` and `example`).
                let media = &item[&method]["requestBody"]["content"]["application/json"];
                let mut bodies: Vec<&Value> = media.get("example").into_iter().collect();
                if let Some(named) = media.get("examples").and_then(Value::as_object) {
                    bodies.extend(named.values().filter_map(|e| e.get("value")));
                }
                let schema = op.request_body.as_ref();
                for body in bodies {
                    let schema = schema.unwrap_or_else(|| panic!("{}", op.route_label));
                    let errors = validate_value(schema, body, "body");
                    assert!(
                        errors.is_empty(),
                        "{}: {body} fails: {errors:?}",
                        op.route_label
                    );
                    checked += 1;
                }
            }
        }
        // The v1 and v2 models have dozens; none being found would mean this test broke.
        assert!(checked > 20, "only {checked} examples checked");
    }

    /// The generator behind `conforming_requests_pass` covers every shipped operation.
    #[test]
    fn every_operation_gets_conforming_requests() {
        for op in OPERATIONS.iter() {
            for seed in 0..20 {
                let request = conforming_request(op, &mut Gen(seed));
                assert!(request.is_some(), "{} (seed {seed})", op.route_label);
            }
        }
    }
}
