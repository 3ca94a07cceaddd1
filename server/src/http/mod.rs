//! HTTP plumbing shared by both fronts: request ids, access logs, metrics, health checks.

pub mod health;
pub mod jwks_fetch;
pub mod metrics;
pub mod observe;
pub mod public_client;
