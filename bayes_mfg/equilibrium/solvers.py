"""Fixed-point solvers for ``x = G(x)``: small immutable objects with pure ``init``/``step``.

Each solver is a frozen dataclass (hashable: a static argument of ``jax.jit``) with

* ``init(fn, x0, args) -> state`` (evaluates ``G(x0)`` once),
* ``step(fn, state, args) -> state`` (one iteration),

where ``fn(x, args)`` is the map and ``args`` its parameters, passed explicitly. Every state
carries ``x`` (the current iterate), ``gx = G(x)``, ``residual = max|G(x) - x|``, the best
iterate seen so far (``best_x``, ``best_residual``), the iteration count and the number of
evaluations of G. :func:`iterate` runs a solver to tolerance; :func:`unroll` runs it for a
fixed number of steps with ``lax.scan`` (reverse-mode differentiable end to end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from bayes_mfg._validation import check_positive_float, check_positive_int

Array = jax.Array
FixedPointFn = Callable[[Array, Any], Array]


def sup_norm(x: Array) -> Array:
    return jnp.max(jnp.abs(x))


class PicardState(NamedTuple):
    """State of damped Picard iteration.

    Attributes
    ----------
    x, gx
        Current iterate and ``G(x)``.
    residual
        ``max|G(x) - x|`` (inf when G returned NaN/inf).
    best_x, best_gx, best_residual
        The iterate with the smallest residual so far (what is returned).
    iteration
        Iterations taken (steps after ``init``).
    n_evals
        Evaluations of G so far (the cost measure for comparing solvers).
    """

    x: Array
    gx: Array
    residual: Array
    best_x: Array
    best_gx: Array
    best_residual: Array
    iteration: Array
    n_evals: Array


class AndersonState(NamedTuple):
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
    """

    x: Array
    gx: Array
    residual: Array
    best_x: Array
    best_gx: Array
    best_residual: Array
    iteration: Array
    n_evals: Array
    history_x: Array
    history_gx: Array
    history_valid: Array
    n_restarts: Array
    rejected: Array


def _residual(x: Array, gx: Array) -> Array:
    r = sup_norm(gx - x)
    return jnp.where(jnp.isfinite(r), r, jnp.inf)


def _keep_best(best_x, best_gx, best_res, x, gx, res):
    better = res < best_res
    return (
        jnp.where(better, x, best_x),
        jnp.where(better, gx, best_gx),
        jnp.where(better, res, best_res),
    )


def _check_stopping(tol: float | None, max_iter: int) -> None:
    if tol is not None:
        check_positive_float("tol", tol)
    check_positive_int("max_iter", max_iter)


def _picard_init(fn: FixedPointFn, x0: Array, args: Any) -> PicardState:
    gx = fn(x0, args)
    res = _residual(x0, gx)
    zero = jnp.zeros((), jnp.int32)
    return PicardState(x0, gx, res, x0, gx, res, zero, zero + 1)


def _picard_step(fn: FixedPointFn, state: PicardState, args: Any, weight: Any) -> PicardState:
    """``x <- x + weight (G(x) - x)``: one relaxed fixed-point step."""
    x = state.x + weight * (state.gx - state.x)
    gx = fn(x, args)
    res = _residual(x, gx)
    best = _keep_best(state.best_x, state.best_gx, state.best_residual, x, gx, res)
    return PicardState(x, gx, res, *best, state.iteration + 1, state.n_evals + 1)


@dataclass(frozen=True)
class Picard:
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
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
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
        _check_stopping(self.tol, self.max_iter)

    def init(self, fn: FixedPointFn, x0: Array, args: Any) -> PicardState:
        return _picard_init(fn, x0, args)

    def step(self, fn: FixedPointFn, state: PicardState, args: Any) -> PicardState:
        return _picard_step(fn, state, args, 1.0 - self.damping)


@dataclass(frozen=True)
class Anderson:
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
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
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
        _check_stopping(self.tol, self.max_iter)
        check_positive_float("regularization", self.regularization, allow_zero=True)
        if not self.restart_factor > 1:
            raise ValueError(f"restart_factor must be > 1, got {self.restart_factor}")

    def init(self, fn: FixedPointFn, x0: Array, args: Any) -> AndersonState:
        gx = fn(x0, args)
        res = _residual(x0, gx)
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
        res = _residual(x, gx)
        # a restart step itself is always accepted (it is a plain damped Picard step)
        rejected = ~restart & ~(res <= self.restart_factor * state.best_residual)
        best = _keep_best(state.best_x, state.best_gx, state.best_residual, x, gx, res)
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
class FictitiousPlay:
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
    >>> game = bm.games.BeachBar(n_states=5, n_steps=4, temperature=0.2)
    >>> eq = bm.equilibrium(game, {}, [0.2] * 5, solver=bm.FictitiousPlay(tol=1e-4))
    >>> bool(eq.converged)
    True
    """

    tol: float | None = None
    max_iter: int = 2000

    def __post_init__(self) -> None:
        _check_stopping(self.tol, self.max_iter)

    def init(self, fn: FixedPointFn, x0: Array, args: Any) -> PicardState:
        return _picard_init(fn, x0, args)

    def step(self, fn: FixedPointFn, state: PicardState, args: Any) -> PicardState:
        return _picard_step(fn, state, args, 1.0 / (state.iteration + 2).astype(state.x.dtype))


@dataclass(frozen=True)
class OnlineMirrorDescent:
    """Online mirror descent on the policy logits (discrete-time games only).

    With logits ``y`` ``(N, d, A)`` and ``pi = softmax(y)``, one step evaluates the policy
    against its own flow and moves the logits towards its regularised action values,

        y <- (1 - eta * tau) y + eta * Q_tau^{pi, mu^pi}

    where ``mu^pi`` is the flow induced by ``pi`` and ``Q_tau^{pi, mu}`` the action values of
    ``pi`` with the entropy bonus ``tau H``. Its fixed point is ``y = Q / tau``, i.e.
    ``pi = softmax(Q / tau)``: the regularised equilibrium. With ``tau = 0`` this is MFGLib's
    online mirror descent ``y <- y + eta Q``. The start is the soft best response to the
    initial path (``init``, default ``mu0`` repeated). Each step costs a policy evaluation
    and an evaluation of G (for the residual ``max|G(mu) - mu|`` on which it stops, as every
    solver does): ``n_evals`` counts both.

    Parameters
    ----------
    learning_rate
        ``eta > 0``; ``eta * tau <= 1`` is required (checked at solve time).
    tol, max_iter
        As in :class:`Picard`.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.BeachBar(n_states=5, n_steps=4, temperature=0.2)
    >>> eq = bm.equilibrium(game, {}, [0.2] * 5, solver=bm.OnlineMirrorDescent(learning_rate=1.0))
    >>> bool(eq.converged), float(eq.info.residual) <= 1e-10
    (True, True)
    """

    learning_rate: float = 1.0
    tol: float | None = None
    max_iter: int = 2000

    def __post_init__(self) -> None:
        check_positive_float("learning_rate", self.learning_rate)
        _check_stopping(self.tol, self.max_iter)


Solver = Picard | Anderson | FictitiousPlay | OnlineMirrorDescent


def default_tol(solver: Solver, dtype: Any) -> float:
    """The solver's tolerance, or the dtype's default (1e-10 for float64, 1e-5 otherwise)."""
    if solver.tol is not None:
        return solver.tol
    return 1e-10 if jnp.dtype(dtype) == jnp.float64 else 1e-5


def iterate(solver: Solver, fn: FixedPointFn, x0: Array, args: Any, tol: float):
    """Run ``solver`` until ``max|G(x) - x| <= tol``, ``max_iter`` or a non-finite G.

    Parameters
    ----------
    solver
        A :class:`Picard` or :class:`Anderson` solver.
    fn
        The fixed-point map ``G(x, args)``.
    x0
        Starting point.
    args
        Passed to ``fn``.
    tol
        Tolerance on ``max|G(x) - x|``.

    Returns
    -------
    The solver's final state (``x``, ``residual``, ``iteration``, ...).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.equilibrium import Picard, iterate
    >>> state = iterate(Picard(max_iter=200), lambda x, a: jnp.cos(x), jnp.array([1.0]), None, 1e-12)
    >>> round(float(state.best_x[0]), 6)  # the fixed point of cos
    0.739085
    """
    state = solver.init(fn, x0, args)

    def cond(s):
        return (s.best_residual > tol) & (s.iteration < solver.max_iter) & jnp.isfinite(s.residual)

    return jax.lax.while_loop(cond, lambda s: solver.step(fn, s, args), state)


def unroll(solver: Solver, fn: FixedPointFn, x0: Array, args: Any, n_iter: int):
    """Run exactly ``n_iter`` steps with ``lax.scan`` (differentiable by reverse-mode autodiff).

    Parameters
    ----------
    solver, fn, x0, args
        As for :func:`iterate`.
    n_iter
        Number of steps.

    Returns
    -------
    The solver's state after ``n_iter`` steps.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.equilibrium import Picard, unroll
    >>> state = unroll(Picard(), lambda x, a: 0.5 * x + a, jnp.array([0.0]), 1.0, 60)
    >>> round(float(state.x[0]), 6)
    2.0
    """
    state = solver.init(fn, x0, args)
    state, _ = jax.lax.scan(lambda s, _: (solver.step(fn, s, args), None), state, None, length=n_iter)
    return state
