//! What the generated package is: its names, version, model checksum and environments.

use crate::model::Api;

/// What the package is, for the generated modules.
pub struct Identity<'a> {
    pub api: &'a Api,
    pub distribution: &'a str,
    pub import_name: &'a str,
    pub client_class: &'a str,
    pub version: &'a str,
    pub model_sha256: &'a str,
    pub portal_url: &'a str,
    /// `(name, base URL, token URL, audience)`.
    pub environments: Vec<(String, String, String, String)>,
}
