//! The admin console: partner organisations (with their attestation), the scope-request queue,
//! applications (suspension, usage plan and overrides, production access, granted scopes),
//! signing keys and the audit log.
//!
//! Pages read through `#[server]` functions that call the core with the signed-in user's
//! [`ActorContext`](portico_core::identity::ActorContext); the core refuses non-admins and the
//! pages never ask it for anyone else. Forms post to the handlers in
//! `server/src/portal/actions/admin.rs` (post/redirect/get with a one-time message).

use crate::components::format::{civil_from_days, format_time};
use crate::viewer::{CsrfField, SignInRequired, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// Entries per page of the audit log.
pub const AUDIT_PAGE_SIZE: i64 = 50;

/// What the admin navigation counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub pending_orgs: usize,
    pub pending_scopes: usize,
}

/// One audit record as the admin pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: String,
    pub when: i64,
    /// The actor's email, or `cli` / `system` / `anonymous`.
    pub who: String,
    pub action: String,
    pub target: Option<String>,
    pub organisation: Option<String>,
    pub from: Option<String>,
    pub request_id: Option<String>,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub counts: Counts,
    pub organisations: usize,
    pub applications: usize,
    pub suspended_applications: usize,
    pub recent: Vec<AuditRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationRow {
    pub version: String,
    pub by: String,
    pub at: i64,
    /// The text the user confirmed, when it is the current version's.
    pub text: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRow {
    pub kind: String,
    pub by: String,
    pub at: i64,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub legal_name: Option<String>,
    pub contact_email: Option<String>,
    pub status: String,
    pub creator: Option<String>,
    pub created_at: i64,
    pub attestation: Option<AttestationRow>,
    pub decision: Option<DecisionRow>,
    pub members: i64,
    pub applications: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnersData {
    pub counts: Counts,
    /// Pending first (oldest first), then the others.
    pub organisations: Vec<OrgRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeRow {
    pub id: String,
    pub application_name: String,
    pub client_id: String,
    pub organisation_name: String,
    pub organisation_status: String,
    pub scope: String,
    pub requester: Option<String>,
    pub reason: String,
    pub requested_at: i64,
    pub age_secs: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedRow {
    pub id: String,
    pub application_name: String,
    pub organisation_name: String,
    pub scope: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopesData {
    pub counts: Counts,
    pub pending: Vec<ScopeRow>,
    pub decided: Vec<DecidedRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRow {
    pub name: String,
    pub description: String,
    pub rate_per_second: u64,
    pub burst: u64,
    pub quota: u64,
    pub quota_period: String,
    pub api_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRow {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub organisation_name: String,
    pub organisation_slug: String,
    pub organisation_status: String,
    pub status: String,
    pub suspension: Option<String>,
    pub plan: String,
    pub rate_per_second: Option<u64>,
    pub burst: Option<u64>,
    pub quota: Option<u64>,
    pub quota_period: Option<String>,
    pub api_key: Option<String>,
    pub scopes: Vec<String>,
    pub pending_scopes: Vec<String>,
    /// When production access was granted, and by whom.
    pub production: Option<(i64, String)>,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppsData {
    pub counts: Counts,
    pub plans: Vec<PlanRow>,
    pub applications: Vec<AppRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retiring_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysData {
    pub counts: Counts,
    pub keys: Vec<KeyRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub actor: String,
    pub action: String,
    pub org: String,
    pub since: String,
    pub until: String,
    pub before: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditData {
    pub counts: Counts,
    pub entries: Vec<AuditRow>,
    pub next_before: Option<String>,
    /// Organisation slugs, for the filter's suggestions.
    pub organisations: Vec<String>,
    /// A filter that could not be understood.
    pub problem: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Server functions
// ---------------------------------------------------------------------------------------------

#[server]
pub async fn admin_overview() -> Result<Overview, ServerFnError> {
    ssr::overview().await
}

#[server]
pub async fn admin_partners() -> Result<PartnersData, ServerFnError> {
    ssr::partners().await
}

#[server]
pub async fn admin_scope_requests() -> Result<ScopesData, ServerFnError> {
    ssr::scope_requests().await
}

#[server]
pub async fn admin_applications() -> Result<AppsData, ServerFnError> {
    ssr::applications().await
}

#[server]
pub async fn admin_keys() -> Result<KeysData, ServerFnError> {
    ssr::keys().await
}

#[server]
pub async fn admin_audit(query: AuditQuery) -> Result<AuditData, ServerFnError> {
    ssr::audit(query).await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::server::{actor, page_error, portal};
    use portico_core::apps::manage;
    use portico_core::apps::plans;
    use portico_core::apps::scope_requests;
    use portico_core::audit::{self, AuditFilter};
    use portico_core::identity::ActorContext;
    use portico_core::identity::users;
    use portico_core::orgs::organisations;
    use portico_core::{CoreError, Database};
    use std::collections::HashMap;

    fn signed_in() -> Result<ActorContext, ServerFnError> {
        actor().ok_or_else(|| ServerFnError::new("Sign in to continue."))
    }

    /// Emails of user ids, looked up once per page.
    #[derive(Default)]
    struct Emails(HashMap<String, String>);

    impl Emails {
        async fn of(&mut self, db: &Database, user_id: &str) -> String {
            if let Some(email) = self.0.get(user_id) {
                return email.clone();
            }
            let found = async {
                let mut conn = db.pool().acquire().await?;
                users::find_by_id(&mut conn, user_id).await
            }
            .await;
            let email = match found {
                Ok(Some(user)) => user.email,
                _ => user_id.to_owned(),
            };
            self.0.insert(user_id.to_owned(), email.clone());
            email
        }
    }

    async fn counts(db: &Database, ctx: &ActorContext) -> Result<Counts, CoreError> {
        Ok(Counts {
            pending_orgs: organisations::list_pending(db, ctx).await?.len(),
            pending_scopes: scope_requests::pending_queue(db, ctx).await?.len(),
        })
    }

    async fn audit_rows(
        db: &Database,
        entries: Vec<audit::AuditEntry>,
        emails: &mut Emails,
    ) -> Vec<AuditRow> {
        let mut rows = Vec::with_capacity(entries.len());
        for e in entries {
            let who = match (&e.actor_email, e.actor.strip_prefix("user:")) {
                (Some(email), _) => email.clone(),
                (None, Some(user_id)) => emails.of(db, user_id).await,
                (None, None) => e.actor.clone(),
            };
            rows.push(AuditRow {
                id: e.id,
                when: e.occurred_at,
                who,
                action: e.action,
                target: e.target,
                organisation: e.partner_id,
                from: e.client_addr,
                request_id: e.request_id,
                detail: e.detail,
            });
        }
        rows
    }

    pub async fn overview() -> Result<Overview, ServerFnError> {
        let ctx = signed_in()?;
        let db = portal()?.db;
        let run = async {
            let counts = counts(&db, &ctx).await?;
            let organisations = organisations::list_all(&db, &ctx).await?.len();
            let apps = manage::list_all_applications(&db, &ctx).await?;
            let page = audit::search_as(&db, &ctx, &AuditFilter::default(), 10, None).await?;
            Ok::<_, CoreError>((counts, organisations, apps, page))
        };
        let (counts, organisations, apps, page) = run.await.map_err(page_error)?;
        let mut emails = Emails::default();
        Ok(Overview {
            counts,
            organisations,
            applications: apps.len(),
            suspended_applications: apps
                .iter()
                .filter(|a| a.app.status.as_str() == "suspended")
                .count(),
            recent: audit_rows(&db, page.entries, &mut emails).await,
        })
    }

    pub async fn partners() -> Result<PartnersData, ServerFnError> {
        let ctx = signed_in()?;
        let db = portal()?.db;
        let run = async {
            Ok::<_, CoreError>((
                counts(&db, &ctx).await?,
                organisations::list_all(&db, &ctx).await?,
            ))
        };
        let (counts, all) = run.await.map_err(page_error)?;
        let mut emails = Emails::default();
        let mut rows = Vec::with_capacity(all.len());
        for summary in all {
            let org = summary.organisation;
            let attestation = match org.attestation {
                Some(a) => Some(AttestationRow {
                    by: emails.of(&db, &a.by).await,
                    at: a.at,
                    text: (a.version == organisations::ATTESTATION_VERSION)
                        .then(|| organisations::ATTESTATION_TEXT.to_owned()),
                    version: a.version,
                }),
                None => None,
            };
            let decision = match org.decision {
                Some(d) => Some(DecisionRow {
                    kind: d.kind.as_str().to_owned(),
                    by: emails.of(&db, &d.by).await,
                    at: d.at,
                    note: d.note,
                }),
                None => None,
            };
            rows.push(OrgRow {
                id: org.id,
                slug: org.slug,
                name: org.name,
                legal_name: org.legal_name,
                contact_email: org.contact_email,
                status: org.status.as_str().to_owned(),
                creator: summary.creator_email,
                created_at: org.created_at,
                attestation,
                decision,
                members: summary.member_count,
                applications: summary.application_count,
            });
        }
        // Pending first; each group keeps the core's oldest-first order.
        rows.sort_by_key(|o| o.status != "pending");
        Ok(PartnersData {
            counts,
            organisations: rows,
        })
    }

    pub async fn scope_requests() -> Result<ScopesData, ServerFnError> {
        let ctx = signed_in()?;
        let db = portal()?.db;
        let run = async {
            let queue = scope_requests::pending_queue(&db, &ctx).await?;
            let counts = Counts {
                pending_orgs: organisations::list_pending(&db, &ctx).await?.len(),
                pending_scopes: queue.len(),
            };
            let apps = manage::list_all_applications(&db, &ctx).await?;
            let mut decided = Vec::new();
            for app in &apps {
                for request in scope_requests::list_for_application(&db, &ctx, &app.app.id).await? {
                    if request.status != scope_requests::RequestStatus::Pending
                        && request.decided_at.is_some()
                    {
                        decided.push((
                            app.app.name.clone(),
                            app.organisation_name.clone(),
                            request,
                        ));
                    }
                }
            }
            Ok::<_, CoreError>((counts, queue, decided))
        };
        let (counts, queue, mut decided) = run.await.map_err(page_error)?;
        decided.sort_by(|a, b| {
            b.2.decided_at
                .cmp(&a.2.decided_at)
                .then(b.2.id.cmp(&a.2.id))
        });
        decided.truncate(20);
        let mut emails = Emails::default();
        let mut decided_rows = Vec::with_capacity(decided.len());
        for (application_name, organisation_name, r) in decided {
            let decided_by = match &r.decided_by {
                Some(id) => Some(emails.of(&db, id).await),
                None => None,
            };
            decided_rows.push(DecidedRow {
                id: r.id,
                application_name,
                organisation_name,
                scope: r.scope,
                status: r.status.as_str().to_owned(),
                decided_by,
                decided_at: r.decided_at,
                note: r.decision_note,
            });
        }
        Ok(ScopesData {
            counts,
            pending: queue
                .into_iter()
                .map(|item| ScopeRow {
                    id: item.request.id,
                    application_name: item.application_name,
                    client_id: item.client_id,
                    organisation_name: item.organisation_name,
                    organisation_status: item.organisation_status.as_str().to_owned(),
                    scope: item.request.scope,
                    requester: item.requester_email,
                    reason: item.request.reason,
                    requested_at: item.request.requested_at,
                    age_secs: item.age_secs,
                })
                .collect(),
            decided: decided_rows,
        })
    }

    pub async fn applications() -> Result<AppsData, ServerFnError> {
        let ctx = signed_in()?;
        let db = portal()?.db;
        let run = async {
            let counts = counts(&db, &ctx).await?;
            let apps = manage::list_all_applications(&db, &ctx).await?;
            let plans = plans::list_plans(&db).await?;
            let mut overrides = Vec::with_capacity(apps.len());
            for app in &apps {
                overrides.push(plans::limit_override(&db, &app.app.id).await?);
            }
            Ok::<_, CoreError>((counts, apps, plans, overrides))
        };
        let (counts, apps, plans, overrides) = run.await.map_err(page_error)?;
        let mut emails = Emails::default();
        let mut rows = Vec::with_capacity(apps.len());
        for (summary, limits) in apps.into_iter().zip(overrides) {
            let suspension = match &summary.suspension {
                Some(s) => {
                    let who = emails.of(&db, &s.by).await;
                    let source = match s.source {
                        manage::SuspensionSource::Admin => "an administrator",
                        manage::SuspensionSource::Member => "its organisation",
                    };
                    Some(format!(
                        "Suspended by {source} ({who}) on {}",
                        super::format_time(s.at)
                    ))
                }
                None => None,
            };
            let production = match &summary.production {
                Some(p) => Some((p.granted_at, emails.of(&db, &p.granted_by).await)),
                None => None,
            };
            let app = summary.app;
            rows.push(AppRow {
                id: app.id,
                name: app.name,
                client_id: app.client_id,
                organisation_name: summary.organisation_name,
                organisation_slug: app.partner_id,
                organisation_status: app.partner_status.as_str().to_owned(),
                status: app.status.as_str().to_owned(),
                suspension,
                plan: app.usage_plan,
                rate_per_second: limits.rate_per_second,
                burst: limits.burst,
                quota: limits.quota,
                quota_period: limits.quota_period.map(|p| p.as_str().to_owned()),
                api_key: limits.api_key.map(|k| k.as_str().to_owned()),
                scopes: app.scopes.iter().map(str::to_owned).collect(),
                pending_scopes: summary.pending_scopes,
                production,
                created_at: app.created_at,
            });
        }
        Ok(AppsData {
            counts,
            plans: plans
                .into_iter()
                .map(|p| PlanRow {
                    name: p.name,
                    description: p.description,
                    rate_per_second: p.rate_per_second,
                    burst: p.burst,
                    quota: p.quota,
                    quota_period: p.quota_period.as_str().to_owned(),
                    api_key: p.api_key.as_str().to_owned(),
                })
                .collect(),
            applications: rows,
        })
    }

    pub async fn keys() -> Result<KeysData, ServerFnError> {
        let ctx = signed_in()?;
        let portal = portal()?;
        let counts = counts(&portal.db, &ctx).await.map_err(page_error)?;
        let keys = portico_core::tokens::keys::list(&portal.db)
            .await
            .map_err(page_error)?
            .into_iter()
            .filter(|k| k.state != "retired")
            .map(|k| KeyRow {
                kid: k.kid,
                alg: k.alg,
                state: k.state,
                created_at: k.created_at,
                activated_at: k.activated_at,
                retiring_at: k.retiring_at,
            })
            .collect();
        Ok(KeysData { counts, keys })
    }

    pub async fn audit(query: AuditQuery) -> Result<AuditData, ServerFnError> {
        let ctx = signed_in()?;
        let db = portal()?.db;
        let mut problem = None;
        let mut date = |text: &str, what: &str, end_of_day: bool| -> Option<i64> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            match super::parse_date(text) {
                Some(day) => Some(if end_of_day { day + 86_400 } else { day }),
                None => {
                    problem = Some(format!(
                        "The {what} date {text:?} is not a date (YYYY-MM-DD); it was ignored."
                    ));
                    None
                }
            }
        };
        let since = date(&query.since, "from", false);
        let until = date(&query.until, "to", true);
        let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let filter = AuditFilter {
            actor_email: non_empty(&query.actor),
            action_prefix: non_empty(&query.action),
            partner_id: non_empty(&query.org),
            since,
            until,
            ..AuditFilter::default()
        };
        let before = non_empty(&query.before);
        let run = async {
            let counts = counts(&db, &ctx).await?;
            let page =
                audit::search_as(&db, &ctx, &filter, AUDIT_PAGE_SIZE, before.as_deref()).await?;
            let organisations = organisations::list_all(&db, &ctx)
                .await?
                .into_iter()
                .map(|o| o.organisation.slug)
                .collect();
            Ok::<_, CoreError>((counts, page, organisations))
        };
        let (counts, page, organisations) = run.await.map_err(page_error)?;
        let mut emails = Emails::default();
        Ok(AuditData {
            counts,
            entries: audit_rows(&db, page.entries, &mut emails).await,
            next_before: page.next_before,
            organisations,
            problem,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/// `YYYY-MM-DD` → unix seconds at 00:00 UTC of that day.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // Refuse days the month does not have (2026-02-30).
    (civil_from_days(days) == (year, month, day)).then_some(days * 86_400)
}

/// How long ago, roughly: `5 min`, `3 h`, `2 days`.
pub fn format_age(secs: i64) -> String {
    match secs {
        s if s < 60 => "just now".to_owned(),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3600),
        s if s < 2 * 86_400 => "1 day".to_owned(),
        s => format!("{} days", s / 86_400),
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn status_badge(status: &str) -> impl IntoView + use<> {
    let tone = match status {
        "approved" | "active" | "granted" | "published" => "ok",
        "pending" | "next" | "retiring" => "pending",
        "suspended" | "rejected" | "denied" | "revoked" => "bad",
        _ => "plain",
    };
    let class = format!("badge {tone} status-{status}");
    view! { <span class=class>{status.to_owned()}</span> }
}

// ---------------------------------------------------------------------------------------------
// Frame: access, navigation
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Partners,
    ScopeRequests,
    Applications,
    Keys,
    Versions,
    Incidents,
    Traffic,
    Audit,
}

/// Admin pages for admins; the sign-in prompt or a 403 "Administrators only" for everyone else.
pub(crate) fn admin_only(title: &'static str, content: impl FnOnce() -> AnyView) -> AnyView {
    let viewer = Viewer::current();
    match viewer.user {
        None => view! {
            <Title text=title />
            <h1>{title}</h1>
            <SignInRequired />
        }
        .into_any(),
        Some(user) if !user.is_admin => {
            #[cfg(feature = "ssr")]
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::FORBIDDEN);
            }
            view! {
                <Title text="Administrators only" />
                <div class="panel admin-forbidden" role="alert" data-testid="admin-forbidden">
                    <p class="admin-forbidden-code">"403"</p>
                    <h1>"Administrators only"</h1>
                    <p>
                        "This part of Portico is for platform administrators. You are signed in as "
                        <strong>{user.email}</strong> ", which is not an administrator account."
                    </p>
                    <p><a href="/apps" class="button">"Back to your applications"</a></p>
                </div>
            }
            .into_any()
        }
        Some(_) => view! {
            <Title text=format!("{title} · Admin") />
            {content()}
        }
        .into_any(),
    }
}

#[component]
pub(crate) fn AdminFrame(
    section: Section,
    #[prop(optional)] counts: Option<Counts>,
    children: Children,
) -> impl IntoView {
    let counts = counts.unwrap_or_default();
    let link = move |href: &'static str, label: &'static str, this: Section, count: usize| {
        let current = (this == section).then_some("page");
        let badge = (count > 0).then(|| {
            view! { <span class="count" aria-label=format!("{count} waiting")>{count}</span> }
        });
        view! {
            <li>
                <a href=href aria-current=current>{label}{badge}</a>
            </li>
        }
    };
    view! {
        <div class="admin">
            <nav class="admin-nav" aria-label="Admin">
                <p class="admin-nav-title">"Admin console"</p>
                <ul>
                    {link("/admin", "Overview", Section::Overview, 0)}
                    {link("/admin/partners", "Partners", Section::Partners, counts.pending_orgs)}
                    {link("/admin/scope-requests", "Scope requests", Section::ScopeRequests, counts.pending_scopes)}
                    {link("/admin/applications", "Applications", Section::Applications, 0)}
                    {link("/admin/keys", "Signing keys", Section::Keys, 0)}
                    {link("/admin/versions", "API versions", Section::Versions, 0)}
                    {link("/admin/incidents", "Status incidents", Section::Incidents, 0)}
                    {link("/admin/traffic", "Traffic", Section::Traffic, 0)}
                    {link("/admin/audit", "Audit log", Section::Audit, 0)}
                </ul>
            </nav>
            <div class="admin-main">{children()}</div>
        </div>
    }
}

pub(crate) fn load_failed(
    section: Section,
    heading: &'static str,
    error: &ServerFnError,
) -> AnyView {
    let message = match error {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    };
    view! {
        <AdminFrame section>
            <h1>{heading}</h1>
            <p class="flash error" role="alert">{message}</p>
        </AdminFrame>
    }
    .into_any()
}

pub(crate) fn loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}

fn audit_table(entries: Vec<AuditRow>, caption: &'static str) -> AnyView {
    if entries.is_empty() {
        return view! { <p class="empty-state">"No audit entries match."</p> }.into_any();
    }
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label={caption}>
            <table class="admin-table audit-table">
                <caption>{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Organisation"</th>
                        <th scope="col">"From"</th>
                        <th scope="col">"Request id"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries
                        .into_iter()
                        .map(|e| {
                            view! {
                                <tr data-audit=e.id.clone()>
                                    <td class="nowrap">{format_time(e.when)}</td>
                                    <td>{e.who}</td>
                                    <td><code>{e.action}</code></td>
                                    <td><code>{e.target.unwrap_or_default()}</code></td>
                                    <td>{e.organisation.unwrap_or_default()}</td>
                                    <td>{e.from.unwrap_or_default()}</td>
                                    <td><code>{e.request_id.unwrap_or_default()}</code></td>
                                </tr>
                                <tr class="audit-detail">
                                    <td colspan="7"><code>{e.detail}</code></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

// ---------------------------------------------------------------------------------------------
// /admin
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminHome() -> impl IntoView {
    admin_only("Admin", || {
        let data = Resource::new(|| (), |()| admin_overview());
        view! {
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => overview_view(d),
                        Err(e) => load_failed(Section::Overview, "Admin console", &e),
                    }
                })}
            </Suspense>
        }
        .into_any()
    })
}

fn overview_view(d: Overview) -> AnyView {
    let counts = d.counts.clone();
    view! {
        <AdminFrame section=Section::Overview counts=d.counts>
            <h1>"Admin console"</h1>
            <div class="admin-stats">
                <a class="card stat" href="/admin/partners" data-testid="pending-orgs">
                    <span class="stat-number">{counts.pending_orgs}</span>
                    <span class="stat-label">"organisations waiting for approval"</span>
                </a>
                <a class="card stat" href="/admin/scope-requests" data-testid="pending-scopes">
                    <span class="stat-number">{counts.pending_scopes}</span>
                    <span class="stat-label">"scope requests waiting"</span>
                </a>
                <a class="card stat" href="/admin/applications">
                    <span class="stat-number">{d.applications}</span>
                    <span class="stat-label">
                        "applications (" {d.suspended_applications} " suspended) in "
                        {d.organisations} " organisations"
                    </span>
                </a>
            </div>
            <h2>"Recent activity"</h2>
            {audit_table(d.recent, "The ten newest audit entries")}
            <p><a href="/admin/audit">"Search the full audit log"</a></p>
        </AdminFrame>
    }
    .into_any()
}

// ---------------------------------------------------------------------------------------------
// /admin/partners
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminPartners() -> impl IntoView {
    admin_only("Partners", || {
        let data = Resource::new(|| (), |()| admin_partners());
        view! {
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => partners_view(d),
                        Err(e) => load_failed(Section::Partners, "Partner organisations", &e),
                    }
                })}
            </Suspense>
        }
        .into_any()
    })
}

fn partners_view(d: PartnersData) -> AnyView {
    let (pending, others): (Vec<_>, Vec<_>) = d
        .organisations
        .into_iter()
        .partition(|o| o.status == "pending");
    let pending_view = if pending.is_empty() {
        view! { <p class="empty-state">"No organisations are waiting."</p> }.into_any()
    } else {
        org_table(pending, "Organisations waiting for approval, oldest first")
    };
    let others_view = if others.is_empty() {
        view! { <p class="empty-state">"No organisation has been decided yet."</p> }.into_any()
    } else {
        org_table(others, "Approved, rejected and suspended organisations")
    };
    view! {
        <AdminFrame section=Section::Partners counts=d.counts>
            <h1>"Partner organisations"</h1>
            <p class="lead">
                "Approve an organisation once its data-handling attestation and contact details check out. "
                "Until then its applications work in the sandbox only and cannot get production access."
            </p>
            <h2>"Waiting for approval"</h2>
            {pending_view}
            <h2>"All other organisations"</h2>
            {others_view}
        </AdminFrame>
    }
    .into_any()
}

fn org_table(orgs: Vec<OrgRow>, caption: &'static str) -> AnyView {
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label={caption}>
            <table class="admin-table">
                <caption>{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Organisation"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Attestation"</th>
                        <th scope="col">"Members / apps"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Decide"</th>
                    </tr>
                </thead>
                <tbody>{orgs.into_iter().map(org_row).collect_view()}</tbody>
            </table>
        </div>
    }
    .into_any()
}

fn org_row(o: OrgRow) -> impl IntoView {
    let attestation = match o.attestation {
        Some(a) => {
            let text = a.text.map(|t| {
                view! {
                    <details>
                        <summary>"Attestation text"</summary>
                        <blockquote class="attestation-text">{t}</blockquote>
                    </details>
                }
            });
            view! {
                <div class="attestation">
                    <span>"Version " <code>{a.version}</code></span>
                    <br />
                    <span>"by " {a.by}</span>
                    <br />
                    <span class="muted">{format_time(a.at)}</span>
                    {text}
                </div>
            }
            .into_any()
        }
        None => view! { <span class="badge bad">"Not attested"</span> }.into_any(),
    };
    let decision = o.decision.map(|d| {
        let note = (!d.note.is_empty()).then(|| view! { <q>{d.note}</q> });
        view! {
            <p class="muted small">
                {d.kind} " by " {d.by} " on " {format_time(d.at)} " " {note}
            </p>
        }
    });
    let approve = (o.status != "approved").then(|| {
        let label = if o.status == "pending" { "Approve" } else { "Reinstate" };
        view! {
            <form method="post" action=format!("/admin/partners/{}/approve", o.id) class="admin-form">
                <CsrfField />
                <label>
                    "Note (optional)"
                    <input type="text" name="note" maxlength="2000" />
                </label>
                <button type="submit" class="button primary">{label}</button>
            </form>
        }
    });
    let reject = (o.status == "pending").then(|| {
        view! {
            <form method="post" action=format!("/admin/partners/{}/reject", o.id) class="admin-form">
                <CsrfField />
                <label>
                    "Reason (the members see it)"
                    <input type="text" name="note" required maxlength="2000" />
                </label>
                <button type="submit" class="button danger">"Reject"</button>
            </form>
        }
    });
    let suspend = (o.status == "approved").then(|| {
        view! {
            <form method="post" action=format!("/admin/partners/{}/suspend", o.id) class="admin-form">
                <CsrfField />
                <label>
                    "Reason (the members see it)"
                    <input type="text" name="note" required maxlength="2000" />
                </label>
                <button type="submit" class="button danger">"Suspend"</button>
            </form>
        }
    });
    let slug = o.slug.clone();
    view! {
        <tr data-org=slug.clone() id=format!("partner-{slug}")>
            <td>
                <strong>{o.legal_name.clone().unwrap_or_else(|| o.name.clone())}</strong>
                <br />
                <code>{o.slug}</code>
                <br />
                <span class="muted">{o.contact_email.unwrap_or_default()}</span>
            </td>
            <td>
                <span class="nowrap">{format_time(o.created_at)}</span>
                <br />
                <span class="muted">"by " {o.creator.unwrap_or_else(|| "the CLI".to_owned())}</span>
            </td>
            <td>{attestation}</td>
            <td>{o.members} " / " {o.applications}</td>
            <td>{status_badge(&o.status)} {decision}</td>
            <td class="admin-actions">{approve} {reject} {suspend}</td>
        </tr>
    }
}

// ---------------------------------------------------------------------------------------------
// /admin/scope-requests
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminScopeRequests() -> impl IntoView {
    admin_only("Scope requests", || {
        let data = Resource::new(|| (), |()| admin_scope_requests());
        view! {
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => scopes_view(d),
                        Err(e) => load_failed(Section::ScopeRequests, "Scope requests", &e),
                    }
                })}
            </Suspense>
        }
        .into_any()
    })
}

fn scopes_view(d: ScopesData) -> AnyView {
    let queue = if d.pending.is_empty() {
        view! { <p class="empty-state">"No scope requests are waiting."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Pending scope requests, oldest first">
                <table class="admin-table">
                    <caption>"Pending scope requests, oldest first"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Organisation"</th>
                            <th scope="col">"Application"</th>
                            <th scope="col">"Scope"</th>
                            <th scope="col">"Requested by"</th>
                            <th scope="col">"Reason"</th>
                            <th scope="col">"Age"</th>
                            <th scope="col">"Decision"</th>
                        </tr>
                    </thead>
                    <tbody>{d.pending.into_iter().map(scope_row).collect_view()}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let decided = if d.decided.is_empty() {
        view! { <p class="empty-state">"Nothing decided yet."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="The twenty most recent decisions">
                <table class="admin-table">
                    <caption>"The twenty most recent decisions"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Organisation"</th>
                            <th scope="col">"Application"</th>
                            <th scope="col">"Scope"</th>
                            <th scope="col">"Outcome"</th>
                            <th scope="col">"By"</th>
                            <th scope="col">"When"</th>
                            <th scope="col">"Note"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {d.decided
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <tr data-decided-request=r.id>
                                        <td>{r.organisation_name}</td>
                                        <td>{r.application_name}</td>
                                        <td><code>{r.scope}</code></td>
                                        <td>{status_badge(&r.status)}</td>
                                        <td>{r.decided_by.unwrap_or_default()}</td>
                                        <td class="nowrap">{r.decided_at.map(format_time).unwrap_or_default()}</td>
                                        <td>{r.note.unwrap_or_default()}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <AdminFrame section=Section::ScopeRequests counts=d.counts>
            <h1>"Scope requests"</h1>
            <p class="lead">
                "An approved scope is added to the application at once; tokens issued afterwards carry it. "
                "Denying needs a note: the partner sees it."
            </p>
            <h2>"Waiting"</h2>
            {queue}
            <h2>"Recently decided"</h2>
            {decided}
        </AdminFrame>
    }
    .into_any()
}

fn scope_row(r: ScopeRow) -> impl IntoView {
    let org_status =
        (r.organisation_status != "approved").then(|| status_badge(&r.organisation_status));
    let decide = format!("/admin/scope-requests/{}/decide", r.id);
    view! {
        <tr data-scope-request=r.id>
            <td>{r.organisation_name} " " {org_status}</td>
            <td>{r.application_name} <br /> <code class="small">{r.client_id}</code></td>
            <td><code>{r.scope}</code></td>
            <td>{r.requester.unwrap_or_default()}</td>
            <td class="reason">{r.reason}</td>
            <td class="nowrap" title=format_time(r.requested_at)>{format_age(r.age_secs)}</td>
            <td>
                <form method="post" action=decide class="admin-form">
                    <CsrfField />
                    <label>
                        "Note (required to deny)"
                        <input type="text" name="note" maxlength="2000" />
                    </label>
                    <span class="button-row">
                        <button type="submit" name="decision" value="approve" class="button primary">"Approve"</button>
                        <button type="submit" name="decision" value="deny" class="button danger">"Deny"</button>
                    </span>
                </form>
            </td>
        </tr>
    }
}

// ---------------------------------------------------------------------------------------------
// /admin/applications
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminApplications() -> impl IntoView {
    admin_only("Applications", || {
        let data = Resource::new(|| (), |()| admin_applications());
        view! {
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => apps_view(d),
                        Err(e) => load_failed(Section::Applications, "Applications", &e),
                    }
                })}
            </Suspense>
        }
        .into_any()
    })
}

fn limits_text(a: &AppRow) -> String {
    let mut parts = Vec::new();
    if let Some(rate) = a.rate_per_second {
        parts.push(format!("{rate}/s"));
    }
    if let Some(burst) = a.burst {
        parts.push(format!("burst {burst}"));
    }
    if let Some(quota) = a.quota {
        parts.push(format!("quota {quota}"));
    }
    if let Some(period) = &a.quota_period {
        parts.push(format!("per {period}"));
    }
    if let Some(key) = &a.api_key {
        parts.push(format!("API key {key}"));
    }
    parts.join(", ")
}

fn apps_view(d: AppsData) -> AnyView {
    let plans_table = view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Usage plans">
            <table class="admin-table">
                <caption>"Usage plans"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Plan"</th>
                        <th scope="col">"Rate"</th>
                        <th scope="col">"Burst"</th>
                        <th scope="col">"Quota"</th>
                        <th scope="col">"API key"</th>
                    </tr>
                </thead>
                <tbody>
                    {d.plans
                        .iter()
                        .map(|p| {
                            view! {
                                <tr>
                                    <td><strong>{p.name.clone()}</strong> <br /> <span class="muted small">{p.description.clone()}</span></td>
                                    <td>{p.rate_per_second} "/s"</td>
                                    <td>{p.burst}</td>
                                    <td>{p.quota} " per " {p.quota_period.clone()}</td>
                                    <td>{p.api_key.clone()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    };
    let body = if d.applications.is_empty() {
        view! { <p class="empty-state">"No applications are registered yet."</p> }.into_any()
    } else {
        let plans: Vec<String> = d.plans.iter().map(|p| p.name.clone()).collect();
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Every application, oldest first">
                <table class="admin-table">
                    <caption>"Every application, oldest first"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Application"</th>
                            <th scope="col">"Organisation"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Plan"</th>
                            <th scope="col">"Production"</th>
                            <th scope="col">"Scopes"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {d.applications
                            .iter()
                            .map(|a| {
                                let limits = limits_text(a);
                                let limits = (!limits.is_empty()).then(|| view! { <br /> <span class="muted small">"Overrides: " {limits}</span> });
                                view! {
                                    <tr data-app=a.id.clone()>
                                        <td>
                                            <a href=format!("#app-{}", a.id)>{a.name.clone()}</a>
                                            <br />
                                            <code class="small">{a.client_id.clone()}</code>
                                        </td>
                                        <td>{a.organisation_name.clone()} " " {status_badge(&a.organisation_status)}</td>
                                        <td>{status_badge(&a.status)}</td>
                                        <td>{a.plan.clone()} {limits}</td>
                                        <td>
                                            {match &a.production {
                                                Some((at, _)) => view! { <span class="badge ok">"granted"</span> " " <span class="muted small">{format_time(*at)}</span> }.into_any(),
                                                None => view! { <span class="muted">"sandbox only"</span> }.into_any(),
                                            }}
                                        </td>
                                        <td>{a.scopes.iter().map(|s| view! { <code>{s.clone()}</code> " " }).collect_view()}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <h2>"Manage"</h2>
            {d.applications
                .into_iter()
                .map(|a| app_card(&a, &plans))
                .collect_view()}
        }
        .into_any()
    };
    view! {
        <AdminFrame section=Section::Applications counts=d.counts>
            <h1>"Applications"</h1>
            <p class="lead">
                "Suspend an application to stop its tokens at once; change its usage plan and limits; "
                "grant production access once its organisation is approved."
            </p>
            {body}
            <h2>"Usage plans"</h2>
            {plans_table}
        </AdminFrame>
    }
    .into_any()
}

fn app_card(a: &AppRow, plans: &[String]) -> impl IntoView + use<> {
    let id = a.id.clone();
    let limits_field = |name: &'static str, label: &'static str, value: Option<u64>| {
        view! {
            <label>
                {label}
                <input type="number" min="1" name=name value=value.map(|v| v.to_string()).unwrap_or_default() placeholder="plan's value" />
            </label>
        }
    };
    let suspension = if a.status == "suspended" {
        view! {
            <p class="muted">{a.suspension.clone().unwrap_or_default()}</p>
            <form method="post" action=format!("/admin/applications/{id}/reactivate") class="admin-form">
                <CsrfField />
                <button type="submit" class="button primary">"Reactivate"</button>
            </form>
        }
        .into_any()
    } else {
        view! {
            <form method="post" action=format!("/admin/applications/{id}/suspend") class="admin-form">
                <CsrfField />
                <label>
                    "Reason"
                    <input type="text" name="reason" required maxlength="2000" />
                </label>
                <button type="submit" class="button danger">"Suspend"</button>
            </form>
        }
        .into_any()
    };
    let production = match &a.production {
        Some((at, by)) => view! {
            <p>"Granted by " {by.clone()} " on " {format_time(*at)} "."</p>
            <form method="post" action=format!("/admin/applications/{id}/production/revoke") class="admin-form">
                <CsrfField />
                <button type="submit" class="button danger">"Revoke production access"</button>
            </form>
        }
        .into_any(),
        None => {
            let hint = (a.organisation_status != "approved").then(|| {
                view! { <p class="muted small">"The organisation is " {a.organisation_status.clone()} ": approve it first."</p> }
            });
            view! {
                <p>"Sandbox only."</p>
                {hint}
                <form method="post" action=format!("/admin/applications/{id}/production/grant") class="admin-form">
                    <CsrfField />
                    <button type="submit" class="button">"Grant production access"</button>
                </form>
            }
            .into_any()
        }
    };
    let scopes = if a.scopes.is_empty() {
        view! { <p class="muted">"No scopes granted."</p> }.into_any()
    } else {
        view! {
            <form method="post" action=format!("/admin/applications/{id}/scopes/revoke") class="admin-form">
                <CsrfField />
                <label>
                    "Scope"
                    <select name="scope">
                        {a.scopes.iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "Reason"
                    <input type="text" name="note" required maxlength="2000" />
                </label>
                <button type="submit" class="button danger">"Revoke scope"</button>
            </form>
        }
        .into_any()
    };
    let pending = (!a.pending_scopes.is_empty()).then(|| {
        view! {
            <p class="small">
                "Waiting: " {a.pending_scopes.join(", ")} " — "
                <a href="/admin/scope-requests">"decide in the queue"</a>
            </p>
        }
    });
    view! {
        <section class="card admin-card" id=format!("app-{}", a.id) data-manage-app=a.id.clone()>
            <h3>
                {a.name.clone()} " " {status_badge(&a.status)}
                <span class="muted small">" " {a.organisation_name.clone()} " · created " {format_time(a.created_at)}</span>
            </h3>
            <div class="admin-card-grid">
                <div>
                    <h4>"Status"</h4>
                    {suspension}
                </div>
                <div>
                    <h4>"Usage plan"</h4>
                    <form method="post" action=format!("/admin/applications/{id}/plan") class="admin-form">
                        <CsrfField />
                        <label>
                            "Plan"
                            <select name="plan">
                                {plans
                                    .iter()
                                    .map(|p| view! { <option value=p.clone() selected=*p == a.plan>{p.clone()}</option> })
                                    .collect_view()}
                            </select>
                        </label>
                        {limits_field("rate_per_second", "Rate override (requests/s)", a.rate_per_second)}
                        {limits_field("burst", "Burst override", a.burst)}
                        {limits_field("quota", "Quota override", a.quota)}
                        <label>
                            "Quota period"
                            <select name="quota_period">
                                <option value="" selected=a.quota_period.is_none()>"plan's value"</option>
                                <option value="day" selected=a.quota_period.as_deref() == Some("day")>"day"</option>
                                <option value="month" selected=a.quota_period.as_deref() == Some("month")>"month"</option>
                            </select>
                        </label>
                        <button type="submit" class="button">"Save plan and limits"</button>
                    </form>
                </div>
                <div>
                    <h4>"Production access"</h4>
                    {production}
                </div>
                <div>
                    <h4>"Granted scopes"</h4>
                    {scopes}
                    {pending}
                </div>
            </div>
        </section>
    }
}

// ---------------------------------------------------------------------------------------------
// /admin/keys
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminKeys() -> impl IntoView {
    admin_only("Signing keys", || {
        let data = Resource::new(|| (), |()| admin_keys());
        view! {
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => keys_view(d),
                        Err(e) => load_failed(Section::Keys, "Signing keys", &e),
                    }
                })}
            </Suspense>
        }
        .into_any()
    })
}

fn keys_view(d: KeysData) -> AnyView {
    let table = if d.keys.is_empty() {
        view! { <p class="empty-state">"No signing key is published."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="Keys published at /.well-known/jwks.json (next, active and retiring keys)">
                <table class="admin-table">
                    <caption>"Keys published at /.well-known/jwks.json (next, active and retiring keys)"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Key id (kid)"</th>
                            <th scope="col">"Algorithm"</th>
                            <th scope="col">"State"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Signing since"</th>
                            <th scope="col">"Retiring since"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {d.keys
                            .into_iter()
                            .map(|k| {
                                let kid = k.kid.clone();
                                let badge = status_badge(&k.state);
                                view! {
                                    <tr data-kid=kid data-state=k.state>
                                        <td><code>{k.kid}</code></td>
                                        <td>{k.alg}</td>
                                        <td>{badge}</td>
                                        <td>{format_time(k.created_at)}</td>
                                        <td>{k.activated_at.map(format_time).unwrap_or_else(|| "—".into())}</td>
                                        <td>{k.retiring_at.map(format_time).unwrap_or_else(|| "—".into())}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <AdminFrame section=Section::Keys counts=d.counts>
            <h1>"Signing keys"</h1>
            <p class="lead">
                "Access tokens are signed with the active key. A rotation publishes the next key first; "
                "it starts signing after the rotation lead time, and the previous key stays published "
                "until every token it signed has expired."
            </p>
            {table}
            <div class="panel">
                <h2>"Rotate"</h2>
                <p>
                    "Publishing the next key now lets every verifier fetch it before it signs (it signs after the rotation lead time). "
                    "Promote it to make it sign at once, for example after a suspected key compromise."
                </p>
                <form method="post" action="/admin/keys/rotate" class="inline-form">
                    <CsrfField />
                    <button type="submit" class="button primary">"Rotate signing key"</button>
                </form>
                " "
                <form method="post" action="/admin/keys/promote" class="inline-form"
                    data-confirm="Make the next key sign now? Verifiers that have not fetched the JWKS yet may refuse new tokens for up to 5 minutes.">
                    <CsrfField />
                    <button type="submit" class="button">"Promote now"</button>
                </form>
                <p class="hint">"The same from a shell: " <code>"portico keys rotate [--promote]"</code> "."</p>
            </div>
        </AdminFrame>
    }
    .into_any()
}

// ---------------------------------------------------------------------------------------------
// /admin/audit
// ---------------------------------------------------------------------------------------------

#[component]
pub fn AdminAudit() -> impl IntoView {
    admin_only("Audit log", || {
        let params = use_query_map();
        let query = move || {
            params.with(|p| {
                let get = |k: &str| p.get(k).unwrap_or_default();
                AuditQuery {
                    actor: get("actor"),
                    action: get("action"),
                    org: get("org"),
                    since: get("since"),
                    until: get("until"),
                    before: get("before"),
                }
            })
        };
        let data = Resource::new(query, admin_audit);
        view! {
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    let q = query();
                    match data.await {
                        Ok(d) => audit_view(d, q),
                        Err(e) => load_failed(Section::Audit, "Audit log", &e),
                    }
                })}
            </Suspense>
        }
        .into_any()
    })
}

fn audit_view(d: AuditData, q: AuditQuery) -> AnyView {
    let older = d.next_before.map(|before| {
        let href = format!(
            "/admin/audit?actor={}&action={}&org={}&since={}&until={}&before={}",
            encode(&q.actor),
            encode(&q.action),
            encode(&q.org),
            encode(&q.since),
            encode(&q.until),
            encode(&before)
        );
        view! { <a href=href class="button" rel="next">"Older"</a> }
    });
    let newest = (!q.before.is_empty()).then(|| {
        let href = format!(
            "/admin/audit?actor={}&action={}&org={}&since={}&until={}",
            encode(&q.actor),
            encode(&q.action),
            encode(&q.org),
            encode(&q.since),
            encode(&q.until)
        );
        view! { <a href=href class="button">"Newest"</a> }
    });
    let problem = d
        .problem
        .map(|p| view! { <p class="flash error" role="alert">{p}</p> });
    view! {
        <AdminFrame section=Section::Audit counts=d.counts>
            <h1>"Audit log"</h1>
            <p class="lead">"Every admin and partner action: who, what, when and from where, newest first."</p>
            <form method="get" action="/admin/audit" class="filter-form" role="search">
                <label>
                    "Actor email"
                    <input type="email" name="actor" value=q.actor.clone() placeholder="admin@example.gov" />
                </label>
                <label>
                    "Action starts with"
                    <input type="text" name="action" value=q.action.clone() placeholder="organisation." list="audit-actions" />
                </label>
                <datalist id="audit-actions">
                    {["organisation.", "application.", "application.scope.", "application.secret.", "member.", "user.", "signin."]
                        .into_iter()
                        .map(|a| view! { <option value=a></option> })
                        .collect_view()}
                </datalist>
                <label>
                    "Organisation"
                    <input type="text" name="org" value=q.org.clone() placeholder="slug" list="audit-orgs" />
                </label>
                <datalist id="audit-orgs">
                    {d.organisations.into_iter().map(|o| view! { <option value=o></option> }).collect_view()}
                </datalist>
                <label>
                    "From"
                    <input type="date" name="since" value=q.since.clone() />
                </label>
                <label>
                    "To (inclusive)"
                    <input type="date" name="until" value=q.until.clone() />
                </label>
                <span class="button-row">
                    <button type="submit" class="button primary">"Filter"</button>
                    <a href="/admin/audit" class="button">"Clear"</a>
                </span>
            </form>
            {problem}
            {audit_table(d.entries, "Audit entries, newest first")}
            <p class="pager">{newest} " " {older}</p>
        </AdminFrame>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(encode("organisation."), "organisation.");
    }
}
