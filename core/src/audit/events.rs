//! Audit records of the CLI, first start and background jobs (no signed-in user behind them).

use crate::clock::{self, UnixTime};
use crate::{CoreResult, ids};
use sqlx::{AnyConnection, FromRow};

/// Who acted: a signed-in user, the CLI, the system itself (first start, jobs), or a secret
/// scanning partner (by the identifier of the key that signed its report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    User(String),
    Cli,
    System,
    SecretScanner(String),
}

impl Actor {
    fn encode(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Cli => "cli".into(),
            Actor::System => "system".into(),
            Actor::SecretScanner(key_id) => format!("scanner:{key_id}"),
        }
    }
}

/// One audit record to write.
#[derive(Clone, Debug)]
pub struct NewAuditEvent<'a> {
    pub actor: Actor,
    /// Dotted verb such as `user.created` or `partner.approved`.
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub partner_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    /// A small JSON object with details; never secrets.
    pub detail: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct AuditEvent {
    pub id: String,
    pub occurred_at: UnixTime,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub partner_id: Option<String>,
    pub request_id: Option<String>,
    pub detail: String,
}

pub async fn record_event(conn: &mut AnyConnection, event: NewAuditEvent<'_>) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, occurred_at, actor, action, target, partner_id, request_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ids::new_id("aud"))
    .bind(clock::now())
    .bind(event.actor.encode())
    .bind(event.action)
    .bind(event.target)
    .bind(event.partner_id)
    .bind(event.request_id)
    .bind(event.detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The newest events first.
pub async fn recent(conn: &mut AnyConnection, limit: i64) -> CoreResult<Vec<AuditEvent>> {
    Ok(sqlx::query_as::<_, AuditEvent>(
        "SELECT id, occurred_at, actor, action, target, partner_id, request_id, detail \
         FROM audit_events ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}
