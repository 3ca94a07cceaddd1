//! private_key_jwt (RFC 7523 §2.2): the public keys an application signs its client assertions
//! with, an optional `jwks_uri` its keys are fetched from, and whether it still accepts client
//! secrets.
//!
//! Switching an application to "private_key_jwt only" revokes every client secret it holds in
//! the same transaction: afterwards there is no stored secret anyone could copy, and adding one
//! is refused until the setting is turned off again.

use crate::apps::access;
use crate::audit;
use crate::changes::Change;
use crate::clock::{self, UnixTime};
use crate::identity::ActorContext;
use crate::identity::permissions::PortalAction;
use crate::tokens::jwk::PublicJwk;
use crate::{CoreError, CoreResult, Database, ids};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

/// Keys one application may register at once (enough for a rotation with an overlap).
pub const MAX_KEYS: usize = 5;

/// Longest `jwks_uri` accepted.
const MAX_URI_LEN: usize = 2048;

/// How an application authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// A client secret (Basic or form), or private_key_jwt once a key is registered.
    #[default]
    SecretOrKey,
    /// Only private_key_jwt; the application holds no client secret.
    PrivateKeyJwtOnly,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::SecretOrKey => "secret_or_key",
            ClientAuthMethod::PrivateKeyJwtOnly => "private_key_jwt",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "private_key_jwt" {
            ClientAuthMethod::PrivateKeyJwtOnly
        } else {
            ClientAuthMethod::SecretOrKey
        }
    }
}

/// A registered key as the portal lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientKeyInfo {
    pub id: String,
    pub kid: Option<String>,
    /// Key type and the start of its thumbprint, e.g. `EC P-256 NzbLsXh8uDCc…`.
    pub label: String,
    pub thumbprint: String,
    pub created_at: UnixTime,
}

/// An application's client-authentication settings, as the portal shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientAuthView {
    pub method: ClientAuthMethod,
    pub jwks_uri: Option<String>,
    pub keys: Vec<ClientKeyInfo>,
}

/// What the token endpoint needs to check an assertion of one application.
#[derive(Clone, Debug, Default)]
pub struct ClientKeys {
    pub method: ClientAuthMethod,
    pub jwks_uri: Option<String>,
    pub keys: Vec<PublicJwk>,
}

#[derive(FromRow)]
struct KeyRow {
    id: String,
    kid: Option<String>,
    thumbprint: String,
    public_jwk: String,
    created_at: i64,
}

async fn settings_in(
    conn: &mut AnyConnection,
    app_id: &str,
) -> CoreResult<(ClientAuthMethod, Option<String>)> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT method, jwks_uri FROM client_auth_settings WHERE application_id = $1",
    )
    .bind(app_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(
        row.map_or((ClientAuthMethod::SecretOrKey, None), |(method, uri)| {
            (ClientAuthMethod::parse(&method), uri)
        }),
    )
}

async fn key_rows(conn: &mut AnyConnection, app_id: &str) -> CoreResult<Vec<KeyRow>> {
    Ok(sqlx::query_as(
        "SELECT id, kid, thumbprint, public_jwk, created_at FROM client_keys \
         WHERE application_id = $1 ORDER BY created_at, id",
    )
    .bind(app_id)
    .fetch_all(&mut *conn)
    .await?)
}

fn key_info(row: KeyRow) -> ClientKeyInfo {
    let label = serde_json::from_str(&row.public_jwk)
        .ok()
        .and_then(|value| PublicJwk::from_json(&value).ok())
        .map_or_else(|| "unreadable key".to_owned(), |key| key.label());
    ClientKeyInfo {
        id: row.id,
        kid: row.kid,
        label,
        thumbprint: row.thumbprint,
        created_at: row.created_at,
    }
}

pub(crate) async fn view_in(conn: &mut AnyConnection, app_id: &str) -> CoreResult<ClientAuthView> {
    let (method, jwks_uri) = settings_in(conn, app_id).await?;
    let keys = key_rows(conn, app_id)
        .await?
        .into_iter()
        .map(key_info)
        .collect();
    Ok(ClientAuthView {
        method,
        jwks_uri,
        keys,
    })
}

/// The application page's "Client authentication" section.
pub async fn view(db: &Database, ctx: &ActorContext, app_id: &str) -> CoreResult<ClientAuthView> {
    let mut conn = db.pool().acquire().await?;
    access::authorize_app_in(&mut conn, ctx, app_id, PortalAction::ViewApplications).await?;
    view_in(&mut conn, app_id).await
}

/// The keys and method the token endpoint checks assertions of `app_id` against.
pub async fn load_for_token_endpoint(db: &Database, app_id: &str) -> CoreResult<ClientKeys> {
    let mut conn = db.pool().acquire().await?;
    let (method, jwks_uri) = settings_in(&mut conn, app_id).await?;
    let keys = key_rows(&mut conn, app_id)
        .await?
        .into_iter()
        .filter_map(|row| {
            let value = serde_json::from_str(&row.public_jwk).ok()?;
            PublicJwk::from_json(&value).ok()
        })
        .collect();
    Ok(ClientKeys {
        method,
        jwks_uri,
        keys,
    })
}

/// Whether `app_id` accepts only private_key_jwt (so no client secret may be added).
pub(crate) async fn keys_only_in(conn: &mut AnyConnection, app_id: &str) -> CoreResult<bool> {
    Ok(settings_in(conn, app_id).await?.0 == ClientAuthMethod::PrivateKeyJwtOnly)
}

/// Registers the public key(s) in `text`: a JWK, a JWK set or a PEM public key.
pub async fn add_keys(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    text: &str,
) -> CoreResult<Vec<ClientKeyInfo>> {
    if text.trim().is_empty() {
        return Err(CoreError::Invalid(
            "Paste a public key: a JWK, a JWK set or a PEM \"PUBLIC KEY\".".into(),
        ));
    }
    if text.len() > 64 * 1024 {
        return Err(CoreError::Invalid(
            "That is too long for a public key (64 KiB at most).".into(),
        ));
    }
    let parsed = PublicJwk::parse_many(text).map_err(|e| CoreError::Invalid(sentence(&e)))?;
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::ManageCredentials).await?;
    let existing = key_rows(&mut tx, app_id).await?;
    if existing.len() + parsed.len() > MAX_KEYS {
        return Err(CoreError::Invalid(format!(
            "An application can register at most {MAX_KEYS} keys; remove one first."
        )));
    }
    let now = clock::now();
    let mut added = Vec::with_capacity(parsed.len());
    for key in &parsed {
        if existing
            .iter()
            .any(|row| row.thumbprint == key.thumbprint())
            || added
                .iter()
                .any(|info: &ClientKeyInfo| info.thumbprint == key.thumbprint())
        {
            return Err(CoreError::Invalid(format!(
                "The key {} is already registered.",
                key.label()
            )));
        }
        if let Some(kid) = key.kid()
            && existing.iter().any(|row| row.kid.as_deref() == Some(kid))
        {
            return Err(CoreError::Invalid(format!(
                "Another registered key already has the kid {kid:?}: kids must tell keys apart."
            )));
        }
        let id = ids::new_id("ckey");
        sqlx::query(
            "INSERT INTO client_keys (id, application_id, kid, thumbprint, public_jwk, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(app_id)
        .bind(key.kid())
        .bind(key.thumbprint())
        .bind(key.public_json().to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        added.push(ClientKeyInfo {
            id,
            kid: key.kid().map(str::to_owned),
            label: key.label(),
            thumbprint: key.thumbprint().to_owned(),
            created_at: now,
        });
    }
    tx.record(
        "application.client_key.added",
        Some(app_id),
        Some(&app.partner_id),
        &json!({ "thumbprints": added.iter().map(|k| &k.thumbprint).collect::<Vec<_>>() }),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(added)
}

/// Removes a registered key. The last way to authenticate of a private_key_jwt-only
/// application cannot be removed (it would lock the application out).
pub async fn remove_key(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    key_id: &str,
) -> CoreResult<()> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::ManageCredentials).await?;
    let rows = key_rows(&mut tx, app_id).await?;
    let Some(row) = rows.iter().find(|row| row.id == key_id) else {
        return Err(CoreError::NotFound { what: "key" });
    };
    let (method, jwks_uri) = settings_in(&mut tx, app_id).await?;
    if method == ClientAuthMethod::PrivateKeyJwtOnly && rows.len() == 1 && jwks_uri.is_none() {
        return Err(CoreError::Invalid(
            "This is the application's only key and it accepts private_key_jwt only: register \
             another key first, or allow client secrets again."
                .into(),
        ));
    }
    sqlx::query("DELETE FROM client_keys WHERE id = $1 AND application_id = $2")
        .bind(key_id)
        .bind(app_id)
        .execute(&mut *tx)
        .await?;
    tx.record(
        "application.client_key.removed",
        Some(app_id),
        Some(&app.partner_id),
        &json!({ "thumbprint": row.thumbprint }),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(())
}

/// Checks a `jwks_uri` as typed; where it may point is decided when it is fetched (through
/// the outbound client that refuses private and loopback addresses).
pub fn check_jwks_uri(uri: &str) -> CoreResult<String> {
    let uri = uri.trim();
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
        .ok_or_else(|| CoreError::Invalid("The JWKS URL must start with https://.".into()))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(CoreError::Invalid("The JWKS URL has no host.".into()));
    }
    if authority.contains('@') {
        return Err(CoreError::Invalid(
            "The JWKS URL must not contain a user name or password.".into(),
        ));
    }
    if uri.len() > MAX_URI_LEN || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CoreError::Invalid(
            "The JWKS URL is too long or contains spaces.".into(),
        ));
    }
    Ok(uri.to_owned())
}

async fn upsert_settings(
    conn: &mut AnyConnection,
    app_id: &str,
    method: ClientAuthMethod,
    jwks_uri: Option<&str>,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO client_auth_settings (application_id, method, jwks_uri, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (application_id) DO UPDATE \
         SET method = excluded.method, jwks_uri = excluded.jwks_uri, updated_at = excluded.updated_at",
    )
    .bind(app_id)
    .bind(method.as_str())
    .bind(jwks_uri)
    .bind(clock::now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets or clears the URL the application's keys are also fetched from.
pub async fn set_jwks_uri(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    uri: Option<&str>,
) -> CoreResult<()> {
    let uri = uri
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(check_jwks_uri)
        .transpose()?;
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::ManageCredentials).await?;
    let (method, _) = settings_in(&mut tx, app_id).await?;
    if uri.is_none()
        && method == ClientAuthMethod::PrivateKeyJwtOnly
        && key_rows(&mut tx, app_id).await?.is_empty()
    {
        return Err(CoreError::Invalid(
            "The JWKS URL is this application's only source of keys: register a key first.".into(),
        ));
    }
    upsert_settings(&mut tx, app_id, method, uri.as_deref()).await?;
    tx.record(
        "application.jwks_uri.changed",
        Some(app_id),
        Some(&app.partner_id),
        &json!({ "jwks_uri": uri }),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(())
}

/// Sets how the application authenticates. Choosing private_key_jwt only needs a key (or a
/// JWKS URL) and revokes every live client secret; returns how many were revoked.
pub async fn set_method(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    method: ClientAuthMethod,
) -> CoreResult<u64> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::ManageCredentials).await?;
    let (current, jwks_uri) = settings_in(&mut tx, app_id).await?;
    if current == method {
        return Ok(0);
    }
    let mut revoked = 0;
    if method == ClientAuthMethod::PrivateKeyJwtOnly {
        if key_rows(&mut tx, app_id).await?.is_empty() && jwks_uri.is_none() {
            return Err(CoreError::Invalid(
                "Register a public key (or a JWKS URL) before refusing client secrets.".into(),
            ));
        }
        revoked = sqlx::query(
            "UPDATE client_secrets SET revoked_at = $1 WHERE application_id = $2 AND revoked_at IS NULL",
        )
        .bind(clock::now())
        .bind(app_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    upsert_settings(&mut tx, app_id, method, jwks_uri.as_deref()).await?;
    tx.record(
        "application.client_auth.changed",
        Some(app_id),
        Some(&app.partner_id),
        &json!({ "method": method.as_str(), "secrets_revoked": revoked }),
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(revoked)
}

/// An error's message as a sentence for a form.
fn sentence(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
    format!("{}{}.", first.unwrap_or_default(), chars.as_str())
}
