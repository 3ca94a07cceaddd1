//! Request counts and latency histograms in the Prometheus text format (version 0.0.4).
//!
//! Series are keyed by route template first, so recording a request looks the route up by
//! `&str` and allocates only the first time a (route, front, method, status) combination is seen.

use axum::http::Method;
use portico_core::cache::FastHash;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds in seconds; a catch-all `+Inf` bucket follows.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Clone, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
    count: u64,
    sum_seconds: f64,
}

type SeriesKey = (&'static str, Method, u16);

/// Writes more metric families (already in exposition format) into the scrape.
pub type MetricsSource = Box<dyn Fn(&mut String) + Send + Sync>;

#[derive(Default)]
pub struct HttpMetrics {
    by_route: Mutex<HashMap<String, HashMap<SeriesKey, Histogram, FastHash>, FastHash>>,
    sources: Mutex<Vec<MetricsSource>>,
}

impl HttpMetrics {
    pub fn record(
        &self,
        front: &'static str,
        method: &Method,
        route: &str,
        status: u16,
        elapsed: Duration,
    ) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        // A poisoned lock only means a panic elsewhere mid-update; counters stay usable.
        let mut by_route = self
            .by_route
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let series = match by_route.get_mut(route) {
            Some(series) => series,
            None => by_route.entry(route.to_owned()).or_default(),
        };
        let histogram = series.entry((front, method.clone(), status)).or_default();
        histogram.buckets[bucket] += 1;
        histogram.count += 1;
        histogram.sum_seconds += seconds;
    }

    /// Adds a source of further metrics (gateway counters, request-log queue) to every scrape.
    pub fn add_source(&self, source: MetricsSource) {
        self.sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(source);
    }

    /// The exposition text, sorted so scrapes and tests see a stable order.
    pub fn render(&self) -> String {
        let snapshot: BTreeMap<(String, &'static str, String, u16), Histogram> = {
            let by_route = self
                .by_route
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            by_route
                .iter()
                .flat_map(|(route, series)| {
                    series.iter().map(move |((front, method, status), h)| {
                        (
                            (route.clone(), *front, method.to_string(), *status),
                            h.clone(),
                        )
                    })
                })
                .collect()
        };

        let mut out = String::new();
        out.push_str("# HELP portico_build_info Version of the running Portico.\n");
        out.push_str("# TYPE portico_build_info gauge\n");
        let _ = writeln!(
            out,
            "portico_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );

        out.push_str("# HELP portico_http_requests_total HTTP requests served, by front, method, route template and status.\n");
        out.push_str("# TYPE portico_http_requests_total counter\n");
        for ((route, front, method, status), h) in &snapshot {
            let labels = labels(front, method, route, *status);
            let _ = writeln!(out, "portico_http_requests_total{{{labels}}} {}", h.count);
        }

        out.push_str("# HELP portico_http_request_duration_seconds Time from request to response head, by front, method, route template and status.\n");
        out.push_str("# TYPE portico_http_request_duration_seconds histogram\n");
        for ((route, front, method, status), h) in &snapshot {
            let labels = labels(front, method, route, *status);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "portico_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "portico_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "portico_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum_seconds
            );
            let _ = writeln!(
                out,
                "portico_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        for source in self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            source(&mut out);
        }
        out
    }
}

fn labels(front: &str, method: &str, route: &str, status: u16) -> String {
    format!(
        "front=\"{front}\",method=\"{}\",route=\"{}\",status=\"{status}\"",
        escape(method),
        escape(route)
    )
}

/// Label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text response for `/metrics`.
pub fn exposition(metrics: &HttpMetrics) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse as _;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        metrics.render(),
    )
        .into_response()
}

/// A router serving only `/metrics`, for `PORTICO_METRICS_ADDR`: a gateway-only replica has no
/// portal front, and the partner-facing sandbox front does not publish its counters.
pub fn router(metrics: std::sync::Arc<HttpMetrics>) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move { exposition(&metrics) }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_are_cumulative_per_series() {
        let metrics = HttpMetrics::default();
        metrics.record("portal", &Method::GET, "/", 200, Duration::from_micros(300));
        metrics.record("portal", &Method::GET, "/", 200, Duration::from_millis(30));
        metrics.record(
            "sandbox",
            &Method::GET,
            "unmatched",
            404,
            Duration::from_secs(5),
        );
        let text = metrics.render();

        assert!(text.contains("portico_http_requests_total{front=\"portal\",method=\"GET\",route=\"/\",status=\"200\"} 2\n"), "{text}");
        let series = "front=\"portal\",method=\"GET\",route=\"/\",status=\"200\"";
        assert!(
            text.contains(&format!("_bucket{{{series},le=\"0.0005\"}} 1\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{series},le=\"0.025\"}} 1\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{series},le=\"0.05\"}} 2\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{series},le=\"+Inf\"}} 2\n")),
            "{text}"
        );
        let slow = "front=\"sandbox\",method=\"GET\",route=\"unmatched\",status=\"404\"";
        assert!(
            text.contains(&format!("_bucket{{{slow},le=\"2.5\"}} 0\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{slow},le=\"+Inf\"}} 1\n")),
            "{text}"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
