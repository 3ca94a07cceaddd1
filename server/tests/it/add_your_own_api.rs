//! "Add your own API" (content/docs/add-your-own-api.md): an API unrelated to the shipped one
//! (shipments: its own scopes, Cedar resource type, actions, policies and schema fragment,
//! `server/tests/fixtures/logistics/`) added to a copy of the shipped content works with
//! content changes only, everywhere the models reach: start-up's load and `portico check`,
//! the reference, the OAuth metadata, `app create`, tokens, the sandbox, the status probe.
//! And `portico check` on broken content lists every problem with its file and operation.

use crate::common::{TestApp, TestResponse, test_master_key};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use portico_core::authz::scopes::Scopes;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const VERSION: &str = "logistics-v1";
/// The shipment the model's `seed-ids` gives every partner (booked).
const SEEDED: &str = "shp_01jd8x5v7k2m3n4p5q6r7s8t9v";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Copies the files of `from` with one of `extensions` into `to`.
fn copy_files(from: &Path, to: &Path, extensions: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e));
        if path.is_file() && wanted {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

/// The shipped models and policies plus the Logistics API, in a temporary content folder.
fn logistics_content() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = repository().join("content");
    let fixture = repository().join("server/tests/fixtures/logistics");
    let api = dir.path().join("api");
    let policies = dir.path().join("policies");
    copy_files(&shipped.join("api"), &api, &["yaml"]);
    copy_files(
        &shipped.join("policies"),
        &policies,
        &["cedar", "cedarschema"],
    );
    copy_files(&fixture.join("api"), &api, &["yaml"]);
    copy_files(
        &fixture.join("policies"),
        &policies,
        &["cedar", "cedarschema"],
    );
    dir
}

/// The real `portico` binary with a clean environment plus `envs`.
fn portico(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTICO_LOG", "error");
    for (key, value) in envs {
        cmd.env(key, value);
    }
    cmd.args(args).output().unwrap()
}

fn call(method: &str, path: &str, token: &str, body: Option<Value>) -> Request<Body> {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

fn book(token: &str, key: &str, body: Value) -> Request<Body> {
    let mut request = call("POST", &format!("/{VERSION}/shipments"), token, Some(body));
    request
        .headers_mut()
        .insert("idempotency-key", key.parse().unwrap());
    request
}

fn assert_error(res: &TestResponse, status: StatusCode, kind: &str) {
    assert_eq!(res.status, status, "{}", res.body);
    assert_eq!(res.json()["__type"], kind, "{}", res.body);
}

/// `POST /oauth2/token` with the client's secret; the token and its `scope`.
async fn token(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> (String, String) {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let mut form = "grant_type=client_credentials".to_owned();
    if let Some(scope) = scope {
        form.push_str(&format!("&scope={}", scope.replace(' ', "+")));
    }
    let res = app
        .sandbox(
            Request::post("/oauth2/token")
                .header("authorization", format!("Basic {basic}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let body = res.json();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["scope"].as_str().unwrap().to_owned(),
    )
}

fn a_booking() -> Value {
    json!({
        "reference": "SO-2026-0042",
        "origin": {"country": "DE", "postcode": "10115"},
        "destination": {"country": "FR", "postcode": "75001"},
        "parcels": [
            {"weight_grams": 1200, "dimensions_cm": {"length": 30, "width": 20, "height": 10}},
            {"weight_grams": 800, "dimensions_cm": {"length": 20, "width": 20, "height": 20}}
        ]
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unrelated_api_works_with_content_only() {
    let content = logistics_content();
    let content_dir = content.path().to_str().unwrap().to_owned();

    // Start-up's load finds nothing wrong, and neither does `portico check`.
    let report = portico_server::content::inspect(content.path());
    assert_eq!(report.problems, []);
    let (authorizer, catalog) = report.into_content().unwrap();
    let scope = catalog.scopes().get("logistics:read").unwrap();
    assert_eq!(scope.description, "Track your organisation's shipments.");
    let check = tokio::task::block_in_place(|| portico(&[], &["check", "--content", &content_dir]));
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        stdout.contains("no problem") && stdout.contains(VERSION),
        "{stdout}"
    );

    let app = TestApp::sqlite()
        .live()
        .with_content(authorizer, catalog)
        .await;

    // The reference renders every operation, with its scope and Cedar action.
    for (operation, scope) in [
        ("ListShipments", "logistics:read"),
        ("BookShipment", "logistics:write"),
        ("GetShipment", "logistics:read"),
        ("CancelShipment", "logistics:write"),
    ] {
        let page = app
            .get_portal(&format!("/reference/{VERSION}/{operation}"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{operation}");
        assert!(page.body.contains(scope), "{operation}: no {scope}");
        assert!(
            page.body.contains(&format!("logistics:{operation}")),
            "{operation}: no Cedar action"
        );
    }
    // Its SDKs too, with no code change: both languages, named from the model's title, one
    // method per operation in the samples.
    for (language, file) in [
        ("typescript", "portico-logistics-1.0.0.tgz"),
        ("python", "portico_logistics-1.0.0-py3-none-any.whl"),
    ] {
        let index = app
            .get_portal(&format!("/sdk/{language}/{VERSION}/index.json"))
            .await;
        assert_eq!(index.status, StatusCode::OK, "{language}");
        let index = index.json();
        assert_eq!(index["package"], "portico-logistics", "{language}");
        assert_eq!(index["files"][0]["name"], file, "{language}");
        let served = app
            .get_portal(&format!("/sdk/{language}/{VERSION}/{file}"))
            .await;
        assert_eq!(served.status, StatusCode::OK, "{language}");
    }
    let booking = app
        .get_portal(&format!("/reference/{VERSION}/BookShipment"))
        .await;
    assert!(
        booking.body.contains("bookShipment"),
        "TypeScript SDK sample"
    );
    assert!(booking.body.contains("book_shipment"), "Python SDK sample");
    // RFC 8414: the new scopes beside the shipped ones and Portico's own.
    let metadata = app
        .get_sandbox("/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(
        metadata["scopes_supported"],
        json!([
            "commercial:read",
            "commercial:write",
            "logistics:read",
            "logistics:write",
            "logs:read",
            "users:admin"
        ])
    );

    // `portico app create` takes the scopes the content declares; without that content
    // (the shipped models only) it refuses them.
    let database_url = app.database.url.as_str().to_owned();
    let master_key = test_master_key();
    let create = |partner: &str, scopes: &str, content: Option<&str>| {
        let mut envs = vec![
            ("DATABASE_URL", database_url.as_str()),
            ("PORTICO_MASTER_KEY", master_key.as_str()),
        ];
        if let Some(content) = content {
            envs.push(("PORTICO_CONTENT_DIR", content));
        }
        tokio::task::block_in_place(|| {
            portico(
                &envs,
                &[
                    "app",
                    "create",
                    "--partner",
                    partner,
                    "--name",
                    "Shipping",
                    "--scopes",
                    scopes,
                ],
            )
        })
    };
    let refused = create("acme", "logistics:read", Some("/nonexistent"));
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("unknown scope \"logistics:read\""),
        "{stderr}"
    );
    let created = create("acme", "logistics:read logistics:write", Some(&content_dir));
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let acme: Value = serde_json::from_slice(&created.stdout).unwrap();
    let (acme_id, acme_secret) = (
        acme["client_id"].as_str().unwrap(),
        acme["client_secret"].as_str().unwrap(),
    );

    // Tokens carry them: all by default, or the ones asked for.
    let (writer, granted) = token(&app, acme_id, acme_secret, None).await;
    assert_eq!(granted, "logistics:read logistics:write");
    let (reader, granted) = token(&app, acme_id, acme_secret, Some("logistics:read")).await;
    assert_eq!(granted, "logistics:read");

    // Seeded data, paged with the cursor: the seed count, the fixed example id, own tenant.
    let mut seen = Vec::new();
    let mut path = format!("/{VERSION}/shipments?limit=3");
    loop {
        let page = app.sandbox(call("GET", &path, &reader, None)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let page = page.json();
        let items = page["data"].as_array().unwrap();
        assert!(items.len() <= 3);
        for item in items {
            assert_eq!(item["tenant_id"], "acme", "{item}");
            assert!(
                item["parcels"][0]["dimensions_cm"]["height"].is_i64(),
                "{item}"
            );
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/{VERSION}/shipments?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert!(seen.iter().all(|id| id.starts_with("shp_")), "{seen:?}");
    assert!(seen.iter().any(|id| id == SEEDED), "{seen:?}");
    let seeded = app
        .sandbox(call(
            "GET",
            &format!("/{VERSION}/shipments/{SEEDED}"),
            &reader,
            None,
        ))
        .await;
    assert_eq!(seeded.status, StatusCode::OK, "{}", seeded.body);
    assert_eq!(seeded.json()["status"], "booked");

    // Validation of the nested body, each failing field by its path.
    let mut bad = a_booking();
    bad["origin"]["country"] = json!("de");
    bad["parcels"][0]["weight_grams"] = json!(0);
    bad["parcels"][1]["dimensions_cm"]["height"] = json!(500);
    let refused = app.sandbox(book(&writer, "book-bad", bad)).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "ValidationException");
    let paths: Vec<String> = refused.json()["fieldErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_owned())
        .collect();
    for expected in [
        "body.origin.country",
        "body.parcels[0].weight_grams",
        "body.parcels[1].dimensions_cm.height",
    ] {
        assert!(paths.iter().any(|p| p == expected), "{expected}: {paths:?}");
    }

    // A missing scope is 403, with the scope named for the caller.
    let refused = app.sandbox(book(&reader, "book-reader", a_booking())).await;
    assert_error(&refused, StatusCode::FORBIDDEN, "ForbiddenException");
    assert!(
        refused
            .header("www-authenticate")
            .contains("insufficient_scope"),
        "{:?}",
        refused.headers
    );

    // Book (idempotently), read it back, cancel it once.
    let booked = app.sandbox(book(&writer, "book-0001", a_booking())).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    let booked = booked.json();
    assert_eq!(booked["status"], "booked");
    assert_eq!(booked["tenant_id"], "acme");
    assert_eq!(booked["parcels"][1]["weight_grams"], 800);
    let id = booked["id"].as_str().unwrap().to_owned();
    let again = app.sandbox(book(&writer, "book-0001", a_booking())).await;
    assert_eq!(again.json()["id"], booked["id"], "a retry creates nothing");
    let read = app
        .sandbox(call(
            "GET",
            &format!("/{VERSION}/shipments/{id}"),
            &reader,
            None,
        ))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let cancel = format!("/{VERSION}/shipments/{id}/cancel");
    let cancelled = app.sandbox(call("POST", &cancel, &writer, None)).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.json()["status"], "cancelled");
    let twice = app.sandbox(call("POST", &cancel, &writer, None)).await;
    assert_error(&twice, StatusCode::CONFLICT, "ConflictException");
    assert!(
        twice.json()["message"]
            .as_str()
            .unwrap()
            .contains("Shipment"),
        "the message names the model's resource: {}",
        twice.body
    );
    let missing = app
        .sandbox(call(
            "GET",
            &format!("/{VERSION}/shipments/shp_00000000000000000000000000"),
            &reader,
            None,
        ))
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "NotFoundException");

    // Another partner's shipment does not exist for them; the Commercial API (v2) is as
    // before, and a logistics token opens nothing there.
    let (globex, _) = portico_core::apps::demo::create_app(
        &app.shared.db,
        "globex",
        "globex",
        "Both",
        &Scopes::parse("logistics:read commercial:read").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    let globex_token = app.tokens.issue(&globex, None).unwrap().access_token;
    let foreign = app
        .sandbox(call(
            "GET",
            &format!("/{VERSION}/shipments/{id}"),
            &globex_token,
            None,
        ))
        .await;
    assert_error(&foreign, StatusCode::NOT_FOUND, "NotFoundException");
    let orders = app
        .sandbox(call(
            "GET",
            "/v2/commercial/orders?limit=2",
            &globex_token,
            None,
        ))
        .await;
    assert_eq!(orders.status, StatusCode::OK, "{}", orders.body);
    assert_eq!(orders.json()["data"].as_array().unwrap().len(), 2);
    let not_commercial = app
        .sandbox(call("GET", "/v2/commercial/orders", &writer, None))
        .await;
    assert_error(&not_commercial, StatusCode::FORBIDDEN, "ForbiddenException");

    // The status probe picks a read operation of the new version and holds its scope.
    let prober = portico_server::probe::Prober::new(
        app.shared.db.clone(),
        app.shared.catalog.clone(),
        &app.shared.sandbox_url,
        None,
        portico_server::probe::derived_secret(&portico_core::testing::test_sealer()).unwrap(),
    )
    .unwrap();
    let results = prober.run_once().await.unwrap();
    let state = |component: &str| {
        results
            .iter()
            .find(|r| r.component == component)
            .unwrap_or_else(|| panic!("no {component}: {results:?}"))
    };
    for component in [
        "Sandbox API logistics-v1",
        "Sandbox API v2",
        "Sandbox API v1",
    ] {
        let result = state(component);
        assert_eq!(
            result.state,
            portico_core::status::ProbeState::Operational,
            "{component}: {result:?}"
        );
    }
    let status = app.get_portal("/status.json").await.json();
    assert!(
        status["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "Sandbox API logistics-v1" && c["status"] == "operational"),
        "{status}"
    );
}

/// `portico check` on content with one problem of each kind: every one listed on its own
/// line with file and operation, exit code 2.
#[test]
fn check_lists_every_problem_of_broken_content_and_exits_2() {
    let content = logistics_content();
    let api = content.path().join("api");
    let model = std::fs::read_to_string(api.join("logistics-v1.yaml")).unwrap();
    let broken = model
        // An operation naming a scope the model does not declare.
        .replacen(
            "x-required-scopes: [\"logistics:read\"]",
            "x-required-scopes: [\"logistics:admin\"]",
            1,
        )
        // An action the schema does not declare.
        .replace(
            "x-cedar-action: \"logistics:CancelShipment\"",
            "x-cedar-action: \"logistics:AbandonShipment\"",
        )
        // An operation whose resource type the Cedar schema does not declare.
        .replace(
            "\ncomponents:\n",
            r##"
  /parcels/{parcelId}:
    get:
      operationId: GetParcel
      x-cedar-action: "logistics:GetShipment"
      x-required-scopes: ["logistics:read"]
      x-sandbox:
        collection: parcels
        resource: Parcel
        behavior: get
        id-param: parcelId
        item-schema: {$ref: "#/components/schemas/Shipment"}
      parameters:
        - {name: parcelId, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: The parcel.}

components:
"##,
        );
    std::fs::write(api.join("logistics-v1.yaml"), broken).unwrap();
    // A dangling $ref in another model: that file does not load at all.
    std::fs::write(
        api.join("logistics-v2.yaml"),
        model.replace(
            "#/components/schemas/ShipmentPage",
            "#/components/schemas/ShipmentPages",
        ),
    )
    .unwrap();

    // A guide whose front matter does not parse (start-up builds the docs too).
    let docs = content.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("shipping.md"),
        "---\ntitle: Shipping\norder: soon\n---\n\n## Parcels\n",
    )
    .unwrap();

    let output = portico(
        &[],
        &["check", "--content", content.path().to_str().unwrap()],
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let line_with = |needles: &[&str]| {
        lines
            .iter()
            .find(|line| needles.iter().all(|n| line.contains(n)))
            .unwrap_or_else(|| panic!("no line with {needles:?}:\n{stdout}"))
    };
    let logistics = api.join("logistics-v1.yaml").display().to_string();
    line_with(&[
        &logistics,
        "operation ListShipments (GET /shipments)",
        "unknown scope \"logistics:admin\"",
    ]);
    line_with(&[
        &logistics,
        "operation GetParcel (GET /parcels/{parcelId})",
        "resource \"Parcel\" is not an entity type of the Cedar schema",
    ]);
    line_with(&[
        &logistics,
        "operation CancelShipment (POST /shipments/{shipmentId}/cancel)",
        "unknown x-cedar-action \"logistics:AbandonShipment\"",
    ]);
    line_with(&[
        &api.join("logistics-v2.yaml").display().to_string(),
        "operation ListShipments (GET /shipments)",
        "$ref \"#/components/schemas/ShipmentPages\"",
    ]);
    line_with(&[&docs.join("shipping.md").display().to_string()]);
    assert_eq!(lines.len(), 5, "one line per problem:\n{stdout}");
    assert_eq!(
        stderr.trim(),
        format!("portico: 5 problems in {}", content.path().display())
    );

    // Start-up stops on the same content, naming the same problems.
    let serve = portico(
        &[
            ("PORTICO_CONTENT_DIR", content.path().to_str().unwrap()),
            (
                "DATABASE_URL",
                &format!("sqlite://{}/portico.db", content.path().display()),
            ),
            ("PORTICO_PORTAL_ADDR", "127.0.0.1:0"),
            ("PORTICO_SANDBOX_ADDR", "127.0.0.1:0"),
        ],
        &["serve"],
    );
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert_eq!(serve.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("unknown scope \"logistics:admin\""),
        "{stderr}"
    );
    assert!(stderr.contains("ShipmentPages"), "{stderr}");
}

/// A scope a model stops declaring is not dropped silently: start-up warns, naming the
/// applications that still hold it.
#[test]
fn start_up_warns_about_scopes_no_model_declares_any_more() {
    let content = logistics_content();
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/portico.db", dir.path().display());
    let master_key = test_master_key();
    let created = portico(
        &[
            ("DATABASE_URL", &database_url),
            ("PORTICO_MASTER_KEY", &master_key),
            ("PORTICO_CONTENT_DIR", content.path().to_str().unwrap()),
        ],
        &[
            "app",
            "create",
            "--partner",
            "acme",
            "--name",
            "Shipping",
            "--scopes",
            "logistics:read",
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let client_id = serde_json::from_slice::<Value>(&created.stdout).unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The Logistics API is gone: the shipped content only.
    let (process, _) = crate::common::Process::start(
        dir.path(),
        &[
            ("PORTICO_MASTER_KEY", &master_key),
            ("PORTICO_CONTENT_DIR", "/nonexistent"),
        ],
        "sandbox",
    );
    let logs = process.logs();
    process.stop();
    let warning = logs
        .lines()
        .find(|line| line.contains("no served API model declares the scope logistics:read"))
        .unwrap_or_else(|| panic!("no warning:\n{logs}"));
    assert!(
        warning.contains(&client_id) && warning.contains("Shipping"),
        "{warning}"
    );
}
