"""Rate structures: how a game's jump rates (or transition kernels) are laid out.

A structure owns every operation the sweeps need on one step's rates ``a`` (off-diagonal,
``a[x, y] >= 0``) and the generator ``Q = a - diag(sum_y a[x, y])`` they define:

* :meth:`~RateStructure.off_diagonal` (self-jumps set to 0), :meth:`~RateStructure.out_rates`;
* :meth:`~RateStructure.apply` (``Q v``) and :meth:`~RateStructure.apply_transpose` (``mu Q``);
* :meth:`~RateStructure.solve` (``(I - dt Q)^{-1} b`` or ``(I - dt Q)^{-T} b``);
* :meth:`~RateStructure.to_dense` (``(d, d)`` rates);
* for discrete-time kernels ``P[x, a, .]``: :meth:`~RateStructure.expectation`
  (``sum_x' P[x, a, x'] v(x')``) and :meth:`~RateStructure.push` (``sum_{x,a} mu pi P``).

:class:`Dense` stores ``(d, d)`` rates (``(d, A, d)`` kernels); :class:`Neighbours` stores
``(d, K)`` rates (``(d, A, K)`` kernels) for the moves ``x -> table[x, k]`` and never builds a
``d x d`` matrix: every operation is a gather, O(d K) per step. :class:`Chain` is the
neighbour structure of a 1-D grid (an interval or a circle) with exact O(d) solves.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg.stepping.linalg import (
    chain_solve,
    column_action,
    generator,
    m_matrix_solve,
    neighbour_solve,
    row_action,
)

Array = jax.Array

__all__ = ["RateStructure", "Dense", "Neighbours", "Chain"]


class RateStructure(abc.ABC):
    """The layout of one step's rates and the operations on its generator (see the module).

    Examples
    --------
    Both structures give the same generator products on the same rates:

    >>> import jax.numpy as jnp, numpy as np
    >>> from bayes_mfg.stepping import Dense, Neighbours
    >>> nbr = Neighbours(np.array([[1, 2], [0, 2], [0, 1]]))
    >>> rates = jnp.array([[1.0, 2.0], [0.5, 0.0], [3.0, 1.0]])
    >>> mu = jnp.array([0.2, 0.3, 0.5])
    >>> bool(jnp.allclose(nbr.apply_transpose(rates, mu), Dense().apply_transpose(nbr.to_dense(rates), mu)))
    True
    """

    @abc.abstractmethod
    def off_diagonal(self, rates: Array) -> Array:
        """The rates with every self-jump set to 0."""

    def out_rates(self, rates: Array) -> Array:
        """``(d,)`` total rate out of each state (of off-diagonal rates)."""
        return jnp.sum(rates, axis=-1)

    @abc.abstractmethod
    def apply(self, rates: Array, v: Array) -> Array:
        """``Q v`` (a value vector: the HJB side)."""

    @abc.abstractmethod
    def apply_transpose(self, rates: Array, mu: Array) -> Array:
        """``mu Q`` (a distribution: the Kolmogorov side)."""

    @abc.abstractmethod
    def solve(self, rates: Array, dt: float, b: Array, transpose: bool) -> Array:
        """``(I - dt Q)^{-1} b``, or ``(I - dt Q)^{-T} b`` with ``transpose``."""

    @abc.abstractmethod
    def to_dense(self, rates: Array) -> Array:
        """``(..., d, d)`` dense rates."""

    @abc.abstractmethod
    def expectation(self, kernel: Array, v: Array) -> Array:
        """``(d, A)``: ``sum_x' P[x, a, x'] v(x')`` for a transition kernel."""

    @abc.abstractmethod
    def push(self, kernel: Array, mu: Array, pi: Array) -> Array:
        """``(d,)``: ``sum_{x, a} mu(x) pi(a | x) P[x, a, x']``."""

    @abc.abstractmethod
    def destinations(self, states: Array, n_states: int) -> Array:
        """``(n, K)``: the state each column of a rate or kernel row leads to, for ``n`` states
        (to sample moves of individual agents)."""


@dataclass(frozen=True)
class Dense(RateStructure):
    """``(d, d)`` rates ``a[x, y]`` (diagonal ignored); ``(d, A, d)`` kernels.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.stepping import Dense
    >>> rates = jnp.array([[0.0, 2.0], [1.0, 0.0]])
    >>> x = Dense().solve(rates, 0.5, jnp.array([1.0, 0.0]), transpose=True)   # mu (I - dt Q)^{-1}
    >>> [round(float(v), 6) for v in x], round(float(x.sum()), 12)
    ([0.6, 0.4], 1.0)
    """

    def off_diagonal(self, rates: Array) -> Array:
        return rates * (1.0 - jnp.eye(rates.shape[-1], dtype=rates.dtype))

    def apply(self, rates: Array, v: Array) -> Array:
        return generator(rates) @ v

    def apply_transpose(self, rates: Array, mu: Array) -> Array:
        return mu @ generator(rates)

    def solve(self, rates: Array, dt: float, b: Array, transpose: bool) -> Array:
        a = jnp.eye(b.shape[0], dtype=b.dtype) - dt * generator(rates)
        return m_matrix_solve(a.T if transpose else a, b)

    def to_dense(self, rates: Array) -> Array:
        return rates

    def expectation(self, kernel: Array, v: Array) -> Array:
        return kernel @ v

    def push(self, kernel: Array, mu: Array, pi: Array) -> Array:
        return jnp.einsum("x,xa,xay->y", mu, pi, kernel)

    def destinations(self, states: Array, n_states: int) -> Array:
        return jnp.broadcast_to(jnp.arange(n_states), (states.shape[0], n_states))


class Neighbours(RateStructure):
    """Rates ``(d, K)``: entry ``[x, k]`` is the rate of the move ``x -> table[x, k]``.

    Rows of ``table`` are padded with ``x`` itself (a self-jump, ignored). Kernels of
    discrete-time games are ``(d, A, K)``.

    Parameters
    ----------
    table
        ``(d, K)`` integer array of destinations.

    Examples
    --------
    A ring of 4 states, each moving to its two neighbours:

    >>> import numpy as np
    >>> from bayes_mfg.stepping import Neighbours
    >>> ring = Neighbours(np.array([[(x - 1) % 4, (x + 1) % 4] for x in range(4)]))
    >>> ring, ring.to_dense(np.ones((4, 2))).sum(axis=1).tolist()
    (Neighbours(d=4, K=2), [2.0, 2.0, 2.0, 2.0])
    """

    def __init__(self, table: np.ndarray) -> None:
        table = np.asarray(table)
        if table.ndim != 2 or not np.issubdtype(table.dtype, np.integer):
            raise ValueError(f"table must be a (d, K) integer array, got {table.dtype} of shape {table.shape}")
        d = table.shape[0]
        if table.size and (table.min() < 0 or table.max() >= d):
            raise ValueError(f"table entries must be states in 0..{d - 1}")
        self.table = table
        self._self = table == np.arange(d)[:, None]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Neighbours) and np.array_equal(self.table, other.table)

    def __hash__(self) -> int:
        return hash((self.table.shape, self.table.tobytes()))

    def __repr__(self) -> str:
        return f"Neighbours(d={self.table.shape[0]}, K={self.table.shape[1]})"

    def off_diagonal(self, rates: Array) -> Array:
        return jnp.where(self._self, 0.0, rates)

    def apply(self, rates: Array, v: Array) -> Array:
        return row_action(rates, self.table, v) - jnp.sum(rates, axis=1) * v

    def apply_transpose(self, rates: Array, mu: Array) -> Array:
        return column_action(rates, self.table, mu) - jnp.sum(rates, axis=1) * mu

    def solve(self, rates: Array, dt: float, b: Array, transpose: bool) -> Array:
        return neighbour_solve(rates, self.table, dt, b, transpose=transpose)

    def to_dense(self, rates: Array) -> Array:
        d, k = self.table.shape
        rates = self.off_diagonal(rates)
        flat = rates.reshape(-1, d * k)
        rows = np.repeat(np.arange(d), k)
        dense = jnp.zeros((flat.shape[0], d, d), dtype=rates.dtype).at[:, rows, self.table.ravel()].add(flat)
        return dense.reshape(*rates.shape[:-2], d, d)

    def expectation(self, kernel: Array, v: Array) -> Array:
        return jnp.sum(kernel * v[self.table][:, None, :], axis=-1)

    def push(self, kernel: Array, mu: Array, pi: Array) -> Array:
        moves = jnp.einsum("xa,xak->xk", pi, kernel)  # (d, K) probability of each move
        stay = jnp.sum(jnp.where(self._self, moves, 0.0), axis=1)
        return column_action(moves, self.table, mu) + mu * stay

    def destinations(self, states: Array, n_states: int) -> Array:
        return jnp.asarray(self.table)[states]


class Chain(Neighbours):
    """The jumps of a 1-D chain (an interval or a circle): rates ``(d, 2)`` = (left, right).

    Entry ``[x, 0]`` is the rate of ``x -> x - 1``, ``[x, 1]`` of ``x -> x + 1`` (modulo d on
    a circle). On an interval the end points have no outward move (a reflecting wall: the
    table holds ``x`` itself there); states in ``absorbing`` have no moves at all. Every
    operation is that of :class:`Neighbours`, except :meth:`solve`: an exact O(d)
    tridiagonal (cyclic tridiagonal) solve (:func:`~bayes_mfg.stepping.chain_solve`) instead
    of Jacobi iteration, whose cost grows with ``dt * max rate`` (``sigma^2 dt / h^2``: over
    200 on a grid of 1025 points with ``sigma = 0.15``, ``dt = 0.01``).

    Parameters
    ----------
    n_states
        Number of states ``d`` (``>= 3`` on a circle, ``>= 2`` on an interval).
    periodic
        A circle instead of an interval.
    absorbing
        States with no outgoing moves.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.stepping import Chain
    >>> line = Chain(4)
    >>> line, line.table.tolist()
    (Chain(d=4, periodic=False), [[0, 1], [0, 2], [1, 3], [2, 3]])
    >>> mu = line.solve(jnp.ones((4, 2)), 0.5, jnp.array([1.0, 0.0, 0.0, 0.0]), transpose=True)
    >>> round(float(mu.sum()), 12)
    1.0
    """

    def __init__(self, n_states: int, periodic: bool = False, absorbing: tuple[int, ...] = ()) -> None:
        if not isinstance(n_states, (int, np.integer)) or n_states < (3 if periodic else 2):
            raise ValueError(f"n_states must be an int >= {3 if periodic else 2}, got {n_states!r}")
        x = np.arange(n_states)
        if periodic:
            table = np.stack([(x - 1) % n_states, (x + 1) % n_states], axis=1)
        else:
            table = np.stack([np.maximum(x - 1, 0), np.minimum(x + 1, n_states - 1)], axis=1)
        absorbing = tuple(int(a) for a in absorbing)
        if any(not 0 <= a < n_states for a in absorbing):
            raise ValueError(f"absorbing states must be in 0..{n_states - 1}, got {absorbing}")
        table[list(absorbing)] = np.array(absorbing)[:, None]
        super().__init__(table)
        self.periodic, self.absorbing = bool(periodic), absorbing

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chain) and self.periodic == other.periodic and np.array_equal(self.table, other.table)

    def __hash__(self) -> int:
        return hash((Chain, self.periodic, self.table.tobytes()))

    def __repr__(self) -> str:
        return f"Chain(d={self.table.shape[0]}, periodic={self.periodic})"

    def solve(self, rates: Array, dt: float, b: Array, transpose: bool) -> Array:
        rates = self.off_diagonal(rates)
        return chain_solve(rates[:, 0], rates[:, 1], dt, b, transpose=transpose, periodic=self.periodic)
