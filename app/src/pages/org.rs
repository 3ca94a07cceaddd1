use leptos::prelude::*;

#[component]
pub fn Organisation() -> impl IntoView {
    view! { <h1>"Organisation"</h1> }
}

#[component]
pub fn JoinOrganisation() -> impl IntoView {
    view! { <h1>"Join an organisation"</h1> }
}
