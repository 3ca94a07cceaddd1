//! Secrets as types. A [`PlainSecret`] exists only between generation and the one time it is
//! shown; storage only ever sees its [`HashedSecret`]. Neither prints its value through `Debug`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// What a secret is for; the prefix makes a leaked value recognisable (and greppable by
/// secret scanners) without revealing anything about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    ClientSecret,
    ApiKey,
    SignInToken,
}

impl SecretKind {
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "pcs_",
            SecretKind::ApiKey => "pak_",
            SecretKind::SignInToken => "pst_",
        }
    }
}

/// Random bytes from the operating system's CSPRNG.
///
/// # Panics
/// If the OS cannot provide randomness, which leaves nothing safe to do but stop.
pub(crate) fn fill_random(buf: &mut [u8]) {
    #[expect(
        clippy::expect_used,
        reason = "no secure fallback exists without OS randomness"
    )]
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// A secret in clear text. Deliberately not `Clone`, `Serialize` or `Display`.
pub struct PlainSecret(String);

impl PlainSecret {
    /// 256 bits from the OS CSPRNG behind the kind's prefix.
    pub fn generate(kind: SecretKind) -> Self {
        let mut bytes = [0u8; 32];
        fill_random(&mut bytes);
        Self(format!(
            "{}{}",
            kind.prefix(),
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// Wraps a value presented by a caller so it can be hashed and compared.
    pub fn from_presented(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear text, for the single moment it is shown to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> HashedSecret {
        HashedSecret(Sha256::digest(self.0.as_bytes()).into())
    }

    /// A short, non-secret reminder such as `pcs_Ab3d…` for lists in the portal.
    pub fn hint(&self) -> String {
        let visible: String = self.0.chars().take(8).collect();
        format!("{visible}…")
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(<redacted>)")
    }
}

/// SHA-256 of a secret: what is stored and what lookups use.
#[derive(Clone, PartialEq, Eq)]
pub struct HashedSecret([u8; 32]);

impl HashedSecret {
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }

    /// Constant-time comparison against a presented secret.
    pub fn verify(&self, presented: &PlainSecret) -> bool {
        self.0.ct_eq(&presented.hash().0).into()
    }
}

impl fmt::Debug for HashedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashedSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_carry_prefix_and_256_bits() {
        let secret = PlainSecret::generate(SecretKind::ClientSecret);
        let value = secret.expose();
        assert!(value.starts_with("pcs_"));
        let decoded = URL_SAFE_NO_PAD.decode(&value[4..]).unwrap();
        assert_eq!(decoded.len(), 32);
        assert_ne!(
            value,
            PlainSecret::generate(SecretKind::ClientSecret).expose()
        );
        assert!(
            PlainSecret::generate(SecretKind::ApiKey)
                .expose()
                .starts_with("pak_")
        );
    }

    #[test]
    fn debug_never_prints_the_value() {
        let secret = PlainSecret::generate(SecretKind::ApiKey);
        let hashed = secret.hash();
        assert_eq!(format!("{secret:?}"), "PlainSecret(<redacted>)");
        assert!(!format!("{hashed:?}").contains(&hashed.to_hex()));
    }

    #[test]
    fn verify_accepts_the_secret_and_rejects_others() {
        let secret = PlainSecret::generate(SecretKind::ClientSecret);
        let hashed = secret.hash();
        assert!(hashed.verify(&PlainSecret::from_presented(secret.expose())));
        assert!(!hashed.verify(&PlainSecret::from_presented("pcs_wrong")));
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let hashed = PlainSecret::from_presented("abc").hash();
        assert_eq!(
            hashed.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(HashedSecret::from_hex(&hashed.to_hex()), Some(hashed));
        assert_eq!(HashedSecret::from_hex("zz"), None);
        assert_eq!(HashedSecret::from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn hint_shows_only_the_prefix_and_a_few_characters() {
        let secret = PlainSecret::generate(SecretKind::ClientSecret);
        let hint = secret.hint();
        assert!(hint.starts_with("pcs_"));
        assert_eq!(hint.chars().count(), 9);
    }
}
