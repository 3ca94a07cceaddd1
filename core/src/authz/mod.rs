//! Authorization of partner applications and portal users with [Cedar](https://www.cedarpolicy.com).
//!
//! How the pieces fit:
//!
//! - **Content.** `content/policies/` holds the Cedar schema (`schema.cedarschema`, namespace
//!   `Platform`, plus any other `*.cedarschema` fragment, e.g. an added API's entity types and
//!   actions) and the policies (`*.cedar`, every policy named by an `@id("...")` annotation).
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
//!   A resource may be of any entity type of the schema ([`ResourceType`]);
//!   [`Authorizer::resource`] gives it the attributes its type declares, and
//!   [`SchemaFacts`] says which types and actions API models may name.
//!   A malformed request (unknown action, wrong resource type for the action) is a deny whose
//!   [`Decision::errors`] says why; nothing here panics.
//! - **Explaining**: a [`Decision`] carries the `@id`s of the policies that determined it, and
//!   [`Decision::explain`] turns that into a sentence for logs, audit records and error bodies.
//! - **Caching** (`cache.rs`): decisions are pure functions of the request fields and the loaded
//!   policies, so [`Authorizer::authorize`] keeps them in a bounded, sharded, TTL'd map keyed by
//!   every field of the request; a hit skips building Cedar entities altogether.
//!   [`Authorizer::authorize_uncached`] always evaluates.
//! - **Scopes** ([`scopes`]): the OAuth scope catalog the models declare. Enforcement (token,
//!   then policy) is [`crate::enforce`], above this module and the token service.

mod cache;
mod load;
mod schema;
pub mod scopes;

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
pub use schema::{Attribute, EntityShape, OWNER_ATTRIBUTE, SchemaFacts, TENANT_ATTRIBUTE};

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

/// The Cedar entity type of a [`Resource`] in the `Platform` namespace, by name: `Collection`
/// (the target of a list or create endpoint) or any entity type the schema declares
/// (`Order`, `Account`, a content schema's `Shipment`). Cheap to clone: the name is shared.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceType(Arc<str>);

/// `tenant_id` of resources shared by every tenant (the product catalogue).
pub const SHARED_TENANT: &str = "*";

/// The entity type of list and create targets (id e.g. `orders`, with the caller's tenant).
pub const COLLECTION: &str = "Collection";

impl ResourceType {
    pub fn new(type_name: &str) -> Self {
        ResourceType(Arc::from(type_name))
    }

    /// `Collection`, shared: the gateway names it on every list and create call.
    pub fn collection() -> Self {
        static COLLECTION_TYPE: std::sync::LazyLock<ResourceType> =
            std::sync::LazyLock::new(|| ResourceType::new(COLLECTION));
        COLLECTION_TYPE.clone()
    }

    /// The Cedar entity type name without namespace, as the schema and the model write it.
    pub fn type_name(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ResourceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ResourceType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ResourceType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(ResourceType(Arc::from(name)))
    }
}

/// What is acted on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    #[serde(rename = "type")]
    pub kind: ResourceType,
    pub id: String,
    pub tenant_id: String,
    /// The owning person's `sub`: given for the types whose schema declares `owner_sub`
    /// (`Account`), absent otherwise.
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
    /// Every entity type of the namespace, by its name without namespace.
    resources: HashMap<String, cedar::EntityTypeName>,
}

impl TypeNames {
    fn new(schema: &cedar::Schema) -> Result<Self, CoreError> {
        let parse = |name: &str| {
            cedar::EntityTypeName::from_str(&format!("{NAMESPACE}::{name}"))
                .map_err(|e| CoreError::Invalid(format!("entity type {name}: {e}")))
        };
        let resources = schema
            .entity_types()
            .filter(|name| name.namespace() == NAMESPACE)
            .map(|name| (name.basename().to_owned(), name.clone()))
            .collect();
        Ok(TypeNames {
            application: parse("Application")?,
            user: parse("User")?,
            action: parse("Action")?,
            resources,
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
    facts: SchemaFacts,
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
        let types = TypeNames::new(&compiled.schema)?;
        Ok(Authorizer {
            schema: compiled.schema,
            policies: compiled.policies,
            engine: cedar::Authorizer::new(),
            types,
            actions,
            facts: compiled.facts,
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
        let Some(resource_type) = self.types.resources.get(resource.kind.type_name()) else {
            return Err(format!(
                "invalid request: the schema declares no entity type {NAMESPACE}::{}",
                resource.kind
            ));
        };
        let resource_uid = cedar::EntityUid::from_type_name_and_id(
            resource_type.clone(),
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

    /// The schema's actions and entity types: what the API models are checked against.
    pub fn schema_facts(&self) -> &SchemaFacts {
        &self.facts
    }

    /// The resource `id` of type `kind` owned by `tenant_id`, with the attributes its type
    /// declares: `owner_sub` is the id itself (a person's own object, such as an account, is
    /// addressed by their `sub`).
    pub fn resource(&self, kind: &ResourceType, id: &str, tenant_id: String) -> Resource {
        Resource {
            owner_sub: self
                .facts
                .declares_owner(kind.type_name())
                .then(|| id.to_owned()),
            kind: kind.clone(),
            id: id.to_owned(),
            tenant_id,
        }
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
    fn every_shipped_resource_type_has_an_entity_type() {
        let authz = Authorizer::embedded().expect("embedded policies load");
        for name in ["Order", "Quote", "Product", "Collection", "Account"] {
            assert_eq!(
                authz.types.resources[name].to_string(),
                format!("Platform::{name}")
            );
            assert_eq!(authz.schema_facts().resource_problem(name), None, "{name}");
        }
        let account = authz.resource(&ResourceType::new("Account"), "usr_1", "acme".into());
        assert_eq!(account.owner_sub.as_deref(), Some("usr_1"));
        let order = authz.resource(&ResourceType::new("Order"), "ord_1", "acme".into());
        assert_eq!(order.owner_sub, None);
    }

    #[test]
    fn schema_fragments_add_entity_types_and_actions() {
        let mut sources = load::read_embedded().expect("embedded");
        sources.schemas.push(load::SourceFile {
            name: "policies/logistics.cedarschema".into(),
            text: r#"namespace Platform {
  entity Shipment = { tenant_id: String };
  action "logistics:GetShipment" appliesTo { principal: [Application], resource: [Shipment] };
}"#
            .into(),
        });
        sources.policies.push(load::SourceFile {
            name: "policies/logistics.cedar".into(),
            text: r#"@id("shipments-own-tenant")
permit (principal is Platform::Application, action == Platform::Action::"logistics:GetShipment", resource is Platform::Shipment)
when { resource.tenant_id == principal.partner_id };"#
                .into(),
        });
        let authz = Authorizer::from_sources(sources, "test".into()).expect("loads");
        assert!(
            authz
                .actions()
                .contains(&"logistics:GetShipment".to_owned())
        );
        assert_eq!(authz.schema_facts().resource_problem("Shipment"), None);
        let principal = Principal::Application {
            client_id: "c".into(),
            partner_id: "acme".into(),
            scopes: vec![],
        };
        let shipment = authz.resource(&ResourceType::new("Shipment"), "shp_1", "acme".into());
        let decision = authz.authorize_uncached(&AuthzRequest {
            principal: &principal,
            action: "logistics:GetShipment",
            resource: &shipment,
        });
        assert!(decision.allowed, "{}", decision.explain());
        let unknown = authz.authorize_uncached(&AuthzRequest {
            principal: &principal,
            action: "logistics:GetShipment",
            resource: &authz.resource(&ResourceType::new("Parcel"), "p", "acme".into()),
        });
        assert!(
            !unknown.allowed
                && unknown
                    .explain()
                    .contains("no entity type Platform::Parcel"),
            "{}",
            unknown.explain()
        );

        let mut duplicate = load::read_embedded().expect("embedded");
        duplicate.schemas.push(load::SourceFile {
            name: "policies/again.cedarschema".into(),
            text: "namespace Platform { entity Order = { tenant_id: String }; }".into(),
        });
        let error = Authorizer::from_sources(duplicate, "test".into())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("content/policies/schema.cedarschema + policies/again.cedarschema")
                && error.contains("Order"),
            "{error}"
        );
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
