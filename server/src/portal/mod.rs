//! The portal front: Leptos pages rendered on the server, the form handlers behind them, the
//! stylesheet, metrics and health.

pub mod actions;
pub mod downloads;
pub mod extract;
pub mod metering_export;
pub mod request_log_export;
pub mod security_headers;
pub mod session;
pub mod session_store;
pub mod status_feed;

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
use portico_app::{App, SCRIPT_PATH, STYLESHEET_PATH, SiteInfo, shell};
use portico_core::Database;
use portico_core::tokens::TokenService;
use portico_sandbox::client_ip::Cidr;
use session_store::DbSessionStore;
use std::sync::Arc;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::sso::SsoClient;

const STYLESHEET: &str = include_str!("../../../style/portico.css");
/// Progressive enhancement only (copy buttons); every page works without it.
const SCRIPT: &str = include_str!("../../../style/portico.js");

#[derive(Clone)]
pub struct PortalState {
    pub leptos_options: LeptosOptions,
    pub db: Database,
    pub metrics: Arc<HttpMetrics>,
    pub site: SiteInfo,
    /// The portal's public URL (`PORTICO_PUBLIC_PORTAL_URL`): CSRF origin and cookie security.
    pub portal_url: String,
    pub trusted_proxies: Arc<Vec<Cidr>>,
    pub sso: Option<SsoClient>,
    pub tokens: Arc<TokenService>,
    pub reveals: Arc<portico_core::apps::reveal::RevealStore>,
    pub synthetic: Arc<portico_sandbox::synthetic::SyntheticBackend>,
    /// The docs, rebuilt when a version's dates change.
    pub docs: Arc<portico_docsite::LiveDocs>,
    pub lifecycles: Arc<crate::lifecycle::VersionLifecycles>,
    /// "Try it" calls the sandbox (at `site.sandbox_url`, nowhere else) with this client.
    pub sandbox_client: reqwest::Client,
    /// The webhook event types of the API models.
    pub event_types: Arc<[String]>,
    /// The known scopes: what registration and scope requests accept.
    pub scopes: Arc<portico_core::authz::scopes::ScopeCatalog>,
    /// Where webhook endpoints may point (`PORTICO_WEBHOOKS_ALLOW_HTTP_LOOPBACK`).
    pub webhook_destinations: crate::http::public_client::DestinationPolicy,
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
            tokens: self.tokens.clone(),
            reveals: self.reveals.clone(),
            docs: self.docs.clone(),
            event_types: self.event_types.clone(),
            scopes: self.scopes.clone(),
        };
        let site = self.site.clone();
        move || {
            provide_context(portal.clone());
            provide_context(site.clone());
        }
    }
}

/// How long a signed-in session lasts without activity.
const SESSION_IDLE: time::Duration = time::Duration::hours(12);

/// The app's route list, generated once per process. Generating it runs the app with a
/// process-global "suppress resource loading" flag (leptos_server), and a page whose resource
/// first polls during that window never finishes rendering (leptos-rs/leptos#4773): with one
/// generation before anything serves, no render can overlap it.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: PortalState) -> Router {
    let routes = route_list();
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("portico_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.portal_url.starts_with("https://"))
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE));
    Router::new()
        .route(STYLESHEET_PATH, get(stylesheet))
        .route(SCRIPT_PATH, get(script))
        .route("/metrics", get(metrics))
        .merge(health::routes())
        .merge(actions::routes())
        .merge(downloads::routes())
        .merge(metering_export::routes())
        .merge(request_log_export::routes())
        .leptos_routes_with_context(&state, routes, state.provide_context(), shell)
        .fallback(not_found_page)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::attach_viewer,
        ))
        .layer(sessions)
        // Public and sessionless (feed readers and monitors poll them): outside the session
        // layers, inside the security headers.
        .merge(status_feed::routes())
        .layer(axum::middleware::from_fn(
            security_headers::security_headers,
        ))
        .with_state(state)
}

async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        SCRIPT,
    )
        .into_response()
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
    crate::http::metrics::exposition(&state.metrics)
}

/// Unknown URLs render the app, whose router shows the not-found page and sets 404.
async fn not_found_page(State(state): State<PortalState>, request: Request<Body>) -> Response {
    let render = leptos_axum::render_app_async_with_context(state.provide_context(), shell);
    render(request).await.into_response()
}
