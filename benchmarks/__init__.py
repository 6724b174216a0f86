"""Performance benchmarks for bayes_mfg (run as ``python -m benchmarks`` or ``python -m benchmarks.<name>``)."""
