"""The logistic-normal masked distribution (shares as a softmax of a Gaussian)."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from numpyro.distributions import constraints

from bayes_mfg.observe._arrays import float_array, log_clip
from bayes_mfg.observe._masked import MaskedVector, row_param_shape, vector_shapes

__all__ = ["MaskedLogisticNormal"]

Array = jax.Array

LOG_2PI = math.log(2.0 * math.pi)


class MaskedLogisticNormal(MaskedVector):
    """Logistic-normal shares ``X = softmax(loc + scale * eps)``, ``eps ~ N(0, I_d)``.

    The log-density is a density *on the simplex* of the observed states (with respect to
    Lebesgue measure on any ``k - 1`` of the ``k = |S|`` coordinates, the same reference
    measure as the Dirichlet density), evaluated at the renormalised sub-vector
    ``y = x_S / sum(x_S)``, which is ``softmax(loc_S + scale * eps_S)`` (aggregation). With
    ``z = log y - loc_S`` and ``zbar`` its mean over ``S``::

        log p = -(k - 1)/2 log(2 pi) - (k - 1) log(scale) - 1/2 log(k)
                - sum_S (z - zbar)^2 / (2 scale^2) - sum_S log y               (k >= 2)
        log p = 0                                                             (k <= 1)

    The first four terms are the Gaussian density of the additive log-ratios
    ``log(y_i / y_ref)`` (mean ``loc_i - loc_ref``, covariance ``scale^2 (I + 1 1^T)``, for any
    reference state), the last the Jacobian from log-ratios to shares. Shares are clipped
    below at 1e-300 before the log.

    Parameters
    ----------
    loc
        ``(..., d)`` log-shares (only differences within a row matter).
    scale
        ``scale > 0``: one per row, broadcastable to ``batch_shape``.
    state_mask
        Optional bool array broadcastable to ``batch_shape + (d,)``; True = observed.
    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from bayes_mfg.observe import MaskedLogisticNormal
    >>> d = MaskedLogisticNormal(jnp.zeros(3), 0.5)
    >>> x = d.sample(jax.random.PRNGKey(0))
    >>> x.shape, bool(jnp.isclose(x.sum(), 1.0)), bool(jnp.isfinite(d.log_prob(x)))
    ((3,), True, True)
    """

    arg_constraints = {"loc": constraints.real_vector, "scale": constraints.positive}
    support = constraints.simplex
    pytree_data_fields = ("loc", "scale")

    def __init__(self, loc: Any, scale: Any, state_mask: Any = None, *, validate_args: bool | None = None):
        self.loc = float_array(loc)
        self.scale = float_array(scale)
        self._set_mask(state_mask)
        batch, event = vector_shapes(jnp.shape(self.loc), row_param_shape(self.scale), self._mask_shape())
        super().__init__(batch, event, validate_args=validate_args)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        shape = tuple(sample_shape) + self.batch_shape + self.event_shape
        loc = jnp.broadcast_to(self.loc, shape)
        eps = jax.random.normal(key, shape, dtype=loc.dtype)
        return jax.nn.softmax(loc + self.scale[..., None] * eps, axis=-1)

    def log_prob(self, value: Any) -> Array:
        value = float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        x = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        loc = jnp.where(m, jnp.broadcast_to(self.loc, shape), 0.0)
        scale = jnp.broadcast_to(self.scale, shape[:-1])
        k = jnp.sum(m, axis=-1)
        kf = jnp.maximum(k, 2).astype(x.dtype)
        tiny = log_clip(x.dtype)
        share = x / jnp.maximum(jnp.sum(x, axis=-1, keepdims=True), tiny)
        log_share = jnp.where(m, jnp.log(jnp.maximum(share, tiny)), 0.0)
        z = jnp.where(m, log_share - loc, 0.0)
        zbar = jnp.sum(z, axis=-1, keepdims=True) / kf[..., None]
        ss = jnp.sum(jnp.where(m, (z - zbar) ** 2, 0.0), axis=-1)
        lp = (
            -0.5 * (kf - 1.0) * LOG_2PI
            - (kf - 1.0) * jnp.log(scale)
            - 0.5 * jnp.log(kf)
            - ss / (2.0 * scale**2)
            - jnp.sum(log_share, axis=-1)
        )
        return jnp.where(k >= 2, lp, 0.0)
