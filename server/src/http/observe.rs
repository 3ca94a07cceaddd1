//! One layer per front that gives each request an id, a tracing span, an access-log line and a
//! metrics sample. Route templates (not raw paths) label the metrics, so a scan of random URLs
//! cannot blow up the number of series.
//!
//! A tower layer with its own future rather than `middleware::from_fn`: it wraps the whole
//! front once (not every route), so a request pays for no boxed `Next` and no router clone.

use super::metrics::HttpMetrics;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use portico_core::request_id::RequestId;
use portico_sandbox::RouteLabel;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::instrument::Instrumented;

// A `HeaderName`, not a `&str`: looking a header up by string parses the name every time.
pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Label for requests no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Wraps a front's service with [`ObserveService`].
#[derive(Clone)]
pub struct ObserveLayer {
    front: &'static str,
    metrics: Arc<HttpMetrics>,
}

impl ObserveLayer {
    pub fn new(front: &'static str, metrics: Arc<HttpMetrics>) -> Self {
        Self { front, metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = ObserveService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ObserveService {
            inner,
            front: self.front,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ObserveService<S> {
    inner: S,
    front: &'static str,
    metrics: Arc<HttpMetrics>,
}

impl<S> Service<Request> for ObserveService<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        let request_id = request
            .headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(RequestId::from_caller)
            .unwrap_or_default();
        request.extensions_mut().insert(request_id.clone());
        let method = request.method().clone();
        // The path only: query strings may carry one-time tokens. Kept only when the completion
        // line will be written.
        let path = tracing::enabled!(tracing::Level::INFO).then(|| request.uri().path().to_owned());
        // The route is known once the front has routed the request (see `label_route`).
        let span = tracing::info_span!(
            "request",
            front = self.front,
            request_id = %request_id,
            method = %method,
            route = tracing::field::Empty,
        );
        let inner = span.in_scope(|| self.inner.call(request));
        ObserveFuture {
            inner: inner.instrument(span),
            done: Some(Observed {
                started,
                request_id,
                method,
                path,
                front: self.front,
                metrics: self.metrics.clone(),
            }),
        }
    }
}

/// What the completion of a request needs.
struct Observed {
    started: Instant,
    request_id: RequestId,
    method: Method,
    path: Option<String>,
    front: &'static str,
    metrics: Arc<HttpMetrics>,
}

pin_project_lite::pin_project! {
    pub struct ObserveFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        done: Option<Observed>,
    }
}

impl<F, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // A panicking handler becomes a generic 500 that still gets an id, a log line and a
        // metric. (`call` only builds futures; handlers run here.)
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| this.inner.as_mut().poll(cx)));
        let result = match polled {
            Ok(poll) => ready!(poll),
            Err(_panic) => {
                // The payload is not logged: it may quote request data.
                this.inner
                    .span()
                    .in_scope(|| tracing::error!("request handler panicked"));
                Ok(panic_response())
            }
        };
        // Errors are `Infallible` on every front; a poll after completion is answered by the
        // inner future itself. Neither has anything to observe.
        let Some(done) = this.done.take() else {
            return Poll::Ready(result);
        };
        let mut response = match result {
            Ok(response) => response,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let span = this.inner.span();
        let elapsed = done.started.elapsed();
        if let Ok(value) = HeaderValue::from_str(done.request_id.as_str()) {
            response
                .headers_mut()
                .insert(REQUEST_ID_HEADER.clone(), value);
        }
        let status = response.status().as_u16();
        let route = response
            .extensions()
            .get::<RouteLabel>()
            .map_or(UNMATCHED_ROUTE, |label| &*label.0);
        span.record("route", route);
        done.metrics
            .record(done.front, &done.method, route, status, elapsed);
        span.in_scope(|| {
            tracing::info!(
                status,
                path = done.path.as_deref().unwrap_or_default(),
                latency_ms = elapsed.as_secs_f64() * 1000.0,
                "request completed"
            );
        });
        Poll::Ready(Ok(response))
    }
}

fn panic_response() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "application/json")],
        r#"{"__type":"InternalServerException","message":"Internal server error."}"#,
    )
        .into_response()
}

/// Router middleware (runs after routing): labels the response with the matched route
/// template, unless the handler (the gateway) labelled it with its API operation already.
pub async fn label_route(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.extensions().get::<RouteLabel>().is_none()
        && let Some(matched) = matched
    {
        response
            .extensions_mut()
            .insert(RouteLabel(Arc::from(matched.as_str())));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    fn front(router: Router) -> (ObserveService<Router>, Arc<HttpMetrics>) {
        let metrics = Arc::new(HttpMetrics::default());
        let router = router.layer(axum::middleware::from_fn(label_route));
        (
            ObserveLayer::new("portal", metrics.clone()).layer(router),
            metrics,
        )
    }

    fn get_request(path: &str) -> Request {
        Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn responses_carry_the_request_id_and_metrics_use_the_route_template() {
        let (service, metrics) = front(Router::new().route("/items/{id}", get(|| async { "ok" })));
        let mut request = get_request("/items/42");
        request.headers_mut().insert(
            REQUEST_ID_HEADER.clone(),
            HeaderValue::from_static("caller-id-1"),
        );
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[&REQUEST_ID_HEADER], "caller-id-1");

        let response = service.oneshot(get_request("/nowhere")).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let generated = response.headers()[&REQUEST_ID_HEADER].to_str().unwrap();
        assert!(!generated.is_empty());

        let text = metrics.render();
        assert!(
            text.contains(r#"route="/items/{id}",status="200"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"route="unmatched",status="404"} 1"#),
            "{text}"
        );
        assert!(!text.contains("/items/42"), "{text}");
    }

    #[tokio::test]
    async fn a_handler_label_wins_over_the_matched_route() {
        let handler = || async {
            let mut response = "ok".into_response();
            response
                .extensions_mut()
                .insert(RouteLabel(Arc::from("/v2/things/{thingId}")));
            response
        };
        let (service, metrics) = front(Router::new().fallback(handler));
        service.oneshot(get_request("/v2/things/1")).await.unwrap();
        let text = metrics.render();
        assert!(text.contains(r#"route="/v2/things/{thingId}""#), "{text}");
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_generic_500_with_an_id_and_a_metric() {
        async fn boom() -> &'static str {
            panic!("secret detail that must not reach the client")
        }
        let (service, metrics) = front(Router::new().route("/boom", get(boom)));
        let response = service.oneshot(get_request("/boom")).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().contains_key(&REQUEST_ID_HEADER));
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(
            &body[..],
            br#"{"__type":"InternalServerException","message":"Internal server error."}"#
        );
        // The route is unknown once the handler is gone; the failure is still counted.
        let text = metrics.render();
        assert!(text.contains(r#"status="500"} 1"#), "{text}");
    }
}
