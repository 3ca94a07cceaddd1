//! Webhooks: partners' endpoints, the outbox of events and the state of every delivery
//! (tables in `migrations/20261206000014_webhooks.sql`).
//!
//! - **Endpoints** belong to an application and receive the events of its partner's sandbox
//!   (the data is per partner, shared by its applications) whose types they subscribe to.
//!   Each has a `whsec_` signing secret, sealed with the master key; a rotation keeps the
//!   previous secret in force for an overlap window, and deliveries carry both signatures.
//! - **Events** are written by [`enqueue_in`] inside the transaction of the change that caused
//!   them, one message plus one delivery row per subscribed endpoint: committed together or not
//!   at all, so a crash (even `kill -9`) loses none.
//! - **Deliveries** are claimed by workers ([`claim_due`]) with a lease, so a worker that dies
//!   leaves them due again; every retry sends the same message id. [`record_attempt`] logs the
//!   attempt and schedules the next one ([`RETRY_DELAYS_SECS`], with ±10 % jitter), and
//!   disables an endpoint that has failed for [`DISABLE_AFTER_FAILING_MS`] without a success.
//!
//! Every time here is a parameter (`now_ms`) where the schedule depends on it, so tests drive
//! the clock.

pub mod signing;

use crate::apps::access;
use crate::audit;
use crate::clock::{self, UnixTime};
use crate::identity::ActorContext;
use crate::identity::permissions::PortalAction;
use crate::tokens::keys::KeySealer;
use crate::{Backend, CoreError, CoreResult, Database, ids};
use serde_json::{Value, json};
use signing::SigningSecret;
use sqlx::AnyConnection;

/// Waits before each retry: attempt 1 is immediate; attempt 2 comes 5 s after attempt 1
/// failed, then 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (8 attempts over about 28 hours).
pub const RETRY_DELAYS_SECS: [i64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// Every delay is the schedule's value times a random factor in [0.9, 1.1].
pub const JITTER: f64 = 0.1;

/// How long the previous secret keeps signing after a rotation, unless said otherwise.
pub const DEFAULT_ROTATION_OVERLAP_SECS: i64 = 24 * 60 * 60;

/// An endpoint whose deliveries have all failed for this long is disabled.
pub const DISABLE_AFTER_FAILING_MS: i64 = 5 * 24 * 60 * 60 * 1000;

/// A claimed delivery is the worker's for this long; after it, another worker may send it
/// again (same message id). Longer than an attempt can take (10 s timeout).
pub const CLAIM_LEASE_MS: i64 = 30_000;

/// The type of the event "Send test event" sends (whatever the endpoint subscribes to).
pub const TEST_EVENT_TYPE: &str = "portico.test";

/// What the delivery log keeps of a response body.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;

const URL_MAX: usize = 2_000;
const DESCRIPTION_MAX: usize = 500;

/// A partner's webhook endpoint (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub application_id: String,
    /// The partner (slug) whose events it receives.
    pub partner_id: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// `partner` (switched off) or `failing` (disabled after 5 days of failures).
    pub disabled_reason: Option<String>,
    /// During a rotation's overlap: when the previous secret stops signing (unix seconds).
    pub previous_secret_until: Option<UnixTime>,
    /// Start of the current run of failures (unix ms).
    pub failing_since: Option<i64>,
    pub created_at: UnixTime,
}

/// What a partner gives for a new or changed endpoint. The URL must already have passed the
/// outbound-destination check of the web layer (SSRF rules live with the HTTP client).
#[derive(Clone, Debug)]
pub struct EndpointInput<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a [String],
}

type EndpointRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
);

const ENDPOINT_COLUMNS: &str = "id, application_id, partner_id, url, description, event_types, status, \
     disabled_reason, previous_secret_until, failing_since, created_at";

fn endpoint(row: EndpointRow) -> Endpoint {
    let (
        id,
        application_id,
        partner_id,
        url,
        description,
        event_types,
        status,
        disabled_reason,
        previous_secret_until,
        failing_since,
        created_at,
    ) = row;
    Endpoint {
        id,
        application_id,
        partner_id,
        url,
        description,
        event_types: event_types.split_whitespace().map(str::to_owned).collect(),
        enabled: status == "enabled",
        disabled_reason,
        previous_secret_until: previous_secret_until.filter(|until| *until > clock::now()),
        failing_since,
        created_at,
    }
}

/// `" a b "`: one space on each side, so `LIKE '% a %'` matches one whole type.
fn stored_types(types: &[String]) -> String {
    format!(" {} ", types.join(" "))
}

fn clean_input(
    input: &EndpointInput<'_>,
    known: &[String],
) -> CoreResult<(String, String, String)> {
    let url = input.url.trim();
    if url.is_empty() {
        return Err(CoreError::Invalid("Give the URL of your endpoint.".into()));
    }
    if url.len() > URL_MAX {
        return Err(CoreError::Invalid(format!(
            "The URL is too long (at most {URL_MAX} characters)."
        )));
    }
    let description = input.description.trim();
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(CoreError::Invalid(format!(
            "The description is too long (at most {DESCRIPTION_MAX} characters)."
        )));
    }
    let mut types: Vec<String> = Vec::new();
    for wanted in input.event_types {
        let wanted = wanted.trim();
        if !known.iter().any(|k| k == wanted) {
            return Err(CoreError::Invalid(format!(
                "{wanted:?} is not an event type of this API (known: {}).",
                known.join(", ")
            )));
        }
        if !types.iter().any(|t| t == wanted) {
            types.push(wanted.to_owned());
        }
    }
    if types.is_empty() {
        return Err(CoreError::Invalid(
            "Choose at least one event type to receive.".into(),
        ));
    }
    types.sort();
    Ok((url.to_owned(), description.to_owned(), stored_types(&types)))
}

async fn endpoint_in(conn: &mut AnyConnection, endpoint_id: &str) -> CoreResult<Option<Endpoint>> {
    let row: Option<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
    ))
    .bind(endpoint_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(endpoint))
}

/// The endpoint if the caller may do `action` on its application (else `NotFound`, or
/// `Forbidden` for a role without the action).
async fn authorize_endpoint(
    conn: &mut AnyConnection,
    ctx: &ActorContext,
    endpoint_id: &str,
    action: PortalAction,
) -> CoreResult<Endpoint> {
    let not_found = || CoreError::NotFound {
        what: "webhook endpoint",
    };
    let found = endpoint_in(conn, endpoint_id)
        .await?
        .ok_or_else(not_found)?;
    match access::authorize_app_in(conn, ctx, &found.application_id, action).await {
        Ok(_) => Ok(found),
        Err(CoreError::NotFound { .. }) => Err(not_found()),
        Err(other) => Err(other),
    }
}

fn seal(sealer: &KeySealer, secret: &SigningSecret, endpoint_id: &str) -> CoreResult<String> {
    sealer.seal_secret(secret.to_whsec().as_bytes(), endpoint_id)
}

fn open(sealer: &KeySealer, sealed: &str, endpoint_id: &str) -> CoreResult<SigningSecret> {
    let bytes = sealer.open_secret(sealed, endpoint_id)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CoreError::Invalid("a sealed webhook secret is not text".into()))?;
    SigningSecret::parse(&text)
}

/// Adds an endpoint to an application (roles that manage credentials). The secret comes back
/// once, to show.
pub async fn create_endpoint(
    db: &Database,
    sealer: &KeySealer,
    ctx: &ActorContext,
    app_id: &str,
    input: &EndpointInput<'_>,
    known_types: &[String],
) -> CoreResult<(Endpoint, SigningSecret)> {
    let (url, description, types) = clean_input(input, known_types)?;
    let id = ids::new_id("wep");
    let secret = SigningSecret::generate();
    let sealed = seal(sealer, &secret, &id)?;
    let now = clock::now();
    let mut tx = db.begin_write().await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::ManageCredentials).await?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, application_id, partner_id, url, description, event_types, \
         status, secret_sealed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'enabled', $7, $8, $8)",
    )
    .bind(&id)
    .bind(app_id)
    .bind(&app.partner_id)
    .bind(&url)
    .bind(&description)
    .bind(&types)
    .bind(&sealed)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        ctx,
        "webhook_endpoint.created",
        Some(&id),
        Some(&app.partner_id),
        &json!({"application": app_id, "url": url, "event_types": types.split_whitespace().collect::<Vec<_>>()}),
    )
    .await?;
    let created = endpoint_in(&mut tx, &id)
        .await?
        .ok_or(CoreError::NotFound {
            what: "webhook endpoint",
        })?;
    tx.commit().await?;
    Ok((created, secret))
}

/// The application's endpoints, oldest first (anyone who may view the application).
pub async fn list_endpoints(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
) -> CoreResult<Vec<Endpoint>> {
    let mut conn = db.pool().acquire().await?;
    access::authorize_app_in(&mut conn, ctx, app_id, PortalAction::ViewApplications).await?;
    let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE application_id = $1 ORDER BY created_at, id"
    ))
    .bind(app_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(endpoint).collect())
}

/// One endpoint, for its page.
pub async fn get_endpoint(
    db: &Database,
    ctx: &ActorContext,
    endpoint_id: &str,
) -> CoreResult<Endpoint> {
    let mut conn = db.pool().acquire().await?;
    authorize_endpoint(&mut conn, ctx, endpoint_id, PortalAction::ViewApplications).await
}

/// Changes URL, description and subscribed types.
pub async fn update_endpoint(
    db: &Database,
    ctx: &ActorContext,
    endpoint_id: &str,
    input: &EndpointInput<'_>,
    known_types: &[String],
) -> CoreResult<Endpoint> {
    let (url, description, types) = clean_input(input, known_types)?;
    let mut tx = db.begin_write().await?;
    let found =
        authorize_endpoint(&mut tx, ctx, endpoint_id, PortalAction::ManageCredentials).await?;
    sqlx::query(
        "UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(&url)
    .bind(&description)
    .bind(&types)
    .bind(clock::now())
    .bind(endpoint_id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        ctx,
        "webhook_endpoint.changed",
        Some(endpoint_id),
        Some(&found.partner_id),
        &json!({"url": url, "event_types": types.split_whitespace().collect::<Vec<_>>()}),
    )
    .await?;
    let changed = endpoint_in(&mut tx, endpoint_id)
        .await?
        .ok_or(CoreError::NotFound {
            what: "webhook endpoint",
        })?;
    tx.commit().await?;
    Ok(changed)
}

/// Switches an endpoint on or off. Switching on clears a failure streak; deliveries that
/// waited meanwhile go out again on their schedule.
pub async fn set_enabled(
    db: &Database,
    ctx: &ActorContext,
    endpoint_id: &str,
    enabled: bool,
) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    let found =
        authorize_endpoint(&mut tx, ctx, endpoint_id, PortalAction::ManageCredentials).await?;
    if found.enabled == enabled {
        return Err(CoreError::Invalid(format!(
            "This endpoint is already {}.",
            if enabled { "enabled" } else { "disabled" }
        )));
    }
    let now = clock::now();
    if enabled {
        sqlx::query(
            "UPDATE webhook_endpoints SET status = 'enabled', disabled_reason = NULL, failing_since = NULL, \
             updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(endpoint_id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'partner', updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(endpoint_id)
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        ctx,
        if enabled {
            "webhook_endpoint.enabled"
        } else {
            "webhook_endpoint.disabled"
        },
        Some(endpoint_id),
        Some(&found.partner_id),
        &json!({"url": found.url}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an endpoint with its deliveries and log.
pub async fn delete_endpoint(
    db: &Database,
    ctx: &ActorContext,
    endpoint_id: &str,
) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    let found =
        authorize_endpoint(&mut tx, ctx, endpoint_id, PortalAction::ManageCredentials).await?;
    for table in ["webhook_attempts", "webhook_deliveries"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE endpoint_id = $1"))
            .bind(endpoint_id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(endpoint_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        ctx,
        "webhook_endpoint.deleted",
        Some(endpoint_id),
        Some(&found.partner_id),
        &json!({"url": found.url}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A new signing secret; the current one keeps signing (beside it) for `overlap_secs`. A
/// rotation during another's overlap ends that overlap: at most two secrets are in force.
pub async fn rotate_secret(
    db: &Database,
    sealer: &KeySealer,
    ctx: &ActorContext,
    endpoint_id: &str,
    overlap_secs: i64,
) -> CoreResult<SigningSecret> {
    if !(0..=7 * 24 * 60 * 60).contains(&overlap_secs) {
        return Err(CoreError::Invalid(
            "The overlap must be between 0 and 168 hours.".into(),
        ));
    }
    let secret = SigningSecret::generate();
    let sealed = seal(sealer, &secret, endpoint_id)?;
    let now = clock::now();
    let mut tx = db.begin_write().await?;
    let found =
        authorize_endpoint(&mut tx, ctx, endpoint_id, PortalAction::ManageCredentials).await?;
    sqlx::query(
        "UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed, previous_secret_until = $1, \
         secret_sealed = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(now + overlap_secs)
    .bind(&sealed)
    .bind(now)
    .bind(endpoint_id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        ctx,
        "webhook_endpoint.secret_rotated",
        Some(endpoint_id),
        Some(&found.partner_id),
        &json!({"overlap_seconds": overlap_secs}),
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

/// The body every delivery of an event carries.
fn payload(event_type: &str, data: &Value) -> String {
    json!({
        "type": event_type,
        "timestamp": clock::format_rfc3339(clock::now()),
        "data": data,
    })
    .to_string()
}

/// Stores one event (its body as it will be sent) and returns its message id.
async fn insert_message(
    conn: &mut AnyConnection,
    partner_id: &str,
    event_type: &str,
    data: &Value,
    now_ms: i64,
) -> CoreResult<String> {
    let id = ids::new_id("msg");
    sqlx::query(
        "INSERT INTO webhook_messages (id, partner_id, event_type, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(partner_id)
    .bind(event_type)
    .bind(payload(event_type, data))
    .bind(now_ms / 1000)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// A pending delivery of a message to one endpoint, due at once.
async fn insert_delivery(
    conn: &mut AnyConnection,
    message_id: &str,
    endpoint_id: &str,
    event_type: &str,
    now_ms: i64,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (message_id, endpoint_id, event_type, state, attempts, next_attempt_at, \
         created_at, updated_at) VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4)",
    )
    .bind(message_id)
    .bind(endpoint_id)
    .bind(event_type)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records an event of `tenant` in the outbox, inside the caller's transaction: one message
/// and a delivery for every enabled endpoint of the tenant subscribed to `event_type`.
/// Returns the message id, or `None` when nobody subscribes (nothing is stored).
pub async fn enqueue_in(
    conn: &mut AnyConnection,
    tenant: &str,
    event_type: &str,
    data: &Value,
) -> CoreResult<Option<String>> {
    let subscribed = format!("% {event_type} %");
    let listening: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM webhook_endpoints WHERE partner_id = $1 AND status = 'enabled' AND event_types LIKE $2 LIMIT 1",
    )
    .bind(tenant)
    .bind(&subscribed)
    .fetch_optional(&mut *conn)
    .await?;
    if listening.is_none() {
        return Ok(None);
    }
    let now_ms = clock::now_ms();
    let id = insert_message(conn, tenant, event_type, data, now_ms).await?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (message_id, endpoint_id, event_type, state, attempts, next_attempt_at, \
         created_at, updated_at) \
         SELECT $1, id, $2, 'pending', 0, $3, $3, $3 FROM webhook_endpoints \
         WHERE partner_id = $4 AND status = 'enabled' AND event_types LIKE $5",
    )
    .bind(&id)
    .bind(event_type)
    .bind(now_ms)
    .bind(tenant)
    .bind(&subscribed)
    .execute(&mut *conn)
    .await?;
    Ok(Some(id))
}

/// Sends a `portico.test` event to one endpoint (whatever it subscribes to, even when it is
/// disabled: the delivery waits until it is enabled). Returns the message id. `ctx` is `None`
/// for the CLI.
pub async fn send_test_event(
    db: &Database,
    ctx: Option<&ActorContext>,
    endpoint_id: &str,
) -> CoreResult<String> {
    let mut tx = db.begin_write().await?;
    let found = match ctx {
        Some(ctx) => {
            authorize_endpoint(&mut tx, ctx, endpoint_id, PortalAction::ManageCredentials).await?
        }
        None => endpoint_in(&mut tx, endpoint_id)
            .await?
            .ok_or(CoreError::NotFound {
                what: "webhook endpoint",
            })?,
    };
    let now_ms = clock::now_ms();
    let data = json!({
        "endpoint_id": endpoint_id,
        "message": "This is a test event sent from the Portico developer portal.",
    });
    let id = insert_message(&mut tx, &found.partner_id, TEST_EVENT_TYPE, &data, now_ms).await?;
    insert_delivery(&mut tx, &id, endpoint_id, TEST_EVENT_TYPE, now_ms).await?;
    tx.commit().await?;
    Ok(id)
}

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

fn random_unit() -> f64 {
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
    let mut tx = db.begin_write().await?;
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
    audit::record(
        &mut tx,
        ctx,
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
    let mut tx = db.begin_write().await?;
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
    audit::record(
        &mut tx,
        ctx,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_documented_one_with_bounded_jitter() {
        let expected = [
            5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
        ];
        for (attempts, base) in (1_i64..).zip(expected) {
            assert_eq!(retry_delay_ms(attempts, 0.5), Some(base));
            assert_eq!(retry_delay_ms(attempts, 0.0), Some(base * 9 / 10));
            let high = retry_delay_ms(attempts, 0.999_999).unwrap();
            assert!(high <= base * 11 / 10 && high > base * 109 / 100, "{high}");
        }
        assert_eq!(retry_delay_ms(8, 0.5), None, "8 attempts in all");
        assert_eq!(retry_delay_ms(0, 0.5), None);
        for _ in 0..100 {
            let unit = random_unit();
            assert!((0.0..1.0).contains(&unit));
        }
    }

    #[test]
    fn event_types_are_checked_and_stored_for_whole_word_matching() {
        let known = vec!["order.created".to_owned(), "order.cancelled".to_owned()];
        let input = |types: &'static [&'static str]| {
            types.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>()
        };
        let types = input(&["order.cancelled", "order.created", "order.created"]);
        let (_, _, stored) = clean_input(
            &EndpointInput {
                url: " https://x.example/h ",
                description: "",
                event_types: &types,
            },
            &known,
        )
        .unwrap();
        assert_eq!(stored, " order.cancelled order.created ");
        let none = input(&[]);
        let bad = input(&["order.deleted"]);
        for types in [&none, &bad] {
            assert!(matches!(
                clean_input(
                    &EndpointInput {
                        url: "https://x.example",
                        description: "",
                        event_types: types
                    },
                    &known
                ),
                Err(CoreError::Invalid(_))
            ));
        }
    }
}
