"""parameters.yaml: the schema rejects bad files naming the key; dated lookups; the registry."""

from __future__ import annotations

import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.adapters import registry
from ledger.adapters.base import WorkerContext
from ledger.adapters.parameters import Parameters, param, parse_parameters
from ledger.adapters.th_sso.params import ALL as TH_PARAMS
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS, Payer, forget_fund
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month

CEILING = param("ceiling", "currency", Decimal)
RATES = param("rates", "percent", dict[Payer, Decimal])
SPECS = (CEILING, RATES)

GOOD = """\
fund: XX-TEST
currency: THB
parameters:
  ceiling:
    unit: THB
    description: A ceiling.
    values:
      - {from: "2020-01", value: 15000, source: "a law", verified: true}
      - {from: "2026-01", value: 17500.50, source: "a later law", verified: true}
  rates:
    unit: percent
    description: Rates.
    values:
      - from: "2020-01"
        value: {employee: 5, employer: 5.25}
        source: "placeholder"
        verified: false
        note: "not confirmed"
"""


def parse(text: str) -> Parameters:
    return parse_parameters(text, SPECS, fund="XX-TEST")


def rejects(text: str) -> DomainError:
    with pytest.raises(DomainError) as err:
        parse(text)
    assert err.value.code is ErrorCode.INVALID_PARAMETERS
    return err.value


def test_value_in_force_at_a_month() -> None:
    params = parse(GOOD)
    assert params.at(CEILING, Month(2025, 12)) == Decimal("15000")
    assert params.at(CEILING, Month(2026, 1)) == Decimal("17500.50")  # exact, never a float
    assert params.at(RATES, Month(2030, 1)) == {Payer.EMPLOYEE: 5, Payer.EMPLOYER: Decimal("5.25")}
    with pytest.raises(DomainError) as err:
        params.at(CEILING, Month(2019, 12))
    assert err.value.code is ErrorCode.PARAMETER_NOT_IN_FORCE and err.value.field == "ceiling"
    assert [(e.key, e.note) for e in params.unverified()] == [("rates", "not confirmed")]


@pytest.mark.parametrize(("broken", "where"), [
    # a required key missing from a dated value
    (GOOD.replace('source: "a later law", ', ""), "parameters.ceiling.values[1].source"),
    # a value of the wrong type
    (GOOD.replace("value: 15000", "value: lots"), "parameters.ceiling.values[0].value"),
    # an unknown payer in a rate table
    (GOOD.replace("employee: 5,", "worker: 5,"), "parameters.rates.values[0].value.worker"),
    # the wrong unit
    (GOOD.replace("unit: percent", "unit: ratio"), "parameters.rates.unit"),
    # more precision than the currency has (satang)
    (GOOD.replace("17500.50", "17500.505"), "parameters.ceiling.values[1].value"),
    # months out of order
    (GOOD.replace('"2026-01"', '"2019-01"'), "parameters.ceiling.values"),
    # a month that is not YYYY-MM
    (GOOD.replace('"2026-01"', '"2026-13"'), "parameters.ceiling.values[1].from"),
    # unverified without a note
    (GOOD.replace('        note: "not confirmed"\n', ""), "parameters.rates.values"),
    # a parameter the rules do not read
    (GOOD + "  extra:\n    unit: ratio\n    description: x\n    values: []\n",
     "parameters.extra"),
    # a parameter the rules read, missing
    (GOOD[: GOOD.index("  rates:")], "parameters.rates"),
    # a duplicated key (YAML would silently keep the last one)
    (GOOD.replace("    unit: THB\n", "    unit: THB\n    unit: THB\n"), "yaml"),
    # another fund's file
    (GOOD.replace("XX-TEST", "YY-TEST"), "fund"),
])
def test_malformed_file_is_rejected_naming_the_key(broken: str, where: str) -> None:
    error = rejects(broken)
    assert error.field == where
    assert where in error.message


def test_message_reads_well() -> None:
    error = rejects(GOOD.replace('source: "a later law", ', ""))
    assert error.message == (
        "parameters.yaml: parameters.ceiling.values[1].source: Field required")


def test_every_fund_file_loads_and_every_unverified_value_says_why() -> None:
    registry.reload()
    adapters = registry.adapters()
    assert sorted(adapters) == ["JP-JPS", "KH-NSSF", "LA-LSSO", "MM-SSB", "MY-SOCSO", "TH-SSO",
                                "VN-VSS"]
    for code, adapter in adapters.items():
        assert adapter.parameters.unverified(), code  # every fund has open questions
        for entry in adapter.parameters.unverified():
            assert entry.note and len(entry.note) > 20, (code, entry.key)
        # The adapter's schemes and currency agree with the domain registry.
        assert adapter.currency is FUNDS[code].currency
        assert set(adapter.SCHEMES) <= set(FUNDS[code].schemes)


def test_a_broken_fund_file_is_rejected_naming_the_key() -> None:
    path = Path(registry.__file__).parent / "th_sso" / "parameters.yaml"
    text = path.read_text(encoding="utf-8")
    assert "value: 17500\n" in text
    broken = text.replace("value: 17500\n", "value: 17,500\n")
    with pytest.raises(DomainError) as err:
        parse_parameters(broken, TH_PARAMS, fund="TH-SSO")
    assert err.value.field == "parameters.s33_wage_ceiling.values[1].value"
    assert "s33_wage_ceiling" in err.value.message


def test_unknown_fund() -> None:
    with pytest.raises(DomainError) as err:
        registry.get_adapter("SG-CPF")
    assert err.value.code is ErrorCode.UNKNOWN_FUND


SIXTH_RULES = '''
from decimal import Decimal
from types import MappingProxyType

from ledger.adapters.base import FundAdapter, Plan, shares_from_percent
from ledger.adapters.parameters import param
from ledger.adapters.wagebase import Clamp
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding

RATES = param("rates", "percent", dict[Payer, Decimal])


class LaTestAdapter(FundAdapter):
    FUND_CODE = "LA-TEST"
    SCHEMES = ("social-security",)
    DECLARATION_SCHEMES = SCHEMES
    PARAMS = (RATES,)
    ID_KINDS = MappingProxyType({})
    MEMBER_ID_KINDS = ()

    def plan(self, scheme, month, context):
        return Plan(Clamp(0, None), shares_from_percent(self.parameters.at(RATES, month)),
                    Rounding.HALF_UP)


ADAPTER = LaTestAdapter
'''

SIXTH_PARAMETERS = """\
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
         note: "a test fixture, not a fact about any Lao fund"}
"""


def test_a_sixth_fund_needs_only_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "otherfunds"
    folder = package / "la_test"
    folder.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (folder / "__init__.py").write_text("")
    (folder / "rules.py").write_text(textwrap.dedent(SIXTH_RULES))
    (folder / "parameters.yaml").write_text(SIXTH_PARAMETERS)
    (package / "not_an_adapter").mkdir()
    (package / "not_an_adapter" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert registry.discover(package) == ("la_test",)
        adapter = registry.load_adapter("la_test", root=package, package="otherfunds")
        quote = adapter.contribution(WorkerContext(), "social-security", Month(2025, 1),
                                     Money(100_000_00, Currency.LAK))
        assert quote.shares_minor() == {Payer.EMPLOYEE: 550_000, Payer.EMPLOYER: 600_000}
    finally:
        forget_fund("LA-TEST")
        for name in [m for m in sys.modules if m.startswith("otherfunds")]:
            del sys.modules[name]
