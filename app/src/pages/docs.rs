use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn Docs() -> impl IntoView {
    let site = crate::SiteInfo::current();
    let call_example = format!(
        "curl -s {}/v1/commercial/orders \\\n  -H \"Authorization: Bearer $ACCESS_TOKEN\"",
        site.sandbox_url
    );
    view! {
        <Title text="Docs" />
        <h1>"Documentation"</h1>
        <p class="lead">"Everything you need to go from an idea to your first sandbox call."</p>
        <ol class="steps">
            <li>
                <h2>"Register an application"</h2>
                <p>
                    "Sign in, open " <A href="/apps">"Applications"</A>
                    " and register one. Its client ID, client secret and API key are shown once: "
                    "store them in your secret manager straight away."
                </p>
            </li>
            <li>
                <h2>"Request an access token"</h2>
                <p>
                    "Exchange the client credentials for a short-lived JWT at "
                    <code>"/oauth2/token"</code> " (OAuth 2.0 client credentials grant)."
                </p>
            </li>
            <li>
                <h2>"Call the sandbox"</h2>
                <pre><code>{call_example}</code></pre>
                <p>
                    "Errors come back as JSON with " <code>"__type"</code> ", " <code>"message"</code>
                    " and " <code>"requestId"</code> ": quote the request id when you contact support."
                </p>
            </li>
        </ol>
    }
}
