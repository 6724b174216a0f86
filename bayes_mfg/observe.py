"""Observation models: the noise linking the equilibrium distribution to the data.

An observation model turns the predicted population shares ``mu`` of shape
``(n_traj, n_times, d)`` (each row on the simplex; entries may be exactly 0) into a
likelihood for an :class:`~bayes_mfg.data.Observations` container, by declaring one NumPyro
sample site::

    obs_model = Dirichlet(concentration=dist.LogNormal(7.0, 1.0))
    obs_model("y", mu, data)            # observed site "y" plus the parameter site "y_concentration"
    obs_model("y", mu)                  # no data: the site is sampled (prior / posterior predictive)

Every model's site has ``batch_shape == (n_traj, n_times)`` and ``event_shape == (d,)``:
``numpyro.infer.log_likelihood`` gives one pointwise log-likelihood per (trajectory, time),
the unit of PSIS-LOO, the same for every observation model.

Masks
-----
An entry with ``mask == False`` contributes nothing, and a row with no observed entry has
log-probability exactly 0. The share-type models use aggregation so that a partially
observed row needs no imputation:

* if ``X ~ Dirichlet(alpha)`` then ``X_S / sum(X_S) ~ Dirichlet(alpha_S)`` for the observed
  states ``S``;
* if ``C ~ Multinomial(n, p)`` then ``C_S | sum(C_S) ~ Multinomial(sum(C_S), p_S / sum(p_S))``;
* if ``X = softmax(log mu + scale * eps)`` with iid standard normal ``eps`` then
  ``X_S / sum(X_S) = softmax(log mu_S + scale * eps_S)``.

So a row with a single observed state carries no information under those models
(log-probability 0). The count models ``Poisson`` and ``NegativeBinomial`` are independent
across states and simply drop unobserved states.

Known and learned parameters
----------------------------
Every scalar parameter of a model (``concentration``, ``exposure``, ``scale``) is either
*known* (a finite float > 0) or *learned* (a scalar ``numpyro.distributions.Distribution``
with non-negative support, the prior): a learned parameter ``p`` of the site ``name`` is the
sample site ``f"{name}_{p}"``. The numerical floors (``alpha_floor``, ``rate_floor``,
``mu_floor``) are always known.

The distributions behind the sites (:class:`MaskedDirichlet`, :class:`MaskedMultinomial`,
:class:`MaskedPoisson`, :class:`MaskedNegativeBinomial`, :class:`MaskedLogisticNormal`)
take a ``state_mask`` and can be used on their own; their ``sample`` ignores the mask and
draws the full vector.
"""

from __future__ import annotations

import abc
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import gammaln
from numpyro.distributions import constraints

from bayes_mfg._validation import check_positive_float, is_concrete
from bayes_mfg.data import Observations

Array = jax.Array

__all__ = [
    "ObservationModel",
    "Dirichlet",
    "Multinomial",
    "Poisson",
    "NegativeBinomial",
    "LogisticNormal",
]

#: Which observation models accept which data kind (used in error messages).
_MODELS_FOR_KIND = {
    "fractions": "Dirichlet or LogisticNormal",
    "counts": "Multinomial, Poisson or NegativeBinomial",
}

_LOG_2PI = math.log(2.0 * math.pi)


# ---------------------------------------------------------------------------- helpers
def _float_array(x: Any) -> Array:
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    return arr


def _tiny(dtype: Any) -> float:
    """Lower clip for shares before a log: 1e-300, or the smallest normal number of ``dtype``."""
    return max(1e-300, float(jnp.finfo(dtype).tiny))


def _nonneg(mu: Array) -> Array:
    """Clip round-off negatives of ``mu`` to 0; keeps the gradient at ``mu == 0`` and keeps NaN."""
    return jnp.where(mu < 0, jnp.zeros_like(mu), mu)


def _vector_shapes(*shapes: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(batch_shape, event_shape) of arrays broadcast to ``batch + (d,)``."""
    full = jnp.broadcast_shapes(*shapes)
    if len(full) < 1 or full[-1] < 1:
        raise ValueError(f"the parameters must broadcast to a shape (..., d) with d >= 1, got {full}")
    return tuple(full[:-1]), tuple(full[-1:])


def _row_param_shape(x: Array) -> tuple[int, ...]:
    """A per-row (batch-level) parameter broadcasts against the batch shape: shape + (1,)."""
    return tuple(jnp.shape(x)) + (1,)


class _MaskedVector(dist.Distribution):
    """Common code of the masked vector distributions (a ``state_mask`` over the event axis)."""

    pytree_data_fields = ("state_mask",)
    #: element-wise check of an observed entry (used by :meth:`_validate_sample`).
    _entries_are_counts: ClassVar[bool] = False

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


# ---------------------------------------------------------------------------- distributions
class MaskedDirichlet(_MaskedVector):
    """Dirichlet distribution whose log-density uses only the observed states.

    With ``S`` the states where ``state_mask`` is True and ``k = |S|``, the log-density of a
    value ``x`` is that of the renormalised sub-vector ``y = x_S / sum(x_S)`` under
    ``Dirichlet(alpha_S)`` (the aggregation property)::

        log p = lgamma(sum_S alpha) - sum_S lgamma(alpha) + sum_S (alpha - 1) log y     (k >= 2)
        log p = 0                                                                     (k <= 1)

    with ``y`` clipped below at 1e-300 before the log. ``sample`` draws the full vector from
    ``Dirichlet(alpha)`` (the mask is ignored).

    Parameters
    ----------
    concentration
        ``(..., d)`` concentrations ``alpha > 0``.
    state_mask
        Optional bool array broadcastable to ``batch_shape + (d,)``; True = observed.
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    pytree_data_fields = ("concentration",)

    def __init__(self, concentration: Any, state_mask: Any = None, *, validate_args: bool | None = None):
        self.concentration = _float_array(concentration)
        self._set_mask(state_mask)
        batch, event = _vector_shapes(jnp.shape(self.concentration), self._mask_shape())
        super().__init__(batch, event, validate_args=validate_args)

    @property
    def mean(self) -> Array:
        alpha = jnp.broadcast_to(self.concentration, self.batch_shape + self.event_shape)
        return alpha / jnp.sum(alpha, axis=-1, keepdims=True)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        alpha = jnp.broadcast_to(self.concentration, tuple(sample_shape) + self.batch_shape + self.event_shape)
        return jax.random.dirichlet(key, alpha, dtype=alpha.dtype)

    def log_prob(self, value: Any) -> Array:
        value = _float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        x = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        alpha = jnp.where(m, jnp.broadcast_to(self.concentration, shape), 1.0)
        k = jnp.sum(m, axis=-1)
        informative = k >= 2
        tiny = _tiny(x.dtype)
        share = x / jnp.maximum(jnp.sum(x, axis=-1, keepdims=True), tiny)
        log_share = jnp.log(jnp.maximum(share, tiny))
        alpha_sum = jnp.where(informative, jnp.sum(jnp.where(m, alpha, 0.0), axis=-1), 1.0)
        lp = (
            gammaln(alpha_sum)
            - jnp.sum(jnp.where(m, gammaln(alpha), 0.0), axis=-1)
            + jnp.sum(jnp.where(m, (alpha - 1.0) * log_share, 0.0), axis=-1)
        )
        return jnp.where(informative, lp, 0.0)


class MaskedMultinomial(_MaskedVector):
    """Multinomial distribution whose log-pmf is conditional on the observed total.

    With ``S`` the observed states, ``c_S`` their counts, ``n_S = sum(c_S)`` and
    ``q = p_S / sum(p_S)``, the log-pmf of ``c`` is::

        log p = lgamma(n_S + 1) - sum_S lgamma(c + 1) + sum_S c log q     (|S| >= 2)
        log p = 0                                                       (|S| <= 1)

    i.e. the pmf of the observed counts given their total (the aggregation property of the
    multinomial; for a fully observed row it is the ordinary ``Multinomial(sum(c), p)``
    pmf). ``total_count`` therefore enters only :meth:`sample`, which draws the full count
    vector from ``Multinomial(total_count, p / sum(p))`` (the mask is ignored). A state
    with ``p == 0`` and a positive observed count has log-pmf ``-inf``.

    Parameters
    ----------
    probs
        ``(..., d)`` non-negative weights (renormalised; need not sum to 1).
    total_count
        Optional number of trials, broadcastable to ``batch_shape``; required by ``sample``.
    state_mask
        Optional bool array broadcastable to ``batch_shape + (d,)``; True = observed.
    """

    arg_constraints = {"probs": constraints.independent(constraints.nonnegative, 1)}
    pytree_data_fields = ("probs", "total_count")
    is_discrete = True
    _entries_are_counts = True

    def __init__(
        self, probs: Any, total_count: Any = None, state_mask: Any = None, *, validate_args: bool | None = None
    ):
        self.probs = _float_array(probs)
        self.total_count = None if total_count is None else _float_array(total_count)
        self._set_mask(state_mask)
        shapes = [jnp.shape(self.probs), self._mask_shape()]
        if self.total_count is not None:
            shapes.append(_row_param_shape(self.total_count))
        batch, event = _vector_shapes(*shapes)
        super().__init__(batch, event, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> constraints.Constraint:
        if self.total_count is None:
            return constraints.independent(constraints.nonnegative_integer, 1)
        return constraints.multinomial(self.total_count)

    @property
    def mean(self) -> Array:
        if self.total_count is None:
            raise ValueError("MaskedMultinomial.mean needs total_count")
        p = jnp.broadcast_to(self.probs, self.batch_shape + self.event_shape)
        return self.total_count[..., None] * p / jnp.sum(p, axis=-1, keepdims=True)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        if self.total_count is None:
            raise ValueError("MaskedMultinomial.sample needs total_count (the number of trials per row)")
        shape = tuple(sample_shape) + self.batch_shape + self.event_shape
        p = jnp.broadcast_to(jnp.clip(self.probs, 0.0, None), shape)
        p = p / jnp.sum(p, axis=-1, keepdims=True)
        n = jnp.broadcast_to(self.total_count, shape[:-1]).astype(p.dtype)
        # Sequential conditional binomials: c_i ~ Bin(n - sum_{j<i} c_j, p_i / sum_{j>=i} p_j).
        tail = jnp.flip(jnp.cumsum(jnp.flip(p, -1), axis=-1), -1)
        q = jnp.clip(p / jnp.maximum(tail, _tiny(p.dtype)), 0.0, 1.0)
        d = shape[-1]
        keys = jax.random.split(key, d)

        def step(remaining: Array, inputs: tuple[Array, Array]) -> tuple[Array, Array]:
            k, q_i = inputs
            c = jax.random.binomial(k, remaining, q_i, dtype=p.dtype)
            return remaining - c, c

        remaining, counts = jax.lax.scan(step, n, (keys[: d - 1], jnp.moveaxis(q[..., : d - 1], -1, 0)))
        return jnp.concatenate([jnp.moveaxis(counts, 0, -1), remaining[..., None]], axis=-1)

    def log_prob(self, value: Any) -> Array:
        value = _float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        c = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        p = jnp.where(m, _nonneg(jnp.broadcast_to(self.probs, shape)), 0.0)
        k = jnp.sum(m, axis=-1)
        tiny = _tiny(p.dtype)
        active = m & (c > 0)
        pos = p > 0
        log_p = jnp.where(pos, jnp.log(jnp.where(pos, p, 1.0)), -jnp.inf)
        log_total_p = jnp.log(jnp.maximum(jnp.sum(p, axis=-1, keepdims=True), tiny))
        n = jnp.sum(c, axis=-1)
        lp = (
            gammaln(n + 1.0)
            - jnp.sum(jnp.where(m, gammaln(c + 1.0), 0.0), axis=-1)
            + jnp.sum(jnp.where(active, c * (log_p - log_total_p), 0.0), axis=-1)
        )
        return jnp.where(k >= 2, lp, 0.0)


class MaskedPoisson(_MaskedVector):
    """Independent Poisson counts per state; unobserved states are dropped::

        log p = sum_{x observed} [ c_x log r_x - r_x - lgamma(c_x + 1) ]

    (0 for a row with no observed state). ``sample`` draws every state (as floats).

    Parameters
    ----------
    rate
        ``(..., d)`` rates ``r > 0``.
    state_mask
        Optional bool array broadcastable to ``batch_shape + (d,)``; True = observed.
    """

    arg_constraints = {"rate": constraints.independent(constraints.positive, 1)}
    support = constraints.independent(constraints.nonnegative_integer, 1)
    pytree_data_fields = ("rate",)
    is_discrete = True
    _entries_are_counts = True

    def __init__(self, rate: Any, state_mask: Any = None, *, validate_args: bool | None = None):
        self.rate = _float_array(rate)
        self._set_mask(state_mask)
        batch, event = _vector_shapes(jnp.shape(self.rate), self._mask_shape())
        super().__init__(batch, event, validate_args=validate_args)

    @property
    def mean(self) -> Array:
        return jnp.broadcast_to(self.rate, self.batch_shape + self.event_shape)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        rate = jnp.broadcast_to(self.rate, tuple(sample_shape) + self.batch_shape + self.event_shape)
        return jax.random.poisson(key, rate).astype(rate.dtype)

    def log_prob(self, value: Any) -> Array:
        value = _float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        c = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        r = jnp.where(m, jnp.broadcast_to(self.rate, shape), 1.0)
        terms = c * jnp.log(r) - r - gammaln(c + 1.0)
        return jnp.sum(jnp.where(m, terms, 0.0), axis=-1)


class MaskedNegativeBinomial(_MaskedVector):
    """Independent negative binomial (NB2) counts per state; unobserved states are dropped.

    With mean ``r`` and concentration (dispersion) ``phi``, so that the variance is
    ``r + r^2 / phi``::

        log p(c) = lgamma(c + phi) - lgamma(phi) - lgamma(c + 1)
                   + phi log(phi / (phi + r)) + c log(r / (phi + r))

    summed over observed states (0 for a row with no observed state). This is the
    gamma-Poisson mixture ``c ~ Poisson(lambda)``, ``lambda ~ Gamma(phi, rate=phi / r)``,
    which is how :meth:`sample` draws every state (as floats).

    Parameters
    ----------
    rate
        ``(..., d)`` means ``r > 0``.
    concentration
        ``phi > 0``, broadcastable to ``batch_shape + (d,)``.
    state_mask
        Optional bool array broadcastable to ``batch_shape + (d,)``; True = observed.
    """

    arg_constraints = {
        "rate": constraints.independent(constraints.positive, 1),
        "concentration": constraints.positive,
    }
    support = constraints.independent(constraints.nonnegative_integer, 1)
    pytree_data_fields = ("rate", "concentration")
    is_discrete = True
    _entries_are_counts = True

    def __init__(self, rate: Any, concentration: Any, state_mask: Any = None, *, validate_args: bool | None = None):
        self.rate = _float_array(rate)
        self.concentration = _float_array(concentration)
        self._set_mask(state_mask)
        batch, event = _vector_shapes(jnp.shape(self.rate), jnp.shape(self.concentration), self._mask_shape())
        super().__init__(batch, event, validate_args=validate_args)

    @property
    def mean(self) -> Array:
        return jnp.broadcast_to(self.rate, self.batch_shape + self.event_shape)

    @property
    def variance(self) -> Array:
        r = self.mean
        return r + r**2 / self.concentration

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        shape = tuple(sample_shape) + self.batch_shape + self.event_shape
        r = jnp.broadcast_to(self.rate, shape)
        phi = jnp.broadcast_to(self.concentration, shape)
        k_gamma, k_poisson = jax.random.split(key)
        lam = jax.random.gamma(k_gamma, phi, dtype=r.dtype) * (r / phi)
        return jax.random.poisson(k_poisson, lam).astype(r.dtype)

    def log_prob(self, value: Any) -> Array:
        value = _float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        c = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        r = jnp.where(m, jnp.broadcast_to(self.rate, shape), 1.0)
        phi = jnp.where(m, jnp.broadcast_to(self.concentration, shape), 1.0)
        terms = (
            gammaln(c + phi)
            - gammaln(phi)
            - gammaln(c + 1.0)
            - phi * jnp.log1p(r / phi)
            + c * (jnp.log(r) - jnp.log(phi + r))
        )
        return jnp.sum(jnp.where(m, terms, 0.0), axis=-1)


class MaskedLogisticNormal(_MaskedVector):
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
    """

    arg_constraints = {"loc": constraints.real_vector, "scale": constraints.positive}
    support = constraints.simplex
    pytree_data_fields = ("loc", "scale")

    def __init__(self, loc: Any, scale: Any, state_mask: Any = None, *, validate_args: bool | None = None):
        self.loc = _float_array(loc)
        self.scale = _float_array(scale)
        self._set_mask(state_mask)
        batch, event = _vector_shapes(jnp.shape(self.loc), _row_param_shape(self.scale), self._mask_shape())
        super().__init__(batch, event, validate_args=validate_args)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        shape = tuple(sample_shape) + self.batch_shape + self.event_shape
        loc = jnp.broadcast_to(self.loc, shape)
        eps = jax.random.normal(key, shape, dtype=loc.dtype)
        return jax.nn.softmax(loc + self.scale[..., None] * eps, axis=-1)

    def log_prob(self, value: Any) -> Array:
        value = _float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        x = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        loc = jnp.where(m, jnp.broadcast_to(self.loc, shape), 0.0)
        scale = jnp.broadcast_to(self.scale, shape[:-1])
        k = jnp.sum(m, axis=-1)
        kf = jnp.maximum(k, 2).astype(x.dtype)
        tiny = _tiny(x.dtype)
        share = x / jnp.maximum(jnp.sum(x, axis=-1, keepdims=True), tiny)
        log_share = jnp.where(m, jnp.log(jnp.maximum(share, tiny)), 0.0)
        z = jnp.where(m, log_share - loc, 0.0)
        zbar = jnp.sum(z, axis=-1, keepdims=True) / kf[..., None]
        ss = jnp.sum(jnp.where(m, (z - zbar) ** 2, 0.0), axis=-1)
        lp = (
            -0.5 * (kf - 1.0) * _LOG_2PI
            - (kf - 1.0) * jnp.log(scale)
            - 0.5 * jnp.log(kf)
            - ss / (2.0 * scale**2)
            - jnp.sum(log_share, axis=-1)
        )
        return jnp.where(k >= 2, lp, 0.0)


# ---------------------------------------------------------------------------- observation models
def _check_param(model: str, field: str, value: Any) -> float | dist.Distribution:
    """A known positive float, or a scalar prior with non-negative continuous support."""
    where = f"{model}.{field}"
    if isinstance(value, dist.Distribution):
        if value.batch_shape != () or value.event_shape != ():
            raise ValueError(
                f"{where}: a prior must be a scalar distribution (batch_shape () and event_shape ()), "
                f"got batch_shape {value.batch_shape} and event_shape {value.event_shape}"
            )
        lower = getattr(value.support, "lower_bound", None)
        if value.is_discrete or lower is None or not bool(np.all(np.asarray(lower) >= 0)):
            raise ValueError(
                f"{where}: a prior must be continuous with support in (0, inf) (e.g. LogNormal, Gamma, "
                f"HalfNormal), got {type(value).__name__} with support {value.support}"
            )
        return value
    if isinstance(value, bool) or not (
        isinstance(value, numbers.Real) or (np.ndim(value) == 0 and np.issubdtype(np.asarray(value).dtype, np.number))
    ):
        raise TypeError(
            f"{where} must be a positive float (known) or a numpyro Distribution (a prior), "
            f"got {type(value).__name__} {value!r}"
        )
    try:
        return check_positive_float(where, value)
    except TypeError:  # complex numbers and the like
        raise TypeError(f"{where} must be a real number or a numpyro Distribution, got {value!r}") from None


def _check_floor(model: str, field: str, value: Any) -> float:
    where = f"{model}.{field}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where} must be a positive float, got {type(value).__name__} {value!r}")
    return check_positive_float(where, value)


def _check_total_count(where: str, value: Any) -> int | Array | np.ndarray:
    """Non-negative integer number(s) of trials (value checks only when concrete)."""
    if isinstance(value, bool):
        raise TypeError(f"{where} must be a non-negative int or an integer array, got bool")
    if isinstance(value, numbers.Integral):
        if value < 0:
            raise ValueError(f"{where} must be >= 0, got {value}")
        return int(value)
    if isinstance(value, jax.Array) and not is_concrete(value):
        return value
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{where} must be a non-negative int or an integer array, got {type(value).__name__}") from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError(f"{where} must hold non-negative integers, got {value!r}")
    return arr


class ObservationModel(abc.ABC):
    """Base class of the observation models (noise models from equilibrium shares to data).

    Subclasses are frozen dataclasses that set ``kind`` (the data kind they accept),
    ``param_fields`` (the fields that may be known floats or priors) and implement
    :meth:`_make`.

    Calling a model declares the NumPyro sites of one observation (see :meth:`__call__`);
    :meth:`distribution` builds the distribution of the data site without declaring any
    site (to evaluate log-likelihoods or simulate outside a model).

    Examples
    --------
    Every model of this module subclasses it:

    >>> import bayes_mfg as bm
    >>> [m.kind for m in (bm.observe.Dirichlet(100.0), bm.observe.Poisson())]
    ['fractions', 'counts']
    """

    kind: ClassVar[str]
    param_fields: ClassVar[tuple[str, ...]] = ()

    # ----------------------------------------------------------------- parameters
    @property
    def learned(self) -> tuple[str, ...]:
        """Names of the parameters given as priors (each one the site ``f"{name}_{param}"``)."""
        return tuple(f for f in self.param_fields if isinstance(getattr(self, f), dist.Distribution))

    def site_names(self, name: str) -> tuple[str, ...]:
        """All sample sites a call with site name ``name`` declares (parameters first)."""
        return tuple(f"{name}_{f}" for f in self.learned) + (name,)

    def _validate_params(self) -> None:
        model = type(self).__name__
        for f in self.param_fields:
            object.__setattr__(self, f, _check_param(model, f, getattr(self, f)))

    # ----------------------------------------------------------------- distributions
    def distribution(
        self, mu: Any, state_mask: Any = None, *, total_count: Any = None, **values: Any
    ) -> dist.Distribution:
        """The distribution of the data site for shares ``mu`` (declares no NumPyro site).

        Parameters
        ----------
        mu
            ``(..., d)`` predicted shares (rows on the simplex; entries may be 0; round-off
            negatives are clipped to 0).
        state_mask
            Optional bool array broadcastable to ``mu``; True = observed.
        total_count
            Number of trials (only :class:`Multinomial` uses it; ignored by the others).
        **values
            Values of the parameters: required for the learned ones, optional (overriding
            the field) for known ones. Each is per row: a scalar or an array broadcastable
            to ``mu.shape[:-1]``.

        Returns
        -------
        numpyro.distributions.Distribution
            With ``batch_shape == mu.shape[:-1]`` and ``event_shape == (d,)``.
        """
        unknown = sorted(set(values) - set(self.param_fields))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.distribution: unknown parameter(s) {unknown}; "
                f"expected {list(self.param_fields)}"
            )
        params: dict[str, Array] = {}
        for f in self.param_fields:
            if f in values:
                params[f] = _float_array(values[f])
            elif isinstance(getattr(self, f), dist.Distribution):
                raise ValueError(
                    f"{type(self).__name__}.distribution: {f} is learned (a prior); pass its value as {f}=..."
                )
            else:
                params[f] = _float_array(getattr(self, f))
        mu = _float_array(mu)
        if mu.ndim < 1 or mu.shape[-1] < 2:
            raise ValueError(f"mu must have shape (..., d) with d >= 2 states, got {mu.shape}")
        if total_count is not None:
            total_count = _check_total_count("total_count", total_count)
        return self._make(_nonneg(mu), state_mask, total_count, params)

    @abc.abstractmethod
    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        """The data distribution for clipped shares ``mu`` and per-row parameter values."""

    def _call_total_count(self, total_count: Any, data: Observations | None) -> Any:
        """The ``total_count`` passed to :meth:`distribution` by :meth:`__call__`."""
        return None

    # ----------------------------------------------------------------- the NumPyro site
    def __call__(
        self, name: str, mu: Any, data: Observations | None = None, *, total_count: Any = None
    ) -> Array:
        """Declare the sample site ``name`` (and ``f"{name}_<param>"`` for learned parameters).

        Parameters
        ----------
        name
            Name of the data site.
        mu
            ``(n_traj, n_times, d)`` predicted shares (rows on the simplex, entries may be 0).
        data
            Observations to condition on (``data.values`` observed, ``data.mask`` honoured:
            masked entries contribute nothing). ``None``: the site is sampled (prior or
            posterior predictive, simulation) and the full ``(n_traj, n_times, d)`` draw is
            returned.
        total_count
            Number of trials per row, an int or an array broadcastable to
            ``(n_traj, n_times)``: used by :class:`Multinomial` only (ignored by the others).

        Returns
        -------
        jax.Array
            The site's value: ``data.values`` when observed, the draw otherwise.

        Raises
        ------
        TypeError
            If ``name`` is not a non-empty string or ``data`` not an ``Observations``.
        ValueError
            If ``mu`` is not ``(n_traj, n_times, d)`` (``d >= 2``), does not have the shape
            of ``data.values``, or ``data.kind`` is not the model's ``kind``.
        """
        model = type(self).__name__
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str (the site name), got {name!r}")
        mu = _float_array(mu)
        if mu.ndim != 3 or mu.shape[-1] < 2:
            raise ValueError(f"mu must have shape (n_traj, n_times, d) with d >= 2 states, got {mu.shape}")
        if data is not None:
            if not isinstance(data, Observations):
                raise TypeError(f"data must be an Observations or None, got {type(data).__name__}")
            if data.kind != self.kind:
                raise ValueError(
                    f"data.kind is {data.kind!r} but {model} observes kind={self.kind!r}; "
                    f"for {data.kind} use {_MODELS_FOR_KIND[data.kind]}"
                )
            if mu.shape != data.values.shape:
                raise ValueError(
                    f"mu must have the shape of data.values {data.values.shape} "
                    f"(n_traj, n_times, d), got {mu.shape}"
                )
        total = self._call_total_count(total_count, data)
        values = {f: numpyro.sample(f"{name}_{f}", getattr(self, f)) for f in self.learned}
        if data is None:
            fn = self.distribution(mu, total_count=total, **values)
            return numpyro.sample(name, fn)
        fn = self.distribution(mu, jnp.asarray(data.mask), total_count=total, **values)
        return numpyro.sample(name, fn, obs=jnp.asarray(data.values, dtype=mu.dtype))


@dataclass(frozen=True)
class Dirichlet(ObservationModel):
    """Dirichlet noise on observed shares (the seed paper's observation model).

    Each row ``x_t ~ Dirichlet(alpha_t)`` with ``alpha_t = concentration * mu_t + alpha_floor``:
    mean ``mu_t`` (up to the floor) and variance ``mu (1 - mu) / (concentration + 1)``, so
    ``1 / concentration`` is the noise level. Partially observed rows use the renormalised
    observed shares under ``Dirichlet(alpha_S)`` (see :class:`MaskedDirichlet`).

    Attributes
    ----------
    concentration
        Known float > 0 or a prior (site ``f"{name}_concentration"``).
    alpha_floor
        Added to every concentration so that zero shares never give ``alpha = 0``.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.Dirichlet(500.0).distribution(np.array([0.5, 0.3, 0.2]))
    >>> d.event_shape, round(float(d.log_prob(np.array([0.5, 0.3, 0.2]))), 3)
    ((3,), 6.128)
    """

    concentration: float | dist.Distribution = 1000.0
    alpha_floor: float = 1e-8

    kind: ClassVar[str] = "fractions"
    param_fields: ClassVar[tuple[str, ...]] = ("concentration",)

    def __post_init__(self) -> None:
        self._validate_params()
        object.__setattr__(self, "alpha_floor", _check_floor("Dirichlet", "alpha_floor", self.alpha_floor))

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        alpha = params["concentration"][..., None] * mu + self.alpha_floor
        return MaskedDirichlet(alpha, state_mask)


def _as_hashable_total(value: Any) -> int | tuple | None:
    if value is None:
        return None
    checked = _check_total_count("Multinomial.total_count", value)
    if isinstance(checked, int):
        return checked
    if isinstance(checked, jax.Array):
        raise TypeError("Multinomial.total_count must be concrete (an int or an integer array), got a traced array")
    arr = np.asarray(checked)
    if arr.ndim > 2:
        raise ValueError(f"Multinomial.total_count must broadcast to (n_traj, n_times), got shape {arr.shape}")
    ints = np.asarray(arr, dtype=np.int64)
    if ints.ndim == 0:
        return int(ints)
    if ints.ndim == 1:
        return tuple(ints.tolist())
    return tuple(tuple(row) for row in ints.tolist())


@dataclass(frozen=True)
class Multinomial(ObservationModel):
    """Multinomial sampling of counts: per row ``counts_t ~ Multinomial(total_t, mu_t)``.

    When observing, the likelihood is that of the observed counts given their total
    (aggregation: ``c_S | sum(c_S) ~ Multinomial(sum(c_S), mu_S / sum(mu_S))``), so the row
    totals need not be known and ``total_count`` is not used. When sampling without data
    the number of trials must be given, as the field or as the call's ``total_count``
    argument (which takes precedence); with data and no explicit total, draws use the
    observed row totals.

    Attributes
    ----------
    total_count
        ``None``, an int >= 0, or an integer array broadcastable to ``(n_traj, n_times)``
        (stored as nested tuples so the model stays hashable).

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.Multinomial().distribution(np.array([0.5, 0.5]), total_count=10)
    >>> round(float(np.exp(d.log_prob(np.array([5.0, 5.0])))), 4)
    0.2461
    """

    total_count: int | tuple | None = None

    kind: ClassVar[str] = "counts"

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_count", _as_hashable_total(self.total_count))

    def _call_total_count(self, total_count: Any, data: Observations | None) -> Any:
        if total_count is not None:
            return total_count
        if self.total_count is not None:
            return np.asarray(self.total_count, dtype=np.float64)
        if data is not None:
            return np.where(data.mask, data.values, 0.0).sum(-1)
        raise ValueError(
            "Multinomial needs total_count (the number of trials per row) to sample without data: "
            "set Multinomial(total_count=...) or pass total_count=... to the call"
        )

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        if total_count is not None:
            try:
                jnp.broadcast_shapes(jnp.shape(total_count), mu.shape[:-1])
            except ValueError:
                raise ValueError(
                    f"total_count must broadcast to the row shape {mu.shape[:-1]}, got shape {jnp.shape(total_count)}"
                ) from None
        return MaskedMultinomial(mu, total_count, state_mask)


@dataclass(frozen=True)
class Poisson(ObservationModel):
    """Independent Poisson counts: ``counts[x] ~ Poisson(exposure * mu[x] + rate_floor)``.

    ``exposure`` is the population size (the scale linking shares to counts). Unobserved
    states are dropped; no renormalisation (``exposure`` carries the scale).

    Attributes
    ----------
    exposure
        Known float > 0 or a prior (site ``f"{name}_exposure"``).
    rate_floor
        Added to every rate so that zero shares never give rate 0.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.Poisson(exposure=100.0).distribution(np.array([0.2, 0.8]))
    >>> d.mean.round(6).tolist()
    [20.0, 80.0]
    """

    exposure: float | dist.Distribution = 1000.0
    rate_floor: float = 1e-12

    kind: ClassVar[str] = "counts"
    param_fields: ClassVar[tuple[str, ...]] = ("exposure",)

    def __post_init__(self) -> None:
        self._validate_params()
        object.__setattr__(self, "rate_floor", _check_floor("Poisson", "rate_floor", self.rate_floor))

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        return MaskedPoisson(params["exposure"][..., None] * mu + self.rate_floor, state_mask)


@dataclass(frozen=True)
class NegativeBinomial(ObservationModel):
    """Independent over-dispersed counts (NB2): mean ``m = exposure * mu[x] + rate_floor``,
    variance ``m + m^2 / concentration``.

    As ``concentration -> inf`` this tends to :class:`Poisson`. Unobserved states are dropped.

    Attributes
    ----------
    exposure
        Known float > 0 or a prior (site ``f"{name}_exposure"``).
    concentration
        Dispersion ``phi``: known float > 0 or a prior (site ``f"{name}_concentration"``).
    rate_floor
        Added to every mean so that zero shares never give mean 0.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np, numpyro.distributions as dist
    >>> obs = bm.observe.NegativeBinomial(exposure=763.0, concentration=dist.Exponential(0.1))
    >>> obs.learned
    ('concentration',)
    >>> d = obs.distribution(np.array([0.9, 0.1, 0.0]), concentration=10.0)
    >>> d.mean.round(3).tolist()
    [686.7, 76.3, 0.0]
    """

    exposure: float | dist.Distribution = 1000.0
    concentration: float | dist.Distribution = 10.0
    rate_floor: float = 1e-12

    kind: ClassVar[str] = "counts"
    param_fields: ClassVar[tuple[str, ...]] = ("exposure", "concentration")

    def __post_init__(self) -> None:
        self._validate_params()
        object.__setattr__(self, "rate_floor", _check_floor("NegativeBinomial", "rate_floor", self.rate_floor))

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        mean = params["exposure"][..., None] * mu + self.rate_floor
        return MaskedNegativeBinomial(mean, params["concentration"][..., None], state_mask)


@dataclass(frozen=True)
class LogisticNormal(ObservationModel):
    """Logistic-normal noise on observed shares: ``x_t = softmax(log(mu_t + mu_floor) + scale * eps)``
    with ``eps ~ N(0, I_d)``.

    Equivalently the additive log-ratios ``log(x_i / x_ref)`` are Gaussian around
    ``log(mu_i / mu_ref)`` with covariance ``scale^2 (I + 1 1^T)``; ``scale`` is roughly the
    relative error of each share. The likelihood is a density on the simplex (Jacobian
    included, see :class:`MaskedLogisticNormal`), so it is comparable with
    :class:`Dirichlet` on the same data. Partially observed rows use the renormalised
    observed shares (the model is closed under sub-compositions).

    Attributes
    ----------
    scale
        Known float > 0 or a prior (site ``f"{name}_scale"``).
    mu_floor
        Added to ``mu`` before the log so that zero shares give a finite location.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.LogisticNormal(scale=0.1).distribution(np.array([0.5, 0.3, 0.2]))
    >>> d.batch_shape, d.event_shape
    ((), (3,))
    """

    scale: float | dist.Distribution = 0.1
    mu_floor: float = 1e-12

    kind: ClassVar[str] = "fractions"
    param_fields: ClassVar[tuple[str, ...]] = ("scale",)

    def __post_init__(self) -> None:
        self._validate_params()
        object.__setattr__(self, "mu_floor", _check_floor("LogisticNormal", "mu_floor", self.mu_floor))

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        return MaskedLogisticNormal(jnp.log(mu + self.mu_floor), params["scale"], state_mask)
