//! Gateway errors in the Smithy shape of the design contract:
//! `{"__type": "NotFoundException", "message": "...", "requestId": "..."}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portico_core::request_id::RequestId;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Unauthorized,
    Forbidden,
    Validation,
    NotFound,
    Throttling,
    LimitExceeded,
    Gone,
    ServiceUnavailable,
    Internal,
    /// The upstream (production stage) failed or answered garbage.
    BadGateway,
    /// The upstream did not answer in time.
    GatewayTimeout,
    /// A state conflict, e.g. an Idempotency-Key reused with a different body.
    Conflict,
    /// A known path with another method (the response carries `Allow`).
    MethodNotAllowed,
    /// A request body over the endpoint's limit.
    PayloadTooLarge,
}

impl ErrorKind {
    pub fn type_name(self) -> &'static str {
        match self {
            ErrorKind::Unauthorized => "UnauthorizedException",
            ErrorKind::Forbidden => "ForbiddenException",
            ErrorKind::Validation => "ValidationException",
            ErrorKind::NotFound => "NotFoundException",
            ErrorKind::Throttling => "ThrottlingException",
            ErrorKind::LimitExceeded => "LimitExceededException",
            ErrorKind::Gone => "GoneException",
            ErrorKind::ServiceUnavailable => "ServiceUnavailableException",
            ErrorKind::Internal => "InternalServerException",
            ErrorKind::BadGateway => "BadGatewayException",
            ErrorKind::GatewayTimeout => "GatewayTimeoutException",
            ErrorKind::Conflict => "ConflictException",
            ErrorKind::MethodNotAllowed => "MethodNotAllowedException",
            ErrorKind::PayloadTooLarge => "PayloadTooLargeException",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Validation => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Throttling | ErrorKind::LimitExceeded => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::BadGateway => StatusCode::BAD_GATEWAY,
            ErrorKind::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

/// The gateway's one error type. Messages are for the caller; internal causes are logged by
/// whoever builds an `Internal` error and never put into the message.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", kind.type_name())]
pub struct GatewayError {
    pub kind: ErrorKind,
    pub message: String,
    pub request_id: Option<RequestId>,
    /// For `ValidationException`: each failing field and the rule it broke.
    pub field_errors: Vec<FieldErrorBody>,
}

/// One entry of a `ValidationException`'s `fieldErrors`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldErrorBody {
    pub path: String,
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "__type")]
    kind: &'static str,
    message: &'a str,
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(rename = "fieldErrors", skip_serializing_if = "<[_]>::is_empty")]
    field_errors: &'a [FieldErrorBody],
}

impl GatewayError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            request_id: None,
            field_errors: Vec::new(),
        }
    }

    pub fn with_field_errors(mut self, field_errors: Vec<FieldErrorBody>) -> Self {
        self.field_errors = field_errors;
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn with_request_id(mut self, request_id: Option<RequestId>) -> Self {
        self.request_id = request_id;
        self
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let body = Body {
            kind: self.kind.type_name(),
            message: &self.message,
            request_id: self.request_id.as_ref().map(RequestId::as_str),
            field_errors: &self.field_errors,
        };
        let mut response = (self.kind.status(), Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

impl GatewayError {
    /// The response for a refused request: 401 with an RFC 6750 `invalid_token` challenge, or
    /// 403 (`insufficient_scope` when a scope is missing, otherwise a plain policy refusal).
    pub fn from_denial(
        denial: &portico_core::enforce::Denial,
        request_id: Option<RequestId>,
    ) -> Response {
        use portico_core::enforce::Denial;
        let (kind, challenge) = match denial {
            // RFC 6750 §3.1: no error code when the request carried no credentials at all.
            Denial::MissingToken => (
                ErrorKind::Unauthorized,
                r#"Bearer realm="portico""#.to_owned(),
            ),
            Denial::MalformedAuthorization => (
                ErrorKind::Unauthorized,
                r#"Bearer realm="portico", error="invalid_request""#.to_owned(),
            ),
            Denial::InvalidToken(e) => (
                ErrorKind::Unauthorized,
                format!(
                    r#"Bearer realm="portico", error="invalid_token", error_description="{e}""#
                ),
            ),
            Denial::InsufficientScope { required, .. } => (
                ErrorKind::Forbidden,
                format!(
                    r#"Bearer realm="portico", error="insufficient_scope", scope="{}""#,
                    required.join(" ")
                ),
            ),
            Denial::Forbidden(_) => (ErrorKind::Forbidden, String::new()),
        };
        let mut response = GatewayError::new(kind, denial.reason())
            .with_request_id(request_id)
            .into_response();
        if !challenge.is_empty()
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
