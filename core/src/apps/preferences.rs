//! Applications' provider preferences for quote packages (partners asked for this): blocked
//! providers, an allowlist, and a maximum number of providers. Stored with the application.

use crate::{CoreError, CoreResult, Database};
use serde::{Deserialize, Serialize};

/// What an application wants to see from the quote providers. Provider names compare
/// ASCII-case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderPreferences {
    /// Never show packages from these providers.
    pub blocked_providers: Vec<String>,
    /// When set, only these providers (a blocked provider stays blocked).
    pub allowed_providers: Option<Vec<String>>,
    /// When set, packages of at most this many providers: the first ones, in list order, that
    /// the other two rules let through.
    pub max_providers: Option<u32>,
}

impl ProviderPreferences {
    /// No rule at all: everything passes.
    pub fn is_empty(&self) -> bool {
        self.blocked_providers.is_empty()
            && self.allowed_providers.is_none()
            && self.max_providers.is_none()
    }

    /// Whether the blocked / allowed rules let `provider` through (`max_providers` needs
    /// the whole list: see [`filter_by_provider`]).
    pub fn permits(&self, provider: &str) -> bool {
        let listed = |list: &[String]| list.iter().any(|p| p.eq_ignore_ascii_case(provider));
        !listed(&self.blocked_providers) && self.allowed_providers.as_deref().is_none_or(listed)
    }

    /// The providers kept by all three rules, from provider names in list order (repeats
    /// allowed); `None` when every permitted provider is kept (no `max_providers`).
    pub fn chosen<'a>(&self, providers: impl IntoIterator<Item = &'a str>) -> Option<Vec<String>> {
        let max = usize::try_from(self.max_providers?).unwrap_or(usize::MAX);
        let mut chosen: Vec<String> = Vec::new();
        for provider in providers {
            if chosen.len() >= max {
                break;
            }
            if self.permits(provider) && !chosen.iter().any(|c| c.eq_ignore_ascii_case(provider)) {
                chosen.push(provider.to_owned());
            }
        }
        Some(chosen)
    }
}

/// Stores an application's preferences (replacing the previous ones).
pub async fn set(
    db: &Database,
    application_id: &str,
    preferences: &ProviderPreferences,
) -> CoreResult<()> {
    let json = serde_json::to_string(preferences)
        .map_err(|e| CoreError::Invalid(format!("unstorable preferences: {e}")))?;
    crate::apps::applications::set_field(
        db,
        application_id,
        crate::apps::applications::AppField::ProviderPreferences,
        &json,
    )
    .await
}

/// Parses stored preferences; unreadable ones count as none (and are logged), so a bad row
/// never breaks an application's calls.
pub fn parse_stored(application_id: &str, json: &str) -> ProviderPreferences {
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::warn!(%application_id, error = %e, "ignoring unreadable provider preferences");
        ProviderPreferences::default()
    })
}
