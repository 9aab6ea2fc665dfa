"""The web layer: pages people read in a browser, rendered on the server (Jinja2, no build step).

`i18n` (languages, gettext catalogues, the remembered choice), `formats` (dates in each locale's
calendar, money in each currency's convention) and `templating` (the Jinja environment and the
base template) are the reusable base; the statement, consent and verification pages are built on
it. Pages reach the ledger only through the service graph (`ledger.composition.Services`): the
same rules and the same access checks as the JSON API. ADR 0042.
"""
