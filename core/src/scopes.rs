//! OAuth scopes (RFC 6749 §3.3): space-separated tokens of printable ASCII.

use crate::{CoreError, CoreResult};
use std::collections::BTreeSet;

/// The scopes of the shipped Commercial API, and `logs:read` for the partner's own request-log
/// API (advertised in the RFC 8414 metadata).
pub const KNOWN: [&str; 4] = [
    "commercial:read",
    "commercial:write",
    "logs:read",
    "users:admin",
];

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
    fn subset_checks() {
        let granted = Scopes::parse("a b").unwrap();
        assert!(Scopes::parse("a").unwrap().is_subset(&granted));
        let asked = Scopes::parse("a c").unwrap();
        assert!(!asked.is_subset(&granted));
        assert_eq!(asked.missing_from(&granted).collect::<Vec<_>>(), ["c"]);
    }
}
