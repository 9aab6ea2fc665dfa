"""Fitted values written back into the scenario the calibration calibrates.

Owns `scenario_changes` (which keys of the scenario file take which fitted value, with its
provenance) and `write_scenario` (the rewrite). The scenario file is edited line by line, so
its comments, anchors and layout stay: each key is found by the path of the YAML keys above it
(two spaces a level) and must be one line `key: {value: ..., source: "...", verified: ...}`;
otherwise nothing is written and the key is named. What is written:

- the calibrated corridors' `population`: the workers in covered work at the calibration's end
  (in Thailand the insured ones), verified where a tight stock target holds the corridor;
- each parameter's `writes:` keys: a rate as a quoted decimal; for a `contract_months` key, the
  table with its longest contract's share set to the fitted value and the others keeping their
  proportions, each rounded half-even to 4 decimals and the last made up so they add to 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from ledger.domain.errors import DomainError, ErrorCode
from simulator.calibration.files import Calibration, Fitted, Targets
from simulator.scenario import Scenario

KEY_LINE = re.compile(r"^( *)([A-Za-z0-9_+-]+):(.*)$")
ONE_LINE = re.compile(r"^ \{value: .*, source: \"[^\"]*\", verified: (?:true|false)\}\s*$")
SHARE_STEP = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Change:
    value: str  # YAML text of the new value
    source: str
    verified: bool


def _source(fitted: Fitted, what: str) -> str:
    return (f"calibrated: simulator/calibration/{fitted.calibration}.fitted.yaml, {what}, "
            f"fitted on {fitted.fitted_on}")


def contract_text(table: dict[int, Decimal], long_share: Decimal,
                  weights: dict[int, Decimal] | None = None) -> str:
    """The contract table with the longest's share `long_share`; the shorter lengths share the
    rest by `weights` (or their shares in `table`)."""
    longest = max(table)
    weights = weights or {m: table[m] for m in table if m != longest}
    others = sorted(weights)
    rest = sum(weights.values())
    long_share = long_share.quantize(SHARE_STEP, rounding=ROUND_HALF_EVEN)
    shares = {longest: long_share}
    left = Decimal(1) - long_share
    for m in others[:-1]:
        shares[m] = (left * weights[m] / rest).quantize(SHARE_STEP, rounding=ROUND_HALF_EVEN)
    if others:
        shares[others[-1]] = Decimal(1) - sum(shares.values())
    return "{" + ", ".join(f'{m}: "{shares[m]}"' for m in sorted(shares)) + "}"


def scenario_changes(calibration: Calibration, fitted: Fitted, targets: Targets,
                     scenario: Scenario) -> dict[str, Change]:
    tight = {c for t in targets.targets if t.tier == "tight" and t.quantity.measure == "stock"
             for c in t.quantity.corridors}
    out: dict[str, Change] = {}
    for corridor, workers in fitted.state.items():
        what = (f"workers in covered work at {fitted.state_month}"
                + (" (insured)" if corridor.endswith("-TH") else ""))
        out[f"corridors.{corridor}.population"] = Change(str(workers), _source(fitted, what),
                                                         corridor in tight)
    for name, param in calibration.parameters.items():
        value = fitted.values.get(f"parameters.{name}", param.value)
        for key in param.writes:
            if key.endswith(".contract_months"):
                corridor = key.split(".")[1]
                table = scenario.corridors[corridor].contract_months.value
                text = contract_text(table, value, param.others)
                what = f"{name} {value} (the longest contract's share)"
            else:
                text, what = f'"{value}"', f"{name} {value}"
            out[key] = Change(text, _source(fitted, what), False)
    return out


def write_scenario(path: Path, changes: dict[str, Change]) -> list[str]:
    """Rewrite each changed key's line in place; refuse (writing nothing) a key that is missing
    or not one line."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    stack: list[str] = []
    done: list[str] = []
    for i, line in enumerate(lines):
        m = KEY_LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        depth = len(m.group(1)) // 2
        stack = [*stack[:depth], m.group(2)]
        key = ".".join(stack)
        if key not in changes:
            continue
        if not ONE_LINE.match(m.group(3)):
            raise DomainError(ErrorCode.INVALID_INPUT,
                              f"{path}:{i + 1}: {key} is not one line {{value: ..., source: "
                              '"...", verified: ...}', field=key)
        c = changes[key]
        lines[i] = (f"{m.group(1)}{m.group(2)}: {{value: {c.value}, source: \"{c.source}\", "
                    f"verified: {str(c.verified).lower()}}}\n")
        done.append(key)
    missing = sorted(set(changes) - set(done))
    if missing:
        raise DomainError(ErrorCode.INVALID_INPUT, f"{path}: no line for {', '.join(missing)}",
                          field=missing[0])
    path.write_text("".join(lines), encoding="utf-8")
    return done
