//! Secrets between their creation and the one page that shows them (new credentials, a
//! rotated secret, an invitation link). They stay in this process's memory only (never in the
//! database or the session), for at most ten minutes, and are handed out once.

use crate::secret::PlainSecret;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long credentials wait for their page.
pub const REVEAL_TTL: Duration = Duration::from_secs(600);

/// Secrets to show once, about one thing (`subject`: an application id, an organisation).
#[derive(Debug)]
pub struct Revealed {
    pub subject: String,
    pub secrets: Vec<RevealedSecret>,
}

#[derive(Debug)]
pub struct RevealedSecret {
    /// What it is, as the page labels it ("Client secret", "API key", "Invitation link").
    pub label: String,
    pub value: PlainSecret,
}

#[derive(Debug, Default)]
pub struct RevealStore {
    pending: Mutex<HashMap<String, (Instant, Revealed)>>,
}

impl RevealStore {
    /// Keeps `revealed` and returns the handle to fetch it with (random, unguessable).
    pub fn put(&self, revealed: Revealed) -> String {
        let handle = PlainSecret::generate(crate::secret::SecretKind::SignInToken)
            .expose()
            .to_owned();
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.retain(|_, (at, _)| at.elapsed() < REVEAL_TTL);
        pending.insert(handle.clone(), (Instant::now(), revealed));
        handle
    }

    /// Hands the credentials out once; `None` if unknown, already taken or expired.
    pub fn take(&self, handle: &str) -> Option<Revealed> {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, revealed) = pending.remove(handle)?;
        (at.elapsed() < REVEAL_TTL).then_some(revealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_handed_out_once() {
        let store = RevealStore::default();
        let handle = store.put(Revealed {
            subject: "app_1".into(),
            secrets: vec![RevealedSecret {
                label: "Client secret".into(),
                value: PlainSecret::from_presented("pcs_x"),
            }],
        });
        let first = store.take(&handle).unwrap();
        assert_eq!(first.secrets[0].value.expose(), "pcs_x");
        assert!(store.take(&handle).is_none());
        assert!(store.take("pst_guess").is_none());
    }
}
