//! Builds the docs from the gateway's API catalogue (the same models, with the same lifecycle
//! dates) and the guides, once at start-up; the SDKs are generated with them.

use portico_docsite::{DocSite, DocsError, ModelInput, VersionState};
use portico_sandbox::model::{ApiCatalog, Lifecycle};
use std::path::Path;

/// `content_dir` holds `docs/*.md`; without one (or without its `docs/` folder) the guides
/// built into the binary are used, as the models and policies are.
pub fn build(
    catalog: &ApiCatalog,
    content_dir: Option<&Path>,
    targets: &portico_sdk::Targets,
) -> Result<DocSite, DocsError> {
    let guides_dir = content_dir.filter(|dir| dir.join("docs").is_dir());
    let guides = DocSite::guide_sources(guides_dir)?;
    let models: Vec<ModelInput> = catalog
        .versions()
        .iter()
        .map(|version| (version, version.dates()))
        .map(|(version, dates)| ModelInput {
            name: version.name.to_string(),
            document: version.source_document().clone(),
            ga: dates.ga.map(portico_sandbox::model::VersionDates::format),
            deprecated_since: dates
                .deprecated_since
                .map(portico_sandbox::model::VersionDates::format),
            state: match version.lifecycle() {
                Lifecycle::Current => VersionState::Current,
                Lifecycle::Deprecated { since, sunset } => {
                    VersionState::Deprecated { since, sunset }
                }
                Lifecycle::Sunset { since } => VersionState::Sunset { since },
            },
        })
        .collect();
    DocSite::build(&guides, &models, targets)
}
