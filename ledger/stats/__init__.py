"""Monitoring statistics (issue 24): what the ledger says about coverage, per corridor and month.

`tables` defines every measure once (the ledger and the simulator both fill it), `privacy` turns
exact tables into differentially private ones with OpenDP (ADR 0052), `package` writes a release
as a Frictionless Data Package and checks one. Pure: no I/O beyond the files `package` is given.
"""
