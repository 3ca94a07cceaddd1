//! Usage charts: `/apps/{id}/usage` (one application) and `/org/usage` (the whole
//! organisation). Calls per day for 30 days and per hour for 48 hours by status class, throttled
//! calls, latency percentiles per day, and the application's quota used against its plan.
//!
//! Everything is drawn on the server (SVG from plotters, see `components/charts.rs`) from the
//! hourly usage rollups plus the raw log of the hours after them; no JavaScript. Each chart has
//! its numbers in a table underneath.

use crate::components::charts::ChartData;
use crate::viewer::{SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// The quota of the application's usage plan and how much of the current period is used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUse {
    pub plan: String,
    pub used: i64,
    pub quota: i64,
    /// "day" or "month".
    pub period: String,
    /// When the period ends (UTC).
    pub resets: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageData {
    /// "Orders app" or the organisation's name.
    pub subject: String,
    /// Where "back" goes.
    pub back: String,
    pub calls_30_days: i64,
    pub throttled_30_days: i64,
    pub quota: Option<QuotaUse>,
    pub charts: Vec<ChartData>,
}

#[server]
pub async fn application_usage(id: String) -> Result<UsageData, ServerFnError> {
    ssr::usage(Some(&id)).await
}

#[server]
pub async fn organisation_usage() -> Result<UsageData, ServerFnError> {
    ssr::usage(None).await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{QuotaUse, UsageData};
    use crate::components::charts::{
        self, CLIENT_ERROR, MEDIAN, SERVER_ERROR, SUCCESS, Series, THROTTLED,
    };
    use crate::server::{actor, page_error, portal};
    use leptos::prelude::ServerFnError;
    use portico_core::apps::access;
    use portico_core::apps::plans;
    use portico_core::identity::permissions::{self, PortalAction};
    use portico_core::orgs::organisations;
    use portico_core::traffic::hourly_usage::{self, HOUR_MS, HourUsage, latency_quantile};
    use portico_core::{CoreError, clock};

    fn not_found() {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }

    fn day_label(hour: i64) -> String {
        let text = clock::format_rfc3339(hour * 3600);
        text.get(5..10).unwrap_or_default().to_owned()
    }

    fn hour_label(hour: i64) -> String {
        let text = clock::format_rfc3339(hour * 3600);
        format!(
            "{} {}h",
            text.get(5..10).unwrap_or_default(),
            text.get(11..13).unwrap_or_default()
        )
    }

    #[expect(clippy::cast_precision_loss, reason = "call counts and milliseconds")]
    fn traffic(values: &[HourUsage], pick: fn(&HourUsage) -> i64) -> Vec<f64> {
        values.iter().map(|u| pick(u) as f64).collect()
    }

    fn class_series(values: &[HourUsage]) -> Vec<Series> {
        vec![
            Series {
                label: "2xx/3xx".into(),
                color: SUCCESS,
                values: traffic(values, |u| u.success),
            },
            Series {
                label: "4xx".into(),
                color: CLIENT_ERROR,
                values: traffic(values, |u| u.client_errors),
            },
            Series {
                label: "5xx".into(),
                color: SERVER_ERROR,
                values: traffic(values, |u| u.server_errors),
            },
            Series {
                label: "throttled (429)".into(),
                color: THROTTLED,
                values: traffic(values, |u| u.throttled),
            },
        ]
    }

    #[expect(clippy::cast_precision_loss, reason = "milliseconds")]
    fn percentile(values: &[HourUsage], quantile: f64) -> Vec<f64> {
        values
            .iter()
            .map(|u| latency_quantile(&u.latency, quantile).map_or(0.0, |ms| ms as f64))
            .collect()
    }

    pub async fn usage(app_id: Option<&str>) -> Result<UsageData, ServerFnError> {
        let ctx = actor().ok_or_else(|| ServerFnError::new("Sign in to see usage."))?;
        let db = portal()?.db;
        let (partner, client, subject, back, app) = match app_id {
            Some(id) => {
                let app = access::authorize_app_access(&db, &ctx, id, PortalAction::ViewLogs)
                    .await
                    .map_err(|e| {
                        if matches!(e, CoreError::NotFound { .. }) {
                            not_found();
                        }
                        page_error(e)
                    })?;
                (
                    app.partner_id.clone(),
                    Some(app.client_id.clone()),
                    app.name.clone(),
                    format!("/apps/{id}"),
                    Some(app),
                )
            }
            None => {
                let Some((org, role)) = organisations::my_organisation(&db, &ctx)
                    .await
                    .map_err(page_error)?
                else {
                    return Err(ServerFnError::new(
                        "You are not a member of an organisation yet.",
                    ));
                };
                permissions::require(role, PortalAction::ViewLogs).map_err(page_error)?;
                (org.slug, None, org.name, "/org".to_owned(), None)
            }
        };
        let now_ms = clock::now_ms();
        let this_hour = now_ms.div_euclid(HOUR_MS);
        let today = this_hour - this_hour.rem_euclid(24);
        let from = today - 29 * 24;
        let hours =
            hourly_usage::hourly(&db, &partner, client.as_deref(), from, today + 24, now_ms)
                .await
                .map_err(page_error)?;
        let days = hourly_usage::daily(&hours);
        let last_48 = &hours[hours.len().saturating_sub(48)..];
        let day_labels: Vec<String> = days.iter().map(|d| day_label(d.hour)).collect();
        let hour_labels: Vec<String> = last_48.iter().map(|h| hour_label(h.hour)).collect();
        let chart_error = |e: String| {
            tracing::error!(error = %e, "drawing a usage chart failed");
            ServerFnError::new("The charts could not be drawn. Please try again.")
        };
        let charts = vec![
            charts::line_chart(
                "Calls per day, last 30 days",
                "calls per day (UTC) by status class, and throttled calls",
                &day_labels,
                "calls",
                &class_series(&days),
            )
            .map_err(chart_error)?,
            charts::line_chart(
                "Calls per hour, last 48 hours",
                "calls per hour (UTC) by status class, and throttled calls",
                &hour_labels,
                "calls",
                &class_series(last_48),
            )
            .map_err(chart_error)?,
            charts::line_chart(
                "Latency per day, last 30 days",
                "50th, 95th and 99th percentile of the gateway's latency per day, in milliseconds (upper bounds of 5, 25, 100, 500 and 2,500 ms buckets)",
                &day_labels,
                "ms (bucket)",
                &[
                    Series {
                        label: "p50".into(),
                        color: MEDIAN,
                        values: percentile(&days, 0.50),
                    },
                    Series {
                        label: "p95".into(),
                        color: CLIENT_ERROR,
                        values: percentile(&days, 0.95),
                    },
                    Series {
                        label: "p99".into(),
                        color: SERVER_ERROR,
                        values: percentile(&days, 0.99),
                    },
                ],
            )
            .map_err(chart_error)?,
        ];
        let quota = match &app {
            Some(app) => {
                let plan = plans::effective_plan(&db, &app.id)
                    .await
                    .map_err(page_error)?;
                let window = plan.quota_period.window(now_ms / 1000);
                let period = hourly_usage::hourly(
                    &db,
                    &partner,
                    client.as_deref(),
                    window.start / 3600,
                    (window.end + 3599) / 3600,
                    now_ms,
                )
                .await
                .map_err(page_error)?;
                Some(QuotaUse {
                    plan: plan.plan.clone(),
                    used: period.iter().map(HourUsage::calls).sum(),
                    quota: i64::try_from(plan.quota).unwrap_or(i64::MAX),
                    period: plan.quota_period.as_str().to_owned(),
                    resets: clock::format_rfc3339(window.end),
                })
            }
            None => None,
        };
        Ok(UsageData {
            subject,
            back,
            calls_30_days: days.iter().map(HourUsage::calls).sum(),
            throttled_30_days: days.iter().map(|d| d.throttled).sum(),
            quota,
            charts,
        })
    }
}

fn usage_view(data: UsageData) -> impl IntoView {
    let quota = data.quota.map(|q| {
        let percent = if q.quota > 0 {
            (q.used.saturating_mul(100) / q.quota).min(100)
        } else {
            0
        };
        view! {
            <section class="panel" aria-labelledby="quota-heading">
                <h2 id="quota-heading">"Quota"</h2>
                <p>
                    {format!("{} of {} calls used this {} on the {} plan ({percent} %); the quota resets at {}.", q.used, q.quota, q.period, q.plan, q.resets)}
                </p>
                <meter min="0" max=q.quota.to_string() value=q.used.to_string() high=(q.quota * 9 / 10).to_string()
                    aria-label=format!("{percent} % of the {} quota used", q.period)>
                    {format!("{percent} %")}
                </meter>
            </section>
        }
    });
    let charts = data
        .charts
        .into_iter()
        .map(|chart| {
            let heading = chart.title.clone();
            let head = chart
                .columns
                .iter()
                .map(|c| view! { <th scope="col">{c.clone()}</th> })
                .collect_view();
            let rows = chart
                .rows
                .iter()
                .map(|row| {
                    let cells = row.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view();
                    view! { <tr>{cells}</tr> }
                })
                .collect_view();
            view! {
                <figure class="usage-chart">
                    <figcaption>{heading}</figcaption>
                    <div class="chart-frame" inner_html=chart.svg></div>
                    <details>
                        <summary>"The numbers"</summary>
                        <div class="table-wrap" tabindex="0" role="region" aria-label="Numbers"><table class="usage-numbers"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>
                    </details>
                </figure>
            }
        })
        .collect_view();
    let title = format!("Usage of {}", data.subject);
    view! {
        <Title text=title.clone() />
        <p class="breadcrumbs"><a href=data.back.clone()>"← Back"</a></p>
        <h1>{title}</h1>
        <p data-testid="usage-totals">
            {format!("{} calls in the last 30 days, {} of them throttled. Times are UTC.", data.calls_30_days, data.throttled_30_days)}
        </p>
        {quota}
        {charts}
    }
}

fn usage_page(load: Resource<Result<UsageData, ServerFnError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p>"Loading usage…"</p> }>
            {move || Suspend::new(async move {
                match load.await {
                    Ok(data) => usage_view(data).into_any(),
                    Err(e) => view! {
                        <Title text="Usage" />
                        <h1>"Usage"</h1>
                        <div class="panel"><p>{crate::pages::org::error_text(&e)}</p></div>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn ApplicationUsage() -> impl IntoView {
    if Viewer::current().user.is_none() {
        return view! { <Title text="Usage" /> <h1>"Usage"</h1> <SignInRequired /> }.into_any();
    }
    let id = leptos_router::hooks::use_params_map()
        .read_untracked()
        .get("id")
        .unwrap_or_default();
    usage_page(Resource::new(move || id.clone(), application_usage)).into_any()
}

#[component]
pub fn OrganisationUsage() -> impl IntoView {
    if Viewer::current().user.is_none() {
        return view! { <Title text="Usage" /> <h1>"Usage"</h1> <SignInRequired /> }.into_any();
    }
    usage_page(Resource::new(|| (), |()| organisation_usage())).into_any()
}
