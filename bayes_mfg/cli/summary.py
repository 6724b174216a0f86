"""The calibration summary of ``bayes-mfg calibrate``: one row per parameter, as CSV and Markdown."""

from __future__ import annotations

import csv
import dataclasses
import math
import pathlib
from typing import Any

import arviz_stats as azs
import numpy as np

from bayes_mfg._tables import markdown_table, text_table
from bayes_mfg._tree import posterior_variables

__all__ = ["COLUMNS", "Diagnosis", "diagnose", "loss_plateau", "parameter_draws", "summarize", "write_summary"]

#: The summary's columns (failure counts follow).
COLUMNS = ("parameter", "statistic", "mean", "sd", "q3%", "q97%", "r_hat", "ess_bulk", "truth", "path_rmse")


def parameter_draws(tree: Any, name: str) -> tuple[np.ndarray, str]:
    """``(chain, draw)`` draws of a calibrated parameter and how they were obtained.

    The parameter's own posterior variable when there is one (a constant path), else the
    time- and trajectory-mean of its recorded path ``f"{name}_path"``.
    """
    post = posterior_variables(tree)
    if name in post:
        return np.asarray(post[name].values, dtype=float), "value"
    path = np.asarray(post[f"{name}_path"].values, dtype=float)  # chain, draw, [trajectory,] time_step, ...
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
    post = posterior_variables(tree)
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
            # a path shared by the trajectories has no trajectory axis: compare it with each one
            fitted, tp = np.broadcast_arrays(fitted, np.asarray(truth_paths[name], dtype=float))
            row["path_rmse"] = float(np.sqrt(np.mean((fitted - tp) ** 2)))
        row.update(failures or {})
        rows.append(row)
    return rows


#: Convergence thresholds of NUTS (the values Vehtari et al. 2021 recommend).
MAX_RHAT, MIN_ESS = 1.01, 400.0
#: A predictive coverage further than this from nominal is flagged.
COVERAGE_TOLERANCE = 0.10


#: The fewest steps in each window of :func:`loss_plateau` (fewer steps: no plateau can be told).
MIN_WINDOW = 50


def loss_plateau(losses: np.ndarray, window: float = 0.1) -> tuple[bool, float, float]:
    """Has an SVI loss stopped falling? ``(plateau, mean of the last window, of the one before)``.

    The last ``window`` share of the steps (at least :data:`MIN_WINDOW` steps) and the one
    before are compared: the loss has reached a plateau when their means differ by less than
    two standard errors of the difference (from the windows' own spread) or by less than
    0.1% of the loss. Fewer than ``2 * MIN_WINDOW`` steps or a non-finite loss: no plateau.
    """
    losses = np.asarray(losses, dtype=float)
    n = max(MIN_WINDOW, int(len(losses) * window))
    if len(losses) < 2 * n:
        return False, float("nan"), float("nan")
    last, prev = losses[-n:], losses[-2 * n:-n]
    if not (np.isfinite(last).all() and np.isfinite(prev).all()):
        return False, float(np.mean(last)), float(np.mean(prev))
    gap = abs(float(last.mean() - prev.mean()))
    se = math.sqrt(last.var(ddof=1) / n + prev.var(ddof=1) / n)
    return gap <= max(2 * se, 1e-3 * abs(float(last.mean()))), float(last.mean()), float(prev.mean())


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What the summary says about a fit: convergence, predictive coverage and failures.

    Attributes
    ----------
    converged
        NUTS: every calibrated parameter's ``r_hat < 1.01`` and ``ess_bulk > 400`` (None
        with one chain: not checkable); SVI: the loss reached a plateau (:func:`loss_plateau`).
    convergence
        The sentence stating it.
    coverage
        Share of the observed entries inside their central ``prob`` posterior predictive
        intervals (in sample).
    prob
        The intervals' nominal probability.
    failures
        The failure tally (divergences, failed solves, ...).
    warnings
        One line for each: not converged, coverage further than 10 points from nominal,
        any failure count above 0.
    """

    converged: bool | None
    convergence: str
    coverage: float
    prob: float
    failures: dict[str, int]
    warnings: tuple[str, ...]

    def header(self) -> dict[str, str]:
        """The summary's header lines."""
        tally = ", ".join(f"{k} {v}" for k, v in self.failures.items())
        return {"convergence": self.convergence,
                "predictive coverage": f"{self.coverage:.1%} of the observations inside their central "
                                       f"{self.prob:.0%} predictive intervals (in sample)",
                "failures": tally or "none counted"}


def diagnose(rows: list[dict], *, method: str, coverage: float, prob: float, failures: dict[str, int],
             losses: np.ndarray | None = None, n_chains: int = 1) -> Diagnosis:
    """The :class:`Diagnosis` of a fit summarised by ``rows`` (:func:`summarize`)."""
    warnings = []
    if method == "nuts":
        if n_chains < 2:
            converged, text = None, "not checked: R-hat needs at least 2 chains (--chains)"
            warnings.append("convergence not checked: run at least 2 chains")
        else:
            rhat = max(r["r_hat"] for r in rows)
            ess = min(r["ess_bulk"] for r in rows)
            converged = bool(rhat < MAX_RHAT and ess > MIN_ESS)
            text = (f"{'converged' if converged else 'NOT converged'}: max r_hat {rhat:.3f} "
                    f"(< {MAX_RHAT} wanted), min ess_bulk {ess:.0f} (> {MIN_ESS:.0f} wanted)")
            if not converged:
                warnings.append(f"NUTS has not converged (max r_hat {rhat:.3f}, min ess_bulk {ess:.0f}): "
                                "raise --warmup and --samples")
    else:
        losses = np.asarray(losses if losses is not None else [], dtype=float)
        converged, last, prev = loss_plateau(losses)
        text = (f"NOT converged: {len(losses)} SVI steps are too few to tell a plateau (at least {2 * MIN_WINDOW})"
                if len(losses) < 2 * MIN_WINDOW else
                f"{'converged' if converged else 'NOT converged'}: the SVI loss "
                f"{'reached a plateau' if converged else 'still moves'} (mean {last:.6g} over the last 10% "
                f"of the steps, {prev:.6g} over the 10% before)")
        if not converged:
            warnings.append("the SVI loss has not reached a plateau: raise --svi-steps (or try --method nuts)")
    if not math.isfinite(coverage) or abs(coverage - prob) > COVERAGE_TOLERANCE:
        warnings.append(f"predictive coverage {coverage:.1%} is more than {COVERAGE_TOLERANCE:.0%} from the nominal "
                        f"{prob:.0%}: the observation model or the game does not describe these data well")
    bad = {k: v for k, v in failures.items() if v > 0}
    if bad:
        warnings.append(f"failures were counted: {bad} (see the summary)")
    return Diagnosis(converged, text, float(coverage), prob, dict(failures), tuple(warnings))


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
