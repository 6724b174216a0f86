"""The calibration summary of ``bayes-mfg calibrate``: one row per parameter, as CSV and Markdown."""

from __future__ import annotations

import csv
import pathlib
from typing import Any

import arviz_stats as azs
import numpy as np

from bayes_mfg._tables import markdown_table, text_table

__all__ = ["COLUMNS", "parameter_draws", "summarize", "write_summary"]

#: The summary's columns (failure counts follow).
COLUMNS = ("parameter", "statistic", "mean", "sd", "q3%", "q97%", "r_hat", "ess_bulk", "truth", "path_rmse")


def parameter_draws(tree: Any, name: str) -> tuple[np.ndarray, str]:
    """``(chain, draw)`` draws of a calibrated parameter and how they were obtained.

    The parameter's own posterior variable when there is one (a constant path), else the
    time- and trajectory-mean of its recorded path ``f"{name}_path"``.
    """
    post = tree["posterior"]
    if name in post:
        return np.asarray(post[name].values, dtype=float), "value"
    path = np.asarray(post[f"{name}_path"].values, dtype=float)  # chain, draw, trajectory, time_step
    return path.reshape(*path.shape[:2], -1).mean(-1), "time-mean of path"


def _truth_scalar(truth_paths: dict[str, np.ndarray] | None, name: str) -> float:
    if not truth_paths or name not in truth_paths:
        return float("nan")
    return float(np.mean(truth_paths[name]))


def summarize(tree: Any, names: Any, *, method: str, truth_paths: dict[str, np.ndarray] | None = None,
              failures: dict[str, int] | None = None) -> list[dict]:
    """One row per calibrated parameter: posterior mean, sd, 3%/97% quantiles, r_hat, ess_bulk, truth.

    ``r_hat`` (rank-normalised split R-hat) and ``ess_bulk`` come from arviz-stats, for NUTS
    with at least 2 chains (NaN otherwise); ``path_rmse`` compares the posterior-mean path
    with the truth when both are known.
    """
    post = tree["posterior"]
    diagnose = method == "nuts" and int(post.sizes.get("chain", 1)) >= 2
    rows = []
    for name in names:
        draws, what = parameter_draws(tree, name)
        flat = draws.reshape(-1)
        row = {
            "parameter": name,
            "statistic": what,
            "mean": float(np.mean(flat)),
            "sd": float(np.std(flat, ddof=1)) if flat.size > 1 else 0.0,
            "q3%": float(np.quantile(flat, 0.03)),
            "q97%": float(np.quantile(flat, 0.97)),
            "r_hat": float(azs.rhat(draws)) if diagnose else float("nan"),
            "ess_bulk": float(azs.ess(draws, method="bulk")) if diagnose else float("nan"),
            "truth": _truth_scalar(truth_paths, name),
            "path_rmse": float("nan"),
        }
        if truth_paths and name in truth_paths and f"{name}_path" in post:
            fitted = np.asarray(post[f"{name}_path"].values, dtype=float).mean(axis=(0, 1))
            tp = np.broadcast_to(np.asarray(truth_paths[name], dtype=float), fitted.shape)
            row["path_rmse"] = float(np.sqrt(np.mean((fitted - tp) ** 2)))
        row.update(failures or {})
        rows.append(row)
    return rows


NOTE = ("Intervals are the 3% and 97% posterior quantiles (a 94% central interval). r_hat and ess_bulk are "
        "reported for NUTS with at least 2 chains. For time-varying paths the row summarises the time mean of "
        "the path (trajectory-averaged) and path_rmse is the RMSE of the posterior-mean path against the truth.")


def write_summary(rows: list[dict], out: pathlib.Path, header: dict[str, Any]) -> str:
    """Write ``summary.csv`` and ``summary.md`` into ``out``; returns the table as plain text."""
    cols = list(COLUMNS) + [k for k in rows[0] if k not in COLUMNS]
    with open(out / "summary.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k) for k in cols})
    lines = ["# bayes-mfg calibration summary", ""]
    lines += [f"- **{k}**: {v}" for k, v in header.items()]
    lines += ["", markdown_table(rows, cols), "", NOTE, "", "![trajectories](trajectories.png)", "",
              "![path](path.png)", ""]
    (out / "summary.md").write_text("\n".join(lines))
    return text_table(rows, cols)
