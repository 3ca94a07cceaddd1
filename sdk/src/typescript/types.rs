//! Model schemas as TypeScript types, and JSDoc comments.

use super::names::{Names, js_string, property_key};
use crate::model::{ObjectSchema, Schema};

/// A `/** … */` block at `indent`, from paragraphs of text (None when there is no text).
pub fn jsdoc(lines: &[String], indent: &str) -> String {
    // An empty block is a paragraph break.
    let text: Vec<&str> = lines
        .iter()
        .flat_map(|block| {
            let block = block.trim_end();
            if block.is_empty() {
                vec![""]
            } else {
                block.lines().collect()
            }
        })
        .collect();
    // Trim leading and trailing blank lines, keep the inner ones (paragraphs).
    let start = text.iter().position(|l| !l.trim().is_empty());
    let end = text.iter().rposition(|l| !l.trim().is_empty());
    let (Some(start), Some(end)) = (start, end) else {
        return String::new();
    };
    let text = &text[start..=end];
    // A `*/` in a description would end the comment early.
    let escape = |line: &str| line.trim_end().replace("*/", "*\\/");
    if text.len() == 1 {
        return format!("{indent}/** {} */\n", escape(text[0]));
    }
    let mut out = format!("{indent}/**\n");
    for line in text {
        let line = escape(line);
        if line.is_empty() {
            out.push_str(&format!("{indent} *\n"));
        } else {
            out.push_str(&format!("{indent} * {line}\n"));
        }
    }
    out.push_str(&format!("{indent} */\n"));
    out
}

/// Renders schemas against one package's type names.
pub struct TypeWriter<'n, 'a> {
    pub names: &'n Names<'a>,
}

impl TypeWriter<'_, '_> {
    /// The type of `schema`, nested objects written at `indent` (two spaces a level).
    pub fn render(&self, schema: &Schema, indent: usize) -> String {
        match schema {
            Schema::Ref(name) => self
                .names
                .type_name(name)
                .map_or_else(|| "unknown".to_owned(), str::to_owned),
            Schema::String {
                enumeration: Some(values),
                ..
            } if !values.is_empty() => values
                .iter()
                .map(|v| js_string(v))
                .collect::<Vec<_>>()
                .join(" | "),
            Schema::String { .. } => "string".into(),
            Schema::Integer | Schema::Number => "number".into(),
            Schema::Boolean => "boolean".into(),
            Schema::Null => "null".into(),
            Schema::Any => "unknown".into(),
            Schema::Array(item) => {
                let item_type = self.render(item, indent);
                if needs_parentheses(item) {
                    format!("({item_type})[]")
                } else {
                    format!("{item_type}[]")
                }
            }
            Schema::Map(value) => format!("Record<string, {}>", self.render(value, indent)),
            Schema::Object(object) => self.object(object, indent),
            Schema::Union(variants) => {
                if variants.iter().any(|v| matches!(v, Schema::Any)) {
                    return "unknown".into();
                }
                let mut rendered: Vec<String> = Vec::new();
                for variant in variants {
                    let text = self.render(variant, indent);
                    let text = if matches!(variant, Schema::AllOf(parts) if parts.len() > 1) {
                        format!("({text})")
                    } else {
                        text
                    };
                    if !rendered.contains(&text) {
                        rendered.push(text);
                    }
                }
                if rendered.is_empty() {
                    "unknown".into()
                } else {
                    rendered.join(" | ")
                }
            }
            Schema::AllOf(parts) => {
                let rendered: Vec<String> = parts
                    .iter()
                    .filter(|p| !matches!(p, Schema::Any))
                    .map(|part| {
                        let text = self.render(part, indent);
                        if needs_parentheses(part) {
                            format!("({text})")
                        } else {
                            text
                        }
                    })
                    .collect();
                if rendered.is_empty() {
                    "unknown".into()
                } else {
                    rendered.join(" & ")
                }
            }
        }
    }

    /// An inline object type: `{ … }` over several lines, with each property's JSDoc.
    pub fn object(&self, object: &ObjectSchema, indent: usize) -> String {
        if object.properties.is_empty() {
            return if object.open {
                "Record<string, unknown>".into()
            } else {
                "Record<string, never>".into()
            };
        }
        format!(
            "{{\n{}{}}}",
            self.members(object, indent + 1),
            "  ".repeat(indent)
        )
    }

    /// The property lines of an object type (for an interface body or an inline object).
    pub fn members(&self, object: &ObjectSchema, indent: usize) -> String {
        let pad = "  ".repeat(indent);
        let mut out = String::new();
        for property in &object.properties {
            let mut doc: Vec<String> = property.description.iter().cloned().collect();
            if let Schema::String {
                format: Some(format),
                ..
            } = &property.schema
            {
                doc.push(format!("Format: `{format}`."));
            }
            out.push_str(&jsdoc(&doc, &pad));
            out.push_str(&format!(
                "{pad}{}{}: {};\n",
                property_key(&property.name),
                if property.required { "" } else { "?" },
                self.render(&property.schema, indent)
            ));
        }
        out
    }
}

/// Whether a type must be parenthesised inside `T[]` or `A & B`.
fn needs_parentheses(schema: &Schema) -> bool {
    match schema {
        Schema::Union(variants) => variants.len() > 1,
        Schema::AllOf(parts) => parts.len() > 1,
        Schema::String {
            enumeration: Some(values),
            ..
        } => values.len() > 1,
        _ => false,
    }
}
