"""Languages of the web pages: which exist, which one a request gets, and their catalogues.

Translations live in gettext catalogues, `ledger/web/locales/<lang>/LC_MESSAGES/messages.po`, that
a translator edits without touching code; they are read as text at startup with Babel (no compiled
`.mo` to keep in step). The choice is, in order: `?lang=` (and then remembered in a cookie), the
cookie, the browser's Accept-Language, English.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT = "en"
LANGUAGE_COOKIE = "clmtv_lang"
LANGUAGE_COOKIE_MAX_AGE_S = 365 * 24 * 3600  # remembered for a year


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # BCP 47 / gettext code, also the catalogue's folder name
    native_name: str  # how the language names itself, for the chooser
    babel_locale: str  # the CLDR locale for dates and numbers


LANGUAGES: tuple[Language, ...] = (
    Language("en", "English", "en"),
    Language("km", "ខ្មែរ", "km"),
    Language("lo", "ລາວ", "lo"),
    Language("my", "မြန်မာ", "my"),
    Language("th", "ไทย", "th"),
    Language("vi", "Tiếng Việt", "vi"),
    Language("ja", "日本語", "ja"),
)
BY_CODE = {language.code: language for language in LANGUAGES}


def language(code: str | None) -> Language | None:
    """The language of `code` (case-insensitive, region ignored: `th-TH` is `th`), or None."""
    if not code:
        return None
    return BY_CODE.get(code.strip().lower().replace("_", "-").split("-")[0])


def from_accept_language(header: str | None) -> Language | None:
    """The first language of Accept-Language we have, by its q-values (RFC 9110 §12.5.4)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:32]):  # a bound on a client-sent list
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag))
    for negative_quality, _, tag in sorted(ranked):
        found = language(tag)
        if found is not None and negative_quality < 0:
            return found
    return None


def choose(query: str | None, cookie: str | None, accept_language: str | None) -> Language:
    return (language(query) or language(cookie) or from_accept_language(accept_language)
            or BY_CODE[DEFAULT])


def catalogue_path(code: str) -> Path:
    return LOCALES_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(code: str) -> Catalog:
    """The parsed `.po` of a language (English has none: its messages are the msgids)."""
    with catalogue_path(code).open("rb") as handle:
        return read_po(handle, locale=BY_CODE[code].babel_locale, domain=DOMAIN)


class CatalogueTranslations(gettext.NullTranslations):
    """gettext over a Babel catalogue: an untranslated or fuzzy message falls back to English,
    so a half-finished catalogue shows English words, never a blank."""

    def __init__(self, source: Catalog) -> None:
        super().__init__()
        self._singular: dict[str, str] = {}
        self._plural: dict[tuple[str, int], str] = {}
        self._plural_of = gettext.c2py(source.plural_expr)  # the header's Plural-Forms
        for message in source:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple):
                strings = message.string if isinstance(message.string, tuple) else ()
                for index, text in enumerate(strings):
                    if text:
                        self._plural[(message.id[0], index)] = text
            elif isinstance(message.id, str) and isinstance(message.string, str) and message.string:
                self._singular[message.id] = message.string

    def gettext(self, message: str) -> str:
        return self._singular.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        found = self._plural.get((msgid1, self._plural_of(n)))
        if found is not None:
            return found
        return msgid1 if n == 1 else msgid2

    def pgettext(self, context: str, message: str) -> str:
        return self.gettext(message)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        return self.ngettext(msgid1, msgid2, n)


@cache
def translations(code: str) -> gettext.NullTranslations:
    if code == DEFAULT:
        return gettext.NullTranslations()
    return CatalogueTranslations(catalogue(code))
