//! Scanning keys and leak reports, on both engines.

use super::*;
use crate::apps::demo;
use crate::audit::{AuditFilter, search};
use crate::authz::scopes::Scopes;
use crate::testing::TestDatabase;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn key_pair() -> EcdsaKeyPair {
    EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap()
}

fn pem(key: &EcdsaKeyPair) -> String {
    let der = key.public_key().as_der().unwrap();
    let body = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!("{PEM_BEGIN}\n{}\n{PEM_END}\n", lines.join("\n"))
}

fn sign(key: &EcdsaKeyPair, body: &[u8]) -> Vec<u8> {
    key.sign(&SystemRandom::new(), body)
        .unwrap()
        .as_ref()
        .to_vec()
}

#[test]
fn keys_parse_with_identifiers_and_verify_their_own_signatures_only() {
    let (a, b) = (key_pair(), key_pair());
    let text = format!(
        "# scanning partners\n\nkey-id: scanner-a\n{}\nkey-id: scanner.b:2026\n{}",
        pem(&a),
        pem(&b)
    );
    let keys = ScanningKeys::parse(&text).unwrap();
    assert_eq!(keys.ids(), ["scanner-a", "scanner.b:2026"]);
    assert_eq!(
        format!("{keys:?}"),
        r#"ScanningKeys(["scanner-a", "scanner.b:2026"])"#
    );
    let body = br#"[{"token":"x"}]"#;
    let signature = sign(&a, body);
    assert_eq!(
        keys.verify("scanner-a", body, &signature),
        SignatureCheck::Verified
    );
    assert_eq!(
        keys.verify("scanner.b:2026", body, &signature),
        SignatureCheck::BadSignature
    );
    assert_eq!(
        keys.verify("scanner-a", br#"[{"token":"y"}]"#, &signature),
        SignatureCheck::BadSignature
    );
    assert_eq!(
        keys.verify("scanner-a", body, b"garbage"),
        SignatureCheck::BadSignature
    );
    assert_eq!(
        keys.verify("nobody", body, &signature),
        SignatureCheck::UnknownKey
    );
    assert_eq!(
        ScanningKeys::default().verify("scanner-a", body, &signature),
        SignatureCheck::UnknownKey
    );
}

#[test]
fn bad_key_files_are_refused_with_the_line_or_key_named() {
    let good = pem(&key_pair());
    let ed25519 = {
        let key = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
        let der = key.public_key().as_der().unwrap();
        format!(
            "{PEM_BEGIN}\n{}\n{PEM_END}\n",
            STANDARD.encode(der.as_ref())
        )
    };
    let cases = [
        (String::new(), "no key"),
        ("# only a comment\n".to_owned(), "no key"),
        (good.clone(), "line 1: write `key-id"),
        (
            format!("key-id: a\n{good}key-id: a\n{good}"),
            "\"a\" is listed twice",
        ),
        (
            format!("key-id: has space\n{good}"),
            "line 1: a key identifier",
        ),
        ("key-id: a\n".to_owned(), "\"a\" has no PEM block"),
        (
            format!("key-id: a\nkey-id: b\n{good}"),
            "\"a\" has no PEM block before line 2",
        ),
        (format!("key-id: a\n{PEM_BEGIN}\nAAAA\n"), "has no -----END"),
        (
            format!("key-id: a\n{PEM_BEGIN}\n!!!!\n{PEM_END}\n"),
            "not valid base64",
        ),
        (
            format!("key-id: ed\n{ed25519}"),
            "key \"ed\": not an ECDSA P-256",
        ),
        ("hello\n".to_owned(), "line 1: expected `key-id"),
    ];
    for (text, expected) in cases {
        let err = ScanningKeys::parse(&text).unwrap_err();
        assert!(err.contains(expected), "{text:?}: {err}");
    }
}

fn report(token: &str) -> LeakReport {
    LeakReport {
        token: PlainSecret::from_presented(token),
        reported_type: String::new(),
        url: "https://github.com/someone/repo/blob/main/.env\u{7}".into(),
        source: "content".into(),
    }
}

async fn leak_events(db: &Database) -> Vec<crate::audit::AuditEntry> {
    let filter = AuditFilter {
        action_prefix: Some("application.".into()),
        ..AuditFilter::default()
    };
    search(db, &filter, 100, None)
        .await
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.action.ends_with(".leaked_revoked"))
        .collect()
}

#[tokio::test]
async fn reported_secrets_are_revoked_once_and_strangers_are_false_positives() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let scopes = Scopes::parse("commercial:read").unwrap();
        let (app, creds) = demo::create_app(db, "acme", "Acme", "Shop", &scopes, "sandbox")
            .await
            .unwrap();
        let secret = creds.client_secret.expose().to_owned();
        let api_key = creds.api_key.expose().to_owned();
        let stranger = PlainSecret::generate(SecretKind::ClientSecret);
        let reports = [report(&secret), report(&api_key), report(stranger.expose())];

        let outcomes = report_leaks(db, "scanner-a", &reports).await.unwrap();
        let labels: Vec<_> = outcomes.iter().map(|o| o.label).collect();
        assert_eq!(
            labels,
            [
                LeakLabel::TruePositive,
                LeakLabel::TruePositive,
                LeakLabel::FalsePositive
            ]
        );
        assert_eq!(
            outcomes[0].token_hash,
            PlainSecret::from_presented(secret.as_str()).hash().to_hex()
        );
        assert_eq!(outcomes[0].token_type, "portico_client_secret");
        assert_eq!(outcomes[1].token_type, "portico_api_key");

        // The last (only) secret is gone: the token endpoint has nothing to check against.
        let (_, live) = applications::load_client(db, &app.client_id)
            .await
            .unwrap()
            .unwrap();
        assert!(live.is_empty());
        let keys: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM api_keys WHERE application_id = $1 AND revoked_at IS NULL",
        )
        .bind(&app.id)
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert!(keys.is_empty());

        let events = leak_events(db).await;
        assert_eq!(events.len(), 2);
        for event in &events {
            assert_eq!(event.actor, "scanner:scanner-a");
            assert_eq!(event.partner_id.as_deref(), Some("acme"));
            let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap();
            // Control characters are not kept; the secret never is.
            assert_eq!(
                detail["url"],
                "https://github.com/someone/repo/blob/main/.env"
            );
            assert_eq!(detail["checksum_valid"], true);
            assert!(!event.detail.contains(&secret) && !event.detail.contains(&api_key));
        }

        // Again: the same answers, nothing recorded twice.
        let again = report_leaks(db, "scanner-a", &reports).await.unwrap();
        assert_eq!(again, outcomes);
        assert_eq!(leak_events(db).await.len(), 2);
    }
}

#[tokio::test]
async fn old_format_secrets_are_found_by_hash_and_a_primary_hands_over_its_slot() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let scopes = Scopes::parse("commercial:read").unwrap();
        let (app, creds) = demo::create_app(db, "acme", "Acme", "Shop", &scopes, "sandbox")
            .await
            .unwrap();
        let old = format!("pcs_{}", URL_SAFE_NO_PAD.encode([42u8; 32]));
        sqlx::query(
            "INSERT INTO client_secrets (id, application_id, secret_hash, hint, slot, created_at) \
             VALUES ('sec_old', $1, $2, 'pcs_KioqK…', 'secondary', 1)",
        )
        .bind(&app.id)
        .bind(PlainSecret::from_presented(old.as_str()).hash().to_hex())
        .execute(db.pool())
        .await
        .unwrap();

        // The current (primary) secret leaks: the old-format secondary becomes primary.
        let outcomes = report_leaks(db, "s", &[report(creds.client_secret.expose())])
            .await
            .unwrap();
        assert_eq!(outcomes[0].label, LeakLabel::TruePositive);
        let slot: String =
            sqlx::query_scalar("SELECT slot FROM client_secrets WHERE id = 'sec_old'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(slot, "primary");

        let mut old_report = report(&old);
        old_report.reported_type = "custom_type".into();
        let outcomes = report_leaks(db, "s", &[old_report]).await.unwrap();
        assert_eq!(outcomes[0].label, LeakLabel::TruePositive);
        assert_eq!(outcomes[0].token_type, "custom_type");
        let detail: serde_json::Value =
            serde_json::from_str(&leak_events(db).await[0].detail).unwrap();
        assert_eq!(detail["checksum_valid"], false);
        let (_, live) = applications::load_client(db, &app.client_id)
            .await
            .unwrap()
            .unwrap();
        assert!(live.is_empty());
    }
}
