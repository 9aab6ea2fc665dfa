"""Seeds a small, realistic population so that a newcomer sees a working ledger at once.

The story of the demo worker is the project's reference case: a Cambodian worker with 140 months
under Thai SSO, then 36 months of Japanese EPI, then home to the NSSF pension scheme, taking
Japan's lump sum home through the NSSF; a settled USD window follows (`demo_settlement.py`).
The funds' sample files are part of the story: the Japanese one is his 2025 算定基礎届 (the grade
of his September 2025 month and after), the Cambodian one his first months' return at home, the
Thai one adds a month to the Myanmar worker. The careers leave those months to the files, which
are imported before the flows take the balances away. Seeding is idempotent: running the demo
twice changes nothing. `seed` returns a summary (`demo_summary.py`) read back from the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger.app.demo_imports import import_samples
from ledger.app.demo_summary import DemoSummary, summarise
from ledger.composition import Services
from ledger.demo_data import (
    DEMO_CHANNEL,
    DEMO_EMPLOYER,
    DEMO_RELEASE,
    DEMO_SECOND_TH_ID,
    DEMO_SECOND_WORKER,
    DEMO_STATS_PERIOD,
    DEMO_TOKENS,
    DEMO_WORKER,
    DEMO_WORKER_JP_NUMBER,
    DEMO_WORKER_KH_NUMBER,
    DEMO_WORKER_TH_ID,
)
from ledger.domain.accounts import AccountCode
from ledger.domain.contributions import ContributionInput
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer, get_fund
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.workers import NewWorker
from ledger.text import plural

OPERATOR = Principal("demo-operator", PrincipalKind.HUB_OPERATOR)

# (fund, scheme, shares in minor units by payer) for one month of the demo worker's career.
# Thai s33 on a wage of 15,000 THB (the pre-2026 ceiling): old age 3/3/1 %, sickness 1.5 %
# each, unemployment 0.5/0.5/0.25 %; the state's 2.75 % is paid in whole baht (413, ADR 0035),
# so its old-age branch, which takes the rounding, is 150.50. These are the fund's rules' own
# amounts: the demo seeds through the same check as the API (issue 22 item 3). Japanese EPI:
# 9.15 % each side of the grade, 180,000 yen
# until the sample 算定基礎届 (average 185,666 yen) moves him to 190,000 from September 2025.
# Cambodian pension on the sample's wage of 1,500,000 riel, clamped to the 1,200,000 ceiling, at
# 4 % total: 24,000 riel each (riel minor unit = 1/100).
ShareTable = list[tuple[str, int, dict[Payer, int]]]
E, R, G = Payer.EMPLOYEE, Payer.EMPLOYER, Payer.GOVERNMENT
THAI: ShareTable = [
    ("s33-old-age", 1_500_000, {E: 45_000, R: 45_000, G: 15_050}),
    ("s33-sickness", 1_500_000, {E: 22_500, R: 22_500, G: 22_500}),
    ("s33-unemployment", 1_500_000, {E: 7_500, R: 7_500, G: 3_750}),
]
JAPAN: ShareTable = [("epi", 180_000, {E: 16_470, R: 16_470})]
JAPAN_FROM_2025_09: ShareTable = [("epi", 190_000, {E: 17_385, R: 17_385})]
CAMBODIA: ShareTable = [("pension", 120_000_000, {E: 2_400_000, R: 2_400_000})]


@dataclass(frozen=True, slots=True)
class Career:
    worker: str
    fund: str
    first: Month
    months: int
    table: ShareTable


# A month a sample file declares is not seeded here: the file books it (`demo_imports.py`).
CAREERS = [
    Career(DEMO_WORKER, "TH-SSO", Month(2012, 1), 140, THAI),
    Career(DEMO_WORKER, "JP-JPS", Month(2023, 9), 24, JAPAN),
    # 2025-09: jp_jps/samples/SHFD0006.CSV
    Career(DEMO_WORKER, "JP-JPS", Month(2025, 10), 11, JAPAN_FROM_2025_09),
    Career(DEMO_WORKER, "KH-NSSF", Month(2026, 9), 1, CAMBODIA),
    # 2026-10: kh_nssf/samples/declaration-2026-10.csv
    Career(DEMO_SECOND_WORKER, "TH-SSO", Month(2024, 1), 24, THAI),
    # 2026-01: th_sso/samples/sso-1-10-2026-01.txt
]


async def seed(svc: Services, say: Callable[[str], None] = print) -> DemoSummary:
    await _accounts(svc)
    await _workers(svc)
    for worker in (DEMO_WORKER, DEMO_SECOND_WORKER):  # the Thai sample's employer's staff
        await svc.employments.register(OPERATOR, "TH-SSO", DEMO_EMPLOYER, worker)
    await _clients(svc)  # after the workers: a worker's client names an existing worker
    for career in CAREERS:
        inputs = [
            _input(career.worker, career.fund, scheme, career.first.plus(i), wage, shares)
            for i in range(career.months)
            for scheme, wage, shares in career.table
        ]
        for start in range(0, len(inputs), 500):
            valid = await svc.contributions.validate(OPERATOR, inputs[start : start + 500])
            results = await svc.contributions.post(valid)
            failed = [r.error for r in results if r.error]
            if failed:
                raise RuntimeError(f"demo seeding failed: {failed[0]}")
        say(f"  {career.worker}: {plural(career.months, 'month')} at {career.fund} from "
            f"{career.first}")
    from ledger.app.demo_settlement import seed_settlement

    samples = await import_samples(svc, say)
    await seed_settlement(svc, say)
    from ledger.app.demo_channels import seed_channels

    await seed_channels(svc, say)
    await svc.journal.seal_all()  # the first signed tree head: proofs work at once (ADR 0050)
    await svc.period_journal.seal_all()  # and the period changes' (ADR 0059)
    await _stats(svc, say)
    return await summarise(svc, samples)


async def _stats(svc: Services, say: Callable[[str], None]) -> None:
    """The public release of the demo's quarter, once: a rerun must not spend the budget again
    (the third would be refused)."""
    from ledger.db import stats_repo

    if await stats_repo.release(svc.db, DEMO_RELEASE) is None:
        built = await svc.stats.build(OPERATOR, DEMO_STATS_PERIOD)
        say(f"  monitoring release {built.release['id']} (ε={built.release['epsilon']})")


def _input(worker: str, fund: str, scheme: str, month: Month, wage: int,
           shares: dict[Payer, int]) -> ContributionInput:
    currency = get_fund(fund).currency
    return ContributionInput(
        worker_id=worker, fund=fund, scheme=scheme, month=str(month),
        wage_base=Money(wage, currency),
        shares=[(payer.value, Money(amount, currency)) for payer, amount in shares.items()],
    )


async def _clients(svc: Services) -> None:
    scopes = {
        "operator": (PrincipalKind.HUB_OPERATOR, None),
        "auditor": (PrincipalKind.AUDITOR, None),
        "th-sso": (PrincipalKind.FUND, "TH-SSO"),
        "jp-jps": (PrincipalKind.FUND, "JP-JPS"),
        "kh-nssf": (PrincipalKind.FUND, "KH-NSSF"),
        "worker": (PrincipalKind.WORKER, DEMO_WORKER),
        "channel": (PrincipalKind.CHANNEL, DEMO_CHANNEL),
    }
    for name, (kind, scope) in scopes.items():
        try:
            await svc.clients.authenticate(DEMO_TOKENS[name])
        except DomainError:
            await svc.clients.register(f"demo-{name}", kind, scope, DEMO_TOKENS[name])


async def _accounts(svc: Services) -> None:
    # Opened first, so that on a fresh database they are accounts 1 and 2 (the API example).
    for name in ("a", "b"):
        await svc.transfers.open_account(OPERATOR, f"demo/operating/{name}",
                                         AccountCode.OPERATING, Currency.THB, AccountFlags.NONE)


async def _workers(svc: Services) -> None:
    people = [
        NewWorker("KH", [("TH-SSO", DEMO_WORKER_TH_ID), ("JP-JPS", DEMO_WORKER_JP_NUMBER),
                         ("KH-NSSF", DEMO_WORKER_KH_NUMBER)], "passport", "N01234567",
                  DEMO_WORKER),
        NewWorker("MM", [("TH-SSO", DEMO_SECOND_TH_ID)], "passport", "MB7654321",
                  DEMO_SECOND_WORKER),
    ]
    for person in people:
        try:
            await svc.workers.create(OPERATOR, person)
        except DomainError as exc:
            if exc.code not in (ErrorCode.ID_CONFLICT, ErrorCode.MEMBERSHIP_EXISTS):
                raise
