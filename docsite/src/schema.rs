//! JSON Schemas of a model as readable nested tables: one row per property, indented by
//! depth, with its type, whether it is required, its constraints and an example. `$ref`s are
//! followed inside the document; a reference back to a schema being expanded (a recursive
//! schema) is shown once as a link to it, so every schema renders in finite time.

use crate::markdown;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Deeper than this, a schema is shown as its type only (no model needs it; it bounds the
/// work for a hostile or broken one).
const MAX_DEPTH: usize = 12;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaRow {
    /// 0 for the top-level properties.
    pub depth: u8,
    /// The property name; `[]` for the items of an array of scalars; `one of #1` for an
    /// alternative.
    pub name: String,
    /// Where it sits, as validation errors name it: `items[].product_id`.
    pub path: String,
    /// `string (date-time)`, `array of object`, `integer | null`, …
    pub type_label: String,
    /// The named schema (`components/schemas/…`) the property refers to, if any.
    pub schema_name: Option<String>,
    pub required: bool,
    pub description_html: String,
    /// `pattern ^ord_[0-9a-z]{26}$`, `1 ≤ value ≤ 1000`, `one of: pending, cancelled`, …
    pub constraints: Vec<String>,
    /// A JSON example, compact.
    pub example: Option<String>,
    /// A reference back to a schema that encloses this row: not expanded again.
    pub recursive: bool,
}

/// Walks schemas of one document (`root`, for `$ref`s).
pub struct SchemaWalker<'a> {
    root: &'a Value,
}

impl<'a> SchemaWalker<'a> {
    pub fn new(root: &'a Value) -> Self {
        Self { root }
    }

    /// Follows a local `$ref` (`#/components/schemas/Order`), laying sibling keys over it.
    /// Returns the schema and the referenced name, if any. Unknown references resolve to an
    /// empty schema (the gateway's loader refuses them before the docs are built).
    pub fn resolve(&self, schema: &Value) -> (Value, Option<String>) {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            return (schema.clone(), None);
        };
        let name = reference.rsplit('/').next().map(str::to_owned);
        let target = reference
            .strip_prefix('#')
            .and_then(|pointer| self.root.pointer(pointer))
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let mut merged = match target {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        if let Value::Object(siblings) = schema {
            for (key, value) in siblings {
                if key != "$ref" {
                    merged.insert(key.clone(), value.clone());
                }
            }
        }
        (Value::Object(merged), name)
    }

    /// Follows `$ref`s until a schema that is not one (a few hops at most; a reference to a
    /// name already followed stops), collecting the names.
    fn resolve_fully(&self, schema: &Value, names: &mut Vec<String>) -> Value {
        let mut current = schema.clone();
        for _ in 0..8 {
            let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let name = reference.rsplit('/').next().unwrap_or_default().to_owned();
            if names.contains(&name) {
                break;
            }
            let (next, _) = self.resolve(&current);
            names.push(name);
            current = next;
        }
        current
    }

    /// `allOf` members merged into one object schema (properties and required lists).
    fn merge_all_of(&self, schema: &Value, names: &mut Vec<String>) -> Value {
        let Some(members) = schema.get("allOf").and_then(Value::as_array) else {
            return schema.clone();
        };
        let mut merged = match schema {
            Value::Object(map) => {
                let mut map = map.clone();
                map.remove("allOf");
                map
            }
            _ => Map::new(),
        };
        let mut properties = Map::new();
        let mut required: Vec<Value> = Vec::new();
        for member in members {
            let member = self.resolve_fully(member, names);
            let member = self.merge_all_of(&member, names);
            if let Some(Value::Object(props)) = member.get("properties") {
                for (k, v) in props {
                    properties.insert(k.clone(), v.clone());
                }
            }
            if let Some(Value::Array(req)) = member.get("required") {
                required.extend(req.iter().cloned());
            }
            for key in ["type", "description"] {
                if !merged.contains_key(key)
                    && let Some(value) = member.get(key)
                {
                    merged.insert(key.to_owned(), value.clone());
                }
            }
        }
        if let Some(Value::Object(props)) = schema.get("properties") {
            for (k, v) in props {
                properties.insert(k.clone(), v.clone());
            }
        }
        if let Some(Value::Array(req)) = schema.get("required") {
            required.extend(req.iter().cloned());
        }
        merged.insert("properties".into(), Value::Object(properties));
        merged.insert("required".into(), Value::Array(required));
        merged.entry("type").or_insert_with(|| "object".into());
        Value::Object(merged)
    }

    /// The rows of a body schema: its properties at depth 0 (or one row for a schema that
    /// is not an object).
    pub fn rows(&self, schema: &Value) -> Vec<SchemaRow> {
        let mut rows = Vec::new();
        let mut stack = Vec::new();
        let mut names = Vec::new();
        let resolved = self.resolve_fully(schema, &mut names);
        let resolved = self.merge_all_of(&resolved, &mut names);
        stack.extend(names);
        if has_properties(&resolved) {
            self.properties(&resolved, "", 0, &mut stack, &mut rows);
        } else {
            self.property(schema, "(body)", "", true, 0, &mut stack, &mut rows);
        }
        rows
    }

    fn properties(
        &self,
        schema: &Value,
        path: &str,
        depth: usize,
        stack: &mut Vec<String>,
        rows: &mut Vec<SchemaRow>,
    ) {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (name, property) in properties {
                let child_path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                let is_required = required.contains(&name.as_str());
                self.property(property, name, &child_path, is_required, depth, stack, rows);
            }
        }
    }

    #[expect(clippy::too_many_arguments, reason = "one recursive walk's state")]
    fn property(
        &self,
        property: &Value,
        name: &str,
        path: &str,
        required: bool,
        depth: usize,
        stack: &mut Vec<String>,
        rows: &mut Vec<SchemaRow>,
    ) {
        let mut names = Vec::new();
        let direct_ref = property
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .map(str::to_owned);
        if let Some(target) = &direct_ref
            && stack.contains(target)
        {
            rows.push(SchemaRow {
                depth: depth_u8(depth),
                name: name.to_owned(),
                path: path.to_owned(),
                type_label: target.clone(),
                schema_name: Some(target.clone()),
                required,
                description_html: String::new(),
                constraints: vec![format!("recursive: the same {target} as above")],
                example: None,
                recursive: true,
            });
            return;
        }
        let resolved = self.resolve_fully(property, &mut names);
        let resolved = self.merge_all_of(&resolved, &mut names);
        let pushed = names.len();
        stack.extend(names.iter().cloned());

        let mut row = describe(&resolved, name, path, required, depth);
        row.schema_name = names.first().cloned();
        if let Some(schema_name) = &row.schema_name
            && !row.type_label.contains(schema_name.as_str())
        {
            row.type_label = format!("{} ({schema_name})", row.type_label);
        }
        rows.push(row);

        if depth < MAX_DEPTH {
            if has_properties(&resolved) {
                self.properties(&resolved, path, depth + 1, stack, rows);
            } else if let Some(items) = resolved.get("items") {
                let items_path = format!("{path}[]");
                let item_ref = items
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.rsplit('/').next())
                    .map(str::to_owned);
                if let Some(target) = &item_ref
                    && stack.contains(target)
                {
                    rows.push(SchemaRow {
                        depth: depth_u8(depth + 1),
                        name: "[]".into(),
                        path: items_path,
                        type_label: target.clone(),
                        schema_name: Some(target.clone()),
                        required: false,
                        description_html: String::new(),
                        constraints: vec![format!("recursive: the same {target} as above")],
                        example: None,
                        recursive: true,
                    });
                } else {
                    let mut item_names = Vec::new();
                    let item = self.resolve_fully(items, &mut item_names);
                    let item = self.merge_all_of(&item, &mut item_names);
                    let item_pushed = item_names.len();
                    stack.extend(item_names);
                    if has_properties(&item) {
                        self.properties(&item, &items_path, depth + 1, stack, rows);
                    }
                    stack.truncate(stack.len() - item_pushed);
                }
            } else if let Some(options) = resolved
                .get("oneOf")
                .or_else(|| resolved.get("anyOf"))
                .and_then(Value::as_array)
            {
                for (i, option) in options.iter().enumerate() {
                    self.property(
                        option,
                        &format!("one of #{}", i + 1),
                        path,
                        false,
                        depth + 1,
                        stack,
                        rows,
                    );
                }
            }
        }
        stack.truncate(stack.len() - pushed);
    }
}

fn depth_u8(depth: usize) -> u8 {
    u8::try_from(depth).unwrap_or(u8::MAX)
}

fn has_properties(schema: &Value) -> bool {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
}

/// The type of a schema as a short label.
pub fn type_label(schema: &Value) -> String {
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ if schema.get("properties").is_some() => vec!["object".into()],
        _ if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() => {
            vec!["one of".into()]
        }
        _ if schema.get("enum").is_some() => vec!["enum".into()],
        _ => vec!["any".into()],
    };
    let labels: Vec<String> = types
        .iter()
        .map(
            |t| match (t.as_str(), schema.get("format").and_then(Value::as_str)) {
                ("array", _) => {
                    let item = schema
                        .get("items")
                        .map(|items| match items.get("$ref").and_then(Value::as_str) {
                            Some(r) => r.rsplit('/').next().unwrap_or("object").to_owned(),
                            None => type_label(items),
                        })
                        .unwrap_or_else(|| "any".into());
                    format!("array of {item}")
                }
                ("null", _) => "null".into(),
                (t, Some(format)) => format!("{t} ({format})"),
                (t, None) => t.to_owned(),
            },
        )
        .collect();
    labels.join(" | ")
}

fn describe(schema: &Value, name: &str, path: &str, required: bool, depth: usize) -> SchemaRow {
    let description_html = schema
        .get("description")
        .and_then(Value::as_str)
        .map(markdown::render_inline)
        .unwrap_or_default();
    SchemaRow {
        depth: depth_u8(depth),
        name: name.to_owned(),
        path: path.to_owned(),
        type_label: type_label(schema),
        schema_name: None,
        required,
        description_html,
        constraints: constraints(schema),
        example: example_of(schema).map(|v| v.to_string()),
        recursive: false,
    }
}

/// The schema's rules as short phrases.
pub fn constraints(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let number = |key: &str| {
        schema
            .get(key)
            .filter(|v| v.is_number())
            .map(Value::to_string)
    };
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let list: Vec<String> = values.iter().map(scalar_text).collect();
        out.push(format!("one of: {}", list.join(", ")));
    }
    if let Some(value) = schema.get("const") {
        out.push(format!("always {}", scalar_text(value)));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        out.push(format!("pattern {pattern}"));
    }
    match (number("minLength"), number("maxLength")) {
        (Some(min), Some(max)) => out.push(format!("length {min}–{max}")),
        (Some(min), None) => out.push(format!("length ≥ {min}")),
        (None, Some(max)) => out.push(format!("length ≤ {max}")),
        (None, None) => {}
    }
    let low = number("minimum")
        .map(|m| format!("{m} ≤ "))
        .or_else(|| number("exclusiveMinimum").map(|m| format!("{m} < ")));
    let high = number("maximum")
        .map(|m| format!(" ≤ {m}"))
        .or_else(|| number("exclusiveMaximum").map(|m| format!(" < {m}")));
    if low.is_some() || high.is_some() {
        out.push(format!(
            "{}value{}",
            low.unwrap_or_default(),
            high.unwrap_or_default()
        ));
    }
    match (number("minItems"), number("maxItems")) {
        (Some(min), Some(max)) => out.push(format!("{min}–{max} items")),
        (Some(min), None) => out.push(format!("at least {min} items")),
        (None, Some(max)) => out.push(format!("at most {max} items")),
        (None, None) => {}
    }
    if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
        out.push("unique items".into());
    }
    if let Some(default) = schema.get("default") {
        out.push(format!("default {}", scalar_text(default)));
    }
    if schema.get("readOnly") == Some(&Value::Bool(true)) {
        out.push("read-only".into());
    }
    out
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The schema's own example (`example`, else the first of `examples`).
pub fn example_of(schema: &Value) -> Option<&Value> {
    schema
        .get("example")
        .or_else(|| schema.get("examples").and_then(|e| e.get(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({
            "components": {"schemas": {
                "Money": {
                    "type": "object",
                    "required": ["amount", "currency"],
                    "properties": {
                        "amount": {"type": "string", "pattern": "^\\d+\\.\\d{2}$", "example": "129.90"},
                        "currency": {"type": "string", "enum": ["EUR", "USD"]}
                    }
                },
                "Line": {
                    "type": "object",
                    "required": ["quantity"],
                    "properties": {
                        "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                        "price": {"$ref": "#/components/schemas/Money", "description": "Per unit."}
                    }
                },
                "Order": {
                    "type": "object",
                    "required": ["id", "lines"],
                    "properties": {
                        "id": {"type": "string", "description": "The **order** id."},
                        "lines": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Line"}},
                        "note": {"type": ["string", "null"], "maxLength": 64}
                    }
                },
                "Category": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "parent": {"$ref": "#/components/schemas/Category"},
                        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Category"}}
                    }
                },
                "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
                "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
                "Error": {"type": "object", "required": ["__type"], "properties": {"__type": {"type": "string"}}},
                "Detailed": {"allOf": [
                    {"$ref": "#/components/schemas/Error"},
                    {"type": "object", "required": ["fields"], "properties": {"fields": {"type": "array", "items": {"type": "string"}}}}
                ]}
            }}
        })
    }

    fn rows_of(name: &str) -> Vec<SchemaRow> {
        let doc = document();
        SchemaWalker::new(&doc).rows(&json!({"$ref": format!("#/components/schemas/{name}")}))
    }

    #[test]
    fn nested_and_referenced_schemas_become_indented_rows() {
        let rows = rows_of("Order");
        let paths: Vec<(&str, u8)> = rows.iter().map(|r| (r.path.as_str(), r.depth)).collect();
        assert_eq!(
            paths,
            [
                ("id", 0),
                ("lines", 0),
                ("lines[].quantity", 1),
                ("lines[].price", 1),
                ("lines[].price.amount", 2),
                ("lines[].price.currency", 2),
                ("note", 0),
            ]
        );
        let lines = &rows[1];
        assert_eq!(lines.type_label, "array of Line");
        assert!(lines.required);
        assert_eq!(lines.constraints, ["at least 1 items"]);
        let quantity = &rows[2];
        assert_eq!(quantity.constraints, ["1 ≤ value ≤ 1000"]);
        assert!(quantity.required);
        let price = &rows[3];
        assert_eq!(price.type_label, "object (Money)");
        assert_eq!(price.schema_name.as_deref(), Some("Money"));
        assert!(
            price.description_html.contains("Per unit."),
            "sibling description wins"
        );
        assert!(!price.required);
        assert_eq!(rows[4].example.as_deref(), Some("\"129.90\""));
        assert_eq!(rows[5].constraints, ["one of: EUR, USD"]);
        assert_eq!(rows[6].type_label, "string | null");
        assert!(rows[0].description_html.contains("<strong>order</strong>"));
    }

    #[test]
    fn recursive_schemas_stop_at_the_first_repeat() {
        let rows = rows_of("Category");
        let paths: Vec<(&str, bool)> = rows
            .iter()
            .map(|r| (r.path.as_str(), r.recursive))
            .collect();
        assert_eq!(
            paths,
            [
                ("name", false),
                ("parent", true),
                ("children", false),
                ("children[]", true)
            ]
        );
        assert_eq!(
            rows[1].constraints,
            ["recursive: the same Category as above"]
        );
        // Mutual recursion: A → B → A.
        let rows = rows_of("A");
        let paths: Vec<(&str, bool)> = rows
            .iter()
            .map(|r| (r.path.as_str(), r.recursive))
            .collect();
        assert_eq!(paths, [("b", false), ("b.a", true)]);
    }

    #[test]
    fn all_of_members_are_merged() {
        let rows = rows_of("Detailed");
        let names: Vec<(&str, bool)> = rows.iter().map(|r| (r.path.as_str(), r.required)).collect();
        assert_eq!(names, [("__type", true), ("fields", true)]);
        assert_eq!(rows[1].type_label, "array of string");
    }

    #[test]
    fn scalar_bodies_get_one_row() {
        let doc = document();
        let rows = SchemaWalker::new(&doc).rows(&json!({"type": "string", "format": "date"}));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].type_label, "string (date)");
    }
}
