//! The portal's webhook pages and forms over HTTP: endpoints added from the application page
//! with the signing secret shown once (and sealed in the database), refused destinations,
//! edit, disable/enable, rotation, test events, the delivery log with its filters and replay,
//! deletion; roles, tenant isolation and CSRF.

use crate::common::{Browser, TestApp, TestResponse};
use axum::http::StatusCode;
use portico_core::identity::ActorContext;
use portico_core::identity::permissions::MemberRole;
use portico_core::identity::users;
use portico_core::orgs::organisations::{self, Organisation};
use portico_core::webhooks::{self, AttemptOutcome};

const EVENT_TYPES: [&str; 3] = ["order.cancelled", "order.created", "order.updated"];

async fn ctx_of(app: &TestApp, email: &str) -> ActorContext {
    let mut conn = app.shared.db.pool().acquire().await.unwrap();
    let user = users::find_by_email(&mut conn, email)
        .await
        .unwrap()
        .unwrap();
    ActorContext::new(&user, "127.0.0.1")
}

/// A signed-in partner owning organisation `legal_name` (pending approval).
async fn owner<'a>(
    app: &'a TestApp,
    email: &str,
    legal_name: &str,
) -> (Browser<'a>, ActorContext, Organisation) {
    let browser = Browser::sign_up(app, email).await;
    let ctx = ctx_of(app, email).await;
    let org = organisations::create_organisation(&app.shared.db, &ctx, legal_name, email, true)
        .await
        .unwrap();
    (browser, ctx, org)
}

/// A signed-in member of `owner`'s organisation with `role`.
async fn member<'a>(
    app: &'a TestApp,
    owner: &ActorContext,
    email: &str,
    role: MemberRole,
) -> Browser<'a> {
    let browser = Browser::sign_up(app, email).await;
    let ctx = ctx_of(app, email).await;
    let (_, token) = organisations::create_invitation(&app.shared.db, owner, Some(email), role)
        .await
        .unwrap();
    organisations::accept_invitation(&app.shared.db, &ctx, &token)
        .await
        .unwrap();
    browser
}

/// Registers an application through the form; its id.
async fn register(browser: &mut Browser<'_>, name: &str) -> String {
    let res = browser.post("/apps", &[("name", name)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.header("location")
        .strip_prefix("/apps/")
        .unwrap()
        .to_owned()
}

/// Adds an endpoint through the form; its id (from the redirect) and the page shown next.
async fn add_endpoint(
    browser: &mut Browser<'_>,
    app_id: &str,
    url: &str,
    types: &[&str],
) -> (String, TestResponse) {
    let mut fields = vec![("url", url), ("description", "Order sync")];
    fields.extend(types.iter().map(|t| ("event_types", *t)));
    let res = browser
        .post(&format!("/apps/{app_id}/webhooks"), &fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let to = res.header("location").to_owned();
    let endpoint_id = to
        .strip_prefix(&format!("/apps/{app_id}/webhooks/"))
        .unwrap_or_else(|| panic!("went to {to}"))
        .to_owned();
    let page = browser.get(&to).await;
    (endpoint_id, page)
}

/// The page without Leptos' `<!>` markers between text nodes.
fn text(page: &TestResponse) -> String {
    page.body.replace("<!>", "")
}

/// The `value` of the element with `id`.
fn input_value(body: &str, id: &str) -> Option<String> {
    let at = body.find(&format!(r#"id="{id}""#))?;
    let start = body[..at].rfind('<')?;
    let end = at + body[at..].find('>')?;
    let tag = &body[start..end];
    let value = tag.split(r#"value=""#).nth(1)?;
    Some(value.split('"').next()?.to_owned())
}

/// Whether the checkbox with `id` is ticked.
fn is_checked(body: &str, id: &str) -> bool {
    let Some(at) = body.find(&format!(r#"id="{id}""#)) else {
        panic!("no {id}");
    };
    let start = body[..at].rfind('<').unwrap();
    let end = at + body[at..].find('>').unwrap();
    body[start..end].contains("checked")
}

fn flash(body: &str) -> String {
    let Some(at) = body.find(r#"data-testid="flash""#) else {
        return String::new();
    };
    let rest = &body[at..];
    let rest = &rest[rest.find('>').map_or(0, |i| i + 1)..];
    rest.split("</p>")
        .next()
        .unwrap_or_default()
        .replace("<!>", "")
}

/// Every value of attribute `attr` on the page, in order.
fn attr_values(body: &str, attr: &str) -> Vec<String> {
    body.split(&format!(r#"{attr}=""#))
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_owned))
        .collect()
}

async fn endpoint_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints")
        .fetch_one(app.shared.db.pool())
        .await
        .unwrap()
}

/// (state, attempts) of the delivery of `message_id` to `endpoint_id`.
async fn delivery(app: &TestApp, message_id: &str, endpoint_id: &str) -> (String, i64) {
    sqlx::query_as(
        "SELECT state, attempts FROM webhook_deliveries WHERE message_id = $1 AND endpoint_id = $2",
    )
    .bind(message_id)
    .bind(endpoint_id)
    .fetch_one(app.shared.db.pool())
    .await
    .unwrap()
}

async fn endpoint_of(app: &TestApp, ctx: &ActorContext, endpoint_id: &str) -> webhooks::Endpoint {
    webhooks::get_endpoint(&app.shared.db, ctx, endpoint_id)
        .await
        .unwrap()
}

/// Adding an endpoint shows its secret once (sealed in the database); refused URLs keep the
/// draft; edit, disable/enable, rotation, test event and deletion.
#[tokio::test]
async fn partners_manage_endpoints_from_the_application_page() {
    let app = TestApp::sqlite().await;
    let (mut browser, ctx, _) = owner(&app, "owner@acme.test", "Acme Freight").await;
    let app_id = register(&mut browser, "Order sync").await;
    let page = browser.get(&format!("/apps/{app_id}")).await;
    let body = text(&page);
    assert!(body.contains(">Webhooks<"), "{body}");
    assert!(body.contains("No webhook endpoints"));
    assert!(body.contains(&format!(r#"action="/apps/{app_id}/webhooks""#)));
    for event_type in EVENT_TYPES {
        assert!(
            body.contains(&format!(r#"name="event_types" value="{event_type}""#)),
            "{event_type}"
        );
    }

    // Refused destinations: a clear message, nothing stored, what was typed comes back.
    for (url, why) in [
        ("https://10.0.0.1/h", "10.0.0.1 is a private address"),
        (
            "https://169.254.169.254/latest",
            "169.254.169.254 is a cloud metadata address",
        ),
        ("ftp://x", "the URL must start with https://"),
        ("not a url", "is not a URL"),
        ("https://hooks.example.com:22/", "port 22 is not allowed"),
    ] {
        let res = browser
            .post(
                &format!("/apps/{app_id}/webhooks"),
                &[
                    ("url", url),
                    ("description", "Kept draft"),
                    ("event_types", "order.updated"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{url}");
        assert_eq!(res.header("location"), format!("/apps/{app_id}"));
        let page = browser.get(&format!("/apps/{app_id}")).await;
        let message = flash(&page.body);
        assert!(message.contains(why), "{url}: {message}");
        assert_eq!(input_value(&page.body, "webhook-url").unwrap(), url);
        assert_eq!(
            input_value(&page.body, "webhook-description").unwrap(),
            "Kept draft"
        );
        assert!(is_checked(&page.body, "add-event-order-updated"));
        assert!(!is_checked(&page.body, "add-event-order-created"));
        assert_eq!(endpoint_count(&app).await, 0, "{url}");
    }
    let res = browser
        .post(
            &format!("/apps/{app_id}/webhooks"),
            &[("url", "https://hooks.example.com/portico")],
        )
        .await;
    let page = browser.get(res.header("location")).await;
    assert!(
        flash(&page.body).contains("Choose at least one event type"),
        "{}",
        flash(&page.body)
    );
    assert_eq!(endpoint_count(&app).await, 0);
    // The draft is for one page view only.
    let page = browser.get(&format!("/apps/{app_id}")).await;
    assert_eq!(
        input_value(&page.body, "webhook-url").unwrap_or_default(),
        ""
    );

    // Added: the secret is shown on the endpoint page, once.
    let (endpoint_id, page) = add_endpoint(
        &mut browser,
        &app_id,
        "https://Hooks.Example.com/portico",
        &["order.created", "order.cancelled"],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"data-testid="shown-once""#));
    assert!(flash(&page.body).contains("added"), "{}", flash(&page.body));
    let secret = input_value(&page.body, "secret-signing-secret").unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let body = text(&page);
    assert!(
        body.contains("https://hooks.example.com/portico"),
        "stored as parsed"
    );
    assert!(body.contains("Order sync"));
    assert!(body.contains("one secret in force"));
    assert!(body.contains(">Send test event<"));
    assert!(body.contains(">Rotate secret<"));
    assert!(body.contains(">Delete endpoint<"));
    assert!(is_checked(&page.body, "edit-event-order-created"));
    assert!(is_checked(&page.body, "edit-event-order-cancelled"));
    assert!(!is_checked(&page.body, "edit-event-order-updated"));
    let again = browser
        .get(&format!("/apps/{app_id}/webhooks/{endpoint_id}"))
        .await;
    assert!(!again.body.contains(r#"data-testid="shown-once""#));
    assert!(!again.body.contains(&secret));
    let sealed: String =
        sqlx::query_scalar("SELECT secret_sealed FROM webhook_endpoints WHERE id = $1")
            .bind(&endpoint_id)
            .fetch_one(app.shared.db.pool())
            .await
            .unwrap();
    let secret_bytes = secret.trim_start_matches("whsec_");
    assert!(!sealed.contains(secret_bytes), "stored in clear: {sealed}");
    // Listed on the application page, linked.
    let page = browser.get(&format!("/apps/{app_id}")).await;
    let body = text(&page);
    assert!(body.contains(&format!(r#"data-endpoint-id="{endpoint_id}""#)));
    assert!(body.contains(&format!(r#"href="/apps/{app_id}/webhooks/{endpoint_id}""#)));
    assert!(body.contains("<code>order.created</code>"));
    assert!(!body.contains("No webhook endpoints"));
    assert!(!body.contains(&secret));

    // Edit; a refused edit changes nothing and keeps the draft.
    let base = format!("/apps/{app_id}/webhooks/{endpoint_id}");
    let page = browser
        .submit(
            &format!("{base}/edit"),
            &[
                ("url", "https://10.1.2.3/h"),
                ("description", "Typed"),
                ("event_types", "order.updated"),
            ],
        )
        .await;
    assert!(flash(&page.body).contains("private address"));
    assert_eq!(
        input_value(&page.body, "edit-url").unwrap(),
        "https://10.1.2.3/h"
    );
    assert!(is_checked(&page.body, "edit-event-order-updated"));
    assert!(!is_checked(&page.body, "edit-event-order-created"));
    assert_eq!(
        endpoint_of(&app, &ctx, &endpoint_id).await.url,
        "https://hooks.example.com/portico"
    );
    let page = browser
        .submit(
            &format!("{base}/edit"),
            &[
                ("url", "https://hooks.example.com/v2"),
                ("description", "Second version"),
                ("event_types", "order.updated"),
            ],
        )
        .await;
    assert!(flash(&page.body).contains("saved"), "{}", flash(&page.body));
    assert!(text(&page).contains("Second version"));
    let changed = endpoint_of(&app, &ctx, &endpoint_id).await;
    assert_eq!(changed.url, "https://hooks.example.com/v2");
    assert_eq!(changed.event_types, vec!["order.updated".to_owned()]);

    // Disable and enable.
    let page = browser.submit(&format!("{base}/disable"), &[]).await;
    assert!(flash(&page.body).contains("disabled"));
    assert!(text(&page).contains("disabled by your organisation"));
    assert!(page.body.contains(">Enable<"));
    let page = browser.submit(&format!("{base}/disable"), &[]).await;
    assert!(flash(&page.body).contains("already disabled"));
    let list = browser.get(&format!("/apps/{app_id}")).await;
    assert!(text(&list).contains("disabled by your organisation"));
    let page = browser.submit(&format!("{base}/enable"), &[]).await;
    assert!(flash(&page.body).contains("enabled"));
    assert!(endpoint_of(&app, &ctx, &endpoint_id).await.enabled);

    // Rotation: a new secret shown once; the overlap is shown on both pages.
    let page = browser
        .submit(&format!("{base}/rotate"), &[("overlap_hours", "abc")])
        .await;
    assert!(flash(&page.body).contains("whole number of hours"));
    assert!(!page.body.contains(r#"data-testid="shown-once""#));
    let page = browser
        .submit(&format!("{base}/rotate"), &[("overlap_hours", "24")])
        .await;
    let rotated = input_value(&page.body, "secret-signing-secret").unwrap();
    assert!(rotated.starts_with("whsec_"));
    assert_ne!(rotated, secret);
    assert!(flash(&page.body).contains("keeps signing until"));
    assert!(text(&page).contains("rotating until"), "{}", text(&page));
    let page = browser.get(&base).await;
    assert!(!page.body.contains(&rotated));
    let list = browser.get(&format!("/apps/{app_id}")).await;
    assert!(text(&list).contains("rotating until"));

    // A test event is queued for this endpoint.
    let page = browser.submit(&format!("{base}/test"), &[]).await;
    assert!(
        flash(&page.body).contains("test event"),
        "{}",
        flash(&page.body)
    );
    let queued: Vec<(String, String)> =
        sqlx::query_as("SELECT event_type, state FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(&endpoint_id)
            .fetch_all(app.shared.db.pool())
            .await
            .unwrap();
    assert_eq!(
        queued,
        vec![("portico.test".to_owned(), "pending".to_owned())]
    );

    // Deleting needs the confirmation.
    let page = browser.submit(&format!("{base}/delete"), &[]).await;
    assert!(flash(&page.body).contains("Tick the confirmation box"));
    assert_eq!(endpoint_count(&app).await, 1);
    let res = browser
        .post(&format!("{base}/delete"), &[("confirm", "yes")])
        .await;
    assert_eq!(res.header("location"), format!("/apps/{app_id}"));
    let page = browser.get(&format!("/apps/{app_id}")).await;
    assert!(flash(&page.body).contains("deleted"));
    assert_eq!(endpoint_count(&app).await, 0);
    let gone = browser.get(&base).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let res = browser.post(&format!("{base}/test"), &[]).await;
    assert_eq!(res.header("location"), format!("/apps/{app_id}"));
}

/// The log lists attempts newest first, filters them, and replays one message or every failed
/// one since a time.
#[tokio::test]
async fn the_delivery_log_filters_and_replays() {
    let app = TestApp::sqlite().await;
    let db = &app.shared.db;
    let (mut browser, _, _) = owner(&app, "owner@acme.test", "Acme Freight").await;
    let app_id = register(&mut browser, "Order sync").await;
    let (endpoint_id, _) = add_endpoint(
        &mut browser,
        &app_id,
        "https://hooks.example.com/portico",
        &["order.created"],
    )
    .await;
    let base = format!("/apps/{app_id}/webhooks/{endpoint_id}");
    let page = browser.get(&base).await;
    assert!(text(&page).contains("No delivery attempts yet"));
    assert!(
        text(&page).contains("5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (each ±10 % jitter)"),
        "the retry schedule is documented"
    );
    assert!(text(&page).contains("failed for 5 days is disabled"));

    // Two events: a test event the receiver accepts, an order event it fails.
    browser.submit(&format!("{base}/test"), &[]).await;
    let tenant: String =
        sqlx::query_scalar("SELECT partner_id FROM webhook_endpoints WHERE id = $1")
            .bind(&endpoint_id)
            .fetch_one(db.pool())
            .await
            .unwrap();
    let mut tx = db.begin_write().await.unwrap();
    let order_message = webhooks::enqueue_in(
        &mut tx,
        &tenant,
        "order.created",
        &serde_json::json!({"orderId": "o-1"}),
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    let now_ms = portico_core::clock::now_ms();
    let claimed = webhooks::claim_due(db, now_ms + 1, 10, &[]).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let mut test_message = String::new();
    for delivery in &claimed {
        let outcome = if delivery.event_type == "portico.test" {
            test_message.clone_from(&delivery.message_id);
            AttemptOutcome {
                status_code: Some(200),
                latency_ms: 12,
                response_excerpt: "thanks".into(),
                error: None,
            }
        } else {
            AttemptOutcome {
                status_code: Some(500),
                latency_ms: 34,
                response_excerpt: "<b>boom</b>".into(),
                error: None,
            }
        };
        webhooks::record_attempt(db, now_ms + 1, delivery, &outcome)
            .await
            .unwrap();
    }

    let page = browser.get(&base).await;
    let body = text(&page);
    assert_eq!(
        attr_values(&body, "data-message-id").len(),
        2,
        "one row per attempt: {body}"
    );
    assert!(body.contains(&format!(
        r#"data-message-id="{test_message}" data-result="succeeded""#
    )));
    assert!(body.contains(&format!(
        r#"data-message-id="{order_message}" data-result="failed""#
    )));
    assert!(body.contains(">200<") && body.contains(">500<"));
    assert!(body.contains("12 ms") && body.contains("34 ms"));
    assert!(
        body.contains("&lt;b&gt;boom&lt;/b&gt;"),
        "the response is escaped"
    );
    assert!(!body.contains("<b>boom</b>"));
    assert!(body.contains("<details>"));
    assert!(body.contains(" UTC<"));

    // Filters are a GET form.
    assert!(body.contains(&format!(r#"method="get" action="{base}""#)));
    let failed = text(&browser.get(&format!("{base}?result=failed")).await);
    assert_eq!(
        attr_values(&failed, "data-message-id"),
        vec![order_message.clone()]
    );
    assert!(failed.contains(r#"value="failed" selected"#));
    let succeeded = text(&browser.get(&format!("{base}?result=succeeded")).await);
    assert_eq!(
        attr_values(&succeeded, "data-message-id"),
        vec![test_message.clone()]
    );
    let by_type = text(
        &browser
            .get(&format!("{base}?event_type=portico.test&result=all"))
            .await,
    );
    assert_eq!(
        attr_values(&by_type, "data-message-id"),
        vec![test_message.clone()]
    );
    let none = text(
        &browser
            .get(&format!("{base}?event_type=order.created&result=succeeded"))
            .await,
    );
    assert!(attr_values(&none, "data-message-id").is_empty());
    assert!(none.contains("No delivery attempts match these filters"));

    // Replay one message: due again now, same message.
    assert_eq!(
        delivery(&app, &test_message, &endpoint_id).await,
        ("succeeded".to_owned(), 1)
    );
    let page = browser
        .submit(&format!("{base}/replay"), &[("message_id", &test_message)])
        .await;
    assert!(
        flash(&page.body).contains("same webhook-id"),
        "{}",
        flash(&page.body)
    );
    assert_eq!(
        delivery(&app, &test_message, &endpoint_id).await,
        ("pending".to_owned(), 0)
    );
    let page = browser
        .submit(&format!("{base}/replay"), &[("message_id", "msg_unknown")])
        .await;
    assert!(
        flash(&page.body).contains("No such message"),
        "{}",
        flash(&page.body)
    );
    let page = browser.submit(&format!("{base}/replay"), &[]).await;
    assert!(flash(&page.body).contains("Choose a message"));

    // Replay every failed message since a time (UTC, as a datetime-local input sends it).
    let page = browser
        .submit(&format!("{base}/replay-failed"), &[("since", "yesterday")])
        .await;
    assert!(flash(&page.body).contains("UTC date and time"));
    assert_eq!(
        delivery(&app, &order_message, &endpoint_id).await.1,
        1,
        "nothing replayed"
    );
    let an_hour_ago =
        portico_app::pages::webhooks::datetime_local(portico_core::clock::now() - 3_600);
    let page = browser
        .submit(&format!("{base}/replay-failed"), &[("since", &an_hour_ago)])
        .await;
    assert!(
        flash(&page.body).contains("1 failed message since"),
        "{}",
        flash(&page.body)
    );
    assert_eq!(
        delivery(&app, &order_message, &endpoint_id).await,
        ("pending".to_owned(), 0)
    );
    let page = browser
        .submit(&format!("{base}/replay-failed"), &[("since", &an_hour_ago)])
        .await;
    assert!(flash(&page.body).contains("nothing to replay"));
}

/// An endpoint disabled for failing gets a banner on its application's page.
#[tokio::test]
async fn endpoints_disabled_for_failing_are_announced() {
    let app = TestApp::sqlite().await;
    let (mut browser, _, _) = owner(&app, "owner@acme.test", "Acme Freight").await;
    let app_id = register(&mut browser, "Order sync").await;
    let (endpoint_id, _) = add_endpoint(
        &mut browser,
        &app_id,
        "https://hooks.example.com/broken",
        &["order.created"],
    )
    .await;
    sqlx::query(
        "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'failing' WHERE id = $1",
    )
    .bind(&endpoint_id)
    .execute(app.shared.db.pool())
    .await
    .unwrap();
    let page = browser.get(&format!("/apps/{app_id}")).await;
    assert!(
        text(&page).contains(
            "Webhook endpoint https://hooks.example.com/broken was disabled after 5 days of failed deliveries. \
             Fix it and enable it again."
        ),
        "{}",
        text(&page)
    );
    let page = browser
        .get(&format!("/apps/{app_id}/webhooks/{endpoint_id}"))
        .await;
    assert!(text(&page).contains("disabled after 5 days of failed deliveries"));
    let page = browser
        .submit(
            &format!("/apps/{app_id}/webhooks/{endpoint_id}/enable"),
            &[],
        )
        .await;
    assert!(flash(&page.body).contains("enabled"));
    let page = browser.get(&format!("/apps/{app_id}")).await;
    assert!(!page.body.contains("failing-webhooks-banner"));
}

/// Every endpoint form, with fields that would pass.
fn every_endpoint_post(base: &str) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            format!("{base}/edit"),
            vec![
                ("url", "https://evil.example/h"),
                ("event_types", "order.created"),
            ],
        ),
        (format!("{base}/disable"), vec![]),
        (format!("{base}/enable"), vec![]),
        (format!("{base}/rotate"), vec![("overlap_hours", "1")]),
        (format!("{base}/test"), vec![]),
        (format!("{base}/replay"), vec![("message_id", "msg_x")]),
        (
            format!("{base}/replay-failed"),
            vec![("since", "2026-01-01T00:00")],
        ),
        (format!("{base}/delete"), vec![("confirm", "yes")]),
    ]
}

/// Viewers see endpoints and the log but change nothing; other organisations and other
/// applications see nothing; forms need the CSRF token.
#[tokio::test]
async fn roles_tenants_and_csrf_are_enforced() {
    let app = TestApp::sqlite().await;
    let (mut owner_browser, owner_ctx, _) = owner(&app, "owner@acme.test", "Acme Freight").await;
    let app_id = register(&mut owner_browser, "Order sync").await;
    let (endpoint_id, _) = add_endpoint(
        &mut owner_browser,
        &app_id,
        "https://hooks.acme.example/portico",
        &["order.created"],
    )
    .await;
    let base = format!("/apps/{app_id}/webhooks/{endpoint_id}");
    let before = endpoint_of(&app, &owner_ctx, &endpoint_id).await;
    let deliveries = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM webhook_deliveries")
            .fetch_one(app.shared.db.pool())
            .await
            .unwrap()
    };

    // A viewer: sees the endpoint and its log, no form; every post is refused.
    let mut viewer = member(&app, &owner_ctx, "viewer@acme.test", MemberRole::Viewer).await;
    let page = viewer.get(&format!("/apps/{app_id}")).await;
    assert!(text(&page).contains("https://hooks.acme.example/portico"));
    assert!(
        !page
            .body
            .contains(&format!(r#"action="/apps/{app_id}/webhooks""#))
    );
    assert!(!page.body.contains(">Add endpoint<"));
    let page = viewer.get(&base).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = text(&page);
    assert!(body.contains("lets you see this endpoint but not change it"));
    assert!(body.contains("Delivery log"));
    for form in [
        ">Send test event<",
        ">Rotate secret<",
        ">Save endpoint<",
        ">Delete endpoint<",
        ">Disable<",
        ">Replay failed messages<",
    ] {
        assert!(!body.contains(form), "{form}");
    }
    let res = viewer
        .post(
            &format!("/apps/{app_id}/webhooks"),
            &[
                ("url", "https://hooks.viewer.example/h"),
                ("event_types", "order.created"),
            ],
        )
        .await;
    let page = viewer.get(res.header("location")).await;
    assert!(
        flash(&page.body).contains("(viewer) does not allow"),
        "{}",
        flash(&page.body)
    );
    assert_eq!(endpoint_count(&app).await, 1);
    for (path, fields) in every_endpoint_post(&base) {
        let page = viewer.submit(&path, &fields).await;
        let message = flash(&page.body);
        assert!(
            message.contains("(viewer) does not allow"),
            "{path}: {message}"
        );
    }
    assert_eq!(endpoint_of(&app, &owner_ctx, &endpoint_id).await, before);
    assert_eq!(deliveries().await, 0);

    // Another organisation: not found, page and forms alike.
    let (mut stranger, _, _) = owner(&app, "owner@beta.test", "Beta Logistics").await;
    let page = stranger.get(&base).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("hooks.acme.example"));
    let res = stranger
        .post(
            &format!("/apps/{app_id}/webhooks"),
            &[
                ("url", "https://hooks.beta.example/h"),
                ("event_types", "order.created"),
            ],
        )
        .await;
    assert_eq!(res.header("location"), "/apps");
    let page = stranger.get("/apps").await;
    assert!(flash(&page.body).contains("No such application"));
    for (path, fields) in every_endpoint_post(&base) {
        let res = stranger.post(&path, &fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        let page = stranger.get(res.header("location")).await;
        assert!(!page.body.contains("hooks.acme.example"), "{path}");
        let message = flash(&page.body);
        assert!(
            message.contains("No such webhook endpoint"),
            "{path}: {message}"
        );
    }
    // Its own application's URL does not reach the endpoint either.
    let other_app = register(&mut stranger, "Beta app").await;
    let res = stranger
        .post(
            &format!("/apps/{other_app}/webhooks/{endpoint_id}/disable"),
            &[],
        )
        .await;
    let page = stranger.get(res.header("location")).await;
    assert!(flash(&page.body).contains("No such webhook endpoint"));
    assert_eq!(endpoint_count(&app).await, 1);

    // Another application of the same organisation: the endpoint is not under it.
    let second_app = register(&mut owner_browser, "Second").await;
    let page = owner_browser
        .get(&format!("/apps/{second_app}/webhooks/{endpoint_id}"))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    for (path, fields) in every_endpoint_post(&format!("/apps/{second_app}/webhooks/{endpoint_id}"))
    {
        let res = owner_browser.post(&path, &fields).await;
        assert_eq!(
            res.header("location"),
            format!("/apps/{second_app}"),
            "{path}"
        );
        let page = owner_browser.get(res.header("location")).await;
        assert!(
            flash(&page.body).contains("No such webhook endpoint"),
            "{path}"
        );
    }
    assert_eq!(endpoint_of(&app, &owner_ctx, &endpoint_id).await, before);
    assert_eq!(deliveries().await, 0);

    // Not signed in: to the sign-in page.
    let mut anonymous = Browser::new(&app);
    for (path, fields) in every_endpoint_post(&base) {
        let res = anonymous.post(&path, &fields).await;
        assert_eq!(res.header("location"), "/signin", "{path}");
    }

    // Without the CSRF token (or with a wrong one): refused before anything happens.
    owner_browser.get(&base).await;
    for (path, fields) in every_endpoint_post(&base) {
        let res = owner_browser.post_raw(&path, &fields).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
        let mut forged = fields.clone();
        forged.push(("csrf_token", "wrong"));
        let res = owner_browser.post_raw(&path, &forged).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
    }
    let res = owner_browser
        .post_raw(
            &format!("/apps/{app_id}/webhooks"),
            &[
                ("url", "https://hooks.acme.example/forged"),
                ("event_types", "order.created"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(endpoint_count(&app).await, 1);
    assert_eq!(endpoint_of(&app, &owner_ctx, &endpoint_id).await, before);
    assert_eq!(deliveries().await, 0);
}

#[tokio::test]
async fn endpoints_are_added_and_listed_on_postgres() {
    let app = TestApp::postgres().await;
    let (mut browser, _, _) = owner(&app, "owner@acme.test", "Acme Freight").await;
    let app_id = register(&mut browser, "Order sync").await;
    let (endpoint_id, page) = add_endpoint(
        &mut browser,
        &app_id,
        "https://hooks.example.com/portico",
        &["order.created", "order.updated"],
    )
    .await;
    let secret = input_value(&page.body, "secret-signing-secret").unwrap();
    assert!(secret.starts_with("whsec_"));
    let res = browser
        .post(
            &format!("/apps/{app_id}/webhooks"),
            &[
                ("url", "https://10.0.0.1/h"),
                ("event_types", "order.created"),
            ],
        )
        .await;
    let page = browser.get(res.header("location")).await;
    assert!(flash(&page.body).contains("private address"));
    let body = text(&page);
    assert!(body.contains(&format!(r#"href="/apps/{app_id}/webhooks/{endpoint_id}""#)));
    assert!(body.contains("https://hooks.example.com/portico"));
    assert_eq!(endpoint_count(&app).await, 1);
}
