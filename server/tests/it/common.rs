//! `TestApp`: both fronts' routers over a throw-away database, driven with `oneshot`.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use portico_core::testing::TestDatabase;
use portico_core::tokens::TokenService;
use portico_server::fronts::{self, Shared};
use portico_server::http::metrics::HttpMetrics;
use std::sync::Arc;
use tower::ServiceExt;

pub struct TestApp {
    pub portal: Router,
    pub sandbox: Router,
    pub tokens: Arc<TokenService>,
    pub database: TestDatabase,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::with(TestDatabase::sqlite().await).await
    }

    pub async fn postgres() -> Self {
        Self::with(TestDatabase::postgres().await).await
    }

    async fn with(database: TestDatabase) -> Self {
        let tokens = Arc::new(portico_core::testing::token_service(&database.db).await);
        let shared = Shared {
            db: database.db.clone(),
            tokens: tokens.clone(),
            authorizer: Arc::new(portico_core::authz::Authorizer::embedded().unwrap()),
            metrics: Arc::new(HttpMetrics::default()),
            portal_url: "http://portal.test".into(),
            sandbox_url: "http://sandbox.test".into(),
        };
        let bound = "127.0.0.1:3000".parse().unwrap();
        Self {
            portal: fronts::portal(&shared, bound),
            sandbox: fronts::sandbox(&shared),
            tokens,
            database,
        }
    }

    pub async fn portal(&self, request: Request<Body>) -> TestResponse {
        send(&self.portal, request).await
    }

    pub async fn sandbox(&self, request: Request<Body>) -> TestResponse {
        send(&self.sandbox, request).await
    }

    pub async fn get_portal(&self, path: &str) -> TestResponse {
        self.portal(get(path)).await
    }

    pub async fn get_sandbox(&self, path: &str) -> TestResponse {
        self.sandbox(get(path)).await
    }

    pub async fn cleanup(self) {
        self.database.cleanup().await;
    }
}

/// A form POST, as OAuth clients send it.
pub fn post_form(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap()
}

async fn send(router: &Router, request: Request<Body>) -> TestResponse {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    TestResponse {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}
