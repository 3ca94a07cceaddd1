//! Inlining of internal `$ref`s (`#/components/...`, any JSON pointer into the same file).
//! External references, dangling pointers and cycles are errors naming the reference and
//! where it was used. Keys next to a `$ref` (OpenAPI 3.1 allows e.g. `description`) are
//! laid over the referenced object.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The longest chain of references inside references that is followed (the shipped models
/// nest 3 deep).
const MAX_CHAIN: usize = 64;

/// The most values a document may have once its references are inlined (the shipped models:
/// about 6,000). A reference used twice inside a reference used twice, and so on, doubles
/// the document per level: a 1 KB file took seconds at 18 levels and would exhaust memory at 30.
const MAX_VALUES: usize = 500_000;

pub(super) struct RefError {
    pub reference: String,
    pub message: String,
    /// Where the reference is used: the keys from the document root.
    pub at: Vec<String>,
}

pub(super) fn resolve(root: &Value) -> Result<Value, RefError> {
    let mut resolver = Resolver {
        root,
        stack: Vec::new(),
        cache: HashMap::new(),
        location: Vec::new(),
        values: 0,
    };
    resolver.value(root)
}

struct Resolver<'a> {
    root: &'a Value,
    /// References being resolved, outermost first (for cycle detection).
    stack: Vec<String>,
    /// Each resolved reference and how many values it holds.
    cache: HashMap<String, (Value, usize)>,
    /// Where in the document we are, for messages.
    location: Vec<String>,
    /// Values produced so far, against [`MAX_VALUES`].
    values: usize,
}

impl Resolver<'_> {
    fn error(&self, reference: &str, message: &str) -> RefError {
        let at = if self.location.is_empty() {
            "the document root".to_owned()
        } else {
            self.location.join("/")
        };
        RefError {
            reference: reference.to_owned(),
            message: format!("{message} (used at {at})"),
            at: self.location.clone(),
        }
    }

    /// Counts `values` more against [`MAX_VALUES`]; the error names `reference`, else the
    /// reference being resolved.
    fn count(&mut self, values: usize, reference: Option<&str>) -> Result<(), RefError> {
        self.values = self.values.saturating_add(values);
        if self.values <= MAX_VALUES {
            return Ok(());
        }
        let reference = reference.or(self.stack.last().map(String::as_str));
        Err(self.error(
            reference.unwrap_or_default(),
            &format!(
                "makes the document too large once references are inlined \
                 (more than {MAX_VALUES} values)"
            ),
        ))
    }

    fn value(&mut self, value: &Value) -> Result<Value, RefError> {
        if self.location.len() > 256 {
            return Err(self.error("", "the document is nested too deeply"));
        }
        self.count(1, None)?;
        match value {
            Value::Object(map) => match map.get("$ref") {
                Some(reference) => self.reference(reference, map),
                None => {
                    let mut out = Map::with_capacity(map.len());
                    for (key, item) in map {
                        self.location.push(key.clone());
                        let resolved = self.value(item);
                        self.location.pop();
                        out.insert(key.clone(), resolved?);
                    }
                    Ok(Value::Object(out))
                }
            },
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    self.location.push(index.to_string());
                    let resolved = self.value(item);
                    self.location.pop();
                    out.push(resolved?);
                }
                Ok(Value::Array(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn reference(
        &mut self,
        reference: &Value,
        siblings: &Map<String, Value>,
    ) -> Result<Value, RefError> {
        let Value::String(reference) = reference else {
            return Err(self.error("$ref", "$ref must be a string"));
        };
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(self.error(
                reference,
                "only references inside the same file (#/...) are supported",
            ));
        };
        // Each reference in a chain is two stack frames: a long chain of `$ref`s to `$ref`s
        // overflowed the stack (an abort, not an error) at about 800 in a debug build.
        if self.stack.len() >= MAX_CHAIN {
            return Err(self.error(
                reference,
                &format!("leads through more than {MAX_CHAIN} nested references"),
            ));
        }
        if let Some(at) = self.stack.iter().position(|r| r == reference) {
            let mut cycle = self.stack[at..].to_vec();
            cycle.push(reference.clone());
            return Err(self.error(
                reference,
                &format!("circular reference: {}", cycle.join(" → ")),
            ));
        }
        let cached = self.cache.get(reference).map(|(_, values)| *values);
        let resolved = match cached {
            Some(values) => {
                // Counted before the copy is made.
                self.count(values, Some(reference))?;
                self.cache
                    .get(reference)
                    .map_or(Value::Null, |(done, _)| done.clone())
            }
            None => {
                let pointer = percent_decode(fragment);
                let Some(target) = self.root.pointer(&pointer) else {
                    return Err(self.error(reference, "points to nothing"));
                };
                let before = self.values;
                self.stack.push(reference.clone());
                let resolved = self.value(target);
                self.stack.pop();
                let resolved = resolved?;
                self.cache
                    .insert(reference.clone(), (resolved.clone(), self.values - before));
                resolved
            }
        };
        if siblings.len() == 1 {
            return Ok(resolved);
        }
        let Value::Object(mut object) = resolved else {
            return Err(self.error(
                reference,
                "keys next to $ref need the reference to point at an object",
            ));
        };
        for (key, item) in siblings {
            if key != "$ref" {
                self.location.push(key.clone());
                let value = self.value(item);
                self.location.pop();
                object.insert(key.clone(), value?);
            }
        }
        Ok(Value::Object(object))
    }
}

/// `%XX` decoding of a URI fragment (JSON pointers in `$ref`s may be percent-encoded).
pub(crate) fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).and_then(|b| char::from(*b).to_digit(16)),
                bytes.get(i + 2).and_then(|b| char::from(*b).to_digit(16)),
            )
        {
            out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inlines_nested_references_with_siblings() {
        let doc = json!({
            "a": {"$ref": "#/components/schemas/B", "description": "over"},
            "components": {"schemas": {
                "B": {"type": "object", "properties": {"c": {"$ref": "#/components/schemas/C"}}},
                "C": {"type": "string"}
            }}
        });
        let resolved = resolve(&doc).ok().unwrap();
        assert_eq!(resolved["a"]["description"], "over");
        assert_eq!(resolved["a"]["properties"]["c"], json!({"type": "string"}));
    }

    #[test]
    fn reports_cycles_dangling_and_external_references() {
        let cycle = json!({"x": {"$ref": "#/y"}, "y": {"items": {"$ref": "#/x"}}});
        let error = resolve(&cycle).err().unwrap();
        assert!(
            error.message.contains("circular reference"),
            "{}",
            error.message
        );

        let dangling = json!({"paths": {"p": {"$ref": "#/components/schemas/Nope"}}});
        let error = resolve(&dangling).err().unwrap();
        assert_eq!(error.reference, "#/components/schemas/Nope");
        assert!(error.message.contains("points to nothing"));
        assert!(error.message.contains("paths/p"), "{}", error.message);

        let external = json!({"a": {"$ref": "other.yaml#/x"}});
        assert!(
            resolve(&external)
                .err()
                .unwrap()
                .message
                .contains("same file")
        );
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("/paths/~1a%7Bb%7D"), "/paths/~1a{b}");
        assert_eq!(percent_decode("ord%5F1"), "ord_1");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
