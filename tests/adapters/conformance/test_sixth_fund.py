"""The "Adding a fund" guide in docs/formats.md, done: a throwaway fund folder in a tmp dir (a
fictitious `LA-TEST` in kip: rules, parameters, a format naming a scheme per row, a sample) is
found by folder and passes the same conformance kit as the real funds, broken variants and dated
rule changes included.

The fund, its rates and its layout are a test fixture, not facts about the Lao LSSO (whose real
folder is `ledger/adapters/la_lsso/`).
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.adapters import registry
from ledger.adapters.base import FundAdapter
from ledger.adapters.conformance import checks, dated, malformed
from ledger.adapters.formats import Codec
from ledger.domain.funds import FUNDS, forget_fund, get_fund
from ledger.domain.periods import Month

PACKAGE = "sixthfunds"

RULES = '''
from decimal import Decimal
from types import MappingProxyType

from ledger.adapters.base import FundAdapter, Plan, shares_from_percent
from ledger.adapters.context import EMPTY
from ledger.adapters.idformat import permissive_member_number
from ledger.adapters.parameters import param
from ledger.adapters.wagebase import Clamp
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding

RATES = param("rates", "percent", dict[Payer, Decimal])


class LaTestAdapter(FundAdapter):
    FUND_CODE = "LA-TEST"
    SCHEMES = ("social-security",)
    DECLARATION_SCHEMES = SCHEMES
    PARAMS = (RATES,)
    ID_KINDS = MappingProxyType({"member": lambda v: permissive_member_number(
        v, "member", "LSSO member number")})
    MEMBER_ID_KINDS = ("member",)

    def plan(self, scheme, month, context):
        return Plan(Clamp(0, None), shares_from_percent(self.parameters.at(RATES, month)),
                    Rounding.HALF_UP)

    def context_from_fields(self, fields):
        # This format names the scheme on each row: one the fund does not have is refused.
        if fields.get("scheme") not in self.SCHEMES:
            raise DomainError(ErrorCode.UNKNOWN_SCHEME,
                              f"LA-TEST has no scheme {fields.get('scheme')!r}", field="scheme")
        return EMPTY


ADAPTER = LaTestAdapter
'''

PARAMETERS = """\
fund: LA-TEST
currency: LAK
fund_registry:
  name: A fictitious Lao fund
  country: LA
  schemes:
    - {code: social-security, name: Social security, starts: "2001-01", long_term: true,
       verified_start: false}
parameters:
  rates:
    unit: percent
    description: Illustration only, not Lao law.
    values:
      - {from: "2020-01", value: {employee: 5.5, employer: 6}, source: "test", verified: false,
         note: "a test fixture"}
      - {from: "2025-01", value: {employee: 6, employer: 6}, source: "test", verified: false,
         note: "a test fixture"}
"""

FORMAT = '''
"""A test layout: the CLMTV declaration CSV with a scheme per row."""
from ledger.adapters.csv_declaration import Layout, LayoutCodec
from ledger.domain.money import Currency

CODEC = LayoutCodec(Layout("LA-TEST", Currency.LAK, ("scheme",)), "lsso-csv")
'''

# 2,000,000 kip = 200,000,000 minor; 5.5% employee = 11,000,000, 6% employer = 12,000,000.
# 3,000,000 kip: 16,500,000 and 18,000,000.
SAMPLE = (
    b"HEADER,LA-TEST,EMP-9,000,2024-12,LAK,2,500000000,27500000,30000000\r\n"
    b"member_number,last_name,first_name,wage_minor,employee_minor,employer_minor,scheme\r\n"
    b"LSSO-001,Phommachanh,Souk,200000000,11000000,12000000,social-security\r\n"
    b"LSSO-002,Vongsa,Noy,300000000,16500000,18000000,social-security\r\n"
)


@pytest.fixture
def sixth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FundAdapter, Codec]]:
    root = tmp_path / PACKAGE
    folder = root / "la_test"
    (folder / "samples").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (folder / "__init__.py").write_text("")
    (folder / "rules.py").write_text(textwrap.dedent(RULES))
    (folder / "parameters.yaml").write_text(PARAMETERS)
    (folder / "format.py").write_text(textwrap.dedent(FORMAT))
    (folder / "samples" / "declaration-2024-12.csv").write_bytes(SAMPLE)
    monkeypatch.syspath_prepend(str(tmp_path))
    # The folder declares the fund itself (parameters.yaml `fund_registry:`): nothing outside
    # the folder is edited or patched.
    try:
        assert registry.discover(root) == ("la_test",)
        yield (registry.load_adapter("la_test", root, PACKAGE),
               registry.load_codec("la_test", root, PACKAGE))
    finally:
        forget_fund("LA-TEST")
        for name in [m for m in sys.modules if m.startswith(PACKAGE)]:
            del sys.modules[name]


def test_the_sixth_funds_sample_passes_every_check(sixth: tuple[FundAdapter, Codec]) -> None:
    adapter, codec = sixth
    result = checks.check_file(adapter, codec, SAMPLE.splitlines(keepends=True))
    assert result.passed, checks.describe(result, "sixth")
    assert result.rows == 2


def test_every_kind_of_broken_file_is_refused_for_the_sixth_fund(
    sixth: tuple[FundAdapter, Codec],
) -> None:
    adapter, codec = sixth
    made = malformed.variants(adapter, codec, SAMPLE)
    assert [v.kind for v in made if isinstance(v, malformed.NotApplicable)] == []
    for variant in made:
        assert isinstance(variant, malformed.Variant)
        assert malformed.verify(adapter, codec, variant) == [], variant.kind


def test_the_sixth_funds_dated_rate_change_is_followed(sixth: tuple[FundAdapter, Codec]) -> None:
    adapter, codec = sixth
    (change,) = dated.check_changes(adapter, codec, SAMPLE)
    # From 2025-01 the employee pays 6%: both rows' amounts move.
    assert (change.month, change.moved, change.problems) == (Month(2025, 1), {3, 4}, ())


def test_a_folder_without_a_codec_is_named(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "nocodec"
    (root / "la_test").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "la_test" / "__init__.py").write_text("")
    (root / "la_test" / "format.py").write_text("CODEC = object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(Exception, match="lacks name, parse, render"):
            registry.load_codec("la_test", root, "nocodec")
        (root / "la_test" / "format.py").unlink()
        with pytest.raises(Exception, match="no declaration format"):
            registry.load_codec("la_test", root, "nocodec")
    finally:
        for name in [m for m in sys.modules if m.startswith("nocodec")]:
            del sys.modules[name]


def test_the_folder_alone_declares_the_fund_to_the_ledger(
    sixth: tuple[FundAdapter, Codec],
) -> None:
    fund = get_fund("LA-TEST")
    assert (fund.country, fund.currency.value) == ("LA", "LAK")
    assert fund.scheme("social-security").long_term
    assert "LA-TEST" in FUNDS


def test_a_new_fund_without_a_registry_entry_is_refused_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ledger.domain.errors import DomainError

    root = tmp_path / "nofund"
    folder = root / "la_test"
    folder.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (folder / "__init__.py").write_text("")
    (folder / "rules.py").write_text(textwrap.dedent(RULES))
    text = PARAMETERS[:PARAMETERS.index("fund_registry:")] + PARAMETERS[
        PARAMETERS.index("parameters:"):]
    (folder / "parameters.yaml").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(DomainError, match="fund_registry"):
            registry.load_adapter("la_test", root, "nofund")
        assert "LA-TEST" not in FUNDS
    finally:
        for name in [m for m in sys.modules if m.startswith("nofund")]:
            del sys.modules[name]
