//! Several `portico serve` replicas on one PostgreSQL and one Redis. A change made through one
//! process applies on every other within [`BOUND`] (PostgreSQL LISTEN/NOTIFY), where the
//! caches alone would take up to 5 s; a replica killed under write load loses no committed row.

use crate::common::{Browser, CliApplication, Process, TestApp, test_master_key};
use std::time::{Duration, Instant};

/// The documented bound on how long a revocation, suspension or scope withdrawal takes to
/// apply on every replica.
const BOUND: Duration = Duration::from_secs(2);
const ADMIN: &str = "root@portico.test";

/// A gateway replica (sandbox front only) on `database_url`, sharing counters through Redis:
/// its process, its sandbox URL and its metrics URL.
fn gateway_replica(dir: &std::path::Path, database_url: &str) -> (Process, String, String) {
    let key = test_master_key();
    let (process, mut urls) = Process::start_fronts(
        dir,
        &[
            ("DATABASE_URL", database_url),
            ("PORTICO_MASTER_KEY", &key),
            ("PORTICO_FRONTS", "sandbox"),
            // Behind one load balancer every replica issues and accepts the same `iss`.
            ("PORTICO_ISSUER", "http://sandbox.portico.test"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("PORTICO_METRICS_ADDR", "127.0.0.1:0"),
        ],
        &["sandbox", "metrics"],
    );
    let metrics = urls.pop().unwrap();
    (process, urls.pop().unwrap(), metrics)
}

/// What these tests do with an application.
impl CliApplication {
    /// The status of a call: GET lists orders, POST creates one from an empty (invalid) body,
    /// which the validator refuses with 400 only once the caller is authorized to write.
    async fn call(&self, base: &str, token: &str, write: bool) -> (u16, serde_json::Value) {
        let url = format!("{base}/v2/commercial/orders");
        let request = if write {
            self.http
                .post(url)
                .header("content-type", "application/json")
                .body("{}")
        } else {
            self.http.get(format!("{url}?limit=1"))
        };
        let res = request
            .bearer_auth(token)
            .header("x-api-key", &self.api_key)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        (status, serde_json::from_str(&body).unwrap_or_default())
    }

    /// How long until every replica answers `expected`; panics after 10 s.
    async fn until_all(&self, bases: &[&str], token: &str, write: bool, expected: u16) -> Duration {
        let started = Instant::now();
        let mut pending: Vec<&str> = bases.to_vec();
        while !pending.is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{pending:?} still not answering {expected}"
            );
            let mut still = Vec::new();
            for base in pending {
                if self.call(base, token, write).await.0 != expected {
                    still.push(base);
                }
            }
            pending = still;
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        started.elapsed()
    }
}

/// Two gateway replicas, primed (their caches hold the application), see a token revocation
/// made on one of them, and a suspension, a reactivation and a scope withdrawal made in the
/// portal (a third process's worth: the in-process portal), within the bound.
#[tokio::test(flavor = "multi_thread")]
async fn revocations_suspensions_and_scope_withdrawals_reach_every_replica_at_once() {
    let app = TestApp::postgres().await;
    let url = app.database.url.as_str().to_owned();
    let caller = CliApplication::create(&url, "acme");
    let app_id =
        portico_core::apps::applications::find_by_client_id(&app.shared.db, &caller.client_id)
            .await
            .unwrap()
            .unwrap()
            .id;
    let dir = tempfile::tempdir().unwrap();
    let (replica_a, a, metrics_a) = gateway_replica(dir.path(), &url);
    let (replica_b, b, metrics_b) = gateway_replica(dir.path(), &url);
    let both = [a.as_str(), b.as_str()];

    // A token revoked on replica A is refused by both.
    let token = caller.token(&a).await;
    for base in both {
        assert_eq!(caller.call(base, &token, false).await.0, 200);
    }
    let revoked = caller
        .http
        .post(format!("{a}/oauth2/revoke"))
        .basic_auth(&caller.client_id, Some(&caller.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let took = caller.until_all(&both, &token, false, 401).await;
    eprintln!("revocation: {took:?}");
    assert!(took < BOUND, "revocation took {took:?}");

    // A suspension in the portal: both refuse the token they still hold, with the reason.
    let token = caller.token(&b).await;
    for base in both {
        assert_eq!(caller.call(base, &token, false).await.0, 200);
    }
    let mut admin = Browser::admin(&app, ADMIN).await;
    admin.get("/admin/applications").await;
    let started = Instant::now();
    admin
        .submit(
            &format!("/admin/applications/{app_id}/suspend"),
            &[("reason", "Abuse report")],
        )
        .await;
    caller.until_all(&both, &token, false, 403).await;
    let took = started.elapsed();
    eprintln!("suspension: {took:?}");
    assert!(took < BOUND, "suspension took {took:?}");
    for base in both {
        let (_, body) = caller.call(base, &token, false).await;
        assert_eq!(body["__type"], "ForbiddenException", "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("suspended"),
            "{body}"
        );
    }

    // Reactivated: the same token works again everywhere.
    let started = Instant::now();
    admin
        .submit(&format!("/admin/applications/{app_id}/reactivate"), &[])
        .await;
    caller.until_all(&both, &token, false, 200).await;
    let took = started.elapsed();
    eprintln!("reactivation: {took:?}");
    assert!(took < BOUND, "reactivation took {took:?}");

    // Writing is authorized (the empty body then fails validation) until the scope is
    // withdrawn; reading stays allowed with the same token.
    for base in both {
        assert_eq!(caller.call(base, &token, true).await.0, 400);
    }
    let started = Instant::now();
    admin
        .submit(
            &format!("/admin/applications/{app_id}/scopes/revoke"),
            &[("scope", "commercial:write"), ("note", "No longer needed")],
        )
        .await;
    caller.until_all(&both, &token, true, 403).await;
    let took = started.elapsed();
    eprintln!("scope withdrawal: {took:?}");
    assert!(took < BOUND, "scope withdrawal took {took:?}");
    for base in both {
        let (_, body) = caller.call(base, &token, true).await;
        assert!(
            body["message"].as_str().unwrap().contains(
                "withdrawn from this application after this token was issued: commercial:write"
            ),
            "{body}"
        );
        assert_eq!(caller.call(base, &token, false).await.0, 200);
    }

    // Each replica heard the announcements (not only its cache expiring), on its own metrics
    // listener (a gateway-only process has no portal front).
    for metrics in [&metrics_a, &metrics_b] {
        let text = caller
            .http
            .get(metrics)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("portico_changes_listening 1"), "{text}");
        let heard: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("portico_changes_heard_total "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(heard >= 4, "heard {heard}");
        assert!(text.contains("portico_gateway_redis_available 1"), "{text}");
    }
    drop((replica_a, replica_b));
}
