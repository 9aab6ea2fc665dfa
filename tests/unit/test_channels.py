"""The pure parts of payment channels: the registry's checks, fees under the agreement's cap, the
price of a payment worked by hand, the channel's business day, day file parsing, and
reconciliation outcomes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledger.adapters.registry import adapters
from ledger.channels.dayfile import HEADER, DayEntry, EventKind, parse_day_file, render_day_file
from ledger.channels.pricing import FxRate, price
from ledger.channels.reconcile import Outcome, reconcile
from ledger.channels.registry import Channel, load_registry, parse_channel
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money, Rounding
from ledger.settlement.agreement import Agreement, bundled_agreement

THB, VND, JPY = Currency.THB, Currency.VND, Currency.JPY


@pytest.fixture(scope="module")
def agreement() -> Agreement:
    adapters()  # LA-LSSO is declared by its adapter folder
    return bundled_agreement("clmtv-2019-pilot")


def _channel(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "test-wallet", "operator": "Test", "status": "hypothetical", "country": "TH",
        "agreement": "clmtv-2019-pilot", "utc_offset": "+07:00", "wallet_currencies": ["THB"],
        "collects": [{"fund": "VN-VSS", "schemes": ["voluntary-si"]}],
        "fees": {"THB": {"rate": "0.01", "minimum_minor": 1000, "maximum_minor": 10000}},
        "source": "test"}
    data.update(overrides)
    return data


def test_the_shipped_registry_loads(agreement: Agreement) -> None:
    registry = load_registry(agreement)
    assert set(registry.channels) == {"mekong-wallet-th", "sakura-remit-jp", "selat-pay-my"}
    with pytest.raises(DomainError) as unknown:
        registry.get("nope")
    assert unknown.value.code is ErrorCode.UNKNOWN_CHANNEL


@pytest.mark.parametrize(("overrides", "field"), [
    ({"fees": {"THB": {"rate": "0.05"}}}, "fees.THB.rate"),  # above the agreement's 3% cap
    ({"fees": {"THB": {"rate": 0.01}}}, "fees.THB.rate"),  # a float, not a decimal string
    ({"fees": {"JPY": {"rate": "0.01"}}}, "fees"),  # a fee for a currency it does not hold
    ({"collects": [{"fund": "VN-VSS", "schemes": ["retirement-survivorship"]}]},
     "collects[0].schemes"),  # not a voluntary scheme
    ({"collects": [{"fund": "XX-NONE", "schemes": ["x"]}]}, "collects[0].fund"),
    ({"utc_offset": "7"}, "utc_offset"),
    ({"agreement": "no-agreement"}, "agreement"),
    ({"fees": {"THB": {"rate": "0.01", "minimum_minor": 500, "maximum_minor": 100}}},
     "fees.THB.maximum_minor"),
    ({"nickname": "x"}, "nickname"),
])
def test_a_bad_channel_file_is_refused_naming_its_key(
    agreement: Agreement, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        parse_channel(_channel(**overrides), agreement, "test.yaml")
    assert refused.value.code is ErrorCode.INVALID_CHANNEL
    assert refused.value.field == field, refused.value.details


def test_the_fee_is_the_schedule_within_its_bounds_and_never_above_the_cap(
    agreement: Agreement
) -> None:
    channel = parse_channel(_channel(), agreement)
    terms = agreement.channels
    assert terms is not None

    def fee(satang: int) -> int:
        return channel.fee(Money(satang, THB), terms).amount_minor

    assert fee(157_143) == 1_571  # 1% of 1,571.43 THB, half up
    assert fee(50_000) == 1_000  # 1% would be 5 THB: the 10 THB minimum
    assert fee(2_000_000) == 10_000  # 1% would be 200 THB: the 100 THB maximum
    # 10 THB on 200 THB would be 5%: the agreement's 3% cap wins, rounded down (6 THB).
    assert fee(20_000) == 600
    assert fee(20_033) == 600  # 3% is 600.99 satang: down, never above the cap


def test_a_payment_priced_by_hand(agreement: Agreement) -> None:
    """1,100,000 VND at 700 VND a baht: 1,571.428… THB, rounded up to 157,143 satang; fee 1%
    = 1,571 satang; total 158,714; 157,143 satang buy 1,100,001 VND: 1 VND left over."""
    channel = parse_channel(_channel(), agreement)
    assert agreement.channels is not None
    rate = FxRate(THB, VND, Decimal("700"), "test", Rounding.UP)
    charged = price(Money(1_100_000, VND), rate, channel, agreement.channels)
    assert (charged.principal, charged.fee, charged.total, charged.fx_difference) == (
        Money(157_143, THB), Money(1_571, THB), Money(158_714, THB), Money(1, VND))
    charged.check_paid(Money(158_714, THB))
    with pytest.raises(DomainError) as wrong:
        charged.check_paid(Money(158_713, THB))
    assert wrong.value.details == {"expected": {"amount_minor": "158714", "currency": "THB"}}
    # JPY has no minor unit and VND none either: 1,100,000 VND at 167.5 VND a yen.
    yen = FxRate(JPY, VND, Decimal("167.5"), "test", Rounding.UP)
    assert yen.principal_for(Money(1_100_000, VND)) == Money(6_568, JPY)  # 6,567.16… up
    assert yen.fx_difference(Money(6_568, JPY), Money(1_100_000, VND)) == Money(140, VND)
    with pytest.raises(DomainError) as zero:
        price(Money(0, VND), rate, channel, agreement.channels)
    assert zero.value.code is ErrorCode.INVALID_AMOUNT


def test_the_business_day_follows_the_channels_offset(agreement: Agreement) -> None:
    channel: Channel = parse_channel(_channel(), agreement)
    start, end = channel.day_bounds_us(date(2026, 12, 1))
    assert end - start == 86_400_000_000
    assert channel.day_of(start) == date(2026, 12, 1)
    assert channel.day_of(start - 1) == date(2026, 11, 30)  # 23:59:59.999999 in Bangkok
    assert channel.day_of(end - 1) == date(2026, 12, 1)
    assert start == 1_796_058_000_000_000  # 2026-11-30T17:00:00Z


def _entry(ref: str, kind: EventKind = EventKind.PAYMENT, paid: int = 158_714,
           fee: int = 1_571, contribution: int = 1_100_000, worker: str = "wkr_abcd") -> DayEntry:
    return DayEntry(ref, kind, worker, "VN-VSS", "voluntary-si", Money(paid, THB),
                    Money(fee, THB), Money(contribution, VND))


def test_a_day_file_round_trips_and_every_bad_line_is_named() -> None:
    entries = [_entry("a-1"), _entry("a-1", EventKind.REFUND, 157_143, 0)]
    text = render_day_file(entries)
    assert text.splitlines()[0] == ",".join(HEADER)
    assert [e.key for e in parse_day_file(text.encode())] == [e.key for e in entries]
    bad = text + "b-2,payment,wkr_abcd,VN-VSS,voluntary-si,0,THB,0,1,VND\n" \
        "c-3,pay,wkr_abcd,VN-VSS,voluntary-si,1,THB,0,1,VND\n" \
        "d-4,payment,wkr_abcd,VN-VSS,voluntary-si,1,XYZ,0,1,VND\n" \
        "e-5,payment,wkr_abcd,XX-NONE,voluntary-si,1,THB,0,1,VND\n" \
        "f 6,payment,wkr_abcd,VN-VSS,voluntary-si,1,THB,0,1,VND\n" \
        "g-7,payment,wkr_abcd,VN-VSS,voluntary-si,1,THB,-1,1,VND\n"
    with pytest.raises(DomainError) as refused:
        parse_day_file(bad.encode())
    assert refused.value.code is ErrorCode.DAY_FILE_REJECTED
    assert [(e["line"], e["field"]) for e in refused.value.details["errors"]] == [
        (4, "amount_minor"), (5, "kind"), (6, "currency"), (7, "fund"), (8, "channel_ref"),
        (9, "fee_minor")]
    with pytest.raises(DomainError) as encoding:
        parse_day_file(b"\xff\xfe")
    assert encoding.value.details["errors"][0]["field"] == "file"


def test_reconciliation_names_every_outcome() -> None:
    hub = [_entry("m"), _entry("a"), _entry("d"), _entry("h"),
           _entry("m", EventKind.REFUND, 157_143, 0)]
    file = [_entry("m"), _entry("a", paid=158_715), _entry("d", worker="wkr_other"),
            _entry("c"), _entry("m", EventKind.REFUND, 157_143, 0)]
    result = reconcile(file, hub)
    assert result.counts == {Outcome.MATCHED: 2, Outcome.AMOUNT_DIFFERS: 1,
                             Outcome.DETAILS_DIFFER: 1, Outcome.CHANNEL_ONLY: 1,
                             Outcome.HUB_ONLY: 1}
    outcomes = {d["channel_ref"]: d for d in result.discrepancies}
    assert outcomes["a"]["fields"] == {"amount": {
        "hub": {"amount_minor": "158714", "currency": "THB"},
        "channel": {"amount_minor": "158715", "currency": "THB"}}}
    assert set(outcomes["d"]["fields"]) == {"worker_id"}
    assert outcomes["h"]["outcome"] == "hub_only" and outcomes["c"]["outcome"] == "channel_only"
    # The net is the hub's: four payments less one refund.
    assert result.net_by_fund == {"VN-VSS": Money(3 * 1_100_000, VND)}
    assert not result.agrees and reconcile(hub, hub).agrees
