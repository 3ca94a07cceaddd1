//! Form handlers: each parses a plain HTML form, calls the core, and answers 303 to the page to
//! show next with a one-time message (post/redirect/get, so reloading never re-submits).

pub mod admin;
pub mod apps;
pub mod auth;
pub mod federation;
pub mod incidents;
pub mod org;
pub mod try_it;
pub mod versions;
pub mod webhooks;

use axum::Router;

use super::PortalState;

pub fn routes() -> Router<PortalState> {
    Router::new()
        .merge(admin::routes())
        .merge(apps::routes())
        .merge(auth::routes())
        .merge(federation::routes())
        .merge(incidents::routes())
        .merge(org::routes())
        .merge(try_it::routes())
        .merge(versions::routes())
        .merge(webhooks::routes())
}
