//! `/deprecations`: the versioning and deprecation policy, every API version with its dates
//! and state, the operations deprecated on their own, and, for a signed-in partner, which of
//! their applications still call what is deprecated.
//!
//! The dates come from the docs, which are rebuilt from the gateway's catalogue whenever a
//! version's dates change: what this page says is what the gateway's `Deprecation` and
//! `Sunset` headers and its 410 say.

use crate::viewer::Viewer;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRow {
    pub name: String,
    /// current, deprecated or sunset.
    pub state: String,
    pub ga: Option<String>,
    pub deprecated_since: Option<String>,
    pub sunset: Option<String>,
    /// Days from today (UTC) to the sunset date, for a deprecated version.
    pub days_until_sunset: Option<i64>,
    /// Deprecated on their own (their version is not).
    pub operations: Vec<DeprecatedOperation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeprecatedOperation {
    pub id: String,
    pub method: String,
    pub path: String,
    pub sunset: Option<String>,
}

/// One application's use of one deprecated version or operation in the last 30 days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    pub app_id: Option<String>,
    pub application: String,
    /// `v1 (every operation)` or `GET /v2/commercial/packages`.
    pub what: String,
    pub version: String,
    pub calls: i64,
    pub last_call: String,
    pub sunset: Option<String>,
    pub days_until_sunset: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeprecationsData {
    pub versions: Vec<VersionRow>,
    /// For a member of an organisation: its deprecation report.
    pub report: Option<PartnerReport>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerReport {
    pub organisation: String,
    pub rows: Vec<ReportRow>,
}

#[server]
pub async fn deprecations_page() -> Result<DeprecationsData, ServerFnError> {
    ssr::page().await
}

/// How many days the report looks back.
pub const REPORT_DAYS: i64 = 30;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::{
        DeprecatedOperation, DeprecationsData, PartnerReport, REPORT_DAYS, ReportRow, VersionRow,
    };
    use crate::components::format::format_time;
    use crate::server::{actor, page_error, portal};
    use leptos::prelude::ServerFnError;
    use portico_core::apps::applications;
    use portico_core::lifecycle::{self, DeprecatedTarget};
    use portico_core::orgs::organisations;
    use portico_core::{CoreResult, Database, clock};
    use portico_docsite::{DocSite, VersionState};

    /// Every version, newest first, as the docs (and so the gateway) have it now.
    pub fn version_rows(docs: &DocSite) -> Vec<VersionRow> {
        let now = clock::now();
        docs.versions()
            .iter()
            .map(|v| {
                let (deprecated_since, sunset) = match &v.state {
                    VersionState::Current => (None, None),
                    VersionState::Deprecated { since, sunset } => {
                        (Some(since.clone()), Some(sunset.clone()))
                    }
                    VersionState::Sunset { since } => {
                        (v.deprecated_since.clone(), Some(since.clone()))
                    }
                };
                let days_until_sunset = match &v.state {
                    VersionState::Deprecated { sunset, .. } => lifecycle::days_until(sunset, now),
                    _ => None,
                };
                VersionRow {
                    name: v.name.clone(),
                    state: v.state.label().to_owned(),
                    ga: v.ga.clone(),
                    deprecated_since,
                    sunset,
                    days_until_sunset,
                    operations: v
                        .operations
                        .iter()
                        .filter(|op| op.deprecated_itself && v.state == VersionState::Current)
                        .map(|op| DeprecatedOperation {
                            id: op.id.clone(),
                            method: op.method.clone(),
                            path: op.path.clone(),
                            sunset: op.sunset.clone(),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// What a caller should move off: deprecated and sunset versions, and operations
    /// deprecated on their own in a current version.
    pub fn targets(docs: &DocSite) -> Vec<DeprecatedTarget> {
        let mut targets = Vec::new();
        for v in docs.versions() {
            match &v.state {
                VersionState::Current => {
                    targets.extend(v.operations.iter().filter(|op| op.deprecated_itself).map(
                        |op| DeprecatedTarget {
                            version: v.name.clone(),
                            operation: Some((op.method.clone(), op.path.clone())),
                            sunset: op.sunset.clone(),
                        },
                    ));
                }
                state => targets.push(DeprecatedTarget {
                    version: v.name.clone(),
                    operation: None,
                    sunset: state.sunset_date().map(str::to_owned),
                }),
            }
        }
        targets
    }

    /// Partner `partner_id`'s (the tenant slug the request log keeps) use of deprecated versions and operations in the last
    /// [`REPORT_DAYS`] days, optionally for one application (by client id).
    pub async fn partner_report(
        db: &Database,
        docs: &DocSite,
        partner_id: &str,
        only_client: Option<&str>,
    ) -> CoreResult<Vec<ReportRow>> {
        let since = clock::now_ms() - REPORT_DAYS * 86_400_000;
        let groups: Vec<_> = lifecycle::partner_calls(db, partner_id, since)
            .await?
            .into_iter()
            .filter(|g| only_client.is_none_or(|c| g.client_id == c))
            .collect();
        let uses = lifecycle::deprecated_uses(&groups, &targets(docs));
        let now = clock::now();
        let mut rows = Vec::with_capacity(uses.len());
        for u in uses {
            let app = applications::find_by_client_id(db, &u.client_id).await?;
            let what = match &u.target.operation {
                None => format!("{} (every operation)", u.target.version),
                Some((method, route)) => format!("{method} {route}"),
            };
            rows.push(ReportRow {
                app_id: app.as_ref().map(|a| a.id.clone()),
                application: app.map_or_else(|| u.client_id.clone(), |a| a.name),
                what,
                version: u.target.version.clone(),
                calls: u.calls,
                last_call: format_time(u.last_call_ms / 1000),
                days_until_sunset: u
                    .target
                    .sunset
                    .as_deref()
                    .and_then(|d| lifecycle::days_until(d, now)),
                sunset: u.target.sunset,
            });
        }
        Ok(rows)
    }

    pub async fn page() -> Result<DeprecationsData, ServerFnError> {
        let ctx = portal()?;
        let docs = ctx.docs.current();
        let report = match actor() {
            Some(actor) => match organisations::my_organisation(&ctx.db, &actor)
                .await
                .map_err(page_error)?
            {
                Some((org, _)) => Some(PartnerReport {
                    rows: partner_report(&ctx.db, &docs, &org.slug, None)
                        .await
                        .map_err(page_error)?,
                    organisation: org.name,
                }),
                None => None,
            },
            None => None,
        };
        Ok(DeprecationsData {
            versions: version_rows(&docs),
            report,
        })
    }
}

#[component]
pub fn Deprecations() -> impl IntoView {
    let data = Resource::new(|| (), |()| deprecations_page());
    let query = use_query_map();
    let selected = move || query.with(|q| q.get("version"));
    view! {
        <Title text="Deprecations" />
        <h1>"API versions and deprecations"</h1>
        <Policy />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let selected = selected();
                        view! {
                            <VersionTable versions=d.versions.clone() selected />
                            <DeprecatedOperations versions=d.versions />
                            {d.report.map(|report| view! { <Report report /> })}
                            {Viewer::current().user.is_none().then(|| view! {
                                <p class="muted">
                                    <a href="/signin">"Sign in"</a>
                                    " to see which of your applications still call deprecated versions."
                                </p>
                            })}
                        }
                        .into_any()
                    }
                    Err(_) => view! {
                        <p class="flash error" role="alert">"The version dates are unavailable right now."</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Policy() -> impl IntoView {
    view! {
        <section class="panel policy" aria-labelledby="policy">
            <h2 id="policy">"Policy"</h2>
            <ul>
                <li>"Versions are in the URL: " <code>"/v1/…"</code> ", " <code>"/v2/…"</code> ". A version never changes incompatibly while it is supported."</li>
                <li>"Version N is supported for 18 months after version N+1 becomes generally available (GA)."</li>
                <li>"Sunset dates are announced at least 12 months ahead. Until then, every response of a deprecated version carries "
                    <code>"Deprecation"</code> ", " <code>"Sunset"</code> " and " <code>"Link"</code> " headers with these dates."</li>
                <li>"From its sunset date, every call to a version returns " <code>"410 Gone"</code> " (" <code>"GoneException"</code> ")."</li>
            </ul>
            <p>
                <a href="/docs/versioning">"Versioning and deprecation guide"</a>
                " · "
                <a href="/changelog">"What changed between versions"</a>
            </p>
        </section>
    }
}

fn dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "—".to_owned())
}

fn countdown(days: Option<i64>) -> Option<String> {
    days.map(|d| match d {
        ..=0 => "today".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    })
}

#[component]
fn VersionTable(versions: Vec<VersionRow>, selected: Option<String>) -> impl IntoView {
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Every API version, newest first">
            <table class="admin-table versions-table" data-testid="versions">
                <caption>"Every API version, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Version"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Generally available"</th>
                        <th scope="col">"Deprecated since"</th>
                        <th scope="col">"Sunset"</th>
                        <th scope="col">"Time left"</th>
                    </tr>
                </thead>
                <tbody>
                    {versions
                        .into_iter()
                        .map(|v| {
                            let is_selected = selected.as_deref() == Some(v.name.as_str());
                            let badge = format!("badge {}", v.state);
                            let left = match v.state.as_str() {
                                "deprecated" => countdown(v.days_until_sunset)
                                    .map(|c| format!("Stops working {c}"))
                                    .unwrap_or_default(),
                                "sunset" => "Retired: calls return 410 Gone".to_owned(),
                                _ => "Supported".to_owned(),
                            };
                            // view! builds children before attributes: each gets its own copy.
                            let (name, state) = (v.name, v.state);
                            let href = format!("/reference/{name}");
                            let (id, version, state_attribute) = (name.clone(), name.clone(), state.clone());
                            view! {
                                <tr id=id data-version=version data-state=state_attribute
                                    class:selected=is_selected aria-current=is_selected.then_some("true")>
                                    <th scope="row"><a href=href>{name}</a></th>
                                    <td><span class=badge>{state}</span></td>
                                    <td data-field="ga">{dash(v.ga)}</td>
                                    <td data-field="deprecated-since">{dash(v.deprecated_since)}</td>
                                    <td data-field="sunset">{dash(v.sunset)}</td>
                                    <td data-field="countdown">{left}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn DeprecatedOperations(versions: Vec<VersionRow>) -> impl IntoView {
    let with_operations: Vec<VersionRow> = versions
        .into_iter()
        .filter(|v| !v.operations.is_empty())
        .collect();
    let body = if with_operations.is_empty() {
        view! {
            <p class="muted">"No operation of a current version is deprecated on its own."</p>
        }
        .into_any()
    } else {
        with_operations
            .into_iter()
            .map(|v| {
                let name = v.name;
                let heading = name.clone();
                let attribute = name.clone();
                view! {
                    <h3>{heading}</h3>
                    <ul class="deprecated-operations" data-version=attribute>
                        {v.operations
                            .into_iter()
                            .map(|op| {
                                let href = format!("/reference/{name}/{}", op.id);
                                view! {
                                    <li>
                                        <a href=href><code>{op.method} " " {op.path}</code></a>
                                        " (" {op.id} ")"
                                        {op.sunset.map(|s| view! { " — sunset " <strong>{s}</strong> })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <section aria-labelledby="deprecated-operations">
            <h2 id="deprecated-operations">"Operations deprecated on their own"</h2>
            {body}
        </section>
    }
}

#[component]
fn Report(report: PartnerReport) -> impl IntoView {
    let body = if report.rows.is_empty() {
        view! {
            <p class="empty-state" data-testid="report-empty">
                "None of your applications called a deprecated version or operation in the last "
                {REPORT_DAYS} " days."
            </p>
        }
        .into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label={format!("Calls in the last {REPORT_DAYS} days")}>
                <table class="admin-table" data-testid="deprecation-report">
                    <caption>{format!("Calls in the last {REPORT_DAYS} days")}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Application"</th>
                            <th scope="col">"Calls to"</th>
                            <th scope="col">"Calls"</th>
                            <th scope="col">"Last call"</th>
                            <th scope="col">"Sunset"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {report
                            .rows
                            .into_iter()
                            .map(|r| {
                                let app = match r.app_id {
                                    Some(id) => view! { <a href=format!("/apps/{id}")>{r.application}</a> }.into_any(),
                                    None => view! { <span>{r.application}</span> }.into_any(),
                                };
                                let sunset = match (r.sunset, countdown(r.days_until_sunset)) {
                                    (Some(date), Some(left)) => format!("{date} ({left})"),
                                    (Some(date), None) => date,
                                    (None, _) => "—".to_owned(),
                                };
                                view! {
                                    <tr data-version=r.version>
                                        <td>{app}</td>
                                        <td><code>{r.what}</code></td>
                                        <td data-field="calls">{r.calls}</td>
                                        <td>{r.last_call}</td>
                                        <td data-field="sunset">{sunset}</td>
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
    view! {
        <section class="panel" aria-labelledby="report">
            <h2 id="report">"Your deprecation report: " {report.organisation}</h2>
            {body}
        </section>
    }
}
