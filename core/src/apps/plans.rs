//! Usage plans as data: named plans (token-bucket rate + burst, a quota per UTC calendar day or
//! month, whether an API key is required), per-application overrides, per-application IP
//! allowlists, and the API-key lookups the gateway needs (gateway steps 4-6 of the design).
//!
//! The gateway reads the merged view, [`EffectivePlan`], once per application and caches it;
//! admins change plans through [`set_plan`], [`set_override`] and [`set_ip_allowlist`].

use crate::apps::applications::{self, Application};
use crate::audit;
use crate::authz::scopes::Scopes;
use crate::changes::Change;
use crate::clock::UnixTime;
use crate::identity::{self, ActorContext};
use crate::net::{Cidr, CidrError};
use crate::secret::HashedSecret;
use crate::{CoreError, CoreResult, Database, clock};
use serde_json::json;
use sqlx::AnyConnection;
use sqlx::FromRow;
use std::fmt;
use std::net::IpAddr;
use time::{Date, Month, OffsetDateTime};

/// The plan of new applications (`applications.usage_plan` defaults to it), and the plan used
/// when an application names a plan that no longer exists.
pub const DEFAULT_PLAN: &str = "sandbox";

/// At most this many CIDRs in one application's allowlist.
pub const MAX_ALLOWLIST_ENTRIES: usize = 100;

/// Upper bounds on plan numbers, so a typo cannot overflow a counter.
pub const MAX_RATE_PER_SECOND: u64 = 1_000_000;
pub const MAX_BURST: u64 = 10_000_000;
pub const MAX_QUOTA: u64 = 1_000_000_000_000;

/// The calendar period a quota counts over (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuotaPeriod {
    Day,
    Month,
}

/// One concrete period: `[start, end)` in unix seconds and a compact id (`20261125` for a
/// day, `202611` for a month) for counter keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeriodWindow {
    pub id: i64,
    pub start: UnixTime,
    pub end: UnixTime,
}

impl QuotaPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaPeriod::Day => "day",
            QuotaPeriod::Month => "month",
        }
    }

    pub fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "day" => Ok(QuotaPeriod::Day),
            "month" => Ok(QuotaPeriod::Month),
            other => Err(CoreError::Invalid(format!(
                "unknown quota period {other:?}: expected \"day\" or \"month\""
            ))),
        }
    }

    /// Nominal length in seconds (a month counts as 30 days), for the `w` of
    /// `RateLimit-Policy`. The real reset time comes from [`QuotaPeriod::window`].
    pub fn nominal_secs(self) -> u64 {
        match self {
            QuotaPeriod::Day => 86_400,
            QuotaPeriod::Month => 30 * 86_400,
        }
    }

    /// The UTC calendar period that contains `at`.
    pub fn window(self, at: UnixTime) -> PeriodWindow {
        let date = OffsetDateTime::from_unix_timestamp(at)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .date();
        let (year, month, day) = (date.year(), date.month(), date.day());
        let midnight = |d: Date| d.midnight().assume_utc().unix_timestamp();
        let calendar = match self {
            QuotaPeriod::Day => date.next_day().map(|next| PeriodWindow {
                id: i64::from(year) * 10_000 + i64::from(u8::from(month)) * 100 + i64::from(day),
                start: midnight(date),
                end: midnight(next),
            }),
            QuotaPeriod::Month => {
                let (next_year, next_month) = match month {
                    Month::December => (year + 1, Month::January),
                    m => (year, m.next()),
                };
                Date::from_calendar_date(year, month, 1)
                    .ok()
                    .zip(Date::from_calendar_date(next_year, next_month, 1).ok())
                    .map(|(first, next)| PeriodWindow {
                        id: i64::from(year) * 100 + i64::from(u8::from(month)),
                        start: midnight(first),
                        end: midnight(next),
                    })
            }
        };
        // Only at the very end of the calendar `time` supports; keep counting sensibly.
        calendar.unwrap_or(PeriodWindow {
            id: at,
            start: at,
            end: at.saturating_add(86_400),
        })
    }
}

impl fmt::Display for QuotaPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether calls must carry the application's `x-api-key`. A key that is presented is always
/// checked, whatever the plan says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiKeyRequirement {
    Required,
    Optional,
}

impl ApiKeyRequirement {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyRequirement::Required => "required",
            ApiKeyRequirement::Optional => "optional",
        }
    }

    pub fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "required" => Ok(ApiKeyRequirement::Required),
            "optional" => Ok(ApiKeyRequirement::Optional),
            other => Err(CoreError::Invalid(format!(
                "unknown API key requirement {other:?}: expected \"required\" or \"optional\""
            ))),
        }
    }
}

/// A named usage plan as stored in `usage_plans`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsagePlan {
    pub name: String,
    pub description: String,
    /// Token-bucket refill rate, requests per second.
    pub rate_per_second: u64,
    /// Token-bucket capacity: requests allowed at once after a quiet period.
    pub burst: u64,
    /// Requests per [`UsagePlan::quota_period`].
    pub quota: u64,
    pub quota_period: QuotaPeriod,
    pub api_key: ApiKeyRequirement,
}

/// Per-application deviations from the plan; `None` keeps the plan's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LimitOverride {
    pub rate_per_second: Option<u64>,
    pub burst: Option<u64>,
    pub quota: Option<u64>,
    pub quota_period: Option<QuotaPeriod>,
    pub api_key: Option<ApiKeyRequirement>,
}

impl LimitOverride {
    pub fn is_empty(&self) -> bool {
        *self == LimitOverride::default()
    }

    fn validate(&self) -> CoreResult<()> {
        check_range("rate_per_second", self.rate_per_second, MAX_RATE_PER_SECOND)?;
        check_range("burst", self.burst, MAX_BURST)?;
        check_range("quota", self.quota, MAX_QUOTA)?;
        Ok(())
    }
}

fn check_range(field: &str, value: Option<u64>, max: u64) -> CoreResult<()> {
    match value {
        Some(v) if v == 0 || v > max => Err(CoreError::Invalid(format!(
            "{field} must be between 1 and {max}"
        ))),
        _ => Ok(()),
    }
}

/// What the gateway enforces for one application: its plan with the overrides applied, plus
/// its IP allowlist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectivePlan {
    pub application_id: String,
    pub client_id: String,
    /// The plan's name (the default plan's when the application's plan no longer exists).
    pub plan: String,
    pub rate_per_second: u64,
    pub burst: u64,
    pub quota: u64,
    pub quota_period: QuotaPeriod,
    pub api_key: ApiKeyRequirement,
    /// Empty = any address.
    pub ip_allowlist: Vec<Cidr>,
    /// True when at least one override changed a value of the plan.
    pub overridden: bool,
    /// How quote packages are filtered for this application.
    pub provider_preferences: crate::apps::preferences::ProviderPreferences,
    /// Whether the application may call at all now.
    pub standing: Standing,
    /// The scopes the application holds now, sorted: a scope withdrawn after a token was
    /// issued no longer counts for that token.
    pub granted_scopes: Vec<String>,
    /// The application requires DPoP: unbound tokens are refused and proofs need a nonce.
    pub dpop_required: bool,
}

/// An application's standing, as the gateway enforces it on every call (not only when tokens
/// are issued), so a suspension stops tokens already out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Active,
    Suspended,
    OrganisationSuspended,
}

impl Standing {
    /// The refusal for a caller, or `None` when it may call.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Standing::Active => None,
            Standing::Suspended => Some(
                "This application is suspended: its tokens are refused until it is reactivated.",
            ),
            Standing::OrganisationSuspended => Some(
                "This application's partner organisation is suspended: its tokens are refused until it is reinstated.",
            ),
        }
    }
}

impl EffectivePlan {
    /// `plan` with `overrides` applied.
    pub fn merge(
        application_id: &str,
        client_id: &str,
        plan: &UsagePlan,
        overrides: &LimitOverride,
        ip_allowlist: Vec<Cidr>,
    ) -> Self {
        Self {
            application_id: application_id.to_owned(),
            client_id: client_id.to_owned(),
            plan: plan.name.clone(),
            rate_per_second: overrides.rate_per_second.unwrap_or(plan.rate_per_second),
            burst: overrides.burst.unwrap_or(plan.burst),
            quota: overrides.quota.unwrap_or(plan.quota),
            quota_period: overrides.quota_period.unwrap_or(plan.quota_period),
            api_key: overrides.api_key.unwrap_or(plan.api_key),
            ip_allowlist,
            overridden: !overrides.is_empty(),
            provider_preferences: crate::apps::preferences::ProviderPreferences::default(),
            standing: Standing::Active,
            granted_scopes: Vec::new(),
            dpop_required: false,
        }
    }

    /// Whether the application holds `scope` now.
    pub fn holds_scope(&self, scope: &str) -> bool {
        self.granted_scopes
            .binary_search_by(|held| held.as_str().cmp(scope))
            .is_ok()
    }

    /// The withdrawn-scope rule: the first scope the operation requires that the token carries
    /// but the application no longer holds (withdrawn after the token was issued). Such a
    /// token no longer counts for it: the gateway answers 403 `insufficient_scope`.
    #[inline]
    pub fn withdrawn_scope<'s>(
        &self,
        required: &'s [String],
        token_scopes: &Scopes,
    ) -> Option<&'s str> {
        required
            .iter()
            .find(|scope| !self.holds_scope(scope) && token_scopes.contains(scope))
            .map(String::as_str)
    }

    /// Whether `ip` may call with this application's tokens.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.ip_allowlist.is_empty() || self.ip_allowlist.iter().any(|c| c.contains(ip))
    }
}

/// The application an API key belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyOwner {
    pub key_id: String,
    pub application_id: String,
    pub client_id: String,
    /// The stored hash, for a constant-time re-check by the caller.
    pub key_hash: HashedSecret,
}

/// Parses an allowlist: CIDRs separated by spaces, commas or newlines. Duplicates are dropped;
/// the order is kept.
pub fn parse_allowlist(text: &str) -> Result<Vec<Cidr>, CidrError> {
    let mut out: Vec<Cidr> = Vec::new();
    for item in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let cidr: Cidr = item.parse()?;
        if !out.contains(&cidr) {
            out.push(cidr);
        }
    }
    if out.len() > MAX_ALLOWLIST_ENTRIES {
        return Err(CidrError(format!(
            "an IP allowlist holds at most {MAX_ALLOWLIST_ENTRIES} entries"
        )));
    }
    Ok(out)
}

/// The stored form: normalised CIDRs separated by single spaces.
pub fn format_allowlist(list: &[Cidr]) -> String {
    list.iter()
        .map(Cidr::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// Storage

#[derive(FromRow)]
struct PlanRow {
    name: String,
    description: String,
    rate_per_second: i64,
    burst: i64,
    quota: i64,
    quota_period: String,
    api_key: String,
}

fn to_u64(field: &str, v: i64) -> CoreResult<u64> {
    u64::try_from(v).map_err(|_| CoreError::Invalid(format!("stored {field} {v} is negative")))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl TryFrom<PlanRow> for UsagePlan {
    type Error = CoreError;
    fn try_from(row: PlanRow) -> CoreResult<Self> {
        Ok(UsagePlan {
            rate_per_second: to_u64("rate_per_second", row.rate_per_second)?,
            burst: to_u64("burst", row.burst)?,
            quota: to_u64("quota", row.quota)?,
            quota_period: QuotaPeriod::parse(&row.quota_period)?,
            api_key: ApiKeyRequirement::parse(&row.api_key)?,
            name: row.name,
            description: row.description,
        })
    }
}

const PLAN_SELECT: &str = "SELECT name, description, rate_per_second, burst, quota, quota_period, api_key FROM usage_plans";

/// Every plan, by name.
pub async fn list_plans(db: &Database) -> CoreResult<Vec<UsagePlan>> {
    sqlx::query_as::<_, PlanRow>(&format!("{PLAN_SELECT} ORDER BY name"))
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(UsagePlan::try_from)
        .collect()
}

pub async fn find_plan(db: &Database, name: &str) -> CoreResult<Option<UsagePlan>> {
    sqlx::query_as::<_, PlanRow>(&format!("{PLAN_SELECT} WHERE name = $1"))
        .bind(name)
        .fetch_optional(db.pool())
        .await?
        .map(UsagePlan::try_from)
        .transpose()
}

/// The plan called `name`, or an `Invalid` error listing the known plans (for `--plan` and
/// admin forms).
pub async fn require_plan(db: &Database, name: &str) -> CoreResult<UsagePlan> {
    if let Some(plan) = find_plan(db, name).await? {
        return Ok(plan);
    }
    let known: Vec<String> = list_plans(db).await?.into_iter().map(|p| p.name).collect();
    Err(CoreError::Invalid(format!(
        "unknown usage plan {name:?}; known plans: {}",
        known.join(", ")
    )))
}

/// Moves an application to another plan. Unknown plan names are refused.
pub async fn set_plan(db: &Database, application_id: &str, plan: &str) -> CoreResult<()> {
    require_plan(db, plan).await?;
    crate::apps::applications::set_field(
        db,
        application_id,
        crate::apps::applications::AppField::UsagePlan,
        plan,
    )
    .await
}

/// Replaces the application's overrides (an empty override removes them).
pub async fn set_override(
    db: &Database,
    application_id: &str,
    overrides: &LimitOverride,
) -> CoreResult<()> {
    overrides.validate()?;
    let mut tx = db.begin_write().await?;
    replace_override_in(&mut tx, application_id, overrides).await?;
    tx.commit().await?;
    Ok(())
}

/// [`set_override`] inside the caller's transaction (the overrides already validated).
async fn replace_override_in(
    conn: &mut AnyConnection,
    application_id: &str,
    overrides: &LimitOverride,
) -> CoreResult<()> {
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM applications WHERE id = $1")
        .bind(application_id)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(CoreError::NotFound {
            what: "application",
        });
    }
    sqlx::query("DELETE FROM application_limits WHERE application_id = $1")
        .bind(application_id)
        .execute(&mut *conn)
        .await?;
    if !overrides.is_empty() {
        sqlx::query(
            "INSERT INTO application_limits \
             (application_id, rate_per_second, burst, quota, quota_period, api_key, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(application_id)
        .bind(overrides.rate_per_second.map(to_i64))
        .bind(overrides.burst.map(to_i64))
        .bind(overrides.quota.map(to_i64))
        .bind(overrides.quota_period.map(QuotaPeriod::as_str))
        .bind(overrides.api_key.map(ApiKeyRequirement::as_str))
        .bind(clock::now())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// An admin moves an application to `plan` (empty: it keeps its plan) with `overrides`, in one
/// audited write (`application.plan.changed`). Returns the application as it was before, and
/// the plan it is on now.
pub async fn assign_plan(
    db: &Database,
    ctx: &ActorContext,
    application_id: &str,
    plan: &str,
    overrides: &LimitOverride,
) -> CoreResult<(Application, String)> {
    overrides.validate()?;
    // Reads first, on a connection given back before the write begins (a write never waits
    // for a second connection of the pool).
    let app = {
        let mut conn = db.pool().acquire().await?;
        identity::require_admin(&mut conn, ctx).await?;
        applications::find_by_id(&mut conn, application_id)
            .await?
            .ok_or(CoreError::NotFound {
                what: "application",
            })?
    };
    let plan = match plan.trim() {
        "" => app.usage_plan.clone(),
        plan => plan.to_owned(),
    };
    require_plan(db, &plan).await?;
    let before = limit_override(db, application_id).await?;
    // The application may have gone meanwhile: the override's write finds out (NotFound).
    let mut tx = audit::Write::begin(db, ctx).await?;
    sqlx::query("UPDATE applications SET usage_plan = $1, updated_at = $2 WHERE id = $3")
        .bind(&plan)
        .bind(clock::now())
        .bind(application_id)
        .execute(&mut *tx)
        .await?;
    replace_override_in(&mut tx, application_id, overrides).await?;
    let detail = json!({
        "application": app.name,
        "plan": {"from": app.usage_plan, "to": plan},
        "overrides": {
            "rate_per_second": overrides.rate_per_second,
            "burst": overrides.burst,
            "quota": overrides.quota,
            "quota_period": overrides.quota_period.map(QuotaPeriod::as_str),
            "api_key": overrides.api_key.map(ApiKeyRequirement::as_str),
            "changed": before != *overrides,
        },
    });
    tx.record(
        "application.plan.changed",
        Some(application_id),
        Some(&app.partner_id),
        &detail,
    )
    .await?;
    tx.changed(Change::Applications);
    tx.commit().await?;
    Ok((app, plan))
}

/// The application's overrides (all `None` when it has none).
pub async fn limit_override(db: &Database, application_id: &str) -> CoreResult<LimitOverride> {
    let row: Option<OverrideRow> = sqlx::query_as(
        "SELECT rate_per_second AS o_rate, burst AS o_burst, quota AS o_quota, \
         quota_period AS o_period, api_key AS o_api_key \
         FROM application_limits WHERE application_id = $1",
    )
    .bind(application_id)
    .fetch_optional(db.pool())
    .await?;
    row.map_or_else(|| Ok(LimitOverride::default()), OverrideRow::into_override)
}

#[derive(FromRow)]
struct OverrideRow {
    o_rate: Option<i64>,
    o_burst: Option<i64>,
    o_quota: Option<i64>,
    o_period: Option<String>,
    o_api_key: Option<String>,
}

impl OverrideRow {
    fn into_override(self) -> CoreResult<LimitOverride> {
        Ok(LimitOverride {
            rate_per_second: self
                .o_rate
                .map(|v| to_u64("rate_per_second", v))
                .transpose()?,
            burst: self.o_burst.map(|v| to_u64("burst", v)).transpose()?,
            quota: self.o_quota.map(|v| to_u64("quota", v)).transpose()?,
            quota_period: self
                .o_period
                .as_deref()
                .map(QuotaPeriod::parse)
                .transpose()?,
            api_key: self
                .o_api_key
                .as_deref()
                .map(ApiKeyRequirement::parse)
                .transpose()?,
        })
    }
}

/// Sets the application's IP allowlist (CIDRs separated by spaces or commas; empty = any
/// address) and returns it normalised.
pub async fn set_ip_allowlist(
    db: &Database,
    application_id: &str,
    allowlist: &str,
) -> CoreResult<Vec<Cidr>> {
    let list = parse_allowlist(allowlist)?;
    crate::apps::applications::set_field(
        db,
        application_id,
        crate::apps::applications::AppField::IpAllowlist,
        &format_allowlist(&list),
    )
    .await?;
    Ok(list)
}

#[derive(FromRow)]
struct EffectiveRow {
    application_id: String,
    client_id: String,
    usage_plan: String,
    ip_allowlist: String,
    provider_preferences: String,
    status: String,
    scopes: String,
    partner_status: String,
    dpop_required_at: Option<i64>,
    #[sqlx(flatten)]
    overrides: OverrideRow,
}

const EFFECTIVE_SELECT: &str = "SELECT a.id AS application_id, a.client_id, a.usage_plan, a.ip_allowlist, a.provider_preferences, \
     a.status, a.scopes, p.status AS partner_status, a.dpop_required_at, \
     l.rate_per_second AS o_rate, l.burst AS o_burst, l.quota AS o_quota, \
     l.quota_period AS o_period, l.api_key AS o_api_key \
     FROM applications a JOIN partners p ON p.id = a.partner_id \
     LEFT JOIN application_limits l ON l.application_id = a.id";

/// The limits the gateway enforces for an application: its plan merged with its overrides.
pub async fn effective_plan(db: &Database, application_id: &str) -> CoreResult<EffectivePlan> {
    load_effective(db, "a.id", application_id)
        .await?
        .ok_or(CoreError::NotFound {
            what: "application",
        })
}

/// Like [`effective_plan`], by OAuth `client_id` (what an access token carries). `None` when
/// no application has that client id.
pub async fn effective_plan_for_client(
    db: &Database,
    client_id: &str,
) -> CoreResult<Option<EffectivePlan>> {
    load_effective(db, "a.client_id", client_id).await
}

async fn load_effective(
    db: &Database,
    column: &str,
    value: &str,
) -> CoreResult<Option<EffectivePlan>> {
    let row: Option<EffectiveRow> =
        sqlx::query_as(&format!("{EFFECTIVE_SELECT} WHERE {column} = $1"))
            .bind(value)
            .fetch_optional(db.pool())
            .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let plan = match find_plan(db, &row.usage_plan).await? {
        Some(plan) => plan,
        None => {
            tracing::warn!(
                application_id = %row.application_id,
                plan = %row.usage_plan,
                "the application's usage plan does not exist; using the default plan"
            );
            find_plan(db, DEFAULT_PLAN)
                .await?
                .ok_or(CoreError::NotFound {
                    what: "default usage plan",
                })?
        }
    };
    // A stored list was validated when it was set; an entry that no longer parses is skipped
    // (with a warning) rather than opening the application to every address.
    let mut allowlist = Vec::new();
    for item in row.ip_allowlist.split_whitespace() {
        match item.parse::<Cidr>() {
            Ok(cidr) => allowlist.push(cidr),
            Err(e) => tracing::warn!(
                application_id = %row.application_id,
                error = %e,
                "skipping an unreadable IP allowlist entry"
            ),
        }
    }
    if allowlist.is_empty() && !row.ip_allowlist.trim().is_empty() {
        // Every entry was unreadable: deny all rather than allow all.
        allowlist.push(Cidr::host(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)));
    }
    let overrides = row.overrides.into_override()?;
    let mut effective = EffectivePlan::merge(
        &row.application_id,
        &row.client_id,
        &plan,
        &overrides,
        allowlist,
    );
    effective.provider_preferences =
        crate::apps::preferences::parse_stored(&row.application_id, &row.provider_preferences);
    // Anything but plainly active is refused: an unknown status must not open the gateway.
    effective.standing = match (row.status.as_str(), row.partner_status.as_str()) {
        (_, "suspended") => Standing::OrganisationSuspended,
        ("active", _) => Standing::Active,
        _ => Standing::Suspended,
    };
    let mut granted: Vec<String> = row.scopes.split_whitespace().map(str::to_owned).collect();
    granted.sort_unstable();
    granted.dedup();
    effective.granted_scopes = granted;
    effective.dpop_required = row.dpop_required_at.is_some();
    Ok(Some(effective))
}

/// The live (not revoked) API key with this hash, and its application.
pub async fn find_api_key(
    db: &Database,
    key_hash: &HashedSecret,
) -> CoreResult<Option<ApiKeyOwner>> {
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT k.id, k.application_id, a.client_id, k.key_hash FROM api_keys k \
         JOIN applications a ON a.id = k.application_id \
         WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
    )
    .bind(key_hash.to_hex())
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(|(key_id, application_id, client_id, hash)| {
        HashedSecret::from_hex(&hash).map(|key_hash| ApiKeyOwner {
            key_id,
            application_id,
            client_id,
            key_hash,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_scope_withdrawn_after_the_token_was_issued_no_longer_counts() {
        let plan = UsagePlan {
            name: "sandbox".into(),
            description: String::new(),
            rate_per_second: 10,
            burst: 10,
            quota: 100,
            quota_period: QuotaPeriod::Day,
            api_key: ApiKeyRequirement::Optional,
        };
        let mut effective =
            EffectivePlan::merge("app", "pci", &plan, &LimitOverride::default(), vec![]);
        effective.granted_scopes = vec!["orders:read".into()];
        let token = Scopes::parse("orders:read orders:write").unwrap();
        let required = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        // Held and carried: counts.
        assert_eq!(
            effective.withdrawn_scope(&required(&["orders:read"]), &token),
            None
        );
        // Carried by the token, no longer held by the application: withdrawn.
        let both = required(&["orders:read", "orders:write"]);
        assert_eq!(
            effective.withdrawn_scope(&both, &token),
            Some("orders:write")
        );
        // Never carried by the token: not a withdrawal (the policies refuse it on their own).
        let other = Scopes::parse("orders:read").unwrap();
        assert_eq!(effective.withdrawn_scope(&both, &other), None);
    }

    #[test]
    fn allowlists_normalise_and_deduplicate() {
        let list = parse_allowlist(" 10.0.0.0/8,2001:DB8::/32\n10.0.0.0/8  192.0.2.1 ").unwrap();
        assert_eq!(
            format_allowlist(&list),
            "10.0.0.0/8 2001:db8::/32 192.0.2.1/32"
        );
        assert!(parse_allowlist("").unwrap().is_empty());
        assert!(parse_allowlist("10.0.0.0/8 nonsense").is_err());
        let too_many: Vec<String> = (0..=MAX_ALLOWLIST_ENTRIES)
            .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
            .collect();
        assert!(parse_allowlist(&too_many.join(" ")).is_err());
    }

    #[test]
    fn merge_applies_only_the_overridden_values() {
        let plan = UsagePlan {
            name: "standard".into(),
            description: String::new(),
            rate_per_second: 50,
            burst: 100,
            quota: 10_000,
            quota_period: QuotaPeriod::Month,
            api_key: ApiKeyRequirement::Required,
        };
        let plain = EffectivePlan::merge("app", "pci", &plan, &LimitOverride::default(), vec![]);
        assert_eq!(
            (plain.rate_per_second, plain.burst, plain.quota),
            (50, 100, 10_000)
        );
        assert!(!plain.overridden);
        let overrides = LimitOverride {
            burst: Some(7),
            api_key: Some(ApiKeyRequirement::Optional),
            ..LimitOverride::default()
        };
        let merged = EffectivePlan::merge("app", "pci", &plan, &overrides, vec![]);
        assert_eq!(merged.rate_per_second, 50);
        assert_eq!(merged.burst, 7);
        assert_eq!(merged.quota_period, QuotaPeriod::Month);
        assert_eq!(merged.api_key, ApiKeyRequirement::Optional);
        assert!(merged.overridden);
        assert!(merged.allows_ip(ip("1.2.3.4")), "empty allowlist = any");
    }

    #[test]
    fn override_bounds_are_checked() {
        let zero = LimitOverride {
            rate_per_second: Some(0),
            ..LimitOverride::default()
        };
        assert!(zero.validate().is_err());
        let huge = LimitOverride {
            quota: Some(MAX_QUOTA + 1),
            ..LimitOverride::default()
        };
        assert!(huge.validate().is_err());
    }

    #[test]
    fn periods_are_utc_calendar_days_and_months() {
        // 2026-11-25T13:14:15Z
        let at = 1_795_612_455;
        let day = QuotaPeriod::Day.window(at);
        assert_eq!(day.id, 20_261_125);
        assert_eq!(day.start, 1_795_564_800); // 2026-11-25T00:00:00Z
        assert_eq!(day.end, day.start + 86_400);
        let month = QuotaPeriod::Month.window(at);
        assert_eq!(month.id, 202_611);
        assert_eq!(month.start, 1_793_491_200); // 2026-11-01T00:00:00Z
        assert_eq!(month.end, 1_796_083_200); // 2026-12-01T00:00:00Z
        // December rolls into January of the next year.
        let december = QuotaPeriod::Month.window(1_796_083_200 + 10);
        assert_eq!(december.id, 202_612);
        assert_eq!(december.end, 1_798_761_600); // 2027-01-01T00:00:00Z
        // The last second of a period still belongs to it; the end belongs to the next.
        assert_eq!(QuotaPeriod::Day.window(day.end - 1).id, day.id);
        assert_eq!(QuotaPeriod::Day.window(day.end).id, 20_261_126);
    }
}
