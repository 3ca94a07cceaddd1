use crate::viewer::{CsrfField, FlashBanner, Viewer};
use leptos::prelude::*;
use leptos_router::components::A;

/// Header with the main navigation, the page, and the footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let site = crate::SiteInfo::current();
    let viewer = Viewer::current();
    let account = match viewer.user {
        Some(user) => {
            let admin = user
                .is_admin
                .then(|| view! { <A href="/admin">"Admin"</A> });
            let org = user
                .organisation
                .is_some()
                .then(|| view! { <A href="/org">"Organisation"</A> });
            view! {
                {org}
                {admin}
                <span class="current-user" data-testid="current-user" title="Signed in">
                    {user.email}
                </span>
                <form method="post" action=crate::pages::signin::routes::SIGN_OUT class="inline-form">
                    <CsrfField />
                    <button type="submit" class="link-button">"Sign out"</button>
                </form>
            }
            .into_any()
        }
        None => view! {
            <A href="/signin" attr:class="nav-signin">"Sign in"</A>
        }
        .into_any(),
    };
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
                    {account}
                </nav>
            </div>
        </header>
        <main id="main" class="container">
            <FlashBanner />
            {children()}
        </main>
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
