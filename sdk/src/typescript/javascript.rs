//! `index.js`: the environments, the error classes and the client, whose methods hand each
//! operation's description (method, path, parameters, pagination) to the runtime.

use super::names::{
    Names, OperationNames, Paging, js_string, property_key, undeclared_paging_params,
};
use super::types::jsdoc;
use crate::Targets;
use crate::model::Location;

pub fn index_js(names: &Names<'_>, targets: &Targets, model_sha256: &str) -> String {
    let api = names.api;
    let mut out = String::new();
    out.push_str(&super::header_comment(names, model_sha256));
    out.push_str("import * as runtime from \"./runtime.js\";\n\n");
    out.push_str(
        "export { ApiError, AuthenticationError, WebhookVerificationError, verifyWebhook } from \"./runtime.js\";\n\n",
    );
    out.push_str(&format!(
        "export const SDK_VERSION = {};\n",
        js_string(&api.package_version())
    ));
    out.push_str(&format!(
        "export const API_VERSION = {};\n",
        js_string(&api.version)
    ));
    out.push_str(&format!(
        "export const MODEL_SHA256 = {};\n",
        js_string(model_sha256)
    ));
    out.push_str("export const ENVIRONMENTS = Object.freeze({\n");
    for (name, base_url, audience) in targets.environments() {
        out.push_str(&format!(
            "  {name}: Object.freeze({{\n    baseUrl: {},\n    tokenUrl: {},\n    audience: {},\n  }}),\n",
            js_string(&base_url),
            js_string(&targets.token_url()),
            js_string(&audience)
        ));
    }
    out.push_str("});\n");

    for (error, class) in &names.errors {
        out.push('\n');
        out.push_str(&jsdoc(
            &[super::declarations::error_summary(names, error)],
            "",
        ));
        out.push_str(&format!(
            "export class {class} extends runtime.ApiError {{\n  constructor(init) {{\n    super(init);\n    this.name = {};\n",
            js_string(class)
        ));
        if error.has_field_errors {
            out.push_str("    this.fieldErrors = runtime.fieldErrorsOf(init.body);\n");
        }
        if super::carries_retry_after(error) {
            out.push_str("    this.retryAfter = init.retryAfter ?? null;\n");
        }
        out.push_str("  }\n}\n");
    }

    out.push_str("\n// The error class of each `__type` an error answer may carry.\n");
    out.push_str("const ERROR_TYPES = new Map([\n");
    for (error, class) in &names.errors {
        out.push_str(&format!("  [{}, {class}],\n", js_string(&error.name)));
    }
    out.push_str("]);\n");

    out.push_str("\n// What the runtime needs to call each operation.\n");
    out.push_str("const OPERATIONS = {\n");
    for operation in &names.operations {
        out.push_str(&operation_descriptor(names, operation));
    }
    out.push_str("};\n");

    out.push('\n');
    out.push_str(&jsdoc(
        &[format!(
            "The {} ({}) client: see index.d.ts for every method's documentation.",
            api.title, api.version
        )],
        "",
    ));
    out.push_str(&format!(
        "export class {} extends runtime.BaseClient {{\n",
        names.client_class
    ));
    out.push_str("  constructor(options) {\n    super(options, {\n");
    out.push_str(&format!(
        "      clientName: {},\n      packageName: {},\n",
        js_string(&names.client_class),
        js_string(&names.package)
    ));
    out.push_str("      apiVersion: API_VERSION,\n      environments: ENVIRONMENTS,\n      errorTypes: ERROR_TYPES,\n    });\n  }\n");
    for operation in &names.operations {
        let op = operation.operation;
        let access = if super::names::is_identifier(&op.id) {
            format!("OPERATIONS.{}", op.id)
        } else {
            format!("OPERATIONS[{}]", js_string(&op.id))
        };
        out.push('\n');
        out.push_str(&jsdoc(
            &[format!(
                "{}: `{} /{}{}`.",
                op.summary.trim_end_matches('.'),
                op.method,
                api.version,
                op.path
            )],
            "  ",
        ));
        out.push_str(&format!(
            "  {}(params, options) {{\n    return this._request({access}, params, options);\n  }}\n",
            operation.method
        ));
        if let Some(paginator) = &operation.paginator {
            out.push('\n');
            out.push_str(&jsdoc(
                &[format!(
                    "Every item of `{}`, page after page.",
                    operation.method
                )],
                "  ",
            ));
            out.push_str(&format!(
                "  {paginator}(params, options) {{\n    return this._paginate({access}, params, options);\n  }}\n"
            ));
        }
    }
    out.push_str("}\n");
    out
}

fn operation_descriptor(names: &Names<'_>, operation: &OperationNames<'_>) -> String {
    let op = operation.operation;
    let mut out = format!("  {}: {{\n", property_key(&op.id));
    out.push_str(&format!("    id: {},\n", js_string(&op.id)));
    out.push_str(&format!("    method: {},\n", js_string(&op.method)));
    out.push_str(&format!(
        "    path: {},\n",
        js_string(&format!("/{}{}", names.api.version, op.path))
    ));
    let mut parameters: Vec<(String, String, &str)> = operation
        .params
        .iter()
        .map(|p| {
            let place = match p.parameter.location {
                Location::Path => "path",
                Location::Query => "query",
                Location::Header => "header",
            };
            (p.key.clone(), p.parameter.name.clone(), place)
        })
        .collect();
    parameters.extend(
        undeclared_paging_params(operation)
            .into_iter()
            .map(|(key, name)| (key, name, "query")),
    );
    if parameters.is_empty() {
        out.push_str("    parameters: [],\n");
    } else {
        out.push_str("    parameters: [\n");
        for (key, name, place) in parameters {
            out.push_str(&format!(
                "      {{ key: {}, name: {}, in: {} }},\n",
                js_string(&key),
                js_string(&name),
                js_string(place)
            ));
        }
        out.push_str("    ],\n");
    }
    out.push_str(&format!("    body: {},\n", op.body.is_some()));
    out.push_str(&format!("    idempotent: {},\n", op.is_idempotent()));
    out.push_str(&format!(
        "    idempotencyKey: {},\n",
        operation
            .idempotency_key
            .as_deref()
            .map_or_else(|| "null".to_owned(), js_string)
    ));
    let pagination = match &operation.paging {
        None => "null".to_owned(),
        Some(Paging::Cursor {
            cursor_key,
            items_field,
            next_cursor_field,
        }) => format!(
            "{{ style: \"cursor\", cursor: {}, items: {}, nextCursor: {} }}",
            js_string(cursor_key),
            js_string(items_field),
            js_string(next_cursor_field)
        ),
        Some(Paging::Page {
            page_key,
            size_key,
            items_field,
            total_field,
        }) => format!(
            "{{ style: \"page\", page: {}, size: {}, items: {}, total: {} }}",
            js_string(page_key),
            js_string(size_key),
            js_string(items_field),
            total_field
                .as_deref()
                .map_or_else(|| "null".to_owned(), js_string)
        ),
    };
    out.push_str(&format!("    pagination: {pagination},\n"));
    out.push_str("  },\n");
    out
}
