"""ID validators: valid numbers, wrong check digits, wrong lengths, canonical forms."""

from __future__ import annotations

import pytest

from ledger.adapters.jp_jps import ids as jp
from ledger.adapters.registry import get_adapter
from ledger.adapters.th_sso import ids as th
from ledger.domain.errors import DomainError, ErrorCode


def test_thai_national_id_check_digit() -> None:
    # The arithmetic of this check digit is in the next test.
    assert th.national_id_check_digit("110170023456") == 8
    assert th.national_id("1101700234568") == "1101700234568"
    assert th.national_id("1-1017-00234-56-8") == "1101700234568"
    assert th.national_id("0001234567890") == "0001234567890"  # a migrant's 0-prefixed number
    with pytest.raises(DomainError) as err:
        th.national_id("1101700234567")
    assert err.value.code is ErrorCode.INVALID_ID and err.value.field == "national_id"
    assert "check digit should be 8, got 7" in err.value.message
    with pytest.raises(DomainError, match="13 digits, got 12"):
        th.national_id("110170023456")
    with pytest.raises(DomainError, match="only digits"):
        th.national_id("11017002345A8")


def test_thai_check_digit_arithmetic() -> None:
    # d = 1 1 0 1 7 0 0 2 3 4 5 6, weights 13..2:
    # 13 + 12 + 0 + 10 + 63 + 0 + 0 + 12 + 15 + 16 + 15 + 12 = 168; 168 mod 11 = 3;
    # (11 - 3) mod 10 = 8.
    assert sum(int(d) * (13 - i) for i, d in enumerate("110170023456")) == 168
    assert th.national_id_check_digit("110170023456") == 8


def test_japanese_basic_pension_number() -> None:
    assert jp.basic_pension_number("1234-567890") == "1234567890"
    assert jp.basic_pension_number("1234567890") == "1234567890"
    assert jp.format_basic_pension_number("1234567890") == "1234-567890"
    for bad in ("123-4567890", "1234-56789", "12345678901", "abcd-567890", ""):
        with pytest.raises(DomainError) as err:
            jp.basic_pension_number(bad)
        assert err.value.field == "basic_pension_number"


def test_my_number_check_digit() -> None:
    # Body 12345678901: from the right P1..P11 = 1,0,9,8,7,6,5,4,3,2,1 with Q = 2,3,4,5,6,7,
    # 2,3,4,5,6: 2 + 0 + 36 + 40 + 42 + 42 + 10 + 12 + 12 + 10 + 6 = 212; 212 mod 11 = 3;
    # check digit 11 - 3 = 8.
    assert jp.my_number_check_digit("12345678901") == 8
    assert jp.my_number("123456789018") == "123456789018"
    assert jp.my_number("1234 5678 9018") == "123456789018"
    # Body 00000000000: r = 0 <= 1 -> check digit 0.
    assert jp.my_number("000000000000") == "000000000000"
    with pytest.raises(DomainError, match="check digit should be 8, got 9"):
        jp.my_number("123456789019")
    with pytest.raises(DomainError, match="12 digits, got 11"):
        jp.my_number("12345678901")


def test_vietnamese_codes() -> None:
    vn = get_adapter("VN-VSS")
    assert vn.validate_id("si_code", "0123456789") == "0123456789"
    assert vn.validate_id("cccd", "001095012345") == "001095012345"
    with pytest.raises(DomainError, match="10 digits, got 9"):
        vn.validate_id("si_code", "012345678")
    # A member number may be either; the first kind's error is reported when neither fits.
    assert vn.validate_member_number("001095012345") == "001095012345"
    with pytest.raises(DomainError) as err:
        vn.validate_member_number("12345")
    assert err.value.field == "si_code"


@pytest.mark.parametrize("fund", ["KH-NSSF", "MM-SSB", "LA-LSSO", "MY-SOCSO"])
def test_permissive_member_numbers(fund: str) -> None:
    adapter = get_adapter(fund)
    assert adapter.validate_member_number(" nssf-000123 ") == "NSSF-000123"
    assert adapter.validate_member_number("SSB/12.345") == "SSB/12.345"
    for bad in ("", "A--1", "-A1", "A 1", "Á1", "X" * 33):
        with pytest.raises(DomainError) as err:
            adapter.validate_member_number(bad)
        assert err.value.code is ErrorCode.INVALID_ID


def test_adapter_id_kinds() -> None:
    thai = get_adapter("TH-SSO")
    assert thai.validate_id("employer_account", "1234567890") == "1234567890"
    assert thai.validate_id("branch", "000000") == "000000"
    with pytest.raises(DomainError) as err:
        thai.validate_id("passport", "X")
    assert err.value.field == "kind"
    japan = get_adapter("JP-JPS")
    assert japan.validate_member_number("1234-567890") == "1234567890"
    assert japan.validate_member_number("123456789018") == "123456789018"
