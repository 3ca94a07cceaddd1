//! Who is asking and what they sent, as axum extractors (the way crates.io checks auth): a
//! handler names what it needs in its signature ([`SignedIn`], [`Admin`], [`AppAccess`],
//! [`CsrfForm`], [`CsrfFields`]) and its body only runs once that holds. Each rejection is the
//! very response the handlers gave when they checked it themselves, so moving a check here
//! changes no answer.
//!
//! Access to an application is decided by the core function a handler calls, inside its
//! transaction (roles, tenant isolation, the audit record); [`AppAccess`] only establishes who
//! asks and that the path ids can be ids at all, so that refusals keep the core's order and
//! wording.

use super::session::{self, FORM_TOO_LARGE, MAX_FORM_BYTES, SignedIn};
use axum::Form;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use portico_app::viewer::FlashKind;
use portico_core::identity::users::Role;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

/// Where a signed-out visitor is sent.
const SIGN_IN: &str = "/signin";
/// Where an unknown application sends the visitor, with [`NO_SUCH_APPLICATION`].
const APPLICATIONS: &str = "/apps";
const NO_SUCH_APPLICATION: &str = "No such application.";

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        parts
            .extensions
            .get::<SignedIn>()
            .cloned()
            .ok_or_else(|| Redirect::to(SIGN_IN).into_response())
    }
}

/// A signed-in platform administrator. Signed-out visitors are sent to sign in; anyone else
/// gets a 403 page before the handler touches anything (the core checks again).
#[derive(Clone, Debug)]
pub struct Admin(pub SignedIn);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        if signed_in.user.role == Role::Admin {
            Ok(Self(signed_in))
        } else {
            tracing::info!(user = %signed_in.user.id, "admin action refused to a non-admin");
            Err(session::page(
                StatusCode::FORBIDDEN,
                "Administrators only: this action needs a platform administrator.",
            ))
        }
    }
}

/// The signed-in member and the application `{id}` of the path. Signed-out visitors are sent
/// to sign in; a path id that could not be an id (any of them: credential, request, endpoint)
/// gets the same answer as an application that does not exist. Whether the member may act on
/// the application is the core's decision, in the call the handler makes with
/// [`SignedIn::actor`]; its refusals go through the handler, in the core's order.
#[derive(Clone, Debug)]
pub struct AppAccess {
    pub signed_in: SignedIn,
    /// The application's id, plausible (see [`plausible_id`]).
    pub id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for AppAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let id = params
            .iter()
            .find(|(name, _)| name == "id")
            .map(|(_, value)| value.clone());
        match id {
            Some(id) if params.iter().all(|(_, value)| plausible_id(value)) => {
                Ok(Self { signed_in, id })
            }
            // A route without `{id}` is no application route: nothing to find either.
            _ => {
                let session = session_of(parts, state).await?;
                Err(no_such_application(&session).await)
            }
        }
    }
}

/// The answer for an application that does not exist, or is not the member's: back to the
/// list with a message (the same whether it exists elsewhere or nowhere).
pub async fn no_such_application(session: &Session) -> Response {
    session::flash(session, FlashKind::Error, NO_SUCH_APPLICATION).await;
    Redirect::to(APPLICATIONS).into_response()
}

async fn session_of<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Session, Response> {
    Session::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)
}

/// The form body, once it is known to carry the session's CSRF token, with the request parts
/// to read it as. [`attach_viewer`](super::session::attach_viewer) has checked the token on
/// every state-changing request already; checking here too keeps a form handler safe even on
/// a router without that layer.
async fn checked_body<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<(Parts, Bytes), Response> {
    let (mut parts, body) = request.into_parts();
    let session = session_of(&mut parts, state).await?;
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| session::page(StatusCode::PAYLOAD_TOO_LARGE, FORM_TOO_LARGE))?;
    session::check_csrf(&session, &bytes).await?;
    Ok((parts, bytes))
}

/// A url-encoded form whose CSRF token was checked, deserialised into `T` (the token field is
/// ignored) exactly as [`Form`] does, with its rejections.
#[derive(Clone, Debug)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let (parts, bytes) = checked_body(request, state).await?;
        let request = Request::from_parts(parts, Body::from(bytes));
        let Form(form) = Form::<T>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(form))
    }
}

/// [`CsrfForm`] for forms whose fields repeat (checkbox groups) or vary (parameters of an
/// operation): every field as sent, in order.
pub(crate) struct CsrfFields(pub(crate) Fields);

impl<S: Send + Sync> FromRequest<S> for CsrfFields {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let (_, bytes) = checked_body(request, state).await?;
        Ok(Self(Fields::parse(&bytes)))
    }
}

/// A form whose fields may repeat (checkboxes), parsed from the body as sent.
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Every field as sent (what a refused form keeps as its draft).
    pub(crate) fn as_pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value of `name`, or "".
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Path ids are opaque; ones that could not be an id never reach the core (they would only
/// make odd redirect targets).
pub(crate) fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
