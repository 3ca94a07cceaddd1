//! The webhook pages' data: endpoints and delivery attempts as shown, the endpoint page's
//! `#[server]` function, and (`ssr`) the core reads behind it and the application page's section.

use crate::components::secrets::ShownOnce;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An endpoint as listed and shown (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it is disabled, as the page says it.
    pub disabled_because: Option<String>,
    /// Disabled by Portico after days of failed deliveries.
    pub disabled_for_failing: bool,
    /// During a rotation's overlap: when the previous secret stops signing (UTC).
    pub rotating_until: Option<String>,
    pub created: String,
}

/// What the application page's Webhooks section shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationWebhooks {
    pub endpoints: Vec<EndpointRow>,
    /// URLs of the endpoints disabled after failing for days.
    pub disabled_for_failing: Vec<String>,
    /// The event types an endpoint may subscribe to.
    pub event_types: Vec<String>,
    /// After how long without a success an endpoint is disabled ("5 days").
    pub disable_after: String,
}

/// One row of the delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRow {
    pub message_id: String,
    pub event_type: String,
    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub time: String,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub succeeded: bool,
    pub latency_ms: i64,
    /// The start of the response body (at most 1 KiB).
    pub response_excerpt: String,
}

/// Everything an endpoint's page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointPageData {
    pub app_id: String,
    pub app_name: String,
    pub endpoint: EndpointRow,
    /// The signing secret made by the previous form, shown this once.
    pub shown_once: Vec<ShownOnce>,
    /// What the endpoint may subscribe to.
    pub event_types: Vec<String>,
    /// What the log may be filtered by (the subscribable types and the test event).
    pub log_event_types: Vec<String>,
    pub attempts: Vec<AttemptRow>,
    /// The log shows at most this many attempts.
    pub log_limit: u32,
    /// The filters in force ("" = any event type; "all", "succeeded" or "failed").
    pub filter_event_type: String,
    pub filter_result: String,
    /// A sensible start for "replay failed messages since" (24 hours ago, UTC, minutes).
    pub replay_since_default: String,
    /// The retry schedule, as a sentence ("5 s, 5 min, … (±10 % jitter)").
    pub retry_schedule: String,
    /// After how long without a success an endpoint is disabled ("5 days").
    pub disable_after: String,
    /// The viewer's role (empty for an administrator outside the organisation).
    pub role: String,
    pub can_manage: bool,
    pub can_view_logs: bool,
}

#[server]
pub async fn webhook_endpoint_page(
    app_id: String,
    endpoint_id: String,
    event_type: String,
    result: String,
) -> Result<EndpointPageData, ServerFnError> {
    ssr::endpoint_page(&app_id, &endpoint_id, &event_type, &result).await
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::{ApplicationWebhooks, AttemptRow, EndpointPageData, EndpointRow};
    use crate::components::format::format_time;
    use crate::server::{actor, page_error, portal, shown_once};
    use leptos::prelude::ServerFnError;
    use portico_core::apps::manage;
    use portico_core::identity::ActorContext;
    use portico_core::identity::permissions::{PortalAction, admin_permits, permits};
    use portico_core::orgs::organisations;
    use portico_core::webhooks::{self, AttemptFilter, AttemptRecord, Endpoint};
    use portico_core::{CoreError, Database, clock};

    /// How many attempts the delivery log shows.
    const LOG_LIMIT: u32 = 100;

    pub fn endpoint_row(endpoint: Endpoint) -> EndpointRow {
        let disabled_for_failing =
            !endpoint.enabled && endpoint.disabled_reason.as_deref() == Some("failing");
        let disabled_because =
            (!endpoint.enabled).then(|| match endpoint.disabled_reason.as_deref() {
                Some("failing") => format!(
                    "disabled after {} of failed deliveries",
                    days(webhooks::DISABLE_AFTER_FAILING_MS / 1000)
                ),
                _ => "disabled by your organisation".to_owned(),
            });
        EndpointRow {
            id: endpoint.id,
            url: endpoint.url,
            description: endpoint.description,
            event_types: endpoint.event_types,
            enabled: endpoint.enabled,
            disabled_because,
            disabled_for_failing,
            rotating_until: endpoint.previous_secret_until.map(format_time),
            created: format_time(endpoint.created_at),
        }
    }

    fn days(secs: i64) -> String {
        match secs / 86_400 {
            1 => "1 day".to_owned(),
            n => format!("{n} days"),
        }
    }

    /// A delay of the retry schedule as people write it ("5 s", "30 min", "10 h").
    fn delay(secs: i64) -> String {
        if secs < 60 {
            format!("{secs} s")
        } else if secs < 3_600 {
            format!("{} min", secs / 60)
        } else {
            format!("{} h", secs / 3_600)
        }
    }

    fn retry_schedule() -> String {
        let delays: Vec<String> = webhooks::RETRY_DELAYS_SECS
            .iter()
            .map(|s| delay(*s))
            .collect();
        #[expect(clippy::cast_possible_truncation, reason = "a small percentage")]
        let jitter = (webhooks::JITTER * 100.0).round() as i64;
        let total_secs: i64 = webhooks::RETRY_DELAYS_SECS.iter().sum();
        let hours = (total_secs + 1_800) / 3_600;
        format!(
            "{} (each ±{jitter} % jitter): {} attempts over about {hours} hours",
            delays.join(", "),
            delays.len() + 1
        )
    }

    fn attempt_row(record: AttemptRecord) -> AttemptRow {
        AttemptRow {
            time: super::super::format_time_ms(record.attempted_at),
            message_id: record.message_id,
            event_type: record.event_type,
            status_code: record.status_code,
            error: record.error,
            succeeded: record.succeeded,
            latency_ms: record.latency_ms,
            response_excerpt: record.response_excerpt,
        }
    }

    /// The Webhooks section of an application's page (the caller already has access to it).
    pub async fn of_application(
        db: &Database,
        ctx: &ActorContext,
        app_id: &str,
    ) -> Result<ApplicationWebhooks, ServerFnError> {
        let endpoints = webhooks::list_endpoints(db, ctx, app_id)
            .await
            .map_err(page_error)?;
        let failing = webhooks::failing_endpoints_of_application(db, app_id)
            .await
            .map_err(page_error)?;
        Ok(ApplicationWebhooks {
            endpoints: endpoints.into_iter().map(endpoint_row).collect(),
            disabled_for_failing: failing.into_iter().map(|(_, url)| url).collect(),
            event_types: portal()?.event_types.to_vec(),
            disable_after: days(webhooks::DISABLE_AFTER_FAILING_MS / 1000),
        })
    }

    fn not_found(error: CoreError) -> ServerFnError {
        if matches!(error, CoreError::NotFound { .. })
            && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
        {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
        page_error(error)
    }

    pub async fn endpoint_page(
        app_id: &str,
        endpoint_id: &str,
        event_type: &str,
        result: &str,
    ) -> Result<EndpointPageData, ServerFnError> {
        let ctx = actor().ok_or_else(|| ServerFnError::new("Sign in to continue."))?;
        let portal_ctx = portal()?;
        let db = portal_ctx.db.clone();
        let detail = manage::application_detail(&db, &ctx, app_id)
            .await
            .map_err(not_found)?;
        let endpoint = webhooks::get_endpoint(&db, &ctx, endpoint_id)
            .await
            .map_err(not_found)?;
        // An endpoint is only shown under its own application's URL.
        if endpoint.application_id != app_id {
            return Err(not_found(CoreError::NotFound {
                what: "webhook endpoint",
            }));
        }
        let membership = organisations::my_organisation(&db, &ctx)
            .await
            .map_err(page_error)?
            .filter(|(org, _)| org.id == detail.summary.organisation_id)
            .map(|(_, role)| role);
        // Someone who sees the application without being a member of its organisation can
        // only be a platform administrator (the core refused everyone else).
        let is_admin = crate::viewer::Viewer::current().is_admin();
        let may = |action: PortalAction| match membership {
            Some(role) => permits(role, action),
            None => is_admin && admin_permits(action),
        };
        let can_view_logs = may(PortalAction::ViewLogs);
        let filter_result = match result {
            "succeeded" | "failed" => result.to_owned(),
            _ => "all".to_owned(),
        };
        let filter_event_type = event_type.trim().to_owned();
        let attempts = if can_view_logs {
            let filter = AttemptFilter {
                event_type: (!filter_event_type.is_empty()).then(|| filter_event_type.clone()),
                succeeded: match filter_result.as_str() {
                    "succeeded" => Some(true),
                    "failed" => Some(false),
                    _ => None,
                },
                limit: LOG_LIMIT,
            };
            webhooks::attempts(&db, &ctx, &endpoint.id, &filter)
                .await
                .map_err(page_error)?
                .into_iter()
                .map(attempt_row)
                .collect()
        } else {
            Vec::new()
        };
        let event_types = portal_ctx.event_types.to_vec();
        let mut log_event_types = event_types.clone();
        log_event_types.push(webhooks::TEST_EVENT_TYPE.to_owned());
        let since = clock::now() - 24 * 60 * 60;
        Ok(EndpointPageData {
            app_id: app_id.to_owned(),
            app_name: detail.summary.app.name,
            shown_once: shown_once(&endpoint.id),
            endpoint: endpoint_row(endpoint),
            event_types,
            log_event_types,
            attempts,
            log_limit: LOG_LIMIT,
            filter_event_type,
            filter_result,
            replay_since_default: super::super::datetime_local(since),
            retry_schedule: retry_schedule(),
            disable_after: days(webhooks::DISABLE_AFTER_FAILING_MS / 1000),
            role: membership
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            can_manage: may(PortalAction::ManageCredentials),
            can_view_logs,
        })
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_retry_schedule_reads_as_documented() {
            assert_eq!(
                super::retry_schedule(),
                "5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (each ±10 % jitter): 8 attempts over about 28 hours"
            );
            assert_eq!(
                super::days(portico_core::webhooks::DISABLE_AFTER_FAILING_MS / 1000),
                "5 days"
            );
        }
    }
}
