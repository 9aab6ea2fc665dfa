"""The exit codes every `clmtv` command uses, and the help text that documents them.

0: done. 1: the command ran and found a failure (a check failed, a signature is invalid, nothing
was booked, totals differ). 2: refused before doing anything (bad arguments, bad input, a rule).
Argparse's own usage errors are 2 as well.
"""

from __future__ import annotations

OK = 0
FAILED = 1
REFUSED = 2


def epilog(failed: str | None = None, done: str = "done") -> str:
    """The exit-code paragraph for one command's help; `failed` says what 1 means for it."""
    codes = [f"0 {done}"]
    if failed:
        codes.append(f"1 {failed}")
    codes.append("2 refused: bad arguments or input, nothing changed")
    return "exit codes: " + "; ".join(codes) + "."
