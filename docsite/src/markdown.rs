//! Markdown → safe HTML: pulldown-cmark with tables, footnotes, task lists and strikethrough;
//! headings get anchor ids (and a table of contents); fenced code blocks are highlighted on
//! the server; the result is sanitised by ammonia, so raw HTML in a guide or in a model's
//! description cannot inject script, styles or event handlers.

use crate::highlight;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::LazyLock;

/// One heading of a rendered document, for its table of contents and for search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TocEntry {
    /// 2 or 3 (`##`, `###`).
    pub level: u8,
    pub id: String,
    pub text: String,
}

/// A rendered Markdown document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Sanitised HTML, safe to put into a page as it is.
    pub html: String,
    pub toc: Vec<TocEntry>,
    /// The text of each section (before the first heading: id ""), for search.
    pub sections: Vec<(String, String)>,
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
}

/// Renders a guide or a description. Heading ids are unique within the document.
pub fn render(markdown: &str) -> Rendered {
    let mut ids = Ids::default();
    let mut toc = Vec::new();
    let mut sections: Vec<(String, String)> = vec![(String::new(), String::new())];
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut heading: Option<(HeadingLevel, Vec<Event<'_>>)> = None;
    let mut code: Option<(String, String)> = None;

    for event in Parser::new_ext(markdown, options()) {
        if let Some((language, text)) = &mut code {
            match event {
                Event::Text(t) => text.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let html = highlight::code_block(text, language);
                    if let Some((_, section)) = sections.last_mut() {
                        section.push_str(text);
                        section.push('\n');
                    }
                    events.push(Event::Html(html.into()));
                    code = None;
                }
                _ => {}
            }
            continue;
        }
        if let Some((level, inner)) = &mut heading {
            if let Event::End(TagEnd::Heading(_)) = event {
                let level = *level;
                let text = plain_text(inner);
                let id = ids.unique(&slug(&text));
                let tag = level_tag(level);
                events.push(Event::Html(format!("<{tag} id=\"{id}\">").into()));
                events.append(inner);
                events.push(Event::Html(
                    format!("<a class=\"anchor\" href=\"#{id}\" aria-label=\"Link to this section\">#</a></{tag}>\n").into(),
                ));
                if matches!(level, HeadingLevel::H2 | HeadingLevel::H3) {
                    toc.push(TocEntry {
                        level: if level == HeadingLevel::H2 { 2 } else { 3 },
                        id: id.clone(),
                        text: text.clone(),
                    });
                }
                sections.push((id, format!("{text}\n")));
                heading = None;
            } else {
                inner.push(event);
            }
            continue;
        }
        match event {
            Event::Start(Tag::Heading { level, .. }) => heading = Some((level, Vec::new())),
            // A task list is a checklist for the reader, not a form: a glyph with its state in
            // words instead of a disabled checkbox that has no label (WCAG 1.3.1, 4.1.2).
            Event::TaskListMarker(done) => {
                let (glyph, state) = if done {
                    ("☑", "Done")
                } else {
                    ("☐", "To do")
                };
                events.push(Event::Html(
                    format!("<span class=\"task-box\" aria-hidden=\"true\">{glyph}</span><span class=\"visually-hidden\">{state}: </span>").into(),
                ));
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split([' ', ',']).next().unwrap_or_default().to_owned()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((language, String::new()));
            }
            other => {
                if let (Event::Text(t) | Event::Code(t), Some((_, section))) =
                    (&other, sections.last_mut())
                {
                    section.push_str(t);
                    section.push(' ');
                }
                events.push(other);
            }
        }
    }
    let mut html = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    Rendered {
        html: scrollable_tables(&sanitize(&html)),
        toc,
        sections,
    }
}

/// Puts each table in a box that scrolls sideways when the table is wider than the page and
/// that the keyboard can reach (WCAG 1.4.10, 2.1.1). Runs on sanitised HTML, where `<table>`
/// can only be a tag (a `<` in text is escaped).
fn scrollable_tables(html: &str) -> String {
    html.replace(
        "<table>",
        "<div class=\"table-wrap\" tabindex=\"0\"><table>",
    )
    .replace("</table>", "</table></div>")
}

/// Renders a short description (one paragraph or a few) without a table of contents.
pub fn render_inline(markdown: &str) -> String {
    render(markdown).html
}

fn level_tag(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 => "h1",
        HeadingLevel::H2 => "h2",
        HeadingLevel::H3 => "h3",
        HeadingLevel::H4 => "h4",
        HeadingLevel::H5 => "h5",
        HeadingLevel::H6 => "h6",
    }
}

fn plain_text(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    for event in events {
        if let Event::Text(t) | Event::Code(t) = event {
            text.push_str(t);
        }
    }
    text.trim().to_owned()
}

/// A heading's anchor: lower-case letters and digits, words joined by `-`
/// ("Rate limits & quotas" → `rate-limits-quotas`).
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if (c.is_whitespace() || c == '-' || c == '_') && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "section".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[derive(Default)]
struct Ids(HashSet<String>);

impl Ids {
    fn unique(&mut self, base: &str) -> String {
        let mut id = base.to_owned();
        let mut n = 2;
        while !self.0.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        // Highlighted code and footnotes are styled by class; classes cannot run anything.
        .add_generic_attributes(["class"])
        .add_tag_attributes("span", ["aria-hidden"])
        .add_tag_attributes("h2", ["id"])
        .add_tag_attributes("h3", ["id"])
        .add_tag_attributes("h4", ["id"])
        .add_tag_attributes("h5", ["id"])
        .add_tag_attributes("h6", ["id"])
        .add_tag_attributes("div", ["id"])
        .add_tag_attributes("pre", ["data-lang"])
        // Code that scrolls sideways must be reachable with the keyboard (WCAG 2.1.1).
        .set_tag_attribute_value("pre", "tabindex", "0")
        .add_tag_attributes("a", ["aria-label"]);
    builder
});

/// Removes everything that is not plain formatting (scripts, styles, event handlers,
/// `javascript:` links, frames, forms).
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_unique_anchors_and_a_table_of_contents() {
        let doc = render("## Rate limits & quotas\ntext\n### Headers\n## Headers\n");
        assert!(
            doc.html
                .contains(r#"<h2 id="rate-limits-quotas">Rate limits &amp; quotas"#),
            "{}",
            doc.html
        );
        assert!(doc.html.contains(r#"<h3 id="headers">"#));
        assert!(doc.html.contains(r#"<h2 id="headers-2">"#));
        let ids: Vec<&str> = doc.toc.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["rate-limits-quotas", "headers", "headers-2"]);
        assert_eq!(doc.toc[1].level, 3);
    }

    #[test]
    fn tables_footnotes_task_lists_and_strikethrough_render() {
        let doc = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\nSee this[^n].\n\n[^n]: The note.\n\n- [x] done\n- [ ] to do\n\n~~old~~\n",
        );
        assert!(doc.html.contains("<table>"), "{}", doc.html);
        assert!(doc.html.contains("<td>1</td>"));
        assert!(
            doc.html.contains(r#"class="footnote-reference""#),
            "{}",
            doc.html
        );
        assert!(doc.html.contains(r#"class="footnote-definition""#));
        // Task lists: a glyph and the state in words, no unlabelled form control.
        assert!(!doc.html.contains("<input"), "{}", doc.html);
        assert!(doc.html.contains(r#"<span class="task-box" aria-hidden="true">☑</span><span class="visually-hidden">Done: </span>done"#), "{}", doc.html);
        assert!(
            doc.html
                .contains(r#"<span class="visually-hidden">To do: </span>to do"#),
            "{}",
            doc.html
        );
        assert!(doc.html.contains("<del>old</del>"));
    }

    #[test]
    fn code_blocks_are_highlighted_on_the_server() {
        let doc = render("```python\nimport requests\nprint(\"hi\")\n```\n");
        assert!(
            doc.html
                .contains(r#"<pre class="code" data-lang="python" tabindex="0">"#),
            "{}",
            doc.html
        );
        assert!(doc.html.contains("hl-keyword"), "{}", doc.html);
        assert!(doc.html.contains("hl-string"), "{}", doc.html);
    }

    #[test]
    fn raw_html_is_sanitised() {
        let doc = render(
            "<script>alert(1)</script>\n\n<img src=x onerror=\"alert(2)\">\n\n[x](javascript:alert(3))\n\n<a href=\"https://example.com\" onclick=\"alert(4)\">ok</a>\n\n<style>body{}</style><iframe src=\"https://evil.test\"></iframe><form action=\"/x\"><input name=\"a\"></form>\n",
        );
        for bad in [
            "<script",
            "onerror",
            "javascript:",
            "onclick",
            "<style",
            "<iframe",
            "<form",
            "alert(1)",
        ] {
            assert!(!doc.html.contains(bad), "{bad} survived: {}", doc.html);
        }
        assert!(
            doc.html.contains(r#"href="https://example.com""#),
            "{}",
            doc.html
        );
    }

    #[test]
    fn sections_collect_their_text_for_search() {
        let doc = render("Intro text.\n## Tokens\nUse `client_credentials` here.\n");
        assert_eq!(doc.sections[0].0, "");
        assert!(doc.sections[0].1.contains("Intro text."));
        assert_eq!(doc.sections[1].0, "tokens");
        assert!(doc.sections[1].1.contains("client_credentials"));
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Getting started"), "getting-started");
        assert_eq!(slug("429 — Too many requests!"), "429-too-many-requests");
        assert_eq!(slug("ThrottlingException"), "throttlingexception");
        assert_eq!(slug("***"), "section");
    }
}
