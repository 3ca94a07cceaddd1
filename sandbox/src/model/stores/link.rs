//! Linking the stores across every loaded version ([`link`]): each collection's [`Storage`]
//! resolved, every field path, view, lookup, seed value and seed id checked against the schemas.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::{
    ALL_VERSIONS, Computed, Conversion, FieldMap, FieldPath, Lookup, LookupDecl, NumberForm, Rule,
    SeedId, SeedValue, Step, Storage,
};
use crate::model::{ApiVersion, SandboxBinding};

/// Checks `seed-ids` against the stored schema and the collection: each id has the id
/// prefix and fits the id field's schema, no id twice, at most `seed-count` of them, and
/// their `values` as `seed-values` are checked.
fn resolve_seed_ids(binding: &SandboxBinding, schema: &Value) -> Result<Vec<SeedId>, Vec<String>> {
    let ids = &binding.seed_ids;
    let mut problems = Vec::new();
    let what = format!("collection {}: seed-ids", binding.collection);
    if ids.len() > binding.seed_count as usize {
        problems.push(format!(
            "{what}: {} ids for {} seed items (seed-count)",
            ids.len(),
            binding.seed_count
        ));
    }
    let id_schema = schema_at(schema, &[Step::Field(binding.id_field.clone())]);
    let prefix = format!("{}_", binding.id_prefix);
    for (at, seed) in ids.iter().enumerate() {
        let id = &seed.id;
        if ids[..at].iter().any(|other| other.id == *id) {
            problems.push(format!("{what}: {id} is listed twice"));
            continue;
        }
        if !id.starts_with(&prefix) || id.len() == prefix.len() {
            problems.push(format!(
                "{what}: {id} does not look like an id of the collection ({prefix}…)"
            ));
            continue;
        }
        if let Some(id_schema) = id_schema
            && let Some(first) =
                crate::validate::validate_value(id_schema, &Value::from(id.as_str()), "").first()
        {
            problems.push(format!(
                "{what}: the schema of {} refuses {id}: {}",
                binding.id_field,
                format!("{} {}", first.path, first.message).trim()
            ));
            continue;
        }
        let label = format!("{what} {id}: values");
        if let Err(found) = check_seed_values(&seed.values, binding, schema, &label) {
            problems.extend(found);
        }
    }
    if problems.is_empty() {
        Ok(ids.clone())
    } else {
        Err(problems)
    }
}

/// Checks `seed-values` against the stored schema: every path a field of it (not the id or
/// tenant field, which the sandbox sets), every value one its schema accepts.
fn resolve_seed_values(
    values: &[SeedValue],
    binding: &SandboxBinding,
    schema: &Value,
) -> Result<Vec<SeedValue>, Vec<String>> {
    let label = format!("collection {}: seed-values", binding.collection);
    check_seed_values(values, binding, schema, &label)?;
    Ok(values.to_vec())
}

/// The checks of [`resolve_seed_values`], naming the values with `label`.
fn check_seed_values(
    values: &[SeedValue],
    binding: &SandboxBinding,
    schema: &Value,
    label: &str,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for seed in values {
        let what = format!("{label} {}", seed.path);
        if let [Step::Field(name)] = seed.path.steps()
            && (*name == binding.id_field || *name == binding.tenant_field)
        {
            problems.push(format!(
                "{what}: the id and tenant fields are set by the sandbox"
            ));
            continue;
        }
        let Some(field) = schema_at(schema, seed.path.steps()) else {
            problems.push(format!("{what} is not a field of the stored item"));
            continue;
        };
        let refused = crate::validate::validate_value(field, &seed.value, "");
        if let Some(first) = refused.first() {
            problems.push(format!(
                "{what}: the schema refuses {}: {}",
                seed.value,
                format!("{} {}", first.path, first.message).trim()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The schema a path leads to, if every step exists.
pub(crate) fn schema_at<'a>(schema: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(schema, |at, step| match step {
        Step::Field(name) => at.get("properties")?.get(name.as_str()),
        Step::Each => at.get("items"),
    })
}

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn number_form(schema: &Value) -> Option<NumberForm> {
    let types = types(schema);
    if types.contains(&"string") {
        Some(NumberForm::DecimalString)
    } else if types.contains(&"integer") {
        Some(NumberForm::Integer)
    } else if types.contains(&"number") {
        Some(NumberForm::Number)
    } else {
        None
    }
}

/// A path without `[]` that exists in `schema`.
fn plain_field<'a>(schema: &'a Value, path: &FieldPath, what: &str) -> Result<&'a Value, String> {
    if path.has_each() {
        return Err(format!("{what} {path} must not contain []"));
    }
    schema_at(schema, path.steps())
        .ok_or_else(|| format!("{what} {path} is not a field of the stored item"))
}

/// The element schema of a plain path to an array.
fn array_elements<'a>(
    schema: &'a Value,
    path: &FieldPath,
    what: &str,
) -> Result<&'a Value, String> {
    plain_field(schema, path, what)?
        .get("items")
        .ok_or_else(|| format!("{what} {path} is not an array"))
}

fn resolve_computed(rules: &[Computed], schema: &Value) -> Result<Vec<Computed>, String> {
    rules
        .iter()
        .map(|computed| {
            let what = format!("computed {}", computed.target);
            let target = plain_field(schema, &computed.target, "computed")?;
            let rule = match &computed.rule {
                Rule::SumOf {
                    array,
                    multiply,
                    scale,
                    ..
                } => {
                    let elements = array_elements(schema, array, &format!("{what}: sum-of"))?;
                    for factor in multiply {
                        let field = plain_field(elements, factor, &format!("{what}: multiply"))
                            .map_err(|_| {
                                format!("{what}: multiply {factor} is not a field of {array}[]")
                            })?;
                        if number_form(field).is_none() {
                            return Err(format!(
                                "{what}: multiply {factor} must be a number, integer or decimal string"
                            ));
                        }
                    }
                    let output = number_form(target).ok_or_else(|| {
                        format!("{what}: the target must be a number, integer or decimal string")
                    })?;
                    Rule::SumOf {
                        array: array.clone(),
                        multiply: multiply.clone(),
                        scale: *scale,
                        output,
                    }
                }
                Rule::SharedBy { array, field } => {
                    let elements = array_elements(schema, array, &format!("{what}: shared-by"))?;
                    plain_field(elements, field, &what)
                        .map_err(|_| format!("{what}: field {field} is not a field of {array}[]"))?;
                    computed.rule.clone()
                }
            };
            Ok(Computed {
                target: computed.target.clone(),
                rule,
            })
        })
        .collect()
}

fn resolve_lookups(
    decls: &[LookupDecl],
    schema: &Value,
    version: usize,
    storages: &HashMap<(usize, String), Arc<Storage>>,
) -> Result<Vec<Lookup>, String> {
    decls
        .iter()
        .map(|decl| {
            let what = format!("lookups on {}", decl.by);
            let target = storages
                .get(&(version, decl.collection.clone()))
                .ok_or_else(|| {
                    format!(
                        "{what}: collection {} is not an x-sandbox collection of this version",
                        decl.collection
                    )
                })?;
            let elements = match &decl.each {
                Some(each) => array_elements(schema, each, &format!("{what}: each"))?,
                None => schema,
            };
            plain_field(elements, &decl.by, &what)?;
            for (to, from) in &decl.set {
                plain_field(elements, to, &format!("{what}: set"))?;
                if from.has_each() || schema_at(&target.schema, from.steps()).is_none() {
                    return Err(format!(
                        "{what}: {from} is not a field of a stored item of {}",
                        decl.collection
                    ));
                }
            }
            Ok(Lookup {
                each: decl.each.clone(),
                by: decl.by.clone(),
                collection: decl.collection.clone(),
                set: decl.set.clone(),
                target: target.clone(),
            })
        })
        .collect()
}

/// Rebuilds storages with their resolved lookups (see `link`), each once.
struct Linked<'a> {
    lookups: &'a HashMap<(usize, usize), Vec<Lookup>>,
    canon_of_storage: &'a HashMap<*const Storage, (usize, usize)>,
    done: HashMap<*const Storage, Arc<Storage>>,
    /// The storages being rebuilt, to find lookups that lead back to themselves.
    visiting: Vec<*const Storage>,
    problems: &'a mut Vec<((usize, usize), String)>,
}

impl Linked<'_> {
    fn with_lookups(&mut self, storage: &Arc<Storage>) -> Arc<Storage> {
        let ptr = Arc::as_ptr(storage);
        if let Some(done) = self.done.get(&ptr) {
            return done.clone();
        }
        let Some(&canon) = self.canon_of_storage.get(&ptr) else {
            return storage.clone();
        };
        let declared = self.lookups.get(&canon).cloned().unwrap_or_default();
        if declared.is_empty() {
            self.done.insert(ptr, storage.clone());
            return storage.clone();
        }
        if self.visiting.contains(&ptr) {
            return storage.clone();
        }
        self.visiting.push(ptr);
        let mut resolved = Vec::new();
        for lookup in declared {
            let target_ptr = Arc::as_ptr(&lookup.target);
            if target_ptr == ptr || self.visiting.contains(&target_ptr) {
                self.problems.push((
                    canon,
                    format!(
                        "lookups on {}: collection {} leads back to {} through lookups; seed data could not be generated",
                        lookup.by, lookup.collection, storage.name
                    ),
                ));
                continue;
            }
            let target = self.with_lookups(&lookup.target);
            resolved.push(Lookup { target, ..lookup });
        }
        self.visiting.pop();
        let full = Arc::new(Storage {
            lookups: resolved,
            ..Storage::clone(&**storage)
        });
        self.done.insert(ptr, full.clone());
        full
    }
}

fn path_text(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Field(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Step::Each => out.push_str("[]"),
        }
    }
    out
}

/// View fields that are neither mapped nor present under the same path in the stored shape.
fn unmatched(
    view: &Value,
    stored: &Value,
    maps: &[FieldMap],
    at: &mut Vec<Step>,
    out: &mut Vec<String>,
) {
    if at.len() > 32 {
        return;
    }
    if let Some(properties) = view.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            at.push(Step::Field(name.clone()));
            if !maps.iter().any(|m| m.view.steps() == at.as_slice()) {
                match stored.get("properties").and_then(|p| p.get(name)) {
                    Some(counterpart) => unmatched(property, counterpart, maps, at, out),
                    None => out.push(path_text(at)),
                }
            }
            at.pop();
        }
    }
    if let (Some(items), Some(stored_items)) = (view.get("items"), stored.get("items")) {
        at.push(Step::Each);
        unmatched(items, stored_items, maps, at, out);
        at.pop();
    }
}

/// Checks a view against the stored shape and fills in the number forms of conversions.
fn resolve_view(
    maps: &[FieldMap],
    view_schema: &Value,
    stored_schema: &Value,
) -> Result<Vec<FieldMap>, Vec<String>> {
    let mut problems = Vec::new();
    let mut resolved = Vec::new();
    for map in maps {
        let what = format!("view {}", map.view);
        let Some(view_field) = schema_at(view_schema, map.view.steps()) else {
            problems.push(format!("{what}: not a field of this version's item"));
            continue;
        };
        let Some(stored_field) = schema_at(stored_schema, map.stored.steps()) else {
            problems.push(format!(
                "{what}: from {} is not a field of the stored item",
                map.stored
            ));
            continue;
        };
        if map.view.array_prefix() != map.stored.array_prefix() {
            problems.push(format!(
                "{what}: from {} must go through the same arrays ([]) as the view field",
                map.stored
            ));
            continue;
        }
        let conversion = match map.conversion {
            Conversion::Copy => Conversion::Copy,
            Conversion::MinorUnits { scale, .. } => {
                if !types(view_field).contains(&"integer") {
                    problems.push(format!(
                        "{what}: as minor-units needs an integer field in this version"
                    ));
                    continue;
                }
                match number_form(stored_field) {
                    Some(stored @ (NumberForm::DecimalString | NumberForm::Number)) => {
                        Conversion::MinorUnits { scale, stored }
                    }
                    _ => {
                        problems.push(format!(
                            "{what}: as minor-units needs a decimal string or number in {}",
                            map.stored
                        ));
                        continue;
                    }
                }
            }
        };
        resolved.push(FieldMap {
            conversion,
            ..map.clone()
        });
    }
    let mut missing = Vec::new();
    unmatched(
        view_schema,
        stored_schema,
        maps,
        &mut Vec::new(),
        &mut missing,
    );
    for field in missing {
        problems.push(format!(
            "field {field} of this version's item is not in the stored item: map it in view"
        ));
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(problems)
    }
}

/// Where the versions of a store disagree on something both must share.
fn store_difference(canonical: &SandboxBinding, other: &SandboxBinding) -> Option<&'static str> {
    if canonical.resource != other.resource {
        Some("resource")
    } else if canonical.shared != other.shared {
        Some("shared")
    } else if canonical.seed_count != other.seed_count {
        Some("seed-count")
    } else if canonical.id_field != other.id_field || canonical.id_prefix != other.id_prefix {
        Some("id-field / id-prefix")
    } else if canonical.tenant_field != other.tenant_field {
        Some("tenant-field")
    } else {
        None
    }
}

/// Resolves every binding's [`Storage`], view and lookups across the versions (sorted), and
/// records problems on the operations.
pub(in crate::model) fn link(versions: &mut [ApiVersion]) {
    // The first operation of each collection in each version stands for the collection.
    let mut firsts: Vec<(usize, usize)> = Vec::new();
    for (v, version) in versions.iter().enumerate() {
        let mut seen: Vec<&str> = Vec::new();
        for (o, op) in version.operations.iter().enumerate() {
            if let Some(binding) = &op.sandbox
                && !seen.contains(&binding.collection.as_str())
            {
                seen.push(&binding.collection);
                firsts.push((v, o));
            }
        }
    }
    let binding = |(v, o): (usize, usize)| versions[v].operations[o].sandbox.as_ref();

    let mut problems: Vec<((usize, usize), String)> = Vec::new();
    let mut storages: HashMap<(usize, String), Arc<Storage>> = HashMap::new();
    let mut views: HashMap<(usize, String), Vec<FieldMap>> = HashMap::new();
    // (version, collection) → the (version, collection) holding the stored shape.
    let mut canonical_of: HashMap<(usize, String), (usize, usize)> = HashMap::new();
    let mut stores: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();

    // The seed-values and seed-ids of a stored shape (none of either when they have problems).
    let seed_values =
        |at: (usize, usize), b: &SandboxBinding, problems: &mut Vec<((usize, usize), String)>| {
            let values =
                resolve_seed_values(&b.seed_values, b, &b.item_schema).unwrap_or_else(|found| {
                    problems.extend(found.into_iter().map(|p| (at, p)));
                    Vec::new()
                });
            let ids = resolve_seed_ids(b, &b.item_schema).unwrap_or_else(|found| {
                problems.extend(found.into_iter().map(|p| (at, p)));
                Vec::new()
            });
            (values, ids)
        };
    let own = |at: (usize, usize),
               b: &SandboxBinding,
               problems: &mut Vec<((usize, usize), String)>| {
        let computed = resolve_computed(&b.computed, &b.item_schema).unwrap_or_else(|message| {
            problems.push((at, message));
            Vec::new()
        });
        let seeds = seed_values(at, b, problems);
        Arc::new(Storage::own(b, &versions[at.0].name, computed, seeds))
    };

    for &at in &firsts {
        let Some(b) = binding(at) else { continue };
        match &b.store {
            Some(store) => stores.entry(store.as_str()).or_default().push(at),
            None => {
                storages.insert((at.0, b.collection.clone()), own(at, b, &mut problems));
                canonical_of.insert((at.0, b.collection.clone()), at);
            }
        }
    }

    for (store, members) in &stores {
        let mut fallback = false;
        for (i, &at) in members.iter().enumerate() {
            if let Some(&other) = members[..i].iter().find(|m| m.0 == at.0) {
                let name = |m: (usize, usize)| binding(m).map_or("", |b| b.collection.as_str());
                problems.push((
                    at,
                    format!(
                        "store {store} is already used by collection {} of this version",
                        name(other)
                    ),
                ));
                fallback = true;
            }
        }
        let canonical: Vec<(usize, usize)> = members
            .iter()
            .copied()
            .filter(|&m| binding(m).is_some_and(|b| b.view.is_none()))
            .collect();
        let canon = match canonical.as_slice() {
            [one] if !fallback => Some(*one),
            [_] => None,
            [] => {
                for &at in members {
                    problems.push((
                        at,
                        format!(
                            "store {store}: one version must hold the stored shape (no view); every version here declares a view"
                        ),
                    ));
                }
                None
            }
            several => {
                let names: Vec<&str> = several.iter().map(|m| &*versions[m.0].name).collect();
                for &at in several {
                    problems.push((
                        at,
                        format!(
                            "store {store}: only one version holds the stored shape, but {} declare no view (give the others view: {{}} or field mappings)",
                            names.join(" and ")
                        ),
                    ));
                }
                None
            }
        };
        let Some(canon) = canon else {
            // Keep every version working on its own storage; `check` reports the problems.
            for &at in members {
                if let Some(b) = binding(at) {
                    storages.insert((at.0, b.collection.clone()), own(at, b, &mut problems));
                    canonical_of.insert((at.0, b.collection.clone()), at);
                }
            }
            continue;
        };
        let Some(cb) = binding(canon) else { continue };
        let computed = resolve_computed(&cb.computed, &cb.item_schema).unwrap_or_else(|message| {
            problems.push((canon, message));
            Vec::new()
        });
        let seeds = seed_values(canon, cb, &mut problems);
        let storage = Arc::new(Storage {
            name: (*store).to_owned(),
            version: ALL_VERSIONS.to_owned(),
            versions: members
                .iter()
                .map(|m| versions[m.0].name.to_string())
                .collect(),
            ..Storage::own(cb, "", computed, seeds)
        });
        for &at in members {
            let Some(b) = binding(at) else { continue };
            let key = (at.0, b.collection.clone());
            if at != canon {
                let mut member_problems = Vec::new();
                if let Some(what) = store_difference(cb, b) {
                    member_problems.push(format!(
                        "store {store}: {what} differs from collection {} of {}",
                        cb.collection, versions[canon.0].name
                    ));
                }
                if !b.computed.is_empty()
                    || !b.lookup_decls.is_empty()
                    || !b.seed_values.is_empty()
                    || !b.seed_ids.is_empty()
                {
                    member_problems.push(format!(
                        "store {store}: computed, lookups, seed-values and seed-ids describe the stored shape; declare them in {} (the version without view)",
                        versions[canon.0].name
                    ));
                }
                match resolve_view(
                    b.view.as_deref().unwrap_or(&[]),
                    &b.item_schema,
                    &cb.item_schema,
                ) {
                    Ok(resolved) => {
                        views.insert(key.clone(), resolved);
                    }
                    Err(found) => member_problems.extend(found),
                }
                problems.extend(member_problems.into_iter().map(|p| (at, p)));
            }
            storages.insert(key.clone(), storage.clone());
            canonical_of.insert(key, canon);
        }
    }

    // Lookups belong to the stored shape: resolved once, shared with every view of it.
    let mut lookups: HashMap<(usize, usize), Vec<Lookup>> = HashMap::new();
    for &canon in canonical_of.values() {
        if lookups.contains_key(&canon) {
            continue;
        }
        let Some(b) = binding(canon) else { continue };
        let found = resolve_lookups(&b.lookup_decls, &b.item_schema, canon.0, &storages)
            .unwrap_or_else(|message| {
                problems.push((canon, message));
                Vec::new()
            });
        lookups.insert(canon, found);
    }
    // Seed items run the lookups too, so a storage carries its lookups, whose targets carry
    // theirs: rebuild the storages with them, targets first.
    let mut canon_of_storage: HashMap<*const Storage, (usize, usize)> = HashMap::new();
    for (key, canon) in &canonical_of {
        if let Some(storage) = storages.get(key) {
            canon_of_storage.insert(Arc::as_ptr(storage), *canon);
        }
    }
    let mut linked = Linked {
        lookups: &lookups,
        canon_of_storage: &canon_of_storage,
        done: HashMap::new(),
        visiting: Vec::new(),
        problems: &mut problems,
    };
    let first_pass: Vec<((usize, String), Arc<Storage>)> = storages
        .iter()
        .map(|(key, storage)| (key.clone(), storage.clone()))
        .collect();
    for (key, storage) in first_pass {
        let full = linked.with_lookups(&storage);
        storages.insert(key, full);
    }

    let mut runtime_problems: Vec<((usize, usize), String)> = Vec::new();
    for (v, version) in versions.iter_mut().enumerate() {
        for (o, op) in version.operations.iter_mut().enumerate() {
            let Some(b) = op.sandbox.as_mut() else {
                continue;
            };
            let key = (v, b.collection.clone());
            if let Some(storage) = storages.get(&key) {
                b.storage = storage.clone();
            }
            // A view needs a shared store; a view that failed its checks copies by name.
            b.view = if b.storage.is_cross_version() {
                views
                    .get(&key)
                    .cloned()
                    .or_else(|| b.view.take().map(|_| Vec::new()))
            } else {
                None
            };
            b.lookups = b.storage.lookups.clone();
            // The backend changes stored items by these names.
            if b.view.is_some() {
                let fields = b
                    .transition
                    .iter()
                    .map(|t| &t.field)
                    .chain(b.timestamps.created.iter())
                    .chain(b.timestamps.updated.iter());
                for field in fields {
                    if schema_at(&b.storage.schema, &[Step::Field(field.clone())]).is_none() {
                        runtime_problems.push((
                            (v, o),
                            format!(
                                "field {field} (transition or timestamps) is not a field of the stored item of store {}",
                                b.storage.name
                            ),
                        ));
                    }
                }
            }
        }
    }
    for ((v, o), problem) in problems.into_iter().chain(runtime_problems) {
        if let Some(op) = versions[v].operations.get_mut(o) {
            op.problems.push(format!("x-sandbox: {problem}"));
        }
    }
}
