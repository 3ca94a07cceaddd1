//! `/reference[/{version}]` (a version's operations by tag) and
//! `/reference/{version}/{operation}` (one operation, with its "Try it" form).

use super::data::*;
use super::routes;
use crate::pages::docs::{DocsUnavailable, SearchBox, StateBadge, VersionLink, not_found, site};
use crate::pages::route;
use crate::viewer::{CsrfField, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use portico_docsite::OperationDoc;
use portico_docsite::reference::{BodyDoc, ParameterDoc, TagGroup};
use portico_docsite::schema::SchemaRow;

fn version_param(name: &str) -> String {
    leptos_router::hooks::use_params_map()
        .read_untracked()
        .get(name)
        .unwrap_or_default()
}

#[component]
pub fn ReferenceIndex() -> impl IntoView {
    let version = version_param("version");
    let Some(docs) = site() else {
        return view! { <DocsUnavailable /> }.into_any();
    };
    let found = if version.is_empty() {
        docs.current_version()
    } else {
        docs.version(&version)
    };
    match found {
        Some(v) => {
            let page = ReferencePageData {
                version: v.clone(),
                choices: choices(&docs, None),
            };
            view! { <VersionIndex page /> }.into_any()
        }
        None => view! { <ReferenceNotFound /> }.into_any(),
    }
}

#[component]
fn ReferenceNotFound() -> impl IntoView {
    not_found();
    view! {
        <Title text="Not in the reference" />
        <h1>"Not in the API reference"</h1>
        <p>"There is no such version or operation. " <A href="/reference">"Open the current reference"</A> " or " <A href="/search">"search"</A> "."</p>
    }
}

#[component]
fn VersionSwitcher(choices: Vec<VersionChoice>, current: String) -> impl IntoView {
    let links = choices
        .into_iter()
        .map(|c| {
            let here = c.version.name == current;
            let title = if c.has_operation || here {
                format!("{} ({})", c.version.name, c.version.state_label())
            } else {
                format!(
                    "{} ({}; not in this version)",
                    c.version.name,
                    c.version.state_label()
                )
            };
            view! {
                <li>
                    <a
                        href=c.href
                        class=if here { "version current-version" } else { "version" }
                        aria-current=here.then_some("page")
                        data-version=c.version.name
                    >
                        {title}
                    </a>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="version-switcher" aria-label="API version">
            <span>"Version: "</span>
            <ul>{links}</ul>
        </nav>
    }
}

impl VersionLink {
    fn state_label(&self) -> &'static str {
        self.state.label()
    }
}

#[component]
fn VersionIndex(page: ReferencePageData) -> impl IntoView {
    let version = page.version;
    let name = version.name.clone();
    let groups = version
        .tags
        .iter()
        .map(|tag| {
            let rows = tag
                .operations
                .iter()
                .map(|op| {
                    view! {
                        <tr>
                            <td><span class=format!("method {}", op.method.to_lowercase())>{op.method.clone()}</span></td>
                            <td><a href=format!("/reference/{name}/{}", op.id)><code>{op.path.clone()}</code></a></td>
                            <td>{op.summary.clone()} {op.deprecated.then(|| view! { " " <span class="badge deprecated">"deprecated"</span> })}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <section class="tag-group">
                    <h2 id=portico_docsite::markdown::slug(&tag.name)>{tag.name.clone()}</h2>
                    <div inner_html=tag.description_html.clone()></div>
                    <div class="table-wrap" tabindex="0" role="region" aria-label="Operations"><table class="operations"><tbody>{rows}</tbody></table></div>
                </section>
            }
        })
        .collect_view();
    view! {
        <Title text=format!("API reference {}", version.name) />
        <div class="docs-layout">
            <OperationNav nav=version.tags.clone() version=version.name.clone() current=String::new() />
            <article class="doc">
                <p class="breadcrumbs"><a href="/docs">"Docs"</a> " › API reference"</p>
                <h1>{version.title.clone()} " " <StateBadge state=version.state.clone() /></h1>
                <VersionSwitcher choices=page.choices current=version.name.clone() />
                <SearchBox />
                <div class="prose" inner_html=version.description_html.clone()></div>
                <p class="downloads">
                    "Downloads: "
                    <a href=format!("/downloads/{}/openapi.json", version.name)>"OpenAPI document"</a>
                    " · "
                    <a href=format!("/downloads/{}/postman_collection.json", version.name)>"Postman collection"</a>
                    " · "
                    <a href="/downloads/sandbox.postman_environment.json">"Postman environment"</a>
                    " · "
                    <a href="/changelog">"Changelog"</a>
                </p>
                {groups}
                <WebhookEvents events=version.webhooks.clone() />
            </article>
        </div>
    }
}

/// The version's webhook events (the model's `webhooks` section) with their payloads.
#[component]
fn WebhookEvents(events: Vec<portico_docsite::reference::WebhookDoc>) -> impl IntoView {
    if events.is_empty() {
        return ().into_any();
    }
    let items = events
        .into_iter()
        .map(|event| {
            let anchor = format!("webhook-{}", event.name.replace('.', "-"));
            let schema = event.payload.schema_name.clone().unwrap_or_default();
            view! {
                <section class="webhook-event">
                    <h3 id=anchor><code>{event.name}</code></h3>
                    <p>{event.summary}</p>
                    <div class="prose" inner_html=event.description_html></div>
                    <p>"Payload " <code>{schema}</code> ":"</p>
                    <SchemaTable rows=event.payload.rows />
                </section>
            }
        })
        .collect_view();
    view! {
        <section class="tag-group webhooks">
            <h2 id="webhooks">"Webhooks"</h2>
            <p>
                "Events sent to your endpoints (POST, signed with Standard Webhooks headers). "
                <a href="/docs/webhooks">"How to receive and verify them"</a> "."
            </p>
            {items}
        </section>
    }
    .into_any()
}

#[component]
fn OperationNav(nav: Vec<TagGroup>, version: String, current: String) -> impl IntoView {
    let groups = nav
        .into_iter()
        .map(|tag| {
            let items = tag
                .operations
                .into_iter()
                .map(|op| {
                    let here = op.id == current;
                    view! {
                        <li>
                            <a
                                href=format!("/reference/{version}/{}", op.id)
                                aria-current=here.then_some("page")
                            >
                                <span class=format!("method {}", op.method.to_lowercase())>{op.method.clone()}</span>
                                " " {op.summary}
                            </a>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <p class="nav-heading">{tag.name}</p>
                <ul>{items}</ul>
            }
        })
        .collect_view();
    view! {
        <nav class="docs-nav" aria-label="Operations">
            <p class="nav-heading"><a href="/docs">"Guides"</a></p>
            {groups}
        </nav>
    }
}

#[component]
pub fn OperationView() -> impl IntoView {
    let version = version_param("version");
    let operation = version_param("operation");
    let Some(docs) = site() else {
        return view! { <DocsUnavailable /> }.into_any();
    };
    let Some((found, op)) = docs
        .version(&version)
        .and_then(|v| Some((v, v.operation(&operation)?)))
    else {
        return view! { <ReferenceNotFound /> }.into_any();
    };
    let page = OperationPageData {
        operation: op.clone(),
        nav: found.tags.clone(),
        choices: choices(&docs, Some(&operation)),
        result: try_it_result(),
    };
    view! { <OperationArticle page /> }.into_any()
}

#[component]
fn OperationArticle(page: OperationPageData) -> impl IntoView {
    let op = page.operation;
    let params = op.parameters.clone();
    let request_body = op.request_body.clone();
    let errors = op.errors.clone();
    let samples = op.samples.clone();
    let responses = op.responses.clone();
    let badge = op.deprecated.then(|| match &op.sunset {
        Some(date) => view! { <span class="badge deprecated">{format!("deprecated · sunset on {date}")}</span> }.into_any(),
        None => view! { <span class="badge deprecated">"deprecated"</span> }.into_any(),
    });
    let scopes = op
        .scopes
        .iter()
        .map(|s| view! { <code class="scope">{s.clone()}</code> " " })
        .collect_view();
    let response_views = responses
        .into_iter()
        .map(|r| {
            let headers = (!r.headers.is_empty()).then(|| {
                let rows = r
                    .headers
                    .into_iter()
                    .map(|(name, description)| view! { <li><code>{name}</code> " — " {description}</li> })
                    .collect_view();
                view! { <p>"Headers:"</p> <ul>{rows}</ul> }
            });
            view! {
                <section class="response">
                    <h3><span class="status ok">{r.status}</span></h3>
                    <div inner_html=r.description_html></div>
                    {headers}
                    {r.body.map(|body| view! { <Body body /> })}
                </section>
            }
        })
        .collect_view();
    let error_rows = errors
        .into_iter()
        .map(|e| {
            view! {
                <tr>
                    <td><span class="status error">{e.status}</span></td>
                    <td>{e.types.into_iter().map(|t| { let anchor = format!("/docs/errors#{}", t.to_lowercase()); view! { <a href=anchor><code>{t}</code></a> " " } }).collect_view()}</td>
                    <td>
                        <div inner_html=e.description_html></div>
                        <details><summary>"Example body"</summary><div inner_html=e.example_html></div></details>
                    </td>
                </tr>
            }
        })
        .collect_view();
    // CSS-only tabs (works without JavaScript): one radio per sample, each panel shown while
    // its radio is checked; the SDKs come first.
    let tab_name = format!("samples-{}", op.id);
    let tab_radios = samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let id = format!("sample-tab-{}", s.key);
            view! {
                <input type="radio" class="tab-radio" name=tab_name.clone() id=id.clone() checked=i == 0 />
                <label for=id class="tab-label">{s.label.clone()}</label>
            }
        })
        .collect_view();
    let sample_views = samples
        .into_iter()
        .map(|s| {
            view! {
                <section class="sample" data-language=s.key>
                    <h3 class="visually-hidden">{s.label}</h3>
                    <div class="code-wrap" inner_html=s.html></div>
                </section>
            }
        })
        .collect_view();
    let title = format!("{} · {}", op.summary, op.version);
    view! {
        <Title text=title />
        <div class="docs-layout">
            <OperationNav nav=page.nav version=op.version.clone() current=op.id.clone() />
            <article class="doc operation" data-operation=op.id.clone()>
                <p class="breadcrumbs">
                    <a href="/docs">"Docs"</a> " › "
                    <a href=format!("/reference/{}", op.version)>{format!("API reference {}", op.version)}</a>
                    " › " {op.tag.clone()}
                </p>
                <h1>{op.summary.clone()} " " {badge}</h1>
                <p class="endpoint">
                    <span class=format!("method {}", op.method.to_lowercase())>{op.method.clone()}</span>
                    " " <code class="path">{op.path.clone()}</code>
                    " " <code class="operation-id">{op.id.clone()}</code>
                </p>
                <VersionSwitcher choices=page.choices current=op.version.clone() />
                <div class="operation-columns">
                <div class="operation-main">
                <div class="prose" inner_html=op.description_html.clone()></div>

                <h2 id="authorization">"Authorization"</h2>
                <dl class="facts">
                    <dt>"Required scopes"</dt><dd>{scopes}</dd>
                    <dt>"Cedar action"</dt><dd><code>{op.action.clone()}</code></dd>
                    <dt>"Rate limits"</dt>
                    <dd>
                        "Counts against your application's usage plan (burst, rate and period quota). Over a limit: 429 "
                        <code>"ThrottlingException"</code> " or " <code>"LimitExceededException"</code>
                        " with " <code>"Retry-After"</code> ", " <code>"RateLimit"</code> " and " <code>"RateLimit-Policy"</code>
                        " headers. See " <a href="/docs/rate-limits">"Rate limits and quotas"</a> "."
                    </dd>
                </dl>

                {(!params.is_empty()).then(|| view! {
                    <h2 id="parameters">"Parameters"</h2>
                    <Parameters params=params.clone() />
                })}
                {request_body.map(|body| view! {
                    <h2 id="request-body">"Request body"</h2>
                    <Body body />
                })}
                <h2 id="responses">"Responses"</h2>
                {response_views}
                <h2 id="errors">"Errors"</h2>
                <div class="table-wrap" tabindex="0" role="region" aria-label="Errors"><table class="errors">
                    <thead><tr><th scope="col">"Status"</th><th scope="col">"Type"</th><th scope="col">"When"</th></tr></thead>
                    <tbody>{error_rows}</tbody>
                </table></div>
                <TryIt op=op.clone() result=page.result />
                </div>
                <aside class="operation-samples" aria-labelledby="samples">
                <h2 id="samples">"Code samples"</h2>
                <p>
                    "Set " <code>"CLIENT_ID"</code> ", " <code>"CLIENT_SECRET"</code> " and " <code>"API_KEY"</code>
                    " in your environment (from " <a href="/apps">"your application"</a> "). The SDKs fetch and refresh the access token for you; the other samples fetch one first."
                </p>
                <fieldset class="sample-tabs">
                    <legend class="visually-hidden">"Sample language"</legend>
                    {tab_radios}
                    {sample_views}
                </fieldset>
                </aside>
                </div>
            </article>
        </div>
    }
}

#[component]
fn Parameters(params: Vec<ParameterDoc>) -> impl IntoView {
    let rows = params
        .into_iter()
        .map(|p| {
            view! {
                <tr>
                    <td><code>{p.name}</code> {p.required.then(|| view! { " " <span class="required">"required"</span> })}</td>
                    <td>{p.location}</td>
                    <td><code>{p.type_label}</code></td>
                    <td>
                        <div inner_html=p.description_html></div>
                        <Constraints items=p.constraints />
                        {p.example.map(|e| view! { <p class="example">"Example: " <code>{e}</code></p> })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Parameters"><table class="schema">
            <thead><tr><th scope="col">"Name"</th><th scope="col">"In"</th><th scope="col">"Type"</th><th scope="col">"Description"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table></div>
    }
}

#[component]
fn Constraints(items: Vec<String>) -> impl IntoView {
    (!items.is_empty()).then(|| {
        let list = items
            .into_iter()
            .map(|c| view! { <li>{c}</li> })
            .collect_view();
        view! { <ul class="constraints">{list}</ul> }
    })
}

#[component]
fn Body(body: BodyDoc) -> impl IntoView {
    let header = view! {
        <p class="body-meta">
            <code>{body.content_type.clone()}</code>
            {body.schema_name.clone().map(|n| view! { " · schema " <code>{n}</code> })}
            {body.required.then(|| view! { " · " <span class="required">"required"</span> })}
        </p>
    };
    view! {
        {header}
        <SchemaTable rows=body.rows />
        {body.example_html.map(|html| view! {
            <details class="example-body" open>
                <summary>"Example"</summary>
                <div inner_html=html></div>
            </details>
        })}
    }
}

#[component]
fn SchemaTable(rows: Vec<SchemaRow>) -> impl IntoView {
    let rows = rows
        .into_iter()
        .map(|row| {
            let indent = format!("depth-{}", row.depth.min(8));
            view! {
                <tr class=if row.recursive { "recursive" } else { "" }>
                    <td class=indent>
                        <code title=row.path.clone()>{row.name}</code>
                        {row.required.then(|| view! { " " <span class="required">"required"</span> })}
                    </td>
                    <td><code>{row.type_label}</code></td>
                    <td>
                        <div inner_html=row.description_html></div>
                        <Constraints items=row.constraints />
                        {row.example.map(|e| view! { <p class="example">"Example: " <code>{e}</code></p> })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Fields"><table class="schema">
            <thead><tr><th scope="col">"Field"</th><th scope="col">"Type"</th><th scope="col">"Description"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table></div>
    }
}

#[component]
fn TryIt(op: OperationDoc, result: Option<TryItResult>) -> impl IntoView {
    let access = Resource::new(|| (), |()| try_it_applications());
    let result_view = result.map(|r| view! { <TryItAnswer result=r /> });
    view! {
        <h2 id="try-it">"Try it"</h2>
        {result_view}
        <Suspense fallback=|| view! { <p>"Loading your applications…"</p> }>
            {move || {
                let op = op.clone();
                Suspend::new(async move {
                    match access.await {
                        Ok(access) => view! { <TryItForm op access /> }.into_any(),
                        Err(_) => view! { <p>"Try it is unavailable right now."</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn TryItForm(op: OperationDoc, access: TryItAccess) -> impl IntoView {
    let viewer = Viewer::current();
    let action = route(routes::TRY_IT, &[&op.version, &op.id]);
    match access {
        TryItAccess::SignedOut => view! {
            <p>
                <a href="/signin">"Sign in"</a>
                " to send this request to the sandbox with one of your applications."
            </p>
        }
        .into_any(),
        TryItAccess::NoApplications => view! {
            <p><a href="/apps/new">"Register an application"</a> " to try this operation in the sandbox."</p>
        }
        .into_any(),
        TryItAccess::Ready { applications } => {
            let chosen = viewer.draft_value("application");
            let options = applications
                .into_iter()
                .map(|(id, name)| {
                    let selected = id == chosen;
                    view! { <option value=id selected=selected>{name}</option> }
                })
                .collect_view();
            let fields = op
                .parameters
                .iter()
                .filter(|p| matches!(p.location.as_str(), "path" | "query" | "header"))
                .map(|p| {
                    let field = format!("{}.{}", p.location, p.name);
                    let drafted = viewer.draft_value(&field);
                    let value = if drafted.is_empty() {
                        op.example
                            .path_params
                            .iter()
                            .chain(&op.example.query)
                            .chain(&op.example.headers)
                            .find(|(name, _)| *name == p.name)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    } else {
                        drafted
                    };
                    let id = format!("try-{}-{}", p.location, p.name);
                    view! {
                        <label for=id.clone()>
                            <code>{p.name.clone()}</code> " (" {p.location.clone()} ")"
                            {p.required.then(|| view! { " " <span class="required">"required"</span> })}
                        </label>
                        <input id=id type="text" name=field value=value required=p.location == "path" />
                    }
                })
                .collect_view();
            let body = op.request_body.as_ref().map(|_| {
                let drafted = viewer.draft_value("body");
                let text = if drafted.is_empty() {
                    op.example.body.clone().unwrap_or_default()
                } else {
                    drafted
                };
                view! {
                    <label for="try-body">"Request body (JSON)"</label>
                    <textarea id="try-body" name="body" rows="10" spellcheck="false">{crate::components::format::textarea_text(&text)}</textarea>
                }
            });
            view! {
                <form method="post" action=action class="try-it-form">
                    <CsrfField />
                    <label for="try-application">"Application"</label>
                    <select id="try-application" name="application">{options}</select>
                    {fields}
                    {body}
                    <label for="try-api-key">"API key (only if your usage plan requires one; never stored)"</label>
                    <input id="try-api-key" type="password" name="api_key_secret" autocomplete="off" />
                    <p class="hint">
                        "The portal fetches a short-lived token for the application and sends the call to the sandbox; your secret is not needed here."
                    </p>
                    <button type="submit" class="button primary">"Send to the sandbox"</button>
                </form>
            }
            .into_any()
        }
    }
}

#[component]
fn TryItAnswer(result: TryItResult) -> impl IntoView {
    let r = result;
    let headers = r
        .headers
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let status_class = if (200..300).contains(&r.status) {
        "status ok"
    } else {
        "status error"
    };
    view! {
        <section class="try-it-result" aria-live="polite" data-testid="try-it-result">
            <h3>"Response"</h3>
            <p>{format!("{} {} as {}", r.method, r.url, r.application)}</p>
            {match r.error {
                Some(error) => view! { <p class="flash error">{error}</p> }.into_any(),
                None => view! {
                    <p>"Status: " <span class=status_class data-testid="try-it-status">{r.status}</span></p>
                    <details><summary>"Headers"</summary><pre class="code" tabindex="0"><code>{headers}</code></pre></details>
                    <pre class="code" tabindex="0"><code data-testid="try-it-body">{r.body}</code></pre>
                }.into_any(),
            }}
        </section>
    }
}
