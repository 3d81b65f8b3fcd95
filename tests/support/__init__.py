"""Helpers shared by the tests: real brokers and databases, started and stopped cleanly."""
