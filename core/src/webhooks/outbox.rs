//! The outbox: events written in the transaction of the change that caused them, one delivery per subscribed endpoint.

use super::*;
use crate::clock::{self};
use crate::identity::ActorContext;
use crate::identity::permissions::PortalAction;
use crate::{CoreError, CoreResult, Database, ids};
use serde_json::{Value, json};
use sqlx::AnyConnection;

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
pub(super) async fn insert_delivery(
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

/// Records a security notice of `tenant` (such as a leaked credential) for every enabled
/// endpoint of the tenant, whatever it subscribes to: a partner must not miss it because it
/// never ticked a box. Returns the message id, or `None` when the tenant has no endpoint.
pub async fn enqueue_notice_in(
    conn: &mut AnyConnection,
    tenant: &str,
    event_type: &str,
    data: &Value,
) -> CoreResult<Option<String>> {
    let endpoints: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM webhook_endpoints WHERE partner_id = $1 AND status = 'enabled' ORDER BY id",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?;
    if endpoints.is_empty() {
        return Ok(None);
    }
    let now_ms = clock::now_ms();
    let id = insert_message(conn, tenant, event_type, data, now_ms).await?;
    for (endpoint_id,) in &endpoints {
        insert_delivery(conn, &id, endpoint_id, event_type, now_ms).await?;
    }
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
