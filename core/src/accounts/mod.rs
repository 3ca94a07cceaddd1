//! How people get in: sign-up, password sign-in with throttling, password changes, single
//! sign-on users, and the installation's first admin ([`bootstrap`]). Each writes its audit
//! record in the same transaction, in an [`audit::Write`]; a failed sign-in (no actor) records
//! itself as anonymous, and an SSO sign-in, whose user is only found or made inside its
//! transaction, writes with [`audit::record`] directly.
//!
//! **Throttling.** Failed sign-ins are counted per normalised email (`email:<address>`) and per
//! client address (`addr:<address>`) in `sign_in_failures`. After [`MAX_FAILURES`] failures
//! within [`FAILURE_WINDOW_SECS`] the subject is blocked for [`FIRST_BLOCK_SECS`], doubling with
//! each further failure up to [`MAX_BLOCK_SECS`]; while blocked, sign-ins are refused without
//! checking the password. A successful sign-in (or a new password) clears the account's
//! counter; the address counter runs out on its own, so one good account does not unlock an
//! address that is guessing at many.
//!
//! Bootstrap admins sign in once through their one-time link
//! ([`crate::identity::users::redeem_sign_in_token`]) and then call [`set_password`].

pub mod bootstrap;

use crate::audit;
use crate::clock::{self, UnixTime};
use crate::identity;
use crate::identity::ActorContext;
use crate::identity::email;
use crate::identity::passwords::{self, PasswordHash};
use crate::identity::users::{Role, USER_COLUMNS, User, UserRow};
use crate::{CoreError, CoreResult, Database, ids};
use serde_json::json;
use sqlx::AnyConnection;

/// Failures that trigger a block.
pub const MAX_FAILURES: i64 = 5;
/// The window in which failures are counted.
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
/// The first block; each further failure doubles it.
pub const FIRST_BLOCK_SECS: i64 = 30;
/// The longest block.
pub const MAX_BLOCK_SECS: i64 = 15 * 60;

/// Why a sign-in was refused. `Display` is the message to show.
#[derive(Debug, thiserror::Error)]
pub enum SignInRefusal {
    /// Unknown email, wrong password or an account without a password: deliberately one answer.
    #[error("Email or password is incorrect.")]
    WrongCredentials,
    #[error(
        "Too many failed sign-ins for this account or address; try again in {retry_after_secs} seconds."
    )]
    Throttled { retry_after_secs: i64 },
    /// Storage failed; not the user's fault.
    #[error(transparent)]
    Other(#[from] CoreError),
}

impl From<sqlx::Error> for SignInRefusal {
    fn from(e: sqlx::Error) -> Self {
        SignInRefusal::Other(e.into())
    }
}

/// Largest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 100;

fn clean_display_name(display_name: &str, email: &str) -> CoreResult<String> {
    let name = display_name.trim();
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(CoreError::Invalid(format!(
            "Your name must be at most {MAX_DISPLAY_NAME} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(CoreError::Invalid(
            "Your name cannot contain control characters.".into(),
        ));
    }
    Ok(if name.is_empty() {
        email.split('@').next().unwrap_or_default().to_owned()
    } else {
        name.to_owned()
    })
}

/// Creates a partner account (no organisation yet) with a password. A taken email is a
/// `Conflict` whose message does not say more than that the address cannot be used here.
pub async fn sign_up(
    db: &Database,
    email_input: &str,
    display_name: &str,
    password: &str,
    client_addr: &str,
) -> CoreResult<User> {
    let email = email::normalize(email_input)?;
    let display_name = clean_display_name(display_name, &email)?;
    passwords::validate_new_password(password, &email)?;
    let hash = passwords::hash_password(password).await?;
    let now = clock::now();
    let user = User {
        id: ids::new_id("usr"),
        email,
        display_name,
        role: Role::Partner,
        partner_id: None,
        partner_role: None,
        created_at: now,
    };
    let ctx = ActorContext::new(&user, client_addr);
    let mut tx = audit::Write::begin(db, &ctx).await?;
    sqlx::query(
        "INSERT INTO users (id, email, display_name, role, password_hash, password_changed_at, created_at, updated_at) \
         VALUES ($1, $2, $3, 'partner', $4, $5, $5, $5)",
    )
    .bind(&user.id)
    .bind(&user.email)
    .bind(&user.display_name)
    .bind(hash.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| match CoreError::from(e) {
        e if e.is_unique_violation() => CoreError::Conflict(
            "An account already uses this email address. Sign in instead, or use another address.".into(),
        ),
        e => e,
    })?;
    tx.record("user.signed_up", Some(&user.id), None, &json!({}))
        .await?;
    tx.commit().await?;
    Ok(user)
}

#[derive(sqlx::FromRow)]
struct FailureRow {
    failures: i64,
    first_failure_at: i64,
    blocked_until: i64,
}

fn subjects(email_input: &str, client_addr: &str) -> [String; 2] {
    let email =
        email::normalize(email_input).unwrap_or_else(|_| email_input.trim().to_ascii_lowercase());
    [
        format!("email:{email}"),
        format!("addr:{}", client_addr.trim()),
    ]
}

/// Seconds until the longest current block of `subjects` ends, if any is blocked.
async fn blocked_for(
    conn: &mut AnyConnection,
    subjects: &[String; 2],
    now: UnixTime,
) -> CoreResult<Option<i64>> {
    let until: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(blocked_until) FROM sign_in_failures WHERE subject IN ($1, $2)",
    )
    .bind(&subjects[0])
    .bind(&subjects[1])
    .fetch_one(&mut *conn)
    .await?;
    Ok(until.filter(|t| *t > now).map(|t| t - now))
}

/// The block that `failures` failures earn (0 below the threshold).
pub fn block_secs(failures: i64) -> i64 {
    if failures < MAX_FAILURES {
        return 0;
    }
    let doublings = u32::try_from(failures - MAX_FAILURES)
        .unwrap_or(u32::MAX)
        .min(10);
    (FIRST_BLOCK_SECS << doublings).min(MAX_BLOCK_SECS)
}

/// Counts one failure for each subject; returns the new block in seconds, if one started.
async fn record_failure(
    conn: &mut AnyConnection,
    subjects: &[String; 2],
    now: UnixTime,
) -> CoreResult<Option<i64>> {
    let mut longest: Option<i64> = None;
    for subject in subjects {
        let row: Option<FailureRow> = sqlx::query_as(
            "SELECT failures, first_failure_at, blocked_until FROM sign_in_failures WHERE subject = $1",
        )
        .bind(subject)
        .fetch_optional(&mut *conn)
        .await?;
        let (failures, first) = match row {
            Some(r) if now - r.first_failure_at < FAILURE_WINDOW_SECS || r.blocked_until > now => {
                (r.failures + 1, r.first_failure_at)
            }
            _ => (1, now),
        };
        let block = block_secs(failures);
        let blocked_until = if block > 0 { now + block } else { 0 };
        sqlx::query(
            "INSERT INTO sign_in_failures (subject, failures, first_failure_at, last_failure_at, blocked_until) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures, \
             first_failure_at = excluded.first_failure_at, last_failure_at = excluded.last_failure_at, \
             blocked_until = excluded.blocked_until",
        )
        .bind(subject)
        .bind(failures)
        .bind(first)
        .bind(now)
        .bind(blocked_until)
        .execute(&mut *conn)
        .await?;
        if block > 0 {
            longest = Some(longest.map_or(block, |l| l.max(block)));
        }
    }
    Ok(longest)
}

async fn clear_account_failures(conn: &mut AnyConnection, email: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM sign_in_failures WHERE subject = $1")
        .bind(format!("email:{email}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn load_with_hash(
    conn: &mut AnyConnection,
    column: &str,
    value: &str,
) -> CoreResult<Option<(User, Option<PasswordHash>)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: Option<String>,
    }
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS}, password_hash FROM users WHERE {column} = $1"
    ))
    .bind(value)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok((
            User::try_from(r.user)?,
            r.password_hash.map(PasswordHash::from_stored),
        ))
    })
    .transpose()
}

/// Signs in with email and password. `client_addr` is the caller's address (for throttling and
/// the audit trail); `now` is the current time (a parameter so tests can move it).
pub async fn sign_in(
    db: &Database,
    email_input: &str,
    password: &str,
    client_addr: &str,
    now: UnixTime,
) -> Result<User, SignInRefusal> {
    let subjects = subjects(email_input, client_addr);
    let found = {
        let mut conn = db.pool().acquire().await?;
        if let Some(retry_after_secs) = blocked_for(&mut conn, &subjects, now).await? {
            return Err(SignInRefusal::Throttled { retry_after_secs });
        }
        match email::normalize(email_input) {
            Ok(email) => load_with_hash(&mut conn, "email", &email).await?,
            Err(_) => None,
        }
    };
    // Always one argon2 verification, so the timing does not tell whether the account exists.
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let ok = passwords::verify_password(password, hash).await;
    match user {
        Some(user) if ok => {
            let mut tx = audit::Write::begin(db, &ActorContext::new(&user, client_addr)).await?;
            clear_account_failures(&mut tx, &user.email).await?;
            tx.record("user.signed_in", Some(&user.id), None, &json!({}))
                .await?;
            tx.commit().await?;
            Ok(user)
        }
        user => {
            // Nobody to name as the actor: the failure is recorded as anonymous.
            let mut tx = db.begin_write().await?;
            let blocked = record_failure(&mut tx, &subjects, now).await?;
            if let Some(block) = blocked {
                audit::record_anonymous(
                    &mut tx,
                    client_addr,
                    "user.sign_in.blocked",
                    user.as_ref().map(|u| u.id.as_str()),
                    &json!({"subject": subjects[0], "blocked_secs": block}),
                )
                .await?;
            }
            tx.commit().await?;
            match blocked {
                Some(retry_after_secs) => Err(SignInRefusal::Throttled { retry_after_secs }),
                None => Err(SignInRefusal::WrongCredentials),
            }
        }
    }
}

/// Whether the user has a password (users created by a sign-in link or SSO start without).
pub async fn has_password(db: &Database, user_id: &str) -> CoreResult<bool> {
    let hash: Option<Option<String>> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    match hash {
        Some(hash) => Ok(hash.is_some()),
        None => Err(CoreError::NotFound { what: "user" }),
    }
}

/// Sets the signed-in user's password (first password after a sign-in link, or a reset). The
/// web layer must only call this for a user who is signed in; to change an existing password
/// from a settings page prefer [`change_password`], which checks the current one. Clears the
/// account's failed sign-ins.
pub async fn set_password(db: &Database, ctx: &ActorContext, password: &str) -> CoreResult<()> {
    let had = has_password(db, &ctx.user_id).await?;
    let email = {
        let mut conn = db.pool().acquire().await?;
        identity::principal(&mut conn, ctx).await?.user.email
    };
    passwords::validate_new_password(password, &email)?;
    let hash = passwords::hash_password(password).await?;
    let mut tx = audit::Write::begin(db, ctx).await?;
    let now = clock::now();
    let updated = sqlx::query(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3",
    )
    .bind(hash.as_str())
    .bind(now)
    .bind(&ctx.user_id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(CoreError::NotFound { what: "user" });
    }
    clear_account_failures(&mut tx, &email).await?;
    let action = if had {
        "user.password.changed"
    } else {
        "user.password.set"
    };
    tx.record(action, Some(&ctx.user_id), None, &json!({}))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Changes the password after checking the current one ("Your current password is
/// incorrect." otherwise). A user without a password may pass anything as `current`.
pub async fn change_password(
    db: &Database,
    ctx: &ActorContext,
    current: &str,
    new: &str,
) -> CoreResult<()> {
    let found = {
        let mut conn = db.pool().acquire().await?;
        load_with_hash(&mut conn, "id", &ctx.user_id).await?
    };
    let Some((_, hash)) = found else {
        return Err(CoreError::NotFound { what: "user" });
    };
    if let Some(hash) = hash
        && !passwords::verify_password(current, Some(hash)).await
    {
        return Err(CoreError::Invalid(
            "Your current password is incorrect.".into(),
        ));
    }
    set_password(db, ctx, new).await
}

/// The user behind a single sign-on identity. Known `(issuer, subject)` → its user. Unknown,
/// but a *verified* email of an existing account → that account, linked from now on. Otherwise
/// a new partner user without a password. An unverified email that belongs to an existing
/// account is refused (linking it would let anyone claim the account).
pub async fn find_or_create_sso_user(
    db: &Database,
    issuer: &str,
    subject: &str,
    email_input: &str,
    email_verified: bool,
    client_addr: &str,
) -> CoreResult<User> {
    if issuer.trim().is_empty() || subject.trim().is_empty() {
        return Err(CoreError::Invalid(
            "The identity provider sent no issuer or subject.".into(),
        ));
    }
    let email = email::normalize(email_input)?;
    let mut tx = db.begin_write().await?;
    let linked: Option<String> =
        sqlx::query_scalar("SELECT user_id FROM sso_identities WHERE issuer = $1 AND subject = $2")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(user_id) = linked {
        let user = crate::identity::users::find_by_id(&mut tx, &user_id)
            .await?
            .ok_or(CoreError::NotFound { what: "user" })?;
        tx.commit().await?;
        return Ok(user);
    }
    let (user, action) = match crate::identity::users::find_by_email(&mut tx, &email).await? {
        Some(user) if email_verified => (user, "user.sso.linked"),
        Some(_) => {
            return Err(CoreError::Conflict(
                "An account already uses this email address, and your identity provider has not verified it. Sign in with your password instead.".into(),
            ));
        }
        None => (
            crate::identity::users::create(&mut tx, &email, Role::Partner).await?,
            "user.sso.created",
        ),
    };
    sqlx::query(
        "INSERT INTO sso_identities (issuer, subject, user_id, email, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(issuer)
    .bind(subject)
    .bind(&user.id)
    .bind(&email)
    .bind(clock::now())
    .execute(&mut *tx)
    .await?;
    let ctx = ActorContext::new(&user, client_addr);
    audit::record(
        &mut tx,
        &ctx,
        action,
        Some(&user.id),
        None,
        &json!({"issuer": issuer}),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// The user with this id, for sessions.
pub async fn get_user(db: &Database, user_id: &str) -> CoreResult<User> {
    let mut conn = db.pool().acquire().await?;
    crate::identity::users::find_by_id(&mut conn, user_id)
        .await?
        .ok_or(CoreError::NotFound { what: "user" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditFilter, search};
    use crate::secret::PlainSecret;
    use crate::testing::TestDatabase;

    const PW: &str = "a long enough passphrase";

    #[test]
    fn blocks_double_from_thirty_seconds_up_to_fifteen_minutes() {
        assert_eq!(block_secs(4), 0);
        assert_eq!(block_secs(5), 30);
        assert_eq!(block_secs(6), 60);
        assert_eq!(block_secs(7), 120);
        assert_eq!(block_secs(10), 900);
        assert_eq!(block_secs(1000), 900);
    }

    #[tokio::test]
    async fn sign_up_then_sign_in_on_both_engines() {
        for t in TestDatabase::both().await {
            let db = &t.db;
            let user = sign_up(db, " Ada@Example.com ", " Ada ", PW, "192.0.2.1")
                .await
                .unwrap();
            assert_eq!(user.email, "ada@example.com");
            assert_eq!(user.display_name, "Ada");
            assert_eq!(user.role, Role::Partner);
            assert_eq!(user.partner_id, None);
            let dup = sign_up(db, "ada@example.com", "", PW, "192.0.2.1").await;
            assert!(matches!(dup, Err(CoreError::Conflict(m)) if m.contains("already uses")));
            let weak = sign_up(db, "bob@example.com", "", "short", "192.0.2.1").await;
            assert!(matches!(weak, Err(CoreError::Invalid(m)) if m.contains("at least 12")));

            let now = clock::now();
            let signed = sign_in(db, "ADA@example.com", PW, "192.0.2.1", now)
                .await
                .unwrap();
            assert_eq!(signed.id, user.id);
            let wrong = sign_in(db, "ada@example.com", "not the password", "192.0.2.1", now)
                .await
                .unwrap_err();
            assert_eq!(wrong.to_string(), "Email or password is incorrect.");
            let unknown = sign_in(db, "nobody@example.com", PW, "192.0.2.1", now)
                .await
                .unwrap_err();
            assert!(matches!(unknown, SignInRefusal::WrongCredentials));
            let events = search(db, &AuditFilter::default(), 10, None).await.unwrap();
            let actions: Vec<&str> = events.entries.iter().map(|e| e.action.as_str()).collect();
            assert!(actions.contains(&"user.signed_up"));
            assert!(actions.contains(&"user.signed_in"));
        }
    }

    #[tokio::test]
    async fn throttling_kicks_in_says_so_backs_off_and_success_clears_it() {
        for t in TestDatabase::both().await {
            let db = &t.db;
            sign_up(db, "ada@example.com", "Ada", PW, "192.0.2.1")
                .await
                .unwrap();
            let now = clock::now();
            for _ in 0..4 {
                let e = sign_in(db, "ada@example.com", "wrong password!", "192.0.2.1", now)
                    .await
                    .unwrap_err();
                assert!(matches!(e, SignInRefusal::WrongCredentials), "{e:?}");
            }
            let fifth = sign_in(db, "ada@example.com", "wrong password!", "192.0.2.1", now)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    fifth,
                    SignInRefusal::Throttled {
                        retry_after_secs: 30
                    }
                ),
                "{fifth:?}"
            );
            assert_eq!(
                fifth.to_string(),
                "Too many failed sign-ins for this account or address; try again in 30 seconds."
            );
            // Blocked: even the right password is refused, from another address too.
            let blocked = sign_in(db, "ada@example.com", PW, "198.51.100.9", now + 10)
                .await
                .unwrap_err();
            assert!(matches!(
                blocked,
                SignInRefusal::Throttled {
                    retry_after_secs: 20
                }
            ));
            // After the block, another failure doubles it.
            let sixth = sign_in(
                db,
                "ada@example.com",
                "wrong password!",
                "198.51.100.9",
                now + 31,
            )
            .await
            .unwrap_err();
            assert!(
                matches!(
                    sixth,
                    SignInRefusal::Throttled {
                        retry_after_secs: 60
                    }
                ),
                "{sixth:?}"
            );
            // The first address is blocked for other accounts as well.
            let other = sign_in(db, "bob@example.com", "x", "192.0.2.1", now + 31)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    other,
                    SignInRefusal::Throttled {
                        retry_after_secs: 60
                    }
                ),
                "{other:?}"
            );
            // Success after the block clears the account's counter.
            let user = sign_in(db, "ada@example.com", PW, "203.0.113.5", now + 92)
                .await
                .unwrap();
            assert_eq!(user.email, "ada@example.com");
            let again = sign_in(
                db,
                "ada@example.com",
                "wrong password!",
                "203.0.113.5",
                now + 93,
            )
            .await
            .unwrap_err();
            assert!(
                matches!(again, SignInRefusal::WrongCredentials),
                "counter restarted"
            );
            let blocks = search(
                db,
                &AuditFilter {
                    action_prefix: Some("user.sign_in.blocked".into()),
                    ..AuditFilter::default()
                },
                10,
                None,
            )
            .await
            .unwrap();
            assert_eq!(blocks.entries.len(), 3);
        }
    }

    #[tokio::test]
    async fn address_throttle_blocks_guessing_across_accounts() {
        for t in TestDatabase::both().await {
            let db = &t.db;
            let now = clock::now();
            for i in 0..4 {
                let e = sign_in(
                    db,
                    &format!("u{i}@example.com"),
                    "guess guess!",
                    "192.0.2.66",
                    now,
                )
                .await
                .unwrap_err();
                assert!(matches!(e, SignInRefusal::WrongCredentials));
            }
            let e = sign_in(db, "u9@example.com", "guess guess!", "192.0.2.66", now)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    SignInRefusal::Throttled {
                        retry_after_secs: 30
                    }
                ),
                "{e:?}"
            );
            // Old failures fall out of the 15-minute window.
            let later = now + FAILURE_WINDOW_SECS + 60;
            let e = sign_in(db, "u1@example.com", "guess guess!", "192.0.2.66", later)
                .await
                .unwrap_err();
            assert!(matches!(e, SignInRefusal::WrongCredentials), "{e:?}");
        }
    }

    #[tokio::test]
    async fn bootstrap_admin_redeems_the_link_then_sets_a_password() {
        for t in TestDatabase::both().await {
            let db = &t.db;
            let mut tx = db.begin_write().await.unwrap();
            let admin = crate::identity::users::create(&mut tx, "root@example.com", Role::Admin)
                .await
                .unwrap();
            let link = crate::identity::users::issue_sign_in_token(&mut tx, &admin, "bootstrap")
                .await
                .unwrap();
            tx.commit().await.unwrap();
            // No password yet: password sign-in fails like any wrong password.
            let e = sign_in(db, "root@example.com", PW, "127.0.0.1", clock::now())
                .await
                .unwrap_err();
            assert!(matches!(e, SignInRefusal::WrongCredentials));
            let mut conn = db.pool().acquire().await.unwrap();
            let redeemed = crate::identity::users::redeem_sign_in_token(
                &mut conn,
                &PlainSecret::from_presented(link.expose()),
            )
            .await
            .unwrap()
            .unwrap();
            drop(conn);
            assert!(!has_password(db, &redeemed.id).await.unwrap());
            let ctx = ActorContext::new(&redeemed, "127.0.0.1");
            let refused = set_password(db, &ctx, "root@example.com").await;
            assert!(matches!(refused, Err(CoreError::Invalid(m)) if m.contains("email")));
            set_password(db, &ctx, PW).await.unwrap();
            assert!(has_password(db, &redeemed.id).await.unwrap());
            let user = sign_in(db, "root@example.com", PW, "127.0.0.1", clock::now())
                .await
                .unwrap();
            assert_eq!(user.role, Role::Admin);
            // Changing it needs the current one.
            let e = change_password(db, &ctx, "not it at all", "another long passphrase").await;
            assert!(matches!(e, Err(CoreError::Invalid(m)) if m.contains("current password")));
            change_password(db, &ctx, PW, "another long passphrase")
                .await
                .unwrap();
            assert!(
                sign_in(
                    db,
                    "root@example.com",
                    "another long passphrase",
                    "127.0.0.1",
                    clock::now()
                )
                .await
                .is_ok()
            );
        }
    }

    #[tokio::test]
    async fn sso_links_by_subject_or_verified_email_on_both_engines() {
        for t in TestDatabase::both().await {
            let db = &t.db;
            let existing = sign_up(db, "ada@example.com", "Ada", PW, "192.0.2.1")
                .await
                .unwrap();
            let unverified = find_or_create_sso_user(
                db,
                "https://idp",
                "sub-1",
                "ada@example.com",
                false,
                "::1",
            )
            .await;
            assert!(matches!(unverified, Err(CoreError::Conflict(_))));
            let linked =
                find_or_create_sso_user(db, "https://idp", "sub-1", "ada@example.com", true, "::1")
                    .await
                    .unwrap();
            assert_eq!(linked.id, existing.id);
            // Later the subject alone finds the account, whatever email the provider sends.
            let again = find_or_create_sso_user(
                db,
                "https://idp",
                "sub-1",
                "ada@new.example",
                false,
                "::1",
            )
            .await
            .unwrap();
            assert_eq!(again.id, existing.id);
            let created = find_or_create_sso_user(
                db,
                "https://idp",
                "sub-2",
                "bob@example.com",
                false,
                "::1",
            )
            .await
            .unwrap();
            assert_ne!(created.id, existing.id);
            assert_eq!(created.role, Role::Partner);
            assert!(!has_password(db, &created.id).await.unwrap());
        }
    }
}
