//! A small regular-expression subset for JSON Schema `pattern` (no regex crate in the
//! workspace): literals, `.`, classes `[a-z0-9_]` / `[^…]`, escapes `\d \D \w \W \s \S` and
//! escaped punctuation, anchors `^ $`, groups `( … )` / `(?: … )` with `|`, and the quantifiers
//! `* + ? {n} {n,} {n,m}` (lazy `?` suffix accepted). Look-arounds, back-references and
//! Unicode classes are refused at load time. Matching is backtracking with a step budget, so
//! a pathological pattern cannot hang a request: running out counts as "no match".
//!
//! Patterns can also *generate* a matching string, which the synthetic backend uses.

/// Steps one match may take before giving up.
const STEP_BUDGET: u32 = 200_000;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pattern {
    alternatives: Vec<Vec<Node>>,
    /// The same pattern as a one-pass matcher, when its shape allows (see [`Linear`]).
    linear: Option<Linear>,
}

/// The shape of most id and code patterns, `^ord_[0-9a-z]{26}$` or `^\d{1,12}\.\d{2}$`:
/// anchored at both ends, one sequence of single-character sets, each repeated. When every
/// open-ended repeat is followed by a set it shares no character with, taking as many
/// characters as possible is the only way to match, so one pass without backtracking (and
/// without copying the text) decides the match exactly as the backtracking matcher would.
#[derive(Clone, Debug, PartialEq)]
struct Linear {
    steps: Vec<LinearStep>,
}

#[derive(Clone, Debug, PartialEq)]
struct LinearStep {
    /// A `Char`, `Any` or `Class` node.
    set: Node,
    /// The ASCII characters `set` accepts, one bit each: ids and codes are ASCII, and a table
    /// lookup per byte replaces decoding a `char` and walking the class's ranges.
    ascii: u128,
    min: u32,
    max: Option<u32>,
}

impl LinearStep {
    fn new(set: &Node, min: u32, max: Option<u32>) -> Self {
        let ascii = (0..128_u8)
            .filter(|b| set_contains(set, char::from(*b)))
            .fold(0_u128, |bits, b| bits | (1 << b));
        Self {
            set: set.clone(),
            ascii,
            min,
            max,
        }
    }
}

impl Linear {
    fn of(alternatives: &[Vec<Node>]) -> Option<Linear> {
        let [sequence] = alternatives else {
            return None;
        };
        let [Node::Start, middle @ .., Node::End] = sequence.as_slice() else {
            return None;
        };
        let mut steps = Vec::with_capacity(middle.len());
        for node in middle {
            let step = match node {
                Node::Char(_) | Node::Any | Node::Class { .. } => LinearStep::new(node, 1, Some(1)),
                Node::Repeat { node, min, max } if is_single_char(node) => {
                    LinearStep::new(node, *min, *max)
                }
                _ => return None,
            };
            steps.push(step);
        }
        let greedy_is_exact = steps
            .windows(2)
            .all(|pair| pair[0].max == Some(pair[0].min) || disjoint(&pair[0].set, &pair[1].set));
        greedy_is_exact.then_some(Linear { steps })
    }

    fn is_match(&self, text: &str) -> bool {
        if text.is_ascii() {
            return self.is_match_ascii(text.as_bytes());
        }
        let mut chars = text.chars().peekable();
        for step in &self.steps {
            let mut count = 0u32;
            while step.max.is_none_or(|max| count < max) {
                match chars.peek() {
                    Some(c) if set_contains(&step.set, *c) => {
                        chars.next();
                        count += 1;
                    }
                    _ => break,
                }
            }
            if count < step.min {
                return false;
            }
        }
        chars.next().is_none()
    }

    /// [`Linear::is_match`] over ASCII text, a byte at a time.
    fn is_match_ascii(&self, text: &[u8]) -> bool {
        let mut at = 0;
        for step in &self.steps {
            let start = at;
            while step.max.is_none_or(|max| at - start < max as usize) {
                match text.get(at) {
                    Some(b) if step.ascii & (1 << b) != 0 => at += 1,
                    _ => break,
                }
            }
            if at - start < step.min as usize {
                return false;
            }
        }
        at == text.len()
    }
}

fn is_single_char(node: &Node) -> bool {
    matches!(node, Node::Char(_) | Node::Any | Node::Class { .. })
}

/// Whether a single-character node accepts `c` (the backtracking matcher's rules).
fn set_contains(set: &Node, c: char) -> bool {
    match set {
        Node::Char(expected) => *expected == c,
        Node::Any => c != '\n',
        Node::Class { ranges, negated } => in_ranges(ranges, c) != *negated,
        _ => false,
    }
}

/// Whether two single-character nodes certainly share no character (`false` when unsure).
fn disjoint(a: &Node, b: &Node) -> bool {
    match (a, b) {
        (Node::Char(c), other) | (other, Node::Char(c)) => !set_contains(other, *c),
        (
            Node::Class {
                ranges: left,
                negated: false,
            },
            Node::Class {
                ranges: right,
                negated: false,
            },
        ) => left
            .iter()
            .all(|(l1, h1)| right.iter().all(|(l2, h2)| h1 < l2 || h2 < l1)),
        _ => false,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Char(char),
    Any,
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    Start,
    End,
    Group(Vec<Vec<Node>>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

/// Why a match could not be decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooComplex;

impl Pattern {
    pub(crate) fn parse(source: &str) -> Result<Pattern, String> {
        let chars: Vec<char> = source.chars().collect();
        let mut parser = Parser {
            chars: &chars,
            at: 0,
        };
        let alternatives = parser.alternatives(0)?;
        if parser.at < chars.len() {
            return Err(format!("unbalanced ')' at position {}", parser.at));
        }
        let linear = Linear::of(&alternatives);
        Ok(Pattern {
            alternatives,
            linear,
        })
    }

    /// JSON Schema semantics: the pattern may match anywhere unless anchored.
    pub(crate) fn is_match(&self, text: &str) -> Result<bool, TooComplex> {
        if let Some(linear) = &self.linear {
            return Ok(linear.is_match(text));
        }
        let input: Vec<char> = text.chars().collect();
        let matcher = Matcher {
            input: &input,
            steps: std::cell::Cell::new(0),
        };
        for start in 0..=input.len() {
            if matcher.alternatives(&self.alternatives, start, &mut |_| true)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A string the pattern matches, choosing with `pick(n)` → `0..n`. Negated classes pick
    /// a letter or digit outside the class.
    pub(crate) fn generate(&self, pick: &mut dyn FnMut(u64) -> u64) -> String {
        let mut out = String::new();
        generate_alternatives(&self.alternatives, pick, &mut out, 0);
        out
    }
}

struct Parser<'a> {
    chars: &'a [char],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn alternatives(&mut self, depth: u32) -> Result<Vec<Vec<Node>>, String> {
        if depth > 32 {
            return Err("groups nested too deeply".into());
        }
        let mut alternatives = vec![Vec::new()];
        while let Some(c) = self.peek() {
            match c {
                ')' => break,
                '|' => {
                    self.at += 1;
                    alternatives.push(Vec::new());
                }
                _ => {
                    let atom = self.atom(depth)?;
                    let node = self.quantified(atom)?;
                    if let Some(last) = alternatives.last_mut() {
                        last.push(node);
                    }
                }
            }
        }
        Ok(alternatives)
    }

    fn atom(&mut self, depth: u32) -> Result<Node, String> {
        let start = self.at;
        let Some(c) = self.peek() else {
            return Err("unexpected end".into());
        };
        self.at += 1;
        Ok(match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '(' => {
                if self.peek() == Some('?') {
                    if self.chars.get(self.at + 1) == Some(&':') {
                        self.at += 2;
                    } else {
                        return Err(format!(
                            "look-arounds and named groups are not supported (position {start})"
                        ));
                    }
                }
                let inner = self.alternatives(depth + 1)?;
                if self.peek() != Some(')') {
                    return Err(format!("unclosed '(' at position {start}"));
                }
                self.at += 1;
                Node::Group(inner)
            }
            '[' => self.class(start)?,
            '\\' => self.escape(false)?,
            '*' | '+' | '?' => return Err(format!("nothing to repeat at position {start}")),
            '{' if self.repetition_at(self.at) => {
                return Err(format!("nothing to repeat at position {start}"));
            }
            c => Node::Char(c),
        })
    }

    /// Whether the `{` just before `at` starts a `{n}`, `{n,}` or `{n,m}` quantifier.
    fn repetition_at(&self, at: usize) -> bool {
        let rest = self.chars.get(at..).unwrap_or_default();
        let close = rest.iter().position(|c| *c == '}');
        close.is_some_and(|end| {
            let body: String = rest[..end].iter().collect();
            let mut parts = body.splitn(2, ',');
            let first = parts.next().unwrap_or_default();
            !first.is_empty()
                && first.chars().all(|c| c.is_ascii_digit())
                && parts
                    .next()
                    .is_none_or(|second| second.chars().all(|c| c.is_ascii_digit()))
        })
    }

    fn escape(&mut self, in_class: bool) -> Result<Node, String> {
        let Some(c) = self.peek() else {
            return Err("pattern ends with '\\'".into());
        };
        self.at += 1;
        let class = |ranges: &[(char, char)], negated| Node::Class {
            ranges: ranges.to_vec(),
            negated,
        };
        const DIGIT: &[(char, char)] = &[('0', '9')];
        const WORD: &[(char, char)] = &[('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
        const SPACE: &[(char, char)] = &[
            (' ', ' '),
            ('\t', '\t'),
            ('\n', '\n'),
            ('\r', '\r'),
            ('\u{b}', '\u{c}'),
        ];
        Ok(match c {
            'd' => class(DIGIT, false),
            'D' => class(DIGIT, true),
            'w' => class(WORD, false),
            'W' => class(WORD, true),
            's' => class(SPACE, false),
            'S' => class(SPACE, true),
            'n' => Node::Char('\n'),
            't' => Node::Char('\t'),
            'r' => Node::Char('\r'),
            'b' if in_class => Node::Char('\u{8}'),
            c if c.is_ascii_punctuation() => Node::Char(c),
            c => return Err(format!("the escape \\{c} is not supported")),
        })
    }

    fn class(&mut self, start: usize) -> Result<Node, String> {
        let negated = self.peek() == Some('^');
        if negated {
            self.at += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(format!("unclosed '[' at position {start}"));
            };
            if c == ']' && !first {
                self.at += 1;
                break;
            }
            first = false;
            self.at += 1;
            let low = if c == '\\' {
                match self.escape(true)? {
                    Node::Char(c) => c,
                    Node::Class {
                        ranges: inner,
                        negated: false,
                    } => {
                        ranges.extend(inner);
                        continue;
                    }
                    _ => {
                        return Err(
                            "negated escapes (\\D, \\W, \\S) inside [...] are not supported".into(),
                        );
                    }
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.at + 1).is_some_and(|c| *c != ']') {
                self.at += 1;
                let Some(mut high) = self.peek() else {
                    return Err(format!("unclosed '[' at position {start}"));
                };
                self.at += 1;
                if high == '\\' {
                    match self.escape(true)? {
                        Node::Char(c) => high = c,
                        _ => return Err("a class escape cannot end a range".into()),
                    }
                }
                if high < low {
                    return Err(format!("range {low}-{high} is out of order"));
                }
                ranges.push((low, high));
            } else {
                ranges.push((low, low));
            }
        }
        Ok(Node::Class { ranges, negated })
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => {
                self.at += 1;
                (0, None)
            }
            Some('+') => {
                self.at += 1;
                (1, None)
            }
            Some('?') => {
                self.at += 1;
                (0, Some(1))
            }
            Some('{') if self.repetition_at(self.at + 1) => {
                self.at += 1;
                let close = self.chars[self.at..]
                    .iter()
                    .position(|c| *c == '}')
                    .unwrap_or_default();
                let body: String = self.chars[self.at..self.at + close].iter().collect();
                self.at += close + 1;
                let number = |text: &str| {
                    text.parse::<u32>()
                        .ok()
                        .filter(|n| *n <= 1000)
                        .ok_or_else(|| format!("repetition count {text} is too large"))
                };
                match body.split_once(',') {
                    None => {
                        let n = number(&body)?;
                        (n, Some(n))
                    }
                    Some((low, "")) => (number(low)?, None),
                    Some((low, high)) => {
                        let (low, high) = (number(low)?, number(high)?);
                        if high < low {
                            return Err(format!("repetition {{{body}}} is out of order"));
                        }
                        (low, Some(high))
                    }
                }
            }
            _ => return Ok(atom),
        };
        if matches!(atom, Node::Start | Node::End) {
            return Err("an anchor cannot be repeated".into());
        }
        // Lazy quantifiers decide the same yes/no question.
        if self.peek() == Some('?') {
            self.at += 1;
        }
        if matches!(self.peek(), Some('*' | '+' | '?')) {
            return Err(format!("nested quantifier at position {}", self.at));
        }
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
        })
    }
}

struct Matcher<'a> {
    input: &'a [char],
    steps: std::cell::Cell<u32>,
}

type Continuation<'k> = &'k mut dyn FnMut(usize) -> Result<bool, TooComplex>;

impl Matcher<'_> {
    fn step(&self) -> Result<(), TooComplex> {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n > STEP_BUDGET {
            Err(TooComplex)
        } else {
            Ok(())
        }
    }

    fn alternatives(
        &self,
        alternatives: &[Vec<Node>],
        at: usize,
        next: &mut dyn FnMut(usize) -> bool,
    ) -> Result<bool, TooComplex> {
        let mut k = |end: usize| Ok(next(end));
        for sequence in alternatives {
            if self.sequence(sequence, at, &mut k)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn sequence(&self, nodes: &[Node], at: usize, k: Continuation<'_>) -> Result<bool, TooComplex> {
        match nodes.split_first() {
            None => k(at),
            Some((node, rest)) => self.node(node, at, &mut |end| self.sequence(rest, end, k)),
        }
    }

    fn node(&self, node: &Node, at: usize, k: Continuation<'_>) -> Result<bool, TooComplex> {
        self.step()?;
        match node {
            Node::Char(c) => {
                if self.input.get(at) == Some(c) {
                    k(at + 1)
                } else {
                    Ok(false)
                }
            }
            Node::Any => {
                if self.input.get(at).is_some_and(|c| *c != '\n') {
                    k(at + 1)
                } else {
                    Ok(false)
                }
            }
            Node::Class { ranges, negated } => match self.input.get(at) {
                Some(c) if in_ranges(ranges, *c) != *negated => k(at + 1),
                _ => Ok(false),
            },
            Node::Start => {
                if at == 0 {
                    k(at)
                } else {
                    Ok(false)
                }
            }
            Node::End => {
                if at == self.input.len() {
                    k(at)
                } else {
                    Ok(false)
                }
            }
            Node::Group(alternatives) => {
                for sequence in alternatives {
                    if self.sequence(sequence, at, k)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Node::Repeat { node, min, max } => self.repeat(node, *min, *max, 0, at, k),
        }
    }

    fn repeat(
        &self,
        node: &Node,
        min: u32,
        max: Option<u32>,
        count: u32,
        at: usize,
        k: Continuation<'_>,
    ) -> Result<bool, TooComplex> {
        self.step()?;
        if max.is_none_or(|max| count < max) {
            let matched = self.node(node, at, &mut |end| {
                // An empty iteration can only help reach `min`; never loop on it.
                if end == at && count >= min {
                    return Ok(false);
                }
                self.repeat(node, min, max, count + 1, end, k)
            })?;
            if matched {
                return Ok(true);
            }
        }
        if count >= min { k(at) } else { Ok(false) }
    }
}

fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
    ranges.iter().any(|(low, high)| (*low..=*high).contains(&c))
}

fn generate_alternatives(
    alternatives: &[Vec<Node>],
    pick: &mut dyn FnMut(u64) -> u64,
    out: &mut String,
    depth: u32,
) {
    let n = alternatives.len() as u64;
    let chosen = usize::try_from(pick(n.max(1))).unwrap_or(0);
    if let Some(sequence) = alternatives.get(chosen) {
        for node in sequence {
            generate_node(node, pick, out, depth);
        }
    }
}

fn generate_node(node: &Node, pick: &mut dyn FnMut(u64) -> u64, out: &mut String, depth: u32) {
    if depth > 32 {
        return;
    }
    match node {
        Node::Char(c) => out.push(*c),
        Node::Any => out.push(letter(pick)),
        Node::Class { ranges, negated } => {
            if *negated {
                let candidates: Vec<char> = ('a'..='z')
                    .chain('A'..='Z')
                    .chain('0'..='9')
                    .filter(|c| !in_ranges(ranges, *c))
                    .collect();
                let at = usize::try_from(pick(candidates.len().max(1) as u64)).unwrap_or(0);
                out.push(candidates.get(at).copied().unwrap_or('_'));
            } else {
                let total: u64 = ranges
                    .iter()
                    .map(|(low, high)| u64::from(*high as u32 - *low as u32 + 1))
                    .sum();
                let mut at = pick(total.max(1));
                for (low, high) in ranges {
                    let size = u64::from(*high as u32 - *low as u32 + 1);
                    if at < size {
                        let code = *low as u32 + u32::try_from(at).unwrap_or(0);
                        out.push(char::from_u32(code).unwrap_or(*low));
                        return;
                    }
                    at -= size;
                }
            }
        }
        Node::Start | Node::End => {}
        Node::Group(alternatives) => generate_alternatives(alternatives, pick, out, depth + 1),
        Node::Repeat { node, min, max } => {
            let max = max.unwrap_or(min + 4).min(min + 8);
            let count = min + u32::try_from(pick(u64::from(max - min + 1))).unwrap_or(0);
            for _ in 0..count {
                generate_node(node, pick, out, depth + 1);
            }
        }
    }
}

fn letter(pick: &mut dyn FnMut(u64) -> u64) -> char {
    char::from(b'a' + u8::try_from(pick(26)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Pattern::parse(pattern).unwrap().is_match(text).unwrap()
    }

    #[test]
    fn matches_the_usual_patterns() {
        assert!(matches("^[A-Z]{3}$", "EUR"));
        assert!(!matches("^[A-Z]{3}$", "EURO"));
        assert!(!matches("^[A-Z]{3}$", "eur"));
        assert!(matches(r"^\d{1,12}\.\d{2}$", "129.90"));
        assert!(!matches(r"^\d{1,12}\.\d{2}$", "129.9"));
        assert!(!matches(r"^\d{1,12}\.\d{2}$", "12a.90"));
        assert!(matches(
            "^ord_[0-9a-z]{26}$",
            "ord_01jd8x5v7k2m3n4p5q6r7s8t9v"
        ));
        assert!(matches("^(?:foo|bar)+-[^-]+$", "foobarfoo-x1"));
        assert!(!matches("^(?:foo|bar)+-[^-]+$", "foobaz-x1"));
        // Unanchored: matches anywhere.
        assert!(matches("[0-9]", "ab3cd"));
        assert!(!matches("[0-9]", "abcd"));
        assert!(matches("^a*$", ""));
        assert!(matches("^(a|)*b$", "aaab"));
        assert!(matches(r"^[\w.-]+@[\w-]+\.[a-z]{2,}$", "a.b-c@example.org"));
        assert!(matches("^x{2,}$", "xxxx"));
        assert!(!matches("^x{2,}$", "x"));
        assert!(matches("a{,2}", "a{,2}"));
    }

    /// The one-pass matcher must agree with the backtracking one on every input.
    #[test]
    fn the_one_pass_matcher_agrees_with_backtracking() {
        let backtracking = |pattern: &Pattern, text: &str| {
            let plain = Pattern {
                alternatives: pattern.alternatives.clone(),
                linear: None,
            };
            plain.is_match(text).unwrap()
        };
        let linear_shapes = [
            "^ord_[0-9a-z]{26}$",
            r"^\d{1,12}\.\d{2}$",
            "^[A-Z]{3}$",
            "^a*b+c?$",
            "^[a-c]{1,3}[d-f]{2}$",
            "^x.{2}y$",
            "^a{2}a*$",
            "^[^a-c]{2}x$",
        ];
        for source in linear_shapes {
            assert!(Pattern::parse(source).unwrap().linear.is_some(), "{source}");
        }
        // Open-ended repeats followed by an overlapping set, alternatives, groups and
        // unanchored patterns keep the backtracking matcher.
        for source in [
            "^a*a$",
            "^[a-z]+[0-9a-z]$",
            "^.+x$",
            "^(ab)+$",
            "a+",
            "^a|b$",
        ] {
            assert!(Pattern::parse(source).unwrap().linear.is_none(), "{source}");
        }
        let alphabet = [
            'a', 'b', 'c', 'd', 'x', 'y', '0', '9', '.', '_', 'o', 'r', 'A', '\n', 'é',
        ];
        let mut state = 11_u64;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            usize::try_from(state >> 33).unwrap() % n
        };
        // Texts with 'é' take the `char` path, the others the ASCII one.
        for source in linear_shapes {
            let pattern = Pattern::parse(source).unwrap();
            let mut texts = vec![pattern.generate(&mut |n| (n - 1).min(1))];
            for _ in 0..2000 {
                let len = next(8);
                texts.push((0..len).map(|_| alphabet[next(alphabet.len())]).collect());
            }
            for text in &texts {
                assert_eq!(
                    pattern.is_match(text).unwrap(),
                    backtracking(&pattern, text),
                    "{source} on {text:?}"
                );
            }
        }
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for bad in [
            "(?=a)", "a**", "[b-a]", "(a", "a)", r"\p{L}", "*a", "x{3,1}",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pathological_patterns_run_out_of_budget() {
        let pattern = Pattern::parse("^(a+)+$").unwrap();
        let text = format!("{}b", "a".repeat(40));
        assert_eq!(pattern.is_match(&text), Err(TooComplex));
    }

    #[test]
    fn generated_strings_match() {
        let mut state = 7_u64;
        let mut pick = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % n
        };
        for source in [
            "^[A-Z]{3}$",
            r"^\d{1,12}\.\d{2}$",
            "^ord_[0-9a-z]{26}$",
            "^(?:foo|bar)+-[^-]+$",
            r"^[\w.-]+@[\w-]+\.[a-z]{2,}$",
            "^PO-[0-9]{4}$",
        ] {
            let pattern = Pattern::parse(source).unwrap();
            for _ in 0..20 {
                let text = pattern.generate(&mut pick);
                assert!(pattern.is_match(&text).unwrap(), "{source} → {text}");
            }
        }
    }
}
