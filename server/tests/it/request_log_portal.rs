//! A partner reads their application's request log in the portal (issue 16): real gateway
//! calls (allowed, refused for a missing scope, throttled by the quota, a bad token), the log
//! page newest first with its filters and keyset pages, one call's page explaining the
//! refusal with a link to request the scope, the CSV and NDJSON downloads parsed back, and
//! tenant isolation (another organisation's member, another organisation's application).

use crate::common::{Browser, TEST_PASSWORD, TestApp, TestResponse};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use portico_core::identity::ActorContext;
use portico_core::identity::users;
use portico_core::traffic::partner_log::{self, LogQuery};
use std::collections::HashSet;

const OWNER: &str = "owner@acme.test";
const STRANGER: &str = "dev@initech.test";
/// Allowed calls to v2 (more than four pages of the log, more than one of a download).
const V2_CALLS: usize = 205;
const V1_CALLS: usize = 3;
const FIELDS: [&str; 11] = [
    "request_id",
    "occurred_at",
    "method",
    "route",
    "version",
    "action",
    "status",
    "decision",
    "reason",
    "latency_ms",
    "client_ip",
];

async fn call(app: &TestApp, token: &str, method: &str, path: &str) -> TestResponse {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    let body = if method == "POST" {
        Body::from(r#"{"productId":"prod_1","quantity":1}"#)
    } else {
        Body::empty()
    };
    app.sandbox(request.body(body).unwrap()).await
}

fn request_id(res: &TestResponse) -> String {
    res.header("x-request-id").to_owned()
}

/// A new application of partner `slug` (commercial:read only) and a token for it.
async fn app_token(app: &TestApp, slug: &str, name: &str) -> (String, String) {
    let (application, _) = create_app(
        &app.shared.db,
        slug,
        slug,
        name,
        &Scopes::parse("commercial:read").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    let token = app.tokens.issue(&application, None).unwrap().access_token;
    (application.id, token)
}

async fn slug_of(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar(
        "SELECT p.slug FROM partners p JOIN users u ON u.partner_id = p.id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(app.shared.db.pool())
    .await
    .unwrap()
}

async fn sign_in<'a>(app: &'a TestApp, email: &str) -> Browser<'a> {
    let mut browser = Browser::new(app);
    let res = browser
        .post("/signin", &[("email", email), ("password", TEST_PASSWORD)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    browser
}

async fn ctx_of(app: &TestApp, email: &str) -> ActorContext {
    let mut conn = app.shared.db.pool().acquire().await.unwrap();
    let user = users::find_by_email(&mut conn, email)
        .await
        .unwrap()
        .unwrap();
    ActorContext::new(&user, "127.0.0.1")
}

/// The request ids of the log page's rows, in order.
fn row_ids(body: &str) -> Vec<String> {
    body.split(r#"<tr data-request-id=""#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The row of `id` on a log page.
fn row<'b>(body: &'b str, id: &str) -> &'b str {
    let at = body
        .find(&format!(r#"<tr data-request-id="{id}""#))
        .unwrap_or_else(|| panic!("no row {id}"));
    &body[at..at + body[at..].find("</tr>").unwrap()]
}

/// The href of the link marked `data-testid="testid"`, if the page has one.
fn link(body: &str, testid: &str) -> Option<String> {
    let at = body.find(&format!(r#"data-testid="{testid}""#))?;
    let start = body[..at].rfind("<a href=\"").unwrap() + "<a href=\"".len();
    let href = &body[start..start + body[start..].find('"').unwrap()];
    Some(href.replace("&amp;", "&"))
}

/// Every request id of the log at `url`, following "Older calls →" to the end; checks the
/// page size on the way.
async fn walk(browser: &mut Browser<'_>, url: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = Some(url.to_owned());
    let mut pages = 0;
    while let Some(url) = next {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::OK, "{url}: {}", page.body);
        assert!(
            !page.body.contains(r#"data-testid="log-errors""#),
            "{url}: {}",
            page.body
        );
        let rows = row_ids(&page.body);
        next = link(&page.body, "older-calls");
        if next.is_some() {
            assert_eq!(rows.len(), 50, "{url}: a full page before an older one");
        }
        if pages > 0 {
            assert!(link(&page.body, "newest-calls").is_some());
        }
        ids.extend(rows);
        pages += 1;
        assert!(pages < 20, "too many pages");
    }
    ids
}

fn set(ids: &[String]) -> HashSet<String> {
    ids.iter().cloned().collect()
}

/// Splits CSV text (RFC 4180, CRLF records) into records of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "unterminated record");
    records
}

#[tokio::test]
async fn a_partner_reads_filters_pages_explains_and_downloads_its_request_log() {
    reads_filters_pages_explains_and_downloads(TestApp::sqlite().await).await;
}

#[tokio::test]
async fn the_request_log_reads_alike_on_postgres() {
    reads_filters_pages_explains_and_downloads(TestApp::postgres().await).await;
}

async fn reads_filters_pages_explains_and_downloads(mut app: TestApp) {
    drop(Browser::partner_with_org(&app, OWNER, "Acme Freight").await);
    drop(Browser::partner_with_org(&app, STRANGER, "Initech").await);
    let slug = slug_of(&app, OWNER).await;
    let (orders_id, token) = app_token(&app, &slug, "Orders").await;
    let (globex_id, globex_token) = app_token(&app, "globex", "Globex app").await;
    // No rate limit to speak of, and a quota that runs out after the calls below: the last
    // two are refused by the usage plan (429), every time.
    let quota = V2_CALLS + V1_CALLS + 1;
    sqlx::query(
        "INSERT INTO application_limits (application_id, rate_per_second, burst, quota, quota_period, updated_at) \
         VALUES ($1, 10000, 10000, $2, 'day', 0)",
    )
    .bind(&orders_id)
    .bind(i64::try_from(quota).unwrap())
    .execute(app.shared.db.pool())
    .await
    .unwrap();

    let mut v2 = Vec::new();
    for _ in 0..V2_CALLS {
        let res = call(&app, &token, "GET", "/v2/commercial/products").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        v2.push(request_id(&res));
    }
    let mut v1 = Vec::new();
    for _ in 0..V1_CALLS {
        let res = call(&app, &token, "GET", "/v1/commercial/products").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        v1.push(request_id(&res));
    }
    // The token lacks commercial:write.
    let res = call(&app, &token, "POST", "/v2/commercial/orders").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let denied = request_id(&res);
    let mut throttled = Vec::new();
    for _ in 0..2 {
        let res = call(&app, &token, "GET", "/v2/commercial/products").await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.body);
        throttled.push(request_id(&res));
    }
    let res = call(&app, "not-a-token", "GET", "/v2/commercial/products").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let unauthorized = request_id(&res);
    let res = call(&app, &globex_token, "GET", "/v2/commercial/products").await;
    assert_eq!(res.status, StatusCode::OK);
    let globex_call = request_id(&res);
    app.flush_audit().await;

    let mut all: Vec<String> = v2.iter().chain(&v1).cloned().collect();
    all.push(denied.clone());
    all.extend(throttled.iter().cloned());
    let allowed: Vec<String> = v2.iter().chain(&v1).cloned().collect();

    // A 401 is recorded, but with no partner and no client: the token was not valid, so
    // nothing says whose call it was, and it cannot be in any application's log.
    let owner_of_401: Option<Option<String>> =
        sqlx::query_scalar("SELECT partner_id FROM request_log_entry WHERE request_id = $1")
            .bind(&unauthorized)
            .fetch_optional(app.shared.db.pool())
            .await
            .unwrap();
    assert_eq!(
        owner_of_401,
        Some(None),
        "the 401 is logged without a partner"
    );

    let mut owner = sign_in(&app, OWNER).await;
    let base = format!("/apps/{orders_id}/logs");

    // The application page links to its log and has the anchors the explanations point to.
    let detail = owner.get(&format!("/apps/{orders_id}")).await;
    assert!(detail.body.contains(&format!(r#"href="{base}""#)));
    for anchor in [r#"id="scopes""#, r#"id="credentials""#, r#"id="settings""#] {
        assert!(detail.body.contains(anchor), "{anchor}");
    }

    // Newest first, 50 to a page, every call once, none of anyone else's.
    let page = owner.get(&base).await;
    assert_eq!(page.status, StatusCode::OK);
    let first = row_ids(&page.body);
    assert_eq!(first.len(), 50);
    assert!(page.body.contains(&format!(r#"href="{base}.csv""#)));
    assert!(page.body.contains(&format!(r#"href="{base}.ndjson""#)));
    let denied_row = row(&page.body, &denied).replace("<!>", "");
    for text in [
        "POST",
        "/v2/commercial/orders",
        "commercial:CreateOrder",
        "v2",
        ">403<",
        "decision-denied",
        " ms<",
        &format!(r#"href="{base}/{denied}""#),
    ] {
        assert!(denied_row.contains(text), "{text} in {denied_row}");
    }
    assert!(row(&page.body, &throttled[0]).contains(r#"data-decision="throttled""#));
    assert!(row(&page.body, &throttled[0]).contains(r#"data-status="429""#));
    let walked = walk(&mut owner, &base).await;
    assert_eq!(walked.len(), all.len(), "no repeats, no gaps");
    assert_eq!(set(&walked), set(&all));
    assert!(!walked.contains(&unauthorized) && !walked.contains(&globex_call));

    // The core pages alike with a small page.
    let ctx = ctx_of(&app, OWNER).await;
    let mut query = LogQuery {
        limit: 3,
        ..LogQuery::default()
    };
    let mut by_three = Vec::new();
    loop {
        let page = partner_log::application_page(&app.shared.db, &ctx, &orders_id, &query)
            .await
            .unwrap();
        assert!(page.entries.len() <= 3);
        by_three.extend(
            page.entries
                .into_iter()
                .map(|e| (e.occurred_at_ms, e.request_id)),
        );
        match page.next {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    // Newest first; calls within one millisecond by request id (descending), as the cursor.
    assert!(by_three.windows(2).all(|w| w[0] > w[1]), "newest first");
    let last_call = by_three.iter().find(|(_, id)| *id == throttled[1]).unwrap();
    assert_eq!(
        last_call.0, by_three[0].0,
        "the last call is in the newest millisecond"
    );
    let by_three: Vec<String> = by_three.into_iter().map(|(_, id)| id).collect();
    assert_eq!(by_three, walked, "the page and the core agree on the order");
    assert_eq!(first, walked[..50], "the first page is the newest 50");

    // Filters give exactly the calls made here.
    let four_xx: Vec<String> = std::iter::once(denied.clone())
        .chain(throttled.iter().cloned())
        .collect();
    for (filter, expected) in [
        ("status=2xx", set(&allowed)),
        ("status=4xx", set(&four_xx)),
        ("status=5xx", HashSet::new()),
        ("decision=allowed", set(&allowed)),
        ("decision=denied", set(std::slice::from_ref(&denied))),
        ("decision=throttled", set(&throttled)),
        (
            "operation=commercial%3ACreateOrder",
            set(std::slice::from_ref(&denied)),
        ),
        ("version=v1", set(&v1)),
        (
            "operation=commercial%3AListProducts&version=v2&status=2xx",
            set(&v2),
        ),
        (
            &format!("request_id={denied}"),
            set(std::slice::from_ref(&denied)),
        ),
        (
            "from=2000-01-01T00%3A00&decision=denied",
            set(std::slice::from_ref(&denied)),
        ),
        ("from=2999-01-01T00%3A00", HashSet::new()),
        ("to=2000-01-01T00%3A00", HashSet::new()),
    ] {
        let ids = walk(&mut owner, &format!("{base}?{filter}")).await;
        assert_eq!(ids.len(), expected.len(), "{filter}");
        assert_eq!(set(&ids), expected, "{filter}");
    }
    // The filters stay in the form, the pages' links and the downloads.
    let page = owner.get(&format!("{base}?status=2xx&version=v2")).await;
    let older = link(&page.body, "older-calls").unwrap();
    assert!(
        older.starts_with(&format!("{base}?status=2xx&version=v2&cursor=")),
        "{older}"
    );
    assert!(
        page.body.contains(r#"value="2xx" selected"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!(r#"href="{base}.csv?status=2xx&amp;version=v2""#))
    );

    // Bad filters: a clear message on the page, never a 500.
    for (filter, message) in [
        ("from=yesterday", "is not a date and time"),
        (
            "cursor=not-a-cursor",
            "The cursor is not one this log gave out.",
        ),
        ("status=3xx", "is not one of 2xx, 4xx, 5xx"),
        ("decision=maybe", "is not one of allowed, denied, throttled"),
        (
            "from=2026-01-02T00%3A00&to=2026-01-01T00%3A00",
            "From must be before To.",
        ),
    ] {
        let page = owner.get(&format!("{base}?{filter}")).await;
        assert_eq!(page.status, StatusCode::OK, "{filter}");
        let body = page.body.replace("&quot;", "\"");
        assert!(body.contains(r#"data-testid="log-errors""#), "{filter}");
        assert!(body.contains(message), "{filter}: {body}");
        assert!(row_ids(&page.body).is_empty());
    }

    // One call: its fields and what happened, with the way to fix it.
    let detail = owner.get(&format!("{base}/{denied}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    let body = detail.body.replace("<!>", "");
    assert!(body.contains(&denied));
    assert!(body.contains("commercial:CreateOrder"));
    assert!(
        body.contains(
            "Scope commercial:write is not granted to this application (or not in this token): \
             request it on the application page, then get a new token."
        ),
        "{body}"
    );
    assert!(body.contains(&format!(r#"href="/apps/{orders_id}#scopes""#)));
    assert!(body.contains("Request the scope"));
    let pipeline = &body[body.find(r#"data-testid="pipeline""#).unwrap()..];
    let pipeline = &pipeline[..pipeline.find("</ol>").unwrap()];
    assert_eq!(pipeline.matches(r#"data-outcome="passed""#).count(), 5);
    assert_eq!(pipeline.matches(r#"data-outcome="failed""#).count(), 1);
    assert_eq!(pipeline.matches(r#"data-outcome="not-reached""#).count(), 2);
    assert!(
        pipeline.contains("failed: The token lacks the required scope"),
        "{pipeline}"
    );
    let detail = owner.get(&format!("{base}/{}", throttled[0])).await;
    assert!(detail.body.contains("quota"), "{}", detail.body);
    let detail = owner.get(&format!("{base}/{}", v2[0])).await;
    assert!(
        detail
            .body
            .replace("<!>", "")
            .contains("The call passed every check and the sandbox answered 200.")
    );

    // CSV: a header, one record per call, the same fields.
    let csv = owner.get(&format!("{base}.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        csv.header("content-disposition"),
        r#"attachment; filename="orders-requests.csv""#
    );
    let records = parse_csv(&csv.body);
    assert_eq!(records[0], FIELDS);
    assert_eq!(records.len(), all.len() + 1);
    assert!(records.iter().all(|r| r.len() == FIELDS.len()));
    let ids: Vec<String> = records[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, walked, "newest first, as on the page");
    let denied_record = records.iter().find(|r| r[0] == denied).unwrap();
    assert_eq!(denied_record[2], "POST");
    assert_eq!(denied_record[3], "/v2/commercial/orders");
    assert_eq!(denied_record[4], "v2");
    assert_eq!(denied_record[5], "commercial:CreateOrder");
    assert_eq!(denied_record[6], "403");
    assert_eq!(denied_record[7], "denied");
    assert!(denied_record[8].starts_with("scope: "), "{denied_record:?}");
    assert!(denied_record[9].parse::<f64>().is_ok());
    let at = &denied_record[1];
    assert!(
        at.len() == 24 && at.ends_with('Z') && at.as_bytes()[19] == b'.',
        "RFC 3339 with ms: {at}"
    );
    assert_eq!(
        portico_core::clock::parse_rfc3339_ms(at).map(portico_core::clock::format_rfc3339_ms),
        Some(at.clone())
    );
    let throttled_csv = owner.get(&format!("{base}.csv?decision=throttled")).await;
    let records = parse_csv(&throttled_csv.body);
    assert_eq!(records.len(), 3);
    assert!(
        records[1..]
            .iter()
            .all(|r| r[7] == "throttled" && r[6] == "429")
    );

    // NDJSON: one object per line with the same fields.
    let ndjson = owner.get(&format!("{base}.ndjson")).await;
    assert_eq!(ndjson.status, StatusCode::OK);
    assert_eq!(ndjson.header("content-type"), "application/x-ndjson");
    assert_eq!(
        ndjson.header("content-disposition"),
        r#"attachment; filename="orders-requests.ndjson""#
    );
    let lines: Vec<serde_json::Value> = ndjson
        .body
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), all.len());
    for line in &lines {
        let object = line.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = FIELDS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }
    let denied_line = lines.iter().find(|l| l["request_id"] == *denied).unwrap();
    assert_eq!(denied_line["status"], 403);
    assert_eq!(denied_line["decision"], "denied");
    assert_eq!(denied_line["action"], "commercial:CreateOrder");
    assert!(denied_line["latency_ms"].is_number());
    let v1_lines = owner.get(&format!("{base}.ndjson?version=v1")).await;
    let v1_ids: HashSet<String> = v1_lines
        .body
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["request_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(v1_ids, set(&v1));
    let bad = owner.get(&format!("{base}.csv?from=yesterday")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("is not a date and time"));

    // Not found: an unknown call, another organisation's call or application.
    for url in [
        format!("{base}/req_unknown"),
        format!("{base}/{globex_call}"),
        format!("{base}/{unauthorized}"),
        format!("/apps/{globex_id}/logs"),
        format!("/apps/{globex_id}/logs/{globex_call}"),
        format!("/apps/{globex_id}/logs.csv"),
        format!("/apps/{globex_id}/logs.ndjson"),
        "/apps/app_nope/logs".to_owned(),
    ] {
        let res = owner.get(&url).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{url}");
        assert!(!res.body.contains(&globex_call));
    }

    // Another organisation's member sees none of it.
    let mut stranger = sign_in(&app, STRANGER).await;
    for url in [
        base.clone(),
        format!("{base}/{denied}"),
        format!("{base}.csv"),
        format!("{base}.ndjson"),
    ] {
        let res = stranger.get(&url).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{url}");
        assert!(!res.body.contains(&denied), "{url}");
    }

    // Signed out: the pages ask to sign in, the downloads send there.
    let anonymous = app.get_portal(&base).await;
    assert!(anonymous.body.contains("Sign in to continue."));
    assert!(!anonymous.body.contains(&denied));
    let anonymous = app.get_portal(&format!("{base}.csv")).await;
    assert!(anonymous.status.is_redirection());
    assert_eq!(anonymous.header("location"), "/signin");
    drop(owner);
    drop(stranger);
}
