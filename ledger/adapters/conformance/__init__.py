"""The adapter conformance kit: checks any fund's declaration file against its adapter.

`checks.py` holds the checks as plain functions returning results (no pytest, no printing), so
the same checks run in the conformance test suite (`tests/adapters/conformance/`) and for a fund
integrator on their own file (`clmtv adapters check FUND FILE`, `cli.py`). `malformed.py` makes
broken copies of a good file and says whether each was refused on the right line; `dated.py`
re-dates a file across the fund's rule changes. Both need nothing but the adapter and its codec,
so a new fund folder gets them unchanged.
"""
