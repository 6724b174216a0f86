"""The :class:`Constant` path (one value for all times and trajectories) and :func:`as_path`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints

from bayes_mfg._validation import is_concrete
from bayes_mfg.games.base import ParameterSpec
from bayes_mfg.paths._base import ParameterPath
from bayes_mfg.paths._context import PathContext, check_context
from bayes_mfg.paths._support import broadcast_path, check_distribution, lower_bound_of, parameter_dims, upper_bound_of

__all__ = ["Constant", "as_path"]

Array = jax.Array


@dataclass(frozen=True)
class Constant(ParameterPath):
    """One value for all times and trajectories, with a prior on the value itself.

    Site ``name``: the value, shape ``spec.shape``, drawn from ``prior`` (a scalar prior is
    expanded to ``spec.shape`` with independent components).

    Parameters
    ----------
    prior
        A NumPyro distribution on the parameter's own scale. Default: ``LogNormal(0, 1)``
        shifted to start at ``spec.lower`` for a bounded parameter (``lower + exp(N(0, 1))``),
        ``Uniform(lower, upper)`` for one bounded on both sides, ``Normal(0, 1)`` for an
        unbounded one. The prior's support must lie within the bounds (checked when the
        support says so).

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> path = bm.paths.Constant(prior=dist.LogNormal(0.0, 0.5))
    >>> model = bm.CalibrationModel(bm.games.LinearQuadratic(n_states=3), {"gamma": path}, bm.observe.Dirichlet(500.0))
    >>> model.parameter_names
    ('gamma',)
    """

    prior: dist.Distribution | None = None

    def __post_init__(self) -> None:
        if self.prior is not None:
            check_distribution("prior", self.prior)

    def prior_for(self, spec: ParameterSpec) -> dist.Distribution:
        """The prior of site ``name`` for ``spec``: event shape ``spec.shape``.

        Raises
        ------
        ValueError
            If the prior's shape does not fit ``spec.shape`` or its support reaches below
            ``spec.lower``.
        """
        shape = tuple(spec.shape)
        if self.prior is None:
            if spec.upper is not None:
                lo = 0.0 if spec.lower is None else float(spec.lower)
                base: dist.Distribution = dist.Uniform(lo, float(spec.upper))
            elif spec.lower is None:
                base = dist.Normal(0.0, 1.0)
            elif float(spec.lower) == 0.0:
                base = dist.LogNormal(0.0, 1.0)
            else:
                shift = dist.transforms.AffineTransform(float(spec.lower), 1.0, domain=constraints.positive)
                base = dist.TransformedDistribution(dist.LogNormal(0.0, 1.0), shift)
            return base.expand(shape).to_event(len(shape)) if shape else base
        prior = self.prior
        if spec.lower is not None:
            bound = lower_bound_of(prior.support)
            if bound is not None and is_concrete(bound) and np.any(np.asarray(bound) < float(spec.lower)):
                raise ValueError(
                    f"prior has support {prior.support}, which reaches below the parameter's lower bound "
                    f"{spec.lower}; use a prior supported above it (e.g. LogNormal)"
                )
        if spec.upper is not None:
            top = upper_bound_of(prior.support)
            if top is not None and is_concrete(top) and np.any(np.asarray(top) > float(spec.upper)):
                raise ValueError(
                    f"prior has support {prior.support}, which reaches above the parameter's upper bound "
                    f"{spec.upper}; use a prior supported below it (e.g. Beta or Uniform)"
                )
        full = tuple(prior.batch_shape) + tuple(prior.event_shape)
        ev = tuple(prior.event_shape)
        if full == shape:
            return prior.to_event(len(prior.batch_shape)) if prior.batch_shape else prior
        if len(ev) <= len(shape) and shape[len(shape) - len(ev) :] == ev:
            batch = shape[: len(shape) - len(ev)]
            try:
                ok = tuple(np.broadcast_shapes(tuple(prior.batch_shape), batch)) == batch
            except ValueError:
                ok = False
            if ok:
                return prior.expand(batch).to_event(len(batch)) if batch else prior
        raise ValueError(f"prior has shape {full} (batch + event), which does not fit the parameter shape {shape}")

    def sample_value(self, name: str, spec: ParameterSpec) -> Array:
        return numpyro.sample(name, self.prior_for(spec))

    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        ctx = check_context(ctx)
        value = self.sample_value(name, spec)
        return broadcast_path(value, ctx.n_trajectories, ctx.times.shape[0], tuple(spec.shape))

    @property
    def varies_by_trajectory(self) -> bool:
        """False: one path for every trajectory."""
        return False

    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        return {name: parameter_dims(name, spec)}


def as_path(x: Any) -> ParameterPath:
    """``x`` itself for a :class:`ParameterPath`, ``Constant(prior=x)`` for a distribution.

    Parameters
    ----------
    x
        A :class:`ParameterPath` or a NumPyro ``Distribution``.

    Returns
    -------
    ParameterPath

    Raises
    ------
    TypeError
        For anything else.

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> bm.paths.as_path(dist.LogNormal(0.0, 1.0))
    Constant(prior=<numpyro.distributions.continuous.LogNormal object at ...>)
    """
    if isinstance(x, ParameterPath):
        return x
    if isinstance(x, dist.Distribution):
        return Constant(prior=x)
    raise TypeError(f"x must be a ParameterPath or a numpyro Distribution, got {type(x).__name__}")
