//! `POST /oauth2/secret-scanning/reports` over HTTP: a report signed by a configured scanning
//! partner revokes the live credentials it names (the token endpoint refuses the secret at
//! once), records the scanner in the audit log and queues a webhook to the organisation;
//! unsigned, badly signed, oversized and malformed reports are refused with JSON 4xx; old-format
//! secrets keep authenticating until reported.

use crate::common::{TestApp, TestResponse, on_both_engines, post_form, send};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portico_core::apps::demo::create_app;
use portico_core::apps::leaks::{LEAK_EVENT_TYPE, ScanningKeys};
use portico_core::authz::scopes::Scopes;
use portico_core::secret::{PlainSecret, SecretKind};
use portico_core::webhooks::{self, EndpointInput};
use portico_server::fronts::{self, Front};
use serde_json::{Value, json};
use std::sync::Arc;

const PATH: &str = "/oauth2/secret-scanning/reports";
const KEY_ID: &str = "scanner-2026";

/// The scanning partner: its key pair and the sandbox front that trusts it.
struct Scanner {
    key: EcdsaKeyPair,
    front: Front,
}

fn new_key() -> EcdsaKeyPair {
    EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap()
}

impl Scanner {
    fn trusted_by(app: &TestApp) -> Self {
        let key = new_key();
        let der = key.public_key().as_der().unwrap();
        let text = format!(
            "key-id: {KEY_ID}\n-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(der.as_ref())
        );
        let mut shared = app.shared.clone();
        shared.secret_scanning = Arc::new(ScanningKeys::parse(&text).unwrap());
        Self {
            key,
            front: fronts::sandbox(&shared),
        }
    }

    fn signature(key: &EcdsaKeyPair, body: &[u8]) -> String {
        STANDARD.encode(key.sign(&SystemRandom::new(), body).unwrap().as_ref())
    }

    async fn send_raw(&self, headers: &[(&str, &str)], body: Vec<u8>) -> TestResponse {
        let mut request = Request::post(PATH).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(&self.front, request.body(Body::from(body)).unwrap()).await
    }

    /// Reports `tokens`, signed with this scanner's key.
    async fn report(&self, tokens: &[&str]) -> TestResponse {
        let body = serde_json::to_vec(&Value::Array(
            tokens
                .iter()
                .map(|t| {
                    json!({
                        "token": t,
                        "type": "portico_secret",
                        "url": "https://github.com/someone/leaky/blob/main/config.yml",
                        "source": "content",
                    })
                })
                .collect(),
        ))
        .unwrap();
        let signature = Self::signature(&self.key, &body);
        self.send_raw(
            &[
                ("portico-scanning-key-identifier", KEY_ID),
                ("portico-scanning-signature", &signature),
            ],
            body,
        )
        .await
    }
}

async fn token_status(app: &TestApp, client_id: &str, secret: &str) -> StatusCode {
    let form = format!(
        "grant_type=client_credentials&client_id={client_id}&client_secret={}",
        form_urlencoded_value(secret)
    );
    app.sandbox(post_form("/oauth2/token", &form)).await.status
}

fn form_urlencoded_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn labels(res: &TestResponse) -> Vec<String> {
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["label"].as_str().unwrap().to_owned())
        .collect()
}

async fn signed_report_revokes_live_credentials_and_tells_the_organisation(app: TestApp) {
    let db = &app.shared.db;
    let scopes = Scopes::parse("commercial:read").unwrap();
    let (application, creds) = create_app(db, "acme", "Acme", "Shop", &scopes, "sandbox")
        .await
        .unwrap();
    let secret = creds.client_secret.expose().to_owned();
    let api_key = creds.api_key.expose().to_owned();
    assert_eq!(
        token_status(&app, &application.client_id, &secret).await,
        StatusCode::OK
    );
    // An endpoint subscribed to order events only: the leak notice reaches it anyway.
    let owner = portico_core::testing::owner_of_app(db, &application.id).await;
    let (endpoint, _) = webhooks::create_endpoint(
        db,
        app.tokens.sealer(),
        &owner,
        &application.id,
        &EndpointInput {
            url: "https://hooks.acme.example/portico",
            description: "",
            event_types: &["order.created".to_owned()],
        },
        &app.shared.catalog.event_types(),
    )
    .await
    .unwrap();

    let scanner = Scanner::trusted_by(&app);
    let stranger = PlainSecret::generate(SecretKind::ClientSecret);
    let res = scanner
        .report(&[&secret, &api_key, stranger.expose()])
        .await;
    assert_eq!(
        labels(&res),
        ["true_positive", "true_positive", "false_positive"]
    );
    let first = &res.json()[0];
    assert_eq!(
        first["token_hash"],
        PlainSecret::from_presented(secret.as_str()).hash().to_hex()
    );
    assert_eq!(first["token_type"], "portico_secret");

    // The token endpoint refuses the secret now (its cache was dropped), though it was the last.
    assert_eq!(
        token_status(&app, &application.client_id, &secret).await,
        StatusCode::UNAUTHORIZED
    );
    let live_keys: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_keys WHERE application_id = $1 AND revoked_at IS NULL",
    )
    .bind(&application.id)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(live_keys, 0);

    let audit: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT actor, action, partner_id, detail FROM audit_events WHERE action LIKE '%.leaked_revoked' ORDER BY action",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.1.as_str()).collect();
    assert_eq!(
        actions,
        [
            "application.api_key.leaked_revoked",
            "application.secret.leaked_revoked"
        ]
    );
    for (actor, _, partner, detail) in &audit {
        assert_eq!(actor, &format!("scanner:{KEY_ID}"));
        assert_eq!(partner.as_deref(), Some("acme"));
        let detail: Value = serde_json::from_str(detail).unwrap();
        assert_eq!(
            detail["url"],
            "https://github.com/someone/leaky/blob/main/config.yml"
        );
    }

    let notices: Vec<(String, String)> = sqlx::query_as(
        "SELECT d.endpoint_id, m.payload FROM webhook_messages m \
         JOIN webhook_deliveries d ON d.message_id = m.id WHERE m.event_type = $1",
    )
    .bind(LEAK_EVENT_TYPE)
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(notices.len(), 2);
    let mut credentials = Vec::new();
    for (endpoint_id, payload) in &notices {
        assert_eq!(endpoint_id, &endpoint.id);
        assert!(!payload.contains(&secret) && !payload.contains(&api_key));
        let payload: Value = serde_json::from_str(payload).unwrap();
        assert_eq!(payload["type"], LEAK_EVENT_TYPE);
        assert_eq!(payload["data"]["client_id"], application.client_id.as_str());
        credentials.push(payload["data"]["credential"].as_str().unwrap().to_owned());
    }
    credentials.sort();
    assert_eq!(credentials, ["api_key", "client_secret"]);

    // Reported again: the same answer, nothing recorded or sent twice.
    let again = scanner.report(&[&secret, &api_key]).await;
    assert_eq!(labels(&again), ["true_positive", "true_positive"]);
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action LIKE '%.leaked_revoked'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(count, 2);
}
on_both_engines!(
    signed_report_revokes_live_credentials,
    signed_report_revokes_live_credentials_and_tells_the_organisation
);

/// What is wrong, the headers, the body, the expected status.
type RefusalCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<u8>, StatusCode);

async fn unsigned_forged_oversized_and_malformed_reports_are_refused(app: TestApp) {
    let db = &app.shared.db;
    let scopes = Scopes::parse("commercial:read").unwrap();
    let (application, creds) = create_app(db, "acme", "Acme", "Shop", &scopes, "sandbox")
        .await
        .unwrap();
    let secret = creds.client_secret.expose().to_owned();
    let scanner = Scanner::trusted_by(&app);
    let body =
        serde_json::to_vec(&json!([{"token": secret, "type": "t", "url": "u", "source": "s"}]))
            .unwrap();
    let good = Scanner::signature(&scanner.key, &body);
    let forged = Scanner::signature(&new_key(), &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");

    let cases: Vec<RefusalCase<'_>> = vec![
        ("unsigned", vec![], body.clone(), StatusCode::UNAUTHORIZED),
        (
            "no signature",
            vec![("portico-scanning-key-identifier", KEY_ID)],
            body.clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "signed by another key",
            vec![
                ("portico-scanning-key-identifier", KEY_ID),
                ("portico-scanning-signature", &forged),
            ],
            body.clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown key id",
            vec![
                ("portico-scanning-key-identifier", "someone-else"),
                ("portico-scanning-signature", &good),
            ],
            body.clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "tampered body",
            vec![
                ("portico-scanning-key-identifier", KEY_ID),
                ("portico-scanning-signature", &good),
            ],
            tampered,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "signature not base64",
            vec![
                ("portico-scanning-key-identifier", KEY_ID),
                ("portico-scanning-signature", "%%%"),
            ],
            body.clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "oversized",
            vec![
                ("portico-scanning-key-identifier", KEY_ID),
                ("portico-scanning-signature", &good),
            ],
            vec![b' '; portico_sandbox::secret_scanning::MAX_BODY_BYTES + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (what, headers, body, status) in cases {
        let res = scanner.send_raw(&headers, body).await;
        assert_eq!(res.status, status, "{what}: {}", res.body);
        let json = res.json();
        assert!(
            json["__type"].as_str().unwrap().ends_with("Exception"),
            "{what}"
        );
        assert!(!json["message"].as_str().unwrap().is_empty(), "{what}");
    }

    // Signed, but not the expected shape: 400, whatever is wrong with it.
    for malformed in [
        &b"not json"[..],
        br#"{"token": "x"}"#,
        br#"[{"type": "no token"}]"#,
        br#"[{"token": 7}]"#,
    ] {
        let signature = Scanner::signature(&scanner.key, malformed);
        let res = scanner
            .send_raw(
                &[
                    ("portico-scanning-key-identifier", KEY_ID),
                    ("portico-scanning-signature", &signature),
                ],
                malformed.to_vec(),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
        assert_eq!(res.json()["__type"], "ValidationException");
    }

    // None of that revoked anything.
    assert_eq!(
        token_status(&app, &application.client_id, &secret).await,
        StatusCode::OK
    );
    // An empty batch is fine.
    assert!(labels(&scanner.report(&[]).await).is_empty());
}
on_both_engines!(
    refused_reports,
    unsigned_forged_oversized_and_malformed_reports_are_refused
);

async fn old_format_secrets_authenticate_until_reported(app: TestApp) {
    let db = &app.shared.db;
    let scopes = Scopes::parse("commercial:read").unwrap();
    let (application, _) = create_app(db, "acme", "Acme", "Shop", &scopes, "sandbox")
        .await
        .unwrap();
    // A secret issued before the checksum format: base64url of 32 bytes, stored as its hash.
    let old = format!("pcs_{}", URL_SAFE_NO_PAD.encode([0xA7u8; 32]));
    assert_eq!(portico_core::secret::checksum_valid(&old), None);
    sqlx::query(
        "INSERT INTO client_secrets (id, application_id, secret_hash, hint, slot, created_at) \
         VALUES ('sec_old', $1, $2, $3, 'secondary', 1)",
    )
    .bind(&application.id)
    .bind(PlainSecret::from_presented(old.as_str()).hash().to_hex())
    .bind(PlainSecret::from_presented(old.as_str()).hint())
    .execute(db.pool())
    .await
    .unwrap();
    app.tokens.forget_client(&application.client_id);
    assert_eq!(
        token_status(&app, &application.client_id, &old).await,
        StatusCode::OK
    );

    let scanner = Scanner::trusted_by(&app);
    let res = scanner.report(&[&old]).await;
    assert_eq!(labels(&res), ["true_positive"]);
    assert_eq!(
        token_status(&app, &application.client_id, &old).await,
        StatusCode::UNAUTHORIZED
    );
}
on_both_engines!(
    old_format_secrets_still_work,
    old_format_secrets_authenticate_until_reported
);
