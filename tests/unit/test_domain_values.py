"""The domain's value types and small rules, edge by edge: errors as the API renders them,
principals, identity-number protection, ids, months, the fund registry, money."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date
from decimal import Decimal
from types import MappingProxyType

import pytest

from ledger.config import DEV_PII_ENCRYPTION_KEY
from ledger.domain.errors import DomainError, ErrorCode, keyed_problems
from ledger.domain.funds import (
    BUILT_IN_FUNDS,
    FUNDS,
    Fund,
    FundCode,
    Scheme,
    SchemeCode,
    _fund,
    _scheme,
    forget_fund,
    get_fund,
    register_fund,
)
from ledger.domain.ids import (
    check_id,
    check_worker_id,
    check_worker_id_carries_no_number,
    new_worker_id,
)
from ledger.domain.money import (
    AMOUNT_MINOR_MAX,
    Currency,
    Money,
    Rounding,
    parse_amount_minor,
    round_to_int,
)
from ledger.domain.periods import Month, PeriodKind, PeriodState, month_text
from ledger.domain.pii import PiiVault, mask, normalise_number
from ledger.domain.principals import Principal, PrincipalKind

THB, JPY, USD, VND = Currency.THB, Currency.JPY, Currency.USD, Currency.VND


def refused(call: object, *args: object, **kw: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kw)  # type: ignore[operator]
    return caught.value


# -- errors ---------------------------------------------------------------------------------------
def test_an_error_carries_code_message_field_index_details() -> None:
    e = DomainError(ErrorCode.INVALID_ID, "bad id", field="id", index=3, details={"a": 1})
    assert (e.code, e.message, e.field, e.index, e.details) == (
        ErrorCode.INVALID_ID, "bad id", "id", 3, {"a": 1})
    assert str(e) == "bad id"
    assert repr(e) == "DomainError('invalid_id', 'bad id', field='id')"
    assert e.to_dict() == {"code": "invalid_id", "message": "bad id", "field": "id",
                           "index": 3, "details": {"a": 1}}
    bare = DomainError(ErrorCode.OVERFLOW, "too big")
    assert bare.details == {} and bare.field is None and bare.index is None
    assert bare.to_dict() == {"code": "overflow", "message": "too big"}
    assert DomainError(ErrorCode.OVERFLOW, "x", index=0).to_dict()["index"] == 0


def test_an_error_located_in_a_batch_keeps_all_but_its_place() -> None:
    e = DomainError(ErrorCode.INVALID_AMOUNT, "no", field="amount", details={"k": "v"})
    moved = e.at(2, "transfers[2]")
    assert (moved.code, moved.message, moved.field, moved.index, moved.details) == (
        ErrorCode.INVALID_AMOUNT, "no", "transfers[2].amount", 2, {"k": "v"})
    assert e.at(1).field == "amount" and e.at(1).index == 1
    fieldless = DomainError(ErrorCode.SAME_ACCOUNT, "same")
    assert fieldless.at(0, "transfers[0]").field == "transfers[0]"
    assert fieldless.at(0).field is None


def test_a_file_with_problems_names_the_first_and_counts_the_rest() -> None:
    one = [{"field": "name", "message": "required key is missing"}]
    e = keyed_problems(ErrorCode.INVALID_AGREEMENT, "pilot.yaml", one)
    assert (e.code, e.message, e.field, e.details) == (
        ErrorCode.INVALID_AGREEMENT, "pilot.yaml: name: required key is missing", "name",
        {"errors": one})
    three = [*one, {"field": "kind", "message": "x"}, {"field": "title", "message": "y"}]
    e = keyed_problems(ErrorCode.INVALID_INPUT, "s.yaml", three)
    assert e.message == "s.yaml: name: required key is missing (and 2 more)"
    assert keyed_problems(ErrorCode.INVALID_INPUT, "s", three[:2]).message.endswith(
        "missing (and 1 more)")


# -- principals ----------------------------------------------------------------------------------
HUB = Principal("hub", PrincipalKind.HUB_OPERATOR)
AUDITOR = Principal("audit", PrincipalKind.AUDITOR)
FUND = Principal("sso", PrincipalKind.FUND, "TH-SSO")
EMPLOYER = Principal("acme", PrincipalKind.EMPLOYER, "TH-SSO", "1234567890")
UNBOUND_EMPLOYER = Principal("old", PrincipalKind.EMPLOYER, "TH-SSO")  # a token from before 0012
CHANNEL = Principal("wallet", PrincipalKind.CHANNEL, "TH-SSO")
WORKER = Principal("w", PrincipalKind.WORKER, "wkr_abcd")


def test_who_may_post_manage_and_read() -> None:
    assert [p.sees_everything for p in (HUB, AUDITOR, FUND, EMPLOYER, CHANNEL, WORKER)] == [
        True, True, False, False, False, False]
    assert [p.can_post_contribution("TH-SSO") for p in (HUB, AUDITOR, FUND, EMPLOYER, CHANNEL,
                                                          WORKER)] == [
        True, False, True, True, False, False]  # a channel collects voluntary payments only
    assert not FUND.can_post_contribution("KH-NSSF")
    assert not EMPLOYER.can_post_contribution("KH-NSSF")
    assert not UNBOUND_EMPLOYER.can_post_contribution("TH-SSO")  # no employer number: nothing
    assert [p.can_manage_members("TH-SSO") for p in (HUB, AUDITOR, FUND, EMPLOYER)] == [
        True, False, True, False]
    assert not FUND.can_manage_members("KH-NSSF")
    assert [p.can_read_fund("TH-SSO") for p in (HUB, AUDITOR, FUND, EMPLOYER, WORKER)] == [
        True, True, True, False, False]
    assert not FUND.can_read_fund("KH-NSSF") and not FUND.can_read_fund(None)
    assert [p.is_writer for p in (HUB, AUDITOR, FUND, WORKER)] == [True, False, True, True]
    assert [p.may_send_messages for p in (HUB, AUDITOR, FUND, EMPLOYER, CHANNEL, WORKER)] == [
        True, False, True, False, False, False]


def test_what_each_principal_sees_of_a_worker() -> None:
    funds = {"TH-SSO", "KH-NSSF"}
    assert HUB.visible_funds(funds) == funds and AUDITOR.visible_funds(funds) == funds
    assert FUND.visible_funds(funds) == {"TH-SSO"}
    assert FUND.visible_funds({"KH-NSSF"}) == set()
    assert EMPLOYER.visible_funds(funds) == set() and WORKER.visible_funds(funds) == set()
    assert WORKER.can_read_worker("wkr_abcd", set())
    assert not WORKER.can_read_worker("wkr_other", funds)
    assert FUND.can_read_worker("wkr_x", funds) and not FUND.can_read_worker("wkr_x", {"JP-JPS"})
    assert not EMPLOYER.can_read_worker("wkr_x", funds)
    assert HUB.sees_clear_numbers("wkr_x", None)
    assert WORKER.sees_clear_numbers("wkr_abcd", "TH-SSO")
    assert not WORKER.sees_clear_numbers("wkr_other", "TH-SSO")
    assert FUND.sees_clear_numbers("wkr_x", "TH-SSO")
    assert not FUND.sees_clear_numbers("wkr_x", "KH-NSSF")
    assert not FUND.sees_clear_numbers("wkr_x", None)
    assert not AUDITOR.sees_clear_numbers("wkr_x", "TH-SSO")
    assert not EMPLOYER.sees_clear_numbers("wkr_x", "TH-SSO")


OTHER_CHANNEL = Principal("remit", PrincipalKind.CHANNEL, "KH-REMIT")
MINISTRY = Principal("molvt", PrincipalKind.MINISTRY, "KH")
HELPER = Principal("attache", PrincipalKind.HELPER)


def test_a_channel_acts_and_reads_for_its_own_channel_only() -> None:
    everyone = (HUB, AUDITOR, FUND, EMPLOYER, CHANNEL, OTHER_CHANNEL, WORKER, MINISTRY, HELPER)
    # CHANNEL's scope is "TH-SSO" (a code it shares with the fund, so only the kind tells them
    # apart); the auditor reads every channel but acts for none.
    assert [p.can_act_for_channel("TH-SSO") for p in everyone] == [
        True, False, False, False, True, False, False, False, False]
    assert [p.can_read_channel("TH-SSO") for p in everyone] == [
        True, True, False, False, True, False, False, False, False]
    assert [p.can_act_for_channel("KH-REMIT") for p in everyone] == [
        True, False, False, False, False, True, False, False, False]
    assert [p.can_read_channel("KH-REMIT") for p in everyone] == [
        True, True, False, False, False, True, False, False, False]


def test_who_reads_and_builds_each_monitoring_release() -> None:
    everyone = (HUB, AUDITOR, FUND, EMPLOYER, CHANNEL, WORKER, MINISTRY, HELPER)
    assert all(p.can_read_stats("public") for p in everyone)
    assert [p.can_read_stats("fund:TH-SSO") for p in everyone] == [
        True, True, True, False, False, False, False, False]  # the employer's scope is TH-SSO too
    assert [p.can_read_stats("ministry:KH") for p in everyone] == [
        True, True, False, False, False, False, True, False]
    assert not FUND.can_read_stats("fund:KH-NSSF") and not MINISTRY.can_read_stats("ministry:TH")
    # only fund and ministry audiences exist: a worker's scope in an audience of its kind is not
    # one, nor is an audience without its kind, nor "TH-SSO:fund" read the other way round
    assert not WORKER.can_read_stats("worker:wkr_abcd")
    assert not FUND.can_read_stats("TH-SSO") and not FUND.can_read_stats("TH-SSO:fund")
    assert not FUND.can_read_stats("fund:TH-SSO:x")
    # the audience splits at its first colon: whatever follows is the scope, colons and all
    assert Principal("f", PrincipalKind.FUND, "TH:SSO").can_read_stats("fund:TH:SSO")
    assert not FUND.can_read_stats("Public") and not FUND.can_read_stats("PUBLIC")
    # spending the privacy budget: the hub for any audience, a fund or ministry for its own only
    assert [p.can_build_stats("public") for p in everyone] == [
        True, False, False, False, False, False, False, False]
    assert [p.can_build_stats("fund:TH-SSO") for p in everyone] == [
        True, False, True, False, False, False, False, False]  # the auditor reads, never builds
    assert [p.can_build_stats("ministry:KH") for p in everyone] == [
        True, False, False, False, False, False, True, False]
    assert not FUND.can_build_stats("fund:KH-NSSF") and not FUND.can_build_stats("PUBLIC")


def test_a_principal_refused_is_told_who_and_what() -> None:
    FUND.require(True, "anything")
    e = refused(EMPLOYER.require, False, "post contributions to KH-NSSF")
    assert (e.code, e.message, e.field) == (
        ErrorCode.FORBIDDEN, "employer acme may not post contributions to KH-NSSF", None)


# -- identity numbers ------------------------------------------------------------------------------
def test_identity_numbers_are_normalised_hashed_sealed_and_masked() -> None:
    vault = PiiVault("key-1", DEV_PII_ENCRYPTION_KEY)
    assert normalise_number(" 1-101 7-ab ") == "11017AB"
    expected = hmac.new(b"key-1", b"TH-SSO\x0011017AB", hashlib.sha256).hexdigest()
    assert vault.lookup_hash("TH-SSO", "1101-7ab") == expected
    assert vault.lookup_hash("KH-NSSF", "11017AB") != expected
    sealed = vault.seal("member:w1", "1101700234568")
    assert len(sealed) == 12 + 13 + 16  # nonce, ciphertext, tag
    assert vault.seal("member:w1", "1101700234568") != sealed  # a fresh nonce each time
    assert vault.open("member:w1", sealed) == "1101700234568"
    e = refused(vault.open, "member:w2", sealed)
    assert (e.code, e.message) == (ErrorCode.FORBIDDEN, "identity number cannot be decrypted")
    assert mask("12") == "12" and mask("123") == "123" and mask("1234") == "*234"
    assert mask("ab-cd e") == "**CDE"


def test_upper_case_x_is_kept_by_normalising() -> None:
    assert normalise_number("X 12-x") == "X12X"  # only spaces and dashes go


def test_a_rotating_vault_finds_and_opens_under_either_key_pair() -> None:
    old = PiiVault("key-0", base64.b64encode(b"o" * 32).decode())
    new = PiiVault("key-1", DEV_PII_ENCRYPTION_KEY, previous=old)
    assert not old.rotating and new.rotating and new.previous is old
    assert old.lookup_hashes("TH-SSO", "1101-7ab") == [old.lookup_hash("TH-SSO", "11017AB")]
    # the current hash first (what is written), then the previous pair's, same kind and number
    assert new.lookup_hashes("TH-SSO", "1101-7ab") == [
        new.lookup_hash("TH-SSO", "11017AB"), old.lookup_hash("TH-SSO", "11017AB")]
    assert new.lookup_hash("TH-SSO", "11017AB") != old.lookup_hash("TH-SSO", "11017AB")
    # a row sealed before the rotation opens under the previous pair, in its own context only
    before = old.seal("member:w1", "1101700234568")
    assert new.open_current("member:w1", before) is None
    assert new.open("member:w1", before) == "1101700234568"
    e = refused(new.open, "member:w2", before)
    assert (e.code, e.message, e.field) == (
        ErrorCode.FORBIDDEN, "identity number cannot be decrypted", None)
    # a row sealed under the current pair opens without asking the previous one
    after = new.seal("member:w1", "2202")
    assert new.open("member:w1", after) == "2202" and old.open_current("member:w1", after) is None
    # a vault holding no previous pair opens only its own
    assert refused(old.open, "member:w1", after).code is ErrorCode.FORBIDDEN


def test_a_vault_key_must_be_32_bytes() -> None:
    short = base64.b64encode(b"x" * 31).decode()
    with pytest.raises(ValueError, match=r"^the PII encryption key must be 32 bytes "
                                         r"\(base64-encoded\)$"):
        PiiVault("k", short)


# -- ids -------------------------------------------------------------------------------------------
def test_caller_chosen_ids() -> None:
    for good in ("a", "9", "A" * 128, "ctb:wkr_ab:TH-SSO:s33-old-age:2026-01", "x.y_z@q/r-s"):
        assert check_id(good) == good
    e = refused(check_id, "A" * 129, "transfers[3].id")
    assert (e.code, e.field, e.message) == (
        ErrorCode.INVALID_ID, "transfers[3].id", "transfers[3].id must be a string of 1-128 chars")
    for bad in ("", None, 12):
        assert refused(check_id, bad).message == "id must be a string of 1-128 chars"
    for bad in ("-x", ".x", "a b", "a#b", "é"):
        e = refused(check_id, bad)
        assert e.message == (
            f"id may contain only letters, digits and . _ : / @ - (got {bad!r})")


def test_worker_ids() -> None:
    for good in ("wkr_abcd", "wkr_" + "a1" * 20):
        assert check_worker_id(good) == good
    for bad in ("wkr_abc", "wkr_" + "a" * 41, "wkr_ABCD", "WKR_abcd", "xwkr_abcd", 5):
        e = refused(check_worker_id, bad, "w")
        assert (e.code, e.field, e.message) == (
            ErrorCode.INVALID_ID, "w",
            f"w must look like wkr_<4-40 lowercase letters or digits>, got {bad!r}")
    made = {new_worker_id() for _ in range(3)}
    assert len(made) == 3
    for worker in made:
        assert check_worker_id(worker) == worker and len(worker) == 4 + 16


def test_a_worker_id_must_not_carry_the_workers_number() -> None:
    numbers = ["1-1017-00234-56-8", "AB 12"]
    check_worker_id_carries_no_number("wkr_free0001", numbers)
    for carrying in ("wkr_x1101700234568", "wkr_11017002345680", "wkr-1101-7002-3456-8"):
        e = refused(check_worker_id_carries_no_number, carrying, numbers)
        assert (e.code, e.field, e.message) == (
            ErrorCode.INVALID_ID, "id",
            "id contains the worker's identity or member number; worker ids appear in URLs and "
            "logs: choose another id, or let the hub assign one")
    e = refused(check_worker_id_carries_no_number, "wkr_1101700234568", numbers, "workers[0].id")
    assert e.field == "workers[0].id" and e.message.startswith("workers[0].id contains")
    # compared as lowercase letters and digits, from six of them up (shorter ones would refuse
    # ids by coincidence): "AB 12" is "ab12", four
    check_worker_id_carries_no_number("wkr_ab12cd", ["AB 12", "ab1", "12cd"])
    refused(check_worker_id_carries_no_number, "wkr_ab12cd", ["AB-12 CD"])  # six: refused
    check_worker_id_carries_no_number("wkr_ab12c", ["AB-12 CD"])  # not all of it: accepted
    # lowercase, not uppercase: "ß" lowercases to itself but uppercases to "SS"
    check_worker_id_carries_no_number("wkr_12345ss", ["12345ß"])


# -- months ----------------------------------------------------------------------------------------
def test_months_from_1900_to_2999() -> None:
    assert str(Month(1900, 1)) == "1900-01" and str(Month(2999, 12)) == "2999-12"
    for year, month in ((1899, 12), (3000, 1), (2026, 0), (2026, 13)):
        e = refused(Month, year, month)
        assert (e.code, e.field, e.message) == (
            ErrorCode.INVALID_MONTH, None, f"month out of range: {year}-{month:02d}")


def test_parsing_a_month_names_its_field() -> None:
    jan = Month(2026, 1)
    assert Month.parse(jan) is jan and Month.parse("2026-01") == jan
    e = refused(Month.parse, "2026-1", "periods.month")
    assert (e.code, e.field, e.message) == (
        ErrorCode.INVALID_MONTH, "periods.month", "month must be YYYY-MM, got '2026-1'")
    assert refused(Month.parse, "2026-13").field == "month"
    e = refused(Month.parse, "2026-13", "from")
    assert (e.code, e.field, e.message) == (ErrorCode.INVALID_MONTH, "from",
                                            "month out of range: 2026-13")
    assert refused(Month.parse, 202601).message == "month must be YYYY-MM, got 202601"
    assert refused(Month.parse, " 2026-01").code is ErrorCode.INVALID_MONTH


def test_month_arithmetic() -> None:
    m = Month(2026, 1)
    assert Month.from_int(202601) == m and m.to_int() == 202601
    assert Month.of(date(2026, 1, 31)) == m and m.first_day() == date(2026, 1, 1)
    assert m.plus(11) == Month(2026, 12) and m.plus(12) == Month(2027, 1)
    assert m.plus(-1) == Month(2025, 12) and m.plus(-13) == Month(2024, 12)
    # from a month other than January, the month's own offset counts too
    assert Month(2026, 3).plus(1) == Month(2026, 4) and Month(2026, 3).plus(10) == Month(2027, 1)
    assert Month(2026, 11).plus(-12) == Month(2025, 11) and Month(2026, 5).plus(0) == Month(2026, 5)
    assert m.months_until(Month(2027, 3)) == 14 and Month(2027, 3).months_until(m) == -14
    assert Month(2025, 12) < m < Month(2026, 2)
    assert month_text(202607) == "2026-07"
    with pytest.raises(DomainError):
        month_text(202613)
    assert [k.value for k in PeriodKind] == ["compulsory", "voluntary", "credited"]
    assert [s.value for s in PeriodState] == ["active", "withdrawn", "transferred"]


# -- the fund registry -----------------------------------------------------------------------------
def test_schemes_take_contributions_from_their_first_month_while_operating() -> None:
    pension = get_fund("KH-NSSF").scheme("pension")
    assert (pension.code, pension.starts, pension.long_term) == ("pension", Month(2022, 10), True)
    pension.check_in_force(Month(2022, 10))
    e = refused(pension.check_in_force, Month(2022, 9))
    assert (e.code, e.field, e.message) == (
        ErrorCode.SCHEME_NOT_IN_FORCE, "month",
        "scheme pension accepts contributions from 2022-10, not 2022-09")
    old_age = get_fund("MM-SSB").scheme("old-age")
    e = refused(old_age.check_in_force, Month(2030, 1), "periods.month")
    assert (e.code, e.field, e.message) == (
        ErrorCode.SCHEME_NOT_IN_FORCE, "periods.month", "scheme old-age is not operating")
    assert not get_fund("TH-SSO").scheme("s33-sickness").long_term
    # an agreement in force opens only a scheme marked as an agreement option
    e = refused(old_age.check_in_force, Month(2030, 1), opened=True)
    assert (e.code, e.message) == (ErrorCode.SCHEME_NOT_IN_FORCE, "scheme old-age is not operating")


def test_an_agreement_option_scheme_is_taken_only_when_an_agreement_opens_it() -> None:
    abroad = get_fund("MM-SSB").scheme("voluntary-abroad")
    e = refused(abroad.check_in_force, Month(2030, 1))  # not opened unless told
    assert (e.code, e.field, e.message) == (
        ErrorCode.SCHEME_NOT_IN_FORCE, "month",
        "scheme voluntary-abroad is not operating; an agreement may open it")
    abroad.check_in_force(Month(2030, 1), opened=True)
    e = refused(abroad.check_in_force, Month(2014, 3), opened=True)  # still from its start
    assert e.message == "scheme voluntary-abroad accepts contributions from 2014-04, not 2014-03"


def test_the_registry_is_built_from_each_funds_and_schemes_declaration() -> None:
    # _fund and _scheme run once, when the module is imported: called here, their results are
    # checked field by field (the registry's entries above come from the same two helpers).
    pension = _scheme("pension", "Pension", "2020-07", True, verified_start=False, voluntary=True)
    assert pension == Scheme(SchemeCode("pension"), "Pension", Month(2020, 7), True,
                             verified_start=False, voluntary=True)
    assert (pension.operating, pension.agreement_option) == (True, False)
    fund = _fund("LA-TEST", "Lao test fund", "LA", Currency.LAK, pension,
                 _scheme("welfare", "Welfare", "2021-01", False))
    assert (fund.code, fund.name, fund.country, fund.currency) == (
        "LA-TEST", "Lao test fund", "LA", Currency.LAK)
    assert isinstance(fund.schemes, MappingProxyType) and list(fund.schemes) == [
        "pension", "welfare"]
    assert fund.schemes["pension"] is pension and fund.schemes["welfare"].starts == Month(2021, 1)
    assert not fund.schemes["welfare"].long_term
    assert fund == Fund(
        FundCode("LA-TEST"), "Lao test fund", "LA", Currency.LAK,
        MappingProxyType({"pension": pension, "welfare": fund.schemes["welfare"]}))


def test_unknown_funds_and_schemes_list_the_known_ones() -> None:
    e = refused(get_fund("JP-JPS").scheme, "kosei")
    assert (e.code, e.field, e.message) == (
        ErrorCode.UNKNOWN_SCHEME, "scheme", "fund JP-JPS has no scheme 'kosei'; known: epi, np")
    e = refused(get_fund, "XX-NONE")
    assert (e.code, e.field) == (ErrorCode.UNKNOWN_FUND, "fund")
    assert e.message == "unknown fund 'XX-NONE'; known: " + ", ".join(FUNDS)
    assert BUILT_IN_FUNDS == ("KH-NSSF", "MM-SSB", "VN-VSS", "TH-SSO", "JP-JPS")
    assert [get_fund(f).country for f in BUILT_IN_FUNDS] == ["KH", "MM", "VN", "TH", "JP"]


def test_an_adapter_can_add_a_fund_once_but_not_redefine_one() -> None:
    scheme = Scheme(SchemeCode("pension"), "Pension", Month(2020, 1), True)
    lao = Fund(FundCode("LA-TEST"), "Lao Social Security Organisation", "LA", Currency.LAK,
               MappingProxyType({"pension": scheme}))
    try:
        register_fund(lao)
        register_fund(lao)  # the same declaration twice is a no-op
        assert get_fund("LA-TEST") is lao and "LA-TEST" in FUNDS
        other = Fund(lao.code, "Other", "LA", Currency.LAK, lao.schemes)
        e = refused(register_fund, other)
        assert (e.code, e.field, e.message) == (
            ErrorCode.INVALID_INPUT, "fund", "fund LA-TEST is already defined differently")
        assert get_fund("LA-TEST") is lao
    finally:
        forget_fund("LA-TEST")
    assert "LA-TEST" not in FUNDS
    forget_fund("LA-TEST")  # forgetting twice is harmless


# -- money -----------------------------------------------------------------------------------------
def test_currencies_parse_strictly() -> None:
    assert Currency.parse(THB) is THB and Currency.parse("JPY") is JPY
    for bad in ("thb", "XYZ", None, 764):
        e = refused(Currency.parse, bad, "amount.currency")
        assert (e.code, e.field) == (ErrorCode.UNKNOWN_CURRENCY, "amount.currency")
        assert e.message == (f"unknown currency {bad!r}; expected one of "
                             "KHR, LAK, MMK, THB, VND, JPY, MYR, USD")
    assert refused(Currency.parse, "X").field == "currency"


@pytest.mark.parametrize(("mode", "up", "down", "tie_even", "tie_odd", "minus"), [
    (Rounding.HALF_UP, 2, 1, 3, 4, -2),
    (Rounding.HALF_EVEN, 2, 1, 2, 4, -2),
    (Rounding.DOWN, 1, 1, 2, 3, -1),
    (Rounding.UP, 2, 2, 3, 4, -2),
    (Rounding.FLOOR, 1, 1, 2, 3, -2),
    (Rounding.CEILING, 2, 2, 3, 4, -1),
])
def test_each_rounding_mode(mode: Rounding, up: int, down: int, tie_even: int, tie_odd: int,
                            minus: int) -> None:
    values = [Decimal("1.6"), Decimal("1.4"), Decimal("2.5"), Decimal("3.5"), Decimal("-1.5")]
    assert [round_to_int(v, mode) for v in values] == [up, down, tie_even, tie_odd, minus]


def test_rounding_holds_more_digits_than_decimals_default_context() -> None:
    # A 64-bit amount times a rate of 18 decimals has up to 37 digits; the default context keeps
    # 28 and would refuse to quantize such a number (InvalidOperation) instead of rounding it.
    wide = Decimal("1234567890123456789012345678901234.5")
    assert round_to_int(wide, Rounding.HALF_UP) == 1234567890123456789012345678901235
    assert round_to_int(Decimal("-1234567890123456789012345678901234.5"), Rounding.DOWN) == (
        -1234567890123456789012345678901234)


def test_money_holds_a_64_bit_integer_of_minor_units() -> None:
    assert Money(AMOUNT_MINOR_MAX, THB).amount_minor == AMOUNT_MINOR_MAX
    assert Money(-AMOUNT_MINOR_MAX, THB).amount_minor == -AMOUNT_MINOR_MAX
    for bad, kind in ((True, "bool"), (Decimal(1), "Decimal"), (1.0, "float")):
        e = refused(Money, bad, THB)
        assert (e.code, e.field, e.message) == (ErrorCode.INVALID_AMOUNT, "amount_minor",
                                                f"amount_minor must be an integer, got {kind}")
    for beyond in (AMOUNT_MINOR_MAX + 1, -AMOUNT_MINOR_MAX - 1):
        e = refused(Money, beyond, THB)
        assert (e.code, e.field, e.message) == (
            ErrorCode.INVALID_AMOUNT, "amount_minor", "amount_minor exceeds 64 bits")
    assert Money(5, "THB").currency is THB  # type: ignore[arg-type]
    assert Money.zero(JPY) == Money(0, JPY)


def test_major_units_round_once_with_the_named_mode() -> None:
    assert Money.of_major(7, JPY, Rounding.DOWN) == Money(7, JPY)
    assert Money.of_major("12.345", THB, Rounding.HALF_EVEN) == Money(1234, THB)
    assert Money.of_major(Decimal("-0.005"), USD, Rounding.HALF_UP) == Money(-1, USD)
    # 32 significant digits: rounding looks at all of them, not at 28.
    assert Money.of_major("1.0000000000000000000000000000001", THB, Rounding.UP) == Money(
        101, THB)
    e = refused(Money.of_major, 1.5, THB, Rounding.DOWN)
    assert (e.code, e.field, e.message) == (ErrorCode.INVALID_AMOUNT, "amount",
                                            "floats are not money")


def test_money_on_the_wire() -> None:
    assert Money(-123456, THB).to_wire() == {"amount_minor": "-123456", "currency": "THB"}
    assert Money.from_wire({"amount_minor": "5", "currency": "JPY"}) == Money(5, JPY)
    e = refused(Money.from_wire, "5 THB", "wage_base")
    assert (e.code, e.field, e.message) == (ErrorCode.INVALID_AMOUNT, "wage_base",
                                            "money must be an object")
    assert refused(Money.from_wire, "x").field == "amount"
    e = refused(Money.from_wire, {"amount_minor": "5", "currency": "EUR"}, "shares[0].amount")
    assert (e.code, e.field) == (ErrorCode.UNKNOWN_CURRENCY, "shares[0].amount.currency")
    e = refused(Money.from_wire, {"amount_minor": "5.0", "currency": "THB"}, "shares[0].amount")
    assert (e.code, e.field) == (ErrorCode.INVALID_AMOUNT, "shares[0].amount.amount_minor")
    assert refused(Money.from_wire, {"amount_minor": "x", "currency": "THB"}).field == (
        "amount.amount_minor")
    assert refused(Money.from_wire, {"amount_minor": "1"}).field == "amount.currency"


def test_money_reads_in_major_units() -> None:
    assert Money(123450, THB).to_major() == Decimal("1234.50")
    assert str(Money(123450, THB)) == "1234.50 THB"
    assert str(Money(-5, USD)) == "-0.05 USD"
    assert str(Money(1000, JPY)) == "1000 JPY"
    assert Money(10**20 // 10**2, VND).to_major() == Decimal(10**18)


def test_money_arithmetic_keeps_one_currency() -> None:
    a, b = Money(7, THB), Money(5, THB)
    assert (a + b, a - b, -a) == (Money(12, THB), Money(2, THB), Money(-7, THB))
    assert b < a and b <= a and a <= a and not a < b and not a <= b and not a < Money(7, THB)
    for op in ("__add__", "__sub__", "__lt__", "__le__"):
        e = refused(getattr(a, op), Money(1, JPY))
        assert (e.code, e.field, e.message) == (
            ErrorCode.CURRENCY_MISMATCH, None, "cannot combine THB and JPY")
    e = refused(a.__add__, Money(AMOUNT_MINOR_MAX, THB))
    assert e.message == "amount_minor exceeds 64 bits"


def test_rates_are_finite_decimals() -> None:
    # 1.00 THB at 4.37 JPY per THB = 4.37 JPY: the exponents shift, then the rate rounds once.
    assert Money(100, THB).convert(JPY, Decimal("4.37"), Rounding.DOWN) == Money(4, JPY)
    assert Money(437, JPY).convert(THB, Decimal("0.2288"), Rounding.HALF_UP) == Money(
        9999, THB)
    assert Money(3, THB).times(Decimal("0.5"), Rounding.CEILING) == Money(2, THB)
    e = refused(Money(1, THB).times, 2, Rounding.DOWN)
    assert (e.code, e.field, e.message) == (ErrorCode.INVALID_RATE, None,
                                            "rates are Decimal, got int")
    e = refused(Money(1, THB).convert, USD, Decimal("NaN"), Rounding.DOWN)
    assert (e.code, e.message) == (ErrorCode.INVALID_RATE, "rate must be finite")


def test_wire_amounts() -> None:
    assert parse_amount_minor(42) == 42 and parse_amount_minor("-42") == -42
    assert parse_amount_minor("0") == 0 and parse_amount_minor(str(AMOUNT_MINOR_MAX)) == (
        AMOUNT_MINOR_MAX)
    assert parse_amount_minor("-" + str(AMOUNT_MINOR_MAX)) == -AMOUNT_MINOR_MAX
    for bad in ("", "-", "--1", "1-", "+1", "٣", " 1", "1.0", "9" * 20):
        e = refused(parse_amount_minor, bad, "amount.amount_minor")
        assert (e.code, e.field, e.message) == (
            ErrorCode.INVALID_AMOUNT, "amount.amount_minor",
            f"amount_minor must be a string of digits in minor units, got {bad!r}")
    for bad, kind in ((True, "bool"), (None, "NoneType"), (1.0, "float")):
        e = refused(parse_amount_minor, bad)
        assert (e.field, e.message) == (
            "amount_minor", f"amount_minor must be a string of digits, got {kind}")
    for beyond in (str(AMOUNT_MINOR_MAX + 1), AMOUNT_MINOR_MAX + 1, -AMOUNT_MINOR_MAX - 1):
        e = refused(parse_amount_minor, beyond, "a")
        assert (e.field, e.message) == ("a", "amount_minor exceeds 64 bits")
