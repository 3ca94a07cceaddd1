//! Single sign-on against a REAL OpenID provider: the certified npm `oidc-provider`, started by
//! each test as `node end2end/support/oidc-provider.mjs REDIRECT_URI` on a free port. The
//! browser's part (login form, consent page) is played over HTTP with a small cookie jar.

use portico_server::sso::{OidcClientSecret, OidcSettings, SsoClient, SsoError};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use url::Url;

const CLIENT_ID: &str = "portico-portal";
const CLIENT_SECRET: &str = "portico-sso-test-secret";
const REDIRECT: &str = "http://127.0.0.1:9/signin/sso/callback";
const ACCOUNT: &str = "partner.dev";
const ACCOUNT_EMAIL: &str = "partner.dev@partner.example";

/// The node process; killed when the test ends, however it ends.
struct OpenIdProvider {
    child: Child,
    issuer: Url,
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider() -> OpenIdProvider {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let end2end = root.join("end2end");
    assert!(
        end2end
            .join("node_modules/oidc-provider/package.json")
            .exists(),
        "the OpenID provider for the single sign-on tests is not installed: run `npm ci --prefix end2end` first"
    );
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("node")
        .arg(end2end.join("support/oidc-provider.mjs"))
        .arg(REDIRECT)
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` (needed by the SSO tests): {e}"));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("http://") {
                let _ = tx.send(line);
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(issuer) => OpenIdProvider {
            child,
            issuer: Url::parse(issuer.trim()).unwrap(),
        },
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "oidc-provider did not print its issuer within 30 s; its stderr:\n{}",
                std::fs::read_to_string(stderr.path()).unwrap_or_default()
            );
        }
    }
}

fn settings(issuer: &Url, secret: &str) -> OidcSettings {
    OidcSettings {
        issuer: issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: OidcClientSecret::new(secret),
    }
}

/// A plain HTTP client for playing the browser.
fn browser_http() -> reqwest::Client {
    crate::common::http_client()
}

/// A browser without a browser: follows the provider's redirects by hand, keeps its cookies,
/// fills the development login form and confirms the consent page. Returns the callback URL.
async fn play_the_browser(authorize: &Url) -> Url {
    let http = browser_http();
    let mut cookies = BTreeMap::<String, String>::new();
    let mut url = authorize.clone();
    let mut form: Option<Vec<(&str, &str)>> = None;
    for _ in 0..12 {
        if url.as_str().starts_with(REDIRECT) {
            return url;
        }
        let cookie_header = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = match form.take() {
            Some(fields) => http.post(url.clone()).form(&fields),
            None => http.get(url.clone()),
        };
        let response = request
            .header("cookie", cookie_header)
            .send()
            .await
            .unwrap();
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                cookies.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            url = url.join(&location).unwrap();
            continue;
        }
        let page = response.text().await.unwrap();
        assert_eq!(status, 200, "{url}: {page}");
        // The interaction page posts back to itself: a login form or a consent form.
        form = Some(if page.contains(r#"name="login""#) {
            vec![("prompt", "login"), ("login", ACCOUNT), ("password", "any")]
        } else if page.contains(r#"value="consent""#) {
            vec![("prompt", "consent")]
        } else {
            panic!("unexpected page at {url}: {page}");
        });
    }
    panic!("the provider never redirected back to {REDIRECT}");
}

fn callback_params(callback: &Url) -> (String, String) {
    let params: BTreeMap<String, String> = callback.query_pairs().into_owned().collect();
    assert!(!params.contains_key("error"), "{callback}");
    (params["code"].clone(), params["state"].clone())
}

#[tokio::test]
async fn a_full_sign_in_against_a_real_openid_provider() {
    let op = start_provider();
    let client = SsoClient::discover(
        &settings(&op.issuer, CLIENT_SECRET),
        Url::parse(REDIRECT).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(client.issuer(), op.issuer.as_str().trim_end_matches('/'));

    let (authorize, pending) = client.start();
    let stored = serde_json::to_string(&pending).unwrap();
    let callback = play_the_browser(&authorize).await;
    let (code, state) = callback_params(&callback);

    let identity = client
        .finish(serde_json::from_str(&stored).unwrap(), &code, &state)
        .await
        .unwrap();
    assert_eq!(identity.issuer, client.issuer());
    assert_eq!(identity.subject, ACCOUNT);
    assert_eq!(identity.email.as_deref(), Some(ACCOUNT_EMAIL));
    assert!(identity.email_verified);
    assert_eq!(identity.name.as_deref(), Some("Partner Developer"));

    // The code is single-use: replaying the callback asks the user to start again.
    let err = client
        .finish(serde_json::from_str(&stored).unwrap(), &code, &state)
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::Expired { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "The sign-in was cancelled or expired; try again."
    );
}

#[tokio::test]
async fn a_wrong_state_never_reaches_the_provider_and_a_wrong_verifier_is_refused() {
    let op = start_provider();
    let client = SsoClient::discover(
        &settings(&op.issuer, CLIENT_SECRET),
        Url::parse(REDIRECT).unwrap(),
    )
    .await
    .unwrap();
    let (authorize, pending) = client.start();
    let callback = play_the_browser(&authorize).await;
    let (code, _) = callback_params(&callback);
    let err = client.finish(pending, &code, "forged").await.unwrap_err();
    assert!(matches!(err, SsoError::Expired { .. }), "{err:?}");

    // A code obtained by one sign-in cannot be redeemed with another sign-in's PKCE verifier.
    let (authorize, first) = client.start();
    let (_, second) = client.start();
    let callback = play_the_browser(&authorize).await;
    let (code, state) = callback_params(&callback);
    let second: serde_json::Value = serde_json::to_value(&second).unwrap();
    let mut swapped = serde_json::to_value(&first).unwrap();
    swapped["pkce_verifier"] = second["pkce_verifier"].clone();
    let err = client
        .finish(serde_json::from_value(swapped).unwrap(), &code, &state)
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::Expired { .. }), "{err:?}");
    assert!(err.cause().contains("invalid_grant"), "{}", err.cause());
}

#[tokio::test]
async fn a_bad_client_secret_fails_cleanly() {
    let op = start_provider();
    // Discovery is public, so it succeeds; the secret is refused at the token endpoint.
    let client = SsoClient::discover(
        &settings(&op.issuer, "not-the-secret"),
        Url::parse(REDIRECT).unwrap(),
    )
    .await
    .unwrap();
    let (authorize, pending) = client.start();
    let callback = play_the_browser(&authorize).await;
    let (code, state) = callback_params(&callback);
    let err = client.finish(pending, &code, &state).await.unwrap_err();
    assert!(matches!(err, SsoError::Misconfigured { .. }), "{err:?}");
    assert!(err.cause().contains("invalid_client"), "{}", err.cause());
    assert!(!err.cause().contains("not-the-secret"));
    assert_eq!(
        err.to_string(),
        "Single sign-on is not set up correctly; please tell the portal's administrators."
    );
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_refused_by_the_provider() {
    let op = start_provider();
    let client = SsoClient::discover(
        &settings(&op.issuer, CLIENT_SECRET),
        Url::parse("http://127.0.0.1:8/signin/sso/callback").unwrap(),
    )
    .await
    .unwrap();
    let (authorize, _) = client.start();
    let response = browser_http().get(authorize).send().await.unwrap();
    assert_eq!(response.status(), 400, "no redirect to an unregistered URI");
    let page = response.text().await.unwrap();
    assert!(page.contains("redirect_uri did not match"), "{page}");
}

#[tokio::test]
async fn discovery_requires_the_exact_configured_issuer() {
    let op = start_provider();
    // Same server, other spelling: the document's issuer (127.0.0.1) is not the configured one.
    let mut localhost = op.issuer.clone();
    localhost.set_host(Some("localhost")).unwrap();
    let err = SsoClient::discover(
        &settings(&localhost, CLIENT_SECRET),
        Url::parse(REDIRECT).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SsoError::Misconfigured { .. }), "{err:?}");
    assert!(err.cause().contains("issuer"), "{}", err.cause());

    let mut wrong_path = op.issuer.clone();
    wrong_path.set_path("/realms/none");
    let err = SsoClient::discover(
        &settings(&wrong_path, CLIENT_SECRET),
        Url::parse(REDIRECT).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SsoError::Unavailable { .. }), "{err:?}");
}
