//! Reading the `store` keys of an `x-sandbox` as written: syntax only (`view`, `computed`,
//! `lookups`, `seed-values`, `seed-ids`); [`super::link`] checks them against the schemas.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{
    Computed, Conversion, FieldMap, FieldPath, LookupDecl, MAX_SCALE, NumberForm, Rule, SeedId,
    SeedValue,
};

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(in crate::model) struct RawFieldMap {
    from: String,
    #[serde(rename = "as")]
    conversion: Option<String>,
    scale: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(in crate::model) struct RawComputed {
    sum_of: Option<String>,
    multiply: Option<Vec<String>>,
    scale: Option<u32>,
    shared_by: Option<String>,
    field: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(in crate::model) struct RawLookup {
    each: Option<String>,
    by: String,
    collection: String,
    set: BTreeMap<String, String>,
}

fn check_scale(scale: Option<u32>, what: &str) -> Result<(), String> {
    match scale {
        Some(scale) if scale > MAX_SCALE => {
            Err(format!("{what}: scale must be at most {MAX_SCALE}"))
        }
        _ => Ok(()),
    }
}

/// `view: {<view field>: {from: <stored field>, as: minor-units, scale: 2}}`.
pub(in crate::model) fn parse_view(
    raw: BTreeMap<String, RawFieldMap>,
) -> Result<Vec<FieldMap>, String> {
    raw.into_iter()
        .map(|(view, map)| {
            let what = format!("view {view}");
            let conversion = match map.conversion.as_deref() {
                None => {
                    if map.scale.is_some() {
                        return Err(format!("{what}: scale only goes with as: minor-units"));
                    }
                    Conversion::Copy
                }
                Some("minor-units") => {
                    check_scale(map.scale, &what)?;
                    Conversion::MinorUnits {
                        scale: map.scale.unwrap_or(2),
                        // Set by `link` from the stored field's schema.
                        stored: NumberForm::DecimalString,
                    }
                }
                Some(other) => {
                    return Err(format!(
                        "{what}: as {other:?} is not a conversion (only minor-units)"
                    ));
                }
            };
            Ok(FieldMap {
                view: FieldPath::parse(&view)?,
                stored: FieldPath::parse(&map.from)?,
                conversion,
            })
        })
        .collect()
}

/// `computed: {<stored field>: {sum-of: …, multiply: […]} | {shared-by: …, field: …}}`, in
/// the order they run: shared-by rules, then sums.
pub(in crate::model) fn parse_computed(
    raw: BTreeMap<String, RawComputed>,
) -> Result<Vec<Computed>, String> {
    let mut rules = Vec::new();
    for (target, rule) in raw {
        let what = format!("computed {target}");
        let rule = match (rule.sum_of, rule.shared_by) {
            (Some(array), None) => {
                if rule.field.is_some() {
                    return Err(format!("{what}: field goes with shared-by, not sum-of"));
                }
                check_scale(rule.scale, &what)?;
                let multiply = rule.multiply.unwrap_or_default();
                if multiply.is_empty() {
                    return Err(format!(
                        "{what}: sum-of needs multiply: [the element fields to multiply]"
                    ));
                }
                Rule::SumOf {
                    array: FieldPath::parse(&array)?,
                    multiply: multiply
                        .iter()
                        .map(|f| FieldPath::parse(f))
                        .collect::<Result<_, _>>()?,
                    scale: rule.scale,
                    // Set by `link` from the target's schema.
                    output: NumberForm::DecimalString,
                }
            }
            (None, Some(array)) => {
                if rule.multiply.is_some() || rule.scale.is_some() {
                    return Err(format!(
                        "{what}: multiply and scale go with sum-of, not shared-by"
                    ));
                }
                let Some(field) = rule.field else {
                    return Err(format!(
                        "{what}: shared-by needs field (the element field they share)"
                    ));
                };
                Rule::SharedBy {
                    array: FieldPath::parse(&array)?,
                    field: FieldPath::parse(&field)?,
                }
            }
            _ => return Err(format!("{what}: give exactly one of sum-of or shared-by")),
        };
        rules.push(Computed {
            target: FieldPath::parse(&target)?,
            rule,
        });
    }
    rules.sort_by_key(|c| matches!(c.rule, Rule::SumOf { .. }));
    Ok(rules)
}

/// `seed-values: {<stored field>: <JSON value>}`.
pub(in crate::model) fn parse_seed_values(
    raw: BTreeMap<String, Value>,
) -> Result<Vec<SeedValue>, String> {
    raw.into_iter()
        .map(|(path, value)| {
            Ok(SeedValue {
                path: FieldPath::parse(&path).map_err(|e| format!("seed-values: {e}"))?,
                value,
            })
        })
        .collect()
}

/// `seed-ids: [<id> | {id: <id>, values: {<stored field>: <JSON value>}}]`.
pub(in crate::model) fn parse_seed_ids(raw: Vec<Value>) -> Result<Vec<SeedId>, String> {
    raw.into_iter().map(parse_seed_id).collect()
}

fn parse_seed_id(entry: Value) -> Result<SeedId, String> {
    let mut map = match entry {
        Value::String(id) => {
            return Ok(SeedId {
                id,
                values: Vec::new(),
            });
        }
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "seed-ids: {other} is neither an id nor a map {{id: <id>, values: {{...}}}}"
            ));
        }
    };
    let Some(Value::String(id)) = map.remove("id") else {
        return Err(
            "seed-ids: an entry is an id, or a map {id: <id>, values: {<field>: <value>}}".into(),
        );
    };
    let values = match map.remove("values") {
        None => BTreeMap::new(),
        Some(Value::Object(values)) => values.into_iter().collect(),
        Some(_) => {
            return Err(format!(
                "seed-ids {id}: values must be a map of stored field → value"
            ));
        }
    };
    if let Some(other) = map.keys().next() {
        return Err(format!(
            "seed-ids {id}: unknown key {other:?} (only id and values)"
        ));
    }
    let values = parse_seed_values(values)
        .map_err(|e| format!("seed-ids {id}: {}", e.replacen("seed-values", "values", 1)))?;
    Ok(SeedId { id, values })
}

/// `lookups: [{each: <array>, by: <id field>, collection: <name>, set: {<field>: <field>}}]`.
pub(in crate::model) fn parse_lookups(raw: Vec<RawLookup>) -> Result<Vec<LookupDecl>, String> {
    raw.into_iter()
        .map(|lookup| {
            if lookup.set.is_empty() {
                return Err(format!(
                    "lookups on {}: set needs at least one field",
                    lookup.by
                ));
            }
            Ok(LookupDecl {
                each: lookup.each.as_deref().map(FieldPath::parse).transpose()?,
                by: FieldPath::parse(&lookup.by)?,
                collection: lookup.collection,
                set: lookup
                    .set
                    .iter()
                    .map(|(to, from)| Ok((FieldPath::parse(to)?, FieldPath::parse(from)?)))
                    .collect::<Result<_, String>>()?,
            })
        })
        .collect()
}
