//! Access to one application: a member of the owning organisation with a role that allows the
//! action, or a platform admin where admins may act; anyone else is told it does not exist.

use crate::apps::applications::{self, Application};
use crate::identity::permissions::{MemberRole, PortalAction, admin_permits, permits, require};
use crate::identity::{self, ActorContext, Principal};
use crate::{CoreError, CoreResult, Database};
use sqlx::AnyConnection;

/// How the caller got access to an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A member of the owning organisation, with this role.
    Member(MemberRole),
    /// A platform admin who is not a member of the owning organisation.
    Admin,
}

/// The application `app_id` if the caller may do `action` on it. An application of another
/// organisation (or none at all) is `NotFound`, never a refusal that confirms it exists; a
/// member whose role lacks the action gets [`CoreError::Forbidden`].
pub async fn authorize_app_access(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    action: PortalAction,
) -> CoreResult<Application> {
    let mut conn = db.pool().acquire().await?;
    let (app, _, _) = authorize_app_in(&mut conn, ctx, app_id, action).await?;
    Ok(app)
}

/// [`authorize_app_access`] on a connection (inside a transaction), also returning the
/// principal, how access was granted and the owning organisation's internal id.
pub(crate) async fn authorize_app_in(
    conn: &mut AnyConnection,
    ctx: &ActorContext,
    app_id: &str,
    action: PortalAction,
) -> CoreResult<(Application, Principal, Access)> {
    let principal = identity::principal(conn, ctx).await?;
    let not_found = || CoreError::NotFound {
        what: "application",
    };
    let owner: Option<String> =
        sqlx::query_scalar("SELECT partner_id FROM applications WHERE id = $1")
            .bind(app_id)
            .fetch_optional(&mut *conn)
            .await?;
    let owner = owner.ok_or_else(not_found)?;
    let access = match principal.membership() {
        Some((partner, role)) if partner == owner => {
            let admin_may = principal.is_admin() && admin_permits(action);
            if !(permits(role, action) || admin_may) {
                require(role, action)?;
            }
            Access::Member(role)
        }
        _ if principal.is_admin() => {
            if !admin_permits(action) {
                return Err(CoreError::Forbidden(format!(
                    "Administrators cannot do this on a partner's application ({}).",
                    action.describe()
                )));
            }
            Access::Admin
        }
        _ => return Err(not_found()),
    };
    let app = applications::find_by_id(conn, app_id)
        .await?
        .ok_or_else(not_found)?;
    Ok((app, principal, access))
}
