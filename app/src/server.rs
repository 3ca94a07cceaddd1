//! Server-only code of the portal: what pages read from the running installation.

use crate::pages::status::ComponentStatus;
use leptos::prelude::*;
use portico_core::Database;
use std::time::Duration;

/// What server functions need from the process, provided as Leptos context per request.
#[derive(Clone, Debug)]
pub struct PortalContext {
    pub db: Database,
}

/// The platform's components and whether each works right now. Every component depends on
/// the database, so its reachability decides.
pub async fn system_status() -> Vec<ComponentStatus> {
    let database_ok = match use_context::<PortalContext>() {
        Some(ctx) => matches!(
            tokio::time::timeout(Duration::from_secs(2), ctx.db.ping()).await,
            Ok(Ok(()))
        ),
        None => false,
    };
    ["Developer portal", "Token server", "Sandbox API"]
        .into_iter()
        .map(|name| ComponentStatus {
            name: name.to_owned(),
            operational: database_ok,
        })
        .collect()
}
