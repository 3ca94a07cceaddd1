//! The generated package checked by Python itself: the wheel's RECORD, the package importing
//! and passing `mypy --strict` (on the Portico models and on an unrelated one), the runtime's
//! behaviour against a fake HTTP adapter, and the docs samples type-checking.

use super::*;
use crate::model::Api;
use crate::{Package, SampleCall, Targets};
use flate2::read::DeflateDecoder;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn model(file: &str) -> Value {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_yaml::from_str(&text).unwrap()
}

fn v2() -> Value {
    model(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../content/api/v2.yaml"
    ))
}

fn v1() -> Value {
    model(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../content/api/v1.yaml"
    ))
}

/// The unrelated model: the TypeScript helper's Lending Library fixture, or ours.
fn library() -> Value {
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/library.yaml");
    let own = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/library_py.yaml"
    );
    if Path::new(shared).exists() {
        model(shared)
    } else {
        model(own)
    }
}

fn targets(production: bool) -> Targets {
    Targets {
        sandbox_url: "http://sandbox.test/".into(),
        production_url: production.then(|| "https://api.partner.test".into()),
        portal_url: "http://portal.test".into(),
        audience: "portico-api".into(),
    }
}

fn build(version: &str, document: &Value) -> (Api, Package) {
    let api = Api::from_openapi(version, document).unwrap();
    let package = package(&api, &targets(true), "ab12").unwrap();
    (api, package)
}

/// The entries of a zip written by `archive::zip` (local headers, deflate).
fn unzip(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut entries = Vec::new();
    let mut at = 0;
    while zip[at..].starts_with(&0x0403_4b50u32.to_le_bytes()) {
        let field = |o: usize| u32::from_le_bytes(zip[at + o..at + o + 4].try_into().unwrap());
        let compressed = field(18) as usize;
        let name_len = u16::from_le_bytes([zip[at + 26], zip[at + 27]]) as usize;
        let extra_len = u16::from_le_bytes([zip[at + 28], zip[at + 29]]) as usize;
        let name = String::from_utf8(zip[at + 30..at + 30 + name_len].to_vec()).unwrap();
        let start = at + 30 + name_len + extra_len;
        let mut bytes = Vec::new();
        DeflateDecoder::new(&zip[start..start + compressed])
            .read_to_end(&mut bytes)
            .unwrap();
        entries.push((name, bytes));
        at = start + compressed;
    }
    entries
}

fn python() -> &'static str {
    if Command::new("python3").arg("--version").output().is_err() {
        panic!("python3 is needed for the Python SDK tests: install python3 (3.9+)");
    }
    let mypy = Command::new("python3")
        .args(["-m", "mypy", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let requests = Command::new("python3")
        .args(["-c", "import requests, requests.adapters"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        mypy && requests,
        "the Python SDK tests need mypy and requests: python3 -m pip install mypy types-requests requests"
    );
    "python3"
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}

/// The wheel's files written under a new directory (the package importable from it).
fn install(package: &Package) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in unzip(&package.artifacts[0].bytes) {
        let path = dir.path().join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    if let Ok(keep) = std::env::var("PORTICO_SDK_PY_KEEP") {
        let _ = std::fs::remove_dir_all(&keep);
        run(Command::new("cp").args(["-r"]).arg(dir.path()).arg(&keep));
    }
    let root = dir.path().to_path_buf();
    (dir, root)
}

fn mypy(root: &Path, files: &[&str]) -> String {
    run(Command::new(python())
        .current_dir(root)
        .args([
            "-m",
            "mypy",
            "--strict",
            "--python-version",
            "3.10",
            "--no-incremental",
        ])
        .args(files))
}

#[test]
fn the_v2_package_is_named_from_the_model_and_its_record_matches_its_files() {
    let (_, package) = build("v2", &v2());
    assert_eq!(package.name, "portico-commercial");
    assert_eq!(package.import_name, "portico_commercial");
    assert_eq!(package.client_class, "PorticoCommercialClient");
    assert_eq!(package.version, "2.0.0");
    let names: Vec<&str> = package
        .artifacts
        .iter()
        .map(|a| a.file_name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "portico_commercial-2.0.0-py3-none-any.whl",
            "portico_commercial-2.0.0.tar.gz"
        ]
    );
    assert_eq!(package.artifacts[0].media_type, "application/zip");
    assert_eq!(package.artifacts[1].media_type, "application/gzip");

    let entries = unzip(&package.artifacts[0].bytes);
    let file = |name: &str| -> String {
        let (_, bytes) = entries
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name} in the wheel"));
        String::from_utf8(bytes.clone()).unwrap()
    };
    let record = file("portico_commercial-2.0.0.dist-info/RECORD");
    let lines: Vec<&str> = record.lines().collect();
    assert_eq!(lines.len(), entries.len());
    for (name, bytes) in &entries {
        let line = lines
            .iter()
            .find(|l| l.split(',').next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("{name} is not in RECORD"));
        if name.ends_with("/RECORD") {
            assert_eq!(*line, format!("{name},,"));
        } else {
            let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
            assert_eq!(*line, format!("{name},sha256={hash},{}", bytes.len()));
        }
    }
    for expected in [
        "portico_commercial/__init__.py",
        "portico_commercial/_runtime.py",
        "portico_commercial/py.typed",
        "portico_commercial/types.py",
        "portico_commercial/errors.py",
    ] {
        assert!(entries.iter().any(|(n, _)| n == expected), "{expected}");
    }
    let metadata = file("portico_commercial-2.0.0.dist-info/METADATA");
    for line in [
        "Metadata-Version: 2.1",
        "Name: portico-commercial",
        "Version: 2.0.0",
        "Requires-Python: >=3.9",
        "Requires-Dist: requests>=2.28",
        "Provides-Extra: webhooks",
        "Requires-Dist: standardwebhooks>=1.0; extra == \"webhooks\"",
    ] {
        assert!(metadata.lines().any(|l| l == line), "{line} in\n{metadata}");
    }
    assert!(metadata.contains(
        "pip install http://portal.test/sdk/python/v2/portico_commercial-2.0.0-py3-none-any.whl"
    ));
    let wheel = file("portico_commercial-2.0.0.dist-info/WHEEL");
    assert!(wheel.contains("Root-Is-Purelib: true\nTag: py3-none-any\n"));
    // The runtime knows what to tell a partner to install.
    assert!(
        file("portico_commercial/_runtime.py").contains("_DISTRIBUTION = \"portico-commercial\"")
    );
    // Deterministic: the same model gives the same bytes.
    let (_, again) = build("v2", &v2());
    assert_eq!(again.artifacts, package.artifacts);
}

#[test]
fn the_sdist_holds_pyproject_pkg_info_and_the_sources() {
    let (_, package) = build("v2", &v2());
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&package.artifacts[1].bytes[..])
        .read_to_end(&mut tar)
        .unwrap();
    let mut names = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let name = String::from_utf8_lossy(&tar[at..at + 100])
            .trim_end_matches('\0')
            .to_owned();
        let size_text = String::from_utf8_lossy(&tar[at + 124..at + 135]).to_string();
        let size = usize::from_str_radix(size_text.trim_matches('\0').trim(), 8).unwrap();
        names.push(name);
        at += 512 + size.div_ceil(512) * 512;
    }
    for expected in [
        "portico_commercial-2.0.0/PKG-INFO",
        "portico_commercial-2.0.0/pyproject.toml",
        "portico_commercial-2.0.0/README.md",
        "portico_commercial-2.0.0/portico_commercial/__init__.py",
        "portico_commercial-2.0.0/portico_commercial/_runtime.py",
        "portico_commercial-2.0.0/portico_commercial/py.typed",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
}

/// A consumer of the v2 package that mypy checks: the documented names exist, with their types.
const V2_CONSUMER: &str = r#"
from typing import Iterator, List, Optional

from portico_commercial import (
    API_VERSION,
    ENVIRONMENTS,
    MODEL_SHA256,
    ApiError,
    AuthenticationError,
    ConflictException,
    FieldError,
    ForbiddenException,
    NotFoundException,
    Order,
    OrderPage,
    OrderStatus,
    PorticoCommercialClient,
    ThrottlingException,
    ValidationException,
    WebhookVerificationError,
    __version__,
    verify_webhook,
)


def use(client: PorticoCommercialClient) -> None:
    page: OrderPage = client.list_orders(status="pending", cursor=None, limit=2)
    orders: List[Order] = page["data"]
    cursor: Optional[str] = page["next_cursor"]
    every: Iterator[Order] = client.paginate_list_orders(status="pending", limit=10)
    order: Order = client.create_order(
        body={"customer_reference": "PO-1", "items": [{"product_id": "prd_x", "quantity": 2}]},
        idempotency_key="key-1",
    )
    same: Order = client.get_order(order["id"])
    status: OrderStatus = same["status"]
    client.cancel_order(order_id=order["id"])
    client.delete_account("usr_x")
    try:
        client.get_product("prd_x")
    except ValidationException as error:
        problems: List[FieldError] = error.field_errors
        print(problems[0]["path"], error.status, error.request_id, error.type)
    except ThrottlingException as error:
        wait: Optional[float] = error.retry_after
    except (NotFoundException, ForbiddenException, ConflictException, AuthenticationError):
        pass
    except ApiError as error:
        print(error.body, error.headers.get("x-request-id"))
    print(orders, cursor, every, status, API_VERSION, MODEL_SHA256, __version__)
    print(ENVIRONMENTS["sandbox"].base_url, WebhookVerificationError, verify_webhook)
"#;

#[test]
fn the_v2_package_imports_and_passes_mypy_strict_with_a_consumer() {
    let (_, package) = build("v2", &v2());
    let (_dir, root) = install(&package);
    std::fs::write(root.join("consumer.py"), V2_CONSUMER).unwrap();
    // The Getting started guide's Python SDK snippet, against the package it describes.
    let guide = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../content/docs/getting-started.md"
    ))
    .split("```python\n")
    .skip(1)
    .filter_map(|block| block.split("```").next())
    .find(|code| code.contains("from portico_commercial import"))
    .expect("getting-started.md shows the Python SDK");
    std::fs::write(root.join("getting_started.py"), guide).unwrap();
    mypy(&root, &["-p", "portico_commercial"]);
    mypy(&root, &["consumer.py"]);
    mypy(&root, &["getting_started.py"]);
    let out = run(Command::new(python()).current_dir(&root).args([
        "-c",
        "import portico_commercial as p; print(p.__version__, p.API_VERSION, sorted(p.ENVIRONMENTS), p.PorticoCommercialClient.__name__)",
    ]));
    assert_eq!(
        out.trim(),
        "2.0.0 v2 ['production', 'sandbox'] PorticoCommercialClient"
    );
}

#[test]
fn the_v1_package_pages_by_number_and_passes_mypy_strict() {
    let (api, package) = build("v1", &v1());
    assert_eq!(package.version, api.package_version());
    let (_dir, root) = install(&package);
    mypy(&root, &["-p", &package.import_name]);
    std::fs::write(
        root.join("consumer.py"),
        format!(
            "from typing import Iterator\n\nfrom {} import Order, {client}\n\n\n\
             def use(client: {client}) -> None:\n    \
             orders: Iterator[Order] = client.paginate_list_orders(per_page=5)\n    \
             print(client.list_orders(page=2, per_page=5)[\"total\"], orders)\n",
            package.import_name,
            client = package.client_class
        ),
    )
    .unwrap();
    mypy(&root, &["consumer.py"]);
}

/// An operation's example path parameters, query parameters and body.
type ExampleCall = (Vec<(String, String)>, Vec<(String, String)>, Option<Value>);

/// The example values of every operation of a model, as the docs take them.
fn example_call(document: &Value, op: &crate::model::Operation) -> ExampleCall {
    let raw = &document["paths"][&op.path][op.method.to_lowercase()];
    let resolve = |v: &Value| -> Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => document.pointer(&r[1..]).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let mut path = Vec::new();
    let mut query = Vec::new();
    for p in raw["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(resolve)
    {
        let example = p
            .get("example")
            .or_else(|| p.pointer("/schema/example"))
            .cloned();
        let text = match example {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => continue,
        };
        match p["in"].as_str() {
            Some("path") => path.push((p["name"].as_str().unwrap().to_owned(), text)),
            Some("query") => query.push((p["name"].as_str().unwrap().to_owned(), text)),
            _ => {}
        }
    }
    let content = raw.pointer("/requestBody/content/application~1json");
    let body = content
        .and_then(|c| c.get("examples"))
        .and_then(Value::as_object)
        .and_then(|e| e.values().next())
        .and_then(|e| e.get("value"))
        .or_else(|| content.and_then(|c| c.get("example")))
        .cloned();
    (path, query, body)
}

#[test]
fn every_v2_sample_type_checks_and_calls_its_method() {
    let document = v2();
    let (api, package) = build("v2", &document);
    let (_dir, root) = install(&package);
    let mut files = Vec::new();
    for op in &api.operations {
        let (path, query, body) = example_call(&document, op);
        let headers = vec![("Idempotency-Key".to_owned(), "k".to_owned())];
        let code = sample(
            &api,
            &package,
            op,
            SampleCall {
                path_params: &path,
                query: &query,
                headers: &headers,
                body: body.as_ref(),
            },
        );
        assert!(code.contains("environment=\"sandbox\""), "{code}");
        assert!(
            !code.contains("Idempotency"),
            "the SDK makes the key:\n{code}"
        );
        let file = format!("sample_{}.py", crate::names::snake(&op.id));
        std::fs::write(root.join(&file), &code).unwrap();
        files.push(file);
        match op.id.as_str() {
            "GetOrder" => assert!(
                code.contains("result = client.get_order(\"ord_01jd8x5v7k2m3n4p5q6r7s8t9v\")"),
                "{code}"
            ),
            "DeleteAccount" => assert!(
                code.contains("client.delete_account(") && code.ends_with("print(\"done\")\n"),
                "{code}"
            ),
            "CreateOrder" => assert!(
                code.contains("body={\n        \"customer_reference\": \"PO-2026-0042\","),
                "{code}"
            ),
            _ => {}
        }
    }
    let file_refs: Vec<&str> = files.iter().map(String::as_str).collect();
    mypy(&root, &file_refs);
    std::fs::write(root.join("quick_start.py"), &package.quick_start).unwrap();
    mypy(&root, &["quick_start.py"]);
    assert!(
        package
            .quick_start
            .contains("client.paginate_list_orders()"),
        "{}",
        package.quick_start
    );
    assert!(
        package
            .quick_start
            .contains("except ValidationException as error:")
    );
}

#[test]
fn an_unrelated_model_with_nested_recursive_and_referenced_schemas_imports_and_type_checks() {
    let document = library();
    let api = Api::from_openapi("v3", &document).unwrap();
    let package = package(&api, &targets(false), "cd34").unwrap();
    let (_dir, root) = install(&package);
    let import = &package.import_name;
    mypy(&root, &["-p", import]);
    let types = std::fs::read_to_string(root.join(import).join("types.py")).unwrap();
    let out = run(Command::new(python()).current_dir(&root).args([
        "-c",
        &format!(
            "import typing, {import} as p, {import}.types as t\n\
             print(p.{}.__name__, sorted(p.ENVIRONMENTS))\n\
             for name in dir(t):\n    value = getattr(t, name)\n    \
             if isinstance(value, type) and issubclass(value, dict):\n        \
             typing.get_type_hints(value)\n\
             print('hints ok')",
            package.client_class
        ),
    ]));
    assert!(out.contains("['sandbox']"), "{out}");
    assert!(out.contains("hints ok"), "{out}");
    // Production is not configured: asking for it is a clear error.
    let refused = Command::new(python())
        .current_dir(&root)
        .args([
            "-c",
            &format!(
                "import {import} as p\np.{}('id', 'secret', environment='production')",
                package.client_class
            ),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("no production stage configured"),
        "{stderr}"
    );
    // A consumer: recursive categories, keys that are not identifiers, a keyword method.
    std::fs::write(
        root.join("library_consumer.py"),
        format!(
            "from typing import Iterator, List, Optional\n\n\
             from {import} import Book, Category, Loan, {client}\n\n\n\
             def depth(category: Category) -> int:\n    \
             return 1 + max((depth(child) for child in category[\"children\"]), default=0)\n\n\n\
             def use(client: {client}) -> None:\n    \
             roots: Iterator[Category] = client.paginate_list_categories(limit=10, x_trace_id=\"t\")\n    \
             books: List[Book] = client.list_books(format=\"paperback\", available=True)[\"books\"]\n    \
             rating: float = books[0][\"x-rating\"]\n    \
             subtitle: Optional[str] = books[0].get(\"subtitle\")\n    \
             loan: Loan = client.borrow_book(body={{\"isbn\": \"1\", \"member\": {{\"id\": \"m\"}}}})\n    \
             client.return_(loan[\"id\"], default=\"late\")\n    \
             print([depth(c) for c in roots], rating, subtitle)\n",
            client = package.client_class
        ),
    )
    .unwrap();
    let mut checked = vec!["library_consumer.py".to_owned()];
    for op in &api.operations {
        let (path, query, body) = example_call(&document, op);
        let code = sample(
            &api,
            &package,
            op,
            SampleCall {
                path_params: &path,
                query: &query,
                headers: &[],
                body: body.as_ref(),
            },
        );
        let file = format!("sample_{}.py", crate::names::snake(&op.id));
        std::fs::write(root.join(&file), code).unwrap();
        checked.push(file);
    }
    let checked: Vec<&str> = checked.iter().map(String::as_str).collect();
    mypy(&root, &checked);
    let borrow = std::fs::read_to_string(root.join("sample_borrow_book.py")).unwrap();
    assert!(borrow.contains("\"notes\": None,"), "{borrow}");
    let give_back = std::fs::read_to_string(root.join("sample_return.py")).unwrap();
    assert!(
        give_back.contains("client.return_(\"ln_7\", default=\"late\")"),
        "{give_back}"
    );

    // Every named schema has its type.
    for named in &api.types {
        let python = crate::names::pascal(&named.name);
        assert!(
            types.contains(&format!("class {python}("))
                || types.contains(&format!("\n{python} = ")),
            "{python} missing in types.py:\n{types}"
        );
    }
}

/// The runtime's behaviour, driven through a fake `requests` adapter.
const RUNTIME_CHECK: &str = include_str!("runtime_check.py");

#[test]
fn the_runtime_retries_refreshes_pages_warns_and_types_errors() {
    let (_, package) = build("v2", &v2());
    let (_dir, root) = install(&package);
    std::fs::write(root.join("runtime_check.py"), RUNTIME_CHECK).unwrap();
    mypy(&root, &["runtime_check.py"]);
    let out = run(Command::new(python()).current_dir(&root).args([
        "-W",
        "error::DeprecationWarning",
        "runtime_check.py",
    ]));
    assert!(out.trim_end().ends_with("runtime ok"), "{out}");
}
