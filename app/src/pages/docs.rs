//! The public docs: the docs home, the Markdown guides, search and the changelog. Everything
//! comes from the in-memory [`portico_docsite::DocSite`] built at start-up; the HTML of guides
//! was sanitised when it was built.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use portico_docsite::changelog::{ChangeKind, Changelog};
use portico_docsite::markdown::TocEntry;
use portico_docsite::{DocSite, Guide, VersionState};
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

/// The docs of this installation. The portal renders on the server only (no client build),
/// so pages read the in-memory docs directly: nothing to fetch, nothing serialised into the page.
pub(crate) fn site() -> Option<std::sync::Arc<portico_docsite::DocSite>> {
    #[cfg(feature = "ssr")]
    {
        crate::server::portal().ok().map(|p| p.docs.current())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

pub(crate) fn guide_links(docs: &DocSite) -> Vec<GuideLink> {
    docs.guides()
        .iter()
        .map(|g| GuideLink {
            slug: g.slug.clone(),
            title: g.title.clone(),
            summary: g.summary.clone(),
        })
        .collect()
}

pub(crate) fn version_links(docs: &DocSite) -> Vec<VersionLink> {
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
pub(crate) fn not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}

#[component]
pub(crate) fn DocsUnavailable() -> impl IntoView {
    view! { <p class="banner degraded">"The docs are unavailable right now."</p> }
}

/// A state badge: current, deprecated (with its sunset date) or sunset.
#[component]
pub fn StateBadge(state: VersionState) -> impl IntoView {
    match state {
        VersionState::Current => view! { <span class="badge current">"current"</span> }.into_any(),
        VersionState::Deprecated { sunset, .. } => view! {
            <span class="badge deprecated">{format!("deprecated · sunset on {sunset}")}</span>
        }
        .into_any(),
        VersionState::Sunset { since } => {
            view! { <span class="badge sunset">{format!("retired on {since}")}</span> }.into_any()
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
    let Some(docs) = site() else {
        return view! { <Title text="Docs" /> <DocsUnavailable /> }.into_any();
    };
    let home = DocsHomeData {
        guides: guide_links(&docs),
        versions: version_links(&docs),
        changelogs: docs
            .changelogs()
            .iter()
            .map(|c| (c.from.clone(), c.to.clone(), c.breaking_count()))
            .collect(),
    };
    view! {
        <Title text="Docs" />
        <DocsHomeView home />
    }
    .into_any()
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
        <section class="panel sdk-callout" aria-labelledby="sdks-heading">
            <h2 id="sdks-heading">"SDKs"</h2>
            <p>
                "TypeScript and Python packages generated from these models, with token handling, retries, "
                "pagination and typed errors built in. Install them from this portal with one command: "
                <a href="/docs/sdks">"SDKs"</a> "."
            </p>
        </section>
        <h2>"Guides"</h2>
        <ul class="card-grid guides">{guides}</ul>
        <h2>"API reference"</h2>
        <div class="table-wrap" tabindex="0" role="region" aria-label="Versions"><table class="versions">
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
        </table></div>
        <p>
            <a href="/downloads/sandbox.postman_environment.json">"Postman environment for the sandbox"</a>
            " (the collections fetch and refresh their own token; set your client id and secret in it, or pass them to newman with "
            <code>"--env-var"</code> ")."
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
    let Some(docs) = site() else {
        return view! { <DocsUnavailable /> }.into_any();
    };
    match docs.guide(&slug) {
        Some(guide) => {
            let page = GuidePageData {
                guide: guide.clone(),
                guides: guide_links(&docs),
            };
            view! { <GuideArticle page /> }.into_any()
        }
        None => {
            not_found();
            view! {
                <Title text="Guide not found" />
                <h1>"Guide not found"</h1>
                <p>"There is no such guide. " <A href="/docs">"See all guides"</A> "."</p>
            }
            .into_any()
        }
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
    let results = match site() {
        None => view! { <DocsUnavailable /> }.into_any(),
        Some(_) if query.trim().is_empty() => {
            view! { <p>"Type a word or two: an operation, an error, a header."</p> }.into_any()
        }
        Some(docs) => {
            let hits = docs.search(&query);
            if hits.is_empty() {
                view! {
                    <p class="no-results">{format!("Nothing found for “{query}”. Try fewer or other words.")}</p>
                }
                .into_any()
            } else {
                let count = hits.len();
                let items = hits
                    .into_iter()
                    .map(|hit| {
                        view! {
                            <li class="search-hit">
                                <a href=hit.url.clone()>{hit.title}</a>
                                <span class="hit-kind">{hit.kind}</span>
                                <p>{hit.snippet}</p>
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <p>{format!("{count} result{}", if count == 1 { "" } else { "s" })}</p>
                    <ol class="search-results">{items}</ol>
                }
                .into_any()
            }
        }
    };
    view! {
        <Title text="Search" />
        <h1>"Search"</h1>
        <SearchBox value=query />
        {results}
    }
}

#[component]
pub fn ChangelogPage() -> impl IntoView {
    let logs = site().map(|docs| docs.changelogs().to_vec());
    view! {
        <Title text="Changelog" />
        <h1>"What changed between versions"</h1>
        <p class="lead">
            "Computed from the API models. Breaking changes need work on your side before you move; see "
            <a href="/docs/versioning">"Versioning and deprecation"</a> "."
        </p>
        {match logs {
            Some(logs) => logs.into_iter().map(|log| view! { <ChangelogView log /> }).collect_view().into_any(),
            None => view! { <DocsUnavailable /> }.into_any(),
        }}
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
                        " " <code>{op.operation_id}</code> " " <span class=class>{kind}</span>
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
