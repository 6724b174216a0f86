"""Experiments with bayes_mfg: the seed paper's grid, MFGLib parity and the real-data analyses.

Run each as ``python -m experiments.<name>`` from the repository root (``benchmarks/`` holds
the performance measurements only).
"""
