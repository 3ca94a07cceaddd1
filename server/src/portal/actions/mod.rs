//! Form handlers: each parses a plain HTML form, calls the core, and answers 303 to the page to
//! show next with a one-time message (post/redirect/get, so reloading never re-submits).

pub mod admin;
pub mod apps;
pub mod auth;
pub mod incidents;
pub mod org;
pub mod try_it;
pub mod versions;
pub mod webhooks;

use axum::Router;

use super::PortalState;

pub fn routes() -> Router<PortalState> {
    Router::new()
        .merge(admin::routes())
        .merge(apps::routes())
        .merge(auth::routes())
        .merge(incidents::routes())
        .merge(org::routes())
        .merge(try_it::routes())
        .merge(versions::routes())
        .merge(webhooks::routes())
}

/// A form whose fields may repeat (checkboxes), parsed from the body as sent.
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, or "".
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Path ids are opaque; ones that could not be an id never reach the core (they would only
/// make odd redirect targets).
pub(crate) fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
