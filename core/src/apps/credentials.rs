//! Client secrets and API keys of an application as the portal shows and rotates them.
//!
//! Each kind has at most two live credentials, a `primary` and a `secondary` slot. Rotation
//! without downtime: [`add_credential`] (the new one is shown once and takes the free slot),
//! deploy it, [`make_primary`], then [`revoke`] the old one. Revoking the last live
//! credential needs `confirm_last`, because the application stops working.
//!
//! The token endpoint and the gateway read these tables directly, but each process caches
//! client lookups and API keys for up to 5 s: after a change the web layer announces it
//! ([`crate::changes`]) so that every process sees it at once.

use crate::apps::access;
pub use crate::apps::applications::Credential;
use crate::audit;
use crate::changes::Change;
use crate::clock::{self, UnixTime};
use crate::identity::ActorContext;
use crate::identity::permissions::PortalAction;
use crate::secret::{PlainSecret, SecretKind};
use crate::{CoreError, CoreResult, Database, ids};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

/// Live credentials of one kind an application may hold at once.
pub const MAX_LIVE: usize = 2;

/// Which slot a credential holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Primary,
    Secondary,
}

impl Slot {
    pub fn as_str(self) -> &'static str {
        match self {
            Slot::Primary => "primary",
            Slot::Secondary => "secondary",
        }
    }
}

impl TryFrom<String> for Slot {
    type Error = CoreError;
    fn try_from(s: String) -> CoreResult<Self> {
        match s.as_str() {
            "primary" => Ok(Slot::Primary),
            "secondary" => Ok(Slot::Secondary),
            other => Err(CoreError::Invalid(format!("unknown slot {other:?}"))),
        }
    }
}

/// A client secret or API key as listed (never its value).
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct CredentialInfo {
    pub id: String,
    /// Non-secret reminder such as `pcs_Ab3d…`.
    pub hint: String,
    #[sqlx(try_from = "String")]
    pub slot: Slot,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
    /// Secrets only (API keys never expire).
    pub expires_at: Option<UnixTime>,
}

impl CredentialInfo {
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| t > now)
    }
}

struct Names {
    table: &'static str,
    hash_column: &'static str,
    expires: &'static str,
    kind: SecretKind,
    noun: &'static str,
    action: &'static str,
    id_prefix: &'static str,
}

fn names(credential: Credential) -> Names {
    match credential {
        Credential::ClientSecret => Names {
            table: "client_secrets",
            hash_column: "secret_hash",
            expires: "expires_at",
            kind: SecretKind::ClientSecret,
            noun: "client secret",
            action: "application.secret",
            id_prefix: "sec",
        },
        Credential::ApiKey => Names {
            table: "api_keys",
            hash_column: "key_hash",
            expires: "NULL",
            kind: SecretKind::ApiKey,
            noun: "API key",
            action: "application.api_key",
            id_prefix: "key",
        },
    }
}

/// Every credential of one kind of an application (live and revoked), primary first, then
/// newest first.
pub(crate) async fn list_in(
    conn: &mut AnyConnection,
    credential: Credential,
    app_id: &str,
) -> CoreResult<Vec<CredentialInfo>> {
    let n = names(credential);
    let mut list: Vec<CredentialInfo> = sqlx::query_as(&format!(
        "SELECT id, hint, slot, created_at, last_used_at, revoked_at, {} AS expires_at FROM {} \
         WHERE application_id = $1 ORDER BY id DESC",
        n.expires, n.table
    ))
    .bind(app_id)
    .fetch_all(&mut *conn)
    .await?;
    let now = clock::now();
    list.sort_by_key(|c| (!c.is_live(now), c.slot != Slot::Primary));
    Ok(list)
}

async fn live(
    conn: &mut AnyConnection,
    credential: Credential,
    app_id: &str,
) -> CoreResult<Vec<CredentialInfo>> {
    let now = clock::now();
    Ok(list_in(conn, credential, app_id)
        .await?
        .into_iter()
        .filter(|c| c.is_live(now))
        .collect())
}

/// The credentials of one kind of an application (for members who may view it).
pub async fn list(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    credential: Credential,
) -> CoreResult<Vec<CredentialInfo>> {
    let mut conn = db.pool().acquire().await?;
    access::authorize_app_in(&mut conn, ctx, app_id, PortalAction::ViewApplications).await?;
    list_in(&mut conn, credential, app_id).await
}

/// Adds a credential (a secondary one when a primary is live); refused while two are live.
/// Returns its listing and its value, shown once.
pub async fn add_credential(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    credential: Credential,
) -> CoreResult<(CredentialInfo, PlainSecret)> {
    let n = names(credential);
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::ManageCredentials).await?;
    if credential == Credential::ClientSecret
        && crate::apps::client_keys::keys_only_in(&mut tx, app_id).await?
    {
        return Err(CoreError::Conflict(
            "This application authenticates with private_key_jwt only, so it has no client \
             secret; allow client secrets again under Client authentication to add one."
                .into(),
        ));
    }
    let current = live(&mut tx, credential, app_id).await?;
    if current.len() >= MAX_LIVE {
        return Err(CoreError::Conflict(format!(
            "This application already has two live {noun}s; revoke one before adding another.",
            noun = n.noun
        )));
    }
    let slot = if current.iter().any(|c| c.slot == Slot::Primary) {
        Slot::Secondary
    } else {
        Slot::Primary
    };
    let value = PlainSecret::generate(n.kind);
    let now = clock::now();
    let id = ids::new_id(n.id_prefix);
    sqlx::query(&format!(
        "INSERT INTO {} (id, application_id, {}, hint, slot, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        n.table, n.hash_column
    ))
    .bind(&id)
    .bind(app_id)
    .bind(value.hash().to_hex())
    .bind(value.hint())
    .bind(slot.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.record(
        &format!("{}.added", n.action),
        Some(&id),
        Some(&app.partner_id),
        &json!({"application": app_id, "slot": slot.as_str()}),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    let info = CredentialInfo {
        id,
        hint: value.hint(),
        slot,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        expires_at: None,
    };
    Ok((info, value))
}

/// Makes a live credential the primary one; the other live one (if any) becomes secondary.
pub async fn make_primary(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    credential: Credential,
    credential_id: &str,
) -> CoreResult<()> {
    let n = names(credential);
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::ManageCredentials).await?;
    let current = live(&mut tx, credential, app_id).await?;
    let Some(target) = current.iter().find(|c| c.id == credential_id) else {
        return Err(CoreError::NotFound {
            what: "live credential",
        });
    };
    if target.slot == Slot::Primary {
        return Ok(());
    }
    for c in &current {
        let slot = if c.id == credential_id {
            Slot::Primary
        } else {
            Slot::Secondary
        };
        sqlx::query(&format!("UPDATE {} SET slot = $1 WHERE id = $2", n.table))
            .bind(slot.as_str())
            .bind(&c.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.record(
        &format!("{}.made_primary", n.action),
        Some(credential_id),
        Some(&app.partner_id),
        &json!({"application": app_id}),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(())
}

/// Revokes a live credential at once. Revoking the last live one is refused unless
/// `confirm_last` (the application then cannot get tokens, or pass an API-key check, until a
/// new one is added). Revoking the primary promotes the secondary.
pub async fn revoke(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    credential: Credential,
    credential_id: &str,
    confirm_last: bool,
) -> CoreResult<()> {
    let n = names(credential);
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::ManageCredentials).await?;
    let current = live(&mut tx, credential, app_id).await?;
    let Some(target) = current.iter().find(|c| c.id == credential_id) else {
        return Err(CoreError::NotFound {
            what: "live credential",
        });
    };
    if current.len() == 1 && !confirm_last {
        let consequence = match credential {
            Credential::ClientSecret => "the application cannot get access tokens",
            Credential::ApiKey => "calls that need an API key fail",
        };
        return Err(CoreError::Invalid(format!(
            "This is the application's last live {noun}: if you revoke it, {consequence} until you add a new one. Confirm to revoke it anyway.",
            noun = n.noun
        )));
    }
    let now = clock::now();
    sqlx::query(&format!(
        "UPDATE {} SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        n.table
    ))
    .bind(now)
    .bind(credential_id)
    .execute(&mut *tx)
    .await?;
    if target.slot == Slot::Primary {
        for other in current.iter().filter(|c| c.id != credential_id) {
            sqlx::query(&format!(
                "UPDATE {} SET slot = 'primary' WHERE id = $1",
                n.table
            ))
            .bind(&other.id)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.record(
        &format!("{}.revoked", n.action),
        Some(credential_id),
        Some(&app.partner_id),
        &json!({"application": app_id, "slot": target.slot.as_str(), "last": current.len() == 1}),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(())
}

/// Adds a secondary client secret for rotation (shown once). See [`add_credential`].
pub async fn add_secondary_secret(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
) -> CoreResult<(CredentialInfo, PlainSecret)> {
    add_credential(db, ctx, app_id, Credential::ClientSecret).await
}

/// Makes a client secret the primary one. See [`make_primary`].
pub async fn make_primary_secret(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    secret_id: &str,
) -> CoreResult<()> {
    make_primary(db, ctx, app_id, Credential::ClientSecret, secret_id).await
}

/// Revokes a client secret. See [`revoke`].
pub async fn revoke_secret(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    secret_id: &str,
    confirm_last: bool,
) -> CoreResult<()> {
    revoke(
        db,
        ctx,
        app_id,
        Credential::ClientSecret,
        secret_id,
        confirm_last,
    )
    .await
}

/// Adds an API key (secondary when a primary is live; shown once). See [`add_credential`].
pub async fn add_api_key(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
) -> CoreResult<(CredentialInfo, PlainSecret)> {
    add_credential(db, ctx, app_id, Credential::ApiKey).await
}

/// Makes an API key the primary one. See [`make_primary`].
pub async fn make_primary_api_key(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    key_id: &str,
) -> CoreResult<()> {
    make_primary(db, ctx, app_id, Credential::ApiKey, key_id).await
}

/// Revokes an API key. See [`revoke`].
pub async fn revoke_api_key(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    key_id: &str,
    confirm_last: bool,
) -> CoreResult<()> {
    revoke(db, ctx, app_id, Credential::ApiKey, key_id, confirm_last).await
}
