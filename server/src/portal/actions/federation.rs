//! The organisation's identity provider (federation): register or change it, map workloads to
//! applications, direct acceptance on/off, remove it; and the admins' approve and reject.

use crate::http::public_client;
use crate::portal::PortalState;
use crate::portal::extract::{Admin, CsrfForm};
use crate::portal::session::SignedIn;
use crate::portal::session::{done, refused};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use portico_app::pages::admin::routes as admin_routes;
use portico_app::pages::org_federation::routes;
use portico_core::CoreError;
use portico_core::orgs::federation::{self, IdpDraft};
use serde::Deserialize;
use tower_sessions::Session;

const ORG: &str = "/org#identity-provider";
const PARTNERS: &str = "/admin/partners#identity-providers";

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route(routes::REGISTER, post(register))
        .route(routes::DIRECT, post(direct))
        .route(routes::MAPPINGS, post(map))
        .route(routes::MAPPING_REMOVE, post(unmap))
        .route(routes::REMOVE, post(remove))
        .route(admin_routes::IDP_APPROVE, post(approve))
        .route(admin_routes::IDP_REJECT, post(reject))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RegisterForm {
    issuer: String,
    jwks_url: String,
    audience: String,
    workload_claim: String,
}

async fn register(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Response {
    // Where the keys would be fetched from, checked as every outbound call is.
    let jwks_url = form.jwks_url.trim();
    if let Ok(url) = url::Url::parse(jwks_url)
        && let Err(e) = public_client::check_url(&url, state.webhook_destinations)
    {
        let e = CoreError::Invalid(format!("JWKS URL: {e}."));
        return refused(&session, e, ORG).await;
    }
    let draft = IdpDraft {
        issuer: form.issuer,
        jwks_url: jwks_url.to_owned(),
        audience: form.audience,
        workload_claim: form.workload_claim,
    };
    let issuer = state.tokens.settings().issuer.clone();
    match federation::register_identity_provider(&state.db, &user.actor, &draft, &issuer).await {
        Ok(idp) => {
            done(
                &session,
                format!(
                    "The identity provider {} is saved ({}). An administrator reviews it before its tokens are trusted.",
                    idp.issuer,
                    idp.status.as_str()
                ),
                ORG,
            )
            .await
        }
        Err(e) => refused(&session, e, ORG).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DirectForm {
    enabled: String,
}

async fn direct(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    CsrfForm(form): CsrfForm<DirectForm>,
) -> Response {
    let enabled = match form.enabled.as_str() {
        "on" => true,
        "off" => false,
        _ => {
            let e = CoreError::Invalid("Choose on or off for direct acceptance.".into());
            return refused(&session, e, ORG).await;
        }
    };
    match federation::set_direct_access(&state.db, &user.actor, enabled).await {
        Ok(_) => {
            let text = if enabled {
                "The gateway now accepts your identity provider's tokens directly (once it is approved)."
            } else {
                "The gateway no longer accepts your identity provider's tokens directly."
            };
            done(&session, text.to_owned(), ORG).await
        }
        Err(e) => refused(&session, e, ORG).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MappingForm {
    claim_value: String,
    application_id: String,
}

async fn map(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    CsrfForm(form): CsrfForm<MappingForm>,
) -> Response {
    match federation::map_workload(
        &state.db,
        &user.actor,
        &form.claim_value,
        &form.application_id,
    )
    .await
    {
        Ok(_) => {
            done(
                &session,
                format!("Workload {:?} is mapped.", form.claim_value.trim()),
                ORG,
            )
            .await
        }
        Err(e) => refused(&session, e, ORG).await,
    }
}

async fn unmap(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    CsrfForm(form): CsrfForm<MappingForm>,
) -> Response {
    match federation::unmap_workload(&state.db, &user.actor, &form.claim_value).await {
        Ok(_) => {
            done(
                &session,
                format!("The mapping of {:?} is removed.", form.claim_value),
                ORG,
            )
            .await
        }
        Err(e) => refused(&session, e, ORG).await,
    }
}

async fn remove(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    CsrfForm(_): CsrfForm<DirectForm>,
) -> Response {
    match federation::remove_identity_provider(&state.db, &user.actor).await {
        Ok(()) => {
            done(
                &session,
                "The identity provider is removed.".to_owned(),
                ORG,
            )
            .await
        }
        Err(e) => refused(&session, e, ORG).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoteForm {
    note: String,
}

async fn decide(
    state: &PortalState,
    admin: &Admin,
    session: &Session,
    id: &str,
    approve: bool,
    note: &str,
) -> Response {
    match federation::decide_identity_provider(&state.db, &admin.0.actor, id, approve, note).await {
        Ok(idp) => {
            done(
                session,
                format!(
                    "The identity provider {} of {} is {}.",
                    idp.issuer,
                    idp.partner_name,
                    idp.status.as_str()
                ),
                PARTNERS,
            )
            .await
        }
        Err(e) => refused(session, e, PARTNERS).await,
    }
}

async fn approve(
    State(state): State<PortalState>,
    admin: Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Response {
    decide(&state, &admin, &session, &id, true, &form.note).await
}

async fn reject(
    State(state): State<PortalState>,
    admin: Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Response {
    decide(&state, &admin, &session, &id, false, &form.note).await
}
