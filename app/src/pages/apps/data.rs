//! The applications pages' data: what the list, the registration form and an application's
//! page show, their `#[server]` functions, and (`ssr`) the core reads behind them.

use crate::components::secrets::ShownOnce;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One row of the applications table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRow {
    pub id: String,
    pub name: String,
    pub client_id: String,
    /// active or suspended.
    pub status: String,
    pub scopes: Vec<String>,
    pub pending_scopes: usize,
    pub plan: String,
    pub production: bool,
    /// YYYY-MM-DD (UTC).
    pub created: String,
}

/// What the applications list shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppsData {
    pub organisation: String,
    /// pending, approved or suspended.
    pub organisation_status: String,
    pub can_register: bool,
    pub apps: Vec<AppRow>,
}

/// A scope that can be requested, and what it allows (from the API model declaring it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeOption {
    pub name: String,
    pub description: String,
}

/// What the registration form needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAppData {
    pub scopes: Vec<ScopeOption>,
    pub can_register: bool,
    pub role: String,
    pub organisation_status: String,
}

/// A client secret or API key as listed (never its value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRow {
    pub id: String,
    pub hint: String,
    /// primary or secondary.
    pub slot: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
    pub expires: Option<String>,
    pub live: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeRequestRow {
    pub id: String,
    pub scope: String,
    /// pending, approved, denied, revoked or withdrawn.
    pub status: String,
    pub reason: String,
    pub requested: String,
    pub decided: Option<String>,
    pub note: String,
}

/// A registered private_key_jwt public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientKeyRow {
    pub id: String,
    pub kid: String,
    /// Key type and the start of its thumbprint.
    pub label: String,
    /// RFC 7638 thumbprint (SHA-256, base64url).
    pub thumbprint: String,
    pub added: String,
}

/// How the application authenticates at the token endpoint, and the tokens it gets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientAuthData {
    /// Client secrets are refused: private_key_jwt only.
    pub keys_only: bool,
    pub jwks_uri: String,
    pub keys: Vec<ClientKeyRow>,
    /// Mutual TLS: `tls_client_auth`, `self_signed_tls_client_auth` or empty (off).
    pub mtls_method: String,
    /// `tls_client_auth`: dn, dns, uri, email or ip, and the value the certificate must carry.
    pub mtls_subject_kind: String,
    pub mtls_subject_value: String,
    /// `self_signed_tls_client_auth`: what is pinned (labels).
    pub mtls_pinned: Vec<String>,
    /// Tokens of secret-authenticated calls that present a certificate are bound to it too.
    pub mtls_bound_tokens: bool,
    /// Only DPoP-bound tokens are issued and accepted (RFC 9449).
    pub dpop_required: bool,
}

/// Everything the application page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDetailData {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub description: String,
    pub status: String,
    /// When suspended: by whom ("an administrator" or "your organisation") and when.
    pub suspension: Option<(String, String)>,
    pub suspended_by_admin: bool,
    pub plan: String,
    /// When production access was granted.
    pub production: Option<String>,
    pub organisation: String,
    pub organisation_status: String,
    pub created: String,
    pub scopes: Vec<String>,
    pub pending_scopes: Vec<String>,
    pub known_scopes: Vec<ScopeOption>,
    /// One CIDR per line.
    pub ip_allowlist: String,
    /// Comma separated.
    pub blocked_providers: String,
    /// Comma separated; empty = any provider.
    pub allowed_providers: String,
    pub max_providers: String,
    pub secrets: Vec<CredentialRow>,
    pub api_keys: Vec<CredentialRow>,
    pub client_auth: ClientAuthData,
    pub scope_requests: Vec<ScopeRequestRow>,
    /// Credentials made by the previous form, shown this once.
    pub shown_once: Vec<ShownOnce>,
    /// The viewer's role (empty for an administrator outside the organisation).
    pub role: String,
    pub can_manage_credentials: bool,
    pub can_request_scopes: bool,
    pub can_edit_settings: bool,
    pub can_suspend_or_delete: bool,
    /// Calls of this application to deprecated versions or operations in the last 30 days.
    pub deprecated_calls: Vec<crate::pages::deprecations::ReportRow>,
    /// Its webhook endpoints (and those disabled for failing, for the banner).
    pub webhooks: crate::pages::webhooks::ApplicationWebhooks,
}

#[server]
pub async fn applications_page() -> Result<AppsData, ServerFnError> {
    ssr::applications().await
}

#[server]
pub async fn new_application_page() -> Result<NewAppData, ServerFnError> {
    ssr::new_application().await
}

#[server]
pub async fn application_page(id: String) -> Result<AppDetailData, ServerFnError> {
    ssr::application(&id).await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{
        AppDetailData, AppRow, AppsData, ClientAuthData, ClientKeyRow, CredentialRow, NewAppData,
        ScopeOption, ScopeRequestRow,
    };
    use crate::components::format::format_time;
    use crate::server::{actor, page_error, portal};
    use leptos::prelude::ServerFnError;
    use portico_core::CoreError;
    use portico_core::apps::applications::AppStatus;
    use portico_core::apps::client_keys;
    use portico_core::apps::credentials::CredentialInfo;
    use portico_core::apps::manage::{self, SuspensionSource};
    use portico_core::clock::{self, UnixTime};
    use portico_core::identity::permissions::{PortalAction, admin_permits, permits};
    use portico_core::orgs::organisations;

    fn signed_out() -> ServerFnError {
        ServerFnError::new("Sign in to continue.")
    }

    /// `YYYY-MM-DD` (UTC).
    pub fn date(t: UnixTime) -> String {
        clock::format_rfc3339(t).chars().take(10).collect()
    }

    pub async fn applications() -> Result<AppsData, ServerFnError> {
        let ctx = actor().ok_or_else(signed_out)?;
        let db = portal()?.db;
        let (org, role) = organisations::my_organisation(&db, &ctx)
            .await
            .map_err(page_error)?
            .ok_or_else(|| ServerFnError::new("Create or join an organisation first."))?;
        let apps = manage::list_applications(&db, &ctx, &org.id)
            .await
            .map_err(page_error)?;
        Ok(AppsData {
            organisation: org.name,
            organisation_status: org.status.as_str().to_owned(),
            can_register: permits(role, PortalAction::RegisterApplication),
            apps: apps
                .into_iter()
                .map(|s| AppRow {
                    id: s.app.id,
                    name: s.app.name,
                    client_id: s.app.client_id,
                    status: s.app.status.as_str().to_owned(),
                    scopes: s.app.scopes.iter().map(str::to_owned).collect(),
                    pending_scopes: s.pending_scopes.len(),
                    plan: s.app.usage_plan,
                    production: s.production.is_some(),
                    created: date(s.app.created_at),
                })
                .collect(),
        })
    }

    pub async fn new_application() -> Result<NewAppData, ServerFnError> {
        let ctx = actor().ok_or_else(signed_out)?;
        let db = portal()?.db;
        let (org, role) = organisations::my_organisation(&db, &ctx)
            .await
            .map_err(page_error)?
            .ok_or_else(|| ServerFnError::new("Create or join an organisation first."))?;
        Ok(NewAppData {
            scopes: known_scopes()?,
            can_register: permits(role, PortalAction::RegisterApplication),
            role: role.as_str().to_owned(),
            organisation_status: org.status.as_str().to_owned(),
        })
    }

    fn known_scopes() -> Result<Vec<ScopeOption>, ServerFnError> {
        Ok(portal()?
            .scopes
            .iter()
            .map(|scope| ScopeOption {
                name: scope.name.clone(),
                description: scope.description.clone(),
            })
            .collect())
    }

    fn credential_row(c: CredentialInfo, now: UnixTime) -> CredentialRow {
        CredentialRow {
            live: c.is_live(now),
            id: c.id,
            hint: c.hint,
            slot: c.slot.as_str().to_owned(),
            created: format_time(c.created_at),
            last_used: c.last_used_at.map(format_time),
            revoked: c.revoked_at.map(format_time),
            expires: c.expires_at.map(format_time),
        }
    }

    pub async fn application(id: &str) -> Result<AppDetailData, ServerFnError> {
        let ctx = actor().ok_or_else(signed_out)?;
        let db = portal()?.db;
        let detail = match manage::application_detail(&db, &ctx, id).await {
            Ok(detail) => detail,
            Err(e) => {
                if matches!(e, CoreError::NotFound { .. })
                    && let Some(response) =
                        leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
                {
                    response.set_status(http::StatusCode::NOT_FOUND);
                }
                return Err(page_error(e));
            }
        };
        let membership = organisations::my_organisation(&db, &ctx)
            .await
            .map_err(page_error)?
            .filter(|(org, _)| org.id == detail.summary.organisation_id)
            .map(|(_, role)| role);
        // Someone who sees an application without being a member of its organisation can
        // only be a platform administrator (the core refused everyone else).
        let is_admin = crate::viewer::Viewer::current().is_admin();
        let may = |action: PortalAction| match membership {
            Some(role) => permits(role, action),
            None => is_admin && admin_permits(action),
        };
        let now = clock::now();
        let summary = detail.summary;
        let app = summary.app;
        let portal_ctx = portal()?;
        let deprecated_calls = crate::pages::deprecations::ssr::partner_report(
            &db,
            &portal_ctx.docs.current(),
            &app.partner_id,
            Some(&app.client_id),
        )
        .await
        .map_err(page_error)?;
        let webhooks = crate::pages::webhooks::ssr::of_application(&db, &ctx, &app.id).await?;
        let client_auth = client_keys::view(&db, &ctx, &app.id)
            .await
            .map_err(page_error)?;
        let mtls = portico_core::tokens::mtls::load(&db, &app.id)
            .await
            .map_err(page_error)?;
        let client_auth = ClientAuthData {
            mtls_method: mtls
                .as_ref()
                .and_then(|m| m.method)
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            mtls_subject_kind: mtls
                .as_ref()
                .and_then(|m| m.subject.as_ref())
                .map(|s| s.kind().to_owned())
                .unwrap_or_default(),
            mtls_subject_value: mtls
                .as_ref()
                .and_then(|m| m.subject.as_ref())
                .map(|s| s.value())
                .unwrap_or_default(),
            mtls_pinned: mtls
                .as_ref()
                .map(|m| m.pinned.iter().map(|p| p.label()).collect())
                .unwrap_or_default(),
            mtls_bound_tokens: mtls.as_ref().is_some_and(|m| m.bound_tokens),
            dpop_required: app.dpop_required,
            keys_only: client_auth.method == client_keys::ClientAuthMethod::PrivateKeyJwtOnly,
            jwks_uri: client_auth.jwks_uri.unwrap_or_default(),
            keys: client_auth
                .keys
                .into_iter()
                .map(|k| ClientKeyRow {
                    id: k.id,
                    kid: k.kid.unwrap_or_default(),
                    label: k.label,
                    thumbprint: k.thumbprint,
                    added: format_time(k.created_at),
                })
                .collect(),
        };
        let prefs = summary.preferences;
        Ok(AppDetailData {
            client_auth,
            deprecated_calls,
            webhooks,
            shown_once: crate::server::shown_once(&app.id),
            can_manage_credentials: may(PortalAction::ManageCredentials),
            can_request_scopes: may(PortalAction::RequestScopes),
            can_edit_settings: may(PortalAction::EditApplicationSettings),
            can_suspend_or_delete: may(PortalAction::SuspendOrDeleteApplication),
            role: membership
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            suspended_by_admin: summary
                .suspension
                .as_ref()
                .is_some_and(|s| s.source == SuspensionSource::Admin),
            suspension: summary.suspension.map(|s| {
                let by = match s.source {
                    SuspensionSource::Admin => "a platform administrator",
                    SuspensionSource::Member => "your organisation",
                };
                (by.to_owned(), format_time(s.at))
            }),
            status: if app.status == AppStatus::Active {
                "active".into()
            } else {
                "suspended".into()
            },
            id: app.id,
            name: app.name,
            client_id: app.client_id,
            description: summary.description,
            plan: app.usage_plan,
            production: summary.production.map(|p| date(p.granted_at)),
            organisation: summary.organisation_name,
            organisation_status: app.partner_status.as_str().to_owned(),
            created: date(app.created_at),
            scopes: app.scopes.iter().map(str::to_owned).collect(),
            pending_scopes: summary.pending_scopes,
            known_scopes: known_scopes()?,
            ip_allowlist: summary
                .ip_allowlist
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("\n"),
            blocked_providers: prefs.blocked_providers.join(", "),
            allowed_providers: prefs.allowed_providers.unwrap_or_default().join(", "),
            max_providers: prefs
                .max_providers
                .map(|m| m.to_string())
                .unwrap_or_default(),
            secrets: detail
                .secrets
                .into_iter()
                .map(|c| credential_row(c, now))
                .collect(),
            api_keys: detail
                .api_keys
                .into_iter()
                .map(|c| credential_row(c, now))
                .collect(),
            scope_requests: detail
                .scope_requests
                .into_iter()
                .map(|r| ScopeRequestRow {
                    id: r.id,
                    scope: r.scope,
                    status: r.status.as_str().to_owned(),
                    reason: r.reason,
                    requested: format_time(r.requested_at),
                    decided: r.decided_at.map(format_time),
                    note: r.decision_note.unwrap_or_default(),
                })
                .collect(),
        })
    }
}
