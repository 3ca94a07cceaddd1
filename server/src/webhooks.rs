//! The webhook delivery worker: claims due deliveries from the outbox (`core::webhooks`), signs
//! and POSTs them to partners' endpoints through the SSRF-guarded client, and records every
//! attempt. Every `portico serve` process runs one; on PostgreSQL several share the work
//! (claims skip rows another worker has locked), SQLite runs one node.
//!
//! - At most [`PER_ENDPOINT_CONCURRENCY`] requests to one endpoint at a time per process, and
//!   [`MAX_IN_FLIGHT`] in all; a claimed delivery this process has no room for is given back.
//! - 10 s per attempt (connect, send, answer and body); only a 2xx counts as delivered; the
//!   response body is read up to [`RESPONSE_BODY_LIMIT`] and its first 1 KiB is logged.
//! - Idle, the worker only reads (whether anything is due) every [`POLL_INTERVAL`], so an event
//!   reaches its endpoint well within a second.

use crate::http::metrics::HttpMetrics;
use crate::http::public_client::{self, DestinationPolicy};
use portico_core::tokens::TokenService;
use portico_core::webhooks::signing::{self, SigningSecret};
use portico_core::webhooks::{
    self, AttemptOutcome, AttemptResult, ClaimedDelivery, RESPONSE_EXCERPT_BYTES,
};
use portico_core::{CoreResult, Database, clock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Requests in flight to one endpoint, per process.
pub const PER_ENDPOINT_CONCURRENCY: usize = 4;
/// Requests in flight in all, per process.
pub const MAX_IN_FLIGHT: usize = 64;
/// How often an idle worker looks for due deliveries.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How much of a response body is read (the rest is dropped with the connection).
pub const RESPONSE_BODY_LIMIT: usize = 64 * 1024;
/// How often the queue gauges of `/metrics` are refreshed.
const STATS_INTERVAL: Duration = Duration::from_secs(5);

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    pub delivered: AtomicU64,
    /// Failed attempts (each retry counts).
    pub failed_attempts: AtomicU64,
    /// Deliveries given up after the last attempt.
    pub gave_up: AtomicU64,
    pub queue_depth: AtomicI64,
    pub oldest_pending_age_ms: AtomicI64,
}

pub struct DeliveryWorker {
    db: Database,
    tokens: Arc<TokenService>,
    client: reqwest::Client,
    policy: DestinationPolicy,
    counters: Arc<DeliveryCounters>,
    /// Endpoint id → requests in flight from this process.
    in_flight: Mutex<HashMap<String, usize>>,
}

/// Gives an endpoint's slot back when a delivery ends, however it ends.
struct Slot<'a> {
    worker: &'a DeliveryWorker,
    endpoint_id: String,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.worker.lock_in_flight();
        if let Some(count) = in_flight.get_mut(&self.endpoint_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                in_flight.remove(&self.endpoint_id);
            }
        }
    }
}

impl DeliveryWorker {
    pub fn new(
        db: Database,
        tokens: Arc<TokenService>,
        policy: DestinationPolicy,
    ) -> Result<Self, String> {
        Ok(Self {
            db,
            tokens,
            client: public_client::client(policy)?,
            policy,
            counters: Arc::new(DeliveryCounters::default()),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    pub fn counters(&self) -> &Arc<DeliveryCounters> {
        &self.counters
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn total_in_flight(&self) -> usize {
        self.lock_in_flight().values().sum()
    }

    /// Claims what is due at `now_ms` and this process has room for; gives the rest back.
    async fn claim(&self, now_ms: i64) -> CoreResult<Vec<ClaimedDelivery>> {
        let room = MAX_IN_FLIGHT.saturating_sub(self.total_in_flight());
        if room == 0 || !webhooks::has_due(&self.db, now_ms).await? {
            return Ok(Vec::new());
        }
        let full: Vec<String> = self
            .lock_in_flight()
            .iter()
            .filter(|(_, count)| **count >= PER_ENDPOINT_CONCURRENCY)
            .map(|(id, _)| id.clone())
            .collect();
        let limit = u32::try_from(room.min(32)).unwrap_or(32);
        let claimed = webhooks::claim_due(&self.db, now_ms, limit, &full).await?;
        let mut kept = Vec::with_capacity(claimed.len());
        let mut given_back = Vec::new();
        {
            let mut in_flight = self.lock_in_flight();
            for delivery in claimed {
                let count = in_flight.entry(delivery.endpoint_id.clone()).or_insert(0);
                if *count < PER_ENDPOINT_CONCURRENCY {
                    *count += 1;
                    kept.push(delivery);
                } else {
                    given_back.push(delivery);
                }
            }
        }
        if !given_back.is_empty() {
            webhooks::release(&self.db, &given_back).await?;
        }
        Ok(kept)
    }

    /// One pass at `now_ms` (a test clock in tests): claims the due deliveries, sends them
    /// concurrently and waits for all. Returns what became of each.
    pub async fn run_once(self: &Arc<Self>, now_ms: i64) -> CoreResult<Vec<AttemptResult>> {
        let claimed = self.claim(now_ms).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for delivery in claimed {
            let worker = self.clone();
            tasks.spawn(async move { worker.deliver_claimed(delivery, Some(now_ms)).await });
        }
        let mut results = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(Some(result)) = done {
                results.push(result);
            }
        }
        Ok(results)
    }

    /// Sends one message to one endpoint now, whatever its schedule (`portico webhooks
    /// test`). `None` when that delivery is not pending or another worker holds it.
    pub async fn deliver_now(
        self: &Arc<Self>,
        message_id: &str,
        endpoint_id: &str,
    ) -> CoreResult<Option<(AttemptResult, AttemptOutcome)>> {
        let Some(delivery) =
            webhooks::claim_one(&self.db, clock::now_ms(), message_id, endpoint_id).await?
        else {
            return Ok(None);
        };
        *self
            .lock_in_flight()
            .entry(delivery.endpoint_id.clone())
            .or_insert(0) += 1;
        let _slot = Slot {
            worker: self,
            endpoint_id: delivery.endpoint_id.clone(),
        };
        let outcome = self.send(&delivery).await;
        let result =
            webhooks::record_attempt(&self.db, clock::now_ms(), &delivery, &outcome).await?;
        self.count(result);
        Ok(Some((result, outcome)))
    }

    /// Sends a claimed delivery and records the attempt (at `clock_ms`, or the real time).
    /// The endpoint's slot was taken by [`DeliveryWorker::claim`].
    async fn deliver_claimed(
        &self,
        delivery: ClaimedDelivery,
        clock_ms: Option<i64>,
    ) -> Option<AttemptResult> {
        let _slot = Slot {
            worker: self,
            endpoint_id: delivery.endpoint_id.clone(),
        };
        let outcome = self.send(&delivery).await;
        let now_ms = clock_ms.unwrap_or_else(clock::now_ms);
        match webhooks::record_attempt(&self.db, now_ms, &delivery, &outcome).await {
            Ok(result) => {
                self.count(result);
                Some(result)
            }
            Err(e) => {
                // The claim lapses and the delivery goes out again (same webhook-id).
                tracing::error!(error = %e, message = %delivery.message_id, "recording a webhook attempt failed");
                None
            }
        }
    }

    fn count(&self, result: AttemptResult) {
        let counter = match result {
            AttemptResult::Delivered => &self.counters.delivered,
            AttemptResult::RetryAt(_) => &self.counters.failed_attempts,
            AttemptResult::GaveUp => {
                self.counters
                    .failed_attempts
                    .fetch_add(1, Ordering::Relaxed);
                &self.counters.gave_up
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One HTTP attempt. Never fails: what went wrong is the outcome's `error`.
    async fn send(&self, delivery: &ClaimedDelivery) -> AttemptOutcome {
        let started = Instant::now();
        let failed = |error: String| AttemptOutcome {
            status_code: None,
            latency_ms: elapsed_ms(started),
            response_excerpt: String::new(),
            error: Some(error),
        };
        // Checked again at every attempt: the URL was checked when saved, but the rules may
        // have changed since (the loopback flag switched off).
        let url = match url::Url::parse(&delivery.url) {
            Ok(url) => url,
            Err(e) => return failed(format!("invalid URL: {e}")),
        };
        if let Err(refused) = public_client::check_url(&url, self.policy) {
            return failed(format!("destination refused: {refused}"));
        }
        let timestamp = clock::now();
        let secrets = match delivery.secrets(self.tokens.sealer(), timestamp) {
            Ok(secrets) => secrets,
            Err(e) => {
                tracing::error!(error = %e, endpoint = %delivery.endpoint_id, "cannot open a webhook signing secret");
                return failed("the signing secret could not be read; rotate it".into());
            }
        };
        let body = delivery.payload.as_bytes();
        let in_force: Vec<&SigningSecret> = secrets.iter().collect();
        let signature = signing::signature_header(&in_force, &delivery.message_id, timestamp, body);
        let x_signature = secrets
            .iter()
            .map(|secret| secret.x_signature(body))
            .collect::<Vec<_>>()
            .join(", ");
        let request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::USER_AGENT,
                concat!("Portico-Webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("x-signature", x_signature)
            .body(delivery.payload.clone());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return failed(describe(&e)),
        };
        let status = response.status().as_u16();
        let mut received: Vec<u8> = Vec::new();
        let mut body_error = None;
        while received.len() < RESPONSE_BODY_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = RESPONSE_BODY_LIMIT - received.len();
                    received.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                Err(e) => {
                    body_error = Some(describe(&e));
                    break;
                }
            }
        }
        AttemptOutcome {
            status_code: Some(status),
            latency_ms: elapsed_ms(started),
            response_excerpt: excerpt(&received),
            // An answer whose body broke off still counts by its status; the log says so.
            error: body_error.map(|e| format!("reading the response body: {e}")),
        }
    }

    /// Delivers until `shutdown`; then lets what is in flight finish (bounded by the
    /// request timeout).
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_stats: Option<Instant> = None;
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = poll.tick() => {}
                _ = shutdown.changed() => break,
            }
            while tasks.try_join_next().is_some() {}
            match self.claim(clock::now_ms()).await {
                Ok(claimed) => {
                    for delivery in claimed {
                        let worker = self.clone();
                        tasks.spawn(async move { worker.deliver_claimed(delivery, None).await });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries failed; retrying")
                }
            }
            if last_stats.is_none_or(|at| at.elapsed() >= STATS_INTERVAL) {
                last_stats = Some(Instant::now());
                self.refresh_stats().await;
            }
        }
        let drain = tokio::time::timeout(public_client::TIMEOUT + Duration::from_secs(2), async {
            while tasks.join_next().await.is_some() {}
        });
        if drain.await.is_err() {
            tracing::warn!(
                "webhook deliveries still running at shutdown; their claims lapse and they go out again"
            );
        }
    }

    /// Refreshes the queue gauges.
    pub async fn refresh_stats(&self) {
        match webhooks::queue_stats(&self.db, clock::now_ms()).await {
            Ok(stats) => {
                self.counters
                    .queue_depth
                    .store(stats.pending, Ordering::Relaxed);
                self.counters
                    .oldest_pending_age_ms
                    .store(stats.oldest_pending_age_ms, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(error = %e, "reading the webhook queue failed"),
        }
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// The first [`RESPONSE_EXCERPT_BYTES`] of a body as text (cut on a character boundary).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(RESPONSE_EXCERPT_BYTES)]);
    let mut text = text.into_owned();
    // A multi-byte character cut at the limit shows as U+FFFD: drop it.
    if body.len() > RESPONSE_EXCERPT_BYTES && text.ends_with('\u{FFFD}') {
        text.pop();
    }
    text
}

/// What went wrong, without the URL (a partner's URL may carry a token in its query).
fn describe(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if error.is_timeout() {
        "timed out after 10 s"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "redirect refused"
    } else if error.is_body() || error.is_decode() {
        "the response broke off"
    } else {
        "request failed"
    };
    // The innermost cause says why (connection refused, no public address, ...).
    let mut source = error.source();
    let mut innermost = None;
    while let Some(cause) = source {
        innermost = Some(cause.to_string());
        source = cause.source();
    }
    match innermost {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_owned(),
    }
}

/// Registers the delivery counters and queue gauges on `/metrics`.
pub fn register_metrics(metrics: &HttpMetrics, counters: &Arc<DeliveryCounters>) {
    use std::fmt::Write as _;
    let counters = counters.clone();
    metrics.add_source(Box::new(move |out| {
        let _ = writeln!(out, "# HELP portico_webhook_deliveries_total Webhook attempts by result: delivered (2xx), failed (will retry or gave up), gave_up (last attempt failed).");
        let _ = writeln!(out, "# TYPE portico_webhook_deliveries_total counter");
        for (result, counter) in [
            ("delivered", &counters.delivered),
            ("failed", &counters.failed_attempts),
            ("gave_up", &counters.gave_up),
        ] {
            let _ = writeln!(out, "portico_webhook_deliveries_total{{result=\"{result}\"}} {}", counter.load(Ordering::Relaxed));
        }
        let _ = writeln!(out, "# HELP portico_webhook_queue_depth Deliveries waiting (due or scheduled for a retry).");
        let _ = writeln!(out, "# TYPE portico_webhook_queue_depth gauge");
        let _ = writeln!(out, "portico_webhook_queue_depth {}", counters.queue_depth.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP portico_webhook_oldest_pending_age_seconds Age of the oldest waiting delivery.");
        let _ = writeln!(out, "# TYPE portico_webhook_oldest_pending_age_seconds gauge");
        let age_ms = counters.oldest_pending_age_ms.load(Ordering::Relaxed);
        let _ = writeln!(out, "portico_webhook_oldest_pending_age_seconds {}", age_ms / 1000);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_keep_the_first_kibibyte_on_a_character_boundary() {
        assert_eq!(excerpt(b"ok"), "ok");
        let long = "é".repeat(700); // 1,400 bytes
        let cut = excerpt(long.as_bytes());
        assert!(cut.len() <= RESPONSE_EXCERPT_BYTES);
        assert!(cut.chars().all(|c| c == 'é'), "{cut}");
        assert_eq!(cut.chars().count(), 512);
    }
}
