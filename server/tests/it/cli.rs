//! The real `portico` binary: configuration errors, subcommands, first start, shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn portico(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTICO_PORTAL_ADDR", "127.0.0.1:0")
        .env("PORTICO_SANDBOX_ADDR", "127.0.0.1:0");
    cmd
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn invalid_configuration_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "PORTICO_PORTAL_ADDR",
            "not-an-address",
            "invalid PORTICO_PORTAL_ADDR=\"not-an-address\" (from environment)",
        ),
        (
            "DATABASE_URL",
            "mysql://root@localhost/portico",
            "invalid DATABASE_URL=\"mysql://root@localhost/portico\"",
        ),
        (
            "PORTICO_TOKEN_TTL",
            "59",
            "invalid PORTICO_TOKEN_TTL=\"59\" (from environment): must be between 60 and 3600 seconds",
        ),
        ("PORTICO_LOG", "chatty", "invalid PORTICO_LOG=\"chatty\""),
    ];
    for (key, value, expected) in cases {
        let output = portico(dir.path())
            .env(key, value)
            .arg("serve")
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{key}: {stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{key}: exactly one line: {stderr}"
        );
        assert!(
            stderr.starts_with(&format!("portico: {expected}")),
            "{key}: {stderr}"
        );
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn a_bad_config_file_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portico.toml"), "token_ttl = 7200\n").unwrap();
    let output = portico(dir.path()).arg("migrate").output().unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("PORTICO_TOKEN_TTL=\"7200\" (from portico.toml)"),
        "{stderr}"
    );
}

#[test]
fn help_documents_every_subcommand_and_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = portico(dir.path()).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for word in ["serve", "migrate", "admin"] {
        assert!(help.contains(word), "missing subcommand {word}");
    }
    for (var, ..) in portico_server::config::SETTINGS {
        assert!(help.contains(var), "missing variable {var}");
    }
}

#[test]
fn usage_errors_exit_with_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = portico(dir.path()).arg("frobnicate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn migrate_creates_the_sqlite_file_and_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let output = portico(dir.path()).arg("migrate").output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    // The default DATABASE_URL is ./data/portico.db, relative to the working directory.
    assert!(dir.path().join("data/portico.db").exists());
    let again = portico(dir.path()).arg("migrate").output().unwrap();
    assert!(again.status.success());
}

#[test]
fn admin_create_prints_a_one_time_link_and_rejects_bad_email() {
    let dir = tempfile::tempdir().unwrap();
    let output = portico(dir.path())
        .args(["admin", "create", "--email", "Ops@Example.com"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("Admin ops@example.com created"), "{stdout}");
    assert!(stdout.contains("/signin?token=pst_"), "{stdout}");

    let dup = portico(dir.path())
        .args(["admin", "create", "--email", "ops@example.com"])
        .output()
        .unwrap();
    assert_eq!(dup.status.code(), Some(1));
    let last = stderr_of(&dup)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(
        last.starts_with("portico: ") && last.contains("already exists"),
        "{}",
        stderr_of(&dup)
    );

    let bad = portico(dir.path())
        .args(["admin", "create", "--email", "not-an-email"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr_of(&bad).contains("is not a valid email address"));
}

/// A running `portico serve` and what it printed before it was ready.
struct Server {
    child: Child,
    banner: Vec<String>,
    portal: String,
    sandbox: String,
}

impl Server {
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        let (mut portal, mut sandbox) = (None, None);
        while portal.is_none() || sandbox.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no banner; got {banner:?}"));
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["portal", url] => portal = Some((*url).to_owned()),
                ["sandbox", url] => sandbox = Some((*url).to_owned()),
                _ => {}
            }
            banner.push(line);
        }
        // The bootstrap lines follow the URLs; collect what arrives promptly.
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            banner.push(line);
        }
        Self {
            child,
            banner,
            portal: portal.unwrap(),
            sandbox: sandbox.unwrap(),
        }
    }

    /// SIGTERM, then the exit code.
    fn stop(mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap().code()
    }
}

/// A minimal HTTP/1.1 GET, so these tests need no HTTP client crate.
fn http_get(base: &str, path: &str) -> (u16, String) {
    let authority = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response)
}

#[test]
fn first_start_prints_the_bootstrap_link_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(portico(dir.path()));
    let text = first.banner.join("\n");
    assert!(text.contains("bootstrap admin"), "{text}");
    assert!(
        text.contains(&format!("{}/signin?token=pst_", first.portal)),
        "{text}"
    );
    let (status, body) = http_get(&first.sandbox, "/healthz");
    assert_eq!(status, 200, "{body}");
    let (status, _) = http_get(&first.portal, "/");
    assert_eq!(status, 200);
    assert_eq!(first.stop(), Some(0), "graceful shutdown exits 0");

    let second = Server::start(portico(dir.path()));
    let text = second.banner.join("\n");
    assert!(
        !text.contains("signin?token="),
        "restart must not print a link again: {text}"
    );
    assert_eq!(second.stop(), Some(0));
}

#[test]
fn serve_on_postgres_creates_the_database_when_missing() {
    let name = format!("portico_cli_{}", std::process::id());
    let server_url = portico_core::testing::postgres_server_url();
    let url = format!("{server_url}/{name}");
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = portico(dir.path());
    cmd.env("DATABASE_URL", &url);
    let server = Server::start(cmd);
    assert!(
        server.banner[0].contains("postgres database"),
        "{:?}",
        server.banner
    );
    let (status, body) = http_get(&server.sandbox, "/readyz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""database":"postgres""#), "{body}");
    assert_eq!(server.stop(), Some(0));

    let drop = Command::new("psql")
        .args([
            &format!("{server_url}/postgres"),
            "-qc",
            &format!("DROP DATABASE \"{name}\" WITH (FORCE)"),
        ])
        .status()
        .unwrap();
    assert!(drop.success(), "dropping {name}");
}

#[test]
fn an_occupied_port_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = portico(dir.path())
        .env("PORTICO_PORTAL_ADDR", &addr)
        .arg("serve")
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // Log lines may precede it; the error itself is one line, and the last one.
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("portico: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains(&format!("cannot listen on {addr} (PORTICO_PORTAL_ADDR)")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().last(), Some(errors[0]));
}

/// A minimal HTTP/1.1 form POST with Basic credentials.
fn http_post_form(base: &str, path: &str, user: &str, password: &str, body: &str) -> (u16, String) {
    use base64::Engine as _;
    let authority = base.trim_start_matches("http://");
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut stream = TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Basic {credentials}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response)
}

fn json_line(text: &str) -> serde_json::Value {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {text}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn an_application_created_by_the_cli_works_at_the_running_token_endpoint_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(portico(dir.path()));
    // The first start also printed the demo application's credentials, once.
    let demo = json_line(&server.banner.join("\n"));
    assert_eq!(demo["partner_id"], "demo");
    assert!(demo["client_secret"].as_str().unwrap().starts_with("pcs_"));
    assert!(demo["api_key"].as_str().unwrap().starts_with("pak_"));

    let output = portico(dir.path())
        .args([
            "app",
            "create",
            "--partner",
            "acme",
            "--name",
            "Fleet sync",
            "--scopes",
            "commercial:read",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let created = json_line(&String::from_utf8(output.stdout).unwrap());
    assert_eq!(created["partner_id"], "acme");
    let (id, secret) = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );

    let (status, response) = http_post_form(
        &server.sandbox,
        "/oauth2/token",
        id,
        secret,
        "grant_type=client_credentials",
    );
    assert_eq!(status, 200, "{response}");
    assert!(
        response.contains(r#""scope":"commercial:read""#),
        "{response}"
    );
    let (status, _) = http_post_form(
        &server.sandbox,
        "/oauth2/token",
        id,
        "pcs_wrong",
        "grant_type=client_credentials",
    );
    assert_eq!(status, 401);
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn app_create_rejects_unknown_scopes_and_duplicate_names() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = portico(dir.path())
        .args([
            "app",
            "create",
            "--partner",
            "acme",
            "--name",
            "A",
            "--scopes",
            "commercial:reed",
        ])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr_of(&unknown).contains("unknown scope \"commercial:reed\""),
        "{}",
        stderr_of(&unknown)
    );
    let create = || {
        portico(dir.path())
            .args(["app", "create", "--partner", "acme", "--name", "A"])
            .output()
            .unwrap()
    };
    assert!(create().status.success());
    let dup = create();
    assert_eq!(dup.status.code(), Some(1));
    assert!(
        stderr_of(&dup).contains("already has an application named"),
        "{}",
        stderr_of(&dup)
    );
    let bad_partner = portico(dir.path())
        .args(["app", "create", "--partner", "Not A Slug", "--name", "A"])
        .output()
        .unwrap();
    assert_eq!(bad_partner.status.code(), Some(1));
}

#[test]
fn demo_is_idempotent_and_keys_rotate_publishes_then_promotes() {
    let dir = tempfile::tempdir().unwrap();
    let first = portico(dir.path()).arg("demo").output().unwrap();
    assert!(first.status.success(), "{}", stderr_of(&first));
    assert_eq!(
        json_line(&String::from_utf8(first.stdout).unwrap())["partner_id"],
        "demo"
    );
    let second =
        String::from_utf8(portico(dir.path()).arg("demo").output().unwrap().stdout).unwrap();
    assert!(second.contains("already exists"), "{second}");
    assert!(!second.contains("pcs_"), "the secret is never shown twice");

    let rotate = String::from_utf8(
        portico(dir.path())
            .args(["keys", "rotate"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(rotate.contains("published next signing key"), "{rotate}");
    let again = String::from_utf8(
        portico(dir.path())
            .args(["keys", "rotate"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(again.contains("already published"), "{again}");
    let promote = String::from_utf8(
        portico(dir.path())
            .args(["keys", "rotate", "--promote"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(promote.contains("now signs"), "{promote}");
    // The master key file sits beside the database, readable by its owner only.
    let key_file = dir.path().join("data/portico.key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn invalid_policies_stop_start_up_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("content/policies");
    std::fs::create_dir_all(&policies).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/policies");
    std::fs::copy(
        shipped.join("schema.cedarschema"),
        policies.join("schema.cedarschema"),
    )
    .unwrap();
    std::fs::write(
        policies.join("broken.cedar"),
        "@id(\"broken\")\npermit (principal, action, resource)\nwhen { principal.nickname == \"x\" };\n",
    )
    .unwrap();
    let output = portico(dir.path()).arg("serve").output().unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the Cedar policies are invalid"),
        "{stderr}"
    );
    assert!(stderr.contains("broken.cedar:3:"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_export_prints_the_months_metering_and_refuses_a_bad_month() {
    use portico_core::traffic::request_log::{self, RequestRecord};
    let database = portico_core::testing::TestDatabase::sqlite().await;
    let (december, _) = portico_core::traffic::hourly_usage::Month::parse("2026-12")
        .unwrap()
        .range_ms();
    let records: Vec<RequestRecord> = (0..5)
        .map(|n| RequestRecord {
            request_id: format!("req-{n}"),
            occurred_at_ms: december + n * 60_000,
            stage: "sandbox",
            client_id: Some("pci_acme".into()),
            partner_id: Some(if n < 3 { "acme" } else { "globex" }.into()),
            scopes: None,
            method: "POST".into(),
            route: "/v2/commercial/orders".into(),
            action: Some("commercial:CreateOrder".into()),
            decision: "allow",
            reason: None,
            status: 201,
            latency_us: 900,
            version: Some("v2".into()),
            client_ip: None,
        })
        .collect();
    request_log::insert_batch(&database.db, &records)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        portico(dir.path())
            .env("DATABASE_URL", database.url.as_str())
            .env("PORTICO_LOG", "error")
            .args(["usage", "export"])
            .args(args)
            .output()
            .unwrap()
    };
    let csv = tokio::task::block_in_place(|| run(&["--month", "2026-12", "--partner", "acme"]));
    assert!(csv.status.success(), "{}", stderr_of(&csv));
    assert_eq!(
        String::from_utf8_lossy(&csv.stdout),
        "month,partner_id,operation,stage,status_class,calls\n\
         2026-12,acme,commercial:CreateOrder,sandbox,2xx,3\n"
    );
    let json = tokio::task::block_in_place(|| run(&["--month", "2026-12", "--format", "json"]));
    assert!(json.status.success(), "{}", stderr_of(&json));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["month"], "2026-12");
    assert_eq!(doc["totals"]["acme"], 3);
    assert_eq!(doc["totals"]["globex"], 2);
    let empty = tokio::task::block_in_place(|| run(&["--month", "2026-11"]));
    assert_eq!(
        String::from_utf8_lossy(&empty.stdout).lines().count(),
        1,
        "the header only"
    );
    for bad in [
        &["--month", "2026-13"][..],
        &["--month", "2026-12", "--format", "xml"],
    ] {
        let refused = tokio::task::block_in_place(|| run(bad));
        let stderr = stderr_of(&refused);
        assert_eq!(refused.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains("invalid value"), "{stderr}");
    }
}
