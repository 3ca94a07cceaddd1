//! Applications' provider preferences for quote packages: blocked providers, an allowlist,
//! and a maximum number of providers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// Quote packages (objects with a `provider` field) that `prefs` lets through, in order.
pub fn filter_packages(items: Vec<Value>, prefs: &ProviderPreferences) -> Vec<Value> {
    filter_by_provider(items, "provider", prefs)
}

/// Like [`filter_packages`] with the provider in `field`. An item without that field passes
/// only when there is neither an allowlist nor a maximum.
pub fn filter_by_provider(
    items: Vec<Value>,
    field: &str,
    prefs: &ProviderPreferences,
) -> Vec<Value> {
    if prefs.is_empty() {
        return items;
    }
    let provider_of = |item: &Value| item.get(field).and_then(Value::as_str).map(str::to_owned);
    let chosen = prefs.chosen(
        items
            .iter()
            .filter_map(|item| item.get(field).and_then(Value::as_str)),
    );
    items
        .into_iter()
        .filter(|item| match provider_of(item) {
            None => prefs.allowed_providers.is_none() && prefs.max_providers.is_none(),
            Some(provider) => {
                prefs.permits(&provider)
                    && chosen
                        .as_ref()
                        .is_none_or(|c| c.iter().any(|p| p.eq_ignore_ascii_case(&provider)))
            }
        })
        .collect()
}
