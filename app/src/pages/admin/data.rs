//! The admin console's data: what each console page shows, the `#[server]` functions that read
//! it, and (`ssr`) the reads themselves, made with the signed-in admin's context.

use leptos::prelude::*;
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
    /// Partners' identity providers (federation), pending first.
    pub identity_providers: Vec<IdpRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpRow {
    pub id: String,
    pub organisation_name: String,
    pub organisation_slug: String,
    pub issuer: String,
    pub jwks_url: String,
    pub audience: String,
    pub workload_claim: String,
    pub status: String,
    pub mappings: usize,
    pub direct_access: bool,
    pub updated_at: i64,
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
    use crate::components::format::format_time;
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
        let identity_providers =
            portico_core::orgs::federation::list_identity_providers(&db, &ctx, None)
                .await
                .map_err(page_error)?
                .into_iter()
                .map(|idp| IdpRow {
                    id: idp.id,
                    organisation_name: idp.partner_name,
                    organisation_slug: idp.partner_slug,
                    issuer: idp.issuer,
                    jwks_url: idp.jwks_url,
                    audience: idp.audience,
                    workload_claim: idp.workload_claim,
                    status: idp.status.as_str().to_owned(),
                    mappings: idp.mappings.len(),
                    direct_access: idp.direct_access,
                    updated_at: idp.updated_at,
                })
                .collect();
        Ok(PartnersData {
            counts,
            organisations: rows,
            identity_providers,
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
                        format_time(s.at)
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
            match super::super::parse_date(text) {
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
