//! The public docs: the docs home, the Markdown guides, search and the changelog. Everything
//! comes from the in-memory [`portico_docsite::DocSite`] built at start-up; the HTML of guides
//! was sanitised when it was built.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use portico_docsite::changelog::{ChangeKind, Changelog};
use portico_docsite::markdown::TocEntry;
use portico_docsite::{Guide, SearchHit, VersionState};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuideLink {
    pub slug: String,
    pub title: String,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionLink {
    pub name: String,
    pub title: String,
    pub state: VersionState,
    pub operation_count: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocsHomeData {
    pub guides: Vec<GuideLink>,
    pub versions: Vec<VersionLink>,
    pub changelogs: Vec<(String, String, usize)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuidePageData {
    pub guide: Guide,
    pub guides: Vec<GuideLink>,
}

#[server]
pub async fn docs_home() -> Result<DocsHomeData, ServerFnError> {
    let docs = crate::server::portal()?.docs;
    Ok(DocsHomeData {
        guides: ssr::guide_links(&docs),
        versions: ssr::version_links(&docs),
        changelogs: docs
            .changelogs()
            .iter()
            .map(|c| (c.from.clone(), c.to.clone(), c.breaking_count()))
            .collect(),
    })
}

#[server]
pub async fn guide_page(slug: String) -> Result<Option<GuidePageData>, ServerFnError> {
    let docs = crate::server::portal()?.docs;
    Ok(docs.guide(&slug).map(|guide| GuidePageData {
        guide: guide.clone(),
        guides: ssr::guide_links(&docs),
    }))
}

#[server]
pub async fn search_docs(query: String) -> Result<Vec<SearchHit>, ServerFnError> {
    Ok(crate::server::portal()?.docs.search(&query))
}

#[server]
pub async fn changelogs() -> Result<Vec<Changelog>, ServerFnError> {
    Ok(crate::server::portal()?.docs.changelogs().to_vec())
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::{GuideLink, VersionLink};
    use portico_docsite::DocSite;

    pub fn guide_links(docs: &DocSite) -> Vec<GuideLink> {
        docs.guides()
            .iter()
            .map(|g| GuideLink {
                slug: g.slug.clone(),
                title: g.title.clone(),
                summary: g.summary.clone(),
            })
            .collect()
    }

    pub fn version_links(docs: &DocSite) -> Vec<VersionLink> {
        docs.versions()
            .iter()
            .map(|v| VersionLink {
                name: v.name.clone(),
                title: v.title.clone(),
                state: v.state.clone(),
                operation_count: v.operations.len(),
            })
            .collect()
    }

    /// Marks the response 404 (the page says what is missing).
    pub fn not_found() {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
}

/// A state badge: current, deprecated (with its sunset date) or sunset.
#[component]
pub fn StateBadge(state: VersionState) -> impl IntoView {
    match state {
        VersionState::Current => view! { <span class="badge current">"current"</span> }.into_any(),
        VersionState::Deprecated { sunset, .. } => view! {
            <span class="badge deprecated">"deprecated · sunset on " {sunset}</span>
        }
        .into_any(),
        VersionState::Sunset { since } => {
            view! { <span class="badge sunset">"retired on " {since}</span> }.into_any()
        }
    }
}

/// The search box (a plain GET form).
#[component]
pub fn SearchBox(#[prop(optional, into)] value: String) -> impl IntoView {
    view! {
        <form class="search-form" method="get" action="/search" role="search">
            <label for="docs-search" class="visually-hidden">"Search the docs"</label>
            <input
                id="docs-search"
                type="search"
                name="q"
                value=value
                placeholder="Search guides and API reference"
                maxlength="200"
            />
            <button type="submit" class="button">"Search"</button>
        </form>
    }
}

#[component]
pub fn Docs() -> impl IntoView {
    let data = Resource::new(|| (), |()| docs_home());
    view! {
        <Title text="Docs" />
        <Suspense fallback=|| view! { <p>"Loading the docs…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(home) => view! { <DocsHomeView home /> }.into_any(),
                    Err(_) => view! { <p class="banner degraded">"The docs are unavailable right now."</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DocsHomeView(home: DocsHomeData) -> impl IntoView {
    let site = crate::SiteInfo::current();
    let guides = home
        .guides
        .into_iter()
        .map(|g| {
            view! {
                <li class="card">
                    <h3><a href=format!("/docs/{}", g.slug)>{g.title}</a></h3>
                    <p>{g.summary}</p>
                </li>
            }
        })
        .collect_view();
    let versions = home
        .versions
        .into_iter()
        .map(|v| {
            let name = v.name.clone();
            let has_operations = v.operation_count > 0;
            view! {
                <tr>
                    <td>
                        {if has_operations {
                            view! { <a href=format!("/reference/{name}")>{v.name.clone()}</a> }.into_any()
                        } else {
                            view! { <span>{v.name.clone()}</span> }.into_any()
                        }}
                    </td>
                    <td>{v.title}</td>
                    <td><StateBadge state=v.state /></td>
                    <td>{v.operation_count}</td>
                    <td class="downloads">
                        {has_operations.then(|| view! {
                            <a href=format!("/downloads/{name}/openapi.json")>"OpenAPI"</a>
                            " · "
                            <a href=format!("/downloads/{name}/postman_collection.json")>"Postman collection"</a>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let changelogs = home
        .changelogs
        .into_iter()
        .map(|(from, to, breaking)| {
            view! {
                <li>
                    <a href=format!("/changelog#{from}-{to}")>{format!("What changed from {from} to {to}")}</a>
                    {format!(" ({breaking} breaking changes)")}
                </li>
            }
        })
        .collect_view();
    view! {
        <h1>"Documentation"</h1>
        <p class="lead">
            "Everything you need to go from an idea to your first sandbox call. The sandbox is at "
            <code>{site.sandbox_url}</code> "."
        </p>
        <SearchBox />
        <h2>"Guides"</h2>
        <ul class="card-grid guides">{guides}</ul>
        <h2>"API reference"</h2>
        <table class="versions">
            <thead>
                <tr>
                    <th scope="col">"Version"</th>
                    <th scope="col">"Title"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Operations"</th>
                    <th scope="col">"Downloads"</th>
                </tr>
            </thead>
            <tbody>{versions}</tbody>
        </table>
        <p>
            <a href="/downloads/sandbox.postman_environment.json">"Postman environment for the sandbox"</a>
            " (token request pre-wired; paste your client secret into it — it never leaves your machine)."
        </p>
        <h2>"Changes between versions"</h2>
        <ul>{changelogs}</ul>
    }
}

#[component]
pub fn GuideView() -> impl IntoView {
    let slug = leptos_router::hooks::use_params_map()
        .read_untracked()
        .get("guide")
        .unwrap_or_default();
    let data = Resource::new(move || slug.clone(), guide_page);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(page)) => view! { <GuideArticle page /> }.into_any(),
                    Ok(None) => {
                        #[cfg(feature = "ssr")]
                        ssr::not_found();
                        view! {
                            <Title text="Guide not found" />
                            <h1>"Guide not found"</h1>
                            <p>"There is no such guide. " <A href="/docs">"See all guides"</A> "."</p>
                        }.into_any()
                    }
                    Err(_) => view! { <p class="banner degraded">"The docs are unavailable right now."</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn GuideArticle(page: GuidePageData) -> impl IntoView {
    let current = page.guide.slug.clone();
    let nav = page
        .guides
        .into_iter()
        .map(|g| {
            let here = g.slug == current;
            view! {
                <li>
                    <a href=format!("/docs/{}", g.slug) aria-current=here.then_some("page")>{g.title}</a>
                </li>
            }
        })
        .collect_view();
    let guide = page.guide;
    view! {
        <Title text=guide.title.clone() />
        <div class="docs-layout">
            <nav class="docs-nav" aria-label="Guides">
                <p class="nav-heading">"Guides"</p>
                <ul>{nav}</ul>
                <p class="nav-heading"><a href="/reference">"API reference"</a></p>
                <p class="nav-heading"><a href="/changelog">"Changelog"</a></p>
            </nav>
            <article class="doc">
                <p class="breadcrumbs"><a href="/docs">"Docs"</a> " › " {guide.title.clone()}</p>
                <h1>{guide.title.clone()}</h1>
                <p class="lead">{guide.summary.clone()}</p>
                <Toc entries=guide.toc.clone() />
                <div class="prose" inner_html=guide.html></div>
            </article>
        </div>
    }
}

#[component]
fn Toc(entries: Vec<TocEntry>) -> impl IntoView {
    (!entries.is_empty()).then(|| {
        let items = entries
            .into_iter()
            .map(|e| {
                view! {
                    <li class=format!("toc-{}", e.level)>
                        <a href=format!("#{}", e.id)>{e.text}</a>
                    </li>
                }
            })
            .collect_view();
        view! {
            <nav class="toc" aria-label="On this page">
                <p class="nav-heading">"On this page"</p>
                <ul>{items}</ul>
            </nav>
        }
    })
}

#[component]
pub fn Search() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("q")
        .unwrap_or_default();
    let for_resource = query.clone();
    let hits = Resource::new(move || for_resource.clone(), search_docs);
    let shown = query.clone();
    view! {
        <Title text="Search" />
        <h1>"Search"</h1>
        <SearchBox value=query.clone() />
        <Suspense fallback=|| view! { <p>"Searching…"</p> }>
            {move || {
                let shown = shown.clone();
                Suspend::new(async move {
                    match hits.await {
                        Ok(hits) if shown.trim().is_empty() => {
                            let _ = hits;
                            view! { <p>"Type a word or two: an operation, an error, a header."</p> }.into_any()
                        }
                        Ok(hits) if hits.is_empty() => view! {
                            <p class="no-results">"Nothing found for “" {shown.clone()} "”. Try fewer or other words."</p>
                        }.into_any(),
                        Ok(hits) => {
                            let count = hits.len();
                            let items = hits.into_iter().map(|hit| view! {
                                <li class="search-hit">
                                    <a href=hit.url.clone()>{hit.title}</a>
                                    <span class="hit-kind">{hit.kind}</span>
                                    <p>{hit.snippet}</p>
                                </li>
                            }).collect_view();
                            view! {
                                <p>{format!("{count} result{}", if count == 1 { "" } else { "s" })}</p>
                                <ol class="search-results">{items}</ol>
                            }.into_any()
                        }
                        Err(_) => view! { <p class="banner degraded">"Search is unavailable right now."</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn ChangelogPage() -> impl IntoView {
    let data = Resource::new(|| (), |()| changelogs());
    view! {
        <Title text="Changelog" />
        <h1>"What changed between versions"</h1>
        <p class="lead">
            "Computed from the API models. Breaking changes need work on your side before you move; see "
            <a href="/docs/versioning">"Versioning and deprecation"</a> "."
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(logs) => logs.into_iter().map(|log| view! { <ChangelogView log /> }).collect_view().into_any(),
                    Err(_) => view! { <p class="banner degraded">"The changelog is unavailable right now."</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ChangelogView(log: Changelog) -> impl IntoView {
    let anchor = format!("{}-{}", log.from, log.to);
    let breaking = log.breaking_count();
    let to = log.to.clone();
    let from = log.from.clone();
    let operations = log
        .operations
        .into_iter()
        .map(|op| {
            let (kind, class) = match op.kind {
                ChangeKind::Added => ("added", "badge current"),
                ChangeKind::Removed => ("removed", "badge sunset"),
                ChangeKind::Changed => ("changed", "badge deprecated"),
            };
            let link_version = if op.kind == ChangeKind::Removed { from.clone() } else { to.clone() };
            let changes = op
                .changes
                .into_iter()
                .map(|c| {
                    view! {
                        <li class=if c.breaking { "change breaking" } else { "change" }>
                            {c.breaking.then(|| view! { <span class="badge breaking">"breaking"</span> " " })}
                            {c.text}
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="change-group">
                    <h3>
                        <a href=format!("/reference/{link_version}/{}", op.operation_id)>{op.summary}</a>
                        " " <code>{op.operation_id.clone()}</code> " " <span class=class>{kind}</span>
                    </h3>
                    <ul>{changes}</ul>
                </section>
            }
        })
        .collect_view();
    view! {
        <section class="changelog" id=anchor>
            <h2>{format!("{} → {}", log.from, log.to)}</h2>
            <p>{format!("{breaking} breaking changes.")}</p>
            {operations}
        </section>
    }
}
