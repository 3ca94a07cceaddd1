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
