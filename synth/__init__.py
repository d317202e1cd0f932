"""Synthetic court paper: its own package because the quick start, the tests and the benchmarks all generate pages with ground truth."""
