//! The decision cache: a bounded map with a time-to-live, split into shards so that concurrent
//! requests rarely wait on the same lock.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

use crate::cache::FastHash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{AuthzRequest, Decision, Principal, Resource};

/// At most this many shards (each a `Mutex<HashMap>`)...
const MAX_SHARDS: usize = 16;
/// ...and no fewer than this many entries per shard, so a small cache is one shard and its
/// eviction is not chopped into tiny pieces.
const MIN_SHARD_CAPACITY: usize = 64;

/// Everything that can change a decision, owned and normalized: scopes and groups are sets in
/// Cedar, so they are sorted and deduplicated (the same token's scopes in another order hit the
/// same entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct CacheKey {
    principal: Principal,
    action: String,
    resource: Resource,
}

impl CacheKey {
    pub(super) fn new(request: &AuthzRequest<'_>) -> Self {
        let principal = match request.principal {
            Principal::Application {
                client_id,
                partner_id,
                scopes,
            } => Principal::Application {
                client_id: client_id.clone(),
                partner_id: partner_id.clone(),
                scopes: normalized(scopes),
            },
            Principal::User {
                sub,
                tenant_id,
                groups,
            } => Principal::User {
                sub: sub.clone(),
                tenant_id: tenant_id.clone(),
                groups: normalized(groups),
            },
        };
        CacheKey {
            principal,
            action: request.action.to_owned(),
            resource: request.resource.clone(),
        }
    }
}

fn normalized(values: &[String]) -> Vec<String> {
    let mut values = values.to_vec();
    values.sort_unstable();
    values.dedup();
    values
}

fn is_normalized(values: &[String]) -> bool {
    values.windows(2).all(|pair| pair[0] < pair[1])
}

/// A key's fields by reference: what is hashed and compared, so that a request can be looked
/// up as it is, without an owned copy (eight allocations on every gateway call).
#[derive(PartialEq, Eq, Hash)]
struct KeyParts<'a> {
    /// `true` for an application, `false` for a user.
    application: bool,
    id: &'a str,
    tenant: &'a str,
    /// Scopes or groups, normalized.
    set: &'a [String],
    action: &'a str,
    resource: &'a Resource,
}

/// Either an owned [`CacheKey`] or a request whose sets are already normalized.
trait KeyView {
    fn parts(&self) -> KeyParts<'_>;
}

fn principal_parts(principal: &Principal) -> (bool, &str, &str, &[String]) {
    match principal {
        Principal::Application {
            client_id,
            partner_id,
            scopes,
        } => (true, client_id, partner_id, scopes),
        Principal::User {
            sub,
            tenant_id,
            groups,
        } => (false, sub, tenant_id, groups),
    }
}

impl KeyView for CacheKey {
    fn parts(&self) -> KeyParts<'_> {
        let (application, id, tenant, set) = principal_parts(&self.principal);
        KeyParts {
            application,
            id,
            tenant,
            set,
            action: &self.action,
            resource: &self.resource,
        }
    }
}

impl KeyView for AuthzRequest<'_> {
    fn parts(&self) -> KeyParts<'_> {
        let (application, id, tenant, set) = principal_parts(self.principal);
        KeyParts {
            application,
            id,
            tenant,
            set,
            action: self.action,
            resource: self.resource,
        }
    }
}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl Hash for dyn KeyView + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn KeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn KeyView + '_ {}

impl<'a> Borrow<dyn KeyView + 'a> for CacheKey {
    fn borrow(&self) -> &(dyn KeyView + 'a) {
        self
    }
}

/// What a lookup uses: the request itself when its sets are normalized (tokens' scopes are
/// sets already), else an owned, normalized copy.
pub(super) enum Lookup<'r> {
    Borrowed(&'r AuthzRequest<'r>),
    Owned(CacheKey),
}

impl<'r> Lookup<'r> {
    pub(super) fn new(request: &'r AuthzRequest<'r>) -> Self {
        let (_, _, _, set) = principal_parts(request.principal);
        if is_normalized(set) {
            Lookup::Borrowed(request)
        } else {
            Lookup::Owned(CacheKey::new(request))
        }
    }

    fn view(&self) -> &dyn KeyView {
        match self {
            Lookup::Borrowed(request) => *request,
            Lookup::Owned(key) => key,
        }
    }

    pub(super) fn into_key(self) -> CacheKey {
        match self {
            Lookup::Borrowed(request) => CacheKey::new(request),
            Lookup::Owned(key) => key,
        }
    }
}

/// Counters and size of the decision cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Decisions held now (expired ones included until they are dropped).
    pub entries: usize,
    pub capacity: usize,
}

struct Shard {
    capacity: usize,
    map: HashMap<CacheKey, (Arc<Decision>, Instant), FastHash>,
}

pub(super) struct DecisionCache {
    shards: Box<[Mutex<Shard>]>,
    hasher: FastHash,
    ttl: Duration,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl DecisionCache {
    /// A cache of at most `capacity` decisions in total (0: no caching), each kept for `ttl`.
    pub(super) fn new(capacity: usize, ttl: Duration) -> Self {
        let count = if capacity == 0 {
            0
        } else {
            (capacity / MIN_SHARD_CAPACITY).clamp(1, MAX_SHARDS)
        };
        // Spread the capacity exactly: the shards' capacities add up to `capacity`.
        let shards = (0..count)
            .map(|i| {
                let capacity = capacity / count + usize::from(i < capacity % count);
                Mutex::new(Shard {
                    capacity,
                    map: HashMap::with_capacity_and_hasher(capacity.min(1024), FastHash::default()),
                })
            })
            .collect();
        DecisionCache {
            shards,
            hasher: FastHash::default(),
            ttl,
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub(super) fn enabled(&self) -> bool {
        !self.shards.is_empty() && !self.ttl.is_zero()
    }

    fn shard(&self, key: &dyn KeyView) -> Option<MutexGuard<'_, Shard>> {
        let count = self.shards.len() as u64;
        if count == 0 {
            return None;
        }
        let index = usize::try_from(self.hasher.hash_one(key.parts()) % count).unwrap_or(0);
        // A panic while holding the lock cannot leave a half-written entry behind (inserts and
        // removals are single HashMap calls), so a poisoned shard is still usable.
        self.shards
            .get(index)
            .map(|shard| shard.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(super) fn get(&self, lookup: &Lookup<'_>) -> Option<Arc<Decision>> {
        let now = Instant::now();
        let key = lookup.view();
        let found = self.shard(key).and_then(|mut shard| {
            match shard.map.get(key) {
                Some((decision, at)) if now.duration_since(*at) < self.ttl => {
                    return Some(decision.clone());
                }
                Some(_) => {
                    shard.map.remove(key);
                }
                None => {}
            }
            None
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub(super) fn insert(&self, key: CacheKey, decision: Arc<Decision>) {
        let now = Instant::now();
        let ttl = self.ttl;
        let Some(mut shard) = self.shard(&key as &dyn KeyView) else {
            return;
        };
        if shard.map.len() >= shard.capacity && !shard.map.contains_key(&key) {
            // Full: first drop what has expired. If everything is still fresh, the working set
            // is larger than the cache and any eviction order would churn; clearing the shard
            // costs O(1) amortized per insert and needs no per-entry bookkeeping (an LRU list or
            // an O(n) scan for the oldest entry on every insert), and a decision is cheap to
            // recompute, so we clear it.
            shard.map.retain(|_, (_, at)| now.duration_since(*at) < ttl);
            if shard.map.len() >= shard.capacity {
                shard.map.clear();
            }
        }
        shard.map.insert(key, (decision, now));
    }

    pub(super) fn clear(&self) {
        for shard in &*self.shards {
            shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .map
                .clear();
        }
    }

    pub(super) fn stats(&self) -> CacheStats {
        let entries = self
            .shards
            .iter()
            .map(|shard| {
                shard
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .map
                    .len()
            })
            .sum();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
            capacity: self.capacity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ResourceType;
    use super::*;

    fn key(n: usize) -> CacheKey {
        CacheKey {
            principal: Principal::User {
                sub: format!("u{n}"),
                tenant_id: "t".into(),
                groups: vec![],
            },
            action: "commercial:GetOrder".into(),
            resource: Resource {
                kind: ResourceType::new("Order"),
                id: "o".into(),
                tenant_id: "t".into(),
                owner_sub: None,
            },
        }
    }

    fn decision() -> Arc<Decision> {
        Arc::new(Decision::new(
            true,
            "commercial:GetOrder".into(),
            vec!["p".into()],
            vec![],
        ))
    }

    #[test]
    fn shard_capacities_add_up_to_the_capacity() {
        for capacity in [1, 3, 15, 16, 17, 100, 1000, 10_000, 10_007] {
            let cache = DecisionCache::new(capacity, Duration::from_secs(60));
            let total: usize = cache
                .shards
                .iter()
                .map(|s| s.lock().map(|s| s.capacity).unwrap_or(0))
                .sum();
            assert_eq!(total, capacity);
            assert!(
                cache
                    .shards
                    .iter()
                    .all(|s| s.lock().is_ok_and(|s| s.capacity > 0))
            );
        }
    }

    #[test]
    fn full_shard_drops_expired_entries_before_fresh_ones() {
        // One shard of two entries.
        let cache = DecisionCache::new(2, Duration::from_millis(300));
        assert_eq!(cache.shards.len(), 1);
        cache.insert(key(1), decision());
        std::thread::sleep(Duration::from_millis(400));
        cache.insert(key(2), decision());
        // Full: key(1) has expired and goes, key(2) stays.
        cache.insert(key(3), decision());
        assert_eq!(cache.stats().entries, 2);
        assert!(cache.get(&Lookup::Owned(key(2))).is_some());
        assert!(cache.get(&Lookup::Owned(key(3))).is_some());
        assert!(cache.get(&Lookup::Owned(key(1))).is_none());
    }

    #[test]
    fn full_shard_of_fresh_entries_is_cleared() {
        let cache = DecisionCache::new(2, Duration::from_secs(60));
        cache.insert(key(1), decision());
        cache.insert(key(2), decision());
        cache.insert(key(3), decision());
        assert_eq!(cache.stats().entries, 1);
        assert!(cache.get(&Lookup::Owned(key(3))).is_some());
        // Re-inserting a present key when full evicts nothing.
        cache.insert(key(4), decision());
        cache.insert(key(4), decision());
        assert_eq!(cache.stats().entries, 2);
    }

    #[test]
    fn zero_capacity_disables_the_cache() {
        let cache = DecisionCache::new(0, Duration::from_secs(60));
        assert!(!cache.enabled());
        cache.insert(key(1), decision());
        assert!(cache.get(&Lookup::Owned(key(1))).is_none());
        assert_eq!(cache.stats().entries, 0);
    }
}
