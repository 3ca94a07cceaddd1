//! Authorization of partner applications and portal users with [Cedar](https://www.cedarpolicy.com).
//!
//! How the pieces fit:
//!
//! - **Content.** `content/policies/` holds the Cedar schema (`schema.cedarschema`, namespace
//!   `Platform`) and the policies (`*.cedar`, every policy named by an `@id("...")` annotation).
//!   A copy is embedded in the binary; `PORTICO_CONTENT_DIR/policies` overrides it at run time.
//!   (The embedded copy is rebuilt when an embedded file changes; a newly *added* file is only
//!   picked up once `portico-core` recompiles, e.g. after `touch core/src/authz/load.rs`.)
//!   `content/policies/tests/{ALLOW,DENY}/*.json` are example requests that the test suite
//!   (`core/tests/policies.rs`) replays against the shipped policies.
//! - **Loading** ([`Authorizer::load`], in `load.rs`) parses the schema and every policy file,
//!   renames each policy to its `@id` (required and unique) and validates the whole set against
//!   the schema in strict mode. Any problem is one [`CoreError::Invalid`] whose lines read
//!   `file:line:column: message`, so a broken policy stops Portico at start-up, not at request
//!   time.
//! - **Deciding** ([`Authorizer::authorize`]): the caller describes who ([`Principal`], from the
//!   access token or the portal session), what (`action`, a Cedar action id such as
//!   `commercial:GetOrder`) and on which [`Resource`]. The request becomes two Cedar entities
//!   (principal and resource, with their attributes) and a Cedar request, all checked against
//!   the schema; Cedar then evaluates the policies (default deny, any matching `forbid` wins).
//!   A malformed request (unknown action, wrong resource type for the action) is a deny whose
//!   [`Decision::errors`] says why; nothing here panics.
//! - **Explaining**: a [`Decision`] carries the `@id`s of the policies that determined it, and
//!   [`Decision::explain`] turns that into a sentence for logs, audit records and error bodies.
//! - **Caching** (`cache.rs`): decisions are pure functions of the request fields and the loaded
//!   policies, so [`Authorizer::authorize`] keeps them in a bounded, sharded, TTL'd map keyed by
//!   every field of the request; a hit skips building Cedar entities altogether.
//!   [`Authorizer::authorize_uncached`] always evaluates.

mod cache;
mod load;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use cedar_policy as cedar;
use serde::{Deserialize, Serialize};

use crate::CoreError;

pub use cache::CacheStats;
use cache::DecisionCache;

/// Default number of cached decisions.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// Default lifetime of a cached decision.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);

/// The Cedar namespace of the schema and policies.
pub const NAMESPACE: &str = "Platform";

/// Who asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Principal {
    /// A partner's machine client (`Platform::Application`), from an OAuth client-credentials
    /// access token: `partner_id` is its tenant, `scopes` the token's scopes.
    Application {
        client_id: String,
        partner_id: String,
        #[serde(default)]
        scopes: Vec<String>,
    },
    /// A human (`Platform::User`) signed in to the portal.
    User {
        sub: String,
        tenant_id: String,
        #[serde(default)]
        groups: Vec<String>,
    },
}

impl Principal {
    /// The Cedar entity type name without namespace (`Application` or `User`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Principal::Application { .. } => "Application",
            Principal::User { .. } => "User",
        }
    }

    /// The Cedar entity id (`client_id` or `sub`).
    pub fn id(&self) -> &str {
        match self {
            Principal::Application { client_id, .. } => client_id,
            Principal::User { sub, .. } => sub,
        }
    }
}

/// The kind of a [`Resource`], i.e. its Cedar entity type in the `Platform` namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceKind {
    Order,
    /// A quote package.
    Quote,
    /// A catalogue product. The catalogue is shared by all tenants: shared products have
    /// `tenant_id` `"*"` ([`SHARED_TENANT`]); a product reserved to one partner has that
    /// partner's id.
    Product,
    /// The target of a list or create endpoint (id e.g. `orders`), with the caller's tenant.
    Collection,
    /// A human user's account; needs [`Resource::owner_sub`].
    Account,
}

/// `tenant_id` of resources shared by every tenant (the product catalogue).
pub const SHARED_TENANT: &str = "*";

impl ResourceKind {
    pub const ALL: [ResourceKind; 5] = [
        ResourceKind::Order,
        ResourceKind::Quote,
        ResourceKind::Product,
        ResourceKind::Collection,
        ResourceKind::Account,
    ];

    /// The Cedar entity type name without namespace.
    pub fn type_name(self) -> &'static str {
        match self {
            ResourceKind::Order => "Order",
            ResourceKind::Quote => "Quote",
            ResourceKind::Product => "Product",
            ResourceKind::Collection => "Collection",
            ResourceKind::Account => "Account",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What is acted on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    #[serde(rename = "type")]
    pub kind: ResourceKind,
    pub id: String,
    pub tenant_id: String,
    /// The owning user's `sub`; required for [`ResourceKind::Account`], absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_sub: Option<String>,
}

/// One authorization question: may `principal` do `action` on `resource`?
#[derive(Clone, Copy, Debug)]
pub struct AuthzRequest<'a> {
    pub principal: &'a Principal,
    /// A Cedar action id of the schema, e.g. `commercial:GetOrder`.
    pub action: &'a str,
    pub resource: &'a Resource,
}

/// The answer to an [`AuthzRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The action asked for (used by [`Decision::explain`]).
    pub action: String,
    /// `@id`s of the determining policies, sorted: the permits that matched when allowed, the
    /// forbids that matched when denied by a forbid; empty for a default deny.
    pub policies: Vec<String>,
    /// Why the request could not be evaluated (then it is denied), or errors of single policies
    /// that Cedar skipped while evaluating.
    pub errors: Vec<String>,
    /// [`Decision::explain`], worked out once: cached decisions are explained in the request
    /// log of every request they answer.
    explanation: Arc<str>,
}

impl Decision {
    pub fn new(allowed: bool, action: String, policies: Vec<String>, errors: Vec<String>) -> Self {
        let explanation = Self::sentence(allowed, &action, &policies, &errors).into();
        Decision {
            allowed,
            action,
            policies,
            errors,
            explanation,
        }
    }

    fn denied_with_error(action: &str, error: String) -> Self {
        Decision::new(false, action.to_owned(), Vec::new(), vec![error])
    }

    /// A sentence for logs, audit records and error bodies, e.g.
    /// `allowed by applications-read-own-tenant`,
    /// `denied by forbid policy applications-never-delete-accounts` or
    /// `denied: no policy permits commercial:CancelOrder for this principal (default deny)`.
    pub fn explain(&self) -> String {
        self.explanation.to_string()
    }

    /// [`Decision::explain`], shared.
    pub fn explanation(&self) -> &Arc<str> {
        &self.explanation
    }

    fn sentence(allowed: bool, action: &str, policies: &[String], errors: &[String]) -> String {
        let list = policies.join(", ");
        let mut text = if allowed {
            format!("allowed by {list}")
        } else if !policies.is_empty() {
            let noun = if policies.len() == 1 {
                "policy"
            } else {
                "policies"
            };
            format!("denied by forbid {noun} {list}")
        } else if !errors.is_empty() {
            return format!("denied: {}", errors.join("; "));
        } else {
            format!("denied: no policy permits {action} for this principal (default deny)")
        };
        if !errors.is_empty() {
            text.push_str(&format!(" (errors: {})", errors.join("; ")));
        }
        text
    }
}

/// Cedar entity type names, parsed once at load.
struct TypeNames {
    application: cedar::EntityTypeName,
    user: cedar::EntityTypeName,
    action: cedar::EntityTypeName,
    resources: [cedar::EntityTypeName; 5],
}

impl TypeNames {
    fn new() -> Result<Self, CoreError> {
        let parse = |name: &str| {
            cedar::EntityTypeName::from_str(&format!("{NAMESPACE}::{name}"))
                .map_err(|e| CoreError::Invalid(format!("entity type {name}: {e}")))
        };
        let [order, quote, product, collection, account] =
            ResourceKind::ALL.map(|kind| parse(kind.type_name()));
        Ok(TypeNames {
            application: parse("Application")?,
            user: parse("User")?,
            action: parse("Action")?,
            resources: [order?, quote?, product?, collection?, account?],
        })
    }
}

/// The policy engine: schema + validated policies + decision cache. `Send + Sync`; build it
/// once at start-up and share it in an `Arc`.
pub struct Authorizer {
    schema: cedar::Schema,
    policies: cedar::PolicySet,
    engine: cedar::Authorizer,
    types: TypeNames,
    actions: Vec<String>,
    /// `@id` → `file:line` of every policy.
    locations: BTreeMap<String, String>,
    /// Where the policies came from: a directory or `embedded`.
    origin: String,
    cache: DecisionCache,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("origin", &self.origin)
            .field("policies", &self.locations)
            .field("actions", &self.actions)
            .field("cache", &self.cache.stats())
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// Loads the schema and policies from `dir` (normally `PORTICO_CONTENT_DIR/policies`) when
    /// given and present, else the copy embedded in the binary. Parse and validation errors
    /// come back as one [`CoreError::Invalid`] naming file, line and column.
    pub fn load(dir: Option<&Path>) -> Result<Self, CoreError> {
        match dir {
            Some(dir) if dir.is_dir() => {
                let sources = load::read_dir(dir)?;
                Self::from_sources(sources, dir.display().to_string())
            }
            Some(dir) => {
                tracing::info!(
                    dir = %dir.display(),
                    "no policy directory there; using the embedded policies"
                );
                Self::embedded()
            }
            None => Self::embedded(),
        }
    }

    /// Loads the schema and policies embedded at build time from `content/policies/`.
    pub fn embedded() -> Result<Self, CoreError> {
        Self::from_sources(load::read_embedded()?, "embedded".to_owned())
    }

    fn from_sources(sources: load::Sources, origin: String) -> Result<Self, CoreError> {
        let compiled = load::compile(sources)?;
        let mut actions: Vec<String> = compiled
            .schema
            .actions()
            .map(|uid| uid.id().unescaped().to_owned())
            .collect();
        actions.sort();
        tracing::debug!(
            origin = %origin,
            policies = compiled.locations.len(),
            actions = actions.len(),
            "authorization policies loaded"
        );
        Ok(Authorizer {
            schema: compiled.schema,
            policies: compiled.policies,
            engine: cedar::Authorizer::new(),
            types: TypeNames::new()?,
            actions,
            locations: compiled.locations,
            origin,
            cache: DecisionCache::new(DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL),
        })
    }

    /// Replaces the decision cache by one holding at most `capacity` decisions, each for at
    /// most `ttl`. A capacity of 0 turns caching off.
    #[must_use]
    pub fn with_cache(mut self, capacity: usize, ttl: Duration) -> Self {
        self.cache = DecisionCache::new(capacity, ttl);
        self
    }

    /// Decides `request`, from the cache when the same request was decided less than the TTL
    /// ago.
    pub fn authorize(&self, request: &AuthzRequest<'_>) -> Decision {
        Decision::clone(&self.authorize_shared(request))
    }

    /// [`Authorizer::authorize`] without copying a cached decision.
    pub fn authorize_shared(&self, request: &AuthzRequest<'_>) -> Arc<Decision> {
        if !self.cache.enabled() {
            return Arc::new(self.authorize_uncached(request));
        }
        let lookup = cache::Lookup::new(request);
        if let Some(decision) = self.cache.get(&lookup) {
            return decision;
        }
        let decision = Arc::new(self.authorize_uncached(request));
        self.cache.insert(lookup.into_key(), decision.clone());
        decision
    }

    /// Decides `request` with Cedar, bypassing the cache.
    pub fn authorize_uncached(&self, request: &AuthzRequest<'_>) -> Decision {
        match self.evaluate(request) {
            Ok(decision) => decision,
            Err(error) => Decision::denied_with_error(request.action, error),
        }
    }

    fn evaluate(&self, request: &AuthzRequest<'_>) -> Result<Decision, String> {
        let (principal_uid, principal_attrs) = self.principal_entity(request.principal);
        let action_uid = cedar::EntityUid::from_type_name_and_id(
            self.types.action.clone(),
            cedar::EntityId::new(request.action),
        );
        let resource = request.resource;
        let resource_uid = cedar::EntityUid::from_type_name_and_id(
            self.types.resources[resource.kind.index()].clone(),
            cedar::EntityId::new(&resource.id),
        );
        let cedar_request = cedar::Request::new(
            principal_uid.clone(),
            action_uid,
            resource_uid.clone(),
            cedar::Context::empty(),
            Some(&self.schema),
        )
        .map_err(|e| format!("invalid request: {}", detailed(&e)))?;

        let mut resource_attrs = HashMap::with_capacity(2);
        resource_attrs.insert("tenant_id".to_owned(), string(&resource.tenant_id));
        if let Some(owner) = &resource.owner_sub {
            resource_attrs.insert("owner_sub".to_owned(), string(owner));
        }
        let entities = [
            (principal_uid, principal_attrs),
            (resource_uid, resource_attrs),
        ]
        .into_iter()
        .map(|(uid, attrs)| {
            cedar::Entity::new(uid, attrs, HashSet::new())
                .map_err(|e| format!("invalid entity: {}", detailed(&e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
        let entities = cedar::Entities::from_entities(entities, Some(&self.schema))
            .map_err(|e| format!("invalid request: {}", detailed(&e)))?;

        let response = self
            .engine
            .is_authorized(&cedar_request, &self.policies, &entities);
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        policies.sort();
        let errors = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        Ok(Decision::new(
            response.decision() == cedar::Decision::Allow,
            request.action.to_owned(),
            policies,
            errors,
        ))
    }

    fn principal_entity(
        &self,
        principal: &Principal,
    ) -> (
        cedar::EntityUid,
        HashMap<String, cedar::RestrictedExpression>,
    ) {
        let (type_name, attrs) = match principal {
            Principal::Application {
                client_id,
                partner_id,
                scopes,
            } => (
                &self.types.application,
                [
                    ("client_id", string(client_id)),
                    ("partner_id", string(partner_id)),
                    ("scopes", string_set(scopes)),
                ],
            ),
            Principal::User {
                sub,
                tenant_id,
                groups,
            } => (
                &self.types.user,
                [
                    ("sub", string(sub)),
                    ("tenant_id", string(tenant_id)),
                    ("groups", string_set(groups)),
                ],
            ),
        };
        let uid = cedar::EntityUid::from_type_name_and_id(
            type_name.clone(),
            cedar::EntityId::new(principal.id()),
        );
        let attrs = attrs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        (uid, attrs)
    }

    /// The action ids declared in the schema, sorted.
    pub fn actions(&self) -> Vec<String> {
        self.actions.clone()
    }

    /// The `@id`s of the loaded policies, sorted.
    pub fn policy_ids(&self) -> Vec<String> {
        self.locations.keys().cloned().collect()
    }

    /// Where the policy with this `@id` is defined, as `file:line`.
    pub fn policy_location(&self, id: &str) -> Option<&str> {
        self.locations.get(id).map(String::as_str)
    }

    /// Where the policies were loaded from: their directory, or `embedded`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Counters and size of the decision cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Drops every cached decision.
    pub fn clear_cache(&self) {
        self.cache.clear();
    }
}

fn string(value: &str) -> cedar::RestrictedExpression {
    cedar::RestrictedExpression::new_string(value.to_owned())
}

fn string_set(values: &[String]) -> cedar::RestrictedExpression {
    cedar::RestrictedExpression::new_set(values.iter().map(|v| string(v)))
}

/// The message of a Cedar error with its causes and help.
fn detailed<E: std::error::Error + ?Sized>(error: &E) -> String
where
    for<'a> cedar::ffi::DetailedError: From<&'a E>,
{
    let detail = cedar::ffi::DetailedError::from(error);
    match detail.help {
        Some(help) => format!("{} ({help})", detail.message),
        None => detail.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn authorizer_is_send_and_sync() {
        assert_send_sync::<Authorizer>();
    }

    #[test]
    fn embedded_policies_load() {
        let authz = Authorizer::embedded().expect("embedded policies load");
        assert_eq!(authz.origin(), "embedded");
        assert!(authz.actions().contains(&"commercial:GetOrder".to_owned()));
        assert!(
            authz
                .policy_ids()
                .contains(&"applications-read-own-tenant".to_owned())
        );
    }

    #[test]
    fn resource_kinds_index_their_type_names() {
        let types = TypeNames::new().expect("type names");
        for kind in ResourceKind::ALL {
            assert_eq!(
                types.resources[kind.index()].to_string(),
                format!("Platform::{}", kind.type_name())
            );
        }
    }

    #[test]
    fn request_json_refuses_unknown_fields() {
        let ok = r#"{"type":"Application","client_id":"a","partner_id":"p","scopes":["x"]}"#;
        let typo = r#"{"type":"Application","client_id":"a","partner_id":"p","scope":["x"]}"#;
        assert!(serde_json::from_str::<Principal>(ok).is_ok());
        assert!(serde_json::from_str::<Principal>(typo).is_err());
        let resource = r#"{"type":"Account","id":"a","tenant_id":"t","owner":"u"}"#;
        assert!(serde_json::from_str::<Resource>(resource).is_err());
    }

    #[test]
    fn explain_lists_several_policies() {
        let decision = Decision::new(
            false,
            "commercial:GetOrder".into(),
            vec!["a".into(), "b".into()],
            vec![],
        );
        assert_eq!(decision.explain(), "denied by forbid policies a, b");
    }
}
