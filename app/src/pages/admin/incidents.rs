//! `/admin/incidents`: incidents and scheduled maintenance for the status page. Admins open an
//! incident (title, affected components, impact, first update) or announce maintenance (with
//! its window), post updates and resolve them; every change is audited (the forms post to
//! `server/src/portal/actions/incidents.rs`).

use super::{AdminFrame, AdminSection, Section, routes};
use crate::components::format::textarea_text;
use crate::pages::route;
use crate::pages::status::IncidentRow;
use crate::viewer::{CsrfField, Viewer};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentsData {
    /// Components an incident may name (those on the status page).
    pub components: Vec<String>,
    /// Newest first: open ones and the last 90 days.
    pub incidents: Vec<IncidentRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentData {
    pub incident: IncidentRow,
    /// (value, label) of the statuses an update may have.
    pub statuses: Vec<(String, String)>,
}

#[server]
pub async fn admin_incidents() -> Result<IncidentsData, ServerFnError> {
    ssr::incidents().await
}

#[server]
pub async fn admin_incident(id: String) -> Result<IncidentData, ServerFnError> {
    ssr::incident(&id).await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{IncidentData, IncidentsData};
    use crate::pages::status::ssr::incident_row;
    use crate::server::{actor, page_error, portal};
    use leptos::prelude::ServerFnError;
    use portico_core::{CoreError, clock, status};

    fn require_admin() -> Result<(), ServerFnError> {
        actor().ok_or_else(|| ServerFnError::new("Sign in to continue."))?;
        if crate::viewer::Viewer::current().is_admin() {
            Ok(())
        } else {
            Err(page_error(CoreError::Forbidden(
                "Only platform administrators can do this.".into(),
            )))
        }
    }

    pub async fn incidents() -> Result<IncidentsData, ServerFnError> {
        require_admin()?;
        let portal = portal()?;
        let now = clock::now();
        let components = status::known_components(&portal.db, clock::now_ms())
            .await
            .map_err(page_error)?;
        let incidents = status::list_incidents(&portal.db, now - status::HISTORY_DAYS * 86_400)
            .await
            .map_err(page_error)?;
        Ok(IncidentsData {
            components,
            incidents: incidents.iter().map(incident_row).collect(),
        })
    }

    pub async fn incident(id: &str) -> Result<IncidentData, ServerFnError> {
        require_admin()?;
        let portal = portal()?;
        let incident = status::get_incident(&portal.db, id)
            .await
            .map_err(page_error)?
            .ok_or_else(|| page_error(CoreError::NotFound { what: "incident" }))?;
        Ok(IncidentData {
            statuses: incident
                .kind
                .statuses()
                .iter()
                .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
                .collect(),
            incident: incident_row(&incident),
        })
    }
}

#[component]
pub fn AdminIncidents() -> impl IntoView {
    view! {
        <AdminSection section=Section::Incidents title="Status incidents" heading="Status incidents"
            key=|| () load=|()| admin_incidents() page=|d: IncidentsData, ()| incidents_view(d) />
    }
}

fn incidents_view(d: IncidentsData) -> AnyView {
    let viewer = Viewer::current();
    let draft = |name: &str| viewer.draft_value(name);
    let kind = draft("kind");
    let maintenance = kind == "maintenance";
    let impact = {
        let v = draft("impact");
        if v.is_empty() { "minor".to_owned() } else { v }
    };
    let status = draft("status");
    let title = draft("title");
    let starts = draft("starts_at");
    let ends = draft("ends_at");
    let message = textarea_text(&draft("message"));
    let components = if d.components.is_empty() {
        view! { <p class="muted">"No components yet: the status probes record them within a minute of start-up."</p> }.into_any()
    } else {
        d.components
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let id = format!("component-{n}");
                let for_id = id.clone();
                let checked = viewer.draft_has("components", c);
                view! {
                    <label class="checkbox" for=for_id>
                        <input type="checkbox" id=id name="components" value=c.clone() checked=checked />
                        " " {c.clone()}
                    </label>
                }
            })
            .collect_view()
            .into_any()
    };
    let option = |value: &'static str, label: &'static str, current: &str| {
        view! { <option value=value selected=current == value>{label}</option> }
    };
    let open: Vec<IncidentRow> = d.incidents.iter().filter(|i| i.open).cloned().collect();
    let closed: Vec<IncidentRow> = d.incidents.into_iter().filter(|i| !i.open).collect();
    view! {
        <AdminFrame section=Section::Incidents>
            <h1>"Status incidents"</h1>
            <p class="lead">
                "Incidents and scheduled maintenance appear on "
                <a href="/status">"the public status page"</a> ", in "
                <a href="/status.json">"status.json"</a> " and in "
                <a href="/status/feed.atom">"the Atom feed"</a>
                " at once. An open incident sets the affected components' state (minor: degraded performance, major: partial outage, critical: major outage) and the overall indicator, whatever the probes say."
            </p>
            <section class="panel" aria-labelledby="open-heading">
                <h2 id="open-heading">"Open"</h2>
                {incident_table(open, "Nothing open: all clear.")}
            </section>
            <section class="panel" aria-labelledby="new-heading">
                <h2 id="new-heading">"New incident or maintenance"</h2>
                <form method="post" action=routes::INCIDENTS class="stacked-form incident-form">
                    <CsrfField />
                    <fieldset>
                        <legend>"Kind"</legend>
                        <label class="radio"><input type="radio" name="kind" value="incident" checked=!maintenance /> " Incident"</label>
                        <label class="radio"><input type="radio" name="kind" value="maintenance" checked=maintenance /> " Scheduled maintenance"</label>
                    </fieldset>
                    <label for="incident-title">"Title"</label>
                    <input type="text" id="incident-title" name="title" maxlength="200" required value=title />
                    <fieldset>
                        <legend>"Affected components"</legend>
                        {components}
                    </fieldset>
                    <label for="incident-impact">"Impact"</label>
                    <select id="incident-impact" name="impact">
                        {option("none", "None (informational)", &impact)}
                        {option("minor", "Minor: degraded performance", &impact)}
                        {option("major", "Major: partial outage", &impact)}
                        {option("critical", "Critical: major outage", &impact)}
                    </select>
                    <label for="incident-status">"Status"</label>
                    <select id="incident-status" name="status">
                        <optgroup label="Incident">
                            {option("investigating", "Investigating", &status)}
                            {option("identified", "Identified", &status)}
                            {option("monitoring", "Monitoring", &status)}
                        </optgroup>
                        <optgroup label="Scheduled maintenance">
                            {option("scheduled", "Scheduled", &status)}
                            {option("in_progress", "In progress", &status)}
                        </optgroup>
                    </select>
                    <label for="incident-starts">"Maintenance starts (UTC)"</label>
                    <input type="datetime-local" id="incident-starts" name="starts_at" value=starts />
                    <label for="incident-ends">"Maintenance ends (UTC)"</label>
                    <input type="datetime-local" id="incident-ends" name="ends_at" value=ends />
                    <p class="muted">"Times are UTC. Only scheduled maintenance has a window; it shows ahead of time and counts as in progress between these times."</p>
                    <label for="incident-message">"First update"</label>
                    <textarea id="incident-message" name="message" rows="4" maxlength="5000" required>{message}</textarea>
                    <button type="submit" class="button primary">"Publish"</button>
                </form>
            </section>
            <section class="panel" aria-labelledby="closed-heading">
                <h2 id="closed-heading">"Closed (last 90 days)"</h2>
                {incident_table(closed, "None.")}
            </section>
        </AdminFrame>
    }
    .into_any()
}

fn incident_table(rows: Vec<IncidentRow>, empty: &'static str) -> AnyView {
    if rows.is_empty() {
        return view! { <p class="empty-state">{empty}</p> }.into_any();
    }
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Incidents">
            <table class="admin-table incidents-table">
                <thead>
                    <tr>
                        <th scope="col">"Title"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Impact"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Components"</th>
                        <th scope="col">"Opened"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|i| {
                            let href = format!("/admin/incidents/{}", i.id);
                            view! {
                                <tr data-incident=i.id>
                                    <td><a href=href>{i.title}</a></td>
                                    <td>{i.kind}</td>
                                    <td>{i.impact}</td>
                                    <td><span class=format!("badge status-{}", i.status)>{i.status_label}</span></td>
                                    <td>{i.components.join(", ")}</td>
                                    <td class="nowrap">{i.created}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn AdminIncident() -> impl IntoView {
    let params = use_params_map();
    view! {
        <AdminSection section=Section::Incidents title="Incident" heading="Incident"
            key=move || params.read().get("id").unwrap_or_default() load=admin_incident
            page=|d: IncidentData, _: String| incident_view(d) />
    }
}

fn incident_view(d: IncidentData) -> AnyView {
    let viewer = Viewer::current();
    let i = d.incident;
    let updates_action = route(routes::INCIDENT_UPDATES, &[&i.id]);
    let resolve_action = route(routes::INCIDENT_RESOLVE, &[&i.id]);
    let is_maintenance = i.kind == "maintenance";
    let (resolve_label, resolve_text) = if is_maintenance {
        ("Complete", "Mark this maintenance completed")
    } else {
        ("Resolve", "Resolve this incident")
    };
    let forms = i.open.then(|| {
        let draft_status = viewer.draft_value("status");
        let statuses = d
            .statuses
            .into_iter()
            .map(|(value, label)| {
                let selected = draft_status == value;
                view! { <option value=value selected=selected>{label}</option> }
            })
            .collect_view();
        view! {
            <section class="panel" aria-labelledby="update-heading">
                <h2 id="update-heading">"Post an update"</h2>
                <form method="post" action=updates_action class="stacked-form">
                    <CsrfField />
                    <label for="update-status">"Status"</label>
                    <select id="update-status" name="status">{statuses}</select>
                    <label for="update-message">"Message"</label>
                    <textarea id="update-message" name="message" rows="4" maxlength="5000" required>{textarea_text(&viewer.draft_value("message"))}</textarea>
                    <button type="submit" class="button primary">"Post update"</button>
                </form>
            </section>
            <section class="panel" aria-labelledby="resolve-heading">
                <h2 id="resolve-heading">{resolve_text}</h2>
                <form method="post" action=resolve_action class="stacked-form">
                    <CsrfField />
                    <label for="resolve-message">"Closing message (optional)"</label>
                    <input type="text" id="resolve-message" name="message" maxlength="5000" />
                    <button type="submit" class="button danger">{resolve_label}</button>
                </form>
            </section>
        }
    });
    let meta = format!(
        "{} · impact {} · opened {}{}",
        if is_maintenance {
            "Scheduled maintenance"
        } else {
            "Incident"
        },
        i.impact,
        i.created,
        i.resolved
            .as_ref()
            .map(|r| format!(" · closed {r}"))
            .unwrap_or_default()
    );
    view! {
        <AdminFrame section=Section::Incidents>
            <p><a href="/admin/incidents">"← All incidents"</a></p>
            <h1 data-incident=i.id.clone()>
                {i.title} " " <span class=format!("badge status-{}", i.status) data-testid="incident-status">{i.status_label}</span>
            </h1>
            <p class="muted">{meta}</p>
            {(!i.components.is_empty()).then(|| view! { <p>"Affects: " {i.components.join(", ")}</p> })}
            {i.window.map(|w| view! { <p>"Window (UTC): " {w}</p> })}
            {forms}
            <section class="panel" aria-labelledby="updates-heading">
                <h2 id="updates-heading">"Updates"</h2>
                <ol class="incident-updates">
                    {i.updates.into_iter().map(|u| view! {
                        <li data-update-status=u.status>
                            <strong>{u.status_label}</strong> " — " <time>{u.at}</time>
                            <p>{u.message}</p>
                        </li>
                    }).collect_view()}
                </ol>
            </section>
        </AdminFrame>
    }
    .into_any()
}
