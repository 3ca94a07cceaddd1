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
use crate::{CoreError, CoreResult, Database, ids};
use serde_json::json;
use signing::SigningSecret;
use sqlx::AnyConnection;

mod attempts;
mod delivery;
mod outbox;

pub use attempts::*;
pub use delivery::*;
pub use outbox::*;

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
    let mut tx = audit::Write::begin(db, ctx).await?;
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
    tx.record("webhook_endpoint.created",
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
    let mut tx = audit::Write::begin(db, ctx).await?;
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
    tx.record(
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
    let mut tx = audit::Write::begin(db, ctx).await?;
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
    tx.record(
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
    let mut tx = audit::Write::begin(db, ctx).await?;
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
    tx.record(
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
    let mut tx = audit::Write::begin(db, ctx).await?;
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
    tx.record(
        "webhook_endpoint.secret_rotated",
        Some(endpoint_id),
        Some(&found.partner_id),
        &json!({"overlap_seconds": overlap_secs}),
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

#[cfg(test)]
mod tests;
