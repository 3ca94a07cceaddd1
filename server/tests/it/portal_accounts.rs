//! Accounts, sessions, CSRF, security headers and organisations through the portal's HTTP
//! surface, as a browser without JavaScript uses it.

use crate::common::{Browser, TEST_PASSWORD, TestApp};
use axum::http::StatusCode;

fn flash(body: &str) -> Option<&str> {
    let at = body.find(r#"data-testid="flash""#)?;
    let rest = &body[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(&rest[start..end])
}

fn cookie_header(res: &crate::common::TestResponse) -> String {
    res.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portico_session="))
        .unwrap_or_else(|| panic!("no session cookie"))
        .to_owned()
}

#[tokio::test]
async fn sign_up_signs_in_with_a_fresh_httponly_lax_session() {
    let app = TestApp::sqlite().await;
    let mut browser = Browser::new(&app);
    let form = browser.get("/signup").await;
    let anonymous = cookie_header(&form);
    assert!(anonymous.contains("HttpOnly"), "{anonymous}");
    assert!(anonymous.contains("SameSite=Lax"), "{anonymous}");
    assert!(!anonymous.contains("Secure"), "http portal: no Secure flag");
    let res = browser
        .post(
            "/signup",
            &[
                ("display_name", "Ada"),
                ("email", "ada@example.com"),
                ("password", TEST_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), "/org");
    let signed_in = cookie_header(&res);
    assert_ne!(
        anonymous.split(';').next(),
        signed_in.split(';').next(),
        "the session id is renewed at sign-in"
    );
    let page = browser.get("/org").await;
    assert!(page.body.contains(r#"data-testid="current-user""#));
    assert!(page.body.contains("ada@example.com"));
    assert!(page.body.contains("Create your organisation"));

    // Signing out ends the session for good.
    let res = browser.post("/signout", &[]).await;
    assert_eq!(res.header("location"), "/");
    let page = browser.get("/org").await;
    assert!(!page.body.contains("ada@example.com"));
    assert!(page.body.contains("Sign in to continue."));
}

#[tokio::test]
async fn refusals_say_what_is_wrong() {
    let app = TestApp::sqlite().await;
    let mut browser = Browser::new(&app);
    let page = browser
        .submit(
            "/signup",
            &[
                ("display_name", "Ada"),
                ("email", "ada@example.com"),
                ("password", "short"),
            ],
        )
        .await;
    assert!(
        flash(&page.body).is_some_and(|m| m.contains("at least 12 characters")),
        "{:?}",
        flash(&page.body)
    );
    let page = browser
        .submit(
            "/signup",
            &[
                ("display_name", "Ada"),
                ("email", "not-an-email"),
                ("password", TEST_PASSWORD),
            ],
        )
        .await;
    assert!(flash(&page.body).is_some(), "an invalid email is explained");
    Browser::sign_up(&app, "taken@example.com").await;
    let page = Browser::new(&app)
        .submit(
            "/signup",
            &[
                ("display_name", "Again"),
                ("email", "taken@example.com"),
                ("password", TEST_PASSWORD),
            ],
        )
        .await;
    assert!(flash(&page.body).is_some(), "a duplicate email is refused");
    assert!(!page.body.contains(r#"data-testid="current-user""#));
}

#[tokio::test]
async fn failed_sign_ins_are_generic_then_slowed_down_and_say_so() {
    let app = TestApp::sqlite().await;
    Browser::sign_up(&app, "ada@example.com").await;
    let mut browser = Browser::new(&app);
    let page = browser
        .submit(
            "/signin",
            &[
                ("email", "ada@example.com"),
                ("password", "wrong password!"),
            ],
        )
        .await;
    assert_eq!(flash(&page.body), Some("Email or password is incorrect."));
    let page = browser
        .submit(
            "/signin",
            &[
                ("email", "nobody@example.com"),
                ("password", "wrong password!"),
            ],
        )
        .await;
    assert_eq!(
        flash(&page.body),
        Some("Email or password is incorrect."),
        "unknown accounts get the same answer"
    );
    let mut last = String::new();
    for _ in 0..5 {
        let page = browser
            .submit(
                "/signin",
                &[
                    ("email", "ada@example.com"),
                    ("password", "wrong password!"),
                ],
            )
            .await;
        last = flash(&page.body).unwrap_or_default().to_owned();
    }
    assert!(last.starts_with("Too many failed sign-ins"), "{last}");
    // Even the right password waits now.
    let page = browser
        .submit(
            "/signin",
            &[("email", "ada@example.com"), ("password", TEST_PASSWORD)],
        )
        .await;
    assert!(
        flash(&page.body)
            .unwrap_or_default()
            .starts_with("Too many failed sign-ins")
    );
}

#[tokio::test]
async fn the_one_time_admin_link_signs_in_once_and_asks_for_a_password() {
    let app = TestApp::sqlite().await;
    let db = &app.shared.db;
    let invite = portico_core::accounts::bootstrap::first_start(db)
        .await
        .unwrap()
        .unwrap();
    let token = invite.sign_in_token.expose().to_owned();

    // The GET only shows a confirmation form: link scanners cannot use the link up.
    let mut browser = Browser::new(&app);
    let page = browser.get(&format!("/signin?token={token}")).await;
    assert!(page.body.contains(r#"action="/signin/link""#));
    let res = browser.post("/signin/link", &[("token", &token)]).await;
    assert_eq!(res.header("location"), "/account/password");
    let page = browser.get("/account/password").await;
    assert!(page.body.contains("Choose a password"));
    let res = browser
        .post("/account/password", &[("password", TEST_PASSWORD)])
        .await;
    assert_eq!(res.header("location"), "/admin");
    browser.post("/signout", &[]).await;

    // The link is spent; the password works.
    let page = Browser::new(&app)
        .submit("/signin/link", &[("token", &token)])
        .await;
    assert!(
        flash(&page.body)
            .unwrap_or_default()
            .contains("invalid, already used or expired")
    );
    let res = Browser::new(&app)
        .post(
            "/signin",
            &[
                ("email", invite.user.email.as_str()),
                ("password", TEST_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.header("location"), "/admin");
}

#[tokio::test]
async fn forms_without_the_csrf_token_or_from_another_origin_are_refused() {
    let app = TestApp::sqlite().await;
    let mut browser = Browser::sign_up(&app, "ada@example.com").await;
    let res = browser
        .post_raw(
            "/org",
            &[
                ("legal_name", "Acme"),
                ("contact_email", "a@acme.test"),
                ("attested", "on"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("did not come from this site"));
    let res = browser
        .post_raw(
            "/org",
            &[
                ("csrf_token", "forged"),
                ("legal_name", "Acme"),
                ("contact_email", "a@acme.test"),
                ("attested", "on"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // The right token from a foreign page is still refused by the Origin check.
    browser.get("/org").await;
    let token = {
        let page = browser.get("/org").await;
        let at = page.body.find(r#"name="csrf_token" value=""#).unwrap() + 26;
        page.body[at..].split('"').next().unwrap().to_owned()
    };
    let body =
        format!("csrf_token={token}&legal_name=Acme&contact_email=a%40acme.test&attested=on");
    let mut request = axum::http::Request::post("/org")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example");
    if let Some(cookie) = browser_cookie(&mut browser).await {
        request = request.header("cookie", cookie);
    }
    let res = app
        .portal(request.body(axum::body::Body::from(body)).unwrap())
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let page = browser.get("/org").await;
    assert!(
        page.body.contains("Create your organisation"),
        "nothing was created"
    );
}

/// The browser's cookie, read back through a page that echoes nothing: tests keep it private,
/// so fetch a fresh page and take the cookie the browser would send.
async fn browser_cookie(browser: &mut Browser<'_>) -> Option<String> {
    browser.cookie()
}

#[tokio::test]
async fn every_portal_response_carries_the_security_headers() {
    let app = TestApp::sqlite().await;
    for path in ["/", "/signin", "/apps", "/no-such-page"] {
        let res = app.get_portal(path).await;
        let csp = res.header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(res.header("x-content-type-options"), "nosniff");
        assert_eq!(res.header("referrer-policy"), "same-origin");
        assert_eq!(res.header("cache-control"), "no-store", "{path}");
    }
}

#[tokio::test]
async fn organisations_need_the_attestation_and_invite_members_by_a_link_shown_once() {
    let app = TestApp::sqlite().await;
    let mut owner = Browser::sign_up(&app, "owner@acme.test").await;
    let page = owner
        .submit(
            "/org",
            &[
                ("legal_name", "Acme Travel"),
                ("contact_email", "api@acme.test"),
            ],
        )
        .await;
    assert_eq!(
        flash(&page.body),
        Some("You must confirm the data-handling attestation.")
    );
    let page = owner
        .submit(
            "/org",
            &[
                ("legal_name", "Acme Travel"),
                ("contact_email", "api@acme.test"),
                ("attested", "on"),
            ],
        )
        .await;
    assert!(
        page.body
            .contains(r#"data-testid="org-status" class="badge pending">Pending approval<"#)
    );
    assert!(
        page.body.contains("confirmed"),
        "the attestation is shown with its time"
    );

    let page = owner
        .submit("/org/invitations", &[("email", ""), ("role", "developer")])
        .await;
    let at = page.body.find("/join?token=").expect("the link is shown");
    let token: String = page.body[at + 12..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert!(token.starts_with("pin_"), "{token}");
    let again = owner.get("/org").await;
    assert!(!again.body.contains(&token), "shown once");

    let mut developer = Browser::sign_up(&app, "dev@acme.test").await;
    let page = developer.submit("/join", &[("token", &token)]).await;
    assert_eq!(flash(&page.body), Some("Welcome to Acme Travel."));
    let page = developer.get("/org").await;
    assert!(page.body.contains("owner@acme.test") && page.body.contains("dev@acme.test"));
    // A developer may not invite.
    let page = developer
        .submit("/org/invitations", &[("email", ""), ("role", "owner")])
        .await;
    assert!(
        flash(&page.body).is_some_and(|m| !m.is_empty()),
        "refused with a message"
    );
    assert!(!page.body.contains("/join?token="));
    // The link worked once.
    let mut third = Browser::sign_up(&app, "third@acme.test").await;
    let page = third.submit("/join", &[("token", &token)]).await;
    assert!(flash(&page.body).is_some());
    assert!(!third.get("/org").await.body.contains("Acme Travel"));
}

#[tokio::test]
async fn another_organisation_cannot_touch_members_by_id() {
    let app = TestApp::sqlite().await;
    let mut alice = Browser::partner_with_org(&app, "alice@a.test", "Alpha Ltd").await;
    let mut bob = Browser::partner_with_org(&app, "bob@b.test", "Bravo Ltd").await;
    let alice_id = {
        let mut conn = app.shared.db.pool().acquire().await.unwrap();
        portico_core::identity::users::find_by_email(&mut conn, "alice@a.test")
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let page = bob
        .submit(
            &format!("/org/members/{alice_id}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert!(flash(&page.body).is_some());
    let page = bob
        .submit(&format!("/org/members/{alice_id}/remove"), &[])
        .await;
    assert!(flash(&page.body).is_some());
    let page = alice.get("/org").await;
    assert!(page.body.contains("alice@a.test"), "still a member");
    assert!(
        page.body.contains(">owner<"),
        "still the owner: {}",
        page.body
    );
    assert!(!page.body.contains("bob@b.test"));
}

#[tokio::test]
async fn accounts_and_organisations_work_on_postgres() {
    let app = TestApp::postgres().await;
    let mut owner = Browser::partner_with_org(&app, "owner@pg.test", "Postgres Partners").await;
    let page = owner.get("/org").await;
    assert!(page.body.contains("Postgres Partners"));
    owner.post("/signout", &[]).await;
    let res = Browser::new(&app)
        .post(
            "/signin",
            &[("email", "owner@pg.test"), ("password", TEST_PASSWORD)],
        )
        .await;
    assert_eq!(res.header("location"), "/apps");
}

#[tokio::test]
async fn members_reset_their_sandbox_data_and_viewers_cannot() {
    use axum::body::Body;
    use axum::http::Request;
    let app = TestApp::sqlite().await;
    let mut owner = Browser::partner_with_org(&app, "owner@delta.test", "Delta Ltd").await;
    let slug = "delta-ltd";
    let (application, _) = portico_core::apps::demo::create_app(
        &app.database.db,
        slug,
        "Delta Ltd",
        "Booking",
        &portico_core::authz::scopes::Scopes::parse("commercial:read commercial:write").unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    assert_eq!(
        application.partner_id, slug,
        "the app belongs to the organisation"
    );
    let token = app.tokens.issue(&application, None).unwrap().access_token;
    let call = |method: &str, path: &str, body: Option<serde_json::Value>| {
        let builder = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "reset-test-1");
        builder
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap()
    };
    let products = app
        .sandbox(call("GET", "/v2/commercial/products", None))
        .await;
    let product = products.json()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = app
        .sandbox(call(
            "POST",
            "/v2/commercial/orders",
            Some(serde_json::json!({"items": [{"product_id": product, "quantity": 1}]})),
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let order = created.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/v2/commercial/orders/{order}");
    assert_eq!(
        app.sandbox(call("GET", &path, None)).await.status,
        StatusCode::OK
    );

    // A viewer may not reset; the owner may, and the created order is gone.
    let (_, invite) = {
        let db = &app.shared.db;
        let mut conn = db.pool().acquire().await.unwrap();
        let owner_user =
            portico_core::identity::users::find_by_email(&mut conn, "owner@delta.test")
                .await
                .unwrap()
                .unwrap();
        drop(conn);
        let ctx = portico_core::identity::ActorContext::new(&owner_user, "127.0.0.1");
        portico_core::orgs::organisations::create_invitation(
            db,
            &ctx,
            None,
            portico_core::identity::permissions::MemberRole::Viewer,
        )
        .await
        .unwrap()
    };
    let mut viewer = Browser::sign_up(&app, "viewer@delta.test").await;
    viewer.submit("/join", &[("token", invite.expose())]).await;
    let page = viewer.get("/org").await;
    assert!(
        !page.body.contains("Reset sandbox data"),
        "viewers are not offered it"
    );
    let page = viewer.submit("/org/sandbox/reset", &[]).await;
    assert!(
        flash(&page.body).is_some_and(|m| m.contains("viewer")),
        "{:?}",
        flash(&page.body)
    );
    assert_eq!(
        app.sandbox(call("GET", &path, None)).await.status,
        StatusCode::OK
    );

    let page = owner.submit("/org/sandbox/reset", &[]).await;
    assert!(
        flash(&page.body).is_some_and(|m| m.contains("back to its seed")),
        "{:?}",
        flash(&page.body)
    );
    assert_eq!(
        app.sandbox(call("GET", &path, None)).await.status,
        StatusCode::NOT_FOUND
    );
    let seeded = app
        .sandbox(call("GET", "/v2/commercial/orders", None))
        .await;
    assert_eq!(seeded.status, StatusCode::OK);
    assert!(!seeded.body.contains(&order));
}

#[tokio::test]
async fn refused_forms_come_back_with_what_was_typed_but_never_the_password() {
    let app = TestApp::sqlite().await;
    let mut browser = Browser::new(&app);
    let page = browser
        .submit(
            "/signup",
            &[
                ("display_name", "Grace Hopper"),
                ("email", "grace@navy.test"),
                ("password", "short-pw"),
            ],
        )
        .await;
    assert!(flash(&page.body).is_some());
    assert!(
        page.body.contains(r#"value="Grace Hopper""#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"value="grace@navy.test""#));
    assert!(!page.body.contains("short-pw"), "passwords never come back");
    // Once only: a reload shows an empty form.
    let again = browser.get("/signup").await;
    assert!(!again.body.contains("Grace Hopper"));

    let mut partner = Browser::partner_with_org(&app, "dev@draft.test", "Draft Ltd").await;
    let page = partner
        .submit(
            "/apps",
            &[
                ("name", "Order sync"),
                ("description", "Keeps </textarea><b>orders</b> in sync"),
                ("scopes", "commercial:read"),
                ("justification", ""),
                ("ip_allowlist", "not-a-cidr"),
            ],
        )
        .await;
    assert!(flash(&page.body).is_some(), "refused");
    assert!(page.body.contains(r#"value="Order sync""#), "{}", page.body);
    let at = page.body.find(r#"id="description""#).unwrap();
    let description = &page.body[at..at + 200];
    assert!(
        description.contains("Keeps &lt;/textarea&gt;&lt;b&gt;orders&lt;/b&gt; in sync</textarea>"),
        "escaped, kept: {description}"
    );
    assert!(page.body.contains(r#"value="commercial:read" checked"#));
    assert!(page.body.contains(">not-a-cidr</textarea>"));
}
