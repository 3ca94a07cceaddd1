//! Mutual TLS (RFC 8705) over real TLS with curl: certificates made here with the openssl CLI,
//! `tls_client_auth` and `self_signed_tls_client_auth` at the token endpoint, certificate-bound
//! tokens at the gateway, and certificates forwarded by a trusted proxy (only by one).

use crate::common::{Process, TestApp, on_both_engines, test_master_key};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use portico_core::testing;
use portico_core::tokens::mtls::{self, MtlsRegistration};
use portico_server::fronts;
use portico_server::tls::{ClientCa, ForwardedCertificates, TlsServer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tokio::sync::watch;

/// A throw-away PKI: a client CA, a server certificate, one CA-issued client certificate and
/// two self-signed ones (the first with the same SAN as the CA-issued one).
struct Pki {
    dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let self_signed = |name: &str, subject: &str, extra: &[&str]| {
            let key = format!("{name}.key");
            let crt = format!("{name}.crt");
            let mut args = vec!["req", "-x509"];
            args.extend(EC);
            args.extend([
                "-nodes", "-keyout", &key, "-out", &crt, "-days", "2", "-subj", subject,
            ]);
            args.extend(extra);
            openssl(d, &args);
        };
        self_signed("ca", "/CN=Test Client CA", &[]);
        self_signed(
            "server",
            "/CN=localhost",
            &["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        );
        let mut csr = vec!["req"];
        csr.extend(EC);
        csr.extend([
            "-nodes",
            "-keyout",
            "a.key",
            "-out",
            "a.csr",
            "-subj",
            "/CN=client-a/O=Acme",
        ]);
        openssl(d, &csr);
        std::fs::write(
            d.join("a.ext"),
            "subjectAltName=DNS:client-a.example.com\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "a.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "1001",
                "-out",
                "a.crt",
                "-days",
                "2",
                "-extfile",
                "a.ext",
            ],
        );
        let client_ext = [
            "-addext",
            "subjectAltName=DNS:client-a.example.com",
            "-addext",
            "extendedKeyUsage=clientAuth",
        ];
        self_signed("b", "/CN=client-b", &client_ext);
        self_signed("c", "/CN=client-c", &client_ext);
        Self { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.crt"))).unwrap()
    }

    fn der(&self, name: &str) -> Vec<u8> {
        let pem = self.pem(name);
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        STANDARD.decode(body).unwrap()
    }

    fn thumbprint(&self, name: &str) -> String {
        mtls::certificate_thumbprint(&self.der(name))
    }

    fn tls_server(&self) -> TlsServer {
        TlsServer::load(
            &self.path("server.crt"),
            &self.path("server.key"),
            Some(self.client_ca()),
        )
        .unwrap()
    }

    fn client_ca(&self) -> ClientCa {
        ClientCa::load(&self.path("ca.crt")).unwrap()
    }
}

/// What curl got back.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// One curl request (a blocking process, off the runtime's threads). `cert` names the client
/// certificate to present (`a`, `b`, `c`), `form` makes it a POST.
async fn curl(
    pki: &Pki,
    url: &str,
    cert: Option<&str>,
    headers: &[String],
    form: Option<&str>,
) -> Answer {
    let mut args: Vec<String> = vec![
        "-sS".into(),
        "-i".into(),
        "--max-time".into(),
        "10".into(),
        "--cacert".into(),
        pki.path("server.crt").display().to_string(),
    ];
    if let Some(name) = cert {
        args.extend([
            "--cert".into(),
            pki.path(&format!("{name}.crt")).display().to_string(),
            "--key".into(),
            pki.path(&format!("{name}.key")).display().to_string(),
        ]);
    }
    for header in headers {
        args.extend(["-H".into(), header.clone()]);
    }
    if let Some(form) = form {
        args.extend(["--data".into(), form.to_owned()]);
    }
    args.push(url.to_owned());
    let out = tokio::task::spawn_blocking(move || Command::new("curl").args(&args).output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    Answer {
        status,
        headers: headers.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

struct Client {
    app_id: String,
    owner: portico_core::identity::ActorContext,
    client_id: String,
    secret: String,
}

async fn client(app: &TestApp, partner: &str) -> Client {
    let (application, creds) = create_app(
        &app.database.db,
        partner,
        partner,
        "App",
        &Scopes::parse("commercial:read").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    Client {
        owner: testing::owner_of_app(&app.database.db, &application.id).await,
        app_id: application.id,
        client_id: creds.client_id,
        secret: creds.client_secret.expose().to_owned(),
    }
}

async fn register(app: &TestApp, c: &Client, registration: MtlsRegistration<'_>, bound: bool) {
    mtls::configure(&app.database.db, &c.owner, &c.app_id, registration, bound)
        .await
        .unwrap();
}

/// Serves the app's sandbox front (offering mutual TLS) on a loopback port; its base URL.
async fn serve(
    app: &TestApp,
    tls: Option<TlsServer>,
    forwarded: Option<ForwardedCertificates>,
) -> (String, watch::Sender<bool>) {
    let mut shared = app.shared.clone();
    shared.client_certificates = true;
    let front = fronts::sandbox(&shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr().unwrap());
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(portico_server::tls::serve(
        "sandbox", listener, front, tls, forwarded, stopped,
    ));
    (url, stop)
}

fn bearer(token: &str) -> Vec<String> {
    vec![format!("Authorization: Bearer {token}")]
}

const PRODUCTS: &str = "/v2/commercial/products?limit=1";

async fn token_by_certificate(base: &str, pki: &Pki, cert: &str, c: &Client) -> Answer {
    let form = format!("grant_type=client_credentials&client_id={}", c.client_id);
    curl(
        pki,
        &format!("{base}/oauth2/token"),
        Some(cert),
        &[],
        Some(&form),
    )
    .await
}

async fn certificates_authenticate_clients_and_bind_their_tokens(app: TestApp) {
    let pki = Pki::new();
    let ca_issued = client(&app, "acme").await;
    register(
        &app,
        &ca_issued,
        MtlsRegistration::TlsClientAuth {
            kind: "dns",
            value: "client-a.example.com",
        },
        false,
    )
    .await;
    let by_dn = client(&app, "acme-dn").await;
    register(
        &app,
        &by_dn,
        MtlsRegistration::TlsClientAuth {
            kind: "dn",
            value: "O=Acme, CN=client-a",
        },
        false,
    )
    .await;
    let self_signed = client(&app, "globex").await;
    register(
        &app,
        &self_signed,
        MtlsRegistration::SelfSigned {
            certificates: &pki.pem("b"),
        },
        false,
    )
    .await;
    let (base, _stop) = serve(&app, Some(pki.tls_server()), None).await;

    // The metadata: both methods, bound tokens, and no aliases (the same listener).
    let meta = curl(
        &pki,
        &format!("{base}/.well-known/oauth-authorization-server"),
        None,
        &[],
        None,
    )
    .await
    .json();
    let methods = meta["token_endpoint_auth_methods_supported"].to_string();
    assert!(
        methods.contains("\"tls_client_auth\"") && methods.contains("self_signed_tls_client_auth")
    );
    assert_eq!(meta["tls_client_certificate_bound_access_tokens"], true);
    assert!(meta.get("mtls_endpoint_aliases").is_none());

    // tls_client_auth, by SAN and by subject DN: a token bound to certificate A.
    for c in [&ca_issued, &by_dn] {
        let res = token_by_certificate(&base, &pki, "a", c).await;
        assert_eq!(res.status, 200, "{res:?}");
        assert_eq!(res.json()["token_type"], "Bearer");
        let token = res.json()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(claims(&token)["cnf"]["x5t#S256"], pki.thumbprint("a"));
    }
    let token_a = token_by_certificate(&base, &pki, "a", &ca_issued)
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The bound token works with its certificate only.
    let url = format!("{base}{PRODUCTS}");
    let ok = curl(&pki, &url, Some("a"), &bearer(&token_a), None).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    for (cert, word) in [(None, "none"), (Some("c"), "another")] {
        let refused = curl(&pki, &url, cert, &bearer(&token_a), None).await;
        assert_eq!(refused.status, 401, "{refused:?}");
        assert_eq!(refused.json()["__type"], "UnauthorizedException");
        let message = refused.json()["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains("certificate") && message.contains(word),
            "{message}"
        );
        assert!(
            refused.headers.contains("www-authenticate: bearer")
                && refused.headers.contains("error=\"invalid_token\"")
                && refused.headers.contains("certificate"),
            "{}",
            refused.headers
        );
    }

    // A self-signed certificate with the registered SAN is not CA-issued: refused.
    let res = token_by_certificate(&base, &pki, "b", &ca_issued).await;
    assert_eq!(res.status, 401, "{res:?}");
    assert_eq!(res.json()["error"], "invalid_client");
    // No certificate at all: refused the same way.
    let form = format!(
        "grant_type=client_credentials&client_id={}",
        ca_issued.client_id
    );
    let res = curl(
        &pki,
        &format!("{base}/oauth2/token"),
        None,
        &[],
        Some(&form),
    )
    .await;
    assert_eq!(res.status, 401, "{res:?}");

    // self_signed_tls_client_auth: the registered certificate B, not C.
    let res = token_by_certificate(&base, &pki, "b", &self_signed).await;
    assert_eq!(res.status, 200, "{res:?}");
    let token_b = res.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&token_b)["cnf"]["x5t#S256"], pki.thumbprint("b"));
    assert_eq!(
        curl(&pki, &url, Some("b"), &bearer(&token_b), None)
            .await
            .status,
        200
    );
    let res = token_by_certificate(&base, &pki, "c", &self_signed).await;
    assert_eq!(res.status, 401, "{res:?}");
    assert_eq!(res.json()["error"], "invalid_client");

    // Client secrets keep working over TLS, with or without a certificate: bearer tokens,
    // until the application asks for bound ones.
    let secret_form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        self_signed.client_id, self_signed.secret
    );
    let token_url = format!("{base}/oauth2/token");
    for cert in [None, Some("c")] {
        let res = curl(&pki, &token_url, cert, &[], Some(&secret_form)).await;
        assert_eq!(res.status, 200, "{res:?}");
        let token = res.json()["access_token"].as_str().unwrap().to_owned();
        assert!(claims(&token).get("cnf").is_none());
        assert_eq!(
            curl(&pki, &url, None, &bearer(&token), None).await.status,
            200
        );
    }
    register(
        &app,
        &self_signed,
        MtlsRegistration::SelfSigned {
            certificates: &pki.pem("b"),
        },
        true,
    )
    .await;
    let res = curl(&pki, &token_url, Some("c"), &[], Some(&secret_form)).await;
    let token_c = res.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&token_c)["cnf"]["x5t#S256"], pki.thumbprint("c"));
    assert_eq!(
        curl(&pki, &url, Some("c"), &bearer(&token_c), None)
            .await
            .status,
        200
    );
    assert_eq!(
        curl(&pki, &url, Some("b"), &bearer(&token_c), None)
            .await
            .status,
        401
    );

    // Removing the registration ends certificate authentication; every change is audited.
    register(&app, &self_signed, MtlsRegistration::Off, false).await;
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'application.mtls.changed' AND target = $1",
    )
    .bind(&self_signed.app_id)
    .fetch_one(app.database.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 3);
    assert!(
        mtls::load(&app.database.db, &self_signed.app_id)
            .await
            .unwrap()
            .is_none()
    );
    let res = token_by_certificate(&base, &pki, "b", &self_signed).await;
    assert_eq!(res.status, 401, "{res:?}");
}

on_both_engines!(
    certificates_authenticate_clients_and_bind_tokens,
    certificates_authenticate_clients_and_bind_their_tokens
);

/// RFC 9440 `Client-Cert` value: `:<base64 DER>:`.
fn client_cert_header(pki: &Pki, name: &str) -> String {
    format!("Client-Cert: :{}:", STANDARD.encode(pki.der(name)))
}

async fn forwarded_certificates_count_only_from_trusted_proxies(app: TestApp) {
    let pki = Pki::new();
    let c = client(&app, "acme").await;
    register(
        &app,
        &c,
        MtlsRegistration::TlsClientAuth {
            kind: "dns",
            value: "client-a.example.com",
        },
        false,
    )
    .await;
    let forwarded = |trusted: &str| ForwardedCertificates {
        header: axum::http::HeaderName::from_static("client-cert"),
        trusted_proxies: Arc::new(
            portico_sandbox::client_ip::parse_trusted_proxies(trusted).unwrap(),
        ),
        client_ca: Some(pki.client_ca()),
    };
    // Plain HTTP behind a proxy on loopback (trusted), and the same front trusting others only.
    let (behind_proxy, _stop1) = serve(&app, None, Some(forwarded("127.0.0.1/32"))).await;
    let (untrusted, _stop2) = serve(&app, None, Some(forwarded("10.0.0.0/8"))).await;
    let form = format!("grant_type=client_credentials&client_id={}", c.client_id);

    let header = vec![client_cert_header(&pki, "a")];
    let res = curl(
        &pki,
        &format!("{behind_proxy}/oauth2/token"),
        None,
        &header,
        Some(&form),
    )
    .await;
    assert_eq!(res.status, 200, "{res:?}");
    let token = res.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&token)["cnf"]["x5t#S256"], pki.thumbprint("a"));

    // nginx's $ssl_client_escaped_cert (URL-encoded PEM) works too.
    let escaped: String = url::form_urlencoded::byte_serialize(pki.pem("a").as_bytes()).collect();
    let escaped = escaped.replace('+', "%20");
    let res = curl(
        &pki,
        &format!("{behind_proxy}/oauth2/token"),
        None,
        &[format!("Client-Cert: {escaped}")],
        Some(&form),
    )
    .await;
    assert_eq!(res.status, 200, "{res:?}");

    // The gateway: the bound token with the forwarded certificate, and without it.
    let mut with_cert = bearer(&token);
    with_cert.push(client_cert_header(&pki, "a"));
    let api = format!("{behind_proxy}{PRODUCTS}");
    assert_eq!(curl(&pki, &api, None, &with_cert, None).await.status, 200);
    assert_eq!(
        curl(&pki, &api, None, &bearer(&token), None).await.status,
        401
    );
    let mut other = bearer(&token);
    other.push(client_cert_header(&pki, "c"));
    assert_eq!(curl(&pki, &api, None, &other, None).await.status, 401);
    // A self-signed certificate forwarded with the right SAN is still not CA-issued.
    let res = curl(
        &pki,
        &format!("{behind_proxy}/oauth2/token"),
        None,
        &[client_cert_header(&pki, "b")],
        Some(&form),
    )
    .await;
    assert_eq!(res.status, 401, "{res:?}");

    // From a peer that is not a trusted proxy the header is ignored: no certificate.
    let res = curl(
        &pki,
        &format!("{untrusted}/oauth2/token"),
        None,
        &header,
        Some(&form),
    )
    .await;
    assert_eq!(res.status, 401, "{res:?}");
    assert_eq!(res.json()["error"], "invalid_client");
    let api = format!("{untrusted}{PRODUCTS}");
    let res = curl(&pki, &api, None, &with_cert, None).await;
    assert_eq!(res.status, 401, "{res:?}");
    assert!(res.json()["message"].as_str().unwrap().contains("none"));
}

on_both_engines!(
    forwarded_certificates_only_from_trusted_proxies,
    forwarded_certificates_count_only_from_trusted_proxies
);

/// The binary: `PORTICO_TLS_*` make the sandbox front HTTPS (banner, metadata, mutual TLS);
/// unreadable files stop start-up naming the setting.
#[tokio::test]
async fn the_binary_serves_https_with_client_certificates() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let key = test_master_key();
    let env = [
        (
            "PORTICO_TLS_CERT",
            pki.path("server.crt").display().to_string(),
        ),
        (
            "PORTICO_TLS_KEY",
            pki.path("server.key").display().to_string(),
        ),
        (
            "PORTICO_TLS_CLIENT_CA",
            pki.path("ca.crt").display().to_string(),
        ),
        ("PORTICO_MASTER_KEY", key),
        ("PORTICO_FRONTS", "sandbox".to_owned()),
    ];
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (process, url) = Process::start(dir.path(), &envs, "sandbox");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let meta = curl(
        &pki,
        &format!("{url}/.well-known/oauth-authorization-server"),
        Some("a"),
        &[],
        None,
    )
    .await
    .json();
    assert_eq!(meta["tls_client_certificate_bound_access_tokens"], true);
    assert!(
        meta["token_endpoint"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    process.stop();

    let bad = pki.path("a.csr").display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_portico"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTICO_TLS_CERT", &bad)
        .env("PORTICO_TLS_KEY", pki.path("server.key"))
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PORTICO_TLS_CERT"), "{stderr}");
}
