"""A partner's program using the generated Python SDK against a running Portico sandbox.

Type-checked with `mypy --strict` and run by end2end/tests/sdk_python.test.js with CLIENT_ID,
CLIENT_SECRET and API_KEY set; prints a JSON summary the test asserts on.
"""

import json
import os
import uuid
from typing import Any, Dict, List, Optional

import requests
from requests.adapters import HTTPAdapter

from portico_commercial import (
    ENVIRONMENTS,
    CreateOrderRequest,
    ForbiddenException,
    PorticoCommercialClient,
    ValidationException,
)

PRODUCT = "prd_01jd8x5v7k2m3n4p5q6r7s8t9v"


class LosesFirstCreateAnswer(HTTPAdapter):
    """Sends every request; the first order creation's answer is lost after the server
    handled it (as if the connection dropped), which the SDK must retry with the same key."""

    def __init__(self) -> None:
        super().__init__()
        self.create_keys: List[str] = []

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        response = super().send(request, *args, **kwargs)
        if request.method == "POST" and request.path_url.endswith("/commercial/orders"):
            self.create_keys.append(str(request.headers.get("Idempotency-Key")))
            if len(self.create_keys) == 1:
                response.close()
                raise requests.ConnectionError("the answer was lost after the server handled it")
        return response


class Recorder:
    """Counts what went over the session: token requests, 401s, list pages, the last token."""

    def __init__(self) -> None:
        self.token_requests = 0
        self.unauthorized = 0
        self.list_requests = 0
        self.last_token: Optional[str] = None

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        path = request.path_url.split("?")[0]
        if path.endswith("/oauth2/token"):
            self.token_requests += 1
            return
        authorization = str(request.headers.get("Authorization", ""))
        if authorization.startswith("Bearer "):
            self.last_token = authorization[len("Bearer "):]
        if response.status_code == 401:
            self.unauthorized += 1
        if request.method == "GET" and path.endswith("/commercial/orders"):
            self.list_requests += 1


def main() -> None:
    client_id = os.environ["CLIENT_ID"]
    client_secret = os.environ["CLIENT_SECRET"]
    adapter = LosesFirstCreateAnswer()
    recorder = Recorder()
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.hooks["response"].append(recorder)
    summary: Dict[str, Any] = {}

    with PorticoCommercialClient(
        client_id,
        client_secret,
        api_key=os.environ.get("API_KEY"),
        environment="sandbox",
        session=session,
    ) as client:
        summary["base_url"] = client.base_url
        first_page = client.list_orders(limit=5)
        summary["listed"] = len(first_page["data"])

        # A create whose answer is lost: retried with the same key, created once.
        reference = f"PO-SDK-{uuid.uuid4().hex[:12]}"
        order_body: CreateOrderRequest = {
            "customer_reference": reference,
            "items": [{"product_id": PRODUCT, "quantity": 2}],
        }
        order = client.create_order(body=order_body)
        summary["create_posts"] = len(adapter.create_keys)
        summary["same_idempotency_key"] = len(set(adapter.create_keys)) == 1
        summary["orders_with_reference"] = sum(
            1
            for existing in client.paginate_list_orders(limit=100)
            if existing.get("customer_reference") == reference
        )
        summary["created_status"] = order["status"]

        cancelled = client.cancel_order(order["id"])
        summary["cancelled_status"] = cancelled["status"]

        # Every order, two per page.
        before = recorder.list_requests
        ids = [existing["id"] for existing in client.paginate_list_orders(limit=2)]
        summary["paged_orders"] = len(ids)
        summary["paged_unique"] = len(set(ids)) == len(ids)
        summary["paged_requests"] = recorder.list_requests - before
        summary["all_orders"] = sum(1 for _ in client.paginate_list_orders(limit=100))

        try:
            client.create_order(body={"items": [{"product_id": PRODUCT, "quantity": 0}]})
            summary["validation"] = "no error"
        except ValidationException as error:
            summary["validation"] = error.type
            summary["validation_status"] = error.status
            summary["validation_paths"] = [field["path"] for field in error.field_errors]
            summary["validation_request_id"] = bool(error.request_id)

        # A revoked token: the next call gets a 401, fetches ONE new token and succeeds.
        tokens_before = recorder.token_requests
        unauthorized_before = recorder.unauthorized
        token_url = ENVIRONMENTS["sandbox"].token_url
        revoked = requests.post(
            token_url.rsplit("/", 1)[0] + "/revoke",
            auth=(client_id, client_secret),
            data={"token": recorder.last_token or ""},
            timeout=10,
        )
        summary["revoke_status"] = revoked.status_code
        again = client.get_order(order["id"])
        summary["after_revoke_id_matches"] = again["id"] == order["id"]
        summary["token_requests_after_revoke"] = recorder.token_requests - tokens_before
        summary["unauthorized_after_revoke"] = recorder.unauthorized - unauthorized_before

    # A client limited to reading may not create.
    with PorticoCommercialClient(
        client_id,
        client_secret,
        api_key=os.environ.get("API_KEY"),
        scopes=["commercial:read"],
    ) as reader:
        try:
            reader.create_order(body=order_body)
            summary["forbidden"] = "no error"
        except ForbiddenException as error:
            summary["forbidden"] = error.type
            summary["forbidden_status"] = error.status

    print(json.dumps(summary))


if __name__ == "__main__":
    main()
