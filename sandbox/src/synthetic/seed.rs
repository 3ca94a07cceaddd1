//! Seed data: the items a storage is seeded with for a tenant, a pure function of the tenant
//! and the model (generated items, seed ids and values, lookups, computed fields).

use serde_json::Value;

use super::generate::{self, Generator, Rng};
use super::shape::{self, Computing};
use super::{copy_lookup_fields, lookup_count, lookup_element_mut, storage_tenant};
use crate::model::stores::{Lookup, Storage};

/// The stored items a storage is seeded with for a tenant: generated from the stored
/// schema with a generator seeded by (storage tenant, storage version, storage name,
/// index), the last ones under the `seed-ids` (with their values), then the `seed-values`,
/// the lookups (each element names a seed item of the target, picked by the same
/// generator, and takes its `set` fields), the computed fields, id and tenant. A pure
/// function of the tenant and the model.
pub(super) fn stored_seed_items(tenant: &str, storage: &Storage) -> Vec<Value> {
    let owner = tenant;
    let tenant = storage_tenant(storage, tenant);
    // The targets' seed items, generated the same way (the model has no lookup cycles).
    let targets: Vec<Vec<Value>> = storage
        .lookups
        .iter()
        .map(|lookup| stored_seed_items(owner, &lookup.target))
        .collect();
    let computing = if storage.lookups.is_empty() {
        Computing::Seed
    } else {
        Computing::SeedFromElements
    };
    (0..storage.seed_count)
        .map(|index| {
            let fixed = storage.seed_id_at(index);
            let index = index.to_string();
            let mut generator = Generator::new(Rng::from_parts(&[
                tenant,
                &storage.version,
                &storage.name,
                &index,
            ]));
            // Drawn even for a `seed-ids` item, so the rest of it is what it would have been.
            let generated = generate::id_with_prefix(&storage.id_prefix, generator.rng());
            let id = fixed.map_or(generated, |seed| seed.id.clone());
            let mut item = generator.value(&storage.schema, "", 0);
            let own_values = fixed.map(|seed| seed.values.as_slice()).unwrap_or_default();
            for seed in storage.seed_values.iter().chain(own_values) {
                shape::set_each(&mut item, seed.path.steps(), &seed.value);
            }
            for (lookup, candidates) in storage.lookups.iter().zip(&targets) {
                seed_lookup(&mut item, lookup, candidates, generator.rng());
            }
            if let Err(error) = shape::apply_computed(&mut item, &storage.computed, computing) {
                tracing::warn!(%error, storage = %storage.name, "computed fields of a seed item failed");
            }
            if let Value::Object(fields) = &mut item {
                fields.insert(storage.id_field.clone(), Value::from(id));
                fields.insert(storage.tenant_field.clone(), Value::from(tenant));
            }
            item
        })
        .collect()
}

/// Makes each element of the lookup's array (or the item) name one of `candidates` (the
/// target's seed items, picked with `rng`) and copies the `set` fields from it.
fn seed_lookup(item: &mut Value, lookup: &Lookup, candidates: &[Value], rng: &mut Rng) {
    if candidates.is_empty() {
        return;
    }
    for index in 0..lookup_count(item, lookup) {
        let pick = usize::try_from(rng.below(candidates.len() as u64)).unwrap_or(0);
        let Some(found) = candidates.get(pick) else {
            continue;
        };
        let Some(element) = lookup_element_mut(item, lookup, index) else {
            continue;
        };
        if let Some(id) = found.get(&lookup.target.id_field) {
            shape::set_path(element, &lookup.by, id.clone());
        }
        copy_lookup_fields(element, lookup, found);
    }
}
