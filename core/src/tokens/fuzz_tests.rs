//! Property tests of the access-token verifier (issue 17: fuzzing without a nightly
//! toolchain). Whatever text arrives as a bearer token, `verify` must not panic and must
//! accept nothing but a token this service signed, byte for byte.
//!
//! `PROPTEST_CASES` sets the cases per property (256 by default); `scripts/fuzz.sh` runs
//! them for longer with fresh seeds. The tests in `properties` are the fuzz target.

use super::{TokenService, VerifyError};
use crate::apps::applications::Application;
use crate::authz::scopes::Scopes;
use crate::clock;
use crate::testing::{TEST_AUDIENCE, TEST_ISSUER, TestDatabase, token_service};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseResult, TestRunner};
use serde_json::{Value, json};

/// The app's approved scopes; issued tokens carry a subset.
const APP_SCOPES: &str = "commercial:read commercial:write users:admin";

/// One token service over a throw-away SQLite database, an application and a token issued
/// to it, shared by every case of a property (building it takes a second).
struct Fixture {
    tokens: TokenService,
    app: Application,
    /// A genuinely issued token: the seed of the mutations.
    token: String,
    kid: String,
    db: TestDatabase,
    /// Last, so the database closes while the runtime still exists (see `Drop`).
    runtime: tokio::runtime::Runtime,
}

impl Fixture {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (db, tokens, app) = runtime.block_on(async {
            let db = TestDatabase::sqlite().await;
            let tokens = token_service(&db.db).await;
            let (app, _) = crate::apps::demo::create_app(
                &db.db,
                "acme",
                "Acme",
                "App",
                &Scopes::parse(APP_SCOPES).expect("scopes"),
                "sandbox",
            )
            .await
            .expect("an application");
            (db, tokens, app)
        });
        let token = tokens.issue(&app, None).expect("a token").access_token;
        let kid = tokens.active_kid_for_tests();
        Fixture {
            tokens,
            app,
            token,
            kid,
            db,
            runtime,
        }
    }

    /// Runs one property over `strategy` with the default config (`PROPTEST_CASES`, a fresh
    /// random seed unless `PROPTEST_RNG_SEED` is set) and failures persisted next to this file.
    fn check<S: Strategy>(&self, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
    where
        S::Value: std::fmt::Debug,
    {
        let config = ProptestConfig {
            source_file: Some(file!()),
            ..ProptestConfig::default()
        };
        let mut runner = TestRunner::new(config);
        if let Err(failure) = runner.run(&strategy, test) {
            panic!("{failure}");
        }
    }

    /// Refused by the cached and the uncached path alike, and naming nobody: a token whose
    /// signature does not check out must not put calls into a partner's request log.
    fn assert_refused(&self, token: &str) -> TestCaseResult {
        let cached = self.tokens.verify(token);
        prop_assert!(cached.is_err(), "accepted {token:?}");
        let uncached = self.tokens.verify_uncached(token);
        prop_assert_eq!(cached.err(), uncached.err(), "the two paths disagree");
        prop_assert!(
            self.tokens
                .signed_caller(token, VerifyError::Expired)
                .is_none(),
            "{token:?} names a caller"
        );
        Ok(())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.runtime.block_on(self.db.db.close());
    }
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Values of every JSON type, with the edges of numbers, for claims and header fields.
fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        Just(json!(i64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        Just(json!(1e300)),
        Just(json!(-1)),
        Just(json!(0)),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!(["commercial:read"])),
    ]
}

/// Claims that pass every check.
fn claims_of(app: &Application) -> Value {
    let now = clock::now();
    json!({
        "iss": TEST_ISSUER, "sub": app.client_id, "aud": TEST_AUDIENCE,
        "exp": now + 300, "iat": now, "nbf": now, "jti": "tok_fuzz",
        "client_id": app.client_id, "scope": "commercial:read", "partner_id": app.partner_id,
    })
}

/// Claims close to valid ones: each field kept, dropped, or replaced by an odd value.
fn claims(app: &Application) -> impl Strategy<Value = Value> + use<> {
    let good = claims_of(app);
    let fields: Vec<String> = good
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let edits = proptest::collection::vec(
        (
            proptest::sample::select(fields),
            prop_oneof![Just(None), odd_value().prop_map(Some)],
        ),
        0..4,
    );
    let extra = proptest::option::of(("[a-z]{1,8}", odd_value()));
    (edits, extra).prop_map(move |(edits, extra)| {
        let mut claims = good.clone();
        if let Value::Object(map) = &mut claims {
            for (field, replacement) in edits {
                match replacement {
                    Some(value) => map.insert(field, value),
                    None => map.remove(&field),
                };
            }
            if let Some((key, value)) = extra {
                map.insert(key, value);
            }
        }
        claims
    })
}

/// A JOSE header: plausible fields (the real kid among them) or plain garbage JSON.
fn header(kid: String) -> impl Strategy<Value = Value> {
    let alg = prop_oneof![
        proptest::sample::select(vec![
            "ES256", "es256", "RS256", "EdDSA", "none", "None", "NONE", "HS256", "HS512", "PS256",
            "ES384", "",
        ])
        .prop_map(Value::from),
        odd_value(),
    ];
    let typ = proptest::option::of(prop_oneof![
        proptest::sample::select(vec!["at+jwt", "AT+JWT", "application/at+jwt", "JWT", ""])
            .prop_map(Value::from),
        odd_value(),
    ]);
    let kid = proptest::option::of(prop_oneof![
        Just(Value::from(kid)),
        "[a-z_0-9]{0,12}".prop_map(Value::from),
        odd_value(),
    ]);
    prop_oneof![
        4 => (alg, typ, kid).prop_map(|(alg, typ, kid)| {
            let mut header = json!({ "alg": alg });
            if let Some(typ) = typ {
                header["typ"] = typ;
            }
            if let Some(kid) = kid {
                header["kid"] = kid;
            }
            header
        }),
        1 => odd_value(),
    ]
}

/// A dot-separated segment: base64url of JSON or of random bytes, or raw text.
fn segment(json: impl Strategy<Value = Value>) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => json.prop_map(|value| b64(value.to_string())),
        2 => proptest::collection::vec(any::<u8>(), 0..96).prop_map(b64),
        1 => "[A-Za-z0-9_=+/.-]{0,40}",
    ]
}

/// One edit of a token's text.
#[derive(Clone, Debug)]
enum Mutation {
    /// Replace the character at (position modulo length).
    Replace(usize, char),
    Insert(usize, char),
    Remove(usize),
    Truncate(usize),
    /// Exchange two of the dot-separated segments.
    Swap(usize, usize),
    /// Re-encode the header with this `alg`.
    Alg(String),
    /// Re-encode the header with this `alg` and no signature (`alg: none` style).
    Unsigned(String),
    /// Append a segment (`.x`), or drop the last one.
    Append(String),
    DropLast,
    /// Flip the case of every letter of one segment.
    Case(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let alg = proptest::sample::select(vec![
        "none", "None", "HS256", "HS384", "RS256", "EdDSA", "ES384", "ES256 ", "",
    ])
    .prop_map(str::to_owned);
    let any_char = prop_oneof![
        3 => proptest::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                .chars()
                .collect::<Vec<_>>()
        ),
        1 => any::<char>(),
        1 => proptest::sample::select(vec!['.', '=', '+', '/', ' ', '\0']),
    ];
    prop_oneof![
        4 => (any::<usize>(), any_char.clone()).prop_map(|(at, c)| Mutation::Replace(at, c)),
        1 => (any::<usize>(), any_char).prop_map(|(at, c)| Mutation::Insert(at, c)),
        1 => any::<usize>().prop_map(Mutation::Remove),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (0_usize..3, 0_usize..3).prop_map(|(a, b)| Mutation::Swap(a, b)),
        2 => alg.clone().prop_map(Mutation::Alg),
        1 => alg.prop_map(Mutation::Unsigned),
        1 => "[A-Za-z0-9_-]{0,20}".prop_map(Mutation::Append),
        1 => Just(Mutation::DropLast),
        1 => (0_usize..3).prop_map(Mutation::Case),
    ]
}

fn with_header_alg(token: &str, alg: &str, signature: Option<&str>) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let header = parts
        .first()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let Some(Value::Object(mut header)) = header else {
        return token.to_owned();
    };
    header.insert("alg".into(), Value::from(alg));
    let mut out = vec![b64(Value::Object(header).to_string())];
    out.extend(parts.iter().skip(1).map(|p| (*p).to_owned()));
    if let Some(signature) = signature
        && out.len() > 2
        && let Some(last) = out.last_mut()
    {
        signature.clone_into(last);
    }
    out.join(".")
}

fn apply(token: &str, mutation: &Mutation) -> String {
    let chars: Vec<char> = token.chars().collect();
    let at = |i: usize| if chars.is_empty() { 0 } else { i % chars.len() };
    match mutation {
        Mutation::Replace(i, c) => {
            let mut chars = chars.clone();
            if let Some(slot) = chars.get_mut(at(*i)) {
                *slot = *c;
            }
            chars.into_iter().collect()
        }
        Mutation::Insert(i, c) => {
            let mut chars = chars.clone();
            chars.insert(at(*i), *c);
            chars.into_iter().collect()
        }
        Mutation::Remove(i) => {
            let mut chars = chars.clone();
            if !chars.is_empty() {
                chars.remove(at(*i));
            }
            chars.into_iter().collect()
        }
        Mutation::Truncate(i) => chars[..at(*i)].iter().collect(),
        Mutation::Swap(a, b) => {
            let mut parts: Vec<&str> = token.split('.').collect();
            if *a < parts.len() && *b < parts.len() {
                parts.swap(*a, *b);
            }
            parts.join(".")
        }
        Mutation::Alg(alg) => with_header_alg(token, alg, None),
        Mutation::Unsigned(alg) => with_header_alg(token, alg, Some("")),
        Mutation::Append(segment) => format!("{token}.{segment}"),
        Mutation::DropLast => token
            .rsplit_once('.')
            .map_or_else(String::new, |(rest, _)| rest.to_owned()),
        Mutation::Case(n) => token
            .split('.')
            .enumerate()
            .map(|(i, part)| {
                if i == *n {
                    part.chars()
                        .map(|c| {
                            if c.is_ascii_uppercase() {
                                c.to_ascii_lowercase()
                            } else {
                                c.to_ascii_uppercase()
                            }
                        })
                        .collect()
                } else {
                    part.to_owned()
                }
            })
            .collect::<Vec<String>>()
            .join("."),
    }
}

mod properties {
    use super::*;

    /// Any text at all: refused, no panic.
    #[test]
    fn arbitrary_text_is_refused() {
        let fx = Fixture::new();
        let text = prop_oneof![
            any::<String>(),
            "[A-Za-z0-9_.=+/ -]{0,300}",
            "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,90}",
        ];
        fx.check(text, |text| fx.assert_refused(&text));
    }

    /// Three base64url segments, the header often naming the real key: refused, no panic.
    #[test]
    fn three_part_base64url_is_refused() {
        let fx = Fixture::new();
        let parts = (
            segment(header(fx.kid.clone())),
            segment(claims(&fx.app)),
            segment(Just(Value::Null)),
        );
        fx.check(parts, |(header, payload, signature)| {
            fx.assert_refused(&format!("{header}.{payload}.{signature}"))
        });
    }

    /// Edits of a genuinely issued token (flipped, inserted or removed characters,
    /// truncation, swapped segments, `alg` changed to none/HMAC/another key type, extra or
    /// missing segments): refused unless the text is unchanged.
    #[test]
    fn mutations_of_an_issued_token_are_refused() {
        let fx = Fixture::new();
        fx.tokens.verify(&fx.token).expect("the original verifies");
        fx.check(proptest::collection::vec(mutation(), 1..4), |mutations| {
            let mutated = mutations
                .iter()
                .fold(fx.token.clone(), |token, m| apply(&token, m));
            if mutated == fx.token {
                prop_assert!(fx.tokens.verify(&mutated).is_ok());
                return Ok(());
            }
            fx.assert_refused(&mutated)
        });
    }

    /// Validly signed tokens with odd claims: no panic, and accepted only when every claim
    /// is right (issuer, audience, subject = client, times, scope syntax).
    #[test]
    fn signed_tokens_are_accepted_only_with_valid_claims() {
        let fx = Fixture::new();
        let typ = proptest::sample::select(vec!["at+jwt", "application/AT+JWT", "JWT"]);
        fx.check((claims(&fx.app), typ), |(claims, typ)| {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
            header.typ = Some(typ.to_owned());
            let token = fx.tokens.sign_raw_for_tests(&header, &claims);
            let verified = fx.tokens.verify(&token);
            // Again, from the cache when it was accepted.
            prop_assert_eq!(&verified, &fx.tokens.verify(&token));
            prop_assert_eq!(
                &verified.clone().err(),
                &fx.tokens.verify_uncached(&token).err()
            );
            let Ok(verified) = verified else {
                return Ok(());
            };
            let c = &verified.claims;
            let now = clock::now();
            prop_assert_ne!(typ, "JWT");
            prop_assert_eq!(c.iss.as_str(), TEST_ISSUER);
            prop_assert!(
                c.aud == TEST_AUDIENCE || c.aud == format!("{TEST_AUDIENCE}/production"),
                "aud {}",
                c.aud
            );
            prop_assert_eq!(&c.sub, &c.client_id);
            prop_assert!(
                c.exp.saturating_add(60) >= now && c.nbf.saturating_sub(60) <= now,
                "{c:?}"
            );
            prop_assert_eq!(verified.scopes.to_string(), {
                let mut scopes: Vec<&str> = c.scope.split(' ').filter(|s| !s.is_empty()).collect();
                scopes.sort_unstable();
                scopes.dedup();
                scopes.join(" ")
            });
            prop_assert_eq!(Some(c.jti.as_str()), claims["jti"].as_str());
            Ok(())
        });
    }

    /// A token issued with any subset of the app's scopes verifies, cached or not, carries
    /// them, and names its caller.
    #[test]
    fn issued_tokens_round_trip() {
        let fx = Fixture::new();
        let all: Vec<&str> = APP_SCOPES.split(' ').collect();
        let requested = proptest::option::of(proptest::sample::subsequence(all, 0..=3));
        fx.check(requested, |requested| {
            let requested = requested.map(|s| Scopes::parse(&s.join(" ")).expect("scopes"));
            let issued = fx
                .tokens
                .issue(&fx.app, requested.as_ref())
                .expect("issued");
            let expected = requested.unwrap_or_else(|| fx.app.scopes.clone());
            prop_assert_eq!(&issued.scope, &expected);
            let first = fx.tokens.verify(&issued.access_token).expect("verifies");
            let again = fx.tokens.verify(&issued.access_token).expect("cached");
            prop_assert_eq!(&*first, &*again);
            let uncached = fx
                .tokens
                .verify_uncached(&issued.access_token)
                .expect("uncached");
            prop_assert_eq!(&*first, &uncached);
            prop_assert_eq!(&first.scopes, &expected);
            prop_assert_eq!(&first.claims.jti, &issued.jti);
            prop_assert_eq!(&first.claims.client_id, &fx.app.client_id);
            prop_assert_eq!(&first.kid, &fx.kid);
            let caller = fx
                .tokens
                .signed_caller(&issued.access_token, VerifyError::Expired)
                .expect("a validly signed token names its caller");
            prop_assert_eq!(&*caller.client_id, fx.app.client_id.as_str());
            Ok(())
        });
    }
}

/// Cases the properties found, kept as plain tests.
mod regressions {
    use super::*;

    /// An `exp` of i64::MAX overflowed the early expiry check (a panic in debug builds)
    /// before the signature was even looked at; now such a token is judged like any other.
    #[test]
    fn an_exp_of_i64_max_is_no_overflow() {
        let fx = Fixture::new();
        let mut claims = claims_of(&fx.app);
        claims["exp"] = json!(i64::MAX);
        let header = b64(format!(
            r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}"}}"#,
            fx.kid
        ));
        let unsigned = format!("{header}.{}.{}", b64(claims.to_string()), b64([7_u8; 64]));
        assert_eq!(
            fx.tokens.verify(&unsigned).err(),
            Some(VerifyError::BadSignature)
        );

        // Signed by our own key: far in the future is still in the future, cached or not.
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("at+jwt".into());
        let signed = fx.tokens.sign_raw_for_tests(&header, &claims);
        let first = fx.tokens.verify(&signed).expect("verifies");
        assert_eq!(first.claims.exp, i64::MAX);
        assert_eq!(
            fx.tokens.verify(&signed).expect("cached").claims.exp,
            i64::MAX
        );
    }
}
