//! Applications: a partner's OAuth clients, with their client secrets and API keys.

use crate::authz::scopes::{ScopeCatalog, Scopes};
use crate::clock::{self, UnixTime};
use crate::orgs::partners::{Partner, PartnerStatus};
use crate::secret::{HashedSecret, PlainSecret, SecretKind};
use crate::{CoreError, CoreResult, Database, ids};
use sqlx::{AnyConnection, FromRow};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppStatus {
    Active,
    Suspended,
}

impl AppStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Active => "active",
            AppStatus::Suspended => "suspended",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub id: String,
    pub client_id: String,
    /// The partner's slug: the tenant id in tokens and policies.
    pub partner_id: String,
    pub partner_status: PartnerStatus,
    pub name: String,
    pub status: AppStatus,
    pub scopes: Scopes,
    pub usage_plan: String,
    pub created_at: UnixTime,
    /// An admin granted this application the production stage (after approving its partner).
    pub production_access: bool,
    /// Only DPoP-bound tokens (RFC 9449) for this application; see [`crate::apps::dpop`].
    pub dpop_required: bool,
}

/// Credentials of a new application: shown once, then only their hashes exist.
#[derive(Debug)]
pub struct IssuedCredentials {
    pub client_id: String,
    pub client_secret: PlainSecret,
    pub api_key: PlainSecret,
}

/// A stored secret as the token endpoint checks it.
#[derive(Clone, Debug)]
pub struct StoredSecret {
    pub id: String,
    pub hash: HashedSecret,
    pub expires_at: Option<UnixTime>,
}

#[derive(FromRow)]
struct AppRow {
    id: String,
    client_id: String,
    partner_slug: String,
    partner_status: String,
    name: String,
    status: String,
    scopes: String,
    usage_plan: String,
    created_at: i64,
    production_granted_at: Option<i64>,
    dpop_required_at: Option<i64>,
}

impl TryFrom<AppRow> for Application {
    type Error = CoreError;
    fn try_from(row: AppRow) -> CoreResult<Self> {
        Ok(Application {
            status: match row.status.as_str() {
                "active" => AppStatus::Active,
                "suspended" => AppStatus::Suspended,
                other => {
                    return Err(CoreError::Invalid(format!(
                        "unknown application status {other:?}"
                    )));
                }
            },
            partner_status: match row.partner_status.as_str() {
                "approved" => PartnerStatus::Approved,
                "pending" => PartnerStatus::Pending,
                "suspended" => PartnerStatus::Suspended,
                other => {
                    return Err(CoreError::Invalid(format!(
                        "unknown partner status {other:?}"
                    )));
                }
            },
            scopes: Scopes::parse(&row.scopes)?,
            id: row.id,
            client_id: row.client_id,
            partner_id: row.partner_slug,
            name: row.name,
            usage_plan: row.usage_plan,
            created_at: row.created_at,
            production_access: row.production_granted_at.is_some(),
            dpop_required: row.dpop_required_at.is_some(),
        })
    }
}

const APP_SELECT: &str = "SELECT a.id, a.client_id, p.slug AS partner_slug, p.status AS partner_status, \
     a.name, a.status, a.scopes, a.usage_plan, a.created_at, a.production_granted_at, a.dpop_required_at \
     FROM applications a JOIN partners p ON p.id = a.partner_id";

/// Registers an application with one client secret (primary) and one API key.
pub async fn create(
    conn: &mut AnyConnection,
    partner: &Partner,
    name: &str,
    scopes: &Scopes,
    usage_plan: &str,
) -> CoreResult<(Application, IssuedCredentials)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(CoreError::Invalid(
            "application name must be 1-100 characters".into(),
        ));
    }
    let now = clock::now();
    let app = Application {
        id: ids::new_id("app"),
        client_id: ids::new_id("pci"),
        partner_id: partner.slug.clone(),
        partner_status: partner.status,
        name: name.to_owned(),
        status: AppStatus::Active,
        scopes: scopes.clone(),
        usage_plan: usage_plan.to_owned(),
        created_at: now,
        production_access: false,
        dpop_required: false,
    };
    sqlx::query(
        "INSERT INTO applications (id, client_id, partner_id, name, status, scopes, usage_plan, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $7)",
    )
    .bind(&app.id)
    .bind(&app.client_id)
    .bind(&partner.id)
    .bind(&app.name)
    .bind(scopes.to_string())
    .bind(usage_plan)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|e| match CoreError::from(e) {
        e if e.is_unique_violation() => {
            CoreError::Conflict(format!("partner {} already has an application named {name:?}", partner.slug))
        }
        e => e,
    })?;
    let client_secret = insert_secret(conn, &app.id, "primary", now).await?;
    let api_key = create_api_key(conn, &app.id).await?;
    Ok((
        app.clone(),
        IssuedCredentials {
            client_id: app.client_id,
            client_secret,
            api_key,
        },
    ))
}

pub(crate) async fn insert_secret(
    conn: &mut AnyConnection,
    app_id: &str,
    slot: &str,
    now: UnixTime,
) -> CoreResult<PlainSecret> {
    let secret = PlainSecret::generate(SecretKind::ClientSecret);
    sqlx::query(
        "INSERT INTO client_secrets (id, application_id, secret_hash, hint, slot, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ids::new_id("sec"))
    .bind(app_id)
    .bind(secret.hash().to_hex())
    .bind(secret.hint())
    .bind(slot)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(secret)
}

pub async fn create_api_key(conn: &mut AnyConnection, app_id: &str) -> CoreResult<PlainSecret> {
    let key = PlainSecret::generate(SecretKind::ApiKey);
    sqlx::query("INSERT INTO api_keys (id, application_id, key_hash, hint, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(ids::new_id("key"))
        .bind(app_id)
        .bind(key.hash().to_hex())
        .bind(key.hint())
        .bind(clock::now())
        .execute(&mut *conn)
        .await?;
    Ok(key)
}

/// Application columns that admin actions change one at a time.
#[derive(Clone, Copy, Debug)]
pub(crate) enum AppField {
    UsagePlan,
    IpAllowlist,
    ProviderPreferences,
}

impl AppField {
    fn update_sql(self) -> &'static str {
        match self {
            AppField::UsagePlan => {
                "UPDATE applications SET usage_plan = $1, updated_at = $2 WHERE id = $3"
            }
            AppField::IpAllowlist => {
                "UPDATE applications SET ip_allowlist = $1, updated_at = $2 WHERE id = $3"
            }
            AppField::ProviderPreferences => {
                "UPDATE applications SET provider_preferences = $1, updated_at = $2 WHERE id = $3"
            }
        }
    }
}

/// Sets one column of an application; `NotFound` when there is no such application.
pub(crate) async fn set_field(
    db: &Database,
    app_id: &str,
    field: AppField,
    value: &str,
) -> CoreResult<()> {
    let result = sqlx::query(field.update_sql())
        .bind(value)
        .bind(clock::now())
        .bind(app_id)
        .execute(db.pool())
        .await?;
    if result.rows_affected() == 0 {
        return Err(CoreError::NotFound {
            what: "application",
        });
    }
    Ok(())
}

/// Every application that holds a scope outside `known` (a scope no served model declares any
/// more), with those scopes, by client id. Such scopes are not taken away: start-up reports
/// them so that an operator revokes them or declares them again.
pub async fn holding_unknown_scopes(
    db: &Database,
    known: &ScopeCatalog,
) -> CoreResult<Vec<(Application, Vec<String>)>> {
    let rows = sqlx::query_as::<_, AppRow>(&format!(
        "{APP_SELECT} WHERE a.scopes <> '' ORDER BY a.client_id"
    ))
    .fetch_all(db.pool())
    .await?;
    let mut holders = Vec::new();
    for row in rows {
        let app = Application::try_from(row)?;
        let unknown: Vec<String> = app
            .scopes
            .iter()
            .filter(|scope| !known.contains(scope))
            .map(str::to_owned)
            .collect();
        if !unknown.is_empty() {
            holders.push((app, unknown));
        }
    }
    Ok(holders)
}

pub async fn find_by_client_id(db: &Database, client_id: &str) -> CoreResult<Option<Application>> {
    sqlx::query_as::<_, AppRow>(&format!("{APP_SELECT} WHERE a.client_id = $1"))
        .bind(client_id)
        .fetch_optional(db.pool())
        .await?
        .map(Application::try_from)
        .transpose()
}

/// The application with this (internal) id, on a connection or inside a transaction.
pub async fn find_by_id(conn: &mut AnyConnection, app_id: &str) -> CoreResult<Option<Application>> {
    sqlx::query_as::<_, AppRow>(&format!("{APP_SELECT} WHERE a.id = $1"))
        .bind(app_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(Application::try_from)
        .transpose()
}

pub async fn find_by_partner_and_name(
    db: &Database,
    partner_slug: &str,
    name: &str,
) -> CoreResult<Option<Application>> {
    sqlx::query_as::<_, AppRow>(&format!("{APP_SELECT} WHERE p.slug = $1 AND a.name = $2"))
        .bind(partner_slug)
        .bind(name)
        .fetch_optional(db.pool())
        .await?
        .map(Application::try_from)
        .transpose()
}

/// The application behind `client_id` with its live secrets, for client authentication.
pub async fn load_client(
    db: &Database,
    client_id: &str,
) -> CoreResult<Option<(Application, Vec<StoredSecret>)>> {
    let Some(app) = find_by_client_id(db, client_id).await? else {
        return Ok(None);
    };
    let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, secret_hash, expires_at FROM client_secrets WHERE application_id = $1 AND revoked_at IS NULL",
    )
    .bind(&app.id)
    .fetch_all(db.pool())
    .await?;
    let secrets = rows
        .into_iter()
        .filter_map(|(id, hash, expires_at)| {
            HashedSecret::from_hex(&hash).map(|hash| StoredSecret {
                id,
                hash,
                expires_at,
            })
        })
        .collect();
    Ok(Some((app, secrets)))
}

/// Credentials whose use is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    ClientSecret,
    ApiKey,
}

/// Applies coalesced `last_used_at` stamps (credential id → time) in one transaction.
pub async fn record_last_use(
    db: &Database,
    credential: Credential,
    uses: &[(String, UnixTime)],
) -> CoreResult<()> {
    if uses.is_empty() {
        return Ok(());
    }
    let sql = match credential {
        Credential::ClientSecret => {
            "UPDATE client_secrets SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)"
        }
        Credential::ApiKey => {
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)"
        }
    };
    let mut tx = db.begin_write().await?;
    for (id, at) in uses {
        sqlx::query(sql)
            .bind(*at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
