//! Partner SDKs generated from the API models: for each API version, a TypeScript package
//! (an npm tarball) and a Python package (a wheel and an sdist), built in memory at start-up
//! from the same documents the docs and the gateway load, so a model dropped into the
//! content folder gets its SDKs with no code change. No node or python at run time.
//!
//! Each package is the generated operations and types over a small runtime written once per
//! language (`runtime/`): the credentials provider (client credentials, cached and refreshed
//! tokens, one retry after a 401), environments, typed errors, retries with backoff and
//! idempotency keys, pagination, deprecation warnings and webhook verification.
//!
//! Naming, the same in both languages: the client class is the API title without "API"
//! (`PorticoCommercialClient`); one method per operation named from its `operationId`
//! (`createOrder` / `create_order`) and, for list operations, a paginator
//! (`paginateListOrders` / `paginate_list_orders`); one error class per documented `__type`.

pub mod archive;
pub mod model;
pub mod names;
pub mod python;
pub mod typescript;

pub use model::Api;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    #[error("{version}: {message}")]
    Model { version: String, message: String },
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    TypeScript,
    Python,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::TypeScript, Language::Python];

    /// The URL segment: `/sdk/typescript/v2/…`.
    pub fn slug(self) -> &'static str {
        match self {
            Language::TypeScript => "typescript",
            Language::Python => "python",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Language::TypeScript => "TypeScript",
            Language::Python => "Python",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.slug() == slug)
    }

    /// Where the portal serves one of this language's files for an API version:
    /// `/sdk/{language}/{version}/{file}`.
    pub fn file_path(self, version: &str, file: &str) -> String {
        format!("/sdk/{}/{version}/{file}", self.slug())
    }

    /// The quick start's file name, as the portal serves it next to the packages.
    pub fn quick_start_file(self) -> &'static str {
        match self {
            Language::TypeScript => "quickstart.mts",
            Language::Python => "quickstart.py",
        }
    }
}

/// Where this Portico's partners reach it: baked into the packages as environment presets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    /// The sandbox front (`https://api-sandbox.example.gov`): API calls and `/oauth2/token`.
    pub sandbox_url: String,
    /// The production stage, when this Portico runs one.
    pub production_url: Option<String>,
    /// The portal, where the packages are downloaded from.
    pub portal_url: String,
    /// The `aud` of sandbox tokens; production tokens use `<audience>/production`.
    pub audience: String,
}

impl Targets {
    /// The absolute URL of an SDK file on the portal (see [`Language::file_path`]).
    pub fn file_url(&self, language: Language, version: &str, file: &str) -> String {
        portal_file_url(&self.portal_url, language, version, file)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.sandbox_url.trim_end_matches('/'))
    }

    /// The presets: `(name, base URL, audience)`, sandbox first.
    pub fn environments(&self) -> Vec<(&'static str, String, String)> {
        let mut presets = vec![(
            "sandbox",
            self.sandbox_url.trim_end_matches('/').to_owned(),
            self.audience.clone(),
        )];
        if let Some(production) = &self.production_url {
            presets.push((
                "production",
                production.trim_end_matches('/').to_owned(),
                format!("{}/production", self.audience),
            ));
        }
        presets
    }
}

/// One downloadable file.
#[derive(Clone, PartialEq, Eq)]
pub struct Artifact {
    pub file_name: String,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    /// Lower-case hex.
    pub sha256: String,
}

impl std::fmt::Debug for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artifact")
            .field("file_name", &self.file_name)
            .field("len", &self.bytes.len())
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl Artifact {
    pub fn new(file_name: String, media_type: &'static str, bytes: Vec<u8>) -> Self {
        Artifact {
            file_name,
            media_type,
            sha256: sha256_hex(&bytes),
            bytes,
        }
    }
}

/// `portal_url` + [`Language::file_path`].
pub fn portal_file_url(portal_url: &str, language: Language, version: &str, file: &str) -> String {
    format!(
        "{}{}",
        portal_url.trim_end_matches('/'),
        language.file_path(version, file)
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One language's package for one API version.
#[derive(Clone, Debug)]
pub struct Package {
    pub language: Language,
    /// The registry name: `portico-commercial` (npm and PyPI alike).
    pub name: String,
    /// What a program imports: `portico-commercial` / `portico_commercial`.
    pub import_name: String,
    /// `PorticoCommercialClient`.
    pub client_class: String,
    pub version: String,
    /// The files, the one to install first (npm tarball, wheel).
    pub artifacts: Vec<Artifact>,
    /// A complete first program (install, construct the client for the sandbox, list,
    /// handle a validation error), for the SDK page and the package's README.
    pub quick_start: String,
}

impl Package {
    /// The one command that installs this package from the portal at `portal_url`.
    pub fn install_command(&self, portal_url: &str, version: &str) -> Option<String> {
        let url = portal_file_url(
            portal_url,
            self.language,
            version,
            &self.primary()?.file_name,
        );
        Some(match self.language {
            Language::TypeScript => format!("npm install {url}"),
            Language::Python => format!("pip install {url}"),
        })
    }

    /// The one command that fetches the quick start from the portal and runs it (with
    /// `CLIENT_ID`, `CLIENT_SECRET` and `API_KEY` in the environment).
    pub fn run_command(&self, portal_url: &str, version: &str) -> String {
        let file = self.language.quick_start_file();
        let fetch = format!(
            "curl -fsSO {}",
            portal_file_url(portal_url, self.language, version, file)
        );
        match self.language {
            // tsx runs TypeScript on any Node version from 18 (npx fetches it once).
            Language::TypeScript => format!("{fetch} && npx --yes tsx {file}"),
            Language::Python => format!("{fetch} && python {file}"),
        }
    }

    /// The file `latest` stands for: the npm tarball or the wheel.
    pub fn primary(&self) -> Option<&Artifact> {
        self.artifacts.first()
    }

    pub fn artifact(&self, file_name: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.file_name == file_name)
    }
}

/// The example call a docs sample makes (from the model's examples).
#[derive(Clone, Copy, Debug)]
pub struct SampleCall<'a> {
    pub path_params: &'a [(String, String)],
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
    pub body: Option<&'a Value>,
}

/// Both languages' packages for one API version.
#[derive(Clone, Debug)]
pub struct VersionSdks {
    pub api: Api,
    /// `sha256` of the model as served (JSON), named in the packages.
    pub model_sha256: String,
    pub packages: Vec<Package>,
}

impl VersionSdks {
    /// Generates and packs both languages' packages for one version's model.
    pub fn build(
        version: &str,
        document: &Value,
        targets: &Targets,
    ) -> Result<VersionSdks, SdkError> {
        let api = Api::from_openapi(version, document)?;
        let model_sha256 = sha256_hex(document.to_string().as_bytes());
        let packages = vec![
            typescript::package(&api, targets, &model_sha256)?,
            python::package(&api, targets, &model_sha256)?,
        ];
        Ok(VersionSdks {
            api,
            model_sha256,
            packages,
        })
    }

    pub fn package(&self, language: Language) -> Option<&Package> {
        self.packages.iter().find(|p| p.language == language)
    }

    /// The SDK code sample of one operation, or `None` for an unknown operation.
    pub fn sample(
        &self,
        language: Language,
        operation_id: &str,
        call: SampleCall<'_>,
    ) -> Option<String> {
        let operation = self.api.operation(operation_id)?;
        let package = self.package(language)?;
        Some(match language {
            Language::TypeScript => typescript::sample(&self.api, package, operation, call),
            Language::Python => python::sample(&self.api, package, operation, call),
        })
    }
}
