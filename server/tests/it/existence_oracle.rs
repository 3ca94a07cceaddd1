//! No existence oracle: on every operation that addresses an object by a path id, in every
//! served API version and on both engines, another partner's id and an id that exists nowhere
//! get the same answer (status, headers that matter, body apart from the request id and the
//! id itself), and read the same in the caller's request log (the row and its explanation).
//!
//! The operations come from the loaded `ApiCatalog`, so a new operation with a path id is
//! walked without touching this file.

use crate::common::on_both_engines;
use crate::common::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use portico_core::apps::applications::Application;
use portico_core::apps::demo::create_app;
use portico_core::authz::scopes::Scopes;
use portico_core::sandbox_data::{self, CollectionKey};
use portico_core::traffic::partner_log::{self, LogEntry, LogQuery};
use portico_sandbox::model::{ApiVersion, Lifecycle, Operation, ParamLocation, SandboxBinding};
use portico_sandbox::synthetic::SyntheticBackend;
use serde_json::Value;
use std::collections::BTreeSet;

/// The owner of the objects, and the partner that probes for them.
const OWNER: &str = "acme";
const PROBER: &str = "globex";

/// Headers whose value may differ between two calls without saying anything about the id:
/// the request id, and the usage plan's remaining count (one call later).
const PER_CALL_HEADERS: [&str; 2] = ["x-request-id", "ratelimit"];

/// Every scope some operation of the catalogue requires, plus `logs:read` for the log API:
/// the prober is refused for nothing but the object.
fn all_scopes(versions: &[ApiVersion]) -> String {
    let mut scopes: BTreeSet<&str> = versions
        .iter()
        .flat_map(|v| &v.operations)
        .flat_map(|o| o.required_scopes.iter().map(String::as_str))
        .collect();
    scopes.insert(portico_core::authz::scopes::LOGS_READ);
    scopes.into_iter().collect::<Vec<_>>().join(" ")
}

async fn application(app: &TestApp, partner: &str, scopes: &str) -> (Application, String) {
    let (application, _) = create_app(
        &app.shared.db,
        partner,
        partner,
        "Oracle probe",
        &Scopes::parse(scopes).unwrap(),
        "sandbox",
    )
    .await
    .unwrap();
    let token = app.tokens.issue(&application, None).unwrap().access_token;
    (application, token)
}

/// The path id parameter of an operation, if it has one (exactly one: this test fills no
/// other path parameter).
fn path_id(operation: &Operation) -> Option<&str> {
    let mut names = operation
        .parameters
        .iter()
        .filter(|p| p.location == ParamLocation::Path)
        .map(|p| p.name.as_str());
    let name = names.next()?;
    assert!(
        names.next().is_none(),
        "{}: more than one path parameter; teach this test to fill them",
        operation.operation_id
    );
    Some(name)
}

/// An object the owner holds in the binding's collection, addressed as `version` shows it.
/// A per-tenant collection: one of the owner's seed objects (not a `seed-ids` example item,
/// which every tenant holds as its own), its storage seeded now. A shared collection (the
/// catalogue) has no tenant's objects through the API: an object reserved to the owner is
/// put into its store, the way the policies allow a product reserved to one partner.
async fn owners_object(app: &TestApp, version: &ApiVersion, operation: &Operation) -> String {
    let binding: &SandboxBinding = operation.sandbox.as_ref().unwrap_or_else(|| {
        panic!(
            "{} {}: a path id but no x-sandbox binding; the sandbox cannot hold an object for it",
            version.name, operation.operation_id
        )
    });
    let storage = &binding.storage;
    let id = if storage.shared {
        let mut item = SyntheticBackend::seed_items(OWNER, binding)
            .into_iter()
            .next()
            .expect("seed items");
        let id = portico_core::ids::new_id(&storage.id_prefix);
        item[&storage.id_field] = Value::from(id.as_str());
        item[&storage.tenant_field] = Value::from(OWNER);
        sandbox_data::insert(
            &app.shared.db,
            CollectionKey {
                tenant_id: OWNER,
                version: &storage.version,
                collection: &storage.name,
            },
            &id,
            &item.to_string(),
            None,
            &[],
        )
        .await
        .unwrap();
        id
    } else {
        let id = SyntheticBackend::seed_items(OWNER, binding)
            .iter()
            .filter_map(|item| item[&storage.id_field].as_str())
            .find(|id| !storage.is_seed_id(id))
            .expect("a seed object that is not an example id")
            .to_owned();
        // Reading it as the owner seeds the owner's storage: the object exists from now on.
        let found = app
            .shared
            .synthetic
            .find_item(OWNER, version, operation, &id)
            .await
            .unwrap();
        assert!(
            found.is_some(),
            "{}: {id} not in the owner's data",
            operation.operation_id
        );
        id
    };
    assert_eq!(
        app.shared
            .synthetic
            .owner_of(binding, &id, PROBER)
            .await
            .as_deref(),
        Some(OWNER),
        "{} {}: the gateway must see {id} as the owner's",
        version.name,
        operation.operation_id
    );
    id
}

/// The operation called with `id` as its path id (required headers filled, the model's
/// example body when it takes one, or `body` as it is).
fn request(
    version: &ApiVersion,
    operation: &Operation,
    param: &str,
    id: &str,
    token: &str,
    body: Option<&'static str>,
) -> Request<Body> {
    let path = operation.path.replace(&format!("{{{param}}}"), id);
    let mut builder = Request::builder()
        .method(operation.method.clone())
        .uri(format!("/{}{path}", version.name))
        .header("authorization", format!("Bearer {token}"));
    for header in operation
        .parameters
        .iter()
        .filter(|p| p.location == ParamLocation::Header && p.required)
    {
        builder = builder.header(header.name.as_str(), "existence-oracle-0001");
    }
    if let Some(body) = body {
        return builder
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
    }
    match &operation.request_body {
        Some(schema) => {
            let example = schema
                .get("example")
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default()));
            builder
                .header("content-type", "application/json")
                .body(Body::from(example.to_string()))
                .unwrap()
        }
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// A response as the caller could compare it: status, the headers (per-call values left
/// out), and the body without its request id and with the addressed id replaced.
fn comparable(response: &TestResponse, id: &str) -> (u16, Vec<(String, String)>, String) {
    let headers = normalised_headers(&response.headers, id);
    let body = match serde_json::from_str::<Value>(&response.body) {
        Ok(Value::Object(mut map)) => {
            map.remove("requestId");
            Value::Object(map).to_string()
        }
        _ => response.body.clone(),
    };
    (response.status.as_u16(), headers, body.replace(id, "{id}"))
}

fn normalised_headers(headers: &HeaderMap, id: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            let value = if PER_CALL_HEADERS.contains(&name.as_str()) {
                "(per call)".to_owned()
            } else {
                value.to_str().unwrap_or("(binary)").replace(id, "{id}")
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    pairs.sort();
    pairs
}

/// What the caller's request log shows of one call: the row as the log API gives it (but
/// for its request id, time and latency) and its explanation, the addressed id replaced.
fn comparable_log(entry: &LogEntry, app_id: &str, id: &str) -> String {
    let explanation = partner_log::explain(entry, app_id);
    format!(
        "{} {} {} {:?} {:?} {} {:?} {} | {:?} | {} | {:?}",
        entry.method,
        entry.route,
        entry.status,
        entry.action,
        entry.version,
        entry.decision_label(),
        entry.reason,
        entry.stage,
        explanation.steps,
        explanation.summary,
        explanation.fix,
    )
    .replace(id, "{id}")
}

async fn logged(app: &TestApp, application: &Application, request_id: &str) -> LogEntry {
    let page = partner_log::partner_page(
        &app.shared.db,
        PROBER,
        Some(&application.client_id),
        &LogQuery {
            request_id: Some(request_id.to_owned()),
            limit: 1,
            ..LogQuery::default()
        },
    )
    .await
    .unwrap();
    page.entries
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{request_id} is not in {PROBER}'s log"))
}

async fn another_tenants_id_answers_like_an_id_that_exists_nowhere(mut app: TestApp) {
    let catalog = app.shared.catalog.clone();
    let scopes = all_scopes(catalog.versions());
    application(&app, OWNER, &scopes).await;
    let (prober, token) = application(&app, PROBER, &scopes).await;

    // ("version operation", the owner's id, the unknown id, the answers to each)
    let mut probes = Vec::new();
    for version in catalog.versions() {
        if matches!(version.lifecycle(), Lifecycle::Sunset { .. }) {
            continue;
        }
        for operation in &version.operations {
            let Some(param) = path_id(operation) else {
                continue;
            };
            let theirs = owners_object(&app, version, operation).await;
            let nowhere =
                portico_core::ids::new_id(&operation.sandbox.as_ref().unwrap().storage.id_prefix);
            assert_eq!(
                nowhere.len(),
                theirs.len(),
                "same shape: {nowhere} / {theirs}"
            );
            // A well-formed call, and one whose body is not JSON (a refusal of the request
            // itself must not depend on whose the id is either).
            for (how, body) in [("", None), (", malformed body", Some("{"))] {
                let to_theirs = app
                    .sandbox(request(version, operation, param, &theirs, &token, body))
                    .await;
                let to_nowhere = app
                    .sandbox(request(version, operation, param, &nowhere, &token, body))
                    .await;
                probes.push((
                    format!("{} {}{how}", version.name, operation.operation_id),
                    theirs.clone(),
                    nowhere.clone(),
                    to_theirs,
                    to_nowhere,
                ));
            }
        }
    }
    let walked: Vec<&str> = probes.iter().map(|p| p.0.as_str()).collect();
    assert!(
        walked.iter().any(|w| w.starts_with("v1 ")) && walked.iter().any(|w| w.starts_with("v2 ")),
        "both versions walked: {walked:?}"
    );
    assert!(walked.contains(&"v2 GetOrder"), "{walked:?}");

    // Every difference, of every operation, before failing: the message lists them all.
    let mut differences = Vec::new();
    for (name, theirs, nowhere, to_theirs, to_nowhere) in &probes {
        assert!(
            to_nowhere.status.is_client_error(),
            "{name}: an id that exists nowhere answered {}: {}",
            to_nowhere.status,
            to_nowhere.body
        );
        let (theirs_answer, nowhere_answer) = (
            comparable(to_theirs, theirs),
            comparable(to_nowhere, nowhere),
        );
        if theirs_answer != nowhere_answer {
            differences.push(format!(
                "{name}: another partner's id answers {theirs_answer:?}\n    an id that exists nowhere answers {nowhere_answer:?}"
            ));
        }
    }

    // The request log: the same row and the same explanation for both calls.
    app.flush_audit().await;
    for (name, theirs, nowhere, to_theirs, to_nowhere) in &probes {
        let theirs_entry = logged(&app, &prober, to_theirs.header("x-request-id")).await;
        let nowhere_entry = logged(&app, &prober, to_nowhere.header("x-request-id")).await;
        let theirs_summary = partner_log::explain(&theirs_entry, &prober.id)
            .summary
            .replace(theirs.as_str(), "{id}");
        let nowhere_summary = partner_log::explain(&nowhere_entry, &prober.id)
            .summary
            .replace(nowhere.as_str(), "{id}");
        if theirs_summary != nowhere_summary {
            differences.push(format!(
                "{name}: the request log explains another partner's id as {theirs_summary:?}\n    and an id that exists nowhere as {nowhere_summary:?}"
            ));
        }
        let (theirs_row, nowhere_row) = (
            comparable_log(&theirs_entry, &prober.id, theirs),
            comparable_log(&nowhere_entry, &prober.id, nowhere),
        );
        if theirs_row != nowhere_row {
            differences.push(format!(
                "{name}: the request log shows another partner's id as {theirs_row}\n    and an id that exists nowhere as {nowhere_row}"
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} probes tell another partner's id from an id that exists nowhere:\n{}",
        differences.len(),
        probes.len() * 3,
        differences.join("\n")
    );

    // The unknown ids really exist nowhere.
    for (name, _, nowhere, _, _) in &probes {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_objects WHERE id = $1")
            .bind(nowhere)
            .fetch_one(app.shared.db.pool())
            .await
            .unwrap();
        assert_eq!(count, 0, "{name}: {nowhere} exists");
    }
}

on_both_engines!(
    another_tenants_id_answers_like_an_id_that_exists_nowhere,
    another_tenants_id_answers_like_an_id_that_exists_nowhere,
    "multi_thread"
);
