//! `/status`: the public status page. Everything is rendered on the server: the overall banner,
//! open incidents and upcoming maintenance, each component's state, its 90-day uptime bar and
//! its 24-hour latency chart (both inline SVG, no JavaScript), and the incident history.
//!
//! The data comes from the status probes and the admins' incidents (`portico_core::status`);
//! the same snapshot feeds `/status.json` and `/status/feed.atom`.

use crate::components::format::civil_from_days;
use leptos::prelude::*;
use leptos_meta::{Link, Title};
use portico_docsite::highlight::escape;
use serde::{Deserialize, Serialize};

/// One day of a component's uptime bar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayCell {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Percent of probes that found it operational; `None` = no probes that day.
    pub uptime: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentRow {
    pub name: String,
    /// `operational`, `degraded_performance`, `partial_outage`, `major_outage`,
    /// `under_maintenance` or `unknown`.
    pub status: String,
    pub status_label: String,
    pub latency_ms: Option<i64>,
    pub checked: Option<String>,
    pub error: Option<String>,
    /// Over the 90 days, percent.
    pub uptime_percent: Option<f64>,
    pub days: Vec<DayCell>,
    /// Average latency (ms) per 15-minute bucket of the last 24 hours: (bucket, ms).
    pub latency: Vec<(i64, i64)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRow {
    pub status: String,
    pub status_label: String,
    pub message: String,
    pub at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRow {
    pub id: String,
    /// `incident` or `maintenance`.
    pub kind: String,
    pub title: String,
    pub impact: String,
    pub status: String,
    pub status_label: String,
    pub components: Vec<String>,
    /// The maintenance window, for people.
    pub window: Option<String>,
    pub created: String,
    pub resolved: Option<String>,
    pub open: bool,
    /// Newest first.
    pub updates: Vec<UpdateRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusData {
    /// `none`, `minor`, `major` or `critical`.
    pub indicator: String,
    pub description: String,
    pub updated: String,
    pub components: Vec<ComponentRow>,
    /// Open incidents and maintenance in progress.
    pub active: Vec<IncidentRow>,
    /// Maintenance announced for later.
    pub upcoming: Vec<IncidentRow>,
    /// Everything of the last 90 days, newest first.
    pub history: Vec<IncidentRow>,
    /// Buckets in the latency window (the x axis).
    pub latency_buckets: i64,
}

/// The status page's data.
#[server]
pub async fn status_page() -> Result<StatusData, ServerFnError> {
    ssr::page().await
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::{ComponentRow, DayCell, IncidentRow, StatusData, UpdateRow};
    use crate::components::format::format_time;
    use crate::server::{page_error, portal};
    use leptos::prelude::ServerFnError;
    use portico_core::status::{self, Incident, IncidentKind};

    pub async fn page() -> Result<StatusData, ServerFnError> {
        let portal = portal()?;
        let now_ms = portico_core::clock::now_ms();
        let snapshot = status::snapshot(&portal.db, now_ms, status::DEFAULT_STALE_AFTER_MS)
            .await
            .map_err(page_error)?;
        let now = now_ms / 1000;
        let components = snapshot
            .components
            .iter()
            .map(|c| ComponentRow {
                name: c.name.clone(),
                status: c.status.as_str().to_owned(),
                status_label: c.status.label().to_owned(),
                latency_ms: c.probe.as_ref().map(|p| p.latency_ms),
                checked: c
                    .probe
                    .as_ref()
                    .map(|p| format_time(p.checked_at_ms / 1000)),
                error: c.probe.as_ref().and_then(|p| p.error.clone()),
                uptime_percent: c.uptime_percent.map(|u| u * 100.0),
                days: c
                    .uptime
                    .iter()
                    .map(|d| DayCell {
                        date: super::date_of_day(d.day),
                        uptime: d.uptime().map(|u| u * 100.0),
                    })
                    .collect(),
                latency: c.latency.iter().map(|p| (p.bucket, p.avg_ms)).collect(),
            })
            .collect();
        let rows = |filter: &dyn Fn(&Incident) -> bool| -> Vec<IncidentRow> {
            snapshot
                .incidents
                .iter()
                .filter(|i| filter(i))
                .map(incident_row)
                .collect()
        };
        Ok(StatusData {
            indicator: snapshot.indicator.as_str().to_owned(),
            description: snapshot.description.to_owned(),
            updated: format_time(now),
            components,
            active: rows(&|i| i.is_active(now)),
            upcoming: rows(&|i| i.is_upcoming(now)),
            history: rows(&|_| true),
            latency_buckets: status::LATENCY_WINDOW_MS / status::LATENCY_BUCKET_MS,
        })
    }

    pub fn incident_row(i: &Incident) -> IncidentRow {
        IncidentRow {
            id: i.id.clone(),
            kind: i.kind.as_str().to_owned(),
            title: i.title.clone(),
            impact: i.impact.as_str().to_owned(),
            status: i.status.as_str().to_owned(),
            status_label: i.status.label().to_owned(),
            components: i.components.clone(),
            window: match (i.kind, i.starts_at, i.ends_at) {
                (IncidentKind::Maintenance, Some(start), Some(end)) => {
                    Some(format!("{} to {}", format_time(start), format_time(end)))
                }
                _ => None,
            },
            created: format_time(i.created_at),
            resolved: i.resolved_at.map(format_time),
            open: i.is_open(),
            updates: i
                .updates
                .iter()
                .map(|u| UpdateRow {
                    status: u.status.as_str().to_owned(),
                    status_label: u.status.label().to_owned(),
                    message: u.message.clone(),
                    at: format_time(u.created_at),
                })
                .collect(),
        }
    }
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
pub fn date_of_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `99.95 %`, `100 %`.
pub fn percent(value: f64) -> String {
    if value >= 99.995 {
        "100 %".to_owned()
    } else {
        format!("{:.2} %", (value * 100.0).floor() / 100.0)
    }
}

/// The colour class and fill of one day.
fn day_colour(uptime: Option<f64>) -> (&'static str, &'static str) {
    match uptime {
        None => ("nodata", "#ced4da"),
        Some(u) if u >= 99.9 => ("up", "#2f9e44"),
        Some(u) if u >= 99.0 => ("minor", "#94c93d"),
        Some(u) if u >= 95.0 => ("partial", "#f08c00"),
        Some(_) => ("down", "#e03131"),
    }
}

const CELL_WIDTH: usize = 6;
const CELL_GAP: usize = 2;
const BAR_HEIGHT: usize = 34;

/// The uptime bar of one component: one `<rect>` per day, oldest on the left, each with a
/// `<title>` (date and percentage, or "no data") that browsers show as a tooltip.
pub fn uptime_svg(component: &str, days: &[DayCell], overall: Option<f64>) -> String {
    let width = days.len() * (CELL_WIDTH + CELL_GAP);
    let summary = match overall {
        Some(u) => format!("{} uptime", percent(u)),
        None => "no data yet".to_owned(),
    };
    let label = format!("{} over the last {} days: {summary}", component, days.len());
    let mut svg = format!(
        "<svg class=\"uptime-bar\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width} {BAR_HEIGHT}\" \
         width=\"100%\" height=\"{BAR_HEIGHT}\" preserveAspectRatio=\"none\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(&label)
    );
    for (i, day) in days.iter().enumerate() {
        let (class, fill) = day_colour(day.uptime);
        let title = match day.uptime {
            Some(u) => format!("{}: {} uptime", day.date, percent(u)),
            None => format!("{}: no data", day.date),
        };
        svg.push_str(&format!(
            "<rect class=\"day {class}\" data-date=\"{}\" x=\"{}\" y=\"0\" width=\"{CELL_WIDTH}\" height=\"{BAR_HEIGHT}\" rx=\"1\" fill=\"{fill}\"><title>{}</title></rect>",
            escape(&day.date),
            i * (CELL_WIDTH + CELL_GAP),
            escape(&title)
        ));
    }
    svg.push_str("</svg>");
    svg
}

const CHART_WIDTH: i64 = 600;
const CHART_HEIGHT: i64 = 140;
const PAD_LEFT: i64 = 52;
const PAD_BOTTOM: i64 = 22;
const PAD_TOP: i64 = 8;
const PAD_RIGHT: i64 = 8;

/// A round upper bound for the latency axis.
fn axis_max(max: i64) -> i64 {
    for step in [50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000] {
        if max <= step {
            return step;
        }
    }
    ((max + 9999) / 10_000) * 10_000
}

/// The last 24 hours' average latency of one component as a line chart: y axis in ms (0, half,
/// top), x axis from 24 h ago to now. `points` are (bucket, ms) of `buckets` buckets.
pub fn latency_svg(component: &str, points: &[(i64, i64)], buckets: i64) -> String {
    let plot_w = CHART_WIDTH - PAD_LEFT - PAD_RIGHT;
    let plot_h = CHART_HEIGHT - PAD_TOP - PAD_BOTTOM;
    let max = axis_max(points.iter().map(|p| p.1).max().unwrap_or(0).max(1));
    let avg = if points.is_empty() {
        None
    } else {
        let n = i64::try_from(points.len()).unwrap_or(1);
        Some(points.iter().map(|p| p.1).sum::<i64>() / n)
    };
    let label = match avg {
        Some(avg) => format!("{component}: response time over the last 24 hours, average {avg} ms"),
        None => format!("{component}: no response times in the last 24 hours"),
    };
    let x_of = |bucket: i64| PAD_LEFT + (bucket * plot_w) / (buckets - 1).max(1);
    let y_of = |ms: i64| PAD_TOP + plot_h - (ms.min(max) * plot_h) / max;
    let mut svg = format!(
        "<svg class=\"latency-chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {CHART_WIDTH} {CHART_HEIGHT}\" \
         width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(&label)
    );
    // Axes and grid, with labels.
    let bottom = PAD_TOP + plot_h;
    for (ms, text) in [
        (0, "0 ms".to_owned()),
        (max / 2, format!("{} ms", max / 2)),
        (max, format!("{max} ms")),
    ] {
        let y = y_of(ms);
        svg.push_str(&format!(
            "<line class=\"grid\" x1=\"{PAD_LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#dee2e6\" stroke-width=\"1\"/>\
             <text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\" fill=\"#495057\">{text}</text>",
            PAD_LEFT + plot_w,
            PAD_LEFT - 6,
            y + 4
        ));
    }
    for (bucket, text, anchor) in [
        (0, "24 h ago", "start"),
        ((buckets - 1) / 2, "12 h ago", "middle"),
        (buckets - 1, "now", "end"),
    ] {
        svg.push_str(&format!(
            "<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"11\" fill=\"#495057\">{text}</text>",
            x_of(bucket),
            CHART_HEIGHT - 6
        ));
    }
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"{PAD_LEFT}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#868e96\" stroke-width=\"1\"/>",
        PAD_LEFT + plot_w
    ));
    if points.is_empty() {
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#868e96\">No data</text>",
            PAD_LEFT + plot_w / 2,
            PAD_TOP + plot_h / 2
        ));
    } else {
        // Gaps (buckets without answers) break the line.
        let mut segments: Vec<Vec<(i64, i64)>> = Vec::new();
        let mut last: Option<i64> = None;
        for &(bucket, ms) in points {
            if last.is_none_or(|l| bucket != l + 1) {
                segments.push(Vec::new());
            }
            if let Some(segment) = segments.last_mut() {
                segment.push((bucket, ms));
            }
            last = Some(bucket);
        }
        for segment in segments {
            if let [(bucket, ms)] = segment.as_slice() {
                svg.push_str(&format!(
                    "<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"2\" fill=\"#1c7ed6\"/>",
                    x_of(*bucket),
                    y_of(*ms)
                ));
                continue;
            }
            let coords: Vec<String> = segment
                .iter()
                .map(|&(bucket, ms)| format!("{},{}", x_of(bucket), y_of(ms)))
                .collect();
            svg.push_str(&format!(
                "<polyline class=\"line\" fill=\"none\" stroke=\"#1c7ed6\" stroke-width=\"2\" points=\"{}\"/>",
                coords.join(" ")
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

#[component]
pub fn Status() -> impl IntoView {
    let data = Resource::new(|| (), |()| status_page());
    view! {
        <Title text="Status" />
        <Link rel="alternate" type_="application/atom+xml" href="/status/feed.atom" />
        <h1>"System status"</h1>
        <Suspense fallback=|| view! { <p>"Checking…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => status_view(page),
                    Err(_) => view! {
                        <p class="banner indicator-major" role="status">"Status is unavailable right now."</p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn status_view(page: StatusData) -> AnyView {
    let banner_class = format!("banner status-banner indicator-{}", page.indicator);
    let active = (!page.active.is_empty()).then(|| {
        view! {
            <section class="status-section" aria-labelledby="active-heading">
                <h2 id="active-heading">"Current incidents and maintenance"</h2>
                {page.active.into_iter().map(incident_card).collect_view()}
            </section>
        }
    });
    let upcoming = (!page.upcoming.is_empty()).then(|| {
        view! {
            <section class="status-section" aria-labelledby="upcoming-heading">
                <h2 id="upcoming-heading">"Scheduled maintenance"</h2>
                {page.upcoming.into_iter().map(incident_card).collect_view()}
            </section>
        }
    });
    let buckets = page.latency_buckets;
    let components = if page.components.is_empty() {
        view! { <p class="muted">"No probe results yet: the first probes run within a minute of start-up."</p> }.into_any()
    } else {
        page.components
            .into_iter()
            .map(|c| component_card(c, buckets))
            .collect_view()
            .into_any()
    };
    let history = if page.history.is_empty() {
        view! { <p class="muted" data-testid="no-incidents">"No incidents in the last 90 days."</p> }.into_any()
    } else {
        page.history
            .into_iter()
            .map(incident_card)
            .collect_view()
            .into_any()
    };
    view! {
        <p class=banner_class role="status" data-indicator=page.indicator.clone() data-testid="status-banner">
            {page.description}
        </p>
        <p class="muted status-links">
            "Updated " {page.updated} ". Machine-readable: "
            <a href="/status.json">"status.json"</a> " · subscribe: "
            <a href="/status/feed.atom">"Atom feed"</a>
        </p>
        {active}
        {upcoming}
        <section class="status-section" aria-labelledby="components-heading">
            <h2 id="components-heading">"Components"</h2>
            <div class="status-components">{components}</div>
        </section>
        <section class="status-section" aria-labelledby="history-heading">
            <h2 id="history-heading">"Incident history (last 90 days)"</h2>
            {history}
        </section>
    }
    .into_any()
}

fn component_card(c: ComponentRow, buckets: i64) -> impl IntoView {
    let state_class = format!("state state-{}", c.status);
    let bar = uptime_svg(&c.name, &c.days, c.uptime_percent);
    let chart = latency_svg(&c.name, &c.latency, buckets);
    let uptime = c.uptime_percent.map_or_else(
        || "no data yet".to_owned(),
        |u| format!("{} uptime", percent(u)),
    );
    let probe = match (c.latency_ms, c.checked) {
        (Some(ms), Some(at)) => format!("Last check {at}: {ms} ms"),
        _ => "Not checked recently".to_owned(),
    };
    let first = c.days.first().map(|d| d.date.clone()).unwrap_or_default();
    view! {
        <article class="status-component" data-component=c.name.clone() data-status=c.status>
            <header>
                <h3>{c.name.clone()}</h3>
                <span class=state_class>{c.status_label}</span>
            </header>
            <p class="muted probe-detail">
                {probe}
                {c.error.map(|e| view! { " · " <span class="probe-error">{e}</span> })}
            </p>
            <figure class="uptime">
                <div class="svg-wrap" inner_html=bar></div>
                <figcaption class="uptime-legend">
                    <span>{first}</span>
                    <span>{format!("90 days: {uptime}")}</span>
                    <span>"today"</span>
                </figcaption>
            </figure>
            <details class="latency" open>
                <summary>"Response time, last 24 hours"</summary>
                <div class="svg-wrap" inner_html=chart></div>
            </details>
        </article>
    }
}

fn incident_card(i: IncidentRow) -> impl IntoView {
    let class = format!("incident impact-{} kind-{}", i.impact, i.kind);
    let kind = if i.kind == "maintenance" {
        "Scheduled maintenance"
    } else {
        "Incident"
    };
    let components = (!i.components.is_empty()).then(|| {
        view! { <p class="muted">"Affects: " {i.components.join(", ")}</p> }
    });
    let window = i
        .window
        .map(|w| view! { <p class="muted">"Window (UTC): " {w}</p> });
    view! {
        <article class=class id=format!("incident-{}", i.id) data-incident=i.id.clone() data-status=i.status.clone()>
            <h3>
                {i.title}
                " " <span class=format!("badge status-{}", i.status)>{i.status_label}</span>
            </h3>
            <p class="muted">{format!("{kind} · impact {} · opened {}", i.impact, i.created)}
                {i.resolved.map(|r| format!(" · closed {r}"))}
            </p>
            {components}
            {window}
            <ol class="incident-updates">
                {i.updates.into_iter().map(|u| view! {
                    <li data-update-status=u.status>
                        <strong>{u.status_label}</strong>
                        " — " <time>{u.at}</time>
                        <p>{u.message}</p>
                    </li>
                }).collect_view()}
            </ol>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(n: usize) -> Vec<DayCell> {
        (0..n)
            .map(|i| DayCell {
                date: date_of_day(20_000 + i64::try_from(i).unwrap()),
                uptime: match i % 3 {
                    0 => None,
                    1 => Some(100.0),
                    _ => Some(97.5),
                },
            })
            .collect()
    }

    #[test]
    fn the_uptime_bar_has_one_labelled_cell_per_day() {
        let svg = uptime_svg("Sandbox API <v2>", &days(90), Some(98.75));
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains(
            "aria-label=\"Sandbox API &lt;v2&gt; over the last 90 days: 98.75 % uptime\""
        ));
        assert_eq!(svg.matches("<rect").count(), 90);
        assert_eq!(svg.matches("<title>").count(), 90);
        assert!(svg.contains("<title>2024-10-04: no data</title>"), "{svg}");
        assert!(svg.contains("<title>2024-10-05: 100 % uptime</title>"));
        assert!(svg.contains("<title>2024-10-06: 97.50 % uptime</title>"));
        assert_eq!(svg.matches("class=\"day nodata\"").count(), 30);
    }

    #[test]
    fn percentages_never_round_up_to_a_perfect_day() {
        assert_eq!(percent(100.0), "100 %");
        assert_eq!(percent(99.999), "100 %");
        assert_eq!(percent(99.989), "99.98 %");
        assert_eq!(percent(0.0), "0.00 %");
    }

    #[test]
    fn the_latency_chart_has_axes_and_a_line() {
        let svg = latency_svg(
            "Token endpoint",
            &[(0, 40), (1, 60), (2, 50), (10, 900)],
            96,
        );
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("average 262 ms"));
        for label in ["0 ms", "500 ms", "1000 ms", "24 h ago", "12 h ago", "now"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}: {svg}");
        }
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1, "a lone bucket is a dot");
        let empty = latency_svg("Token endpoint", &[], 96);
        assert!(empty.contains("No data") && empty.contains("no response times"));
    }
}
