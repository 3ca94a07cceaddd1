//! The enforcement core: from the credentials on a request to allow or deny, with the reason.
//! The sandbox gateway and a production stage call the same [`Enforcer::enforce`].

use crate::authz::{Authorizer, AuthzRequest, Decision, Resource};
use crate::tokens::{TokenService, VerifiedToken, VerifyError};
use std::sync::Arc;

/// Where a caller's access token may arrive.
#[derive(Clone, Copy, Debug, Default)]
pub struct PresentedCredentials<'a> {
    /// The `Authorization` header value.
    pub authorization: Option<&'a str>,
    /// The `x-amzn-oidc-accesstoken` header value (set by an OIDC-authenticating load balancer).
    pub oidc_access_token: Option<&'a str>,
}

impl<'a> PresentedCredentials<'a> {
    /// The bearer token: `Authorization: Bearer …` first, then the OIDC header.
    pub fn token(&self) -> Result<&'a str, Denial> {
        if let Some(value) = self.authorization {
            let (scheme, token) = value
                .split_once(' ')
                .ok_or(Denial::MalformedAuthorization)?;
            // `DPoP` (RFC 9449 §7.1) carries a bound token; the gateway checks its proof.
            let known =
                scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop");
            if !known || token.trim().is_empty() {
                return Err(Denial::MalformedAuthorization);
            }
            return Ok(token.trim());
        }
        match self.oidc_access_token.map(str::trim) {
            Some(token) if !token.is_empty() => Ok(token),
            _ => Err(Denial::MissingToken),
        }
    }
}

impl PresentedCredentials<'_> {
    /// Whether the token came as `Authorization: DPoP …` (RFC 9449 §7.1).
    pub fn uses_dpop_scheme(&self) -> bool {
        self.authorization
            .and_then(|value| value.split_once(' '))
            .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("dpop"))
    }
}

/// A caller that passed: who it is, its token, and the policies that allowed it.
#[derive(Clone, Debug)]
pub struct Allowed {
    /// The caller; its Cedar principal is `token.principal`.
    pub token: Arc<VerifiedToken>,
    pub decision: Arc<Decision>,
}

/// Why a request was refused. Maps to 401 (`invalid_token`) or 403 (`insufficient_scope` or a
/// plain forbidden) at the HTTP edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    MissingToken,
    MalformedAuthorization,
    InvalidToken(VerifyError),
    /// The token lacks a scope the operation requires.
    InsufficientScope {
        required: Vec<String>,
        decision: Arc<Decision>,
    },
    /// Policies said no (e.g. another tenant's resource).
    Forbidden(Arc<Decision>),
}

impl Denial {
    /// A reason safe for the caller and the log (never token text), as a sentence.
    pub fn reason(&self) -> String {
        sentence(match self {
            Denial::MissingToken => "no access token was presented".into(),
            Denial::MalformedAuthorization => {
                "the Authorization header is not `Bearer <token>` or `DPoP <token>`".into()
            }
            Denial::InvalidToken(e) => e.to_string(),
            Denial::InsufficientScope { required, .. } => {
                format!("the token lacks the required scope: {}", required.join(" "))
            }
            Denial::Forbidden(decision) => decision.explain(),
        })
    }

    /// The step that failed, for logs and metrics.
    pub fn step(&self) -> &'static str {
        match self {
            Denial::MissingToken | Denial::MalformedAuthorization => "token",
            Denial::InvalidToken(e) => e.step(),
            Denial::InsufficientScope { .. } => "scope",
            Denial::Forbidden(_) => "policy",
        }
    }
}

/// Capital first letter, final period: error bodies read as sentences.
fn sentence(text: String) -> String {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return text;
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

pub struct Enforcer {
    pub tokens: Arc<TokenService>,
    pub authorizer: Arc<Authorizer>,
    /// The `aud` this stage accepts (each stage has its own).
    audience: String,
}

impl std::fmt::Debug for Enforcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enforcer")
    }
}

impl Enforcer {
    /// The sandbox stage's enforcer.
    pub fn new(tokens: Arc<TokenService>, authorizer: Arc<Authorizer>) -> Self {
        Self::for_stage(tokens, authorizer, crate::tokens::Stage::Sandbox)
    }

    /// An enforcer that accepts only tokens issued for `stage`.
    pub fn for_stage(
        tokens: Arc<TokenService>,
        authorizer: Arc<Authorizer>,
        stage: crate::tokens::Stage,
    ) -> Self {
        let audience = tokens.settings().audience_for(stage);
        Self {
            tokens,
            authorizer,
            audience,
        }
    }

    /// Verifies the token and asks the policies, in one step (see [`Enforcer::authenticate`]
    /// and [`Enforcer::authorize`] for a pipeline that runs checks in between).
    pub fn enforce(
        &self,
        credentials: PresentedCredentials<'_>,
        action: &str,
        resource: &Resource,
        required_scopes: &[&str],
    ) -> Result<Allowed, Denial> {
        let token = self.authenticate(credentials)?;
        self.authorize(token, action, resource, required_scopes)
    }

    /// Step one: the presented token, verified.
    pub fn authenticate(
        &self,
        credentials: PresentedCredentials<'_>,
    ) -> Result<Arc<VerifiedToken>, Denial> {
        let token = credentials.token()?;
        let verified = self.tokens.verify(token).map_err(Denial::InvalidToken)?;
        if verified.claims.aud != self.audience {
            return Err(Denial::InvalidToken(
                crate::tokens::verify::VerifyError::WrongAudience,
            ));
        }
        Ok(verified)
    }

    /// Whether a refusal of [`Enforcer::authenticate`] may yet be a partner identity provider's
    /// token accepted directly (cheap: no token is read). See [`Enforcer::authenticate_federated`].
    pub fn may_federate(&self, denial: &Denial) -> bool {
        matches!(denial, Denial::InvalidToken(refused) if self.tokens.may_be_federated(*refused))
    }

    /// After [`Enforcer::authenticate`] refused a token that is not one of Portico's: the
    /// token verified as an approved identity provider's with direct acceptance on (its keys
    /// may have to be fetched, hence async); otherwise the refusal as it was.
    pub async fn authenticate_federated(
        &self,
        credentials: PresentedCredentials<'_>,
        denial: Denial,
    ) -> Result<Arc<VerifiedToken>, Denial> {
        if !self.may_federate(&denial) {
            return Err(denial);
        }
        let Ok(token) = credentials.token() else {
            return Err(denial);
        };
        let production = self
            .tokens
            .settings()
            .audience_for(crate::tokens::Stage::Production);
        let stage = if self.audience == production {
            crate::tokens::Stage::Production
        } else {
            crate::tokens::Stage::Sandbox
        };
        match self.tokens.verify_federated(token, stage).await {
            None => Err(denial),
            Some(verified) => verified.map_err(Denial::InvalidToken),
        }
    }

    /// Whose refused token this was, when its signature holds (see
    /// [`TokenService::signed_caller`]): for the request log, never for access.
    pub fn refused_caller(
        &self,
        credentials: PresentedCredentials<'_>,
        denial: &Denial,
    ) -> Option<crate::tokens::verify::CallerLabels> {
        let Denial::InvalidToken(refused) = denial else {
            return None;
        };
        let token = credentials.token().ok()?;
        self.tokens.signed_caller(token, *refused)
    }

    /// Step two: the policies' decision for a verified caller. Default deny: only a matching
    /// permit (and no forbid) lets the request through. `required_scopes` are the operation's
    /// scopes from the API model; they only sharpen the error (the policies still decide).
    pub fn authorize(
        &self,
        token: Arc<VerifiedToken>,
        action: &str,
        resource: &Resource,
        required_scopes: &[impl AsRef<str>],
    ) -> Result<Allowed, Denial> {
        let decision = self.authorizer.authorize_shared(&AuthzRequest {
            principal: &token.principal,
            action,
            resource,
        });
        if decision.allowed {
            return Ok(Allowed { token, decision });
        }
        let missing: Vec<String> = required_scopes
            .iter()
            .map(AsRef::as_ref)
            .filter(|s| !token.scopes.contains(s))
            .map(str::to_owned)
            .collect();
        if missing.is_empty() {
            Err(Denial::Forbidden(decision))
        } else {
            Err(Denial::InsufficientScope {
                required: missing,
                decision,
            })
        }
    }
}

impl Enforcer {
    /// The tenant rule, on the refusal path only: the policies refused `resource` and it
    /// belongs to another tenant than the caller's. The caller must not learn that it exists,
    /// so the answer is the one the same id would get if it existed nowhere: the policies are
    /// asked about that id in the caller's own tenant. `Ok(())` means they would let it
    /// through (answer as an unknown id); `Err` is the refusal to give. A refusal of the
    /// caller's own object (or a denial that is not a policy decision) comes back as it was.
    pub fn foreign_object_answer(
        &self,
        token: &Arc<VerifiedToken>,
        action: &str,
        resource: &Resource,
        required_scopes: &[impl AsRef<str>],
        denial: Denial,
    ) -> Result<(), Denial> {
        let caller = &token.claims.partner_id;
        if !matches!(
            denial,
            Denial::Forbidden(_) | Denial::InsufficientScope { .. }
        ) || resource.tenant_id == *caller
        {
            return Err(denial);
        }
        tracing::info!(
            step = denial.step(),
            reason = %denial.reason(),
            owner = %resource.tenant_id,
            "request denied: another tenant's object, answered as an unknown id"
        );
        let unknown = Resource {
            tenant_id: caller.clone(),
            ..resource.clone()
        };
        self.authorize(token.clone(), action, &unknown, required_scopes)
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds<'a>(
        authorization: Option<&'a str>,
        oidc: Option<&'a str>,
    ) -> PresentedCredentials<'a> {
        PresentedCredentials {
            authorization,
            oidc_access_token: oidc,
        }
    }

    #[test]
    fn bearer_tokens_come_from_either_header() {
        assert_eq!(creds(Some("Bearer abc"), None).token(), Ok("abc"));
        assert_eq!(creds(Some("bearer  abc "), None).token(), Ok("abc"));
        assert_eq!(creds(None, Some("xyz")).token(), Ok("xyz"));
        assert_eq!(creds(None, None).token(), Err(Denial::MissingToken));
        assert_eq!(creds(Some("DPoP abc"), None).token(), Ok("abc"));
        assert!(creds(Some("dpop abc"), None).uses_dpop_scheme());
        assert!(!creds(Some("Bearer abc"), None).uses_dpop_scheme());
        assert_eq!(
            creds(Some("Basic abc"), None).token(),
            Err(Denial::MalformedAuthorization)
        );
        assert_eq!(
            creds(Some("Bearer"), None).token(),
            Err(Denial::MalformedAuthorization)
        );
    }
}
