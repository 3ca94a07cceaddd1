//! First start: the installation's first admin and its one-time sign-in link.

use crate::audit::events::{self, Actor, NewAuditEvent};
use crate::identity::users::{self, Role, User};
use crate::secret::PlainSecret;
use crate::{CoreResult, Database, clock, settings};
use sqlx::AnyConnection;

/// The email of the admin made on first start; the admin can add real accounts afterwards.
pub const BOOTSTRAP_ADMIN_EMAIL: &str = "admin@portico.localhost";

const BOOTSTRAP_DONE: &str = "bootstrap.completed_at";

/// An admin and the one-time token of their sign-in link (shown once, stored hashed).
#[derive(Debug)]
pub struct AdminInvite {
    pub user: User,
    pub sign_in_token: PlainSecret,
}

/// Runs once per database: creates the bootstrap admin unless an admin already exists, and
/// returns the invite to print. Every later call (or a concurrent call from another process)
/// returns `None`.
pub async fn first_start(db: &Database) -> CoreResult<Option<AdminInvite>> {
    let mut tx = db.begin_write().await?;
    let now = clock::now().to_string();
    if !settings::insert_if_absent(&mut tx, BOOTSTRAP_DONE, &now).await? {
        return Ok(None);
    }
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
        .fetch_one(&mut *tx)
        .await?;
    let invite = if admins == 0 {
        Some(invite_admin(&mut tx, BOOTSTRAP_ADMIN_EMAIL, &Actor::System, "bootstrap").await?)
    } else {
        None
    };
    tx.commit().await?;
    Ok(invite)
}

/// `portico admin create --email E`: a new admin with a one-time sign-in link.
pub async fn create_admin(db: &Database, email: &str, actor: &Actor) -> CoreResult<AdminInvite> {
    let mut tx = db.begin_write().await?;
    let invite = invite_admin(&mut tx, email, actor, "admin_invite").await?;
    tx.commit().await?;
    Ok(invite)
}

async fn invite_admin(
    conn: &mut AnyConnection,
    email: &str,
    actor: &Actor,
    purpose: &str,
) -> CoreResult<AdminInvite> {
    let user = users::create(conn, email, Role::Admin).await?;
    let sign_in_token = users::issue_sign_in_token(conn, &user, purpose).await?;
    events::record_event(
        conn,
        NewAuditEvent {
            actor: actor.clone(),
            action: "admin.created",
            target: Some(&user.id),
            partner_id: None,
            request_id: None,
            detail: &format!(r#"{{"email":{:?},"via":{purpose:?}}}"#, user.email),
        },
    )
    .await?;
    Ok(AdminInvite {
        user,
        sign_in_token,
    })
}
