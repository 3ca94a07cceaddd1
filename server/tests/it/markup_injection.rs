//! Markup injection, property style: a fixed list of hostile strings, each stored through the
//! real form handlers (with their CSRF tokens) in every partner- and admin-controlled text field,
//! then every page that shows the field rendered (as the owner, a member, the admin, a
//! visitor) and parsed with html5ever (`scraper`). On every page, `<head>` included: no element
//! or attribute a payload would create exists, the `<title>` is the expected text, and each
//! stored value is there as text (so a field that is simply not shown cannot pass).
//!
//! A value is stored as `⟦code⟧ payload`: the code names the field in failure messages and tells
//! which field an injected element came from (the last code before it in the document).
//! Validators that refuse a payload must say so in a one-time message (not a 500), and the
//! page the refusal leads to, with what was typed, is checked like any other.
//! `MARKUP_INJECTION_DUMP=1` prints which fields each page shows.

use crate::common::{Browser, Engine, TestApp, TestResponse, on_both_engines};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use scraper::{Html, Node};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const ADMIN: &str = "root@portico.test";
const OWNER: &str = "owner@acme.test";

/// The hostile strings. Each is at most 95 characters so that, with its field code, it fits the
/// shortest field (names: 100 characters).
const PAYLOADS: [&str; 7] = [
    // The finding: out of `<title>` (and any raw-text element) into a script and an image.
    r#"</title></textarea></script><script>alert(104)</script>"><img src=x onerror=alert(104)>"#,
    // A redirect, harmful even in `<head>`.
    r#"<meta http-equiv="refresh" content="0;url=https://evil.example/">"#,
    // Out of a double-quoted attribute into an element.
    r#"'"><svg onload=alert(1)>"#,
    // Entities must stay literal text (no double decoding); comment openers and closers.
    r#"&lt;script&gt;alert(4)&lt;/script&gt; &amp;lt; <!-- --!> --> <img src=x onerror=alert(4)>"#,
    // Out of a single-quoted attribute.
    r#"' onmouseover='alert(5)' x='"#,
    // Single and double quotes, both breaking out of an attribute into new ones.
    r#"x' autofocus onfocus='alert(6)' y="1" onfocus="alert(6)" z='"#,
    // Links, frames and styles.
    r#"<a href="javascript:alert(7)">x</a><iframe src=//evil.example></iframe><style>*{}</style>"#,
];

/// Every field a payload goes into: (code, what it is).
const FIELDS: [(&str, &str); 41] = [
    ("ON", "owner display name (sign-up)"),
    ("MN", "member display name (sign-up)"),
    ("em", "member email (sign-up) = invitation email"),
    ("LN", "organisation legal name"),
    ("oc", "organisation contact email"),
    ("AP", "admin note approving the organisation"),
    ("L2", "legal name of a rejected organisation"),
    ("RJ", "admin note rejecting an organisation"),
    ("L3", "legal name of a suspended organisation"),
    ("SU", "admin note suspending an organisation"),
    ("AN", "application name"),
    ("AD", "application description (registration)"),
    ("JU", "scope-request justification (registration)"),
    ("SR", "scope-request reason (application page)"),
    ("DA", "admin note approving a scope request"),
    ("DD", "admin note denying a scope request"),
    ("RV", "admin note revoking a granted scope"),
    ("AS", "admin reason suspending an application"),
    ("BN", "second application name"),
    ("BD", "application description (settings)"),
    ("BP", "blocked providers (settings)"),
    ("AL", "allowed providers (settings)"),
    ("PS", "partner reason suspending an application"),
    ("WD", "webhook endpoint description"),
    ("WU", "webhook endpoint URL (path)"),
    ("IT", "incident title"),
    ("IM", "incident first message"),
    ("IU", "incident update message"),
    ("IR", "incident resolution message"),
    ("MT", "maintenance title"),
    ("MM", "maintenance message"),
    ("IP", "IP allowlist (refused, typed back)"),
    ("SI", "sign-in email (refused, typed back)"),
    ("SE", "sign-up email (refused, typed back)"),
    ("CE", "organisation contact email with whitespace (refused)"),
    ("IE", "invitation email with whitespace (refused)"),
    ("UR", "webhook URL that is not a URL (refused, typed back)"),
    ("IX", "incident impact (refused)"),
    (
        "QS",
        "query-string filters typed back (audit, request log, join, search)",
    ),
    ("TK", "\"Try it\" Idempotency-Key header (typed back)"),
    (
        "TB",
        "\"Try it\" request body that is not JSON (refused, typed back)",
    ),
];

fn field_name(code: &str) -> &'static str {
    FIELDS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("(unknown field)", |(_, name)| name)
}

/// The value stored in field `code` for `payload`.
fn tagged(code: &str, payload: &str) -> String {
    format!("⟦{code}⟧ {payload}")
}

/// An email address carrying `payload` as far as the validator allows (no whitespace: each
/// becomes `/`, which also separates attributes inside a tag), as stored (lower case).
fn email_with(code: &str, payload: &str) -> String {
    let squashed: String = payload
        .chars()
        .map(|c| if c.is_whitespace() { '/' } else { c })
        .collect();
    format!("⟦{code}⟧{squashed}@evil.test").to_ascii_lowercase()
}

/// What one run (one payload) found wrong; all runs report together at the end.
struct Findings {
    payload: usize,
    problems: Vec<String>,
}

impl Findings {
    fn fail(&mut self, problem: &str) {
        self.problems
            .push(format!("payload #{}: {problem}", self.payload));
    }
}

/// A page as a user saw it.
struct Seen {
    label: String,
    res: TestResponse,
}

/// Everything a document contains as text: text nodes and attribute values.
fn texts(doc: &Html) -> Vec<String> {
    let mut out = Vec::new();
    for node in doc.tree.root().descendants() {
        match node.value() {
            // Script data (Leptos' serialized resources) is not shown.
            Node::Text(text)
                if !node
                    .parent()
                    .and_then(|p| p.value().as_element())
                    .is_some_and(|p| matches!(p.name(), "script" | "style")) =>
            {
                out.push(text.to_string());
            }
            Node::Element(element) => {
                out.extend(element.attrs().map(|(_, value)| value.to_owned()));
            }
            _ => {}
        }
    }
    out
}

/// `value` as some page may show it: verbatim, inside JSON (audit details) or inside Rust's
/// `{:?}` quoting (some one-time messages).
fn renderings(value: &str) -> [String; 3] {
    let json = serde_json::to_string(value).unwrap_or_default();
    let debug = format!("{value:?}");
    [
        value.to_owned(),
        json[1..json.len() - 1].to_owned(),
        debug[1..debug.len() - 1].to_owned(),
    ]
}

/// The field code of the last `⟦code⟧` in `text`.
fn last_code(text: &str) -> Option<String> {
    let start = text.rfind('⟦')? + '⟦'.len_utf8();
    let len = text[start..].find('⟧')?;
    Some(text[start..start + len].to_owned())
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// What a payload would have made of the page, if the element `name` (with `attrs`, its text
/// and where it is) is something only a payload makes: the element or attribute, in words.
fn injected(name: &str, attrs: &[(&str, &str)], text: &str, in_head: bool) -> Option<String> {
    for (attr, value) in attrs {
        let attr_lower = attr.to_ascii_lowercase();
        if attr_lower.starts_with("on") {
            return Some(format!("an event-handler attribute {attr}={value:?}"));
        }
        if attr_lower.contains(['\'', '"', '<', '>', '(', ')', '/', '=']) {
            return Some(format!("an attribute named {attr:?} (a broken-out quote)"));
        }
        if value.trim().to_ascii_lowercase().starts_with("javascript:") {
            return Some(format!("a javascript: URL in {attr}"));
        }
    }
    let attr = |wanted: &str| {
        attrs
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(wanted))
            .map(|(_, v)| *v)
    };
    match name {
        // Leptos' own inline scripts carry the response's CSP nonce; a payload's cannot.
        "script" if attr("nonce").is_none() && !attr("src").is_some_and(|s| s.starts_with('/')) => {
            Some(format!("a script element ({:?})", shorten(text, 60)))
        }
        "img" if attr("src") == Some("x") => Some("an <img src=x>".into()),
        "meta" if attr("http-equiv").is_some() => Some("a <meta http-equiv>".into()),
        "svg" if attr("role").is_none() => Some("an <svg> the page did not draw".into()),
        "iframe" | "frame" | "frameset" | "object" | "embed" | "base" | "style" => {
            Some(format!("a <{name}> element"))
        }
        "a" if text == "x" => Some("a payload's <a> element".into()),
        "title" if !in_head => Some("a <title> outside <head> (outside SVG)".into()),
        _ => None,
    }
}

/// Everything wrong with `html` as markup: elements and attributes from a payload, comments
/// swallowing one, and a `<head>` with anything but its one title, metadata, links and scripts.
fn markup_problems(html: &Html, is_html: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut last_field: Option<String> = None;
    let from = |last: &Option<String>| match last {
        Some(code) => format!("from field {} (⟦{code}⟧)", field_name(code)),
        None => "before any field's value".to_owned(),
    };
    for node in html.tree.root().descendants() {
        match node.value() {
            Node::Text(text) => {
                if let Some(code) = last_code(text) {
                    last_field = Some(code);
                }
            }
            Node::Comment(comment) if comment.contains('⟦') || comment.contains("alert(") => {
                problems.push(format!(
                    "a comment swallowed a value {}: <!--{}-->",
                    from(&last_field),
                    shorten(comment, 80)
                ));
            }
            Node::Element(element) => {
                let attrs: Vec<(&str, &str)> = element.attrs().collect();
                for (_, value) in &attrs {
                    if let Some(code) = last_code(value) {
                        last_field = Some(code);
                    }
                }
                let in_head = node
                    .ancestors()
                    .filter_map(|a| a.value().as_element())
                    .any(|a| a.name() == "head");
                let in_svg = node
                    .ancestors()
                    .filter_map(|a| a.value().as_element())
                    .any(|a| a.name() == "svg");
                let text: String = node
                    .descendants()
                    .filter_map(|d| d.value().as_text().map(|t| t.to_string()))
                    .collect();
                let name = element.name();
                let in_feed = !is_html && name == "title";
                if in_svg && name == "title" || in_feed {
                    continue;
                }
                if let Some(what) = injected(name, &attrs, &text, in_head) {
                    let outer = scraper::ElementRef::wrap(node).map(|e| e.html());
                    problems.push(format!(
                        "{what} {}: {}",
                        from(&last_field),
                        shorten(&outer.unwrap_or_default(), 120)
                    ));
                }
                if is_html
                    && in_head
                    && node
                        .parent()
                        .and_then(|p| p.value().as_element().map(|e| e.name()))
                        == Some("head")
                    && !matches!(name, "meta" | "title" | "link" | "script")
                {
                    problems.push(format!("a <{name}> in <head> {}", from(&last_field)));
                }
            }
            _ => {}
        }
    }
    if is_html {
        let titles: Vec<_> = html
            .tree
            .root()
            .descendants()
            .filter(|n| n.value().as_element().is_some_and(|e| e.name() == "title"))
            .filter(|n| {
                !n.ancestors()
                    .filter_map(|a| a.value().as_element())
                    .any(|a| a.name() == "svg")
            })
            .collect();
        if titles.len() != 1 {
            problems.push(format!(
                "{} <title> elements outside SVG, not one",
                titles.len()
            ));
        }
    }
    problems
}

/// The text of the page's `<title>` in `<head>`.
fn head_title(html: &Html) -> Option<String> {
    let selector = scraper::Selector::parse("head > title").ok()?;
    html.select(&selector)
        .next()
        .map(|t| t.text().collect::<String>())
}

/// Which stored values `html` shows as text.
fn shown(html: &Html, stored: &BTreeMap<&'static str, String>) -> Vec<&'static str> {
    let texts = texts(html);
    stored
        .iter()
        .filter(|(_, value)| {
            renderings(value)
                .iter()
                .any(|r| texts.iter().any(|t| t.contains(r.as_str())))
        })
        .map(|(code, _)| *code)
        .collect()
}

/// The one-time message of a page: (is an error, text).
fn flash(html: &Html) -> Option<(bool, String)> {
    let selector = scraper::Selector::parse(r#"[data-testid="flash"]"#).ok()?;
    html.select(&selector).next().map(|p| {
        let error = p.value().classes().any(|c| c == "error");
        (error, p.text().collect::<String>())
    })
}

/// One run: a fresh portal, `payload` stored everywhere, every page checked.
struct Run {
    payload: &'static str,
    stored: BTreeMap<&'static str, String>,
    findings: Findings,
    pages: usize,
}

impl Run {
    fn value(&self, code: &'static str) -> String {
        run_value(code, self.payload)
    }

    /// Checks a page's markup (any page, even one that shows no stored value).
    fn check_markup(&mut self, seen: &Seen) -> Html {
        self.pages += 1;
        if seen.res.status.is_server_error() {
            self.findings.fail(&format!(
                "{}: answered {} ({})",
                seen.label,
                seen.res.status,
                shorten(&seen.res.body, 200)
            ));
        }
        let html = Html::parse_document(&seen.res.body);
        for problem in markup_problems(&html, true) {
            self.findings.fail(&format!("{}: {problem}", seen.label));
        }
        html
    }

    /// Checks a page: its markup, its title (when given), and that every field in `fields`
    /// is on it as text.
    fn check(&mut self, seen: &Seen, title: Option<&str>, fields: &[&'static str]) {
        let html = self.check_markup(seen);
        if seen.res.status != StatusCode::OK && seen.res.status != StatusCode::FORBIDDEN {
            self.findings.fail(&format!(
                "{}: answered {}, not a page",
                seen.label, seen.res.status
            ));
        }
        if let Some(title) = title {
            let got = head_title(&html);
            if got.as_deref() != Some(title) {
                self.findings.fail(&format!(
                    "{}: the <title> text is {got:?}, expected {title:?}",
                    seen.label
                ));
            }
        }
        self.check_shown(&seen.label, &html, fields);
    }

    /// Checks that every field in `fields` is on the page as text.
    fn check_shown(&mut self, label: &str, html: &Html, fields: &[&'static str]) {
        let on_page = shown(html, &self.stored);
        for code in fields {
            if !self.stored.contains_key(code) {
                self.findings.fail(&format!(
                    "{label}: field {} was never stored",
                    field_name(code)
                ));
            } else if !on_page.contains(code) {
                self.findings.fail(&format!(
                    "{label}: field {} (⟦{code}⟧) is not on the page as text",
                    field_name(code)
                ));
            }
        }
        if std::env::var_os("MARKUP_INJECTION_DUMP").is_some() {
            eprintln!("{label}: {on_page:?} title {:?}", head_title(html));
        }
    }

    async fn get(&mut self, browser: &mut Browser<'_>, who: &str, path: &str) -> Seen {
        let res = browser.get(path).await;
        Seen {
            label: format!("GET {path} as {who}"),
            res,
        }
    }

    /// Posts a form and follows its 303; the page it led to is checked for markup and must show
    /// the fields in `shows` (a refused form's draft). Returns where it led and that page.
    async fn post(
        &mut self,
        browser: &mut Browser<'_>,
        who: &str,
        path: &str,
        fields: &[(&str, &str)],
        shows: &[&'static str],
    ) -> Landing {
        let res = browser.post(path, fields).await;
        if res.status != StatusCode::SEE_OTHER {
            self.findings.fail(&format!(
                "POST {path} as {who}: answered {} instead of a redirect: {}",
                res.status,
                shorten(&res.body, 200)
            ));
            return Landing {
                to: String::new(),
                flash: None,
                texts: Vec::new(),
            };
        }
        let to = res.header("location").to_owned();
        let page = browser.get(&to).await;
        let seen = Seen {
            label: format!("GET {to} as {who} after POST {path}"),
            res: page,
        };
        let html = self.check_markup(&seen);
        self.check_shown(&seen.label, &html, shows);
        Landing {
            to,
            flash: flash(&html),
            texts: texts(&html),
        }
    }

    /// Stores the values of `codes` through a form: the handler must accept them.
    async fn store(
        &mut self,
        browser: &mut Browser<'_>,
        who: &str,
        path: &str,
        fields: &[(&str, &str)],
        codes: &[&'static str],
    ) -> Landing {
        let landing = self.post(browser, who, path, fields, &[]).await;
        match &landing.flash {
            Some((true, message)) => self.findings.fail(&format!(
                "POST {path} as {who}: {} refused: {message}",
                codes
                    .iter()
                    .map(|c| field_name(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => {
                for code in codes {
                    let value = self.value(code);
                    self.stored.insert(code, value);
                }
            }
        }
        landing
    }

    /// Posts a form that must be refused: a clear one-time error message (not a 500, not the
    /// generic "went wrong"); the page it leads to must show the typed `draft` fields again.
    async fn refused(
        &mut self,
        browser: &mut Browser<'_>,
        who: &str,
        (path, fields): (&str, &[(&str, &str)]),
        what: &str,
        draft: &[&'static str],
    ) {
        let typed: Vec<&'static str> = draft
            .iter()
            .copied()
            .filter(|code| !self.stored.contains_key(code))
            .collect();
        for code in &typed {
            let value = self.value(code);
            self.stored.insert(code, value);
        }
        let landing = self.post(browser, who, path, fields, draft).await;
        for code in typed {
            self.stored.remove(code);
        }
        match landing.flash {
            Some((true, message)) if !message.contains("went wrong") && !message.is_empty() => {}
            other => self.findings.fail(&format!(
                "POST {path} as {who}: {what} should be refused with a clear message, got {other:?}"
            )),
        }
    }
}

/// Where a form led.
struct Landing {
    to: String,
    flash: Option<(bool, String)>,
    /// The text of the page it led to.
    texts: Vec<String>,
}

async fn scalar(app: &TestApp, sql: &str, bind: &[&str]) -> String {
    let mut query = sqlx::query_scalar::<_, String>(sql);
    for b in bind {
        query = query.bind(*b);
    }
    query
        .fetch_one(app.shared.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A `datetime-local` value (UTC) `hours` from now.
fn local_time(hours: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(portico_core::clock::now() + hours * 3600)
        .unwrap();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// A new account through the sign-up form; must succeed.
async fn sign_up<'a>(
    run: &mut Run,
    app: &'a TestApp,
    display_name: &str,
    email: &str,
) -> Browser<'a> {
    let mut browser = Browser::new(app);
    let fields = [
        ("display_name", display_name),
        ("email", email),
        ("password", crate::common::TEST_PASSWORD),
    ];
    let landing = run
        .post(&mut browser, "a visitor", "/signup", &fields, &[])
        .await;
    assert_eq!(
        landing.to, "/org",
        "sign-up of {email:?} refused: {:?}",
        landing.flash
    );
    browser
}

/// The partner id (organisation) of the account `email`.
async fn org_of(app: &TestApp, email: &str) -> String {
    scalar(
        app,
        "SELECT partner_id FROM users WHERE email = $1",
        &[email],
    )
    .await
}

/// The pending request for `scope` of application `app_id`.
async fn pending_request(app: &TestApp, app_id: &str, scope: &str) -> String {
    scalar(
        app,
        "SELECT id FROM scope_requests WHERE application_id = $1 AND scope = $2 \
         AND status = 'pending'",
        &[app_id, scope],
    )
    .await
}

/// Three calls of application `app_id` through the gateway, once they are in the request log;
/// the request id of the last one.
async fn gateway_calls(app: &TestApp, app_id: &str) -> String {
    let application = {
        let mut conn = app.shared.db.pool().acquire().await.unwrap();
        portico_core::apps::applications::find_by_id(&mut conn, app_id)
            .await
            .unwrap()
            .unwrap()
    };
    let token = app.tokens.issue(&application, None).unwrap().access_token;
    let mut request_id = String::new();
    for _ in 0..3 {
        let res = app
            .sandbox(
                Request::get("/v2/commercial/products")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        request_id = res.header("x-request-id").to_owned();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM request_log_entry")
            .fetch_one(app.shared.db.pool())
            .await
            .unwrap();
        if n >= 3 {
            return request_id;
        }
        assert!(Instant::now() < deadline, "the calls were not logged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Owned form fields as the `&[(&str, &str)]` the browser posts.
fn borrowed<'f>(fields: &'f [(&'static str, String)]) -> Vec<(&'static str, &'f str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn one_payload(app: &TestApp, index: usize, payload: &'static str) -> (Findings, usize) {
    let mut run = Run {
        payload,
        stored: BTreeMap::new(),
        findings: Findings {
            payload: index,
            problems: Vec::new(),
        },
        pages: 0,
    };
    let v = |code: &'static str| run_value(code, payload);
    let mut admin = Browser::admin(app, ADMIN).await;
    let mut visitor = Browser::new(app);

    // Refused sign-in and sign-up (an email with whitespace): what was typed comes back.
    let fields = [("email", v("SI")), ("password", "wrong password!".into())];
    run.refused(
        &mut visitor,
        "a visitor",
        ("/signin", &borrowed(&fields)),
        "a sign-in with a markup email",
        &["SI"],
    )
    .await;
    let fields = [
        ("display_name", v("ON")),
        ("email", v("SE")),
        ("password", crate::common::TEST_PASSWORD.into()),
    ];
    run.refused(
        &mut visitor,
        "a visitor",
        ("/signup", &borrowed(&fields)),
        "a sign-up with a markup email",
        &["ON", "SE"],
    )
    .await;

    // The owner: display name, organisation (a contact email with whitespace refused first).
    let mut owner = sign_up(&mut run, app, &v("ON"), OWNER).await;
    run.stored.insert("ON", v("ON"));
    let org_form = |email: String| {
        [
            ("legal_name", v("LN")),
            ("contact_email", email),
            ("attested", "on".to_owned()),
        ]
    };
    run.refused(
        &mut owner,
        "the owner",
        ("/org", &borrowed(&org_form(v("CE")))),
        "a contact email with whitespace",
        &[],
    )
    .await;
    run.store(
        &mut owner,
        "the owner",
        "/org",
        &borrowed(&org_form(v("oc"))),
        &["LN", "oc"],
    )
    .await;

    // Two more organisations: one rejected, one approved then suspended, with notes.
    for (email, code) in [("second@other.test", "L2"), ("third@other.test", "L3")] {
        let mut other = sign_up(&mut run, app, "Other Owner", email).await;
        let fields = [
            ("legal_name", v(code)),
            ("contact_email", email.to_owned()),
            ("attested", "on".to_owned()),
        ];
        run.store(&mut other, email, "/org", &borrowed(&fields), &[code])
            .await;
    }
    let (org1, org2, org3) = (
        org_of(app, OWNER).await,
        org_of(app, "second@other.test").await,
        org_of(app, "third@other.test").await,
    );
    admin.get("/admin/partners").await;
    let decisions = [
        (&org1, "approve", v("AP"), Some("AP")),
        (&org2, "reject", v("RJ"), Some("RJ")),
        (&org3, "approve", String::new(), None),
        (&org3, "suspend", v("SU"), Some("SU")),
    ];
    for (org, decision, note, code) in &decisions {
        let path = format!("/admin/partners/{org}/{decision}");
        let codes: Vec<&'static str> = code.iter().copied().collect();
        run.store(&mut admin, "the admin", &path, &[("note", note)], &codes)
            .await;
    }

    // An invitation to a markup email address (refused with whitespace), accepted by a member
    // with a markup display name whose account has that address.
    let invite = |email: String| [("email", email), ("role", "developer".to_owned())];
    run.refused(
        &mut owner,
        "the owner",
        ("/org/invitations", &borrowed(&invite(v("IE")))),
        "an invitation email with whitespace",
        &[],
    )
    .await;
    let landing = run
        .store(
            &mut owner,
            "the owner",
            "/org/invitations",
            &borrowed(&invite(v("em"))),
            &["em"],
        )
        .await;
    let link = landing
        .texts
        .iter()
        .find(|t| t.contains("/join?token="))
        .expect("the invitation link is shown once");
    let token = link.split("/join?token=").nth(1).unwrap().to_owned();
    let mut member = sign_up(&mut run, app, &v("MN"), &v("em")).await;
    run.stored.insert("MN", v("MN"));
    let seen = run
        .get(&mut member, "the member", &format!("/join?token={token}"))
        .await;
    run.check(&seen, Some("Join an organisation · Portico"), &["em"]);
    run.store(
        &mut member,
        "the member",
        "/join",
        &[("token", &token)],
        &[],
    )
    .await;

    // Application A: a refused registration first (the allowlist), whose draft comes back.
    owner.get("/apps/new").await;
    let register = |ip: String| {
        [
            ("name", v("AN")),
            ("description", v("AD")),
            ("scopes", "commercial:read".to_owned()),
            ("scopes", "commercial:write".to_owned()),
            ("scopes", "users:admin".to_owned()),
            ("justification", v("JU")),
            ("ip_allowlist", ip),
        ]
    };
    run.refused(
        &mut owner,
        "the owner",
        ("/apps", &borrowed(&register(v("IP")))),
        "an IP allowlist of markup",
        &["AN", "AD", "JU", "IP"],
    )
    .await;
    let landing = run
        .store(
            &mut owner,
            "the owner",
            "/apps",
            &borrowed(&register(String::new())),
            &["AN", "AD", "JU"],
        )
        .await;
    let app_a = landing.to.trim_start_matches("/apps/").to_owned();
    assert!(app_a.starts_with("app_"), "registered at {}", landing.to);
    let a = format!("/apps/{app_a}");

    // Application B: settings (a refused allowlist first), suspended by its owner, a deletion
    // refused without its name.
    let landing = run
        .store(
            &mut owner,
            "the owner",
            "/apps",
            &[("name", &v("BN"))],
            &["BN"],
        )
        .await;
    let b = landing.to;
    let settings = |ip: String| {
        [
            ("description", v("BD")),
            ("ip_allowlist", ip),
            ("blocked_providers", v("BP")),
            ("allowed_providers", v("AL")),
            ("max_providers", String::new()),
        ]
    };
    run.refused(
        &mut owner,
        "the owner",
        (&format!("{b}/settings"), &borrowed(&settings(v("IP")))),
        "an IP allowlist of markup",
        &[],
    )
    .await;
    run.store(
        &mut owner,
        "the owner",
        &format!("{b}/settings"),
        &borrowed(&settings(String::new())),
        &["BD", "BP", "AL"],
    )
    .await;
    run.store(
        &mut owner,
        "the owner",
        &format!("{b}/suspend"),
        &[("reason", &v("PS"))],
        &["PS"],
    )
    .await;
    run.refused(
        &mut owner,
        "the owner",
        (&format!("{b}/delete"), &[("confirm_name", "not its name")]),
        "a deletion without the name",
        &["BN"],
    )
    .await;

    // Scope requests: one approved, one denied (with notes), one asked again with a reason.
    let read = pending_request(app, &app_a, "commercial:read").await;
    let write = pending_request(app, &app_a, "commercial:write").await;
    admin.get("/admin/scope-requests").await;
    run.store(
        &mut admin,
        "the admin",
        &format!("/admin/scope-requests/{read}/decide"),
        &[("decision", "approve"), ("note", &v("DA"))],
        &["DA"],
    )
    .await;
    // (The revocation below replaces this note.)
    let seen = run
        .get(&mut admin, "the admin", "/admin/scope-requests")
        .await;
    run.check(
        &seen,
        admin_title("Scope requests").as_deref(),
        &["AN", "DA", "JU", "LN"],
    );
    run.store(
        &mut admin,
        "the admin",
        &format!("/admin/scope-requests/{write}/decide"),
        &[("decision", "deny"), ("note", &v("DD"))],
        &["DD"],
    )
    .await;
    run.store(
        &mut owner,
        "the owner",
        &format!("{a}/scope-requests"),
        &[("scopes", "commercial:write"), ("reason", &v("SR"))],
        &["SR"],
    )
    .await;

    // A webhook endpoint: a markup URL is refused (its draft comes back); one with markup in
    // its path is stored as the URL parser writes it.
    let endpoint = |url: String| {
        [
            ("url", url),
            ("description", v("WD")),
            ("event_types", "order.created".to_owned()),
        ]
    };
    run.refused(
        &mut owner,
        "the owner",
        (&format!("{a}/webhooks"), &borrowed(&endpoint(v("UR")))),
        "a webhook URL that is not a URL",
        &["UR", "WD"],
    )
    .await;
    let typed_url = format!("http://127.0.0.1:9/{}", v("WU"));
    let url = url::Url::parse(&typed_url).unwrap().to_string();
    let landing = run
        .store(
            &mut owner,
            "the owner",
            &format!("{a}/webhooks"),
            &borrowed(&endpoint(typed_url)),
            &["WD"],
        )
        .await;
    run.stored.insert("WU", url.clone());
    let endpoint_page = landing.to;
    assert!(
        endpoint_page.starts_with(&format!("{a}/webhooks/")),
        "{endpoint_page}"
    );

    // "Try it" on an operation's page lists the applications by name; a body that is not JSON
    // is refused and comes back in the form with the other parameters.
    let seen = run
        .get(&mut owner, "the owner", "/reference/v2/CreateOrder")
        .await;
    run.check(&seen, None, &["AN", "BN"]);
    let try_it = [
        ("application", app_a.clone()),
        ("header.Idempotency-Key", v("TK")),
        ("body", v("TB")),
    ];
    run.refused(
        &mut owner,
        "the owner",
        ("/reference/v2/CreateOrder/try", &borrowed(&try_it)),
        "a request body that is not JSON",
        &["AN", "BN", "TK", "TB"],
    )
    .await;

    // Traffic: a small quota (so A is at it), three calls through the gateway.
    admin.get("/admin/applications").await;
    run.store(
        &mut admin,
        "the admin",
        &format!("/admin/applications/{app_a}/plan"),
        &[("plan", ""), ("quota", "3")],
        &[],
    )
    .await;
    let request_id = gateway_calls(app, &app_a).await;

    // The admin revokes the granted scope and suspends the application, with reasons.
    run.store(
        &mut admin,
        "the admin",
        &format!("/admin/applications/{app_a}/scopes/revoke"),
        &[("scope", "commercial:read"), ("note", &v("RV"))],
        &["RV"],
    )
    .await;
    run.store(
        &mut admin,
        "the admin",
        &format!("/admin/applications/{app_a}/suspend"),
        &[("reason", &v("AS"))],
        &["AS"],
    )
    .await;

    // Incidents: refused forms keep what was typed; an incident through an update to its
    // resolution; scheduled maintenance.
    admin.get("/admin/incidents").await;
    let incident_form = |impact: String| {
        [
            ("kind", "incident".to_owned()),
            ("title", v("IT")),
            ("impact", impact),
            ("status", "investigating".to_owned()),
            ("message", v("IM")),
        ]
    };
    run.refused(
        &mut admin,
        "the admin",
        ("/admin/incidents", &borrowed(&incident_form(v("IX")))),
        "an impact that is markup",
        &["IT", "IM"],
    )
    .await;
    let incident = run
        .store(
            &mut admin,
            "the admin",
            "/admin/incidents",
            &borrowed(&incident_form("minor".into())),
            &["IT", "IM"],
        )
        .await
        .to;
    run.refused(
        &mut admin,
        "the admin",
        (
            &format!("{incident}/updates"),
            &[("status", ""), ("message", &v("IU"))],
        ),
        "an update without a status",
        &["IU"],
    )
    .await;
    run.store(
        &mut admin,
        "the admin",
        &format!("{incident}/updates"),
        &[("status", "identified"), ("message", &v("IU"))],
        &["IU"],
    )
    .await;
    run.store(
        &mut admin,
        "the admin",
        &format!("{incident}/resolve"),
        &[("message", &v("IR"))],
        &["IR"],
    )
    .await;
    let maintenance = [
        ("kind", "maintenance".to_owned()),
        ("title", v("MT")),
        ("impact", "none".to_owned()),
        ("status", "scheduled".to_owned()),
        ("message", v("MM")),
        ("starts_at", local_time(24)),
        ("ends_at", local_time(26)),
    ];
    let maintenance = run
        .store(
            &mut admin,
            "the admin",
            "/admin/incidents",
            &borrowed(&maintenance),
            &["MT", "MM"],
        )
        .await
        .to;

    // Every page that shows a value, as each kind of user.
    let an = v("AN");
    let title = |page: &str| Some(format!("{page} · Portico"));
    let pages: Vec<(&str, String, Option<String>, &[&'static str])> = vec![
        (
            "owner",
            "/apps".into(),
            title("Applications"),
            &["AN", "BN", "LN"],
        ),
        (
            "owner",
            a.clone(),
            title(&an),
            &["AN", "AD", "JU", "SR", "DD", "RV", "WU", "LN"],
        ),
        (
            "owner",
            b.clone(),
            title(&v("BN")),
            &["BN", "BD", "BP", "AL"],
        ),
        (
            "owner",
            format!("{a}/logs"),
            title(&format!("Request log: {an}")),
            &["AN"],
        ),
        (
            "owner",
            format!("{a}/logs/{request_id}"),
            title(&format!("Request {request_id}")),
            &["AN"],
        ),
        (
            "owner",
            format!("{a}/usage"),
            title(&format!("Usage of {an}")),
            &["AN"],
        ),
        (
            "owner",
            endpoint_page.clone(),
            title(&format!("Webhook endpoint {url}")),
            &["AN", "WU", "WD"],
        ),
        (
            "owner",
            "/org".into(),
            title("Organisation"),
            &["LN", "oc", "AP", "ON", "MN", "em"],
        ),
        (
            "owner",
            "/org/usage".into(),
            title(&format!("Usage of {}", v("LN"))),
            &["LN"],
        ),
        (
            "member",
            "/apps".into(),
            title("Applications"),
            &["AN", "BN", "em"],
        ),
        (
            "member",
            a.clone(),
            title(&an),
            &["AN", "AD", "JU", "SR", "DD", "RV", "WU"],
        ),
        (
            "member",
            endpoint_page.clone(),
            title(&format!("Webhook endpoint {url}")),
            &["AN", "WU", "WD"],
        ),
        (
            "member",
            "/org".into(),
            title("Organisation"),
            &["LN", "ON", "MN", "em"],
        ),
        (
            "member",
            "/admin".into(),
            title("Administrators only"),
            &["em"],
        ),
        (
            "admin",
            "/admin".into(),
            admin_title("Admin"),
            // Recent activity: the latest entries only.
            &["AS", "IT", "MT"],
        ),
        (
            "admin",
            "/admin/partners".into(),
            admin_title("Partners"),
            &["LN", "L2", "L3", "oc", "AP", "RJ", "SU"],
        ),
        (
            "admin",
            "/admin/scope-requests".into(),
            admin_title("Scope requests"),
            &["AN", "LN", "JU", "SR", "DD", "RV"],
        ),
        (
            "admin",
            "/admin/applications".into(),
            admin_title("Applications"),
            &["AN", "BN", "LN"],
        ),
        (
            "admin",
            "/admin/incidents".into(),
            admin_title("Status incidents"),
            &["IT", "MT"],
        ),
        (
            "admin",
            incident.clone(),
            admin_title("Incident"),
            &["IT", "IM", "IU", "IR"],
        ),
        (
            "admin",
            maintenance.clone(),
            admin_title("Incident"),
            &["MT", "MM"],
        ),
        (
            "admin",
            "/admin/audit".into(),
            admin_title("Audit log"),
            &[
                "LN", "oc", "AP", "L2", "RJ", "L3", "SU", "em", "AN", "BN", "BP", "AL", "PS", "DA",
                "DD", "SR", "RV", "AS", "WU", "IT", "MT",
            ],
        ),
        (
            "admin",
            "/admin/traffic".into(),
            admin_title("Traffic"),
            &["LN", "AN"],
        ),
        (
            "visitor",
            "/status".into(),
            title("Status"),
            &["IT", "IM", "IU", "IR", "MT", "MM"],
        ),
    ];
    for (who, path, title, fields) in pages {
        let browser = match who {
            "owner" => &mut owner,
            "member" => &mut member,
            "admin" => &mut admin,
            _ => &mut visitor,
        };
        let seen = run.get(browser, who, &path).await;
        run.check(&seen, title.as_deref(), fields);
    }

    // The Atom feed (XML: html5ever reads it well enough to find elements and text).
    let feed = app.get_portal("/status/feed.atom").await;
    let xml = Html::parse_document(&feed.body);
    for problem in markup_problems(&xml, false) {
        run.findings
            .fail(&format!("GET /status/feed.atom: {problem}"));
    }
    run.check_shown(
        "GET /status/feed.atom",
        &xml,
        &["IT", "IM", "IU", "IR", "MT", "MM"],
    );

    // Values typed into a query string come back in filter forms.
    let query = run_value("QS", payload);
    let q: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    run.stored.insert("QS", query);
    let reflected = [
        (
            "admin",
            format!("/admin/audit?actor={q}&action={q}&org={q}"),
        ),
        ("owner", format!("{a}/logs?request_id={q}")),
        ("member", format!("/join?token={q}")),
        ("visitor", format!("/search?q={q}")),
    ];
    for (who, path) in reflected {
        let browser = match who {
            "owner" => &mut owner,
            "member" => &mut member,
            "admin" => &mut admin,
            _ => &mut visitor,
        };
        let seen = run.get(browser, who, &path).await;
        run.check(&seen, None, &["QS"]);
    }
    (run.findings, run.pages)
}

/// The `<title>` text of the admin page `page`.
fn admin_title(page: &str) -> Option<String> {
    Some(format!("{page} · Admin · Portico"))
}

/// The value stored in field `code` for `payload`: an email address for lower-case codes.
fn run_value(code: &str, payload: &str) -> String {
    if code.chars().all(|c| c.is_ascii_lowercase()) {
        email_with(code, payload)
    } else {
        tagged(code, payload)
    }
}

/// Every payload, each on a fresh portal over SQLite or PostgreSQL; all problems reported
/// together.
async fn every_payload(engine: Engine) {
    let started = Instant::now();
    let mut problems = Vec::new();
    let mut pages = 0;
    for (index, payload) in PAYLOADS.iter().enumerate() {
        let app = TestApp::on(engine).await;
        let (findings, seen) = one_payload(&app, index + 1, payload).await;
        problems.extend(findings.problems);
        pages += seen;
    }
    eprintln!(
        "{} payloads, {pages} pages checked in {:?}",
        PAYLOADS.len(),
        started.elapsed()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

on_both_engines!(no_stored_value_arrives_as_markup_on_any_page, engine every_payload);

/// What the checks above make of `body`: markup problems, `value` not on it intact as text, or
/// a `<title>` other than `{value} · Portico` when `in_title`.
fn verdict(body: &str, value: &str, in_title: bool) -> Vec<String> {
    let html = Html::parse_document(body);
    let mut problems = markup_problems(&html, true);
    let stored = BTreeMap::from([("AN", value.to_owned())]);
    if shown(&html, &stored).is_empty() {
        problems.push("the value is not on the page as text".into());
    }
    let title = format!("{value} · Portico");
    if in_title && head_title(&html).as_deref() != Some(title.as_str()) {
        problems.push("the title is not the value".into());
    }
    problems
}

/// The checks are not vacuous: each payload written into a page unescaped (in a title, in text,
/// in a single- or double-quoted attribute) is caught in at least one of those places, the
/// finding's in the title; escaped, none is.
#[test]
fn the_checks_catch_each_payload_unescaped_and_pass_it_escaped() {
    let page = |title: &str, body: &str| {
        format!(
            "<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"
        )
    };
    let escape = portico_docsite::highlight::escape;
    for (index, payload) in PAYLOADS.iter().enumerate() {
        let value = tagged("AN", payload);
        let raw = [
            (page(&format!("{value} · Portico"), "<p>x</p>"), true),
            (page("t", &format!("<p>{value}</p>")), false),
            (page("t", &format!("<input value='{value}'>")), false),
            (page("t", &format!("<input value=\"{value}\">")), false),
        ];
        let caught: Vec<bool> = raw
            .iter()
            .map(|(body, in_title)| !verdict(body, &value, *in_title).is_empty())
            .collect();
        assert!(
            caught.contains(&true),
            "payload #{}: unescaped anywhere, nothing was caught",
            index + 1
        );
        if index == 0 {
            assert!(caught[0], "the finding: a raw title must be caught");
        }
        let escaped = [
            (
                page(&escape(&format!("{value} · Portico")), "<p>x</p>"),
                true,
            ),
            (page("t", &format!("<p>{}</p>", escape(&value))), false),
            (
                page("t", &format!("<input value='{}'>", escape(&value))),
                false,
            ),
            (
                page("t", &format!("<input value=\"{}\">", escape(&value))),
                false,
            ),
        ];
        for (body, in_title) in escaped {
            let problems = verdict(&body, &value, in_title);
            assert!(
                problems.is_empty(),
                "payload #{} escaped: {problems:?} in {body}",
                index + 1
            );
        }
    }
}
