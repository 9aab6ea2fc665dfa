"""Signed worker statements: verifiable offline by `clmtv verify` and by joserfc (independent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from ledger import cli
from ledger.settlement.keys import HUB, TrustRegistry
from ledger.settlement.messages import verify_message
from tests.api.conftest import Api
from tests.api.helpers import new_worker, thai_contribution

pytestmark = pytest.mark.anyio


async def signed(api: Api, uid: str) -> tuple[str, dict[str, object], dict[str, object], str]:
    worker = await new_worker(api, uid)
    response = await api.http.post("/v1/contributions", json=thai_contribution(worker),
                                   headers={**api.auth("operator"), "Idempotency-Key": uid})
    assert response.status_code == 201
    token = await api.http.get(f"/v1/workers/{worker}/statement.jws",
                               headers=api.auth("operator"))
    assert token.headers["content-type"] == "application/jose"
    plain = await api.http.get(f"/v1/workers/{worker}/statement", headers=api.auth("operator"))
    jwks = (await api.http.get("/.well-known/jwks.json")).json()
    return token.text, _whole(plain.json()), jwks, worker


def _whole(statement: dict[str, Any]) -> dict[str, Any]:
    """The JSON statement as signed: every contribution listed, so without the page's counts
    (the signed statement is never paged)."""
    detail = statement.pop("detail")
    assert detail["next"] is None and detail["listed"] == detail["contributions"]
    for fund in statement["funds"]:
        assert fund.pop("contributions_total") == len(fund["contributions"])
    return statement


async def test_statement_is_signed_and_matches_the_json_statement(api: Api, uid: str) -> None:
    token, plain, jwks, worker = await signed(api, uid)
    registry = TrustRegistry()
    registry.load_jwks(HUB, jwks)
    message = verify_message(token, registry, worker, now=int(__import__("time").time()))
    assert message.iss == "HUB" and message.typ == "statement.worker"
    assert message.body == plain


async def test_an_independent_jose_library_verifies_it(api: Api, uid: str) -> None:
    token, plain, jwks, _ = await signed(api, uid)
    result = jws.deserialize_compact(token, KeySet.import_key_set(jwks), algorithms=["Ed25519"])
    assert json.loads(result.payload)["body"] == plain


async def test_clmtv_verify_accepts_it_and_refuses_a_tampered_copy(
    api: Api, uid: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token, _, jwks, worker = await signed(api, uid)
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    (tmp_path / "statement.jws").write_text(token)
    assert cli.main(["verify", str(tmp_path / "statement.jws"),
                     "--jwks", str(tmp_path / "jwks.json")]) == 0
    out = capsys.readouterr().out
    assert f"to {worker}" in out and "TH-SSO: 1 month, 1,050.50 THB" in out
    head, payload, signature = token.split(".")
    forged = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    (tmp_path / "forged.jws").write_text(f"{head}.{forged}.{signature}")
    assert cli.main(["verify", str(tmp_path / "forged.jws"),
                     "--jwks", str(tmp_path / "jwks.json")]) == 1
    assert "invalid:" in capsys.readouterr().err


async def test_a_funds_partial_view_is_signed_as_partial_and_verify_says_so(
    api: Api, uid: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 25 finding 10: a fund's view (its own fund only) was signed with the claims of the
    worker's whole statement, and `clmtv verify` called it valid as such."""
    worker = await new_worker(api, uid, ("TH-SSO", "JP-JPS"))
    jwks = (await api.http.get("/.well-known/jwks.json")).json()
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    for who, complete, funds in (("th", False, ["TH-SSO"]),
                                 ("operator", True, ["JP-JPS", "TH-SSO"])):
        token = (await api.http.get(f"/v1/workers/{worker}/statement.jws",
                                    headers=api.auth(who))).text
        registry = TrustRegistry()
        registry.load_jwks(HUB, jwks)
        body = verify_message(token, registry, worker, now=int(__import__("time").time())).body
        assert body["scope"] == {"complete": complete, "funds": funds}
        (tmp_path / f"{who}.jws").write_text(token)
        assert cli.main(["verify", str(tmp_path / f"{who}.jws"), "--jwks",
                         str(tmp_path / "jwks.json")]) == 0
        printed = capsys.readouterr().out
        assert ("PARTIAL, only TH-SSO" in printed) is not complete
        assert ("whole record" in printed)
