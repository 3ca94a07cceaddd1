//! Deliveries on their way: claims with a lease, attempts, the retry schedule with jitter, and disabling endpoints that keep failing.

use super::*;
use crate::clock::UnixTime;
use crate::tokens::keys::KeySealer;
use crate::{Backend, CoreResult, Database, ids};
use serde_json::json;
use signing::SigningSecret;

/// A delivery a worker claimed, with everything needed to send it.
#[derive(Debug)]
pub struct ClaimedDelivery {
    pub message_id: String,
    pub endpoint_id: String,
    pub event_type: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub url: String,
    /// The exact body to send.
    pub payload: String,
    secret_sealed: String,
    previous_secret_sealed: Option<String>,
    previous_secret_until: Option<UnixTime>,
}

impl ClaimedDelivery {
    /// The secrets in force at `now` (seconds): the current one, then the previous one during
    /// a rotation's overlap.
    pub fn secrets(&self, sealer: &KeySealer, now: UnixTime) -> CoreResult<Vec<SigningSecret>> {
        let mut secrets = vec![open(sealer, &self.secret_sealed, &self.endpoint_id)?];
        if let (Some(sealed), Some(until)) =
            (&self.previous_secret_sealed, self.previous_secret_until)
            && until > now
        {
            secrets.push(open(sealer, sealed, &self.endpoint_id)?);
        }
        Ok(secrets)
    }
}

/// Claims up to `limit` due deliveries of enabled endpoints (not those in `skip_endpoints`,
/// which this worker has no room for) for [`CLAIM_LEASE_MS`]. On PostgreSQL rows locked by
/// another worker's claim are skipped (`FOR UPDATE SKIP LOCKED`); SQLite runs one node.
pub async fn claim_due(
    db: &Database,
    now_ms: i64,
    limit: u32,
    skip_endpoints: &[String],
) -> CoreResult<Vec<ClaimedDelivery>> {
    // Placeholders for the ids to skip (values are bound, never formatted in).
    let skip = if skip_endpoints.is_empty() {
        String::new()
    } else {
        let marks: Vec<String> = (0..skip_endpoints.len())
            .map(|i| format!("${}", i + 4))
            .collect();
        format!("AND d.endpoint_id NOT IN ({})", marks.join(", "))
    };
    let lock = match db.backend() {
        Backend::Postgres => "FOR UPDATE OF d SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET claimed_until = $1 WHERE (message_id, endpoint_id) IN ( \
         SELECT d.message_id, d.endpoint_id FROM webhook_deliveries d \
         JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.status = 'enabled' \
         WHERE d.state = 'pending' AND d.next_attempt_at <= $2 \
         AND (d.claimed_until IS NULL OR d.claimed_until <= $2) {skip} \
         ORDER BY d.next_attempt_at LIMIT $3 {lock}) \
         RETURNING message_id, endpoint_id"
    );
    let mut query = sqlx::query_as::<_, (String, String)>(&sql)
        .bind(now_ms + CLAIM_LEASE_MS)
        .bind(now_ms)
        .bind(i64::from(limit));
    for id in skip_endpoints {
        query = query.bind(id);
    }
    let claimed = query.fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(claimed.len());
    for (message_id, endpoint_id) in claimed {
        // `None`: deleted in between (endpoint removed), nothing to send.
        if let Some(delivery) = load_claimed(db, message_id, endpoint_id).await? {
            out.push(delivery);
        }
    }
    Ok(out)
}

/// Whether any delivery is due (a cheap read, so an idle worker never takes SQLite's write
/// lock).
pub async fn has_due(db: &Database, now_ms: i64) -> CoreResult<bool> {
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1 \
         AND (claimed_until IS NULL OR claimed_until <= $1) LIMIT 1",
    )
    .bind(now_ms)
    .fetch_optional(db.pool())
    .await?;
    Ok(found.is_some())
}

/// Claims one given delivery now, due or not (the CLI's `webhooks test` sends at once);
/// `None` when it does not exist, is not pending or another worker holds it.
pub async fn claim_one(
    db: &Database,
    now_ms: i64,
    message_id: &str,
    endpoint_id: &str,
) -> CoreResult<Option<ClaimedDelivery>> {
    let claimed = sqlx::query(
        "UPDATE webhook_deliveries SET claimed_until = $1 WHERE message_id = $2 AND endpoint_id = $3 \
         AND state = 'pending' AND (claimed_until IS NULL OR claimed_until <= $4)",
    )
    .bind(now_ms + CLAIM_LEASE_MS)
    .bind(message_id)
    .bind(endpoint_id)
    .bind(now_ms)
    .execute(db.pool())
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(None);
    }
    load_claimed(db, message_id.to_owned(), endpoint_id.to_owned()).await
}

/// event type, attempts, url, payload, secret, previous secret, previous secret's end.
type ClaimedRow = (
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
);

async fn load_claimed(
    db: &Database,
    message_id: String,
    endpoint_id: String,
) -> CoreResult<Option<ClaimedDelivery>> {
    let row: Option<ClaimedRow> =
        sqlx::query_as(
            "SELECT d.event_type, d.attempts, e.url, m.payload, e.secret_sealed, e.previous_secret_sealed, \
             e.previous_secret_until FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             JOIN webhook_messages m ON m.id = d.message_id \
             WHERE d.message_id = $1 AND d.endpoint_id = $2",
        )
        .bind(&message_id)
        .bind(&endpoint_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(
        |(
            event_type,
            attempts,
            url,
            payload,
            secret_sealed,
            previous_secret_sealed,
            previous_secret_until,
        )| {
            ClaimedDelivery {
                message_id,
                endpoint_id,
                event_type,
                attempts,
                url,
                payload,
                secret_sealed,
                previous_secret_sealed,
                previous_secret_until,
            }
        },
    ))
}

/// Gives claimed deliveries back without an attempt (the worker had no room for them).
pub async fn release(db: &Database, deliveries: &[ClaimedDelivery]) -> CoreResult<()> {
    for delivery in deliveries {
        sqlx::query(
            "UPDATE webhook_deliveries SET claimed_until = NULL WHERE message_id = $1 AND endpoint_id = $2",
        )
        .bind(&delivery.message_id)
        .bind(&delivery.endpoint_id)
        .execute(db.pool())
        .await?;
    }
    Ok(())
}

/// How one attempt went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// The HTTP status, when an answer came.
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// The start of the response body (at most [`RESPONSE_EXCERPT_BYTES`]).
    pub response_excerpt: String,
    /// Why it failed without an answer (refused destination, timeout, connection error).
    pub error: Option<String>,
}

impl AttemptOutcome {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status_code
            .is_some_and(|code| (200..300).contains(&code))
    }
}

/// What [`record_attempt`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered,
    /// Failed; the next attempt is due at this time (unix ms).
    RetryAt(i64),
    /// Failed for the last time (the schedule is used up).
    GaveUp,
}

/// The delay before attempt `attempts + 1` after `attempts` failed ones, with jitter from
/// `unit` in [0, 1): `None` when the schedule is used up.
pub fn retry_delay_ms(attempts: i64, unit: f64) -> Option<i64> {
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    let base = *RETRY_DELAYS_SECS.get(index)? as f64 * 1000.0;
    let factor = 1.0 - JITTER + 2.0 * JITTER * unit.clamp(0.0, 1.0);
    #[expect(clippy::cast_possible_truncation, reason = "at most 11 hours in ms")]
    Some((base * factor).round() as i64)
}

pub(super) fn random_unit() -> f64 {
    let mut bytes = [0u8; 4];
    crate::secret::fill_random(&mut bytes);
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

/// Logs an attempt and moves the delivery on: delivered, due again later, or given up. A
/// failure also extends the endpoint's failure streak, and an endpoint failing for
/// [`DISABLE_AFTER_FAILING_MS`] is disabled (with an audit record); a success ends the streak.
pub async fn record_attempt(
    db: &Database,
    now_ms: i64,
    delivery: &ClaimedDelivery,
    outcome: &AttemptOutcome,
) -> CoreResult<AttemptResult> {
    let attempts = delivery.attempts + 1;
    let result = if outcome.succeeded() {
        AttemptResult::Delivered
    } else {
        match retry_delay_ms(attempts, random_unit()) {
            Some(delay) => AttemptResult::RetryAt(now_ms + delay),
            None => AttemptResult::GaveUp,
        }
    };
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (id, message_id, endpoint_id, attempted_at, status_code, latency_ms, \
         response_excerpt, error, succeeded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(ids::new_id("wat"))
    .bind(&delivery.message_id)
    .bind(&delivery.endpoint_id)
    .bind(now_ms)
    .bind(outcome.status_code.map(i64::from))
    .bind(outcome.latency_ms)
    .bind(&outcome.response_excerpt)
    .bind(outcome.error.as_deref())
    .bind(i64::from(outcome.succeeded()))
    .execute(&mut *tx)
    .await?;
    let (state, next) = match result {
        AttemptResult::Delivered => ("succeeded", now_ms),
        AttemptResult::RetryAt(at) => ("pending", at),
        AttemptResult::GaveUp => ("failed", now_ms),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET state = $1, attempts = $2, next_attempt_at = $3, claimed_until = NULL, \
         updated_at = $4 WHERE message_id = $5 AND endpoint_id = $6",
    )
    .bind(state)
    .bind(attempts)
    .bind(next)
    .bind(now_ms)
    .bind(&delivery.message_id)
    .bind(&delivery.endpoint_id)
    .execute(&mut *tx)
    .await?;
    if result == AttemptResult::Delivered {
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
        )
        .bind(&delivery.endpoint_id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL",
        )
        .bind(now_ms)
        .bind(&delivery.endpoint_id)
        .execute(&mut *tx)
        .await?;
        let disabled = sqlx::query(
            "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'failing', updated_at = $1 \
             WHERE id = $2 AND status = 'enabled' AND failing_since <= $3",
        )
        .bind(now_ms / 1000)
        .bind(&delivery.endpoint_id)
        .bind(now_ms - DISABLE_AFTER_FAILING_MS)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if disabled > 0 {
            let partner: Option<(String, String)> =
                sqlx::query_as("SELECT partner_id, url FROM webhook_endpoints WHERE id = $1")
                    .bind(&delivery.endpoint_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (partner, url) = partner.unwrap_or_default();
            crate::audit::events::record_event(
                &mut tx,
                crate::audit::events::NewAuditEvent {
                    actor: crate::audit::events::Actor::System,
                    action: "webhook_endpoint.disabled",
                    target: Some(&delivery.endpoint_id),
                    partner_id: Some(&partner),
                    request_id: None,
                    detail: &json!({"reason": "failing", "url": url, "failing_for_days": 5})
                        .to_string(),
                },
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(result)
}
