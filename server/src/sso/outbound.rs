//! The only outbound HTTP client of single sign-on: rustls on the aws-lc-rs provider with the
//! system's trust roots, a 10 s timeout, no redirects followed (SSRF safety, as oauth2
//! recommends) and bounded response bodies. It is only ever pointed at the configured issuer's
//! discovery document and the token and JWKS endpoints that document names.

use oauth2::{HttpRequest, HttpResponse};
use std::sync::Arc;
use std::time::Duration;

pub(super) const TIMEOUT: Duration = Duration::from_secs(10);
/// Discovery documents, key sets and token responses are a few KiB; refuse anything huge.
const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub(super) enum FetchError {
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// reqwest's messages name the URL (the provider's endpoint, never a secret) and the cause.
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("response body larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("cannot build the response: {0}")]
    Response(#[from] http::Error),
}

/// TLS for every outbound client: rustls on the aws-lc-rs provider, the system's trust roots.
pub(crate) fn tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    // Unreadable or malformed system certificates are skipped; an https server that then cannot
    // be verified fails with a TLS error naming the host.
    let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The HTTP client; `https_only` when the issuer itself is https.
pub(super) fn client(https_only: bool) -> Result<reqwest::Client, FetchError> {
    let tls = tls_config().map_err(FetchError::Tls)?;
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .https_only(https_only)
        .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// Performs one request (the oauth2 crate's token request, or our own GETs) and reads at most
/// [`MAX_BODY`] bytes of the answer.
pub(super) async fn execute(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, FetchError> {
    let (parts, body) = request.into_parts();
    let mut response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    if response
        .content_length()
        .is_some_and(|len| len > MAX_BODY as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(builder.body(bytes)?)
}

/// GET a JSON document; a non-200 status is an error naming the status.
pub(super) async fn get_json(
    client: &reqwest::Client,
    url: &url::Url,
) -> Result<serde_json::Value, String> {
    let request = http::Request::get(url.as_str())
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|e| format!("GET {url}: {e}"))?;
    let response = execute(client, request)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if response.status() != http::StatusCode::OK {
        return Err(format!("GET {url}: status {}", response.status()));
    }
    serde_json::from_slice(response.body()).map_err(|e| format!("GET {url}: not JSON: {e}"))
}
