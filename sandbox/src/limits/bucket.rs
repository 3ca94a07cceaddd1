//! The limiting algorithm, shared by both backends: a token bucket (capacity `burst`, refilled
//! continuously at `rate_per_second`) and a counter per UTC calendar quota period.
//!
//! One request: refill the bucket up to now; if the period's quota is used up → quota
//! exceeded (nothing is taken); else if less than one token is left → throttled (nothing is
//! taken); else take one token and count one request. The Redis script in
//! [`super::redis::SCRIPT`] is a line-by-line transcription of [`BucketState::take`].

use portico_core::apps::plans::PeriodWindow;

/// What one check needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketParams {
    pub rate_per_second: u64,
    pub burst: u64,
    pub quota: u64,
    pub now_ms: i64,
    pub period: PeriodWindow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Throttled,
    QuotaExceeded,
}

/// The result of one check: the verdict, the tokens left (×1000, rounded down) and the requests
/// counted in the current period (including this one when allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    pub verdict: Verdict,
    pub milli_tokens: u64,
    pub used: u64,
}

/// One application's counters in the in-process backend.
#[derive(Clone, Debug)]
pub struct BucketState {
    tokens: f64,
    ts_ms: i64,
    period_id: i64,
    used: u64,
}

impl BucketState {
    /// A full bucket and an untouched quota.
    pub fn new(params: &BucketParams) -> Self {
        Self {
            tokens: params.burst as f64,
            ts_ms: params.now_ms,
            period_id: params.period.id,
            used: 0,
        }
    }

    pub fn take(&mut self, p: &BucketParams) -> Counted {
        let burst = p.burst as f64;
        if p.now_ms > self.ts_ms {
            self.tokens += (p.now_ms - self.ts_ms) as f64 * p.rate_per_second as f64 / 1000.0;
            self.ts_ms = p.now_ms;
        }
        if self.tokens > burst {
            self.tokens = burst;
        }
        if self.period_id != p.period.id {
            self.period_id = p.period.id;
            self.used = 0;
        }
        let verdict = if self.used >= p.quota {
            Verdict::QuotaExceeded
        } else if self.tokens < 1.0 {
            Verdict::Throttled
        } else {
            self.tokens -= 1.0;
            self.used += 1;
            Verdict::Allowed
        };
        Counted {
            verdict,
            milli_tokens: (self.tokens * 1000.0).floor().max(0.0) as u64,
            used: self.used,
        }
    }
}

/// Whole seconds until at least one token is back (0 while one is available).
pub fn burst_reset_secs(milli_tokens: u64, rate_per_second: u64) -> u64 {
    if milli_tokens >= 1000 {
        return 0;
    }
    let ms = (1000 - milli_tokens).div_ceil(rate_per_second.max(1));
    ms.div_ceil(1000).max(1)
}

/// Whole seconds until the quota period ends (at least 1).
pub fn quota_reset_secs(now_ms: i64, period: &PeriodWindow) -> u64 {
    let ms = period.end.saturating_mul(1000).saturating_sub(now_ms);
    u64::try_from(ms).unwrap_or(0).div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_core::apps::plans::QuotaPeriod;

    fn params(now_ms: i64, rate: u64, burst: u64, quota: u64) -> BucketParams {
        BucketParams {
            rate_per_second: rate,
            burst,
            quota,
            now_ms,
            period: QuotaPeriod::Day.window(now_ms / 1000),
        }
    }

    #[test]
    fn burst_then_throttle_then_refill() {
        let t0 = 1_795_612_455_000;
        let p = params(t0, 2, 3, 1000);
        let mut state = BucketState::new(&p);
        for left in [2000, 1000, 0] {
            let c = state.take(&p);
            assert_eq!(c.verdict, Verdict::Allowed);
            assert_eq!(c.milli_tokens, left);
        }
        let c = state.take(&p);
        assert_eq!(c.verdict, Verdict::Throttled);
        assert_eq!(c.used, 3, "a throttled request is not counted");
        assert_eq!(burst_reset_secs(c.milli_tokens, 2), 1);
        // 2 tokens/s: after 499 ms still empty, after 500 ms one token.
        let c = state.take(&params(t0 + 499, 2, 3, 1000));
        assert_eq!(c.verdict, Verdict::Throttled);
        assert_eq!(c.milli_tokens, 998);
        let c = state.take(&params(t0 + 500, 2, 3, 1000));
        assert_eq!(c.verdict, Verdict::Allowed);
        // A long pause refills to the burst, never beyond.
        let c = state.take(&params(t0 + 60_000, 2, 3, 1000));
        assert_eq!(c.milli_tokens, 2000);
    }

    #[test]
    fn quota_is_checked_first_and_resets_with_the_period() {
        let t0 = 1_795_612_455_000;
        let p = params(t0, 100, 100, 2);
        let mut state = BucketState::new(&p);
        assert_eq!(state.take(&p).verdict, Verdict::Allowed);
        assert_eq!(state.take(&p).used, 2);
        let c = state.take(&p);
        assert_eq!(c.verdict, Verdict::QuotaExceeded);
        assert_eq!(c.milli_tokens, 98_000, "a refused request takes no token");
        let next_day = p.period.end * 1000;
        let c = state.take(&params(next_day, 100, 100, 2));
        assert_eq!(c.verdict, Verdict::Allowed);
        assert_eq!(c.used, 1);
    }

    #[test]
    fn reset_times_round_up() {
        assert_eq!(burst_reset_secs(5000, 1), 0);
        assert_eq!(burst_reset_secs(0, 1), 1);
        assert_eq!(burst_reset_secs(0, 1000), 1);
        // 0.1 tokens/s is not expressible; rate 1 with no token left waits 1 s.
        assert_eq!(burst_reset_secs(500, 1), 1);
        let window = PeriodWindow {
            id: 1,
            start: 0,
            end: 100,
        };
        assert_eq!(quota_reset_secs(1, &window), 100);
        assert_eq!(quota_reset_secs(99_000, &window), 1);
        assert_eq!(quota_reset_secs(99_999, &window), 1);
        assert_eq!(quota_reset_secs(100_000, &window), 1);
    }

    mod properties {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// A day's start: every generated sequence (at most ~15 minutes) stays in one day.
        const T0: i64 = 1_795_564_800_000;

        proptest! {
            /// The bucket never admits more than `burst + rate × t` requests in any span of
            /// `t` seconds, whatever the timing of the requests.
            #[test]
            fn never_admits_more_than_burst_plus_rate_times_elapsed(
                rate in 1_u64..50,
                burst in 1_u64..60,
                gaps in vec(0_i64..2_000, 1..300),
            ) {
                let mut state = BucketState::new(&params(T0, rate, burst, u64::MAX / 2));
                let mut now = T0;
                let mut admitted: Vec<i64> = Vec::new();
                for gap in gaps {
                    now += gap;
                    if state.take(&params(now, rate, burst, u64::MAX / 2)).verdict == Verdict::Allowed {
                        admitted.push(now);
                    }
                }
                // Every window [admitted[i], admitted[j]]: j - i + 1 requests in that span.
                for i in 0..admitted.len() {
                    for j in i..admitted.len() {
                        let span_ms = admitted[j] - admitted[i];
                        let bound = burst as f64 + rate as f64 * span_ms as f64 / 1000.0;
                        prop_assert!(
                            (j - i + 1) as f64 <= bound + 1e-9,
                            "{} requests in {span_ms} ms (rate {rate}, burst {burst})", j - i + 1
                        );
                    }
                }
            }

            /// Nor more than the quota in a period; and a refused request takes nothing.
            #[test]
            fn never_admits_more_than_the_quota_and_refusals_are_free(
                quota in 1_u64..40,
                gaps in vec(0_i64..500, 1..200),
            ) {
                let mut state = BucketState::new(&params(T0, 1_000, 1_000, quota));
                let mut now = T0;
                let mut admitted = 0_u64;
                for gap in gaps {
                    now += gap;
                    let counted = state.take(&params(now, 1_000, 1_000, quota));
                    if counted.verdict == Verdict::Allowed {
                        admitted += 1;
                    }
                    prop_assert_eq!(counted.used, admitted, "only admitted requests count");
                    prop_assert!(admitted <= quota);
                }
            }

            /// Liveness: after a pause long enough for one token, the next request is admitted.
            #[test]
            fn a_pause_of_one_token_always_lets_the_next_request_in(
                rate in 1_u64..50,
                burst in 1_u64..20,
                hammering in 1_usize..100,
            ) {
                let mut state = BucketState::new(&params(T0, rate, burst, u64::MAX / 2));
                for _ in 0..hammering {
                    state.take(&params(T0, rate, burst, u64::MAX / 2));
                }
                let later = T0 + i64::try_from(1000_u64.div_ceil(rate)).unwrap_or(1000);
                prop_assert_eq!(state.take(&params(later, rate, burst, u64::MAX / 2)).verdict, Verdict::Allowed);
            }
        }
    }
}
