use anyhow::Context as _;
use clap::Parser as _;
use portico_core::accounts::bootstrap;
use portico_core::apps::applications;
use portico_core::apps::demo::{self, DemoOutcome};
use portico_core::apps::plans;
use portico_core::audit::events::Actor;
use portico_core::authz::scopes::Scopes;
use portico_core::changes::Change;
use portico_core::db::channel as changes;
use portico_core::tokens::keys::{self, RotationOutcome};
use portico_server::cli::{
    AdminCommand, AppCommand, Cli, Command, KeysCommand, UsageCommand, WebhooksCommand,
};
use portico_server::config::Config;
use portico_server::{credentials_json, master_key, serve, telemetry};
use std::process::ExitCode;

// glibc's malloc spends a fifth of the gateway's CPU under load on arena contention
// (measured with perf); mimalloc's thread-local heaps do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), |key| std::env::var(key).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("portico: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log);
    if let Some(Command::Check { content }) = &cli.command {
        return check_content(content.as_deref().unwrap_or(&config.content_dir));
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("portico: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes, separated by colons.
            eprintln!("portico: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `portico check`: every problem of the content on its own line (stdout), a count on stderr
/// and exit code 2; or a one-line summary and 0.
fn check_content(dir: &std::path::Path) -> ExitCode {
    if !dir.is_dir() {
        eprintln!("portico: {}: no such folder", dir.display());
        return ExitCode::from(2);
    }
    let mut report = portico_server::content::inspect(dir);
    portico_server::content::inspect_docs(&mut report, dir);
    if !report.problems.is_empty() {
        for problem in &report.problems {
            println!("{}", problem.line);
        }
        let count = report.problems.len();
        eprintln!(
            "portico: {count} problem{} in {}",
            if count == 1 { "" } else { "s" },
            dir.display()
        );
        return ExitCode::from(2);
    }
    let (Some(authorizer), Some(catalog)) = (&report.authorizer, &report.catalog) else {
        return ExitCode::from(2);
    };
    let versions: Vec<&str> = catalog.versions().iter().map(|v| &*v.name).collect();
    let operations: usize = catalog.versions().iter().map(|v| v.operations.len()).sum();
    println!(
        "{}: no problem: API models {} ({}: {} operations), {} scopes, policies {} ({} policies)",
        dir.display(),
        catalog.origin(),
        versions.join(", "),
        operations,
        catalog.scopes().names().count(),
        authorizer.origin(),
        authorizer.policy_ids().len()
    );
    ExitCode::SUCCESS
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        // Handled before the runtime starts (it needs none).
        Command::Check { .. } => Ok(()),
        Command::Serve => serve::run(config).await,
        Command::Migrate => {
            let db = serve::open_database(&config).await?;
            println!("database {} is up to date", config.database_url);
            db.close().await;
            Ok(())
        }
        Command::Admin(AdminCommand::Create { email }) => {
            let db = serve::open_database(&config).await?;
            let invite = bootstrap::create_admin(&db, &email, &Actor::Cli)
                .await
                .context("cannot create the admin")?;
            let portal_url = config.portal_url(config.portal_addr);
            println!(
                "Admin {} created. One-time sign-in link, valid for 24 hours:",
                invite.user.email
            );
            println!(
                "  {portal_url}/signin?token={}",
                invite.sign_in_token.expose()
            );
            db.close().await;
            Ok(())
        }
        Command::App(AppCommand::Create {
            partner,
            name,
            scopes,
            plan,
        }) => {
            let scopes = Scopes::parse(&scopes)?;
            // The scopes the API models of PORTICO_CONTENT_DIR declare, and Portico's own.
            let known = portico_server::content::scopes(&config.content_dir)
                .context("the API models are invalid")?;
            if let Some(unknown) = scopes.iter().find(|s| !known.contains(s)) {
                anyhow::bail!(
                    "unknown scope {unknown:?}; known scopes: {}",
                    known.names().collect::<Vec<_>>().join(" ")
                );
            }
            let db = serve::open_database(&config).await?;
            plans::require_plan(&db, &plan).await?;
            let (app, credentials) =
                demo::create_app(&db, &partner, &partner, &name, &scopes, &plan)
                    .await
                    .context("cannot create the application")?;
            println!("{}", credentials_json(&app, &credentials));
            db.close().await;
            Ok(())
        }
        Command::App(AppCommand::Limits {
            client_id,
            plan,
            rate,
            burst,
            quota,
        }) => {
            let db = serve::open_database(&config).await?;
            let app = applications::find_by_client_id(&db, &client_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no application has client_id {client_id:?}"))?;
            if let Some(plan) = &plan {
                plans::set_plan(&db, &app.id, plan).await?;
            }
            if rate.is_some() || burst.is_some() || quota.is_some() {
                let mut overrides = plans::limit_override(&db, &app.id).await?;
                overrides.rate_per_second = rate.or(overrides.rate_per_second);
                overrides.burst = burst.or(overrides.burst);
                overrides.quota = quota.or(overrides.quota);
                plans::set_override(&db, &app.id, &overrides).await?;
            }
            let effective = plans::effective_plan(&db, &app.id).await?;
            changes::publish(&db, &Change::Applications).await;
            println!(
                "{client_id}: plan {}, {} requests/s, burst {}, {} per {:?} (running servers on PostgreSQL apply it at once, on SQLite within 5 s)",
                effective.plan,
                effective.rate_per_second,
                effective.burst,
                effective.quota,
                effective.quota_period
            );
            db.close().await;
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate { promote }) => {
            let db = serve::open_database(&config).await?;
            let sealer = master_key::load_sealer(&config)?;
            keys::ensure_active_key(&db, &sealer, config.signing_alg).await?;
            match keys::rotate(&db, &sealer, config.signing_alg, promote).await? {
                RotationOutcome::NextKeyPublished { kid } => println!(
                    "published next signing key {kid}; it starts signing in {} s (or run `portico keys rotate --promote`)",
                    config.key_rotation_lead.as_secs()
                ),
                RotationOutcome::AlreadyPending { kid } => println!(
                    "next signing key {kid} is already published; run `portico keys rotate --promote` to make it sign now"
                ),
                RotationOutcome::Promoted { kid } => println!(
                    "signing key {kid} now signs; the previous key stays published until its tokens expire"
                ),
            }
            changes::publish(&db, &Change::SigningKeys).await;
            db.close().await;
            Ok(())
        }
        Command::Usage(UsageCommand::Export {
            month,
            partner,
            format,
        }) => {
            use portico_core::traffic::hourly_usage;
            let db = serve::open_database(&config).await?;
            let rows = hourly_usage::metering(
                &db,
                month,
                partner.as_deref(),
                portico_core::clock::now_ms(),
            )
            .await;
            db.close().await;
            let rows = rows?;
            if format == "json" {
                println!("{:#}", hourly_usage::metering_json(month, &rows));
            } else {
                print!("{}", hourly_usage::metering_csv(month, &rows));
            }
            Ok(())
        }
        Command::Webhooks(WebhooksCommand::Test { endpoint }) => {
            test_webhook(&config, &endpoint).await
        }
        Command::Demo => {
            let db = serve::open_database(&config).await?;
            match demo::ensure_demo(&db).await? {
                DemoOutcome::Created(app, credentials) => {
                    println!("{}", credentials_json(&app, &credentials));
                }
                DemoOutcome::Exists(app) => println!(
                    "the demo application already exists (client_id {}); its secret was shown when it was created",
                    app.client_id
                ),
            }
            db.close().await;
            Ok(())
        }
    }
}

/// `portico webhooks test --endpoint ID`: queues a `portico.test` event for the endpoint and
/// sends it at once from this process (signed like every delivery), printing the answer. A
/// failed attempt stays queued for its retries and exits 1.
async fn test_webhook(config: &Config, endpoint: &str) -> anyhow::Result<()> {
    use portico_core::webhooks;
    use portico_server::http::public_client::DestinationPolicy;
    use portico_server::webhooks::DeliveryWorker;
    use std::sync::Arc;
    let db = serve::open_database(config).await?;
    let message_id = match webhooks::send_test_event(&db, None, endpoint).await {
        Ok(id) => id,
        Err(portico_core::CoreError::NotFound { .. }) => {
            db.close().await;
            anyhow::bail!("there is no webhook endpoint {endpoint:?}");
        }
        Err(e) => return Err(e.into()),
    };
    let sealer = master_key::load_sealer(config)?;
    let tokens = Arc::new(
        serve::start_tokens(config, &db, sealer, config.issuer(config.sandbox_addr)).await?,
    );
    let policy = DestinationPolicy {
        allow_http_loopback: config.webhooks_allow_http_loopback,
    };
    let worker = Arc::new(
        DeliveryWorker::new(db.clone(), tokens, policy)
            .map_err(|e| anyhow::anyhow!("cannot build the webhook HTTP client: {e}"))?,
    );
    let sent = worker.deliver_now(&message_id, endpoint).await;
    db.close().await;
    match sent? {
        Some((webhooks::AttemptResult::Delivered, outcome)) => {
            println!(
                "delivered {message_id} to {endpoint}: HTTP {} in {} ms",
                outcome.status_code.unwrap_or_default(),
                outcome.latency_ms
            );
            Ok(())
        }
        Some((_, outcome)) => {
            let answer = match (outcome.status_code, &outcome.error) {
                (_, Some(error)) => error.clone(),
                (Some(code), None) => format!("HTTP {code}"),
                (None, None) => "no answer".to_owned(),
            };
            anyhow::bail!(
                "delivery of {message_id} to {endpoint} failed ({answer}); it stays queued for its retries"
            )
        }
        None => {
            println!("queued {message_id} for {endpoint}; a running portico is sending it");
            Ok(())
        }
    }
}
