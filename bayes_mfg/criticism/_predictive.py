"""Posterior predictions on the fitted or on new trajectories, and predictive checks.

* :func:`posterior_predictive`: draws of the equilibrium shares ``mu`` and of new
  observations ``obs`` for any :class:`Observations` with the model's states and grid (the
  fitted data, or held-out trajectories). Parameters shared by all trajectories come from
  the posterior; trajectory-level ones (hierarchical offsets, latent ``mu0``) of new
  trajectories are drawn from their prior given the shared ones.
* :func:`predictive_check`: central predictive intervals against the observations, with a
  coverage table per state and a figure of observed vs predicted trajectories.
* :func:`heldout_log_density`: the log predictive density of held-out trajectories
  (out-of-sample ELPD), the likelihood-scale companion of :func:`heldout_error`.
* :func:`heldout_error`: mean squared error of the posterior-mean shares on held-out
  trajectories (the seed paper's "test trajectory MSE").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd
from numpyro.infer import Predictive

from bayes_mfg._tables import markdown_table
from bayes_mfg._validation import check_positive_int, check_seed
from bayes_mfg.criticism._fits import check_fit, global_sites
from bayes_mfg.data import Observations
from bayes_mfg.inference import Fit
from bayes_mfg.inference.failures import without_reports


def posterior_draws(fit: Fit, num_samples: int | None = None, seed: int = 0) -> tuple[dict[str, np.ndarray], dict]:
    """``(draws, params)``: the fit's latent draws ``{site: (S, ...)}`` (:meth:`Fit.posterior_draws`)
    and its point parameters (:meth:`Fit.point_params`), to substitute together into the model."""
    return check_fit(fit).posterior_draws(num_samples, seed), fit.point_params()


def _path_sites(model) -> list[str]:
    return [k for k, role in model.declared_site_roles().items() if role == "path"]


def _check_new_data(model, data: Observations) -> None:
    if not isinstance(data, Observations):
        raise TypeError(f"data must be bayes_mfg.Observations, got {type(data).__name__}")
    model.check_data(data)


def posterior_predictive(
    fit: Any, data: Observations | None = None, *, num_samples: int | None = 500, seed: int = 0
) -> dict[str, np.ndarray]:
    """Posterior predictive draws on ``data`` (default: the fitted data).

    Parameters
    ----------
    fit
        A fit (:class:`bayes_mfg.inference.Fit`: a NUTS, SVI or Laplace result).
    data
        Trajectories to predict: their ``mu0`` (or latent), times and mask; their values are
        not used. Default: the fitted observations.
    num_samples
        Posterior draws used (NUTS: evenly thinned; None = all).
    seed
        Random seed of the observation noise (and of new trajectory-level draws).

    Returns
    -------
    dict
        ``mu``: ``(S, n_traj, n_times, d)`` equilibrium shares at the observed times;
        ``obs``: the same shape, new observations (counts for count data);
        ``solver_converged``: ``(S, n_traj)``; and for every calibrated parameter
        ``name``, ``f"{name}_path"``: its path on the game's time grid, ``(S, N, ...)``
        for a path shared by all trajectories, else ``(S, n_traj, N, ...)`` for these
        trajectories (a neural ``(t, mu)`` path evaluated on their flows);
        for a model with a readout also ``readout``: ``(S, n_traj, n_times, k)`` the readout
        of the equilibrium (what ``obs`` is noise around).

    Examples
    --------
    >>> pred = bm.posterior_predictive(fit, test_data, num_samples=500)  # doctest: +SKIP
    >>> pred["mu"].shape                      # (draws, trajectories, times, states)  # doctest: +SKIP
    """
    check_seed("seed", seed)
    fit = check_fit(fit)
    model = without_reports(fit.model)  # predictions do not count solver failures
    new = data is not None and data is not fit.data  # the fitted trajectories keep their own local draws
    data = fit.data if data is None else data
    _check_new_data(model, data)
    if num_samples is not None:
        check_positive_int("num_samples", num_samples)
    draws, params = posterior_draws(fit, num_samples, seed)
    if new:  # trajectory-level sites of new trajectories: redrawn from their prior
        keep = set(global_sites(model, data, fit.site_roles()))
        draws = {k: v for k, v in draws.items() if k in keep}
    if not model.record_mu:
        model = dataclasses.replace(model, record_mu=True)
    fn = numpyro.handlers.substitute(model, data=params) if params else model
    sites = ["mu", "obs", "solver_converged", *_path_sites(model)] + (["readout"] if model.readout is not None else [])
    if draws:
        pred = Predictive(fn, posterior_samples={k: jnp.asarray(v) for k, v in draws.items()},
                          return_sites=sites, batch_ndims=1)
    else:  # only point networks: every draw shares the parameters
        pred = Predictive(fn, num_samples=num_samples or 500, return_sites=sites)
    key = jax.random.PRNGKey(seed)
    out = pred(key, data, observe=False)
    return {k: np.asarray(v) for k, v in out.items()}


def heldout_error(fit: Any, data: Observations, *, num_samples: int | None = 500, seed: int = 0) -> dict[str, float]:
    """Error of the posterior-mean predicted shares on (held-out) trajectories.

    ``mse = mean over observed entries of (E[mu | fit] - observed share)^2`` (shares
    renormalised over the observed states of each row), with ``rmse`` its root and
    ``n_entries`` the number of observed entries. For count data of shares also
    ``count_rmse``: the root mean squared error of the posterior predictive mean count
    ``E[y | fit]`` against the observed counts (on the counts' own scale, so it also scores
    the predicted volume, which renormalised shares ignore). For data that are no
    composition (a readout of linear functionals, flows or hazards, or real values of
    ``kind="values"``) ``mse`` is that of the posterior predictive mean ``E[y | fit]``
    against the observed values, on the data's scale, and there is no ``count_rmse``.

    Parameters
    ----------
    fit
        A fit (:class:`bayes_mfg.inference.Fit`).
    data
        Observations to score (usually trajectories not used in the fit).
    num_samples, seed
        As for :func:`posterior_predictive`.

    Returns
    -------
    dict
        ``mse``, ``rmse``, ``n_entries`` (and ``count_rmse`` for counts of shares).

    Examples
    --------
    >>> bm.heldout_error(fit, test_data)["rmse"]  # doctest: +SKIP
    """
    check_seed("seed", seed)
    pred = posterior_predictive(fit, data, num_samples=num_samples, seed=seed)
    readout = check_fit(fit).model.readout
    if data.kind == "values" or (readout is not None and readout.output_kind != "shares"):
        # columns that are no composition (functionals, flows, real values): the error of the predictive mean
        err = (pred["obs"].mean(axis=0) - data.values)[data.mask]
        mse = float(np.mean(err**2))
        return {"mse": mse, "rmse": float(np.sqrt(mse)), "n_entries": int(data.mask.sum())}
    mu = pred["readout" if readout is not None else "mu"].mean(axis=0)
    obs = data.shares()
    mask = data.mask & np.isfinite(obs)
    # renormalise the prediction over the observed states of each row, like the data
    tot = np.where(mask, mu, 0.0).sum(-1, keepdims=True)
    mu = np.where(mask, mu / np.where(tot > 0, tot, 1.0), np.nan)
    err = (mu - obs)[mask]
    mse = float(np.mean(err**2))
    out = {"mse": mse, "rmse": float(np.sqrt(mse)), "n_entries": int(mask.sum())}
    if data.kind == "counts":
        count_err = (pred["obs"].mean(axis=0) - data.values)[data.mask]
        out["count_rmse"] = float(np.sqrt(np.mean(count_err**2)))
    return out


def heldout_log_density(fit: Any, data: Observations, *, num_samples: int | None = 500,
                        seed: int = 0) -> dict[str, Any]:
    """Log predictive density of (held-out) trajectories: the out-of-sample ELPD.

    For each trajectory ``j`` of ``data``::

        lpd_j = log (1/S) sum_s p(y_j | shared_s, local_s),   local_s ~ p(local | shared_s)

    where ``shared_s`` are posterior draws of the parameters shared by all trajectories and
    ``local_s`` are fresh draws of the trajectory-level ones (hierarchical offsets, latent
    ``mu0``) from their prior given ``shared_s`` (for trajectories the fit never saw).
    ``data`` should hold trajectories not used in the fit; on the fitted ones this is the
    in-sample (optimistic) lpd with redrawn trajectory-level parameters.

    Parameters
    ----------
    fit
        A fit (:class:`bayes_mfg.inference.Fit`).
    data
        The trajectories to score (their values, times, mask and ``mu0``).
    num_samples
        Posterior draws used (NUTS: evenly thinned; ``None`` = all; SVI default 500).
    seed
        Seed of the guide draws and of the trajectory-level draws.

    Returns
    -------
    dict
        ``elpd`` (sum over trajectories), ``se`` (``sqrt(J var(lpd_j))``), ``pointwise``
        (``(J,)`` array), ``per_observation`` (``elpd`` / number of observed rows).

    Examples
    --------
    >>> res = bm.heldout_log_density(fit_game, test_data)  # doctest: +SKIP
    >>> res["elpd"], res["se"]  # doctest: +SKIP
    """
    from scipy.special import logsumexp

    fit = check_fit(fit)
    model = without_reports(fit.model)
    _check_new_data(model, data)
    if num_samples is not None:
        check_positive_int("num_samples", num_samples)
    draws, params = posterior_draws(fit, num_samples, seed)
    keep = set(global_sites(model, data, fit.site_roles()))
    draws = {k: jnp.asarray(v) for k, v in draws.items() if k in keep}
    fn = numpyro.handlers.substitute(model, data=params) if params else model
    latent = [s for s in model.prior_sites(data) if s not in draws]
    if draws:
        pred = Predictive(fn, posterior_samples=draws, return_sites=latent, batch_ndims=1)
    else:
        pred = Predictive(fn, num_samples=num_samples or 500, return_sites=latent)
    local = pred(jax.random.PRNGKey(seed), data, observe=False) if latent else {}
    ll = numpyro.infer.log_likelihood(fn, {**draws, **local}, data, batch_ndims=1)["obs"]
    ll = np.asarray(ll).reshape(ll.shape[0], data.n_trajectories, -1).sum(-1)  # (S, J)
    pointwise = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    n_rows = int(data.mask.any(-1).sum())
    se = float(np.sqrt(len(pointwise) * np.var(pointwise, ddof=1))) if len(pointwise) > 1 else float("nan")
    elpd = float(pointwise.sum())
    return {"elpd": elpd, "se": se, "pointwise": pointwise, "per_observation": elpd / max(n_rows, 1)}


# ---------------------------------------------------------------------------- checks
@dataclass
class PredictiveCheck:
    """Result of :func:`predictive_check`.

    Attributes
    ----------
    coverage
        Share of observed entries inside the central ``prob`` predictive interval, per
        state and overall (row ``"all"``), with the number of entries.
    prob
        Nominal probability of the intervals.
    observed
        ``(n_traj, n_times, d)`` observations (NaN where masked).
    lower, upper
        Predictive interval bounds, same shape.
    mu_draws
        ``(S, n_traj, n_times, d)`` equilibrium shares (for a model with a readout: the
        readout of the equilibrium, one column per data column).
    times, state_names, trajectory_names
        Coordinates.

    Examples
    --------
    >>> print(bm.predictive_check(fit).to_markdown())  # doctest: +SKIP
    """

    coverage: pd.DataFrame
    prob: float
    observed: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    mu_draws: np.ndarray
    times: np.ndarray
    state_names: tuple[str, ...]
    trajectory_names: tuple[str, ...]

    @property
    def overall(self) -> float:
        """Coverage over all observed entries."""
        return float(self.coverage.loc["all", "coverage"])

    def to_markdown(self) -> str:
        return f"Coverage of the central {self.prob:.0%} predictive intervals\n\n" + markdown_table(self.coverage)

    def __repr__(self) -> str:
        return self.to_markdown()

    def plot(self, trajectories: Sequence[int] = (0,), states: Sequence[int] | None = None, band: float = 0.9):
        """Observed (dots) vs predicted trajectories: the posterior ``band`` interval of the
        equilibrium shares (dark) and the predictive interval of the observations (light),
        one panel per trajectory. Returns the Figure."""
        import matplotlib.pyplot as plt

        trajectories = list(trajectories)
        states = list(range(self.observed.shape[-1])) if states is None else list(states)
        fig, axes = plt.subplots(1, len(trajectories), figsize=(4.6 * len(trajectories), 3.4), squeeze=False,
                                 constrained_layout=True)
        cmap = plt.get_cmap("tab10")
        q = (1 - band) / 2
        mu_lo, mu_hi = np.quantile(self.mu_draws, [q, 1 - q], axis=0)
        for ax, j in zip(axes[0], trajectories):
            for i, x in enumerate(states):
                c = cmap(i % 10)
                ax.fill_between(self.times, self.lower[j, :, x], self.upper[j, :, x], color=c, alpha=0.15, lw=0)
                ax.fill_between(self.times, mu_lo[j, :, x], mu_hi[j, :, x], color=c, alpha=0.45, lw=0,
                                label=self.state_names[x])
                ax.plot(self.times, self.observed[j, :, x], ".", color=c, ms=3)
            ax.set(xlabel="time t", ylabel="share", title=f"trajectory {self.trajectory_names[j]}")
        if len(states) <= 8:
            axes[0, 0].legend(fontsize=7, ncol=2)
        return fig


def predictive_check(
    fit: Any, data: Observations | None = None, *, prob: float = 0.94, num_samples: int | None = 500, seed: int = 0
) -> PredictiveCheck:
    """Posterior predictive check: do the central ``prob`` intervals of new observations
    cover the observed ones at the nominal rate?

    Parameters
    ----------
    fit
        A fit (:class:`bayes_mfg.inference.Fit`).
    data
        Observations to check: the fitted data (default; an in-sample check) or held-out
        trajectories (an out-of-sample calibration check).
    prob
        Nominal probability of the central intervals.
    num_samples, seed
        As for :func:`posterior_predictive`.

    Returns
    -------
    PredictiveCheck

    Examples
    --------
    >>> check = bm.predictive_check(fit, test_data)  # doctest: +SKIP
    >>> check.overall, check.plot(trajectories=(0, 1))  # doctest: +SKIP
    """
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob}")
    fit = check_fit(fit)
    data = fit.data if data is None else data
    pred = posterior_predictive(fit, data, num_samples=num_samples, seed=seed)
    obs_draws = pred["obs"]
    q = (1 - prob) / 2
    lo, hi = np.quantile(obs_draws, [q, 1 - q], axis=0)
    observed = np.where(data.mask, data.values, np.nan)
    inside = (observed >= lo) & (observed <= hi)
    rows = {}
    for x, name in enumerate(data.state_names):
        m = data.mask[..., x]
        rows[name] = (float(inside[..., x][m].mean()) if m.any() else np.nan, int(m.sum()))
    rows["all"] = (float(inside[data.mask].mean()), int(data.mask.sum()))
    cov = pd.DataFrame.from_dict(rows, orient="index", columns=["coverage", "n_entries"])
    cov.index.name = fit.model.observed_dim
    signal = pred["readout"] if "readout" in pred else pred["mu"]
    return PredictiveCheck(cov, prob, observed, lo, hi, signal, np.asarray(data.times), data.state_names,
                           data.trajectory_names)


__all__ = ["posterior_predictive", "predictive_check", "PredictiveCheck", "heldout_error", "heldout_log_density",
           "posterior_draws"]
