"""Benchmarks for bayes_mfg (run as ``python -m benchmarks.<name>``)."""
