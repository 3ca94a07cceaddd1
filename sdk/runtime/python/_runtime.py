"""The runtime every generated operation shares, written once for all Portico SDKs.

It holds what is the same for every API: the OAuth 2.0 client-credentials token (cached,
refreshed before it expires, fetched once for all threads), environments, typed errors,
retries with backoff and idempotency keys, pagination, deprecation warnings and webhook
verification. The generated modules (``_client``, ``errors``, ``types``) only describe the
operations and their types.
"""

import base64
import importlib
import json
import random
import threading
import time
import uuid
import warnings
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
    TypedDict,
    TypeVar,
    Union,
)
from urllib.parse import quote, quote_plus

import requests

# The distribution name, filled in by the generator (for messages that tell what to install).
_DISTRIBUTION = "__DISTRIBUTION__"

# Exponential backoff with full jitter: a random wait up to base * 2^(attempt - 1), capped.
_BACKOFF_BASE_SECONDS = 0.2
_BACKOFF_CAP_SECONDS = 5.0
# A Retry-After longer than this is not waited for: the error is raised at once.
_MAX_RETRY_AFTER_SECONDS = 60.0
# Tokens are renewed once this share of their lifetime has passed.
_TOKEN_REFRESH_SHARE = 0.8
_RETRIED_STATUSES = (429, 503)


class FieldError(TypedDict):
    """One failing field of a ``ValidationException``."""

    #: Where: ``body.items[0].quantity``, ``query.limit``, ``header.Idempotency-Key``,
    #: ``path.orderId``.
    path: str
    #: The rule that failed.
    message: str


class ApiError(Exception):
    """An error answer of the API (or of its token endpoint).

    Every error type the model documents has its own subclass (``NotFoundException``, ...);
    an answer of another type, or one whose body is not the usual JSON, is an ``ApiError``.
    """

    #: The HTTP status code.
    status: int
    #: The error's ``__type`` (``NotFoundException``), or ``HTTP <status>`` when the body
    #: names none.
    type: str
    #: What went wrong, for a person.
    message: str
    #: The request id (body ``requestId`` or the ``x-request-id`` header): quote it to support.
    request_id: Optional[str]
    #: The decoded JSON body (or its text when it is not JSON, or None when empty).
    body: Any
    #: The response headers (case-insensitive).
    headers: Mapping[str, str]

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str,
        request_id: Optional[str] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.request_id = request_id
        self.body = body
        self.headers = headers if headers is not None else {}

    def __reduce__(self) -> Tuple[Any, ...]:
        # Keyword-only fields: pickling (e.g. across processes) needs to name them.
        fields = {
            "status": self.status,
            "type": self.type,
            "request_id": self.request_id,
            "body": self.body,
            "headers": dict(self.headers),
        }
        return (_rebuild_error, (type(self), self.message, fields))

    def __str__(self) -> str:
        text = f"{self.type} (HTTP {self.status}): {self.message}"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text


def _rebuild_error(cls: Type[ApiError], message: str, fields: Dict[str, Any]) -> ApiError:
    return cls(message, **fields)


class AuthenticationError(ApiError):
    """The token endpoint refused the credentials (an OAuth 2.0 error answer).

    ``type`` and ``error`` are the OAuth error code (``invalid_client``, ``invalid_scope``,
    ...) and ``message`` its ``error_description``.
    """

    @property
    def error(self) -> str:
        """The OAuth 2.0 error code."""
        return self.type


class WebhookVerificationError(Exception):
    """A webhook delivery whose signature, headers or timestamp do not verify."""


class PorticoDeprecationWarning(UserWarning):
    """An operation answered with ``Deprecation`` / ``Sunset`` headers: move off it in time.

    A ``UserWarning`` so that it shows by default (``DeprecationWarning`` is hidden outside
    ``__main__``); silence it with ``warnings.simplefilter("ignore", PorticoDeprecationWarning)``.
    """


class Environment(NamedTuple):
    """Where a client sends its calls and gets its tokens."""

    base_url: str
    token_url: str
    audience: Optional[str] = None


class Operation(NamedTuple):
    """What the runtime needs to know about one generated operation."""

    #: The model's ``operationId``.
    id: str
    method: str
    #: The path template under the base URL, version included: ``/v2/orders/{orderId}``.
    path: str
    #: Whether repeating the request after a network error cannot act twice.
    idempotent: bool
    #: The header that carries the idempotency key, when the operation takes one.
    idempotency_header: Optional[str] = None


def parse_field_errors(body: Any) -> List[FieldError]:
    """The ``fieldErrors`` of an error body, skipping malformed entries."""
    entries = body.get("fieldErrors") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return []
    return [
        FieldError(path=str(entry.get("path", "")), message=str(entry.get("message", "")))
        for entry in entries
        if isinstance(entry, dict)
    ]


def parse_retry_after(headers: Mapping[str, str]) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delay-seconds or an HTTP date), or None."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _basic_auth(client_id: str, client_secret: str) -> str:
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before Base64.
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def _decode_body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


class _TokenSource:
    """Access tokens for API calls."""

    def token(self) -> str:
        raise NotImplementedError

    def invalidate(self, token: str) -> None:
        """The API refused ``token`` (401): the next ``token()`` must not return it."""


class _HookTokens(_TokenSource):
    """Tokens from the caller's ``token_provider`` (asked again after a 401)."""

    def __init__(self, provider: Callable[[], str]) -> None:
        self._provider = provider

    def token(self) -> str:
        return self._provider()


class _ClientCredentials(_TokenSource):
    """The OAuth 2.0 client-credentials grant, with the token cached in memory.

    The token is renewed once 80 % of its lifetime has passed. A lock makes concurrent
    callers (threads) share one token request: the first fetches, the others wait for it.
    """

    def __init__(
        self,
        transport: "_Transport",
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: Optional[Sequence[str]],
        audience: Optional[str],
    ) -> None:
        self._transport = transport
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scopes = list(scopes) if scopes is not None else None
        self._audience = audience
        self._lock = threading.Lock()
        self._token: Optional[str] = None
        self._renew_at = 0.0

    def token(self) -> str:
        with self._lock:
            if self._token is not None and time.monotonic() < self._renew_at:
                return self._token
            token, expires_in = self._fetch()
            self._token = token
            self._renew_at = time.monotonic() + _TOKEN_REFRESH_SHARE * expires_in
            return token

    def invalidate(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> Tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        if self._audience:
            form["audience"] = self._audience
        headers = {
            "Authorization": _basic_auth(self._client_id, self._client_secret),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        # Asking for a token twice is harmless: network errors and 429/503 are retried.
        response = self._transport.send(
            "POST", self._token_url, headers=headers, data=form, idempotent=True
        )
        body = _decode_body(response)
        if response.status_code != 200:
            error = body.get("error") if isinstance(body, dict) else None
            description = body.get("error_description") if isinstance(body, dict) else None
            raise AuthenticationError(
                str(description or error or f"the token endpoint answered {response.status_code}"),
                status=response.status_code,
                type=str(error or f"HTTP {response.status_code}"),
                request_id=response.headers.get("x-request-id"),
                body=body,
                headers=response.headers,
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                "the token endpoint answered without an access_token",
                status=response.status_code,
                type="invalid_response",
                body=body,
                headers=response.headers,
            )
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) else 60.0
        return token, lifetime


# Operations already warned about (Deprecation / Sunset headers): one warning per process.
_warned_operations: Set[str] = set()
_warned_lock = threading.Lock()


def _warn_if_deprecated(operation: Operation, response: requests.Response) -> None:
    deprecation = response.headers.get("Deprecation")
    sunset = response.headers.get("Sunset")
    if not deprecation and not sunset:
        return
    with _warned_lock:
        if operation.id in _warned_operations:
            return
        _warned_operations.add(operation.id)
    message = f"{operation.id} is deprecated"
    if sunset:
        message += f"; it stops working on {sunset}"
    link = response.headers.get("Link")
    if link and 'rel="sunset"' in link:
        message += f" (see {link.split(';')[0].strip('<> ')})"
    # Point at the caller's line: warn <- _warn_if_deprecated <- call <- the client method.
    warnings.warn(message + ".", PorticoDeprecationWarning, stacklevel=5)


class _Transport:
    """Sends requests: authentication, retries, errors."""

    def __init__(
        self,
        *,
        base_url: str,
        session: requests.Session,
        owns_session: bool,
        timeout: float,
        max_attempts: int,
        user_agent: str,
        api_key: Optional[str],
        error_types: Mapping[str, Type[ApiError]],
        status_error_types: Mapping[int, Type[ApiError]],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.owns_session = owns_session
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.user_agent = user_agent
        self.api_key = api_key
        self.error_types = error_types
        self.status_error_types = status_error_types
        self.tokens: _TokenSource = _TokenSource()
        # Replaceable in tests.
        self.sleep: Callable[[float], None] = time.sleep

    def backoff(self, attempt: int) -> float:
        ceiling = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Dict[str, str],
        idempotent: bool,
        params: Optional[List[Tuple[str, str]]] = None,
        data: Union[bytes, Mapping[str, str], None] = None,
    ) -> requests.Response:
        """One request, repeated after 429 / 503 (and network errors, when idempotent)."""
        headers.setdefault("User-Agent", self.user_agent)
        attempt = 1
        while True:
            try:
                response = self.session.request(
                    method, url, params=params, data=data, headers=headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout):
                if not idempotent or attempt >= self.max_attempts:
                    raise
                self.sleep(self.backoff(attempt))
                attempt += 1
                continue
            if response.status_code in _RETRIED_STATUSES and attempt < self.max_attempts:
                delay = parse_retry_after(response.headers)
                if delay is None:
                    delay = self.backoff(attempt)
                if delay <= _MAX_RETRY_AFTER_SECONDS:
                    response.close()
                    self.sleep(delay)
                    attempt += 1
                    continue
            return response

    def call(
        self,
        operation: Operation,
        *,
        path: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        has_body: bool = False,
    ) -> Any:
        """Calls one operation and returns its decoded 2xx body (None when empty)."""
        target = operation.path
        for name, value in (path or {}).items():
            target = target.replace("{" + name + "}", quote(_text(value), safe=""))
        params = [
            (name, _text(item))
            for name, value in (query or {}).items()
            if value is not None
            for item in (value if isinstance(value, (list, tuple)) else [value])
        ]
        request_headers = {"Accept": "application/json"}
        if self.api_key:
            request_headers["x-api-key"] = self.api_key
        for name, value in (headers or {}).items():
            if value is not None:
                request_headers[name] = _text(value)
        # One key per logical call, reused by its retries: the server acts once.
        if operation.idempotency_header and not request_headers.get(operation.idempotency_header):
            request_headers[operation.idempotency_header] = str(uuid.uuid4())
        data = None
        if has_body:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            request_headers["Content-Type"] = "application/json"

        refreshed = False
        while True:
            token = self.tokens.token()
            request_headers["Authorization"] = f"Bearer {token}"
            response = self.send(
                operation.method,
                self.base_url + target,
                headers=request_headers,
                params=params,
                data=data,
                idempotent=operation.idempotent,
            )
            # An expired or revoked token: one new token and ONE more try, never a loop.
            if response.status_code == 401 and not refreshed:
                refreshed = True
                response.close()
                self.tokens.invalidate(token)
                continue
            break
        _warn_if_deprecated(operation, response)
        if 200 <= response.status_code < 300:
            return _decode_body(response)
        raise self.error(response)

    def error(self, response: requests.Response) -> ApiError:
        """The typed error of an error answer, whatever its body."""
        body = _decode_body(response)
        fields: Mapping[str, Any] = body if isinstance(body, dict) else {}
        type_name = fields.get("__type")
        if isinstance(type_name, str) and type_name:
            # Some services qualify the type: `aws.protocols#NotFoundException:http://...`.
            type_name = type_name.split("#")[-1].split(":")[0]
        else:
            type_name = None
        error_class = self.error_types.get(type_name) if type_name else None
        if error_class is None and type_name is None:
            error_class = self.status_error_types.get(response.status_code)
        if error_class is None:
            error_class = ApiError
        if type_name is None:
            type_name = (
                error_class.__name__
                if error_class is not ApiError
                else f"HTTP {response.status_code}"
            )
        message = fields.get("message") or fields.get("Message")
        if not isinstance(message, str) or not message:
            message = response.reason or f"HTTP {response.status_code}"
        request_id = fields.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            request_id = response.headers.get("x-request-id")
        return error_class(
            message,
            status=response.status_code,
            type=type_name,
            request_id=request_id,
            body=body,
            headers=response.headers,
        )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_Client = TypeVar("_Client", bound="BaseClient")


class BaseClient:
    """What every generated client shares: construction, credentials and the request loop."""

    # Set by the generated subclass.
    _environments: Mapping[str, Environment] = {}
    _error_types: Mapping[str, Type[ApiError]] = {}
    _status_error_types: Mapping[int, Type[ApiError]] = {}
    _user_agent = "portico-sdk"

    def __init__(
        self,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        *,
        api_key: Optional[str] = None,
        scopes: Optional[Sequence[str]] = None,
        environment: str = "sandbox",
        base_url: Optional[str] = None,
        token_url: Optional[str] = None,
        audience: Optional[str] = None,
        token_provider: Optional[Callable[[], str]] = None,
        max_attempts: int = 3,
        session: Optional[requests.Session] = None,
        timeout: float = 10.0,
    ) -> None:
        name = type(self).__name__
        has_credentials = client_id is not None or client_secret is not None
        if token_provider is not None and has_credentials:
            raise ValueError(
                f"{name}: pass either client_id and client_secret or token_provider, not both"
            )
        if token_provider is None and (not client_id or not client_secret):
            raise ValueError(
                f"{name} needs client_id and client_secret (your application's OAuth client "
                "credentials, from the portal), or token_provider= (a function returning an "
                "access token)"
            )
        if max_attempts < 1:
            raise ValueError(f"{name}: max_attempts must be at least 1, not {max_attempts}")
        if isinstance(scopes, str):
            # A lone string would otherwise be read as a list of one-letter scopes.
            scopes = scopes.split()
        preset = self._environments.get(environment)
        if preset is None:
            available = ", ".join(sorted(self._environments)) or "none"
            hint = (
                " (this Portico has no production stage configured)"
                if environment == "production"
                else ""
            )
            raise ValueError(
                f"{name}: unknown environment {environment!r}{hint}; available: {available}. "
                "Pass base_url= (and token_url=) to call another server."
            )
        self._transport = _Transport(
            base_url=base_url or preset.base_url,
            session=session if session is not None else requests.Session(),
            owns_session=session is None,
            timeout=timeout,
            max_attempts=max_attempts,
            user_agent=self._user_agent,
            api_key=api_key,
            error_types=self._error_types,
            status_error_types=self._status_error_types,
        )
        if token_provider is not None:
            self._transport.tokens = _HookTokens(token_provider)
        else:
            assert client_id is not None and client_secret is not None
            self._transport.tokens = _ClientCredentials(
                self._transport,
                token_url or preset.token_url,
                client_id,
                client_secret,
                scopes,
                audience if audience is not None else preset.audience,
            )

    @property
    def base_url(self) -> str:
        """Where this client sends its calls."""
        return self._transport.base_url

    def close(self) -> None:
        """Closes the HTTP session, when the client created it."""
        if self._transport.owns_session:
            self._transport.session.close()

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(
        self,
        operation: Operation,
        *,
        path: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        has_body: bool = False,
    ) -> Any:
        return self._transport.call(
            operation, path=path, query=query, headers=headers, body=body, has_body=has_body
        )


def iterate_cursor(
    fetch: Callable[[Optional[str]], Mapping[str, Any]],
    *,
    items_field: str,
    next_cursor_field: str,
) -> Iterator[Any]:
    """Every item of a cursor-paged list: pages are fetched as the iteration needs them."""
    cursor: Optional[str] = None
    seen: Set[str] = set()
    while True:
        page = fetch(cursor)
        items = page.get(items_field)
        if isinstance(items, list):
            yield from items
        next_cursor = page.get(next_cursor_field)
        # A repeated cursor would loop forever: stop instead.
        if not isinstance(next_cursor, str) or not next_cursor or next_cursor in seen:
            return
        seen.add(next_cursor)
        cursor = next_cursor


def iterate_pages(
    fetch: Callable[[int], Mapping[str, Any]],
    *,
    items_field: str,
    size_field: Optional[str],
    total_field: Optional[str],
    page_size: Optional[int],
    first_page: int = 1,
) -> Iterator[Any]:
    """Every item of a page-numbered list: the last page is empty, shorter than the page
    size, or reaches the total."""
    number = first_page
    count = 0
    while True:
        page = fetch(number)
        items = page.get(items_field)
        if not isinstance(items, list) or not items:
            return
        yield from items
        count += len(items)
        total = page.get(total_field) if total_field else None
        if isinstance(total, int) and count >= total:
            return
        size = page_size
        if size is None and size_field:
            answered = page.get(size_field)
            size = answered if isinstance(answered, int) else None
        if size is not None and len(items) < size:
            return
        number += 1


def verify_webhook(
    payload: Union[str, bytes], headers: Mapping[str, str], secret: str
) -> Any:
    """Verifies a webhook delivery (Standard Webhooks) and returns its decoded event.

    ``payload`` is the raw request body exactly as received, ``headers`` the request headers
    (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) and ``secret`` the
    endpoint's signing secret (``whsec_...``) from the portal. Raises
    ``WebhookVerificationError`` when the delivery does not verify. Needs the ``webhooks``
    extra (the ``standardwebhooks`` package).
    """
    try:
        standardwebhooks = importlib.import_module("standardwebhooks")
    except ImportError as missing:
        raise ImportError(
            "verify_webhook needs the standardwebhooks package: install the webhooks extra, "
            f'pip install "{_DISTRIBUTION}[webhooks] @ <package URL>" (or pip install '
            "standardwebhooks)"
        ) from missing
    try:
        webhook = standardwebhooks.Webhook(secret)
    except Exception as invalid:
        raise WebhookVerificationError(f"invalid webhook secret: {invalid}") from invalid
    try:
        return webhook.verify(payload, dict(headers))
    except standardwebhooks.WebhookVerificationError as failed:
        raise WebhookVerificationError(str(failed)) from failed
