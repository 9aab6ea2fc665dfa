"""Contributions against their reference model, on the domain alone and on the store.

Rules: `contribute` (mostly valid; one in three carries one fault in one field: worker id, fund,
scheme, a scheme not operating, month format or range, a month before the scheme, kind, wage
base currency or sign, no shares, an unknown or repeated payer, a share's currency or amount,
a caller-named id), `again` (a booked contribution again, the same or with one field changed:
worker, fund, month, kind, wage base, a share's amount, a payer added, dropped or replaced),
`batch` (two or three in one job, linked or each on its own; store only), `withdraw` (a lump
sum paid for a period: later contributions for it are refused; store only).

On the domain: validation's refusal (code, field) or the contribution and the transfers it plans
equal the model's. On the store (posting engine behind the group committer): also each outcome,
the member accounts' balances, what the funds' source accounts gained, the journal, the
contribution rows and the period rows.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from ledger.db.engine import open_database
from ledger.db.portability_repo import set_period_states
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountSpec
from ledger.domain.contributions import (
    Contribution,
    ContributionInput,
    plan_transfers,
    validate_contribution,
)
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money
from ledger.services.group_commit import GroupCommitter
from ledger.services.posting import Job, PostingEngine, Status, Unit, UnitResult
from tests.properties.contribution_reference import (
    FUNDS,
    KINDS,
    PAYERS,
    ContributionModel,
    Planned,
    Raw,
    Valid,
    plan,
    validate,
)
from tests.properties.ledger_reference import CREATED, EXISTS, FAILED, Outcome, RefusedError
from tests.properties.profiles import RunLog, machine_settings

IN_FORCE = [("TH-SSO", "s33-old-age"), ("TH-SSO", "s39-voluntary"), ("JP-JPS", "epi"),
            ("KH-NSSF", "pension")]
MONTHS = ["2026-01", "2026-02", "2026-03"]  # few, so that contributions meet again
OTHER_CURRENCY = {Currency.THB: Currency.JPY, Currency.JPY: Currency.KHR,
                  Currency.KHR: Currency.THB, Currency.MMK: Currency.THB}
def family_of(key: str) -> str:
    """A hot account's family key: its sub-account's `/sNN` suffix removed (ADR 0036)."""
    return re.sub(r"/s\d\d$", "", key)


SOURCE_KEYS = [f"fund/{fund}/{kind}/{currency.value}"
               for fund, (currency, _) in FUNDS.items() for kind in ("collections", "government")]
FAULTS: dict[str, list[object]] = {  # field -> the bad values a caller might send there
    "worker_id": ["bob", "wkr_AB12", "wkr_ab", 7],
    "fund": ["XX-NONE", "th-sso"],
    "scheme": ["nope", "pension"],
    "month": ["2026-13", "26-01", "2026-1", 202601, "1899-12", "3000-01", "2026-00"],
    "kind": ["bogus", "COMPULSORY"],
    "id": ["bad id", "", "-x", "x" * 129, 12],
}


def _input(raw: Raw) -> ContributionInput:
    return ContributionInput(
        worker_id=raw.worker_id, fund=raw.fund, scheme=raw.scheme, month=raw.month,
        wage_base=raw.wage_base, shares=list(raw.shares), kind=raw.kind, id=raw.id)


def _as_planned(contribution: Contribution) -> list[Planned]:
    out = []
    for t in plan_transfers(contribution):
        assert isinstance(t.debit, AccountSpec) and isinstance(t.credit, AccountSpec)
        assert (t.code, t.flags, t.pending_id, t.reversal_of) == ("contribution", 0, None, None)
        out.append(Planned(t.id, t.debit.key, t.credit.key, t.amount_minor, t.currency,
                           str(t.contribution_id)))
    return out


def _as_valid(c: Contribution) -> Valid:
    return Valid(c.id, c.worker_id, c.fund, c.scheme, c.month.to_int(), c.kind.value,
                 c.wage_base.amount_minor, c.wage_base.currency,
                 tuple((str(p), m.amount_minor) for p, m in c.shares))


class Store:
    """The posting engine behind a group committer on the test database."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.db = open_database(url, pool_size=2)
        self.committer = GroupCommitter(PostingEngine(self.db, ledger_transactions(self.db)))

    def post(self, contributions: list[Contribution], atomic: bool) -> list[UnitResult]:
        job = Job([Unit(plan_transfers(c), c) for c in contributions], atomic=atomic)
        return self.loop.run_until_complete(self.committer.submit(job))

    def withdraw(self, worker: str, fund: str, scheme: str, month: int) -> None:
        self.loop.run_until_complete(
            set_period_states(self.db, worker, fund, scheme, [month], "withdrawn"))

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async def fetch() -> list[tuple[Any, ...]]:
            async with self.db.engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]

        return self.loop.run_until_complete(fetch())

    def sources(self) -> dict[str, tuple[int, int]]:
        """Each source account's posted sums, a hot family's sub-accounts summed (ADR 0036)."""
        found = self.rows("SELECT key, debits_posted, credits_posted FROM accounts")
        summed: dict[str, tuple[int, int]] = {}
        for k, d, c in found:
            family = family_of(k)
            if family in SOURCE_KEYS:
                before = summed.get(family, (0, 0))
                summed[family] = (before[0] + int(d), before[1] + int(c))
        return summed

    def close(self) -> None:
        self.loop.run_until_complete(self.committer.stop())
        self.loop.run_until_complete(self.db.dispose())
        self.loop.close()


class ContributionMachine(RuleBasedStateMachine):
    make_store: Callable[[], Store | None]
    log: RunLog

    def __init__(self) -> None:
        super().__init__()
        self.store = self.make_store()
        self.model = ContributionModel()
        tag = secrets.token_hex(4)
        self.workers = [f"wkr_{tag}a", f"wkr_{tag}b"]
        self.prefix = f"c{tag}"
        self.counter = 0
        self.named_ids: list[str] = []  # caller-named ids used so far
        self.sources_before = self.store.sources() if self.store else {}
        self.log.examples += 1

    def teardown(self) -> None:
        if self.store:
            self.store.close()

    # -- drawing ------------------------------------------------------------------------------
    def draw_raw(self, data: st.DataObject) -> Raw:
        fund, scheme = data.draw(st.sampled_from(IN_FORCE))
        currency = FUNDS[fund][0]
        payers = data.draw(st.lists(st.sampled_from(PAYERS), min_size=1, max_size=3,
                                    unique=True))
        fields: dict[str, Any] = {
            "worker_id": data.draw(st.sampled_from(self.workers)),
            "fund": fund, "scheme": scheme, "month": data.draw(st.sampled_from(MONTHS)),
            "wage_base": Money(data.draw(st.integers(0, 50_000)), currency),
            "shares": tuple((p, Money(data.draw(st.integers(1, 5000)), currency))
                            for p in payers),
            "kind": data.draw(st.sampled_from(KINDS)),
            "id": data.draw(self.ids()),
        }
        fault = data.draw(st.sampled_from([None] * 12 + [*FAULTS, "not operating", "too early",
                                           "wage currency", "wage sign", "no shares", "payer",
                                           "payer twice", "share currency", "share amount"]))
        if fault in FAULTS:
            fields[str(fault)] = data.draw(st.sampled_from(FAULTS[str(fault)]))
        elif fault == "not operating":
            fields.update(fund="MM-SSB", scheme="old-age")
        elif fault == "too early":
            fields.update(fund="KH-NSSF", scheme="pension", month="2022-09")
        elif fault == "wage currency":
            fields["wage_base"] = Money(100, OTHER_CURRENCY[currency])
        elif fault == "wage sign":
            fields["wage_base"] = Money(-1, currency)
        elif fault == "no shares":
            fields["shares"] = ()
        elif fault is not None:
            fields["shares"] = self.bad_shares(data, fields["shares"], str(fault), currency)
        return Raw(**fields)

    @staticmethod
    def bad_shares(data: st.DataObject, shares: tuple[tuple[str, Money], ...], fault: str,
                   currency: Currency) -> tuple[tuple[str, Money], ...]:
        at = data.draw(st.integers(0, len(shares)))  # the bad share goes here
        bad = {
            "payer": ("boss", Money(10, currency)),
            "payer twice": (shares[0][0], Money(10, currency)),
            "share currency": ("voluntary", Money(10, OTHER_CURRENCY[currency])),
            "share amount": ("voluntary", Money(data.draw(st.sampled_from([0, -5])), currency)),
        }[fault]
        return (*shares[:at], bad, *shares[at:])

    def ids(self) -> st.SearchStrategy[object]:
        """No id (the business key), a new caller-named id, or one named before."""
        self.counter += 1
        new = f"{self.prefix}-{self.counter}"
        return st.sampled_from([None, None, new, *self.named_ids[-3:]])

    def again(self, data: st.DataObject, c: Valid) -> Raw:
        change = data.draw(st.sampled_from(
            [None, None, "worker", "fund", "month", "kind", "wage", "amount", "add payer",
             "drop payer", "other payer"]))
        named = c.id if not c.id.startswith("ctb:") else None
        shares = [(p, Money(a, c.currency)) for p, a in c.shares]
        fund, scheme, currency = c.fund, c.scheme, c.currency
        if change == "fund":
            fund, scheme = data.draw(st.sampled_from([p for p in IN_FORCE if p[0] != c.fund]))
            currency = FUNDS[fund][0]
            shares = [(p, Money(m.amount_minor, currency)) for p, m in shares]
        missing = [p for p in PAYERS if p not in dict(c.shares)]
        if change == "amount":
            shares[0] = (shares[0][0], Money(shares[0][1].amount_minor + 1, currency))
        elif change == "add payer" and missing:
            shares.append((missing[0], Money(7, currency)))
        elif change == "drop payer" and len(shares) > 1:
            shares.pop(data.draw(st.integers(0, len(shares) - 1)))
        elif change == "other payer" and missing:
            shares = [(missing[0], Money(7, currency))]
        month = c.month + 1 if change == "month" else c.month
        return Raw(
            worker_id=(self.workers[0] if c.worker_id != self.workers[0] else self.workers[1])
            if change == "worker" else c.worker_id,
            fund=fund, scheme=scheme, month=f"{month // 100:04d}-{month % 100:02d}",
            wage_base=Money(c.wage_minor + (change == "wage"), currency),
            shares=tuple(shares), kind="credited" if change == "kind" and c.kind != "credited"
            else ("voluntary" if change == "kind" else c.kind), id=named)

    # -- the two sides ------------------------------------------------------------------------
    def validated(self, raw: Raw) -> tuple[Contribution | None, Valid | None]:
        """Validate on both sides; they must agree on the refusal or on the contribution."""
        try:
            expected: Valid | RefusedError = validate(raw)
        except RefusedError as refusal:
            expected = refusal
        try:
            got = validate_contribution(_input(raw))
        except DomainError as exc:
            refused: DomainError | None = exc
        else:
            refused = None
        if refused is not None:
            assert isinstance(expected, RefusedError), (raw, refused, expected)
            assert (refused.code, refused.field) == (expected.code, expected.field), raw
            self.log.outcomes[refused.code.value] += 1
            return None, None
        assert isinstance(expected, Valid), (raw, got, expected.code, expected.field)
        assert _as_valid(got) == expected
        assert _as_planned(got) == plan(expected)
        if isinstance(raw.id, str) and raw.id not in self.named_ids:
            self.named_ids.append(raw.id)
        return got, expected

    def post(self, pairs: list[tuple[Contribution, Valid]], atomic: bool, rule: str) -> None:
        self.log.step(rule)
        if self.store is None or not pairs:
            return
        expected = self.model.post_job([v for _, v in pairs], atomic)
        results = self.store.post([c for c, _ in pairs], atomic)
        got = [Outcome(FAILED, r.error.code, r.error.field, r.error.index) if r.error
               else Outcome(CREATED if r.status is Status.CREATED else EXISTS) for r in results]
        assert got == expected, (rule, got, expected)
        for outcome in got:
            self.log.outcomes[outcome.code.value if outcome.code else outcome.status] += 1

    # -- rules --------------------------------------------------------------------------------
    @rule(data=st.data())
    def contribute(self, data: st.DataObject) -> None:
        got, valid = self.validated(self.draw_raw(data))
        self.post([(got, valid)] if got and valid else [], True, "contribute")

    @precondition(lambda self: bool(self.model.contributions) or self.store is None)
    @rule(data=st.data())
    def again_booked(self, data: st.DataObject) -> None:
        booked = list(self.model.contributions.values())
        if not booked:  # the domain keeps nothing: draw one
            raw = self.draw_raw(data)
            got, valid = self.validated(raw)
            booked = [valid] if valid else []
        if booked:
            got, valid = self.validated(self.again(data, data.draw(st.sampled_from(booked))))
            self.post([(got, valid)] if got and valid else [], True, "again")

    @precondition(lambda self: self.store is not None)
    @rule(data=st.data(), atomic=st.booleans())
    def batch(self, data: st.DataObject, atomic: bool) -> None:
        pairs: dict[str, tuple[Contribution, Valid]] = {}
        for _ in range(data.draw(st.integers(2, 3))):
            booked = list(self.model.contributions.values())
            repeat = bool(booked) and data.draw(st.booleans())
            raw = (self.again(data, data.draw(st.sampled_from(booked))) if repeat
                   else self.draw_raw(data))
            got, valid = self.validated(raw)
            if got and valid:  # the service refuses a batch naming one id twice
                pairs.setdefault(valid.id, (got, valid))
        self.post(list(pairs.values()), atomic, "batch")

    @precondition(lambda self: self.store is not None and bool(self.model.active_periods()))
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        """A lump sum paid for an active period (the store refuses to change any other)."""
        key = data.draw(st.sampled_from(self.model.active_periods()))
        assert self.store is not None
        self.store.withdraw(*key)
        self.model.periods[key][1] = "withdrawn"
        self.log.step("withdraw")

    # -- invariants ---------------------------------------------------------------------------
    @invariant()
    def store_equals_model(self) -> None:
        if self.store is None:
            return
        w = {"w0": self.workers[0], "w1": self.workers[1]}
        members = self.store.rows(
            "SELECT key, debits_posted, credits_posted FROM accounts "
            "WHERE worker_id IN (:w0, :w1)", **w)
        # A unit that failed may have opened its accounts: they hold nothing.
        assert {k: (int(d), int(c)) for k, d, c in members if (d, c) != (0, 0)} == {
            k: (0, v) for k, v in self.model.credits.items()}
        gained = {k: (d - self.sources_before.get(k, (0, 0))[0],
                      c - self.sources_before.get(k, (0, 0))[1])
                  for k, (d, c) in self.store.sources().items()}
        assert {k: v for k, v in gained.items() if v != (0, 0)} == {
            k: (v, 0) for k, v in self.model.debits.items()}
        journal = self.store.rows(
            "SELECT t.id, d.key, c.key, t.amount_minor, t.currency, t.contribution_id "
            "FROM transfers t JOIN accounts d ON d.id = t.debit_account_id "
            "JOIN accounts c ON c.id = t.credit_account_id "
            "WHERE c.worker_id IN (:w0, :w1) ORDER BY t.seq", **w)
        journal = [(i, family_of(d), c, a, cur, cid) for i, d, c, a, cur, cid in journal]
        assert journal == [(t.id, t.debit, t.credit, t.amount, t.currency.value,
                            t.contribution_id) for t in self.model.transfers.values()]
        rows = self.store.rows(
            "SELECT id, worker_id, fund, scheme, month, kind, wage_base_minor, currency "
            "FROM contributions WHERE worker_id IN (:w0, :w1)", **w)
        assert sorted(rows) == sorted(
            (c.id, c.worker_id, c.fund, c.scheme, c.month, c.kind, c.wage_minor,
             c.currency.value) for c in self.model.contributions.values())
        periods = self.store.rows(
            "SELECT worker_id, fund, scheme, month, kind, state, contribution_id "
            "FROM insurance_periods WHERE worker_id IN (:w0, :w1)", **w)
        assert sorted(periods) == sorted((*k, *v) for k, v in self.model.periods.items())


def run(make_store: Callable[[], Store | None], kind: str) -> RunLog:
    log = RunLog()
    machine = type("Machine", (ContributionMachine,), {
        "make_store": staticmethod(make_store), "log": log})
    run_state_machine_as_test(machine, settings=machine_settings(kind))
    print(log.summary(f"contributions on {kind}"))
    return log


VALIDATION_REFUSALS = {
    ErrorCode.INVALID_ID, ErrorCode.UNKNOWN_FUND, ErrorCode.UNKNOWN_SCHEME,
    ErrorCode.INVALID_MONTH, ErrorCode.SCHEME_NOT_IN_FORCE, ErrorCode.INVALID_INPUT,
    ErrorCode.CURRENCY_MISMATCH, ErrorCode.INVALID_AMOUNT, ErrorCode.DUPLICATE_PAYER,
}


def test_domain_contributions_match_the_model() -> None:
    log = run(lambda: None, "pure")
    assert set(log.rules) == {"contribute", "again"}
    assert {c.value for c in VALIDATION_REFUSALS} <= set(log.outcomes)


def test_stored_contributions_match_the_model(database_url: str) -> None:
    log = run(lambda: Store(database_url), "store")
    assert set(log.rules) == {"contribute", "again", "batch", "withdraw"}
