use leptos::prelude::*;
use leptos_router::components::A;

/// Header with the main navigation, the page, and the footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let site = crate::SiteInfo::current();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <div class="container header-inner">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " Portico"
                </A>
                <nav aria-label="Main" class="main-nav">
                    <A href="/docs">"Docs"</A>
                    <A href="/apps">"Applications"</A>
                    <A href="/status">"Status"</A>
                    <A href="/signin" attr:class="nav-signin">"Sign in"</A>
                </nav>
            </div>
        </header>
        <main id="main" class="container">{children()}</main>
        <footer class="site-footer">
            <div class="container footer-inner">
                <span>"Portico " {site.version}</span>
                <span>
                    "Sandbox: " <code>{site.sandbox_url}</code>
                </span>
                <A href="/status">"System status"</A>
            </div>
        </footer>
    }
}
