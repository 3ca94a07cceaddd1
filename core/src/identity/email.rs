//! Email addresses as account identifiers: trimmed, lower-cased, minimally validated.

use crate::{CoreError, CoreResult};

/// Normalises an address for storage and lookup, or says what is wrong with it.
pub fn normalize(input: &str) -> CoreResult<String> {
    let email = input.trim().to_ascii_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@')
                && !domain.starts_with('.') && !domain.ends_with('.'));
    if valid {
        Ok(email)
    } else {
        Err(CoreError::Invalid(format!(
            "{input:?} is not a valid email address"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalizes_case_and_whitespace() {
        assert_eq!(normalize("  Ada@Example.COM ").unwrap(), "ada@example.com");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
            "a@.com",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
