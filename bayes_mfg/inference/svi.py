"""Stochastic variational inference (NumPyro ``SVI``, optax optimisers): :func:`fit_svi` and
its result :class:`SVIResult`."""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import jax
import numpy as np
import optax
import xarray as xr
from numpyro.infer import SVI, Trace_ELBO, autoguide

from bayes_mfg._names import GUIDES
from bayes_mfg._validation import check_choice, check_positive_float, check_positive_int, check_seed
from bayes_mfg.data import Observations
from bayes_mfg.inference.arviz import draws_with_deterministic, fit_attrs, single_chain_tree
from bayes_mfg.inference.failures import SolverFailures, explaining_failed_starts, recording
from bayes_mfg.inference.inputs import check_fit_args, data_as_argument, init_strategy
from bayes_mfg.inference.results import Fit
from bayes_mfg.inference.sites import LATENT_ROLES, site_roles, sites_with_role
from bayes_mfg.model import CalibrationModel

__all__ = ["GUIDES", "SVIResult", "fit_svi", "make_guide", "no_latent_guide"]



@dataclass
class SVIResult(Fit):
    """Result of :func:`fit_svi` (a :class:`~bayes_mfg.inference.Fit`).

    Attributes
    ----------
    model, data
        What was fitted.
    guide
        The NumPyro autoguide.
    params
        Optimised parameters (guide and point-network parameters).
    losses
        ELBO loss per step (``inf`` where a step hit a failed equilibrium solve; that step
        was skipped by ``stable_update``).
    n_failed_steps
        Steps whose loss was not finite.
    svi
        The NumPyro ``SVI`` object.
    seed
        The seed used.
    settings
        The optimisation settings (recorded in the ArviZ attributes; reused by :meth:`refit`).
    failures
        :class:`~bayes_mfg.inference.SolverFailures`: model evaluations with a failed
        equilibrium (or adjoint) solve during the optimisation, with their parameter values.

    Examples
    --------
    >>> fit = bm.fit_svi(model, data)  # doctest: +SKIP
    >>> fit.losses[-1], fit.params, fit.to_arviz()  # doctest: +SKIP
    """

    method: ClassVar[str] = "svi"

    model: CalibrationModel
    data: Observations
    guide: Any
    params: dict
    losses: np.ndarray
    n_failed_steps: int
    svi: Any
    seed: int
    settings: dict = field(default_factory=dict)
    failures: SolverFailures = field(default_factory=SolverFailures)
    _trees: dict = field(default_factory=dict, repr=False, compare=False)

    def point_params(self) -> dict[str, Any]:
        """The optimised parameters (substituted into the model with guide draws)."""
        return dict(self.params)

    def sample_posterior(self, num_samples: int = 1000, seed: int | None = None) -> dict[str, np.ndarray]:
        """Draws of every latent and deterministic site from the fitted guide."""
        check_positive_int("num_samples", num_samples)
        key = jax.random.PRNGKey(self.seed + 7 if seed is None else seed)
        k1, k2 = jax.random.split(key)
        roles = self.site_roles()
        latent = {}
        if sites_with_role(roles, *LATENT_ROLES):
            latent = self.guide.sample_posterior(k1, self.params, sample_shape=(num_samples,), data=self.data)
        latent = {k: v for k, v in latent.items() if roles.get(k) in LATENT_ROLES}
        return draws_with_deterministic(self.model, self.data, latent, self.params, k2, num_samples)

    def posterior_draws(self, num_samples: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """``num_samples`` (default 500) guide draws of the latent sites."""
        roles = self.site_roles()
        draws = self.sample_posterior(500 if num_samples is None else num_samples, seed)
        return {k: v for k, v in draws.items() if roles.get(k) in LATENT_ROLES}

    def median(self) -> dict[str, np.ndarray]:
        """The guide's median of the latent sites (the MAP for ``guide='delta'``)."""
        if not hasattr(self.guide, "median"):
            return {}
        return {k: np.asarray(v) for k, v in self.guide.median(self.params).items()}

    def to_arviz(self, num_samples: int = 500, seed: int | None = None) -> xr.DataTree:
        """ArviZ ``DataTree`` from ``num_samples`` guide draws (one chain).

        For ``guide='delta'`` all draws are the point estimate. The loss history is the
        group ``svi_losses`` (dim ``step``). The tree is cached per ``(num_samples, seed)``.
        """
        seed = self.seed if seed is None else seed
        key = (num_samples, seed)
        if key not in self._trees:
            draws = self.sample_posterior(num_samples, seed)
            losses = xr.Dataset({"loss": xr.DataArray(self.losses, dims=("step",))})
            self._trees[key] = single_chain_tree(
                self.model, self.data, self.site_roles(), draws, self.params, seed,
                fit_attrs(self.model, "svi", seed, self.settings), self.failures, {"svi_losses": losses},
            )
        return self._trees[key]

    def refit(self, data: Observations) -> "SVIResult":
        """:func:`fit_svi` of the same model, guide, settings and seed to ``data``."""
        keys = ("guide", "num_steps", "learning_rate", "num_particles")
        kw = {k: self.settings[k] for k in keys if k in self.settings}
        if not isinstance(kw.get("guide"), str):
            kw["guide"] = self.guide
        return fit_svi(self.model, data, seed=self.seed, progress_bar=False, **kw)


def no_latent_guide(*args: Any, **kwargs: Any) -> None:
    """The guide of a model without latent sample sites (point networks only)."""
    return None


def make_guide(model: CalibrationModel, guide: Any, init: Callable):
    """The guide named by ``guide`` (one of :data:`GUIDES`, started by the init strategy
    ``init``: :func:`~bayes_mfg.inference.inputs.init_strategy`) or ``guide`` itself when it is a
    NumPyro guide."""
    if isinstance(guide, str):
        check_choice("guide", guide, GUIDES)
        cls = {
            "delta": autoguide.AutoDelta,
            "normal": autoguide.AutoNormal,
            "lowrank": autoguide.AutoLowRankMultivariateNormal,
            "multivariate": autoguide.AutoMultivariateNormal,
        }
        kwargs = {"init_loc_fn": init}
        if guide != "delta":
            kwargs["init_scale"] = 0.05
        return cls[guide](model, **kwargs)
    if isinstance(guide, autoguide.AutoGuide) or callable(guide):
        return guide
    raise TypeError(f"guide must be one of {GUIDES} or a NumPyro guide, got {type(guide).__name__}")


def fit_svi(
    model: CalibrationModel,
    data: Observations,
    *,
    guide: str | Any = "delta",
    num_steps: int = 2000,
    learning_rate: float = 1e-2,
    optimizer: optax.GradientTransformation | None = None,
    num_particles: int = 1,
    init_values: dict | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    progress_bar: bool = True,
) -> SVIResult:
    """Fit by stochastic variational inference (``Trace_ELBO``, optax optimiser).

    Parameters
    ----------
    model, data
        The calibration model and its observations; data sharded across devices
        (:func:`shard_trajectories`) make every step data-parallel.
    guide
        ``"delta"`` (MAP / point estimate, the seed paper's fit), ``"normal"`` (mean field
        Gaussian), ``"lowrank"`` (low-rank multivariate normal), ``"multivariate"``
        (full-covariance normal: for a few dozen latent dimensions, and whenever the
        posterior is sharp along a combination of coordinates, e.g. spline coefficients
        pinned down only near the horizon, where a mean-field guide shrinks every marginal)
        or a NumPyro guide.
    num_steps, learning_rate
        Optimisation steps; Adam's learning rate (ignored when ``optimizer`` is given).
    optimizer
        An optax ``GradientTransformation`` (default ``optax.adam(learning_rate)``).
    num_particles
        ELBO particles per step.
    init_values
        Optional ``{site: value}`` initial values (default: prior medians).
    batch_size
        Minibatch SVI: each step solves and observes a fresh random batch of this many
        trajectories and scales their log-likelihood by ``n_traj / batch_size`` (NumPyro
        subsample plate), an unbiased estimate of the full-data ELBO at
        ``batch_size / n_traj`` of its cost per step (the seed paper trains on batches of
        10). Needs global latent sites only (``mu0`` from the data or shared; paths
        shared across trajectories). None (default): every trajectory in every step.
    seed, progress_bar
        Random seed; show NumPyro's progress bar (not shown for sharded data).

    Returns
    -------
    SVIResult
        With ``params``, ``losses``, ``median()``, ``sample_posterior()`` and ``to_arviz()``.

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> sim = bm.datasets.simulate(game, {"gamma": 1.3}, 10, bm.observe.Dirichlet(500.0), seed=1)
    >>> model = bm.CalibrationModel(game, {"gamma": dist.LogNormal(0.0, 0.5)}, bm.observe.Dirichlet(500.0))
    >>> fit = bm.fit_svi(model, sim.data, guide="normal", num_steps=2000)  # doctest: +SKIP
    >>> fit.sample_posterior(1000)["gamma"].mean()  # doctest: +SKIP
    """
    check_seed("seed", seed)
    check_fit_args(model, data)
    check_positive_int("num_steps", num_steps)
    check_positive_float("learning_rate", learning_rate)
    check_positive_int("num_particles", num_particles)
    if isinstance(guide, str):
        check_choice("guide", guide, GUIDES)
    init = init_strategy(model, data, init_values, "fit_svi")
    if optimizer is not None and not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(f"optimizer must be an optax.GradientTransformation, got {type(optimizer).__name__}")
    if batch_size is not None:
        model.check_subsample_size(data, batch_size)
    if not sites_with_role(site_roles(model, data), *LATENT_ROLES):
        # only point networks (numpyro.param sites in the model): nothing for a guide to fit
        g = no_latent_guide
    else:
        g = make_guide(model, guide, init)
    opt = optimizer if optimizer is not None else optax.adam(learning_rate)
    fitted = model if batch_size is None else functools.partial(model, subsample_size=batch_size)
    svi = SVI(fitted, g, opt, Trace_ELBO(num_particles=num_particles))
    with recording("optimisation") as rec, explaining_failed_starts("fit_svi", rec):
        if data_as_argument(model, data, "fit_svi"):
            # SVI.run captures the data as a constant of the compiled loop; pass them as an argument
            state = svi.init(jax.random.PRNGKey(seed), data)

            @jax.jit
            def run(state, data):
                return jax.lax.scan(lambda s, _: svi.stable_update(s, data), state, None, length=num_steps)

            state, losses = run(state, data)
            params = svi.get_params(state)
        else:
            res = svi.run(jax.random.PRNGKey(seed), num_steps, data, progress_bar=progress_bar, stable_update=True)
            params, losses = res.params, res.losses
        losses = np.asarray(losses)
    n_failed = int(np.sum(~np.isfinite(losses)))
    if n_failed or rec.tally:
        warnings.warn(
            f"fit_svi: {n_failed} of {num_steps} steps had a non-finite loss and were skipped; "
            + rec.tally.message("fit_svi"),
            RuntimeWarning,
            stacklevel=2,
        )
    settings = {"guide": guide if isinstance(guide, str) else type(guide).__name__, "num_steps": num_steps,
                "learning_rate": learning_rate, "num_particles": num_particles,
                "batch_size": data.n_trajectories if batch_size is None else batch_size}
    return SVIResult(model, data, g, params, losses, n_failed, svi, seed, settings, rec.tally)
