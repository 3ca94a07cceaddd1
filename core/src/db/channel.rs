//! The PostgreSQL side of [`Change`](crate::changes::Change)s: [`publish`] on [`CHANNEL`] after a commit, and one
//! [`ChangeListener`] per process.

use crate::changes::Change;
use crate::{Backend, CoreResult, Database, DatabaseUrl};
use sqlx::postgres::PgListener;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "portico_changes";

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
            Change::Federation,
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
