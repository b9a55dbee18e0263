"""Test doubles that ship with the package (used by tests, the demo and benchmarks)."""
