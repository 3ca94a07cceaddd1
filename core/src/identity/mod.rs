//! Who someone is and what they may do: users and their roles, password hashing, sessions and
//! sign-in links, the portal role matrix ([`permissions`]), and the [`ActorContext`] every
//! state-changing core function takes. How people get in (sign-up, sign-in, SSO, the first
//! admin) is [`crate::accounts`], which writes audit records; nothing here does.
//!
//! Invariants: emails are stored normalised ([`email::normalize`]); passwords only as Argon2
//! hashes; a core function re-reads its actor from the database ([`principal`]), so a stale
//! session never grants more than the user has now.

pub mod email;
pub mod passwords;
pub mod permissions;
pub mod sessions;
pub mod users;

use crate::{CoreError, CoreResult};
use permissions::{MemberRole, PortalAction, require};
use sqlx::AnyConnection;
use users::{Role, User};

/// The signed-in user behind a request, and where the request came from. Built by the web
/// layer from the session; the domain functions re-read the user's role and organisation from
/// the database, so a stale session never grants more than the user has now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorContext {
    pub user_id: String,
    pub email: String,
    /// The client's address as the web layer determined it (socket or trusted proxy).
    pub client_addr: String,
    /// The request id, when there is one, so the audit record can be matched to logs.
    pub request_id: Option<String>,
}

impl ActorContext {
    pub fn new(user: &User, client_addr: impl Into<String>) -> Self {
        Self {
            user_id: user.id.clone(),
            email: user.email.clone(),
            client_addr: client_addr.into(),
            request_id: None,
        }
    }

    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

/// The user behind an [`ActorContext`], as the database has it now.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    pub user: User,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// The user's organisation (internal partner id) and role in it.
    pub fn membership(&self) -> Option<(&str, MemberRole)> {
        match (&self.user.partner_id, self.user.partner_role) {
            (Some(partner), Some(role)) => Some((partner.as_str(), role)),
            _ => None,
        }
    }
}

/// Loads the acting user fresh from the database.
pub(crate) async fn principal(
    conn: &mut AnyConnection,
    ctx: &ActorContext,
) -> CoreResult<Principal> {
    let user = crate::identity::users::find_by_id(conn, &ctx.user_id)
        .await?
        .ok_or_else(|| CoreError::Forbidden("Your account no longer exists.".into()))?;
    Ok(Principal { user })
}

/// Loads the acting user and refuses anyone but an admin.
pub(crate) async fn require_admin(
    conn: &mut AnyConnection,
    ctx: &ActorContext,
) -> CoreResult<Principal> {
    let principal = principal(conn, ctx).await?;
    if principal.is_admin() {
        Ok(principal)
    } else {
        Err(CoreError::Forbidden(
            "Only platform administrators can do this.".into(),
        ))
    }
}

/// The caller's organisation and role, if `action` is allowed there; refuses users without an
/// organisation.
pub(crate) async fn require_member(
    conn: &mut AnyConnection,
    ctx: &ActorContext,
    action: PortalAction,
) -> CoreResult<(Principal, String, MemberRole)> {
    let principal = principal(conn, ctx).await?;
    let Some((partner, role)) = principal.membership() else {
        return Err(CoreError::Invalid(
            "Create or join an organisation first.".into(),
        ));
    };
    require(role, action)?;
    let partner = partner.to_owned();
    Ok((principal, partner, role))
}
