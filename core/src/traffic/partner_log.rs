//! A partner's own request log: pages of an application's calls (newest first, keyset
//! cursors, never OFFSET), filters, one call by request id, and the explanation of what the
//! gateway's pipeline did with it, in words a partner understands.
//!
//! Rows come from `request_log_entry` joined to its `request_context` (migration 10); an
//! application's calls are those of its partner (indexed by `partner_id, occurred_at`) made with
//! its client id. A partner never reads another partner's rows: every query is bound to the
//! partner (and application) the caller may see.

use crate::apps::access;
use crate::identity::ActorContext;
use crate::identity::permissions::PortalAction;
use crate::{CoreError, CoreResult, Database};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Most rows one page (or one API call) returns.
pub const MAX_PAGE: u32 = 200;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Beyond this, a page looks at everything at once.
const WEEK_MS: i64 = 7 * DAY_MS;

/// Calls by outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionFilter {
    /// Passed every check (whatever the backend answered).
    Allowed,
    /// Refused by a check other than the usage plan's limits.
    Denied,
    /// Refused by the usage plan (429).
    Throttled,
}

impl DecisionFilter {
    pub fn parse(text: &str) -> CoreResult<Option<Self>> {
        Ok(match text.trim() {
            "" | "all" => None,
            "allow" | "allowed" => Some(Self::Allowed),
            "deny" | "denied" => Some(Self::Denied),
            "throttled" => Some(Self::Throttled),
            other => {
                return Err(CoreError::Invalid(format!(
                    "decision {other:?} is not one of allowed, denied, throttled"
                )));
            }
        })
    }
}

/// Calls by status class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    Success,
    ClientError,
    ServerError,
}

impl StatusClass {
    pub fn parse(text: &str) -> CoreResult<Option<Self>> {
        Ok(match text.trim() {
            "" | "all" => None,
            "2xx" => Some(Self::Success),
            "4xx" => Some(Self::ClientError),
            "5xx" => Some(Self::ServerError),
            other => {
                return Err(CoreError::Invalid(format!(
                    "status {other:?} is not one of 2xx, 4xx, 5xx"
                )));
            }
        })
    }

    fn range(self) -> (i64, i64) {
        match self {
            Self::Success => (200, 299),
            Self::ClientError => (400, 499),
            Self::ServerError => (500, 599),
        }
    }
}

/// Where a page starts: after the call at (`occurred_at_ms`, `request_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogCursor {
    pub occurred_at_ms: i64,
    pub request_id: String,
}

impl LogCursor {
    /// Opaque text for URLs.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.occurred_at_ms, self.request_id))
    }

    pub fn decode(text: &str) -> CoreResult<Self> {
        let invalid = || CoreError::Invalid("The cursor is not one this log gave out.".into());
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (at, id) = text.split_once(':').ok_or_else(invalid)?;
        Ok(Self {
            occurred_at_ms: at.parse().map_err(|_| invalid())?,
            request_id: id.to_owned(),
        })
    }
}

/// Which calls, from where.
#[derive(Clone, Debug, Default)]
pub struct LogQuery {
    /// Unix ms, inclusive.
    pub from_ms: Option<i64>,
    /// Unix ms, exclusive.
    pub to_ms: Option<i64>,
    pub status: Option<StatusClass>,
    /// The Cedar action of the operation, e.g. `commercial:CreateOrder`.
    pub action: Option<String>,
    pub version: Option<String>,
    pub decision: Option<DecisionFilter>,
    pub request_id: Option<String>,
    pub after: Option<LogCursor>,
    /// 1..=[`MAX_PAGE`]
    pub limit: u32,
}

/// One call as the log shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub request_id: String,
    pub occurred_at_ms: i64,
    pub stage: String,
    pub client_id: Option<String>,
    pub method: String,
    /// The route template (never the raw path).
    pub route: String,
    pub action: Option<String>,
    pub version: Option<String>,
    /// `allow` or `deny`.
    pub decision: String,
    /// For a denial, `step: why`; for an allowed call, the policies that allowed it.
    pub reason: Option<String>,
    pub status: u16,
    pub latency_us: i64,
    pub client_ip: Option<String>,
}

impl LogEntry {
    /// `allowed`, `denied` or `throttled` (a 429 of the usage plan).
    pub fn decision_label(&self) -> &'static str {
        match (self.decision.as_str(), self.status) {
            ("allow", _) => "allowed",
            (_, 429) => "throttled",
            _ => "denied",
        }
    }
}

/// One page, and where the next starts (`None` on the last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    pub next: Option<LogCursor>,
}

type EntryRow = (
    String,
    i64,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<String>,
);

fn entry(row: EntryRow) -> LogEntry {
    let (
        request_id,
        occurred_at_ms,
        stage,
        client_id,
        method,
        route,
        action,
        version,
        decision,
        reason,
        status,
        latency_us,
        client_ip,
    ) = row;
    LogEntry {
        request_id,
        occurred_at_ms,
        stage: stage.unwrap_or_default(),
        client_id,
        method,
        route: route.unwrap_or_else(|| "unmatched".into()),
        action,
        version,
        decision: decision.unwrap_or_else(|| "deny".into()),
        reason,
        status: u16::try_from(status).unwrap_or(0),
        latency_us,
        client_ip,
    }
}

/// The calls of `partner` (slug), of one client id or all of its applications, newest first.
/// Callers have already decided the caller may read this partner's log.
pub async fn partner_page(
    db: &Database,
    partner: &str,
    client_id: Option<&str>,
    query: &LogQuery,
) -> CoreResult<LogPage> {
    let limit = query.limit.clamp(1, MAX_PAGE);
    let (status_low, status_high) = query.status.map_or((0, 999), StatusClass::range);
    // Throttled is a status (429) more than a decision; "denied" leaves it out.
    let (status_low, status_high, decision, excluded_status) = match query.decision {
        None => (status_low, status_high, "", 0),
        Some(DecisionFilter::Allowed) => (status_low, status_high, "allow", 0),
        Some(DecisionFilter::Denied) => (status_low, status_high, "deny", 429),
        Some(DecisionFilter::Throttled) => (status_low.max(429), status_high.min(429), "deny", 0),
    };
    let (after_at, after_id) = match &query.after {
        Some(cursor) => (cursor.occurred_at_ms, cursor.request_id.as_str()),
        None => (i64::MAX, ""),
    };
    // Filters on what calls share (application, decision, operation, version) become one
    // set of context ids, so the scan of the partner's index by time checks a hashed set
    // per row instead of joining each row first. Without such filters, no set at all (a call
    // whose context went missing still shows).
    let by_context = client_id.is_some_and(|c| !c.is_empty())
        || !decision.is_empty()
        || query.action.is_some()
        || query.version.is_some();
    let contexts = if by_context {
        "AND e.context_id IN (SELECT id FROM request_context WHERE ($2 = '' OR client_id = $2) \
         AND ($8 = '' OR decision = $8) AND ($9 = '' OR action = $9) AND ($10 = '' OR version = $10))"
    } else {
        // The parameters are bound either way; this keeps their numbering.
        "AND ($2 = $2 AND $8 = $8 AND $9 = $9 AND $10 = $10)"
    };
    let sql = format!(
        "SELECT e.request_id, e.occurred_at, c.stage, c.client_id, e.method, c.route, c.action, c.version, \
         c.decision, c.reason, e.status, e.latency_us, e.client_ip \
         FROM request_log_entry e LEFT JOIN request_context c ON c.id = e.context_id \
         WHERE e.partner_id = $1 {contexts} \
         AND e.occurred_at >= $3 AND e.occurred_at < $4 \
         AND e.status >= $5 AND e.status <= $6 AND e.status <> $7 \
         AND ($11 = '' OR e.request_id = $11) \
         AND e.occurred_at <= $12 AND (e.occurred_at < $12 OR e.request_id < $13) \
         ORDER BY e.occurred_at DESC, e.request_id DESC LIMIT $14"
    );
    // Newest first, so a page usually lies just below where it starts: look back an hour
    // first, then as far as the rows found so far suggest a page needs (twice that, at least
    // doubling), then everything once that would pass a week. A window that holds a whole
    // page settles it (the rows are ordered), so PostgreSQL never plans a scan of the
    // partner's whole history for a page of its last hour. Windows only raise the lower
    // bound: nothing above the start is skipped. A request id names one call: no windows.
    let from = query.from_ms.unwrap_or(0);
    let start = match (&query.after, query.to_ms) {
        (Some(cursor), _) => cursor.occurred_at_ms,
        (None, Some(to)) => to,
        (None, None) => crate::clock::now_ms(),
    };
    let wanted = i64::from(limit) + 1;
    let mut window = query.request_id.is_none().then_some(HOUR_MS);
    let rows: Vec<EntryRow> = loop {
        let window_from = window.map_or(from, |w| from.max(start.saturating_sub(w)));
        let rows: Vec<EntryRow> = sqlx::query_as(&sql)
            .bind(partner)
            .bind(client_id.unwrap_or(""))
            .bind(window_from)
            .bind(query.to_ms.unwrap_or(i64::MAX))
            .bind(status_low)
            .bind(status_high)
            .bind(excluded_status)
            .bind(decision)
            .bind(query.action.as_deref().unwrap_or(""))
            .bind(query.version.as_deref().unwrap_or(""))
            .bind(query.request_id.as_deref().map(str::trim).unwrap_or(""))
            .bind(after_at)
            .bind(after_id)
            .bind(wanted)
            .fetch_all(db.pool())
            .await?;
        let found = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let Some(looked) = window.filter(|_| found < wanted && window_from > from) else {
            break rows;
        };
        let next = match found {
            0 if looked < DAY_MS => DAY_MS,
            0 => i64::MAX,
            found => (looked.saturating_mul(2 * wanted) / found).max(looked.saturating_mul(2)),
        };
        window = (next <= WEEK_MS).then_some(next);
    };
    let mut entries: Vec<LogEntry> = rows.into_iter().map(entry).collect();
    let next = if entries.len() > limit as usize {
        entries.truncate(limit as usize);
        entries.last().map(|last| LogCursor {
            occurred_at_ms: last.occurred_at_ms,
            request_id: last.request_id.clone(),
        })
    } else {
        None
    };
    Ok(LogPage { entries, next })
}

/// A page of one application's calls (members who may view logs, and admins).
pub async fn application_page(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    query: &LogQuery,
) -> CoreResult<LogPage> {
    let app = access::authorize_app_access(db, ctx, app_id, PortalAction::ViewLogs).await?;
    partner_page(db, &app.partner_id, Some(&app.client_id), query).await
}

/// One call of the application, by request id.
pub async fn application_entry(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    request_id: &str,
) -> CoreResult<LogEntry> {
    let query = LogQuery {
        request_id: Some(request_id.to_owned()),
        limit: 1,
        ..LogQuery::default()
    };
    application_page(db, ctx, app_id, &query)
        .await?
        .entries
        .into_iter()
        .next()
        .ok_or(CoreError::NotFound { what: "request" })
}

/// The gateway's checks, in the order it runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipelineStep {
    Version,
    Token,
    ApiKey,
    IpAllowlist,
    UsagePlan,
    Authorization,
    Validation,
    Backend,
}

impl PipelineStep {
    pub const ALL: [PipelineStep; 8] = [
        PipelineStep::Version,
        PipelineStep::Token,
        PipelineStep::ApiKey,
        PipelineStep::IpAllowlist,
        PipelineStep::UsagePlan,
        PipelineStep::Authorization,
        PipelineStep::Validation,
        PipelineStep::Backend,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PipelineStep::Version => "API version and operation",
            PipelineStep::Token => "Access token",
            PipelineStep::ApiKey => "API key",
            PipelineStep::IpAllowlist => "IP allowlist",
            PipelineStep::UsagePlan => "Usage plan",
            PipelineStep::Authorization => "Scopes and policies (Cedar)",
            PipelineStep::Validation => "Request validation",
            PipelineStep::Backend => "Backend",
        }
    }

    /// The step a recorded denial names (`step: why`, or the router's own words).
    fn of_denial(reason: &str) -> (PipelineStep, &str) {
        let (step, why) = reason.split_once(": ").unwrap_or((reason, ""));
        let step = match step {
            "token" | "format" | "typ" | "alg" | "kid" | "signature" | "exp" | "nbf" | "iss"
            | "aud" | "claims" | "revocation" | "application" => PipelineStep::Token,
            "api_key" => PipelineStep::ApiKey,
            "ip_allowlist" => PipelineStep::IpAllowlist,
            "usage_plan" | "usage-plan" => PipelineStep::UsagePlan,
            "scope" | "policy" => PipelineStep::Authorization,
            "validation" => PipelineStep::Validation,
            // The addressed object is not the caller's: it exists nowhere, or in another
            // organisation (which the caller must not learn), recorded alike by the gateway.
            "not_found" => PipelineStep::Backend,
            _ => return (PipelineStep::Version, reason),
        };
        (step, why)
    }
}

/// What became of one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    Passed,
    Failed(String),
    NotReached,
}

/// What the gateway did with a call, for the detail view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub steps: Vec<(PipelineStep, StepOutcome)>,
    /// One sentence: what happened and what to do.
    pub summary: String,
    /// Where to fix it in the portal: (label, link), if anywhere.
    pub fix: Option<(String, String)>,
}

/// Explains a call of application `app_id` (for links into its page).
pub fn explain(entry: &LogEntry, app_id: &str) -> Explanation {
    let app_page = format!("/apps/{app_id}");
    let (failed, why) = if entry.decision == "allow" {
        if entry.status >= 500 {
            (
                Some(PipelineStep::Backend),
                format!("answered {}", entry.status),
            )
        } else {
            (None, String::new())
        }
    } else {
        let reason = entry.reason.as_deref().unwrap_or("refused");
        let (step, why) = PipelineStep::of_denial(reason);
        (Some(step), why.to_owned())
    };
    let mut reached = true;
    let steps = PipelineStep::ALL
        .iter()
        .map(|step| {
            let outcome = if !reached {
                StepOutcome::NotReached
            } else if Some(*step) == failed {
                reached = false;
                StepOutcome::Failed(why.clone())
            } else {
                StepOutcome::Passed
            };
            (*step, outcome)
        })
        .collect();
    let step_name = entry
        .reason
        .as_deref()
        .and_then(|r| r.split_once(": "))
        .map_or("", |(step, _)| step);
    let (summary, fix) = match failed {
        None => (
            format!(
                "The call passed every check and the sandbox answered {}.",
                entry.status
            ),
            None,
        ),
        // One sentence for an id that exists nowhere and for another organisation's id: the
        // log must not tell them apart any more than the answer does.
        Some(PipelineStep::Backend) if step_name == "not_found" => (
            format!(
                "{}: check the id in the path (and the API version).",
                why.trim_end_matches('.')
            ),
            Some(("Open the API reference".into(), "/reference".into())),
        ),
        Some(PipelineStep::Backend) => (
            format!(
                "The call passed every check but the backend failed ({}). Retry it; quote the request id {} to support if it persists.",
                entry.status, entry.request_id
            ),
            None,
        ),
        Some(PipelineStep::Version) => (
            match why.as_str() {
                "version sunset" | "operation sunset" => {
                    "This API version (or operation) is retired: move to the current version.".into()
                }
                "method not allowed" => "This path does not take that HTTP method.".into(),
                _ => "There is no operation at this path in the API.".into(),
            },
            Some(("See the deprecations".into(), "/deprecations".into())),
        ),
        Some(PipelineStep::Token) => (
            match step_name {
                "exp" => "The access token had expired: get a new one from POST /oauth2/token.".into(),
                "revocation" => "The access token was revoked: get a new one from POST /oauth2/token.".into(),
                // The gateway's own sentence: the application or its organisation is suspended.
                "application" => why,
                "aud" => "The access token was issued for another audience (stage): request one for the sandbox.".into(),
                "kid" | "signature" | "alg" | "typ" | "iss" => {
                    "The access token was not issued by this installation (or not for it): get a new one from POST /oauth2/token.".into()
                }
                _ => "The call had no valid access token: send Authorization: Bearer <token> from POST /oauth2/token.".into(),
            },
            None,
        ),
        Some(PipelineStep::ApiKey) => (
            "The API key was missing or is not this application's: send the application's key in the x-api-key header.".into(),
            Some(("Manage API keys".into(), format!("{app_page}#credentials"))),
        ),
        Some(PipelineStep::IpAllowlist) => (
            "The call came from an address outside the application's IP allowlist: add the address in the application's settings.".into(),
            Some(("Edit the IP allowlist".into(), format!("{app_page}#settings"))),
        ),
        Some(PipelineStep::UsagePlan) => (
            if why.starts_with("Quota") || why.contains("QuotaExceeded") {
                "The usage plan's quota for the period is used up: wait until it resets (see Retry-After) or ask for a larger plan.".into()
            } else {
                "Too many calls in a short time for the usage plan: slow down and retry after the Retry-After delay.".into()
            },
            Some(("See the usage plan".into(), app_page)),
        ),
        Some(PipelineStep::Authorization) if step_name == "scope" => {
            let scopes = why
                .rsplit(": ")
                .next()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_owned();
            (
                format!(
                    "Scope {scopes} is not granted to this application (or not in this token): request it on the application page, then get a new token."
                ),
                Some(("Request the scope".into(), format!("{app_page}#scopes"))),
            )
        }
        Some(PipelineStep::Authorization) => (
            format!("A policy refused the call ({why})."),
            None,
        ),
        Some(PipelineStep::Validation) => (
            format!(
                "The request did not match the API model ({why}): the error body's fieldErrors list each field."
            ),
            Some(("Open the API reference".into(), "/reference".into())),
        ),
    };
    Explanation {
        steps,
        summary,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(reason: &str, status: u16) -> LogEntry {
        LogEntry {
            request_id: "req_1".into(),
            occurred_at_ms: 1,
            stage: "sandbox".into(),
            client_id: Some("c".into()),
            method: "POST".into(),
            route: "/v2/commercial/orders".into(),
            action: Some("commercial:CreateOrder".into()),
            version: Some("v2".into()),
            decision: "deny".into(),
            reason: Some(reason.into()),
            status,
            latency_us: 10,
            client_ip: None,
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = LogCursor {
            occurred_at_ms: 1_765_000_000_123,
            request_id: "req_01ab:x".into(),
        };
        assert_eq!(LogCursor::decode(&cursor.encode()).unwrap(), cursor);
        for bad in [
            "",
            "!!",
            &URL_SAFE_NO_PAD.encode("no-colon"),
            &URL_SAFE_NO_PAD.encode("x:y"),
        ] {
            assert!(LogCursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_refusal_names_its_step_and_what_to_do() {
        let scope = explain(
            &denied(
                "scope: The token lacks the required scope: commercial:write.",
                403,
            ),
            "app_1",
        );
        assert_eq!(
            scope.summary,
            "Scope commercial:write is not granted to this application (or not in this token): request it on the application page, then get a new token."
        );
        assert_eq!(scope.fix.unwrap().1, "/apps/app_1#scopes");
        let failed: Vec<_> = scope
            .steps
            .iter()
            .filter(|(_, o)| matches!(o, StepOutcome::Failed(_)))
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(failed, [PipelineStep::Authorization]);
        assert_eq!(scope.steps[4].1, StepOutcome::Passed);
        assert_eq!(scope.steps[6].1, StepOutcome::NotReached);

        for (reason, status, step, words) in [
            (
                "exp: The access token has expired.",
                401,
                PipelineStep::Token,
                "expired",
            ),
            (
                "aud: wrong audience",
                401,
                PipelineStep::Token,
                "another audience",
            ),
            (
                "api_key: The API key is missing.",
                403,
                PipelineStep::ApiKey,
                "x-api-key",
            ),
            (
                "ip_allowlist: Calls from 10.0.0.1 are not allowed",
                403,
                PipelineStep::IpAllowlist,
                "allowlist",
            ),
            (
                "usage-plan: Rate exceeded: too many requests",
                429,
                PipelineStep::UsagePlan,
                "slow down",
            ),
            (
                "usage-plan: Quota exceeded for this usage plan's period.",
                429,
                PipelineStep::UsagePlan,
                "quota",
            ),
            (
                "policy: denied by forbid policy tenant-isolation",
                403,
                PipelineStep::Authorization,
                "tenant-isolation",
            ),
            (
                "not_found: No Order with this id exists for your organisation.",
                404,
                PipelineStep::Backend,
                "No Order with this id exists for your organisation: check the id",
            ),
            (
                "validation: 2 field error(s)",
                400,
                PipelineStep::Validation,
                "fieldErrors",
            ),
            ("version sunset", 410, PipelineStep::Version, "retired"),
            (
                "application: This application is suspended: its tokens are refused until it is reactivated.",
                403,
                PipelineStep::Token,
                "suspended",
            ),
            (
                "scope: The scope was withdrawn from this application after this token was issued: commercial:write.",
                403,
                PipelineStep::Authorization,
                "Scope commercial:write is not granted",
            ),
        ] {
            let explanation = explain(&denied(reason, status), "app_1");
            let failed = explanation
                .steps
                .iter()
                .find(|(_, o)| matches!(o, StepOutcome::Failed(_)))
                .map(|(s, _)| *s);
            assert_eq!(failed, Some(step), "{reason}");
            assert!(
                explanation.summary.contains(words),
                "{reason}: {}",
                explanation.summary
            );
        }

        let mut ok = denied("", 201);
        ok.decision = "allow".into();
        ok.reason = Some("allowed by partner-orders".into());
        let allowed = explain(&ok, "app_1");
        assert!(allowed.steps.iter().all(|(_, o)| *o == StepOutcome::Passed));
        ok.status = 500;
        let backend = explain(&ok, "app_1");
        assert_eq!(
            backend.steps[7].1,
            StepOutcome::Failed("answered 500".into())
        );
    }
}
