"""Does the time step bias the posterior? :func:`time_step_check` re-weights a fit's draws to
the model on a grid with a smaller step and reports how far each posterior mean moves.

The equilibrium is computed on the game's time grid, so the likelihood a fit targets is that
of the discretised game, with an error of order ``dt^p`` (``p`` the scheme's order). With
``L`` the likelihood on the fit's grid and ``L'`` the likelihood on the grid refined by
``factor`` (the same model: every observation time stays a grid point, inputs on the grid are
interpolated, :meth:`~bayes_mfg.CalibrationModel.on_time_grid`), the posterior of the finer
model is the fit's posterior re-weighted by ``L' / L``::

    log w_s = log L'(theta_s) - log L(theta_s)      (Pareto-smoothed, normalised)

so, from ``S`` posterior draws, each parameter's posterior mean under the finer grid is
``sum_s w_s theta_s``; its shift in posterior standard deviations,

    shift = (sum_s w_s theta_s - mean_s theta_s) / sd_s(theta_s),

measures the part of the posterior that the time step, not the data, decides. The shift
from ``dt`` to ``dt / f`` is ``(1 - f^-p)`` of the whole bias of ``dt`` against the
continuous game (to leading order), so the bias is estimated as ``shift / (1 - f^-p)`` and the
number of steps that brings it under ``threshold`` as ``(N - 1) (bias / threshold)^(1/p)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd

from bayes_mfg._tables import markdown_table
from bayes_mfg._validation import check_positive_float, check_positive_int, check_seed
from bayes_mfg.criticism._fits import check_fit
from bayes_mfg.criticism._lfo import psis_log_weights
from bayes_mfg.games.base import ContinuousTimeGame
from bayes_mfg.inference.failures import without_reports
from bayes_mfg.inference.sites import SiteRole

__all__ = ["TimeStepCheck", "time_step_check", "TIME_STEP_THRESHOLD"]

#: Default largest acceptable shift of a posterior mean, in posterior standard deviations.
TIME_STEP_THRESHOLD = 0.1


@dataclass(frozen=True)
class TimeStepCheck:
    """What halving (``factor``-ing) the time step does to a posterior (:func:`time_step_check`).

    Attributes
    ----------
    n_steps, refined_steps
        Time steps ``N - 1`` of the fit's grid and of the refined grid.
    scheme, order
        The game's time-stepping scheme and its order in dt.
    n_draws, n_failed
        Posterior draws used, and those whose solve on either grid failed (dropped; the
        check does not pass when more than 10% fail).
    loglik_shift, loglik_shift_sd
        Posterior mean of ``log L' - log L`` (the total log-likelihood), and the same in
        posterior standard deviations of ``log L``.
    shifts
        One row per scalar parameter (element of a parameter site): ``mean`` (the fit's),
        ``refined_mean`` (re-weighted), ``sd`` and ``shift`` (in sds).
    max_shift
        The largest ``|shift|`` (NaN when nothing could be compared).
    pareto_k
        Pareto k of the importance weights (above 0.7 the re-weighting is unreliable: the
        grids disagree so much that a refit on the finer grid is needed; the check fails).
    threshold
        The largest acceptable ``|shift|``.
    passed
        Whether ``max_shift <= threshold``, ``pareto_k <= 0.7`` and at most 10% of solves failed.
    suggested_steps
        When not passed, the fewest time steps that bring the estimated bias under
        ``threshold`` and keep every observation time on the grid (``None`` when passed).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> check = bm.criticism.TimeStepCheck(n_steps=40, refined_steps=80, scheme="implicit", order=1, n_draws=100,
    ...     n_failed=0, loglik_shift=-3.1, loglik_shift_sd=-1.2, shifts=None, max_shift=0.45, pareto_k=0.3,
    ...     threshold=0.1, passed=False, suggested_steps=360)
    >>> print(check.summary().splitlines()[0])
    time step: FAILS (40 steps, implicit, order 1): posterior means move by up to 0.45 sd when dt is halved
    """

    n_steps: int
    refined_steps: int
    scheme: str
    order: int
    n_draws: int
    n_failed: int
    loglik_shift: float
    loglik_shift_sd: float
    shifts: pd.DataFrame | None
    max_shift: float
    pareto_k: float
    threshold: float
    passed: bool
    suggested_steps: int | None

    @property
    def warning(self) -> str | None:
        """One line to show a user when the check fails (None when it passes)."""
        if self.passed:
            return None
        if self.n_failed > 0.1 * self.n_draws:
            return (f"time step check: {self.n_failed} of {self.n_draws} solves failed on the fit's or the refined grid; "
                    "the posterior cannot be compared across grids")
        if not self.pareto_k <= 0.7:
            return (f"time step check: the likelihoods on {self.n_steps} and {self.refined_steps} steps disagree too much "
                    f"to re-weight (Pareto k {self.pareto_k:.2f}); refit with n_times = {self.refined_steps + 1} or more")
        hint = f"; n_times = {self.suggested_steps + 1} would bring it under {self.threshold:g}" \
            if self.suggested_steps is not None else ""
        return (f"time step check: posterior means move by up to {self.max_shift:.2f} posterior sd when dt is divided by "
                f"{self.refined_steps // self.n_steps} ({self.scheme}, {self.n_steps} steps){hint}")

    def summary(self) -> str:
        """A few lines: the verdict, the log-likelihood shift and the shifts table."""
        verdict = "passes" if self.passed else "FAILS"
        lines = [f"time step: {verdict} ({self.n_steps} steps, {self.scheme}, order {self.order}): posterior means "
                 f"move by up to {self.max_shift:.2f} sd when dt is halved"
                 if self.refined_steps == 2 * self.n_steps else
                 f"time step: {verdict} ({self.n_steps} steps, {self.scheme}, order {self.order}): posterior means "
                 f"move by up to {self.max_shift:.2f} sd on {self.refined_steps} steps",
                 f"log-likelihood shift {self.loglik_shift:+.3g} ({self.loglik_shift_sd:+.2f} posterior sd), "
                 f"Pareto k {self.pareto_k:.2f}, {self.n_failed} of {self.n_draws} solves failed, "
                 f"threshold {self.threshold:g} sd"]
        if self.warning is not None:
            lines.append(self.warning)
        if self.shifts is not None and len(self.shifts):
            lines.append(markdown_table(self.shifts))
        return "\n".join(lines)


def _loglik_and_ok(model, data, draws: dict, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(S,)`` total log-likelihood of ``data`` and whether every trajectory's solve converged, per draw."""
    fn = without_reports(model)
    if params:
        fn = numpyro.handlers.substitute(fn, data=params)

    def one(draw):
        tr = numpyro.handlers.trace(numpyro.handlers.substitute(numpyro.handlers.seed(fn, 0), data=draw)).get_trace(data)
        site = tr["obs"]
        ll = jnp.sum(site["fn"].log_prob(site["value"]))
        ok = jnp.all(tr["solver_converged"]["value"]) if "solver_converged" in tr else jnp.array(True)
        return ll, ok

    ll, ok = jax.jit(jax.vmap(one))({k: jnp.asarray(v) for k, v in draws.items()})
    ll, ok = np.asarray(ll, dtype=np.float64), np.asarray(ok, dtype=bool)
    return ll, ok & np.isfinite(ll)


def _steps_on_data_times(steps: int, n_steps: int, times: np.ndarray, horizon: float) -> int:
    """The fewest time steps >= ``steps`` whose grid holds every observation time (a multiple
    of ``n_steps`` does: the search ends there)."""
    last = int(math.ceil(steps / n_steps)) * n_steps
    for m in range(steps, last):
        k = times * m / horizon
        if np.all(np.abs(k - np.round(k)) <= 1e-9 * max(1.0, float(np.max(np.abs(k))))):
            return m
    return last


def time_step_check(fit, *, factor: int = 2, num_draws: int = 100, threshold: float = TIME_STEP_THRESHOLD,
                    seed: int = 0) -> TimeStepCheck:
    """Check that the time step of the game does not move the posterior: the fit's draws
    re-weighted to the model on a grid with ``dt / factor`` (see the module).

    Parameters
    ----------
    fit
        A fit (:class:`bayes_mfg.inference.Fit`: a NUTS, SVI or Laplace result) of a model
        whose game is in continuous time (a discrete-time game's step is part of the model).
    factor
        The step is divided by this integer (>= 2).
    num_draws
        Posterior draws evaluated on both grids (NUTS: evenly thinned; >= 10).
    threshold
        Largest acceptable shift of a posterior mean, in posterior sds (default 0.1).
    seed
        Seeds the draws of an approximate posterior (SVI, Laplace).

    Returns
    -------
    TimeStepCheck

    Raises
    ------
    TypeError
        ``fit`` is not a fit.
    ValueError
        A discrete-time game, or bad ``factor``, ``num_draws`` or ``threshold``.

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> game = bm.games.SIR(n_times=21, horizon=20.0)
    >>> sim = bm.datasets.simulate(game, {"beta": 0.6, "gamma": 0.2}, 1, bm.observe.Poisson(exposure=2000.0),
    ...                            mu0=[[0.97, 0.03, 0.0]])
    >>> model = bm.CalibrationModel(game, {"beta": dist.LogNormal(-0.5, 0.5)}, bm.observe.Poisson(exposure=2000.0),
    ...                             fixed={"gamma": 0.2}, mu0_source="data")
    >>> fit = bm.laplace(model, sim.data)  # doctest: +SKIP
    >>> check = bm.time_step_check(fit)  # doctest: +SKIP
    >>> check.passed, check.suggested_steps  # doctest: +SKIP
    (False, 963)
    """
    check_seed("seed", seed)
    fit = check_fit(fit)
    factor = check_positive_int("factor", factor, minimum=2)
    num_draws = check_positive_int("num_draws", num_draws, minimum=10)
    threshold = check_positive_float("threshold", threshold)
    model, data = fit.model, fit.data
    game = model.game
    if not isinstance(game, ContinuousTimeGame):
        raise ValueError(f"time_step_check needs a continuous-time game; {type(game).__name__} is in discrete time "
                         "(its time step is part of the model, not a discretisation)")
    n_steps = game.n_times - 1
    fine = model.on_time_grid(factor * n_steps + 1)
    draws, params = fit.posterior_draws(num_draws, seed), fit.point_params()
    ll, ok = _loglik_and_ok(model, data, draws, params)
    ll_fine, ok_fine = _loglik_and_ok(fine, data, draws, params)
    good = ok & ok_fine
    n_draws, n_failed = int(good.shape[0]), int((~good).sum())
    order = int(getattr(game.scheme, "order", 1))
    scheme = getattr(game.scheme, "name", None) or type(game.scheme).__name__
    if good.sum() < 2:
        return TimeStepCheck(n_steps, factor * n_steps, scheme, order, n_draws, n_failed, math.nan, math.nan, None,
                             math.nan, math.inf, threshold, False, None)
    delta = ll_fine[good] - ll[good]
    lw, k = psis_log_weights(delta)
    if lw is None:
        lw, k = np.full(delta.shape, -math.log(delta.shape[0])), math.inf
    w = np.exp(lw)
    roles = fit.site_roles()
    rows = []
    for site, x in draws.items():
        if roles.get(site) != SiteRole.PARAMETER:
            continue
        x = np.asarray(x, dtype=np.float64)[good].reshape(int(good.sum()), -1)
        for j in range(x.shape[1]):
            col = x[:, j]
            sd = float(np.std(col))
            mean, refined = float(np.mean(col)), float(np.sum(w * col))
            label = site if x.shape[1] == 1 else f"{site}[{j}]"
            rows.append({"parameter": label, "mean": mean, "refined_mean": refined, "sd": sd,
                         "shift": (refined - mean) / sd if sd > 0 else 0.0})
    shifts = pd.DataFrame(rows).set_index("parameter") if rows else None
    max_shift = float(np.max(np.abs(shifts["shift"]))) if shifts is not None else math.nan
    sd_ll = float(np.std(ll[good]))
    passed = bool(max_shift <= threshold and k <= 0.7 and n_failed <= 0.1 * n_draws)
    suggested = None
    if not passed and np.isfinite(max_shift) and max_shift > threshold:
        bias = max_shift / (1.0 - factor ** (-order))
        suggested = _steps_on_data_times(int(math.ceil(n_steps * (bias / threshold) ** (1.0 / order))), n_steps,
                                         np.asarray(data.times), float(game.horizon))
    return TimeStepCheck(n_steps, factor * n_steps, scheme, order, n_draws, n_failed, float(np.mean(delta)),
                         float(np.mean(delta)) / sd_ll if sd_ll > 0 else 0.0, shifts, max_shift, float(k), threshold,
                         passed, suggested)
