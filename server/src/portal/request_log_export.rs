//! Downloads of an application's request log: `GET /apps/{id}/logs.csv` and
//! `GET /apps/{id}/logs.ndjson`, with the log page's filters (`from`, `to`, `status`,
//! `operation`, `version`, `decision`, `request_id`).
//!
//! The body is streamed: pages of [`MAX_PAGE`] calls are read one after another with the keyset
//! cursor, each written out before the next is read, so a download never holds the whole log in
//! memory. Signed-in members who may view the application's logs only; anyone else gets the
//! same 404 as for an application that does not exist (anonymous visitors are sent to sign in).

use super::PortalState;
use super::session::SignedIn;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portico_app::pages::request_log::LogFilters;
use portico_app::pages::request_log::ssr::{decision_label, latency_ms, log_query};
use portico_core::apps::access;
use portico_core::identity::ActorContext;
use portico_core::identity::permissions::PortalAction;
use portico_core::traffic::partner_log::{self, LogEntry, LogPage, LogQuery, MAX_PAGE};
use portico_core::{CoreError, Database, clock};

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/apps/{id}/logs.csv", get(csv))
        .route("/apps/{id}/logs.ndjson", get(ndjson))
}

/// The columns of both formats, in order.
const FIELDS: [&str; 11] = [
    "request_id",
    "occurred_at",
    "method",
    "route",
    "version",
    "action",
    "status",
    "decision",
    "reason",
    "latency_ms",
    "client_ip",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Ndjson,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    /// What comes before the first row.
    fn header(self) -> String {
        match self {
            Format::Csv => format!("{}\r\n", FIELDS.join(",")),
            Format::Ndjson => String::new(),
        }
    }

    fn write(self, out: &mut String, entry: &LogEntry) {
        match self {
            Format::Csv => csv_row(out, entry),
            Format::Ndjson => ndjson_row(out, entry),
        }
    }
}

async fn csv(
    State(state): State<PortalState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    export(&state, signed_in, &id, query.as_deref(), Format::Csv).await
}

async fn ndjson(
    State(state): State<PortalState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    export(&state, signed_in, &id, query.as_deref(), Format::Ndjson).await
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "No such application: see /apps for yours.\n".to_owned(),
    )
}

/// A failure as the portal's pages word it (the cause goes to the log there).
fn failed(error: &CoreError) -> Response {
    text(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("{}\n", page_message(error)),
    )
}

fn page_message(error: &CoreError) -> String {
    portico_app::server::user_message(error, portico_app::server::During::PageRead)
}

async fn export(
    state: &PortalState,
    signed_in: SignedIn,
    app_id: &str,
    raw_query: Option<&str>,
    format: Format,
) -> Response {
    let mut filters =
        LogFilters::from_pairs(form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()));
    // A download is every call that matches, from the newest.
    filters.cursor.clear();
    let query = match log_query(&filters, MAX_PAGE) {
        Ok(query) => query,
        Err(errors) => return text(StatusCode::BAD_REQUEST, format!("{}\n", errors.join("\n"))),
    };
    let ctx = signed_in.actor;
    let app =
        match access::authorize_app_access(&state.db, &ctx, app_id, PortalAction::ViewLogs).await {
            Ok(app) => app,
            Err(CoreError::NotFound { .. } | CoreError::Forbidden(_)) => return not_found(),
            Err(e) => return failed(&e),
        };
    // The first page is read before answering, so that a failure is a status, not a cut body.
    let first = match partner_log::application_page(&state.db, &ctx, app_id, &query).await {
        Ok(page) => page,
        Err(CoreError::NotFound { .. } | CoreError::Forbidden(_)) => return not_found(),
        Err(e @ CoreError::Invalid(_)) => {
            return text(StatusCode::BAD_REQUEST, format!("{}\n", page_message(&e)));
        }
        Err(e) => return failed(&e),
    };
    let pages = Pages {
        db: state.db.clone(),
        ctx,
        app_id: app_id.to_owned(),
        query,
        first: Some(first),
        format,
        started: false,
    };
    let stream = futures_util::stream::unfold(Some(pages), |pages| async move {
        let mut pages = pages?;
        let chunk = pages.next_chunk().await;
        match chunk {
            Ok((bytes, more)) => Some((Ok(bytes), more.then_some(pages))),
            Err(e) => {
                // Headers are gone already: cutting the body short is all that is left.
                tracing::error!(error = %e, app_id = %pages.app_id, "request log download cut short");
                Some((
                    Err(std::io::Error::other("the request log could not be read")),
                    None,
                ))
            }
        }
    });
    let filename = format!("{}-requests.{}", file_stem(&app.name), format.extension());
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// The pages of one download, read one at a time.
struct Pages {
    db: Database,
    ctx: ActorContext,
    app_id: String,
    query: LogQuery,
    /// The page read before answering.
    first: Option<LogPage>,
    format: Format,
    started: bool,
}

impl Pages {
    /// The next page's rows as bytes (with the header in front of the first), and whether
    /// another page follows.
    async fn next_chunk(&mut self) -> Result<(Bytes, bool), CoreError> {
        let page = match self.first.take() {
            Some(page) => page,
            None => {
                partner_log::application_page(&self.db, &self.ctx, &self.app_id, &self.query)
                    .await?
            }
        };
        let mut out = String::new();
        if !self.started {
            self.started = true;
            out.push_str(&self.format.header());
        }
        for entry in &page.entries {
            self.format.write(&mut out, entry);
        }
        let more = page.next.is_some();
        self.query.after = page.next;
        Ok((Bytes::from(out), more))
    }
}

/// The application's name as a file name: ASCII letters and digits, words joined by `-`.
fn file_stem(name: &str) -> String {
    let mut stem = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            stem.push(c.to_ascii_lowercase());
        } else if !stem.is_empty() && !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let stem = stem.trim_end_matches('-');
    if stem.is_empty() {
        "application".to_owned()
    } else {
        stem.chars().take(80).collect()
    }
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, with the
/// quotes doubled.
fn csv_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn csv_row(out: &mut String, entry: &LogEntry) {
    let values = [
        entry.request_id.clone(),
        clock::format_rfc3339_ms(entry.occurred_at_ms),
        entry.method.clone(),
        entry.route.clone(),
        entry.version.clone().unwrap_or_default(),
        entry.action.clone().unwrap_or_default(),
        entry.status.to_string(),
        decision_label(entry).to_owned(),
        entry.reason.clone().unwrap_or_default(),
        latency_ms(entry.latency_us),
        entry.client_ip.clone().unwrap_or_default(),
    ];
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, value);
    }
    out.push_str("\r\n");
}

fn ndjson_row(out: &mut String, entry: &LogEntry) {
    #[expect(
        clippy::cast_precision_loss,
        reason = "latencies are far below 2^52 µs"
    )]
    let latency = entry.latency_us as f64 / 1000.0;
    let row = serde_json::json!({
        "request_id": entry.request_id,
        "occurred_at": clock::format_rfc3339_ms(entry.occurred_at_ms),
        "method": entry.method,
        "route": entry.route,
        "version": entry.version,
        "action": entry.action,
        "status": entry.status,
        "decision": decision_label(entry),
        "reason": entry.reason,
        "latency_ms": latency,
        "client_ip": entry.client_ip,
    });
    out.push_str(&row.to_string());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> LogEntry {
        LogEntry {
            request_id: "req_1".into(),
            occurred_at_ms: 1_765_015_200_123,
            stage: "sandbox".into(),
            client_id: Some("cli_1".into()),
            method: "POST".into(),
            route: "/v2/commercial/orders".into(),
            action: Some("commercial:CreateOrder".into()),
            version: Some("v2".into()),
            decision: "deny".into(),
            reason: Some("policy: said \"no\", twice\nreally".into()),
            status: 403,
            latency_us: 1_234,
            client_ip: None,
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut out = String::new();
        csv_row(&mut out, &entry());
        assert_eq!(
            out,
            "req_1,2025-12-06T10:00:00.123Z,POST,/v2/commercial/orders,v2,commercial:CreateOrder,403,denied,\"policy: said \"\"no\"\", twice\nreally\",1.234,\r\n"
        );
    }

    #[test]
    fn ndjson_rows_are_one_line_each() {
        let mut out = String::new();
        ndjson_row(&mut out, &entry());
        assert_eq!(out.lines().count(), 1);
        let row: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap_or_default();
        assert_eq!(row["decision"], "denied");
        assert_eq!(row["latency_ms"], 1.234);
        assert_eq!(row["client_ip"], serde_json::Value::Null);
        assert_eq!(
            row.as_object().map(serde_json::Map::len),
            Some(FIELDS.len())
        );
    }

    #[test]
    fn file_names_are_plain() {
        assert_eq!(file_stem("Order sync (staging)"), "order-sync-staging");
        assert_eq!(file_stem("«»"), "application");
    }
}
