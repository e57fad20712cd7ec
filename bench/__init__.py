"""Benchmarks: ratios against a baseline measured in one process (see `bench/run.py`)."""
