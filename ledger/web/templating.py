"""The Jinja environment every page renders with, and `render`, the one way a page answers.

Autoescaping is on for every template. Each render installs the request's language: `_()` and
`{% trans %}` read its catalogue, and the `day`, `month` and `money` filters its calendar and
currency conventions. `render` also remembers a language chosen with `?lang=` in a cookie.
Templates extend `base.html` (language chooser, fonts, print style); a page of another package
adds its own folder with `extra_template_dirs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ledger.domain.money import Money
from ledger.domain.periods import Month
from ledger.web import formats, i18n

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/web/static"


def environment(extra_template_dirs: Sequence[Path] = ()) -> Environment:
    loader = ChoiceLoader([FileSystemLoader(str(d)) for d in (*extra_template_dirs,
                                                              TEMPLATES_DIR)])
    env = Environment(loader=loader, autoescape=select_autoescape(default=True),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.globals["languages"] = i18n.LANGUAGES
    env.globals["static"] = STATIC_PREFIX
    return env


_DEFAULT_ENV = environment()


def request_language(request: Request) -> i18n.Language:
    return i18n.choose(request.query_params.get("lang"),
                       request.cookies.get(i18n.LANGUAGE_COOKIE),
                       request.headers.get("accept-language"))


def _with_lang(request: Request, code: str) -> str:
    """This page's address in another language (other query parameters kept)."""
    params = {**request.query_params, "lang": code}
    return f"{request.url.path}?{urlencode(sorted(params.items()))}"


def render(request: Request, template: str, context: Mapping[str, Any], *,
           status_code: int = 200, env: Environment | None = None) -> HTMLResponse:
    """The page in the request's language; `?lang=` is remembered for a year (cookie)."""
    env = env or _DEFAULT_ENV
    # Installing the language on the shared environment is safe: rendering below is synchronous,
    # so no other request's render runs between this line and the page being done.
    lang = request_language(request)
    locale = lang.babel_locale
    translations = i18n.translations(lang.code)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    page = env.get_template(template).render({
        **context,
        "lang": lang,
        "lang_url": lambda code: _with_lang(request, code),
        "day": lambda value: formats.day(value, locale) if isinstance(value, date) else "",
        "month": lambda value: formats.month(
            value if isinstance(value, Month) else Month.parse(value), locale),
        "money": lambda value: formats.money(value, locale) if isinstance(value, Money)
        else formats.wire_money(value, locale),
    })
    response = HTMLResponse(page, status_code=status_code)
    response.headers["content-language"] = lang.code
    chosen = i18n.language(request.query_params.get("lang"))
    if chosen is not None:
        response.set_cookie(i18n.LANGUAGE_COOKIE, chosen.code,
                            max_age=i18n.LANGUAGE_COOKIE_MAX_AGE_S, samesite="lax",
                            httponly=True, path="/")
    return response
