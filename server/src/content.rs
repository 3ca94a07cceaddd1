//! The content Portico serves (`PORTICO_CONTENT_DIR`): the Cedar schema and policies
//! (`policies/`) and the API models (`api/`), loaded and checked against each other. Start-up,
//! `portico app create` and `portico check` all load it here, so `check` finds exactly what
//! would stop start-up, all of it at once.

use portico_core::authz::Authorizer;
use portico_core::authz::scopes::ScopeCatalog;
use portico_sandbox::model::{ApiCatalog, ModelError};
use std::path::Path;

/// Which step found a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The Cedar schema or a policy does not parse or validate.
    Policies,
    /// A model file does not load (YAML, `$ref`, extensions).
    Models,
    /// A model does not fit the policies or its own declarations (actions, resource types,
    /// scopes, `x-sandbox`).
    Mismatch,
    /// A guide (`docs/*.md`) does not build.
    Docs,
}

impl ProblemKind {
    /// What start-up says before the problems of this kind.
    pub fn headline(self) -> &'static str {
        match self {
            ProblemKind::Policies => "the Cedar policies are invalid",
            ProblemKind::Models => "the API models are invalid",
            ProblemKind::Mismatch => "the API models do not match the policies",
            ProblemKind::Docs => "the docs (content/docs) are invalid",
        }
    }
}

/// One problem: one line naming the file (and the operation, for a model's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub line: String,
}

/// Everything loading found: what loaded, and every problem.
#[derive(Debug, Default)]
pub struct ContentReport {
    pub authorizer: Option<Authorizer>,
    pub catalog: Option<ApiCatalog>,
    pub problems: Vec<Problem>,
}

impl ContentReport {
    /// The policies and models when nothing is wrong.
    pub fn into_content(self) -> Result<(Authorizer, ApiCatalog), Vec<Problem>> {
        match (self.authorizer, self.catalog) {
            (Some(authorizer), Some(catalog)) if self.problems.is_empty() => {
                Ok((authorizer, catalog))
            }
            _ => Err(self.problems),
        }
    }
}

/// Loads `content_dir/policies` and `content_dir/api` (each falls back to the embedded copy
/// when its folder is missing) and checks the models against the policies, collecting every
/// problem instead of stopping at the first.
pub fn inspect(content_dir: &Path) -> ContentReport {
    let mut report = ContentReport::default();
    match Authorizer::load(Some(&content_dir.join("policies"))) {
        Ok(authorizer) => report.authorizer = Some(authorizer),
        Err(error) => report
            .problems
            .extend(lines(ProblemKind::Policies, &error.to_string())),
    }
    let (catalog, errors) = ApiCatalog::load_partial(Some(&content_dir.join("api")));
    for error in errors {
        report
            .problems
            .extend(lines(ProblemKind::Models, &error.to_string()));
    }
    if let (Some(authorizer), Some(catalog)) = (&report.authorizer, &catalog)
        && let Err(error) = catalog.check(authorizer.schema_facts())
    {
        report
            .problems
            .extend(lines(ProblemKind::Mismatch, &error.to_string()));
    }
    report.catalog = catalog;
    report
}

/// Adds the problems of the docs built from `content_dir/docs` and the loaded models, as
/// start-up builds them (start-up builds its own copy to serve; `portico check` calls this).
pub fn inspect_docs(report: &mut ContentReport, content_dir: &Path) {
    if let Some(catalog) = &report.catalog
        && let Err(error) = crate::docs::build(catalog, Some(content_dir), &check_targets())
    {
        report
            .problems
            .extend(lines(ProblemKind::Docs, &error.to_string()));
    }
}

/// Placeholder addresses: what `portico check` builds does not depend on them.
fn check_targets() -> portico_sdk::Targets {
    portico_sdk::Targets {
        sandbox_url: "http://127.0.0.1:4000".into(),
        production_url: None,
        portal_url: "http://127.0.0.1:3000".into(),
        audience: "portico-api".into(),
    }
}

/// The known scopes of `content_dir` without checking the rest: what `portico app create`
/// accepts. A model that does not load is an error (its scopes would be missing).
pub fn scopes(content_dir: &Path) -> Result<ScopeCatalog, ModelError> {
    ApiCatalog::load(Some(&content_dir.join("api"))).map(|catalog| catalog.scopes().clone())
}

fn lines(kind: ProblemKind, text: &str) -> Vec<Problem> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| Problem {
            kind,
            line: line.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_content_has_no_problem() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content");
        let report = inspect(&shipped);
        assert_eq!(report.problems, []);
        let (authorizer, catalog) = report.into_content().unwrap();
        assert!(
            authorizer
                .actions()
                .contains(&"commercial:GetOrder".to_owned())
        );
        assert_eq!(
            catalog.scopes().names().collect::<Vec<_>>(),
            [
                "commercial:read",
                "commercial:write",
                "logs:read",
                "users:admin"
            ]
        );
    }
}
