//! This process's side of [`portico_core::changes`]: a change made here empties this process's
//! caches at once and is announced to the other replicas; a change announced by another
//! replica empties them here.

use crate::http::metrics::HttpMetrics;
use crate::lifecycle::VersionLifecycles;
use portico_core::changes::{Change, ChangeSink};
use portico_core::db::channel::{self, ChangeListener, Heard};
use portico_core::tokens::TokenService;
use portico_core::{Database, DatabaseUrl};
use portico_sandbox::limits::GatewayLimits;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// How long the listener waits before connecting again after a failure.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// The caches a change can make stale, and how to empty them.
pub struct Invalidation {
    db: Database,
    tokens: Arc<TokenService>,
    limits: Arc<GatewayLimits>,
    lifecycles: Arc<VersionLifecycles>,
    counters: Arc<ListenerCounters>,
}

/// Every [`portico_core::audit::Write`] that changed something ends here after its commit
/// (set on the database at start-up), so no handler has to remember to invalidate.
impl ChangeSink for Invalidation {
    fn apply<'a>(&'a self, change: &'a Change) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(self.made_here(change))
    }
}

/// For `/metrics`: changes heard from the channel, lost connections, and whether it listens.
#[derive(Debug, Default)]
pub struct ListenerCounters {
    pub heard: AtomicU64,
    pub reconnects: AtomicU64,
    pub listening: AtomicBool,
}

impl Invalidation {
    /// The process's invalidation, installed as its database's [`ChangeSink`]: from now on
    /// every audited write that changed something empties these caches after its commit.
    pub fn install(
        db: &Database,
        tokens: Arc<TokenService>,
        limits: Arc<GatewayLimits>,
        lifecycles: Arc<VersionLifecycles>,
    ) -> Arc<Self> {
        let invalidation = Arc::new(Self {
            db: db.clone(),
            tokens,
            limits,
            lifecycles,
            counters: Arc::default(),
        });
        if !db.on_change(invalidation.clone()) {
            tracing::warn!("this database already had a change sink; keeping the first");
        }
        invalidation
    }

    /// After a change made by this process has committed: this process's caches now, the
    /// other replicas' through the channel.
    async fn made_here(&self, change: &Change) {
        self.apply_here(change).await;
        channel::publish(&self.db, change).await;
    }

    fn forget_applications(&self) {
        self.tokens.forget_all_clients();
        self.limits.clear_caches();
    }

    /// Empties or reloads what `change` made stale in this process.
    async fn apply_here(&self, change: &Change) {
        match change {
            Change::Applications => {
                self.forget_applications();
                // Mapped applications' scopes and standing are cached with the IdPs.
                self.reload_federation().await;
            }
            Change::Federation => self.reload_federation().await,
            Change::TokenRevoked { jti, expires_at } => {
                self.tokens.note_revoked(jti.clone(), *expires_at);
            }
            Change::SigningKeys => {
                if let Err(e) = self.tokens.reload_keys().await {
                    tracing::warn!(error = %e, "reloading the signing keys failed; retrying at the next upkeep");
                }
            }
            Change::VersionDates => {
                if let Err(e) = self.lifecycles.refresh().await {
                    tracing::warn!(error = %e, "reloading the versions' dates failed; retrying at the next upkeep");
                }
            }
        }
    }

    async fn reload_federation(&self) {
        if let Err(e) = self.tokens.reload_federation().await {
            tracing::warn!(error = %e, "reloading the identity providers failed; retrying at the next upkeep");
        }
    }

    /// After a lost connection: whatever was announced meanwhile is unknown, so everything is
    /// reloaded.
    async fn catch_up(&self) {
        self.forget_applications();
        if let Err(e) = self.tokens.refresh().await {
            tracing::warn!(error = %e, "reloading keys and revocations failed; retrying at the next upkeep");
        }
        if let Err(e) = self.lifecycles.refresh().await {
            tracing::warn!(error = %e, "reloading the versions' dates failed; retrying at the next upkeep");
        }
    }

    /// `portico_changes_*` series on `/metrics`.
    pub fn register_metrics(&self, metrics: &HttpMetrics) {
        use std::fmt::Write as _;
        let counters = self.counters.clone();
        metrics.add_source(Box::new(move |out| {
            let _ = writeln!(out, "# HELP portico_changes_heard_total Changes announced by any replica (this one included) and applied here.");
            let _ = writeln!(out, "# TYPE portico_changes_heard_total counter");
            let _ = writeln!(out, "portico_changes_heard_total {}", counters.heard.load(Ordering::Relaxed));
            let _ = writeln!(out, "# HELP portico_changes_reconnects_total Times the change listener lost its database connection.");
            let _ = writeln!(out, "# TYPE portico_changes_reconnects_total counter");
            let _ = writeln!(out, "portico_changes_reconnects_total {}", counters.reconnects.load(Ordering::Relaxed));
            let _ = writeln!(out, "# HELP portico_changes_listening 1 while the change listener is connected (PostgreSQL only).");
            let _ = writeln!(out, "# TYPE portico_changes_listening gauge");
            let _ = writeln!(out, "portico_changes_listening {}", u8::from(counters.listening.load(Ordering::Relaxed)));
        }));
    }

    /// Listens for changes until shutdown (PostgreSQL; returns at once on SQLite). A lost
    /// connection is made again every [`RECONNECT_DELAY`], and once it is back everything is
    /// reloaded: what was announced meanwhile is unknown.
    pub async fn follow(self: Arc<Self>, url: DatabaseUrl, mut shutdown: watch::Receiver<bool>) {
        let mut first = true;
        loop {
            let mut logged = false;
            let mut listener = loop {
                let connected = tokio::select! {
                    connected = ChangeListener::connect(&url) => connected,
                    _ = shutdown.changed() => return,
                };
                match connected {
                    Ok(Some(listener)) => break listener,
                    Ok(None) => return,
                    Err(e) => {
                        // Once per outage.
                        if !logged {
                            tracing::warn!(error = %e, "cannot listen for other replicas' changes; caches expire on their own meanwhile");
                            logged = true;
                        }
                        tokio::select! {
                            () = tokio::time::sleep(RECONNECT_DELAY) => {}
                            _ = shutdown.changed() => return,
                        }
                    }
                }
            };
            self.counters.listening.store(true, Ordering::Relaxed);
            if first {
                tracing::info!(
                    channel = channel::CHANNEL,
                    "listening for other replicas' changes"
                );
                first = false;
            } else {
                tracing::info!("listening for changes again; reloading caches");
                self.catch_up().await;
            }
            loop {
                let heard = tokio::select! {
                    heard = listener.next() => heard,
                    _ = shutdown.changed() => return,
                };
                match heard {
                    Ok(Heard::Change(change)) => {
                        self.counters.heard.fetch_add(1, Ordering::Relaxed);
                        self.apply_here(&change).await;
                    }
                    Ok(Heard::Reconnected) | Err(_) => break,
                }
            }
            self.counters.listening.store(false, Ordering::Relaxed);
            self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("the change listener lost its database connection; reconnecting");
        }
    }
}
