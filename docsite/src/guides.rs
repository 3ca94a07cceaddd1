//! Guides: `content/docs/*.md`, each with a front matter block (`title`, `summary`, `order`)
//! and a Markdown body. The slug is the file name (`errors.md` → `/docs/errors`).

use crate::DocsError;
use crate::markdown::{self, TocEntry};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guide {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub order: i64,
    /// Sanitised.
    pub html: String,
    pub toc: Vec<TocEntry>,
    /// (anchor, plain text) per section, for search. Not sent to pages.
    #[serde(skip)]
    pub sections: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default = "default_order")]
    order: i64,
}

fn default_order() -> i64 {
    100
}

/// Parses one guide file.
pub fn parse(file: &str, text: &str) -> Result<Guide, DocsError> {
    let invalid = |message: String| DocsError::Invalid {
        file: file.to_owned(),
        message,
    };
    let slug = file
        .rsplit('/')
        .next()
        .and_then(|name| name.strip_suffix(".md"))
        .unwrap_or(file)
        .to_owned();
    if slug.is_empty()
        || !slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(invalid(
            "a guide's file name must be lower-case letters, digits and '-' (it is the URL)".into(),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or_else(|| {
            invalid("must start with a front matter block (---, title: …, ---)".into())
        })?;
    let end = rest
        .find("\n---")
        .ok_or_else(|| invalid("the front matter block has no closing ---".into()))?;
    let front: FrontMatter =
        serde_yaml::from_str(&rest[..end]).map_err(|e| invalid(format!("front matter: {e}")))?;
    if front.title.trim().is_empty() {
        return Err(invalid("front matter: title must not be empty".into()));
    }
    let body = rest[end + 4..].trim_start_matches(['-', '\r', '\n']);
    let rendered = markdown::render(body);
    Ok(Guide {
        slug,
        title: front.title,
        summary: front.summary,
        order: front.order,
        html: rendered.html,
        toc: rendered.toc,
        sections: rendered.sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_and_body() {
        let guide = parse(
            "content/docs/errors.md",
            "---\ntitle: Errors\nsummary: Every error.\norder: 3\n---\n\n## Body\ntext\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(guide.slug, "errors");
        assert_eq!(guide.title, "Errors");
        assert_eq!(guide.order, 3);
        assert!(guide.html.contains(r#"<h2 id="body">"#), "{}", guide.html);
    }

    #[test]
    fn bad_guides_are_named_errors() {
        let error = |file: &str, text: &str| match parse(file, text) {
            Ok(_) => panic!("{file} accepted"),
            Err(e) => e.to_string(),
        };
        assert!(error("a.md", "no front matter").contains("a.md: must start with a front matter"));
        assert!(error("a.md", "---\ntitle: x\n").contains("no closing ---"));
        assert!(error("a.md", "---\ntitel: x\n---\n").contains("front matter: unknown field"));
        assert!(error("Bad Name.md", "---\ntitle: x\n---\n").contains("file name"));
    }
}
