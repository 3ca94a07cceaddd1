//! Invitations into an organisation: one-time tokens, shown once, accepted by a signed-in user.

use super::*;
use crate::audit;
use crate::clock::{self, UnixTime};
use crate::identity;
use crate::identity::ActorContext;
use crate::identity::email;
use crate::identity::permissions::{MemberRole, PortalAction};
use crate::orgs::partners::PartnerStatus;
use crate::secret::PlainSecret;
use crate::{CoreError, CoreResult, Database, ids};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sqlx::FromRow;

/// An invitation into an organisation (its token is only ever shown at creation).
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct Invitation {
    pub id: String,
    pub partner_id: String,
    /// Only this address may accept; None = anyone with the link.
    pub email: Option<String>,
    #[sqlx(try_from = "String")]
    pub role: MemberRole,
    pub invited_by: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub accepted_by: Option<String>,
    pub accepted_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
}

const INVITATION_COLUMNS: &str = "id, partner_id, email, role, invited_by, created_at, expires_at, accepted_by, accepted_at, revoked_at";

fn new_invitation_token() -> PlainSecret {
    let mut bytes = [0u8; 32];
    crate::secret::fill_random(&mut bytes);
    PlainSecret::from_presented(format!(
        "{INVITATION_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// Invites someone into the caller's organisation (owners only) with `role`. Returns the
/// invitation and its link token (`pin_…`, shown once; only its SHA-256 is stored), valid for
/// seven days and one use. With `email`, only that address may accept.
pub async fn create_invitation(
    db: &Database,
    ctx: &ActorContext,
    email_or_none: Option<&str>,
    role: MemberRole,
) -> CoreResult<(Invitation, PlainSecret)> {
    let email = email_or_none
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(email::normalize)
        .transpose()?;
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (_, partner, _) =
        identity::require_member(&mut tx, ctx, PortalAction::InviteMembers).await?;
    let token = new_invitation_token();
    let now = clock::now();
    let invitation = Invitation {
        id: ids::new_id("inv"),
        partner_id: partner.clone(),
        email,
        role,
        invited_by: ctx.user_id.clone(),
        created_at: now,
        expires_at: now + INVITATION_TTL_SECS,
        accepted_by: None,
        accepted_at: None,
        revoked_at: None,
    };
    sqlx::query(
        "INSERT INTO invitations (id, token_hash, partner_id, email, role, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&invitation.id)
    .bind(token.hash().to_hex())
    .bind(&partner)
    .bind(&invitation.email)
    .bind(role.as_str())
    .bind(&ctx.user_id)
    .bind(now)
    .bind(invitation.expires_at)
    .execute(&mut *tx)
    .await?;
    let slug = slug_of(&mut tx, &partner).await?;
    tx.record(
        "organisation.invitation.created",
        Some(&invitation.id),
        Some(&slug),
        &json!({"email": invitation.email, "role": role.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok((invitation, token))
}

/// The invitations of the caller's organisation, newest first.
pub async fn list_invitations(db: &Database, ctx: &ActorContext) -> CoreResult<Vec<Invitation>> {
    let mut conn = db.pool().acquire().await?;
    let (_, partner, _) =
        identity::require_member(&mut conn, ctx, PortalAction::ViewMembers).await?;
    Ok(sqlx::query_as(&format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations WHERE partner_id = $1 ORDER BY id DESC"
    ))
    .bind(partner)
    .fetch_all(&mut *conn)
    .await?)
}

/// Withdraws an unused invitation of the caller's organisation (owners only).
pub async fn revoke_invitation(
    db: &Database,
    ctx: &ActorContext,
    invitation_id: &str,
) -> CoreResult<()> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (_, partner, _) =
        identity::require_member(&mut tx, ctx, PortalAction::InviteMembers).await?;
    let done = sqlx::query(
        "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND partner_id = $3 \
         AND revoked_at IS NULL AND accepted_at IS NULL",
    )
    .bind(clock::now())
    .bind(invitation_id)
    .bind(&partner)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(CoreError::NotFound {
            what: "open invitation",
        });
    }
    let slug = slug_of(&mut tx, &partner).await?;
    tx.record(
        "organisation.invitation.revoked",
        Some(invitation_id),
        Some(&slug),
        &json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Accepts an invitation link for the signed-in caller, who joins the organisation with the
/// invitation's role. Each refusal says why (invalid, withdrawn, used, expired, other address,
/// already in an organisation); nothing is consumed when refused.
pub async fn accept_invitation(
    db: &Database,
    ctx: &ActorContext,
    token: &PlainSecret,
) -> CoreResult<Organisation> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let principal = identity::principal(&mut tx, ctx).await?;
    let invitation: Option<Invitation> = sqlx::query_as(&format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1"
    ))
    .bind(token.hash().to_hex())
    .fetch_optional(&mut *tx)
    .await?;
    let now = clock::now();
    let Some(invitation) = invitation else {
        return Err(CoreError::Invalid(
            "This invitation link is not valid.".into(),
        ));
    };
    if invitation.revoked_at.is_some() {
        return Err(CoreError::Invalid(
            "This invitation was withdrawn; ask for a new one.".into(),
        ));
    }
    if invitation.accepted_at.is_some() {
        return Err(CoreError::Invalid(
            "This invitation has already been used.".into(),
        ));
    }
    if invitation.expires_at <= now {
        return Err(CoreError::Invalid(
            "This invitation has expired; ask for a new one.".into(),
        ));
    }
    if invitation
        .email
        .as_deref()
        .is_some_and(|e| e != principal.user.email)
    {
        return Err(CoreError::Invalid(
            "This invitation was sent to another email address; sign in with that address to accept it.".into(),
        ));
    }
    match &principal.user.partner_id {
        Some(p) if *p == invitation.partner_id => {
            return Err(CoreError::Conflict(
                "You are already a member of this organisation.".into(),
            ));
        }
        Some(_) => {
            return Err(CoreError::Conflict(
                "You already belong to an organisation; leave it before joining another.".into(),
            ));
        }
        None => {}
    }
    let org = load(&mut tx, &invitation.partner_id).await?;
    if org.status == PartnerStatus::Suspended {
        return Err(CoreError::Invalid(
            "This organisation is suspended and cannot take new members.".into(),
        ));
    }
    let used = sqlx::query(
        "UPDATE invitations SET accepted_by = $1, accepted_at = $2 WHERE id = $3 AND accepted_at IS NULL",
    )
    .bind(&ctx.user_id)
    .bind(now)
    .bind(&invitation.id)
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() == 0 {
        return Err(CoreError::Invalid(
            "This invitation has already been used.".into(),
        ));
    }
    sqlx::query(
        "UPDATE users SET partner_id = $1, partner_role = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(&invitation.partner_id)
    .bind(invitation.role.as_str())
    .bind(now)
    .bind(&ctx.user_id)
    .execute(&mut *tx)
    .await?;
    tx.record(
        "organisation.member.joined",
        Some(&ctx.user_id),
        Some(&org.slug),
        &json!({"invitation": invitation.id, "role": invitation.role.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok(org)
}
