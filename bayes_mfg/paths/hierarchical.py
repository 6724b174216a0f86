"""The :class:`Hierarchical` path: per-trajectory paths around a population Constant or TimeSpline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bayes_mfg._validation import check_positive_float, is_concrete
from bayes_mfg.games.base import ParameterSpec
from bayes_mfg.paths._base import ParameterPath
from bayes_mfg.paths._context import PathContext, check_context
from bayes_mfg.paths._support import (
    broadcast_path,
    check_scalar_distribution,
    lower_bound_of,
    parameter_dims,
    std_normal,
)
from bayes_mfg.paths.constant import Constant
from bayes_mfg.paths.spline import TimeSpline

__all__ = ["Hierarchical"]

Array = jax.Array


@dataclass(frozen=True)
class Hierarchical(ParameterPath):
    """Per-trajectory paths drawn around a population path (non-centred).

    With a :class:`TimeSpline` population (coefficients ``w``, ``(n_knots, *shape)``)::

        w_j = w + sigma z_j,   z_j ~ Normal(0, 1),   value_j(t) = link(B(t) w_j)

    With a :class:`Constant` population (value ``theta``)::

        theta_j = lower + exp(log(theta - lower) + sigma z_j)   (spec.lower set: log-normal)
        theta_j = theta + sigma z_j                             (unbounded)

    For a bounded parameter with a Constant population the per-trajectory values stay
    strictly above ``spec.lower`` as long as ``exp(sigma z_j)`` does not underflow (float64:
    ``sigma z_j > -700`` or so, far beyond what the priors put mass on); no ``floor`` is
    added so that ``sigma = 0`` reproduces the population value exactly.

    Sites: the population's own sites (same ``name`` prefix), ``f"{name}_spread"``
    (sample ``sigma ~ scale``, scalar; absent when ``scale`` is a number),
    ``f"{name}_offsets"`` (sample ``z``: ``(n_traj, n_knots, *shape)`` or
    ``(n_traj, *shape)``), and the deterministic ``f"{name}_trajectory_weights"`` (spline)
    or ``f"{name}_trajectory_values"`` (constant). The offsets carry an explicit leading
    trajectory axis (no plate), so the path can be used inside or beside the model's own
    ``"trajectory"`` plate.

    Parameters
    ----------
    population
        A :class:`Constant` or :class:`TimeSpline` (a distribution is read as
        ``Constant(prior=...)``).
    scale
        Prior of the spread ``sigma`` (scalar distribution with non-negative support;
        default ``HalfNormal(0.5)``), or a fixed number >= 0.

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> path = bm.paths.Hierarchical(dist.LogNormal(0.0, 0.5), scale=dist.HalfNormal(0.2))
    >>> type(path.population).__name__
    'Constant'
    """

    population: Any
    scale: Any = None

    def __post_init__(self) -> None:
        pop = Constant(prior=self.population) if isinstance(self.population, dist.Distribution) else self.population
        if not isinstance(pop, (Constant, TimeSpline)):
            raise TypeError(f"population must be a Constant or a TimeSpline, got {type(self.population).__name__}")
        object.__setattr__(self, "population", pop)
        if self.scale is None:
            object.__setattr__(self, "scale", dist.HalfNormal(0.5))
        elif isinstance(self.scale, dist.Distribution):
            check_scalar_distribution("scale", self.scale)
            bound = lower_bound_of(self.scale.support)
            if bound is not None and is_concrete(bound) and float(bound) < 0:
                raise ValueError(
                    f"scale must have non-negative support (e.g. HalfNormal), got support {self.scale.support}"
                )
        else:
            object.__setattr__(self, "scale", check_positive_float("scale", self.scale, allow_zero=True))

    def _spread(self, name: str) -> Any:
        if isinstance(self.scale, dist.Distribution):
            return numpyro.sample(f"{name}_spread", self.scale)
        return self.scale

    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        ctx = check_context(ctx)
        shape = tuple(spec.shape)
        n_traj = ctx.n_trajectories
        pop = self.population
        if isinstance(pop, TimeSpline):
            w = pop.sample_weights(name, spec)
            sigma = self._spread(name)
            z = numpyro.sample(f"{name}_offsets", std_normal((n_traj, pop.n_knots, *shape)))
            wj = numpyro.deterministic(f"{name}_trajectory_weights", w[None] + sigma * z)
            eta = jnp.tensordot(wj, pop.basis(ctx), axes=((1,), (1,)))  # (n_traj, *shape, N)
            eta = jnp.moveaxis(eta, -1, 1)
            return pop.apply_link(eta, spec)
        theta = jnp.asarray(pop.sample_value(name, spec))
        sigma = self._spread(name)
        z = numpyro.sample(f"{name}_offsets", std_normal((n_traj, *shape)))
        if spec.lower is not None:
            lower = float(spec.lower)
            theta_j = lower + jnp.exp(jnp.log(theta - lower)[None] + sigma * z)
        else:
            theta_j = theta[None] + sigma * z
        theta_j = numpyro.deterministic(f"{name}_trajectory_values", theta_j)
        return broadcast_path(theta_j[:, None], n_traj, ctx.times.shape[0], shape)

    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        out = dict(self.population.site_dims(name, spec))
        if isinstance(self.scale, dist.Distribution):
            out[f"{name}_spread"] = ()
        dims = parameter_dims(name, spec)
        if isinstance(self.population, TimeSpline):
            per = ("trajectory", f"{name}_knot", *dims)
            out[f"{name}_offsets"] = per
            out[f"{name}_trajectory_weights"] = per
        else:
            per = ("trajectory", *dims)
            out[f"{name}_offsets"] = per
            out[f"{name}_trajectory_values"] = per
        return out
