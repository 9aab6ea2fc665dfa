"""The OpenAPI document says what the server refuses (issue 16 items 3 and 5): every error is
declared as problem+json, every string and array a request carries is bounded, formats come
from the domain's own checks, and a request past a declared bound is refused, not served."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ledger.api.routes.inbox import MESSAGES_PER_REQUEST_MAX
from ledger.domain.funds import FUNDS
from ledger.limits import (
    BATCH_SIZE_MAX,
    MEMBERSHIPS_PER_WORKER_MAX,
    PAGE_SIZE_MAX,
    TRANSFERS_PER_REQUEST_MAX,
)
from tests.api.conftest import Api
from tests.api.helpers import ledger_snapshot, money, new_worker, thai_contribution

pytestmark = pytest.mark.anyio

# Strings a request may carry without a length bound in the document, and why.
UNBOUNDED = {
    "post /v1/funds/{fund}/declarations multipart/form-data.file":
        "a file upload: bounded by the path's body limit (413), DECLARATION_FILE_MAX_BYTES",
    "post /v1/channels/{channel}/days/{day} multipart/form-data.file":
        "a file upload: bounded by the path's body limit (413), DAY_FILE_MAX_BYTES",
}


def _bounded_pattern(pattern: str | None) -> bool:
    return pattern is not None and re.search(r"(?<!\\)[*+]|\{\d+,\}", pattern) is None


def _unbounded(doc: dict[str, Any]) -> list[str]:
    schemas = doc["components"]["schemas"]
    found: list[str] = []

    def walk(schema: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name in seen:
                return
            seen, schema = seen | {name}, schemas[name]
        for sub in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            walk(sub, where, seen)
        kind = schema.get("type")
        if kind == "array":
            if "maxItems" not in schema:
                found.append(f"{where} (array)")
            walk(schema.get("items", {}), where + "[]", seen)
        elif kind == "string" and not ({"maxLength", "enum", "const"} & set(schema)
                                       or _bounded_pattern(schema.get("pattern"))):
            found.append(where)
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}", seen)

    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                walk(content["schema"], f"{method} {path} {media}", frozenset())
            for parameter in operation.get("parameters", []):
                walk(parameter["schema"], f"{method} {path} {parameter['name']}", frozenset())
    return found


async def _document(api: Api) -> dict[str, Any]:
    response = await api.http.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


async def test_every_string_and_array_of_a_request_is_bounded(api: Api) -> None:
    doc = await _document(api)
    assert set(_unbounded(doc)) == set(UNBOUNDED)


async def test_every_error_is_problem_json_and_every_operation_says_which(api: Api) -> None:
    doc = await _document(api)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    # Readiness is not an error: its 503 is the same JSON as its 200 (a load balancer reads it).
    assert "application/json" in doc["paths"]["/v1/ready"]["get"]["responses"]["503"]["content"]
    assert doc["paths"]["/v1/ready"]["get"]["security"] == [{"HTTPBearer": []}, {}]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            where = f"{method} {path}"
            assert {"404", "422"} <= set(responses), where
            if operation.get("security"):
                assert {"401", "403", "429"} <= set(responses), where
                assert "Retry-After" in responses["429"]["headers"]
            if "requestBody" in operation:
                assert {"400", "413"} <= set(responses), where
            for status, response in responses.items():
                if int(status) < 400 or (where, status) == ("get /v1/ready", "503"):
                    continue
                # A batch whose every payment failed answers its own list (problems inside).
                own = (["application/json"] if (where, status) == (
                    "post /v1/channels/{channel}/payments/batch", "422") else [])
                assert list(response["content"]) == [*own, "application/problem+json"], (
                    where, status)


async def test_formats_come_from_the_domain(api: Api) -> None:
    doc = await _document(api)
    schemas = doc["components"]["schemas"]
    contribution = schemas["ContributionIn"]["properties"]
    assert contribution["fund"]["enum"] == sorted(FUNDS)
    assert contribution["worker_id"]["pattern"] == r"^wkr_[a-z0-9]{4,40}$"
    assert contribution["shares"]["maxItems"] == 4
    assert schemas["ContributionBatchIn"]["properties"]["contributions"]["maxItems"] == \
        BATCH_SIZE_MAX
    assert schemas["TransferBatchIn"]["properties"]["transfers"]["maxItems"] == \
        TRANSFERS_PER_REQUEST_MAX
    assert schemas["MoneyIn"]["properties"]["currency"]["$ref"].endswith("/Currency")
    limits = [p["schema"] for item in doc["paths"].values() for op in item.values()
              for p in op.get("parameters", []) if p["name"] == "limit"]
    assert limits and all(s["maximum"] == PAGE_SIZE_MAX for s in limits)


BAD_FILTERS = [
    ("/v1/accounts", {"fund": "XX-NONE"}, "unknown_fund"),
    ("/v1/accounts", {"worker_id": "not a worker"}, "invalid_id"),
    ("/v1/accounts", {"code": "no_such_code"}, "invalid_input"),
    ("/v1/portability/transfers", {"state": "lost"}, "invalid_input"),
    ("/v1/portability/transfers", {"worker_id": "WKR_UPPER"}, "invalid_id"),
    ("/v1/inbox/messages", {"state": "lost"}, "invalid_input"),
    ("/v1/inbox/messages", {"issuer": "XX-NONE"}, "unknown_fund"),
    ("/v1/windows", {"currency": "EUR"}, "invalid_input"),
    ("/v1/accounts", {"limit": str(PAGE_SIZE_MAX + 1)}, "invalid_input"),
]


@pytest.mark.parametrize(("path", "params", "code"), BAD_FILTERS,
                         ids=[f"{p} {next(iter(q))}" for p, q, _ in BAD_FILTERS])
async def test_a_filter_outside_the_document_is_refused_not_answered_empty(
    api: Api, path: str, params: dict[str, str], code: str
) -> None:
    response = await api.http.get(path, params=params, headers=api.auth("operator"))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code


async def test_bodies_past_their_bounds_are_refused_and_book_nothing(api: Api, uid: str) -> None:
    worker = await new_worker(api, uid)
    before = await ledger_snapshot(api)
    operator = api.auth("operator")
    five = thai_contribution(worker)
    five["shares"] = [*five["shares"], {"payer": "voluntary", "amount": money("1")},
                      {"payer": "employee", "amount": money("1")}]
    cases = [
        ("/v1/contributions", five, {"Idempotency-Key": f"five-{uid}"}, "shares"),
        ("/v1/workers", {"nationality": "KH", "memberships": [
            {"fund": "TH-SSO", "member_number": f"{n:013d}"}
            for n in range(MEMBERSHIPS_PER_WORKER_MAX + 1)]}, {}, "memberships"),
        ("/v1/accounts", {"key": f"flags-{uid}", "code": "operating", "currency": "THB",
                          "flags": ["debits_must_not_exceed_credits"] * 3}, {}, "flags"),
        ("/v1/contributions/batch", {"contributions": [
            thai_contribution(worker, month=f"20{y:02d}-{m:02d}")
            for y in range(10, 99) for m in range(1, 13)][:BATCH_SIZE_MAX + 1]},
         {"Idempotency-Key": f"big-{uid}"}, None),
    ]
    for path, body, headers, field in cases:
        response = await api.http.post(path, json=body, headers={**operator, **headers})
        assert response.status_code == 422, (path, response.text)
        if field:
            assert response.json()["field"].startswith(field), response.text
        else:
            assert response.json()["code"] == "batch_too_large"
    transfer = {"id": "x", "debit_account_id": 1, "credit_account_id": 2,
                "amount": money("1")}
    too_many = await api.http.post("/v1/transfers", headers=operator, json={"transfers": [
        {**transfer, "id": f"many-{uid}-{n}"} for n in range(TRANSFERS_PER_REQUEST_MAX + 1)]})
    assert too_many.status_code == 422 and too_many.json()["code"] == "batch_too_large"
    tokens = await api.http.post("/v1/inbox/messages", headers=api.auth("th"), json={
        "tokens": ["x"] * (MESSAGES_PER_REQUEST_MAX + 1)})
    assert tokens.status_code == 422 and tokens.json()["field"] == "tokens"
    long_rate = await api.http.put("/v1/fx-rates/THB/USD", headers=operator,
                                   json={"rate": "1" * 49, "source": "too precise"})
    assert long_rate.status_code == 422 and long_rate.json()["field"] == "rate"
    assert await ledger_snapshot(api) == before
