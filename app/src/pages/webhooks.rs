//! Webhooks in the portal: the "Webhooks" section of an application's page (its endpoints,
//! the form to add one, a banner for endpoints disabled for failing) and one endpoint's page
//! (`/apps/{id}/webhooks/{endpoint}`): details, the signing secret shown once after it is
//! made or rotated, edit, enable/disable, rotate, test event, delete, and the delivery log with
//! filters and replay.
//!
//! Like every portal page it works with JavaScript off: each change is a plain HTML form posting
//! to the handlers in `server/src/portal/actions/webhooks.rs`, answered with a redirect and a
//! one-time message; the log's filters are a GET form. The core decides who may do what; the
//! page only hides the forms a role cannot use.

use crate::components::format::civil_from_days;
use crate::components::secrets::ShownOnce;
use crate::pages::apps::csrf_input;
use crate::pages::org::error_text;
use crate::viewer::{SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;
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
            time: super::format_time_ms(record.attempted_at),
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
            replay_since_default: super::datetime_local(since),
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

/// Unix milliseconds as `2026-11-25 17:50:12 UTC`.
pub fn format_time_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Unix seconds as the value of a `datetime-local` input (`2026-11-25T17:50`, UTC).
pub fn datetime_local(secs: i64) -> String {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

fn enabled_badge(endpoint: &EndpointRow) -> impl IntoView + use<> {
    let (class, text) = if endpoint.enabled {
        ("badge ok status-enabled", "enabled")
    } else {
        ("badge bad status-disabled", "disabled")
    };
    view! { <span class=class>{text}</span> }
}

/// The endpoint's status as one line: enabled, or disabled and why.
fn status_text(endpoint: &EndpointRow) -> String {
    match &endpoint.disabled_because {
        None => "enabled".to_owned(),
        Some(why) => why.clone(),
    }
}

/// The banner at the top of an application's page for endpoints disabled for failing.
#[component]
#[allow(clippy::needless_pass_by_value, reason = "component props")]
pub fn FailingWebhooksBanner(urls: Vec<String>, disable_after: String) -> impl IntoView {
    (!urls.is_empty()).then(|| {
        view! {
            <div class="notice error" role="note" data-testid="failing-webhooks-banner">
                {urls
                    .into_iter()
                    .map(|url| view! {
                        <p>
                            {format!(
                                "Webhook endpoint {url} was disabled after {disable_after} of failed deliveries. Fix it and enable it again."
                            )}
                        </p>
                    })
                    .collect_view()}
            </div>
        }
    })
}

/// The event type checkboxes of the add and edit forms: each type and whether it is ticked.
fn event_type_checks(prefix: &str, types: Vec<(String, bool)>) -> impl IntoView + use<> {
    let prefix = prefix.to_owned();
    view! {
        <fieldset class="checks">
            <legend>"Event types"</legend>
            <p class="hint">"Choose at least one. Test events are sent whatever you choose."</p>
            {types
                .into_iter()
                .map(|(event_type, checked)| {
                    let id = format!("{prefix}-{}", event_type.replace('.', "-"));
                    view! {
                        <label class="check" for=id>
                            <input type="checkbox" id=id.clone() name="event_types" value=event_type.clone()
                                checked=checked />
                            " " <code>{event_type}</code>
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

/// The "Webhooks" section of an application's page.
#[component]
#[allow(clippy::needless_pass_by_value, reason = "component props")]
pub fn WebhooksSection(
    app_id: String,
    webhooks: ApplicationWebhooks,
    can_manage: bool,
    csrf: String,
    /// The refused add form's fields, to fill it in again.
    draft: Viewer,
) -> impl IntoView {
    let base = format!("/apps/{app_id}/webhooks");
    let list = if webhooks.endpoints.is_empty() {
        view! {
            <p class="muted">
                "No webhook endpoints. Add one to receive this organisation's sandbox events "
                "(orders created, cancelled, updated) as signed HTTP POSTs."
            </p>
        }
        .into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Webhook endpoints">
                <table class="data-table webhooks-table">
                    <caption>"Webhook endpoints"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"URL"</th>
                            <th scope="col">"Event types"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Signing secret"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {webhooks
                            .endpoints
                            .into_iter()
                            .map(|endpoint| {
                                let href = format!("{base}/{}", endpoint.id);
                                let status = status_text(&endpoint);
                                let badge = enabled_badge(&endpoint);
                                let secret = match &endpoint.rotating_until {
                                    Some(until) => format!("rotating until {until}"),
                                    None => "one secret".to_owned(),
                                };
                                view! {
                                    <tr data-endpoint-id=endpoint.id.clone()>
                                        <th scope="row"><a href=href class="mono">{endpoint.url.clone()}</a></th>
                                        <td>
                                            {endpoint
                                                .event_types
                                                .iter()
                                                .map(|t| view! { <code>{t.clone()}</code> " " })
                                                .collect_view()}
                                        </td>
                                        <td>{badge} " " <span class="muted">{status}</span></td>
                                        <td>{secret}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let has_draft = !draft.draft.is_empty();
    let add = can_manage.then(|| {
        let ticked = webhooks
            .event_types
            .iter()
            .map(|t| (t.clone(), has_draft && draft.draft_has("event_types", t)))
            .collect();
        let checks = event_type_checks("add-event", ticked);
        view! {
            <form method="post" action=base.clone() class="panel form wide-form add-webhook">
                {csrf_input(&csrf)}
                <h3>"Add endpoint"</h3>
                <label for="webhook-url">"URL"</label>
                <input id="webhook-url" name="url" type="url" required maxlength="2000" class="mono"
                    placeholder="https://hooks.example.com/portico" autocomplete="off"
                    aria-describedby="webhook-url-hint" value=draft.draft_value("url") />
                <p id="webhook-url-hint" class="hint">
                    "A public https URL (port 443, 80 or 8443). Private and internal addresses are refused."
                </p>
                <label for="webhook-description">"Description " <span class="optional">"(optional)"</span></label>
                <input id="webhook-description" name="description" type="text" maxlength="500"
                    value=draft.draft_value("description") />
                {checks}
                <button type="submit" class="button primary">"Add endpoint"</button>
            </form>
        }
    });
    view! {
        <section class="section" aria-labelledby="webhooks-title" id="webhooks">
            <h2 id="webhooks-title">"Webhooks"</h2>
            {list}
            {add}
        </section>
    }
}

#[component]
pub fn WebhookEndpoint() -> impl IntoView {
    let viewer = Viewer::current();
    if viewer.user.is_none() {
        return view! {
            <Title text="Webhook endpoint" />
            <h1>"Webhook endpoint"</h1>
            <SignInRequired />
        }
        .into_any();
    }
    let csrf = viewer.csrf_token.clone();
    // What was typed into the edit form before a refusal comes back.
    let draft = Viewer {
        draft: viewer.draft,
        ..Viewer::default()
    };
    let params = leptos_router::hooks::use_params_map().read_untracked();
    let app_id = params.get("id").unwrap_or_default();
    let endpoint_id = params.get("endpoint").unwrap_or_default();
    let query = leptos_router::hooks::use_query_map().read_untracked();
    let event_type = query.get("event_type").unwrap_or_default();
    let result = query.get("result").unwrap_or_default();
    let back = format!("/apps/{app_id}");
    let data = Resource::new(
        move || {
            (
                app_id.clone(),
                endpoint_id.clone(),
                event_type.clone(),
                result.clone(),
            )
        },
        |(app_id, endpoint_id, event_type, result)| {
            webhook_endpoint_page(app_id, endpoint_id, event_type, result)
        },
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading the webhook endpoint…"</p> }>
            {move || {
                let csrf = csrf.clone();
                let draft = draft.clone();
                let back = back.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <EndpointDetail data csrf draft /> }.into_any(),
                        Err(e) => view! {
                            <Title text="Webhook endpoint not found" />
                            <h1>"Webhook endpoint not found"</h1>
                            <div class="panel">
                                <p>{error_text(&e)}</p>
                                <a href=back class="button">"Back to the application"</a>
                            </div>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// The signing secret, shown once after it was made or rotated.
#[component]
fn SigningSecretPanel(items: Vec<ShownOnce>) -> impl IntoView {
    (!items.is_empty()).then(|| {
        view! {
            <section class="panel shown-once" data-testid="shown-once" aria-labelledby="shown-once-title">
                <h2 id="shown-once-title">"Copy this now"</h2>
                <p class="warning">
                    <strong>"You will not see this again."</strong>
                    " Portico keeps it encrypted to sign deliveries and never shows it again. "
                    "Store it where your receiver can read it to verify the webhook-signature header."
                </p>
                {items
                    .into_iter()
                    .map(|item| {
                        let id = format!("secret-{}", item.label.to_lowercase().replace(' ', "-"));
                        view! {
                            <label for=id.clone()>{item.label.clone()}</label>
                            <input id=id type="text" readonly value=item.value data-copy=""
                                aria-label=item.label class="mono" spellcheck="false" autocomplete="off" />
                        }
                    })
                    .collect_view()}
            </section>
        }
    })
}

#[component]
fn EndpointDetail(data: EndpointPageData, csrf: String, draft: Viewer) -> impl IntoView {
    let endpoint = data.endpoint.clone();
    let base = format!("/apps/{}/webhooks/{}", data.app_id, endpoint.id);
    let app_href = format!("/apps/{}", data.app_id);
    let read_only = (!data.can_manage).then(|| {
        let role = if data.role.is_empty() {
            "administrator".to_owned()
        } else {
            data.role.clone()
        };
        view! {
            <p class="notice" role="note">
                {format!("Your role ({role}) lets you see this endpoint but not change it.")}
            </p>
        }
    });
    let failing = endpoint.disabled_for_failing.then(|| {
        view! {
            <p class="notice error" role="note">
                {format!(
                    "This endpoint was disabled after {} of failed deliveries. Fix it and enable it again; \
                     then replay the messages it missed.",
                    data.disable_after
                )}
            </p>
        }
    });
    let description = (!endpoint.description.is_empty())
        .then(|| view! { <p class="lead">{endpoint.description.clone()}</p> });
    let secret = match &endpoint.rotating_until {
        Some(until) => format!(
            "rotating until {until}: deliveries carry a signature with the new secret and one with the previous secret"
        ),
        None => "one secret in force".to_owned(),
    };
    let manage = data.can_manage.then(|| {
        view! {
            <EndpointActions endpoint=endpoint.clone() base=base.clone() csrf=csrf.clone() />
            <EditForm endpoint=endpoint.clone() event_types=data.event_types.clone()
                base=base.clone() csrf=csrf.clone() draft />
            <RotateForm base=base.clone() csrf=csrf.clone() />
        }
    });
    let log = data
        .can_view_logs
        .then(|| view! { <DeliveryLog data=data.clone() base=base.clone() csrf=csrf.clone() /> });
    let delete = data
        .can_manage
        .then(|| view! { <DeleteForm base=base.clone() csrf=csrf.clone() /> });
    let title = format!("Webhook endpoint {}", endpoint.url);
    view! {
        <Title text=title />
        <p class="breadcrumb">
            <a href="/apps">"Applications"</a> " / "
            <a href=app_href>{data.app_name.clone()}</a> " / Webhook endpoint"
        </p>
        <div class="page-head">
            <h1>"Webhook endpoint " {enabled_badge(&endpoint)}</h1>
        </div>
        <p class="mono endpoint-url" data-testid="endpoint-url">{endpoint.url.clone()}</p>
        {description}
        {failing}
        {read_only}
        <SigningSecretPanel items=data.shown_once.clone() />
        <section class="section" aria-labelledby="endpoint-facts-title">
            <h2 id="endpoint-facts-title">"Details"</h2>
            <dl class="facts">
                <dt>"Status"</dt>
                <dd data-testid="endpoint-status">{status_text(&endpoint)}</dd>
                <dt>"Event types"</dt>
                <dd>
                    {endpoint
                        .event_types
                        .iter()
                        .map(|t| view! { <code>{t.clone()}</code> " " })
                        .collect_view()}
                </dd>
                <dt>"Signing secret"</dt>
                <dd data-testid="endpoint-secret">{secret}</dd>
                <dt>"Endpoint ID"</dt>
                <dd><code>{endpoint.id.clone()}</code></dd>
                <dt>"Created"</dt>
                <dd>{endpoint.created.clone()}</dd>
            </dl>
        </section>
        {manage}
        {log}
        {delete}
    }
}

/// Send test event, enable / disable.
#[component]
fn EndpointActions(endpoint: EndpointRow, base: String, csrf: String) -> impl IntoView {
    let toggle = if endpoint.enabled {
        view! {
            <form method="post" action=format!("{base}/disable") class="inline-form">
                {csrf_input(&csrf)}
                <button type="submit" class="button">"Disable"</button>
            </form>
        }
        .into_any()
    } else {
        view! {
            <form method="post" action=format!("{base}/enable") class="inline-form">
                {csrf_input(&csrf)}
                <button type="submit" class="button primary">"Enable"</button>
            </form>
        }
        .into_any()
    };
    let test_hint = if endpoint.enabled {
        "Sends a portico.test event now; its delivery appears in the log below within seconds."
    } else {
        "Sends a portico.test event; it waits until the endpoint is enabled."
    };
    view! {
        <section class="section" aria-labelledby="endpoint-actions-title">
            <h2 id="endpoint-actions-title">"Actions"</h2>
            <form method="post" action=format!("{base}/test") class="inline-form">
                {csrf_input(&csrf)}
                <button type="submit" class="button">"Send test event"</button>
            </form>
            " "
            {toggle}
            <p class="hint">{test_hint}</p>
        </section>
    }
}

#[component]
fn EditForm(
    endpoint: EndpointRow,
    event_types: Vec<String>,
    base: String,
    csrf: String,
    draft: Viewer,
) -> impl IntoView {
    let has_draft = !draft.draft.is_empty();
    let (url, description) = if has_draft {
        (draft.draft_value("url"), draft.draft_value("description"))
    } else {
        (endpoint.url.clone(), endpoint.description.clone())
    };
    let ticked = event_types
        .into_iter()
        .map(|t| {
            let checked = if has_draft {
                draft.draft_has("event_types", &t)
            } else {
                endpoint.event_types.contains(&t)
            };
            (t, checked)
        })
        .collect();
    let checks = event_type_checks("edit-event", ticked);
    view! {
        <section class="section" aria-labelledby="edit-endpoint-title">
            <h2 id="edit-endpoint-title">"Edit"</h2>
            <form method="post" action=format!("{base}/edit") class="panel form wide-form edit-webhook">
                {csrf_input(&csrf)}
                <label for="edit-url">"URL"</label>
                <input id="edit-url" name="url" type="url" required maxlength="2000" class="mono"
                    autocomplete="off" value=url />
                <label for="edit-description">"Description " <span class="optional">"(optional)"</span></label>
                <input id="edit-description" name="description" type="text" maxlength="500"
                    value=description />
                {checks}
                <button type="submit" class="button primary">"Save endpoint"</button>
            </form>
        </section>
    }
}

#[component]
fn RotateForm(base: String, csrf: String) -> impl IntoView {
    view! {
        <section class="section" aria-labelledby="rotate-title">
            <h2 id="rotate-title">"Rotate the signing secret"</h2>
            <form method="post" action=format!("{base}/rotate") class="panel form rotate-webhook">
                {csrf_input(&csrf)}
                <p>
                    "Makes a new secret, shown once. During the overlap every delivery carries two "
                    "signatures (new and previous secret), so you can deploy the new secret to your "
                    "receiver without missing a message."
                </p>
                <label for="overlap-hours">"Overlap (hours)"</label>
                <input id="overlap-hours" name="overlap_hours" type="number" min="0" max="168" step="1"
                    value="24" required aria-describedby="overlap-hint" />
                <p id="overlap-hint" class="hint">"0 to 168. With 0 the previous secret stops signing at once."</p>
                <button type="submit" class="button">"Rotate secret"</button>
            </form>
        </section>
    }
}

#[component]
fn DeleteForm(base: String, csrf: String) -> impl IntoView {
    view! {
        <section class="section danger-zone" aria-labelledby="delete-endpoint-title">
            <h2 id="delete-endpoint-title">"Delete"</h2>
            <form method="post" action=format!("{base}/delete") class="form danger-form"
                data-confirm="Delete this webhook endpoint? Its deliveries and log are deleted.">
                {csrf_input(&csrf)}
                <p>"Deletes the endpoint, its pending deliveries and its delivery log. This cannot be undone."</p>
                <label class="check" for="confirm-delete">
                    <input type="checkbox" id="confirm-delete" name="confirm" value="yes" required />
                    " I understand deliveries to this endpoint stop and its log is deleted"
                </label>
                <button type="submit" class="button danger">"Delete endpoint"</button>
            </form>
        </section>
    }
}

#[component]
fn DeliveryLog(data: EndpointPageData, base: String, csrf: String) -> impl IntoView {
    let can_replay = data.can_manage;
    let filtered = !data.filter_event_type.is_empty() || data.filter_result != "all";
    let type_options = {
        let selected = data.filter_event_type.clone();
        data.log_event_types
            .iter()
            .map(|t| {
                let is_selected = *t == selected;
                view! { <option value=t.clone() selected=is_selected>{t.clone()}</option> }
            })
            .collect_view()
    };
    let result_options = [
        ("all", "All"),
        ("succeeded", "Succeeded"),
        ("failed", "Failed"),
    ]
    .into_iter()
    .map(|(value, label)| {
        let is_selected = data.filter_result == value;
        view! { <option value=value selected=is_selected>{label}</option> }
    })
    .collect_view();
    let any_type_selected = data.filter_event_type.is_empty();
    let table = if data.attempts.is_empty() {
        let text = if filtered {
            "No delivery attempts match these filters."
        } else {
            "No delivery attempts yet. Send a test event to try the endpoint."
        };
        view! { <p class="muted" data-testid="no-attempts">{text}</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label={format!("Delivery attempts, newest first (at most {})", data.log_limit)}>
                <table class="data-table delivery-log">
                    <caption>{format!("Delivery attempts, newest first (at most {})", data.log_limit)}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Time (UTC)"</th>
                            <th scope="col">"Event type"</th>
                            <th scope="col">"Message ID"</th>
                            <th scope="col">"Result"</th>
                            <th scope="col">"Latency"</th>
                            <th scope="col">"Response"</th>
                            {can_replay.then(|| view! { <th scope="col">"Actions"</th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {data
                            .attempts
                            .into_iter()
                            .map(|attempt| {
                                let result = match (attempt.status_code, &attempt.error) {
                                    (Some(code), _) => code.to_string(),
                                    (None, Some(error)) => error.clone(),
                                    (None, None) => "no answer".to_owned(),
                                };
                                let tone = if attempt.succeeded { "badge ok" } else { "badge bad" };
                                let response = if attempt.response_excerpt.is_empty() {
                                    view! { <span class="muted">"—"</span> }.into_any()
                                } else {
                                    view! {
                                        <details>
                                            <summary>"First 1 KiB"</summary>
                                            <pre class="response-excerpt" tabindex="0">{attempt.response_excerpt.clone()}</pre>
                                        </details>
                                    }
                                    .into_any()
                                };
                                let replay = can_replay.then(|| view! {
                                    <td class="row-actions">
                                        <form method="post" action=format!("{base}/replay") class="inline-form">
                                            {csrf_input(&csrf)}
                                            <input type="hidden" name="message_id" value=attempt.message_id.clone() />
                                            <button type="submit" class="button small">"Replay"</button>
                                        </form>
                                    </td>
                                });
                                let outcome = if attempt.succeeded { "succeeded" } else { "failed" };
                                view! {
                                    <tr data-message-id=attempt.message_id.clone() data-result=outcome>
                                        <td>{attempt.time.clone()}</td>
                                        <td><code>{attempt.event_type.clone()}</code></td>
                                        <td><code>{attempt.message_id.clone()}</code></td>
                                        <td><span class=tone data-testid="attempt-result">{result}</span></td>
                                        <td>{format!("{} ms", attempt.latency_ms)}</td>
                                        <td>{response}</td>
                                        {replay}
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let replay_failed = can_replay.then(|| {
        view! {
            <form method="post" action=format!("{base}/replay-failed") class="panel form replay-failed">
                {csrf_input(&csrf)}
                <h3>"Replay failed messages"</h3>
                <label for="replay-since">"Failed messages created since (UTC)"</label>
                <input id="replay-since" name="since" type="datetime-local" required
                    value=data.replay_since_default.clone() aria-describedby="replay-since-hint" />
                <p id="replay-since-hint" class="hint">
                    "Every message created since then whose delivery failed or is waiting for a retry is sent again now, "
                    "with the same webhook-id. Format: YYYY-MM-DDTHH:MM, in UTC."
                </p>
                <button type="submit" class="button">"Replay failed messages"</button>
            </form>
        }
    });
    view! {
        <section class="section" aria-labelledby="delivery-log-title" id="delivery-log">
            <h2 id="delivery-log-title">"Delivery log"</h2>
            <p class="hint retry-schedule" data-testid="retry-schedule">
                {format!(
                    "Each event is sent at once. When an attempt fails (no 2xx answer within 10 s), it is tried again after {}, \
                     always with the same webhook-id. An endpoint whose deliveries have all failed for {} is disabled; \
                     fix it, enable it and replay what it missed.",
                    data.retry_schedule, data.disable_after
                )}
            </p>
            <form method="get" action=base.clone() class="filters">
                <label for="filter-event-type">"Event type"</label>
                <select id="filter-event-type" name="event_type">
                    <option value="" selected=any_type_selected>"Any"</option>
                    {type_options}
                </select>
                <label for="filter-result">"Result"</label>
                <select id="filter-result" name="result">{result_options}</select>
                <button type="submit" class="button small">"Filter"</button>
            </form>
            {table}
            {replay_failed}
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_in_utc() {
        assert_eq!(
            super::format_time_ms(1_795_628_412_345),
            "2026-11-25 17:40:12 UTC"
        );
        assert_eq!(super::datetime_local(1_795_628_412), "2026-11-25T17:40");
    }
}
