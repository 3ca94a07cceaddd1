//! The partner organisation: create it (with the data-handling attestation), invite members by
//! one-time link, join by link, change roles, remove members.

use crate::portal::PortalState;
use crate::portal::extract::CsrfForm;
use crate::portal::session::SignedIn;
use crate::portal::session::{done, refused, reveal_on};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use portico_app::pages::org::routes;
use portico_core::apps::reveal::{Revealed, RevealedSecret};
use portico_core::identity::permissions::MemberRole;
use portico_core::orgs::organisations;
use portico_core::secret::PlainSecret;
use serde::Deserialize;
use tower_sessions::Session;

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route(routes::CREATE, post(create))
        .route(routes::INVITATIONS, post(invite))
        .route(routes::INVITATION_REVOKE, post(revoke_invitation))
        .route(routes::MEMBER_ROLE, post(change_role))
        .route(routes::MEMBER_REMOVE, post(remove_member))
        .route(routes::JOIN, post(join))
        .route(routes::SANDBOX_RESET, post(reset_sandbox))
}

async fn reset_sandbox(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
) -> Response {
    let org = match organisations::begin_sandbox_reset(&state.db, &user.actor).await {
        Ok(org) => org,
        Err(e) => return refused(&session, e, "/org").await,
    };
    match state.synthetic.reset_tenant(&org.slug).await {
        Ok(report) => {
            done(
                &session,
                format!(
                    "The sandbox data of {} is back to its seed: {} stored objects and {} idempotency keys removed.",
                    org.name, report.objects, report.idempotency_records
                ),
                "/org",
            )
            .await
        }
        Err(e) => refused(&session, e, "/org").await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CreateForm {
    legal_name: String,
    contact_email: String,
    /// The checkbox: present ("on") when ticked.
    attested: String,
}

async fn create(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    CsrfForm(form): CsrfForm<CreateForm>,
) -> Response {
    let attested = !form.attested.is_empty();
    match organisations::create_organisation(
        &state.db,
        &user.actor,
        &form.legal_name,
        &form.contact_email,
        attested,
    )
    .await
    {
        Ok(org) => {
            done(
                &session,
                format!(
                    "{} is registered and waits for an administrator's approval. You can register applications and use the sandbox now.",
                    org.name
                ),
                "/org",
            )
            .await
        }
        Err(e) => refused(&session, e, "/org").await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InviteForm {
    email: String,
    role: String,
}

async fn invite(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Response {
    let role = match MemberRole::parse(form.role.trim()) {
        Ok(role) => role,
        Err(e) => return refused(&session, e, "/org").await,
    };
    let email = Some(form.email.trim()).filter(|e| !e.is_empty());
    match organisations::create_invitation(&state.db, &user.actor, email, role).await {
        Ok((invitation, token)) => {
            let link = PlainSecret::from_presented(format!(
                "{}/join?token={}",
                state.portal_url.trim_end_matches('/'),
                token.expose()
            ));
            let who = invitation
                .email
                .as_deref()
                .map_or_else(|| "anyone with the link".to_owned(), str::to_owned);
            reveal_on(
                &state,
                &session,
                Revealed {
                    subject: "invitation".into(),
                    secrets: vec![RevealedSecret {
                        label: "Invitation link".into(),
                        value: link,
                    }],
                },
                "/org",
            )
            .await;
            done(
                &session,
                format!(
                    "Invitation created for {who} as {}. Copy the link below and send it; it works once, for 7 days.",
                    invitation.role
                ),
                "/org",
            )
            .await
        }
        Err(e) => refused(&session, e, "/org").await,
    }
}

async fn revoke_invitation(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    match organisations::revoke_invitation(&state.db, &user.actor, &id).await {
        Ok(()) => done(&session, "The invitation no longer works.", "/org").await,
        Err(e) => refused(&session, e, "/org").await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RoleForm {
    role: String,
}

async fn change_role(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    Path(member): Path<String>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Response {
    let result = match MemberRole::parse(form.role.trim()) {
        Ok(role) => organisations::change_member_role(&state.db, &user.actor, &member, role).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => done(&session, "The member's role is changed.", "/org").await,
        Err(e) => refused(&session, e, "/org").await,
    }
}

async fn remove_member(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    Path(member): Path<String>,
) -> Response {
    let leaving = member == user.user.id;
    match organisations::remove_member(&state.db, &user.actor, &member).await {
        Ok(()) if leaving => done(&session, "You left the organisation.", "/org").await,
        Ok(()) => done(&session, "The member is removed.", "/org").await,
        Err(e) => refused(&session, e, "/org").await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct JoinForm {
    token: String,
}

async fn join(
    State(state): State<PortalState>,
    user: SignedIn,
    session: Session,
    CsrfForm(form): CsrfForm<JoinForm>,
) -> Response {
    let token = PlainSecret::from_presented(form.token.trim());
    match organisations::accept_invitation(&state.db, &user.actor, &token).await {
        Ok(org) => done(&session, format!("Welcome to {}.", org.name), "/apps").await,
        Err(e) => {
            let back = format!("/join?token={}", urlencode(form.token.trim()));
            refused(&session, e, &back).await
        }
    }
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
