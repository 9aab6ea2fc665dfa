"""Every refusal the domain and the settlement layer declare is produced, with its code and field.

Each case of `refusals_domain.CASES` and `refusals_settlement.CASES` must raise a `DomainError`
with its code, field and message (`refusal_messages.py`), and its index or reject reason where
the case names one. Then
`test_every_declared_refusal_is_produced` runs them all again while recording where each error
was built, and fails naming every site in `ledger/domain` or `ledger/settlement` that no case
reached: a refusal added to the code without a case here fails the suite.
"""

from __future__ import annotations

import os

import pytest

from ledger.domain.errors import DomainError, ErrorCode
from tests.unit import refusals_domain, refusals_settlement
from tests.unit.refusal_messages import MESSAGES
from tests.unit.refusal_sites import COMPUTED, ROOT, declared_sites, missing, recording
from tests.unit.refusals_domain import _ANY, Case

CASES = refusals_domain.CASES + refusals_settlement.CASES
# Under mutmut the sources are rewritten (each function copied once per mutant): the sites
# cannot be read from them, and the cases above are what kills mutants anyway.
# `dev.py mutate` sets CLMTV_MUTATION: whichever core module it rewrites, the inventories skip
# (a look at one file, ledger.py, missed the runs of every other module).
needs_plain_source = pytest.mark.skipif(
    bool(os.environ.get("CLMTV_MUTATION"))
    or "__mutmut_" in (ROOT / "ledger/domain/ledger.py").read_text(),
    reason="the source is rewritten by mutmut")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refusal(case: Case) -> None:
    with pytest.raises(DomainError) as refused:
        case.call()
    error = refused.value
    assert (error.code, error.field) == (case.code, case.field), error
    if case.index is not _ANY:
        assert error.index == case.index
    if case.reason is not None:
        assert error.details.get("reason") == case.reason
    expected = MESSAGES[case.name]
    if expected.endswith("…"):
        assert error.message.startswith(expected[:-1]), error.message
    else:
        assert error.message == expected


def test_every_case_has_one_message() -> None:
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)
    assert set(MESSAGES) == set(names)


@needs_plain_source
def test_every_declared_refusal_is_produced() -> None:
    sites = declared_sites()
    with recording() as produced:
        for case in CASES:
            with pytest.raises(DomainError):
                case.call()
    unreached = missing(sites, produced)
    assert not unreached, "no case in tests/unit/refusals_*.py produces:\n" + "\n".join(unreached)


@needs_plain_source
def test_the_site_scanner_sees_what_it_must() -> None:
    """Guards the meta-test itself: a scanner that found nothing would pass vacuously."""
    sites = declared_sites()
    where = {(s.path, s.function, s.code) for s in sites}
    assert ("ledger/domain/ledger.py", "_resolve_pending", "not_pending") in where
    assert ("ledger/settlement/keys.py", "load_jwks", "invalid_input") in where  # via _invalid
    assert ("ledger/settlement/agreement.py", "parse_agreement", "invalid_agreement") in where
    assert ("ledger/settlement/messages.py", "_check_header", "missing_kid") in where
    assert not any(s.path == "ledger/domain/errors.py" for s in sites)  # forwarders only
    assert len(sites) >= 130
    assert {(s.path, s.function) for s in sites if s.code is None} == set(COMPUTED)
    # Codes are read from enum names: every name must spell its value.
    assert all(code.name.lower() == code.value for code in ErrorCode)


@needs_plain_source
def test_every_code_the_core_raises_has_a_case() -> None:
    raised = {s.code for s in declared_sites() if s.code} | {
        c for codes in COMPUTED.values() for c in codes}
    covered = {c.code.value for c in CASES} | {c.reason for c in CASES if c.reason}
    assert raised <= covered, sorted(raised - covered)
