"""The reference model of contributions: validation, the unit each one books, and what the
engine does with a contribution id it has seen (README "A contribution", ADR 0026).

- Validation refuses the first bad field, in the order the API documents its fields: worker,
  fund, scheme, month (format, then in force), kind, wage base (currency, sign), shares (none;
  then per share: payer, a payer twice, currency, amount), then a caller-named id.
- A valid contribution books one transfer per share, payers in the order employee, employer,
  government, voluntary: from the fund's collections (the state's share: from the government
  receivable) into the worker's one member account for the fund and scheme; transfer ids are
  `{contribution id}/{payer}`. Its period (worker, fund, scheme, month) is recorded once.
- Posting the same contribution again books nothing; a seen id with other fields is refused,
  naming the first transfer or field that differs.

The registry facts below (currencies, scheme start months) are restated from
`../shared/reference/funds.md`, not read from `ledger.domain.funds`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.domain.errors import ErrorCode
from ledger.domain.money import Currency, Money
from tests.properties.ledger_reference import CREATED, EXISTS, FAILED, Outcome, RefusedError

PAYERS = ("employee", "employer", "government", "voluntary")  # booking order
KINDS = ("compulsory", "voluntary", "credited")
FUNDS: dict[str, tuple[Currency, dict[str, int | None]]] = {
    # fund -> (currency, scheme -> first month as yyyymm, None when not operating)
    "TH-SSO": (Currency.THB, {"s33-old-age": 199812, "s39-voluntary": 199401,
                              "s33-sickness": 199103}),
    "JP-JPS": (Currency.JPY, {"epi": 198604}),
    "KH-NSSF": (Currency.KHR, {"pension": 202210}),
    "MM-SSB": (Currency.MMK, {"old-age": None}),
}
_WORKER = re.compile(r"wkr_[a-z0-9]{4,40}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}")


@dataclass(frozen=True)
class Raw:
    """A contribution as a caller sends it."""

    worker_id: object
    fund: str
    scheme: str
    month: object
    wage_base: Money
    shares: tuple[tuple[str, Money], ...]
    kind: str = "compulsory"
    id: object = None


@dataclass(frozen=True)
class Valid:
    id: str
    worker_id: str
    fund: str
    scheme: str
    month: int  # yyyymm
    kind: str
    wage_minor: int
    currency: Currency
    shares: tuple[tuple[str, int], ...]  # in booking order

    def fields(self) -> tuple[tuple[str, object], ...]:
        """What a retried contribution id must repeat, in the order the refusal names it."""
        return (("worker_id", self.worker_id), ("fund", self.fund), ("scheme", self.scheme),
                ("month", self.month), ("kind", self.kind), ("wage_base", self.wage_minor),
                ("currency", self.currency), ("shares", dict(self.shares)))


@dataclass(frozen=True)
class Planned:
    id: str
    debit: str  # account key
    credit: str
    amount: int
    currency: Currency
    contribution_id: str


def validate(raw: Raw) -> Valid:
    """The contribution, or `RefusedError(code, field)` at its first bad field."""
    worker = raw.worker_id
    if not isinstance(worker, str) or not _WORKER.fullmatch(worker):
        raise RefusedError(ErrorCode.INVALID_ID, "worker_id")
    if raw.fund not in FUNDS:
        raise RefusedError(ErrorCode.UNKNOWN_FUND, "fund")
    currency, schemes = FUNDS[raw.fund]
    if raw.scheme not in schemes:
        raise RefusedError(ErrorCode.UNKNOWN_SCHEME, "scheme")
    month = _month(raw.month)
    starts = schemes[raw.scheme]
    if starts is None or month < starts:
        raise RefusedError(ErrorCode.SCHEME_NOT_IN_FORCE, "month")
    if raw.kind not in KINDS:
        raise RefusedError(ErrorCode.INVALID_INPUT, "kind")
    if raw.wage_base.currency is not currency:
        raise RefusedError(ErrorCode.CURRENCY_MISMATCH, "wage_base.currency")
    if raw.wage_base.amount_minor < 0:
        raise RefusedError(ErrorCode.INVALID_AMOUNT, "wage_base")
    if not raw.shares:
        raise RefusedError(ErrorCode.INVALID_INPUT, "shares")
    seen: dict[str, int] = {}
    for index, (payer, money) in enumerate(raw.shares):
        where = f"shares[{index}]"
        if payer not in PAYERS:
            raise RefusedError(ErrorCode.INVALID_INPUT, f"{where}.payer")
        if payer in seen:
            raise RefusedError(ErrorCode.DUPLICATE_PAYER, f"{where}.payer")
        if money.currency is not currency:
            raise RefusedError(ErrorCode.CURRENCY_MISMATCH, f"{where}.amount.currency")
        if money.amount_minor <= 0:
            raise RefusedError(ErrorCode.INVALID_AMOUNT, f"{where}.amount.amount_minor")
        seen[payer] = money.amount_minor
    if raw.id is not None and not (isinstance(raw.id, str) and _ID.fullmatch(raw.id)):
        raise RefusedError(ErrorCode.INVALID_ID, "id")
    cid = raw.id if isinstance(raw.id, str) else (
        f"ctb:{worker}:{raw.fund}:{raw.scheme}:{month // 100:04d}-{month % 100:02d}")
    shares = tuple((p, seen[p]) for p in PAYERS if p in seen)
    return Valid(cid, worker, raw.fund, raw.scheme, month, raw.kind, raw.wage_base.amount_minor,
                 currency, shares)


def _month(value: object) -> int:
    match = re.fullmatch(r"(\d{4})-(\d{2})", value) if isinstance(value, str) else None
    if match is None:
        raise RefusedError(ErrorCode.INVALID_MONTH, "month")
    year, month = int(match[1]), int(match[2])
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        raise RefusedError(ErrorCode.INVALID_MONTH, "month")
    return year * 100 + month


def member_key(c: Valid) -> str:
    return f"member/{c.worker_id}/{c.fund}/{c.scheme}/{c.currency.value}"


def source_key(fund: str, payer: str, currency: Currency) -> str:
    kind = "government" if payer == "government" else "collections"
    return f"fund/{fund}/{kind}/{currency.value}"


def plan(c: Valid) -> list[Planned]:
    return [Planned(f"{c.id}/{payer}", source_key(c.fund, payer, c.currency), member_key(c),
                    amount, c.currency, c.id) for payer, amount in c.shares]


@dataclass
class ContributionModel:
    """What the store holds after contributions go through the posting engine."""

    credits: dict[str, int] = field(default_factory=dict)  # account key -> posted credits
    debits: dict[str, int] = field(default_factory=dict)  # account key -> posted debits
    transfers: dict[str, Planned] = field(default_factory=dict)  # in booking order
    contributions: dict[str, Valid] = field(default_factory=dict)
    periods: dict[tuple[str, str, str, int], list[str]] = field(default_factory=dict)
    # (worker, fund, scheme, month) -> [kind, state, contribution id]

    def active_periods(self) -> list[tuple[str, str, str, int]]:
        return sorted(k for k, (_, state, _) in self.periods.items() if state == "active")

    def post_job(self, units: Sequence[Valid], atomic: bool) -> list[Outcome]:
        """One job of contributions in one pass. Accounts are compared by key only where the
        pass had to look them up: those of transfers it did not know yet (an account named by
        a key that the pass did not resolve counts as the stored one; the contribution's own
        fields are compared after)."""
        resolved = {k for c in units for t in plan(c) if t.id not in self.transfers
                    for k in (t.debit, t.credit)}
        trial = copy.deepcopy(self)
        outcomes = [trial._post(c, resolved) for c in units]
        failed = any(o.status == FAILED for o in outcomes)
        if atomic and failed and len(units) > 1:
            return [o if o.status == FAILED else Outcome(FAILED, ErrorCode.LINKED_EVENT_FAILED)
                    for o in outcomes]
        self.__dict__.update(trial.__dict__)
        return outcomes

    def _post(self, c: Valid, resolved: set[str]) -> Outcome:
        planned = plan(c)
        known = [self.transfers.get(t.id) for t in planned]
        if any(k is not None for k in known):
            return self._again(c, planned, known, resolved)
        if c.id in self.contributions:
            return Outcome(FAILED, ErrorCode.ID_CONFLICT, "id")
        period = self.periods.get((c.worker_id, c.fund, c.scheme, c.month))
        if period is not None and period[1] != "active":
            return Outcome(FAILED, ErrorCode.PERIOD_WITHDRAWN, "month")
        for t in planned:
            self.debits[t.debit] = self.debits.get(t.debit, 0) + t.amount
            self.credits[t.credit] = self.credits.get(t.credit, 0) + t.amount
            self.transfers[t.id] = t
        self.contributions[c.id] = c
        self.periods.setdefault((c.worker_id, c.fund, c.scheme, c.month),
                                [c.kind, "active", c.id])
        return Outcome(CREATED)

    def _again(self, c: Valid, planned: list[Planned], known: Sequence[Planned | None],
               resolved: set[str]) -> Outcome:
        for index, (t, booked) in enumerate(zip(planned, known, strict=True)):
            if booked is None:
                return Outcome(FAILED, ErrorCode.ID_CONFLICT, "id", index)
            pairs = (
                # A fund's source accounts are hot families (ADR 0036): a retry may arrive
                # through another committer's sub-account, so the engine takes the stored debit
                # and lets the other fields tell a different contribution.
                ("debit_account_id", t.debit in resolved and t.debit != booked.debit
                 and not _hot(t.debit)),
                ("credit_account_id", t.credit in resolved and t.credit != booked.credit),
                ("amount_minor", t.amount != booked.amount),
                ("currency", t.currency is not booked.currency),
            )
            differs = next((name for name, different in pairs if different), None)
            if differs is not None:
                return Outcome(FAILED, ErrorCode.ID_CONFLICT, differs, index)
        stored = self.contributions[c.id]
        for (name, mine), (_, theirs) in zip(c.fields(), stored.fields(), strict=True):
            if mine != theirs:
                return Outcome(FAILED, ErrorCode.ID_CONFLICT, name)
        return Outcome(EXISTS)


def _hot(key: str) -> bool:
    """A fund's collections or government account: a hot family on the posting path."""
    return key.startswith("fund/") and key.split("/")[2] in ("collections", "government")
