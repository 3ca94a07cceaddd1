//! The gateway pipeline over HTTP, step by step: every refusal with its documented body, and
//! the partner journey of the "done when" (token → list → create idempotently → isolation).

use crate::common::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use portico_core::apps::demo::create_app;
use portico_core::apps::plans::{self, LimitOverride};
use portico_core::authz::scopes::Scopes;
use serde_json::{Value, json};

struct Partner {
    app_id: String,
    token: String,
    api_key: String,
}

async fn partner(app: &TestApp, slug: &str, scopes: &str) -> Partner {
    let (application, creds) = create_app(
        &app.database.db,
        slug,
        slug,
        "App",
        &Scopes::parse(scopes).unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    let token = app.tokens.issue(&application, None).unwrap().access_token;
    Partner {
        app_id: application.id,
        token,
        api_key: creds.api_key.expose().to_owned(),
    }
}

/// A partner whose application an admin granted the production stage, with a production token.
async fn production_partner(app: &TestApp, slug: &str, scopes: &str) -> Partner {
    let sandbox = partner(app, slug, scopes).await;
    let db = &app.database.db;
    sqlx::query(
        "UPDATE applications SET production_granted_at = 1, production_granted_by = 'test' WHERE id = $1",
    )
    .bind(&sandbox.app_id)
    .execute(db.pool())
    .await
    .unwrap();
    let client_id: String = sqlx::query_scalar("SELECT client_id FROM applications WHERE id = $1")
        .bind(&sandbox.app_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let application = portico_core::apps::applications::find_by_client_id(db, &client_id)
        .await
        .unwrap()
        .unwrap();
    let token = app
        .tokens
        .issue_for(&application, None, portico_core::tokens::Stage::Production)
        .unwrap()
        .access_token;
    Partner { token, ..sandbox }
}

fn call(method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

fn assert_smithy(res: &TestResponse, status: StatusCode, kind: &str) {
    assert_eq!(res.status, status, "{}", res.body);
    let body = res.json();
    assert_eq!(body["__type"], kind, "{}", res.body);
    assert_eq!(body["requestId"], res.header("x-request-id"));
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

async fn first_product(app: &TestApp, token: &str) -> String {
    let res = app
        .sandbox(call(
            "GET",
            "/v2/commercial/products?limit=1",
            Some(token),
            None,
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json()["data"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_partner_journey_on_both_engines() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let acme = partner(&app, "acme", "commercial:read commercial:write").await;
        let globex = partner(&app, "globex", "commercial:read commercial:write").await;

        let list = app
            .sandbox(call(
                "GET",
                "/v2/commercial/orders?limit=100",
                Some(&acme.token),
                None,
            ))
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let seeded = list.json()["data"].as_array().unwrap().len();
        assert!(seeded > 0);
        assert!(
            list.json()["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|o| o["tenant_id"] == "acme")
        );
        assert!(list.headers.contains_key("ratelimit"));
        assert!(list.headers.contains_key("ratelimit-policy"));

        // Create with an Idempotency-Key; a retry returns the same order.
        let product = first_product(&app, &acme.token).await;
        let order = json!({"customer_reference": "PO-1", "items": [{"product_id": product, "quantity": 2}]});
        let mut create = call(
            "POST",
            "/v2/commercial/orders",
            Some(&acme.token),
            Some(order.clone()),
        );
        create
            .headers_mut()
            .insert("idempotency-key", "key-1".parse().unwrap());
        let created = app.sandbox(create).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let order_id = created.json()["id"].as_str().unwrap().to_owned();
        let mut retry = call(
            "POST",
            "/v2/commercial/orders",
            Some(&acme.token),
            Some(order.clone()),
        );
        retry
            .headers_mut()
            .insert("idempotency-key", "key-1".parse().unwrap());
        let replayed = app.sandbox(retry).await;
        assert_eq!(replayed.status, StatusCode::CREATED);
        assert_eq!(replayed.json()["id"], order_id.as_str());
        let mut reuse = call(
            "POST",
            "/v2/commercial/orders",
            Some(&acme.token),
            Some(json!({"items": [{"product_id": product, "quantity": 9}]})),
        );
        reuse
            .headers_mut()
            .insert("idempotency-key", "key-1".parse().unwrap());
        assert_smithy(
            &app.sandbox(reuse).await,
            StatusCode::CONFLICT,
            "ConflictException",
        );

        let list = app
            .sandbox(call(
                "GET",
                "/v2/commercial/orders?limit=100",
                Some(&acme.token),
                None,
            ))
            .await;
        let ids: Vec<&str> = list.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .leak()
            .iter()
            .map(String::as_str)
            .collect();
        assert!(ids.contains(&order_id.as_str()));
        assert_eq!(ids.len(), seeded + 1);

        // Another partner sees none of it: not in its list, not by id, cannot cancel it.
        let theirs = app
            .sandbox(call(
                "GET",
                "/v2/commercial/orders?limit=100",
                Some(&globex.token),
                None,
            ))
            .await;
        assert!(
            theirs.json()["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|o| o["tenant_id"] == "globex" && o["id"] != order_id.as_str())
        );
        let path = format!("/v2/commercial/orders/{order_id}");
        assert_smithy(
            &app.sandbox(call("GET", &path, Some(&globex.token), None))
                .await,
            StatusCode::NOT_FOUND,
            "NotFoundException",
        );
        let cancel = format!("/v2/commercial/orders/{order_id}/cancel");
        assert_smithy(
            &app.sandbox(call("POST", &cancel, Some(&globex.token), None))
                .await,
            StatusCode::NOT_FOUND,
            "NotFoundException",
        );
        // The owner can.
        let got = app
            .sandbox(call("GET", &path, Some(&acme.token), None))
            .await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        let cancelled = app
            .sandbox(call("POST", &cancel, Some(&acme.token), None))
            .await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
        assert_eq!(cancelled.json()["status"], "cancelled");
    }
}

#[tokio::test]
async fn every_refusal_has_its_documented_body() {
    let app = TestApp::sqlite().await;
    let reader = partner(&app, "acme", "commercial:read").await;

    // 401: no token, a garbage token.
    let res = app
        .sandbox(call("GET", "/v2/commercial/orders", None, None))
        .await;
    assert_smithy(&res, StatusCode::UNAUTHORIZED, "UnauthorizedException");
    assert_eq!(res.header("www-authenticate"), r#"Bearer realm="portico""#);
    let res = app
        .sandbox(call(
            "GET",
            "/v2/commercial/orders",
            Some("not.a.jwt"),
            None,
        ))
        .await;
    assert_smithy(&res, StatusCode::UNAUTHORIZED, "UnauthorizedException");
    assert!(
        res.header("www-authenticate")
            .contains(r#"error="invalid_token""#)
    );

    // 403: write with a read-only token.
    let body = json!({"items": [{"product_id": "prd_00000000000000000000000000", "quantity": 1}]});
    let mut create = call(
        "POST",
        "/v2/commercial/orders",
        Some(&reader.token),
        Some(body),
    );
    create
        .headers_mut()
        .insert("idempotency-key", "k".parse().unwrap());
    let res = app.sandbox(create).await;
    assert_smithy(&res, StatusCode::FORBIDDEN, "ForbiddenException");
    assert!(
        res.header("www-authenticate")
            .contains(r#"error="insufficient_scope""#),
        "{:?}",
        res.headers
    );
    // 403: applications never delete user accounts.
    let admin = partner(&app, "globex", "commercial:read users:admin").await;
    assert_smithy(
        &app.sandbox(call("DELETE", "/v2/users/u_1", Some(&admin.token), None))
            .await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    );

    // 404 unknown path, 405 with Allow, 410 for the sunset version.
    assert_smithy(
        &app.sandbox(call("GET", "/v2/nothing", Some(&reader.token), None))
            .await,
        StatusCode::NOT_FOUND,
        "NotFoundException",
    );
    let res = app
        .sandbox(call(
            "DELETE",
            "/v2/commercial/orders",
            Some(&reader.token),
            None,
        ))
        .await;
    assert_smithy(
        &res,
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowedException",
    );
    assert_eq!(res.header("allow"), "GET, POST");
    let res = app
        .sandbox(call(
            "GET",
            "/v0/commercial/orders",
            Some(&reader.token),
            None,
        ))
        .await;
    assert_smithy(&res, StatusCode::GONE, "GoneException");

    // 400 with field paths.
    let writer = partner(&app, "initech", "commercial:read commercial:write").await;
    let bad = json!({"items": [{"product_id": "nope", "quantity": 0}], "extra": true});
    let res = app
        .sandbox(call(
            "POST",
            "/v2/commercial/orders",
            Some(&writer.token),
            Some(bad),
        ))
        .await;
    assert_smithy(&res, StatusCode::BAD_REQUEST, "ValidationException");
    let paths: Vec<String> = res.json()["fieldErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_owned())
        .collect();
    for expected in [
        "header.Idempotency-Key",
        "body.items[0].product_id",
        "body.items[0].quantity",
        "body.extra",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "missing {expected} in {paths:?}"
        );
    }
    let mut not_json = call("POST", "/v2/commercial/orders", Some(&writer.token), None);
    *not_json.body_mut() = Body::from("{not json");
    not_json
        .headers_mut()
        .insert("idempotency-key", "k2".parse().unwrap());
    assert_smithy(
        &app.sandbox(not_json).await,
        StatusCode::BAD_REQUEST,
        "ValidationException",
    );
    let res = app
        .sandbox(call(
            "GET",
            "/v2/commercial/orders?limit=0",
            Some(&reader.token),
            None,
        ))
        .await;
    assert_smithy(&res, StatusCode::BAD_REQUEST, "ValidationException");
}

#[tokio::test]
async fn api_keys_ip_allowlists_and_usage_plans() {
    let app = TestApp::sqlite().await;
    let acme = partner(&app, "acme", "commercial:read").await;
    let globex = partner(&app, "globex", "commercial:read").await;
    let db = &app.database.db;

    // A key tagged for one client never works with another client's token.
    let mut with_foreign_key = call("GET", "/v2/commercial/orders", Some(&acme.token), None);
    with_foreign_key
        .headers_mut()
        .insert("x-api-key", globex.api_key.parse().unwrap());
    assert_smithy(
        &app.sandbox(with_foreign_key).await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    );
    let mut with_own_key = call("GET", "/v2/commercial/orders", Some(&acme.token), None);
    with_own_key
        .headers_mut()
        .insert("x-api-key", acme.api_key.parse().unwrap());
    assert_eq!(app.sandbox(with_own_key).await.status, StatusCode::OK);

    // A plan that requires a key refuses calls without one.
    plans::set_plan(db, &globex.app_id, "standard")
        .await
        .unwrap();
    app.shared.limits.clear_caches();
    assert_smithy(
        &app.sandbox(call(
            "GET",
            "/v2/commercial/orders",
            Some(&globex.token),
            None,
        ))
        .await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    );

    // IP allowlist: the test client has no socket address, so any allowlist refuses it.
    plans::set_ip_allowlist(db, &acme.app_id, "10.0.0.0/8")
        .await
        .unwrap();
    app.shared.limits.clear_caches();
    assert_smithy(
        &app.sandbox(call(
            "GET",
            "/v2/commercial/orders",
            Some(&acme.token),
            None,
        ))
        .await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    );
    plans::set_ip_allowlist(db, &acme.app_id, "").await.unwrap();

    // Throttling: burst 2, then 429 with Retry-After and the RateLimit headers.
    let overrides = LimitOverride {
        rate_per_second: Some(1),
        burst: Some(2),
        ..LimitOverride::default()
    };
    plans::set_override(db, &acme.app_id, &overrides)
        .await
        .unwrap();
    app.shared.limits.clear_caches();
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..4 {
        let res = app
            .sandbox(call(
                "GET",
                "/v2/commercial/orders",
                Some(&acme.token),
                None,
            ))
            .await;
        statuses.push(res.status.as_u16());
        last = Some(res);
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
    let throttled = last.unwrap();
    assert_smithy(
        &throttled,
        StatusCode::TOO_MANY_REQUESTS,
        "ThrottlingException",
    );
    assert!(throttled.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert!(throttled.header("ratelimit-policy").contains("q=2"));
}

#[tokio::test]
async fn deprecated_versions_announce_their_sunset() {
    let app = TestApp::sqlite().await;
    let acme = partner(&app, "acme", "commercial:read").await;
    let v1 = app
        .sandbox(call(
            "GET",
            "/v1/commercial/orders",
            Some(&acme.token),
            None,
        ))
        .await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.body);
    assert!(v1.header("deprecation").starts_with('@'));
    assert_eq!(v1.header("sunset"), "Wed, 30 Jun 2027 00:00:00 GMT");
    assert!(v1.header("link").contains(r#"rel="sunset""#));
    assert!(
        v1.json()["items"].is_array(),
        "v1 keeps its page-style shape"
    );
    let v2 = app
        .sandbox(call(
            "GET",
            "/v2/commercial/orders",
            Some(&acme.token),
            None,
        ))
        .await;
    assert!(!v2.headers.contains_key("deprecation"));
    assert!(v2.json()["data"].is_array());
    // Even a refused v1 call carries the notice.
    let refused = app
        .sandbox(call("GET", "/v1/commercial/orders", None, None))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.headers.contains_key("sunset"));
}

#[tokio::test]
async fn every_request_is_audited_and_labelled_by_route_template() {
    for mut app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let acme = partner(&app, "acme", "commercial:read").await;
        app.sandbox(call(
            "GET",
            "/v2/commercial/orders",
            Some(&acme.token),
            None,
        ))
        .await;
        app.sandbox(call(
            "GET",
            "/v2/commercial/orders/ord_00000000000000000000000000",
            Some(&acme.token),
            None,
        ))
        .await;
        app.sandbox(call("GET", "/v2/commercial/orders", None, None))
            .await;
        let metrics = app.get_portal("/metrics").await.body;
        assert!(
            metrics.contains(r#"route="/v2/commercial/orders",status="200"} 1"#),
            "{metrics}"
        );
        assert!(
            metrics.contains(r#"route="/v2/commercial/orders/{orderId}",status="404"} 1"#),
            "{metrics}"
        );

        app.flush_audit().await;
        let rows: Vec<(String, String, String, i64, Option<String>)> =
            sqlx::query_as("SELECT route, decision, COALESCE(partner_id, ''), status, reason FROM request_log ORDER BY status")
                .fetch_all(app.database.db.pool())
                .await
                .unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(
            (
                rows[0].0.as_str(),
                rows[0].1.as_str(),
                rows[0].2.as_str(),
                rows[0].3
            ),
            ("/v2/commercial/orders", "allow", "acme", 200)
        );
        assert!(
            rows[0]
                .4
                .as_deref()
                .is_some_and(|r| r.starts_with("allowed by"))
        );
        assert_eq!((rows[1].1.as_str(), rows[1].3), ("deny", 401));
        assert!(
            rows[1]
                .4
                .as_deref()
                .is_some_and(|r| r.contains("No access token"))
        );
        assert_eq!(
            (rows[2].0.as_str(), rows[2].2.as_str(), rows[2].3),
            ("/v2/commercial/orders/{orderId}", "acme", 404)
        );
    }
}

#[tokio::test]
async fn openapi_documents_are_served_with_this_deployments_url() {
    let app = TestApp::sqlite().await;
    let res = app.get_sandbox("/openapi/v2.json").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["servers"][0]["url"], "http://sandbox.test/v2");
    assert!(res.json()["paths"]["/commercial/orders"].is_object());
    assert_smithy(
        &app.get_sandbox("/openapi/v9.json").await,
        StatusCode::NOT_FOUND,
        "NotFoundException",
    );
}

/// A stand-in upstream that answers with the headers and path it received.
async fn echo_upstream() -> String {
    use axum::extract::Request as AxumRequest;
    async fn echo(request: AxumRequest) -> axum::Json<Value> {
        let headers: serde_json::Map<String, Value> = request
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    Value::from(v.to_str().unwrap_or_default()),
                )
            })
            .collect();
        axum::Json(json!({"path": request.uri().to_string(), "headers": headers}))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(echo)).await });
    format!("http://{addr}/upstream")
}

#[tokio::test]
async fn the_production_stage_forwards_with_principal_headers_only_it_sets() {
    let app = TestApp::sqlite()
        .with_production(&echo_upstream().await)
        .await;
    let acme = production_partner(&app, "acme", "commercial:read").await;
    let mut request = call(
        "GET",
        "/v2/commercial/orders?limit=5",
        Some(&acme.token),
        None,
    );
    request
        .headers_mut()
        .insert("x-principal-partner-id", "globex".parse().unwrap());
    request
        .headers_mut()
        .insert("x-request-id", "trace-42".parse().unwrap());
    let res = app.production(request).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let seen = res.json();
    assert_eq!(seen["path"], "/upstream/v2/commercial/orders?limit=5");
    let headers = &seen["headers"];
    assert_eq!(
        headers["x-principal-partner-id"], "acme",
        "the client's own header is replaced"
    );
    assert_eq!(
        headers["x-principal-client-id"].as_str().unwrap(),
        app.tokens.verify(&acme.token).unwrap().claims.client_id
    );
    assert_eq!(headers["x-principal-scopes"], "commercial:read");
    assert!(
        headers.get("authorization").is_none(),
        "credentials stay at the gateway"
    );
    assert!(headers["x-request-id"].as_str().is_some());

    // The same checks as the sandbox run first: no token, no forwarding.
    let refused = app
        .production(call("GET", "/v2/commercial/orders", None, None))
        .await;
    assert_smithy(&refused, StatusCode::UNAUTHORIZED, "UnauthorizedException");
}

#[tokio::test]
async fn each_stage_accepts_only_its_own_tokens() {
    let app = TestApp::sqlite()
        .with_production(&echo_upstream().await)
        .await;
    let sandbox_only = partner(&app, "acme", "commercial:read").await;
    let promoted = production_partner(&app, "globex", "commercial:read").await;
    let path = "/v2/commercial/orders?limit=1";
    let res = app
        .production(call("GET", path, Some(&sandbox_only.token), None))
        .await;
    assert_smithy(&res, StatusCode::UNAUTHORIZED, "UnauthorizedException");
    assert!(res.body.contains("audience"), "{}", res.body);
    let res = app
        .sandbox(call("GET", path, Some(&promoted.token), None))
        .await;
    assert_smithy(&res, StatusCode::UNAUTHORIZED, "UnauthorizedException");
    let res = app
        .production(call("GET", path, Some(&promoted.token), None))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_503_not_a_hang() {
    // Bind and drop: nothing listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::sqlite()
        .with_production(&format!("http://127.0.0.1:{port}"))
        .await;
    let acme = production_partner(&app, "acme", "commercial:read").await;
    let res = app
        .production(call(
            "GET",
            "/v2/commercial/orders",
            Some(&acme.token),
            None,
        ))
        .await;
    assert_smithy(
        &res,
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailableException",
    );
}

#[tokio::test]
async fn quote_packages_follow_the_applications_provider_preferences() {
    use portico_core::apps::preferences::{self, ProviderPreferences};
    let app = TestApp::sqlite().await;
    let acme = partner(&app, "acme", "commercial:read").await;
    let packages = |res: TestResponse| -> Vec<String> {
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        res.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["provider"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = packages(
        app.sandbox(call(
            "GET",
            "/v2/commercial/packages?limit=100",
            Some(&acme.token),
            None,
        ))
        .await,
    );
    let mut providers: Vec<String> = all.clone();
    providers.sort();
    providers.dedup();
    assert!(
        providers.len() >= 3,
        "seed data spans several providers: {providers:?}"
    );

    let blocked = providers[0].clone();
    let prefs = ProviderPreferences {
        blocked_providers: vec![blocked.clone()],
        allowed_providers: None,
        max_providers: Some(1),
    };
    preferences::set(&app.database.db, &acme.app_id, &prefs)
        .await
        .unwrap();
    app.shared.limits.clear_caches();
    let filtered = packages(
        app.sandbox(call(
            "GET",
            "/v2/commercial/packages?limit=100",
            Some(&acme.token),
            None,
        ))
        .await,
    );
    assert!(!filtered.is_empty());
    assert!(
        !filtered.contains(&blocked),
        "blocked provider {blocked} still listed: {filtered:?}"
    );
    let mut kept = filtered.clone();
    kept.dedup();
    assert_eq!(kept.len(), 1, "max_providers = 1: {filtered:?}");
}

#[tokio::test]
async fn two_gateways_sharing_redis_limit_a_burst_once_in_total() {
    let app = TestApp::sqlite().await;
    let acme = partner(&app, "acme", "commercial:read").await;
    let overrides = LimitOverride {
        rate_per_second: Some(1),
        burst: Some(5),
        ..LimitOverride::default()
    };
    plans::set_override(&app.database.db, &acme.app_id, &overrides)
        .await
        .unwrap();
    // Two gateway processes in all but name: separate limiters, one Redis.
    let redis =
        portico_sandbox::limits::LimitsConfig::with_redis_url(Some("redis://127.0.0.1:6379"))
            .unwrap();
    let gateways: Vec<portico_server::fronts::Front> = (0..2)
        .map(|_| {
            let mut shared = app.shared.clone();
            shared.limits = std::sync::Arc::new(portico_sandbox::limits::GatewayLimits::new(
                app.database.db.clone(),
                redis.clone(),
            ));
            portico_server::fronts::sandbox(&shared)
        })
        .collect();
    let mut allowed = 0;
    for i in 0..10 {
        let res = crate::common::send(
            &gateways[i % 2],
            call("GET", "/v2/commercial/orders", Some(&acme.token), None),
        )
        .await;
        match res.status {
            StatusCode::OK => allowed += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_smithy(&res, StatusCode::TOO_MANY_REQUESTS, "ThrottlingException")
            }
            other => panic!("unexpected {other}: {}", res.body),
        }
    }
    assert_eq!(allowed, 5, "the burst of 5 is shared by both gateways");
    // The routers hold audit senders; the writer drains only once they are gone.
    drop(gateways);
}

/// A second, unrelated API (a small library) runs through the same pipeline with nothing but
/// content: its model, a schema with its actions and a policy.
#[tokio::test]
async fn an_unrelated_model_works_with_content_changes_only() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let policies = dir.path().join("policies");
    let api = dir.path().join("api");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::create_dir_all(&api).unwrap();
    let schema =
        std::fs::read_to_string(shipped.join("content/policies/schema.cedarschema")).unwrap();
    let cut = schema.rfind('}').unwrap();
    let library_actions = r#"
  action "library:ListBooks", "library:SearchBooks", "library:GetBook" appliesTo {
    principal: [Application, User],
    resource: [Collection, Product],
  };
  action "library:Borrow" appliesTo {
    principal: [Application, User],
    resource: [Collection, Order],
  };
"#;
    std::fs::write(
        policies.join("schema.cedarschema"),
        format!("{}{library_actions}}}\n", &schema[..cut]),
    )
    .unwrap();
    std::fs::write(
        policies.join("library.cedar"),
        r#"@id("library-readers")
permit (
  principal is Platform::Application,
  action in [Platform::Action::"library:ListBooks", Platform::Action::"library:SearchBooks", Platform::Action::"library:GetBook"],
  resource
) when { principal.scopes.contains("library:read") };
"#,
    )
    .unwrap();
    std::fs::copy(
        shipped.join("sandbox/tests/fixtures/library/v1.yaml"),
        api.join("v1.yaml"),
    )
    .unwrap();

    let authorizer = portico_core::authz::Authorizer::load(Some(&policies)).unwrap();
    let catalog = portico_sandbox::model::ApiCatalog::load(Some(&api)).unwrap();
    catalog.check(authorizer.schema_facts()).unwrap();
    let app = TestApp::sqlite().with_content(authorizer, catalog).await;
    let reader = partner(&app, "readers-club", "library:read").await;

    let books = app
        .sandbox(call("GET", "/v1/books", Some(&reader.token), None))
        .await;
    assert_eq!(books.status, StatusCode::OK, "{}", books.body);
    assert!(books.body.contains("isbn"), "{}", books.body);
    // Writing needs a scope and a policy this reader does not have: default deny.
    let mut borrow = call(
        "POST",
        "/v1/books/9780000000001/loans",
        Some(&reader.token),
        Some(json!({})),
    );
    borrow
        .headers_mut()
        .insert("idempotency-key", "loan-0001".parse().unwrap());
    assert_smithy(
        &app.sandbox(borrow).await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    );
    // The Commercial API is not part of this deployment.
    assert_smithy(
        &app.sandbox(call(
            "GET",
            "/v2/commercial/orders",
            Some(&reader.token),
            None,
        ))
        .await,
        StatusCode::NOT_FOUND,
        "NotFoundException",
    );
}

#[tokio::test]
async fn head_is_answered_like_get() {
    let app = TestApp::sqlite().await;
    let acme = partner(&app, "acme", "commercial:read").await;
    let res = app
        .sandbox(call(
            "HEAD",
            "/v2/commercial/orders",
            Some(&acme.token),
            None,
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.headers.contains_key("ratelimit"));
    let refused = app
        .sandbox(call("HEAD", "/v2/commercial/orders", None, None))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}
