"""Where the domain and the settlement layer declare a refusal, and which of them a run produced.

`declared_sites()` reads the source of `ledger/domain` and `ledger/settlement` (ast, no import)
and lists every place that builds a `DomainError`: a call of `DomainError` or of a subclass
(`MessageRejected`), or of a function that only returns one of one code (a *factory*:
`keyed_problems`, `keys._invalid`, `agreement._agreement_error`); the factories' own bodies are
not sites, their callers are. Each site carries its code, read from the call (`ErrorCode.X`, a
`RejectReason.X` for `MessageRejected`) or from the factory; a site whose code is computed must
be listed in `COMPUTED` with the codes it can produce.

`recording()` wraps `DomainError.__init__` to note, for every error built while it is active,
the source line that asked for it (walking out of factories and subclass constructors), so a
test can check that every declared site was produced.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.domain.errors import DomainError, ErrorCode

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger/domain", "ledger/settlement")
BASE = "DomainError"
# (file, function) of a site whose code is computed -> every code (or reject reason) it can carry.
COMPUTED: dict[tuple[str, str], frozenset[str]] = {
    ("ledger/domain/ledger.py", "_check"): frozenset({"exceeds_credits", "exceeds_debits"}),
    ("ledger/domain/periods.py", "parse"): frozenset({"invalid_month"}),
    ("ledger/settlement/messages.py", "sign_message"): frozenset({"key_revoked"}),
    ("ledger/settlement/messages.py", "_key_in_force"): frozenset(
        {"key_not_yet_valid", "key_expired", "key_revoked"}),
    ("ledger/settlement/messages.py", "_check_binding"): frozenset(
        {"key_not_yet_valid", "key_expired"}),
}


@dataclass(frozen=True)
class Site:
    path: str
    first_line: int
    last_line: int
    function: str
    code: str | None  # None: computed, see COMPUTED

    def __str__(self) -> str:
        return f"{self.path}:{self.first_line} {self.function} -> {self.code or 'computed'}"


@dataclass(frozen=True)
class Produced:
    path: str
    line: int
    function: str
    code: str  # the ErrorCode value, or the RejectReason of a MessageRejected


def _code_of(node: ast.expr | None) -> str | None:
    """`ErrorCode.X` or `RejectReason.X` as its value (the enum member's name, lower-cased)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in (
            "ErrorCode", "RejectReason"):
        return node.attr.lower()
    return None


def _name(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else None


class _Module:
    def __init__(self, path: Path) -> None:
        self.path = path.relative_to(ROOT).as_posix()
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.functions = [n for n in ast.walk(self.tree)
                          if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        self.classes = {n.name for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef)
                        and any(isinstance(b, ast.Name) and b.id == BASE for b in n.bases)}

    def returned_calls(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call]:
        return [n.value for n in ast.walk(function)
                if isinstance(n, ast.Return) and isinstance(n.value, ast.Call)]


def _modules() -> list[_Module]:
    return [_Module(p) for package in PACKAGES for p in sorted((ROOT / package).glob("*.py"))]


def _factories(modules: list[_Module], errors: set[str]) -> dict[tuple[str, str], str | None]:
    """(file, function) of each function that returns an error of one fixed code, or of the
    code its caller passes (None): its callers are the sites. A function returning errors of
    several codes (`plain_shape_error`) is not one: the errors it builds are the sites."""
    by_name: dict[str, str | None] = {}
    found: dict[tuple[str, str], str | None] = {}
    for _ in range(3):  # a factory may return another factory's error
        for m in modules:
            for f in m.functions:
                codes: set[str | None] = set()
                for call in m.returned_calls(f):
                    name = _name(call)
                    if name in errors:
                        codes.add(_code_of(call.args[0] if call.args else None))
                    elif name in by_name:
                        codes.add(by_name[str(name)] or _code_of(
                            call.args[0] if call.args else None))
                if len(codes) == 1:
                    found[(m.path, f.name)] = by_name[f.name] = next(iter(codes))
    return found


@functools.cache
def _scan() -> tuple[tuple[Site, ...], frozenset[tuple[str, str]]]:
    modules = _modules()
    errors = {BASE} | {c for m in modules for c in m.classes}
    factories = _factories(modules, errors)
    by_name = {name: code for (_, name), code in factories.items()}
    sites = []
    for m in modules:
        owner: dict[ast.AST, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for f in m.functions:  # outer functions come first: an inner one overwrites them
            for node in ast.walk(f):
                owner[node] = f
        for node in ast.walk(m.tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node)
            function = owner.get(node)
            if function is not None and (m.path, function.name) in factories:
                continue  # a factory's own body forwards; its callers are the sites
            if name in errors:  # DomainError(ErrorCode.X, ..), MessageRejected(RejectReason.X, ..)
                code = _code_of(node.args[0] if node.args else None)
            elif name in by_name:
                code = by_name[str(name)] or _code_of(node.args[0] if node.args else None)
            else:
                continue
            sites.append(Site(m.path, node.lineno, node.end_lineno or node.lineno,
                              function.name if function else "<module>", code))
    return tuple(sites), frozenset(factories)


def declared_sites() -> tuple[Site, ...]:
    return _scan()[0]


def forwarders() -> frozenset[tuple[str, str]]:
    """(file, function) of every factory: a recorded error is attributed to its caller."""
    return _scan()[1]


def _relative(filename: str) -> str:
    try:
        return Path(filename).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return filename


@contextmanager
def recording() -> Iterator[list[Produced]]:
    """Note every DomainError built inside the block, with the line that asked for it."""
    produced: list[Produced] = []
    original = DomainError.__init__
    skip = forwarders()

    def init(self: DomainError, code: ErrorCode, message: str, **kw: Any) -> None:
        original(self, code, message, **kw)
        frame = sys._getframe(1)
        while frame.f_back is not None:
            where = (_relative(frame.f_code.co_filename), frame.f_code.co_name)
            constructor = frame.f_code.co_name == "__init__" and isinstance(
                frame.f_locals.get("self"), DomainError)
            if where not in skip and not constructor:
                break
            frame = frame.f_back
        reason = self.details.get("reason") if code is ErrorCode.MESSAGE_REJECTED else None
        produced.append(Produced(_relative(frame.f_code.co_filename), frame.f_lineno,
                                 frame.f_code.co_name, str(reason or code.value)))

    DomainError.__init__ = init  # type: ignore[method-assign]
    try:
        yield produced
    finally:
        DomainError.__init__ = original  # type: ignore[method-assign]


def missing(sites: tuple[Site, ...], produced: list[Produced]) -> list[str]:
    """Sites (and computed codes of a site) that nothing produced."""
    out = []
    for site in sites:
        hits = {p.code for p in produced if p.path == site.path
                and site.first_line <= p.line <= site.last_line}
        if site.code is not None:
            if site.code not in hits:
                out.append(str(site))
            continue
        expected = COMPUTED.get((site.path, site.function))
        if expected is None:
            out.append(f"{site}: its code is computed; list it in COMPUTED")
        else:
            out += [f"{site} ({code})" for code in sorted(expected - hits)]
    return out
