//! The status page for machines: `/status.json` (overall indicator, components, open incidents,
//! scheduled maintenance) and `/status/feed.atom` (an Atom 1.0 entry per incident update, for
//! any feed reader). Public, no session: they are routed outside the session layer so polling
//! clients do not create sessions.

use super::PortalState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portico_core::clock::format_rfc3339;
use portico_core::status::{self, Incident, IncidentKind, StatusSnapshot};
use serde_json::{Value, json};

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/status.json", get(status_json))
        .route("/status/feed.atom", get(feed))
}

/// Entries in the feed at most (newest first).
const MAX_ENTRIES: usize = 100;

async fn load(state: &PortalState) -> Result<StatusSnapshot, Response> {
    status::snapshot(
        &state.db,
        portico_core::clock::now_ms(),
        status::DEFAULT_STALE_AFTER_MS,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "reading the status failed");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("30"))],
            "The status is unavailable right now; try again shortly.\n",
        )
            .into_response()
    })
}

async fn status_json(State(state): State<PortalState>) -> Result<Response, Response> {
    let snapshot = load(&state).await?;
    let body = status_document(&snapshot, &state.portal_url);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body.to_string(),
    )
        .into_response())
}

fn time(secs: i64) -> String {
    format_rfc3339(secs)
}

fn incident_json(incident: &Incident, portal_url: &str) -> Value {
    let mut value = json!({
        "id": incident.id,
        "name": incident.title,
        "kind": incident.kind.as_str(),
        "status": incident.status.as_str(),
        "impact": incident.impact.as_str(),
        "components": incident.components,
        "created_at": time(incident.created_at),
        "updated_at": time(incident.updated_at),
        "resolved_at": incident.resolved_at.map(time),
        "url": format!("{portal_url}/status#incident-{}", incident.id),
        "updates": incident.updates.iter().map(|u| json!({
            "id": u.id,
            "status": u.status.as_str(),
            "body": u.message,
            "created_at": time(u.created_at),
        })).collect::<Vec<_>>(),
    });
    if incident.kind == IncidentKind::Maintenance
        && let Some(object) = value.as_object_mut()
    {
        object.insert("scheduled_for".into(), json!(incident.starts_at.map(time)));
        object.insert("scheduled_until".into(), json!(incident.ends_at.map(time)));
    }
    value
}

/// The documented shape of `/status.json` (see the README's "Status page" section).
pub fn status_document(snapshot: &StatusSnapshot, portal_url: &str) -> Value {
    let now = snapshot.now_ms.div_euclid(1000);
    json!({
        "page": {
            "name": "Portico",
            "url": format!("{portal_url}/status"),
            "updated_at": time(now),
        },
        "status": {
            "indicator": snapshot.indicator.as_str(),
            "description": snapshot.description,
        },
        "components": snapshot.components.iter().map(|c| json!({
            "name": c.name,
            "stage": c.stage,
            "status": c.status.as_str(),
            "latency_ms": c.probe.as_ref().map(|p| p.latency_ms),
            "checked_at": c.probe.as_ref().map(|p| time(p.checked_at_ms.div_euclid(1000))),
            "probe": c.probe.as_ref().map(|p| p.state.as_str()),
            "error": c.probe.as_ref().and_then(|p| p.error.clone()),
            "uptime_90d": c.uptime_percent.map(|u| (u * 100_000.0).round() / 1000.0),
        })).collect::<Vec<_>>(),
        "incidents": snapshot.incidents.iter()
            .filter(|i| i.kind == IncidentKind::Incident && i.is_open())
            .map(|i| incident_json(i, portal_url))
            .collect::<Vec<_>>(),
        "scheduled_maintenances": snapshot.incidents.iter()
            .filter(|i| i.kind == IncidentKind::Maintenance && i.is_open())
            .map(|i| incident_json(i, portal_url))
            .collect::<Vec<_>>(),
    })
}

async fn feed(State(state): State<PortalState>) -> Result<Response, Response> {
    let snapshot = load(&state).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/atom+xml; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        atom(
            &snapshot.incidents,
            &state.portal_url,
            snapshot.now_ms / 1000,
        ),
    )
        .into_response())
}

/// Text for XML content and attribute values: markup characters escaped, characters XML 1.0
/// does not allow dropped.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The tag URI authority: the portal's host name (RFC 4151 `tag:` ids stay the same for as long
/// as the portal's public URL does).
fn tag_authority(portal_url: &str) -> String {
    url::Url::parse(portal_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "portico.localhost".to_owned())
}

/// The Atom 1.0 document: one entry per update of each incident or maintenance (newest first),
/// with stable `tag:` ids.
pub fn atom(incidents: &[Incident], portal_url: &str, now: i64) -> String {
    let authority = tag_authority(portal_url);
    let mut entries: Vec<(&Incident, &status::IncidentUpdate)> = incidents
        .iter()
        .flat_map(|i| i.updates.iter().map(move |u| (i, u)))
        .collect();
    entries.sort_by(|a, b| {
        b.1.created_at
            .cmp(&a.1.created_at)
            .then_with(|| b.1.id.cmp(&a.1.id))
    });
    entries.truncate(MAX_ENTRIES);
    let updated = entries.first().map_or(now, |(_, u)| u.created_at);
    let page = format!("{portal_url}/status");
    let mut xml = String::new();
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    xml.push_str(&format!(
        "  <id>tag:{},2026:status</id>\n  <title>Portico status: incidents and maintenance</title>\n  <updated>{}</updated>\n",
        xml_escape(&authority),
        time(updated)
    ));
    xml.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        xml_escape(&format!("{portal_url}/status/feed.atom")),
        xml_escape(&page)
    ));
    xml.push_str("  <author><name>Portico</name></author>\n");
    for (incident, update) in entries {
        let kind = match incident.kind {
            IncidentKind::Incident => "Incident",
            IncidentKind::Maintenance => "Maintenance",
        };
        let title = format!("{} ({})", incident.title, update.status.label());
        let mut content = format!("{}: {}", update.status.label(), update.message);
        if !incident.components.is_empty() {
            content.push_str(&format!(
                "\n\nAffected: {}.",
                incident.components.join(", ")
            ));
        }
        content.push_str(&format!("\n{kind}, impact {}.", incident.impact.as_str()));
        if let (Some(start), Some(end)) = (incident.starts_at, incident.ends_at) {
            content.push_str(&format!(" Window: {} to {}.", time(start), time(end)));
        }
        xml.push_str("  <entry>\n");
        xml.push_str(&format!(
            "    <id>tag:{},2026:status:incident:{}:update:{}</id>\n",
            xml_escape(&authority),
            xml_escape(&incident.id),
            xml_escape(&update.id)
        ));
        xml.push_str(&format!("    <title>{}</title>\n", xml_escape(&title)));
        xml.push_str(&format!(
            "    <updated>{}</updated>\n    <published>{}</published>\n",
            time(update.created_at),
            time(update.created_at)
        ));
        xml.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            xml_escape(&format!("{page}#incident-{}", incident.id))
        ));
        xml.push_str(&format!(
            "    <category term=\"{}\"/>\n",
            xml_escape(update.status.as_str())
        ));
        xml.push_str(&format!(
            "    <content type=\"text\">{}</content>\n",
            xml_escape(&content)
        ));
        xml.push_str("  </entry>\n");
    }
    xml.push_str("</feed>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_core::status::{Impact, IncidentUpdate, UpdateStatus};

    #[test]
    fn xml_text_is_escaped_and_cleaned() {
        assert_eq!(
            xml_escape("a < b & \"c\" > 'd'"),
            "a &lt; b &amp; &quot;c&quot; &gt; &apos;d&apos;"
        );
        assert_eq!(xml_escape("line\nnext\u{1}\u{0}"), "line\nnext");
        assert_eq!(
            xml_escape("</content><script>"),
            "&lt;/content&gt;&lt;script&gt;"
        );
    }

    #[test]
    fn the_feed_has_an_entry_per_update_with_stable_ids() {
        let incident = Incident {
            id: "inc_1".into(),
            kind: IncidentKind::Incident,
            title: "Errors on <v2> & more".into(),
            impact: Impact::Major,
            status: UpdateStatus::Identified,
            components: vec!["Sandbox API v2".into()],
            starts_at: None,
            ends_at: None,
            created_at: 1_800_000_000,
            updated_at: 1_800_000_600,
            resolved_at: None,
            updates: vec![
                IncidentUpdate {
                    id: "upd_2".into(),
                    status: UpdateStatus::Identified,
                    message: "Found it".into(),
                    created_at: 1_800_000_600,
                },
                IncidentUpdate {
                    id: "upd_1".into(),
                    status: UpdateStatus::Investigating,
                    message: "Looking".into(),
                    created_at: 1_800_000_000,
                },
            ],
        };
        let xml = atom(
            std::slice::from_ref(&incident),
            "https://developers.example.gov",
            0,
        );
        assert_eq!(xml.matches("<entry>").count(), 2);
        assert!(xml.contains(
            "<id>tag:developers.example.gov,2026:status:incident:inc_1:update:upd_2</id>"
        ));
        assert!(xml.contains("Errors on &lt;v2&gt; &amp; more (Identified)"));
        assert!(!xml.contains("<v2>"));
        assert!(
            xml.contains("<updated>2027-01-15T08:10:00Z</updated>"),
            "{xml}"
        );
        assert!(
            xml.find("upd_2").unwrap() < xml.find("upd_1").unwrap(),
            "newest first"
        );
        assert_eq!(xml, atom(&[incident], "https://developers.example.gov", 5));
        let empty = atom(&[], "http://127.0.0.1:3000", 1_800_000_000);
        assert!(empty.contains("<id>tag:127.0.0.1,2026:status</id>"));
        assert_eq!(empty.matches("<entry>").count(), 0);
    }
}
