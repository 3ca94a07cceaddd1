//! Gateway steps 4-6: the API key, the IP allowlist and the usage plan (token bucket + period
//! quota) of the application behind a verified access token.
//!
//! The pipeline calls, per request, after the token has been verified:
//!
//! ```text
//! let plan = limits.plan_for_client(&claims.client_id).await?;          // cached 5 s
//! limits.check_api_key(GatewayLimits::api_key_header(&headers)?, &plan).await?;  // 403
//! limits.check_ip(client_ip(peer, &headers, &trusted_proxies), &plan)?;          // 403
//! let outcome = limits.check_rate(&plan).await;                         // 429 or go on
//! // …and `outcome.headers.apply(response.headers_mut())` on the final response.
//! ```
//!
//! Effective plans (by client id) and API-key lookups (by key hash) are cached for
//! [`LimitsConfig::cache_ttl`] (5 s by default): the bound on how long a plan change, an
//! override, an allowlist change or an API-key revocation takes to apply on a replica that
//! missed its announcement; announced changes ([`portico_core::changes`]) empty the caches at
//! once ([`GatewayLimits::clear_caches`]).
//!
//! Counters live in this process ([`memory`]) unless a Redis URL is configured; then every
//! replica shares them through [`redis`] (one atomic Lua script per request). If Redis cannot
//! be reached the limiter falls back to **this process's own counters** (per-replica limits,
//! [`RedisFailurePolicy::LocalLimits`], the default): one warning is logged per outage,
//! [`LimitStats::redis_errors`] / [`LimitStats::failed_open`] count it and
//! [`LimitStats::redis_available`] turns false; after a failure Redis is left alone for
//! [`LimitsConfig::redis_retry_after_failure`] (1 s) so requests do not queue on a dead server,
//! and the first success after an outage is logged. [`RedisFailurePolicy::Allow`] instead fails
//! open (the request is allowed and the response carries only `RateLimit-Policy`).

pub mod bucket;
pub mod clock;
pub mod headers;
pub mod memory;
pub mod redis;

pub use clock::{Clock, ManualClock, SystemClock};
pub use headers::RateLimitHeaders;
pub use portico_core::apps::plans::{ApiKeyOwner, ApiKeyRequirement, EffectivePlan};
pub use redis::RedisUrl;

use crate::error::{ErrorKind, GatewayError};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bucket::{BucketParams, Counted, Verdict};
use memory::MemoryCounters;
use portico_core::apps::plans;
use portico_core::cache::TtlCache;
use portico_core::clock::UnixTime;
use portico_core::request_id::RequestId;
use portico_core::secret::PlainSecret;
use portico_core::{CoreResult, Database};
use redis::RedisPool;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long effective plans and API-key lookups are reused.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5);
/// Prefix of every Redis key the limiter writes.
pub const DEFAULT_KEY_PREFIX: &str = "portico:rl:";
/// Longest `x-api-key` value looked up (longer ones are refused without a query).
const MAX_API_KEY_LEN: usize = 256;
static X_API_KEY: axum::http::HeaderName = axum::http::HeaderName::from_static("x-api-key");

/// What to do when the shared counters (Redis) cannot be reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedisFailurePolicy {
    /// Fail open: allow the request (logged and counted).
    Allow,
    /// Judge the request by this process's own counters (per-replica limits). The default.
    #[default]
    LocalLimits,
}

#[derive(Clone, Debug)]
pub struct LimitsConfig {
    /// `None`: in-process counters. `Some`: counters shared through Redis.
    pub redis_url: Option<RedisUrl>,
    /// Prefix of the Redis keys (one deployment per prefix; tests use a unique one).
    pub key_prefix: String,
    pub cache_ttl: Duration,
    pub cache_capacity: usize,
    /// Redis connections in use at once, at most.
    pub redis_pool_size: usize,
    /// Budget of one Redis check (waiting for a connection + connect + round trip).
    pub redis_timeout: Duration,
    /// After a Redis failure, requests skip Redis (and follow `on_redis_failure`) this long.
    pub redis_retry_after_failure: Duration,
    pub on_redis_failure: RedisFailurePolicy,
    pub clock: Arc<dyn Clock>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            cache_ttl: DEFAULT_CACHE_TTL,
            cache_capacity: 10_000,
            redis_pool_size: 16,
            redis_timeout: Duration::from_millis(250),
            redis_retry_after_failure: Duration::from_secs(1),
            on_redis_failure: RedisFailurePolicy::LocalLimits,
            clock: Arc::new(SystemClock),
        }
    }
}

impl LimitsConfig {
    /// In-process counters, default settings.
    pub fn in_process() -> Self {
        Self::default()
    }

    /// Default settings with the value of `REDIS_URL` (`None` or blank = in-process). The
    /// error names what is wrong with the URL (never its password).
    pub fn with_redis_url(redis_url: Option<&str>) -> Result<Self, String> {
        let redis_url = match redis_url.map(str::trim) {
            None | Some("") => None,
            Some(url) => Some(RedisUrl::parse(url)?),
        };
        Ok(Self {
            redis_url,
            ..Self::default()
        })
    }
}

/// Why steps 4-5 (or the plan lookup) refused a request. Messages are safe for the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("This application's usage plan requires an x-api-key header.")]
    MissingApiKey,
    /// Unknown, revoked, malformed, or another application's key: one message for all, so a
    /// caller cannot probe which keys exist; `reason` is for the log.
    #[error("The x-api-key is not valid for this application.")]
    InvalidApiKey { reason: &'static str },
    #[error("Calls from {0} are not allowed for this application.")]
    IpNotAllowed(IpAddr),
    #[error("The application of this token no longer exists.")]
    UnknownApplication,
    #[error("Usage limits cannot be checked right now; retry shortly.")]
    Unavailable,
}

impl LimitError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            LimitError::MissingApiKey
            | LimitError::InvalidApiKey { .. }
            | LimitError::IpNotAllowed(_)
            | LimitError::UnknownApplication => ErrorKind::Forbidden,
            LimitError::Unavailable => ErrorKind::ServiceUnavailable,
        }
    }

    /// The pipeline step, for logs, metrics and the request log.
    pub fn step(&self) -> &'static str {
        match self {
            LimitError::MissingApiKey | LimitError::InvalidApiKey { .. } => "api_key",
            LimitError::IpNotAllowed(_) => "ip_allowlist",
            LimitError::UnknownApplication | LimitError::Unavailable => "usage_plan",
        }
    }

    /// The Smithy-shaped error (`ForbiddenException` / `ServiceUnavailableException`).
    pub fn into_gateway_error(self, request_id: Option<RequestId>) -> GatewayError {
        GatewayError::new(self.kind(), self.to_string()).with_request_id(request_id)
    }
}

/// Which limit refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    /// Token bucket empty → 429 `ThrottlingException`.
    Throttled,
    /// Period quota used up → 429 `LimitExceededException`.
    QuotaExceeded,
}

impl LimitKind {
    pub fn error_kind(self) -> ErrorKind {
        match self {
            LimitKind::Throttled => ErrorKind::Throttling,
            LimitKind::QuotaExceeded => ErrorKind::LimitExceeded,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            LimitKind::Throttled => {
                "Rate exceeded: too many requests in a short time. Retry after the Retry-After delay."
            }
            LimitKind::QuotaExceeded => {
                "Quota exceeded for this usage plan's period. Retry after the Retry-After delay or ask for a larger plan."
            }
        }
    }
}

/// The usage-plan verdict for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitOutcome {
    pub allowed: bool,
    /// Set when refused.
    pub kind: Option<LimitKind>,
    /// Set when refused: seconds until the refusing limit lets a request through.
    pub retry_after_secs: Option<u64>,
    /// `RateLimit-Policy`, `RateLimit` and (when refused) `Retry-After`: for every response.
    pub headers: RateLimitHeaders,
    /// The shared counters were unreachable and the failure policy decided.
    pub degraded: bool,
}

impl LimitOutcome {
    pub fn apply_headers(&self, headers: &mut HeaderMap) {
        self.headers.apply(headers);
    }

    /// For a refused request: the 429 response (Smithy body + rate-limit headers).
    pub fn rejection(&self, request_id: Option<RequestId>) -> Option<Response> {
        let kind = self.kind.filter(|_| !self.allowed)?;
        let mut response = GatewayError::new(kind.error_kind(), kind.message())
            .with_request_id(request_id)
            .into_response();
        self.apply_headers(response.headers_mut());
        Some(response)
    }
}

/// Counters for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitStats {
    pub allowed: u64,
    pub throttled: u64,
    pub quota_exceeded: u64,
    /// Redis calls that failed (connect, I/O, timeout, protocol, server error).
    pub redis_errors: u64,
    /// Requests decided by the failure policy instead of the shared counters.
    pub failed_open: u64,
    /// False from a failed Redis call until the next successful one.
    pub redis_available: bool,
}

#[derive(Debug, Default)]
struct Stats {
    allowed: AtomicU64,
    throttled: AtomicU64,
    quota_exceeded: AtomicU64,
    redis_errors: AtomicU64,
    failed_open: AtomicU64,
}

enum Counters {
    Memory(MemoryCounters),
    Redis {
        pool: RedisPool,
        /// Used only under [`RedisFailurePolicy::LocalLimits`] while Redis is away.
        local: MemoryCounters,
    },
}

/// Steps 4-6 of the gateway pipeline for one process. Cheap to share behind an `Arc`.
pub struct GatewayLimits {
    db: Database,
    clock: Arc<dyn Clock>,
    plans: TtlCache<String, Arc<EffectivePlan>>,
    api_keys: TtlCache<[u8; 32], Option<Arc<ApiKeyOwner>>>,
    /// API key id → last use (unix s), written in batches by `flush_api_key_uses`.
    pending_key_uses: Mutex<HashMap<String, UnixTime>>,
    counters: Counters,
    key_prefix: String,
    on_redis_failure: RedisFailurePolicy,
    retry_after_failure_ms: u64,
    started: Instant,
    /// Milliseconds since `started` until which Redis is skipped.
    redis_down_until: AtomicU64,
    /// Set by a failed Redis call, cleared by the next success: one log line each way.
    redis_down: std::sync::atomic::AtomicBool,
    stats: Stats,
}

impl std::fmt::Debug for GatewayLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayLimits")
            .field("backend", &self.backend_name())
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl GatewayLimits {
    /// No I/O: Redis connections are opened on first use.
    pub fn new(db: Database, config: LimitsConfig) -> Self {
        let counters = match config.redis_url {
            Some(url) => Counters::Redis {
                pool: RedisPool::new(url, config.redis_pool_size, config.redis_timeout),
                local: MemoryCounters::new(),
            },
            None => Counters::Memory(MemoryCounters::new()),
        };
        Self {
            db,
            clock: config.clock,
            plans: TtlCache::new(config.cache_capacity, config.cache_ttl),
            api_keys: TtlCache::new(config.cache_capacity, config.cache_ttl),
            pending_key_uses: Mutex::new(HashMap::new()),
            counters,
            key_prefix: config.key_prefix,
            on_redis_failure: config.on_redis_failure,
            retry_after_failure_ms: u64::try_from(config.redis_retry_after_failure.as_millis())
                .unwrap_or(u64::MAX),
            started: Instant::now(),
            redis_down_until: AtomicU64::new(0),
            redis_down: std::sync::atomic::AtomicBool::new(false),
            stats: Stats::default(),
        }
    }

    /// `"redis"` or `"memory"`.
    pub fn backend_name(&self) -> &'static str {
        match self.counters {
            Counters::Memory(_) => "memory",
            Counters::Redis { .. } => "redis",
        }
    }

    /// Step 4-6 input: the effective plan of the token's application (cached).
    pub async fn plan_for_client(&self, client_id: &str) -> Result<Arc<EffectivePlan>, LimitError> {
        if let Some(plan) = self.plans.get(client_id) {
            return Ok(plan);
        }
        let key = client_id.to_owned();
        // Boxed, here and for the other storage and Redis calls: cache misses only, and their
        // large futures would otherwise be part of every gateway request's future.
        match Box::pin(plans::effective_plan_for_client(&self.db, client_id)).await {
            Ok(Some(plan)) => {
                let plan = Arc::new(plan);
                self.plans.insert(key, plan.clone());
                Ok(plan)
            }
            Ok(None) => Err(LimitError::UnknownApplication),
            Err(e) => {
                tracing::error!(error = %e, "loading the usage plan failed");
                Err(LimitError::Unavailable)
            }
        }
    }

    /// Drops cached data of `client_id` here (after an admin change made by this process).
    pub fn forget_client(&self, client_id: &str) {
        self.plans.remove(client_id);
    }

    /// Drops every cached plan and API-key lookup.
    pub fn clear_caches(&self) {
        self.plans.clear();
        self.api_keys.clear();
    }

    /// The `x-api-key` of a request: `Ok(None)` when absent; refused when sent twice or not
    /// visible ASCII.
    pub fn api_key_header(headers: &HeaderMap) -> Result<Option<&str>, LimitError> {
        let mut values = headers.get_all(&X_API_KEY).iter();
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(LimitError::InvalidApiKey {
                reason: "several x-api-key headers",
            });
        }
        first
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| LimitError::InvalidApiKey {
                reason: "x-api-key is not visible ASCII",
            })
    }

    /// Step 4. A presented key must exist, not be revoked and belong to the token's
    /// application (`plan.application_id`); a missing key is refused only when the plan
    /// requires one.
    pub async fn check_api_key(
        &self,
        presented: Option<&str>,
        plan: &EffectivePlan,
    ) -> Result<(), LimitError> {
        let Some(presented) = presented else {
            return match plan.api_key {
                ApiKeyRequirement::Required => Err(LimitError::MissingApiKey),
                ApiKeyRequirement::Optional => Ok(()),
            };
        };
        if presented.is_empty() || presented.len() > MAX_API_KEY_LEN {
            return Err(LimitError::InvalidApiKey {
                reason: "empty or oversized x-api-key",
            });
        }
        // Cache by the key's SHA-256 (what storage holds too): the clear text is never kept.
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let owner = match self.api_keys.get(&digest) {
            Some(owner) => owner,
            None => {
                let secret = PlainSecret::from_presented(presented);
                let found = Box::pin(plans::find_api_key(&self.db, &secret.hash()))
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "API key lookup failed");
                        LimitError::Unavailable
                    })?
                    // The lookup was by hash; re-check in constant time all the same.
                    .filter(|owner| owner.key_hash.verify(&secret))
                    .map(Arc::new);
                self.api_keys.insert(digest, found.clone());
                found
            }
        };
        let Some(owner) = owner else {
            return Err(LimitError::InvalidApiKey {
                reason: "unknown or revoked API key",
            });
        };
        if owner.application_id != plan.application_id {
            return Err(LimitError::InvalidApiKey {
                reason: "API key of another application",
            });
        }
        self.note_key_use(&owner.key_id);
        Ok(())
    }

    fn note_key_use(&self, key_id: &str) {
        let now = self.clock.now_ms().div_euclid(1000);
        let mut pending = self
            .pending_key_uses
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = pending.get_mut(key_id) {
            *at = now;
        } else {
            pending.insert(key_id.to_owned(), now);
        }
    }

    /// Writes the coalesced API-key `last_used_at` stamps. Call it from a periodic job (every
    /// few seconds) and at shutdown.
    pub async fn flush_api_key_uses(&self) -> CoreResult<()> {
        let uses: Vec<(String, UnixTime)> = self
            .pending_key_uses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .collect();
        portico_core::apps::applications::record_last_use(
            &self.db,
            portico_core::apps::applications::Credential::ApiKey,
            &uses,
        )
        .await
    }

    /// Step 5. `client_ip` comes from [`crate::client_ip::client_ip`].
    pub fn check_ip(&self, client_ip: IpAddr, plan: &EffectivePlan) -> Result<(), LimitError> {
        if plan.allows_ip(client_ip) {
            Ok(())
        } else {
            Err(LimitError::IpNotAllowed(client_ip.to_canonical()))
        }
    }

    /// Step 6: one request against the application's token bucket and period quota. Never
    /// fails: when the shared counters are unreachable the failure policy decides.
    pub async fn check_rate(&self, plan: &EffectivePlan) -> LimitOutcome {
        let now_ms = self.clock.now_ms();
        let params = BucketParams {
            rate_per_second: plan.rate_per_second.max(1),
            burst: plan.burst.max(1),
            quota: plan.quota,
            now_ms,
            period: plan.quota_period.window(now_ms.div_euclid(1000)),
        };
        let (counted, degraded) = match &self.counters {
            Counters::Memory(counters) => {
                (Some(counters.take(&plan.application_id, &params)), false)
            }
            Counters::Redis { pool, local } => {
                match Box::pin(self.take_shared(pool, plan, &params)).await {
                    Some(counted) => (Some(counted), false),
                    None => {
                        self.stats.failed_open.fetch_add(1, Ordering::Relaxed);
                        match self.on_redis_failure {
                            RedisFailurePolicy::Allow => (None, true),
                            RedisFailurePolicy::LocalLimits => {
                                (Some(local.take(&plan.application_id, &params)), true)
                            }
                        }
                    }
                }
            }
        };
        let outcome = outcome(plan, &params, counted, degraded);
        let counter = match outcome.kind {
            None => &self.stats.allowed,
            Some(LimitKind::Throttled) => &self.stats.throttled,
            Some(LimitKind::QuotaExceeded) => &self.stats.quota_exceeded,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        outcome
    }

    async fn take_shared(
        &self,
        pool: &RedisPool,
        plan: &EffectivePlan,
        params: &BucketParams,
    ) -> Option<Counted> {
        let elapsed = self.elapsed_ms();
        if elapsed < self.redis_down_until.load(Ordering::Relaxed) {
            return None;
        }
        let (bucket_key, quota_key) =
            redis::counter_keys(&self.key_prefix, &plan.application_id, params.period.id);
        match pool.take(&bucket_key, &quota_key, params).await {
            Ok(counted) => {
                if self.redis_down.load(Ordering::Relaxed)
                    && self.redis_down.swap(false, Ordering::Relaxed)
                {
                    tracing::warn!(redis = %pool.url(), "shared rate-limit counters answer again");
                }
                Some(counted)
            }
            Err(e) => {
                self.stats.redis_errors.fetch_add(1, Ordering::Relaxed);
                let now = self.elapsed_ms();
                self.redis_down_until.store(
                    now.saturating_add(self.retry_after_failure_ms),
                    Ordering::Relaxed,
                );
                if !self.redis_down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        redis = %pool.url(),
                        error = %e,
                        policy = ?self.on_redis_failure,
                        "shared rate-limit counters unavailable; {} until Redis answers again",
                        match self.on_redis_failure {
                            RedisFailurePolicy::Allow => "failing open",
                            RedisFailurePolicy::LocalLimits => "limiting with this process's own counters",
                        }
                    );
                }
                None
            }
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Readiness of the counters: always fine in-process; a `PING` with Redis.
    pub async fn ping(&self) -> Result<(), String> {
        match &self.counters {
            Counters::Memory(_) => Ok(()),
            Counters::Redis { pool, .. } => pool.ping().await.map_err(|e| e.to_string()),
        }
    }

    /// The Redis pool, when configured (tests and diagnostics).
    pub fn redis(&self) -> Option<&RedisPool> {
        match &self.counters {
            Counters::Memory(_) => None,
            Counters::Redis { pool, .. } => Some(pool),
        }
    }

    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    pub fn stats(&self) -> LimitStats {
        LimitStats {
            allowed: self.stats.allowed.load(Ordering::Relaxed),
            throttled: self.stats.throttled.load(Ordering::Relaxed),
            quota_exceeded: self.stats.quota_exceeded.load(Ordering::Relaxed),
            redis_errors: self.stats.redis_errors.load(Ordering::Relaxed),
            failed_open: self.stats.failed_open.load(Ordering::Relaxed),
            redis_available: !self.redis_down.load(Ordering::Relaxed),
        }
    }
}

fn outcome(
    plan: &EffectivePlan,
    params: &BucketParams,
    counted: Option<Counted>,
    degraded: bool,
) -> LimitOutcome {
    let Some(counted) = counted else {
        return LimitOutcome {
            allowed: true,
            kind: None,
            retry_after_secs: None,
            headers: RateLimitHeaders::policy_only(plan),
            degraded,
        };
    };
    let burst_reset = bucket::burst_reset_secs(counted.milli_tokens, params.rate_per_second);
    let quota_reset = bucket::quota_reset_secs(params.now_ms, &params.period);
    let (kind, retry_after_secs) = match counted.verdict {
        Verdict::Allowed => (None, None),
        Verdict::Throttled => (Some(LimitKind::Throttled), Some(burst_reset.max(1))),
        Verdict::QuotaExceeded => (Some(LimitKind::QuotaExceeded), Some(quota_reset)),
    };
    LimitOutcome {
        allowed: kind.is_none(),
        kind,
        retry_after_secs,
        headers: RateLimitHeaders {
            policy: headers::policy_header(plan),
            limit: headers::limit_header(
                counted.milli_tokens / 1000,
                burst_reset,
                params.quota.saturating_sub(counted.used),
                quota_reset,
            ),
            retry_after: retry_after_secs,
        },
        degraded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Axum handlers (and `tokio::spawn`) need `Send` futures: keep every entry point so.
    #[expect(dead_code, reason = "compile-time check only")]
    fn futures_are_send(limits: &GatewayLimits, plan: &EffectivePlan) {
        fn send<T: Send>(_: T) {}
        send(limits.plan_for_client("pci"));
        send(limits.check_api_key(Some("pak"), plan));
        send(limits.check_rate(plan));
        send(limits.flush_api_key_uses());
        send(limits.ping());
    }

    #[test]
    fn limit_errors_map_to_gateway_errors() {
        assert_eq!(LimitError::MissingApiKey.kind(), ErrorKind::Forbidden);
        assert_eq!(LimitError::MissingApiKey.step(), "api_key");
        assert_eq!(
            LimitError::IpNotAllowed(IpAddr::from([192, 0, 2, 1])).to_string(),
            "Calls from 192.0.2.1 are not allowed for this application."
        );
        assert_eq!(
            LimitError::Unavailable.kind(),
            ErrorKind::ServiceUnavailable
        );
        assert_eq!(LimitKind::Throttled.error_kind(), ErrorKind::Throttling);
        assert_eq!(
            LimitKind::QuotaExceeded.error_kind(),
            ErrorKind::LimitExceeded
        );
        let error = LimitError::InvalidApiKey {
            reason: "secret-reason",
        }
        .into_gateway_error(None);
        assert_eq!(error.kind, ErrorKind::Forbidden);
        assert!(
            !error.message.contains("secret-reason"),
            "the reason stays in the log"
        );
    }
}
