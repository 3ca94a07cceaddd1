//! The command line: `portico [serve|migrate|admin create|app …|check|…]`.

use crate::config::SETTINGS;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::LazyLock;

static ENVIRONMENT_HELP: LazyLock<String> = LazyLock::new(|| {
    let mut help = String::from(
        "Configuration: built-in defaults < portico.toml (or --config FILE) < environment.\n\
         In portico.toml use the lower-case key shown in brackets.\n\nEnvironment:\n",
    );
    for (var, key, default, meaning) in SETTINGS {
        let default = if default.is_empty() {
            String::new()
        } else {
            format!(" (default {default})")
        };
        help.push_str(&format!("  {var:<28} [{key}] {meaning}{default}\n"));
    }
    help.push_str("\nExit codes: 0 success, 1 runtime failure, 2 invalid configuration or usage.");
    help
});

#[derive(Debug, Parser)]
#[command(
    name = "portico",
    version,
    about = "Portico: developer portal, OAuth 2.0 token server and sandbox gateway in one binary",
    after_help = ENVIRONMENT_HELP.as_str()
)]
pub struct Cli {
    /// Configuration file (default: ./portico.toml when it exists)
    #[arg(long, global = true, value_name = "FILE", env = "PORTICO_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal and sandbox fronts (the default)
    Serve,
    /// Create the database if needed and apply pending migrations, then exit
    Migrate,
    /// Manage administrators
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage applications (OAuth clients)
    #[command(subcommand)]
    App(AppCommand),
    /// Manage token signing keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create the demo partner and application when missing (idempotent)
    Demo,
    /// Webhook endpoints
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Usage and metering
    #[command(subcommand)]
    Usage(UsageCommand),
    /// Load the content (policies and API models) as start-up does and list every problem,
    /// one per line; exit 0 when there is none, 2 otherwise
    Check {
        /// The content folder (with api/ and policies/); default PORTICO_CONTENT_DIR
        #[arg(long, value_name = "DIR")]
        content: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Print a month's calls by partner, operation, stage and status class (for billing)
    Export {
        /// The month, YYYY-MM (UTC)
        #[arg(long, value_parser = parse_month)]
        month: portico_core::traffic::hourly_usage::Month,
        /// Only this partner (slug)
        #[arg(long)]
        partner: Option<String>,
        /// csv or json
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
    },
}

fn parse_month(text: &str) -> Result<portico_core::traffic::hourly_usage::Month, String> {
    portico_core::traffic::hourly_usage::Month::parse(text).map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Send a portico.test event to an endpoint now and print how it answered
    Test {
        /// The endpoint's id (wep_…, shown on its portal page)
        #[arg(long, value_name = "ID")]
        endpoint: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application and print its credentials once, as JSON
    Create {
        /// Partner id (slug); the partner is created, approved, when it does not exist
        #[arg(long, value_name = "PARTNER")]
        partner: String,
        /// Application name, unique within the partner
        #[arg(long)]
        name: String,
        /// Approved scopes, space-separated, e.g. "commercial:read commercial:write"
        #[arg(long, default_value = "")]
        scopes: String,
        /// Usage plan
        #[arg(long, default_value = "sandbox")]
        plan: String,
    },
    /// Change an application's usage plan and per-application limit overrides
    Limits {
        /// The application's client_id
        #[arg(long)]
        client_id: String,
        /// New usage plan (sandbox, standard, premium, …)
        #[arg(long)]
        plan: Option<String>,
        /// Override: requests per second (token refill rate)
        #[arg(long)]
        rate: Option<u64>,
        /// Override: burst (token bucket capacity)
        #[arg(long)]
        burst: Option<u64>,
        /// Override: requests per quota period
        #[arg(long)]
        quota: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Publish the next signing key; it signs after PORTICO_KEY_ROTATION_LEAD (or now with --promote)
    Rotate {
        /// Make the next key sign now (the current key starts retiring)
        #[arg(long)]
        promote: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin and print a one-time sign-in link (valid 24 hours)
    Create {
        /// The admin's email address
        #[arg(long)]
        email: String,
    },
}
