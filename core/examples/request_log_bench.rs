//! Request-log read paths at scale (issue 16): generates N request-log rows (default 10
//! million) for 1,000 applications of 100 partners over 30 days in a fresh SQLite file or
//! PostgreSQL database, rolls them up by hour, then times what partners and admins ask for:
//! an application's first log page (with and without filters), a request by id, a page deep in
//! the cursor, the 30-day hourly chart data and the month's metering export. Each figure is the
//! median of 5 runs after one warm-up.
//!
//! `cargo run -p portico-core --example request_log_bench -- [sqlite|postgres] [rows]`
//! (scripts/bench/request_log.sh runs both engines). The database is dropped at the end.
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: any failure should stop it loudly"
)]

use portico_core::testing::TestDatabase;
use portico_core::traffic::hourly_usage::{self, HOUR_MS, Month};
use portico_core::traffic::partner_log::{self, DecisionFilter, LogCursor, LogQuery, StatusClass};
use portico_core::{Backend, Database};
use std::time::{Duration, Instant};

const APPS: i64 = 1_000;
const APPS_PER_PARTNER: i64 = 10;
/// Contexts per application: ListOrders 200, GetOrder 200, CreateOrder 403 (scope), ListOrders
/// 429, GetOrder 500.
const CONTEXTS_PER_APP: i64 = 5;
const DAY_MS: i64 = 24 * HOUR_MS;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn time<F, Fut, T>(label: &str, mut run: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    run().await;
    let mut samples = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        run().await;
        samples.push(started.elapsed());
    }
    let m = median(samples);
    println!("| {label} | {:.1} ms |", m.as_secs_f64() * 1000.0);
    m
}

/// The generated data: contexts first, then every entry in one INSERT … SELECT over a
/// sequence (SQLite: a recursive CTE; PostgreSQL: generate_series).
async fn generate(db: &Database, rows: i64, start_ms: i64) {
    let mut tx = db.begin_write().await.unwrap();
    for app in 0..APPS {
        let client = format!("pci_bench_{app:04}");
        for (kind, (route, action, decision, reason)) in [
            (
                "/v2/commercial/orders",
                "commercial:ListOrders",
                "allow",
                "allowed by partner-orders",
            ),
            (
                "/v2/commercial/orders/{orderId}",
                "commercial:GetOrder",
                "allow",
                "allowed by partner-orders",
            ),
            (
                "/v2/commercial/orders",
                "commercial:CreateOrder",
                "deny",
                "scope: The token lacks the required scope: commercial:write.",
            ),
            (
                "/v2/commercial/orders",
                "commercial:ListOrders",
                "deny",
                "usage-plan: Rate exceeded: too many requests in a short time.",
            ),
            (
                "/v2/commercial/orders/{orderId}",
                "commercial:GetOrder",
                "allow",
                "allowed by partner-orders",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            sqlx::query(
                "INSERT INTO request_context (id, stage, client_id, scopes, route, action, decision, reason, version) \
                 VALUES ($1, 'sandbox', $2, 'commercial:read', $3, $4, $5, $6, 'v2')",
            )
            .bind(app * CONTEXTS_PER_APP + i64::try_from(kind).unwrap() + 1)
            .bind(&client)
            .bind(route)
            .bind(action)
            .bind(decision)
            .bind(reason)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    // Row n: application n % 1000; kind by (n / 1000) % 100: 90 % allowed 200 (two
    // operations), 7 % denied 403, 2 % throttled 429, 1 % 500; evenly spread over 30 days.
    let select = |sequence: &str| {
        format!(
            "SELECT 'req-' || n, {start_ms} + (n * {span}) / {rows}, \
             (n % {APPS}) * {CONTEXTS_PER_APP} + CASE WHEN (n / 1000) % 100 < 45 THEN 1 \
               WHEN (n / 1000) % 100 < 90 THEN 2 WHEN (n / 1000) % 100 < 97 THEN 3 \
               WHEN (n / 1000) % 100 < 99 THEN 4 ELSE 5 END, \
             'partner-' || substr('00' || ((n % {APPS}) / {APPS_PER_PARTNER}), -3, 3), 'GET', \
             CASE WHEN (n / 1000) % 100 < 90 THEN 200 WHEN (n / 1000) % 100 < 97 THEN 403 \
               WHEN (n / 1000) % 100 < 99 THEN 429 ELSE 500 END, \
             1000 + (n * 7919) % 200000, '203.0.113.7' FROM {sequence}",
            span = 30 * DAY_MS,
        )
    };
    let sql = match db.backend() {
        Backend::Sqlite => format!(
            "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < {last}) \
             INSERT INTO request_log_entry (request_id, occurred_at, context_id, partner_id, method, status, latency_us, client_ip) {}",
            select("seq"),
            last = rows - 1
        ),
        // PostgreSQL's substr takes no negative start: lpad gives the same three digits.
        Backend::Postgres => format!(
            "INSERT INTO request_log_entry (request_id, occurred_at, context_id, partner_id, method, status, latency_us, client_ip) {}",
            select(&format!(
                "generate_series(0::bigint, {}::bigint) AS n",
                rows - 1
            ))
            .replace(
                &format!("substr('00' || ((n % {APPS}) / {APPS_PER_PARTNER}), -3, 3)"),
                &format!("lpad(((n % {APPS}) / {APPS_PER_PARTNER})::text, 3, '0')"),
            )
        ),
    };
    sqlx::query(&sql).execute(db.pool()).await.unwrap();
    sqlx::query("ANALYZE").execute(db.pool()).await.unwrap();
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let engine = args.next().unwrap_or_else(|| "sqlite".into());
    let rows: i64 = args
        .next()
        .map_or(10_000_000, |n| n.parse().expect("rows: a number"));
    let test = match engine.as_str() {
        "sqlite" => TestDatabase::sqlite().await,
        "postgres" => TestDatabase::postgres().await,
        other => panic!("engine {other:?}: sqlite or postgres"),
    };
    let db = &test.db;
    // 30 whole days ending at the start of this hour.
    let now_ms = portico_core::clock::now_ms();
    let end = now_ms - now_ms.rem_euclid(HOUR_MS);
    let start = end - 30 * DAY_MS;

    println!(
        "## {engine}, {rows} rows, {APPS} applications of {} partners, 30 days\n",
        APPS / APPS_PER_PARTNER
    );
    let started = Instant::now();
    generate(db, rows, start).await;
    println!("generated in {:.1} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let mut hours = 0;
    loop {
        let done = hourly_usage::roll_up(db, now_ms).await.unwrap();
        hours += done;
        if done == 0 {
            break;
        }
    }
    let (rollup_rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM request_usage_hourly")
        .fetch_one(db.pool())
        .await
        .unwrap();
    println!(
        "rolled up {hours} hours into {rollup_rows} rows in {:.1} s\n",
        started.elapsed().as_secs_f64()
    );

    let partner = "partner-042";
    let client = "pci_bench_0427";
    let page = |query: LogQuery| async move {
        partner_log::partner_page(db, partner, Some(client), &query)
            .await
            .unwrap()
    };
    let first = LogQuery {
        limit: 50,
        ..LogQuery::default()
    };
    println!("| query | median |\n|---|---|");
    time("first log page (50 rows)", || page(first.clone())).await;
    time("first page, decision = denied", || {
        page(LogQuery {
            decision: Some(DecisionFilter::Denied),
            ..first.clone()
        })
    })
    .await;
    time("first page, status = 5xx", || {
        page(LogQuery {
            status: Some(StatusClass::ServerError),
            ..first.clone()
        })
    })
    .await;
    time("first page, operation + version + last 24 h", || {
        page(LogQuery {
            action: Some("commercial:GetOrder".into()),
            version: Some("v2".into()),
            from_ms: Some(end - DAY_MS),
            ..first.clone()
        })
    })
    .await;
    // A row of this application in the middle of the month.
    let middle = page(LogQuery {
        to_ms: Some(start + 15 * DAY_MS),
        limit: 1,
        ..LogQuery::default()
    })
    .await;
    let target = middle.entries[0].clone();
    time("request by id (15 days back)", || {
        page(LogQuery {
            request_id: Some(target.request_id.clone()),
            ..first.clone()
        })
    })
    .await;
    time("page deep in the cursor (15 days back)", || {
        page(LogQuery {
            after: Some(LogCursor {
                occurred_at_ms: target.occurred_at_ms,
                request_id: target.request_id.clone(),
            }),
            ..first.clone()
        })
    })
    .await;
    let from_hour = start / HOUR_MS;
    time("30-day hourly usage of one application (chart)", || async {
        hourly_usage::hourly(
            db,
            partner,
            Some(client),
            from_hour,
            from_hour + 30 * 24,
            now_ms,
        )
        .await
        .unwrap()
    })
    .await;
    time("30-day hourly usage of one partner (chart)", || async {
        hourly_usage::hourly(db, partner, None, from_hour, from_hour + 30 * 24, now_ms)
            .await
            .unwrap()
    })
    .await;
    let month_text = portico_core::clock::format_rfc3339(start / 1000 + 15 * 86_400);
    let month = Month::parse(&month_text[..7]).unwrap();
    time("monthly metering export, all partners", || async {
        hourly_usage::metering(db, month, None, now_ms)
            .await
            .unwrap()
    })
    .await;
    time("monthly metering export, one partner", || async {
        hourly_usage::metering(db, month, Some(partner), now_ms)
            .await
            .unwrap()
    })
    .await;
    if std::env::var_os("KEEP_DATABASE").is_some() {
        println!("\nkept {}", test.url.redacted());
        // Leak the test database's handle so neither it nor its folder is removed.
        std::mem::forget(test);
    } else {
        test.cleanup().await;
    }
}
