//! `portico serve`: both fronts in one process, with graceful shutdown.

use crate::config::Config;
use crate::fronts::{self, Shared};
use crate::http::metrics::HttpMetrics;
use crate::master_key;
use anyhow::Context as _;
use portico_core::Database;
use portico_core::accounts::bootstrap;
use portico_core::apps::demo;
use portico_core::tokens::keys::KeySealer;
use portico_core::tokens::{TokenService, TokenSettings};
use portico_sandbox::limits::{GatewayLimits, LimitsConfig};
use portico_sandbox::model::ApiCatalog;
use portico_sandbox::request_log_writer::{self, RequestLogSink, RequestLogWriter};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The content of `content_dir` (see [`crate::content`]), or an error listing every problem,
/// one per line, after what kind of problem came first.
pub fn load_content(
    content_dir: &std::path::Path,
) -> anyhow::Result<(portico_core::authz::Authorizer, ApiCatalog)> {
    crate::content::inspect(content_dir)
        .into_content()
        .map_err(|problems| {
            let headline = problems
                .first()
                .map_or("the content is invalid", |p| p.kind.headline());
            let lines: Vec<&str> = problems.iter().map(|p| p.line.as_str()).collect();
            anyhow::anyhow!("{headline}: {}", lines.join("\n"))
        })
}

/// Logs a warning per scope that applications hold but no served model declares any more
/// (a model stopped declaring it): the scope is not taken away, an operator decides.
async fn warn_about_undeclared_scopes(
    db: &portico_core::Database,
    known: &portico_core::authz::scopes::ScopeCatalog,
) {
    const SHOWN: usize = 20;
    let holders = match portico_core::apps::applications::holding_unknown_scopes(db, known).await {
        Ok(holders) => holders,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the applications' scopes");
            return;
        }
    };
    let mut by_scope: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (app, scopes) in &holders {
        for scope in scopes {
            by_scope.entry(scope).or_default().push(format!(
                "{} ({}, partner {})",
                app.client_id, app.name, app.partner_id
            ));
        }
    }
    for (scope, apps) in by_scope {
        let more = apps.len().saturating_sub(SHOWN);
        let mut list = apps
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        tracing::warn!(
            scope,
            applications = apps.len(),
            "no served API model declares the scope {scope}, yet these applications still hold it: {list}; \
             declare it again in a model, or withdraw it from them (their tokens keep carrying it meanwhile)"
        );
    }
}

/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(config: Config) -> anyhow::Result<()> {
    // The policies and the API models, checked against each other (and each model's scopes
    // against its own declarations): any problem stops start-up before anything listens.
    let (authorizer, catalog) = load_content(&config.content_dir)?;
    let authorizer = Arc::new(authorizer);
    let catalog = Arc::new(catalog);
    let limits_config = LimitsConfig {
        on_redis_failure: config.redis_failure,
        ..LimitsConfig::with_redis_url(config.redis_url.as_deref())
            .map_err(|e| anyhow::anyhow!("invalid REDIS_URL: {e}"))?
    };
    let trusted_proxies = Arc::new(
        portico_sandbox::client_ip::parse_trusted_proxies(&config.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("invalid PORTICO_TRUSTED_PROXIES: {e}"))?,
    );
    let db = open_database(&config).await?;
    warn_about_undeclared_scopes(&db, catalog.scopes()).await;

    let portal_listener = bind(
        config.fronts.portal,
        config.portal_addr,
        "PORTICO_PORTAL_ADDR",
    )
    .await?;
    let sandbox_listener = bind(
        config.fronts.sandbox,
        config.sandbox_addr,
        "PORTICO_SANDBOX_ADDR",
    )
    .await?;
    let metrics_listener = match config.metrics_addr {
        Some(addr) => bind(true, addr, "PORTICO_METRICS_ADDR").await?,
        None => None,
    };
    let production_listener = match &config.production {
        Some((addr, _)) => bind(true, *addr, "PORTICO_PRODUCTION_ADDR").await?,
        None => None,
    };
    let portal_addr = portal_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let sandbox_addr = sandbox_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let sealer = master_key::load_sealer(&config)?;
    // The status probe's client secret comes from the master key, before the sealer moves.
    let probe_secret =
        crate::probe::derived_secret(&sealer).context("deriving the status probe's secret")?;
    let issuer = config.issuer(sandbox_addr.unwrap_or(config.sandbox_addr));
    let tokens = Arc::new(start_tokens(&config, &db, sealer, issuer).await?);
    let limits = Arc::new(GatewayLimits::new(db.clone(), limits_config));
    let (request_log, request_log_writer_task) =
        RequestLogWriter::start(db.clone(), request_log_writer::QUEUE_CAPACITY);
    let metrics = Arc::new(HttpMetrics::default());
    register_gateway_metrics(&metrics, &limits, &request_log);
    let webhook_destinations = crate::http::public_client::DestinationPolicy {
        allow_http_loopback: config.webhooks_allow_http_loopback,
    };
    // Partners' identity providers' and clients' JWK sets, fetched like webhooks are sent.
    let jwks_fetcher = crate::http::jwks_fetch::HttpJwksFetcher::new(webhook_destinations)
        .map_err(|e| anyhow::anyhow!("cannot build the JWK set HTTP client: {e}"))?;
    tokens.set_remote_jwks(Arc::new(
        portico_core::tokens::remote_jwks::RemoteJwks::new(
            Arc::new(jwks_fetcher),
            portico_core::tokens::remote_jwks::RemoteJwksSettings::default(),
        ),
    ));
    let deliveries = Arc::new(
        crate::webhooks::DeliveryWorker::new(db.clone(), tokens.clone(), webhook_destinations)
            .map_err(|e| anyhow::anyhow!("cannot build the webhook HTTP client: {e}"))?,
    );
    crate::webhooks::register_metrics(&metrics, deliveries.counters());
    let production_addr = production_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    // Where partners reach this process: links, samples, the SDKs' environments.
    let targets = config.targets(
        portal_addr.unwrap_or(config.portal_addr),
        sandbox_addr.unwrap_or(config.sandbox_addr),
        production_addr,
    );
    let portal_url = targets.portal_url.clone();
    let sandbox_url = targets.sandbox_url.clone();
    let production_url = targets.production_url.clone();
    let sso = match &config.oidc {
        Some(settings) if portal_addr.is_some() => discover_sso(settings, &portal_url).await,
        _ => None,
    };
    let docs = Arc::new(portico_docsite::LiveDocs::new(
        crate::docs::build(&catalog, Some(&config.content_dir), &targets)
            .context("the docs (content/docs) or the SDKs generated from the models are invalid")?,
    ));
    let lifecycles = Arc::new(crate::lifecycle::VersionLifecycles::new(
        db.clone(),
        catalog.clone(),
        docs.clone(),
        Some(config.content_dir.clone()),
        targets,
    ));
    // The admins' dates, before anything serves.
    lifecycles
        .refresh()
        .await
        .context("reading the API versions' dates failed")?;
    let sandbox_client = crate::sso::outbound_client()
        .map_err(|e| anyhow::anyhow!("cannot build the portal's HTTP client: {e}"))?;
    let changes = crate::changes::Invalidation::install(
        &db,
        tokens.clone(),
        limits.clone(),
        lifecycles.clone(),
    );
    changes.register_metrics(&metrics);
    let shared = Shared {
        db: db.clone(),
        tokens: tokens.clone(),
        authorizer,
        catalog,
        limits: limits.clone(),
        request_log,
        trusted_proxies,
        metrics,
        portal_url,
        sandbox_url,
        production_url,
        sso,
        synthetic: Arc::new(portico_sandbox::synthetic::SyntheticBackend::new(
            db.clone(),
        )),
        docs,
        lifecycles: lifecycles.clone(),
        sandbox_client,
        webhook_destinations,
        changes,
        client_certificates: config.tls.is_some() || config.client_cert_header.is_some(),
        secret_scanning: config.secret_scanning_keys.clone(),
    };

    let invite = bootstrap::first_start(&db)
        .await
        .context("first-start setup failed")?;
    let demo_app = demo::first_start(&db)
        .await
        .context("creating the demo application failed")?;

    // The banner goes to stdout (the operator's terminal), not to the logs: it may carry a
    // one-time sign-in link, and logs must never hold secrets.
    println!(
        "Portico {} is running ({} database {})",
        env!("CARGO_PKG_VERSION"),
        db.backend().name(),
        config.database_url
    );
    if portal_addr.is_some() {
        println!("  portal   {}", shared.portal_url);
    }
    if sandbox_addr.is_some() {
        println!("  sandbox  {}", shared.sandbox_url);
    }
    if let (Some(addr), Some((_, upstream))) = (production_addr, &config.production) {
        println!(
            "  production {}://{addr} -> {upstream}",
            config.api_scheme()
        );
    }
    let metrics_addr = metrics_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    if let Some(addr) = metrics_addr {
        println!("  metrics  http://{addr}/metrics");
    }
    if let Some(invite) = invite {
        println!();
        println!(
            "First start: sign in as the bootstrap admin ({}) with this one-time link,",
            invite.user.email
        );
        println!(
            "valid for 24 hours (`portico admin create --email you@example.com` makes another admin):"
        );
        println!(
            "  {}/signin?token={}",
            shared.portal_url,
            invite.sign_in_token.expose()
        );
    }
    if let Some((app, credentials)) = demo_app {
        println!();
        println!(
            "Demo application of partner {:?}; its secret and API key are shown only now:",
            app.partner_id
        );
        println!("  {}", crate::credentials_json(&app, &credentials));
        println!(
            "  try: curl -s -u \"{}:$CLIENT_SECRET\" -d grant_type=client_credentials {}/oauth2/token",
            app.client_id, shared.sandbox_url
        );
    }

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let upkeep = tokio::spawn(upkeep(
        tokens.clone(),
        limits.clone(),
        db.clone(),
        lifecycles,
        config.request_log_retention,
        shutdown_rx.clone(),
    ));
    // Every process delivers webhooks (claims keep replicas from sending the same attempt).
    let delivery_worker = tokio::spawn(deliveries.run(shutdown_rx.clone()));
    // Every process that runs the portal front takes part; the holder of the probe lease probes.
    let probes = if portal_addr.is_some() {
        let production = production_addr.map(|addr| crate::probe::Target {
            stage: "production",
            base_url: format!("http://{addr}"),
            audience: Some(format!("{}/production", config.audience)),
        });
        let prober = crate::probe::Prober::new(
            db.clone(),
            shared.catalog.clone(),
            &shared.sandbox_url,
            production,
            probe_secret,
        )
        .map_err(|e| anyhow::anyhow!("cannot build the status probe's HTTP client: {e}"))?;
        Some(tokio::spawn(crate::probe::run(
            Arc::new(prober),
            config.probe_interval,
            shutdown_rx.clone(),
        )))
    } else {
        drop(probe_secret);
        None
    };
    // Other replicas' changes (PostgreSQL): revocations, suspensions, plan and key changes.
    let change_listener = tokio::spawn(
        shared
            .changes
            .clone()
            .follow(config.database_url.clone(), shutdown_rx.clone()),
    );
    let mut servers = tokio::task::JoinSet::new();
    if let (Some(listener), Some(addr)) = (portal_listener, portal_addr) {
        let app = fronts::portal(&shared, addr);
        servers.spawn(serve_front("portal", listener, app, shutdown_rx.clone()));
    }
    // HTTPS and client certificates (RFC 8705) on the API fronts only; without them the
    // plain `axum::serve` path below is unchanged.
    let forwarded =
        config
            .client_cert_header
            .clone()
            .map(|header| crate::tls::ForwardedCertificates {
                header,
                trusted_proxies: shared.trusted_proxies.clone(),
                client_ca: config.tls_client_ca.clone(),
            });
    let api_front_tls = config.tls.is_some() || forwarded.is_some();
    if let Some(listener) = sandbox_listener {
        let app = fronts::sandbox(&shared);
        if api_front_tls {
            servers.spawn(crate::tls::serve_front(
                "sandbox",
                listener,
                app,
                config.tls.clone(),
                forwarded.clone(),
                shutdown_rx.clone(),
            ));
        } else {
            servers.spawn(serve_front("sandbox", listener, app, shutdown_rx.clone()));
        }
    }
    if let (Some(listener), Some((_, upstream))) = (production_listener, &config.production) {
        let app = fronts::production(&shared, upstream)
            .map_err(|e| anyhow::anyhow!("invalid PORTICO_UPSTREAM_URL: {e}"))?;
        if api_front_tls {
            servers.spawn(crate::tls::serve_front(
                "production",
                listener,
                app,
                config.tls.clone(),
                forwarded.clone(),
                shutdown_rx.clone(),
            ));
        } else {
            servers.spawn(serve_front(
                "production",
                listener,
                app,
                shutdown_rx.clone(),
            ));
        }
    }
    if let Some(listener) = metrics_listener {
        let metrics = shared.metrics.clone();
        let mut shutdown = shutdown_rx.clone();
        servers.spawn(async move {
            axum::serve(listener, crate::http::metrics::router(metrics))
                .with_graceful_shutdown(async move {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                })
                .await
                .context("metrics listener failed")
        });
    }
    // The routers now hold everything they need; dropping this copy lets the request-log queue
    // close once the servers stop.
    drop(shared);

    tokio::select! {
        () = shutdown_signal() => {}
        // A front that stops on its own (it should not) ends the process too.
        Some(result) = servers.join_next() => {
            result.context("front task failed")??;
        }
    }
    // Load balancers see /readyz fail first and stop sending; only then does the listener
    // close. Requests in flight (and keep-alive connections) finish either way.
    crate::http::health::start_draining();
    if !config.drain_delay.is_zero() {
        tracing::info!(
            delay_secs = config.drain_delay.as_secs(),
            "shutdown signal received; /readyz now fails, still serving until the load balancer has noticed"
        );
        tokio::select! {
            () = tokio::time::sleep(config.drain_delay) => {}
            // A second signal means now.
            () = shutdown_signal() => {}
        }
    }
    tracing::info!("shutting down; finishing in-flight requests");
    let _ = shutdown_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while let Some(result) = servers.join_next().await {
            if let Err(e) = result.map_err(anyhow::Error::from).and_then(|r| r) {
                tracing::error!(error = %e, "front stopped with an error");
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}; stopping anyway");
    }
    let _ = upkeep.await;
    let _ = change_listener.await;
    let _ = delivery_worker.await;
    if let Some(probes) = probes {
        let _ = probes.await;
    }
    // Buffered writes go out before the pool closes: the request log queue, then the
    // coalesced `last_used_at` stamps of secrets and API keys.
    request_log_writer_task.shutdown().await;
    if let Err(e) = tokens.flush_secret_uses().await {
        tracing::error!(error = %e, "could not write the last secret-use times");
    }
    if let Err(e) = limits.flush_api_key_uses().await {
        tracing::error!(error = %e, "could not write the last API-key-use times");
    }
    // Flushes SQLite's WAL and closes PostgreSQL connections cleanly.
    db.close().await;
    tracing::info!("shutdown complete");
    Ok(())
}

/// Seconds between token-service upkeep passes: the bound on how late a revocation made by
/// another process, a key rotation step or a CLI change is seen here.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

pub async fn start_tokens(
    config: &Config,
    db: &Database,
    sealer: KeySealer,
    issuer: String,
) -> anyhow::Result<TokenService> {
    let mut settings = TokenSettings::new(
        issuer,
        config.audience.clone(),
        i64::try_from(config.token_ttl.as_secs())?,
    );
    settings.alg = config.signing_alg;
    settings.rotation_lead_secs = i64::try_from(config.key_rotation_lead.as_secs())?;
    TokenService::start(db.clone(), sealer, settings)
        .await
        .context("cannot load the token signing keys")
}

/// Counters of the gateway's limits and request-log queue, on `/metrics`.
fn register_gateway_metrics(
    metrics: &HttpMetrics,
    limits: &Arc<GatewayLimits>,
    request_log: &RequestLogSink,
) {
    use std::fmt::Write as _;
    use std::sync::atomic::Ordering;
    let limits = limits.clone();
    let counters = request_log.counters().clone();
    metrics.add_source(Box::new(move |out| {
        let stats = limits.stats();
        let _ = writeln!(out, "# HELP portico_gateway_limit_decisions_total Usage-plan decisions by outcome.");
        let _ = writeln!(out, "# TYPE portico_gateway_limit_decisions_total counter");
        for (outcome, n) in [
            ("allowed", stats.allowed),
            ("throttled", stats.throttled),
            ("quota_exceeded", stats.quota_exceeded),
            ("failed_open", stats.failed_open),
        ] {
            let _ = writeln!(out, "portico_gateway_limit_decisions_total{{outcome=\"{outcome}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP portico_gateway_redis_errors_total Failed calls to the shared rate-limit counters.");
        let _ = writeln!(out, "# TYPE portico_gateway_redis_errors_total counter");
        let _ = writeln!(out, "portico_gateway_redis_errors_total {}", stats.redis_errors);
        let _ = writeln!(out, "# HELP portico_gateway_redis_available 0 from a failed call to the shared counters until the next success (1 without Redis).");
        let _ = writeln!(out, "# TYPE portico_gateway_redis_available gauge");
        let _ = writeln!(out, "portico_gateway_redis_available {}", u8::from(stats.redis_available));
        let _ = writeln!(out, "# HELP portico_audit_records_total Request records by fate: written, dropped (queue full) or failed (database error).");
        let _ = writeln!(out, "# TYPE portico_audit_records_total counter");
        for (fate, counter) in [
            ("written", &counters.written),
            ("dropped", &counters.dropped),
            ("failed", &counters.failed),
        ] {
            let _ = writeln!(out, "portico_audit_records_total{{fate=\"{fate}\"}} {}", counter.load(Ordering::Relaxed));
        }
    }));
}

/// Idempotency keys are honoured for a day (the usual client retry window), then forgotten.
const IDEMPOTENCY_WINDOW_SECS: i64 = 24 * 60 * 60;

async fn upkeep(
    tokens: Arc<TokenService>,
    limits: Arc<GatewayLimits>,
    db: Database,
    lifecycles: Arc<crate::lifecycle::VersionLifecycles>,
    request_log_retention: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let retention_ms = i64::try_from(request_log_retention.as_millis()).unwrap_or(i64::MAX);
    let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = interval.tick() => {
                ticks += 1;
                // Once a minute is plenty for the retention sweeps.
                if ticks % 12 == 1 {
                    let before = portico_core::clock::now() - IDEMPOTENCY_WINDOW_SECS;
                    if let Err(e) = portico_core::sandbox_data::purge_idempotency(&db, before).await {
                        tracing::warn!(error = %e, "purging old idempotency keys failed; retrying");
                    }
                    let cutoff = portico_core::clock::now_ms().saturating_sub(retention_ms);
                    if let Err(e) = portico_core::traffic::request_log::purge_before(&db, cutoff).await {
                        tracing::warn!(error = %e, "purging old request records failed; retrying");
                    }
                    let now_ms = portico_core::clock::now_ms();
                    if let Err(e) = portico_core::traffic::hourly_usage::roll_up(&db, now_ms).await {
                        tracing::warn!(error = %e, "rolling up request usage failed; retrying");
                    }
                    if let Err(e) = portico_core::traffic::hourly_usage::purge(&db, now_ms).await {
                        tracing::warn!(error = %e, "purging old usage rollups failed; retrying");
                    }
                    if let Err(e) = portico_core::identity::sessions::purge_expired(&db, portico_core::clock::now()).await {
                        tracing::warn!(error = %e, "purging expired portal sessions failed; retrying");
                    }
                }
                if let Err(e) = tokens.refresh().await {
                    tracing::warn!(error = %e, "token upkeep failed; retrying");
                }
                if let Err(e) = lifecycles.refresh().await {
                    tracing::warn!(error = %e, "reading the API versions' dates failed; retrying");
                }
                if let Err(e) = limits.flush_api_key_uses().await {
                    tracing::warn!(error = %e, "writing API-key use times failed; retrying");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Connects (creating the database when needed) and applies pending migrations.
pub async fn open_database(config: &Config) -> anyhow::Result<Database> {
    let db = Database::connect(&config.database_url)
        .await
        .with_context(|| format!("cannot open the database {}", config.database_url))?;
    let applied = db.migrate().await.context("cannot migrate the database")?;
    if applied > 0 {
        tracing::info!(applied, database = %config.database_url, "applied database migrations");
    }
    Ok(db)
}

async fn bind(
    enabled: bool,
    addr: std::net::SocketAddr,
    key: &str,
) -> anyhow::Result<Option<TcpListener>> {
    if !enabled {
        return Ok(None);
    }
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({key})"))?;
    Ok(Some(listener))
}

/// Single sign-on needs the provider's discovery document. A provider that does not answer at
/// start-up leaves SSO off (logged) rather than keeping the whole portal down.
async fn discover_sso(
    settings: &crate::sso::OidcSettings,
    portal_url: &str,
) -> Option<crate::sso::SsoClient> {
    let redirect = match url::Url::parse(&format!("{portal_url}/signin/sso/callback")) {
        Ok(url) => url,
        Err(e) => {
            tracing::error!(error = %e, "single sign-on disabled: bad portal URL");
            return None;
        }
    };
    match crate::sso::SsoClient::discover(settings, redirect).await {
        Ok(client) => {
            tracing::info!(issuer = client.issuer(), "single sign-on enabled");
            Some(client)
        }
        Err(e) => {
            tracing::error!(error = %e, cause = %e.cause(), "single sign-on disabled: the identity provider did not answer");
            None
        }
    }
}

async fn serve_front(
    front: &'static str,
    listener: TcpListener,
    app: fronts::Front,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(front, %addr, "listening");
    axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            std::net::SocketAddr,
        >(app),
    )
    .with_graceful_shutdown(async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    })
    .await
    .with_context(|| format!("{front} front failed"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
