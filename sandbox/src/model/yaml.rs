//! YAML → `serde_json::Value`, with YAML merge keys (`<<`) applied and map keys turned into
//! strings (OpenAPI's unquoted response codes such as `200:` are integers in YAML).

use std::cell::Cell;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, VariantAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_yaml::Value as Yaml;

/// The most values a model file may hold once its aliases are expanded (the shipped models:
/// about 1,200). An alias copies its anchor's whole value, so aliases of aliases multiply: a
/// 7 KB file expanded to 4 million values in seconds, and one more level to gigabytes.
const MAX_VALUES: usize = 500_000;

pub(super) fn to_json(text: &str) -> Result<Value, String> {
    check_size(text)?;
    let mut yaml: Yaml = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    yaml.apply_merge().map_err(|e| e.to_string())?;
    convert(yaml, 0)
}

/// Counts the values (aliases expanded) without building them, stopping past [`MAX_VALUES`].
fn check_size(text: &str) -> Result<(), String> {
    let counted = Cell::new(0);
    // Any other error is left to the real parse, which words it.
    let _ = Counter(&counted).deserialize(serde_yaml::Deserializer::from_str(text));
    if counted.get() > MAX_VALUES {
        return Err(format!(
            "the document holds more than {MAX_VALUES} values once its aliases (*name) are expanded"
        ));
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Counter<'a>(&'a Cell<usize>);

impl Counter<'_> {
    fn tick<E: de::Error>(self) -> Result<(), E> {
        self.0.set(self.0.get() + 1);
        if self.0.get() > MAX_VALUES {
            return Err(E::custom("too many values"));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Counter<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counter<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.tick()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.tick()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.tick()
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.tick()
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.tick()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.tick()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.tick()
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.tick()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.tick()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.tick()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.tick()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.tick()?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }

    /// A tagged value (`!tag x`).
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        self.tick()?;
        let (IgnoredAny, variant) = data.variant::<IgnoredAny>()?;
        variant.newtype_variant_seed(self)
    }
}

fn convert(yaml: Yaml, depth: u32) -> Result<Value, String> {
    if depth > 128 {
        return Err("nested too deeply".into());
    }
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => number(&n)?,
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|item| convert(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut map = Map::with_capacity(mapping.len());
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => {
                        return Err(format!(
                            "a map key must be a string, found {}",
                            kind(&other)
                        ));
                    }
                };
                if map.contains_key(&key) {
                    return Err(format!("duplicate key {key:?}"));
                }
                map.insert(key, convert(value, depth + 1)?);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => {
            return Err(format!("YAML tags (!{}) are not supported", tagged.tag));
        }
    })
}

fn number(n: &serde_yaml::Number) -> Result<Value, String> {
    if let Some(i) = n.as_i64() {
        Ok(Value::Number(i.into()))
    } else if let Some(u) = n.as_u64() {
        Ok(Value::Number(u.into()))
    } else {
        n.as_f64()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{n} is not a finite number"))
    }
}

fn kind(yaml: &Yaml) -> &'static str {
    match yaml {
        Yaml::Null => "null",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a map",
        Yaml::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_keys_and_merges() {
        let json = to_json(
            "base: &base {a: 1, b: x}\nderived: {<<: *base, b: y}\nresponses: {200: ok, 4XX: bad}\n",
        )
        .unwrap();
        assert_eq!(json["derived"], serde_json::json!({"a": 1, "b": "y"}));
        assert_eq!(json["responses"]["200"], "ok");
        assert_eq!(json["responses"]["4XX"], "bad");
    }

    #[test]
    fn reports_location_of_syntax_errors() {
        let error = to_json("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.contains("line"), "{error}");
    }
}
