//! JWK sets published by others at a URL (a partner identity provider's `jwks_uri`, an
//! application's `jwks_uri` for private_key_jwt), cached by URL.
//!
//! - A set is reused for its time to live: the response's `max-age` bounded to
//!   [`RemoteJwksSettings::min_ttl`]..[`RemoteJwksSettings::max_ttl`], else
//!   [`RemoteJwksSettings::ttl`].
//! - A JWT naming a `kid` the cached set lacks (the publisher rotated) refreshes the set, at most
//!   once per [`RemoteJwksSettings::refresh_interval`] per URL: a flood of made-up kids costs
//!   the publisher one request per interval, not one per JWT.
//! - A failed fetch keeps the last good set in use for up to [`RemoteJwksSettings::max_stale`]
//!   after it was fetched (and is retried at most once per interval); past that, or with no set
//!   ever fetched, the keys are [`RemoteJwksError::Unavailable`].
//!
//! The core has no HTTP client: the server hands in a [`JwksFetcher`] (an SSRF-guarded one).

use super::jwk::{ForeignHeader, PublicJwk, select_key};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// A boxed future, as trait objects return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A fetched JWK set document.
#[derive(Clone, Debug)]
pub struct FetchedJwks {
    pub document: Value,
    /// The response's `Cache-Control: max-age`, if it had one.
    pub max_age: Option<Duration>,
}

/// Why a fetch failed. Safe to log and to show to the publisher's owner.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// Fetches a JWK set document from a URL (implemented by the server over HTTPS).
pub trait JwksFetcher: Send + Sync {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<FetchedJwks, FetchError>>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteJwksSettings {
    /// Time to live of a set whose response named no `max-age`.
    pub ttl: Duration,
    /// Bounds on a response's `max-age`.
    pub min_ttl: Duration,
    pub max_ttl: Duration,
    /// At most one refresh for an unknown kid per URL in this interval, and at most one retry
    /// per interval after a failed fetch.
    pub refresh_interval: Duration,
    /// How long after its fetch a set stays in use while the publisher cannot be reached.
    pub max_stale: Duration,
}

impl Default for RemoteJwksSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(3600),
            refresh_interval: Duration::from_secs(30),
            max_stale: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemoteJwksError {
    /// No usable set: never fetched, or the last good one is older than the stale bound.
    #[error("the identity provider's signing keys are unavailable: {0}")]
    Unavailable(String),
    /// The set (refreshed if allowed) has no key for the JWT's kid and algorithm.
    #[error("no key of the published set matches the JWT's kid and algorithm")]
    UnknownKey,
}

/// What the cache knows of one URL.
#[derive(Clone, Debug)]
struct Entry {
    /// The last good set and when it was fetched.
    good: Option<(Arc<[PublicJwk]>, Instant)>,
    /// The good set is fresh until then.
    fresh_until: Instant,
    last_attempt: Instant,
    /// The last fetch made for an unknown kid.
    last_kid_refresh: Option<Instant>,
    last_error: Option<String>,
}

/// What the portal shows about a URL's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwksStatus {
    pub key_labels: Vec<String>,
    /// Seconds since the last good fetch.
    pub age_secs: Option<u64>,
    pub last_error: Option<String>,
}

pub struct RemoteJwks {
    fetcher: Arc<dyn JwksFetcher>,
    settings: RemoteJwksSettings,
    entries: Mutex<HashMap<String, Entry>>,
    /// One fetch at a time per URL: concurrent callers wait for it and use its result.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RemoteJwks {
    pub fn new(fetcher: Arc<dyn JwksFetcher>, settings: RemoteJwksSettings) -> Self {
        Self {
            fetcher,
            settings,
            entries: Mutex::new(HashMap::new()),
            fetching: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &RemoteJwksSettings {
        &self.settings
    }

    fn entry(&self, url: &str) -> Option<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(url)
            .cloned()
    }

    /// The cached set while it is fresh, without waiting for anything.
    pub fn cached(&self, url: &str) -> Option<Arc<[PublicJwk]>> {
        let entry = self.entry(url)?;
        let (keys, _) = entry.good?;
        (Instant::now() < entry.fresh_until).then_some(keys)
    }

    /// The keys published at `url`: the cached set while fresh, else fetched (or, when the
    /// fetch fails, the last good set within the stale bound).
    pub async fn keys(&self, url: &str) -> Result<Arc<[PublicJwk]>, RemoteJwksError> {
        if let Some(keys) = self.cached(url) {
            return Ok(keys);
        }
        self.fetch_guarded(url, false).await
    }

    /// The key that may check a JWT with `header`. A kid the set lacks refreshes it once (at
    /// most once per refresh interval per URL).
    pub async fn key_for(
        &self,
        url: &str,
        header: &ForeignHeader,
    ) -> Result<PublicJwk, RemoteJwksError> {
        let keys = self.keys(url).await?;
        if let Ok(key) = select_key(&keys, header) {
            return Ok(key.clone());
        }
        let keys = self.fetch_guarded(url, true).await?;
        select_key(&keys, header)
            .cloned()
            .map_err(|_| RemoteJwksError::UnknownKey)
    }

    /// Forgets a URL's set (its registration changed or went away).
    pub fn forget(&self, url: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(url);
    }

    /// For the portal: what is known of `url`'s keys, without fetching.
    pub fn status(&self, url: &str) -> Option<JwksStatus> {
        let entry = self.entry(url)?;
        let now = Instant::now();
        Some(JwksStatus {
            key_labels: entry
                .good
                .as_ref()
                .map(|(keys, _)| keys.iter().map(PublicJwk::label).collect())
                .unwrap_or_default(),
            age_secs: entry
                .good
                .as_ref()
                .map(|(_, at)| now.saturating_duration_since(*at).as_secs()),
            last_error: entry.last_error,
        })
    }

    /// Fetches `url`, unless the rate limits say to answer with the set in hand: a failed fetch
    /// within the refresh interval, or (`for_unknown_kid`: the caller holds the cached set and
    /// wants a newer one) a refresh for an unknown kid within it. Otherwise any fresh set will
    /// do.
    async fn fetch_guarded(
        &self,
        url: &str,
        for_unknown_kid: bool,
    ) -> Result<Arc<[PublicJwk]>, RemoteJwksError> {
        let lock = self
            .fetching
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(url.to_owned())
            .or_default()
            .clone();
        let _one_at_a_time = lock.lock().await;
        let now = Instant::now();
        let before = self.entry(url);
        let within =
            |at: Instant| now.saturating_duration_since(at) < self.settings.refresh_interval;
        if let Some(entry) = &before {
            // Someone fetched while this caller waited.
            if !for_unknown_kid
                && now < entry.fresh_until
                && let Some((keys, _)) = &entry.good
            {
                return Ok(keys.clone());
            }
            let failed_recently = entry.last_error.is_some() && within(entry.last_attempt);
            let kid_refreshed_recently =
                for_unknown_kid && entry.last_kid_refresh.is_some_and(within);
            if failed_recently || kid_refreshed_recently {
                return self.usable(entry, now);
            }
        }
        let last_kid_refresh = if for_unknown_kid {
            Some(now)
        } else {
            before.as_ref().and_then(|b| b.last_kid_refresh)
        };
        match self.fetcher.fetch(url).await {
            Ok(fetched) => {
                let keys: Arc<[PublicJwk]> = PublicJwk::usable_from_set(&fetched.document).into();
                if keys.is_empty() {
                    return self.failed(
                        url,
                        before,
                        now,
                        last_kid_refresh,
                        "the set has no usable signing key",
                    );
                }
                let ttl = fetched.max_age.map_or(self.settings.ttl, |age| {
                    age.clamp(self.settings.min_ttl, self.settings.max_ttl)
                });
                let entry = Entry {
                    good: Some((keys.clone(), now)),
                    fresh_until: now + ttl,
                    last_attempt: now,
                    last_kid_refresh,
                    last_error: None,
                };
                self.entries
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(url.to_owned(), entry);
                Ok(keys)
            }
            Err(e) => self.failed(url, before, now, last_kid_refresh, &e.0),
        }
    }

    fn failed(
        &self,
        url: &str,
        before: Option<Entry>,
        now: Instant,
        last_kid_refresh: Option<Instant>,
        error: &str,
    ) -> Result<Arc<[PublicJwk]>, RemoteJwksError> {
        tracing::warn!(%url, error, "fetching a JWK set failed");
        let entry = Entry {
            good: before.and_then(|b| b.good),
            fresh_until: now,
            last_attempt: now,
            last_kid_refresh,
            last_error: Some(error.to_owned()),
        };
        let result = self.usable(&entry, now);
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(url.to_owned(), entry);
        result
    }

    /// The entry's good set while within the stale bound.
    fn usable(&self, entry: &Entry, now: Instant) -> Result<Arc<[PublicJwk]>, RemoteJwksError> {
        match &entry.good {
            Some((keys, fetched_at))
                if now.saturating_duration_since(*fetched_at) <= self.settings.max_stale =>
            {
                Ok(keys.clone())
            }
            Some(_) => Err(RemoteJwksError::Unavailable(format!(
                "the last good key set is older than {} s and fetching it again failed ({})",
                self.settings.max_stale.as_secs(),
                entry.last_error.as_deref().unwrap_or("no answer")
            ))),
            None => Err(RemoteJwksError::Unavailable(
                entry
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "the key set could not be fetched".into()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::jwk::ForeignAlg;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A publisher whose set and availability the test changes.
    struct Publisher {
        document: Mutex<Option<Value>>,
        max_age: Option<Duration>,
        calls: AtomicUsize,
    }

    impl JwksFetcher for Publisher {
        fn fetch<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Result<FetchedJwks, FetchError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let document = self.document.lock().unwrap().clone();
            let max_age = self.max_age;
            Box::pin(async move {
                document
                    .map(|document| FetchedJwks { document, max_age })
                    .ok_or_else(|| FetchError("connection refused".into()))
            })
        }
    }

    fn ec_key(kid: &str) -> Value {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        json!({ "kty": "EC", "crv": "P-256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]) })
    }

    fn header(kid: &str) -> ForeignHeader {
        ForeignHeader {
            alg: ForeignAlg::Es256,
            kid: Some(kid.into()),
            typ: None,
            jwk: None,
        }
    }

    fn setup(kids: &[&str], max_age: Option<Duration>) -> (Arc<Publisher>, RemoteJwks) {
        let keys: Vec<Value> = kids.iter().map(|k| ec_key(k)).collect();
        let publisher = Arc::new(Publisher {
            document: Mutex::new(Some(json!({ "keys": keys }))),
            max_age,
            calls: AtomicUsize::new(0),
        });
        let jwks = RemoteJwks::new(publisher.clone(), RemoteJwksSettings::default());
        (publisher, jwks)
    }

    const URL: &str = "https://idp.example/jwks";

    #[tokio::test(start_paused = true)]
    async fn a_set_is_reused_for_its_ttl_then_fetched_again() {
        let (publisher, jwks) = setup(&["a"], None);
        assert!(jwks.key_for(URL, &header("a")).await.is_ok());
        assert!(jwks.key_for(URL, &header("a")).await.is_ok());
        assert_eq!(publisher.calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(301)).await;
        assert!(jwks.key_for(URL, &header("a")).await.is_ok());
        assert_eq!(publisher.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn max_age_is_honoured_within_bounds() {
        let (publisher, jwks) = setup(&["a"], Some(Duration::from_secs(1)));
        jwks.keys(URL).await.unwrap();
        // max-age=1 is raised to the 60 s floor.
        tokio::time::advance(Duration::from_secs(30)).await;
        jwks.keys(URL).await.unwrap();
        assert_eq!(publisher.calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(31)).await;
        jwks.keys(URL).await.unwrap();
        assert_eq!(publisher.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_kids_refresh_at_most_once_per_interval() {
        let (publisher, jwks) = setup(&["a"], None);
        jwks.keys(URL).await.unwrap();
        // The first unknown kid refreshes the set (the publisher may have rotated)...
        assert_eq!(
            jwks.key_for(URL, &header("bogus")).await.unwrap_err(),
            RemoteJwksError::UnknownKey
        );
        assert_eq!(publisher.calls.load(Ordering::SeqCst), 2);
        // ...and within 30 s of that refresh a flood of bogus kids fetches nothing.
        for i in 0..100 {
            assert_eq!(
                jwks.key_for(URL, &header(&format!("bogus{i}")))
                    .await
                    .unwrap_err(),
                RemoteJwksError::UnknownKey
            );
        }
        assert_eq!(publisher.calls.load(Ordering::SeqCst), 2);
        // The publisher rotates; after the interval one refresh finds the new key.
        *publisher.document.lock().unwrap() = Some(json!({ "keys": [ec_key("a"), ec_key("b")] }));
        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(jwks.key_for(URL, &header("b")).await.is_ok());
        assert_eq!(publisher.calls.load(Ordering::SeqCst), 3);
        for _ in 0..10 {
            assert!(jwks.key_for(URL, &header("c")).await.is_err());
        }
        assert_eq!(publisher.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_publisher_is_served_stale_keys_up_to_the_bound() {
        let (publisher, jwks) = setup(&["a"], None);
        jwks.keys(URL).await.unwrap();
        *publisher.document.lock().unwrap() = None;
        // An hour later: fetch fails, the stale set still verifies.
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(jwks.key_for(URL, &header("a")).await.is_ok());
        let calls = publisher.calls.load(Ordering::SeqCst);
        assert_eq!(calls, 2);
        // Failed fetches are retried at most once per interval.
        for _ in 0..20 {
            assert!(jwks.key_for(URL, &header("a")).await.is_ok());
        }
        assert_eq!(publisher.calls.load(Ordering::SeqCst), calls);
        assert_eq!(
            jwks.status(URL).unwrap().last_error.as_deref(),
            Some("connection refused")
        );
        // Past 24 h since the last good fetch: unavailable.
        tokio::time::advance(Duration::from_secs(23 * 3600 + 1)).await;
        assert!(matches!(
            jwks.key_for(URL, &header("a")).await.unwrap_err(),
            RemoteJwksError::Unavailable(_)
        ));
        // The publisher comes back: the next attempt (after the interval) recovers.
        *publisher.document.lock().unwrap() = Some(json!({ "keys": [ec_key("a")] }));
        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(jwks.key_for(URL, &header("a")).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn never_fetched_or_unusable_sets_are_unavailable() {
        let publisher = Arc::new(Publisher {
            document: Mutex::new(Some(json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] }))),
            max_age: None,
            calls: AtomicUsize::new(0),
        });
        let jwks = RemoteJwks::new(publisher.clone(), RemoteJwksSettings::default());
        assert!(matches!(
            jwks.keys(URL).await.unwrap_err(),
            RemoteJwksError::Unavailable(why) if why.contains("no usable signing key")
        ));
        *publisher.document.lock().unwrap() = None;
        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(matches!(
            jwks.keys(URL).await.unwrap_err(),
            RemoteJwksError::Unavailable(why) if why.contains("connection refused")
        ));
    }
}
