//! Deterministic synthetic values from JSON schemas.
//!
//! A [`Rng`] (splitmix64) is seeded from a SHA-256 of its inputs (tenant, version, collection,
//! index), so the same inputs give the same item on every machine and after every restart.
//! Values follow the schema: `const`, `enum`, `examples` (picked), `example` + `pattern`
//! (the example with its digits varied, when that still matches; otherwise a string generated
//! from the pattern), `format` (`date-time`, `date`, `email`, `uuid`, `uri`), `minimum` /
//! `maximum` (scaled around an `example` when there is one), `minLength` / `maxLength`,
//! `minItems` / `maxItems`, `type` lists (the first non-null type), `allOf` (merged),
//! `anyOf` / `oneOf` (the first branch). Within one item, fields of the same name that pick
//! from an enum or an examples list agree (e.g. every `currency` of an order).

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

use crate::model::{dates, pattern::Pattern};

/// Dates are generated around 2026-11-01T00:00:00Z, not around "now": seed data must not
/// change from one day to the next.
pub(crate) const DATE_ANCHOR: i64 = 1_793_491_200;

const DAY: i64 = 86_400;

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

const ADJECTIVES: [&str; 20] = [
    "Amber", "Brisk", "Cedar", "Coastal", "Crimson", "Golden", "Granite", "Harbor", "Indigo",
    "Juniper", "Lunar", "Maple", "Nordic", "Polar", "Quiet", "Rapid", "Silver", "Summit", "Swift",
    "Velvet",
];

const NOUNS: [&str; 20] = [
    "Anchor", "Beacon", "Bridge", "Canyon", "Comet", "Falcon", "Forge", "Harvest", "Horizon",
    "Lantern", "Meadow", "Orchard", "Pioneer", "Prairie", "Ridge", "Signal", "Spruce", "Tide",
    "Voyage", "Willow",
];

/// splitmix64: tiny, fast, and good enough for fake data.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeded from a SHA-256 of the parts (NUL-separated, with a domain prefix).
    pub(crate) fn from_parts(parts: &[&str]) -> Rng {
        let mut hasher = Sha256::new();
        hasher.update(b"portico-sandbox-seed-v1");
        for part in parts {
            hasher.update([0]);
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        Rng(u64::from_le_bytes(seed))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// In `low..=high` (`low` when the range is empty).
    pub(crate) fn between(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        let span = high.abs_diff(low).saturating_add(1);
        low.saturating_add_unsigned(self.below(span))
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(usize::try_from(self.below(items.len() as u64)).unwrap_or(0))
    }
}

/// `<prefix>_<26 Crockford base32 characters>`, like the ids of created objects.
pub(crate) fn id_with_prefix(prefix: &str, rng: &mut Rng) -> String {
    let value = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    for i in (0..26).rev() {
        let index = usize::try_from((value >> (5 * i)) & 0x1f).unwrap_or(0);
        out.push(char::from(CROCKFORD[index]));
    }
    out
}

pub(crate) struct Generator {
    rng: Rng,
    /// Enum / examples picks by field name, so same-named fields agree within one item.
    picks: HashMap<String, Value>,
}

impl Generator {
    pub(crate) fn new(rng: Rng) -> Self {
        Generator {
            rng,
            picks: HashMap::new(),
        }
    }

    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// A value for `schema`; `name` is the property name (hints for dates and words).
    pub(crate) fn value(&mut self, schema: &Value, name: &str, depth: u32) -> Value {
        let Value::Object(map) = schema else {
            return Value::Null;
        };
        if depth > 16 {
            return Value::Null;
        }
        if let Some(constant) = map.get("const") {
            return constant.clone();
        }
        if let Some(Value::Array(choices)) = map.get("enum")
            && !choices.is_empty()
        {
            return self.remembered(name, choices);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = map.get(key) {
                let branch = branches
                    .iter()
                    .find(|b| first_type(b) != Some("null"))
                    .or_else(|| branches.first());
                if let Some(branch) = branch {
                    return self.value(branch, name, depth + 1);
                }
            }
        }
        if let Some(Value::Array(parts)) = map.get("allOf") {
            let mut merged = Map::new();
            let mut last = Value::Null;
            for part in parts {
                match self.value(part, name, depth + 1) {
                    Value::Object(fields) => merged.extend(fields),
                    other => last = other,
                }
            }
            return if merged.is_empty() {
                last
            } else {
                Value::Object(merged)
            };
        }
        let kind = first_type(schema).unwrap_or_else(|| {
            if map.contains_key("properties") {
                "object"
            } else if map.contains_key("items") {
                "array"
            } else {
                "string"
            }
        });
        match kind {
            "object" => {
                let mut out = Map::new();
                if let Some(Value::Object(properties)) = map.get("properties") {
                    for (key, property) in properties {
                        let value = self.value(property, key, depth + 1);
                        out.insert(key.clone(), value);
                    }
                }
                order_timestamps(&mut out);
                Value::Object(out)
            }
            "array" => self.array(map, depth),
            "integer" => self.integer(map),
            "number" => self.number(map),
            "boolean" => Value::Bool(self.rng.below(4) != 0),
            "null" => Value::Null,
            _ => Value::String(self.string(map, name)),
        }
    }

    fn remembered(&mut self, name: &str, choices: &[Value]) -> Value {
        if !name.is_empty()
            && let Some(previous) = self.picks.get(name)
            && choices.contains(previous)
        {
            return previous.clone();
        }
        let chosen = self.rng.pick(choices).cloned().unwrap_or(Value::Null);
        if !name.is_empty() {
            self.picks.insert(name.to_owned(), chosen.clone());
        }
        chosen
    }

    fn array(&mut self, map: &Map<String, Value>, depth: u32) -> Value {
        let max_items = map.get("maxItems").and_then(Value::as_u64);
        let min = map
            .get("minItems")
            .and_then(Value::as_u64)
            .unwrap_or_else(|| max_items.unwrap_or(1).min(1));
        let max = max_items.unwrap_or(u64::MAX).min(min + 2).max(min);
        let count = min + self.rng.below(max - min + 1);
        let items = map.get("items").cloned().unwrap_or(Value::Bool(true));
        let unique = map.get("uniqueItems").and_then(Value::as_bool) == Some(true);
        let mut out: Vec<Value> = Vec::new();
        let mut attempts = 0;
        while (out.len() as u64) < count && attempts < count * 4 + 4 {
            attempts += 1;
            let value = self.value(&items, "", depth + 1);
            if unique && out.contains(&value) {
                continue;
            }
            out.push(value);
        }
        Value::Array(out)
    }

    fn integer(&mut self, map: &Map<String, Value>) -> Value {
        let (low, high) = bounds(map, true);
        let example = map
            .get("example")
            .or_else(|| map.get("examples").and_then(|e| e.get(0)))
            .and_then(Value::as_f64);
        let (low, high) = scaled(low, high, example);
        let mut value = self.rng.between(low as i64, high as i64);
        if let Some(step) = map.get("multipleOf").and_then(Value::as_i64)
            && step > 0
        {
            value = (value / step) * step;
            if (value as f64) < low {
                value += step;
            }
        }
        Value::Number(value.into())
    }

    fn number(&mut self, map: &Map<String, Value>) -> Value {
        let (low, high) = bounds(map, false);
        let example = map
            .get("example")
            .or_else(|| map.get("examples").and_then(|e| e.get(0)))
            .and_then(Value::as_f64);
        let (low, high) = scaled(low, high, example);
        let cents_low = (low * 100.0).ceil() as i64;
        let cents_high = (high * 100.0).floor() as i64;
        let cents = self.rng.between(cents_low, cents_high.max(cents_low));
        Number::from_f64(cents as f64 / 100.0)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }

    fn string(&mut self, map: &Map<String, Value>, name: &str) -> String {
        let format = map.get("format").and_then(Value::as_str).unwrap_or("");
        let future = ["until", "expires", "expiry", "valid", "due", "deliver"]
            .iter()
            .any(|hint| name.contains(hint));
        match format {
            "date-time" => {
                let offset = self.rng.between(0, 120 * DAY);
                let at = if future {
                    DATE_ANCHOR + DAY + offset
                } else {
                    DATE_ANCHOR - offset
                };
                return dates::format_date_time(at);
            }
            "date" => {
                let days = self.rng.between(0, 120);
                let at = if future {
                    DATE_ANCHOR + (days + 1) * DAY
                } else {
                    DATE_ANCHOR - days * DAY
                };
                return dates::format_date_time(at)
                    .get(..10)
                    .unwrap_or("2026-11-01")
                    .to_owned();
            }
            "email" => {
                let first = self.word(&ADJECTIVES).to_lowercase();
                let last = self.word(&NOUNS).to_lowercase();
                return format!("{first}.{last}{}@example.com", self.rng.below(100));
            }
            "uuid" => {
                let hex = format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64());
                return format!(
                    "{}-{}-4{}-a{}-{}",
                    &hex[0..8],
                    &hex[8..12],
                    &hex[13..16],
                    &hex[17..20],
                    &hex[20..32]
                );
            }
            "uri" | "url" => {
                return format!("https://example.com/{}", self.word(&NOUNS).to_lowercase());
            }
            _ => {}
        }
        let mut examples: Vec<&str> = match map.get("examples") {
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if let Some(Value::String(example)) = map.get("example") {
            examples.push(example);
        }
        let min = map.get("minLength").and_then(Value::as_u64).unwrap_or(0);
        let max = map
            .get("maxLength")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX);
        let fits = |text: &str| {
            let n = text.chars().count() as u64;
            n >= min && n <= max
        };
        if let Some(Value::String(source)) = map.get("pattern")
            && let Ok(pattern) = Pattern::parse(source)
        {
            let matches = |text: &str| fits(text) && pattern.is_match(text) == Ok(true);
            if examples.len() > 1 {
                let choices: Vec<Value> = examples
                    .iter()
                    .filter(|e| matches(e))
                    .map(|e| Value::from(*e))
                    .collect();
                if !choices.is_empty()
                    && let Value::String(chosen) = self.remembered(name, &choices)
                {
                    return chosen;
                }
            }
            if let Some(example) = examples.first() {
                let varied = self.vary_digits(example);
                if matches(&varied) {
                    return varied;
                }
            }
            for _ in 0..8 {
                let rng = &mut self.rng;
                let text = pattern.generate(&mut |n| rng.below(n));
                if matches(&text) {
                    return text;
                }
            }
            return examples
                .first()
                .map(|e| (*e).to_owned())
                .unwrap_or_default();
        }
        if examples.len() > 1 {
            let choices: Vec<Value> = examples.iter().map(|e| Value::from(*e)).collect();
            if let Value::String(chosen) = self.remembered(name, &choices) {
                return chosen;
            }
        }
        let text = self.words(name);
        self.fit_length(text, min, max)
    }

    fn word(&mut self, list: &[&'static str]) -> &'static str {
        self.rng.pick(list).copied().unwrap_or("Item")
    }

    fn words(&mut self, name: &str) -> String {
        let adjective = self.word(&ADJECTIVES);
        let noun = self.word(&NOUNS);
        if name.contains("reference") || name.contains("ref") {
            format!("REF-{:06}", self.rng.below(1_000_000))
        } else if name.contains("sku") || name.contains("code") {
            format!("{}-{:05}", noun.to_uppercase(), self.rng.below(100_000))
        } else if ["description", "notes", "note", "comment", "summary"]
            .iter()
            .any(|hint| name.contains(hint))
        {
            let other = self.word(&NOUNS).to_lowercase();
            format!("{adjective} {} for the {other}.", noun.to_lowercase())
        } else {
            format!("{adjective} {noun}")
        }
    }

    fn fit_length(&mut self, mut text: String, min: u64, max: u64) -> String {
        if (text.chars().count() as u64) > max {
            text = text
                .chars()
                .take(usize::try_from(max).unwrap_or(0))
                .collect();
        }
        while (text.chars().count() as u64) < min {
            text.push(char::from(
                b'a' + u8::try_from(self.rng.below(26)).unwrap_or(0),
            ));
        }
        text
    }

    /// The example with each digit replaced (a leading digit of a longer number stays
    /// non-zero): `129.90` → `734.21`, `PO-2026-0042` → `PO-8153-6620`.
    fn vary_digits(&mut self, example: &str) -> String {
        let chars: Vec<char> = example.chars().collect();
        let mut out = String::with_capacity(example.len());
        for (i, c) in chars.iter().enumerate() {
            if c.is_ascii_digit() {
                let starts_run = i == 0 || !chars[i - 1].is_ascii_digit();
                let longer = chars.get(i + 1).is_some_and(char::is_ascii_digit);
                let digit = if starts_run && longer {
                    1 + self.rng.below(9)
                } else {
                    self.rng.below(10)
                };
                out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
            } else {
                out.push(*c);
            }
        }
        out
    }
}

fn first_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t.as_str()),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or_else(|| list.first().and_then(Value::as_str)),
        _ => None,
    }
}

/// Inclusive numeric bounds from minimum/maximum and both forms of exclusive bounds.
fn bounds(map: &Map<String, Value>, integer: bool) -> (f64, f64) {
    let step = if integer { 1.0 } else { 0.01 };
    let flag = |key: &str| map.get(key).and_then(Value::as_bool) == Some(true);
    let mut low = map.get("minimum").and_then(Value::as_f64);
    if let (Some(min), true) = (low, flag("exclusiveMinimum")) {
        low = Some(min + step);
    }
    if let Some(min) = map.get("exclusiveMinimum").and_then(Value::as_f64) {
        low = Some(min + step);
    }
    let mut high = map.get("maximum").and_then(Value::as_f64);
    if let (Some(max), true) = (high, flag("exclusiveMaximum")) {
        high = Some(max - step);
    }
    if let Some(max) = map.get("exclusiveMaximum").and_then(Value::as_f64) {
        high = Some(max - step);
    }
    let low = low.unwrap_or(if high.is_some_and(|h| h < 0.0) {
        high.unwrap_or(0.0) - 100.0
    } else {
        0.0
    });
    let high = high.unwrap_or(f64::MAX).max(low);
    (
        if integer { low.ceil() } else { low },
        if integer { high.floor() } else { high },
    )
}

/// Narrows `low..=high` around an example (a quarter to twice it), or to a hundred steps.
fn scaled(low: f64, high: f64, example: Option<f64>) -> (f64, f64) {
    match example {
        Some(e) if e > 0.0 && e >= low && e <= high => ((e / 4.0).max(low), (e * 2.0).min(high)),
        _ => (low, high.min(low + 100.0)),
    }
}

/// A record is never updated before it was created: generated `created_at` / `updated_at`
/// pairs (RFC 3339 strings of one layout, so text order is time order) are put in order.
fn order_timestamps(object: &mut Map<String, Value>) {
    let (Some(Value::String(created)), Some(Value::String(updated))) =
        (object.get("created_at"), object.get("updated_at"))
    else {
        return;
    };
    if updated < created && created.len() == updated.len() {
        let (created, updated) = (created.clone(), updated.clone());
        object.insert("created_at".into(), Value::String(updated));
        object.insert("updated_at".into(), Value::String(created));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rng_is_deterministic_and_spread() {
        let mut a = Rng::from_parts(&["t", "v1", "orders", "0"]);
        let mut b = Rng::from_parts(&["t", "v1", "orders", "0"]);
        let mut c = Rng::from_parts(&["t", "v1", "orders", "1"]);
        let (x, y, z) = (a.next_u64(), b.next_u64(), c.next_u64());
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut counts = [0_u32; 4];
        for _ in 0..4000 {
            counts[usize::try_from(a.below(4)).unwrap()] += 1;
        }
        assert!(counts.iter().all(|n| (800..1200).contains(n)), "{counts:?}");
        assert_eq!(a.between(5, 5), 5);
        assert_eq!(a.between(5, 1), 5);
    }

    #[test]
    fn values_follow_the_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "string", "enum": ["pending", "shipped"]},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 5},
                "amount": {"type": "string", "pattern": "^\\d{1,12}\\.\\d{2}$", "example": "129.90"},
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["EUR", "USD"]},
                "lines": {"type": "array", "minItems": 2, "maxItems": 2, "items": {
                    "type": "object",
                    "properties": {"currency": {"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["EUR", "USD"]}}
                }},
                "when": {"type": "string", "format": "date-time"},
                "email": {"type": "string", "format": "email"},
                "note": {"type": ["string", "null"], "maxLength": 5}
            }
        });
        for seed in 0..50 {
            let mut generator = Generator::new(Rng::from_parts(&[&seed.to_string()]));
            let value = generator.value(&schema, "", 0);
            let errors = crate::validate::validate_value(&schema, &value, "item");
            assert!(errors.is_empty(), "{value}: {errors:?}");
            assert_eq!(value["lines"].as_array().unwrap().len(), 2);
            // Same-named picks agree within one item.
            assert_eq!(value["lines"][0]["currency"], value["currency"]);
            assert_eq!(value["amount"].as_str().unwrap().len(), 6);
        }
    }

    #[test]
    fn records_are_never_updated_before_they_were_created() {
        let schema = json!({
            "type": "object",
            "properties": {
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"}
            }
        });
        let mut swapped = 0;
        for seed in 0..200 {
            let mut generator = Generator::new(Rng::from_parts(&[&seed.to_string()]));
            let value = generator.value(&schema, "", 0);
            let (created, updated) = (
                value["created_at"].as_str().unwrap(),
                value["updated_at"].as_str().unwrap(),
            );
            assert!(created <= updated, "{value}");
            swapped += usize::from(created != updated);
        }
        assert!(swapped > 150, "the two times still vary");
    }

    #[test]
    fn ids_look_like_created_ids() {
        let id = id_with_prefix("ord", &mut Rng::from_parts(&["x"]));
        assert_eq!(id.len(), 4 + 26);
        assert!(id.starts_with("ord_"));
        assert!(id[4..].bytes().all(|b| CROCKFORD.contains(&b)));
    }
}
