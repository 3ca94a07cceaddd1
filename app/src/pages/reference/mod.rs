//! The generated API reference: a version's operations by tag, and one page per operation
//! with its parameters, bodies, errors, scopes, samples and a "Try it" form (a plain form the
//! portal server sends to the sandbox with a token it fetches for the chosen application).//!
//! This folder owns those pages: [`data`] (what they show and the reads behind it), [`view`] and
//! [`routes`] (where "Try it" posts, shared with the server's handler).

pub mod data;
mod view;

pub use data::*;
pub use view::{OperationView, ReferenceIndex};

/// Where the reference's form posts: the axum route pattern, declared once for the page's
/// `<form action>` and the server's handler (`server/src/portal/actions/try_it.rs`).
pub mod routes {
    /// Call the sandbox with one of the viewer's applications ("Try it").
    pub const TRY_IT: &str = "/reference/{version}/{operation}/try";
}
