//! Secrets as types. A [`PlainSecret`] exists only between generation and the one time it is
//! shown; storage only ever sees its [`HashedSecret`]. Neither prints its value through `Debug`.

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
    /// Reserved for personal access tokens (not issued yet): the format and the published
    /// scanner rules already cover them.
    PersonalAccessToken,
}

impl SecretKind {
    /// Every kind, for scanners' rules and tests.
    pub const ALL: [SecretKind; 4] = [
        SecretKind::ClientSecret,
        SecretKind::ApiKey,
        SecretKind::SignInToken,
        SecretKind::PersonalAccessToken,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "pcs_",
            SecretKind::ApiKey => "pak_",
            SecretKind::SignInToken => "pst_",
            SecretKind::PersonalAccessToken => "ppt_",
        }
    }

    /// The name secret scanners use for this kind (the `type` of a leak report).
    pub fn scanner_type(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "portico_client_secret",
            SecretKind::ApiKey => "portico_api_key",
            SecretKind::SignInToken => "portico_sign_in_token",
            SecretKind::PersonalAccessToken => "portico_personal_access_token",
        }
    }

    fn from_prefix(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| text.starts_with(k.prefix()))
    }
}

/// Characters of the random body and of the checksum.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random base62 characters after the prefix: 43 × log2(62) ≈ 256 bits.
pub const BODY_CHARS: usize = 43;
/// Base62 CRC32 after the body (62^6 > 2^32), zero-padded.
pub const CHECKSUM_CHARS: usize = 6;
/// Length of every current-format secret: 4-character prefix, body, checksum.
pub const SECRET_CHARS: usize = 4 + BODY_CHARS + CHECKSUM_CHARS;

/// CRC-32 (IEEE 802.3, as zlib), table built at compile time.
const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        CRC32_TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8)
    })
}

/// The checksum of `prefix + body`: its CRC32 in base62, most significant digit first.
fn checksum(prefix_and_body: &str) -> [u8; CHECKSUM_CHARS] {
    let mut value = crc32(prefix_and_body.as_bytes());
    let mut out = [b'0'; CHECKSUM_CHARS];
    for digit in out.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// Which kind of Portico secret `text` is, if it is one in the current format with a valid
/// checksum: tells a real secret from random text (or a typo) offline, without a lookup.
/// Old-format secrets (base64url body, no checksum) are `None` here yet still authenticate:
/// verification is by hash.
pub fn checksum_valid(text: &str) -> Option<SecretKind> {
    let kind = SecretKind::from_prefix(text)?;
    if text.len() != SECRET_CHARS || !text.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()) {
        return None;
    }
    let (head, sum) = text.split_at(4 + BODY_CHARS);
    if !head[4..].bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    bool::from(checksum(head).ct_eq(sum.as_bytes())).then_some(kind)
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
    /// About 256 bits from the OS CSPRNG as 43 base62 characters behind the kind's prefix,
    /// then a 6-character checksum (see [`checksum_valid`]), e.g. `pcs_` + 49 characters.
    pub fn generate(kind: SecretKind) -> Self {
        let mut value = String::with_capacity(SECRET_CHARS);
        value.push_str(kind.prefix());
        let mut pool = [0u8; 64];
        while value.len() < 4 + BODY_CHARS {
            fill_random(&mut pool);
            // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
            for &byte in pool.iter().filter(|&&b| b < 248) {
                if value.len() == 4 + BODY_CHARS {
                    break;
                }
                value.push(char::from(BASE62[usize::from(byte % 62)]));
            }
        }
        let sum = checksum(&value);
        value.extend(sum.iter().map(|&b| char::from(b)));
        Self(value)
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

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn generated_secrets_carry_prefix_body_and_valid_checksum() {
        for kind in SecretKind::ALL {
            let secret = PlainSecret::generate(kind);
            let value = secret.expose();
            assert!(value.starts_with(kind.prefix()));
            assert_eq!(value.len(), SECRET_CHARS);
            assert!(value[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
            assert_eq!(checksum_valid(value), Some(kind));
            assert_ne!(value, PlainSecret::generate(kind).expose());
        }
    }

    #[test]
    fn the_body_uses_every_base62_character_about_equally() {
        let mut counts = [0u32; 62];
        for _ in 0..400 {
            let secret = PlainSecret::generate(SecretKind::ApiKey);
            for b in secret.expose()[4..4 + BODY_CHARS].bytes() {
                let at = BASE62.iter().position(|&c| c == b).unwrap();
                counts[at] += 1;
            }
        }
        // 17,200 characters, about 277 each: a skewed alphabet would leave some far off.
        assert!(
            counts.iter().all(|&n| (180..380).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn checksum_refuses_altered_old_format_and_random_text() {
        let value = PlainSecret::generate(SecretKind::ClientSecret)
            .expose()
            .to_owned();
        for at in 4..value.len() {
            let mut altered = value.clone().into_bytes();
            altered[at] = if altered[at] == b'a' { b'b' } else { b'a' };
            let altered = String::from_utf8(altered).unwrap();
            assert_eq!(checksum_valid(&altered), None, "changed at {at}");
        }
        let other_kind = format!("pak_{}", &value[4..]);
        assert_eq!(checksum_valid(&other_kind), None);
        let old_format = format!("pcs_{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
        assert_eq!(checksum_valid(&old_format), None);
        for junk in [
            "",
            "pcs_",
            "pcs_abc",
            "xyz_",
            &value[..value.len() - 1],
            &format!("{value}0"),
        ] {
            assert_eq!(checksum_valid(junk), None, "{junk:?}");
        }
        assert_eq!(checksum_valid(&value.replace("pcs_", "pcs-")), None);
        let multibyte = format!("pcs_é{}", &value[6..]);
        assert_eq!(checksum_valid(&multibyte), None);
    }

    #[test]
    fn old_format_secrets_still_verify_by_hash() {
        let old = PlainSecret::from_presented(format!("pcs_{}", URL_SAFE_NO_PAD.encode([9u8; 32])));
        let stored = old.hash();
        assert!(stored.verify(&PlainSecret::from_presented(old.expose())));
        assert_eq!(old.hint(), format!("{}…", &old.expose()[..8]));
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
