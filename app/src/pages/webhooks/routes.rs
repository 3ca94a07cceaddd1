//! Where the webhook forms post: each axum route pattern, declared once for the page's
//! `<form action>` (filled with [`route`](crate::pages::route)) and the server's handler
//! (`server/src/portal/actions/webhooks.rs`).

/// Add an endpoint to an application.
pub const CREATE: &str = "/apps/{id}/webhooks";
/// An endpoint's page (its delivery log's filters are a GET form to it).
pub const ENDPOINT: &str = "/apps/{id}/webhooks/{endpoint}";
/// Change an endpoint's URL, description and event types.
pub const EDIT: &str = "/apps/{id}/webhooks/{endpoint}/edit";
/// Enable an endpoint.
pub const ENABLE: &str = "/apps/{id}/webhooks/{endpoint}/enable";
/// Disable an endpoint.
pub const DISABLE: &str = "/apps/{id}/webhooks/{endpoint}/disable";
/// Rotate an endpoint's signing secret.
pub const ROTATE: &str = "/apps/{id}/webhooks/{endpoint}/rotate";
/// Send a test event.
pub const TEST: &str = "/apps/{id}/webhooks/{endpoint}/test";
/// Delete an endpoint.
pub const DELETE: &str = "/apps/{id}/webhooks/{endpoint}/delete";
/// Send one message again.
pub const REPLAY: &str = "/apps/{id}/webhooks/{endpoint}/replay";
/// Send every failed message since a time again.
pub const REPLAY_FAILED: &str = "/apps/{id}/webhooks/{endpoint}/replay-failed";
