//! The status domain's tests.

use super::*;
use crate::CoreError;
use crate::identity::ActorContext;
use crate::testing::TestDatabase;

fn check(component: &str, state: ProbeState, at_ms: i64) -> CheckResult {
    CheckResult {
        component: component.into(),
        stage: "sandbox".into(),
        state,
        latency_ms: 40,
        error: None,
        checked_at_ms: at_ms,
    }
}

fn incident(kind: IncidentKind, impact: Impact, components: &[&str]) -> Incident {
    Incident {
        id: "inc_1".into(),
        kind,
        title: "t".into(),
        impact,
        status: kind.statuses()[0],
        components: components.iter().map(|c| (*c).to_owned()).collect(),
        starts_at: None,
        ends_at: None,
        created_at: 0,
        updated_at: 0,
        resolved_at: None,
        updates: Vec::new(),
    }
}

#[test]
fn uptime_days_has_one_entry_per_day_oldest_first() {
    let rollups = vec![
        DayRollup {
            component: "A".into(),
            stage: "sandbox".into(),
            day: 100,
            ok_count: 9,
            degraded_count: 1,
            total: 10,
        },
        DayRollup {
            component: "B".into(),
            stage: "sandbox".into(),
            day: 100,
            ok_count: 0,
            degraded_count: 0,
            total: 4,
        },
    ];
    let days = uptime_days(&rollups, "A", 101, 90);
    assert_eq!(days.len(), 90);
    assert_eq!(days.first().unwrap().day, 12);
    assert_eq!(days.last().unwrap().day, 101);
    assert_eq!(days[88].uptime(), Some(0.9));
    assert_eq!(days[89].uptime(), None, "no probes: no data, not 0 %");
    assert_eq!(uptime_over(&days), Some(0.9));
    assert_eq!(uptime_over(&uptime_days(&rollups, "C", 101, 90)), None);
}

#[test]
fn incidents_and_probes_combine_into_the_displayed_state() {
    let now_ms = 1_000_000_000;
    let fresh = check("Sandbox API v2", ProbeState::Operational, now_ms - 1000);
    let stale = check(
        "Sandbox API v2",
        ProbeState::Operational,
        now_ms - 10 * 60 * 1000,
    );
    let down = check("Sandbox API v2", ProbeState::Down, now_ms - 1000);
    let status = |probe: &CheckResult, incidents: &[Incident]| {
        component_status(
            "Sandbox API v2",
            Some(probe),
            incidents,
            now_ms,
            DEFAULT_STALE_AFTER_MS,
        )
    };
    assert_eq!(status(&fresh, &[]), ComponentStatus::Operational);
    assert_eq!(status(&stale, &[]), ComponentStatus::Unknown);
    assert_eq!(status(&down, &[]), ComponentStatus::MajorOutage);
    let major = incident(IncidentKind::Incident, Impact::Major, &["Sandbox API v2"]);
    assert_eq!(
        status(&fresh, std::slice::from_ref(&major)),
        ComponentStatus::PartialOutage
    );
    assert_eq!(
        status(&down, std::slice::from_ref(&major)),
        ComponentStatus::MajorOutage
    );
    let elsewhere = incident(
        IncidentKind::Incident,
        Impact::Critical,
        &["Token endpoint"],
    );
    assert_eq!(status(&fresh, &[elsewhere]), ComponentStatus::Operational);
    let mut resolved = major;
    resolved.resolved_at = Some(1);
    assert_eq!(status(&fresh, &[resolved]), ComponentStatus::Operational);
    let mut maintenance = incident(
        IncidentKind::Maintenance,
        Impact::Minor,
        &["Sandbox API v2"],
    );
    maintenance.starts_at = Some(now_ms / 1000 - 60);
    maintenance.ends_at = Some(now_ms / 1000 + 60);
    assert_eq!(
        status(&down, &[maintenance.clone()]),
        ComponentStatus::UnderMaintenance
    );
    maintenance.starts_at = Some(now_ms / 1000 + 600);
    maintenance.ends_at = Some(now_ms / 1000 + 1200);
    assert_eq!(
        status(&fresh, &[maintenance.clone()]),
        ComponentStatus::Operational
    );
    assert!(maintenance.is_upcoming(now_ms / 1000));
}

#[test]
fn the_indicator_is_the_worst_of_incidents_and_components() {
    use ComponentStatus as S;
    let now = 1_000;
    assert_eq!(
        overall(&[S::Operational, S::Operational], &[], now),
        (Indicator::None, "All systems operational")
    );
    assert_eq!(
        overall(&[S::Operational, S::DegradedPerformance], &[], now).0,
        Indicator::Minor
    );
    assert_eq!(
        overall(&[S::Operational, S::MajorOutage], &[], now).0,
        Indicator::Major
    );
    assert_eq!(
        overall(&[S::MajorOutage, S::MajorOutage], &[], now).0,
        Indicator::Critical
    );
    assert_eq!(overall(&[S::Unknown], &[], now).0, Indicator::None);
    let critical = incident(IncidentKind::Incident, Impact::Critical, &[]);
    assert_eq!(
        overall(&[S::Operational], std::slice::from_ref(&critical), now),
        (Indicator::Critical, "Major system outage")
    );
    let mut resolved = critical;
    resolved.resolved_at = Some(5);
    assert_eq!(
        overall(&[S::Operational], &[resolved], now).0,
        Indicator::None
    );
    let mut maintenance = incident(IncidentKind::Maintenance, Impact::Major, &[]);
    maintenance.status = UpdateStatus::InProgress;
    assert_eq!(
        overall(&[S::UnderMaintenance], &[maintenance], now),
        (Indicator::None, "Scheduled maintenance in progress")
    );
}

#[test]
fn component_names_and_times() {
    assert_eq!(api_component("sandbox", "v2"), "Sandbox API v2");
    assert_eq!(api_component("production", "v1"), "Production API v1");
    assert_eq!(parse_utc_minute("2026-12-06T10:30"), Some(1_796_553_000));
    assert_eq!(parse_utc_minute("2026-02-30T10:30"), None);
    assert_eq!(parse_utc_minute("soon"), None);
    assert_eq!(day_of_ms(-1), -1);
}

#[tokio::test]
async fn one_process_holds_the_probe_lease_until_it_stops_renewing() {
    for test_db in TestDatabase::both().await {
        let db = &test_db.db;
        let engine = db.backend().name();
        let ttl = 90_000;
        let t0 = 1_000_000;
        assert!(
            acquire_probe_lease(db, "a", t0, ttl).await.unwrap(),
            "{engine}"
        );
        assert!(
            !acquire_probe_lease(db, "b", t0 + 1, ttl).await.unwrap(),
            "{engine}"
        );
        // The holder renews; the other still waits.
        assert!(
            acquire_probe_lease(db, "a", t0 + 30_000, ttl)
                .await
                .unwrap()
        );
        assert!(
            !acquire_probe_lease(db, "b", t0 + ttl + 1, ttl)
                .await
                .unwrap()
        );
        // The holder stops renewing: after its lease ends, the other takes over.
        let expired = t0 + 30_000 + ttl;
        assert!(
            acquire_probe_lease(db, "b", expired, ttl).await.unwrap(),
            "{engine}"
        );
        assert!(
            !acquire_probe_lease(db, "a", expired + 1, ttl)
                .await
                .unwrap(),
            "{engine}"
        );
        // Given up at shutdown (only by its holder), it is free at once.
        release_probe_lease(db, "a").await.unwrap();
        assert!(
            !acquire_probe_lease(db, "a", expired + 2, ttl)
                .await
                .unwrap()
        );
        release_probe_lease(db, "b").await.unwrap();
        assert!(
            acquire_probe_lease(db, "a", expired + 3, ttl)
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn rollups_purges_and_incidents_on_both_engines() {
    for test_db in TestDatabase::both().await {
        let db = &test_db.db;
        let engine = db.backend().name();
        let now_ms = crate::clock::now_ms();
        let today = day_of_ms(now_ms);
        let mut results = vec![
            check("Sandbox API v2", ProbeState::Operational, now_ms - 2000),
            check("Sandbox API v2", ProbeState::Degraded, now_ms - 1000),
            check("Sandbox API v2", ProbeState::Down, now_ms),
            check("Token endpoint", ProbeState::Operational, now_ms),
            // Eight days ago: rolled up, then purged from the raw table.
            check(
                "Token endpoint",
                ProbeState::Operational,
                now_ms - 8 * DAY_MS,
            ),
        ];
        results[2].error = Some("x".repeat(1000));
        record_checks(db, &results).await.unwrap();
        let rollups = daily_rollups(db, today - 89).await.unwrap();
        let v2 = rollups
            .iter()
            .find(|r| r.component == "Sandbox API v2" && r.day == today)
            .unwrap_or_else(|| panic!("{engine}: {rollups:?}"));
        assert_eq!(
            (v2.ok_count, v2.degraded_count, v2.total),
            (1, 1, 3),
            "{engine}"
        );
        let latest = latest_checks(db, now_ms - DAY_MS).await.unwrap();
        let v2 = latest
            .iter()
            .find(|c| c.component == "Sandbox API v2")
            .unwrap();
        assert_eq!(v2.state, ProbeState::Down, "{engine}");
        assert!(v2.error.as_ref().unwrap().chars().count() <= MAX_ERROR_CHARS + 1);
        let series = latency_series(db, now_ms - DAY_MS, LATENCY_BUCKET_MS)
            .await
            .unwrap();
        assert!(
            series.iter().all(|p| p.avg_ms == 40 && p.max_ms == 40),
            "{engine}: {series:?}"
        );
        assert_eq!(
            series
                .iter()
                .filter(|p| p.component == "Sandbox API v2")
                .map(|p| p.samples)
                .sum::<i64>(),
            2,
            "{engine}: down results have no latency"
        );
        assert_eq!(purge(db, now_ms, 10).await.unwrap(), 1, "{engine}");
        let rollups = daily_rollups(db, today - 89).await.unwrap();
        assert!(
            rollups.iter().any(|r| r.day == today - 8),
            "{engine}: the rollup stays"
        );
        assert_eq!(
            known_components(db, now_ms).await.unwrap(),
            vec!["Token endpoint".to_owned(), "Sandbox API v2".to_owned()],
            "{engine}"
        );

        // The probe's application: idempotent, one live secret (the derived one).
        let secret = crate::secret::PlainSecret::from_presented("pcs_derived-for-the-test");
        let read = crate::authz::scopes::Scopes::parse("commercial:read").unwrap();
        let first = ensure_probe_application(db, &secret, false, &read)
            .await
            .unwrap();
        let second = ensure_probe_application(db, &secret, true, &read)
            .await
            .unwrap();
        assert_eq!(first, second, "{engine}");
        let other = crate::secret::PlainSecret::from_presented("pcs_after-a-new-master-key");
        assert_eq!(
            ensure_probe_application(db, &other, true, &read)
                .await
                .unwrap(),
            first
        );
        // The models now declare another read operation: the probe holds its scope too.
        let more = crate::authz::scopes::Scopes::parse("commercial:read logistics:read").unwrap();
        ensure_probe_application(db, &secret, true, &more)
            .await
            .unwrap();
        let (app, secrets) = crate::apps::applications::load_client(db, &first)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(secrets.len(), 1, "{engine}");
        assert!(secrets[0].hash == secret.hash(), "{engine}");
        assert_eq!(app.partner_id, crate::orgs::partners::PROBE_PARTNER);
        assert!(app.production_access);
        assert_eq!(app.scopes, more, "{engine}");
        assert_eq!(
            crate::apps::plans::effective_plan(db, &app.id)
                .await
                .unwrap()
                .quota,
            1_000_000_000
        );

        // Incidents: admins only, validated, audited, closed by a final update.
        let mut conn = db.pool().acquire().await.unwrap();
        let admin = crate::identity::users::create(
            &mut conn,
            "ops@example.com",
            crate::identity::users::Role::Admin,
        )
        .await
        .unwrap();
        let partner = crate::identity::users::create(
            &mut conn,
            "dev@example.com",
            crate::identity::users::Role::Partner,
        )
        .await
        .unwrap();
        drop(conn);
        let ctx = ActorContext::new(&admin, "127.0.0.1");
        let known = known_components(db, now_ms).await.unwrap();
        let new = NewIncident {
            kind: IncidentKind::Incident,
            title: "Sandbox v2 errors".into(),
            impact: Impact::Major,
            components: vec!["Sandbox API v2".into()],
            status: UpdateStatus::Investigating,
            message: "We are looking into it.".into(),
            starts_at: None,
            ends_at: None,
        };
        let refused = create_incident(
            db,
            &ActorContext::new(&partner, "127.0.0.1"),
            new.clone(),
            &known,
        )
        .await;
        assert!(
            matches!(refused, Err(CoreError::Forbidden(_))),
            "{engine}: {refused:?}"
        );
        let unknown = NewIncident {
            components: vec!["Mainframe".into()],
            ..new.clone()
        };
        assert!(matches!(
            create_incident(db, &ctx, unknown, &known).await,
            Err(CoreError::Invalid(_))
        ));
        let no_window = NewIncident {
            kind: IncidentKind::Maintenance,
            status: UpdateStatus::Scheduled,
            ..new.clone()
        };
        assert!(matches!(
            create_incident(db, &ctx, no_window, &known).await,
            Err(CoreError::Invalid(_))
        ));
        let created = create_incident(db, &ctx, new, &known).await.unwrap();
        assert_eq!(created.updates.len(), 1);
        assert!(created.is_open());
        let snap = snapshot(db, now_ms, DEFAULT_STALE_AFTER_MS).await.unwrap();
        assert_eq!(snap.indicator, Indicator::Major, "{engine}");
        let wrong = post_update(db, &ctx, &created.id, UpdateStatus::Completed, "done").await;
        assert!(
            matches!(wrong, Err(CoreError::Invalid(_))),
            "{engine}: {wrong:?}"
        );
        post_update(db, &ctx, &created.id, UpdateStatus::Identified, "Found it.")
            .await
            .unwrap();
        let resolved = post_update(db, &ctx, &created.id, UpdateStatus::Resolved, "Fixed.")
            .await
            .unwrap();
        assert_eq!(resolved.updates.len(), 3);
        assert_eq!(
            resolved.updates[0].status,
            UpdateStatus::Resolved,
            "newest first"
        );
        assert!(!resolved.is_open());
        let again = post_update(db, &ctx, &created.id, UpdateStatus::Monitoring, "hm").await;
        assert!(matches!(again, Err(CoreError::Conflict(_))), "{engine}");
        let listed = list_incidents(db, crate::clock::now() - 86_400)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].components, vec!["Sandbox API v2".to_owned()]);
        let audit: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'status.incident.%' AND target = $1",
        )
        .bind(&created.id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(audit, 3, "{engine}: create, update, resolve");
    }
}
