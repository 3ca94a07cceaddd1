//! The status probes: every `PORTICO_PROBE_INTERVAL`, the process holding the probe lease (one
//! of those running the portal front) walks the real partner path against the sandbox front's
//! public URL (so it works when the sandbox is another `portico` process) and against the
//! production stage when this process runs it: `POST /oauth2/token` (client credentials) with
//! the platform's own probe application, then one read operation of each served, non-sunset API
//! version, chosen from what that version's model declares ([`probe_operation`]); the probe
//! application holds the scopes of those operations. Each result goes to the status tables
//! (`portico_core::status`), where the status page, status.json and the uptime bars read it.
//!
//! The probe application belongs to partner `portico_core::orgs::partners::PROBE_PARTNER`, so its
//! calls are ordinary logged calls under that partner and never count toward a customer's usage
//! or appear in a customer's log. Its client secret is derived from the master key (HKDF), so
//! every replica computes the same secret and the database holds only its SHA-256.

use axum::http::Method;
use portico_core::authz::scopes::Scopes;
use portico_core::secret::PlainSecret;
use portico_core::status::{self, CheckResult, ProbeState};
use portico_core::tokens::keys::KeySealer;
use portico_core::{CoreResult, Database};
use portico_sandbox::model::{ApiCatalog, ApiVersion, Operation, ParamLocation};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, watch};

/// Longest wait for one probe call: a stopped or hung stage is red within two intervals.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// A slower answer than this counts as degraded.
pub const SLOW_AFTER: Duration = Duration::from_secs(2);
/// The label the probe's client secret is derived under.
const SECRET_LABEL: &str = "portico status probe client secret v1";

/// The probe application's client secret, derived from the master key.
pub fn derived_secret(sealer: &KeySealer) -> CoreResult<PlainSecret> {
    use base64::Engine as _;
    let bytes = sealer.derive_secret(SECRET_LABEL)?;
    Ok(PlainSecret::from_presented(format!(
        "{}{}",
        portico_core::secret::SecretKind::ClientSecret.prefix(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )))
}

/// A gateway stage to probe.
#[derive(Clone, Debug)]
pub struct Target {
    /// `sandbox` or `production`: the component names' prefix and the stored stage.
    pub stage: &'static str,
    /// Base URL of the stage's gateway, e.g. `http://127.0.0.1:4000`.
    pub base_url: String,
    /// The `audience` to ask the token endpoint for (`None` = the default, the sandbox).
    pub audience: Option<String>,
}

pub struct Prober {
    db: Database,
    catalog: Arc<ApiCatalog>,
    client: reqwest::Client,
    /// The token endpoint (on the sandbox front).
    token_url: String,
    targets: Vec<Target>,
    secret: PlainSecret,
    /// The scopes of the operations probed: the probe application's, and its tokens'.
    scopes: Scopes,
    /// The probe application's client id once it is known to exist.
    client_id: Mutex<Option<String>>,
    timeout: Duration,
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober")
            .field("token_url", &self.token_url)
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

/// What a call found.
struct Outcome {
    state: ProbeState,
    latency_ms: i64,
    error: Option<String>,
    body: Option<serde_json::Value>,
}

impl Prober {
    /// A prober of the sandbox at `sandbox_url` (token endpoint and gateway) and of `production`
    /// when given. The probe application is made (or checked) on the first pass.
    pub fn new(
        db: Database,
        catalog: Arc<ApiCatalog>,
        sandbox_url: &str,
        production: Option<Target>,
        secret: PlainSecret,
    ) -> Result<Self, String> {
        let client = crate::sso::outbound_client()?;
        let sandbox_url = sandbox_url.trim_end_matches('/').to_owned();
        let mut targets = vec![Target {
            stage: "sandbox",
            base_url: sandbox_url.clone(),
            audience: None,
        }];
        targets.extend(production);
        Ok(Self {
            db,
            client,
            token_url: format!("{sandbox_url}/oauth2/token"),
            targets,
            secret,
            scopes: probe_scopes(&catalog),
            catalog,
            client_id: Mutex::new(None),
            timeout: PROBE_TIMEOUT,
        })
    }

    /// Shorter waits, for tests.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn client_id(&self) -> CoreResult<String> {
        let mut known = self.client_id.lock().await;
        if let Some(id) = known.as_ref() {
            return Ok(id.clone());
        }
        let production = self.targets.iter().any(|t| t.stage == "production");
        let id = status::ensure_probe_application(&self.db, &self.secret, production, &self.scopes)
            .await?;
        *known = Some(id.clone());
        Ok(id)
    }

    /// One pass: probes everything and stores the results.
    pub async fn run_once(&self) -> CoreResult<Vec<CheckResult>> {
        let results = self.probe().await;
        status::record_checks(&self.db, &results).await?;
        Ok(results)
    }

    /// One pass without storing: the portal, the token endpoint, each version on each stage.
    pub async fn probe(&self) -> Vec<CheckResult> {
        let mut results = vec![self.probe_portal().await];
        let client_id = match self.client_id().await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(error = %e, "status probe: cannot set up the probe application");
                None
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        for target in &self.targets {
            let token = match &client_id {
                Some(client_id) => {
                    let (token, check) = self.fetch_token(client_id, target).await;
                    // The token endpoint is one component, probed with the sandbox's token.
                    if target.stage == "sandbox" {
                        results.push(check);
                    }
                    token
                }
                None => None,
            };
            for version in self.catalog.versions() {
                if version.lifecycle().is_gone() {
                    continue;
                }
                let Some(path) = probe_path(version) else {
                    continue;
                };
                let url = format!("{}{path}", target.base_url);
                let component = status::api_component(target.stage, &version.name);
                let client = self.client.clone();
                let token = token.clone();
                let timeout = self.timeout;
                let stage = target.stage;
                tasks.spawn(async move {
                    let checked_at_ms = portico_core::clock::now_ms();
                    let mut request = client.get(&url).header("accept", "application/json");
                    if let Some(token) = &token {
                        request = request.bearer_auth(token);
                    }
                    let mut outcome = call(request, timeout).await;
                    if token.is_none() && outcome.state != ProbeState::Down {
                        // The gateway answered, but without a token nothing real was checked.
                        outcome.state = ProbeState::Degraded;
                        outcome.error =
                            Some("not checked: the probe could not get an access token".into());
                    } else if outcome.state == ProbeState::Operational
                        && !outcome
                            .body
                            .as_ref()
                            .is_some_and(serde_json::Value::is_object)
                    {
                        outcome.state = ProbeState::Degraded;
                        outcome.error = Some("unexpected body: not a JSON object".into());
                    }
                    CheckResult {
                        component,
                        stage: stage.to_owned(),
                        state: outcome.state,
                        latency_ms: outcome.latency_ms,
                        error: outcome.error,
                        checked_at_ms,
                    }
                });
            }
        }
        let mut api = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(result) => api.push(result),
                Err(e) => tracing::warn!(error = %e, "status probe task failed"),
            }
        }
        api.sort_by(|a, b| a.component.cmp(&b.component));
        results.extend(api);
        results
    }

    /// The portal's own check: its database answers.
    async fn probe_portal(&self) -> CheckResult {
        let checked_at_ms = portico_core::clock::now_ms();
        let started = Instant::now();
        let answer = tokio::time::timeout(self.timeout, self.db.ping()).await;
        let latency = started.elapsed();
        let (state, error) = match answer {
            Ok(Ok(())) if latency > SLOW_AFTER => {
                (ProbeState::Degraded, Some("slow database".to_owned()))
            }
            Ok(Ok(())) => (ProbeState::Operational, None),
            Ok(Err(_)) => (ProbeState::Down, Some("database unreachable".to_owned())),
            Err(_) => (ProbeState::Down, Some("database did not answer".to_owned())),
        };
        CheckResult {
            component: status::PORTAL_COMPONENT.to_owned(),
            stage: "portal".to_owned(),
            state,
            latency_ms: millis(latency),
            error,
            checked_at_ms,
        }
    }

    /// `POST /oauth2/token` for `target`'s audience: the token (if any) and the check result.
    async fn fetch_token(&self, client_id: &str, target: &Target) -> (Option<String>, CheckResult) {
        let checked_at_ms = portico_core::clock::now_ms();
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials")
                .append_pair("scope", &self.scopes.to_string());
            if let Some(audience) = &target.audience {
                form.append_pair("audience", audience);
            }
            form.finish()
        };
        let request = self
            .client
            .post(&self.token_url)
            .basic_auth(client_id, Some(self.secret.expose()))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        let mut outcome = call(request, self.timeout).await;
        let token = outcome
            .body
            .as_ref()
            .and_then(|b| b.get("access_token"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        if outcome.state == ProbeState::Operational && token.is_none() {
            outcome.state = ProbeState::Degraded;
            outcome.error = Some("unexpected body: no access_token".into());
        }
        let check = CheckResult {
            component: status::TOKEN_COMPONENT.to_owned(),
            stage: "sandbox".to_owned(),
            state: outcome.state,
            latency_ms: outcome.latency_ms,
            error: outcome.error,
            checked_at_ms,
        };
        (token, check)
    }
}

/// The operation that probes `version`: a `GET` without path parameters or other required
/// parameters (so the probe can call it as is), preferably one whose scopes are all read
/// scopes (`…:read`), else the first such `GET`. `None` when the version has none.
pub fn probe_operation(version: &ApiVersion) -> Option<&Operation> {
    let callable = |op: &&Operation| {
        op.method == Method::GET
            && !op.path.contains('{')
            && !op.required_scopes.is_empty()
            && op.parameters.iter().all(|p| {
                !p.required
                    || (p.location == ParamLocation::Header
                        && p.name.eq_ignore_ascii_case("x-api-key"))
            })
    };
    let reads_only = |op: &&Operation| op.required_scopes.iter().all(|s| s.ends_with(":read"));
    version
        .operations
        .iter()
        .filter(callable)
        .find(reads_only)
        .or_else(|| version.operations.iter().find(callable))
}

/// The path (with query) the probe calls for `version`: its [`probe_operation`], asking for
/// one item when the operation takes a `limit`.
pub fn probe_path(version: &ApiVersion) -> Option<String> {
    let op = probe_operation(version)?;
    let query = if op.parameter(ParamLocation::Query, "limit").is_some() {
        "?limit=1"
    } else {
        ""
    };
    Some(format!("/{}{}{query}", version.name, op.path))
}

/// The scopes of every version's [`probe_operation`]: what the probe application holds.
pub fn probe_scopes(catalog: &ApiCatalog) -> Scopes {
    let names: Vec<&str> = catalog
        .versions()
        .iter()
        .filter_map(probe_operation)
        .flat_map(|op| op.required_scopes.iter().map(String::as_str))
        .collect();
    // Model scope names are checked at load, so they parse.
    Scopes::parse(&names.join(" ")).unwrap_or_default()
}

/// Sends `request` with `timeout` and judges the answer: 200 with a JSON body → operational
/// (degraded when slow); another status → degraded; no answer → down. Error texts name the
/// status or the kind of failure, never a credential.
async fn call(request: reqwest::RequestBuilder, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let sent = request.timeout(timeout).send().await;
    let response = match sent {
        Ok(response) => response,
        Err(e) => {
            let latency_ms = millis(started.elapsed());
            let error = if e.is_timeout() {
                format!("no answer within {} s", timeout.as_secs_f64())
            } else if e.is_connect() {
                "connection failed".to_owned()
            } else {
                "request failed".to_owned()
            };
            return Outcome {
                state: ProbeState::Down,
                latency_ms,
                error: Some(error),
                body: None,
            };
        }
    };
    let status = response.status();
    let body = match tokio::time::timeout(timeout, response.bytes()).await {
        Ok(Ok(bytes)) => Some(bytes),
        _ => None,
    };
    let latency = started.elapsed();
    let latency_ms = millis(latency);
    let Some(body) = body else {
        return Outcome {
            state: ProbeState::Down,
            latency_ms,
            error: Some("the answer was cut off".into()),
            body: None,
        };
    };
    let json = serde_json::from_slice::<serde_json::Value>(&body).ok();
    if status != reqwest::StatusCode::OK {
        // Name the status and, for OAuth/Smithy errors, their code (never the body as a whole).
        let code = json
            .as_ref()
            .and_then(|j| j.get("error").or_else(|| j.get("__type")))
            .and_then(serde_json::Value::as_str)
            .filter(|c| {
                c.len() <= 60 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            })
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        return Outcome {
            state: ProbeState::Degraded,
            latency_ms,
            error: Some(format!("HTTP {}{code}", status.as_u16())),
            body: json,
        };
    }
    let Some(json) = json else {
        return Outcome {
            state: ProbeState::Degraded,
            latency_ms,
            error: Some("unexpected body: not JSON".into()),
            body: None,
        };
    };
    if latency > SLOW_AFTER {
        return Outcome {
            state: ProbeState::Degraded,
            latency_ms,
            error: Some(format!("slow: {latency_ms} ms")),
            body: Some(json),
        };
    }
    Outcome {
        state: ProbeState::Operational,
        latency_ms,
        error: None,
        body: Some(json),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Purges old raw results about once every ten minutes.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Runs a pass every `interval` until shutdown.
pub async fn run(prober: Arc<Prober>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let purge_every = (PURGE_EVERY.as_secs() / interval.as_secs().max(1)).max(1);
    let mut passes: u64 = 0;
    // Several portal replicas share one lease: only its holder probes (see
    // `status::acquire_probe_lease`); a stopped holder is replaced after three intervals.
    let holder = portico_core::ids::new_id("prb");
    let lease_ms = i64::try_from(interval.as_millis().saturating_mul(3)).unwrap_or(i64::MAX / 2);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                match status::acquire_probe_lease(&prober.db, &holder, portico_core::clock::now_ms(), lease_ms).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "status probe: cannot take the probe lease; retrying");
                        continue;
                    }
                }
                if passes.is_multiple_of(purge_every)
                    && let Err(e) = status::purge(&prober.db, portico_core::clock::now_ms(), 20).await
                {
                    tracing::warn!(error = %e, "purging old status probe results failed; retrying later");
                }
                passes += 1;
                match prober.run_once().await {
                    Ok(results) => {
                        for r in results.iter().filter(|r| r.state != ProbeState::Operational) {
                            tracing::info!(component = %r.component, state = r.state.as_str(), error = r.error.as_deref().unwrap_or(""), "status probe");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "storing status probe results failed"),
                }
            }
            _ = shutdown.changed() => {
                if let Err(e) = status::release_probe_lease(&prober.db, &holder).await {
                    tracing::warn!(error = %e, "status probe: cannot give the probe lease up");
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_shipped_version_has_a_read_operation_to_probe() {
        let catalog = ApiCatalog::embedded().unwrap();
        // (A retired version serves no operations: nothing to probe, and it is skipped.)
        for version in catalog
            .versions()
            .iter()
            .filter(|v| !v.operations.is_empty())
        {
            let path = probe_path(version).unwrap_or_else(|| panic!("{}", version.name));
            assert!(path.starts_with(&format!("/{}/", version.name)), "{path}");
            assert!(!path.contains('{'), "{path}");
        }
        assert_eq!(
            probe_path(catalog.version("v2").unwrap()).as_deref(),
            Some("/v2/commercial/orders?limit=1")
        );
        assert_eq!(probe_scopes(&catalog).to_string(), "commercial:read");
    }

    #[test]
    fn the_secret_is_derived_from_the_master_key() {
        let a = KeySealer::from_bytes(&[1u8; 32]).unwrap();
        let b = KeySealer::from_bytes(&[2u8; 32]).unwrap();
        let secret = derived_secret(&a).unwrap();
        assert!(secret.expose().starts_with("pcs_"));
        assert_eq!(secret.expose(), derived_secret(&a).unwrap().expose());
        assert_ne!(secret.expose(), derived_secret(&b).unwrap().expose());
    }
}
