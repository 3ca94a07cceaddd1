//! Identity federation end to end: a partner's identity provider (a loopback server publishing
//! a JWK set, tokens signed with a key made here) registered by the organisation's owner and
//! approved by an admin; its JWTs exchanged at the token endpoint (RFC 7523) and accepted
//! directly by the gateway once the organisation turns that on; every refusal with the usual
//! body; the JWK set's outage within and past the stale bound.

use crate::common::{TestApp, TestResponse, on_both_engines, post_form};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use portico_core::identity::ActorContext;
use portico_core::identity::users::{self, Role};
use portico_core::orgs::federation::{self, IdpDraft, IdpStatus};
use portico_core::tokens::remote_jwks::{RemoteJwks, RemoteJwksSettings};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ISSUER: &str = "https://idp.acme.test";
const WORKLOAD: &str = "spiffe://acme.test/orders-sync";

/// A signing key of the test IdP.
pub(crate) struct IdpKey {
    pub kid: String,
    encoding: EncodingKey,
    pub public: Value,
}

impl IdpKey {
    pub fn new(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            public: json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }),
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// The identity provider's JWKS endpoint on loopback: its set can be changed or taken down.
struct JwksServer {
    url: String,
    document: Arc<Mutex<Option<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(keys: &[&IdpKey]) -> Self {
        let document = Arc::new(Mutex::new(Some(
            json!({ "keys": keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>() }),
        )));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (document.clone(), fetches.clone());
        let router = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let (served, counted) = (served.clone(), counted.clone());
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    match served.lock().unwrap().clone() {
                        Some(set) => (StatusCode::OK, axum::Json(set)).into_response(),
                        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            url,
            document,
            fetches,
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

use axum::response::IntoResponse as _;

/// An organisation (approved, one application) with an owner and a platform admin.
pub(crate) struct Org {
    pub owner: ActorContext,
    pub admin: ActorContext,
    pub app_id: String,
    pub client_id: String,
    pub client_secret: String,
}

pub(crate) async fn org(app: &TestApp, slug: &str) -> Org {
    let db = &app.shared.db;
    let (application, creds) = create_app(
        db,
        slug,
        slug,
        "Orders sync",
        &Scopes::parse("commercial:read commercial:write").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    let mut conn = db.pool().acquire().await.unwrap();
    let owner = users::create(&mut conn, &format!("owner@{slug}.test"), Role::Partner)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE users SET partner_id = (SELECT partner_id FROM applications WHERE id = $1), partner_role = 'owner' WHERE id = $2",
    )
    .bind(&application.id)
    .bind(&owner.id)
    .execute(&mut *conn)
    .await
    .unwrap();
    let admin = users::create(
        &mut conn,
        &format!("admin@{slug}.portico.test"),
        Role::Admin,
    )
    .await
    .unwrap();
    Org {
        owner: ActorContext::new(&owner, "127.0.0.1"),
        admin: ActorContext::new(&admin, "127.0.0.1"),
        app_id: application.id,
        client_id: creds.client_id,
        client_secret: creds.client_secret.expose().to_owned(),
    }
}

/// Registers the IdP (issuer, JWKS URL; default audience and claim) and maps `workload`.
pub(crate) async fn register(
    app: &TestApp,
    org: &Org,
    issuer: &str,
    jwks_url: &str,
    workload_claim: &str,
    workload: &str,
) -> federation::IdentityProvider {
    let db = &app.shared.db;
    let draft = IdpDraft {
        issuer: issuer.into(),
        jwks_url: jwks_url.into(),
        audience: String::new(),
        workload_claim: workload_claim.into(),
    };
    let idp = federation::register_identity_provider(
        db,
        &org.owner,
        &draft,
        &app.tokens.settings().issuer,
    )
    .await
    .unwrap();
    assert_eq!(idp.status, IdpStatus::Pending);
    assert_eq!(idp.audience, app.tokens.settings().issuer);
    federation::map_workload(db, &org.owner, workload, &org.app_id)
        .await
        .unwrap()
}

async fn approve(app: &TestApp, org: &Org, idp_id: &str) {
    let idp = federation::decide_identity_provider(&app.shared.db, &org.admin, idp_id, true, "")
        .await
        .unwrap();
    assert_eq!(idp.status, IdpStatus::Approved);
}

fn claims(app: &TestApp, lifetime: i64) -> Value {
    let now = portico_core::clock::now();
    json!({
        "iss": ISSUER,
        "sub": WORKLOAD,
        "aud": app.tokens.settings().issuer,
        "iat": now,
        "exp": now + lifetime,
        "jti": portico_core::ids::new_id("test"),
    })
}

pub(crate) async fn exchange(app: &TestApp, assertion: &str, extra: &str) -> TestResponse {
    let body = format!(
        "grant_type={}&assertion={}{extra}",
        urlencode(GRANT),
        urlencode(assertion)
    );
    app.sandbox(post_form("/oauth2/token", &body)).await
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

pub(crate) async fn call(app: &TestApp, token: &str) -> TestResponse {
    app.sandbox(
        Request::get("/v2/commercial/orders")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn assert_invalid_grant(res: &TestResponse, mentions: &str) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert_eq!(res.json()["error"], "invalid_grant", "{}", res.body);
    let description = res.json()["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(description.contains(mentions), "{description}");
    assert_eq!(res.header("cache-control"), "no-store");
}

fn assert_unauthorized(res: &TestResponse, mentions: &str) {
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    let body = res.json();
    assert_eq!(body["__type"], "UnauthorizedException", "{}", res.body);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains(mentions),
        "{}",
        res.body
    );
    assert!(body["requestId"].is_string());
    assert!(res.header("www-authenticate").contains("invalid_token"));
}

async fn exchange_then_direct_acceptance(app: TestApp) {
    let key = IdpKey::new("k1");
    let jwks = JwksServer::start(&[&key]).await;
    let acme = org(&app, "acme").await;
    let idp = register(&app, &acme, ISSUER, &jwks.url, "", WORKLOAD).await;
    let assertion = key.sign(&claims(&app, 300));

    // Pending: not trusted yet, at the token endpoint or the gateway.
    assert_invalid_grant(
        &exchange(&app, &assertion, "").await,
        "not an approved identity provider",
    );
    approve(&app, &acme, &idp.id).await;

    // The exchange: no Portico secret needed; a normal token of the mapped application.
    let res = exchange(&app, &assertion, "").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.header("cache-control"), "no-store");
    let body = res.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "commercial:read commercial:write");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let verified = app.tokens.verify(&token).unwrap();
    assert_eq!(verified.claims.client_id, acme.client_id);
    assert_eq!(verified.claims.partner_id, "acme");
    assert_eq!(call(&app, &token).await.status, StatusCode::OK);

    // `scope` is honoured and bounded by the application's approved scopes.
    let res = exchange(&app, &assertion, "&scope=commercial%3Aread").await;
    assert_eq!(res.json()["scope"], "commercial:read", "{}", res.body);
    let res = exchange(&app, &assertion, "&scope=users%3Aadmin").await;
    assert_eq!(res.json()["error"], "invalid_scope", "{}", res.body);

    // With client authentication, the assertion must map to that very client.
    let other = org(&app, "globex").await;
    let mut request = post_form(
        "/oauth2/token",
        &format!(
            "grant_type={}&assertion={}",
            urlencode(GRANT),
            urlencode(&assertion)
        ),
    );
    let basic = |id: &str, secret: &str| {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
            .parse()
            .unwrap()
    };
    request.headers_mut().insert(
        "authorization",
        basic(&other.client_id, &other.client_secret),
    );
    assert_invalid_grant(&app.sandbox(request).await, "another application");
    let mut request = post_form(
        "/oauth2/token",
        &format!(
            "grant_type={}&assertion={}",
            urlencode(GRANT),
            urlencode(&assertion)
        ),
    );
    request
        .headers_mut()
        .insert("authorization", basic(&acme.client_id, &acme.client_secret));
    assert_eq!(app.sandbox(request).await.status, StatusCode::OK);
    // A wrong secret is still invalid_client, never ignored.
    let mut request = post_form(
        "/oauth2/token",
        &format!(
            "grant_type={}&assertion={}",
            urlencode(GRANT),
            urlencode(&assertion)
        ),
    );
    request
        .headers_mut()
        .insert("authorization", basic(&acme.client_id, "pcs_wrong"));
    assert_eq!(app.sandbox(request).await.status, StatusCode::UNAUTHORIZED);

    // Direct acceptance is off by default: the IdP's own token is refused at the gateway.
    let direct = key.sign(&claims(&app, 300));
    assert_unauthorized(&call(&app, &direct).await, "");
    federation::set_direct_access(&app.shared.db, &acme.owner, true)
        .await
        .unwrap();
    let res = call(&app, &direct).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // The request log names the mapped application.
    // A `scope` claim narrows the application's scopes: read-only here.
    let mut read_only = claims(&app, 300);
    read_only["scope"] = json!("commercial:read openid");
    let read_only = key.sign(&read_only);
    assert_eq!(call(&app, &read_only).await.status, StatusCode::OK);
    let res = app
        .sandbox(
            Request::post("/v2/commercial/orders")
                .header("authorization", format!("Bearer {read_only}"))
                .header("content-type", "application/json")
                .header("idempotency-key", "fed-1")
                .body(Body::from(r#"{"productId":"p-1","quantity":1}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);

    // Turned off again, or the IdP sent back to pending by a change: refused at once.
    federation::set_direct_access(&app.shared.db, &acme.owner, false)
        .await
        .unwrap();
    assert_unauthorized(&call(&app, &direct).await, "");
    federation::set_direct_access(&app.shared.db, &acme.owner, true)
        .await
        .unwrap();
    assert_eq!(call(&app, &direct).await.status, StatusCode::OK);
    let changed = IdpDraft {
        issuer: ISSUER.into(),
        jwks_url: format!("{}?v=2", jwks.url),
        ..IdpDraft::default()
    };
    let idp = federation::register_identity_provider(
        &app.shared.db,
        &acme.owner,
        &changed,
        &app.tokens.settings().issuer,
    )
    .await
    .unwrap();
    assert_eq!(idp.status, IdpStatus::Pending);
    assert_unauthorized(&call(&app, &direct).await, "");
    assert_invalid_grant(
        &exchange(&app, &assertion, "").await,
        "not an approved identity provider",
    );

    // The grant is advertised.
    let metadata = app
        .get_sandbox("/.well-known/oauth-authorization-server")
        .await
        .json();
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(GRANT))
    );
    // Every change was audited.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE action LIKE 'federation.%' ORDER BY occurred_at",
    )
    .fetch_all(app.shared.db.pool())
    .await
    .unwrap_or_default();
    for expected in [
        "federation.registered",
        "federation.mapping_set",
        "federation.approved",
        "federation.direct_access",
        "federation.changed",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

on_both_engines!(
    exchange_and_direct_acceptance,
    exchange_then_direct_acceptance
);

async fn refusals(app: TestApp) {
    let key = IdpKey::new("k1");
    let stranger = IdpKey::new("k1");
    let jwks = JwksServer::start(&[&key]).await;
    let acme = org(&app, "acme").await;
    let idp = register(&app, &acme, ISSUER, &jwks.url, "", WORKLOAD).await;
    approve(&app, &acme, &idp.id).await;
    federation::set_direct_access(&app.shared.db, &acme.owner, true)
        .await
        .unwrap();
    let good = key.sign(&claims(&app, 300));
    assert_eq!(exchange(&app, &good, "").await.status, StatusCode::OK);
    assert_eq!(call(&app, &good).await.status, StatusCode::OK);

    // An issuer nobody registered.
    let mut other_issuer = claims(&app, 300);
    other_issuer["iss"] = json!("https://idp.unknown.test");
    let token = key.sign(&other_issuer);
    assert_invalid_grant(
        &exchange(&app, &token, "").await,
        "not an approved identity provider",
    );
    // Not Portico's and no registered issuer's: the verifier's own refusal.
    assert_unauthorized(&call(&app, &token).await, "token type is not at+jwt");

    // Another audience.
    let mut other_audience = claims(&app, 300);
    other_audience["aud"] = json!("https://someone-else.test");
    let token = key.sign(&other_audience);
    assert_invalid_grant(&exchange(&app, &token, "").await, "aud");
    assert_unauthorized(&call(&app, &token).await, "another audience");

    // Signed by a key the IdP does not publish (same kid): bad signature.
    let token = stranger.sign(&claims(&app, 300));
    assert_invalid_grant(&exchange(&app, &token, "").await, "signature is invalid");
    assert_unauthorized(&call(&app, &token).await, "signature is invalid");

    // An unknown kid refreshes the set once; more unknown kids within 30 s fetch nothing.
    let before = jwks.fetches();
    let rotated = IdpKey::new("k2");
    let token = rotated.sign(&claims(&app, 300));
    assert_invalid_grant(&exchange(&app, &token, "").await, "kid");
    assert_eq!(jwks.fetches(), before + 1);
    for kid in ["k3", "k4", "k5"] {
        let token = IdpKey::new(kid).sign(&claims(&app, 300));
        assert_invalid_grant(&exchange(&app, &token, "").await, "kid");
        assert_unauthorized(&call(&app, &token).await, "signing key is unknown");
    }
    assert_eq!(
        jwks.fetches(),
        before + 1,
        "a flood of kids is not a flood of fetches"
    );

    // Expired (beyond the leeway), and too long-lived for an assertion.
    let token = key.sign(&claims(&app, -120));
    assert_invalid_grant(&exchange(&app, &token, "").await, "expired");
    assert_unauthorized(&call(&app, &token).await, "expired");
    let token = key.sign(&claims(&app, 7200));
    assert_invalid_grant(&exchange(&app, &token, "").await, "lives too long");
    let mut no_exp = claims(&app, 300);
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_invalid_grant(&exchange(&app, &key.sign(&no_exp), "").await, "exp");

    // A workload nobody mapped.
    let mut unmapped = claims(&app, 300);
    unmapped["sub"] = json!("spiffe://acme.test/unknown");
    let token = key.sign(&unmapped);
    assert_invalid_grant(&exchange(&app, &token, "").await, "not mapped");
    assert_unauthorized(&call(&app, &token).await, "not mapped");

    // alg none and HS256 (keyed with the public key's text): refused before any key.
    let payload = URL_SAFE_NO_PAD.encode(claims(&app, 300).to_string());
    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
    );
    assert_invalid_grant(&exchange(&app, &none, "").await, "algorithm");
    assert_unauthorized(&call(&app, &none).await, "");
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let hs256 = jsonwebtoken::encode(
        &header,
        &claims(&app, 300),
        &EncodingKey::from_secret(key.public.to_string().as_bytes()),
    )
    .unwrap();
    assert_invalid_grant(&exchange(&app, &hs256, "").await, "algorithm");
    assert_unauthorized(&call(&app, &hs256).await, "");

    // Missing assertion; garbage.
    let res = app
        .sandbox(post_form(
            "/oauth2/token",
            &format!("grant_type={}", urlencode(GRANT)),
        ))
        .await;
    assert_eq!(res.json()["error"], "invalid_request", "{}", res.body);
    assert_invalid_grant(&exchange(&app, "not.a.jwt", "").await, "well-formed");

    // A suspended application's assertion is refused (and its direct tokens at the gateway).
    sqlx::query("UPDATE applications SET status = 'suspended' WHERE id = $1")
        .bind(&acme.app_id)
        .execute(app.shared.db.pool())
        .await
        .unwrap();
    app.tokens.reload_federation().await.unwrap();
    app.shared.limits.clear_caches();
    let res = exchange(&app, &good, "").await;
    assert_eq!(res.json()["error"], "unauthorized_client", "{}", res.body);
    assert_eq!(call(&app, &good).await.status, StatusCode::FORBIDDEN);
}

on_both_engines!(refused_tokens, refusals);

/// The IdP's JWKS endpoint goes down: within the stale bound the last good set still
/// verifies; past it, the token endpoint answers `temporarily_unavailable` (503) and the
/// gateway 401 naming the unavailable keys.
async fn jwks_outage(app: TestApp) {
    let short = RemoteJwksSettings {
        ttl: Duration::from_millis(100),
        min_ttl: Duration::from_millis(100),
        max_ttl: Duration::from_millis(100),
        refresh_interval: Duration::ZERO,
        max_stale: Duration::from_millis(1500),
    };
    let fetcher = portico_server::http::jwks_fetch::HttpJwksFetcher::new(
        portico_server::http::public_client::DestinationPolicy {
            allow_http_loopback: true,
        },
    )
    .unwrap();
    app.tokens
        .set_remote_jwks(Arc::new(RemoteJwks::new(Arc::new(fetcher), short)));
    let key = IdpKey::new("k1");
    let jwks = JwksServer::start(&[&key]).await;
    let acme = org(&app, "acme").await;
    let idp = register(&app, &acme, ISSUER, &jwks.url, "", WORKLOAD).await;
    approve(&app, &acme, &idp.id).await;
    federation::set_direct_access(&app.shared.db, &acme.owner, true)
        .await
        .unwrap();
    assert_eq!(
        exchange(&app, &key.sign(&claims(&app, 300)), "")
            .await
            .status,
        StatusCode::OK
    );

    *jwks.document.lock().unwrap() = None;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Stale but within the bound: still verifies (the failed refresh was attempted).
    let before = jwks.fetches();
    let res = exchange(&app, &key.sign(&claims(&app, 300)), "").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(jwks.fetches() > before);
    let res = call(&app, &key.sign(&claims(&app, 300))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let res = exchange(&app, &key.sign(&claims(&app, 300)), "").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert_eq!(res.json()["error"], "temporarily_unavailable");
    assert!(
        res.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("signing keys are unavailable")
    );
    assert_unauthorized(
        &call(&app, &key.sign(&claims(&app, 300))).await,
        "signing keys are unavailable",
    );

    // Back up: verifies again.
    *jwks.document.lock().unwrap() = Some(json!({ "keys": [key.public.clone()] }));
    let res = exchange(&app, &key.sign(&claims(&app, 300)), "").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

on_both_engines!(jwks_outage_within_and_past_the_stale_bound, jwks_outage);

/// Who may manage the IdP and who may approve it.
async fn permissions(app: TestApp) {
    let acme = org(&app, "acme").await;
    let db = &app.shared.db;
    let draft = IdpDraft {
        issuer: ISSUER.into(),
        jwks_url: "https://idp.acme.test/jwks".into(),
        ..IdpDraft::default()
    };
    let portico = app.tokens.settings().issuer.clone();
    // The admin is no member: cannot register for the organisation.
    assert!(
        federation::register_identity_provider(db, &acme.admin, &draft, &portico)
            .await
            .is_err()
    );
    let idp = federation::register_identity_provider(db, &acme.owner, &draft, &portico)
        .await
        .unwrap();
    // Owners cannot approve their own IdP.
    assert!(
        federation::decide_identity_provider(db, &acme.owner, &idp.id, true, "")
            .await
            .is_err()
    );
    // Rejecting needs a note.
    let no_note = federation::decide_identity_provider(db, &acme.admin, &idp.id, false, "")
        .await
        .unwrap_err();
    assert!(no_note.to_string().contains("Say why"));
    // Another organisation cannot claim the same issuer.
    let globex = org(&app, "globex").await;
    let clash = federation::register_identity_provider(db, &globex.owner, &draft, &portico)
        .await
        .unwrap_err();
    assert!(
        clash.to_string().contains("another organisation"),
        "{clash}"
    );
    // Mapping an application of another organisation is refused.
    let foreign = federation::map_workload(db, &acme.owner, "x", &globex.app_id)
        .await
        .unwrap_err();
    assert!(
        foreign
            .to_string()
            .contains("your organisation's applications")
    );
    let pending = federation::list_identity_providers(db, &acme.admin, Some(IdpStatus::Pending))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].partner_slug, "acme");
}

on_both_engines!(who_manages_and_who_approves, permissions);

/// The partner's identity provider is a REAL one: the npm `oidc-provider`, started as
/// `node end2end/support/oidc-workload-idp.mjs`, issuing JWT access tokens by
/// client_credentials with the registered audience as its resource indicator (RFC 8707).
struct RealIdp {
    child: std::process::Child,
    issuer: String,
}

impl Drop for RealIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_real_idp(audience: &str) -> RealIdp {
    use std::io::{BufRead as _, BufReader};
    let end2end = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end");
    assert!(
        end2end
            .join("node_modules/oidc-provider/package.json")
            .exists(),
        "the identity provider for the federation tests is not installed: run `npm ci --prefix end2end` first"
    );
    let mut child = std::process::Command::new("node")
        .arg(end2end.join("support/oidc-workload-idp.mjs"))
        .env("AUDIENCE", audience)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` (needed by the federation tests): {e}"));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("http://") {
                let _ = tx.send(line);
            }
        }
    });
    let issuer = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the identity provider printed its issuer");
    RealIdp {
        child,
        issuer: issuer.trim().to_owned(),
    }
}

/// A workload's access token from the real provider (client_credentials, RFC 8707 resource).
async fn workload_token(http: &reqwest::Client, token_endpoint: &str, audience: &str) -> String {
    let answer: Value = serde_json::from_str(
        &http
            .post(token_endpoint)
            .basic_auth("orders-sync", Some("orders-sync-test-secret"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", audience),
                ("scope", "commercial:read"),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {answer}"))
        .to_owned()
}

async fn real_identity_provider(app: TestApp) {
    let audience = app.tokens.settings().issuer.clone();
    let idp = start_real_idp(&audience);
    let http = crate::common::http_client();
    let discovery: Value = serde_json::from_str(
        &http
            .get(format!("{}/.well-known/openid-configuration", idp.issuer))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(discovery["issuer"], idp.issuer.as_str());
    let token_endpoint = discovery["token_endpoint"].as_str().unwrap().to_owned();

    // Registered with the provider's discovery values; its tokens name the workload in
    // `client_id` (and `sub`).
    let acme = org(&app, "acme").await;
    let registered = register(
        &app,
        &acme,
        &idp.issuer,
        discovery["jwks_uri"].as_str().unwrap(),
        "client_id",
        "orders-sync",
    )
    .await;
    approve(&app, &acme, &registered.id).await;

    let res = exchange(
        &app,
        &workload_token(&http, &token_endpoint, &audience).await,
        "",
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let token = res.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.tokens.verify(&token).unwrap().claims.client_id,
        acme.client_id
    );
    assert_eq!(call(&app, &token).await.status, StatusCode::OK);

    federation::set_direct_access(&app.shared.db, &acme.owner, true)
        .await
        .unwrap();
    let res = call(
        &app,
        &workload_token(&http, &token_endpoint, &audience).await,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

on_both_engines!(
    a_real_identity_providers_token_is_exchanged,
    real_identity_provider
);

fn flash(page: &TestResponse) -> String {
    let at = page
        .body
        .find(r#"data-testid="flash""#)
        .unwrap_or_else(|| panic!("no flash message: {}", page.body));
    let rest = &page.body[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</p>").unwrap();
    rest[start..end].to_owned()
}

/// The portal's forms: an owner registers, maps and turns on direct acceptance on /org (no
/// JavaScript, CSRF required, bad input named), an admin approves on /admin/partners.
async fn portal_forms(app: TestApp) {
    use crate::common::Browser;
    let mut owner = Browser::partner_with_org(&app, "owner@initech.test", "Initech").await;
    let page = owner.get("/org").await;
    assert!(page.body.contains("Identity provider (federation)"));
    assert!(page.body.contains(r#"for="idp-issuer""#), "labelled fields");

    // Without the CSRF token: refused, nothing saved.
    let res = owner
        .post_raw(
            "/org/identity-provider",
            &[
                ("issuer", ISSUER),
                ("jwks_url", "https://idp.initech.test/jwks"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // Bad input is named in the message.
    let page = owner
        .submit(
            "/org/identity-provider",
            &[("issuer", ISSUER), ("jwks_url", "https://10.0.0.1/jwks")],
        )
        .await;
    assert!(flash(&page).contains("JWKS URL"), "{}", flash(&page));
    let page = owner
        .submit(
            "/org/identity-provider",
            &[
                ("issuer", "not a url"),
                ("jwks_url", "https://idp.initech.test/jwks"),
            ],
        )
        .await;
    assert!(flash(&page).contains("Issuer"), "{}", flash(&page));

    let page = owner
        .submit(
            "/org/identity-provider",
            &[
                ("issuer", "https://idp.initech.test"),
                ("jwks_url", "https://idp.initech.test/jwks"),
                ("audience", ""),
                ("workload_claim", "azp"),
            ],
        )
        .await;
    assert!(flash(&page).contains("is saved"), "{}", flash(&page));
    assert!(page.body.contains("Pending an administrator"));
    assert!(page.body.contains("https://idp.initech.test/jwks"));
    let page = owner
        .submit("/org/identity-provider/direct", &[("enabled", "on")])
        .await;
    assert!(flash(&page).contains("directly"), "{}", flash(&page));

    let mut admin = Browser::admin(&app, "root@portico.test").await;
    let partners = admin.get("/admin/partners").await;
    assert!(partners.body.contains("Identity providers (federation)"));
    assert!(partners.body.contains("https://idp.initech.test"));
    let idp_id: String = sqlx::query_scalar("SELECT id FROM federation_idps")
        .fetch_one(app.shared.db.pool())
        .await
        .unwrap();
    let page = admin
        .submit(
            &format!("/admin/identity-providers/{idp_id}/reject"),
            &[("note", "")],
        )
        .await;
    assert!(flash(&page).contains("Say why"), "{}", flash(&page));
    let page = admin
        .submit(
            &format!("/admin/identity-providers/{idp_id}/approve"),
            &[("note", "checked")],
        )
        .await;
    assert!(flash(&page).contains("approved"), "{}", flash(&page));
    let page = owner.get("/org").await;
    assert!(page.body.contains("Approved: trusted"), "{}", page.body);
    // Partners cannot approve.
    let res = owner
        .post(
            &format!("/admin/identity-providers/{idp_id}/approve"),
            &[("note", "")],
        )
        .await;
    assert_ne!(res.status, StatusCode::SEE_OTHER);
}

on_both_engines!(portal_registration_and_approval, portal_forms);
