#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
//! The synthetic backend on SQLite and PostgreSQL: deterministic seed data per tenant,
//! persistence, idempotency, cancel, tenant isolation, reset, pagination and provider
//! preferences.

use std::collections::HashSet;
use std::path::Path;

use axum::http::StatusCode;
use portico_core::Database;
use portico_core::request_id::RequestId;
use portico_core::sandbox_data;
use portico_sandbox::model::{ApiCatalog, ApiVersion, Operation, SandboxBinding};
use portico_sandbox::synthetic::{
    BackendRequest, BackendResponse, ProviderPreferences, SyntheticBackend, filter_packages,
};
use portico_sandbox::validate::validate_value;
use serde_json::{Value, json};

const ACME: &str = "prt_acme";
const GLOBEX: &str = "prt_globex";

/// Runs the body once per engine on a fresh database, naming the engine on failure.
macro_rules! on_both_engines {
    (|$db:ident| $body:block) => {
        for test_db in portico_core::testing::TestDatabase::both().await {
            let db = test_db.db.clone();
            let engine = db.backend().name();
            let outcome = tokio::spawn(async move {
                let $db: Database = db;
                $body
            })
            .await;
            if let Err(failure) = outcome {
                eprintln!("the failure above happened on {engine}");
                std::panic::resume_unwind(failure.into_panic());
            }
        }
    };
}

fn catalog() -> &'static ApiCatalog {
    static CATALOG: std::sync::OnceLock<ApiCatalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| ApiCatalog::embedded().unwrap())
}

fn op(version: &str, id: &str) -> (&'static ApiVersion, &'static Operation) {
    let version = catalog().version(version).unwrap();
    (version, version.operation(id).unwrap())
}

/// Calls one operation.
struct Call<'a> {
    tenant: &'a str,
    version: &'a str,
    operation: &'a str,
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<Value>,
    key: Option<&'a str>,
    preferences: Option<ProviderPreferences>,
}

fn call<'a>(tenant: &'a str, version: &'a str, operation: &'a str) -> Call<'a> {
    Call {
        tenant,
        version,
        operation,
        path: Vec::new(),
        query: Vec::new(),
        body: None,
        key: None,
        preferences: None,
    }
}

impl<'a> Call<'a> {
    fn id(mut self, name: &str, value: &str) -> Self {
        self.path.push((name.to_owned(), value.to_owned()));
        self
    }

    fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn key(mut self, key: &'a str) -> Self {
        self.key = Some(key);
        self
    }

    fn preferences(mut self, preferences: ProviderPreferences) -> Self {
        self.preferences = Some(preferences);
        self
    }

    async fn send(&self, backend: &SyntheticBackend) -> BackendResponse {
        let (version, operation) = op(self.version, self.operation);
        backend
            .handle(BackendRequest {
                tenant: self.tenant,
                client_id: "cli_test",
                version,
                operation,
                path_params: &self.path,
                query: &self.query,
                body: self.body.as_ref(),
                idempotency_key: self.key,
                preferences: self.preferences.as_ref(),
            })
            .await
    }

    async fn ok(&self, backend: &SyntheticBackend) -> Value {
        let response = self.send(backend).await;
        assert!(
            response.status.is_success(),
            "{} {}: {:?}",
            self.version,
            self.operation,
            response
        );
        response.body.unwrap_or(Value::Null)
    }
}

/// Every order of a tenant in v2 (one big page).
async fn all_orders(backend: &SyntheticBackend, tenant: &str) -> Vec<Value> {
    let page = call(tenant, "v2", "ListOrders")
        .query("limit", "100")
        .ok(backend)
        .await;
    assert_eq!(page["next_cursor"], Value::Null);
    page["data"].as_array().unwrap().clone()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A product of the shared catalogue (orders must name existing products).
fn product() -> String {
    let (_, get) = op("v2", "GetProduct");
    SyntheticBackend::seed_items("*", get.sandbox.as_ref().unwrap())[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn order_body(quantity: u32) -> Value {
    json!({"customer_reference": "PO-77", "items": [{"product_id": product(), "quantity": quantity}]})
}

fn error_type(response: &BackendResponse) -> &str {
    response.body.as_ref().unwrap()["__type"].as_str().unwrap()
}

// ---- Seed data -------------------------------------------------------------------------------

#[test]
fn seed_items_follow_their_schemas_in_every_collection() {
    for version in ["v1", "v2"] {
        for op in &catalog().version(version).unwrap().operations {
            let binding = op.sandbox.as_ref().unwrap();
            let items = SyntheticBackend::seed_items(ACME, binding);
            assert_eq!(items.len(), binding.seed_count as usize);
            for item in &items {
                let errors = validate_value(&binding.item_schema, item, "item");
                assert!(
                    errors.is_empty(),
                    "{version} {}: {item}: {errors:?}",
                    op.operation_id
                );
                let expected_tenant = if binding.shared { "*" } else { ACME };
                assert_eq!(item[&binding.tenant_field], expected_tenant);
                let id = item[&binding.id_field].as_str().unwrap();
                assert!(id.starts_with(&format!("{}_", binding.id_prefix)), "{id}");
            }
            let unique: HashSet<&str> = items
                .iter()
                .map(|i| i[&binding.id_field].as_str().unwrap())
                .collect();
            assert_eq!(unique.len(), items.len());
        }
    }
}

#[test]
fn seed_orders_name_catalogue_products_at_catalogue_prices_in_one_currency() {
    let (_, get) = op("v2", "GetProduct");
    let products = SyntheticBackend::seed_items("*", get.sandbox.as_ref().unwrap());
    assert!(products.iter().all(|p| p["price"]["currency"] == "EUR"));
    let (_, v1_get) = op("v1", "GetProduct");
    let v1_products = SyntheticBackend::seed_items("*", v1_get.sandbox.as_ref().unwrap());
    assert!(v1_products.iter().all(|p| p["currency"] == "EUR"));
    let (_, list) = op("v2", "ListOrders");
    for tenant in [ACME, GLOBEX] {
        let orders = SyntheticBackend::seed_items(tenant, list.sandbox.as_ref().unwrap());
        for order in &orders {
            assert_eq!(order["total"]["currency"], "EUR", "{order}");
            for line in order["items"].as_array().unwrap() {
                let product = products
                    .iter()
                    .find(|p| p["id"] == line["product_id"])
                    .unwrap_or_else(|| panic!("{line} names no catalogue product"));
                assert_eq!(line["unit_price"], product["price"], "{order}");
            }
        }
    }
}

#[test]
fn seed_data_is_deterministic_per_tenant() {
    let (_, list) = op("v2", "ListOrders");
    let binding = list.sandbox.as_ref().unwrap();
    let a1 = SyntheticBackend::seed_items(ACME, binding);
    let a2 = SyntheticBackend::seed_items(ACME, binding);
    let b = SyntheticBackend::seed_items(GLOBEX, binding);
    assert_eq!(a1, a2);
    // Apart from the model's seed-ids (the example order, last), the ids differ.
    let a_ids: HashSet<String> = ids(&a1).into_iter().collect();
    let fixed = binding.storage.seed_ids.len();
    assert_eq!(fixed, 1, "the example order");
    let own = b.len() - fixed;
    assert!(ids(&b[..own]).iter().all(|id| !a_ids.contains(id)));
    assert_eq!(ids(&b[own..]), ids(&a1[own..]));
    // Not just the ids: the contents differ too.
    let strip = |items: &[Value]| -> Vec<Value> {
        items
            .iter()
            .map(|item| {
                let mut item = item.clone();
                item.as_object_mut().unwrap().remove("id");
                item.as_object_mut().unwrap().remove("tenant_id");
                item
            })
            .collect()
    };
    assert_ne!(strip(&a1), strip(&b));
    // Orders look varied: several statuses among the seeds.
    let statuses: HashSet<&str> = a1.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert!(statuses.len() >= 3, "{statuses:?}");
}

#[tokio::test]
async fn same_tenant_same_data_across_restarts_and_different_tenants_differ() {
    on_both_engines!(|db| {
        let first = SyntheticBackend::new(db.clone());
        let acme = all_orders(&first, ACME).await;
        assert_eq!(acme.len(), 12);
        assert!(acme.iter().all(|o| o["tenant_id"] == ACME));
        // A new backend over the same database = a restart.
        let restarted = SyntheticBackend::new(db.clone());
        assert_eq!(all_orders(&restarted, ACME).await, acme);
        // Exactly the deterministic seed data.
        let (_, list) = op("v2", "ListOrders");
        assert_eq!(
            acme,
            SyntheticBackend::seed_items(ACME, list.sandbox.as_ref().unwrap())
        );
        let globex = all_orders(&restarted, GLOBEX).await;
        assert_eq!(globex.len(), 12);
        assert!(globex.iter().all(|o| o["tenant_id"] == GLOBEX));
        // Apart from the model's seed-ids (the last seed orders), their ids differ.
        let acme_ids: HashSet<String> = ids(&acme).into_iter().collect();
        let storage = &list.sandbox.as_ref().unwrap().storage;
        let shared: Vec<String> = ids(&globex)
            .into_iter()
            .filter(|id| acme_ids.contains(id))
            .collect();
        let fixed: Vec<String> = storage.seed_ids.iter().map(|s| s.id.clone()).collect();
        assert_eq!(shared, fixed);
    });
}

#[tokio::test]
async fn the_shared_catalogue_is_the_same_for_every_tenant() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let acme = call(ACME, "v2", "ListProducts")
            .query("limit", "100")
            .ok(&backend)
            .await;
        let globex = call(GLOBEX, "v2", "ListProducts")
            .query("limit", "100")
            .ok(&backend)
            .await;
        assert_eq!(acme, globex);
        let products = acme["data"].as_array().unwrap();
        assert_eq!(products.len(), 20);
        assert!(products.iter().all(|p| p["tenant_id"] == "*"));
        let id = products[3]["id"].as_str().unwrap();
        let one = call(GLOBEX, "v2", "GetProduct")
            .id("productId", id)
            .ok(&backend)
            .await;
        let (_, get) = op("v2", "GetProduct");
        let owner = backend
            .owner_of(get.sandbox.as_ref().unwrap(), id, GLOBEX)
            .await;
        assert_eq!(owner.as_deref(), Some("*"));
        assert_eq!(one, products[3]);
        // Filter by category.
        let category = products[0]["category"].as_str().unwrap();
        let filtered = call(ACME, "v2", "ListProducts")
            .query("category", category)
            .query("limit", "100")
            .ok(&backend)
            .await;
        let filtered = filtered["data"].as_array().unwrap();
        let expected = products
            .iter()
            .filter(|p| p["category"] == category)
            .count();
        assert_eq!(filtered.len(), expected);
        assert!(filtered.iter().all(|p| p["category"] == category));
    });
}

// ---- Create, get, persistence ---------------------------------------------------------------

#[tokio::test]
async fn created_orders_are_listed_and_survive_a_restart() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let response = call(ACME, "v2", "CreateOrder")
            .body(order_body(3))
            .key("key-create-1")
            .send(&backend)
            .await;
        assert_eq!(response.status, StatusCode::CREATED);
        assert!(!response.replayed);
        let order = response.body.unwrap();
        let id = order["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("ord_") && id.len() == 30, "{id}");
        assert_eq!(order["tenant_id"], ACME);
        assert_eq!(order["status"], "pending");
        assert_eq!(order["customer_reference"], "PO-77");
        assert_eq!(order["items"][0]["product_id"], product().as_str());
        assert_eq!(order["items"][0]["quantity"], 3);
        // The rest of the order is generated to fit the schema (a unit price, a total).
        let (_, get) = op("v2", "GetOrder");
        let schema = &get.sandbox.as_ref().unwrap().item_schema;
        assert_eq!(validate_value(schema, &order, "order"), []);
        assert_eq!(order["created_at"], order["updated_at"]);

        let listed = all_orders(&backend, ACME).await;
        assert_eq!(listed.len(), 13);
        assert_eq!(listed.last().unwrap(), &order);

        let restarted = SyntheticBackend::new(db.clone());
        let fetched = call(ACME, "v2", "GetOrder")
            .id("orderId", &id)
            .ok(&restarted)
            .await;
        assert_eq!(fetched, order);
        // v1 and v2 share the orders (one store): v1 shows the same order in its shape.
        let v1 = call(ACME, "v1", "GetOrder")
            .id("orderId", &id)
            .ok(&restarted)
            .await;
        assert_eq!(v1["id"], order["id"]);
        assert_eq!(v1["currency"], order["total"]["currency"]);
        assert!(v1["total_cents"].is_i64(), "{v1}");
    });
}

#[tokio::test]
async fn unknown_ids_are_not_found_with_a_smithy_body() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let response = call(ACME, "v2", "GetOrder")
            .id("orderId", "ord_00000000000000000000000000")
            .send(&backend)
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert!(response.is_error());
        // The one not-found answer, which the gateway also gives for another tenant's object.
        assert!(response.is_not_found());
        assert_eq!(
            response,
            portico_sandbox::synthetic::not_found(
                op("v2", "GetOrder").1.sandbox.as_ref().unwrap(),
                "ord_00000000000000000000000000"
            )
        );
        assert_eq!(
            response.body.clone().unwrap(),
            json!({
                "__type": "NotFoundException",
                "message": "Order ord_00000000000000000000000000 does not exist."
            })
        );
        // As HTTP: the request id goes into the body, errors are not cached.
        let http = response.into_response(&RequestId::from_caller("req_test").unwrap());
        assert_eq!(http.status(), StatusCode::NOT_FOUND);
        assert_eq!(http.headers()["cache-control"], "no-store");
        let bytes = http_body_util::BodyExt::collect(http.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["requestId"], "req_test");
        assert_eq!(body["__type"], "NotFoundException");
    });
}

#[tokio::test]
async fn an_idempotent_retry_returns_the_first_response() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let first = call(ACME, "v2", "CreateOrder")
            .body(order_body(1))
            .key("retry-key")
            .send(&backend)
            .await;
        assert_eq!(first.status, StatusCode::CREATED);
        // Same body with its keys in another order, after a restart: still the same request.
        let restarted = SyntheticBackend::new(db.clone());
        let retry = call(ACME, "v2", "CreateOrder")
            .body(json!({"items": [{"quantity": 1, "product_id": product()}], "customer_reference": "PO-77"}))
            .key("retry-key")
            .send(&restarted)
            .await;
        assert_eq!(retry.status, StatusCode::CREATED);
        assert!(retry.replayed);
        assert_eq!(retry.body, first.body);
        let http = retry.into_response(&RequestId::new());
        assert_eq!(http.headers()["idempotent-replayed"], "true");
        assert!(http.headers().get("cache-control").is_none());
        assert_eq!(all_orders(&restarted, ACME).await.len(), 13);

        // The same key in another tenant is another key.
        let other = call(GLOBEX, "v2", "CreateOrder")
            .body(order_body(1))
            .key("retry-key")
            .send(&backend)
            .await;
        assert_eq!(other.status, StatusCode::CREATED);
        assert!(!other.replayed);
        assert_ne!(other.body, first.body);
    });
}

#[tokio::test]
async fn concurrent_retries_create_one_order() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        // Seed first so that every racer goes straight to the insert.
        all_orders(&backend, ACME).await;
        let mut handles = Vec::new();
        for _ in 0..6 {
            let backend = backend.clone();
            handles.push(tokio::spawn(async move {
                call(ACME, "v2", "CreateOrder")
                    .body(order_body(5))
                    .key("race-key")
                    .send(&backend)
                    .await
            }));
        }
        let mut bodies = Vec::new();
        for handle in handles {
            let response = handle.await.unwrap();
            assert_eq!(response.status, StatusCode::CREATED, "{response:?}");
            bodies.push(response.body.unwrap());
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(all_orders(&backend, ACME).await.len(), 13);
    });
}

#[tokio::test]
async fn reusing_a_key_with_another_body_is_refused() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        call(ACME, "v2", "CreateOrder")
            .body(order_body(1))
            .key("reused")
            .ok(&backend)
            .await;
        let response = call(ACME, "v2", "CreateOrder")
            .body(order_body(2))
            .key("reused")
            .send(&backend)
            .await;
        assert_eq!(response.status, StatusCode::CONFLICT);
        assert_eq!(error_type(&response), "ConflictException");
        let message = response.body.as_ref().unwrap()["message"].as_str().unwrap();
        assert!(
            message.contains("\"reused\"") && message.contains("different request"),
            "{message}"
        );
        assert!(!response.replayed);
        assert_eq!(all_orders(&backend, ACME).await.len(), 13);
    });
}

// ---- Cancel -----------------------------------------------------------------------------------

#[tokio::test]
async fn cancel_changes_the_status_once() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let order = call(ACME, "v2", "CreateOrder")
            .body(order_body(1))
            .key("to-cancel")
            .ok(&backend)
            .await;
        let id = order["id"].as_str().unwrap();
        let cancelled = call(ACME, "v2", "CancelOrder")
            .id("orderId", id)
            .ok(&backend)
            .await;
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(cancelled["id"], id);
        let fetched = call(ACME, "v2", "GetOrder")
            .id("orderId", id)
            .ok(&backend)
            .await;
        assert_eq!(fetched, cancelled);

        let again = call(ACME, "v2", "CancelOrder")
            .id("orderId", id)
            .send(&backend)
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(error_type(&again), "ConflictException");
        assert_eq!(
            again.body.as_ref().unwrap()["message"],
            format!("Order {id} is already cancelled.")
        );

        // A shipped seed order cannot be cancelled either.
        let orders = all_orders(&backend, ACME).await;
        if let Some(shipped) = orders
            .iter()
            .find(|o| o["status"] == "shipped" || o["status"] == "delivered")
        {
            let response = call(ACME, "v2", "CancelOrder")
                .id("orderId", shipped["id"].as_str().unwrap())
                .send(&backend)
                .await;
            assert_eq!(response.status, StatusCode::CONFLICT);
        }
        let unknown = call(ACME, "v2", "CancelOrder")
            .id("orderId", "ord_00000000000000000000000000")
            .send(&backend)
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    });
}

// ---- seed-ids: the items the model's examples name -------------------------------------------

const EXAMPLE_ORDER: &str = "ord_01jd8x5v7k2m3n4p5q6r7s8t9v";
const EXAMPLE_PRODUCTS: [&str; 2] = [
    "prd_01jd8x5v7k2m3n4p5q6r7s8t9v",
    "prd_01jd8x5v7k2m3n4p5q6r7s8t9w",
];
const EXAMPLE_USER: &str = "usr_01jd8x5v7k2m3n4p5q6r7s8t9v";

#[test]
fn the_last_seed_items_take_the_models_seed_ids_in_every_tenant() {
    for version in ["v1", "v2"] {
        for (operation, expected) in [
            ("GetOrder", &[EXAMPLE_ORDER][..]),
            ("GetProduct", &EXAMPLE_PRODUCTS[..]),
            ("DeleteAccount", &[EXAMPLE_USER][..]),
        ] {
            let (_, op) = op(version, operation);
            let binding = op.sandbox.as_ref().unwrap();
            for tenant in [ACME, GLOBEX] {
                let items = SyntheticBackend::seed_items(tenant, binding);
                let own = items.len() - expected.len();
                assert_eq!(ids(&items[own..]), expected, "{version} {operation}");
                assert!(
                    ids(&items[..own])
                        .iter()
                        .all(|id| !expected.contains(&id.as_str())),
                    "{version} {operation}"
                );
                let tenant_field = &items[own][&binding.tenant_field];
                let expected_tenant = if binding.shared { "*" } else { tenant };
                assert_eq!(tenant_field, expected_tenant);
            }
        }
        // Their values: the example order is pending (it can be cancelled), the example
        // products are active.
        let (_, get) = op(version, "GetOrder");
        for tenant in [ACME, GLOBEX] {
            let orders = SyntheticBackend::seed_items(tenant, get.sandbox.as_ref().unwrap());
            let example = orders.last().unwrap();
            assert_eq!(example["status"], "pending", "{version} {example}");
        }
        let (_, get) = op(version, "GetProduct");
        let products = SyntheticBackend::seed_items("*", get.sandbox.as_ref().unwrap());
        assert!(
            products[18..].iter().all(|p| p["active"] == true),
            "{version}"
        );
    }
}

/// The shipped models without their `seed-ids`.
fn shipped_without_seed_ids() -> ApiCatalog {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/api");
    let mut sources = Vec::new();
    for version in ["v0", "v1", "v2"] {
        let text = std::fs::read_to_string(dir.join(format!("{version}.yaml"))).unwrap();
        let mut kept = String::new();
        let mut in_seed_ids = false;
        for line in text.lines() {
            if line.starts_with("    seed-ids:") {
                // A block list follows `seed-ids:` alone on its line.
                in_seed_ids = line.trim_end().ends_with(':');
                continue;
            }
            if in_seed_ids && line.starts_with("      - ") {
                continue;
            }
            in_seed_ids = false;
            kept.push_str(line);
            kept.push('\n');
        }
        sources.push((format!("content/api/{version}.yaml"), kept));
    }
    let catalog = ApiCatalog::from_sources(sources).unwrap();
    for version in catalog.versions() {
        for op in &version.operations {
            let storage = &op.sandbox.as_ref().unwrap().storage;
            assert!(storage.seed_ids.is_empty(), "{}", op.operation_id);
        }
    }
    catalog
}

#[test]
fn seed_ids_change_only_the_ids_and_values_of_their_items() {
    let before = &shipped_without_seed_ids();
    fn binding<'a>(catalog: &'a ApiCatalog, operation: &str) -> &'a SandboxBinding {
        let op = catalog.version("v2").unwrap().operation(operation).unwrap();
        op.sandbox.as_ref().unwrap()
    }
    let without = |mut item: Value, fields: &[&str]| {
        for field in fields {
            item.as_object_mut().unwrap().remove(*field);
        }
        item
    };
    // Products: the last two take the example ids and are active; nothing else changes.
    let old = SyntheticBackend::seed_items("*", binding(before, "GetProduct"));
    let new = SyntheticBackend::seed_items("*", binding(catalog(), "GetProduct"));
    assert_eq!(old.len(), new.len());
    assert_eq!(old[..18], new[..18]);
    for (a, b) in old[18..].iter().zip(&new[18..]) {
        assert_eq!(
            without(a.clone(), &["id", "active"]),
            without(b.clone(), &["id", "active"])
        );
    }
    // Orders: the last one takes the example id, pending; lines naming a product that took
    // an example id name it by that id, at the same price.
    let renamed = |id: &Value| -> Value {
        old.iter()
            .position(|p| p["id"] == *id)
            .map_or_else(|| id.clone(), |at| new[at]["id"].clone())
    };
    for tenant in [ACME, GLOBEX] {
        let old_orders = SyntheticBackend::seed_items(tenant, binding(before, "GetOrder"));
        let new_orders = SyntheticBackend::seed_items(tenant, binding(catalog(), "GetOrder"));
        assert_eq!(old_orders.len(), new_orders.len());
        let last = old_orders.len() - 1;
        for (at, (a, b)) in old_orders.iter().zip(&new_orders).enumerate() {
            let mut a = a.clone();
            for line in a["items"].as_array_mut().unwrap() {
                line["product_id"] = renamed(&line["product_id"]);
            }
            if at == last {
                assert_eq!(b["id"], EXAMPLE_ORDER);
                assert_eq!(b["status"], "pending");
                assert_eq!(
                    without(a, &["id", "status"]),
                    without(b.clone(), &["id", "status"])
                );
            } else {
                assert_eq!(&a, b);
            }
        }
    }
    // Users: the last one takes the example id.
    let old_users = SyntheticBackend::seed_items(ACME, binding(before, "DeleteAccount"));
    let new_users = SyntheticBackend::seed_items(ACME, binding(catalog(), "DeleteAccount"));
    assert_eq!(old_users[..4], new_users[..4]);
    assert_eq!(new_users[4]["id"], EXAMPLE_USER);
    assert_eq!(
        without(old_users[4].clone(), &["id"]),
        without(new_users[4].clone(), &["id"])
    );
}

/// The ids an operation's request examples name, with the binding of their collection:
/// the id parameter's example, and the ids a create body's lines look up.
fn example_ids(
    version: &'static ApiVersion,
    op: &'static Operation,
) -> Vec<(&'static Operation, String)> {
    let Some(binding) = &op.sandbox else {
        return Vec::new();
    };
    let mut found = Vec::new();
    if let Some(name) = &binding.id_param {
        let parameter = op
            .parameter(portico_sandbox::model::ParamLocation::Path, name)
            .unwrap();
        let example = parameter.schema["example"].as_str().unwrap_or_else(|| {
            panic!(
                "{} {}: path parameter {name} has no example",
                version.name, op.operation_id
            )
        });
        found.push((op, example.to_owned()));
    }
    let media = &version.document["paths"][&op.path][op.method.as_str().to_ascii_lowercase()]["requestBody"]
        ["content"]["application/json"];
    let body = media["examples"]
        .as_object()
        .and_then(|named| named.values().next())
        .map(|first| first["value"].clone())
        .or_else(|| media.get("example").cloned());
    if let Some(body) = body {
        for lookup in &binding.lookups {
            let target = version
                .operations
                .iter()
                .find(|other| {
                    other
                        .sandbox
                        .as_ref()
                        .is_some_and(|b| b.storage.name == lookup.target.name)
                })
                .unwrap();
            let elements: Vec<&Value> = match &lookup.each {
                Some(each) => body[each.as_str()]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .collect(),
                None => vec![&body],
            };
            for element in elements {
                if let Some(id) = element[lookup.by.as_str()].as_str() {
                    found.push((target, id.to_owned()));
                }
            }
        }
    }
    found
}

#[test]
fn every_id_the_request_examples_name_is_a_seed_item_of_every_tenant() {
    let mut checked = 0;
    for version in catalog().versions() {
        for op in &version.operations {
            for (owner, id) in example_ids(version, op) {
                let binding = owner.sandbox.as_ref().unwrap();
                for tenant in [ACME, GLOBEX] {
                    let items = SyntheticBackend::seed_items(tenant, binding);
                    assert!(
                        ids(&items).contains(&id),
                        "{} {}: the example names {id}, which {tenant}'s seed data does not hold",
                        version.name,
                        op.operation_id
                    );
                }
                checked += 1;
            }
        }
    }
    // GetOrder, CancelOrder, GetProduct, DeleteAccount and CreateOrder's two lines, twice.
    assert_eq!(checked, 2 * 6);
}

#[tokio::test]
async fn every_tenant_has_its_own_example_items() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let (_, get) = op("v2", "GetOrder");
        let binding = get.sandbox.as_ref().unwrap();
        // Acme has touched its orders before Globex: still, each sees its own.
        let acme = call(ACME, "v2", "GetOrder")
            .id("orderId", EXAMPLE_ORDER)
            .ok(&backend)
            .await;
        assert_eq!(acme["tenant_id"], ACME);
        for tenant in [ACME, GLOBEX] {
            assert_eq!(
                backend
                    .owner_of(binding, EXAMPLE_ORDER, tenant)
                    .await
                    .as_deref(),
                Some(tenant)
            );
        }
        let cancelled = call(ACME, "v1", "CancelOrder")
            .id("orderId", EXAMPLE_ORDER)
            .ok(&backend)
            .await;
        assert_eq!(cancelled["status"], "cancelled");
        let globex = call(GLOBEX, "v2", "GetOrder")
            .id("orderId", EXAMPLE_ORDER)
            .ok(&backend)
            .await;
        assert_eq!(globex["tenant_id"], GLOBEX);
        assert_eq!(globex["status"], "pending");
        assert_ne!(globex, acme);
        call(GLOBEX, "v2", "CancelOrder")
            .id("orderId", EXAMPLE_ORDER)
            .ok(&backend)
            .await;
        // The shared catalogue's example products are the one catalogue's.
        let (_, product) = op("v2", "GetProduct");
        call(ACME, "v2", "GetProduct")
            .id("productId", EXAMPLE_PRODUCTS[0])
            .ok(&backend)
            .await;
        assert_eq!(
            backend
                .owner_of(product.sandbox.as_ref().unwrap(), EXAMPLE_PRODUCTS[0], ACME)
                .await
                .as_deref(),
            Some("*")
        );
        // The example user is each tenant's own (deleting Acme's leaves Globex's).
        let (_, delete) = op("v2", "DeleteAccount");
        assert_eq!(
            backend
                .owner_of(delete.sandbox.as_ref().unwrap(), EXAMPLE_USER, GLOBEX)
                .await
                .as_deref(),
            Some(GLOBEX)
        );
        let deleted = call(ACME, "v2", "DeleteAccount")
            .id("userId", EXAMPLE_USER)
            .send(&backend)
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let again = call(ACME, "v2", "DeleteAccount")
            .id("userId", EXAMPLE_USER)
            .send(&backend)
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        let theirs = call(GLOBEX, "v2", "DeleteAccount")
            .id("userId", EXAMPLE_USER)
            .send(&backend)
            .await;
        assert_eq!(theirs.status, StatusCode::NO_CONTENT);
    });
}

// ---- Tenant isolation ---------------------------------------------------------------------------

#[tokio::test]
async fn a_tenant_never_sees_or_changes_another_tenants_objects() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let created = call(ACME, "v2", "CreateOrder")
            .body(order_body(2))
            .key("acme-1")
            .ok(&backend)
            .await;
        let created_id = created["id"].as_str().unwrap().to_owned();
        let seeded_id = all_orders(&backend, ACME).await[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();

        for id in [&created_id, &seeded_id] {
            let get = call(GLOBEX, "v2", "GetOrder")
                .id("orderId", id)
                .send(&backend)
                .await;
            assert_eq!(get.status, StatusCode::NOT_FOUND);
            assert_eq!(error_type(&get), "NotFoundException");
            assert_eq!(
                get.body.as_ref().unwrap()["message"],
                format!("Order {id} does not exist.")
            );
            let cancel = call(GLOBEX, "v2", "CancelOrder")
                .id("orderId", id)
                .send(&backend)
                .await;
            assert_eq!(cancel.status, StatusCode::NOT_FOUND);
        }
        let globex = all_orders(&backend, GLOBEX).await;
        assert!(globex.iter().all(|o| o["tenant_id"] == GLOBEX));
        assert!(!ids(&globex).contains(&created_id));
        assert!(!ids(&globex).contains(&seeded_id));
        // ACME's order is untouched.
        let still = call(ACME, "v2", "GetOrder")
            .id("orderId", &created_id)
            .ok(&backend)
            .await;
        assert_eq!(still, created);

        // Packages and users too.
        let acme_packages = call(ACME, "v2", "ListPackages")
            .query("limit", "100")
            .ok(&backend)
            .await;
        let globex_packages = call(GLOBEX, "v2", "ListPackages")
            .query("limit", "100")
            .ok(&backend)
            .await;
        assert!(
            acme_packages["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["tenant_id"] == ACME)
        );
        assert!(
            globex_packages["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["tenant_id"] == GLOBEX)
        );
        let (_, delete) = op("v2", "DeleteAccount");
        let acme_user =
            SyntheticBackend::seed_items(ACME, delete.sandbox.as_ref().unwrap())[0]["id"]
                .as_str()
                .unwrap()
                .to_owned();
        let refused = call(GLOBEX, "v2", "DeleteAccount")
            .id("userId", &acme_user)
            .send(&backend)
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        let (version, get) = op("v2", "GetOrder");
        assert!(
            backend
                .find_item(GLOBEX, version, get, &created_id)
                .await
                .unwrap()
                .is_none()
        );
        // The real owner, whoever asks (the gateway gives it to Cedar).
        let binding = get.sandbox.as_ref().unwrap();
        for caller in [ACME, GLOBEX] {
            assert_eq!(
                backend
                    .owner_of(binding, &created_id, caller)
                    .await
                    .as_deref(),
                Some(ACME)
            );
            assert_eq!(
                backend
                    .owner_of(binding, &seeded_id, caller)
                    .await
                    .as_deref(),
                Some(ACME)
            );
            assert_eq!(backend.owner_of(binding, "ord_nobody", caller).await, None);
        }
        let found = backend
            .find_item(ACME, version, get, &created_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found["tenant_id"], ACME);
    });
}

#[tokio::test]
async fn delete_removes_an_account_once() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let (_, delete) = op("v2", "DeleteAccount");
        let user = SyntheticBackend::seed_items(ACME, delete.sandbox.as_ref().unwrap())[1]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let response = call(ACME, "v2", "DeleteAccount")
            .id("userId", &user)
            .send(&backend)
            .await;
        assert_eq!(response.status, StatusCode::NO_CONTENT);
        assert_eq!(response.body, None);
        let again = call(ACME, "v2", "DeleteAccount")
            .id("userId", &user)
            .send(&backend)
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    });
}

// ---- Reset -------------------------------------------------------------------------------------

#[tokio::test]
async fn reset_restores_the_seed_data() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let seeds = all_orders(&backend, ACME).await;
        let globex_before = all_orders(&backend, GLOBEX).await;
        let created = call(ACME, "v2", "CreateOrder")
            .body(order_body(1))
            .key("before-reset")
            .ok(&backend)
            .await;
        let pending = seeds
            .iter()
            .find(|o| o["status"] == "pending" || o["status"] == "confirmed")
            .unwrap();
        call(ACME, "v2", "CancelOrder")
            .id("orderId", pending["id"].as_str().unwrap())
            .ok(&backend)
            .await;
        assert_ne!(all_orders(&backend, ACME).await, seeds);

        let report = backend.reset_tenant(ACME).await.unwrap();
        assert!(report.objects >= 13, "{report:?}");
        assert!(report.seeded_markers >= 1);
        assert_eq!(report.idempotency_records, 1);

        assert_eq!(all_orders(&backend, ACME).await, seeds);
        let gone = call(ACME, "v2", "GetOrder")
            .id("orderId", created["id"].as_str().unwrap())
            .send(&backend)
            .await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        // The key is forgotten: the same request creates a new order.
        let again = call(ACME, "v2", "CreateOrder")
            .body(order_body(1))
            .key("before-reset")
            .send(&backend)
            .await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert!(!again.replayed);
        assert_ne!(again.body.unwrap()["id"], created["id"]);
        // Other tenants and the shared catalogue are untouched.
        assert_eq!(all_orders(&backend, GLOBEX).await, globex_before);
        // (Creating an order looked its product up: the catalogue store is seeded.)
        let shared = sandbox_data::count(
            &db,
            sandbox_data::CollectionKey {
                tenant_id: "*",
                version: sandbox_data::ALL_VERSIONS,
                collection: "commercial-products",
            },
        )
        .await
        .unwrap();
        assert_eq!(shared, 20);
    });
}

// ---- Pagination and filters --------------------------------------------------------------------

#[tokio::test]
async fn v2_pages_with_cursors() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let everything = all_orders(&backend, ACME).await;
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = Vec::new();
        loop {
            let mut request = call(ACME, "v2", "ListOrders").query("limit", "5");
            if let Some(cursor) = &cursor {
                request = request.query("cursor", cursor);
            }
            let page = request.ok(&backend).await;
            let data = page["data"].as_array().unwrap().clone();
            pages.push(data.len());
            seen.extend(data);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, [5, 5, 2]);
        assert_eq!(seen, everything);

        // An order created meanwhile shows up at the end, not in an earlier page.
        let first = call(ACME, "v2", "ListOrders")
            .query("limit", "12")
            .ok(&backend)
            .await;
        assert_eq!(first["next_cursor"], Value::Null);
        call(ACME, "v2", "CreateOrder")
            .body(order_body(1))
            .key("late")
            .ok(&backend)
            .await;
        let first = call(ACME, "v2", "ListOrders")
            .query("limit", "12")
            .ok(&backend)
            .await;
        let next = first["next_cursor"].as_str().unwrap();
        let rest = call(ACME, "v2", "ListOrders")
            .query("cursor", next)
            .ok(&backend)
            .await;
        assert_eq!(rest["data"].as_array().unwrap().len(), 1);
        assert_eq!(rest["next_cursor"], Value::Null);

        // The default page size is 20.
        let default = call(ACME, "v2", "ListOrders").ok(&backend).await;
        assert_eq!(default["data"].as_array().unwrap().len(), 13);

        let bad = call(ACME, "v2", "ListOrders")
            .query("cursor", "garbage!")
            .send(&backend)
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(error_type(&bad), "ValidationException");
        assert_eq!(
            bad.body.unwrap()["fieldErrors"],
            json!([{"path": "query.cursor", "message": "is not a cursor returned by this API"}])
        );
    });
}

#[tokio::test]
async fn v1_pages_with_page_numbers_and_totals() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let list = |page: &str| {
            call(ACME, "v1", "ListOrders")
                .query("page", page)
                .query("per_page", "5")
        };
        let mut all = Vec::new();
        for (page, expected) in [("1", 5), ("2", 5), ("3", 2), ("4", 0)] {
            let body = list(page).ok(&backend).await;
            assert_eq!(body["total"], 12, "{body}");
            assert_eq!(body["page"], page.parse::<u64>().unwrap());
            assert_eq!(body["per_page"], 5);
            let items = body["items"].as_array().unwrap();
            assert_eq!(items.len(), expected, "page {page}");
            all.extend(items.iter().cloned());
        }
        let unique: HashSet<String> = ids(&all).into_iter().collect();
        assert_eq!(unique.len(), 12);
        // v1 money is in cents.
        assert!(
            all.iter()
                .all(|o| o["total_cents"].is_i64() && o.get("total").is_none())
        );
        assert!(all.iter().all(|o| o["tenant_id"] == ACME));
    });
}

#[tokio::test]
async fn lists_filter_on_item_properties() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let everything = all_orders(&backend, ACME).await;
        for status in ["pending", "confirmed", "shipped", "delivered", "cancelled"] {
            let expected: Vec<&Value> = everything
                .iter()
                .filter(|o| o["status"] == status)
                .collect();
            let v2 = call(ACME, "v2", "ListOrders")
                .query("status", status)
                .query("limit", "2")
                .ok(&backend)
                .await;
            let page = v2["data"].as_array().unwrap();
            assert_eq!(page.len(), expected.len().min(2), "{status}");
            assert!(page.iter().all(|o| o["status"] == status));
            assert_eq!(
                v2["next_cursor"].is_string(),
                expected.len() > 2,
                "{status}"
            );
            let v1 = call(ACME, "v1", "ListOrders")
                .query("status", status)
                .ok(&backend)
                .await;
            assert!(
                v1["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|o| o["status"] == status)
            );
        }
    });
}

// ---- Provider preferences ----------------------------------------------------------------------

fn package(provider: &str) -> Value {
    json!({"id": format!("pkg_{provider}"), "provider": provider})
}

fn providers(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|p| p["provider"].as_str().unwrap_or("-"))
        .collect()
}

#[test]
fn package_preferences_filter_providers() {
    let items = vec![
        package("atlas-freight"),
        package("cobalt-express"),
        package("atlas-freight"),
        package("delta-parcel"),
        package("equinox-cargo"),
        json!({"id": "pkg_none"}),
    ];
    let keep = |prefs: ProviderPreferences| filter_packages(items.clone(), &prefs);

    assert_eq!(keep(ProviderPreferences::default()), items);
    let blocked = keep(ProviderPreferences {
        blocked_providers: vec!["Atlas-Freight".into()],
        ..Default::default()
    });
    assert_eq!(
        providers(&blocked),
        ["cobalt-express", "delta-parcel", "equinox-cargo", "-"]
    );
    let allowed = keep(ProviderPreferences {
        allowed_providers: Some(vec!["delta-parcel".into(), "atlas-freight".into()]),
        ..Default::default()
    });
    assert_eq!(
        providers(&allowed),
        ["atlas-freight", "atlas-freight", "delta-parcel"]
    );
    let both = keep(ProviderPreferences {
        blocked_providers: vec!["atlas-freight".into()],
        allowed_providers: Some(vec!["delta-parcel".into(), "atlas-freight".into()]),
        max_providers: None,
    });
    assert_eq!(providers(&both), ["delta-parcel"]);
    let max = keep(ProviderPreferences {
        max_providers: Some(2),
        ..Default::default()
    });
    assert_eq!(
        providers(&max),
        ["atlas-freight", "cobalt-express", "atlas-freight"]
    );
    let max_after_block = keep(ProviderPreferences {
        blocked_providers: vec!["cobalt-express".into()],
        max_providers: Some(2),
        ..Default::default()
    });
    assert_eq!(
        providers(&max_after_block),
        ["atlas-freight", "atlas-freight", "delta-parcel"]
    );
    assert!(
        keep(ProviderPreferences {
            max_providers: Some(0),
            ..Default::default()
        })
        .is_empty()
    );

    let parsed: ProviderPreferences =
        serde_json::from_value(json!({"blocked_providers": ["x"], "max_providers": 3})).unwrap();
    assert_eq!(parsed.allowed_providers, None);
    assert!(serde_json::from_value::<ProviderPreferences>(json!({"blocked": ["x"]})).is_err());
}

#[tokio::test]
async fn listed_packages_honour_the_applications_preferences() {
    on_both_engines!(|db| {
        let backend = SyntheticBackend::new(db.clone());
        let all = call(ACME, "v2", "ListPackages")
            .query("limit", "100")
            .ok(&backend)
            .await;
        let all = all["data"].as_array().unwrap().clone();
        assert_eq!(all.len(), 15);
        let distinct: Vec<&str> = {
            let mut seen = Vec::new();
            for p in providers(&all) {
                if !seen.contains(&p) {
                    seen.push(p);
                }
            }
            seen
        };
        assert!(distinct.len() >= 3, "{distinct:?}");

        let list = |prefs: ProviderPreferences| {
            call(ACME, "v2", "ListPackages")
                .query("limit", "100")
                .preferences(prefs)
        };
        let blocked = ProviderPreferences {
            blocked_providers: vec![distinct[0].to_owned()],
            ..Default::default()
        };
        let body = list(blocked.clone()).ok(&backend).await;
        let items = body["data"].as_array().unwrap().clone();
        assert_eq!(items, filter_packages(all.clone(), &blocked));
        assert!(providers(&items).iter().all(|p| *p != distinct[0]));

        let max = ProviderPreferences {
            max_providers: Some(2),
            ..Default::default()
        };
        let body = list(max.clone()).ok(&backend).await;
        let items = body["data"].as_array().unwrap().clone();
        assert_eq!(items, filter_packages(all.clone(), &max));
        let kept: HashSet<&str> = providers(&items).into_iter().collect();
        assert_eq!(kept, HashSet::from([distinct[0], distinct[1]]));

        // Preferences apply before paging: pages hold only permitted packages.
        let allowed = ProviderPreferences {
            allowed_providers: Some(vec![distinct[1].to_owned()]),
            ..Default::default()
        };
        let expected = filter_packages(all.clone(), &allowed);
        let first = call(ACME, "v2", "ListPackages")
            .query("limit", "1")
            .preferences(allowed.clone())
            .ok(&backend)
            .await;
        assert_eq!(first["data"], json!([expected[0].clone()]));
        assert_eq!(first["next_cursor"].is_string(), expected.len() > 1);

        // And the v1 page style with its total.
        let v1 = call(ACME, "v1", "ListPackages")
            .query("per_page", "100")
            .preferences(allowed)
            .ok(&backend)
            .await;
        let v1_items = v1["items"].as_array().unwrap();
        assert_eq!(v1["total"], v1_items.len());
        assert!(providers(v1_items).iter().all(|p| *p == distinct[1]) || v1_items.is_empty());
    });
}

// ---- The second model ------------------------------------------------------------------------

#[tokio::test]
async fn the_second_model_is_served_without_code_changes() {
    on_both_engines!(|db| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/library");
        let library = ApiCatalog::load(Some(&dir)).unwrap();
        let backend = SyntheticBackend::new(db.clone());
        let version = library.version("v1").unwrap();
        let request = |operation: &'static str,
                       path: Vec<(String, String)>,
                       body: Option<Value>| { (operation, path, body) };
        let send = |(operation, path, body): (&str, Vec<(String, String)>, Option<Value>)| {
            let backend = backend.clone();
            let op = version.operation(operation).unwrap().clone();
            async move {
                backend
                    .handle(BackendRequest {
                        tenant: "lib_central",
                        client_id: "cli_library",
                        version,
                        operation: &op,
                        path_params: &path,
                        query: &[],
                        body: body.as_ref(),
                        idempotency_key: Some("loan-key-1"),
                        preferences: None,
                    })
                    .await
            }
        };
        let books = send(request("ListBooks", vec![], None)).await;
        let books = books.body.unwrap();
        let books = books.as_array().unwrap().clone();
        assert_eq!(books.len(), 4);
        assert!(books.iter().all(|b| b["library_id"] == "lib_central"));
        let isbn = books[0]["isbn"].as_str().unwrap().to_owned();
        assert!(isbn.starts_with("bk_"));
        let one = send(request(
            "GetBook",
            vec![("isbn".into(), isbn.clone())],
            None,
        ))
        .await;
        assert_eq!(one.body.unwrap(), books[0]);
        let loan = send(request(
            "CreateLoan",
            vec![("isbn".into(), isbn)],
            Some(json!({"member": "ada@example.org", "weeks": 2})),
        ))
        .await;
        assert_eq!(loan.status, StatusCode::CREATED);
        let loan = loan.body.unwrap();
        assert_eq!(loan["member"], "ada@example.org");
        assert_eq!(loan["weeks"], 2);
        assert_eq!(loan["returned"], false);
        assert_eq!(loan["tenant_id"], "lib_central");
        assert!(loan["id"].as_str().unwrap().starts_with("loan_"));
        // No synthetic binding → a clear 503, not a panic.
        let search = send(request("SearchBooks", vec![], None)).await;
        assert_eq!(search.status, StatusCode::SERVICE_UNAVAILABLE);
    });
}
