"""The repository stands alone: every relative link in the README, docs/ and the adapter READMEs
points at a file (and heading) that exists, and every citation of the fund reference — in those
pages, the adapters' parameters.yaml, the agreements, the simulator's scenarios and cases, and the
assumptions the simulator's report lists — names docs/reference/funds.md and a section (§1.4),
range (§1.3-1.5) or item (§5 item 3, §6 items 4-8) that exists there."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference" / "funds.md"
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"),
                *(ROOT / "ledger" / "adapters").glob("*/README.md")])
CITING = sorted([*PAGES, *(ROOT / "ledger" / "adapters").glob("*/parameters.yaml"),
                 *(ROOT / "agreements").glob("*.yaml"),
                 *(ROOT / "simulator" / "scenarios").glob("*.yaml"),
                 *(ROOT / "simulator" / "cases").glob("*.yaml")])

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
SECTION_REF = re.compile(
    r"§\s?(\d+(?:\.\d+)?)(?:\s?[-–]\s?(\d+(?:\.\d+)?))?(?:\s+items?\s+(\d+)(?:\s?[-–]\s?(\d+))?)?")


@dataclass(frozen=True)
class Citation:
    where: str
    text: str  # the line, from the first mention of funds.md on


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def _headings(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return [m.group(1) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, re.M)]


def links() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for m in LINK.finditer(text):
            target = m.group(1) or m.group(2)
            if not re.match(r"[a-z]+:", target):  # http:, https:, mailto:: not ours to check
                found.append((str(page.relative_to(ROOT)), target))
    return found


@cache
def _reference_sections() -> dict[str, set[int]]:
    """Section number ("1.4", "5") -> the numbers of its numbered list items."""
    sections: dict[str, set[int]] = {}
    current = None
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{2,3}\s+(\d+(?:\.\d+)?)\.?\s", line)
        if heading:
            current = heading.group(1)
            sections[current] = set()
            continue
        item = re.match(r"^(\d+)\.\s", line)
        if item and current is not None:
            sections[current].add(int(item.group(1)))
    return sections


def _resolves(ref: re.Match[str]) -> str | None:
    """None when the reference names something in funds.md; otherwise what is missing."""
    sections = _reference_sections()
    first, last, item, item_last = ref.groups()
    if last:  # a range of subsections, §1.3-1.5
        major, lo = first.split(".") if "." in first else (first, "0")
        hi = last.split(".")[-1]
        wanted = [f"{major}.{n}" for n in range(int(lo), int(hi) + 1)]
    else:
        wanted = [first]
    for section in wanted:
        if section not in sections:
            return f"§{section}: no such section"
    if item:
        for n in range(int(item), int(item_last or item) + 1):
            if n not in sections[wanted[0]]:
                return f"§{wanted[0]} item {n}: no such item"
    return None


def _spelled_out(line: str, page: Path) -> str:
    """A Markdown link to the reference from a page elsewhere, e.g. `](reference/funds.md)`
    in docs/, cites it as well: read its target as the path from the repository's root."""
    def target(m: re.Match[str]) -> str:
        if (page.parent / m.group(1)).resolve() == REFERENCE:
            return "](docs/reference/funds.md" + (m.group(2) or "") + ")"
        return m.group(0)

    return re.sub(r"\]\(([^)\s#]+)(#[^)]*)?\)", target, line)


def citations() -> list[Citation]:
    found = []
    for path in CITING:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = _spelled_out(line, path)
            at = line.find("funds.md")
            if at >= 0:
                found.append(Citation(f"{path.relative_to(ROOT)}:{number}", line[at - 40:]
                                      if at >= 40 else line))
    return found


def report_citations() -> list[Citation]:
    """The sources the simulator's report lists as assumptions, for every shipped policy."""
    from simulator.policy import load_run
    from simulator.report import _assumptions

    found = []
    policies = sorted(p.stem for p in (ROOT / "simulator" / "scenarios").glob("*.yaml")
                      if p.stem != "default")
    for policy in policies:
        for path, source in _assumptions(load_run("default", policy).scenario):
            if "funds.md" in source:
                found.append(Citation(f"report ({policy}) {path}", source))
    return found


def _check(citation: Citation) -> None:
    for at in [m.start() for m in re.finditer("funds.md", citation.text)]:
        assert citation.text[:at].endswith("docs/reference/"), \
            f"{citation.where}: cite docs/reference/funds.md, not {citation.text!r}"
    for ref in SECTION_REF.finditer(citation.text[citation.text.find("funds.md"):]):
        problem = _resolves(ref)
        assert problem is None, f"{citation.where}: {problem} in docs/reference/funds.md"


@pytest.mark.parametrize(("page", "target"), links(), ids=lambda v: str(v)[:50])
def test_every_relative_link_resolves(page: str, target: str) -> None:
    path, _, anchor = target.partition("#")
    resolved = (ROOT / page).parent / path if path else ROOT / page
    assert resolved.exists(), f"{page}: {target}: no such file"
    if anchor and resolved.suffix == ".md":
        assert anchor in {_slug(h) for h in _headings(resolved)}, f"{page}: #{anchor}: no heading"


def test_the_scans_see_the_links_and_citations() -> None:
    assert len(links()) >= 30
    assert len(citations()) >= 150
    assert len(report_citations()) >= 50  # about 60 unverified parameters cite the reference


@pytest.mark.parametrize("citation", citations(), ids=lambda c: c.where)
def test_every_citation_names_a_section_that_exists(citation: Citation) -> None:
    _check(citation)


def test_every_citation_in_the_report_resolves() -> None:
    for citation in report_citations():
        _check(citation)


@pytest.mark.parametrize(("text", "problem"), [
    ("../shared/reference/funds.md §1.4", "cite docs/reference/funds.md"),
    ("docs/reference/funds.md §9.9", "§9.9: no such section"),
    ("docs/reference/funds.md §5 item 12", "§5 item 12: no such item"),
    ("docs/reference/funds.md §1.3-1.9", "§1.7: no such section"),
])
def test_a_broken_citation_is_caught(text: str, problem: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(problem)):
        _check(Citation("planted", text))


def test_a_good_citation_passes() -> None:
    _check(Citation("planted", "docs/reference/funds.md §1.3-1.5, §6 items 4-8, §5 item 11"))


def test_the_licence_is_the_one_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert declared["project"]["license"] == {"text": "Apache-2.0"}
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence  # the full text, not a stub
