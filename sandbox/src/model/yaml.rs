//! YAML → `serde_json::Value`, with YAML merge keys (`<<`) applied and map keys turned into
//! strings (OpenAPI's unquoted response codes such as `200:` are integers in YAML).

use serde_json::{Map, Number, Value};
use serde_yaml::Value as Yaml;

pub(super) fn to_json(text: &str) -> Result<Value, String> {
    let mut yaml: Yaml = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    yaml.apply_merge().map_err(|e| e.to_string())?;
    convert(yaml, 0)
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
