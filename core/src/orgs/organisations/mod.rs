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
use crate::{CoreError, CoreResult, Database};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

mod invitations;
mod members;
mod review;

pub use invitations::*;
pub use members::*;
pub use review::*;

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
    let mut tx = audit::Write::begin(db, ctx).await?;
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
    tx.record("organisation.created",
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
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (_, partner, _) =
        identity::require_member(&mut tx, ctx, PortalAction::ResetSandbox).await?;
    let org = load(&mut tx, &partner).await?;
    tx.record(
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

#[cfg(test)]
mod tests;
