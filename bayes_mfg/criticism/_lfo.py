"""Leave-future-out cross-validation (LFO-CV) of one long series, exact or approximated with PSIS.

How well does a model fitted to the past predict the next ``M`` observations? For
observations ``y_1, ..., y_N`` in time order and a minimum training length ``L``, the
``M``-step-ahead LFO ELPD is::

    elpd_LFO = sum_{i=L}^{N-M} log p(y_{i+1:i+M} | y_{1:i}),
    p(y_{i+1:i+M} | y_{1:i}) = E_{theta ~ p(theta | y_{1:i})} p(y_{i+1:i+M} | theta)

(``y_{i+1:i+M}`` jointly, each factor conditional on the observations before it, which is what a
pointwise log-likelihood of sequential data holds). Exact LFO needs a fit per step.
PSIS-LFO (Bürkner, Gabry & Vehtari 2020, *Approximate leave-future-out cross-validation for
Bayesian time series models*, J. Stat. Comput. Simul. 90(14)) refits only when it must: with
draws ``theta_s`` of the last fit, on ``y_{1:i*}``, the posterior given ``y_{1:i}`` is reached by
importance sampling with the ratios::

    log r_s = sum_{j=i*+1}^{i} log p(y_j | theta_s),

Pareto-smoothed (PSIS, :mod:`arviz_stats`) into normalised weights ``w_s``, and::

    log p(y_{i+1:i+M} | y_{1:i}) ~ log sum_s w_s p(y_{i+1:i+M} | theta_s).

Where the Pareto ``k`` of the smoothing exceeds ``k_threshold`` (0.7 by default, as in the paper)
the weights are unreliable: the model is refitted on ``y_{1:i}`` (``i* = i``) and that step is
predicted exactly. The first step (``i = L``) is always an exact prediction of the fit on
``y_{1:L}``.

* :func:`psis_lfo`: the engine, for any model: a callable ``fit_prefix(i)`` gives the pointwise
  log-likelihood of all ``N`` observations under the draws of a fit to the first ``i``;
* :func:`lfo`: the library's models on one trajectory (the observation unit is one observed time
  row; a fit to the first ``i`` rows is a fit to the data with the later rows masked);
* :class:`LFOResult`: the ELPD, its approximate standard error, the per-step values, Pareto
  ``k`` and the steps that were fitted.

arviz-stats (1.3 here) has its own ``arviz_stats.lfo_cv``, behind a ``SamplingWrapper`` and a
``DataTree``; :func:`psis_lfo` takes a plain callable and matches its terms, Pareto k and refits
(tested; its se uses ``ddof=0`` and its ``refits`` leave out the first fit).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd

from bayes_mfg._tables import markdown_table
from bayes_mfg._validation import check_positive_int, check_seed
from bayes_mfg.criticism._fits import check_fit
from bayes_mfg.criticism._predictive import posterior_draws
from bayes_mfg.data import Observations
from bayes_mfg.inference import fit_nuts
from bayes_mfg.inference.failures import without_reports
from bayes_mfg.model import CalibrationModel

__all__ = ["LFOResult", "psis_lfo", "lfo"]


@dataclass(frozen=True, eq=False)
class LFOResult:
    """Result of :func:`psis_lfo` and :func:`lfo`: the leave-future-out ELPD of one series.

    Step ``p`` (``p = 0, ..., n_pred - 1``) conditions on the first ``i = min_obs + p``
    observations and predicts the next ``horizon`` (``y_{i+1:i+M}``, jointly)::

        pointwise[p] = log p(y_{i+1:i+M} | y_{1:i})        (exact or PSIS, see the module)
        elpd = sum_p pointwise[p],   se = sqrt(n_pred) sd(pointwise)

    The standard error is the paper's, and approximate: the terms of a time series are
    neither independent nor identically distributed.

    Attributes
    ----------
    elpd, se
        The LFO ELPD (higher is better) and its approximate standard error (NaN for one step).
    pointwise
        ``(n_pred,)`` the per-step log predictive densities.
    pareto_k
        ``(n_pred,)`` the Pareto ``k`` of the PSIS weights of each step; NaN where the step was
        predicted exactly by a fit to ``y_{1:i}`` (the first step, every refit, all of
        ``exact=True``).
    refits
        The ``i`` at which the model was fitted to ``y_{1:i}``, in order; the first fit (at
        ``min_obs``) included, so ``n_refits = len(refits) >= 1``.
    n_refits
        The number of fits.
    exact
        Whether every step was refitted (exact LFO).
    origins
        ``(n_pred,)`` the ``i`` of each step (observations conditioned on).
    min_obs, horizon, k_threshold
        The settings.
    times
        ``(n_pred,)`` the time of the first predicted observation of each step (:func:`lfo`),
        or None.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> y = np.array([0.3, -0.1, 0.8, 0.2, 0.5, 1.1, 0.0, 0.4])
    >>> def fit_prefix(i):   # exact posterior draws of theta, y_t ~ N(theta, 1), theta ~ N(0, 10^2)
    ...     var = 1 / (1 / 100 + i)
    ...     theta = np.random.default_rng(i).normal(var * y[:i].sum(), np.sqrt(var), (1000, 1))
    ...     return -0.5 * (y - theta) ** 2 - 0.5 * np.log(2 * np.pi)
    >>> res = bm.criticism.psis_lfo(fit_prefix, n_obs=8, min_obs=4)
    >>> res.pointwise.shape, res.refits[0], res.table().columns.tolist()
    ((4,), 4, ['elpd', 'pareto_k', 'refit'])
    """

    elpd: float
    se: float
    pointwise: np.ndarray
    pareto_k: np.ndarray
    refits: tuple[int, ...]
    n_refits: int
    exact: bool
    origins: np.ndarray
    min_obs: int
    horizon: int
    k_threshold: float
    times: np.ndarray | None = None

    @property
    def n_pred(self) -> int:
        """Number of predicted steps, ``n_obs - horizon - min_obs + 1``."""
        return len(self.pointwise)

    def table(self) -> pd.DataFrame:
        """One row per step, indexed by ``i`` (observations conditioned on): ``time`` (with
        :func:`lfo`), ``elpd``, ``pareto_k`` (NaN where exact) and ``refit`` (fitted to ``y_{1:i}``)."""
        cols = {} if self.times is None else {"time": self.times}
        cols |= {"elpd": self.pointwise, "pareto_k": self.pareto_k, "refit": np.isin(self.origins, self.refits)}
        return pd.DataFrame(cols, index=pd.Index(self.origins, name="i"))

    def summary(self) -> str:
        """One line: the ELPD, its standard error and the fits."""
        kind = "exact LFO" if self.exact else "PSIS-LFO"
        k = self.pareto_k[np.isfinite(self.pareto_k)]
        kmax = f"; max Pareto k {k.max():.2f} (threshold {self.k_threshold:g})" if k.size else ""
        return (f"{kind}, {self.horizon}-step-ahead from {self.min_obs} observations: elpd = {self.elpd:.2f} "
                f"(approximate se {self.se:.2f}) over {self.n_pred} steps; {self.n_refits} fits, at i = "
                f"{', '.join(map(str, self.refits))}{kmax}")

    def to_markdown(self) -> str:
        return f"{self.summary()}\n\n{markdown_table(self.table())}\n"

    def __repr__(self) -> str:
        return self.summary()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _check_loglik(ll: Any, i: int, n_obs: int) -> np.ndarray:
    ll = np.asarray(ll, dtype=np.float64)
    if ll.ndim != 2 or ll.shape[1] != n_obs or ll.shape[0] < 2:
        raise ValueError(f"fit_prefix({i}) must return the (S, n_obs) = (S >= 2, {n_obs}) pointwise log-likelihood "
                         f"of all observations at S posterior draws, got shape {ll.shape}")
    if not np.all(np.isfinite(ll)):
        raise ValueError(f"fit_prefix({i}) returned non-finite log-likelihood values")
    return ll


def _log_mean_exp(x: np.ndarray) -> float:
    from scipy.special import logsumexp

    return float(logsumexp(x) - math.log(x.shape[0]))


def psis_log_weights(log_ratios: np.ndarray) -> tuple[np.ndarray | None, float]:
    """Normalised PSIS log weights and Pareto k of ``log_ratios`` ``(S,)``; ``(None, inf)``
    where PSIS fails (a refit follows); uniform weights with ``k = 0`` for constant ratios."""
    from arviz_stats.base import array_stats
    from scipy.special import logsumexp

    if np.ptp(log_ratios) <= 1e-12 * (1.0 + np.abs(log_ratios).max()):
        return np.full(log_ratios.shape, -math.log(log_ratios.shape[0])), 0.0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lw, k = array_stats.psislw(-log_ratios)  # arviz-stats smooths exp(-x): its argument is a log-likelihood
    except ValueError:
        return None, math.inf
    lw, k = np.asarray(lw, dtype=np.float64), float(k)
    if not (np.isfinite(k) and np.all(np.isfinite(lw) | (lw == -np.inf))):
        return None, math.inf
    return lw - logsumexp(lw), k


def psis_lfo(fit_prefix: Callable[[int], np.ndarray], n_obs: int, min_obs: int, *, horizon: int = 1,
             k_threshold: float = 0.7, exact: bool = False) -> LFOResult:
    """Leave-future-out ELPD of one series, approximated by PSIS with refits where needed.

    For ``i = min_obs, ..., n_obs - horizon`` (``L = min_obs``, ``M = horizon``), with
    ``theta_s`` the ``S`` draws of the last fit, to ``y_{1:i*}``::

        i == i*:  elpd_i = log (1/S) sum_s p(y_{i+1:i+M} | theta_s)              (exact)
        else:     log r_s = sum_{j=i*+1}^{i} log p(y_j | theta_s),  w = PSIS(r) normalised
                  elpd_i = log sum_s w_s p(y_{i+1:i+M} | theta_s)                (PSIS)

    and where the Pareto ``k`` of ``w`` exceeds ``k_threshold`` the model is refitted to
    ``y_{1:i}`` (``i* = i``) and step ``i`` predicted exactly. The first fit is to
    ``y_{1:L}``. ``elpd = sum_i elpd_i`` and ``se = sqrt(n_pred) sd(elpd_i)`` (approximate:
    the terms are not independent). PSIS uses ``r_eff = 1`` (the draws are taken as
    independent).

    Parameters
    ----------
    fit_prefix
        ``fit_prefix(i)`` fits the model to the first ``i`` observations only and returns the
        ``(S, n_obs)`` pointwise log-likelihood ``log p(y_j | theta_s)`` of *all* ``n_obs``
        observations (column ``j - 1`` for ``y_j``; for sequential data the factor of ``y_j``
        given the observations before it) at its ``S`` posterior draws ``theta_s``. Called
        once with ``min_obs`` and once per refit.
    n_obs
        ``N``, the number of observations (>= 2).
    min_obs
        ``L``, the fewest observations to fit to: an int in ``[1, n_obs - horizon]``.
    horizon
        ``M``, the number of observations predicted (jointly) per step: an int >= 1.
    k_threshold
        Refit when the Pareto ``k`` exceeds it: in ``(0, 1]`` (the paper: 0.7; 0.6 is stricter).
    exact
        Refit at every step (exact LFO, ``n_obs - horizon - min_obs + 1`` fits), to check
        the approximation.

    Returns
    -------
    LFOResult
        ``elpd``, ``se``, ``pointwise``, ``pareto_k``, ``refits``, ``n_refits``, ``table()``.

    Raises
    ------
    ValueError
        Naming the argument: ``n_obs``, ``min_obs``, ``horizon`` or ``k_threshold`` out of
        range, or ``fit_prefix`` returning an array of the wrong shape or non-finite values.

    Examples
    --------
    ``y_t ~ N(theta, 1)``, ``theta ~ N(0, 10^2)``: the posterior given ``y_{1:i}`` is normal, so
    ``fit_prefix`` draws from it exactly; PSIS-LFO agrees with exact LFO with fewer fits:

    >>> import bayes_mfg as bm, numpy as np
    >>> y = np.random.default_rng(0).normal(1.0, 1.0, size=30)
    >>> def fit_prefix(i):
    ...     var = 1 / (1 / 100 + i)
    ...     theta = np.random.default_rng(i).normal(var * y[:i].sum(), np.sqrt(var), (4000, 1))
    ...     return -0.5 * (y - theta) ** 2 - 0.5 * np.log(2 * np.pi)
    >>> approx = bm.criticism.psis_lfo(fit_prefix, n_obs=30, min_obs=10)
    >>> exact = bm.criticism.psis_lfo(fit_prefix, n_obs=30, min_obs=10, exact=True)
    >>> approx.n_pred, approx.n_refits < exact.n_refits == 20, abs(approx.elpd - exact.elpd) < 0.1
    (20, True, True)
    """
    if not callable(fit_prefix):
        raise TypeError(f"fit_prefix must be a callable i -> (S, n_obs) log-likelihood, got {type(fit_prefix).__name__}")
    n_obs = check_positive_int("n_obs", n_obs, minimum=2)
    horizon = check_positive_int("horizon", horizon)
    if horizon > n_obs - 1:
        raise ValueError(f"horizon must be an int in [1, n_obs - 1] = [1, {n_obs - 1}], got {horizon}")
    min_obs = check_positive_int("min_obs", min_obs)
    if min_obs > n_obs - horizon:
        raise ValueError(f"min_obs must be an int in [1, n_obs - horizon] = [1, {n_obs - horizon}] (at least one "
                         f"step to predict), got {min_obs}")
    if isinstance(k_threshold, bool) or not isinstance(k_threshold, (int, float, np.floating, np.integer)) \
            or not 0 < k_threshold <= 1:
        raise ValueError(f"k_threshold must be a number in (0, 1] (0.7 recommended), got {k_threshold!r}")
    k_threshold = float(k_threshold)
    exact = bool(exact)
    from scipy.special import logsumexp

    origins = np.arange(min_obs, n_obs - horizon + 1)
    pointwise = np.empty(len(origins))
    pareto_k = np.full(len(origins), np.nan)
    refits: list[int] = []
    star, ll = -1, None
    for p, i in enumerate(origins):
        i = int(i)
        block = None
        if not exact and ll is not None:
            lw, k = psis_log_weights(ll[:, star:i].sum(axis=1))
            if k <= k_threshold:
                block = float(logsumexp(lw + ll[:, i:i + horizon].sum(axis=1)))
                pareto_k[p] = k
        if block is None:  # first step, exact LFO, or k above the threshold: fit to y_{1:i}
            star, ll = i, _check_loglik(fit_prefix(i), i, n_obs)
            refits.append(i)
            block = _log_mean_exp(ll[:, i:i + horizon].sum(axis=1))
        pointwise[p] = block
    n = len(pointwise)
    se = float(np.sqrt(n * np.var(pointwise, ddof=1))) if n > 1 else float("nan")
    return LFOResult(float(pointwise.sum()), se, pointwise, pareto_k, tuple(refits), len(refits), exact, origins,
                     min_obs, horizon, k_threshold)


def _first_rows(data: Observations, rows: np.ndarray, i: int) -> Observations:
    """``data`` with every observed row after the first ``i`` (``rows``: their time indices) masked."""
    mask = data.mask.copy()
    mask[0, rows[i:]] = False
    values = np.where(mask, data.values, 0.0)
    for arr in (mask, values):
        arr.setflags(write=False)
    return dataclasses.replace(data, values=values, mask=mask)


def lfo(model: CalibrationModel, data: Observations, *, min_times: int,
        fit: Callable[[CalibrationModel, Observations], Any] | None = None, horizon: int = 1,
        k_threshold: float = 0.7, exact: bool = False, num_samples: int | None = 1000, seed: int = 0) -> LFOResult:
    """Leave-future-out ELPD of a model on one trajectory: how well fits to its first rows
    predict the next ones (PSIS-LFO, :func:`psis_lfo`).

    The observation unit is one observed time row (the sum of its entries' log-likelihood;
    rows without an observed entry are skipped). A fit to the first ``i`` rows is ``fit`` on
    ``data`` with the later rows masked; its draws score every row of the unmasked ``data``.

    Parameters
    ----------
    model
        The :class:`~bayes_mfg.CalibrationModel`.
    data
        One trajectory (``data.n_trajectories == 1``; for several, call it per trajectory on
        ``data.subset([j])``).
    min_times
        The fewest observed rows to fit to, in ``[1, n_rows - horizon]``.
    fit
        ``fit(model, data) -> Fit`` (any :class:`~bayes_mfg.inference.Fit`, e.g.
        ``lambda m, d: bm.laplace(m, d)``); default: a short NUTS run, one chain of 300
        warm-up and ``num_samples`` draws (:func:`~bayes_mfg.fit_nuts`).
    horizon, k_threshold, exact
        As for :func:`psis_lfo`.
    num_samples
        Draws of each fit used (a sampler's draws thinned to it, or an approximation's
        number of draws; None: all, or 500).
    seed
        Seed of the default fit and of the draws of an approximation.

    Returns
    -------
    LFOResult
        Its ``times`` hold the time of the first predicted row of each step.

    Examples
    --------
    >>> res = bm.lfo(model, data, min_times=5, fit=lambda m, d: bm.laplace(m, d))  # doctest: +SKIP
    >>> res.elpd, res.refits, res.table()  # doctest: +SKIP
    """
    check_seed("seed", seed)
    if not isinstance(data, Observations):
        raise TypeError(f"data must be bayes_mfg.Observations, got {type(data).__name__}")
    if data.n_trajectories != 1:
        raise ValueError(f"lfo takes one trajectory (a single long series), got {data.n_trajectories}; "
                         "call it per trajectory, lfo(model, data.subset([j]), ...)")
    model.check_data(data)
    if num_samples is not None:
        check_positive_int("num_samples", num_samples)
    check_positive_int("horizon", horizon)
    rows = np.nonzero(data.mask[0].any(-1))[0]
    n_rows = len(rows)
    check_positive_int("min_times", min_times)
    if n_rows < 2 or min_times > n_rows - horizon:
        raise ValueError(f"min_times must be an int in [1, n_rows - horizon] = [1, {n_rows - horizon}] "
                         f"({n_rows} observed rows), got {min_times}")
    if fit is None:
        def fit(m: CalibrationModel, d: Observations) -> Any:
            return fit_nuts(m, d, num_chains=1, num_warmup=300, num_samples=num_samples or 1000, seed=seed,
                            progress_bar=False)

    quiet = without_reports(model)
    n_draws = num_samples or 500

    @jax.jit
    def loglik(draws: dict, params: dict) -> jax.Array:  # compiled once, reused by every fit
        fn = numpyro.handlers.substitute(quiet, data=params) if params else quiet
        if draws:
            return numpyro.infer.log_likelihood(fn, draws, data)["obs"]
        ll = numpyro.infer.log_likelihood(fn, {}, data, batch_ndims=0)["obs"]  # point parameters only
        return jnp.broadcast_to(ll, (n_draws, *ll.shape))

    def fit_prefix(i: int) -> np.ndarray:
        result = check_fit(fit(model, _first_rows(data, rows, i)))
        draws, params = posterior_draws(result, num_samples, seed)
        ll = np.asarray(loglik({k: jnp.asarray(v) for k, v in draws.items()}, params))[:, 0, rows]  # (S, n_rows)
        bad = int(np.sum(~np.all(np.isfinite(ll), axis=1)))
        if bad:
            raise ValueError(f"lfo: {bad} of {ll.shape[0]} draws of the fit to the first {i} rows give a non-finite "
                             "log-likelihood of the later rows (failed equilibrium solves, or data the draws cannot "
                             "produce)")
        return ll

    res = psis_lfo(fit_prefix, n_rows, min_times, horizon=horizon, k_threshold=k_threshold, exact=exact)
    return dataclasses.replace(res, times=np.asarray(data.times)[rows[res.origins]])
