//! Passwords: argon2id hashing with OWASP's parameters (m = 19,456 KiB, t = 2, p = 1), stored as
//! PHC strings, verified in constant time by argon2 itself.
//!
//! Hashing and verifying cost tens of milliseconds of CPU, so the async functions here run them
//! on tokio's blocking pool rather than on a runtime worker.

use crate::{CoreError, CoreResult};
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::fmt;
use std::sync::OnceLock;

/// Memory cost in KiB (OWASP password storage cheat sheet, argon2id option 2).
pub const MEMORY_KIB: u32 = 19_456;
/// Iterations.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 12;
/// Longest accepted password, in characters (bounds the hashing work an attacker can ask for).
pub const MAX_LEN: usize = 256;

/// A password hash as stored in `users.password_hash` (a PHC string such as
/// `$argon2id$v=19$m=19456,t=2,p=1$…`). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored PHC string.
    pub fn from_stored(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string, for storage only.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

fn hasher() -> Argon2<'static> {
    // The parameters are constants inside argon2's accepted ranges; the fallback is unreachable
    // but keeps this free of panics.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the rules, with one clear message per refusal.
/// `email` is the account's address: the password may not be the same.
pub fn validate_new_password(password: &str, email: &str) -> CoreResult<()> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(CoreError::Invalid(format!(
            "Your password must be at least {MIN_LEN} characters long."
        )));
    }
    if chars > MAX_LEN {
        return Err(CoreError::Invalid(format!(
            "Your password must be at most {MAX_LEN} characters long."
        )));
    }
    if password.chars().all(char::is_whitespace) {
        return Err(CoreError::Invalid(
            "Your password cannot be only spaces.".into(),
        ));
    }
    if !email.trim().is_empty() && password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err(CoreError::Invalid(
            "Your password cannot be your email address.".into(),
        ));
    }
    Ok(())
}

/// Hashes a password with argon2id and a fresh 128-bit salt from the OS CSPRNG (blocking:
/// prefer [`hash_password`] in async code).
pub fn hash_password_blocking(password: &str) -> CoreResult<PasswordHash> {
    let mut salt = [0u8; 16];
    crate::secret::fill_random(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| CoreError::Invalid(format!("password salt: {e}")))?;
    let hash = hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| CoreError::Invalid(format!("password hashing failed: {e}")))?;
    Ok(PasswordHash(hash.to_string()))
}

/// Verifies `password` against `stored` in constant time (blocking: prefer [`verify_password`]).
/// The parameters come from the stored string, so older hashes keep verifying. A malformed
/// stored hash verifies nothing.
pub fn verify_password_blocking(password: &str, stored: &PasswordHash) -> bool {
    match argon2::password_hash::PasswordHash::new(&stored.0) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable stored password hash");
            false
        }
    }
}

/// A hash of a random password, computed once: verifying against it costs what a real check
/// costs, so an unknown account answers as slowly as a known one.
fn dummy_hash() -> &'static PasswordHash {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = crate::secret::PlainSecret::generate(crate::secret::SecretKind::SignInToken);
        hash_password_blocking(random.expose())
            .unwrap_or_else(|_| PasswordHash(String::from("$argon2id$v=19$m=19456,t=2,p=1$")))
    })
}

/// Spends the time of one verification and returns `false`: call it when there is no account
/// (or no password) so the answer's timing does not tell whether the email is registered.
pub fn dummy_verify_blocking(password: &str) {
    let _ = verify_password_blocking(password, dummy_hash());
}

/// [`hash_password_blocking`] on the blocking pool.
pub async fn hash_password(password: &str) -> CoreResult<PasswordHash> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password_blocking(&password))
        .await
        .map_err(|e| CoreError::Invalid(format!("password hashing was interrupted: {e}")))?
}

/// [`verify_password_blocking`] on the blocking pool; `stored` `None` runs the dummy check.
pub async fn verify_password(password: &str, stored: Option<PasswordHash>) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_password_blocking(&password, &stored),
        None => {
            dummy_verify_blocking(&password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_use_owasp_parameters() {
        let hash = hash_password_blocking("correct horse battery staple").unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password_blocking(
            "correct horse battery staple",
            &hash
        ));
        assert!(!verify_password_blocking(
            "correct horse battery stapler",
            &hash
        ));
        let again = hash_password_blocking("correct horse battery staple").unwrap();
        assert_ne!(hash, again, "salts differ");
        assert!(!verify_password_blocking(
            "x",
            &PasswordHash::from_stored("garbage")
        ));
    }

    #[test]
    fn debug_hides_the_hash() {
        let hash = PasswordHash::from_stored("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
        assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
    }

    #[test]
    fn new_passwords_are_validated_with_one_message_each() {
        let email = "ada@example.com";
        let message = |p: &str| match validate_new_password(p, email) {
            Err(CoreError::Invalid(m)) => m,
            other => panic!("expected a refusal for {p:?}, got {other:?}"),
        };
        assert!(message("short").contains("at least 12"));
        assert!(message(&"a".repeat(257)).contains("at most 256"));
        assert!(message(&" ".repeat(20)).contains("only spaces"));
        assert!(message("ADA@example.com").contains("email"));
        assert!(validate_new_password("a perfectly fine passphrase", email).is_ok());
        assert!(
            validate_new_password(&"é".repeat(12), email).is_ok(),
            "counts characters"
        );
        assert!(validate_new_password(&"a".repeat(256), email).is_ok());
    }

    #[tokio::test]
    async fn async_wrappers_agree() {
        let hash = hash_password("another good passphrase").await.unwrap();
        assert!(verify_password("another good passphrase", Some(hash.clone())).await);
        assert!(!verify_password("wrong passphrase!!", Some(hash)).await);
        assert!(!verify_password("anything at all", None).await);
    }
}
