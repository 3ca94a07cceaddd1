//! Applications' provider preferences for quote packages: blocked providers, an allowlist,
//! and a maximum number of providers.

use serde_json::Value;

pub use portico_core::apps::preferences::ProviderPreferences;

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
