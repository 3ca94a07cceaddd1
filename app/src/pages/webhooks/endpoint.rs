//! `/apps/{id}/webhooks/{endpoint}`: one endpoint's page (details, the signing secret shown
//! once, edit, enable/disable, rotate, test, delete, and the delivery log with replay).

use super::data::*;
use super::{enabled_badge, event_type_checks, routes, status_text};
use crate::components::secrets::ShownOnce;
use crate::pages::org::error_text;
use crate::pages::route;
use crate::viewer::{CsrfField, SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;

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
                let draft = draft.clone();
                let back = back.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <EndpointDetail data draft /> }.into_any(),
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
fn EndpointDetail(data: EndpointPageData, draft: Viewer) -> impl IntoView {
    let endpoint = data.endpoint.clone();
    let target = EndpointTarget {
        app_id: data.app_id.clone(),
        endpoint_id: endpoint.id.clone(),
    };
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
            <EndpointActions endpoint=endpoint.clone() target=target.clone() />
            <EditForm endpoint=endpoint.clone() event_types=data.event_types.clone()
                target=target.clone() draft />
            <RotateForm target=target.clone() />
        }
    });
    let log = data
        .can_view_logs
        .then(|| view! { <DeliveryLog data=data.clone() target=target.clone() /> });
    let delete = data
        .can_manage
        .then(|| view! { <DeleteForm target=target.clone() /> });
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
fn EndpointActions(endpoint: EndpointRow, target: EndpointTarget) -> impl IntoView {
    let toggle = if endpoint.enabled {
        view! {
            <form method="post" action=target.route(routes::DISABLE) class="inline-form">
                <CsrfField />
                <button type="submit" class="button">"Disable"</button>
            </form>
        }
        .into_any()
    } else {
        view! {
            <form method="post" action=target.route(routes::ENABLE) class="inline-form">
                <CsrfField />
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
            <form method="post" action=target.route(routes::TEST) class="inline-form">
                <CsrfField />
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
    target: EndpointTarget,
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
            <form method="post" action=target.route(routes::EDIT) class="panel form wide-form edit-webhook">
                <CsrfField />
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
fn RotateForm(target: EndpointTarget) -> impl IntoView {
    view! {
        <section class="section" aria-labelledby="rotate-title">
            <h2 id="rotate-title">"Rotate the signing secret"</h2>
            <form method="post" action=target.route(routes::ROTATE) class="panel form rotate-webhook">
                <CsrfField />
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
fn DeleteForm(target: EndpointTarget) -> impl IntoView {
    view! {
        <section class="section danger-zone" aria-labelledby="delete-endpoint-title">
            <h2 id="delete-endpoint-title">"Delete"</h2>
            <form method="post" action=target.route(routes::DELETE) class="form danger-form"
                data-confirm="Delete this webhook endpoint? Its deliveries and log are deleted.">
                <CsrfField />
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
fn DeliveryLog(data: EndpointPageData, target: EndpointTarget) -> impl IntoView {
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
                                        <form method="post" action=target.route(routes::REPLAY) class="inline-form">
                                            <CsrfField />
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
            <form method="post" action=target.route(routes::REPLAY_FAILED) class="panel form replay-failed">
                <CsrfField />
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
            <form method="get" action=target.route(routes::ENDPOINT) class="filters">
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

/// The endpoint a form acts on: fills its route's `{id}` and `{endpoint}`.
#[derive(Clone)]
struct EndpointTarget {
    app_id: String,
    endpoint_id: String,
}

impl EndpointTarget {
    fn route(&self, pattern: &str) -> String {
        route(pattern, &[&self.app_id, &self.endpoint_id])
    }
}
