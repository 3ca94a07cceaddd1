//! Where the admin console's forms post: each axum route pattern, declared once for the page's
//! `<form action>` (filled with [`route`](crate::pages::route)) and the server's handler.

/// Approve (or reinstate) a partner organisation.
pub const PARTNER_APPROVE: &str = "/admin/partners/{id}/approve";
/// Reject a pending partner organisation.
pub const PARTNER_REJECT: &str = "/admin/partners/{id}/reject";
/// Suspend an approved partner organisation.
pub const PARTNER_SUSPEND: &str = "/admin/partners/{id}/suspend";
/// Approve or deny a scope request.
pub const SCOPE_REQUEST_DECIDE: &str = "/admin/scope-requests/{id}/decide";
/// Suspend an application.
pub const APP_SUSPEND: &str = "/admin/applications/{id}/suspend";
/// Reactivate a suspended application.
pub const APP_REACTIVATE: &str = "/admin/applications/{id}/reactivate";
/// Set an application's usage plan and limit overrides.
pub const APP_PLAN: &str = "/admin/applications/{id}/plan";
/// Grant an application production access.
pub const APP_PRODUCTION_GRANT: &str = "/admin/applications/{id}/production/grant";
/// Revoke an application's production access.
pub const APP_PRODUCTION_REVOKE: &str = "/admin/applications/{id}/production/revoke";
/// Revoke a scope granted to an application.
pub const APP_SCOPE_REVOKE: &str = "/admin/applications/{id}/scopes/revoke";
/// Publish the next signing key.
pub const KEYS_ROTATE: &str = "/admin/keys/rotate";
/// Make the next signing key sign now.
pub const KEYS_PROMOTE: &str = "/admin/keys/promote";
/// Open an incident or announce maintenance.
pub const INCIDENTS: &str = "/admin/incidents";
/// Post an update to an incident.
pub const INCIDENT_UPDATES: &str = "/admin/incidents/{id}/updates";
/// Resolve an incident (complete a maintenance).
pub const INCIDENT_RESOLVE: &str = "/admin/incidents/{id}/resolve";
/// Set or reset an API version's dates.
pub const VERSION_DATES: &str = "/admin/versions/{version}/dates";
/// Approve a partner's identity provider (federation).
pub const IDP_APPROVE: &str = "/admin/identity-providers/{id}/approve";
/// Reject a partner's identity provider.
pub const IDP_REJECT: &str = "/admin/identity-providers/{id}/reject";
