//! The one audit trail: who did what to which object, written in the same transaction as the
//! change, and the admin search over it.
//!
//! Every record goes to the `audit_events` table. Portal actions record their
//! [`ActorContext`](crate::identity::ActorContext) (`actor` = `user:<id>`, email, client address,
//! request id) through [`record`]; the CLI, first start and background jobs record an
//! [`events::Actor`] through [`events::record_event`]. `partner_id` holds the organisation's slug
//! (the tenant id tokens and the request log use). `detail` is a small JSON object, never secrets.

pub mod events;

use crate::changes::Change;
use crate::clock::{self, UnixTime};
use crate::identity::{ActorContext, principal};
use crate::{CoreError, CoreResult, Database, ids};
use serde_json::Value;
use sqlx::{AnyConnection, FromRow};

/// An audited write: one transaction that records who did it and, once committed, hands the
/// cache changes it caused to the process ([`Database::changed`]). Every state-changing portal
/// function runs in one, so no caller has to remember to record or to invalidate:
///
/// ```ignore
/// let mut tx = audit::Write::begin(db, ctx).await?;
/// sqlx::query("UPDATE …").execute(&mut *tx).await?;
/// tx.record("application.suspended", Some(app_id), Some(&slug), &json!({})).await?;
/// tx.changed(Change::Applications);
/// tx.commit().await?;
/// ```
///
/// Dropped without [`Write::commit`] (an early `?`), the transaction rolls back and nothing is
/// announced.
pub struct Write<'db> {
    db: &'db Database,
    tx: sqlx::Transaction<'static, sqlx::Any>,
    ctx: ActorContext,
    changes: Vec<Change>,
}

impl<'db> Write<'db> {
    /// Begins the write transaction ([`Database::begin_write`]) for `ctx`.
    pub async fn begin(db: &'db Database, ctx: &ActorContext) -> CoreResult<Self> {
        Ok(Self {
            db,
            tx: db.begin_write().await?,
            ctx: ctx.clone(),
            changes: Vec::new(),
        })
    }

    /// Writes the audit record of this change for the acting user (see [`record`]).
    pub async fn record(
        &mut self,
        action: &str,
        target: Option<&str>,
        partner_slug: Option<&str>,
        detail: &Value,
    ) -> CoreResult<()> {
        record(
            &mut self.tx,
            &self.ctx,
            action,
            target,
            partner_slug,
            detail,
        )
        .await
    }

    /// Notes a change other caches must see once this write has committed.
    pub fn changed(&mut self, change: Change) {
        if !self.changes.contains(&change) {
            self.changes.push(change);
        }
    }

    /// Commits, then hands every noted change to the process's sink.
    pub async fn commit(self) -> CoreResult<()> {
        self.tx.commit().await?;
        for change in &self.changes {
            self.db.changed(change).await;
        }
        Ok(())
    }
}

impl std::ops::Deref for Write<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for Write<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Writes one audit record for `ctx` on `conn` (inside the caller's transaction).
/// `detail` is a small JSON object and never holds secrets.
pub async fn record(
    conn: &mut AnyConnection,
    ctx: &ActorContext,
    action: &str,
    target: Option<&str>,
    partner_slug: Option<&str>,
    detail: &Value,
) -> CoreResult<()> {
    insert(
        conn,
        &format!("user:{}", ctx.user_id),
        Some(&ctx.email),
        Some(&ctx.client_addr),
        ctx.request_id.as_deref(),
        action,
        target,
        partner_slug,
        detail,
    )
    .await
}

/// Writes one audit record for an unauthenticated caller (e.g. a sign-in block).
pub(crate) async fn record_anonymous(
    conn: &mut AnyConnection,
    client_addr: &str,
    action: &str,
    target: Option<&str>,
    detail: &Value,
) -> CoreResult<()> {
    insert(
        conn,
        "anonymous",
        None,
        Some(client_addr),
        None,
        action,
        target,
        None,
        detail,
    )
    .await
}

#[expect(clippy::too_many_arguments, reason = "one column each")]
async fn insert(
    conn: &mut AnyConnection,
    actor: &str,
    actor_email: Option<&str>,
    client_addr: Option<&str>,
    request_id: Option<&str>,
    action: &str,
    target: Option<&str>,
    partner_slug: Option<&str>,
    detail: &Value,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, occurred_at, actor, actor_email, client_addr, action, target, partner_id, request_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(ids::new_id("aud"))
    .bind(clock::now())
    .bind(actor)
    .bind(actor_email)
    .bind(client_addr)
    .bind(action)
    .bind(target)
    .bind(partner_slug)
    .bind(request_id)
    .bind(detail.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What to search for; every field is optional and they combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events by this user id.
    pub actor_user_id: Option<String>,
    /// Events by this email address (as it was when they acted).
    pub actor_email: Option<String>,
    /// Actions starting with this text, e.g. `application.secret.` or `organisation`.
    pub action_prefix: Option<String>,
    /// Events about this organisation (its slug).
    pub partner_id: Option<String>,
    /// At or after this time.
    pub since: Option<UnixTime>,
    /// Before this time.
    pub until: Option<UnixTime>,
}

/// One audit record as the admin pages show it.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct AuditEntry {
    pub id: String,
    pub occurred_at: UnixTime,
    /// `user:<id>`, `cli`, `system` or `anonymous`.
    pub actor: String,
    pub actor_email: Option<String>,
    pub client_addr: Option<String>,
    pub action: String,
    pub target: Option<String>,
    /// The organisation's slug.
    pub partner_id: Option<String>,
    pub request_id: Option<String>,
    /// JSON object with details.
    pub detail: String,
}

/// A page of results, newest first; pass `next_before` as `before` for the next page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_before: Option<String>,
}

/// Largest page [`search`] returns.
pub const MAX_PAGE: i64 = 500;

enum Param {
    Text(String),
    Int(i64),
}

/// Searches the audit trail, newest first, `limit` entries (1..=500) older than the event id
/// `before` (a cursor from the previous page). No permission check: see [`search_as`].
pub async fn search(
    db: &Database,
    filter: &AuditFilter,
    limit: i64,
    before: Option<&str>,
) -> CoreResult<AuditPage> {
    let limit = limit.clamp(1, MAX_PAGE);
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    let mut push = |sql: &str, param: Param| {
        params.push(param);
        conditions.push(sql.replace("$?", &format!("${}", params.len())));
    };
    if let Some(user_id) = &filter.actor_user_id {
        push("actor = $?", Param::Text(format!("user:{user_id}")));
    }
    if let Some(email) = &filter.actor_email {
        push(
            "actor_email = $?",
            Param::Text(email.trim().to_ascii_lowercase()),
        );
    }
    if let Some(prefix) = filter.action_prefix.as_deref().filter(|p| !p.is_empty()) {
        let escaped = prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        push(
            "action LIKE $? ESCAPE '\\'",
            Param::Text(format!("{escaped}%")),
        );
    }
    if let Some(partner) = &filter.partner_id {
        push("partner_id = $?", Param::Text(partner.clone()));
    }
    if let Some(since) = filter.since {
        push("occurred_at >= $?", Param::Int(since));
    }
    if let Some(until) = filter.until {
        push("occurred_at < $?", Param::Int(until));
    }
    if let Some(before) = before {
        push("id < $?", Param::Text(before.to_owned()));
    }
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT id, occurred_at, actor, actor_email, client_addr, action, target, partner_id, request_id, detail \
         FROM audit_events {where_clause} ORDER BY id DESC LIMIT ${}",
        params.len() + 1
    );
    let mut query = sqlx::query_as::<_, AuditEntry>(&sql);
    for param in params {
        query = match param {
            Param::Text(t) => query.bind(t),
            Param::Int(i) => query.bind(i),
        };
    }
    let entries = query.bind(limit).fetch_all(db.pool()).await?;
    let full = i64::try_from(entries.len()).unwrap_or(i64::MAX) == limit;
    let next_before = if full {
        entries.last().map(|e| e.id.clone())
    } else {
        None
    };
    Ok(AuditPage {
        entries,
        next_before,
    })
}

/// [`search`] with permissions: admins see everything; a member whose role may view logs sees
/// only their own organisation's events (the filter's `partner_id` is forced to it); anyone
/// else is refused.
pub async fn search_as(
    db: &Database,
    ctx: &ActorContext,
    filter: &AuditFilter,
    limit: i64,
    before: Option<&str>,
) -> CoreResult<AuditPage> {
    let mut conn = db.pool().acquire().await?;
    let principal = principal(&mut conn, ctx).await?;
    if principal.is_admin() {
        drop(conn);
        return search(db, filter, limit, before).await;
    }
    let Some((partner_id, role)) = principal.membership() else {
        return Err(CoreError::Forbidden(
            "Join or create an organisation to see its activity.".into(),
        ));
    };
    crate::identity::permissions::require(
        role,
        crate::identity::permissions::PortalAction::ViewLogs,
    )?;
    let slug: String = sqlx::query_scalar("SELECT slug FROM partners WHERE id = $1")
        .bind(partner_id)
        .fetch_one(&mut *conn)
        .await?;
    drop(conn);
    let mut filter = filter.clone();
    filter.partner_id = Some(slug);
    search(db, &filter, limit, before).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use serde_json::json;

    #[tokio::test]
    async fn search_filters_and_pages_newest_first_on_both_engines() {
        for t in TestDatabase::both().await {
            let db = &t.db;
            let ctx = ActorContext {
                user_id: "usr_a".into(),
                email: "a@example.com".into(),
                client_addr: "192.0.2.1".into(),
                request_id: Some("req1".into()),
            };
            let other = ActorContext {
                user_id: "usr_b".into(),
                email: "b@example.com".into(),
                client_addr: "192.0.2.2".into(),
                request_id: None,
            };
            let mut tx = db.begin_write().await.unwrap();
            for i in 0..5 {
                record(
                    &mut tx,
                    &ctx,
                    "application.secret.revoked",
                    Some(&format!("sec_{i}")),
                    Some("acme"),
                    &json!({"i": i}),
                )
                .await
                .unwrap();
            }
            record(
                &mut tx,
                &other,
                "organisation.approved",
                None,
                Some("beta"),
                &json!({}),
            )
            .await
            .unwrap();
            record(&mut tx, &other, "application_x", None, None, &json!({}))
                .await
                .unwrap();
            tx.commit().await.unwrap();

            let all = search(db, &AuditFilter::default(), 100, None)
                .await
                .unwrap();
            assert_eq!(all.entries.len(), 7);
            assert_eq!(all.entries[0].action, "application_x", "newest first");

            let by_prefix = AuditFilter {
                action_prefix: Some("application.".into()),
                ..AuditFilter::default()
            };
            let page1 = search(db, &by_prefix, 3, None).await.unwrap();
            assert_eq!(page1.entries.len(), 3);
            assert_eq!(page1.entries[0].target.as_deref(), Some("sec_4"));
            assert_eq!(
                page1.entries[0].actor_email.as_deref(),
                Some("a@example.com")
            );
            assert_eq!(page1.entries[0].client_addr.as_deref(), Some("192.0.2.1"));
            assert_eq!(page1.entries[0].request_id.as_deref(), Some("req1"));
            let page2 = search(db, &by_prefix, 3, page1.next_before.as_deref())
                .await
                .unwrap();
            assert_eq!(
                page2.entries.len(),
                2,
                "the underscore action does not match"
            );
            assert_eq!(page2.entries[1].target.as_deref(), Some("sec_0"));
            assert_eq!(page2.next_before, None);

            let by_actor = AuditFilter {
                actor_user_id: Some("usr_b".into()),
                partner_id: Some("beta".into()),
                ..AuditFilter::default()
            };
            let found = search(db, &by_actor, 10, None).await.unwrap();
            assert_eq!(found.entries.len(), 1);
            assert_eq!(found.entries[0].action, "organisation.approved");

            let future = AuditFilter {
                since: Some(clock::now() + 3600),
                ..AuditFilter::default()
            };
            assert!(
                search(db, &future, 10, None)
                    .await
                    .unwrap()
                    .entries
                    .is_empty()
            );
            let past = AuditFilter {
                until: Some(clock::now() - 3600),
                ..AuditFilter::default()
            };
            assert!(
                search(db, &past, 10, None)
                    .await
                    .unwrap()
                    .entries
                    .is_empty()
            );
        }
    }
}
