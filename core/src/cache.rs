//! A small bounded cache with a time-to-live, for hot-path lookups (verified tokens, client
//! credentials). When full it first drops expired entries, then, if still full, empties itself:
//! an occasional cold refill is cheaper and simpler than LRU bookkeeping on every hit.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// The caches' hasher. Keys are verified tokens, key digests and stored ids (an attacker
/// cannot choose many of them), and the seed is random per process.
pub type FastHash = foldhash::fast::RandomState;

/// Read-mostly: lookups share a read lock, so the gateway's worker threads do not queue on
/// each other for cache hits.
pub struct TtlCache<K, V> {
    entries: RwLock<HashMap<K, (V, Instant), FastHash>>,
    capacity: usize,
    ttl: Duration,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::with_capacity_and_hasher(
                capacity.min(1024),
                FastHash::default(),
            )),
            capacity: capacity.max(1),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value if present and younger than the TTL.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.read();
        entries
            .get(key)
            .filter(|(_, stored)| stored.elapsed() < self.ttl)
            .map(|(value, _)| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        let mut entries = self.write();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let ttl = self.ttl;
            entries.retain(|_, (_, stored)| stored.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, Instant::now()));
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.write().remove(key);
    }

    pub fn clear(&self) {
        self.write().clear();
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A poisoned lock means a panic mid-insert elsewhere; the map itself is still sound.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<K, (V, Instant), FastHash>> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<K, (V, Instant), FastHash>> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = TtlCache::new(10, Duration::from_millis(20));
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), Some(1));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(cache.get(&"a"), None);
    }

    #[test]
    fn size_never_exceeds_capacity() {
        let cache = TtlCache::new(3, Duration::from_secs(60));
        for i in 0..10 {
            cache.insert(i, i);
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.get(&9), Some(9), "the newest entry survives");
    }
}
