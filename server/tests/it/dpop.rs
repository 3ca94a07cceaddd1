//! DPoP (RFC 9449) end to end through the real fronts: bound tokens from the token endpoint,
//! proofs demanded by the gateway, and every attack the proof is there to stop.

use crate::common::{TestApp, TestResponse, post_form};
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
use serde_json::{Value, json};

/// The sandbox's public URL in [`TestApp`] (not live): proofs name it.
const BASE: &str = "http://sandbox.test";
const ORDERS: &str = "/v2/commercial/orders";

struct Client {
    app_id: String,
    id: String,
    secret: String,
}

async fn client(app: &TestApp, partner: &str) -> Client {
    let (application, creds) = create_app(
        &app.database.db,
        partner,
        partner,
        "App",
        &Scopes::parse("commercial:read commercial:write").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    Client {
        app_id: application.id,
        id: creds.client_id,
        secret: creds.client_secret.expose().to_owned(),
    }
}

pub struct ProofKey {
    encoding: EncodingKey,
    public: Value,
}

impl ProofKey {
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        Self {
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            public: json!({
                "kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }),
        }
    }

    fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.public.clone()).unwrap());
        header
    }

    /// A proof for `method url`, naming `token` and `nonce` when given.
    fn proof(&self, method: &str, url: &str, token: Option<&str>, nonce: Option<&str>) -> String {
        self.proof_with(method, url, token, nonce, |_| {})
    }

    fn proof_with(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        nonce: Option<&str>,
        edit: impl FnOnce(&mut Value),
    ) -> String {
        let mut claims = json!({
            "jti": portico_core::ids::new_id("jti"),
            "htm": method,
            "htu": url,
            "iat": portico_core::clock::now(),
        });
        if let Some(token) = token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(sha256(token)));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        edit(&mut claims);
        jsonwebtoken::encode(&self.header(), &claims, &self.encoding).unwrap()
    }
}

fn sha256(text: &str) -> aws_lc_rs::digest::Digest {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
}

fn token_request(c: &Client, proof: Option<&str>) -> Request<Body> {
    let mut request = post_form("/oauth2/token", "grant_type=client_credentials");
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", c.id, c.secret))
    );
    request
        .headers_mut()
        .insert("authorization", basic.parse().unwrap());
    if let Some(proof) = proof {
        request.headers_mut().insert("dpop", proof.parse().unwrap());
    }
    request
}

/// The nonce dance of RFC 9449 §8: the first proof is answered with `use_dpop_nonce` and a
/// nonce, the second carries it. Returns the bound token and the nonce.
async fn bound_token(app: &TestApp, c: &Client, key: &ProofKey) -> (String, String) {
    let url = format!("{BASE}/oauth2/token");
    let first = app
        .sandbox(token_request(c, Some(&key.proof("POST", &url, None, None))))
        .await;
    assert_eq!(first.status, StatusCode::BAD_REQUEST, "{}", first.body);
    assert_eq!(first.json()["error"], "use_dpop_nonce");
    let nonce = first.header("dpop-nonce").to_owned();
    let res = app
        .sandbox(token_request(
            c,
            Some(&key.proof("POST", &url, None, Some(&nonce))),
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["token_type"], "DPoP");
    (
        res.json()["access_token"].as_str().unwrap().to_owned(),
        nonce,
    )
}

fn api_call(method: &str, path: &str, authorization: &str, proofs: &[&str]) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", authorization);
    for proof in proofs {
        builder = builder.header("dpop", *proof);
    }
    let body = if method == "POST" {
        builder = builder.header("content-type", "application/json");
        Body::from(r#"{"items":[{"product_id":"prd_0001","quantity":1}]}"#)
    } else {
        Body::empty()
    };
    builder.body(body).unwrap()
}

async fn get_orders(app: &TestApp, authorization: &str, proofs: &[&str]) -> TestResponse {
    app.sandbox(api_call("GET", ORDERS, authorization, proofs))
        .await
}

/// A 401 with the Smithy body and a DPoP challenge naming `code`.
fn assert_dpop_refusal(res: &TestResponse, code: &str, says: &str) {
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    let body = res.json();
    assert_eq!(body["__type"], "UnauthorizedException", "{}", res.body);
    assert!(body["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    let message = body["message"].as_str().unwrap();
    assert!(
        message.to_lowercase().contains(&says.to_lowercase()),
        "{message:?} should say {says:?}"
    );
    let challenge = res.header("www-authenticate");
    assert!(
        challenge.starts_with(&format!(r#"DPoP error="{code}""#)),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"algs="ES256 RS256 PS256 EdDSA""#),
        "{challenge}"
    );
}

/// An owner of a new organisation, with an application of that organisation.
async fn owner_with_client(app: &TestApp) -> (ActorContext, Client) {
    let db = &app.database.db;
    let mut conn = db.pool().acquire().await.unwrap();
    let user = users::create(&mut conn, "owner@bound.test", Role::Partner)
        .await
        .unwrap();
    drop(conn);
    let owner = ActorContext::new(&user, "192.0.2.1");
    let org = portico_core::orgs::organisations::create_organisation(
        db,
        &owner,
        "Bound Ltd",
        "owner@bound.test",
        true,
    )
    .await
    .unwrap();
    (owner, client(app, &org.slug).await)
}

#[tokio::test]
async fn a_bound_token_works_only_with_a_fresh_proof_by_its_key_for_the_request() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let c = client(&app, "acme").await;
        let key = ProofKey::new();
        let (token, _) = bound_token(&app, &c, &key).await;
        let dpop = format!("DPoP {token}");
        let url = format!("{BASE}{ORDERS}");

        // The token is bound to the key's thumbprint.
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        let jkt = portico_core::tokens::jwk::PublicJwk::from_json(&key.public)
            .unwrap()
            .thumbprint()
            .to_owned();
        assert_eq!(claims["cnf"]["jkt"], jkt);

        // The real thing passes (a nonce is not needed at the gateway for this application).
        let good = key.proof("GET", &url, Some(&token), None);
        let res = get_orders(&app, &dpop, &[&good]).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);

        // Replayed proof.
        let res = get_orders(&app, &dpop, &[&good]).await;
        assert_dpop_refusal(&res, "invalid_dpop_proof", "already used");

        // Proof for another URL, another method, another host.
        let other = key.proof(
            "GET",
            &format!("{BASE}/v2/commercial/products"),
            Some(&token),
            None,
        );
        assert_dpop_refusal(
            &get_orders(&app, &dpop, &[&other]).await,
            "invalid_dpop_proof",
            "htu",
        );
        let post = key.proof("POST", &url, Some(&token), None);
        assert_dpop_refusal(
            &get_orders(&app, &dpop, &[&post]).await,
            "invalid_dpop_proof",
            "htm",
        );
        let host = key.proof(
            "GET",
            &format!("http://evil.test{ORDERS}"),
            Some(&token),
            None,
        );
        assert_dpop_refusal(
            &get_orders(&app, &dpop, &[&host]).await,
            "invalid_dpop_proof",
            "htu",
        );

        // The token without its proof, and as a plain bearer token (with or without a proof).
        assert_dpop_refusal(
            &get_orders(&app, &dpop, &[]).await,
            "invalid_dpop_proof",
            "No DPoP proof",
        );
        let fresh = key.proof("GET", &url, Some(&token), None);
        let as_bearer = get_orders(&app, &format!("Bearer {token}"), &[&fresh]).await;
        assert_dpop_refusal(&as_bearer, "invalid_token", "DPoP-bound");
        assert_dpop_refusal(
            &get_orders(&app, &format!("Bearer {token}"), &[]).await,
            "invalid_token",
            "DPoP-bound",
        );

        // A valid proof by another key (a thief with their own key pair).
        let thief = ProofKey::new();
        let stolen = thief.proof("GET", &url, Some(&token), None);
        assert_dpop_refusal(
            &get_orders(&app, &dpop, &[&stolen]).await,
            "invalid_dpop_proof",
            "another key",
        );

        // A proof naming another token, an expired one, two proofs at once.
        let wrong_ath = key.proof("GET", &url, Some("another.access.token"), None);
        assert_dpop_refusal(
            &get_orders(&app, &dpop, &[&wrong_ath]).await,
            "invalid_dpop_proof",
            "ath",
        );
        let old = key.proof_with("GET", &url, Some(&token), None, |c| {
            c["iat"] = json!(portico_core::clock::now() - 300);
        });
        assert_dpop_refusal(
            &get_orders(&app, &dpop, &[&old]).await,
            "invalid_dpop_proof",
            "iat",
        );
        let (a, b) = (
            key.proof("GET", &url, Some(&token), None),
            key.proof("GET", &url, Some(&token), None),
        );
        assert_dpop_refusal(
            &get_orders(&app, &dpop, &[&a, &b]).await,
            "invalid_dpop_proof",
            "more than one",
        );

        // alg none and HS256 (keyed with the public key), unsigned or "signed": refused.
        for alg in ["none", "HS256"] {
            let header = json!({ "typ": "dpop+jwt", "alg": alg, "jwk": key.public });
            let claims = json!({
                "jti": alg, "htm": "GET", "htu": url, "iat": portico_core::clock::now(),
                "ath": URL_SAFE_NO_PAD.encode(sha256(&token)),
            });
            let unsigned = format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            assert_dpop_refusal(
                &get_orders(&app, &dpop, &[&unsigned]).await,
                "invalid_dpop_proof",
                "alg",
            );
        }
        let mut hs = Header::new(Algorithm::HS256);
        hs.typ = Some("dpop+jwt".into());
        let hs256 = jsonwebtoken::encode(
            &hs,
            &json!({ "jti": "hs", "htm": "GET", "htu": url, "iat": portico_core::clock::now() }),
            &EncodingKey::from_secret(key.public.to_string().as_bytes()),
        )
        .unwrap();
        assert_dpop_refusal(
            &get_orders(&app, &dpop, &[&hs256]).await,
            "invalid_dpop_proof",
            "alg",
        );

        // Scheme and host case, the default port and the query do not matter.
        let spelled = key.proof(
            "GET",
            &format!("HTTP://SANDBOX.test:80{ORDERS}?x=1"),
            Some(&token),
            None,
        );
        let res = get_orders(&app, &dpop, &[&spelled]).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        // A POST with its own proof gets past the DPoP step to validation (step 8).
        let create = key.proof("POST", &url, Some(&token), None);
        let res = app
            .sandbox(api_call("POST", ORDERS, &dpop, &[&create]))
            .await;
        assert_eq!(res.json()["__type"], "ValidationException", "{}", res.body);

        // An unbound token sent under the DPoP scheme is refused; as Bearer it works as before.
        let plain = app.sandbox(token_request(&c, None)).await;
        assert_eq!(plain.json()["token_type"], "Bearer");
        let bearer = plain.json()["access_token"].as_str().unwrap().to_owned();
        let proof = key.proof("GET", &url, Some(&bearer), None);
        assert_dpop_refusal(
            &get_orders(&app, &format!("DPoP {bearer}"), &[&proof]).await,
            "invalid_token",
            "not DPoP-bound",
        );
        let res = get_orders(&app, &format!("Bearer {bearer}"), &[]).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);

        // Introspection describes the binding.
        let mut request = post_form("/oauth2/introspect", &format!("token={token}"));
        request.headers_mut().insert(
            "authorization",
            format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{}", c.id, c.secret))
            )
            .parse()
            .unwrap(),
        );
        let described = app.sandbox(request).await.json();
        assert_eq!(described["active"], true);
        assert_eq!(described["token_type"], "DPoP");
        assert_eq!(described["cnf"]["jkt"], jkt);
    }
}

#[tokio::test]
async fn the_token_endpoint_refuses_bad_proofs_and_advertises_dpop() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let c = client(&app, "acme").await;
        let key = ProofKey::new();
        let url = format!("{BASE}/oauth2/token");
        let nonce = app.tokens.dpop().current_nonce();

        let cases = [
            key.proof("GET", &url, None, Some(&nonce)),
            key.proof("POST", &format!("{BASE}/oauth2/revoke"), None, Some(&nonce)),
            key.proof_with("POST", &url, None, Some(&nonce), |c| {
                c["iat"] = json!(portico_core::clock::now() - 3600);
            }),
            "garbage".to_owned(),
        ];
        for proof in cases {
            let res = app.sandbox(token_request(&c, Some(&proof))).await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
            assert_eq!(res.json()["error"], "invalid_dpop_proof", "{}", res.body);
            assert_eq!(res.header("cache-control"), "no-store");
        }
        // A stale or made-up nonce: use_dpop_nonce with a fresh one.
        let res = app
            .sandbox(token_request(
                &c,
                Some(&key.proof("POST", &url, None, Some("stale"))),
            ))
            .await;
        assert_eq!(res.json()["error"], "use_dpop_nonce");
        assert_eq!(res.header("dpop-nonce"), nonce);
        // A token-endpoint proof is single-use too.
        let once = key.proof("POST", &url, None, Some(&nonce));
        assert_eq!(
            app.sandbox(token_request(&c, Some(&once))).await.status,
            StatusCode::OK
        );
        let again = app.sandbox(token_request(&c, Some(&once))).await;
        assert_eq!(again.json()["error"], "invalid_dpop_proof");

        let metadata = app
            .get_sandbox("/.well-known/oauth-authorization-server")
            .await
            .json();
        assert_eq!(
            metadata["dpop_signing_alg_values_supported"],
            json!(["ES256", "RS256", "PS256", "EdDSA"])
        );
    }
}

#[tokio::test]
async fn an_application_that_requires_dpop_gets_only_bound_tokens_and_must_use_nonces() {
    for mut app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let (owner, c) = owner_with_client(&app).await;
        let key = ProofKey::new();
        // A bearer token from before the switch.
        let before = app.sandbox(token_request(&c, None)).await.json();
        let old_bearer = before["access_token"].as_str().unwrap().to_owned();

        portico_core::apps::dpop::set_dpop_required(&app.database.db, &owner, &c.app_id, true)
            .await
            .unwrap();

        // No proof: refused at the token endpoint.
        let res = app.sandbox(token_request(&c, None)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
        assert_eq!(res.json()["error"], "invalid_dpop_proof");
        assert!(
            res.json()["error_description"]
                .as_str()
                .unwrap()
                .contains("requires DPoP")
        );

        // The bearer token issued before is refused at once.
        let res = get_orders(&app, &format!("Bearer {old_bearer}"), &[]).await;
        assert_dpop_refusal(&res, "invalid_token", "requires DPoP");

        // A bound token: the gateway now wants a nonce in every proof.
        let (token, nonce) = bound_token(&app, &c, &key).await;
        let dpop = format!("DPoP {token}");
        let url = format!("{BASE}{ORDERS}");
        let res = get_orders(&app, &dpop, &[&key.proof("GET", &url, Some(&token), None)]).await;
        assert_dpop_refusal(&res, "use_dpop_nonce", "nonce");
        assert_eq!(res.header("dpop-nonce"), nonce);
        let res = get_orders(
            &app,
            &dpop,
            &[&key.proof("GET", &url, Some(&token), Some(&nonce))],
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);

        // The request log says what failed.
        app.flush_audit().await;
        let reasons: Vec<String> = sqlx::query_scalar(
            "SELECT COALESCE(reason, '') FROM request_log WHERE decision = 'deny' ORDER BY occurred_at",
        )
        .fetch_all(app.database.db.pool())
        .await
        .unwrap();
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("dpop: ") && r.contains("nonce")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("dpop: ") && r.contains("requires DPoP")),
            "{reasons:?}"
        );
    }
}
