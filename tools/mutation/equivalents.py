"""Surviving mutants judged equivalent: the program behaves the same with them, so no test can fail.

Each entry names the mutant (mutmut's name), a fragment of its mutated line (so that an entry
stops applying when the function changes and mutmut renumbers its mutants) and the reason. A
survivor listed here is still counted as surviving in the score; docs/testing.md lists it with its
reason so that a reader can check the judgement.
"""

from __future__ import annotations

from typing import NamedTuple


class Equivalent(NamedTuple):
    fragment: str  # text on the mutant's `+` line
    reason: str


_T = "ledger.settlement.totalisation."
_R = "ledger.settlement.rounding."

EQUIVALENT: dict[str, Equivalent] = {
    # -- totalisation
    f"{_T}x_own_months__mutmut_14": Equivalent(
        "PeriodState.TRANSFERRED or record.transferred_to",
        "PeriodRecord refuses transferred_to on any state but TRANSFERRED and requires it there, "
        "so `and` and `or` agree on every record that can exist (the test is for mypy's sake).",
    ),
    f"{_T}xǁEligibilityRuleǁthreshold_at__mutmut_21": Equivalent(
        "Month(1900, 2)",
        "Differs only for a threshold dated 1900-01, the earliest month a Month can hold, next "
        "to an undated one: both are then in force since always and the original breaks that "
        "tie by list order, so neither answer is the specified one.",
    ),
    # -- rounding: the sign of a zero numerator never matters (an exact quotient returns first)
    f"{_R}x_round_ratio__mutmut_9": Equivalent(
        "if denominator <= 0:",
        "A zero denominator was refused on the line before, so `< 0` and `<= 0` agree.",
    ),
    f"{_R}x_round_ratio__mutmut_10": Equivalent(
        "if denominator < 1:",
        "A zero denominator was refused on the line before; for integers `< 1` is `<= 0`.",
    ),
    f"{_R}x_round_ratio__mutmut_32": Equivalent(
        "numerator > 0, rounding",
        "`positive` differs only for a zero numerator, whose quotient is exact: the function "
        "returns before `_step_up` reads it.",
    ),
    f"{_R}x_round_ratio__mutmut_33": Equivalent(
        "numerator >= 1, rounding",
        "For integers `>= 1` is `> 0`: differs only for a zero numerator, which returns before "
        "`_step_up` reads the sign.",
    ),
    f"{_R}x__step_up__mutmut_22": Equivalent(
        "1 if twice >= denominator else 0",
        "Guarded by `twice != denominator` on the line before: `>=` and `>` agree there.",
    ),
    f"{_R}x_round_ratio_array__mutmut_22": Equivalent(
        "positive = numerators > 0",
        "Differs only for zero numerators, whose remainder is 0: `inexact` masks their step.",
    ),
    f"{_R}x_round_ratio_array__mutmut_23": Equivalent(
        "positive = numerators >= 1",
        "For integers `>= 1` is `> 0`: differs only for zeros, whose step `inexact` masks.",
    ),
}


def judged_equivalent(mutant: str, diff: str) -> Equivalent | None:
    """The entry for this survivor, if its diff still shows the judged change."""
    entry = EQUIVALENT.get(mutant)
    added = [line[1:] for line in diff.splitlines() if line.startswith("+")]
    if entry is None or not any(entry.fragment in line for line in added):
        return None
    return entry
