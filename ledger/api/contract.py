"""The OpenAPI document made exact (issue 16 item 5): what the server refuses, said in the
document that integrators read.

FastAPI writes down what pydantic checks. The server checks more in the domain: fund codes,
worker and transfer ids, currencies, months. Those checks keep their error codes, which are part
of the contract, and this module writes them into the document from the same constants and
patterns the domain checks with:

- **Errors.** Every error answer is `application/problem+json` with the `Problem` schema.
  FastAPI's own 422 (`HTTPValidationError`) is never what the server sends, so it is replaced.
- **Statuses.** Each operation declares the statuses it can answer:
  - every operation: 404 and 422;
  - an operation that takes a token: 401, 403 and 429;
  - an operation with a body: 400 (bad JSON or a missing `Idempotency-Key`) and 413;
  - a POST or PUT: 409.
- **Formats.** Each parameter or body property is given its format by name (`FORMATS`).
  Where a model names the same thing differently, `BODY_FORMATS` gives the format by
  (model, property). A format is added only where FastAPI wrote none.

`tests/api/test_openapi_contract.py` checks the document: every string a request carries is
bounded, every array has `maxItems`, every error is problem+json. Schemathesis then checks
the server against it (docs/security.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ledger.api.deps import OPTIONAL_BEARER
from ledger.channels.dayfile import REF_PATTERN
from ledger.domain.accounts import AccountCode
from ledger.domain.funds import FUNDS
from ledger.domain.ids import ID_MAX_LENGTH, ID_PATTERN, WORKER_ID_PATTERN
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency
from ledger.limits import IDEMPOTENCY_KEY_MAX_LENGTH

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# What FastAPI and the routers declare for an error answer: the server sends a Problem.
_PROBLEM_SCHEMAS = (PROBLEM_REF, {"$ref": "#/components/schemas/HTTPValidationError"})
MONTH_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
PERIOD_CHANGE_PATTERN = (r"^[A-Za-z0-9_-]+/[A-Z]{2}-[A-Z]+/[a-z0-9][a-z0-9-]*/[0-9]{4}-[0-9]{2}/"
                         r"(active|withdrawn|transferred)$")

STATUS_TEXT = {
    400: "Malformed request: bad JSON, a missing Idempotency-Key",
    401: "Missing, unknown, revoked or expired bearer token",
    403: "The principal may not do this",
    404: "Not found, or not visible to this principal",
    409: "Conflict: an id or key already used differently, a request still in flight, a "
         "state that does not allow it",
    413: "The request body is larger than this path takes",
    422: "Understood but refused: invalid values or a ledger rule",
    429: "Too many requests from this principal: retry after Retry-After seconds",
}


def _formats() -> dict[str, dict[str, Any]]:
    """Formats by parameter or property name. Built when the document is, because funds
    register as their adapters load."""
    fund = {"enum": sorted(FUNDS), "description": "A member fund's code (GET /v1/funds)"}
    currency = {"enum": [c.value for c in Currency]}
    identifier = {"pattern": ID_PATTERN, "maxLength": ID_MAX_LENGTH}
    worker = {"pattern": WORKER_ID_PATTERN, "maxLength": 44}
    month = {"pattern": MONTH_PATTERN, "maxLength": 7}
    return {
        "fund": fund, "host_fund": fund, "issuer": fund,
        "currency": currency, "base": currency, "quote": currency,
        "worker_id": worker,
        "transfer_id": identifier, "flow_id": identifier, "window_id": identifier,
        # a period state change (ADR 0059): worker/fund/scheme/YYYY-MM/state
        "change_id": {"pattern": PERIOD_CHANGE_PATTERN, "maxLength": 160},
        "kid": {"maxLength": 128},
        "scheme": {"maxLength": 64, "pattern": r"^[a-z0-9][a-z0-9-]*$"},
        "month": month, "months": month, "as_of": month, "claim_month": month,
        "left_country_month": month, "entitled_month": month,
        "flags": {"enum": [f.name.lower() for f in AccountFlags if f.name and f.value]},
        "channel": {"maxLength": 32, "pattern": r"^[a-z0-9][a-z0-9-]*$"},
        "channel_ref": {"pattern": REF_PATTERN, "maxLength": 48},
        "day": {"pattern": DAY_PATTERN, "maxLength": 10},
        "Idempotency-Key": {"minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
        # The registration's check (services/workers.py); each fund's own format is checked
        # where its files are read.
        "member_number": {"pattern": r"^[A-Za-z0-9()/-]+$", "maxLength": 40},
        # Money as the channels take it: the service refuses anything not an int64 amount.
        "amount_minor": {"maxLength": 20},
    }


def _parameter_formats() -> dict[str, dict[str, Any]]:
    """Formats of parameters whose names mean something else in a body (a transfer's `code`
    is a free label, an account's the enum)."""
    return {
        "code": {"enum": [c.value for c in AccountCode]},
        "name": {"maxLength": 64, "pattern": r"^[a-z0-9][a-z0-9-]*$"},
    }


def _body_formats() -> dict[tuple[str, str], dict[str, Any]]:
    """Formats of properties whose name alone does not say what they are."""
    identifier = {"pattern": ID_PATTERN, "maxLength": ID_MAX_LENGTH}
    return {
        ("WorkerIn", "id"): {"pattern": WORKER_ID_PATTERN, "maxLength": 44},
        ("WorkerIn", "nationality"): {"pattern": r"^[A-Za-z]{2}$"},
        ("AccountIn", "key"): identifier,
        ("ContributionIn", "id"): identifier,
        ("TransferIn", "id"): identifier,
        ("ResolveIn", "id"): identifier,
        ("ReversalIn", "id"): identifier,
        ("FlowIn", "id"): identifier,
    }


def install(app: FastAPI) -> None:
    """Serve the exact document at /openapi.json (built once, on first use)."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = exact(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes))
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]  # FastAPI's documented override


def exact(doc: dict[str, Any]) -> dict[str, Any]:
    formats, body_formats = _formats(), _body_formats()
    parameter_formats = {**formats, **_parameter_formats()}
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for name, schema in schemas.items():
        for prop, sub in schema.get("properties", {}).items():
            found = body_formats.get((name, prop)) or formats.get(prop)
            if found:
                _constrain(sub, found)
    doc["components"].get("securitySchemes", {}).pop(OPTIONAL_BEARER, None)
    for item in doc.get("paths", {}).values():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                found = parameter_formats.get(parameter["name"])
                if found:
                    _constrain(parameter["schema"], found)
                if parameter["name"] == "Idempotency-Key":
                    # Optional in the signature so that its absence gets our own 400
                    # (`idempotency_key_missing`), but required all the same.
                    parameter["required"] = True
            if operation.get("security") == [{OPTIONAL_BEARER: []}]:
                # A token is optional here (it says more to the hub's staff).
                operation["security"] = [{"HTTPBearer": []}, {}]
            _declare_statuses(method, operation)
    return doc


def _declare_statuses(method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = {404, 422}
    if operation.get("security"):
        statuses |= {401, 403, 429}
    if "requestBody" in operation:
        statuses |= {400, 413}
    if method in ("post", "put"):
        statuses.add(409)
    for code in sorted(statuses):
        responses.setdefault(str(code), {"description": STATUS_TEXT[code]})
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        own = {media: content for media, content in response.get("content", {}).items()
               if content.get("schema") not in _PROBLEM_SCHEMAS}
        if not own or int(status) < 500:
            # A client error is a problem; a route may also answer it with a body of its own
            # (a batch whose every item failed lists them): then both are declared.
            response["content"] = {**own, PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
            if status == "429":
                response["headers"] = {"Retry-After": {
                    "description": "Whole seconds until a request is allowed again",
                    "schema": {"type": "integer", "minimum": 1}}}


def _constrain(schema: dict[str, Any], found: dict[str, Any]) -> None:
    """Add `found` to the string in `schema` (itself, its array's items, or the string branch
    of an optional), keeping whatever FastAPI already wrote."""
    if schema.get("type") == "array":
        _constrain(schema.setdefault("items", {}), found)
        return
    branches: list[dict[str, Any]] = schema.get("anyOf", [schema])
    for branch in branches:
        if branch.get("type") == "string" and "enum" not in branch and "$ref" not in branch:
            for key, value in found.items():
                if key == "description":
                    continue
                if key == "enum" or key not in branch:
                    branch[key] = value
            if "enum" in branch:
                branch.pop("pattern", None)
        elif branch.get("type") == "array":
            _constrain(branch.setdefault("items", {}), found)

