"""The long fuzz run of the parsers with atheris (issue 16 item 5, ADR 0060): coverage-guided
byte mutation, by libFuzzer, of every fund's declaration parser and checks, the channels'
day-file parser and the inbox's message decoding. The suite's Hypothesis tests
(`tests/properties/test_parsers_fuzz.py`) cover the same targets in seconds; this runs for as
long as it is given (`python -m tools.fuzz`, docs/security.md)."""
