//! Webhook deliveries end to end: sandbox changes reach a real loopback receiver, signed so
//! that the unmodified Standard Webhooks libraries (Python and npm) verify them, through a
//! secret rotation and after its window; the retry schedule (with a test clock) and the
//! disabling of an endpoint that keeps failing; SSRF refusals at delivery time; and no event
//! lost when the process is killed with `kill -9`.

use crate::common::on_both_engines;
use crate::common::{Browser, Process, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use portico_core::clock;
use portico_core::identity::ActorContext;
use portico_core::webhooks::{self, AttemptResult, EndpointInput, signing::SigningSecret};
use portico_server::http::metrics::HttpMetrics;
use portico_server::http::public_client::DestinationPolicy;
use portico_server::webhooks::DeliveryWorker;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ORDER_EVENTS: [&str; 3] = ["order.cancelled", "order.created", "order.updated"];

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: BTreeMap<String, String>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or_else(
            || panic!("no {name} header: {:?}", self.headers),
            String::as_str,
        )
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A partner's receiver on loopback: records every request; answers 500 to the first
/// `fail_first` requests and 200 after them, or never answers while `hang` is set.
#[derive(Clone, Default)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<AtomicUsize>,
    hang: Arc<AtomicBool>,
    /// Answer with a redirect to a private address instead.
    redirect: Arc<AtomicBool>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut receiver = Receiver {
            url: format!("http://{}/hooks/portico", listener.local_addr().unwrap()),
            ..Receiver::default()
        };
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hooks/portico",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    state.received.lock().unwrap().push(Received {
                        headers: headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                            .collect(),
                        body,
                    });
                    if state.hang.load(Ordering::SeqCst) {
                        std::future::pending::<()>().await;
                    }
                    if state.redirect.load(Ordering::SeqCst) {
                        return axum::response::Response::builder()
                            .status(302)
                            .header("location", "http://10.0.0.1/steal")
                            .body(Body::empty())
                            .unwrap();
                    }
                    let failing = state
                        .fail_first
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let (status, text) = if failing {
                        (500, "not now")
                    } else {
                        (200, "ok, thanks")
                    };
                    axum::response::Response::builder()
                        .status(status)
                        .body(Body::from(text))
                        .unwrap()
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        receiver.url = receiver.url.clone();
        receiver
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A partner organisation with an owner, an application allowed to write orders, and its token.
struct Partner {
    ctx: ActorContext,
    app_id: String,
    token: String,
}

async fn partner(app: &TestApp, email: &str, name: &str) -> Partner {
    drop(Browser::partner_with_org(app, email, name).await);
    let (user_id, slug): (String, String) = sqlx::query_as(
        "SELECT u.id, p.slug FROM users u JOIN partners p ON p.id = u.partner_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(app.shared.db.pool())
    .await
    .unwrap();
    let (application, _) = create_app(
        &app.shared.db,
        &slug,
        name,
        "Orders",
        &Scopes::parse("commercial:read commercial:write").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    let token = app.tokens.issue(&application, None).unwrap().access_token;
    Partner {
        ctx: ActorContext {
            user_id,
            email: email.to_owned(),
            client_addr: "127.0.0.1".into(),
            request_id: None,
        },
        app_id: application.id,
        token,
    }
}

fn types(names: &[&str]) -> Vec<String> {
    names.iter().map(|t| (*t).to_owned()).collect()
}

async fn add_endpoint(app: &TestApp, partner: &Partner, url: &str) -> (String, SigningSecret) {
    let known = app.shared.catalog.event_types();
    let (endpoint, secret) = webhooks::create_endpoint(
        &app.shared.db,
        app.tokens.sealer(),
        &partner.ctx,
        &partner.app_id,
        &EndpointInput {
            url,
            description: "orders receiver",
            event_types: &types(&ORDER_EVENTS),
        },
        &known,
    )
    .await
    .unwrap();
    (endpoint.id, secret)
}

fn worker(app: &TestApp, allow_http_loopback: bool) -> Arc<DeliveryWorker> {
    Arc::new(
        DeliveryWorker::new(
            app.shared.db.clone(),
            app.tokens.clone(),
            DestinationPolicy {
                allow_http_loopback,
            },
        )
        .unwrap(),
    )
}

async fn create_order(app: &TestApp, token: &str, key: &str) -> (StatusCode, Value) {
    let response = app
        .sandbox(
            Request::post("/v2/commercial/orders")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .header("idempotency-key", key)
                .body(Body::from(
                    json!({"customer_reference": "PO-1", "items": [
                        {"product_id": "prd_01jd8x5v7k2m3n4p5q6r7s8t9v", "quantity": 2}
                    ]})
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    (response.status, response.json())
}

async fn cancel_order(app: &TestApp, token: &str, id: &str) -> StatusCode {
    app.sandbox(
        Request::post(format!("/v2/commercial/orders/{id}/cancel"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .status
}

/// Runs the unmodified Standard Webhooks verifier of Python (`standardwebhooks` from PyPI) and
/// of npm (`standardwebhooks`, in end2end/node_modules) on each (request, secret): whether it
/// verified. Both must agree.
fn library_verdicts(cases: &[(&Received, String)]) -> Vec<bool> {
    let cases: Vec<Value> = cases
        .iter()
        .map(|(received, secret)| {
            json!({"secret": secret, "body": received.body, "headers": {
                "webhook-id": received.header("webhook-id"),
                "webhook-timestamp": received.header("webhook-timestamp"),
                "webhook-signature": received.header("webhook-signature"),
            }})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_string(&cases).unwrap()).unwrap();
    let python = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import json, sys\n\
             from standardwebhooks import Webhook\n\
             verdicts = []\n\
             for case in json.load(open(sys.argv[1])):\n\
             \x20   try:\n\
             \x20       Webhook(case['secret']).verify(case['body'], case['headers'])\n\
             \x20       verdicts.append(True)\n\
             \x20   except Exception:\n\
             \x20       verdicts.append(False)\n\
             print(json.dumps(verdicts))\n",
        )
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        python.status.success(),
        "python standardwebhooks (installed by scripts/test.sh): {}",
        String::from_utf8_lossy(&python.stderr)
    );
    let end2end = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end");
    let node = std::process::Command::new("node")
        .current_dir(&end2end)
        .arg("-e")
        .arg(
            "const { Webhook } = require('standardwebhooks');\n\
             const cases = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));\n\
             console.log(JSON.stringify(cases.map((c) => {\n\
               try { new Webhook(c.secret).verify(c.body, c.headers); return true; }\n\
               catch (e) { return false; }\n\
             })));\n",
        )
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        node.status.success(),
        "npm standardwebhooks (end2end/node_modules, installed by scripts/test.sh): {}",
        String::from_utf8_lossy(&node.stderr)
    );
    let python: Vec<bool> = serde_json::from_slice(&python.stdout).unwrap();
    let node: Vec<bool> = serde_json::from_slice(&node.stdout).unwrap();
    assert_eq!(python, node, "the two libraries disagree");
    python
}

async fn sandbox_changes_reach_the_receiver_signed(app: TestApp) {
    let receiver = Receiver::start().await;
    let acme = partner(&app, "owner@acme.test", "Acme Freight").await;
    let globex = partner(&app, "owner@globex.test", "Globex").await;
    let (endpoint_id, secret) = add_endpoint(&app, &acme, &receiver.url).await;
    let worker = worker(&app, true);

    // CreateOrder → order.created, with the new order as data.
    let (status, order) = create_order(&app, &acme.token, "key-1").await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order_id = order["id"].as_str().unwrap().to_owned();
    let results = worker.run_once(clock::now_ms()).await.unwrap();
    assert_eq!(results, vec![AttemptResult::Delivered]);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let created = &got[0];
    let payload = created.json();
    assert_eq!(payload["type"], "order.created");
    assert_eq!(payload["data"]["id"], order_id.as_str());
    assert_eq!(payload["data"]["status"], "pending");
    assert!(payload["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created.header("content-type"), "application/json");
    let id = created.header("webhook-id");
    assert!(id.starts_with("msg_"), "{id}");
    let timestamp: i64 = created.header("webhook-timestamp").parse().unwrap();
    assert!((timestamp - clock::now()).abs() < 60);
    assert_eq!(
        created.header("webhook-signature"),
        secret.sign(id, timestamp, created.body.as_bytes())
    );
    assert_eq!(
        created.header("x-signature"),
        secret.x_signature(created.body.as_bytes())
    );

    // An idempotent retry creates nothing, so it emits nothing.
    let (status, again) = create_order(&app, &acme.token, "key-1").await;
    assert_eq!((status, &again["id"]), (StatusCode::CREATED, &order["id"]));
    // Another partner's orders never reach Acme's endpoint.
    let (status, _) = create_order(&app, &globex.token, "key-g").await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(worker.run_once(clock::now_ms()).await.unwrap().is_empty());

    // CancelOrder → order.cancelled and order.updated.
    assert_eq!(
        cancel_order(&app, &acme.token, &order_id).await,
        StatusCode::OK
    );
    let results = worker.run_once(clock::now_ms()).await.unwrap();
    assert_eq!(results.len(), 2);
    let got = receiver.received();
    let mut kinds: Vec<String> = got[1..]
        .iter()
        .map(|r| {
            let payload = r.json();
            assert_eq!(payload["data"]["id"], order_id.as_str());
            assert_eq!(payload["data"]["status"], "cancelled");
            payload["type"].as_str().unwrap().to_owned()
        })
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["order.cancelled", "order.updated"]);

    // The unmodified libraries verify every delivery, and refuse a wrong secret.
    let whsec = secret.to_whsec();
    let wrong = SigningSecret::generate().to_whsec();
    let cases: Vec<(&Received, String)> = got
        .iter()
        .map(|r| (r, whsec.clone()))
        .chain([(&got[0], wrong)])
        .collect();
    assert_eq!(library_verdicts(&cases), [true, true, true, false]);

    // Rotation: during the overlap every delivery carries both signatures; both verify.
    let new_secret = webhooks::rotate_secret(
        &app.shared.db,
        app.tokens.sealer(),
        &acme.ctx,
        &endpoint_id,
        3600,
    )
    .await
    .unwrap();
    webhooks::send_test_event(&app.shared.db, Some(&acme.ctx), &endpoint_id)
        .await
        .unwrap();
    assert_eq!(
        worker.run_once(clock::now_ms()).await.unwrap(),
        vec![AttemptResult::Delivered]
    );
    let during = receiver.received().pop().unwrap();
    assert_eq!(during.json()["type"], webhooks::TEST_EVENT_TYPE);
    assert_eq!(during.header("webhook-signature").split(' ').count(), 2);
    assert_eq!(during.header("x-signature").split(", ").count(), 2);
    let new_whsec = new_secret.to_whsec();
    assert_eq!(
        library_verdicts(&[(&during, whsec.clone()), (&during, new_whsec.clone())]),
        [true, true]
    );

    // After the window (as if its end had come): only the new secret signs.
    sqlx::query("UPDATE webhook_endpoints SET previous_secret_until = $1 WHERE id = $2")
        .bind(clock::now() - 1)
        .bind(&endpoint_id)
        .execute(app.shared.db.pool())
        .await
        .unwrap();
    webhooks::send_test_event(&app.shared.db, Some(&acme.ctx), &endpoint_id)
        .await
        .unwrap();
    worker.run_once(clock::now_ms()).await.unwrap();
    let after = receiver.received().pop().unwrap();
    assert_eq!(after.header("webhook-signature").split(' ').count(), 1);
    assert_eq!(
        library_verdicts(&[(&after, whsec), (&after, new_whsec)]),
        [false, true]
    );

    // The delivery log and the metrics saw all five.
    let log = webhooks::attempts(
        &app.shared.db,
        &acme.ctx,
        &endpoint_id,
        &webhooks::AttemptFilter {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(log.len(), 5);
    assert!(
        log.iter()
            .all(|a| a.succeeded && a.status_code == Some(200))
    );
    assert_eq!(log[4].event_type, "order.created");
    assert_eq!(log[4].response_excerpt, "ok, thanks");
    // Globex cannot read Acme's log.
    assert!(
        webhooks::attempts(
            &app.shared.db,
            &globex.ctx,
            &endpoint_id,
            &Default::default()
        )
        .await
        .is_err()
    );
    let metrics = HttpMetrics::default();
    portico_server::webhooks::register_metrics(&metrics, worker.counters());
    worker.refresh_stats().await;
    let text = metrics.render();
    assert!(
        text.contains("portico_webhook_deliveries_total{result=\"delivered\"} 5"),
        "{text}"
    );
    assert!(text.contains("portico_webhook_queue_depth 0"), "{text}");
}

on_both_engines!(
    sandbox_changes_reach_the_receiver_signed,
    sandbox_changes_reach_the_receiver_signed,
    "multi_thread"
);

#[tokio::test(flavor = "multi_thread")]
async fn retries_follow_the_schedule_and_an_endpoint_failing_for_five_days_is_disabled() {
    let app = TestApp::sqlite().await;
    let receiver = Receiver::start().await;
    let acme = partner(&app, "owner@acme.test", "Acme Freight").await;
    let (endpoint_id, _) = add_endpoint(&app, &acme, &receiver.url).await;
    let worker = worker(&app, true);

    // Fails 3 times, then succeeds: attempts 5 s, 5 min and 30 min apart (±10 %).
    receiver.fail_first.store(3, Ordering::SeqCst);
    let message = webhooks::send_test_event(&app.shared.db, Some(&acme.ctx), &endpoint_id)
        .await
        .unwrap();
    let mut now = clock::now_ms();
    for expected_secs in [5, 300, 1_800] {
        let results = worker.run_once(now).await.unwrap();
        let [AttemptResult::RetryAt(next)] = results[..] else {
            panic!("expected one retry, got {results:?}");
        };
        let wait = next - now;
        let base = expected_secs * 1000;
        assert!(
            (base * 9 / 10..=base * 11 / 10).contains(&wait),
            "retry after {wait} ms, schedule says {base} ms ±10 %"
        );
        // Not before it is due.
        assert!(worker.run_once(next - 1).await.unwrap().is_empty());
        now = next;
    }
    assert_eq!(
        worker.run_once(now).await.unwrap(),
        vec![AttemptResult::Delivered]
    );
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    assert!(
        got.iter().all(|r| r.header("webhook-id") == message),
        "every retry carries the same webhook-id"
    );
    let failed = webhooks::attempts(
        &app.shared.db,
        &acme.ctx,
        &endpoint_id,
        &webhooks::AttemptFilter {
            succeeded: Some(false),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(failed.len(), 3);
    assert!(
        failed
            .iter()
            .all(|a| a.status_code == Some(500) && a.response_excerpt == "not now")
    );

    // Failing from now on: a delivery gives up after 8 attempts (about 28 hours).
    receiver.fail_first.store(usize::MAX, Ordering::SeqCst);
    webhooks::send_test_event(&app.shared.db, Some(&acme.ctx), &endpoint_id)
        .await
        .unwrap();
    let start = clock::now_ms();
    let mut now = start;
    let mut outcomes = Vec::new();
    for _ in 0..8 {
        let results = worker.run_once(now).await.unwrap();
        assert_eq!(results.len(), 1, "{outcomes:?}");
        outcomes.push(results[0]);
        if let AttemptResult::RetryAt(next) = results[0] {
            now = next;
        }
    }
    assert_eq!(outcomes.last(), Some(&AttemptResult::GaveUp));
    assert!(
        (now - start) > 24 * 3_600_000 && (now - start) < 32 * 3_600_000,
        "last attempt {} h after the first",
        (now - start) / 3_600_000
    );
    let endpoint = webhooks::get_endpoint(&app.shared.db, &acme.ctx, &endpoint_id)
        .await
        .unwrap();
    assert!(endpoint.enabled, "only 28 hours of failures so far");

    // Still failing 5 days after the streak began: disabled, audited, listed for the banner.
    webhooks::send_test_event(&app.shared.db, Some(&acme.ctx), &endpoint_id)
        .await
        .unwrap();
    let five_days_on = start + webhooks::DISABLE_AFTER_FAILING_MS + 1_000;
    worker.run_once(five_days_on).await.unwrap();
    let endpoint = webhooks::get_endpoint(&app.shared.db, &acme.ctx, &endpoint_id)
        .await
        .unwrap();
    assert!(!endpoint.enabled);
    assert_eq!(endpoint.disabled_reason.as_deref(), Some("failing"));
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'webhook_endpoint.disabled' AND target = $1",
    )
    .bind(&endpoint_id)
    .fetch_one(app.shared.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
    assert_eq!(
        webhooks::failing_endpoints_of_application(&app.shared.db, &acme.app_id)
            .await
            .unwrap()
            .len(),
        1
    );
    // A disabled endpoint gets nothing until it is enabled again.
    receiver.fail_first.store(0, Ordering::SeqCst);
    let before = receiver.received().len();
    webhooks::send_test_event(&app.shared.db, Some(&acme.ctx), &endpoint_id)
        .await
        .unwrap();
    assert!(worker.run_once(clock::now_ms()).await.unwrap().is_empty());
    webhooks::set_enabled(&app.shared.db, &acme.ctx, &endpoint_id, true)
        .await
        .unwrap();
    assert!(
        worker
            .run_once(clock::now_ms())
            .await
            .unwrap()
            .contains(&AttemptResult::Delivered)
    );
    assert!(receiver.received().len() > before);
    // Replaying every failed message since the start sends the given-up one again.
    let replayed =
        webhooks::replay_failed_since(&app.shared.db, &acme.ctx, &endpoint_id, start / 1000 - 1)
            .await
            .unwrap();
    assert!(replayed >= 1, "{replayed}");
    assert!(
        worker
            .run_once(clock::now_ms())
            .await
            .unwrap()
            .iter()
            .all(|r| *r == AttemptResult::Delivered)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_never_reach_refused_destinations() {
    let app = TestApp::sqlite().await;
    let receiver = Receiver::start().await;
    let acme = partner(&app, "owner@acme.test", "Acme Freight").await;
    let (endpoint_id, _) = add_endpoint(&app, &acme, &receiver.url).await;

    // The loopback flag off: the stored loopback URL is refused at delivery; nothing is sent.
    let strict = worker(&app, false);
    webhooks::send_test_event(&app.shared.db, Some(&acme.ctx), &endpoint_id)
        .await
        .unwrap();
    assert!(matches!(
        strict.run_once(clock::now_ms()).await.unwrap()[..],
        [AttemptResult::RetryAt(_)]
    ));
    assert!(receiver.received().is_empty());
    // A host name that resolves to loopback: the resolver drops the address; nothing is sent.
    sqlx::query(
        "UPDATE webhook_endpoints SET url = 'https://localhost:8443/hooks/portico' WHERE id = $1",
    )
    .bind(&endpoint_id)
    .execute(app.shared.db.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = 0")
        .execute(app.shared.db.pool())
        .await
        .unwrap();
    strict.run_once(clock::now_ms()).await.unwrap();
    let log = webhooks::attempts(
        &app.shared.db,
        &acme.ctx,
        &endpoint_id,
        &webhooks::AttemptFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(log.len(), 2);
    assert!(
        log[1].error.as_deref().unwrap().contains("https://"),
        "{:?}",
        log[1].error
    );
    assert!(
        log[0].error.is_some() && log[0].status_code.is_none(),
        "{:?}",
        log[0]
    );
    assert!(receiver.received().is_empty());

    // A redirect to a private address is an answer (a failed one), never followed.
    sqlx::query("UPDATE webhook_endpoints SET url = $1 WHERE id = $2")
        .bind(&receiver.url)
        .bind(&endpoint_id)
        .execute(app.shared.db.pool())
        .await
        .unwrap();
    receiver.redirect.store(true, Ordering::SeqCst);
    let loose = worker(&app, true);
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = 0")
        .execute(app.shared.db.pool())
        .await
        .unwrap();
    assert!(matches!(
        loose.run_once(clock::now_ms()).await.unwrap()[..],
        [AttemptResult::RetryAt(_)]
    ));
    assert_eq!(receiver.received().len(), 1);
    let log = webhooks::attempts(
        &app.shared.db,
        &acme.ctx,
        &endpoint_id,
        &webhooks::AttemptFilter {
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(log[0].status_code, Some(302));
    assert!(!log[0].succeeded);
}

/// `kill -9` of the process while 100 events wait in the outbox (the receiver holds the
/// first requests without answering): after a restart every event is delivered, none is lost,
/// and a repeat only ever carries the same webhook-id and body.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_with_100_events_in_the_outbox_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let master_key = portico_core::tokens::keys::KeySealer::generate_base64();
    let env = [
        ("PORTICO_MASTER_KEY", master_key.as_str()),
        ("PORTICO_WEBHOOKS_ALLOW_HTTP_LOOPBACK", "true"),
    ];
    let (first, sandbox_url) = Process::start(dir.path(), &env, "sandbox");
    // The test works on the same database file, with the same master key.
    let db = portico_core::Database::connect(
        &portico_core::DatabaseUrl::parse(&format!("sqlite://{}/portico.db", dir.path().display()))
            .unwrap(),
    )
    .await
    .unwrap();
    let sealer = portico_core::tokens::keys::KeySealer::from_base64(&master_key).unwrap();
    let receiver = Receiver::start().await;
    receiver.hang.store(true, Ordering::SeqCst);
    let (application, credentials) = create_app(
        &db,
        "acme",
        "Acme Freight",
        "Orders",
        &Scopes::parse("commercial:read commercial:write").unwrap(),
        // Room for 100 orders in a second or two.
        "premium",
    )
    .await
    .unwrap();
    // The endpoint, as the portal stores it (sealed secret, one subscribed type).
    let endpoint_id = portico_core::ids::new_id("wep");
    let sealed = sealer
        .seal_secret(
            SigningSecret::generate().to_whsec().as_bytes(),
            &endpoint_id,
        )
        .unwrap();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, application_id, partner_id, url, description, event_types, \
         status, secret_sealed, created_at, updated_at) \
         VALUES ($1, $2, 'acme', $3, '', ' order.created ', 'enabled', $4, 0, 0)",
    )
    .bind(&endpoint_id)
    .bind(&application.id)
    .bind(&receiver.url)
    .bind(&sealed)
    .execute(db.pool())
    .await
    .unwrap();

    let http = portico_server::sso::outbound_client().unwrap();
    let token: Value = http
        .post(format!("{sandbox_url}/oauth2/token"))
        .basic_auth(
            &application.client_id,
            Some(credentials.client_secret.expose()),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let mut order_ids = Vec::new();
    let first_order_at = Instant::now();
    for n in 0..100 {
        let response = http
            .post(format!("{sandbox_url}/v2/commercial/orders"))
            .bearer_auth(&token)
            .header("x-api-key", credentials.api_key.expose())
            .header("idempotency-key", format!("order-{n}"))
            .header("content-type", "application/json")
            .body(
                json!({"customer_reference": format!("PO-{n}"), "items": [
                    {"product_id": "prd_01jd8x5v7k2m3n4p5q6r7s8t9v", "quantity": 1}
                ]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let order: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        order_ids.push(order["id"].as_str().unwrap().to_owned());
        if n == 0 {
            // The first event reaches the receiver (which holds it) within a second or so.
            while receiver.received().is_empty() {
                assert!(
                    first_order_at.elapsed() < Duration::from_secs(10),
                    "no delivery at all"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            eprintln!(
                "first event received {:?} after its order",
                first_order_at.elapsed()
            );
        }
    }
    // kill -9 with the first requests held open and the rest waiting in the outbox.
    drop(first);
    let seen_before = receiver.received().len();
    assert!(
        seen_before < 100,
        "the receiver held requests; {seen_before} got through"
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(&endpoint_id)
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(
        stored, 100,
        "every committed order has its event in the outbox"
    );

    receiver.hang.store(false, Ordering::SeqCst);
    let (second, _) = Process::start(dir.path(), &env, "sandbox");
    // Held claims lapse after 30 s; everything else goes at once.
    let deadline = Instant::now() + Duration::from_secs(90);
    let delivered = loop {
        let delivered: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND state = 'succeeded'",
        )
        .bind(&endpoint_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        if delivered == 100 || Instant::now() > deadline {
            break delivered;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(second);
    assert_eq!(delivered, 100);
    let got = receiver.received();
    let mut by_id: BTreeMap<String, String> = BTreeMap::new();
    for request in &got {
        let id = request.header("webhook-id").to_owned();
        if let Some(body) = by_id.insert(id.clone(), request.body.clone()) {
            assert_eq!(body, request.body, "a repeat of {id} carries the same body");
        }
    }
    assert_eq!(
        by_id.len(),
        100,
        "{} requests, {} distinct ids",
        got.len(),
        by_id.len()
    );
    let mut received_orders: Vec<String> = by_id
        .values()
        .map(|body| {
            serde_json::from_str::<Value>(body).unwrap()["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    received_orders.sort();
    order_ids.sort();
    assert_eq!(received_orders, order_ids, "exactly the committed orders");
    eprintln!(
        "{} requests for 100 events ({} repeats of held requests)",
        got.len(),
        got.len() - 100
    );
    db.close().await;
}

/// Several workers on one PostgreSQL (as several replicas run them): every delivery is sent by
/// exactly one of them (`FOR UPDATE SKIP LOCKED` claims), none twice.
#[tokio::test(flavor = "multi_thread")]
async fn replicas_on_postgres_share_the_deliveries_without_sending_one_twice() {
    let app = TestApp::postgres().await;
    let receiver = Receiver::start().await;
    let acme = partner(&app, "owner@acme.test", "Acme Freight").await;
    let mut endpoints = Vec::new();
    for _ in 0..3 {
        endpoints.push(add_endpoint(&app, &acme, &receiver.url).await.0);
    }
    for endpoint in &endpoints {
        for _ in 0..20 {
            webhooks::send_test_event(&app.shared.db, Some(&acme.ctx), endpoint)
                .await
                .unwrap();
        }
    }
    let replicas: Vec<Arc<DeliveryWorker>> = (0..3).map(|_| worker(&app, true)).collect();
    let mut delivered = 0;
    for _ in 0..50 {
        let rounds = replicas.iter().map(|w| {
            let w = w.clone();
            tokio::spawn(async move { w.run_once(clock::now_ms()).await.unwrap() })
        });
        let mut by_replica = Vec::new();
        for round in rounds {
            by_replica.push(round.await.unwrap().len());
        }
        delivered += by_replica.iter().sum::<usize>();
        if delivered >= 60 {
            break;
        }
    }
    assert_eq!(delivered, 60);
    let got = receiver.received();
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 60, "one request per delivery");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 60, "no delivery sent twice");
}

/// `portico webhooks test --endpoint ID` sends at once and prints the answer; an unknown
/// endpoint is one line and exit code 1.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_sends_a_test_event_and_reports_the_answer() {
    use base64::Engine as _;
    let app = TestApp::sqlite().await;
    let receiver = Receiver::start().await;
    let acme = partner(&app, "owner@acme.test", "Acme Freight").await;
    let (endpoint_id, secret) = add_endpoint(&app, &acme, &receiver.url).await;
    let dir = tempfile::tempdir().unwrap();
    // The test token service's master key (`portico_core::testing::test_sealer`).
    let master_key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let run = |endpoint: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_portico"))
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", app.database.url.as_str())
            .env("PORTICO_MASTER_KEY", &master_key)
            .env("PORTICO_WEBHOOKS_ALLOW_HTTP_LOOPBACK", "true")
            .env("PORTICO_LOG", "error")
            .args(["webhooks", "test", "--endpoint", endpoint])
            .output()
            .unwrap()
    };
    let sent = tokio::task::block_in_place(|| run(&endpoint_id));
    let stdout = String::from_utf8_lossy(&sent.stdout);
    assert!(
        sent.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(stdout.starts_with("delivered msg_"), "{stdout}");
    assert!(stdout.contains(": HTTP 200 in "), "{stdout}");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["type"], "portico.test");
    let timestamp: i64 = got[0].header("webhook-timestamp").parse().unwrap();
    assert_eq!(
        got[0].header("webhook-signature"),
        secret.sign(
            got[0].header("webhook-id"),
            timestamp,
            got[0].body.as_bytes()
        )
    );

    // Refused by the receiver: exit 1, one line, and the event stays queued for its retries.
    receiver.fail_first.store(1, Ordering::SeqCst);
    let failed = tokio::task::block_in_place(|| run(&endpoint_id));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("failed (HTTP 500)"), "{stderr}");

    let unknown = tokio::task::block_in_place(|| run("wep_nope"));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        stderr.trim(),
        "portico: there is no webhook endpoint \"wep_nope\""
    );
}
