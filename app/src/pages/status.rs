use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentStatus {
    pub name: String,
    pub operational: bool,
}

/// The live state of the platform's components, as the status page shows it.
#[server]
pub async fn system_status() -> Result<Vec<ComponentStatus>, ServerFnError> {
    Ok(crate::server::system_status().await)
}

#[component]
pub fn Status() -> impl IntoView {
    let status = Resource::new(|| (), |()| system_status());
    view! {
        <Title text="Status" />
        <h1>"System status"</h1>
        <Suspense fallback=|| view! { <p>"Checking…"</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(components) => view! { <StatusBoard components /> }.into_any(),
                    Err(_) => view! {
                        <p class="banner degraded">"Status is unavailable right now."</p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn StatusBoard(components: Vec<ComponentStatus>) -> impl IntoView {
    let all_ok = components.iter().all(|c| c.operational);
    let (banner_class, banner) = if all_ok {
        ("banner operational", "All systems operational")
    } else {
        ("banner degraded", "Some systems are degraded")
    };
    view! {
        <p class=banner_class role="status">{banner}</p>
        <ul class="status-list">
            {components
                .into_iter()
                .map(|c| {
                    let (class, label) = if c.operational {
                        ("state operational", "Operational")
                    } else {
                        ("state degraded", "Degraded")
                    };
                    view! {
                        <li>
                            <span class="component">{c.name}</span>
                            <span class=class>{label}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
