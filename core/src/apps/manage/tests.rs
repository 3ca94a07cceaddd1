//! Tests of what members do to their applications, on both engines.

use super::*;
use crate::apps::credentials::Slot;
use crate::audit::{AuditFilter, search};
use crate::identity::permissions::MemberRole;
use crate::identity::users::Role;
use crate::secret::PlainSecret;
use crate::testing::{TestDatabase, token_service};
use crate::tokens::ClientAuthError;

#[tokio::test]
async fn registration_grants_nothing_and_files_scope_requests() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let (owner, org) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
        let scopes = Scopes::parse("commercial:read commercial:write").unwrap();
        let prefs = ProviderPreferences {
            blocked_providers: vec!["slowco".into()],
            ..ProviderPreferences::default()
        };
        let new = NewApplication {
            name: "Shop",
            description: "Our web shop",
            requested_scopes: scopes.clone(),
            justification: "",
            ip_allowlist: "203.0.113.0/24, 198.51.100.7",
            preferences: prefs.clone(),
        };
        let refused =
            register_application(db, &owner, &crate::testing::shipped_scopes(), &new).await;
        assert!(matches!(refused, Err(CoreError::Invalid(m)) if m.contains("Explain why")));
        let bad_cidr = NewApplication {
            ip_allowlist: "300.1.1.1/8",
            justification: "orders",
            ..new.clone()
        };
        assert!(matches!(
            register_application(db, &owner, &crate::testing::shipped_scopes(), &bad_cidr).await,
            Err(CoreError::Invalid(_))
        ));
        let unknown = NewApplication {
            requested_scopes: Scopes::parse("admin:everything").unwrap(),
            justification: "x",
            ..new.clone()
        };
        let m = register_application(db, &owner, &crate::testing::shipped_scopes(), &unknown)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("commercial:read, commercial:write, logs:read, users:admin"),
            "{m}"
        );

        let ok = NewApplication {
            justification: "we sell things",
            ..new.clone()
        };
        let (summary, creds) =
            register_application(db, &owner, &crate::testing::shipped_scopes(), &ok)
                .await
                .unwrap();
        assert!(summary.app.scopes.is_empty(), "nothing granted yet");
        assert_eq!(
            summary.pending_scopes,
            ["commercial:read", "commercial:write"]
        );
        assert_eq!(summary.ip_allowlist, "203.0.113.0/24 198.51.100.7/32");
        assert_eq!(summary.preferences, prefs);
        assert_eq!(summary.description, "Our web shop");
        assert_eq!(summary.organisation_id, org.id);
        assert_eq!(summary.created_by.as_deref(), Some(owner.user_id.as_str()));
        assert!(creds.client_secret.expose().starts_with("pcs_"));
        assert!(creds.api_key.expose().starts_with("pak_"));
        let dup = register_application(db, &owner, &crate::testing::shipped_scopes(), &ok).await;
        assert!(matches!(dup, Err(CoreError::Conflict(m)) if m.contains("already has")));

        let detail = application_detail(db, &owner, &summary.app.id)
            .await
            .unwrap();
        assert_eq!(detail.secrets.len(), 1);
        assert_eq!(detail.secrets[0].slot, Slot::Primary);
        assert_eq!(detail.api_keys.len(), 1);
        assert_eq!(detail.scope_requests.len(), 2);
        let list = list_applications(db, &owner, &org.id).await.unwrap();
        assert_eq!(list.len(), 1);

        // Viewers see but cannot register; users without an organisation cannot either.
        let viewer = fixtures::member(db, &owner, "v@acme.example", MemberRole::Viewer).await;
        assert_eq!(
            list_applications(db, &viewer, &org.id).await.unwrap().len(),
            1
        );
        let other = NewApplication {
            name: "Other",
            ..NewApplication::default()
        };
        assert!(matches!(
            register_application(db, &viewer, &crate::testing::shipped_scopes(), &other).await,
            Err(CoreError::Forbidden(_))
        ));
        let loner = fixtures::user(db, "l@x.example", Role::Partner).await;
        assert!(matches!(
            register_application(db, &loner, &crate::testing::shipped_scopes(), &other).await,
            Err(CoreError::Invalid(m)) if m.contains("organisation")
        ));
        let events = search(
            db,
            &AuditFilter {
                action_prefix: Some("application.registered".into()),
                ..AuditFilter::default()
            },
            10,
            None,
        )
        .await
        .unwrap();
        assert_eq!(events.entries.len(), 1);
        assert_eq!(events.entries[0].client_addr.as_deref(), Some("192.0.2.10"));
    }
}

#[tokio::test]
async fn other_organisations_get_not_found_never_forbidden() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let (owner, _) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
        let (app, _) = fixtures::app(db, &owner, "Shop").await;
        let app_id = app.app.id.as_str();
        let (stranger, other_org) = fixtures::owner_with_org(db, "own@beta.example", "Beta").await;
        let not_found = |r: CoreResult<()>| matches!(r, Err(CoreError::NotFound { .. }));
        assert!(matches!(
            application_detail(db, &stranger, app_id).await,
            Err(CoreError::NotFound { .. })
        ));
        assert!(not_found(suspend(db, &stranger, app_id, "").await));
        assert!(not_found(
            crate::apps::credentials::add_secondary_secret(db, &stranger, app_id)
                .await
                .map(|_| ())
        ));
        assert!(not_found(
            crate::apps::scope_requests::request_scopes(
                db,
                &stranger,
                &crate::testing::shipped_scopes(),
                app_id,
                &Scopes::parse("commercial:read").unwrap(),
                "x"
            )
            .await
            .map(|_| ())
        ));
        assert!(not_found(
            delete_application(db, &stranger, app_id).await.map(|_| ())
        ));
        assert!(matches!(
            list_applications(db, &owner, &other_org.id).await,
            Err(CoreError::NotFound { .. })
        ));
        assert!(not_found(
            crate::apps::access::authorize_app_access(
                db,
                &stranger,
                "app_missing",
                crate::identity::permissions::PortalAction::ViewApplications
            )
            .await
            .map(|_| ())
        ));
        // Admins may view and suspend, but not manage credentials.
        let admin = fixtures::user(db, "root@portico.example", Role::Admin).await;
        application_detail(db, &admin, app_id).await.unwrap();
        assert!(matches!(
            crate::apps::credentials::add_secondary_secret(db, &admin, app_id).await,
            Err(CoreError::Forbidden(_))
        ));
    }
}

#[tokio::test]
async fn rotation_and_last_secret_confirmation_reach_the_token_endpoint() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let admin = fixtures::user(db, "root@portico.example", Role::Admin).await;
        let (owner, org) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
        organisations::approve(db, &admin, &org.id, "")
            .await
            .unwrap();
        let (app, creds) = fixtures::app(db, &owner, "Shop").await;
        let app_id = app.app.id.as_str();
        let client_id = creds.client_id.as_str();
        let tokens = token_service(db).await;
        let auth = |secret: &str| {
            let secret = PlainSecret::from_presented(secret);
            let tokens = &tokens;
            async move {
                tokens.forget_client(client_id);
                tokens.authenticate_client(client_id, &secret).await
            }
        };
        let first = creds.client_secret.expose().to_owned();
        auth(&first).await.unwrap();

        // Rotate: add a secondary, both work, promote it, revoke the old one.
        let (second_info, second) =
            crate::apps::credentials::add_secondary_secret(db, &owner, app_id)
                .await
                .unwrap();
        assert_eq!(second_info.slot, Slot::Secondary);
        let third = crate::apps::credentials::add_secondary_secret(db, &owner, app_id).await;
        assert!(matches!(third, Err(CoreError::Conflict(m)) if m.contains("two live")));
        auth(second.expose()).await.unwrap();
        auth(&first).await.unwrap();
        crate::apps::credentials::make_primary_secret(db, &owner, app_id, &second_info.id)
            .await
            .unwrap();
        let detail = application_detail(db, &owner, app_id).await.unwrap();
        let first_id = detail
            .secrets
            .iter()
            .find(|s| s.id != second_info.id)
            .unwrap()
            .id
            .clone();
        assert_eq!(detail.secrets[0].id, second_info.id, "primary listed first");
        assert_eq!(detail.secrets[0].slot, Slot::Primary);
        assert_eq!(detail.secrets[1].slot, Slot::Secondary);
        crate::apps::credentials::revoke_secret(db, &owner, app_id, &first_id, false)
            .await
            .unwrap();
        assert!(matches!(
            auth(&first).await,
            Err(ClientAuthError::InvalidClient(_))
        ));
        auth(second.expose()).await.unwrap();

        // The last live secret needs a confirmation that says what happens.
        let refused =
            crate::apps::credentials::revoke_secret(db, &owner, app_id, &second_info.id, false)
                .await;
        assert!(
            matches!(&refused, Err(CoreError::Invalid(m)) if m.contains("last live client secret") && m.contains("cannot get access tokens")),
            "{refused:?}"
        );
        auth(second.expose()).await.unwrap();
        crate::apps::credentials::revoke_secret(db, &owner, app_id, &second_info.id, true)
            .await
            .unwrap();
        assert!(auth(second.expose()).await.is_err());

        // API keys: same trio; the key revoked is gone for the gateway's lookup.
        let detail = application_detail(db, &owner, app_id).await.unwrap();
        let key_id = detail.api_keys[0].id.clone();
        let (new_key, new_key_value) = crate::apps::credentials::add_api_key(db, &owner, app_id)
            .await
            .unwrap();
        assert_eq!(new_key.slot, Slot::Secondary);
        crate::apps::credentials::revoke_api_key(db, &owner, app_id, &key_id, false)
            .await
            .unwrap();
        let promoted = application_detail(db, &owner, app_id).await.unwrap();
        let live: Vec<_> = promoted
            .api_keys
            .iter()
            .filter(|k| k.revoked_at.is_none())
            .collect();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].slot, Slot::Primary, "the secondary took over");
        assert!(
            crate::apps::plans::find_api_key(db, &creds.api_key.hash())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            crate::apps::plans::find_api_key(db, &new_key_value.hash())
                .await
                .unwrap()
                .is_some()
        );
        let refused =
            crate::apps::credentials::revoke_api_key(db, &owner, app_id, &new_key.id, false).await;
        assert!(matches!(refused, Err(CoreError::Invalid(m)) if m.contains("last live API key")));

        // Developers manage credentials; viewers do not.
        let dev = fixtures::member(db, &owner, "d@acme.example", MemberRole::Developer).await;
        let viewer = fixtures::member(db, &owner, "v@acme.example", MemberRole::Viewer).await;
        crate::apps::credentials::add_secondary_secret(db, &dev, app_id)
            .await
            .unwrap();
        assert!(matches!(
            crate::apps::credentials::add_api_key(db, &viewer, app_id).await,
            Err(CoreError::Forbidden(_))
        ));
        let events = search(
            db,
            &AuditFilter {
                action_prefix: Some("application.secret.".into()),
                ..AuditFilter::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
        let actions: Vec<&str> = events.entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "application.secret.added",
                "application.secret.revoked",
                "application.secret.revoked",
                "application.secret.made_primary",
                "application.secret.added"
            ]
        );
        assert_eq!(
            events.entries[1].partner_id.as_deref(),
            Some(org.slug.as_str())
        );
    }
}

#[tokio::test]
async fn suspend_reactivate_and_delete() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let admin = fixtures::user(db, "root@portico.example", Role::Admin).await;
        let (owner, org) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
        organisations::approve(db, &admin, &org.id, "")
            .await
            .unwrap();
        let (app, creds) = fixtures::app(db, &owner, "Shop").await;
        let app_id = app.app.id.as_str();
        let dev = fixtures::member(db, &owner, "d@acme.example", MemberRole::Developer).await;
        assert!(matches!(
            suspend(db, &dev, app_id, "").await,
            Err(CoreError::Forbidden(_))
        ));
        let tokens = token_service(db).await;
        let secret = PlainSecret::from_presented(creds.client_secret.expose());

        suspend(db, &owner, app_id, "pausing").await.unwrap();
        tokens.forget_client(&creds.client_id);
        assert!(matches!(
            tokens.authenticate_client(&creds.client_id, &secret).await,
            Err(ClientAuthError::UnauthorizedClient(_))
        ));
        reactivate(db, &owner, app_id).await.unwrap();
        tokens.forget_client(&creds.client_id);
        tokens
            .authenticate_client(&creds.client_id, &secret)
            .await
            .unwrap();

        // An admin's suspension is the admin's to lift.
        suspend(db, &admin, app_id, "abuse").await.unwrap();
        let detail = application_detail(db, &owner, app_id).await.unwrap();
        assert_eq!(
            detail.summary.suspension.unwrap().source,
            SuspensionSource::Admin
        );
        assert!(matches!(
            reactivate(db, &owner, app_id).await,
            Err(CoreError::Forbidden(m)) if m.contains("administrator")
        ));
        reactivate(db, &admin, app_id).await.unwrap();

        // Scope request + limits + keys all go with the application.
        crate::apps::scope_requests::request_scopes(
            db,
            &owner,
            &crate::testing::shipped_scopes(),
            app_id,
            &Scopes::parse("commercial:read").unwrap(),
            "orders",
        )
        .await
        .unwrap();
        crate::apps::plans::set_override(
            db,
            app_id,
            &crate::apps::plans::LimitOverride {
                rate_per_second: Some(5),
                ..crate::apps::plans::LimitOverride::default()
            },
        )
        .await
        .unwrap();
        assert!(matches!(
            delete_application(db, &dev, app_id).await,
            Err(CoreError::Forbidden(_))
        ));
        let deleted = delete_application(db, &owner, app_id).await.unwrap();
        assert_eq!(deleted, creds.client_id);
        tokens.forget_client(&creds.client_id);
        assert!(matches!(
            tokens.authenticate_client(&creds.client_id, &secret).await,
            Err(ClientAuthError::InvalidClient(_))
        ));
        for table in [
            "client_secrets",
            "api_keys",
            "application_limits",
            "scope_requests",
        ] {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE application_id = $1"
            ))
            .bind(app_id)
            .fetch_one(db.pool())
            .await
            .unwrap();
            assert_eq!(n, 0, "{table}");
        }
        assert!(
            list_applications(db, &owner, &org.id)
                .await
                .unwrap()
                .is_empty()
        );
        let events = search(
            db,
            &AuditFilter {
                action_prefix: Some("application.".into()),
                ..AuditFilter::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
        assert_eq!(events.entries[0].action, "application.deleted");
    }
}

/// Remembers the changes handed to it, as the server's cache invalidation would apply them.
#[derive(Default)]
struct RecordingSink(std::sync::Mutex<Vec<Change>>);

impl crate::changes::ChangeSink for RecordingSink {
    fn apply<'a>(
        &'a self,
        change: &'a Change,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        self.0.lock().unwrap().push(change.clone());
        Box::pin(async {})
    }
}

#[tokio::test]
async fn committed_application_changes_reach_the_sink_refused_ones_do_not() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let sink = std::sync::Arc::new(RecordingSink::default());
        assert!(db.on_change(sink.clone()));
        let (owner, _) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
        let dev = fixtures::member(db, &owner, "dev@acme.example", MemberRole::Developer).await;
        let (app, _) = fixtures::app(db, &owner, "Shop").await;
        let heard = || sink.0.lock().unwrap().clone();
        assert_eq!(heard(), vec![], "registering changes no cached application");

        // Refused (a developer may not suspend): rolled back, nothing announced.
        assert!(suspend(db, &dev, &app.app.id, "").await.is_err());
        assert_eq!(heard(), vec![]);

        suspend(db, &owner, &app.app.id, "pausing").await.unwrap();
        assert_eq!(heard(), vec![Change::Applications]);
        let (_, _) = crate::apps::credentials::add_secondary_secret(db, &owner, &app.app.id)
            .await
            .unwrap();
        assert_eq!(heard(), vec![Change::Applications, Change::Applications]);
        // A second sink is refused: the process has one.
        assert!(!db.on_change(std::sync::Arc::new(RecordingSink::default())));
    }
}
