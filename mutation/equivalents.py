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


EQUIVALENT: dict[str, Equivalent] = {}


def judged_equivalent(mutant: str, diff: str) -> Equivalent | None:
    """The entry for this survivor, if its diff still shows the judged change."""
    entry = EQUIVALENT.get(mutant)
    added = [line[1:] for line in diff.splitlines() if line.startswith("+")]
    if entry is None or not any(entry.fragment in line for line in added):
        return None
    return entry
