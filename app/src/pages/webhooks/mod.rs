//! Webhooks in the portal: the "Webhooks" section of an application's page (its endpoints,
//! the form to add one, a banner for endpoints disabled for failing) and one endpoint's page
//! (`/apps/{id}/webhooks/{endpoint}`): details, the signing secret shown once after it is
//! made or rotated, edit, enable/disable, rotate, test event, delete, and the delivery log with
//! filters and replay.
//!
//! Like every portal page it works with JavaScript off: each change is a plain HTML form posting
//! to the handlers in `server/src/portal/actions/webhooks.rs`, answered with a redirect and a
//! one-time message; the log's filters are a GET form. The core decides who may do what; the
//! page only hides the forms a role cannot use.
//!
//! This folder owns those pages: [`data`] (what they show and the reads behind it), [`view`]
//! (the application page's section), [`endpoint`] (an endpoint's page) and [`routes`] (where
//! the forms post, shared with the server's handlers).

pub mod data;
mod endpoint;
pub mod routes;
mod view;

pub use data::*;
pub use endpoint::WebhookEndpoint;
pub use view::{FailingWebhooksBanner, WebhooksSection};

use crate::components::format::civil_from_days;
use leptos::prelude::*;

/// Unix milliseconds as `2026-11-25 17:50:12 UTC`.
pub fn format_time_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Unix seconds as the value of a `datetime-local` input (`2026-11-25T17:50`, UTC).
pub fn datetime_local(secs: i64) -> String {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

fn enabled_badge(endpoint: &EndpointRow) -> impl IntoView + use<> {
    let (class, text) = if endpoint.enabled {
        ("badge ok status-enabled", "enabled")
    } else {
        ("badge bad status-disabled", "disabled")
    };
    view! { <span class=class>{text}</span> }
}

/// The endpoint's status as one line: enabled, or disabled and why.
fn status_text(endpoint: &EndpointRow) -> String {
    match &endpoint.disabled_because {
        None => "enabled".to_owned(),
        Some(why) => why.clone(),
    }
}

/// The event type checkboxes of the add and edit forms: each type and whether it is ticked.
fn event_type_checks(prefix: &str, types: Vec<(String, bool)>) -> impl IntoView + use<> {
    let prefix = prefix.to_owned();
    view! {
        <fieldset class="checks">
            <legend>"Event types"</legend>
            <p class="hint">"Choose at least one. Test events are sent whatever you choose."</p>
            {types
                .into_iter()
                .map(|(event_type, checked)| {
                    let id = format!("{prefix}-{}", event_type.replace('.', "-"));
                    view! {
                        <label class="check" for=id>
                            <input type="checkbox" id=id.clone() name="event_types" value=event_type.clone()
                                checked=checked />
                            " " <code>{event_type}</code>
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_in_utc() {
        assert_eq!(
            super::format_time_ms(1_795_628_412_345),
            "2026-11-25 17:40:12 UTC"
        );
        assert_eq!(super::datetime_local(1_795_628_412), "2026-11-25T17:40");
    }
}
