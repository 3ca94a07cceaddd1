//! The developer documentation, built once at start-up into memory: the guides
//! (`content/docs/*.md`), the API reference of every version (from the same models the gateway
//! enforces), code samples, the changelog between versions, the search index and the
//! downloads (OpenAPI documents, Postman collection and environment). Pages only read it.
//!
//! No HTTP framework in here: the portal's pages and handlers call [`DocSite`].

pub mod changelog;
pub mod guides;
pub mod highlight;
pub mod markdown;
pub mod postman;
pub mod reference;
pub mod samples;
pub mod schema;
pub mod search;

use include_dir::{Dir, include_dir};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

pub use changelog::Changelog;
pub use guides::Guide;
pub use reference::{OperationDoc, VersionDoc, VersionSource, VersionState};
pub use search::{SearchHit, SearchIndex};

/// The guides built into the binary.
static EMBEDDED_GUIDES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../content/docs");

#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// One version's model, as the docs receive it.
#[derive(Clone, Debug)]
pub struct ModelInput {
    pub name: String,
    /// The model as written (`$ref`s kept).
    pub document: Value,
    pub state: VersionState,
    /// General availability (`YYYY-MM-DD`), when known.
    pub ga: Option<String>,
    /// When the deprecation was announced (`YYYY-MM-DD`), kept after the sunset too.
    pub deprecated_since: Option<String>,
}

/// The docs a running portal serves: built at start-up and rebuilt whole when a version's
/// lifecycle dates change, so pages always show the dates the gateway enforces.
#[derive(Debug)]
pub struct LiveDocs(RwLock<Arc<DocSite>>);

impl LiveDocs {
    pub fn new(site: DocSite) -> Self {
        Self::shared(Arc::new(site))
    }

    /// Starts from docs built elsewhere (tests build the shipped docs once).
    pub fn shared(site: Arc<DocSite>) -> Self {
        Self(RwLock::new(site))
    }

    /// The docs as of now (a page keeps this one while it renders).
    pub fn current(&self) -> Arc<DocSite> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn replace(&self, site: DocSite) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(site);
    }
}

#[derive(Debug)]
pub struct DocSite {
    guides: Vec<Guide>,
    versions: Vec<VersionDoc>,
    changelogs: Vec<Changelog>,
    search: SearchIndex,
    /// Per version: the OpenAPI document as served (JSON) and the Postman collection.
    downloads: Vec<(String, String, String)>,
    environment: String,
    sandbox_url: String,
    portal_url: String,
    /// The generated SDKs of every version that still serves (newest first).
    sdks: Vec<portico_sdk::VersionSdks>,
}

impl DocSite {
    /// Builds the site. `guides` are (file name, text) pairs; `models` are in the catalogue's
    /// order. `targets` say where partners reach this Portico (samples, downloads, the SDKs'
    /// environments).
    pub fn build(
        guides: &[(String, String)],
        models: &[ModelInput],
        targets: &portico_sdk::Targets,
    ) -> Result<DocSite, DocsError> {
        let sandbox_url = targets.sandbox_url.as_str();
        let mut parsed = guides
            .iter()
            .map(|(file, text)| guides::parse(file, text))
            .collect::<Result<Vec<_>, _>>()?;
        parsed.sort_by(|a, b| a.order.cmp(&b.order).then(a.slug.cmp(&b.slug)));

        let mut versions: Vec<VersionDoc> = models
            .iter()
            .map(|m| {
                VersionDoc::build(VersionSource {
                    name: &m.name,
                    document: &m.document,
                    state: &m.state,
                    ga: m.ga.as_deref(),
                    deprecated_since: m.deprecated_since.as_deref(),
                })
            })
            .collect();
        // Each operation's HTTP samples (curl, Python, JavaScript) against the sandbox.
        for version in &mut versions {
            for operation in &mut version.operations {
                operation.samples = samples::for_operation(operation, sandbox_url);
            }
        }
        // Newest first (v2, v1, v0): the switcher and the index lead with the current one.
        versions.sort_by_key(|v| std::cmp::Reverse(version_number(&v.name)));

        // Each version against the one before it, among versions that have operations and
        // belong to the same API (`v1` → `v2`; another API's `logistics-v1` is no successor).
        let with_operations: Vec<&VersionDoc> = versions
            .iter()
            .filter(|v| !v.operations.is_empty())
            .collect();
        let changelogs = with_operations
            .windows(2)
            .filter(|pair| api_family(&pair[0].name) == api_family(&pair[1].name))
            .map(|pair| changelog::compare(pair[1], pair[0]))
            .collect();

        let downloads = models
            .iter()
            .filter_map(|m| {
                let version = versions.iter().find(|v| v.name == m.name)?;
                let mut openapi = m.document.clone();
                if let Value::Object(map) = &mut openapi {
                    map.insert(
                        "servers".into(),
                        serde_json::json!([{"url": format!("{}/{}", sandbox_url.trim_end_matches('/'), m.name)}]),
                    );
                }
                Some((
                    m.name.clone(),
                    serde_json::to_string_pretty(&openapi).ok()?,
                    serde_json::to_string_pretty(&postman::collection(version)).ok()?,
                ))
            })
            .collect();
        let environment = serde_json::to_string_pretty(&postman::environment(sandbox_url, None))
            .unwrap_or_default();

        // SDKs for every version with operations that still serves, newest first; each
        // operation's samples lead with them.
        let mut sdks = Vec::new();
        for version in &mut versions {
            if version.operations.is_empty() || matches!(version.state, VersionState::Sunset { .. })
            {
                continue;
            }
            let Some(model) = models.iter().find(|m| m.name == version.name) else {
                continue;
            };
            let built = portico_sdk::VersionSdks::build(&model.name, &model.document, targets)
                .map_err(|e| DocsError::Invalid {
                    file: format!("api/{}", model.name),
                    message: format!("cannot generate its SDKs: {e}"),
                })?;
            for operation in &mut version.operations {
                let sdk_samples = samples::for_sdks(operation, &built);
                operation.samples.splice(0..0, sdk_samples);
            }
            sdks.push(built);
        }

        let search = SearchIndex::new(search_entries(&parsed, &versions));
        Ok(DocSite {
            sdks,
            guides: parsed,
            versions,
            changelogs,
            search,
            downloads,
            environment,
            sandbox_url: sandbox_url.to_owned(),
            portal_url: targets.portal_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The guides built into the binary, or those of `content_dir/docs` when given.
    pub fn guide_sources(content_dir: Option<&Path>) -> Result<Vec<(String, String)>, DocsError> {
        let Some(dir) = content_dir else {
            return Ok(EMBEDDED_GUIDES
                .files()
                .filter(|f| f.path().extension().is_some_and(|e| e == "md"))
                .filter_map(|f| {
                    Some((
                        format!("content/docs/{}", f.path().display()),
                        f.contents_utf8()?.to_owned(),
                    ))
                })
                .collect());
        };
        let docs = dir.join("docs");
        let read_error = |e: std::io::Error| DocsError::Read {
            path: docs.display().to_string(),
            message: e.to_string(),
        };
        let mut sources = Vec::new();
        for entry in std::fs::read_dir(&docs).map_err(read_error)? {
            let path = entry.map_err(read_error)?.path();
            if path.extension().is_some_and(|e| e == "md") {
                let text = std::fs::read_to_string(&path).map_err(|e| DocsError::Read {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                sources.push((path.display().to_string(), text));
            }
        }
        Ok(sources)
    }

    pub fn guides(&self) -> &[Guide] {
        &self.guides
    }

    pub fn guide(&self, slug: &str) -> Option<&Guide> {
        self.guides.iter().find(|g| g.slug == slug)
    }

    /// Newest first.
    pub fn versions(&self) -> &[VersionDoc] {
        &self.versions
    }

    pub fn version(&self, name: &str) -> Option<&VersionDoc> {
        self.versions.iter().find(|v| v.name == name)
    }

    /// The newest version that has operations (what `/reference` opens).
    pub fn current_version(&self) -> Option<&VersionDoc> {
        self.versions
            .iter()
            .find(|v| !v.operations.is_empty() && v.state == VersionState::Current)
            .or_else(|| self.versions.iter().find(|v| !v.operations.is_empty()))
    }

    pub fn operation(&self, version: &str, id: &str) -> Option<&OperationDoc> {
        self.version(version)?.operation(id)
    }

    /// Newest change first.
    pub fn changelogs(&self) -> &[Changelog] {
        &self.changelogs
    }

    pub fn search(&self, query: &str) -> Vec<SearchHit> {
        self.search.search(query)
    }

    pub fn search_index_len(&self) -> usize {
        self.search.len()
    }

    /// The OpenAPI document of `version` (JSON), with the sandbox as its server.
    pub fn openapi_json(&self, version: &str) -> Option<&str> {
        self.downloads
            .iter()
            .find(|(v, _, _)| v == version)
            .map(|(_, openapi, _)| openapi.as_str())
    }

    pub fn postman_collection(&self, version: &str) -> Option<&str> {
        self.downloads
            .iter()
            .find(|(v, _, _)| v == version)
            .map(|(_, _, collection)| collection.as_str())
    }

    /// The sandbox environment; with `client_id` pre-filled when given.
    pub fn postman_environment(&self, client_id: Option<&str>) -> String {
        match client_id {
            None => self.environment.clone(),
            Some(id) => {
                serde_json::to_string_pretty(&postman::environment(&self.sandbox_url, Some(id)))
                    .unwrap_or_default()
            }
        }
    }

    pub fn sandbox_url(&self) -> &str {
        &self.sandbox_url
    }

    /// Where partners reach the portal (the SDKs' install commands).
    pub fn portal_url(&self) -> &str {
        &self.portal_url
    }

    /// The generated SDKs, newest API version first.
    pub fn sdks(&self) -> &[portico_sdk::VersionSdks] {
        &self.sdks
    }

    pub fn sdk(&self, version: &str) -> Option<&portico_sdk::VersionSdks> {
        self.sdks.iter().find(|s| s.api.version == version)
    }
}

/// `v12` → 12; anything else sorts last.
/// The API a version name belongs to: the name without its trailing number (`v2` → `v`,
/// `logistics-v1` → `logistics-v`).
fn api_family(name: &str) -> &str {
    name.trim_end_matches(|c: char| c.is_ascii_digit())
}

fn version_number(name: &str) -> i64 {
    name.strip_prefix('v')
        .and_then(|n| n.parse().ok())
        .unwrap_or(-1)
}

fn search_entries(guides: &[Guide], versions: &[VersionDoc]) -> Vec<search::SearchEntry> {
    let mut entries = Vec::new();
    for guide in guides {
        for (anchor, text) in &guide.sections {
            let heading = guide
                .toc
                .iter()
                .find(|t| &t.id == anchor)
                .map(|t| t.text.clone());
            let (title, url) = match heading {
                Some(h) => (
                    format!("{} › {h}", guide.title),
                    format!("/docs/{}#{anchor}", guide.slug),
                ),
                None if anchor.is_empty() => (guide.title.clone(), format!("/docs/{}", guide.slug)),
                // A heading below ### (not in the table of contents).
                None => (
                    guide.title.clone(),
                    format!("/docs/{}#{anchor}", guide.slug),
                ),
            };
            let text = if anchor.is_empty() {
                format!("{} {text}", guide.summary)
            } else {
                text.clone()
            };
            entries.push(search::SearchEntry::new(
                title,
                url,
                "Guide".into(),
                text,
                Vec::new(),
                0,
            ));
        }
    }
    for version in versions {
        let boost = u32::from(version.state == VersionState::Current);
        for op in &version.operations {
            let mut text = format!(
                "{} {} {} {} ",
                op.method,
                op.path,
                op.id,
                strip_tags(&op.description_html)
            );
            for parameter in &op.parameters {
                text.push_str(&parameter.name);
                text.push(' ');
            }
            for row in op.request_body.iter().flat_map(|b| &b.rows) {
                text.push_str(&row.path);
                text.push(' ');
            }
            for error in &op.errors {
                text.push_str(&error.types.join(" "));
                text.push(' ');
            }
            text.push_str(&op.scopes.join(" "));
            entries.push(search::SearchEntry::new(
                format!("{} ({})", op.summary, version.name),
                format!("/reference/{}/{}", version.name, op.id),
                format!("API reference {}", version.name),
                text,
                vec![op.id.clone()],
                boost,
            ));
        }
    }
    entries
}

/// Text of sanitised HTML (for search): tags dropped, entities of the escaper undone.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A model with nested, referenced and recursive schemas, and hostile descriptions.
    fn model() -> ModelInput {
        ModelInput {
            name: "v1".into(),
            ga: Some("2025-01-01".into()),
            deprecated_since: Some("2026-01-01".into()),
            state: VersionState::Deprecated {
                since: "2026-01-01".into(),
                sunset: "2027-01-01".into(),
            },
            document: json!({
                "openapi": "3.1.0",
                "info": {"title": "Tree API", "description": "Trees. <script>alert(1)</script>"},
                "tags": [{"name": "Nodes", "description": "Nodes of a tree."}],
                "paths": {
                    "/nodes/{nodeId}": {
                        "parameters": [{"name": "nodeId", "in": "path", "required": true,
                                        "schema": {"type": "string", "example": "n_1"}}],
                        "get": {
                            "operationId": "GetNode", "summary": "Get a node", "tags": ["Nodes"],
                            "description": "Returns <img src=x onerror=alert(2)> **one** node.",
                            "x-cedar-action": "tree:GetNode", "x-required-scopes": ["tree:read"],
                            "deprecated": true, "x-sunset": "2026-12-31",
                            "responses": {
                                "200": {"description": "The node.", "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/Node"}}}},
                                "404": {"$ref": "#/components/responses/NotFound"}
                            }
                        }
                    },
                    "/nodes": {
                        "post": {
                            "operationId": "CreateNode", "summary": "Create a node", "tags": ["Nodes"],
                            "x-cedar-action": "tree:CreateNode", "x-required-scopes": ["tree:write"],
                            "requestBody": {"required": true, "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Node"}}}},
                            "responses": {"201": {"description": "Created."}}
                        }
                    }
                },
                "components": {
                    "schemas": {
                        "Node": {"type": "object", "required": ["name"], "properties": {
                            "name": {"type": "string", "example": "root"},
                            "meta": {"type": "object", "properties": {
                                "owner": {"$ref": "#/components/schemas/Owner"}}},
                            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                            "parent": {"$ref": "#/components/schemas/Node"}
                        }},
                        "Owner": {"type": "object", "properties": {"email": {"type": "string", "format": "email", "example": "a@b.c"}}}
                    },
                    "responses": {"NotFound": {"description": "No such node.", "content": {"application/json": {
                        "examples": {"NotFoundException": {"value": {"__type": "NotFoundException", "message": "No node.", "requestId": "r"}}}}}}}
                }
            }),
        }
    }

    #[test]
    fn a_model_with_nested_recursive_and_referenced_schemas_builds_its_reference() {
        let targets = portico_sdk::Targets {
            sandbox_url: "http://sandbox.test".into(),
            production_url: None,
            portal_url: "http://portal.test".into(),
            audience: "portico-api".into(),
        };
        let site = DocSite::build(&[], &[model()], &targets).unwrap();
        let version = site.version("v1").unwrap();
        assert!(
            !version.description_html.contains("<script"),
            "{}",
            version.description_html
        );
        let get = site.operation("v1", "GetNode").unwrap();
        assert_eq!(get.path, "/v1/nodes/{nodeId}");
        assert_eq!(
            get.parameters[0].name, "nodeId",
            "path-level parameters are included"
        );
        assert!(get.deprecated);
        assert_eq!(
            get.sunset.as_deref(),
            Some("2026-12-31"),
            "the operation's own sunset"
        );
        assert!(
            !get.description_html.contains("onerror"),
            "{}",
            get.description_html
        );
        assert!(get.description_html.contains("<strong>one</strong>"));
        let rows: Vec<(&str, bool)> = get.responses[0]
            .body
            .as_ref()
            .unwrap()
            .rows
            .iter()
            .map(|r| (r.path.as_str(), r.recursive))
            .collect();
        assert_eq!(
            rows,
            [
                ("name", false),
                ("meta", false),
                ("meta.owner", false),
                ("meta.owner.email", false),
                ("children", false),
                ("children[]", true),
                ("parent", true),
            ]
        );
        assert_eq!(get.errors[0].types, ["NotFoundException"]);
        assert!(get.errors[0].example_html.contains("No node."));
        // The body example is built from the properties' examples; samples use it.
        let create = site.operation("v1", "CreateNode").unwrap();
        let body: Value = serde_json::from_str(create.example.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["name"], "root");
        assert_eq!(body["meta"]["owner"]["email"], "a@b.c");
        assert_eq!(
            body.get("parent"),
            None,
            "a recursive reference ends the example"
        );
        assert_eq!(
            body.get("children"),
            None,
            "so does an array of the same schema"
        );
        let python = &create
            .samples
            .iter()
            .find(|s| s.label == "Python")
            .unwrap()
            .code;
        assert!(python.contains("\"name\": \"root\""), "{python}");
        assert!(python.contains("scope\": \"tree:write\""), "{python}");
        assert_eq!(site.search("node")[0].url, "/reference/v1/GetNode");
    }
}
