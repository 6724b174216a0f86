"""The Laplace approximation: the posterior mode (L-BFGS) and the Gaussian around it,
:func:`laplace` and its result :class:`LaplaceResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr
from jax.flatten_util import ravel_pytree
from numpyro.distributions.transforms import biject_to
from numpyro.infer.util import initialize_model

from bayes_mfg._validation import check_positive_float, check_positive_int, check_seed
from bayes_mfg.data import Observations
from bayes_mfg.inference.arviz import draws_with_deterministic, fit_attrs, single_chain_tree
from bayes_mfg.inference.failures import SolverFailures, explaining_failed_starts, recording, without_reports
from bayes_mfg.inference.inputs import check_fit_args, init_strategy
from bayes_mfg.inference.results import Fit
from bayes_mfg.inference.sites import SiteRole, site_roles, sites_with_role
from bayes_mfg.model import CalibrationModel

__all__ = ["LaplaceResult", "laplace"]


@dataclass(frozen=True, eq=False)
class LaplaceResult(Fit):
    """A Gaussian (Laplace) approximation of the posterior at its mode.

    In NumPyro's unconstrained space ``z`` (positive parameters on the log scale, simplex
    values by stick breaking, ...), with potential ``U(z) = -log p(z, data)``::

        z_map = argmin U(z),   H = d^2 U / dz^2 at z_map,   p(z | data) ~ Normal(z_map, H^-1)

    ``H`` is the observed information plus the prior's curvature; it is computed by central
    differences of the exact (implicit) gradient. Eigenvalues of ``H`` below
    ``eigenvalue_floor * max eigenvalue`` are raised to that floor before inverting.

    A :class:`~bayes_mfg.inference.Fit`: its draws are draws from the Gaussian mapped back
    to the sites' own scale.

    Attributes
    ----------
    model, data
        What was approximated.
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
    n_times, grad_norm, potential
        Optimiser steps, final gradient norm, ``U(z_map)``.
    settings, seed
        The arguments of :func:`laplace` (reused by :meth:`refit`).

    Examples
    --------
    >>> lap = bm.laplace(model, data)  # doctest: +SKIP
    >>> lap.map_values, lap.covariance, lap.converged  # doctest: +SKIP
    """

    method: ClassVar[str] = "laplace"

    model: CalibrationModel
    data: Observations
    z_map: np.ndarray
    hessian: np.ndarray
    covariance: np.ndarray
    eigenvalues: np.ndarray
    site_names: tuple[str, ...]
    map_values: dict[str, np.ndarray]
    converged: bool
    n_times: int
    grad_norm: float
    potential: float
    unravel: Callable[[Any], dict] = field(repr=False)
    transforms: dict[str, Any] = field(default_factory=dict, repr=False)
    settings: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def sample_unconstrained(self, key: Any, n: int) -> np.ndarray:
        """``(n, dim)`` draws from ``Normal(z_map, covariance)`` in unconstrained space."""
        chol = np.linalg.cholesky(self.covariance)
        eps = np.asarray(jax.random.normal(key, (n, self.z_map.size), dtype=jnp.float64))
        return self.z_map + eps @ chol.T

    def constrain(self, z: Any) -> dict[str, jax.Array]:
        """``{site: value}`` on the sites' own scale of one flat unconstrained vector ``z``."""
        return {k: self.transforms[k](v) for k, v in self.unravel(z).items()}

    def posterior_draws(self, num_samples: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """``num_samples`` (default 500) draws of the latent sites from the approximation."""
        n = 500 if num_samples is None else num_samples
        check_positive_int("num_samples", n)
        z = jnp.asarray(self.sample_unconstrained(jax.random.PRNGKey(seed), n))
        return {k: np.asarray(v) for k, v in jax.vmap(self.constrain)(z).items()}

    def to_arviz(self, num_samples: int = 500, seed: int | None = None) -> xr.DataTree:
        """ArviZ ``DataTree`` of ``num_samples`` draws from the approximation (one chain);
        cached per ``(num_samples, seed)``."""
        seed = self.seed if seed is None else seed
        cache = self.__dict__.setdefault("_trees", {})
        if (num_samples, seed) not in cache:
            latent = {k: jnp.asarray(v) for k, v in self.posterior_draws(num_samples, seed).items()}
            draws = draws_with_deterministic(self.model, self.data, latent, None, jax.random.PRNGKey(seed + 7),
                                             num_samples)
            settings = {k: (repr(v) if k == "init_values" else v) for k, v in self.settings.items()}
            cache[(num_samples, seed)] = single_chain_tree(
                self.model, self.data, self.site_roles(), draws, None, seed,
                fit_attrs(self.model, "laplace", seed, settings), SolverFailures(),
            )
        return cache[(num_samples, seed)]

    def refit(self, data: Observations) -> "LaplaceResult":
        """:func:`laplace` of the same model with the same settings and seed to ``data``."""
        return laplace(self.model, data, seed=self.seed, **self.settings)


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
    check_seed("seed", seed)
    check_fit_args(model, data)
    check_positive_int("max_steps", max_steps)
    check_positive_float("gtol", gtol)
    check_positive_float("fd_step", fd_step)
    check_positive_float("eigenvalue_floor", eigenvalue_floor)
    start = init_strategy(model, data, init_values, "laplace")
    if sites_with_role(site_roles(model, data), SiteRole.POINT):
        raise ValueError("laplace: the model has point-network parameters (numpyro.param sites); "
                         "use Neural(bayesian=True) or fit_svi")
    settings = {"init_values": init_values, "max_steps": max_steps, "gtol": gtol, "fd_step": fd_step,
                "eigenvalue_floor": eigenvalue_floor}
    quiet = without_reports(model)  # the approximation's evaluations are not part of a fit's tally
    try:
        info = initialize_model(jax.random.PRNGKey(seed), quiet, model_args=(data,), init_strategy=start)
    except RuntimeError:
        # no valid start: the same search once more with failure reports, for the message's tally
        with recording("initialisation") as rec, explaining_failed_starts("laplace", rec):
            initialize_model(jax.random.PRNGKey(seed), model, model_args=(data,), init_strategy=start)
        raise
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
    transforms = {k: biject_to(site["fn"].support) for k, site in info.model_trace.items()
                  if site["type"] == "sample" and not site["is_observed"] and k in names}
    return LaplaceResult(
        model=model,
        data=data,
        z_map=np.asarray(x),
        hessian=hess,
        covariance=(cov + cov.T) / 2.0,
        eigenvalues=lam,
        site_names=names,
        map_values={k: np.asarray(v) for k, v in constrained.items() if k in names},
        converged=grad_norm <= gtol,
        n_times=int(k),
        grad_norm=grad_norm,
        potential=float(value),
        unravel=unravel,
        transforms=transforms,
        settings=settings,
        seed=seed,
    )
