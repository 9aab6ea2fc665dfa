"""Calibration of the no-agreement baseline to published figures (issue 23).

`files` reads the targets and the calibration scenario, `model` lives the baseline through the
published years in expected values, `fit` moves the free parameters with scipy's least_squares
and writes them back with provenance, `compare` sets simulated beside published, `cli` is
`clmtv calibrate`.
"""
