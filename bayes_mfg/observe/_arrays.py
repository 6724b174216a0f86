"""Array helpers shared by the masked distributions and the observation models."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["float_array", "log_clip", "nonneg"]

Array = jax.Array


def float_array(x: Any) -> Array:
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    return arr


def log_clip(dtype: Any) -> float:
    """Lower clip for shares before a log: 1e-300, or the smallest normal number of ``dtype``."""
    return max(1e-300, float(jnp.finfo(dtype).tiny))


def nonneg(mu: Array) -> Array:
    """Clip round-off negatives of ``mu`` to 0; keeps the gradient at ``mu == 0`` and keeps NaN."""
    return jnp.where(mu < 0, jnp.zeros_like(mu), mu)
