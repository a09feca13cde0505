"""Benchmarks: each compares the platform against a baseline measured in the same run."""
