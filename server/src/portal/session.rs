//! Sign-in sessions, the viewer of each page, CSRF protection and one-time messages.
//!
//! CSRF: every session holds a random token; every state-changing form carries it in a hidden
//! `csrf_token` field, and [`attach_viewer`] refuses any non-GET request whose token does not
//! match (compared in constant time). Requests that carry an `Origin` header must also come
//! from the portal's own origin. The session cookie is `SameSite=Lax` on top of that.

use super::PortalState;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use portico_app::viewer::{Flash, FlashKind, Membership, SignedInUser, Viewer};
use portico_core::identity::ActorContext;
use portico_core::identity::users::{Role, User};
use portico_core::{CoreError, Database};
use std::net::{Ipv4Addr, SocketAddr};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

/// The signed-in user of a request, as loaded by
/// [`attach_viewer`](super::session::attach_viewer). As an extractor ([`super::extract`]): anyone signed out is
/// sent to the sign-in page (303).
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: User,
    pub actor: ActorContext,
}

pub(super) const USER_KEY: &str = "uid";
const CSRF_KEY: &str = "csrf";
const FLASH_KEY: &str = "flash";
const REVEAL_KEY: &str = "reveal";
const DRAFT_KEY: &str = "draft";
const TRY_IT_KEY: &str = "try_it";
/// Largest form body the portal reads.
pub(super) const MAX_FORM_BYTES: usize = 64 * 1024;
/// The refusal of a form body over [`MAX_FORM_BYTES`].
pub(super) const FORM_TOO_LARGE: &str = "That form is too large.";
/// The refusal of a form without the session's CSRF token.
const FORM_EXPIRED: &str =
    "This form has expired or did not come from this site. Go back, reload the page and try again.";

/// Where a request came from (socket or trusted proxy), for throttling and the audit log.
#[derive(Clone, Debug)]
pub struct ClientAddr(pub String);

fn new_csrf_token() -> String {
    portico_core::secret::PlainSecret::generate(portico_core::secret::SecretKind::SignInToken)
        .expose()
        .trim_start_matches("pst_")
        .to_owned()
}

/// Signs `user` in: a new session id (no fixation), a new CSRF token.
pub async fn sign_in(session: &Session, user: &User) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(USER_KEY, &user.id).await?;
    session.insert(CSRF_KEY, new_csrf_token()).await?;
    Ok(())
}

pub async fn sign_out(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.flush().await
}

/// Keeps secrets to show once on the page at `path` (the redirect target): they stay in
/// memory, the session only remembers the handle.
pub async fn reveal_on(
    state: &PortalState,
    session: &Session,
    revealed: portico_core::apps::reveal::Revealed,
    path: &str,
) {
    let handle = state.reveals.put(revealed);
    if let Err(e) = session.insert(REVEAL_KEY, (handle, path)).await {
        tracing::warn!(error = %e, "could not remember credentials to show");
    }
}

/// Keeps a "Try it" answer for the operation page at `path`, shown there once.
pub async fn try_it_result_on(
    session: &Session,
    path: &str,
    result: portico_app::pages::reference::TryItResult,
) {
    if let Err(e) = session.insert(TRY_IT_KEY, (path, result)).await {
        tracing::warn!(error = %e, "could not keep a try-it result");
    }
}

/// Keeps what the user typed into a refused form for the page at `path` (the form's page), so
/// it can be filled in again. Passwords, tokens and secrets are never kept.
pub async fn keep_draft(session: &Session, path: &str, fields: &[(String, String)]) {
    let kept: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| {
            !["csrf", "password", "token", "secret"]
                .iter()
                .any(|word| k.contains(word))
        })
        .cloned()
        .collect();
    if let Err(e) = session.insert(DRAFT_KEY, (path, kept)).await {
        tracing::warn!(error = %e, "could not keep a form draft");
    }
}

/// Stores a message for the next page the browser shows.
pub async fn flash(session: &Session, kind: FlashKind, message: impl Into<String>) {
    flash_on_fields(session, kind, message, &[]).await;
}

/// Stores an error about the form fields `fields` (their names) for the form's page, which
/// marks them invalid and ties them to the message.
pub async fn flash_on_fields(
    session: &Session,
    kind: FlashKind,
    message: impl Into<String>,
    fields: &[&str],
) {
    let flash = Flash {
        kind,
        message: message.into(),
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
    };
    if let Err(e) = session.insert(FLASH_KEY, flash).await {
        tracing::warn!(error = %e, "could not store a flash message");
    }
}

/// 303 to `to` with a success message.
pub async fn done(session: &Session, message: impl Into<String>, to: &str) -> Response {
    flash(session, FlashKind::Success, message).await;
    Redirect::to(to).into_response()
}

/// 303 back to the form with the error: domain refusals are shown as they are; storage
/// failures are logged and shown as a generic message.
pub async fn refused(session: &Session, error: CoreError, back: &str) -> Response {
    refused_on_fields(session, error, back, &[]).await
}

/// [`refused`], with the form fields a domain refusal is about marked invalid (a storage
/// failure is about no field).
pub async fn refused_on_fields(
    session: &Session,
    error: CoreError,
    back: &str,
    fields: &[&str],
) -> Response {
    let message =
        portico_app::server::user_message(&error, portico_app::server::During::FormAction);
    let fields = if matches!(error, CoreError::Invalid(_)) {
        fields
    } else {
        &[]
    };
    flash_on_fields(session, FlashKind::Error, message, fields).await;
    Redirect::to(back).into_response()
}

/// Requests the session middleware leaves alone (no session row for probes and assets).
fn is_sessionless(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/assets/")
}

/// Loads the viewer into the request, checks CSRF on state-changing requests and hands the
/// one-time message to the page that renders next.
pub async fn attach_viewer(
    State(state): State<PortalState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if is_sessionless(request.uri().path()) {
        return next.run(request).await;
    }
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let mut request = request;
    match prepare(&state, &session, &mut request).await {
        Ok(()) => next.run(request).await,
        Err(refusal) if !safe => refusal.into_response(),
        // Reading pages must work even when sessions cannot be read (the database is down,
        // say): they render for an anonymous viewer.
        Err(Refusal(status, _)) => {
            tracing::warn!(%status, "rendering for an anonymous viewer: sessions unavailable");
            request.extensions_mut().insert(Viewer {
                sso_enabled: state.sso.is_some(),
                ..Viewer::default()
            });
            next.run(request).await
        }
    }
}

/// A request refused before any page renders: the status and the sentence to show.
struct Refusal(StatusCode, &'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        page(self.0, self.1)
    }
}

/// Whether the url-encoded form `body` carries the session's CSRF token `stored` (compared in
/// constant time); one check for [`attach_viewer`] and the form extractors alike.
fn csrf_checked(stored: Option<&str>, body: &[u8]) -> Result<(), Refusal> {
    let presented = form_urlencoded::parse(body)
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.into_owned());
    let valid = match (stored, presented) {
        (Some(expected), Some(presented)) => {
            bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
        }
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        tracing::info!("form refused: missing or wrong CSRF token");
        Err(Refusal(StatusCode::FORBIDDEN, FORM_EXPIRED))
    }
}

/// The CSRF check of [`attach_viewer`] for a form body a handler reads
/// ([`CsrfForm`](super::extract::CsrfForm)): the same refusal pages.
pub(super) async fn check_csrf(session: &Session, body: &[u8]) -> Result<(), Response> {
    let stored: Option<String> = session
        .get(CSRF_KEY)
        .await
        .map_err(|e| session_failed(e).into_response())?;
    csrf_checked(stored.as_deref(), body).map_err(IntoResponse::into_response)
}

/// Checks the request and adds the viewer to it (in place, so a refused reading request can
/// still render for an anonymous viewer).
async fn prepare(
    state: &PortalState,
    session: &Session,
    request: &mut Request,
) -> Result<(), Refusal> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |c| c.0);
    let addr =
        portico_sandbox::client_ip::client_ip(peer, request.headers(), &state.trusted_proxies)
            .to_string();
    let stored_csrf: Option<String> = session.get(CSRF_KEY).await.map_err(session_failed)?;
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe {
        check_origin(request.headers(), &state.portal_url)?;
        let body = std::mem::take(request.body_mut());
        let bytes = to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| Refusal(StatusCode::PAYLOAD_TOO_LARGE, FORM_TOO_LARGE))?;
        csrf_checked(stored_csrf.as_deref(), &bytes)?;
        *request.body_mut() = Body::from(bytes);
    }
    let csrf_token = match stored_csrf {
        Some(token) => token,
        None => {
            let token = new_csrf_token();
            session
                .insert(CSRF_KEY, &token)
                .await
                .map_err(session_failed)?;
            token
        }
    };
    let signed_in = load_user(&state.db, session, &addr).await?;
    let flash = if safe {
        session
            .remove::<Flash>(FLASH_KEY)
            .await
            .map_err(session_failed)?
    } else {
        None
    };
    let user = match &signed_in {
        Some(s) => Some(signed_in_view(&state.db, s).await.map_err(|e| {
            tracing::error!(error = %e, "could not load the viewer");
            Refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "The portal is unavailable right now.",
            )
        })?),
        None => None,
    };
    let mut draft = Vec::new();
    if safe {
        let kept: Option<(String, Vec<(String, String)>)> =
            session.get(DRAFT_KEY).await.map_err(session_failed)?;
        if let Some((path, fields)) = kept {
            // A draft is for its form's page only, and only once.
            let _ = session.remove_value(DRAFT_KEY).await;
            if path == request.uri().path() {
                draft = fields;
            }
        }
    }
    let viewer = Viewer {
        user,
        csrf_token,
        flash,
        sso_enabled: state.sso.is_some(),
        draft,
    };
    let reveal: Option<(String, String)> = if safe {
        session.get(REVEAL_KEY).await.map_err(session_failed)?
    } else {
        None
    };
    if let Some((handle, path)) = reveal
        && path == request.uri().path()
    {
        let _ = session.remove_value(REVEAL_KEY).await;
        if let Some(revealed) = state.reveals.take(&handle) {
            request
                .extensions_mut()
                .insert(std::sync::Arc::new(revealed));
        }
    }
    if safe {
        let try_it: Option<(String, portico_app::pages::reference::TryItResult)> =
            session.get(TRY_IT_KEY).await.map_err(session_failed)?;
        if let Some((path, result)) = try_it
            && path == request.uri().path()
        {
            let _ = session.remove_value(TRY_IT_KEY).await;
            request.extensions_mut().insert(result);
        }
    }
    request.extensions_mut().insert(viewer);
    request.extensions_mut().insert(ClientAddr(addr));
    if let Some(signed_in) = signed_in {
        request.extensions_mut().insert(signed_in.actor.clone());
        request.extensions_mut().insert(signed_in);
    }
    Ok(())
}

async fn load_user(
    db: &Database,
    session: &Session,
    addr: &str,
) -> Result<Option<SignedIn>, Refusal> {
    let Some(user_id) = session
        .get::<String>(USER_KEY)
        .await
        .map_err(session_failed)?
    else {
        return Ok(None);
    };
    let found = async {
        let mut conn = db.pool().acquire().await?;
        portico_core::identity::users::find_by_id(&mut conn, &user_id).await
    }
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "could not load the signed-in user");
        Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "The portal is unavailable right now.",
        )
    })?;
    match found {
        Some(user) => {
            let actor = ActorContext::new(&user, addr);
            Ok(Some(SignedIn { user, actor }))
        }
        // The account is gone: the session is worthless.
        None => {
            let _ = session.flush().await;
            Ok(None)
        }
    }
}

async fn signed_in_view(db: &Database, signed_in: &SignedIn) -> Result<SignedInUser, CoreError> {
    let user = &signed_in.user;
    let organisation = portico_core::orgs::organisations::my_organisation(db, &signed_in.actor)
        .await?
        .map(|(org, role)| Membership {
            slug: org.slug,
            name: org.name,
            role: role.as_str().to_owned(),
            status: org.status.as_str().to_owned(),
        });
    Ok(SignedInUser {
        id: user.id.clone(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        is_admin: user.role == Role::Admin,
        needs_password: !portico_core::accounts::has_password(db, &user.id).await?,
        organisation,
    })
}

/// A cross-site form post announces itself in `Origin`; browsers send it on every POST.
fn check_origin(headers: &HeaderMap, portal_url: &str) -> Result<(), Refusal> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let own = portal_url.trim_end_matches('/');
    let host_origin = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|host| [format!("http://{host}"), format!("https://{host}")]);
    let same = origin == own || host_origin.is_some_and(|h| h.iter().any(|o| o == origin));
    if same {
        Ok(())
    } else {
        tracing::info!(%origin, "form refused: foreign origin");
        Err(Refusal(
            StatusCode::FORBIDDEN,
            "This form did not come from this site, so it was not accepted.",
        ))
    }
}

#[expect(clippy::needless_pass_by_value, reason = "used as a map_err function")]
fn session_failed(e: tower_sessions::session::Error) -> Refusal {
    tracing::error!(error = %e, "session storage failed");
    Refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        "The portal is unavailable right now; try again shortly.",
    )
}

/// A minimal page for refusals that happen before the app renders.
pub fn page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Portico</title>\
         <link rel=\"stylesheet\" href=\"{}\"></head><body><main class=\"container\"><h1>{}</h1>\
         <p>{}</p><p><a href=\"/\">Portico home</a></p></main></body></html>",
        portico_app::STYLESHEET_PATH,
        status.canonical_reason().unwrap_or("Error"),
        portico_docsite::highlight::escape(message)
    );
    (status, Html(body)).into_response()
}
