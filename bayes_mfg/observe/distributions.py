"""Masked NumPyro distributions behind the observation sites.

Each takes a ``state_mask`` (True = observed) over the event axis; masked entries contribute
nothing to ``log_prob`` and ``sample`` ignores the mask (see :mod:`bayes_mfg.observe`).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, xlog1py, xlogy
from numpyro.distributions import constraints

from bayes_mfg.observe._arrays import float_array, log_clip, nonneg
from bayes_mfg.observe._logistic_normal import MaskedLogisticNormal
from bayes_mfg.observe._masked import MaskedVector, row_param_shape, vector_shapes

__all__ = ["MaskedBinomial", "MaskedDirichlet", "MaskedLogisticNormal", "MaskedMultinomial", "MaskedNegativeBinomial",
           "MaskedNormal", "MaskedPoisson", "SequentialBinomial"]

Array = jax.Array

LOG_2PI = math.log(2.0 * math.pi)


class MaskedDirichlet(MaskedVector):
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
    Examples
    --------
    Only the observed states count, renormalised:

    >>> import jax.numpy as jnp, numpyro.distributions as dist
    >>> from bayes_mfg.observe import MaskedDirichlet
    >>> d = MaskedDirichlet(jnp.array([2.0, 3.0, 5.0]), jnp.array([True, True, False]))
    >>> x = jnp.array([0.4, 0.4, 0.2])
    >>> bool(jnp.isclose(d.log_prob(x), dist.Dirichlet(jnp.array([2.0, 3.0])).log_prob(jnp.array([0.5, 0.5]))))
    True
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    pytree_data_fields = ("concentration",)

    def __init__(self, concentration: Any, state_mask: Any = None, *, validate_args: bool | None = None):
        self.concentration = float_array(concentration)
        self._set_mask(state_mask)
        batch, event = vector_shapes(jnp.shape(self.concentration), self._mask_shape())
        super().__init__(batch, event, validate_args=validate_args)

    @property
    def mean(self) -> Array:
        alpha = jnp.broadcast_to(self.concentration, self.batch_shape + self.event_shape)
        return alpha / jnp.sum(alpha, axis=-1, keepdims=True)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        alpha = jnp.broadcast_to(self.concentration, tuple(sample_shape) + self.batch_shape + self.event_shape)
        return jax.random.dirichlet(key, alpha, dtype=alpha.dtype)

    def log_prob(self, value: Any) -> Array:
        value = float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        x = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        alpha = jnp.where(m, jnp.broadcast_to(self.concentration, shape), 1.0)
        k = jnp.sum(m, axis=-1)
        informative = k >= 2
        tiny = log_clip(x.dtype)
        share = x / jnp.maximum(jnp.sum(x, axis=-1, keepdims=True), tiny)
        log_share = jnp.log(jnp.maximum(share, tiny))
        alpha_sum = jnp.where(informative, jnp.sum(jnp.where(m, alpha, 0.0), axis=-1), 1.0)
        lp = (
            gammaln(alpha_sum)
            - jnp.sum(jnp.where(m, gammaln(alpha), 0.0), axis=-1)
            + jnp.sum(jnp.where(m, (alpha - 1.0) * log_share, 0.0), axis=-1)
        )
        return jnp.where(informative, lp, 0.0)


class MaskedMultinomial(MaskedVector):
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
    Examples
    --------
    >>> import jax.numpy as jnp, numpyro.distributions as dist
    >>> from bayes_mfg.observe import MaskedMultinomial
    >>> d = MaskedMultinomial(jnp.array([0.2, 0.3, 0.5]), state_mask=jnp.array([True, True, False]))
    >>> ref = dist.Multinomial(5, jnp.array([0.4, 0.6])).log_prob(jnp.array([2.0, 3.0]))
    >>> bool(jnp.isclose(d.log_prob(jnp.array([2.0, 3.0, 9.0])), ref))
    True
    """

    arg_constraints = {"probs": constraints.independent(constraints.nonnegative, 1)}
    pytree_data_fields = ("probs", "total_count")
    is_discrete = True
    _entries_are_counts = True

    def __init__(
        self, probs: Any, total_count: Any = None, state_mask: Any = None, *, validate_args: bool | None = None
    ):
        self.probs = float_array(probs)
        self.total_count = None if total_count is None else float_array(total_count)
        self._set_mask(state_mask)
        shapes = [jnp.shape(self.probs), self._mask_shape()]
        if self.total_count is not None:
            shapes.append(row_param_shape(self.total_count))
        batch, event = vector_shapes(*shapes)
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
        q = jnp.clip(p / jnp.maximum(tail, log_clip(p.dtype)), 0.0, 1.0)
        d = shape[-1]
        keys = jax.random.split(key, d)

        def step(remaining: Array, inputs: tuple[Array, Array]) -> tuple[Array, Array]:
            k, q_i = inputs
            c = jax.random.binomial(k, remaining, q_i, dtype=p.dtype)
            return remaining - c, c

        remaining, counts = jax.lax.scan(step, n, (keys[: d - 1], jnp.moveaxis(q[..., : d - 1], -1, 0)))
        return jnp.concatenate([jnp.moveaxis(counts, 0, -1), remaining[..., None]], axis=-1)

    def log_prob(self, value: Any) -> Array:
        value = float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        c = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        p = jnp.where(m, nonneg(jnp.broadcast_to(self.probs, shape)), 0.0)
        k = jnp.sum(m, axis=-1)
        tiny = log_clip(p.dtype)
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


class MaskedPoisson(MaskedVector):
    """Independent Poisson counts per state; unobserved states are dropped::

        log p = sum_{x observed} [ c_x log r_x - r_x - lgamma(c_x + 1) ]

    (0 for a row with no observed state). ``sample`` draws every state (as floats).

    Parameters
    ----------
    rate
        ``(..., d)`` rates ``r > 0``.
    state_mask
        Optional bool array broadcastable to ``batch_shape + (d,)``; True = observed.
    Examples
    --------
    A sensor missing in the second of two rows drops out of that row only:

    >>> import jax.numpy as jnp, numpyro.distributions as dist
    >>> from bayes_mfg.observe import MaskedPoisson
    >>> counts, rate = jnp.array([[1.0, 4.0], [2.0, 9.0]]), jnp.array([1.5, 4.5])
    >>> lp = MaskedPoisson(rate, jnp.array([[True, True], [True, False]])).log_prob(counts)
    >>> full = dist.Poisson(rate).log_prob(counts)
    >>> bool(jnp.allclose(lp, jnp.array([full[0].sum(), full[1, 0]])))
    True
    """

    arg_constraints = {"rate": constraints.independent(constraints.positive, 1)}
    support = constraints.independent(constraints.nonnegative_integer, 1)
    pytree_data_fields = ("rate",)
    is_discrete = True
    _entries_are_counts = True

    def __init__(self, rate: Any, state_mask: Any = None, *, validate_args: bool | None = None):
        self.rate = float_array(rate)
        self._set_mask(state_mask)
        batch, event = vector_shapes(jnp.shape(self.rate), self._mask_shape())
        super().__init__(batch, event, validate_args=validate_args)

    @property
    def mean(self) -> Array:
        return jnp.broadcast_to(self.rate, self.batch_shape + self.event_shape)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        rate = jnp.broadcast_to(self.rate, tuple(sample_shape) + self.batch_shape + self.event_shape)
        return jax.random.poisson(key, rate).astype(rate.dtype)

    def log_prob(self, value: Any) -> Array:
        value = float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        c = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        r = jnp.where(m, jnp.broadcast_to(self.rate, shape), 1.0)
        terms = c * jnp.log(r) - r - gammaln(c + 1.0)
        return jnp.sum(jnp.where(m, terms, 0.0), axis=-1)


class MaskedNegativeBinomial(MaskedVector):
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
    Examples
    --------
    A large concentration approaches the Poisson:

    >>> import jax.numpy as jnp
    >>> from bayes_mfg.observe import MaskedNegativeBinomial, MaskedPoisson
    >>> r, c = jnp.array([2.0, 3.0]), jnp.array([1.0, 4.0])
    >>> gap = MaskedNegativeBinomial(r, 1e8).log_prob(c) - MaskedPoisson(r).log_prob(c)
    >>> bool(abs(gap) < 1e-6)
    True
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
        self.rate = float_array(rate)
        self.concentration = float_array(concentration)
        self._set_mask(state_mask)
        batch, event = vector_shapes(jnp.shape(self.rate), jnp.shape(self.concentration), self._mask_shape())
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
        value = float_array(value)
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


def _binomial_log_pmf(c: Array, n: Array, p: Array) -> Array:
    """``log Binomial(c; n, p) = log n! - log c! - log (n - c)! + c log p + (n - c) log(1 - p)``
    entrywise (``0 log 0 = 0``, so ``p`` may be 0 or 1)."""
    return gammaln(n + 1.0) - gammaln(c + 1.0) - gammaln(n - c + 1.0) + xlogy(c, p) + xlog1py(n - c, -p)


class MaskedBinomial(MaskedVector):
    """Independent binomial counts per entry; unobserved entries are dropped::

        log p = sum_{j observed} [ lgamma(n_j + 1) - lgamma(c_j + 1) - lgamma(n_j - c_j + 1)
                                   + c_j log p_j + (n_j - c_j) log(1 - p_j) ]

    with ``0 log 0 = 0`` (0 for a row with no observed entry). ``sample`` draws every entry
    (as floats).

    Parameters
    ----------
    probs
        ``(..., k)`` success probabilities in [0, 1].
    total_count
        Numbers of trials ``n >= 0``, broadcastable to ``batch_shape + (k,)``.
    state_mask
        Optional bool array broadcastable to ``batch_shape + (k,)``; True = observed.

    Examples
    --------
    >>> import jax.numpy as jnp, numpyro.distributions as dist
    >>> from bayes_mfg.observe import MaskedBinomial
    >>> d = MaskedBinomial(jnp.array([0.3, 0.6]), 42.0)
    >>> full = dist.Binomial(42, jnp.array([0.3, 0.6])).log_prob(jnp.array([12.0, 25.0])).sum()
    >>> bool(jnp.isclose(d.log_prob(jnp.array([12.0, 25.0])), full))
    True
    """

    arg_constraints = {"probs": constraints.independent(constraints.unit_interval, 1),
                       "total_count": constraints.nonnegative}
    support = constraints.independent(constraints.nonnegative_integer, 1)
    pytree_data_fields = ("probs", "total_count")
    is_discrete = True
    _entries_are_counts = True

    def __init__(self, probs: Any, total_count: Any, state_mask: Any = None, *, validate_args: bool | None = None):
        self.probs = float_array(probs)
        self.total_count = float_array(total_count)
        self._set_mask(state_mask)
        batch, event = vector_shapes(jnp.shape(self.probs), jnp.shape(self.total_count), self._mask_shape())
        super().__init__(batch, event, validate_args=validate_args)

    @property
    def mean(self) -> Array:
        return jnp.broadcast_to(self.total_count * self.probs, self.batch_shape + self.event_shape)

    @property
    def variance(self) -> Array:
        p = self.probs
        return jnp.broadcast_to(self.total_count * p * (1 - p), self.batch_shape + self.event_shape)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        shape = tuple(sample_shape) + self.batch_shape + self.event_shape
        p = jnp.clip(jnp.broadcast_to(self.probs, shape), 0.0, 1.0)
        n = jnp.broadcast_to(self.total_count, shape)
        return jax.random.binomial(key, n, p, shape=shape).astype(p.dtype)

    def log_prob(self, value: Any) -> Array:
        value = float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        c = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        n = jnp.where(m, jnp.broadcast_to(self.total_count, shape), 0.0)
        p = jnp.clip(jnp.broadcast_to(self.probs, shape), 0.0, 1.0)
        terms = _binomial_log_pmf(c, n, p)
        return jnp.sum(jnp.where(m, terms, 0.0), axis=-1)


class MaskedNormal(MaskedVector):
    """Independent normal values per entry; unobserved entries are dropped::

        log p = sum_{j observed} [ -(y_j - m_j)^2 / (2 s^2) - log s - log(2 pi) / 2 ]

    (0 for a row with no observed entry). ``sample`` draws every entry.

    Parameters
    ----------
    loc
        ``(..., k)`` means.
    scale
        Standard deviations ``s > 0``, broadcastable to ``batch_shape + (k,)``.
    state_mask
        Optional bool array broadcastable to ``batch_shape + (k,)``; True = observed.

    Examples
    --------
    >>> import jax.numpy as jnp, numpyro.distributions as dist
    >>> from bayes_mfg.observe import MaskedNormal
    >>> d = MaskedNormal(jnp.array([0.5, 1.0]), 0.1, jnp.array([True, False]))
    >>> bool(jnp.isclose(d.log_prob(jnp.array([0.45, 7.0])), dist.Normal(0.5, 0.1).log_prob(0.45)))
    True
    """

    arg_constraints = {"loc": constraints.independent(constraints.real, 1), "scale": constraints.positive}
    support = constraints.independent(constraints.real, 1)
    pytree_data_fields = ("loc", "scale")
    _entries_are_real = True

    def __init__(self, loc: Any, scale: Any, state_mask: Any = None, *, validate_args: bool | None = None):
        self.loc = float_array(loc)
        self.scale = float_array(scale)
        self._set_mask(state_mask)
        batch, event = vector_shapes(jnp.shape(self.loc), jnp.shape(self.scale), self._mask_shape())
        super().__init__(batch, event, validate_args=validate_args)

    @property
    def mean(self) -> Array:
        return jnp.broadcast_to(self.loc, self.batch_shape + self.event_shape)

    @property
    def variance(self) -> Array:
        return jnp.broadcast_to(self.scale**2, self.batch_shape + self.event_shape)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        shape = tuple(sample_shape) + self.batch_shape + self.event_shape
        eps = jax.random.normal(key, shape, dtype=self.loc.dtype)
        return jnp.broadcast_to(self.loc, shape) + jnp.broadcast_to(self.scale, shape) * eps

    def log_prob(self, value: Any) -> Array:
        value = float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        y = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        loc = jnp.where(m, jnp.broadcast_to(self.loc, shape), 0.0)
        s = jnp.where(m, jnp.broadcast_to(self.scale, shape), 1.0)
        terms = -0.5 * ((y - loc) / s) ** 2 - jnp.log(s) - 0.5 * LOG_2PI
        return jnp.sum(jnp.where(m, terms, 0.0), axis=-1)


class SequentialBinomial(MaskedVector):
    """Entries of a group of ``n`` agents into an absorbing set, one row per interval.

    With ``h_k`` the entry hazard of interval ``k`` (the rows along the last batch axis are
    the intervals in order) and ``c_k`` the agents entering in it, the counts of a group of
    ``n`` independent agents are ``Multinomial(n, (p_1, ..., p_K, rest))`` with
    ``p_k = h_k prod_{l<k} (1 - h_l)``, which factorises exactly into one binomial per row,
    ``c_k ~ Binomial(r_k, h_k)`` with ``r_k = n - sum_{l<k} c_l`` the agents still outside::

        log p(row k) = log Binomial(c_k; r_k, h_k)      (0 where masked)

    The numbers at risk ``r_k`` are read off the value itself, so the distribution needs
    only ``n``. ``sample`` draws whole groups (row by row, the at-risk numbers of the draw).
    Mask whole trajectories, not single intervals: a masked interval counts as no entry.

    Parameters
    ----------
    hazards
        ``(..., K, k)`` hazards in [0, 1] (the rows ``K`` along the last batch axis).
    group_size
        ``n``, broadcastable to the batch shape without the interval axis.
    state_mask
        Optional bool mask broadcastable to ``batch_shape + (k,)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scipy import stats
    >>> from bayes_mfg.observe import SequentialBinomial
    >>> h = jnp.array([[0.2], [0.5], [0.5]])             # three intervals
    >>> c = jnp.array([[4.0], [6.0], [3.0]])            # entries of a group of 20
    >>> lp = float(SequentialBinomial(h, 20.0).log_prob(c).sum())
    >>> p = [0.2, 0.8 * 0.5, 0.8 * 0.5 * 0.5, 0.8 * 0.5 * 0.5]
    >>> abs(lp - float(stats.multinomial.logpmf([4, 6, 3, 7], 20, p))) < 1e-10
    True
    """

    arg_constraints = {"hazards": constraints.independent(constraints.unit_interval, 1),
                       "group_size": constraints.nonnegative}
    support = constraints.independent(constraints.nonnegative_integer, 1)
    pytree_data_fields = ("hazards", "group_size")
    is_discrete = True
    _entries_are_counts = True

    def __init__(self, hazards: Any, group_size: Any, state_mask: Any = None, *, validate_args: bool | None = None):
        self.hazards = float_array(hazards)
        self.group_size = float_array(group_size)
        self._set_mask(state_mask)
        batch, event = vector_shapes(jnp.shape(self.hazards), self._mask_shape())
        if len(batch) < 1:
            raise ValueError(f"hazards must have shape (..., K, k) (a row per interval), got {jnp.shape(self.hazards)}")
        jnp.broadcast_shapes(jnp.shape(self.group_size), batch[:-1])
        super().__init__(batch, event, validate_args=validate_args)

    def _group(self, shape: tuple[int, ...]) -> Array:
        """``n`` broadcast to ``shape`` (the full ``(..., K, k)`` shape)."""
        n = jnp.reshape(self.group_size, jnp.shape(self.group_size) + (1, 1))
        return jnp.broadcast_to(n, shape)

    @property
    def mean(self) -> Array:
        shape = self.batch_shape + self.event_shape
        h = jnp.broadcast_to(self.hazards, shape)
        # prod_{l<k} (1 - h_l): the share still outside at the start of interval k
        outside = jnp.concatenate([jnp.ones_like(h[..., :1, :]), jnp.cumprod(1.0 - h, axis=-2)[..., :-1, :]], axis=-2)
        return self._group(shape) * h * outside

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        shape = tuple(sample_shape) + self.batch_shape + self.event_shape
        h = jnp.clip(jnp.broadcast_to(self.hazards, shape), 0.0, 1.0)
        n = self._group(shape)[..., 0, :]
        keys = jax.random.split(key, shape[-2])

        def step(remaining, inputs):
            k, hk = inputs
            c = jax.random.binomial(k, remaining, hk).astype(h.dtype)
            return remaining - c, c

        _, counts = jax.lax.scan(step, n, (keys, jnp.moveaxis(h, -2, 0)))
        return jnp.moveaxis(counts, 0, -2)

    def log_prob(self, value: Any) -> Array:
        value = float_array(value)
        shape = self._shape_for(value)
        m = self._full_mask(shape)
        c = jnp.where(m, jnp.broadcast_to(value, shape), 0.0)
        before = jnp.cumsum(c, axis=-2) - c
        r = self._group(shape) - before
        p = jnp.clip(jnp.broadcast_to(self.hazards, shape), 0.0, 1.0)
        r_safe = jnp.where(m, jnp.maximum(r, c), 0.0)
        terms = _binomial_log_pmf(c, r_safe, p)
        impossible = m & (c > r)  # more entries than agents left
        return jnp.sum(jnp.where(m, jnp.where(impossible, -jnp.inf, terms), 0.0), axis=-1)
