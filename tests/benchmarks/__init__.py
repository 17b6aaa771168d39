"""Benchmarks for `make bench` (not part of `make test`). Each prints its numbers as ratios against a baseline
measured in the same run, and writes them as JSON under ``bench-out/``."""
