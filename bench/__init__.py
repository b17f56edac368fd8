"""Benchmarks: figures printed as tables and JSON summaries with same-run ratios, never verdicts."""
