//! Signing in (password or one-time link), signing up and setting a password.

use crate::viewer::{CsrfField, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignIn() -> impl IntoView {
    let viewer = Viewer::current();
    let signed_in = viewer.user.as_ref().map(|u| u.email.clone());
    // A one-time link (`/signin?token=…`) is confirmed with a button, so that link scanners
    // fetching the URL cannot use it up.
    let link_token = leptos_router::hooks::use_query_map()
        .get_untracked()
        .get("token")
        .filter(|t| !t.is_empty());
    if let Some(token) = link_token {
        return view! {
            <Title text="Sign in" />
            <div class="narrow">
                <h1>"Sign in with your one-time link"</h1>
                <form method="post" action=routes::SIGN_IN_LINK class="panel form">
                    <CsrfField />
                    <input type="hidden" name="token" value=token />
                    <p>"This link works once. Continue to sign in and choose a password."</p>
                    <button type="submit" class="button primary">"Continue"</button>
                </form>
            </div>
        }
        .into_any();
    }
    let sso = viewer.sso_enabled.then(|| {
        view! {
            <div class="sso">
                <a href=routes::SSO class="button">"Sign in with SSO"</a>
                <p class="hint">"Use your company's single sign-on."</p>
            </div>
        }
    });
    view! {
        <Title text="Sign in" />
        <div class="narrow">
            <h1>"Sign in"</h1>
            {signed_in.map(|email| view! {
                <p class="panel">"You are signed in as " <strong>{email}</strong> ". "
                    <a href="/apps">"Go to your applications"</a></p>
            })}
            <form method="post" action=routes::SIGN_IN class="panel form">
                <CsrfField />
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required
                    value=viewer.draft_value("email") aria-invalid=viewer.aria_invalid("email")
                    aria-describedby=viewer.error_ref("email")
                    autofocus=viewer.focus_first_invalid("email") />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required
                    aria-invalid=viewer.aria_invalid("password")
                    aria-describedby=viewer.error_ref("password") />
                <button type="submit" class="button primary">"Sign in"</button>
            </form>
            {sso}
            <p>"New here? " <a href="/signup">"Create an account"</a> "."</p>
            <p class="hint">
                "Administrators: the first start of " <code>"portico"</code>
                " (or " <code>"portico admin create --email you@example.com"</code>
                ") prints a one-time sign-in link, valid for 24 hours."
            </p>
        </div>
    }
    .into_any()
}

#[component]
pub fn SignUp() -> impl IntoView {
    let viewer = Viewer::current();
    view! {
        <Title text="Create an account" />
        <div class="narrow">
            <h1>"Create an account"</h1>
            <form method="post" action=routes::SIGN_UP class="panel form">
                <CsrfField />
                <label for="display_name">"Your name"</label>
                <input id="display_name" name="display_name" type="text" autocomplete="name" required
                    value=viewer.draft_value("display_name") />
                <label for="email">"Work email"</label>
                <input id="email" name="email" type="email" autocomplete="email" required
                    value=viewer.draft_value("email") />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password"
                    minlength="12" required aria-describedby="password-hint" />
                <p id="password-hint" class="hint">"At least 12 characters."</p>
                <button type="submit" class="button primary">"Create account"</button>
            </form>
            <p>"Already have an account? " <a href="/signin">"Sign in"</a> "."</p>
        </div>
    }
}

/// Set (first time, after a one-time link) or change the password.
#[component]
pub fn AccountPassword() -> impl IntoView {
    let viewer = Viewer::current();
    let Some(user) = viewer.user.clone() else {
        return view! { <crate::viewer::SignInRequired /> }.into_any();
    };
    let first_time = user.needs_password;
    let current = (!first_time).then(|| {
        view! {
            <label for="current_password">"Current password"</label>
            <input id="current_password" name="current_password" type="password"
                autocomplete="current-password" required
                aria-invalid=viewer.aria_invalid("current_password")
                aria-describedby=viewer.error_ref("current_password")
                autofocus=viewer.focus_first_invalid("current_password") />
        }
    });
    view! {
        <Title text="Password" />
        <div class="narrow">
            <h1>{if first_time { "Choose a password" } else { "Change your password" }}</h1>
            {first_time.then(|| view! {
                <p>"You signed in with a one-time link. Choose a password to sign in next time."</p>
            })}
            <form method="post" action=routes::SET_PASSWORD class="panel form">
                <CsrfField />
                {current}
                <label for="password">"New password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password"
                    minlength="12" required aria-invalid=viewer.aria_invalid("password")
                    aria-describedby=viewer.error_ref("password").unwrap_or("new-password-hint")
                    autofocus=viewer.focus_first_invalid("password") />
                <p id="new-password-hint" class="hint">"At least 12 characters."</p>
                <button type="submit" class="button primary">"Save password"</button>
            </form>
        </div>
    }
    .into_any()
}

/// Where the account forms post: each axum route pattern, declared once for the page's
/// `<form action>` and the server's handler (`server/src/portal/actions/auth.rs`).
pub mod routes {
    /// Sign in with email and password.
    pub const SIGN_IN: &str = "/signin";
    /// Sign in with a one-time link.
    pub const SIGN_IN_LINK: &str = "/signin/link";
    /// Create an account.
    pub const SIGN_UP: &str = "/signup";
    /// Sign out (the form in the page header).
    pub const SIGN_OUT: &str = "/signout";
    /// Set the account's password.
    pub const SET_PASSWORD: &str = "/account/password";
    /// Start signing in with SSO.
    pub const SSO: &str = "/signin/sso";
    /// Where the SSO provider sends the user back.
    pub const SSO_CALLBACK: &str = "/signin/sso/callback";
}
