"""The reference worker of issue 4, built through the real services on the test database.

The demo's worker (`ledger/app/demo.py`, the README's reference worker), carried forward: a
Cambodian worker with 140 months of Thai s33 (2012-01 .. 2023-08), 36 months of Japanese EPI
(2023-09 .. 2026-08) on a standard remuneration of 180,000 yen until his 2025 return (the demo's
sample 算定基礎届) sets 190,000 from 2025-09, then home: the NSSF pension from 2026-09, where the
demo stops after two months and this story goes on to 40 (.. 2029-12). Shares are the funds'
published rates on those wages, as the demo seeds them. `test_story_is_the_demos.py` checks
that the demo, this career and docs/settlement.md tell the same story.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from ledger.composition import Services, build_services
from ledger.config import Settings
from ledger.db.engine import Database
from ledger.domain.contributions import ContributionInput
from ledger.domain.funds import Payer, get_fund
from ledger.domain.money import Money
from ledger.domain.periods import Month
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.signing import HubSigner
from ledger.services.workers import NewWorker
from ledger.settlement.keys import HUB, SigningKey
from tests.api.helpers import member_number

OPERATOR = Principal("story-operator", PrincipalKind.HUB_OPERATOR)
E, R, G = Payer.EMPLOYEE, Payer.EMPLOYER, Payer.GOVERNMENT
CAREER = [
    ("TH-SSO", "s33-old-age", Month(2012, 1), 140, 1_500_000, {E: 45_000, R: 45_000, G: 15_050}),
    ("JP-JPS", "epi", Month(2023, 9), 24, 180_000, {E: 16_470, R: 16_470}),
    ("JP-JPS", "epi", Month(2025, 9), 12, 190_000, {E: 17_385, R: 17_385}),
    # The pension's total rate steps from 4 % to 8 % in its sixth year (October 2027).
    ("KH-NSSF", "pension", Month(2026, 9), 13, 120_000_000, {E: 2_400_000, R: 2_400_000}),
    ("KH-NSSF", "pension", Month(2027, 10), 27, 120_000_000, {E: 4_800_000, R: 4_800_000}),
]
RATES = [("JPY", "USD", "0.0067"), ("USD", "KHR", "4100"), ("THB", "USD", "0.028"),
         ("USD", "VND", "25000")]


def fund_principal(fund: str) -> Principal:
    return Principal(f"story-{fund}", PrincipalKind.FUND, fund)


@dataclass
class Story:
    services: Services
    worker: str


@pytest.fixture
async def story_services(db: Database) -> AsyncIterator[Services]:
    services = build_services(Settings(database_url=db.url), db=db,
                              signer=HubSigner(SigningKey.generate(HUB)))
    services.committer.start()
    for base, quote, rate in RATES:
        await services.portability.set_rate(OPERATOR, base, quote, rate, "test reference rate")
    yield services
    await services.committer.stop()


async def enrol(services: Services, uid: str, nationality: str = "KH",
                funds: tuple[str, ...] = ("TH-SSO", "JP-JPS", "KH-NSSF")) -> str:
    worker = f"wkr_{uid}"
    await services.workers.create(OPERATOR, NewWorker(
        nationality, [(f, member_number(f, uid)) for f in funds], None, None, worker))
    return worker


async def contribute(services: Services, worker: str, fund: str, scheme: str, first: Month,
                     months: int, wage: int, shares: dict[Payer, int]) -> None:
    currency = get_fund(fund).currency
    inputs = [
        ContributionInput(worker_id=worker, fund=fund, scheme=scheme,
                          month=str(first.plus(i)), wage_base=Money(wage, currency),
                          shares=[(p.value, Money(a, currency)) for p, a in shares.items()])
        for i in range(months)
    ]
    valid = await services.contributions.validate(OPERATOR, inputs)
    results = await services.contributions.post(valid)
    assert all(r.ok for r in results), [r.error for r in results if r.error][:1]


async def reference_worker(services: Services, uid: str) -> str:
    worker = await enrol(services, uid)
    for fund, scheme, first, months, wage, shares in CAREER:
        await contribute(services, worker, fund, scheme, first, months, wage, shares)
    return worker
