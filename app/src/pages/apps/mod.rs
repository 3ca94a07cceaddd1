//! The partner's applications: the list (`/apps`), registration (`/apps/new`) and one
//! application's page (`/apps/{id}`) with its credentials, scopes, settings and danger zone.
//!
//! Every page works with JavaScript off: each change is a plain HTML form posting to the
//! handlers in `server/src/portal/actions/apps.rs`, which answer with a redirect and a one-time
//! message. The core decides who may do what; these pages only hide the buttons a role cannot
//! use, so that nobody is offered a form that will be refused.
//!
//! This folder owns those pages: [`data`] (what they show and the reads behind it), [`view`]
//! (list and registration), [`detail`] (an application's page) and [`routes`] (where the forms
//! post, shared with the server's handlers).

pub mod data;
mod detail;
pub mod routes;
mod view;

pub use data::*;
pub use detail::ApplicationDetail;
pub use view::{Applications, NewApplication};

use leptos::prelude::*;

fn status_badge(status: &str) -> impl IntoView + use<> {
    let tone = match status {
        "active" | "approved" => "ok",
        "pending" => "pending",
        "suspended" | "denied" | "revoked" => "bad",
        _ => "plain",
    };
    let class = format!("badge {tone} status-{status}");
    view! { <span class=class>{status.to_owned()}</span> }
}
