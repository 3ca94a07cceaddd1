//! The changing behaviors: create (idempotency keys, the created item built over a generated
//! one, lookups and computed fields), cancel (the status transition) and delete.

use std::fmt::Write as _;

use axum::http::StatusCode;
use portico_core::CoreResult;
use portico_core::sandbox_data::{self, ChangeEvent, InsertOutcome, NewIdempotency};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::generate::{Generator, Rng};
use super::shape::{self, ComputeError, Computing, Mismatch};
use super::{
    BackendRequest, BackendResponse, SyntheticBackend, copy_lookup_fields, item_id, lookup_count,
    lookup_element_mut, not_found, scalar_text, storage_key, view_of,
};
use crate::model::stores::Lookup;
use crate::model::{SandboxBinding, dates};
use crate::validate::{FieldError, validation_error_body};

impl SyntheticBackend {
    pub(super) async fn create(
        &self,
        request: &BackendRequest<'_>,
        binding: &SandboxBinding,
    ) -> CoreResult<BackendResponse> {
        let version = &*request.version.name;
        let storage = &binding.storage;
        self.ensure_seeded(request.tenant, storage).await?;
        let key = storage_key(storage, request.tenant);
        let hash = request_hash(&request.operation.operation_id, request.body);
        if let Some(idempotency_key) = request.idempotency_key
            && let Some(first) =
                sandbox_data::find_idempotency(&self.db, request.tenant, version, idempotency_key)
                    .await?
        {
            return Ok(replay(idempotency_key, &hash, first));
        }

        let id = portico_core::ids::new_id(&storage.id_prefix);
        let stored = match self.build_created_item(request, binding, &id).await? {
            Ok(stored) => stored,
            Err(refused) => return Ok(refused),
        };
        let item = match view_of(binding, stored.clone()) {
            Ok(item) => item,
            Err(error) => {
                tracing::error!(%error, "created sandbox item does not fit the version's view");
                return Ok(BackendResponse::internal());
            }
        };
        // The response in this version's shape is what a retry through this version gets.
        let text = item.to_string();
        let status = request.operation.success_status;
        let record = request.idempotency_key.map(|key| NewIdempotency {
            version,
            key,
            request_hash: &hash,
            status: status.as_u16(),
            body: Some(&text),
        });
        let events: Vec<ChangeEvent<'_>> = binding
            .emits
            .iter()
            .map(|event_type| ChangeEvent {
                event_type,
                data: &item,
            })
            .collect();
        match sandbox_data::insert(&self.db, key, &id, &stored.to_string(), record, &events).await?
        {
            InsertOutcome::Inserted(_) => Ok(BackendResponse::json(status, item)),
            InsertOutcome::KeyUsed(first) => Ok(replay(
                request.idempotency_key.unwrap_or_default(),
                &hash,
                first,
            )),
        }
    }

    pub(super) async fn cancel(
        &self,
        request: &BackendRequest<'_>,
        binding: &SandboxBinding,
    ) -> CoreResult<BackendResponse> {
        let id = item_id(request, binding);
        let Some(transition) = &binding.transition else {
            return Ok(BackendResponse::internal());
        };
        let noun = binding.resource.type_name();
        // Compare-and-swap: retry when a concurrent change got in between.
        for _ in 0..3 {
            let Some(object) = self.fetch(request.tenant, &binding.storage, id).await? else {
                return Ok(not_found(binding, id));
            };
            let Ok(Value::Object(mut item)) = serde_json::from_str::<Value>(&object.body) else {
                return Ok(BackendResponse::internal());
            };
            let current = item
                .get(&transition.field)
                .and_then(scalar_text)
                .unwrap_or_default();
            if current == transition.to {
                return Ok(BackendResponse::conflict(format!(
                    "{noun} {id} is already {}.",
                    transition.to
                )));
            }
            if !transition.from.contains(&current) {
                return Ok(BackendResponse::conflict(format!(
                    "{noun} {id} cannot be changed to {} while its {} is {current} (only from: {}).",
                    transition.to,
                    transition.field,
                    transition.from.join(", ")
                )));
            }
            item.insert(transition.field.clone(), Value::from(transition.to.clone()));
            if let Some(field) = &binding.timestamps.updated {
                item.insert(field.clone(), Value::from(now_text()));
            }
            let item = Value::Object(item);
            let key = storage_key(&binding.storage, request.tenant);
            let shown = match view_of(binding, item.clone()) {
                Ok(shown) => shown,
                Err(error) => {
                    tracing::error!(%error, id, "stored sandbox item does not fit the version's view");
                    return Ok(BackendResponse::internal());
                }
            };
            let events: Vec<ChangeEvent<'_>> = binding
                .emits
                .iter()
                .map(|event_type| ChangeEvent {
                    event_type,
                    data: &shown,
                })
                .collect();
            let updated = sandbox_data::update(
                &self.db,
                key,
                id,
                object.revision,
                &item.to_string(),
                &events,
            )
            .await?;
            self.forget_item(request, binding, id);
            if updated {
                return Ok(BackendResponse::json(
                    request.operation.success_status,
                    shown,
                ));
            }
        }
        Ok(BackendResponse::conflict(format!(
            "{noun} {id} changed while it was being updated; retry the request."
        )))
    }

    pub(super) async fn delete(
        &self,
        request: &BackendRequest<'_>,
        binding: &SandboxBinding,
    ) -> CoreResult<BackendResponse> {
        let id = item_id(request, binding);
        if self
            .fetch(request.tenant, &binding.storage, id)
            .await?
            .is_none()
        {
            return Ok(not_found(binding, id));
        }
        let key = storage_key(&binding.storage, request.tenant);
        let deleted = sandbox_data::delete(&self.db, key, id).await?;
        self.forget_item(request, binding, id);
        if deleted {
            let status = if request.operation.success_status == StatusCode::OK {
                StatusCode::NO_CONTENT
            } else {
                request.operation.success_status
            };
            Ok(BackendResponse {
                status,
                body: None,
                serialized: None,
                replayed: false,
            })
        } else {
            Ok(not_found(binding, id))
        }
    }
}

impl SyntheticBackend {
    /// The stored item for a create: a generated item with the request (in the stored shape,
    /// `create-defaults` over it) laid over it (only fields of the schema, only values that
    /// fit it), then the lookups, the computed fields, timestamps, id and tenant. `Err` is
    /// the refusal to send (400 for an unknown referenced id or disagreeing elements).
    async fn build_created_item(
        &self,
        request: &BackendRequest<'_>,
        binding: &SandboxBinding,
        id: &str,
    ) -> CoreResult<Result<Value, BackendResponse>> {
        let storage = &binding.storage;
        let mut generator = Generator::new(Rng::from_parts(&[
            "create",
            request.tenant,
            &storage.version,
            &storage.name,
            id,
        ]));
        let base = generator.value(&storage.schema, "", 0);
        let mut asked = request
            .body
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        if let Value::Object(fields) = &mut asked {
            for (key, value) in &binding.create_defaults {
                fields.insert(key.clone(), value.clone());
            }
        }
        let provided = match &binding.view {
            Some(maps) => shape::to_stored(&asked, &storage.schema, maps),
            None => asked,
        };
        let mut item = overlay(&mut generator, &storage.schema, base, &provided, 0);

        let mut errors = Vec::new();
        for lookup in &binding.lookups {
            self.apply_lookup(request.tenant, binding, lookup, &mut item, &mut errors)
                .await?;
        }
        if !errors.is_empty() {
            return Ok(Err(validation_refusal(&errors)));
        }
        match shape::apply_computed(
            &mut item,
            &storage.computed,
            Computing::Create {
                provided: &provided,
            },
        ) {
            Ok(()) => {}
            Err(ComputeError::Mismatch(found)) => {
                let errors: Vec<FieldError> = found
                    .iter()
                    .map(|mismatch| mismatch_error(binding, mismatch))
                    .collect();
                return Ok(Err(validation_refusal(&errors)));
            }
            Err(ComputeError::Shape(error)) => {
                tracing::error!(%error, "computed fields of a created sandbox item failed");
                return Ok(Err(BackendResponse::internal()));
            }
        }
        if let Value::Object(fields) = &mut item {
            let now = now_text();
            for field in [&binding.timestamps.created, &binding.timestamps.updated]
                .into_iter()
                .flatten()
            {
                fields.insert(field.clone(), Value::from(now.clone()));
            }
            fields.insert(storage.id_field.clone(), Value::from(id));
            fields.insert(storage.tenant_field.clone(), Value::from(request.tenant));
        }
        Ok(Ok(item))
    }

    /// Fills the fields a lookup copies into each element (or the item); an id that names
    /// nothing is a field error at the request's field.
    async fn apply_lookup(
        &self,
        tenant: &str,
        binding: &SandboxBinding,
        lookup: &Lookup,
        item: &mut Value,
        errors: &mut Vec<FieldError>,
    ) -> CoreResult<()> {
        for index in 0..lookup_count(item, lookup) {
            let element = match &lookup.each {
                Some(each) => shape::get_path(item, each).and_then(|list| list.get(index)),
                None => Some(&*item),
            };
            let Some(wanted) = element
                .and_then(|element| shape::get_path(element, &lookup.by))
                .and_then(scalar_text)
            else {
                continue;
            };
            let found = self
                .fetch(tenant, &lookup.target, &wanted)
                .await?
                .and_then(|object| serde_json::from_str::<Value>(&object.body).ok());
            let Some(found) = found else {
                errors.push(FieldError::new(
                    request_field(binding, lookup.each.as_ref(), &lookup.by.to_string(), index),
                    format!(
                        "does not name an existing {} ({wanted})",
                        lookup.target.resource.type_name().to_lowercase()
                    ),
                ));
                continue;
            };
            if let Some(element) = lookup_element_mut(item, lookup, index) {
                copy_lookup_fields(element, lookup, &found);
            }
        }
        Ok(())
    }
}

fn validation_refusal(errors: &[FieldError]) -> BackendResponse {
    BackendResponse::json(StatusCode::BAD_REQUEST, validation_error_body(errors, None))
}

/// The request's name for a stored field (`field` inside element `index` of the array
/// `each`, or of the item), e.g. `body.items[0].product_id`.
fn request_field(
    binding: &SandboxBinding,
    each: Option<&crate::model::stores::FieldPath>,
    field: &str,
    index: usize,
) -> String {
    let stored = match each {
        Some(each) => format!("{each}[].{field}"),
        None => field.to_owned(),
    };
    let view = binding
        .view
        .iter()
        .flatten()
        .find(|map| map.stored.as_str() == stored)
        .map_or(stored.as_str(), |map| map.view.as_str());
    format!("body.{}", view.replacen("[]", &format!("[{index}]"), 1))
}

/// The field error for an element that does not share a `shared-by` value: at the lookup
/// field that brought the value in when there is one (e.g. the product id of a line).
fn mismatch_error(binding: &SandboxBinding, mismatch: &Mismatch) -> FieldError {
    let field = mismatch.field.as_str();
    let text = |value: &Value| scalar_text(value).unwrap_or_else(|| value.to_string());
    let (expected, found) = (text(&mismatch.expected), text(&mismatch.found));
    let array = request_field(binding, None, mismatch.array.as_str(), 0);
    let array = array.trim_start_matches("body.");
    let source = binding
        .lookups
        .iter()
        .filter(|lookup| lookup.each.as_ref() == Some(&mismatch.array))
        .find_map(|lookup| {
            lookup.set.iter().find_map(|(to, from)| {
                let rest = field.strip_prefix(to.as_str())?;
                (rest.is_empty() || rest.starts_with('.'))
                    .then(|| (lookup, format!("{from}{rest}")))
            })
        });
    match source {
        Some((lookup, from)) => FieldError::new(
            request_field(
                binding,
                Some(&mismatch.array),
                lookup.by.as_str(),
                mismatch.index,
            ),
            format!(
                "names a {} whose {from} is {found}, but all {array} must have the same {field} ({expected})",
                lookup.target.resource.type_name().to_lowercase()
            ),
        ),
        None => FieldError::new(
            request_field(binding, Some(&mismatch.array), field, mismatch.index),
            format!("must be {expected} like the rest of {array}"),
        ),
    }
}

/// The first response for the key again, or 409 when the key came with another request.
fn replay(key: &str, hash: &str, first: sandbox_data::StoredResponse) -> BackendResponse {
    if first.request_hash != hash {
        return BackendResponse::conflict(format!(
            "Idempotency-Key {key:?} was already used with a different request; use a new key for a new request."
        ));
    }
    BackendResponse {
        status: StatusCode::from_u16(first.status).unwrap_or(StatusCode::OK),
        body: first.body.and_then(|text| serde_json::from_str(&text).ok()),
        serialized: None,
        replayed: true,
    }
}

/// Hex SHA-256 of the operation and the body in canonical JSON (keys sorted), so a retry
/// that orders its keys differently is still "the same request".
fn request_hash(operation_id: &str, body: Option<&Value>) -> String {
    let mut canonical = String::new();
    canonical.push_str(operation_id);
    canonical.push('\n');
    match body {
        Some(body) => write_canonical(body, &mut canonical),
        None => canonical.push_str("null"),
    }
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                if let Some(item) = map.get(key) {
                    write_canonical(item, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn now_text() -> String {
    dates::format_date_time(portico_core::clock::now())
}

fn overlay(
    generator: &mut Generator,
    schema: &Value,
    base: Value,
    body: &Value,
    depth: u32,
) -> Value {
    if depth > 16 {
        return base;
    }
    match body {
        Value::Object(fields) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return base;
            };
            let mut out = match base {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            for (key, value) in fields {
                if let Some(property) = properties.get(key) {
                    let current = out
                        .remove(key)
                        .unwrap_or_else(|| generator.value(property, key, depth + 1));
                    out.insert(
                        key.clone(),
                        overlay(generator, property, current, value, depth + 1),
                    );
                }
            }
            Value::Object(out)
        }
        Value::Array(values) => {
            let Some(items) = schema.get("items") else {
                return base;
            };
            let mut bases = match base {
                Value::Array(list) => list.into_iter(),
                _ => Vec::new().into_iter(),
            };
            Value::Array(
                values
                    .iter()
                    .map(|value| {
                        let current = bases
                            .next()
                            .unwrap_or_else(|| generator.value(items, "", depth + 1));
                        overlay(generator, items, current, value, depth + 1)
                    })
                    .collect(),
            )
        }
        scalar => {
            if crate::validate::validate_value(schema, scalar, "").is_empty() {
                integral(schema, scalar)
            } else {
                base
            }
        }
    }
}

/// A whole number sent as `2.0` (or `2e0`) where the schema wants an integer is kept as `2`:
/// JSON Schema accepts either, but the response must not hand typed clients a float.
fn integral(schema: &Value, value: &Value) -> Value {
    let wants_integer = match schema.get("type") {
        Some(Value::String(kind)) => kind == "integer",
        Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "integer"),
        _ => false,
    };
    match value {
        Value::Number(n) if wants_integer && n.is_f64() => match n.as_f64() {
            // Within ±2^53 every whole f64 is exactly an i64.
            Some(f) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => {
                Value::from(f as i64)
            }
            _ => value.clone(),
        },
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_floats_become_integers_where_the_schema_wants_one() {
        let integer = json!({"type": "integer"});
        let nullable = json!({"type": ["integer", "null"]});
        let number = json!({"type": "number"});
        assert_eq!(integral(&integer, &json!(3.0)), json!(3));
        assert!(integral(&integer, &json!(3.0)).is_i64());
        assert!(integral(&nullable, &json!(-7.0)).is_i64());
        assert_eq!(integral(&integer, &json!(3)), json!(3));
        assert!(integral(&number, &json!(3.0)).is_f64());
        assert!(integral(&integer, &json!(1e300)).is_f64());
    }

    #[test]
    fn request_hash_ignores_key_order_but_not_values() {
        let a = request_hash(
            "CreateOrder",
            Some(&json!({"a": 1, "b": [1, {"c": 2, "d": 3}]})),
        );
        let b = request_hash(
            "CreateOrder",
            Some(&json!({"b": [1, {"d": 3, "c": 2}], "a": 1})),
        );
        let c = request_hash(
            "CreateOrder",
            Some(&json!({"a": 2, "b": [1, {"c": 2, "d": 3}]})),
        );
        let d = request_hash(
            "CreateLoan",
            Some(&json!({"a": 1, "b": [1, {"c": 2, "d": 3}]})),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(a.len(), 64);
    }
}
