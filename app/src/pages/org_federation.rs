//! The organisation page's "Identity provider (federation)" section: register or change the
//! organisation's own identity provider, map workloads to applications, turn direct acceptance
//! at the gateway on or off. Owners manage it; other members see it.

use crate::viewer::CsrfField;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederationSection {
    pub can_manage: bool,
    /// The audience used when the form leaves it empty (Portico's issuer).
    pub default_audience: String,
    pub idp: Option<IdpView>,
    /// The organisation's applications (id, name, client id), for the mapping form.
    pub applications: Vec<(String, String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpView {
    pub issuer: String,
    pub jwks_url: String,
    pub audience: String,
    pub workload_claim: String,
    pub direct_access: bool,
    pub status: String,
    pub decision_note: Option<String>,
    /// (claim value, application name, client id).
    pub mappings: Vec<(String, String, String)>,
}

/// The section's data for the signed-in member.
#[cfg(feature = "ssr")]
pub async fn load(
    db: &portico_core::Database,
    actor: &portico_core::identity::ActorContext,
    partner_id: &str,
    can_manage: bool,
    default_audience: String,
) -> portico_core::CoreResult<FederationSection> {
    use portico_core::orgs::federation;
    let idp = federation::my_identity_provider(db, actor)
        .await?
        .map(|idp| IdpView {
            issuer: idp.issuer,
            jwks_url: idp.jwks_url,
            audience: idp.audience,
            workload_claim: idp.workload_claim,
            direct_access: idp.direct_access,
            status: idp.status.as_str().to_owned(),
            decision_note: idp.decision_note.filter(|n| !n.is_empty()),
            mappings: idp
                .mappings
                .into_iter()
                .map(|m| (m.claim_value, m.application_name, m.client_id))
                .collect(),
        });
    let applications = if can_manage {
        portico_core::apps::manage::list_applications(db, actor, partner_id)
            .await?
            .into_iter()
            .map(|s| (s.app.id, s.app.name, s.app.client_id))
            .collect()
    } else {
        Vec::new()
    };
    Ok(FederationSection {
        can_manage,
        default_audience,
        idp,
        applications,
    })
}

fn status_text(status: &str) -> (&'static str, &'static str) {
    match status {
        "approved" => ("badge ok", "Approved: trusted"),
        "pending" => (
            "badge pending",
            "Pending an administrator's approval: not trusted yet",
        ),
        _ => ("badge bad", "Rejected: not trusted"),
    }
}

#[component]
pub fn IdentityProviderSection(section: FederationSection) -> impl IntoView {
    let FederationSection {
        can_manage,
        default_audience,
        idp,
        applications,
    } = section;
    if idp.is_none() && !can_manage {
        return view! {
            <section class="panel" id="identity-provider">
                <h2>"Identity provider (federation)"</h2>
                <p>"Your organisation has not registered an identity provider. An owner can register one."</p>
            </section>
        }
        .into_any();
    }
    let current = idp.clone().map(|idp| {
        let (class, text) = status_text(&idp.status);
        let note = idp
            .decision_note
            .clone()
            .map(|n| view! { <p>"Administrator's note: " {n}</p> });
        let mappings = idp
            .mappings
            .iter()
            .cloned()
            .map(|(value, name, client_id)| {
                let remove = can_manage.then(|| {
                    let value = value.clone();
                    view! {
                        <form method="post" action=routes::MAPPING_REMOVE class="inline-form">
                            <CsrfField />
                            <input type="hidden" name="claim_value" value=value />
                            <button type="submit" class="button small">"Remove"</button>
                        </form>
                    }
                });
                view! {
                    <tr>
                        <td><code>{value}</code></td>
                        <td>{name} " " <code>{client_id}</code></td>
                        <td>{remove}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <p><span class=class data-testid="idp-status">{text}</span></p>
            {note}
            <dl class="facts">
                <dt>"Issuer"</dt><dd><code>{idp.issuer.clone()}</code></dd>
                <dt>"JWKS URL"</dt><dd><code>{idp.jwks_url.clone()}</code></dd>
                <dt>"Audience"</dt><dd><code>{idp.audience.clone()}</code></dd>
                <dt>"Workload claim"</dt><dd><code>{idp.workload_claim.clone()}</code></dd>
                <dt>"Direct acceptance at the gateway"</dt>
                <dd>{if idp.direct_access { "on" } else { "off" }}</dd>
            </dl>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Workload mappings"><table>
                <caption>"Workload mappings"</caption>
                <thead><tr><th scope="col">"Workload claim value"</th><th scope="col">"Application"</th><th></th></tr></thead>
                <tbody>{mappings}</tbody>
            </table></div>
        }
    });
    let forms = can_manage.then(|| {
        let draft = idp.clone();
        let field = |f: fn(&IdpView) -> String| draft.as_ref().map(f).unwrap_or_default();
        let issuer = field(|i| i.issuer.clone());
        let jwks_url = field(|i| i.jwks_url.clone());
        let audience = field(|i| i.audience.clone());
        let claim = field(|i| i.workload_claim.clone());
        let registered = idp.is_some();
        let direct = idp.as_ref().is_some_and(|i| i.direct_access);
        let mapping_form = (registered && !applications.is_empty()).then(|| view! {
            <form method="post" action=routes::MAPPINGS class="form inline-fields">
                <CsrfField />
                <label for="idp-claim-value">"Workload claim value"</label>
                <input id="idp-claim-value" name="claim_value" type="text" required maxlength="255"
                    aria-describedby="idp-claim-value-hint" />
                <p class="hint" id="idp-claim-value-hint">"The value your identity provider puts in the workload claim for this workload."</p>
                <label for="idp-application">"Application"</label>
                <select id="idp-application" name="application_id" required>
                    {applications.iter().cloned().map(|(id, name, client_id)| view! {
                        <option value=id>{format!("{name} ({client_id})")}</option>
                    }).collect_view()}
                </select>
                <button type="submit" class="button">"Map workload"</button>
            </form>
        });
        let registered_forms = registered.then(|| view! {
            <form method="post" action=routes::DIRECT class="form">
                <CsrfField />
                <input type="hidden" name="enabled" value=if direct { "off" } else { "on" } />
                <p>"Accept our identity provider's tokens directly at the gateway (no exchange needed): "
                    <strong>{if direct { "on" } else { "off" }}</strong></p>
                <button type="submit" class="button">
                    {if direct { "Turn direct acceptance off" } else { "Turn direct acceptance on" }}
                </button>
            </form>
            <form method="post" action=routes::REMOVE class="inline-form"
                data-confirm="Remove the identity provider? Its tokens stop working at once.">
                <CsrfField />
                <button type="submit" class="button danger">"Remove identity provider"</button>
            </form>
        });
        view! {
            {mapping_form}
            {registered_forms}
            <form method="post" action=routes::REGISTER class="form">
                <CsrfField />
                <h3>{if registered { "Change the identity provider" } else { "Register your identity provider" }}</h3>
                <p class="hint">"A change of issuer, JWKS URL, audience or claim waits for an administrator's approval again."</p>
                <label for="idp-issuer">"Issuer (iss)"</label>
                <input id="idp-issuer" name="issuer" type="url" required maxlength="500" value=issuer
                    placeholder="https://login.example.com/realms/partners" />
                <label for="idp-jwks">"JWKS URL"</label>
                <input id="idp-jwks" name="jwks_url" type="url" required maxlength="2000" value=jwks_url
                    aria-describedby="idp-jwks-hint" />
                <p class="hint" id="idp-jwks-hint">"Where your identity provider publishes its public signing keys (https, public address)."</p>
                <label for="idp-audience">"Audience (aud)"</label>
                <input id="idp-audience" name="audience" type="text" maxlength="500" value=audience
                    aria-describedby="idp-audience-hint" />
                <p class="hint" id="idp-audience-hint">"Leave empty for Portico's issuer: " <code>{default_audience.clone()}</code></p>
                <label for="idp-claim">"Workload claim"</label>
                <input id="idp-claim" name="workload_claim" type="text" maxlength="100" value=claim
                    placeholder="sub" aria-describedby="idp-claim-hint" />
                <p class="hint" id="idp-claim-hint">"The claim that names the workload; empty means sub."</p>
                <button type="submit" class="button primary">{if registered { "Save changes" } else { "Register identity provider" }}</button>
            </form>
        }
    });
    view! {
        <section class="panel" id="identity-provider">
            <h2>"Identity provider (federation)"</h2>
            <p>
                "Let your workloads use tokens from your own identity provider instead of client secrets: "
                "they are exchanged at the token endpoint, or accepted at the gateway directly if you turn that on. "
                <a href="/docs/authentication#federation-your-own-identity-provider">"How federation works"</a>
            </p>
            {current}
            {forms}
        </section>
    }
    .into_any()
}

/// Where the section's forms post (handlers in `server/src/portal/actions/federation.rs`).
pub mod routes {
    /// Register or change the identity provider.
    pub const REGISTER: &str = "/org/identity-provider";
    /// Turn direct acceptance on or off.
    pub const DIRECT: &str = "/org/identity-provider/direct";
    /// Map a workload claim value to an application.
    pub const MAPPINGS: &str = "/org/identity-provider/mappings";
    /// Remove a mapping (the claim value is a form field: it may contain slashes).
    pub const MAPPING_REMOVE: &str = "/org/identity-provider/mappings/remove";
    /// Remove the identity provider.
    pub const REMOVE: &str = "/org/identity-provider/remove";
}
