use anyhow::Context as _;
use clap::Parser as _;
use portico_core::audit::Actor;
use portico_core::bootstrap;
use portico_server::cli::{AdminCommand, Cli, Command};
use portico_server::config::Config;
use portico_server::{serve, telemetry};
use std::process::ExitCode;

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

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
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
    }
}
