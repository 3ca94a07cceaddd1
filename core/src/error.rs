use thiserror::Error;

/// The one error type of the core. HTTP crates map it to status codes; the CLI prints it.
#[derive(Debug, Error)]
pub enum CoreError {
    /// Input that breaks a domain rule; the message is safe to show to the user.
    #[error("{0}")]
    Invalid(String),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("{0}")]
    Conflict(String),
    /// The caller may see the object but their role does not allow this action; the message
    /// is safe to show to the user. (Objects a caller may not see at all are `NotFound`.)
    #[error("{0}")]
    Forbidden(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The request-log writer's own SQLite connection (see `request_log::SqliteLogWriter`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type CoreResult<T> = Result<T, CoreError>;

impl CoreError {
    /// True when the database could not be reached or could not take the write for now: the
    /// pool found no live connection in time, the connection broke, PostgreSQL is shutting
    /// down or starting, or SQLite's disk is full or its file busy. Callers answer 503 (retry
    /// later) instead of 500: nothing is wrong with the request, and nothing was committed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            CoreError::Database(e) => sqlx_unavailable(e),
            CoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::SystemIoFailure
            ),
            _ => false,
        }
    }

    /// True when the error is the database refusing a duplicate key.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, CoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

fn sqlx_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            // PostgreSQL: class 08 (connection exception), 57P01-57P03 (admin or crash
            // shutdown, cannot connect now), 53 (insufficient resources: disk full, out of
            // memory, too many connections).
            code.starts_with("08") || code.starts_with("57P") || code.starts_with("53")
                // SQLite (primary result code in the low byte): BUSY 5, LOCKED 6, IOERR 10,
                // FULL 13.
                || code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable_and_bad_queries_are_not() {
        assert!(CoreError::Database(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(
            CoreError::Database(sqlx::Error::Io(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused
            )))
            .is_unavailable()
        );
        assert!(
            CoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(13),
                None
            ))
            .is_unavailable()
        );
        assert!(!CoreError::Database(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!CoreError::Invalid("no".into()).is_unavailable());
    }
}
