//! Portico's domain, storage and enforcement core.
//!
//! Everything the portal, the token server and the gateway share lives here, free of any HTTP
//! framework: handlers parse input, call into this crate and map [`CoreError`] to responses.

pub mod accounts;
pub mod admin_log;
pub mod api_versions;
pub mod applications;
pub mod audit;
pub mod authz;
pub mod bootstrap;
pub mod cache;
pub mod changes;
pub mod clock;
pub mod credentials;
pub mod db;
pub mod demo;
pub mod email;
pub mod enforce;
pub mod error;
pub mod ids;
pub mod organisations;
pub mod partner_log;
pub mod partners;
pub mod passwords;
pub mod permissions;
pub mod portal_apps;
pub mod preferences;
pub mod request_id;
pub mod request_log;
pub mod request_usage;
pub mod reveal;
pub mod sandbox_data;
pub mod scope_requests;
pub mod scopes;
pub mod secret;
pub mod sessions;
pub mod settings;
pub mod status;
pub mod tokens;
pub mod usage;
pub mod users;
pub mod webhooks;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use db::{Backend, Database, DatabaseUrl};
pub use error::{CoreError, CoreResult};
