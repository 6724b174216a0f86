"""Fixed-point solvers of the mean-field path: damped Picard, Anderson, fictitious play.

Each is an :class:`~bayes_mfg.engine.AbstractSolver` (``init``/``step``/``terminate``/``check``)
run by the one driver :func:`~bayes_mfg.engine.iterate`. A new solver subclasses
:class:`~bayes_mfg.engine.AbstractSolver` the same way, outside the package if need be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from bayes_mfg._validation import check_positive_float, check_positive_int
from bayes_mfg.engine.fixed_point import (
    AbstractSolver,
    FixedPointFn,
    FixedPointState,
    check_stopping,
    extended_state,
    keep_best,
    residual,
)

Array = jax.Array

__all__ = ["Picard", "Anderson", "FictitiousPlay", "AndersonState", "PicardState"]

#: the state of Picard iteration and fictitious play
PicardState = FixedPointState


def _picard_init(fn: FixedPointFn, x0: Array, args: Any) -> FixedPointState:
    gx = fn(x0, args)
    res = residual(x0, gx)
    zero = jnp.zeros((), jnp.int32)
    return FixedPointState(x0, gx, res, x0, gx, res, zero, zero + 1)


def _picard_step(fn: FixedPointFn, state: FixedPointState, args: Any, weight: Any) -> FixedPointState:
    """``x <- x + weight (G(x) - x)``: one relaxed fixed-point step."""
    x = state.x + weight * (state.gx - state.x)
    gx = fn(x, args)
    res = residual(x, gx)
    best = keep_best(state.best_x, state.best_gx, state.best_residual, x, gx, res)
    return FixedPointState(x, gx, res, *best, state.iteration + 1, state.n_evals + 1)


class AndersonState(extended_state("AndersonFields", ("history_x", "history_gx", "history_valid", "n_restarts", "rejected"))):
    """State of Anderson acceleration: the Picard fields plus a history of ``memory`` pairs.

    Attributes
    ----------
    x, gx, residual, best_x, best_gx, best_residual, iteration, n_evals
        As in :class:`PicardState`.
    history_x, history_gx
        ``(memory, size)`` past iterates and their images (flattened).
    history_valid
        ``(memory,)`` which slots hold a pair since the last restart.
    n_restarts
        How often the safeguard rejected an extrapolated step.
    rejected
        Whether the safeguard rejected the current ``x`` (the next step restarts).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import Anderson
    >>> state = Anderson(memory=3).init(lambda x, a: jnp.cos(x), jnp.ones(2), None)
    >>> state.history_x.shape, int(state.n_restarts)
    ((3, 2), 0)
    """

    __slots__ = ()


@dataclass(frozen=True)
class Picard(AbstractSolver):
    """Damped Picard iteration ``x <- (1 - damping) G(x) + damping x`` (the seed paper's method).

    Parameters
    ----------
    damping
        Weight on the old iterate, in [0, 1). 0 is plain fixed-point iteration.
    tol
        Stop when ``max|G(x) - x| <= tol``. ``None``: 1e-10 in float64, 1e-5 in float32.
    max_iter
        Iteration cap; reaching it is reported (``converged=False``), never silent.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> params, mu0 = game.params(gamma=1.55), [0.5, 0.3, 0.2]
    >>> eq = bm.equilibrium(game, params, mu0, solver=bm.Picard(damping=0.5, tol=1e-10))
    >>> bool(eq.converged), float(eq.info.residual) <= 1e-10
    (True, True)
    """

    damping: float = 0.0
    tol: float | None = None
    max_iter: int = 2000

    def __post_init__(self) -> None:
        check_positive_float("damping", self.damping, allow_zero=True)
        if self.damping >= 1:
            raise ValueError(f"damping must be in [0, 1), got {self.damping}")
        check_stopping(self.tol, self.max_iter)

    def init(self, fn: FixedPointFn, x0: Array, args: Any) -> FixedPointState:
        return _picard_init(fn, x0, args)

    def step(self, fn: FixedPointFn, state: FixedPointState, args: Any) -> FixedPointState:
        return _picard_step(fn, state, args, 1.0 - self.damping)


@dataclass(frozen=True)
class Anderson(AbstractSolver):
    """Anderson acceleration (type II) of the fixed-point map, with a restart safeguard.

    With the last ``m`` iterates ``x_i`` and residuals ``f_i = G(x_i) - x_i``, the next
    iterate is ``sum_i alpha_i ((1 - damping) G(x_i) + damping x_i)`` where ``alpha``
    minimises ``|sum_i alpha_i f_i|_2`` subject to ``sum_i alpha_i = 1`` (normal equations
    with relative Tikhonov regularisation ``regularization * max_i |f_i|^2``).
    Safeguard: if the extrapolated point's residual is non-finite or larger than
    ``restart_factor`` times the best residual so far, it is rejected: the history is
    cleared and the next step is a damped Picard step from the best iterate. Every step
    evaluates G exactly once (no data-dependent branch, so a batch under ``vmap`` costs one
    evaluation per step, not two).

    Parameters
    ----------
    memory
        Number of past pairs used (m >= 1).
    damping
        Mixing weight on the old iterates, in [0, 1).
    tol, max_iter
        As in :class:`Picard`.
    regularization
        Relative ridge on the least-squares problem.
    restart_factor
        Safeguard threshold (> 1).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> params, mu0 = game.params(gamma=1.55), [0.5, 0.3, 0.2]
    >>> eq = bm.equilibrium(game, params, mu0, solver=bm.Anderson(memory=5, tol=1e-12))
    >>> bool(eq.converged), float(eq.info.residual) <= 1e-12
    (True, True)
    """

    memory: int = 5
    damping: float = 0.0
    tol: float | None = None
    max_iter: int = 500
    regularization: float = 1e-10
    restart_factor: float = 10.0

    def __post_init__(self) -> None:
        check_positive_int("memory", self.memory)
        check_positive_float("damping", self.damping, allow_zero=True)
        if self.damping >= 1:
            raise ValueError(f"damping must be in [0, 1), got {self.damping}")
        check_stopping(self.tol, self.max_iter)
        check_positive_float("regularization", self.regularization, allow_zero=True)
        if not self.restart_factor > 1:
            raise ValueError(f"restart_factor must be > 1, got {self.restart_factor}")

    def init(self, fn: FixedPointFn, x0: Array, args: Any) -> AndersonState:
        gx = fn(x0, args)
        res = residual(x0, gx)
        zero = jnp.zeros((), jnp.int32)
        hist = jnp.zeros((self.memory, x0.size), x0.dtype)
        valid = jnp.zeros((self.memory,), bool)
        return AndersonState(x0, gx, res, x0, gx, res, zero, zero + 1, hist, hist, valid, zero, jnp.zeros((), bool))

    def _extrapolate(self, hx: Array, hg: Array, valid: Array) -> Array:
        f = jnp.where(valid[:, None], hg - hx, 0.0)
        gram = f @ f.T
        scale = jnp.max(jnp.diag(gram))
        pair = valid[:, None] & valid[None, :]
        eye = jnp.eye(self.memory, dtype=hx.dtype)
        gram = jnp.where(pair, gram, 0.0) + eye * jnp.where(valid, self.regularization * scale, 1.0)
        gram = gram + eye * jnp.finfo(hx.dtype).tiny
        rhs = valid.astype(hx.dtype)
        alpha = jnp.linalg.solve(gram, rhs)
        alpha = alpha / jnp.sum(alpha)
        mixed = (1.0 - self.damping) * hg + self.damping * hx
        return alpha @ mixed

    def step(self, fn: FixedPointFn, state: AndersonState, args: Any) -> AndersonState:
        shape = state.x.shape
        restart = state.rejected
        # An accepted point joins the history. A rejected one clears it: the history restarts
        # from the best pair alone, whose extrapolation is the damped Picard step from it.
        slot = state.iteration % self.memory
        hx = state.history_x.at[slot].set(jnp.where(restart, state.best_x, state.x).ravel())
        hg = state.history_gx.at[slot].set(jnp.where(restart, state.best_gx, state.gx).ravel())
        only_slot = jnp.arange(self.memory) == slot
        valid = jnp.where(restart, only_slot, state.history_valid | only_slot)
        x = self._extrapolate(hx, hg, valid).reshape(shape)
        gx = fn(x, args)
        res = residual(x, gx)
        # a restart step itself is always accepted (it is a plain damped Picard step)
        rejected = ~restart & ~(res <= self.restart_factor * state.best_residual)
        best = keep_best(state.best_x, state.best_gx, state.best_residual, x, gx, res)
        return AndersonState(
            x,
            gx,
            res,
            *best,
            state.iteration + 1,
            state.n_evals + 1,
            hx,
            hg,
            valid,
            state.n_restarts + rejected.astype(jnp.int32),
            rejected,
        )


@dataclass(frozen=True)
class FictitiousPlay(AbstractSolver):
    """Fictitious play: the averaged flow ``x <- x + (G(x) - x) / (k + 2)`` at iteration k.

    The classic learning dynamics of mean field games: the population's flow is the running
    average of the best responses to the previous average (averaging flows is averaging the
    policies weighted by the flow). It converges (slowly: the residual falls like 1/k) in
    monotone games where plain iteration may cycle; use it to compare with the literature,
    :class:`Anderson` to solve. Works for both game families.

    Parameters
    ----------
    tol, max_iter
        As in :class:`Picard`; at the default tolerance (1e-10) fictitious play usually stops at
        ``max_iter`` (reported, never silent).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.BeachBar(n_states=5, n_times=4, temperature=0.2)
    >>> eq = bm.equilibrium(game, {}, [0.2] * 5, solver=bm.FictitiousPlay(tol=1e-4))
    >>> bool(eq.converged)
    True
    """

    tol: float | None = None
    max_iter: int = 2000

    def __post_init__(self) -> None:
        check_stopping(self.tol, self.max_iter)

    def init(self, fn: FixedPointFn, x0: Array, args: Any) -> FixedPointState:
        return _picard_init(fn, x0, args)

    def step(self, fn: FixedPointFn, state: FixedPointState, args: Any) -> FixedPointState:
        return _picard_step(fn, state, args, 1.0 / (state.iteration + 2).astype(state.x.dtype))
