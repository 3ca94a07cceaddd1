//! The partner's Applications pages and forms over HTTP: registration with credentials shown
//! once, secret rotation reaching the token endpoint, scope requests, settings, suspension and
//! deletion, roles, tenant isolation and CSRF.

use crate::common::{Browser, TestApp, TestResponse, post_form};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portico_core::apps::manage;
use portico_core::identity::ActorContext;
use portico_core::identity::permissions::MemberRole;
use portico_core::identity::users::{self, Role};
use portico_core::orgs::organisations::{self, Organisation};

/// The signed-in context of the account `email` (as the portal builds it).
async fn ctx_of(app: &TestApp, email: &str) -> ActorContext {
    let mut conn = app.shared.db.pool().acquire().await.unwrap();
    let user = users::find_by_email(&mut conn, email)
        .await
        .unwrap()
        .unwrap();
    ActorContext::new(&user, "127.0.0.1")
}

async fn admin_ctx(app: &TestApp) -> ActorContext {
    let mut conn = app.shared.db.pool().acquire().await.unwrap();
    let admin = users::create(&mut conn, "root@portico.test", Role::Admin)
        .await
        .unwrap();
    ActorContext::new(&admin, "127.0.0.1")
}

/// A signed-in partner owning organisation `legal_name`, approved by `admin` when given.
async fn owner<'a>(
    app: &'a TestApp,
    email: &str,
    legal_name: &str,
    admin: Option<&ActorContext>,
) -> (Browser<'a>, ActorContext, Organisation) {
    let browser = Browser::sign_up(app, email).await;
    let ctx = ctx_of(app, email).await;
    let org = organisations::create_organisation(&app.shared.db, &ctx, legal_name, email, true)
        .await
        .unwrap();
    if let Some(admin) = admin {
        organisations::approve(&app.shared.db, admin, &org.id, "")
            .await
            .unwrap();
    }
    (browser, ctx, org)
}

/// A signed-in member of `owner`'s organisation with `role`, joined through an invitation.
async fn member<'a>(
    app: &'a TestApp,
    owner: &ActorContext,
    email: &str,
    role: MemberRole,
) -> Browser<'a> {
    let browser = Browser::sign_up(app, email).await;
    let ctx = ctx_of(app, email).await;
    let (_, token) = organisations::create_invitation(&app.shared.db, owner, Some(email), role)
        .await
        .unwrap();
    organisations::accept_invitation(&app.shared.db, &ctx, &token)
        .await
        .unwrap();
    browser
}

/// Registers an application through the form; returns its id (from the redirect).
async fn register(browser: &mut Browser<'_>, fields: &[(&str, &str)]) -> String {
    let res = browser.post("/apps", fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let to = res.header("location").to_owned();
    to.strip_prefix("/apps/")
        .unwrap_or_else(|| panic!("registration went to {to}"))
        .to_owned()
}

/// The `value` of the input with `id`, if the page has one.
fn input_value(body: &str, id: &str) -> Option<String> {
    let at = body.find(&format!(r#"id="{id}""#))?;
    let start = body[..at].rfind('<')?;
    let end = at + body[at..].find('>')?;
    let tag = &body[start..end];
    let value = tag.split(r#"value=""#).nth(1)?;
    Some(value.split('"').next()?.to_owned())
}

/// Every value of attribute `attr` on the page, in order.
fn attr_values(body: &str, attr: &str) -> Vec<String> {
    body.split(&format!(r#"{attr}=""#))
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_owned))
        .collect()
}

/// The HTML of the table row carrying `attr="value"`.
fn row<'b>(body: &'b str, attr: &str, value: &str) -> &'b str {
    let at = body
        .find(&format!(r#"{attr}="{value}""#))
        .unwrap_or_else(|| panic!("no row {attr}={value}"));
    let end = at + body[at..].find("</tr>").unwrap_or(body.len() - at);
    &body[at..end]
}

fn flash(body: &str) -> String {
    let Some(at) = body.find(r#"data-testid="flash""#) else {
        return String::new();
    };
    let rest = &body[at..];
    let rest = &rest[rest.find('>').map_or(0, |i| i + 1)..];
    rest.split("</p>").next().unwrap_or_default().to_owned()
}

async fn token(app: &TestApp, client_id: &str, secret: &str, scope: Option<&str>) -> TestResponse {
    let body = match scope {
        Some(scope) => format!("grant_type=client_credentials&scope={scope}"),
        None => "grant_type=client_credentials".to_owned(),
    };
    let mut request = post_form("/oauth2/token", &body);
    let basic = format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")));
    request
        .headers_mut()
        .insert("authorization", basic.parse().unwrap());
    app.sandbox(request).await
}

fn assert_token(res: &TestResponse) {
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.json()["access_token"].as_str().is_some());
}

/// Registration shows the credentials once and they work; rotation without downtime; the
/// last secret needs a confirmation.
async fn register_rotate_and_revoke(app: &TestApp) {
    let admin = admin_ctx(app).await;
    let (mut browser, _, _) = owner(app, "owner@acme.test", "Acme Freight", Some(&admin)).await;

    let list = browser.get("/apps").await;
    assert!(list.body.contains(r#"href="/apps/new""#), "{}", list.body);
    assert!(list.body.contains("No applications yet"));
    let form = browser.get("/apps/new").await;
    for field in [
        r#"name="name""#,
        r#"name="description""#,
        r#"name="scopes" value="commercial:read""#,
        r#"name="scopes" value="commercial:write""#,
        r#"name="scopes" value="users:admin""#,
        r#"name="justification""#,
        r#"name="ip_allowlist""#,
        r#"name="blocked_providers""#,
        ">Register application<",
    ] {
        assert!(form.body.contains(field), "missing {field}");
    }

    let app_id = register(
        &mut browser,
        &[("name", "Order sync"), ("description", "Syncs orders")],
    )
    .await;
    let page = browser.get(&format!("/apps/{app_id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"data-testid="shown-once""#),
        "{}",
        page.body
    );
    assert!(flash(&page.body).contains("Order sync is registered"));
    let client_id = input_value(&page.body, "client-id").unwrap();
    let secret = input_value(&page.body, "secret-client-secret").unwrap();
    let api_key = input_value(&page.body, "secret-api-key").unwrap();
    assert!(secret.starts_with("pcs_"), "{secret}");
    assert!(api_key.starts_with("pak_"), "{api_key}");

    // A reload never shows them again; the client id stays.
    let again = browser.get(&format!("/apps/{app_id}")).await;
    assert!(!again.body.contains(r#"data-testid="shown-once""#));
    assert!(!again.body.contains(&secret));
    assert!(!again.body.contains(&api_key));
    assert_eq!(input_value(&again.body, "client-id").unwrap(), client_id);
    assert!(again.body.contains("Syncs orders"));
    let list = browser.get("/apps").await;
    assert!(list.body.contains(&format!(r#"href="/apps/{app_id}""#)));
    assert!(list.body.contains(&client_id));

    assert_token(&token(app, &client_id, &secret, None).await);

    // Rotation: add a secondary, both work.
    let page = browser
        .submit(&format!("/apps/{app_id}/secrets"), &[])
        .await;
    let second = input_value(&page.body, "secret-client-secret").unwrap();
    assert_ne!(second, secret);
    let ids = attr_values(&page.body, "data-secret-id");
    assert_eq!(ids.len(), 2, "{ids:?}");
    let (first_id, second_id) = (ids[0].clone(), ids[1].clone());
    assert!(row(&page.body, "data-secret-id", &second_id).contains(">Make primary<"));
    assert!(row(&page.body, "data-secret-id", &first_id).contains(">Revoke<"));
    assert!(
        !page.body.contains(">Add secondary secret<"),
        "two live at most"
    );
    assert_token(&token(app, &client_id, &secret, None).await);
    assert_token(&token(app, &client_id, &second, None).await);

    // Promote the new one, revoke the old one: the old one is refused at once.
    let page = browser
        .submit(&format!("/apps/{app_id}/secrets/{second_id}/primary"), &[])
        .await;
    assert!(
        flash(&page.body).contains("primary"),
        "{}",
        flash(&page.body)
    );
    assert_eq!(attr_values(&page.body, "data-secret-id")[0], second_id);
    let page = browser
        .submit(&format!("/apps/{app_id}/secrets/{first_id}/revoke"), &[])
        .await;
    assert!(
        flash(&page.body).contains("revoked"),
        "{}",
        flash(&page.body)
    );
    let res = token(app, &client_id, &secret, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    assert_eq!(res.json()["error"], "invalid_client");
    assert_token(&token(app, &client_id, &second, None).await);

    // The last live secret: refused without the confirmation, which the form offers.
    assert!(row(&page.body, "data-secret-id", &second_id).contains(r#"name="confirm_last""#));
    let page = browser
        .submit(&format!("/apps/{app_id}/secrets/{second_id}/revoke"), &[])
        .await;
    let message = flash(&page.body);
    assert!(message.contains("last live client secret"), "{message}");
    assert_token(&token(app, &client_id, &second, None).await);
    let page = browser
        .submit(
            &format!("/apps/{app_id}/secrets/{second_id}/revoke"),
            &[("confirm_last", "yes")],
        )
        .await;
    assert!(flash(&page.body).contains("revoked"));
    let res = token(app, &client_id, &second, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);

    // A new secondary brings the application back (shown once again).
    let page = browser
        .submit(&format!("/apps/{app_id}/secrets"), &[])
        .await;
    let third = input_value(&page.body, "secret-client-secret").unwrap();
    assert_token(&token(app, &client_id, &third, None).await);

    // API keys: the same trio.
    let page = browser
        .submit(&format!("/apps/{app_id}/api-keys"), &[])
        .await;
    let new_key = input_value(&page.body, "secret-api-key").unwrap();
    assert!(new_key.starts_with("pak_"));
    let keys = attr_values(&page.body, "data-api-key-id");
    assert_eq!(keys.len(), 2);
    let page = browser
        .submit(&format!("/apps/{app_id}/api-keys/{}/revoke", keys[0]), &[])
        .await;
    assert!(
        flash(&page.body).contains("API key is revoked"),
        "{}",
        flash(&page.body)
    );
    let page = browser
        .submit(&format!("/apps/{app_id}/api-keys/{}/revoke", keys[1]), &[])
        .await;
    assert!(
        flash(&page.body).contains("last live API key"),
        "{}",
        flash(&page.body)
    );
}

#[tokio::test]
async fn registration_shows_credentials_once_and_rotation_reaches_the_token_endpoint() {
    let app = TestApp::sqlite().await;
    register_rotate_and_revoke(&app).await;
}

#[tokio::test]
async fn registration_and_rotation_on_postgres() {
    let app = TestApp::postgres().await;
    register_rotate_and_revoke(&app).await;
}

#[tokio::test]
async fn scope_requests_are_decided_by_an_admin_and_reach_tokens() {
    let app = TestApp::sqlite().await;
    let admin = admin_ctx(&app).await;
    let (mut browser, _, _) = owner(&app, "owner@acme.test", "Acme Freight", Some(&admin)).await;

    // Scopes without a justification are refused with the reason, back on the form.
    let res = browser
        .post("/apps", &[("name", "Shop"), ("scopes", "commercial:read")])
        .await;
    assert_eq!(res.header("location"), "/apps/new");
    let page = browser.get("/apps/new").await;
    assert!(
        flash(&page.body).contains("Explain why"),
        "{}",
        flash(&page.body)
    );

    // Registered with one scope requested: pending, not granted.
    let app_id = register(
        &mut browser,
        &[
            ("name", "Shop"),
            ("scopes", "commercial:read"),
            ("justification", "We list orders for our customers"),
        ],
    )
    .await;
    let page = browser.get(&format!("/apps/{app_id}")).await;
    let client_id = input_value(&page.body, "client-id").unwrap();
    let secret = input_value(&page.body, "secret-client-secret").unwrap();
    let requests = attr_values(&page.body, "data-scope-request");
    assert_eq!(requests.len(), 1);
    assert!(row(&page.body, "data-scope-request", &requests[0]).contains(">pending<"));
    let list = browser.get("/apps").await;
    assert!(list.body.contains("none yet"));
    let res = token(&app, &client_id, &secret, Some("commercial%3Aread")).await;
    assert_eq!(res.json()["error"], "invalid_scope", "{}", res.body);

    // More scopes through the page's form (two at once), then one withdrawn.
    let page = browser.get(&format!("/apps/{app_id}")).await;
    assert!(page.body.contains(">Request scopes<"));
    assert!(page.body.contains(r#"name="reason""#));
    assert!(
        !page
            .body
            .contains(r#"name="scopes" value="commercial:read""#),
        "a pending scope is not offered again"
    );
    let page = browser
        .submit(
            &format!("/apps/{app_id}/scope-requests"),
            &[
                ("scopes", "commercial:write"),
                ("scopes", "users:admin"),
                ("reason", "We create orders"),
            ],
        )
        .await;
    assert!(
        flash(&page.body).contains("You requested"),
        "{}",
        flash(&page.body)
    );
    let requests = attr_values(&page.body, "data-scope-request");
    assert_eq!(requests.len(), 3);
    // Newest first: find the users:admin one and withdraw it.
    let admin_request = requests
        .iter()
        .find(|id| row(&page.body, "data-scope-request", id).contains("users:admin"))
        .unwrap()
        .clone();
    let page = browser
        .submit(
            &format!("/apps/{app_id}/scope-requests/{admin_request}/withdraw"),
            &[],
        )
        .await;
    assert!(row(&page.body, "data-scope-request", &admin_request).contains(">withdrawn<"));
    // Nothing requested: refused with a message.
    let page = browser
        .submit(
            &format!("/apps/{app_id}/scope-requests"),
            &[("reason", "x")],
        )
        .await;
    assert!(flash(&page.body).contains("Choose at least one scope"));

    // The admin approves one and denies the other with a note the partner sees.
    let read = requests
        .iter()
        .find(|id| row(&page.body, "data-scope-request", id).contains("commercial:read"))
        .unwrap();
    let write = requests
        .iter()
        .find(|id| row(&page.body, "data-scope-request", id).contains("commercial:write"))
        .unwrap();
    portico_core::apps::scope_requests::decide(&app.shared.db, &admin, read, true, "")
        .await
        .unwrap();
    portico_core::apps::scope_requests::decide(
        &app.shared.db,
        &admin,
        write,
        false,
        "Write access needs a production review first",
    )
    .await
    .unwrap();
    // What the admin's form handler does after a decision (the core call alone does not).
    app.tokens.forget_client(&client_id);
    let page = browser.get(&format!("/apps/{app_id}")).await;
    assert!(row(&page.body, "data-scope-request", read).contains(">approved<"));
    let denied = row(&page.body, "data-scope-request", write);
    assert!(denied.contains(">denied<"));
    assert!(denied.contains("Write access needs a production review first"));
    let res = token(&app, &client_id, &secret, Some("commercial%3Aread")).await;
    assert_token(&res);
    assert_eq!(res.json()["scope"], "commercial:read");
    assert!(
        app.tokens
            .verify(res.json()["access_token"].as_str().unwrap())
            .is_ok()
    );
}

#[tokio::test]
async fn settings_suspension_and_deletion() {
    let app = TestApp::sqlite().await;
    let admin = admin_ctx(&app).await;
    let (mut browser, _, _) = owner(&app, "owner@acme.test", "Acme Freight", Some(&admin)).await;
    let app_id = register(&mut browser, &[("name", "Shop")]).await;
    let page = browser.get(&format!("/apps/{app_id}")).await;
    let client_id = input_value(&page.body, "client-id").unwrap();
    let secret = input_value(&page.body, "secret-client-secret").unwrap();
    let base = format!("/apps/{app_id}");

    // Settings: saved and shown; a bad CIDR is refused with the reason.
    let page = browser
        .submit(
            &format!("{base}/settings"),
            &[
                ("description", "Our web shop"),
                ("ip_allowlist", "203.0.113.0/24\n198.51.100.7"),
                ("blocked_providers", "Slowco, Badco"),
                ("allowed_providers", ""),
                ("max_providers", "2"),
            ],
        )
        .await;
    assert!(
        flash(&page.body).contains("Settings saved"),
        "{}",
        flash(&page.body)
    );
    assert!(page.body.contains("203.0.113.0/24"));
    assert_eq!(
        input_value(&page.body, "blocked_providers").unwrap(),
        "Slowco, Badco"
    );
    assert_eq!(input_value(&page.body, "max_providers").unwrap(), "2");
    let page = browser
        .submit(
            &format!("{base}/settings"),
            &[("ip_allowlist", "not-a-network")],
        )
        .await;
    assert!(
        page.body.contains(r#"class="flash error""#),
        "{}",
        page.body
    );
    assert!(!flash(&page.body).is_empty());
    let page = browser
        .submit(&format!("{base}/settings"), &[("max_providers", "many")])
        .await;
    assert!(flash(&page.body).contains("whole number"));
    let ctx = ctx_of(&app, "owner@acme.test").await;
    let detail = manage::application_detail(&app.shared.db, &ctx, &app_id)
        .await
        .unwrap();
    assert_eq!(detail.summary.description, "Our web shop");
    assert_eq!(detail.summary.preferences.max_providers, Some(2));
    // Clear the allowlist again so the token calls below (from no address) pass.
    browser
        .submit(
            &format!("{base}/settings"),
            &[("description", "Our web shop")],
        )
        .await;

    // Suspend: the token endpoint refuses at once; reactivate: it works again.
    let page = browser
        .submit(&format!("{base}/suspend"), &[("reason", "pausing")])
        .await;
    assert!(
        flash(&page.body).contains("suspended"),
        "{}",
        flash(&page.body)
    );
    assert!(page.body.contains(">Reactivate application<"));
    let res = token(&app, &client_id, &secret, None).await;
    assert_eq!(res.json()["error"], "unauthorized_client", "{}", res.body);
    browser.submit(&format!("{base}/reactivate"), &[]).await;
    assert_token(&token(&app, &client_id, &secret, None).await);

    // Delete: the name must be typed.
    let page = browser
        .submit(&format!("{base}/delete"), &[("confirm_name", "shop")])
        .await;
    assert!(flash(&page.body).contains("Nothing was deleted"));
    assert_token(&token(&app, &client_id, &secret, None).await);
    let res = browser
        .post(&format!("{base}/delete"), &[("confirm_name", "Shop")])
        .await;
    assert_eq!(res.header("location"), "/apps");
    let list = browser.get("/apps").await;
    assert!(flash(&list.body).contains("Shop is deleted"));
    assert!(list.body.contains("No applications yet"));
    let res = token(&app, &client_id, &secret, None).await;
    assert_eq!(res.json()["error"], "invalid_client", "{}", res.body);
    let page = browser.get(&base).await;
    assert!(page.body.contains("Application not found"));
}

/// Every form route of an application, with the fields a valid submission carries.
fn every_post(
    app_id: &str,
    secret_id: &str,
    key_id: &str,
    request_id: &str,
) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let base = format!("/apps/{app_id}");
    vec![
        (format!("{base}/secrets"), vec![]),
        (format!("{base}/secrets/{secret_id}/primary"), vec![]),
        (
            format!("{base}/secrets/{secret_id}/revoke"),
            vec![("confirm_last", "yes")],
        ),
        (format!("{base}/api-keys"), vec![]),
        (format!("{base}/api-keys/{key_id}/primary"), vec![]),
        (
            format!("{base}/api-keys/{key_id}/revoke"),
            vec![("confirm_last", "yes")],
        ),
        (
            format!("{base}/scope-requests"),
            vec![("scopes", "commercial:write"), ("reason", "mine now")],
        ),
        (
            format!("{base}/scope-requests/{request_id}/withdraw"),
            vec![],
        ),
        (
            format!("{base}/settings"),
            vec![("description", "changed"), ("ip_allowlist", "192.0.2.1")],
        ),
        (format!("{base}/suspend"), vec![("reason", "x")]),
        (format!("{base}/reactivate"), vec![]),
        (format!("{base}/delete"), vec![("confirm_name", "Shop")]),
    ]
}

/// What must not change when a form is refused.
async fn snapshot(app: &TestApp, owner: &ActorContext, app_id: &str) -> String {
    let d = manage::application_detail(&app.shared.db, owner, app_id)
        .await
        .unwrap();
    format!(
        "{:?}|{:?}|{}|{}|{:?}|{:?}|{:?}",
        d.summary.app.status,
        d.summary.app.scopes,
        d.summary.description,
        d.summary.ip_allowlist,
        d.secrets,
        d.api_keys,
        d.scope_requests
            .iter()
            .map(|r| (r.id.clone(), r.status))
            .collect::<Vec<_>>()
    )
}

#[tokio::test]
async fn roles_and_tenants_are_enforced_on_every_form() {
    let app = TestApp::sqlite().await;
    let (mut owner_browser, owner_ctx, _) =
        owner(&app, "owner@acme.test", "Acme Freight", None).await;
    let list = owner_browser.get("/apps").await;
    assert!(
        list.body
            .contains("until an administrator approves your organisation"),
        "pending organisations are told"
    );
    let app_id = register(
        &mut owner_browser,
        &[
            ("name", "Shop"),
            ("scopes", "commercial:read"),
            ("justification", "orders"),
        ],
    )
    .await;
    let page = owner_browser.get(&format!("/apps/{app_id}")).await;
    let client_id = input_value(&page.body, "client-id").unwrap();
    let secret_id = attr_values(&page.body, "data-secret-id")[0].clone();
    let key_id = attr_values(&page.body, "data-api-key-id")[0].clone();
    let request_id = attr_values(&page.body, "data-scope-request")[0].clone();
    let before = snapshot(&app, &owner_ctx, &app_id).await;

    // A viewer sees the application but no form, and every POST is refused.
    let mut viewer = member(&app, &owner_ctx, "viewer@acme.test", MemberRole::Viewer).await;
    let list = viewer.get("/apps").await;
    assert!(list.body.contains(&client_id));
    assert!(!list.body.contains(r#"href="/apps/new""#));
    let page = viewer.get(&format!("/apps/{app_id}")).await;
    assert_eq!(input_value(&page.body, "client-id").unwrap(), client_id);
    assert!(
        page.body
            .contains("lets you see this application but not change it")
    );
    assert!(!page.body.contains(">Add secondary secret<"));
    assert!(!page.body.contains(">Revoke<"));
    assert!(!page.body.contains(">Request scopes<"));
    assert!(!page.body.contains(">Delete application<"));
    let form = viewer.get("/apps/new").await;
    assert!(!form.body.contains(">Register application<"));
    for (path, fields) in every_post(&app_id, &secret_id, &key_id, &request_id) {
        let page = viewer.submit(&path, &fields).await;
        let message = flash(&page.body);
        assert!(
            message.contains("(viewer) does not allow"),
            "{path}: {message}"
        );
    }
    let res = viewer.post("/apps", &[("name", "Viewer app")]).await;
    assert_eq!(res.header("location"), "/apps/new");
    assert_eq!(snapshot(&app, &owner_ctx, &app_id).await, before);

    // A developer manages credentials but cannot suspend or delete.
    let mut developer = member(&app, &owner_ctx, "dev@acme.test", MemberRole::Developer).await;
    let page = developer.get(&format!("/apps/{app_id}")).await;
    assert!(page.body.contains(">Add secondary secret<"));
    assert!(!page.body.contains(">Delete application<"));
    let page = developer
        .submit(
            &format!("/apps/{app_id}/delete"),
            &[("confirm_name", "Shop")],
        )
        .await;
    assert!(
        flash(&page.body).contains("(developer) does not allow"),
        "{}",
        flash(&page.body)
    );
    let page = developer
        .submit(&format!("/apps/{app_id}/suspend"), &[])
        .await;
    assert!(flash(&page.body).contains("(developer) does not allow"));
    assert_eq!(snapshot(&app, &owner_ctx, &app_id).await, before);

    // Another organisation sees nothing of it and changes nothing, route by route.
    let (mut stranger, _, _) = owner(&app, "owner@beta.test", "Beta Logistics", None).await;
    let page = stranger.get(&format!("/apps/{app_id}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Application not found"));
    assert!(!page.body.contains(&client_id));
    assert!(!page.body.contains(">Shop<"));
    assert!(!page.body.contains(&secret_id));
    let list = stranger.get("/apps").await;
    assert!(!list.body.contains(&client_id));
    for (path, fields) in every_post(&app_id, &secret_id, &key_id, &request_id) {
        let res = stranger.post(&path, &fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        let page = stranger.get(res.header("location")).await;
        assert!(!page.body.contains(&client_id), "{path}");
        let message = flash(&page.body);
        assert!(
            message.contains("No such application") || message.contains("No such scope request"),
            "{path}: {message}"
        );
    }
    // Nonsense ids are simply unknown.
    let res = stranger.post("/apps/..%2F..%2Fadmin/secrets", &[]).await;
    assert_eq!(res.header("location"), "/apps");
    assert_eq!(snapshot(&app, &owner_ctx, &app_id).await, before);

    // Not signed in: every form sends to the sign-in page.
    let mut anonymous = Browser::new(&app);
    for (path, fields) in every_post(&app_id, &secret_id, &key_id, &request_id) {
        let res = anonymous.post(&path, &fields).await;
        assert_eq!(res.header("location"), "/signin", "{path}");
    }
    let res = anonymous.post("/apps", &[("name", "x")]).await;
    assert_eq!(res.header("location"), "/signin");
    let page = anonymous.get(&format!("/apps/{app_id}")).await;
    assert!(!page.body.contains(&client_id));
    assert_eq!(snapshot(&app, &owner_ctx, &app_id).await, before);

    // The owner still can.
    let page = owner_browser
        .submit(&format!("/apps/{app_id}/secrets"), &[])
        .await;
    assert!(page.body.contains(r#"data-testid="shown-once""#));
}

#[tokio::test]
async fn users_without_an_organisation_are_sent_to_create_one() {
    let app = TestApp::sqlite().await;
    let mut browser = Browser::sign_up(&app, "solo@example.test").await;
    let page = browser.get("/apps").await;
    assert!(page.body.contains(r#"href="/org""#));
    assert!(page.body.contains("Create your organisation first"));
    let res = browser.post("/apps", &[("name", "Lonely")]).await;
    assert_eq!(res.header("location"), "/apps/new");
    let page = browser.get("/apps/new").await;
    assert!(flash(&page.body).contains("organisation"), "{}", page.body);
}

#[tokio::test]
async fn forms_without_the_csrf_token_or_from_another_origin_are_refused() {
    let app = TestApp::sqlite().await;
    let (mut browser, ctx, org) = owner(&app, "owner@acme.test", "Acme Freight", None).await;
    browser.get("/apps/new").await;
    let res = browser.post_raw("/apps", &[("name", "Forged")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = browser
        .post_raw("/apps", &[("name", "Forged"), ("csrf_token", "wrong")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // A cross-site post carrying a valid session and token is still refused by its Origin.
    let page = app.get_portal("/signin").await;
    let cookie = page
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portico_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = input_value(
        &page
            .body
            .replace(r#"type="hidden" name="csrf_token""#, r#"id="csrf""#),
        "csrf",
    )
    .unwrap();
    let body = format!("csrf_token={csrf}&name=Forged");
    let request = |origin: &str| {
        Request::post("/apps")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &cookie)
            .header("origin", origin)
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let res = app.portal(request("http://evil.example")).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // The same request from the portal's own origin gets past CSRF (to the sign-in redirect).
    let res = app.portal(request("http://portal.test")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        manage::list_applications(&app.shared.db, &ctx, &org.id)
            .await
            .unwrap()
            .is_empty()
    );
}
