//! Search across the guides (section by section) and the API reference (operation by
//! operation), in memory: every query term must occur; a term in the title weighs more than
//! one in the text, an exact operation id most. The corpus is a few hundred entries, so a
//! scan of lower-cased text is fast (well under a millisecond) and needs no index service.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug)]
pub struct SearchEntry {
    pub title: String,
    /// The exact section or operation: `/docs/errors#throttlingexception`.
    pub url: String,
    /// `Guide: Errors`, `API reference v2`.
    pub kind: String,
    /// Plain text, for the snippet.
    pub text: String,
    /// Words that name it exactly (operation ids): a query equal to one ranks first.
    pub keys: Vec<String>,
    /// A small boost (current versions over deprecated ones).
    pub boost: u32,
    title_lower: String,
    text_lower: String,
}

impl SearchEntry {
    pub fn new(
        title: String,
        url: String,
        kind: String,
        text: String,
        keys: Vec<String>,
        boost: u32,
    ) -> Self {
        let title_lower = title.to_lowercase();
        let text_lower = text.to_lowercase();
        SearchEntry {
            title,
            url,
            kind,
            text,
            keys: keys.into_iter().map(|k| k.to_lowercase()).collect(),
            boost,
            title_lower,
            text_lower,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub title: String,
    pub url: String,
    pub kind: String,
    pub snippet: String,
}

/// At most this many hits per query.
pub const MAX_HITS: usize = 20;
/// Longer queries are cut (a query is a few words).
const MAX_QUERY_CHARS: usize = 200;

#[derive(Clone, Debug, Default)]
pub struct SearchIndex {
    entries: Vec<SearchEntry>,
}

fn terms(query: &str) -> Vec<String> {
    let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
    query
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

impl SearchIndex {
    pub fn new(entries: Vec<SearchEntry>) -> Self {
        Self { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn search(&self, query: &str) -> Vec<SearchHit> {
        let terms = terms(query);
        if terms.is_empty() {
            return Vec::new();
        }
        let joined = terms.concat();
        let phrase = terms.join(" ");
        let mut scored: Vec<(u32, usize)> = Vec::new();
        for (i, entry) in self.entries.iter().enumerate() {
            let mut score = 0u32;
            let mut all = true;
            for term in &terms {
                let in_title = entry.title_lower.contains(term.as_str());
                let in_text = entry.text_lower.matches(term.as_str()).take(5).count();
                if !in_title
                    && in_text == 0
                    && !entry.keys.iter().any(|k| k.contains(term.as_str()))
                {
                    all = false;
                    break;
                }
                score += if in_title { 10 } else { 0 } + u32::try_from(in_text).unwrap_or(5);
            }
            if !all {
                continue;
            }
            if entry.keys.contains(&joined) {
                score += 100;
            }
            // The whole query as written, in the title; most of all at its start ("create an
            // order" → the operation "Create an order", before a guide's section about it).
            if entry.title_lower.contains(&phrase) {
                score += 30;
                if entry.title_lower.starts_with(&phrase) {
                    score += 20;
                }
            }
            scored.push((score + entry.boost, i));
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .take(MAX_HITS)
            .map(|(_, i)| {
                let entry = &self.entries[i];
                SearchHit {
                    title: entry.title.clone(),
                    url: entry.url.clone(),
                    kind: entry.kind.clone(),
                    snippet: snippet(&entry.text, &entry.text_lower, &terms),
                }
            })
            .collect()
    }
}

/// About 200 characters of `text` around the first term found.
fn snippet(text: &str, lower: &str, terms: &[String]) -> String {
    const WIDTH: usize = 200;
    let found = terms.iter().filter_map(|t| lower.find(t.as_str())).min();
    let collapsed: Vec<char> = text.chars().collect();
    // Byte offsets of `lower` and `text` agree for ASCII; elsewhere start at the beginning.
    let start_char = match found {
        Some(byte) if text.is_char_boundary(byte) && lower.len() == text.len() => {
            text[..byte].chars().count().saturating_sub(60)
        }
        _ => 0,
    };
    let end = (start_char + WIDTH).min(collapsed.len());
    let mut out: String = collapsed[start_char..end].iter().collect();
    out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if start_char > 0 {
        out.insert(0, '…');
    }
    if end < collapsed.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SearchIndex {
        SearchIndex::new(vec![
            SearchEntry::new(
                "Errors › ThrottlingException".into(),
                "/docs/errors#throttlingexception".into(),
                "Guide".into(),
                "Returned with 429 when the rate is exceeded. Wait Retry-After seconds.".into(),
                vec![],
                0,
            ),
            SearchEntry::new(
                "Create an order".into(),
                "/reference/v2/CreateOrder".into(),
                "API reference v2".into(),
                "POST /v2/commercial/orders Creates an order in the caller's organisation.".into(),
                vec!["CreateOrder".into()],
                1,
            ),
            SearchEntry::new(
                "Create an order".into(),
                "/reference/v1/CreateOrder".into(),
                "API reference v1".into(),
                "POST /v1/commercial/orders Creates an order.".into(),
                vec!["CreateOrder".into()],
                0,
            ),
        ])
    }

    #[test]
    fn every_term_must_match_and_titles_rank_first() {
        let hits = index().search("create order");
        let urls: Vec<&str> = hits.iter().map(|h| h.url.as_str()).collect();
        assert_eq!(
            urls,
            ["/reference/v2/CreateOrder", "/reference/v1/CreateOrder"]
        );
        assert!(index().search("create throttling").is_empty());
    }

    #[test]
    fn a_title_starting_with_the_query_ranks_first() {
        let mut entries = vec![SearchEntry::new(
            "Getting started › 6. Create an order".into(),
            "/docs/getting-started#6-create-an-order".into(),
            "Guide".into(),
            "Create an order create an order with POST /v2/commercial/orders".into(),
            vec![],
            0,
        )];
        entries.extend(index().entries);
        let hits = SearchIndex::new(entries).search("create an order");
        assert_eq!(hits[0].url, "/reference/v2/CreateOrder");
        assert_eq!(hits.len(), 3);
    }

    #[test]
    fn links_go_to_the_exact_section() {
        let hits = index().search("retry-after");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].url, "/docs/errors#throttlingexception");
        assert!(
            hits[0].snippet.contains("Retry-After"),
            "{}",
            hits[0].snippet
        );
    }

    #[test]
    fn operation_ids_match_exactly() {
        let hits = index().search("CreateOrder");
        assert_eq!(hits[0].url, "/reference/v2/CreateOrder");
    }

    #[test]
    fn empty_and_hostile_queries_find_nothing() {
        assert!(index().search("").is_empty());
        assert!(index().search("  ***  ").is_empty());
        assert!(index().search(&"a".repeat(100_000)).is_empty());
    }
}
