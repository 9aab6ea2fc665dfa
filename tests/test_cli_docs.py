"""The command reference is generated from the tree, every command documents its exit codes, and
every `clmtv`, `dev.py` and `make` command the README and docs/ show exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ledger import cli
from tools import cli_docs

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"```(?:sh|bash|shell|console)\n(.*?)```", re.DOTALL)


def _shell_lines(page: Path) -> list[str]:
    lines: list[str] = []
    for block in SHELL_BLOCK.findall(page.read_text(encoding="utf-8")):
        lines.extend(block.replace("\\\n", " ").splitlines())
    return [line.split("#", 1)[0].strip() for line in lines if line.strip()]


def _dev_tasks() -> set[str]:
    source = (ROOT / "dev.py").read_text(encoding="utf-8")
    return set(re.findall(r'if task == "([a-z-]+)"', source))


def _make_targets() -> set[str]:
    source = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z-]+):", source, re.MULTILINE))


def _command_path(words: list[str]) -> tuple[str, ...]:
    """The subcommand names at the start of `words` that the tree knows."""
    node = cli.parser()
    path: list[str] = []
    for word in words:
        choices = next((a.choices for a in node._actions
                        if isinstance(a, cli.argparse._SubParsersAction)), None)
        if choices is None:
            break
        assert word in choices, f"`clmtv {' '.join([*path, word])}`: no such command"
        node = choices[word]
        path.append(word)
    return tuple(path)


def _documented_commands() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for page in DOCS:
        for line in _shell_lines(page):
            for part in re.split(r"&&|\|\||;|\|", line):
                try:
                    words = shlex.split(part)
                except ValueError:
                    continue
                words = [w for w in words if "=" not in w or w.startswith("-")]
                start = next((i for i, w in enumerate(words)
                              if w in {"clmtv", "dev.py", "make"}), None)
                if start is not None:
                    found.append((page.name, words[start:]))
    return found


def test_the_reference_is_generated_from_the_tree() -> None:
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == cli_docs.render(), \
        "docs/cli.md is stale: run python3 dev.py cli-docs"


def test_every_command_documents_its_exit_codes() -> None:
    for path, command in cli.commands(cli.parser()):
        assert path in cli.EXIT_FAILED, f"clmtv {' '.join(path)}: add it to EXIT_FAILED"
        assert command.epilog and command.epilog.startswith("exit codes: 0 "), path


def test_the_docs_show_commands() -> None:
    assert len(_documented_commands()) >= 20  # the scan finds the README's and docs' commands


@pytest.mark.parametrize(("page", "words"), _documented_commands(),
                         ids=lambda v: v if isinstance(v, str) else " ".join(v)[:60])
def test_every_documented_command_exists(page: str, words: list[str]) -> None:
    program, rest = words[0], [w for w in words[1:] if not w.startswith("-")]
    if program == "make":
        assert not rest or rest[0] in _make_targets(), f"{page}: make {rest[0]}: no such target"
    elif program == "dev.py":
        if not rest:
            return
        assert rest[0] in _dev_tasks(), f"{page}: dev.py {rest[0]}: no such task"
        if rest[0] == "clmtv":
            _command_path(rest[1:])
        if rest[0] == "bench" and len(rest) > 1:
            assert (ROOT / "bench" / f"bench_{rest[1]}.py").exists(), f"{page}: bench {rest[1]}"
    else:
        _command_path(rest)


def test_a_missing_command_is_caught() -> None:
    with pytest.raises(AssertionError, match="no such command"):
        _command_path(["settle-everything"])
