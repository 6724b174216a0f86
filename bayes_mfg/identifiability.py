"""Identifiability report: what the data pin down, and what they leave to the prior.

For a fit (NUTS or SVI result, or an ArviZ ``DataTree`` with its model and data),
:func:`identifiability` reports

* per scalar parameter: posterior mean, sd and 94% HDI, the prior sd, the prior-to-posterior
  **contraction** ``1 - var_post / var_prior`` (on the parameter's own scale), r_hat and
  bulk ESS, and a verdict;
* the posterior **correlation** matrix, with the pairs ``|rho| >= corr_threshold`` flagged;
* the **Laplace precision** at the posterior mode (Hessian of ``-log p(z | data)`` in
  NumPyro's unconstrained coordinates ``z``: observed information plus prior curvature),
  restricted to the reported parameters (inverse of their block of the Laplace covariance);
  its eigenvalues and condition number, and each eigen-direction as a named combination
  ("0.71 log(beta_DU) - 0.70 log(beta_UD)") with its own contraction
  ``1 - v' C_post v / v' C_prior v`` and verdict;
* prior sensitivity by power scaling (``arviz_stats.psense_summary``) when the fit's
  ``DataTree`` has a ``log_prior`` group.

Verdicts: contraction >= 0.9 "identified", >= 0.5 "weakly identified", else "not identified".
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr
from numpyro.distributions import constraints
from numpyro.distributions.transforms import biject_to

from bayes_mfg._validation import check_positive_int
from bayes_mfg.data import Observations
from bayes_mfg.model import CalibrationModel

#: Contraction thresholds of the verdicts.
IDENTIFIED = 0.9
WEAKLY_IDENTIFIED = 0.5


def verdict(contraction: float) -> str:
    """'identified' (>= 0.9), 'weakly identified' (>= 0.5) or 'not identified'."""
    if not np.isfinite(contraction):
        return "unknown"
    if contraction >= IDENTIFIED:
        return "identified"
    if contraction >= WEAKLY_IDENTIFIED:
        return "weakly identified"
    return "not identified"


@contextlib.contextmanager
def _quiet_psense():
    """Silence arviz_stats' power-scaling note (a logging warning, printed in older versions)."""
    log = logging.getLogger("arviz_stats.psense")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        log.setLevel(level)


# ---------------------------------------------------------------------------- inputs
def fit_parts(fit: Any, model: CalibrationModel | None, data: Observations | None):
    """``(tree, model, data, fit_or_None)`` from a fit result or a ``DataTree``."""
    from bayes_mfg.infer import NUTSResult, SVIResult

    if isinstance(fit, (NUTSResult, SVIResult)):
        return fit.to_arviz(), fit.model, fit.data, fit
    if isinstance(fit, xr.DataTree):
        if not isinstance(model, CalibrationModel):
            raise TypeError("model= (the CalibrationModel that produced the DataTree) is required with a DataTree input")
        if not isinstance(data, Observations):
            raise TypeError("data= (the Observations that were fitted) is required with a DataTree input")
        if "posterior" not in fit.children:
            raise ValueError("the DataTree has no posterior group")
        return fit, model, data, None
    raise TypeError(f"fit must be a NUTSResult, SVIResult or an ArviZ DataTree, got {type(fit).__name__}")


def _is_network_site(model: CalibrationModel, site: str) -> bool:
    return any(site.startswith(f"{name}_net") for name in model.paths)


def default_parameters(model: CalibrationModel, data: Observations) -> list[str]:
    """Latent sites reported by default: every path and noise parameter except network
    weights (identified only up to the network's symmetries) and latent ``mu0``."""
    return [s for s in model.prior_sites(data) if s != "mu0" and not _is_network_site(model, s)]


def _labels(model: CalibrationModel, site: str, shape: tuple[int, ...]) -> list[str]:
    if not shape:
        return [site]
    moves = getattr(model.game, "move_names", None)
    if site == "rates" and moves is not None and shape == (len(moves),):
        return [f"rates[{m}]" for m in moves]
    return [f"{site}[{','.join(map(str, i))}]" for i in np.ndindex(*shape)]


def _coordinate_name(label: str, support: Any) -> str:
    """How NumPyro's unconstrained coordinate of ``label`` reads."""
    base = getattr(support, "base_constraint", support)
    if base is constraints.real or isinstance(base, type(constraints.real)):
        return label
    if base is constraints.positive:
        return f"log({label})"
    if isinstance(base, constraints.greater_than):
        lb = float(np.asarray(base.lower_bound).ravel()[0])
        return f"log({label})" if lb == 0 else f"log({label} - {lb:g})"
    if isinstance(base, constraints.interval):
        return f"logit({label})"
    return f"z({label})"


def _flat(draws: np.ndarray, n_lead: int) -> np.ndarray:
    return draws.reshape(*draws.shape[:n_lead], -1)


def combination(vector: np.ndarray, names: list[str], *, min_weight: float = 0.2, max_terms: int = 5) -> str:
    """A unit vector as a readable linear combination ("0.71 a - 0.70 b"), largest terms first,
    sign chosen so that the largest coefficient is positive."""
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


# ---------------------------------------------------------------------------- result
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
        fmt = lambda df: _markdown_table(df)  # noqa: E731
        out = ["## Identifiability", "", *[f"- {s}" for s in self.statements], "", "### Parameters", "",
               fmt(self.parameters)]
        if len(self.strong_pairs):
            out += ["", f"### Strongly correlated pairs (|rho| >= {self.corr_threshold})", "", fmt(self.strong_pairs)]
        if len(self.directions):
            out += ["", f"### Laplace precision eigen-directions (condition number {self.condition_number:.3g})", "",
                    fmt(self.directions)]
        if self.sensitivity is not None:
            out += ["", "### Prior / likelihood sensitivity (power scaling)", "", fmt(self.sensitivity)]
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


def _markdown_table(df: pd.DataFrame) -> str:
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "nan" if not np.isfinite(v) else f"{v:.4g}"
        return str(v)

    cols = [df.index.name or ""] + [str(c) for c in df.columns]
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, r in df.iterrows():
        rows.append("| " + " | ".join([str(idx)] + [cell(v) for v in r.values]) + " |")
    return "\n".join(rows)


# ---------------------------------------------------------------------------- main
def identifiability(
    fit: Any,
    *,
    model: CalibrationModel | None = None,
    data: Observations | None = None,
    var_names: list[str] | None = None,
    laplace: Any = True,
    prior_samples: int = 2000,
    corr_threshold: float = 0.8,
    hdi_prob: float = 0.94,
    seed: int = 0,
) -> IdentifiabilityReport:
    """Identifiability report of a calibration (see the module docstring for the quantities).

    Parameters
    ----------
    fit
        A :class:`bayes_mfg.NUTSResult` or :class:`bayes_mfg.SVIResult`, or an ArviZ
        ``DataTree`` from one (then ``model`` and ``data`` are required).
    model, data
        The calibration model and its observations (only with a ``DataTree``).
    var_names
        Latent sites to report (default: all path and noise parameters, without network
        weights and latent ``mu0``).
    laplace
        ``True``: compute :func:`bayes_mfg.laplace` (started at the posterior median) for the
        precision eigen-directions; a :class:`bayes_mfg.LaplaceResult` to reuse one;
        ``False``: skip them.
    prior_samples
        Prior draws for the prior variances (no equilibrium is solved for them).
    corr_threshold
        ``|rho|`` from which a pair is flagged as strongly dependent.
    hdi_prob
        Probability of the reported highest-density intervals.
    seed
        Seed of the prior draws.

    Returns
    -------
    IdentifiabilityReport
        ``.parameters``, ``.correlation``, ``.strong_pairs``, ``.directions``,
        ``.sensitivity``, ``.statements``; ``.to_markdown()``, ``.plot_contraction()``,
        ``.plot_pairs()``.

    Examples
    --------
    >>> rep = bm.identifiability(fit)            # doctest: +SKIP
    >>> rep.weak_directions()["combination"]     # doctest: +SKIP
    """
    import arviz_stats as azs

    from bayes_mfg.infer import LaplaceResult
    from bayes_mfg.infer import laplace as run_laplace

    check_positive_int("prior_samples", prior_samples, minimum=10)
    if not 0 < corr_threshold < 1:
        raise ValueError(f"corr_threshold must be in (0, 1), got {corr_threshold}")
    if not 0 < hdi_prob < 1:
        raise ValueError(f"hdi_prob must be in (0, 1), got {hdi_prob}")
    if not (isinstance(laplace, bool) or isinstance(laplace, LaplaceResult)):
        raise TypeError(f"laplace must be True, False or a LaplaceResult, got {type(laplace).__name__}")
    tree, model, data, result = fit_parts(fit, model, data)
    supports = {k: v.support for k, v in model.prior_sites(data).items()}
    names = default_parameters(model, data) if var_names is None else list(var_names)
    post = tree["posterior"]
    bad = [v for v in names if v not in supports or v not in post]
    if bad:
        raise ValueError(f"var_names: {bad} are not latent sites of the fit; expected a subset of "
                         f"{[s for s in supports if s in post]}")
    if not names:
        raise ValueError("the model has no latent parameter to report (only point networks?)")

    # ---- draws, constrained and unconstrained, flattened over parameters
    prior = model.sample_prior(data, prior_samples, seed)
    labels, coord_names, post_cols, prior_cols, post_z, prior_z = [], [], [], [], [], []
    for site in names:
        x = np.asarray(post[site].values)  # (chain, draw, ...)
        shape = x.shape[2:]
        labels += _labels(model, site, shape)
        post_cols.append(_flat(x, 2))
        prior_cols.append(_flat(prior[site], 1))
        inv = biject_to(supports[site]).inv
        zp = np.asarray(inv(jnp.asarray(x)))
        z0 = np.asarray(inv(jnp.asarray(prior[site])))
        if zp.shape[2:] != shape:  # a constrained space of lower dimension (simplex): not mapped coordinate-wise
            raise ValueError(f"var_names: site {site!r} has support {supports[site]}; only element-wise "
                             "constrained sites can be reported")
        coord_names += [_coordinate_name(lbl, supports[site]) for lbl in _labels(model, site, shape)]
        post_z.append(_flat(zp, 2))
        prior_z.append(_flat(z0, 1))
    x = np.concatenate(post_cols, axis=-1)  # (chain, draw, P)
    x0 = np.concatenate(prior_cols, axis=-1)  # (S, P)
    z = np.concatenate(post_z, axis=-1)
    z0 = np.concatenate(prior_z, axis=-1)
    n_chain, n_draw, n_par = x.shape
    flat = x.reshape(-1, n_par)
    degenerate = bool(np.all(flat.std(axis=0) <= 1e-12 * (1.0 + np.abs(flat.mean(axis=0)))))  # a point estimate (AutoDelta): no draw spread

    # ---- Laplace approximation (in z), restricted to the reported parameters
    approx = None
    if isinstance(laplace, LaplaceResult):
        approx = laplace
    elif laplace:
        approx = getattr(result, "laplace", None)
        if approx is None:
            start = {k: np.median(np.asarray(post[k].values).reshape(-1, *post[k].shape[2:]), axis=0)
                     for k in supports if k in post and not _is_network_site(model, k)}
            approx = run_laplace(model, data, init_values=start, seed=seed)
    cov_z = None
    if approx is not None:
        sizes = {k: int(np.size(v)) for k, v in approx.unravel(jnp.asarray(approx.z_map)).items()}
        offsets, pos = {}, 0
        for k in sorted(sizes):
            offsets[k] = pos
            pos += sizes[k]
        idx = np.concatenate([np.arange(offsets[s], offsets[s] + sizes[s]) for s in names])
        cov_z = approx.covariance[np.ix_(idx, idx)]

    # ---- per-parameter table
    prior_var = x0.var(axis=0)
    if degenerate and cov_z is not None:
        # point estimate: posterior variance from the Laplace covariance, on the z scale
        post_var_z = np.diag(cov_z)
        contraction = 1.0 - post_var_z / z0.var(axis=0)
        sd = np.full(n_par, np.nan)
    else:
        contraction = 1.0 - flat.var(axis=0) / prior_var
        sd = flat.std(axis=0)
    da = lambda a: xr.DataArray(a, dims=("chain", "draw", "p"))  # noqa: E731
    hdi = np.asarray(azs.hdi(da(x), prob=hdi_prob).transpose("p", ...).values) if not degenerate else np.full((n_par, 2), np.nan)
    multi = n_chain > 1 and not degenerate
    rhat = np.asarray(azs.rhat(da(x)).values) if multi else np.full(n_par, np.nan)
    ess = np.asarray(azs.ess(da(x)).values) if not degenerate else np.full(n_par, np.nan)
    lo_name, hi_name = f"hdi_{(1 - hdi_prob) / 2:.0%}", f"hdi_{(1 + hdi_prob) / 2:.0%}"
    params = pd.DataFrame(
        {
            "mean": flat.mean(axis=0),
            "sd": sd,
            lo_name: hdi[:, 0],
            hi_name: hdi[:, 1],
            "prior_sd": np.sqrt(prior_var),
            "contraction": contraction,
            "r_hat": rhat,
            "ess_bulk": ess,
        },
        index=pd.Index(labels, name="parameter"),
    )
    params["verdict"] = [verdict(c) for c in contraction]

    # ---- correlation
    if degenerate or n_par == 1:
        corr = np.eye(n_par) if cov_z is None else _corr(cov_z)
    else:
        corr = np.corrcoef(flat, rowvar=False)
    corr_df = pd.DataFrame(corr, index=labels, columns=labels)
    iu = np.triu_indices(n_par, 1)
    strong = [(labels[i], labels[j], corr[i, j]) for i, j in zip(*iu) if abs(corr[i, j]) >= corr_threshold]
    strong_df = pd.DataFrame(strong, columns=["parameter_1", "parameter_2", "rho"])
    strong_df.index.name = "pair"

    # ---- eigen-directions
    dirs = pd.DataFrame(columns=["precision", "posterior_sd", "prior_sd", "contraction", "verdict", "combination"])
    cond = float("nan")
    if cov_z is not None:
        var_dir, vecs = np.linalg.eigh(cov_z)  # ascending posterior variance
        order = np.argsort(-var_dir)  # weakest (largest variance) first
        prior_cov = np.atleast_2d(np.cov(z0, rowvar=False))
        post_cov = None if degenerate else np.atleast_2d(np.cov(z.reshape(-1, n_par), rowvar=False))
        rows = []
        for k in order:
            v = vecs[:, k]
            pv = float(v @ prior_cov @ v)
            qv = float(var_dir[k]) if post_cov is None else float(v @ post_cov @ v)
            c = 1.0 - qv / pv
            rows.append((1.0 / var_dir[k], np.sqrt(qv), np.sqrt(pv), c, verdict(c), combination(v, coord_names)))
        dirs = pd.DataFrame(rows, columns=dirs.columns, index=pd.RangeIndex(len(rows), name="direction"))
        prec = 1.0 / var_dir
        cond = float(prec.max() / prec.min())

    # ---- prior sensitivity
    sens = None
    if "log_prior" in tree.children and not degenerate:
        try:
            with _quiet_psense():  # psense_summary logs a note of its own; the report states the diagnosis
                sens = azs.psense_summary(tree, var_names=names)
            sens = sens if isinstance(sens, pd.DataFrame) else None
        except Exception:  # noqa: BLE001 - sensitivity is an optional extra of the report
            sens = None

    # ---- statements
    statements = []
    ok = [p for p in labels if params.loc[p, "verdict"] == "identified"]
    if ok:
        statements.append(f"identified (contraction >= {IDENTIFIED}): {', '.join(ok)}")
    for v in ("weakly identified", "not identified"):
        sel = [f"{p} ({params.loc[p, 'contraction']:.2f})" for p in labels if params.loc[p, "verdict"] == v]
        if sel:
            statements.append(f"{v}: {', '.join(sel)}")
    for _, r in dirs.iterrows():
        if r["verdict"] != "identified":
            statements.append(
                f"{r['combination']} is {r['verdict']} (contraction {r['contraction']:.2f}, posterior sd "
                f"{r['posterior_sd']:.3g} vs prior sd {r['prior_sd']:.3g})"
            )
    for _, r in strong_df.iterrows():
        statements.append(f"{r['parameter_1']} and {r['parameter_2']} are strongly correlated (rho = {r['rho']:.2f})")
    if len(dirs):
        statements.append(f"condition number of the Laplace precision: {cond:.3g}")
    if degenerate:
        statements.append("the fit is a point estimate: posterior spread taken from the Laplace approximation")
    if sens is not None and "diagnosis" in sens.columns:
        flagged = [f"{i}: {d}" for i, d in sens["diagnosis"].items() if str(d).strip() not in ("✓", "")]
        if flagged:
            statements.append("power-scaling sensitivity: " + "; ".join(flagged))
    return IdentifiabilityReport(params, corr_df, strong_df, dirs, cond, sens, statements, flat, corr_threshold)


def _corr(cov: np.ndarray) -> np.ndarray:
    s = np.sqrt(np.diag(cov))
    return cov / np.outer(s, s)


__all__ = ["identifiability", "IdentifiabilityReport", "verdict", "combination"]
