"""Dates, months and money as each language writes them.

Thai dates carry the Buddhist Era year (Gregorian + 543), the one Thai offices print; Japanese
dates carry the era name (令和) beside the Gregorian date, as Japanese forms ask for both. Babel's
CLDR data has neither calendar, so the year is computed here and the rest (month names, order)
comes from Babel. Money shows exactly the ledger's minor units (an integer and its currency's
exponent: nothing is rounded for display) with the locale's symbol and separators.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision

from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month

BUDDHIST_ERA_OFFSET = 543
# (first day, name) of the Japanese eras a living worker's dates fall in, newest first.
JAPANESE_ERAS: tuple[tuple[date, str], ...] = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
)


def japanese_era(day: date) -> str:
    """`令和9年` for 2027; the first year of an era is 元年 (`令和元年` for 2019 from 1 May)."""
    for start, name in JAPANESE_ERAS:
        if day >= start:
            year = day.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年"
    return ""  # before Shōwa: no worker of ours was born then, and Gregorian stands alone


def day(value: date, locale: str) -> str:
    """A date in the reader's calendar: long month names, the locale's order."""
    if locale == "th":
        day_and_month = format_date(value, "d MMMM", locale="th")
        return f"{day_and_month} พ.ศ. {value.year + BUDDHIST_ERA_OFFSET}"
    text = format_date(value, "long", locale=locale)
    if locale == "ja":
        return f"{text}（{japanese_era(value)}）"
    return text


def month(value: Month, locale: str) -> str:
    """A contribution month (`2024-03`) as the reader names it."""
    first = date(value.year, value.month, 1)
    if locale == "th":
        return f"{format_date(first, 'LLLL', locale='th')} {value.year + BUDDHIST_ERA_OFFSET}"
    text = format_date(first, "yMMMM" if locale != "ja" else "y年M月", locale=locale)
    if locale == "ja":
        return f"{text}（{japanese_era(first)}）"
    return text


def money(value: Money, locale: str) -> str:
    """`฿1,234.50`, `￥12,000`, `1.100.000 ₫`: the exact amount, never rounded for display."""
    currency: Currency = value.currency
    amount = Decimal(value.amount_minor).scaleb(-currency.exponent)
    if get_currency_precision(currency.value) == currency.exponent:
        return format_currency(amount, currency.value, locale=locale)
    # The ledger keeps more (or fewer) digits than CLDR shows for this currency (MMK, LAK, KHR):
    # show every digit the ledger holds rather than round a balance a worker will compare.
    return format_currency(amount, currency.value, locale=locale, currency_digits=False,
                           decimal_quantization=False)


def wire_money(wire: dict[str, str], locale: str) -> str:
    """Money in its wire form (`{"amount_minor": "123", "currency": "THB"}`)."""
    return money(Money(int(wire["amount_minor"]), Currency(wire["currency"])), locale)
