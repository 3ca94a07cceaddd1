//! The partner's application forms: registration, client secrets and API keys, scope
//! requests, settings, suspension and deletion.
//!
//! Each handler passes the signed-in [`ActorContext`](portico_core::identity::ActorContext) to
//! the core, which decides access (roles, tenant isolation) and writes the audit record; the
//! handler only parses the form, shows new credentials once through the reveal store and
//! answers 303 with a one-time message. A change the token endpoint and the gateway must see at
//! once reaches this process's caches and the other replicas from the core's audited write
//! itself ([`crate::changes`]): no handler has to remember it.

use crate::http::public_client;
use crate::portal::PortalState;
use crate::portal::extract::Fields;
use crate::portal::extract::{AppAccess, CsrfFields, CsrfForm, no_such_application};
use crate::portal::session::SignedIn;
use crate::portal::session::{self, done, flash, refused};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use portico_app::pages::apps::routes;
use portico_app::viewer::FlashKind;
use portico_core::CoreError;
use portico_core::apps::client_keys::{self, ClientAuthMethod};
use portico_core::apps::credentials;
use portico_core::apps::dpop;
use portico_core::apps::manage::{self, NewApplication};
use portico_core::apps::preferences::ProviderPreferences;
use portico_core::apps::reveal::{Revealed, RevealedSecret};
use portico_core::apps::scope_requests;
use portico_core::authz::scopes::Scopes;
use portico_core::tokens::mtls::{self, MtlsRegistration};
use serde::Deserialize;
use tower_sessions::Session;

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route(routes::REGISTER, post(register))
        .route(routes::SECRETS, post(add_secret))
        .route(routes::SECRET_PRIMARY, post(make_primary_secret))
        .route(routes::SECRET_REVOKE, post(revoke_secret))
        .route(routes::API_KEYS, post(add_api_key))
        .route(routes::API_KEY_PRIMARY, post(make_primary_api_key))
        .route(routes::API_KEY_REVOKE, post(revoke_api_key))
        .route(routes::CLIENT_KEYS, post(add_client_keys))
        .route(routes::CLIENT_KEY_REMOVE, post(remove_client_key))
        .route(routes::JWKS_URI, post(set_jwks_uri))
        .route(routes::CLIENT_AUTH, post(set_client_auth))
        .route(routes::MTLS, post(set_mtls))
        .route(routes::DPOP, post(set_dpop))
        .route(routes::SCOPE_REQUESTS, post(request_scopes))
        .route(routes::SCOPE_REQUEST_WITHDRAW, post(withdraw_scope_request))
        .route(routes::SETTINGS, post(settings))
        .route(routes::SUSPEND, post(suspend))
        .route(routes::REACTIVATE, post(reactivate))
        .route(routes::DELETE, post(delete))
}

/// The `scopes` checkboxes of a form, as one scope set.
fn form_scopes(form: &Fields) -> Result<Scopes, CoreError> {
    Scopes::parse(&form.all("scopes").collect::<Vec<_>>().join(" "))
}

/// Provider preferences as the registration and settings forms send them.
fn form_preferences(form: &Fields) -> Result<ProviderPreferences, CoreError> {
    let list = |name: &str| -> Vec<String> {
        form.get(name)
            .split([',', '\n'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let allowed = list("allowed_providers");
    let max = form.get("max_providers").trim();
    let max_providers = if max.is_empty() {
        None
    } else {
        Some(max.parse::<u32>().map_err(|_| {
            CoreError::Invalid(format!(
                "The maximum number of providers must be a whole number, not {max:?}."
            ))
        })?)
    };
    Ok(ProviderPreferences {
        blocked_providers: list("blocked_providers"),
        allowed_providers: (!allowed.is_empty()).then_some(allowed),
        max_providers,
    })
}

/// A checkbox is on when sent with any non-empty value.
fn checked(value: &str) -> bool {
    !value.is_empty() && value != "off"
}

/// The application's page.
fn page_of(app_id: &str) -> String {
    format!("/apps/{app_id}")
}

/// The refusal for a failed change of application `app_id`: an unknown (or another
/// organisation's) application goes back to the list, anything else back to its page.
async fn refused_on(session: &Session, app_id: &str, error: CoreError) -> Response {
    match error {
        CoreError::NotFound {
            what: "application",
        } => no_such_application(session).await,
        e => refused(session, e, &page_of(app_id)).await,
    }
}

async fn register(
    State(state): State<PortalState>,
    signed_in: SignedIn,
    session: Session,
    CsrfFields(form): CsrfFields,
) -> Response {
    let parsed = form_scopes(&form).and_then(|scopes| Ok((scopes, form_preferences(&form)?)));
    let (requested_scopes, preferences) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            session::keep_draft(&session, "/apps/new", form.as_pairs()).await;
            return refused(&session, e, "/apps/new").await;
        }
    };
    let name = form.get("name").trim();
    let new = NewApplication {
        name,
        description: form.get("description"),
        requested_scopes,
        justification: form.get("justification"),
        ip_allowlist: form.get("ip_allowlist"),
        preferences,
    };
    match manage::register_application(&state.db, &signed_in.actor, &state.scopes, &new).await {
        Ok((summary, credentials)) => {
            let app_id = summary.app.id.clone();
            let to = page_of(&app_id);
            session::reveal_on(
                &state,
                &session,
                Revealed {
                    subject: app_id,
                    secrets: vec![
                        RevealedSecret {
                            label: "Client secret".into(),
                            value: credentials.client_secret,
                        },
                        RevealedSecret {
                            label: "API key".into(),
                            value: credentials.api_key,
                        },
                    ],
                },
                &to,
            )
            .await;
            let mut message = format!(
                "{} is registered. Copy its client secret and API key now: they are shown only once.",
                summary.app.name
            );
            if !summary.pending_scopes.is_empty() {
                message.push_str(" Your scope request is waiting for an administrator.");
            }
            done(&session, message, &to).await
        }
        Err(e) => {
            session::keep_draft(&session, "/apps/new", form.as_pairs()).await;
            refused(&session, e, "/apps/new").await
        }
    }
}

/// Shows a new credential once on the application's page.
async fn reveal_new(
    state: &PortalState,
    session: &Session,
    app_id: &str,
    label: &str,
    value: portico_core::secret::PlainSecret,
    message: &str,
) -> Response {
    let to = page_of(app_id);
    session::reveal_on(
        state,
        session,
        Revealed {
            subject: app_id.to_owned(),
            secrets: vec![RevealedSecret {
                label: label.to_owned(),
                value,
            }],
        },
        &to,
    )
    .await;
    done(session, message, &to).await
}

async fn add_secret(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
) -> Response {
    match credentials::add_secondary_secret(&state.db, &signed_in.actor, &id).await {
        Ok((_, secret)) => {
            reveal_new(
                &state,
                &session,
                &id,
                "Client secret",
                secret,
                "A secondary client secret was added. Copy it now: it is shown only once. \
                 Deploy it, make it primary, then revoke the old one.",
            )
            .await
        }
        Err(e) => refused_on(&session, &id, e).await,
    }
}

async fn add_api_key(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
) -> Response {
    match credentials::add_api_key(&state.db, &signed_in.actor, &id).await {
        Ok((_, key)) => {
            reveal_new(
                &state,
                &session,
                &id,
                "API key",
                key,
                "A new API key was added. Copy it now: it is shown only once.",
            )
            .await
        }
        Err(e) => refused_on(&session, &id, e).await,
    }
}

/// Which credential a path names.
#[derive(Clone, Copy)]
enum Kind {
    Secret,
    ApiKey,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Secret => "client secret",
            Kind::ApiKey => "API key",
        }
    }
}

async fn make_primary(
    state: &PortalState,
    access: &AppAccess,
    session: &Session,
    credential_id: &str,
    kind: Kind,
) -> Response {
    let (ctx, id) = (&access.signed_in.actor, access.id.as_str());
    let result = match kind {
        Kind::Secret => credentials::make_primary_secret(&state.db, ctx, id, credential_id).await,
        Kind::ApiKey => credentials::make_primary_api_key(&state.db, ctx, id, credential_id).await,
    };
    match result {
        Ok(()) => {
            let message = format!("That {} is now the primary one.", kind.noun());
            done(session, message, &page_of(id)).await
        }
        Err(e) => refused_on(session, id, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    confirm_last: String,
}

async fn revoke(
    state: &PortalState,
    access: &AppAccess,
    session: &Session,
    (credential_id, kind): (&str, Kind),
    form: &RevokeForm,
) -> Response {
    let (ctx, id) = (&access.signed_in.actor, access.id.as_str());
    let confirm_last = checked(&form.confirm_last);
    let result = match kind {
        Kind::Secret => {
            credentials::revoke_secret(&state.db, ctx, id, credential_id, confirm_last).await
        }
        Kind::ApiKey => {
            credentials::revoke_api_key(&state.db, ctx, id, credential_id, confirm_last).await
        }
    };
    match result {
        Ok(()) => {
            let message = format!(
                "The {} is revoked: calls presenting it are refused from now on.",
                kind.noun()
            );
            done(session, message, &page_of(id)).await
        }
        Err(e) => refused_on(session, id, e).await,
    }
}

async fn make_primary_secret(
    State(state): State<PortalState>,
    access: AppAccess,
    session: Session,
    Path((_, secret_id)): Path<(String, String)>,
) -> Response {
    make_primary(&state, &access, &session, &secret_id, Kind::Secret).await
}

async fn make_primary_api_key(
    State(state): State<PortalState>,
    access: AppAccess,
    session: Session,
    Path((_, key_id)): Path<(String, String)>,
) -> Response {
    make_primary(&state, &access, &session, &key_id, Kind::ApiKey).await
}

async fn revoke_secret(
    State(state): State<PortalState>,
    access: AppAccess,
    session: Session,
    Path((_, secret_id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> Response {
    revoke(&state, &access, &session, (&secret_id, Kind::Secret), &form).await
}

async fn revoke_api_key(
    State(state): State<PortalState>,
    access: AppAccess,
    session: Session,
    Path((_, key_id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> Response {
    revoke(&state, &access, &session, (&key_id, Kind::ApiKey), &form).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ClientKeyForm {
    public_key: String,
}

async fn add_client_keys(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    CsrfForm(form): CsrfForm<ClientKeyForm>,
) -> Response {
    match client_keys::add_keys(&state.db, &signed_in.actor, &id, &form.public_key).await {
        Ok(added) => {
            let names: Vec<String> = added.into_iter().map(|k| k.label).collect();
            let message = format!(
                "Registered {}: client assertions signed with it are accepted from now on.",
                names.join(", ")
            );
            done(&session, message, &page_of(&id)).await
        }
        Err(e) => refused_on(&session, &id, e).await,
    }
}

async fn remove_client_key(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    Path((_, key_id)): Path<(String, String)>,
) -> Response {
    match client_keys::remove_key(&state.db, &signed_in.actor, &id, &key_id).await {
        Ok(()) => {
            let message = "The key is removed: assertions signed with it are refused from now on.";
            done(&session, message, &page_of(&id)).await
        }
        Err(e) => refused_on(&session, &id, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct JwksUriForm {
    jwks_uri: String,
}

async fn set_jwks_uri(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    CsrfForm(form): CsrfForm<JwksUriForm>,
) -> Response {
    let uri = Some(form.jwks_uri.trim()).filter(|u| !u.is_empty());
    // Where the keys would be fetched from, checked as every outbound call is.
    if let Some(Ok(url)) = uri.map(url::Url::parse)
        && let Err(e) = public_client::check_url(&url, state.webhook_destinations)
    {
        let e = CoreError::Invalid(format!("JWKS URL: {e}."));
        return refused_on(&session, &id, e).await;
    }
    match client_keys::set_jwks_uri(&state.db, &signed_in.actor, &id, uri).await {
        Ok(()) => {
            let message = if uri.is_some() {
                "JWKS URL saved: keys are fetched from it when an assertion names an unknown kid."
            } else {
                "JWKS URL removed: only registered keys are used."
            };
            done(&session, message, &page_of(&id)).await
        }
        Err(e) => refused_on(&session, &id, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ClientAuthForm {
    method: String,
    confirm: String,
}

async fn set_client_auth(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    CsrfForm(form): CsrfForm<ClientAuthForm>,
) -> Response {
    let method = match form.method.as_str() {
        "private_key_jwt" => ClientAuthMethod::PrivateKeyJwtOnly,
        "secret_or_key" => ClientAuthMethod::SecretOrKey,
        _ => {
            let e = CoreError::Invalid("Choose how the application authenticates.".into());
            return refused_on(&session, &id, e).await;
        }
    };
    if method == ClientAuthMethod::PrivateKeyJwtOnly && !checked(&form.confirm) {
        let e = CoreError::Invalid(
            "Tick the box to confirm: refusing client secrets revokes every client secret now. \
             Nothing was changed."
                .into(),
        );
        return refused_on(&session, &id, e).await;
    }
    match client_keys::set_method(&state.db, &signed_in.actor, &id, method).await {
        Ok(revoked) => {
            let message = match method {
                ClientAuthMethod::PrivateKeyJwtOnly => format!(
                    "This application now accepts private_key_jwt only; {revoked} client secret(s) revoked."
                ),
                ClientAuthMethod::SecretOrKey => {
                    "Client secrets are allowed again: add one under Client secrets.".to_owned()
                }
            };
            done(&session, message, &page_of(&id)).await
        }
        Err(e) => refused_on(&session, &id, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DpopForm {
    dpop: String,
}

async fn set_dpop(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    CsrfForm(form): CsrfForm<DpopForm>,
) -> Response {
    let required = match form.dpop.as_str() {
        "required" => true,
        "optional" => false,
        _ => {
            let e = CoreError::Invalid("Choose whether DPoP is required.".into());
            return refused_on(&session, &id, e).await;
        }
    };
    match dpop::set_dpop_required(&state.db, &signed_in.actor, &id, required).await {
        Ok(_) => {
            let message = if required {
                "DPoP is required: only DPoP-bound tokens are issued and accepted from now on."
            } else {
                "DPoP is optional again: bearer tokens are issued to requests without a proof."
            };
            done(&session, message, &page_of(&id)).await
        }
        Err(e) => refused_on(&session, &id, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MtlsForm {
    method: String,
    subject_kind: String,
    subject_value: String,
    certificates: String,
    bound_tokens: String,
}

async fn set_mtls(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    CsrfForm(form): CsrfForm<MtlsForm>,
) -> Response {
    let registration = match form.method.as_str() {
        "off" | "" => MtlsRegistration::Off,
        "tls_client_auth" => MtlsRegistration::TlsClientAuth {
            kind: &form.subject_kind,
            value: &form.subject_value,
        },
        "self_signed_tls_client_auth" => MtlsRegistration::SelfSigned {
            certificates: &form.certificates,
        },
        _ => {
            let e = CoreError::Invalid("Choose how the certificate authenticates.".into());
            return refused_on(&session, &id, e).await;
        }
    };
    let bound = checked(&form.bound_tokens);
    match mtls::configure(&state.db, &signed_in.actor, &id, registration, bound).await {
        Ok(Some(_)) => done(&session, "Certificate settings saved.", &page_of(&id)).await,
        Ok(None) => {
            let message =
                "Certificate authentication is off and tokens are not bound to certificates.";
            done(&session, message, &page_of(&id)).await
        }
        Err(e) => refused_on(&session, &id, e).await,
    }
}

async fn request_scopes(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    CsrfFields(form): CsrfFields,
) -> Response {
    let scopes = match form_scopes(&form) {
        Ok(scopes) => scopes,
        Err(e) => return refused_on(&session, &id, e).await,
    };
    match scope_requests::request_scopes(
        &state.db,
        &signed_in.actor,
        &state.scopes,
        &id,
        &scopes,
        form.get("reason"),
    )
    .await
    {
        Ok(created) => {
            let message = if created.len() == 1 {
                format!(
                    "You requested {}. An administrator will decide; the decision appears here.",
                    created[0].scope
                )
            } else {
                format!(
                    "You requested {}. An administrator will decide; the decisions appear here.",
                    scopes
                )
            };
            done(&session, message, &page_of(&id)).await
        }
        Err(e) => refused_on(&session, &id, e).await,
    }
}

async fn withdraw_scope_request(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    Path((_, request_id)): Path<(String, String)>,
) -> Response {
    match scope_requests::withdraw(&state.db, &signed_in.actor, &request_id).await {
        Ok(()) => done(&session, "The scope request is withdrawn.", &page_of(&id)).await,
        Err(e) => refused_on(&session, &id, e).await,
    }
}

async fn settings(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    CsrfFields(form): CsrfFields,
) -> Response {
    let preferences = match form_preferences(&form) {
        Ok(p) => p,
        Err(e) => return refused_on(&session, &id, e).await,
    };
    match manage::update_settings(
        &state.db,
        &signed_in.actor,
        &id,
        form.get("description"),
        form.get("ip_allowlist"),
        &preferences,
    )
    .await
    {
        Ok(_) => done(&session, "Settings saved.", &page_of(&id)).await,
        Err(e) => refused_on(&session, &id, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SuspendForm {
    reason: String,
}

async fn suspend(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    CsrfForm(form): CsrfForm<SuspendForm>,
) -> Response {
    match manage::suspend(&state.db, &signed_in.actor, &id, &form.reason).await {
        Ok(()) => done(
            &session,
            "The application is suspended: the token endpoint refuses it until you reactivate it.",
            &page_of(&id),
        )
        .await,
        Err(e) => refused_on(&session, &id, e).await,
    }
}

async fn reactivate(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
) -> Response {
    match manage::reactivate(&state.db, &signed_in.actor, &id).await {
        Ok(()) => done(&session, "The application is active again.", &page_of(&id)).await,
        Err(e) => refused_on(&session, &id, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    confirm_name: String,
}

async fn delete(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Response {
    let ctx = &signed_in.actor;
    // The name to type is read through the core, which checks access like any other read.
    let name = match manage::application_detail(&state.db, ctx, &id).await {
        Ok(detail) => detail.summary.app.name,
        Err(e) => return refused_on(&session, &id, e).await,
    };
    if form.confirm_name.trim() != name {
        flash(
            &session,
            FlashKind::Error,
            format!(
                "Type the application name ({name}) exactly to delete it. Nothing was deleted."
            ),
        )
        .await;
        return Redirect::to(&page_of(&id)).into_response();
    }
    match manage::delete_application(&state.db, ctx, &id).await {
        Ok(_client_id) => {
            done(
                &session,
                format!("{name} is deleted. Its client ID and credentials no longer work."),
                "/apps",
            )
            .await
        }
        Err(e) => refused_on(&session, &id, e).await,
    }
}
