//! `/admin/versions`: each API version's dates in force, the admin's overrides (audited), and
//! the partners still calling each deprecated version, so someone can reach out before the
//! sunset.

use super::{AdminFrame, AdminSection, Section, routes};
use crate::pages::deprecations::{REPORT_DAYS, VersionRow};
use crate::pages::route;
use crate::viewer::CsrfField;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminVersionRow {
    pub version: VersionRow,
    /// The admin's dates (`None` = as the model says), who set them and when.
    pub override_ga: Option<String>,
    pub override_deprecated_since: Option<String>,
    pub override_sunset: Option<String>,
    pub overridden: Option<(String, String)>,
    /// Partners that called this (deprecated or sunset) version in the last 30 days.
    pub callers: Vec<CallerRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerRow {
    pub partner: String,
    pub slug: String,
    pub applications: usize,
    pub calls: i64,
    pub last_call: String,
}

#[server]
pub async fn admin_versions() -> Result<Vec<AdminVersionRow>, ServerFnError> {
    ssr::versions().await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{AdminVersionRow, CallerRow, REPORT_DAYS};
    use crate::components::format::format_time;
    use crate::server::{actor, page_error, portal};
    use leptos::prelude::ServerFnError;
    use portico_core::lifecycle;
    use portico_core::orgs::partners;
    use portico_core::{CoreError, clock};
    use std::collections::{BTreeMap, BTreeSet};

    pub async fn versions() -> Result<Vec<AdminVersionRow>, ServerFnError> {
        actor().ok_or_else(|| ServerFnError::new("Sign in to continue."))?;
        // The viewer is loaded from the database on every request.
        if !crate::viewer::Viewer::current().is_admin() {
            return Err(page_error(CoreError::Forbidden(
                "Only platform administrators can do this.".into(),
            )));
        }
        let portal = portal()?;
        let docs = portal.docs.current();
        let rows = crate::pages::deprecations::ssr::version_rows(&docs);
        let overrides = lifecycle::list_overrides(&portal.db)
            .await
            .map_err(page_error)?;
        let retiring: Vec<&str> = rows
            .iter()
            .filter(|r| r.state != "current")
            .map(|r| r.name.as_str())
            .collect();
        let since = clock::now_ms() - REPORT_DAYS * 86_400_000;
        let calls = lifecycle::calls_to_versions(&portal.db, &retiring, since)
            .await
            .map_err(page_error)?;
        let mut conn = portal
            .db
            .pool()
            .acquire()
            .await
            .map_err(|e| page_error(e.into()))?;
        let partners = partners::list(&mut conn).await.map_err(page_error)?;
        drop(conn);
        Ok(rows
            .into_iter()
            .map(|version| {
                let over = overrides.iter().find(|o| o.version == version.name);
                // partner id → (applications, calls, last call)
                let mut by_partner: BTreeMap<&str, (BTreeSet<&str>, i64, i64)> = BTreeMap::new();
                for call in calls.iter().filter(|c| c.version == version.name) {
                    let entry = by_partner.entry(&call.partner_id).or_default();
                    entry.0.insert(&call.client_id);
                    entry.1 += call.calls;
                    entry.2 = entry.2.max(call.last_call_ms);
                }
                let mut callers: Vec<CallerRow> = by_partner
                    .into_iter()
                    .map(|(id, (apps, calls, last))| {
                        // The request log names partners by their tenant slug.
                        let partner = partners.iter().find(|p| p.slug == id);
                        CallerRow {
                            partner: partner.map_or_else(|| id.to_owned(), |p| p.name.clone()),
                            slug: id.to_owned(),
                            applications: apps.len(),
                            calls,
                            last_call: format_time(last / 1000),
                        }
                    })
                    .collect();
                callers.sort_by_key(|c| std::cmp::Reverse(c.calls));
                AdminVersionRow {
                    override_ga: over.and_then(|o| o.ga.clone()),
                    override_deprecated_since: over.and_then(|o| o.deprecated_since.clone()),
                    override_sunset: over.and_then(|o| o.sunset.clone()),
                    overridden: over.map(|o| (o.updated_by.clone(), format_time(o.updated_at))),
                    callers,
                    version,
                }
            })
            .collect())
    }
}

#[component]
pub fn AdminVersions() -> impl IntoView {
    view! {
        <AdminSection section=Section::Versions title="API versions" heading="API versions"
            key=|| () load=|()| admin_versions()
            page=versions_page />
    }
}

fn versions_page(rows: Vec<AdminVersionRow>, (): ()) -> AnyView {
    view! {
        <AdminFrame section=Section::Versions>
            <h1>"API versions"</h1>
            <p class="lead">
                "The dates in force for each version: the model's (" <code>"x-ga"</code> ", "
                <code>"x-deprecated-since"</code> ", " <code>"x-sunset"</code>
                "), or yours where you set them. The gateway's "
                <code>"Deprecation"</code> " and " <code>"Sunset"</code>
                " headers, its 410 from the sunset date, the reference and "
                <a href="/deprecations">"the public deprecations page"</a>
                " all follow these dates within seconds of a change."
            </p>
            {rows.into_iter().map(version_panel).collect_view()}
        </AdminFrame>
    }
    .into_any()
}

fn version_panel(row: AdminVersionRow) -> impl IntoView {
    let v = row.version;
    let name = v.name.clone();
    let action = route(routes::VERSION_DATES, &[&name]);
    let source = match &row.overridden {
        Some((by, at)) => format!("Dates set by {by} on {at}; empty fields follow the model."),
        None => "Dates from the model.".to_owned(),
    };
    let callers = if v.state == "current" {
        None
    } else if row.callers.is_empty() {
        Some(
            view! {
                <p class="muted">{format!("No partner called {name} in the last {REPORT_DAYS} days.")}</p>
            }
            .into_any(),
        )
    } else {
        Some(
            view! {
                <div class="table-wrap" tabindex="0" role="region" aria-label={format!("Partners still calling {name} (last {REPORT_DAYS} days)")}>
                    <table class="admin-table" data-testid=format!("callers-{name}")>
                        <caption>{format!("Partners still calling {name} (last {REPORT_DAYS} days)")}</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Partner"</th>
                                <th scope="col">"Applications"</th>
                                <th scope="col">"Calls"</th>
                                <th scope="col">"Last call"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {row
                                .callers
                                .into_iter()
                                .map(|c| {
                                    let slug = c.slug.clone();
                                    view! {
                                    <tr data-partner=slug>
                                        <td><a href="/admin/partners">{c.partner}</a> " " <code>{c.slug}</code></td>
                                        <td>{c.applications}</td>
                                        <td data-field="calls">{c.calls}</td>
                                        <td>{c.last_call}</td>
                                    </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any(),
        )
    };
    let in_force = format!(
        "GA {} · deprecated since {} · sunset {}",
        v.ga.as_deref().unwrap_or("—"),
        v.deprecated_since.as_deref().unwrap_or("—"),
        v.sunset.as_deref().unwrap_or("—"),
    );
    let date_field = |field: &'static str, label: &'static str, value: Option<String>| {
        let id = format!("{name}-{field}");
        view! {
            <label for=id.clone()>{label}</label>
            <input type="date" id=id name=field value=value.unwrap_or_default() />
        }
    };
    view! {
        <section class="panel" data-version=name.clone() aria-labelledby=format!("version-{name}")>
            <h2 id=format!("version-{name}")>
                {name.clone()} " " <span class=format!("badge {}", v.state)>{v.state.clone()}</span>
            </h2>
            <p data-field="in-force">{in_force}</p>
            <p class="muted">{source}</p>
            <form method="post" action=action.clone() class="stacked-form version-dates">
                <CsrfField />
                {date_field("ga", "Generally available", row.override_ga)}
                {date_field("deprecated_since", "Deprecated since", row.override_deprecated_since)}
                {date_field("sunset", "Sunset", row.override_sunset)}
                <p class="muted">"Dates are UTC days (YYYY-MM-DD). A sunset date today or earlier retires the version at once: every call returns 410."</p>
                <button type="submit" class="button primary">"Save dates"</button>
            </form>
            {row.overridden.is_some().then(|| view! {
                <form method="post" action=action class="inline-form">
                    <CsrfField />
                    <input type="hidden" name="reset" value="1" />
                    <button type="submit" class="button">"Use the model's dates"</button>
                </form>
            })}
            {callers}
        </section>
    }
}
