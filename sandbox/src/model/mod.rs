//! API models: `content/api/*.yaml` (OpenAPI 3.1, one file per major version) → an
//! [`ApiCatalog`]: resolved documents, operations with their Cedar action, scopes, parameters,
//! request schema and synthetic-data binding, and a route table.
//!
//! # File format
//!
//! - The version name is the file name without extension (`v2.yaml` → `v2`); requests reach it
//!   under `/v2/...`. Path keys do not include the version (`servers: [{url: /v2}]`).
//! - Lifecycle, in `info` (or at the document root): `x-deprecated-since: "YYYY-MM-DD"` and
//!   `x-sunset: "YYYY-MM-DD"`. Neither → [`Lifecycle::Current`]; both, sunset in the future →
//!   [`Lifecycle::Deprecated`]; a sunset date today or in the past (with or without
//!   `x-deprecated-since`) → [`Lifecycle::Sunset`], and every request under the version is
//!   [`RouteMatch::VersionGone`] (410). A deprecation date alone, or a future sunset alone, is an
//!   error. `x-ga: "YYYY-MM-DD"` (optional) is the day the version became generally available.
//!   Admins can override each date while Portico runs ([`ApiCatalog::refresh_lifecycles`]).
//! - Scopes: each model declares its own, with descriptions, in its `oauth2` security schemes
//!   (`components.securitySchemes.<name>.flows.clientCredentials.scopes`); the catalogue's
//!   [`ApiCatalog::scopes`] are those of every model plus Portico's own.
//! - Every operation: `operationId` (unique in the file), `x-cedar-action` (a Cedar action id
//!   of the policies' schema), `x-required-scopes` (a non-empty list of scopes its model
//!   declares), and optionally `x-sandbox` (see [`SandboxBinding`]); [`ApiCatalog::check`]
//!   verifies those against the Cedar schema and the model's declared scopes.
//! - `x-sandbox` keys (kebab-case): `collection`, `resource` (the Cedar entity type of the
//!   items: any type of the schema with a `tenant_id`), `behavior` (`list`, `get`, `create`,
//!   `cancel`, `delete`), `id-param`, `id-field` (default `id`), `id-prefix` (default: from the
//!   id property's `example`, e.g. `ord_…` → `ord`), `tenant-field` (default `tenant_id`),
//!   `seed-count` (default 10), `shared` (one data set for all tenants, read-only), `item-schema`
//!   (default: derived from the success response), `pagination`, `transition`,
//!   `create-defaults`, `timestamps`, `provider-field`, and the data-consistency keys below
//!   (`store`, `view`, `computed`, `lookups`, `seed-values`, `seed-ids`).
//!   Root-level `x-sandbox-collections: {<collection>: {...}}` gives defaults for every
//!   operation of a collection.
//!
//! # Data shared by versions, computed fields, lookups, seed values, seed ids (all optional)
//!
//! Field paths are property names separated by `.`, with `[]` after an array to reach each
//! element (`items[].unit_price.amount`). Every path is checked against the schemas when the
//! models are loaded (`stores::link`); a bad one is an x-sandbox problem that
//! [`ApiCatalog::check`] reports, stopping start-up.
//!
//! - `store: <name>`: the items are kept once per tenant under this storage name, shared by
//!   every version whose collection names the same store (without it, a collection is per
//!   version). Exactly one of those versions declares no `view`: its item schema is the
//!   stored (canonical) shape, and seed data is generated once, from it. All versions of a
//!   store must agree on `resource`, `shared`, `seed-count`, `id-field`, `id-prefix` and
//!   `tenant-field`.
//! - `view: {<field>: {from: <stored field>, as: minor-units, scale: 2}}` (with `store`): the
//!   other versions show the stored items through a view. A view field comes `from` a stored
//!   field (through the same arrays), as is or converted; every other field of the version's
//!   item schema is copied by name and must exist at the same path in the stored shape
//!   (`view: {}` when the shapes are the same). `as: minor-units`: a stored decimal (a
//!   decimal string like `"129.90"` or a number) is shown as the integer count of
//!   `1/10^scale` units (`12990`; scale 2 unless given), exactly, no floating point. A
//!   create through a view maps the request body the other way (`view → stored`).
//! - `computed: {<stored field>: <rule>}`, on the version without a view, applied to seed
//!   and created items: `{shared-by: <array>, field: <element field>}` makes the target the
//!   value every element shares (seed data: the elements take the target's; create: the
//!   request's value if it gave one through any version, else the first element's, and an
//!   element with another value is a 400 `ValidationException`; seed data of a collection
//!   with lookups: the first element's value, which every element takes); then
//!   `{sum-of: <array>, multiply: [<element field>, ...], scale: n}` makes it the sum of the
//!   products, exact, rounded once (half away from zero) to `scale` decimals when given.
//! - `lookups: [{each: <array>, by: <element field>, collection: <name>, set: {<element
//!   field>: <field of the found item>}}]`, on the version without a view, run on create
//!   before `computed`: the item of `collection` (of the same file) whose id is the element's
//!   `by` is read from its storage and the `set` fields copied; an id that names nothing is a
//!   400 `ValidationException` at the request's field (`body.items[0].product_id`). Seed
//!   items run them too, on the target's seed items: each element names one of them (picked
//!   deterministically) and takes its `set` fields, so seed orders name catalogue products
//!   at catalogue prices. Lookups must not lead back to their own collection.
//! - `seed-values: {<stored field>: <JSON value>}`, on the version without a view: every
//!   generated seed item gets the value at the field (`[]` paths: in every element), before
//!   the lookups and `computed`; e.g. `{price.currency: EUR}` gives the catalogue one
//!   currency. The field must exist in the stored shape (not the id or tenant field) and its
//!   schema must accept the value. Created items are not affected.
//! - `seed-ids: [<id> | {id: <id>, values: {<stored field>: <JSON value>}}, ...]`, on the
//!   version without a view: the last N seed items (N = the number of ids, in order) take
//!   these ids instead of generated ones, and each its `values` (like `seed-values`, for that
//!   item only, applied after them). Every tenant's seed data then holds items under these
//!   ids (the one shared data set, for a `shared` collection), so the model's request
//!   examples can name them and work as written on a fresh partner's sandbox: e.g. the
//!   example order `{id: ord_…, values: {status: pending}}` can be fetched and cancelled.
//!   The rest of each such item is generated as before, and lookups from other collections
//!   may pick it like any seed item. The last items, not the first, so that a list still
//!   starts with ids of the tenant's own. Checked at load: each id starts with
//!   `<id-prefix>_` and fits the id field's schema, none twice, at most `seed-count` of
//!   them, and the `values` as `seed-values` are. An id of a per-tenant collection exists
//!   once per tenant: its owner is whoever asks
//!   ([`crate::synthetic::SyntheticBackend::owner_of`]).
//! - Internal `$ref`s are inlined in [`ApiVersion::document`]; the document as written (with its
//!   `$ref`s) is served by [`ApiCatalog::openapi_json`].

mod binding;
mod catalog;
pub(crate) mod dates;
#[cfg(test)]
mod fuzz_tests;
mod lifecycle;
mod load;
mod operation;
pub(crate) mod pattern;
mod refs;
mod router;
pub mod stores;
mod version;
mod yaml;

use std::fmt::Write as _;

pub use binding::{Behavior, Pagination, SandboxBinding, Timestamps, Transition};
pub use catalog::{ApiCatalog, LifecycleRefresh, RouteMatch};
pub use lifecycle::{DatesError, Lifecycle, LifecycleState, OperationDeprecation, VersionDates};
pub use operation::{Operation, ParamLocation, Parameter};
pub use version::{ApiVersion, DeclaredScope, WebhookEvent};

/// Why a model could not be loaded or does not fit the policies. `Display` names the file (and
/// the operation, the `$ref`, …); [`ModelError::Problems`] lists several, one per line.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{file}: not valid YAML: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: {}$ref {reference:?} {message}", operation_prefix(.operation.as_deref()))]
    Ref {
        file: String,
        /// The operation using the reference, when it is used inside one.
        operation: Option<String>,
        reference: String,
        message: String,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{}", join_lines(.0))]
    Problems(Vec<ModelError>),
}

fn operation_prefix(operation: Option<&str>) -> String {
    operation.map_or_else(String::new, |op| format!("operation {op}: "))
}

fn join_lines(errors: &[ModelError]) -> String {
    let mut out = String::new();
    for (i, error) in errors.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{error}");
    }
    out
}

impl ModelError {
    fn invalid(file: &str, message: impl Into<String>) -> Self {
        ModelError::Invalid {
            file: file.to_owned(),
            message: message.into(),
        }
    }

    fn many(mut errors: Vec<ModelError>) -> Self {
        if errors.len() == 1
            && let Some(only) = errors.pop()
        {
            return only;
        }
        ModelError::Problems(errors)
    }
}
