//! The production stage's backend: authorized requests go to the real upstream with the
//! caller's identity in `x-principal-*` headers. Client-sent `x-principal-*` headers and the
//! caller's credentials never reach the upstream.

use crate::error::{ErrorKind, GatewayError};
use axum::body::{Body, Bytes};
use axum::http::uri::{PathAndQuery, Scheme};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use portico_core::request_id::RequestId;
use std::time::Duration;

/// The caller as the upstream learns it.
#[derive(Clone, Debug)]
pub struct PrincipalHeaders<'a> {
    pub client_id: &'a str,
    pub partner_id: &'a str,
    pub scopes: &'a str,
}

#[derive(Clone, Debug)]
pub struct UpstreamProxy {
    client: Client<HttpConnector, Body>,
    scheme: Scheme,
    authority: axum::http::uri::Authority,
    base_path: String,
    timeout: Duration,
}

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus the caller's own
/// credentials, which the upstream must not see or trust.
const STRIPPED: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "authorization",
    "x-api-key",
    "x-amzn-oidc-accesstoken",
];

impl UpstreamProxy {
    /// `upstream` is the operator's `PORTICO_UPSTREAM_URL` (http only: TLS to the upstream is
    /// the job of the network it runs in).
    pub fn new(upstream: &str, timeout: Duration) -> Result<Self, String> {
        let uri: Uri = upstream.parse().map_err(|e| format!("not a URL: {e}"))?;
        let scheme = uri.scheme().cloned().ok_or("the URL needs a scheme")?;
        if scheme != Scheme::HTTP {
            return Err("only http:// upstreams are supported".into());
        }
        let authority = uri.authority().cloned().ok_or("the URL needs a host")?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(3)));
        connector.set_nodelay(true);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            scheme,
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
            timeout,
        })
    }

    /// Forwards one request and relays the answer; upstream failures become 502/504.
    pub async fn forward(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
        principal: &PrincipalHeaders<'_>,
        request_id: &RequestId,
    ) -> Response {
        let failure = |kind: ErrorKind, message: &str| {
            GatewayError::new(kind, message)
                .with_request_id(Some(request_id.clone()))
                .into_response()
        };
        let Ok(path) = PathAndQuery::try_from(format!("{}{path_and_query}", self.base_path)) else {
            return failure(ErrorKind::Validation, "The request path is not valid.");
        };
        let uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path)
            .build();
        let Ok(uri) = uri else {
            return failure(ErrorKind::Validation, "The request path is not valid.");
        };
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(out) = request.headers_mut() {
            for (name, value) in headers {
                let lower = name.as_str();
                if STRIPPED.contains(&lower)
                    || lower.starts_with("x-principal-")
                    || name == header::HOST
                {
                    continue;
                }
                out.append(name.clone(), value.clone());
            }
            for (name, value) in [
                ("x-principal-client-id", principal.client_id),
                ("x-principal-partner-id", principal.partner_id),
                ("x-principal-scopes", principal.scopes),
                ("x-request-id", request_id.as_str()),
            ] {
                if let Ok(value) = HeaderValue::from_str(value) {
                    out.insert(HeaderName::from_static(name), value);
                }
            }
        }
        let Ok(request) = request.body(Body::from(body)) else {
            return failure(ErrorKind::Internal, "Internal server error.");
        };
        match tokio::time::timeout(self.timeout, self.client.request(request)).await {
            Ok(Ok(response)) => {
                let (mut parts, body) = response.into_parts();
                for name in STRIPPED.iter().take(8) {
                    parts.headers.remove(*name);
                }
                Response::from_parts(parts, Body::new(body))
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "upstream request failed");
                if e.is_connect() {
                    failure(
                        ErrorKind::ServiceUnavailable,
                        "The service is unavailable right now.",
                    )
                } else {
                    failure(
                        ErrorKind::BadGateway,
                        "The upstream service failed to answer.",
                    )
                }
            }
            Err(_) => {
                tracing::warn!(timeout = ?self.timeout, "upstream request timed out");
                failure(
                    ErrorKind::GatewayTimeout,
                    "The upstream service did not answer in time.",
                )
            }
        }
    }
}
