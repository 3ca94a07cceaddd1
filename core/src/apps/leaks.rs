//! Leaked secrets reported by secret scanning partners (the shape of GitHub's secret scanning
//! partner program): a scanner that finds Portico secrets in public code sends them here, each
//! live one is revoked at once, and its organisation is told.
//!
//! - [`ScanningKeys`]: the partners' ECDSA P-256 public keys, each with the identifier its
//!   reports name; a report is believed only when its signature over the raw body verifies.
//! - [`report_leaks`]: looks every reported token up by its SHA-256 (so old-format secrets are
//!   found too), revokes a live client secret or API key (even the application's last one: a
//!   leaked secret must stop working now), records `application.secret.leaked_revoked` /
//!   `application.api_key.leaked_revoked` with the scanner as actor and the URL where it was
//!   found, and queues a [`LEAK_EVENT_TYPE`] webhook to every enabled endpoint of the
//!   organisation. Reporting the same secret again changes nothing and answers the same.

use crate::apps::applications;
use crate::audit::events::{self, Actor, NewAuditEvent};
use crate::changes::Change;
use crate::clock::{self, UnixTime};
use crate::secret::{PlainSecret, SecretKind, checksum_valid};
use crate::webhooks;
use crate::{CoreResult, Database};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sqlx::AnyConnection;
use std::fmt;

/// The webhook event an organisation receives when one of its credentials was found public
/// and revoked. Sent to every enabled endpoint, whatever it subscribes to.
pub const LEAK_EVENT_TYPE: &str = "portico.credential.leaked";

/// Reports handled in one request at most (a scanner batches; this bounds one request's work).
pub const MAX_REPORTS: usize = 1_000;

/// What is kept of a reported URL or source (characters).
const REPORTED_TEXT_MAX: usize = 2_000;

const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";
const KEY_ID_LINE: &str = "key-id:";
const KEY_ID_MAX: usize = 100;

/// One scanning partner's public key.
struct ScanningKey {
    id: String,
    key: ParsedPublicKey,
}

/// The scanning partners' public keys, by identifier. Empty: every report is refused.
#[derive(Default)]
pub struct ScanningKeys(Vec<ScanningKey>);

impl fmt::Debug for ScanningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ScanningKeys").field(&self.ids()).finish()
    }
}

/// Whether a report's signature is the named partner's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    Verified,
    UnknownKey,
    BadSignature,
}

impl ScanningKeys {
    /// Reads keys written as
    ///
    /// ```text
    /// # comments and blank lines are ignored
    /// key-id: github-2026-01
    /// -----BEGIN PUBLIC KEY-----
    /// MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…
    /// -----END PUBLIC KEY-----
    /// ```
    ///
    /// one `key-id:` line before each PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block of an
    /// ECDSA P-256 key. The error names the line or the key identifier that is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys: Vec<ScanningKey> = Vec::new();
        let mut pending_id: Option<String> = None;
        let mut pem: Option<String> = None;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if let Some(base64) = pem.as_mut() {
                if line != PEM_END {
                    base64.push_str(line);
                    continue;
                }
                let id = pending_id.take().unwrap_or_default();
                let der = STANDARD
                    .decode(base64.as_bytes())
                    .map_err(|_| format!("key {id:?}: the PEM block is not valid base64"))?;
                let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, der).map_err(|_| {
                    format!("key {id:?}: not an ECDSA P-256 public key (SubjectPublicKeyInfo)")
                })?;
                keys.push(ScanningKey { id, key });
                pem = None;
            } else if line.is_empty() || line.starts_with('#') {
                continue;
            } else if let Some(id) = line.strip_prefix(KEY_ID_LINE) {
                if let Some(waiting) = &pending_id {
                    return Err(format!(
                        "key {waiting:?} has no PEM block before line {number}"
                    ));
                }
                let id = id.trim();
                let valid = !id.is_empty()
                    && id.len() <= KEY_ID_MAX
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
                if !valid {
                    return Err(format!(
                        "line {number}: a key identifier is 1-{KEY_ID_MAX} letters, digits, '.', '_', ':' or '-'"
                    ));
                }
                if keys.iter().any(|k| k.id == id) {
                    return Err(format!("key {id:?} is listed twice"));
                }
                pending_id = Some(id.to_owned());
            } else if line == PEM_BEGIN {
                if pending_id.is_none() {
                    return Err(format!(
                        "line {number}: write `key-id: <identifier>` before each PEM block"
                    ));
                }
                pem = Some(String::new());
            } else {
                return Err(format!(
                    "line {number}: expected `key-id: <identifier>` or a PEM PUBLIC KEY block"
                ));
            }
        }
        if let Some(id) = pending_id {
            return Err(if pem.is_some() {
                format!("key {id:?}: the PEM block has no {PEM_END} line")
            } else {
                format!("key {id:?} has no PEM block")
            });
        }
        if keys.is_empty() {
            return Err(
                "no key: expected `key-id: <identifier>` then a PEM PUBLIC KEY block".into(),
            );
        }
        Ok(Self(keys))
    }

    /// The configured key identifiers, in file order.
    pub fn ids(&self) -> Vec<&str> {
        self.0.iter().map(|k| k.id.as_str()).collect()
    }

    /// Checks `signature` (ASN.1 DER ECDSA P-256 with SHA-256) over the raw `body` with the key
    /// named `key_id`.
    pub fn verify(&self, key_id: &str, body: &[u8], signature: &[u8]) -> SignatureCheck {
        match self.0.iter().find(|k| k.id == key_id) {
            None => SignatureCheck::UnknownKey,
            Some(k) if k.key.verify_sig(body, signature).is_ok() => SignatureCheck::Verified,
            Some(_) => SignatureCheck::BadSignature,
        }
    }
}

/// One token a scanner found.
#[derive(Debug)]
pub struct LeakReport {
    pub token: PlainSecret,
    /// The scanner's name for it (echoed back), e.g. `portico_client_secret`.
    pub reported_type: String,
    /// Where it was found (a public URL).
    pub url: String,
    /// What kind of place, e.g. `content`, `commit`, `gist`.
    pub source: String,
}

/// The answer for one reported token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeakLabel {
    /// A Portico secret (now revoked, or revoked before).
    TruePositive,
    /// Nothing Portico ever issued.
    FalsePositive,
}

impl LeakLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakLabel::TruePositive => "true_positive",
            LeakLabel::FalsePositive => "false_positive",
        }
    }
}

/// The answer for one report, as the scanner expects it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeakOutcome {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The reported type, or the kind the token's prefix names when none was given.
    pub token_type: String,
    pub label: LeakLabel,
}

/// A stored credential a token matched.
struct Found {
    id: String,
    application_id: String,
    slot: String,
    hint: String,
    live: bool,
}

/// Handles one batch of reports from the scanning partner `key_id` (its signature already
/// verified): revokes, records and notifies as the module says. One transaction per token, so
/// a failure leaves the earlier ones revoked.
pub async fn report_leaks(
    db: &Database,
    key_id: &str,
    reports: &[LeakReport],
) -> CoreResult<Vec<LeakOutcome>> {
    let mut outcomes = Vec::with_capacity(reports.len());
    for report in reports {
        let mut tx = db.begin_write().await?;
        let (label, revoked) = handle_one(&mut tx, key_id, report).await?;
        tx.commit().await?;
        if revoked {
            // Other replicas drop their cached client secrets and API keys at once.
            db.changed(&Change::Applications).await;
        }
        let token_type = if report.reported_type.trim().is_empty() {
            SecretKind::ALL
                .into_iter()
                .find(|k| report.token.expose().starts_with(k.prefix()))
                .map_or("unknown", SecretKind::scanner_type)
                .to_owned()
        } else {
            clip(&report.reported_type)
        };
        outcomes.push(LeakOutcome {
            token_hash: report.token.hash().to_hex(),
            token_type,
            label,
        });
    }
    Ok(outcomes)
}

/// Returns the label and whether a credential was revoked now.
async fn handle_one(
    conn: &mut AnyConnection,
    key_id: &str,
    report: &LeakReport,
) -> CoreResult<(LeakLabel, bool)> {
    let hash = report.token.hash().to_hex();
    let now = clock::now();
    for credential in [Credential::ClientSecret, Credential::ApiKey] {
        if let Some(found) = find(conn, credential, &hash, now).await? {
            if !found.live {
                return Ok((LeakLabel::TruePositive, false));
            }
            revoke(conn, credential, &found, now).await?;
            announce(conn, key_id, report, credential, &found, now).await?;
            return Ok((LeakLabel::TruePositive, true));
        }
    }
    let sign_in_link: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT user_id, used_at FROM sign_in_tokens WHERE token_hash = $1")
            .bind(&hash)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((user_id, used_at)) = sign_in_link {
        if used_at.is_none() {
            // A one-time link spent is a link no one can use.
            sqlx::query("UPDATE sign_in_tokens SET used_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(&hash)
                .execute(&mut *conn)
                .await?;
            let detail = json!({"url": clip(&report.url), "source": clip(&report.source)});
            events::record_event(
                conn,
                NewAuditEvent {
                    actor: Actor::SecretScanner(key_id.to_owned()),
                    action: "user.sign_in_link.leaked_revoked",
                    target: Some(&user_id),
                    partner_id: None,
                    request_id: None,
                    detail: &detail.to_string(),
                },
            )
            .await?;
        }
        return Ok((LeakLabel::TruePositive, false));
    }
    Ok((LeakLabel::FalsePositive, false))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Credential {
    ClientSecret,
    ApiKey,
}

impl Credential {
    fn table(self) -> &'static str {
        match self {
            Credential::ClientSecret => "client_secrets",
            Credential::ApiKey => "api_keys",
        }
    }

    /// The name partners see in the audit log and the webhook.
    fn name(self) -> &'static str {
        match self {
            Credential::ClientSecret => "client_secret",
            Credential::ApiKey => "api_key",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Credential::ClientSecret => "application.secret.leaked_revoked",
            Credential::ApiKey => "application.api_key.leaked_revoked",
        }
    }
}

/// id, application_id, slot, hint, revoked_at, expires_at.
type FoundRow = (String, String, String, String, Option<i64>, Option<i64>);

async fn find(
    conn: &mut AnyConnection,
    credential: Credential,
    hash: &str,
    now: UnixTime,
) -> CoreResult<Option<Found>> {
    let sql = match credential {
        Credential::ClientSecret => {
            "SELECT id, application_id, slot, hint, revoked_at, expires_at FROM client_secrets WHERE secret_hash = $1"
        }
        Credential::ApiKey => {
            "SELECT id, application_id, slot, hint, revoked_at, NULL AS expires_at FROM api_keys WHERE key_hash = $1"
        }
    };
    let row: Option<FoundRow> = sqlx::query_as(sql)
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(
        |(id, application_id, slot, hint, revoked_at, expires_at)| Found {
            id,
            application_id,
            slot,
            hint,
            live: revoked_at.is_none() && expires_at.is_none_or(|t| t > now),
        },
    ))
}

/// Revokes the credential, even the last live one; a revoked primary hands its slot to the
/// other live credential, as a rotation would.
async fn revoke(
    conn: &mut AnyConnection,
    credential: Credential,
    found: &Found,
    now: UnixTime,
) -> CoreResult<()> {
    let table = credential.table();
    sqlx::query(&format!(
        "UPDATE {table} SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    ))
    .bind(now)
    .bind(&found.id)
    .execute(&mut *conn)
    .await?;
    if found.slot == "primary" {
        sqlx::query(&format!(
            "UPDATE {table} SET slot = 'primary' WHERE application_id = $1 AND id <> $2 AND revoked_at IS NULL"
        ))
        .bind(&found.application_id)
        .bind(&found.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The audit record and the organisation's webhook.
async fn announce(
    conn: &mut AnyConnection,
    key_id: &str,
    report: &LeakReport,
    credential: Credential,
    found: &Found,
    now: UnixTime,
) -> CoreResult<()> {
    let app = applications::find_by_id(conn, &found.application_id).await?;
    let partner = app.as_ref().map(|a| a.partner_id.clone());
    let detail = json!({
        "application": found.application_id,
        "client_id": app.as_ref().map(|a| a.client_id.as_str()),
        "credential": credential.name(),
        "slot": found.slot,
        "hint": found.hint,
        "url": clip(&report.url),
        "source": clip(&report.source),
        "checksum_valid": checksum_valid(report.token.expose()).is_some(),
    });
    events::record_event(
        conn,
        NewAuditEvent {
            actor: Actor::SecretScanner(key_id.to_owned()),
            action: credential.action(),
            target: Some(&found.id),
            partner_id: partner.as_deref(),
            request_id: None,
            detail: &detail.to_string(),
        },
    )
    .await?;
    if let Some(app) = app {
        let data = json!({
            "application_id": app.id,
            "application_name": app.name,
            "client_id": app.client_id,
            "credential": credential.name(),
            "credential_id": found.id,
            "hint": found.hint,
            "url": clip(&report.url),
            "source": clip(&report.source),
            "revoked_at": clock::format_rfc3339(now),
        });
        webhooks::enqueue_notice_in(conn, &app.partner_id, LEAK_EVENT_TYPE, &data).await?;
    }
    Ok(())
}

/// Reported text as kept: no control characters, bounded.
fn clip(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(REPORTED_TEXT_MAX)
        .collect()
}

#[cfg(test)]
mod tests;
