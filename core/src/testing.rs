//! Throw-away databases for tests: a temporary SQLite file, or a fresh PostgreSQL database
//! that is dropped afterwards. PostgreSQL being unreachable fails the test; it never skips.

use crate::tokens::keys::KeySealer;
use crate::tokens::{TokenService, TokenSettings};
use crate::{Database, DatabaseUrl};

pub const TEST_ISSUER: &str = "http://sandbox.test";
pub const TEST_AUDIENCE: &str = "portico-api";

/// A fixed master key: tests never need real secrecy.
pub fn test_sealer() -> KeySealer {
    KeySealer::from_bytes(&[7u8; 32]).expect("32-byte key")
}

/// The scopes the shipped API models declare (`content/api/`), plus Portico's own: what the
/// core's callers check requests against in the shipped deployment.
pub fn shipped_scopes() -> crate::authz::scopes::ScopeCatalog {
    crate::authz::scopes::ScopeCatalog::with_declared(
        "content/api/v2.yaml",
        [
            (
                "commercial:read",
                "Read orders, quote packages and the catalogue.",
            ),
            ("commercial:write", "Create and cancel orders."),
            ("users:admin", "Manage user accounts."),
        ],
    )
}

/// An owner of the organisation that holds application `app_id` (a new user without a
/// password), so tests change applications through the audited portal paths.
pub async fn owner_of_app(db: &Database, app_id: &str) -> crate::identity::ActorContext {
    use crate::identity::users::{self, Role};
    let mut conn = db.pool().acquire().await.expect("connection");
    let user = users::create(
        &mut conn,
        &format!("owner-{app_id}@example.test"),
        Role::Partner,
    )
    .await
    .expect("create the owner");
    sqlx::query(
        "UPDATE users SET partner_role = 'owner', \
         partner_id = (SELECT partner_id FROM applications WHERE id = $1) WHERE id = $2",
    )
    .bind(app_id)
    .bind(&user.id)
    .execute(&mut *conn)
    .await
    .expect("make the user the organisation's owner");
    crate::identity::ActorContext::new(&user, "192.0.2.10")
}

/// A token service over `db` with the test issuer and audience and a 900 s TTL.
pub async fn token_service(db: &Database) -> TokenService {
    TokenService::start(
        db.clone(),
        test_sealer(),
        TokenSettings::new(TEST_ISSUER, TEST_AUDIENCE, 900),
    )
    .await
    .expect("start the token service")
}
use sqlx::migrate::MigrateDatabase;

/// Where the test PostgreSQL server is; override with `PORTICO_TEST_POSTGRES_URL`.
pub fn postgres_server_url() -> String {
    std::env::var("PORTICO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A migrated database that belongs to one test.
pub struct TestDatabase {
    pub db: Database,
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    postgres_url: Option<String>,
}

impl TestDatabase {
    /// One fresh database per engine, SQLite first.
    pub async fn both() -> [TestDatabase; 2] {
        [Self::sqlite().await, Self::postgres().await]
    }

    pub async fn sqlite() -> Self {
        let test = Self::sqlite_unmigrated().await;
        test.db.migrate().await.expect("migrate SQLite");
        test
    }

    pub async fn postgres() -> Self {
        let test = Self::postgres_unmigrated().await;
        test.db.migrate().await.expect("migrate PostgreSQL");
        test
    }

    /// Empty databases (no migration applied), SQLite first: for migration tests.
    pub async fn both_unmigrated() -> [TestDatabase; 2] {
        [
            Self::sqlite_unmigrated().await,
            Self::postgres_unmigrated().await,
        ]
    }

    async fn sqlite_unmigrated() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("portico.db").display());
        let url = DatabaseUrl::parse(&url).expect("valid SQLite URL");
        let db = Database::connect(&url).await.expect("open SQLite");
        Self {
            db,
            url,
            _dir: Some(dir),
            postgres_url: None,
        }
    }

    async fn postgres_unmigrated() -> Self {
        let server = postgres_server_url();
        let name = format!("portico_test_{}", crate::ids::new_id("db").to_lowercase());
        let raw = format!("{server}/{name}");
        let url = DatabaseUrl::parse(&raw).expect("valid PostgreSQL URL");
        let db = Database::connect(&url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {server} is required by the storage tests and is not reachable ({e}). \
                 Start it, or point PORTICO_TEST_POSTGRES_URL at one."
            )
        });
        Self {
            db,
            url,
            _dir: None,
            postgres_url: Some(raw),
        }
    }

    /// Closes the pool and drops the PostgreSQL database now (the SQLite folder goes with
    /// `self`). Dropping a `TestDatabase` does the same, so tests need not call this.
    pub async fn cleanup(mut self) {
        self.db.close().await;
        if let Some(url) = self.postgres_url.take() {
            sqlx::Postgres::force_drop_database(&url)
                .await
                .expect("drop test database");
        }
    }
}

/// A test's PostgreSQL database goes when the test ends, passed or panicked: dropped on a
/// thread of its own (Drop cannot await; `WITH (FORCE)` ends the pool's open connections).
impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(url) = self.postgres_url.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(sqlx::Postgres::force_drop_database(&url))
                .map_err(|e| e.to_string())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("could not drop a test database: {error}"),
            Err(_) => eprintln!("could not drop a test database: the dropping thread panicked"),
        }
    }
}
