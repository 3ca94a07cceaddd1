//! Scope requests: partners ask for scopes with a reason, admins approve or deny them.
//! Approval adds the scope to `applications.scopes` in the same transaction, so tokens issued
//! afterwards can carry it; a denied or revoked scope is not in `applications.scopes`, so the
//! token endpoint refuses it (`invalid_scope`).

use crate::apps::access;
use crate::audit;
use crate::authz::scopes::{ScopeCatalog, Scopes};
use crate::changes::Change;
use crate::clock::{self, UnixTime};
use crate::identity;
use crate::identity::ActorContext;
use crate::identity::permissions::PortalAction;
use crate::orgs::partners::PartnerStatus;
use crate::{CoreError, CoreResult, Database, ids};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

/// Longest reason or note, in characters.
pub const MAX_TEXT: usize = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestStatus {
    Pending,
    Approved,
    Denied,
    /// Approved once, revoked later by an admin.
    Revoked,
    /// Withdrawn by the partner before a decision.
    Withdrawn,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Denied => "denied",
            RequestStatus::Revoked => "revoked",
            RequestStatus::Withdrawn => "withdrawn",
        }
    }
}

impl TryFrom<String> for RequestStatus {
    type Error = CoreError;
    fn try_from(s: String) -> CoreResult<Self> {
        match s.as_str() {
            "pending" => Ok(RequestStatus::Pending),
            "approved" => Ok(RequestStatus::Approved),
            "denied" => Ok(RequestStatus::Denied),
            "revoked" => Ok(RequestStatus::Revoked),
            "withdrawn" => Ok(RequestStatus::Withdrawn),
            other => Err(CoreError::Invalid(format!(
                "unknown scope request status {other:?}"
            ))),
        }
    }
}

/// One requested scope of one application.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct ScopeRequest {
    pub id: String,
    pub application_id: String,
    pub scope: String,
    #[sqlx(try_from = "String")]
    pub status: RequestStatus,
    pub reason: String,
    /// User id.
    pub requested_by: String,
    pub requested_at: UnixTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<UnixTime>,
    pub decision_note: Option<String>,
}

const COLUMNS: &str = "id, application_id, scope, status, reason, requested_by, requested_at, decided_by, decided_at, decision_note";

fn clean_text(text: &str, what: &str) -> CoreResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CoreError::Invalid(format!("Please give a {what}.")));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(CoreError::Invalid(format!(
            "The {what} must be at most {MAX_TEXT} characters."
        )));
    }
    Ok(text.to_owned())
}

/// Inserts pending requests for `scopes` (checked: not granted, not pending; the caller has
/// checked that they are known).
pub(crate) async fn insert_pending(
    conn: &mut AnyConnection,
    app_id: &str,
    granted: &Scopes,
    requested: &Scopes,
    reason: &str,
    user_id: &str,
) -> CoreResult<Vec<ScopeRequest>> {
    let pending: Vec<String> = sqlx::query_scalar(
        "SELECT scope FROM scope_requests WHERE application_id = $1 AND status = 'pending'",
    )
    .bind(app_id)
    .fetch_all(&mut *conn)
    .await?;
    let now = clock::now();
    let mut out = Vec::new();
    for scope in requested.iter() {
        if granted.contains(scope) {
            return Err(CoreError::Invalid(format!(
                "{scope:?} is already granted to this application."
            )));
        }
        if pending.iter().any(|p| p == scope) {
            return Err(CoreError::Invalid(format!(
                "{scope:?} is already waiting for an administrator's decision."
            )));
        }
        let request = ScopeRequest {
            id: ids::new_id("scr"),
            application_id: app_id.to_owned(),
            scope: scope.to_owned(),
            status: RequestStatus::Pending,
            reason: reason.to_owned(),
            requested_by: user_id.to_owned(),
            requested_at: now,
            decided_by: None,
            decided_at: None,
            decision_note: None,
        };
        sqlx::query(
            "INSERT INTO scope_requests (id, application_id, scope, status, reason, requested_by, requested_at) \
             VALUES ($1, $2, $3, 'pending', $4, $5, $6)",
        )
        .bind(&request.id)
        .bind(app_id)
        .bind(scope)
        .bind(reason)
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        out.push(request);
    }
    Ok(out)
}

/// Asks for `requested` scopes on an application, with a reason. Scopes outside `known`,
/// already granted and already pending scopes are refused with a message naming them.
pub async fn request_scopes(
    db: &Database,
    ctx: &ActorContext,
    known: &ScopeCatalog,
    app_id: &str,
    requested: &Scopes,
    reason: &str,
) -> CoreResult<Vec<ScopeRequest>> {
    if requested.is_empty() {
        return Err(CoreError::Invalid("Choose at least one scope.".into()));
    }
    known.check(requested)?;
    let reason = clean_text(reason, "reason for the request")?;
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::RequestScopes).await?;
    let created = insert_pending(
        &mut tx,
        app_id,
        &app.scopes,
        requested,
        &reason,
        &ctx.user_id,
    )
    .await?;
    tx.record(
        "application.scope.requested",
        Some(app_id),
        Some(&app.partner_id),
        &json!({"scopes": requested.to_string(), "reason": reason}),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Withdraws a pending request of the caller's application.
pub async fn withdraw(db: &Database, ctx: &ActorContext, request_id: &str) -> CoreResult<()> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let request = load(&mut tx, request_id).await?;
    let (app, _, _) = access::authorize_app_in(
        &mut tx,
        ctx,
        &request.application_id,
        PortalAction::RequestScopes,
    )
    .await?;
    if request.status != RequestStatus::Pending {
        return Err(CoreError::Invalid(
            "Only a pending request can be withdrawn.".into(),
        ));
    }
    set_status(
        &mut tx,
        request_id,
        RequestStatus::Withdrawn,
        &ctx.user_id,
        "",
    )
    .await?;
    tx.record(
        "application.scope.withdrawn",
        Some(&request.application_id),
        Some(&app.partner_id),
        &json!({"scope": request.scope, "request": request_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn load(conn: &mut AnyConnection, request_id: &str) -> CoreResult<ScopeRequest> {
    sqlx::query_as::<_, ScopeRequest>(&format!(
        "SELECT {COLUMNS} FROM scope_requests WHERE id = $1"
    ))
    .bind(request_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(CoreError::NotFound {
        what: "scope request",
    })
}

async fn set_status(
    conn: &mut AnyConnection,
    request_id: &str,
    status: RequestStatus,
    by: &str,
    note: &str,
) -> CoreResult<()> {
    sqlx::query(
        "UPDATE scope_requests SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4 WHERE id = $5",
    )
    .bind(status.as_str())
    .bind(by)
    .bind(clock::now())
    .bind(note)
    .bind(request_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The requests of one application, newest first (for members who may view it, and admins).
pub async fn list_for_application(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
) -> CoreResult<Vec<ScopeRequest>> {
    let mut conn = db.pool().acquire().await?;
    access::authorize_app_in(&mut conn, ctx, app_id, PortalAction::ViewApplications).await?;
    list_in(&mut conn, app_id).await
}

pub(crate) async fn list_in(
    conn: &mut AnyConnection,
    app_id: &str,
) -> CoreResult<Vec<ScopeRequest>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM scope_requests WHERE application_id = $1 ORDER BY id DESC"
    ))
    .bind(app_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// A pending request as the admin queue shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingItem {
    pub request: ScopeRequest,
    pub application_name: String,
    pub client_id: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub organisation_slug: String,
    pub organisation_status: PartnerStatus,
    pub requester_email: Option<String>,
    /// Seconds since the request was made.
    pub age_secs: i64,
}

#[derive(FromRow)]
struct PendingRow {
    #[sqlx(flatten)]
    request: ScopeRequest,
    application_name: String,
    client_id: String,
    organisation_id: String,
    organisation_name: String,
    organisation_slug: String,
    organisation_status: String,
    requester_email: Option<String>,
}

/// Admins: every pending request, oldest first.
pub async fn pending_queue(db: &Database, ctx: &ActorContext) -> CoreResult<Vec<PendingItem>> {
    let mut conn = db.pool().acquire().await?;
    identity::require_admin(&mut conn, ctx).await?;
    let rows: Vec<PendingRow> = sqlx::query_as(
        "SELECT r.id, r.application_id, r.scope, r.status, r.reason, r.requested_by, r.requested_at, \
         r.decided_by, r.decided_at, r.decision_note, \
         a.name AS application_name, a.client_id, p.id AS organisation_id, p.name AS organisation_name, \
         p.slug AS organisation_slug, p.status AS organisation_status, u.email AS requester_email \
         FROM scope_requests r JOIN applications a ON a.id = r.application_id \
         JOIN partners p ON p.id = a.partner_id LEFT JOIN users u ON u.id = r.requested_by \
         WHERE r.status = 'pending' ORDER BY r.requested_at, r.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let now = clock::now();
    rows.into_iter()
        .map(|row| {
            Ok(PendingItem {
                age_secs: (now - row.request.requested_at).max(0),
                organisation_status: match row.organisation_status.as_str() {
                    "approved" => PartnerStatus::Approved,
                    "suspended" => PartnerStatus::Suspended,
                    _ => PartnerStatus::Pending,
                },
                request: row.request,
                application_name: row.application_name,
                client_id: row.client_id,
                organisation_id: row.organisation_id,
                organisation_name: row.organisation_name,
                organisation_slug: row.organisation_slug,
                requester_email: row.requester_email,
            })
        })
        .collect()
}

async fn app_scopes(conn: &mut AnyConnection, app_id: &str) -> CoreResult<(Scopes, String)> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT a.scopes, p.slug FROM applications a JOIN partners p ON p.id = a.partner_id WHERE a.id = $1",
    )
    .bind(app_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (scopes, slug) = row.ok_or(CoreError::NotFound {
        what: "application",
    })?;
    Ok((Scopes::parse(&scopes)?, slug))
}

async fn store_scopes(conn: &mut AnyConnection, app_id: &str, scopes: &Scopes) -> CoreResult<()> {
    sqlx::query("UPDATE applications SET scopes = $1, updated_at = $2 WHERE id = $3")
        .bind(scopes.to_string())
        .bind(clock::now())
        .bind(app_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Admins: approves (adding the scope to the application, same transaction) or denies (a
/// note is then required; the partner sees it) a pending request.
pub async fn decide(
    db: &Database,
    ctx: &ActorContext,
    request_id: &str,
    approve: bool,
    note: &str,
) -> CoreResult<ScopeRequest> {
    let note = note.trim();
    if !approve && note.is_empty() {
        return Err(CoreError::Invalid(
            "Say why the request is denied: the partner sees this note.".into(),
        ));
    }
    if note.chars().count() > MAX_TEXT {
        return Err(CoreError::Invalid(format!(
            "The note must be at most {MAX_TEXT} characters."
        )));
    }
    let mut tx = audit::Write::begin(db, ctx).await?;
    identity::require_admin(&mut tx, ctx).await?;
    let request = load(&mut tx, request_id).await?;
    if request.status != RequestStatus::Pending {
        return Err(CoreError::Invalid(format!(
            "This request is already {}.",
            request.status.as_str()
        )));
    }
    let (granted, slug) = app_scopes(&mut tx, &request.application_id).await?;
    let status = if approve {
        let scopes = Scopes::parse(&format!("{granted} {}", request.scope))?;
        store_scopes(&mut tx, &request.application_id, &scopes).await?;
        RequestStatus::Approved
    } else {
        RequestStatus::Denied
    };
    set_status(&mut tx, request_id, status, &ctx.user_id, note).await?;
    let action = if approve {
        "application.scope.approved"
    } else {
        "application.scope.denied"
    };
    tx.record(
        action,
        Some(&request.application_id),
        Some(&slug),
        &json!({"scope": request.scope, "request": request_id, "note": note}),
    )
    .await?;
    let decided = load(&mut tx, request_id).await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(decided)
}

/// Admins: takes a granted scope away from an application (a note is required). New tokens
/// cannot carry it; tokens already issued keep it until they expire (at most the token TTL).
pub async fn revoke_scope(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    scope: &str,
    note: &str,
) -> CoreResult<()> {
    let note = clean_text(note, "reason for revoking the scope")?;
    let mut tx = audit::Write::begin(db, ctx).await?;
    identity::require_admin(&mut tx, ctx).await?;
    let (granted, slug) = app_scopes(&mut tx, app_id).await?;
    if !granted.contains(scope) {
        return Err(CoreError::Invalid(format!(
            "{scope:?} is not granted to this application."
        )));
    }
    let remaining = Scopes::parse(
        &granted
            .iter()
            .filter(|s| *s != scope)
            .collect::<Vec<_>>()
            .join(" "),
    )?;
    store_scopes(&mut tx, app_id, &remaining).await?;
    sqlx::query(
        "UPDATE scope_requests SET status = 'revoked', decided_by = $1, decided_at = $2, decision_note = $3 \
         WHERE application_id = $4 AND scope = $5 AND status = 'approved'",
    )
    .bind(&ctx.user_id)
    .bind(clock::now())
    .bind(&note)
    .bind(app_id)
    .bind(scope)
    .execute(&mut *tx)
    .await?;
    tx.record(
        "application.scope.revoked",
        Some(app_id),
        Some(&slug),
        &json!({"scope": scope, "note": note}),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::manage::fixtures;
    use crate::audit::{AuditFilter, search};
    use crate::identity::permissions::MemberRole;
    use crate::identity::users::Role;
    use crate::orgs::organisations;
    use crate::secret::PlainSecret;
    use crate::testing::{TestDatabase, token_service};
    use crate::tokens::IssueError;

    fn scopes(s: &str) -> Scopes {
        Scopes::parse(s).unwrap()
    }

    fn invalid<T: std::fmt::Debug>(r: CoreResult<T>) -> String {
        match r {
            Err(CoreError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn requests_are_checked_queued_and_decided_into_tokens() {
        let known = crate::testing::shipped_scopes();
        for t in TestDatabase::both().await {
            let db = &t.db;
            let admin = fixtures::user(db, "root@portico.example", Role::Admin).await;
            let (owner, org) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
            organisations::approve(db, &admin, &org.id, "")
                .await
                .unwrap();
            let (app, creds) = fixtures::app(db, &owner, "Shop").await;
            let app_id = app.app.id.as_str();

            let m = invalid(
                request_scopes(db, &owner, &known, app_id, &scopes("bogus:scope"), "x").await,
            );
            assert_eq!(
                m,
                "Unknown scope \"bogus:scope\"; the known scopes are commercial:read, commercial:write, logs:read, users:admin."
            );
            assert!(
                invalid(
                    request_scopes(db, &owner, &known, app_id, &scopes("commercial:read"), " ")
                        .await
                )
                .contains("reason")
            );
            let viewer = fixtures::member(db, &owner, "v@acme.example", MemberRole::Viewer).await;
            assert!(matches!(
                request_scopes(db, &viewer, &known, app_id, &scopes("commercial:read"), "x").await,
                Err(CoreError::Forbidden(_))
            ));
            let created = request_scopes(
                db,
                &owner,
                &known,
                app_id,
                &scopes("commercial:read users:admin"),
                "we list orders",
            )
            .await
            .unwrap();
            assert_eq!(created.len(), 2);
            let m = invalid(
                request_scopes(
                    db,
                    &owner,
                    &known,
                    app_id,
                    &scopes("commercial:read"),
                    "again",
                )
                .await,
            );
            assert!(m.contains("already waiting"), "{m}");

            // The admin queue, with names and the requester.
            assert!(matches!(
                pending_queue(db, &owner).await,
                Err(CoreError::Forbidden(_))
            ));
            let queue = pending_queue(db, &admin).await.unwrap();
            assert_eq!(queue.len(), 2);
            assert_eq!(queue[0].application_name, "Shop");
            assert_eq!(queue[0].organisation_name, "Acme");
            assert_eq!(
                queue[0].requester_email.as_deref(),
                Some("own@acme.example")
            );
            assert_eq!(queue[0].request.reason, "we list orders");
            assert!(queue[0].age_secs >= 0);

            let read = created
                .iter()
                .find(|r| r.scope == "commercial:read")
                .unwrap();
            let admin_scope = created.iter().find(|r| r.scope == "users:admin").unwrap();
            assert!(matches!(
                decide(db, &owner, &read.id, true, "").await,
                Err(CoreError::Forbidden(_))
            ));
            assert!(
                invalid(decide(db, &admin, &admin_scope.id, false, "").await).contains("Say why")
            );
            let approved = decide(db, &admin, &read.id, true, "ok").await.unwrap();
            assert_eq!(approved.status, RequestStatus::Approved);
            assert_eq!(approved.decided_by.as_deref(), Some(admin.user_id.as_str()));
            let denied = decide(db, &admin, &admin_scope.id, false, "humans only")
                .await
                .unwrap();
            assert_eq!(denied.status, RequestStatus::Denied);
            assert!(
                invalid(decide(db, &admin, &read.id, false, "again").await)
                    .contains("already approved")
            );
            assert!(pending_queue(db, &admin).await.unwrap().is_empty());

            // Visible in applications.scopes, and so in tokens.
            let mut conn = db.pool().acquire().await.unwrap();
            let stored = crate::apps::applications::find_by_id(&mut conn, app_id)
                .await
                .unwrap()
                .unwrap();
            drop(conn);
            assert_eq!(stored.scopes.to_string(), "commercial:read");
            let tokens = token_service(db).await;
            let secret = PlainSecret::from_presented(creds.client_secret.expose());
            let client = tokens
                .authenticate_client(&creds.client_id, &secret)
                .await
                .unwrap();
            let issued = tokens.issue(&client, None).unwrap();
            assert_eq!(issued.scope.to_string(), "commercial:read");
            assert!(matches!(
                tokens.issue(&client, Some(&scopes("users:admin"))),
                Err(IssueError::InvalidScope(_))
            ));
            let m = invalid(
                request_scopes(
                    db,
                    &owner,
                    &known,
                    app_id,
                    &scopes("commercial:read"),
                    "more",
                )
                .await,
            );
            assert!(m.contains("already granted"), "{m}");

            // Revocation takes it out again; the token endpoint then refuses it.
            assert!(
                invalid(revoke_scope(db, &admin, app_id, "commercial:write", "x").await)
                    .contains("not granted")
            );
            revoke_scope(db, &admin, app_id, "commercial:read", "contract ended")
                .await
                .unwrap();
            tokens.forget_client(&creds.client_id);
            let client = tokens
                .authenticate_client(&creds.client_id, &secret)
                .await
                .unwrap();
            assert!(matches!(
                tokens.issue(&client, Some(&scopes("commercial:read"))),
                Err(IssueError::InvalidScope(_))
            ));
            let history = list_for_application(db, &owner, app_id).await.unwrap();
            let statuses: Vec<RequestStatus> = history.iter().map(|r| r.status).collect();
            assert!(statuses.contains(&RequestStatus::Revoked));
            assert!(statuses.contains(&RequestStatus::Denied));
            // A revoked scope may be asked for again, and withdrawn.
            let again = request_scopes(
                db,
                &owner,
                &known,
                app_id,
                &scopes("commercial:read"),
                "new contract",
            )
            .await
            .unwrap();
            withdraw(db, &owner, &again[0].id).await.unwrap();
            assert!(pending_queue(db, &admin).await.unwrap().is_empty());

            let events = search(
                db,
                &AuditFilter {
                    action_prefix: Some("application.scope.".into()),
                    ..AuditFilter::default()
                },
                50,
                None,
            )
            .await
            .unwrap();
            let actions: Vec<&str> = events.entries.iter().map(|e| e.action.as_str()).collect();
            assert_eq!(
                actions,
                [
                    "application.scope.withdrawn",
                    "application.scope.requested",
                    "application.scope.revoked",
                    "application.scope.denied",
                    "application.scope.approved",
                    "application.scope.requested"
                ]
            );
        }
    }
}
