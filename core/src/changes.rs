//! Changes other processes must see at once: the cache invalidations that keep replicas on one
//! PostgreSQL consistent.
//!
//! Every process caches what it checks on each request (client credentials, effective plans,
//! API keys, the revocation list, the signing keys, the versions' dates). A change is written
//! to the database first; then [`publish`] sends it on the PostgreSQL channel [`CHANNEL`]
//! (`pg_notify`), and every process's [`ChangeListener`] applies it to its own caches, usually
//! within milliseconds. When the listener's connection drops, notifications may have been
//! missed, so the listener reports [`Heard::Reconnected`] and the process clears everything.
//! The periodic reloads (every few seconds) and the caches' own time-to-live stay as the
//! backstop while the channel is down.
//!
//! On SQLite there is one process: [`publish`] does nothing, the process that made the change
//! applies it itself.

use crate::clock::UnixTime;
use crate::{Backend, CoreResult, Database, DatabaseUrl};
use sqlx::postgres::PgListener;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "portico_changes";

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
}

impl Change {
    /// The notification payload: a word, then arguments (a jti is our own id, no spaces).
    pub fn encode(&self) -> String {
        match self {
            Change::Applications => "applications".into(),
            Change::TokenRevoked { jti, expires_at } => format!("revoked {expires_at} {jti}"),
            Change::SigningKeys => "keys".into(),
            Change::VersionDates => "versions".into(),
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
            _ => return None,
        };
        words.next().is_none().then_some(change)
    }
}

/// Tells every process listening on the database about `change`. Call it after the change
/// has committed. A failure is logged, not returned: the change itself stands, and the other
/// processes' periodic reloads pick it up a few seconds later.
pub async fn publish(db: &Database, change: &Change) {
    if db.backend() != Backend::Postgres {
        return;
    }
    let sent = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(change.encode())
        .execute(db.pool())
        .await;
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not announce a change to the other processes; they will see it at their next reload");
    }
}

/// What a listener heard.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    Change(Change),
    /// The connection dropped and was made again: changes may have been missed meanwhile.
    Reconnected,
}

/// One process's subscription to [`CHANNEL`], on its own connection.
pub struct ChangeListener {
    listener: PgListener,
}

impl std::fmt::Debug for ChangeListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangeListener")
    }
}

impl ChangeListener {
    /// Subscribes; `None` on SQLite (one process, nobody else to hear from).
    pub async fn connect(url: &DatabaseUrl) -> CoreResult<Option<Self>> {
        if url.backend() != Backend::Postgres {
            return Ok(None);
        }
        let mut listener = PgListener::connect(url.as_str()).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Self { listener }))
    }

    /// Waits for the next change. After a lost connection the next call reconnects (and
    /// listens again); while the database is down it returns the connection error.
    pub async fn next(&mut self) -> CoreResult<Heard> {
        loop {
            match self.listener.try_recv().await? {
                None => return Ok(Heard::Reconnected),
                Some(notification) => match Change::decode(notification.payload()) {
                    Some(change) => return Ok(Heard::Change(change)),
                    None => {
                        tracing::debug!(
                            payload = notification.payload(),
                            "ignoring an unknown change"
                        );
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_anything_else_is_ignored() {
        for change in [
            Change::Applications,
            Change::TokenRevoked {
                jti: "tok_01J2ABC".into(),
                expires_at: 1_790_000_000,
            },
            Change::SigningKeys,
            Change::VersionDates,
        ] {
            assert_eq!(Change::decode(&change.encode()), Some(change));
        }
        for junk in [
            "",
            "nothing",
            "revoked",
            "revoked soon tok_1",
            "revoked 17 ",
            "revoked 17 a b",
            "keys please",
        ] {
            assert_eq!(Change::decode(junk), None, "{junk:?}");
        }
    }
}
