//! Mutual-TLS client authentication and certificate-bound access tokens (RFC 8705).
//!
//! The TLS layer (or a trusted proxy) hands over the client's certificate as a
//! [`ClientCertificate`]; the handshake has already proved that the client holds its private
//! key. An application then authenticates at the token endpoint with that certificate alone:
//!
//! - `tls_client_auth` (§2.1): the certificate chains to the configured client CA and carries
//!   the subject DN or the subject alternative name (DNS, URI, e-mail, IP) the application
//!   registered;
//! - `self_signed_tls_client_auth` (§2.2): the certificate (or its public key) is one the
//!   application registered; no CA is involved.
//!
//! Tokens issued to a client that authenticated with its certificate are always bound to it
//! (`cnf.x5t#S256`, §3.1). A client that authenticated otherwise (client secret) gets a bound
//! token when it presented a certificate and its application opted in
//! (`tls_client_certificate_bound_access_tokens`, §3.4). The gateway then refuses the token on
//! any connection without that very certificate ([`check_binding`]).

use crate::apps::applications::{self, AppStatus, Application};
use crate::audit;
use crate::changes::Change;
use crate::clock::{self, UnixTime};
use crate::identity::ActorContext;
use crate::identity::permissions::PortalAction;
use crate::orgs::partners::PartnerStatus;
use crate::tokens::jwk::PublicJwk;
use crate::tokens::verify::VerifyError;
use crate::tokens::{AccessClaims, ClientAuthError, Confirmation};
use crate::{CoreError, CoreResult, Database};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::RdnSequence;

/// The two RFC 8705 `token_endpoint_auth_method` values.
pub const TLS_CLIENT_AUTH: &str = "tls_client_auth";
pub const SELF_SIGNED_TLS_CLIENT_AUTH: &str = "self_signed_tls_client_auth";

/// How many certificates or keys a `self_signed_tls_client_auth` application may register
/// (enough to roll one over without downtime).
pub const MAX_PINNED: usize = 5;

/// The certificate a client presented on this connection (TLS handshake) or that a trusted
/// proxy forwarded. Cheap to clone: it rides in every request's extensions.
#[derive(Clone)]
pub struct ClientCertificate(Arc<CertificateInner>);

struct CertificateInner {
    der: Box<[u8]>,
    thumbprint: String,
    ca_verified: bool,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.0.thumbprint)
            .field("ca_verified", &self.0.ca_verified)
            .finish()
    }
}

impl ClientCertificate {
    /// `der` is the end-entity certificate; `ca_verified` says whether it chains to the
    /// configured client CA (only such certificates can serve `tls_client_auth`).
    pub fn new(der: impl Into<Box<[u8]>>, ca_verified: bool) -> Self {
        let der = der.into();
        let thumbprint = certificate_thumbprint(&der);
        Self(Arc::new(CertificateInner {
            der,
            thumbprint,
            ca_verified,
        }))
    }

    pub fn der(&self) -> &[u8] {
        &self.0.der
    }

    /// RFC 8705 §3.1 `x5t#S256`: base64url SHA-256 of the DER certificate.
    pub fn thumbprint(&self) -> &str {
        &self.0.thumbprint
    }

    pub fn ca_verified(&self) -> bool {
        self.0.ca_verified
    }
}

/// base64url(SHA-256(DER)), unpadded.
pub fn certificate_thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

/// The gateway's check of a certificate-bound token: nothing to do (and nothing computed) for
/// a token without `cnf.x5t#S256`; otherwise the connection must present that certificate.
#[inline]
pub fn check_binding(
    claims: &AccessClaims,
    presented: Option<&ClientCertificate>,
) -> Result<(), VerifyError> {
    let Some(expected) = claims.cnf.as_ref().and_then(|c| c.x5t_s256.as_deref()) else {
        return Ok(());
    };
    let presented = presented.ok_or(VerifyError::CertificateMissing)?;
    if bool::from(expected.as_bytes().ct_eq(presented.thumbprint().as_bytes())) {
        Ok(())
    } else {
        Err(VerifyError::CertificateMismatch)
    }
}

/// A certificate a TLS-terminating proxy forwarded in a header: RFC 9440 `Client-Cert`
/// (`:<base64 DER>:`) or a URL-encoded PEM (nginx `$ssl_client_escaped_cert`). Its DER, when
/// it is a readable certificate.
pub fn parse_forwarded_certificate(value: &str) -> Option<Vec<u8>> {
    let value = value.trim();
    let der = if let Some(inner) = value.strip_prefix(':').and_then(|v| v.strip_suffix(':')) {
        STANDARD.decode(inner).ok()?
    } else {
        let pem = percent_decode(value)?;
        Certificate::load_pem_chain(&pem)
            .ok()?
            .first()?
            .to_der()
            .ok()?
    };
    Certificate::from_der(&der).ok()?;
    Some(der)
}

/// `%XX` escapes decoded; `+` stays `+` (it is a base64 character, not a space, here).
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// An application's registered mutual-TLS method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsAuthMethod {
    TlsClientAuth,
    SelfSignedTlsClientAuth,
}

impl TlsAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsAuthMethod::TlsClientAuth => TLS_CLIENT_AUTH,
            TlsAuthMethod::SelfSignedTlsClientAuth => SELF_SIGNED_TLS_CLIENT_AUTH,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            TLS_CLIENT_AUTH => Some(TlsAuthMethod::TlsClientAuth),
            SELF_SIGNED_TLS_CLIENT_AUTH => Some(TlsAuthMethod::SelfSignedTlsClientAuth),
            _ => None,
        }
    }
}

/// What a `tls_client_auth` certificate must carry (RFC 8705 §2.1.2: exactly one of these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectName {
    /// The subject DN, kept in RFC 4514 form; compared attribute by attribute, ignoring case
    /// and the spaces around separators.
    Dn(String),
    Dns(String),
    Uri(String),
    Email(String),
    Ip(IpAddr),
}

impl SubjectName {
    /// The kinds a form offers, with their RFC 8705 client-metadata names.
    pub const KINDS: [(&'static str, &'static str); 5] = [
        ("dn", "tls_client_auth_subject_dn"),
        ("dns", "tls_client_auth_san_dns"),
        ("uri", "tls_client_auth_san_uri"),
        ("email", "tls_client_auth_san_email"),
        ("ip", "tls_client_auth_san_ip"),
    ];

    /// `kind` is one of `dn`, `dns`, `uri`, `email`, `ip` (or its RFC 8705 metadata name).
    pub fn parse(kind: &str, value: &str) -> CoreResult<Self> {
        let kind = Self::KINDS
            .iter()
            .find(|(short, long)| *short == kind || *long == kind)
            .map(|(short, _)| *short)
            .ok_or_else(|| {
                CoreError::Invalid(format!(
                    "unknown certificate name kind {kind:?}: use dn, dns, uri, email or ip"
                ))
            })?;
        let value = value.trim();
        if value.is_empty() || value.len() > 1000 || value.chars().any(char::is_control) {
            return Err(CoreError::Invalid(
                "the certificate name must be 1-1000 printable characters".into(),
            ));
        }
        let invalid = |what: &str| CoreError::Invalid(format!("{value:?} is not {what}"));
        Ok(match kind {
            "dn" => SubjectName::Dn(canonical_dn(value).ok_or_else(|| {
                invalid(
                    "a distinguished name in RFC 4514 form, e.g. CN=client.example.com,O=Example",
                )
            })?),
            "dns" => {
                let ok = value.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
                });
                if !ok {
                    return Err(invalid("a DNS name"));
                }
                SubjectName::Dns(value.to_ascii_lowercase())
            }
            "uri" => {
                let ok = value.split_once(':').is_some_and(|(scheme, rest)| {
                    !scheme.is_empty()
                        && !rest.is_empty()
                        && scheme
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                }) && !value.contains(char::is_whitespace);
                if !ok {
                    return Err(invalid("an absolute URI"));
                }
                SubjectName::Uri(value.to_owned())
            }
            "email" => {
                let ok = value
                    .split_once('@')
                    .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
                    && !value.contains(char::is_whitespace);
                if !ok {
                    return Err(invalid("an e-mail address"));
                }
                SubjectName::Email(value.to_owned())
            }
            _ => SubjectName::Ip(
                value
                    .parse::<IpAddr>()
                    .map_err(|_| invalid("an IP address"))?
                    .to_canonical(),
            ),
        })
    }

    /// `dn`, `dns`, `uri`, `email` or `ip`.
    pub fn kind(&self) -> &'static str {
        match self {
            SubjectName::Dn(_) => "dn",
            SubjectName::Dns(_) => "dns",
            SubjectName::Uri(_) => "uri",
            SubjectName::Email(_) => "email",
            SubjectName::Ip(_) => "ip",
        }
    }

    /// The RFC 8705 client-metadata name of this kind (e.g. `tls_client_auth_san_dns`).
    pub fn metadata_name(&self) -> &'static str {
        let kind = self.kind();
        Self::KINDS
            .iter()
            .find(|(short, _)| *short == kind)
            .map_or("tls_client_auth_subject_dn", |(_, long)| long)
    }

    pub fn value(&self) -> String {
        match self {
            SubjectName::Dn(v)
            | SubjectName::Dns(v)
            | SubjectName::Uri(v)
            | SubjectName::Email(v) => v.clone(),
            SubjectName::Ip(ip) => ip.to_string(),
        }
    }

    fn matches(&self, cert: &Certificate) -> bool {
        if let SubjectName::Dn(expected) = self {
            let subject = cert.tbs_certificate.subject.to_string();
            return canonical_dn(&subject).is_some_and(|s| s.eq_ignore_ascii_case(expected));
        }
        let Ok(Some((_, san))) = cert.tbs_certificate.get::<SubjectAltName>() else {
            return false;
        };
        san.0.iter().any(|name| match (self, name) {
            (SubjectName::Dns(want), GeneralName::DnsName(got)) => {
                got.as_str().eq_ignore_ascii_case(want)
            }
            (SubjectName::Uri(want), GeneralName::UniformResourceIdentifier(got)) => {
                got.as_str() == want
            }
            (SubjectName::Email(want), GeneralName::Rfc822Name(got)) => {
                got.as_str().eq_ignore_ascii_case(want)
            }
            (SubjectName::Ip(want), GeneralName::IpAddress(got)) => {
                ip_from_bytes(got.as_bytes()).is_some_and(|ip| ip == *want)
            }
            _ => false,
        })
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::from(b).to_canonical()),
        _ => None,
    }
}

/// Splits at separators not escaped with a backslash.
fn split_unescaped(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == separator {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// An RFC 4514 DN in one spelling: spaces around separators dropped, attribute names
/// upper-case and as short as known (`commonName` → `CN`), values as written. `None` when
/// it is not a DN.
fn canonical_dn(text: &str) -> Option<String> {
    let mut rdns = Vec::new();
    for rdn in split_unescaped(text, ',') {
        let mut atvs = Vec::new();
        for atv in split_unescaped(rdn, '+') {
            let (key, value) = atv.split_once('=')?;
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() || value.is_empty() {
                return None;
            }
            atvs.push(format!("{key}={value}"));
        }
        rdns.push(atvs.join("+"));
    }
    let tidy = rdns.join(",");
    // Parsed and printed by the X.509 library, so `2.5.4.3=x` and `commonName=x` read `CN=x`.
    let parsed = RdnSequence::from_str(&tidy)
        .ok()
        .or_else(|| RdnSequence::from_str(&upper_case_keys(&tidy)).ok())?;
    (!parsed.is_empty()).then(|| parsed.to_string())
}

fn upper_case_keys(dn: &str) -> String {
    split_unescaped(dn, ',')
        .into_iter()
        .map(|rdn| {
            split_unescaped(rdn, '+')
                .into_iter()
                .map(|atv| match atv.split_once('=') {
                    Some((key, value)) => format!("{}={value}", key.to_ascii_uppercase()),
                    None => atv.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A certificate (or key) a `self_signed_tls_client_auth` application registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pinned {
    /// `x5t#S256` of the certificate: only this very certificate.
    Certificate(String),
    /// RFC 7638 thumbprint of the public key: any certificate for this key (so the client can
    /// renew its self-signed certificate without registering it again).
    Key(String),
}

impl Pinned {
    fn encode(&self) -> String {
        match self {
            Pinned::Certificate(t) => format!("x5t#S256:{t}"),
            Pinned::Key(t) => format!("jkt:{t}"),
        }
    }

    fn decode(word: &str) -> Option<Self> {
        if let Some(t) = word.strip_prefix("x5t#S256:") {
            Some(Pinned::Certificate(t.to_owned()))
        } else {
            word.strip_prefix("jkt:").map(|t| Pinned::Key(t.to_owned()))
        }
    }

    /// For lists: what is pinned and the start of its thumbprint.
    pub fn label(&self) -> String {
        let (what, t) = match self {
            Pinned::Certificate(t) => ("certificate", t),
            Pinned::Key(t) => ("public key", t),
        };
        let short: String = t.chars().take(12).collect();
        format!("{what} {short}…")
    }

    /// Reads what a partner pastes: PEM certificates, a JWK or JWK set (a key with `x5c` pins
    /// its certificate, one without pins the key), a PEM public key, or `x5t#S256` values.
    pub fn parse_many(text: &str) -> CoreResult<Vec<Pinned>> {
        let text = text.trim();
        let invalid = |why: &str| CoreError::Invalid(why.to_owned());
        if text.contains("PRIVATE KEY") {
            return Err(invalid(
                "that contains a private key: register only the certificate or the public key",
            ));
        }
        let pinned = if text.contains("-----BEGIN CERTIFICATE-----") {
            Certificate::load_pem_chain(text.as_bytes())
                .map_err(|_| invalid("the PEM certificates could not be read"))?
                .iter()
                .map(|cert| {
                    cert.to_der()
                        .map(|der| Pinned::Certificate(certificate_thumbprint(&der)))
                        .map_err(|_| invalid("the PEM certificates could not be read"))
                })
                .collect::<CoreResult<Vec<_>>>()?
        } else if text.starts_with("-----BEGIN") {
            let key = PublicJwk::from_pem(text).map_err(|e| CoreError::Invalid(e.to_string()))?;
            vec![Pinned::Key(key.thumbprint().to_owned())]
        } else if text.starts_with('{') {
            let value: Value = serde_json::from_str(text)
                .map_err(|_| invalid("the JSON is not a JWK or a JWK set"))?;
            let keys = match value.get("keys") {
                Some(Value::Array(keys)) => keys.clone(),
                Some(_) => return Err(invalid("\"keys\" must be an array of JWKs")),
                None => vec![value],
            };
            keys.iter().map(pin_jwk).collect::<CoreResult<Vec<_>>>()?
        } else {
            text.split_whitespace()
                .map(|word| {
                    let word = word.strip_prefix("x5t#S256:").unwrap_or(word);
                    let ok = word.len() == 43
                        && URL_SAFE_NO_PAD.decode(word).is_ok_and(|b| b.len() == 32);
                    if ok {
                        Ok(Pinned::Certificate(word.to_owned()))
                    } else {
                        Err(invalid(
                            "paste PEM certificates, a JWK or JWK set, a PEM public key, or x5t#S256 thumbprints (43 base64url characters)",
                        ))
                    }
                })
                .collect::<CoreResult<Vec<_>>>()?
        };
        let mut unique: Vec<Pinned> = Vec::new();
        for p in pinned {
            if !unique.contains(&p) {
                unique.push(p);
            }
        }
        if unique.is_empty() {
            return Err(invalid("register at least one certificate or key"));
        }
        if unique.len() > MAX_PINNED {
            return Err(CoreError::Invalid(format!(
                "at most {MAX_PINNED} certificates or keys can be registered"
            )));
        }
        Ok(unique)
    }

    fn matches(&self, presented: &ClientCertificate, key_thumbprint: Option<&str>) -> bool {
        let (want, got) = match self {
            Pinned::Certificate(t) => (t, Some(presented.thumbprint())),
            Pinned::Key(t) => (t, key_thumbprint),
        };
        got.is_some_and(|got| bool::from(want.as_bytes().ct_eq(got.as_bytes())))
    }
}

fn pin_jwk(jwk: &Value) -> CoreResult<Pinned> {
    if let Some(x5c) = jwk.get("x5c") {
        let first = x5c
            .as_array()
            .and_then(|chain| chain.first())
            .and_then(Value::as_str)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|der| Certificate::from_der(der).is_ok())
            .ok_or_else(|| {
                CoreError::Invalid("the JWK's x5c does not hold a DER certificate".into())
            })?;
        // The key must be the certificate's own: it is checked like any registered key.
        PublicJwk::from_json(jwk).map_err(|e| CoreError::Invalid(e.to_string()))?;
        return Ok(Pinned::Certificate(certificate_thumbprint(&first)));
    }
    let key = PublicJwk::from_json(jwk).map_err(|e| CoreError::Invalid(e.to_string()))?;
    Ok(Pinned::Key(key.thumbprint().to_owned()))
}

/// RFC 7638 thumbprint of a certificate's public key, when it is a key type Portico accepts.
fn key_thumbprint(cert: &Certificate) -> Option<String> {
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
    let body = STANDARD.encode(spki);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    PublicJwk::from_pem(&pem)
        .ok()
        .map(|k| k.thumbprint().to_owned())
}

/// An application's mutual-TLS registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtlsSettings {
    /// How the application authenticates with its certificate; `None`: it does not (it may
    /// still want bound tokens).
    pub method: Option<TlsAuthMethod>,
    /// `tls_client_auth`: what the CA-issued certificate must carry.
    pub subject: Option<SubjectName>,
    /// `self_signed_tls_client_auth`: the registered certificates or keys.
    pub pinned: Vec<Pinned>,
    /// RFC 8705 §3.4 `tls_client_certificate_bound_access_tokens`: also bind the tokens of
    /// requests authenticated otherwise (client secret) that present a certificate. Tokens of
    /// certificate-authenticated requests are always bound.
    pub bound_tokens: bool,
    pub updated_at: UnixTime,
}

impl MtlsSettings {
    /// RFC 7591-style client metadata, for the portal and the audit log.
    pub fn metadata(&self) -> Value {
        let mut doc = json!({
            "token_endpoint_auth_method": self.method.map(TlsAuthMethod::as_str),
            "tls_client_certificate_bound_access_tokens": self.bound_tokens,
        });
        if let Some(subject) = &self.subject {
            doc[subject.metadata_name()] = Value::String(subject.value());
        }
        if !self.pinned.is_empty() {
            doc["pinned"] = self.pinned.iter().map(Pinned::label).collect();
        }
        doc
    }
}

/// What the portal submits.
#[derive(Clone, Copy, Debug)]
pub enum MtlsRegistration<'a> {
    /// No certificate authentication.
    Off,
    /// `tls_client_auth`: `kind` as in [`SubjectName::parse`].
    TlsClientAuth { kind: &'a str, value: &'a str },
    /// `self_signed_tls_client_auth`: as in [`Pinned::parse_many`].
    SelfSigned { certificates: &'a str },
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    method: Option<String>,
    subject_kind: Option<String>,
    subject_value: Option<String>,
    pinned: String,
    bound_tokens: i64,
    updated_at: i64,
}

impl SettingsRow {
    fn into_settings(self) -> CoreResult<MtlsSettings> {
        let method =
            match self.method.as_deref() {
                None => None,
                Some(m) => Some(TlsAuthMethod::parse(m).ok_or_else(|| {
                    CoreError::Invalid(format!("unknown mutual-TLS method {m:?}"))
                })?),
            };
        let subject = match (self.subject_kind, self.subject_value) {
            (Some(kind), Some(value)) => Some(SubjectName::parse(&kind, &value)?),
            _ => None,
        };
        Ok(MtlsSettings {
            method,
            subject,
            pinned: self
                .pinned
                .split_whitespace()
                .filter_map(Pinned::decode)
                .collect(),
            bound_tokens: self.bound_tokens != 0,
            updated_at: self.updated_at,
        })
    }
}

/// The application's registration (by its internal id), if any.
pub async fn load(db: &Database, app_id: &str) -> CoreResult<Option<MtlsSettings>> {
    sqlx::query_as::<_, SettingsRow>(
        "SELECT method, subject_kind, subject_value, pinned, bound_tokens, updated_at \
         FROM application_tls_auth WHERE application_id = $1",
    )
    .bind(app_id)
    .fetch_optional(db.pool())
    .await?
    .map(SettingsRow::into_settings)
    .transpose()
}

/// Registers (or removes) the application's certificate authentication and its choice of
/// bound tokens, audited as `application.mtls.changed`. Members who may manage credentials.
pub async fn configure(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    registration: MtlsRegistration<'_>,
    bound_tokens: bool,
) -> CoreResult<Option<MtlsSettings>> {
    let (method, subject, pinned) = match registration {
        MtlsRegistration::Off => (None, None, Vec::new()),
        MtlsRegistration::TlsClientAuth { kind, value } => (
            Some(TlsAuthMethod::TlsClientAuth),
            Some(SubjectName::parse(kind, value)?),
            Vec::new(),
        ),
        MtlsRegistration::SelfSigned { certificates } => (
            Some(TlsAuthMethod::SelfSignedTlsClientAuth),
            None,
            Pinned::parse_many(certificates)?,
        ),
    };
    let now = clock::now();
    let settings = (method.is_some() || bound_tokens).then_some(MtlsSettings {
        method,
        subject,
        pinned,
        bound_tokens,
        updated_at: now,
    });
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) = crate::apps::access::authorize_app_in(
        &mut tx,
        ctx,
        app_id,
        PortalAction::ManageCredentials,
    )
    .await?;
    sqlx::query("DELETE FROM application_tls_auth WHERE application_id = $1")
        .bind(app_id)
        .execute(&mut *tx)
        .await?;
    if let Some(s) = &settings {
        let pinned: Vec<String> = s.pinned.iter().map(Pinned::encode).collect();
        sqlx::query(
            "INSERT INTO application_tls_auth \
             (application_id, method, subject_kind, subject_value, pinned, bound_tokens, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(app_id)
        .bind(s.method.map(TlsAuthMethod::as_str))
        .bind(s.subject.as_ref().map(SubjectName::kind))
        .bind(s.subject.as_ref().map(SubjectName::value))
        .bind(pinned.join(" "))
        .bind(i64::from(s.bound_tokens))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let detail = settings.as_ref().map_or_else(
        || json!({"token_endpoint_auth_method": null}),
        MtlsSettings::metadata,
    );
    tx.record(
        "application.mtls.changed",
        Some(app_id),
        Some(&app.partner_id),
        &detail,
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok(settings)
}

/// Token-endpoint authentication by certificate alone: `client_id` names the application,
/// `presented` must satisfy its registration. On success, the `cnf` its tokens carry.
pub async fn authenticate(
    db: &Database,
    client_id: &str,
    presented: Option<&ClientCertificate>,
) -> Result<(Application, Confirmation), ClientAuthError> {
    let presented = presented.ok_or(ClientAuthError::InvalidClient(
        "no client secret, assertion or client certificate was presented",
    ))?;
    let unavailable = |e: CoreError| {
        tracing::error!(error = %e, "mutual-TLS client lookup failed");
        ClientAuthError::Unavailable
    };
    let app = applications::find_by_client_id(db, client_id)
        .await
        .map_err(unavailable)?
        .ok_or(ClientAuthError::InvalidClient("unknown client_id"))?;
    let settings = load(db, &app.id).await.map_err(unavailable)?;
    let Some(settings) = settings.filter(|s| s.method.is_some()) else {
        return Err(ClientAuthError::InvalidClient(
            "the application has no mutual-TLS registration",
        ));
    };
    let cert = Certificate::from_der(presented.der())
        .map_err(|_| ClientAuthError::InvalidClient("the client certificate could not be read"))?;
    match settings.method {
        Some(TlsAuthMethod::TlsClientAuth) => {
            if !presented.ca_verified() {
                return Err(ClientAuthError::InvalidClient(
                    "the client certificate does not chain to the trusted client CA",
                ));
            }
            if !settings.subject.as_ref().is_some_and(|s| s.matches(&cert)) {
                return Err(ClientAuthError::InvalidClient(
                    "the client certificate does not carry the registered subject",
                ));
            }
        }
        Some(TlsAuthMethod::SelfSignedTlsClientAuth) => {
            let key = if settings.pinned.iter().any(|p| matches!(p, Pinned::Key(_))) {
                key_thumbprint(&cert)
            } else {
                None
            };
            // Every entry is compared (no early exit), like client secrets.
            let matched = settings
                .pinned
                .iter()
                .fold(false, |hit, p| p.matches(presented, key.as_deref()) | hit);
            if !matched {
                return Err(ClientAuthError::InvalidClient(
                    "the client certificate is not one the application registered",
                ));
            }
        }
        None => {
            return Err(ClientAuthError::InvalidClient(
                "the application has no mutual-TLS registration",
            ));
        }
    }
    standing(&app)?;
    Ok((app, bound_to(presented)))
}

/// The `cnf` of a token for `app`, authenticated otherwise (client secret), on a connection
/// that presented `presented`: bound only when the application asked for bound tokens.
/// Without a certificate nothing is looked up.
pub async fn binding_for(
    db: &Database,
    app: &Application,
    presented: Option<&ClientCertificate>,
) -> CoreResult<Option<Confirmation>> {
    let Some(presented) = presented else {
        return Ok(None);
    };
    let wants = load(db, &app.id).await?.is_some_and(|s| s.bound_tokens);
    Ok(wants.then(|| bound_to(presented)))
}

fn bound_to(cert: &ClientCertificate) -> Confirmation {
    Confirmation {
        x5t_s256: Some(cert.thumbprint().to_owned()),
        ..Confirmation::default()
    }
}

/// The same standing rules as secret authentication.
fn standing(app: &Application) -> Result<(), ClientAuthError> {
    if app.status == AppStatus::Suspended {
        return Err(ClientAuthError::UnauthorizedClient(
            "this application is suspended",
        ));
    }
    if app.partner_status == PartnerStatus::Suspended {
        return Err(ClientAuthError::UnauthorizedClient(
            "this application's partner organisation is suspended",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinguished_names_compare_in_one_spelling() {
        let registered = SubjectName::parse("dn", "cn=client.example.com, O=Example Corp").unwrap();
        assert_eq!(
            registered,
            SubjectName::Dn("CN=client.example.com,O=Example Corp".into())
        );
        assert!(SubjectName::parse("dn", "not a dn").is_err());
        assert!(SubjectName::parse("dn", "").is_err());
        assert!(SubjectName::parse("subject", "CN=x").is_err());
        assert_eq!(
            SubjectName::parse("tls_client_auth_san_dns", "Client.Example.COM").unwrap(),
            SubjectName::Dns("client.example.com".into())
        );
        assert!(SubjectName::parse("dns", "bad name!").is_err());
        assert!(SubjectName::parse("uri", "no-scheme").is_err());
        assert!(SubjectName::parse("email", "nobody").is_err());
        assert_eq!(
            SubjectName::parse("ip", "::ffff:192.0.2.1").unwrap(),
            SubjectName::Ip("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn pinned_values_are_read_from_what_partners_paste() {
        let t = certificate_thumbprint(b"certificate");
        assert_eq!(
            Pinned::parse_many(&format!("{t}\n x5t#S256:{t}")).unwrap(),
            vec![Pinned::Certificate(t)]
        );
        assert!(Pinned::parse_many("short").is_err());
        assert!(Pinned::parse_many("").is_err());
        assert!(
            Pinned::parse_many("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
        let jwk = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        let pinned = Pinned::parse_many(jwk).unwrap();
        assert!(matches!(pinned.as_slice(), [Pinned::Key(t)] if t.len() == 43));
        let six: Vec<String> = (0..6).map(|i| certificate_thumbprint(&[i])).collect();
        assert!(Pinned::parse_many(&six.join(" ")).is_err());
    }

    #[test]
    fn unbound_tokens_pass_and_bound_ones_need_their_certificate() {
        let cert = ClientCertificate::new(b"der".to_vec(), false);
        let other = ClientCertificate::new(b"other".to_vec(), true);
        let mut claims = AccessClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            exp: 0,
            iat: 0,
            nbf: 0,
            jti: "j".into(),
            client_id: "c".into(),
            scope: String::new(),
            partner_id: "p".into(),
            cnf: None,
        };
        assert_eq!(check_binding(&claims, None), Ok(()));
        assert_eq!(check_binding(&claims, Some(&other)), Ok(()));
        claims.cnf = Some(bound_to(&cert));
        assert_eq!(check_binding(&claims, Some(&cert)), Ok(()));
        assert_eq!(
            check_binding(&claims, None),
            Err(VerifyError::CertificateMissing)
        );
        assert_eq!(
            check_binding(&claims, Some(&other)),
            Err(VerifyError::CertificateMismatch)
        );
        // A DPoP-only binding is not this module's business.
        claims.cnf = Some(Confirmation {
            jkt: Some("k".into()),
            x5t_s256: None,
        });
        assert_eq!(check_binding(&claims, None), Ok(()));
    }
}
