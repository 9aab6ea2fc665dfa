"""Every route, called as every kind of principal (and with no, a bad, a revoked and an expired
token), against the seeded demo: the allowed set is a table here, route by route, so a new route
without a rule fails (issue 16 item 3).

"Allowed" means the route did not refuse the principal (any answer but 401 or 403: a 409 for an
action already taken is allowed); refused means 401 (no or a bad token), 403 (not yours to do)
or 404 (not yours to see: existence is not disclosed). Requests use the OpenAPI examples, which
name the demo's worker, funds and flows, so the ids are the same for everyone."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from ledger.db import repositories as repo
from ledger.demo_data import DEMO_CHANNEL, DEMO_EMPLOYER, DEMO_SECOND_WORKER, DEMO_TOKENS
from ledger.domain.principals import PrincipalKind
from tests.api.test_openapi_examples import UPLOADS, _example, _path, demo_http

pytestmark = pytest.mark.anyio
__all__ = ["demo_http"]

NOT_SIGNED_IN = frozenset({"none", "bad-token", "revoked", "expired"})
EVERYONE = frozenset({"operator", "auditor", "th-sso", "jp-jps", "kh-nssf", "employer",
                      "channel", "worker", "worker2"}) | NOT_SIGNED_IN
SIGNED_IN = EVERYONE - NOT_SIGNED_IN
STAFF = frozenset({"operator", "auditor"})
FUNDS = frozenset({"th-sso", "jp-jps", "kh-nssf"})
# The demo worker belongs to TH-SSO, JP-JPS and KH-NSSF; `worker` is that worker, `worker2`
# another; `employer` is the Thai sample's employer at TH-SSO (both demo workers are its
# employees), `channel` is the demo's channel (Mekong Wallet).
OF_THE_WORKER = STAFF | FUNDS | {"worker"}

ALLOWED: dict[str, frozenset[str]] = {
    "GET /v1/health": EVERYONE,
    "GET /v1/ready": EVERYONE - {"bad-token", "revoked", "expired"},
    "GET /metrics": STAFF,
    "GET /v1/funds": EVERYONE,
    "GET /v1/funds/{fund}": EVERYONE,
    "GET /.well-known/jwks.json": EVERYONE,
    "GET /v1/keys": EVERYONE,
    "POST /v1/workers": frozenset({"operator", "th-sso"}),  # the example: a TH-SSO member
    "GET /v1/workers/{worker_id}": OF_THE_WORKER,
    "POST /v1/workers/{worker_id}/memberships": frozenset({"operator", "jp-jps"}),
    "POST /v1/funds/{fund}/members/search": STAFF | {"th-sso"},
    "GET /v1/workers/{worker_id}/statement": OF_THE_WORKER,
    "GET /v1/workers/{worker_id}/statement.jws": OF_THE_WORKER,
    "POST /v1/funds/{fund}/employers/{employer}/employees": frozenset({"operator", "th-sso"}),
    "GET /v1/funds/{fund}/employers/{employer}/employees": STAFF | {"th-sso", "employer"},
    # Run as the operator first: ends the example's employment, so th-sso is answered 404.
    "DELETE /v1/funds/{fund}/employers/{employer}/employees/{worker_id}":
        frozenset({"operator", "th-sso"}),
    "GET /v1/workers/{worker_id}/claimable": OF_THE_WORKER,  # a fund: its own part
    "GET /v1/workers/{worker_id}/consents": STAFF | {"worker"},
    "POST /v1/verify": EVERYONE,  # anyone may check a document; no token needed
    "POST /v1/contributions": frozenset({"operator", "th-sso", "employer"}),
    "POST /v1/contributions/batch": frozenset({"operator", "th-sso", "employer"}),
    "POST /v1/accounts": frozenset({"operator"}),
    "GET /v1/accounts": STAFF | FUNDS,
    "GET /v1/accounts/{account_id}": STAFF,  # account 1 is the hub's
    "GET /v1/accounts/{account_id}/transfers": STAFF,
    "POST /v1/transfers": frozenset({"operator"}),
    "GET /v1/transfers/{transfer_id}": STAFF,
    "POST /v1/transfers/{transfer_id}/post": frozenset({"operator"}),
    "POST /v1/transfers/{transfer_id}/void": frozenset({"operator"}),
    "POST /v1/transfers/{transfer_id}/reversal": frozenset({"operator"}),
    "GET /v1/ledger/contribution-totals": STAFF,
    "GET /v1/ledger/totals": STAFF,
    "PUT /v1/keys/{issuer}": frozenset({"operator", "th-sso"}),
    "POST /v1/keys/{issuer}/{kid}/revocation": frozenset({"operator", "th-sso"}),
    "POST /v1/funds/{fund}/declarations": frozenset({"operator", "th-sso", "employer"}),
    "GET /v1/agreements": SIGNED_IN,
    "GET /v1/agreements/{name}": SIGNED_IN,
    "GET /v1/fx-rates": SIGNED_IN,
    "PUT /v1/fx-rates/{base}/{quote}": frozenset({"operator"}),
    "POST /v1/portability/transfers": frozenset({"operator", "th-sso", "kh-nssf", "worker"}),
    "GET /v1/portability/transfers": STAFF | FUNDS | {"worker", "worker2"},  # each its own
    "GET /v1/portability/transfers/{flow_id}": STAFF | {"jp-jps", "kh-nssf", "worker"},
    "POST /v1/portability/transfers/{flow_id}/transitions": frozenset({"operator", "th-sso"}),
    "GET /v1/workers/{worker_id}/totalisation": STAFF | {"worker"},
    "GET /v1/workers/{worker_id}/receivables": OF_THE_WORKER,
    "GET /v1/workers/{worker_id}/exit-options": STAFF | {"worker"},
    "POST /v1/inbox/messages": frozenset({"operator"}) | FUNDS,
    "GET /v1/inbox/messages": STAFF | FUNDS,
    "GET /v1/inbox/rejections": STAFF,
    "GET /v1/inbox/channels": STAFF | FUNDS,  # a fund: its own channels (clmtv fund sign)
    "POST /v1/windows": frozenset({"operator"}),
    "GET /v1/windows": STAFF | FUNDS,
    "GET /v1/windows/{window_id}": STAFF | FUNDS,
    "POST /v1/windows/{window_id}/transitions": frozenset({"operator"}),
    # Payment channels (docs/channels.md): each its own, the hub all (the auditor reads).
    "GET /v1/channels": SIGNED_IN,  # each sees the channels it may read (others: none)
    "GET /v1/channels/{channel}": STAFF | {"channel"},
    "GET /v1/channels/{channel}/balances": STAFF | {"channel"},
    "POST /v1/channels/{channel}/quotes": frozenset({"operator", "channel"}),
    "POST /v1/channels/{channel}/payments": frozenset({"operator", "channel"}),
    "POST /v1/channels/{channel}/payments/batch": frozenset({"operator", "channel"}),
    "GET /v1/channels/{channel}/payments/{channel_ref}": STAFF | {"channel"},
    "POST /v1/channels/{channel}/payments/{channel_ref}/reversal":
        frozenset({"operator", "channel"}),
    "POST /v1/channels/{channel}/payments/{channel_ref}/refund":
        frozenset({"operator", "channel"}),
    "POST /v1/channels/{channel}/days/{day}": frozenset({"operator", "channel"}),
    "GET /v1/channels/{channel}/days/{day}": STAFF | {"channel"},
    "GET /v1/channels/{channel}/days/{day}/ledger.csv": STAFF | {"channel"},
    # The tamper-evident journal (ADR 0050): funds keep the hub's tree heads; an inclusion proof
    # shows a transfer, so it follows the transfer's rule (demo-move-1 is the hub's own).
    "GET /v1/journal/tree-heads": STAFF | FUNDS,
    "GET /v1/journal/tree-heads/latest": STAFF | FUNDS,
    "GET /v1/journal/transfers/{transfer_id}/inclusion": STAFF,
    "GET /v1/journal/consistency": STAFF | FUNDS,
    # a period change's proof: a fund's own periods only (the example is the demo's TH-SSO month)
    "GET /v1/journal/periods/{change_id}/inclusion": STAFF | {"th-sso"},
    # the demo's public monitoring release: anyone, with no token or a good one
    "GET /v1/stats/releases": EVERYONE - {"bad-token", "revoked", "expired"},
    "GET /v1/stats/releases/{release_id}": EVERYONE - {"bad-token", "revoked", "expired"},
    "GET /v1/stats/releases/{release_id}/files/{path}":
        EVERYONE - {"bad-token", "revoked", "expired"},
}


async def _tokens(http: httpx.AsyncClient) -> dict[str, str | None]:
    services = http._transport.app.state.services  # type: ignore[attr-defined]
    tokens: dict[str, str | None] = dict(DEMO_TOKENS)
    tokens["employer"] = await services.clients.register(
        f"employer-{secrets.token_hex(3)}", PrincipalKind.EMPLOYER, "TH-SSO",
        employer=DEMO_EMPLOYER)
    tokens["channel"] = await services.clients.register(
        f"channel-{secrets.token_hex(3)}", PrincipalKind.CHANNEL, DEMO_CHANNEL)
    tokens["worker2"] = await services.clients.register(
        f"worker2-{secrets.token_hex(3)}", PrincipalKind.WORKER, DEMO_SECOND_WORKER)
    tokens["none"] = None
    tokens["bad-token"] = "not-a-token-anyone-was-given"
    revoked = f"revoked-{secrets.token_hex(3)}"
    tokens["revoked"] = await services.clients.register(revoked, PrincipalKind.HUB_OPERATOR,
                                                        None)
    await services.clients.revoke(revoked)
    expired = f"expired-{secrets.token_hex(3)}"
    tokens["expired"] = await services.clients.register(expired, PrincipalKind.HUB_OPERATOR,
                                                        None, expires_in_s=3600)
    await repo.update_client(services.db, expired, {"expires_at_us": 1})
    services.clients._cache.clear()
    return tokens


async def _call(http: httpx.AsyncClient, spec: dict[str, Any], method: str, path: str,
                token: str | None) -> int:
    operation = spec["paths"][path][method]
    headers = {"Idempotency-Key": secrets.token_hex(8)}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if path in UPLOADS and method == "post":  # the same path may also have a GET
        response = await http.post(_path(path, operation), headers=headers, files={
            "file": (UPLOADS[path].name, UPLOADS[path].read_bytes())})
    elif "requestBody" in operation:
        response = await http.request(method, _path(path, operation), headers=headers,
                                      json=_example(operation, spec))
    else:
        response = await http.request(method, _path(path, operation), headers=headers)
    return response.status_code


async def test_every_route_as_every_principal(demo_http: httpx.AsyncClient) -> None:
    spec = (await demo_http.get("/openapi.json")).json()
    routes = {f"{m.upper()} {p}": (m, p) for p, ops in spec["paths"].items() for m in ops}
    assert sorted(routes) == sorted(ALLOWED), "a new route needs its row in ALLOWED"
    tokens = await _tokens(demo_http)
    wrong: list[str] = []
    tried = 0
    for name, (method, path) in routes.items():
        for who, token in tokens.items():
            status = await _call(demo_http, spec, method, path, token)
            tried += 1
            allowed = who in ALLOWED[name]
            refused = status in (401, 403, 404)
            if allowed and status in (401, 403):
                wrong.append(f"{name} as {who}: {status}, should be allowed")
            if not allowed and not refused:
                wrong.append(f"{name} as {who}: {status}, should be refused")
            if who in NOT_SIGNED_IN and not allowed:
                assert status == 401, (name, who, status)
    assert not wrong, "\n".join(wrong)
    assert tried == len(ALLOWED) * len(EVERYONE)
