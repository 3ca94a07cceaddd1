//! Usage charts: the application's and the organisation's pages draw SVG charts (with
//! accessible names) from real gateway calls, show the quota used against the plan, and are
//! only for members of the organisation.

use crate::common::{Browser, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use std::time::Duration;

async fn calls(app: &TestApp, token: &str, path: &str, n: usize) {
    for _ in 0..n {
        app.sandbox(
            Request::get(path)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn members_see_their_traffic_on_server_drawn_charts() {
    let app = TestApp::sqlite().await;
    let mut owner = Browser::partner_with_org(&app, "owner@acme.test", "Acme Freight").await;
    let mut stranger = Browser::partner_with_org(&app, "owner@globex.test", "Globex").await;
    let slug: String = sqlx::query_scalar(
        "SELECT p.slug FROM partners p JOIN users u ON u.partner_id = p.id WHERE u.email = $1",
    )
    .bind("owner@acme.test")
    .fetch_one(app.shared.db.pool())
    .await
    .unwrap();
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for name in ["Orders", "Billing"] {
        let (application, _) = create_app(
            &app.shared.db,
            &slug,
            &slug,
            name,
            &Scopes::parse("commercial:read").unwrap(),
            "sandbox",
        )
        .await
        .unwrap();
        tokens.push(app.tokens.issue(&application, None).unwrap().access_token);
        ids.push(application.id);
    }
    calls(&app, &tokens[0], "/v2/commercial/products", 7).await;
    calls(&app, &tokens[0], "/v2/commercial/orders/ord_nope", 2).await;
    calls(&app, &tokens[1], "/v2/commercial/products", 3).await;
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM request_log_entry")
            .fetch_one(app.shared.db.pool())
            .await
            .unwrap();
        if n >= 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let page = owner.get(&format!("/apps/{}/usage", ids[0])).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.body.replace("<!>", "");
    assert_eq!(body.matches("<svg role=\"img\"").count(), 3, "three charts");
    for label in [
        "aria-label=\"Calls per day, last 30 days: calls per day (UTC) by status class, and throttled calls\"",
        "<title>Calls per hour, last 48 hours</title>",
        "<title>Latency per day, last 30 days</title>",
    ] {
        assert!(body.contains(label), "{label}");
    }
    assert!(
        body.contains("9 calls in the last 30 days, 0 of them throttled."),
        "this application's calls only"
    );
    assert!(
        body.contains("9 of 1000 calls used this day on the sandbox plan"),
        "the quota against the plan"
    );
    assert!(body.contains("<meter"), "the quota as a meter");
    // The numbers table has today's row: 7 successes and 2 not-found answers.
    assert!(
        body.contains("<td>7</td><td>2</td><td>0</td><td>0</td>"),
        "today's numbers"
    );

    let org = owner.get("/org/usage").await;
    assert_eq!(org.status, StatusCode::OK);
    assert!(
        org.body
            .replace("<!>", "")
            .contains("12 calls in the last 30 days"),
        "every application of the organisation"
    );

    // Another organisation cannot see it; the page says so without a 500.
    let refused = stranger.get(&format!("/apps/{}/usage", ids[0])).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(!refused.body.contains("<svg role=\"img\""));
    let theirs = stranger.get("/org/usage").await;
    assert!(
        theirs
            .body
            .replace("<!>", "")
            .contains("0 calls in the last 30 days")
    );
    let anonymous = app.get_portal(&format!("/apps/{}/usage", ids[0])).await;
    assert!(!anonymous.body.contains("<svg role=\"img\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_see_top_callers_partners_near_their_quota_and_the_metering_export() {
    use portico_core::traffic::request_log::{self, RequestRecord};
    let app = TestApp::sqlite().await;
    let mut admin = Browser::admin(&app, "admin@portico.test").await;
    let (busy, _) = create_app(
        &app.shared.db,
        "acme",
        "Acme Freight",
        "Busy",
        &Scopes::parse("commercial:read").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    let (calm, _) = create_app(
        &app.shared.db,
        "globex",
        "Globex",
        "Calm",
        &Scopes::parse("commercial:read").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    let now = portico_core::clock::now_ms();
    let record = |n: usize, client: &str, partner: &str, status: u16| RequestRecord {
        request_id: format!("req-{partner}-{n}"),
        occurred_at_ms: now - 1000 - i64::try_from(n).unwrap(),
        stage: "sandbox",
        client_id: Some(client.into()),
        partner_id: Some(partner.into()),
        scopes: None,
        method: "GET".into(),
        route: "/v2/commercial/products".into(),
        action: Some("commercial:ListProducts".into()),
        decision: if status == 200 { "allow" } else { "deny" },
        reason: None,
        status,
        latency_us: 2_000,
        version: Some("v2".into()),
        client_ip: None,
    };
    // Busy: 850 of its 1,000 daily calls (10 of them throttled); Calm: 20 calls, 2 server errors.
    let mut records: Vec<RequestRecord> = (0..850)
        .map(|n| record(n, &busy.client_id, "acme", if n < 10 { 429 } else { 200 }))
        .collect();
    records.extend(
        (0..20).map(|n| record(n, &calm.client_id, "globex", if n < 2 { 500 } else { 200 })),
    );
    request_log::insert_batch(&app.shared.db, &records)
        .await
        .unwrap();

    let page = admin.get("/admin/traffic").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.body.replace("<!>", "");
    let callers = &body[body.find("data-testid=\"top-callers\"").unwrap()..];
    let acme = callers.find("data-partner=\"acme\"").expect("acme listed");
    let globex = callers
        .find("data-partner=\"globex\"")
        .expect("globex listed");
    assert!(acme < globex, "the busiest first");
    assert!(callers.contains("<td class=\"num\">850</td>"), "{callers}");
    assert!(callers.contains("10.0 %"), "globex's error rate (2 of 20)");
    assert!(callers.contains("1.2 %"), "acme's deny rate (10 of 850)");
    let near = &body[body.find("data-testid=\"near-quota\"").unwrap()..];
    assert!(near.contains("850 of 1000 this day"), "{near}");
    assert!(!near.contains("Calm"));

    let month = portico_core::clock::format_rfc3339(now / 1000)[..7].to_owned();
    let csv = admin.get(&format!("/admin/metering/{month}.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert!(
        csv.body
            .starts_with("month,partner_id,operation,stage,status_class,calls\n")
    );
    assert!(
        csv.body.contains(&format!(
            "{month},acme,commercial:ListProducts,sandbox,2xx,840\n"
        )),
        "{}",
        csv.body
    );
    assert!(csv.body.contains(&format!(
        "{month},acme,commercial:ListProducts,sandbox,4xx,10\n"
    )));
    let json = admin.get(&format!("/admin/metering/{month}.json")).await;
    let doc: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(doc["totals"]["acme"], 850);
    assert_eq!(doc["totals"]["globex"], 20);
    assert_eq!(
        admin.get("/admin/metering/2026-13.csv").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.get("/admin/metering/report.pdf").await.status,
        StatusCode::NOT_FOUND
    );

    // Partners see neither.
    let mut partner = Browser::partner_with_org(&app, "owner@initech.test", "Initech").await;
    let refused = partner.get("/admin/traffic").await;
    assert!(!refused.body.contains("data-testid=\"top-callers\""));
    let refused = partner.get(&format!("/admin/metering/{month}.csv")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("acme"));
}
