"""Argument checks shared by the public functions (one place for every error message)."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds values (not a JAX tracer), so value checks are possible."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def check_positive_float(name: str, value: Any, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}") from None
    ok = v >= 0 if allow_zero else v > 0
    if not math.isfinite(v) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_finite(name: str, x: Any) -> None:
    """Raise ValueError if a concrete array contains NaN or inf (tracers pass unchecked)."""
    if is_concrete(x) and not bool(np.all(np.isfinite(np.asarray(x)))):
        raise ValueError(f"{name} contains NaN or inf")


def check_distribution(name: str, x: Any, n_states: int, *, atol: float = 1e-8) -> jax.Array:
    """Validate a probability vector of length ``n_states`` (value checks only when concrete)."""
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    if arr.shape != (n_states,):
        raise ValueError(f"{name} must have shape ({n_states},) (one probability per state), got {arr.shape}")
    if is_concrete(arr):
        a = np.asarray(arr, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or inf")
        if np.any(a < -atol):
            raise ValueError(f"{name} must be non-negative (a probability vector), min entry is {a.min():.3g}")
        if abs(a.sum() - 1.0) > max(atol, 10 * np.finfo(np.asarray(arr).dtype).eps * n_states):
            raise ValueError(f"{name} must sum to 1 (a probability vector), sums to {a.sum():.12g}")
    return arr
