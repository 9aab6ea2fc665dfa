"""The web pages are served by the API's app: its fixture (one token per kind of principal)."""

from tests.api.conftest import api

__all__ = ["api"]
