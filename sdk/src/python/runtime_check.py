"""The generated v2 package's runtime, driven through a fake requests adapter (no server).

Run by the Rust unit tests next to an unpacked wheel; prints "runtime ok" at the end.
"""

import base64
import json
import pickle
import threading
import time
import warnings
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Tuple
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from portico_commercial import (
    ApiError,
    AuthenticationError,
    ConflictException,
    NotFoundException,
    PorticoCommercialClient,
    PorticoDeprecationWarning,
    ServiceUnavailableException,
    UnauthorizedException,
    ValidationException,
    WebhookVerificationError,
    verify_webhook,
)

Handler = Callable[[requests.PreparedRequest], Tuple[int, Dict[str, str], Any]]


class FakeServer(BaseAdapter):
    """Answers every request with `handler`; records what was sent."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.requests: List[requests.PreparedRequest] = []
        self.lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        with self.lock:
            self.requests.append(request)
        status, headers, body = self.handler(request)
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        if body is None:
            response._content = b""
        elif isinstance(body, bytes):
            response._content = body
        else:
            response._content = json.dumps(body).encode()
            response.headers.setdefault("Content-Type", "application/json")
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass

    def calls(self, path: str) -> List[requests.PreparedRequest]:
        return [r for r in self.requests if urlsplit(r.url or "").path == path]


TOKEN_PATH = "/oauth2/token"
ORDER = {"id": "ord_1", "status": "pending", "items": [], "total": {"amount": "1.00", "currency": "EUR"}}


def token_answer(request: requests.PreparedRequest, number: int, expires_in: int = 900) -> Tuple[int, Dict[str, str], Any]:
    form = parse_qs(str(request.body))
    assert form["grant_type"] == ["client_credentials"], form
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"id:secret").decode()
    return 200, {}, {"access_token": f"tok{number}", "token_type": "Bearer", "expires_in": expires_in}


def client_for(server: FakeServer, **options: Any) -> PorticoCommercialClient:
    session = requests.Session()
    session.mount("http://", server)
    client = PorticoCommercialClient("id", "secret", api_key="key", session=session, **options)
    client._transport.sleep = lambda seconds: None
    return client


def check_token_is_shared_by_threads_and_sent_with_the_api_key() -> None:
    tokens = 0

    def handler(request: requests.PreparedRequest) -> Tuple[int, Dict[str, str], Any]:
        nonlocal tokens
        if urlsplit(request.url or "").path == TOKEN_PATH:
            time.sleep(0.2)  # slow, so that every thread asks while it is in flight
            tokens += 1
            form = parse_qs(str(request.body))
            assert form["scope"] == ["commercial:read commercial:write"], form
            assert form["audience"] == ["portico-api"], form
            return token_answer(request, tokens)
        assert request.headers["Authorization"] == "Bearer tok1"
        assert request.headers["x-api-key"] == "key"
        return 200, {}, ORDER

    server = FakeServer(handler)
    client = client_for(server, scopes=["commercial:read", "commercial:write"])
    threads = [threading.Thread(target=lambda: client.get_order("ord_1")) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tokens == 1, tokens
    assert len(server.calls("/v2/commercial/orders/ord_1")) == 8


def check_a_401_refreshes_once_and_retries_once() -> None:
    tokens = 0

    def handler(request: requests.PreparedRequest) -> Tuple[int, Dict[str, str], Any]:
        nonlocal tokens
        if urlsplit(request.url or "").path == TOKEN_PATH:
            tokens += 1
            return token_answer(request, tokens)
        if request.headers["Authorization"] == "Bearer tok1":
            return 401, {}, {"__type": "UnauthorizedException", "message": "expired"}
        return 200, {}, ORDER

    server = FakeServer(handler)
    assert client_for(server).get_order("ord_1")["id"] == "ord_1"
    assert tokens == 2 and len(server.calls("/v2/commercial/orders/ord_1")) == 2

    # A server that refuses every token: one refresh, then the error (never a loop).
    refused = FakeServer(
        lambda r: token_answer(r, 9)
        if urlsplit(r.url or "").path == TOKEN_PATH
        else (401, {"x-request-id": "req_9"}, {"__type": "UnauthorizedException", "message": "no"})
    )
    try:
        client_for(refused).get_order("ord_1")
        raise AssertionError("no error")
    except UnauthorizedException as error:
        assert error.status == 401 and error.request_id == "req_9", error
    assert len(refused.calls(TOKEN_PATH)) == 2 and len(refused.calls("/v2/commercial/orders/ord_1")) == 2


def check_tokens_are_renewed_at_80_percent_of_their_lifetime() -> None:
    tokens = 0

    def handler(request: requests.PreparedRequest) -> Tuple[int, Dict[str, str], Any]:
        nonlocal tokens
        if urlsplit(request.url or "").path == TOKEN_PATH:
            tokens += 1
            return token_answer(request, tokens, expires_in=1)
        return 200, {}, ORDER

    client = client_for(FakeServer(handler))
    client.get_order("ord_1")
    client.get_order("ord_1")
    assert tokens == 1
    time.sleep(0.85)
    client.get_order("ord_1")
    assert tokens == 2, tokens


def check_retries_honour_retry_after_and_stop() -> None:
    answers = [
        (429, {"Retry-After": "2"}, {"__type": "ThrottlingException", "message": "slow down"}),
        (200, {}, ORDER),
    ]

    def handler(request: requests.PreparedRequest) -> Tuple[int, Dict[str, str], Any]:
        if urlsplit(request.url or "").path == TOKEN_PATH:
            return token_answer(request, 1)
        return answers.pop(0)

    client = client_for(FakeServer(handler))
    waits: List[float] = []
    client._transport.sleep = waits.append
    assert client.get_order("ord_1")["id"] == "ord_1"
    assert waits == [2.0], waits

    unavailable = FakeServer(
        lambda r: token_answer(r, 1)
        if urlsplit(r.url or "").path == TOKEN_PATH
        else (503, {"Retry-After": "1"}, {"__type": "ServiceUnavailableException", "message": "later"})
    )
    try:
        client_for(unavailable, max_attempts=3).get_order("ord_1")
        raise AssertionError("no error")
    except ServiceUnavailableException as error:
        assert error.retry_after == 1.0 and error.type == "ServiceUnavailableException"
    assert len(unavailable.calls("/v2/commercial/orders/ord_1")) == 3

    # Without Retry-After: exponential backoff with full jitter, bounded.
    backoff = client_for(unavailable)._transport.backoff
    assert all(0 <= backoff(1) <= 0.2 for _ in range(50))
    assert all(0 <= backoff(10) <= 5.0 for _ in range(50))


def check_network_errors_retry_only_idempotent_calls_with_one_key() -> None:
    created: List[str] = []
    failures = {"create": 1, "cancel": 1}

    def handler(request: requests.PreparedRequest) -> Tuple[int, Dict[str, str], Any]:
        path = urlsplit(request.url or "").path
        if path == TOKEN_PATH:
            return token_answer(request, 1)
        if path == "/v2/commercial/orders":
            created.append(request.headers["Idempotency-Key"])
            if failures["create"]:
                failures["create"] -= 1
                raise requests.ConnectionError("lost the answer")
            assert json.loads(request.body or b"") == {"items": [{"product_id": "prd_1", "quantity": 1}]}
            return 201, {}, ORDER
        failures["cancel"] -= 1
        raise requests.ConnectionError("lost the answer")

    server = FakeServer(handler)
    client = client_for(server)
    client.create_order(body={"items": [{"product_id": "prd_1", "quantity": 1}]})
    assert len(created) == 2 and created[0] == created[1], created
    client.create_order(body={"items": [{"product_id": "prd_1", "quantity": 1}]}, idempotency_key="mine")
    assert created[-1] == "mine"
    try:
        client.cancel_order("ord_1")
        raise AssertionError("no error")
    except requests.ConnectionError:
        pass
    assert len(server.calls("/v2/commercial/orders/ord_1/cancel")) == 1


def check_pagination_follows_the_cursor() -> None:
    pages = {None: (["a", "b"], "c1"), "c1": (["c", "d"], "c2"), "c2": (["e"], None)}

    def handler(request: requests.PreparedRequest) -> Tuple[int, Dict[str, str], Any]:
        if urlsplit(request.url or "").path == TOKEN_PATH:
            return token_answer(request, 1)
        query = parse_qs(urlsplit(request.url or "").query)
        assert query["limit"] == ["2"] and query["status"] == ["pending"], query
        ids, next_cursor = pages[query.get("cursor", [None])[0]]
        return 200, {}, {"data": [dict(ORDER, id=i) for i in ids], "next_cursor": next_cursor}

    server = FakeServer(handler)
    items = client_for(server).paginate_list_orders(status="pending", limit=2)
    assert [order["id"] for order in items] == ["a", "b", "c", "d", "e"]
    assert len(server.calls("/v2/commercial/orders")) == 3


def check_page_numbers_stop_at_the_total_or_a_short_page() -> None:
    from portico_commercial._runtime import iterate_pages

    letters = "abcde"
    fetched: List[int] = []

    def fetch(number: int, with_total: bool) -> Mapping[str, Any]:
        fetched.append(number)
        items = list(letters[(number - 1) * 2 : number * 2])
        page: Dict[str, Any] = {"items": items, "page": number, "per_page": 2}
        if with_total:
            page["total"] = len(letters)
        return page

    common: Dict[str, Any] = {"items_field": "items", "size_field": "per_page", "page_size": None}
    assert list(iterate_pages(lambda n: fetch(n, True), total_field="total", **common)) == list(letters)
    assert fetched == [1, 2, 3], fetched
    fetched.clear()
    # No total: the short third page is the last.
    assert list(iterate_pages(lambda n: fetch(n, False), total_field=None, **common)) == list(letters)
    assert fetched == [1, 2, 3], fetched


def check_deprecation_warns_once_per_operation() -> None:
    def handler(request: requests.PreparedRequest) -> Tuple[int, Dict[str, str], Any]:
        if urlsplit(request.url or "").path == TOKEN_PATH:
            return token_answer(request, 1)
        headers = {"Deprecation": "@1780272000", "Sunset": "Wed, 30 Jun 2027 00:00:00 GMT"}
        return 200, headers, ORDER

    client = client_for(FakeServer(handler))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            client.get_order("ord_1")
            client.cancel_order("ord_1")
    messages = [str(w.message) for w in caught if issubclass(w.category, PorticoDeprecationWarning)]
    assert len(messages) == 2, messages
    assert "GetOrder is deprecated; it stops working on Wed, 30 Jun 2027" in messages[0], messages
    assert caught[0].filename == __file__, caught[0].filename


def check_errors_are_typed_whatever_the_body() -> None:
    answers: List[Tuple[int, Dict[str, str], Any]] = [
        (400, {}, {"__type": "ValidationException", "message": "bad", "requestId": "req_1",
                   "fieldErrors": [{"path": "body.items[0].quantity", "message": "must be >= 1"}]}),
        (502, {"x-request-id": "req_2"}, b"<html>bad gateway</html>"),
        (418, {}, {"__type": "TeapotException", "message": "short and stout"}),
        (404, {}, None),
        (409, {}, {"__type": "aws#ConflictException", "message": "taken"}),
    ]

    def handler(request: requests.PreparedRequest) -> Tuple[int, Dict[str, str], Any]:
        if urlsplit(request.url or "").path == TOKEN_PATH:
            return token_answer(request, 1)
        return answers.pop(0)

    client = client_for(FakeServer(handler))
    caught: List[ApiError] = []
    for _ in range(5):
        try:
            client.get_order("ord_1")
        except ApiError as error:
            caught.append(error)
    validation, gateway, teapot, missing, conflict = caught
    assert isinstance(validation, ValidationException) and validation.request_id == "req_1"
    assert validation.field_errors == [{"path": "body.items[0].quantity", "message": "must be >= 1"}]
    assert type(gateway) is ApiError and gateway.status == 502 and gateway.request_id == "req_2"
    assert gateway.body == "<html>bad gateway</html>"
    assert type(teapot) is ApiError and teapot.type == "TeapotException" and "short and stout" in str(teapot)
    assert isinstance(missing, NotFoundException) and missing.body is None
    assert isinstance(conflict, ConflictException) and conflict.message == "taken"
    copy = pickle.loads(pickle.dumps(validation))
    assert isinstance(copy, ValidationException) and copy.field_errors == validation.field_errors
    assert copy.request_id == "req_1" and str(copy) == str(validation)


def check_token_errors_and_construction() -> None:
    refused = FakeServer(
        lambda r: (401, {}, {"error": "invalid_client", "error_description": "client authentication failed"})
    )
    try:
        client_for(refused).get_order("ord_1")
        raise AssertionError("no error")
    except AuthenticationError as error:
        assert error.error == "invalid_client" and error.status == 401
        assert error.message == "client authentication failed"
    assert len(refused.calls(TOKEN_PATH)) == 1

    hook_tokens: List[str] = []

    def hook() -> str:
        hook_tokens.append("mine")
        return "mine"

    server = FakeServer(lambda r: (200, {}, ORDER))
    session = requests.Session()
    session.mount("http://", server)
    client = PorticoCommercialClient(token_provider=hook, session=session, base_url="http://other.test/")
    client.get_order("ord_1")
    assert server.requests[0].headers["Authorization"] == "Bearer mine"
    assert server.requests[0].url == "http://other.test/v2/commercial/orders/ord_1"
    assert "x-api-key" not in server.requests[0].headers

    cases: List[Tuple[Dict[str, Any], str]] = [
        ({}, "needs client_id and client_secret"),
        ({"client_id": "id", "client_secret": "s", "environment": "staging"}, "unknown environment 'staging'"),
        ({"client_id": "id", "client_secret": "s", "token_provider": hook}, "not both"),
    ]
    for arguments, expected in cases:
        try:
            PorticoCommercialClient(**arguments)
            raise AssertionError(f"no error for {arguments}")
        except ValueError as error:
            assert expected in str(error), error
    production = PorticoCommercialClient("id", "s", environment="production")
    assert production.base_url == "https://api.partner.test"
    with PorticoCommercialClient("id", "s") as sandbox:
        assert sandbox.base_url == "http://sandbox.test"


def check_webhooks_delegate_to_standardwebhooks() -> None:
    try:
        import standardwebhooks
    except ImportError:
        try:
            verify_webhook("{}", {}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            raise AssertionError("no error")
        except ImportError as missing:
            assert "portico-commercial[webhooks]" in str(missing)
        return
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    payload = json.dumps({"type": "order.created", "data": ORDER})
    now = datetime.now(tz=timezone.utc)
    signature = standardwebhooks.Webhook(secret).sign("msg_1", now, payload)
    headers: Mapping[str, str] = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    assert verify_webhook(payload, headers, secret)["type"] == "order.created"
    assert verify_webhook(payload.encode(), headers, secret)["data"]["id"] == "ord_1"
    for tampered in [payload.replace("ord_1", "ord_2"), payload + " "]:
        try:
            verify_webhook(tampered, headers, secret)
            raise AssertionError("tampered payload verified")
        except WebhookVerificationError:
            pass


check_token_is_shared_by_threads_and_sent_with_the_api_key()
check_a_401_refreshes_once_and_retries_once()
check_tokens_are_renewed_at_80_percent_of_their_lifetime()
check_retries_honour_retry_after_and_stop()
check_network_errors_retry_only_idempotent_calls_with_one_key()
check_pagination_follows_the_cursor()
check_page_numbers_stop_at_the_total_or_a_short_page()
check_deprecation_warns_once_per_operation()
check_errors_are_typed_whatever_the_body()
check_token_errors_and_construction()
check_webhooks_delegate_to_standardwebhooks()
print("runtime ok")

