use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn Applications() -> impl IntoView {
    view! {
        <Title text="Applications" />
        <h1>"Applications"</h1>
        <div class="panel">
            <p>"Sign in to register applications and manage their credentials, scopes and keys."</p>
            <A href="/signin" attr:class="button primary">"Sign in"</A>
        </div>
    }
}

#[component]
pub fn NewApplication() -> impl IntoView {
    view! { <h1>"Register an application"</h1> }
}

#[component]
pub fn ApplicationDetail() -> impl IntoView {
    view! { <h1>"Application"</h1> }
}
