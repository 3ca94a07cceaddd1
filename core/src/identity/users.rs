//! People who sign in to the portal: admins and partner developers.

use crate::clock::{self, UnixTime};
use crate::identity::email;
use crate::identity::permissions::MemberRole;
use crate::secret::{PlainSecret, SecretKind};
use crate::{CoreError, CoreResult, ids};
use sqlx::{AnyConnection, FromRow};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    Partner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Partner => "partner",
        }
    }

    pub(crate) fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "partner" => Ok(Role::Partner),
            other => Err(CoreError::Invalid(format!("unknown role {other:?}"))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// The organisation (internal partner id) the user belongs to, if any.
    pub partner_id: Option<String>,
    /// The user's role in that organisation (set together with `partner_id`).
    pub partner_role: Option<MemberRole>,
    pub created_at: UnixTime,
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    display_name: String,
    role: String,
    partner_id: Option<String>,
    partner_role: Option<String>,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = CoreError;
    fn try_from(row: UserRow) -> CoreResult<Self> {
        Ok(User {
            role: Role::parse(&row.role)?,
            partner_role: row
                .partner_role
                .as_deref()
                .map(MemberRole::parse)
                .transpose()?,
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            partner_id: row.partner_id,
            created_at: row.created_at,
        })
    }
}

pub(crate) const USER_COLUMNS: &str =
    "id, email, display_name, role, partner_id, partner_role, created_at";

pub async fn create(conn: &mut AnyConnection, email_input: &str, role: Role) -> CoreResult<User> {
    let email = email::normalize(email_input)?;
    let now = clock::now();
    let display_name = email.split('@').next().unwrap_or_default().to_owned();
    let user = User {
        id: ids::new_id("usr"),
        email,
        display_name,
        role,
        partner_id: None,
        partner_role: None,
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO users (id, email, display_name, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&user.id)
    .bind(&user.email)
    .bind(&user.display_name)
    .bind(role.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|e| match CoreError::from(e) {
        e if e.is_unique_violation() => {
            CoreError::Conflict(format!("a user with email {} already exists", user.email))
        }
        e => e,
    })?;
    Ok(user)
}

pub async fn find_by_email(
    conn: &mut AnyConnection,
    email_input: &str,
) -> CoreResult<Option<User>> {
    let email = email::normalize(email_input)?;
    sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?
    .map(User::try_from)
    .transpose()
}

/// The user with this id, if any.
pub async fn find_by_id(conn: &mut AnyConnection, user_id: &str) -> CoreResult<Option<User>> {
    sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(User::try_from)
        .transpose()
}

/// How long a one-time sign-in link stays valid.
pub const SIGN_IN_LINK_TTL_SECS: i64 = 24 * 60 * 60;

/// Issues a one-time sign-in token for `user`; only its hash is stored.
pub async fn issue_sign_in_token(
    conn: &mut AnyConnection,
    user: &User,
    purpose: &str,
) -> CoreResult<PlainSecret> {
    let token = PlainSecret::generate(SecretKind::SignInToken);
    let now = clock::now();
    sqlx::query(
        "INSERT INTO sign_in_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token.hash().to_hex())
    .bind(&user.id)
    .bind(purpose)
    .bind(now)
    .bind(now + SIGN_IN_LINK_TTL_SECS)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// Redeems a one-time sign-in token: returns its user if the token exists, is unexpired and
/// unused, and marks it used in the same statement so it cannot be redeemed twice.
pub async fn redeem_sign_in_token(
    conn: &mut AnyConnection,
    token: &PlainSecret,
) -> CoreResult<Option<User>> {
    let now = clock::now();
    let user_id: Option<String> = sqlx::query_scalar(
        "UPDATE sign_in_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
    )
    .bind(now)
    .bind(token.hash().to_hex())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(User::try_from)
        .transpose()
}
