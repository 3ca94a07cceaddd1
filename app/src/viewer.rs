//! Who is looking at the page: the signed-in user (if any), the form token and a one-time
//! message from the previous action. The server's session middleware puts a [`Viewer`] into
//! every portal request; pages read it with [`Viewer::current`].

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user: Option<SignedInUser>,
    /// The session's CSRF token; every state-changing form carries it.
    pub csrf_token: String,
    /// The outcome of the previous form, shown once.
    pub flash: Option<Flash>,
    /// Whether "Sign in with SSO" is offered.
    pub sso_enabled: bool,
    /// What the user typed into this page's form when it was last refused (never passwords
    /// or tokens), so they do not have to type it again.
    pub draft: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub is_admin: bool,
    /// Signed in by a one-time link and has no password yet.
    pub needs_password: bool,
    pub organisation: Option<Membership>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub slug: String,
    pub name: String,
    /// owner, developer or viewer.
    pub role: String,
    /// pending, approved or suspended.
    pub status: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlashKind {
    Success,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
    /// The form fields an error is about (their `name`s): they are marked invalid and described
    /// by the message, and the first takes the focus.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// The id of the flash message, which refused fields point at with `aria-describedby`.
pub const FLASH_ID: &str = "flash";

impl Viewer {
    /// The viewer of the page being rendered (an anonymous one outside a request).
    pub fn current() -> Viewer {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Viewer>().cloned())
            .unwrap_or_default()
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_admin)
    }

    /// The refused form's value of field `name`, or "".
    pub fn draft_value(&self, name: &str) -> String {
        self.draft
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Whether the previous form was refused because of the field `name`.
    pub fn is_invalid(&self, name: &str) -> bool {
        self.flash
            .as_ref()
            .is_some_and(|f| f.kind == FlashKind::Error && f.fields.iter().any(|n| n == name))
    }

    /// `aria-invalid` for the field `name`: "true" when the previous form was refused for it.
    pub fn aria_invalid(&self, name: &str) -> Option<&'static str> {
        self.is_invalid(name).then_some("true")
    }

    /// `aria-describedby` for the field `name`: the error message, when it is about the field.
    pub fn error_ref(&self, name: &str) -> Option<&'static str> {
        self.is_invalid(name).then_some(FLASH_ID)
    }

    /// `autofocus` for the field `name`: the first field the error is about.
    pub fn focus_first_invalid(&self, name: &str) -> bool {
        self.flash.as_ref().is_some_and(|f| {
            f.kind == FlashKind::Error && f.fields.first().is_some_and(|n| n == name)
        })
    }

    /// Whether the refused form had `name=value` (checkboxes).
    pub fn draft_has(&self, name: &str, value: &str) -> bool {
        self.draft.iter().any(|(k, v)| k == name && v == value)
    }
}

/// The hidden CSRF field every state-changing form must contain.
#[component]
pub fn CsrfField() -> impl IntoView {
    let token = Viewer::current().csrf_token;
    view! { <input type="hidden" name="csrf_token" value=token /> }
}

/// The previous action's outcome, if any. An error is announced (`role="alert"`) and takes
/// the focus on load, also without JavaScript (`autofocus`), unless it is about particular
/// fields: then the first of them takes the focus and is described by the message.
#[component]
pub fn FlashBanner() -> impl IntoView {
    Viewer::current().flash.map(|flash| {
        let (class, role, focus) = match flash.kind {
            FlashKind::Success => ("flash success", "status", false),
            FlashKind::Error => ("flash error", "alert", flash.fields.is_empty()),
        };
        view! {
            <p id=FLASH_ID class=class role=role data-testid="flash" tabindex=focus.then_some("-1")
                autofocus=focus>
                {flash.message}
            </p>
        }
    })
}

/// Shown instead of a page's content to visitors who are not signed in.
#[component]
pub fn SignInRequired() -> impl IntoView {
    view! {
        <div class="panel">
            <p>"Sign in to continue."</p>
            <a href="/signin" class="button primary">"Sign in"</a>
            " "
            <a href="/signup" class="button">"Create an account"</a>
        </div>
    }
}
