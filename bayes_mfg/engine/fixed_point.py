"""The fixed-point solver protocol and its one driver.

A solver is a small immutable object (a frozen dataclass: hashable, a static argument of
``jax.jit``) with

* ``init(fn, x0, args) -> state``: the first state (evaluates ``G(x0)`` once);
* ``step(fn, state, args) -> state``: one iteration;
* ``terminate(state, tol) -> (done, status)``: whether to stop, and why (a
  :class:`~bayes_mfg.engine.Status` code);
* ``check(game)``: refuse a game it cannot solve (before any computation);

where ``fn(x, args)`` is the map ``G`` and ``args`` its parameters, passed explicitly (never
captured in a closure, so custom derivative rules see them). Every state carries the fields
of :class:`SolverState` (``best_x`` is what is returned). :func:`iterate` runs a solver to
tolerance with one ``lax.while_loop``; :func:`unroll` runs a fixed number of steps with
``lax.scan`` (differentiable end to end).
"""

from __future__ import annotations

import abc
from typing import Any, Callable, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from bayes_mfg._validation import check_positive_float, check_positive_int
from bayes_mfg.engine._status import Status

Array = jax.Array
FixedPointFn = Callable[[Array, Any], Array]

__all__ = ["AbstractSolver", "SolverState", "FixedPointState", "iterate", "unroll", "default_tol", "sup_norm",
           "residual", "keep_best", "check_stopping", "extended_state"]


class SolverState(Protocol):
    """The fields every solver state has (what the driver and the adjoints read).

    Attributes
    ----------
    x, gx
        Current iterate and ``G(x)``.
    residual
        ``max|G(x) - x|`` of the current iterate (inf when not finite).
    best_x, best_residual
        The iterate with the smallest residual so far (what is returned) and its residual.
    iteration
        Iterations taken.
    n_evals
        Evaluations of G so far.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import Picard
    >>> state = Picard().init(lambda x, a: 0.5 * x, jnp.ones(2), None)
    >>> float(state.residual), int(state.n_evals)
    (0.5, 1)
    """

    x: Array
    gx: Array
    residual: Array
    best_x: Array
    best_residual: Array
    iteration: Array
    n_evals: Array


class FixedPointState(NamedTuple):
    """State of the iterations that only keep the current pair (Picard, fictitious play).

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

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import Picard, iterate
    >>> state = iterate(Picard(), lambda x, a: 0.5 * x + a, jnp.zeros(1), 1.0, 1e-12)
    >>> type(state).__name__, round(float(state.best_x[0]), 9)
    ('FixedPointState', 2.0)
    """

    x: Array
    gx: Array
    residual: Array
    best_x: Array
    best_gx: Array
    best_residual: Array
    iteration: Array
    n_evals: Array


def extended_state(name: str, extra: tuple[str, ...]) -> type:
    """A NamedTuple base with the :class:`FixedPointState` fields followed by ``extra`` ones
    (for solver states that carry more, e.g. a history); subclass it to add a docstring."""
    return NamedTuple(name, [*((f, Array) for f in FixedPointState._fields), *((f, Array) for f in extra)])


def sup_norm(x: Array) -> Array:
    return jnp.max(jnp.abs(x))


def residual(x: Array, gx: Array) -> Array:
    """``max|G(x) - x|``, inf when it is not finite."""
    r = sup_norm(gx - x)
    return jnp.where(jnp.isfinite(r), r, jnp.inf)


def keep_best(best_x, best_gx, best_res, x, gx, res):
    """The new best ``(x, gx, residual)`` triple."""
    better = res < best_res
    return jnp.where(better, x, best_x), jnp.where(better, gx, best_gx), jnp.where(better, res, best_res)


def check_stopping(tol: float | None, max_iter: int) -> None:
    """Validate a solver's ``tol`` (None or > 0) and ``max_iter`` (int >= 1)."""
    if tol is not None:
        check_positive_float("tol", tol)
    check_positive_int("max_iter", max_iter)


class AbstractSolver(abc.ABC):
    """A fixed-point solver for ``x = G(x)`` (see the module).

    Subclasses are frozen dataclasses (hashable: a static argument of ``jax.jit``) that
    implement :meth:`init` and :meth:`step` and may override :meth:`terminate` and
    :meth:`check`. Their states carry the :class:`SolverState` fields.

    Attributes
    ----------
    tol
        Stop when ``max|G(x) - x| <= tol``; ``None``: 1e-10 in float64, 1e-5 otherwise.
    max_iter
        Iteration cap; reaching it is reported (``Status.MAX_ITERATIONS``), never silent.

    Examples
    --------
    A solver written outside the package (``x <- (x + G(x)) / 2``):

    >>> from dataclasses import dataclass
    >>> import jax.numpy as jnp
    >>> import bayes_mfg as bm
    >>> @dataclass(frozen=True)
    ... class Halving(bm.engine.AbstractSolver):
    ...     tol: float | None = None
    ...     max_iter: int = 500
    ...     def init(self, fn, x0, args):
    ...         return bm.engine.Picard().init(fn, x0, args)
    ...     def step(self, fn, state, args):
    ...         return bm.engine.Picard(damping=0.5).step(fn, state, args)
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> bool(bm.equilibrium(game, {"gamma": 1.55}, [0.5, 0.3, 0.2], solver=Halving()).converged)
    True
    """

    tol: float | None
    max_iter: int

    @abc.abstractmethod
    def init(self, fn: FixedPointFn, x0: Array, args: Any) -> SolverState:
        """The first state."""

    @abc.abstractmethod
    def step(self, fn: FixedPointFn, state: SolverState, args: Any) -> SolverState:
        """One iteration."""

    def terminate(self, state: SolverState, tol: float) -> tuple[Array, Array]:
        """``(done, status)``: stop at ``tol``, at ``max_iter`` or on a non-finite ``G``."""
        converged = state.best_residual <= tol
        finite = jnp.isfinite(state.residual)
        done = converged | (state.iteration >= self.max_iter) | ~finite
        status = jnp.where(converged, Status.SUCCESS, jnp.where(finite, Status.MAX_ITERATIONS, Status.NONFINITE))
        return done, status.astype(jnp.int32)

    def check(self, game: Any) -> None:
        """Raise a ``TypeError``/``ValueError`` if this solver cannot solve ``game``."""
        return None  # (default: every one is accepted)


def default_tol(solver: AbstractSolver, dtype: Any) -> float:
    """The solver's tolerance, or the dtype's default (1e-10 for float64, 1e-5 otherwise).

    Parameters
    ----------
    solver
        The solver.
    dtype
        The dtype of the solve.

    Returns
    -------
    float

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import Picard, default_tol
    >>> default_tol(Picard(), jnp.float64), default_tol(Picard(), jnp.float32), default_tol(Picard(tol=1e-8), jnp.float64)
    (1e-10, 1e-05, 1e-08)
    """
    if solver.tol is not None:
        return solver.tol
    return 1e-10 if jnp.dtype(dtype) == jnp.float64 else 1e-5


def iterate(solver: AbstractSolver, fn: FixedPointFn, x0: Array, args: Any, tol: float) -> SolverState:
    """Run ``solver`` until its :meth:`~AbstractSolver.terminate` says stop.

    Parameters
    ----------
    solver
        Any :class:`AbstractSolver`.
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
    The solver's final state (``best_x``, ``best_residual``, ``iteration``, ...).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import Picard, iterate
    >>> state = iterate(Picard(max_iter=200), lambda x, a: jnp.cos(x), jnp.array([1.0]), None, 1e-12)
    >>> round(float(state.best_x[0]), 6)  # the fixed point of cos
    0.739085
    """
    state = solver.init(fn, x0, args)
    return jax.lax.while_loop(lambda s: ~solver.terminate(s, tol)[0], lambda s: solver.step(fn, s, args), state)


def unroll(solver: AbstractSolver, fn: FixedPointFn, x0: Array, args: Any, n_iter: int) -> SolverState:
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
    >>> from bayes_mfg.engine import Picard, unroll
    >>> state = unroll(Picard(), lambda x, a: 0.5 * x + a, jnp.array([0.0]), 1.0, 60)
    >>> round(float(state.x[0]), 6)
    2.0
    """
    state = solver.init(fn, x0, args)
    state, _ = jax.lax.scan(lambda s, _: (solver.step(fn, s, args), None), state, None, length=n_iter)
    return state
