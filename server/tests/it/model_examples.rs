//! The examples of the shipped API models work as written: for every operation of every
//! served version (walked from the loaded [`ApiCatalog`], so a new operation is covered
//! without touching this file), the request is built from the model's own examples only
//! (path parameters and required query and header parameters from their `example`, the body
//! from the first request-body example) and sent, as a fresh partner would, to that partner's
//! live sandbox on both engines. Each operation gets its own fresh partner, so no example
//! depends on another one having run before (e.g. GetOrder on an order CancelOrder changed).
//!
//! An example that names an id no fresh partner has (say a product the synthetic catalogue
//! does not hold) fails here: the model's examples and the synthetic seed data must agree.

use crate::common::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use portico_sandbox::model::{ApiCatalog, ApiVersion, Operation, ParamLocation};
use serde_json::{Map, Value};

/// Operations that refuse an application's token by design, with the documented answer.
/// DeleteAccount is for the signed-in person only (a `User` principal): a machine client
/// gets 403 `ForbiddenException` whatever its scopes.
const REFUSED_BY_DESIGN: &[(&str, StatusCode, &str)] =
    &[("DeleteAccount", StatusCode::FORBIDDEN, "ForbiddenException")];

/// The scopes every example caller's application has, besides the operation's own.
const BASE_SCOPES: &str = "commercial:read commercial:write";

/// The example of a parameter: its own `example` or first `examples` entry, else its
/// schema's `example` or first `examples` item.
fn parameter_example(parameter: &Value) -> Option<Value> {
    if let Some(example) = parameter.get("example") {
        return Some(example.clone());
    }
    if let Some(Value::Object(named)) = parameter.get("examples")
        && let Some(first) = named.values().next()
    {
        return first.get("value").cloned();
    }
    let schema = parameter.get("schema")?;
    schema
        .get("example")
        .or_else(|| schema.get("examples").and_then(|list| list.get(0)))
        .cloned()
}

/// The first example of the JSON request body: the first of `examples` (its `value`), else
/// `example`.
fn body_example(request_body: &Value) -> Option<Value> {
    let media = request_body.get("content")?.get("application/json")?;
    if let Some(Value::Object(named)) = media.get("examples")
        && let Some(first) = named.values().next()
    {
        return first.get("value").cloned();
    }
    media.get("example").cloned()
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The operation as written in the (resolved) document.
fn operation_node<'a>(version: &'a ApiVersion, op: &Operation) -> &'a Value {
    let item = &version.document["paths"][&op.path];
    let node = &item[op.method.as_str().to_ascii_lowercase()];
    assert!(
        node.is_object(),
        "{} {}: not found in the document",
        version.name,
        op.operation_id
    );
    node
}

/// The declared parameters (path-level, then the operation's, which win) by (in, name).
fn declared_parameters(version: &ApiVersion, op: &Operation) -> Map<String, Value> {
    let item = &version.document["paths"][&op.path];
    let mut out = Map::new();
    for list in [
        &item["parameters"],
        &operation_node(version, op)["parameters"],
    ] {
        for parameter in list.as_array().into_iter().flatten() {
            let key = format!(
                "{}:{}",
                parameter["in"].as_str().unwrap_or_default(),
                parameter["name"].as_str().unwrap_or_default()
            );
            out.insert(key, parameter.clone());
        }
    }
    out
}

/// The example request of an operation, or why there is none.
fn example_request(
    version: &ApiVersion,
    op: &Operation,
    token: &str,
) -> Result<Request<Body>, String> {
    let declared = declared_parameters(version, op);
    let example = |location: ParamLocation, name: &str| {
        declared
            .get(&format!("{}:{name}", location.as_str()))
            .and_then(parameter_example)
    };
    let mut path = op.path.clone();
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut headers: Vec<(String, String)> = Vec::new();
    for parameter in &op.parameters {
        let value = example(parameter.location, &parameter.name);
        match (parameter.location, value) {
            (ParamLocation::Path, Some(value)) => {
                path = path.replace(&format!("{{{}}}", parameter.name), &text_of(&value));
            }
            (ParamLocation::Query, Some(value)) => {
                query.append_pair(&parameter.name, &text_of(&value));
            }
            (ParamLocation::Header, Some(value)) => {
                headers.push((parameter.name.clone(), text_of(&value)));
            }
            (_, None) if parameter.required => {
                return Err(format!(
                    "the required {} parameter {} has no example",
                    parameter.location.as_str(),
                    parameter.name
                ));
            }
            _ => {}
        }
    }
    let query = query.finish();
    let mut uri = format!("/{}{path}", version.name);
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&query);
    }
    let mut builder = Request::builder()
        .method(op.method.clone())
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let body = match &op.request_body {
        None => None,
        Some(_) => {
            let node = &operation_node(version, op)["requestBody"];
            match body_example(node) {
                Some(body) => Some(body),
                None if op.request_body_required => {
                    return Err("the request body has no example".into());
                }
                None => None,
            }
        }
    };
    Ok(match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    })
}

/// Why the answer is not the expected one, if it is not.
fn judge(op: &Operation, res: &TestResponse) -> Result<(), String> {
    if let Some((_, status, kind)) = REFUSED_BY_DESIGN
        .iter()
        .find(|(id, _, _)| *id == op.operation_id)
    {
        let found = serde_json::from_str::<Value>(&res.body)
            .ok()
            .and_then(|body| body["__type"].as_str().map(str::to_owned));
        return if res.status == *status && found.as_deref() == Some(*kind) {
            Ok(())
        } else {
            Err(format!(
                "expected {status} {kind} (by design), got {}",
                res.status
            ))
        };
    }
    if res.status.is_success() && res.status == op.success_status {
        Ok(())
    } else {
        Err(format!(
            "expected {}, got {}",
            op.success_status, res.status
        ))
    }
}

/// A fresh partner (its own tenant) with an application allowed to call `op`.
async fn fresh_partner(app: &TestApp, slug: &str, op: &Operation) -> String {
    let scopes = format!("{BASE_SCOPES} {}", op.required_scopes.join(" "));
    let (application, _) = create_app(
        &app.database.db,
        slug,
        slug,
        "Examples",
        &Scopes::parse(&scopes).unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    app.tokens.issue(&application, None).unwrap().access_token
}

/// Calls every operation's example; returns (version, operations walked) and the failures.
async fn call_every_example(app: &TestApp) -> (Vec<(String, usize)>, Vec<String>) {
    let catalog = ApiCatalog::embedded().unwrap();
    let mut walked = Vec::new();
    let mut failures = Vec::new();
    for version in catalog.versions() {
        // A sunset version answers 410 to everything (tested elsewhere); it has no examples
        // to honour.
        if version.lifecycle().is_gone() {
            continue;
        }
        let mut count = 0;
        for (index, op) in version.operations.iter().enumerate() {
            count += 1;
            let slug = format!("examples-{}-{index}", version.name);
            let token = fresh_partner(app, &slug, op).await;
            let what = format!(
                "{} {} ({} {})",
                version.name, op.operation_id, op.method, op.path
            );
            let request = match example_request(version, op, &token) {
                Ok(request) => request,
                Err(why) => {
                    failures.push(format!("{what}: {why}"));
                    continue;
                }
            };
            let shown = format!("{} {}", request.method(), request.uri());
            let res = app.sandbox(request).await;
            if let Err(why) = judge(op, &res) {
                failures.push(format!("{what}: {shown}: {why}: {}", res.body));
            }
        }
        walked.push((version.name.to_string(), count));
    }
    (walked, failures)
}

#[tokio::test]
async fn every_operation_example_succeeds_against_a_fresh_partners_sandbox_on_both_engines() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        let (walked, failures) = call_every_example(&app).await;
        for version in ["v1", "v2"] {
            let count = walked
                .iter()
                .find(|(name, _)| name == version)
                .map_or(0, |(_, count)| *count);
            assert!(
                count > 0,
                "no operation of {version} was walked: {walked:?}"
            );
        }
        assert!(
            failures.is_empty(),
            "{} example(s) do not work as written:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

#[test]
fn every_operation_carries_the_examples_its_request_needs() {
    let catalog = ApiCatalog::embedded().unwrap();
    let mut missing = Vec::new();
    for version in catalog.versions() {
        for op in &version.operations {
            if let Err(why) = example_request(version, op, "token") {
                missing.push(format!("{} {}: {why}", version.name, op.operation_id));
            }
            // A body that may be left out still gets an example (the docs show it).
            if op.request_body.is_some()
                && body_example(&operation_node(version, op)["requestBody"]).is_none()
            {
                missing.push(format!(
                    "{} {}: the request body has no example",
                    version.name, op.operation_id
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
