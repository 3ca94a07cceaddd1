//! Storage of portal sign-in sessions. The web layer owns the session format (opaque JSON
//! here); this module keeps it keyed by the SHA-256 of the session id, so reading the table does
//! not give anyone a usable cookie.

use crate::secret::PlainSecret;
use crate::{CoreResult, Database, clock::UnixTime};

fn id_hash(session_id: &str) -> String {
    PlainSecret::from_presented(session_id).hash().to_hex()
}

/// Inserts or replaces a session's data.
pub async fn save(
    db: &Database,
    session_id: &str,
    data: &str,
    expires_at: UnixTime,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO portal_sessions (id_hash, data, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
    )
    .bind(id_hash(session_id))
    .bind(data)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Inserts a new session; false when the id is already taken (the caller picks another).
pub async fn create(
    db: &Database,
    session_id: &str,
    data: &str,
    expires_at: UnixTime,
) -> CoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO portal_sessions (id_hash, data, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id_hash) DO NOTHING",
    )
    .bind(id_hash(session_id))
    .bind(data)
    .bind(expires_at)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// A live session's data; expired sessions read as absent.
pub async fn load(
    db: &Database,
    session_id: &str,
    now: UnixTime,
) -> CoreResult<Option<(String, UnixTime)>> {
    Ok(sqlx::query_as(
        "SELECT data, expires_at FROM portal_sessions WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(id_hash(session_id))
    .bind(now)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn delete(db: &Database, session_id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM portal_sessions WHERE id_hash = $1")
        .bind(id_hash(session_id))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Removes expired sessions; returns how many went.
pub async fn purge_expired(db: &Database, now: UnixTime) -> CoreResult<u64> {
    Ok(
        sqlx::query("DELETE FROM portal_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;

    #[tokio::test]
    async fn sessions_round_trip_expire_and_are_stored_hashed_on_both_engines() {
        for test_db in TestDatabase::both().await {
            let db = &test_db.db;
            assert!(create(db, "sid-1", "{\"a\":1}", 2_000).await.unwrap());
            assert!(!create(db, "sid-1", "{}", 2_000).await.unwrap(), "id taken");
            assert_eq!(
                load(db, "sid-1", 1_000).await.unwrap(),
                Some(("{\"a\":1}".to_owned(), 2_000))
            );
            save(db, "sid-1", "{\"a\":2}", 3_000).await.unwrap();
            assert_eq!(
                load(db, "sid-1", 2_500).await.unwrap().unwrap().0,
                "{\"a\":2}"
            );
            assert_eq!(load(db, "sid-1", 3_000).await.unwrap(), None, "expired");
            let stored: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM portal_sessions")
                .fetch_all(db.pool())
                .await
                .unwrap();
            assert_eq!(stored.len(), 1);
            assert!(!stored[0].contains("sid-1"), "only the hash is stored");
            assert_eq!(purge_expired(db, 3_000).await.unwrap(), 1);
            save(db, "sid-2", "{}", 9_000).await.unwrap();
            delete(db, "sid-2").await.unwrap();
            assert_eq!(load(db, "sid-2", 1).await.unwrap(), None);
        }
    }
}
