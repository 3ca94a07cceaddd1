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
    /// True when the error is the database refusing a duplicate key.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, CoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}
