//! The synthetic backend: stateful fake data per partner tenant, driven only by the model's
//! schemas and `x-sandbox` bindings (see [`crate::model`]).
//!
//! - **Storage**: each binding's [`Storage`] (resolved when the model was loaded) says where
//!   its items live: per (tenant, version, collection), or, for a `store` shared by
//!   versions, per (tenant, store) under the version `*` in the stored (canonical) shape.
//!   A version with a `view` sees every stored item through it (`shape::to_view`): lists,
//!   gets, cancels and created items come back in that version's shape, and a created item
//!   is built in the stored shape from the request mapped the other way. So an order created
//!   or cancelled through v1 is the same order in v2. Read caches are per version and
//!   dropped for every version of the store on a change.
//! - **Seed data** is generated the first time a tenant's storage is touched: `seed-count`
//!   items from the stored schema, each from a [`generate::Rng`] seeded with (tenant,
//!   storage version, storage name, index), so a partner sees the same data after a restart
//!   or a reset, in every version of a store, and two partners see different data (but for
//!   the last items, which take the `seed-ids` when the model gives some: the items its
//!   examples name, under the same ids for every partner); then the
//!   `seed-values` (e.g. one catalogue currency), the `lookups` against the target's seed
//!   items (a seed order's lines name catalogue products at catalogue prices), and the
//!   `computed` fields (e.g. an order's total is the sum of its lines). Shared collections
//!   (`shared: true`) are seeded once under the tenant `*`; a database seeded by an older
//!   model keeps its shared items until they are deleted.
//! - **list** filters on equality query parameters that are item properties (repeated values
//!   mean "any of"), applies the application's [`ProviderPreferences`] when the binding names
//!   a `provider-field`, and pages per the binding: cursor (`?cursor=&limit=` →
//!   `next_cursor`, an opaque token of the last item's position) or page (`?page=&per_page=`
//!   with a total).
//! - **get** returns the item or 404 `NotFoundException` ([`not_found`]: another tenant's id
//!   is simply not there, and the gateway answers Cedar's refusal of another tenant's object
//!   with the same [`not_found`], so no answer tells whether an id exists elsewhere).
//! - **create** builds the stored item from the request body (with `create-defaults` over
//!   it, mapped to the stored shape) laid over a generated one (fields of the schema only),
//!   then the `lookups` (e.g. each line's unit price from the product it names; an unknown
//!   id is 400 `ValidationException` at `body.items[i].product_id`), the `computed` fields
//!   (lines that do not share the order's currency are a 400 at their product id),
//!   timestamps, a new id and the tenant; 201 with the item in the caller's version's shape.
//!   With an `Idempotency-Key`, a retry with the same body gets the first response again
//!   (marked [`BackendResponse::replayed`]); the same key with a different body (or another
//!   operation) is refused with 409 `ConflictException`. Keys are per tenant and API
//!   version, even for a store shared by versions: a v1 retry and a v2 retry are different
//!   requests with different response shapes.
//! - **cancel** moves the `transition` field from one of `from` to `to`; an item already in
//!   `to`, or in a status not in `from`, gets 409 `ConflictException`.
//! - **delete** removes the item: 204, or 404.
//!
//! Error bodies have the gateway's Smithy shape (`__type`, `message`, `requestId`).

mod generate;
mod providers;
mod shape;

pub use providers::{ProviderPreferences, filter_by_provider, filter_packages};

use std::fmt::Write as _;

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portico_core::cache::TtlCache;
use portico_core::request_id::RequestId;
use portico_core::sandbox_data::{
    self, ChangeEvent, CollectionKey, InsertOutcome, NewIdempotency, StoredObject,
};
use portico_core::{CoreResult, Database};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{ErrorKind, GatewayError};
use crate::model::stores::{Lookup, Storage};
use crate::model::{
    ApiVersion, Behavior, Operation, Pagination, ParamLocation, SandboxBinding, dates,
};
use crate::validate::{FieldError, validation_error_body};

use generate::{Generator, Rng};
use shape::{ComputeError, Computing, Mismatch, ShapeError};

/// Rows read per round trip while scanning a collection.
const SCAN_CHUNK: u32 = 200;

/// One request for the backend, after routing, authorization and validation.
#[derive(Clone, Copy, Debug)]
pub struct BackendRequest<'a> {
    /// The caller's partner id: whose data.
    pub tenant: &'a str,
    /// The calling application (for logs; data is per tenant, shared by its applications).
    pub client_id: &'a str,
    pub version: &'a ApiVersion,
    pub operation: &'a Operation,
    pub path_params: &'a [(String, String)],
    pub query: &'a [(String, String)],
    pub body: Option<&'a Value>,
    pub idempotency_key: Option<&'a str>,
    /// The calling application's provider preferences (list operations with a
    /// `provider-field` apply them).
    pub preferences: Option<&'a ProviderPreferences>,
}

/// What to send back.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendResponse {
    pub status: StatusCode,
    /// JSON body; `None` for 204 and for [`BackendResponse::serialized`] bodies.
    pub body: Option<Value>,
    /// A success body already serialised (an item served from the read cache).
    pub serialized: Option<axum::body::Bytes>,
    /// The response of an earlier request with the same `Idempotency-Key`, sent again.
    pub replayed: bool,
}

impl BackendResponse {
    fn json(status: StatusCode, body: Value) -> Self {
        BackendResponse {
            status,
            body: Some(body),
            serialized: None,
            replayed: false,
        }
    }

    /// A Smithy-shaped error body; [`BackendResponse::into_response`] adds the `requestId`.
    fn error(error: &GatewayError) -> Self {
        let mut body = Map::new();
        body.insert("__type".into(), Value::from(error.kind.type_name()));
        body.insert("message".into(), Value::from(error.message.as_str()));
        Self::json(error.kind.status(), Value::Object(body))
    }

    fn internal() -> Self {
        Self::error(&GatewayError::new(
            ErrorKind::Internal,
            "The sandbox could not complete the request; please retry.",
        ))
    }

    /// The database is out of reach (restarting, disk full): the caller should retry.
    fn unavailable() -> Self {
        Self::error(&GatewayError::new(
            ErrorKind::ServiceUnavailable,
            "The sandbox's database is unavailable; retry in a few seconds (a create with the same Idempotency-Key).",
        ))
    }

    fn conflict(message: String) -> Self {
        Self::error(&GatewayError::new(ErrorKind::Conflict, message))
    }

    /// Whether this is [`not_found`]'s answer (the only 404 the backend gives).
    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }

    /// Whether the body is a Smithy-shaped error.
    pub fn is_error(&self) -> bool {
        self.body
            .as_ref()
            .is_some_and(|body| body.get("__type").is_some())
    }

    /// The HTTP response: JSON body (none for 204), `requestId` added to error bodies,
    /// `Cache-Control: no-store` on errors, `Idempotent-Replayed: true` on replays.
    pub fn into_response(self, request_id: &RequestId) -> Response {
        if let Some(bytes) = self.serialized {
            // Built directly: `(status, headers, Bytes)` first sets an octet-stream type to be
            // replaced. The map has room for what the gateway adds (rate-limit fields, request
            // id, version headers) without growing.
            let mut headers = axum::http::HeaderMap::with_capacity(8);
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            let mut response = Response::new(axum::body::Body::from(bytes));
            *response.status_mut() = self.status;
            *response.headers_mut() = headers;
            return response;
        }
        let is_error = self.is_error();
        let mut response = match self.body {
            Some(mut body) => {
                if is_error && let Value::Object(map) = &mut body {
                    map.insert("requestId".into(), Value::from(request_id.as_str()));
                }
                (self.status, Json(body)).into_response()
            }
            None => self.status.into_response(),
        };
        if is_error {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if self.replayed {
            response.headers_mut().insert(
                HeaderName::from_static("idempotent-replayed"),
                HeaderValue::from_static("true"),
            );
        }
        response
    }
}

/// The synthetic backend over the shared database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SyntheticBackend {
    db: Database,
    reads: Arc<ReadCaches>,
}

/// How long a read of an item may be served from memory. Writes through this process
/// invalidate at once; another process's writes (replicas on one PostgreSQL) show within this.
pub const READ_CACHE_TTL: Duration = Duration::from_secs(2);

/// In-process read caches for the hot path (single-item reads and owner lookups), so a
/// repeated GET does not cost database round trips.
struct ReadCaches {
    /// Item key → the item as `get` returns it, serialised once.
    items: TtlCache<String, axum::body::Bytes>,
    /// (version, collection, id) → the owning tenant. Owners never change.
    owners: TtlCache<String, String>,
    /// Collections known to be seeded, so lists do not ask the database every time.
    seeded: TtlCache<String, ()>,
}

impl std::fmt::Debug for ReadCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCaches")
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// The read-cache key of the item a `get` request names, in the request's version.
fn read_key(request: &BackendRequest<'_>, binding: &SandboxBinding) -> String {
    let storage = &binding.storage;
    item_key(
        storage,
        storage_tenant(storage, request.tenant),
        item_id(request, binding),
        &request.version.name,
    )
}

/// Read-cache key of one item as version `view` shows it. Joined by hand: `format!` cost
/// more than the cache lookup it serves.
fn item_key(storage: &Storage, tenant: &str, id: &str, view: &str) -> String {
    let parts = [tenant, &storage.version, &storage.name, id, view];
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            key.push('\u{1f}');
        }
        key.push_str(part);
    }
    key
}

/// The storage tenant and the value of the items' tenant field.
fn storage_tenant<'a>(storage: &Storage, tenant: &'a str) -> &'a str {
    if storage.shared {
        sandbox_data::SHARED_TENANT
    } else {
        tenant
    }
}

fn storage_key<'a>(storage: &'a Storage, tenant: &'a str) -> CollectionKey<'a> {
    CollectionKey {
        tenant_id: storage_tenant(storage, tenant),
        version: &storage.version,
        collection: &storage.name,
    }
}

/// A stored item as the binding's version shows it.
fn view_of(binding: &SandboxBinding, stored: Value) -> Result<Value, ShapeError> {
    match &binding.view {
        Some(maps) => shape::to_view(&stored, &binding.item_schema, maps),
        None => Ok(stored),
    }
}

impl SyntheticBackend {
    pub fn new(db: Database) -> Self {
        SyntheticBackend {
            db,
            reads: Arc::new(ReadCaches {
                items: TtlCache::new(100_000, READ_CACHE_TTL),
                owners: TtlCache::new(100_000, Duration::from_secs(300)),
                seeded: TtlCache::new(100_000, READ_CACHE_TTL),
            }),
        }
    }

    /// Drops the cached item in every version that shows it.
    fn forget_item(&self, request: &BackendRequest<'_>, binding: &SandboxBinding, id: &str) {
        let storage = &binding.storage;
        let tenant = storage_tenant(storage, request.tenant);
        for version in &storage.versions {
            self.reads
                .items
                .remove(&item_key(storage, tenant, id, version));
        }
    }

    /// Answers one request. Never panics; storage failures are a 500
    /// `InternalServerException` (logged).
    pub async fn handle(&self, request: BackendRequest<'_>) -> BackendResponse {
        let Some(binding) = &request.operation.sandbox else {
            return BackendResponse::error(&GatewayError::new(
                ErrorKind::ServiceUnavailable,
                format!(
                    "The sandbox has no synthetic data for {}.",
                    request.operation.operation_id
                ),
            ));
        };
        // Storage calls are boxed: their futures are large (sqlx), and kept inline they would
        // make every gateway request's future as large, to be moved at each await. A read
        // served from the cache needs no box at all.
        let outcome = match binding.behavior {
            Behavior::List => Box::pin(self.list(&request, binding)).await,
            Behavior::Get => match self.cached_item(&request, binding) {
                Some(response) => Ok(response),
                None => Box::pin(self.get(&request, binding)).await,
            },
            Behavior::Create => Box::pin(self.create(&request, binding)).await,
            Behavior::Cancel => Box::pin(self.cancel(&request, binding)).await,
            Behavior::Delete => Box::pin(self.delete(&request, binding)).await,
        };
        outcome.unwrap_or_else(|error| {
            tracing::error!(
                error = %error,
                operation = %request.operation.operation_id,
                version = %request.version.name,
                client_id = %request.client_id,
                "synthetic backend storage failure"
            );
            if error.is_unavailable() {
                BackendResponse::unavailable()
            } else {
                BackendResponse::internal()
            }
        })
    }

    /// Deletes everything the tenant created or changed, in every version; the seed data
    /// comes back on the next request.
    pub async fn reset_tenant(&self, tenant: &str) -> CoreResult<sandbox_data::ResetReport> {
        let report = sandbox_data::reset_tenant(&self.db, tenant).await?;
        self.reads.items.clear();
        self.reads.seeded.clear();
        Ok(report)
    }

    /// The item `id` of the operation's collection as `tenant` sees it (seeding first if
    /// needed), e.g. to build the Cedar resource before the backend runs. `None` when the
    /// operation has no `x-sandbox` or the tenant has no such item.
    pub async fn find_item(
        &self,
        tenant: &str,
        version: &ApiVersion,
        operation: &Operation,
        id: &str,
    ) -> CoreResult<Option<Value>> {
        let Some(binding) = &operation.sandbox else {
            return Ok(None);
        };
        let _ = version; // the binding's storage knows where the item lives
        let found = self.fetch(tenant, &binding.storage, id).await?;
        Ok(found
            .and_then(|object| serde_json::from_str(&object.body).ok())
            .and_then(|item| view_of(binding, item).ok()))
    }

    /// The tenant that owns item `id` of the binding's collection when `caller` names it
    /// (`*` for shared collections), so the gateway can give Cedar the real owner: the
    /// tenant holding it, whoever asks, except for the `seed-ids` of a per-tenant
    /// collection, which every tenant's seed data holds: the caller's own. `None` when no
    /// tenant has it (yet: a tenant's seed data exists once it touched the collection) or the
    /// lookup failed (logged).
    pub async fn owner_of(
        &self,
        binding: &SandboxBinding,
        id: &str,
        caller: &str,
    ) -> Option<String> {
        let storage = &binding.storage;
        if !storage.shared && storage.is_seed_id(id) {
            return Some(caller.to_owned());
        }
        let key = item_key(storage, "", id, "");
        if let Some(owner) = self.reads.owners.get(&key) {
            return Some(owner);
        }
        // Boxed: a cache miss only (see `handle`).
        match Box::pin(sandbox_data::owner_of(
            &self.db,
            &storage.version,
            &storage.name,
            id,
        ))
        .await
        {
            Ok(owner) => {
                if let Some(owner) = &owner {
                    self.reads.owners.insert(key, owner.clone());
                }
                owner
            }
            Err(error) => {
                tracing::error!(error = %error, "synthetic backend owner lookup failed");
                None
            }
        }
    }

    /// The seed items of a collection for a tenant as the binding's version shows them
    /// (the items stored on first use, through the version's view when it has one; every
    /// version sharing a store shows the same items).
    pub fn seed_items(tenant: &str, binding: &SandboxBinding) -> Vec<Value> {
        stored_seed_items(tenant, &binding.storage)
            .into_iter()
            .filter_map(|item| view_of(binding, item).ok())
            .collect()
    }

    /// Seeds the storage if that never happened. `true` when this call seeded it.
    async fn ensure_seeded(&self, tenant: &str, storage: &Storage) -> CoreResult<bool> {
        let key = storage_key(storage, tenant);
        let marker = item_key(storage, key.tenant_id, "", "");
        if self.reads.seeded.get(&marker).is_some() {
            return Ok(false);
        }
        if sandbox_data::is_seeded(&self.db, key).await? {
            self.reads.seeded.insert(marker, ());
            return Ok(false);
        }
        let items: Vec<(String, String)> = stored_seed_items(tenant, storage)
            .into_iter()
            .map(|item| {
                let id = item
                    .get(&storage.id_field)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                (id, item.to_string())
            })
            .collect();
        let seeded = sandbox_data::seed(&self.db, key, &items).await?;
        self.reads.seeded.insert(marker, ());
        Ok(seeded)
    }

    /// One stored item, seeding the storage first when it was never touched.
    async fn fetch(
        &self,
        tenant: &str,
        storage: &Storage,
        id: &str,
    ) -> CoreResult<Option<StoredObject>> {
        let key = storage_key(storage, tenant);
        let known_seeded = self
            .reads
            .seeded
            .get(&item_key(storage, key.tenant_id, "", ""))
            .is_some();
        if let Some(found) = sandbox_data::get(&self.db, key, id).await? {
            return Ok(Some(found));
        }
        if known_seeded {
            return Ok(None);
        }
        // Read again even when another request did the seeding: it may have committed just
        // after our first read.
        self.ensure_seeded(tenant, storage).await?;
        sandbox_data::get(&self.db, key, id).await
    }

    async fn list(
        &self,
        request: &BackendRequest<'_>,
        binding: &SandboxBinding,
    ) -> CoreResult<BackendResponse> {
        self.ensure_seeded(request.tenant, &binding.storage).await?;
        let key = storage_key(&binding.storage, request.tenant);
        let filters = equality_filters(request, binding);
        let preferences = request
            .preferences
            .filter(|p| !p.is_empty())
            .zip(binding.provider_field.as_deref());
        // `max_providers` depends on the whole list: find the chosen providers first.
        let chosen = match preferences {
            Some((prefs, field)) if prefs.max_providers.is_some() => {
                let mut providers = Vec::new();
                self.scan(key, binding, None, |item| {
                    if let Some(p) = item.get(field).and_then(Value::as_str) {
                        providers.push(p.to_owned());
                    }
                    true
                })
                .await?;
                prefs.chosen(providers.iter().map(String::as_str))
            }
            _ => None,
        };
        let matches = |item: &Value| {
            let provider_ok = match preferences {
                None => true,
                Some((prefs, field)) => match item.get(field).and_then(Value::as_str) {
                    None => prefs.allowed_providers.is_none() && prefs.max_providers.is_none(),
                    Some(provider) => {
                        prefs.permits(provider)
                            && chosen
                                .as_ref()
                                .is_none_or(|c| c.iter().any(|p| p.eq_ignore_ascii_case(provider)))
                    }
                },
            };
            provider_ok
                && filters.iter().all(|(name, wanted)| {
                    item.get(name.as_str())
                        .and_then(scalar_text)
                        .is_some_and(|have| wanted.contains(&have))
                })
        };

        match &binding.pagination {
            None => {
                let mut items = Vec::new();
                self.scan(key, binding, None, |item| {
                    if matches(&item) {
                        items.push(item);
                    }
                    true
                })
                .await?;
                Ok(BackendResponse::json(
                    request.operation.success_status,
                    Value::Array(items),
                ))
            }
            Some(Pagination::Cursor {
                cursor_param,
                limit_param,
                default_limit,
                max_limit,
                items_field,
                next_cursor_field,
            }) => {
                let after = match query_value(request.query, cursor_param) {
                    None => None,
                    Some(text) => match decode_cursor(text) {
                        Some(position) => Some(position),
                        None => {
                            let errors = [FieldError::new(
                                format!("query.{cursor_param}"),
                                "is not a cursor returned by this API",
                            )];
                            return Ok(BackendResponse::json(
                                StatusCode::BAD_REQUEST,
                                validation_error_body(&errors, None),
                            ));
                        }
                    },
                };
                let limit = page_size(request.query, limit_param, *default_limit, *max_limit);
                let mut items: Vec<(i64, String, Value)> = Vec::new();
                let mut more = false;
                self.scan_positions(
                    key,
                    binding,
                    after.as_ref().map(|(seq, id)| (*seq, id.as_str())),
                    |seq, id, item| {
                        if !matches(&item) {
                            return true;
                        }
                        if items.len() >= limit as usize {
                            more = true;
                            return false;
                        }
                        items.push((seq, id.to_owned(), item));
                        true
                    },
                )
                .await?;
                let next = match items.last() {
                    Some((seq, id, _)) if more => Value::from(encode_cursor(*seq, id)),
                    _ => Value::Null,
                };
                let mut body = Map::new();
                body.insert(
                    items_field.clone(),
                    Value::Array(items.into_iter().map(|(_, _, item)| item).collect()),
                );
                body.insert(next_cursor_field.clone(), next);
                Ok(BackendResponse::json(
                    request.operation.success_status,
                    Value::Object(body),
                ))
            }
            Some(Pagination::Page {
                page_param,
                size_param,
                default_size,
                max_size,
                items_field,
                total_field,
            }) => {
                let page = query_value(request.query, page_param)
                    .and_then(|p| p.parse::<u64>().ok())
                    .unwrap_or(1)
                    .max(1);
                let size = page_size(request.query, size_param, *default_size, *max_size);
                let skip = (page - 1).saturating_mul(u64::from(size));
                let mut total: u64 = 0;
                let mut items = Vec::new();
                self.scan(key, binding, None, |item| {
                    if matches(&item) {
                        if total >= skip && items.len() < size as usize {
                            items.push(item);
                        }
                        total += 1;
                    }
                    true
                })
                .await?;
                let mut body = Map::new();
                body.insert(items_field.clone(), Value::Array(items));
                body.insert(page_param.clone(), Value::from(page));
                body.insert(size_param.clone(), Value::from(size));
                if let Some(field) = total_field {
                    body.insert(field.clone(), Value::from(total));
                }
                Ok(BackendResponse::json(
                    request.operation.success_status,
                    Value::Object(body),
                ))
            }
        }
    }

    /// Visits the collection's items in order, as the binding's version shows them, until
    /// `visit` returns false.
    async fn scan(
        &self,
        key: CollectionKey<'_>,
        binding: &SandboxBinding,
        after: Option<(i64, &str)>,
        mut visit: impl FnMut(Value) -> bool,
    ) -> CoreResult<()> {
        self.scan_positions(key, binding, after, |_, _, item| visit(item))
            .await
    }

    async fn scan_positions(
        &self,
        key: CollectionKey<'_>,
        binding: &SandboxBinding,
        after: Option<(i64, &str)>,
        mut visit: impl FnMut(i64, &str, Value) -> bool,
    ) -> CoreResult<()> {
        let mut position: Option<(i64, String)> = after.map(|(seq, id)| (seq, id.to_owned()));
        loop {
            let chunk = sandbox_data::scan(
                &self.db,
                key,
                position.as_ref().map(|(seq, id)| (*seq, id.as_str())),
                SCAN_CHUNK,
            )
            .await?;
            let full = chunk.len() == SCAN_CHUNK as usize;
            for object in &chunk {
                let Ok(item) = serde_json::from_str::<Value>(&object.body) else {
                    tracing::warn!(id = %object.id, "unreadable sandbox object skipped");
                    continue;
                };
                let item = match view_of(binding, item) {
                    Ok(item) => item,
                    Err(error) => {
                        tracing::warn!(id = %object.id, %error, "sandbox object without a view skipped");
                        continue;
                    }
                };
                if !visit(object.seq, &object.id, item) {
                    return Ok(());
                }
            }
            match chunk.last() {
                Some(last) if full => position = Some((last.seq, last.id.clone())),
                _ => return Ok(()),
            }
        }
    }

    /// A `get` answered from the read cache, if it can be.
    fn cached_item(
        &self,
        request: &BackendRequest<'_>,
        binding: &SandboxBinding,
    ) -> Option<BackendResponse> {
        let bytes = self.reads.items.get(&read_key(request, binding))?;
        Some(BackendResponse {
            status: request.operation.success_status,
            body: None,
            serialized: Some(bytes),
            replayed: false,
        })
    }

    /// A `get` from storage (after [`Self::cached_item`] missed); fills the read cache.
    async fn get(
        &self,
        request: &BackendRequest<'_>,
        binding: &SandboxBinding,
    ) -> CoreResult<BackendResponse> {
        let id = item_id(request, binding);
        let storage = &binding.storage;
        let key = read_key(request, binding);
        let Some(object) = self.fetch(request.tenant, storage, id).await? else {
            return Ok(not_found(binding, id));
        };
        let Ok(item) = serde_json::from_str::<Value>(&object.body) else {
            return Ok(BackendResponse::internal());
        };
        if binding.view.is_none() {
            // The stored text is the item's JSON: cache it as the response body.
            self.reads
                .items
                .insert(key, axum::body::Bytes::from(object.body));
            return Ok(BackendResponse::json(
                request.operation.success_status,
                item,
            ));
        }
        match view_of(binding, item) {
            Ok(item) => {
                self.reads
                    .items
                    .insert(key, axum::body::Bytes::from(item.to_string()));
                Ok(BackendResponse::json(
                    request.operation.success_status,
                    item,
                ))
            }
            Err(error) => {
                tracing::error!(%error, id, "stored sandbox item does not fit the version's view");
                Ok(BackendResponse::internal())
            }
        }
    }

    async fn create(
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

    async fn cancel(
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

    async fn delete(
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

/// The stored items a storage is seeded with for a tenant: generated from the stored
/// schema with a generator seeded by (storage tenant, storage version, storage name,
/// index), the last ones under the `seed-ids` (with their values), then the `seed-values`,
/// the lookups (each element names a seed item of the target, picked by the same
/// generator, and takes its `set` fields), the computed fields, id and tenant. A pure
/// function of the tenant and the model.
fn stored_seed_items(tenant: &str, storage: &Storage) -> Vec<Value> {
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

/// How many elements a lookup fills: its `each` array's length, or 1 (the item itself).
fn lookup_count(item: &Value, lookup: &Lookup) -> usize {
    match &lookup.each {
        Some(each) => shape::get_path(item, each)
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        None => 1,
    }
}

/// The element a lookup fills at `index` (or the item itself).
fn lookup_element_mut<'v>(
    item: &'v mut Value,
    lookup: &Lookup,
    index: usize,
) -> Option<&'v mut Value> {
    match &lookup.each {
        Some(each) => shape::get_path_mut(item, each).and_then(|list| list.get_mut(index)),
        None => Some(item),
    }
}

/// Copies the lookup's `set` fields from the item it found into the element.
fn copy_lookup_fields(element: &mut Value, lookup: &Lookup, found: &Value) {
    for (to, from) in &lookup.set {
        if let Some(value) = shape::get_path(found, from) {
            shape::set_path(element, to, value.clone());
        }
    }
}

fn item_id<'a>(request: &BackendRequest<'a>, binding: &SandboxBinding) -> &'a str {
    binding
        .id_param
        .as_deref()
        .and_then(|name| request.path_params.iter().find(|(param, _)| param == name))
        .map(|(_, value)| value.as_str())
        .unwrap_or_default()
}

/// The one answer for an addressed object the caller's tenant does not hold: 404
/// `NotFoundException` "Order X does not exist." (the binding's resource name). Used alike for
/// an id that exists nowhere (this backend) and for another tenant's object (the gateway, once
/// Cedar refused it), so the two cannot be told apart: whether an id exists in another tenant
/// is not the caller's business. The backend answers no other 404 (see
/// [`BackendResponse::is_not_found`]).
pub fn not_found(binding: &SandboxBinding, id: &str) -> BackendResponse {
    BackendResponse::error(&GatewayError::not_found(format!(
        "{} {id} does not exist.",
        binding.resource.type_name()
    )))
}

/// The request-log reason (`step: why`) recorded with [`not_found`]'s answer, for either
/// cause, in the caller's words. Without the id: calls alike share one request-log context.
pub fn not_found_reason(binding: &SandboxBinding) -> Arc<str> {
    format!(
        "{NOT_FOUND_STEP}: No {} with this id exists for your organisation.",
        binding.resource.type_name()
    )
    .into()
}

/// The step a [`not_found_reason`] names.
pub const NOT_FOUND_STEP: &str = "not_found";

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

/// `(property, accepted values)` for query parameters that name item properties (pagination
/// parameters excluded).
fn equality_filters(
    request: &BackendRequest<'_>,
    binding: &SandboxBinding,
) -> Vec<(String, Vec<String>)> {
    let Some(properties) = binding
        .item_schema
        .get("properties")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let paging: Vec<&str> = match &binding.pagination {
        Some(Pagination::Cursor {
            cursor_param,
            limit_param,
            ..
        }) => vec![cursor_param, limit_param],
        Some(Pagination::Page {
            page_param,
            size_param,
            ..
        }) => vec![page_param, size_param],
        None => Vec::new(),
    };
    request
        .operation
        .parameters
        .iter()
        .filter(|p| {
            p.location == ParamLocation::Query
                && !paging.contains(&p.name.as_str())
                && properties.contains_key(&p.name)
        })
        .filter_map(|p| {
            let values: Vec<String> = request
                .query
                .iter()
                .filter(|(name, _)| *name == p.name)
                .flat_map(|(_, value)| {
                    if p.explode {
                        vec![value.clone()]
                    } else {
                        value.split(',').map(str::to_owned).collect()
                    }
                })
                .collect();
            (!values.is_empty()).then(|| (p.name.clone(), values))
        })
        .collect()
}

/// A scalar's text for comparisons with query values.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn page_size(query: &[(String, String)], name: &str, default: u32, max: u32) -> u32 {
    query_value(query, name)
        .and_then(|text| text.parse::<u32>().ok())
        .unwrap_or(default)
        .clamp(1, max.max(1))
}

/// An opaque cursor: the position (seq, id) of the last item returned.
fn encode_cursor(seq: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{seq}:{id}"))
}

fn decode_cursor(text: &str) -> Option<(i64, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (seq, id) = text.split_once(':')?;
    Some((seq.parse().ok()?, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = encode_cursor(42, "ord_01abc");
        assert_eq!(decode_cursor(&cursor), Some((42, "ord_01abc".to_owned())));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("x:y")), None);
    }

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
