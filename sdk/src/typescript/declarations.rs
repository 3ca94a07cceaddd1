//! `index.d.ts`: the model's named types, each operation's params, the error classes and the
//! client, with the model's descriptions as JSDoc.

use super::names::{Names, OperationNames, js_string};
use super::types::{TypeWriter, jsdoc};
use crate::Targets;
use crate::model::{ErrorType, Location, Schema};

pub fn index_d_ts(names: &Names<'_>, targets: &Targets, model_sha256: &str) -> String {
    let api = names.api;
    let writer = TypeWriter { names };
    let mut out = String::new();
    out.push_str(&super::header_comment(names, model_sha256));
    out.push_str("import * as runtime from \"./runtime.js\";\n\n");
    out.push_str(
        "export { ApiError, AuthenticationError, WebhookVerificationError, verifyWebhook } from \"./runtime.js\";\n",
    );
    out.push_str(
        "export type {\n  ApiErrorInit,\n  ClientOptions,\n  Environment,\n  EnvironmentPreset,\n  FieldErrorDetail,\n  RequestOptions,\n} from \"./runtime.js\";\n\n",
    );

    out.push_str("/** This package's version: its major is the API version's number. */\n");
    out.push_str(&format!(
        "export declare const SDK_VERSION: {};\n",
        js_string(&api.package_version())
    ));
    out.push_str("/** The API version this package calls. */\n");
    out.push_str(&format!(
        "export declare const API_VERSION: {};\n",
        js_string(&api.version)
    ));
    out.push_str("/** SHA-256 (hex) of the model this package was generated from. */\n");
    out.push_str(&format!(
        "export declare const MODEL_SHA256: {};\n",
        js_string(model_sha256)
    ));
    out.push_str(
        "/** The environments this Portico publishes (the client's `environment` option). */\n",
    );
    out.push_str("export declare const ENVIRONMENTS: {\n");
    for (name, _, _) in targets.environments() {
        out.push_str(&format!("  readonly {name}: runtime.EnvironmentPreset;\n"));
    }
    out.push_str("};\n");

    out.push_str("\n// Errors: one class per documented `__type`.\n");
    for (error, class) in &names.errors {
        out.push('\n');
        out.push_str(&error_class(names, error, class));
    }

    if !api.types.is_empty() {
        out.push_str("\n// The model's types (`components.schemas`), named as in the model.\n");
    }
    for named in &api.types {
        let Some(name) = names.type_name(&named.name) else {
            continue;
        };
        out.push('\n');
        let mut doc: Vec<String> = named.description.iter().cloned().collect();
        if name != named.name {
            doc.push(format!(
                "The model's `{}` (renamed: that name is taken in this package).",
                named.name
            ));
        }
        out.push_str(&jsdoc(&doc, ""));
        match &named.schema {
            Schema::Object(object) if !object.properties.is_empty() => {
                out.push_str(&format!(
                    "export interface {name} {{\n{}}}\n",
                    writer.members(object, 1)
                ));
            }
            schema => {
                out.push_str(&format!(
                    "export type {name} = {};\n",
                    writer.render(schema, 0)
                ));
            }
        }
    }

    if !names.operations.is_empty() {
        out.push_str(
            "\n// Each operation's parameters: path, query and header parameters, and `body`.\n",
        );
    }
    for operation in &names.operations {
        out.push('\n');
        out.push_str(&params_interface(&writer, operation));
    }

    out.push('\n');
    out.push_str(&client_class(&writer, targets));
    out
}

/// One line on an error class: its statuses and what the model says about it.
pub(super) fn error_summary(names: &Names<'_>, error: &ErrorType) -> String {
    // The description most operations give this error (a shared response, usually).
    let mut descriptions: Vec<(&str, usize)> = Vec::new();
    for answer in names.api.operations.iter().flat_map(|op| &op.errors) {
        if answer.types.contains(&error.name) && !answer.description.is_empty() {
            match descriptions
                .iter_mut()
                .find(|(d, _)| *d == answer.description)
            {
                Some((_, count)) => *count += 1,
                None => descriptions.push((&answer.description, 1)),
            }
        }
    }
    let description = descriptions
        .iter()
        .enumerate()
        .max_by_key(|(index, (_, count))| (*count, std::cmp::Reverse(*index)))
        .map(|(_, (d, _))| (*d).to_owned());
    let statuses: Vec<String> = error.statuses.iter().map(u16::to_string).collect();
    match (statuses.is_empty(), description) {
        (true, Some(description)) => format!("`{}`: {description}", error.name),
        (true, None) => format!("An error answer with `__type` `{}`.", error.name),
        (false, Some(description)) => format!("HTTP {}: {description}", statuses.join(", ")),
        (false, None) => format!(
            "An error answer with `__type` `{}` (HTTP {}).",
            error.name,
            statuses.join(", ")
        ),
    }
}

fn error_class(names: &Names<'_>, error: &ErrorType, class: &str) -> String {
    let doc = [error_summary(names, error)];
    let mut out = jsdoc(&doc, "");
    out.push_str(&format!(
        "export declare class {class} extends runtime.ApiError {{\n  readonly type: {};\n",
        js_string(&error.name)
    ));
    if error.has_field_errors {
        out.push_str(
            "  /** Each failing field (`body.items[0].quantity`) and the rule it broke. */\n",
        );
        out.push_str("  readonly fieldErrors: runtime.FieldErrorDetail[];\n");
    }
    if super::carries_retry_after(error) {
        out.push_str(
            "  /** Seconds to wait before trying again (the Retry-After header), or null. */\n",
        );
        out.push_str("  readonly retryAfter: number | null;\n");
    }
    out.push_str("}\n");
    out
}

fn params_interface(writer: &TypeWriter<'_, '_>, names: &OperationNames<'_>) -> String {
    let operation = names.operation;
    let mut out = jsdoc(
        &[format!(
            "Parameters of `{}` ({}).",
            names.method,
            operation.summary.trim_end_matches('.')
        )],
        "",
    );
    let members: Vec<String> = names
        .params
        .iter()
        .map(|param| {
            let parameter = param.parameter;
            let mut doc: Vec<String> = parameter.description.iter().cloned().collect();
            let place = match parameter.location {
                Location::Path => "Path",
                Location::Query => "Query",
                Location::Header => "Header",
            };
            doc.push(format!("{place} parameter `{}`.", parameter.name));
            if names.idempotency_key.as_deref() == Some(param.key.as_str()) {
                doc.push(
                    "Optional: the SDK sends a new UUID per call (the same one on its retries) when you leave it out."
                        .into(),
                );
            }
            format!(
                "{}  {}{}: {};\n",
                jsdoc(&doc, "  "),
                param.key,
                if names.is_required(param) { "" } else { "?" },
                writer.render(&parameter.schema, 1)
            )
        })
        .chain(operation.body.iter().map(|body| {
            let doc: Vec<String> = body
                .description
                .iter()
                .cloned()
                .chain(std::iter::once("The JSON request body.".to_owned()))
                .collect();
            format!(
                "{}  body{}: {};\n",
                jsdoc(&doc, "  "),
                if body.required { "" } else { "?" },
                writer.render(&body.schema, 1)
            )
        }))
        .collect();
    if members.is_empty() {
        out.push_str(&format!(
            "export type {} = Record<string, never>;\n",
            names.params_type
        ));
    } else {
        out.push_str(&format!(
            "export interface {} {{\n{}}}\n",
            names.params_type,
            members.join("")
        ));
    }
    out
}

/// The JSDoc of one operation's method.
fn method_doc(writer: &TypeWriter<'_, '_>, names: &OperationNames<'_>) -> Vec<String> {
    let operation = names.operation;
    let mut doc = vec![operation.summary.clone()];
    if !operation.description.is_empty() {
        doc.push(String::new());
        doc.push(operation.description.clone());
    }
    doc.push(String::new());
    let mut facts = format!(
        "`{} /{}{}`",
        operation.method, writer.names.api.version, operation.path
    );
    if !operation.scopes.is_empty() {
        let scopes: Vec<String> = operation.scopes.iter().map(|s| format!("`{s}`")).collect();
        facts.push_str(&format!(
            " · scope{} {}",
            if scopes.len() > 1 { "s" } else { "" },
            scopes.join(", ")
        ));
    }
    facts.push('.');
    doc.push(facts);
    if let Some(key) = &names.idempotency_key {
        doc.push(format!(
            "Sends an `Idempotency-Key` (a new UUID per call, the same one on its retries) unless `params.{key}` is given."
        ));
    }
    for error in &operation.errors {
        let classes: Vec<&str> = error
            .types
            .iter()
            .filter_map(|t| writer.names.error_class(t))
            .collect();
        let classes = if classes.is_empty() {
            "ApiError".to_owned()
        } else {
            classes.join(" | ")
        };
        let description = if error.description.is_empty() {
            String::new()
        } else {
            format!(" {}", error.description)
        };
        doc.push(format!(
            "@throws {{{classes}}} HTTP {}.{description}",
            error.status
        ));
    }
    if operation.deprecated {
        doc.push("@deprecated The model marks this operation deprecated.".into());
    }
    doc
}

fn client_class(writer: &TypeWriter<'_, '_>, targets: &Targets) -> String {
    let names = writer.names;
    let api = names.api;
    let mut doc = vec![format!("The {} ({}) client.", api.title, api.version)];
    if !api.description.is_empty() {
        doc.push(String::new());
        doc.push(api.description.clone());
    }
    doc.push(String::new());
    doc.push(format!(
        "Register an application on the developer portal ({}) for its client id, secret and API key.",
        targets.portal_url.trim_end_matches('/')
    ));
    let mut out = jsdoc(&doc, "");
    out.push_str(&format!(
        "export declare class {} extends runtime.BaseClient {{\n",
        names.client_class
    ));
    out.push_str(
        "  /** Throws when neither clientId and clientSecret nor a tokenProvider are given. */\n",
    );
    out.push_str("  constructor(options: runtime.ClientOptions);\n");
    for operation in &names.operations {
        let returns = match &operation.operation.success.schema {
            None => "void".to_owned(),
            Some(schema) => writer.render(schema, 1),
        };
        out.push('\n');
        out.push_str(&jsdoc(&method_doc(writer, operation), "  "));
        out.push_str(&format!(
            "  {}(params{}: {}, options?: runtime.RequestOptions): Promise<{returns}>;\n",
            operation.method,
            if operation.params_optional() { "?" } else { "" },
            operation.params_type
        ));
        if let (Some(paginator), Some(paging)) = (&operation.paginator, &operation.paging) {
            let item = names
                .item_schema(operation)
                .map_or_else(|| "unknown".to_owned(), |schema| writer.render(schema, 1));
            let driven = paging.driven_key();
            let params = if operation.params.iter().any(|p| p.key == driven) {
                format!("Omit<{}, {}>", operation.params_type, js_string(driven))
            } else {
                operation.params_type.clone()
            };
            out.push('\n');
            let what = match paging {
                super::names::Paging::Cursor {
                    next_cursor_field, ..
                } => format!("following `{next_cursor_field}` to the last page"),
                super::names::Paging::Page { .. } => "page after page to the last one".to_owned(),
            };
            out.push_str(&jsdoc(
                &[
                    format!(
                        "Every item of `{}`, {what} (one request per page, as you iterate).",
                        operation.method
                    ),
                    String::new(),
                    format!("@returns An async iterable: `for await (const item of client.{paginator}())`."),
                ],
                "  ",
            ));
            out.push_str(&format!(
                "  {paginator}(params{}: {params}, options?: runtime.RequestOptions): AsyncIterable<{item}>;\n",
                if operation.params_optional() { "?" } else { "" },
            ));
        }
    }
    out.push_str("}\n");
    out
}
