//! Syntax highlighting on the server with syntect's built-in grammars: spans with `hl-…`
//! classes (from the grammar's scope names), coloured by the portal's stylesheet, so no page
//! needs JavaScript or inline styles (the portal's CSP forbids them).

use std::sync::LazyLock;
use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::{SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

/// The grammar for a fence's language tag. TypeScript has no built-in grammar: JavaScript's
/// covers everything but the type annotations.
fn syntax_for(language: &str) -> Option<&'static SyntaxReference> {
    let token = match language.to_ascii_lowercase().as_str() {
        "" | "text" | "plain" | "http" => return None,
        "typescript" | "ts" | "javascript" | "js" => "js".to_owned(),
        "shell" | "sh" | "bash" | "console" => "bash".to_owned(),
        "python" | "py" => "py".to_owned(),
        "rust" | "rs" => "rs".to_owned(),
        other => other.to_owned(),
    };
    SYNTAXES.find_syntax_by_token(&token)
}

/// A `<pre>` block of highlighted `code`; plain (escaped) text for an unknown language.
pub fn code_block(code: &str, language: &str) -> String {
    let lang_attr: String = language
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let body = syntax_for(language)
        .and_then(|syntax| highlighted(code, syntax))
        .unwrap_or_else(|| escape(code));
    // Focusable: a block wider than its column scrolls, and the keyboard must reach it.
    format!(
        "<pre class=\"code\" data-lang=\"{lang_attr}\" tabindex=\"0\"><code>{body}</code></pre>\n"
    )
}

fn highlighted(code: &str, syntax: &SyntaxReference) -> Option<String> {
    let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, &SYNTAXES, CLASS_STYLE);
    for line in LinesWithEndings::from(code) {
        generator
            .parse_html_for_line_which_includes_newline(line)
            .ok()?;
    }
    Some(generator.finalize())
}

/// HTML-escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_language_has_a_grammar() {
        for language in ["bash", "python", "typescript", "rust", "json", "yaml"] {
            assert!(syntax_for(language).is_some(), "{language}");
        }
        assert!(syntax_for("http").is_none());
    }

    #[test]
    fn unknown_languages_are_escaped_not_highlighted() {
        let html = code_block("<b>&</b>", "http");
        assert_eq!(
            html,
            "<pre class=\"code\" data-lang=\"http\" tabindex=\"0\"><code>&lt;b&gt;&amp;&lt;/b&gt;</code></pre>\n"
        );
    }

    #[test]
    fn highlighted_code_escapes_its_text() {
        let html = code_block("let s = \"<script>\";\n", "rust");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("hl-string"), "{html}");
    }

    #[test]
    fn language_attribute_cannot_break_out() {
        let html = code_block("x", "py\"><script>");
        assert!(
            html.starts_with("<pre class=\"code\" data-lang=\"pyscript\" tabindex=\"0\">"),
            "{html}"
        );
    }
}
