//! The sandbox's synthetic data is consistent the way production data is, over HTTP on both
//! engines: v1 and v2 are two views of the same orders (created, listed, fetched and
//! cancelled through either), money converts exactly between v2's `{amount, currency}` and
//! v1's cents, every order's total is the sum of its lines, line prices come from the
//! catalogue (one currency, so any products make an order; seed orders name catalogue
//! products too), and tenants stay apart across versions.

use crate::common::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use serde_json::{Value, json};

async fn token(app: &TestApp, slug: &str) -> String {
    let (application, _) = create_app(
        &app.database.db,
        slug,
        slug,
        "App",
        &Scopes::parse("commercial:read commercial:write").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    app.tokens.issue(&application, None).unwrap().access_token
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> TestResponse {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    if let Some(key) = key {
        builder = builder.header("idempotency-key", key);
    }
    let request = match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    };
    app.sandbox(request).await
}

async fn ok(app: &TestApp, method: &str, path: &str, token: &str) -> Value {
    let res = send(app, method, path, token, None, None).await;
    assert_eq!(res.status, StatusCode::OK, "{method} {path}: {}", res.body);
    res.json()
}

async fn create(app: &TestApp, version: &str, token: &str, body: Value, key: &str) -> Value {
    let res = send(
        app,
        "POST",
        &format!("/{version}/commercial/orders"),
        token,
        Some(body),
        Some(key),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.json()
}

/// `"129.90"` → 12990, by hand (no floating point).
fn cents(amount: &Value) -> i64 {
    let text = amount.as_str().unwrap();
    let (whole, fraction) = text.split_once('.').unwrap();
    assert_eq!(fraction.len(), 2, "{text}");
    whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap()
}

async fn v2_orders(app: &TestApp, token: &str) -> Vec<Value> {
    let page = ok(app, "GET", "/v2/commercial/orders?limit=100", token).await;
    assert_eq!(page["next_cursor"], Value::Null);
    page["data"].as_array().unwrap().clone()
}

async fn v1_orders(app: &TestApp, token: &str) -> Vec<Value> {
    let page = ok(app, "GET", "/v1/commercial/orders?per_page=100", token).await;
    page["items"].as_array().unwrap().clone()
}

async fn v2_products(app: &TestApp, token: &str) -> Vec<Value> {
    let page = ok(app, "GET", "/v2/commercial/products?limit=100", token).await;
    page["data"].as_array().unwrap().clone()
}

/// Two products priced in the same currency, and one priced in another (if any).
fn same_currency_pair(products: &[Value]) -> (Value, Value, Option<Value>) {
    for (i, a) in products.iter().enumerate() {
        if let Some(b) = products[i + 1..]
            .iter()
            .find(|b| b["price"]["currency"] == a["price"]["currency"])
        {
            let other = products
                .iter()
                .find(|c| c["price"]["currency"] != a["price"]["currency"])
                .cloned();
            return (a.clone(), b.clone(), other);
        }
    }
    panic!("no two products share a currency: {products:?}");
}

fn id(item: &Value) -> String {
    item["id"].as_str().unwrap().to_owned()
}

/// The v2 order's total is the sum of its lines, all in the order's currency.
fn assert_v2_total(order: &Value) {
    let lines = order["items"].as_array().unwrap();
    assert!(!lines.is_empty(), "{order}");
    let sum: i64 = lines
        .iter()
        .map(|line| line["quantity"].as_i64().unwrap() * cents(&line["unit_price"]["amount"]))
        .sum();
    assert_eq!(cents(&order["total"]["amount"]), sum, "{order}");
    for line in lines {
        assert_eq!(
            line["unit_price"]["currency"], order["total"]["currency"],
            "{order}"
        );
    }
}

/// The v1 order's total_cents is the sum of its lines.
fn assert_v1_total(order: &Value) {
    let lines = order["items"].as_array().unwrap();
    let sum: i64 = lines
        .iter()
        .map(|line| line["quantity"].as_i64().unwrap() * line["unit_price_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(order["total_cents"].as_i64().unwrap(), sum, "{order}");
}

/// The v1 order shows exactly the v2 order.
fn assert_same_order(v1: &Value, v2: &Value) {
    assert_eq!(v1["id"], v2["id"]);
    assert_eq!(v1["tenant_id"], v2["tenant_id"]);
    assert_eq!(v1["status"], v2["status"]);
    assert_eq!(v1["customer_reference"], v2["customer_reference"]);
    assert_eq!(v1["created_at"], v2["created_at"]);
    assert_eq!(v1["updated_at"], v2["updated_at"]);
    assert_eq!(v1["currency"], v2["total"]["currency"]);
    assert_eq!(
        v1["total_cents"].as_i64().unwrap(),
        cents(&v2["total"]["amount"])
    );
    assert!(v1.get("total").is_none(), "v1 has no Money objects: {v1}");
    let (l1, l2) = (
        v1["items"].as_array().unwrap(),
        v2["items"].as_array().unwrap(),
    );
    assert_eq!(l1.len(), l2.len());
    for (a, b) in l1.iter().zip(l2) {
        assert_eq!(a["product_id"], b["product_id"]);
        assert_eq!(a["quantity"], b["quantity"]);
        assert_eq!(
            a["unit_price_cents"].as_i64().unwrap(),
            cents(&b["unit_price"]["amount"])
        );
        assert!(a.get("unit_price").is_none(), "{a}");
    }
}

async fn engines() -> [TestApp; 2] {
    [TestApp::sqlite().await, TestApp::postgres().await]
}

#[tokio::test]
async fn orders_created_in_one_version_show_in_the_other_on_both_engines() {
    for app in engines().await {
        let acme = token(&app, "acme").await;
        let products = v2_products(&app, &acme).await;
        let (a, b, _) = same_currency_pair(&products);

        // Created through v2: the partner sends only product ids and quantities.
        let body = json!({"customer_reference": "PO-V2", "items": [
            {"product_id": id(&a), "quantity": 2},
            {"product_id": id(&b), "quantity": 3}
        ]});
        let v2 = create(&app, "v2", &acme, body, "key-v2").await;
        // Unit prices come from the catalogue; the total is the sum of the lines.
        assert_eq!(v2["items"][0]["unit_price"], a["price"]);
        assert_eq!(v2["items"][1]["unit_price"], b["price"]);
        assert_eq!(v2["total"]["currency"], a["price"]["currency"]);
        assert_eq!(
            cents(&v2["total"]["amount"]),
            2 * cents(&a["price"]["amount"]) + 3 * cents(&b["price"]["amount"])
        );
        assert_v2_total(&v2);
        let order_id = id(&v2);

        // ... is the same order through v1, in the v1 shape, listed and fetched.
        let v1 = ok(
            &app,
            "GET",
            &format!("/v1/commercial/orders/{order_id}"),
            &acme,
        )
        .await;
        assert_same_order(&v1, &v2);
        assert_v1_total(&v1);
        let listed = v1_orders(&app, &acme).await;
        assert_eq!(
            listed.iter().find(|o| o["id"] == order_id.as_str()),
            Some(&v1)
        );

        // Created through v1 (with its own currency field) → visible in v2.
        let currency = a["price"]["currency"].clone();
        let body = json!({"customer_reference": "PO-V1", "currency": currency, "items": [
            {"product_id": id(&b), "quantity": 5}
        ]});
        let v1 = create(&app, "v1", &acme, body, "key-v1").await;
        assert_eq!(v1["currency"], currency);
        assert_eq!(
            v1["items"][0]["unit_price_cents"].as_i64().unwrap(),
            cents(&b["price"]["amount"])
        );
        assert_eq!(
            v1["total_cents"].as_i64().unwrap(),
            5 * cents(&b["price"]["amount"])
        );
        assert_v1_total(&v1);
        let v2 = ok(
            &app,
            "GET",
            &format!("/v2/commercial/orders/{}", id(&v1)),
            &acme,
        )
        .await;
        assert_same_order(&v1, &v2);
        assert!(v2_orders(&app, &acme).await.contains(&v2));

        // Idempotency keys are per version: the same key through v1 is another request
        // (with its own response shape), and each version replays its own first response.
        let again_v1 = send(
            &app,
            "POST",
            "/v1/commercial/orders",
            &acme,
            Some(json!({"customer_reference": "PO-V2", "items": [
                {"product_id": id(&a), "quantity": 2},
                {"product_id": id(&b), "quantity": 3}
            ]})),
            Some("key-v2"),
        )
        .await;
        assert_eq!(again_v1.status, StatusCode::CREATED, "{}", again_v1.body);
        assert!(!again_v1.headers.contains_key("idempotent-replayed"));
        assert_ne!(again_v1.json()["id"], order_id.as_str());
        let replay_v1 = send(
            &app,
            "POST",
            "/v1/commercial/orders",
            &acme,
            Some(
                json!({"customer_reference": "PO-V1", "currency": currency, "items": [
                    {"product_id": id(&b), "quantity": 5}
                ]}),
            ),
            Some("key-v1"),
        )
        .await;
        assert_eq!(replay_v1.header("idempotent-replayed"), "true");
        assert_eq!(replay_v1.json(), v1);

        // Both versions list the same orders, in the same order.
        let ids = |orders: Vec<Value>| orders.iter().map(id).collect::<Vec<_>>();
        assert_eq!(
            ids(v1_orders(&app, &acme).await),
            ids(v2_orders(&app, &acme).await)
        );
    }
}

#[tokio::test]
async fn a_cancel_through_v1_shows_in_v2_on_both_engines() {
    for app in engines().await {
        let acme = token(&app, "acme").await;
        let products = v2_products(&app, &acme).await;
        let body = json!({"items": [{"product_id": id(&products[0]), "quantity": 1}]});
        let order = create(&app, "v2", &acme, body, "to-cancel").await;
        let v2_path = format!("/v2/commercial/orders/{}", id(&order));
        // Read through v2 first, so that v2's read cache holds the pending order.
        assert_eq!(ok(&app, "GET", &v2_path, &acme).await["status"], "pending");

        let cancelled = ok(
            &app,
            "POST",
            &format!("/v1/commercial/orders/{}/cancel", id(&order)),
            &acme,
        )
        .await;
        assert_eq!(cancelled["status"], "cancelled");
        assert!(cancelled["total_cents"].is_i64(), "v1 shape: {cancelled}");

        let seen = ok(&app, "GET", &v2_path, &acme).await;
        assert_eq!(seen["status"], "cancelled");
        assert_same_order(&cancelled, &seen);
        assert!(
            v2_orders(&app, &acme)
                .await
                .iter()
                .any(|o| o["id"] == order["id"] && o["status"] == "cancelled")
        );
        let again = send(
            &app,
            "POST",
            &format!("{v2_path}/cancel"),
            &acme,
            None,
            None,
        )
        .await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        assert_eq!(again.json()["__type"], "ConflictException");
    }
}

#[tokio::test]
async fn every_order_total_is_the_sum_of_its_lines_in_both_versions() {
    for app in engines().await {
        let acme = token(&app, "acme").await;
        let products = v2_products(&app, &acme).await;
        let (a, b, _) = same_currency_pair(&products);
        let body = json!({"items": [
            {"product_id": id(&a), "quantity": 1000},
            {"product_id": id(&b), "quantity": 7},
            {"product_id": id(&a), "quantity": 1}
        ]});
        create(&app, "v2", &acme, body, "big").await;
        let body = json!({"items": [{"product_id": id(&b), "quantity": 3}]});
        create(&app, "v1", &acme, body, "small").await;

        let v2 = v2_orders(&app, &acme).await;
        let v1 = v1_orders(&app, &acme).await;
        assert_eq!(v2.len(), 12 + 2, "12 seed orders and 2 created ones");
        assert_eq!(v1.len(), v2.len());
        for (old, new) in v1.iter().zip(&v2) {
            assert_v2_total(new);
            assert_v1_total(old);
            assert_same_order(old, new);
        }
        // The seed orders are the same in both versions (generated once).
        let seeds: Vec<&Value> = v1.iter().take(12).collect();
        assert!(seeds.iter().all(|o| o["tenant_id"] == "acme"));
    }
}

#[tokio::test]
async fn unknown_products_and_mixed_currencies_are_validation_errors() {
    let app = TestApp::sqlite().await;
    let acme = token(&app, "acme").await;
    let products = v2_products(&app, &acme).await;
    let (a, _, other) = same_currency_pair(&products);
    let before = v2_orders(&app, &acme).await.len();

    for version in ["v1", "v2"] {
        let res = send(
            &app,
            "POST",
            &format!("/{version}/commercial/orders"),
            &acme,
            Some(json!({"items": [
                {"product_id": id(&a), "quantity": 1},
                {"product_id": "prd_00000000000000000000000000", "quantity": 1}
            ]})),
            Some(&format!("unknown-{version}")),
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
        let body = res.json();
        assert_eq!(body["__type"], "ValidationException");
        assert_eq!(body["requestId"], res.header("x-request-id"));
        assert_eq!(body["fieldErrors"][0]["path"], "body.items[1].product_id");
        assert_eq!(body["fieldErrors"].as_array().unwrap().len(), 1);
    }

    // The catalogue has one currency (seed-values), so two products always fit one order;
    // a v1 order that names another currency than its lines' is still refused at the line.
    assert!(other.is_none(), "the catalogue mixes currencies: {other:?}");
    assert_eq!(a["price"]["currency"], "EUR");
    let res = send(
        &app,
        "POST",
        "/v1/commercial/orders",
        &acme,
        Some(json!({"currency": "USD", "items": [
            {"product_id": id(&a), "quantity": 1}
        ]})),
        Some("mixed-v1"),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    let error = &res.json()["fieldErrors"][0];
    assert_eq!(error["path"], "body.items[0].product_id");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("EUR") && message.contains("USD"),
        "{message}"
    );
    // Nothing was created.
    assert_eq!(v2_orders(&app, &acme).await.len(), before);
}

async fn v1_products(app: &TestApp, token: &str) -> Vec<Value> {
    let page = ok(app, "GET", "/v1/commercial/products?per_page=100", token).await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn any_catalogue_products_make_an_order_in_both_versions_on_both_engines() {
    for app in engines().await {
        let acme = token(&app, "acme").await;
        // One currency for the whole catalogue, in both versions.
        let products = v2_products(&app, &acme).await;
        assert_eq!(products.len(), 20);
        assert!(
            products.iter().all(|p| p["price"]["currency"] == "EUR"),
            "{products:?}"
        );
        let old_products = v1_products(&app, &acme).await;
        assert_eq!(old_products.len(), 20);
        assert!(
            old_products.iter().all(|p| p["currency"] == "EUR"),
            "{old_products:?}"
        );

        // The first three products, whatever they are, in one order through v2 ...
        let lines: Vec<Value> = products[..3]
            .iter()
            .enumerate()
            .map(|(i, p)| json!({"product_id": id(p), "quantity": i + 1}))
            .collect();
        let v2 = create(&app, "v2", &acme, json!({"items": lines}), "first-three-v2").await;
        assert_eq!(v2["total"]["currency"], "EUR");
        let expected: i64 = products[..3]
            .iter()
            .zip(1..)
            .map(|(p, quantity)| quantity * cents(&p["price"]["amount"]))
            .sum();
        assert_eq!(cents(&v2["total"]["amount"]), expected, "{v2}");
        assert_v2_total(&v2);

        // ... and through v1 (the first three of its own listing).
        let lines: Vec<Value> = old_products[..3]
            .iter()
            .enumerate()
            .map(|(i, p)| json!({"product_id": id(p), "quantity": i + 1}))
            .collect();
        let v1 = create(&app, "v1", &acme, json!({"items": lines}), "first-three-v1").await;
        assert_eq!(v1["currency"], "EUR");
        let expected: i64 = old_products[..3]
            .iter()
            .zip(1..)
            .map(|(p, quantity)| quantity * p["price_cents"].as_i64().unwrap())
            .sum();
        assert_eq!(v1["total_cents"].as_i64().unwrap(), expected, "{v1}");
        assert_v1_total(&v1);

        // The seed orders name catalogue products at catalogue prices.
        for order in v2_orders(&app, &acme).await.iter().take(12) {
            assert_v2_total(order);
            for line in order["items"].as_array().unwrap() {
                let product = products
                    .iter()
                    .find(|p| p["id"] == line["product_id"])
                    .unwrap_or_else(|| panic!("{order}: a line names no catalogue product"));
                assert_eq!(line["unit_price"], product["price"], "{order}");
            }
        }
    }
}

#[tokio::test]
async fn tenants_stay_apart_across_versions_on_both_engines() {
    for app in engines().await {
        let acme = token(&app, "acme").await;
        let globex = token(&app, "globex").await;
        let products = v2_products(&app, &acme).await;
        let body = json!({"items": [{"product_id": id(&products[1]), "quantity": 4}]});
        let order = create(&app, "v2", &acme, body, "acme-key").await;
        let order_id = id(&order);
        let seeded = id(&v1_orders(&app, &acme).await[0]);

        for version in ["v1", "v2"] {
            for target in [&order_id, &seeded] {
                let path = format!("/{version}/commercial/orders/{target}");
                let res = send(&app, "GET", &path, &globex, None, None).await;
                assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.body);
                assert_eq!(res.json()["__type"], "NotFoundException");
                let res = send(&app, "POST", &format!("{path}/cancel"), &globex, None, None).await;
                assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.body);
            }
        }
        let theirs_v1 = v1_orders(&app, &globex).await;
        let theirs_v2 = v2_orders(&app, &globex).await;
        for orders in [&theirs_v1, &theirs_v2] {
            assert_eq!(orders.len(), 12);
            assert!(orders.iter().all(|o| o["tenant_id"] == "globex"));
            assert!(
                !orders
                    .iter()
                    .any(|o| o["id"] == order_id.as_str() || o["id"] == seeded.as_str())
            );
        }
        // The same key in another tenant is another key, in either version.
        let body = json!({"items": [{"product_id": id(&products[1]), "quantity": 4}]});
        let theirs = create(&app, "v2", &globex, body, "acme-key").await;
        assert_ne!(theirs["id"], order["id"]);
        // Acme's order is untouched.
        let still = ok(
            &app,
            "GET",
            &format!("/v1/commercial/orders/{order_id}"),
            &acme,
        )
        .await;
        assert_eq!(still["status"], "pending");
        assert_same_order(&still, &order);
    }
}
