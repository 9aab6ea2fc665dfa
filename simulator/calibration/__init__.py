"""Calibration of the no-agreement baseline to published figures (issue 23).

`files` reads the targets and the calibration scenario and writes the fitted values, `model`
lives the baseline through the published years in expected values, `compare` sets simulated
beside published, `fit` moves the free parameters with scipy's least_squares, `writeback` puts
the fitted state and parameters into the scenario, `present` shows it all in the report and
docs/calibration.md, and `cli` is `clmtv calibrate`.
"""
