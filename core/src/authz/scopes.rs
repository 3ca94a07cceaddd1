//! OAuth scopes (RFC 6749 §3.3): space-separated tokens of printable ASCII.

use crate::{CoreError, CoreResult};
use std::collections::{BTreeMap, BTreeSet};

/// The scope of the partner's own request-log API (`GET /partner/v1/request-log`): Portico's
/// own, declared by no API model.
pub const LOGS_READ: &str = "logs:read";

/// Scopes Portico itself needs, with what they allow: part of every [`ScopeCatalog`].
pub const PLATFORM_SCOPES: [(&str, &str); 1] = [(
    LOGS_READ,
    "Read your organisation's request log (GET /partner/v1/request-log).",
)];

/// One known scope: what it allows and who declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeInfo {
    pub name: String,
    /// For people choosing scopes (the model's description of it).
    pub description: String,
    /// The model files declaring it, or `portico` for [`PLATFORM_SCOPES`].
    pub declared_by: Vec<String>,
}

/// The scopes this deployment knows: those the served API models declare (their `oauth2`
/// security scheme's `flows.clientCredentials.scopes`) plus [`PLATFORM_SCOPES`]. Built once
/// at start-up from the content; applications, scope requests, the portal's checkboxes and
/// the OAuth metadata only offer or accept these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeCatalog {
    scopes: BTreeMap<String, ScopeInfo>,
}

impl Default for ScopeCatalog {
    fn default() -> Self {
        Self::platform()
    }
}

impl ScopeCatalog {
    /// Portico's own scopes only.
    pub fn platform() -> Self {
        let mut catalog = ScopeCatalog {
            scopes: BTreeMap::new(),
        };
        for (name, description) in PLATFORM_SCOPES {
            catalog.declare(name, description, "portico");
        }
        catalog
    }

    /// Portico's own scopes plus `declared` (name, description), as if one model declared them.
    pub fn with_declared<'a>(
        source: &str,
        declared: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut catalog = Self::platform();
        for (name, description) in declared {
            catalog.declare(name, description, source);
        }
        catalog
    }

    /// Adds `name` as declared by `source`. The first non-empty description wins (two models
    /// may declare the same scope; their descriptions should agree).
    pub fn declare(&mut self, name: &str, description: &str, source: &str) {
        let entry = self
            .scopes
            .entry(name.to_owned())
            .or_insert_with(|| ScopeInfo {
                name: name.to_owned(),
                description: String::new(),
                declared_by: Vec::new(),
            });
        if entry.description.is_empty() {
            description.trim().clone_into(&mut entry.description);
        }
        if !entry.declared_by.iter().any(|s| s == source) {
            entry.declared_by.push(source.to_owned());
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.scopes.contains_key(name)
    }

    pub fn get(&self, name: &str) -> Option<&ScopeInfo> {
        self.scopes.get(name)
    }

    /// Every scope, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &ScopeInfo> {
        self.scopes.values()
    }

    /// Every scope name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.scopes.keys().map(String::as_str)
    }

    /// Refuses scopes outside the catalogue, naming the first unknown one and the known ones.
    pub fn check(&self, requested: &Scopes) -> CoreResult<()> {
        match requested.iter().find(|s| !self.contains(s)) {
            Some(unknown) => Err(CoreError::Invalid(format!(
                "Unknown scope {unknown:?}; the known scopes are {}.",
                self.names().collect::<Vec<_>>().join(", ")
            ))),
            None => Ok(()),
        }
    }
}

/// A set of scopes, kept sorted so its text form is canonical.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses a `scope` parameter. Empty is allowed (no scopes).
    pub fn parse(text: &str) -> CoreResult<Self> {
        let mut set = BTreeSet::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !valid || token.len() > 128 {
                return Err(CoreError::Invalid(format!(
                    "{token:?} is not a valid scope"
                )));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Scopes in `self` that `allowed` lacks.
    pub fn missing_from<'a>(&'a self, allowed: &'a Scopes) -> impl Iterator<Item = &'a str> {
        self.0.difference(&allowed.0).map(String::as_str)
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for scope in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        let scopes = Scopes::parse("commercial:write  commercial:read").unwrap();
        assert_eq!(scopes.to_string(), "commercial:read commercial:write");
        assert!(Scopes::parse("").unwrap().is_empty());
    }

    #[test]
    fn rejects_invalid_characters() {
        assert!(Scopes::parse("bad\"quote").is_err());
        assert!(Scopes::parse("back\\slash").is_err());
        assert!(Scopes::parse("tab\there").is_err());
    }

    #[test]
    fn the_catalogue_holds_declared_and_platform_scopes() {
        let mut catalog =
            ScopeCatalog::with_declared("v9.yaml", [("ship:read", "Read shipments.")]);
        catalog.declare("ship:read", "Other words.", "v10.yaml");
        assert_eq!(
            catalog.names().collect::<Vec<_>>(),
            ["logs:read", "ship:read"]
        );
        let info = catalog.get("ship:read").unwrap();
        assert_eq!(info.description, "Read shipments.");
        assert_eq!(info.declared_by, ["v9.yaml", "v10.yaml"]);
        assert!(
            catalog
                .check(&Scopes::parse("ship:read logs:read").unwrap())
                .is_ok()
        );
        let error = catalog
            .check(&Scopes::parse("ship:write").unwrap())
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "Unknown scope \"ship:write\"; the known scopes are logs:read, ship:read."
        );
    }

    #[test]
    fn subset_checks() {
        let granted = Scopes::parse("a b").unwrap();
        assert!(Scopes::parse("a").unwrap().is_subset(&granted));
        let asked = Scopes::parse("a c").unwrap();
        assert!(!asked.is_subset(&granted));
        assert_eq!(asked.missing_from(&granted).collect::<Vec<_>>(), ["c"]);
    }
}
