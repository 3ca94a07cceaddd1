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

pub(crate) mod dates;
#[cfg(test)]
mod fuzz_tests;
mod lifecycle;
pub(crate) mod pattern;
mod refs;
mod router;
pub mod stores;
mod yaml;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use include_dir::{Dir, include_dir};
use portico_core::authz::scopes::{PLATFORM_SCOPES, ScopeCatalog};
use portico_core::authz::{COLLECTION, ResourceType, SchemaFacts};
use serde::Deserialize;
use serde_json::{Map, Value};

use lifecycle::LiveLifecycle;
pub use lifecycle::{DatesError, Lifecycle, LifecycleState, OperationDeprecation, VersionDates};
use router::RouteTable;
use stores::{Computed, FieldMap, Lookup, LookupDecl, SeedId, SeedValue, Storage};

/// The copy of `content/api/` built into the binary.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../content/api");

/// How embedded files are named in messages.
const EMBEDDED_PREFIX: &str = "content/api";

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

/// One API version (one model file).
#[derive(Clone, Debug)]
pub struct ApiVersion {
    /// From the file name: `v2.yaml` → `v2`. Shared: every request-log record names it.
    pub name: Arc<str>,
    /// The file, as named in messages.
    pub file: String,
    /// The lifecycle dates as the model file gives them.
    pub model_dates: VersionDates,
    /// The dates in force (the model's, or an admin's) and what they mean today.
    lifecycle: LiveLifecycle,
    /// The document with every internal `$ref` inlined.
    pub document: Value,
    /// In file order.
    pub operations: Vec<Operation>,
    /// The OpenAPI `webhooks` section: the events partners' endpoints can receive.
    pub webhooks: Vec<WebhookEvent>,
    /// The scopes the model declares (its `oauth2` security schemes'
    /// `flows.clientCredentials.scopes`), sorted by name.
    pub scopes: Vec<DeclaredScope>,
    /// The document as written.
    source: Value,
}

/// A scope a model declares, with its description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredScope {
    pub name: String,
    pub description: String,
}

/// Reads the scopes of every `oauth2` security scheme's client-credentials flow (the only
/// grant Portico issues tokens for).
fn parse_declared_scopes(document: &Value) -> Result<Vec<DeclaredScope>, String> {
    let mut declared: Vec<DeclaredScope> = Vec::new();
    let Some(schemes) = document.pointer("/components/securitySchemes") else {
        return Ok(declared);
    };
    let Value::Object(schemes) = schemes else {
        return Err("components.securitySchemes must be a map".into());
    };
    for (scheme_name, scheme) in schemes {
        if scheme.get("type").and_then(Value::as_str) != Some("oauth2") {
            continue;
        }
        let at = format!("components.securitySchemes.{scheme_name}.flows.clientCredentials.scopes");
        let Some(scopes) = scheme.pointer("/flows/clientCredentials/scopes") else {
            continue;
        };
        let Value::Object(scopes) = scopes else {
            return Err(format!("{at} must be a map of scope → description"));
        };
        for (name, description) in scopes {
            let Some(description) = description.as_str() else {
                return Err(format!("{at}: the description of {name} must be text"));
            };
            match portico_core::authz::scopes::Scopes::parse(name) {
                Ok(parsed) if parsed.iter().count() == 1 => {}
                _ => {
                    return Err(format!(
                        "{at}: {name:?} is not a scope name (printable characters, no space or quote)"
                    ));
                }
            }
            if !declared.iter().any(|d| d.name == *name) {
                declared.push(DeclaredScope {
                    name: name.clone(),
                    description: description.trim().to_owned(),
                });
            }
        }
    }
    declared.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(declared)
}

/// One event of the `webhooks` section (`order.created`): what the docs show of it.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEvent {
    pub name: String,
    pub summary: String,
    pub description: String,
    /// The payload's schema (resolved), `Null` when not given.
    pub payload_schema: Value,
}

/// Reads the `webhooks` section: a map of event name → path item whose `post` describes the
/// delivery (summary, description, JSON request body).
fn parse_webhooks(document: &Value) -> Result<Vec<WebhookEvent>, String> {
    let webhooks = match document.get("webhooks") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err("webhooks must be a map of event name → path item".into()),
    };
    let mut events = Vec::with_capacity(webhooks.len());
    for (name, item) in webhooks {
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_');
        if !valid_name {
            return Err(format!(
                "webhook {name:?}: event names are lower-case words joined by dots (order.created)"
            ));
        }
        let Some(post) = item.get("post") else {
            return Err(format!(
                "webhook {name}: needs a post operation describing the delivery"
            ));
        };
        let text = |key: &str| {
            post.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        events.push(WebhookEvent {
            name: name.clone(),
            summary: text("summary"),
            description: text("description"),
            payload_schema: post
                .pointer("/requestBody/content/application~1json/schema")
                .cloned()
                .unwrap_or(Value::Null),
        });
    }
    Ok(events)
}

impl ApiVersion {
    /// Where the version stands now.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle.read().lifecycle.clone()
    }

    /// The dates in force.
    pub fn dates(&self) -> VersionDates {
        self.lifecycle.read().dates
    }

    /// The live state, held briefly (the gateway reads it on every request).
    pub(crate) fn lifecycle_state(&self) -> std::sync::RwLockReadGuard<'_, LifecycleState> {
        self.lifecycle.read()
    }

    /// Puts `dates` in force as of `today`; `Ok(true)` when something changed.
    pub fn set_dates(&self, dates: VersionDates, today: time::Date) -> Result<bool, DatesError> {
        self.lifecycle.set(dates, today)
    }

    pub fn operation(&self, operation_id: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|op| op.operation_id == operation_id)
    }

    /// The document as written (`$ref`s kept).
    pub fn source_document(&self) -> &Value {
        &self.source
    }

    /// `info.title`, if any.
    pub fn title(&self) -> Option<&str> {
        self.document.pointer("/info/title").and_then(Value::as_str)
    }
}

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParamLocation {
    /// The prefix of field paths in validation errors (`path`, `query`, `header`, `cookie`).
    pub fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Cookie => "cookie",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub location: ParamLocation,
    pub required: bool,
    /// The (resolved) JSON schema; `{}` when none was given.
    pub schema: Value,
    /// OpenAPI `explode` (default true for query parameters): an array travels as repeated
    /// `name=a&name=b`; false means one comma-separated value.
    pub explode: bool,
    /// The schema prepared for a quick "valid" answer, when it is a plain string schema.
    pub fast_check: Option<std::sync::Arc<crate::validate::FastString>>,
}

/// One operation of a version.
#[derive(Clone, Debug)]
pub struct Operation {
    pub operation_id: String,
    pub method: Method,
    /// The path template under the version prefix, e.g. `/commercial/orders/{orderId}`.
    pub path: String,
    /// The Cedar action id (`x-cedar-action`); empty when missing ([`ApiCatalog::check`]
    /// refuses that). Shared: every request-log record names it.
    pub action: Arc<str>,
    pub required_scopes: Vec<String>,
    /// Path-level and operation-level parameters merged (the operation's win).
    pub parameters: Vec<Parameter>,
    /// The `application/json` request body schema.
    pub request_body: Option<Value>,
    pub request_body_required: bool,
    /// The lowest 2xx response code of the model (200 when none is given).
    pub success_status: StatusCode,
    pub sandbox: Option<SandboxBinding>,
    /// `/{version}{path}`, the label of this operation in logs, metrics and the request log.
    pub route_label: Arc<str>,
    /// Deprecated on its own (`deprecated: true`), with its own dates.
    pub deprecation: Option<OperationDeprecation>,
    /// Extension problems found while loading, reported by `check`.
    problems: Vec<String>,
}

impl Operation {
    pub fn parameter(&self, location: ParamLocation, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| {
            p.location == location
                && if location == ParamLocation::Header {
                    p.name.eq_ignore_ascii_case(name)
                } else {
                    p.name == name
                }
        })
    }
}

/// What the synthetic backend does for an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    List,
    Get,
    Create,
    Cancel,
    Delete,
}

impl Behavior {
    fn parse(text: &str) -> Option<Behavior> {
        Some(match text {
            "list" => Behavior::List,
            "get" => Behavior::Get,
            "create" => Behavior::Create,
            "cancel" => Behavior::Cancel,
            "delete" => Behavior::Delete,
            _ => return None,
        })
    }

    /// Whether the behavior acts on one item named by the id parameter.
    pub fn needs_id(self) -> bool {
        matches!(self, Behavior::Get | Behavior::Cancel | Behavior::Delete)
    }
}

/// How a list pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pagination {
    /// `?cursor=…&limit=n` → `{<items_field>: [...], <next_cursor_field>: "…" | null}`.
    Cursor {
        cursor_param: String,
        limit_param: String,
        default_limit: u32,
        max_limit: u32,
        items_field: String,
        next_cursor_field: String,
    },
    /// `?page=p&per_page=n` → `{<items_field>: [...], <page_param>: p, <size_param>: n,
    /// <total_field>: total}`.
    Page {
        page_param: String,
        size_param: String,
        default_size: u32,
        max_size: u32,
        items_field: String,
        total_field: Option<String>,
    },
}

/// The status change of a `cancel`: `field` goes from one of `from` to `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub field: String,
    pub from: Vec<String>,
    pub to: String,
}

/// Item fields set to the current time: `created` on create, `updated` on create and change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timestamps {
    pub created: Option<String>,
    pub updated: Option<String>,
}

/// The `x-sandbox` extension of an operation, with defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct SandboxBinding {
    /// Storage collection name; also the Cedar `Collection` id for list and create.
    pub collection: String,
    /// The Cedar entity type of the items, as the model names it (any type of the schema
    /// with a `tenant_id`; [`ApiCatalog::check`] asks the schema).
    pub resource: ResourceType,
    pub behavior: Behavior,
    /// The path parameter holding the item id (get, cancel, delete).
    pub id_param: Option<String>,
    pub id_field: String,
    /// Ids look like `<id_prefix>_<26 base32 characters>`.
    pub id_prefix: String,
    /// The item field holding the tenant (partner id, or `*` for shared collections).
    pub tenant_field: String,
    pub seed_count: u32,
    /// One read-only data set for every tenant (tenant `*`), e.g. the product catalogue.
    pub shared: bool,
    /// The schema of one item (resolved).
    pub item_schema: Value,
    /// List only; `None` lists everything as a bare array.
    pub pagination: Option<Pagination>,
    /// Cancel only.
    pub transition: Option<Transition>,
    /// Create only: fields set on every created item, over the request body.
    pub create_defaults: Map<String, Value>,
    pub timestamps: Timestamps,
    /// List only: the item field that the application's provider preferences filter on.
    pub provider_field: Option<String>,
    /// `store`: the storage name shared by the versions whose collections name it.
    pub store: Option<String>,
    /// `view`: how this version's items are made from the stored ones (`None`: the items
    /// are stored in this version's shape).
    pub view: Option<Vec<FieldMap>>,
    /// `computed` as declared here (the effective rules are [`Storage::computed`]).
    pub computed: Vec<Computed>,
    /// Resolved `lookups` of the stored shape, run on create.
    pub lookups: Vec<Lookup>,
    /// Where the items live, resolved across versions at load.
    pub storage: Arc<Storage>,
    /// Create and cancel: the webhook events a successful call emits (declared in the
    /// document's `webhooks` section), each with the changed item as `data`.
    pub emits: Vec<String>,
    lookup_decls: Vec<LookupDecl>,
    /// `seed-values` as declared here (the effective ones are [`Storage::seed_values`]).
    seed_values: Vec<SeedValue>,
    /// `seed-ids` as declared here (the effective ones are [`Storage::seed_ids`]).
    seed_ids: Vec<SeedId>,
}

/// What [`ApiCatalog::route`] found.
#[derive(Debug)]
pub enum RouteMatch<'a> {
    Found {
        version: &'a ApiVersion,
        operation: &'a Operation,
        /// Percent-decoded, in path order.
        path_params: Vec<(String, String)>,
    },
    /// The path exists; the method does not. `allow` is sorted.
    MethodNotAllowed {
        allow: Vec<Method>,
    },
    /// The version has reached its sunset (410).
    VersionGone {
        version: &'a ApiVersion,
    },
    NotFound,
}

/// What [`ApiCatalog::refresh_lifecycles`] did.
#[derive(Debug, Default)]
pub struct LifecycleRefresh {
    pub changed: bool,
    pub problems: Vec<String>,
}

/// Every loaded version and its route table. Build once at start-up; `Send + Sync`. Only the
/// versions' lifecycle dates change afterwards ([`ApiCatalog::refresh_lifecycles`]).
#[derive(Debug)]
pub struct ApiCatalog {
    versions: Vec<ApiVersion>,
    routes: Vec<RouteTable>,
    origin: String,
    /// The scopes the models declare plus Portico's own: the known scopes.
    scopes: ScopeCatalog,
}

impl ApiCatalog {
    /// Loads every `*.yaml` / `*.yml` / `*.json` model of `dir` (normally
    /// `PORTICO_CONTENT_DIR/api`) when given and present, else the copy embedded in the binary.
    pub fn load(dir: Option<&Path>) -> Result<ApiCatalog, ModelError> {
        match dir {
            Some(dir) if dir.is_dir() => {
                let mut catalog = Self::from_sources(read_dir(dir)?)?;
                catalog.origin = dir.display().to_string();
                Ok(catalog)
            }
            Some(dir) => {
                tracing::info!(
                    dir = %dir.display(),
                    "no API model directory there; using the embedded models"
                );
                Self::embedded()
            }
            None => Self::embedded(),
        }
    }

    /// The models embedded at build time from `content/api/`.
    pub fn embedded() -> Result<ApiCatalog, ModelError> {
        let mut sources = Vec::new();
        for file in EMBEDDED.files() {
            if !is_model_file(file.path()) {
                continue;
            }
            let name = format!("{EMBEDDED_PREFIX}/{}", file.path().display());
            let Some(text) = file.contents_utf8() else {
                return Err(ModelError::invalid(&name, "not UTF-8"));
            };
            sources.push((name, text.to_owned()));
        }
        let mut catalog = Self::from_sources(sources)?;
        catalog.origin = "embedded".to_owned();
        Ok(catalog)
    }

    /// Models from `(file name, text)` pairs; lifecycles as of today (UTC).
    pub fn from_sources(sources: Vec<(String, String)>) -> Result<ApiCatalog, ModelError> {
        Self::from_sources_at(sources, dates::today())
    }

    /// Models from `(file name, text)` pairs, with lifecycles as of `today`.
    pub fn from_sources_at(
        sources: Vec<(String, String)>,
        today: time::Date,
    ) -> Result<ApiCatalog, ModelError> {
        match Self::from_sources_partial(sources, today) {
            (Some(catalog), errors) if errors.is_empty() => Ok(catalog),
            (_, errors) => Err(ModelError::many(errors)),
        }
    }

    /// Like [`ApiCatalog::load`], but a file that does not load does not stop the others:
    /// the catalogue of the files that loaded (none when no file did) and the problems of
    /// the others, so that `portico check` can go on checking what loaded.
    pub fn load_partial(dir: Option<&Path>) -> (Option<ApiCatalog>, Vec<ModelError>) {
        match dir {
            Some(dir) if dir.is_dir() => match read_dir(dir) {
                Ok(sources) => {
                    let (catalog, errors) = Self::from_sources_partial(sources, dates::today());
                    let catalog = catalog.map(|mut catalog| {
                        catalog.origin = dir.display().to_string();
                        catalog
                    });
                    (catalog, errors)
                }
                Err(error) => (None, vec![error]),
            },
            _ => match Self::load(dir) {
                Ok(catalog) => (Some(catalog), Vec::new()),
                Err(error) => (None, vec![error]),
            },
        }
    }

    /// The versions of the sources that load, and the problems of those that do not.
    fn from_sources_partial(
        mut sources: Vec<(String, String)>,
        today: time::Date,
    ) -> (Option<ApiCatalog>, Vec<ModelError>) {
        if sources.is_empty() {
            return (
                None,
                vec![ModelError::invalid(
                    "API models",
                    "no model file (*.yaml) found",
                )],
            );
        }
        sources.sort_by(|a, b| a.0.cmp(&b.0));
        let mut errors = Vec::new();
        let mut versions: Vec<ApiVersion> = Vec::new();
        let mut routes = Vec::new();
        for (file, text) in sources {
            let name = version_name(&file);
            if let Err(message) = check_version_name(&name) {
                errors.push(ModelError::invalid(&file, message));
                continue;
            }
            if let Some(other) = versions.iter().find(|v| *v.name == *name) {
                errors.push(ModelError::invalid(
                    &file,
                    format!("version {name} is already defined by {}", other.file),
                ));
                continue;
            }
            match parse_version(&file, name, &text, today) {
                Ok((version, table)) => {
                    versions.push(version);
                    routes.push(table);
                }
                Err(error) => errors.push(error),
            }
        }
        if versions.is_empty() {
            return (None, errors);
        }
        let mut order: Vec<usize> = (0..versions.len()).collect();
        order.sort_by(|a, b| natural_key(&versions[*a].name).cmp(&natural_key(&versions[*b].name)));
        let mut slots: Vec<Option<(ApiVersion, RouteTable)>> =
            versions.into_iter().zip(routes).map(Some).collect();
        let (mut versions, routes): (Vec<ApiVersion>, Vec<RouteTable>) = order
            .into_iter()
            .filter_map(|at| slots.get_mut(at).and_then(Option::take))
            .unzip();
        stores::link(&mut versions);
        let mut scopes = ScopeCatalog::platform();
        for version in &versions {
            for scope in &version.scopes {
                scopes.declare(&scope.name, &scope.description, &version.file);
            }
        }
        let catalog = ApiCatalog {
            versions,
            routes,
            origin: "sources".to_owned(),
            scopes,
        };
        (Some(catalog), errors)
    }

    /// The known scopes: every scope a model declares, and Portico's own
    /// ([`portico_core::authz::scopes::PLATFORM_SCOPES`]).
    pub fn scopes(&self) -> &ScopeCatalog {
        &self.scopes
    }

    /// Where the models came from: their directory, `embedded`, or `sources`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The versions, in natural order (`v0`, `v1`, `v2`, … `v10`).
    /// Every event type any version declares, sorted, without duplicates: what an endpoint
    /// may subscribe to.
    pub fn event_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self
            .versions()
            .iter()
            .flat_map(|v| v.webhooks.iter().map(|w| w.name.clone()))
            .collect();
        types.sort();
        types.dedup();
        types
    }

    pub fn versions(&self) -> &[ApiVersion] {
        &self.versions
    }

    pub fn version(&self, name: &str) -> Option<&ApiVersion> {
        self.versions.iter().find(|v| *v.name == *name)
    }

    /// Puts in force, as of `today`, each version's model dates overlaid with the admin's
    /// `overrides` (by version name). A version whose overridden dates do not make a lifecycle
    /// keeps its model dates; those come back as problems, one line each. `changed` says
    /// whether any version's dates or lifecycle changed.
    pub fn refresh_lifecycles(
        &self,
        overrides: &HashMap<String, VersionDates>,
        today: time::Date,
    ) -> LifecycleRefresh {
        let mut refresh = LifecycleRefresh::default();
        for version in &self.versions {
            let wanted = match overrides.get(&*version.name) {
                Some(over) => version.model_dates.overlaid_with(*over),
                None => version.model_dates,
            };
            let outcome = match version.set_dates(wanted, today) {
                Err(error) if wanted != version.model_dates => {
                    refresh.problems.push(format!(
                        "{}: the admin's dates are ignored: {error}",
                        version.name
                    ));
                    version.set_dates(version.model_dates, today)
                }
                other => other,
            };
            match outcome {
                Ok(changed) => refresh.changed |= changed,
                Err(error) => refresh.problems.push(format!("{}: {error}", version.name)),
            }
        }
        refresh
    }

    /// Checks every operation against the Cedar schema (its action exists and applies to the
    /// resource the gateway names; `x-sandbox.resource` is an entity type the gateway can
    /// build) and against its own model's declared scopes, and every `x-sandbox`. All
    /// problems come back together, one line each, naming file and operation.
    pub fn check(&self, schema: &SchemaFacts) -> Result<(), ModelError> {
        let mut errors = Vec::new();
        for version in &self.versions {
            let mut collections: HashMap<&str, &Operation> = HashMap::new();
            for op in &version.operations {
                let mut problems = op.problems.clone();
                if op.action.is_empty() {
                    if !op.problems.iter().any(|p| p.contains("x-cedar-action")) {
                        problems.push("missing x-cedar-action (the Cedar action it needs)".into());
                    }
                } else if !schema.has_action(&op.action) {
                    problems.push(format!(
                        "unknown x-cedar-action {:?}: the Cedar schema declares no such action \
                         (it declares {})",
                        op.action,
                        schema.actions().collect::<Vec<_>>().join(", ")
                    ));
                }
                for scope in &op.required_scopes {
                    let declared = version.scopes.iter().any(|d| d.name == *scope)
                        || PLATFORM_SCOPES.iter().any(|(name, _)| name == scope);
                    if !declared {
                        let names: Vec<&str> =
                            version.scopes.iter().map(|d| d.name.as_str()).collect();
                        problems.push(format!(
                            "unknown scope {scope:?} in x-required-scopes: the model does not \
                             declare it under components.securitySchemes (an oauth2 scheme's \
                             flows.clientCredentials.scopes, with a description); it declares {}",
                            if names.is_empty() {
                                "none".to_owned()
                            } else {
                                names.join(", ")
                            }
                        ));
                    }
                }
                let resource_type = match &op.sandbox {
                    Some(binding) => match schema.resource_problem(binding.resource.type_name()) {
                        Some(problem) => {
                            problems.push(format!("x-sandbox: {problem}"));
                            None
                        }
                        None if binding.behavior.needs_id() => Some(binding.resource.type_name()),
                        None => Some(COLLECTION),
                    },
                    None => Some(COLLECTION),
                };
                if let Some(resource_type) = resource_type
                    && schema.has_action(&op.action)
                    && !schema.applies_to(&op.action, resource_type)
                {
                    problems.push(format!(
                        "x-cedar-action {:?} does not apply to {resource_type} resources in the \
                         Cedar schema (it applies to {}), and the gateway asks it about a \
                         {resource_type}; add {resource_type} to the action's appliesTo resources",
                        op.action,
                        schema
                            .resources_of(&op.action)
                            .map(|types| types.join(", "))
                            .unwrap_or_default()
                    ));
                }
                if let Some(binding) = &op.sandbox {
                    match collections.get(binding.collection.as_str()) {
                        Some(first) => {
                            if let Some(first_binding) = &first.sandbox
                                && let Some(difference) = seed_difference(first_binding, binding)
                            {
                                problems.push(format!(
                                    "x-sandbox of collection {:?} disagrees with operation {} on {difference}",
                                    binding.collection, first.operation_id
                                ));
                            }
                        }
                        None => {
                            collections.insert(&binding.collection, op);
                        }
                    }
                }
                for problem in problems {
                    errors.push(ModelError::invalid(
                        &version.file,
                        format!(
                            "operation {} ({} {}): {problem}",
                            op.operation_id, op.method, op.path
                        ),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ModelError::many(errors))
        }
    }

    /// Finds the operation for a request path such as `/v2/commercial/orders/ord_1` (a query
    /// string, if present, is ignored).
    /// Whether `path` is under one of the model's versions (`/v2/…`, or a sunset `/v0/…`):
    /// what the front hands to the gateway without consulting its other routes.
    pub fn serves_path(&self, path: &str) -> bool {
        path.strip_prefix('/')
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(name, _)| self.versions.iter().any(|v| *v.name == *name))
    }

    pub fn route(&self, method: &Method, path: &str) -> RouteMatch<'_> {
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let Some(rest) = path.strip_prefix('/') else {
            return RouteMatch::NotFound;
        };
        let (name, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(at) = self.versions.iter().position(|v| *v.name == *name) else {
            return RouteMatch::NotFound;
        };
        let version = &self.versions[at];
        if version.lifecycle_state().lifecycle.is_gone() {
            return RouteMatch::VersionGone { version };
        }
        if rest.is_empty() && !path.ends_with('/') {
            // "/v2" itself.
            return RouteMatch::NotFound;
        }
        let Some(endpoint) = self.routes[at].find(rest) else {
            return RouteMatch::NotFound;
        };
        match endpoint
            .operation_for(method)
            .and_then(|op| version.operations.get(op))
        {
            Some(operation) => RouteMatch::Found {
                version,
                operation,
                path_params: endpoint.params(rest),
            },
            None => RouteMatch::MethodNotAllowed {
                allow: endpoint.allow().to_vec(),
            },
        }
    }

    /// The model as written (`$ref`s kept), with `servers: [{url: "<server_url>/<version>"}]`.
    pub fn openapi_json(&self, version: &str, server_url: &str) -> Option<Value> {
        let found = self.version(version)?;
        let mut document = found.source.clone();
        if let Value::Object(map) = &mut document {
            map.insert(
                "servers".to_owned(),
                serde_json::json!([{
                    "url": format!("{}/{}", server_url.trim_end_matches('/'), found.name)
                }]),
            );
        }
        Some(document)
    }
}

/// Whether two bindings of one collection would seed it differently.
fn seed_difference(a: &SandboxBinding, b: &SandboxBinding) -> Option<String> {
    if a.resource != b.resource {
        return Some(format!(
            "resource ({} vs {})",
            a.resource.type_name(),
            b.resource.type_name()
        ));
    }
    if a.seed_count != b.seed_count {
        return Some(format!("seed-count ({} vs {})", a.seed_count, b.seed_count));
    }
    if a.shared != b.shared {
        return Some("shared".into());
    }
    if a.id_field != b.id_field || a.id_prefix != b.id_prefix {
        return Some("id-field / id-prefix".into());
    }
    if a.tenant_field != b.tenant_field {
        return Some("tenant-field".into());
    }
    if a.item_schema != b.item_schema {
        return Some(
            "the item schema (give the collection one item-schema, e.g. in x-sandbox-collections)"
                .into(),
        );
    }
    if a.store != b.store
        || a.view != b.view
        || a.computed != b.computed
        || a.lookup_decls != b.lookup_decls
        || a.seed_values != b.seed_values
        || a.seed_ids != b.seed_ids
    {
        return Some(
            "store, view, computed, lookups, seed-values or seed-ids (declare them once, in x-sandbox-collections)".into(),
        );
    }
    None
}

fn is_model_file(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| matches!(ext, "yaml" | "yml" | "json"))
}

fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, ModelError> {
    let listing_error = |e: std::io::Error| ModelError::Read {
        path: dir.display().to_string(),
        message: format!("cannot list API models: {e}"),
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(listing_error)? {
        let path = entry.map_err(listing_error)?.path();
        if path.is_file() && is_model_file(&path) {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.display().to_string();
            std::fs::read_to_string(&path)
                .map(|text| (name.clone(), text))
                .map_err(|e| ModelError::Read {
                    path: name,
                    message: format!("cannot read: {e}"),
                })
        })
        .collect()
}

/// `content/api/v2.yaml` → `v2`.
fn version_name(file: &str) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    base.split('.').next().unwrap_or(base).to_owned()
}

fn check_version_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(format!(
            "the file name must be the version name (letters, digits, '-' or '_'), e.g. v2.yaml; {name:?} is not"
        ))
    }
}

/// Sort key putting `v2` before `v10`.
fn natural_key(name: &str) -> (String, u64, String) {
    let digits_at = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    let (prefix, rest) = name.split_at(digits_at);
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let number = rest[..digits_end].parse().unwrap_or(0);
    (prefix.to_owned(), number, rest[digits_end..].to_owned())
}

const METHODS: [(&str, Method); 8] = [
    ("get", Method::GET),
    ("put", Method::PUT),
    ("post", Method::POST),
    ("delete", Method::DELETE),
    ("options", Method::OPTIONS),
    ("head", Method::HEAD),
    ("patch", Method::PATCH),
    ("trace", Method::TRACE),
];

fn parse_version(
    file: &str,
    name: String,
    text: &str,
    today: time::Date,
) -> Result<(ApiVersion, RouteTable), ModelError> {
    let source = yaml::to_json(text).map_err(|message| ModelError::Parse {
        file: file.to_owned(),
        message,
    })?;
    let Value::Object(root) = &source else {
        return Err(ModelError::invalid(file, "the document must be a map"));
    };
    match root.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.") => {}
        _ => {
            return Err(ModelError::invalid(
                file,
                "not an OpenAPI 3 document (openapi: 3.1.0 missing)",
            ));
        }
    }
    let document = refs::resolve(&source).map_err(|e| ModelError::Ref {
        file: file.to_owned(),
        operation: operation_at(&source, &e.at),
        reference: e.reference,
        message: e.message,
    })?;
    let (model_dates, lifecycle) = {
        let date = |key: &str| -> Result<Option<time::Date>, ModelError> {
            let value = document
                .get("info")
                .and_then(|info| info.get(key))
                .or_else(|| document.get(key));
            match value {
                None => Ok(None),
                Some(Value::String(s)) => dates::parse_date(s).map(Some).ok_or_else(|| {
                    ModelError::invalid(
                        file,
                        format!("{key} must be a date like 2027-06-30, not {s:?}"),
                    )
                }),
                Some(_) => Err(ModelError::invalid(
                    file,
                    format!("{key} must be a quoted date like \"2027-06-30\""),
                )),
            }
        };
        let model_dates = VersionDates {
            ga: date("x-ga")?,
            deprecated_since: date("x-deprecated-since")?,
            sunset: date("x-sunset")?,
        };
        let lifecycle = model_dates.lifecycle(today).map_err(|e| {
            ModelError::invalid(file, format!("x-ga / x-deprecated-since / x-sunset: {e}"))
        })?;
        (model_dates, lifecycle)
    };

    let collections = document
        .get("x-sandbox-collections")
        .cloned()
        .unwrap_or(Value::Null);
    if !matches!(collections, Value::Null | Value::Object(_)) {
        return Err(ModelError::invalid(
            file,
            "x-sandbox-collections must be a map of collection name → x-sandbox defaults",
        ));
    }

    let mut errors = Vec::new();
    let mut operations: Vec<Operation> = Vec::new();
    let mut table = RouteTable::default();
    let empty = Map::new();
    let paths = match document.get("paths") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(paths)) => paths,
        Some(_) => return Err(ModelError::invalid(file, "paths must be a map")),
    };
    for (path, item) in paths {
        let Value::Object(item) = item else {
            errors.push(ModelError::invalid(
                file,
                format!("path {path}: must be a map"),
            ));
            continue;
        };
        let shared_params = item.get("parameters");
        for (key, method) in &METHODS {
            let Some(op) = item.get(*key) else {
                continue;
            };
            let index = operations.len();
            match parse_operation(path, method, op, shared_params, &collections) {
                Ok(operation) => {
                    if let Some(first) = operations
                        .iter()
                        .find(|o| o.operation_id == operation.operation_id)
                    {
                        errors.push(ModelError::invalid(
                            file,
                            format!(
                                "operationId {} is used by both {} {} and {method} {path}",
                                operation.operation_id, first.method, first.path
                            ),
                        ));
                        continue;
                    }
                    if let Err(message) = table.insert(path, method, index) {
                        errors.push(ModelError::invalid(file, message));
                        continue;
                    }
                    operations.push(operation);
                }
                Err(message) => errors.push(ModelError::invalid(
                    file,
                    format!("{method} {path}: {message}"),
                )),
            }
        }
    }
    let webhooks = match parse_webhooks(&document) {
        Ok(webhooks) => webhooks,
        Err(message) => {
            errors.push(ModelError::invalid(file, message));
            Vec::new()
        }
    };
    let scopes = match parse_declared_scopes(&document) {
        Ok(scopes) => scopes,
        Err(message) => {
            errors.push(ModelError::invalid(file, message));
            Vec::new()
        }
    };
    for operation in &operations {
        let emits = operation.sandbox.as_ref().map_or(&[][..], |b| &b.emits[..]);
        for event in emits {
            if !webhooks.iter().any(|w| &w.name == event) {
                errors.push(ModelError::invalid(
                    file,
                    format!(
                        "{}: x-sandbox emits {event}, which the webhooks section does not declare",
                        operation.operation_id
                    ),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ModelError::many(errors));
    }
    Ok((
        ApiVersion {
            webhooks,
            scopes,
            operations: operations
                .into_iter()
                .map(|mut op| {
                    op.route_label = Arc::from(format!("/{name}{}", op.path));
                    op
                })
                .collect(),
            name: name.into(),
            file: file.to_owned(),
            model_dates,
            lifecycle: LiveLifecycle::new(model_dates, lifecycle),
            document,
            source,
        },
        table,
    ))
}

/// The operation a document location (`paths`, path, method, …) is inside of, named like the
/// check names it: `ListOrders (GET /commercial/orders)`.
fn operation_at(source: &Value, at: &[String]) -> Option<String> {
    let [root, path, method, ..] = at else {
        return None;
    };
    if root != "paths" {
        return None;
    }
    let (_, http_method) = METHODS.iter().find(|(key, _)| key == method)?;
    let id = source
        .get("paths")?
        .get(path)?
        .get(method)?
        .get("operationId")?
        .as_str()?;
    Some(format!("{id} ({http_method} {path})"))
}

fn parse_operation(
    path: &str,
    method: &Method,
    op: &Value,
    shared_params: Option<&Value>,
    collections: &Value,
) -> Result<Operation, String> {
    let Value::Object(op) = op else {
        return Err("must be a map".into());
    };
    let operation_id = match op.get("operationId") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.clone(),
        _ => return Err("missing operationId".into()),
    };
    let mut problems = Vec::new();

    let action = match op.get("x-cedar-action") {
        None => String::new(),
        Some(Value::String(action)) => action.clone(),
        Some(_) => {
            problems.push("x-cedar-action must be a string such as commercial:GetOrder".into());
            String::new()
        }
    };
    let required_scopes = match op.get("x-required-scopes") {
        None => {
            problems.push(
                "missing x-required-scopes (the OAuth scopes a caller needs, e.g. [commercial:read])"
                    .into(),
            );
            Vec::new()
        }
        Some(Value::Array(items)) if !items.is_empty() => {
            let scopes: Vec<String> = items
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect();
            if scopes.len() != items.len() {
                problems.push("x-required-scopes must list scope names (strings)".into());
            }
            scopes
        }
        Some(_) => {
            problems.push("x-required-scopes must be a non-empty list of scope names".into());
            Vec::new()
        }
    };

    let mut parameters: Vec<Parameter> = Vec::new();
    for list in [shared_params, op.get("parameters")].into_iter().flatten() {
        let Value::Array(list) = list else {
            return Err("parameters must be a list".into());
        };
        for raw in list {
            let parameter = parse_parameter(raw)?;
            match parameters
                .iter_mut()
                .find(|p| p.location == parameter.location && p.name == parameter.name)
            {
                Some(existing) => *existing = parameter,
                None => parameters.push(parameter),
            }
        }
    }
    let template = router::parse_template(path)?;
    let template_params: Vec<&str> = template
        .iter()
        .filter_map(|segment| match segment {
            router::Segment::Param(name) => Some(*name),
            router::Segment::Literal(_) => None,
        })
        .collect();
    for name in &template_params {
        if !parameters
            .iter()
            .any(|p| p.location == ParamLocation::Path && p.name == *name)
        {
            return Err(format!(
                "path parameter {{{name}}} is not declared in parameters"
            ));
        }
    }
    for parameter in &parameters {
        if parameter.location == ParamLocation::Path
            && !template_params.contains(&parameter.name.as_str())
        {
            return Err(format!(
                "parameter {} is declared `in: path` but the path has no {{{}}}",
                parameter.name, parameter.name
            ));
        }
    }

    let (request_body, request_body_required) = match op.get("requestBody") {
        None => (None, false),
        Some(body) => {
            let schema = body
                .get("content")
                .and_then(Value::as_object)
                .and_then(|content| {
                    content.get("application/json").or_else(|| {
                        content
                            .iter()
                            .find(|(media, _)| media.ends_with("+json"))
                            .map(|(_, v)| v)
                    })
                })
                .map(|media| media.get("schema").cloned().unwrap_or(Value::Bool(true)));
            let Some(schema) = schema else {
                return Err("requestBody needs content: application/json: schema".into());
            };
            (
                Some(schema),
                body.get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            )
        }
    };

    let responses = op.get("responses").and_then(Value::as_object);
    let success_status = responses
        .into_iter()
        .flat_map(|r| r.keys())
        .filter_map(|code| code.parse::<u16>().ok())
        .filter(|code| (200..300).contains(code))
        .min()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK);

    let mut operation = Operation {
        operation_id,
        method: method.clone(),
        path: path.to_owned(),
        action: action.into(),
        required_scopes,
        parameters,
        request_body,
        request_body_required,
        success_status,
        sandbox: None,
        route_label: Arc::from(""),
        deprecation: match operation_deprecation(op) {
            Ok(deprecation) => deprecation,
            Err(message) => {
                problems.push(message);
                None
            }
        },
        problems: Vec::new(),
    };
    if let Err(message) = check_schemas(&operation) {
        problems.push(message);
    }
    if let Some(raw) = op.get("x-sandbox") {
        match parse_sandbox(raw, collections, &operation, responses) {
            Ok(binding) => operation.sandbox = Some(binding),
            Err(message) => problems.push(format!("x-sandbox: {message}")),
        }
    }
    operation.problems = problems;
    Ok(operation)
}

/// `deprecated: true` on an operation, with its optional `x-deprecated-since` / `x-sunset`.
fn operation_deprecation(op: &Map<String, Value>) -> Result<Option<OperationDeprecation>, String> {
    let date = |key: &str| match op.get(key) {
        None => Ok(None),
        Some(Value::String(text)) => dates::parse_date(text)
            .map(Some)
            .ok_or_else(|| format!("{key} must be a date like 2027-06-30, not {text:?}")),
        Some(_) => Err(format!("{key} must be a quoted date like \"2027-06-30\"")),
    };
    let since = date("x-deprecated-since")?;
    let sunset = date("x-sunset")?;
    let deprecated = match op.get("deprecated") {
        None => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => return Err("deprecated must be true or false".into()),
    };
    if !deprecated {
        return match since.or(sunset) {
            Some(_) => {
                Err("x-deprecated-since / x-sunset on an operation need `deprecated: true`".into())
            }
            None => Ok(None),
        };
    }
    OperationDeprecation::new(since, sunset)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn parse_parameter(raw: &Value) -> Result<Parameter, String> {
    let Value::Object(map) = raw else {
        return Err("a parameter must be a map".into());
    };
    let Some(name) = map.get("name").and_then(Value::as_str) else {
        return Err("a parameter needs a name".into());
    };
    let location = match map.get("in").and_then(Value::as_str) {
        Some("path") => ParamLocation::Path,
        Some("query") => ParamLocation::Query,
        Some("header") => ParamLocation::Header,
        Some("cookie") => ParamLocation::Cookie,
        _ => {
            return Err(format!(
                "parameter {name}: `in` must be path, query, header or cookie"
            ));
        }
    };
    let required = map
        .get("required")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if location == ParamLocation::Path && !required {
        return Err(format!("path parameter {name} must be `required: true`"));
    }
    if location == ParamLocation::Header
        && axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
    {
        return Err(format!(
            "header parameter {name:?} is not a valid header name"
        ));
    }
    let schema = map
        .get("schema")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let explode = map
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(location == ParamLocation::Query || location == ParamLocation::Cookie);
    let fast_check = crate::validate::FastString::compile(&schema).map(std::sync::Arc::new);
    Ok(Parameter {
        name: name.to_owned(),
        location,
        required,
        schema,
        explode,
        fast_check,
    })
}

/// Every `pattern` of the operation's parameter and body schemas must be one the validator
/// understands.
fn check_schemas(op: &Operation) -> Result<(), String> {
    fn walk(schema: &Value, at: &str, depth: u32) -> Result<(), String> {
        if depth > 64 {
            return Ok(());
        }
        match schema {
            Value::Object(map) => {
                if let Some(Value::String(source)) = map.get("pattern") {
                    pattern::Pattern::parse(source)
                        .map_err(|e| format!("pattern {source:?} at {at}: {e}"))?;
                }
                for (key, value) in map {
                    if matches!(
                        key.as_str(),
                        "example" | "examples" | "enum" | "const" | "default"
                    ) {
                        continue;
                    }
                    walk(value, &format!("{at}.{key}"), depth + 1)?;
                }
                Ok(())
            }
            Value::Array(items) => items.iter().try_for_each(|item| walk(item, at, depth + 1)),
            _ => Ok(()),
        }
    }
    for parameter in &op.parameters {
        walk(
            &parameter.schema,
            &format!("{}.{}", parameter.location.as_str(), parameter.name),
            0,
        )?;
    }
    if let Some(body) = &op.request_body {
        walk(body, "body", 0)?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawSandbox {
    collection: String,
    resource: String,
    behavior: String,
    id_param: Option<String>,
    id_field: Option<String>,
    id_prefix: Option<String>,
    tenant_field: Option<String>,
    seed_count: Option<u32>,
    #[serde(default)]
    shared: bool,
    item_schema: Option<Value>,
    pagination: Option<RawPagination>,
    transition: Option<RawTransition>,
    #[serde(default)]
    create_defaults: Map<String, Value>,
    #[serde(default)]
    timestamps: Option<RawTimestamps>,
    provider_field: Option<String>,
    store: Option<String>,
    view: Option<std::collections::BTreeMap<String, stores::RawFieldMap>>,
    #[serde(default)]
    computed: std::collections::BTreeMap<String, stores::RawComputed>,
    #[serde(default)]
    lookups: Vec<stores::RawLookup>,
    #[serde(default)]
    seed_values: std::collections::BTreeMap<String, Value>,
    #[serde(default)]
    seed_ids: Vec<Value>,
    #[serde(default)]
    emits: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawPagination {
    style: String,
    cursor_param: Option<String>,
    limit_param: Option<String>,
    page_param: Option<String>,
    size_param: Option<String>,
    default_size: Option<u32>,
    max_size: Option<u32>,
    items_field: Option<String>,
    next_cursor_field: Option<String>,
    total_field: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawTransition {
    field: Option<String>,
    from: Option<Vec<String>>,
    to: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawTimestamps {
    created: Option<String>,
    updated: Option<String>,
}

const MAX_SEED_COUNT: u32 = 1000;

/// A Cedar identifier: a letter or `_`, then letters, digits or `_`.
fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn parse_sandbox(
    raw: &Value,
    collections: &Value,
    op: &Operation,
    responses: Option<&Map<String, Value>>,
) -> Result<SandboxBinding, String> {
    let Value::Object(own) = raw else {
        return Err("must be a map".into());
    };
    // Collection defaults first, the operation's keys over them.
    let mut merged = own
        .get("collection")
        .and_then(Value::as_str)
        .and_then(|name| collections.get(name))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (key, value) in own {
        merged.insert(key.clone(), value.clone());
    }
    let raw: RawSandbox =
        serde_json::from_value(Value::Object(merged)).map_err(|e| e.to_string())?;

    let plain_name = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if !plain_name(&raw.collection) {
        return Err(format!(
            "collection {:?} must be a name of letters, digits, '_' or '-'",
            raw.collection
        ));
    }
    if let Some(store) = &raw.store
        && !plain_name(store)
    {
        return Err(format!(
            "store {store:?} must be a name of letters, digits, '_' or '-'"
        ));
    }
    if raw.view.is_some() && raw.store.is_none() {
        return Err(
            "view needs store (the storage shared with the version holding the stored shape)"
                .into(),
        );
    }
    let view = raw.view.map(stores::parse_view).transpose()?;
    let computed = stores::parse_computed(raw.computed)?;
    let lookup_decls = stores::parse_lookups(raw.lookups)?;
    let seed_values = stores::parse_seed_values(raw.seed_values)?;
    let seed_ids = stores::parse_seed_ids(raw.seed_ids)?;
    // Which entity types exist is the Cedar schema's business: `check` asks it.
    if !is_identifier(&raw.resource) {
        return Err(format!(
            "resource {:?} must be a Cedar entity type name (letters, digits, '_'), e.g. Order",
            raw.resource
        ));
    }
    let resource = ResourceType::new(&raw.resource);
    let behavior = Behavior::parse(&raw.behavior).ok_or_else(|| {
        format!(
            "behavior {:?} must be list, get, create, cancel or delete",
            raw.behavior
        )
    })?;
    if behavior.needs_id() {
        let Some(id_param) = &raw.id_param else {
            return Err(format!(
                "behavior {} needs id-param (the path parameter with the id)",
                raw.behavior
            ));
        };
        if op.parameter(ParamLocation::Path, id_param).is_none() {
            return Err(format!(
                "id-param {id_param} is not a path parameter of {}",
                op.path
            ));
        }
    }
    let seed_count = raw.seed_count.unwrap_or(10);
    if seed_count > MAX_SEED_COUNT {
        return Err(format!("seed-count must be at most {MAX_SEED_COUNT}"));
    }
    if raw.shared && !matches!(behavior, Behavior::List | Behavior::Get) {
        return Err("a shared collection is read-only: only list and get".into());
    }

    let item_schema = match raw.item_schema {
        Some(schema) => schema,
        None => derive_item_schema(behavior, raw.pagination.as_ref(), responses).ok_or_else(|| {
            "cannot tell the item schema from the success response; give item-schema: {$ref: ...}"
                .to_owned()
        })?,
    };
    let properties = item_schema
        .get("properties")
        .and_then(Value::as_object)
        .ok_or("the item schema must be an object schema with properties")?;
    let id_field = raw.id_field.unwrap_or_else(|| "id".to_owned());
    let tenant_field = raw.tenant_field.unwrap_or_else(|| "tenant_id".to_owned());
    for (what, field) in [("id-field", &id_field), ("tenant-field", &tenant_field)] {
        if !properties.contains_key(field) {
            return Err(format!(
                "{what} {field} is not a property of the item schema"
            ));
        }
    }
    let id_prefix = raw
        .id_prefix
        .or_else(|| {
            let id = properties.get(&id_field)?;
            let example = id
                .get("example")
                .or_else(|| id.get("examples").and_then(|e| e.get(0)))?
                .as_str()?;
            let (prefix, _) = example.split_once('_')?;
            Some(prefix.to_owned())
        })
        .unwrap_or_else(|| raw.collection.chars().take(3).collect());

    let only = |present: bool, key: &str, allowed: Behavior| {
        if present && behavior != allowed {
            Err(format!("{key} only applies to behavior {allowed:?}").to_lowercase())
        } else {
            Ok(())
        }
    };
    only(raw.pagination.is_some(), "pagination", Behavior::List)?;
    only(raw.transition.is_some(), "transition", Behavior::Cancel)?;
    only(
        !raw.create_defaults.is_empty(),
        "create-defaults",
        Behavior::Create,
    )?;
    only(
        raw.provider_field.is_some(),
        "provider-field",
        Behavior::List,
    )?;
    if !raw.emits.is_empty() && !matches!(behavior, Behavior::Create | Behavior::Cancel) {
        return Err("emits only applies to behaviors create and cancel".into());
    }

    let pagination = raw
        .pagination
        .map(|p| parse_pagination(p, op))
        .transpose()?;
    let transition = if behavior == Behavior::Cancel {
        let raw = raw.transition.unwrap_or(RawTransition {
            field: None,
            from: None,
            to: None,
        });
        let field = raw.field.unwrap_or_else(|| "status".to_owned());
        let to = raw.to.unwrap_or_else(|| "cancelled".to_owned());
        let from = match raw.from {
            Some(from) => from,
            None => properties
                .get(&field)
                .and_then(|p| p.get("enum"))
                .and_then(Value::as_array)
                .map(|values| {
                    values
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|v| *v != to)
                        .map(str::to_owned)
                        .collect()
                })
                .ok_or_else(|| format!("transition: the item schema has no enum field {field}"))?,
        };
        if !properties.contains_key(&field) {
            return Err(format!(
                "transition field {field} is not a property of the item schema"
            ));
        }
        Some(Transition { field, from, to })
    } else {
        None
    };
    let timestamps = raw
        .timestamps
        .map(|t| Timestamps {
            created: t.created,
            updated: t.updated,
        })
        .unwrap_or_default();
    for field in [&timestamps.created, &timestamps.updated]
        .into_iter()
        .flatten()
    {
        if !properties.contains_key(field) {
            return Err(format!(
                "timestamp field {field} is not a property of the item schema"
            ));
        }
    }
    if let Some(field) = &raw.provider_field
        && !properties.contains_key(field)
    {
        return Err(format!(
            "provider-field {field} is not a property of the item schema"
        ));
    }
    // Replaced by `stores::link` once every version is loaded.
    let storage = Arc::new(Storage {
        name: raw.collection.clone(),
        version: String::new(),
        resource: resource.clone(),
        shared: raw.shared,
        seed_count,
        id_field: id_field.clone(),
        id_prefix: id_prefix.clone(),
        tenant_field: tenant_field.clone(),
        schema: item_schema.clone(),
        computed: Vec::new(),
        seed_values: Vec::new(),
        seed_ids: Vec::new(),
        lookups: Vec::new(),
        versions: Vec::new(),
    });
    Ok(SandboxBinding {
        collection: raw.collection,
        resource,
        behavior,
        id_param: raw.id_param.filter(|_| behavior.needs_id()),
        id_field,
        id_prefix,
        tenant_field,
        seed_count,
        shared: raw.shared,
        item_schema,
        pagination,
        transition,
        create_defaults: raw.create_defaults,
        timestamps,
        provider_field: raw.provider_field,
        store: raw.store,
        view,
        computed,
        lookups: Vec::new(),
        storage,
        emits: raw.emits,
        lookup_decls,
        seed_values,
        seed_ids,
    })
}

fn parse_pagination(raw: RawPagination, op: &Operation) -> Result<Pagination, String> {
    let declared = |name: &str| {
        if op.parameter(ParamLocation::Query, name).is_some() {
            Ok(())
        } else {
            Err(format!(
                "pagination parameter {name} is not a query parameter of the operation"
            ))
        }
    };
    let default_size = raw.default_size.unwrap_or(20).max(1);
    let max_size = raw.max_size.unwrap_or(100).max(default_size);
    match raw.style.as_str() {
        "cursor" => {
            let cursor_param = raw.cursor_param.unwrap_or_else(|| "cursor".into());
            let limit_param = raw.limit_param.unwrap_or_else(|| "limit".into());
            declared(&cursor_param)?;
            declared(&limit_param)?;
            Ok(Pagination::Cursor {
                cursor_param,
                limit_param,
                default_limit: default_size,
                max_limit: max_size,
                items_field: raw.items_field.unwrap_or_else(|| "data".into()),
                next_cursor_field: raw
                    .next_cursor_field
                    .unwrap_or_else(|| "next_cursor".into()),
            })
        }
        "page" => {
            let page_param = raw.page_param.unwrap_or_else(|| "page".into());
            let size_param = raw.size_param.unwrap_or_else(|| "per_page".into());
            declared(&page_param)?;
            declared(&size_param)?;
            Ok(Pagination::Page {
                page_param,
                size_param,
                default_size,
                max_size,
                items_field: raw.items_field.unwrap_or_else(|| "items".into()),
                total_field: raw.total_field,
            })
        }
        other => Err(format!("pagination style {other:?} must be cursor or page")),
    }
}

/// The item schema from the success response: the response itself for one-item behaviors;
/// for lists the items of the page's array field (or of a bare array).
fn derive_item_schema(
    behavior: Behavior,
    pagination: Option<&RawPagination>,
    responses: Option<&Map<String, Value>>,
) -> Option<Value> {
    let responses = responses?;
    let (_, response) = responses
        .iter()
        .filter(|(code, _)| code.parse::<u16>().is_ok_and(|c| (200..300).contains(&c)))
        .min_by_key(|(code, _)| code.parse::<u16>().unwrap_or(u16::MAX))?;
    let schema = response.pointer("/content/application~1json/schema")?;
    match behavior {
        Behavior::List => {
            if let Some(items) = schema.get("items")
                && schema.get("type").and_then(Value::as_str) == Some("array")
            {
                return Some(items.clone());
            }
            let field =
                pagination.and_then(|p| p.items_field.clone()).or_else(|| {
                    match pagination.map(|p| p.style.as_str()) {
                        Some("cursor") => Some("data".to_owned()),
                        Some("page") => Some("items".to_owned()),
                        _ => None,
                    }
                })?;
            schema
                .pointer(&format!("/properties/{field}/items"))
                .cloned()
        }
        Behavior::Delete => None,
        _ => Some(schema.clone()),
    }
}
