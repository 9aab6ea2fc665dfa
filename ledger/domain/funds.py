"""The registry of member funds and their schemes (branches), and the payer vocabulary.

One place names every fund code, its currency and its schemes with the month each came into force.
Adapters (`ledger/adapters/<fund>/`) own the *rules* of a scheme; this module only says what exists,
so the ledger can reject an unknown fund or scheme, or a month before a scheme existed.
Start months marked `verified=False` are assumptions (see `docs/reference/funds.md`), kept as
data so they can be corrected without code changes elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import NewType

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency
from ledger.domain.periods import Month

FundCode = NewType("FundCode", str)
SchemeCode = NewType("SchemeCode", str)


class Payer(StrEnum):
    """Who paid a share. Refund rules depend on it (e.g. Thai lump sum < 12 months: own share)."""

    EMPLOYEE = "employee"
    EMPLOYER = "employer"
    GOVERNMENT = "government"
    VOLUNTARY = "voluntary"  # self-paid by the worker outside an employment (s39/s40, VN voluntary)


@dataclass(frozen=True, slots=True)
class Scheme:
    code: SchemeCode
    name: str
    starts: Month  # first contribution month the scheme accepts
    long_term: bool  # old-age / long-term branch: the only kind worth making portable
    operating: bool = True
    verified_start: bool = True
    voluntary: bool = False  # the worker pays it directly (a payment channel may collect it)
    # Not operated by any product today, but an agreement may open it (`voluntary_schemes:` in
    # agreements/*.yaml): e.g. a Myanmar SSB scheme for workers abroad.
    agreement_option: bool = False

    def check_in_force(self, month: Month, field: str = "month", *, opened: bool = False) -> None:
        """Refuse a month the scheme does not accept. `opened`: an agreement in force opens
        this scheme (only an `agreement_option` scheme can be opened)."""
        if not self.operating and not (opened and self.agreement_option):
            raise DomainError(
                ErrorCode.SCHEME_NOT_IN_FORCE,
                f"scheme {self.code} is not operating"
                + ("; an agreement may open it" if self.agreement_option else ""),
                field=field,
            )
        if month < self.starts:
            raise DomainError(
                ErrorCode.SCHEME_NOT_IN_FORCE,
                f"scheme {self.code} accepts contributions from {self.starts}, not {month}",
                field=field,
            )


@dataclass(frozen=True, slots=True)
class Fund:
    code: FundCode
    name: str
    country: str  # ISO 3166-1 alpha-2
    currency: Currency
    schemes: MappingProxyType[str, Scheme]

    def scheme(self, code: str, field: str = "scheme") -> Scheme:
        found = self.schemes.get(code)
        if found is None:
            raise DomainError(
                ErrorCode.UNKNOWN_SCHEME,
                f"fund {self.code} has no scheme {code!r}; known: {', '.join(self.schemes)}",
                field=field,
            )
        return found


def _fund(code: str, name: str, country: str, currency: Currency, *schemes: Scheme) -> Fund:
    return Fund(
        FundCode(code), name, country, currency, MappingProxyType({s.code: s for s in schemes})
    )


def _scheme(code: str, name: str, starts: str, long_term: bool, **kw: bool) -> Scheme:
    return Scheme(SchemeCode(code), name, Month.parse(starts), long_term, **kw)


_REGISTRY: dict[str, Fund] = {
    f.code: f
    for f in (
        _fund(
            "KH-NSSF", "Cambodia National Social Security Fund", "KH", Currency.KHR,
            _scheme("occupational-risk", "Occupational risk", "2008-01", False,
                    verified_start=False),
            _scheme("health-care", "Health care", "2016-01", False, verified_start=False),
            # First pension contributions were due for October 2022 (Prakas 168/170).
            _scheme("pension", "Social Security Scheme on Pension", "2022-10", True),
            # Voluntary membership (Mercer, funds.md §1.1); its terms are unverified.
            _scheme("voluntary-pension", "Voluntary membership of the pension scheme", "2022-10",
                    True, verified_start=False, voluntary=True),
            _scheme("migrant-welfare", "Migrant welfare fund (none operates: agreement option)",
                    "2026-01", False, operating=False, agreement_option=True,
                    verified_start=False, voluntary=True),
        ),
        _fund(
            "MM-SSB", "Myanmar Social Security Board", "MM", Currency.MMK,
            # Social Security Law 2012 implemented from 1 April 2014.
            _scheme("health-social-care", "Health and social care", "2014-04", False),
            _scheme("employment-injury", "Employment injury", "2014-04", False),
            _scheme("old-age", "Invalidity, superannuation and survivors", "2014-04", True,
                    operating=False),
            # No operating product for workers abroad was found (funds.md §1.2, §5 item 5).
            _scheme("voluntary-abroad", "Voluntary insurance for workers abroad (agreement option)",
                    "2014-04", True, operating=False, agreement_option=True,
                    verified_start=False, voluntary=True),
            _scheme("migrant-welfare", "Migrant welfare fund (none operates: agreement option)",
                    "2026-01", False, operating=False, agreement_option=True,
                    verified_start=False, voluntary=True),
        ),
        _fund(
            "VN-VSS", "Vietnam Social Security", "VN", Currency.VND,
            _scheme("retirement-survivorship", "Retirement and survivorship", "1995-01", True,
                    verified_start=False),
            _scheme("sickness-maternity", "Sickness and maternity", "1995-01", False,
                    verified_start=False),
            _scheme("occupational-accident", "Occupational accident and disease", "2016-01",
                    False, verified_start=False),
            _scheme("health-insurance", "Health insurance (BHYT)", "1995-01", False,
                    verified_start=False),
            _scheme("unemployment", "Unemployment insurance (BHTN)", "2009-01", False,
                    verified_start=False),
            # Voluntary SI (BHXH tu nguyen) exists since the 2006 law (general knowledge); the
            # hub prices it from July 2025 (Law 41/2024, funds.md §1.3).
            _scheme("voluntary-si", "Voluntary social insurance (BHXH tu nguyen)", "2008-01",
                    True, verified_start=False, voluntary=True),
            # Law 69/2020 (in force 1 Jan 2022), Decision 40/2021/QD-TTg; run by the labour
            # ministry, booked under the Vietnamese home fund (funds.md §1.3).
            _scheme("migrant-welfare", "Overseas Employment Support Fund", "2022-01", False,
                    verified_start=False, voluntary=True),
        ),
        _fund(
            "TH-SSO", "Thailand Social Security Office", "TH", Currency.THB,
            _scheme("s33-sickness", "s33 sickness, maternity, invalidity, death", "1991-03",
                    False, verified_start=False),
            _scheme("s33-old-age", "s33 old age and child allowance", "1998-12", True,
                    verified_start=False),
            _scheme("s33-unemployment", "s33 unemployment", "2004-01", False,
                    verified_start=False),
            _scheme("s39-voluntary", "s39 voluntary continuation", "1994-01", True,
                    verified_start=False),
            _scheme("s40-informal", "s40 informal workers", "2011-05", True,
                    verified_start=False),
        ),
        _fund(
            "JP-JPS", "Japan Pension Service", "JP", Currency.JPY,
            _scheme("epi", "Employees' Pension Insurance", "1986-04", True,
                    verified_start=False),
            _scheme("np", "National Pension (category 1)", "1986-04", True,
                    verified_start=False),
        ),
    )
}

# Read-only view; a fund that is not built in joins through `register_fund` (its adapter folder
# declares it; the API loads every adapter at start), and every `FUNDS` importer sees it.
FUNDS: MappingProxyType[str, Fund] = MappingProxyType(_REGISTRY)
BUILT_IN_FUNDS: tuple[str, ...] = tuple(_REGISTRY)


def register_fund(fund: Fund) -> None:
    """Add a fund declared by an adapter folder (e.g. a sixth fund, Lao LSSO). A built-in fund
    cannot be redefined; declaring the same fund twice identically is a no-op."""
    known = _REGISTRY.get(fund.code)
    if known is not None and known != fund:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"fund {fund.code} is already defined differently",
            field="fund",
        )
    _REGISTRY[fund.code] = fund


def forget_fund(code: str) -> None:
    """Remove a registered fund (tests that load a throwaway adapter folder)."""
    _REGISTRY.pop(code, None)


def get_fund(code: str, field: str = "fund") -> Fund:
    found = FUNDS.get(code)
    if found is None:
        raise DomainError(
            ErrorCode.UNKNOWN_FUND,
            f"unknown fund {code!r}; known: {', '.join(FUNDS)}",
            field=field,
        )
    return found
