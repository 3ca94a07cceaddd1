//! The gateway pipeline, shared by the sandbox and the production stage, in the order of the
//! design contract: request id → version → token → API key → IP allowlist → usage plan →
//! Cedar → request validation → backend → request log. Every step's refusal is a Smithy-shaped
//! error; every request, refused or not, becomes one request-log record.

use crate::client_ip::{Cidr, client_ip};
use crate::error::{ErrorKind, FieldErrorBody, GatewayError};
use crate::limits::{GatewayLimits, LimitKind};
use crate::model::{
    ApiCatalog, ApiVersion, Behavior, Lifecycle, Operation, RouteMatch, VersionDates,
};
use crate::proxy::{PrincipalHeaders, UpstreamProxy};
use crate::request_log_writer::RequestLogSink;
use crate::synthetic::{BackendRequest, SyntheticBackend};
use crate::validate::validate_request;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use portico_core::authz::{Resource, ResourceType};
use portico_core::enforce::{Denial, Enforcer, PresentedCredentials};
use portico_core::request_id::RequestId;
use portico_core::tokens::dpop::{self, NoncePolicy, ProofTarget};
use portico_core::traffic::request_log::RequestRecord;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

static UNMATCHED: std::sync::LazyLock<Arc<str>> =
    std::sync::LazyLock::new(|| Arc::from(crate::UNMATCHED_ROUTE));

/// Largest request body the gateway reads.
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Sandbox,
    Production,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Sandbox => "sandbox",
            Stage::Production => "production",
        }
    }
}

/// Where authorized requests go.
#[derive(Clone, Debug)]
pub enum GatewayBackend {
    Synthetic(Arc<SyntheticBackend>),
    Proxy(Arc<UpstreamProxy>),
}

/// Everything the pipeline needs, shared by all requests of one stage.
#[derive(Debug)]
pub struct Gateway {
    pub stage: Stage,
    pub catalog: Arc<ApiCatalog>,
    pub enforcer: Arc<Enforcer>,
    pub limits: Arc<GatewayLimits>,
    pub backend: GatewayBackend,
    pub request_log: RequestLogSink,
    pub trusted_proxies: Arc<Vec<Cidr>>,
    /// Base URL of the portal's deprecation page, for `Link: …; rel="deprecation"`.
    pub deprecation_link: String,
    /// This stage's public base URL: DPoP proofs' `htu` is compared with it plus the request
    /// path (never with the Host header, which the client controls).
    pub public_url: Arc<str>,
}

// Names parsed once: a lookup by `&str` parses the name on every request.
static OIDC_ACCESS_TOKEN: HeaderName = HeaderName::from_static("x-amzn-oidc-accesstoken");
static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The facts gathered along the pipeline, for the request-log record.
struct Trace {
    route: Arc<str>,
    version: Option<Arc<str>>,
    action: Option<Arc<str>>,
    client_id: Option<Arc<str>>,
    partner_id: Option<Arc<str>>,
    scopes: Option<Arc<str>>,
    reason: Option<Arc<str>>,
    allowed: bool,
}

/// The axum handler for every API path of a stage.
pub async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let started = Instant::now();
    let occurred_at_ms = portico_core::clock::now_ms();
    let mut request = request;
    let request_id = request
        .extensions_mut()
        .remove::<RequestId>()
        .unwrap_or_default();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |c| c.0);
    let (parts, body) = request.into_parts();
    let ip = client_ip(peer, &parts.headers, &gateway.trusted_proxies);
    let mut trace = Trace {
        route: UNMATCHED.clone(),
        version: None,
        action: None,
        client_id: None,
        partner_id: None,
        scopes: None,
        reason: None,
        allowed: false,
    };
    let mut response = gateway.run(&parts, body, &request_id, ip, &mut trace).await;
    response
        .extensions_mut()
        .insert(crate::RouteLabel(trace.route.clone()));
    gateway.request_log.record(RequestRecord {
        request_id: request_id.into_string(),
        occurred_at_ms,
        stage: gateway.stage.as_str(),
        client_id: trace.client_id,
        partner_id: trace.partner_id,
        scopes: trace.scopes,
        method: method_name(&parts.method),
        route: trace.route,
        action: trace.action,
        decision: if trace.allowed { "allow" } else { "deny" },
        reason: trace.reason,
        status: response.status().as_u16(),
        latency_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
        version: trace.version,
        client_ip: Some(ip),
    });
    response
}

/// The method's name, without a copy for the standard ones.
fn method_name(method: &Method) -> std::borrow::Cow<'static, str> {
    const STANDARD: [(Method, &str); 7] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
    ];
    STANDARD
        .iter()
        .find(|(standard, _)| standard == method)
        .map_or_else(
            || std::borrow::Cow::Owned(method.as_str().to_owned()),
            |(_, name)| std::borrow::Cow::Borrowed(*name),
        )
}

fn error(kind: ErrorKind, message: impl Into<String>, request_id: &RequestId) -> Response {
    GatewayError::new(kind, message)
        .with_request_id(Some(request_id.clone()))
        .into_response()
}

impl Gateway {
    async fn run(
        &self,
        parts: &Parts,
        body: Body,
        request_id: &RequestId,
        ip: IpAddr,
        trace: &mut Trace,
    ) -> Response {
        // 2. Version and route. HEAD is GET without the body (hyper drops it).
        let method = if parts.method == Method::HEAD {
            &Method::GET
        } else {
            &parts.method
        };
        let (version, operation, path_params) = match self.catalog.route(method, parts.uri.path()) {
            RouteMatch::Found {
                version,
                operation,
                path_params,
            } => (version, operation, path_params),
            RouteMatch::NotFound => {
                trace.reason = Some("no such operation".into());
                return error(
                    ErrorKind::NotFound,
                    "No API operation matches this path.",
                    request_id,
                );
            }
            RouteMatch::MethodNotAllowed { allow } => {
                trace.reason = Some("method not allowed".into());
                let mut response = error(
                    ErrorKind::MethodNotAllowed,
                    format!("{} is not allowed on this path.", parts.method),
                    request_id,
                );
                let allow = allow
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Ok(value) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                return response;
            }
            RouteMatch::VersionGone { version } => {
                trace.version = Some(version.name.clone());
                trace.reason = Some("version sunset".into());
                let since = match version.lifecycle() {
                    Lifecycle::Sunset { since } => since,
                    _ => "an earlier date".to_owned(),
                };
                let current = self.current_version_name();
                return error(
                    ErrorKind::Gone,
                    format!(
                        "API version {} was retired on {since}; use {current}.",
                        version.name
                    ),
                    request_id,
                );
            }
        };
        trace.route = operation.route_label.clone();
        trace.version = Some(version.name.clone());
        trace.action = Some(operation.action.clone());
        // An operation retired on its own answers like a retired version: 410 before any
        // credential check.
        if let Some(deprecation) = &operation.deprecation
            && deprecation.is_gone_at(portico_core::clock::now())
        {
            trace.reason = Some("operation sunset".into());
            let since = deprecation
                .sunset
                .map_or_else(|| "an earlier date".to_owned(), VersionDates::format);
            return error(
                ErrorKind::Gone,
                format!(
                    "{} {} was retired on {since}; see {}?version={} for what replaces it.",
                    operation.method, operation.route_label, self.deprecation_link, version.name
                ),
                request_id,
            );
        }
        let mut response = self
            .run_operation(
                parts,
                body,
                request_id,
                ip,
                trace,
                version,
                operation,
                &path_params,
            )
            .await;
        self.version_headers(version, operation, response.headers_mut());
        response
    }

    fn current_version_name(&self) -> &str {
        self.catalog
            .versions()
            .iter()
            .rev()
            .find(|v| v.lifecycle_state().lifecycle == Lifecycle::Current)
            .map_or("a current version", |v| &*v.name)
    }

    /// RFC 9745 `Deprecation`, RFC 8594 `Sunset` and their `Link` relations, from the dates
    /// in force (a current version costs one uncontended read lock).
    /// An operation deprecated on its own in a current version carries its own dates.
    fn version_headers(
        &self,
        version: &ApiVersion,
        operation: &Operation,
        headers: &mut HeaderMap,
    ) {
        let state = version.lifecycle_state();
        if let Some((deprecation, sunset)) = &state.headers {
            headers.insert("deprecation", deprecation.clone());
            headers.insert("sunset", sunset.clone());
        } else if let Some(own) = &operation.deprecation {
            if let Some(deprecation) = &own.deprecation_header {
                headers.insert("deprecation", deprecation.clone());
            }
            if let Some(sunset) = &own.sunset_header {
                headers.insert("sunset", sunset.clone());
            }
        } else {
            return;
        }
        let link = format!(
            "<{base}?version={v}>; rel=\"deprecation\"; type=\"text/html\", <{base}?version={v}>; rel=\"sunset\"; type=\"text/html\"",
            base = self.deprecation_link,
            v = version.name
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert("link", value);
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one pipeline, its inputs spelled out"
    )]
    async fn run_operation(
        &self,
        parts: &Parts,
        body: Body,
        request_id: &RequestId,
        ip: IpAddr,
        trace: &mut Trace,
        version: &ApiVersion,
        operation: &Operation,
        path_params: &[(String, String)],
    ) -> Response {
        let deny = |trace: &mut Trace, step: &str, why: String| {
            tracing::info!(step, reason = %why, "request denied");
            trace.reason = Some(format!("{step}: {why}").into());
        };

        // 3. Token.
        let credentials = PresentedCredentials {
            authorization: parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            oidc_access_token: parts
                .headers
                .get(&OIDC_ACCESS_TOKEN)
                .and_then(|v| v.to_str().ok()),
        };
        let authenticated = match self.enforcer.authenticate(credentials) {
            // A partner identity provider's token, when direct acceptance may apply.
            Err(denial) if self.enforcer.may_federate(&denial) => {
                self.enforcer
                    .authenticate_federated(credentials, denial)
                    .await
            }
            other => other,
        };
        let token = match authenticated {
            Ok(token) => token,
            Err(denial) => {
                // A genuine token refused for its age, audience or revocation still names
                // its partner: the refusal belongs in that partner's log.
                if let Some(caller) = self.enforcer.refused_caller(credentials, &denial) {
                    trace.client_id = Some(caller.client_id);
                    trace.partner_id = Some(caller.partner_id);
                    trace.scopes = Some(caller.scope);
                }
                deny(trace, denial.step(), denial.reason());
                return GatewayError::from_denial(&denial, Some(request_id.clone()));
            }
        };
        let claims = &token.claims;
        trace.client_id = Some(token.labels.client_id.clone());
        trace.partner_id = Some(token.labels.partner_id.clone());
        trace.scopes = Some(token.labels.scope.clone());
        // RFC 8705 §3: a certificate-bound token needs its certificate on this connection.
        // Bearer tokens (no `cnf`) skip the extension lookup.
        if claims.cnf.is_some()
            && let Err(refused) =
                portico_core::tokens::mtls::check_binding(claims, parts.extensions.get())
        {
            let denial = portico_core::enforce::Denial::InvalidToken(refused);
            deny(trace, denial.step(), denial.reason());
            return GatewayError::from_denial(&denial, Some(request_id.clone()));
        }

        // 3b. DPoP (RFC 9449): a bound token needs a proof by its key for this very request.
        // A bearer token sent as Bearer skips it.
        let bound_jkt = claims.cnf.as_ref().and_then(|cnf| cnf.jkt.as_deref());
        let dpop_scheme = credentials.uses_dpop_scheme();
        let proof = if bound_jkt.is_some() || dpop_scheme {
            let url = format!("{}{}", self.public_url, parts.uri.path());
            let target = ProofTarget {
                method: parts.method.as_str(),
                url: &url,
                access_token: credentials.token().ok(),
                nonce: NoncePolicy::IfPresent,
            };
            let dpop = self.enforcer.tokens.dpop();
            let proofs = crate::dpop::proofs(&parts.headers);
            match dpop::check_presentation(dpop, bound_jkt, dpop_scheme, proofs, &target) {
                Ok(proof) => proof,
                Err(e) => {
                    deny(trace, "dpop", e.to_string());
                    return crate::dpop::refusal(&self.enforcer.tokens, &e, request_id);
                }
            }
        } else {
            None
        };

        // 4-5. API key and IP allowlist, against the application's effective plan.
        let plan = match self.limits.plan_for_client(&claims.client_id).await {
            Ok(plan) => plan,
            Err(e) => {
                deny(trace, e.step(), e.to_string());
                return e
                    .into_gateway_error(Some(request_id.clone()))
                    .into_response();
            }
        };
        // A suspension stops tokens already issued, not only new ones.
        if let Some(refusal) = plan.standing.refusal() {
            deny(trace, "application", refusal.to_owned());
            return error(ErrorKind::Forbidden, refusal, request_id);
        }
        if let Err(e) = dpop::check_application_rule(plan.dpop_required, proof.as_ref()) {
            deny(trace, "dpop", e.to_string());
            return crate::dpop::refusal(&self.enforcer.tokens, &e, request_id);
        }
        let key_check = match GatewayLimits::api_key_header(&parts.headers) {
            Ok(presented) => self.limits.check_api_key(presented, &plan).await,
            Err(e) => Err(e),
        };
        if let Err(e) = key_check.and_then(|()| self.limits.check_ip(ip, &plan)) {
            deny(trace, e.step(), e.to_string());
            return e
                .into_gateway_error(Some(request_id.clone()))
                .into_response();
        }

        // 6. Usage plan.
        let limit = self.limits.check_rate(&plan).await;
        if let Some(rejection) = limit.rejection(Some(request_id.clone())) {
            // The same words as the 429 body, so the partner's log says what the caller read.
            deny(
                trace,
                "usage-plan",
                limit.kind.map_or("", LimitKind::message).to_owned(),
            );
            return rejection;
        }

        // A scope withdrawn from the application since the token was issued no longer counts.
        if let Some(withdrawn) = plan.withdrawn_scope(&operation.required_scopes, &token.scopes) {
            let reason = format!(
                "The scope was withdrawn from this application after this token was issued: {withdrawn}."
            );
            deny(trace, "scope", reason.clone());
            let mut response = error(ErrorKind::Forbidden, reason, request_id);
            if let Ok(challenge) = HeaderValue::from_str(&format!(
                r#"Bearer realm="portico", error="insufficient_scope", scope="{withdrawn}""#
            )) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            limit.apply_headers(response.headers_mut());
            return response;
        }

        // 7. Cedar, on the resource the operation touches.
        let resource = self
            .resource_for(operation, path_params, &claims.partner_id)
            .await;
        // `Err(binding)`: Cedar refused another tenant's object, to be answered after
        // validation as the binding's unknown id is (see `unknown_id_answer`).
        let allowed = match self.enforcer.authorize(
            token.clone(),
            &operation.action,
            &resource,
            &operation.required_scopes,
        ) {
            Ok(allowed) => Ok(allowed),
            Err(denial) => match self.unknown_id_answer(&token, operation, &resource, denial) {
                Ok(binding) => Err(binding),
                Err(denial) => {
                    deny(trace, denial.step(), denial.reason());
                    let mut response = GatewayError::from_denial(&denial, Some(request_id.clone()));
                    limit.apply_headers(response.headers_mut());
                    return response;
                }
            },
        };

        // 8. Request validation.
        let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
            deny(trace, "validation", "body too large".into());
            return error(
                ErrorKind::Validation,
                format!("The request body exceeds {MAX_BODY_BYTES} bytes."),
                request_id,
            );
        };
        let query: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let json = match crate::validate::parse_json_body(&body) {
            Ok(json) => json,
            Err(e) => {
                deny(trace, "validation", "body is not JSON".into());
                let error = FieldErrorBody {
                    path: e.path,
                    message: e.message,
                };
                return self.validation_error(vec![error], request_id, &limit);
            }
        };
        if let Err(errors) = validate_request(
            operation,
            path_params,
            &query,
            &parts.headers,
            json.as_ref(),
        ) {
            deny(
                trace,
                "validation",
                format!("{} field error(s)", errors.len()),
            );
            let errors = errors
                .into_iter()
                .map(|e| FieldErrorBody {
                    path: e.path,
                    message: e.message,
                })
                .collect();
            return self.validation_error(errors, request_id, &limit);
        }
        let allowed = match allowed {
            Ok(allowed) => allowed,
            Err(binding) => {
                let mut response =
                    crate::synthetic::not_found(binding, &resource.id).into_response(request_id);
                trace.reason = Some(crate::synthetic::not_found_reason(binding));
                limit.apply_headers(response.headers_mut());
                return response;
            }
        };
        trace.allowed = true;
        trace.reason = Some(allowed.decision.explanation().clone());

        // 9. Backend.
        let mut response = match &self.backend {
            GatewayBackend::Synthetic(backend) => {
                let idempotency_key = parts
                    .headers
                    .get(&IDEMPOTENCY_KEY)
                    .and_then(|v| v.to_str().ok());
                let answer = backend
                    .handle(BackendRequest {
                        tenant: &claims.partner_id,
                        client_id: &claims.client_id,
                        version,
                        operation,
                        path_params,
                        query: &query,
                        body: json.as_ref(),
                        idempotency_key,
                        preferences: Some(&plan.provider_preferences),
                    })
                    .await;
                // An unknown id is logged as another tenant's object is (see
                // `unknown_id_answer`): a refusal, in the same words.
                if answer.is_not_found()
                    && let Some(binding) = &operation.sandbox
                {
                    trace.allowed = false;
                    trace.reason = Some(crate::synthetic::not_found_reason(binding));
                }
                answer.into_response(request_id)
            }
            GatewayBackend::Proxy(proxy) => {
                let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                // Boxed: the HTTP client's future is large (see the synthetic backend).
                Box::pin(proxy.forward(
                    parts.method.clone(),
                    path_and_query,
                    &parts.headers,
                    body,
                    &PrincipalHeaders {
                        client_id: &claims.client_id,
                        partner_id: &claims.partner_id,
                        scopes: &claims.scope,
                    },
                    request_id,
                ))
                .await
            }
        };
        limit.apply_headers(response.headers_mut());
        // RFC 9449 §8.2: the nonce changed since the client got it; hand over the new one.
        if proof.is_some_and(|p| p.nonce == dpop::NonceState::Previous)
            && let Some(nonce) = crate::dpop::nonce_header(&self.enforcer.tokens)
        {
            response
                .headers_mut()
                .insert(&crate::dpop::DPOP_NONCE, nonce);
        }
        response
    }

    fn validation_error(
        &self,
        errors: Vec<FieldErrorBody>,
        request_id: &RequestId,
        limit: &crate::limits::LimitOutcome,
    ) -> Response {
        let summary = errors
            .iter()
            .map(|e| format!("{} {}", e.path, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut response = GatewayError::new(
            ErrorKind::Validation,
            format!("The request is not valid: {summary}."),
        )
        .with_field_errors(errors)
        .with_request_id(Some(request_id.clone()))
        .into_response();
        limit.apply_headers(response.headers_mut());
        response
    }

    /// Cedar refused `resource`: the tenant rule ([`Enforcer::foreign_object_answer`]) says whether
    /// to answer as an unknown id. When it is another tenant's object, the caller must not learn
    /// that it exists: the refusal (logged here, for operators) is answered as the same id
    /// would be if it existed nowhere. Such an id is addressed in the caller's own tenant (see
    /// [`Self::resource_for`]), so Cedar is asked about exactly that resource: a refusal there
    /// (a missing scope, a forbid whatever the owner) is the answer, as it is for an unknown
    /// id; a permit means the unknown id would pass and end in the backend's
    /// [`crate::synthetic::not_found`]: `Ok` with the binding, for the same answer after
    /// validation. Every other refusal is `Err` as it came. Only on the refusal path.
    fn unknown_id_answer<'o>(
        &self,
        token: &Arc<portico_core::tokens::VerifiedToken>,
        operation: &'o Operation,
        resource: &Resource,
        denial: Denial,
    ) -> Result<&'o crate::model::SandboxBinding, Denial> {
        let Some(binding) = &operation.sandbox else {
            return Err(denial);
        };
        self.enforcer
            .foreign_object_answer(
                token,
                &operation.action,
                resource,
                &operation.required_scopes,
                denial,
            )
            .map(|()| binding)
    }

    /// The Cedar resource of an operation: the addressed object with its real owner (so a
    /// policy, not just the data layout, keeps tenants apart), or the caller's collection.
    async fn resource_for(
        &self,
        operation: &Operation,
        path_params: &[(String, String)],
        caller_tenant: &str,
    ) -> Resource {
        let Some(binding) = &operation.sandbox else {
            return Resource {
                kind: ResourceType::collection(),
                id: operation.operation_id.clone(),
                tenant_id: caller_tenant.to_owned(),
                owner_sub: None,
            };
        };
        let id = binding
            .id_param
            .as_ref()
            .and_then(|name| path_params.iter().find(|(k, _)| k == name))
            .map(|(_, v)| v.as_str());
        match (binding.behavior, id) {
            (Behavior::Get | Behavior::Cancel | Behavior::Delete, Some(id)) => {
                let tenant = match &self.backend {
                    GatewayBackend::Synthetic(backend) => backend
                        .owner_of(binding, id, caller_tenant)
                        .await
                        .unwrap_or_else(|| caller_tenant.to_owned()),
                    // The upstream owns the data; it enforces ownership with x-principal-*.
                    GatewayBackend::Proxy(_) => caller_tenant.to_owned(),
                };
                // Whatever entity type the model names, with the attributes the schema gives it.
                self.enforcer
                    .authorizer
                    .resource(&binding.resource, id, tenant)
            }
            _ => Resource {
                kind: ResourceType::collection(),
                id: binding.collection.clone(),
                tenant_id: caller_tenant.to_owned(),
                owner_sub: None,
            },
        }
    }
}
