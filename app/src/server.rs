//! Server-only code of the portal: what pages read from the running installation.

use leptos::prelude::*;
use portico_core::apps::reveal::{RevealStore, Revealed};
use portico_core::identity::ActorContext;
use portico_core::tokens::TokenService;
use portico_core::{CoreError, Database};
use std::sync::Arc;

/// What server functions need from the process, provided as Leptos context per request.
#[derive(Clone, Debug)]
pub struct PortalContext {
    pub db: Database,
    pub tokens: Arc<TokenService>,
    pub reveals: Arc<RevealStore>,
    /// The docs, rebuilt whole when a version's lifecycle dates change.
    pub docs: Arc<portico_docsite::LiveDocs>,
    /// The webhook event types the API models declare (what an endpoint may subscribe to).
    pub event_types: Arc<[String]>,
    /// The known scopes (declared by the API models, and Portico's own), with descriptions.
    pub scopes: Arc<portico_core::authz::scopes::ScopeCatalog>,
}

/// The process context, or an error a page can show.
pub fn portal() -> Result<PortalContext, ServerFnError> {
    use_context::<PortalContext>().ok_or_else(|| ServerFnError::new("portal context missing"))
}

/// The signed-in user of this request, as the session middleware loaded it.
pub fn actor() -> Option<ActorContext> {
    use_context::<http::request::Parts>()?
        .extensions
        .get::<ActorContext>()
        .cloned()
}

/// Secrets made by the previous form of this session, shown once on this page, if they are
/// about `subject` (an application id, an organisation slug).
pub fn revealed(subject: &str) -> Option<Arc<Revealed>> {
    use_context::<http::request::Parts>()?
        .extensions
        .get::<Arc<Revealed>>()
        .filter(|r| r.subject == subject)
        .cloned()
}

/// When a core call failed: while reading a page, or while acting on a form (then nothing
/// was changed, and a missing thing may simply not be the viewer's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum During {
    PageRead,
    FormAction,
}

/// The one sentence a person reads for a domain error: refusals as the core words them,
/// "No such …" for missing things, a generic sentence for failures (the cause goes to the
/// log, never to the page).
pub fn user_message(error: &CoreError, during: During) -> String {
    match (error, during) {
        (CoreError::Invalid(m) | CoreError::Conflict(m) | CoreError::Forbidden(m), _) => m.clone(),
        (CoreError::NotFound { what }, During::PageRead) => format!("No such {what}."),
        (CoreError::NotFound { what }, During::FormAction) => {
            format!("No such {what}, or it is not yours.")
        }
        (other, During::PageRead) => {
            tracing::error!(error = %other, "portal page failed");
            "Something went wrong on our side. Please try again.".to_owned()
        }
        (other, During::FormAction) => {
            tracing::error!(error = %other, "portal action failed");
            "Something went wrong on our side; nothing was changed. Please try again.".to_owned()
        }
    }
}

/// A domain error as a page shows it (see [`user_message`]).
#[expect(
    clippy::needless_pass_by_value,
    reason = "by value so that it reads `.map_err(page_error)`"
)]
pub fn page_error(error: CoreError) -> ServerFnError {
    ServerFnError::new(user_message(&error, During::PageRead))
}

/// Takes this page's shown-once secrets about `subject` as the page renders them.
pub fn shown_once(subject: &str) -> Vec<crate::components::secrets::ShownOnce> {
    revealed(subject)
        .map(|r| {
            r.secrets
                .iter()
                .map(|s| crate::components::secrets::ShownOnce {
                    label: s.label.clone(),
                    value: s.value.expose().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}
