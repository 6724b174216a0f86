"""``python -m experiments.paper_grid --quick``: the seed paper's grid pipeline end to end (CI-sized).

Runs in a child process (a fresh JAX runtime, like a user's command line). Checks the table,
the per-cell JSON and the figures, that every fit finished without NaN, and that the
equilibria at the final parameters are solved to the library's tolerance.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # the whole pipeline in a child process (~4 min on 2 cores); its parts are unit-tested
def test_quick_grid_runs_end_to_end(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "experiments.paper_grid", "--quick", "--out", str(tmp_path)],
                          cwd=ROOT, env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert [r["key"] for r in results] == ["LQ-d3-constant-noise0", "LQ-d3-arc-noise0"]
    for r in results:
        numbers = [r["point"]["param_rmse"], r["point"]["traj_mse"], r["bayes"]["param_rmse"], r["bayes"]["coverage"],
                   r["baseline"]["traj_mse"], r["game_vs_baseline_mse_ratio"]]
        assert all(math.isfinite(x) for x in numbers), r
        assert r["point"]["residual"] <= 1e-10 and r["bayes"]["residual"] <= 1e-10
        assert r["bayes"]["identified"] in ("yes", "overconfident", "no", "not converged")
    # the constant truth is easy: the posterior pins it, and the game fits far better than no game
    constant = results[0]
    assert constant["bayes"]["param_rmse"] < 0.05 and constant["game_vs_baseline_mse_ratio"] < 0.1
    assert "| LQ-d3-arc-noise0 |" in (tmp_path / "table.md").read_text()
    assert (tmp_path / "paths_LQ.png").stat().st_size > 10_000
    assert len(list((tmp_path / "cells").glob("*.json"))) == 2
    # resumable: a second run reuses the finished cells
    again = subprocess.run([sys.executable, "-m", "experiments.paper_grid", "--quick", "--out", str(tmp_path)],
                           cwd=ROOT, env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stdout.count("done before") == 2


def test_truth_scale_is_per_parameter():
    """Band widths are relative to each parameter's own scale: its range, or its absolute
    value where it is constant (several constant parameters with different values once gave
    a zero scale, an infinite relative width)."""
    import numpy as np

    from experiments.paper_grid import truth_scale

    truth = np.zeros((2, 3, 3))
    truth[..., 0] = 0.5
    truth[..., 1] = np.arange(3.0)
    truth[..., 2] = -0.25
    np.testing.assert_array_equal(truth_scale(truth), [0.5, 2.0, 0.25])
