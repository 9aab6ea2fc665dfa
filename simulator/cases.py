"""Expert cases: one worker, a policy, and outcomes computed by hand (OpenFisca-style tests).

Owns the schema of `simulator/cases/*.yaml` and `run_case`, which simulates the single worker
the case describes (no random draws: the case states each decision's draw, 0 meaning "yes"
whenever the scenario's share is above 0 and 0.99 "no" below 0.99) and returns the measured
values under the keys a case may expect. The hand arithmetic lives in the case files' comments.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS
from simulator.engine import Outcome, simulate
from simulator.metrics import measure
from simulator.policy import load_run, read_yaml
from simulator.population import Exit, Population, slices_of
from simulator.scenario import DESTINATIONS, validation_error

CASES_DIR = Path(__file__).resolve().parent / "cases"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Draws(_Model):
    claim: float = Field(ge=0, lt=1)
    agent: float = Field(ge=0, lt=1)
    tax: float = Field(ge=0, lt=1)
    cert: float = Field(ge=0, lt=1)
    double: float = Field(ge=0, lt=1)
    digital: float = Field(ge=0, lt=1)


class Worker(_Model):
    corridor: str
    arrival: Annotated[int, Field(ge=0)]  # month index from the scenario's start
    covered_months: Annotated[int, Field(ge=1)]
    exit: Exit
    age_at_arrival: Annotated[int, Field(ge=15, le=70)]
    wage: Decimal  # monthly, major units of the destination currency
    home_before_months: Annotated[int, Field(ge=0)] = 0
    home_after: bool = False
    draws: Draws


class Case(_Model):
    name: str
    description: str
    scenario: str = "default"
    policy: str
    years: Annotated[int, Field(ge=1, le=60)]
    worker: Worker
    expect: dict[str, int]


def load_case(path: Path) -> Case:
    data = read_yaml(path)
    if isinstance(data, dict) and isinstance(data.get("worker"), dict):
        exit_name = data["worker"].get("exit")
        if isinstance(exit_name, str) and exit_name.upper() in Exit.__members__:
            data["worker"]["exit"] = Exit[exit_name.upper()]
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, str(path)) from None


def population(case: Case, outcome_start: Any, names: tuple[str, ...]) -> Population:
    w = case.worker
    if w.corridor not in names:
        raise DomainError(ErrorCode.INVALID_INPUT, f"unknown corridor {w.corridor!r}",
                          field="worker.corridor")
    fund = DESTINATIONS[w.corridor.split("-")[1]]
    exponent = FUNDS[fund].currency.exponent
    wage = w.wage.scaleb(exponent)
    if wage != wage.to_integral_value():
        raise DomainError(ErrorCode.INVALID_INPUT, "the wage is not whole minor units",
                          field="worker.wage")

    def one(value: float | int | bool, dtype: type) -> np.ndarray:
        return np.array([value], dtype=dtype)

    corridor = one(names.index(w.corridor), np.int64)
    return Population(
        start=outcome_start, horizon=12 * case.years, corridors=names, corridor=corridor,
        arrival=one(w.arrival, np.int64), exit=one(w.arrival + w.covered_months, np.int64),
        reason=one(int(w.exit), np.int64), age_at_arrival=one(w.age_at_arrival, np.int64),
        wage_minor=one(int(wage), np.int64), home_before=one(w.home_before_months, np.int64),
        home_after=one(w.home_after, np.bool_), u_claim=one(w.draws.claim, np.float64),
        u_agent=one(w.draws.agent, np.float64), u_tax=one(w.draws.tax, np.float64),
        u_cert=one(w.draws.cert, np.float64), u_double=one(w.draws.double, np.float64),
        u_digital=one(w.draws.digital, np.float64), slices=slices_of(names, corridor),
    )


def run_case(case: Case) -> dict[str, int]:
    """Every value a case can expect, measured from one simulation of its worker."""
    run = load_run(case.scenario, case.policy)
    names = tuple(sorted(run.scenario.corridors))
    outcome = simulate(run, population(case, run.scenario.start, names))
    return observed(outcome)


def observed(outcome: Outcome) -> dict[str, int]:
    t = outcome.totals
    out: dict[str, int] = {"forfeited TH-SSO": 0, "forfeited JP-JPS": 0, "agent fees THB": 0,
                           "agent fees JPY": 0}
    for (fund, scheme, payer), amount in t.contributions.items():
        out[f"contributions {fund} {scheme} {payer}"] = amount
    for (kind, ccy), amount in t.recovered.items():
        out[f"recovered {kind} {ccy}"] = amount
        out[f"recovered after horizon {kind} {ccy}"] = int(t.recovered_monthly[(kind, ccy)][-1])
    for fund, amount in t.forfeited.items():
        out[f"forfeited {fund}"] = amount
    for ccy, amount in t.agent_fees.items():
        out[f"agent fees {ccy}"] = amount
    headline = measure(outcome).headline
    out |= {
        "tax unclaimed JPY": t.tax_unclaimed,
        "double contribution VND": t.double_value,
        "double contribution months": int(outcome.balances.double_months.sum()),
        "periods lost months": t.periods_lost_months,
        "pension rights": t.pension_rights,
        "through totalisation": t.through_totalisation,
        "transfers": t.transfers,
        "certificates": t.certificates,
        "worker recovered": int(outcome.worker.recovered[0]),
        "worker own": int(outcome.worker.own[0]),
        "settlement gross usd cents": headline["settlement_gross_usd"],
        "messages": headline["messages_total_count"],
    }
    return out
