//! `/admin/applications` (suspension, usage plan and overrides, production access, granted
//! scopes) and `/admin/keys` (the published signing keys and their rotation).

use super::data::*;
use super::routes;
use super::{AdminFrame, AdminSection, Section, status_badge};
use crate::components::format::format_time;
use crate::pages::route;
use crate::viewer::CsrfField;
use leptos::prelude::*;

// ---------------------------------------------------------------------------------------------
// /admin/applications
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminApplications() -> impl IntoView {
    view! {
        <AdminSection section=Section::Applications title="Applications" heading="Applications"
            key=|| () load=|()| admin_applications() page=|d: AppsData, ()| apps_view(d) />
    }
}

fn limits_text(a: &AppRow) -> String {
    let mut parts = Vec::new();
    if let Some(rate) = a.rate_per_second {
        parts.push(format!("{rate}/s"));
    }
    if let Some(burst) = a.burst {
        parts.push(format!("burst {burst}"));
    }
    if let Some(quota) = a.quota {
        parts.push(format!("quota {quota}"));
    }
    if let Some(period) = &a.quota_period {
        parts.push(format!("per {period}"));
    }
    if let Some(key) = &a.api_key {
        parts.push(format!("API key {key}"));
    }
    parts.join(", ")
}

fn apps_view(d: AppsData) -> AnyView {
    let plans_table = view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Usage plans">
            <table class="admin-table">
                <caption>"Usage plans"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Plan"</th>
                        <th scope="col">"Rate"</th>
                        <th scope="col">"Burst"</th>
                        <th scope="col">"Quota"</th>
                        <th scope="col">"API key"</th>
                    </tr>
                </thead>
                <tbody>
                    {d.plans
                        .iter()
                        .map(|p| {
                            view! {
                                <tr>
                                    <td><strong>{p.name.clone()}</strong> <br /> <span class="muted small">{p.description.clone()}</span></td>
                                    <td>{p.rate_per_second} "/s"</td>
                                    <td>{p.burst}</td>
                                    <td>{p.quota} " per " {p.quota_period.clone()}</td>
                                    <td>{p.api_key.clone()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    };
    let body = if d.applications.is_empty() {
        view! { <p class="empty-state">"No applications are registered yet."</p> }.into_any()
    } else {
        let plans: Vec<String> = d.plans.iter().map(|p| p.name.clone()).collect();
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Every application, oldest first">
                <table class="admin-table">
                    <caption>"Every application, oldest first"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Application"</th>
                            <th scope="col">"Organisation"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Plan"</th>
                            <th scope="col">"Production"</th>
                            <th scope="col">"Scopes"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {d.applications
                            .iter()
                            .map(|a| {
                                let limits = limits_text(a);
                                let limits = (!limits.is_empty()).then(|| view! { <br /> <span class="muted small">"Overrides: " {limits}</span> });
                                view! {
                                    <tr data-app=a.id.clone()>
                                        <td>
                                            <a href=format!("#app-{}", a.id)>{a.name.clone()}</a>
                                            <br />
                                            <code class="small">{a.client_id.clone()}</code>
                                        </td>
                                        <td>{a.organisation_name.clone()} " " {status_badge(&a.organisation_status)}</td>
                                        <td>{status_badge(&a.status)}</td>
                                        <td>{a.plan.clone()} {limits}</td>
                                        <td>
                                            {match &a.production {
                                                Some((at, _)) => view! { <span class="badge ok">"granted"</span> " " <span class="muted small">{format_time(*at)}</span> }.into_any(),
                                                None => view! { <span class="muted">"sandbox only"</span> }.into_any(),
                                            }}
                                        </td>
                                        <td>{a.scopes.iter().map(|s| view! { <code>{s.clone()}</code> " " }).collect_view()}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <h2>"Manage"</h2>
            {d.applications
                .into_iter()
                .map(|a| app_card(&a, &plans))
                .collect_view()}
        }
        .into_any()
    };
    view! {
        <AdminFrame section=Section::Applications counts=d.counts>
            <h1>"Applications"</h1>
            <p class="lead">
                "Suspend an application to stop its tokens at once; change its usage plan and limits; "
                "grant production access once its organisation is approved."
            </p>
            {body}
            <h2>"Usage plans"</h2>
            {plans_table}
        </AdminFrame>
    }
    .into_any()
}

fn app_card(a: &AppRow, plans: &[String]) -> impl IntoView + use<> {
    let id = a.id.clone();
    let limits_field = |name: &'static str, label: &'static str, value: Option<u64>| {
        view! {
            <label>
                {label}
                <input type="number" min="1" name=name value=value.map(|v| v.to_string()).unwrap_or_default() placeholder="plan's value" />
            </label>
        }
    };
    let suspension = if a.status == "suspended" {
        view! {
            <p class="muted">{a.suspension.clone().unwrap_or_default()}</p>
            <form method="post" action=route(routes::APP_REACTIVATE, &[&id]) class="admin-form">
                <CsrfField />
                <button type="submit" class="button primary">"Reactivate"</button>
            </form>
        }
        .into_any()
    } else {
        view! {
            <form method="post" action=route(routes::APP_SUSPEND, &[&id]) class="admin-form">
                <CsrfField />
                <label>
                    "Reason"
                    <input type="text" name="reason" required maxlength="2000" />
                </label>
                <button type="submit" class="button danger">"Suspend"</button>
            </form>
        }
        .into_any()
    };
    let production = match &a.production {
        Some((at, by)) => view! {
            <p>"Granted by " {by.clone()} " on " {format_time(*at)} "."</p>
            <form method="post" action=route(routes::APP_PRODUCTION_REVOKE, &[&id]) class="admin-form">
                <CsrfField />
                <button type="submit" class="button danger">"Revoke production access"</button>
            </form>
        }
        .into_any(),
        None => {
            let hint = (a.organisation_status != "approved").then(|| {
                view! { <p class="muted small">"The organisation is " {a.organisation_status.clone()} ": approve it first."</p> }
            });
            view! {
                <p>"Sandbox only."</p>
                {hint}
                <form method="post" action=route(routes::APP_PRODUCTION_GRANT, &[&id]) class="admin-form">
                    <CsrfField />
                    <button type="submit" class="button">"Grant production access"</button>
                </form>
            }
            .into_any()
        }
    };
    let scopes = if a.scopes.is_empty() {
        view! { <p class="muted">"No scopes granted."</p> }.into_any()
    } else {
        view! {
            <form method="post" action=route(routes::APP_SCOPE_REVOKE, &[&id]) class="admin-form">
                <CsrfField />
                <label>
                    "Scope"
                    <select name="scope">
                        {a.scopes.iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "Reason"
                    <input type="text" name="note" required maxlength="2000" />
                </label>
                <button type="submit" class="button danger">"Revoke scope"</button>
            </form>
        }
        .into_any()
    };
    let pending = (!a.pending_scopes.is_empty()).then(|| {
        view! {
            <p class="small">
                "Waiting: " {a.pending_scopes.join(", ")} " — "
                <a href="/admin/scope-requests">"decide in the queue"</a>
            </p>
        }
    });
    view! {
        <section class="card admin-card" id=format!("app-{}", a.id) data-manage-app=a.id.clone()>
            <h3>
                {a.name.clone()} " " {status_badge(&a.status)}
                <span class="muted small">" " {a.organisation_name.clone()} " · created " {format_time(a.created_at)}</span>
            </h3>
            <div class="admin-card-grid">
                <div>
                    <h4>"Status"</h4>
                    {suspension}
                </div>
                <div>
                    <h4>"Usage plan"</h4>
                    <form method="post" action=route(routes::APP_PLAN, &[&id]) class="admin-form">
                        <CsrfField />
                        <label>
                            "Plan"
                            <select name="plan">
                                {plans
                                    .iter()
                                    .map(|p| view! { <option value=p.clone() selected=*p == a.plan>{p.clone()}</option> })
                                    .collect_view()}
                            </select>
                        </label>
                        {limits_field("rate_per_second", "Rate override (requests/s)", a.rate_per_second)}
                        {limits_field("burst", "Burst override", a.burst)}
                        {limits_field("quota", "Quota override", a.quota)}
                        <label>
                            "Quota period"
                            <select name="quota_period">
                                <option value="" selected=a.quota_period.is_none()>"plan's value"</option>
                                <option value="day" selected=a.quota_period.as_deref() == Some("day")>"day"</option>
                                <option value="month" selected=a.quota_period.as_deref() == Some("month")>"month"</option>
                            </select>
                        </label>
                        <button type="submit" class="button">"Save plan and limits"</button>
                    </form>
                </div>
                <div>
                    <h4>"Production access"</h4>
                    {production}
                </div>
                <div>
                    <h4>"Granted scopes"</h4>
                    {scopes}
                    {pending}
                </div>
            </div>
        </section>
    }
}
// ---------------------------------------------------------------------------------------------
// /admin/keys
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminKeys() -> impl IntoView {
    view! {
        <AdminSection section=Section::Keys title="Signing keys" heading="Signing keys"
            key=|| () load=|()| admin_keys() page=|d: KeysData, ()| keys_view(d) />
    }
}

fn keys_view(d: KeysData) -> AnyView {
    let table = if d.keys.is_empty() {
        view! { <p class="empty-state">"No signing key is published."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Keys published at /.well-known/jwks.json (next, active and retiring keys)">
                <table class="admin-table">
                    <caption>"Keys published at /.well-known/jwks.json (next, active and retiring keys)"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Key id (kid)"</th>
                            <th scope="col">"Algorithm"</th>
                            <th scope="col">"State"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Signing since"</th>
                            <th scope="col">"Retiring since"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {d.keys
                            .into_iter()
                            .map(|k| {
                                let kid = k.kid.clone();
                                let badge = status_badge(&k.state);
                                view! {
                                    <tr data-kid=kid data-state=k.state>
                                        <td><code>{k.kid}</code></td>
                                        <td>{k.alg}</td>
                                        <td>{badge}</td>
                                        <td>{format_time(k.created_at)}</td>
                                        <td>{k.activated_at.map(format_time).unwrap_or_else(|| "—".into())}</td>
                                        <td>{k.retiring_at.map(format_time).unwrap_or_else(|| "—".into())}</td>
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
        <AdminFrame section=Section::Keys counts=d.counts>
            <h1>"Signing keys"</h1>
            <p class="lead">
                "Access tokens are signed with the active key. A rotation publishes the next key first; "
                "it starts signing after the rotation lead time, and the previous key stays published "
                "until every token it signed has expired."
            </p>
            {table}
            <div class="panel">
                <h2>"Rotate"</h2>
                <p>
                    "Publishing the next key now lets every verifier fetch it before it signs (it signs after the rotation lead time). "
                    "Promote it to make it sign at once, for example after a suspected key compromise."
                </p>
                <form method="post" action=routes::KEYS_ROTATE class="inline-form">
                    <CsrfField />
                    <button type="submit" class="button primary">"Rotate signing key"</button>
                </form>
                " "
                <form method="post" action=routes::KEYS_PROMOTE class="inline-form"
                    data-confirm="Make the next key sign now? Verifiers that have not fetched the JWKS yet may refuse new tokens for up to 5 minutes.">
                    <CsrfField />
                    <button type="submit" class="button">"Promote now"</button>
                </form>
                <p class="hint">"The same from a shell: " <code>"portico keys rotate [--promote]"</code> "."</p>
            </div>
        </AdminFrame>
    }
    .into_any()
}
