"""The :class:`TimeSpline` path: a clamped B-spline in time with a random-walk prior."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayes_mfg._validation import check_positive_float, check_positive_int
from bayes_mfg.games.base import ParameterSpec
from bayes_mfg.paths._base import LinkedPath
from bayes_mfg.paths._bspline import grid_basis
from bayes_mfg.paths._context import PathContext, check_context
from bayes_mfg.paths._support import (
    as_shape,
    broadcast_path,
    check_scalar_distribution,
    freeze,
    parameter_dims,
    std_normal,
)

__all__ = ["TimeSpline"]

Array = jax.Array


@dataclass(frozen=True)
class TimeSpline(LinkedPath):
    """A smooth path in time: a clamped B-spline with a random-walk prior on its coefficients.

    Model (independently for each component of a non-scalar parameter)::

        eta(t)  = sum_k B_k(t) w_k            (B: clamped B-spline basis on [0, T])
        w_0     ~ Normal(loc, scale)
        w_k - w_{k-1} ~ Normal(0, tau),  k = 1..n_knots-1
        value(t) = link(eta(t))               (see the module docstring)

    Since the basis rows sum to 1, equal coefficients give a flat path; ``tau`` is the
    typical change of ``eta`` between neighbouring knots.

    Two equivalent parameterisations (the prior is the same; the posterior geometry that
    NUTS sees is not):

    * non-centred (default): ``z ~ Normal(0, 1)``, ``w = loc + cumsum([scale z_0, tau z_1, ...])``.
      Best when the data are weak everywhere, and required with a ``smoothness``
      hyperprior (no funnel between ``tau`` and the increments);
    * centred (``centered=True``): ``w ~ MultivariateNormal(loc, C)`` with the random-walk
      covariance ``C[k, l] = scale^2 + tau^2 min(k, l)``. Best when the data pin down a
      few knots sharply and leave others to the prior (a likelihood that constrains single
      coefficients is axis-aligned in ``w`` but oblique in ``z``, and an oblique narrow
      direction forces NUTS to tiny steps and long trees).

    Sites: non-centred ``f"{name}_z"`` (sample, ``(n_knots, *shape)``) and
    ``f"{name}_weights"`` (deterministic ``w``, same shape); centred ``f"{name}_w"`` (sample,
    ``(*shape, n_knots)``: knots last, as the multivariate normal's event) and
    ``f"{name}_weights"`` (deterministic, ``(n_knots, *shape)``); when ``smoothness`` is a
    distribution, ``f"{name}_smoothness"`` (sample, scalar).

    Parameters
    ----------
    n_knots
        Number of spline coefficients, ``>= degree + 1``.
    degree
        Spline degree (3: cubic).
    link, floor
        Link to the parameter's scale (``"auto"``, ``"identity"``, ``"softplus"``,
        ``"exp"``) and the margin kept above a lower bound.
    loc, scale
        Prior mean and standard deviation of the first coefficient (on the ``eta`` scale);
        ``loc`` may be an array broadcasting to the parameter's shape.
    smoothness
        ``tau``: a float >= 0 or a scalar distribution (a hyperprior, e.g. HalfNormal).
    center
        If given, a value on the parameter's own scale at which to centre the prior:
        ``loc = inverse_link(center)`` (computed with the parameter's spec). See
        :meth:`around`. Cannot be combined with a non-zero ``loc``.
    centered
        Sample the coefficients ``w`` directly (see above) instead of the increments.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> path = bm.paths.TimeSpline.around(1.0, n_knots=6, smoothness=0.3)  # prior centred on gamma(t) = 1
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> model = bm.CalibrationModel(game, {"gamma": path}, bm.observe.Dirichlet(500.0))
    >>> sorted(model.site_dims())[:3]
    ['gamma_path', 'gamma_weights', 'gamma_z']
    """

    n_knots: int = 8
    degree: int = 3
    link: str = "auto"
    floor: float = 1e-3
    loc: Any = 0.0
    scale: float = 1.0
    smoothness: Any = 0.5
    center: Any = None
    centered: bool = False

    def __post_init__(self) -> None:
        degree = check_positive_int("degree", self.degree, minimum=0)
        if not isinstance(self.centered, bool):
            raise TypeError(f"centered must be a bool, got {type(self.centered).__name__}")
        check_positive_int("n_knots", self.n_knots, minimum=degree + 1)
        self._check_link_fields()
        object.__setattr__(self, "loc", freeze(self.loc, "loc"))
        object.__setattr__(self, "scale", check_positive_float("scale", self.scale))
        if isinstance(self.smoothness, dist.Distribution):
            check_scalar_distribution("smoothness", self.smoothness)
            if self.centered:
                raise ValueError("centered=True needs a fixed smoothness (a hyperprior on it makes a funnel); "
                                 "use the non-centred default with a smoothness distribution")
        else:
            object.__setattr__(self, "smoothness", check_positive_float("smoothness", self.smoothness, allow_zero=True))
        if self.center is not None:
            object.__setattr__(self, "center", freeze(self.center, "center"))
            if np.any(np.asarray(self.loc) != 0.0):
                raise ValueError("center and loc cannot both be set (center sets loc = inverse_link(center))")

    @classmethod
    def around(cls, value: Any, **kwargs: Any) -> TimeSpline:
        """A TimeSpline whose prior is centred on the flat path at ``value``.

        ``loc`` becomes ``inverse_link(value)`` for the parameter's spec (at call time), so
        with all ``z = 0`` the path equals ``value``. Other fields are passed through.
        """
        if "loc" in kwargs:
            raise TypeError("around() sets loc from value; do not pass loc")
        return cls(center=value, **kwargs)

    def loc_for(self, spec: ParameterSpec) -> np.ndarray:
        """``loc`` broadcast to ``spec.shape`` (from ``center`` when that is set)."""
        if self.center is not None:
            loc = self.inverse_link(as_shape(self.center, tuple(spec.shape), "center"), spec, argname="center")
            return np.asarray(loc)
        return as_shape(self.loc, tuple(spec.shape), "loc")

    def basis(self, ctx: PathContext) -> Array:
        """``(N, n_knots)`` spline basis on the context's grid."""
        return grid_basis(ctx, self.n_knots, self.degree)

    def sample_weights(self, name: str, spec: ParameterSpec) -> Array:
        shape = tuple(spec.shape)
        loc = self.loc_for(spec)
        if isinstance(self.smoothness, dist.Distribution):
            tau = numpyro.sample(f"{name}_smoothness", self.smoothness)
        else:
            tau = self.smoothness
        if self.centered:
            k = np.arange(self.n_knots)
            cov = self.scale**2 + tau**2 * np.minimum(k[:, None], k[None, :])
            prior = dist.MultivariateNormal(jnp.asarray(loc)[..., None] * jnp.ones(self.n_knots),
                                            scale_tril=jnp.asarray(np.linalg.cholesky(cov)))
            w = numpyro.sample(f"{name}_w", prior.to_event(len(shape)) if shape else prior)
            return numpyro.deterministic(f"{name}_weights", jnp.moveaxis(w, -1, 0))
        z = numpyro.sample(f"{name}_z", std_normal((self.n_knots, *shape)))
        steps = jnp.concatenate([self.scale * z[:1], tau * z[1:]], axis=0)
        w = jnp.asarray(loc) + jnp.cumsum(steps, axis=0)
        return numpyro.deterministic(f"{name}_weights", w)

    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        ctx = check_context(ctx)
        w = self.sample_weights(name, spec)
        eta = jnp.tensordot(self.basis(ctx), w, axes=1)  # (N, *shape)
        values = self.apply_link(eta, spec)
        return broadcast_path(values, ctx.n_trajectories, ctx.times.shape[0], tuple(spec.shape))

    @property
    def varies_by_trajectory(self) -> bool:
        """False: one path for every trajectory."""
        return False

    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        knot = (f"{name}_knot", *parameter_dims(name, spec))
        out = {f"{name}_weights": knot}
        if self.centered:
            out[f"{name}_w"] = (*parameter_dims(name, spec), f"{name}_knot")
        else:
            out[f"{name}_z"] = knot
        if isinstance(self.smoothness, dist.Distribution):
            out[f"{name}_smoothness"] = ()
        return out
