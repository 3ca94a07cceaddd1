//! Applications as the portal manages them: registration (no scopes granted; requested scopes
//! become scope requests), listings and details, settings, suspension and deletion.
//!
//! Every change is in the database at once, and the token endpoint reads the database; each
//! process caches client lookups for up to 5 s (`tokens::CLIENT_CACHE_TTL`) and the gateway
//! caches API keys and plans as long, so after a change the web layer announces it
//! ([`crate::changes`]): this process and the other replicas empty those caches at once.

use crate::apps::access;
use crate::apps::access::Access;
use crate::apps::applications::{self, AppStatus, Application, Credential, IssuedCredentials};
use crate::apps::credentials::{self, CredentialInfo};
use crate::apps::plans;
use crate::apps::preferences::{self, ProviderPreferences};
use crate::apps::scope_requests::{self, ScopeRequest};
use crate::audit;
use crate::authz::scopes::{ScopeCatalog, Scopes};
use crate::changes::Change;
use crate::clock::{self, UnixTime};
use crate::identity;
use crate::identity::ActorContext;
use crate::identity::permissions::{self, PortalAction};
use crate::orgs::organisations::{self, ProductionAccess};
use crate::orgs::partners::Partner;
use crate::{CoreError, CoreResult, Database};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 2000;

/// What a partner fills in to register an application.
#[derive(Clone, Debug, Default)]
pub struct NewApplication<'a> {
    pub name: &'a str,
    pub description: &'a str,
    /// Scopes to request (each becomes a pending scope request; none is granted yet).
    pub requested_scopes: Scopes,
    /// Why the scopes are needed; required when scopes are requested.
    pub justification: &'a str,
    /// CIDRs separated by spaces, commas or newlines; empty = any address.
    pub ip_allowlist: &'a str,
    pub preferences: ProviderPreferences,
}

/// Who suspended an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuspensionSource {
    /// A member (owner) of the organisation: members may reactivate it.
    Member,
    /// A platform admin: only an admin may reactivate it.
    Admin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suspension {
    pub by: String,
    pub at: UnixTime,
    pub source: SuspensionSource,
}

/// An application with what the portal lists about it.
#[derive(Clone, Debug, PartialEq)]
pub struct AppSummary {
    /// Id, client id, organisation slug and status, name, status, granted scopes, plan.
    pub app: Application,
    /// The organisation's internal id and name.
    pub organisation_id: String,
    pub organisation_name: String,
    pub description: String,
    pub created_by: Option<String>,
    pub production: Option<ProductionAccess>,
    pub suspension: Option<Suspension>,
    /// Scopes waiting for an admin's decision.
    pub pending_scopes: Vec<String>,
    /// Normalised CIDRs separated by spaces; empty = any address.
    pub ip_allowlist: String,
    pub preferences: ProviderPreferences,
}

/// Everything the application page shows (never a secret's value).
#[derive(Clone, Debug, PartialEq)]
pub struct AppDetail {
    pub summary: AppSummary,
    pub secrets: Vec<CredentialInfo>,
    pub api_keys: Vec<CredentialInfo>,
    pub scope_requests: Vec<ScopeRequest>,
}

#[derive(FromRow)]
struct ExtraRow {
    organisation_id: String,
    organisation_name: String,
    description: String,
    created_by: Option<String>,
    production_granted_by: Option<String>,
    production_granted_at: Option<i64>,
    suspended_by: Option<String>,
    suspended_at: Option<i64>,
    suspension_source: Option<String>,
    ip_allowlist: String,
    provider_preferences: String,
}

pub(crate) async fn summary_in(conn: &mut AnyConnection, app_id: &str) -> CoreResult<AppSummary> {
    let not_found = || CoreError::NotFound {
        what: "application",
    };
    let app = applications::find_by_id(conn, app_id)
        .await?
        .ok_or_else(not_found)?;
    let row: ExtraRow = sqlx::query_as(
        "SELECT p.id AS organisation_id, p.name AS organisation_name, a.description, a.created_by, \
         a.production_granted_by, a.production_granted_at, a.suspended_by, a.suspended_at, \
         a.suspension_source, a.ip_allowlist, a.provider_preferences \
         FROM applications a JOIN partners p ON p.id = a.partner_id WHERE a.id = $1",
    )
    .bind(app_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(not_found)?;
    let pending_scopes: Vec<String> = sqlx::query_scalar(
        "SELECT scope FROM scope_requests WHERE application_id = $1 AND status = 'pending' ORDER BY scope",
    )
    .bind(app_id)
    .fetch_all(&mut *conn)
    .await?;
    let production = match (row.production_granted_by, row.production_granted_at) {
        (Some(granted_by), Some(granted_at)) => Some(ProductionAccess {
            granted_by,
            granted_at,
        }),
        _ => None,
    };
    let suspension = match (app.status, row.suspended_by, row.suspended_at) {
        (AppStatus::Suspended, Some(by), Some(at)) => Some(Suspension {
            by,
            at,
            source: if row.suspension_source.as_deref() == Some("admin") {
                SuspensionSource::Admin
            } else {
                SuspensionSource::Member
            },
        }),
        _ => None,
    };
    Ok(AppSummary {
        preferences: preferences::parse_stored(&app.id, &row.provider_preferences),
        app,
        organisation_id: row.organisation_id,
        organisation_name: row.organisation_name,
        description: row.description,
        created_by: row.created_by,
        production,
        suspension,
        pending_scopes,
        ip_allowlist: row.ip_allowlist,
    })
}

fn clean_description(description: &str) -> CoreResult<String> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(CoreError::Invalid(format!(
            "The description must be at most {MAX_DESCRIPTION} characters."
        )));
    }
    Ok(description.to_owned())
}

fn preferences_json(preferences: &ProviderPreferences) -> CoreResult<String> {
    serde_json::to_string(preferences)
        .map_err(|e| CoreError::Invalid(format!("unstorable preferences: {e}")))
}

/// Registers an application in the caller's organisation: no scope granted (each requested
/// scope becomes a pending scope request, and a justification is then required), a primary
/// client secret and an API key (returned once, never again), the IP allowlist and provider
/// preferences. The organisation may still be pending: the token endpoint refuses its
/// applications until an admin approves it. Requested scopes must be in `known`.
pub async fn register_application(
    db: &Database,
    ctx: &ActorContext,
    known: &ScopeCatalog,
    new: &NewApplication<'_>,
) -> CoreResult<(AppSummary, IssuedCredentials)> {
    let description = clean_description(new.description)?;
    known.check(&new.requested_scopes)?;
    let justification = new.justification.trim();
    if !new.requested_scopes.is_empty() && justification.is_empty() {
        return Err(CoreError::Invalid(
            "Explain why the application needs the scopes you request.".into(),
        ));
    }
    let allowlist = plans::format_allowlist(&plans::parse_allowlist(new.ip_allowlist)?);
    let prefs = preferences_json(&new.preferences)?;
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (_, partner_id, _) =
        identity::require_member(&mut tx, ctx, PortalAction::RegisterApplication).await?;
    let org = organisations::load(&mut tx, &partner_id).await?;
    let partner = Partner {
        id: org.id.clone(),
        slug: org.slug.clone(),
        name: org.name.clone(),
        status: org.status,
        created_at: org.created_at,
    };
    let (app, credentials) = applications::create(
        &mut tx,
        &partner,
        new.name,
        &Scopes::default(),
        plans::DEFAULT_PLAN,
    )
    .await
    .map_err(|e| match e {
        CoreError::Conflict(_) => CoreError::Conflict(format!(
            "Your organisation already has an application named {:?}.",
            new.name.trim()
        )),
        e => e,
    })?;
    sqlx::query(
        "UPDATE applications SET description = $1, created_by = $2, ip_allowlist = $3, provider_preferences = $4 WHERE id = $5",
    )
    .bind(&description)
    .bind(&ctx.user_id)
    .bind(&allowlist)
    .bind(&prefs)
    .bind(&app.id)
    .execute(&mut *tx)
    .await?;
    if !new.requested_scopes.is_empty() {
        scope_requests::insert_pending(
            &mut tx,
            &app.id,
            &Scopes::default(),
            &new.requested_scopes,
            justification,
            &ctx.user_id,
        )
        .await?;
    }
    tx.record(
        "application.registered",
        Some(&app.id),
        Some(&org.slug),
        &json!({"name": app.name, "client_id": app.client_id,
                "requested_scopes": new.requested_scopes.to_string()}),
    )
    .await?;
    let summary = summary_in(&mut tx, &app.id).await?;
    tx.commit().await?;
    Ok((summary, credentials))
}

/// The applications of an organisation, oldest first, for its members (and admins).
pub async fn list_applications(
    db: &Database,
    ctx: &ActorContext,
    partner_id: &str,
) -> CoreResult<Vec<AppSummary>> {
    let mut conn = db.pool().acquire().await?;
    let principal = identity::principal(&mut conn, ctx).await?;
    match principal.membership() {
        Some((partner, role)) if partner == partner_id => {
            permissions::require(role, PortalAction::ViewApplications)?;
        }
        _ if principal.is_admin() => {}
        _ => {
            return Err(CoreError::NotFound {
                what: "organisation",
            });
        }
    }
    summaries_where(&mut conn, Some(partner_id)).await
}

/// Admins: every application, oldest first.
pub async fn list_all_applications(
    db: &Database,
    ctx: &ActorContext,
) -> CoreResult<Vec<AppSummary>> {
    let mut conn = db.pool().acquire().await?;
    identity::require_admin(&mut conn, ctx).await?;
    summaries_where(&mut conn, None).await
}

async fn summaries_where(
    conn: &mut AnyConnection,
    partner_id: Option<&str>,
) -> CoreResult<Vec<AppSummary>> {
    let ids: Vec<String> = match partner_id {
        Some(p) => {
            sqlx::query_scalar(
                "SELECT id FROM applications WHERE partner_id = $1 ORDER BY created_at, id",
            )
            .bind(p)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_scalar("SELECT id FROM applications ORDER BY created_at, id")
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(summary_in(conn, &id).await?);
    }
    Ok(out)
}

/// The application page: summary, secrets, API keys and scope requests.
pub async fn application_detail(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
) -> CoreResult<AppDetail> {
    let mut conn = db.pool().acquire().await?;
    access::authorize_app_in(&mut conn, ctx, app_id, PortalAction::ViewApplications).await?;
    Ok(AppDetail {
        summary: summary_in(&mut conn, app_id).await?,
        secrets: credentials::list_in(&mut conn, Credential::ClientSecret, app_id).await?,
        api_keys: credentials::list_in(&mut conn, Credential::ApiKey, app_id).await?,
        scope_requests: scope_requests::list_in(&mut conn, app_id).await?,
    })
}

/// Changes description, IP allowlist and provider preferences together.
pub async fn update_settings(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    description: &str,
    ip_allowlist: &str,
    preferences: &ProviderPreferences,
) -> CoreResult<AppSummary> {
    let description = clean_description(description)?;
    let allowlist = plans::format_allowlist(&plans::parse_allowlist(ip_allowlist)?);
    let prefs = preferences_json(preferences)?;
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::EditApplicationSettings)
            .await?;
    sqlx::query(
        "UPDATE applications SET description = $1, ip_allowlist = $2, provider_preferences = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(&description)
    .bind(&allowlist)
    .bind(&prefs)
    .bind(clock::now())
    .bind(app_id)
    .execute(&mut *tx)
    .await?;
    tx.record(
        "application.settings.changed",
        Some(app_id),
        Some(&app.partner_id),
        &json!({"ip_allowlist": allowlist, "provider_preferences": preferences}),
    )
    .await?;
    let summary = summary_in(&mut tx, app_id).await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(summary)
}

/// Suspends an application (owners, or admins on any application): the token endpoint refuses
/// it (`unauthorized_client`). An admin's suspension can only be lifted by an admin.
pub async fn suspend(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    reason: &str,
) -> CoreResult<()> {
    let reason = reason.trim();
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, principal, access) = access::authorize_app_in(
        &mut tx,
        ctx,
        app_id,
        PortalAction::SuspendOrDeleteApplication,
    )
    .await?;
    if app.status == AppStatus::Suspended {
        return Err(CoreError::Invalid(format!(
            "{} is already suspended.",
            app.name
        )));
    }
    let source = if principal.is_admin() || access == Access::Admin {
        "admin"
    } else {
        "member"
    };
    let now = clock::now();
    sqlx::query(
        "UPDATE applications SET status = 'suspended', suspended_by = $1, suspended_at = $2, \
         suspension_source = $3, updated_at = $2 WHERE id = $4",
    )
    .bind(&ctx.user_id)
    .bind(now)
    .bind(source)
    .bind(app_id)
    .execute(&mut *tx)
    .await?;
    tx.record(
        "application.suspended",
        Some(app_id),
        Some(&app.partner_id),
        &json!({"name": app.name, "by": source, "reason": reason}),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(())
}

/// Lifts a suspension (same permission as [`suspend`]; an admin's suspension needs an admin).
pub async fn reactivate(db: &Database, ctx: &ActorContext, app_id: &str) -> CoreResult<()> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, principal, _) = access::authorize_app_in(
        &mut tx,
        ctx,
        app_id,
        PortalAction::SuspendOrDeleteApplication,
    )
    .await?;
    if app.status == AppStatus::Active {
        return Err(CoreError::Invalid(format!(
            "{} is not suspended.",
            app.name
        )));
    }
    let source: Option<String> =
        sqlx::query_scalar("SELECT suspension_source FROM applications WHERE id = $1")
            .bind(app_id)
            .fetch_one(&mut *tx)
            .await?;
    if source.as_deref() == Some("admin") && !principal.is_admin() {
        return Err(CoreError::Forbidden(
            "A platform administrator suspended this application; contact the platform team to reactivate it.".into(),
        ));
    }
    sqlx::query(
        "UPDATE applications SET status = 'active', suspended_by = NULL, suspended_at = NULL, \
         suspension_source = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(clock::now())
    .bind(app_id)
    .execute(&mut *tx)
    .await?;
    tx.record(
        "application.reactivated",
        Some(app_id),
        Some(&app.partner_id),
        &json!({"name": app.name}),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(())
}

/// Deletes an application and everything that belongs to it (secrets, API keys, limits,
/// scope requests) in one transaction; its client id then fails client authentication.
/// The request log and audit trail keep their history. Returns the deleted client id.
pub async fn delete_application(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
) -> CoreResult<String> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) = access::authorize_app_in(
        &mut tx,
        ctx,
        app_id,
        PortalAction::SuspendOrDeleteApplication,
    )
    .await?;
    for sql in [
        "DELETE FROM scope_requests WHERE application_id = $1",
        "DELETE FROM client_secrets WHERE application_id = $1",
        "DELETE FROM api_keys WHERE application_id = $1",
        "DELETE FROM application_limits WHERE application_id = $1",
        "DELETE FROM applications WHERE id = $1",
    ] {
        sqlx::query(sql).bind(app_id).execute(&mut *tx).await?;
    }
    tx.record(
        "application.deleted",
        Some(app_id),
        Some(&app.partner_id),
        &json!({"name": app.name, "client_id": app.client_id}),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(app.client_id)
}

/// Test fixtures shared by the portal modules' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::identity::permissions::MemberRole;
    use crate::identity::users::{self, Role};
    use crate::orgs::organisations::Organisation;

    /// A new user without password (no argon2 cost) and their context.
    pub async fn user(db: &Database, email: &str, role: Role) -> ActorContext {
        let mut conn = db.pool().acquire().await.unwrap();
        let user = users::create(&mut conn, email, role).await.unwrap();
        ActorContext::new(&user, "192.0.2.10")
    }

    /// An owner with a fresh organisation.
    pub async fn owner_with_org(
        db: &Database,
        email: &str,
        name: &str,
    ) -> (ActorContext, Organisation) {
        let owner = user(db, email, Role::Partner).await;
        let org = organisations::create_organisation(db, &owner, name, email, true)
            .await
            .unwrap();
        (owner, org)
    }

    /// A user who joined `owner`'s organisation with `role` through an invitation.
    pub async fn member(
        db: &Database,
        owner: &ActorContext,
        email: &str,
        role: MemberRole,
    ) -> ActorContext {
        let ctx = user(db, email, Role::Partner).await;
        let (_, token) = organisations::create_invitation(db, owner, Some(email), role)
            .await
            .unwrap();
        organisations::accept_invitation(db, &ctx, &token)
            .await
            .unwrap();
        ctx
    }

    /// An application registered by `ctx` with no scope requested.
    pub async fn app(
        db: &Database,
        ctx: &ActorContext,
        name: &str,
    ) -> (AppSummary, IssuedCredentials) {
        register_application(
            db,
            ctx,
            &crate::testing::shipped_scopes(),
            &NewApplication {
                name,
                ..NewApplication::default()
            },
        )
        .await
        .unwrap()
    }
}

#[cfg(test)]
mod tests;
