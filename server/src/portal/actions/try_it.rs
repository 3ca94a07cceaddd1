//! "Try it" on an operation's page: the partner picks one of their applications and fills in
//! the parameters and body; this handler issues an access token for that application here
//! (the client secret is never needed, nor sent to the browser), calls the sandbox at its
//! configured URL — the only host it ever calls, with the path built from the model's
//! template and percent-encoded parameters — and shows the answer once on the page (303
//! back, post/redirect/get).

use crate::portal::PortalState;
use crate::portal::extract::CsrfFields;
use crate::portal::session::SignedIn;
use crate::portal::session::{keep_draft, refused, try_it_result_on};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use http::{HeaderName, HeaderValue, Method};
use portico_app::pages::reference::TryItResult;
use portico_app::pages::reference::routes;
use portico_core::CoreError;
use portico_core::apps::manage;
use portico_core::authz::scopes::Scopes;
use portico_docsite::reference::percent_encode;
use tower_sessions::Session;

pub fn routes() -> Router<PortalState> {
    Router::new().route(routes::TRY_IT, post(try_it))
}

/// How much of the sandbox's answer the page shows.
const MAX_SHOWN_BODY: usize = 32 * 1024;

async fn try_it(
    State(state): State<PortalState>,
    signed_in: SignedIn,
    session: Session,
    Path((version, operation)): Path<(String, String)>,
    // The form's fields in order (`application`, `path.orderId`, `query.limit`,
    // `header.Idempotency-Key`, `body`, `api_key_secret`).
    CsrfFields(fields): CsrfFields,
) -> Response {
    let docs = state.docs.current();
    let Some(op) = docs.operation(&version, &operation) else {
        return refused(
            &session,
            CoreError::NotFound { what: "operation" },
            "/reference",
        )
        .await;
    };
    let page = format!("/reference/{version}/{operation}");
    let back = format!("{page}#try-it");
    keep_draft(&session, &page, fields.as_pairs()).await;
    let fail = |message: String| CoreError::Invalid(message);

    let app_id = fields.get("application");
    let detail = match manage::application_detail(&state.db, &signed_in.actor, app_id).await {
        Ok(detail) => detail,
        Err(e) => return refused(&session, e, &back).await,
    };
    let app = detail.summary.app;

    // The request, from the model's template: parameters percent-encoded into the path and
    // query, header parameters only by the names the model declares.
    let mut path = op.path.clone();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for parameter in &op.parameters {
        let value = fields
            .get(&format!("{}.{}", parameter.location, parameter.name))
            .trim();
        if value.is_empty() {
            if parameter.required {
                return refused(
                    &session,
                    fail(format!(
                        "{} ({}) is required.",
                        parameter.name, parameter.location
                    )),
                    &back,
                )
                .await;
            }
            continue;
        }
        match parameter.location.as_str() {
            "path" => {
                path = path.replace(&format!("{{{}}}", parameter.name), &percent_encode(value));
            }
            "query" => query.push(format!(
                "{}={}",
                percent_encode(&parameter.name),
                percent_encode(value)
            )),
            "header" => {
                let (Ok(name), Ok(header_value)) = (
                    HeaderName::from_bytes(parameter.name.as_bytes()),
                    HeaderValue::from_str(value),
                ) else {
                    return refused(
                        &session,
                        fail(format!("{} is not a valid header value.", parameter.name)),
                        &back,
                    )
                    .await;
                };
                headers.push((name, header_value));
            }
            _ => {}
        }
    }
    let api_key = fields.get("api_key_secret").trim();
    if !api_key.is_empty() {
        match HeaderValue::from_str(api_key) {
            Ok(value) => headers.push((HeaderName::from_static("x-api-key"), value)),
            Err(_) => {
                return refused(&session, fail("The API key is not valid.".into()), &back).await;
            }
        }
    }
    let request_body = fields.get("body").trim().to_owned();
    if op.request_body.is_some()
        && !request_body.is_empty()
        && serde_json::from_str::<serde_json::Value>(&request_body).is_err()
    {
        return refused(
            &session,
            fail("The request body is not valid JSON.".into()),
            &back,
        )
        .await;
    }

    let scopes = Scopes::parse(&op.scopes.join(" ")).ok();
    let token = match state
        .tokens
        .issue(&app, scopes.as_ref().filter(|s| s.is_subset(&app.scopes)))
    {
        Ok(token) => token,
        Err(e) => {
            return refused(
                &session,
                fail(format!("No token for {}: {e}", app.name)),
                &back,
            )
            .await;
        }
    };
    let method = Method::from_bytes(op.method.as_bytes()).unwrap_or(Method::GET);
    let url = if query.is_empty() {
        format!("{}{path}", state.site.sandbox_url.trim_end_matches('/'))
    } else {
        format!(
            "{}{path}?{}",
            state.site.sandbox_url.trim_end_matches('/'),
            query.join("&")
        )
    };
    let mut request = state
        .sandbox_client
        .request(method.clone(), &url)
        .bearer_auth(&token.access_token);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if op.request_body.is_some() && !request_body.is_empty() {
        request = request
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(request_body);
    }
    let result = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let shown_headers = response
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("(binary)").to_owned()))
                .collect();
            let body = read_capped(response).await;
            TryItResult {
                application: app.name.clone(),
                method: method.to_string(),
                url,
                status,
                headers: shown_headers,
                body,
                error: None,
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "try-it could not reach the sandbox");
            TryItResult {
                application: app.name.clone(),
                method: method.to_string(),
                url,
                status: 0,
                headers: Vec::new(),
                body: String::new(),
                error: Some("The sandbox could not be reached; please try again.".into()),
            }
        }
    };
    try_it_result_on(&session, &page, result).await;
    Redirect::to(&back).into_response()
}

/// The body as text, pretty-printed when it is JSON, cut at [`MAX_SHOWN_BODY`].
async fn read_capped(mut response: reqwest::Response) -> String {
    let mut bytes: Vec<u8> = Vec::new();
    let mut cut = false;
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_SHOWN_BODY.saturating_sub(bytes.len());
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            cut = true;
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if cut {
        return format!("{text}\n… (cut at {MAX_SHOWN_BODY} bytes)");
    }
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or(text),
        Err(_) => text,
    }
}
