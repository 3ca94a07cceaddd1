//! The `x-sandbox` extension of an operation: [`SandboxBinding`] and its parts (behavior,
//! pagination, transition, timestamps), and how it is read with its collection's defaults.

use std::sync::Arc;

use portico_core::authz::ResourceType;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::stores::{self, Computed, FieldMap, Lookup, LookupDecl, SeedId, SeedValue, Storage};
use super::{Operation, ParamLocation};

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
    /// with a `tenant_id`; [`ApiCatalog::check`](super::ApiCatalog::check) asks the schema).
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
    pub(super) lookup_decls: Vec<LookupDecl>,
    /// `seed-values` as declared here (the effective ones are [`Storage::seed_values`]).
    pub(super) seed_values: Vec<SeedValue>,
    /// `seed-ids` as declared here (the effective ones are [`Storage::seed_ids`]).
    pub(super) seed_ids: Vec<SeedId>,
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

pub(super) fn parse_sandbox(
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
