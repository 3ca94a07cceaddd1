//! The delivery log partners read, redelivery on request, and the queue's numbers for /metrics.

use super::*;
use crate::audit;
use crate::clock::{self, UnixTime};
use crate::identity::ActorContext;
use crate::identity::permissions::PortalAction;
use crate::{CoreError, CoreResult, Database};
use serde_json::json;

/// One row of the delivery log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    pub id: String,
    pub message_id: String,
    pub event_type: String,
    /// Unix ms.
    pub attempted_at: i64,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub response_excerpt: String,
    pub error: Option<String>,
    pub succeeded: bool,
}

/// Which attempts the log shows.
#[derive(Clone, Debug, Default)]
pub struct AttemptFilter {
    pub event_type: Option<String>,
    /// `Some(true)`: only successes; `Some(false)`: only failures.
    pub succeeded: Option<bool>,
    pub limit: u32,
}

/// id, message, event type, time, status, latency, excerpt, error, succeeded.
type AttemptRow = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    String,
    Option<String>,
    i64,
);

/// The endpoint's attempts, newest first (anyone who may view logs).
pub async fn attempts(
    db: &Database,
    ctx: &ActorContext,
    endpoint_id: &str,
    filter: &AttemptFilter,
) -> CoreResult<Vec<AttemptRecord>> {
    let mut conn = db.pool().acquire().await?;
    authorize_endpoint(&mut conn, ctx, endpoint_id, PortalAction::ViewLogs).await?;
    let rows: Vec<AttemptRow> =
        sqlx::query_as(
            "SELECT a.id, a.message_id, m.event_type, a.attempted_at, a.status_code, a.latency_ms, \
             a.response_excerpt, a.error, a.succeeded FROM webhook_attempts a \
             JOIN webhook_messages m ON m.id = a.message_id \
             WHERE a.endpoint_id = $1 AND ($2 = '' OR m.event_type = $2) AND ($3 < 0 OR a.succeeded = $3) \
             ORDER BY a.attempted_at DESC, a.id DESC LIMIT $4",
        )
        .bind(endpoint_id)
        .bind(filter.event_type.as_deref().unwrap_or(""))
        .bind(filter.succeeded.map_or(-1, i64::from))
        .bind(i64::from(filter.limit.clamp(1, 500)))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                message_id,
                event_type,
                attempted_at,
                status_code,
                latency_ms,
                response_excerpt,
                error,
                succeeded,
            )| {
                AttemptRecord {
                    id,
                    message_id,
                    event_type,
                    attempted_at,
                    status_code: status_code.and_then(|c| u16::try_from(c).ok()),
                    latency_ms,
                    response_excerpt,
                    error,
                    succeeded: succeeded == 1,
                }
            },
        )
        .collect())
}

/// Sends one message to the endpoint again, now (same message id; the retry schedule starts
/// over). Only messages of the endpoint's own partner.
pub async fn replay_message(
    db: &Database,
    ctx: &ActorContext,
    endpoint_id: &str,
    message_id: &str,
) -> CoreResult<()> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let found =
        authorize_endpoint(&mut tx, ctx, endpoint_id, PortalAction::ManageCredentials).await?;
    let message: Option<(String,)> =
        sqlx::query_as("SELECT event_type FROM webhook_messages WHERE id = $1 AND partner_id = $2")
            .bind(message_id)
            .bind(&found.partner_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((event_type,)) = message else {
        return Err(CoreError::NotFound { what: "message" });
    };
    let now_ms = clock::now_ms();
    let changed = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, claimed_until = NULL, \
         updated_at = $1 WHERE message_id = $2 AND endpoint_id = $3",
    )
    .bind(now_ms)
    .bind(message_id)
    .bind(endpoint_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        insert_delivery(&mut tx, message_id, endpoint_id, &event_type, now_ms).await?;
    }
    tx.record(
        "webhook_message.replayed",
        Some(message_id),
        Some(&found.partner_id),
        &json!({"endpoint": endpoint_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sends again, now, every message to the endpoint created since `since` (unix seconds)
/// whose delivery failed or is waiting for a retry. Returns how many.
pub async fn replay_failed_since(
    db: &Database,
    ctx: &ActorContext,
    endpoint_id: &str,
    since: UnixTime,
) -> CoreResult<u64> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let found =
        authorize_endpoint(&mut tx, ctx, endpoint_id, PortalAction::ManageCredentials).await?;
    let now_ms = clock::now_ms();
    let replayed = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, claimed_until = NULL, \
         updated_at = $1 WHERE endpoint_id = $2 AND created_at >= $3 \
         AND (state = 'failed' OR (state = 'pending' AND attempts > 0))",
    )
    .bind(now_ms)
    .bind(endpoint_id)
    .bind(since.saturating_mul(1000))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.record(
        "webhook_message.replayed",
        Some(endpoint_id),
        Some(&found.partner_id),
        &json!({"failed_since": clock::format_rfc3339(since), "messages": replayed}),
    )
    .await?;
    tx.commit().await?;
    Ok(replayed)
}

/// The retry queue, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Deliveries not yet delivered nor given up.
    pub pending: i64,
    /// Age of the oldest of them (ms), 0 when none.
    pub oldest_pending_age_ms: i64,
}

pub async fn queue_stats(db: &Database, now_ms: i64) -> CoreResult<QueueStats> {
    let (pending, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE state = 'pending'",
    )
    .fetch_one(db.pool())
    .await?;
    Ok(QueueStats {
        pending,
        oldest_pending_age_ms: oldest.map_or(0, |at| (now_ms - at).max(0)),
    })
}

/// The partner's endpoints that were disabled for failing (for banners).
pub async fn failing_endpoints_of_application(
    db: &Database,
    app_id: &str,
) -> CoreResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, url FROM webhook_endpoints WHERE application_id = $1 AND status = 'disabled' \
         AND disabled_reason = 'failing' ORDER BY created_at, id",
    )
    .bind(app_id)
    .fetch_all(db.pool())
    .await?)
}
