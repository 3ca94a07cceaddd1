//! `/docs/sdks`: the SDKs generated from the API models, served by this portal: for each API
//! version and language the install command, the files with their SHA-256, a quick start,
//! and what changed from the version before.

use super::docs::{DocsUnavailable, StateBadge, site};
use leptos::prelude::*;
use leptos_meta::Title;
use portico_docsite::DocSite;
use portico_docsite::highlight::code_block;
use portico_sdk::{Language, Package, VersionSdks};

#[component]
pub fn SdksPage() -> impl IntoView {
    let Some(docs) = site() else {
        return view! { <Title text="SDKs" /> <DocsUnavailable /> }.into_any();
    };
    let versions = docs
        .sdks()
        .iter()
        .map(|sdks| version_section(&docs, sdks))
        .collect_view();
    let first = docs.sdks().first().map(|s| s.api.version.clone());
    view! {
        <Title text="SDKs" />
        <article class="doc sdks">
            <p class="breadcrumbs"><a href="/docs">"Docs"</a> " › SDKs"</p>
            <h1>"SDKs"</h1>
            <p class="lead">
                "TypeScript and Python packages generated from the same API models as the "
                <a href="/reference">"API reference"</a>
                " and the sandbox. They fetch, cache and refresh your access token, retry throttled and "
                "unavailable calls with the same idempotency key, page through lists, and raise one "
                "error class per error type. Install them straight from this portal: no public registry needed."
            </p>
            <nav aria-label="SDK versions" class="toc">
                <ul>
                    {docs.sdks().iter().map(|s| {
                        let v = s.api.version.clone();
                        view! { <li><a href=format!("#{v}")>{format!("API {v}")}</a></li> }
                    }).collect_view()}
                    <li><a href="#pinning">"Pinning a version"</a></li>
                    <li><a href="#changelog">"Changelog"</a></li>
                </ul>
            </nav>
            {versions}
            <h2 id="pinning">"Pinning a version"</h2>
            <p>
                "The SDK's major version is the API version's number ("
                {first.map(|v| view! { <code>{v}</code> })}
                " → 2.x); its minor and patch versions follow the model's " <code>"info.version"</code>
                ". Each file name carries its version, so installing a file name pins it; "
                <code>"latest.tgz"</code> " always redirects to the newest TypeScript package of that API version. "
                "npm records the file's integrity in " <code>"package-lock.json"</code>
                "; for pip, put the file's URL and the SHA-256 shown above in a requirements file ("
                <code>"portico-commercial @ URL --hash=sha256:…"</code> ") and install it with "
                <code>"pip install --require-hashes -r requirements.txt"</code> "."
            </p>
            <h2 id="changelog">"Changelog"</h2>
            {changelog(&docs)}
        </article>
    }
    .into_any()
}

fn version_section(docs: &DocSite, sdks: &VersionSdks) -> impl IntoView + use<> {
    let version = sdks.api.version.clone();
    let state = docs.version(&version).map(|v| v.state.clone());
    let packages = sdks
        .packages
        .iter()
        .map(|package| package_section(docs.portal_url(), &version, package))
        .collect_view();
    view! {
        <section class="sdk-version" id=version.clone()>
            <h2>
                {format!("API {version}")} " "
                {state.map(|state| view! { <StateBadge state /> })}
            </h2>
            <p>
                {format!("{} operations, generated from ", sdks.api.operations.len())}
                <a href=format!("/reference/{version}")>{format!("the {version} model")}</a>
                " (SHA-256 " <code class="hash">{sdks.model_sha256.clone()}</code> ")."
            </p>
            {packages}
        </section>
    }
}

fn package_section(portal: &str, version: &str, package: &Package) -> impl IntoView + use<> {
    let language = package.language;
    let slug = language.slug();
    let install = package.install_command(portal, version).unwrap_or_default();
    let run = package.run_command(portal, version);
    let run_note = match language {
        Language::TypeScript => {
            "Then run the quick start below (Node 18 or newer) with CLIENT_ID, CLIENT_SECRET and API_KEY set to your application's credentials:"
        }
        Language::Python => {
            "Then run the quick start below (Python 3.9 or newer) with CLIENT_ID, CLIENT_SECRET and API_KEY set to your application's credentials:"
        }
    };
    let fence = match language {
        Language::TypeScript => "typescript",
        Language::Python => "python",
    };
    let rows = package
        .artifacts
        .iter()
        .map(|a| {
            let href = language.file_path(version, &a.file_name);
            view! {
                <tr>
                    <td><a href=href download="">{a.file_name.clone()}</a></td>
                    <td>{format!("{:.1} KB", a.bytes.len() as f64 / 1024.0)}</td>
                    <td><code class="hash">{a.sha256.clone()}</code></td>
                </tr>
            }
        })
        .collect_view();
    let heading_id = format!("{version}-{slug}");
    let table_label = format!("{} {version} files", language.label());
    view! {
        <section class="sdk-package" data-language=slug>
            <h3 id=heading_id>{language.label()} " " <code>{package.name.clone()}</code> " " {package.version.clone()}</h3>
            <p>"Install it into your project:"</p>
            <div class="code-wrap"><pre class="install" tabindex="0"><code>{install}</code></pre></div>
            <div class="table-wrap" tabindex="0" role="region" aria-label=table_label>
                <table class="sdk-files">
                    <thead><tr><th scope="col">"File"</th><th scope="col">"Size"</th><th scope="col">"SHA-256"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p>{run_note}</p>
            <div class="code-wrap"><pre class="run" tabindex="0"><code>{run}</code></pre></div>
            <div class="code-wrap quick-start" inner_html=code_block(&package.quick_start, fence)></div>
        </section>
    }
}

/// Per API version: the SDK's version and what it adds over the version before.
fn changelog(docs: &DocSite) -> impl IntoView + use<> {
    let entries = docs
        .sdks()
        .iter()
        .map(|sdks| {
            let version = sdks.api.version.clone();
            let package_version = sdks
                .packages
                .first()
                .map(|p| p.version.clone())
                .unwrap_or_default();
            let change = docs.changelogs().iter().find(|c| c.to == version).map(|c| {
                let anchor = format!("/changelog#{}-{}", c.from, c.to);
                let breaking = c.breaking_count();
                let from = c.from.clone();
                view! {
                    " Follows the API's changes from " {from} ": "
                    <a href=anchor>{format!("{breaking} breaking changes")}</a> "."
                }
            });
            let methods = sdks
                .api
                .operations
                .iter()
                .map(|op| op.id.clone())
                .collect::<Vec<_>>()
                .join(", ");
            view! {
                <li>
                    <strong>{format!("{package_version} (API {version})")}</strong>
                    {format!(": one method per operation ({methods}), typed errors, token handling, retries and pagination.")}
                    {change}
                </li>
            }
        })
        .collect_view();
    view! { <ul class="sdk-changelog">{entries}</ul> }
}
