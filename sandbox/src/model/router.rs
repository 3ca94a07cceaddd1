//! The route table of one API version: a segment trie built at load time. Matching walks the
//! request path's segments without allocating (literal children first, then the parameter
//! child, backtracking when a literal branch dead-ends), so literal segments beat parameters.
//! Only a found route allocates, for its decoded path parameters.

use axum::http::Method;

use super::refs::percent_decode;

#[derive(Debug, Default)]
pub(super) struct RouteTable {
    root: Node,
    endpoints: Vec<Endpoint>,
}

#[derive(Debug, Default)]
struct Node {
    literals: Vec<(Box<str>, Node)>,
    param: Option<Box<Node>>,
    endpoint: Option<usize>,
}

#[derive(Debug)]
pub(super) struct Endpoint {
    /// The path template as written, e.g. `/commercial/orders/{orderId}`.
    template: String,
    /// (segment index, parameter name).
    params: Vec<(usize, String)>,
    /// Method → index of the operation in its version.
    methods: Vec<(Method, usize)>,
    /// The methods, sorted, for `Allow`.
    allow: Vec<Method>,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Segment<'a> {
    Literal(&'a str),
    Param(&'a str),
}

/// Splits `/a/{b}/c` into segments; `{` and `}` must enclose a whole segment.
pub(super) fn parse_template(template: &str) -> Result<Vec<Segment<'_>>, String> {
    let Some(rest) = template.strip_prefix('/') else {
        return Err("a path must start with '/'".into());
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    rest.split('/')
        .map(|segment| {
            if segment.is_empty() {
                Err("a path must not contain empty segments ('//' or a trailing '/')".into())
            } else if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if name.is_empty() || name.contains(['{', '}']) {
                    Err(format!("bad parameter segment {segment:?}"))
                } else {
                    Ok(Segment::Param(name))
                }
            } else if segment.contains(['{', '}']) {
                Err(format!(
                    "segment {segment:?}: a parameter must be a whole segment, like {{id}}"
                ))
            } else {
                Ok(Segment::Literal(segment))
            }
        })
        .collect()
}

impl RouteTable {
    /// Adds an operation (by its index in the version). Two templates that differ only in
    /// parameter names are the same route: refused.
    pub(super) fn insert(
        &mut self,
        template: &str,
        method: &Method,
        operation: usize,
    ) -> Result<(), String> {
        let segments = parse_template(template)?;
        let mut node = &mut self.root;
        let mut params = Vec::new();
        for (index, segment) in segments.iter().enumerate() {
            node = match segment {
                Segment::Literal(literal) => {
                    let at = match node.literals.iter().position(|(l, _)| &**l == *literal) {
                        Some(at) => at,
                        None => {
                            node.literals.push(((*literal).into(), Node::default()));
                            node.literals.len() - 1
                        }
                    };
                    &mut node.literals[at].1
                }
                Segment::Param(name) => {
                    params.push((index, (*name).to_owned()));
                    node.param.get_or_insert_with(Box::default)
                }
            };
        }
        match node.endpoint {
            Some(existing) => {
                let endpoint = &mut self.endpoints[existing];
                if endpoint.template != template {
                    return Err(format!(
                        "path {template} is the same route as {} (only parameter names differ)",
                        endpoint.template
                    ));
                }
                if endpoint.methods.iter().any(|(m, _)| m == method) {
                    return Err(format!("{method} {template} is defined twice"));
                }
                endpoint.methods.push((method.clone(), operation));
                endpoint.allow.push(method.clone());
                endpoint.allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            }
            None => {
                node.endpoint = Some(self.endpoints.len());
                self.endpoints.push(Endpoint {
                    template: template.to_owned(),
                    params,
                    methods: vec![(method.clone(), operation)],
                    allow: vec![method.clone()],
                });
            }
        }
        Ok(())
    }

    /// The endpoint for `path` (relative to the version prefix, without the leading '/').
    pub(super) fn find(&self, path: &str) -> Option<&Endpoint> {
        let found = if path.is_empty() {
            self.root.endpoint
        } else {
            find(&self.root, path.split('/'))
        };
        found.map(|at| &self.endpoints[at])
    }
}

fn find(node: &Node, mut rest: std::str::Split<'_, char>) -> Option<usize> {
    let Some(segment) = rest.next() else {
        return node.endpoint;
    };
    if segment.is_empty() {
        return None;
    }
    for (literal, child) in &node.literals {
        if segment_is(segment, literal)
            && let Some(found) = find(child, rest.clone())
        {
            return Some(found);
        }
    }
    node.param.as_deref().and_then(|child| find(child, rest))
}

/// Whether a raw path segment means `literal` (percent-decoded when it holds escapes).
fn segment_is(segment: &str, literal: &str) -> bool {
    if segment.contains('%') {
        percent_decode(segment) == literal
    } else {
        segment == literal
    }
}

impl Endpoint {
    pub(super) fn operation_for(&self, method: &Method) -> Option<usize> {
        self.methods
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, operation)| *operation)
    }

    pub(super) fn allow(&self) -> &[Method] {
        &self.allow
    }

    /// The decoded path parameters of a path this endpoint matched.
    pub(super) fn params(&self, path: &str) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(self.params.len());
        let mut wanted = self.params.iter().peekable();
        for (index, segment) in path.split('/').enumerate() {
            match wanted.peek() {
                Some((at, name)) if *at == index => {
                    out.push((name.clone(), percent_decode(segment)));
                    wanted.next();
                }
                Some(_) => {}
                None => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_beat_parameters_and_backtrack() {
        let mut table = RouteTable::default();
        table.insert("/books/{isbn}", &Method::GET, 0).unwrap();
        table.insert("/books/search", &Method::GET, 1).unwrap();
        table
            .insert("/books/search/{term}/x", &Method::GET, 2)
            .unwrap();
        table
            .insert("/books/{isbn}/loans", &Method::POST, 3)
            .unwrap();
        let op = |path: &str| table.find(path).and_then(|e| e.operation_for(&Method::GET));
        assert_eq!(op("books/search"), Some(1));
        assert_eq!(op("books/978"), Some(0));
        assert_eq!(op("books/search/rust/x"), Some(2));
        // "search" as a literal dead-ends; the parameter branch takes it.
        let loans = table.find("books/search/loans").unwrap();
        assert_eq!(loans.operation_for(&Method::POST), Some(3));
        assert_eq!(
            loans.params("books/search/loans"),
            [("isbn".into(), "search".into())]
        );
        assert!(table.find("books").is_none());
        assert!(table.find("").is_none());
        assert!(table.find("books/").is_none());
        assert!(table.find("books//loans").is_none());
        assert_eq!(op("b%6Foks/search"), Some(1));
    }

    #[test]
    fn refuses_ambiguous_and_malformed_templates() {
        let mut table = RouteTable::default();
        table.insert("/a/{x}", &Method::GET, 0).unwrap();
        assert!(
            table
                .insert("/a/{y}", &Method::POST, 1)
                .unwrap_err()
                .contains("same route")
        );
        assert!(
            table
                .insert("/a/{x}", &Method::GET, 2)
                .unwrap_err()
                .contains("twice")
        );
        assert!(parse_template("a").is_err());
        assert!(parse_template("/a/").is_err());
        assert!(parse_template("/a/{x}.json").is_err());
        assert_eq!(parse_template("/").unwrap(), []);
    }
}
