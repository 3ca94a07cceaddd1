use crate::common::TestApp;
use axum::http::StatusCode;

#[tokio::test]
async fn unknown_sandbox_routes_are_smithy_errors_carrying_the_request_id() {
    let app = TestApp::sqlite().await;
    for path in ["/", "/v1/commercial/nothing", "/oauth2/unknown"] {
        let res = app.get_sandbox(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(res.header("content-type"), "application/json");
        let body = res.json();
        assert_eq!(body["__type"], "NotFoundException");
        assert_eq!(body["requestId"], res.header("x-request-id"));
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn portal_pages_are_not_served_on_the_sandbox_front() {
    let app = TestApp::sqlite().await;
    assert_eq!(app.get_sandbox("/docs").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get_sandbox("/metrics").await.status,
        StatusCode::NOT_FOUND
    );
}
