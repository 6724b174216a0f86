"""The result of :func:`bayes_mfg.identifiability`: verdicts, the report and its figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayes_mfg._tables import markdown_table

#: Contraction thresholds of the verdicts.
IDENTIFIED = 0.9
WEAKLY_IDENTIFIED = 0.5


def verdict(contraction: float) -> str:
    """'identified' (>= 0.9), 'weakly identified' (>= 0.5) or 'not identified'.

    >>> verdict(0.95), verdict(0.6), verdict(0.1), verdict(float("nan"))
    ('identified', 'weakly identified', 'not identified', 'unknown')
    """
    if not np.isfinite(contraction):
        return "unknown"
    if contraction >= IDENTIFIED:
        return "identified"
    if contraction >= WEAKLY_IDENTIFIED:
        return "weakly identified"
    return "not identified"


def combination(vector: np.ndarray, names: list[str], *, min_weight: float = 0.2, max_terms: int = 5) -> str:
    """A unit vector as a readable linear combination ("0.71 a - 0.70 b"), largest terms first,
    sign chosen so that the largest coefficient is positive.

    >>> combination(np.array([0.7, -0.7, 0.05]), ["a", "b", "c"])
    '0.71 a - 0.71 b'
    """
    v = np.asarray(vector, dtype=float)
    v = v / np.linalg.norm(v)
    order = np.argsort(-np.abs(v))
    if v[order[0]] < 0:
        v = -v
    terms = [i for i in order if abs(v[i]) >= min_weight][:max_terms] or [order[0]]
    out = ""
    for k, i in enumerate(terms):
        c = v[i]
        sign = "-" if c < 0 else ("+" if k else "")
        out += f" {sign} " if k else ("-" if c < 0 else "")
        out += f"{abs(c):.2f} {names[i]}"
    return out.strip()


@dataclass
class IdentifiabilityReport:
    """Result of :func:`identifiability`.

    Attributes
    ----------
    parameters
        One row per scalar parameter: ``mean, sd, hdi_3%, hdi_97%, prior_sd, contraction,
        r_hat, ess_bulk, verdict`` (contraction on the parameter's own scale).
    correlation
        Posterior correlation matrix (parameters x parameters).
    strong_pairs
        Rows ``(parameter_1, parameter_2, rho)`` with ``|rho| >= corr_threshold``.
    directions
        Eigen-directions of the Laplace precision, weakest first: ``precision`` (eigenvalue),
        ``posterior_sd``, ``prior_sd``, ``contraction``, ``verdict`` and ``combination``
        (the direction in words, in unconstrained coordinates). Empty when no Laplace
        approximation was computed.
    condition_number
        Largest over smallest eigenvalue of the Laplace precision (NaN without it).
    sensitivity
        ``arviz_stats.psense_summary`` table (prior and likelihood power-scaling
        sensitivity), or None when unavailable.
    statements
        The findings in words (one line each).

    Examples
    --------
    >>> rep = bm.identifiability(fit)  # doctest: +SKIP
    >>> rep.identified, rep.weak_directions, rep.plot_contraction()  # doctest: +SKIP
    """

    parameters: pd.DataFrame
    correlation: pd.DataFrame
    strong_pairs: pd.DataFrame
    directions: pd.DataFrame
    condition_number: float
    sensitivity: pd.DataFrame | None
    statements: list[str]
    posterior_draws: np.ndarray = field(repr=False, default=None)
    corr_threshold: float = 0.8

    # ------------------------------------------------------------------ queries
    def weak_directions(self) -> pd.DataFrame:
        """The directions whose verdict is not 'identified'."""
        d = self.directions
        return d[d["verdict"] != "identified"] if len(d) else d

    def identified(self) -> list[str]:
        """Parameters whose contraction is >= 0.9."""
        return list(self.parameters.index[self.parameters["verdict"] == "identified"])

    # ------------------------------------------------------------------ rendering
    def to_markdown(self) -> str:
        """The report as Markdown (tables and findings)."""
        out = ["## Identifiability", "", *[f"- {s}" for s in self.statements], "", "### Parameters", "",
               markdown_table(self.parameters)]
        if len(self.strong_pairs):
            out += ["", f"### Strongly correlated pairs (|rho| >= {self.corr_threshold})", "",
                    markdown_table(self.strong_pairs)]
        if len(self.directions):
            out += ["", f"### Laplace precision eigen-directions (condition number {self.condition_number:.3g})", "",
                    markdown_table(self.directions)]
        if self.sensitivity is not None:
            out += ["", "### Prior / likelihood sensitivity (power scaling)", "", markdown_table(self.sensitivity)]
        return "\n".join(out) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return self.to_markdown()

    # ------------------------------------------------------------------ figures
    def plot_contraction(self, ax: Any = None):
        """Bar chart of the contraction per parameter (0.5 and 0.9 marked); returns the Figure."""
        import matplotlib.pyplot as plt

        p = self.parameters
        if ax is None:
            fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(p) + 2), 3.2), constrained_layout=True)
        else:
            fig = ax.figure
        colors = {"identified": "tab:green", "weakly identified": "tab:orange", "not identified": "tab:red"}
        ax.bar(range(len(p)), p["contraction"].clip(lower=-0.05), color=[colors.get(v, "grey") for v in p["verdict"]])
        for y in (WEAKLY_IDENTIFIED, IDENTIFIED):
            ax.axhline(y, color="k", lw=0.8, ls=":")
        ax.set_xticks(range(len(p)), list(p.index), rotation=60, ha="right", fontsize=8)
        ax.set(ylabel="1 - var_post / var_prior", title="prior-to-posterior contraction", ylim=(-0.05, 1.05))
        return fig

    def plot_pairs(self, n: int = 4):
        """Scatter matrix of the posterior draws of the ``n`` least identified parameters."""
        import matplotlib.pyplot as plt

        p = self.parameters
        n = min(n, len(p))
        names = list(p.sort_values("contraction").index[:n])
        cols = [list(p.index).index(k) for k in names]
        x = self.posterior_draws[:, cols]
        fig, axes = plt.subplots(n, n, figsize=(2.3 * n, 2.3 * n), squeeze=False, constrained_layout=True)
        for i in range(n):
            for j in range(n):
                ax = axes[i, j]
                if i == j:
                    ax.hist(x[:, i], bins=30, color="tab:blue", alpha=0.7)
                elif i > j:
                    ax.plot(x[:, j], x[:, i], ".", ms=2, alpha=0.4)
                else:
                    ax.axis("off")
                    ax.text(0.5, 0.5, f"rho = {np.corrcoef(x[:, i], x[:, j])[0, 1]:.2f}", ha="center", va="center",
                            transform=ax.transAxes)
                if i == n - 1:
                    ax.set_xlabel(names[j], fontsize=8)
                if j == 0 and i > 0:
                    ax.set_ylabel(names[i], fontsize=8)
        fig.suptitle("least identified parameters (posterior draws)")
        return fig


__all__ = ["IdentifiabilityReport", "verdict", "combination", "IDENTIFIED", "WEAKLY_IDENTIFIED"]
