//! The token server core: issuance, the JWT attack suite, rotation, revocation, secrets.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly by unwrapping")]

use jsonwebtoken::{Algorithm, Header};
use portico_core::Database;
use portico_core::apps::applications::{Application, Credential, IssuedCredentials};
use portico_core::apps::credentials::{self, Slot};
use portico_core::apps::demo::create_app;
use portico_core::apps::manage;
use portico_core::authz::scopes::Scopes;
use portico_core::authz::{Authorizer, Resource, ResourceType};
use portico_core::clock;
use portico_core::enforce::{Denial, Enforcer, PresentedCredentials};
use portico_core::secret::PlainSecret;
use portico_core::testing::{self, TEST_AUDIENCE, TEST_ISSUER};
use portico_core::tokens::keys::{self, RotationOutcome, SigningAlg};
use portico_core::tokens::{ClientAuthError, IssueError, TokenService, VerifyError};
use serde_json::{Value, json};
use std::sync::Arc;

#[macro_use]
mod support;

async fn app_with(db: &Database, partner: &str, scopes: &str) -> (Application, IssuedCredentials) {
    create_app(
        db,
        partner,
        partner,
        "App",
        &Scopes::parse(scopes).unwrap(),
        "sandbox",
    )
    .await
    .unwrap()
}

fn b64(value: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value)
}

/// Claims that pass every check; tests change one thing.
fn good_claims(app: &Application) -> Value {
    let now = clock::now();
    json!({
        "iss": TEST_ISSUER, "sub": app.client_id, "aud": TEST_AUDIENCE,
        "exp": now + 300, "iat": now, "nbf": now, "jti": format!("tok_{now}_{}", rand_suffix()),
        "client_id": app.client_id, "scope": "commercial:read", "partner_id": app.partner_id,
    })
}

fn rand_suffix() -> String {
    portico_core::ids::new_id("t")
}

fn at_jwt_header() -> Header {
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header
}

#[tokio::test]
async fn issued_tokens_verify_and_carry_the_rfc9068_claims() {
    on_both_engines!(|db| {
        let tokens = testing::token_service(db).await;
        let (app, creds) = app_with(db, "acme", "commercial:read commercial:write").await;
        let authed = tokens
            .authenticate_client(&creds.client_id, &creds.client_secret)
            .await
            .unwrap();
        let issued = tokens
            .issue(&authed, Some(&Scopes::parse("commercial:read").unwrap()))
            .unwrap();
        assert_eq!(issued.expires_in, 900);

        let header = jsonwebtoken::decode_header(&issued.access_token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid, Some(tokens.active_kid_for_tests()));

        let verified = tokens.verify(&issued.access_token).unwrap();
        let c = &verified.claims;
        assert_eq!(
            (c.iss.as_str(), c.aud.as_str()),
            (TEST_ISSUER, TEST_AUDIENCE)
        );
        assert_eq!(c.sub, app.client_id);
        assert_eq!(c.client_id, app.client_id);
        assert_eq!(c.partner_id, "acme");
        assert_eq!(c.scope, "commercial:read");
        assert_eq!(c.exp - c.iat, 900);
        assert!(c.jti.starts_with("tok_"));

        // Absent scope = every approved scope; a scope beyond them is refused.
        assert_eq!(
            tokens.issue(&authed, None).unwrap().scope.to_string(),
            "commercial:read commercial:write"
        );
        let too_much = tokens.issue(&authed, Some(&Scopes::parse("users:admin").unwrap()));
        assert!(
            matches!(too_much, Err(IssueError::InvalidScope(ref m)) if m.contains("users:admin")),
            "{too_much:?}"
        );
    });
}

#[tokio::test]
async fn every_algorithm_can_sign_and_verify() {
    on_both_engines!(|db| {
        for alg in [SigningAlg::Rs256, SigningAlg::EdDsa] {
            let (app, _) = create_app(
                db,
                &format!("p-{}", alg.as_str().to_lowercase()),
                "P",
                "App",
                &Scopes::parse("commercial:read").unwrap(),
                "sandbox",
            )
            .await
            .unwrap();
            keys::rotate(db, &testing::test_sealer(), alg, true)
                .await
                .unwrap();
            let tokens = testing::token_service(db).await;
            let issued = tokens.issue(&app, None).unwrap();
            assert_eq!(
                jsonwebtoken::decode_header(&issued.access_token)
                    .unwrap()
                    .alg,
                alg.jwt_algorithm()
            );
            tokens.verify(&issued.access_token).unwrap();
        }
    });
}

#[tokio::test]
async fn jwt_attacks_are_each_rejected_with_their_own_reason() {
    on_both_engines!(|db| {
        let tokens = testing::token_service(db).await;
        let (app, _) = app_with(db, "acme", "commercial:read").await;
        let good = tokens.sign_raw_for_tests(&at_jwt_header(), &good_claims(&app));
        tokens.verify(&good).expect("the control token verifies");
        let parts: Vec<&str> = good.split('.').collect();

        let mut cases: Vec<(&str, String, VerifyError)> = Vec::new();
        // alg: none, unsigned.
        let none_header = b64(&format!(
            r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#,
            tokens.active_kid_for_tests()
        ));
        cases.push((
            "alg none",
            format!("{none_header}.{}.", parts[1]),
            VerifyError::AlgorithmNotAllowed,
        ));
        // HS256 keyed with the public key (the classic algorithm-confusion attack).
        let jwks = tokens.jwks();
        let public_key_text = jwks["keys"][0].to_string();
        let mut hs_header = Header::new(Algorithm::HS256);
        hs_header.typ = Some("at+jwt".into());
        hs_header.kid = Some(tokens.active_kid_for_tests());
        let hs = jsonwebtoken::encode(
            &hs_header,
            &good_claims(&app),
            &jsonwebtoken::EncodingKey::from_secret(public_key_text.as_bytes()),
        )
        .unwrap();
        cases.push((
            "HS256 with the public key",
            hs,
            VerifyError::AlgorithmNotAllowed,
        ));
        // A different asymmetric algorithm than the key's.
        let rs_header = b64(&format!(
            r#"{{"alg":"RS256","typ":"at+jwt","kid":"{}"}}"#,
            tokens.active_kid_for_tests()
        ));
        cases.push((
            "alg mismatch",
            format!("{rs_header}.{}.{}", parts[1], parts[2]),
            VerifyError::AlgorithmNotAllowed,
        ));
        // Unknown kid.
        let mut unknown = at_jwt_header();
        unknown.kid = Some("key_does_not_exist".into());
        cases.push((
            "unknown kid",
            tokens.sign_raw_for_tests(&unknown, &good_claims(&app)),
            VerifyError::UnknownKey,
        ));
        // No kid at all.
        let no_kid_header = b64(r#"{"alg":"ES256","typ":"at+jwt"}"#);
        cases.push((
            "missing kid",
            format!("{no_kid_header}.{}.{}", parts[1], parts[2]),
            VerifyError::MissingKeyId,
        ));
        // Expired (beyond the 60 s leeway), not yet valid, wrong iss, wrong aud.
        let mut c = good_claims(&app);
        c["exp"] = json!(clock::now() - 120);
        cases.push((
            "expired",
            tokens.sign_raw_for_tests(&at_jwt_header(), &c),
            VerifyError::Expired,
        ));
        // Expired with a broken signature: refused as expired before the (costly) signature
        // check; within the leeway, the signature is still checked.
        for (name, age, expected) in [
            ("expired, signature broken", 120, VerifyError::Expired),
            (
                "expired within the leeway, signature broken",
                30,
                VerifyError::BadSignature,
            ),
        ] {
            let mut c = good_claims(&app);
            c["exp"] = json!(clock::now() - age);
            let signed = tokens.sign_raw_for_tests(&at_jwt_header(), &c);
            let (head, _) = signed.rsplit_once('.').unwrap();
            cases.push((name, format!("{head}.{}", parts[2]), expected));
        }
        let mut c = good_claims(&app);
        c["nbf"] = json!(clock::now() + 600);
        cases.push((
            "nbf in the future",
            tokens.sign_raw_for_tests(&at_jwt_header(), &c),
            VerifyError::NotYetValid,
        ));
        let mut c = good_claims(&app);
        c["iss"] = json!("https://evil.example");
        cases.push((
            "wrong iss",
            tokens.sign_raw_for_tests(&at_jwt_header(), &c),
            VerifyError::WrongIssuer,
        ));
        let mut c = good_claims(&app);
        c["aud"] = json!("someone-else");
        cases.push((
            "wrong aud",
            tokens.sign_raw_for_tests(&at_jwt_header(), &c),
            VerifyError::WrongAudience,
        ));
        // Payload tampered after signing: partner changed to another tenant.
        let mut tampered = good_claims(&app);
        tampered["partner_id"] = json!("globex");
        cases.push((
            "tampered payload",
            format!("{}.{}.{}", parts[0], b64(&tampered.to_string()), parts[2]),
            VerifyError::BadSignature,
        ));
        // Signature stripped.
        cases.push((
            "signature stripped",
            format!("{}.{}.", parts[0], parts[1]),
            VerifyError::BadSignature,
        ));
        // typ other than at+jwt (an ID token, say).
        let mut jwt_typ = at_jwt_header();
        jwt_typ.typ = Some("JWT".into());
        cases.push((
            "typ JWT",
            tokens.sign_raw_for_tests(&jwt_typ, &good_claims(&app)),
            VerifyError::WrongType,
        ));
        // Garbage.
        cases.push(("not a JWT", "hello".into(), VerifyError::Malformed));

        for (name, token, expected) in cases {
            let result = tokens.verify(&token);
            assert_eq!(result.as_ref().err(), Some(&expected), "{name}: {result:?}");
        }
    });
}

#[tokio::test]
async fn enforcement_denies_missing_scope_and_other_tenants_and_explains_why() {
    on_both_engines!(|db| {
        let tokens = Arc::new(testing::token_service(db).await);
        let enforcer = Enforcer::new(tokens.clone(), Arc::new(Authorizer::embedded().unwrap()));
        let (acme, _) = app_with(db, "acme", "commercial:read").await;
        let token = tokens.issue(&acme, None).unwrap().access_token;
        let bearer = format!("Bearer {token}");
        let creds = PresentedCredentials {
            authorization: Some(&bearer),
            oidc_access_token: None,
        };
        let order = |tenant: &str| Resource {
            kind: ResourceType::new("Order"),
            id: "ord_1".into(),
            tenant_id: tenant.into(),
            owner_sub: None,
        };

        let allowed = enforcer
            .enforce(
                creds,
                "commercial:GetOrder",
                &order("acme"),
                &["commercial:read"],
            )
            .unwrap();
        assert!(
            !allowed.decision.policies.is_empty(),
            "the permitting policy is named"
        );

        // Partner A's token asking for partner B's order.
        match enforcer.enforce(
            creds,
            "commercial:GetOrder",
            &order("globex"),
            &["commercial:read"],
        ) {
            Err(Denial::Forbidden(decision)) => assert!(!decision.allowed),
            other => panic!("cross-tenant read must be forbidden: {other:?}"),
        }
        // Scope not granted: write with a read-only token.
        let collection = Resource {
            kind: ResourceType::new("Collection"),
            id: "orders".into(),
            tenant_id: "acme".into(),
            owner_sub: None,
        };
        match enforcer.enforce(
            creds,
            "commercial:CreateOrder",
            &collection,
            &["commercial:write"],
        ) {
            Err(Denial::InsufficientScope { required, .. }) => {
                assert_eq!(required, ["commercial:write"]);
            }
            other => panic!("write without commercial:write: {other:?}"),
        }
        // Applications never delete user accounts, whatever their scopes.
        let account = Resource {
            kind: ResourceType::new("Account"),
            id: "u1".into(),
            tenant_id: "acme".into(),
            owner_sub: Some("u1".into()),
        };
        assert!(matches!(
            enforcer.enforce(creds, "users:DeleteAccount", &account, &[]),
            Err(Denial::Forbidden(_))
        ));
        // The OIDC header works like Authorization: Bearer.
        let oidc = PresentedCredentials {
            authorization: None,
            oidc_access_token: Some(&token),
        };
        enforcer
            .enforce(
                oidc,
                "commercial:GetOrder",
                &order("acme"),
                &["commercial:read"],
            )
            .unwrap();
        assert_eq!(
            enforcer
                .enforce(
                    PresentedCredentials::default(),
                    "commercial:GetOrder",
                    &order("acme"),
                    &[]
                )
                .unwrap_err(),
            Denial::MissingToken
        );
    });
}

#[tokio::test]
async fn revoked_tokens_are_rejected_here_at_once_and_elsewhere_after_a_refresh() {
    on_both_engines!(|db| {
        let tokens = testing::token_service(db).await;
        let other_replica = testing::token_service(db).await;
        let (app, _) = app_with(db, "acme", "commercial:read").await;
        let (stranger, _) = app_with(db, "globex", "commercial:read").await;
        let token = tokens.issue(&app, None).unwrap().access_token;
        other_replica.verify(&token).unwrap();

        assert!(
            !tokens.revoke(&stranger, &token).await.unwrap(),
            "only the owner may revoke"
        );
        tokens.verify(&token).unwrap();
        assert!(tokens.revoke(&app, &token).await.unwrap());
        assert_eq!(tokens.verify(&token).unwrap_err(), VerifyError::Revoked);
        assert_eq!(tokens.introspect(&app, &token), json!({"active": false}));

        // The other replica had it cached as valid; its next upkeep pass learns the revocation.
        other_replica.refresh().await.unwrap();
        assert_eq!(
            other_replica.verify(&token).unwrap_err(),
            VerifyError::Revoked
        );
    });
}

#[tokio::test]
async fn introspection_describes_only_the_callers_own_tokens() {
    on_both_engines!(|db| {
        let tokens = testing::token_service(db).await;
        let (app, _) = app_with(db, "acme", "commercial:read").await;
        let (stranger, _) = app_with(db, "globex", "commercial:read").await;
        let token = tokens.issue(&app, None).unwrap().access_token;
        let info = tokens.introspect(&app, &token);
        assert_eq!(info["active"], true);
        assert_eq!(info["client_id"], app.client_id.as_str());
        assert_eq!(info["scope"], "commercial:read");
        assert_eq!(
            tokens.introspect(&stranger, &token),
            json!({"active": false})
        );
        assert_eq!(tokens.introspect(&app, "garbage"), json!({"active": false}));
    });
}

#[tokio::test]
async fn rotation_keeps_live_tokens_valid_until_the_old_key_retires() {
    on_both_engines!(|db| {
        let sealer = testing::test_sealer();
        let tokens = testing::token_service(db).await;
        let (app, _) = app_with(db, "acme", "commercial:read").await;
        let old_kid = tokens.active_kid_for_tests();
        let before = tokens.issue(&app, None).unwrap().access_token;

        // Rotate: the next key is published at once but does not sign yet.
        let RotationOutcome::NextKeyPublished { kid: next_kid } =
            keys::rotate(db, &sealer, SigningAlg::Es256, false)
                .await
                .unwrap()
        else {
            panic!("expected a published next key");
        };
        tokens.reload_keys().await.unwrap();
        let kids: Vec<String> = tokens.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kids, [old_kid.clone(), next_kid.clone()]);
        assert_eq!(
            tokens.active_kid_for_tests(),
            old_kid,
            "signing waits for the lead time"
        );

        // After the lead time the next key signs; the old one is retiring and still verifies.
        let now = clock::now();
        assert!(keys::advance_rotation(db, now + 601, 600).await.unwrap());
        tokens.reload_keys().await.unwrap();
        assert_eq!(tokens.active_kid_for_tests(), next_kid);
        tokens
            .verify(&before)
            .expect("a token from before the rotation still verifies");
        let after = tokens.issue(&app, None).unwrap().access_token;
        assert_eq!(
            jsonwebtoken::decode_header(&after).unwrap().kid,
            Some(next_kid.clone())
        );

        // Once every token the old key signed has expired, it retires and leaves the JWKS.
        assert!(
            keys::advance_rotation(db, now + 601 + keys::RETIRE_AFTER_SECS, 600)
                .await
                .unwrap()
        );
        tokens.reload_keys().await.unwrap();
        assert_eq!(tokens.verify(&before).unwrap_err(), VerifyError::UnknownKey);
        assert_eq!(tokens.jwks()["keys"].as_array().unwrap().len(), 1);
        tokens.verify(&after).unwrap();
    });
}

#[tokio::test]
async fn secrets_are_stored_hashed_two_live_at_most_both_authenticate() {
    on_both_engines!(|db| {
        let tokens = testing::token_service(db).await;
        let (app, creds) = app_with(db, "acme", "commercial:read").await;

        // Scan the tables: no plain secret or key anywhere.
        let stored: Vec<(String, String)> = sqlx::query_as("SELECT secret_hash, hint FROM client_secrets UNION ALL SELECT key_hash, hint FROM api_keys")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!(stored.len(), 2);
        for (hash, hint) in &stored {
            for plain in [creds.client_secret.expose(), creds.api_key.expose()] {
                assert!(!hash.contains(plain), "a plain value is stored");
                assert!(
                    !hint.contains(&plain[..12]),
                    "the hint reveals too much: {hint}"
                );
            }
        }
        assert!(
            stored
                .iter()
                .any(|(h, _)| *h == creds.client_secret.hash().to_hex())
        );

        let owner = testing::owner_of_app(db, &app.id).await;
        let (_, second) = credentials::add_secondary_secret(db, &owner, &app.id)
            .await
            .unwrap();
        tokens
            .authenticate_client(&creds.client_id, &creds.client_secret)
            .await
            .unwrap();
        tokens.forget_client(&creds.client_id);
        tokens
            .authenticate_client(&creds.client_id, &second)
            .await
            .unwrap();
        let third = credentials::add_secondary_secret(db, &owner, &app.id).await;
        assert!(
            matches!(third, Err(portico_core::CoreError::Conflict(_))),
            "{third:?}"
        );

        // Revoke the first; the third can then be added, and the first stops working.
        let first = credentials::list(db, &owner, &app.id, Credential::ClientSecret)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.slot == Slot::Primary && c.is_live(clock::now()))
            .unwrap();
        credentials::revoke_secret(db, &owner, &app.id, &first.id, false)
            .await
            .unwrap();
        credentials::add_secondary_secret(db, &owner, &app.id)
            .await
            .unwrap();
        tokens.forget_client(&creds.client_id);
        assert_eq!(
            tokens
                .authenticate_client(&creds.client_id, &creds.client_secret)
                .await
                .unwrap_err(),
            ClientAuthError::InvalidClient("wrong client secret")
        );
        tokens
            .authenticate_client(&creds.client_id, &second)
            .await
            .unwrap();
    });
}

#[tokio::test]
async fn last_use_is_recorded_in_batches_not_per_token() {
    on_both_engines!(|db| {
        let tokens = testing::token_service(db).await;
        let (app, creds) = app_with(db, "acme", "commercial:read").await;
        for _ in 0..3 {
            tokens
                .authenticate_client(&creds.client_id, &creds.client_secret)
                .await
                .unwrap();
        }
        let last_used = || async {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT last_used_at FROM client_secrets WHERE application_id = $1",
            )
            .bind(&app.id)
            .fetch_one(db.pool())
            .await
            .unwrap()
        };
        assert_eq!(last_used().await, None, "nothing written on the token path");
        tokens.flush_secret_uses().await.unwrap();
        assert!(last_used().await.is_some_and(|t| t >= clock::now() - 5));
    });
}

#[tokio::test]
async fn suspended_applications_and_organisations_are_unauthorized_clients_pending_ones_sandbox_only()
 {
    on_both_engines!(|db| {
        let tokens = testing::token_service(db).await;
        let (app, creds) = app_with(db, "acme", "commercial:read").await;
        let owner = testing::owner_of_app(db, &app.id).await;
        manage::suspend(db, &owner, &app.id, "testing")
            .await
            .unwrap();
        tokens.forget_client(&creds.client_id);
        assert!(matches!(
            tokens
                .authenticate_client(&creds.client_id, &creds.client_secret)
                .await,
            Err(ClientAuthError::UnauthorizedClient(_))
        ));
        assert_eq!(
            tokens
                .authenticate_client("pci_unknown", &PlainSecret::from_presented("x"))
                .await
                .unwrap_err(),
            ClientAuthError::InvalidClient("unknown client_id")
        );
        // A pending organisation: sandbox tokens yes, production tokens no.
        sqlx::query("UPDATE partners SET status = 'pending'")
            .execute(db.pool())
            .await
            .unwrap();
        manage::reactivate(db, &owner, &app.id).await.unwrap();
        tokens.forget_client(&creds.client_id);
        let pending = tokens
            .authenticate_client(&creds.client_id, &creds.client_secret)
            .await
            .unwrap();
        assert!(tokens.issue(&pending, None).is_ok());
        assert!(matches!(
            tokens.issue_for(&pending, None, portico_core::tokens::Stage::Production),
            Err(portico_core::tokens::IssueError::NotAllowed(_))
        ));
        // A suspended (or rejected) organisation: nothing.
        sqlx::query("UPDATE partners SET status = 'suspended'")
            .execute(db.pool())
            .await
            .unwrap();
        tokens.forget_client(&creds.client_id);
        assert!(matches!(
            tokens
                .authenticate_client(&creds.client_id, &creds.client_secret)
                .await,
            Err(ClientAuthError::UnauthorizedClient(_))
        ));
    });
}

#[tokio::test]
async fn signing_keys_are_sealed_at_rest() {
    on_both_engines!(|db| {
        let tokens: TokenService = testing::token_service(db).await;
        let (sealed, jwk): (String, String) =
            sqlx::query_as("SELECT private_key_sealed, public_jwk FROM signing_keys")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert!(!jwk.contains("\"d\""), "no private part published");
        // A PKCS#8 P-256 key starts with these DER bytes; sealed text must not contain them.
        assert!(
            !sealed.starts_with("MIGH"),
            "private key stored unencrypted"
        );
        let wrong = portico_core::tokens::keys::KeySealer::from_bytes(&[9u8; 32]).unwrap();
        let refused = keys::load_published(db, &wrong).await;
        assert!(refused.is_err_and(|e| e.to_string().contains("master key")));
        drop(tokens);
    });
}
