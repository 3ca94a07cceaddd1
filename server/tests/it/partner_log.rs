//! The partner's own request log through `GET /partner/v1/request-log` (a `logs:read` token of
//! the partner's application; filters, keyset cursor, tenant isolation, field errors), and the
//! explanation of each pipeline refusal made by real gateway calls.

use crate::common::on_both_engines;
use crate::common::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use portico_core::apps::applications::Application;
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use portico_core::traffic::partner_log::{self, LogQuery, PipelineStep, StepOutcome};
use serde_json::Value;
use std::time::Duration;

async fn app_with(app: &TestApp, partner: &str, name: &str, scopes: &str) -> (Application, String) {
    let (application, _) = create_app(
        &app.shared.db,
        partner,
        partner,
        name,
        &Scopes::parse(scopes).unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    let token = app.tokens.issue(&application, None).unwrap().access_token;
    (application, token)
}

async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: &str) -> TestResponse {
    app.sandbox(
        Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap(),
    )
    .await
}

async fn read_log(app: &TestApp, token: &str, query: &str) -> TestResponse {
    app.sandbox(
        Request::get(format!("/partner/v1/request-log{query}"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Waits until the request log holds `n` rows (the request-log writer batches off the request path).
async fn wait_for_rows(app: &TestApp, n: i64) {
    for _ in 0..300 {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM request_log_entry")
            .fetch_one(app.shared.db.pool())
            .await
            .unwrap();
        if count >= n {
            assert_eq!(count, n, "more rows than calls");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT COALESCE(partner_id, '-'), COALESCE(route, '-'), status FROM request_log",
    )
    .fetch_all(app.shared.db.pool())
    .await
    .unwrap();
    panic!("the request log never reached {n} rows: {rows:?}");
}

fn ids(doc: &Value) -> Vec<String> {
    doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["request_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_api_reads_the_partners_own_log(app: TestApp) {
    let (reader, reader_token) =
        app_with(&app, "acme", "Reader", "commercial:read logs:read").await;
    let (_, other_token) = app_with(&app, "acme", "Other", "commercial:read").await;
    let (_, globex_token) = app_with(&app, "globex", "Globex", "commercial:read logs:read").await;

    for _ in 0..3 {
        let r = call(&app, &reader_token, "GET", "/v2/commercial/products", "").await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let denied = call(&app, &reader_token, "POST", "/v2/commercial/orders", "{}").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let denied_id = denied.header("x-request-id").to_owned();
    call(&app, &reader_token, "GET", "/v1/commercial/products", "").await;
    for _ in 0..2 {
        call(&app, &other_token, "GET", "/v2/commercial/products", "").await;
    }
    for _ in 0..2 {
        call(&app, &globex_token, "GET", "/v2/commercial/products", "").await;
    }
    wait_for_rows(&app, 9).await;

    // Everything of Acme (both applications), newest first; nothing of Globex.
    let all = read_log(&app, &reader_token, "").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let doc = all.json();
    let rows = doc["data"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert!(doc["next_cursor"].is_null());
    let times: Vec<&str> = rows
        .iter()
        .map(|r| r["occurred_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    assert_eq!(
        rows[0]["occurred_at"].as_str().unwrap().len(),
        24,
        "ms precision, UTC"
    );

    let count = |query: &'static str| {
        let app = &app;
        let token = reader_token.clone();
        async move {
            let response = read_log(app, &token, query).await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{query}: {}",
                response.body
            );
            response.json()["data"].as_array().unwrap().len()
        }
    };
    let own = format!("?client_id={}", reader.client_id);
    let own_rows = read_log(&app, &reader_token, &own).await.json();
    assert_eq!(own_rows["data"].as_array().unwrap().len(), 5);
    assert_eq!(count("?decision=denied").await, 1);
    assert_eq!(count("?decision=allowed").await, 6);
    assert_eq!(count("?decision=throttled").await, 0);
    assert_eq!(count("?status=2xx").await, 6);
    assert_eq!(count("?status=4xx").await, 1);
    assert_eq!(count("?status=5xx").await, 0);
    assert_eq!(count("?operation=commercial:ListProducts").await, 6);
    assert_eq!(count("?operation=commercial:CreateOrder").await, 1);
    assert_eq!(count("?version=v1").await, 1);
    assert_eq!(
        count("?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z").await,
        0
    );
    let found = read_log(&app, &reader_token, &format!("?request_id={denied_id}"))
        .await
        .json();
    let row = &found["data"][0];
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    assert_eq!(row["status"], 403);
    assert_eq!(row["decision"], "denied");
    assert!(
        row["reason"].as_str().unwrap().starts_with("scope: "),
        "{row}"
    );
    assert_eq!(row["operation"], "commercial:CreateOrder");

    // Pages of two through the cursor: every row once, in the same order.
    let mut paged = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = read_log(&app, &reader_token, &query).await.json();
        paged.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, ids(&doc));

    // Another partner's token reads only its own rows, whatever it asks for.
    let globex = read_log(&app, &globex_token, "").await.json();
    assert_eq!(globex["data"].as_array().unwrap().len(), 2);
    let sneaky = read_log(&app, &globex_token, &own).await.json();
    assert_eq!(sneaky["data"].as_array().unwrap().len(), 0);
    let sneaky = read_log(&app, &globex_token, &format!("?request_id={denied_id}"))
        .await
        .json();
    assert_eq!(sneaky["data"].as_array().unwrap().len(), 0);

    // Without the scope, without a token, with bad parameters: the documented errors.
    let refused = read_log(&app, &other_token, "").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["__type"], "ForbiddenException");
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("logs:read")
    );
    let anonymous = app
        .sandbox(
            Request::get("/partner/v1/request-log")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    for (query, path) in [
        ("?limit=0", "query.limit"),
        ("?limit=201", "query.limit"),
        ("?cursor=garbage", "query.cursor"),
        ("?from=yesterday", "query.from"),
        ("?status=3xx", "query.status"),
        ("?decision=maybe", "query.decision"),
    ] {
        let bad = read_log(&app, &reader_token, query).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{query}");
        let body = bad.json();
        assert_eq!(body["__type"], "ValidationException");
        assert_eq!(body["fieldErrors"][0]["path"], path, "{query}");
        assert!(body["requestId"].is_string());
    }
}

on_both_engines!(
    the_api_reads_the_partners_own_log,
    the_api_reads_the_partners_own_log,
    "multi_thread"
);

/// Real calls refused at each step; the log's explanation names that step and what to do.
#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_is_explained_from_what_the_gateway_recorded() {
    let app = TestApp::sqlite().await;
    let db = &app.shared.db;
    let (reader, reader_token) = app_with(&app, "acme", "Reader", "commercial:read").await;
    let (keyed, keyed_token) = app_with(&app, "acme", "Keyed", "commercial:read").await;
    portico_core::apps::plans::set_plan(db, &keyed.id, "standard")
        .await
        .unwrap();
    let (fenced, fenced_token) = app_with(&app, "acme", "Fenced", "commercial:read").await;
    portico_core::apps::plans::set_ip_allowlist(db, &fenced.id, "10.0.0.0/8")
        .await
        .unwrap();
    let (busy, busy_token) = app_with(&app, "acme", "Busy", "commercial:read").await;
    portico_core::apps::plans::set_override(
        db,
        &busy.id,
        &portico_core::apps::plans::LimitOverride {
            burst: Some(1),
            rate_per_second: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (writer, writer_token) =
        app_with(&app, "acme", "Writer", "commercial:read commercial:write").await;

    let mut made = Vec::new();
    let mut record = |r: &TestResponse, app_id: &str, step: Option<PipelineStep>, words: &str| {
        made.push((
            r.header("x-request-id").to_owned(),
            app_id.to_owned(),
            r.status,
            step,
            words.to_owned(),
        ));
    };
    let r = call(&app, &reader_token, "GET", "/v2/commercial/products", "").await;
    record(&r, &reader.id, None, "passed every check");
    let r = call(&app, &reader_token, "POST", "/v2/commercial/orders", "{}").await;
    record(
        &r,
        &reader.id,
        Some(PipelineStep::Authorization),
        "Scope commercial:write",
    );
    let r = call(&app, &keyed_token, "GET", "/v2/commercial/products", "").await;
    record(&r, &keyed.id, Some(PipelineStep::ApiKey), "x-api-key");
    let r = call(&app, &fenced_token, "GET", "/v2/commercial/products", "").await;
    record(
        &r,
        &fenced.id,
        Some(PipelineStep::IpAllowlist),
        "IP allowlist",
    );
    call(&app, &busy_token, "GET", "/v2/commercial/products", "").await;
    let r = call(&app, &busy_token, "GET", "/v2/commercial/products", "").await;
    record(&r, &busy.id, Some(PipelineStep::UsagePlan), "Retry-After");
    let r = call(
        &app,
        &writer_token,
        "POST",
        "/v2/commercial/orders",
        r#"{"items": []}"#,
    )
    .await;
    record(
        &r,
        &writer.id,
        Some(PipelineStep::Validation),
        "fieldErrors",
    );
    // A revoked token is still genuine: its 401 goes to its partner's log, explained.
    let (revoked, revoked_token) = app_with(&app, "acme", "Revoked", "commercial:read").await;
    assert!(app.tokens.revoke(&revoked, &revoked_token).await.unwrap());
    let r = call(&app, &revoked_token, "GET", "/v2/commercial/products", "").await;
    record(&r, &revoked.id, Some(PipelineStep::Token), "revoked");
    // A token whose signature fails names nobody: its 401 is in no partner's log.
    let forged = format!("{}x", &reader_token[..reader_token.len() - 1]);
    let forged = call(&app, &forged, "GET", "/v2/commercial/products", "").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    // A retired version answers 410 before any credential is read (and an invalid token 401):
    // such calls name no partner, so they are in no partner's log.
    let gone = call(&app, &reader_token, "GET", "/v0/commercial/orders", "").await;
    assert_eq!(gone.status, StatusCode::GONE);
    wait_for_rows(&app, 10).await;

    let gone_logged: Option<Option<String>> =
        sqlx::query_scalar("SELECT partner_id FROM request_log_entry WHERE request_id = $1")
            .bind(gone.header("x-request-id"))
            .fetch_optional(db.pool())
            .await
            .unwrap();
    assert_eq!(gone_logged, Some(None), "logged, for no partner");
    let forged_logged: Option<Option<String>> =
        sqlx::query_scalar("SELECT partner_id FROM request_log_entry WHERE request_id = $1")
            .bind(forged.header("x-request-id"))
            .fetch_optional(db.pool())
            .await
            .unwrap();
    assert_eq!(forged_logged, Some(None), "a forged token names nobody");
    for (request_id, app_id, status, step, words) in made {
        let client =
            sqlx::query_scalar::<_, String>("SELECT client_id FROM applications WHERE id = $1")
                .bind(&app_id)
                .fetch_one(db.pool())
                .await
                .unwrap();
        let page = partner_log::partner_page(
            db,
            "acme",
            Some(&client),
            &LogQuery {
                request_id: Some(request_id.clone()),
                limit: 1,
                ..LogQuery::default()
            },
        )
        .await
        .unwrap();
        let Some(entry) = page.entries.first() else {
            let rows: Vec<(String, Option<String>, Option<String>, i64)> =
                sqlx::query_as("SELECT request_id, client_id, reason, status FROM request_log")
                    .fetch_all(db.pool())
                    .await
                    .unwrap();
            panic!("{request_id} ({status}) not logged for {client}: {rows:?}");
        };
        assert_eq!(entry.status, status.as_u16());
        let explanation = partner_log::explain(entry, &app_id);
        let failed = explanation
            .steps
            .iter()
            .find(|(_, outcome)| matches!(outcome, StepOutcome::Failed(_)))
            .map(|(s, _)| *s);
        assert_eq!(
            failed, step,
            "{status} {:?}: {}",
            entry.reason, explanation.summary
        );
        assert!(
            explanation.summary.contains(&words),
            "{status} {:?}: {}",
            entry.reason,
            explanation.summary
        );
    }
}
