//! `/admin` (counts and the newest audit entries) and `/admin/audit` (the audit log, filtered
//! and paged): the console pages that show audit records.

use super::data::*;
use super::{AdminFrame, AdminSection, Section, encode};
use crate::components::format::format_time;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

// ---------------------------------------------------------------------------------------------
// /admin
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminHome() -> impl IntoView {
    view! {
        <AdminSection section=Section::Overview title="Admin" heading="Admin console"
            key=|| () load=|()| admin_overview() page=|d: Overview, ()| overview_view(d) />
    }
}

fn overview_view(d: Overview) -> AnyView {
    let counts = d.counts.clone();
    view! {
        <AdminFrame section=Section::Overview counts=d.counts>
            <h1>"Admin console"</h1>
            <div class="admin-stats">
                <a class="card stat" href="/admin/partners" data-testid="pending-orgs">
                    <span class="stat-number">{counts.pending_orgs}</span>
                    <span class="stat-label">"organisations waiting for approval"</span>
                </a>
                <a class="card stat" href="/admin/scope-requests" data-testid="pending-scopes">
                    <span class="stat-number">{counts.pending_scopes}</span>
                    <span class="stat-label">"scope requests waiting"</span>
                </a>
                <a class="card stat" href="/admin/applications">
                    <span class="stat-number">{d.applications}</span>
                    <span class="stat-label">
                        "applications (" {d.suspended_applications} " suspended) in "
                        {d.organisations} " organisations"
                    </span>
                </a>
            </div>
            <h2>"Recent activity"</h2>
            {audit_table(d.recent, "The ten newest audit entries")}
            <p><a href="/admin/audit">"Search the full audit log"</a></p>
        </AdminFrame>
    }
    .into_any()
}
fn audit_table(entries: Vec<AuditRow>, caption: &'static str) -> AnyView {
    if entries.is_empty() {
        return view! { <p class="empty-state">"No audit entries match."</p> }.into_any();
    }
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label={caption}>
            <table class="admin-table audit-table">
                <caption>{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Organisation"</th>
                        <th scope="col">"From"</th>
                        <th scope="col">"Request id"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries
                        .into_iter()
                        .map(|e| {
                            view! {
                                <tr data-audit=e.id.clone()>
                                    <td class="nowrap">{format_time(e.when)}</td>
                                    <td>{e.who}</td>
                                    <td><code>{e.action}</code></td>
                                    <td><code>{e.target.unwrap_or_default()}</code></td>
                                    <td>{e.organisation.unwrap_or_default()}</td>
                                    <td>{e.from.unwrap_or_default()}</td>
                                    <td><code>{e.request_id.unwrap_or_default()}</code></td>
                                </tr>
                                <tr class="audit-detail">
                                    <td colspan="7"><code>{e.detail}</code></td>
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
// /admin/audit
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminAudit() -> impl IntoView {
    let params = use_query_map();
    let query = move || {
        params.with(|p| {
            let get = |k: &str| p.get(k).unwrap_or_default();
            AuditQuery {
                actor: get("actor"),
                action: get("action"),
                org: get("org"),
                since: get("since"),
                until: get("until"),
                before: get("before"),
            }
        })
    };
    view! {
        <AdminSection section=Section::Audit title="Audit log" heading="Audit log"
            key=query load=admin_audit page=audit_view />
    }
}

fn audit_view(d: AuditData, q: AuditQuery) -> AnyView {
    let older = d.next_before.map(|before| {
        let href = format!(
            "/admin/audit?actor={}&action={}&org={}&since={}&until={}&before={}",
            encode(&q.actor),
            encode(&q.action),
            encode(&q.org),
            encode(&q.since),
            encode(&q.until),
            encode(&before)
        );
        view! { <a href=href class="button" rel="next">"Older"</a> }
    });
    let newest = (!q.before.is_empty()).then(|| {
        let href = format!(
            "/admin/audit?actor={}&action={}&org={}&since={}&until={}",
            encode(&q.actor),
            encode(&q.action),
            encode(&q.org),
            encode(&q.since),
            encode(&q.until)
        );
        view! { <a href=href class="button">"Newest"</a> }
    });
    let problem = d
        .problem
        .map(|p| view! { <p class="flash error" role="alert">{p}</p> });
    view! {
        <AdminFrame section=Section::Audit counts=d.counts>
            <h1>"Audit log"</h1>
            <p class="lead">"Every admin and partner action: who, what, when and from where, newest first."</p>
            <form method="get" action="/admin/audit" class="filter-form" role="search">
                <label>
                    "Actor email"
                    <input type="email" name="actor" value=q.actor.clone() placeholder="admin@example.gov" />
                </label>
                <label>
                    "Action starts with"
                    <input type="text" name="action" value=q.action.clone() placeholder="organisation." list="audit-actions" />
                </label>
                <datalist id="audit-actions">
                    {["organisation.", "application.", "application.scope.", "application.secret.", "member.", "user.", "signin."]
                        .into_iter()
                        .map(|a| view! { <option value=a></option> })
                        .collect_view()}
                </datalist>
                <label>
                    "Organisation"
                    <input type="text" name="org" value=q.org.clone() placeholder="slug" list="audit-orgs" />
                </label>
                <datalist id="audit-orgs">
                    {d.organisations.into_iter().map(|o| view! { <option value=o></option> }).collect_view()}
                </datalist>
                <label>
                    "From"
                    <input type="date" name="since" value=q.since.clone() />
                </label>
                <label>
                    "To (inclusive)"
                    <input type="date" name="until" value=q.until.clone() />
                </label>
                <span class="button-row">
                    <button type="submit" class="button primary">"Filter"</button>
                    <a href="/admin/audit" class="button">"Clear"</a>
                </span>
            </form>
            {problem}
            {audit_table(d.entries, "Audit entries, newest first")}
            <p class="pager">{newest} " " {older}</p>
        </AdminFrame>
    }
    .into_any()
}
