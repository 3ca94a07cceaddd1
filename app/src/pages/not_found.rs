use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p>"The page you asked for does not exist or has moved."</p>
            <p>
                <A href="/" attr:class="button primary">"Go to the home page"</A>
                " "
                <A href="/docs" attr:class="button">"Browse the docs"</A>
            </p>
        </section>
    }
}
