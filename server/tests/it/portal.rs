use crate::common::{TestApp, get};
use axum::http::StatusCode;

#[tokio::test]
async fn home_page_renders_with_navigation_and_stylesheet() {
    let app = TestApp::sqlite().await;
    let res = app.get_portal("/").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.header("content-type").starts_with("text/html"));
    assert!(
        res.body.starts_with("<!DOCTYPE html>"),
        "{}",
        &res.body[..80]
    );
    assert!(res.body.contains("<title>Portico</title>"));
    for link in [
        r#"href="/docs">Docs<"#,
        r#"href="/apps">Applications<"#,
        r#"href="/status">Status<"#,
        r#"href="/signin" class="nav-signin">Sign in<"#,
    ] {
        assert!(res.body.contains(link), "missing nav link {link}");
    }
    assert!(
        res.body
            .contains(r#"rel="stylesheet" href="/assets/portico.css?v="#)
    );
    // The sandbox's public URL is what the page tells partners to call.
    assert!(res.body.contains("http://sandbox.test/oauth2/token"));
}

#[tokio::test]
async fn every_navigation_target_renders() {
    let app = TestApp::sqlite().await;
    for (path, title) in [
        ("/docs", "Docs · Portico"),
        ("/apps", "Applications · Portico"),
        ("/status", "Status · Portico"),
        ("/signin", "Sign in · Portico"),
    ] {
        let res = app.get_portal(path).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert!(
            res.body.contains(&format!("<title>{title}</title>")),
            "{path}: {}",
            res.body
        );
    }
}

#[tokio::test]
async fn unknown_pages_are_404_with_the_layout() {
    let app = TestApp::sqlite().await;
    for path in ["/no-such-page", "/docs/nested/unknown", "/%E2%9C%93"] {
        let res = app.get_portal(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(res.body.contains("<h1>Page not found</h1>"), "{path}");
        assert!(
            res.body.contains(r#"aria-label="Main""#),
            "{path}: layout kept"
        );
    }
}

#[tokio::test]
async fn status_page_reflects_the_database_without_javascript() {
    let app = TestApp::sqlite().await;
    let res = app.get_portal("/status").await;
    // The answer is in the HTML itself (async SSR), not in a script that fills it later.
    // (The probes and their components are tested in status.rs.)
    assert!(res.body.contains("All systems operational"), "{}", res.body);

    app.database.db.close().await;
    let res = app.get_portal("/status").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.body.contains("Status is unavailable right now."),
        "{}",
        res.body
    );
}

#[tokio::test]
async fn stylesheet_is_served_as_css() {
    let app = TestApp::sqlite().await;
    let res = app.get_portal("/assets/portico.css").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-type"), "text/css; charset=utf-8");
    assert!(res.body.contains(".site-header"));
}

#[tokio::test]
async fn request_ids_are_kept_when_safe_and_replaced_when_not() {
    let app = TestApp::sqlite().await;
    let mut request = get("/");
    request
        .headers_mut()
        .insert("x-request-id", "trace-abc.123".parse().unwrap());
    assert_eq!(
        app.portal(request).await.header("x-request-id"),
        "trace-abc.123"
    );

    let mut request = get("/");
    request
        .headers_mut()
        .insert("x-request-id", "has spaces and ; stuff".parse().unwrap());
    let replaced = app.portal(request).await;
    assert_eq!(
        replaced.header("x-request-id").len(),
        36,
        "a fresh UUID replaces it"
    );

    let a = app.get_portal("/healthz").await;
    let b = app.get_portal("/healthz").await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = TestApp::sqlite().await;
    app.get_portal("/").await;
    app.get_portal("/").await;
    app.get_portal("/nowhere-1").await;
    app.get_portal("/nowhere-2").await;
    app.get_sandbox("/healthz").await;

    let res = app.get_portal("/metrics").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = res.body;
    assert!(
        text.contains(
            r#"portico_http_requests_total{front="portal",method="GET",route="/",status="200"} 2"#
        ),
        "{text}"
    );
    // Unmatched paths share one series instead of one per URL.
    assert!(text.contains(r#"portico_http_requests_total{front="portal",method="GET",route="unmatched",status="404"} 2"#), "{text}");
    assert!(!text.contains("nowhere"));
    assert!(text.contains(r#"portico_http_requests_total{front="sandbox",method="GET",route="/healthz",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"portico_http_request_duration_seconds_count{front="portal",method="GET",route="/",status="200"} 2"#));
}

#[tokio::test]
async fn health_and_readiness_on_both_engines() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let engine = app.database.db.backend().name();
        for res in [
            app.get_portal("/healthz").await,
            app.get_sandbox("/healthz").await,
        ] {
            assert_eq!(res.status, StatusCode::OK);
            assert_eq!(res.json()["status"], "ok");
        }
        for res in [
            app.get_portal("/readyz").await,
            app.get_sandbox("/readyz").await,
        ] {
            assert_eq!(res.status, StatusCode::OK, "{engine}");
            assert_eq!(
                res.json(),
                serde_json::json!({"status": "ready", "database": engine})
            );
        }
        // Once the database is gone, readiness says so (and liveness does not care).
        app.database.db.close().await;
        let res = app.get_sandbox("/readyz").await;
        assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{engine}");
        assert_eq!(res.json()["status"], "unavailable");
        assert_eq!(res.json()["reason"], "database unreachable");
        assert_eq!(app.get_portal("/healthz").await.status, StatusCode::OK);
    }
}
