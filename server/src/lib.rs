//! The `portico` binary's library: configuration, wiring of the two fronts, and the CLI.
//! Kept as a library so integration tests drive the same routers the binary serves.

pub mod cli;
pub mod config;
pub mod fronts;
pub mod http;
pub mod portal;
pub mod serve;
pub mod telemetry;
