//! Item shapes: a version's view of a stored item and back ([`to_view`], [`to_stored`]),
//! computed fields ([`apply_computed`]) and exact decimals ([`Decimal`]). Pure functions over
//! JSON; the field paths were checked against the schemas when the model was loaded.

use serde_json::{Map, Number, Value};

use crate::model::stores::{Computed, Conversion, FieldMap, FieldPath, NumberForm, Rule, Step};

/// A stored value that a view or a rule cannot use (only with data the model does not
/// describe, e.g. written by an older model).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ShapeError {
    #[error("{path}: {value} is not a decimal number")]
    NotDecimal { path: String, value: String },
    #[error("{path}: the number is too large")]
    Overflow { path: String },
}

/// An exact decimal: `units / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decimal {
    units: i128,
    scale: u32,
}

/// i128 holds 10^38; products of two 18-decimal numbers stay below that.
const MAX_SCALE: u32 = 36;

impl Decimal {
    const ZERO: Decimal = Decimal { units: 0, scale: 0 };
    const ONE: Decimal = Decimal { units: 1, scale: 0 };

    /// `-12.340`, `7`: digits with an optional sign and fraction (no exponent).
    pub(crate) fn parse(text: &str) -> Option<Decimal> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
            Some(_) => return None,
            None => (digits, ""),
        };
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let scale = u32::try_from(fraction.len())
            .ok()
            .filter(|s| *s <= MAX_SCALE)?;
        let mut units: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            units = units.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        Some(Decimal {
            units: if negative { -units } else { units },
            scale,
        })
    }

    /// From a JSON number or decimal string.
    fn from_json(value: &Value) -> Option<Decimal> {
        match value {
            Value::String(text) => Decimal::parse(text),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Some(Decimal::from_minor_units(i, 0)),
                (_, Some(u)) => Some(Decimal {
                    units: i128::from(u),
                    scale: 0,
                }),
                _ => Decimal::parse(&n.to_string()),
            },
            _ => None,
        }
    }

    pub(crate) fn from_minor_units(units: i64, scale: u32) -> Decimal {
        Decimal {
            units: i128::from(units),
            scale,
        }
    }

    /// The same number with `scale` decimals, rounded half away from zero when that drops
    /// digits.
    pub(crate) fn with_scale(self, scale: u32) -> Option<Decimal> {
        if scale >= self.scale {
            let factor = 10_i128.checked_pow(scale - self.scale)?;
            return Some(Decimal {
                units: self.units.checked_mul(factor)?,
                scale,
            });
        }
        let divisor = 10_i128.checked_pow(self.scale - scale)?;
        let (quotient, remainder) = (self.units / divisor, self.units % divisor);
        let round_away = remainder.unsigned_abs() * 2 >= divisor.unsigned_abs();
        Some(Decimal {
            units: if round_away {
                quotient + self.units.signum()
            } else {
                quotient
            },
            scale,
        })
    }

    fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.with_scale(scale)?, other.with_scale(scale)?);
        Some(Decimal {
            units: a.units.checked_add(b.units)?,
            scale,
        })
    }

    fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale + other.scale;
        (scale <= MAX_SCALE).then_some(())?;
        Some(Decimal {
            units: self.units.checked_mul(other.units)?,
            scale,
        })
    }

    /// The count of `1/10^scale` units (rounded half away from zero).
    pub(crate) fn minor_units(self, scale: u32) -> Option<i64> {
        i64::try_from(self.with_scale(scale)?.units).ok()
    }

    /// Plain decimal text with exactly `scale` decimals: `129.90`, `-0.05`, `7`.
    pub(crate) fn to_text(self) -> String {
        let digits = self.units.unsigned_abs().to_string();
        let scale = usize::try_from(self.scale).unwrap_or(0);
        let digits = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
        } else {
            digits
        };
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        let sign = if self.units < 0 { "-" } else { "" };
        if fraction.is_empty() {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{fraction}")
        }
    }

    /// As JSON in the given form (`None`: an integer form of a number with decimals, or out
    /// of range).
    fn to_json(self, form: NumberForm) -> Option<Value> {
        match form {
            NumberForm::DecimalString => Some(Value::String(self.to_text())),
            NumberForm::Integer => {
                let whole = self.with_scale(0)?;
                (whole.with_scale(self.scale)? == self).then_some(())?;
                i64::try_from(whole.units).ok().map(Value::from)
            }
            NumberForm::Number => self
                .to_text()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number),
        }
    }
}

/// One step of a concrete location in an item.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Loc {
    Field(String),
    Index(usize),
}

/// Every (location, value) that `steps` reach in `value`, arrays expanded at `[]`.
fn reach<'a>(value: &'a Value, steps: &[Step]) -> Vec<(Vec<Loc>, &'a Value)> {
    fn walk<'a>(
        value: &'a Value,
        steps: &[Step],
        at: &mut Vec<Loc>,
        out: &mut Vec<(Vec<Loc>, &'a Value)>,
    ) {
        match steps.split_first() {
            None => out.push((at.clone(), value)),
            Some((Step::Field(name), rest)) => {
                if let Some(next) = value.get(name.as_str()) {
                    at.push(Loc::Field(name.clone()));
                    walk(next, rest, at, out);
                    at.pop();
                }
            }
            Some((Step::Each, rest)) => {
                if let Value::Array(items) = value {
                    for (i, item) in items.iter().enumerate() {
                        at.push(Loc::Index(i));
                        walk(item, rest, at, out);
                        at.pop();
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(value, steps, &mut Vec::new(), &mut out);
    out
}

/// `steps` with their `[]` replaced, in order, by the array indexes of `found`.
fn substitute(steps: &[Step], found: &[Loc]) -> Vec<Loc> {
    let mut indexes = found.iter().filter_map(|loc| match loc {
        Loc::Index(i) => Some(*i),
        Loc::Field(_) => None,
    });
    steps
        .iter()
        .map(|step| match step {
            Step::Field(name) => Loc::Field(name.clone()),
            Step::Each => Loc::Index(indexes.next().unwrap_or(usize::MAX)),
        })
        .collect()
}

fn plain(path: &FieldPath) -> Vec<Loc> {
    substitute(path.steps(), &[])
}

fn get_at<'a>(value: &'a Value, locs: &[Loc]) -> Option<&'a Value> {
    locs.iter().try_fold(value, |at, loc| match loc {
        Loc::Field(name) => at.get(name.as_str()),
        Loc::Index(i) => at.get(*i),
    })
}

/// Writes `new` at `locs`, creating missing objects on the way (never array elements).
fn set_at(value: &mut Value, locs: &[Loc], new: Value) -> bool {
    let Some((last, parents)) = locs.split_last() else {
        *value = new;
        return true;
    };
    let mut at = value;
    for loc in parents {
        at = match loc {
            Loc::Field(name) => {
                if at.is_null() {
                    *at = Value::Object(Map::new());
                }
                let Value::Object(map) = at else { return false };
                map.entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
            }
            Loc::Index(i) => match at.get_mut(*i) {
                Some(next) => next,
                None => return false,
            },
        };
    }
    match (last, at) {
        (Loc::Field(name), Value::Object(map)) => {
            map.insert(name.clone(), new);
            true
        }
        (Loc::Index(i), Value::Array(items)) => match items.get_mut(*i) {
            Some(slot) => {
                *slot = new;
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// `source` keeping only what `schema` describes (recursively; objects without
/// `properties` and scalars are copied whole), leaving out the paths in `skip`.
fn copy_by_name(source: &Value, schema: &Value, skip: &[&FieldPath], at: &mut Vec<Step>) -> Value {
    match source {
        Value::Object(fields) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return source.clone();
            };
            let mut out = Map::new();
            for (name, value) in fields {
                let Some(property) = properties.get(name) else {
                    continue;
                };
                at.push(Step::Field(name.clone()));
                if !skip.iter().any(|path| path.steps() == at.as_slice()) {
                    out.insert(name.clone(), copy_by_name(value, property, skip, at));
                }
                at.pop();
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items") else {
                return source.clone();
            };
            at.push(Step::Each);
            let out = items
                .iter()
                .map(|item| copy_by_name(item, item_schema, skip, at))
                .collect();
            at.pop();
            Value::Array(out)
        }
        other => other.clone(),
    }
}

fn location_text(locs: &[Loc]) -> String {
    let mut out = String::new();
    for loc in locs {
        match loc {
            Loc::Field(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Loc::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// The item as a version with `maps` shows it: the fields of `view_schema` copied by name,
/// then each mapped field made from its stored field.
pub(crate) fn to_view(
    stored: &Value,
    view_schema: &Value,
    maps: &[FieldMap],
) -> Result<Value, ShapeError> {
    let skip: Vec<&FieldPath> = maps.iter().map(|m| &m.view).collect();
    let mut view = copy_by_name(stored, view_schema, &skip, &mut Vec::new());
    for map in maps {
        for (found, value) in reach(stored, map.stored.steps()) {
            let converted = match map.conversion {
                _ if value.is_null() => Value::Null,
                Conversion::Copy => value.clone(),
                Conversion::MinorUnits { scale, .. } => {
                    let path = location_text(&found);
                    let decimal =
                        Decimal::from_json(value).ok_or_else(|| ShapeError::NotDecimal {
                            path: path.clone(),
                            value: value.to_string(),
                        })?;
                    Value::from(
                        decimal
                            .minor_units(scale)
                            .ok_or(ShapeError::Overflow { path })?,
                    )
                }
            };
            set_at(&mut view, &substitute(map.view.steps(), &found), converted);
        }
    }
    Ok(view)
}

/// A (partial) item in a version's shape, e.g. a request body, in the stored shape: the
/// inverse of [`to_view`]. Values that do not convert are left out.
pub(crate) fn to_stored(view: &Value, stored_schema: &Value, maps: &[FieldMap]) -> Value {
    let skip: Vec<&FieldPath> = maps.iter().map(|m| &m.view).collect();
    let mut stored = copy_by_name(view, stored_schema, &skip, &mut Vec::new());
    for map in maps {
        for (found, value) in reach(view, map.view.steps()) {
            let converted = match map.conversion {
                _ if value.is_null() => Some(Value::Null),
                Conversion::Copy => Some(value.clone()),
                Conversion::MinorUnits { scale, stored } => value
                    .as_i64()
                    .and_then(|units| Decimal::from_minor_units(units, scale).to_json(stored)),
            };
            if let Some(converted) = converted {
                set_at(
                    &mut stored,
                    &substitute(map.stored.steps(), &found),
                    converted,
                );
            }
        }
    }
    stored
}

/// Why [`apply_computed`] refused a created item.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ComputeError {
    /// Elements that do not share the value of a `shared-by` rule.
    #[error("{} element(s) disagree", .0.len())]
    Mismatch(Vec<Mismatch>),
    #[error(transparent)]
    Shape(#[from] ShapeError),
}

/// One element that breaks a `shared-by` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mismatch {
    pub array: FieldPath,
    pub index: usize,
    pub field: FieldPath,
    pub expected: Value,
    pub found: Value,
}

/// What the computed fields are applied to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Computing<'a> {
    /// Generated seed data: `shared-by` elements take the target's value.
    Seed,
    /// Generated seed data whose elements were filled by lookups (e.g. each line's price
    /// from a catalogue product): a `shared-by` target takes the first element's value (the
    /// target's own when there is no element), and every element takes it.
    SeedFromElements,
    /// A created item: a `shared-by` target comes from `provided` (the request, in the stored
    /// shape) when it has it, else from the first element, and every element must agree.
    Create { provided: &'a Value },
}

/// Sets every computed field of `item`.
pub(crate) fn apply_computed(
    item: &mut Value,
    rules: &[Computed],
    mode: Computing<'_>,
) -> Result<(), ComputeError> {
    let mut mismatches = Vec::new();
    for computed in rules {
        let target = plain(&computed.target);
        match &computed.rule {
            Rule::SharedBy { array, field } => {
                let array_at = plain(array);
                let count = get_at(item, &array_at)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let element_field = |i: usize| {
                    let mut at = array_at.clone();
                    at.push(Loc::Index(i));
                    at.extend(plain(field));
                    at
                };
                let expected = match mode {
                    Computing::Seed => get_at(item, &target).cloned(),
                    Computing::SeedFromElements => get_at(item, &element_field(0))
                        .cloned()
                        .or_else(|| get_at(item, &target).cloned()),
                    Computing::Create { provided } => get_at(provided, &target)
                        .cloned()
                        .or_else(|| get_at(item, &element_field(0)).cloned()),
                };
                let Some(expected) = expected else { continue };
                for i in 0..count {
                    let at = element_field(i);
                    match (mode, get_at(item, &at)) {
                        (Computing::Create { .. }, Some(found)) if *found != expected => {
                            mismatches.push(Mismatch {
                                array: array.clone(),
                                index: i,
                                field: field.clone(),
                                expected: expected.clone(),
                                found: found.clone(),
                            });
                        }
                        _ => {
                            set_at(item, &at, expected.clone());
                        }
                    }
                }
                set_at(item, &target, expected);
            }
            Rule::SumOf {
                array,
                multiply,
                scale,
                output,
            } => {
                let mut total = Decimal::ZERO;
                let overflow = || ShapeError::Overflow {
                    path: computed.target.to_string(),
                };
                let elements = get_at(item, &plain(array))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (i, element) in elements.iter().enumerate() {
                    let mut product = Decimal::ONE;
                    for factor in multiply {
                        let value = get_at(element, &plain(factor)).unwrap_or(&Value::Null);
                        let decimal =
                            Decimal::from_json(value).ok_or_else(|| ShapeError::NotDecimal {
                                path: format!("{array}[{i}].{factor}"),
                                value: value.to_string(),
                            })?;
                        product = product.checked_mul(decimal).ok_or_else(overflow)?;
                    }
                    total = total.checked_add(product).ok_or_else(overflow)?;
                }
                if let Some(scale) = scale {
                    total = total.with_scale(*scale).ok_or_else(overflow)?;
                }
                let value = total.to_json(*output).ok_or_else(overflow)?;
                set_at(item, &target, value);
            }
        }
    }
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(ComputeError::Mismatch(mismatches))
    }
}

/// Reads a plain (no `[]`) path.
pub(crate) fn get_path<'a>(value: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    get_at(value, &plain(path))
}

/// The value at a plain (no `[]`) path, to change in place.
pub(crate) fn get_path_mut<'a>(value: &'a mut Value, path: &FieldPath) -> Option<&'a mut Value> {
    plain(path).iter().try_fold(value, |at, loc| match loc {
        Loc::Field(name) => at.get_mut(name.as_str()),
        Loc::Index(i) => at.get_mut(*i),
    })
}

/// Writes `new` at `path` in every element of the arrays it goes through (`[]`), creating
/// missing objects (never array elements). The number of places written.
pub(crate) fn set_each(value: &mut Value, steps: &[Step], new: &Value) -> usize {
    match steps.split_first() {
        None => {
            *value = new.clone();
            1
        }
        Some((Step::Field(name), rest)) => {
            if value.is_null() {
                *value = Value::Object(Map::new());
            }
            let Value::Object(map) = value else { return 0 };
            if !map.contains_key(name) && rest.contains(&Step::Each) {
                // No array there: nothing to write into.
                return 0;
            }
            let next = map.entry(name.clone()).or_insert(Value::Null);
            set_each(next, rest, new)
        }
        Some((Step::Each, rest)) => match value {
            Value::Array(items) => items.iter_mut().map(|item| set_each(item, rest, new)).sum(),
            _ => 0,
        },
    }
}

/// Writes a plain (no `[]`) path, creating missing objects.
pub(crate) fn set_path(value: &mut Value, path: &FieldPath, new: Value) -> bool {
    set_at(value, &plain(path), new)
}

#[cfg(test)]
mod tests;
