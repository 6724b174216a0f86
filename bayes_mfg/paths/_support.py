"""Small helpers shared by the path classes: argument checks, shapes and site dims."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from numpyro.distributions import constraints

from bayes_mfg.games.base import ParameterSpec

__all__ = ["as_shape", "broadcast_path", "check_distribution", "check_scalar_distribution", "freeze",
           "lower_bound_of", "parameter_dims", "std_normal"]

Array = jax.Array


def parameter_dims(name: str, spec: ParameterSpec) -> tuple[str, ...]:
    return spec.axis_names(name)


def freeze(x: Any, argname: str) -> float | tuple:
    """A hashable copy of a float or array-like (a nested tuple)."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{argname} must be a real number or an array of them, got {type(x).__name__}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{argname} must be finite, got {x!r}")
    return float(a) if a.ndim == 0 else tuple(freeze(v, argname) for v in a)


def as_shape(value: Any, shape: tuple[int, ...], argname: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    try:
        return np.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(
            f"{argname} has shape {a.shape}, which does not broadcast to the parameter shape {shape}"
        ) from None


def std_normal(shape: tuple[int, ...]) -> dist.Distribution:
    d = dist.Normal(0.0, 1.0)
    return d.expand(shape).to_event(len(shape)) if shape else d


def check_distribution(argname: str, value: Any) -> None:
    if not isinstance(value, dist.Distribution):
        raise TypeError(f"{argname} must be a numpyro.distributions.Distribution, got {type(value).__name__}")


def check_scalar_distribution(argname: str, value: Any) -> None:
    check_distribution(argname, value)
    if value.batch_shape + value.event_shape != ():
        raise ValueError(
            f"{argname} must be a scalar distribution, got batch shape {value.batch_shape} "
            f"and event shape {value.event_shape}"
        )


def lower_bound_of(support: Any) -> Any:
    while isinstance(support, constraints.independent):
        support = support.base_constraint
    if support is constraints.real:
        return -np.inf
    return getattr(support, "lower_bound", None)


def upper_bound_of(support: Any) -> Any:
    while isinstance(support, constraints.independent):
        support = support.base_constraint
    if support in (constraints.real, constraints.positive):
        return np.inf
    return getattr(support, "upper_bound", None)


def broadcast_path(values: Array, n_traj: int, n_times: int, shape: tuple[int, ...]) -> Array:
    return jnp.broadcast_to(values, (n_traj, n_times, *shape))
