//! Changes other processes must see at once: the cache invalidations that keep replicas on one
//! PostgreSQL consistent.
//!
//! Every process caches what it checks on each request (client credentials, effective plans,
//! API keys, the revocation list, the signing keys, the versions' dates). A change is written
//! to the database first; then [`publish`](crate::db::channel::publish) sends it on the PostgreSQL channel [`CHANNEL`](crate::db::channel::CHANNEL)
//! (`pg_notify`), and every process's [`ChangeListener`](crate::db::channel::ChangeListener) applies it to its own caches, usually
//! within milliseconds. When the listener's connection drops, notifications may have been
//! missed, so the listener reports [`Heard::Reconnected`] and the process clears everything.
//! The periodic reloads (every few seconds) and the caches' own time-to-live stay as the
//! backstop while the channel is down.
//!
//! On SQLite there is one process: [`publish`](crate::db::channel::publish) does nothing, the process that made the change
//! applies it itself.

use crate::clock::UnixTime;
use std::future::Future;
use std::pin::Pin;

/// What changed, as far as caches care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// An application's or an organisation's standing, plan, limits, scopes, allowlist,
    /// secrets or API keys changed: client and plan caches are dropped.
    Applications,
    /// An access token was revoked (RFC 7009).
    TokenRevoked { jti: String, expires_at: UnixTime },
    /// A signing key was published, promoted or retired.
    SigningKeys,
    /// An API version's deprecation or sunset dates changed.
    VersionDates,
    /// An organisation's identity provider (federation) or its mappings changed.
    Federation,
}

impl Change {
    /// The notification payload: a word, then arguments (a jti is our own id, no spaces).
    pub fn encode(&self) -> String {
        match self {
            Change::Applications => "applications".into(),
            Change::TokenRevoked { jti, expires_at } => format!("revoked {expires_at} {jti}"),
            Change::SigningKeys => "keys".into(),
            Change::VersionDates => "versions".into(),
            Change::Federation => "federation".into(),
        }
    }

    /// The change a payload names; `None` for anything else (a newer replica's word, say).
    pub fn decode(payload: &str) -> Option<Change> {
        let mut words = payload.split(' ');
        let change = match words.next()? {
            "applications" => Change::Applications,
            "revoked" => {
                let expires_at = words.next()?.parse().ok()?;
                let jti = words.next().filter(|j| !j.is_empty())?.to_owned();
                Change::TokenRevoked { jti, expires_at }
            }
            "keys" => Change::SigningKeys,
            "versions" => Change::VersionDates,
            "federation" => Change::Federation,
            _ => return None,
        };
        words.next().is_none().then_some(change)
    }
}

/// Applies committed changes to this process's caches and announces them to the other
/// processes (the server's cache invalidation). Handed to the [`Database`](crate::Database) once
/// at start-up ([`Database::on_change`](crate::Database::on_change)); every
/// [`audit::Write`](crate::audit::Write) that changed something calls it after its commit, so no
/// caller has to remember to.
pub trait ChangeSink: Send + Sync {
    fn apply<'a>(&'a self, change: &'a Change) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}
