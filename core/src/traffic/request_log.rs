//! The gateway's request log: one record per API call, for the partner's own logs and usage
//! and for the audit trail. Records are written in batches by the gateway's audit writer.

use crate::{CoreResult, Database};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

/// One gateway request, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    pub request_id: String,
    /// Milliseconds since the unix epoch.
    pub occurred_at_ms: i64,
    pub stage: &'static str,
    // The caller's, operation's and version's names are shared with the verified token and
    // the API model rather than copied: a copy per request cost an allocation on the request
    // path and, read back by the writer 200 ms later, a cache miss per field.
    pub client_id: Option<Arc<str>>,
    pub partner_id: Option<Arc<str>>,
    pub scopes: Option<Arc<str>>,
    /// Shared rather than copied: the record is built on every gateway request.
    pub method: std::borrow::Cow<'static, str>,
    /// The route template (or `unmatched`), never the raw path.
    pub route: Arc<str>,
    pub action: Option<Arc<str>>,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// Why a request was denied (the failed step), or the policies that allowed it.
    /// Shared: an allowed request's reason is its cached Cedar decision's explanation.
    pub reason: Option<Arc<str>>,
    pub status: u16,
    pub latency_us: i64,
    pub version: Option<Arc<str>>,
    /// Written out by the writer, off the request path.
    pub client_ip: Option<IpAddr>,
}

/// What one application's calls of one operation with one outcome have in common: stored once
/// in `request_context` and referred to by id from each call's `request_log_entry` row.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
struct Context<'a> {
    stage: &'a str,
    client_id: Option<&'a str>,
    scopes: Option<&'a str>,
    route: &'a str,
    action: Option<&'a str>,
    decision: &'a str,
    reason: Option<&'a str>,
    version: Option<&'a str>,
}

impl<'a> Context<'a> {
    fn of(r: &'a RequestRecord) -> Self {
        Self {
            stage: r.stage,
            client_id: r.client_id.as_deref(),
            scopes: r.scopes.as_deref(),
            route: &r.route,
            action: r.action.as_deref(),
            decision: r.decision,
            reason: r.reason.as_deref(),
            version: r.version.as_deref(),
        }
    }

    fn fields(&self) -> [Option<&'a str>; 8] {
        [
            Some(self.stage),
            self.client_id,
            self.scopes,
            Some(self.route),
            self.action,
            Some(self.decision),
            self.reason,
            self.version,
        ]
    }

    /// The context's id, derived from its fields: the same in every process and after every
    /// restart, so writers agree on it without asking the database. Non-negative (migrated
    /// rows use negative ids); with 63 bits of SHA-256, even a million distinct contexts
    /// share an id with a probability below 10^-7.
    fn id(&self) -> i64 {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for field in self.fields() {
            // Length-prefixed, with absent distinct from empty: no two field lists encode alike.
            match field {
                None => hash.update([0]),
                Some(text) => {
                    hash.update([1]);
                    hash.update((text.len() as u64).to_le_bytes());
                    hash.update(text.as_bytes());
                }
            }
        }
        let digest = hash.finalize();
        let mut first = [0_u8; 8];
        first.copy_from_slice(&digest[..8]);
        i64::from_le_bytes(first) & i64::MAX
    }
}

/// A batch's distinct contexts (fields → id) and each record's context id, in order.
struct Grouped<'a> {
    contexts: std::collections::HashMap<Context<'a>, i64, crate::cache::FastHash>,
    context_ids: Vec<i64>,
}

fn group(records: &[RequestRecord]) -> Grouped<'_> {
    let mut contexts = std::collections::HashMap::default();
    let context_ids = records
        .iter()
        .map(|r| {
            let context = Context::of(r);
            *contexts.entry(context).or_insert_with(|| context.id())
        })
        .collect();
    Grouped {
        contexts,
        context_ids,
    }
}

const CONTEXT_COLUMNS: usize = 9;
const ENTRY_COLUMNS: usize = 8;
/// Rows per INSERT statement on the pool: one round trip for many records (8 bind parameters
/// each, well under SQLite's and PostgreSQL's parameter limits).
const ROWS_PER_STATEMENT: usize = 400;

/// `INSERT … VALUES (…), (…)` with `rows` rows of `columns` placeholders, written out per
/// engine: sqlx's QueryBuilder emits `?` for the Any driver, which PostgreSQL refuses; SQLite
/// binds `?` positionally, while `$n` costs a name lookup per parameter.
fn insert_sql(head: &str, rows: usize, columns: usize, numbered: bool, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + rows * columns * 4 + tail.len());
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push(',');
            }
            if numbered {
                let _ = write!(sql, "${}", row * columns + column + 1);
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

const INSERT_CONTEXT_HEAD: &str = "INSERT INTO request_context (id, stage, client_id, scopes, \
     route, action, decision, reason, version)";
/// A context another batch (or process) already stored is left as it is: same id, same fields.
const INSERT_CONTEXT_TAIL: &str = " ON CONFLICT (id) DO NOTHING";
const INSERT_ENTRY_HEAD: &str = "INSERT INTO request_log_entry (request_id, occurred_at, \
     context_id, partner_id, method, status, latency_us, client_ip)";

/// Writes a batch in one transaction: its new contexts, then many entries per statement.
pub async fn insert_batch(db: &Database, records: &[RequestRecord]) -> CoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let numbered = db.backend() == crate::Backend::Postgres;
    let grouped = group(records);
    let mut tx = db.begin_write().await?;
    let insert_context = insert_sql(
        INSERT_CONTEXT_HEAD,
        1,
        CONTEXT_COLUMNS,
        numbered,
        INSERT_CONTEXT_TAIL,
    );
    for (c, id) in &grouped.contexts {
        let mut insert = sqlx::query(&insert_context).bind(*id);
        for field in c.fields() {
            insert = insert.bind(field);
        }
        insert.execute(&mut *tx).await?;
    }
    for (chunk, ids) in records
        .chunks(ROWS_PER_STATEMENT)
        .zip(grouped.context_ids.chunks(ROWS_PER_STATEMENT))
    {
        let sql = insert_sql(INSERT_ENTRY_HEAD, chunk.len(), ENTRY_COLUMNS, numbered, "");
        let mut insert = sqlx::query(&sql);
        for (r, context_id) in chunk.iter().zip(ids) {
            insert = insert
                .bind(r.request_id.as_str())
                .bind(r.occurred_at_ms)
                .bind(*context_id)
                .bind(r.partner_id.as_deref())
                .bind(r.method.as_ref())
                .bind(i64::from(r.status))
                .bind(r.latency_us)
                .bind(r.client_ip.map(|ip| ip.to_string()));
        }
        insert.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The request log's writer on SQLite: its own connection, used from one blocking thread, with
/// prepared INSERTs bound straight from the records. Through sqlx every value was converted
/// twice and copied to the connection's worker thread, which cost more than SQLite's own work
/// (a profile of the gateway benchmark put that path at ~20 % of the process's CPU).
pub struct SqliteLogWriter {
    conn: rusqlite::Connection,
}

impl std::fmt::Debug for SqliteLogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteLogWriter")
    }
}

/// Entries per multi-row INSERT on SQLite (8 parameters each: 800, far below SQLite's limit).
const SQLITE_ROWS_PER_STATEMENT: usize = 100;

static SQLITE_INSERT_CONTEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    insert_sql(
        INSERT_CONTEXT_HEAD,
        1,
        CONTEXT_COLUMNS,
        false,
        INSERT_CONTEXT_TAIL,
    )
});
static SQLITE_INSERT_ENTRY: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| insert_sql(INSERT_ENTRY_HEAD, 1, ENTRY_COLUMNS, false, ""));
static SQLITE_INSERT_ENTRIES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    insert_sql(
        INSERT_ENTRY_HEAD,
        SQLITE_ROWS_PER_STATEMENT,
        ENTRY_COLUMNS,
        false,
        "",
    )
});

/// The text of the last client address written: calls come in runs from one client, and
/// formatting an address is a visible part of the writer's work.
#[derive(Default)]
struct LastAddress(Option<(IpAddr, String)>);

impl LastAddress {
    fn text(&mut self, ip: Option<IpAddr>) -> Option<&str> {
        let ip = ip?;
        if !matches!(&self.0, Some((last, _)) if *last == ip) {
            self.0 = Some((ip, ip.to_string()));
        }
        self.0.as_ref().map(|(_, text)| text.as_str())
    }
}

/// Binds one record's entry values from parameter `index` on.
fn bind_entry(
    statement: &mut rusqlite::Statement<'_>,
    index: &mut usize,
    r: &RequestRecord,
    context_id: i64,
    address: &mut LastAddress,
) -> rusqlite::Result<()> {
    let client_ip = address.text(r.client_ip);
    let values: [&dyn rusqlite::ToSql; ENTRY_COLUMNS] = [
        &r.request_id,
        &r.occurred_at_ms,
        &context_id,
        &r.partner_id.as_deref(),
        &r.method.as_ref(),
        &i64::from(r.status),
        &r.latency_us,
        &client_ip,
    ];
    for value in values {
        statement.raw_bind_parameter(*index, value)?;
        *index += 1;
    }
    Ok(())
}

impl SqliteLogWriter {
    /// Opens the database file (WAL mode is already set by [`Database::connect`]).
    pub fn open(path: &std::path::Path) -> CoreResult<Self> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // The same durability as the pool: a committed batch survives a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(Self { conn })
    }

    /// Writes a batch in one `BEGIN IMMEDIATE` transaction. Blocking: call it off the runtime.
    pub fn insert_batch(&mut self, records: &[RequestRecord]) -> CoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let grouped = group(records);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(&SQLITE_INSERT_CONTEXT)?;
            for (c, id) in &grouped.contexts {
                insert.raw_bind_parameter(1, id)?;
                for (index, field) in c.fields().into_iter().enumerate() {
                    insert.raw_bind_parameter(index + 2, field)?;
                }
                insert.raw_execute()?;
            }
            // Many rows per statement: SQLite's per-statement work (reset, bind setup, halt)
            // is paid once per chunk instead of once per row.
            let mut address = LastAddress::default();
            let mut chunks = records.chunks_exact(SQLITE_ROWS_PER_STATEMENT);
            let mut ids = grouped.context_ids.chunks_exact(SQLITE_ROWS_PER_STATEMENT);
            if records.len() >= SQLITE_ROWS_PER_STATEMENT {
                let mut insert = tx.prepare_cached(&SQLITE_INSERT_ENTRIES)?;
                for (chunk, ids) in chunks.by_ref().zip(ids.by_ref()) {
                    let mut index = 1;
                    for (r, id) in chunk.iter().zip(ids) {
                        bind_entry(&mut insert, &mut index, r, *id, &mut address)?;
                    }
                    insert.raw_execute()?;
                }
            }
            let rest = chunks.remainder();
            if !rest.is_empty() {
                let mut insert = tx.prepare_cached(&SQLITE_INSERT_ENTRY)?;
                for (r, id) in rest.iter().zip(ids.remainder()) {
                    let mut index = 1;
                    bind_entry(&mut insert, &mut index, r, *id, &mut address)?;
                    insert.raw_execute()?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// A partner's most recent requests, newest first.
pub async fn recent_for_partner(
    db: &Database,
    partner_id: &str,
    limit: i64,
) -> CoreResult<Vec<(String, String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT request_id, method, route, status FROM request_log WHERE partner_id = $1 \
         ORDER BY occurred_at DESC, request_id DESC LIMIT $2",
    )
    .bind(partner_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// How many records exist (for tests and metrics).
pub async fn count(db: &Database) -> CoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM request_log")
        .fetch_one(db.pool())
        .await?)
}
/// Rows one purge statement deletes at most (ties on the cut-off millisecond aside): each
/// batch is its own short transaction, so writers wait at most one batch.
pub const PURGE_BATCH: i64 = 5_000;

/// Deletes the calls that happened before `before_ms`, oldest first, in batches of
/// [`PURGE_BATCH`] (retention). Returns how many were deleted.
pub async fn purge_before(db: &Database, before_ms: i64) -> CoreResult<u64> {
    // Contexts of rows migrated from the old table (negative ids) go with their rows.
    sqlx::query(
        "DELETE FROM request_context WHERE id < 0 AND id IN \
         (SELECT context_id FROM request_log_entry WHERE occurred_at < $1 AND context_id < 0)",
    )
    .bind(before_ms)
    .execute(db.pool())
    .await?;
    let mut purged = 0;
    loop {
        // The time of the PURGE_BATCH-th oldest row to go: everything up to it goes now.
        let edge: Option<(i64,)> = sqlx::query_as(
            "SELECT occurred_at FROM request_log_entry WHERE occurred_at < $1 \
             ORDER BY occurred_at LIMIT 1 OFFSET $2",
        )
        .bind(before_ms)
        .bind(PURGE_BATCH - 1)
        .fetch_optional(db.pool())
        .await?;
        let until = edge.map_or(before_ms, |(at,)| (at + 1).min(before_ms));
        let deleted = sqlx::query("DELETE FROM request_log_entry WHERE occurred_at < $1")
            .bind(until)
            .execute(db.pool())
            .await?
            .rows_affected();
        purged += deleted;
        if edge.is_none() || deleted == 0 {
            return Ok(purged);
        }
        // Let the writers in between batches.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
