"""The statement page in every language: the claim deadline in the locale's calendar, the 90-day
warning, amounts from the funds' rules, the QR code and the embedded signed statement; the
verification page and POST /v1/verify refuse a tampered statement."""

from __future__ import annotations

import base64
import json
import re

import pytest

from ledger.domain.principals import PrincipalKind
from ledger.web import formats, i18n
from ledger.web.statement_page import qr_target
from tests.api.conftest import Api
from tests.web.seed import expected_jp_deadline, worker_with_a_deadline

pytestmark = pytest.mark.anyio


def tamper(token: str) -> str:
    """The same statement with one month more at its first fund: the signature no longer fits."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["body"]["funds"][0]["months"] += 1
    forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{forged.decode().rstrip('=')}.{signature}"


async def _worker(api: Api, uid: str) -> tuple[str, dict[str, str]]:
    worker = await worker_with_a_deadline(api.services, uid)
    token = await api.services.clients.register(f"w-{uid}", PrincipalKind.WORKER, worker)
    return worker, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("code", [lang.code for lang in i18n.LANGUAGES])
async def test_the_page_shows_the_deadline_in_each_language(api: Api, uid: str,
                                                            code: str) -> None:
    worker, as_worker = await _worker(api, uid)
    page = await api.http.get(f"/web/workers/{worker}/statement?lang={code}", headers=as_worker)
    assert page.status_code == 200, page.text
    text = page.text
    assert f'<html lang="{code}">' in text
    deadline = formats.day(expected_jp_deadline(), code)
    assert deadline in text  # in the claim and in the warning
    assert f'data-deadline="{expected_jp_deadline().isoformat()}"' in text
    assert 'data-route="jp_lswp"' in text and 'data-route="jp_tax_refund"' in text
    assert 'data-route="th_old_age"' in text
    assert "data:image/svg+xml;base64," in text  # the QR code
    if code == "th":
        assert "พ.ศ." in text
    if code == "ja":
        assert "令和" in text


async def test_the_amounts_are_the_rules_amounts(api: Api, uid: str) -> None:
    worker, as_worker = await _worker(api, uid)
    claimable = (await api.http.get(f"/v1/workers/{worker}/claimable",
                                    headers=as_worker)).json()
    by_route = {o["route"]: o for o in claimable["options"]}
    lswp, tax = by_route["jp_lswp"], by_route["jp_tax_refund"]
    assert lswp["deadline"] == expected_jp_deadline().isoformat()
    assert lswp["warn"] is True and 0 < lswp["days_left"] <= 90
    assert lswp["payer"] == "JP-JPS" and tax["payer"] == "JP-TAX"
    # 36 months of 180,000 yen: the JP rule's gross, less 20.42% withheld (its own rounding).
    gross = int(lswp["amount"]["amount_minor"]) + int(tax["amount"]["amount_minor"])
    assert abs(int(tax["amount"]["amount_minor"]) - gross * 0.2042) < 1
    page = await api.http.get(f"/web/workers/{worker}/statement?lang=en", headers=as_worker)
    assert formats.wire_money(lswp["amount"], "en") in page.text


async def test_the_qr_code_points_at_the_embedded_signed_statement(api: Api, uid: str) -> None:
    worker, as_worker = await _worker(api, uid)
    page = await api.http.get(f"/web/workers/{worker}/statement", headers=as_worker)
    token = re.search(r'<textarea readonly id="signed-statement"[^>]*>([^<]+)</textarea>',
                      page.text)
    assert token is not None
    checked = await api.http.post("/v1/verify", json={"document": token.group(1),
                                                      "audience": worker})
    assert checked.json()["valid"] is True and checked.json()["audience_checked"] is True
    assert "#sha256=" in qr_target(type("R", (), {"base_url": "http://x/"})(),  # type: ignore[arg-type]
                                   token.group(1), worker)


async def test_a_tampered_statement_is_refused_by_the_api_and_the_page(api: Api, uid: str
                                                                       ) -> None:
    worker, as_worker = await _worker(api, uid)
    signed = (await api.http.get(f"/v1/workers/{worker}/statement.jws",
                                 headers=as_worker)).text
    forged = tamper(signed)
    answer = (await api.http.post("/v1/verify", json={"document": forged})).json()
    assert answer == {"valid": False, "reason": "signature_invalid",
                      "detail": "signature does not verify"}
    other = (await api.http.post("/v1/verify", json={"document": signed,
                                                     "audience": "wkr_someone"})).json()
    assert other["valid"] is False and other["reason"] == "wrong_audience"
    page = await api.http.post("/web/verify", data={"document": forged})
    assert 'data-valid="false"' in page.text and "signature_invalid" in page.text
    good = await api.http.post("/web/verify", data={"document": signed})
    assert 'data-valid="true"' in good.text


async def test_a_reader_without_a_token_is_asked_to_sign_in(api: Api, uid: str) -> None:
    worker, _ = await _worker(api, uid)
    page = await api.http.get(f"/web/workers/{worker}/statement?lang=vi")
    assert page.status_code == 401 and "Vui lòng đăng nhập" in page.text


async def test_a_passed_window_shows_the_rules_refusal_and_a_current_job_the_window_to_come(
        api: Api, uid: str) -> None:
    from tests.e2e.story_support import E, R, contribute, enrol
    from tests.web.seed import current_month

    late = await enrol(api.services, uid, "VN", ("JP-JPS",))
    await contribute(api.services, late, "JP-JPS", "epi", current_month().plus(-40), 12,
                     180_000, {E: 16_470, R: 16_470})
    claims = await api.services.claimables.for_worker(late, ["JP-JPS"])
    (lswp,) = claims.options
    assert lswp.amount is None and lswp.deadline is not None and not lswp.warn(claims.today)
    assert any("after leaving Japan" in reason for reason in lswp.refused)

    working = await enrol(api.services, uid[::-1], "VN", ("JP-JPS",))
    await contribute(api.services, working, "JP-JPS", "epi", current_month().plus(-11), 12,
                     180_000, {E: 16_470, R: 16_470})
    claims = await api.services.claimables.for_worker(working, ["JP-JPS"])
    assert claims.coverage_ended == ()
    lswp = next(o for o in claims.options if o.route == "jp_lswp")
    assert lswp.deadline is None and lswp.window_months == 24 and lswp.window_from == "leaving"
    assert lswp.amount is not None and lswp.amount.amount_minor > 0


async def test_the_worker_sees_each_exit_route_the_agreement_offers(api: Api, uid: str) -> None:
    worker, as_worker = await _worker(api, uid)
    page = await api.http.get(f"/web/workers/{worker}/statement?lang=th", headers=as_worker)
    assert 'data-exit="TH-SSO/s33-old-age"' in page.text
    assert 'data-route="transfer_to_home_fund"' in page.text
    assert 'data-route="keep_and_totalise"' in page.text
    assert "ทางเลือกของคุณตามความตกลง" in page.text
