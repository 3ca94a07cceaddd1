//! The "Webhooks" section of an application's page (its endpoints and the add form) and the
//! banner for endpoints disabled for failing.

use super::data::*;
use super::{enabled_badge, event_type_checks, routes, status_text};
use crate::pages::route;
use crate::viewer::{CsrfField, Viewer};
use leptos::prelude::*;

/// The banner at the top of an application's page for endpoints disabled for failing.
#[component]
#[expect(clippy::needless_pass_by_value, reason = "component props")]
pub fn FailingWebhooksBanner(urls: Vec<String>, disable_after: String) -> impl IntoView {
    (!urls.is_empty()).then(|| {
        view! {
            <div class="notice error" role="note" data-testid="failing-webhooks-banner">
                {urls
                    .into_iter()
                    .map(|url| view! {
                        <p>
                            {format!(
                                "Webhook endpoint {url} was disabled after {disable_after} of failed deliveries. Fix it and enable it again."
                            )}
                        </p>
                    })
                    .collect_view()}
            </div>
        }
    })
}

/// The "Webhooks" section of an application's page.
#[component]
#[expect(clippy::needless_pass_by_value, reason = "component props")]
pub fn WebhooksSection(
    app_id: String,
    webhooks: ApplicationWebhooks,
    can_manage: bool,
    /// The refused add form's fields, to fill it in again.
    draft: Viewer,
) -> impl IntoView {
    let base = format!("/apps/{app_id}/webhooks");
    let list = if webhooks.endpoints.is_empty() {
        view! {
            <p class="muted">
                "No webhook endpoints. Add one to receive this organisation's sandbox events "
                "(orders created, cancelled, updated) as signed HTTP POSTs."
            </p>
        }
        .into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Webhook endpoints">
                <table class="data-table webhooks-table">
                    <caption>"Webhook endpoints"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"URL"</th>
                            <th scope="col">"Event types"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Signing secret"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {webhooks
                            .endpoints
                            .into_iter()
                            .map(|endpoint| {
                                let href = format!("{base}/{}", endpoint.id);
                                let status = status_text(&endpoint);
                                let badge = enabled_badge(&endpoint);
                                let secret = match &endpoint.rotating_until {
                                    Some(until) => format!("rotating until {until}"),
                                    None => "one secret".to_owned(),
                                };
                                view! {
                                    <tr data-endpoint-id=endpoint.id.clone()>
                                        <th scope="row"><a href=href class="mono">{endpoint.url.clone()}</a></th>
                                        <td>
                                            {endpoint
                                                .event_types
                                                .iter()
                                                .map(|t| view! { <code>{t.clone()}</code> " " })
                                                .collect_view()}
                                        </td>
                                        <td>{badge} " " <span class="muted">{status}</span></td>
                                        <td>{secret}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let has_draft = !draft.draft.is_empty();
    let add = can_manage.then(|| {
        let ticked = webhooks
            .event_types
            .iter()
            .map(|t| (t.clone(), has_draft && draft.draft_has("event_types", t)))
            .collect();
        let checks = event_type_checks("add-event", ticked);
        view! {
            <form method="post" action=route(routes::CREATE, &[&app_id]) class="panel form wide-form add-webhook">
                <CsrfField />
                <h3>"Add endpoint"</h3>
                <label for="webhook-url">"URL"</label>
                <input id="webhook-url" name="url" type="url" required maxlength="2000" class="mono"
                    placeholder="https://hooks.example.com/portico" autocomplete="off"
                    aria-describedby="webhook-url-hint" value=draft.draft_value("url") />
                <p id="webhook-url-hint" class="hint">
                    "A public https URL (port 443, 80 or 8443). Private and internal addresses are refused."
                </p>
                <label for="webhook-description">"Description " <span class="optional">"(optional)"</span></label>
                <input id="webhook-description" name="description" type="text" maxlength="500"
                    value=draft.draft_value("description") />
                {checks}
                <button type="submit" class="button primary">"Add endpoint"</button>
            </form>
        }
    });
    view! {
        <section class="section" aria-labelledby="webhooks-title" id="webhooks">
            <h2 id="webhooks-title">"Webhooks"</h2>
            {list}
            {add}
        </section>
    }
}
