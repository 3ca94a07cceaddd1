//! DPoP (RFC 9449) at the HTTP edge: reading the `DPoP` header, binding tokens at the token
//! endpoint, and the gateway's refusals (`WWW-Authenticate: DPoP …`, `DPoP-Nonce`). The checks
//! themselves are in [`portico_core::tokens::dpop`].

use crate::error::{ErrorKind, GatewayError};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use portico_core::request_id::RequestId;
use portico_core::tokens::dpop::{DpopError, NoncePolicy, ProofTarget};
use portico_core::tokens::jwk::ForeignAlg;
use portico_core::tokens::{Confirmation, TokenService};

pub static DPOP: HeaderName = HeaderName::from_static("dpop");
pub static DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The `DPoP` header values of a request (more than one is refused by the checker).
pub fn proofs(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers.get_all(&DPOP).iter().map(HeaderValue::as_bytes)
}

/// The token endpoint's part: a request with a proof gets a token bound to the proof's key;
/// one without gets a bearer token, unless the application requires DPoP. A nonce is always
/// demanded here (clients such as openid-client retry with it on their own), which bounds a
/// replayed token request by the nonce's lifetime on every replica.
pub fn token_binding(
    tokens: &TokenService,
    headers: &HeaderMap,
    token_url: &str,
    dpop_required: bool,
) -> Result<Option<Confirmation>, DpopError> {
    if !headers.contains_key(&DPOP) {
        // A missing proof is the degenerate invalid proof: `invalid_dpop_proof` tells the
        // client exactly what to fix, where `invalid_request` would not.
        return if dpop_required {
            Err(DpopError::InvalidProof(
                "this application requires DPoP: send a DPoP proof with the token request",
            ))
        } else {
            Ok(None)
        };
    }
    let proof = tokens.dpop().verify(
        proofs(headers),
        &ProofTarget {
            method: "POST",
            url: token_url,
            access_token: None,
            nonce: NoncePolicy::Required,
        },
    )?;
    Ok(Some(Confirmation {
        jkt: Some(proof.jkt),
        x5t_s256: None,
    }))
}

/// The `DPoP-Nonce` header value to send now.
pub fn nonce_header(tokens: &TokenService) -> Option<HeaderValue> {
    HeaderValue::from_str(&tokens.dpop().current_nonce()).ok()
}

/// The gateway's refusal: 401 `UnauthorizedException` with an RFC 9449 §7.1 challenge
/// (`use_dpop_nonce` also carries a fresh `DPoP-Nonce`), or 503 when proofs cannot be checked
/// for replay right now.
pub fn refusal(tokens: &TokenService, error: &DpopError, request_id: &RequestId) -> Response {
    let kind = match error {
        DpopError::Busy => ErrorKind::ServiceUnavailable,
        _ => ErrorKind::Unauthorized,
    };
    let message = sentence(&error.to_string());
    let mut response = GatewayError::new(kind, message.clone())
        .with_request_id(Some(request_id.clone()))
        .into_response();
    let headers = response.headers_mut();
    if kind == ErrorKind::Unauthorized {
        let challenge = format!(
            r#"DPoP error="{}", error_description="{}", algs="{}""#,
            error.code(),
            message.replace('"', "'"),
            ForeignAlg::names().join(" ")
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
    } else {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if *error == DpopError::UseNonce
        && let Some(nonce) = nonce_header(tokens)
    {
        headers.insert(&DPOP_NONCE, nonce);
    }
    response
}

fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
