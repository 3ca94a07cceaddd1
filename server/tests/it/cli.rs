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
