"""Inference for a :class:`CalibrationModel`: SVI (optax) and NUTS, with ArviZ output.

``fit_svi`` and ``fit_nuts`` wrap NumPyro's ``SVI`` and ``MCMC(NUTS)``; their results keep the
NumPyro objects (``.svi``, ``.mcmc``) and add ``to_arviz()``: an ``xarray.DataTree`` with the
groups posterior, posterior_predictive, log_likelihood, observed_data and sample_stats (NUTS
statistics plus the equilibrium solver's convergence, iterations and residual per draw and
trajectory), dims ``chain, draw, trajectory, time, state, time_step`` and parameter dims.
"""

from __future__ import annotations

import functools
import importlib.metadata as _md
import os
import pathlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import optax
import xarray as xr
from numpyro.infer import MCMC, NUTS, SVI, Predictive, Trace_ELBO
from numpyro.infer import autoguide
from numpyro.infer.initialization import init_to_median, init_to_value

from bayes_mfg._validation import check_choice, check_positive_float, check_positive_int
from bayes_mfg.data import Observations
from bayes_mfg.failures import SolverFailures, recording
from bayes_mfg.model import SOLVER_SITES, CalibrationModel
from bayes_mfg.parallel import is_sharded

GUIDES = ("delta", "normal", "lowrank", "multivariate")
CHAIN_METHODS = ("auto", "sequential", "parallel", "vectorized")
NUTS_INITS = ("prior", "laplace")


# ---------------------------------------------------------------------------- helpers
def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("bayes_mfg", "jax", "jaxlib", "numpyro", "optax", "arviz", "arviz-base", "arviz-stats", "xarray",
                "numpy", "h5netcdf"):
        try:
            out[pkg] = _md.version(pkg)
        except _md.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _site_types(model: CalibrationModel, data: Observations, params: dict | None = None) -> dict[str, str]:
    """Map every site of one model run to 'latent', 'deterministic', 'observed' or 'param'."""
    fn = numpyro.handlers.seed(model, rng_seed=0)
    if params:
        fn = numpyro.handlers.substitute(fn, data=params)
    tr = numpyro.handlers.trace(fn).get_trace(data)
    kinds = {}
    for name, site in tr.items():
        if site["type"] == "sample":
            kinds[name] = "observed" if site["is_observed"] else "latent"
        elif site["type"] in ("deterministic", "param"):
            kinds[name] = site["type"]
    return kinds


def _check_fit_args(model: Any, data: Any) -> None:
    if not isinstance(model, CalibrationModel):
        raise TypeError(f"model must be a bayes_mfg.CalibrationModel, got {type(model).__name__}")
    model.check_data(data)


def _data_as_argument(model: CalibrationModel, data: Observations, caller: str) -> bool:
    """Whether to pass ``data`` to the compiled loop as an argument rather than a constant:
    when it is sharded over several devices (:func:`bayes_mfg.shard_trajectories`), because
    XLA partitions a computation by the shardings of its arguments, not of captured
    constants. Not possible for paths that read the observed shares (they need concrete data)."""
    if not is_sharded(data):
        return False
    if any(p.uses_mu_input for p in model.paths.values()):
        warnings.warn(f"{caller}: data are sharded over devices, but a parameter path reads the observed shares "
                      "(needs the data as constants): the fit runs, not partitioned across devices",
                      RuntimeWarning, stacklevel=3)
        return False
    return True


def _build_datatree(
    model: CalibrationModel,
    data: Observations,
    draws: dict[str, np.ndarray],
    predictive_obs: np.ndarray,
    log_lik: np.ndarray,
    sample_stats: dict[str, np.ndarray],
    attrs: dict[str, Any],
    extra_groups: dict[str, xr.Dataset] | None = None,
    log_prior_draws: np.ndarray | None = None,
):
    """Assemble the DataTree; every array has leading (chain, draw) dims."""
    from arviz_base import from_dict

    dims = model.site_dims()
    posterior = {k: v for k, v in draws.items() if k not in SOLVER_SITES and k != "obs"}
    stats = dict(sample_stats)
    stats.update({k: draws[k] for k in SOLVER_SITES if k in draws})
    observed = np.where(data.mask, data.values, np.nan)
    coords = {
        "trajectory": list(data.trajectory_names),
        "time": np.asarray(data.times),
        "state": list(data.state_names),
        "time_step": np.asarray(model.game.time_grid),
    }
    tree = from_dict(
        {
            "posterior": posterior,
            "posterior_predictive": {"obs": predictive_obs},
            "log_likelihood": {"obs": log_lik},
            **({"log_prior": {"lp": log_prior_draws}} if log_prior_draws is not None else {}),
            "sample_stats": stats,
            "observed_data": {"obs": observed},
        },
        coords=coords,
        dims={k: list(v) for k, v in dims.items()},
    )
    tree.attrs.update({k: str(v) for k, v in attrs.items()})
    tree["observed_data"]["mask"] = xr.DataArray(np.asarray(data.mask), dims=("trajectory", "time", "state"))
    for name, ds in (extra_groups or {}).items():
        tree[name] = xr.DataTree(ds)
    return tree


def _attrs(model: CalibrationModel, method: str, seed: int, settings: dict) -> dict[str, Any]:
    out = {
        "inference_library": "numpyro",
        "bayes_mfg_method": method,
        "seed": seed,
        "game": repr(model.game),
        "observation": repr(model.observation),
        "paths": repr(dict(model.paths)),
        "solver": repr(model.solver),
        "adjoint": repr(model.adjoint),
        **{f"setting_{k}": v for k, v in settings.items()},
    }
    out.update({f"version_{k}": v for k, v in _versions().items()})
    return out


def _flatten(tree: dict[str, Any], n: int) -> dict[str, jnp.ndarray]:
    """(chain, draw, ...) -> (chain * draw, ...)."""
    return {k: jnp.reshape(v, (n, *v.shape[2:])) for k, v in tree.items()}


def log_prior(model: CalibrationModel, data: Observations, samples: dict[str, Any], params: dict | None = None) -> np.ndarray:
    """Log prior density of each draw, ``(n_draws,)``: the sum over the latent sites.

    ``samples`` holds flat draws ``{site: (n_draws, ...)}`` on the sites' own scale
    (as in the ``posterior`` group). Evaluated on the prior part of the model
    (:meth:`CalibrationModel.parameters`) plus the learned observation-noise parameters,
    so no equilibrium is solved.
    """
    from numpyro.infer.util import log_density

    fn = model.parameters if not params else numpyro.handlers.substitute(model.parameters, data=params)
    obs_sites = {f"obs_{f}": getattr(model.observation, f) for f in model.observation.learned}

    def one(draw):
        lp, _ = log_density(fn, (data,), {}, {k: v for k, v in draw.items() if k not in obs_sites})
        for site, prior in obs_sites.items():
            lp = lp + jnp.sum(prior.log_prob(draw[site]))
        return lp

    return np.asarray(jax.vmap(one)(samples))


def _predict_and_loglik(model, data, latent_flat, params, seed, num_samples: int | None = None):
    """Posterior predictive draws of ``obs`` and pointwise log-likelihood for flat samples.

    ``latent_flat`` may be empty (a model whose only unknowns are point-network params);
    then ``num_samples`` identical draws are made.
    """
    fn = model if not params else numpyro.handlers.substitute(model, data=params)
    key = jax.random.PRNGKey(seed + 1)
    if latent_flat:
        obs = Predictive(fn, posterior_samples=latent_flat, return_sites=["obs"], batch_ndims=1)(key, data, observe=False)
        ll = numpyro.infer.log_likelihood(fn, latent_flat, data)["obs"]
    else:
        obs = Predictive(fn, num_samples=num_samples, return_sites=["obs"])(key, data, observe=False)
        ll = numpyro.infer.log_likelihood(fn, {}, data, batch_ndims=0)["obs"]
        ll = jnp.broadcast_to(ll, (num_samples, *ll.shape))
    return np.asarray(obs["obs"]), np.asarray(ll)


# ---------------------------------------------------------------------------- SVI
@dataclass
class SVIResult:
    """Result of :func:`fit_svi`.

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
    failures
        :class:`bayes_mfg.failures.SolverFailures`: model evaluations with a failed
        equilibrium (or adjoint) solve during the optimisation, with their parameter values.
    svi
        The NumPyro ``SVI`` object.
    seed
        The seed used.

    Examples
    --------
    >>> fit = bm.fit_svi(model, data)  # doctest: +SKIP
    >>> fit.losses[-1], fit.params, fit.to_arviz()  # doctest: +SKIP
    """

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

    def sample_posterior(self, num_samples: int = 1000, seed: int | None = None) -> dict[str, np.ndarray]:
        """Draws of every latent and deterministic site from the fitted guide."""
        check_positive_int("num_samples", num_samples)
        key = jax.random.PRNGKey(self.seed + 7 if seed is None else seed)
        k1, k2 = jax.random.split(key)
        kinds = _site_types(self.model, self.data, self.params)
        latent = {}
        if any(v == "latent" for v in kinds.values()):
            latent = self.guide.sample_posterior(k1, self.params, sample_shape=(num_samples,), data=self.data)
        latent = {k: v for k, v in latent.items() if kinds.get(k) == "latent"}
        fn = numpyro.handlers.substitute(self.model, data=self.params)
        if latent:
            pred = Predictive(fn, posterior_samples=latent, batch_ndims=1)
        else:  # only point networks: every draw is the same deterministic prediction
            pred = Predictive(fn, num_samples=num_samples)
        out = {**latent, **pred(k2, self.data)}
        return {k: np.asarray(v) for k, v in out.items() if k not in ("obs", "equilibrium_failure")}

    def median(self) -> dict[str, np.ndarray]:
        """The guide's median of the latent sites (the MAP for ``guide='delta'``)."""
        if not hasattr(self.guide, "median"):
            return {}
        return {k: np.asarray(v) for k, v in self.guide.median(self.params).items()}

    def to_arviz(self, num_samples: int = 500, seed: int | None = None):
        """ArviZ ``DataTree`` from ``num_samples`` guide draws (one chain).

        For ``guide='delta'`` all draws are the point estimate. The loss history is the
        group ``svi_losses`` (dim ``step``). The tree is cached per ``(num_samples, seed)``.
        """
        seed = self.seed if seed is None else seed
        key = (num_samples, seed)
        if key not in self._trees:
            self._trees[key] = self._to_arviz(num_samples, seed)
        return self._trees[key]

    def _to_arviz(self, num_samples: int, seed: int):
        draws = self.sample_posterior(num_samples, seed)
        kinds = _site_types(self.model, self.data, self.params)
        latent = {k: jnp.asarray(v) for k, v in draws.items() if kinds.get(k) == "latent"}
        obs, ll = _predict_and_loglik(self.model, self.data, latent, self.params, seed, num_samples)
        add_chain = lambda v: np.asarray(v)[None]  # noqa: E731
        keep = {k: add_chain(v) for k, v in draws.items() if kinds.get(k) in ("latent", "deterministic")}
        losses = xr.Dataset({"loss": xr.DataArray(self.losses, dims=("step",))})
        lp = add_chain(log_prior(self.model, self.data, latent, self.params)) if latent else None
        tree = _build_datatree(
            self.model,
            self.data,
            keep,
            add_chain(obs),
            add_chain(ll),
            {},
            _attrs(self.model, "svi", seed, self.settings),
            {"svi_losses": losses},
            lp,
        )
        tree["sample_stats"].attrs.update(self.failures.to_attrs())
        return tree


def _no_latent_guide(*args: Any, **kwargs: Any) -> None:
    """The guide of a model without latent sample sites (point networks only)."""
    return None


def _make_guide(model: CalibrationModel, guide: Any, init_values: dict | None):
    init = init_to_value(values=init_values) if init_values else init_to_median(num_samples=15)
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
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
    >>> sim = bm.datasets.simulate(game, {"gamma": 1.3}, 10, bm.observe.Dirichlet(500.0), seed=1)
    >>> model = bm.CalibrationModel(game, {"gamma": dist.LogNormal(0.0, 0.5)}, bm.observe.Dirichlet(500.0))
    >>> fit = bm.fit_svi(model, sim.data, guide="normal", num_steps=2000)  # doctest: +SKIP
    >>> fit.sample_posterior(1000)["gamma"].mean()  # doctest: +SKIP
    """
    _check_fit_args(model, data)
    check_positive_int("num_steps", num_steps)
    check_positive_float("learning_rate", learning_rate)
    check_positive_int("num_particles", num_particles)
    if optimizer is not None and not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(f"optimizer must be an optax.GradientTransformation, got {type(optimizer).__name__}")
    if batch_size is not None:
        model.check_subsample_size(data, batch_size)
    if not any(v == "latent" for v in _site_types(model, data).values()):
        # only point networks (numpyro.param sites in the model): nothing for a guide to fit
        g = _no_latent_guide
    else:
        g = _make_guide(model, guide, init_values)
    opt = optimizer if optimizer is not None else optax.adam(learning_rate)
    fitted = model if batch_size is None else functools.partial(model, subsample_size=batch_size)
    svi = SVI(fitted, g, opt, Trace_ELBO(num_particles=num_particles))
    with recording("optimisation") as rec:
        if _data_as_argument(model, data, "fit_svi"):
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


# ---------------------------------------------------------------------------- NUTS
#: NUTS state fields collected per draw (the sample_stats group is built from them).
NUTS_FIELDS = ("diverging", "num_steps", "accept_prob", "energy", "potential_energy", "adapt_state.step_size")


class _IterationNUTS(NUTS):
    """NUTS that passes its iteration index to the model (keyword ``iteration``), so that
    failed equilibrium solves are attributed to warm-up or sampling. HMC regenerates the
    potential from the model arguments at every transition, so this costs nothing."""

    def sample(self, state, model_args, model_kwargs):
        return super().sample(state, model_args, {**(model_kwargs or {}), "iteration": state.i})


@dataclass
class NUTSResult:
    """Result of :func:`fit_nuts`: the draws, the NumPyro ``MCMC`` object, ArviZ conversion.

    Attributes
    ----------
    model, data, mcmc, seed
        What was fitted, the MCMC object (after a checkpointed run it holds only the last
        segment of draws: use ``samples`` / ``to_arviz()``), the seed.
    settings
        The sampler settings (recorded in the ArviZ attributes).
    laplace
        The :class:`LaplaceResult` used to initialise the chains (``init="laplace"``), else None.
    failures
        :class:`bayes_mfg.failures.SolverFailures`: proposals rejected because an
        equilibrium (or adjoint) solve failed, per phase, with the failing parameter values.

    Examples
    --------
    >>> fit = bm.fit_nuts(model, data)  # doctest: +SKIP
    >>> fit.flat_samples()["gamma"].shape, fit.to_arviz()  # doctest: +SKIP
    """

    model: CalibrationModel
    data: Observations
    mcmc: MCMC
    seed: int
    settings: dict = field(default_factory=dict)
    laplace: Any = None
    failures: SolverFailures = field(default_factory=SolverFailures)
    draws: dict = field(default_factory=dict, repr=False)
    fields: dict = field(default_factory=dict, repr=False)
    _trees: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def samples(self) -> dict[str, np.ndarray]:
        """Draws grouped by chain: ``{site: (chain, draw, ...)}``."""
        return dict(self.draws)

    def flat_samples(self) -> dict[str, np.ndarray]:
        """Draws with chains concatenated: ``{site: (chain * draw, ...)}``."""
        return {k: v.reshape(-1, *v.shape[2:]) for k, v in self.draws.items()}

    @property
    def num_divergences(self) -> int:
        return int(np.sum(self.fields["diverging"]))

    def to_arviz(self):
        """ArviZ ``DataTree`` with posterior, posterior_predictive, log_likelihood, log_prior,
        observed_data and sample_stats (NUTS statistics and solver diagnostics; the failure
        tally in the attributes of sample_stats); cached."""
        if "tree" not in self._trees:
            self._trees["tree"] = self._to_arviz()
        return self._trees["tree"]

    def _to_arviz(self):
        samples = self.samples
        kinds = _site_types(self.model, self.data)
        chains, draws = next(iter(samples.values())).shape[:2]
        latent = {k: jnp.asarray(v) for k, v in samples.items() if kinds.get(k) == "latent"}
        obs, ll = _predict_and_loglik(self.model, self.data, _flatten(latent, chains * draws), None, self.seed)
        reshape = lambda v: np.reshape(v, (chains, draws, *v.shape[1:]))  # noqa: E731
        extra = self.fields
        stats = {
            "diverging": np.asarray(extra["diverging"]),
            "n_steps": np.asarray(extra["num_steps"]),
            "tree_depth": np.floor(np.log2(np.asarray(extra["num_steps"]) + 1)).astype(int),
            "acceptance_rate": np.asarray(extra["accept_prob"]),
            "energy": np.asarray(extra["energy"]),
            "lp": -np.asarray(extra["potential_energy"]),
            "step_size": np.asarray(extra["adapt_state.step_size"]),
        }
        keep = {k: v for k, v in samples.items() if kinds.get(k) in ("latent", "deterministic")}
        lp = reshape(log_prior(self.model, self.data, _flatten(latent, chains * draws)))
        tree = _build_datatree(
            self.model,
            self.data,
            keep,
            reshape(obs),
            reshape(ll),
            stats,
            _attrs(self.model, "nuts", self.seed, self.settings),
            log_prior_draws=lp,
        )
        tree["sample_stats"].attrs.update(self.failures.to_attrs())
        return tree


# ---------------------------------------------------------------------------- Laplace
@dataclass(frozen=True, eq=False)
class LaplaceResult:
    """A Gaussian (Laplace) approximation of the posterior at its mode.

    In NumPyro's unconstrained space ``z`` (positive parameters on the log scale, simplex
    values by stick breaking, ...), with potential ``U(z) = -log p(z, data)``::

        z_map = argmin U(z),   H = d^2 U / dz^2 at z_map,   p(z | data) ~ Normal(z_map, H^-1)

    ``H`` is the observed information plus the prior's curvature; it is computed by central
    differences of the exact (implicit) gradient. Eigenvalues of ``H`` below
    ``eigenvalue_floor * max eigenvalue`` are raised to that floor before inverting.

    Attributes
    ----------
    z_map
        ``(n,)`` mode in unconstrained space (flattened; ``unravel`` maps back to sites).
    hessian, covariance
        ``(n, n)`` Hessian of the potential at the mode and its regularised inverse.
    eigenvalues
        Eigenvalues of ``hessian`` (ascending; before flooring).
    site_names
        Latent sites, in the order of the flattened vector.
    map_values
        ``{site: value}`` at the mode on the sites' own (constrained) scale.
    converged
        Whether the optimiser reached ``gtol`` (gradient norm) within ``max_steps``.
    n_steps, grad_norm, potential
        Optimiser steps, final gradient norm, ``U(z_map)``.

    Examples
    --------
    >>> lap = bm.laplace(model, data)  # doctest: +SKIP
    >>> lap.map_values, lap.covariance, lap.converged  # doctest: +SKIP
    """

    z_map: np.ndarray
    hessian: np.ndarray
    covariance: np.ndarray
    eigenvalues: np.ndarray
    site_names: tuple[str, ...]
    map_values: dict[str, np.ndarray]
    converged: bool
    n_steps: int
    grad_norm: float
    potential: float
    unravel: Callable[[Any], dict] = field(repr=False)

    def sample_unconstrained(self, key: Any, n: int) -> np.ndarray:
        """``(n, dim)`` draws from ``Normal(z_map, covariance)`` in unconstrained space."""
        chol = np.linalg.cholesky(self.covariance)
        eps = np.asarray(jax.random.normal(key, (n, self.z_map.size), dtype=jnp.float64))
        return self.z_map + eps @ chol.T


def laplace(
    model: CalibrationModel,
    data: Observations,
    *,
    init_values: dict | None = None,
    max_steps: int = 500,
    gtol: float = 1e-6,
    fd_step: float = 1e-5,
    eigenvalue_floor: float = 1e-10,
    seed: int = 0,
) -> LaplaceResult:
    """Find the posterior mode (L-BFGS) and the Gaussian approximation around it.

    Parameters
    ----------
    model, data
        The calibration model and its observations (no point networks: every unknown must
        be a latent sample site).
    init_values
        Optional ``{site: value}`` starting point (default: prior medians).
    max_steps, gtol
        L-BFGS (optax, zoom line search) step cap and gradient-norm tolerance.
    fd_step
        Relative step of the central differences for the Hessian.
    eigenvalue_floor
        Relative floor on the Hessian's eigenvalues when inverting it.
    seed
        Random seed of the initialisation.

    Returns
    -------
    LaplaceResult

    Examples
    --------
    >>> lap = bm.laplace(model, data)  # doctest: +SKIP
    >>> fit = bm.fit_nuts(model, data, init="laplace")  # doctest: +SKIP
    """
    from jax.flatten_util import ravel_pytree
    from numpyro.infer.util import initialize_model

    _check_fit_args(model, data)
    check_positive_int("max_steps", max_steps)
    check_positive_float("gtol", gtol)
    check_positive_float("fd_step", fd_step)
    check_positive_float("eigenvalue_floor", eigenvalue_floor)
    kinds = _site_types(model, data)
    if any(k == "param" for k in kinds.values()):
        raise ValueError("laplace: the model has point-network parameters (numpyro.param sites); "
                         "use Neural(bayesian=True) or fit_svi")
    init = init_to_value(values=init_values) if init_values else init_to_median(num_samples=15)
    info = initialize_model(jax.random.PRNGKey(seed), model, model_args=(data,), init_strategy=init)
    z0, unravel = ravel_pytree(info.param_info.z)
    potential = info.potential_fn

    def f(x):
        return potential(unravel(x))

    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(f)

    @jax.jit
    def run(x0):
        def body(carry):
            x, state, k = carry
            value, grad = value_and_grad(x, state=state)
            updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=f)
            return optax.apply_updates(x, updates), state, k + 1

        def cond(carry):
            _, state, k = carry
            g = optax.tree_utils.tree_get(state, "grad")
            return (k == 0) | ((k < max_steps) & (optax.tree_utils.tree_norm(g) > gtol))

        x, _, k = jax.lax.while_loop(cond, body, (x0, opt.init(x0), 0))
        return x, k

    x, k = run(z0)
    value, grad = jax.value_and_grad(f)(x)
    grad_norm = float(jnp.linalg.norm(grad))
    if not np.isfinite(float(value)) or not np.isfinite(grad_norm):
        raise RuntimeError("laplace: the optimiser ended at a point with a non-finite log density "
                           "(a failed equilibrium solve); try other init_values")
    n = x.size
    h = fd_step * jnp.maximum(1.0, jnp.abs(x))
    points = jnp.concatenate([x + jnp.diag(h), x - jnp.diag(h)])
    grads = jax.jit(jax.vmap(jax.grad(f)))(points)
    hess = np.asarray((grads[:n] - grads[n:]) / (2.0 * h[:, None]))
    hess = (hess + hess.T) / 2.0
    lam, vec = np.linalg.eigh(hess)
    floor = eigenvalue_floor * max(float(lam.max()), 1.0)
    cov = (vec / np.maximum(lam, floor)) @ vec.T
    z_map = unravel(x)
    constrained = info.postprocess_fn(z_map)
    names = tuple(sorted(info.param_info.z))
    return LaplaceResult(
        z_map=np.asarray(x),
        hessian=hess,
        covariance=(cov + cov.T) / 2.0,
        eigenvalues=lam,
        site_names=names,
        map_values={k: np.asarray(v) for k, v in constrained.items() if k in names},
        converged=grad_norm <= gtol,
        n_steps=int(k),
        grad_norm=grad_norm,
        potential=float(value),
        unravel=unravel,
    )


def _laplace_starts(model: CalibrationModel, data: Observations, approx: LaplaceResult, chains: int, key: Any):
    """One start per chain drawn from the Laplace approximation (the mode where a draw's
    log density is not finite), as unconstrained site values with a leading chain axis."""
    from numpyro.infer.util import initialize_model

    info = initialize_model(jax.random.PRNGKey(0), model, model_args=(data,),
                            init_strategy=init_to_value(values=approx.map_values))
    draws = approx.sample_unconstrained(key, chains)
    energy = np.asarray(jax.vmap(lambda x: info.potential_fn(approx.unravel(x)))(jnp.asarray(draws)))
    draws[~np.isfinite(energy)] = approx.z_map
    if chains == 1:
        return approx.unravel(jnp.asarray(draws[0]))
    return jax.vmap(approx.unravel)(jnp.asarray(draws))


def fit_nuts(
    model: CalibrationModel,
    data: Observations,
    *,
    chains: int = 4,
    warmup: int = 500,
    samples: int = 500,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    dense_mass: bool = False,
    chain_method: str = "auto",
    init: str = "prior",
    init_values: dict | None = None,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    progress_bar: bool = True,
) -> NUTSResult:
    """Sample the posterior with NUTS.

    Parameters
    ----------
    model, data
        The calibration model and its observations; data sharded across devices
        (:func:`shard_trajectories`) make every log-density evaluation data-parallel.
    chains, warmup, samples
        Number of chains; warm-up (adaptation) and kept iterations per chain.
    target_accept, max_tree_depth, dense_mass
        NUTS settings.
    chain_method
        ``"parallel"`` (one chain per JAX device, ``jax.pmap``), ``"sequential"``,
        ``"vectorized"``, or ``"auto"``: parallel when there are at least ``chains`` local
        devices and ``data`` is not sharded, else sequential. ``"parallel"`` runs the chains
        of ``"sequential"`` (same per-chain keys); their draws agree up to rounding, not bit
        for bit. On CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (set before
        JAX is imported) gives N devices. Data sharded across devices
        (:func:`shard_trajectories`) instead spread every log-density evaluation over the
        devices (the data are passed to the compiled sampler as an argument); they cannot be
        combined with ``"parallel"``.
    init
        ``"prior"``: start every chain at the prior medians (or ``init_values``) with a
        unit mass matrix. ``"laplace"``: first compute the :func:`laplace` approximation,
        start each chain at an independent draw from it and use its covariance (its
        diagonal when ``dense_mass`` is False) as the initial inverse mass matrix, still
        adapted during warm-up. For posteriors that are sharp in a few directions and
        prior-dominated in others (a time path pinned down only near the horizon), this
        avoids hundreds of tiny leapfrog steps per iteration early in warm-up.
    init_values
        Optional ``{site: value}`` initial values (default: prior medians); with
        ``init="laplace"``, the optimiser's starting point.
    seed
        Random seed. The same seed, data, settings and library versions give bit-identical
        draws on CPU.
    checkpoint, checkpoint_every
        Optional ``.npz`` path: sample in segments of ``checkpoint_every`` draws per chain
        and save the sampler state and all draws after warm-up and after every segment. If
        the file exists (from an interrupted run with the same data, model and settings),
        the run resumes from it: see :mod:`bayes_mfg.checkpoint`.
    progress_bar
        NumPyro's progress bar.

    Returns
    -------
    NUTSResult
        ``.samples``, ``.failures``, ``.num_divergences``, ``.laplace`` (or None), ``.mcmc``
        and ``.to_arviz()``.

    Notes
    -----
    Proposals at which an equilibrium solve fails get log density ``-inf`` and are
    rejected (a divergence); they are counted in ``result.failures`` (warm-up and
    sampling separately, with the failing parameter values) and a RuntimeWarning says how
    many there were. The posterior is then the one restricted to the parameters where the
    equilibrium converges.

    Examples
    --------
    >>> fit = bm.fit_nuts(model, data, chains=2, warmup=500, samples=1000)  # doctest: +SKIP
    >>> tree = fit.to_arviz()                  # posterior, log_likelihood, sample_stats, ...  # doctest: +SKIP
    >>> fit.failures.n_rejected                # failed equilibrium solves, never NaN  # doctest: +SKIP
    """
    from bayes_mfg import checkpoint as ckpt

    _check_fit_args(model, data)
    check_positive_int("chains", chains)
    check_positive_int("warmup", warmup)
    check_positive_int("samples", samples)
    check_positive_int("max_tree_depth", max_tree_depth)
    check_positive_int("checkpoint_every", checkpoint_every)
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept}")
    check_choice("chain_method", chain_method, CHAIN_METHODS)
    check_choice("init", init, NUTS_INITS)
    sharded = is_sharded(data)
    if sharded and chains > 1 and chain_method == "parallel":
        raise ValueError("chain_method='parallel' runs one chain per device and cannot be combined with data sharded "
                         "across devices (shard_trajectories): use chain_method='sequential' or 'vectorized'")
    path = None
    if checkpoint is not None:
        path = pathlib.Path(checkpoint)
        if path.suffix != ".npz":
            raise ValueError(f"checkpoint must be a path ending in .npz, got {str(checkpoint)!r}")
        if not path.parent.is_dir():
            raise ValueError(f"checkpoint: folder {str(path.parent)!r} does not exist")
    if chain_method == "auto":
        chain_method = "parallel" if jax.local_device_count() >= chains and not sharded else "sequential"
    settings = {"chains": chains, "warmup": warmup, "samples": samples, "target_accept": target_accept,
                "max_tree_depth": max_tree_depth, "dense_mass": dense_mass, "chain_method": chain_method,
                "init": init, "init_values": repr(init_values), "checkpoint_every": checkpoint_every if path else 0}
    fp = ckpt.fingerprint(model, data, {**settings, "seed": seed}) if path else ""
    start = init_to_value(values=init_values) if init_values else init_to_median(num_samples=15)

    def make_kernel(inverse_mass):
        return _IterationNUTS(model, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                    dense_mass=dense_mass, init_strategy=start,
                    inverse_mass_matrix=None if inverse_mass is None else jnp.asarray(inverse_mass))

    approx, state, n_done, draws, fields, earlier = None, None, 0, {}, {}, SolverFailures()
    kernel = make_kernel(None)
    if path is not None and path.exists():
        template = kernel.init(jax.random.PRNGKey(seed), warmup, None, model_args=(data,), model_kwargs={})
        state, draws, fields, n_done, earlier = ckpt.read(path, fp, template)
    elif init == "laplace":
        approx = laplace(model, data, init_values=init_values, seed=seed)
        kernel = make_kernel(approx.covariance if dense_mass else np.diag(approx.covariance))
    segment = min(checkpoint_every, samples) if path else samples
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=segment, num_chains=chains, chain_method=chain_method,
                progress_bar=progress_bar, jit_model_args=_data_as_argument(model, data, "fit_nuts"))
    init_params = None
    if approx is not None:
        init_params = _laplace_starts(model, data, approx, chains, jax.random.PRNGKey(seed + 1))
    with recording("initialisation") as rec:
        rec.num_warmup = warmup  # the kernel passes its iteration index to the model
        if path is None:  # one run (one compilation): warm-up and sampling
            mcmc.run(jax.random.PRNGKey(seed), data, init_params=init_params, extra_fields=NUTS_FIELDS)
            draws = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
            fields = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
            n_done = samples
        elif state is None:
            mcmc.warmup(jax.random.PRNGKey(seed), data, init_params=init_params, extra_fields=NUTS_FIELDS)
            state = mcmc.post_warmup_state
            jax.effects_barrier()
            ckpt.write(path, fp=fp, state=state, draws={}, fields={}, n_done=0, failures=rec.tally)
        while n_done < samples:
            n = min(segment, samples - n_done)
            mcmc.num_samples = n
            mcmc.post_warmup_state = state
            mcmc.run(state.rng_key, data, extra_fields=NUTS_FIELDS)
            state = mcmc.last_state
            new = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
            extra = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
            draws = {k: np.concatenate([draws[k], v], axis=1) if k in draws else v for k, v in new.items()}
            fields = {k: np.concatenate([fields[k], v], axis=1) if k in fields else v for k, v in extra.items()}
            n_done += n
            jax.effects_barrier()
            ckpt.write(path, fp=fp, state=state, draws=draws, fields=fields, n_done=n_done,
                       failures=earlier.merged(rec.tally))
    draws = {k: v[:, :samples] for k, v in draws.items()}
    fields = {k: v[:, :samples] for k, v in fields.items()}
    failures = earlier.merged(rec.tally)
    result = NUTSResult(model, data, mcmc, seed, settings, approx, failures, draws, fields)
    n_div = result.num_divergences
    if failures:
        warnings.warn(failures.message("fit_nuts"), RuntimeWarning, stacklevel=2)
    if n_div:
        warnings.warn(f"fit_nuts: {n_div} divergent transitions after warm-up (including proposals rejected "
                      "for a failed equilibrium solve)", RuntimeWarning, stacklevel=2)
    return result


def save(tree, path) -> None:
    """Write an ArviZ ``DataTree`` to NetCDF (all groups, coords and attributes).

    Parameters
    ----------
    tree
        An ``xarray.DataTree``, e.g. ``fit.to_arviz()``.
    path
        File to write (``.nc``); overwritten if it exists.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        If ``tree`` is not a ``DataTree``.

    Examples
    --------
    >>> bm.save(fit.to_arviz(), "fit.nc")  # doctest: +SKIP
    """
    if not isinstance(tree, xr.DataTree):
        raise TypeError(f"tree must be an xarray.DataTree (e.g. fit.to_arviz()), got {type(tree).__name__}")
    tree.to_netcdf(path, engine="h5netcdf")


def load(path):
    """Read a ``DataTree`` written by :func:`save` (NetCDF through h5netcdf: no pickle).

    Parameters
    ----------
    path
        A file written by :func:`save`.

    Returns
    -------
    xarray.DataTree
        With every group, coordinate and attribute that was saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a NetCDF/HDF5 file.

    Examples
    --------
    >>> tree = bm.load("fit.nc")  # doctest: +SKIP
    >>> tree["sample_stats"]["solver_residual"].max()  # doctest: +SKIP
    """
    p = pathlib.Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: no such file {str(path)!r}")
    try:
        return xr.open_datatree(p, engine="h5netcdf").load()
    except OSError as e:
        raise ValueError(f"path: {str(path)!r} is not a NetCDF file written by bayes_mfg.save ({e})") from None
