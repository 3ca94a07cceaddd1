//! Where a collection's synthetic items live and in which shape: the `store`, `view`,
//! `computed`, `lookups`, `seed-values` and `seed-ids` keys of `x-sandbox` (see the
//! [module docs](super)).
//!
//! They are parsed with the rest of an operation's `x-sandbox` (`parse_view`,
//! `parse_computed`, `parse_lookups`, `parse_seed_values`, `parse_seed_ids`: syntax only) and
//! then linked across every loaded version by `link`, which resolves each collection's
//! [`Storage`] and checks every field path (and every seed value and seed id) against the
//! schemas. Problems become problems of the collection's first operation, reported by
//! [`super::ApiCatalog::check`] with the file and the operation named.

mod link;
mod parse;

use std::fmt;
use std::sync::Arc;

use portico_core::authz::ResourceType;
use serde_json::Value;

use super::SandboxBinding;

pub(super) use link::link;
pub(super) use parse::{
    RawComputed, RawFieldMap, RawLookup, parse_computed, parse_lookups, parse_seed_ids,
    parse_seed_values, parse_view,
};

pub use portico_core::sandbox_data::ALL_VERSIONS;

/// Largest number of decimals a `scale` may ask for.
const MAX_SCALE: u32 = 18;

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// An object property.
    Field(String),
    /// Every element of the array reached so far (`[]` in the text).
    Each,
}

/// A path to a field of an item: properties separated by `.`, an array property followed by
/// `[]` to reach each of its elements, e.g. `items[].unit_price.amount`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    steps: Vec<Step>,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let mut steps = Vec::new();
        for part in text.split('.') {
            let (name, each) = match part.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (part, false),
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(format!(
                    "field path {text:?}: {part:?} is not a property name (letters, digits, '_' or '-', then [] for each element of an array)"
                ));
            }
            steps.push(Step::Field(name.to_owned()));
            if each {
                steps.push(Step::Each);
            }
        }
        Ok(FieldPath {
            text: text.to_owned(),
            steps,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn has_each(&self) -> bool {
        self.steps.contains(&Step::Each)
    }

    /// The steps up to and including the last `[]` (empty without one).
    fn array_prefix(&self) -> &[Step] {
        let end = self
            .steps
            .iter()
            .rposition(|s| *s == Step::Each)
            .map_or(0, |at| at + 1);
        &self.steps[..end]
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// How a number is written in an item, from its schema's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberForm {
    /// A decimal string such as `"129.90"`.
    DecimalString,
    Integer,
    Number,
}

/// How a view field is made from its stored field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversion {
    /// The same value.
    Copy,
    /// `as: minor-units`: the stored decimal (written as `stored`) is shown as the integer
    /// count of its `1/10^scale` units, e.g. `"129.90"` ↔ `12990` with scale 2. Exact.
    MinorUnits { scale: u32, stored: NumberForm },
}

/// One entry of `view`: the version's field `view` comes from the stored field `stored`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldMap {
    pub view: FieldPath,
    pub stored: FieldPath,
    pub conversion: Conversion,
}

/// A rule of `computed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `{sum-of: <array>, multiply: [<field>, ...], scale: n}`: the sum over the array's
    /// elements of the product of their fields, rounded half away from zero to `scale`
    /// decimals when given, written as `output`.
    SumOf {
        array: FieldPath,
        multiply: Vec<FieldPath>,
        scale: Option<u32>,
        output: NumberForm,
    },
    /// `{shared-by: <array>, field: <field>}`: the value every element of the array has in
    /// `field` (seed data: the elements take the target's value; create: they must agree).
    SharedBy { array: FieldPath, field: FieldPath },
}

/// One entry of `computed`: the stored field `target` follows `rule`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Computed {
    pub target: FieldPath,
    pub rule: Rule,
}

/// One entry of `seed-values`: every generated seed item gets `value` at `path` (at every
/// element of the arrays the path goes through).
#[derive(Clone, Debug, PartialEq)]
pub struct SeedValue {
    pub path: FieldPath,
    pub value: Value,
}

/// One entry of `seed-ids`: a seed item takes `id` instead of a generated one (in every
/// tenant's seed data), and the `values` (like `seed-values`, for this item only).
#[derive(Clone, Debug, PartialEq)]
pub struct SeedId {
    pub id: String,
    pub values: Vec<SeedValue>,
}

/// Where the items of a collection live, resolved across versions by `link`.
#[derive(Clone, Debug, PartialEq)]
pub struct Storage {
    /// The collection name, or the `store` name when versions share the items.
    pub name: String,
    /// The storage `version`: the API version, or [`ALL_VERSIONS`] for a shared store.
    pub version: String,
    pub resource: ResourceType,
    pub shared: bool,
    pub seed_count: u32,
    pub id_field: String,
    pub id_prefix: String,
    pub tenant_field: String,
    /// The schema of a stored item (the canonical shape).
    pub schema: Value,
    /// Applied to seed items and created items, shared-by rules first.
    pub computed: Vec<Computed>,
    /// Set on every generated seed item, before the lookups and the computed fields.
    pub seed_values: Vec<SeedValue>,
    /// The ids (and values) of the last `seed_ids.len()` seed items, in order: items every
    /// tenant's seed data holds under the same id, e.g. the ones the model's examples name.
    pub seed_ids: Vec<SeedId>,
    /// The `lookups` of the stored shape: run on created items, and on seed items (which
    /// then name seed items of the target).
    pub lookups: Vec<Lookup>,
    /// The versions whose items live here (read caches are invalidated for all of them).
    pub versions: Vec<String>,
}

impl Storage {
    /// The binding's own per-version storage (no `store`).
    fn own(
        binding: &SandboxBinding,
        version: &str,
        computed: Vec<Computed>,
        (seed_values, seed_ids): (Vec<SeedValue>, Vec<SeedId>),
    ) -> Storage {
        Storage {
            name: binding.collection.clone(),
            version: version.to_owned(),
            resource: binding.resource.clone(),
            shared: binding.shared,
            seed_count: binding.seed_count,
            id_field: binding.id_field.clone(),
            id_prefix: binding.id_prefix.clone(),
            tenant_field: binding.tenant_field.clone(),
            schema: binding.item_schema.clone(),
            computed,
            seed_values,
            seed_ids,
            lookups: Vec::new(),
            versions: vec![version.to_owned()],
        }
    }

    /// Whether several versions share the items.
    pub fn is_cross_version(&self) -> bool {
        self.version == ALL_VERSIONS
    }

    /// Whether `id` is one of the `seed-ids`: an item of every tenant's seed data (of the
    /// one shared data set for a shared collection).
    pub fn is_seed_id(&self, id: &str) -> bool {
        self.seed_ids.iter().any(|seed| seed.id == id)
    }

    /// The `seed-ids` entry of seed item `index` (the last `seed_ids.len()` items have one).
    pub fn seed_id_at(&self, index: u32) -> Option<&SeedId> {
        let first = self
            .seed_count
            .checked_sub(u32::try_from(self.seed_ids.len()).ok()?)?;
        self.seed_ids
            .get(usize::try_from(index.checked_sub(first)?).ok()?)
    }
}

/// A `lookups` entry as written (resolved into a [`Lookup`] by `link`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupDecl {
    each: Option<FieldPath>,
    by: FieldPath,
    collection: String,
    set: Vec<(FieldPath, FieldPath)>,
}

/// On create, for each element of `each` (or the item itself), the item of `collection`
/// whose id is the element's `by` is found (an unknown id is a 400 `ValidationException` at
/// that field) and its fields copied into the element: `set` lists (element field, found
/// item's field).
#[derive(Clone, Debug, PartialEq)]
pub struct Lookup {
    pub each: Option<FieldPath>,
    pub by: FieldPath,
    pub collection: String,
    pub set: Vec<(FieldPath, FieldPath)>,
    pub target: Arc<Storage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_parse_arrays_and_refuse_garbage() {
        let path = FieldPath::parse("items[].unit_price.amount").unwrap();
        assert_eq!(
            path.steps(),
            [
                Step::Field("items".into()),
                Step::Each,
                Step::Field("unit_price".into()),
                Step::Field("amount".into()),
            ]
        );
        assert_eq!(path.array_prefix().len(), 2);
        assert_eq!(path.to_string(), "items[].unit_price.amount");
        for bad in ["", "a..b", "a[]b", "[]", "a.b c", "a[0]"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad}");
        }
    }
}
