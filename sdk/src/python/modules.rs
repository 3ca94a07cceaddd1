//! The small generated modules of the Python package: `errors.py` (one class per documented
//! `__type`), `_metadata.py` (version, environments, model checksum) and `__init__.py` (the
//! public names).

use super::identity::Identity;
use super::syntax::{self, import_list, wrap_paragraph};
use crate::model::Api;
use crate::names;
use std::collections::{BTreeSet, HashSet};

/// Names the package exports besides the types (a type with one of these names stays in
/// `types`).
const RUNTIME_EXPORTS: [&str; 7] = [
    "ApiError",
    "AuthenticationError",
    "Environment",
    "FieldError",
    "PorticoDeprecationWarning",
    "WebhookVerificationError",
    "verify_webhook",
];
const METADATA_EXPORTS: [&str; 4] = ["API_VERSION", "ENVIRONMENTS", "MODEL_SHA256", "__version__"];

/// Every documented `__type` and its class name.
pub fn error_classes(api: &Api, client_class: &str) -> Vec<(String, String)> {
    let mut taken: HashSet<String> = RUNTIME_EXPORTS.iter().map(|s| (*s).to_owned()).collect();
    taken.insert(client_class.to_owned());
    api.error_types
        .iter()
        .map(|error| {
            let mut class = names::pascal(&error.name);
            if taken.contains(&class) || syntax::is_keyword(&class) {
                class.push_str("Exception");
            }
            while taken.contains(&class) {
                class.push('_');
            }
            taken.insert(class.clone());
            (error.name.clone(), class)
        })
        .collect()
}

pub(super) fn metadata_module(identity: &Identity<'_>) -> String {
    let api = identity.api;
    let mut out = syntax::docstring(
        "What this package is: its version, the API version and model it was generated from,\nand the environments of the Portico that serves it.",
        "",
    );
    out.push_str("\nfrom typing import Mapping\n\nfrom ._runtime import Environment\n\n");
    out.push_str(&format!(
        "__version__ = {}\n",
        syntax::string(identity.version)
    ));
    out.push_str("#: The API version this package calls (its paths start with it).\n");
    out.push_str(&format!("API_VERSION = {}\n", syntax::string(&api.version)));
    out.push_str("#: SHA-256 of the model (OpenAPI, as JSON) this package was generated from.\n");
    out.push_str(&format!(
        "MODEL_SHA256 = {}\n",
        syntax::string(identity.model_sha256)
    ));
    out.push_str("#: The portal this package is downloaded from (docs, credentials).\n");
    out.push_str(&format!(
        "PORTAL_URL = {}\n",
        syntax::string(identity.portal_url)
    ));
    out.push_str("#: The environments a client can be constructed for (``environment=``).\n");
    out.push_str("ENVIRONMENTS: Mapping[str, Environment] = {\n");
    for (name, base, token, audience) in &identity.environments {
        out.push_str(&format!(
            "    {}: Environment(\n        base_url={},\n        token_url={},\n        audience={},\n    ),\n",
            syntax::string(name),
            syntax::string(base),
            syntax::string(token),
            syntax::string(audience)
        ));
    }
    out.push_str("}\n");
    out
}

pub(super) fn errors_module(api: &Api, errors: &[(String, String)]) -> String {
    let mut classes = String::new();
    for (error, (name, class)) in api.error_types.iter().zip(errors) {
        // Every distinct description the operations give this type, one paragraph each.
        let mut descriptions: Vec<&str> = Vec::new();
        for e in api.operations.iter().flat_map(|op| &op.errors) {
            if e.types.contains(name)
                && !e.description.is_empty()
                && !descriptions.contains(&e.description.as_str())
            {
                descriptions.push(&e.description);
            }
        }
        let mut doc = if descriptions.is_empty() {
            format!("The API answered ``{name}``.")
        } else {
            descriptions
                .iter()
                .map(|d| wrap_paragraph(d, 92, ""))
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        if !error.statuses.is_empty() {
            let statuses: Vec<String> = error.statuses.iter().map(u16::to_string).collect();
            doc.push_str(&format!("\n\nHTTP {}.", statuses.join(", ")));
        }
        classes.push_str(&format!("\n\nclass {class}(ApiError):\n"));
        classes.push_str(&syntax::docstring(&doc, "    "));
        let retryable = error.statuses.iter().any(|s| matches!(s, 429 | 503));
        if error.has_field_errors {
            classes.push_str(
                "\n    #: Each failing field: ``path`` (e.g. ``body.items[0].quantity``) and ``message``.\n\
                 \x20   field_errors: List[FieldError]\n",
            );
        }
        if retryable {
            classes.push_str(
                "\n    #: Seconds to wait before retrying (the ``Retry-After`` header), or None.\n\
                 \x20   retry_after: Optional[float]\n",
            );
        }
        if error.has_field_errors || retryable {
            classes.push_str("\n    def __init__(self, message: str, **details: Any) -> None:\n");
            classes.push_str("        super().__init__(message, **details)\n");
            if error.has_field_errors {
                classes.push_str("        self.field_errors = parse_field_errors(self.body)\n");
            }
            if retryable {
                classes.push_str("        self.retry_after = parse_retry_after(self.headers)\n");
            }
        }
    }
    let mut tables = String::from(
        "\n\n#: The error class of each ``__type``.\nERROR_TYPES: Mapping[str, Type[ApiError]] = {\n",
    );
    for (name, class) in errors {
        tables.push_str(&format!("    {}: {class},\n", syntax::string(name)));
    }
    tables.push_str("}\n\n");
    tables.push_str(
        "#: For an answer whose body names no ``__type``: the class of its status, where the\n\
         #: model documents one type only for that status.\n\
         STATUS_ERROR_TYPES: Mapping[int, Type[ApiError]] = {\n",
    );
    let mut statuses: Vec<u16> = api
        .error_types
        .iter()
        .flat_map(|e| e.statuses.iter().copied())
        .collect();
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        let with_status: Vec<usize> = api
            .error_types
            .iter()
            .enumerate()
            .filter(|(_, e)| e.statuses.contains(&status))
            .map(|(i, _)| i)
            .collect();
        if let [only] = with_status.as_slice()
            && let Some((_, class)) = errors.get(*only)
        {
            tables.push_str(&format!("    {status}: {class},\n"));
        }
    }
    tables.push_str("}\n");

    let uses_fields = api.error_types.iter().any(|e| e.has_field_errors);
    let uses_retry = api
        .error_types
        .iter()
        .any(|e| e.statuses.iter().any(|s| matches!(s, 429 | 503)));
    let mut typing = Vec::new();
    if uses_fields || uses_retry {
        typing.push("Any");
    }
    if uses_fields {
        typing.push("List");
    }
    typing.extend(["Mapping"]);
    if uses_retry {
        typing.push("Optional");
    }
    typing.push("Type");
    let mut runtime = vec!["ApiError"];
    if uses_fields {
        runtime.extend(["FieldError", "parse_field_errors"]);
    }
    if uses_retry {
        runtime.push("parse_retry_after");
    }

    let mut out = syntax::docstring(
        &format!(
            "Errors of the {} {}: one class per ``__type`` the model documents.\n\n\
             All are ``ApiError`` subclasses, with ``status``, ``type``, ``message``, \
             ``request_id``,\n``body`` and ``headers``. An answer of an undocumented type is a \
             plain ``ApiError``.",
            api.title, api.version
        ),
        "",
    );
    out.push_str(&format!("\nfrom typing import {}\n\n", typing.join(", ")));
    out.push_str(&format!("from ._runtime import {}\n", runtime.join(", ")));
    out.push_str(&classes);
    out.push_str(&tables);
    out
}

pub(super) fn init_module(
    identity: &Identity<'_>,
    errors: &[(String, String)],
    types: &[String],
) -> String {
    let api = identity.api;
    let error_names: BTreeSet<String> = errors.iter().map(|(_, class)| class.clone()).collect();
    let mut taken: HashSet<String> = RUNTIME_EXPORTS
        .iter()
        .chain(METADATA_EXPORTS.iter())
        .map(|s| (*s).to_owned())
        .collect();
    taken.extend(error_names.iter().cloned());
    taken.insert(identity.client_class.to_owned());
    let exported_types: BTreeSet<String> = types
        .iter()
        .filter(|t| !taken.contains(*t))
        .cloned()
        .collect();

    let mut doc = format!(
        "Python SDK of the {} {} (generated by Portico from the API model).\n\n",
        api.title, api.version
    );
    doc.push_str(&format!(
        "Usage::\n\n    from {} import {}\n\n    with {}(client_id, client_secret, environment=\"sandbox\") as client:\n        ...\n\n\
         Every operation is a method of the client (``snake_case`` of its ``operationId``); \
         list\noperations also have a ``paginate_...`` method. Errors are ``ApiError`` \
         subclasses (``errors``),\ntypes are TypedDicts (``types``).",
        identity.import_name, identity.client_class, identity.client_class
    ));
    let mut out = syntax::docstring(&doc, "");
    out.push('\n');
    out.push_str(&format!("from ._client import {}\n", identity.client_class));
    out.push_str("from ._metadata import API_VERSION, ENVIRONMENTS, MODEL_SHA256, __version__\n");
    let runtime: BTreeSet<String> = RUNTIME_EXPORTS.iter().map(|s| (*s).to_owned()).collect();
    out.push_str(&import_list("._runtime", &runtime));
    if !error_names.is_empty() {
        out.push_str(&import_list(".errors", &error_names));
    }
    if !exported_types.is_empty() {
        out.push_str(&import_list(".types", &exported_types));
    }
    let mut all: Vec<String> = vec![identity.client_class.to_owned()];
    all.extend(METADATA_EXPORTS.iter().map(|s| (*s).to_owned()));
    all.extend(runtime);
    all.extend(error_names);
    all.extend(exported_types);
    out.push_str("\n__all__ = [\n");
    for name in all {
        out.push_str(&format!("    {},\n", syntax::string(&name)));
    }
    out.push_str("]\n");
    out
}
