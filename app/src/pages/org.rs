//! The partner organisation: create it, see its approval state, members and invitations.

use crate::components::format::format_time;
use crate::components::secrets::{ShownOnce, ShownOncePanel};
use crate::pages::route;
use crate::viewer::{CsrfField, SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrgPage {
    /// Not in an organisation yet: the creation form.
    NoOrganisation {
        attestation_text: String,
    },
    Member(Box<OrgView>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgView {
    pub name: String,
    pub slug: String,
    pub status: String,
    pub contact_email: Option<String>,
    pub attested_at: Option<i64>,
    pub attestation_version: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: i64,
    pub my_role: String,
    pub my_user_id: String,
    pub can_manage_members: bool,
    pub can_reset_sandbox: bool,
    pub members: Vec<MemberView>,
    pub invitations: Vec<InvitationView>,
    pub shown_once: Vec<ShownOnce>,
    pub federation: crate::pages::org_federation::FederationSection,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: String,
    pub email: Option<String>,
    pub role: String,
    pub expires_at: i64,
    pub state: String,
}

#[server]
pub async fn load_org_page() -> Result<Option<OrgPage>, ServerFnError> {
    use portico_core::identity::permissions::{PortalAction, permits};
    use portico_core::orgs::organisations;
    let Some(actor) = crate::server::actor() else {
        return Ok(None);
    };
    let db = crate::server::portal()?.db;
    let err = crate::server::page_error;
    let Some((org, role)) = organisations::my_organisation(&db, &actor)
        .await
        .map_err(err)?
    else {
        return Ok(Some(OrgPage::NoOrganisation {
            attestation_text: organisations::ATTESTATION_TEXT.to_owned(),
        }));
    };
    let members = organisations::list_members(&db, &actor, &org.id)
        .await
        .map_err(err)?
        .into_iter()
        .map(|m| MemberView {
            user_id: m.user_id,
            email: m.email,
            display_name: m.display_name,
            role: m.role.as_str().to_owned(),
        })
        .collect();
    let can_manage_members = permits(role, PortalAction::ManageMembers);
    let can_reset_sandbox = permits(role, PortalAction::ResetSandbox);
    let now = portico_core::clock::now();
    let invitations = if can_manage_members {
        organisations::list_invitations(&db, &actor)
            .await
            .map_err(err)?
            .into_iter()
            .map(|i| InvitationView {
                state: if i.accepted_at.is_some() {
                    "accepted"
                } else if i.revoked_at.is_some() {
                    "revoked"
                } else if i.expires_at <= now {
                    "expired"
                } else {
                    "open"
                }
                .to_owned(),
                id: i.id,
                email: i.email,
                role: i.role.as_str().to_owned(),
                expires_at: i.expires_at,
            })
            .collect()
    } else {
        Vec::new()
    };
    let federation = crate::pages::org_federation::load(
        &db,
        &actor,
        &org.id,
        permits(role, PortalAction::ManageIdentityProvider),
        crate::server::portal()?.tokens.settings().issuer.clone(),
    )
    .await
    .map_err(err)?;
    Ok(Some(OrgPage::Member(Box::new(OrgView {
        name: org.name,
        slug: org.slug,
        status: org.status.as_str().to_owned(),
        contact_email: org.contact_email,
        attested_at: org.attestation.as_ref().map(|a| a.at),
        attestation_version: org.attestation.map(|a| a.version),
        decision_note: org.decision.map(|d| d.note).filter(|n| !n.is_empty()),
        created_at: org.created_at,
        my_role: role.as_str().to_owned(),
        my_user_id: actor.user_id.clone(),
        can_manage_members,
        can_reset_sandbox,
        members,
        invitations,
        shown_once: crate::server::shown_once("invitation"),
        federation,
    }))))
}

#[component]
pub fn Organisation() -> impl IntoView {
    let page = Resource::new(|| (), |()| load_org_page());
    view! {
        <Title text="Organisation" />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(None) => view! { <h1>"Organisation"</h1> <SignInRequired /> }.into_any(),
                    Ok(Some(OrgPage::NoOrganisation { attestation_text })) => {
                        view! { <CreateOrganisation attestation_text /> }.into_any()
                    }
                    Ok(Some(OrgPage::Member(org))) => view! { <OrganisationView org=*org /> }.into_any(),
                    Err(e) => view! {
                        <h1>"Organisation"</h1>
                        <p class="flash error" role="alert">{error_text(&e)}</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// The message of a page-data error (server functions prefix theirs).
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}

#[component]
fn CreateOrganisation(attestation_text: String) -> impl IntoView {
    view! {
        <h1>"Create your organisation"</h1>
        <p class="lead">
            "Applications belong to an organisation, the partner company you work for. "
            "Colleagues join it by invitation. If a colleague already registered it, ask them for an invitation link instead."
        </p>
        <form method="post" action=routes::CREATE class="panel form">
            <CsrfField />
            <label for="legal_name">"Legal name"</label>
            <input id="legal_name" name="legal_name" type="text" required minlength="2" maxlength="200"
                autocomplete="organization" />
            <label for="contact_email">"Contact email for API matters"</label>
            <input id="contact_email" name="contact_email" type="email" required />
            <fieldset class="attestation">
                <legend>"Data-handling attestation"</legend>
                <p>{attestation_text}</p>
                <label class="checkbox">
                    <input type="checkbox" name="attested" required />
                    " I confirm the statement above for my organisation."
                </label>
            </fieldset>
            <button type="submit" class="button primary">"Create organisation"</button>
        </form>
        <p class="hint">
            "A new organisation can use the sandbox at once. An administrator reviews it before it may use production."
        </p>
    }
}

fn status_badge(status: &str) -> impl IntoView + use<> {
    let (class, text) = match status {
        "approved" => ("badge ok", "Approved"),
        "pending" => ("badge pending", "Pending approval"),
        _ => ("badge bad", "Suspended"),
    };
    view! { <span class=class data-testid="org-status">{text}</span> }
}

#[component]
fn OrganisationView(org: OrgView) -> impl IntoView {
    let pending_note = (org.status == "pending").then(|| view! {
        <p class="panel notice">
            "An administrator reviews new organisations. Until then your applications work in the sandbox only; "
            "production access is granted per application after approval."
        </p>
    });
    let decision = org.decision_note.clone().map(|note| {
        view! {
            <p class="panel">"Administrator's note: " {note}</p>
        }
    });
    let my_user_id = org.my_user_id.clone();
    let can_manage = org.can_manage_members;
    let members = org
        .members
        .into_iter()
        .map(|m| {
            let is_me = m.user_id == my_user_id;
            let role_action = route(routes::MEMBER_ROLE, &[&m.user_id]);
            let remove_action = route(routes::MEMBER_REMOVE, &[&m.user_id]);
            let role = m.role.clone();
            let manage = (can_manage && !is_me).then(|| view! {
                <form method="post" action=role_action class="inline-form">
                    <CsrfField />
                    <label class="visually-hidden" for=format!("role-{}", m.user_id)>"Role"</label>
                    <select name="role" id=format!("role-{}", m.user_id)>
                        {["owner", "developer", "viewer"].into_iter().map(|r| view! {
                            <option value=r selected=r == role>{r}</option>
                        }).collect_view()}
                    </select>
                    <button type="submit" class="button small">"Change role"</button>
                </form>
                <form method="post" action=remove_action.clone() class="inline-form"
                    data-confirm="Remove this member from the organisation?">
                    <CsrfField />
                    <button type="submit" class="button small danger">"Remove"</button>
                </form>
            });
            let leave = is_me.then(|| view! {
                <form method="post" action=remove_action class="inline-form"
                    data-confirm="Leave this organisation? You lose access to its applications.">
                    <CsrfField />
                    <button type="submit" class="button small">"Leave"</button>
                </form>
            });
            let email = m.email.clone();
            view! {
                <tr data-member=email>
                    <td>{m.display_name}</td>
                    <td>{m.email}</td>
                    <td>{m.role}</td>
                    <td class="actions">{manage}{leave}</td>
                </tr>
            }
        })
        .collect_view();
    let invitations = can_manage.then(|| {
        let rows = org
            .invitations
            .into_iter()
            .map(|i| {
                let open = i.state == "open";
                let revoke = open.then(|| view! {
                    <form method="post" action=route(routes::INVITATION_REVOKE, &[&i.id]) class="inline-form">
                        <CsrfField />
                        <button type="submit" class="button small">"Revoke"</button>
                    </form>
                });
                view! {
                    <tr>
                        <td>{i.email.unwrap_or_else(|| "anyone with the link".into())}</td>
                        <td>{i.role}</td>
                        <td>{i.state}</td>
                        <td>{format_time(i.expires_at)}</td>
                        <td>{revoke}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <section class="panel">
                <h2>"Invite a colleague"</h2>
                <form method="post" action=routes::INVITATIONS class="form inline-fields">
                    <CsrfField />
                    <label for="invite-email">"Email (optional: only this address may accept)"</label>
                    <input id="invite-email" name="email" type="email" />
                    <label for="invite-role">"Role"</label>
                    <select id="invite-role" name="role">
                        <option value="developer" selected>"developer: registers and manages applications"</option>
                        <option value="viewer">"viewer: reads only"</option>
                        <option value="owner">"owner: also manages members"</option>
                    </select>
                    <button type="submit" class="button primary">"Create invitation link"</button>
                </form>
                <div class="table-wrap" tabindex="0" role="region" aria-label="Invitations"><table>
                    <caption>"Invitations"</caption>
                    <thead><tr><th>"For"</th><th>"Role"</th><th>"State"</th><th>"Expires"</th><th></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table></div>
            </section>
        }
    });
    view! {
        <h1>{org.name.clone()} " " {status_badge(&org.status)}</h1>
        <ShownOncePanel items=org.shown_once />
        {pending_note}
        {decision}
        <dl class="facts">
            <dt>"Tenant id"</dt><dd><code>{org.slug}</code></dd>
            <dt>"Contact"</dt><dd>{org.contact_email.unwrap_or_default()}</dd>
            <dt>"Your role"</dt><dd>{org.my_role}</dd>
            <dt>"Registered"</dt><dd>{format_time(org.created_at)}</dd>
            <dt>"Data-handling attestation"</dt>
            <dd>{match (org.attestation_version, org.attested_at) {
                (Some(v), Some(at)) => format!("confirmed {} (version {v})", format_time(at)),
                _ => "not recorded".to_owned(),
            }}</dd>
        </dl>
        <section class="panel">
            <h2>"Members"</h2>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Members"><table>
                <caption class="visually-hidden">"Members"</caption>
                <thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th></th></tr></thead>
                <tbody>{members}</tbody>
            </table></div>
        </section>
        {invitations}
        <crate::pages::org_federation::IdentityProviderSection section=org.federation />
        {org.can_reset_sandbox.then(|| view! {
            <section class="panel">
                <h2>"Sandbox data"</h2>
                <p>
                    "Every application of your organisation shares one set of sandbox data. Resetting it "
                    "removes the orders you created and changed and brings back the original seed data."
                </p>
                <form method="post" action=routes::SANDBOX_RESET class="inline-form"
                    data-confirm="Reset your organisation's sandbox data? Orders you created are removed.">
                    <CsrfField />
                    <button type="submit" class="button danger">"Reset sandbox data"</button>
                </form>
            </section>
        })}
        <p><a href="/apps" class="button">"Your applications"</a> " " <a href="/org/usage" class="button secondary">"Usage charts"</a></p>
    }
}

#[component]
pub fn JoinOrganisation() -> impl IntoView {
    let token = leptos_router::hooks::use_query_map()
        .get_untracked()
        .get("token")
        .unwrap_or_default();
    let viewer = Viewer::current();
    view! {
        <Title text="Join an organisation" />
        <div class="narrow">
            <h1>"Join an organisation"</h1>
            {match viewer.user {
                None => view! {
                    <div class="panel">
                        <p>"You were invited to an organisation on Portico. Sign in or create an account first, then open the invitation link again."</p>
                        <a href="/signup" class="button primary">"Create an account"</a>
                        " "
                        <a href="/signin" class="button">"Sign in"</a>
                    </div>
                }.into_any(),
                Some(user) => view! {
                    <form method="post" action=routes::JOIN class="panel form">
                        <CsrfField />
                        <label for="token">"Invitation code"</label>
                        <input id="token" name="token" type="text" value=token required class="mono" />
                        <p>"You will join as " <strong>{user.email}</strong> "."</p>
                        <button type="submit" class="button primary">"Join organisation"</button>
                    </form>
                }.into_any(),
            }}
        </div>
    }
}

/// Where the organisation pages' forms post: each axum route pattern, declared once for the
/// page's `<form action>` (filled with [`route`]) and the server's handler
/// (`server/src/portal/actions/org.rs`).
pub mod routes {
    /// Create the organisation.
    pub const CREATE: &str = "/org";
    /// Invite someone.
    pub const INVITATIONS: &str = "/org/invitations";
    /// Revoke an invitation.
    pub const INVITATION_REVOKE: &str = "/org/invitations/{id}/revoke";
    /// Change a member's role.
    pub const MEMBER_ROLE: &str = "/org/members/{user_id}/role";
    /// Remove a member.
    pub const MEMBER_REMOVE: &str = "/org/members/{user_id}/remove";
    /// Join an organisation with an invitation.
    pub const JOIN: &str = "/join";
    /// Reset the organisation's sandbox data.
    pub const SANDBOX_RESET: &str = "/org/sandbox/reset";
}
