use super::*;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

struct ProofKey {
    encoding: EncodingKey,
    public: Value,
}

fn p256() -> ProofKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref();
    ProofKey {
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        public: json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }),
    }
}

const URL: &str = "https://api.example.com/v2/commercial/orders";
const TOKEN: &str = "eyJ.access.token";

fn verifier() -> DpopVerifier {
    DpopVerifier::new([7u8; 32])
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn claims(jti: &str) -> Value {
    json!({ "jti": jti, "htm": "GET", "htu": URL, "iat": clock::now(), "ath": ath(TOKEN) })
}

fn header_for(key: &ProofKey) -> Header {
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some(PROOF_TYP.into());
    header.jwk = Some(serde_json::from_value(key.public.clone()).unwrap());
    header
}

fn sign(key: &ProofKey, header: &Header, claims: &Value) -> String {
    jsonwebtoken::encode(header, claims, &key.encoding).unwrap()
}

fn proof(key: &ProofKey, claims: &Value) -> String {
    sign(key, &header_for(key), claims)
}

fn resource(nonce: NoncePolicy) -> ProofTarget<'static> {
    ProofTarget {
        method: "GET",
        url: URL,
        access_token: Some(TOKEN),
        nonce,
    }
}

fn check(v: &DpopVerifier, proof: &str) -> Result<VerifiedProof, DpopError> {
    v.verify([proof.as_bytes()], &resource(NoncePolicy::IfPresent))
}

fn invalid(result: Result<VerifiedProof, DpopError>) -> &'static str {
    match result {
        Err(DpopError::InvalidProof(why)) => why,
        other => panic!("expected invalid_dpop_proof, got {other:?}"),
    }
}

#[test]
fn a_valid_proof_yields_its_keys_thumbprint() {
    let key = p256();
    let verified = check(&verifier(), &proof(&key, &claims("a"))).unwrap();
    let expected = PublicJwk::from_json(&key.public).unwrap();
    assert_eq!(verified.jkt, expected.thumbprint());
    assert_eq!(verified.nonce, NonceState::Absent);
}

#[test]
fn a_proof_is_single_use() {
    let v = verifier();
    let key = p256();
    let p = proof(&key, &claims("once"));
    check(&v, &p).unwrap();
    assert!(invalid(check(&v, &p)).contains("already used"));
    // The same jti from another key is another proof.
    check(&v, &proof(&p256(), &claims("once"))).unwrap();
}

#[test]
fn typ_must_be_dpop_jwt() {
    let key = p256();
    for typ in [None, Some("JWT"), Some("at+jwt")] {
        let mut header = header_for(&key);
        header.typ = typ.map(str::to_owned);
        let result = check(&verifier(), &sign(&key, &header, &claims("t")));
        assert!(invalid(result).contains("typ"), "{typ:?}");
    }
}

#[test]
fn none_and_hmac_are_refused() {
    let key = p256();
    let body = URL_SAFE_NO_PAD.encode(claims("n").to_string());
    for alg in ["none", "HS256"] {
        let header = json!({ "typ": PROOF_TYP, "alg": alg, "jwk": key.public });
        let head = URL_SAFE_NO_PAD.encode(header.to_string());
        let token = format!("{head}.{body}.c2ln");
        assert!(invalid(check(&verifier(), &token)).contains("alg"), "{alg}");
    }
    // HS256 signed with the public key's bytes, the classic confusion: refused before any key.
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(PROOF_TYP.into());
    let hs = jsonwebtoken::encode(
        &header,
        &claims("h"),
        &EncodingKey::from_secret(key.public.to_string().as_bytes()),
    )
    .unwrap();
    assert!(invalid(check(&verifier(), &hs)).contains("alg"));
}

#[test]
fn the_embedded_key_must_be_public_and_must_have_signed() {
    let key = p256();
    let mut header = header_for(&key);
    header.jwk = None;
    assert!(invalid(check(&verifier(), &sign(&key, &header, &claims("k")))).contains("jwk"));

    // A private key in the header is refused, even though it would verify.
    let mut private = key.public.clone();
    private["d"] = json!("AAAA");
    let header = json!({ "typ": PROOF_TYP, "alg": "ES256", "jwk": private });
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims("p").to_string());
    assert!(invalid(check(&verifier(), &format!("{head}.{body}.c2ln"))).contains("jwk"));

    // Signed by another key than the one it embeds.
    let impostor = p256();
    let forged = sign(&impostor, &header_for(&key), &claims("f"));
    assert!(invalid(check(&verifier(), &forged)).contains("signature"));
}

#[test]
fn method_and_url_must_match_the_request() {
    let key = p256();
    let mut post = claims("m");
    post["htm"] = json!("POST");
    assert!(invalid(check(&verifier(), &proof(&key, &post))).contains("htm"));
    for other in [
        "https://api.example.com/v2/commercial/products",
        "https://evil.example.com/v2/commercial/orders",
        "http://api.example.com/v2/commercial/orders",
        "https://api.example.com:8443/v2/commercial/orders",
        "api.example.com/v2/commercial/orders",
    ] {
        let mut c = claims(other);
        c["htu"] = json!(other);
        assert!(
            invalid(check(&verifier(), &proof(&key, &c))).contains("htu"),
            "{other}"
        );
    }
    // The same URL spelled differently, or with a query, is the same resource.
    for same in [
        "HTTPS://API.example.com:443/v2/commercial/orders",
        "https://api.example.com/v2/commercial/orders?limit=5#x",
        "https://api.example.com/v2/commercial/%6frders",
    ] {
        let mut c = claims(same);
        c["htu"] = json!(same);
        check(&verifier(), &proof(&key, &c)).unwrap_or_else(|e| panic!("{same}: {e}"));
    }
}

#[test]
fn iat_must_be_within_the_window() {
    let key = p256();
    for offset in [-(IAT_WINDOW_SECS + 5), IAT_WINDOW_SECS + 5] {
        let mut c = claims(&offset.to_string());
        c["iat"] = json!(clock::now() + offset);
        assert!(
            invalid(check(&verifier(), &proof(&key, &c))).contains("iat"),
            "{offset}"
        );
    }
    let mut c = claims("noiat");
    c.as_object_mut().unwrap().remove("iat");
    assert!(invalid(check(&verifier(), &proof(&key, &c))).contains("iat"));
    let mut c = claims("skew");
    c["iat"] = json!(clock::now() + 30);
    check(&verifier(), &proof(&key, &c)).unwrap();
}

#[test]
fn ath_must_name_the_access_token() {
    let key = p256();
    let mut wrong = claims("w");
    wrong["ath"] = json!(ath("another token"));
    assert!(invalid(check(&verifier(), &proof(&key, &wrong))).contains("ath"));
    let mut missing = claims("x");
    missing.as_object_mut().unwrap().remove("ath");
    assert!(invalid(check(&verifier(), &proof(&key, &missing))).contains("ath"));
    // At the token endpoint there is no access token yet: ath is not looked at.
    let target = ProofTarget {
        access_token: None,
        ..resource(NoncePolicy::IfPresent)
    };
    verifier()
        .verify([proof(&key, &missing).as_bytes()], &target)
        .unwrap();
}

#[test]
fn nonces_are_demanded_checked_and_shared_by_replicas() {
    let key = p256();
    let v = verifier();
    let required = resource(NoncePolicy::Required);
    assert_eq!(
        v.verify([proof(&key, &claims("n1")).as_bytes()], &required),
        Err(DpopError::UseNonce)
    );
    let mut with_nonce = claims("n2");
    with_nonce["nonce"] = json!(v.current_nonce());
    // Another replica (same master key, its own replay cache) accepts it.
    let replica = verifier();
    let verified = replica
        .verify([proof(&key, &with_nonce).as_bytes()], &required)
        .unwrap();
    assert_eq!(verified.nonce, NonceState::Current);
    // The previous slot's nonce still passes; older ones and made-up ones do not.
    let slot = clock::now().div_euclid(NONCE_SLOT_SECS);
    let mut previous = claims("n3");
    previous["nonce"] = json!(v.nonce_for_slot(slot - 1));
    assert_eq!(
        v.verify([proof(&key, &previous).as_bytes()], &required)
            .unwrap()
            .nonce,
        NonceState::Previous
    );
    for stale in [v.nonce_for_slot(slot - 2), "made-up".to_owned()] {
        let mut c = claims(&stale);
        c["nonce"] = json!(stale);
        // Even where nonces are optional, a wrong one is answered with a fresh nonce.
        assert_eq!(check(&v, &proof(&key, &c)), Err(DpopError::UseNonce));
    }
    // Another installation's nonce is refused.
    let mut foreign = claims("n4");
    foreign["nonce"] = json!(DpopVerifier::new([8u8; 32]).current_nonce());
    assert_eq!(check(&v, &proof(&key, &foreign)), Err(DpopError::UseNonce));
}

#[test]
fn exactly_one_header_is_read() {
    let key = p256();
    let a = proof(&key, &claims("1"));
    let b = proof(&key, &claims("2"));
    let v = verifier();
    assert!(
        invalid(v.verify(
            [a.as_bytes(), b.as_bytes()],
            &resource(NoncePolicy::IfPresent)
        ))
        .contains("more than one")
    );
    assert!(invalid(v.verify([], &resource(NoncePolicy::IfPresent))).contains("no DPoP"));
    assert!(invalid(check(&v, "not.a.jwt")).contains("well-formed"));
    let huge = "a".repeat(MAX_PROOF_BYTES + 1);
    assert!(invalid(check(&v, &huge)).contains("too large"));
}

#[test]
fn a_full_replay_cache_refuses_instead_of_forgetting() {
    let v = DpopVerifier::with_capacity([7u8; 32], 2);
    let key = p256();
    check(&v, &proof(&key, &claims("1"))).unwrap();
    check(&v, &proof(&key, &claims("2"))).unwrap();
    assert_eq!(check(&v, &proof(&key, &claims("3"))), Err(DpopError::Busy));
}

#[test]
fn htu_normalisation() {
    let n = |s: &str| normalize_htu(s);
    assert_eq!(
        n("HTTP://Example.COM:80").as_deref(),
        Some("http://example.com/")
    );
    assert_eq!(
        n("https://h:443/a/%7e%2f?q").as_deref(),
        Some("https://h/a/~%2F")
    );
    assert_eq!(
        n("http://[::1]:4000/x").as_deref(),
        Some("http://[::1]:4000/x")
    );
    assert_eq!(n("http://[::1]/x").as_deref(), Some("http://[::1]/x"));
    assert_eq!(
        n("http://127.0.0.1:4000/v2/x").as_deref(),
        Some("http://127.0.0.1:4000/v2/x")
    );
    for bad in [
        "ftp://h/",
        "http://",
        "http://u@h/",
        "http://h:x/",
        "/v2/x",
        "http://h/%zz",
    ] {
        assert_eq!(n(bad), None, "{bad}");
    }
}

#[test]
fn bound_tokens_need_the_dpop_scheme_and_their_own_key() {
    let key = p256();
    let jkt = PublicJwk::from_json(&key.public)
        .unwrap()
        .thumbprint()
        .to_owned();
    let v = verifier();
    let target = resource(NoncePolicy::IfPresent);
    let p = proof(&key, &claims("s1"));
    // Unbound token as Bearer: nothing to check.
    assert_eq!(
        check_presentation(&v, None, false, [p.as_bytes()], &target),
        Ok(None)
    );
    // Bound token as Bearer, or unbound token as DPoP: invalid_token.
    for (bound, scheme) in [(Some(jkt.as_str()), false), (None, true)] {
        let err = check_presentation(&v, bound, scheme, [p.as_bytes()], &target).unwrap_err();
        assert_eq!(err.code(), "invalid_token", "{bound:?} {scheme}");
    }
    // The right key passes; another key's valid proof does not.
    let ok = check_presentation(&v, Some(&jkt), true, [p.as_bytes()], &target).unwrap();
    assert_eq!(ok.unwrap().jkt, jkt);
    let other = proof(&p256(), &claims("s2"));
    assert!(
        invalid(
            check_presentation(&v, Some(&jkt), true, [other.as_bytes()], &target)
                .map(Option::unwrap)
        )
        .contains("another key")
    );
    // No proof at all.
    assert!(
        invalid(check_presentation(&v, Some(&jkt), true, [], &target).map(Option::unwrap))
            .contains("no DPoP")
    );
}

#[test]
fn applications_that_require_dpop_refuse_bearer_tokens_and_nonce_less_proofs() {
    let with = |nonce| VerifiedProof {
        jkt: "k".into(),
        nonce,
    };
    assert_eq!(check_application_rule(false, None), Ok(()));
    assert_eq!(
        check_application_rule(true, None).unwrap_err().code(),
        "invalid_token"
    );
    assert_eq!(
        check_application_rule(true, Some(&with(NonceState::Absent))),
        Err(DpopError::UseNonce)
    );
    assert_eq!(
        check_application_rule(true, Some(&with(NonceState::Previous))),
        Ok(())
    );
}
