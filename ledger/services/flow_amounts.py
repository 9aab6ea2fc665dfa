"""What a flow moves: balances or a fund's lump-sum rule, and the reference rates to convert it.

Owns the amounts of an approval (the `FlowPlan` that `settlement/legs.py` turns into legs): a
transfer takes the portable payers' shares of the still-active months from the worker's member
account at the host fund (capped at what it holds); a lump sum applies the fund's
own rule (`get_adapter(fund).withdrawal`) to the worker's history there and drains the whole
member balance into the net payment, the withheld tax and what the fund retains; a tax refund
takes back the part of the withheld tax that is not due (`jp_jps/retirement_tax.py`).
Conversion uses the reference rates in force (`fx_rates`, set by the hub operator) and the
agreement's rounding, once per step.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.adapters.refunds import BenefitKind, Claim, History, MonthRecord, RefundResult
from ledger.adapters.registry import get_adapter
from ledger.db import portability_repo as repo
from ledger.db.engine import Database
from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer, get_fund
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month, PeriodState
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.posting import now_us
from ledger.settlement.agreement import Agreement
from ledger.settlement.legs import (
    Destination,
    Flow,
    FlowPlan,
    FxQuote,
    Use,
    clearing_account,
    retained_account,
    tax_withheld_account,
)

Sources = list[tuple[AccountSpec, int]]
_LumpSumPlan = tuple[Sources, list[Use], list[int], dict[str, str]]


class FlowAmounts:
    def __init__(self, db: Database, agreement: Agreement) -> None:
        self.db = db
        self.agreement = agreement

    # -- reference rates --------------------------------------------------------------------------
    async def set_rate(self, principal: Principal, base: str, quote: str, rate: str,
                       source: str) -> dict[str, Any]:
        principal.require(principal.kind is PrincipalKind.HUB_OPERATOR, "set reference rates")
        b, q = Currency.parse(base, "base"), Currency.parse(quote, "quote")
        if b is q:
            raise DomainError(ErrorCode.INVALID_INPUT, "base and quote must differ", field="quote")
        value = _rate(rate)
        if not source.strip():
            raise DomainError(ErrorCode.INVALID_INPUT, "name the rate's source", field="source")
        row = {"base": b.value, "quote": q.value, "rate": str(value), "source": source,
               "set_at_us": now_us()}
        await repo.save_fx_rate(self.db, row)
        return row

    async def rates(self) -> list[dict[str, Any]]:
        return await repo.all_fx_rates(self.db)

    async def quote(self, host: Currency, home: Currency) -> FxQuote:
        settings = self.agreement.settlement
        assert settings is not None  # a baseline never reaches approval
        to_s = await self.rate_between(host, settings.currency)
        from_s = await self.rate_between(settings.currency, home)
        return FxQuote(to_s, from_s, settings.fx.rounding, settings.fx.rate_source)

    async def rate_between(self, base: Currency, quote: Currency) -> Decimal:
        if base is quote:
            return Decimal(1)
        row = await repo.fx_rate(self.db, base.value, quote.value)
        if row is None:
            raise DomainError(ErrorCode.FX_RATE_MISSING,
                              f"no reference rate {base}/{quote}: PUT /v1/fx-rates/{base}/{quote}",
                              details={"base": base.value, "quote": quote.value})
        return Decimal(row["rate"])

    # -- amounts ------------------------------------------------------------------------------
    async def plan(self, row: dict[str, Any]) -> tuple[FlowPlan, list[int], dict[str, str]]:
        host, home = row["host_fund"], row["home_fund"]
        host_cur, home_cur = Currency(row["source_currency"]), Currency(row["target_currency"])
        clearing = clearing_account(host, home, host_cur)
        flow = Flow(row["flow"])
        if flow is Flow.TRANSFER:
            sources, months = await self._portable_balance(row)
            amount = sum(a for _, a in sources)
            uses = [Use("transfer", amount, clearing)]
            basis = {"portable_minor": str(amount)}
        elif flow is Flow.TAX_REFUND:
            detail = json.loads(row["detail"])
            # The refund is the withheld tax less the tax really due (jp_jps/retirement_tax.py);
            # a flow opened before that rule recorded only the withheld amount.
            amount = int(detail.get("refund_minor", detail.get("withheld_minor", 0)))
            sources = [(tax_withheld_account(host, host_cur), amount)]
            uses, months = [Use("tax-refund", amount, clearing)], []
            basis = {"refund_minor": str(amount)}
        else:
            sources, uses, months, basis = await self._lump_sum(row, clearing)
        travelling = Money(uses[0].amount_minor, host_cur)
        if travelling.amount_minor <= 0:
            raise DomainError(ErrorCode.NOTHING_TO_TRANSFER,
                              f"nothing to move from {host} {row['scheme']}")
        quote = await self.quote(host_cur, home_cur)
        settlement, target = quote.convert(travelling, Currency(row["settlement_currency"]),
                                           home_cur)
        basis.update({"rate_to_settlement": str(quote.to_settlement),
                      "rate_from_settlement": str(quote.from_settlement),
                      "rounding": quote.rounding.value, "rate_source": quote.source})
        plan = FlowPlan(row["id"], row["worker_id"], host, home, Destination(row["destination"]),
                        tuple(sources), tuple(uses), settlement, target)
        return plan, months, basis

    async def _portable_balance(self, row: dict[str, Any]
                                ) -> tuple[Sources, list[int]]:
        """The portable payers' shares of the months still active at the host fund, taken from
        the worker's one member account there (ADR 0026) and never more than it can give."""
        host, scheme = row["host_fund"], row["scheme"]
        portable = self.agreement.portable_scheme(host, scheme)
        assert portable is not None  # checked at request
        payers = {p.value for p in portable.portable_payers}
        rows, states = await repo.history_rows(self.db, row["worker_id"], host)
        active = PeriodState.ACTIVE.value
        months = sorted(m for (s, m), st in states.items() if s == scheme and st == active)
        owed = sum(int(amount) for r in rows
                   if r["scheme"] == scheme and states.get((scheme, r["month"])) == active
                   for payer, amount in json.loads(r["shares"]).items() if payer in payers)
        currency = row["source_currency"]
        sources = [(_spec_of(account), min(owed, _free(account)))
                   for account in await repo.member_accounts(self.db, row["worker_id"], host,
                                                             scheme)
                   if account["currency"] == currency]
        return sources, months

    async def _lump_sum(self, row: dict[str, Any], clearing: AccountSpec) -> _LumpSumPlan:
        host, scheme = row["host_fund"], row["scheme"]
        currency = Currency(row["source_currency"])
        result = await self.refund(row)
        withheld = result.withheld.amount_minor  # all of it to the tax account; some comes back
        refund = result.receivable.amount_minor
        net = result.paid_now.amount_minor
        sources = [(_spec_of(account), _free(account)) for account
                   in await repo.member_accounts(self.db, row["worker_id"], host, scheme)]
        balance = sum(a for _, a in sources)
        gross = result.gross.amount_minor
        uses = [Use("lump-sum", net, clearing)]
        if withheld:
            uses.append(Use("tax-withheld", withheld, tax_withheld_account(host, currency)))
        retained = retained_account(host, currency)
        if balance > gross:  # the rest of the paid-off balance stays with the fund
            uses.append(Use("retained", balance - gross, retained))
        elif gross > balance:  # the rule pays more than the member accounts hold
            sources.append((retained, gross - balance))
        basis = {**result.basis, "gross_minor": str(gross), "net_minor": str(net),
                 "withheld_minor": str(withheld), "refund_minor": str(refund),
                 "balance_minor": str(balance)}
        return sources, uses, sorted(m.to_int() for m in result.months), basis

    async def history(self, worker_id: str, fund_code: str) -> History:
        """The worker's record at one fund, as the funds' refund rules read it."""
        rows, states = await repo.history_rows(self.db, worker_id, fund_code)
        fund = get_fund(fund_code)
        records = tuple(
            MonthRecord(Month.from_int(r["month"]), r["scheme"], r["wage_base_minor"],
                        {Payer(p): int(a) for p, a in json.loads(r["shares"]).items()},
                        state=PeriodState(states.get((r["scheme"], r["month"]), "active")))
            for r in rows)
        return History(fund.code, fund.currency, records)

    async def portable_amount(self, worker_id: str, host_fund: str, scheme: str) -> int:
        """What a transfer would move now (minor units of the host fund's currency)."""
        row = {"worker_id": worker_id, "host_fund": host_fund, "scheme": scheme,
               "source_currency": get_fund(host_fund).currency.value}
        sources, _ = await self._portable_balance(row)
        return sum(amount for _, amount in sources)

    async def refund(self, row: dict[str, Any]) -> RefundResult:
        fund = get_fund(row["host_fund"])
        history = await self.history(row["worker_id"], fund.code)
        claim = _claim_of(json.loads(row["detail"])["claim"])
        results = get_adapter(fund.code).withdrawal(history, claim)
        for result in results:
            if result.scheme == row["scheme"] and result.kind is BenefitKind.PENSION:
                # Enough months for a pension (s33 and s39 together): paying a lump sum would
                # sell the worker's pension for one month of it.
                raise DomainError(ErrorCode.NOT_ELIGIBLE,
                                  f"{fund.code} {row['scheme']}: {result.basis.get('months')} "
                                  "months give a pension, not a lump sum",
                                  details={"kind": result.kind.value,
                                           "monthly": result.gross.to_wire()})
            if result.scheme == row["scheme"]:
                return result
        raise DomainError(ErrorCode.NOT_ELIGIBLE, f"{fund.code} pays no lump sum for "
                          f"{row['scheme']}", field="scheme")


def _free(account: dict[str, Any]) -> int:
    """What a member account can still give: posted credits less posted and pending debits."""
    return int(account["credits_posted"] - account["debits_posted"] - account["debits_pending"])


def _spec_of(account: dict[str, Any]) -> AccountSpec:
    return AccountSpec(account["key"], AccountCode(account["code"]),
                       Currency(account["currency"]), AccountFlags(account["flags"]),
                       account["fund"], account["scheme"], account["worker_id"],
                       Payer(account["payer"]) if account["payer"] else None)


def _rate(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise DomainError(ErrorCode.INVALID_RATE, f"not a decimal rate: {text!r}",
                          field="rate") from None
    if not value.is_finite() or value <= 0:
        raise DomainError(ErrorCode.INVALID_RATE, "a rate is a positive decimal", field="rate")
    return value


def _claim_of(data: dict[str, Any]) -> Claim:
    left = data.get("left_country_month")
    entitled = data.get("entitled_month")
    return Claim(claim_month=Month.parse(data["claim_month"]), age_years=data.get("age_years"),
                 left_country_month=Month.parse(left) if left else None,
                 entitled_month=Month.parse(entitled) if entitled else None,
                 insured_status_ended=True)
