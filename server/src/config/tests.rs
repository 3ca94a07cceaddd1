//! Configuration tests: every setting, its default and its refusal.

use super::*;

use std::collections::HashMap;

fn load(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::load(None, |k| env.get(k).cloned())
}

fn error_line(env: &[(&str, &str)]) -> String {
    load(env).expect_err("should be rejected").to_string()
}

#[test]
fn defaults_match_the_design() {
    let config = load(&[]).unwrap();
    assert_eq!(config.database_url.as_str(), "sqlite://./data/portico.db");
    assert_eq!(config.portal_addr.to_string(), "127.0.0.1:3000");
    assert_eq!(config.sandbox_addr.to_string(), "127.0.0.1:4000");
    assert_eq!(config.token_ttl, Duration::from_secs(900));
    assert_eq!(
        config.fronts,
        Fronts {
            portal: true,
            sandbox: true
        }
    );
    assert_eq!(
        config.log,
        LogConfig {
            level: "info",
            format: LogFormat::Human
        }
    );
    assert_eq!(config.audience, "portico-api");
    assert!(config.redis_url.is_none());
}

#[test]
fn environment_overrides_file_which_overrides_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portico.toml");
    std::fs::write(
        &path,
        "token_ttl = 120\nportal_addr = \"127.0.0.1:3100\"\nfronts = [\"sandbox\"]\n",
    )
    .unwrap();
    let env = HashMap::from([("PORTICO_TOKEN_TTL".to_owned(), "300".to_owned())]);
    let config = Config::load(Some(&path), |k| env.get(k).cloned()).unwrap();
    assert_eq!(
        config.token_ttl,
        Duration::from_secs(300),
        "environment wins"
    );
    assert_eq!(
        config.portal_addr.to_string(),
        "127.0.0.1:3100",
        "file beats default"
    );
    assert_eq!(
        config.fronts,
        Fronts {
            portal: false,
            sandbox: true
        }
    );
}

#[test]
fn bad_values_name_the_key_the_value_and_the_origin() {
    assert_eq!(
        error_line(&[("PORTICO_PORTAL_ADDR", "localhost")]),
        "invalid PORTICO_PORTAL_ADDR=\"localhost\" (from environment): expected an IP address and port such as 127.0.0.1:3000"
    );
    assert_eq!(
        error_line(&[("PORTICO_TOKEN_TTL", "5")]),
        "invalid PORTICO_TOKEN_TTL=\"5\" (from environment): must be between 60 and 3600 seconds"
    );
    assert!(error_line(&[("PORTICO_TOKEN_TTL", "3601")]).contains("between 60 and 3600"));
    assert!(error_line(&[("PORTICO_TOKEN_TTL", "soon")]).contains("whole number"));
    assert!(
        error_line(&[("DATABASE_URL", "mysql://x/y")])
            .starts_with("invalid DATABASE_URL=\"mysql://x/y\"")
    );
    assert!(error_line(&[("PORTICO_LOG", "loud")]).contains("PORTICO_LOG"));
    assert!(error_line(&[("PORTICO_FRONTS", "portal,admin")]).contains("\"admin\""));
    assert!(
        error_line(&[("PORTICO_PUBLIC_PORTAL_URL", "ftp://x")])
            .contains("PORTICO_PUBLIC_PORTAL_URL")
    );
    assert!(error_line(&[("REDIS_URL", "http://x")]).contains("REDIS_URL"));
    assert!(error_line(&[("PORTICO_DRAIN_DELAY", "301")]).contains("PORTICO_DRAIN_DELAY"));
    assert!(error_line(&[("PORTICO_METRICS_ADDR", "nowhere")]).contains("PORTICO_METRICS_ADDR"));
    assert!(error_line(&[("PORTICO_REDIS_FAILURE", "open")]).contains("local or allow"));
    assert!(
        error_line(&[("PORTICO_SIGNING_ALG", "HS256")]).contains("expected ES256, RS256 or EdDSA")
    );
    assert!(
        error_line(&[("PORTICO_KEY_ROTATION_LEAD", "-1")]).contains("PORTICO_KEY_ROTATION_LEAD")
    );
    assert_eq!(
        error_line(&[("PORTICO_PROBE_INTERVAL", "0")]),
        "invalid PORTICO_PROBE_INTERVAL=\"0\" (from environment): expected a whole number of seconds between 1 and 3600"
    );
    assert!(error_line(&[("PORTICO_PROBE_INTERVAL", "often")]).contains("PORTICO_PROBE_INTERVAL"));
    assert_eq!(load(&[]).unwrap().probe_interval, Duration::from_secs(30));
    assert_eq!(
        load(&[("PORTICO_PROBE_INTERVAL", "5")])
            .unwrap()
            .probe_interval,
        Duration::from_secs(5)
    );
}

#[test]
fn passwords_in_urls_never_reach_error_messages() {
    let line = error_line(&[("DATABASE_URL", "mysql://app:hunter2@db/portico")]);
    assert!(!line.contains("hunter2"), "{line}");
    assert!(line.contains("mysql://app:***@db/portico"), "{line}");
}

#[test]
fn master_keys_are_validated_and_never_echoed() {
    let line = error_line(&[("PORTICO_MASTER_KEY", "c2hvcnQ=")]);
    assert!(
        line.starts_with("invalid PORTICO_MASTER_KEY=\"<redacted>\""),
        "{line}"
    );
    assert!(!line.contains("c2hvcnQ="));
    let good = KeySealer::generate_base64();
    let config = load(&[("PORTICO_MASTER_KEY", &good)]).unwrap();
    assert!(!format!("{config:?}").contains(&good));
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portico.toml");
    std::fs::write(&path, "tokn_ttl = 120\n").unwrap();
    let err = Config::load(Some(&path), |_| None).unwrap_err().to_string();
    assert!(err.contains("unknown key \"tokn_ttl\""), "{err}");
    std::fs::write(&path, "token_ttl = 10\n").unwrap();
    let err = Config::load(Some(&path), |_| None).unwrap_err().to_string();
    assert!(
        err.contains("PORTICO_TOKEN_TTL") && err.contains("portico.toml"),
        "{err}"
    );
    let err = Config::load(Some(&dir.path().join("missing.toml")), |_| None).unwrap_err();
    assert!(matches!(err, ConfigError::File { .. }));
}

#[test]
fn single_sign_on_needs_all_three_settings_and_hides_the_secret() {
    assert!(load(&[]).unwrap().oidc.is_none());
    let all = [
        ("PORTICO_OIDC_ISSUER", "https://idp.example/realms/partners"),
        ("PORTICO_OIDC_CLIENT_ID", "portico"),
        ("PORTICO_OIDC_CLIENT_SECRET", "hunter2-oidc"),
    ];
    let config = load(&all).unwrap();
    let oidc = config.oidc.as_ref().unwrap();
    assert_eq!(oidc.issuer.as_str(), "https://idp.example/realms/partners");
    assert_eq!(oidc.client_id, "portico");
    assert_eq!(oidc.client_secret.expose(), "hunter2-oidc");
    assert!(!format!("{config:?}").contains("hunter2-oidc"));

    let line = error_line(&all[..2]);
    assert!(
        line.starts_with("invalid PORTICO_OIDC_CLIENT_SECRET=")
            && line.contains("PORTICO_OIDC_ISSUER and PORTICO_OIDC_CLIENT_ID set")
            && line.contains("PORTICO_OIDC_CLIENT_SECRET missing"),
        "{line}"
    );
    let line = error_line(&all[2..]);
    assert!(
        line.contains("PORTICO_OIDC_ISSUER and PORTICO_OIDC_CLIENT_ID missing"),
        "{line}"
    );
    assert!(!line.contains("hunter2-oidc"), "{line}");

    for bad in [
        "idp.example",
        "ftp://idp.example",
        "https://idp.example/?x=1",
        "https://u:p@idp.example",
    ] {
        let line = error_line(&[all[0], all[1], all[2], ("PORTICO_OIDC_ISSUER", bad)]);
        assert!(
            line.starts_with("invalid PORTICO_OIDC_ISSUER="),
            "{bad}: {line}"
        );
    }
    let line = error_line(&[all[0], all[1], ("PORTICO_OIDC_CLIENT_SECRET", "  ")]);
    assert!(
        line.starts_with("invalid PORTICO_OIDC_CLIENT_SECRET=\"<redacted>\""),
        "{line}"
    );
}

#[test]
fn log_settings_combine_level_and_format() {
    let config = load(&[("PORTICO_LOG", "json,debug")]).unwrap();
    assert_eq!(
        config.log,
        LogConfig {
            level: "debug",
            format: LogFormat::Json
        }
    );
}

#[test]
fn public_urls_lose_trailing_slashes_and_default_to_bound_address() {
    let config = load(&[(
        "PORTICO_PUBLIC_PORTAL_URL",
        "https://developers.example.gov/",
    )])
    .unwrap();
    let bound: SocketAddr = "127.0.0.1:1234".parse().unwrap();
    assert_eq!(config.portal_url(bound), "https://developers.example.gov");
    assert_eq!(config.sandbox_url(bound), "http://127.0.0.1:1234");
}

/// A self-signed certificate and its key, made with the openssl CLI.
fn certificate_files(dir: &Path) -> (String, String) {
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    (cert.display().to_string(), key.display().to_string())
}

#[test]
fn tls_files_are_checked_at_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate_files(dir.path());
    let config = load(&[
        ("PORTICO_TLS_CERT", &cert),
        ("PORTICO_TLS_KEY", &key),
        ("PORTICO_TLS_CLIENT_CA", &cert),
    ])
    .unwrap();
    assert!(config.tls.is_some() && config.tls_client_ca.is_some());
    assert_eq!(
        config.sandbox_url("127.0.0.1:4000".parse().unwrap()),
        "https://127.0.0.1:4000"
    );
    assert!(load(&[]).unwrap().tls.is_none());

    assert!(error_line(&[("PORTICO_TLS_CERT", &cert)]).contains("PORTICO_TLS_KEY"));
    assert!(error_line(&[("PORTICO_TLS_KEY", &key)]).contains("PORTICO_TLS_CERT"));
    let missing = dir.path().join("nothing.pem").display().to_string();
    let line = error_line(&[("PORTICO_TLS_CERT", &missing), ("PORTICO_TLS_KEY", &key)]);
    assert!(line.starts_with("invalid PORTICO_TLS_CERT="), "{line}");
    // A key file that holds a certificate, and a certificate file that holds a key.
    let line = error_line(&[("PORTICO_TLS_CERT", &cert), ("PORTICO_TLS_KEY", &cert)]);
    assert!(line.starts_with("invalid PORTICO_TLS_KEY="), "{line}");
    let line = error_line(&[("PORTICO_TLS_CERT", &key), ("PORTICO_TLS_KEY", &key)]);
    assert!(line.starts_with("invalid PORTICO_TLS_CERT="), "{line}");
    // Another certificate's key.
    let other = tempfile::tempdir().unwrap();
    let (_, other_key) = certificate_files(other.path());
    let line = error_line(&[("PORTICO_TLS_CERT", &cert), ("PORTICO_TLS_KEY", &other_key)]);
    assert!(line.starts_with("invalid PORTICO_TLS_KEY="), "{line}");
    let line = error_line(&[("PORTICO_TLS_CLIENT_CA", &key)]);
    assert!(line.starts_with("invalid PORTICO_TLS_CLIENT_CA="), "{line}");
}

#[test]
fn the_client_certificate_header_needs_trusted_proxies() {
    let line = error_line(&[("PORTICO_CLIENT_CERT_HEADER", "Client-Cert")]);
    assert!(line.contains("PORTICO_TRUSTED_PROXIES"), "{line}");
    assert!(
        error_line(&[
            ("PORTICO_CLIENT_CERT_HEADER", "bad header"),
            ("PORTICO_TRUSTED_PROXIES", "10.0.0.0/8")
        ])
        .contains("PORTICO_CLIENT_CERT_HEADER")
    );
    let config = load(&[
        ("PORTICO_CLIENT_CERT_HEADER", "Client-Cert"),
        ("PORTICO_TRUSTED_PROXIES", "10.0.0.0/8"),
    ])
    .unwrap();
    assert_eq!(config.client_cert_header.unwrap().as_str(), "client-cert");
}

#[test]
fn secret_scanning_keys_load_inline_or_from_a_file_and_bad_ones_stop_start_up() {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    use base64::Engine as _;
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let der = key.public_key().as_der().unwrap();
    let keys = format!(
        "key-id: scanner-1\n-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der.as_ref())
    );
    assert!(load(&[]).unwrap().secret_scanning_keys.ids().is_empty());
    let inline = load(&[("PORTICO_SECRET_SCANNING_KEYS", &keys)]).unwrap();
    assert_eq!(inline.secret_scanning_keys.ids(), ["scanner-1"]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scanning-keys.pem");
    std::fs::write(&path, &keys).unwrap();
    let from_file = load(&[("PORTICO_SECRET_SCANNING_KEYS", path.to_str().unwrap())]).unwrap();
    assert_eq!(from_file.secret_scanning_keys.ids(), ["scanner-1"]);

    let missing = error_line(&[("PORTICO_SECRET_SCANNING_KEYS", "/nonexistent/keys.pem")]);
    assert!(
        missing.starts_with("invalid PORTICO_SECRET_SCANNING_KEYS=")
            && missing.contains("cannot read the key file"),
        "{missing}"
    );
    let no_id = error_line(&[(
        "PORTICO_SECRET_SCANNING_KEYS",
        keys.trim_start_matches("key-id: scanner-1\n"),
    )]);
    assert!(
        no_id.contains("PORTICO_SECRET_SCANNING_KEYS") && no_id.contains("key-id"),
        "{no_id}"
    );
}
