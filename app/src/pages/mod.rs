//! The portal's pages, one module (or folder, for the big ones) per portal feature. A feature
//! folder keeps its views, its data (the `ssr` reads behind its `#[server]` functions) and the
//! routes its forms post to together.

pub mod admin;
pub mod apps;
pub mod deprecations;
pub mod docs;
pub mod home;
pub mod not_found;
pub mod org;
pub mod org_federation;
pub mod reference;
pub mod request_log;
pub mod sdks;
pub mod signin;
pub mod status;
pub mod usage;
pub mod webhooks;

/// A form route's address: the axum pattern (`"/apps/{id}/secrets"`, as the server's handler
/// is routed) with its `{…}` segments filled in order with `params`, as they are.
pub fn route(pattern: &str, params: &[&str]) -> String {
    let mut out = String::with_capacity(pattern.len() + 40);
    let mut params = params.iter();
    let mut rest = pattern;
    while let Some((before, after)) = rest.split_once('{') {
        let Some((_, tail)) = after.split_once('}') else {
            break;
        };
        out.push_str(before);
        out.push_str(params.next().copied().unwrap_or_default());
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::route;

    #[test]
    fn routes_are_filled_in_order() {
        assert_eq!(route("/apps", &[]), "/apps");
        assert_eq!(route("/apps/{id}/secrets", &["a1"]), "/apps/a1/secrets");
        assert_eq!(
            route("/apps/{id}/secrets/{secret_id}/revoke", &["a1", "s2"]),
            "/apps/a1/secrets/s2/revoke"
        );
    }
}
