"""Words for people: counts with the right plural, and consoles that do not break sentences when
their output goes to a file or a pipe. Used by every command that prints (ledger/cli, the demo,
the settlement runner, the simulator)."""

from __future__ import annotations

from rich.console import Console

# Piped or redirected output is read by scripts and pasted into issues: no wrapping at 80
# columns. Tables still fit themselves to their content; this only lifts the limit.
PIPED_WIDTH = 400


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 row`, `2 rows`, `1 policy`, `3 policies`, `1,000 workers` (thousands separated)."""
    if count == 1:
        return f"1 {singular}"
    if plural_form is None:
        consonant_y = singular.endswith("y") and singular[-2:-1] not in set("aeiou")
        plural_form = singular[:-1] + "ies" if consonant_y else singular + "s"
    return f"{count:,} {plural_form}"


def console(stderr: bool = False) -> Console:
    """A rich console: as rich makes it on a terminal; otherwise without soft line breaks."""
    made = Console(stderr=stderr)
    if made.is_terminal:
        return made
    return Console(stderr=stderr, soft_wrap=True, width=PIPED_WIDTH)
