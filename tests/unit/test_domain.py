"""Months, ids, the fund registry, identity-number protection, contribution validation."""

from __future__ import annotations

import pytest

from ledger.config import DEV_PII_ENCRYPTION_KEY
from ledger.domain.contributions import ContributionInput, plan_transfers, validate_contribution
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import BUILT_IN_FUNDS, FUNDS, get_fund
from ledger.domain.ids import check_id
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.domain.pii import PiiVault, mask


def test_months() -> None:
    assert Month.parse("2026-01").plus(-1) == Month(2025, 12)
    assert Month(2024, 7).months_until(Month(2026, 1)) == 18
    assert Month.from_int(202601) == Month(2026, 1) and str(Month(2026, 1)) == "2026-01"
    for bad in ("2026-1", "2026-13", "26-01", 202601, None):
        with pytest.raises(DomainError) as err:
            Month.parse(bad)
        assert err.value.code is ErrorCode.INVALID_MONTH


def test_registry() -> None:
    assert [FUNDS[code].currency for code in BUILT_IN_FUNDS] == [
        Currency.KHR, Currency.MMK, Currency.VND, Currency.THB, Currency.JPY]
    pension = get_fund("KH-NSSF").scheme("pension")
    pension.check_in_force(Month(2022, 10))
    with pytest.raises(DomainError) as err:
        pension.check_in_force(Month(2022, 9))
    assert err.value.code is ErrorCode.SCHEME_NOT_IN_FORCE
    with pytest.raises(DomainError) as err:
        get_fund("MM-SSB").scheme("old-age").check_in_force(Month(2025, 1))
    assert "not operating" in err.value.message


@pytest.mark.parametrize("bad", ["", "a b", "é", "-x", "x" * 129, None])
def test_ids(bad: object) -> None:
    with pytest.raises(DomainError):
        check_id(bad)


def test_identity_numbers_are_hashed_and_sealed() -> None:
    vault = PiiVault("k1", DEV_PII_ENCRYPTION_KEY)
    assert vault.lookup_hash("TH-SSO", "1-1017-00234-56-8") == vault.lookup_hash(
        "TH-SSO", "1101700234568")
    assert vault.lookup_hash("TH-SSO", "1101700234568") != PiiVault(
        "k2", DEV_PII_ENCRYPTION_KEY).lookup_hash("TH-SSO", "1101700234568")
    sealed = vault.seal("member:w1:TH-SSO", "1101700234568")
    assert b"1101700234568" not in sealed
    assert vault.open("member:w1:TH-SSO", sealed) == "1101700234568"
    with pytest.raises(DomainError):  # bound to its row: moved elsewhere it does not open
        vault.open("member:w2:TH-SSO", sealed)
    assert mask("1101700234568") == "**********568"


def test_contribution_becomes_one_transfer_per_share() -> None:
    c = validate_contribution(ContributionInput(
        worker_id="wkr_abcd", fund="JP-JPS", scheme="epi", month="2025-04",
        wage_base=Money(180000, Currency.JPY),
        shares=[("employer", Money(16470, Currency.JPY)),
                ("employee", Money(16470, Currency.JPY))]))
    assert c.id == "ctb:wkr_abcd:JP-JPS:epi:2025-04"
    planned = plan_transfers(c)
    assert [t.id for t in planned] == [f"{c.id}/employee", f"{c.id}/employer"]
    # Both shares credit the worker's one member account there (ADR 0026).
    assert {t.credit.key for t in planned if not isinstance(t.credit, int)} == {
        "member/wkr_abcd/JP-JPS/epi/JPY"}
