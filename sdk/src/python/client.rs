//! The generated modules besides `types.py`: `_client.py` (one method per operation, one
//! paginator per list), `errors.py` (one class per documented `__type`), `_metadata.py` and
//! `__init__.py` (the last three written by [`super::modules`]). Method and argument names
//! come from [`plan`], which the code samples use too.

use super::identity::Identity;
use super::syntax::{self, import_list, wrap_paragraph};
use super::types::Types;
use crate::model::{Api, Location, Operation, Pagination, Schema};
use crate::names;
use std::collections::HashSet;

/// Names a generated method must not take (the client's own members).
const RESERVED_METHODS: [&str; 2] = ["close", "base_url"];
/// Names an argument must not take (the method body uses them).
const RESERVED_ARGUMENTS: [&str; 2] = ["self", "cast"];

/// One argument of a generated method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argument {
    /// The name on the wire (`orderId`); `body` for the request body.
    pub wire: String,
    /// `None` for the body.
    pub location: Option<Location>,
    pub python: String,
    pub required: bool,
    /// The runtime fills it (an idempotency key) when the caller does not.
    pub generated: bool,
}

/// How one operation appears in Python.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodPlan {
    pub operation_id: String,
    pub method: String,
    /// `paginate_…`, for operations with pagination.
    pub paginator: Option<String>,
    /// Path arguments first (positional or keyword), then the rest (keyword-only).
    pub arguments: Vec<Argument>,
}

impl MethodPlan {
    pub fn argument(&self, location: Location, wire: &str) -> Option<&Argument> {
        self.arguments
            .iter()
            .find(|a| a.location == Some(location) && a.wire == wire)
    }

    pub fn body(&self) -> Option<&Argument> {
        self.arguments.iter().find(|a| a.location.is_none())
    }
}

/// The Python names of every operation's method and arguments, unique and not keywords.
pub fn plan(api: &Api) -> Vec<MethodPlan> {
    let mut used: HashSet<String> = RESERVED_METHODS.iter().map(|s| (*s).to_owned()).collect();
    let unique = |wanted: String, used: &mut HashSet<String>| {
        let mut name = wanted;
        while used.contains(&name) || syntax::is_keyword(&name) {
            name.push('_');
        }
        used.insert(name.clone());
        name
    };
    let mut plans = Vec::new();
    for op in &api.operations {
        let method = unique(names::snake(&op.id), &mut used);
        let paginator = op
            .pagination
            .as_ref()
            .map(|_| unique(format!("paginate_{method}"), &mut used));
        plans.push(MethodPlan {
            operation_id: op.id.clone(),
            method,
            paginator,
            arguments: arguments(op),
        });
    }
    plans
}

fn arguments(op: &Operation) -> Vec<Argument> {
    let mut taken: HashSet<String> = RESERVED_ARGUMENTS.iter().map(|s| (*s).to_owned()).collect();
    if op.body.is_some() {
        taken.insert("body".into());
    }
    let mut name_for = |wire: &str| {
        let mut name = names::snake(wire);
        while taken.contains(&name) || syntax::is_keyword(&name) {
            name.push('_');
        }
        taken.insert(name.clone());
        name
    };
    let idempotency = op.idempotency_key().map(|p| p.name.clone());
    let mut arguments: Vec<Argument> = op
        .parameters_in(Location::Path)
        .map(|p| Argument {
            wire: p.name.clone(),
            location: Some(Location::Path),
            python: name_for(&p.name),
            required: true,
            generated: false,
        })
        .collect();
    if let Some(body) = &op.body {
        arguments.push(Argument {
            wire: "body".into(),
            location: None,
            python: "body".into(),
            required: body.required,
            generated: false,
        });
    }
    for location in [Location::Query, Location::Header] {
        for p in op.parameters_in(location) {
            let generated = location == Location::Header && idempotency.as_deref() == Some(&p.name);
            arguments.push(Argument {
                wire: p.name.clone(),
                location: Some(location),
                python: name_for(&p.name),
                required: p.required && !generated,
                generated,
            });
        }
    }
    arguments
}

/// The generated modules: `(file name in the package, source)`.
pub fn modules(identity: &Identity<'_>) -> Vec<(String, String)> {
    let api = identity.api;
    let plans = plan(api);
    let errors = super::modules::error_classes(api, identity.client_class);
    let mut types = Types::new(api);
    types.render_components();
    types.take_referenced();
    let client = client_module(identity, &plans, &errors, &mut types);
    let heading = format!(
        "Types of the {} {}: one per schema of the model.\n\nObjects are TypedDicts (plain \
         dicts at run time, keys exactly as on the wire);\nstring enums are Literal aliases.",
        api.title, api.version
    );
    let types_module = types.module(&heading);
    let exported_types: Vec<String> = api
        .types
        .iter()
        .filter_map(|t| types.python_name(&t.name).map(str::to_owned))
        .collect();
    vec![
        (
            "__init__.py".into(),
            super::modules::init_module(identity, &errors, &exported_types),
        ),
        ("_client.py".into(), client),
        (
            "_metadata.py".into(),
            super::modules::metadata_module(identity),
        ),
        (
            "errors.py".into(),
            super::modules::errors_module(api, &errors),
        ),
        ("types.py".into(), types_module),
    ]
}

fn operation_constant(op: &Operation) -> String {
    format!("_{}", names::snake(&op.id).to_uppercase())
}

/// The typing names a module's text uses (a word followed by `[` or `(`, or `Any`).
fn typing_imports(code: &str, candidates: &[&str]) -> Vec<String> {
    candidates
        .iter()
        .filter(|name| {
            code.match_indices(*name).any(|(i, _)| {
                let before = code[..i].chars().next_back();
                let after = code[i + name.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"' || c == '.')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"')
            })
        })
        .map(|s| (*s).to_owned())
        .collect()
}

fn client_module(
    identity: &Identity<'_>,
    plans: &[MethodPlan],
    errors: &[(String, String)],
    types: &mut Types<'_>,
) -> String {
    let api = identity.api;
    let mut constants = String::new();
    let mut methods = String::new();
    let mut uses_cursor = false;
    let mut uses_pages = false;
    for (op, plan) in api.operations.iter().zip(plans) {
        constants.push_str(&operation_line(api, op));
        methods.push('\n');
        methods.push_str(&method(&api.version, op, plan, errors, types));
        if let (Some(pagination), Some(paginator)) = (&op.pagination, &plan.paginator) {
            methods.push('\n');
            methods.push_str(&paginator_method(op, plan, pagination, paginator, types));
            match pagination {
                Pagination::Cursor { .. } => uses_cursor = true,
                Pagination::Page { .. } => uses_pages = true,
            }
        }
    }

    let mut class = format!("class {}(BaseClient):\n", identity.client_class);
    class.push_str(&syntax::docstring(&client_docstring(identity), "    "));
    class.push('\n');
    class.push_str("    _environments = ENVIRONMENTS\n");
    class.push_str("    _error_types = ERROR_TYPES\n");
    class.push_str("    _status_error_types = STATUS_ERROR_TYPES\n");
    class.push_str(&format!(
        "    _user_agent = f\"{}-python/{{__version__}}\"\n",
        identity.distribution
    ));
    class.push_str(&methods);

    let body = format!("{constants}\n\n{class}");
    let typing = typing_imports(
        &body,
        &[
            "Any", "Dict", "Iterator", "List", "Literal", "Optional", "Union", "cast",
        ],
    );
    let referenced = types.take_referenced();
    let mut runtime = vec!["BaseClient", "Operation"];
    if uses_cursor {
        runtime.push("iterate_cursor");
    }
    if uses_pages {
        runtime.push("iterate_pages");
    }

    let mut out = syntax::docstring(
        &format!(
            "The {}: one method per operation of the {} {}.",
            identity.client_class, api.title, api.version
        ),
        "",
    );
    out.push('\n');
    if !typing.is_empty() {
        out.push_str(&format!("from typing import {}\n\n", typing.join(", ")));
    }
    out.push_str("from ._metadata import ENVIRONMENTS, __version__\n");
    out.push_str(&format!("from ._runtime import {}\n", runtime.join(", ")));
    out.push_str("from .errors import ERROR_TYPES, STATUS_ERROR_TYPES\n");
    if !referenced.is_empty() {
        out.push_str(&import_list(".types", &referenced));
    }
    out.push_str(
        "\n# The operations: method, path (version included) and whether a retry is safe.\n",
    );
    out.push_str(&body);
    out
}

fn operation_line(api: &Api, op: &Operation) -> String {
    let path = format!("/{}{}", api.version, op.path);
    let mut line = format!(
        "{} = Operation({}, {}, {}, idempotent={}",
        operation_constant(op),
        syntax::string(&op.id),
        syntax::string(&op.method),
        syntax::string(&path),
        if op.is_idempotent() { "True" } else { "False" }
    );
    if let Some(key) = op.idempotency_key() {
        line.push_str(&format!(
            ", idempotency_header={}",
            syntax::string(&key.name)
        ));
    }
    line.push_str(")\n");
    if line.len() > 100 {
        // One argument per line, as black would write it.
        let inner = line
            .trim_end()
            .trim_end_matches(')')
            .split_once('(')
            .map(|(head, args)| (head.to_owned(), args.to_owned()));
        if let Some((head, args)) = inner {
            let mut wrapped = format!("{head}(\n");
            for arg in syntax::split_top_level(&args) {
                wrapped.push_str(&format!("    {arg},\n"));
            }
            wrapped.push_str(")\n");
            return wrapped;
        }
    }
    line
}

fn client_docstring(identity: &Identity<'_>) -> String {
    let api = identity.api;
    let environments: Vec<String> = identity
        .environments
        .iter()
        .map(|(name, base, _, _)| format!("``{name}`` ({base})"))
        .collect();
    let mut doc = format!("Client of the {} {}.\n\n", api.title, api.version);
    if !api.description.trim().is_empty() {
        doc.push_str(api.description.trim());
        doc.push_str("\n\n");
    }
    doc.push_str(&format!(
        "Args:\n\
        \x20   client_id: Your application's OAuth 2.0 client id (from the portal).\n\
        \x20   client_secret: Its client secret. The client gets access tokens with the\n\
        \x20       client-credentials grant, caches them and renews them before they expire.\n\
        \x20   api_key: Your application's API key, sent as ``x-api-key`` when given.\n\
        \x20   scopes: The scopes to ask for (default: all your application may have).\n\
        \x20   environment: {}.\n\
        \x20   base_url: Call this server instead of the environment's.\n\
        \x20   token_url: Get tokens here instead of the environment's token endpoint.\n\
        \x20   audience: The token audience to ask for (default: the environment's).\n\
        \x20   token_provider: A function returning an access token, instead of client_id and\n\
        \x20       client_secret (called for every request: cache in it; called again after a 401).\n\
        \x20   max_attempts: Tries per call for 429 and 503 answers, and for network errors on\n\
        \x20       requests that are safe to repeat (default 3).\n\
        \x20   session: The ``requests.Session`` to send with (default: the client's own, closed\n\
        \x20       by ``close()`` or at the end of a ``with`` block).\n\
        \x20   timeout: Seconds per HTTP request (default 10).\n",
        environments.join(" or ")
    ));
    doc
}

fn method(
    version: &str,
    op: &Operation,
    plan: &MethodPlan,
    errors: &[(String, String)],
    types: &mut Types<'_>,
) -> String {
    let stem = names::pascal(&op.id);
    let mut signature = vec!["self".to_owned()];
    let mut keyword_only = false;
    let mut args_doc = String::new();
    let mut path_map = Vec::new();
    let mut query_map = Vec::new();
    let mut header_map = Vec::new();
    // Required keyword arguments first, then the optional ones.
    let mut ordered: Vec<&Argument> = plan.arguments.iter().collect();
    ordered.sort_by_key(|a| (a.location != Some(Location::Path), !a.required));
    for argument in ordered {
        let (schema, description) = match argument.location {
            None => {
                let body = op.body.as_ref();
                (
                    body.map_or(Schema::Any, |b| b.schema.clone()),
                    body.and_then(|b| b.description.clone()),
                )
            }
            Some(location) => {
                let parameter = op
                    .parameters
                    .iter()
                    .find(|p| p.location == location && p.name == argument.wire);
                (
                    parameter.map_or(Schema::Any, |p| p.schema.clone()),
                    parameter.and_then(|p| p.description.clone()),
                )
            }
        };
        let hint = match argument.location {
            None => format!("{stem}Body"),
            Some(_) => format!("{stem}{}", names::pascal(&argument.wire)),
        };
        let mut annotation = types.annotation(&schema, &hint);
        push_parameter(&mut signature, &mut keyword_only, argument, &mut annotation);
        let mut text = description.unwrap_or_else(|| match argument.location {
            None => format!("The request body (``{}``).", annotation.trim_matches('"')),
            Some(_) => format!("``{}``.", argument.wire),
        });
        match argument.location {
            Some(Location::Header) if argument.generated => text
                .push_str(" Generated (a UUID4) when omitted, and reused by this call's retries."),
            Some(Location::Header) => text.push_str(&format!(" (header ``{}``)", argument.wire)),
            _ => {}
        }
        args_doc.push_str(&entry(&argument.python, &text));
        let entry = format!("{}: {}", syntax::string(&argument.wire), argument.python);
        match argument.location {
            Some(Location::Path) => path_map.push(entry),
            Some(Location::Query) => query_map.push(entry),
            Some(Location::Header) => header_map.push(entry),
            None => {}
        }
    }
    let returns = op
        .success
        .schema
        .as_ref()
        .map(|schema| types.annotation(schema, &format!("{stem}Response")));
    let return_annotation = returns.clone().unwrap_or_else(|| "None".into());

    // The docstring: summary, description, arguments, result, errors.
    let mut doc = String::new();
    doc.push_str(if op.summary.is_empty() {
        &op.id
    } else {
        &op.summary
    });
    if !doc.ends_with('.') {
        doc.push('.');
    }
    doc.push('\n');
    if !op.description.is_empty() {
        doc.push('\n');
        doc.push_str(op.description.trim());
        doc.push('\n');
    }
    if op.deprecated {
        doc.push_str("\nDeprecated: this operation is deprecated in the model.\n");
    }
    doc.push_str(&format!("\n``{} /{version}{}``", op.method, op.path));
    if !op.scopes.is_empty() {
        doc.push_str(&format!(", scopes: ``{}``", op.scopes.join(" ")));
    }
    doc.push_str(".\n");
    if !args_doc.is_empty() {
        doc.push_str("\nArgs:\n");
        doc.push_str(&args_doc);
    }
    doc.push_str("\nReturns:\n");
    match &returns {
        Some(annotation) => doc.push_str(&format!(
            "    {}: the HTTP {} response body.\n",
            annotation.trim_matches('"'),
            op.success.status
        )),
        None => doc.push_str(&format!("    None (HTTP {}).\n", op.success.status)),
    }
    let raises = raises(op, errors);
    if !raises.is_empty() {
        doc.push_str("\nRaises:\n");
        doc.push_str(&raises);
    }

    let mut out = def_line(&plan.method, &signature, &return_annotation);
    out.push_str(&syntax::docstring(doc.trim_end(), "        "));

    let mut call_args = vec![operation_constant(op)];
    for (key, entries) in [
        ("path", &path_map),
        ("query", &query_map),
        ("headers", &header_map),
    ] {
        if !entries.is_empty() {
            call_args.push(format!("{key}={{{}}}", entries.join(", ")));
        }
    }
    if let Some(body) = plan.body() {
        call_args.push("body=body".into());
        call_args.push(if body.required {
            "has_body=True".into()
        } else {
            "has_body=body is not None".into()
        });
    }
    let call = format!("self._call({})", call_args.join(", "));
    let statement = match &returns {
        None => call,
        Some(annotation) if annotation == "Any" => format!("return {call}"),
        Some(annotation) => format!("return cast({}, {call})", annotation),
    };
    if statement.len() + 8 <= 100 {
        out.push_str(&format!("        {statement}\n"));
    } else {
        out.push_str(&wrap_call(&statement, "        "));
    }
    out
}

/// `return cast(T, self._call(A, b={...}))` over several lines.
fn wrap_call(statement: &str, indent: &str) -> String {
    let Some((head, rest)) = statement.split_once("self._call(") else {
        return format!("{indent}{statement}\n");
    };
    let casting = head.contains("cast(");
    let args = rest.trim_end_matches(')');
    let args = if casting {
        args.strip_suffix(')').unwrap_or(args)
    } else {
        args
    };
    let mut out = String::new();
    let inner = if casting {
        let (prefix, cast_type) = head.split_once("cast(").unwrap_or((head, ""));
        out.push_str(&format!("{indent}{prefix}cast(\n"));
        out.push_str(&format!("{indent}    {}\n", cast_type.trim()));
        format!("{indent}    ")
    } else {
        out.push_str(&format!("{indent}{head}"));
        indent.to_owned()
    };
    if casting {
        out.push_str(&format!("{inner}self._call(\n"));
    } else {
        out.push_str("self._call(\n");
    }
    for arg in syntax::split_top_level(args) {
        let line = format!("{inner}    {arg},\n");
        match arg.split_once("={") {
            Some((key, entries)) if line.len() > 101 => {
                out.push_str(&format!("{inner}    {key}={{\n"));
                for entry in syntax::split_top_level(entries.trim_end_matches('}')) {
                    out.push_str(&format!("{inner}        {entry},\n"));
                }
                out.push_str(&format!("{inner}    }},\n"));
            }
            _ => out.push_str(&line),
        }
    }
    out.push_str(&format!("{inner})"));
    if casting {
        out.push_str(&format!(",\n{indent})"));
    }
    out.push('\n');
    out
}

/// The `Raises:` lines: each error class the operation documents and its statuses.
fn raises(op: &Operation, errors: &[(String, String)]) -> String {
    let mut lines: Vec<(String, Vec<u16>, String)> = Vec::new();
    for error in &op.errors {
        let classes: Vec<String> = if error.types.is_empty() {
            vec!["ApiError".into()]
        } else {
            error
                .types
                .iter()
                .map(|t| {
                    errors
                        .iter()
                        .find(|(name, _)| name == t)
                        .map_or_else(|| "ApiError".into(), |(_, class)| class.clone())
                })
                .collect()
        };
        for class in classes {
            match lines.iter_mut().find(|(c, _, _)| *c == class) {
                Some((_, statuses, _)) => statuses.push(error.status),
                None => lines.push((class, vec![error.status], error.description.clone())),
            }
        }
    }
    lines
        .iter()
        .map(|(class, statuses, description)| {
            let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
            let mut text = format!("HTTP {}.", statuses.join(", "));
            if !description.is_empty() {
                text.push(' ');
                text.push_str(description);
            }
            entry(class, &text)
        })
        .collect()
}

/// A `name: text` entry of a docstring section, wrapped to fit 100 columns once indented.
fn entry(name: &str, text: &str) -> String {
    const WIDTH: usize = 100 - 8;
    let mut out = format!("    {name}:");
    let mut line_len = out.len();
    for word in text.split_whitespace() {
        if line_len + 1 + word.len() > WIDTH && line_len > 8 {
            out.push_str("\n        ");
            out.push_str(word);
            line_len = 8 + word.len();
        } else {
            out.push(' ');
            out.push_str(word);
            line_len += 1 + word.len();
        }
    }
    out.push('\n');
    out
}

fn paginator_method(
    op: &Operation,
    plan: &MethodPlan,
    pagination: &Pagination,
    paginator: &str,
    types: &mut Types<'_>,
) -> String {
    let (page_wire, items_field) = match pagination {
        Pagination::Cursor {
            cursor_param,
            items_field,
            ..
        } => (cursor_param, items_field),
        Pagination::Page {
            page_param,
            items_field,
            ..
        } => (page_param, items_field),
    };
    let item = paged_item(op, items_field, types);
    let page_argument = plan.argument(Location::Query, page_wire);
    let page_variable = page_argument.map_or_else(|| "page".to_owned(), |a| a.python.clone());

    let mut signature = vec!["self".to_owned()];
    let mut forwarded = Vec::new();
    let mut keyword_only = false;
    let mut ordered: Vec<&Argument> = plan
        .arguments
        .iter()
        .filter(|a| !(a.location == Some(Location::Query) && a.wire == *page_wire))
        .collect();
    ordered.sort_by_key(|a| (a.location != Some(Location::Path), !a.required));
    for argument in &ordered {
        let schema = op
            .parameters
            .iter()
            .find(|p| Some(p.location) == argument.location && p.name == argument.wire)
            .map(|p| p.schema.clone())
            .or_else(|| op.body.as_ref().map(|b| b.schema.clone()))
            .unwrap_or(Schema::Any);
        let hint = format!("{}{}", names::pascal(&op.id), names::pascal(&argument.wire));
        let mut annotation = types.annotation(&schema, &hint);
        push_parameter(&mut signature, &mut keyword_only, argument, &mut annotation);
        forwarded.push(format!("{}={}", argument.python, argument.python));
    }
    if page_argument.is_some() {
        forwarded.push(format!("{page_variable}={page_variable}"));
    }
    let return_annotation = format!("Iterator[{item}]");
    let mut out = def_line(paginator, &signature, &return_annotation);
    let how = match pagination {
        Pagination::Cursor {
            next_cursor_field, ..
        } => format!("following ``{next_cursor_field}``"),
        Pagination::Page { .. } => format!("page after page (``{page_wire}`` = 1, 2, ...)"),
    };
    let doc = format!(
        "Every item of ``{}``, {how}.\n\n{}",
        plan.method,
        wrap_paragraph(
            &format!(
                "Pages are fetched as the iteration reaches them; the arguments are those of \
                 ``{}`` (without ``{page_variable}``).",
                plan.method
            ),
            88,
            ""
        )
    );
    out.push_str(&syntax::docstring(&doc, "        "));
    let mut fetch = format!(
        "lambda {page_variable}: self.{}({})",
        plan.method,
        forwarded.join(", ")
    );
    if fetch.len() + 13 > 100 {
        fetch = format!(
            "lambda {page_variable}: self.{}(\n                {}\n            )",
            plan.method,
            wrap_paragraph(&forwarded.join(", "), 100 - 16, "                ")
        );
    }
    let call = match pagination {
        Pagination::Cursor {
            next_cursor_field, ..
        } => format!(
            "iterate_cursor(\n            {fetch},\n            items_field={},\n            next_cursor_field={},\n        )",
            syntax::string(items_field),
            syntax::string(next_cursor_field)
        ),
        Pagination::Page {
            size_param,
            total_field,
            ..
        } => {
            let size_variable = plan
                .argument(Location::Query, size_param)
                .map_or_else(|| "None".to_owned(), |a| a.python.clone());
            format!(
                "iterate_pages(\n            {fetch},\n            items_field={},\n            size_field={},\n            total_field={},\n            page_size={size_variable},\n        )",
                syntax::string(items_field),
                syntax::string(size_param),
                total_field
                    .as_deref()
                    .map_or_else(|| "None".to_owned(), syntax::string)
            )
        }
    };
    out.push_str(&format!("        return {call}\n"));
    out
}

/// The type of a list's items: the array under `items_field` of the success body.
fn paged_item(op: &Operation, items_field: &str, types: &mut Types<'_>) -> String {
    let item = op
        .success
        .schema
        .as_ref()
        .and_then(|schema| match types.resolve(schema) {
            Schema::Object(object) => object
                .properties
                .iter()
                .find(|p| p.name == items_field)
                .and_then(|p| match types.resolve(&p.schema) {
                    Schema::Array(item) => Some((**item).clone()),
                    _ => None,
                }),
            _ => None,
        });
    match item {
        Some(item) => types.annotation(&item, &format!("{}Item", names::pascal(&op.id))),
        None => "Any".into(),
    }
}

/// Appends one parameter to a method signature: path parameters positional-or-keyword, the
/// rest keyword-only (after a `*`), optional ones as `Optional[...] = None`. `annotation`
/// becomes the type as written.
fn push_parameter(
    signature: &mut Vec<String>,
    keyword_only: &mut bool,
    argument: &Argument,
    annotation: &mut String,
) {
    if argument.location != Some(Location::Path) && !*keyword_only {
        signature.push("*".into());
        *keyword_only = true;
    }
    if argument.required {
        signature.push(format!("{}: {annotation}", argument.python));
    } else {
        if !annotation.starts_with("Optional[") && annotation != "Any" {
            *annotation = format!("Optional[{annotation}]");
        }
        signature.push(format!("{}: {annotation} = None", argument.python));
    }
}

/// A method's `def` line: on one line when it fits in 100 columns, else one parameter per
/// line, as black writes it.
fn def_line(name: &str, signature: &[String], return_annotation: &str) -> String {
    let mut out = format!("    def {name}(");
    let one_line = signature.join(", ");
    if one_line.len() + name.len() + return_annotation.len() + 15 <= 100 {
        out.push_str(&format!("{one_line}) -> {return_annotation}:\n"));
    } else {
        out.push('\n');
        for part in signature {
            out.push_str(&format!("        {part},\n"));
        }
        out.push_str(&format!("    ) -> {return_annotation}:\n"));
    }
    out
}
