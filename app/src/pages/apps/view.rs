//! `/apps` (the organisation's applications) and `/apps/new` (registration).

use super::data::*;
use super::{routes, status_badge};
use crate::components::format::textarea_text;
use crate::pages::org::error_text;
use crate::viewer::{CsrfField, SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Applications() -> impl IntoView {
    let viewer = Viewer::current();
    let Some(user) = viewer.user else {
        return view! {
            <Title text="Applications" />
            <h1>"Applications"</h1>
            <p class="lead">
                "Sign in to register applications and manage their credentials, scopes and keys."
            </p>
            <SignInRequired />
        }
        .into_any();
    };
    if user.organisation.is_none() {
        return view! {
            <Title text="Applications" />
            <h1>"Applications"</h1>
            <div class="panel empty-state">
                <h2>"Create your organisation first"</h2>
                <p>
                    "Applications belong to a partner organisation. Create one for your company, "
                    "or open the invitation link a colleague sent you to join theirs."
                </p>
                <a href="/org" class="button primary">"Set up your organisation"</a>
            </div>
        }
        .into_any();
    }
    let data = Resource::new(|| (), |()| applications_page());
    view! {
        <Title text="Applications" />
        <Suspense fallback=|| view! { <p>"Loading applications…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <ApplicationList data /> }.into_any(),
                    Err(e) => view! {
                        <h1>"Applications"</h1>
                        <p class="flash error" role="alert">{error_text(&e)}</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn ApplicationList(data: AppsData) -> impl IntoView {
    let register = data.can_register.then(|| {
        view! { <a href="/apps/new" class="button primary">"Register an application"</a> }
    });
    let pending = (data.organisation_status == "pending").then(|| {
        view! {
            <p class="notice" role="note">
                <strong>"Your organisation is waiting for approval. "</strong>
                "Its applications work in the sandbox only until an administrator approves your organisation: "
                "until then the token endpoint refuses them."
            </p>
        }
    });
    let suspended = (data.organisation_status == "suspended").then(|| {
        view! {
            <p class="notice error" role="note">
                <strong>"Your organisation is suspended. "</strong>
                "Its applications cannot get access tokens. Contact the platform team."
            </p>
        }
    });
    let table = if data.apps.is_empty() {
        view! {
            <div class="panel empty-state">
                <h2>"No applications yet"</h2>
                <p>
                    "An application is how your systems call the API: it gets a client ID, "
                    "a client secret and an API key, and the scopes an administrator grants it."
                </p>
                {data.can_register.then(|| view! {
                    <a href="/apps/new" class="button primary">"Register your first application"</a>
                })}
            </div>
        }
        .into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label={format!("Applications of {}", data.organisation)}>
                <table class="data-table apps-table">
                    <caption>{format!("Applications of {}", data.organisation)}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Client ID"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Scopes granted"</th>
                            <th scope="col">"Pending requests"</th>
                            <th scope="col">"Usage plan"</th>
                            <th scope="col">"Production"</th>
                            <th scope="col">"Created"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {data
                            .apps
                            .into_iter()
                            .map(|app| {
                                let href = format!("/apps/{}", app.id);
                                let scopes = if app.scopes.is_empty() {
                                    view! { <span class="muted">"none yet"</span> }.into_any()
                                } else {
                                    app.scopes
                                        .into_iter()
                                        .map(|s| view! { <code class="scope">{s}</code> " " })
                                        .collect_view()
                                        .into_any()
                                };
                                view! {
                                    <tr data-app-id=app.id>
                                        <th scope="row"><a href=href>{app.name}</a></th>
                                        <td><code>{app.client_id}</code></td>
                                        <td>{status_badge(&app.status)}</td>
                                        <td>{scopes}</td>
                                        <td>{app.pending_scopes}</td>
                                        <td>{app.plan}</td>
                                        <td>{if app.production { "yes" } else { "no" }}</td>
                                        <td>{app.created}</td>
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
        <div class="page-head">
            <h1>"Applications"</h1>
            {register}
        </div>
        {pending}
        {suspended}
        {table}
    }
}

#[component]
pub fn NewApplication() -> impl IntoView {
    let viewer = Viewer::current();
    let Some(user) = viewer.user else {
        return view! {
            <Title text="Register an application" />
            <h1>"Register an application"</h1>
            <SignInRequired />
        }
        .into_any();
    };
    if user.organisation.is_none() {
        return view! {
            <Title text="Register an application" />
            <h1>"Register an application"</h1>
            <div class="panel empty-state">
                <p>"Applications belong to a partner organisation: create or join one first."</p>
                <a href="/org" class="button primary">"Set up your organisation"</a>
            </div>
        }
        .into_any();
    }
    // What was typed before a refusal comes back (never secrets).
    let draft = Viewer {
        draft: viewer.draft,
        ..Viewer::default()
    };
    let data = Resource::new(|| (), |()| new_application_page());
    view! {
        <Title text="Register an application" />
        <p class="breadcrumb"><a href="/apps">"Applications"</a> " / Register"</p>
        <h1>"Register an application"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let draft = draft.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <RegistrationForm data draft /> }.into_any(),
                        Err(e) => view! {
                            <p class="flash error" role="alert">{error_text(&e)}</p>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

#[component]
fn RegistrationForm(data: NewAppData, draft: Viewer) -> impl IntoView {
    if !data.can_register {
        return view! {
            <div class="panel">
                <p>
                    {format!("Your role in this organisation ({}) lets you see applications but not register them. ", data.role)}
                    "Ask an owner to make you a developer."
                </p>
                <a href="/apps" class="button">"Back to applications"</a>
            </div>
        }
        .into_any();
    }
    let pending = (data.organisation_status == "pending").then(|| {
        view! {
            <p class="notice" role="note">
                "Your organisation is waiting for approval: the application works in the sandbox only "
                "until an administrator approves your organisation."
            </p>
        }
    });
    view! {
        {pending}
        <form method="post" action=routes::REGISTER class="panel form wide-form">
            <CsrfField />
            <label for="name">"Application name"</label>
            <input id="name" name="name" type="text" required maxlength="100"
                autocomplete="off" aria-describedby="name-hint" value=draft.draft_value("name") />
            <p id="name-hint" class="hint">"Unique within your organisation, e.g. “Order sync (staging)”."</p>

            <label for="description">"Description " <span class="optional">"(optional)"</span></label>
            <textarea id="description" name="description" rows="3" maxlength="2000">{textarea_text(&draft.draft_value("description"))}</textarea>

            <fieldset class="checks">
                <legend>"Scopes to request"</legend>
                <p class="hint">
                    "No scope is granted at once: each becomes a request an administrator approves or denies."
                </p>
                {data
                    .scopes
                    .into_iter()
                    .map(|scope| {
                        let id = format!("scope-{}", scope.name.replace(':', "-"));
                        let checked = draft.draft_has("scopes", &scope.name);
                        view! {
                            <label class="check" for=id>
                                <input type="checkbox" id=id.clone() name="scopes" value=scope.name.clone()
                                    checked=checked />
                                " " <code>{scope.name}</code>
                                {(!scope.description.is_empty()).then(|| view! { " " <span class="scope-description">{scope.description}</span> })}
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>

            <label for="justification">"Why does the application need these scopes?"</label>
            <textarea id="justification" name="justification" rows="3" maxlength="2000"
                aria-describedby="justification-hint">{textarea_text(&draft.draft_value("justification"))}</textarea>
            <p id="justification-hint" class="hint">
                "Required when you request scopes. The administrator reads this to decide."
            </p>

            <details class="advanced">
                <summary>"Network and provider settings (optional)"</summary>
                <label for="ip_allowlist">"IP allowlist"</label>
                <textarea id="ip_allowlist" name="ip_allowlist" rows="3" class="mono"
                    placeholder="203.0.113.0/24" aria-describedby="ip-hint">{textarea_text(&draft.draft_value("ip_allowlist"))}</textarea>
                <p id="ip-hint" class="hint">
                    "One CIDR per line (or comma separated). Empty: calls are accepted from any address."
                </p>
                <ProviderFields
                    blocked=draft.draft_value("blocked_providers")
                    allowed=draft.draft_value("allowed_providers")
                    max=draft.draft_value("max_providers")
                />
            </details>

            <button type="submit" class="button primary">"Register application"</button>
        </form>
    }
    .into_any()
}

/// The provider preference inputs of the registration and settings forms.
#[component]
pub(super) fn ProviderFields(blocked: String, allowed: String, max: String) -> impl IntoView {
    view! {
        <fieldset class="providers">
            <legend>"Quote provider preferences"</legend>
            <label for="blocked_providers">"Blocked providers"</label>
            <input id="blocked_providers" name="blocked_providers" type="text" value=blocked
                aria-describedby="blocked-hint" />
            <p id="blocked-hint" class="hint">"Comma separated. Packages from these providers are never shown."</p>
            <label for="allowed_providers">"Allowed providers"</label>
            <input id="allowed_providers" name="allowed_providers" type="text" value=allowed
                aria-describedby="allowed-hint" />
            <p id="allowed-hint" class="hint">"Comma separated. Empty: every provider that is not blocked."</p>
            <label for="max_providers">"Maximum number of providers"</label>
            <input id="max_providers" name="max_providers" type="number" min="0" step="1" value=max
                aria-describedby="max-hint" />
            <p id="max-hint" class="hint">"Empty: no limit."</p>
        </fieldset>
    }
}
