//! Structured logs through `tracing`: human-readable by default, JSON with `PORTICO_LOG=json`.
//! Request spans carry the request id, so every line logged while serving a request has it.

use crate::config::{LogConfig, LogFormat};
use std::io::IsTerminal as _;
use tracing_subscriber::EnvFilter;

pub fn init(log: &LogConfig) {
    // Our crates at the chosen level; chatty dependencies only when they warn.
    let filter = EnvFilter::new(format!(
        "warn,portico={lvl},portico_server={lvl},portico_core={lvl},portico_sandbox={lvl},portico_app={lvl}",
        lvl = log.level
    ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests that build several apps) keeps the first subscriber: ignore it.
    let _ = match log.format {
        LogFormat::Human => builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
