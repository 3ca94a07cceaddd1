//! Faults under load, against real processes: PostgreSQL restarted (a private server this test
//! starts and stops, never the machine's own), and a replica killed with SIGKILL. Clients
//! count what they saw succeed; afterwards every acknowledged write must be there.

use crate::common::{CliApplication, Process, test_master_key};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL server of our own (initdb in a temporary folder), so it can be stopped and
/// started without touching the machine's. Run as the `postgres` user when we are root
/// (PostgreSQL refuses to run as root).
struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    fn command(program: &str) -> Command {
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if is_root {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--", program]);
            cmd
        } else {
            Command::new(program)
        }
    }

    fn bin(name: &str) -> String {
        // Debian keeps the server's tools out of PATH.
        let debian = Path::new("/usr/lib/postgresql/15/bin").join(name);
        if debian.exists() {
            debian.display().to_string()
        } else {
            name.to_owned()
        }
    }

    fn start_new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let _ = Command::new("chown")
            .args(["postgres", &dir.path().display().to_string()])
            .status();
        let status = Self::command(&Self::bin("initdb"))
            .args([
                "-D",
                &Self::data(dir.path()),
                "-A",
                "trust",
                "-U",
                "postgres",
            ])
            .args(["--no-sync", "-E", "UTF8"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        let server = Self {
            dir,
            port: free_port(),
        };
        server.start();
        server
    }

    fn data(dir: &Path) -> String {
        dir.join("data").display().to_string()
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) {
        let log: PathBuf = self.dir.path().join("server.log");
        let status = Self::command(&Self::bin("pg_ctl"))
            .args(["-D", &Self::data(self.dir.path()), "-w", "-l"])
            .arg(&log)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl {args:?} failed");
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        self.pg_ctl(&["-o", &options, "start"]);
    }

    /// A fast shutdown: sessions are ended at once, as in a restart by an operator.
    fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = Self::command(&Self::bin("pg_ctl"))
            .args([
                "-D",
                &Self::data(self.dir.path()),
                "-m",
                "immediate",
                "stop",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn replica(dir: &Path, database_url: &str) -> (Process, String) {
    let key = test_master_key();
    Process::start(
        dir,
        &[
            ("DATABASE_URL", database_url),
            ("PORTICO_MASTER_KEY", &key),
            ("PORTICO_FRONTS", "sandbox"),
            ("PORTICO_ISSUER", "http://sandbox.portico.test"),
        ],
        "sandbox",
    )
}

/// What the load tests do with an application.
impl CliApplication {
    /// CreateOrder: the status, and the new order's id on 201. `None` when no answer came
    /// (connection refused or reset, or the client's 10 s timeout).
    async fn create_order(&self, base: &str, token: &str, key: &str) -> Option<(u16, String)> {
        let res = self
            .http
            .post(format!("{base}/v2/commercial/orders"))
            .bearer_auth(token)
            .header("x-api-key", &self.api_key)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(r#"{"customer_reference":"PO-LOAD","items":[{"product_id":"prd_01jd8x5v7k2m3n4p5q6r7s8t9v","quantity":1}]}"#)
            .send()
            .await
            .ok()?;
        let status = res.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_str(&res.text().await.ok()?).unwrap_or_default();
        if status == 503 {
            assert_eq!(body["__type"], "ServiceUnavailableException", "{body}");
        }
        Some((status, body["id"].as_str().unwrap_or_default().to_owned()))
    }

    async fn get_order(&self, base: &str, token: &str, id: &str) -> u16 {
        self.http
            .get(format!("{base}/v2/commercial/orders/{id}"))
            .bearer_auth(token)
            .header("x-api-key", &self.api_key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// What the load's clients saw.
#[derive(Default)]
struct Seen {
    statuses: BTreeMap<u16, u64>,
    /// Requests that got no answer at all.
    unanswered: u64,
    /// Orders acknowledged with 201, and when.
    created: Vec<(Instant, String)>,
    slowest: Duration,
}

/// `workers` clients creating orders on `bases` (round robin) until `stop` is set.
fn start_load(
    caller: &Arc<CliApplication>,
    token: &str,
    bases: &[String],
    workers: usize,
) -> (
    Arc<Mutex<Seen>>,
    Arc<std::sync::atomic::AtomicBool>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handles = (0..workers)
        .map(|worker| {
            let (caller, token, bases) = (caller.clone(), token.to_owned(), bases.to_vec());
            let (seen, stop) = (seen.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let base = &bases[(worker + n) % bases.len()];
                    let key = format!("load-{worker}-{n}");
                    n += 1;
                    let started = Instant::now();
                    let answer = caller.create_order(base, &token, &key).await;
                    let took = started.elapsed();
                    let answered = answer.is_some();
                    {
                        let mut seen = seen.lock().unwrap();
                        seen.slowest = seen.slowest.max(took);
                        match answer {
                            Some((status, id)) => {
                                *seen.statuses.entry(status).or_default() += 1;
                                if status == 201 {
                                    seen.created.push((Instant::now(), id));
                                }
                            }
                            None => seen.unanswered += 1,
                        }
                    }
                    if !answered {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();
    (seen, stop, handles)
}

/// PostgreSQL restarted under write load: while it is down the gateway answers 503
/// `ServiceUnavailableException` (never a 500, never a hang), it serves again within 5 s of
/// the database's return, and every order acknowledged with 201 is there afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_restart_under_load_costs_only_503s_and_loses_no_acknowledged_write() {
    let postgres = PrivatePostgres::start_new();
    let url = postgres.url("portico");
    let caller = Arc::new(CliApplication::create(&url, "acme"));
    let dir = tempfile::tempdir().unwrap();
    let (replica, base) = replica(dir.path(), &url);
    let token = caller.token(&base).await;

    let (seen, stop, handles) = start_load(&caller, &token, std::slice::from_ref(&base), 8);
    tokio::time::sleep(Duration::from_secs(2)).await;
    postgres.stop();
    let stopped_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let during_outage = seen.lock().unwrap().statuses.clone();
    postgres.start();
    let back_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for handle in handles {
        handle.await.unwrap();
    }

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    eprintln!(
        "statuses {:?}, unanswered {}, slowest {:?}, outage {:?}",
        seen.statuses,
        seen.unanswered,
        seen.slowest,
        back_at - stopped_at
    );
    assert_eq!(seen.unanswered, 0, "every request got an answer");
    assert!(
        seen.statuses.keys().all(|s| [201, 503].contains(s)),
        "only 201 and 503: {:?}",
        seen.statuses
    );
    assert!(
        during_outage.get(&503).copied().unwrap_or_default() > 0,
        "the outage was seen: {during_outage:?}"
    );
    assert!(
        seen.slowest < Duration::from_secs(5),
        "slowest answer {:?}",
        seen.slowest
    );
    let first_after = seen
        .created
        .iter()
        .map(|(at, _)| *at)
        .find(|at| *at > back_at)
        .expect("orders were created after the database came back");
    let recovery = first_after - back_at;
    eprintln!("recovered {recovery:?} after the database came back");
    assert!(
        recovery < Duration::from_secs(5),
        "recovery took {recovery:?}"
    );

    // Every acknowledged order is stored.
    let mut ids: Vec<&str> = seen.created.iter().map(|(_, id)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), seen.created.len(), "an order id was reused");
    for id in ids {
        assert_eq!(caller.get_order(&base, &token, id).await, 200, "{id}");
    }
    drop(replica);
}

/// A replica killed with SIGKILL in the middle of write load (its twin keeps serving): every
/// order either replica acknowledged is stored, and the request records lost with the killed
/// process's queue are at most its capacity.
#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_under_write_load_loses_no_acknowledged_write() {
    let database = portico_core::testing::TestDatabase::postgres().await;
    let url = database.url.as_str().to_owned();
    let caller = Arc::new(CliApplication::create(&url, "acme"));
    let dir = tempfile::tempdir().unwrap();
    let (mut victim, a) = replica(dir.path(), &url);
    let (survivor, b) = replica(dir.path(), &url);
    let token = caller.token(&a).await;

    let (seen, stop, handles) = start_load(&caller, &token, &[a.clone(), b.clone()], 8);
    tokio::time::sleep(Duration::from_secs(3)).await;
    victim.child.kill().unwrap();
    let _ = victim.child.wait();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for handle in handles {
        handle.await.unwrap();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    eprintln!(
        "statuses {:?}, unanswered {} (requests to the killed replica), created {}",
        seen.statuses,
        seen.unanswered,
        seen.created.len()
    );
    assert!(seen.unanswered > 0, "the kill happened under load");
    assert!(
        seen.statuses.keys().all(|s| *s == 201),
        "{:?}",
        seen.statuses
    );
    let mut stored = 0;
    for (_, id) in &seen.created {
        assert_eq!(caller.get_order(&b, &token, id).await, 200, "{id}");
        stored += 1;
    }
    // Creates committed that no client saw acknowledged: only requests cut by the kill (at
    // most one per worker) may have committed without an answer.
    let committed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sandbox_idempotency WHERE tenant_id = 'acme' AND idempotency_key LIKE 'load-%'",
    )
    .fetch_one(database.db.pool())
    .await
    .unwrap();
    eprintln!("orders acknowledged {stored}, committed {committed}");
    let committed = usize::try_from(committed).unwrap();
    assert!(
        committed >= stored && committed <= stored + 8,
        "acknowledged {stored}, committed {committed}"
    );
    drop(survivor);
}

/// A Redis server of our own, so it can be stopped and started again on the same port.
struct PrivateRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    fn start_new() -> Self {
        let mut redis = Self {
            port: free_port(),
            child: None,
        };
        redis.start();
        redis
    }

    fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// How many rate-limit counters it holds.
    fn counters(&self) -> usize {
        let out = Command::new("redis-cli")
            .args([
                "-p",
                &self.port.to_string(),
                "--scan",
                "--pattern",
                "portico:rl:*",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {metrics}"))
        .parse()
        .unwrap()
}

/// Redis stopped under load: the gateway keeps answering, limiting with its own counters,
/// logs the outage once and shows it on `/metrics`; when Redis is back the shared counters are
/// used again (and that is logged once too).
#[tokio::test(flavor = "multi_thread")]
async fn a_redis_outage_falls_back_to_local_limits_and_recovers() {
    let mut redis = PrivateRedis::start_new();
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/portico.db", dir.path().display());
    let caller = CliApplication::create(&database_url, "acme");
    let redis_url = format!("redis://127.0.0.1:{}", redis.port);
    let key = test_master_key();
    let (process, urls) = Process::start_fronts(
        dir.path(),
        &[("REDIS_URL", &redis_url), ("PORTICO_MASTER_KEY", &key)],
        &["portal", "sandbox"],
    );
    let (portal, sandbox) = (&urls[0], &urls[1]);
    let token = caller.token(sandbox).await;
    let list = || async {
        caller
            .http
            .get(format!("{sandbox}/v2/commercial/orders?limit=1"))
            .bearer_auth(&token)
            .header("x-api-key", &caller.api_key)
            .send()
            .await
            .unwrap()
    };
    let metrics = || async {
        caller
            .http
            .get(format!("{portal}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let res = list().await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().contains_key("ratelimit"),
        "shared counters report"
    );
    assert!(redis.counters() > 0);

    redis.stop();
    for _ in 0..20 {
        let res = list().await;
        assert_eq!(res.status(), 200);
        // This replica's own counters still count (and say so).
        assert!(res.headers().contains_key("ratelimit"));
    }
    let during = metrics().await;
    assert_eq!(metric(&during, "portico_gateway_redis_available"), 0.0);
    assert!(metric(&during, "portico_gateway_redis_errors_total") >= 1.0);
    assert!(
        metric(
            &during,
            "portico_gateway_limit_decisions_total{outcome=\"failed_open\"}"
        ) >= 20.0
    );
    let down = "shared rate-limit counters unavailable";
    assert_eq!(
        process.logs().matches(down).count(),
        1,
        "{}",
        process.logs()
    );

    redis.start();
    let back = Instant::now();
    while redis.counters() == 0 {
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "Redis not used again"
        );
        assert_eq!(list().await.status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "shared counters in use again {:?} after Redis returned",
        back.elapsed()
    );
    assert_eq!(
        metric(&metrics().await, "portico_gateway_redis_available"),
        1.0
    );
    let logs = process.logs();
    assert_eq!(logs.matches(down).count(), 1, "{logs}");
    assert_eq!(logs.matches("counters answer again").count(), 1, "{logs}");
    drop(process);
}

/// SIGTERM with a request in flight: `/readyz` fails at once while the process still serves
/// for its drain delay, the request in flight completes, the process exits cleanly, and its
/// request record was flushed to the database before it did.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_in_flight_requests_and_flushes_the_request_log() {
    use std::io::{Read as _, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/portico.db", dir.path().display());
    let caller = CliApplication::create(&database_url, "acme");
    let key = test_master_key();
    let (mut process, sandbox) = Process::start(
        dir.path(),
        &[("PORTICO_MASTER_KEY", &key), ("PORTICO_DRAIN_DELAY", "2")],
        "sandbox",
    );
    let token = caller.token(&sandbox).await;

    // A CreateOrder whose body is still on its way when the signal comes.
    let body = r#"{"customer_reference":"PO-DRAIN","items":[{"product_id":"prd_01jd8x5v7k2m3n4p5q6r7s8t9v","quantity":1}]}"#;
    let authority = sandbox.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /v2/commercial/orders HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n\
         x-api-key: {}\r\nx-request-id: drain-test-0001\r\nIdempotency-Key: drain-1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        caller.api_key,
        body.len(),
        &body[..10]
    )
    .unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &process.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Draining: not ready, yet still answering new connections.
    let ready = caller
        .http
        .get(format!("{sandbox}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("draining"));
    let health = caller
        .http
        .get(format!("{sandbox}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // The request in flight completes.
    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    // Then the process stops by itself, cleanly, after the delay.
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = process.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = signalled.elapsed();
    eprintln!("stopped {took:?} after SIGTERM (drain delay 2 s)");
    assert!(status.success(), "{status:?}: {}", process.logs());
    assert!(took >= Duration::from_secs(2), "the drain delay was kept");

    // The request record left the queue before the process exited.
    let db =
        portico_core::Database::connect(&portico_core::DatabaseUrl::parse(&database_url).unwrap())
            .await
            .unwrap();
    let status: Option<i64> =
        sqlx::query_scalar("SELECT status FROM request_log WHERE request_id = 'drain-test-0001'")
            .fetch_optional(db.pool())
            .await
            .unwrap();
    assert_eq!(status, Some(201));
    db.close().await;
}

/// SQLite on a full disk (every file the process writes is capped, as `ulimit -f` does):
/// writes are refused with 503 `ServiceUnavailableException`, never a 500; reads still work;
/// the database file stays intact, and every order acknowledged before is there afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_on_sqlite_refuses_writes_clearly_and_corrupts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/portico.db", dir.path().display());
    let caller = CliApplication::create(&database_url, "acme");
    let largest = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap().len())
        .max()
        .unwrap();
    let key = test_master_key();
    let (process, sandbox) = Process::start_with_file_limit(
        dir.path(),
        &[("PORTICO_MASTER_KEY", &key)],
        "sandbox",
        largest / 1024 + 1024,
    );
    let token = caller.token(&sandbox).await;
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut created = Vec::new();
    for n in 0..3000 {
        let (status, id) = caller
            .create_order(&sandbox, &token, &format!("full-{n}"))
            .await
            .expect("an answer");
        *statuses.entry(status).or_default() += 1;
        if status == 201 {
            created.push(id);
        }
        if statuses.get(&503).copied().unwrap_or_default() >= 5 {
            break;
        }
    }
    eprintln!("statuses on a filling disk: {statuses:?}");
    if statuses.contains_key(&500) {
        eprintln!("{}", process.logs());
    }
    assert!(
        statuses.keys().all(|s| [201, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&503).copied().unwrap_or_default() >= 5,
        "the disk filled: {statuses:?}"
    );
    assert!(created.len() >= 10, "{statuses:?}");
    // Reads go on while writes cannot.
    let list = caller
        .http
        .get(format!("{sandbox}/v2/commercial/orders?limit=5"))
        .bearer_auth(&token)
        .header("x-api-key", &caller.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    assert!(
        process.logs().contains("full") || process.logs().contains("disk I/O error"),
        "the cause is logged: {}",
        process.logs()
    );
    drop(process);

    // Intact, with everything acknowledged.
    let db =
        portico_core::Database::connect(&portico_core::DatabaseUrl::parse(&database_url).unwrap())
            .await
            .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(check, "ok");
    db.close().await;
    let (process, sandbox) = Process::start(dir.path(), &[("PORTICO_MASTER_KEY", &key)], "sandbox");
    let token = caller.token(&sandbox).await;
    for id in &created {
        assert_eq!(caller.get_order(&sandbox, &token, id).await, 200, "{id}");
    }
    drop(process);
}
