//! The loaded catalogue: [`ApiCatalog`] (every version and its route table), its checks
//! against the Cedar schema, routing and lifecycle refreshes. Loading is in [`super::load`].

use std::collections::HashMap;

use axum::http::Method;
use portico_core::authz::scopes::{PLATFORM_SCOPES, ScopeCatalog};
use portico_core::authz::{COLLECTION, SchemaFacts};
use serde_json::Value;

use super::router::RouteTable;
use super::{ApiVersion, ModelError, Operation, SandboxBinding, VersionDates};

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
    pub(super) versions: Vec<ApiVersion>,
    pub(super) routes: Vec<RouteTable>,
    pub(super) origin: String,
    /// The scopes the models declare plus Portico's own: the known scopes.
    pub(super) scopes: ScopeCatalog,
}

impl ApiCatalog {
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
