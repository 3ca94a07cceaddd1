//! The secret-scanning rules Portico publishes in `content/docs/security.md` (gitleaks TOML and
//! TruffleHog YAML), read from that page: every secret Portico generates matches its own rule
//! and no other; old-format secrets, random text and lookalikes match none, and an altered
//! secret that still matches fails the checksum.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly by unwrapping")]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portico_core::secret::{PlainSecret, SecretKind, checksum_valid};
use portico_core::webhooks::signing::SigningSecret;
use regex::Regex;
use std::collections::BTreeMap;

const WEBHOOK_RULE: &str = "webhook_signing_secret";

fn security_page() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../content/docs/security.md");
    std::fs::read_to_string(path).unwrap()
}

/// The body of the fenced block of `language` that follows `heading`.
fn block_after(page: &str, heading: &str, language: &str) -> String {
    let from = page
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in security.md"));
    let fence = format!("```{language}\n");
    let start = from + page[from..].find(&fence).unwrap() + fence.len();
    let end = start + page[start..].find("```").unwrap();
    page[start..end].to_owned()
}

/// gitleaks rules by id, without the `portico-` prefix, `-` as `_`.
fn gitleaks_rules(page: &str) -> BTreeMap<String, String> {
    let block = block_after(page, "### gitleaks", "toml");
    let mut rules = BTreeMap::new();
    let mut id = None;
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("id = ") {
            let value = value.trim_matches('"');
            id = Some(value.trim_start_matches("portico-").replace('-', "_"));
        } else if let Some(value) = line.strip_prefix("regex = ") {
            let regex = value.trim_start_matches("'''").trim_end_matches("'''");
            rules.insert(id.take().unwrap(), regex.to_owned());
        }
    }
    rules
}

/// TruffleHog detectors by name, without the `portico_` prefix.
fn trufflehog_rules(page: &str) -> BTreeMap<String, String> {
    let block = block_after(page, "### TruffleHog", "yaml");
    let mut rules = BTreeMap::new();
    let mut name = None;
    for line in block.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("- name: ") {
            name = Some(value.trim_start_matches("portico_").to_owned());
        } else if let Some(value) = line.strip_prefix("secret: ") {
            rules.insert(name.take().unwrap(), value.trim_matches('\'').to_owned());
        }
    }
    rules
}

fn rules() -> BTreeMap<String, Regex> {
    let page = security_page();
    let gitleaks = gitleaks_rules(&page);
    assert_eq!(
        gitleaks,
        trufflehog_rules(&page),
        "the gitleaks and TruffleHog rules must be the same"
    );
    for (name, regex) in &gitleaks {
        assert!(
            page.contains(&format!("| `{regex}` |")),
            "the table of regular expressions lacks {name}'s"
        );
    }
    gitleaks
        .into_iter()
        .map(|(name, regex)| (name, Regex::new(&regex).unwrap()))
        .collect()
}

/// The rule name of a kind: its scanner type without `portico_`.
fn rule_name(kind: SecretKind) -> String {
    kind.scanner_type()
        .trim_start_matches("portico_")
        .to_owned()
}

/// The rules matching somewhere in `text`.
fn matching<'a>(rules: &'a BTreeMap<String, Regex>, text: &str) -> Vec<&'a str> {
    rules
        .iter()
        .filter(|(_, regex)| regex.is_match(text))
        .map(|(name, _)| name.as_str())
        .collect()
}

#[test]
fn every_kind_and_the_webhook_secret_have_a_published_rule() {
    let rules = rules();
    let mut expected: Vec<String> = SecretKind::ALL.into_iter().map(rule_name).collect();
    expected.push(WEBHOOK_RULE.to_owned());
    expected.sort();
    assert_eq!(rules.keys().cloned().collect::<Vec<_>>(), expected);
}

#[test]
fn generated_secrets_match_their_own_rule_only_wherever_they_appear() {
    let rules = rules();
    for kind in SecretKind::ALL {
        for _ in 0..200 {
            let secret = PlainSecret::generate(kind);
            let value = secret.expose();
            let own = rule_name(kind);
            for text in [
                value.to_owned(),
                format!("CLIENT_SECRET={value}\n"),
                format!("\"{value}\","),
                format!("https://x.example/?k={value}&y=1"),
            ] {
                assert_eq!(matching(&rules, &text), [own.as_str()], "{text}");
            }
            let found = rules[&own].find(value).unwrap().as_str();
            assert_eq!(checksum_valid(found), Some(kind));
        }
    }
    for _ in 0..200 {
        let whsec = SigningSecret::generate().to_whsec();
        assert_eq!(matching(&rules, &whsec), [WEBHOOK_RULE], "{whsec}");
        // Still what every Standard Webhooks library decodes: base64 of the key.
        assert_eq!(STANDARD.decode(&whsec["whsec_".len()..]).unwrap().len(), 32);
    }
}

#[test]
fn lookalikes_match_no_rule_or_fail_the_checksum() {
    let rules = rules();
    let mut nothing = Vec::new();
    for kind in SecretKind::ALL {
        for seed in 0..50u8 {
            // Issued before the checksum format: base64url of 32 bytes.
            let bytes: Vec<u8> = (0..32)
                .map(|i| seed.wrapping_mul(31).wrapping_add(i))
                .collect();
            let old = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(&bytes));
            nothing.push(old.clone());
            assert_eq!(checksum_valid(&old), None, "{old}");
        }
        let value = PlainSecret::generate(kind).expose().to_owned();
        // Glued to other word characters, cut short or too long.
        nothing.push(format!("x{value}"));
        nothing.push(format!("{value}x"));
        nothing.push(value[..value.len() - 1].to_owned());
        nothing.push(format!("{}-{}", &value[..3], &value[4..]));
        nothing.push(value.to_uppercase());
    }
    for seed in 0..50u8 {
        let bytes: Vec<u8> = (0..48).map(|i| seed.wrapping_mul(17) ^ i).collect();
        nothing.push(STANDARD.encode(&bytes));
        nothing.push(URL_SAFE_NO_PAD.encode(&bytes));
    }
    nothing.push("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned());
    for text in &nothing {
        assert!(
            matching(&rules, text).is_empty(),
            "{text} matched {:?}",
            matching(&rules, text)
        );
    }

    // One character changed: the rule may still match, the checksum never passes.
    for kind in SecretKind::ALL {
        let value = PlainSecret::generate(kind).expose().to_owned();
        for at in kind.prefix().len()..value.len() {
            let mut altered = value.clone().into_bytes();
            altered[at] = if altered[at] == b'Z' { b'z' } else { b'Z' };
            let altered = String::from_utf8(altered).unwrap();
            assert_eq!(matching(&rules, &altered), [rule_name(kind).as_str()]);
            assert_eq!(checksum_valid(&altered), None, "{altered}");
        }
        // Another kind's prefix on this body: its rule matches, its checksum does not.
        for other in SecretKind::ALL.into_iter().filter(|k| *k != kind) {
            let swapped = format!("{}{}", other.prefix(), &value[4..]);
            assert_eq!(matching(&rules, &swapped), [rule_name(other).as_str()]);
            assert_eq!(checksum_valid(&swapped), None, "{swapped}");
        }
    }
}
