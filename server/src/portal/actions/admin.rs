//! The admin console's forms: organisation decisions, the scope-request queue, applications
//! (suspension, usage plan and overrides, production access, granted scopes).
//!
//! Every handler refuses anyone but a platform administrator before touching anything (the
//! [`Admin`](crate::portal::extract::Admin) extractor); the core functions check again and write
//! the audit records themselves, in the same transaction as the change.
//! The caches those changes make stale are emptied by the core's audited writes themselves ([`crate::changes`]).

use crate::portal::PortalState;
use crate::portal::extract::{Admin, CsrfForm};
use crate::portal::session::SignedIn;
use crate::portal::session::{done, refused};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use portico_app::pages::admin::routes;
use portico_core::apps::manage;
use portico_core::apps::plans::{self, ApiKeyRequirement, LimitOverride, QuotaPeriod};
use portico_core::apps::scope_requests;
use portico_core::authz::scopes::Scopes;
use portico_core::orgs::organisations;
use portico_core::{CoreError, CoreResult};
use serde::Deserialize;
use tower_sessions::Session;

const PARTNERS: &str = "/admin/partners";
const SCOPE_REQUESTS: &str = "/admin/scope-requests";
const APPLICATIONS: &str = "/admin/applications";

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route(routes::PARTNER_APPROVE, post(approve_org))
        .route(routes::PARTNER_REJECT, post(reject_org))
        .route(routes::PARTNER_SUSPEND, post(suspend_org))
        .route(routes::SCOPE_REQUEST_DECIDE, post(decide_scope))
        .route(routes::APP_SUSPEND, post(suspend_app))
        .route(routes::APP_REACTIVATE, post(reactivate_app))
        .route(routes::APP_PLAN, post(set_plan))
        .route(routes::APP_PRODUCTION_GRANT, post(grant_production))
        .route(routes::APP_PRODUCTION_REVOKE, post(revoke_production))
        .route(routes::APP_SCOPE_REVOKE, post(revoke_scope))
        .route(routes::KEYS_ROTATE, post(rotate_keys))
        .route(routes::KEYS_PROMOTE, post(promote_key))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoteForm {
    note: String,
}

async fn approve_org(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Response {
    match organisations::approve(&state.db, &admin.actor, &id, &form.note).await {
        Ok(org) => done(&session, format!("{} is approved.", org.name), PARTNERS).await,
        Err(e) => refused(&session, e, PARTNERS).await,
    }
}

async fn reject_org(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Response {
    match organisations::reject(&state.db, &admin.actor, &id, &form.note).await {
        Ok(org) => done(&session, format!("{} is rejected.", org.name), PARTNERS).await,
        Err(e) => refused(&session, e, PARTNERS).await,
    }
}

async fn suspend_org(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Response {
    match organisations::suspend(&state.db, &admin.actor, &id, &form.note).await {
        Ok(org) => {
            done(
                &session,
                format!("{} is suspended; its applications get no tokens.", org.name),
                PARTNERS,
            )
            .await
        }
        Err(e) => refused(&session, e, PARTNERS).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecideForm {
    /// `approve` or `deny`.
    decision: String,
    note: String,
}

async fn decide_scope(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<DecideForm>,
) -> Response {
    let approve = match form.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => {
            let e = CoreError::Invalid("Choose Approve or Deny.".into());
            return refused(&session, e, SCOPE_REQUESTS).await;
        }
    };
    match scope_requests::decide(&state.db, &admin.actor, &id, approve, &form.note).await {
        Ok(decided) => {
            let verb = if approve { "approved" } else { "denied" };
            done(
                &session,
                format!("The request for {} is {verb}.", decided.scope),
                SCOPE_REQUESTS,
            )
            .await
        }
        Err(e) => refused(&session, e, SCOPE_REQUESTS).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReasonForm {
    reason: String,
}

async fn suspend_app(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Response {
    if form.reason.trim().is_empty() {
        let e = CoreError::Invalid("Say why the application is suspended.".into());
        return refused(&session, e, APPLICATIONS).await;
    }
    match manage::suspend(&state.db, &admin.actor, &id, &form.reason).await {
        Ok(()) => {
            done(
                &session,
                "The application is suspended; the token endpoint refuses it.",
                APPLICATIONS,
            )
            .await
        }
        Err(e) => refused(&session, e, APPLICATIONS).await,
    }
}

async fn reactivate_app(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    match manage::reactivate(&state.db, &admin.actor, &id).await {
        Ok(()) => done(&session, "The application is active again.", APPLICATIONS).await,
        Err(e) => refused(&session, e, APPLICATIONS).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PlanForm {
    plan: String,
    /// Overrides: empty keeps the plan's value.
    rate_per_second: String,
    burst: String,
    quota: String,
    quota_period: String,
    api_key: String,
}

fn optional_number(field: &str, text: &str) -> CoreResult<Option<u64>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u64>().map(Some).map_err(|_| {
        CoreError::Invalid(format!(
            "{field} must be a whole number, or empty to keep the plan's value."
        ))
    })
}

impl PlanForm {
    fn overrides(&self) -> CoreResult<LimitOverride> {
        let quota_period = match self.quota_period.trim() {
            "" => None,
            period => Some(QuotaPeriod::parse(period)?),
        };
        let api_key = match self.api_key.trim() {
            "" => None,
            requirement => Some(ApiKeyRequirement::parse(requirement)?),
        };
        Ok(LimitOverride {
            rate_per_second: optional_number("The rate", &self.rate_per_second)?,
            burst: optional_number("The burst", &self.burst)?,
            quota: optional_number("The quota", &self.quota)?,
            quota_period,
            api_key,
        })
    }
}

/// Usage plan and overrides (one audited write in the core).
async fn set_plan(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PlanForm>,
) -> Response {
    let result = async {
        let overrides = form.overrides()?;
        plans::assign_plan(&state.db, &admin.actor, &id, &form.plan, &overrides).await
    }
    .await;
    match result {
        Ok((app, plan)) => {
            done(
                &session,
                format!(
                    "{} is on the {plan} plan; gateways apply it within seconds.",
                    app.name
                ),
                APPLICATIONS,
            )
            .await
        }
        Err(e) => refused(&session, e, APPLICATIONS).await,
    }
}

async fn grant_production(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    match organisations::grant_production_access(&state.db, &admin.actor, &id).await {
        Ok(_) => done(&session, "Production access is granted.", APPLICATIONS).await,
        Err(e) => refused(&session, e, APPLICATIONS).await,
    }
}

async fn revoke_production(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    match organisations::revoke_production_access(&state.db, &admin.actor, &id).await {
        Ok(()) => done(&session, "Production access is revoked.", APPLICATIONS).await,
        Err(e) => refused(&session, e, APPLICATIONS).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeScopeForm {
    scope: String,
    note: String,
}

async fn revoke_scope(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RevokeScopeForm>,
) -> Response {
    let scope = form.scope.trim();
    if let Err(e) = Scopes::parse(scope) {
        return refused(&session, e, APPLICATIONS).await;
    }
    match scope_requests::revoke_scope(&state.db, &admin.actor, &id, scope, &form.note).await {
        Ok(()) => {
            done(
                &session,
                format!("{scope} is revoked; new tokens no longer carry it."),
                APPLICATIONS,
            )
            .await
        }
        Err(e) => refused(&session, e, APPLICATIONS).await,
    }
}

const KEYS: &str = "/admin/keys";

async fn rotate_keys(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
) -> Response {
    rotation(state, admin, session, false).await
}

async fn promote_key(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
) -> Response {
    rotation(state, admin, session, true).await
}

async fn rotation(
    state: PortalState,
    admin: SignedIn,
    session: Session,
    promote: bool,
) -> Response {
    use portico_core::tokens::keys::RotationOutcome;
    match state.tokens.rotate_keys(&admin.actor, promote).await {
        Ok(RotationOutcome::NextKeyPublished { kid }) => {
            done(
                &session,
                format!(
                    "Published the next signing key {kid}; it signs after the rotation lead time."
                ),
                KEYS,
            )
            .await
        }
        Ok(RotationOutcome::AlreadyPending { kid }) => {
            done(
                &session,
                format!("The next key {kid} is already published; promote it to make it sign now."),
                KEYS,
            )
            .await
        }
        Ok(RotationOutcome::Promoted { kid }) => {
            done(
                &session,
                format!("Key {kid} signs now; the previous key is retiring."),
                KEYS,
            )
            .await
        }
        Err(e) => refused(&session, e, KEYS).await,
    }
}
