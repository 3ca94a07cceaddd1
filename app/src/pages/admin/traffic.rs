//! `/admin/traffic`: every partner's traffic over the last day, week or month (top callers, error
//! and deny rates, throttling), the applications near their quota, and the monthly metering
//! export (CSV and JSON downloads at `/admin/metering/{month}.csv|json`).

use super::{AdminFrame, AdminSection, Section};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartnerRow {
    pub partner_id: String,
    pub name: String,
    pub calls: i64,
    pub error_rate: f64,
    pub deny_rate: f64,
    pub throttled: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaRow {
    pub partner_id: String,
    pub application_id: String,
    pub application: String,
    pub used: i64,
    pub quota: i64,
    pub period: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrafficData {
    /// "24h", "7d" or "30d".
    pub window: String,
    pub partners: Vec<PartnerRow>,
    pub near_quota: Vec<QuotaRow>,
    /// This month and the one before, `YYYY-MM`.
    pub months: Vec<String>,
}

#[server]
pub async fn admin_traffic(window: String) -> Result<TrafficData, ServerFnError> {
    ssr::traffic(&window).await
}

/// Applications at or above this share of their quota are listed.
pub const NEAR_QUOTA_PERCENT: i64 = 80;

#[cfg(feature = "ssr")]
mod ssr {
    use super::{NEAR_QUOTA_PERCENT, PartnerRow, QuotaRow, TrafficData};
    use crate::server::{actor, page_error, portal};
    use leptos::prelude::ServerFnError;
    use portico_core::clock;
    use portico_core::traffic::hourly_usage::{self, HOUR_MS};

    pub async fn traffic(window: &str) -> Result<TrafficData, ServerFnError> {
        let ctx = actor().ok_or_else(|| ServerFnError::new("Sign in to continue."))?;
        let db = portal()?.db;
        let (window, hours) = match window {
            "7d" => ("7d", 7 * 24),
            "30d" => ("30d", 30 * 24),
            _ => ("24h", 24),
        };
        let now_ms = clock::now_ms();
        let from_hour = now_ms.div_euclid(HOUR_MS) + 1 - hours;
        let partners = hourly_usage::partner_overview(&db, &ctx, from_hour, now_ms)
            .await
            .map_err(page_error)?;
        let near_quota = hourly_usage::near_quota(&db, &ctx, NEAR_QUOTA_PERCENT, now_ms)
            .await
            .map_err(page_error)?;
        let this_month = clock::format_rfc3339(now_ms / 1000);
        let this_month = this_month.get(..7).unwrap_or_default().to_owned();
        let last_month = hourly_usage::Month::parse(&this_month)
            .map(|m| {
                let (start, _) = m.range_ms();
                clock::format_rfc3339(start / 1000 - 1)
                    .get(..7)
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_default();
        Ok(TrafficData {
            window: window.to_owned(),
            partners: partners
                .iter()
                .map(|p| PartnerRow {
                    partner_id: p.partner_id.clone(),
                    name: p.name.clone(),
                    calls: p.calls,
                    error_rate: p.percent(p.server_errors),
                    deny_rate: p.percent(p.denied + p.throttled),
                    throttled: p.throttled,
                })
                .collect(),
            near_quota: near_quota
                .into_iter()
                .map(|q| QuotaRow {
                    partner_id: q.partner_id,
                    application_id: q.application_id,
                    application: q.application,
                    used: q.used,
                    quota: q.quota,
                    period: q.period,
                })
                .collect(),
            months: vec![this_month, last_month],
        })
    }
}

#[component]
pub fn AdminTraffic() -> impl IntoView {
    let window = use_query_map()
        .read_untracked()
        .get("window")
        .unwrap_or_default();
    view! {
        <AdminSection section=Section::Traffic title="Traffic" heading="Traffic"
            key=move || window.clone() load=admin_traffic
            page=|d: TrafficData, _: String| traffic_view(&d) />
    }
}

fn traffic_view(d: &TrafficData) -> AnyView {
    let windows = [
        ("24h", "Last 24 hours"),
        ("7d", "Last 7 days"),
        ("30d", "Last 30 days"),
    ]
    .into_iter()
    .map(|(value, label)| {
        let here = value == d.window;
        view! {
            <a href=format!("/admin/traffic?window={value}") aria-current=here.then_some("page")
                class=if here { "button" } else { "button secondary" }>{label}</a>
            " "
        }
    })
    .collect_view();
    let partner_rows = d
        .partners
        .iter()
        .map(|p| {
            view! {
                <tr data-partner=p.partner_id.clone()>
                    <td><a href=format!("/admin/partners#partner-{}", p.partner_id)>{p.name.clone()}</a> " " <code>{p.partner_id.clone()}</code></td>
                    <td class="num">{p.calls}</td>
                    <td class="num">{format!("{:.1} %", p.error_rate)}</td>
                    <td class="num">{format!("{:.1} %", p.deny_rate)}</td>
                    <td class="num">{p.throttled}</td>
                </tr>
            }
        })
        .collect_view();
    let quota_rows = d
        .near_quota
        .iter()
        .map(|q| {
            view! {
                <tr>
                    <td><a href=format!("/apps/{}", q.application_id)>{q.application.clone()}</a></td>
                    <td><a href=format!("/admin/partners#partner-{}", q.partner_id)><code>{q.partner_id.clone()}</code></a></td>
                    <td class="num">{format!("{} of {} this {}", q.used, q.quota, q.period)}</td>
                </tr>
            }
        })
        .collect_view();
    let no_partners = d.partners.is_empty();
    let no_quota = d.near_quota.is_empty();
    let downloads = d
        .months
        .iter()
        .map(|m| {
            view! {
                <li>
                    {m.clone()} ": "
                    <a href=format!("/admin/metering/{m}.csv") download="">"CSV"</a> " · "
                    <a href=format!("/admin/metering/{m}.json") download="">"JSON"</a>
                </li>
            }
        })
        .collect_view();
    view! {
        <AdminFrame section=Section::Traffic>
            <h1>"Traffic"</h1>
            <p class="lead">"Calls of every partner through the gateway (sandbox and production), from the hourly usage rollups and the raw log of the last hour."</p>
            <p>{windows}</p>
            <h2>"Top callers"</h2>
            {no_partners.then(|| view! { <p>"No calls in this window."</p> })}
            <div class="table-wrap" tabindex="0" role="region" aria-label="Top callers"><table data-testid="top-callers">
                <thead><tr><th>"Partner"</th><th>"Calls"</th><th>"Errors (5xx)"</th><th>"Denied or throttled"</th><th>"Throttled"</th></tr></thead>
                <tbody>{partner_rows}</tbody>
            </table></div>
            <h2>{format!("Near their quota (≥ {NEAR_QUOTA_PERCENT} %)")}</h2>
            {no_quota.then(|| view! { <p>"No application is near its quota."</p> })}
            <div class="table-wrap" tabindex="0" role="region" aria-label="Near their quota"><table data-testid="near-quota">
                <thead><tr><th>"Application"</th><th>"Partner"</th><th>"Used"</th></tr></thead>
                <tbody>{quota_rows}</tbody>
            </table></div>
            <h2>"Metering export"</h2>
            <p>"Calls by partner, operation, stage and status class for a month (UTC), for billing. Also " <code>"portico usage export --month YYYY-MM"</code> "."</p>
            <ul>{downloads}</ul>
        </AdminFrame>
    }
    .into_any()
}
