"""Totalisation against a month-by-month reference model, at the boundary of every threshold.

The state is a worker's career (period records) and a policy (member funds, each fund's dated
thresholds, the Art 57 short-period minimum), a claim month and an age. Rules move each
threshold to one below, at, or one above what the career currently counts, so every comparison
(`total >= months_min`, `age >= age_min`, `effective_from <= as_of`, `own < short minimum`,
`own >= months_min` for an independent right) is crossed both ways:

`add_periods` (a run of months at a fund and scheme, active / withdrawn / transferred; or a bad
record: unknown fund or scheme, a scheme not in force or not operating, a short-term branch, a
month recorded twice, `transferred_to` missing, superfluous, unknown or the fund itself),
`set_months_min`, `set_age_min`, `date_threshold`, `drop_rule`, `set_short_period_minimum`,
`set_age`, `set_as_of`, `toggle_member`.

After every step `totalise` (and `pro_rata_benefit` with each rounding mode) must equal the
model, or refuse with the model's code and field. Domain only: nothing here touches a store.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FundCode, SchemeCode
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month, PeriodState
from ledger.settlement.totalisation import (
    EligibilityRule,
    PeriodRecord,
    Threshold,
    own_months,
    policy_of,
    pro_rata_benefit,
    totalise,
)
from tests.properties.ledger_reference import RefusedError
from tests.properties.profiles import RunLog, machine_settings

# Restated from ../shared/reference/funds.md: long-term schemes and their first month.
LONG_TERM = {("TH-SSO", "s33-old-age"): 199812, ("TH-SSO", "s39-voluntary"): 199401,
             ("JP-JPS", "epi"): 198604, ("JP-JPS", "np"): 198604,
             ("KH-NSSF", "pension"): 202210, ("VN-VSS", "retirement-survivorship"): 199501}
SHORT_TERM = {("TH-SSO", "s33-sickness"): 199103, ("KH-NSSF", "health-care"): 201601}
NOT_OPERATING = {("MM-SSB", "old-age")}
FUNDS = ["JP-JPS", "KH-NSSF", "TH-SSO", "VN-VSS"]
KNOWN_FUNDS = {*FUNDS, "MM-SSB"}
FIRST = Month(2022, 6)  # the window of months careers are drawn from (KH pension: 2022-10 on)
WINDOW = 24
ACTIVE, WITHDRAWN, TRANSFERRED = "active", "withdrawn", "transferred"

Record = tuple[str, str, int, str, str | None]  # fund, scheme, yyyymm, state, transferred_to


@dataclass
class Policy:
    members: set[str] = field(default_factory=lambda: set(FUNDS))
    # fund -> {effective_from (yyyymm) or None: (months_min, age_min)}
    rules: dict[str, dict[int | None, tuple[int, int | None]]] = field(
        default_factory=lambda: {f: {None: (12, None)} for f in FUNDS})
    short_min: int = 12


@dataclass(frozen=True)
class View:
    member: bool
    own: int
    total: int
    months_min: int
    age_min: int | None
    qualifies: bool
    age_met: bool | None
    pro_rata: Fraction
    short: bool


def check_record(r: Record, seen: set[tuple[str, str, int]]) -> None:
    """The model of a record's validation, in the order the refusal names the field."""
    fund, scheme, month, _, to = r
    if fund not in KNOWN_FUNDS:
        raise RefusedError(ErrorCode.UNKNOWN_FUND, "periods.fund")
    known = {**LONG_TERM, **SHORT_TERM, **dict.fromkeys(NOT_OPERATING, 0)}
    if (fund, scheme) not in known:
        raise RefusedError(ErrorCode.UNKNOWN_SCHEME, "periods.scheme")
    if (fund, scheme) in NOT_OPERATING or month < known[(fund, scheme)]:
        raise RefusedError(ErrorCode.SCHEME_NOT_IN_FORCE, "periods.month")
    if to is not None and to not in KNOWN_FUNDS:
        raise RefusedError(ErrorCode.UNKNOWN_FUND, "periods.transferred_to")
    if (fund, scheme) in SHORT_TERM:
        raise RefusedError(ErrorCode.INVALID_INPUT, "periods.scheme")
    if (fund, scheme, month) in seen:
        raise RefusedError(ErrorCode.INVALID_INPUT, "periods")
    seen.add((fund, scheme, month))


def months_of(records: list[Record]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for fund, _, month, state, to in records:
        out.setdefault(fund, set())
        if state == ACTIVE:
            out[fund].add(month)
        elif state == TRANSFERRED and to is not None:
            out.setdefault(to, set()).add(month)
    return out


def model_totalise(records: list[Record], p: Policy, as_of: int, age: int | None,
                   ) -> dict[str, View]:
    by_fund = months_of(records)
    union: set[int] = set().union(*(m for f, m in by_fund.items() if f in p.members))
    views = {}
    for fund in sorted(by_fund):
        if fund not in p.rules:
            raise RefusedError(ErrorCode.INVALID_INPUT, "rules")
        in_force = [d for d in p.rules[fund] if d is None or d <= as_of]
        if not in_force:
            raise RefusedError(ErrorCode.INVALID_INPUT)
        months_min, age_min = p.rules[fund][max(in_force, key=lambda d: d or 0)]
        own = len(by_fund[fund])
        member = fund in p.members
        total = len(union) if member else own
        views[fund] = View(
            member, own, total, months_min, age_min,
            qualifies=own > 0 and total >= months_min,
            age_met=True if age_min is None else (None if age is None else age >= age_min),
            pro_rata=Fraction(own, total) if total else Fraction(0),
            short=member and 0 < own < p.short_min and own < months_min)
    return views


def rounded(x: Fraction, mode: Rounding) -> int:
    """`x` to an integer by the mode's definition, on exact fractions."""
    floor, ceil = math.floor(x), math.ceil(x)
    if floor == ceil:
        return floor
    away = ceil if x > 0 else floor
    toward = floor if x > 0 else ceil
    if mode in (Rounding.FLOOR, Rounding.CEILING, Rounding.DOWN, Rounding.UP):
        return {Rounding.FLOOR: floor, Rounding.CEILING: ceil, Rounding.DOWN: toward,
                Rounding.UP: away}[mode]
    if x - floor != Fraction(1, 2):
        return floor if x - floor < Fraction(1, 2) else ceil
    return away if mode is Rounding.HALF_UP else (floor if floor % 2 == 0 else ceil)


def month(offset: int) -> int:
    return FIRST.plus(offset).to_int()


class TotalisationMachine(RuleBasedStateMachine):
    log: RunLog

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Record] = []
        self.policy = Policy()
        self.as_of = month(WINDOW)
        self.age: int | None = 60
        self.log.examples += 1

    def counts(self) -> dict[str, tuple[int, int]]:
        """(own, totalised) per fund with periods, as the model counts them now."""
        by_fund = months_of(self.records)
        union = set().union(*(m for f, m in by_fund.items() if f in self.policy.members))
        return {f: (len(m), len(union) if f in self.policy.members else len(m))
                for f, m in by_fund.items()}

    def near(self, data: st.DataObject, fund: str) -> int:
        """A count one below, at or one above the fund's own or totalised months."""
        own, total = self.counts().get(fund, (0, 0))
        return max(0, data.draw(st.sampled_from([own, total])) + data.draw(st.integers(-1, 1)))

    # -- rules --------------------------------------------------------------------------------
    @rule(data=st.data(), start=st.integers(-4, WINDOW - 1), count=st.integers(1, 8),
          state=st.sampled_from([ACTIVE, ACTIVE, WITHDRAWN, TRANSFERRED]))
    def add_periods(self, data: st.DataObject, start: int, count: int, state: str) -> None:
        fund, scheme = data.draw(st.sampled_from(sorted(LONG_TERM)))
        to: str | None = data.draw(st.sampled_from([f for f in FUNDS if f != fund])) \
            if state == TRANSFERRED else None
        fault = data.draw(st.sampled_from([None] * 8 + [
            "fund", "scheme", "not operating", "too early", "short-term", "twice", "to missing",
            "to superfluous", "to unknown", "to itself"]))
        if fault == "fund":
            fund = "XX-NONE"
        elif fault == "scheme":
            scheme = "nope"
        elif fault == "not operating":
            fund, scheme = "MM-SSB", "old-age"
        elif fault == "too early":
            fund, scheme, start = "KH-NSSF", "pension", data.draw(st.integers(-4, 3))
        elif fault == "short-term":
            fund, scheme = data.draw(st.sampled_from(sorted(SHORT_TERM)))
        elif fault == "to missing":
            state, to = TRANSFERRED, None
        elif fault == "to superfluous":
            state, to = ACTIVE, "TH-SSO" if fund != "TH-SSO" else "JP-JPS"
        elif fault == "to unknown":
            state, to = TRANSFERRED, "XX-NONE"
        elif fault == "to itself":
            state, to = TRANSFERRED, fund
        new = [(fund, scheme, month(start + i), state, to) for i in range(count)]
        if fault == "twice" and self.records:
            new.append(data.draw(st.sampled_from(self.records)))
        self.log.step("add_periods")
        expected = self.expect_records(new)
        got = self.try_records(new)
        assert got == expected, (new, got, expected)
        if got is None:
            self.records += new
        self.log.outcomes[f"record {got[0].value}" if got else "record kept"] += 1

    def expect_records(self, new: list[Record]) -> tuple[ErrorCode, str | None, int | None] | None:
        seen: set[tuple[str, str, int]] = set()
        for r in new:  # a record is refused as it is made, before any other is counted
            if (r[3] == TRANSFERRED) != (r[4] is not None) or r[4] == r[0]:
                return ErrorCode.INVALID_INPUT, "transferred_to", None
        for index, r in enumerate(self.records + new):
            try:
                check_record(r, seen)
            except RefusedError as refusal:
                return refusal.code, refusal.field, index
        return None

    def try_records(self, new: list[Record]) -> tuple[ErrorCode, str | None, int | None] | None:
        try:
            made = [self.period(r) for r in self.records + new]
            own_months(made)
        except DomainError as exc:
            return exc.code, exc.field, exc.index
        return None

    @staticmethod
    def period(r: Record) -> PeriodRecord:
        fund, scheme, yyyymm, state, to = r
        return PeriodRecord(FundCode(fund), SchemeCode(scheme), Month.from_int(yyyymm),
                            PeriodState(state), FundCode(to) if to else None)

    @rule(data=st.data(), fund=st.sampled_from(FUNDS))
    def set_months_min(self, data: st.DataObject, fund: str) -> None:
        rule_ = self.policy.rules.setdefault(fund, {None: (12, None)})
        date = data.draw(st.sampled_from(sorted(rule_, key=lambda d: d or 0)))
        rule_[date] = (self.near(data, fund), rule_[date][1])
        self.log.step("set_months_min")

    @rule(data=st.data(), fund=st.sampled_from(FUNDS))
    def set_age_min(self, data: st.DataObject, fund: str) -> None:
        rule_ = self.policy.rules.setdefault(fund, {None: (12, None)})
        date = data.draw(st.sampled_from(sorted(rule_, key=lambda d: d or 0)))
        around = (self.age or 60) + data.draw(st.integers(-1, 1))
        rule_[date] = (rule_[date][0], data.draw(st.sampled_from([None, around])))
        self.log.step("set_age_min")

    @rule(data=st.data(), fund=st.sampled_from(FUNDS), shift=st.integers(-1, 1))
    def date_threshold(self, data: st.DataObject, fund: str, shift: int) -> None:
        """A threshold from the claim month, or the month before or after it."""
        rule_ = self.policy.rules.setdefault(fund, {})
        effective = Month.from_int(self.as_of).plus(shift).to_int()
        rule_[effective] = (self.near(data, fund), data.draw(st.sampled_from([None, 60, 65])))
        if data.draw(st.booleans()):
            rule_.pop(None, None)  # the dated one alone: before it nothing is in force
        self.log.step("date_threshold")

    @rule(fund=st.sampled_from(FUNDS))
    def drop_rule(self, fund: str) -> None:
        self.policy.rules.pop(fund, None)
        self.log.step("drop_rule")

    @rule(data=st.data(), fund=st.sampled_from(FUNDS))
    def set_short_period_minimum(self, data: st.DataObject, fund: str) -> None:
        own = self.counts().get(fund, (0, 0))[0]
        self.policy.short_min = max(0, own + data.draw(st.integers(-1, 1)))
        self.log.step("set_short_period_minimum")

    @rule(age=st.one_of(st.none(), st.integers(58, 67)))
    def set_age(self, age: int | None) -> None:
        self.age = age
        self.log.step("set_age")

    @rule(offset=st.integers(0, WINDOW + 2))
    def set_as_of(self, offset: int) -> None:
        self.as_of = month(offset)
        self.log.step("set_as_of")

    @rule(fund=st.sampled_from(FUNDS))
    def toggle_member(self, fund: str) -> None:
        self.policy.members ^= {fund}
        self.log.step("toggle_member")

    # -- the invariant ------------------------------------------------------------------------
    @invariant()
    def totalise_equals_model(self) -> None:
        policy = policy_of(
            self.policy.members,
            [EligibilityRule(FundCode(f), tuple(
                Threshold(m, a, None if d is None else Month.from_int(d))
                for d, (m, a) in dated.items())) for f, dated in self.policy.rules.items()],
            self.policy.short_min)
        try:
            expected: dict[str, View] | RefusedError = model_totalise(
                self.records, self.policy, self.as_of, self.age)
        except RefusedError as refusal:
            expected = refusal
        records = [self.period(r) for r in self.records]
        as_of = Month.from_int(self.as_of)
        if isinstance(expected, RefusedError):
            with pytest.raises(DomainError) as refused:
                totalise(records, policy, as_of=as_of, age_years=self.age)
            assert (refused.value.code, refused.value.field) == (expected.code, expected.field)
            self.log.outcomes[f"policy {expected.code.value}"] += 1
            return
        got = totalise(records, policy, as_of=as_of, age_years=self.age)
        views = {str(f): View(v.member, v.own_months, v.totalised_months, v.threshold.months_min,
                              v.threshold.age_min, v.qualifies_on_periods, v.age_condition_met,
                              v.pro_rata, v.short_period) for f, v in got.funds.items()}
        assert views == expected
        for fund, v in got.funds.items():
            want = expected[str(fund)]
            assert v.eligible == (want.qualifies and want.age_met is True)
            paying = Fraction(0) if want.short else want.pro_rata
            for mode in Rounding:
                benefit = pro_rata_benefit(v, lambda n: Money(1000 * n + 7, Currency.THB), mode)
                assert benefit.theoretical == Money(1000 * want.total + 7, Currency.THB)
                assert benefit.fraction == paying
                assert benefit.amount.amount_minor == rounded(
                    (1000 * want.total + 7) * paying, mode)
            self.log.outcomes["qualifies" if want.qualifies else "does not qualify"] += 1
            self.log.outcomes["short period" if want.short else "pays pro rata"] += 1
        absent = next(f for f in [*FUNDS, "MM-SSB"] if f not in expected)
        with pytest.raises(DomainError) as unknown:
            got.fund(absent)
        assert (unknown.value.code, unknown.value.field) == (ErrorCode.UNKNOWN_FUND, None)


def run(factory: Callable[[], type[TotalisationMachine]]) -> RunLog:
    machine = factory()
    run_state_machine_as_test(machine, settings=machine_settings("pure"))
    print(machine.log.summary("totalisation"))
    return machine.log


def test_totalisation_matches_the_model_at_every_boundary() -> None:
    log = RunLog()
    run(lambda: type("Machine", (TotalisationMachine,), {"log": log}))
    assert {"add_periods", "set_months_min", "set_age_min", "date_threshold", "drop_rule",
            "set_short_period_minimum", "set_age", "set_as_of", "toggle_member"} <= set(log.rules)
    for seen in ("qualifies", "does not qualify", "short period", "pays pro rata",
                 "record kept", "policy invalid_input"):
        assert log.outcomes[seen], f"no step reached {seen!r}"
    # Each refusal is rarer; the table in tests/unit/test_refusals.py asserts every one.
    assert any(name.startswith("record ") and name != "record kept" for name in log.outcomes)
