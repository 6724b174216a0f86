"""Sampling the posterior with NUTS: :func:`fit_nuts` (optionally started from the Laplace
approximation, optionally checkpointed) and its result :class:`NUTSResult`."""

from __future__ import annotations

import os
import pathlib
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from numpyro.infer import MCMC, NUTS
from numpyro.infer.initialization import init_to_value
from numpyro.infer.util import initialize_model

import bayes_mfg.inference.checkpoint as ckpt
from bayes_mfg._names import NUTS_INITS
from bayes_mfg._validation import check_choice, check_positive_int, check_seed
from bayes_mfg.data import Observations
from bayes_mfg.inference.arviz import build_datatree, fit_attrs, log_prior, predict_and_loglik
from bayes_mfg.inference.failures import SolverFailures, explaining_failed_starts, recording, without_reports
from bayes_mfg.inference.inputs import check_fit_args, data_as_argument, init_strategy
from bayes_mfg.inference.laplace_approximation import LaplaceResult, laplace
from bayes_mfg.inference.results import Fit
from bayes_mfg.inference.sites import DETERMINISTIC_ROLES, LATENT_ROLES
from bayes_mfg.model import CalibrationModel
from bayes_mfg.parallel import is_sharded

__all__ = ["CHAIN_METHODS", "NUTS_INITS", "NUTS_FIELDS", "NUTSResult", "fit_nuts"]

CHAIN_METHODS = ("auto", "sequential", "parallel", "vectorized")

#: NUTS state fields collected per draw (the sample_stats group is built from them).
NUTS_FIELDS = ("diverging", "num_steps", "accept_prob", "energy", "potential_energy", "adapt_state.step_size")


class _IterationNUTS(NUTS):
    """NUTS that passes its iteration index to the model (keyword ``iteration``), so that
    failed equilibrium solves are attributed to warm-up or sampling. HMC regenerates the
    potential from the model arguments at every transition, so this costs nothing."""

    def sample(self, state, model_args, model_kwargs):
        return super().sample(state, model_args, {**(model_kwargs or {}), "iteration": state.i})


@dataclass
class NUTSResult(Fit):
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
        :class:`~bayes_mfg.inference.SolverFailures`: proposals rejected because an
        equilibrium (or adjoint) solve failed, per phase, with the failing parameter values.

    Examples
    --------
    >>> fit = bm.fit_nuts(model, data)  # doctest: +SKIP
    >>> fit.flat_samples()["gamma"].shape, fit.to_arviz()  # doctest: +SKIP
    """

    method: ClassVar[str] = "nuts"

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

    def posterior_draws(self, num_samples: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """The kept draws of the latent sites, chains concatenated; thinned evenly to
        ``num_samples`` when fewer are asked for (``seed`` is not used)."""
        roles = self.site_roles()
        draws = {k: v for k, v in self.flat_samples().items() if roles.get(k) in LATENT_ROLES}
        n = next(iter(draws.values())).shape[0] if draws else 0
        if num_samples is not None and draws and num_samples < n:
            idx = np.linspace(0, n - 1, num_samples).round().astype(int)
            draws = {k: v[idx] for k, v in draws.items()}
        return draws

    def to_arviz(self) -> xr.DataTree:
        """ArviZ ``DataTree`` with posterior, posterior_predictive, log_likelihood, log_prior,
        observed_data and sample_stats (NUTS statistics and solver diagnostics; the failure
        tally in the attributes of sample_stats); cached."""
        if "tree" not in self._trees:
            self._trees["tree"] = self._to_arviz()
        return self._trees["tree"]

    def _to_arviz(self) -> xr.DataTree:
        samples = self.samples
        roles = self.site_roles()
        chains, draws = next(iter(samples.values())).shape[:2]
        flat = lambda tree: {k: jnp.reshape(v, (chains * draws, *v.shape[2:])) for k, v in tree.items()}  # noqa: E731
        latent = flat({k: jnp.asarray(v) for k, v in samples.items() if roles.get(k) in LATENT_ROLES})
        obs, ll = predict_and_loglik(self.model, self.data, latent, None, self.seed)
        reshape = lambda v: np.reshape(v, (chains, draws, *v.shape[1:]))  # noqa: E731
        extra = self.fields
        stats = {
            "diverging": np.asarray(extra["diverging"]),
            "n_times": np.asarray(extra["num_steps"]),
            "tree_depth": np.floor(np.log2(np.asarray(extra["num_steps"]) + 1)).astype(int),
            "acceptance_rate": np.asarray(extra["accept_prob"]),
            "energy": np.asarray(extra["energy"]),
            "lp": -np.asarray(extra["potential_energy"]),
            "step_size": np.asarray(extra["adapt_state.step_size"]),
        }
        keep = {k: v for k, v in samples.items() if roles.get(k) in LATENT_ROLES | DETERMINISTIC_ROLES}
        lp = reshape(log_prior(self.model, self.data, latent))
        attrs = fit_attrs(self.model, "nuts", self.seed, self.settings)
        tree = build_datatree(self.model, self.data, roles, keep, reshape(obs), reshape(ll), stats, attrs,
                              log_prior_draws=lp)
        tree["sample_stats"].attrs.update(self.failures.to_attrs())
        return tree

    def refit(self, data: Observations, *, warm_start: bool = True) -> "NUTSResult":
        """:func:`fit_nuts` of the same model with the same sampler settings and seed to ``data``
        (without checkpoints).

        ``warm_start`` (default, for data close to the fitted ones such as a cross-validation
        fold): every chain starts at this fit's last draw with its adapted inverse mass
        matrix held fixed (``fit_nuts(warm_start=self)``), and the warm-up, which then only
        adapts the step size, is :func:`warm_refit_warmup` iterations. The draws are exact
        NUTS draws either way; False repeats the original cold start and warm-up.
        """
        keys = ("num_chains", "num_warmup", "num_samples", "target_accept", "max_tree_depth", "dense_mass",
                "chain_method") + (() if warm_start else ("init",))
        kw = {k: self.settings[k] for k in keys if k in self.settings}
        if warm_start:
            kw.update(num_warmup=warm_refit_warmup(kw.get("num_warmup", 500)), warm_start=self)
        return fit_nuts(self.model, data, seed=self.seed, progress_bar=False, **kw)


def warm_refit_warmup(num_warmup: int) -> int:
    """Warm-up iterations of a warm-started refit: ``max(100, num_warmup // 4)``, at most
    ``num_warmup`` (step-size adaptation alone: dual averaging settles in about 100)."""
    return min(num_warmup, max(100, num_warmup // 4))


def _warm_start_state(warm_start: Any, num_chains: int, dense_mass: bool, init: str, init_values: Any,
                      checkpoint: Any) -> dict[str, Any] | None:
    """Positions (unconstrained, one per chain), mean adapted inverse mass matrix and step size
    of ``warm_start``'s last state; None without a warm start. Refuses what it cannot serve."""
    if warm_start is None:
        return None
    if not isinstance(warm_start, NUTSResult):
        raise TypeError(f"warm_start must be a NUTSResult (from fit_nuts), got {type(warm_start).__name__}")
    if init != "prior" or init_values is not None or checkpoint is not None:
        raise ValueError("warm_start replaces the initialisation: leave init='prior', init_values=None and checkpoint=None")
    chains = warm_start.settings.get("num_chains")
    if chains != num_chains:
        raise ValueError(f"warm_start has {chains} chains, this fit num_chains={num_chains}: they must agree")
    if bool(warm_start.settings.get("dense_mass")) != bool(dense_mass):
        raise ValueError(f"warm_start was fitted with dense_mass={warm_start.settings.get('dense_mass')}, "
                         f"this fit dense_mass={dense_mass}: they must agree")
    last = warm_start.mcmc.last_state
    adapt = last.adapt_state
    batched = num_chains > 1  # the state has a leading chain axis
    inverse_mass = {k: jnp.mean(v, axis=0) if batched else v for k, v in adapt.inverse_mass_matrix.items()}
    step_size = float(jnp.mean(adapt.step_size))
    return {"positions": last.z, "inverse_mass": inverse_mass, "step_size": step_size}


def _laplace_starts(model: CalibrationModel, data: Observations, approx: LaplaceResult, chains: int, key: Any):
    """One start per chain drawn from the Laplace approximation (the mode where a draw's
    log density is not finite), as unconstrained site values with a leading chain axis."""
    info = initialize_model(jax.random.PRNGKey(0), without_reports(model), model_args=(data,),
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
    num_chains: int = 4,
    num_warmup: int = 500,
    num_samples: int = 500,
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
    warm_start: NUTSResult | None = None,
) -> NUTSResult:
    """Sample the posterior with NUTS.

    Parameters
    ----------
    model, data
        The calibration model and its observations; data sharded across devices
        (:func:`shard_trajectories`) make every log-density evaluation data-parallel.
    num_chains, num_warmup, num_samples
        Number of chains; warm-up (adaptation) and kept iterations per chain (NumPyro's names).
    target_accept, max_tree_depth, dense_mass
        NUTS settings.
    chain_method
        ``"parallel"`` (one chain per JAX device, ``jax.pmap``), ``"sequential"``,
        ``"vectorized"``, or ``"auto"``: parallel when there are at least ``num_chains`` local
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
        the run resumes from it: see :mod:`bayes_mfg.inference.checkpoint`.
    progress_bar
        NumPyro's progress bar.
    warm_start
        A :class:`NUTSResult` of the same model (same ``num_chains`` and ``dense_mass``)
        on similar data, e.g. the full data for a cross-validation refit: each chain starts
        at that fit's last draw, the inverse mass matrix is its adapted one (the chains'
        mean) held fixed, and the warm-up adapts only the step size (from its adapted
        one). Excludes ``init="laplace"``, ``init_values`` and ``checkpoint``.

    Returns
    -------
    NUTSResult
        ``.samples``, ``.failures``, ``.num_divergences``, ``.laplace`` (or None), ``.mcmc``
        and ``.to_arviz()``.

    Notes
    -----
    Proposals at which an equilibrium solve fails get log density ``-inf`` and are
    rejected (a divergence); they are counted in ``result.failures`` (warm-up and
    sampling separately, with the failing parameter values). Rejections after warm-up (and
    non-converged adjoint solves) raise a RuntimeWarning, like divergences; rejections during
    warm-up alone are expected (the step-size search tries huge steps) and are only
    recorded. The posterior is then the one restricted to the parameters where the
    equilibrium converges.

    Examples
    --------
    >>> fit = bm.fit_nuts(model, data, num_chains=2, num_warmup=500, num_samples=1000)  # doctest: +SKIP
    >>> tree = fit.to_arviz()                  # posterior, log_likelihood, sample_stats, ...  # doctest: +SKIP
    >>> fit.failures.n_rejected                # failed equilibrium solves, never NaN  # doctest: +SKIP
    """
    check_seed("seed", seed)
    check_fit_args(model, data)
    check_positive_int("num_chains", num_chains)
    check_positive_int("num_warmup", num_warmup)
    check_positive_int("num_samples", num_samples)
    check_positive_int("max_tree_depth", max_tree_depth)
    check_positive_int("checkpoint_every", checkpoint_every)
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept}")
    check_choice("chain_method", chain_method, CHAIN_METHODS)
    check_choice("init", init, NUTS_INITS)
    warm = _warm_start_state(warm_start, num_chains, dense_mass, init, init_values, checkpoint)
    start = init_strategy(model, data, init_values, "fit_nuts")
    sharded = is_sharded(data)
    if sharded and num_chains > 1 and chain_method == "parallel":
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
        chain_method = "parallel" if jax.local_device_count() >= num_chains and not sharded else "sequential"
    settings = {"num_chains": num_chains, "num_warmup": num_warmup, "num_samples": num_samples, "target_accept": target_accept,
                "max_tree_depth": max_tree_depth, "dense_mass": dense_mass, "chain_method": chain_method,
                "init": init, "init_values": repr(init_values), "checkpoint_every": checkpoint_every if path else 0,
                **({"warm_start": True} if warm is not None else {})}
    fp = ckpt.fingerprint(model, data, {**settings, "seed": seed}) if path else ""

    def make_kernel(inverse_mass, fn=model):
        if warm is not None:  # the warm start's positions, mass matrix (fixed) and step size
            return _IterationNUTS(fn, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                                  dense_mass=dense_mass, init_strategy=start, inverse_mass_matrix=warm["inverse_mass"],
                                  adapt_mass_matrix=False, step_size=warm["step_size"])
        return _IterationNUTS(fn, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                              dense_mass=dense_mass, init_strategy=start,
                              inverse_mass_matrix=None if inverse_mass is None else jnp.asarray(inverse_mass))

    approx, state, n_done, draws, fields, earlier = None, None, 0, {}, {}, SolverFailures()
    kernel = make_kernel(None)
    if path is not None and path.exists():
        # any state of the same kernel gives the structure; built without failure reports
        template = make_kernel(None, without_reports(model)).init(jax.random.PRNGKey(seed), num_warmup, None,
                                                                  model_args=(data,), model_kwargs={})
        state, draws, fields, n_done, earlier = ckpt.read(path, fp, template)
    elif init == "laplace":
        approx = laplace(model, data, init_values=init_values, seed=seed)
        kernel = make_kernel(approx.covariance if dense_mass else np.diag(approx.covariance))
    segment = min(checkpoint_every, num_samples) if path else num_samples
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=segment, num_chains=num_chains, chain_method=chain_method,
                progress_bar=progress_bar, jit_model_args=data_as_argument(model, data, "fit_nuts"))
    init_params = None if warm is None else warm["positions"]
    if approx is not None:
        init_params = _laplace_starts(model, data, approx, num_chains, jax.random.PRNGKey(seed + 1))
    with recording("initialisation") as rec, explaining_failed_starts("fit_nuts", rec):
        rec.num_warmup = num_warmup  # the kernel passes its iteration index to the model
        if path is None:  # one run (one compilation): warm-up and sampling
            mcmc.run(jax.random.PRNGKey(seed), data, init_params=init_params, extra_fields=NUTS_FIELDS)
            draws = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
            fields = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
            n_done = num_samples
        elif state is None:
            mcmc.warmup(jax.random.PRNGKey(seed), data, init_params=init_params, extra_fields=NUTS_FIELDS)
            state = mcmc.post_warmup_state
            jax.effects_barrier()
            ckpt.write(path, fp=fp, state=state, draws={}, fields={}, n_done=0, failures=rec.tally)
        while n_done < num_samples:
            n = min(segment, num_samples - n_done)
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
    draws = {k: v[:, :num_samples] for k, v in draws.items()}
    fields = {k: v[:, :num_samples] for k, v in fields.items()}
    failures = earlier.merged(rec.tally)
    result = NUTSResult(model, data, mcmc, seed, settings, approx, failures, draws, fields)
    n_div = result.num_divergences
    if failures.after_warmup:  # warm-up rejections alone are expected: recorded, not warned
        warnings.warn(failures.message("fit_nuts"), RuntimeWarning, stacklevel=2)
    if n_div:
        warnings.warn(f"fit_nuts: {n_div} divergent transitions after warm-up (including proposals rejected "
                      "for a failed equilibrium solve)", RuntimeWarning, stacklevel=2)
    return result
