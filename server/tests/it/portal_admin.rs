//! The admin console over HTTP: organisation approvals (with the attestation), the scope-request
//! queue, applications (suspension, plans, production access), signing keys, the audit log, and
//! every admin page and form refused to partners and to visitors.

use crate::common::{Browser, TestApp, TestResponse, post_form};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portico_core::apps::manage::{self, NewApplication};
use portico_core::apps::plans;
use portico_core::apps::scope_requests;
use portico_core::authz::scopes::Scopes;
use portico_core::identity::ActorContext;
use portico_core::identity::users;
use portico_core::orgs::organisations::{self, ATTESTATION_VERSION};
use portico_core::orgs::partners::PartnerStatus;

const ADMIN: &str = "root@portico.test";

/// The text between `start` and the next `end` after it.
fn between<'b>(body: &'b str, start: &str, end: &str) -> &'b str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in page: {body}"))
        + start.len();
    let len = body[from..].find(end).expect("end marker");
    &body[from..from + len]
}

fn flash(page: &TestResponse) -> &str {
    let rest = between(&page.body, r#"data-testid="flash""#, "</p>");
    &rest[rest.find('>').map_or(0, |at| at + 1)..]
}

async fn actor(app: &TestApp, email: &str) -> ActorContext {
    let mut conn = app.shared.db.pool().acquire().await.unwrap();
    let user = users::find_by_email(&mut conn, email)
        .await
        .unwrap()
        .unwrap();
    ActorContext::new(&user, "127.0.0.1")
}

/// The organisation of the partner `email`: (internal id, slug, status).
async fn org_of(app: &TestApp, email: &str) -> (String, String, PartnerStatus) {
    let ctx = actor(app, email).await;
    let (org, _) = organisations::my_organisation(&app.shared.db, &ctx)
        .await
        .unwrap()
        .expect("an organisation");
    (org.id, org.slug, org.status)
}

struct Client {
    app_id: String,
    client_id: String,
    secret: String,
}

/// Registers an application as partner `email`, asking for `scopes` (pending requests).
async fn register(app: &TestApp, email: &str, name: &str, scopes: &str) -> Client {
    let ctx = actor(app, email).await;
    let (summary, creds) = manage::register_application(
        &app.shared.db,
        &ctx,
        app.shared.catalog.scopes(),
        &NewApplication {
            name,
            description: "Books trips.",
            requested_scopes: Scopes::parse(scopes).unwrap(),
            justification: "We list orders for our customers.",
            ip_allowlist: "",
            preferences: Default::default(),
        },
    )
    .await
    .unwrap();
    Client {
        app_id: summary.app.id,
        client_id: creds.client_id,
        secret: creds.client_secret.expose().to_owned(),
    }
}

async fn token(app: &TestApp, c: &Client, scope: Option<&str>) -> TestResponse {
    let body = match scope {
        Some(s) => format!(
            "grant_type=client_credentials&scope={}",
            s.replace(' ', "+")
        ),
        None => "grant_type=client_credentials".to_owned(),
    };
    let mut request = post_form("/oauth2/token", &body);
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", c.client_id, c.secret))
    );
    request
        .headers_mut()
        .insert("authorization", basic.parse().unwrap());
    app.sandbox(request).await
}

fn token_scopes(res: &TestResponse) -> Vec<String> {
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let jwt = res.json()["access_token"].as_str().unwrap().to_owned();
    let payload = jwt.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .map(str::to_owned)
        .collect()
}

fn assert_token_error(res: &TestResponse, code: &str) {
    assert!(res.status.is_client_error(), "{}: {}", res.status, res.body);
    assert_eq!(res.json()["error"], code, "{}", res.body);
}

/// An admin, and a partner whose organisation is approved by that admin.
async fn approved_partner<'a>(
    app: &'a TestApp,
    email: &str,
    legal_name: &str,
) -> (Browser<'a>, Browser<'a>) {
    let mut admin = Browser::admin(app, ADMIN).await;
    let partner = Browser::partner_with_org(app, email, legal_name).await;
    let (id, _, _) = org_of(app, email).await;
    admin.get("/admin/partners").await;
    admin
        .submit(&format!("/admin/partners/{id}/approve"), &[("note", "")])
        .await;
    assert_eq!(org_of(app, email).await.2, PartnerStatus::Approved);
    (admin, partner)
}

#[tokio::test]
async fn organisations_are_approved_with_their_attestation() {
    let app = TestApp::sqlite().await;
    let mut admin = Browser::admin(&app, ADMIN).await;
    let empty = admin.get("/admin/partners").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(
        empty.body.contains("No organisations are waiting."),
        "{}",
        empty.body
    );

    let mut partner = Browser::partner_with_org(&app, "ada@acme.test", "Acme Logistics Ltd").await;
    let (id, slug, status) = org_of(&app, "ada@acme.test").await;
    assert_eq!(status, PartnerStatus::Pending);

    let page = admin.get("/admin/partners").await;
    let row = between(&page.body, &format!(r#"<tr data-org="{slug}""#), "</tr>");
    assert!(row.contains("Acme Logistics Ltd"), "{row}");
    assert!(row.contains("ada@acme.test"), "creator and contact: {row}");
    assert!(
        row.contains(ATTESTATION_VERSION),
        "attestation version: {row}"
    );
    assert!(row.contains("Attestation text"), "{row}");
    assert!(
        row.contains(">Approve<") && row.contains(">Reject<"),
        "{row}"
    );
    assert!(page.body.contains("aria-label=\"1 waiting\""), "nav count");

    // Reject needs a note; nothing changes without one.
    let refused = admin
        .submit(&format!("/admin/partners/{id}/reject"), &[("note", "  ")])
        .await;
    assert!(flash(&refused).contains("Say why"), "{}", refused.body);
    assert_eq!(
        org_of(&app, "ada@acme.test").await.2,
        PartnerStatus::Pending
    );

    let approved = admin
        .submit(
            &format!("/admin/partners/{id}/approve"),
            &[("note", "Checked the register")],
        )
        .await;
    assert!(
        flash(&approved).contains("is approved"),
        "{}",
        approved.body
    );
    assert!(approved.body.contains("No organisations are waiting."));
    let row = between(
        &approved.body,
        &format!(r#"<tr data-org="{slug}""#),
        "</tr>",
    );
    assert!(
        row.contains("approved") && row.contains("Checked the register"),
        "{row}"
    );
    assert_eq!(
        org_of(&app, "ada@acme.test").await.2,
        PartnerStatus::Approved
    );
    // The partner's own pages see it.
    let org_page = partner.get("/org").await;
    assert!(org_page.body.contains("Approved"), "{}", org_page.body);

    // A second organisation is rejected with a note.
    Browser::partner_with_org(&app, "bob@bad.test", "Bad Actors Ltd").await;
    let (bad_id, _, _) = org_of(&app, "bob@bad.test").await;
    let rejected = admin
        .submit(
            &format!("/admin/partners/{bad_id}/reject"),
            &[("note", "Not a registered company")],
        )
        .await;
    assert!(
        flash(&rejected).contains("is rejected"),
        "{}",
        rejected.body
    );
    assert_eq!(
        org_of(&app, "bob@bad.test").await.2,
        PartnerStatus::Suspended
    );
}

async fn scope_decisions(app: &TestApp) {
    let (mut admin, _partner) = approved_partner(app, "ada@acme.test", "Acme Ltd").await;
    let client = register(app, "ada@acme.test", "Booking", "commercial:read").await;
    assert_token_error(
        &token(app, &client, Some("commercial:read")).await,
        "invalid_scope",
    );

    let queue = admin.get("/admin/scope-requests").await;
    let id = between(&queue.body, r#"<tr data-scope-request=""#, "\"").to_owned();
    let row = between(&queue.body, r#"<tr data-scope-request=""#, "</tr>");
    assert!(
        row.contains("Booking") && row.contains("commercial:read"),
        "{row}"
    );
    assert!(
        row.contains("ada@acme.test") && row.contains("We list orders"),
        "{row}"
    );

    let done = admin
        .submit(
            &format!("/admin/scope-requests/{id}/decide"),
            &[("decision", "approve"), ("note", "Fine for listing")],
        )
        .await;
    assert!(flash(&done).contains("approved"), "{}", done.body);
    assert!(done.body.contains("No scope requests are waiting."));
    assert!(done.body.contains("Fine for listing"), "recently decided");
    let mut conn = app.shared.db.pool().acquire().await.unwrap();
    let stored = portico_core::apps::applications::find_by_id(&mut conn, &client.app_id)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert!(stored.scopes.contains("commercial:read"));
    assert!(
        token_scopes(&token(app, &client, Some("commercial:read")).await)
            .contains(&"commercial:read".to_owned())
    );

    // Deny needs a note; then the scope stays out of tokens.
    let ctx = actor(app, "ada@acme.test").await;
    let requested = scope_requests::request_scopes(
        &app.shared.db,
        &ctx,
        app.shared.catalog.scopes(),
        &client.app_id,
        &Scopes::parse("commercial:write").unwrap(),
        "We create orders.",
    )
    .await
    .unwrap();
    let id = &requested[0].id;
    let refused = admin
        .submit(
            &format!("/admin/scope-requests/{id}/decide"),
            &[("decision", "deny"), ("note", "")],
        )
        .await;
    assert!(flash(&refused).contains("Say why"), "{}", refused.body);
    assert!(
        refused
            .body
            .contains(&format!(r#"data-scope-request="{id}""#))
    );
    let denied = admin
        .submit(
            &format!("/admin/scope-requests/{id}/decide"),
            &[("decision", "deny"), ("note", "Read-only integration")],
        )
        .await;
    assert!(flash(&denied).contains("denied"), "{}", denied.body);
    assert_token_error(
        &token(app, &client, Some("commercial:write")).await,
        "invalid_scope",
    );
}

#[tokio::test]
async fn scope_requests_are_approved_and_denied_from_the_queue() {
    let app = TestApp::sqlite().await;
    scope_decisions(&app).await;
}

#[tokio::test]
async fn approvals_and_scope_decisions_on_postgres() {
    let app = TestApp::postgres().await;
    scope_decisions(&app).await;
}

#[tokio::test]
async fn applications_are_suspended_replanned_and_promoted_to_production() {
    let app = TestApp::sqlite().await;
    let mut admin = Browser::admin(&app, ADMIN).await;
    Browser::partner_with_org(&app, "ada@acme.test", "Acme Ltd").await;
    let (org_id, slug, _) = org_of(&app, "ada@acme.test").await;
    let client = register(&app, "ada@acme.test", "Booking", "").await;
    let id = &client.app_id;
    // Signing in changed the session's form token: pick up the new one from a page.

    let page = admin.get("/admin/applications").await;
    assert!(
        page.body.contains(&format!(r#"data-app="{id}""#)),
        "{}",
        page.body
    );

    // Production access waits for the organisation's approval.
    let refused = admin
        .submit(&format!("/admin/applications/{id}/production/grant"), &[])
        .await;
    assert!(
        flash(&refused).contains("approved organisation"),
        "{}",
        refused.body
    );
    admin
        .submit(
            &format!("/admin/partners/{org_id}/approve"),
            &[("note", "")],
        )
        .await;
    let granted = admin
        .submit(&format!("/admin/applications/{id}/production/grant"), &[])
        .await;
    assert!(flash(&granted).contains("granted"), "{}", granted.body);
    assert!(granted.body.contains("Revoke production access"));

    // Suspend (a reason is required) → refused at the token endpoint; reactivate → works.
    assert_eq!(token(&app, &client, None).await.status, StatusCode::OK);
    let refused = admin
        .submit(
            &format!("/admin/applications/{id}/suspend"),
            &[("reason", "")],
        )
        .await;
    assert!(flash(&refused).contains("Say why"), "{}", refused.body);
    let suspended = admin
        .submit(
            &format!("/admin/applications/{id}/suspend"),
            &[("reason", "Abuse report")],
        )
        .await;
    assert!(
        flash(&suspended).contains("suspended"),
        "{}",
        suspended.body
    );
    assert!(suspended.body.contains(">Reactivate<"));
    assert_token_error(&token(&app, &client, None).await, "unauthorized_client");
    admin
        .submit(&format!("/admin/applications/{id}/reactivate"), &[])
        .await;
    assert_eq!(token(&app, &client, None).await.status, StatusCode::OK);

    // Plan and overrides.
    let bad = admin
        .submit(
            &format!("/admin/applications/{id}/plan"),
            &[("plan", "premium"), ("rate_per_second", "lots")],
        )
        .await;
    assert!(flash(&bad).contains("whole number"), "{}", bad.body);
    let replanned = admin
        .submit(
            &format!("/admin/applications/{id}/plan"),
            &[
                ("plan", "premium"),
                ("rate_per_second", "7"),
                ("burst", ""),
                ("quota", ""),
            ],
        )
        .await;
    assert!(flash(&replanned).contains("premium"), "{}", replanned.body);
    assert!(
        replanned.body.contains("Overrides: ") && replanned.body.contains("7/s"),
        "{}",
        replanned.body
    );
    let effective = plans::effective_plan(&app.shared.db, id).await.unwrap();
    assert_eq!(
        (effective.plan.as_str(), effective.rate_per_second),
        ("premium", 7)
    );

    // The audit log has every step, by the admin, filterable.
    let audit = admin.get("/admin/audit?action=application.").await;
    for action in [
        "application.production.granted",
        "application.suspended",
        "application.reactivated",
        "application.plan.changed",
    ] {
        assert!(
            audit.body.contains(action),
            "{action} missing: {}",
            audit.body
        );
    }
    assert!(!audit.body.contains("<code>organisation.approved</code>"));
    assert!(audit.body.contains(ADMIN));
    let orgs = admin.get("/admin/audit?action=organisation").await;
    assert!(orgs.body.contains("organisation.approved"));
    assert!(!orgs.body.contains("<code>application.suspended</code>"));
    let by_org = admin.get(&format!("/admin/audit?org={slug}")).await;
    assert!(by_org.body.contains("application.suspended"));
    let other = admin.get("/admin/audit?org=nobody-here").await;
    assert!(
        other.body.contains("No audit entries match."),
        "{}",
        other.body
    );
    let by_email = admin
        .get("/admin/audit?actor=root%40portico.test&action=organisation.")
        .await;
    assert!(by_email.body.contains("organisation.approved"));
    let bad_date = admin.get("/admin/audit?since=yesterday").await;
    assert_eq!(bad_date.status, StatusCode::OK);
    assert!(bad_date.body.contains("is not a date"));
    let future = admin.get("/admin/audit?since=2999-01-01").await;
    assert!(future.body.contains("No audit entries match."));

    let home = admin.get("/admin").await;
    assert!(
        home.body.contains("Recent activity") && home.body.contains("application.plan.changed")
    );
}

#[tokio::test]
async fn signing_keys_are_listed() {
    let app = TestApp::sqlite().await;
    let mut admin = Browser::admin(&app, ADMIN).await;
    let page = admin.get("/admin/keys").await;
    assert_eq!(page.status, StatusCode::OK);
    let kid = app.tokens.active_kid_for_tests();
    assert!(
        page.body.contains(&format!(r#"data-kid="{kid}""#)),
        "{}",
        page.body
    );
    assert!(page.body.contains("ES256"));
    assert!(
        page.body
            .contains(&format!(r#"data-kid="{kid}" data-state="active""#))
    );

    // Rotate: a next key is published (and audited); promote: it signs, the old one retires.
    let page = admin.submit("/admin/keys/rotate", &[]).await;
    assert!(
        page.body.contains("Published the next signing key"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"data-state="next""#));
    let page = admin.submit("/admin/keys/promote", &[]).await;
    assert!(page.body.contains("signs now"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!(r#"data-kid="{kid}" data-state="retiring""#))
    );
    assert_ne!(
        app.tokens.active_kid_for_tests(),
        kid,
        "this process signs with the new key"
    );
    let audit = admin.get("/admin/audit?action=signing_key").await;
    assert!(
        audit.body.contains("signing_key.published") && audit.body.contains("signing_key.promoted")
    );
    assert!(audit.body.contains(ADMIN));
}

#[tokio::test]
async fn partners_and_visitors_are_refused_everything() {
    let app = TestApp::sqlite().await;
    let mut admin = Browser::admin(&app, ADMIN).await;
    let mut partner = Browser::partner_with_org(&app, "ada@acme.test", "Acme Ltd").await;
    Browser::partner_with_org(&app, "eve@other.test", "Other Org").await;
    let (org_id, _, _) = org_of(&app, "ada@acme.test").await;
    let client = register(&app, "ada@acme.test", "Booking", "commercial:read").await;
    let id = &client.app_id;
    let queue = admin.get("/admin/scope-requests").await;
    let request_id = between(&queue.body, r#"<tr data-scope-request=""#, "\"").to_owned();

    let pages = [
        "/admin",
        "/admin/partners",
        "/admin/scope-requests",
        "/admin/applications",
        "/admin/keys",
        "/admin/audit",
    ];
    for path in pages {
        let page = partner.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("Administrators only"), "{path}");
        assert!(!page.body.contains("other-org"), "{path} leaks data");
        assert!(!page.body.contains("data-org="), "{path} leaks data");
    }
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/admin/keys/rotate".to_owned(), vec![]),
        ("/admin/keys/promote".to_owned(), vec![]),
        (
            format!("/admin/partners/{org_id}/approve"),
            vec![("note", "")],
        ),
        (
            format!("/admin/partners/{org_id}/reject"),
            vec![("note", "no")],
        ),
        (
            format!("/admin/partners/{org_id}/suspend"),
            vec![("note", "no")],
        ),
        (
            format!("/admin/scope-requests/{request_id}/decide"),
            vec![("decision", "approve"), ("note", "")],
        ),
        (
            format!("/admin/applications/{id}/suspend"),
            vec![("reason", "x")],
        ),
        (format!("/admin/applications/{id}/reactivate"), vec![]),
        (
            format!("/admin/applications/{id}/plan"),
            vec![("plan", "premium")],
        ),
        (format!("/admin/applications/{id}/production/grant"), vec![]),
        (
            format!("/admin/applications/{id}/production/revoke"),
            vec![],
        ),
        (
            format!("/admin/applications/{id}/scopes/revoke"),
            vec![("scope", "commercial:read"), ("note", "x")],
        ),
    ];
    for (path, fields) in &posts {
        let res = partner.post(path, fields).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.body);
        assert!(res.body.contains("Administrators only"), "{path}");
    }
    let mut visitor = Browser::new(&app);
    for path in pages {
        let page = visitor.get(path).await;
        assert!(page.body.contains("Sign in to continue."), "{path}");
        assert!(!page.body.contains("data-org="), "{path}");
    }
    for (path, fields) in &posts {
        let res = visitor.post(path, fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.header("location"), "/signin", "{path}");
    }
    // Nothing changed.
    assert_eq!(
        org_of(&app, "ada@acme.test").await.2,
        PartnerStatus::Pending
    );
    let admin_ctx = actor(&app, ADMIN).await;
    assert_eq!(
        scope_requests::pending_queue(&app.shared.db, &admin_ctx)
            .await
            .unwrap()
            .len(),
        1
    );
    let effective = plans::effective_plan(&app.shared.db, id).await.unwrap();
    assert_eq!(effective.plan, "sandbox");
    assert_eq!(token(&app, &client, None).await.status, StatusCode::OK);
}
