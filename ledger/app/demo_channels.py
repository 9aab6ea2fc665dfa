"""The demo's payment channel: a Vietnamese worker in Thailand pays voluntary SI home through
the Mekong Wallet (channels/mekong-wallet-th.yaml) on one past day, and the wallet's day file
for it is reconciled, leaving the day's obligation to VN-VSS for the next settlement window.

The day is replayed with the channel service's clock set to it (the ledger's own timestamps are
the real time of seeding). The day file is `channels/samples/`'s, the file an integrator can
read. Seeding twice changes nothing: the payments exist and the file was received.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from ledger.channels.legs import payment_id
from ledger.composition import Services
from ledger.db import channels_repo
from ledger.demo_data import (
    DEMO_CHANNEL,
    DEMO_CHANNEL_DAY,
    DEMO_DECLARED_INCOME,
    DEMO_PAYMENT_REF,
    DEMO_REFUND_REF,
    DEMO_THIRD_VN_NUMBER,
    DEMO_THIRD_WORKER,
)
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.channels import PaymentRequest, Purchase, QuoteRequest
from ledger.services.workers import NewWorker

OPERATOR = Principal("demo-operator", PrincipalKind.HUB_OPERATOR)
WALLET = Principal("demo-channel", PrincipalKind.CHANNEL, DEMO_CHANNEL)
# Rates the demo's channels need beside the settlement demo's (illustrative, not published).
CHANNEL_RATES = [("MYR", "USD", "0.22"), ("USD", "LAK", "21500")]
SAMPLES = Path(__file__).resolve().parents[2] / "channels" / "samples"
DEMO_DAY_FILE = SAMPLES / f"{DEMO_CHANNEL}-{DEMO_CHANNEL_DAY}.csv"
# (channel reference, months paid, local time of day) of the demo day's payments.
PAYMENTS = [(DEMO_PAYMENT_REF, "2026-12", time(9, 30)), (DEMO_REFUND_REF, "2031-06", time(18, 5))]


async def seed_channels(svc: Services, say: Callable[[str], None]) -> None:
    for base, quote, rate in CHANNEL_RATES:
        await svc.portability.set_rate(OPERATOR, base, quote, rate, "demo reference rate")
    try:
        await svc.workers.create(OPERATOR, NewWorker(
            "VN", [("VN-VSS", DEMO_THIRD_VN_NUMBER)], "passport", "C1234567", DEMO_THIRD_WORKER))
    except DomainError as exc:
        if exc.code not in (ErrorCode.ID_CONFLICT, ErrorCode.MEMBERSHIP_EXISTS):
            raise
    channel = svc.channels.registry.get(DEMO_CHANNEL)
    day = date.fromisoformat(DEMO_CHANNEL_DAY)
    real_clock = svc.channels.clock
    try:
        for ref, month, at in PAYMENTS:
            local = datetime.combine(day, at, tzinfo=UTC) - channel.offset
            svc.channels.clock = lambda local=local: _us(local)  # type: ignore[misc]
            await _pay(svc, ref, month)
    finally:
        svc.channels.clock = real_clock
    report = await svc.channel_days.receive(OPERATOR, DEMO_CHANNEL, DEMO_CHANNEL_DAY,
                                            DEMO_DAY_FILE.read_bytes())
    if report["status"] != "reconciled":
        raise RuntimeError(f"demo day file does not reconcile: {report['discrepancies']}")
    say(f"  channel {DEMO_CHANNEL}: {len(PAYMENTS)} voluntary SI payments to VN-VSS on "
        f"{DEMO_CHANNEL_DAY}, day file reconciled, the net waits for the next window")


async def _pay(svc: Services, ref: str, month: str) -> None:
    if await channels_repo.payment(svc.db, payment_id(DEMO_CHANNEL, ref)) is not None:
        return
    income = Money(int(DEMO_DECLARED_INCOME), Currency.VND)
    purchase = Purchase("VN-VSS", "voluntary-si", [month], income)
    quote = await svc.channels.quote(WALLET, DEMO_CHANNEL, QuoteRequest(
        "THB", "VN-VSS", DEMO_THIRD_WORKER, purchase))
    price = quote["price"]
    prepared = await svc.channels.prepare(WALLET, DEMO_CHANNEL, PaymentRequest(
        ref, DEMO_THIRD_WORKER, purchase, Money.from_wire(price["total"]),
        Money.from_wire(price["contribution"]), quote["quote_id"]))
    results = await svc.channels.post(prepared, None, None)
    failed = [r.error for r in results if r.error is not None]
    if failed:
        raise RuntimeError(f"demo payment {ref} failed: {failed[0]}")


def _us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
