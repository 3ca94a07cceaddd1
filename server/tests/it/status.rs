//! The status page: probes against a live sandbox (and a stopped one), the public page,
//! status.json and the Atom feed (parsed by Python's `feedparser`), the admins' incident forms,
//! and two real `portico` processes (portal and sandbox apart) with the sandbox stopped and
//! started again.

use crate::common::on_both_engines;
use crate::common::{Browser, Process, TestApp, TestResponse, http_get};
use axum::http::StatusCode;
use portico_core::status::{self, CheckResult, ProbeState};
use portico_server::probe::Prober;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "ops@portico.test";

fn prober(app: &TestApp, sandbox_url: &str) -> Prober {
    let secret =
        portico_server::probe::derived_secret(&portico_core::testing::test_sealer()).unwrap();
    Prober::new(
        app.shared.db.clone(),
        app.shared.catalog.clone(),
        sandbox_url,
        None,
        secret,
    )
    .unwrap()
    .with_timeout(Duration::from_secs(2))
}

/// A loopback URL where nothing listens.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn component<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name:?} in {doc}"))
}

/// Checks the documented shape of status.json: keys and types.
fn assert_status_json_shape(res: &TestResponse) -> Value {
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.header("content-type").starts_with("application/json"));
    let doc = res.json();
    assert!(doc["page"]["url"].as_str().unwrap().ends_with("/status"));
    assert!(doc["page"]["updated_at"].is_string());
    let indicator = doc["status"]["indicator"].as_str().unwrap();
    assert!(
        ["none", "minor", "major", "critical"].contains(&indicator),
        "{indicator}"
    );
    assert!(doc["status"]["description"].is_string());
    for c in doc["components"].as_array().unwrap() {
        assert!(c["name"].is_string(), "{c}");
        assert!(c["stage"].is_string(), "{c}");
        let state = c["status"].as_str().unwrap();
        assert!(
            [
                "operational",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                "under_maintenance",
                "unknown"
            ]
            .contains(&state),
            "{c}"
        );
        assert!(c["latency_ms"].is_i64() || c["latency_ms"].is_null(), "{c}");
        assert!(
            c["checked_at"].is_string() || c["checked_at"].is_null(),
            "{c}"
        );
        assert!(c["error"].is_string() || c["error"].is_null(), "{c}");
        assert!(c["uptime_90d"].is_f64() || c["uptime_90d"].is_null(), "{c}");
    }
    for key in ["incidents", "scheduled_maintenances"] {
        for i in doc[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {doc}"))
        {
            for field in [
                "id",
                "name",
                "status",
                "impact",
                "created_at",
                "updated_at",
                "url",
            ] {
                assert!(i[field].is_string(), "{key}.{field}: {i}");
            }
            assert!(i["components"].is_array());
            for u in i["updates"].as_array().unwrap() {
                assert!(
                    u["status"].is_string() && u["body"].is_string() && u["created_at"].is_string()
                );
            }
        }
    }
    doc
}

#[tokio::test]
async fn probes_of_a_live_sandbox_are_operational_and_shown_everywhere() {
    let app = TestApp::sqlite().live().await;
    let url = app.shared.sandbox_url.clone();
    let probe = prober(&app, &url);
    // The first pass creates the probe application and seeds its sandbox data (slow in a
    // debug build): it must reach everything, the second must find everything operational.
    let first = probe.run_once().await.unwrap();
    assert!(
        first.iter().all(|r| r.state != ProbeState::Down),
        "{first:?}"
    );
    let results = probe.run_once().await.unwrap();
    let names: Vec<&str> = results.iter().map(|r| r.component.as_str()).collect();
    assert_eq!(
        names,
        [
            "Developer portal",
            "Token endpoint",
            "Sandbox API v1",
            "Sandbox API v2"
        ],
        "every served, non-sunset version (v0 is sunset): {results:?}"
    );
    for r in &results {
        assert_eq!(r.state, ProbeState::Operational, "{r:?}");
        assert!(r.error.is_none(), "{r:?}");
        assert!((0..2000).contains(&r.latency_ms), "{r:?}");
    }

    let page = app.get_portal("/status").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("All systems operational"),
        "{}",
        page.body
    );
    for name in [
        "Developer portal",
        "Token endpoint",
        "Sandbox API v1",
        "Sandbox API v2",
    ] {
        assert!(
            page.body.contains(&format!(
                r#"data-component="{name}" data-status="operational""#
            )),
            "{name}: {}",
            page.body
        );
    }
    // One 90-day bar and one latency chart per component, as labelled inline SVG.
    assert_eq!(
        page.body
            .matches(r#"<svg class="uptime-bar" role="img""#)
            .count(),
        4
    );
    assert_eq!(
        page.body
            .matches(r#"<svg class="latency-chart" role="img""#)
            .count(),
        4
    );
    assert_eq!(page.body.matches("<rect class=\"day ").count(), 4 * 90);
    assert!(page.body.contains("Sandbox API v2 over the last 90 days: "));
    assert!(
        page.body.contains(": no data</title>"),
        "older days have no data"
    );
    assert!(page.body.contains(">24 h ago</text>"));
    assert!(page.body.contains(r#"href="/status/feed.atom""#));

    let doc = assert_status_json_shape(&app.get_portal("/status.json").await);
    assert_eq!(doc["status"]["indicator"], "none");
    let v2 = component(&doc, "Sandbox API v2");
    assert_eq!(v2["status"], "operational");
    assert_eq!(v2["stage"], "sandbox");
    assert!(v2["latency_ms"].as_i64().unwrap() >= 0);
    assert!(v2["uptime_90d"].as_f64().unwrap() >= 50.0, "{v2}");
    assert_eq!(component(&doc, "Developer portal")["stage"], "portal");

    // The probe's calls are logged under the platform's probe partner, nobody else.
    // (The writer flushes its queue every 50 ms; the live server holds the queue open.)
    let mut partners: Vec<Option<String>> = Vec::new();
    for _ in 0..100 {
        partners = sqlx::query_scalar("SELECT DISTINCT partner_id FROM request_log")
            .fetch_all(app.shared.db.pool())
            .await
            .unwrap();
        if !partners.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut conn = app.shared.db.pool().acquire().await.unwrap();
    let probe_partner = portico_core::orgs::partners::find_by_slug(
        &mut conn,
        portico_core::orgs::partners::PROBE_PARTNER,
    )
    .await
    .unwrap()
    .unwrap();
    drop(conn);
    assert!(!partners.is_empty());
    for p in &partners {
        let p = p.as_deref().unwrap_or_default();
        assert!(
            p == probe_partner.slug || p == probe_partner.id,
            "{partners:?}"
        );
    }
    assert!(
        probe_partner.name.contains("status probe"),
        "shown as the platform's own"
    );
}

async fn stopped_sandbox_shows_as_down(app: TestApp) {
    let engine = app.shared.db.backend().name();
    let probe = prober(&app, &closed_port_url());
    let results = probe.run_once().await.unwrap();
    let state = |name: &str| {
        results
            .iter()
            .find(|r| r.component == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        state("Developer portal").state,
        ProbeState::Operational,
        "{engine}"
    );
    for name in ["Token endpoint", "Sandbox API v1", "Sandbox API v2"] {
        let r: CheckResult = state(name);
        assert_eq!(r.state, ProbeState::Down, "{engine}: {r:?}");
        assert_eq!(r.error.as_deref(), Some("connection failed"), "{engine}");
    }
    let doc = assert_status_json_shape(&app.get_portal("/status.json").await);
    assert_eq!(doc["status"]["indicator"], "major", "{engine}: {doc}");
    assert_eq!(doc["status"]["description"], "Partial system outage");
    assert_eq!(
        component(&doc, "Sandbox API v2")["status"],
        "major_outage",
        "{engine}"
    );
    assert_eq!(
        component(&doc, "Token endpoint")["error"],
        "connection failed"
    );
    assert_eq!(component(&doc, "Developer portal")["status"], "operational");
    let page = app.get_portal("/status").await;
    assert!(page.body.contains("Partial system outage"), "{engine}");
    assert!(
        page.body
            .contains(r#"data-component="Sandbox API v2" data-status="major_outage""#)
    );
    assert!(page.body.contains(">Major outage<"));
    assert!(page.body.contains("connection failed"));
    // The day's bar says so too.
    assert!(
        page.body
            .contains("Sandbox API v2 over the last 90 days: 0.00 % uptime"),
        "{engine}"
    );
}

on_both_engines!(
    a_stopped_sandbox_is_down_on_the_page_and_in_status_json,
    stopped_sandbox_shows_as_down
);

fn flash(page: &TestResponse) -> String {
    let at = page
        .body
        .find(r#"data-testid="flash""#)
        .unwrap_or_else(|| panic!("no flash: {}", page.body));
    let rest = &page.body[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</p>").unwrap();
    rest[start..end].to_owned()
}

/// Runs Python's feedparser on `xml`; returns (bozo, version, entries as JSON).
fn feedparser(xml: &str) -> Value {
    let script = "import sys, json, feedparser\n\
d = feedparser.parse(sys.stdin.read())\n\
print(json.dumps({'bozo': bool(d.bozo), 'error': str(d.get('bozo_exception', '')), 'version': d.version, \
'title': d.feed.get('title'), 'self': [l.get('href') for l in d.feed.get('links', []) if l.get('rel') == 'self'], \
'entries': [{'id': e.get('id'), 'title': e.get('title'), 'content': (e.get('content') or [{}])[0].get('value'), 'link': e.get('link'), 'updated': e.get('updated')} for e in d.entries]}))";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (scripts/test.sh installs feedparser)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "feedparser failed (pip install feedparser): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn admins_run_an_incident_through_the_forms_and_it_shows_on_the_page_and_in_the_feed() {
    let app = TestApp::sqlite().await;
    let now = portico_core::clock::now_ms();
    let operational = |name: &str, stage: &str| CheckResult {
        component: name.into(),
        stage: stage.into(),
        state: ProbeState::Operational,
        latency_ms: 12,
        error: None,
        checked_at_ms: now,
    };
    status::record_checks(
        &app.shared.db,
        &[
            operational("Developer portal", "portal"),
            operational("Token endpoint", "sandbox"),
            operational("Sandbox API v2", "sandbox"),
        ],
    )
    .await
    .unwrap();

    let mut admin = Browser::admin(&app, ADMIN).await;
    let form = admin.get("/admin/incidents").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains(r#"name="components" value="Sandbox API v2""#),
        "{}",
        form.body
    );

    // Bad input comes back with a message and what was typed, never a 500.
    let res = admin
        .submit(
            "/admin/incidents",
            &[
                ("kind", "incident"),
                ("title", "  "),
                ("impact", "major"),
                ("status", "investigating"),
                ("message", "kept text"),
            ],
        )
        .await;
    assert_eq!(flash(&res), "A title is required.");
    assert!(res.body.contains("kept text"), "the draft is kept");
    let res = admin
        .submit(
            "/admin/incidents",
            &[
                ("kind", "maintenance"),
                ("title", "Upgrade"),
                ("status", "scheduled"),
                ("message", "m"),
                ("starts_at", "tomorrow"),
            ],
        )
        .await;
    assert!(
        flash(&res).contains("is not a date and time"),
        "{}",
        flash(&res)
    );
    let res = admin
        .submit(
            "/admin/incidents",
            &[
                ("kind", "incident"),
                ("title", "x"),
                ("impact", "apocalyptic"),
                ("message", "m"),
            ],
        )
        .await;
    assert!(flash(&res).contains("unknown impact"), "{}", flash(&res));
    let res = admin
        .submit(
            "/admin/incidents",
            &[
                ("kind", "incident"),
                ("title", "x"),
                ("components", "Mainframe"),
                ("status", "investigating"),
                ("message", "m"),
            ],
        )
        .await;
    assert!(flash(&res).contains("not a component"), "{}", flash(&res));

    // Open an incident: major, on Sandbox API v2.
    let res = admin
        .post(
            "/admin/incidents",
            &[
                ("kind", "incident"),
                ("title", "Errors on <v2> & orders"),
                ("components", "Sandbox API v2"),
                ("impact", "major"),
                ("status", "investigating"),
                ("message", "We are investigating errors."),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let location = res.header("location").to_owned();
    assert!(location.starts_with("/admin/incidents/inc_"), "{location}");
    let id = location.trim_start_matches("/admin/incidents/").to_owned();
    let page = admin.get(&location).await;
    assert!(flash(&page).contains("is on the status page"));
    assert!(page.body.contains("Errors on &lt;v2&gt; &amp; orders"));

    // The probe is green, but the incident makes the component a partial outage.
    let doc = assert_status_json_shape(&app.get_portal("/status.json").await);
    assert_eq!(doc["status"]["indicator"], "major");
    assert_eq!(
        component(&doc, "Sandbox API v2")["status"],
        "partial_outage"
    );
    assert_eq!(component(&doc, "Token endpoint")["status"], "operational");
    assert_eq!(doc["incidents"][0]["id"], id.as_str());
    assert_eq!(doc["incidents"][0]["name"], "Errors on <v2> & orders");
    assert_eq!(
        doc["incidents"][0]["updates"][0]["body"],
        "We are investigating errors."
    );
    let public = app.get_portal("/status").await;
    assert!(public.body.contains("Current incidents and maintenance"));
    assert!(public.body.contains(&format!(r#"id="incident-{id}""#)));
    assert!(
        public
            .body
            .contains(r#"data-component="Sandbox API v2" data-status="partial_outage""#)
    );

    // Updates, then resolve.
    admin.get(&location).await;
    let page = admin
        .submit(
            &format!("/admin/incidents/{id}/updates"),
            &[
                ("status", "identified"),
                ("message", "A bad deploy; rolling back."),
            ],
        )
        .await;
    assert_eq!(flash(&page), "Update posted: Identified.");
    let page = admin
        .submit(
            &format!("/admin/incidents/{id}/updates"),
            &[("status", "completed"), ("message", "x")],
        )
        .await;
    assert!(
        flash(&page).contains("is not a status of an incident"),
        "{}",
        flash(&page)
    );
    let page = admin
        .submit(
            &format!("/admin/incidents/{id}/resolve"),
            &[("message", "")],
        )
        .await;
    assert!(flash(&page).contains("is resolved"), "{}", flash(&page));
    assert!(
        !page.body.contains("Post an update"),
        "closed: no more update form"
    );
    let page = admin
        .submit(
            &format!("/admin/incidents/{id}/updates"),
            &[("status", "monitoring"), ("message", "late")],
        )
        .await;
    assert!(flash(&page).contains("takes no more updates"));

    let doc = assert_status_json_shape(&app.get_portal("/status.json").await);
    assert_eq!(doc["status"]["indicator"], "none");
    assert_eq!(
        doc["incidents"].as_array().unwrap().len(),
        0,
        "resolved: not open"
    );
    assert_eq!(component(&doc, "Sandbox API v2")["status"], "operational");
    let public = app.get_portal("/status").await;
    assert!(public.body.contains("Incident history (last 90 days)"));
    for text in [
        "We are investigating errors.",
        "A bad deploy; rolling back.",
        "This incident has been resolved.",
    ] {
        assert!(public.body.contains(text), "{text}");
    }

    // Scheduled maintenance shows ahead of time.
    admin.get("/admin/incidents").await;
    let res = admin
        .post(
            "/admin/incidents",
            &[
                ("kind", "maintenance"),
                ("title", "Database upgrade"),
                ("components", "Token endpoint"),
                ("impact", "minor"),
                ("status", "scheduled"),
                ("starts_at", "2099-01-01T02:00"),
                ("ends_at", "2099-01-01T03:00"),
                ("message", "Tokens may be slow for an hour."),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let doc = assert_status_json_shape(&app.get_portal("/status.json").await);
    let maintenance = &doc["scheduled_maintenances"][0];
    assert_eq!(maintenance["name"], "Database upgrade");
    assert_eq!(maintenance["scheduled_for"], "2099-01-01T02:00:00Z");
    assert_eq!(
        component(&doc, "Token endpoint")["status"],
        "operational",
        "not yet"
    );
    let public = app.get_portal("/status").await;
    assert!(public.body.contains("Scheduled maintenance</h2>"));
    assert!(
        public
            .body
            .contains("2099-01-01 02:00 UTC to 2099-01-01 03:00 UTC")
    );

    // The Atom feed: valid for a real feed parser, one entry per update, text escaped.
    let feed = app.get_portal("/status/feed.atom").await;
    assert_eq!(feed.status, StatusCode::OK);
    assert_eq!(
        feed.header("content-type"),
        "application/atom+xml; charset=utf-8"
    );
    let parsed = feedparser(&feed.body);
    assert_eq!(parsed["bozo"], false, "{}: {}", parsed["error"], feed.body);
    assert_eq!(parsed["version"], "atom10");
    assert_eq!(parsed["self"][0], "http://portal.test/status/feed.atom");
    let entries = parsed["entries"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        4,
        "three incident updates and the maintenance notice: {parsed}"
    );
    let titles: Vec<&str> = entries
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Errors on <v2> & orders (Resolved)"),
        "{titles:?}"
    );
    assert!(titles.contains(&"Errors on <v2> & orders (Investigating)"));
    assert!(titles.contains(&"Database upgrade (Scheduled)"));
    for e in entries {
        assert!(
            e["id"]
                .as_str()
                .unwrap()
                .starts_with("tag:portal.test,2026:status:incident:"),
            "{e}"
        );
        assert!(
            e["link"]
                .as_str()
                .unwrap()
                .starts_with("http://portal.test/status#incident-")
        );
        assert!(e["updated"].is_string());
    }
    let identified = entries
        .iter()
        .find(|e| e["title"] == "Errors on <v2> & orders (Identified)")
        .unwrap();
    assert!(
        identified["content"]
            .as_str()
            .unwrap()
            .contains("A bad deploy; rolling back."),
        "{identified}"
    );
    // Stable ids: the same entries next time.
    let again = feedparser(&app.get_portal("/status/feed.atom").await.body);
    assert_eq!(again["entries"], parsed["entries"]);

    // Every change is in the admin audit log.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE action LIKE 'status.%' ORDER BY occurred_at, id",
    )
    .fetch_all(app.shared.db.pool())
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "status.incident.create",
            "status.incident.update",
            "status.incident.resolve",
            "status.maintenance.create"
        ]
    );
}

#[tokio::test]
async fn only_admins_may_post_incidents_and_every_form_needs_its_csrf_token() {
    let app = TestApp::sqlite().await;
    status::record_checks(
        &app.shared.db,
        &[CheckResult {
            component: "Sandbox API v2".into(),
            stage: "sandbox".into(),
            state: ProbeState::Operational,
            latency_ms: 5,
            error: None,
            checked_at_ms: portico_core::clock::now_ms(),
        }],
    )
    .await
    .unwrap();
    let fields = [
        ("kind", "incident"),
        ("title", "Sneaky"),
        ("impact", "critical"),
        ("status", "investigating"),
        ("message", "m"),
    ];
    let mut partner = Browser::sign_up(&app, "dev@partner.test").await;
    let page = partner.get("/admin/incidents").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Administrators only"));
    let res = partner.post("/admin/incidents", &fields).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let res = partner.post("/admin/incidents/inc_x/resolve", &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let mut visitor = Browser::new(&app);
    let res = visitor.post("/admin/incidents", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), "/signin");

    let mut admin = Browser::admin(&app, ADMIN).await;
    admin.get("/admin/incidents").await;
    let res = admin.post_raw("/admin/incidents", &fields).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "no CSRF token");
    let mut with_wrong = vec![("csrf_token", "forged")];
    with_wrong.extend_from_slice(&fields);
    let res = admin.post_raw("/admin/incidents", &with_wrong).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "wrong CSRF token");
    // An unknown incident is a message, not a 500.
    let page = admin
        .submit(
            "/admin/incidents/inc_missing/updates",
            &[("status", "identified"), ("message", "m")],
        )
        .await;
    assert!(
        flash(&page).contains("No such incident"),
        "{}",
        flash(&page)
    );
    let doc = app.get_portal("/status.json").await.json();
    assert_eq!(doc["status"]["indicator"], "none", "nothing was created");
    assert_eq!(doc["incidents"].as_array().unwrap().len(), 0);
}

// ---------------------------------------------------------------------------------------------
// Two real processes: the portal (probing) and the sandbox, on one SQLite file.
// ---------------------------------------------------------------------------------------------

/// Polls the portal's status.json until `done` holds (generous deadline; no timing asserted).
fn wait_for(portal: &str, what: &str, done: impl Fn(&Value) -> bool) -> (Value, Duration) {
    let started = Instant::now();
    let mut last = Value::Null;
    while started.elapsed() < Duration::from_secs(90) {
        if let Some((200, body)) = http_get(portal, "/status.json")
            && let Ok(doc) = serde_json::from_str::<Value>(&body)
        {
            if done(&doc) {
                return (doc, started.elapsed());
            }
            last = doc;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what}: not seen within 90 s; last status.json: {last}");
}

fn status_of(doc: &Value, name: &str) -> String {
    doc["components"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("absent")
        .to_owned()
}

#[test]
fn stopping_the_sandbox_process_turns_its_components_red_and_starting_it_green_again() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sandbox_addr = format!("127.0.0.1:{port}");
    let sandbox_env = [
        ("PORTICO_FRONTS", "sandbox"),
        ("PORTICO_SANDBOX_ADDR", sandbox_addr.as_str()),
    ];
    let (sandbox, sandbox_url) = Process::start(dir.path(), &sandbox_env, "sandbox");
    let (portal, portal_url) = Process::start(
        dir.path(),
        &[
            ("PORTICO_FRONTS", "portal"),
            ("PORTICO_PUBLIC_SANDBOX_URL", sandbox_url.as_str()),
            ("PORTICO_PROBE_INTERVAL", "1"),
        ],
        "portal",
    );
    let api = ["Token endpoint", "Sandbox API v1", "Sandbox API v2"];
    let all = |doc: &Value, state: &str| api.iter().all(|name| status_of(doc, name) == state);

    let (doc, _) = wait_for(&portal_url, "green at start", |d| all(d, "operational"));
    assert_eq!(status_of(&doc, "Developer portal"), "operational");
    assert_eq!(doc["status"]["indicator"], "none");

    sandbox.stop();
    let (doc, red_after) = wait_for(&portal_url, "red after the sandbox stopped", |d| {
        all(d, "major_outage")
    });
    assert_eq!(doc["status"]["indicator"], "major", "{doc}");
    assert_eq!(status_of(&doc, "Developer portal"), "operational");
    let (status, page) = http_get(&portal_url, "/status").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains(r#"data-component="Sandbox API v2" data-status="major_outage""#));

    let (sandbox, _) = Process::start(dir.path(), &sandbox_env, "sandbox");
    let (doc, green_after) = wait_for(&portal_url, "green after the sandbox started", |d| {
        all(d, "operational")
    });
    assert_eq!(doc["status"]["indicator"], "none");
    eprintln!(
        "status probes (interval 1 s): red {:.1} s after the sandbox stopped, green {:.1} s after it started",
        red_after.as_secs_f64(),
        green_after.as_secs_f64()
    );
    sandbox.stop();
    portal.stop();
}
