//! Storage behaviour, run against SQLite and PostgreSQL alike.

use portico_core::accounts::bootstrap;
use portico_core::audit::events::{self, Actor, NewAuditEvent};
use portico_core::identity::users::{self, Role};
use portico_core::orgs::partners::{self, PartnerStatus};
use portico_core::secret::PlainSecret;
use portico_core::testing::TestDatabase;
use portico_core::{Backend, CoreError, Database};

#[macro_use]
mod support;

#[tokio::test]
async fn migrations_are_idempotent() {
    on_both_engines!(|db| {
        // TestDatabase already migrated once; a second run applies nothing.
        assert_eq!(db.migrate().await.unwrap(), 0);
        db.ping().await.unwrap();
    });
}

#[tokio::test]
async fn partners_are_created_listed_and_unique_by_slug() {
    on_both_engines!(|db| {
        let mut conn = db.pool().acquire().await.unwrap();
        let acme = partners::create(&mut conn, "acme", "Acme Logistics", PartnerStatus::Pending)
            .await
            .unwrap();
        assert!(acme.id.starts_with("prt_"));
        let found = partners::find_by_slug(&mut conn, "acme").await.unwrap();
        assert_eq!(found.as_ref(), Some(&acme));
        assert_eq!(found.unwrap().status, PartnerStatus::Pending);

        let dup = partners::create(&mut conn, "acme", "Other", PartnerStatus::Approved).await;
        assert!(matches!(dup, Err(CoreError::Conflict(_))), "{dup:?}");

        partners::create(&mut conn, "globex", "Globex", PartnerStatus::Approved)
            .await
            .unwrap();
        let slugs: Vec<_> = partners::list(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.slug)
            .collect();
        assert_eq!(slugs, ["acme", "globex"]);
        assert!(
            partners::find_by_slug(&mut conn, "nobody")
                .await
                .unwrap()
                .is_none()
        );
    });
}

#[tokio::test]
async fn users_are_unique_by_normalised_email() {
    on_both_engines!(|db| {
        let mut conn = db.pool().acquire().await.unwrap();
        let ada = users::create(&mut conn, "Ada@Example.com", Role::Partner)
            .await
            .unwrap();
        assert_eq!(ada.email, "ada@example.com");
        let again = users::create(&mut conn, "ada@example.COM", Role::Admin).await;
        assert!(matches!(again, Err(CoreError::Conflict(_))), "{again:?}");
        let found = users::find_by_email(&mut conn, " ADA@example.com")
            .await
            .unwrap();
        assert_eq!(found, Some(ada));
    });
}

#[tokio::test]
async fn sign_in_tokens_are_stored_hashed_and_redeem_once() {
    on_both_engines!(|db| {
        let mut conn = db.pool().acquire().await.unwrap();
        let user = users::create(&mut conn, "op@example.com", Role::Admin)
            .await
            .unwrap();
        let token = users::issue_sign_in_token(&mut conn, &user, "test")
            .await
            .unwrap();

        let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sign_in_tokens")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(stored, [token.hash().to_hex()]);
        assert!(!stored[0].contains(token.expose()));

        let wrong = PlainSecret::from_presented("pst_not-the-token");
        assert!(
            users::redeem_sign_in_token(&mut conn, &wrong)
                .await
                .unwrap()
                .is_none()
        );
        let redeemed = users::redeem_sign_in_token(&mut conn, &token)
            .await
            .unwrap();
        assert_eq!(redeemed.map(|u| u.id), Some(user.id));
        assert!(
            users::redeem_sign_in_token(&mut conn, &token)
                .await
                .unwrap()
                .is_none(),
            "second use"
        );
    });
}

#[tokio::test]
async fn expired_sign_in_tokens_are_refused() {
    on_both_engines!(|db| {
        let mut conn = db.pool().acquire().await.unwrap();
        let user = users::create(&mut conn, "late@example.com", Role::Admin)
            .await
            .unwrap();
        let token = users::issue_sign_in_token(&mut conn, &user, "test")
            .await
            .unwrap();
        sqlx::query("UPDATE sign_in_tokens SET expires_at = 0")
            .execute(&mut *conn)
            .await
            .unwrap();
        assert!(
            users::redeem_sign_in_token(&mut conn, &token)
                .await
                .unwrap()
                .is_none()
        );
    });
}

#[tokio::test]
async fn bootstrap_runs_exactly_once_even_when_raced() {
    on_both_engines!(|db| {
        let (a, b) = tokio::join!(bootstrap::first_start(db), bootstrap::first_start(db));
        let invites: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(invites.len(), 1, "exactly one start creates the admin");
        assert_eq!(invites[0].user.email, bootstrap::BOOTSTRAP_ADMIN_EMAIL);
        assert_eq!(invites[0].user.role, Role::Admin);
        assert!(
            bootstrap::first_start(db).await.unwrap().is_none(),
            "restart"
        );

        let mut conn = db.pool().acquire().await.unwrap();
        let events = events::recent(&mut conn, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "admin.created");
        assert_eq!(events[0].actor, "system");
        assert!(!events[0].detail.contains(invites[0].sign_in_token.expose()));
    });
}

#[tokio::test]
async fn bootstrap_creates_no_second_admin_when_one_exists() {
    on_both_engines!(|db| {
        bootstrap::create_admin(db, "first@example.com", &Actor::Cli)
            .await
            .unwrap();
        assert!(bootstrap::first_start(db).await.unwrap().is_none());
        let mut conn = db.pool().acquire().await.unwrap();
        let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(admins, 1);
    });
}

#[tokio::test]
async fn audit_events_come_back_newest_first() {
    on_both_engines!(|db| {
        let mut conn = db.pool().acquire().await.unwrap();
        for action in ["first.thing", "second.thing"] {
            events::record_event(
                &mut conn,
                NewAuditEvent {
                    actor: Actor::User("usr_1".into()),
                    action,
                    target: Some("prt_1"),
                    partner_id: Some("prt_1"),
                    request_id: None,
                    detail: "{}",
                },
            )
            .await
            .unwrap();
        }
        let events = events::recent(&mut conn, 1).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "second.thing");
        assert_eq!(events[0].actor, "user:usr_1");
        assert_eq!(events[0].request_id, None);
    });
}

#[tokio::test]
async fn sqlite_files_use_wal_and_committed_rows_survive_reopening() {
    let test_db = TestDatabase::sqlite().await;
    assert_eq!(test_db.db.backend(), Backend::Sqlite);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(test_db.db.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    {
        let mut conn = test_db.db.pool().acquire().await.unwrap();
        partners::create(&mut conn, "durable", "Durable", PartnerStatus::Approved)
            .await
            .unwrap();
    }
    test_db.db.close().await;
    let reopened = Database::connect(&test_db.url).await.unwrap();
    let mut conn = reopened.pool().acquire().await.unwrap();
    assert!(
        partners::find_by_slug(&mut conn, "durable")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn postgres_database_is_created_when_missing() {
    let test_db = TestDatabase::postgres().await;
    assert_eq!(test_db.db.backend(), Backend::Postgres);
    // Connecting created the database: its name came from nowhere else.
    let name: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(test_db.db.pool())
        .await
        .unwrap();
    assert!(name.starts_with("portico_test_"), "{name}");
}

#[tokio::test]
async fn request_records_are_written_in_batches_and_expire() {
    use portico_core::traffic::request_log::{self, RequestRecord};
    on_both_engines!(|db| {
        let record = |at: i64, status: u16| RequestRecord {
            request_id: format!("req-{at}"),
            occurred_at_ms: at,
            stage: "sandbox",
            client_id: Some("pci_1".into()),
            partner_id: Some("acme".into()),
            scopes: Some("commercial:read".into()),
            method: "GET".into(),
            route: "/v2/commercial/orders".into(),
            action: Some("commercial:ListOrders".into()),
            decision: if status == 200 { "allow" } else { "deny" },
            reason: None,
            status,
            latency_us: 120,
            version: Some("v2".into()),
            client_ip: Some("127.0.0.1".parse().unwrap()),
        };
        // More rows than one INSERT statement carries.
        let batch: Vec<RequestRecord> = (0..2_450)
            .map(|i| record(1_000 + i, if i % 2 == 0 { 200 } else { 403 }))
            .collect();
        request_log::insert_batch(db, &batch).await.unwrap();
        assert_eq!(request_log::count(db).await.unwrap(), 2_450);
        // What the calls share is stored once: allowed and denied are the only two contexts.
        assert_eq!(context_count(db).await, 2);
        let recent = request_log::recent_for_partner(db, "acme", 2)
            .await
            .unwrap();
        assert_eq!(recent[0].0, "req-3449");
        assert_eq!(recent[0].3, 403);
        assert_eq!(request_log::purge_before(db, 1_100).await.unwrap(), 100);
        assert_eq!(request_log::count(db).await.unwrap(), 2_350);
        // More than one purge batch: every row before the cut-off goes, none after it.
        let many: Vec<RequestRecord> = (0..request_log::PURGE_BATCH * 2 + 10)
            .map(|i| RequestRecord {
                request_id: format!("old-{i}"),
                ..record(100 + i / 30, 200)
            })
            .collect();
        request_log::insert_batch(db, &many).await.unwrap();
        let old = u64::try_from(request_log::PURGE_BATCH * 2 + 10).unwrap();
        assert_eq!(request_log::purge_before(db, 1_000).await.unwrap(), old);
        assert_eq!(request_log::count(db).await.unwrap(), 2_350);

        // Every column survives the trip, including quotes, non-ASCII text and NULLs.
        let odd = RequestRecord {
            request_id: "req-\"quoted\" ü \\ end".into(),
            client_id: None,
            scopes: None,
            reason: Some("policy \"x\"; naïve\nline".into()),
            version: None,
            client_ip: Some("2001:db8::1".parse().unwrap()),
            ..record(9_000_000_000_000, 429)
        };
        request_log::insert_batch(db, std::slice::from_ref(&odd))
            .await
            .unwrap();
        let row: (
            String,
            i64,
            String,
            Option<String>,
            Option<String>,
            i64,
            i64,
        ) = sqlx::query_as(
            "SELECT request_id, occurred_at, stage, client_id, reason, status, latency_us \
             FROM request_log WHERE occurred_at = 9000000000000",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(
            row,
            (
                odd.request_id.clone(),
                9_000_000_000_000,
                "sandbox".to_owned(),
                None,
                odd.reason.as_deref().map(str::to_owned),
                429,
                120
            )
        );
        let (version, client_ip): (Option<String>, Option<String>) = sqlx::query_as(
            "SELECT version, client_ip FROM request_log WHERE occurred_at = 9000000000000",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!((version, client_ip), (None, Some("2001:db8::1".to_owned())));
        // The same calls again reuse their contexts: ids are derived from the fields.
        request_log::insert_batch(db, &batch[..4]).await.unwrap();
        assert_eq!(context_count(db).await, 3);
        assert_eq!(request_log::count(db).await.unwrap(), 2_355);
    });
}

async fn context_count(db: &portico_core::Database) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM request_context")
        .fetch_one(db.pool())
        .await
        .expect("request_context can be counted")
}

#[tokio::test]
async fn request_log_rows_survive_the_migrations_that_reshape_the_table() {
    for test_db in TestDatabase::both_unmigrated().await {
        let db = test_db.db.clone();
        let engine = db.backend().name();
        let outcome = tokio::spawn(async move {
            // The schema as it was before: every migration older than the one under test.
            let before = tempfile::tempdir().unwrap();
            let all = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
            for entry in std::fs::read_dir(all).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name().into_string().unwrap();
                if name.as_str() < "20261125000009" {
                    std::fs::copy(entry.path(), before.path().join(&name)).unwrap();
                }
            }
            let old = sqlx::migrate::Migrator::new(before.path()).await.unwrap();
            assert_eq!(old.iter().count(), 8);
            old.run(db.pool()).await.unwrap();
            // Rows as the old writer wrote them, inserted out of time order.
            for (id, request_id, at, reason) in [
                ("req_02", "r-late", 2_000_i64, Some("allowed by p")),
                ("req_01", "r-early", 1_000, None),
            ] {
                sqlx::query(
                    "INSERT INTO request_log (id, request_id, occurred_at, stage, client_id, \
                     partner_id, scopes, method, route, action, decision, reason, status, \
                     latency_us, version, client_ip) VALUES ($1, $2, $3, 'sandbox', 'pci_1', \
                     'acme', 'commercial:read', 'GET', '/v2/commercial/orders', \
                     'commercial:ListOrders', 'allow', $4, 200, 77, 'v2', '10.0.0.1')",
                )
                .bind(id)
                .bind(request_id)
                .bind(at)
                .bind(reason)
                .execute(db.pool())
                .await
                .unwrap();
            }

            let newer = std::fs::read_dir(all).unwrap().count() - 8;
            assert_eq!(
                db.migrate().await.unwrap(),
                newer,
                "only the newer migrations run (no text key, then contexts, then later ones)"
            );

            type Row = (
                String,
                i64,
                String,
                Option<String>,
                Option<String>,
                i64,
                i64,
                String,
            );
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT request_id, occurred_at, client_id, partner_id, reason, status, \
                 latency_us, client_ip FROM request_log ORDER BY occurred_at",
            )
            .fetch_all(db.pool())
            .await
            .unwrap();
            let expected = |request_id: &str, at: i64, reason: Option<&str>| -> Row {
                (
                    request_id.into(),
                    at,
                    "pci_1".into(),
                    Some("acme".into()),
                    reason.map(Into::into),
                    200,
                    77,
                    "10.0.0.1".into(),
                )
            };
            assert_eq!(
                rows,
                vec![
                    expected("r-early", 1_000, None),
                    expected("r-late", 2_000, Some("allowed by p")),
                ]
            );
            // The log works as before on the new table: reads, writes and expiry.
            let recent = portico_core::traffic::request_log::recent_for_partner(&db, "acme", 5)
                .await
                .unwrap();
            let ids: Vec<&str> = recent.iter().map(|r| r.0.as_str()).collect();
            assert_eq!(ids, ["r-late", "r-early"]);
            assert_eq!(
                portico_core::traffic::request_log::purge_before(&db, 1_500)
                    .await
                    .unwrap(),
                1
            );
            // Migrated rows had a context each; the purged row's went with it.
            assert_eq!(context_count(&db).await, 1);
            let left: Vec<String> = sqlx::query_scalar("SELECT request_id FROM request_log")
                .fetch_all(db.pool())
                .await
                .unwrap();
            assert_eq!(left, ["r-late"]);
        })
        .await;
        if let Err(failure) = outcome {
            eprintln!("the failure above happened on {engine}");
            std::panic::resume_unwind(failure.into_panic());
        }
    }
}

#[tokio::test]
async fn the_sqlite_request_log_writer_stores_every_field_beside_the_pool() {
    use portico_core::traffic::request_log::{self, RequestRecord, SqliteLogWriter};
    let test_db = TestDatabase::sqlite().await;
    let db = &test_db.db;
    let path = db.sqlite_path().expect("an SQLite file").to_path_buf();
    // 15 multi-row statements of 100 and 23 single-row inserts.
    let records: Vec<RequestRecord> = (0..1_523)
        .map(|i| RequestRecord {
            request_id: format!("req-\"{i}\" ü"),
            occurred_at_ms: 5_000 + i,
            stage: "sandbox",
            client_id: (i % 2 == 0).then(|| "pci_1".into()),
            partner_id: Some("acme".into()),
            scopes: None,
            method: "POST".into(),
            route: "/v2/commercial/orders".into(),
            action: Some("commercial:CreateOrder".into()),
            decision: "allow",
            reason: Some("permitted by a'policy".into()),
            status: 201,
            latency_us: 77,
            version: Some("v2".into()),
            client_ip: Some("192.0.2.7".parse().unwrap()),
        })
        .collect();
    let written = tokio::task::spawn_blocking(move || {
        let mut writer = SqliteLogWriter::open(&path).unwrap();
        writer.insert_batch(&records).unwrap();
        records
    })
    .await
    .unwrap();
    // The pool sees what the writer's own connection committed, while it keeps working.
    assert_eq!(request_log::count(db).await.unwrap(), 1_523);
    let row: (String, i64, Option<String>, Option<String>, i64, String) = sqlx::query_as(
        "SELECT request_id, occurred_at, client_id, reason, status, decision FROM request_log \
         WHERE occurred_at = 5001",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            written[1].request_id.clone(),
            5_001,
            None,
            Some("permitted by a'policy".to_owned()),
            201,
            "allow".to_owned()
        )
    );
    let distinct: (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(DISTINCT request_id), COUNT(DISTINCT occurred_at), SUM(client_id IS NULL) \
         FROM request_log",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(
        distinct,
        (1_523, 1_523, 761),
        "every row once, with its own values"
    );
    let last: (String, Option<String>) =
        sqlx::query_as("SELECT request_id, client_id FROM request_log WHERE occurred_at = 6522")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(
        last,
        (written[1_522].request_id.clone(), Some("pci_1".to_owned()))
    );
    // Two contexts (with and without a client); the pool's writer names them alike.
    assert_eq!(context_count(db).await, 2);
    request_log::insert_batch(db, &written[..10]).await.unwrap();
    assert_eq!(request_log::count(db).await.unwrap(), 1_533);
    assert_eq!(context_count(db).await, 2);
}

#[tokio::test]
async fn usage_rolls_up_each_closed_hour_once_and_metering_adds_the_open_hours() {
    use portico_core::traffic::hourly_usage::{self, HOUR_MS, Month};
    use portico_core::traffic::request_log::{self, RequestRecord};
    on_both_engines!(|db| {
        let (december, _) = Month::parse("2026-12").unwrap().range_ms();
        let call =
            |n: i64, at: i64, partner: &str, action: &str, stage: &'static str, status: u16| {
                RequestRecord {
                    request_id: format!("req-{partner}-{n}"),
                    occurred_at_ms: at,
                    stage,
                    client_id: Some(format!("pci_{partner}").into()),
                    partner_id: Some(partner.into()),
                    scopes: None,
                    method: "GET".into(),
                    route: "/v2/commercial/orders".into(),
                    action: Some(action.into()),
                    decision: if !(400..500).contains(&status) {
                        "allow"
                    } else {
                        "deny"
                    },
                    reason: None,
                    status,
                    latency_us: 3_000 + n * 10_000,
                    version: Some("v2".into()),
                    client_ip: None,
                }
            };
        let mut records = Vec::new();
        // November's last hour, then three hours of December, then the open hour.
        records.push(call(
            0,
            december - 1,
            "acme",
            "commercial:ListOrders",
            "sandbox",
            200,
        ));
        for hour in 0..3 {
            for n in 0..4 {
                let at = december + hour * HOUR_MS + n * 1000;
                records.push(call(
                    hour * 10 + n,
                    at,
                    "acme",
                    "commercial:ListOrders",
                    "sandbox",
                    200,
                ));
            }
            records.push(call(
                hour * 10 + 9,
                december + hour * HOUR_MS + 9,
                "acme",
                "commercial:CreateOrder",
                "sandbox",
                403,
            ));
            records.push(call(
                hour * 10 + 8,
                december + hour * HOUR_MS + 8,
                "globex",
                "commercial:ListOrders",
                "production",
                429,
            ));
        }
        let now = december + 3 * HOUR_MS + 30 * 60_000;
        records.push(call(
            99,
            now - 1000,
            "acme",
            "commercial:ListOrders",
            "sandbox",
            200,
        ));
        // A call no partner made (a 401) is nobody's usage.
        let mut anonymous = call(
            98,
            december + 10,
            "x",
            "commercial:ListOrders",
            "sandbox",
            401,
        );
        anonymous.partner_id = None;
        anonymous.client_id = None;
        records.push(anonymous);
        request_log::insert_batch(db, &records).await.unwrap();

        // The oldest call's hour onwards, closed hours only; a second pass finds nothing to do.
        assert_eq!(hourly_usage::roll_up(db, now).await.unwrap(), 4);
        assert_eq!(hourly_usage::roll_up(db, now).await.unwrap(), 0);
        let (rolled,): (i64,) =
            sqlx::query_as("SELECT CAST(SUM(calls) AS BIGINT) FROM request_usage_hourly")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(
            rolled,
            1 + 3 * 6,
            "every partner call of the closed hours, once"
        );
        let (histogram,): (i64,) = sqlx::query_as(
            "SELECT CAST(SUM(latency_le_5ms + latency_le_25ms + latency_le_100ms + latency_le_500ms + latency_le_2500ms + latency_over) AS BIGINT) FROM request_usage_hourly",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(histogram, rolled, "every call in one latency bucket");
        let (throttled,): (i64,) = sqlx::query_as(
            "SELECT CAST(SUM(calls) AS BIGINT) FROM request_usage_hourly WHERE outcome = 'throttled' AND partner_id = 'globex'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(throttled, 3);

        // December: rollups for the three closed hours plus the open hour's call.
        let month = Month::parse("2026-12").unwrap();
        let rows = hourly_usage::metering(db, month, None, now).await.unwrap();
        let calls = |partner: &str, operation: &str, class: &str| {
            rows.iter()
                .filter(|r| {
                    r.partner_id == partner && r.operation == operation && r.status_class == class
                })
                .map(|r| r.calls)
                .sum::<i64>()
        };
        assert_eq!(calls("acme", "commercial:ListOrders", "2xx"), 3 * 4 + 1);
        assert_eq!(calls("acme", "commercial:CreateOrder", "4xx"), 3);
        assert_eq!(calls("globex", "commercial:ListOrders", "4xx"), 3);
        assert!(rows.iter().all(|r| r.partner_id != "x"));
        let globex_stage: Vec<&str> = rows
            .iter()
            .filter(|r| r.partner_id == "globex")
            .map(|r| r.stage.as_str())
            .collect();
        assert_eq!(globex_stage, ["production"]);
        let only_acme = hourly_usage::metering(db, month, Some("acme"), now)
            .await
            .unwrap();
        assert!(only_acme.iter().all(|r| r.partner_id == "acme"));
        assert_eq!(only_acme.iter().map(|r| r.calls).sum::<i64>(), 16);
        // November holds its last call only.
        let november = hourly_usage::metering(db, Month::parse("2026-11").unwrap(), None, now)
            .await
            .unwrap();
        assert_eq!(november.iter().map(|r| r.calls).sum::<i64>(), 1);

        let csv = hourly_usage::metering_csv(month, &only_acme);
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("month,partner_id,operation,stage,status_class,calls")
        );
        assert!(
            csv.contains("2026-12,acme,commercial:ListOrders,sandbox,2xx,13\n"),
            "{csv}"
        );
        let json = hourly_usage::metering_json(month, &rows);
        assert_eq!(json["totals"]["acme"], 16);
        assert_eq!(json["totals"]["globex"], 3);
    });
}

#[tokio::test]
async fn log_pages_reach_back_past_their_first_windows_without_gaps() {
    use portico_core::traffic::partner_log::{self, DecisionFilter, LogQuery};
    use portico_core::traffic::request_log::{self, RequestRecord};
    on_both_engines!(|db| {
        let now = portico_core::clock::now_ms();
        // 130 calls, one every 2 hours for ~11 days back; every 10th denied; plus one call in
        // the future (a writer whose clock runs ahead) that must not be skipped.
        let record = |n: i64, at: i64| RequestRecord {
            request_id: format!("req-{n:04}"),
            occurred_at_ms: at,
            stage: "sandbox",
            client_id: Some("pci_windows".into()),
            partner_id: Some("acme".into()),
            scopes: None,
            method: "GET".into(),
            route: "/v2/commercial/orders".into(),
            action: Some("commercial:ListOrders".into()),
            decision: if n % 10 == 0 { "deny" } else { "allow" },
            reason: None,
            status: if n % 10 == 0 { 403 } else { 200 },
            latency_us: 100,
            version: Some("v2".into()),
            client_ip: None,
        };
        let mut records: Vec<RequestRecord> = (0..130)
            .map(|n| record(n, now - n * 2 * 3_600_000))
            .collect();
        records.push(record(999, now + 3_600_000));
        request_log::insert_batch(db, &records).await.unwrap();
        let mut expected: Vec<(i64, String)> = records
            .iter()
            .map(|r| (r.occurred_at_ms, r.request_id.clone()))
            .collect();
        expected.sort_by(|a, b| b.cmp(a));

        let mut seen = Vec::new();
        let mut query = LogQuery {
            limit: 50,
            ..LogQuery::default()
        };
        loop {
            let page = partner_log::partner_page(db, "acme", Some("pci_windows"), &query)
                .await
                .unwrap();
            seen.extend(
                page.entries
                    .iter()
                    .map(|e| (e.occurred_at_ms, e.request_id.clone())),
            );
            match page.next {
                Some(cursor) => query.after = Some(cursor),
                None => break,
            }
        }
        assert_eq!(
            seen, expected,
            "every call once, newest first, across windows"
        );

        let denied = partner_log::partner_page(
            db,
            "acme",
            Some("pci_windows"),
            &LogQuery {
                decision: Some(DecisionFilter::Denied),
                limit: 50,
                ..LogQuery::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            denied.entries.len(),
            13,
            "sparse matches found in the oldest window too"
        );
        assert!(denied.next.is_none());
    });
}

#[tokio::test]
async fn applications_holding_scopes_no_model_declares_are_found() {
    use portico_core::authz::scopes::{ScopeCatalog, Scopes};
    on_both_engines!(|db| {
        let create = |slug: &'static str, scopes: &'static str| {
            let db = db.clone();
            async move {
                portico_core::apps::demo::create_app(
                    &db,
                    slug,
                    slug,
                    "Integration",
                    &Scopes::parse(scopes).unwrap(),
                    "sandbox",
                )
                .await
                .unwrap()
                .0
            }
        };
        let keeps = create("acme", "ship:read logs:read").await;
        let stale = create("globex", "ship:read legacy:write").await;
        create("initech", "").await;
        // The models no longer declare legacy:write.
        let known = ScopeCatalog::with_declared("v9.yaml", [("ship:read", "Read shipments.")]);
        let holders = portico_core::apps::applications::holding_unknown_scopes(db, &known)
            .await
            .unwrap();
        assert_eq!(holders.len(), 1, "{holders:?}");
        assert_eq!(holders[0].0.client_id, stale.client_id);
        assert_eq!(holders[0].1, ["legacy:write"]);
        // Nothing was taken away.
        let found = portico_core::apps::applications::find_by_client_id(db, &stale.client_id)
            .await
            .unwrap()
            .unwrap();
        assert!(found.scopes.contains("legacy:write"));
        assert!(keeps.scopes.contains("logs:read"));
    });
}
