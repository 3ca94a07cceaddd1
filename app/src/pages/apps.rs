//! The partner's applications: the list (`/apps`), registration (`/apps/new`) and one
//! application's page (`/apps/{id}`) with its credentials, scopes, settings and danger zone.
//!
//! Every page works with JavaScript off: each change is a plain HTML form posting to the
//! handlers in `server/src/portal/actions/apps.rs`, which answer with a redirect and a one-time
//! message. The core decides who may do what; these pages only hide the buttons a role cannot
//! use, so that nobody is offered a form that will be refused.

use crate::components::format::textarea_text;
use crate::components::secrets::{ShownOnce, ShownOncePanel};
use crate::pages::org::error_text;
use crate::pages::webhooks::{FailingWebhooksBanner, WebhooksSection};
use crate::viewer::{SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// One row of the applications table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRow {
    pub id: String,
    pub name: String,
    pub client_id: String,
    /// active or suspended.
    pub status: String,
    pub scopes: Vec<String>,
    pub pending_scopes: usize,
    pub plan: String,
    pub production: bool,
    /// YYYY-MM-DD (UTC).
    pub created: String,
}

/// What the applications list shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppsData {
    pub organisation: String,
    /// pending, approved or suspended.
    pub organisation_status: String,
    pub can_register: bool,
    pub apps: Vec<AppRow>,
}

/// A scope that can be requested, and what it allows (from the API model declaring it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeOption {
    pub name: String,
    pub description: String,
}

/// What the registration form needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAppData {
    pub scopes: Vec<ScopeOption>,
    pub can_register: bool,
    pub role: String,
    pub organisation_status: String,
}

/// A client secret or API key as listed (never its value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRow {
    pub id: String,
    pub hint: String,
    /// primary or secondary.
    pub slot: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
    pub expires: Option<String>,
    pub live: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeRequestRow {
    pub id: String,
    pub scope: String,
    /// pending, approved, denied, revoked or withdrawn.
    pub status: String,
    pub reason: String,
    pub requested: String,
    pub decided: Option<String>,
    pub note: String,
}

/// Everything the application page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDetailData {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub description: String,
    pub status: String,
    /// When suspended: by whom ("an administrator" or "your organisation") and when.
    pub suspension: Option<(String, String)>,
    pub suspended_by_admin: bool,
    pub plan: String,
    /// When production access was granted.
    pub production: Option<String>,
    pub organisation: String,
    pub organisation_status: String,
    pub created: String,
    pub scopes: Vec<String>,
    pub pending_scopes: Vec<String>,
    pub known_scopes: Vec<ScopeOption>,
    /// One CIDR per line.
    pub ip_allowlist: String,
    /// Comma separated.
    pub blocked_providers: String,
    /// Comma separated; empty = any provider.
    pub allowed_providers: String,
    pub max_providers: String,
    pub secrets: Vec<CredentialRow>,
    pub api_keys: Vec<CredentialRow>,
    pub scope_requests: Vec<ScopeRequestRow>,
    /// Credentials made by the previous form, shown this once.
    pub shown_once: Vec<ShownOnce>,
    /// The viewer's role (empty for an administrator outside the organisation).
    pub role: String,
    pub can_manage_credentials: bool,
    pub can_request_scopes: bool,
    pub can_edit_settings: bool,
    pub can_suspend_or_delete: bool,
    /// Calls of this application to deprecated versions or operations in the last 30 days.
    pub deprecated_calls: Vec<crate::pages::deprecations::ReportRow>,
    /// Its webhook endpoints (and those disabled for failing, for the banner).
    pub webhooks: crate::pages::webhooks::ApplicationWebhooks,
}

#[server]
pub async fn applications_page() -> Result<AppsData, ServerFnError> {
    ssr::applications().await
}

#[server]
pub async fn new_application_page() -> Result<NewAppData, ServerFnError> {
    ssr::new_application().await
}

#[server]
pub async fn application_page(id: String) -> Result<AppDetailData, ServerFnError> {
    ssr::application(&id).await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{
        AppDetailData, AppRow, AppsData, CredentialRow, NewAppData, ScopeOption, ScopeRequestRow,
    };
    use crate::components::format::format_time;
    use crate::server::{actor, page_error, portal};
    use leptos::prelude::ServerFnError;
    use portico_core::CoreError;
    use portico_core::apps::applications::AppStatus;
    use portico_core::apps::credentials::CredentialInfo;
    use portico_core::apps::manage::{self, SuspensionSource};
    use portico_core::clock::{self, UnixTime};
    use portico_core::identity::permissions::{PortalAction, admin_permits, permits};
    use portico_core::orgs::organisations;

    fn signed_out() -> ServerFnError {
        ServerFnError::new("Sign in to continue.")
    }

    /// `YYYY-MM-DD` (UTC).
    pub fn date(t: UnixTime) -> String {
        clock::format_rfc3339(t).chars().take(10).collect()
    }

    pub async fn applications() -> Result<AppsData, ServerFnError> {
        let ctx = actor().ok_or_else(signed_out)?;
        let db = portal()?.db;
        let (org, role) = organisations::my_organisation(&db, &ctx)
            .await
            .map_err(page_error)?
            .ok_or_else(|| ServerFnError::new("Create or join an organisation first."))?;
        let apps = manage::list_applications(&db, &ctx, &org.id)
            .await
            .map_err(page_error)?;
        Ok(AppsData {
            organisation: org.name,
            organisation_status: org.status.as_str().to_owned(),
            can_register: permits(role, PortalAction::RegisterApplication),
            apps: apps
                .into_iter()
                .map(|s| AppRow {
                    id: s.app.id,
                    name: s.app.name,
                    client_id: s.app.client_id,
                    status: s.app.status.as_str().to_owned(),
                    scopes: s.app.scopes.iter().map(str::to_owned).collect(),
                    pending_scopes: s.pending_scopes.len(),
                    plan: s.app.usage_plan,
                    production: s.production.is_some(),
                    created: date(s.app.created_at),
                })
                .collect(),
        })
    }

    pub async fn new_application() -> Result<NewAppData, ServerFnError> {
        let ctx = actor().ok_or_else(signed_out)?;
        let db = portal()?.db;
        let (org, role) = organisations::my_organisation(&db, &ctx)
            .await
            .map_err(page_error)?
            .ok_or_else(|| ServerFnError::new("Create or join an organisation first."))?;
        Ok(NewAppData {
            scopes: known_scopes()?,
            can_register: permits(role, PortalAction::RegisterApplication),
            role: role.as_str().to_owned(),
            organisation_status: org.status.as_str().to_owned(),
        })
    }

    fn known_scopes() -> Result<Vec<ScopeOption>, ServerFnError> {
        Ok(portal()?
            .scopes
            .iter()
            .map(|scope| ScopeOption {
                name: scope.name.clone(),
                description: scope.description.clone(),
            })
            .collect())
    }

    fn credential_row(c: CredentialInfo, now: UnixTime) -> CredentialRow {
        CredentialRow {
            live: c.is_live(now),
            id: c.id,
            hint: c.hint,
            slot: c.slot.as_str().to_owned(),
            created: format_time(c.created_at),
            last_used: c.last_used_at.map(format_time),
            revoked: c.revoked_at.map(format_time),
            expires: c.expires_at.map(format_time),
        }
    }

    pub async fn application(id: &str) -> Result<AppDetailData, ServerFnError> {
        let ctx = actor().ok_or_else(signed_out)?;
        let db = portal()?.db;
        let detail = match manage::application_detail(&db, &ctx, id).await {
            Ok(detail) => detail,
            Err(e) => {
                if matches!(e, CoreError::NotFound { .. })
                    && let Some(response) =
                        leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
                {
                    response.set_status(http::StatusCode::NOT_FOUND);
                }
                return Err(page_error(e));
            }
        };
        let membership = organisations::my_organisation(&db, &ctx)
            .await
            .map_err(page_error)?
            .filter(|(org, _)| org.id == detail.summary.organisation_id)
            .map(|(_, role)| role);
        // Someone who sees an application without being a member of its organisation can
        // only be a platform administrator (the core refused everyone else).
        let is_admin = crate::viewer::Viewer::current().is_admin();
        let may = |action: PortalAction| match membership {
            Some(role) => permits(role, action),
            None => is_admin && admin_permits(action),
        };
        let now = clock::now();
        let summary = detail.summary;
        let app = summary.app;
        let portal_ctx = portal()?;
        let deprecated_calls = crate::pages::deprecations::ssr::partner_report(
            &db,
            &portal_ctx.docs.current(),
            &app.partner_id,
            Some(&app.client_id),
        )
        .await
        .map_err(page_error)?;
        let webhooks = crate::pages::webhooks::ssr::of_application(&db, &ctx, &app.id).await?;
        let prefs = summary.preferences;
        Ok(AppDetailData {
            deprecated_calls,
            webhooks,
            shown_once: crate::server::shown_once(&app.id),
            can_manage_credentials: may(PortalAction::ManageCredentials),
            can_request_scopes: may(PortalAction::RequestScopes),
            can_edit_settings: may(PortalAction::EditApplicationSettings),
            can_suspend_or_delete: may(PortalAction::SuspendOrDeleteApplication),
            role: membership
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            suspended_by_admin: summary
                .suspension
                .as_ref()
                .is_some_and(|s| s.source == SuspensionSource::Admin),
            suspension: summary.suspension.map(|s| {
                let by = match s.source {
                    SuspensionSource::Admin => "a platform administrator",
                    SuspensionSource::Member => "your organisation",
                };
                (by.to_owned(), format_time(s.at))
            }),
            status: if app.status == AppStatus::Active {
                "active".into()
            } else {
                "suspended".into()
            },
            id: app.id,
            name: app.name,
            client_id: app.client_id,
            description: summary.description,
            plan: app.usage_plan,
            production: summary.production.map(|p| date(p.granted_at)),
            organisation: summary.organisation_name,
            organisation_status: app.partner_status.as_str().to_owned(),
            created: date(app.created_at),
            scopes: app.scopes.iter().map(str::to_owned).collect(),
            pending_scopes: summary.pending_scopes,
            known_scopes: known_scopes()?,
            ip_allowlist: summary
                .ip_allowlist
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("\n"),
            blocked_providers: prefs.blocked_providers.join(", "),
            allowed_providers: prefs.allowed_providers.unwrap_or_default().join(", "),
            max_providers: prefs
                .max_providers
                .map(|m| m.to_string())
                .unwrap_or_default(),
            secrets: detail
                .secrets
                .into_iter()
                .map(|c| credential_row(c, now))
                .collect(),
            api_keys: detail
                .api_keys
                .into_iter()
                .map(|c| credential_row(c, now))
                .collect(),
            scope_requests: detail
                .scope_requests
                .into_iter()
                .map(|r| ScopeRequestRow {
                    id: r.id,
                    scope: r.scope,
                    status: r.status.as_str().to_owned(),
                    reason: r.reason,
                    requested: format_time(r.requested_at),
                    decided: r.decided_at.map(format_time),
                    note: r.decision_note.unwrap_or_default(),
                })
                .collect(),
        })
    }
}

pub(crate) fn csrf_input(token: &str) -> impl IntoView + use<> {
    view! { <input type="hidden" name="csrf_token" value=token.to_owned() /> }
}

fn status_badge(status: &str) -> impl IntoView + use<> {
    let tone = match status {
        "active" | "approved" => "ok",
        "pending" => "pending",
        "suspended" | "denied" | "revoked" => "bad",
        _ => "plain",
    };
    let class = format!("badge {tone} status-{status}");
    view! { <span class=class>{status.to_owned()}</span> }
}

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
    let csrf = viewer.csrf_token.clone();
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
                let csrf = csrf.clone();
                let draft = draft.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <RegistrationForm data csrf draft /> }.into_any(),
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
fn RegistrationForm(data: NewAppData, csrf: String, draft: Viewer) -> impl IntoView {
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
        <form method="post" action="/apps" class="panel form wide-form">
            {csrf_input(&csrf)}
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
fn ProviderFields(blocked: String, allowed: String, max: String) -> impl IntoView {
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

#[component]
pub fn ApplicationDetail() -> impl IntoView {
    let viewer = Viewer::current();
    if viewer.user.is_none() {
        return view! {
            <Title text="Application" />
            <h1>"Application"</h1>
            <SignInRequired />
        }
        .into_any();
    }
    let csrf = viewer.csrf_token;
    // What was typed into the add-endpoint form before a refusal comes back.
    let draft = Viewer {
        draft: viewer.draft,
        ..Viewer::default()
    };
    let id = leptos_router::hooks::use_params_map()
        .read_untracked()
        .get("id")
        .unwrap_or_default();
    let data = Resource::new(move || id.clone(), application_page);
    view! {
        <Suspense fallback=|| view! { <p>"Loading the application…"</p> }>
            {move || {
                let csrf = csrf.clone();
                let draft = draft.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(app) => view! { <Detail app csrf draft /> }.into_any(),
                        Err(e) => view! {
                            <Title text="Application not found" />
                            <h1>"Application not found"</h1>
                            <div class="panel">
                                <p>{error_text(&e)}</p>
                                <a href="/apps" class="button">"Back to applications"</a>
                            </div>
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
fn Detail(app: AppDetailData, csrf: String, draft: Viewer) -> impl IntoView {
    let base = format!("/apps/{}", app.id);
    let read_only = (!app.can_manage_credentials && !app.can_edit_settings).then(|| {
        let role = if app.role.is_empty() {
            "administrator".to_owned()
        } else {
            app.role.clone()
        };
        view! {
            <p class="notice" role="note">
                {format!("Your role ({role}) lets you see this application but not change it.")}
            </p>
        }
    });
    let suspended = app.suspension.clone().map(|(by, at)| {
        view! {
            <p class="notice error" role="note">
                <strong>"Suspended. "</strong>
                {format!("Suspended by {by} on {at}. The token endpoint refuses this application until it is reactivated.")}
            </p>
        }
    });
    let pending_org = (app.organisation_status == "pending").then(|| {
        view! {
            <p class="notice" role="note">
                "Your organisation is waiting for approval: this application works in the sandbox only "
                "until an administrator approves your organisation."
            </p>
        }
    });
    let description = (!app.description.is_empty())
        .then(|| view! { <p class="lead">{app.description.clone()}</p> });
    let deprecated = (!app.deprecated_calls.is_empty()).then(|| {
        view! {
            <div class="notice warning" role="note" data-testid="deprecation-banner">
                <strong>"This application calls deprecated APIs. "</strong>
                "In the last 30 days:"
                <ul>
                    {app.deprecated_calls
                        .iter()
                        .map(|r| {
                            let sunset = match (&r.sunset, r.days_until_sunset) {
                                (Some(date), Some(days)) if days > 0 => {
                                    format!("stops working on {date} ({days} days left)")
                                }
                                (Some(date), _) => format!("retired on {date}: calls return 410 Gone"),
                                (None, _) => "deprecated".to_owned(),
                            };
                            view! {
                                <li>
                                    <code>{r.what.clone()}</code>
                                    {format!(": {} calls, last {} — {sunset}", r.calls, r.last_call)}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                <a href="/deprecations">"Deprecations and how to migrate"</a>
            </div>
        }
    });
    let log_href = format!("{base}/logs");
    let usage_href = format!("{base}/usage");
    view! {
        <Title text=app.name.clone() />
        <p class="breadcrumb"><a href="/apps">"Applications"</a> " / " {app.name.clone()}</p>
        <div class="page-head">
            <h1>{app.name.clone()} " " {status_badge(&app.status)}</h1>
            <span>
                <a href=log_href class="button" data-testid="request-log-link">"Request log"</a> " "
                <a href=usage_href class="button secondary" data-testid="usage-link">"Usage"</a>
            </span>
        </div>
        {description}
        <FailingWebhooksBanner
            urls=app.webhooks.disabled_for_failing.clone()
            disable_after=app.webhooks.disable_after.clone()
        />
        {deprecated}
        {suspended}
        {pending_org}
        {read_only}
        <ShownOncePanel items=app.shown_once.clone() />
        <section class="panel client-id" aria-labelledby="client-id-label">
            <label id="client-id-label" for="client-id">"Client ID"</label>
            <input id="client-id" type="text" readonly value=app.client_id.clone() data-copy=""
                aria-label="Client ID" class="mono" spellcheck="false" autocomplete="off" />
            <p class="hint">"Not secret: send it with the client secret to the token endpoint."</p>
        </section>
        <Overview app=app.clone() />
        <Credentials
            title="Client secrets"
            noun="client secret"
            kind="secrets"
            add_label="Add secondary secret"
            rows=app.secrets.clone()
            base=base.clone()
            csrf=csrf.clone()
            can_manage=app.can_manage_credentials
        />
        <Credentials
            title="API keys"
            noun="API key"
            kind="api-keys"
            add_label="Add API key"
            rows=app.api_keys.clone()
            base=base.clone()
            csrf=csrf.clone()
            can_manage=app.can_manage_credentials
        />
        <ScopesSection app=app.clone() base=base.clone() csrf=csrf.clone() />
        <WebhooksSection
            app_id=app.id.clone()
            webhooks=app.webhooks.clone()
            can_manage=app.can_manage_credentials
            csrf=csrf.clone()
            draft
        />
        <SettingsSection app=app.clone() base=base.clone() csrf=csrf.clone() />
        <DangerZone app base csrf />
    }
}

#[component]
fn Overview(app: AppDetailData) -> impl IntoView {
    let production = match app.production {
        Some(at) => format!("yes, since {at}"),
        None => "no (sandbox only)".to_owned(),
    };
    let allowlist = if app.ip_allowlist.is_empty() {
        "any address".to_owned()
    } else {
        app.ip_allowlist.replace('\n', ", ")
    };
    view! {
        <section class="section" aria-labelledby="overview-title">
            <h2 id="overview-title">"Overview"</h2>
            <dl class="facts">
                <dt>"Status"</dt>
                <dd>{status_badge(&app.status)}</dd>
                <dt>"Usage plan"</dt>
                <dd>{app.plan}</dd>
                <dt>"Production access"</dt>
                <dd>{production}</dd>
                <dt>"Organisation"</dt>
                <dd>{app.organisation} " " {status_badge(&app.organisation_status)}</dd>
                <dt>"Created"</dt>
                <dd>{app.created}</dd>
                <dt>"IP allowlist"</dt>
                <dd class="mono">{allowlist}</dd>
            </dl>
        </section>
    }
}

#[component]
#[allow(clippy::too_many_arguments, reason = "component props")]
fn Credentials(
    title: &'static str,
    noun: &'static str,
    kind: &'static str,
    add_label: &'static str,
    rows: Vec<CredentialRow>,
    base: String,
    csrf: String,
    can_manage: bool,
) -> impl IntoView {
    let live = rows.iter().filter(|r| r.live).count();
    let heading_id = format!("{kind}-title");
    let add = can_manage.then(|| {
        if live < 2 {
            view! {
                <form method="post" action=format!("{base}/{kind}") class="inline-form">
                    {csrf_input(&csrf)}
                    <button type="submit" class="button">{add_label}</button>
                </form>
                <p class="hint">
                    {format!("Rotation without downtime: add a new {noun}, deploy it, make it primary, then revoke the old one.")}
                </p>
            }
            .into_any()
        } else {
            view! {
                <p class="hint">
                    {format!("An application holds at most two live {noun}s: revoke one to add another.")}
                </p>
            }
            .into_any()
        }
    });
    let body = if rows.is_empty() {
        view! { <p class="muted">{format!("No {noun}s.")}</p> }.into_any()
    } else {
        let is_secret = kind == "secrets";
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label={format!("{title}: values are shown only once, when created")}>
                <table class="data-table">
                    <caption>{format!("{title}: values are shown only once, when created")}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Hint"</th>
                            <th scope="col">"Slot"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Last used"</th>
                            <th scope="col">"Revoked"</th>
                            {can_manage.then(|| view! { <th scope="col">"Actions"</th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {rows
                            .into_iter()
                            .map(|row| {
                                let actions = (can_manage && row.live).then(|| {
                                    let action = format!("{base}/{kind}/{}", row.id);
                                    let last = live == 1;
                                    let promote = (row.slot != "primary").then(|| view! {
                                        <form method="post" action=format!("{action}/primary") class="inline-form">
                                            {csrf_input(&csrf)}
                                            <button type="submit" class="button small">"Make primary"</button>
                                        </form>
                                    });
                                    let confirm = if last {
                                        format!("This is the last live {noun}: revoking it stops the application from working. Revoke it?")
                                    } else {
                                        format!("Revoke this {noun}? Systems still using it will be refused.")
                                    };
                                    let confirm_last = last.then(|| {
                                        let id = format!("confirm-last-{}", row.id);
                                        view! {
                                            <label class="check small" for=id>
                                                <input type="checkbox" id=id.clone() name="confirm_last" value="yes" />
                                                {format!(" I understand the application stops working without a {noun}")}
                                            </label>
                                        }
                                    });
                                    view! {
                                        {promote}
                                        <form method="post" action=format!("{action}/revoke")
                                            class="inline-form" data-confirm=confirm>
                                            {csrf_input(&csrf)}
                                            {confirm_last}
                                            <button type="submit" class="button small danger">"Revoke"</button>
                                        </form>
                                    }
                                });
                                let slot = if row.live {
                                    view! { <span class=format!("badge plain slot-{}", row.slot)>{row.slot.clone()}</span> }.into_any()
                                } else {
                                    view! { <span class="muted">"—"</span> }.into_any()
                                };
                                let revoked = match (&row.revoked, &row.expires, row.live) {
                                    (Some(at), _, _) => at.clone(),
                                    (None, Some(at), false) => format!("expired {at}"),
                                    _ => "—".to_owned(),
                                };
                                let class = if row.live { "" } else { "revoked" };
                                view! {
                                    <tr
                                        data-secret-id=is_secret.then(|| row.id.clone())
                                        data-api-key-id=(!is_secret).then(|| row.id.clone())
                                        class=class
                                    >
                                        <td><code>{row.hint}</code></td>
                                        <td>{slot}</td>
                                        <td>{row.created}</td>
                                        <td>{row.last_used.unwrap_or_else(|| "never".to_owned())}</td>
                                        <td>{revoked}</td>
                                        {can_manage.then(|| view! { <td class="row-actions">{actions}</td> })}
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
    // The API keys are where a refused key sends the partner (`#credentials`).
    let anchor = if kind == "api-keys" {
        "credentials"
    } else {
        kind
    };
    view! {
        <section class="section" aria-labelledby=heading_id id=anchor>
            <h2 id=heading_id.clone()>{title}</h2>
            {body}
            {add}
        </section>
    }
}

#[component]
fn ScopesSection(app: AppDetailData, base: String, csrf: String) -> impl IntoView {
    let granted = if app.scopes.is_empty() {
        view! { <p class="muted">"No scope is granted yet: tokens carry no scope until an administrator approves a request."</p> }.into_any()
    } else {
        view! {
            <ul class="scope-list">
                {app.scopes.iter().map(|s| view! { <li><code class="scope">{s.clone()}</code></li> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    let can_request = app.can_request_scopes;
    let requests = if app.scope_requests.is_empty() {
        view! { <p class="muted">"No scope requests yet."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Scope requests and the administrators' decisions">
                <table class="data-table">
                    <caption>"Scope requests and the administrators' decisions"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Scope"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Reason"</th>
                            <th scope="col">"Requested"</th>
                            <th scope="col">"Decision"</th>
                            {can_request.then(|| view! { <th scope="col">"Actions"</th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {app
                            .scope_requests
                            .into_iter()
                            .map(|r| {
                                let withdraw = (can_request && r.status == "pending").then(|| view! {
                                    <form method="post" action=format!("{base}/scope-requests/{}/withdraw", r.id)
                                        class="inline-form">
                                        {csrf_input(&csrf)}
                                        <button type="submit" class="button small">"Withdraw"</button>
                                    </form>
                                });
                                let decision = match r.decided {
                                    Some(at) if r.note.is_empty() => at,
                                    Some(at) => format!("{at}: {}", r.note),
                                    None => "awaiting an administrator".to_owned(),
                                };
                                view! {
                                    <tr data-scope-request=r.id.clone()>
                                        <td><code class="scope">{r.scope}</code></td>
                                        <td>{status_badge(&r.status)}</td>
                                        <td>{r.reason}</td>
                                        <td>{r.requested}</td>
                                        <td class="decision">{decision}</td>
                                        {can_request.then(|| view! { <td class="row-actions">{withdraw}</td> })}
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
    let available: Vec<ScopeOption> = app
        .known_scopes
        .iter()
        .filter(|s| !app.scopes.contains(&s.name) && !app.pending_scopes.contains(&s.name))
        .cloned()
        .collect();
    let form = can_request.then(|| {
        if available.is_empty() {
            view! { <p class="hint">"Every scope is granted or waiting for a decision."</p> }.into_any()
        } else {
            view! {
                <form method="post" action=format!("{base}/scope-requests") class="form request-scopes">
                    {csrf_input(&csrf)}
                    <h3>"Request scopes"</h3>
                    <fieldset class="checks">
                        <legend>"Scopes"</legend>
                        {available
                            .into_iter()
                            .map(|scope| {
                                let id = format!("request-{}", scope.name.replace(':', "-"));
                                view! {
                                    <label class="check" for=id>
                                        <input type="checkbox" id=id.clone() name="scopes" value=scope.name.clone() />
                                        " " <code>{scope.name}</code>
                                        {(!scope.description.is_empty()).then(|| view! { " " <span class="scope-description">{scope.description}</span> })}
                                    </label>
                                }
                            })
                            .collect_view()}
                    </fieldset>
                    <label for="reason">"Reason"</label>
                    <textarea id="reason" name="reason" rows="3" maxlength="2000" required
                        aria-describedby="reason-hint"></textarea>
                    <p id="reason-hint" class="hint">"What the application does with these scopes. An administrator decides."</p>
                    <button type="submit" class="button primary">"Request scopes"</button>
                </form>
            }
            .into_any()
        }
    });
    view! {
        <section class="section" aria-labelledby="scopes-title" id="scopes">
            <h2 id="scopes-title">"Scopes"</h2>
            <h3>"Granted"</h3>
            {granted}
            <h3>"Requests"</h3>
            {requests}
            {form}
        </section>
    }
}

#[component]
fn SettingsSection(app: AppDetailData, base: String, csrf: String) -> impl IntoView {
    if !app.can_edit_settings {
        return ().into_any();
    }
    view! {
        <section class="section" aria-labelledby="settings-title" id="settings">
            <h2 id="settings-title">"Settings"</h2>
            <form method="post" action=format!("{base}/settings") class="panel form wide-form">
                {csrf_input(&csrf)}
                <label for="settings-description">"Description"</label>
                <textarea id="settings-description" name="description" rows="3" maxlength="2000">{textarea_text(&app.description)}</textarea>
                <label for="settings-ip-allowlist">"IP allowlist"</label>
                <textarea id="settings-ip-allowlist" name="ip_allowlist" rows="4" class="mono"
                    placeholder="203.0.113.0/24" aria-describedby="settings-ip-hint">{textarea_text(&app.ip_allowlist)}</textarea>
                <p id="settings-ip-hint" class="hint">
                    "One CIDR per line (or comma separated). Empty: calls are accepted from any address."
                </p>
                <ProviderFields blocked=app.blocked_providers allowed=app.allowed_providers max=app.max_providers />
                <button type="submit" class="button primary">"Save settings"</button>
            </form>
        </section>
    }
    .into_any()
}

#[component]
fn DangerZone(app: AppDetailData, base: String, csrf: String) -> impl IntoView {
    if !app.can_suspend_or_delete {
        return ().into_any();
    }
    let toggle = if app.status == "active" {
        view! {
            <form method="post" action=format!("{base}/suspend") class="form danger-form"
                data-confirm="Suspend this application? The token endpoint refuses it until it is reactivated.">
                {csrf_input(&csrf)}
                <h3>"Suspend"</h3>
                <p>"The token endpoint refuses the application until you reactivate it. Nothing is deleted."</p>
                <label for="suspend-reason">"Reason " <span class="optional">"(optional, kept in the audit log)"</span></label>
                <input id="suspend-reason" name="reason" type="text" maxlength="500" />
                <button type="submit" class="button danger">"Suspend application"</button>
            </form>
        }
        .into_any()
    } else if app.suspended_by_admin && !app.role.is_empty() {
        view! {
            <div class="danger-form">
                <h3>"Reactivate"</h3>
                <p>"A platform administrator suspended this application; contact the platform team to reactivate it."</p>
            </div>
        }
        .into_any()
    } else {
        view! {
            <form method="post" action=format!("{base}/reactivate") class="form danger-form">
                {csrf_input(&csrf)}
                <h3>"Reactivate"</h3>
                <p>"The application can get access tokens again."</p>
                <button type="submit" class="button">"Reactivate application"</button>
            </form>
        }
        .into_any()
    };
    view! {
        <section class="section danger-zone" aria-labelledby="danger-title">
            <h2 id="danger-title">"Danger zone"</h2>
            {toggle}
            <form method="post" action=format!("{base}/delete") class="form danger-form"
                data-confirm="Delete this application for good? Its secrets, keys and scope requests are deleted.">
                {csrf_input(&csrf)}
                <h3>"Delete"</h3>
                <p>
                    "Deletes the application, its client secrets, API keys and scope requests. "
                    "The request log and the audit trail keep their history. This cannot be undone."
                </p>
                <label for="confirm-name">{format!("Type the application name ({}) to confirm", app.name)}</label>
                <input id="confirm-name" name="confirm_name" type="text" required autocomplete="off" />
                <button type="submit" class="button danger">"Delete application"</button>
            </form>
        </section>
    }
    .into_any()
}
