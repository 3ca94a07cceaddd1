//! The admin console: partner organisations (with their attestation), the scope-request queue,
//! applications (suspension, usage plan and overrides, production access, granted scopes),
//! signing keys, API versions, status incidents, traffic and the audit log.
//!
//! This module owns the console's frame ([`AdminSection`]: the admin check, the page's read and
//! its failure; [`AdminFrame`]: the navigation) and the formatting the pages share. Pages read
//! through `#[server]` functions ([`data`]) that call the core with the signed-in user's
//! [`ActorContext`](portico_core::identity::ActorContext); the core refuses non-admins and the
//! pages never ask it for anyone else. Forms post to the handlers in
//! `server/src/portal/actions/{admin,incidents,versions}.rs` (post/redirect/get with a one-time
//! message) at the [`routes`] declared here.

mod applications;
mod audit;
pub mod data;
pub mod incidents;
mod partners;
pub mod routes;
pub mod traffic;
pub mod versions;

pub use applications::{AdminApplications, AdminKeys};
pub use audit::{AdminAudit, AdminHome};
pub use data::*;
pub use incidents::{AdminIncident, AdminIncidents};
pub use partners::{AdminPartners, AdminScopeRequests};
pub use traffic::AdminTraffic;
pub use versions::AdminVersions;

use crate::components::format::civil_from_days;
use crate::viewer::{SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::Serialize;
use serde::de::DeserializeOwned;

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/// `YYYY-MM-DD` → unix seconds at 00:00 UTC of that day.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // Refuse days the month does not have (2026-02-30).
    (civil_from_days(days) == (year, month, day)).then_some(days * 86_400)
}

/// How long ago, roughly: `5 min`, `3 h`, `2 days`.
pub fn format_age(secs: i64) -> String {
    match secs {
        s if s < 60 => "just now".to_owned(),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3600),
        s if s < 2 * 86_400 => "1 day".to_owned(),
        s => format!("{} days", s / 86_400),
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn status_badge(status: &str) -> impl IntoView + use<> {
    let tone = match status {
        "approved" | "active" | "granted" | "published" => "ok",
        "pending" | "next" | "retiring" => "pending",
        "suspended" | "rejected" | "denied" | "revoked" => "bad",
        _ => "plain",
    };
    let class = format!("badge {tone} status-{status}");
    view! { <span class=class>{status.to_owned()}</span> }
}
// ---------------------------------------------------------------------------------------------
// Frame: access, navigation
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Partners,
    ScopeRequests,
    Applications,
    Keys,
    Versions,
    Incidents,
    Traffic,
    Audit,
}

/// Admin pages for admins; the sign-in prompt or a 403 "Administrators only" for everyone else.
fn admin_only(title: &'static str, content: impl FnOnce() -> AnyView) -> AnyView {
    let viewer = Viewer::current();
    match viewer.user {
        None => view! {
            <Title text=title />
            <h1>{title}</h1>
            <SignInRequired />
        }
        .into_any(),
        Some(user) if !user.is_admin => {
            #[cfg(feature = "ssr")]
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::FORBIDDEN);
            }
            view! {
                <Title text="Administrators only" />
                <div class="panel admin-forbidden" role="alert" data-testid="admin-forbidden">
                    <p class="admin-forbidden-code">"403"</p>
                    <h1>"Administrators only"</h1>
                    <p>
                        "This part of Portico is for platform administrators. You are signed in as "
                        <strong>{user.email}</strong> ", which is not an administrator account."
                    </p>
                    <p><a href="/apps" class="button">"Back to your applications"</a></p>
                </div>
            }
            .into_any()
        }
        Some(_) => view! {
            <Title text=format!("{title} · Admin") />
            {content()}
        }
        .into_any(),
    }
}

/// One admin page: what ten pages did each by hand. Non-admins get the sign-in prompt or the
/// 403 of [`admin_only`]; for admins the page's data is read (`load`, keyed by `key`: the
/// route's parameters or query) behind a "Loading…" fallback, and shown by `page`, or the
/// read's error is shown in the admin frame under `heading`.
#[component]
pub(crate) fn AdminSection<K, S, L, Fut, T, P>(
    /// Where the page sits in the admin navigation (also when its read failed).
    section: Section,
    /// The page's own title (the document title adds " · Admin").
    title: &'static str,
    /// The heading shown over a failed read.
    heading: &'static str,
    /// What the read depends on.
    key: K,
    /// The page's read (its `#[server]` function).
    load: L,
    /// The page, from what was read and the key it was read with.
    page: P,
) -> impl IntoView
where
    K: Fn() -> S + Clone + Send + Sync + 'static,
    S: PartialEq + Clone + Send + Sync + 'static,
    L: Fn(S) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, ServerFnError>> + Send + 'static,
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    P: Fn(T, S) -> AnyView + Clone + Send + Sync + 'static,
{
    admin_only(title, move || {
        let data = Resource::new(key.clone(), load);
        view! {
            <Suspense fallback=loading>
                {move || {
                    let key = key.clone();
                    let page = page.clone();
                    Suspend::new(async move {
                        let key = key();
                        match data.await {
                            Ok(d) => page(d, key),
                            Err(e) => load_failed(section, heading, &e),
                        }
                    })
                }}
            </Suspense>
        }
        .into_any()
    })
}

#[component]
pub(crate) fn AdminFrame(
    section: Section,
    #[prop(optional)] counts: Option<Counts>,
    children: Children,
) -> impl IntoView {
    let counts = counts.unwrap_or_default();
    let link = move |href: &'static str, label: &'static str, this: Section, count: usize| {
        let current = (this == section).then_some("page");
        let badge = (count > 0).then(|| {
            view! { <span class="count" aria-label=format!("{count} waiting")>{count}</span> }
        });
        view! {
            <li>
                <a href=href aria-current=current>{label}{badge}</a>
            </li>
        }
    };
    view! {
        <div class="admin">
            <nav class="admin-nav" aria-label="Admin">
                <p class="admin-nav-title">"Admin console"</p>
                <ul>
                    {link("/admin", "Overview", Section::Overview, 0)}
                    {link("/admin/partners", "Partners", Section::Partners, counts.pending_orgs)}
                    {link("/admin/scope-requests", "Scope requests", Section::ScopeRequests, counts.pending_scopes)}
                    {link("/admin/applications", "Applications", Section::Applications, 0)}
                    {link("/admin/keys", "Signing keys", Section::Keys, 0)}
                    {link("/admin/versions", "API versions", Section::Versions, 0)}
                    {link("/admin/incidents", "Status incidents", Section::Incidents, 0)}
                    {link("/admin/traffic", "Traffic", Section::Traffic, 0)}
                    {link("/admin/audit", "Audit log", Section::Audit, 0)}
                </ul>
            </nav>
            <div class="admin-main">{children()}</div>
        </div>
    }
}

fn load_failed(section: Section, heading: &'static str, error: &ServerFnError) -> AnyView {
    let message = match error {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    };
    view! {
        <AdminFrame section>
            <h1>{heading}</h1>
            <p class="flash error" role="alert">{message}</p>
        </AdminFrame>
    }
    .into_any()
}

fn loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::format::format_time;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(encode("organisation."), "organisation.");
    }
}
