//! Webhook signing secrets and signatures.
//!
//! [Standard Webhooks](https://www.standardwebhooks.com/): the secret is `whsec_` + base64 of
//! its bytes (256 bits here); each delivery carries `webhook-id`, `webhook-timestamp` and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, with one `v1,…` entry
//! per secret in force, space-separated (both during a rotation's overlap). The seed's
//! convention `X-Signature: sha256=<hex HMAC-SHA256 of the body>` is offered beside it.
//!
//! The secret must be usable for signing, so it cannot be hashed at rest: callers seal it with
//! the master key (`tokens::keys::KeySealer`) before storing it.

use crate::{CoreError, CoreResult};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::fmt::Write as _;

const PREFIX: &str = "whsec_";
/// 256 bits (Standard Webhooks asks for 192 to 512).
const SECRET_BYTES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// A webhook endpoint's signing secret. Not `Clone`, `Display` or `Serialize`; `Debug` is
/// redacted. Shown once, as [`SigningSecret::to_whsec`].
pub struct SigningSecret(Vec<u8>);

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

impl SigningSecret {
    /// A new secret from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        crate::secret::fill_random(&mut bytes);
        Self(bytes)
    }

    /// Reads `whsec_<base64>` (a secret shown earlier, or unsealed from storage).
    pub fn parse(text: &str) -> CoreResult<Self> {
        let invalid = || CoreError::Invalid("A webhook signing secret looks like whsec_….".into());
        let encoded = text.strip_prefix(PREFIX).ok_or_else(invalid)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| invalid())?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(invalid());
        }
        Ok(Self(bytes))
    }

    /// `whsec_<base64>`: for the partner, once, and for sealing.
    pub fn to_whsec(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length: this cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// `sha256=<hex HMAC-SHA256 of the body>` (the seed's `X-Signature`).
    pub fn x_signature(&self, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(7 + 64);
        out.push_str("sha256=");
        for byte in digest {
            let _ = write!(out, "{byte:02x}");
        }
        out
    }
}

/// The `webhook-signature` value for every secret in force (the new one first during a
/// rotation), space-separated.
pub fn signature_header(
    secrets: &[&SigningSecret],
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_signs_as_published() {
        // The example of the Standard Webhooks specification.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_and_stay_out_of_logs() {
        let secret = SigningSecret::generate();
        let text = secret.to_whsec();
        assert!(text.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&text[6..]).unwrap().len(), 32);
        let again = SigningSecret::parse(&text).unwrap();
        assert_eq!(again.sign("m", 1, b"{}"), secret.sign("m", 1, b"{}"));
        assert_ne!(SigningSecret::generate().to_whsec(), text);
        assert_eq!(format!("{secret:?}"), "SigningSecret(<redacted>)");
        for bad in [
            "",
            "whsec_",
            "whsec_!!!",
            "sk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_AAAA",
        ] {
            assert!(SigningSecret::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rotation_signs_with_both_secrets() {
        let (new, old) = (SigningSecret::generate(), SigningSecret::generate());
        let header = signature_header(&[&new, &old], "msg_1", 1_700_000_000, b"{}");
        let entries: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            entries,
            [
                new.sign("msg_1", 1_700_000_000, b"{}"),
                old.sign("msg_1", 1_700_000_000, b"{}")
            ]
        );
        let x = new.x_signature(b"{}");
        assert!(x.starts_with("sha256=") && x.len() == 7 + 64, "{x}");
    }

    /// The unmodified Python `standardwebhooks` package (PyPI) verifies our signatures, and
    /// refuses them with another secret.
    #[test]
    fn the_python_standardwebhooks_package_verifies_our_signatures() {
        let secret = SigningSecret::generate();
        let other = SigningSecret::generate();
        let body =
            r#"{"type":"order.created","timestamp":"2026-12-06T03:00:00Z","data":{"id":"ord_1"}}"#;
        let timestamp = crate::clock::now();
        let signature = signature_header(&[&secret], "msg_01", timestamp, body.as_bytes());
        let script = r#"
import sys
from standardwebhooks import Webhook
secret, other, msg_id, ts, sig, body = sys.argv[1:7]
headers = {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": sig}
Webhook(secret).verify(body, headers)
try:
    Webhook(other).verify(body, headers)
except Exception:
    print("verified; other secret refused")
"#;
        let output = std::process::Command::new("python3")
            .args(["-c", script])
            .args([
                secret.to_whsec(),
                other.to_whsec(),
                "msg_01".to_owned(),
                timestamp.to_string(),
                signature,
                body.to_owned(),
            ])
            .output()
            .expect("python3 runs (the test command installs standardwebhooks)");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "verified; other secret refused"
        );
    }
}
