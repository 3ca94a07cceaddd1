//! Organisation tests: creation, members, invitations and admin decisions.

use super::*;
use crate::apps::manage::fixtures;
use crate::audit::{AuditFilter, search};
use crate::identity::users::Role;
use crate::secret::PlainSecret;
use crate::testing::TestDatabase;

fn invalid(result: CoreResult<impl std::fmt::Debug>) -> String {
    match result {
        Err(CoreError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn slugs_derive_from_legal_names() {
    assert_eq!(derive_slug("Acme Logistics Ltd."), "acme-logistics-ltd");
    assert_eq!(derive_slug("  ÉCOLE  42 "), "cole-42");
    assert_eq!(derive_slug("!!"), "org");
    assert!(derive_slug(&"x".repeat(100)).len() <= 40);
    assert!(partners::validate_slug(&derive_slug("A — B & C")).is_ok());
}

#[tokio::test]
async fn creation_requires_the_attestation_and_makes_the_creator_owner() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let ctx = fixtures::user(db, "ada@acme.example", Role::Partner).await;
        let refused = create_organisation(db, &ctx, "Acme Ltd", "legal@acme.example", false).await;
        assert_eq!(
            invalid(refused),
            "You must confirm the data-handling attestation."
        );
        let org = create_organisation(db, &ctx, " Acme Ltd ", "Legal@Acme.example", true)
            .await
            .unwrap();
        assert_eq!(org.slug, "acme-ltd");
        assert_eq!(org.status, PartnerStatus::Pending);
        assert_eq!(org.legal_name.as_deref(), Some("Acme Ltd"));
        assert_eq!(org.contact_email.as_deref(), Some("legal@acme.example"));
        let attestation = org.attestation.clone().unwrap();
        assert_eq!(attestation.version, ATTESTATION_VERSION);
        assert_eq!(attestation.by, ctx.user_id);
        let (mine, role) = my_organisation(db, &ctx).await.unwrap().unwrap();
        assert_eq!(mine.id, org.id);
        assert_eq!(role, MemberRole::Owner);
        // One organisation per user.
        let second = create_organisation(db, &ctx, "Other", "x@acme.example", true).await;
        assert!(matches!(second, Err(CoreError::Conflict(m)) if m.contains("already belong")));
        // Same legal name from someone else: a suffixed slug.
        let bob = fixtures::user(db, "bob@other.example", Role::Partner).await;
        let twin = create_organisation(db, &bob, "ACME ltd", "bob@other.example", true)
            .await
            .unwrap();
        assert_eq!(twin.slug, "acme-ltd-2");
        let audit = search(
            db,
            &AuditFilter {
                action_prefix: Some("organisation.created".into()),
                ..AuditFilter::default()
            },
            10,
            None,
        )
        .await
        .unwrap();
        assert_eq!(audit.entries.len(), 2);
        assert_eq!(audit.entries[1].partner_id.as_deref(), Some("acme-ltd"));
        assert_eq!(
            audit.entries[1].actor_email.as_deref(),
            Some("ada@acme.example")
        );
    }
}

#[tokio::test]
async fn members_roles_and_last_owner_protection() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let (owner, org) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
        let dev = fixtures::member(db, &owner, "dev@acme.example", MemberRole::Developer).await;
        let viewer = fixtures::member(db, &owner, "view@acme.example", MemberRole::Viewer).await;
        let members = list_members(db, &viewer, &org.id).await.unwrap();
        assert_eq!(
            members.iter().map(|m| m.role).collect::<Vec<_>>(),
            [MemberRole::Owner, MemberRole::Developer, MemberRole::Viewer]
        );
        // Only owners manage members.
        let refused = change_member_role(db, &dev, &viewer.user_id, MemberRole::Owner).await;
        assert!(
            matches!(refused, Err(CoreError::Forbidden(_))),
            "{refused:?}"
        );
        let refused = remove_member(db, &dev, &viewer.user_id).await;
        assert!(matches!(refused, Err(CoreError::Forbidden(_))));
        // The last owner can be neither demoted, removed, nor leave.
        let m = invalid(change_member_role(db, &owner, &owner.user_id, MemberRole::Viewer).await);
        assert!(m.contains("at least one owner"), "{m}");
        assert!(
            invalid(remove_member(db, &owner, &owner.user_id).await).contains("at least one owner")
        );
        // With a second owner, the first may step down.
        change_member_role(db, &owner, &dev.user_id, MemberRole::Owner)
            .await
            .unwrap();
        change_member_role(db, &owner, &owner.user_id, MemberRole::Developer)
            .await
            .unwrap();
        // A viewer may leave on their own.
        remove_member(db, &viewer, &viewer.user_id).await.unwrap();
        assert!(my_organisation(db, &viewer).await.unwrap().is_none());
        // Outsiders see nothing.
        let outsider = fixtures::user(db, "out@else.example", Role::Partner).await;
        assert!(matches!(
            list_members(db, &outsider, &org.id).await,
            Err(CoreError::NotFound { .. })
        ));
        assert!(matches!(
            remove_member(db, &outsider, &dev.user_id).await,
            Err(CoreError::NotFound { .. })
        ));
        let events = search(
            db,
            &AuditFilter {
                action_prefix: Some("organisation.member.".into()),
                ..AuditFilter::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
        let actions: Vec<&str> = events.entries.iter().map(|e| e.action.as_str()).collect();
        assert!(actions.contains(&"organisation.member.role_changed"));
        assert!(actions.contains(&"organisation.member.left"));
        assert!(actions.contains(&"organisation.member.joined"));
    }
}

#[tokio::test]
async fn invitations_are_single_use_addressed_and_expire() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let (owner, org) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
        let (invitation, token) = create_invitation(db, &owner, None, MemberRole::Developer)
            .await
            .unwrap();
        assert!(token.expose().starts_with(INVITATION_PREFIX));
        assert_eq!(
            invitation.expires_at - invitation.created_at,
            INVITATION_TTL_SECS
        );
        let a = fixtures::user(db, "a@x.example", Role::Partner).await;
        let b = fixtures::user(db, "b@x.example", Role::Partner).await;
        let joined = accept_invitation(db, &a, &PlainSecret::from_presented(token.expose()))
            .await
            .unwrap();
        assert_eq!(joined.id, org.id);
        let again = accept_invitation(db, &b, &PlainSecret::from_presented(token.expose())).await;
        assert!(invalid(again).contains("already been used"));
        let bogus = accept_invitation(db, &b, &PlainSecret::from_presented("pin_nope")).await;
        assert!(invalid(bogus).contains("not valid"));

        // Addressed to someone else.
        let (_, addressed) = create_invitation(db, &owner, Some("c@x.example"), MemberRole::Viewer)
            .await
            .unwrap();
        let wrong = accept_invitation(db, &b, &addressed).await;
        assert!(invalid(wrong).contains("another email address"));

        // Expired.
        let (expiring, token) = create_invitation(db, &owner, None, MemberRole::Viewer)
            .await
            .unwrap();
        sqlx::query("UPDATE invitations SET expires_at = $1 WHERE id = $2")
            .bind(clock::now() - 1)
            .bind(&expiring.id)
            .execute(db.pool())
            .await
            .unwrap();
        assert!(invalid(accept_invitation(db, &b, &token).await).contains("expired"));

        // Withdrawn.
        let (withdrawn, token) = create_invitation(db, &owner, None, MemberRole::Viewer)
            .await
            .unwrap();
        revoke_invitation(db, &owner, &withdrawn.id).await.unwrap();
        assert!(invalid(accept_invitation(db, &b, &token).await).contains("withdrawn"));

        // Only owners invite; a member of another organisation cannot join.
        let dev = a;
        assert!(matches!(
            create_invitation(db, &dev, None, MemberRole::Viewer).await,
            Err(CoreError::Forbidden(_))
        ));
        let (other_owner, _) = fixtures::owner_with_org(db, "o@other.example", "Other").await;
        let (_, token) = create_invitation(db, &owner, None, MemberRole::Viewer)
            .await
            .unwrap();
        let conflict = accept_invitation(db, &other_owner, &token).await;
        assert!(matches!(conflict, Err(CoreError::Conflict(_))));
        // ...and the refused attempt did not use the invitation up.
        accept_invitation(db, &b, &token).await.unwrap();
        assert_eq!(list_invitations(db, &owner).await.unwrap().len(), 5);
    }
}

#[tokio::test]
async fn admins_approve_reject_suspend_and_grant_production_access() {
    for t in TestDatabase::both().await {
        let db = &t.db;
        let admin = fixtures::user(db, "root@portico.example", Role::Admin).await;
        let (owner, org) = fixtures::owner_with_org(db, "own@acme.example", "Acme").await;
        let (app, _) = fixtures::app(db, &owner, "Shop").await;
        let app_id = app.app.id;
        // Partners are not admins.
        assert!(matches!(
            list_pending(db, &owner).await,
            Err(CoreError::Forbidden(_))
        ));
        assert!(matches!(
            approve(db, &owner, &org.id, "").await,
            Err(CoreError::Forbidden(_))
        ));
        let pending = list_pending(db, &admin).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            pending[0].creator_email.as_deref(),
            Some("own@acme.example")
        );
        assert_eq!(pending[0].application_count, 1);
        // Production access needs an approved organisation.
        let m = invalid(grant_production_access(db, &admin, &app_id).await);
        assert!(
            m.contains("approved organisation") && m.contains("pending"),
            "{m}"
        );
        let approved = approve(db, &admin, &org.id, "looks fine").await.unwrap();
        assert_eq!(approved.status, PartnerStatus::Approved);
        let decision = approved.decision.unwrap();
        assert_eq!(decision.kind, DecisionKind::Approved);
        assert_eq!(decision.by, admin.user_id);
        assert!(list_pending(db, &admin).await.unwrap().is_empty());
        let granted = grant_production_access(db, &admin, &app_id).await.unwrap();
        assert_eq!(granted.granted_by, admin.user_id);
        let detail = crate::apps::manage::application_detail(db, &owner, &app_id)
            .await
            .unwrap();
        assert_eq!(detail.summary.production, Some(granted));
        assert!(invalid(grant_production_access(db, &admin, &app_id).await).contains("already"));
        revoke_production_access(db, &admin, &app_id).await.unwrap();
        assert!(
            invalid(revoke_production_access(db, &admin, &app_id).await).contains("no production")
        );
        // Suspension needs a note; rejection only from pending.
        assert!(invalid(suspend(db, &admin, &org.id, " ").await).contains("Say why"));
        let suspended = suspend(db, &admin, &org.id, "abuse report").await.unwrap();
        assert_eq!(suspended.status, PartnerStatus::Suspended);
        assert!(invalid(reject(db, &admin, &org.id, "no").await).contains("cannot be rejected"));
        let (_, other) = fixtures::owner_with_org(db, "b@beta.example", "Beta").await;
        let rejected = reject(db, &admin, &other.id, "not a real company")
            .await
            .unwrap();
        assert_eq!(rejected.status, PartnerStatus::Suspended);
        assert_eq!(rejected.decision.unwrap().kind, DecisionKind::Rejected);
        let events = search(
            db,
            &AuditFilter {
                action_prefix: Some("organisation.".into()),
                actor_user_id: Some(admin.user_id.clone()),
                ..AuditFilter::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
        assert_eq!(events.entries.len(), 3, "approved, suspended, rejected");
        let prod = search(
            db,
            &AuditFilter {
                action_prefix: Some("application.production.".into()),
                ..AuditFilter::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
        assert_eq!(prod.entries.len(), 2);
    }
}
