//! Storage of the sandbox's synthetic data (table layout in
//! `migrations/20261125000003_sandbox_data.sql`).
//!
//! - **Objects** per (tenant, API version, collection, id): the JSON body as text, an insertion
//!   sequence (`seq`) for stable ordering and list cursors, and a `revision` for
//!   compare-and-swap updates. Shared collections use the tenant id [`SHARED_TENANT`]; a store
//!   shared by several API versions uses the version [`ALL_VERSIONS`] and the store's name as
//!   the collection (version names never contain `*`, so the two cannot meet).
//! - **Seeded markers** per (tenant, version, collection): the seed data was generated once.
//! - **Idempotency records** per (tenant, API version, key): the request hash and the response
//!   that was sent. Always the version the request came through, even when the object went to
//!   a store shared by versions ([`NewIdempotency::version`]).
//!
//! [`reset_tenant`] deletes all three for one tenant so the seed data comes back. Everything
//! here is plain SQL over the `Any` pool and behaves the same on SQLite and PostgreSQL.

use crate::clock;
use crate::{CoreResult, Database};

pub use crate::authz::SHARED_TENANT;

/// The `version` of a collection shared by every API version that names its store.
pub const ALL_VERSIONS: &str = "*";

/// Which collection: the tenant it belongs to (or [`SHARED_TENANT`]), the API version and the
/// collection name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CollectionKey<'a> {
    pub tenant_id: &'a str,
    pub version: &'a str,
    pub collection: &'a str,
}

/// One stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub id: String,
    /// Position in the collection (ties, from concurrent inserts, are ordered by `id`).
    pub seq: i64,
    /// Starts at 1, incremented by every [`update`].
    pub revision: i64,
    /// The JSON document.
    pub body: String,
}

/// A recorded response for an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// Hex SHA-256 of the request the key was first used with.
    pub request_hash: String,
    pub status: u16,
    pub body: Option<String>,
}

/// The idempotency record to store along with a new object.
#[derive(Clone, Copy, Debug)]
pub struct NewIdempotency<'a> {
    /// The API version of the request (keys are per version, whatever the storage).
    pub version: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
    pub status: u16,
    pub body: Option<&'a str>,
}

/// What [`insert`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted(StoredObject),
    /// The idempotency key was already used (perhaps by a concurrent request): nothing was
    /// inserted; here is the first use's record.
    KeyUsed(StoredResponse),
}

/// An event a change emits: written to the webhook outbox in the change's transaction.
#[derive(Clone, Copy, Debug)]
pub struct ChangeEvent<'a> {
    pub event_type: &'a str,
    /// The `data` of the event (the object as the caller's API version shows it).
    pub data: &'a serde_json::Value,
}

async fn emit(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    events: &[ChangeEvent<'_>],
) -> CoreResult<()> {
    for event in events {
        crate::webhooks::enqueue_in(conn, tenant_id, event.event_type, event.data).await?;
    }
    Ok(())
}

/// How many rows [`reset_tenant`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResetReport {
    pub objects: u64,
    pub seeded_markers: u64,
    pub idempotency_records: u64,
}

type ObjectRow = (String, i64, i64, String);

fn object((id, seq, revision, body): ObjectRow) -> StoredObject {
    StoredObject {
        id,
        seq,
        revision,
        body,
    }
}

/// Whether the collection's seed data has been generated.
pub async fn is_seeded(db: &Database, key: CollectionKey<'_>) -> CoreResult<bool> {
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT seeded_at FROM sandbox_seeded WHERE tenant_id = $1 AND version = $2 AND collection = $3",
    )
    .bind(key.tenant_id)
    .bind(key.version)
    .bind(key.collection)
    .fetch_optional(db.pool())
    .await?;
    Ok(found.is_some())
}

/// Stores the seed items `(id, body)` with `seq` 1, 2, … and marks the collection seeded, in
/// one transaction. Returns `false` (and stores nothing) when the collection was already
/// seeded, e.g. by a concurrent request or another process.
pub async fn seed(
    db: &Database,
    key: CollectionKey<'_>,
    items: &[(String, String)],
) -> CoreResult<bool> {
    let now = clock::now();
    let mut tx = db.begin_write().await?;
    let marked = sqlx::query(
        "INSERT INTO sandbox_seeded (tenant_id, version, collection, seeded_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(key.tenant_id)
    .bind(key.version)
    .bind(key.collection)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if marked == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    for (seq, (id, body)) in (1_i64..).zip(items) {
        sqlx::query(
            "INSERT INTO sandbox_objects \
             (tenant_id, version, collection, id, seq, revision, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7) ON CONFLICT DO NOTHING",
        )
        .bind(key.tenant_id)
        .bind(key.version)
        .bind(key.collection)
        .bind(id)
        .bind(seq)
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// One object by id.
pub async fn get(
    db: &Database,
    key: CollectionKey<'_>,
    id: &str,
) -> CoreResult<Option<StoredObject>> {
    let row: Option<ObjectRow> = sqlx::query_as(
        "SELECT id, seq, revision, body FROM sandbox_objects \
         WHERE tenant_id = $1 AND version = $2 AND collection = $3 AND id = $4",
    )
    .bind(key.tenant_id)
    .bind(key.version)
    .bind(key.collection)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(object))
}

/// The tenant holding object `id` of a collection, across all tenants (ids are unique in
/// practice: 128 random bits or time-ordered), e.g. to give Cedar the real owner.
pub async fn owner_of(
    db: &Database,
    version: &str,
    collection: &str,
    id: &str,
) -> CoreResult<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT tenant_id FROM sandbox_objects WHERE version = $1 AND collection = $2 AND id = $3 \
         ORDER BY tenant_id LIMIT 1",
    )
    .bind(version)
    .bind(collection)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(tenant,)| tenant))
}

/// Up to `limit` objects in collection order, starting after the object at `after`
/// (`(seq, id)`, e.g. from a cursor) or at the beginning.
pub async fn scan(
    db: &Database,
    key: CollectionKey<'_>,
    after: Option<(i64, &str)>,
    limit: u32,
) -> CoreResult<Vec<StoredObject>> {
    let limit = i64::from(limit);
    let rows: Vec<ObjectRow> = match after {
        None => {
            sqlx::query_as(
                "SELECT id, seq, revision, body FROM sandbox_objects \
                 WHERE tenant_id = $1 AND version = $2 AND collection = $3 \
                 ORDER BY seq, id LIMIT $4",
            )
            .bind(key.tenant_id)
            .bind(key.version)
            .bind(key.collection)
            .bind(limit)
            .fetch_all(db.pool())
            .await?
        }
        Some((seq, id)) => {
            sqlx::query_as(
                "SELECT id, seq, revision, body FROM sandbox_objects \
                 WHERE tenant_id = $1 AND version = $2 AND collection = $3 \
                 AND (seq > $4 OR (seq = $4 AND id > $5)) \
                 ORDER BY seq, id LIMIT $6",
            )
            .bind(key.tenant_id)
            .bind(key.version)
            .bind(key.collection)
            .bind(seq)
            .bind(id)
            .bind(limit)
            .fetch_all(db.pool())
            .await?
        }
    };
    Ok(rows.into_iter().map(object).collect())
}

/// How many objects the collection holds.
pub async fn count(db: &Database, key: CollectionKey<'_>) -> CoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM sandbox_objects WHERE tenant_id = $1 AND version = $2 AND collection = $3",
    )
    .bind(key.tenant_id)
    .bind(key.version)
    .bind(key.collection)
    .fetch_one(db.pool())
    .await?;
    Ok(n)
}

/// Adds an object at the end of the collection. With `idempotency`, the record is stored in
/// the same transaction, and when the key was already used (by this tenant, in the record's
/// version) nothing is inserted and the first use's record comes back instead. `events` go to
/// the webhook outbox in the same transaction.
pub async fn insert(
    db: &Database,
    key: CollectionKey<'_>,
    id: &str,
    body: &str,
    idempotency: Option<NewIdempotency<'_>>,
    events: &[ChangeEvent<'_>],
) -> CoreResult<InsertOutcome> {
    let now = clock::now();
    let mut tx = db.begin_write().await?;
    if let Some(record) = idempotency {
        // First statement of the transaction is a write: SQLite takes its write lock here, and
        // a concurrent PostgreSQL transaction with the same key waits for ours to finish.
        let stored = sqlx::query(
            "INSERT INTO sandbox_idempotency \
             (tenant_id, version, idempotency_key, request_hash, status, response_body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(key.tenant_id)
        .bind(record.version)
        .bind(record.key)
        .bind(record.request_hash)
        .bind(i64::from(record.status))
        .bind(record.body)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if stored == 0 {
            let existing =
                read_idempotency(&mut tx, key.tenant_id, record.version, record.key).await?;
            tx.rollback().await?;
            return match existing {
                Some(existing) => Ok(InsertOutcome::KeyUsed(existing)),
                // Deleted between the two statements (a reset): let the caller retry.
                None => Err(crate::CoreError::Conflict(
                    "the idempotency record changed concurrently; retry the request".into(),
                )),
            };
        }
    }
    let (seq,): (i64,) = sqlx::query_as(
        "INSERT INTO sandbox_objects \
         (tenant_id, version, collection, id, seq, revision, body, created_at, updated_at) \
         SELECT $1, $2, $3, $4, COALESCE(MAX(seq), 0) + 1, 1, $5, $6, $6 FROM sandbox_objects \
         WHERE tenant_id = $1 AND version = $2 AND collection = $3 \
         RETURNING seq",
    )
    .bind(key.tenant_id)
    .bind(key.version)
    .bind(key.collection)
    .bind(id)
    .bind(body)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    emit(&mut tx, key.tenant_id, events).await?;
    tx.commit().await?;
    Ok(InsertOutcome::Inserted(StoredObject {
        id: id.to_owned(),
        seq,
        revision: 1,
        body: body.to_owned(),
    }))
}

/// Replaces an object's body if it is still at `expected_revision` (compare-and-swap), with
/// `events` going to the webhook outbox in the same transaction. Returns `false` (and emits
/// nothing) when the object changed or disappeared in the meantime.
pub async fn update(
    db: &Database,
    key: CollectionKey<'_>,
    id: &str,
    expected_revision: i64,
    body: &str,
    events: &[ChangeEvent<'_>],
) -> CoreResult<bool> {
    let mut tx = db.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE sandbox_objects SET body = $1, revision = revision + 1, updated_at = $2 \
         WHERE tenant_id = $3 AND version = $4 AND collection = $5 AND id = $6 AND revision = $7",
    )
    .bind(body)
    .bind(clock::now())
    .bind(key.tenant_id)
    .bind(key.version)
    .bind(key.collection)
    .bind(id)
    .bind(expected_revision)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    emit(&mut tx, key.tenant_id, events).await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes an object; `false` when there was none.
pub async fn delete(db: &Database, key: CollectionKey<'_>, id: &str) -> CoreResult<bool> {
    let deleted = sqlx::query(
        "DELETE FROM sandbox_objects WHERE tenant_id = $1 AND version = $2 AND collection = $3 AND id = $4",
    )
    .bind(key.tenant_id)
    .bind(key.version)
    .bind(key.collection)
    .bind(id)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(deleted > 0)
}

/// The record of an idempotency key, if it was used.
pub async fn find_idempotency(
    db: &Database,
    tenant_id: &str,
    version: &str,
    idempotency_key: &str,
) -> CoreResult<Option<StoredResponse>> {
    let mut conn = db.pool().acquire().await?;
    read_idempotency(&mut conn, tenant_id, version, idempotency_key).await
}

async fn read_idempotency(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    version: &str,
    idempotency_key: &str,
) -> CoreResult<Option<StoredResponse>> {
    let row: Option<(String, i64, Option<String>)> = sqlx::query_as(
        "SELECT request_hash, status, response_body FROM sandbox_idempotency \
         WHERE tenant_id = $1 AND version = $2 AND idempotency_key = $3",
    )
    .bind(tenant_id)
    .bind(version)
    .bind(idempotency_key)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(request_hash, status, body)| StoredResponse {
        request_hash,
        status: u16::try_from(status).unwrap_or(500),
        body,
    }))
}

/// Forgets idempotency records created before `before` (unix seconds), for a periodic job
/// (keys are usually honoured for 24 hours). Returns how many were deleted.
pub async fn purge_idempotency(db: &Database, before: clock::UnixTime) -> CoreResult<u64> {
    Ok(
        sqlx::query("DELETE FROM sandbox_idempotency WHERE created_at < $1")
            .bind(before)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}

/// Deletes everything the tenant's sandbox holds (objects, seeded markers, idempotency
/// records), in one transaction: the next request sees fresh seed data. Shared collections
/// ([`SHARED_TENANT`]) are not touched.
pub async fn reset_tenant(db: &Database, tenant_id: &str) -> CoreResult<ResetReport> {
    let mut tx = db.begin_write().await?;
    let mut report = ResetReport::default();
    for (table, slot) in [
        ("sandbox_seeded", &mut report.seeded_markers),
        ("sandbox_objects", &mut report.objects),
        ("sandbox_idempotency", &mut report.idempotency_records),
    ] {
        *slot = sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1"))
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(report)
}
