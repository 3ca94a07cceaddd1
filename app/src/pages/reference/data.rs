//! The reference pages' data: what they show, who may use "Try it" (a `#[server]` function and
//! its `ssr` read) and the answer of the session's last "Try it".

use crate::pages::docs::{VersionLink, version_links};
use leptos::prelude::*;
use portico_docsite::reference::TagGroup;
use portico_docsite::{DocSite, OperationDoc, VersionDoc};
use serde::{Deserialize, Serialize};

/// What "Try it" got back from the sandbox, shown once on the operation's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TryItResult {
    pub application: String,
    pub method: String,
    pub url: String,
    /// 0 when the sandbox could not be reached (see `error`).
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionChoice {
    pub version: VersionLink,
    /// Where the switcher goes: the same operation, or the version's index without it.
    pub href: String,
    pub has_operation: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferencePageData {
    pub version: VersionDoc,
    pub choices: Vec<VersionChoice>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TryItAccess {
    SignedOut,
    /// Signed in, but no application to call with.
    NoApplications,
    Ready {
        applications: Vec<(String, String)>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationPageData {
    pub operation: OperationDoc,
    pub nav: Vec<TagGroup>,
    pub choices: Vec<VersionChoice>,
    pub result: Option<TryItResult>,
}

/// Who may use "Try it" on this page, and with which applications (a database read, so a
/// resource; it is small).
#[server]
pub async fn try_it_applications() -> Result<TryItAccess, ServerFnError> {
    Ok(ssr::try_it_access().await)
}

pub(super) fn choices(docs: &DocSite, operation: Option<&str>) -> Vec<VersionChoice> {
    version_links(docs)
        .into_iter()
        .filter(|v| v.operation_count > 0)
        .map(|version| {
            let has_operation =
                operation.is_some_and(|op| docs.operation(&version.name, op).is_some());
            let href = match operation {
                Some(op) if has_operation => format!("/reference/{}/{op}", version.name),
                _ => format!("/reference/{}", version.name),
            };
            VersionChoice {
                version,
                href,
                has_operation,
            }
        })
        .collect()
}

/// The answer of this session's last "Try it" on this page, once.
pub(super) fn try_it_result() -> Option<TryItResult> {
    use_context::<http::request::Parts>()?
        .extensions
        .get::<TryItResult>()
        .cloned()
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::TryItAccess;

    pub async fn try_it_access() -> TryItAccess {
        let Some(ctx) = crate::server::actor() else {
            return TryItAccess::SignedOut;
        };
        let Ok(portal) = crate::server::portal() else {
            return TryItAccess::SignedOut;
        };
        let organisation =
            portico_core::orgs::organisations::my_organisation(&portal.db, &ctx).await;
        let Ok(Some((org, _))) = organisation else {
            return TryItAccess::NoApplications;
        };
        match portico_core::apps::manage::list_applications(&portal.db, &ctx, &org.id).await {
            Ok(apps) if !apps.is_empty() => TryItAccess::Ready {
                applications: apps
                    .into_iter()
                    .map(|s| (s.app.id.clone(), s.app.name))
                    .collect(),
            },
            Ok(_) => TryItAccess::NoApplications,
            Err(e) => {
                tracing::warn!(error = %e, "could not list applications for try-it");
                TryItAccess::NoApplications
            }
        }
    }
}
