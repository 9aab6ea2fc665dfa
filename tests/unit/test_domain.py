"""Months, ids, the fund registry, identity-number protection, contribution validation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger.config import DEV_PII_ENCRYPTION_KEY
from ledger.domain.accounts import (
    AccountCode,
    AccountSpec,
    branch_pool_account,
    declarations_account,
    fund_collections_account,
    government_receivable_account,
    member_account,
    source_account,
)
from ledger.domain.contributions import (
    Contribution,
    ContributionInput,
    ShareOverride,
    ShareReason,
    plan_transfers,
    validate_contribution,
)
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import BUILT_IN_FUNDS, FUNDS, Payer, get_fund
from ledger.domain.ids import check_id
from ledger.domain.ledger import AccountFlags
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


def test_a_government_share_is_owed_by_the_government_receivable() -> None:
    """Guard: `source_account`'s payer test. The state's share is booked as owed by the state
    (government receivable, no flags); every other payer's share comes from the fund's
    collections (credits must not exceed debits)."""
    c = validate_contribution(ContributionInput(
        worker_id="wkr_abcd", fund="TH-SSO", scheme="s33-old-age", month="2026-01",
        wage_base=Money(1_500_000, Currency.THB),
        shares=[("government", Money(15_000, Currency.THB)),
                ("employee", Money(45_000, Currency.THB)),
                ("employer", Money(45_000, Currency.THB))]))
    debits = {t.id.rsplit("/", 1)[1]: t.debit for t in plan_transfers(c)}
    assert list(debits) == ["employee", "employer", "government"]  # payer order
    government = debits["government"]
    assert not isinstance(government, int)
    assert (government.key, government.code, int(government.flags)) == (
        "fund/TH-SSO/government/THB", AccountCode.GOVERNMENT_RECEIVABLE, 0)
    for payer in ("employee", "employer"):
        own = debits[payer]
        assert not isinstance(own, int)
        assert (own.key, own.code, own.flags) == (
            "fund/TH-SSO/collections/THB", AccountCode.FUND_COLLECTIONS,
            AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
    for payer in Payer:
        expected = "government" if payer is Payer.GOVERNMENT else "collections"
        assert source_account("JP-JPS", payer, Currency.JPY).key == f"fund/JP-JPS/{expected}/JPY"


def test_a_caller_named_contribution_id_is_kept() -> None:
    """Guard: `if raw.id is not None`. Two employers paying for one worker and month name their
    contributions; without the id both would be the business key and collide."""
    def named(cid: str | None) -> Contribution:
        return validate_contribution(ContributionInput(
            worker_id="wkr_abcd", fund="TH-SSO", scheme="s33-old-age", month="2026-01",
            wage_base=Money(900_000, Currency.THB),
            shares=[("employer", Money(27_000, Currency.THB))], id=cid))

    first, second, default = named("emp-a/2026-01"), named("emp-b/2026-01"), named(None)
    assert (first.id, second.id) == ("emp-a/2026-01", "emp-b/2026-01")
    assert default.id == "ctb:wkr_abcd:TH-SSO:s33-old-age:2026-01"
    assert [t.id for t in plan_transfers(first)] == ["emp-a/2026-01/employer"]
    assert {t.contribution_id for t in plan_transfers(second)} == {"emp-b/2026-01"}


@pytest.mark.parametrize(("make", "key", "code", "flags"), [
    (lambda: member_account("wkr_abcd", "JP-JPS", "epi", Currency.JPY),
     "member/wkr_abcd/JP-JPS/epi/JPY", AccountCode.MEMBER,
     AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
    (lambda: declarations_account("TH-SSO", Currency.THB), "fund/TH-SSO/declarations/THB",
     AccountCode.DECLARATIONS, AccountFlags.NONE),
    (lambda: branch_pool_account("TH-SSO", "s33-sickness", Currency.THB),
     "fund/TH-SSO/pool/s33-sickness/THB", AccountCode.BRANCH_POOL,
     AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
    (lambda: fund_collections_account("KH-NSSF", Currency.KHR), "fund/KH-NSSF/collections/KHR",
     AccountCode.FUND_COLLECTIONS, AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS),
    (lambda: government_receivable_account("KH-NSSF", Currency.KHR),
     "fund/KH-NSSF/government/KHR", AccountCode.GOVERNMENT_RECEIVABLE, AccountFlags.NONE),
])
def test_system_accounts_have_fixed_keys_codes_and_flags(
    make: Callable[[], AccountSpec], key: str, code: AccountCode, flags: AccountFlags,
) -> None:
    """A key found again by name must be the account first opened under it (ADR 0026)."""
    spec = make()
    assert (spec.key, spec.code, spec.flags) == (key, code, flags)
    parts = key.split("/")
    assert spec.fund == (parts[1] if parts[0] == "fund" else parts[2])
    assert spec.currency.value == key.rsplit("/", 1)[1]


def test_member_and_pool_accounts_keep_their_scheme_and_a_plain_account_is_its_own_shard() -> None:
    """The scheme is stored with the account (statements group by it), not only in its key; a
    spec that is no family (shards 0) is its own sub-account for every committer slot."""
    member = member_account("wkr_abcd", "JP-JPS", "epi", Currency.JPY)
    assert (member.fund, member.scheme, member.worker_id, member.shards) == (
        "JP-JPS", "epi", "wkr_abcd", 0)
    pool = branch_pool_account("TH-SSO", "s33-sickness", Currency.THB)
    assert (pool.fund, pool.scheme, pool.worker_id) == ("TH-SSO", "s33-sickness", None)
    assert member.shard(0) is member and member.shard(7) is member and pool.shard(3) is pool


def test_shares_and_overrides_are_stored_exactly() -> None:
    """What the store keeps and compares (issue 22 item 3, ADR 0048): each share's amount as a
    string by payer, and the overrides as compact JSON with sorted keys, or nothing at all."""
    c = validate_contribution(ContributionInput(
        worker_id="wkr_abcd", fund="TH-SSO", scheme="s33-old-age", month="2026-01",
        wage_base=Money(1_500_000, Currency.THB),
        shares=[("government", Money(15_050, Currency.THB)),
                ("employee", Money(45_000, Currency.THB)),
                ("employer", Money(47_000, Currency.THB))]))
    assert c.shares_minor() == {"employee": "45000", "employer": "47000", "government": "15050"}
    assert c.overrides_json() is None
    overridden = Contribution(**{**{f: getattr(c, f) for f in c.__slots__}, "overrides": (
        ShareOverride(Payer.GOVERNMENT, ShareReason.COURT_ORDER, 15_050),
        ShareOverride(Payer.EMPLOYER, ShareReason.ARREARS, 45_000))})
    assert overridden.overrides_json() == (
        '{"employer":{"reason":"arrears","rules_minor":"45000"},'
        '"government":{"reason":"court_order","rules_minor":"15050"}}')
