//! What the Cedar schema declares that the API models refer to: its actions, the resource
//! types each action applies to, and the entity types of the `Platform` namespace with their
//! attributes. An API model's `x-sandbox.resource` may name any of those entity types that
//! the gateway can build a resource entity of: one with a `tenant_id: String` attribute and no
//! other required attribute than `owner_sub` (see [`SchemaFacts::resource_problem`]).

use std::collections::BTreeMap;

use cedar_policy as cedar;
use serde_json::Value;

use super::NAMESPACE;

/// The attributes the gateway gives every resource entity it builds: the owning partner's id
/// (`tenant_id`), and for types that declare it, `owner_sub` (the addressed id: such an object
/// is a person's own, addressed by their `sub`, like an account).
pub const TENANT_ATTRIBUTE: &str = "tenant_id";
pub const OWNER_ATTRIBUTE: &str = "owner_sub";

/// One attribute of an entity type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub required: bool,
    /// `String`, `Long`, `Set`, an entity or common type's name, …
    pub type_name: String,
}

/// An entity type of the `Platform` namespace and its attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityShape {
    pub name: String,
    pub attributes: BTreeMap<String, Attribute>,
}

/// The schema's actions (with the resource types each applies to) and entity types.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchemaFacts {
    /// Action id (`commercial:GetOrder`) → the entity types (without namespace) it applies to.
    actions: BTreeMap<String, Vec<String>>,
    entity_types: BTreeMap<String, EntityShape>,
    /// The entity types declaring `owner_sub` (usually one): asked on every gateway call that
    /// addresses an item, so a short list rather than a map lookup.
    owned_types: Vec<String>,
}

impl SchemaFacts {
    /// Reads the facts of a compiled `schema` made of fragments whose JSON form is
    /// `fragments` (attributes are only in the fragments).
    pub(super) fn new(schema: &cedar::Schema, fragments: &[Value]) -> Self {
        let mut actions = BTreeMap::new();
        for uid in schema.actions() {
            let mut resources: Vec<String> = schema
                .resources_for_action(uid)
                .into_iter()
                .flatten()
                .filter(|name| name.namespace() == NAMESPACE)
                .map(|name| name.basename().to_owned())
                .collect();
            resources.sort();
            resources.dedup();
            actions.insert(uid.id().unescaped().to_owned(), resources);
        }
        let mut entity_types = BTreeMap::new();
        for fragment in fragments {
            let Some(namespace) = fragment.get(NAMESPACE) else {
                continue;
            };
            let Some(Value::Object(types)) = namespace.get("entityTypes") else {
                continue;
            };
            for (name, declaration) in types {
                let attributes = declaration
                    .get("shape")
                    .map(attributes_of)
                    .unwrap_or_default();
                entity_types.insert(
                    name.clone(),
                    EntityShape {
                        name: name.clone(),
                        attributes,
                    },
                );
            }
        }
        let owned_types = entity_types
            .values()
            .filter(|shape: &&EntityShape| shape.attributes.contains_key(OWNER_ATTRIBUTE))
            .map(|shape| shape.name.clone())
            .collect();
        SchemaFacts {
            actions,
            entity_types,
            owned_types,
        }
    }

    /// Parses a schema in Cedar syntax (one fragment) and reads its facts; for tests and tools
    /// that check models against a schema without policies.
    pub fn parse(schema_text: &str) -> Result<Self, String> {
        let (fragment, _) =
            cedar::SchemaFragment::from_cedarschema_str(schema_text).map_err(|e| e.to_string())?;
        let json = fragment.to_json_string().map_err(|e| e.to_string())?;
        let json: Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        let schema = cedar::Schema::from_schema_fragments([fragment]).map_err(|e| e.to_string())?;
        Ok(Self::new(&schema, &[json]))
    }

    /// The action ids, sorted.
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.actions.keys().map(String::as_str)
    }

    pub fn has_action(&self, action: &str) -> bool {
        self.actions.contains_key(action)
    }

    /// The resource types (without namespace) `action` applies to, sorted; `None` for an
    /// unknown action.
    pub fn resources_of(&self, action: &str) -> Option<&[String]> {
        self.actions.get(action).map(Vec::as_slice)
    }

    /// The same facts without `action` (as if the schema did not declare it).
    #[must_use]
    pub fn without_action(mut self, action: &str) -> Self {
        self.actions.remove(action);
        self
    }

    /// The entity types of the `Platform` namespace, sorted by name.
    pub fn entity_types(&self) -> impl Iterator<Item = &EntityShape> {
        self.entity_types.values()
    }

    pub fn entity_type(&self, name: &str) -> Option<&EntityShape> {
        self.entity_types.get(name)
    }

    /// Whether resources of `type_name` carry `owner_sub`.
    pub fn declares_owner(&self, type_name: &str) -> bool {
        self.owned_types.iter().any(|owned| owned == type_name)
    }

    /// Why the gateway cannot build resources of the entity type `name`, if it cannot: the
    /// schema does not declare it, it has no `tenant_id: String`, or it requires an attribute
    /// the gateway has no value for.
    pub fn resource_problem(&self, name: &str) -> Option<String> {
        let Some(shape) = self.entity_types.get(name) else {
            let declared: Vec<&str> = self
                .entity_types
                .values()
                .filter(|shape| shape.attributes.contains_key(TENANT_ATTRIBUTE))
                .map(|shape| shape.name.as_str())
                .collect();
            return Some(format!(
                "resource {name:?} is not an entity type of the Cedar schema (namespace {NAMESPACE}); \
                 declare it in a .cedarschema file of the policies, e.g. `entity {name} = {{ tenant_id: String }};` \
                 (resource types declared now: {})",
                declared.join(", ")
            ));
        };
        let qualified = format!("{NAMESPACE}::{name}");
        match shape.attributes.get(TENANT_ATTRIBUTE) {
            None => {
                return Some(format!(
                    "resource {name:?}: the Cedar entity type {qualified} has no tenant_id attribute; \
                     declare `tenant_id: String` (the gateway sets it to the owning partner's id, so \
                     that policies can keep partners apart)"
                ));
            }
            Some(attribute) if attribute.type_name != "String" => {
                return Some(format!(
                    "resource {name:?}: tenant_id of the Cedar entity type {qualified} must be a String, not {}",
                    attribute.type_name
                ));
            }
            Some(_) => {}
        }
        if let Some(owner) = shape.attributes.get(OWNER_ATTRIBUTE)
            && owner.type_name != "String"
        {
            return Some(format!(
                "resource {name:?}: owner_sub of the Cedar entity type {qualified} must be a String, not {}",
                owner.type_name
            ));
        }
        shape
            .attributes
            .iter()
            .find(|(attribute, info)| {
                info.required && attribute.as_str() != TENANT_ATTRIBUTE && attribute.as_str() != OWNER_ATTRIBUTE
            })
            .map(|(attribute, info)| {
                format!(
                    "resource {name:?}: the Cedar entity type {qualified} requires the attribute {attribute}, \
                     which the gateway cannot fill (it sets tenant_id, and owner_sub when declared); \
                     make it optional (`{attribute}?: {}`)",
                    info.type_name
                )
            })
    }

    /// Whether the schema lets `action` apply to resources of `resource_type`.
    pub fn applies_to(&self, action: &str, resource_type: &str) -> bool {
        self.resources_of(action)
            .is_some_and(|types| types.iter().any(|t| t == resource_type))
    }
}

/// The attributes of an entity shape (a record: the Cedar syntax has no other shape).
fn attributes_of(shape: &Value) -> BTreeMap<String, Attribute> {
    let Some(Value::Object(attributes)) = shape.get("attributes") else {
        return BTreeMap::new();
    };
    attributes
        .iter()
        .map(|(name, declared)| {
            let required = declared
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let type_name = referenced_name(declared)
                .or_else(|| declared.get("type").and_then(Value::as_str))
                .unwrap_or_default()
                .to_owned();
            (
                name.clone(),
                Attribute {
                    required,
                    type_name,
                },
            )
        })
        .collect()
}

/// The type a JSON-schema type refers to by name (`{"type": "EntityOrCommon", "name":
/// "String"}` → `String`), without namespace.
fn referenced_name(declared: &Value) -> Option<&str> {
    match declared.get("type").and_then(Value::as_str) {
        Some("EntityOrCommon" | "Entity") => declared
            .get("name")
            .and_then(Value::as_str)
            .map(|name| name.rsplit("::").next().unwrap_or(name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"
namespace Platform {
  entity Application = { client_id: String, partner_id: String, scopes: Set<String> };
  entity Collection = { tenant_id: String };
  entity Shipment = { tenant_id: String, weight_kg?: Long };
  entity Parcel = { tenant_id: String, weight_kg: Long };
  entity Depot = { name: String };
  entity Locker = { tenant_id: Long };
  entity Mailbox = { tenant_id: String, owner_sub: String };
  action "logistics:GetShipment" appliesTo { principal: [Application], resource: [Shipment] };
  action "logistics:ListShipments" appliesTo { principal: [Application], resource: [Collection, Shipment] };
}
"#;

    #[test]
    fn reads_actions_entity_types_and_attributes() {
        let facts = SchemaFacts::parse(SCHEMA).unwrap();
        assert_eq!(
            facts.actions().collect::<Vec<_>>(),
            ["logistics:GetShipment", "logistics:ListShipments"]
        );
        assert_eq!(
            facts.resources_of("logistics:ListShipments").unwrap(),
            ["Collection", "Shipment"]
        );
        assert!(facts.applies_to("logistics:GetShipment", "Shipment"));
        assert!(!facts.applies_to("logistics:GetShipment", "Collection"));
        let shipment = facts.entity_type("Shipment").unwrap();
        assert_eq!(
            shipment.attributes["weight_kg"],
            Attribute {
                required: false,
                type_name: "Long".into()
            }
        );
        assert!(shipment.attributes["tenant_id"].required);
        assert!(facts.declares_owner("Mailbox"));
        assert!(!facts.declares_owner("Shipment"));
    }

    #[test]
    fn says_why_a_type_cannot_be_a_resource() {
        let facts = SchemaFacts::parse(SCHEMA).unwrap();
        assert_eq!(facts.resource_problem("Shipment"), None);
        assert_eq!(facts.resource_problem("Mailbox"), None);
        let unknown = facts.resource_problem("Invoice").unwrap();
        assert!(
            unknown.contains("resource \"Invoice\" is not an entity type of the Cedar schema")
                && unknown.contains("declared now: Collection, Locker, Mailbox, Parcel, Shipment"),
            "{unknown}"
        );
        let depot = facts.resource_problem("Depot").unwrap();
        assert!(
            depot.contains("Platform::Depot has no tenant_id attribute"),
            "{depot}"
        );
        let locker = facts.resource_problem("Locker").unwrap();
        assert!(locker.contains("must be a String, not Long"), "{locker}");
        let parcel = facts.resource_problem("Parcel").unwrap();
        assert!(
            parcel.contains("requires the attribute weight_kg")
                && parcel.contains("weight_kg?: Long"),
            "{parcel}"
        );
    }
}
