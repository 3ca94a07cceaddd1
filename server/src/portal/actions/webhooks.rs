//! The partner's webhook forms: add an endpoint to an application, edit, enable, disable,
//! rotate its signing secret, send a test event, delete, and replay deliveries.
//!
//! Each handler checks what only the web layer can (the URL against the outbound-destination
//! policy, so no endpoint ever points at a private or internal address; that the endpoint
//! belongs to the application in the URL), then passes the signed-in
//! [`ActorContext`](portico_core::identity::ActorContext) to the core, which decides access and
//! writes the audit record. New signing secrets are shown once through the reveal store. Every
//! answer is a 303 with a one-time message; refused add and edit forms keep what was typed.

use crate::http::public_client;
use crate::portal::PortalState;
use crate::portal::extract::plausible_id;
use crate::portal::extract::{AppAccess, CsrfFields, no_such_application};
use crate::portal::session::SignedIn;
use crate::portal::session::{self, done, flash, refused};
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use portico_app::components::format::format_time;
use portico_app::pages::webhooks::routes;
use portico_app::viewer::FlashKind;
use portico_core::apps::reveal::{Revealed, RevealedSecret};
use portico_core::secret::PlainSecret;
use portico_core::webhooks::{self, EndpointInput, signing::SigningSecret};
use portico_core::{CoreError, clock};
use tower_sessions::Session;

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route(routes::CREATE, post(create))
        .route(routes::EDIT, post(edit))
        .route(routes::ENABLE, post(enable))
        .route(routes::DISABLE, post(disable))
        .route(routes::ROTATE, post(rotate))
        .route(routes::TEST, post(send_test))
        .route(routes::DELETE, post(delete))
        .route(routes::REPLAY, post(replay))
        .route(routes::REPLAY_FAILED, post(replay_failed))
}

fn app_page(app_id: &str) -> String {
    format!("/apps/{app_id}")
}

fn endpoint_page(app_id: &str, endpoint_id: &str) -> String {
    format!("/apps/{app_id}/webhooks/{endpoint_id}")
}

async fn no_such_endpoint(session: &Session, app_id: &str) -> Response {
    refused(
        session,
        CoreError::NotFound {
            what: "webhook endpoint",
        },
        &app_page(app_id),
    )
    .await
}

/// The refusal of a change: an unknown (or another organisation's) application goes back to
/// the list, an unknown endpoint to the application's page, anything else back to `back`.
async fn refused_on(session: &Session, app_id: &str, error: CoreError, back: &str) -> Response {
    match error {
        CoreError::NotFound {
            what: "application",
        } => no_such_application(session).await,
        CoreError::NotFound {
            what: "webhook endpoint",
        } => no_such_endpoint(session, app_id).await,
        e => refused(session, e, back).await,
    }
}

/// The signed-in member and the endpoint `{endpoint}` of the application `{id}`, as
/// [`AppAccess`] and once the endpoint is known to be visible to the member and to belong to
/// the application in the URL (otherwise the same "not found" answer either way). What the
/// member may change is the core's decision, in the handler's call.
struct EndpointAccess {
    signed_in: SignedIn,
    app_id: String,
    endpoint_id: String,
}

impl FromRequestParts<PortalState> for EndpointAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &PortalState) -> Result<Self, Response> {
        let AppAccess { signed_in, id } = AppAccess::from_request_parts(parts, state).await?;
        let Path((_, endpoint_id)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match webhooks::get_endpoint(&state.db, &signed_in.actor, &endpoint_id).await {
            Ok(endpoint) if endpoint.application_id == id => Ok(Self {
                signed_in,
                app_id: id,
                endpoint_id,
            }),
            Ok(_) => Err(no_such_endpoint(&session, &id).await),
            Err(e) => Err(refused_on(&session, &id, e, &app_page(&id)).await),
        }
    }
}

/// The URL of an add or edit form, checked against where webhooks may go; the sentence to
/// show when it cannot be used. Stored as parsed (normalised), so deliveries go exactly where
/// the check looked.
fn destination(typed: &str, policy: public_client::DestinationPolicy) -> Result<String, CoreError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(CoreError::Invalid("Give the URL of your endpoint.".into()));
    }
    let url = url::Url::parse(typed).map_err(|_| {
        CoreError::Invalid(format!(
            "{typed:?} is not a URL: write it in full, like https://hooks.example.com/portico."
        ))
    })?;
    public_client::check_url(&url, policy).map_err(|refusal| {
        CoreError::Invalid(format!("This URL cannot receive webhooks: {refusal}."))
    })?;
    Ok(url.into())
}

/// Shows a new signing secret once on the endpoint's page, with `message`.
async fn reveal_secret(
    state: &PortalState,
    session: &Session,
    (app_id, endpoint_id): (&str, &str),
    secret: &SigningSecret,
    message: String,
) -> Response {
    let to = endpoint_page(app_id, endpoint_id);
    session::reveal_on(
        state,
        session,
        Revealed {
            subject: endpoint_id.to_owned(),
            secrets: vec![RevealedSecret {
                label: "Signing secret".into(),
                value: PlainSecret::from_presented(secret.to_whsec()),
            }],
        },
        &to,
    )
    .await;
    done(session, message, &to).await
}

async fn create(
    State(state): State<PortalState>,
    AppAccess { signed_in, id }: AppAccess,
    session: Session,
    CsrfFields(form): CsrfFields,
) -> Response {
    let back = app_page(&id);
    let url = match destination(form.get("url"), state.webhook_destinations) {
        Ok(url) => url,
        Err(e) => {
            session::keep_draft(&session, &back, form.as_pairs()).await;
            return refused(&session, e, &back).await;
        }
    };
    let event_types: Vec<String> = form.all("event_types").map(str::to_owned).collect();
    let input = EndpointInput {
        url: &url,
        description: form.get("description"),
        event_types: &event_types,
    };
    match webhooks::create_endpoint(
        &state.db,
        state.tokens.sealer(),
        &signed_in.actor,
        &id,
        &input,
        &state.event_types,
    )
    .await
    {
        Ok((endpoint, secret)) => reveal_secret(
            &state,
            &session,
            (&id, &endpoint.id),
            &secret,
            format!(
                "Webhook endpoint {} added. Copy its signing secret now: it is shown only once.",
                endpoint.url
            ),
        )
        .await,
        Err(e) => {
            session::keep_draft(&session, &back, form.as_pairs()).await;
            refused_on(&session, &id, e, &back).await
        }
    }
}

async fn edit(
    State(state): State<PortalState>,
    EndpointAccess {
        signed_in,
        app_id: id,
        endpoint_id,
    }: EndpointAccess,
    session: Session,
    CsrfFields(form): CsrfFields,
) -> Response {
    let back = endpoint_page(&id, &endpoint_id);
    let url = match destination(form.get("url"), state.webhook_destinations) {
        Ok(url) => url,
        Err(e) => {
            session::keep_draft(&session, &back, form.as_pairs()).await;
            return refused(&session, e, &back).await;
        }
    };
    let event_types: Vec<String> = form.all("event_types").map(str::to_owned).collect();
    let input = EndpointInput {
        url: &url,
        description: form.get("description"),
        event_types: &event_types,
    };
    match webhooks::update_endpoint(
        &state.db,
        &signed_in.actor,
        &endpoint_id,
        &input,
        &state.event_types,
    )
    .await
    {
        Ok(_) => done(&session, "Webhook endpoint saved.", &back).await,
        Err(e) => {
            session::keep_draft(&session, &back, form.as_pairs()).await;
            refused_on(&session, &id, e, &back).await
        }
    }
}

async fn set_enabled(
    state: &PortalState,
    access: &EndpointAccess,
    session: &Session,
    enabled: bool,
) -> Response {
    let (signed_in, id, endpoint_id) = (&access.signed_in, &access.app_id, &access.endpoint_id);
    let back = endpoint_page(id, endpoint_id);
    match webhooks::set_enabled(&state.db, &signed_in.actor, endpoint_id, enabled).await {
        Ok(()) if enabled => {
            done(
                session,
                "The endpoint is enabled: deliveries that waited go out again on their schedule.",
                &back,
            )
            .await
        }
        Ok(()) => {
            done(
                session,
                "The endpoint is disabled: new events wait until you enable it again.",
                &back,
            )
            .await
        }
        Err(e) => refused_on(session, id, e, &back).await,
    }
}

async fn enable(
    State(state): State<PortalState>,
    access: EndpointAccess,
    session: Session,
) -> Response {
    set_enabled(&state, &access, &session, true).await
}

async fn disable(
    State(state): State<PortalState>,
    access: EndpointAccess,
    session: Session,
) -> Response {
    set_enabled(&state, &access, &session, false).await
}

/// The overlap field in hours ("" = the default), as seconds.
fn overlap_secs(typed: &str) -> Result<i64, CoreError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(webhooks::DEFAULT_ROTATION_OVERLAP_SECS);
    }
    match typed.parse::<i64>() {
        Ok(hours) if (0..=168).contains(&hours) => Ok(hours * 3_600),
        _ => Err(CoreError::Invalid(format!(
            "The overlap must be a whole number of hours from 0 to 168, not {typed:?}. \
             The secret was not rotated."
        ))),
    }
}

async fn rotate(
    State(state): State<PortalState>,
    EndpointAccess {
        signed_in,
        app_id: id,
        endpoint_id,
    }: EndpointAccess,
    session: Session,
    CsrfFields(form): CsrfFields,
) -> Response {
    let back = endpoint_page(&id, &endpoint_id);
    let overlap = match overlap_secs(form.get("overlap_hours")) {
        Ok(secs) => secs,
        Err(e) => return refused(&session, e, &back).await,
    };
    match webhooks::rotate_secret(
        &state.db,
        state.tokens.sealer(),
        &signed_in.actor,
        &endpoint_id,
        overlap,
    )
    .await
    {
        Ok(secret) => {
            let previous = if overlap == 0 {
                "The previous secret no longer signs.".to_owned()
            } else {
                format!(
                    "The previous secret keeps signing until {}.",
                    format_time(clock::now() + overlap)
                )
            };
            reveal_secret(
                &state,
                &session,
                (&id, &endpoint_id),
                &secret,
                format!(
                    "The signing secret was rotated. Copy the new one now: it is shown only once. {previous}"
                ),
            )
            .await
        }
        Err(e) => refused_on(&session, &id, e, &back).await,
    }
}

async fn send_test(
    State(state): State<PortalState>,
    EndpointAccess {
        signed_in,
        app_id: id,
        endpoint_id,
    }: EndpointAccess,
    session: Session,
) -> Response {
    let back = endpoint_page(&id, &endpoint_id);
    match webhooks::send_test_event(&state.db, Some(&signed_in.actor), &endpoint_id).await {
        Ok(message_id) => {
            done(
                &session,
                format!(
                    "A test event ({}, message {message_id}) is on its way. Reload to see its delivery in the log.",
                    webhooks::TEST_EVENT_TYPE
                ),
                &back,
            )
            .await
        }
        Err(e) => refused_on(&session, &id, e, &back).await,
    }
}

async fn delete(
    State(state): State<PortalState>,
    EndpointAccess {
        signed_in,
        app_id: id,
        endpoint_id,
    }: EndpointAccess,
    session: Session,
    CsrfFields(form): CsrfFields,
) -> Response {
    let back = endpoint_page(&id, &endpoint_id);
    let confirm = form.get("confirm");
    if confirm.is_empty() || confirm == "off" {
        flash(
            &session,
            FlashKind::Error,
            "Tick the confirmation box to delete the endpoint. Nothing was deleted.",
        )
        .await;
        return Redirect::to(&back).into_response();
    }
    match webhooks::delete_endpoint(&state.db, &signed_in.actor, &endpoint_id).await {
        Ok(()) => {
            done(
                &session,
                "The webhook endpoint is deleted, with its deliveries and log.",
                &app_page(&id),
            )
            .await
        }
        Err(e) => refused_on(&session, &id, e, &back).await,
    }
}

async fn replay(
    State(state): State<PortalState>,
    EndpointAccess {
        signed_in,
        app_id: id,
        endpoint_id,
    }: EndpointAccess,
    session: Session,
    CsrfFields(form): CsrfFields,
) -> Response {
    let back = endpoint_page(&id, &endpoint_id);
    let message_id = form.get("message_id").trim();
    if !plausible_id(message_id) {
        return refused(
            &session,
            CoreError::Invalid("Choose a message of the log to replay.".into()),
            &back,
        )
        .await;
    }
    match webhooks::replay_message(&state.db, &signed_in.actor, &endpoint_id, message_id).await {
        Ok(()) => done(
            &session,
            format!(
                "Message {message_id} will be sent again within seconds, with the same webhook-id."
            ),
            &back,
        )
        .await,
        Err(e) => refused_on(&session, &id, e, &back).await,
    }
}

/// A `datetime-local` value read as UTC (`YYYY-MM-DDTHH:MM`, optionally with `:SS`, a space
/// for the `T` or a trailing `Z`), as unix seconds.
fn parse_utc(typed: &str) -> Option<i64> {
    let typed = typed.trim().trim_end_matches(['Z', 'z']);
    clock::parse_rfc3339_ms(&format!("{typed}Z")).map(|ms| ms.div_euclid(1000))
}

async fn replay_failed(
    State(state): State<PortalState>,
    EndpointAccess {
        signed_in,
        app_id: id,
        endpoint_id,
    }: EndpointAccess,
    session: Session,
    CsrfFields(form): CsrfFields,
) -> Response {
    let back = endpoint_page(&id, &endpoint_id);
    let typed = form.get("since");
    let Some(since) = parse_utc(typed) else {
        return refused(
            &session,
            CoreError::Invalid(format!(
                "Give the start as a UTC date and time, like 2026-11-25T08:00 (not {:?}). Nothing was replayed.",
                typed.trim()
            )),
            &back,
        )
        .await;
    };
    match webhooks::replay_failed_since(&state.db, &signed_in.actor, &endpoint_id, since).await {
        Ok(0) => {
            done(
                &session,
                format!(
                    "No failed message since {}: nothing to replay.",
                    format_time(since)
                ),
                &back,
            )
            .await
        }
        Ok(count) => {
            let noun = if count == 1 { "message" } else { "messages" };
            done(
                &session,
                format!(
                    "{count} failed {noun} since {} will be sent again within seconds, with the same webhook-id.",
                    format_time(since)
                ),
                &back,
            )
            .await
        }
        Err(e) => refused_on(&session, &id, e, &back).await,
    }
}

#[cfg(test)]
mod tests {
    use super::{destination, overlap_secs, parse_utc};
    use crate::http::public_client::DestinationPolicy;

    #[test]
    fn endpoint_urls_must_be_public_https() {
        let production = DestinationPolicy::default();
        let local = DestinationPolicy {
            allow_http_loopback: true,
        };
        assert_eq!(
            destination(" https://Hooks.Example.com/portico ", production).ok(),
            Some("https://hooks.example.com/portico".to_owned())
        );
        for (typed, why) in [
            ("", "Give the URL"),
            ("not a url", "is not a URL"),
            ("ftp://x", "must start with https://"),
            ("http://hooks.example.com/h", "must start with https://"),
            ("https://10.0.0.1/h", "private address"),
            ("https://169.254.169.254/latest", "cloud metadata address"),
            ("https://[::1]/h", "loopback address"),
            ("https://127.0.0.1:8443/h", "loopback address"),
            ("http://localhost:9000/h", "must start with https://"),
            (
                "https://user:pw@hooks.example.com/",
                "user name or password",
            ),
            ("https://hooks.example.com:22/", "port 22 is not allowed"),
        ] {
            let refusal = destination(typed, production).err().map(|e| e.to_string());
            assert!(
                refusal.as_deref().is_some_and(|m| m.contains(why)),
                "{typed}: {refusal:?}"
            );
        }
        // Local development reaches receivers on loopback, and still nothing private.
        assert!(destination("http://127.0.0.1:9000/h", local).is_ok());
        assert!(destination("https://[::1]/h", local).is_ok());
        assert!(destination("https://10.0.0.1/h", local).is_err());
    }

    #[test]
    fn replay_starts_are_read_as_utc() {
        assert_eq!(parse_utc("1970-01-01T00:00"), Some(0));
        assert_eq!(parse_utc("2026-11-25T17:40"), Some(1_795_628_400));
        assert_eq!(parse_utc("2026-11-25 17:40:12Z"), Some(1_795_628_412));
        assert_eq!(parse_utc("2000-02-29T00:00"), Some(951_782_400));
        for bad in [
            "",
            "yesterday",
            "2026-11-25",
            "2026-02-30T00:00",
            "2026-13-01T00:00",
            "2026-11-25T24:00",
            "2026-11-25T17:40:12:00",
            "26-11-25T17:40",
            "+2026-11-25T17:40",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn overlaps_are_whole_hours_within_a_week() {
        assert_eq!(overlap_secs("").ok(), Some(24 * 3_600));
        assert_eq!(overlap_secs(" 0 ").ok(), Some(0));
        assert_eq!(overlap_secs("168").ok(), Some(168 * 3_600));
        for bad in ["169", "-1", "1.5", "soon"] {
            assert!(overlap_secs(bad).is_err(), "{bad}");
        }
    }
}
