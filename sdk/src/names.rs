//! Identifiers from model names, the same way for every language: `CreateOrder` →
//! `createOrder` (TypeScript) / `create_order` (Python); `Idempotency-Key` →
//! `idempotencyKey` / `idempotency_key`; `Portico Commercial API` → `PorticoCommercial`.

/// Splits a name into lower-case words at separators and case changes (`HTTPRequest` →
/// `http`, `request`).
pub fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let previous = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        let boundary = c.is_ascii_uppercase()
            && previous.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `createOrder`.
pub fn camel(name: &str) -> String {
    let words = words(name);
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if i == 0 {
            out.push_str(word);
        } else {
            out.push_str(&capitalised(word));
        }
    }
    leading_digit_guard(out)
}

/// `CreateOrder`.
pub fn pascal(name: &str) -> String {
    leading_digit_guard(words(name).iter().map(|w| capitalised(w)).collect())
}

/// `create_order`.
pub fn snake(name: &str) -> String {
    leading_digit_guard(words(name).join("_"))
}

/// `portico-commercial`.
pub fn kebab(name: &str) -> String {
    words(name).join("-")
}

fn leading_digit_guard(name: String) -> String {
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{name}")
    } else {
        name
    }
}

/// The SDK's base name from the API title, without a trailing "API": `Portico Commercial
/// API` → words `portico`, `commercial`.
pub fn api_words(title: &str) -> Vec<String> {
    // A parenthesised remark is not part of the name: "Portico Commercial API (v1, deprecated)".
    let title = title.split('(').next().unwrap_or(title);
    let mut words = words(title);
    if words.last().is_some_and(|w| w == "api") && words.len() > 1 {
        words.pop();
    }
    if words.is_empty() {
        words.push("api".into());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_case_changes_and_separators() {
        assert_eq!(camel("CreateOrder"), "createOrder");
        assert_eq!(snake("CreateOrder"), "create_order");
        assert_eq!(snake("Idempotency-Key"), "idempotency_key");
        assert_eq!(camel("Idempotency-Key"), "idempotencyKey");
        assert_eq!(snake("HTTPRequestID"), "http_request_id");
        assert_eq!(pascal("order.created"), "OrderCreated");
        assert_eq!(snake("per_page"), "per_page");
        assert_eq!(camel("orderId"), "orderId");
        assert_eq!(snake("orderId"), "order_id");
        assert_eq!(snake("3d"), "n3d");
        assert_eq!(
            api_words("Portico Commercial API"),
            ["portico", "commercial"]
        );
        assert_eq!(kebab("Portico Commercial"), "portico-commercial");
    }
}
