//! tower-sessions storage in Portico's database (SQLite or PostgreSQL, one code path).

use portico_core::Database;
use portico_core::identity::sessions;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Database,
}

impl DbSessionStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// A session of nobody signed in: it only carries a form token (and maybe a message).
fn is_anonymous(record: &Record) -> bool {
    !record.data.contains_key(super::session::USER_KEY)
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = encode(record)?;
        // A fresh random id colliding is astronomically unlikely; pick another if it happens.
        loop {
            let created = sessions::create(
                &self.db,
                &record.id.to_string(),
                &data,
                record.expiry_date.unix_timestamp(),
            )
            .await;
            match created {
                Ok(true) => return Ok(()),
                Ok(false) => record.id = Id::default(),
                Err(e) if is_anonymous(record) => {
                    tracing::warn!(error = %e, "could not store an anonymous session");
                    return Ok(());
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let saved = sessions::save(
            &self.db,
            &record.id.to_string(),
            &encode(record)?,
            record.expiry_date.unix_timestamp(),
        )
        .await;
        match saved {
            Ok(()) => Ok(()),
            // An anonymous visitor's session only holds a form token. When the database is
            // down, losing it must not turn every page (the status page first) into a 500:
            // the visitor's next form is refused as expired instead.
            Err(e) if is_anonymous(record) => {
                tracing::warn!(error = %e, "could not store an anonymous session");
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = portico_core::clock::now();
        let Some((data, expires_at)) = sessions::load(&self.db, &id.to_string(), now)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sessions::delete(&self.db, &id.to_string())
            .await
            .map_err(backend)
    }
}
