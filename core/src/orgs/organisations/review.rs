//! Admin decisions on organisations: the pending and full lists, approve, reject, suspend, and production access.

use super::*;
use crate::audit;
use crate::changes::Change;
use crate::clock::{self, UnixTime};
use crate::identity;
use crate::identity::ActorContext;
use crate::orgs::partners::PartnerStatus;
use crate::{CoreError, CoreResult, Database};
use serde_json::json;
use sqlx::AnyConnection;

/// An organisation as the admin lists show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganisationSummary {
    pub organisation: Organisation,
    pub creator_email: Option<String>,
    pub member_count: i64,
    pub application_count: i64,
}

async fn summaries(
    conn: &mut AnyConnection,
    status: Option<PartnerStatus>,
) -> CoreResult<Vec<OrganisationSummary>> {
    let sql = format!(
        "SELECT {ORG_COLUMNS} FROM partners {} ORDER BY created_at, id",
        if status.is_some() {
            "WHERE status = $1"
        } else {
            ""
        }
    );
    let mut query = sqlx::query_as::<_, OrgRow>(&sql);
    if let Some(status) = status {
        query = query.bind(status.as_str());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let organisation = Organisation::try_from(row)?;
        let creator_email: Option<String> = match &organisation.created_by {
            Some(id) => {
                sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            None => None,
        };
        let member_count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE partner_id = $1")
                .bind(&organisation.id)
                .fetch_one(&mut *conn)
                .await?;
        let application_count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM applications WHERE partner_id = $1")
                .bind(&organisation.id)
                .fetch_one(&mut *conn)
                .await?;
        out.push(OrganisationSummary {
            organisation,
            creator_email,
            member_count,
            application_count,
        });
    }
    Ok(out)
}

/// Admins: organisations waiting for approval, oldest first.
pub async fn list_pending(
    db: &Database,
    ctx: &ActorContext,
) -> CoreResult<Vec<OrganisationSummary>> {
    let mut conn = db.pool().acquire().await?;
    identity::require_admin(&mut conn, ctx).await?;
    summaries(&mut conn, Some(PartnerStatus::Pending)).await
}

/// Admins: every organisation, oldest first.
pub async fn list_all(db: &Database, ctx: &ActorContext) -> CoreResult<Vec<OrganisationSummary>> {
    let mut conn = db.pool().acquire().await?;
    identity::require_admin(&mut conn, ctx).await?;
    summaries(&mut conn, None).await
}

async fn decide(
    db: &Database,
    ctx: &ActorContext,
    partner_id: &str,
    kind: DecisionKind,
    note: &str,
) -> CoreResult<Organisation> {
    let note = note.trim();
    if note.chars().count() > 2000 {
        return Err(CoreError::Invalid(
            "The note must be at most 2000 characters.".into(),
        ));
    }
    if kind != DecisionKind::Approved && note.is_empty() {
        return Err(CoreError::Invalid(
            "Say why: the organisation's members see this note.".into(),
        ));
    }
    let mut tx = audit::Write::begin(db, ctx).await?;
    identity::require_admin(&mut tx, ctx).await?;
    let org = load(&mut tx, partner_id).await?;
    let (allowed, new_status, action) = match kind {
        DecisionKind::Approved => (
            org.status != PartnerStatus::Approved,
            PartnerStatus::Approved,
            "organisation.approved",
        ),
        DecisionKind::Rejected => (
            org.status == PartnerStatus::Pending,
            PartnerStatus::Suspended,
            "organisation.rejected",
        ),
        DecisionKind::Suspended => (
            org.status != PartnerStatus::Suspended,
            PartnerStatus::Suspended,
            "organisation.suspended",
        ),
    };
    if !allowed {
        return Err(CoreError::Invalid(format!(
            "{} is {}; it cannot be {} now.",
            org.name,
            org.status.as_str(),
            kind.as_str()
        )));
    }
    let now = clock::now();
    sqlx::query(
        "UPDATE partners SET status = $1, decision = $2, decided_by = $3, decided_at = $4, \
         decision_note = $5, updated_at = $4 WHERE id = $6",
    )
    .bind(new_status.as_str())
    .bind(kind.as_str())
    .bind(&ctx.user_id)
    .bind(now)
    .bind(note)
    .bind(partner_id)
    .execute(&mut *tx)
    .await?;
    tx.record(
        action,
        Some(partner_id),
        Some(&org.slug),
        &json!({"from": org.status.as_str(), "note": note}),
    )
    .await?;
    let org = load(&mut tx, partner_id).await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(org)
}

/// Admins: approves a pending (or reinstates a suspended) organisation. Its applications can
/// then get tokens (the token endpoint refuses unapproved partners).
pub async fn approve(
    db: &Database,
    ctx: &ActorContext,
    partner_id: &str,
    note: &str,
) -> CoreResult<Organisation> {
    decide(db, ctx, partner_id, DecisionKind::Approved, note).await
}

/// Admins: rejects a pending organisation (status suspended, decision rejected); `note`
/// required.
pub async fn reject(
    db: &Database,
    ctx: &ActorContext,
    partner_id: &str,
    note: &str,
) -> CoreResult<Organisation> {
    decide(db, ctx, partner_id, DecisionKind::Rejected, note).await
}

/// Admins: suspends an organisation: every application of it stops getting tokens; `note`
/// required.
pub async fn suspend(
    db: &Database,
    ctx: &ActorContext,
    partner_id: &str,
    note: &str,
) -> CoreResult<Organisation> {
    decide(db, ctx, partner_id, DecisionKind::Suspended, note).await
}

/// Production access of an application: who granted it, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductionAccess {
    pub granted_by: String,
    pub granted_at: UnixTime,
}

async fn app_and_org(
    conn: &mut AnyConnection,
    app_id: &str,
) -> CoreResult<(String, String, Option<i64>, Organisation)> {
    let row: Option<(String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT name, status, partner_id, production_granted_at FROM applications WHERE id = $1",
    )
    .bind(app_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (name, status, partner_id, granted) = row.ok_or(CoreError::NotFound {
        what: "application",
    })?;
    let org = load(conn, &partner_id).await?;
    Ok((name, status, granted, org))
}

/// Admins: grants an application production access; only when its organisation is approved
/// and the application is active.
pub async fn grant_production_access(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
) -> CoreResult<ProductionAccess> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    identity::require_admin(&mut tx, ctx).await?;
    let (name, status, granted, org) = app_and_org(&mut tx, app_id).await?;
    if org.status != PartnerStatus::Approved {
        return Err(CoreError::Invalid(format!(
            "Production access needs an approved organisation: {} is {}. Approve the organisation first.",
            org.name,
            org.status.as_str()
        )));
    }
    if status != "active" {
        return Err(CoreError::Invalid(format!(
            "{name} is suspended; reactivate it before granting production access."
        )));
    }
    if granted.is_some() {
        return Err(CoreError::Invalid(format!(
            "{name} already has production access."
        )));
    }
    let now = clock::now();
    sqlx::query(
        "UPDATE applications SET production_granted_by = $1, production_granted_at = $2, updated_at = $2 WHERE id = $3",
    )
    .bind(&ctx.user_id)
    .bind(now)
    .bind(app_id)
    .execute(&mut *tx)
    .await?;
    tx.record(
        "application.production.granted",
        Some(app_id),
        Some(&org.slug),
        &json!({"application": name}),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(ProductionAccess {
        granted_by: ctx.user_id.clone(),
        granted_at: now,
    })
}

/// Admins: takes production access away from an application.
pub async fn revoke_production_access(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
) -> CoreResult<()> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    identity::require_admin(&mut tx, ctx).await?;
    let (name, _, granted, org) = app_and_org(&mut tx, app_id).await?;
    if granted.is_none() {
        return Err(CoreError::Invalid(format!(
            "{name} has no production access."
        )));
    }
    sqlx::query(
        "UPDATE applications SET production_granted_by = NULL, production_granted_at = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(clock::now())
    .bind(app_id)
    .execute(&mut *tx)
    .await?;
    tx.record(
        "application.production.revoked",
        Some(app_id),
        Some(&org.slug),
        &json!({"application": name}),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(())
}
