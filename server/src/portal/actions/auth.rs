//! Sign-up, sign-in (password, one-time link, SSO), sign-out and passwords.

use crate::portal::PortalState;
use crate::portal::extract::CsrfForm;
use crate::portal::session::SignedIn;
use crate::portal::session::{self, ClientAddr, done, flash, refused};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use portico_app::pages::signin::routes;
use portico_app::viewer::FlashKind;
use portico_core::CoreError;
use portico_core::accounts::{self, SignInRefusal};
use portico_core::identity::users::{Role, User};
use portico_core::secret::PlainSecret;
use serde::Deserialize;
use tower_sessions::Session;

const SSO_PENDING_KEY: &str = "sso";

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route(routes::SIGN_IN, post(sign_in))
        .route(routes::SIGN_IN_LINK, post(redeem_link))
        .route(routes::SIGN_UP, post(sign_up))
        .route(routes::SIGN_OUT, post(sign_out))
        .route(routes::SET_PASSWORD, post(set_password))
        .route(routes::SSO, get(sso_start))
        .route(routes::SSO_CALLBACK, get(sso_callback))
}

/// Where a freshly signed-in user lands.
fn landing(user: &User) -> &'static str {
    if user.role == Role::Admin {
        "/admin"
    } else {
        "/apps"
    }
}

async fn start_session(session: &Session, user: &User, to: &str) -> Response {
    match session::sign_in(session, user).await {
        Ok(()) => Redirect::to(to).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not start a session");
            session::page(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "Signing in is unavailable right now; try again shortly.",
            )
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    email: String,
    password: String,
}

async fn sign_in(
    State(state): State<PortalState>,
    Extension(ClientAddr(addr)): Extension<ClientAddr>,
    session: Session,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Response {
    let now = portico_core::clock::now();
    match accounts::sign_in(&state.db, &form.email, &form.password, &addr, now).await {
        Ok(user) => start_session(&session, &user, landing(&user)).await,
        Err(SignInRefusal::Other(e)) => refused(&session, e, "/signin").await,
        Err(refusal) => {
            session::keep_draft(&session, "/signin", &[("email".into(), form.email.clone())]).await;
            // Which of the two was wrong is not said (no account enumeration): both are marked.
            session::flash_on_fields(
                &session,
                FlashKind::Error,
                refusal.to_string(),
                &["email", "password"],
            )
            .await;
            Redirect::to("/signin").into_response()
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LinkForm {
    token: String,
}

/// The one-time link (first start, `portico admin create`) is confirmed with a POST, so link
/// scanners that fetch URLs cannot use it up.
async fn redeem_link(
    State(state): State<PortalState>,
    session: Session,
    CsrfForm(form): CsrfForm<LinkForm>,
) -> Response {
    let token = PlainSecret::from_presented(form.token.trim());
    let redeemed = async {
        let mut conn = state.db.pool().acquire().await?;
        portico_core::identity::users::redeem_sign_in_token(&mut conn, &token).await
    }
    .await;
    match redeemed {
        Ok(Some(user)) => {
            let to = if accounts::has_password(&state.db, &user.id)
                .await
                .unwrap_or(true)
            {
                landing(&user)
            } else {
                "/account/password"
            };
            start_session(&session, &user, to).await
        }
        Ok(None) => {
            flash(
                &session,
                FlashKind::Error,
                "This sign-in link is invalid, already used or expired. Ask for a new one.",
            )
            .await;
            Redirect::to("/signin").into_response()
        }
        Err(e) => refused(&session, e, "/signin").await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignUpForm {
    display_name: String,
    email: String,
    password: String,
}

async fn sign_up(
    State(state): State<PortalState>,
    Extension(ClientAddr(addr)): Extension<ClientAddr>,
    session: Session,
    CsrfForm(form): CsrfForm<SignUpForm>,
) -> Response {
    match accounts::sign_up(
        &state.db,
        &form.email,
        &form.display_name,
        &form.password,
        &addr,
    )
    .await
    {
        Ok(user) => {
            flash(
                &session,
                FlashKind::Success,
                "Welcome to Portico. Create your organisation, or open the invitation link you were sent.",
            )
            .await;
            start_session(&session, &user, "/org").await
        }
        Err(e) => {
            let typed = [
                ("display_name".to_owned(), form.display_name.clone()),
                ("email".to_owned(), form.email.clone()),
            ];
            session::keep_draft(&session, "/signup", &typed).await;
            refused(&session, e, "/signup").await
        }
    }
}

async fn sign_out(session: Session) -> Response {
    if let Err(e) = session::sign_out(&session).await {
        tracing::warn!(error = %e, "could not end a session");
    }
    Redirect::to("/").into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current_password: String,
    password: String,
}

async fn set_password(
    State(state): State<PortalState>,
    signed_in: SignedIn,
    session: Session,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    let ctx = &signed_in.actor;
    let result = match accounts::has_password(&state.db, &signed_in.user.id).await {
        Ok(true) => {
            accounts::change_password(&state.db, ctx, &form.current_password, &form.password).await
        }
        Ok(false) => accounts::set_password(&state.db, ctx, &form.password).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            done(
                &session,
                "Your password is saved.",
                landing(&signed_in.user),
            )
            .await
        }
        Err(e) => {
            let field = match &e {
                CoreError::Invalid(m) if m.contains("current password") => "current_password",
                _ => "password",
            };
            session::refused_on_fields(&session, e, "/account/password", &[field]).await
        }
    }
}

async fn sso_start(State(state): State<PortalState>, session: Session) -> Response {
    let Some(sso) = &state.sso else {
        flash(
            &session,
            FlashKind::Error,
            "Single sign-on is not set up on this portal.",
        )
        .await;
        return Redirect::to("/signin").into_response();
    };
    let (url, pending) = sso.start();
    if let Err(e) = session.insert(SSO_PENDING_KEY, pending).await {
        tracing::error!(error = %e, "could not store the pending SSO sign-in");
        flash(
            &session,
            FlashKind::Error,
            "Single sign-on is unavailable right now; try again later.",
        )
        .await;
        return Redirect::to("/signin").into_response();
    }
    Redirect::to(url.as_str()).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CallbackQuery {
    code: String,
    state: String,
    error: String,
}

const SSO_EXPIRED: &str = "The sign-in was cancelled or expired; try again.";

async fn sso_callback(
    State(state): State<PortalState>,
    Extension(ClientAddr(addr)): Extension<ClientAddr>,
    session: Session,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let fail = |message: String| {
        let session = session.clone();
        async move {
            flash(&session, FlashKind::Error, message).await;
            Redirect::to("/signin").into_response()
        }
    };
    let Some(sso) = &state.sso else {
        return fail("Single sign-on is not set up on this portal.".into()).await;
    };
    // Single use: taken out of the session before anything else happens.
    let pending = session
        .remove::<crate::sso::PendingSignIn>(SSO_PENDING_KEY)
        .await
        .ok()
        .flatten();
    let Some(pending) = pending else {
        return fail(SSO_EXPIRED.into()).await;
    };
    if !query.error.is_empty() || query.code.is_empty() {
        return fail(SSO_EXPIRED.into()).await;
    }
    let identity = match sso.finish(pending, &query.code, &query.state).await {
        Ok(identity) => identity,
        Err(e) => return fail(e.to_string()).await,
    };
    let Some(email) = identity.email.as_deref() else {
        return fail(
            "Your identity provider did not share an email address, which Portico needs.".into(),
        )
        .await;
    };
    match accounts::find_or_create_sso_user(
        &state.db,
        &identity.issuer,
        &identity.subject,
        email,
        identity.email_verified,
        &addr,
    )
    .await
    {
        Ok(user) => start_session(&session, &user, landing(&user)).await,
        Err(e) => refused(&session, e, "/signin").await,
    }
}
