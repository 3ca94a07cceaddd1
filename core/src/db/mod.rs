//! The database handle: one sqlx `Any` pool over SQLite or PostgreSQL, so every repository
//! function is written once and behaves the same on both engines.

pub mod channel;

use crate::changes::{Change, ChangeSink};
use crate::{CoreError, CoreResult};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AnyPool, ConnectOptions, Connection};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

/// The migrations in `migrations/`, embedded in the binary.
static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A validated `DATABASE_URL`. `Display` hides any password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    backend: Backend,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> CoreResult<Self> {
        let backend = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)
                .map_err(|e| CoreError::Invalid(format!("not a usable SQLite URL: {e}")))?;
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| CoreError::Invalid(format!("not a usable PostgreSQL URL: {e}")))?;
            if options.get_database().is_none_or(str::is_empty) {
                return Err(CoreError::Invalid(
                    "the PostgreSQL URL must name a database, e.g. postgres://postgres@127.0.0.1:5432/portico".into(),
                ));
            }
            Backend::Postgres
        } else {
            return Err(CoreError::Invalid(
                "unknown scheme: expected sqlite://… or postgres://…".into(),
            ));
        };
        Ok(Self {
            url: url.to_owned(),
            backend,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The database file of a SQLite URL.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match self.backend {
            Backend::Sqlite => SqliteConnectOptions::from_str(&self.url)
                .ok()
                .map(|o| o.get_filename().to_path_buf()),
            Backend::Postgres => None,
        }
    }

    /// The URL with any password replaced, safe for logs and error messages.
    pub fn redacted(&self) -> String {
        redact_url_password(&self.url)
    }
}

/// `scheme://user:password@host…` with the password replaced by `***`; other text unchanged.
pub fn redact_url_password(url: &str) -> String {
    match url_password_span(url) {
        Some((start, end)) => format!("{}***{}", &url[..start], &url[end..]),
        None => url.to_owned(),
    }
}

/// Byte range of the password in `scheme://user:password@host…`, if there is one.
fn url_password_span(url: &str) -> Option<(usize, usize)> {
    let authority_start = url.find("://")? + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| authority_start + i);
    let at = url[authority_start..authority_end].rfind('@')? + authority_start;
    let colon = url[authority_start..at].find(':')? + authority_start;
    Some((colon + 1, at))
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// A connection pool plus the engine it talks to. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    /// The SQLite file, for the request-log writer's own connection.
    sqlite_path: Option<std::path::PathBuf>,
    /// Where committed changes go (shared by every clone; set once at start-up).
    sink: SinkSlot,
}

/// The process's [`ChangeSink`], shared by every clone of a [`Database`].
#[derive(Clone, Default)]
struct SinkSlot(Arc<OnceLock<Arc<dyn ChangeSink>>>);

impl fmt::Debug for SinkSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "SinkSlot(set)"
        } else {
            "SinkSlot(empty)"
        })
    }
}

impl Database {
    /// Connects, creating the SQLite file (and its folder) or the PostgreSQL database when it
    /// does not exist yet. SQLite runs in WAL mode with a busy timeout and `synchronous=FULL`,
    /// so a committed write survives a crash.
    pub async fn connect(url: &DatabaseUrl) -> CoreResult<Self> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(install_default_drivers);

        let max_connections = match url.backend {
            Backend::Sqlite => {
                prepare_sqlite_file(url).await?;
                8
            }
            Backend::Postgres => {
                if !sqlx::Postgres::database_exists(&url.url).await? {
                    match sqlx::Postgres::create_database(&url.url).await {
                        Ok(()) => tracing::info!(database = %url, "created PostgreSQL database"),
                        // Another replica created it at the same moment: fine.
                        Err(e) if sqlx::Postgres::database_exists(&url.url).await? => {
                            tracing::debug!(error = %e, "database appeared concurrently");
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                16
            }
        };

        let backend = url.backend;
        let pool = AnyPoolOptions::new()
            // PostgreSQL's JIT compiles a query it estimates as costly before running it: tens of
            // milliseconds spent on every request-log page (measured: 57 of 138 ms), for queries
            // that then read a few thousand rows. Off for this application's sessions.
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Postgres {
                        sqlx::query("SET jit = off").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(3))
            // No ping before every checkout: on SQLite each ping is a round trip to the
            // connection's worker thread, doubling the cost of a query; a broken connection
            // shows as a query error instead, and /readyz pings explicitly.
            .test_before_acquire(false)
            .connect(&url.url)
            .await?;
        Ok(Self {
            pool,
            backend: url.backend,
            sqlite_path: url.sqlite_path(),
            sink: SinkSlot::default(),
        })
    }

    /// The database file when the engine is SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.sqlite_path.as_deref()
    }

    /// Applies every pending migration; returns how many were applied.
    pub async fn migrate(&self) -> CoreResult<usize> {
        let applied_before = applied_migrations(&self.pool).await;
        MIGRATOR.run(&self.pool).await?;
        let applied_after = applied_migrations(&self.pool).await;
        Ok(applied_after.saturating_sub(applied_before))
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), waiting out the busy timeout if needed: a plain `BEGIN` that reads
    /// first and writes later fails at once with "database is locked" when another connection
    /// wrote in between, because SQLite cannot upgrade a stale read snapshot.
    pub async fn begin_write(&self) -> CoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        let mut conn = self.pool.acquire().await?;
        // A COMMIT that failed (a full disk, an I/O error) can leave a pooled connection
        // believing it is still inside a transaction, and it would refuse every later one:
        // such a connection is closed, not reused.
        let mut replaced = 0;
        while conn.is_in_transaction() && replaced < 8 {
            tracing::warn!("closing a database connection left inside a failed transaction");
            let _ = conn.detach().close().await;
            conn = self.pool.acquire().await?;
            replaced += 1;
        }
        let statement = match self.backend {
            Backend::Sqlite => Some("BEGIN IMMEDIATE".into()),
            Backend::Postgres => None,
        };
        // What `Pool::begin_with` does, on the connection checked above.
        Ok(sqlx::Transaction::begin(conn, statement).await?)
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> CoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Waits for checked-out connections to return, then closes the pool (SQLite checkpoints
    /// its WAL on the last close).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Makes `sink` apply every change committed through [`crate::audit::Write`] from now on
    /// (the server's cache invalidation). Set once per process; `false` if one was set already.
    pub fn on_change(&self, sink: Arc<dyn ChangeSink>) -> bool {
        self.sink.0.set(sink).is_ok()
    }

    /// After `change` has committed: hands it to the sink, if the process set one (tools and
    /// tests without caches set none).
    pub async fn changed(&self, change: &Change) {
        if let Some(sink) = self.sink.0.get() {
            sink.apply(change).await;
        }
    }
}

async fn applied_migrations(pool: &AnyPool) -> usize {
    // The table does not exist before the first run; that simply means zero.
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
        .fetch_one(pool)
        .await
        .map_or(0, |n| usize::try_from(n).unwrap_or_default())
}

async fn prepare_sqlite_file(url: &DatabaseUrl) -> CoreResult<()> {
    let options = SqliteConnectOptions::from_str(&url.url)?;
    let path = options.get_filename();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent).await?;
    }
    // WAL is a property of the file: set it once here and every later connection uses it.
    let conn = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .connect()
        .await?;
    conn.close().await?;
    Ok(())
}

async fn create_dir(dir: &Path) -> CoreResult<()> {
    tokio::fs::create_dir_all(dir).await.map_err(|e| {
        CoreError::Invalid(format!(
            "cannot create the database folder {}: {e}",
            dir.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_schemes() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/portico.db")
                .unwrap()
                .backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432/portico")
                .unwrap()
                .backend(),
            Backend::Postgres
        );
    }

    #[test]
    fn rejects_unknown_schemes_and_missing_database_names() {
        assert!(DatabaseUrl::parse("mysql://root@localhost/x").is_err());
        assert!(DatabaseUrl::parse("./portico.db").is_err());
        assert!(DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432").is_err());
        assert!(DatabaseUrl::parse("sqlite://x.db?mode=bogus").is_err());
    }

    #[test]
    fn redacts_passwords() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db.internal:5432/portico").unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://app:***@db.internal:5432/portico"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        let url = DatabaseUrl::parse("postgres://app@db/portico").unwrap();
        assert_eq!(url.to_string(), "postgres://app@db/portico");
    }
}
