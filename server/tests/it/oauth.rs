//! The token server over HTTP: RFC 6749 §4.4 happy paths and every §5.2 error, RFC 7009,
//! RFC 7662, the JWKS and RFC 8414 metadata.

use crate::common::{TestApp, TestResponse, get, post_form};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portico_core::apps::demo::create_app;
use portico_core::apps::manage;
use portico_core::authz::scopes::Scopes;
use portico_core::testing;

struct Client {
    app_id: String,
    id: String,
    secret: String,
}

async fn client(app: &TestApp, partner: &str, scopes: &str) -> Client {
    let (application, creds) = create_app(
        &app.database.db,
        partner,
        partner,
        "App",
        &Scopes::parse(scopes).unwrap(),
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

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

async fn token_basic(app: &TestApp, c: &Client, body: &str) -> TestResponse {
    let mut request = post_form("/oauth2/token", body);
    request
        .headers_mut()
        .insert("authorization", basic(&c.id, &c.secret).parse().unwrap());
    app.sandbox(request).await
}

fn assert_oauth_error(res: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(res.status, status, "{}", res.body);
    assert_eq!(res.json()["error"], code, "{}", res.body);
    assert!(
        res.json()["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_no_store(res);
}

fn assert_no_store(res: &TestResponse) {
    assert_eq!(res.header("cache-control"), "no-store");
    assert_eq!(res.header("pragma"), "no-cache");
}

#[tokio::test]
async fn client_credentials_with_basic_and_with_post() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let c = client(&app, "acme", "commercial:read commercial:write").await;

        let res = token_basic(
            &app,
            &c,
            "grant_type=client_credentials&scope=commercial%3Aread",
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_no_store(&res);
        let body = res.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        assert_eq!(body["scope"], "commercial:read");
        let token = body["access_token"].as_str().unwrap();
        app.tokens.verify(token).unwrap();

        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            c.id, c.secret
        );
        let res = app.sandbox(post_form("/oauth2/token", &form)).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(
            res.json()["scope"],
            "commercial:read commercial:write",
            "absent scope = all approved"
        );
    }
}

#[tokio::test]
async fn every_token_error_is_rfc6749_shaped() {
    let app = TestApp::sqlite().await;
    let c = client(&app, "acme", "commercial:read").await;

    // No client authentication at all.
    let res = app
        .sandbox(post_form("/oauth2/token", "grant_type=client_credentials"))
        .await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(res.header("www-authenticate").starts_with("Basic realm="));

    // Wrong secret, unknown client, garbage Basic header.
    let wrong = Client {
        app_id: String::new(),
        id: c.id.clone(),
        secret: "pcs_wrong".into(),
    };
    let res = token_basic(&app, &wrong, "grant_type=client_credentials").await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    let unknown = Client {
        app_id: String::new(),
        id: "pci_nobody".into(),
        secret: c.secret.clone(),
    };
    assert_oauth_error(
        &token_basic(&app, &unknown, "grant_type=client_credentials").await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    let mut request = post_form("/oauth2/token", "grant_type=client_credentials");
    request
        .headers_mut()
        .insert("authorization", "Basic !!!".parse().unwrap());
    assert_oauth_error(
        &app.sandbox(request).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );

    // Both authentication methods at once.
    let both = format!("grant_type=client_credentials&client_secret={}", c.secret);
    assert_oauth_error(
        &token_basic(&app, &c, &both).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // Missing grant_type, repeated parameter, wrong content type.
    assert_oauth_error(
        &token_basic(&app, &c, "scope=commercial%3Aread").await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let repeated = "grant_type=client_credentials&grant_type=client_credentials";
    assert_oauth_error(
        &token_basic(&app, &c, repeated).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let mut json = post_form("/oauth2/token", r#"{"grant_type":"client_credentials"}"#);
    json.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    assert_oauth_error(
        &app.sandbox(json).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    // Unsupported grant type.
    assert_oauth_error(
        &token_basic(&app, &c, "grant_type=password").await,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    );
    // Scope beyond the approved ones, and a syntactically invalid scope.
    let res = token_basic(
        &app,
        &c,
        "grant_type=client_credentials&scope=commercial%3Awrite",
    )
    .await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(
        res.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("commercial:write")
    );
    assert_oauth_error(
        &token_basic(&app, &c, "grant_type=client_credentials&scope=%22quoted%22").await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );

    // A suspended application.
    let owner = testing::owner_of_app(&app.database.db, &c.app_id).await;
    manage::suspend(&app.database.db, &owner, &c.app_id, "testing")
        .await
        .unwrap();
    app.tokens.forget_client(&c.id);
    assert_oauth_error(
        &token_basic(&app, &c, "grant_type=client_credentials").await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    );
}

#[tokio::test]
async fn revocation_and_introspection() {
    let app = TestApp::sqlite().await;
    let c = client(&app, "acme", "commercial:read").await;
    let token = token_basic(&app, &c, "grant_type=client_credentials")
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let introspect = |token: String| {
        let mut request = post_form("/oauth2/introspect", &format!("token={token}"));
        request
            .headers_mut()
            .insert("authorization", basic(&c.id, &c.secret).parse().unwrap());
        app.sandbox(request)
    };
    let res = introspect(token.clone()).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_no_store(&res);
    assert_eq!(res.json()["active"], true);
    assert_eq!(res.json()["partner_id"], "acme");

    let mut revoke = post_form(
        "/oauth2/revoke",
        &format!("token={token}&token_type_hint=access_token"),
    );
    revoke
        .headers_mut()
        .insert("authorization", basic(&c.id, &c.secret).parse().unwrap());
    let res = app.sandbox(revoke).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        introspect(token.clone()).await.json(),
        serde_json::json!({"active": false})
    );

    // RFC 7009: an unknown token is still a 200; a missing one is invalid_request; no client
    // authentication is invalid_client.
    let mut unknown = post_form("/oauth2/revoke", "token=not-a-token");
    unknown
        .headers_mut()
        .insert("authorization", basic(&c.id, &c.secret).parse().unwrap());
    assert_eq!(app.sandbox(unknown).await.status, StatusCode::OK);
    let mut missing = post_form("/oauth2/revoke", "");
    missing
        .headers_mut()
        .insert("authorization", basic(&c.id, &c.secret).parse().unwrap());
    assert_oauth_error(
        &app.sandbox(missing).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_oauth_error(
        &app.sandbox(post_form("/oauth2/introspect", "token=x"))
            .await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[tokio::test]
async fn jwks_and_metadata_are_published() {
    let app = TestApp::sqlite().await;
    let res = app.get_sandbox("/.well-known/jwks.json").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("cache-control"), "public, max-age=300");
    let keys = res.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["alg"], "ES256");
    assert!(
        keys[0]["kid"]
            .as_str()
            .is_some_and(|k| k.starts_with("key_"))
    );
    assert!(keys[0].get("d").is_none());

    let meta = app
        .get_sandbox("/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(meta["issuer"], "http://sandbox.test");
    assert_eq!(meta["token_endpoint"], "http://sandbox.test/oauth2/token");
    assert_eq!(
        meta["jwks_uri"],
        "http://sandbox.test/.well-known/jwks.json"
    );
    assert_eq!(
        meta["revocation_endpoint"],
        "http://sandbox.test/oauth2/revoke"
    );
    assert_eq!(
        meta["introspection_endpoint"],
        "http://sandbox.test/oauth2/introspect"
    );
    assert_eq!(
        meta["grant_types_supported"],
        serde_json::json!([
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        ])
    );
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert!(
        meta["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "commercial:read")
    );
    assert_eq!(get("/").method(), "GET");
}

#[tokio::test]
async fn production_tokens_need_approval_and_a_grant_and_carry_their_own_audience() {
    let app = TestApp::sqlite().await;
    let db = &app.database.db;
    let c = client(&app, "acme", "commercial:read").await;
    let production = "grant_type=client_credentials&audience=portico-api%2Fproduction";

    // Approved organisation, no grant yet: sandbox yes, production no.
    let res = token_basic(&app, &c, "grant_type=client_credentials").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let sandbox_token = res.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.tokens.verify(&sandbox_token).unwrap().claims.aud,
        "portico-api"
    );
    let res = token_basic(&app, &c, production).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "unauthorized_client");
    assert!(res.body.contains("production access"), "{}", res.body);

    // Granted: the token says so in its audience.
    sqlx::query("UPDATE applications SET production_granted_at = 1, production_granted_by = 'admin' WHERE id = $1")
        .bind(&c.app_id)
        .execute(db.pool())
        .await
        .unwrap();
    app.tokens.forget_client(&c.id);
    let res = token_basic(&app, &c, production).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let token = res.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.tokens.verify(&token).unwrap().claims.aud,
        "portico-api/production"
    );

    // A pending organisation keeps the sandbox but loses production.
    sqlx::query("UPDATE partners SET status = 'pending' WHERE slug = 'acme'")
        .execute(db.pool())
        .await
        .unwrap();
    app.tokens.forget_client(&c.id);
    assert_eq!(
        token_basic(&app, &c, "grant_type=client_credentials")
            .await
            .status,
        StatusCode::OK
    );
    assert_oauth_error(
        &token_basic(&app, &c, production).await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    );
    assert_oauth_error(
        &token_basic(
            &app,
            &c,
            "grant_type=client_credentials&audience=somewhere-else",
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_target",
    );
}
