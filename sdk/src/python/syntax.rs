//! Python source text: string literals, docstrings, identifiers, literals of JSON values,
//! import lists and wrapped paragraphs.

use serde_json::Value;
use std::collections::BTreeSet;

/// Python's keywords (3.9+; the soft keywords `match`, `case`, `type` and `_` are valid names).
const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// Whether `name` can be written as an attribute or a TypedDict key in class syntax: an ASCII
/// identifier, not a keyword, and not `__private` (class bodies mangle those names).
pub fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(name)
        && (!name.starts_with("__") || name.ends_with("__"))
}

/// A double-quoted Python string literal. Printable text stays as it is (the sources are
/// UTF-8); control and invisible formatting characters are escaped, non-BMP ones with `\U`.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let code = u32::from(c);
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// Text safe inside a `"""` docstring: backslashes doubled, no closing quotes, no escapes.
fn docstring_text(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => safe.push_str("\\\\"),
            c if c != '\n' && needs_escape(c) => {}
            c => safe.push(c),
        }
    }
    let mut safe = safe.replace("\"\"\"", "\"\"\\\"");
    if safe.ends_with('"') {
        safe.pop();
        safe.push_str("\\\"");
    }
    safe
}

/// A docstring at `indent` (the indentation of the block it documents), `"""` included, and
/// a newline after it. Trailing spaces are dropped; blank lines stay blank.
pub fn docstring(text: &str, indent: &str) -> String {
    let text = docstring_text(text.trim());
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    match lines.as_slice() {
        [] => format!("{indent}\"\"\"\"\"\"\n"),
        [only] => format!("{indent}\"\"\"{only}\"\"\"\n"),
        [first, rest @ ..] => {
            let mut out = format!("{indent}\"\"\"{first}\n");
            for line in rest {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(&format!("{indent}{line}\n"));
                }
            }
            out.push_str(&format!("{indent}\"\"\"\n"));
            out
        }
    }
}

/// `#: text` comment lines (Sphinx's attribute comments) at `indent`.
pub fn attribute_comment(text: &str, indent: &str) -> String {
    text.trim()
        .lines()
        .map(|line| {
            let line: String = line
                .trim_end()
                .chars()
                .filter(|c| !needs_escape(*c))
                .collect();
            if line.is_empty() {
                format!("{indent}#:\n")
            } else {
                format!("{indent}#: {line}\n")
            }
        })
        .collect()
}

/// A Python literal for a JSON value (`True`, `None`, dicts and lists), indented by `level`
/// steps of four spaces after the first line, one item per line with trailing commas.
pub fn literal(value: &Value, level: usize) -> String {
    let pad = "    ".repeat(level + 1);
    let close = "    ".repeat(level);
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) => {
            let inner: String = items
                .iter()
                .map(|item| format!("{pad}{},\n", literal(item, level + 1)))
                .collect();
            format!("[\n{inner}{close}]")
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let inner: String = map
                .iter()
                .map(|(k, v)| format!("{pad}{}: {},\n", string(k), literal(v, level + 1)))
                .collect();
            format!("{{\n{inner}{close}}}")
        }
    }
}

/// Splits at commas outside brackets and string literals.
pub fn split_top_level(args: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    for c in args.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' | '[' | '(' if !in_string => depth += 1,
            '}' | ']' | ')' if !in_string => depth -= 1,
            ',' if !in_string && depth == 0 => {
                parts.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

/// `prefix` + a type expression, its outer subscript split one item per line when the line
/// would pass 100 columns (`indent` is the line's own indentation).
pub fn fit(prefix: &str, annotation: &str, indent: &str) -> String {
    if prefix.len() + annotation.len() <= 100 {
        return format!("{prefix}{annotation}");
    }
    let Some((head, args)) = annotation
        .strip_suffix(']')
        .and_then(|inner| inner.split_once('['))
    else {
        return format!("{prefix}{annotation}");
    };
    let mut out = format!("{prefix}{head}[\n");
    for arg in split_top_level(args) {
        out.push_str(&format!("{indent}    {arg},\n"));
    }
    out.push_str(&format!("{indent}]"));
    out
}

pub(super) fn import_list(module: &str, names: &BTreeSet<String>) -> String {
    let joined: Vec<&str> = names.iter().map(String::as_str).collect();
    let line = format!("from {module} import {}\n", joined.join(", "));
    if line.len() <= 100 {
        return line;
    }
    let mut out = format!("from {module} import (\n");
    for name in names {
        out.push_str(&format!("    {name},\n"));
    }
    out.push_str(")\n");
    out
}

/// Wraps a paragraph to `width` columns (continuation lines start with `indent`).
pub(super) fn wrap_paragraph(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        if line_len > 0 && line_len + 1 + word.len() > width {
            out.push('\n');
            out.push_str(indent);
            line_len = indent.len();
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_escape_quotes_controls_and_invisible_characters() {
        assert_eq!(string("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(string("é😀"), "\"é😀\"");
        assert_eq!(string("\u{7}\u{2028}"), r#""\x07\u2028""#);
    }

    #[test]
    fn docstrings_cannot_be_closed_early() {
        assert_eq!(
            docstring("Say \"\"\"hi\"", "    "),
            "    \"\"\"Say \"\"\\\"hi\\\"\"\"\"\n"
        );
        assert_eq!(docstring("a \\d", ""), "\"\"\"a \\\\d\"\"\"\n");
        assert_eq!(
            docstring("One.\n\nTwo.  ", "    "),
            "    \"\"\"One.\n\n    Two.\n    \"\"\"\n"
        );
    }

    #[test]
    fn identifiers_exclude_keywords_and_mangled_names() {
        assert!(is_plain_identifier("customer_reference"));
        assert!(!is_plain_identifier("from"));
        assert!(!is_plain_identifier("__type"));
        assert!(!is_plain_identifier("x-api-key"));
        assert!(is_plain_identifier("type"));
    }

    #[test]
    fn literals_are_python() {
        let value = json!({"a": [1, true, null], "b": {"c": "x\"y"}, "d": []});
        assert_eq!(
            literal(&value, 0),
            "{\n    \"a\": [\n        1,\n        True,\n        None,\n    ],\n    \"b\": {\n        \"c\": \"x\\\"y\",\n    },\n    \"d\": [],\n}"
        );
    }
}
