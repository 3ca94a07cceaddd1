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
mod list;
mod providers;
mod seed;
mod shape;
mod write;

pub use providers::{ProviderPreferences, filter_by_provider, filter_packages};

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portico_core::cache::TtlCache;
use portico_core::request_id::RequestId;
use portico_core::sandbox_data::{self, CollectionKey, StoredObject};
use portico_core::{CoreResult, Database};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{ErrorKind, GatewayError};
use crate::model::stores::{Lookup, Storage};
use crate::model::{ApiVersion, Behavior, Operation, SandboxBinding};

use seed::stored_seed_items;
use shape::ShapeError;
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

/// A scalar's text for comparisons with query values.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
