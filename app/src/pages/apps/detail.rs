//! `/apps/{id}`: one application's page (overview, credentials, scopes, webhooks, settings and
//! danger zone), each change a form posting to one of [`routes`](super::routes).

use super::data::*;
use super::view::ProviderFields;
use super::{routes, status_badge};
use crate::components::format::textarea_text;
use crate::components::secrets::ShownOncePanel;
use crate::pages::org::error_text;
use crate::pages::route;
use crate::pages::webhooks::{FailingWebhooksBanner, WebhooksSection};
use crate::viewer::{CsrfField, SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;

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
                let draft = draft.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(app) => view! { <Detail app draft /> }.into_any(),
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
fn Detail(app: AppDetailData, draft: Viewer) -> impl IntoView {
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
    let client_id_hint = if app.client_auth.keys_only {
        "Not secret: it is the iss and sub of the client assertions this application signs."
    } else {
        "Not secret: send it with the client secret to the token endpoint."
    };
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
            <p class="hint">{client_id_hint}</p>
        </section>
        <Overview app=app.clone() />
        <Credentials
            title="Client secrets"
            noun="client secret"
            kind="secrets"
            add_label="Add secondary secret"
            rows=app.secrets.clone()
            app_id=app.id.clone()

            can_manage=app.can_manage_credentials && !app.client_auth.keys_only
        />
        <Credentials
            title="API keys"
            noun="API key"
            kind="api-keys"
            add_label="Add API key"
            rows=app.api_keys.clone()
            app_id=app.id.clone()

            can_manage=app.can_manage_credentials
        />
        <ClientAuthSection app=app.clone() />
        <ScopesSection app=app.clone() />
        <WebhooksSection
            app_id=app.id.clone()
            webhooks=app.webhooks.clone()
            can_manage=app.can_manage_credentials

            draft
        />
        <SettingsSection app=app.clone() />
        <DangerZone app />
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
fn Credentials(
    title: &'static str,
    noun: &'static str,
    kind: &'static str,
    add_label: &'static str,
    rows: Vec<CredentialRow>,
    app_id: String,
    can_manage: bool,
) -> impl IntoView {
    let live = rows.iter().filter(|r| r.live).count();
    let (add_route, primary_route, revoke_route) = if kind == "secrets" {
        (
            routes::SECRETS,
            routes::SECRET_PRIMARY,
            routes::SECRET_REVOKE,
        )
    } else {
        (
            routes::API_KEYS,
            routes::API_KEY_PRIMARY,
            routes::API_KEY_REVOKE,
        )
    };
    let heading_id = format!("{kind}-title");
    let add = can_manage.then(|| {
        if live < 2 {
            view! {
                <form method="post" action=route(add_route, &[&app_id]) class="inline-form">
                    <CsrfField />
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
                                    let ids = [app_id.as_str(), row.id.as_str()];
                                    let last = live == 1;
                                    let promote = (row.slot != "primary").then(|| view! {
                                        <form method="post" action=route(primary_route, &ids) class="inline-form">
                                            <CsrfField />
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
                                        <form method="post" action=route(revoke_route, &ids)
                                            class="inline-form" data-confirm=confirm>
                                            <CsrfField />
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
fn ScopesSection(app: AppDetailData) -> impl IntoView {
    let id = app.id.clone();
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
                                    <form method="post" action=route(routes::SCOPE_REQUEST_WITHDRAW, &[&id, &r.id])
                                        class="inline-form">
                                        <CsrfField />
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
                <form method="post" action=route(routes::SCOPE_REQUESTS, &[&id]) class="form request-scopes">
                    <CsrfField />
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

/// How the application proves who it is at the token endpoint: client secrets and/or
/// private_key_jwt keys, and the choice to refuse secrets altogether.
#[component]
fn ClientAuthSection(app: AppDetailData) -> impl IntoView {
    let auth = app.client_auth.clone();
    let can_manage = app.can_manage_credentials;
    let accepted = if auth.keys_only {
        "private_key_jwt only: client secrets are refused and none are stored."
    } else if auth.keys.is_empty() && auth.jwks_uri.is_empty() {
        "Client secret (HTTP Basic or in the form body). Register a public key to use private_key_jwt."
    } else {
        "Client secret (HTTP Basic or in the form body) or private_key_jwt."
    };
    let keys = if auth.keys.is_empty() {
        view! { <p class="muted">"No public keys registered."</p> }.into_any()
    } else {
        let app_id = app.id.as_str();
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Registered public keys">
                <table class="data-table">
                    <caption>"Registered public keys"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Key"</th>
                            <th scope="col">"kid"</th>
                            <th scope="col">"Thumbprint (RFC 7638)"</th>
                            <th scope="col">"Added"</th>
                            {can_manage.then(|| view! { <th scope="col">"Actions"</th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {auth
                            .keys
                            .iter()
                            .map(|key| {
                                let remove = can_manage.then(|| view! {
                                    <td class="row-actions">
                                        <form method="post"
                                            action=route(routes::CLIENT_KEY_REMOVE, &[app_id, key.id.as_str()])
                                            class="inline-form"
                                            data-confirm="Remove this key? Assertions signed with it are refused from now on.">
                                            <CsrfField />
                                            <button type="submit" class="button small danger">"Remove"</button>
                                        </form>
                                    </td>
                                });
                                view! {
                                    <tr data-client-key-id=key.id.clone()>
                                        <td>{key.label.clone()}</td>
                                        <td><code>{if key.kid.is_empty() { "—".to_owned() } else { key.kid.clone() }}</code></td>
                                        <td><code class="wrap">{key.thumbprint.clone()}</code></td>
                                        <td>{key.added.clone()}</td>
                                        {remove}
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
    let forms = can_manage.then(|| {
        let id = app.id.clone();
        let method_form = if auth.keys_only {
            view! {
                <form method="post" action=route(routes::CLIENT_AUTH, &[&id]) class="form">
                    <CsrfField />
                    <input type="hidden" name="method" value="secret_or_key" />
                    <h3>"Allow client secrets again"</h3>
                    <p>"You can then add a client secret, which is shown once."</p>
                    <button type="submit" class="button">"Allow client secrets"</button>
                </form>
            }
            .into_any()
        } else {
            view! {
                <form method="post" action=route(routes::CLIENT_AUTH, &[&id]) class="form"
                    data-confirm="Accept private_key_jwt only? Every client secret of this application is revoked now.">
                    <CsrfField />
                    <input type="hidden" name="method" value="private_key_jwt" />
                    <h3>"Accept private_key_jwt only"</h3>
                    <p>
                        "Every client secret of this application is revoked now, and no new one can be "
                        "added: someone who copies a stored secret has nothing to use."
                    </p>
                    <label class="check" for="confirm-keys-only">
                        <input type="checkbox" id="confirm-keys-only" name="confirm" value="yes" required />
                        " I understand that systems still using a client secret will be refused"
                    </label>
                    <button type="submit" class="button danger">"Refuse client secrets"</button>
                </form>
            }
            .into_any()
        };
        view! {
            <form method="post" action=route(routes::CLIENT_KEYS, &[&id]) class="panel form wide-form">
                <CsrfField />
                <label for="client-key">"Add a public key"</label>
                <textarea id="client-key" name="public_key" rows="6" class="mono" required
                    spellcheck="false" aria-describedby="client-key-hint"></textarea>
                <p id="client-key-hint" class="hint">
                    "A JWK, a JWK set ({\"keys\": [...]}) or a PEM \"PUBLIC KEY\": EC P-256 (ES256), "
                    "RSA of 2048 bits or more (RS256, PS256) or Ed25519 (EdDSA). Never paste a private key."
                </p>
                <button type="submit" class="button">"Register key"</button>
            </form>
            <form method="post" action=route(routes::JWKS_URI, &[&id]) class="panel form wide-form">
                <CsrfField />
                <label for="jwks-uri">"JWKS URL " <span class="optional">"(optional)"</span></label>
                <input id="jwks-uri" name="jwks_uri" type="url" class="mono" maxlength="2048"
                    value=auth.jwks_uri.clone() placeholder="https://keys.example.com/.well-known/jwks.json"
                    aria-describedby="jwks-uri-hint" />
                <p id="jwks-uri-hint" class="hint">
                    "Keys are also fetched from here (https, public addresses only) and refreshed when an "
                    "assertion names a kid we have not seen. Leave empty to use registered keys only."
                </p>
                <button type="submit" class="button">"Save JWKS URL"</button>
            </form>
            {method_form}
        }
    });
    view! {
        <section class="section" aria-labelledby="client-auth-title" id="client-authentication">
            <h2 id="client-auth-title">"Client authentication"</h2>
            <dl class="facts">
                <dt>"Accepted at the token endpoint"</dt>
                <dd data-testid="client-auth-methods">{accepted}</dd>
                <dt>"JWKS URL"</dt>
                <dd class="mono">{if auth.jwks_uri.is_empty() { "none".to_owned() } else { auth.jwks_uri.clone() }}</dd>
            </dl>
            {keys}
            {forms}
            <DpopSubsection app=app.clone() />
            <MtlsSubsection app=app.clone() />
            <p class="hint">
                "Which to choose, and working samples: "
                <a href="/docs/authentication#private-key-jwt-no-shared-secret-at-all">"the Authentication guide"</a> "."
            </p>
        </section>
    }
}

/// DPoP (RFC 9449): whether the application must bind its tokens to a key it proves on
/// every call.
#[component]
fn DpopSubsection(app: AppDetailData) -> impl IntoView {
    let required = app.client_auth.dpop_required;
    let state = if required {
        "required: only DPoP-bound tokens are issued and accepted"
    } else {
        "optional: a token request with a DPoP proof gets a bound token"
    };
    let form = app.can_edit_settings.then(|| {
        let (value, label, class) = if required {
            ("optional", "Stop requiring DPoP", "button")
        } else {
            ("required", "Require DPoP", "button primary")
        };
        view! {
            <form method="post" action=route(routes::DPOP, &[&app.id]) class="inline-form"
                data-confirm=(!required).then_some(
                    "Require DPoP? Bearer tokens this application already holds stop working at once.",
                )>
                <CsrfField />
                <input type="hidden" name="dpop" value=value />
                <button type="submit" class=class>{label}</button>
            </form>
            <p class="hint">
                "Required: token requests without a DPoP proof are refused, bearer tokens already "
                "issued stop working, and every call needs a proof with a server nonce."
            </p>
        }
    });
    view! {
        <h3 id="dpop-title">"Sender-constrained tokens (DPoP)"</h3>
        <dl class="facts" aria-labelledby="dpop-title">
            <dt>"DPoP"</dt>
            <dd data-testid="dpop-state">{state}</dd>
        </dl>
        {form}
    }
}

/// Mutual TLS (RFC 8705): the certificate the application authenticates with, and whether
/// its tokens are bound to it.
#[component]
fn MtlsSubsection(app: AppDetailData) -> impl IntoView {
    let auth = app.client_auth;
    let method = match auth.mtls_method.as_str() {
        "tls_client_auth" => format!(
            "tls_client_auth: a certificate from the trusted CA carrying {} {}",
            auth.mtls_subject_kind.to_uppercase(),
            auth.mtls_subject_value
        ),
        "self_signed_tls_client_auth" => format!(
            "self_signed_tls_client_auth: {}",
            auth.mtls_pinned.join(", ")
        ),
        _ => "off".to_owned(),
    };
    let bound = if auth.mtls_method.is_empty() && !auth.mtls_bound_tokens {
        "no"
    } else if auth.mtls_bound_tokens {
        "yes, every token requested with a client certificate"
    } else {
        "tokens of certificate-authenticated requests"
    };
    let form = app.can_manage_credentials.then(|| {
        let selected = |value: &str| auth.mtls_method == value;
        let kind_selected = |value: &str| auth.mtls_subject_kind == value;
        view! {
            <form method="post" action=route(routes::MTLS, &[&app.id]) class="panel form wide-form">
                <CsrfField />
                <fieldset>
                    <legend>"Certificate authentication"</legend>
                    <label class="check" for="mtls-off">
                        <input type="radio" id="mtls-off" name="method" value="off" checked=auth.mtls_method.is_empty() />
                        " Off"
                    </label>
                    <label class="check" for="mtls-ca">
                        <input type="radio" id="mtls-ca" name="method" value="tls_client_auth" checked=selected("tls_client_auth") />
                        " tls_client_auth: a certificate issued by the trusted CA"
                    </label>
                    <label class="check" for="mtls-self">
                        <input type="radio" id="mtls-self" name="method" value="self_signed_tls_client_auth" checked=selected("self_signed_tls_client_auth") />
                        " self_signed_tls_client_auth: a certificate (or key) you register below"
                    </label>
                </fieldset>
                <label for="mtls-subject-kind">"tls_client_auth: the certificate must carry"</label>
                <select id="mtls-subject-kind" name="subject_kind">
                    <option value="dn" selected=kind_selected("dn")>"Subject DN"</option>
                    <option value="dns" selected=kind_selected("dns")>"DNS name (SAN)"</option>
                    <option value="uri" selected=kind_selected("uri")>"URI (SAN)"</option>
                    <option value="email" selected=kind_selected("email")>"Email (SAN)"</option>
                    <option value="ip" selected=kind_selected("ip")>"IP address (SAN)"</option>
                </select>
                <label for="mtls-subject-value">"Value"</label>
                <input id="mtls-subject-value" name="subject_value" type="text" class="mono" maxlength="1024"
                    value=auth.mtls_subject_value.clone() placeholder="CN=orders.partner.example,O=Partner Ltd" />
                <label for="mtls-certificates">"self_signed_tls_client_auth: certificates or keys"</label>
                <textarea id="mtls-certificates" name="certificates" rows="5" class="mono" spellcheck="false"
                    aria-describedby="mtls-certificates-hint"></textarea>
                <p id="mtls-certificates-hint" class="hint">
                    "PEM certificates, a JWK or JWK set, a PEM public key, or x5t#S256 thumbprints; up to 5. "
                    "Saving replaces what is registered."
                </p>
                <label class="check" for="mtls-bound">
                    <input type="checkbox" id="mtls-bound" name="bound_tokens" value="yes" checked=auth.mtls_bound_tokens />
                    " Bind tokens to the client certificate whenever one is presented (also with a client secret)"
                </label>
                <button type="submit" class="button">"Save certificate settings"</button>
            </form>
        }
    });
    view! {
        <h3 id="mtls-title">"Mutual TLS"</h3>
        <dl class="facts" aria-labelledby="mtls-title">
            <dt>"Client certificate"</dt>
            <dd data-testid="mtls-method">{method}</dd>
            <dt>"Certificate-bound tokens"</dt>
            <dd>{bound}</dd>
        </dl>
        {form}
    }
}

#[component]
fn SettingsSection(app: AppDetailData) -> impl IntoView {
    if !app.can_edit_settings {
        return ().into_any();
    }
    view! {
        <section class="section" aria-labelledby="settings-title" id="settings">
            <h2 id="settings-title">"Settings"</h2>
            <form method="post" action=route(routes::SETTINGS, &[&app.id]) class="panel form wide-form">
                <CsrfField />
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
fn DangerZone(app: AppDetailData) -> impl IntoView {
    if !app.can_suspend_or_delete {
        return ().into_any();
    }
    let toggle = if app.status == "active" {
        view! {
            <form method="post" action=route(routes::SUSPEND, &[&app.id]) class="form danger-form"
                data-confirm="Suspend this application? The token endpoint refuses it until it is reactivated.">
                <CsrfField />
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
            <form method="post" action=route(routes::REACTIVATE, &[&app.id]) class="form danger-form">
                <CsrfField />
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
            <form method="post" action=route(routes::DELETE, &[&app.id]) class="form danger-form"
                data-confirm="Delete this application for good? Its secrets, keys and scope requests are deleted.">
                <CsrfField />
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
