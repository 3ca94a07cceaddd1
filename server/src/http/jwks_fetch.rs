//! Fetches JWK sets for [`portico_core::tokens::remote_jwks`] through the SSRF-guarded client
//! of [`super::public_client`]: https only (plain http to loopback only with the local-development
//! flag), public addresses only, no redirects, a short timeout, at most [`MAX_BODY`] bytes, and
//! the answer must be a JSON object.

use super::public_client::{self, DestinationPolicy};
use portico_core::tokens::remote_jwks::{BoxFuture, FetchError, FetchedJwks, JwksFetcher};
use reqwest::header;
use std::time::Duration;
use url::Url;

/// A JWK set is a few keys: anything larger is not one.
pub const MAX_BODY: usize = 64 * 1024;

/// A publisher that does not answer in this time is treated as down (the stale set serves).
pub const TIMEOUT: Duration = Duration::from_secs(5);

pub struct HttpJwksFetcher {
    client: reqwest::Client,
    policy: DestinationPolicy,
}

impl HttpJwksFetcher {
    pub fn new(policy: DestinationPolicy) -> Result<Self, String> {
        Ok(Self {
            client: public_client::client(policy)?,
            policy,
        })
    }

    async fn get(&self, url: &str) -> Result<FetchedJwks, FetchError> {
        let parsed = Url::parse(url).map_err(|_| FetchError("the URL is not valid".into()))?;
        public_client::check_url(&parsed, self.policy).map_err(|e| FetchError(e.to_string()))?;
        let mut response = self
            .client
            .get(parsed)
            .header(header::ACCEPT, "application/jwk-set+json, application/json")
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| FetchError(unreachable_reason(&e)))?;
        if !response.status().is_success() {
            return Err(FetchError(format!(
                "the server answered HTTP {}",
                response.status().as_u16()
            )));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_BODY as u64)
        {
            return Err(FetchError(too_large()));
        }
        let max_age = response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError(unreachable_reason(&e)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError(too_large()));
            }
            body.extend_from_slice(&chunk);
        }
        let document: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| FetchError("the answer is not JSON".into()))?;
        if !document.is_object() {
            return Err(FetchError("the answer is not a JWK set".into()));
        }
        Ok(FetchedJwks { document, max_age })
    }
}

impl JwksFetcher for HttpJwksFetcher {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<FetchedJwks, FetchError>> {
        Box::pin(self.get(url))
    }
}

fn too_large() -> String {
    format!("the answer is larger than {} KiB", MAX_BODY / 1024)
}

/// A short reason without the URL's query (reqwest's text names the URL).
fn unreachable_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if error.is_connect() {
        "the server could not be reached".into()
    } else {
        "the request failed".into()
    }
}

/// `max-age` of a `Cache-Control` value (`no-store`/`no-cache` count as 0).
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        lower
            .strip_prefix("max-age=")
            .and_then(|secs| secs.trim_matches('"').parse().ok())
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    const LOCAL: DestinationPolicy = DestinationPolicy {
        allow_http_loopback: true,
    };

    async fn publisher(response: String) -> SocketAddr {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        address
    }

    fn http(headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn cache_control_max_age() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
    }

    #[tokio::test]
    async fn sets_are_fetched_with_their_max_age_and_bad_answers_refused() {
        let ok = publisher(http("cache-control: max-age=120\r\n", r#"{"keys":[]}"#)).await;
        let fetcher = HttpJwksFetcher::new(LOCAL).unwrap();
        let fetched = fetcher
            .get(&format!("http://127.0.0.1:{}/jwks", ok.port()))
            .await
            .unwrap();
        assert_eq!(fetched.max_age, Some(Duration::from_secs(120)));
        assert_eq!(fetched.document["keys"], serde_json::json!([]));

        let big = publisher(http(
            "",
            &format!("{{\"keys\":\"{}\"}}", "a".repeat(MAX_BODY)),
        ))
        .await;
        let error = fetcher
            .get(&format!("http://127.0.0.1:{}/jwks", big.port()))
            .await
            .unwrap_err();
        assert!(error.0.contains("larger than 64 KiB"), "{error}");

        let html = publisher(http("", "<html>")).await;
        let error = fetcher
            .get(&format!("http://127.0.0.1:{}/jwks", html.port()))
            .await
            .unwrap_err();
        assert_eq!(error.0, "the answer is not JSON");

        // Without the local-development flag, loopback and plain http are refused unsent.
        let strict = HttpJwksFetcher::new(DestinationPolicy::default()).unwrap();
        let error = strict
            .get(&format!("http://127.0.0.1:{}/jwks", ok.port()))
            .await
            .unwrap_err();
        assert_eq!(error.0, "the URL must start with https://");
        let error = strict
            .get("https://169.254.169.254/jwks")
            .await
            .unwrap_err();
        assert!(error.0.contains("cloud metadata"), "{error}");
    }
}
