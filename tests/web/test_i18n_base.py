"""The web layer's base: choosing and remembering a language, the catalogues, calendars, money."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.web import formats, i18n
from tests.api.conftest import Api

ROOT = Path(__file__).resolve().parents[2]


def test_query_then_cookie_then_accept_language_then_english() -> None:
    assert i18n.choose("km", "th", "ja").code == "km"
    assert i18n.choose(None, "th", "ja").code == "th"
    assert i18n.choose("xx", None, "fr;q=0.9, vi-VN;q=0.8, ja;q=0.5").code == "vi"
    assert i18n.choose(None, None, "de, fr").code == "en"
    assert i18n.choose(None, "LO_la", None).code == "lo"
    assert i18n.from_accept_language("my;q=0") is None  # q=0 means "not this one"


def _template_messages() -> set[str]:
    found = set()
    method_map = [("ledger/web/**.py", "python"), ("ledger/web/templates/**.html", "jinja2")]
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("code", [lang.code for lang in i18n.LANGUAGES if lang.code != "en"])
def test_every_page_message_is_translated_and_the_draft_says_so(code: str) -> None:
    text = i18n.catalogue_path(code).read_text(encoding="utf-8")
    assert "drafted without a native speaker, for review" in text.splitlines()[1]
    catalogue = i18n.catalogue(code)
    untranslated = [m for m in _template_messages()
                    if not (catalogue.get(m) and catalogue.get(m).string)]
    assert untranslated == [], f"{code}: translate these (pybabel update, docs/web.md)"


def test_the_template_catalogue_is_current() -> None:
    pot = (ROOT / "ledger/web/locales/messages.pot").read_text(encoding="utf-8")
    from babel.messages.pofile import read_po
    listed = {m.id if isinstance(m.id, str) else m.id[0]
              for m in read_po(io.StringIO(pot)) if m.id}
    assert listed == _template_messages(), "run the extract command of docs/web.md"


def test_thai_dates_are_buddhist_era_and_japanese_carry_the_era_name() -> None:
    assert formats.day(date(2027, 3, 31), "th") == "31 มีนาคม พ.ศ. 2570"
    assert formats.day(date(2027, 3, 31), "ja") == "2027年3月31日（令和9年）"
    assert formats.japanese_era(date(2019, 4, 30)) == "平成31年"
    assert formats.japanese_era(date(2019, 5, 1)) == "令和元年"
    assert formats.month(Month(2024, 3), "th") == "มีนาคม 2567"
    assert formats.day(date(2027, 3, 31), "en") == "March 31, 2027"


def test_money_keeps_every_minor_unit_in_the_locale_convention() -> None:
    assert formats.money(Money(123450, Currency.THB), "th") == "฿1,234.50"
    assert formats.money(Money(1234567, Currency.JPY), "ja") == "￥1,234,567"
    assert formats.money(Money(1100000, Currency.VND), "vi") == "1.100.000\u00a0₫"
    # CLDR shows MMK without decimals; the ledger keeps pyas, and they are shown, not rounded.
    assert formats.money(Money(123456, Currency.MMK), "my").startswith("1,234.56")


pytestmark = pytest.mark.anyio


async def test_a_chosen_language_is_remembered_in_a_cookie(api: Api) -> None:
    first = await api.http.get("/web/?lang=km")
    assert first.status_code == 200
    assert '<html lang="km">' in first.text and "ការបង់ភាគទានរបស់អ្នក" in first.text
    assert first.cookies.get(i18n.LANGUAGE_COOKIE) == "km"
    again = await api.http.get("/web/")  # the client sends the cookie back
    assert '<html lang="km">' in again.text
    api.http.cookies.clear()
    browser = await api.http.get("/web/", headers={"Accept-Language": "ja,en;q=0.5"})
    assert browser.headers["content-language"] == "ja"
