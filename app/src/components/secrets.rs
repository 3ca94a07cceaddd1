use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A secret shown exactly once (client secret, API key, invitation link).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownOnce {
    pub label: String,
    pub value: String,
}

/// The "copy it now" panel. Fields are read-only inputs (easy to select and copy without
/// JavaScript); the enhancement script adds Copy buttons.
#[component]
pub fn ShownOncePanel(items: Vec<ShownOnce>) -> impl IntoView {
    (!items.is_empty()).then(|| {
        view! {
            <section class="panel shown-once" data-testid="shown-once" aria-labelledby="shown-once-title">
                <h2 id="shown-once-title">"Copy these now"</h2>
                <p class="warning">
                    <strong>"You will not see this again."</strong>
                    " Portico keeps only a fingerprint. Store it in your secret manager before you leave this page."
                </p>
                {items
                    .into_iter()
                    .map(|item| {
                        let id = format!(
                            "secret-{}",
                            item.label.to_lowercase().replace(' ', "-")
                        );
                        view! {
                            <label for=id.clone()>{item.label.clone()}</label>
                            <input id=id type="text" readonly value=item.value data-copy=""
                                aria-label=item.label class="mono" spellcheck="false" autocomplete="off" />
                        }
                    })
                    .collect_view()}
            </section>
        }
    })
}
