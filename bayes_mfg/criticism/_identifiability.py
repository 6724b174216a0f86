"""Identifiability report: what the data pin down, and what they leave to the prior.

For a fit (a :class:`bayes_mfg.inference.Fit`, or an ArviZ ``DataTree`` with its model and
data), :func:`identifiability` reports

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

The report is assembled from named steps, each usable on its own: :func:`gather_draws`
(prior and posterior draws of the reported parameters, constrained and unconstrained),
:func:`laplace_covariance`, :func:`contraction_table`, :func:`correlations`,
:func:`eigen_directions`, :func:`prior_sensitivity` and :func:`findings` (the verdicts in
words).
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr
from numpyro.distributions import constraints
from numpyro.distributions.transforms import biject_to

from bayes_mfg._validation import check_positive_int
from bayes_mfg.criticism._fits import default_parameters, fit_parts
from bayes_mfg.criticism._identifiability_report import IDENTIFIED, IdentifiabilityReport, combination, verdict
from bayes_mfg.data import Observations
from bayes_mfg.inference import Fit, LaplaceResult
from bayes_mfg.inference import laplace as run_laplace
from bayes_mfg.inference.sites import site_roles
from bayes_mfg.model import CalibrationModel

DIRECTION_COLUMNS = ("precision", "posterior_sd", "prior_sd", "contraction", "verdict", "combination")


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


# ---------------------------------------------------------------------------- step 1: draws
@dataclass(frozen=True)
class ParameterDraws:
    """Draws of the reported parameters, one column per scalar parameter.

    ``posterior``/``posterior_z``: ``(chain, draw, P)`` constrained / NumPyro-unconstrained;
    ``prior``/``prior_z``: ``(S, P)``; ``labels`` and ``coordinates`` name the columns on
    the two scales (e.g. ``gamma`` and ``log(gamma)``).
    """

    labels: list[str]
    coordinates: list[str]
    posterior: np.ndarray
    prior: np.ndarray
    posterior_z: np.ndarray
    prior_z: np.ndarray

    @property
    def flat(self) -> np.ndarray:
        """``(chain * draw, P)`` posterior draws."""
        return self.posterior.reshape(-1, self.posterior.shape[-1])

    @property
    def degenerate(self) -> bool:
        """A point estimate (e.g. AutoDelta): no spread in any posterior column."""
        flat = self.flat
        return bool(np.all(flat.std(axis=0) <= 1e-12 * (1.0 + np.abs(flat.mean(axis=0)))))


def gather_draws(posterior: xr.DataTree | xr.Dataset, prior: dict[str, np.ndarray], model: CalibrationModel,
                 names: list[str], supports: dict[str, Any]) -> ParameterDraws:
    """Flatten the posterior group's and the prior's draws of ``names`` into :class:`ParameterDraws`."""
    labels, coords, post_x, prior_x, post_z, prior_z = [], [], [], [], [], []
    for site in names:
        x = np.asarray(posterior[site].values)  # (chain, draw, ...)
        shape = x.shape[2:]
        site_labels = _labels(model, site, shape)
        inv = biject_to(supports[site]).inv
        zp = np.asarray(inv(jnp.asarray(x)))
        if zp.shape[2:] != shape:  # a constrained space of lower dimension (simplex): not mapped coordinate-wise
            raise ValueError(f"var_names: site {site!r} has support {supports[site]}; only element-wise "
                             "constrained sites can be reported")
        labels += site_labels
        coords += [_coordinate_name(lbl, supports[site]) for lbl in site_labels]
        post_x.append(_flat(x, 2))
        prior_x.append(_flat(prior[site], 1))
        post_z.append(_flat(zp, 2))
        prior_z.append(_flat(np.asarray(inv(jnp.asarray(prior[site]))), 1))
    cat = lambda parts: np.concatenate(parts, axis=-1)  # noqa: E731
    return ParameterDraws(labels, coords, cat(post_x), cat(prior_x), cat(post_z), cat(prior_z))


# ---------------------------------------------------------------------------- step 2: Laplace
def _laplace_approximation(laplace: Any, fit: Fit | None, model: CalibrationModel, data: Observations,
                           posterior: Any, supports: dict[str, Any], roles: dict[str, str],
                           seed: int) -> LaplaceResult | None:
    """The given LaplaceResult, the fit's own, a new one started at the posterior median, or None."""
    if isinstance(laplace, LaplaceResult):
        return laplace
    if not laplace:
        return None
    approx = getattr(fit, "laplace", None)
    if approx is not None:
        return approx
    start = {k: np.median(np.asarray(posterior[k].values).reshape(-1, *posterior[k].shape[2:]), axis=0)
             for k in supports if k in posterior and roles.get(k) != "network"}
    return run_laplace(model, data, init_values=start, seed=seed)


def laplace_covariance(approx: LaplaceResult, names: list[str]) -> np.ndarray:
    """The block of the Laplace covariance (unconstrained coordinates) of the sites ``names``,
    in the order of :func:`gather_draws`' columns."""
    sizes = {k: int(np.size(v)) for k, v in approx.unravel(jnp.asarray(approx.z_map)).items()}
    offsets, pos = {}, 0
    for k in sorted(sizes):  # the flat z vector orders the sites by name
        offsets[k] = pos
        pos += sizes[k]
    idx = np.concatenate([np.arange(offsets[s], offsets[s] + sizes[s]) for s in names])
    return approx.covariance[np.ix_(idx, idx)]


# ---------------------------------------------------------------------------- step 3: contraction
def contraction_table(draws: ParameterDraws, cov_z: np.ndarray | None, hdi_prob: float = 0.94) -> pd.DataFrame:
    """Per scalar parameter: mean, sd, HDI, prior sd, contraction, r_hat, bulk ESS and verdict.

    For a point estimate with a Laplace covariance, the contraction is on the unconstrained
    scale, from the Laplace variances.
    """
    import arviz_stats as azs  # imported on use: ArviZ is heavy (and loads NumPyro lazily)

    x, flat, degenerate = draws.posterior, draws.flat, draws.degenerate
    n_chain, _, n_par = x.shape
    prior_var = draws.prior.var(axis=0)
    if degenerate and cov_z is not None:
        contraction = 1.0 - np.diag(cov_z) / draws.prior_z.var(axis=0)
        sd = np.full(n_par, np.nan)
    else:
        contraction = 1.0 - flat.var(axis=0) / prior_var
        sd = flat.std(axis=0)
    nan, nan2 = np.full(n_par, np.nan), np.full((n_par, 2), np.nan)
    da = xr.DataArray(x, dims=("chain", "draw", "p"))
    hdi = nan2 if degenerate else np.asarray(azs.hdi(da, prob=hdi_prob).transpose("p", ...).values)
    rhat = np.asarray(azs.rhat(da).values) if n_chain > 1 and not degenerate else nan
    ess = nan if degenerate else np.asarray(azs.ess(da).values)
    table = pd.DataFrame(
        {
            "mean": flat.mean(axis=0),
            "sd": sd,
            f"hdi_{(1 - hdi_prob) / 2:.0%}": hdi[:, 0],
            f"hdi_{(1 + hdi_prob) / 2:.0%}": hdi[:, 1],
            "prior_sd": np.sqrt(prior_var),
            "contraction": contraction,
            "r_hat": rhat,
            "ess_bulk": ess,
        },
        index=pd.Index(draws.labels, name="parameter"),
    )
    table["verdict"] = [verdict(c) for c in contraction]
    return table


# ---------------------------------------------------------------------------- step 4: dependence
def _corr(cov: np.ndarray) -> np.ndarray:
    s = np.sqrt(np.diag(cov))
    return cov / np.outer(s, s)


def correlations(draws: ParameterDraws, cov_z: np.ndarray | None,
                 threshold: float = 0.8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(correlation matrix, strongly correlated pairs)``: from the draws, or from the Laplace
    covariance for a point estimate (or one parameter)."""
    labels, n_par = draws.labels, len(draws.labels)
    if draws.degenerate or n_par == 1:
        corr = np.eye(n_par) if cov_z is None else _corr(cov_z)
    else:
        corr = np.corrcoef(draws.flat, rowvar=False)
    iu = np.triu_indices(n_par, 1)
    strong = [(labels[i], labels[j], corr[i, j]) for i, j in zip(*iu) if abs(corr[i, j]) >= threshold]
    strong_df = pd.DataFrame(strong, columns=["parameter_1", "parameter_2", "rho"])
    strong_df.index.name = "pair"
    return pd.DataFrame(corr, index=labels, columns=labels), strong_df


def eigen_directions(draws: ParameterDraws, cov_z: np.ndarray | None) -> tuple[pd.DataFrame, float]:
    """``(directions, condition number)`` of the Laplace precision, weakest direction first.

    Each direction ``v``'s contraction is ``1 - v' C_post v / v' C_prior v`` with the
    posterior covariance of the draws (of the Laplace covariance for a point estimate).
    """
    if cov_z is None:
        return pd.DataFrame(columns=list(DIRECTION_COLUMNS)), float("nan")
    var_dir, vecs = np.linalg.eigh(cov_z)  # ascending posterior variance
    prior_cov = np.atleast_2d(np.cov(draws.prior_z, rowvar=False))
    n_par = len(draws.labels)
    post_cov = None if draws.degenerate else np.atleast_2d(np.cov(draws.posterior_z.reshape(-1, n_par), rowvar=False))
    rows = []
    for k in np.argsort(-var_dir):  # weakest (largest variance) first
        v = vecs[:, k]
        pv = float(v @ prior_cov @ v)
        qv = float(var_dir[k]) if post_cov is None else float(v @ post_cov @ v)
        c = 1.0 - qv / pv
        rows.append((1.0 / var_dir[k], np.sqrt(qv), np.sqrt(pv), c, verdict(c), combination(v, draws.coordinates)))
    prec = 1.0 / var_dir
    dirs = pd.DataFrame(rows, columns=list(DIRECTION_COLUMNS), index=pd.RangeIndex(len(rows), name="direction"))
    return dirs, float(prec.max() / prec.min())


def prior_sensitivity(tree: xr.DataTree, names: list[str], degenerate: bool = False) -> pd.DataFrame | None:
    """``arviz_stats.psense_summary`` of ``names`` when the tree has a ``log_prior`` group, else None."""
    import arviz_stats as azs

    if "log_prior" not in tree.children or degenerate:
        return None
    try:
        with _quiet_psense():  # psense_summary logs a note of its own; the report states the diagnosis
            sens = azs.psense_summary(tree, var_names=names)
    except Exception:  # noqa: BLE001 - sensitivity is an optional extra of the report
        return None
    return sens if isinstance(sens, pd.DataFrame) else None


# ---------------------------------------------------------------------------- step 5: verdict
def findings(params: pd.DataFrame, directions: pd.DataFrame, strong_pairs: pd.DataFrame, condition_number: float,
             *, degenerate: bool = False, sensitivity: pd.DataFrame | None = None) -> list[str]:
    """The report's findings in words, one line each."""
    statements = []
    labels = list(params.index)
    ok = [p for p in labels if params.loc[p, "verdict"] == "identified"]
    if ok:
        statements.append(f"identified (contraction >= {IDENTIFIED}): {', '.join(ok)}")
    for v in ("weakly identified", "not identified"):
        sel = [f"{p} ({params.loc[p, 'contraction']:.2f})" for p in labels if params.loc[p, "verdict"] == v]
        if sel:
            statements.append(f"{v}: {', '.join(sel)}")
    for _, r in directions.iterrows():
        if r["verdict"] != "identified":
            statements.append(
                f"{r['combination']} is {r['verdict']} (contraction {r['contraction']:.2f}, posterior sd "
                f"{r['posterior_sd']:.3g} vs prior sd {r['prior_sd']:.3g})"
            )
    for _, r in strong_pairs.iterrows():
        statements.append(f"{r['parameter_1']} and {r['parameter_2']} are strongly correlated (rho = {r['rho']:.2f})")
    if len(directions):
        statements.append(f"condition number of the Laplace precision: {condition_number:.3g}")
    if degenerate:
        statements.append("the fit is a point estimate: posterior spread taken from the Laplace approximation")
    if sensitivity is not None and "diagnosis" in sensitivity.columns:
        flagged = [f"{i}: {d}" for i, d in sensitivity["diagnosis"].items() if str(d).strip() not in ("✓", "")]
        if flagged:
            statements.append("power-scaling sensitivity: " + "; ".join(flagged))
    return statements


# ---------------------------------------------------------------------------- main
def _check_arguments(prior_samples: int, corr_threshold: float, hdi_prob: float, laplace: Any) -> None:
    check_positive_int("prior_samples", prior_samples, minimum=10)
    if not 0 < corr_threshold < 1:
        raise ValueError(f"corr_threshold must be in (0, 1), got {corr_threshold}")
    if not 0 < hdi_prob < 1:
        raise ValueError(f"hdi_prob must be in (0, 1), got {hdi_prob}")
    if not isinstance(laplace, (bool, LaplaceResult)):
        raise TypeError(f"laplace must be True, False or a LaplaceResult, got {type(laplace).__name__}")


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
        A fit (:class:`bayes_mfg.NUTSResult`, :class:`bayes_mfg.SVIResult`, ... : any
        :class:`bayes_mfg.inference.Fit`), or an ArviZ ``DataTree`` from one (then ``model``
        and ``data`` are required).
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
    _check_arguments(prior_samples, corr_threshold, hdi_prob, laplace)
    tree, model, data, result = fit_parts(fit, model, data)
    supports = {k: v.support for k, v in model.prior_sites(data).items()}
    roles = site_roles(model, data) if result is None else result.site_roles()
    names = default_parameters(model, data, roles) if var_names is None else list(var_names)
    post = tree["posterior"]
    bad = [v for v in names if v not in supports or v not in post]
    if bad:
        raise ValueError(f"var_names: {bad} are not latent sites of the fit; expected a subset of "
                         f"{[s for s in supports if s in post]}")
    if not names:
        raise ValueError("the model has no latent parameter to report (only point networks?)")

    draws = gather_draws(post, model.sample_prior(data, prior_samples, seed), model, names, supports)
    approx = _laplace_approximation(laplace, result, model, data, post, supports, roles, seed)
    cov_z = None if approx is None else laplace_covariance(approx, names)
    params = contraction_table(draws, cov_z, hdi_prob)
    corr, strong = correlations(draws, cov_z, corr_threshold)
    dirs, cond = eigen_directions(draws, cov_z)
    sens = prior_sensitivity(tree, names, draws.degenerate)
    statements = findings(params, dirs, strong, cond, degenerate=draws.degenerate, sensitivity=sens)
    return IdentifiabilityReport(params, corr, strong, dirs, cond, sens, statements, draws.flat, corr_threshold)


__all__ = [
    "identifiability", "IdentifiabilityReport", "verdict", "combination", "ParameterDraws", "gather_draws",
    "laplace_covariance", "contraction_table", "correlations", "eigen_directions", "prior_sensitivity", "findings",
]
