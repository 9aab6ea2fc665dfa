"""The pilot offers Thai old age both ways, and says what each pays, who pays and by when
(ADR 0047; issue 17 item 5). Worked by hand from the funds' rules:

A Cambodian worker: 140 months of Thai s33 at 15,000 THB (2010-01 .. 2021-08; 450 THB a side
and 150 from the state each month), then 40 months of the NSSF pension at home (2024-09 ..
2027-12). As of 2028-01, aged 55:

- transfer_to_home_fund: the employee and employer shares move now, TH-SSO to KH-NSSF:
  140 x (450 + 450) = 126,000.00 THB (the state's 140 x 150 = 21,000 stays in Thailand);
- keep_and_totalise: 140 + 40 = 180 totalised months reach the Thai 180; the theoretical pension
  is 20% (no full 12 months beyond 180) of the 15,000 average of the last 60 Thai months =
  3,000.00 THB a month; Thailand pays 140/180 of it, rounded down (the pilot's pro-rata
  rounding): 300,000 x 140 / 180 = 233,333.33 -> 2,333.33 THB a month, from 2028-01 (age 55
  reached, insured status ended in 2021-09), claimed by 2030-01 (the SSO's 24-month window).
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from ledger.composition import Services
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.periods import Month
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.exit_options import exit_options
from tests.e2e.story_support import CAREER, OPERATOR, contribute, enrol, story_services

pytestmark = pytest.mark.anyio
__all__ = ["story_services"]


async def thai_then_home(services: Services, uid: str, thai_months: int = 140) -> str:
    worker = await enrol(services, uid, "KH", ("TH-SSO", "KH-NSSF"))
    th = CAREER[0]
    await contribute(services, worker, th[0], th[1], th[2], thai_months, th[4], th[5])
    for step in (c for c in CAREER if c[0] == "KH-NSSF"):  # the rate steps in October 2027
        await contribute(services, worker, *step)
    return worker


def routes(options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (scheme,) = options["schemes"]
    assert (scheme["fund"], scheme["scheme"]) == ("TH-SSO", "s33-old-age")
    return {r["route"]: r for r in scheme["routes"]}


async def test_both_thai_routes_with_amount_payer_and_date(story_services: Services,
                                                           uid: str) -> None:
    worker = await thai_then_home(story_services, uid)
    options = await exit_options(story_services.portability, OPERATOR, worker, Month(2028, 1),
                                 55)
    assert options["agreement"] == "clmtv-2019-pilot"
    (scheme,) = options["schemes"]
    assert scheme["default"] == "transfer_to_home_fund" and scheme["active_months"] == 140
    by_route = routes(options)
    assert list(by_route) == ["transfer_to_home_fund", "keep_and_totalise"]
    move = by_route["transfer_to_home_fund"]
    assert move["amount"] == {"amount_minor": "12600000", "currency": "THB"}
    assert (move["payer"], move["paid_to"], move["payment"]) == ("TH-SSO", "KH-NSSF", "once")
    assert move["months_then_count_at"] == "KH-NSSF"
    keep = by_route["keep_and_totalise"]
    assert keep["amount"] == {"amount_minor": "233333", "currency": "THB"}
    assert keep["payment"] == "monthly" and keep["payer"] == "TH-SSO"
    assert keep["basis"]["theoretical"] == {"amount_minor": "300000", "currency": "THB"}
    assert keep["basis"]["pro_rata"] == "140/180"
    assert (keep["when"], keep["claim_by"]) == ("from 2028-01", "2030-01")


async def test_a_younger_worker_is_paid_from_55_and_a_short_career_gets_the_lump_sum(
    story_services: Services, uid: str
) -> None:
    """Aged 40 in 2028-01: the same pension from 2043-01 (15 years later), claim by 2045-01.
    With 24 Thai months only, 24 + 40 = 64 totalised months give no pension: keeping the months
    means the SSO's lump sum at 55, 24 x (450 + 450) = 21,600.00 THB, what a transfer moves now."""
    worker = await thai_then_home(story_services, uid)
    young = routes(await exit_options(story_services.portability, OPERATOR, worker,
                                      Month(2028, 1), 40))["keep_and_totalise"]
    assert young["amount"] == {"amount_minor": "233333", "currency": "THB"}
    assert (young["when"], young["claim_by"]) == ("from 2043-01", "2045-01")

    short = await thai_then_home(story_services, secrets.token_hex(5), thai_months=24)
    by_route = routes(await exit_options(story_services.portability, OPERATOR, short,
                                         Month(2028, 1), 55))
    assert by_route["transfer_to_home_fund"]["amount"] == {"amount_minor": "2160000",
                                                           "currency": "THB"}
    lump = by_route["keep_and_totalise"]
    assert lump["amount"] == {"amount_minor": "2160000", "currency": "THB"}
    assert lump["payment"] == "once" and "64 of 180 totalised months" in lump["note"]


async def test_only_the_worker_and_the_hub_see_the_options(story_services: Services,
                                                           uid: str) -> None:
    worker = await thai_then_home(story_services, uid)
    me = Principal("me", PrincipalKind.WORKER, worker)
    assert (await exit_options(story_services.portability, me, worker, Month(2028, 1), 55))[
        "schemes"]
    someone = Principal("other", PrincipalKind.WORKER, "wkr_someone00")
    with pytest.raises(DomainError) as refused:
        await exit_options(story_services.portability, someone, worker, Month(2028, 1), 55)
    assert refused.value.code is ErrorCode.FORBIDDEN
