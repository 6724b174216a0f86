"""The common base of the masked vector distributions (a ``state_mask`` over the event axis)."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from bayes_mfg._validation import is_concrete

__all__ = ["MaskedVector", "row_param_shape", "vector_shapes"]

Array = jax.Array


def vector_shapes(*shapes: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(batch_shape, event_shape) of arrays broadcast to ``batch + (d,)``."""
    full = jnp.broadcast_shapes(*shapes)
    if len(full) < 1 or full[-1] < 1:
        raise ValueError(f"the parameters must broadcast to a shape (..., d) with d >= 1, got {full}")
    return tuple(full[:-1]), tuple(full[-1:])


def row_param_shape(x: Array) -> tuple[int, ...]:
    """A per-row (batch-level) parameter broadcasts against the batch shape: shape + (1,)."""
    return tuple(jnp.shape(x)) + (1,)


class MaskedVector(dist.Distribution):
    """Common code of the masked vector distributions (a ``state_mask`` over the event axis)."""

    pytree_data_fields = ("state_mask",)
    #: element-wise check of an observed entry (used by :meth:`_validate_sample`).
    _entries_are_counts: ClassVar[bool] = False
    #: entries may be any real number (nothing to check).
    _entries_are_real: ClassVar[bool] = False

    def _set_mask(self, state_mask: Any) -> None:
        if state_mask is None:
            self.state_mask = None
            return
        m = jnp.asarray(state_mask)
        if m.dtype != jnp.bool_:
            raise TypeError(f"state_mask must be a bool array (True = observed), got dtype {m.dtype}")
        self.state_mask = m

    def _mask_shape(self) -> tuple[int, ...]:
        return () if self.state_mask is None else tuple(self.state_mask.shape)

    def _full_mask(self, shape: tuple[int, ...]) -> Array:
        if self.state_mask is None:
            return jnp.ones(shape, dtype=bool)
        return jnp.broadcast_to(self.state_mask, shape)

    def _shape_for(self, value: Array) -> tuple[int, ...]:
        return jnp.broadcast_shapes(jnp.shape(value), self.batch_shape + self.event_shape)

    def _validate_sample(self, value: Any) -> Array:
        # Only observed entries are data: check them, not the support of the full vector.
        value = jnp.asarray(value)
        if self._entries_are_real:
            return jnp.all(jnp.isfinite(value), axis=-1)
        m = self._full_mask(self._shape_for(value))
        if self._entries_are_counts:
            ok = (value >= 0) & (jnp.floor(value) == value)
        else:
            ok = (value >= 0) & (value <= 1)
        row_ok = jnp.all(ok | ~m, axis=-1)
        if not self._entries_are_counts:
            row_ok = row_ok & (jnp.sum(jnp.where(m, value, 0.0), axis=-1) <= 1 + 1e-6)
        if is_concrete(row_ok) and not bool(np.all(np.asarray(row_ok))):
            warnings.warn(
                f"{type(self).__name__}: observed values outside the support "
                f"({'non-negative integers' if self._entries_are_counts else 'fractions in [0, 1] summing to <= 1'})",
                stacklevel=2,
            )
        return row_ok
