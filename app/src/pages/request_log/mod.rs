//! An application's request log in the portal (`/apps/{id}/logs`): its calls to the sandbox,
//! newest first, with a GET filter form, keyset pages ("Older calls →", never page numbers or
//! OFFSET) and downloads of the same selection as CSV or NDJSON (streamed by
//! `server/src/portal/request_log_export.rs`). One call's page (`/apps/{id}/logs/{request_id}`)
//! shows its fields and what the gateway's pipeline did with it, step by step, with a sentence
//! saying what to do and a link to where it is done.
//!
//! Like every portal page it works with JavaScript off: the filters are a plain GET form, the
//! pages and downloads plain links. The core decides who may read the log (ViewLogs) and binds
//! every query to the application's own calls; another organisation's application or call is
//! "not found".//!
//! This folder owns those pages: the filters (here), [`data`] (what the pages show and the reads
//! behind it) and [`view`].

pub mod data;
mod view;

pub use data::*;
pub use view::{RequestDetail, RequestLog};

use portico_docsite::reference::percent_encode;
use serde::{Deserialize, Serialize};

/// Calls per page of the log.
pub const PAGE_SIZE: u32 = 50;

/// The log's filters as typed (query string values); checked by [`ssr::log_query`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogFilters {
    /// `datetime-local` (UTC), inclusive.
    pub from: String,
    /// `datetime-local` (UTC), exclusive.
    pub to: String,
    /// all, 2xx, 4xx or 5xx.
    pub status: String,
    /// A Cedar action, e.g. `commercial:CreateOrder`.
    pub operation: String,
    pub version: String,
    /// all, allowed, denied or throttled.
    pub decision: String,
    pub request_id: String,
    /// Where the page starts (an encoded `LogCursor` the previous page gave out).
    pub cursor: String,
}

impl LogFilters {
    const KEYS: [&'static str; 8] = [
        "from",
        "to",
        "status",
        "operation",
        "version",
        "decision",
        "request_id",
        "cursor",
    ];

    /// The filters of a query string's pairs (the last value of a repeated key wins; other
    /// keys are ignored).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut filters = Self::default();
        for (key, value) in pairs {
            filters.set(key.as_ref(), value.as_ref());
        }
        filters
    }

    fn set(&mut self, key: &str, value: &str) {
        let value = value.to_owned();
        match key {
            "from" => self.from = value,
            "to" => self.to = value,
            "status" => self.status = value,
            "operation" => self.operation = value,
            "version" => self.version = value,
            "decision" => self.decision = value,
            "request_id" => self.request_id = value,
            "cursor" => self.cursor = value,
            _ => {}
        }
    }

    fn get(&self, key: &str) -> &str {
        match key {
            "from" => &self.from,
            "to" => &self.to,
            "status" => &self.status,
            "operation" => &self.operation,
            "version" => &self.version,
            "decision" => &self.decision,
            "request_id" => &self.request_id,
            "cursor" => &self.cursor,
            _ => "",
        }
    }

    /// The filters (not the cursor) as a query string: `?status=4xx&…`, or "" when none is set.
    pub fn query(&self) -> String {
        self.query_with_cursor(None)
    }

    /// [`LogFilters::query`] plus `cursor`.
    pub fn query_with_cursor(&self, cursor: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = Self::KEYS
            .iter()
            .filter(|key| **key != "cursor")
            .map(|key| (*key, self.get(key).trim()))
            // "all" is what the selects say when nothing is chosen: no filter.
            .filter(|(key, value)| !value.is_empty() && (*key == "operation" || *value != "all"))
            .collect();
        if let Some(cursor) = cursor {
            pairs.push(("cursor", cursor));
        }
        if pairs.is_empty() {
            return String::new();
        }
        let joined: Vec<String> = pairs
            .into_iter()
            .map(|(key, value)| format!("{key}={}", percent_encode(value)))
            .collect();
        format!("?{}", joined.join("&"))
    }

    /// Whether any filter (not the cursor) narrows the log.
    pub fn is_filtered(&self) -> bool {
        !self.query().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::LogFilters;

    #[test]
    fn filters_round_trip_through_the_query_string() {
        let filters = LogFilters {
            from: "2026-11-25T17:40".into(),
            status: "all".into(),
            operation: "commercial:CreateOrder".into(),
            request_id: "req 1&x".into(),
            cursor: "abc".into(),
            ..LogFilters::default()
        };
        assert_eq!(
            filters.query(),
            "?from=2026-11-25T17%3A40&operation=commercial%3ACreateOrder&request_id=req%201%26x"
        );
        assert_eq!(
            LogFilters::default().query_with_cursor(Some("c_1")),
            "?cursor=c_1"
        );
        assert!(!LogFilters::default().is_filtered());
        let back = LogFilters::from_pairs([("status", "4xx"), ("status", "5xx"), ("x", "y")]);
        assert_eq!(back.status, "5xx");
    }
}
