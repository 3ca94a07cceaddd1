#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
//! Gateway steps 4-6: usage plans as data (both database engines), API keys tied to the
//! token's application, IP allowlists and trusted proxies, the token bucket and period quota
//! on both counter backends, rate-limit headers, limits shared by two gateways through one
//! Redis, and the documented fail-open behaviour when Redis is away.
//!
//! Redis must be running (`PORTICO_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`); each
//! test writes under its own key prefix. PostgreSQL is needed as for every storage test.

use axum::body::to_bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use portico_core::apps::applications::{Application, IssuedCredentials};
use portico_core::apps::demo;
use portico_core::apps::plans::{
    self, ApiKeyRequirement, LimitOverride, PeriodWindow, QuotaPeriod, parse_allowlist,
};
use portico_core::authz::scopes::Scopes;
use portico_core::testing::TestDatabase;
use portico_core::{CoreError, Database, ids};
use portico_sandbox::client_ip::{client_ip, parse_trusted_proxies};
use portico_sandbox::limits::redis::{Resp, counter_keys};
use portico_sandbox::limits::{
    GatewayLimits, LimitError, LimitKind, LimitOutcome, LimitsConfig, ManualClock,
    RedisFailurePolicy, RedisUrl,
};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

fn redis_url() -> RedisUrl {
    let url = std::env::var("PORTICO_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    RedisUrl::parse(&url).unwrap()
}

fn unique_prefix() -> String {
    format!("portico-test:{}:", ids::new_id("rl"))
}

async fn create_app(
    db: &Database,
    partner: &str,
    name: &str,
    plan: &str,
) -> (Application, IssuedCredentials) {
    let scopes = Scopes::parse("commercial:read").unwrap();
    demo::create_app(db, partner, partner, name, &scopes, plan)
        .await
        .unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Memory,
    Redis,
}

fn config(backend: Backend, clock: &Arc<ManualClock>, prefix: &str) -> LimitsConfig {
    LimitsConfig {
        redis_url: (backend == Backend::Redis).then(redis_url),
        key_prefix: prefix.to_owned(),
        clock: clock.clone(),
        ..LimitsConfig::default()
    }
}

/// An application on `plan` with `overrides`, and a limiter over it.
async fn limited_app(
    db: &Database,
    backend: Backend,
    clock: &Arc<ManualClock>,
    overrides: LimitOverride,
) -> (GatewayLimits, Arc<plans::EffectivePlan>) {
    let (app, _) = create_app(db, "acme", &ids::new_id("app"), "standard").await;
    plans::set_override(db, &app.id, &overrides).await.unwrap();
    let limits = GatewayLimits::new(db.clone(), config(backend, clock, &unique_prefix()));
    let plan = limits.plan_for_client(&app.client_id).await.unwrap();
    (limits, plan)
}

fn header(outcome: &LimitOutcome, name: &str) -> Option<String> {
    let mut map = HeaderMap::new();
    outcome.apply_headers(&mut map);
    map.get(name).map(|v| v.to_str().unwrap().to_owned())
}

fn day_window(clock: &ManualClock) -> PeriodWindow {
    use portico_sandbox::limits::Clock as _;
    QuotaPeriod::Day.window(clock.now_ms().div_euclid(1000))
}

fn secs_to_end(clock: &ManualClock, window: &PeriodWindow) -> u64 {
    use portico_sandbox::limits::Clock as _;
    let ms = window.end * 1000 - clock.now_ms();
    u64::try_from(ms).unwrap().div_ceil(1000)
}

// ---------------------------------------------------------------------------------------------
// Plans as data

#[tokio::test]
async fn plans_are_seeded_and_overrides_merge_on_both_engines() {
    for test_db in TestDatabase::both().await {
        let db = &test_db.db;
        let engine = db.backend().name();
        let plans = plans::list_plans(db).await.unwrap();
        let find = |name: &str| plans.iter().find(|p| p.name == name).cloned().unwrap();
        let standard = find("standard");
        assert_eq!(
            (standard.rate_per_second, standard.burst, standard.quota),
            (50, 100, 10_000),
            "{engine}"
        );
        assert_eq!(standard.quota_period, QuotaPeriod::Month);
        assert_eq!(standard.api_key, ApiKeyRequirement::Required);
        let premium = find("premium");
        assert_eq!(
            (premium.rate_per_second, premium.burst, premium.quota),
            (200, 400, 100_000)
        );
        assert_eq!(premium.quota_period, QuotaPeriod::Month);
        let sandbox = find(plans::DEFAULT_PLAN);
        assert_eq!(
            (sandbox.rate_per_second, sandbox.burst, sandbox.quota),
            (25, 50, 1000)
        );
        assert_eq!(sandbox.quota_period, QuotaPeriod::Day);
        assert_eq!(sandbox.api_key, ApiKeyRequirement::Optional);

        // A new application is on the default plan, without overrides or allowlist.
        let (app, _) = create_app(db, "acme", "Shop", "sandbox").await;
        let plan = plans::effective_plan(db, &app.id).await.unwrap();
        assert_eq!(plan.plan, "sandbox");
        assert_eq!(plan.client_id, app.client_id);
        assert_eq!(
            (plan.rate_per_second, plan.burst, plan.quota),
            (25, 50, 1000)
        );
        assert!(!plan.overridden);
        assert!(plan.ip_allowlist.is_empty());

        plans::set_plan(db, &app.id, "standard").await.unwrap();
        let plan = plans::effective_plan(db, &app.id).await.unwrap();
        assert_eq!(plan.plan, "standard");
        assert_eq!(
            (plan.rate_per_second, plan.burst, plan.quota),
            (50, 100, 10_000)
        );
        assert_eq!(plan.api_key, ApiKeyRequirement::Required);

        let overrides = LimitOverride {
            burst: Some(7),
            quota: Some(123_456),
            quota_period: Some(QuotaPeriod::Day),
            api_key: Some(ApiKeyRequirement::Optional),
            ..LimitOverride::default()
        };
        plans::set_override(db, &app.id, &overrides).await.unwrap();
        assert_eq!(plans::limit_override(db, &app.id).await.unwrap(), overrides);
        let plan = plans::effective_plan(db, &app.id).await.unwrap();
        assert_eq!(plan.plan, "standard");
        assert_eq!(plan.rate_per_second, 50, "not overridden: from the plan");
        assert_eq!((plan.burst, plan.quota), (7, 123_456));
        assert_eq!(plan.quota_period, QuotaPeriod::Day);
        assert_eq!(plan.api_key, ApiKeyRequirement::Optional);
        assert!(plan.overridden);
        let by_client = plans::effective_plan_for_client(db, &app.client_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_client, plan);

        // Overrides survive a plan change and are cleared by an empty override.
        plans::set_plan(db, &app.id, "premium").await.unwrap();
        let plan = plans::effective_plan(db, &app.id).await.unwrap();
        assert_eq!((plan.rate_per_second, plan.burst), (200, 7));
        plans::set_override(db, &app.id, &LimitOverride::default())
            .await
            .unwrap();
        let plan = plans::effective_plan(db, &app.id).await.unwrap();
        assert_eq!(
            (plan.rate_per_second, plan.burst, plan.quota),
            (200, 400, 100_000)
        );
        assert!(!plan.overridden);

        // Invalid overrides are refused.
        let zero = LimitOverride {
            rate_per_second: Some(0),
            ..LimitOverride::default()
        };
        assert!(matches!(
            plans::set_override(db, &app.id, &zero).await,
            Err(CoreError::Invalid(_))
        ));

        // IP allowlists are validated and stored normalised.
        let list =
            plans::set_ip_allowlist(db, &app.id, "203.0.113.0/24, 2001:DB8::/32 203.0.113.0/24")
                .await
                .unwrap();
        assert_eq!(list.len(), 2);
        let plan = plans::effective_plan(db, &app.id).await.unwrap();
        assert_eq!(
            plans::format_allowlist(&plan.ip_allowlist),
            "203.0.113.0/24 2001:db8::/32"
        );
        let err = plans::set_ip_allowlist(db, &app.id, "10.0.0.1/8")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("did you mean 10.0.0.0/8"), "{err}");
        assert!(matches!(
            plans::set_ip_allowlist(db, &app.id, "not-an-ip").await,
            Err(CoreError::Invalid(_))
        ));
        let plan = plans::effective_plan(db, &app.id).await.unwrap();
        assert_eq!(plan.ip_allowlist.len(), 2, "a refused list changes nothing");
        plans::set_ip_allowlist(db, &app.id, "  ").await.unwrap();
        assert!(
            plans::effective_plan(db, &app.id)
                .await
                .unwrap()
                .ip_allowlist
                .is_empty()
        );

        // Unknown applications.
        assert!(matches!(
            plans::effective_plan(db, "app_missing").await,
            Err(CoreError::NotFound { .. })
        ));
        assert!(
            plans::effective_plan_for_client(db, "pci_missing")
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            plans::set_override(db, "app_missing", &overrides).await,
            Err(CoreError::NotFound { .. })
        ));
        assert!(matches!(
            plans::set_ip_allowlist(db, "app_missing", "").await,
            Err(CoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn unknown_plans_are_refused_on_both_engines() {
    for test_db in TestDatabase::both().await {
        let db = &test_db.db;
        let (app, _) = create_app(db, "acme", "Shop", "sandbox").await;
        let err = plans::set_plan(db, &app.id, "gold").await.unwrap_err();
        assert!(matches!(err, CoreError::Invalid(_)), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("gold") && message.contains("premium, sandbox, standard"),
            "{message}"
        );
        assert_eq!(
            plans::effective_plan(db, &app.id).await.unwrap().plan,
            "sandbox"
        );
        assert!(plans::require_plan(db, "gold").await.is_err());
        assert_eq!(plans::require_plan(db, "premium").await.unwrap().burst, 400);
        assert!(matches!(
            plans::set_plan(db, "app_missing", "premium").await,
            Err(CoreError::NotFound { .. })
        ));
        // An application stored with a plan that does not exist (created before the plan was
        // removed, or by code that skipped the check) gets the default plan, not an error.
        let (legacy, _) = create_app(db, "acme", "Legacy", "gold").await;
        let plan = plans::effective_plan(db, &legacy.id).await.unwrap();
        assert_eq!(plan.plan, plans::DEFAULT_PLAN);
    }
}

// ---------------------------------------------------------------------------------------------
// Step 4: API keys

#[tokio::test]
async fn api_keys_must_belong_to_the_tokens_application() {
    for test_db in TestDatabase::both().await {
        api_key_checks(&test_db.db).await;
    }
}

async fn api_key_checks(db: &Database) {
    let (app_a, creds_a) = create_app(db, "acme", "A", "standard").await;
    let (_app_b, creds_b) = create_app(db, "globex", "B", "standard").await;
    let (_app_c, creds_c) = create_app(db, "initech", "C", "sandbox").await;
    let config = LimitsConfig {
        cache_ttl: Duration::from_millis(200),
        ..LimitsConfig::in_process()
    };
    let limits = GatewayLimits::new(db.clone(), config);
    let key_a = creds_a.api_key.expose();
    let key_b = creds_b.api_key.expose();

    // Standard plan: the key is required and must be A's own.
    let plan_a = limits.plan_for_client(&creds_a.client_id).await.unwrap();
    assert_eq!(plan_a.api_key, ApiKeyRequirement::Required);
    limits.check_api_key(Some(key_a), &plan_a).await.unwrap();
    let err = limits
        .check_api_key(Some(key_b), &plan_a)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LimitError::InvalidApiKey {
            reason: "API key of another application"
        }
    );
    assert!(matches!(
        limits
            .check_api_key(Some("pak_not-a-real-key"), &plan_a)
            .await,
        Err(LimitError::InvalidApiKey { .. })
    ));
    assert!(matches!(
        limits.check_api_key(Some(""), &plan_a).await,
        Err(LimitError::InvalidApiKey { .. })
    ));
    assert_eq!(
        limits.check_api_key(None, &plan_a).await,
        Err(LimitError::MissingApiKey)
    );

    // Sandbox plan: the key is optional, but a presented key is still checked.
    let plan_c = limits.plan_for_client(&creds_c.client_id).await.unwrap();
    assert_eq!(plan_c.api_key, ApiKeyRequirement::Optional);
    limits.check_api_key(None, &plan_c).await.unwrap();
    limits
        .check_api_key(Some(creds_c.api_key.expose()), &plan_c)
        .await
        .unwrap();
    assert!(matches!(
        limits.check_api_key(Some(key_a), &plan_c).await,
        Err(LimitError::InvalidApiKey { .. })
    ));

    // The refusals are 403 ForbiddenException with one message for every kind of bad key.
    let response = axum::response::IntoResponse::into_response(err.into_gateway_error(None));
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value =
        serde_json::from_slice(&to_bytes(response.into_body(), 10_000).await.unwrap()).unwrap();
    assert_eq!(body["__type"], "ForbiddenException");
    assert_eq!(
        body["message"],
        "The x-api-key is not valid for this application."
    );

    // Revoked: refused once the cached lookup expires (the documented bound).
    sqlx::query("UPDATE api_keys SET revoked_at = 1 WHERE application_id = $1")
        .bind(&app_a.id)
        .execute(db.pool())
        .await
        .unwrap();
    let fresh = GatewayLimits::new(db.clone(), LimitsConfig::in_process());
    assert!(matches!(
        fresh.check_api_key(Some(key_a), &plan_a).await,
        Err(LimitError::InvalidApiKey {
            reason: "unknown or revoked API key"
        })
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(
        limits.check_api_key(Some(key_a), &plan_a).await,
        Err(LimitError::InvalidApiKey { .. })
    ));

    // Uses are stamped in batches.
    limits.flush_api_key_uses().await.unwrap();
    let used: Vec<Option<i64>> =
        sqlx::query_scalar("SELECT last_used_at FROM api_keys WHERE application_id = $1")
            .bind(&app_a.id)
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert!(used.iter().all(Option::is_some), "{used:?}");
}

#[test]
fn the_api_key_header_is_read_strictly() {
    let mut headers = HeaderMap::new();
    assert_eq!(GatewayLimits::api_key_header(&headers), Ok(None));
    headers.insert("x-api-key", HeaderValue::from_static(" pak_abc "));
    assert_eq!(GatewayLimits::api_key_header(&headers), Ok(Some("pak_abc")));
    headers.append("x-api-key", HeaderValue::from_static("pak_def"));
    assert!(GatewayLimits::api_key_header(&headers).is_err());
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_bytes(b"pak_\xff").unwrap());
    assert!(GatewayLimits::api_key_header(&headers).is_err());
}

// ---------------------------------------------------------------------------------------------
// Step 5: IP allowlist and client address

#[tokio::test]
async fn ip_allowlists_allow_and_deny_including_ipv6_and_trusted_proxies() {
    let test_db = TestDatabase::sqlite().await;
    let db = &test_db.db;
    let (app, creds) = create_app(db, "acme", "Shop", "standard").await;
    let (_open_app, open_creds) = create_app(db, "acme", "Open", "standard").await;
    plans::set_ip_allowlist(db, &app.id, "203.0.113.0/24 2001:db8:abcd::/48")
        .await
        .unwrap();
    let limits = GatewayLimits::new(db.clone(), LimitsConfig::in_process());
    let plan = limits.plan_for_client(&creds.client_id).await.unwrap();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();

    for allowed in [
        "203.0.113.7",
        "203.0.113.255",
        "2001:db8:abcd::1",
        "2001:db8:abcd:ffff::9",
        "::ffff:203.0.113.7",
    ] {
        assert_eq!(limits.check_ip(ip(allowed), &plan), Ok(()), "{allowed}");
    }
    for denied in [
        "203.0.114.7",
        "198.51.100.1",
        "2001:db8:abce::1",
        "::1",
        "::ffff:198.51.100.1",
    ] {
        let err = limits.check_ip(ip(denied), &plan).unwrap_err();
        assert!(matches!(err, LimitError::IpNotAllowed(_)), "{denied}");
        assert_eq!(err.kind().status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        limits.check_ip(ip("::ffff:198.51.100.1"), &plan),
        Err(LimitError::IpNotAllowed(ip("198.51.100.1"))),
        "mapped addresses are reported as IPv4"
    );
    let open = limits.plan_for_client(&open_creds.client_id).await.unwrap();
    assert_eq!(
        limits.check_ip(ip("198.51.100.1"), &open),
        Ok(()),
        "empty list = any"
    );

    // X-Forwarded-For counts only when the socket peer is a trusted proxy.
    let proxies = parse_trusted_proxies("10.0.0.0/8 fd00::/8").unwrap();
    let forwarded = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    };
    let from = |peer: &str, xff: &str| {
        let peer = SocketAddr::new(ip(peer), 50000);
        client_ip(peer, &forwarded(xff), &proxies)
    };
    // A direct caller cannot claim an allowed address.
    let spoofed = from("198.51.100.1", "203.0.113.7");
    assert_eq!(spoofed, ip("198.51.100.1"));
    assert!(limits.check_ip(spoofed, &plan).is_err());
    // Through our proxy: the right-most untrusted entry is the client.
    let proxied = from("10.0.0.5", "198.51.100.1, 203.0.113.7, 10.9.9.9");
    assert_eq!(proxied, ip("203.0.113.7"));
    assert_eq!(limits.check_ip(proxied, &plan), Ok(()));
    // A forged left-most entry does not help.
    let forged = from("10.0.0.5", "203.0.113.7, 198.51.100.1");
    assert_eq!(forged, ip("198.51.100.1"));
    assert!(limits.check_ip(forged, &plan).is_err());
    // IPv6 proxy and client.
    let v6 = from("fd00::1", "[2001:db8:abcd::42]:443");
    assert_eq!(v6, ip("2001:db8:abcd::42"));
    assert_eq!(limits.check_ip(v6, &plan), Ok(()));
    assert!(parse_allowlist("10.0.0.0/8 garbage").is_err());
}

// ---------------------------------------------------------------------------------------------
// Step 6: token bucket and quota, on both backends

#[tokio::test]
async fn token_bucket_bursts_then_throttles_then_refills() {
    for backend in [Backend::Memory, Backend::Redis] {
        let test_db = TestDatabase::sqlite().await;
        let db = &test_db.db;
        let clock = Arc::new(ManualClock::starting_now());
        let overrides = LimitOverride {
            rate_per_second: Some(1),
            burst: Some(3),
            quota: Some(1000),
            quota_period: Some(QuotaPeriod::Day),
            ..LimitOverride::default()
        };
        let (limits, plan) = limited_app(db, backend, &clock, overrides).await;
        let window = day_window(&clock);
        let to_end = secs_to_end(&clock, &window);

        for (i, left) in [2, 1, 0].into_iter().enumerate() {
            let outcome = limits.check_rate(&plan).await;
            assert!(outcome.allowed, "{backend:?} request {i}");
            assert!(!outcome.degraded);
            let used = i as u64 + 1;
            let burst_t = if left == 0 { 1 } else { 0 };
            assert_eq!(
                header(&outcome, "ratelimit").unwrap(),
                format!(
                    "\"burst\";r={left};t={burst_t}, \"quota\";r={};t={to_end}",
                    1000 - used
                ),
                "{backend:?}"
            );
            assert_eq!(
                header(&outcome, "ratelimit-policy").unwrap(),
                "\"burst\";q=3;w=3, \"quota\";q=1000;w=86400"
            );
            assert_eq!(header(&outcome, "retry-after"), None);
        }
        let throttled = limits.check_rate(&plan).await;
        assert!(!throttled.allowed, "{backend:?}");
        assert_eq!(throttled.kind, Some(LimitKind::Throttled));
        assert_eq!(throttled.retry_after_secs, Some(1));
        assert_eq!(header(&throttled, "retry-after").as_deref(), Some("1"));
        assert_eq!(
            header(&throttled, "ratelimit").unwrap(),
            format!("\"burst\";r=0;t=1, \"quota\";r=997;t={to_end}"),
            "a throttled request is not counted against the quota"
        );

        // The 429 response itself.
        let response = throttled.rejection(None).unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "1");
        assert!(response.headers().contains_key("ratelimit-policy"));
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 10_000).await.unwrap()).unwrap();
        assert_eq!(body["__type"], "ThrottlingException");

        // Refill: one token per second.
        clock.advance(Duration::from_millis(500));
        let half = limits.check_rate(&plan).await;
        assert!(!half.allowed, "{backend:?}: half a token is not enough");
        assert!(
            header(&half, "ratelimit")
                .unwrap()
                .starts_with("\"burst\";r=0;t=1,")
        );
        clock.advance(Duration::from_millis(500));
        assert!(
            limits.check_rate(&plan).await.allowed,
            "{backend:?}: one token back"
        );
        assert!(!limits.check_rate(&plan).await.allowed);
        // A long pause refills the bucket up to the burst, not beyond.
        clock.advance(Duration::from_secs(60));
        let allowed = count_allowed(&limits, &plan, 10).await;
        assert_eq!(allowed, 3, "{backend:?}");
        assert!(limits.stats().throttled >= 7);
    }
}

/// Sequentially sends `n` requests; returns how many were allowed.
async fn count_allowed(limits: &GatewayLimits, plan: &plans::EffectivePlan, n: usize) -> usize {
    let mut allowed = 0;
    for _ in 0..n {
        if limits.check_rate(plan).await.allowed {
            allowed += 1;
        }
    }
    allowed
}

#[tokio::test]
async fn exhausted_quota_is_limit_exceeded_until_the_period_ends() {
    for backend in [Backend::Memory, Backend::Redis] {
        let test_db = TestDatabase::sqlite().await;
        let db = &test_db.db;
        let clock = Arc::new(ManualClock::starting_now());
        let overrides = LimitOverride {
            rate_per_second: Some(100),
            burst: Some(100),
            quota: Some(3),
            quota_period: Some(QuotaPeriod::Day),
            ..LimitOverride::default()
        };
        let (limits, plan) = limited_app(db, backend, &clock, overrides).await;
        let window = day_window(&clock);
        let to_end = secs_to_end(&clock, &window);
        assert_eq!(count_allowed(&limits, &plan, 3).await, 3, "{backend:?}");
        let refused = limits.check_rate(&plan).await;
        assert!(!refused.allowed);
        assert_eq!(refused.kind, Some(LimitKind::QuotaExceeded), "{backend:?}");
        assert_eq!(refused.retry_after_secs, Some(to_end));
        assert_eq!(header(&refused, "retry-after"), Some(to_end.to_string()));
        assert_eq!(
            header(&refused, "ratelimit").unwrap(),
            format!("\"burst\";r=97;t=0, \"quota\";r=0;t={to_end}")
        );
        let response = refused.rejection(None).unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 10_000).await.unwrap()).unwrap();
        assert_eq!(body["__type"], "LimitExceededException");

        // Still refused one second before the UTC day ends, allowed from the next day on.
        clock.set(window.end * 1000 - 1000);
        let last_second = limits.check_rate(&plan).await;
        assert_eq!(
            last_second.kind,
            Some(LimitKind::QuotaExceeded),
            "{backend:?}"
        );
        assert_eq!(last_second.retry_after_secs, Some(1));
        clock.set(window.end * 1000);
        let next_day = limits.check_rate(&plan).await;
        assert!(next_day.allowed, "{backend:?}: a new day, a new quota");
        assert_eq!(
            header(&next_day, "ratelimit").unwrap(),
            "\"burst\";r=99;t=0, \"quota\";r=2;t=86400"
        );
        assert_eq!(limits.stats().quota_exceeded, 2);
    }
}

#[tokio::test]
async fn monthly_quotas_reset_at_the_start_of_the_utc_month() {
    for backend in [Backend::Memory, Backend::Redis] {
        let test_db = TestDatabase::sqlite().await;
        let db = &test_db.db;
        let clock = Arc::new(ManualClock::starting_now());
        let overrides = LimitOverride {
            quota: Some(1),
            ..LimitOverride::default()
        };
        // standard: monthly quota.
        let (limits, plan) = limited_app(db, backend, &clock, overrides).await;
        assert_eq!(plan.quota_period, QuotaPeriod::Month);
        use portico_sandbox::limits::Clock as _;
        let month = QuotaPeriod::Month.window(clock.now_ms() / 1000);
        assert!(limits.check_rate(&plan).await.allowed);
        let refused = limits.check_rate(&plan).await;
        assert_eq!(refused.kind, Some(LimitKind::QuotaExceeded), "{backend:?}");
        assert_eq!(refused.retry_after_secs, Some(secs_to_end(&clock, &month)));
        assert_eq!(
            header(&refused, "ratelimit-policy").unwrap(),
            "\"burst\";q=100;w=2, \"quota\";q=1;w=2592000"
        );
        clock.set(month.end * 1000 + 5);
        assert!(limits.check_rate(&plan).await.allowed, "{backend:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Redis: shared, atomic, expiring, robust

#[tokio::test]
async fn two_gateways_on_one_redis_limit_a_burst_once_in_total() {
    let test_db = TestDatabase::sqlite().await;
    let db = &test_db.db;
    let (app, creds) = create_app(db, "acme", "Shop", "standard").await;
    let overrides = LimitOverride {
        rate_per_second: Some(1),
        burst: Some(10),
        quota: Some(1000),
        ..LimitOverride::default()
    };
    plans::set_override(db, &app.id, &overrides).await.unwrap();
    let clock = Arc::new(ManualClock::starting_now());

    // Contrast: two gateways with in-process counters let the burst through twice.
    let local_a = GatewayLimits::new(db.clone(), config(Backend::Memory, &clock, "unused"));
    let local_b = GatewayLimits::new(db.clone(), config(Backend::Memory, &clock, "unused"));
    let plan = local_a.plan_for_client(&creds.client_id).await.unwrap();
    let local = count_allowed(&local_a, &plan, 20).await + count_allowed(&local_b, &plan, 20).await;
    assert_eq!(local, 20);

    // Shared: 40 concurrent requests spread over two gateways, 10 allowed in total.
    let prefix = unique_prefix();
    let a = Arc::new(GatewayLimits::new(
        db.clone(),
        config(Backend::Redis, &clock, &prefix),
    ));
    let b = Arc::new(GatewayLimits::new(
        db.clone(),
        config(Backend::Redis, &clock, &prefix),
    ));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let limits = if i % 2 == 0 { a.clone() } else { b.clone() };
        let plan = plan.clone();
        tasks.push(tokio::spawn(async move { limits.check_rate(&plan).await }));
    }
    let mut allowed = 0;
    for task in tasks {
        let outcome = task.await.unwrap();
        assert!(!outcome.degraded, "Redis must be reachable for this test");
        if outcome.allowed {
            allowed += 1;
        } else {
            assert_eq!(outcome.kind, Some(LimitKind::Throttled));
        }
    }
    assert_eq!(allowed, 10, "the burst is shared, not per gateway");
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(sa.allowed + sb.allowed, 10);
    assert_eq!(sa.throttled + sb.throttled, 30);

    // One second later one token is back, for whichever gateway asks first.
    clock.advance(Duration::from_secs(1));
    assert!(b.check_rate(&plan).await.allowed);
    assert!(!a.check_rate(&plan).await.allowed);

    // The quota is shared too: 11 counted so far.
    let month = QuotaPeriod::Month.window(clock_now_secs(&clock));
    let expected = format!(
        "\"quota\";r={};t={}",
        1000 - 11,
        secs_to_end(&clock, &month)
    );
    let remaining = header(&a.check_rate(&plan).await, "ratelimit").unwrap();
    assert!(remaining.ends_with(&expected), "{remaining}");
}

fn clock_now_secs(clock: &ManualClock) -> i64 {
    use portico_sandbox::limits::Clock as _;
    clock.now_ms().div_euclid(1000)
}

#[tokio::test]
async fn redis_counters_expire_and_survive_a_script_flush() {
    let test_db = TestDatabase::sqlite().await;
    let db = &test_db.db;
    let clock = Arc::new(ManualClock::starting_now());
    let overrides = LimitOverride {
        rate_per_second: Some(2),
        burst: Some(4),
        quota: Some(50),
        quota_period: Some(QuotaPeriod::Day),
        ..LimitOverride::default()
    };
    let (limits, plan) = limited_app(db, Backend::Redis, &clock, overrides).await;
    assert_eq!(limits.backend_name(), "redis");
    limits.ping().await.unwrap();
    assert!(limits.check_rate(&plan).await.allowed);

    let redis = limits.redis().unwrap();
    let window = day_window(&clock);
    let (bucket_key, quota_key) =
        counter_keys(limits.key_prefix(), &plan.application_id, window.id);
    let pttl = |key: String| async move {
        match redis.command(&[b"PTTL", key.as_bytes()]).await.unwrap() {
            Resp::Integer(ms) => ms,
            other => panic!("PTTL: {other:?}"),
        }
    };
    let bucket_ttl = pttl(bucket_key.clone()).await;
    assert!(
        bucket_ttl > 0 && bucket_ttl <= 3000,
        "bucket: burst/rate + 1 s, got {bucket_ttl}"
    );
    let quota_ttl = pttl(quota_key.clone()).await;
    let until_end_plus_grace = (window.end * 1000 + 3_600_000) - clock_now_secs(&clock) * 1000;
    assert!(
        quota_ttl > 0 && quota_ttl <= until_end_plus_grace + 5_000,
        "quota key expires an hour after the day ends, got {quota_ttl}"
    );
    assert_eq!(
        redis
            .command(&[b"GET", quota_key.as_bytes()])
            .await
            .unwrap(),
        Resp::Bulk(Some(b"1".to_vec()))
    );

    // After SCRIPT FLUSH, EVALSHA answers NOSCRIPT and the limiter falls back to EVAL.
    assert_eq!(
        redis.command(&[b"SCRIPT", b"FLUSH"]).await.unwrap(),
        Resp::Simple("OK".into())
    );
    let outcome = limits.check_rate(&plan).await;
    assert!(outcome.allowed && !outcome.degraded);
    assert!(
        header(&outcome, "ratelimit")
            .unwrap()
            .starts_with("\"burst\";r=2;t=0, \"quota\";r=48;")
    );
    let outcome = limits.check_rate(&plan).await;
    assert!(
        header(&outcome, "ratelimit")
            .unwrap()
            .starts_with("\"burst\";r=1;t=0, \"quota\";r=47;")
    );
    assert_eq!(limits.stats().redis_errors, 0);
}

#[tokio::test]
async fn unreachable_redis_falls_back_to_local_limits_or_fails_open_and_is_counted() {
    let test_db = TestDatabase::sqlite().await;
    let db = &test_db.db;
    let (app, creds) = create_app(db, "acme", "Shop", "standard").await;
    let overrides = LimitOverride {
        burst: Some(1),
        rate_per_second: Some(1),
        ..LimitOverride::default()
    };
    plans::set_override(db, &app.id, &overrides).await.unwrap();
    // A port nobody listens on: connection refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // A server that accepts and never answers: the timeout path.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });

    for port in [closed, silent_port] {
        let config = LimitsConfig {
            redis_url: Some(RedisUrl::parse(&format!("redis://127.0.0.1:{port}")).unwrap()),
            key_prefix: unique_prefix(),
            redis_timeout: Duration::from_millis(100),
            redis_retry_after_failure: Duration::from_secs(60),
            on_redis_failure: RedisFailurePolicy::Allow,
            ..LimitsConfig::default()
        };
        let limits = GatewayLimits::new(db.clone(), config.clone());
        let plan = limits.plan_for_client(&creds.client_id).await.unwrap();
        assert!(limits.ping().await.is_err());
        for _ in 0..5 {
            let outcome = limits.check_rate(&plan).await;
            assert!(outcome.allowed, "fail open (port {port})");
            assert!(outcome.degraded);
            assert!(header(&outcome, "ratelimit-policy").is_some());
            assert_eq!(header(&outcome, "ratelimit"), None, "no counters to report");
        }
        let stats = limits.stats();
        assert_eq!(stats.redis_errors, 1, "Redis is left alone after a failure");
        assert_eq!(stats.failed_open, 5);
        assert_eq!(stats.allowed, 5);
        assert!(!stats.redis_available);

        // The default policy: this replica's own counters while Redis is away.
        let local = GatewayLimits::new(
            db.clone(),
            LimitsConfig {
                on_redis_failure: RedisFailurePolicy::default(),
                ..config
            },
        );
        let first = local.check_rate(&plan).await;
        assert!(first.allowed && first.degraded);
        let second = local.check_rate(&plan).await;
        assert_eq!(second.kind, Some(LimitKind::Throttled), "port {port}");
        assert!(second.degraded);
    }
}

// ---------------------------------------------------------------------------------------------
// Caching bound

#[tokio::test]
async fn plan_changes_apply_within_the_cache_ttl() {
    let test_db = TestDatabase::sqlite().await;
    let db = &test_db.db;
    let (app, creds) = create_app(db, "acme", "Shop", "sandbox").await;
    let limits = GatewayLimits::new(
        db.clone(),
        LimitsConfig {
            cache_ttl: Duration::from_millis(150),
            ..LimitsConfig::in_process()
        },
    );
    assert_eq!(
        limits.plan_for_client(&creds.client_id).await.unwrap().plan,
        "sandbox"
    );
    plans::set_plan(db, &app.id, "premium").await.unwrap();
    assert_eq!(
        limits.plan_for_client(&creds.client_id).await.unwrap().plan,
        "sandbox",
        "cached"
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        limits.plan_for_client(&creds.client_id).await.unwrap().plan,
        "premium"
    );
    plans::set_plan(db, &app.id, "standard").await.unwrap();
    limits.forget_client(&creds.client_id);
    assert_eq!(
        limits.plan_for_client(&creds.client_id).await.unwrap().plan,
        "standard"
    );
    assert_eq!(
        limits.plan_for_client("pci_unknown").await,
        Err(LimitError::UnknownApplication)
    );
}
