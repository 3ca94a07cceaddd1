//! The identifiers of one version's TypeScript package, chosen once so that the declarations,
//! the JavaScript, the README and the docs samples agree: named types keep the model's names
//! (made valid identifiers, never clashing with the runtime's exports or each other), methods
//! are `camel(operationId)`, parameters `camel(name)`.

use crate::model::{Api, ErrorType, Location, Operation, Pagination, Parameter, Schema};
use crate::names::{api_words, camel, kebab, pascal};
use std::collections::{HashMap, HashSet};

/// Words that cannot name a binding (ECMAScript reserved words, strict-mode ones and the
/// TypeScript type keywords a type alias cannot take).
const RESERVED: &[&str] = &[
    "any",
    "arguments",
    "as",
    "async",
    "await",
    "bigint",
    "boolean",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "constructor",
    "continue",
    "debugger",
    "declare",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "from",
    "function",
    "get",
    "if",
    "implements",
    "import",
    "in",
    "infer",
    "instanceof",
    "interface",
    "is",
    "keyof",
    "let",
    "module",
    "namespace",
    "never",
    "new",
    "null",
    "number",
    "object",
    "of",
    "package",
    "private",
    "protected",
    "public",
    "readonly",
    "require",
    "return",
    "satisfies",
    "set",
    "static",
    "string",
    "super",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "typeof",
    "undefined",
    "unique",
    "unknown",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// What the package exports or binds besides the model's names.
const RUNTIME_EXPORTS: &[&str] = &[
    "runtime",
    "ApiError",
    "ApiErrorInit",
    "AuthenticationError",
    "WebhookVerificationError",
    "verifyWebhook",
    "ClientOptions",
    "RequestOptions",
    "Environment",
    "EnvironmentPreset",
    "FieldErrorDetail",
    "BaseClient",
    "ENVIRONMENTS",
    "SDK_VERSION",
    "API_VERSION",
    "MODEL_SHA256",
    "OPERATIONS",
    "ERROR_TYPES",
    // Globals the generated files name.
    "Promise",
    "AsyncIterable",
    "Record",
    "Omit",
    "Map",
    "Object",
];

/// Members every client has: an operation named like one gets `…Operation`.
const CLIENT_MEMBERS: &[&str] = &[
    "constructor",
    "baseUrl",
    "environment",
    "toString",
    "toLocaleString",
    "valueOf",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
];

pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}

/// A JS string literal (JSON's escaping is valid JavaScript).
pub fn js_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// A property name as written in an object type or literal: bare when it can be.
pub fn property_key(name: &str) -> String {
    if is_identifier(name) {
        name.to_owned()
    } else {
        js_string(name)
    }
}

/// Hands out identifiers, each once.
struct Allocator {
    taken: HashSet<String>,
}

impl Allocator {
    fn new() -> Self {
        Allocator {
            taken: RUNTIME_EXPORTS.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// `wanted` as given when it is a free identifier, else made one and suffixed until free.
    fn take(&mut self, wanted: &str, suffix: &str) -> String {
        let mut name = if is_identifier(wanted) {
            wanted.to_owned()
        } else {
            pascal(wanted)
        };
        while is_reserved(&name) || self.taken.contains(&name) {
            name.push_str(suffix);
        }
        self.taken.insert(name.clone());
        name
    }
}

/// A parameter of an operation and its key in the method's params object.
#[derive(Clone, Debug)]
pub struct ParamName<'a> {
    pub parameter: &'a Parameter,
    pub key: String,
}

/// How a paginator walks a list operation, with the params keys it sets.
#[derive(Clone, Debug)]
pub enum Paging {
    Cursor {
        cursor_key: String,
        items_field: String,
        next_cursor_field: String,
    },
    Page {
        page_key: String,
        size_key: String,
        items_field: String,
        total_field: Option<String>,
    },
}

impl Paging {
    /// The key the paginator sets itself (and so leaves out of its params type).
    pub fn driven_key(&self) -> &str {
        match self {
            Paging::Cursor { cursor_key, .. } => cursor_key,
            Paging::Page { page_key, .. } => page_key,
        }
    }

    pub fn items_field(&self) -> &str {
        match self {
            Paging::Cursor { items_field, .. } | Paging::Page { items_field, .. } => items_field,
        }
    }
}

/// One operation's identifiers.
#[derive(Clone, Debug)]
pub struct OperationNames<'a> {
    pub operation: &'a Operation,
    /// `createOrder`.
    pub method: String,
    /// `paginateListOrders`, for list operations.
    pub paginator: Option<String>,
    /// `CreateOrderParams`.
    pub params_type: String,
    /// Declared parameters, then any the pagination needs that the model leaves out.
    pub params: Vec<ParamName<'a>>,
    /// The key of the Idempotency-Key parameter, which the runtime fills.
    pub idempotency_key: Option<String>,
    pub paging: Option<Paging>,
}

impl OperationNames<'_> {
    /// Whether the params object may be left out (nothing in it is required).
    pub fn params_optional(&self) -> bool {
        !self.params.iter().any(|p| self.is_required(p))
            && !self
                .operation
                .body
                .as_ref()
                .is_some_and(|body| body.required)
    }

    /// Required by the model and not filled by the SDK.
    pub fn is_required(&self, param: &ParamName<'_>) -> bool {
        param.parameter.required && self.idempotency_key.as_deref() != Some(param.key.as_str())
    }

    pub fn param(&self, name: &str, location: Location) -> Option<&ParamName<'_>> {
        self.params
            .iter()
            .find(|p| p.parameter.name == name && p.parameter.location == location)
    }
}

/// Every identifier of one version's package.
#[derive(Clone, Debug)]
pub struct Names<'a> {
    pub api: &'a Api,
    /// `portico-commercial`.
    pub package: String,
    /// `PorticoCommercialClient`.
    pub client_class: String,
    /// `components.schemas` name → type name.
    pub types: HashMap<String, String>,
    /// Documented error types and their class names, in the model's order.
    pub errors: Vec<(&'a ErrorType, String)>,
    pub operations: Vec<OperationNames<'a>>,
}

impl<'a> Names<'a> {
    pub fn of(api: &'a Api) -> Names<'a> {
        let words = api_words(&api.title);
        let package = kebab(&words.join(" "));
        let mut allocator = Allocator::new();
        let client_class = allocator.take(&format!("{}Client", pascal(&words.join(" "))), "_");

        // Error classes keep their `__type` exactly (the contract partners code against).
        let errors = api
            .error_types
            .iter()
            .map(|error| (error, allocator.take(&error.name, "Error")))
            .collect();
        let types = api
            .types
            .iter()
            .map(|named| (named.name.clone(), allocator.take(&named.name, "Model")))
            .collect();

        let mut methods: HashSet<String> = CLIENT_MEMBERS.iter().map(|s| (*s).to_owned()).collect();
        let mut method_name = |wanted: String| {
            let mut name = wanted;
            while methods.contains(&name) {
                name.push_str("Operation");
            }
            methods.insert(name.clone());
            name
        };
        let mut operations: Vec<OperationNames<'a>> = api
            .operations
            .iter()
            .map(|operation| {
                let params = param_names(operation);
                let idempotency_key = operation.idempotency_key().and_then(|key| {
                    params
                        .iter()
                        .find(|p| std::ptr::eq(p.parameter, key))
                        .map(|p| p.key.clone())
                });
                OperationNames {
                    operation,
                    method: method_name(camel(&operation.id)),
                    paginator: None,
                    params_type: allocator.take(&format!("{}Params", pascal(&operation.id)), "_"),
                    params,
                    idempotency_key,
                    paging: None,
                }
            })
            .collect();
        // Paginators after every method, so an operation never loses its plain name.
        for names in &mut operations {
            if let Some(pagination) = &names.operation.pagination {
                names.paging = Some(paging(pagination, &names.params));
                names.paginator = Some(method_name(format!(
                    "paginate{}",
                    pascal(&names.operation.id)
                )));
            }
        }
        Names {
            api,
            package,
            client_class,
            types,
            errors,
            operations,
        }
    }

    /// The type name of a `components.schemas` entry (None for a dangling `$ref`).
    pub fn type_name(&self, schema_name: &str) -> Option<&str> {
        self.types.get(schema_name).map(String::as_str)
    }

    pub fn operation(&self, id: &str) -> Option<&OperationNames<'a>> {
        self.operations.iter().find(|o| o.operation.id == id)
    }

    pub fn error_class(&self, error_type: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(error, _)| error.name == error_type)
            .map(|(_, class)| class.as_str())
    }

    /// The schema of a list operation's items: its success body's `items_field` array.
    pub fn item_schema(&self, names: &OperationNames<'a>) -> Option<&'a Schema> {
        let paging = names.paging.as_ref()?;
        let body = names.operation.success.schema.as_ref()?;
        let Schema::Object(object) = resolve(self.api, body) else {
            return None;
        };
        let field = object
            .properties
            .iter()
            .find(|p| p.name == paging.items_field())?;
        match resolve(self.api, &field.schema) {
            Schema::Array(item) => Some(item),
            _ => None,
        }
    }
}

/// Follows named types to the schema that says what a value is.
pub fn resolve<'s>(api: &'s Api, schema: &'s Schema) -> &'s Schema {
    let mut current = schema;
    // Bounded: a model may name a type that only names itself.
    for _ in 0..16 {
        match current {
            Schema::Ref(name) => match api.named(name) {
                Some(named) => current = &named.schema,
                None => return current,
            },
            _ => return current,
        }
    }
    current
}

fn param_names(operation: &Operation) -> Vec<ParamName<'_>> {
    let mut taken: HashSet<String> = HashSet::new();
    if operation.body.is_some() {
        taken.insert("body".into());
    }
    operation
        .parameters
        .iter()
        .map(|parameter| {
            let mut key = camel(&parameter.name);
            if taken.contains(&key) {
                let place = match parameter.location {
                    Location::Path => "Path",
                    Location::Query => "Query",
                    Location::Header => "Header",
                };
                key.push_str(place);
                while taken.contains(&key) {
                    key.push('_');
                }
            }
            taken.insert(key.clone());
            ParamName { parameter, key }
        })
        .collect()
}

fn paging(pagination: &Pagination, params: &[ParamName<'_>]) -> Paging {
    // The params key of a query parameter the pagination names (declared or not).
    let key = |wire: &str| {
        params
            .iter()
            .find(|p| p.parameter.location == Location::Query && p.parameter.name == wire)
            .map_or_else(|| camel(wire), |p| p.key.clone())
    };
    match pagination {
        Pagination::Cursor {
            cursor_param,
            items_field,
            next_cursor_field,
            ..
        } => Paging::Cursor {
            cursor_key: key(cursor_param),
            items_field: items_field.clone(),
            next_cursor_field: next_cursor_field.clone(),
        },
        Pagination::Page {
            page_param,
            size_param,
            items_field,
            total_field,
        } => Paging::Page {
            page_key: key(page_param),
            size_key: key(size_param),
            items_field: items_field.clone(),
            total_field: total_field.clone(),
        },
    }
}

/// The pagination's query parameters the model does not declare: the JavaScript sends them
/// anyway, under their wire names.
pub fn undeclared_paging_params(names: &OperationNames<'_>) -> Vec<(String, String)> {
    let Some(pagination) = &names.operation.pagination else {
        return Vec::new();
    };
    let wire: Vec<&str> = match pagination {
        Pagination::Cursor {
            cursor_param,
            limit_param,
            ..
        } => vec![cursor_param, limit_param],
        Pagination::Page {
            page_param,
            size_param,
            ..
        } => vec![page_param, size_param],
    };
    wire.into_iter()
        .filter(|name| names.param(name, Location::Query).is_none())
        .map(|name| (camel(name), name.to_owned()))
        .collect()
}
