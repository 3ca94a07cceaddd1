//! Portico's domain, storage and enforcement core.
//!
//! Everything the portal, the token server and the gateway share lives here, free of any HTTP
//! framework: handlers parse input, call into this crate and map [`CoreError`] to responses.
//!
//! One folder per domain, each owning its tables and rules (see the folder's `mod.rs`), over a
//! few shared kernels. Dependencies point one way, with no cycle between domains:
//! kernels ← identity ← audit ← accounts / orgs ← apps ← authz ← tokens ← enforce, and apps ←
//! traffic / webhooks / status / lifecycle / sandbox_data; kernels know no domain.

// Domains.
pub mod accounts;
pub mod apps;
pub mod audit;
pub mod authz;
pub mod enforce;
pub mod identity;
pub mod lifecycle;
pub mod orgs;
pub mod sandbox_data;
pub mod status;
pub mod tokens;
pub mod traffic;
pub mod webhooks;

// Shared kernels: storage, time, ids, errors, secrets, networks, caches, change announcements.
pub mod cache;
pub mod changes;
pub mod clock;
pub mod db;
pub mod error;
pub mod ids;
pub mod net;
pub mod request_id;
pub mod secret;
pub mod settings;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use db::{Backend, Database, DatabaseUrl};
pub use error::{CoreError, CoreResult};
