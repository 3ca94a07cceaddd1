//! Admin console pages (being built).
use leptos::prelude::*;

#[component]
pub fn AdminHome() -> impl IntoView {
    view! { <h1>"Admin"</h1> }
}
#[component]
pub fn AdminPartners() -> impl IntoView {
    view! { <h1>"Partners"</h1> }
}
#[component]
pub fn AdminScopeRequests() -> impl IntoView {
    view! { <h1>"Scope requests"</h1> }
}
#[component]
pub fn AdminApplications() -> impl IntoView {
    view! { <h1>"Applications"</h1> }
}
#[component]
pub fn AdminKeys() -> impl IntoView {
    view! { <h1>"Signing keys"</h1> }
}
#[component]
pub fn AdminAudit() -> impl IntoView {
    view! { <h1>"Audit log"</h1> }
}
