"""Payment channels: FX quotes, voluntary payments with signed receipts, reversals and refunds.

A channel (its principal acts only for itself) asks for a quote: the rate from its wallet
currency into a fund's currency, locked for the agreement's `quote_ttl_s`, with the price of a
payment if it names one. The payment names the quote (or takes the rate in force), the scheme,
the months, what the worker paid in the wallet currency and the contribution it buys at home.
The fund's own rule prices and checks it (`ledger/adapters/voluntary.py`, the one seam), the
channel's schedule adds the fee (`ledger/channels/pricing.py`), and one atomic job books the
legs (`ledger/channels/legs.py`), a contribution and a voluntary period per month, and the
payment's record with the receipt the hub signed (ADR 0037). Duplicate taps and retries are
answered from the idempotency key, or, under a new key, from the payment's record.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from ledger.adapters.voluntary import (
    OpenedScheme,
    VoluntaryPayer,
    VoluntaryQuote,
    price_voluntary_payment,
    quote_voluntary_payment,
)
from ledger.channels import legs
from ledger.channels.dayfile import check_ref
from ledger.channels.pricing import FxRate, Price, price
from ledger.channels.registry import Channel, ChannelRegistry
from ledger.db import channels_repo as repo
from ledger.db import portability_repo
from ledger.db.engine import Database
from ledger.domain.contributions import Contribution, default_contribution_id
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer, get_fund
from ledger.domain.ids import check_worker_id
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month, PeriodKind
from ledger.domain.principals import Principal
from ledger.services.group_commit import GroupCommitter
from ledger.services.posting import IdempotencyClaim, Job, Renderer, Unit, UnitResult, now_us
from ledger.services.signing import HubSigner
from ledger.services.workers import WorkerService
from ledger.settlement.agreement import Agreement, ChannelTerms

_QUOTE_CACHE_MAX = 100_000
_PRICES_CACHED = 4096
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Purchase:
    """What a worker buys: a scheme of a fund, the months (or contracts, or years) paid."""

    fund: object
    scheme: object
    months: Sequence[object]
    declared_income: Money | None = None
    support_group: str | None = None


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    currency: object  # the wallet currency
    fund: object
    worker_id: object | None = None  # with `purchase`: price a payment for this worker
    purchase: Purchase | None = None


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    channel_ref: object
    worker_id: object
    purchase: Purchase
    paid: Money  # wallet currency: principal and fee, as the worker was shown
    contribution: Money  # home currency: the worker's part at the fund
    quote_id: str | None = None


@dataclass(slots=True)
class PreparedPayment:
    payment_id: str
    job: Job
    row: dict[str, Any]
    receipt: str
    created: str  # the answer if the job books it: rendered before, not under the row locks


@dataclass(frozen=True, slots=True)
class _Checked:
    """A payment past the checks that need no membership (`ChannelService._check`)."""

    request: PaymentRequest
    ref: str
    worker: str
    fund: str
    scheme: str
    rate: FxRate


@dataclass(frozen=True, slots=True)
class _Quote:
    id: str
    channel: str
    rate: FxRate
    expires_at_us: int


class ChannelService:
    def __init__(self, db: Database, committer: GroupCommitter, workers: WorkerService,
                 signer: HubSigner, agreement: Agreement, registry: ChannelRegistry,
                 clock: Callable[[], int] = now_us) -> None:
        self.db = db
        self.committer = committer
        self.workers = workers
        self.signer = signer
        self.agreement = agreement
        self.registry = registry
        self.clock = clock  # µs since the epoch; tests move it
        self._quotes: dict[str, _Quote] = {}
        self._opened = tuple(agreement.opened_voluntary_schemes())

    @property
    def terms(self) -> ChannelTerms:
        return self.registry.terms

    # -- the registry ---------------------------------------------------------------------------
    def channel(self, principal: Principal, code: str, *, write: bool) -> Channel:
        channel = self.registry.get(code)
        allowed = (principal.can_act_for_channel(code) if write
                   else principal.can_read_channel(code))
        principal.require(allowed, f"{'act for' if write else 'read'} channel {code}")
        return channel

    def listing(self, principal: Principal) -> list[dict[str, Any]]:
        return [c.public(self.terms) for code, c in self.registry.channels.items()
                if principal.can_read_channel(code)]

    # -- quotes ---------------------------------------------------------------------------------
    async def quote(self, principal: Principal, code: str, request: QuoteRequest
                    ) -> dict[str, Any]:
        channel = self.channel(principal, code, write=True)
        wallet = channel.holds(Currency.parse(request.currency, "currency"), "currency")
        fund = get_fund(str(request.fund))
        now = self.clock()
        rate = await self._rate_in_force(wallet, fund.currency)
        quote = _Quote("qt_" + secrets.token_hex(10), code, rate,
                       now + self.terms.quote_ttl_s * 1_000_000)
        out: dict[str, Any] = {"quote_id": quote.id, "channel": code,
                               "expires_at": _iso(quote.expires_at_us), "rate": rate.wire(),
                               "fee_schedule": channel.fee_schedule(wallet, self.terms)}
        if request.purchase is not None:
            worker = check_worker_id(request.worker_id)
            voluntary = await self._voluntary(channel, worker, request.purchase, None, now)
            charged = price(voluntary.worker, rate, channel, self.terms)
            out.update(_purchase_view(voluntary, charged))
        await repo.insert_quote(self.db, {
            "id": quote.id, "channel": code, "wallet_currency": wallet.value,
            "home_currency": fund.currency.value, "rate": str(rate.rate),
            "rate_source": rate.source, "rounding": rate.rounding.value,
            "created_at_us": now, "expires_at_us": quote.expires_at_us})
        self._remember(quote)
        return out

    async def _rate_in_force(self, wallet: Currency, home: Currency) -> FxRate:
        """The reference rate wallet → home: direct if the hub set one, else crossed through
        the settlement currency (two reference rates, multiplied exactly)."""
        settings = self.agreement.settlement
        assert settings is not None  # an agreement with channels has settlement terms
        direct = await portability_repo.fx_rate(self.db, wallet.value, home.value)
        if direct is not None:
            value, source = Decimal(direct["rate"]), str(direct["source"])
        else:
            middle = settings.currency.value
            first = await _reference_rate(self.db, wallet.value, middle)
            second = await _reference_rate(self.db, middle, home.value)
            value = Decimal(first["rate"]) * Decimal(second["rate"])
            source = f"{first['source']} × {second['source']}"
        fx = self.terms.fx
        return FxRate(wallet, home, value, f"{fx.rate_source}: {source}", fx.rounding)

    def _remember(self, quote: _Quote) -> None:
        if len(self._quotes) >= _QUOTE_CACHE_MAX:
            self._quotes.clear()
        self._quotes[quote.id] = quote

    async def _locked(self, channel: Channel, quote_id: str, now: int) -> FxRate:
        quote = self._quotes.get(quote_id)
        if quote is None:
            row = await repo.quote(self.db, quote_id) if len(quote_id) <= 32 else None
            if row is not None:
                rate = FxRate(Currency(row["wallet_currency"]), Currency(row["home_currency"]),
                              Decimal(row["rate"]), row["rate_source"],
                              Rounding(row["rounding"]))
                quote = _Quote(row["id"], row["channel"], rate, row["expires_at_us"])
                self._remember(quote)
        if quote is None or quote.channel != channel.code:
            raise DomainError(ErrorCode.UNKNOWN_QUOTE,
                              f"channel {channel.code} has no quote {quote_id!r}",
                              field="quote_id")
        if now >= quote.expires_at_us:
            raise DomainError(ErrorCode.QUOTE_EXPIRED,
                              f"quote {quote_id} expired at {_iso(quote.expires_at_us)}; "
                              "ask for a new one", field="quote_id",
                              details={"expired_at": _iso(quote.expires_at_us)})
        return quote.rate

    # -- payments -------------------------------------------------------------------------------
    async def prepare(self, principal: Principal, code: str, request: PaymentRequest
                      ) -> PreparedPayment:
        """Check everything and build the job; nothing is booked yet. Raises DomainError."""
        (prepared,) = await self.prepare_many(principal, code, [request])
        if isinstance(prepared, DomainError):
            raise prepared
        return prepared

    async def prepare_many(self, principal: Principal, code: str,
                           requests: Sequence[PaymentRequest]
                           ) -> list[PreparedPayment | DomainError]:
        """Each payment checked and built as `prepare` does, in the same order of checks, with
        one membership lookup for them all: a payment that fails gets its error in its place,
        the others are unaffected. Nothing is booked yet. The channel itself is checked first
        and raises (the whole request is another channel's)."""
        channel = self.channel(principal, code, write=True)
        now = self.clock()
        checked: list[_Checked | DomainError] = []
        for request in requests:
            try:
                checked.append(await self._check(channel, request, now))
            except DomainError as exc:
                checked.append(exc)
        await self._require_members(checked)
        out: list[PreparedPayment | DomainError] = []
        for item in checked:
            try:
                out.append(item if isinstance(item, DomainError)
                           else await self._finish(channel, item, now))
            except DomainError as exc:
                out.append(exc)
        return out

    async def _check(self, channel: Channel, request: PaymentRequest, now: int) -> _Checked:
        """What needs no membership: the reference, the worker id, the amounts, the currencies,
        the rate (the quote's, or the one in force), the fund's scheme and the channel's right
        to collect for it."""
        ref = check_ref(request.channel_ref)
        worker = check_worker_id(request.worker_id)
        paid, contribution = request.paid, request.contribution
        _positive(paid, "paid")
        _positive(contribution, "contribution")
        wallet = channel.holds(paid.currency)
        fund = get_fund(str(request.purchase.fund))
        if contribution.currency is not fund.currency:
            raise DomainError(ErrorCode.CURRENCY_MISMATCH,
                              f"{request.purchase.fund} is paid in {fund.currency}, the "
                              f"contribution is in {contribution.currency}",
                              field="contribution.currency")
        rate = (await self._locked(channel, request.quote_id, now) if request.quote_id
                else await self._rate_in_force(wallet, fund.currency))
        if (rate.wallet, rate.home) != (wallet, fund.currency):
            raise DomainError(ErrorCode.CURRENCY_MISMATCH,
                              f"quote {request.quote_id} converts {rate.wallet} into "
                              f"{rate.home}, this payment {wallet} into {fund.currency}",
                              field="quote_id")
        scheme = fund.scheme(str(request.purchase.scheme)).code
        channel.may_collect(fund.code, scheme)
        return _Checked(request, ref, worker, fund.code, scheme, rate)

    async def _require_members(self, checked: list[_Checked | DomainError]) -> None:
        """One lookup for every payment still standing; one whose worker is not a member of
        the fund (or not registered at all) fails in its place."""
        standing = [(i, c) for i, c in enumerate(checked) if not isinstance(c, DomainError)]
        errors = await self._membership_errors([(c.worker, c.fund) for _, c in standing])
        for at, error in errors.items():
            checked[standing[at][0]] = error

    async def _membership_errors(self, pairs: Sequence[tuple[str, str]]
                                 ) -> dict[int, DomainError]:
        """Per index of (worker, fund) pairs that are not memberships: why (the worker is not
        registered, or is not a member there). Two queries at most, whatever the count."""
        missing = await self.workers.require_members(pairs)
        if not missing:
            return {}
        registered = await self.workers.existing({pairs[i][0] for i in missing})
        return {i: DomainError(ErrorCode.UNKNOWN_WORKER, f"no worker {pairs[i][0]}",
                               field="worker_id") if pairs[i][0] not in registered
                else DomainError(ErrorCode.WORKER_NOT_MEMBER,
                                 f"worker {pairs[i][0]} has no membership at {pairs[i][1]}",
                                 field="worker_id")
                for i in sorted(missing)}

    async def _finish(self, channel: Channel, item: _Checked, now: int) -> PreparedPayment:
        """The fund's rule prices the months, the channel's schedule adds its fee, and `paid`
        must be exactly that; then the job, the record and the signed receipt."""
        request = item.request
        voluntary = await self._priced_months(channel, item.worker, item.fund, item.scheme,
                                              request.purchase, request.contribution, now)
        charged = price(request.contribution, item.rate, channel, self.terms)
        charged.check_paid(request.paid)
        return self._build(channel, item.ref, item.worker, voluntary, charged, request.quote_id,
                           now)

    async def _voluntary(self, channel: Channel, worker: str, purchase: Purchase,
                         amount: Money | None, now: int) -> VoluntaryQuote:
        """The fund's own rule (the one seam to `ledger/adapters/voluntary.py`): what the
        months cost and cover; with `amount`, also that the payment carries exactly that."""
        fund = get_fund(str(purchase.fund))
        scheme = fund.scheme(str(purchase.scheme)).code
        channel.may_collect(fund.code, scheme)
        for error in (await self._membership_errors([(worker, fund.code)])).values():
            raise error
        return await self._priced_months(channel, worker, fund.code, scheme, purchase, amount,
                                         now)

    async def _priced_months(self, channel: Channel, worker: str, fund: str, scheme: str,
                             purchase: Purchase, amount: Money | None, now: int
                             ) -> VoluntaryQuote:
        months = [Month.parse(m, f"months[{i}]") for i, m in enumerate(purchase.months)]
        before = (await repo.supported_months(self.db, worker, fund, scheme)
                  if purchase.support_group else 0)
        payer = VoluntaryPayer(purchase.support_group, before)
        try:
            return _priced(fund, scheme, tuple(months), purchase.declared_income, amount,
                           channel.day_of(now), payer, self._opened)
        except DomainError as exc:
            if exc.field == "amount":  # the seam names the rule's amount: ours is the field
                raise DomainError(exc.code, exc.message, field="contribution.amount_minor",
                                  details=exc.details) from None
            raise

    def _build(self, channel: Channel, ref: str, worker: str, voluntary: VoluntaryQuote,
               charged: Price, quote_id: str | None, now: int) -> PreparedPayment:
        payment = legs.payment_id(channel.code, ref)
        contributions = _contributions(worker, voluntary)
        units = [Unit(legs.money_legs(payment, channel.code, voluntary.fund, charged.fee,
                                      charged.principal, charged.fx_difference))]
        units += [Unit(legs.unit_legs(payment, channel.code, c), c,
                       period=voluntary.insurance_periods) for c in contributions]
        day = channel.day_of(now).isoformat()
        body = _receipt_body(channel, ref, worker, voluntary, charged, quote_id, now, day)
        receipt = self.signer.sign_receipt(worker, body, now)
        months = [str(m) for m in voluntary.months]
        covered = [str(m) for m in voluntary.months_covered]
        row = {
            "id": payment, "channel": channel.code, "channel_ref": ref, "worker_id": worker,
            "fund": voluntary.fund, "scheme": voluntary.scheme, "quote_id": quote_id,
            "wallet_currency": charged.principal.currency.value,
            "paid_minor": charged.total.amount_minor, "fee_minor": charged.fee.amount_minor,
            "principal_minor": charged.principal.amount_minor,
            "home_currency": charged.contribution.currency.value,
            "contribution_minor": charged.contribution.amount_minor,
            "state_support_minor": voluntary.state_support.amount_minor,
            "fx_difference_minor": charged.fx_difference.amount_minor,
            "rate": str(charged.rate.rate), "rate_source": charged.rate.source,
            "rounding": charged.rate.rounding.value,
            "months": orjson.dumps(months).decode(),
            "months_covered": orjson.dumps(covered).decode(),
            "insurance_periods": int(voluntary.insurance_periods), "paid_at_us": now,
            "day": day, "receipt": receipt,
        }
        job = Job(units, atomic=True, rows=(("channel_payments", row),),
                  store_when_exists=False, whole=True)
        created = orjson.dumps({"status": "created", "payment": payment_view(row, None)})
        return PreparedPayment(payment, job, row, receipt, created.decode())

    async def post(self, prepared: PreparedPayment, claim: IdempotencyClaim | None,
                   render: Renderer | None) -> list[UnitResult]:
        prepared.job.claim, prepared.job.render = claim, render
        return await self.committer.submit(prepared.job)

    async def post_many(self, prepared: Sequence[PreparedPayment]) -> list[list[UnitResult]]:
        """Several payments booked together: one transaction for all of them (a payment's own
        units stay all or none), each answered by its own results."""
        return await self.committer.submit_all([p.job for p in prepared])

    async def stored_many(self, prepared: Sequence[PreparedPayment]) -> dict[str, dict[str, Any]]:
        """The records of payments found booked already (a retried batch), by payment id,
        with their reversal or refund if any: two queries, whatever the count."""
        ids = [p.payment_id for p in prepared]
        rows, events = await repo.payments(self.db, ids), await repo.events(self.db, ids)
        return {pid: payment_view(row, events.get(pid)) for pid, row in rows.items()}

    async def stored(self, principal: Principal, code: str, ref: str) -> dict[str, Any]:
        """A payment's record (what its receipt says) and its reversal or refund, if any."""
        self.channel(principal, code, write=False)
        row = await repo.payment(self.db, legs.payment_id(code, check_ref(ref, "channel_ref")))
        if row is None:
            raise DomainError(ErrorCode.UNKNOWN_PAYMENT, f"channel {code} has no payment {ref}",
                              field="channel_ref")
        event = await repo.event(self.db, row["id"])
        return payment_view(row, event)

    # -- reversal and refund --------------------------------------------------------------------
    async def undo(self, principal: Principal, code: str, ref: str, refund: bool, reason: str
                   ) -> dict[str, Any]:
        """Reverse (every leg, the fee too) or refund (all but the fee) a payment, at its
        locked amounts; its months are withdrawn. Repeating it changes nothing."""
        channel = self.channel(principal, code, write=True)
        row = await repo.payment(self.db, legs.payment_id(code, check_ref(ref, "channel_ref")))
        if row is None:
            raise DomainError(ErrorCode.UNKNOWN_PAYMENT, f"channel {code} has no payment {ref}",
                              field="channel_ref")
        originals = [r.spec for r in await repo.payment_legs(self.db, row["id"])]
        now = self.clock()
        kind = "refund" if refund else "reversal"
        event = {"payment_id": row["id"], "channel": code, "kind": kind,
                 "amount_minor": row["principal_minor"] if refund else row["paid_minor"],
                 "fee_minor": 0 if refund else row["fee_minor"],
                 "contribution_minor": row["contribution_minor"], "reason": reason,
                 "at_us": now, "day": channel.day_of(now).isoformat()}
        job = Job([Unit(legs.undo_legs(originals, refund))], atomic=True,
                  rows=(("channel_payment_events", event),))
        (result,) = await self.committer.submit(job)
        if result.error is not None:
            if result.error.code is ErrorCode.ALREADY_REVERSED:
                done = await repo.event(self.db, row["id"])
                how = "refunded" if done and done["kind"] == "refund" else "reversed"
                raise DomainError(ErrorCode.ALREADY_REVERSED, f"payment {ref} was already {how}",
                                  field="channel_ref")
            raise result.error
        await repo.withdraw_periods(self.db, payment_contribution_ids(row))
        return payment_view(row, await repo.event(self.db, row["id"]))


@functools.lru_cache(maxsize=_PRICES_CACHED)
def _priced(fund: str, scheme: str, months: tuple[Month, ...], declared: Money | None,
            amount: Money | None, paid_on: date, payer: VoluntaryPayer,
            opened: tuple[OpenedScheme, ...]) -> VoluntaryQuote:
    """The fund's rule for a payment, remembered: the same scheme, months, income and day are
    priced alike for every worker (the rules are pure and their parameters fixed at start)."""
    if amount is None:
        return quote_voluntary_payment(fund, scheme, months, declared, paid_on, payer=payer,
                                       opened=opened)
    return price_voluntary_payment(fund, scheme, months, declared, amount, paid_on,
                                   payer=payer, opened=opened)


async def _reference_rate(db: Database, base: str, quote: str) -> dict[str, Any]:
    row = await portability_repo.fx_rate(db, base, quote)
    if row is None:
        raise DomainError(ErrorCode.FX_RATE_MISSING,
                          f"no reference rate {base}/{quote}: PUT /v1/fx-rates/{base}/{quote}",
                          details={"base": base, "quote": quote})
    return row


# -- helpers --------------------------------------------------------------------------------------


def _positive(money: Money, field: str) -> None:
    if money.amount_minor <= 0:
        raise DomainError(ErrorCode.INVALID_AMOUNT, f"{field} must be positive",
                          field=f"{field}.amount_minor")


def _contributions(worker: str, voluntary: VoluntaryQuote) -> list[Contribution]:
    """One contribution per unit paid, with the shares this payment and the state bring (a
    sending firm's share, owed separately, is not part of it)."""
    out = []
    for quote in voluntary.contributions:
        shares = tuple((p, m) for p, m in quote.shares
                       if p is not Payer.EMPLOYER and m.amount_minor > 0)
        out.append(Contribution(
            default_contribution_id(worker, voluntary.fund, voluntary.scheme, quote.month),
            worker, voluntary.fund, voluntary.scheme, quote.month, PeriodKind.VOLUNTARY,
            quote.wage_base, shares))
    return out


def payment_contribution_ids(row: dict[str, Any]) -> list[str]:
    return [default_contribution_id(row["worker_id"], row["fund"], row["scheme"],
                                    Month.parse(m)) for m in json.loads(row["months"])]


@functools.lru_cache(maxsize=256)
def _iso(at_us: int) -> str:
    return (_EPOCH + timedelta(microseconds=at_us)).isoformat().replace("+00:00", "Z")


def _purchase_view(voluntary: VoluntaryQuote, charged: Price) -> dict[str, Any]:
    return {"price": charged.wire(),
            "state_support": voluntary.state_support.to_wire(),
            "months": [str(m) for m in voluntary.months],
            "months_covered": [str(m) for m in voluntary.months_covered],
            "insurance_periods": voluntary.insurance_periods}


def _receipt_body(channel: Channel, ref: str, worker: str, voluntary: VoluntaryQuote,
                  charged: Price, quote_id: str | None, now: int, day: str) -> dict[str, Any]:
    return {
        "payment_id": legs.payment_id(channel.code, ref), "channel": channel.code,
        "operator": channel.operator, "channel_ref": ref, "worker_id": worker,
        "fund": voluntary.fund, "scheme": voluntary.scheme, "paid_at": _iso(now),
        "day": day, "paid": charged.total.to_wire(),
        "principal": charged.principal.to_wire(), "fee": charged.fee.to_wire(),
        "contribution": charged.contribution.to_wire(),
        "state_support": voluntary.state_support.to_wire(),
        "rate": charged.rate.wire(), "quote_id": quote_id,
        "months": [str(m) for m in voluntary.months],
        "months_covered": [str(m) for m in voluntary.months_covered],
        "insurance_periods": voluntary.insurance_periods,
    }


def payment_view(row: dict[str, Any], event: dict[str, Any] | None) -> dict[str, Any]:
    wallet, home = Currency(row["wallet_currency"]), Currency(row["home_currency"])
    out: dict[str, Any] = {
        "payment_id": row["id"], "channel": row["channel"], "channel_ref": row["channel_ref"],
        "worker_id": row["worker_id"], "fund": row["fund"], "scheme": row["scheme"],
        "day": row["day"], "paid_at": _iso(row["paid_at_us"]),
        "paid": Money(row["paid_minor"], wallet).to_wire(),
        "fee": Money(row["fee_minor"], wallet).to_wire(),
        "principal": Money(row["principal_minor"], wallet).to_wire(),
        "contribution": Money(row["contribution_minor"], home).to_wire(),
        "state_support": Money(row["state_support_minor"], home).to_wire(),
        "fx_difference": Money(row["fx_difference_minor"], home).to_wire(),
        "rate": {"base": wallet.value, "quote": home.value, "rate": row["rate"],
                 "source": row["rate_source"], "rounding": row["rounding"]},
        "quote_id": row["quote_id"], "months": json.loads(row["months"]),
        "months_covered": json.loads(row["months_covered"]),
        "insurance_periods": bool(row["insurance_periods"]), "receipt": row["receipt"],
        "undone": None,
    }
    if event is not None:
        out["undone"] = {"kind": event["kind"], "at": _iso(event["at_us"]), "day": event["day"],
                         "amount": Money(event["amount_minor"], wallet).to_wire(),
                         "fee": Money(event["fee_minor"], wallet).to_wire(),
                         "contribution": Money(event["contribution_minor"], home).to_wire(),
                         "reason": event["reason"]}
    return out
