//! Builds each front's complete router: its own routes plus the shared layers.

use crate::http::health;
use crate::http::metrics::HttpMetrics;
use crate::http::observe::{Observe, observe};
use crate::portal::{self, PortalState};
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leptos::prelude::LeptosOptions;
use portico_app::SiteInfo;
use portico_core::Database;
use portico_core::authz::Authorizer;
use portico_core::enforce::Enforcer;
use portico_core::tokens::TokenService;
use portico_sandbox::SandboxState;
use portico_sandbox::audit::AuditSink;
use portico_sandbox::client_ip::Cidr;
use portico_sandbox::gateway::{Gateway, GatewayBackend, Stage};
use portico_sandbox::limits::GatewayLimits;
use portico_sandbox::model::ApiCatalog;
use portico_sandbox::proxy::UpstreamProxy;
use portico_sandbox::synthetic::SyntheticBackend;
use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;

/// What every front is built from.
#[derive(Clone)]
pub struct Shared {
    pub db: Database,
    pub tokens: Arc<TokenService>,
    pub authorizer: Arc<Authorizer>,
    pub catalog: Arc<ApiCatalog>,
    pub limits: Arc<GatewayLimits>,
    pub audit: AuditSink,
    pub trusted_proxies: Arc<Vec<Cidr>>,
    pub metrics: Arc<HttpMetrics>,
    pub portal_url: String,
    pub sandbox_url: String,
    /// Single sign-on, when configured and its provider answered at start-up.
    pub sso: Option<crate::sso::SsoClient>,
    /// The sandbox's data, shared by the gateway and the portal (which resets it).
    pub synthetic: Arc<SyntheticBackend>,
}

impl Shared {
    fn gateway(&self, stage: Stage, backend: GatewayBackend) -> Arc<Gateway> {
        Arc::new(Gateway {
            stage,
            catalog: self.catalog.clone(),
            enforcer: Arc::new(Enforcer::for_stage(
                self.tokens.clone(),
                self.authorizer.clone(),
                match stage {
                    Stage::Sandbox => portico_core::tokens::Stage::Sandbox,
                    Stage::Production => portico_core::tokens::Stage::Production,
                },
            )),
            limits: self.limits.clone(),
            backend,
            audit: self.audit.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            deprecation_link: format!("{}/deprecations", self.portal_url),
        })
    }
}

pub fn portal(shared: &Shared, bound: SocketAddr) -> Router {
    let leptos_options = LeptosOptions::builder()
        .output_name("portico")
        .site_addr(bound)
        .build();
    let state = PortalState {
        leptos_options,
        db: shared.db.clone(),
        metrics: shared.metrics.clone(),
        site: SiteInfo {
            sandbox_url: shared.sandbox_url.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        portal_url: shared.portal_url.clone(),
        trusted_proxies: shared.trusted_proxies.clone(),
        sso: shared.sso.clone(),
        tokens: shared.tokens.clone(),
        reveals: Arc::new(portico_core::reveal::RevealStore::default()),
        synthetic: shared.synthetic.clone(),
    };
    with_layers(portal::router(state), "portal", shared)
}

pub fn sandbox(shared: &Shared) -> Router {
    let router = portico_sandbox::router()
        .merge(health::routes())
        .with_state(SandboxState {
            db: shared.db.clone(),
            tokens: shared.tokens.clone(),
            gateway: shared.gateway(
                Stage::Sandbox,
                GatewayBackend::Synthetic(shared.synthetic.clone()),
            ),
            public_url: Arc::from(shared.sandbox_url.as_str()),
        });
    with_layers(router, "sandbox", shared)
}

/// The production stage: the same pipeline, forwarding to `upstream`.
pub fn production(shared: &Shared, upstream: &str) -> Result<Router, String> {
    let proxy = UpstreamProxy::new(upstream, UPSTREAM_TIMEOUT)?;
    let gateway = shared.gateway(Stage::Production, GatewayBackend::Proxy(Arc::new(proxy)));
    let router = health::routes::<Database>()
        .with_state(shared.db.clone())
        .merge(portico_sandbox::production_router(gateway));
    Ok(with_layers(router, "production", shared))
}

/// How long the production stage waits for its upstream.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

fn with_layers(router: Router, front: &'static str, shared: &Shared) -> Router {
    let observe_state = Observe {
        front,
        metrics: shared.metrics.clone(),
    };
    router
        // Innermost: a panic becomes a generic 500 that still gets an id, a log line and a metric.
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(observe_state, observe))
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "application/json")],
        r#"{"__type":"InternalServerException","message":"Internal server error."}"#,
    )
        .into_response()
}
