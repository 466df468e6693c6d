"""Benchmarks of kubo_sot (``python -m benchmarks``): ratios against baselines run in the
same process, written to a JSON file for comparison across commits."""
