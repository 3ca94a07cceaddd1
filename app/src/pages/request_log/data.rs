//! The request log's data: a page of calls and one call's steps as shown, their `#[server]`
//! functions, and (`ssr`) the filters' checks and core reads, shared with the downloads.

use super::LogFilters;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One call as the log's table shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRow {
    pub request_id: String,
    /// `2026-11-25 17:40:12.345 UTC`.
    pub time: String,
    pub method: String,
    pub route: String,
    pub action: String,
    pub version: String,
    pub status: u16,
    /// allowed, denied or throttled.
    pub decision: String,
    /// Milliseconds, e.g. `1.234`.
    pub latency_ms: String,
}

/// Everything the log page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPageData {
    pub app_id: String,
    pub app_name: String,
    pub filters: LogFilters,
    /// What was wrong with the filters (then no rows are read).
    pub errors: Vec<String>,
    pub rows: Vec<LogRow>,
    /// The cursor of the next (older) page, if there is one.
    pub next_cursor: Option<String>,
    /// The operations of the API: (Cedar action, label).
    pub operations: Vec<(String, String)>,
    pub versions: Vec<String>,
}

/// One step of the pipeline on a call's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRow {
    pub label: String,
    /// passed, failed or not-reached.
    pub outcome: String,
    /// For a failed step, the recorded reason.
    pub why: String,
}

/// Everything a call's page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDetailData {
    pub app_id: String,
    pub app_name: String,
    pub row: LogRow,
    pub reason: String,
    pub client_id: String,
    pub client_ip: String,
    pub stage: String,
    pub steps: Vec<StepRow>,
    pub summary: String,
    /// (label, link) where the problem is fixed in the portal.
    pub fix: Option<(String, String)>,
}

#[server]
pub async fn request_log_page(
    app_id: String,
    filters: LogFilters,
) -> Result<LogPageData, ServerFnError> {
    ssr::log_page(&app_id, filters).await
}

#[server]
pub async fn request_detail_page(
    app_id: String,
    request_id: String,
) -> Result<RequestDetailData, ServerFnError> {
    ssr::detail_page(&app_id, &request_id).await
}

/// Server-only: the filters' checks and the rows, shared with the downloads.
#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{LogFilters, LogPageData, LogRow, RequestDetailData, StepRow};
    use crate::server::{actor, page_error, portal};
    use leptos::prelude::ServerFnError;
    use portico_core::apps::access;
    use portico_core::clock;
    use portico_core::identity::permissions::PortalAction;
    use portico_core::traffic::partner_log::{
        self, DecisionFilter, LogCursor, LogEntry, LogQuery, StatusClass, StepOutcome,
    };
    use portico_core::{CoreError, Database};
    use std::collections::BTreeMap;

    /// The longest operation, version or request id a filter takes.
    const MAX_FILTER_LEN: usize = 200;

    /// A `datetime-local` value (UTC) or an RFC 3339 time → unix ms.
    fn instant(label: &str, text: &str, errors: &mut Vec<String>) -> Option<i64> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let parsed =
            clock::parse_rfc3339_ms(text).or_else(|| clock::parse_rfc3339_ms(&format!("{text}Z")));
        if parsed.is_none() {
            errors.push(format!(
                "{label}: {text:?} is not a date and time like 2026-11-25T17:40 (UTC)."
            ));
        }
        parsed
    }

    fn text_filter(label: &str, text: &str, errors: &mut Vec<String>) -> Option<String> {
        let text = text.trim();
        if text.len() > MAX_FILTER_LEN {
            errors.push(format!("{label}: at most {MAX_FILTER_LEN} characters."));
            return None;
        }
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// The core's query for `filters` (`limit` rows), or every reason it cannot be made.
    pub fn log_query(filters: &LogFilters, limit: u32) -> Result<LogQuery, Vec<String>> {
        let mut errors = Vec::new();
        let from_ms = instant("From", &filters.from, &mut errors);
        let to_ms = instant("To", &filters.to, &mut errors);
        if let (Some(from), Some(to)) = (from_ms, to_ms)
            && from >= to
        {
            errors.push("From must be before To.".to_owned());
        }
        let status = StatusClass::parse(&filters.status).unwrap_or_else(|e| {
            errors.push(format!("Status: {}", message(e)));
            None
        });
        let decision = DecisionFilter::parse(&filters.decision).unwrap_or_else(|e| {
            errors.push(format!("Decision: {}", message(e)));
            None
        });
        let action = text_filter("Operation", &filters.operation, &mut errors);
        let version = text_filter("Version", &filters.version, &mut errors);
        let request_id = text_filter("Request id", &filters.request_id, &mut errors);
        let cursor = filters.cursor.trim();
        let after = if cursor.is_empty() {
            None
        } else {
            LogCursor::decode(cursor)
                .map_err(|e| {
                    errors.push(format!("{} Start again from the newest calls.", message(e)));
                })
                .ok()
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(LogQuery {
            from_ms,
            to_ms,
            status,
            action,
            version,
            decision,
            request_id,
            after,
            limit: limit.clamp(1, partner_log::MAX_PAGE),
        })
    }

    fn message(error: CoreError) -> String {
        match error {
            CoreError::Invalid(m) => m,
            other => other.to_string(),
        }
    }

    /// allowed, denied or throttled (refused by the usage plan: 429).
    pub fn decision_label(entry: &LogEntry) -> &'static str {
        if entry.decision == "allow" {
            "allowed"
        } else if entry.status == 429 {
            "throttled"
        } else {
            "denied"
        }
    }

    /// Microseconds as milliseconds with three decimals (`1.234`).
    pub fn latency_ms(us: i64) -> String {
        let sign = if us < 0 { "-" } else { "" };
        let us = us.unsigned_abs();
        format!("{sign}{}.{:03}", us / 1000, us % 1000)
    }

    /// `2026-11-25 17:40:12.345 UTC`.
    fn display_time(ms: i64) -> String {
        let text = clock::format_rfc3339_ms(ms);
        format!("{} UTC", text.replacen('T', " ", 1).trim_end_matches('Z'))
    }

    fn row(entry: &LogEntry) -> LogRow {
        LogRow {
            request_id: entry.request_id.clone(),
            time: display_time(entry.occurred_at_ms),
            method: entry.method.clone(),
            route: entry.route.clone(),
            action: entry.action.clone().unwrap_or_default(),
            version: entry.version.clone().unwrap_or_default(),
            status: entry.status,
            decision: decision_label(entry).to_owned(),
            latency_ms: latency_ms(entry.latency_us),
        }
    }

    /// A refusal as the page shows it; "not found" also sets the 404 status.
    fn not_found(error: CoreError) -> ServerFnError {
        if matches!(error, CoreError::NotFound { .. })
            && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
        {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
        page_error(error)
    }

    /// The application's name, if the signed-in user may read its log.
    async fn app_name(
        db: &Database,
        ctx: &portico_core::identity::ActorContext,
        app_id: &str,
    ) -> Result<String, ServerFnError> {
        access::authorize_app_access(db, ctx, app_id, PortalAction::ViewLogs)
            .await
            .map(|app| app.name)
            .map_err(not_found)
    }

    pub(super) async fn log_page(
        app_id: &str,
        filters: LogFilters,
    ) -> Result<LogPageData, ServerFnError> {
        let ctx = actor().ok_or_else(|| ServerFnError::new("Sign in to continue."))?;
        let portal_ctx = portal()?;
        let db = portal_ctx.db.clone();
        let app_name = app_name(&db, &ctx, app_id).await?;
        let docs = portal_ctx.docs.current();
        let mut operations = BTreeMap::new();
        for version in docs.versions() {
            for op in &version.operations {
                operations
                    .entry(op.action.clone())
                    .or_insert_with(|| format!("{} ({} {})", op.action, op.method, op.path));
            }
        }
        let versions = docs.versions().iter().map(|v| v.name.clone()).collect();
        let mut data = LogPageData {
            app_id: app_id.to_owned(),
            app_name,
            filters: LogFilters::default(),
            errors: Vec::new(),
            rows: Vec::new(),
            next_cursor: None,
            operations: operations.into_iter().collect(),
            versions,
        };
        match log_query(&filters, super::super::PAGE_SIZE) {
            Err(errors) => data.errors = errors,
            Ok(query) => match partner_log::application_page(&db, &ctx, app_id, &query).await {
                Ok(page) => {
                    data.rows = page.entries.iter().map(row).collect();
                    data.next_cursor = page.next.map(|c| c.encode());
                }
                Err(CoreError::Invalid(m)) => data.errors = vec![m],
                Err(e) => return Err(not_found(e)),
            },
        }
        data.filters = filters;
        Ok(data)
    }

    pub(super) async fn detail_page(
        app_id: &str,
        request_id: &str,
    ) -> Result<RequestDetailData, ServerFnError> {
        let ctx = actor().ok_or_else(|| ServerFnError::new("Sign in to continue."))?;
        let db = portal()?.db;
        let app_name = app_name(&db, &ctx, app_id).await?;
        if request_id.trim().is_empty() || request_id.len() > MAX_FILTER_LEN {
            return Err(not_found(CoreError::NotFound { what: "request" }));
        }
        let entry = partner_log::application_entry(&db, &ctx, app_id, request_id)
            .await
            .map_err(not_found)?;
        let explanation = partner_log::explain(&entry, app_id);
        let steps = explanation
            .steps
            .iter()
            .map(|(step, outcome)| {
                let (outcome, why) = match outcome {
                    StepOutcome::Passed => ("passed", String::new()),
                    StepOutcome::Failed(why) => ("failed", why.clone()),
                    StepOutcome::NotReached => ("not-reached", String::new()),
                };
                StepRow {
                    label: step.label().to_owned(),
                    outcome: outcome.to_owned(),
                    why,
                }
            })
            .collect();
        Ok(RequestDetailData {
            app_id: app_id.to_owned(),
            app_name,
            row: row(&entry),
            reason: entry.reason.clone().unwrap_or_default(),
            client_id: entry.client_id.clone().unwrap_or_default(),
            client_ip: entry.client_ip.clone().unwrap_or_default(),
            stage: entry.stage.clone(),
            steps,
            summary: explanation.summary,
            fix: explanation.fix,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::super::LogFilters;
        use super::*;

        #[test]
        fn filters_become_the_core_query_or_say_what_is_wrong() {
            let filters = LogFilters {
                from: "2025-12-06T10:00".into(),
                to: "2025-12-06T11:00:30".into(),
                status: "4xx".into(),
                operation: " commercial:CreateOrder ".into(),
                version: "v2".into(),
                decision: "denied".into(),
                request_id: String::new(),
                cursor: LogCursor {
                    occurred_at_ms: 5,
                    request_id: "req_1".into(),
                }
                .encode(),
            };
            let query = log_query(&filters, 50).unwrap();
            assert_eq!(query.from_ms, Some(1_765_015_200_000));
            assert_eq!(query.to_ms, Some(1_765_018_830_000));
            assert_eq!(query.status, Some(StatusClass::ClientError));
            assert_eq!(query.decision, Some(DecisionFilter::Denied));
            assert_eq!(query.action.as_deref(), Some("commercial:CreateOrder"));
            assert_eq!(query.request_id, None);
            assert_eq!(query.after.unwrap().request_id, "req_1");
            assert_eq!(query.limit, 50);

            let bad = LogFilters {
                from: "yesterday".into(),
                status: "3xx".into(),
                decision: "maybe".into(),
                cursor: "not-a-cursor".into(),
                ..LogFilters::default()
            };
            let errors = log_query(&bad, 50).unwrap_err();
            assert_eq!(errors.len(), 4, "{errors:?}");
            assert!(errors[0].starts_with("From: \"yesterday\" is not a date"));
            assert!(errors.iter().any(|e| e.contains("cursor")));
            let backwards = LogFilters {
                from: "2025-12-06T11:00".into(),
                to: "2025-12-06T10:00".into(),
                ..LogFilters::default()
            };
            assert_eq!(
                log_query(&backwards, 50).unwrap_err(),
                ["From must be before To."]
            );
        }

        #[test]
        fn latency_and_time_read_in_milliseconds() {
            assert_eq!(latency_ms(1_234), "1.234");
            assert_eq!(latency_ms(5), "0.005");
            assert_eq!(
                display_time(1_765_015_200_123),
                "2025-12-06 10:00:00.123 UTC"
            );
        }
    }
}
