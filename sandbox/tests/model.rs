#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
//! API models: the shipped Commercial API loads and fits the policies, routing, model
//! errors, a second unrelated model, and request validation.

use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, HeaderValue, Method};
use portico_core::authz::{Authorizer, ResourceType, SchemaFacts};
use portico_sandbox::model::{
    ApiCatalog, ApiVersion, Behavior, Lifecycle, ModelError, Operation, Pagination, RouteMatch,
};
use portico_sandbox::validate::{FieldError, validate_request, validation_error_body};
use serde_json::{Value, json};

fn shipped() -> ApiCatalog {
    ApiCatalog::embedded().unwrap()
}

fn content_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/api")
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/library")
}

fn day(text: &str) -> time::Date {
    let parts: Vec<u32> = text.split('-').map(|p| p.parse().unwrap()).collect();
    time::Date::from_calendar_date(
        i32::try_from(parts[0]).unwrap(),
        time::Month::try_from(u8::try_from(parts[1]).unwrap()).unwrap(),
        u8::try_from(parts[2]).unwrap(),
    )
    .unwrap()
}

fn shipped_sources() -> Vec<(String, String)> {
    ["v0", "v1", "v2"]
        .iter()
        .map(|v| {
            let path = content_dir().join(format!("{v}.yaml"));
            (
                format!("content/api/{v}.yaml"),
                std::fs::read_to_string(path).unwrap(),
            )
        })
        .collect()
}

fn op<'a>(catalog: &'a ApiCatalog, version: &str, id: &str) -> (&'a ApiVersion, &'a Operation) {
    let version = catalog.version(version).unwrap();
    (version, version.operation(id).unwrap())
}

/// A minimal model with one operation; `extra` is YAML spliced into the operation.
fn one_operation_model(extra: &str) -> String {
    format!(
        r##"openapi: 3.1.0
info: {{title: T, version: "1"}}
paths:
  /things/{{thingId}}:
    get:
      operationId: GetThing
{extra}
      parameters:
        - {{name: thingId, in: path, required: true, schema: {{type: string}}}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {{$ref: "#/components/schemas/Thing"}}
components:
  schemas:
    Thing:
      type: object
      properties:
        id: {{type: string}}
        tenant_id: {{type: string}}
        status: {{type: string, enum: [open, closed]}}
  securitySchemes:
    clientCredentials:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: /oauth2/token
          scopes:
            "things:read": Read things.
"##
    )
}

/// The `components.securitySchemes` of test models declaring `things:read`.
const THINGS_SECURITY: &str = r#"  securitySchemes:
    clientCredentials:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: /oauth2/token
          scopes:
            "things:read": Read things.
"#;

/// The shipped Cedar schema with `actions` (Cedar action declarations) added.
fn shipped_schema_with(actions: &str) -> SchemaFacts {
    let schema = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/policies/schema.cedarschema"),
    )
    .unwrap();
    let cut = schema.rfind('}').unwrap();
    SchemaFacts::parse(&format!("{}{actions}}}\n", &schema[..cut])).unwrap()
}

/// The schema the test models are checked against: `things:GetThing` on orders and products.
fn things_schema() -> SchemaFacts {
    shipped_schema_with(
        r#"action "things:GetThing" appliesTo { principal: [Application], resource: [Collection, Order, Product] };"#,
    )
}

/// The schema of the library fixture: the shipped one with the library's actions.
fn library_schema() -> SchemaFacts {
    shipped_schema_with(
        r#"action "library:ListBooks", "library:SearchBooks", "library:GetBook" appliesTo {
    principal: [Application, User],
    resource: [Collection, Product],
  };
  action "library:Borrow" appliesTo {
    principal: [Application, User],
    resource: [Collection, Order],
  };"#,
    )
}

fn check_one(extra: &str) -> Result<(), String> {
    let catalog = ApiCatalog::from_sources(vec![(
        "models/v9.yaml".to_owned(),
        one_operation_model(extra),
    )])
    .map_err(|e| e.to_string())?;
    catalog.check(&things_schema()).map_err(|e| e.to_string())
}

// ---- The shipped Commercial API ------------------------------------------------------------

#[test]
fn shipped_models_load_and_fit_the_embedded_policies() {
    let catalog = shipped();
    assert_eq!(catalog.origin(), "embedded");
    let names: Vec<&str> = catalog.versions().iter().map(|v| &*v.name).collect();
    assert_eq!(names, ["v0", "v1", "v2"]);
    let authorizer = Authorizer::embedded().unwrap();
    catalog.check(authorizer.schema_facts()).unwrap();

    let expected = [
        (
            "ListOrders",
            "GET",
            "/commercial/orders",
            "commercial:ListOrders",
            "commercial:read",
        ),
        (
            "CreateOrder",
            "POST",
            "/commercial/orders",
            "commercial:CreateOrder",
            "commercial:write",
        ),
        (
            "GetOrder",
            "GET",
            "/commercial/orders/{orderId}",
            "commercial:GetOrder",
            "commercial:read",
        ),
        (
            "CancelOrder",
            "POST",
            "/commercial/orders/{orderId}/cancel",
            "commercial:CancelOrder",
            "commercial:write",
        ),
        (
            "ListProducts",
            "GET",
            "/commercial/products",
            "commercial:ListProducts",
            "commercial:read",
        ),
        (
            "GetProduct",
            "GET",
            "/commercial/products/{productId}",
            "commercial:GetProduct",
            "commercial:read",
        ),
        (
            "ListPackages",
            "GET",
            "/commercial/packages",
            "commercial:ListPackages",
            "commercial:read",
        ),
        (
            "DeleteAccount",
            "DELETE",
            "/users/{userId}",
            "users:DeleteAccount",
            "users:admin",
        ),
    ];
    for version in ["v1", "v2"] {
        let version = catalog.version(version).unwrap();
        assert_eq!(version.operations.len(), expected.len());
        for (id, method, path, action, scope) in expected {
            let op = version.operation(id).unwrap();
            assert_eq!(op.method.as_str(), method, "{id}");
            assert_eq!(op.path, path, "{id}");
            assert_eq!(&*op.action, action, "{id}");
            assert_eq!(op.required_scopes, [scope], "{id}");
            assert!(op.sandbox.is_some(), "{id} has no x-sandbox");
        }
        let create = version.operation("CreateOrder").unwrap();
        assert_eq!(create.success_status.as_u16(), 201);
        assert!(create.request_body_required);
        let key = create
            .parameters
            .iter()
            .find(|p| p.name == "Idempotency-Key")
            .unwrap();
        assert!(key.required);
        let delete = version.operation("DeleteAccount").unwrap();
        assert_eq!(delete.success_status.as_u16(), 204);
        assert_eq!(
            delete.sandbox.as_ref().unwrap().resource,
            ResourceType::new("Account")
        );
        let products = version
            .operation("ListProducts")
            .unwrap()
            .sandbox
            .as_ref()
            .unwrap();
        assert!(products.shared);
        let packages = version
            .operation("ListPackages")
            .unwrap()
            .sandbox
            .as_ref()
            .unwrap();
        assert_eq!(packages.provider_field.as_deref(), Some("provider"));
        assert_eq!(packages.resource, ResourceType::new("Quote"));
    }
    assert!(catalog.version("v0").unwrap().operations.is_empty());
}

#[test]
fn shipped_lifecycles_and_headers() {
    let catalog = ApiCatalog::from_sources_at(shipped_sources(), day("2026-11-25")).unwrap();
    let lifecycle = |v: &str| catalog.version(v).unwrap().lifecycle();
    assert_eq!(lifecycle("v2"), Lifecycle::Current);
    assert_eq!(
        lifecycle("v1"),
        Lifecycle::Deprecated {
            since: "2026-06-01".into(),
            sunset: "2027-06-30".into()
        }
    );
    assert_eq!(
        lifecycle("v0"),
        Lifecycle::Sunset {
            since: "2025-06-30".into()
        }
    );
    let v1 = lifecycle("v1");
    assert_eq!(v1.deprecation_header().as_deref(), Some("@1780272000"));
    assert_eq!(
        v1.sunset_header().as_deref(),
        Some("Wed, 30 Jun 2027 00:00:00 GMT")
    );
    assert_eq!(Lifecycle::Current.sunset_header(), None);

    // On its sunset date v1 stops working.
    let later = ApiCatalog::from_sources_at(shipped_sources(), day("2027-06-30")).unwrap();
    assert!(later.version("v1").unwrap().lifecycle().is_gone());
    assert!(matches!(
        later.route(&Method::GET, "/v1/commercial/orders"),
        RouteMatch::VersionGone { .. }
    ));
}

#[test]
fn lifecycle_dates_are_checked() {
    let today = day("2026-11-25");
    assert!(Lifecycle::from_dates(Some("2026-06-01"), None, today).is_err());
    assert!(Lifecycle::from_dates(None, Some("2027-01-01"), today).is_err());
    assert!(Lifecycle::from_dates(Some("2027-02-01"), Some("2027-01-01"), today).is_err());
    assert!(Lifecycle::from_dates(Some("June 1st"), Some("2027-01-01"), today).is_err());
    assert_eq!(
        Lifecycle::from_dates(None, Some("2026-11-25"), today),
        Ok(Lifecycle::Sunset {
            since: "2026-11-25".into()
        })
    );
}

#[test]
fn v2_breaks_v1_money_and_pagination() {
    let catalog = shipped();
    let order = |v: &str| {
        op(&catalog, v, "GetOrder")
            .1
            .sandbox
            .as_ref()
            .unwrap()
            .item_schema
            .clone()
    };
    let (v1, v2) = (order("v1"), order("v2"));
    assert_eq!(v1["properties"]["total_cents"]["type"], "integer");
    assert!(v1["properties"].get("total").is_none());
    assert_eq!(
        v2["properties"]["total"]["required"],
        json!(["amount", "currency"])
    );
    assert_eq!(
        v2["properties"]["total"]["properties"]["amount"]["type"],
        "string"
    );
    assert!(v2["properties"].get("total_cents").is_none());

    let paging = |v: &str| {
        op(&catalog, v, "ListOrders")
            .1
            .sandbox
            .as_ref()
            .unwrap()
            .pagination
            .clone()
            .unwrap()
    };
    assert!(matches!(paging("v1"), Pagination::Page { .. }));
    assert!(matches!(paging("v2"), Pagination::Cursor { .. }));
}

#[test]
fn every_operation_documents_its_errors_with_examples() {
    let catalog = shipped();
    for version in ["v1", "v2"] {
        let version = catalog.version(version).unwrap();
        for op in &version.operations {
            let responses = version
                .document
                .pointer(&format!(
                    "/paths/{}/{}/responses",
                    op.path.replace('~', "~0").replace('/', "~1"),
                    op.method.as_str().to_lowercase()
                ))
                .and_then(Value::as_object)
                .unwrap();
            let mut codes: Vec<&str> = responses.keys().map(String::as_str).collect();
            codes.sort_unstable();
            for required in ["400", "401", "403", "429", "500", "503"] {
                assert!(
                    codes.contains(&required),
                    "{} {}: no {required}",
                    version.name,
                    op.operation_id
                );
            }
            if &*version.name == "v1" {
                assert!(codes.contains(&"410"), "{}: no 410", op.operation_id);
            }
            for (code, response) in responses {
                if !code.starts_with('4') && !code.starts_with('5') {
                    continue;
                }
                let media = &response["content"]["application/json"];
                let schema = &media["schema"];
                let properties = schema
                    .get("properties")
                    .or_else(|| schema.pointer("/allOf/0/properties"))
                    .unwrap();
                for field in ["__type", "message", "requestId"] {
                    assert!(
                        properties.get(field).is_some(),
                        "{}: {code} lacks {field}",
                        op.operation_id
                    );
                }
                let examples = media["examples"].as_object().unwrap();
                assert!(!examples.is_empty());
                for (name, example) in examples {
                    assert_eq!(example["value"]["__type"], name.as_str());
                    assert!(example["value"]["message"].is_string());
                }
            }
        }
        let tmr = version
            .document
            .pointer("/components/responses/TooManyRequests/content/application~1json/examples")
            .unwrap();
        assert!(tmr.get("ThrottlingException").is_some());
        assert!(tmr.get("LimitExceededException").is_some());
    }
}

#[test]
fn loads_from_a_directory_or_falls_back_to_the_embedded_copy() {
    let from_dir = ApiCatalog::load(Some(&content_dir())).unwrap();
    assert_eq!(from_dir.origin(), content_dir().display().to_string());
    assert_eq!(from_dir.versions().len(), 3);
    let missing = ApiCatalog::load(Some(Path::new("/nonexistent/portico/api"))).unwrap();
    assert_eq!(missing.origin(), "embedded");
    let empty = tempfile::tempdir().unwrap();
    let error = ApiCatalog::load(Some(empty.path())).unwrap_err();
    assert!(error.to_string().contains("no model file"), "{error}");
}

#[test]
fn openapi_json_keeps_refs_and_points_at_this_deployment() {
    let catalog = shipped();
    let doc = catalog
        .openapi_json("v2", "https://api-sandbox.example.gov/")
        .unwrap();
    assert_eq!(
        doc["servers"],
        json!([{"url": "https://api-sandbox.example.gov/v2"}])
    );
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc.pointer("/paths/~1commercial~1orders~1{orderId}/get/responses/404/$ref")
            .unwrap(),
        "#/components/responses/NotFound"
    );
    assert!(catalog.openapi_json("v7", "x").is_none());
}

// ---- Routing ---------------------------------------------------------------------------------

fn found<'a>(
    catalog: &'a ApiCatalog,
    method: &Method,
    path: &str,
) -> (&'a str, &'a str, Vec<(String, String)>) {
    match catalog.route(method, path) {
        RouteMatch::Found {
            version,
            operation,
            path_params,
        } => (&*version.name, operation.operation_id.as_str(), path_params),
        other => panic!("{method} {path}: {other:?}"),
    }
}

#[test]
fn routes_requests_to_operations() {
    let catalog = shipped();
    let (version, id, params) = found(&catalog, &Method::GET, "/v2/commercial/orders");
    assert_eq!((version, id), ("v2", "ListOrders"));
    assert!(params.is_empty());
    assert_eq!(
        found(&catalog, &Method::POST, "/v2/commercial/orders").1,
        "CreateOrder"
    );
    assert_eq!(
        found(&catalog, &Method::GET, "/v1/commercial/orders").0,
        "v1"
    );
    let (_, id, params) = found(&catalog, &Method::GET, "/v2/commercial/orders/ord_1");
    assert_eq!(id, "GetOrder");
    assert_eq!(params, [("orderId".to_owned(), "ord_1".to_owned())]);
    let (_, id, params) = found(
        &catalog,
        &Method::POST,
        "/v2/commercial/orders/ord_1/cancel",
    );
    assert_eq!(id, "CancelOrder");
    assert_eq!(params, [("orderId".to_owned(), "ord_1".to_owned())]);
    assert_eq!(
        found(&catalog, &Method::DELETE, "/v2/users/usr_9").1,
        "DeleteAccount"
    );
    // A query string is not part of the path.
    assert_eq!(
        found(&catalog, &Method::GET, "/v2/commercial/packages?limit=2").1,
        "ListPackages"
    );
}

#[test]
fn percent_decodes_path_parameters() {
    let catalog = shipped();
    let (_, _, params) = found(
        &catalog,
        &Method::GET,
        "/v2/commercial/orders/ord%5Fa%20b%2Fc",
    );
    assert_eq!(params, [("orderId".to_owned(), "ord_a b/c".to_owned())]);
    // Escaped literal segments mean the same segment.
    assert_eq!(
        found(&catalog, &Method::GET, "/v2/commercial/%6Frders").1,
        "ListOrders"
    );
}

#[test]
fn wrong_method_lists_the_allowed_ones() {
    let catalog = shipped();
    match catalog.route(&Method::DELETE, "/v2/commercial/orders") {
        RouteMatch::MethodNotAllowed { allow } => assert_eq!(allow, [Method::GET, Method::POST]),
        other => panic!("{other:?}"),
    }
    match catalog.route(&Method::GET, "/v2/commercial/orders/ord_1/cancel") {
        RouteMatch::MethodNotAllowed { allow } => assert_eq!(allow, [Method::POST]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_paths_and_versions_are_not_found_and_sunset_versions_are_gone() {
    let catalog = shipped();
    for path in [
        "/v2/commercial/invoices",
        "/v2/commercial/orders/ord_1/refund",
        "/v2/commercial/orders/",
        "/v2//commercial/orders",
        "/v2",
        "/v9/commercial/orders",
        "/commercial/orders",
        "",
        "v2/commercial/orders",
    ] {
        assert!(
            matches!(catalog.route(&Method::GET, path), RouteMatch::NotFound),
            "{path}"
        );
    }
    for path in ["/v0/commercial/orders", "/v0/anything/at/all", "/v0"] {
        match catalog.route(&Method::GET, path) {
            RouteMatch::VersionGone { version } => {
                assert_eq!(&*version.name, "v0");
                assert_eq!(
                    version.lifecycle(),
                    Lifecycle::Sunset {
                        since: "2025-06-30".into()
                    }
                );
            }
            other => panic!("{path}: {other:?}"),
        }
    }
}

// ---- Model errors ------------------------------------------------------------------------

#[test]
fn a_broken_ref_names_the_file_and_the_reference() {
    let text = shipped_sources()[2].1.replace(
        "#/components/schemas/OrderPage",
        "#/components/schemas/OrderPages",
    );
    let error = ApiCatalog::from_sources(vec![("content/api/v2.yaml".into(), text)]).unwrap_err();
    assert!(matches!(error, ModelError::Ref { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("content/api/v2.yaml"), "{message}");
    assert!(
        message.contains("#/components/schemas/OrderPages"),
        "{message}"
    );
    assert!(message.contains("points to nothing"), "{message}");
    assert!(
        message.contains("paths//commercial/orders/get/responses/200"),
        "{message}"
    );
}

#[test]
fn a_ref_cycle_is_an_error() {
    let text = one_operation_model(
        "      x-cedar-action: things:GetThing\n      x-required-scopes: [things:read]",
    )
    .replace(
        "        status: {type: string, enum: [open, closed]}",
        "        status: {type: string, enum: [open, closed]}\n        parent: {$ref: \"#/components/schemas/Thing\"}",
    );
    let error = ApiCatalog::from_sources(vec![("v9.yaml".into(), text)]).unwrap_err();
    assert!(error.to_string().contains("circular reference"), "{error}");
}

#[test]
fn yaml_and_structure_errors_name_the_file() {
    let error =
        ApiCatalog::from_sources(vec![("api/v3.yaml".into(), "openapi: [1\n".into())]).unwrap_err();
    assert!(
        error.to_string().starts_with("api/v3.yaml: not valid YAML"),
        "{error}"
    );
    let error =
        ApiCatalog::from_sources(vec![("api/v3.yaml".into(), "title: x\n".into())]).unwrap_err();
    assert!(
        error.to_string().contains("not an OpenAPI 3 document"),
        "{error}"
    );
    let undeclared = one_operation_model("").replace(
        "        - {name: thingId, in: path, required: true, schema: {type: string}}",
        "        - {name: other, in: query, schema: {type: string}}",
    );
    let error = ApiCatalog::from_sources(vec![("v3.yaml".into(), undeclared)]).unwrap_err();
    assert!(
        error.to_string().contains("{thingId} is not declared"),
        "{error}"
    );
    let error = ApiCatalog::from_sources(vec![("my api.yaml".into(), one_operation_model(""))])
        .unwrap_err();
    assert!(error.to_string().contains("version name"), "{error}");
}

#[test]
fn check_refuses_unknown_actions_and_missing_or_unknown_scopes() {
    assert_eq!(
        check_one("      x-cedar-action: things:GetThing\n      x-required-scopes: [things:read]"),
        Ok(())
    );
    let error =
        check_one("      x-cedar-action: things:GetThingz\n      x-required-scopes: [things:read]")
            .unwrap_err();
    assert!(error.contains("models/v9.yaml"), "{error}");
    assert!(
        error.contains("operation GetThing (GET /things/{thingId})"),
        "{error}"
    );
    assert!(
        error.contains("unknown x-cedar-action \"things:GetThingz\""),
        "{error}"
    );

    let error = check_one("      x-cedar-action: things:GetThing").unwrap_err();
    assert!(
        error.contains("GetThing") && error.contains("missing x-required-scopes"),
        "{error}"
    );
    let error = check_one("      x-cedar-action: things:GetThing\n      x-required-scopes: []")
        .unwrap_err();
    assert!(error.contains("non-empty list"), "{error}");
    let error =
        check_one("      x-cedar-action: things:GetThing\n      x-required-scopes: [things:rule]")
            .unwrap_err();
    assert!(error.contains("unknown scope \"things:rule\""), "{error}");
    let error = check_one("      x-required-scopes: [things:read]").unwrap_err();
    assert!(error.contains("missing x-cedar-action"), "{error}");

    // The shipped model against a policy set that lacks an action.
    let schema = Authorizer::embedded()
        .unwrap()
        .schema_facts()
        .clone()
        .without_action("commercial:CancelOrder");
    let error = shipped().check(&schema).unwrap_err().to_string();
    assert!(
        error.contains("content/api/v1.yaml: operation CancelOrder"),
        "{error}"
    );
    assert!(
        error.contains("content/api/v2.yaml: operation CancelOrder"),
        "{error}"
    );
    assert_eq!(error.lines().count(), 2, "{error}");
}

#[test]
fn check_asks_the_cedar_schema_about_resource_types_and_actions() {
    let base = "      x-cedar-action: things:GetThing\n      x-required-scopes: [things:read]\n";
    let with = |resource: &str| {
        check_one(&format!(
            "{base}      x-sandbox: {{collection: things, resource: {resource}, behavior: get, id-param: thingId}}"
        ))
    };
    assert_eq!(with("Product"), Ok(()));
    for (resource, expected) in [
        // A type the schema declares, but not one the action applies to.
        (
            "Quote",
            "x-cedar-action \"things:GetThing\" does not apply to Quote resources in the Cedar schema (it applies to Collection, Order, Product)",
        ),
        // No tenant_id: the gateway could not say whose it is.
        (
            "Application",
            "Platform::Application has no tenant_id attribute",
        ),
        // Attributes the gateway has no value for.
        ("User", "Platform::User requires the attribute groups"),
        (
            "Shipment",
            "resource \"Shipment\" is not an entity type of the Cedar schema",
        ),
    ] {
        let error = with(resource).unwrap_err();
        assert!(
            error.contains("models/v9.yaml: operation GetThing (GET /things/{thingId}): "),
            "{error}"
        );
        assert!(error.contains(expected), "{resource}: {error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }
}

#[test]
fn scopes_come_from_the_models_security_schemes() {
    let catalog = ApiCatalog::from_sources(vec![(
        "models/v9.yaml".to_owned(),
        one_operation_model(
            "      x-cedar-action: things:GetThing\n      x-required-scopes: [things:read]",
        ),
    )])
    .unwrap();
    let version = catalog.version("v9").unwrap();
    assert_eq!(version.scopes.len(), 1);
    assert_eq!(version.scopes[0].description, "Read things.");
    // The catalogue's known scopes: the model's and Portico's own.
    assert_eq!(
        catalog.scopes().names().collect::<Vec<_>>(),
        ["logs:read", "things:read"]
    );
    assert_eq!(
        catalog.scopes().get("things:read").unwrap().declared_by,
        ["models/v9.yaml"]
    );
    // Portico's own scope needs no declaration.
    assert_eq!(
        check_one("      x-cedar-action: things:GetThing\n      x-required-scopes: [logs:read]"),
        Ok(())
    );
    let bad = one_operation_model(
        "      x-cedar-action: things:GetThing\n      x-required-scopes: [things:read]",
    )
    .replace(
        "\"things:read\": Read things.",
        "\"things read\": Read things.",
    );
    let error = ApiCatalog::from_sources(vec![("models/v9.yaml".to_owned(), bad)])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("components.securitySchemes.clientCredentials.flows.clientCredentials.scopes: \"things read\" is not a scope name"),
        "{error}"
    );
}

#[test]
fn check_refuses_bad_x_sandbox() {
    let base = "      x-cedar-action: things:GetThing\n      x-required-scopes: [things:read]\n";
    let ok = format!(
        "{base}      x-sandbox: {{collection: things, resource: Order, behavior: get, id-param: thingId}}"
    );
    assert_eq!(check_one(&ok), Ok(()));
    for (sandbox, expected) in [
        (
            "{collection: things, resource: Order, behavior: explode, id-param: thingId}",
            "behavior \"explode\"",
        ),
        (
            "{collection: things, resource: Invoice, behavior: get, id-param: thingId}",
            "resource \"Invoice\"",
        ),
        (
            "{collection: things, resource: Order, behavior: get}",
            "needs id-param",
        ),
        (
            "{collection: things, resource: Order, behavior: get, id-param: nope}",
            "id-param nope",
        ),
        (
            "{collection: things, resource: Order, behavior: get, id-param: thingId, seed-cont: 3}",
            "unknown field `seed-cont`",
        ),
        (
            "{collection: things, resource: Order, behavior: get, id-param: thingId, tenant-field: owner}",
            "tenant-field owner",
        ),
        (
            "{collection: things, resource: Order, behavior: get, id-param: thingId, seed-count: 5000}",
            "seed-count",
        ),
        (
            "{collection: things, resource: Order, behavior: get, id-param: thingId, pagination: {style: page}}",
            "pagination only applies",
        ),
        (
            "{collection: things, resource: Order, behavior: delete, id-param: thingId, shared: true}",
            "read-only",
        ),
        (
            "{resource: Order, behavior: get, id-param: thingId}",
            "missing field `collection`",
        ),
    ] {
        let error = check_one(&format!("{base}      x-sandbox: {sandbox}")).unwrap_err();
        assert!(error.contains("operation GetThing"), "{error}");
        assert!(error.contains("x-sandbox"), "{error}");
        assert!(error.contains(expected), "{sandbox}: {error}");
    }
}

#[test]
fn bad_patterns_are_refused_at_check_time() {
    let text = one_operation_model(
        "      x-cedar-action: things:GetThing\n      x-required-scopes: [things:read]",
    )
    .replace(
        "schema: {type: string}}",
        "schema: {type: string, pattern: \"(?=x)\"}}",
    );
    let catalog = ApiCatalog::from_sources(vec![("v9.yaml".into(), text)]).unwrap();
    let error = catalog.check(&things_schema()).unwrap_err().to_string();
    assert!(
        error.contains("pattern \"(?=x)\" at path.thingId"),
        "{error}"
    );
}

// ---- A second, unrelated model -------------------------------------------------------------

#[test]
fn a_second_model_loads_checks_and_routes_without_code_changes() {
    let catalog = ApiCatalog::load(Some(&fixture_dir())).unwrap();
    catalog.check(&library_schema()).unwrap();
    // Its actions are not the Commercial API's.
    let commercial = Authorizer::embedded().unwrap();
    assert!(catalog.check(commercial.schema_facts()).is_err());

    let (version, id, _) = found(&catalog, &Method::GET, "/v1/books/search");
    assert_eq!((version, id), ("v1", "SearchBooks"));
    let (_, id, params) = found(&catalog, &Method::GET, "/v1/books/978-0141439518");
    assert_eq!(id, "GetBook");
    assert_eq!(params, [("isbn".to_owned(), "978-0141439518".to_owned())]);
    // "search" is also a fine isbn when the literal branch has no such route.
    let (_, id, params) = found(&catalog, &Method::POST, "/v1/books/search/loans");
    assert_eq!(id, "CreateLoan");
    assert_eq!(params, [("isbn".to_owned(), "search".to_owned())]);
    assert!(matches!(
        catalog.route(&Method::GET, "/v2/books"),
        RouteMatch::NotFound
    ));

    let (_, list) = op(&catalog, "v1", "ListBooks");
    let binding = list.sandbox.as_ref().unwrap();
    assert_eq!(binding.behavior, Behavior::List);
    assert_eq!(binding.id_field, "isbn");
    assert_eq!(binding.tenant_field, "library_id");
    assert_eq!(binding.pagination, None);
    let (_, loan) = op(&catalog, "v1", "CreateLoan");
    assert_eq!(loan.sandbox.as_ref().unwrap().id_prefix, "loan");
}

// ---- Validation ------------------------------------------------------------------------------

fn paths(errors: &[FieldError]) -> Vec<(&str, &str)> {
    errors
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect()
}

fn key_headers(key: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("idempotency-key", HeaderValue::from_str(key).unwrap());
    headers
}

const PRODUCT: &str = "prd_01jd8x5v7k2m3n4p5q6r7s8t9v";

#[test]
fn validates_request_bodies_with_field_paths() {
    let catalog = shipped();
    let (_, create) = op(&catalog, "v2", "CreateOrder");
    let headers = key_headers("k-1");
    let good =
        json!({"customer_reference": "PO-1", "items": [{"product_id": PRODUCT, "quantity": 2}]});
    assert_eq!(
        validate_request(create, &[], &[], &headers, Some(&good)),
        Ok(())
    );

    let bad = json!({
        "customer_reference": "",
        "items": [
            {"product_id": PRODUCT, "quantity": 0},
            {"product_id": "prd_x", "quantity": 2.5},
            {"quantity": 1, "colour": "red"}
        ],
        "total_cents": 100
    });
    let errors = validate_request(create, &[], &[], &headers, Some(&bad)).unwrap_err();
    assert_eq!(
        paths(&errors),
        [
            ("body.customer_reference", "must not be empty"),
            ("body.items[0].quantity", "must be >= 1"),
            (
                "body.items[1].product_id",
                "must match the pattern ^prd_[0-9a-z]{26}$"
            ),
            ("body.items[1].quantity", "must be an integer"),
            ("body.items[2].product_id", "is required"),
            ("body.items[2].colour", "is not an allowed property"),
            ("body.total_cents", "is not an allowed property"),
        ]
    );
    let errors = validate_request(create, &[], &[], &headers, Some(&json!({}))).unwrap_err();
    assert_eq!(paths(&errors), [("body.items", "is required")]);
    let errors =
        validate_request(create, &[], &[], &headers, Some(&json!({"items": []}))).unwrap_err();
    assert_eq!(paths(&errors), [("body.items", "must not be empty")]);
    let errors = validate_request(create, &[], &[], &headers, None).unwrap_err();
    assert_eq!(paths(&errors), [("body", "is required (a JSON document)")]);
    let errors = validate_request(create, &[], &[], &headers, Some(&json!([1]))).unwrap_err();
    assert_eq!(paths(&errors), [("body", "must be an object")]);

    // The Smithy-shaped body lists every field.
    let body = validation_error_body(&errors, Some("req_1"));
    assert_eq!(body["__type"], "ValidationException");
    assert_eq!(body["requestId"], "req_1");
    assert_eq!(
        body["fieldErrors"],
        json!([{"path": "body", "message": "must be an object"}])
    );
    assert_eq!(body["message"], "body must be an object.");
}

#[test]
fn validates_headers() {
    let catalog = shipped();
    let (_, create) = op(&catalog, "v2", "CreateOrder");
    let body = json!({"items": [{"product_id": PRODUCT, "quantity": 1}]});
    let errors = validate_request(create, &[], &[], &HeaderMap::new(), Some(&body)).unwrap_err();
    assert_eq!(paths(&errors), [("header.Idempotency-Key", "is required")]);
    let errors = validate_request(create, &[], &[], &key_headers(""), Some(&body)).unwrap_err();
    assert_eq!(
        paths(&errors),
        [("header.Idempotency-Key", "must not be empty")]
    );
    let long = "k".repeat(256);
    let errors = validate_request(create, &[], &[], &key_headers(&long), Some(&body)).unwrap_err();
    assert_eq!(
        paths(&errors),
        [(
            "header.Idempotency-Key",
            "must be at most 255 characters long"
        )]
    );
    // Header names are case-insensitive.
    let mut headers = HeaderMap::new();
    headers.insert("IDEMPOTENCY-KEY", HeaderValue::from_static("abc"));
    assert_eq!(
        validate_request(create, &[], &[], &headers, Some(&body)),
        Ok(())
    );
}

#[test]
fn validates_and_coerces_query_and_path_parameters() {
    let catalog = shipped();
    let (_, list) = op(&catalog, "v2", "ListOrders");
    let query = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let none = HeaderMap::new();
    assert_eq!(
        validate_request(
            list,
            &[],
            &query(&[("limit", "5"), ("status", "pending"), ("unknown", "x")]),
            &none,
            None
        ),
        Ok(())
    );
    let errors = validate_request(
        list,
        &[],
        &query(&[("limit", "0"), ("status", "lost"), ("cursor", "")]),
        &none,
        None,
    )
    .unwrap_err();
    assert_eq!(
        paths(&errors),
        [
            (
                "query.status",
                "must be one of: pending, confirmed, shipped, delivered, cancelled"
            ),
            ("query.cursor", "must not be empty"),
            ("query.limit", "must be >= 1"),
        ]
    );
    let errors = validate_request(list, &[], &query(&[("limit", "ten")]), &none, None).unwrap_err();
    assert_eq!(paths(&errors), [("query.limit", "must be an integer")]);
    let errors = validate_request(list, &[], &query(&[("limit", "101")]), &none, None).unwrap_err();
    assert_eq!(paths(&errors), [("query.limit", "must be <= 100")]);
    let errors = validate_request(
        list,
        &[],
        &query(&[("limit", "1"), ("limit", "2")]),
        &none,
        None,
    )
    .unwrap_err();
    assert_eq!(paths(&errors), [("query.limit", "must be given only once")]);

    let (_, v1_list) = op(&catalog, "v1", "ListOrders");
    let errors = validate_request(
        v1_list,
        &[],
        &query(&[("page", "0"), ("per_page", "1000")]),
        &none,
        None,
    )
    .unwrap_err();
    assert_eq!(
        paths(&errors),
        [
            ("query.page", "must be >= 1"),
            ("query.per_page", "must be <= 100")
        ]
    );

    let (_, get) = op(&catalog, "v2", "GetOrder");
    let ok = [(
        "orderId".to_owned(),
        "ord_01jd8x5v7k2m3n4p5q6r7s8t9v".to_owned(),
    )];
    assert_eq!(validate_request(get, &ok, &[], &none, None), Ok(()));
    let bad = [("orderId".to_owned(), "42".to_owned())];
    let errors = validate_request(get, &bad, &[], &none, None).unwrap_err();
    assert_eq!(
        paths(&errors),
        [("path.orderId", "must match the pattern ^ord_[0-9a-z]{26}$")]
    );
}

#[test]
fn the_second_model_validates_too() {
    let catalog = ApiCatalog::load(Some(&fixture_dir())).unwrap();
    let (_, loan) = op(&catalog, "v1", "CreateLoan");
    let path = [("isbn".to_owned(), "978".to_owned())];
    let errors = validate_request(
        loan,
        &path,
        &[],
        &key_headers("short"),
        Some(&json!({"member": "not-an-email", "weeks": 9})),
    )
    .unwrap_err();
    assert_eq!(
        paths(&errors),
        [
            (
                "header.Idempotency-Key",
                "must be at least 8 characters long"
            ),
            ("body.member", "must be a valid email"),
            ("body.weeks", "must be <= 6"),
        ]
    );
    let (_, search) = op(&catalog, "v1", "SearchBooks");
    let errors = validate_request(search, &[], &[], &HeaderMap::new(), None).unwrap_err();
    assert_eq!(paths(&errors), [("query.q", "is required")]);
}

// ---- Stores shared by versions, views, computed fields, lookups ------------------------------

#[test]
fn shipped_versions_share_their_stores_through_views() {
    let catalog = shipped();
    for (collection, operation, store) in [
        ("orders", "GetOrder", "commercial-orders"),
        ("products", "GetProduct", "commercial-products"),
        ("packages", "ListPackages", "commercial-packages"),
        ("users", "DeleteAccount", "commercial-users"),
    ] {
        let (_, v1) = op(&catalog, "v1", operation);
        let (_, v2) = op(&catalog, "v2", operation);
        let (v1, v2) = (v1.sandbox.as_ref().unwrap(), v2.sandbox.as_ref().unwrap());
        assert_eq!(v1.collection, collection);
        // One storage, in the v2 shape, seen by both versions.
        assert_eq!(v1.storage, v2.storage, "{collection}");
        assert_eq!(v2.storage.name, store);
        assert!(v2.storage.is_cross_version());
        assert_eq!(v2.storage.versions, ["v1", "v2"]);
        assert_eq!(v2.storage.schema, v2.item_schema);
        assert!(v1.view.is_some() && v2.view.is_none(), "{collection}");
    }
    let (_, create_v1) = op(&catalog, "v1", "CreateOrder");
    let (_, create_v2) = op(&catalog, "v2", "CreateOrder");
    let (v1, v2) = (
        create_v1.sandbox.as_ref().unwrap(),
        create_v2.sandbox.as_ref().unwrap(),
    );
    // Lookups and computed fields belong to the stored shape: the same for both versions.
    assert_eq!(v1.lookups, v2.lookups);
    assert_eq!(v2.lookups.len(), 1);
    assert_eq!(v2.lookups[0].target.name, "commercial-products");
    assert_eq!(v2.storage.computed.len(), 2);
}

/// Two versions of a small invoicing API: v2 stores `total: {amount, currency}` and lines
/// with a `price` Money; v1 shows cents. `{v1}` / `{v2}` are spliced into the invoices
/// collection of each version, `{parts}` into v2's parts collection.
fn invoices_models(v1: &str, v2: &str) -> Vec<(String, String)> {
    let paths = r##"paths:
  /invoices/{invoiceId}:
    get:
      operationId: GetInvoice
      x-cedar-action: things:GetThing
      x-required-scopes: [things:read]
      x-sandbox: {collection: invoices, behavior: get, id-param: invoiceId}
      parameters:
        - {name: invoiceId, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Invoice"}}}}
"##;
    let parts = r##"  /parts/{partId}:
    get:
      operationId: GetPart
      x-cedar-action: things:GetThing
      x-required-scopes: [things:read]
      x-sandbox: {collection: parts, behavior: get, id-param: partId}
      parameters:
        - {name: partId, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Part"}}}}
"##;
    let head = |collections: &str| {
        format!(
            "openapi: 3.1.0\ninfo: {{title: Invoices, version: \"1\"}}\nx-sandbox-collections:\n{collections}\n"
        )
    };
    let v1_text = format!(
        r#"{}{paths}components:
{THINGS_SECURITY}  schemas:
    Invoice:
      type: object
      properties:
        id: {{type: string}}
        tenant_id: {{type: string}}
        status: {{type: string, enum: [open, paid]}}
        currency: {{type: string}}
        total_cents: {{type: integer}}
        lines:
          type: array
          items:
            type: object
            properties:
              part_id: {{type: string}}
              qty: {{type: integer}}
              price_cents: {{type: integer}}
"#,
        head(&format!(
            "  invoices:\n    resource: Order\n    item-schema: {{$ref: \"#/components/schemas/Invoice\"}}\n{v1}"
        ))
    );
    let money = "{type: object, properties: {amount: {type: string}, currency: {type: string}}}";
    let v2_text = format!(
        r#"{}{paths}{parts}components:
{THINGS_SECURITY}  schemas:
    Invoice:
      type: object
      properties:
        id: {{type: string}}
        tenant_id: {{type: string}}
        status: {{type: string, enum: [open, paid]}}
        total: {money}
        lines:
          type: array
          items:
            type: object
            properties:
              part_id: {{type: string}}
              qty: {{type: integer}}
              price: {money}
    Part:
      type: object
      properties:
        id: {{type: string}}
        tenant_id: {{type: string}}
        cost: {money}
"#,
        head(&format!(
            "  invoices:\n    resource: Order\n    item-schema: {{$ref: \"#/components/schemas/Invoice\"}}\n{v2}  parts:\n    resource: Product\n    shared: true\n    item-schema: {{$ref: \"#/components/schemas/Part\"}}\n"
        ))
    );
    vec![("m/v1.yaml".into(), v1_text), ("m/v2.yaml".into(), v2_text)]
}

const V1_VIEW: &str = r#"    store: invoices
    view:
      currency: {from: total.currency}
      total_cents: {from: total.amount, as: minor-units}
      "lines[].price_cents": {from: "lines[].price.amount", as: minor-units}
"#;

const V2_STORED: &str = r#"    store: invoices
    lookups:
      - {each: lines, by: part_id, collection: parts, set: {price: cost}}
    computed:
      total.amount: {sum-of: lines, multiply: [qty, price.amount], scale: 2}
      total.currency: {shared-by: lines, field: price.currency}
"#;

fn check_invoices(v1: &str, v2: &str) -> Result<ApiCatalog, String> {
    let catalog = ApiCatalog::from_sources(invoices_models(v1, v2)).map_err(|e| e.to_string())?;
    catalog.check(&things_schema()).map_err(|e| e.to_string())?;
    Ok(catalog)
}

#[test]
fn a_second_model_can_share_a_store_between_versions() {
    let catalog = check_invoices(V1_VIEW, V2_STORED).unwrap();
    let (_, v1) = op(&catalog, "v1", "GetInvoice");
    let (_, v2) = op(&catalog, "v2", "GetInvoice");
    let (v1, v2) = (v1.sandbox.as_ref().unwrap(), v2.sandbox.as_ref().unwrap());
    assert_eq!(v1.storage, v2.storage);
    assert_eq!(v1.storage.name, "invoices");
    assert_eq!(v1.view.as_ref().unwrap().len(), 3);
    // Shared-by runs before the sum whatever the order in the file.
    let targets: Vec<&str> = v2
        .storage
        .computed
        .iter()
        .map(|c| c.target.as_str())
        .collect();
    assert_eq!(targets, ["total.currency", "total.amount"]);
    // Without the new keys, each version keeps its own collection (as the library model).
    let catalog = check_invoices(
        "",
        "    computed: {total.amount: {sum-of: lines, multiply: [qty, price.amount]}}\n",
    )
    .unwrap();
    let (_, v1) = op(&catalog, "v1", "GetInvoice");
    let storage = &v1.sandbox.as_ref().unwrap().storage;
    assert_eq!(
        (storage.name.as_str(), storage.version.as_str()),
        ("invoices", "v1")
    );
    assert!(!storage.is_cross_version());
}

#[test]
fn bad_stores_views_computed_fields_and_lookups_are_refused_at_start_up() {
    let replace = |text: &str, from: &str, to: &str| {
        assert!(text.contains(from), "{from}");
        text.replace(from, to)
    };
    let cases: Vec<(String, String, &str)> = vec![
        (
            replace(
                V1_VIEW,
                "currency: {from: total.currency}",
                "nope: {from: total.currency}",
            ),
            V2_STORED.into(),
            "view nope: not a field of this version's item",
        ),
        (
            replace(V1_VIEW, "{from: total.currency}", "{from: total.curency}"),
            V2_STORED.into(),
            "view currency: from total.curency is not a field of the stored item",
        ),
        (
            replace(V1_VIEW, "      currency: {from: total.currency}\n", ""),
            V2_STORED.into(),
            "field currency of this version's item is not in the stored item: map it in view",
        ),
        (
            replace(
                V1_VIEW,
                "{from: total.currency}",
                "{from: total.amount, as: minor-units}",
            ),
            V2_STORED.into(),
            "view currency: as minor-units needs an integer field",
        ),
        (
            replace(V1_VIEW, "\"lines[].price.amount\"", "total.amount"),
            V2_STORED.into(),
            "must go through the same arrays",
        ),
        (
            replace(
                V1_VIEW,
                "as: minor-units}\n      \"lines",
                "as: cents}\n      \"lines",
            ),
            V2_STORED.into(),
            "as \"cents\" is not a conversion",
        ),
        (
            "    store: invoices\n".into(),
            V2_STORED.into(),
            "declare no view",
        ),
        (
            replace(V1_VIEW, "    store: invoices\n", ""),
            V2_STORED.into(),
            "view needs store",
        ),
        (
            V1_VIEW.into(),
            replace(V2_STORED, "price.amount]", "price.amt]"),
            "computed total.amount: multiply price.amt is not a field of lines[]",
        ),
        (
            V1_VIEW.into(),
            replace(V2_STORED, "field: price.currency", "field: currency"),
            "computed total.currency: field currency is not a field of lines[]",
        ),
        (
            V1_VIEW.into(),
            replace(V2_STORED, "total.amount: {sum", "total.sum: {sum"),
            "computed total.sum is not a field of the stored item",
        ),
        (
            V1_VIEW.into(),
            replace(V2_STORED, "collection: parts", "collection: pieces"),
            "collection pieces is not an x-sandbox collection of this version",
        ),
        (
            V1_VIEW.into(),
            replace(V2_STORED, "set: {price: cost}", "set: {price: costs}"),
            "costs is not a field of a stored item of parts",
        ),
        (
            format!("{V1_VIEW}    computed: {{total_cents: {{sum-of: lines, multiply: [qty]}}}}\n"),
            V2_STORED.into(),
            "declare them in v2",
        ),
    ];
    for (v1, v2, expected) in cases {
        let error = check_invoices(&v1, &v2).err().unwrap_or_else(|| {
            panic!("accepted:\n{v1}\n{v2}");
        });
        assert!(
            error.contains(expected),
            "expected {expected:?} in:\n{error}"
        );
        assert!(
            error.contains("operation GetInvoice") || error.contains("x-sandbox"),
            "{error}"
        );
    }
}

// ---- seed-values -----------------------------------------------------------------------------

#[test]
fn the_shipped_catalogue_has_one_seed_currency_in_every_version() {
    let catalog = shipped();
    for version in ["v1", "v2"] {
        let (_, get) = op(&catalog, version, "GetProduct");
        let storage = &get.sandbox.as_ref().unwrap().storage;
        assert_eq!(storage.seed_values.len(), 1, "{version}");
        assert_eq!(storage.seed_values[0].path.as_str(), "price.currency");
        assert_eq!(storage.seed_values[0].value, json!("EUR"));
    }
    // Seed orders run the order lookups against the catalogue, whose storage is linked.
    let (_, list) = op(&catalog, "v2", "ListOrders");
    let storage = &list.sandbox.as_ref().unwrap().storage;
    assert_eq!(storage.lookups.len(), 1);
    assert_eq!(storage.lookups[0].target.name, "commercial-products");
    assert_eq!(storage.lookups[0].target.seed_values.len(), 1);
}

#[test]
fn good_seed_values_are_parsed_into_the_store() {
    let v2 = format!(
        "{V2_STORED}    seed-values:\n      \"lines[].price.currency\": EUR\n      status: open\n      total: {{amount: \"0.00\", currency: EUR}}\n"
    );
    let catalog = check_invoices(V1_VIEW, &v2).unwrap();
    let (_, v1) = op(&catalog, "v1", "GetInvoice");
    let (_, v2) = op(&catalog, "v2", "GetInvoice");
    let (v1, v2) = (v1.sandbox.as_ref().unwrap(), v2.sandbox.as_ref().unwrap());
    // The stored shape's seed values, seen by both versions.
    assert_eq!(v1.storage, v2.storage);
    let values: Vec<(&str, Value)> = v2
        .storage
        .seed_values
        .iter()
        .map(|seed| (seed.path.as_str(), seed.value.clone()))
        .collect();
    assert_eq!(
        values,
        [
            ("lines[].price.currency", json!("EUR")),
            ("status", json!("open")),
            ("total", json!({"amount": "0.00", "currency": "EUR"})),
        ]
    );
}

#[test]
fn bad_seed_values_are_refused_at_start_up() {
    let with = |values: &str| format!("{V2_STORED}    seed-values: {{{values}}}\n");
    let cases: Vec<(String, String, &str)> = vec![
        (
            V1_VIEW.into(),
            with("total.curency: EUR"),
            "collection invoices: seed-values total.curency is not a field of the stored item",
        ),
        (
            V1_VIEW.into(),
            with("\"lines.qty\": 1"),
            "collection invoices: seed-values lines.qty is not a field of the stored item",
        ),
        (
            V1_VIEW.into(),
            with("\"lines[].qty\": many"),
            "collection invoices: seed-values lines[].qty: the schema refuses \"many\"",
        ),
        (
            V1_VIEW.into(),
            with("status: archived"),
            "collection invoices: seed-values status: the schema refuses \"archived\"",
        ),
        (
            V1_VIEW.into(),
            with("id: inv_1"),
            "seed-values id: the id and tenant fields are set by the sandbox",
        ),
        (
            V1_VIEW.into(),
            with("\"total..amount\": \"1.00\""),
            "seed-values: field path \"total..amount\"",
        ),
        (
            format!("{V1_VIEW}    seed-values: {{currency: EUR}}\n"),
            V2_STORED.into(),
            "computed, lookups, seed-values and seed-ids describe the stored shape; declare them in v2",
        ),
    ];
    for (v1, v2, expected) in cases {
        let error = check_invoices(&v1, &v2).err().unwrap_or_else(|| {
            panic!("accepted:\n{v1}\n{v2}");
        });
        assert!(
            error.contains(expected),
            "expected {expected:?} in:\n{error}"
        );
        // The file and the operation standing for the collection are named.
        assert!(error.contains("m/v"), "{error}");
        assert!(error.contains("operation GetInvoice"), "{error}");
    }
}

// ---- seed-ids --------------------------------------------------------------------------------

#[test]
fn the_shipped_seed_ids_are_the_ids_the_examples_name() {
    let catalog = shipped();
    for version in ["v1", "v2"] {
        let ids = |operation: &str| -> Vec<String> {
            let (_, op) = op(&catalog, version, operation);
            let storage = &op.sandbox.as_ref().unwrap().storage;
            storage
                .seed_ids
                .iter()
                .map(|seed| seed.id.clone())
                .collect()
        };
        assert_eq!(
            ids("GetOrder"),
            ["ord_01jd8x5v7k2m3n4p5q6r7s8t9v"],
            "{version}"
        );
        assert_eq!(
            ids("GetProduct"),
            [
                "prd_01jd8x5v7k2m3n4p5q6r7s8t9v",
                "prd_01jd8x5v7k2m3n4p5q6r7s8t9w"
            ],
            "{version}"
        );
        assert_eq!(ids("DeleteAccount"), ["usr_01jd8x5v7k2m3n4p5q6r7s8t9v"]);
        assert!(ids("ListPackages").is_empty());
        // The example order can be cancelled: it is pending.
        let (_, get) = op(&catalog, version, "GetOrder");
        let storage = &get.sandbox.as_ref().unwrap().storage;
        assert!(storage.is_seed_id("ord_01jd8x5v7k2m3n4p5q6r7s8t9v"));
        let values = &storage.seed_ids[0].values;
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].path.as_str(), "status");
        assert_eq!(values[0].value, json!("pending"));
    }
}

#[test]
fn good_seed_ids_are_parsed_into_the_store() {
    let v2 = format!(
        "{V2_STORED}    seed-ids:\n      - inv_first\n      - {{id: inv_second, values: {{status: paid, \"lines[].qty\": 2}}}}\n"
    );
    let catalog = check_invoices(V1_VIEW, &v2).unwrap();
    let (_, v1) = op(&catalog, "v1", "GetInvoice");
    let (_, v2) = op(&catalog, "v2", "GetInvoice");
    let (v1, v2) = (v1.sandbox.as_ref().unwrap(), v2.sandbox.as_ref().unwrap());
    assert_eq!(v1.storage, v2.storage);
    let ids: Vec<&str> = v2.storage.seed_ids.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["inv_first", "inv_second"]);
    assert!(v2.storage.seed_ids[0].values.is_empty());
    let values: Vec<(&str, Value)> = v2.storage.seed_ids[1]
        .values
        .iter()
        .map(|seed| (seed.path.as_str(), seed.value.clone()))
        .collect();
    assert_eq!(
        values,
        [("lines[].qty", json!(2)), ("status", json!("paid"))]
    );
    // The last two of the ten seed items.
    assert_eq!(v2.storage.seed_id_at(7), None);
    assert_eq!(v2.storage.seed_id_at(8).unwrap().id, "inv_first");
    assert_eq!(v2.storage.seed_id_at(9).unwrap().id, "inv_second");
    assert_eq!(v2.storage.seed_id_at(10), None);
}

#[test]
fn bad_seed_ids_are_refused_at_start_up() {
    let with = |ids: &str| format!("{V2_STORED}    seed-ids: {ids}\n");
    let eleven: Vec<String> = (0..11).map(|i| format!("inv_{i}")).collect();
    let cases: Vec<(String, String, &str)> = vec![
        (
            V1_VIEW.into(),
            with("[inv_a, inv_b, inv_a]"),
            "collection invoices: seed-ids: inv_a is listed twice",
        ),
        (
            V1_VIEW.into(),
            with("[ord_1]"),
            "collection invoices: seed-ids: ord_1 does not look like an id of the collection (inv_…)",
        ),
        (
            V1_VIEW.into(),
            with("[inv_]"),
            "seed-ids: inv_ does not look like an id",
        ),
        (
            V1_VIEW.into(),
            with(&format!("[{}]", eleven.join(", "))),
            "collection invoices: seed-ids: 11 ids for 10 seed items (seed-count)",
        ),
        (
            V1_VIEW.into(),
            with("[{id: inv_a, values: {status: archived}}]"),
            "collection invoices: seed-ids inv_a: values status: the schema refuses \"archived\"",
        ),
        (
            V1_VIEW.into(),
            with("[{id: inv_a, values: {total.curency: EUR}}]"),
            "seed-ids inv_a: values total.curency is not a field of the stored item",
        ),
        (
            V1_VIEW.into(),
            with("[{id: inv_a, values: {tenant_id: other}}]"),
            "seed-ids inv_a: values tenant_id: the id and tenant fields are set by the sandbox",
        ),
        (
            V1_VIEW.into(),
            with("[{id: inv_a, value: {status: paid}}]"),
            "seed-ids inv_a: unknown key \"value\" (only id and values)",
        ),
        (
            V1_VIEW.into(),
            with("[{values: {status: paid}}]"),
            "seed-ids: an entry is an id, or a map {id: <id>, values:",
        ),
        (
            V1_VIEW.into(),
            with("[7]"),
            "seed-ids: 7 is neither an id nor a map",
        ),
        (
            V1_VIEW.into(),
            with("[{id: inv_a, values: [status]}]"),
            "seed-ids inv_a: values must be a map",
        ),
        (
            format!("{V1_VIEW}    seed-ids: [inv_a]\n"),
            V2_STORED.into(),
            "computed, lookups, seed-values and seed-ids describe the stored shape; declare them in v2",
        ),
    ];
    for (v1, v2, expected) in cases {
        let error = check_invoices(&v1, &v2).err().unwrap_or_else(|| {
            panic!("accepted:\n{v1}\n{v2}");
        });
        assert!(
            error.contains(expected),
            "expected {expected:?} in:\n{error}"
        );
        assert!(error.contains("m/v"), "{error}");
        assert!(error.contains("operation GetInvoice"), "{error}");
    }
}

#[test]
fn a_seed_id_the_id_schema_refuses_stops_the_shipped_models() {
    let authorizer = Authorizer::embedded().unwrap();
    let sources: Vec<(String, String)> = shipped_sources()
        .into_iter()
        .map(|(file, text)| {
            let text = if file.ends_with("v2.yaml") {
                assert!(text.contains("id: prd_01jd8x5v7k2m3n4p5q6r7s8t9w,"));
                text.replace("id: prd_01jd8x5v7k2m3n4p5q6r7s8t9w,", "id: prd_TOO_SHORT,")
            } else {
                text
            };
            (file, text)
        })
        .collect();
    let error = ApiCatalog::from_sources(sources)
        .unwrap()
        .check(authorizer.schema_facts())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("content/api/v2.yaml")
            && error
                .contains("collection products: seed-ids: the schema of id refuses prd_TOO_SHORT"),
        "{error}"
    );
}

#[test]
fn lookups_that_lead_back_to_their_collection_are_refused() {
    let v2 = V2_STORED.replace("collection: parts", "collection: invoices");
    let v2 = v2.replace("set: {price: cost}", "set: {price: total}");
    let error = check_invoices(V1_VIEW, &v2).err().unwrap();
    assert!(
        error.contains("leads back to invoices through lookups"),
        "{error}"
    );
}

#[test]
fn the_model_serves_paths_under_its_versions_only() {
    let catalog = shipped();
    for path in [
        "/v2/commercial/orders",
        "/v1/anything",
        "/v0/commercial/orders",
        "/v2/",
    ] {
        assert!(catalog.serves_path(path), "{path}");
    }
    for path in [
        "/v2",
        "/v9/commercial/orders",
        "/oauth2/token",
        "/openapi/v2.json",
        "/healthz",
        "v2/commercial/orders",
        "",
        "/",
    ] {
        assert!(!catalog.serves_path(path), "{path}");
    }
}

// ---- Webhook events ----------------------------------------------------------------------

#[test]
fn the_shipped_models_declare_the_order_events_their_writes_emit() {
    let catalog = shipped();
    assert_eq!(
        catalog.event_types(),
        ["order.cancelled", "order.created", "order.updated"]
    );
    let v2 = catalog.version("v2").unwrap();
    let emits = |id: &str| {
        v2.operations
            .iter()
            .find(|o| o.operation_id == id)
            .and_then(|o| o.sandbox.as_ref())
            .map(|b| b.emits.clone())
            .unwrap()
    };
    assert_eq!(emits("CreateOrder"), ["order.created"]);
    assert_eq!(emits("CancelOrder"), ["order.cancelled", "order.updated"]);
    assert!(emits("GetOrder").is_empty());
    let created = v2
        .webhooks
        .iter()
        .find(|w| w.name == "order.created")
        .unwrap();
    assert_eq!(created.summary, "An order was created");
    assert_eq!(
        created.payload_schema["required"],
        json!(["type", "timestamp", "data"])
    );
}

#[test]
fn an_emitted_event_must_be_declared_and_only_writes_emit() {
    let v2 = &shipped_sources()[2].1;
    let undeclared = v2.replace("emits: [order.created]", "emits: [order.shipped]");
    let message = ApiCatalog::from_sources(vec![("v2.yaml".into(), undeclared)])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("CreateOrder: x-sandbox emits order.shipped, which the webhooks section does not declare"),
        "{message}"
    );
    let on_a_read = v2.replacen(
        "        behavior: get\n",
        "        behavior: get\n        emits: [order.created]\n",
        1,
    );
    // Problems of one operation are reported by the check against the policies.
    let authorizer = Authorizer::embedded().unwrap();
    let message = ApiCatalog::from_sources(vec![("v2.yaml".into(), on_a_read)])
        .unwrap()
        .check(authorizer.schema_facts())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("emits only applies to behaviors create and cancel"),
        "{message}"
    );
    let bad_name = v2.replace("  order.updated:\n    post:", "  Order Updated:\n    post:");
    let message = ApiCatalog::from_sources(vec![("v2.yaml".into(), bad_name)])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("event names are lower-case words"),
        "{message}"
    );
}
