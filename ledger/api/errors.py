"""RFC 9457 problem+json for every error, and the one table from error code to HTTP status."""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ledger.api.schemas import AMOUNT_MINOR_ERROR
from ledger.domain.errors import DomainError, ErrorCode

PROBLEM_TYPE = "urn:clmtv:problem:"
MEDIA_TYPE = "application/problem+json"

STATUS: dict[ErrorCode, int] = {
    ErrorCode.MALFORMED_JSON: 400,
    ErrorCode.IDEMPOTENCY_KEY_MISSING: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNKNOWN_WORKER: 404,
    ErrorCode.UNKNOWN_ACCOUNT: 404,
    ErrorCode.UNKNOWN_TRANSFER: 404,
    ErrorCode.UNKNOWN_FLOW: 404,
    ErrorCode.UNKNOWN_WINDOW: 404,
    ErrorCode.UNKNOWN_CHANNEL: 404,
    ErrorCode.UNKNOWN_PAYMENT: 404,
    ErrorCode.UNKNOWN_RELEASE: 404,
    ErrorCode.ID_CONFLICT: 409,
    ErrorCode.MEMBERSHIP_EXISTS: 409,
    ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT: 409,
    ErrorCode.WINDOW_NOT_OPEN: 409,
    ErrorCode.ILLEGAL_WINDOW_TRANSITION: 409,
    ErrorCode.ILLEGAL_FLOW_TRANSITION: 409,
    ErrorCode.FLOW_OPEN: 409,
    # The operator has not set a reference rate: the request is fine, the hub is not ready.
    ErrorCode.FX_RATE_MISSING: 409,
    ErrorCode.RECONCILIATION_FAILED: 409,
    ErrorCode.DAY_NOT_OVER: 409,
    ErrorCode.NOT_SEALED_YET: 409,
    ErrorCode.BUDGET_EXHAUSTED: 409,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.RATE_LIMITED: 429,
    # A fund's shipped parameters.yaml is broken: the server's fault, not the caller's.
    ErrorCode.INVALID_PARAMETERS: 500,
    ErrorCode.INVALID_CHANNEL: 500,
}
# Everything else is input the server understood but will not apply.
DEFAULT_STATUS = 422

TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    429: "Too many requests",
    422: "Unprocessable request",
    500: "Server misconfigured",
}


def status_of(code: ErrorCode) -> int:
    return STATUS.get(code, DEFAULT_STATUS)


def problem_body(error: DomainError, instance: str | None = None) -> tuple[int, bytes]:
    status = status_of(error.code)
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + error.code.value,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": error.message,
        "code": error.code.value,
    }
    if error.field is not None:
        body["field"] = error.field
    if error.index is not None:
        body["index"] = error.index
    if "errors" in error.details:
        body["errors"] = error.details["errors"]
    elif error.details:
        body["details"] = error.details
    if instance:
        body["instance"] = instance
    return status, orjson.dumps(body)


def problem(error: DomainError, instance: str | None = None) -> Response:
    status, body = problem_body(error, instance)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 429:
        headers = {"Retry-After": str(error.details["retry_after_s"])}
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def validation_problem(exc: RequestValidationError) -> DomainError:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        where = next(e for e in errors if e.get("type") == "json_invalid")
        return DomainError(
            ErrorCode.MALFORMED_JSON,
            f"request body is not valid JSON: {where.get('ctx', {}).get('error', 'parse error')}",
        )
    items = [
        DomainError(ErrorCode.INVALID_AMOUNT if e.get("type") == AMOUNT_MINOR_ERROR
                    else ErrorCode.INVALID_INPUT, str(e.get("msg")),
                    field=_field(tuple(e["loc"])))
        for e in errors
    ]
    first = items[0]
    return DomainError(
        first.code,
        f"{first.field}: {first.message}" + (f" (and {len(items) - 1} more)" if len(items) > 1
                                              else ""),
        field=first.field,
        details={"errors": [e.to_dict() for e in items]},
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return problem(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return problem(validation_problem(exc), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.INVALID_INPUT
        error = DomainError(code, str(exc.detail))
        _, body = problem_body(error, request.url.path)
        data = orjson.loads(body)
        data["status"] = exc.status_code
        data["title"] = TITLES.get(exc.status_code, "Error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Every method the path takes (RFC 9110 §15.5.6): Starlette names only those of
            # the one route it matched, and a path's GET and POST are two routes.
            headers["Allow"] = _allowed(request) or headers.get("Allow", "")
        return Response(orjson.dumps(data), status_code=exc.status_code, media_type=MEDIA_TYPE,
                        headers=headers)


def _allowed(request: Request) -> str | None:
    """The methods the OpenAPI document gives the request's path (None: no such path)."""
    for template, operations in request.app.openapi()["paths"].items():
        parts = re.split(r"\{[^}]+\}", template)
        if re.fullmatch("[^/]+".join(re.escape(p) for p in parts), request.url.path):
            return ", ".join(sorted(m.upper() for m in operations))
    return None
