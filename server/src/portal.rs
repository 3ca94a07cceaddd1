//! The portal front: Leptos pages rendered on the server, the stylesheet, metrics and health.

use crate::http::{health, metrics::HttpMetrics};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{LeptosRoutes, generate_route_list};
use portico_app::server::PortalContext;
use portico_app::{App, STYLESHEET_PATH, SiteInfo, shell};
use portico_core::Database;
use std::sync::Arc;

const STYLESHEET: &str = include_str!("../../style/portico.css");

#[derive(Clone)]
pub struct PortalState {
    pub leptos_options: LeptosOptions,
    pub db: Database,
    pub metrics: Arc<HttpMetrics>,
    pub site: SiteInfo,
}

impl FromRef<PortalState> for LeptosOptions {
    fn from_ref(state: &PortalState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<PortalState> for Database {
    fn from_ref(state: &PortalState) -> Self {
        state.db.clone()
    }
}

impl PortalState {
    /// Context every page render and server function can read.
    fn provide_context(&self) -> impl Fn() + Clone + Send + Sync + 'static {
        let portal = PortalContext {
            db: self.db.clone(),
        };
        let site = self.site.clone();
        move || {
            provide_context(portal.clone());
            provide_context(site.clone());
        }
    }
}

pub fn router(state: PortalState) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .route(STYLESHEET_PATH, get(stylesheet))
        .route("/metrics", get(metrics))
        .merge(health::routes())
        .leptos_routes_with_context(&state, routes, state.provide_context(), shell)
        .fallback(not_found_page)
        .with_state(state)
}

async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            // The link carries the version, so a day of caching is safe.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn metrics(State(state): State<PortalState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Unknown URLs render the app, whose router shows the not-found page and sets 404.
async fn not_found_page(State(state): State<PortalState>, request: Request<Body>) -> Response {
    let render = leptos_axum::render_app_async_with_context(state.provide_context(), shell);
    render(request).await.into_response()
}
