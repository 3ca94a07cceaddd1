//! Members of an organisation and their roles; an organisation always keeps an owner.

use super::*;
use crate::audit;
use crate::clock::{self};
use crate::identity;
use crate::identity::permissions::{self, MemberRole, PortalAction};
use crate::identity::{ActorContext, Principal};
use crate::{CoreError, CoreResult, Database};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

/// A member of an organisation.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    #[sqlx(try_from = "String")]
    pub role: MemberRole,
}

impl TryFrom<String> for MemberRole {
    type Error = CoreError;
    fn try_from(s: String) -> CoreResult<Self> {
        MemberRole::parse(&s)
    }
}

/// The members of an organisation, owners first.
pub async fn list_members(
    db: &Database,
    ctx: &ActorContext,
    partner_id: &str,
) -> CoreResult<Vec<Member>> {
    let mut conn = db.pool().acquire().await?;
    require_in_org(&mut conn, ctx, partner_id, PortalAction::ViewMembers).await?;
    members(&mut conn, partner_id).await
}

async fn members(conn: &mut AnyConnection, partner_id: &str) -> CoreResult<Vec<Member>> {
    let mut list: Vec<Member> = sqlx::query_as(
        "SELECT id AS user_id, email, display_name, partner_role AS role FROM users \
         WHERE partner_id = $1 AND partner_role IS NOT NULL ORDER BY email",
    )
    .bind(partner_id)
    .fetch_all(&mut *conn)
    .await?;
    list.sort_by_key(|m| m.role);
    Ok(list)
}

/// The member `user_id` of the caller's organisation (NotFound otherwise), with the caller.
async fn member_of_callers_org(
    conn: &mut AnyConnection,
    ctx: &ActorContext,
    user_id: &str,
    action: Option<PortalAction>,
) -> CoreResult<(Principal, String, Member)> {
    let principal = identity::principal(conn, ctx).await?;
    let Some((partner, role)) = principal.membership() else {
        return Err(CoreError::NotFound { what: "member" });
    };
    if let Some(action) = action {
        permissions::require(role, action)?;
    }
    let partner = partner.to_owned();
    let member = members(conn, &partner)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or(CoreError::NotFound { what: "member" })?;
    Ok((principal, partner, member))
}

async fn owner_count(conn: &mut AnyConnection, partner_id: &str) -> CoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE partner_id = $1 AND partner_role = 'owner'",
    )
    .bind(partner_id)
    .fetch_one(&mut *conn)
    .await?)
}

const LAST_OWNER: &str =
    "An organisation needs at least one owner: make another member an owner first.";

pub(super) async fn slug_of(conn: &mut AnyConnection, partner_id: &str) -> CoreResult<String> {
    Ok(load(conn, partner_id).await?.slug)
}

/// Changes a member's role (owners only). The last owner cannot be demoted.
pub async fn change_member_role(
    db: &Database,
    ctx: &ActorContext,
    member_user_id: &str,
    role: MemberRole,
) -> CoreResult<()> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (_, partner, member) = member_of_callers_org(
        &mut tx,
        ctx,
        member_user_id,
        Some(PortalAction::ManageMembers),
    )
    .await?;
    if member.role == role {
        return Ok(());
    }
    if member.role == MemberRole::Owner && owner_count(&mut tx, &partner).await? <= 1 {
        return Err(CoreError::Invalid(LAST_OWNER.into()));
    }
    sqlx::query("UPDATE users SET partner_role = $1, updated_at = $2 WHERE id = $3")
        .bind(role.as_str())
        .bind(clock::now())
        .bind(member_user_id)
        .execute(&mut *tx)
        .await?;
    let slug = slug_of(&mut tx, &partner).await?;
    tx.record(
        "organisation.member.role_changed",
        Some(member_user_id),
        Some(&slug),
        &json!({"email": member.email, "from": member.role.as_str(), "to": role.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a member (owners only), or lets any member leave (`member_user_id` = the caller).
/// The last owner can neither be removed nor leave.
pub async fn remove_member(
    db: &Database,
    ctx: &ActorContext,
    member_user_id: &str,
) -> CoreResult<()> {
    let leaving = member_user_id == ctx.user_id;
    let mut tx = audit::Write::begin(db, ctx).await?;
    let action = (!leaving).then_some(PortalAction::ManageMembers);
    let (_, partner, member) = member_of_callers_org(&mut tx, ctx, member_user_id, action).await?;
    if member.role == MemberRole::Owner && owner_count(&mut tx, &partner).await? <= 1 {
        return Err(CoreError::Invalid(LAST_OWNER.into()));
    }
    sqlx::query(
        "UPDATE users SET partner_id = NULL, partner_role = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(clock::now())
    .bind(member_user_id)
    .execute(&mut *tx)
    .await?;
    let slug = slug_of(&mut tx, &partner).await?;
    let action = if leaving {
        "organisation.member.left"
    } else {
        "organisation.member.removed"
    };
    tx.record(
        action,
        Some(member_user_id),
        Some(&slug),
        &json!({"email": member.email, "role": member.role.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
