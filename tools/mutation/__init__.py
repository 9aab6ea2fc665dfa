"""Mutation testing of the core with mutmut: targets, runs, scores (docs/testing.md)."""
