//! `TestApp`: both fronts' routers over a throw-away database, driven with `oneshot`.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use portico_core::testing::TestDatabase;
use portico_core::tokens::TokenService;
use portico_sandbox::limits::{GatewayLimits, LimitsConfig};
use portico_sandbox::model::ApiCatalog;
use portico_sandbox::request_log_writer::RequestLogWriter;
use portico_server::fronts::{self, Front, Shared};
use portico_server::http::metrics::HttpMetrics;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

pub struct TestApp {
    pub portal: Front,
    pub sandbox: Front,
    pub production: Option<Front>,
    pub shared: Shared,
    request_log_writer: Option<RequestLogWriter>,
    pub tokens: Arc<TokenService>,
    pub database: TestDatabase,
    /// The loopback server of [`TestApp::sqlite_live`].
    live: Option<tokio::task::JoinHandle<()>>,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as text (binary downloads: see `bytes`).
    pub body: String,
    pub bytes: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }
}

/// Which database a [`TestApp`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// How to build a [`TestApp`]: `TestApp::sqlite().live().with_content(authorizer,
/// catalog).with_production(upstream).await`. Awaiting the builder starts the app.
pub struct TestAppBuilder {
    engine: Engine,
    live: bool,
    content: Option<(portico_core::authz::Authorizer, ApiCatalog)>,
    production: Option<String>,
}

impl TestAppBuilder {
    /// The sandbox front also listens on a real loopback port (for clients outside the
    /// process: curl, Python, the portal's "Try it"); `sandbox_url` points there.
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    /// Serves other content (policies and API models) than the shipped one.
    pub fn with_content(
        mut self,
        authorizer: portico_core::authz::Authorizer,
        catalog: ApiCatalog,
    ) -> Self {
        self.content = Some((authorizer, catalog));
        self
    }

    /// Adds a production stage forwarding to `upstream`.
    pub fn with_production(mut self, upstream: &str) -> Self {
        self.production = Some(upstream.to_owned());
        self
    }

    pub async fn start(self) -> TestApp {
        let database = match self.engine {
            Engine::Sqlite => TestDatabase::sqlite().await,
            Engine::Postgres => TestDatabase::postgres().await,
        };
        let (authorizer, catalog) = match self.content {
            Some(content) => content,
            None => (
                portico_core::authz::Authorizer::embedded().unwrap(),
                ApiCatalog::embedded().unwrap(),
            ),
        };
        let listener = if self.live {
            Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        } else {
            None
        };
        let sandbox_url = match &listener {
            Some(listener) => format!("http://{}", listener.local_addr().unwrap()),
            None => "http://sandbox.test".to_owned(),
        };
        let mut app = TestApp::with_content_at(database, authorizer, catalog, &sandbox_url).await;
        if let Some(upstream) = &self.production {
            app.production = Some(fronts::production(&app.shared, upstream).unwrap());
        }
        if let Some(listener) = listener {
            let front = app.sandbox.clone();
            app.live = Some(tokio::spawn(async move {
                let service =
                    axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                        std::net::SocketAddr,
                    >(front);
                let _ = axum::serve(listener, service).await;
            }));
        }
        app
    }
}

impl std::future::IntoFuture for TestAppBuilder {
    type Output = TestApp;
    type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = TestApp> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.start())
    }
}

impl TestApp {
    pub fn sqlite() -> TestAppBuilder {
        Self::on(Engine::Sqlite)
    }

    pub fn postgres() -> TestAppBuilder {
        Self::on(Engine::Postgres)
    }

    pub fn on(engine: Engine) -> TestAppBuilder {
        TestAppBuilder {
            engine,
            live: false,
            content: None,
            production: None,
        }
    }

    async fn with_content_at(
        database: TestDatabase,
        authorizer: portico_core::authz::Authorizer,
        catalog: ApiCatalog,
        sandbox_url: &str,
    ) -> Self {
        let tokens = Arc::new(portico_core::testing::token_service(&database.db).await);
        // Test identity providers publish their keys on loopback.
        tokens.set_remote_jwks(Arc::new(
            portico_core::tokens::remote_jwks::RemoteJwks::new(
                Arc::new(
                    portico_server::http::jwks_fetch::HttpJwksFetcher::new(
                        portico_server::http::public_client::DestinationPolicy {
                            allow_http_loopback: true,
                        },
                    )
                    .unwrap(),
                ),
                portico_core::tokens::remote_jwks::RemoteJwksSettings::default(),
            ),
        ));
        let (request_log, request_log_writer) = RequestLogWriter::start(database.db.clone(), 1000);
        let docs = Arc::new(portico_docsite::LiveDocs::shared(docs_for(
            &catalog,
            sandbox_url,
        )));
        let catalog = Arc::new(catalog);
        let lifecycles = Arc::new(portico_server::lifecycle::VersionLifecycles::new(
            database.db.clone(),
            catalog.clone(),
            docs.clone(),
            None,
            test_targets(sandbox_url),
        ));
        let limits = Arc::new(GatewayLimits::new(
            database.db.clone(),
            LimitsConfig::in_process(),
        ));
        let changes = portico_server::changes::Invalidation::install(
            &database.db,
            tokens.clone(),
            limits.clone(),
            lifecycles.clone(),
        );
        let shared = Shared {
            db: database.db.clone(),
            tokens: tokens.clone(),
            authorizer: Arc::new(authorizer),
            catalog,
            limits,
            request_log,
            trusted_proxies: Arc::new(Vec::new()),
            metrics: Arc::new(HttpMetrics::default()),
            portal_url: "http://portal.test".into(),
            sandbox_url: sandbox_url.into(),
            production_url: None,
            sso: None,
            synthetic: Arc::new(portico_sandbox::synthetic::SyntheticBackend::new(
                database.db.clone(),
            )),
            docs,
            lifecycles,
            sandbox_client: portico_server::sso::outbound_client().unwrap(),
            // Test receivers listen on loopback.
            webhook_destinations: portico_server::http::public_client::DestinationPolicy {
                allow_http_loopback: true,
            },
            changes,
            client_certificates: false,
            secret_scanning: Arc::default(),
        };
        let bound = "127.0.0.1:3000".parse().unwrap();
        Self {
            portal: fronts::portal(&shared, bound),
            sandbox: fronts::sandbox(&shared),
            production: None,
            request_log_writer: Some(request_log_writer),
            shared,
            tokens,
            database,
            live: None,
        }
    }

    pub async fn portal(&self, request: Request<Body>) -> TestResponse {
        send(&self.portal, request).await
    }

    pub async fn sandbox(&self, request: Request<Body>) -> TestResponse {
        send(&self.sandbox, request).await
    }

    pub async fn get_portal(&self, path: &str) -> TestResponse {
        self.portal(get(path)).await
    }

    pub async fn get_sandbox(&self, path: &str) -> TestResponse {
        self.sandbox(get(path)).await
    }

    pub async fn production(&self, request: Request<Body>) -> TestResponse {
        send(
            self.production.as_ref().expect("with_production first"),
            request,
        )
        .await
    }

    /// Waits until every request record queued so far is written.
    pub async fn flush_audit(&mut self) {
        let Self {
            portal,
            sandbox,
            production,
            shared,
            request_log_writer,
            ..
        } = self;
        // The writer drains once every sender is gone: rebuild the fronts on a new queue.
        let (request_log, writer) = RequestLogWriter::start(shared.db.clone(), 1000);
        shared.request_log = request_log;
        *sandbox = fronts::sandbox(shared);
        *portal = fronts::portal(shared, "127.0.0.1:3000".parse().unwrap());
        *production = None;
        if let Some(old) = request_log_writer.replace(writer) {
            tokio::time::timeout(std::time::Duration::from_secs(10), old.shutdown())
                .await
                .expect("the request-log writer did not drain: a router built from TestApp::shared is still alive");
        }
    }
}

/// The loopback server stops with its TestApp; the database goes with `database`'s own Drop
/// (PostgreSQL included, after a panic too).
impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(live) = self.live.take() {
            live.abort();
        }
    }
}

/// A form POST, as OAuth clients send it.
pub fn post_form(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap()
}

pub async fn send(front: &Front, request: Request<Body>) -> TestResponse {
    let response = front.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes: bytes.to_vec(),
    }
}

/// A browser on the portal: keeps the session cookie, carries the CSRF token of the last page
/// into forms, and does not follow redirects (tests look at them).
pub struct Browser<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
    csrf: Option<String>,
}

pub const TEST_PASSWORD: &str = "correct horse battery staple";

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookie: None,
            csrf: None,
        }
    }

    fn remember(&mut self, res: &TestResponse) {
        if let Some(cookie) = res
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("portico_session="))
        {
            let pair = cookie.split(';').next().unwrap_or_default().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        if let Some(at) = res.body.find(r#"name="csrf_token" value=""#) {
            let rest = &res.body[at + r#"name="csrf_token" value=""#.len()..];
            self.csrf = rest.split('"').next().map(str::to_owned);
        }
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie(&self) -> Option<String> {
        self.cookie.clone()
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        let mut request = Request::get(path).header("accept", "text/html");
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let res = self.app.portal(request.body(Body::empty()).unwrap()).await;
        self.remember(&res);
        res
    }

    /// Posts a form with this session's CSRF token (fetching a page first if none is known).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        if self.csrf.is_none() {
            self.get("/signin").await;
        }
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly `fields` (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html");
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let res = self
            .app
            .portal(request.body(Body::from(body)).unwrap())
            .await;
        self.remember(&res);
        res
    }

    /// Posts and follows the 303 to the page it leads to; panics on anything but a redirect.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let res = self.post(path, fields).await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "POST {path}: {}",
            res.body
        );
        let to = res.header("location").to_owned();
        self.get(&to).await
    }

    /// A new partner account, signed in.
    pub async fn sign_up(app: &'a TestApp, email: &str) -> Browser<'a> {
        let mut browser = Browser::new(app);
        let page = browser
            .submit(
                "/signup",
                &[
                    ("display_name", "Test User"),
                    ("email", email),
                    ("password", TEST_PASSWORD),
                ],
            )
            .await;
        assert!(page.body.contains(email), "not signed in: {}", page.body);
        browser
    }

    /// An admin account (made directly in the database), signed in with its password.
    pub async fn admin(app: &'a TestApp, email: &str) -> Browser<'a> {
        let db = &app.shared.db;
        let mut conn = db.pool().acquire().await.unwrap();
        let admin = portico_core::identity::users::create(
            &mut conn,
            email,
            portico_core::identity::users::Role::Admin,
        )
        .await
        .unwrap();
        drop(conn);
        let ctx = portico_core::identity::ActorContext::new(&admin, "127.0.0.1");
        portico_core::accounts::set_password(db, &ctx, TEST_PASSWORD)
            .await
            .unwrap();
        let mut browser = Browser::new(app);
        let res = browser
            .post("/signin", &[("email", email), ("password", TEST_PASSWORD)])
            .await;
        assert_eq!(res.header("location"), "/admin");
        browser
    }

    /// A partner account that owns an organisation named `legal_name` (approved by `admin` if
    /// given, else pending).
    pub async fn partner_with_org(app: &'a TestApp, email: &str, legal_name: &str) -> Browser<'a> {
        let mut browser = Browser::sign_up(app, email).await;
        browser
            .submit(
                "/org",
                &[
                    ("legal_name", legal_name),
                    ("contact_email", email),
                    ("attested", "on"),
                ],
            )
            .await;
        browser
    }
}

/// Where a TestApp's partners reach it: the portal at `http://portal.test`.
pub fn test_targets(sandbox_url: &str) -> portico_sdk::Targets {
    portico_sdk::Targets {
        sandbox_url: sandbox_url.to_owned(),
        production_url: None,
        portal_url: "http://portal.test".into(),
        audience: "portico-api".into(),
    }
}

/// The docs of `catalog`; those of the shipped models are built once per test binary.
pub fn docs_for(catalog: &ApiCatalog, sandbox_url: &str) -> Arc<portico_docsite::DocSite> {
    static SHIPPED: std::sync::OnceLock<Arc<portico_docsite::DocSite>> = std::sync::OnceLock::new();
    let build = || {
        Arc::new(portico_server::docs::build(catalog, None, &test_targets(sandbox_url)).unwrap())
    };
    let shipped = ApiCatalog::embedded().unwrap();
    let is_shipped = sandbox_url == "http://sandbox.test"
        && shipped.versions().len() == catalog.versions().len()
        && shipped
            .versions()
            .iter()
            .zip(catalog.versions())
            .all(|(a, b)| {
                a.source_document() == b.source_document() && a.lifecycle() == b.lifecycle()
            });
    if is_shipped {
        SHIPPED.get_or_init(build).clone()
    } else {
        build()
    }
}

/// A real `portico serve` process (killed and reaped when dropped).
pub struct Process {
    pub child: Child,
    /// Where its stderr (the logs) goes.
    pub stderr: std::path::PathBuf,
}

impl Process {
    /// Starts `portico serve` and waits for its banner line for `front`; returns its URL.
    pub fn start(dir: &std::path::Path, envs: &[(&str, &str)], front: &str) -> (Self, String) {
        let (process, mut urls) = Self::start_fronts(dir, envs, &[front]);
        (process, urls.remove(0))
    }

    /// Starts `portico serve` and waits for the banner lines of `fronts`; their URLs in order.
    pub fn start_fronts(
        dir: &std::path::Path,
        envs: &[(&str, &str)],
        fronts: &[&str],
    ) -> (Self, Vec<String>) {
        Self::start_with(
            Command::new(env!("CARGO_BIN_EXE_portico")),
            dir,
            envs,
            fronts,
        )
    }

    /// Like [`Process::start_fronts`], with each file the process writes limited to
    /// `max_file_kib` (`ulimit -f`; the signal for crossing it is ignored, so writes past the
    /// limit fail as on a full disk).
    pub fn start_with_file_limit(
        dir: &std::path::Path,
        envs: &[(&str, &str)],
        front: &str,
        max_file_kib: u64,
    ) -> (Self, String) {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(format!(
                "trap '' XFSZ; ulimit -f {max_file_kib}; exec \"$0\" \"$@\""
            ))
            .arg(env!("CARGO_BIN_EXE_portico"));
        let (process, mut urls) = Self::start_with(cmd, dir, envs, &[front]);
        (process, urls.remove(0))
    }

    fn start_with(
        mut cmd: Command,
        dir: &std::path::Path,
        envs: &[(&str, &str)],
        fronts: &[&str],
    ) -> (Self, Vec<String>) {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stderr = dir.join(format!("portico-{n}.stderr"));
        cmd.current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/portico.db", dir.display()),
            )
            .env("PORTICO_PORTAL_ADDR", "127.0.0.1:0")
            .env("PORTICO_SANDBOX_ADDR", "127.0.0.1:0")
            .env("PORTICO_LOG", "warn");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        // Owned by a `Process` at once: killed and reaped even if this start fails.
        let mut process = Process {
            child: cmd
                .arg("serve")
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&stderr).unwrap())
                .spawn()
                .unwrap(),
            stderr,
        };
        let stdout = process.child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut urls: Vec<Option<String>> = vec![None; fronts.len()];
        while urls.iter().any(Option::is_none) {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("{fronts:?}: no banner"));
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [name, url] = words.as_slice()
                && let Some(at) = fronts.iter().position(|f| f == name)
            {
                urls[at] = Some((*url).to_owned());
            }
        }
        // Keep draining stdout so the process never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        (process, urls.into_iter().flatten().collect())
    }

    /// What the process has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET `path` with a bare HTTP/1.1 client; the status and body.
pub fn http_get(base: &str, path: &str) -> Option<(u16, String)> {
    let authority = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// A plain HTTP client (no redirects followed, 10 s timeout). reqwest is built without a
/// default TLS crypto provider here (`reqwest::Client::new()` would panic), so it gets an
/// aws-lc-rs one.
pub fn http_client() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The test token service's master key (`portico_core::testing::test_sealer`) as
/// `PORTICO_MASTER_KEY`: `portico` processes then read the signing keys a TestApp wrote.
pub fn test_master_key() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([7u8; 32])
}

/// `portico <args>` on `database_url` (with [`test_master_key`]); its stdout. Fails the test
/// with the command's stderr when it fails.
pub fn portico_cli(database_url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_portico"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("PORTICO_MASTER_KEY", test_master_key())
        .env("PORTICO_LOG", "warn")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "portico {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An application made by `portico app create` (its partner approved), granted
/// `commercial:read commercial:write`, with limits raised out of the way of load tests.
pub struct CliApplication {
    pub http: reqwest::Client,
    pub client_id: String,
    pub secret: String,
    pub api_key: String,
}

impl CliApplication {
    pub fn create(database_url: &str, partner: &str) -> Self {
        let scopes = "commercial:read commercial:write";
        let created = portico_cli(
            database_url,
            &[
                "app",
                "create",
                "--partner",
                partner,
                "--name",
                "Load",
                "--scopes",
                scopes,
            ],
        );
        let creds: serde_json::Value = serde_json::from_str(&created).unwrap();
        let client_id = creds["client_id"].as_str().unwrap().to_owned();
        let limits = [
            "--rate",
            "100000",
            "--burst",
            "100000",
            "--quota",
            "100000000",
        ];
        let mut args = vec!["app", "limits", "--client-id", &client_id];
        args.extend(limits);
        portico_cli(database_url, &args);
        Self {
            http: http_client(),
            client_id,
            secret: creds["client_secret"].as_str().unwrap().to_owned(),
            api_key: creds["api_key"].as_str().unwrap().to_owned(),
        }
    }

    /// A `client_credentials` token from the token server at `base`.
    pub async fn token(&self, base: &str) -> String {
        let res = self
            .http
            .post(format!("{base}/oauth2/token"))
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }
}

/// Runs `$check(app: TestApp)` as two tests, `$name::sqlite` and `$name::postgres`, each on a
/// fresh app on that engine (with the given tokio flavor, if any).
macro_rules! on_both_engines {
    // A check that builds its own apps (several per engine) from the engine it is given.
    ($name:ident, engine $check:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$check($crate::common::Engine::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$check($crate::common::Engine::Postgres).await;
            }
        }
    };
    ($name:ident, $check:ident $(, $flavor:literal)?) => {
        mod $name {
            #[tokio::test$((flavor = $flavor))?]
            async fn sqlite() {
                super::$check($crate::common::TestApp::sqlite().await).await;
            }

            #[tokio::test$((flavor = $flavor))?]
            async fn postgres() {
                super::$check($crate::common::TestApp::postgres().await).await;
            }
        }
    };
}
pub(crate) use on_both_engines;
