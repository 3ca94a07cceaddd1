//! The public docs: every operation of the shipped models has a reference page, the guides
//! render, search finds operations and sections, the changelog lists the known v1 → v2
//! breaking changes, the downloads are what they claim, the generated curl and Python samples
//! work against a live sandbox, and "Try it" returns a sandbox response.

use crate::common::{Browser, TestApp};
use axum::http::StatusCode;
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use portico_sandbox::model::ApiCatalog;
use serde_json::Value;
use std::process::Command;

#[tokio::test]
async fn every_operation_of_the_shipped_models_has_a_reference_page() {
    let app = TestApp::sqlite().await;
    let catalog = ApiCatalog::embedded().unwrap();
    let mut pages = 0;
    for version in catalog.versions() {
        let index = app
            .get_portal(&format!("/reference/{}", version.name))
            .await;
        if version.operations.is_empty() {
            // v0 is retired and has no operations: its index still renders, saying so.
            assert_eq!(index.status, StatusCode::OK, "{}", version.name);
            continue;
        }
        assert_eq!(index.status, StatusCode::OK, "{}", version.name);
        for op in &version.operations {
            assert!(
                index
                    .body
                    .contains(&format!("/reference/{}/{}", version.name, op.operation_id)),
                "{} index lacks {}",
                version.name,
                op.operation_id
            );
            let page = app
                .get_portal(&format!("/reference/{}/{}", version.name, op.operation_id))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", op.operation_id);
            let body = &page.body;
            let path = format!("/{}{}", version.name, op.path);
            for needle in [
                op.operation_id.as_str(),
                op.method.as_str(),
                path.as_str(),
                op.action.as_ref(),
                "Code samples",
                "Try it",
                "/oauth2/token",
                "requestId",
            ] {
                assert!(
                    body.contains(&html_escape(needle)),
                    "{}/{} lacks {needle:?}",
                    version.name,
                    op.operation_id
                );
            }
            for scope in &op.required_scopes {
                assert!(
                    body.contains(scope.as_str()),
                    "{} lacks {scope}",
                    op.operation_id
                );
            }
            // Every error status the model lists appears with its Smithy type.
            let operation = version
                .source_document()
                .pointer(&format!(
                    "/paths/{}/{}",
                    op.path.replace('~', "~0").replace('/', "~1"),
                    op.method.as_str().to_lowercase()
                ))
                .unwrap();
            for status in operation["responses"].as_object().unwrap().keys() {
                assert!(
                    body.contains(&format!(">{status}<")),
                    "{} lacks {status}",
                    op.operation_id
                );
            }
            if op.request_body.is_some() {
                assert!(body.contains("Request body"), "{}", op.operation_id);
            }
            if version.lifecycle() != portico_sandbox::model::Lifecycle::Current {
                assert!(
                    body.contains("deprecated"),
                    "{} lacks its badge",
                    op.operation_id
                );
            }
            pages += 1;
        }
    }
    assert!(pages >= 16, "only {pages} operation pages");
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[tokio::test]
async fn create_order_page_shows_nested_fields_errors_and_the_sunset_of_v1() {
    let app = TestApp::sqlite().await;
    let page = app.get_portal("/reference/v2/CreateOrder").await;
    let body = &page.body;
    // Nested request fields with their constraints, and the response's money object.
    for needle in [
        r#"title="items[].product_id""#,
        r#"title="items[].quantity""#,
        "1 ≤ value ≤ 1000",
        r#"title="total.amount""#,
        "object (Money)",
        "ConflictException",
        "ThrottlingException",
        "LimitExceededException",
        "Idempotency-Key",
        "commercial:write",
        "commercial:CreateOrder",
    ] {
        assert!(body.contains(needle), "CreateOrder lacks {needle:?}");
    }
    // The version switcher keeps the operation.
    assert!(body.contains(r#"href="/reference/v1/CreateOrder""#));
    let v1 = app.get_portal("/reference/v1/CreateOrder").await;
    assert!(
        v1.body.contains("deprecated · sunset on 2027-06-30"),
        "v1 badge"
    );
    assert!(v1.body.contains(r#"href="/reference/v2/CreateOrder""#));
}

#[tokio::test]
async fn unknown_versions_operations_and_guides_are_404_pages() {
    let app = TestApp::sqlite().await;
    for path in [
        "/reference/v9",
        "/reference/v2/NoSuchThing",
        "/docs/no-such-guide",
        "/downloads/v2/x.json",
        "/downloads/v9/openapi.json",
    ] {
        let res = app.get_portal(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn every_guide_renders_with_its_table_of_contents() {
    let app = TestApp::sqlite().await;
    let home = app.get_portal("/docs").await;
    assert_eq!(home.status, StatusCode::OK);
    for slug in [
        "getting-started",
        "authentication",
        "errors",
        "rate-limits",
        "versioning",
        "sandbox",
        "security",
        "add-your-own-api",
    ] {
        assert!(
            home.body.contains(&format!("/docs/{slug}")),
            "docs home lacks {slug}"
        );
        let page = app.get_portal(&format!("/docs/{slug}")).await;
        assert_eq!(page.status, StatusCode::OK, "{slug}");
        assert!(
            page.body.contains(r#"class="toc""#),
            "{slug} has no table of contents"
        );
        assert!(
            page.body.contains(r#"<h2 id=""#),
            "{slug} has no anchored headings"
        );
        assert!(!page.body.contains("<script>"), "{slug}");
    }
    let versioning = app.get_portal("/docs/versioning").await;
    assert!(versioning.body.contains("18 months"), "the policy text");
    let getting_started = app.get_portal("/docs/getting-started").await;
    assert!(
        getting_started.body.contains("hl-"),
        "code is highlighted on the server"
    );
}

#[tokio::test]
async fn search_links_to_the_operation_and_the_section() {
    let app = TestApp::sqlite().await;
    let res = app.get_portal("/search?q=create+an+order").await;
    assert_eq!(res.status, StatusCode::OK);
    let first = res
        .body
        .find("/reference/v2/CreateOrder")
        .expect("CreateOrder found");
    if let Some(v1) = res.body.find("/reference/v1/CreateOrder") {
        assert!(first < v1, "the current version ranks first");
    }
    let res = app.get_portal("/search?q=ThrottlingException").await;
    assert!(
        res.body.contains("/docs/errors#throttlingexception"),
        "{}",
        res.body
    );
    let res = app
        .get_portal("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.body.contains("<script>alert"), "the query is escaped");
    assert!(res.body.contains("Nothing found"));
}

#[tokio::test]
async fn changelog_lists_the_known_breaking_changes_from_v1_to_v2() {
    let app = TestApp::sqlite().await;
    let res = app.get_portal("/changelog").await;
    assert_eq!(res.status, StatusCode::OK);
    let text = res.body.replace("&#x27;", "'");
    for change in [
        "query parameter `page` is removed",
        "query parameter `per_page` is removed",
        "response field `items` (array of Order) is removed",
        "response field `total_cents` (integer) is removed",
        "response field `price_cents` (integer) is removed",
        "new response field `next_cursor`",
        "new response field `total` (object)",
    ] {
        assert!(text.contains(change), "changelog lacks {change:?}");
    }
    // Each of those breaking ones is marked, the additions are not.
    let marked = |change: &str| {
        let at = text.find(change).unwrap();
        text[..at]
            .rfind("<li")
            .map(|li| text[li..at].contains("breaking"))
            .unwrap()
    };
    assert!(marked("query parameter `page` is removed"));
    assert!(marked("response field `total_cents` (integer) is removed"));
    assert!(!marked("new response field `next_cursor`"));
}

#[tokio::test]
async fn downloads_are_the_model_a_postman_collection_and_an_environment_without_secrets() {
    let app = TestApp::sqlite().await;
    let res = app.get_portal("/downloads/v2/openapi.json").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.header("content-disposition").contains("attachment"));
    let openapi = res.json();
    assert_eq!(openapi["openapi"], "3.1.0");
    assert_eq!(openapi["servers"][0]["url"], "http://sandbox.test/v2");
    assert!(openapi["paths"]["/commercial/orders"]["post"].is_object());

    let collection = app
        .get_portal("/downloads/v2/postman_collection.json")
        .await
        .json();
    assert_eq!(
        collection["info"]["schema"],
        "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    );
    // The collection gets its own token: bearer auth from a variable that the collection's
    // pre-request script fills from the token endpoint (so newman and CI need no app).
    assert_eq!(collection["auth"]["type"], "bearer");
    assert_eq!(collection["auth"]["bearer"][0]["value"], "{{access_token}}");
    let script = collection["event"][0]["script"]["exec"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(collection["event"][0]["listen"], "prerequest");
    for needle in [
        "pm.sendRequest",
        "pm.variables.get('token_url')",
        "pm.variables.get('client_id')",
        "pm.variables.get('client_secret')",
        "grant_type",
        "expires_in",
        "'x-api-key'",
    ] {
        assert!(script.contains(needle), "the token script lacks {needle}");
    }
    // No request sends a literal {{api_key}}: the script adds the header only when it is set.
    assert!(!collection.to_string().contains("{{api_key}}"));
    let requests: usize = collection["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|folder| folder["item"].as_array().unwrap().len())
        .sum();
    assert_eq!(requests, 8, "one request per v2 operation");

    let environment = app
        .get_portal("/downloads/sandbox.postman_environment.json")
        .await;
    assert!(!environment.body.contains("pcs_"), "never a real secret");
    let environment = environment.json();
    let values = environment["values"].as_array().unwrap();
    let var = |key: &str| values.iter().find(|v| v["key"] == key).unwrap()["value"].clone();
    assert_eq!(var("token_url"), "http://sandbox.test/oauth2/token");
    assert_eq!(
        var("client_secret"),
        portico_docsite::postman::SECRET_PLACEHOLDER
    );
}

/// A fresh partner's application with every partner scope, and its credentials.
async fn fresh_credentials(app: &TestApp, partner: &str) -> (String, String, String) {
    let scopes = Scopes::parse("commercial:read commercial:write users:admin").unwrap();
    let (_, credentials) = create_app(
        &app.shared.db,
        partner,
        partner,
        "Samples",
        &scopes,
        "sandbox",
    )
    .await
    .unwrap();
    (
        credentials.client_id.clone(),
        credentials.client_secret.expose().to_owned(),
        credentials.api_key.expose().to_owned(),
    )
}

/// What a sample should get: 2xx, except DeleteAccount, which only people may call.
fn expected(operation: &str, status: u16) -> bool {
    if operation == "DeleteAccount" {
        status == 403
    } else {
        (200..300).contains(&status)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_curl_and_python_samples_work_against_a_live_sandbox() {
    let app = TestApp::sqlite().live().await;
    let docs = app.shared.docs.current();
    let mut ran = 0;
    for version in docs.versions() {
        for op in &version.operations {
            for (label, program) in [("curl", "bash"), ("Python", "python3")] {
                let sample = op.samples.iter().find(|s| s.label == label).unwrap();
                assert!(
                    sample.code.contains("/oauth2/token"),
                    "{label} has the token step"
                );
                // A fresh partner per run: each sample runs on a new tenant's sandbox.
                let partner = format!("s{ran}");
                let (client_id, secret, api_key) = fresh_credentials(&app, &partner).await;
                let code = sample.code.clone();
                let output = tokio::task::spawn_blocking(move || {
                    Command::new(program)
                        .arg("-c")
                        .arg(&code)
                        .env("CLIENT_ID", client_id)
                        .env("CLIENT_SECRET", secret)
                        .env("API_KEY", api_key)
                        .output()
                        .unwrap()
                })
                .await
                .unwrap();
                let stdout = String::from_utf8_lossy(&output.stdout);
                assert!(
                    output.status.success(),
                    "{} {} {label} failed: {}\n{stdout}",
                    version.name,
                    op.id,
                    String::from_utf8_lossy(&output.stderr)
                );
                let status: u16 = if label == "curl" {
                    // `curl -i`: the status line comes first.
                    stdout
                        .lines()
                        .find(|l| l.starts_with("HTTP/"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0)
                } else {
                    stdout
                        .lines()
                        .next()
                        .and_then(|l| l.trim().parse().ok())
                        .unwrap_or(0)
                };
                assert!(
                    expected(&op.id, status),
                    "{} {} {label}: status {status}\n{stdout}",
                    version.name,
                    op.id
                );
                ran += 1;
            }
        }
    }
    assert!(ran >= 32, "ran {ran} samples");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_it_sends_the_call_to_the_sandbox_with_a_token_for_the_chosen_application() {
    let app = TestApp::sqlite().live().await;
    let email = "tryit@example.com";
    let mut browser = Browser::partner_with_org(&app, email, "Try It Ltd").await;
    let db = &app.shared.db;
    let user = {
        let mut conn = db.pool().acquire().await.unwrap();
        portico_core::identity::users::find_by_email(&mut conn, email)
            .await
            .unwrap()
            .unwrap()
    };
    let ctx = portico_core::identity::ActorContext::new(&user, "127.0.0.1");
    let (org, _) = portico_core::orgs::organisations::my_organisation(db, &ctx)
        .await
        .unwrap()
        .unwrap();
    let scopes = Scopes::parse("commercial:read commercial:write").unwrap();
    let (application, _) = create_app(db, &org.slug, &org.name, "Try app", &scopes, "sandbox")
        .await
        .unwrap();

    // Signed out: no form, a sign-in link.
    let anonymous = app.get_portal("/reference/v2/GetProduct").await;
    assert!(!anonymous.body.contains("try-it-form"));
    assert!(
        anonymous
            .body
            .contains("to send this request to the sandbox")
    );

    let page = browser.get("/reference/v2/GetProduct").await;
    assert!(
        page.body.contains("try-it-form"),
        "signed-in partners get the form"
    );
    assert!(page.body.contains(&application.id));

    // An unknown product: the sandbox's own 404, shown as it came.
    let res = browser
        .post(
            "/reference/v2/GetProduct/try",
            &[
                ("application", application.id.as_str()),
                ("path.productId", "prd_00000000000000000000000000"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.header("location"), "/reference/v2/GetProduct#try-it");
    let shown = browser.get("/reference/v2/GetProduct").await;
    assert_eq!(try_it_status(&shown.body), Some(404), "{}", shown.body);
    assert!(shown.body.contains("NotFoundException"));
    // Shown once.
    let again = browser.get("/reference/v2/GetProduct").await;
    assert!(!again.body.contains("try-it-status"));

    // A list call succeeds with the application's token.
    let res = browser
        .post(
            "/reference/v2/ListProducts/try",
            &[
                ("application", application.id.as_str()),
                ("query.limit", "2"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let shown = browser.get("/reference/v2/ListProducts").await;
    assert_eq!(try_it_status(&shown.body), Some(200), "{}", shown.body);
    assert!(shown.body.contains("next_cursor"));

    // Someone else's application is refused (no call is made).
    let mut other = Browser::partner_with_org(&app, "other@example.com", "Other Ltd").await;
    let res = other
        .post(
            "/reference/v2/ListProducts/try",
            &[("application", application.id.as_str())],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = other.get("/reference/v2/ListProducts").await;
    assert!(!page.body.contains("try-it-status"));
    assert!(page.body.contains("No such application"), "{}", page.body);

    // Bad input is a form error, never a 500: a body that is not JSON, a missing path value.
    let res = browser
        .post(
            "/reference/v2/CreateOrder/try",
            &[
                ("application", application.id.as_str()),
                ("header.Idempotency-Key", "k-1"),
                ("body", "{not json"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = browser.get("/reference/v2/CreateOrder").await;
    assert!(page.body.contains("not valid JSON"), "{}", page.body);
    let res = browser
        .post(
            "/reference/v2/GetOrder/try",
            &[
                ("application", application.id.as_str()),
                ("path.orderId", ""),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = browser.get("/reference/v2/GetOrder").await;
    assert!(
        page.body.contains("orderId (path) is required"),
        "{}",
        page.body
    );

    // Without the CSRF token the form is refused.
    let res = browser
        .post_raw(
            "/reference/v2/ListProducts/try",
            &[("application", application.id.as_str())],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

/// The status the page shows for the last "Try it".
fn try_it_status(body: &str) -> Option<u16> {
    let at = body.find(r#"data-testid="try-it-status""#)?;
    let rest = &body[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    rest[start..end].trim().parse().ok()
}

#[tokio::test]
async fn the_docs_built_from_the_catalogue_carry_the_gateway_dates() {
    let catalog = ApiCatalog::embedded().unwrap();
    let docs = portico_server::docs::build(
        &catalog,
        None,
        &crate::common::test_targets("http://sandbox.test"),
    )
    .unwrap();
    for version in catalog.versions() {
        let doc = docs.version(&version.name).unwrap();
        let lifecycle = version.lifecycle();
        let expected = match &lifecycle {
            portico_sandbox::model::Lifecycle::Current => None,
            portico_sandbox::model::Lifecycle::Deprecated { sunset, .. } => Some(sunset.as_str()),
            portico_sandbox::model::Lifecycle::Sunset { since } => Some(since.as_str()),
        };
        assert_eq!(doc.state.sunset_date(), expected, "{}", version.name);
    }
    let _: Value = serde_json::from_str(docs.openapi_json("v1").unwrap()).unwrap();
}

#[tokio::test]
async fn the_reference_lists_the_webhook_events_and_the_guide_explains_them() {
    let app = TestApp::sqlite().await;
    let page = app.get_portal("/reference/v2").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.body.replace("<!>", "");
    let webhooks = &body[body.find("id=\"webhooks\"").expect("a Webhooks section")..];
    for (event, summary) in [
        ("order.cancelled", "An order was cancelled"),
        ("order.created", "An order was created"),
        ("order.updated", "An order changed"),
    ] {
        assert!(
            webhooks.contains(&format!("id=\"webhook-{}\"", event.replace('.', "-"))),
            "{event}"
        );
        assert!(webhooks.contains(summary), "{summary}");
    }
    // The payload table names its fields.
    assert!(webhooks.contains("OrderEvent"), "{webhooks}");
    assert!(webhooks.contains("timestamp"));
    let guide = app.get_portal("/docs/webhooks").await;
    assert_eq!(guide.status, StatusCode::OK);
    let guide = guide.body.replace("<!>", "");
    for text in [
        "webhook-signature",
        "5 seconds, 5 minutes, 30 minutes",
        "Rotate the secret",
    ] {
        assert!(guide.contains(text), "{text}");
    }
}
