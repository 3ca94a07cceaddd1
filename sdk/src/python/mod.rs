//! The Python package: generated modules (`client`, `types`) over the runtime in
//! `runtime/python/`, packed in memory as a wheel (PEP 427) and an sdist (PEP 625, built by
//! setuptools on the partner's machine).
//!
//! Layout of the import package (`portico_commercial/`): `__init__.py` (the exports),
//! `_client.py` (the client class), `types.py`, `errors.py`, `_metadata.py` (versions and
//! environments), `_runtime.py` (hand-written, the same for every API) and `py.typed`.

mod client;
mod identity;
mod modules;
pub mod syntax;
mod types;

#[cfg(test)]
mod tests;

use crate::archive::{self, Entry};
use crate::model::{Api, Location, Operation, Pagination, Schema};
use crate::{Artifact, Language, Package, SampleCall, SdkError, Targets, names};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

const RUNTIME: &str = include_str!("../../runtime/python/_runtime.py");
const GENERATOR: &str = concat!("portico-sdk (", env!("CARGO_PKG_VERSION"), ")");
/// The one HTTP dependency, and the webhooks extra's.
const REQUIRES_REQUESTS: &str = "requests>=2.28";
const REQUIRES_WEBHOOKS: &str = "standardwebhooks>=1.0";

/// Names of one API version's Python package.
struct Naming {
    /// `portico-commercial`.
    distribution: String,
    /// `portico_commercial`: the import package and the file-name stem.
    import_name: String,
    client_class: String,
    version: String,
}

impl Naming {
    fn of(api: &Api) -> Self {
        let words = names::api_words(&api.title).join(" ");
        Naming {
            distribution: names::kebab(&words),
            import_name: names::snake(&words),
            client_class: format!("{}Client", names::pascal(&words)),
            version: api.package_version(),
        }
    }

    fn wheel_name(&self) -> String {
        format!("{}-{}-py3-none-any.whl", self.import_name, self.version)
    }

    fn sdist_stem(&self) -> String {
        format!("{}-{}", self.import_name, self.version)
    }
}

pub fn package(api: &Api, targets: &Targets, model_sha256: &str) -> Result<Package, SdkError> {
    let naming = Naming::of(api);
    let portal = targets.portal_url.trim_end_matches('/');
    let wheel_url = targets.file_url(Language::Python, &api.version, &naming.wheel_name());
    let environments = targets
        .environments()
        .into_iter()
        .map(|(name, base, audience)| (name.to_owned(), base, targets.token_url(), audience))
        .collect();
    let identity = identity::Identity {
        api,
        distribution: &naming.distribution,
        import_name: &naming.import_name,
        client_class: &naming.client_class,
        version: &naming.version,
        model_sha256,
        portal_url: portal,
        environments,
    };
    let mut sources: Vec<(String, Vec<u8>)> = client::modules(&identity)
        .into_iter()
        .map(|(file, text)| (file, text.into_bytes()))
        .collect();
    let runtime = RUNTIME.replace(
        "\"__DISTRIBUTION__\"",
        &syntax::string(&naming.distribution),
    );
    sources.insert(2, ("_runtime.py".into(), runtime.into_bytes()));
    sources.push(("py.typed".into(), Vec::new()));

    let quick_start = quick_start(api, &naming, &wheel_url);
    let readme = readme(api, &naming, &wheel_url, &quick_start);
    let metadata = core_metadata(api, &naming, portal, &readme);
    let wheel = wheel(&naming, &sources, &metadata)?;
    let sdist = sdist(api, &naming, portal, &sources, &metadata, &readme)?;
    Ok(Package {
        language: Language::Python,
        name: naming.distribution,
        import_name: naming.import_name,
        client_class: naming.client_class,
        version: naming.version,
        artifacts: vec![wheel, sdist],
        quick_start,
    })
}

fn summary(api: &Api) -> String {
    format!(
        "Python SDK of the {} {} (generated from its model)",
        api.title, api.version
    )
}

/// PEP 566 core metadata (the wheel's METADATA, the sdist's PKG-INFO).
fn core_metadata(api: &Api, naming: &Naming, portal: &str, readme: &str) -> String {
    format!(
        "Metadata-Version: 2.1\n\
         Name: {}\n\
         Version: {}\n\
         Summary: {}\n\
         Project-URL: Documentation, {portal}/docs/sdks\n\
         Requires-Python: >=3.9\n\
         Requires-Dist: {REQUIRES_REQUESTS}\n\
         Provides-Extra: webhooks\n\
         Requires-Dist: {REQUIRES_WEBHOOKS}; extra == \"webhooks\"\n\
         Description-Content-Type: text/markdown\n\
         \n\
         {readme}",
        naming.distribution,
        naming.version,
        summary(api).replace('\n', " "),
    )
}

fn wheel(
    naming: &Naming,
    sources: &[(String, Vec<u8>)],
    metadata: &str,
) -> Result<Artifact, SdkError> {
    let dist_info = format!("{}-{}.dist-info", naming.import_name, naming.version);
    let mut entries: Vec<Entry> = sources
        .iter()
        .map(|(file, bytes)| Entry::new(format!("{}/{file}", naming.import_name), bytes.clone()))
        .collect();
    entries.push(Entry::new(format!("{dist_info}/METADATA"), metadata));
    entries.push(Entry::new(
        format!("{dist_info}/WHEEL"),
        format!(
            "Wheel-Version: 1.0\nGenerator: {GENERATOR}\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    ));
    // RECORD: every file's hash and size, then itself without either.
    let mut record = String::new();
    for entry in &entries {
        record.push_str(&format!(
            "{},sha256={},{}\n",
            entry.path,
            URL_SAFE_NO_PAD.encode(Sha256::digest(&entry.bytes)),
            entry.bytes.len()
        ));
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));
    entries.push(Entry::new(format!("{dist_info}/RECORD"), record));
    Ok(Artifact::new(
        naming.wheel_name(),
        "application/zip",
        archive::zip(&entries)?,
    ))
}

fn sdist(
    api: &Api,
    naming: &Naming,
    portal: &str,
    sources: &[(String, Vec<u8>)],
    metadata: &str,
    readme: &str,
) -> Result<Artifact, SdkError> {
    let top = naming.sdist_stem();
    let pyproject = format!(
        "[build-system]\n\
         requires = [\"setuptools>=61\"]\n\
         build-backend = \"setuptools.build_meta\"\n\
         \n\
         [project]\n\
         name = {}\n\
         version = {}\n\
         description = {}\n\
         readme = \"README.md\"\n\
         requires-python = \">=3.9\"\n\
         dependencies = [\"{REQUIRES_REQUESTS}\"]\n\
         \n\
         [project.optional-dependencies]\n\
         webhooks = [\"{REQUIRES_WEBHOOKS}\"]\n\
         \n\
         [project.urls]\n\
         Documentation = {}\n\
         \n\
         [tool.setuptools]\n\
         packages = [{}]\n\
         \n\
         [tool.setuptools.package-data]\n\
         {} = [\"py.typed\"]\n",
        toml_string(&naming.distribution),
        toml_string(&naming.version),
        toml_string(&summary(api)),
        toml_string(&format!("{portal}/docs/sdks")),
        toml_string(&naming.import_name),
        naming.import_name,
    );
    let mut entries = vec![
        Entry::new(format!("{top}/PKG-INFO"), metadata),
        Entry::new(format!("{top}/pyproject.toml"), pyproject),
        Entry::new(format!("{top}/README.md"), readme),
    ];
    entries.extend(sources.iter().map(|(file, bytes)| {
        Entry::new(
            format!("{top}/{}/{file}", naming.import_name),
            bytes.clone(),
        )
    }));
    Ok(Artifact::new(
        format!("{top}.tar.gz"),
        "application/gzip",
        archive::tar_gz(&entries)?,
    ))
}

/// A TOML basic string (JSON string syntax is valid TOML for printable text).
fn toml_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

fn readme(api: &Api, naming: &Naming, wheel_url: &str, quick_start: &str) -> String {
    let plans = client::plan(api);
    let mut out = format!(
        "# {}\n\nPython SDK of the {} {} (version {}), generated by Portico from the API model.\n\
         Python 3.9+; one dependency: `requests`.\n\n\
         ## Install\n\n```sh\npip install {wheel_url}\n```\n\n\
         To verify webhooks (`verify_webhook`), with the `webhooks` extra:\n\n\
         ```sh\npip install \"{}[webhooks] @ {wheel_url}\"\n```\n\n\
         ## Quick start\n\n```python\n{quick_start}```\n\n## Operations\n\n\
         | Method | HTTP | Summary |\n|---|---|---|\n",
        naming.distribution, api.title, api.version, naming.version, naming.distribution
    );
    for (op, plan) in api.operations.iter().zip(&plans) {
        out.push_str(&format!(
            "| `{}` | `{} /{}{}` | {} |\n",
            plan.method,
            op.method,
            api.version,
            op.path,
            op.summary.replace('|', "\\|")
        ));
    }
    out.push_str(
        "\nErrors are `ApiError` subclasses named after the API's `__type` (`NotFoundException`, \
         `ValidationException` with `field_errors`, ...); token endpoint failures are \
         `AuthenticationError`.\n",
    );
    out
}

/// The client construction every program starts with.
fn construction(naming: &Naming) -> String {
    format!(
        "client = {}(\n    os.environ[\"CLIENT_ID\"],\n    os.environ[\"CLIENT_SECRET\"],\n    \
         api_key=os.environ.get(\"API_KEY\"),\n    environment=\"sandbox\",\n)\n",
        naming.client_class
    )
}

/// The SDK page's first program: list, page through everything, handle a validation error.
fn quick_start(api: &Api, naming: &Naming, wheel_url: &str) -> String {
    let plans = client::plan(api);
    let chosen = api
        .operations
        .iter()
        .zip(&plans)
        .find(|(op, _)| op.pagination.is_some())
        .or_else(|| {
            api.operations.iter().zip(&plans).find(|(op, _)| {
                op.method == "GET" && op.parameters_in(Location::Path).next().is_none()
            })
        });
    let validation = api
        .error_types
        .iter()
        .zip(modules::error_classes(api, &naming.client_class))
        .find(|(error, _)| error.has_field_errors)
        .map(|(_, (_, class))| class);
    let mut out = format!(
        "# pip install {wheel_url}\nimport os\n\nfrom {} import {}",
        naming.import_name, naming.client_class
    );
    match &validation {
        Some(class) => out.push_str(&format!(", {class}\n\n")),
        None => out.push_str(", ApiError\n\n"),
    }
    out.push_str(&construction(naming));
    let Some((op, plan)) = chosen else {
        out.push_str("print(client.base_url)\n");
        return out;
    };
    let required: Vec<&client::Argument> = plan.arguments.iter().filter(|a| a.required).collect();
    if !required.is_empty() {
        // Arguments without a safe example value: show the construction only.
        out.push_str(&format!("# Next: client.{}(...)\n", plan.method));
        return out;
    }
    let size = op.pagination.as_ref().and_then(|p| {
        let wire = match p {
            Pagination::Cursor { limit_param, .. } => limit_param,
            Pagination::Page { size_param, .. } => size_param,
        };
        plan.argument(Location::Query, wire)
    });
    let summary = if op.summary.is_empty() {
        &op.id
    } else {
        &op.summary
    };
    out.push_str(&format!("\n# {summary}: the first page\n"));
    match size {
        Some(size) => out.push_str(&format!(
            "page = client.{}({}=5)\nprint(page)\n",
            plan.method, size.python
        )),
        None => out.push_str(&format!("page = client.{}()\nprint(page)\n", plan.method)),
    }
    if let Some(paginator) = &plan.paginator {
        // `for order in …: print(order["id"])` when the items are a named type with an id.
        let (variable, shown) = paged_item(api, op)
            .map(|(name, has_id)| {
                let variable = names::snake(&name);
                let shown = if has_id {
                    format!("{variable}[\"id\"]")
                } else {
                    variable.clone()
                };
                (variable, shown)
            })
            .filter(|(variable, _)| !syntax::is_keyword(variable) && variable != "client")
            .unwrap_or_else(|| ("item".to_owned(), "item".to_owned()));
        out.push_str(
            "\n# Every item, page after page (pages are fetched as the loop needs them)\n",
        );
        out.push_str(&format!(
            "for {variable} in client.{paginator}():\n    print({shown})\n"
        ));
    }
    let invalid = size.map_or_else(String::new, |size| format!("{}=0", size.python));
    out.push_str(
        "\n# Errors are typed: a ValidationException lists the fields that failed\ntry:\n",
    );
    out.push_str(&format!("    client.{}({invalid})\n", plan.method));
    match &validation {
        Some(class) => out.push_str(&format!(
            "except {class} as error:\n    for field_error in error.field_errors:\n        \
             print(field_error[\"path\"], field_error[\"message\"])\n"
        )),
        None => out.push_str("except ApiError as error:\n    print(error.type, error.message)\n"),
    }
    out
}

/// The named type of a list's items and whether it has an `id`.
fn paged_item(api: &Api, op: &Operation) -> Option<(String, bool)> {
    let items_field = match op.pagination.as_ref()? {
        Pagination::Cursor { items_field, .. } | Pagination::Page { items_field, .. } => {
            items_field
        }
    };
    let Schema::Object(page) = resolve(api, op.success.schema.as_ref()?) else {
        return None;
    };
    let items = page.properties.iter().find(|p| &p.name == items_field)?;
    let Schema::Array(item) = resolve(api, &items.schema) else {
        return None;
    };
    let Schema::Ref(name) = item.as_ref() else {
        return None;
    };
    let has_id = matches!(
        resolve(api, item),
        Schema::Object(object) if object.properties.iter().any(|p| p.name == "id")
    );
    Some((name.clone(), has_id))
}

/// A runnable program calling one operation with the model's example values.
pub fn sample(api: &Api, package: &Package, operation: &Operation, call: SampleCall<'_>) -> String {
    let plans = client::plan(api);
    let Some(plan) = plans.iter().find(|p| p.operation_id == operation.id) else {
        return String::new();
    };
    let mut arguments: Vec<String> = Vec::new();
    for argument in &plan.arguments {
        let value = match argument.location {
            None => call.body.map(|body| syntax::literal(body, 1)),
            Some(location) => {
                if argument.generated {
                    // The SDK makes the idempotency key (one per call, kept for its retries).
                    continue;
                }
                let values = match location {
                    Location::Path => call.path_params,
                    Location::Query => call.query,
                    Location::Header => call.headers,
                };
                let schema = operation
                    .parameters
                    .iter()
                    .find(|p| p.location == location && p.name == argument.wire)
                    .map(|p| resolve(api, &p.schema));
                let value = values
                    .iter()
                    .find(|(name, _)| {
                        if location == Location::Header {
                            name.eq_ignore_ascii_case(&argument.wire)
                        } else {
                            *name == argument.wire
                        }
                    })
                    .map(|(_, v)| v.as_str());
                value.map(|v| typed_value(v, schema))
            }
        };
        match value {
            Some(value) if argument.location == Some(Location::Path) => arguments.push(value),
            Some(value) => arguments.push(format!("{}={value}", argument.python)),
            None => {}
        }
    }
    let summary = if operation.summary.is_empty() {
        &operation.id
    } else {
        &operation.summary
    };
    let mut out = String::new();
    let returns_value = operation.success.schema.is_some();
    if returns_value {
        out.push_str("import json\n");
    }
    out.push_str(&format!(
        "import os\n\nfrom {} import {}\n\n",
        package.import_name, package.client_class
    ));
    out.push_str(&construction(&Naming {
        distribution: package.name.clone(),
        import_name: package.import_name.clone(),
        client_class: package.client_class.clone(),
        version: package.version.clone(),
    }));
    out.push_str(&format!("\n# {summary}\n"));
    let target = if returns_value { "result = " } else { "" };
    let one_line = format!("{target}client.{}({})", plan.method, arguments.join(", "));
    if one_line.len() <= 88 && !one_line.contains('\n') {
        out.push_str(&one_line);
        out.push('\n');
    } else {
        out.push_str(&format!("{target}client.{}(\n", plan.method));
        for argument in &arguments {
            out.push_str(&format!("    {argument},\n"));
        }
        out.push_str(")\n");
    }
    if returns_value {
        out.push_str("print(json.dumps(result, indent=2))\n");
    } else {
        out.push_str("print(\"done\")\n");
    }
    out
}

/// Follows references to the schema they name.
fn resolve<'s>(api: &'s Api, schema: &'s Schema) -> &'s Schema {
    let mut current = schema;
    for _ in 0..16 {
        match current {
            Schema::Ref(name) => match api.named(name) {
                Some(named) => current = &named.schema,
                None => break,
            },
            _ => break,
        }
    }
    current
}

/// An example value (text from the URL or a header) as a literal of its parameter's type.
fn typed_value(text: &str, schema: Option<&Schema>) -> String {
    let parsed = match schema {
        Some(Schema::Integer) => text.parse::<i64>().ok().map(|n| n.to_string()),
        Some(Schema::Number) => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| format!("{n:?}")),
        Some(Schema::Boolean) => match text {
            "true" => Some("True".into()),
            "false" => Some("False".into()),
            _ => None,
        },
        Some(Schema::Array(item)) => {
            let items: Vec<String> = text
                .split(',')
                .map(|part| typed_value(part, Some(item)))
                .collect();
            Some(format!("[{}]", items.join(", ")))
        }
        _ => None,
    };
    parsed.unwrap_or_else(|| syntax::string(text))
}
