"""A worker whose Japanese claim deadline is always a few weeks away, for the page tests.

Sixty months of Thai s33, then 36 months of Japanese EPI ending 24 months before the current
month: the worker is taken to have left Japan the month after, so the lump-sum window (24 months,
the JP adapter's `lswp_claim_window_months`) ends on the last day of next month: 25 to 61 days
from today, inside the page's 90-day warning.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime

from ledger.composition import Services
from ledger.domain.periods import Month
from tests.e2e.story_support import E, G, R, contribute, enrol

JP_MONTHS = 36
TH_MONTHS = 60


def current_month() -> Month:
    return Month.of(datetime.now(tz=UTC).date())


def expected_jp_deadline() -> date:
    """Last day of next month (see the module's docstring)."""
    nxt = current_month().plus(1)
    return date(nxt.year, nxt.month, calendar.monthrange(nxt.year, nxt.month)[1])


async def worker_with_a_deadline(services: Services, uid: str) -> str:
    worker = await enrol(services, uid, "KH", ("TH-SSO", "JP-JPS"))
    jp_last = current_month().plus(-24)
    jp_first = jp_last.plus(-(JP_MONTHS - 1))
    th_first = jp_first.plus(-TH_MONTHS)
    await contribute(services, worker, "TH-SSO", "s33-old-age", th_first, TH_MONTHS, 1_500_000,
                     {E: 45_000, R: 45_000, G: 15_050})
    await contribute(services, worker, "JP-JPS", "epi", jp_first, JP_MONTHS, 180_000,
                     {E: 16_470, R: 16_470})
    return worker
