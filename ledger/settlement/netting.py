"""Multilateral netting of inter-fund obligations in one settlement currency, and FX into it.

Owns
- `net_obligations`: a window's obligations (payer fund index, payee fund index, amount in
  settlement-currency minor units; numpy arrays, a million rows is normal) -> `NettingResult`:
  the bilateral gross matrix, each fund's net position (exactly zero in sum), gross, bilateral and
  multilateral volumes, and how much of the flow offsets;
- `payments_via_hub` / `payments_greedy`: net positions -> the few settlement payments
  (pacs.009) that realise them, exactly;
- `convert_to_settlement`: amounts in a fund's currency -> the settlement currency at a Decimal
  rate with a named rounding, with the rounding residue returned so the ledger can post it to an
  FX account and every currency still balances.

Everything is int64 minor units; no float touches an amount. Sums are checked against overflow
before any accumulation (see `exact_sum`). Decisions: docs/adr/0013-multilateral-netting.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FundCode, get_fund
from ledger.domain.money import AMOUNT_MINOR_MAX, Currency, Money, Rounding
from ledger.settlement.keys import HUB
from ledger.settlement.rounding import Int64Array, round_ratio, round_ratio_array

_INT64_MAX = 2**63 - 1
_ROWS_MAX = 2**31 - 1  # `exact_sum` splits into 32-bit halves; this many rows keep each exact


@dataclass(frozen=True, slots=True, eq=False)
class NettingResult:
    """One window's obligations, netted. Arrays are read-only; index i is `funds[i]`."""

    funds: tuple[FundCode, ...]
    currency: Currency
    gross: Int64Array  # gross[payer, payee]: what payer owes payee before netting; zero diagonal
    net: Int64Array  # received - paid per fund: > 0 is owed money (creditor), < 0 owes (debtor)
    transfer_count: int
    gross_volume: int  # sum of all obligations
    bilateral_net_volume: int  # what would move if each pair of funds netted only between them
    net_volume: int  # what moves after multilateral netting: the sum of creditor positions

    @property
    def multilateral_saving(self) -> Fraction:
        """1 - net/gross: the share of gross flow multilateral netting removes."""
        return _one_minus(self.net_volume, self.gross_volume)

    @property
    def two_wayness(self) -> Fraction:
        """The share of gross flow offset by a flow the other way between the same two funds
        (1 - bilateral net/gross): how much is gained before going multilateral."""
        return _one_minus(self.bilateral_net_volume, self.gross_volume)

    def position(self, fund: str) -> Money:
        if fund not in self.funds:
            raise DomainError(ErrorCode.UNKNOWN_FUND, f"{fund} is not in this window", field="fund")
        return Money(int(self.net[self.funds.index(FundCode(fund))]), self.currency)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view (amounts as strings, as on the wire; ratios as fraction strings)."""
        return {
            "currency": self.currency.value,
            "transfer_count": self.transfer_count,
            "gross_volume_minor": str(self.gross_volume),
            "bilateral_net_volume_minor": str(self.bilateral_net_volume),
            "net_volume_minor": str(self.net_volume),
            "multilateral_saving": str(self.multilateral_saving),
            "multilateral_saving_pct": _percent(self.multilateral_saving),
            "two_wayness": str(self.two_wayness),
            "two_wayness_pct": _percent(self.two_wayness),
            "positions_minor": {f: str(int(v)) for f, v in zip(self.funds, self.net, strict=True)},
        }


def _one_minus(part: int, whole: int) -> Fraction:
    return Fraction(0) if whole == 0 else 1 - Fraction(part, whole)


def _percent(ratio: Fraction) -> str:
    """For people reading a report: two decimals, half-even (the exact ratio sits beside it)."""
    hundredths = round_ratio(ratio.numerator * 10_000, ratio.denominator, Rounding.HALF_EVEN)
    return str(Decimal(hundredths).scaleb(-2))


@dataclass(frozen=True, slots=True)
class SettlementPayment:
    """One money leg of settlement; `payer`/`payee` is a fund code or the hub."""

    payer: str
    payee: str
    amount: Money


# -- netting ------------------------------------------------------------------------------------


def net_obligations(
    payers: npt.ArrayLike,
    payees: npt.ArrayLike,
    amounts_minor: npt.ArrayLike,
    funds: Sequence[str],
    currency: Currency,
) -> NettingResult:
    """Net a window's obligations. Row k: fund `payers[k]` owes fund `payees[k]` the positive
    amount `amounts_minor[k]` (settlement-currency minor units). Vectorised; no loop per row."""
    codes = _fund_codes(funds)
    size = len(codes)
    payer, payee, amount = _validated(payers, payees, amounts_minor, size)
    gross_flat = np.zeros(size * size, dtype=np.int64)
    # Exact integer scatter-add. (np.bincount would sum in float64 and lose cents above 2**53.)
    np.add.at(gross_flat, payer * size + payee, amount)
    gross = gross_flat.reshape(size, size)
    net = gross.sum(axis=0) - gross.sum(axis=1)
    assert int(net.sum()) == 0  # by construction; a failure here is a bug, not bad input
    return NettingResult(
        funds=codes,
        currency=currency,
        gross=_read_only(gross),
        net=_read_only(net),
        transfer_count=int(amount.size),
        gross_volume=int(gross.sum()),
        bilateral_net_volume=int(np.abs(gross - gross.T).sum()) // 2,
        net_volume=int(net[net > 0].sum()),
    )


CHANNEL_PARTICIPANT = re.compile(r"^channel:[a-z0-9][a-z0-9-]{2,31}$")


def _fund_codes(funds: Sequence[str]) -> tuple[FundCode, ...]:
    """The participants: funds, and payment channels (`channel:<code>`, whose daily collections
    are obligations to funds, ADR 0037)."""
    codes = tuple(FundCode(f) if CHANNEL_PARTICIPANT.match(f) else get_fund(f, field="funds").code
                  for f in funds)
    if not codes or len(set(codes)) != len(codes):
        raise DomainError(
            ErrorCode.INVALID_INPUT, "funds must be distinct and not empty", field="funds"
        )
    return codes


def _validated(
    payers: npt.ArrayLike, payees: npt.ArrayLike, amounts: npt.ArrayLike, size: int
) -> tuple[Int64Array, Int64Array, Int64Array]:
    payer = _int64_column(payers, "payers")
    payee = _int64_column(payees, "payees")
    amount = _int64_column(amounts, "amounts_minor")
    if not payer.size == payee.size == amount.size:
        raise DomainError(ErrorCode.INVALID_INPUT, "payers, payees and amounts differ in length")
    if amount.size > _ROWS_MAX:
        raise DomainError(ErrorCode.BATCH_TOO_LARGE, f"more than {_ROWS_MAX} obligations")
    _first_bad((payer < 0) | (payer >= size), "payers", f"a payer index is outside 0..{size - 1}")
    _first_bad((payee < 0) | (payee >= size), "payees", f"a payee index is outside 0..{size - 1}")
    _first_bad(payer == payee, "payees", "a fund cannot owe itself")
    _first_bad(amount <= 0, "amounts_minor", "an obligation amount must be positive")
    if exact_sum(amount) > AMOUNT_MINOR_MAX:
        raise DomainError(ErrorCode.OVERFLOW, "the window's gross volume exceeds 64 bits")
    return payer, payee, amount


def _int64_column(values: npt.ArrayLike, field: str) -> Int64Array:
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"{field} must be a 1-D array of integers, got {array.ndim}-D {array.dtype}",
            field=field,
        )
    if array.dtype.kind == "u" and array.size and int(array.max()) > _INT64_MAX:
        raise DomainError(ErrorCode.OVERFLOW, f"{field} has values above int64", field=field)
    return array.astype(np.int64, copy=False)


def _first_bad(mask: npt.NDArray[np.bool_], field: str, message: str) -> None:
    bad = np.flatnonzero(mask)
    if bad.size:
        raise DomainError(ErrorCode.INVALID_INPUT, message, field=field, index=int(bad[0]))


def _read_only(array: Int64Array) -> Int64Array:
    array.setflags(write=False)
    return array


def exact_sum(values: Int64Array) -> int:
    """The exact sum of an int64 array as a Python int, whatever its size or sign.

    numpy's int64 sum wraps silently on overflow. Each value is split into a signed high half
    and an unsigned low 32-bit half; neither half-sum can overflow for fewer than 2**31 rows.
    """
    high = int((values >> 32).sum())
    low = int((values & 0xFFFFFFFF).sum())
    return (high << 32) + low


# -- settlement payments ------------------------------------------------------------------------


def payments_via_hub(result: NettingResult) -> tuple[SettlementPayment, ...]:
    """Each debtor pays the hub its position; the hub pays each creditor (hub nets to zero)."""
    pay_in = [
        SettlementPayment(fund, HUB, Money(-int(v), result.currency))
        for fund, v in zip(result.funds, result.net, strict=True)
        if v < 0
    ]
    pay_out = [
        SettlementPayment(HUB, fund, Money(int(v), result.currency))
        for fund, v in zip(result.funds, result.net, strict=True)
        if v > 0
    ]
    return (*pay_in, *pay_out)


def payments_greedy(result: NettingResult) -> tuple[SettlementPayment, ...]:
    """Direct fund-to-fund payments: the largest debtor pays the largest creditor, and so on.

    At most (debtors + creditors - 1) payments, each settling one side fully; deterministic
    (ties broken by fund order), so two runs over one window give the same instructions.
    """
    debtors, owes = _ranked(result, sign=-1)
    creditors, due = _ranked(result, sign=+1)
    payments: list[SettlementPayment] = []
    d = c = 0
    while d < len(debtors) and c < len(creditors):
        amount = min(owes[d], due[c])
        payments.append(SettlementPayment(debtors[d], creditors[c], Money(amount, result.currency)))
        owes[d] -= amount
        due[c] -= amount
        if owes[d] == 0:
            d += 1
        if due[c] == 0:
            c += 1
    return tuple(payments)


def _ranked(result: NettingResult, sign: int) -> tuple[list[FundCode], list[int]]:
    """One side of the book (debtors: sign -1), largest first, then in fund order."""
    signed = [(sign * int(v), index) for index, v in enumerate(result.net)]
    side = sorted(((a, i) for a, i in signed if a > 0), key=lambda item: (-item[0], item[1]))
    return [result.funds[i] for _, i in side], [a for a, _ in side]


# -- FX -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class FxConversion:
    """Amounts converted one by one, and the residue that keeps the target currency balanced.

    The ledger posts `source_total` into the FX account in the source currency and
    `target_total` out of it in the settlement currency; the items carry `converted`, and
    `residue` (= target_total - sum(converted), usually a few minor units either way) goes
    between the FX account and the FX rounding account. Each currency then sums to zero.
    """

    source: Currency
    target: Currency
    rate: Decimal  # units of target per one unit of source (major units), as Money.convert
    rounding: Rounding
    rate_source: str
    converted: Int64Array
    source_total: Money
    target_total: Money
    residue: Money


def convert_to_settlement(
    amounts_minor: npt.ArrayLike,
    source: Currency,
    target: Currency,
    rate: Decimal,
    rounding: Rounding,
    rate_source: str = "",
) -> FxConversion:
    """Convert each amount at `rate` with the named rounding; the total is converted once too."""
    amounts = _int64_column(amounts_minor, "amounts_minor")
    _first_bad(amounts < -AMOUNT_MINOR_MAX, "amounts_minor", "an amount is below -(2**63 - 1)")
    numerator, denominator = _scaled_rate(rate, source, target)
    source_total = exact_sum(amounts)
    converted = _convert_array(amounts, numerator, denominator, rounding)
    target_total = round_ratio(source_total * numerator, denominator, rounding)
    return FxConversion(
        source=source,
        target=target,
        rate=rate,
        rounding=rounding,
        rate_source=rate_source,
        converted=_read_only(converted),
        source_total=Money(source_total, source),
        target_total=Money(target_total, target),
        residue=Money(target_total - exact_sum(converted), target),
    )


def _scaled_rate(rate: Decimal, source: Currency, target: Currency) -> tuple[int, int]:
    """The rate as an exact ratio from source minor units to target minor units."""
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise DomainError(ErrorCode.INVALID_RATE, f"an FX rate is a positive Decimal, not {rate!r}")
    ratio = Fraction(rate) * Fraction(10) ** (target.exponent - source.exponent)
    return ratio.numerator, ratio.denominator


def _convert_array(
    amounts: Int64Array, numerator: int, denominator: int, rounding: Rounding
) -> Int64Array:
    largest = int(np.abs(amounts).max()) if amounts.size else 0
    if largest * numerator <= _INT64_MAX and denominator <= 2**62:
        return round_ratio_array(amounts * np.int64(numerator), denominator, rounding)
    # Products beyond int64 (huge amounts or a rate with many digits): exact Python ints.
    # Rare, so a loop per row is acceptable here; netting itself never takes this path.
    exact = [round_ratio(int(a) * numerator, denominator, rounding) for a in amounts.tolist()]
    if any(abs(v) > AMOUNT_MINOR_MAX for v in exact):
        raise DomainError(ErrorCode.OVERFLOW, "a converted amount exceeds 64 bits")
    return np.array(exact, dtype=np.int64)
