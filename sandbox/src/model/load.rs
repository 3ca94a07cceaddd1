//! Loading the catalogue: the model files of a directory or the copy embedded in the binary,
//! each parsed into a version, sorted naturally and linked across versions.

use std::path::Path;

use include_dir::{Dir, include_dir};
use portico_core::authz::scopes::ScopeCatalog;

use super::router::RouteTable;
use super::version::parse_version;
use super::{ApiCatalog, ApiVersion, ModelError, dates, stores};

/// The copy of `content/api/` built into the binary.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../content/api");

/// How embedded files are named in messages.
const EMBEDDED_PREFIX: &str = "content/api";

impl ApiCatalog {
    /// Loads every `*.yaml` / `*.yml` / `*.json` model of `dir` (normally
    /// `PORTICO_CONTENT_DIR/api`) when given and present, else the copy embedded in the binary.
    pub fn load(dir: Option<&Path>) -> Result<ApiCatalog, ModelError> {
        match dir {
            Some(dir) if dir.is_dir() => {
                let mut catalog = Self::from_sources(read_dir(dir)?)?;
                catalog.origin = dir.display().to_string();
                Ok(catalog)
            }
            Some(dir) => {
                tracing::info!(
                    dir = %dir.display(),
                    "no API model directory there; using the embedded models"
                );
                Self::embedded()
            }
            None => Self::embedded(),
        }
    }

    /// The models embedded at build time from `content/api/`.
    pub fn embedded() -> Result<ApiCatalog, ModelError> {
        let mut sources = Vec::new();
        for file in EMBEDDED.files() {
            if !is_model_file(file.path()) {
                continue;
            }
            let name = format!("{EMBEDDED_PREFIX}/{}", file.path().display());
            let Some(text) = file.contents_utf8() else {
                return Err(ModelError::invalid(&name, "not UTF-8"));
            };
            sources.push((name, text.to_owned()));
        }
        let mut catalog = Self::from_sources(sources)?;
        catalog.origin = "embedded".to_owned();
        Ok(catalog)
    }

    /// Models from `(file name, text)` pairs; lifecycles as of today (UTC).
    pub fn from_sources(sources: Vec<(String, String)>) -> Result<ApiCatalog, ModelError> {
        Self::from_sources_at(sources, dates::today())
    }

    /// Models from `(file name, text)` pairs, with lifecycles as of `today`.
    pub fn from_sources_at(
        sources: Vec<(String, String)>,
        today: time::Date,
    ) -> Result<ApiCatalog, ModelError> {
        match Self::from_sources_partial(sources, today) {
            (Some(catalog), errors) if errors.is_empty() => Ok(catalog),
            (_, errors) => Err(ModelError::many(errors)),
        }
    }

    /// Like [`ApiCatalog::load`], but a file that does not load does not stop the others:
    /// the catalogue of the files that loaded (none when no file did) and the problems of
    /// the others, so that `portico check` can go on checking what loaded.
    pub fn load_partial(dir: Option<&Path>) -> (Option<ApiCatalog>, Vec<ModelError>) {
        match dir {
            Some(dir) if dir.is_dir() => match read_dir(dir) {
                Ok(sources) => {
                    let (catalog, errors) = Self::from_sources_partial(sources, dates::today());
                    let catalog = catalog.map(|mut catalog| {
                        catalog.origin = dir.display().to_string();
                        catalog
                    });
                    (catalog, errors)
                }
                Err(error) => (None, vec![error]),
            },
            _ => match Self::load(dir) {
                Ok(catalog) => (Some(catalog), Vec::new()),
                Err(error) => (None, vec![error]),
            },
        }
    }

    /// The versions of the sources that load, and the problems of those that do not.
    fn from_sources_partial(
        mut sources: Vec<(String, String)>,
        today: time::Date,
    ) -> (Option<ApiCatalog>, Vec<ModelError>) {
        if sources.is_empty() {
            return (
                None,
                vec![ModelError::invalid(
                    "API models",
                    "no model file (*.yaml) found",
                )],
            );
        }
        sources.sort_by(|a, b| a.0.cmp(&b.0));
        let mut errors = Vec::new();
        let mut versions: Vec<ApiVersion> = Vec::new();
        let mut routes = Vec::new();
        for (file, text) in sources {
            let name = version_name(&file);
            if let Err(message) = check_version_name(&name) {
                errors.push(ModelError::invalid(&file, message));
                continue;
            }
            if let Some(other) = versions.iter().find(|v| *v.name == *name) {
                errors.push(ModelError::invalid(
                    &file,
                    format!("version {name} is already defined by {}", other.file),
                ));
                continue;
            }
            match parse_version(&file, name, &text, today) {
                Ok((version, table)) => {
                    versions.push(version);
                    routes.push(table);
                }
                Err(error) => errors.push(error),
            }
        }
        if versions.is_empty() {
            return (None, errors);
        }
        let mut order: Vec<usize> = (0..versions.len()).collect();
        order.sort_by(|a, b| natural_key(&versions[*a].name).cmp(&natural_key(&versions[*b].name)));
        let mut slots: Vec<Option<(ApiVersion, RouteTable)>> =
            versions.into_iter().zip(routes).map(Some).collect();
        let (mut versions, routes): (Vec<ApiVersion>, Vec<RouteTable>) = order
            .into_iter()
            .filter_map(|at| slots.get_mut(at).and_then(Option::take))
            .unzip();
        stores::link(&mut versions);
        let mut scopes = ScopeCatalog::platform();
        for version in &versions {
            for scope in &version.scopes {
                scopes.declare(&scope.name, &scope.description, &version.file);
            }
        }
        let catalog = ApiCatalog {
            versions,
            routes,
            origin: "sources".to_owned(),
            scopes,
        };
        (Some(catalog), errors)
    }
}

fn is_model_file(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| matches!(ext, "yaml" | "yml" | "json"))
}

fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, ModelError> {
    let listing_error = |e: std::io::Error| ModelError::Read {
        path: dir.display().to_string(),
        message: format!("cannot list API models: {e}"),
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(listing_error)? {
        let path = entry.map_err(listing_error)?.path();
        if path.is_file() && is_model_file(&path) {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.display().to_string();
            std::fs::read_to_string(&path)
                .map(|text| (name.clone(), text))
                .map_err(|e| ModelError::Read {
                    path: name,
                    message: format!("cannot read: {e}"),
                })
        })
        .collect()
}

/// `content/api/v2.yaml` → `v2`.
fn version_name(file: &str) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    base.split('.').next().unwrap_or(base).to_owned()
}

fn check_version_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(format!(
            "the file name must be the version name (letters, digits, '-' or '_'), e.g. v2.yaml; {name:?} is not"
        ))
    }
}

/// Sort key putting `v2` before `v10`.
fn natural_key(name: &str) -> (String, u64, String) {
    let digits_at = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    let (prefix, rest) = name.split_at(digits_at);
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let number = rest[..digits_end].parse().unwrap_or(0);
    (prefix.to_owned(), number, rest[digits_end..].to_owned())
}
