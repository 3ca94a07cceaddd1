//! Keeps the API versions' lifecycles in force: each version's model dates overlaid with the
//! admins' (`api_version_dates`), as of today (UTC). The gateway, the docs and the deprecation
//! pages all read the result, so a date is the same everywhere.
//!
//! Every process refreshes at start-up, after an admin changes a date here, and on each upkeep
//! tick (5 s): that picks up a change made through another replica and the arrival of a sunset
//! date at midnight.

use portico_core::identity::ActorContext;
use portico_core::lifecycle::{self, DateOverride};
use portico_core::{CoreError, CoreResult, Database};
use portico_docsite::LiveDocs;
use portico_sandbox::model::{ApiCatalog, VersionDates};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

pub struct VersionLifecycles {
    db: Database,
    catalog: Arc<ApiCatalog>,
    docs: Arc<LiveDocs>,
    content_dir: Option<PathBuf>,
    /// Where partners reach this Portico (the docs' samples, the SDKs' environments).
    targets: portico_sdk::Targets,
    /// The problems the last refresh logged, so each is logged once, not every tick.
    logged: Mutex<Vec<String>>,
}

impl std::fmt::Debug for VersionLifecycles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionLifecycles").finish_non_exhaustive()
    }
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// The dates of an override (stored dates are checked on the way in).
fn override_dates(o: &DateOverride) -> VersionDates {
    let day = |d: &Option<String>| {
        d.as_deref()
            .and_then(|t| VersionDates::parse_date(t).ok().flatten())
    };
    VersionDates {
        ga: day(&o.ga),
        deprecated_since: day(&o.deprecated_since),
        sunset: day(&o.sunset),
    }
}

impl VersionLifecycles {
    pub fn new(
        db: Database,
        catalog: Arc<ApiCatalog>,
        docs: Arc<LiveDocs>,
        content_dir: Option<PathBuf>,
        targets: portico_sdk::Targets,
    ) -> Self {
        Self {
            db,
            catalog,
            docs,
            content_dir,
            targets,
            logged: Mutex::new(Vec::new()),
        }
    }

    pub fn catalog(&self) -> &ApiCatalog {
        &self.catalog
    }

    /// Re-reads the overrides and puts the dates in force; rebuilds the docs when anything
    /// changed. `Ok(true)` when something changed.
    pub async fn refresh(&self) -> CoreResult<bool> {
        let overrides: HashMap<String, VersionDates> = lifecycle::list_overrides(&self.db)
            .await?
            .iter()
            .map(|o| (o.version.clone(), override_dates(o)))
            .collect();
        let refresh = self.catalog.refresh_lifecycles(&overrides, today());
        {
            let mut logged = self.logged.lock().unwrap_or_else(PoisonError::into_inner);
            if *logged != refresh.problems {
                for problem in &refresh.problems {
                    tracing::warn!(%problem, "API version dates not applied");
                }
                *logged = refresh.problems.clone();
            }
        }
        if refresh.changed {
            match crate::docs::build(&self.catalog, self.content_dir.as_deref(), &self.targets) {
                Ok(site) => self.docs.replace(site),
                // The guides built at start-up; this cannot fail later unless the files changed.
                Err(e) => {
                    tracing::error!(error = %e, "could not rebuild the docs with the new version dates")
                }
            }
        }
        Ok(refresh.changed)
    }

    /// An admin sets `version`'s dates (each `None` = as the model says). Refused, with a
    /// sentence saying why, when the merged dates do not make a lifecycle.
    pub async fn set_dates(
        &self,
        ctx: &ActorContext,
        version: &str,
        dates: VersionDates,
    ) -> CoreResult<()> {
        let Some(found) = self.catalog.version(version) else {
            return Err(CoreError::NotFound {
                what: "API version",
            });
        };
        let merged = found.model_dates.overlaid_with(dates);
        merged.lifecycle(today()).map_err(|e| {
            CoreError::Invalid(format!("These dates would not work for {version}: {e}."))
        })?;
        let text = |d: Option<time::Date>| d.map(VersionDates::format);
        lifecycle::set_dates(
            &self.db,
            ctx,
            &DateOverride {
                version: version.to_owned(),
                ga: text(dates.ga),
                deprecated_since: text(dates.deprecated_since),
                sunset: text(dates.sunset),
                ..DateOverride::default()
            },
        )
        .await?;
        self.refresh().await?;
        portico_core::db::channel::publish(&self.db, &portico_core::changes::Change::VersionDates)
            .await;
        Ok(())
    }
}
