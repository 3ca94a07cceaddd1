//! Partner organisations: the tenants of the platform.

use crate::clock::{self, UnixTime};
use crate::{CoreError, CoreResult, ids};
use sqlx::{AnyConnection, FromRow};

/// The platform's own partner, whose one application runs the status probes. Its calls are
/// real partner calls through the token endpoint and the gateway, so they are logged under
/// this partner, never under a customer's, and reports about partners leave it out.
pub const PROBE_PARTNER: &str = "portico-status-probe";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartnerStatus {
    /// Signed up, waiting for an admin to approve the organisation.
    Pending,
    Approved,
    Suspended,
}

impl PartnerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::Pending => "pending",
            PartnerStatus::Approved => "approved",
            PartnerStatus::Suspended => "suspended",
        }
    }

    fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "pending" => Ok(PartnerStatus::Pending),
            "approved" => Ok(PartnerStatus::Approved),
            "suspended" => Ok(PartnerStatus::Suspended),
            other => Err(CoreError::Invalid(format!(
                "unknown partner status {other:?}"
            ))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partner {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub status: PartnerStatus,
    pub created_at: UnixTime,
}

#[derive(FromRow)]
struct PartnerRow {
    id: String,
    slug: String,
    name: String,
    status: String,
    created_at: i64,
}

impl TryFrom<PartnerRow> for Partner {
    type Error = CoreError;
    fn try_from(row: PartnerRow) -> CoreResult<Self> {
        Ok(Partner {
            id: row.id,
            slug: row.slug,
            status: PartnerStatus::parse(&row.status)?,
            name: row.name,
            created_at: row.created_at,
        })
    }
}

/// A slug is the partner's stable, URL-safe handle: lower-case letters, digits and dashes.
pub fn validate_slug(slug: &str) -> CoreResult<()> {
    let ok = (2..=63).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(CoreError::Invalid(format!(
            "partner id {slug:?} must be 2-63 lower-case letters, digits or dashes"
        )))
    }
}

pub async fn create(
    conn: &mut AnyConnection,
    slug: &str,
    name: &str,
    status: PartnerStatus,
) -> CoreResult<Partner> {
    validate_slug(slug)?;
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(CoreError::Invalid(
            "partner name must be 1-200 characters".into(),
        ));
    }
    let now = clock::now();
    let partner = Partner {
        id: ids::new_id("prt"),
        slug: slug.to_owned(),
        name: name.to_owned(),
        status,
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO partners (id, slug, name, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&partner.id)
    .bind(&partner.slug)
    .bind(&partner.name)
    .bind(status.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|e| match CoreError::from(e) {
        e if e.is_unique_violation() => CoreError::Conflict(format!("partner {slug:?} already exists")),
        e => e,
    })?;
    Ok(partner)
}

pub async fn find_by_slug(conn: &mut AnyConnection, slug: &str) -> CoreResult<Option<Partner>> {
    sqlx::query_as::<_, PartnerRow>(
        "SELECT id, slug, name, status, created_at FROM partners WHERE slug = $1",
    )
    .bind(slug)
    .fetch_optional(&mut *conn)
    .await?
    .map(Partner::try_from)
    .transpose()
}

pub async fn list(conn: &mut AnyConnection) -> CoreResult<Vec<Partner>> {
    sqlx::query_as::<_, PartnerRow>(
        "SELECT id, slug, name, status, created_at FROM partners ORDER BY created_at, id",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Partner::try_from)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_validated() {
        assert!(validate_slug("acme-logistics").is_ok());
        assert!(validate_slug("a").is_err());
        assert!(validate_slug("Acme").is_err());
        assert!(validate_slug("-acme").is_err());
        assert!(validate_slug("acme_co").is_err());
    }
}
