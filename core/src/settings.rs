//! Small persistent key/value facts about this installation (e.g. "bootstrap done").

use crate::{CoreResult, clock};
use sqlx::AnyConnection;

/// Inserts `key` if absent. Returns true when this call inserted it, which makes it a
/// once-only latch even with several processes starting against one database.
pub async fn insert_if_absent(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
) -> CoreResult<bool> {
    let result = sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(value)
    .bind(clock::now())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn get(conn: &mut AnyConnection, key: &str) -> CoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?,
    )
}
