//! `/admin/partners` (approve, reject or suspend organisations) and `/admin/scope-requests` (the
//! queue of requested scopes and the recent decisions).

use super::data::*;
use super::routes;
use super::{AdminFrame, AdminSection, Section, format_age, status_badge};
use crate::components::format::format_time;
use crate::pages::route;
use crate::viewer::CsrfField;
use leptos::prelude::*;

// ---------------------------------------------------------------------------------------------
// /admin/partners
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminPartners() -> impl IntoView {
    view! {
        <AdminSection section=Section::Partners title="Partners" heading="Partner organisations"
            key=|| () load=|()| admin_partners() page=|d: PartnersData, ()| partners_view(d) />
    }
}

fn partners_view(d: PartnersData) -> AnyView {
    let (pending, others): (Vec<_>, Vec<_>) = d
        .organisations
        .into_iter()
        .partition(|o| o.status == "pending");
    let pending_view = if pending.is_empty() {
        view! { <p class="empty-state">"No organisations are waiting."</p> }.into_any()
    } else {
        org_table(pending, "Organisations waiting for approval, oldest first")
    };
    let others_view = if others.is_empty() {
        view! { <p class="empty-state">"No organisation has been decided yet."</p> }.into_any()
    } else {
        org_table(others, "Approved, rejected and suspended organisations")
    };
    view! {
        <AdminFrame section=Section::Partners counts=d.counts>
            <h1>"Partner organisations"</h1>
            <p class="lead">
                "Approve an organisation once its data-handling attestation and contact details check out. "
                "Until then its applications work in the sandbox only and cannot get production access."
            </p>
            <h2>"Waiting for approval"</h2>
            {pending_view}
            <h2>"All other organisations"</h2>
            {others_view}
            {identity_providers_view(d.identity_providers)}
        </AdminFrame>
    }
    .into_any()
}

fn org_table(orgs: Vec<OrgRow>, caption: &'static str) -> AnyView {
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label={caption}>
            <table class="admin-table">
                <caption>{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Organisation"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Attestation"</th>
                        <th scope="col">"Members / apps"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Decide"</th>
                    </tr>
                </thead>
                <tbody>{orgs.into_iter().map(org_row).collect_view()}</tbody>
            </table>
        </div>
    }
    .into_any()
}

fn org_row(o: OrgRow) -> impl IntoView {
    let attestation = match o.attestation {
        Some(a) => {
            let text = a.text.map(|t| {
                view! {
                    <details>
                        <summary>"Attestation text"</summary>
                        <blockquote class="attestation-text">{t}</blockquote>
                    </details>
                }
            });
            view! {
                <div class="attestation">
                    <span>"Version " <code>{a.version}</code></span>
                    <br />
                    <span>"by " {a.by}</span>
                    <br />
                    <span class="muted">{format_time(a.at)}</span>
                    {text}
                </div>
            }
            .into_any()
        }
        None => view! { <span class="badge bad">"Not attested"</span> }.into_any(),
    };
    let decision = o.decision.map(|d| {
        let note = (!d.note.is_empty()).then(|| view! { <q>{d.note}</q> });
        view! {
            <p class="muted small">
                {d.kind} " by " {d.by} " on " {format_time(d.at)} " " {note}
            </p>
        }
    });
    let approve = (o.status != "approved").then(|| {
        let label = if o.status == "pending" {
            "Approve"
        } else {
            "Reinstate"
        };
        view! {
            <form method="post" action=route(routes::PARTNER_APPROVE, &[&o.id]) class="admin-form">
                <CsrfField />
                <label>
                    "Note (optional)"
                    <input type="text" name="note" maxlength="2000" />
                </label>
                <button type="submit" class="button primary">{label}</button>
            </form>
        }
    });
    let reject = (o.status == "pending").then(|| {
        view! {
            <form method="post" action=route(routes::PARTNER_REJECT, &[&o.id]) class="admin-form">
                <CsrfField />
                <label>
                    "Reason (the members see it)"
                    <input type="text" name="note" required maxlength="2000" />
                </label>
                <button type="submit" class="button danger">"Reject"</button>
            </form>
        }
    });
    let suspend = (o.status == "approved").then(|| {
        view! {
            <form method="post" action=route(routes::PARTNER_SUSPEND, &[&o.id]) class="admin-form">
                <CsrfField />
                <label>
                    "Reason (the members see it)"
                    <input type="text" name="note" required maxlength="2000" />
                </label>
                <button type="submit" class="button danger">"Suspend"</button>
            </form>
        }
    });
    let slug = o.slug.clone();
    view! {
        <tr data-org=slug.clone() id=format!("partner-{slug}")>
            <td>
                <strong>{o.legal_name.clone().unwrap_or_else(|| o.name.clone())}</strong>
                <br />
                <code>{o.slug}</code>
                <br />
                <span class="muted">{o.contact_email.unwrap_or_default()}</span>
            </td>
            <td>
                <span class="nowrap">{format_time(o.created_at)}</span>
                <br />
                <span class="muted">"by " {o.creator.unwrap_or_else(|| "the CLI".to_owned())}</span>
            </td>
            <td>{attestation}</td>
            <td>{o.members} " / " {o.applications}</td>
            <td>{status_badge(&o.status)} {decision}</td>
            <td class="admin-actions">{approve} {reject} {suspend}</td>
        </tr>
    }
}

// ---------------------------------------------------------------------------------------------
// /admin/scope-requests
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminScopeRequests() -> impl IntoView {
    view! {
        <AdminSection section=Section::ScopeRequests title="Scope requests" heading="Scope requests"
            key=|| () load=|()| admin_scope_requests() page=|d: ScopesData, ()| scopes_view(d) />
    }
}

fn scopes_view(d: ScopesData) -> AnyView {
    let queue = if d.pending.is_empty() {
        view! { <p class="empty-state">"No scope requests are waiting."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Pending scope requests, oldest first">
                <table class="admin-table">
                    <caption>"Pending scope requests, oldest first"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Organisation"</th>
                            <th scope="col">"Application"</th>
                            <th scope="col">"Scope"</th>
                            <th scope="col">"Requested by"</th>
                            <th scope="col">"Reason"</th>
                            <th scope="col">"Age"</th>
                            <th scope="col">"Decision"</th>
                        </tr>
                    </thead>
                    <tbody>{d.pending.into_iter().map(scope_row).collect_view()}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let decided = if d.decided.is_empty() {
        view! { <p class="empty-state">"Nothing decided yet."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="The twenty most recent decisions">
                <table class="admin-table">
                    <caption>"The twenty most recent decisions"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Organisation"</th>
                            <th scope="col">"Application"</th>
                            <th scope="col">"Scope"</th>
                            <th scope="col">"Outcome"</th>
                            <th scope="col">"By"</th>
                            <th scope="col">"When"</th>
                            <th scope="col">"Note"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {d.decided
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <tr data-decided-request=r.id>
                                        <td>{r.organisation_name}</td>
                                        <td>{r.application_name}</td>
                                        <td><code>{r.scope}</code></td>
                                        <td>{status_badge(&r.status)}</td>
                                        <td>{r.decided_by.unwrap_or_default()}</td>
                                        <td class="nowrap">{r.decided_at.map(format_time).unwrap_or_default()}</td>
                                        <td>{r.note.unwrap_or_default()}</td>
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
        <AdminFrame section=Section::ScopeRequests counts=d.counts>
            <h1>"Scope requests"</h1>
            <p class="lead">
                "An approved scope is added to the application at once; tokens issued afterwards carry it. "
                "Denying needs a note: the partner sees it."
            </p>
            <h2>"Waiting"</h2>
            {queue}
            <h2>"Recently decided"</h2>
            {decided}
        </AdminFrame>
    }
    .into_any()
}

fn scope_row(r: ScopeRow) -> impl IntoView {
    let org_status =
        (r.organisation_status != "approved").then(|| status_badge(&r.organisation_status));
    let decide = route(routes::SCOPE_REQUEST_DECIDE, &[&r.id]);
    view! {
        <tr data-scope-request=r.id>
            <td>{r.organisation_name} " " {org_status}</td>
            <td>{r.application_name} <br /> <code class="small">{r.client_id}</code></td>
            <td><code>{r.scope}</code></td>
            <td>{r.requester.unwrap_or_default()}</td>
            <td class="reason">{r.reason}</td>
            <td class="nowrap" title=format_time(r.requested_at)>{format_age(r.age_secs)}</td>
            <td>
                <form method="post" action=decide class="admin-form">
                    <CsrfField />
                    <label>
                        "Note (required to deny)"
                        <input type="text" name="note" maxlength="2000" />
                    </label>
                    <span class="button-row">
                        <button type="submit" name="decision" value="approve" class="button primary">"Approve"</button>
                        <button type="submit" name="decision" value="deny" class="button danger">"Deny"</button>
                    </span>
                </form>
            </td>
        </tr>
    }
}

/// Partners' identity providers (federation): approve or reject the pending ones.
fn identity_providers_view(idps: Vec<IdpRow>) -> impl IntoView {
    let body = if idps.is_empty() {
        view! { <p class="empty-state">"No organisation has registered an identity provider."</p> }
            .into_any()
    } else {
        let rows = idps.into_iter().map(idp_row).collect_view();
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Identity providers">
                <table class="admin-table">
                    <caption>"Identity providers, pending first"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Organisation"</th>
                            <th scope="col">"Issuer and keys"</th>
                            <th scope="col">"Audience / claim"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Decide"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <h2 id="identity-providers">"Identity providers (federation)"</h2>
        <p>
            "An approved identity provider's tokens stand for the organisation's mapped applications. "
            "Approve only an issuer and JWKS URL the organisation demonstrably controls."
        </p>
        {body}
    }
}

fn idp_row(i: IdpRow) -> impl IntoView {
    let approve = (i.status != "approved").then(|| {
        view! {
            <form method="post" action=route(routes::IDP_APPROVE, &[&i.id]) class="admin-form">
                <CsrfField />
                <label>
                    "Note (optional)"
                    <input type="text" name="note" maxlength="2000" />
                </label>
                <button type="submit" class="button primary">"Approve"</button>
            </form>
        }
    });
    let reject = (i.status != "rejected").then(|| {
        view! {
            <form method="post" action=route(routes::IDP_REJECT, &[&i.id]) class="admin-form">
                <CsrfField />
                <label>
                    "Reason (the owners see it)"
                    <input type="text" name="note" required maxlength="2000" />
                </label>
                <button type="submit" class="button danger">"Reject"</button>
            </form>
        }
    });
    let badge = match i.status.as_str() {
        "approved" => "badge ok",
        "pending" => "badge pending",
        _ => "badge bad",
    };
    let slug = i.organisation_slug.clone();
    view! {
        <tr data-idp=slug>
            <td><strong>{i.organisation_name}</strong><br /><code>{i.organisation_slug}</code></td>
            <td><code>{i.issuer}</code><br /><code class="muted">{i.jwks_url}</code></td>
            <td><code>{i.audience}</code><br />"claim " <code>{i.workload_claim}</code>
                <br /><span class="muted">{format!("{} mapping(s), direct acceptance {}", i.mappings, if i.direct_access { "on" } else { "off" })}</span></td>
            <td><span class=badge>{i.status}</span><br /><span class="muted">{format_time(i.updated_at)}</span></td>
            <td>{approve}{reject}</td>
        </tr>
    }
}
