//! Identity federation: an organisation registers its own identity provider (IdP), whose signed
//! JWTs then stand for the organisation's applications (RFC 7523 exchange at the token
//! endpoint, or, when the organisation turns it on, directly at the gateway).
//!
//! Trust is an admin's decision: a registration starts `pending`, an admin approves or rejects
//! it, and only approved IdPs are trusted. Changing what the trust rests on (issuer, JWKS URL,
//! audience, workload claim) sends an approved IdP back to `pending`; the mappings (claim value
//! → one of the organisation's own applications) and the direct-acceptance switch stay the
//! organisation's to change. Owners manage it ([`PortalAction::ManageIdentityProvider`]); every
//! change is audited and announced ([`Change::Federation`]) so every replica's token endpoint
//! and gateway see it at once.

use crate::audit;
use crate::changes::Change;
use crate::clock::{self, UnixTime};
use crate::identity::permissions::PortalAction;
use crate::identity::{self, ActorContext};
use crate::{CoreError, CoreResult, Database, ids};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

/// The claim that names the workload when the organisation names none.
pub const DEFAULT_WORKLOAD_CLAIM: &str = "sub";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdpStatus {
    Pending,
    Approved,
    Rejected,
}

impl IdpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IdpStatus::Pending => "pending",
            IdpStatus::Approved => "approved",
            IdpStatus::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "pending" => Ok(IdpStatus::Pending),
            "approved" => Ok(IdpStatus::Approved),
            "rejected" => Ok(IdpStatus::Rejected),
            other => Err(CoreError::Invalid(format!(
                "unknown identity provider status {other:?}"
            ))),
        }
    }
}

/// Which application a workload claim value stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub claim_value: String,
    pub application_id: String,
    pub client_id: String,
    pub application_name: String,
}

/// An organisation's registered identity provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityProvider {
    pub id: String,
    /// The organisation (internal id) and its slug.
    pub partner_id: String,
    pub partner_slug: String,
    pub partner_name: String,
    pub issuer: String,
    pub jwks_url: String,
    pub audience: String,
    pub workload_claim: String,
    /// The gateway accepts the IdP's JWTs directly (off by default).
    pub direct_access: bool,
    pub status: IdpStatus,
    /// The admin's note on the last approval or rejection.
    pub decision_note: Option<String>,
    pub decided_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub mappings: Vec<Mapping>,
}

/// What the organisation's form sends. Empty audience and claim take the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdpDraft {
    pub issuer: String,
    pub jwks_url: String,
    pub audience: String,
    pub workload_claim: String,
}

#[derive(FromRow)]
struct IdpRow {
    id: String,
    partner_id: String,
    slug: String,
    name: String,
    issuer: String,
    jwks_url: String,
    audience: String,
    workload_claim: String,
    direct_access: i64,
    status: String,
    decision_note: Option<String>,
    decided_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const IDP_SELECT: &str = "SELECT f.id, f.partner_id, p.slug, p.name, f.issuer, f.jwks_url, \
     f.audience, f.workload_claim, f.direct_access, f.status, f.decision_note, f.decided_at, \
     f.created_at, f.updated_at FROM federation_idps f JOIN partners p ON p.id = f.partner_id";

async fn mappings(conn: &mut AnyConnection, idp_id: &str) -> CoreResult<Vec<Mapping>> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT m.claim_value, a.id, a.client_id, a.name FROM federation_mappings m \
         JOIN applications a ON a.id = m.application_id WHERE m.idp_id = $1 ORDER BY m.claim_value",
    )
    .bind(idp_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(claim_value, application_id, client_id, application_name)| Mapping {
                claim_value,
                application_id,
                client_id,
                application_name,
            },
        )
        .collect())
}

async fn hydrate(conn: &mut AnyConnection, row: IdpRow) -> CoreResult<IdentityProvider> {
    let mappings = mappings(conn, &row.id).await?;
    Ok(IdentityProvider {
        status: IdpStatus::parse(&row.status)?,
        id: row.id,
        partner_id: row.partner_id,
        partner_slug: row.slug,
        partner_name: row.name,
        issuer: row.issuer,
        jwks_url: row.jwks_url,
        audience: row.audience,
        workload_claim: row.workload_claim,
        direct_access: row.direct_access != 0,
        decision_note: row.decision_note,
        decided_at: row.decided_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
        mappings,
    })
}

async fn of_partner(
    conn: &mut AnyConnection,
    partner_id: &str,
) -> CoreResult<Option<IdentityProvider>> {
    let row = sqlx::query_as::<_, IdpRow>(&format!("{IDP_SELECT} WHERE f.partner_id = $1"))
        .bind(partner_id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => Ok(Some(hydrate(conn, row).await?)),
        None => Ok(None),
    }
}

async fn by_id(conn: &mut AnyConnection, idp_id: &str) -> CoreResult<IdentityProvider> {
    let row = sqlx::query_as::<_, IdpRow>(&format!("{IDP_SELECT} WHERE f.id = $1"))
        .bind(idp_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(CoreError::NotFound {
            what: "identity provider",
        })?;
    hydrate(conn, row).await
}

/// The caller's organisation's identity provider, if it registered one (any member may look).
pub async fn my_identity_provider(
    db: &Database,
    ctx: &ActorContext,
) -> CoreResult<Option<IdentityProvider>> {
    let mut conn = db.pool().acquire().await?;
    let (_, partner, _) =
        identity::require_member(&mut conn, ctx, PortalAction::ViewApplications).await?;
    of_partner(&mut conn, &partner).await
}

fn no_controls(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// An `http(s)://` URL of sensible length without spaces (the server checks where it points).
fn check_url_text(label: &str, text: &str, max: usize) -> CoreResult<()> {
    let lower = text.to_ascii_lowercase();
    let after_scheme = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    if text.is_empty() {
        return Err(CoreError::Invalid(format!("{label}: enter a URL.")));
    }
    if after_scheme.is_none_or(str::is_empty)
        || text.chars().any(char::is_whitespace)
        || !no_controls(text)
    {
        return Err(CoreError::Invalid(format!(
            "{label}: enter a URL starting with https://, without spaces."
        )));
    }
    if text.len() > max {
        return Err(CoreError::Invalid(format!(
            "{label}: at most {max} characters."
        )));
    }
    Ok(())
}

/// Validated fields: (issuer, jwks_url, audience, workload_claim).
fn validate_draft(
    draft: &IdpDraft,
    portico_issuer: &str,
) -> CoreResult<(String, String, String, String)> {
    let issuer = draft.issuer.trim().to_owned();
    check_url_text("Issuer", &issuer, 500)?;
    if issuer == portico_issuer {
        return Err(CoreError::Invalid(
            "Issuer: this is Portico's own issuer; enter your identity provider's.".into(),
        ));
    }
    let jwks_url = draft.jwks_url.trim().to_owned();
    check_url_text("JWKS URL", &jwks_url, 2000)?;
    let audience = match draft.audience.trim() {
        "" => portico_issuer.to_owned(),
        text if text.len() > 500 || !no_controls(text) => {
            return Err(CoreError::Invalid(
                "Audience: at most 500 characters, no control characters.".into(),
            ));
        }
        text => text.to_owned(),
    };
    let workload_claim = match draft.workload_claim.trim() {
        "" => DEFAULT_WORKLOAD_CLAIM.to_owned(),
        text if text.len() <= 100
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')) =>
        {
            text.to_owned()
        }
        _ => {
            return Err(CoreError::Invalid(
                "Workload claim: a claim name of up to 100 letters, digits, '_', '-', '.' or ':' (for example sub, client_id or azp).".into(),
            ));
        }
    };
    Ok((issuer, jwks_url, audience, workload_claim))
}

/// Owners: registers the organisation's identity provider, or changes it. A new registration,
/// or a change of issuer, JWKS URL, audience or workload claim, waits for an admin's approval
/// (`pending`); meanwhile the IdP is not trusted. `portico_issuer` is the token server's own
/// issuer: the default audience, and never acceptable as the IdP's issuer.
pub async fn register_identity_provider(
    db: &Database,
    ctx: &ActorContext,
    draft: &IdpDraft,
    portico_issuer: &str,
) -> CoreResult<IdentityProvider> {
    let (issuer, jwks_url, audience, workload_claim) = validate_draft(draft, portico_issuer)?;
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (_, partner, _) =
        identity::require_member(&mut tx, ctx, PortalAction::ManageIdentityProvider).await?;
    let taken: Option<String> = sqlx::query_scalar(
        "SELECT id FROM federation_idps WHERE issuer = $1 AND partner_id <> $2 AND status <> 'rejected'",
    )
    .bind(&issuer)
    .bind(&partner)
    .fetch_optional(&mut *tx)
    .await?;
    if taken.is_some() {
        return Err(CoreError::Conflict(
            "Issuer: another organisation has registered this issuer. If it is yours, contact the platform administrators.".into(),
        ));
    }
    let now = clock::now();
    let existing = of_partner(&mut tx, &partner).await?;
    let (id, action) = match &existing {
        None => {
            let id = ids::new_id("idp");
            sqlx::query(
                "INSERT INTO federation_idps (id, partner_id, issuer, jwks_url, audience, workload_claim, \
                 direct_access, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, 'pending', $7, $7)",
            )
            .bind(&id)
            .bind(&partner)
            .bind(&issuer)
            .bind(&jwks_url)
            .bind(&audience)
            .bind(&workload_claim)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            (id, "federation.registered")
        }
        Some(idp) => {
            let unchanged = idp.issuer == issuer
                && idp.jwks_url == jwks_url
                && idp.audience == audience
                && idp.workload_claim == workload_claim;
            if unchanged {
                return Ok(idp.clone());
            }
            sqlx::query(
                "UPDATE federation_idps SET issuer = $1, jwks_url = $2, audience = $3, workload_claim = $4, \
                 status = 'pending', decision_note = NULL, decided_by = NULL, decided_at = NULL, updated_at = $5 \
                 WHERE id = $6",
            )
            .bind(&issuer)
            .bind(&jwks_url)
            .bind(&audience)
            .bind(&workload_claim)
            .bind(now)
            .bind(&idp.id)
            .execute(&mut *tx)
            .await?;
            (idp.id.clone(), "federation.changed")
        }
    };
    let idp = by_id(&mut tx, &id).await?;
    tx.record(
        action,
        Some(&id),
        Some(&idp.partner_slug),
        &json!({
            "issuer": issuer, "jwks_url": jwks_url, "audience": audience,
            "workload_claim": workload_claim,
            "previous_status": existing.as_ref().map(|e| e.status.as_str()),
        }),
    )
    .await?;
    tx.changed(Change::Federation);
    tx.commit().await?;
    Ok(idp)
}

/// Loads the caller's organisation's IdP for a change (owners), or says to register one.
async fn own_for_change(
    tx: &mut audit::Write<'_>,
    ctx: &ActorContext,
) -> CoreResult<IdentityProvider> {
    let (_, partner, _) =
        identity::require_member(tx, ctx, PortalAction::ManageIdentityProvider).await?;
    of_partner(tx, &partner)
        .await?
        .ok_or_else(|| CoreError::Invalid("Register your identity provider first.".into()))
}

/// Owners: whether the gateway accepts the IdP's JWTs directly (it still needs approval).
pub async fn set_direct_access(
    db: &Database,
    ctx: &ActorContext,
    enabled: bool,
) -> CoreResult<IdentityProvider> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let idp = own_for_change(&mut tx, ctx).await?;
    if idp.direct_access == enabled {
        return Ok(idp);
    }
    sqlx::query("UPDATE federation_idps SET direct_access = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(enabled))
        .bind(clock::now())
        .bind(&idp.id)
        .execute(&mut *tx)
        .await?;
    tx.record(
        "federation.direct_access",
        Some(&idp.id),
        Some(&idp.partner_slug),
        &json!({ "enabled": enabled }),
    )
    .await?;
    let idp = by_id(&mut tx, &idp.id).await?;
    tx.changed(Change::Federation);
    tx.commit().await?;
    Ok(idp)
}

/// Owners: JWTs whose workload claim is `claim_value` stand for the application
/// `application_id` (one of the organisation's). Replaces an existing mapping of that value.
pub async fn map_workload(
    db: &Database,
    ctx: &ActorContext,
    claim_value: &str,
    application_id: &str,
) -> CoreResult<IdentityProvider> {
    let claim_value = claim_value.trim();
    if claim_value.is_empty() || claim_value.len() > 255 || !no_controls(claim_value) {
        return Err(CoreError::Invalid(
            "Claim value: enter the value your identity provider puts in the workload claim (1 to 255 characters).".into(),
        ));
    }
    let mut tx = audit::Write::begin(db, ctx).await?;
    let idp = own_for_change(&mut tx, ctx).await?;
    let app: Option<(String, String)> =
        sqlx::query_as("SELECT id, client_id FROM applications WHERE id = $1 AND partner_id = $2")
            .bind(application_id)
            .bind(&idp.partner_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((application_id, client_id)) = app else {
        return Err(CoreError::Invalid(
            "Application: choose one of your organisation's applications.".into(),
        ));
    };
    sqlx::query("DELETE FROM federation_mappings WHERE idp_id = $1 AND claim_value = $2")
        .bind(&idp.id)
        .bind(claim_value)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO federation_mappings (idp_id, claim_value, application_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&idp.id)
    .bind(claim_value)
    .bind(&application_id)
    .bind(clock::now())
    .execute(&mut *tx)
    .await?;
    tx.record(
        "federation.mapping_set",
        Some(&idp.id),
        Some(&idp.partner_slug),
        &json!({ "claim_value": claim_value, "client_id": client_id }),
    )
    .await?;
    let idp = by_id(&mut tx, &idp.id).await?;
    tx.changed(Change::Federation);
    tx.commit().await?;
    Ok(idp)
}

/// Owners: removes the mapping of `claim_value`.
pub async fn unmap_workload(
    db: &Database,
    ctx: &ActorContext,
    claim_value: &str,
) -> CoreResult<IdentityProvider> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let idp = own_for_change(&mut tx, ctx).await?;
    let removed =
        sqlx::query("DELETE FROM federation_mappings WHERE idp_id = $1 AND claim_value = $2")
            .bind(&idp.id)
            .bind(claim_value)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if removed == 0 {
        return Err(CoreError::NotFound { what: "mapping" });
    }
    tx.record(
        "federation.mapping_removed",
        Some(&idp.id),
        Some(&idp.partner_slug),
        &json!({ "claim_value": claim_value }),
    )
    .await?;
    let idp = by_id(&mut tx, &idp.id).await?;
    tx.changed(Change::Federation);
    tx.commit().await?;
    Ok(idp)
}

/// Owners: removes the identity provider and its mappings; its JWTs stop working at once.
pub async fn remove_identity_provider(db: &Database, ctx: &ActorContext) -> CoreResult<()> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let idp = own_for_change(&mut tx, ctx).await?;
    sqlx::query("DELETE FROM federation_mappings WHERE idp_id = $1")
        .bind(&idp.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM federation_idps WHERE id = $1")
        .bind(&idp.id)
        .execute(&mut *tx)
        .await?;
    tx.record(
        "federation.removed",
        Some(&idp.id),
        Some(&idp.partner_slug),
        &json!({ "issuer": idp.issuer }),
    )
    .await?;
    tx.changed(Change::Federation);
    tx.commit().await
}

/// Admins: identity providers, pending first (then by age); `status` narrows the list.
pub async fn list_identity_providers(
    db: &Database,
    ctx: &ActorContext,
    status: Option<IdpStatus>,
) -> CoreResult<Vec<IdentityProvider>> {
    let mut conn = db.pool().acquire().await?;
    identity::require_admin(&mut conn, ctx).await?;
    let sql = format!(
        "{IDP_SELECT} {} ORDER BY CASE WHEN f.status = 'pending' THEN 0 ELSE 1 END, f.updated_at, f.id",
        if status.is_some() {
            "WHERE f.status = $1"
        } else {
            ""
        }
    );
    let mut query = sqlx::query_as::<_, IdpRow>(&sql);
    if let Some(status) = status {
        query = query.bind(status.as_str());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(hydrate(&mut conn, row).await?);
    }
    Ok(out)
}

/// Admins: approves (`approve`) or rejects an identity provider. Rejecting needs a note (the
/// organisation sees it); approving an issuer another organisation's approved IdP already uses
/// is refused.
pub async fn decide_identity_provider(
    db: &Database,
    ctx: &ActorContext,
    idp_id: &str,
    approve: bool,
    note: &str,
) -> CoreResult<IdentityProvider> {
    let note = note.trim();
    if note.chars().count() > 2000 {
        return Err(CoreError::Invalid(
            "The note must be at most 2000 characters.".into(),
        ));
    }
    if !approve && note.is_empty() {
        return Err(CoreError::Invalid(
            "Say why: the organisation's owners see this note.".into(),
        ));
    }
    let mut tx = audit::Write::begin(db, ctx).await?;
    identity::require_admin(&mut tx, ctx).await?;
    let idp = by_id(&mut tx, idp_id).await?;
    let new_status = if approve {
        IdpStatus::Approved
    } else {
        IdpStatus::Rejected
    };
    if idp.status == new_status {
        return Err(CoreError::Invalid(format!(
            "This identity provider is already {}.",
            new_status.as_str()
        )));
    }
    if approve {
        let clash: Option<String> = sqlx::query_scalar(
            "SELECT id FROM federation_idps WHERE issuer = $1 AND id <> $2 AND status = 'approved'",
        )
        .bind(&idp.issuer)
        .bind(&idp.id)
        .fetch_optional(&mut *tx)
        .await?;
        if clash.is_some() {
            return Err(CoreError::Conflict(
                "Another organisation's approved identity provider has this issuer.".into(),
            ));
        }
    }
    let now = clock::now();
    sqlx::query(
        "UPDATE federation_idps SET status = $1, decision_note = $2, decided_by = $3, decided_at = $4, \
         updated_at = $4 WHERE id = $5",
    )
    .bind(new_status.as_str())
    .bind(note)
    .bind(&ctx.user_id)
    .bind(now)
    .bind(&idp.id)
    .execute(&mut *tx)
    .await?;
    tx.record(
        if approve {
            "federation.approved"
        } else {
            "federation.rejected"
        },
        Some(&idp.id),
        Some(&idp.partner_slug),
        &json!({ "issuer": idp.issuer, "from": idp.status.as_str(), "note": note }),
    )
    .await?;
    let idp = by_id(&mut tx, &idp.id).await?;
    tx.changed(Change::Federation);
    tx.commit().await?;
    Ok(idp)
}

/// An approved identity provider as the token endpoint and the gateway use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedIdp {
    pub id: String,
    pub partner_id: String,
    pub issuer: String,
    pub jwks_url: String,
    pub audience: String,
    pub workload_claim: String,
    pub direct_access: bool,
    /// Workload claim value → client_id.
    pub mappings: Vec<(String, String)>,
}

/// Every approved identity provider with its mappings (the token server's cache reloads this).
pub async fn load_trusted(db: &Database) -> CoreResult<Vec<TrustedIdp>> {
    let mut conn = db.pool().acquire().await?;
    let rows = sqlx::query_as::<_, IdpRow>(&format!(
        "{IDP_SELECT} WHERE f.status = 'approved' ORDER BY f.id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let idp = hydrate(&mut conn, row).await?;
        out.push(TrustedIdp {
            mappings: idp
                .mappings
                .into_iter()
                .map(|m| (m.claim_value, m.client_id))
                .collect(),
            id: idp.id,
            partner_id: idp.partner_id,
            issuer: idp.issuer,
            jwks_url: idp.jwks_url,
            audience: idp.audience,
            workload_claim: idp.workload_claim,
            direct_access: idp.direct_access,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_are_validated_with_clear_messages() {
        let ok = IdpDraft {
            issuer: " https://idp.example.com ".into(),
            jwks_url: "https://idp.example.com/jwks".into(),
            ..IdpDraft::default()
        };
        let (issuer, _, audience, claim) = validate_draft(&ok, "https://portico.test").unwrap();
        assert_eq!(issuer, "https://idp.example.com");
        assert_eq!(audience, "https://portico.test");
        assert_eq!(claim, "sub");
        let bad = |draft: IdpDraft| {
            validate_draft(&draft, "https://portico.test")
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad(IdpDraft {
                issuer: String::new(),
                ..ok.clone()
            })
            .starts_with("Issuer")
        );
        assert!(
            bad(IdpDraft {
                issuer: "https://portico.test".into(),
                ..ok.clone()
            })
            .contains("own issuer")
        );
        assert!(
            bad(IdpDraft {
                jwks_url: "ftp://x/y".into(),
                ..ok.clone()
            })
            .starts_with("JWKS URL")
        );
        assert!(
            bad(IdpDraft {
                jwks_url: "https://a b".into(),
                ..ok.clone()
            })
            .starts_with("JWKS URL")
        );
        assert!(
            bad(IdpDraft {
                workload_claim: "sub claim".into(),
                ..ok
            })
            .starts_with("Workload claim")
        );
    }
}
