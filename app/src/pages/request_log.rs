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
//! "not found".

use crate::pages::org::error_text;
use crate::viewer::{SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;
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
        match log_query(&filters, super::PAGE_SIZE) {
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

fn decision_badge(decision: &str) -> impl IntoView + use<> {
    let tone = match decision {
        "allowed" => "ok",
        "throttled" => "pending",
        _ => "bad",
    };
    let class = format!("badge {tone} decision-{decision}");
    view! { <span class=class>{decision.to_owned()}</span> }
}

/// The page shown instead when the application (or call) is not there for this user.
fn not_found_view(title: &'static str, error: &ServerFnError, back: String) -> AnyView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <div class="panel">
            <p>{error_text(error)}</p>
            <a href=back class="button">"Back"</a>
        </div>
    }
    .into_any()
}

#[component]
pub fn RequestLog() -> impl IntoView {
    let viewer = Viewer::current();
    if viewer.user.is_none() {
        return view! {
            <Title text="Request log" />
            <h1>"Request log"</h1>
            <SignInRequired />
        }
        .into_any();
    }
    let app_id = leptos_router::hooks::use_params_map()
        .read_untracked()
        .get("id")
        .unwrap_or_default();
    let query = leptos_router::hooks::use_query_map().read_untracked();
    let filters = LogFilters::from_pairs(
        LogFilters::KEYS
            .iter()
            .filter_map(|key| query.get(key).map(|value| (*key, value))),
    );
    let data = Resource::new(
        move || (app_id.clone(), filters.clone()),
        |(app_id, filters)| request_log_page(app_id, filters),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading the request log…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <LogView data /> }.into_any(),
                    Err(e) => not_found_view("Application not found", &e, "/apps".to_owned()),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn LogView(data: LogPageData) -> impl IntoView {
    let base = format!("/apps/{}/logs", data.app_id);
    let app_href = format!("/apps/{}", data.app_id);
    let filters = data.filters.clone();
    let title = format!("Request log: {}", data.app_name);
    let errors = (!data.errors.is_empty()).then(|| {
        let clear = base.clone();
        view! {
            <div class="notice error" role="alert" data-testid="log-errors">
                <p><strong>"These filters cannot be used:"</strong></p>
                <ul>
                    {data.errors.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}
                </ul>
                <p><a href=clear>"Show the newest calls without filters"</a></p>
            </div>
        }
    });
    let table = if !data.errors.is_empty() {
        ().into_any()
    } else if data.rows.is_empty() {
        let text = if filters.is_filtered() {
            "No calls match these filters."
        } else if !filters.cursor.is_empty() {
            "No older calls."
        } else {
            "No calls yet. Calls this application makes to the sandbox appear here within seconds."
        };
        view! { <p class="muted" data-testid="no-calls">{text}</p> }.into_any()
    } else {
        let rows = data
            .rows
            .iter()
            .map(|row| {
                let href = format!("{base}/{}", percent_encode(&row.request_id));
                let action = if row.action.is_empty() {
                    view! { <span class="muted">"—"</span> }.into_any()
                } else {
                    view! { <code>{row.action.clone()}</code> }.into_any()
                };
                let version = if row.version.is_empty() {
                    "—".to_owned()
                } else {
                    row.version.clone()
                };
                view! {
                    <tr data-request-id=row.request_id.clone() data-decision=row.decision.clone()
                        data-status=row.status.to_string()>
                        <td class="nowrap">{row.time.clone()}</td>
                        <td><code>{row.method.clone()}</code></td>
                        <td><code>{row.route.clone()}</code></td>
                        <td>{action}</td>
                        <td>{version}</td>
                        <td>{row.status}</td>
                        <td>{decision_badge(&row.decision)}</td>
                        <td class="numeric">{format!("{} ms", row.latency_ms)}</td>
                        <td><a href=href class="mono">{row.request_id.clone()}</a></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Calls, newest first">
                <table class="data-table request-log" data-testid="request-log">
                    <caption>"Calls, newest first"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Time (UTC)"</th>
                            <th scope="col">"Method"</th>
                            <th scope="col">"Route"</th>
                            <th scope="col">"Operation"</th>
                            <th scope="col">"Version"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Decision"</th>
                            <th scope="col">"Latency"</th>
                            <th scope="col">"Request ID"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let newest = (!filters.cursor.is_empty()).then(|| {
        let href = format!("{base}{}", filters.query());
        view! { <a href=href class="button small" data-testid="newest-calls">"← Newest calls"</a> }
    });
    let older = data.next_cursor.as_deref().map(|cursor| {
        let href = format!("{base}{}", filters.query_with_cursor(Some(cursor)));
        view! {
            <a href=href class="button small" rel="next" data-testid="older-calls">"Older calls →"</a>
        }
    });
    let pager = (newest.is_some() || older.is_some()).then(|| {
        view! { <nav class="pager" aria-label="Pages of the request log">{newest} " " {older}</nav> }
    });
    let csv = format!("{base}.csv{}", filters.query());
    let ndjson = format!("{base}.ndjson{}", filters.query());
    view! {
        <Title text=title />
        <p class="breadcrumb">
            <a href="/apps">"Applications"</a> " / "
            <a href=app_href>{data.app_name.clone()}</a> " / Request log"
        </p>
        <div class="page-head">
            <h1>"Request log"</h1>
        </div>
        <p class="lead">
            {format!(
                "The calls {} made to the sandbox, newest first, {} to a page. Times are UTC.",
                data.app_name,
                PAGE_SIZE
            )}
        </p>
        <LogFilterForm base=base.clone() filters=filters.clone() operations=data.operations.clone()
            versions=data.versions.clone() />
        {errors}
        {table}
        {pager}
        <p class="downloads" data-testid="log-downloads">
            "Download every call that matches these filters: "
            <a href=csv download="">"CSV"</a>
            " · "
            <a href=ndjson download="">"NDJSON"</a>
        </p>
    }
}

#[component]
fn LogFilterForm(
    base: String,
    filters: LogFilters,
    operations: Vec<(String, String)>,
    versions: Vec<String>,
) -> impl IntoView {
    let choices = |values: &[(&'static str, &'static str)], selected: &str| {
        let selected = match selected.trim() {
            "" => "all".to_owned(),
            other => other.to_owned(),
        };
        values
            .iter()
            .map(|(value, label)| {
                let is_selected = *value == selected;
                view! { <option value=*value selected=is_selected>{*label}</option> }
            })
            .collect_view()
    };
    let status = choices(
        &[
            ("all", "All"),
            ("2xx", "2xx"),
            ("4xx", "4xx"),
            ("5xx", "5xx"),
        ],
        &filters.status,
    );
    let decision = choices(
        &[
            ("all", "All"),
            ("allowed", "Allowed"),
            ("denied", "Denied"),
            ("throttled", "Throttled (429)"),
        ],
        &filters.decision,
    );
    let chosen_operation = filters.operation.trim().to_owned();
    let mut operations = operations;
    if !chosen_operation.is_empty() && !operations.iter().any(|(a, _)| *a == chosen_operation) {
        operations.push((chosen_operation.clone(), chosen_operation.clone()));
    }
    let operation_options = operations
        .into_iter()
        .map(|(action, label)| {
            let is_selected = action == chosen_operation;
            view! { <option value=action selected=is_selected>{label}</option> }
        })
        .collect_view();
    let chosen_version = filters.version.trim().to_owned();
    let mut versions = versions;
    if !chosen_version.is_empty() && !versions.contains(&chosen_version) {
        versions.push(chosen_version.clone());
    }
    let version_options = versions
        .into_iter()
        .map(|version| {
            let is_selected = version == chosen_version;
            let label = version.clone();
            view! { <option value=version selected=is_selected>{label}</option> }
        })
        .collect_view();
    let any_operation = chosen_operation.is_empty();
    let any_version = chosen_version.is_empty();
    let clear = base.clone();
    view! {
        <form method="get" action=base class="panel filters log-filters" role="search"
            aria-label="Filter the request log">
            <div class="field wide">
                <label for="log-request-id">"Find a request by its id"</label>
                <input id="log-request-id" name="request_id" type="search" class="mono"
                    value=filters.request_id.clone() placeholder="the x-request-id of the response"
                    autocomplete="off" spellcheck="false" maxlength="200" />
            </div>
            <div class="field">
                <label for="log-from">"From (UTC)"</label>
                <input id="log-from" name="from" type="datetime-local" value=filters.from.clone()
                    aria-describedby="log-time-hint" />
            </div>
            <div class="field">
                <label for="log-to">"To (UTC)"</label>
                <input id="log-to" name="to" type="datetime-local" value=filters.to.clone()
                    aria-describedby="log-time-hint" />
            </div>
            <div class="field">
                <label for="log-status">"Status"</label>
                <select id="log-status" name="status">{status}</select>
            </div>
            <div class="field">
                <label for="log-decision">"Decision"</label>
                <select id="log-decision" name="decision">{decision}</select>
            </div>
            <div class="field">
                <label for="log-operation">"Operation"</label>
                <select id="log-operation" name="operation">
                    <option value="" selected=any_operation>"Any operation"</option>
                    {operation_options}
                </select>
            </div>
            <div class="field">
                <label for="log-version">"Version"</label>
                <select id="log-version" name="version">
                    <option value="" selected=any_version>"Any version"</option>
                    {version_options}
                </select>
            </div>
            <p id="log-time-hint" class="hint wide">
                "Times in UTC, YYYY-MM-DDTHH:MM: calls from the first (included) up to the second (not included)."
            </p>
            <div class="actions wide">
                <button type="submit" class="button primary">"Filter"</button>
                " "
                <a href=clear class="button">"Clear filters"</a>
            </div>
        </form>
    }
}

#[component]
pub fn RequestDetail() -> impl IntoView {
    let viewer = Viewer::current();
    if viewer.user.is_none() {
        return view! {
            <Title text="Request" />
            <h1>"Request"</h1>
            <SignInRequired />
        }
        .into_any();
    }
    let params = leptos_router::hooks::use_params_map().read_untracked();
    let app_id = params.get("id").unwrap_or_default();
    let request_id = params.get("request_id").unwrap_or_default();
    let back = format!("/apps/{app_id}/logs");
    let data = Resource::new(
        move || (app_id.clone(), request_id.clone()),
        |(app_id, request_id)| request_detail_page(app_id, request_id),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading the request…"</p> }>
            {move || {
                let back = back.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <DetailView data /> }.into_any(),
                        Err(e) => not_found_view("Request not found", &e, back),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

#[component]
fn DetailView(data: RequestDetailData) -> impl IntoView {
    let app_href = format!("/apps/{}", data.app_id);
    let log_href = format!("/apps/{}/logs", data.app_id);
    let row = data.row.clone();
    let title = format!("Request {}", row.request_id);
    let or_dash = |text: &str| {
        if text.is_empty() {
            "—".to_owned()
        } else {
            text.to_owned()
        }
    };
    let fix = data.fix.clone().map(|(label, href)| {
        view! { <p><a href=href class="button primary fix-link" data-testid="fix">{label}</a></p> }
    });
    let steps = data
        .steps
        .iter()
        .map(|step| {
            let (badge, text) = match step.outcome.as_str() {
                "passed" => ("badge ok", "passed".to_owned()),
                "failed" if step.why.is_empty() => ("badge bad", "failed".to_owned()),
                "failed" => ("badge bad", format!("failed: {}", step.why)),
                _ => ("badge plain", "not reached".to_owned()),
            };
            let class = format!("step step-{}", step.outcome);
            view! {
                <li class=class data-outcome=step.outcome.clone()>
                    <span class="step-label">{step.label.clone()}</span>
                    " "
                    <span class=badge>{text}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <Title text=title />
        <p class="breadcrumb">
            <a href="/apps">"Applications"</a> " / "
            <a href=app_href>{data.app_name.clone()}</a> " / "
            <a href=log_href.clone()>"Request log"</a> " / Request"
        </p>
        <div class="page-head">
            <h1>"Request " <code class="request-id">{row.request_id.clone()}</code></h1>
        </div>
        <section class="section" aria-labelledby="request-facts-title">
            <h2 id="request-facts-title">"The call"</h2>
            <dl class="facts" data-testid="request-facts">
                <dt>"Time (UTC)"</dt>
                <dd>{row.time.clone()}</dd>
                <dt>"Method and route"</dt>
                <dd><code>{row.method.clone()}</code> " " <code>{row.route.clone()}</code></dd>
                <dt>"Operation"</dt>
                <dd>{or_dash(&row.action)}</dd>
                <dt>"Version"</dt>
                <dd>{or_dash(&row.version)}</dd>
                <dt>"Status"</dt>
                <dd data-testid="request-status">{row.status}</dd>
                <dt>"Decision"</dt>
                <dd>{decision_badge(&row.decision)}</dd>
                <dt>"Reason recorded"</dt>
                <dd>{or_dash(&data.reason)}</dd>
                <dt>"Latency"</dt>
                <dd>{format!("{} ms", row.latency_ms)}</dd>
                <dt>"Client ID"</dt>
                <dd><code>{or_dash(&data.client_id)}</code></dd>
                <dt>"Client address"</dt>
                <dd>{or_dash(&data.client_ip)}</dd>
                <dt>"Stage"</dt>
                <dd>{or_dash(&data.stage)}</dd>
            </dl>
        </section>
        <section class="section" aria-labelledby="what-happened-title">
            <h2 id="what-happened-title">"What happened"</h2>
            <p class="explanation" data-testid="explanation">{data.summary.clone()}</p>
            {fix}
            <ol class="pipeline" data-testid="pipeline">{steps}</ol>
            <p><a href=log_href>"← Back to the request log"</a></p>
        </section>
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
