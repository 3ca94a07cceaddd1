//! `RateLimit-Policy` and `RateLimit` response fields, draft-ietf-httpapi-ratelimit-headers-09
//! (RFC 8941 structured-field Lists of Items whose value is the policy name):
//!
//! ```text
//! RateLimit-Policy: "burst";q=100;w=2, "quota";q=10000;w=2592000
//! RateLimit: "burst";r=57;t=0, "quota";r=9873;t=1234567
//! ```
//!
//! * `"burst"` is the token bucket: `q` = burst (bucket capacity), `w` = seconds to refill an
//!   empty bucket (burst / rate, rounded up, at least 1); `r` = whole tokens left, `t` = seconds
//!   until at least one request is allowed again (0 while `r` > 0).
//! * `"quota"` is the calendar-period quota: `q` = requests per period, `w` = nominal period
//!   length (86400 for a day, 2592000 = 30 days for a month); `r` = requests left in the
//!   period, `t` = seconds until the UTC period ends (the real calendar end).
//! * No `qu` (the default unit, requests, applies) and no `pk` (the partition is the
//!   application named by the access token).
//!
//! Refused requests also get `Retry-After` (delay-seconds): the `t` of the policy that refused.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use portico_core::apps::plans::EffectivePlan;

pub static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// The fields to put on a response, ready to insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitHeaders {
    /// `RateLimit-Policy`: the plan's policies (always known).
    pub policy: HeaderValue,
    /// `RateLimit`: current counters; `None` when they could not be read (shared counters
    /// unreachable) or before the usage-plan step ran.
    pub limit: Option<HeaderValue>,
    /// `Retry-After` in seconds, on refused requests only.
    pub retry_after: Option<u64>,
}

impl RateLimitHeaders {
    /// Only the policy: for responses decided before the usage-plan step.
    pub fn policy_only(plan: &EffectivePlan) -> Self {
        Self {
            policy: policy_header(plan),
            limit: None,
            retry_after: None,
        }
    }

    /// Sets (replaces) the fields on `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(RATELIMIT_POLICY.clone(), self.policy.clone());
        if let Some(limit) = &self.limit {
            headers.insert(RATELIMIT.clone(), limit.clone());
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
}

/// What a `RateLimit-Policy` value depends on.
type PolicyKey = (u64, u64, u64, u64);

thread_local! {
    /// The last policy value each worker thread built: consecutive requests nearly always
    /// come under the same plan, and a clone shares the bytes instead of formatting them.
    static LAST_POLICY: std::cell::RefCell<Option<(PolicyKey, HeaderValue)>> =
        const { std::cell::RefCell::new(None) };
}

/// The `RateLimit-Policy` value of `plan`.
pub fn policy_header(plan: &EffectivePlan) -> HeaderValue {
    let key = (
        plan.burst,
        plan.rate_per_second,
        plan.quota,
        plan.quota_period.nominal_secs(),
    );
    LAST_POLICY.with_borrow_mut(|last| match last {
        Some((last_key, value)) if *last_key == key => value.clone(),
        _ => {
            // Digits, letters, quotes and punctuation only: always a valid header value.
            let value = HeaderValue::try_from(policy_value(plan))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            *last = Some((key, value.clone()));
            value
        }
    })
}

/// The `RateLimit` value for the counters after this request.
pub fn limit_header(
    burst_remaining: u64,
    burst_reset: u64,
    quota_remaining: u64,
    quota_reset: u64,
) -> Option<HeaderValue> {
    HeaderValue::try_from(limit_value(
        burst_remaining,
        burst_reset,
        quota_remaining,
        quota_reset,
    ))
    .ok()
}

/// Seconds to refill an empty bucket: `w` of the `"burst"` policy.
pub fn burst_window_secs(plan: &EffectivePlan) -> u64 {
    plan.burst.div_ceil(plan.rate_per_second.max(1)).max(1)
}

// Built by hand rather than with `format!`: these two run on every gateway response.
pub fn policy_value(plan: &EffectivePlan) -> String {
    let mut out = String::with_capacity(64);
    out.push_str("\"burst\";q=");
    push_number(&mut out, plan.burst);
    out.push_str(";w=");
    push_number(&mut out, burst_window_secs(plan));
    out.push_str(", \"quota\";q=");
    push_number(&mut out, plan.quota);
    out.push_str(";w=");
    push_number(&mut out, plan.quota_period.nominal_secs());
    out
}

pub fn limit_value(
    burst_remaining: u64,
    burst_reset: u64,
    quota_remaining: u64,
    quota_reset: u64,
) -> String {
    let mut out = String::with_capacity(64);
    out.push_str("\"burst\";r=");
    push_number(&mut out, burst_remaining);
    out.push_str(";t=");
    push_number(&mut out, burst_reset);
    out.push_str(", \"quota\";r=");
    push_number(&mut out, quota_remaining);
    out.push_str(";t=");
    push_number(&mut out, quota_reset);
    out
}

fn push_number(out: &mut String, n: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(n));
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_core::apps::plans::{ApiKeyRequirement, QuotaPeriod};

    fn plan(rate: u64, burst: u64, quota: u64, period: QuotaPeriod) -> EffectivePlan {
        EffectivePlan {
            application_id: "app".into(),
            client_id: "pci".into(),
            plan: "standard".into(),
            rate_per_second: rate,
            burst,
            quota,
            quota_period: period,
            api_key: ApiKeyRequirement::Required,
            ip_allowlist: vec![],
            overridden: false,
            provider_preferences: Default::default(),
            standing: portico_core::apps::plans::Standing::Active,
            granted_scopes: vec![],
            dpop_required: false,
        }
    }

    #[test]
    fn policy_follows_the_draft_syntax() {
        assert_eq!(
            policy_value(&plan(50, 100, 10_000, QuotaPeriod::Month)),
            "\"burst\";q=100;w=2, \"quota\";q=10000;w=2592000"
        );
        assert_eq!(
            policy_value(&plan(25, 50, 1000, QuotaPeriod::Day)),
            "\"burst\";q=50;w=2, \"quota\";q=1000;w=86400"
        );
        // Burst smaller than the rate still has a window of at least one second.
        assert_eq!(burst_window_secs(&plan(200, 10, 1, QuotaPeriod::Day)), 1);
        assert_eq!(burst_window_secs(&plan(3, 10, 1, QuotaPeriod::Day)), 4);
    }

    #[test]
    fn apply_sets_every_field() {
        let headers = RateLimitHeaders {
            policy: policy_header(&plan(50, 100, 10_000, QuotaPeriod::Month)),
            limit: limit_header(57, 0, 9873, 1_234_567),
            retry_after: Some(3),
        };
        let mut map = HeaderMap::new();
        headers.apply(&mut map);
        assert_eq!(
            map["ratelimit"],
            "\"burst\";r=57;t=0, \"quota\";r=9873;t=1234567"
        );
        assert_eq!(
            map["ratelimit-policy"],
            "\"burst\";q=100;w=2, \"quota\";q=10000;w=2592000"
        );
        assert_eq!(map["retry-after"], "3");
        let mut map = HeaderMap::new();
        RateLimitHeaders::policy_only(&plan(1, 1, 1, QuotaPeriod::Day)).apply(&mut map);
        // Not the previous plan's value, remembered by this thread.
        assert_eq!(
            map["ratelimit-policy"],
            "\"burst\";q=1;w=1, \"quota\";q=1;w=86400"
        );
        assert!(!map.contains_key("ratelimit"));
        assert!(!map.contains_key("retry-after"));
    }
}
