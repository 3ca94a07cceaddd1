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

/// Rows per INSERT statement: one round trip to the database for many records (15 bind
/// parameters each, well under SQLite's and PostgreSQL's parameter limits).
const ROWS_PER_STATEMENT: usize = 200;
const COLUMNS: usize = 15;

/// Writes a batch in one transaction, many rows per statement.
pub async fn insert_batch(db: &Database, records: &[RequestRecord]) -> CoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let numbered = db.backend() == crate::Backend::Postgres;
    let mut tx = db.begin_write().await?;
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        // Placeholders written out per engine: sqlx's QueryBuilder emits `?` for the Any
        // driver, which PostgreSQL refuses; SQLite binds `?` positionally, while `$n` costs a
        // name lookup per parameter (3,200 per statement here).
        let mut sql = String::from(
            "INSERT INTO request_log (request_id, occurred_at, stage, client_id, partner_id, scopes, method, \
             route, action, decision, reason, status, latency_us, version, client_ip) VALUES ",
        );
        for row in 0..chunk.len() {
            if row > 0 {
                sql.push(',');
            }
            sql.push('(');
            for column in 0..COLUMNS {
                if column > 0 {
                    sql.push(',');
                }
                if numbered {
                    let _ = write!(sql, "${}", row * COLUMNS + column + 1);
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        let mut insert = sqlx::query(&sql);
        for r in chunk {
            insert = insert
                .bind(r.request_id.as_str())
                .bind(r.occurred_at_ms)
                .bind(r.stage)
                .bind(r.client_id.as_deref())
                .bind(r.partner_id.as_deref())
                .bind(r.scopes.as_deref())
                .bind(r.method.as_ref())
                .bind(r.route.as_ref())
                .bind(r.action.as_deref())
                .bind(r.decision)
                .bind(r.reason.as_deref())
                .bind(i64::from(r.status))
                .bind(r.latency_us)
                .bind(r.version.as_deref())
                .bind(r.client_ip.map(|ip| ip.to_string()));
        }
        insert.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The request log's writer on SQLite: its own connection, used from one blocking thread, with
/// a prepared single-row INSERT bound straight from the records. Through sqlx every value was
/// converted twice and copied to the connection's worker thread, which cost more than SQLite's
/// own work (a profile of the gateway benchmark put that path at ~20 % of the process's CPU).
pub struct SqliteLogWriter {
    conn: rusqlite::Connection,
}

impl std::fmt::Debug for SqliteLogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteLogWriter")
    }
}

const INSERT_ONE: &str = "INSERT INTO request_log (request_id, occurred_at, stage, client_id, \
     partner_id, scopes, method, route, action, decision, reason, status, latency_us, version, \
     client_ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// Rows per multi-row INSERT on SQLite (15 parameters each: 750, far below SQLite's limit).
const SQLITE_ROWS_PER_STATEMENT: usize = 50;

static SQLITE_INSERT_MANY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let head = INSERT_ONE
        .split_once(" VALUES ")
        .map_or(INSERT_ONE, |(head, _)| head);
    // The single-row statement's `?1`…`?15` become plain `?`s, numbered by position.
    let row = format!("({})", vec!["?"; COLUMNS].join(", "));
    format!(
        "{head} VALUES {}",
        vec![row; SQLITE_ROWS_PER_STATEMENT].join(", ")
    )
});

/// Binds one record's 15 values from parameter `index` on.
fn bind_record(
    statement: &mut rusqlite::Statement<'_>,
    index: &mut usize,
    r: &RequestRecord,
) -> rusqlite::Result<()> {
    let client_ip = r.client_ip.map(|ip| ip.to_string());
    let values: [&dyn rusqlite::ToSql; COLUMNS] = [
        &r.request_id,
        &r.occurred_at_ms,
        &r.stage,
        &r.client_id.as_deref(),
        &r.partner_id.as_deref(),
        &r.scopes.as_deref(),
        &r.method.as_ref(),
        &r.route.as_ref(),
        &r.action.as_deref(),
        &r.decision,
        &r.reason.as_deref(),
        &i64::from(r.status),
        &r.latency_us,
        &r.version.as_deref(),
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
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            // Many rows per statement: SQLite's per-statement work (reset, bind setup, halt)
            // is paid once per chunk instead of once per row.
            let mut chunks = records.chunks_exact(SQLITE_ROWS_PER_STATEMENT);
            if records.len() >= SQLITE_ROWS_PER_STATEMENT {
                let mut insert = tx.prepare_cached(&SQLITE_INSERT_MANY)?;
                for chunk in chunks.by_ref() {
                    let mut index = 1;
                    for r in chunk {
                        bind_record(&mut insert, &mut index, r)?;
                    }
                    insert.raw_execute()?;
                }
            }
            let rest = chunks.remainder();
            if !rest.is_empty() {
                let mut insert = tx.prepare_cached(INSERT_ONE)?;
                for r in rest {
                    let mut index = 1;
                    bind_record(&mut insert, &mut index, r)?;
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

/// Deletes records older than `before_ms` (retention); returns how many went.
pub async fn purge_before(db: &Database, before_ms: i64) -> CoreResult<u64> {
    Ok(
        sqlx::query("DELETE FROM request_log WHERE occurred_at < $1")
            .bind(before_ms)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}
