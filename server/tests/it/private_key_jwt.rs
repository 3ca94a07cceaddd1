//! private_key_jwt client authentication (RFC 7523 §2.2) at the token endpoint: registration,
//! "private_key_jwt only", and every way an assertion can be wrong.

use crate::common::{Browser, TestApp, TestResponse, post_form};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portico_core::apps::client_keys::{self, ClientAuthMethod};
use portico_core::apps::credentials::{self, Credential};
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use portico_core::identity::ActorContext;
use portico_core::{clock, testing};
use serde_json::{Value, json};

const TOKEN_ENDPOINT: &str = "http://sandbox.test/oauth2/token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A P-256 key pair made for the test.
struct ClientKey {
    encoding: EncodingKey,
    public: Value,
}

impl ClientKey {
    fn new(kid: &str) -> Self {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        Self {
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            public: json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }),
        }
    }

    fn kid(&self) -> &str {
        self.public["kid"].as_str().unwrap()
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid().to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

struct Client {
    app_id: String,
    id: String,
    secret: String,
    owner: ActorContext,
}

async fn client(app: &TestApp, partner: &str) -> Client {
    let (application, creds) = create_app(
        &app.database.db,
        partner,
        partner,
        "App",
        &Scopes::parse("commercial:read").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    let owner = testing::owner_of_app(&app.database.db, &application.id).await;
    Client {
        app_id: application.id,
        id: creds.client_id,
        secret: creds.client_secret.expose().to_owned(),
        owner,
    }
}

fn claims(client_id: &str) -> Value {
    let now = clock::now();
    json!({
        "iss": client_id, "sub": client_id, "aud": TOKEN_ENDPOINT,
        "iat": now, "exp": now + 60,
        "jti": portico_core::ids::new_id("jti"),
    })
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn token_with_assertion(app: &TestApp, assertion: &str, extra: &str) -> TestResponse {
    let body = format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={}{extra}",
        encode(ASSERTION_TYPE),
        encode(assertion)
    );
    app.sandbox(post_form("/oauth2/token", &body)).await
}

async fn token_with_secret(app: &TestApp, c: &Client) -> TestResponse {
    let mut request = post_form("/oauth2/token", "grant_type=client_credentials");
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", c.id, c.secret))
    );
    request
        .headers_mut()
        .insert("authorization", basic.parse().unwrap());
    app.sandbox(request).await
}

fn assert_refused(res: &TestResponse, status: StatusCode, code: &str, says: &str) {
    assert_eq!(res.status, status, "{}", res.body);
    assert_eq!(res.json()["error"], code, "{}", res.body);
    let description = res.json()["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(description.contains(says), "{description:?} lacks {says:?}");
    assert_eq!(res.header("cache-control"), "no-store");
}

async fn register(app: &TestApp, c: &Client, key: &ClientKey) {
    client_keys::add_keys(
        &app.database.db,
        &c.owner,
        &c.app_id,
        &key.public.to_string(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_registered_key_gets_tokens_and_secrets_can_then_be_refused() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let db = &app.database.db;
        let c = client(&app, "acme").await;
        let key = ClientKey::new("k1");

        // Before registration the assertion names no key.
        let res = token_with_assertion(&app, &key.sign(&claims(&c.id)), "").await;
        assert_refused(
            &res,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "no key registered",
        );

        register(&app, &c, &key).await;
        let res = token_with_assertion(&app, &key.sign(&claims(&c.id)), "").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let access_token = res.json()["access_token"].as_str().unwrap().to_owned();
        let verified = app.tokens.verify(&access_token).unwrap();
        assert_eq!(verified.claims.client_id, c.id);
        assert_eq!(verified.claims.partner_id, "acme");
        // The issuer as `aud` and the client_id parameter beside the assertion also work.
        let mut by_issuer = claims(&c.id);
        by_issuer["aud"] = json!("http://sandbox.test");
        let extra = format!("&client_id={}", c.id);
        let res = token_with_assertion(&app, &key.sign(&by_issuer), &extra).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        // The secret still works until the application refuses secrets.
        assert_eq!(token_with_secret(&app, &c).await.status, StatusCode::OK);

        let revoked =
            client_keys::set_method(db, &c.owner, &c.app_id, ClientAuthMethod::PrivateKeyJwtOnly)
                .await
                .unwrap();
        assert_eq!(revoked, 1, "the application's one client secret is revoked");
        let res = token_with_secret(&app, &c).await;
        assert_refused(
            &res,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "authentication failed",
        );
        let err = credentials::add_credential(db, &c.owner, &c.app_id, Credential::ClientSecret)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("private_key_jwt only"), "{err}");
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM client_secrets WHERE application_id = $1 AND revoked_at IS NULL",
        )
        .bind(&c.app_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(live, 0, "no stored secret is left to copy");
        let res = token_with_assertion(&app, &key.sign(&claims(&c.id)), "").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);

        // The only key of a key-only application cannot be removed.
        let view = client_keys::view(db, &c.owner, &c.app_id).await.unwrap();
        assert_eq!(view.method, ClientAuthMethod::PrivateKeyJwtOnly);
        assert_eq!(view.keys.len(), 1);
        let err = client_keys::remove_key(db, &c.owner, &c.app_id, &view.keys[0].id)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("only key"), "{err}");

        // Every change is in the audit trail.
        let actions: Vec<String> = sqlx::query_scalar(
            "SELECT action FROM audit_events WHERE target = $1 ORDER BY occurred_at, id",
        )
        .bind(&c.app_id)
        .fetch_all(db.pool())
        .await
        .unwrap_or_default();
        for action in [
            "application.client_key.added",
            "application.client_auth.changed",
        ] {
            assert!(
                actions.iter().any(|a| a == action),
                "{action} in {actions:?}"
            );
        }

        let meta = app
            .get_sandbox("/.well-known/oauth-authorization-server")
            .await
            .json();
        assert!(
            meta["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt"))
        );
        assert_eq!(
            meta["token_endpoint_auth_signing_alg_values_supported"],
            json!(["ES256", "RS256", "PS256", "EdDSA"])
        );
    }
}

#[tokio::test]
async fn wrong_assertions_are_refused_with_their_reason() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let c = client(&app, "acme").await;
        let key = ClientKey::new("k1");
        register(&app, &c, &key).await;
        let now = clock::now();

        // Replayed: the same assertion twice.
        let assertion = key.sign(&claims(&c.id));
        assert_eq!(
            token_with_assertion(&app, &assertion, "").await.status,
            StatusCode::OK
        );
        let res = token_with_assertion(&app, &assertion, "").await;
        assert_refused(
            &res,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "already used",
        );

        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "another audience",
                json!({"aud": "https://elsewhere.example/token"}),
                "aud",
            ),
            (
                "expired",
                json!({"iat": now - 600, "exp": now - 300}),
                "expired",
            ),
            (
                "lives too long",
                json!({"exp": now + 7200}),
                "at most 3600 seconds",
            ),
            (
                "iss differs from sub",
                json!({"iss": "someone-else"}),
                "iss",
            ),
            ("no jti", json!({"jti": null}), "jti"),
            ("not valid yet", json!({"nbf": now + 600}), "not valid yet"),
        ];
        for (case, change, says) in cases {
            let mut body = claims(&c.id);
            for (name, value) in change.as_object().unwrap() {
                if value.is_null() {
                    body.as_object_mut().unwrap().remove(name);
                } else {
                    body[name] = value.clone();
                }
            }
            let res = token_with_assertion(&app, &key.sign(&body), "").await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{case}: {}", res.body);
            assert_refused(&res, StatusCode::UNAUTHORIZED, "invalid_client", says);
        }

        // alg none, and HMAC keyed with the public key's JSON.
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims(&c.id).to_string());
        let res = token_with_assertion(&app, &format!("{header}.{payload}."), "").await;
        assert_refused(&res, StatusCode::UNAUTHORIZED, "invalid_client", "alg");
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some("k1".into());
        let forged = jsonwebtoken::encode(
            &hs,
            &claims(&c.id),
            &EncodingKey::from_secret(key.public.to_string().as_bytes()),
        )
        .unwrap();
        let res = token_with_assertion(&app, &forged, "").await;
        assert_refused(&res, StatusCode::UNAUTHORIZED, "invalid_client", "alg");

        // A kid nobody registered, and another key under the registered kid.
        let stranger = ClientKey::new("k2");
        let res = token_with_assertion(&app, &stranger.sign(&claims(&c.id)), "").await;
        assert_refused(
            &res,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "no key registered",
        );
        let impostor = ClientKey::new("k1");
        let res = token_with_assertion(&app, &impostor.sign(&claims(&c.id)), "").await;
        assert_refused(
            &res,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "signature",
        );

        // An assertion for another client, sent with this client's id.
        let other = client(&app, "globex").await;
        let extra = format!("&client_id={}", c.id);
        let res = token_with_assertion(&app, &key.sign(&claims(&other.id)), &extra).await;
        assert_refused(&res, StatusCode::UNAUTHORIZED, "invalid_client", "differs");

        // Request shape errors.
        let mut request = post_form(
            "/oauth2/token",
            &format!(
                "grant_type=client_credentials&client_secret=x&client_id={}&client_assertion_type={}&client_assertion={}",
                c.id,
                encode(ASSERTION_TYPE),
                key.sign(&claims(&c.id))
            ),
        );
        request.headers_mut().remove("authorization");
        let res = app.sandbox(request).await;
        assert_refused(
            &res,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "one client authentication method",
        );
        let res = app
            .sandbox(post_form(
                "/oauth2/token",
                &format!(
                    "grant_type=client_credentials&client_assertion_type=saml&client_assertion={}",
                    key.sign(&claims(&c.id))
                ),
            ))
            .await;
        assert_refused(
            &res,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_assertion_type",
        );
        let res = token_with_assertion(&app, "not-a-jwt", "").await;
        assert_refused(
            &res,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "well-formed",
        );
    }
}

/// Two token servers on one PostgreSQL database (two replicas): an assertion used at one is
/// refused at the other.
#[tokio::test]
async fn an_assertion_used_at_one_replica_is_refused_at_another() {
    let app = TestApp::postgres().await;
    let c = client(&app, "acme").await;
    let key = ClientKey::new("k1");
    register(&app, &c, &key).await;
    let other_replica = testing::token_service(&app.database.db).await;
    let assertion = key.sign(&claims(&c.id));
    let audiences = [TOKEN_ENDPOINT.to_owned()];
    app.tokens
        .authenticate_assertion(None, &assertion, &audiences)
        .await
        .unwrap();
    let err = other_replica
        .authenticate_assertion(None, &assertion, &audiences)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
}

async fn add(
    app: &TestApp,
    c: &Client,
    text: &str,
) -> portico_core::CoreResult<Vec<client_keys::ClientKeyInfo>> {
    client_keys::add_keys(&app.database.db, &c.owner, &c.app_id, text).await
}

#[tokio::test]
async fn key_registration_refuses_what_cannot_be_used() {
    let app = TestApp::sqlite().await;
    let db = &app.database.db;
    let c = client(&app, "acme").await;
    let key = ClientKey::new("k1");
    let mut private = key.public.clone();
    private["d"] = json!("c2VjcmV0");
    for (text, says) in [
        (private.to_string(), "private key material"),
        (
            json!({"kty": "oct", "k": "c2VjcmV0"}).to_string(),
            "Symmetric",
        ),
        ("not a key".to_owned(), "not a JSON Web Key"),
        (String::new(), "Paste a public key"),
    ] {
        let err = add(&app, &c, &text).await.unwrap_err();
        assert!(err.to_string().contains(says), "{err} lacks {says}");
    }
    // Refusing secrets needs a key first.
    let err = client_keys::set_method(db, &c.owner, &c.app_id, ClientAuthMethod::PrivateKeyJwtOnly)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Register a public key"), "{err}");

    add(&app, &c, &json!({"keys": [key.public]}).to_string())
        .await
        .unwrap();
    let err = add(&app, &c, &key.public.to_string()).await.unwrap_err();
    assert!(err.to_string().contains("already registered"), "{err}");
    for i in 2..=5 {
        add(
            &app,
            &c,
            &ClientKey::new(&format!("k{i}")).public.to_string(),
        )
        .await
        .unwrap();
    }
    let err = add(&app, &c, &ClientKey::new("k6").public.to_string())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at most 5 keys"), "{err}");
    for uri in [
        "ftp://keys.example/jwks",
        "https://user:pw@keys.example/jwks",
        "https:///jwks",
    ] {
        assert!(
            client_keys::set_jwks_uri(db, &c.owner, &c.app_id, Some(uri))
                .await
                .is_err(),
            "{uri}"
        );
    }
    client_keys::set_jwks_uri(db, &c.owner, &c.app_id, Some("https://keys.example/jwks"))
        .await
        .unwrap();

    // Someone of another organisation sees nothing of it.
    let stranger = client(&app, "globex").await;
    let err = client_keys::view(db, &stranger.owner, &c.app_id)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not found") || err.to_string().contains("No such"),
        "{err}"
    );
}

/// The application page: a partner registers a key, refuses secrets, and the token endpoint
/// follows; every form needs the session's CSRF token.
#[tokio::test]
async fn the_application_page_manages_keys_and_the_method() {
    let app = TestApp::sqlite().await;
    let mut browser = Browser::partner_with_org(&app, "dev@acme.test", "Acme Ltd").await;
    let res = browser.post("/apps", &[("name", "Shop")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page_path = res.header("location").to_owned();
    let app_id = page_path.trim_start_matches("/apps/").to_owned();
    let client_id: String = sqlx::query_scalar("SELECT client_id FROM applications WHERE id = $1")
        .bind(&app_id)
        .fetch_one(app.database.db.pool())
        .await
        .unwrap();

    let page = browser.get(&page_path).await;
    assert!(page.body.contains("Client authentication"), "{}", page.body);
    assert!(
        page.body
            .contains("Register a public key to use private_key_jwt")
    );
    assert!(page.body.contains("Add secondary secret"));

    // A private key is refused with the reason, and nothing is registered.
    let key = ClientKey::new("portal-key");
    let mut private = key.public.clone();
    private["d"] = json!("c2VjcmV0");
    let keys_path = format!("{page_path}/client-keys");
    let page = browser
        .submit(&keys_path, &[("public_key", &private.to_string())])
        .await;
    assert!(page.body.contains("private key material"), "{}", page.body);
    assert!(page.body.contains("No public keys registered."));

    // Without the CSRF token nothing happens.
    let forged = browser
        .post_raw(&keys_path, &[("public_key", &key.public.to_string())])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);

    let page = browser
        .submit(&keys_path, &[("public_key", &key.public.to_string())])
        .await;
    assert!(page.body.contains("Registered EC P-256"), "{}", page.body);
    let thumbprint = portico_core::tokens::jwk::PublicJwk::from_json(&key.public)
        .unwrap()
        .thumbprint()
        .to_owned();
    assert!(page.body.contains(&thumbprint));
    assert!(
        page.body
            .contains("Client secret (HTTP Basic or in the form body) or private_key_jwt.")
    );

    // Refusing secrets needs the confirmation box.
    let auth_path = format!("{page_path}/client-auth");
    let page = browser
        .submit(&auth_path, &[("method", "private_key_jwt")])
        .await;
    assert!(page.body.contains("Tick the box"), "{}", page.body);
    let page = browser
        .submit(
            &auth_path,
            &[("method", "private_key_jwt"), ("confirm", "yes")],
        )
        .await;
    assert!(
        page.body.contains("1 client secret(s) revoked"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("private_key_jwt only: client secrets are refused")
    );
    assert!(!page.body.contains("Add secondary secret"));
    let res = token_with_assertion(&app, &key.sign(&claims(&client_id)), "").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);

    // And back: secrets may be added again.
    let page = browser
        .submit(&auth_path, &[("method", "secret_or_key")])
        .await;
    assert!(
        page.body.contains("Client secrets are allowed again"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Add secondary secret"));
}

/// A JWK set served on loopback, as a client's `jwks_uri` would be.
async fn serve_jwks(keys: Vec<Value>) -> String {
    let document = json!({ "keys": keys });
    let router = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let document = document.clone();
            async move { axum::Json(document) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

/// Keys published at the client's JWKS URL work without being registered one by one, and a
/// key-only application may rely on its JWKS URL alone.
#[tokio::test]
async fn keys_published_at_the_jwks_uri_are_fetched() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let db = &app.database.db;
        let c = client(&app, "acme").await;
        let published = ClientKey::new("published-1");
        let url = serve_jwks(vec![published.public.clone()]).await;
        client_keys::set_jwks_uri(db, &c.owner, &c.app_id, Some(&url))
            .await
            .unwrap();
        client_keys::set_method(db, &c.owner, &c.app_id, ClientAuthMethod::PrivateKeyJwtOnly)
            .await
            .unwrap();
        let res = token_with_assertion(&app, &published.sign(&claims(&c.id)), "").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        // A kid the set does not have is still refused (after one refresh).
        let stranger = ClientKey::new("published-2");
        let res = token_with_assertion(&app, &stranger.sign(&claims(&c.id)), "").await;
        assert_refused(&res, StatusCode::UNAUTHORIZED, "invalid_client", "no key");
        // The JWKS URL cannot be removed while it is the only source of keys.
        let err = client_keys::set_jwks_uri(db, &c.owner, &c.app_id, None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("only source of keys"), "{err}");
    }
}

/// The application page's bound-token settings: DPoP required (then a token request without
/// a proof is refused) and mutual TLS registration, each through its form.
#[tokio::test]
async fn the_application_page_sets_dpop_and_mutual_tls() {
    let app = TestApp::sqlite().await;
    let mut browser = Browser::partner_with_org(&app, "ops@acme.test", "Acme Ltd").await;
    let res = browser.post("/apps", &[("name", "Bound")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page_path = res.header("location").to_owned();
    let app_id = page_path.trim_start_matches("/apps/").to_owned();

    let page = browser.get(&page_path).await;
    assert!(
        page.body
            .contains("optional: a token request with a DPoP proof"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Require DPoP"));

    let page = browser
        .submit(&format!("{page_path}/dpop"), &[("dpop", "required")])
        .await;
    assert!(page.body.contains("DPoP is required"), "{}", page.body);
    assert!(page.body.contains("required: only DPoP-bound tokens"));
    let stored: Option<i64> =
        sqlx::query_scalar("SELECT dpop_required_at FROM applications WHERE id = $1")
            .bind(&app_id)
            .fetch_one(app.database.db.pool())
            .await
            .unwrap();
    assert!(stored.is_some());
    let page = browser
        .submit(&format!("{page_path}/dpop"), &[("dpop", "sometimes")])
        .await;
    assert!(
        page.body.contains("Choose whether DPoP is required"),
        "{}",
        page.body
    );

    // Mutual TLS: a bad subject is refused with its reason, a good one is shown.
    let mtls_path = format!("{page_path}/mtls");
    let page = browser
        .submit(
            &mtls_path,
            &[
                ("method", "tls_client_auth"),
                ("subject_kind", "dns"),
                ("subject_value", ""),
            ],
        )
        .await;
    assert!(
        page.body.contains("notice error") || page.body.contains("role=\"alert\""),
        "{}",
        page.body
    );
    let page = browser
        .submit(
            &mtls_path,
            &[
                ("method", "tls_client_auth"),
                ("subject_kind", "dns"),
                ("subject_value", "orders.acme.example"),
                ("bound_tokens", "yes"),
            ],
        )
        .await;
    assert!(
        page.body.contains("Certificate settings saved."),
        "{}",
        page.body
    );
    assert!(page.body.contains(
        "tls_client_auth: a certificate from the trusted CA carrying DNS orders.acme.example"
    ));
    let settings = portico_core::tokens::mtls::load(&app.database.db, &app_id)
        .await
        .unwrap()
        .unwrap();
    assert!(settings.bound_tokens);
    let page = browser.submit(&mtls_path, &[("method", "off")]).await;
    assert!(
        page.body.contains("Certificate authentication is off"),
        "{}",
        page.body
    );
}
