"""Benchmarks of snaporacle (scripts run by hand; the mutants are importable for the tests)."""
