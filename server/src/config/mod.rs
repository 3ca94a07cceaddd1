//! Configuration: built-in defaults < `portico.toml` (optional) < environment variables.
//!
//! Every value is validated here, before anything starts; a bad one becomes a [`ConfigError`]
//! naming the variable, the value and where it came from, and the process exits with code 2.

use crate::sso::{OidcClientSecret, OidcSettings};
use portico_core::DatabaseUrl;
use portico_core::tokens::keys::{KeySealer, SigningAlg};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every setting: (environment variable, key in portico.toml, default, meaning).
/// `portico --help` prints this table, so it is the single place that documents them.
pub const SETTINGS: &[(&str, &str, &str, &str)] = &[
    (
        "DATABASE_URL",
        "database_url",
        "sqlite://./data/portico.db",
        "sqlite://FILE or postgres://USER@HOST:PORT/DB (created if missing)",
    ),
    (
        "REDIS_URL",
        "redis_url",
        "",
        "redis://HOST:PORT for rate-limit counters shared by replicas (optional)",
    ),
    (
        "PORTICO_METRICS_ADDR",
        "metrics_addr",
        "",
        "listen address of a separate /metrics endpoint (optional; for processes without the portal front)",
    ),
    (
        "PORTICO_DRAIN_DELAY",
        "drain_delay",
        "0",
        "seconds (0..300) a stopping process keeps serving with /readyz failing, so a load balancer stops sending first",
    ),
    (
        "PORTICO_REDIS_FAILURE",
        "redis_failure",
        "local",
        "while Redis is unreachable: local (each replica limits with its own counters) or allow (fail open)",
    ),
    (
        "PORTICO_PORTAL_ADDR",
        "portal_addr",
        "127.0.0.1:3000",
        "listen address of the portal front",
    ),
    (
        "PORTICO_SANDBOX_ADDR",
        "sandbox_addr",
        "127.0.0.1:4000",
        "listen address of the sandbox front",
    ),
    (
        "PORTICO_PRODUCTION_ADDR",
        "production_addr",
        "",
        "listen address of the production stage (optional; needs PORTICO_UPSTREAM_URL)",
    ),
    (
        "PORTICO_UPSTREAM_URL",
        "upstream_url",
        "",
        "http:// base URL the production stage forwards authorized requests to",
    ),
    (
        "PORTICO_TRUSTED_PROXIES",
        "trusted_proxies",
        "",
        "CIDRs of load balancers whose X-Forwarded-For is believed (space-separated)",
    ),
    (
        "PORTICO_TLS_CERT",
        "tls_cert",
        "",
        "PEM certificate chain: the sandbox and production fronts serve HTTPS (optional; with PORTICO_TLS_KEY)",
    ),
    (
        "PORTICO_TLS_KEY",
        "tls_key",
        "",
        "PEM private key of PORTICO_TLS_CERT",
    ),
    (
        "PORTICO_TLS_CLIENT_CA",
        "tls_client_ca",
        "",
        "PEM bundle of CAs whose client certificates serve tls_client_auth (mutual TLS, RFC 8705; optional)",
    ),
    (
        "PORTICO_CLIENT_CERT_HEADER",
        "client_cert_header",
        "",
        "header in which a trusted proxy forwards the client certificate (RFC 9440 Client-Cert, or nginx $ssl_client_escaped_cert); needs PORTICO_TRUSTED_PROXIES",
    ),
    (
        "PORTICO_FRONTS",
        "fronts",
        "portal,sandbox",
        "which fronts this process runs",
    ),
    (
        "PORTICO_PUBLIC_PORTAL_URL",
        "public_portal_url",
        "http://<portal addr>",
        "portal URL as users reach it (links, emails)",
    ),
    (
        "PORTICO_PUBLIC_SANDBOX_URL",
        "public_sandbox_url",
        "http://<sandbox addr>",
        "sandbox URL as partners reach it",
    ),
    (
        "PORTICO_PUBLIC_PRODUCTION_URL",
        "public_production_url",
        "http://<production addr>",
        "production stage URL as partners reach it (the SDKs' production environment)",
    ),
    (
        "PORTICO_ISSUER",
        "issuer",
        "<public sandbox URL>",
        "`iss` of access tokens",
    ),
    (
        "PORTICO_AUDIENCE",
        "audience",
        "portico-api",
        "`aud` of access tokens",
    ),
    (
        "PORTICO_TOKEN_TTL",
        "token_ttl",
        "900",
        "access token lifetime in seconds (60..3600)",
    ),
    (
        "PORTICO_SIGNING_ALG",
        "signing_alg",
        "ES256",
        "algorithm of new signing keys: ES256, RS256 or EdDSA",
    ),
    (
        "PORTICO_KEY_ROTATION_LEAD",
        "key_rotation_lead",
        "600",
        "seconds a rotated-in key is published before it signs (0..86400)",
    ),
    (
        "PORTICO_MASTER_KEY",
        "master_key",
        "key file beside the database",
        "base64 of 32 bytes encrypting signing keys at rest; same value on every replica",
    ),
    (
        "PORTICO_LOG",
        "log",
        "info",
        "log level (error, warn, info, debug, trace) and/or `json`, comma-separated",
    ),
    (
        "PORTICO_OIDC_ISSUER",
        "oidc_issuer",
        "",
        "OpenID provider for \"Sign in with SSO\" on the portal (optional; with the two below)",
    ),
    (
        "PORTICO_OIDC_CLIENT_ID",
        "oidc_client_id",
        "",
        "client id registered at the provider (redirect URI <public portal URL>/signin/sso/callback)",
    ),
    (
        "PORTICO_OIDC_CLIENT_SECRET",
        "oidc_client_secret",
        "",
        "client secret registered at the provider",
    ),
    (
        "PORTICO_PROBE_INTERVAL",
        "probe_interval",
        "30",
        "seconds between status probes of the token endpoint and each API version (1..3600)",
    ),
    (
        "PORTICO_REQUEST_LOG_RETENTION_DAYS",
        "request_log_retention_days",
        "30",
        "days the request log keeps a call (1..3650); older calls are purged in the background",
    ),
    (
        "PORTICO_WEBHOOKS_ALLOW_HTTP_LOOPBACK",
        "webhooks_allow_http_loopback",
        "false",
        "local development and tests only: webhook endpoints may be plain http on loopback (any port)",
    ),
    (
        "PORTICO_SECRET_SCANNING_KEYS",
        "secret_scanning_keys",
        "",
        "secret scanning partners' ECDSA P-256 public keys: a file path, or inline `key-id: ID` + PEM blocks (optional)",
    ),
    (
        "PORTICO_CONTENT_DIR",
        "content_dir",
        "./content",
        "docs, API models and policies (built-in copy when absent)",
    ),
];

/// Where a raw value came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Environment,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Environment => f.write_str("environment"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid {key}={value:?} (from {origin}): {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        origin: Origin,
        reason: String,
    },
    #[error("cannot read config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("unknown key {key:?} in {path}; known keys: {known}")]
    UnknownKey {
        key: String,
        path: PathBuf,
        known: String,
    },
}

/// The configured master key (base64), never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey(pub String);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    pub level: &'static str,
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fronts {
    pub portal: bool,
    pub sandbox: bool,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub redis_url: Option<String>,
    pub portal_addr: SocketAddr,
    pub sandbox_addr: SocketAddr,
    pub fronts: Fronts,
    /// The production stage: its address and upstream, both or neither.
    pub production: Option<(SocketAddr, String)>,
    pub trusted_proxies: String,
    /// `None` means "derive from the bound address" (known only after binding port 0).
    pub public_portal_url: Option<String>,
    pub public_sandbox_url: Option<String>,
    pub public_production_url: Option<String>,
    pub issuer: Option<String>,
    pub audience: String,
    pub token_ttl: Duration,
    pub signing_alg: SigningAlg,
    pub key_rotation_lead: Duration,
    /// Base64 master key; `None` means "use (or create) the key file".
    pub master_key: Option<MasterKey>,
    pub log: LogConfig,
    pub content_dir: PathBuf,
    /// Time between two passes of the status probes (portal processes run them).
    pub probe_interval: Duration,
    /// Portal single sign-on: all three `PORTICO_OIDC_*` settings, or none.
    pub oidc: Option<OidcSettings>,
    /// Webhook endpoints on plain http to loopback (local development and tests).
    pub webhooks_allow_http_loopback: bool,
    /// A listener for `/metrics` alone (the portal front serves it too).
    pub metrics_addr: Option<SocketAddr>,
    /// How long a stopping process serves on with `/readyz` failing.
    pub drain_delay: Duration,
    /// What the gateway's limiter does while Redis is unreachable.
    pub redis_failure: portico_sandbox::limits::RedisFailurePolicy,
    /// How long the request log keeps a call.
    pub request_log_retention: Duration,
    /// HTTPS on the sandbox and production fronts (client certificates optional).
    pub tls: Option<crate::tls::TlsServer>,
    /// CAs of `tls_client_auth` certificates (TLS here, or forwarded by a proxy).
    pub tls_client_ca: Option<crate::tls::ClientCa>,
    /// The header a trusted proxy forwards client certificates in.
    pub client_cert_header: Option<axum::http::HeaderName>,
    /// Whose leak reports `POST /oauth2/secret-scanning/reports` believes (none by default).
    pub secret_scanning_keys: std::sync::Arc<portico_core::apps::leaks::ScanningKeys>,
}

/// Raw values by environment-variable name, each with its origin.
struct Raw(BTreeMap<&'static str, (String, Origin)>);

impl Raw {
    fn get(&self, key: &'static str) -> Option<(&str, &Origin)> {
        self.0
            .get(key)
            .map(|(v, o)| (v.as_str(), o))
            .filter(|(v, _)| !v.is_empty())
    }

    fn parse<T>(
        &self,
        key: &'static str,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let (value, origin) = self.get(key).unwrap_or((default, &Origin::Default));
        parse(value).map_err(|reason| ConfigError::Invalid {
            key,
            value: redact(key, value),
            origin: origin.clone(),
            reason,
        })
    }

    fn parse_optional<T>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some((value, origin)) => {
                parse(value)
                    .map(Some)
                    .map_err(|reason| ConfigError::Invalid {
                        key,
                        value: redact(key, value),
                        origin: origin.clone(),
                        reason,
                    })
            }
        }
    }
}

/// URLs may carry passwords and keys are secrets; error messages must show neither.
fn redact(key: &str, value: &str) -> String {
    if key.ends_with("_KEY") || key.ends_with("_SECRET") {
        "<redacted>".to_owned()
    } else if key.ends_with("_URL") {
        portico_core::db::redact_url_password(value)
    } else {
        value.to_owned()
    }
}

impl Config {
    /// Loads the configuration. `file` is an explicit config path (must exist); without one,
    /// `./portico.toml` is read when present. `env` looks up environment variables.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut raw = Raw(BTreeMap::new());
        let path = match file {
            Some(path) => Some(path.to_path_buf()),
            None => Some(PathBuf::from("portico.toml")).filter(|p| p.exists()),
        };
        if let Some(path) = path {
            read_file(&path, &mut raw)?;
        }
        for (var, ..) in SETTINGS {
            if let Some(value) = env(var) {
                raw.0.insert(var, (value, Origin::Environment));
            }
        }
        Self::from_raw(&raw)
    }

    fn from_raw(raw: &Raw) -> Result<Self, ConfigError> {
        let tls_client_ca = raw.parse_optional("PORTICO_TLS_CLIENT_CA", |v| {
            crate::tls::ClientCa::load(Path::new(v))
        })?;
        Ok(Config {
            tls: parse_tls(raw, tls_client_ca.clone())?,
            client_cert_header: parse_client_cert_header(raw)?,
            tls_client_ca,
            database_url: raw.parse("DATABASE_URL", "sqlite://./data/portico.db", |v| {
                DatabaseUrl::parse(v).map_err(|e| e.to_string())
            })?,
            redis_url: raw.parse_optional("REDIS_URL", parse_redis_url)?,
            portal_addr: raw.parse("PORTICO_PORTAL_ADDR", "127.0.0.1:3000", parse_addr)?,
            sandbox_addr: raw.parse("PORTICO_SANDBOX_ADDR", "127.0.0.1:4000", parse_addr)?,
            fronts: raw.parse("PORTICO_FRONTS", "portal,sandbox", parse_fronts)?,
            production: parse_production(raw)?,
            trusted_proxies: raw.parse("PORTICO_TRUSTED_PROXIES", "", |v| {
                portico_sandbox::client_ip::parse_trusted_proxies(v)
                    .map(|_| v.to_owned())
                    .map_err(|e| e.to_string())
            })?,
            public_portal_url: raw.parse_optional("PORTICO_PUBLIC_PORTAL_URL", parse_public_url)?,
            public_sandbox_url: raw
                .parse_optional("PORTICO_PUBLIC_SANDBOX_URL", parse_public_url)?,
            public_production_url: raw
                .parse_optional("PORTICO_PUBLIC_PRODUCTION_URL", parse_public_url)?,
            issuer: raw.parse_optional("PORTICO_ISSUER", parse_public_url)?,
            audience: raw.parse("PORTICO_AUDIENCE", "portico-api", parse_audience)?,
            token_ttl: raw.parse("PORTICO_TOKEN_TTL", "900", parse_token_ttl)?,
            signing_alg: raw.parse("PORTICO_SIGNING_ALG", "ES256", |v| {
                SigningAlg::parse(v).ok_or_else(|| "expected ES256, RS256 or EdDSA".to_owned())
            })?,
            key_rotation_lead: raw.parse("PORTICO_KEY_ROTATION_LEAD", "600", |v| {
                match v.trim().parse::<u64>() {
                    Ok(secs) if secs <= 86_400 => Ok(Duration::from_secs(secs)),
                    _ => Err("expected a whole number of seconds between 0 and 86400".to_owned()),
                }
            })?,
            master_key: raw.parse_optional("PORTICO_MASTER_KEY", |v| {
                KeySealer::from_base64(v)
                    .map(|_| MasterKey(v.trim().to_owned()))
                    .map_err(|e| e.to_string())
            })?,
            log: raw.parse("PORTICO_LOG", "info", parse_log)?,
            content_dir: raw.parse("PORTICO_CONTENT_DIR", "./content", |v| Ok(PathBuf::from(v)))?,
            probe_interval: raw.parse("PORTICO_PROBE_INTERVAL", "30", parse_probe_interval)?,
            oidc: parse_oidc(raw)?,
            request_log_retention: raw.parse("PORTICO_REQUEST_LOG_RETENTION_DAYS", "30", |v| {
                match v.trim().parse::<u64>() {
                    Ok(days) if (1..=3650).contains(&days) => {
                        Ok(Duration::from_secs(days * 24 * 60 * 60))
                    }
                    _ => Err("expected a whole number of days between 1 and 3650".to_owned()),
                }
            })?,
            webhooks_allow_http_loopback: raw.parse(
                "PORTICO_WEBHOOKS_ALLOW_HTTP_LOOPBACK",
                "false",
                |v| match v.trim() {
                    "true" | "1" => Ok(true),
                    "false" | "0" | "" => Ok(false),
                    _ => Err("expected true or false".to_owned()),
                },
            )?,
            metrics_addr: raw.parse_optional("PORTICO_METRICS_ADDR", parse_addr)?,
            drain_delay: raw.parse("PORTICO_DRAIN_DELAY", "0", |v| {
                match v.trim().parse::<u64>() {
                    Ok(secs) if secs <= 300 => Ok(Duration::from_secs(secs)),
                    _ => Err("expected a whole number of seconds between 0 and 300".to_owned()),
                }
            })?,
            redis_failure: raw.parse("PORTICO_REDIS_FAILURE", "local", |v| match v.trim() {
                "local" => Ok(portico_sandbox::limits::RedisFailurePolicy::LocalLimits),
                "allow" => Ok(portico_sandbox::limits::RedisFailurePolicy::Allow),
                _ => Err("expected local or allow".to_owned()),
            })?,
            secret_scanning_keys: raw
                .parse_optional("PORTICO_SECRET_SCANNING_KEYS", parse_scanning_keys)?
                .map(std::sync::Arc::new)
                .unwrap_or_default(),
        })
    }

    /// The portal's public base URL, given the address it actually bound.
    pub fn portal_url(&self, bound: SocketAddr) -> String {
        self.public_portal_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }

    pub fn sandbox_url(&self, bound: SocketAddr) -> String {
        self.public_sandbox_url
            .clone()
            .unwrap_or_else(|| format!("{}://{bound}", self.api_scheme()))
    }

    /// The production stage's public URL, when this process runs one.
    pub fn production_url(&self, bound: Option<SocketAddr>) -> Option<String> {
        let bound = bound.or(self.production.as_ref().map(|(addr, _)| *addr))?;
        Some(
            self.public_production_url
                .clone()
                .unwrap_or_else(|| format!("{}://{bound}", self.api_scheme())),
        )
    }

    /// The sandbox and production fronts serve HTTPS when a certificate is configured.
    pub(crate) fn api_scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Where partners reach this Portico, as the docs and the SDKs name it.
    pub fn targets(
        &self,
        portal_bound: SocketAddr,
        sandbox_bound: SocketAddr,
        production_bound: Option<SocketAddr>,
    ) -> portico_sdk::Targets {
        portico_sdk::Targets {
            sandbox_url: self.sandbox_url(sandbox_bound),
            production_url: self.production_url(production_bound),
            portal_url: self.portal_url(portal_bound),
            audience: self.audience.clone(),
        }
    }

    /// `iss` of tokens: configured, or the sandbox's public URL.
    pub fn issuer(&self, sandbox_bound: SocketAddr) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| self.sandbox_url(sandbox_bound))
    }
}

/// `PORTICO_TLS_CERT` and `PORTICO_TLS_KEY`, both or neither; each file's problem is named
/// under its own key.
fn parse_tls(
    raw: &Raw,
    client_ca: Option<crate::tls::ClientCa>,
) -> Result<Option<crate::tls::TlsServer>, ConfigError> {
    let invalid = |key: &'static str, reason: String| {
        let (value, origin) = raw.get(key).unwrap_or(("", &Origin::Default));
        ConfigError::Invalid {
            key,
            value: redact(key, value),
            origin: origin.clone(),
            reason,
        }
    };
    match (raw.get("PORTICO_TLS_CERT"), raw.get("PORTICO_TLS_KEY")) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid(
            "PORTICO_TLS_KEY",
            "required with PORTICO_TLS_CERT".into(),
        )),
        (None, Some(_)) => Err(invalid(
            "PORTICO_TLS_CERT",
            "required with PORTICO_TLS_KEY".into(),
        )),
        (Some((cert, _)), Some((key, _))) => {
            crate::tls::TlsServer::load(Path::new(cert), Path::new(key), client_ca)
                .map(Some)
                .map_err(|e| match e {
                    crate::tls::TlsFileError::Certificate(why) => invalid("PORTICO_TLS_CERT", why),
                    crate::tls::TlsFileError::Key(why) => invalid("PORTICO_TLS_KEY", why),
                })
        }
    }
}

fn parse_client_cert_header(raw: &Raw) -> Result<Option<axum::http::HeaderName>, ConfigError> {
    let header = raw.parse_optional("PORTICO_CLIENT_CERT_HEADER", |v| {
        axum::http::HeaderName::from_bytes(v.trim().as_bytes())
            .map_err(|_| "expected an HTTP header name, e.g. Client-Cert".to_owned())
    })?;
    if header.is_some() && raw.get("PORTICO_TRUSTED_PROXIES").is_none() {
        return raw
            .parse_optional("PORTICO_CLIENT_CERT_HEADER", |_| {
                Err::<(), _>(
                    "needs PORTICO_TRUSTED_PROXIES: the header is believed only from those proxies"
                        .to_owned(),
                )
            })
            .map(|_| None);
    }
    Ok(header)
}

fn read_file(path: &Path, raw: &mut Raw) -> Result<(), ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.message().to_owned()))?;
    for (key, value) in table {
        let Some((var, ..)) = SETTINGS.iter().find(|(_, file_key, ..)| *file_key == key) else {
            return Err(ConfigError::UnknownKey {
                key,
                path: path.to_path_buf(),
                known: SETTINGS.iter().map(|s| s.1).collect::<Vec<_>>().join(", "),
            });
        };
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| toml_scalar(item), str::to_owned)
                })
                .collect::<Vec<_>>()
                .join(","),
            other => toml_scalar(&other),
        };
        raw.0.insert(var, (value, Origin::File(path.to_path_buf())));
    }
    Ok(())
}

/// Non-string TOML values as text (booleans, floats, dates); parsing then says if it is wrong.
fn toml_scalar(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(_) | toml::Value::Table(_) => "<list or table>".to_owned(),
    }
}

fn parse_production(raw: &Raw) -> Result<Option<(SocketAddr, String)>, ConfigError> {
    let addr = raw.parse_optional("PORTICO_PRODUCTION_ADDR", parse_addr)?;
    let upstream = raw.parse_optional("PORTICO_UPSTREAM_URL", |v| {
        let url = parse_public_url(v)?;
        if url.starts_with("http://") {
            Ok(url)
        } else {
            Err("the upstream must be an http:// URL".to_owned())
        }
    })?;
    match (addr, upstream) {
        (Some(addr), Some(upstream)) => Ok(Some((addr, upstream))),
        (None, None) => Ok(None),
        (Some(addr), None) => Err(ConfigError::Invalid {
            key: "PORTICO_UPSTREAM_URL",
            value: String::new(),
            origin: Origin::Default,
            reason: format!("required because PORTICO_PRODUCTION_ADDR={addr} is set"),
        }),
        (None, Some(_)) => Err(ConfigError::Invalid {
            key: "PORTICO_PRODUCTION_ADDR",
            value: String::new(),
            origin: Origin::Default,
            reason: "required because PORTICO_UPSTREAM_URL is set".into(),
        }),
    }
}

/// The three single sign-on settings: all or none.
fn parse_oidc(raw: &Raw) -> Result<Option<OidcSettings>, ConfigError> {
    let issuer = raw.parse_optional("PORTICO_OIDC_ISSUER", parse_oidc_issuer)?;
    let client_id = raw.parse_optional("PORTICO_OIDC_CLIENT_ID", |v| {
        let v = v.trim();
        if v.is_empty() || v.chars().any(char::is_control) {
            return Err("must be a non-empty client id".into());
        }
        Ok(v.to_owned())
    })?;
    let client_secret = raw.parse_optional("PORTICO_OIDC_CLIENT_SECRET", |v| {
        if v.trim().is_empty() {
            return Err("must not be blank".into());
        }
        Ok(OidcClientSecret::new(v.trim()))
    })?;
    let keys = [
        ("PORTICO_OIDC_ISSUER", issuer.is_some()),
        ("PORTICO_OIDC_CLIENT_ID", client_id.is_some()),
        ("PORTICO_OIDC_CLIENT_SECRET", client_secret.is_some()),
    ];
    match (issuer, client_id, client_secret) {
        (Some(issuer), Some(client_id), Some(client_secret)) => Ok(Some(OidcSettings {
            issuer,
            client_id,
            client_secret,
        })),
        (None, None, None) => Ok(None),
        _ => {
            let names = |set: bool| {
                keys.iter()
                    .filter(|(_, present)| *present == set)
                    .map(|(key, _)| *key)
                    .collect::<Vec<_>>()
            };
            let (missing, given) = (names(false), names(true));
            Err(ConfigError::Invalid {
                key: missing.first().copied().unwrap_or("PORTICO_OIDC_ISSUER"),
                value: String::new(),
                origin: Origin::Default,
                reason: format!(
                    "single sign-on needs all three PORTICO_OIDC_* settings: {} set, {} missing",
                    given.join(" and "),
                    missing.join(" and "),
                ),
            })
        }
    }
}

/// An OpenID issuer identifier: an absolute http(s) URL without query or fragment, kept exactly
/// as given (the provider's discovery document must name the same issuer).
fn parse_oidc_issuer(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an absolute http:// or https:// URL".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("an issuer has no query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("an issuer has no user name or password".into());
    }
    Ok(url)
}

/// Inline keys (the value starts with `key-id:`, a comment or a PEM block) or a path to a file
/// holding them.
fn parse_scanning_keys(value: &str) -> Result<portico_core::apps::leaks::ScanningKeys, String> {
    let trimmed = value.trim_start();
    let text = if ["key-id:", "#", "-----BEGIN"]
        .iter()
        .any(|start| trimmed.starts_with(start))
    {
        value.to_owned()
    } else {
        std::fs::read_to_string(value.trim())
            .map_err(|e| format!("cannot read the key file {:?}: {e}", value.trim()))?
    };
    portico_core::apps::leaks::ScanningKeys::parse(&text)
}

fn parse_addr(value: &str) -> Result<SocketAddr, String> {
    value
        .parse()
        .map_err(|_| "expected an IP address and port such as 127.0.0.1:3000".to_owned())
}

fn parse_redis_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "redis" | "rediss") {
        return Err("expected redis://HOST:PORT or rediss://HOST:PORT".into());
    }
    Ok(value.to_owned())
}

fn parse_public_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an absolute http:// or https:// URL".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn parse_audience(value: &str) -> Result<String, String> {
    if value.trim().is_empty() || value.chars().any(char::is_whitespace) {
        return Err("must be a non-empty string without spaces".into());
    }
    Ok(value.to_owned())
}

fn parse_token_ttl(value: &str) -> Result<Duration, String> {
    let seconds: u64 = value
        .trim()
        .parse()
        .map_err(|_| "expected a whole number of seconds".to_owned())?;
    if !(60..=3600).contains(&seconds) {
        return Err("must be between 60 and 3600 seconds".into());
    }
    Ok(Duration::from_secs(seconds))
}

fn parse_probe_interval(value: &str) -> Result<Duration, String> {
    match value.trim().parse::<u64>() {
        Ok(secs) if (1..=3600).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err("expected a whole number of seconds between 1 and 3600".into()),
    }
}

fn parse_fronts(value: &str) -> Result<Fronts, String> {
    let mut fronts = Fronts {
        portal: false,
        sandbox: false,
    };
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item {
            "portal" => fronts.portal = true,
            "sandbox" => fronts.sandbox = true,
            other => {
                return Err(format!(
                    "unknown front {other:?}; expected portal and/or sandbox"
                ));
            }
        }
    }
    if !fronts.portal && !fronts.sandbox {
        return Err("name at least one front: portal, sandbox".into());
    }
    Ok(fronts)
}

fn parse_log(value: &str) -> Result<LogConfig, String> {
    let mut log = LogConfig {
        level: "info",
        format: LogFormat::Human,
    };
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.to_ascii_lowercase().as_str() {
            "json" => log.format = LogFormat::Json,
            "text" | "human" => log.format = LogFormat::Human,
            "error" => log.level = "error",
            "warn" => log.level = "warn",
            "info" => log.level = "info",
            "debug" => log.level = "debug",
            "trace" => log.level = "trace",
            other => {
                return Err(format!(
                    "unknown log setting {other:?}; expected a level (error, warn, info, debug, trace) and/or json"
                ));
            }
        }
    }
    Ok(log)
}

#[cfg(test)]
mod tests;
