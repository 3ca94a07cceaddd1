//! The portal's pages and components, rendered on the server by Leptos.
//!
//! Pages are plain server-rendered HTML that work with JavaScript off: links are links, forms
//! are forms. Server-only code (database access) sits behind the `ssr` feature in [`server`].

#![recursion_limit = "256"]

pub mod components;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
pub mod viewer;

use components::layout::Layout;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};
use pages::admin::{
    AdminApplications, AdminAudit, AdminHome, AdminIncident, AdminIncidents, AdminKeys,
    AdminPartners, AdminScopeRequests, AdminTraffic, AdminVersions,
};
use pages::apps::{ApplicationDetail, Applications, NewApplication};
use pages::deprecations::Deprecations;
use pages::docs::{ChangelogPage, Docs, GuideView, Search};
use pages::org::{JoinOrganisation, Organisation};
use pages::reference::{OperationView, ReferenceIndex};
use pages::request_log::{RequestDetail, RequestLog};
use pages::sdks::SdksPage;
use pages::signin::{AccountPassword, SignIn, SignUp};
use pages::usage::{ApplicationUsage, OrganisationUsage};
use pages::webhooks::WebhookEndpoint;
use pages::{home::Home, not_found::NotFound, status::Status};
use serde::{Deserialize, Serialize};

/// Where the stylesheet is served; the version busts caches on upgrade.
pub const STYLESHEET_PATH: &str = "/assets/portico.css";
/// The optional enhancement script (copy buttons, confirmations).
pub const SCRIPT_PATH: &str = "/assets/portico.js";

/// Facts about this installation the pages show (public URLs). Provided as context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub sandbox_url: String,
    pub version: String,
}

impl SiteInfo {
    pub fn current() -> Self {
        use_context::<SiteInfo>().unwrap_or_else(|| SiteInfo {
            sandbox_url: "http://127.0.0.1:4000".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
    }
}

/// The HTML document around the app. No hydration scripts: the portal is SSR-only.
pub fn shell() -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <MetaTags />
                <script src=format!("{SCRIPT_PATH}?v={}", env!("CARGO_PKG_VERSION")) defer></script>
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The `<title>` text for a page's own title ("Applications" → "Applications · Portico").
///
/// Every page's `<Title text=…/>` passes through this one formatter, which is why it escapes:
/// leptos_meta 0.8.7 writes the formatted title into the server-rendered `<head>` verbatim
/// (`ServerMetaContextOutput::inject_meta_context` pushes it between `<title>` tags unescaped,
/// unlike element text and attribute values), so an application named `</title><meta …>`
/// would otherwise become markup. In a browser build the string would go to `document.title`,
/// which takes plain text, hence `ssr` only.
pub fn document_title(page: &str) -> String {
    let title = if page.is_empty() {
        "Portico".to_owned()
    } else {
        format!("{page} · Portico")
    };
    #[cfg(feature = "ssr")]
    let title = portico_docsite::highlight::escape(&title);
    title
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let stylesheet = format!("{STYLESHEET_PATH}?v={}", env!("CARGO_PKG_VERSION"));
    // Every route renders in `Async` mode: the whole page is in the first response, so
    // clients without JavaScript see the same content as everyone else.
    view! {
        <Stylesheet id="portico" href=stylesheet />
        <Title formatter=|page: String| document_title(&page) />
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home ssr=SsrMode::Async />
                    <Route path=path!("/docs") view=Docs ssr=SsrMode::Async />
                    <Route path=path!("/docs/sdks") view=SdksPage ssr=SsrMode::Async />
                    <Route path=path!("/docs/:guide") view=GuideView ssr=SsrMode::Async />
                    <Route path=path!("/reference") view=ReferenceIndex ssr=SsrMode::Async />
                    <Route path=path!("/reference/:version") view=ReferenceIndex ssr=SsrMode::Async />
                    <Route path=path!("/reference/:version/:operation") view=OperationView ssr=SsrMode::Async />
                    <Route path=path!("/changelog") view=ChangelogPage ssr=SsrMode::Async />
                    <Route path=path!("/search") view=Search ssr=SsrMode::Async />
                    <Route path=path!("/apps") view=Applications ssr=SsrMode::Async />
                    <Route path=path!("/status") view=Status ssr=SsrMode::Async />
                    <Route path=path!("/deprecations") view=Deprecations ssr=SsrMode::Async />
                    <Route path=path!("/signin") view=SignIn ssr=SsrMode::Async />
                    <Route path=path!("/signup") view=SignUp ssr=SsrMode::Async />
                    <Route path=path!("/account/password") view=AccountPassword ssr=SsrMode::Async />
                    <Route path=path!("/org") view=Organisation ssr=SsrMode::Async />
                    <Route path=path!("/join") view=JoinOrganisation ssr=SsrMode::Async />
                    <Route path=path!("/apps/new") view=NewApplication ssr=SsrMode::Async />
                    <Route path=path!("/apps/:id") view=ApplicationDetail ssr=SsrMode::Async />
                    <Route path=path!("/apps/:id/webhooks/:endpoint") view=WebhookEndpoint ssr=SsrMode::Async />
                    <Route path=path!("/apps/:id/logs") view=RequestLog ssr=SsrMode::Async />
                    <Route path=path!("/apps/:id/usage") view=ApplicationUsage ssr=SsrMode::Async />
                    <Route path=path!("/org/usage") view=OrganisationUsage ssr=SsrMode::Async />
                    <Route path=path!("/apps/:id/logs/:request_id") view=RequestDetail ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=AdminHome ssr=SsrMode::Async />
                    <Route path=path!("/admin/partners") view=AdminPartners ssr=SsrMode::Async />
                    <Route path=path!("/admin/scope-requests") view=AdminScopeRequests ssr=SsrMode::Async />
                    <Route path=path!("/admin/applications") view=AdminApplications ssr=SsrMode::Async />
                    <Route path=path!("/admin/keys") view=AdminKeys ssr=SsrMode::Async />
                    <Route path=path!("/admin/versions") view=AdminVersions ssr=SsrMode::Async />
                    <Route path=path!("/admin/traffic") view=AdminTraffic ssr=SsrMode::Async />
                    <Route path=path!("/admin/incidents") view=AdminIncidents ssr=SsrMode::Async />
                    <Route path=path!("/admin/incidents/:id") view=AdminIncident ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit") view=AdminAudit ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}
