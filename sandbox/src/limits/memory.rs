//! In-process counters: a sharded `Mutex<HashMap>` keyed by application id, so concurrent
//! requests of different applications rarely contend. One small entry per application that
//! called this process; entries are reused across periods and never need expiring (the number
//! of applications bounds the map).

use super::bucket::{BucketParams, BucketState, Counted};
use portico_core::cache::FastHash;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};

const SHARDS: usize = 32;

#[derive(Debug)]
pub struct MemoryCounters {
    shards: Vec<Mutex<HashMap<String, BucketState, FastHash>>>,
    hasher: FastHash,
}

impl Default for MemoryCounters {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCounters {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::default()))
                .collect(),
            hasher: FastHash::default(),
        }
    }

    /// One request of application `key` against `params`.
    pub fn take(&self, key: &str, params: &BucketParams) -> Counted {
        let index = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        let Some(shard) = self.shards.get(index) else {
            // Unreachable (index < SHARDS); a full bucket is the harmless answer.
            return BucketState::new(params).take(params);
        };
        // A poisoned lock only means a panic elsewhere mid-update; the counters stay usable.
        let mut map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = map.get_mut(key) {
            return state.take(params);
        }
        let mut state = BucketState::new(params);
        let counted = state.take(params);
        map.insert(key.to_owned(), state);
        counted
    }

    /// Forgets every counter (tests, or an admin "reset usage").
    pub fn clear(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::bucket::Verdict;
    use portico_core::apps::plans::QuotaPeriod;

    #[test]
    fn applications_have_separate_counters() {
        let counters = MemoryCounters::new();
        let now_ms = 1_795_612_455_000;
        let params = BucketParams {
            rate_per_second: 1,
            burst: 1,
            quota: 100,
            now_ms,
            period: QuotaPeriod::Day.window(now_ms / 1000),
        };
        assert_eq!(counters.take("a", &params).verdict, Verdict::Allowed);
        assert_eq!(counters.take("a", &params).verdict, Verdict::Throttled);
        assert_eq!(counters.take("b", &params).verdict, Verdict::Allowed);
        counters.clear();
        assert_eq!(counters.take("a", &params).verdict, Verdict::Allowed);
    }
}
