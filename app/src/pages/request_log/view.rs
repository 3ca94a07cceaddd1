//! `/apps/{id}/logs` (the log with its filter form, pages and downloads) and
//! `/apps/{id}/logs/{request_id}` (one call, step by step).

use super::data::*;
use super::{LogFilters, PAGE_SIZE};
use crate::pages::org::error_text;
use crate::viewer::{SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;
use portico_docsite::reference::percent_encode;

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
