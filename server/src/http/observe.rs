//! One middleware per front that gives each request an id, a tracing span, an access-log line
//! and a metrics sample. Route templates (not raw paths) label the metrics, so a scan of random
//! URLs cannot blow up the number of series.

use super::metrics::HttpMetrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use portico_core::request_id::RequestId;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Label for requests no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone)]
pub struct Observe {
    pub front: &'static str,
    pub metrics: Arc<HttpMetrics>,
}

pub async fn observe(State(observe): State<Observe>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(RequestId::from_caller)
        .unwrap_or_default();
    request.extensions_mut().insert(request_id.clone());
    static UNMATCHED: std::sync::LazyLock<Arc<str>> =
        std::sync::LazyLock::new(|| Arc::from(UNMATCHED_ROUTE));
    let route: Arc<str> = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.clone(), |m| Arc::from(m.as_str()));
    let method = request.method().clone();
    // The path only: query strings may carry one-time tokens. Kept only when the completion
    // line will be written.
    let path = tracing::enabled!(tracing::Level::INFO).then(|| request.uri().path().to_owned());

    let span = tracing::info_span!(
        "request",
        front = observe.front,
        request_id = %request_id,
        method = %method,
        route = %route,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();

    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    // Gateway calls are routed by the API model, not by axum: take its label.
    let route = response
        .extensions()
        .get::<portico_sandbox::RouteLabel>()
        .map_or(route, |label| label.0.clone());
    span.record("route", tracing::field::display(&route));
    observe
        .metrics
        .record(observe.front, &method, &route, status, elapsed);
    span.in_scope(|| {
        tracing::info!(
            status,
            path = path.as_deref().unwrap_or_default(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request completed"
        );
    });
    response
}
