//! Property tests of the API-model loader (issue 17: fuzzing without a nightly toolchain).
//! Whatever text the model files hold, [`ApiCatalog::from_sources`] must answer `Ok` or a
//! [`ModelError`] whose every message says something, without panicking and quickly; a
//! catalog it accepts must survive `check`, routing and the OpenAPI export.
//!
//! `PROPTEST_CASES` sets the cases per property (256 by default); `scripts/fuzz.sh` runs
//! them for longer with fresh seeds. The tests in `properties` are the fuzz target.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::http::Method;
use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use serde_json::{Map, Value, json};

use super::{ApiCatalog, ModelError, yaml};

/// The shipped models, as `from_sources` takes them.
const SHIPPED: [(&str, &str); 3] = [
    (
        "content/api/v0.yaml",
        include_str!("../../../content/api/v0.yaml"),
    ),
    (
        "content/api/v1.yaml",
        include_str!("../../../content/api/v1.yaml"),
    ),
    (
        "content/api/v2.yaml",
        include_str!("../../../content/api/v2.yaml"),
    ),
];

/// Loading the three shipped models takes well under a second in a debug build; anything
/// near this bound is a pathological input, not a slow machine.
const TIME_LIMIT: Duration = Duration::from_secs(3);

/// The shipped models as JSON trees (the input of the structured mutations), their prose
/// shortened: it is copied, never interpreted, and parsing it again each case costs time.
static TREES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    fn shorten(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if matches!(key.as_str(), "description" | "summary") && item.is_string() {
                        *item = Value::from("Text.");
                    } else {
                        shorten(item);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(shorten),
            _ => {}
        }
    }
    SHIPPED
        .iter()
        .map(|(file, text)| {
            let mut tree = yaml::to_json(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            shorten(&mut tree);
            tree
        })
        .collect()
});

/// The shipped Cedar schema's actions and entity types: what `check` is given.
static SCHEMA: LazyLock<portico_core::authz::SchemaFacts> = LazyLock::new(|| {
    portico_core::authz::Authorizer::embedded()
        .expect("the shipped policies load")
        .schema_facts()
        .clone()
});

/// The shipped sources.
fn shipped() -> Vec<(String, String)> {
    SHIPPED
        .iter()
        .map(|(file, text)| ((*file).to_owned(), (*text).to_owned()))
        .collect()
}

/// The shipped sources with the one at `index` replaced by `text`; without `others` only
/// that one (loading each file is most of a case's time; v1 alone lacks v2's stores, which
/// `check` reports).
fn shipped_with(index: usize, text: &str, others: bool) -> Vec<(String, String)> {
    let mut sources = shipped();
    sources[index].1 = text.to_owned();
    if !others {
        sources = sources.split_off(index);
        sources.truncate(1);
    }
    sources
}

/// Every message inside the error (a `Problems` list holds several).
fn messages(error: &ModelError) -> Vec<&str> {
    match error {
        ModelError::Read { message, .. }
        | ModelError::Parse { message, .. }
        | ModelError::Ref { message, .. }
        | ModelError::Invalid { message, .. } => vec![message.as_str()],
        ModelError::Problems(list) => list.iter().flat_map(messages).collect(),
    }
}

fn assert_explained(error: &ModelError) -> TestCaseResult {
    let all = messages(error);
    prop_assert!(!all.is_empty(), "an empty list of problems: {error:?}");
    for message in all {
        prop_assert!(!message.trim().is_empty(), "an empty message in {error:?}");
    }
    prop_assert!(!error.to_string().trim().is_empty());
    Ok(())
}

/// Loads `sources` within [`TIME_LIMIT`], then uses what loaded as the gateway would.
fn load(sources: Vec<(String, String)>) -> TestCaseResult {
    let started = Instant::now();
    let outcome = ApiCatalog::from_sources(sources);
    let elapsed = started.elapsed();
    prop_assert!(elapsed < TIME_LIMIT, "loading took {elapsed:?}");
    let catalog = match outcome {
        Ok(catalog) => catalog,
        Err(error) => return assert_explained(&error),
    };
    if let Err(error) = catalog.check(&SCHEMA) {
        assert_explained(&error)?;
    }
    let _ = catalog.event_types();
    for version in catalog.versions() {
        prop_assert!(
            catalog
                .openapi_json(&version.name, "http://127.0.0.1:4000")
                .is_some()
        );
        for op in &version.operations {
            // The template itself (`{orderId}` as a value) and a filled-in path both route.
            let path = format!("/{}{}", version.name, op.path);
            let _ = catalog.route(&op.method, &path);
            let _ = catalog.route(&Method::GET, &format!("{path}/x?y=1"));
        }
    }
    prop_assert!(started.elapsed() < TIME_LIMIT * 2);
    Ok(())
}

/// Fragments of YAML syntax (anchors, aliases, merges, tags, block scalars, flow
/// collections, odd numbers) and of OpenAPI, glued together in any order.
fn yaml_ish() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        6 => proptest::sample::select(vec![
            "openapi: 3.1.0\n", "openapi: 3\n", "info: {title: T, version: '1', x-sunset: 2020-01-01}\n",
            "paths:\n", "  /a/{id}:\n", "  /a/{id}/:\n", "  /{x}/{x}:\n", "    get:\n", "    post:\n",
            "      operationId: X\n", "      parameters:\n", "        - {name: id, in: path, required: true}\n",
            "      requestBody: {content: {application/json: {schema: {type: object}}}}\n",
            "      x-sandbox: {collection: c, resource: Order, behavior: get}\n",
            "      x-required-scopes: [a]\n", "components: {schemas: {A: {$ref: '#/components/schemas/A'}}}\n",
            "$ref: '#/paths'\n", "webhooks: {a.b: {post: {}}}\n",
            "- ", ": ", "{", "}", "[", "]", ", ", "&a ", "*a", "<<: *a\n", "<<: [*a, *a]\n",
            "!!str ", "!!binary ", "!tag ", "'", "\"", "\n", "  ", "    ", "\t", "# c\n", "? ", "|\n",
            ">-\n", "---\n", "...\n", "~", "null", "1e999", "-.inf", ".nan", "0x1F", "0o17",
            "99999999999999999999999", "-9223372036854775809", "2026-02-30", "true", "yes",
            "%YAML 1.2\n", "\u{feff}", "\\", "\r\n",
        ]).prop_map(str::to_owned),
        2 => "[a-z{}/_$#]{1,8}",
        1 => any::<String>(),
    ];
    (
        proptest::bool::ANY,
        proptest::collection::vec(fragment, 0..60),
    )
        .prop_map(|(header, parts)| {
            let body = parts.concat();
            if header {
                format!("openapi: 3.1.0\n{body}")
            } else {
                body
            }
        })
}

/// One step into a JSON tree.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every node's location, parents before children.
fn locations(tree: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(at.clone());
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    at.push(Step::Key(key.clone()));
                    walk(item, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    at.push(Step::Index(index));
                    walk(item, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

fn node_mut<'a>(tree: &'a mut Value, at: &[Step]) -> Option<&'a mut Value> {
    at.iter().try_fold(tree, |node, step| match (node, step) {
        (Value::Object(map), Step::Key(key)) => map.get_mut(key),
        (Value::Array(items), Step::Index(index)) => items.get_mut(*index),
        _ => None,
    })
}

fn node<'a>(tree: &'a Value, at: &[Step]) -> Option<&'a Value> {
    at.iter().try_fold(tree, |node, step| match (node, step) {
        (Value::Object(map), Step::Key(key)) => map.get(key),
        (Value::Array(items), Step::Index(index)) => items.get(*index),
        _ => None,
    })
}

/// The JSON pointer of a location (for `$ref`s).
fn pointer(at: &[Step]) -> String {
    let mut out = String::from("#");
    for step in at {
        out.push('/');
        match step {
            Step::Key(key) => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Step::Index(index) => out.push_str(&index.to_string()),
        }
    }
    out
}

/// A value of another shape: every JSON type, number edges, long text, deep nesting.
fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(1e308)),
        Just(json!(-1e308)),
        Just(json!(-1)),
        Just(json!(0.5)),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(json!("")),
        "\\PC{0,12}".prop_map(Value::from),
        proptest::sample::select(vec![
            "2020-01-01",
            "2999-12-31",
            "{id}",
            "/",
            "#/",
            "get",
            "Order",
            "list",
            "x-sandbox",
            "^ord_[0-9a-z]{26}$",
            "(a|b",
            "a{99999}",
            "object",
            "array",
        ])
        .prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        (1_usize..300).prop_map(|depth| nested(depth, false)),
        (1_usize..300).prop_map(|depth| nested(depth, true)),
        (1_usize..20_000).prop_map(|len| Value::from("x".repeat(len))),
    ]
}

/// `depth` arrays (or `items` schemas) inside each other.
fn nested(depth: usize, schemas: bool) -> Value {
    (0..depth).fold(json!("leaf"), |inner, _| {
        if schemas {
            json!({"type": "array", "items": inner})
        } else {
            json!([inner])
        }
    })
}

/// A variant of a map key: trailing slash, renamed template parameter, other case, …
fn key_variant(key: &str, pick: u8) -> String {
    match pick % 6 {
        0 => format!("{key}/"),
        1 => key.replace('{', "{x"),
        2 => key.to_uppercase(),
        3 => format!("{key}/{{extra}}"),
        4 => format!("{key}2"),
        _ => String::new(),
    }
}

/// One structural edit of a model tree; `at` / `from` pick nodes (modulo their count).
#[derive(Clone, Debug)]
enum Edit {
    /// Remove the key or array element.
    Delete { at: usize },
    /// Replace the node with a value of another shape.
    Replace { at: usize, with: Value },
    /// Replace the node with a copy of another node of the document.
    Transplant { at: usize, from: usize },
    /// Copy a map entry under a variant of its key (duplicated paths and operations).
    Duplicate { at: usize, variant: u8 },
    /// Rename a map key to a variant.
    Rename { at: usize, variant: u8 },
    /// Make the node a `$ref` to another node (maybe an ancestor: a cycle).
    Ref { at: usize, to: usize },
    /// Make the node the head of a chain of `length` `$ref`s.
    RefChain { at: usize, length: usize },
    /// Make the node `levels` of `allOf: [$ref next, $ref next]`: 2^levels values inlined.
    RefBomb { at: usize, levels: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        3 => at.prop_map(|at| Edit::Delete { at }),
        4 => (at, odd_value()).prop_map(|(at, with)| Edit::Replace { at, with }),
        2 => (at, any::<usize>()).prop_map(|(at, from)| Edit::Transplant { at, from }),
        2 => (at, any::<u8>()).prop_map(|(at, variant)| Edit::Duplicate { at, variant }),
        1 => (at, any::<u8>()).prop_map(|(at, variant)| Edit::Rename { at, variant }),
        1 => (at, any::<usize>()).prop_map(|(at, to)| Edit::Ref { at, to }),
        1 => (at, 1_usize..200).prop_map(|(at, length)| Edit::RefChain { at, length }),
        1 => (at, 1_usize..11).prop_map(|(at, levels)| Edit::RefBomb { at, levels }),
    ]
}

fn apply(tree: &mut Value, edit: &Edit) {
    let all = locations(tree);
    let pick = |i: usize| all[i % all.len()].clone();
    match edit {
        Edit::Delete { at } => {
            let at = pick(*at);
            let Some((last, parent)) = at.split_last() else {
                return;
            };
            match (node_mut(tree, parent), last) {
                (Some(Value::Object(map)), Step::Key(key)) => {
                    map.remove(key);
                }
                (Some(Value::Array(items)), Step::Index(index)) if *index < items.len() => {
                    items.remove(*index);
                }
                _ => {}
            }
        }
        Edit::Replace { at, with } => {
            if let Some(node) = node_mut(tree, &pick(*at)) {
                *node = with.clone();
            }
        }
        Edit::Transplant { at, from } => {
            let copy = node(tree, &pick(*from)).cloned();
            if let (Some(copy), Some(node)) = (copy, node_mut(tree, &pick(*at))) {
                *node = copy;
            }
        }
        Edit::Duplicate { at, variant } | Edit::Rename { at, variant } => {
            let at = pick(*at);
            let Some((Step::Key(key), parent)) = at.split_last() else {
                return;
            };
            let Some(Value::Object(map)) = node_mut(tree, parent) else {
                return;
            };
            let value = if matches!(edit, Edit::Rename { .. }) {
                map.remove(key)
            } else {
                map.get(key).cloned()
            };
            if let Some(value) = value {
                map.insert(key_variant(key, *variant), value);
            }
        }
        Edit::Ref { at, to } => {
            let target = pointer(&pick(*to));
            if let Some(node) = node_mut(tree, &pick(*at)) {
                *node = json!({ "$ref": target });
            }
        }
        Edit::RefChain { at, length } => {
            let Value::Object(root) = tree else {
                return;
            };
            let mut chain = Map::new();
            for i in 0..*length {
                chain.insert(
                    format!("c{i}"),
                    json!({ "$ref": format!("#/x-chain/c{}", i + 1) }),
                );
            }
            chain.insert(format!("c{length}"), json!({"type": "string"}));
            root.insert("x-chain".into(), Value::Object(chain));
            if let Some(node) = node_mut(tree, &pick(*at)) {
                *node = json!({ "$ref": "#/x-chain/c0" });
            }
        }
        Edit::RefBomb { at, levels } => {
            let Value::Object(root) = tree else {
                return;
            };
            let mut bomb = Map::new();
            for i in 0..*levels {
                let next = json!({ "$ref": format!("#/x-bomb/b{}", i + 1) });
                bomb.insert(format!("b{i}"), json!({ "allOf": [next, next] }));
            }
            bomb.insert(format!("b{levels}"), json!({"type": "string"}));
            root.insert("x-bomb".into(), Value::Object(bomb));
            if let Some(node) = node_mut(tree, &pick(*at)) {
                *node = json!({ "$ref": "#/x-bomb/b0" });
            }
        }
    }
}

mod properties {
    use super::*;

    proptest! {
        /// YAML-ish text of any shape, under valid and invalid file names, alone or next to
        /// the shipped models.
        #[test]
        fn arbitrary_yaml_is_loaded_or_explained(
            text in yaml_ish(),
            name in proptest::sample::select(vec![
                "v1.yaml", "v9.yml", "v10.json", "beta_2.yaml", "V1.yaml", "", ".yaml",
                "v1", "dir/v3.yaml", "v 1.yaml", "v1.yaml.yaml",
            ]),
            with_shipped in proptest::bool::weighted(0.2),
        ) {
            let mut sources = if with_shipped { shipped() } else { Vec::new() };
            sources.push((name.to_owned(), text));
            load(sources)?;
        }

        /// The shipped models with one to four structural edits (keys deleted, scalars of
        /// another type, huge numbers, deep nesting, duplicated and renamed paths, `$ref`
        /// cycles and chains), written back as YAML or JSON.
        #[test]
        fn edited_shipped_models_are_loaded_or_explained(
            file in 0_usize..3,
            keep in proptest::option::weighted(0.7, proptest::collection::vec(any::<usize>(), 1..4)),
            edits in proptest::collection::vec(edit(), 1..5),
            as_yaml in any::<bool>(),
            others in proptest::bool::weighted(0.1),
        ) {
            let mut tree = TREES[file].clone();
            // Mostly a few of the paths only: each case costs what the document's size does,
            // and the edits then hit the operations' parts more often.
            if let (Some(keep), Some(Value::Object(paths))) = (keep, tree.get_mut("paths")) {
                let names: Vec<String> = paths.keys().cloned().collect();
                if !names.is_empty() {
                    let kept: Vec<&String> = keep.iter().map(|i| &names[i % names.len()]).collect();
                    paths.retain(|name, _| kept.contains(&name));
                }
            }
            for edit in &edits {
                apply(&mut tree, edit);
            }
            let text = if as_yaml {
                serde_yaml::to_string(&tree).map_err(|e| TestCaseError::reject(e.to_string()))?
            } else {
                serde_json::to_string_pretty(&tree).map_err(|e| TestCaseError::reject(e.to_string()))?
            };
            load(shipped_with(file, &text, others))?;
        }
    }
}

/// Cases the properties found, kept as plain tests: each loaded for minutes, or crashed.
mod regressions {
    use super::*;

    fn refused(text: String, expected: &str) {
        let started = Instant::now();
        let error = ApiCatalog::from_sources(vec![("v9.yaml".into(), text)])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains(expected), "{error}");
        assert!(started.elapsed() < TIME_LIMIT, "{:?}", started.elapsed());
    }

    /// 3,000 `$ref`s each pointing at the next overflowed the stack (an abort of the whole
    /// process) at about 800.
    #[test]
    fn a_long_chain_of_references_is_an_error() {
        let mut doc = json!({"openapi": "3.1.0", "paths": {}, "x-first": {"$ref": "#/c/c0"}});
        for i in 0..3_000 {
            doc["c"][format!("c{i}")] = json!({ "$ref": format!("#/c/c{}", i + 1) });
        }
        doc["c"]["c3000"] = json!({"type": "string"});
        refused(
            doc.to_string(),
            "leads through more than 64 nested references",
        );
    }

    /// The deepest recursion the limits allow (maps nested to the YAML limit, a reference
    /// there through the longest chain to more maps as deep) stays within a test thread's
    /// 2 MiB stack in a debug build.
    #[test]
    fn the_deepest_allowed_document_fits_the_stack() {
        let deep =
            |depth: usize, leaf: Value| (0..depth).fold(leaf, |inner, _| json!({ "k": inner }));
        let mut doc = json!({"openapi": "3.1.0", "paths": {}});
        doc["x-use"] = deep(120, json!({"$ref": "#/c/c0"}));
        for i in 0..63 {
            doc["c"][format!("c{i}")] = json!({ "$ref": format!("#/c/c{}", i + 1) });
        }
        doc["c"]["c63"] = deep(120, json!("leaf"));
        let outcome = ApiCatalog::from_sources(vec![("v9.yaml".into(), doc.to_string())]);
        if let Err(error) = outcome {
            assert!(!error.to_string().is_empty());
        }
    }

    /// Each level uses the next twice: a 1.5 KB file inlined to 2^30 values.
    #[test]
    fn references_that_multiply_are_an_error() {
        let mut doc = json!({"openapi": "3.1.0", "paths": {}});
        for i in 0..30 {
            let next = json!({ "$ref": format!("#/a{}", i + 1) });
            doc[format!("a{i}")] = json!({ "allOf": [next, next] });
        }
        doc["a30"] = json!({"type": "string"});
        refused(doc.to_string(), "too large once references are inlined");
    }

    /// YAML aliases of aliases: 7 KB expanded to 100 million values (gigabytes).
    #[test]
    fn aliases_that_multiply_are_an_error() {
        let text = format!(
            "openapi: 3.1.0\na: &a [{}]\nb: &b [{}]\nc: [{}]\n",
            ["x"; 1000].join(", "),
            ["*a"; 1000].join(", "),
            ["*b"; 100].join(", ")
        );
        refused(text, "once its aliases (*name) are expanded");
    }

    /// Legitimate aliases and references still load, and the shipped models are far below
    /// both limits.
    #[test]
    fn modest_aliases_and_references_load() {
        let text = "openapi: 3.1.0\ninfo: {title: T, version: '1'}\npaths: {}\n\
                    a: &a [x, y]\nb: [*a, *a, *a]\n\
                    c: {$ref: '#/d'}\nd: {allOf: [{$ref: '#/e'}, {$ref: '#/e'}]}\ne: {type: string}\n";
        ApiCatalog::from_sources(vec![("v9.yaml".into(), text.to_owned())]).expect("loads");
        ApiCatalog::from_sources(shipped()).expect("the shipped models load");
    }
}
