//! Unit tests of the flow and the ID-token checks against a tiny provider served by axum on
//! 127.0.0.1:0: a discovery document, a JWKS the test can change, and a token endpoint that
//! answers with whatever ID token the test signed.

use super::*;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use axum::extract::State;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::Mutex;

const CLIENT_ID: &str = "portico-portal";
const CLIENT_SECRET: &str = "s3cret-value-for-tests";

struct TestKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    fn generate(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        assert_eq!(point.len(), 65, "uncompressed P-256 point");
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..]),
            }),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

#[derive(Default)]
struct Mock {
    issuer: Mutex<String>,
    discovery_overrides: Mutex<Value>,
    jwks: Mutex<Vec<Value>>,
    jwks_fetches: Mutex<u32>,
    id_token: Mutex<Option<String>>,
    /// (Authorization header, form body) of the last token request.
    last_token_request: Mutex<Option<(Option<String>, String)>>,
}

struct Provider {
    issuer: Url,
    mock: Arc<Mock>,
    key: TestKey,
}

async fn discovery(State(mock): State<Arc<Mock>>) -> axum::Json<Value> {
    let issuer = mock.issuer.lock().unwrap().clone();
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        // Advertised, yet never accepted: only the asymmetric ones may sign an ID token.
        "id_token_signing_alg_values_supported": ["ES256", "RS256", "HS256", "none"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email"],
    });
    if let Value::Object(overrides) = mock.discovery_overrides.lock().unwrap().clone() {
        for (k, v) in overrides {
            doc[k] = v;
        }
    }
    axum::Json(doc)
}

async fn jwks(State(mock): State<Arc<Mock>>) -> axum::Json<Value> {
    *mock.jwks_fetches.lock().unwrap() += 1;
    axum::Json(json!({ "keys": mock.jwks.lock().unwrap().clone() }))
}

async fn token(
    State(mock): State<Arc<Mock>>,
    headers: http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let auth = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    *mock.last_token_request.lock().unwrap() = Some((auth, body.clone()));
    if body.contains("code=used") {
        return (
            http::StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"error": "invalid_grant", "error_description": "grant request is invalid"}),
            ),
        )
            .into_response();
    }
    let id_token = mock.id_token.lock().unwrap().clone();
    let mut answer = json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 60});
    if let Some(id_token) = id_token {
        answer["id_token"] = Value::String(id_token);
    }
    axum::Json(answer).into_response()
}

async fn provider_with(overrides: Value) -> Provider {
    let mock = Arc::new(Mock::default());
    let key = TestKey::generate("key-1");
    mock.jwks.lock().unwrap().push(key.jwk.clone());
    *mock.discovery_overrides.lock().unwrap() = overrides;
    let app = axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(Arc::clone(&mock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    *mock.issuer.lock().unwrap() = issuer.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Provider {
        issuer: Url::parse(&issuer).unwrap(),
        mock,
        key,
    }
}

async fn provider() -> Provider {
    provider_with(json!({})).await
}

fn settings(issuer: &Url) -> OidcSettings {
    OidcSettings {
        issuer: issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: OidcClientSecret::new(CLIENT_SECRET),
    }
}

fn redirect() -> Url {
    Url::parse("http://127.0.0.1:9/signin/sso/callback").unwrap()
}

async fn client(provider: &Provider) -> SsoClient {
    SsoClient::discover(&settings(&provider.issuer), redirect())
        .await
        .unwrap()
}

fn claims(provider: &Provider, nonce: &str) -> Value {
    let now = now();
    json!({
        "iss": provider.issuer.as_str().trim_end_matches('/'),
        "sub": "user-1",
        "aud": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "nonce": nonce,
        "email": "dev@partner.example",
        "email_verified": true,
        "name": "Dev Eloper",
    })
}

/// Runs start → (provider answers `id_token`) → finish.
async fn sign_in_with(
    provider: &Provider,
    client: &SsoClient,
    make_token: impl FnOnce(&str) -> String,
) -> Result<SsoIdentity, SsoError> {
    let (_url, pending) = client.start();
    let token = make_token(&pending.nonce);
    *provider.mock.id_token.lock().unwrap() = Some(token);
    let state = pending.state.clone();
    client.finish(pending, "the-code", &state).await
}

fn problem(result: Result<SsoIdentity, SsoError>) -> IdTokenProblem {
    match result {
        Err(SsoError::InvalidIdToken(problem)) => problem,
        other => panic!("expected an ID token problem, got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_sign_in_yields_the_identity_and_uses_pkce_and_basic_auth() {
    let provider = provider().await;
    let client = client(&provider).await;
    let (url, pending) = client.start();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert!(
        url.as_str()
            .starts_with(&format!("{}auth?", provider.issuer))
    );
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["redirect_uri"], redirect().as_str());
    assert_eq!(query["scope"], "openid email", "profile is not advertised");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["state"], pending.state);
    assert_eq!(query["nonce"], pending.nonce);
    assert!(pending.state.len() >= 40 && pending.nonce.len() >= 40);
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        pending.pkce_verifier.as_bytes(),
    ));
    assert_eq!(query["code_challenge"], challenge);

    let token = provider.key.sign(&claims(&provider, &pending.nonce));
    *provider.mock.id_token.lock().unwrap() = Some(token);
    let verifier = pending.pkce_verifier.clone();
    let state = pending.state.clone();
    let identity = client.finish(pending, "the-code", &state).await.unwrap();
    assert_eq!(
        identity,
        SsoIdentity {
            issuer: provider.issuer.as_str().trim_end_matches('/').to_owned(),
            subject: "user-1".into(),
            email: Some("dev@partner.example".into()),
            email_verified: true,
            name: Some("Dev Eloper".into()),
        }
    );
    let (auth, form) = provider
        .mock
        .last_token_request
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    assert_eq!(auth.as_deref(), Some(expected_auth.as_str()));
    assert!(form.contains("grant_type=authorization_code"), "{form}");
    assert!(form.contains("code=the-code"), "{form}");
    assert!(
        form.contains(&format!("code_verifier={verifier}")),
        "{form}"
    );
    assert!(!form.contains(CLIENT_SECRET), "secret only in the header");
}

#[tokio::test]
async fn client_secret_post_is_used_when_it_is_all_the_provider_offers() {
    let provider =
        provider_with(json!({"token_endpoint_auth_methods_supported": ["client_secret_post"]}))
            .await;
    let client = client(&provider).await;
    sign_in_with(&provider, &client, |nonce| {
        provider.key.sign(&claims(&provider, nonce))
    })
    .await
    .unwrap();
    let (auth, form) = provider
        .mock
        .last_token_request
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    assert_eq!(auth, None);
    assert!(
        form.contains(&format!("client_secret={CLIENT_SECRET}")),
        "{form}"
    );
    assert!(form.contains(&format!("client_id={CLIENT_ID}")), "{form}");
}

#[tokio::test]
async fn a_wrong_nonce_is_refused() {
    let provider = provider().await;
    let client = client(&provider).await;
    let result = sign_in_with(&provider, &client, |_| {
        provider.key.sign(&claims(&provider, "another-nonce"))
    })
    .await;
    assert_eq!(problem(result), IdTokenProblem::Nonce);
    let result = sign_in_with(&provider, &client, |nonce| {
        let mut c = claims(&provider, nonce);
        c.as_object_mut().unwrap().remove("nonce");
        provider.key.sign(&c)
    })
    .await;
    assert_eq!(problem(result), IdTokenProblem::Nonce);
}

#[tokio::test]
async fn a_wrong_audience_or_authorized_party_is_refused() {
    let provider = provider().await;
    let client = client(&provider).await;
    let with = |patch: Value| {
        let provider = &provider;
        move |nonce: &str| {
            let mut c = claims(provider, nonce);
            for (k, v) in patch.as_object().unwrap() {
                c[k] = v.clone();
            }
            provider.key.sign(&c)
        }
    };
    let result = sign_in_with(&provider, &client, with(json!({"aud": "someone-else"}))).await;
    assert_eq!(problem(result), IdTokenProblem::Audience);
    let result = sign_in_with(
        &provider,
        &client,
        with(json!({"aud": [CLIENT_ID, "other"]})),
    )
    .await;
    assert_eq!(
        problem(result),
        IdTokenProblem::AuthorizedParty,
        "several audiences need azp"
    );
    let result = sign_in_with(
        &provider,
        &client,
        with(json!({"aud": [CLIENT_ID, "other"], "azp": "other"})),
    )
    .await;
    assert_eq!(problem(result), IdTokenProblem::AuthorizedParty);
    sign_in_with(
        &provider,
        &client,
        with(json!({"aud": [CLIENT_ID, "other"], "azp": CLIENT_ID})),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn expired_or_future_tokens_are_refused_with_sixty_seconds_leeway() {
    let provider = provider().await;
    let client = client(&provider).await;
    let at = |exp: i64, iat: i64| {
        let provider = &provider;
        move |nonce: &str| {
            let mut c = claims(provider, nonce);
            c["exp"] = json!(now() + exp);
            c["iat"] = json!(now() + iat);
            provider.key.sign(&c)
        }
    };
    let result = sign_in_with(&provider, &client, at(-120, -600)).await;
    assert_eq!(problem(result), IdTokenProblem::Expired);
    sign_in_with(&provider, &client, at(-30, -600))
        .await
        .expect("within the leeway");
    let result = sign_in_with(&provider, &client, at(600, 300)).await;
    assert_eq!(problem(result), IdTokenProblem::NotYetValid);
    let result = sign_in_with(&provider, &client, |nonce| {
        let mut c = claims(&provider, nonce);
        c.as_object_mut().unwrap().remove("iat");
        provider.key.sign(&c)
    })
    .await;
    assert_eq!(problem(result), IdTokenProblem::MissingClaim("iat"));
}

#[tokio::test]
async fn a_wrong_issuer_is_refused() {
    let provider = provider().await;
    let client = client(&provider).await;
    let result = sign_in_with(&provider, &client, |nonce| {
        let mut c = claims(&provider, nonce);
        c["iss"] = json!("https://evil.example");
        provider.key.sign(&c)
    })
    .await;
    assert_eq!(problem(result), IdTokenProblem::Issuer);
    // The issuer must match exactly: a trailing slash is another issuer.
    let result = sign_in_with(&provider, &client, |nonce| {
        let mut c = claims(&provider, nonce);
        c["iss"] = json!(provider.issuer.as_str());
        provider.key.sign(&c)
    })
    .await;
    assert_eq!(problem(result), IdTokenProblem::Issuer);
}

#[tokio::test]
async fn alg_none_and_hmac_are_refused_even_when_advertised() {
    let provider = provider().await;
    let client = client(&provider).await;
    let result = sign_in_with(&provider, &client, |nonce| {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims(&provider, nonce).to_string());
        format!("{header}.{payload}.")
    })
    .await;
    assert_eq!(problem(result), IdTokenProblem::Algorithm("none".into()));
    let result = sign_in_with(&provider, &client, |nonce| {
        // HS256 keyed with the client secret, or with the provider's public key bytes.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("key-1".into());
        jsonwebtoken::encode(
            &header,
            &claims(&provider, nonce),
            &EncodingKey::from_secret(CLIENT_SECRET.as_bytes()),
        )
        .unwrap()
    })
    .await;
    assert_eq!(problem(result), IdTokenProblem::Algorithm("HS256".into()));
    // An advertised-but-not-offered asymmetric algorithm is refused too (only ES256/RS256 are).
    let result = sign_in_with(&provider, &client, |nonce| {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES384","kid":"key-1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims(&provider, nonce).to_string());
        format!("{header}.{payload}.c2ln")
    })
    .await;
    assert_eq!(problem(result), IdTokenProblem::Algorithm("ES384".into()));
}

#[tokio::test]
async fn a_forged_signature_is_refused() {
    let provider = provider().await;
    let client = client(&provider).await;
    let impostor = TestKey::generate("key-1");
    let result = sign_in_with(&provider, &client, |nonce| {
        impostor.sign(&claims(&provider, nonce))
    })
    .await;
    assert_eq!(problem(result), IdTokenProblem::Signature);
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_once() {
    let provider = provider().await;
    let client = client(&provider).await;
    assert_eq!(*provider.mock.jwks_fetches.lock().unwrap(), 1);

    let stranger = TestKey::generate("key-unknown");
    let result = sign_in_with(&provider, &client, |nonce| {
        stranger.sign(&claims(&provider, nonce))
    })
    .await;
    assert_eq!(
        problem(result),
        IdTokenProblem::UnknownKey(Some("key-unknown".into()))
    );
    assert_eq!(
        *provider.mock.jwks_fetches.lock().unwrap(),
        2,
        "one refetch, no more"
    );

    // The provider rotates: the new key is published, and the next sign-in refetches it.
    let rotated = TestKey::generate("key-2");
    provider.mock.jwks.lock().unwrap().push(rotated.jwk.clone());
    sign_in_with(&provider, &client, |nonce| {
        rotated.sign(&claims(&provider, nonce))
    })
    .await
    .unwrap();
    assert_eq!(*provider.mock.jwks_fetches.lock().unwrap(), 3);
    // Known keys need no fetch.
    sign_in_with(&provider, &client, |nonce| {
        rotated.sign(&claims(&provider, nonce))
    })
    .await
    .unwrap();
    assert_eq!(*provider.mock.jwks_fetches.lock().unwrap(), 3);
}

#[tokio::test]
async fn state_mismatch_expiry_and_reused_codes_ask_the_user_to_try_again() {
    let provider = provider().await;
    let client = client(&provider).await;
    let (_, pending) = client.start();
    let err = client
        .finish(pending, "the-code", "forged-state")
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::Expired { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "The sign-in was cancelled or expired; try again."
    );
    assert!(
        provider.mock.last_token_request.lock().unwrap().is_none(),
        "no exchange"
    );

    let (_, mut pending) = client.start();
    pending.created_at -= PENDING_TTL.as_secs() as i64 + 1;
    assert!(pending.is_expired());
    let state = pending.state.clone();
    let err = client
        .finish(pending, "the-code", &state)
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::Expired { .. }), "{err:?}");

    let (_, pending) = client.start();
    let state = pending.state.clone();
    let err = client.finish(pending, "used", &state).await.unwrap_err();
    assert!(matches!(err, SsoError::Expired { .. }), "{err:?}");
    assert!(err.cause().contains("invalid_grant"), "{}", err.cause());

    let err = sign_in_with(&provider, &client, |_| String::new())
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::InvalidIdToken(_)), "{err:?}");
}

#[tokio::test]
async fn the_pending_sign_in_round_trips_through_the_session_and_hides_its_values() {
    let provider = provider().await;
    let client = client(&provider).await;
    let (_, pending) = client.start();
    let stored = serde_json::to_string(&pending).unwrap();
    let restored: PendingSignIn = serde_json::from_str(&stored).unwrap();
    assert_eq!(restored.state, pending.state);
    let debug = format!("{pending:?} {:?}", settings(&provider.issuer));
    for secret in [&pending.state, &pending.nonce, &pending.pkce_verifier] {
        assert!(!debug.contains(secret.as_str()), "{debug}");
    }
    assert!(!debug.contains(CLIENT_SECRET), "{debug}");
}

#[tokio::test]
async fn discovery_refuses_a_provider_that_does_not_fit() {
    for (overrides, expect) in [
        (json!({"issuer": "http://127.0.0.1:1"}), "issuer"),
        (json!({"response_types_supported": ["id_token"]}), "code"),
        (
            json!({"code_challenge_methods_supported": ["plain"]}),
            "S256",
        ),
        (
            json!({"id_token_signing_alg_values_supported": ["HS256", "none"]}),
            "signs ID tokens only",
        ),
        (
            json!({"token_endpoint_auth_methods_supported": ["private_key_jwt"]}),
            "client_secret_basic",
        ),
        (json!({"jwks_uri": "file:///etc/passwd"}), "jwks_uri"),
    ] {
        let provider = provider_with(overrides.clone()).await;
        let err = SsoClient::discover(&settings(&provider.issuer), redirect())
            .await
            .unwrap_err();
        assert!(
            matches!(err, SsoError::Misconfigured { .. }) && err.cause().contains(expect),
            "{overrides}: {err:?}"
        );
    }
    // Nothing listening: unavailable, with a message fit for a user.
    let err = SsoClient::discover(
        &settings(&Url::parse("http://127.0.0.1:9").unwrap()),
        redirect(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SsoError::Unavailable { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Single sign-on is unavailable right now; try again later."
    );
}

#[test]
fn discovery_url_and_issuer_comparison_follow_the_specification() {
    let bare = Url::parse("https://idp.example").unwrap();
    assert_eq!(
        discovery_url(&bare).as_str(),
        "https://idp.example/.well-known/openid-configuration"
    );
    let tenant = Url::parse("https://idp.example/realms/partners").unwrap();
    assert_eq!(
        discovery_url(&tenant).as_str(),
        "https://idp.example/realms/partners/.well-known/openid-configuration"
    );
    assert!(same_issuer("https://idp.example", &bare));
    assert!(same_issuer("https://idp.example/", &bare));
    assert!(same_issuer("https://idp.example/realms/partners", &tenant));
    assert!(!same_issuer(
        "https://idp.example/realms/partners/",
        &tenant
    ));
    assert!(!same_issuer("https://idp.example/realms", &tenant));
    assert!(!same_issuer("http://idp.example", &bare));
}
