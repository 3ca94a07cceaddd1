//! Builds each front's complete router: its own routes plus the shared layers.

use crate::http::health;
use crate::http::metrics::HttpMetrics;
use crate::http::observe::{ObserveLayer, ObserveService, label_route};
use crate::portal::{self, PortalState};
use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::future::RouteFuture;
use leptos::prelude::LeptosOptions;
use portico_app::SiteInfo;
use portico_core::Database;
use portico_core::authz::Authorizer;
use portico_core::enforce::Enforcer;
use portico_core::tokens::TokenService;
use portico_sandbox::SandboxState;
use portico_sandbox::client_ip::Cidr;
use portico_sandbox::gateway::{self, Gateway, GatewayBackend, Stage};
use portico_sandbox::limits::GatewayLimits;
use portico_sandbox::model::ApiCatalog;
use portico_sandbox::proxy::UpstreamProxy;
use portico_sandbox::request_log_writer::RequestLogSink;
use portico_sandbox::synthetic::SyntheticBackend;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Layer, Service};

/// What every front is built from.
#[derive(Clone)]
pub struct Shared {
    pub db: Database,
    pub tokens: Arc<TokenService>,
    pub authorizer: Arc<Authorizer>,
    pub catalog: Arc<ApiCatalog>,
    pub limits: Arc<GatewayLimits>,
    pub request_log: RequestLogSink,
    pub trusted_proxies: Arc<Vec<Cidr>>,
    pub metrics: Arc<HttpMetrics>,
    pub portal_url: String,
    pub sandbox_url: String,
    /// The production stage's public URL, when it runs (DPoP proofs name it).
    pub production_url: Option<String>,
    /// Single sign-on, when configured and its provider answered at start-up.
    pub sso: Option<crate::sso::SsoClient>,
    /// The sandbox's data, shared by the gateway and the portal (which resets it).
    pub synthetic: Arc<SyntheticBackend>,
    /// The docs, built from the same models (and lifecycle dates) as the gateway's.
    pub docs: Arc<portico_docsite::LiveDocs>,
    /// The versions' lifecycle dates in force (the gateway's catalogue, the docs).
    pub lifecycles: Arc<crate::lifecycle::VersionLifecycles>,
    /// The portal's client for "Try it" calls to the sandbox.
    pub sandbox_client: reqwest::Client,
    /// Where webhook endpoints may point.
    pub webhook_destinations: crate::http::public_client::DestinationPolicy,
    /// This process's caches that a change (here or on another replica) makes stale.
    pub changes: Arc<crate::changes::Invalidation>,
    /// Client certificates reach the sandbox (TLS here, or forwarded by a trusted proxy):
    /// the token server offers mutual TLS (RFC 8705).
    pub client_certificates: bool,
    /// Secret scanning partners' keys (`PORTICO_SECRET_SCANNING_KEYS`).
    pub secret_scanning: Arc<portico_core::apps::leaks::ScanningKeys>,
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
            request_log: self.request_log.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            deprecation_link: format!("{}/deprecations", self.portal_url),
            public_url: Arc::from(match stage {
                Stage::Sandbox => self.sandbox_url.as_str(),
                Stage::Production => self.production_url.as_deref().unwrap_or_default(),
            }),
        })
    }
}

pub fn portal(shared: &Shared, bound: SocketAddr) -> Front {
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
        reveals: Arc::new(portico_core::apps::reveal::RevealStore::default()),
        synthetic: shared.synthetic.clone(),
        docs: shared.docs.clone(),
        lifecycles: shared.lifecycles.clone(),
        sandbox_client: shared.sandbox_client.clone(),
        event_types: shared.catalog.event_types().into(),
        scopes: Arc::new(shared.catalog.scopes().clone()),
        webhook_destinations: shared.webhook_destinations,
    };
    front("portal", shared, None, portal::router(state))
}

pub fn sandbox(shared: &Shared) -> Front {
    let gateway = shared.gateway(
        Stage::Sandbox,
        GatewayBackend::Synthetic(shared.synthetic.clone()),
    );
    let router = portico_sandbox::router()
        .merge(health::routes())
        .with_state(SandboxState {
            db: shared.db.clone(),
            tokens: shared.tokens.clone(),
            gateway: gateway.clone(),
            public_url: Arc::from(shared.sandbox_url.as_str()),
            client_certificates: shared.client_certificates,
            secret_scanning: shared.secret_scanning.clone(),
        });
    front("sandbox", shared, Some(gateway), router)
}

/// The production stage: the same pipeline, forwarding to `upstream`.
pub fn production(shared: &Shared, upstream: &str) -> Result<Front, String> {
    let proxy = UpstreamProxy::new(upstream, UPSTREAM_TIMEOUT)?;
    let gateway = shared.gateway(Stage::Production, GatewayBackend::Proxy(Arc::new(proxy)));
    let router = health::routes::<Database>()
        .with_state(shared.db.clone())
        .merge(portico_sandbox::production_router(gateway.clone()));
    Ok(front("production", shared, Some(gateway), router))
}

/// How long the production stage waits for its upstream.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// A front's complete service, as `serve` runs it (tests call it with `oneshot`).
pub type Front = ObserveService<ApiFirst>;

fn front(name: &'static str, shared: &Shared, api: Option<Arc<Gateway>>, router: Router) -> Front {
    let router = router.layer(axum::middleware::from_fn(label_route));
    ObserveLayer::new(name, shared.metrics.clone()).layer(ApiFirst { api, router })
}

/// Sends paths under an API version straight to the gateway: they are nearly all of a
/// stage's traffic and the API model routes them, so the router's matching, its boxed route
/// and its per-route layers would be spent for nothing. Every other path goes to the router
/// (whose fallback is the same gateway, for a Smithy-shaped 404).
#[derive(Clone)]
pub struct ApiFirst {
    api: Option<Arc<Gateway>>,
    router: Router,
}

type GatewayFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl Service<Request> for ApiFirst {
    type Response = Response;
    type Error = Infallible;
    type Future = ApiFirstFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request) -> ApiFirstFuture {
        match &self.api {
            Some(gateway) if gateway.catalog.serves_path(request.uri().path()) => {
                let gateway = gateway.clone();
                ApiFirstFuture::Gateway {
                    future: Box::pin(
                        async move { Ok(gateway::handle(State(gateway), request).await) },
                    ),
                }
            }
            _ => ApiFirstFuture::Router {
                future: self.router.call(request),
            },
        }
    }
}

pin_project_lite::pin_project! {
    #[project = ApiFirstProjection]
    pub enum ApiFirstFuture {
        Gateway { #[pin] future: GatewayFuture },
        Router { #[pin] future: RouteFuture<Infallible> },
    }
}

impl Future for ApiFirstFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ApiFirstProjection::Gateway { future } => future.poll(cx),
            ApiFirstProjection::Router { future } => future.poll(cx),
        }
    }
}
