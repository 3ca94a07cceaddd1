//! Deprecations, one source of truth: the dates on `/deprecations`, in the reference, on the
//! admin page and in the gateway's `Deprecation`/`Sunset` headers and 410 are the same, before
//! and after an admin changes them; the partner's deprecation report counts the calls made
//! in the test, and leaves out other partners and the status probe.

use crate::common::on_both_engines;
use crate::common::{Browser, TestApp, TestResponse};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use std::time::Duration;

const ADMIN: &str = "admin@portico.test";

async fn call(app: &TestApp, token: &str, path: &str) -> TestResponse {
    app.sandbox(
        Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// A new application of partner `slug` (created approved when missing) and a token for it.
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

/// Waits until the request log holds `n` rows (the request-log writer batches off the request path).
async fn wait_for_log(app: &TestApp, n: i64) {
    for _ in 0..200 {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM request_log_entry")
            .fetch_one(app.shared.db.pool())
            .await
            .unwrap();
        if count >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the request log never reached {n} rows");
}

/// The text of the cell `data-field="field"` in the row `data-version="version"` of the
/// versions table.
fn version_cell(body: &str, version: &str, field: &str) -> String {
    let table = &body[body
        .find(r#"data-testid="versions""#)
        .expect("versions table")..];
    let at = table
        .find(&format!(r#"data-version="{version}""#))
        .unwrap_or_else(|| panic!("no row for {version}"));
    let row = &table[at..at + table[at..].find("</tr>").unwrap()];
    let cell = &row[row
        .find(&format!(r#"data-field="{field}""#))
        .unwrap_or_else(|| panic!("no {field} in {row}"))..];
    let text = &cell[cell.find('>').unwrap() + 1..];
    text[..text.find("</td>").unwrap()].replace("<!-- -->", "")
}

fn row_state(body: &str, version: &str) -> String {
    let at = body
        .find(&format!(r#"data-version="{version}" data-state=""#))
        .unwrap_or_else(|| panic!("no row for {version}"));
    let rest = &body[at + format!(r#"data-version="{version}" data-state=""#).len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// `YYYY-MM-DD` → the HTTP-date the gateway's `Sunset` header carries.
fn http_date(day: &str) -> String {
    let date = portico_core::lifecycle::parse_day(day).unwrap();
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] 00:00:00 GMT"
    );
    date.format(&format).unwrap()
}

/// `YYYY-MM-DD` → the `@<unix seconds>` the gateway's `Deprecation` header carries.
fn at_midnight(day: &str) -> String {
    let date = portico_core::lifecycle::parse_day(day).unwrap();
    format!("@{}", date.midnight().assume_utc().unix_timestamp())
}

/// Page, reference and gateway agree on `version`'s dates right now.
async fn assert_one_truth(app: &TestApp, token: &str, version: &str) {
    let page = app.get_portal("/deprecations").await;
    assert_eq!(page.status, StatusCode::OK);
    let state = row_state(&page.body, version);
    let since = version_cell(&page.body, version, "deprecated-since");
    let sunset = version_cell(&page.body, version, "sunset");
    let res = call(app, token, &format!("/{version}/commercial/products")).await;
    match state.as_str() {
        "deprecated" => {
            assert_eq!(res.status, StatusCode::OK, "{}", res.body);
            assert_eq!(res.header("sunset"), http_date(&sunset));
            assert_eq!(res.header("deprecation"), at_midnight(&since));
            assert!(
                res.header("link")
                    .contains(&format!("/deprecations?version={version}>; rel=\"sunset\"")),
                "{}",
                res.header("link")
            );
            let reference = app.get_portal(&format!("/reference/{version}")).await;
            assert!(reference.body.contains(&sunset), "reference lacks {sunset}");
        }
        "sunset" => {
            assert_eq!(res.status, StatusCode::GONE, "{}", res.body);
            assert_eq!(res.json()["__type"], "GoneException");
            let message = res.json()["message"].as_str().unwrap().to_owned();
            assert!(message.contains(&sunset), "{message} vs {sunset}");
            assert!(res.headers.get("sunset").is_none());
        }
        "current" => {
            assert_eq!(res.status, StatusCode::OK);
            assert!(res.headers.get("sunset").is_none());
            assert!(res.headers.get("deprecation").is_none());
            assert_eq!(sunset, "—");
        }
        other => panic!("unknown state {other}"),
    }
}

#[tokio::test]
async fn the_page_shows_every_version_with_the_gateway_dates() {
    let app = TestApp::sqlite().await;
    let (_, token) = app_token(&app, "acme", "Orders").await;
    let page = app.get_portal("/deprecations?version=v1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("18 months after version N+1"));
    assert!(page.body.contains("410 Gone"));
    assert_eq!(row_state(&page.body, "v2"), "current");
    assert_eq!(row_state(&page.body, "v1"), "deprecated");
    assert_eq!(row_state(&page.body, "v0"), "sunset");
    assert_eq!(version_cell(&page.body, "v1", "ga"), "2023-11-01");
    assert_eq!(version_cell(&page.body, "v2", "ga"), "2025-12-15");
    assert_eq!(
        version_cell(&page.body, "v1", "deprecated-since"),
        "2026-06-01"
    );
    assert_eq!(version_cell(&page.body, "v1", "sunset"), "2027-06-30");
    // A retired version keeps its whole history.
    assert_eq!(
        version_cell(&page.body, "v0", "deprecated-since"),
        "2024-06-30"
    );
    assert_eq!(version_cell(&page.body, "v0", "sunset"), "2025-06-30");
    let days =
        portico_core::lifecycle::days_until("2027-06-30", portico_core::clock::now()).unwrap();
    assert_eq!(
        version_cell(&page.body, "v1", "countdown"),
        format!("Stops working in {days} days")
    );
    // The gateway's Link target marks the version it came from.
    assert!(page.body.contains(r#"class="selected""#) || page.body.contains("selected"));
    assert!(
        page.body
            .contains("No operation of a current version is deprecated on its own.")
    );
    for version in ["v2", "v1", "v0"] {
        assert_one_truth(&app, &token, version).await;
    }
    // Anonymous: no report, an invitation to sign in.
    assert!(!page.body.contains("Your deprecation report"));
    assert!(page.body.contains("to see which of your applications"));
}

async fn admin_dates_follow_everywhere(app: TestApp) {
    let (_, token) = app_token(&app, "acme", "Orders").await;
    let mut admin = Browser::admin(&app, ADMIN).await;
    let page = admin.get("/admin/versions").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Dates from the model."));

    // A later sunset for v1: headers, page and reference move together.
    let res = admin
        .post("/admin/versions/v1/dates", &[("sunset", "2028-01-31")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = admin.get("/admin/versions").await;
    assert!(
        page.body
            .contains("v1 is now deprecated, sunset on 2028-01-31."),
        "{}",
        page.body
    );
    assert!(page.body.contains("Dates set by admin@portico.test"));
    let public = app.get_portal("/deprecations").await;
    assert_eq!(version_cell(&public.body, "v1", "sunset"), "2028-01-31");
    let res = call(&app, &token, "/v1/commercial/products").await;
    assert_eq!(res.header("sunset"), "Mon, 31 Jan 2028 00:00:00 GMT");
    assert_one_truth(&app, &token, "v1").await;

    // Bad input is refused with a sentence and changes nothing.
    for (fields, message) in [
        (
            vec![("sunset", "31/01/2028")],
            "Sunset: \"31/01/2028\" is not a date like 2027-06-30.",
        ),
        (
            vec![("deprecated_since", "2029-01-01"), ("sunset", "2028-01-31")],
            "These dates would not work for v1: the deprecation date must not be after the sunset date.",
        ),
        (
            vec![("ga", "2030-01-01")],
            "These dates would not work for v1: the general-availability date must not be after the deprecation date.",
        ),
    ] {
        let res = admin.post("/admin/versions/v1/dates", &fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let page = admin.get("/admin/versions").await;
        assert!(
            page.body.contains(message) || page.body.contains(&message.replace('"', "&quot;")),
            "{message}: {}",
            page.body
        );
    }
    let res = admin
        .post("/admin/versions/v9/dates", &[("sunset", "2028-01-31")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        admin
            .get("/admin/versions")
            .await
            .body
            .contains("No such API version")
    );
    let res = call(&app, &token, "/v1/commercial/products").await;
    assert_eq!(res.header("sunset"), "Mon, 31 Jan 2028 00:00:00 GMT");

    // A sunset date today retires v2 at once: 410 everywhere, with the date.
    let today = time::OffsetDateTime::now_utc().date();
    let today = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    let res = admin
        .post(
            "/admin/versions/v2/dates",
            &[("deprecated_since", "2026-01-01"), ("sunset", &today)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let public = app.get_portal("/deprecations").await;
    assert_eq!(row_state(&public.body, "v2"), "sunset");
    assert_eq!(version_cell(&public.body, "v2", "sunset"), today);
    assert_one_truth(&app, &token, "v2").await;
    let reference = app.get_portal("/reference/v2").await;
    assert!(reference.body.contains(&today));

    // Back to the model's dates.
    for version in ["v1", "v2"] {
        let res = admin
            .post(
                &format!("/admin/versions/{version}/dates"),
                &[("reset", "1")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
    }
    let public = app.get_portal("/deprecations").await;
    assert_eq!(row_state(&public.body, "v2"), "current");
    assert_eq!(version_cell(&public.body, "v1", "sunset"), "2027-06-30");
    for version in ["v2", "v1"] {
        assert_one_truth(&app, &token, version).await;
    }

    // Every change is audited.
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE action LIKE 'api_version.%' ORDER BY occurred_at, id",
    )
    .fetch_all(app.shared.db.pool())
    .await
    .unwrap();
    assert_eq!(
        audited
            .iter()
            .filter(|a| *a == "api_version.dates_set")
            .count(),
        2
    );
    assert_eq!(
        audited
            .iter()
            .filter(|a| *a == "api_version.dates_reset")
            .count(),
        2
    );

    // A partner may not set dates.
    drop(admin);
    let mut partner = Browser::sign_up(&app, "dev@acme.test").await;
    let res = partner
        .post("/admin/versions/v1/dates", &[("sunset", "2026-12-01")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(
        partner.get("/admin/versions").await.status == StatusCode::FORBIDDEN,
        "a partner saw the admin page"
    );
    let res = call(&app, &token, "/v1/commercial/products").await;
    assert_eq!(res.status, StatusCode::OK);
}

on_both_engines!(admin_dates_follow_everywhere, admin_dates_follow_everywhere);

/// Another replica's change (written straight to the table here) is put in force by the
/// periodic refresh, and the docs are rebuilt with it.
#[tokio::test]
async fn a_change_made_elsewhere_is_picked_up_by_the_refresh() {
    let app = TestApp::sqlite().await;
    let (_, token) = app_token(&app, "acme", "Orders").await;
    sqlx::query(
        "INSERT INTO api_version_dates (version, sunset, updated_at, updated_by) VALUES ('v1', '2027-09-30', 0, 'replica')",
    )
    .execute(app.shared.db.pool())
    .await
    .unwrap();
    assert!(app.shared.lifecycles.refresh().await.unwrap());
    assert!(
        !app.shared.lifecycles.refresh().await.unwrap(),
        "nothing new"
    );
    let res = call(&app, &token, "/v1/commercial/products").await;
    assert_eq!(res.header("sunset"), "Thu, 30 Sep 2027 00:00:00 GMT");
    assert_one_truth(&app, &token, "v1").await;
    // Dates that make no lifecycle are ignored (the model's stay in force), never a failure.
    sqlx::query(
        "UPDATE api_version_dates SET deprecated_since = '2028-01-01' WHERE version = 'v1'",
    )
    .execute(app.shared.db.pool())
    .await
    .unwrap();
    assert!(app.shared.lifecycles.refresh().await.unwrap());
    let res = call(&app, &token, "/v1/commercial/products").await;
    assert_eq!(res.header("sunset"), "Wed, 30 Jun 2027 00:00:00 GMT");
}

#[tokio::test]
async fn the_partner_report_counts_the_calls_made_here() {
    let app = TestApp::sqlite().await;
    let mut owner = Browser::partner_with_org(&app, "owner@acme.test", "Acme Freight").await;
    let slug: String = sqlx::query_scalar(
        "SELECT p.slug FROM partners p JOIN users u ON u.partner_id = p.id WHERE u.email = $1",
    )
    .bind("owner@acme.test")
    .fetch_one(app.shared.db.pool())
    .await
    .unwrap();
    let (orders_id, orders) = app_token(&app, &slug, "Orders").await;
    let (_, billing) = app_token(&app, &slug, "Billing").await;
    let (_, other) = app_token(&app, "globex", "Globex app").await;
    let (_, probe) = app_token(&app, portico_core::orgs::partners::PROBE_PARTNER, "Probe").await;
    for _ in 0..3 {
        call(&app, &orders, "/v1/commercial/products").await;
    }
    call(&app, &orders, "/v1/commercial/orders").await;
    for _ in 0..5 {
        call(&app, &orders, "/v2/commercial/products").await;
    }
    call(&app, &billing, "/v2/commercial/products").await;
    call(&app, &other, "/v1/commercial/products").await;
    call(&app, &probe, "/v1/commercial/products").await;
    call(&app, &orders, "/v0/commercial/orders").await;
    wait_for_log(&app, 13).await;

    let page = owner.get("/deprecations").await;
    assert!(
        page.body
            .replace("<!>", "")
            .contains("Your deprecation report: Acme Freight"),
        "{}",
        page.body
    );
    let report = &page.body[page
        .body
        .find(r#"data-testid="deprecation-report""#)
        .unwrap()..];
    let report = &report[..report.find("</table>").unwrap()];
    // Orders: 4 calls to v1 (two operations); Billing called v2 only. The call to the retired
    // v0 is answered 410 before any token check, so it is not attributed to anyone.
    assert_eq!(report.matches("<tr data-version=").count(), 1, "{report}");
    let v1 = &report[report.find(r#"data-version="v1""#).unwrap()..];
    let v1 = &v1[..v1.find("</tr>").unwrap()];
    assert!(
        v1.contains("Orders") && v1.contains("v1 (every operation)"),
        "{v1}"
    );
    assert!(v1.contains(r#"data-field="calls">4<"#), "{v1}");
    assert!(v1.contains("2027-06-30"), "{v1}");
    assert!(!report.contains("Billing") && !report.contains("Globex"));

    // The application page says so too; Billing's does not.
    let detail = owner.get(&format!("/apps/{orders_id}")).await;
    assert!(detail.body.contains(r#"data-testid="deprecation-banner""#));
    assert!(detail.body.contains("4 calls"), "{}", detail.body);
    assert!(detail.body.contains("stops working on 2027-06-30"));

    // Another partner's member sees only their own (none here: Globex has no member).
    let mut stranger = Browser::partner_with_org(&app, "dev@initech.test", "Initech").await;
    let theirs = stranger.get("/deprecations").await;
    assert!(theirs.body.contains(r#"data-testid="report-empty""#));
    assert!(!theirs.body.contains("Orders"));
    drop(owner);
    drop(stranger);

    // The admin sees who still calls v1, without the status probe.
    let mut admin = Browser::admin(&app, ADMIN).await;
    let page = admin.get("/admin/versions").await;
    let callers = &page.body[page.body.find(r#"data-testid="callers-v1""#).unwrap()..];
    let callers = &callers[..callers.find("</table>").unwrap()];
    assert!(
        callers.contains(&format!(r#"data-partner="{slug}""#)),
        "{callers}"
    );
    assert!(callers.contains(r#"data-partner="globex""#));
    assert!(!callers.contains(portico_core::orgs::partners::PROBE_PARTNER));
    let acme = &callers[callers.find(&format!(r#"data-partner="{slug}""#)).unwrap()..];
    assert!(acme[..acme.find("</tr>").unwrap()].contains(r#"data-field="calls">4<"#));
}

/// The shipped models with `GetProduct` (v2) deprecated on its own from 2026-09-01, sunset
/// `sunset`, and `ListPackages` (v2) retired on 2026-01-31.
fn catalog_with_deprecated_operations(sunset: &str) -> portico_sandbox::model::ApiCatalog {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/api");
    let dir = tempfile::tempdir().unwrap();
    for version in ["v0", "v1"] {
        std::fs::copy(
            shipped.join(format!("{version}.yaml")),
            dir.path().join(format!("{version}.yaml")),
        )
        .unwrap();
    }
    let v2 = std::fs::read_to_string(shipped.join("v2.yaml")).unwrap();
    let deprecate = |text: String, id: &str, since: &str, sunset: &str| {
        let line = format!("      operationId: {id}\n");
        assert!(text.contains(&line), "{id}");
        text.replace(
            &line,
            &format!(
                "{line}      deprecated: true\n      x-deprecated-since: \"{since}\"\n      x-sunset: \"{sunset}\"\n"
            ),
        )
    };
    let v2 = deprecate(v2, "GetProduct", "2026-09-01", sunset);
    let v2 = deprecate(v2, "ListPackages", "2025-06-01", "2026-01-31");
    std::fs::write(dir.path().join("v2.yaml"), v2).unwrap();
    portico_sandbox::model::ApiCatalog::load(Some(dir.path())).unwrap()
}

/// An operation deprecated on its own: the page lists it with the model's dates, the gateway
/// sends the same dates on that operation only, and a retired one answers 410.
#[tokio::test]
async fn operations_deprecated_on_their_own_carry_the_same_dates_everywhere() {
    let catalog = catalog_with_deprecated_operations("2027-03-31");
    let authorizer = portico_core::authz::Authorizer::embedded().unwrap();
    let app = TestApp::sqlite().with_content(authorizer, catalog).await;
    let (_, token) = app_token(&app, "acme", "Orders").await;

    let page = app.get_portal("/deprecations").await;
    assert_eq!(page.status, StatusCode::OK);
    let section = &page.body[page.body.find(r#"data-version="v2""#).unwrap()..];
    let list = &section[section.find("deprecated-operations").unwrap()..];
    let list = &list[..list.find("</ul>").unwrap()];
    assert!(
        list.contains("GetProduct") && list.contains("2027-03-31"),
        "{list}"
    );
    assert!(
        list.contains("ListPackages") && list.contains("2026-01-31"),
        "{list}"
    );
    assert!(!list.contains("ListOrders"));

    // The deprecated operation: its own dates in the headers.
    let listed = call(&app, &token, "/v2/commercial/products?limit=1").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(
        listed.headers.get("sunset").is_none(),
        "ListProducts is not deprecated"
    );
    let product = listed.json()["data"][0]["id"].as_str().unwrap().to_owned();
    let res = call(&app, &token, &format!("/v2/commercial/products/{product}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.header("sunset"), http_date("2027-03-31"));
    assert_eq!(res.header("deprecation"), at_midnight("2026-09-01"));
    assert!(res.header("link").contains("rel=\"deprecation\""));

    // The retired one: 410 before any credential check, naming the date.
    for token in [Some(token.as_str()), None] {
        let mut request = Request::get("/v2/commercial/packages");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let res = app.sandbox(request.body(Body::empty()).unwrap()).await;
        assert_eq!(res.status, StatusCode::GONE, "{}", res.body);
        assert_eq!(res.json()["__type"], "GoneException");
        let message = res.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("2026-01-31"), "{message}");
    }

    // The reference says the same.
    let reference = app.get_portal("/reference/v2/GetProduct").await;
    assert!(reference.body.contains("2027-03-31"));
}

#[test]
fn an_operation_with_dates_but_not_deprecated_is_refused() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/api");
    let dir = tempfile::tempdir().unwrap();
    let v2 = std::fs::read_to_string(shipped.join("v2.yaml"))
        .unwrap()
        .replace(
            "      operationId: GetProduct\n",
            "      operationId: GetProduct\n      x-sunset: \"2027-01-01\"\n",
        );
    std::fs::write(dir.path().join("v2.yaml"), v2).unwrap();
    let catalog = portico_sandbox::model::ApiCatalog::load(Some(dir.path())).unwrap();
    let authorizer = portico_core::authz::Authorizer::embedded().unwrap();
    let error = catalog
        .check(authorizer.schema_facts())
        .unwrap_err()
        .to_string();
    assert!(error.contains("need `deprecated: true`"), "{error}");
}
