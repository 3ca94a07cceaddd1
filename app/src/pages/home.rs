use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn Home() -> impl IntoView {
    let site = crate::SiteInfo::current();
    let token_example = format!(
        "curl -s -u \"$CLIENT_ID:$CLIENT_SECRET\" \\\n  -d grant_type=client_credentials \\\n  {}/oauth2/token",
        site.sandbox_url
    );
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Build on the Commercial API"</h1>
            <p class="lead">
                "Register an application, get OAuth 2.0 client credentials and call a sandbox that "
                "enforces exactly the same tokens and authorization rules as production, on "
                "synthetic data that belongs to your organisation alone."
            </p>
            <div class="actions">
                <A href="/docs" attr:class="button primary">"Read the docs"</A>
                <A href="/apps" attr:class="button">"Register an application"</A>
            </div>
        </section>
        <section class="features" aria-label="What you get">
            <article class="card">
                <h2>"A sandbox that behaves"</h2>
                <p>
                    "Orders, quotes and products per partner tenant, with the same JWT checks, "
                    "usage plans and error bodies you will meet in production."
                </p>
            </article>
            <article class="card">
                <h2>"Standard OAuth 2.0"</h2>
                <p>
                    "Client credentials, short-lived JWT access tokens, published signing keys "
                    "and secret rotation without downtime."
                </p>
            </article>
            <article class="card">
                <h2>"Your own telemetry"</h2>
                <p>
                    "Request logs, usage, webhook deliveries and deprecation notices for your "
                    "applications, in one place."
                </p>
            </article>
        </section>
        <section class="quickstart">
            <h2>"Get a token in one call"</h2>
            <pre tabindex="0"><code>{token_example}</code></pre>
        </section>
    }
}
