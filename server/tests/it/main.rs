//! Integration tests of the `portico` binary's fronts and CLI: one test binary, shared helpers.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly by unwrapping")]

mod add_your_own_api;
mod cli;
mod common;
mod deprecations;
mod docs;
mod dpop;
mod existence_oracle;
mod faults;
mod federation;
mod gateway;
mod markup_injection;
mod model_examples;
mod mtls;
mod oauth;
mod partner_log;
mod portal;
mod portal_accounts;
mod portal_admin;
mod portal_apps;
mod private_key_jwt;
mod replicas;
mod request_log_portal;
mod sandbox;
mod sandbox_consistency;
mod sdks;
mod secret_scanning;
mod sso;
mod status;
mod usage_charts;
mod webhooks;
mod webhooks_portal;
