//! Partner organisations as the portal manages them: creation with the data-handling
//! attestation, members and their roles, invitations, and the admin decisions (approve,
//! reject, suspend, production access).
//!
//! An organisation is a row of `partners`; its id here is the internal `prt_…` id, its slug the
//! tenant id of tokens. **Membership** is stored on the user row (`users.partner_id` +
//! `users.partner_role`), so a user belongs to at most one organisation. An organisation always
//! keeps at least one owner.

use crate::audit;
use crate::clock::{self, UnixTime};
use crate::identity;
use crate::identity::email;
use crate::identity::permissions::{self, MemberRole, PortalAction};
use crate::identity::{ActorContext, Principal};
use crate::orgs::partners::{self, PartnerStatus};
use crate::secret::PlainSecret;
use crate::{CoreError, CoreResult, Database, ids};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

/// Version of the data-handling attestation text the creator confirms; stored with the
/// organisation so a later change of wording is traceable.
pub const ATTESTATION_VERSION: &str = "2026-11-v1";

/// The attestation the creator confirms (show it next to the checkbox).
pub const ATTESTATION_TEXT: &str = "I confirm that my organisation will handle any personal data obtained through \
     these APIs lawfully, only for the purposes described in our applications, keep it secure, \
     not share it with third parties without a legal basis, and delete it when no longer needed. \
     I am authorised to make this statement on behalf of the organisation.";

/// How long an invitation link stays valid.
pub const INVITATION_TTL_SECS: i64 = 7 * 24 * 60 * 60;

/// Readable prefix of invitation link tokens.
pub const INVITATION_PREFIX: &str = "pin_";

/// An admin's decision about an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionKind {
    Approved,
    Rejected,
    Suspended,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Approved => "approved",
            DecisionKind::Rejected => "rejected",
            DecisionKind::Suspended => "suspended",
        }
    }

    fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "approved" => Ok(DecisionKind::Approved),
            "rejected" => Ok(DecisionKind::Rejected),
            "suspended" => Ok(DecisionKind::Suspended),
            other => Err(CoreError::Invalid(format!("unknown decision {other:?}"))),
        }
    }
}

/// Who attested what, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    pub version: String,
    /// User id.
    pub by: String,
    pub at: UnixTime,
}

/// The latest admin decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub kind: DecisionKind,
    /// Admin user id.
    pub by: String,
    pub at: UnixTime,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organisation {
    /// Internal id (`prt_…`).
    pub id: String,
    /// Tenant id in tokens, policies and the request log.
    pub slug: String,
    pub name: String,
    pub status: PartnerStatus,
    pub legal_name: Option<String>,
    pub contact_email: Option<String>,
    /// User id of the creator (None for partners made by the CLI or the demo).
    pub created_by: Option<String>,
    pub attestation: Option<Attestation>,
    pub decision: Option<Decision>,
    pub created_at: UnixTime,
}

#[derive(FromRow)]
struct OrgRow {
    id: String,
    slug: String,
    name: String,
    status: String,
    legal_name: Option<String>,
    contact_email: Option<String>,
    created_by: Option<String>,
    attestation_version: Option<String>,
    attested_by: Option<String>,
    attested_at: Option<i64>,
    decision: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<i64>,
    decision_note: Option<String>,
    created_at: i64,
}

const ORG_COLUMNS: &str = "id, slug, name, status, legal_name, contact_email, created_by, \
     attestation_version, attested_by, attested_at, decision, decided_by, decided_at, decision_note, created_at";

fn parse_status(s: &str) -> CoreResult<PartnerStatus> {
    match s {
        "pending" => Ok(PartnerStatus::Pending),
        "approved" => Ok(PartnerStatus::Approved),
        "suspended" => Ok(PartnerStatus::Suspended),
        other => Err(CoreError::Invalid(format!(
            "unknown partner status {other:?}"
        ))),
    }
}

impl TryFrom<OrgRow> for Organisation {
    type Error = CoreError;
    fn try_from(r: OrgRow) -> CoreResult<Self> {
        let attestation = match (r.attestation_version, r.attested_by, r.attested_at) {
            (Some(version), Some(by), Some(at)) => Some(Attestation { version, by, at }),
            _ => None,
        };
        let decision = match (r.decision, r.decided_by, r.decided_at) {
            (Some(kind), Some(by), Some(at)) => Some(Decision {
                kind: DecisionKind::parse(&kind)?,
                by,
                at,
                note: r.decision_note.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(Organisation {
            status: parse_status(&r.status)?,
            id: r.id,
            slug: r.slug,
            name: r.name,
            legal_name: r.legal_name,
            contact_email: r.contact_email,
            created_by: r.created_by,
            attestation,
            decision,
            created_at: r.created_at,
        })
    }
}

pub(crate) async fn load(conn: &mut AnyConnection, partner_id: &str) -> CoreResult<Organisation> {
    sqlx::query_as::<_, OrgRow>(&format!("SELECT {ORG_COLUMNS} FROM partners WHERE id = $1"))
        .bind(partner_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(Organisation::try_from)
        .transpose()?
        .ok_or(CoreError::NotFound {
            what: "organisation",
        })
}

/// A URL-safe slug from a legal name: lower-case ASCII letters and digits, other runs of
/// characters become one dash; at most 40 characters; `org` when nothing usable is left.
pub fn derive_slug(legal_name: &str) -> String {
    let mut slug = String::new();
    for c in legal_name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_matches('-').to_owned();
    if slug.len() < 2 {
        "org".to_owned()
    } else {
        slug
    }
}

async fn unique_slug(conn: &mut AnyConnection, base: &str) -> CoreResult<String> {
    for n in 1..1000 {
        let candidate = if n == 1 {
            base.to_owned()
        } else {
            format!("{base}-{n}")
        };
        partners::validate_slug(&candidate)?;
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM partners WHERE slug = $1")
            .bind(&candidate)
            .fetch_optional(&mut *conn)
            .await?;
        if taken.is_none() {
            return Ok(candidate);
        }
    }
    Err(CoreError::Conflict(
        "Too many organisations share this name; choose a more distinctive legal name.".into(),
    ))
}

/// Creates an organisation (status pending) with the caller as its owner. Refused without the
/// attestation, and for a user who already belongs to an organisation.
pub async fn create_organisation(
    db: &Database,
    ctx: &ActorContext,
    legal_name: &str,
    contact_email: &str,
    attested: bool,
) -> CoreResult<Organisation> {
    let legal_name = legal_name.trim();
    let chars = legal_name.chars().count();
    if !(2..=200).contains(&chars) || legal_name.chars().any(char::is_control) {
        return Err(CoreError::Invalid(
            "The legal name must be 2 to 200 characters.".into(),
        ));
    }
    let contact_email = email::normalize(contact_email)
        .map_err(|_| CoreError::Invalid("The contact email address is not valid.".into()))?;
    if !attested {
        return Err(CoreError::Invalid(
            "You must confirm the data-handling attestation.".into(),
        ));
    }
    let mut tx = db.begin_write().await?;
    let principal = identity::principal(&mut tx, ctx).await?;
    if principal.user.partner_id.is_some() {
        return Err(CoreError::Conflict(
            "You already belong to an organisation; leave it before creating another.".into(),
        ));
    }
    let slug = unique_slug(&mut tx, &derive_slug(legal_name)).await?;
    let partner = partners::create(&mut tx, &slug, legal_name, PartnerStatus::Pending).await?;
    let now = clock::now();
    sqlx::query(
        "UPDATE partners SET legal_name = $1, contact_email = $2, created_by = $3, \
         attestation_version = $4, attested_by = $3, attested_at = $5 WHERE id = $6",
    )
    .bind(legal_name)
    .bind(&contact_email)
    .bind(&ctx.user_id)
    .bind(ATTESTATION_VERSION)
    .bind(now)
    .bind(&partner.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE users SET partner_id = $1, partner_role = 'owner', updated_at = $2 WHERE id = $3 AND partner_id IS NULL",
    )
    .bind(&partner.id)
    .bind(now)
    .bind(&ctx.user_id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        ctx,
        "organisation.created",
        Some(&partner.id),
        Some(&slug),
        &json!({"legal_name": legal_name, "contact_email": contact_email, "attestation_version": ATTESTATION_VERSION}),
    )
    .await?;
    let org = load(&mut tx, &partner.id).await?;
    tx.commit().await?;
    Ok(org)
}

/// The caller's organisation and role, if they belong to one.
pub async fn my_organisation(
    db: &Database,
    ctx: &ActorContext,
) -> CoreResult<Option<(Organisation, MemberRole)>> {
    let mut conn = db.pool().acquire().await?;
    let principal = identity::principal(&mut conn, ctx).await?;
    match principal.membership() {
        Some((partner, role)) => Ok(Some((load(&mut conn, partner).await?, role))),
        None => Ok(None),
    }
}

/// Authorizes a reset of the caller's sandbox data (owners and developers) and records it in
/// the audit log. Returns the organisation: its slug is the sandbox tenant to reset (the
/// gateway's synthetic backend does the reset itself, so its caches go with the data).
pub async fn begin_sandbox_reset(db: &Database, ctx: &ActorContext) -> CoreResult<Organisation> {
    let mut tx = db.begin_write().await?;
    let (_, partner, _) =
        identity::require_member(&mut tx, ctx, PortalAction::ResetSandbox).await?;
    let org = load(&mut tx, &partner).await?;
    audit::record(
        &mut tx,
        ctx,
        "sandbox.reset",
        Some(&org.slug),
        Some(&org.slug),
        &serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(org)
}

/// Checks that the caller may do `action` in organisation `partner_id` (a member whose role
/// allows it, or an admin for view actions). Non-members get `NotFound`.
async fn require_in_org(
    conn: &mut AnyConnection,
    ctx: &ActorContext,
    partner_id: &str,
    action: PortalAction,
) -> CoreResult<Principal> {
    let principal = identity::principal(conn, ctx).await?;
    match principal.membership() {
        Some((partner, role)) if partner == partner_id => {
            permissions::require(role, action)?;
        }
        _ if principal.is_admin() && action.is_view() => {}
        _ => {
            return Err(CoreError::NotFound {
                what: "organisation",
            });
        }
    }
    Ok(principal)
}

/// One organisation, for its members (and admins).
pub async fn get_organisation(
    db: &Database,
    ctx: &ActorContext,
    partner_id: &str,
) -> CoreResult<Organisation> {
    let mut conn = db.pool().acquire().await?;
    require_in_org(&mut conn, ctx, partner_id, PortalAction::ViewApplications).await?;
    load(&mut conn, partner_id).await
}

/// A member of an organisation.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    #[sqlx(try_from = "String")]
    pub role: MemberRole,
}

impl TryFrom<String> for MemberRole {
    type Error = CoreError;
    fn try_from(s: String) -> CoreResult<Self> {
        MemberRole::parse(&s)
    }
}

/// The members of an organisation, owners first.
pub async fn list_members(
    db: &Database,
    ctx: &ActorContext,
    partner_id: &str,
) -> CoreResult<Vec<Member>> {
    let mut conn = db.pool().acquire().await?;
    require_in_org(&mut conn, ctx, partner_id, PortalAction::ViewMembers).await?;
    members(&mut conn, partner_id).await
}

async fn members(conn: &mut AnyConnection, partner_id: &str) -> CoreResult<Vec<Member>> {
    let mut list: Vec<Member> = sqlx::query_as(
        "SELECT id AS user_id, email, display_name, partner_role AS role FROM users \
         WHERE partner_id = $1 AND partner_role IS NOT NULL ORDER BY email",
    )
    .bind(partner_id)
    .fetch_all(&mut *conn)
    .await?;
    list.sort_by_key(|m| m.role);
    Ok(list)
}

/// The member `user_id` of the caller's organisation (NotFound otherwise), with the caller.
async fn member_of_callers_org(
    conn: &mut AnyConnection,
    ctx: &ActorContext,
    user_id: &str,
    action: Option<PortalAction>,
) -> CoreResult<(Principal, String, Member)> {
    let principal = identity::principal(conn, ctx).await?;
    let Some((partner, role)) = principal.membership() else {
        return Err(CoreError::NotFound { what: "member" });
    };
    if let Some(action) = action {
        permissions::require(role, action)?;
    }
    let partner = partner.to_owned();
    let member = members(conn, &partner)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or(CoreError::NotFound { what: "member" })?;
    Ok((principal, partner, member))
}

async fn owner_count(conn: &mut AnyConnection, partner_id: &str) -> CoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE partner_id = $1 AND partner_role = 'owner'",
    )
    .bind(partner_id)
    .fetch_one(&mut *conn)
    .await?)
}

const LAST_OWNER: &str =
    "An organisation needs at least one owner: make another member an owner first.";

async fn slug_of(conn: &mut AnyConnection, partner_id: &str) -> CoreResult<String> {
    Ok(load(conn, partner_id).await?.slug)
}

/// Changes a member's role (owners only). The last owner cannot be demoted.
pub async fn change_member_role(
    db: &Database,
    ctx: &ActorContext,
    member_user_id: &str,
    role: MemberRole,
) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    let (_, partner, member) = member_of_callers_org(
        &mut tx,
        ctx,
        member_user_id,
        Some(PortalAction::ManageMembers),
    )
    .await?;
    if member.role == role {
        return Ok(());
    }
    if member.role == MemberRole::Owner && owner_count(&mut tx, &partner).await? <= 1 {
        return Err(CoreError::Invalid(LAST_OWNER.into()));
    }
    sqlx::query("UPDATE users SET partner_role = $1, updated_at = $2 WHERE id = $3")
        .bind(role.as_str())
        .bind(clock::now())
        .bind(member_user_id)
        .execute(&mut *tx)
        .await?;
    let slug = slug_of(&mut tx, &partner).await?;
    audit::record(
        &mut tx,
        ctx,
        "organisation.member.role_changed",
        Some(member_user_id),
        Some(&slug),
        &json!({"email": member.email, "from": member.role.as_str(), "to": role.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a member (owners only), or lets any member leave (`member_user_id` = the caller).
/// The last owner can neither be removed nor leave.
pub async fn remove_member(
    db: &Database,
    ctx: &ActorContext,
    member_user_id: &str,
) -> CoreResult<()> {
    let leaving = member_user_id == ctx.user_id;
    let mut tx = db.begin_write().await?;
    let action = (!leaving).then_some(PortalAction::ManageMembers);
    let (_, partner, member) = member_of_callers_org(&mut tx, ctx, member_user_id, action).await?;
    if member.role == MemberRole::Owner && owner_count(&mut tx, &partner).await? <= 1 {
        return Err(CoreError::Invalid(LAST_OWNER.into()));
    }
    sqlx::query(
        "UPDATE users SET partner_id = NULL, partner_role = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(clock::now())
    .bind(member_user_id)
    .execute(&mut *tx)
    .await?;
    let slug = slug_of(&mut tx, &partner).await?;
    let action = if leaving {
        "organisation.member.left"
    } else {
        "organisation.member.removed"
    };
    audit::record(
        &mut tx,
        ctx,
        action,
        Some(member_user_id),
        Some(&slug),
        &json!({"email": member.email, "role": member.role.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

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
    let mut tx = db.begin_write().await?;
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
    audit::record(
        &mut tx,
        ctx,
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
    let mut tx = db.begin_write().await?;
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
    audit::record(
        &mut tx,
        ctx,
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
    let mut tx = db.begin_write().await?;
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
    audit::record(
        &mut tx,
        ctx,
        "organisation.member.joined",
        Some(&ctx.user_id),
        Some(&org.slug),
        &json!({"invitation": invitation.id, "role": invitation.role.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok(org)
}

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
    let mut tx = db.begin_write().await?;
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
    audit::record(
        &mut tx,
        ctx,
        action,
        Some(partner_id),
        Some(&org.slug),
        &json!({"from": org.status.as_str(), "note": note}),
    )
    .await?;
    let org = load(&mut tx, partner_id).await?;
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
    let mut tx = db.begin_write().await?;
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
    audit::record(
        &mut tx,
        ctx,
        "application.production.granted",
        Some(app_id),
        Some(&org.slug),
        &json!({"application": name}),
    )
    .await?;
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
    let mut tx = db.begin_write().await?;
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
    audit::record(
        &mut tx,
        ctx,
        "application.production.revoked",
        Some(app_id),
        Some(&org.slug),
        &json!({"application": name}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::manage::fixtures;
    use crate::audit::{AuditFilter, search};
    use crate::identity::users::Role;
    use crate::testing::TestDatabase;

    fn invalid(result: CoreResult<impl std::fmt::Debug>) -> String {
        match result {
            Err(CoreError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn slugs_derive_from_legal_names() {
        assert_eq!(derive_slug("Acme Logistics Ltd."), "acme-logistics-ltd");
        assert_eq!(derive_slug("  ÉCOLE  42 "), "cole-42");
        assert_eq!(derive_slug("!!"), "org");
        assert!(derive_slug(&"x".repeat(100)).len() <= 40);
        assert!(partners::validate_slug(&derive_slug("A — B & C")).is_ok());
    }

    #[tokio::test]
    async fn creation_requires_the_attestation_and_makes_the_creator_owner() {
        for t in TestDatabase::both().await {
            let db = &t.db;
            let ctx = fixtures::user(db, "ada@acme.example", Role::Partner).await;
            let refused =
                create_organisation(db, &ctx, "Acme Ltd", "legal@acme.example", false).await;
            assert_eq!(
                invalid(refused),
                "You must confirm the data-handling attestation."
            );
            let org = create_organisation(db, &ctx, " Acme Ltd ", "Legal@Acme.example", true)
                .await
                .unwrap();
            assert_eq!(org.slug, "acme-ltd");
            assert_eq!(org.status, PartnerStatus::Pending);
            assert_eq!(org.legal_name.as_deref(), Some("Acme Ltd"));
            assert_eq!(org.contact_email.as_deref(), Some("legal@acme.example"));
            let attestation = org.attestation.clone().unwrap();
            assert_eq!(attestation.version, ATTESTATION_VERSION);
            assert_eq!(attestation.by, ctx.user_id);
            let (mine, role) = my_organisation(db, &ctx).await.unwrap().unwrap();
            assert_eq!(mine.id, org.id);
            assert_eq!(role, MemberRole::Owner);
            // One organisation per user.
            let second = create_organisation(db, &ctx, "Other", "x@acme.example", true).await;
            assert!(matches!(second, Err(CoreError::Conflict(m)) if m.contains("already belong")));
            // Same legal name from someone else: a suffixed slug.
            let bob = fixtures::user(db, "bob@other.example", Role::Partner).await;
            let twin = create_organisation(db, &bob, "ACME ltd", "bob@other.example", true)
                .await
                .unwrap();
            assert_eq!(twin.slug, "acme-ltd-2");
            let audit = search(
                db,
                &AuditFilter {
                    action_prefix: Some("organisation.created".into()),
                    ..AuditFilter::default()
                },
                10,
                None,
            )
            .await
            .unwrap();
            assert_eq!(audit.entries.len(), 2);
            assert_eq!(audit.entries[1].partner_id.as_deref(), Some("acme-ltd"));
            assert_eq!(
                audit.entries[1].actor_email.as_deref(),
                Some("ada@acme.example")
            );
        }
    }

    #[tokio::test]
    async fn members_roles_and_last_owner_protection() {
        for t in TestDatabase::both().await {
            let db = &t.db;
            let (owner, org) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
            let dev = fixtures::member(db, &owner, "dev@acme.example", MemberRole::Developer).await;
            let viewer =
                fixtures::member(db, &owner, "view@acme.example", MemberRole::Viewer).await;
            let members = list_members(db, &viewer, &org.id).await.unwrap();
            assert_eq!(
                members.iter().map(|m| m.role).collect::<Vec<_>>(),
                [MemberRole::Owner, MemberRole::Developer, MemberRole::Viewer]
            );
            // Only owners manage members.
            let refused = change_member_role(db, &dev, &viewer.user_id, MemberRole::Owner).await;
            assert!(
                matches!(refused, Err(CoreError::Forbidden(_))),
                "{refused:?}"
            );
            let refused = remove_member(db, &dev, &viewer.user_id).await;
            assert!(matches!(refused, Err(CoreError::Forbidden(_))));
            // The last owner can be neither demoted, removed, nor leave.
            let m =
                invalid(change_member_role(db, &owner, &owner.user_id, MemberRole::Viewer).await);
            assert!(m.contains("at least one owner"), "{m}");
            assert!(
                invalid(remove_member(db, &owner, &owner.user_id).await)
                    .contains("at least one owner")
            );
            // With a second owner, the first may step down.
            change_member_role(db, &owner, &dev.user_id, MemberRole::Owner)
                .await
                .unwrap();
            change_member_role(db, &owner, &owner.user_id, MemberRole::Developer)
                .await
                .unwrap();
            // A viewer may leave on their own.
            remove_member(db, &viewer, &viewer.user_id).await.unwrap();
            assert!(my_organisation(db, &viewer).await.unwrap().is_none());
            // Outsiders see nothing.
            let outsider = fixtures::user(db, "out@else.example", Role::Partner).await;
            assert!(matches!(
                list_members(db, &outsider, &org.id).await,
                Err(CoreError::NotFound { .. })
            ));
            assert!(matches!(
                remove_member(db, &outsider, &dev.user_id).await,
                Err(CoreError::NotFound { .. })
            ));
            let events = search(
                db,
                &AuditFilter {
                    action_prefix: Some("organisation.member.".into()),
                    ..AuditFilter::default()
                },
                50,
                None,
            )
            .await
            .unwrap();
            let actions: Vec<&str> = events.entries.iter().map(|e| e.action.as_str()).collect();
            assert!(actions.contains(&"organisation.member.role_changed"));
            assert!(actions.contains(&"organisation.member.left"));
            assert!(actions.contains(&"organisation.member.joined"));
        }
    }

    #[tokio::test]
    async fn invitations_are_single_use_addressed_and_expire() {
        for t in TestDatabase::both().await {
            let db = &t.db;
            let (owner, org) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
            let (invitation, token) = create_invitation(db, &owner, None, MemberRole::Developer)
                .await
                .unwrap();
            assert!(token.expose().starts_with(INVITATION_PREFIX));
            assert_eq!(
                invitation.expires_at - invitation.created_at,
                INVITATION_TTL_SECS
            );
            let a = fixtures::user(db, "a@x.example", Role::Partner).await;
            let b = fixtures::user(db, "b@x.example", Role::Partner).await;
            let joined = accept_invitation(db, &a, &PlainSecret::from_presented(token.expose()))
                .await
                .unwrap();
            assert_eq!(joined.id, org.id);
            let again =
                accept_invitation(db, &b, &PlainSecret::from_presented(token.expose())).await;
            assert!(invalid(again).contains("already been used"));
            let bogus = accept_invitation(db, &b, &PlainSecret::from_presented("pin_nope")).await;
            assert!(invalid(bogus).contains("not valid"));

            // Addressed to someone else.
            let (_, addressed) =
                create_invitation(db, &owner, Some("c@x.example"), MemberRole::Viewer)
                    .await
                    .unwrap();
            let wrong = accept_invitation(db, &b, &addressed).await;
            assert!(invalid(wrong).contains("another email address"));

            // Expired.
            let (expiring, token) = create_invitation(db, &owner, None, MemberRole::Viewer)
                .await
                .unwrap();
            sqlx::query("UPDATE invitations SET expires_at = $1 WHERE id = $2")
                .bind(clock::now() - 1)
                .bind(&expiring.id)
                .execute(db.pool())
                .await
                .unwrap();
            assert!(invalid(accept_invitation(db, &b, &token).await).contains("expired"));

            // Withdrawn.
            let (withdrawn, token) = create_invitation(db, &owner, None, MemberRole::Viewer)
                .await
                .unwrap();
            revoke_invitation(db, &owner, &withdrawn.id).await.unwrap();
            assert!(invalid(accept_invitation(db, &b, &token).await).contains("withdrawn"));

            // Only owners invite; a member of another organisation cannot join.
            let dev = a;
            assert!(matches!(
                create_invitation(db, &dev, None, MemberRole::Viewer).await,
                Err(CoreError::Forbidden(_))
            ));
            let (other_owner, _) = fixtures::owner_with_org(db, "o@other.example", "Other").await;
            let (_, token) = create_invitation(db, &owner, None, MemberRole::Viewer)
                .await
                .unwrap();
            let conflict = accept_invitation(db, &other_owner, &token).await;
            assert!(matches!(conflict, Err(CoreError::Conflict(_))));
            // ...and the refused attempt did not use the invitation up.
            accept_invitation(db, &b, &token).await.unwrap();
            assert_eq!(list_invitations(db, &owner).await.unwrap().len(), 5);
        }
    }

    #[tokio::test]
    async fn admins_approve_reject_suspend_and_grant_production_access() {
        for t in TestDatabase::both().await {
            let db = &t.db;
            let admin = fixtures::user(db, "root@portico.example", Role::Admin).await;
            let (owner, org) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
            let (app, _) = fixtures::app(db, &owner, "Shop").await;
            let app_id = app.app.id;
            // Partners are not admins.
            assert!(matches!(
                list_pending(db, &owner).await,
                Err(CoreError::Forbidden(_))
            ));
            assert!(matches!(
                approve(db, &owner, &org.id, "").await,
                Err(CoreError::Forbidden(_))
            ));
            let pending = list_pending(db, &admin).await.unwrap();
            assert_eq!(pending.len(), 1);
            assert_eq!(
                pending[0].creator_email.as_deref(),
                Some("own@acme.example")
            );
            assert_eq!(pending[0].application_count, 1);
            // Production access needs an approved organisation.
            let m = invalid(grant_production_access(db, &admin, &app_id).await);
            assert!(
                m.contains("approved organisation") && m.contains("pending"),
                "{m}"
            );
            let approved = approve(db, &admin, &org.id, "looks fine").await.unwrap();
            assert_eq!(approved.status, PartnerStatus::Approved);
            let decision = approved.decision.unwrap();
            assert_eq!(decision.kind, DecisionKind::Approved);
            assert_eq!(decision.by, admin.user_id);
            assert!(list_pending(db, &admin).await.unwrap().is_empty());
            let granted = grant_production_access(db, &admin, &app_id).await.unwrap();
            assert_eq!(granted.granted_by, admin.user_id);
            let detail = crate::apps::manage::application_detail(db, &owner, &app_id)
                .await
                .unwrap();
            assert_eq!(detail.summary.production, Some(granted));
            assert!(
                invalid(grant_production_access(db, &admin, &app_id).await).contains("already")
            );
            revoke_production_access(db, &admin, &app_id).await.unwrap();
            assert!(
                invalid(revoke_production_access(db, &admin, &app_id).await)
                    .contains("no production")
            );
            // Suspension needs a note; rejection only from pending.
            assert!(invalid(suspend(db, &admin, &org.id, " ").await).contains("Say why"));
            let suspended = suspend(db, &admin, &org.id, "abuse report").await.unwrap();
            assert_eq!(suspended.status, PartnerStatus::Suspended);
            assert!(
                invalid(reject(db, &admin, &org.id, "no").await).contains("cannot be rejected")
            );
            let (_, other) = fixtures::owner_with_org(db, "b@beta.example", "Beta").await;
            let rejected = reject(db, &admin, &other.id, "not a real company")
                .await
                .unwrap();
            assert_eq!(rejected.status, PartnerStatus::Suspended);
            assert_eq!(rejected.decision.unwrap().kind, DecisionKind::Rejected);
            let events = search(
                db,
                &AuditFilter {
                    action_prefix: Some("organisation.".into()),
                    actor_user_id: Some(admin.user_id.clone()),
                    ..AuditFilter::default()
                },
                50,
                None,
            )
            .await
            .unwrap();
            assert_eq!(events.entries.len(), 3, "approved, suspended, rejected");
            let prod = search(
                db,
                &AuditFilter {
                    action_prefix: Some("application.production.".into()),
                    ..AuditFilter::default()
                },
                50,
                None,
            )
            .await
            .unwrap();
            assert_eq!(prod.entries.len(), 2);
        }
    }
}
