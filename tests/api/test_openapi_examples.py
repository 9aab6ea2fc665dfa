"""Every example in the OpenAPI document works against a freshly seeded demo ("Try it out").

Runs on its own new database (SQLite file, or a new PostgreSQL database), seeded by the demo, then
calls every operation with the example values the docs page would send, in dependency order.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from ledger.api.app import create_app
from ledger.app.demo import seed
from ledger.app.demo_channels import DEMO_DAY_FILE
from ledger.app.demo_imports import sample_files
from ledger.composition import build_services
from ledger.config import Settings
from ledger.db.engine import open_database
from ledger.db.migrate import upgrade
from ledger.demo_data import DEMO_TOKENS
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey
from tests.conftest import TEST_DB

pytestmark = pytest.mark.anyio

# Writes first in the order a newcomer would try them; then every read.
ORDER = [
    ("post", "/v1/workers"),
    ("post", "/v1/workers/{worker_id}/memberships"),
    ("post", "/v1/funds/{fund}/members/search"),
    ("post", "/v1/funds/{fund}/employers/{employer}/employees"),
    ("post", "/v1/contributions"),
    ("post", "/v1/contributions/batch"),
    ("post", "/v1/accounts"),
    ("post", "/v1/transfers"),
    ("post", "/v1/transfers/{transfer_id}/post"),
    ("post", "/v1/transfers/{transfer_id}/void"),
    ("post", "/v1/transfers/{transfer_id}/reversal"),
    ("put", "/v1/keys/{issuer}"),
    ("post", "/v1/keys/{issuer}/{kid}/revocation"),
    ("put", "/v1/fx-rates/{base}/{quote}"),
    ("post", "/v1/portability/transfers"),
    ("post", "/v1/portability/transfers/{flow_id}/transitions"),
    ("post", "/v1/inbox/messages"),
    ("post", "/v1/windows"),
    ("post", "/v1/windows/{window_id}/transitions"),
    ("post", "/v1/funds/{fund}/declarations"),
    ("post", "/v1/channels/{channel}/quotes"),
    ("post", "/v1/channels/{channel}/payments"),
    ("post", "/v1/channels/{channel}/payments/batch"),
    ("post", "/v1/channels/{channel}/payments/{channel_ref}/reversal"),
    ("post", "/v1/channels/{channel}/payments/{channel_ref}/refund"),
    ("post", "/v1/channels/{channel}/days/{day}"),
    ("post", "/v1/verify"),
]
# File uploads have no JSON example: the docs point at the sample, which the demo already sent.
UPLOADS = {"/v1/funds/{fund}/declarations": sample_files("TH-SSO")[0],
           "/v1/channels/{channel}/days/{day}": DEMO_DAY_FILE}


@pytest.fixture
async def demo_http(tmp_path: Any) -> AsyncIterator[httpx.AsyncClient]:
    name = None
    if TEST_DB == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/demo.db"
    else:
        name = f"clmtv_demo_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(TEST_DB.replace("+asyncpg", ""))
        await admin.execute(f"CREATE DATABASE {name}")
        url = TEST_DB.rsplit("/", 1)[0] + "/" + name
    db = open_database(url)
    await upgrade(db)
    services = build_services(Settings(database_url=url, rate_limit_per_s=0), db=db,
                              signer=HubSigner(SigningKey.generate(HUB)))
    services.committer.start()
    await seed(services, say=lambda _: None)
    app = create_app(Settings(database_url=url), services)
    app.state.services = services
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://demo") as http:
        yield http
    await services.committer.stop()
    await db.dispose()
    if name:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


def _example(operation: dict[str, Any], spec: dict[str, Any]) -> Any:
    content = operation["requestBody"]["content"]["application/json"]
    if "examples" in content:
        return next(iter(content["examples"].values()))["value"]
    schema = content["schema"]
    ref = schema.get("$ref") or schema["allOf"][0]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["examples"][0]


def _path(path: str, operation: dict[str, Any]) -> str:
    for param in operation.get("parameters", []):
        if param["in"] == "path":
            value = next(iter(param["examples"].values()))["value"]
            path = path.replace("{" + param["name"] + "}", str(value))
    return path


async def test_every_example_succeeds_on_the_demo(demo_http: httpx.AsyncClient) -> None:
    spec = (await demo_http.get("/openapi.json")).json()
    auth = {"Authorization": f"Bearer {DEMO_TOKENS['operator']}"}
    with_body = [(m, p) for p, ops in spec["paths"].items() for m, op in ops.items()
                 if "requestBody" in op]
    assert sorted(with_body) == sorted(ORDER), "a new write operation needs a place in ORDER"
    for method, path in ORDER:
        operation = spec["paths"][path][method]
        if path in UPLOADS:
            response = await demo_http.post(
                _path(path, operation), headers=auth,
                files={"file": (UPLOADS[path].name, UPLOADS[path].read_bytes())})
            assert response.json()["replayed"] is True
        else:
            response = await demo_http.request(
                method, _path(path, operation), json=_example(operation, spec),
                headers={**auth, "Idempotency-Key": f"example-{path}"})
        assert response.status_code in (200, 201), (path, response.text)
        if path == "/v1/inbox/messages":  # a message the demo's inbox accepts and applies
            (outcome,) = response.json()["outcomes"]
            assert outcome["outcome"] == "processed", outcome
            assert outcome["result"]["ok"] is True and outcome["ack"]
    for path, ops in spec["paths"].items():
        if "get" in ops:
            response = await demo_http.get(_path(path, ops["get"]), headers=auth)
            assert response.status_code == 200, (path, response.text)


async def test_every_request_model_publishes_an_example(demo_http: httpx.AsyncClient) -> None:
    spec = (await demo_http.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]

    def refs(node: Any) -> set[str]:
        if isinstance(node, dict):
            found = {node["$ref"].rsplit("/", 1)[1]} if "$ref" in node else set()
            return found.union(*(refs(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(refs(v) for v in node))
        return set()

    # JSON bodies; a file upload's form has no JSON example (the docs name the sample file).
    pending = {name for ops in spec["paths"].values() for op in ops.values()
               if "requestBody" in op
               for name in refs(op["requestBody"]["content"].get("application/json", {}))}
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        seen.add(name)
        pending |= refs(schemas[name]) - seen
    models = {n for n in seen if schemas[n].get("type") == "object"}
    assert models >= {"ContributionIn", "MoneyIn", "ShareIn", "TransferIn", "WorkerIn"}
    assert [n for n in sorted(models) if not schemas[n].get("examples")] == []
