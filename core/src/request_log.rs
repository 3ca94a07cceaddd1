//! The gateway's request log: one record per API call, for the partner's own logs and usage
//! and for the audit trail. Records are written in batches by the gateway's audit writer.

use crate::{CoreResult, Database, ids};

/// One gateway request, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    pub request_id: String,
    /// Milliseconds since the unix epoch.
    pub occurred_at_ms: i64,
    pub stage: &'static str,
    pub client_id: Option<String>,
    pub partner_id: Option<String>,
    pub scopes: Option<String>,
    pub method: String,
    /// The route template (or `unmatched`), never the raw path.
    pub route: String,
    pub action: Option<String>,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// Why a request was denied (the failed step), or the policies that allowed it.
    pub reason: Option<String>,
    pub status: u16,
    pub latency_us: i64,
    pub version: Option<String>,
    pub client_ip: Option<String>,
}

/// Writes a batch in one transaction.
pub async fn insert_batch(db: &Database, records: &[RequestRecord]) -> CoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    for r in records {
        sqlx::query(
            "INSERT INTO request_log (id, request_id, occurred_at, stage, client_id, partner_id, scopes, method, \
             route, action, decision, reason, status, latency_us, version, client_ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(ids::new_id("req"))
        .bind(&r.request_id)
        .bind(r.occurred_at_ms)
        .bind(r.stage)
        .bind(r.client_id.as_deref())
        .bind(r.partner_id.as_deref())
        .bind(r.scopes.as_deref())
        .bind(&r.method)
        .bind(&r.route)
        .bind(r.action.as_deref())
        .bind(r.decision)
        .bind(r.reason.as_deref())
        .bind(i64::from(r.status))
        .bind(r.latency_us)
        .bind(r.version.as_deref())
        .bind(r.client_ip.as_deref())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A partner's most recent requests, newest first.
pub async fn recent_for_partner(
    db: &Database,
    partner_id: &str,
    limit: i64,
) -> CoreResult<Vec<(String, String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT request_id, method, route, status FROM request_log WHERE partner_id = $1 \
         ORDER BY occurred_at DESC, id DESC LIMIT $2",
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
