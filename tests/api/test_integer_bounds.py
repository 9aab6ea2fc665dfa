"""Every integer a request can carry is bounded in the OpenAPI document, and a value past 64 bits
is a 422 naming the field, never a 500 from an overflow in a driver (issue 25, finding 8)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ledger.limits import ID_MAX
from tests.api.conftest import Api

pytestmark = pytest.mark.anyio
HUGE = 2**64


def _integer_parameters(openapi: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    found = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
                if "integer" in kinds:
                    found.append((method, path, parameter["name"], parameter))
    return found


async def test_every_integer_parameter_is_bounded_and_refuses_a_huge_value(api: Api) -> None:
    openapi = (await api.http.get("/openapi.json")).json()
    parameters = _integer_parameters(openapi)
    assert len(parameters) >= 4  # account ids, cursors, limits, ages
    for method, path, name, parameter in parameters:
        schema = parameter["schema"]
        bounded = schema.get("maximum") or next(
            (s.get("maximum") for s in schema.get("anyOf", []) if "maximum" in s), None)
        assert bounded is not None and bounded <= ID_MAX, f"{method} {path} {name}: unbounded"
        url = re.sub(r"\{[^}]+\}", "x", path)
        if parameter["in"] == "path":
            url = path.replace("{" + name + "}", str(HUGE))
            url = re.sub(r"\{[^}]+\}", "x", url)
        params = {name: str(HUGE)} if parameter["in"] == "query" else {}
        response = await api.http.request(method.upper(), url, params=params,
                                          headers=api.auth("operator"))
        assert response.status_code in (404, 422), (method, url, response.status_code)
        if response.status_code == 422:
            assert name in response.text


async def test_a_huge_account_id_in_a_transfer_body_is_a_422_naming_the_field(api: Api) -> None:
    response = await api.http.post("/v1/transfers", headers=api.auth("operator"), json={
        "id": "huge-1", "debit_account_id": HUGE, "credit_account_id": 1,
        "amount": {"amount_minor": "1", "currency": "THB"}})
    assert response.status_code == 422
    assert "debit_account_id" in response.text


async def test_a_huge_revocation_time_is_a_422(api: Api) -> None:
    response = await api.http.post("/v1/keys/TH-SSO/k1/revocation", headers=api.auth("th"),
                                   json={"at": HUGE})
    assert response.status_code == 422
    assert "at" in response.json().get("field", "") or "at" in response.text
