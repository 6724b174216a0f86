"""How the equilibrium is differentiated: adjoint objects with one polymorphic ``apply``.

``adjoint.apply(solver, fn, x0, args, tol) -> (x, stats)`` runs ``solver`` on ``x = fn(x, args)``
and makes ``x`` differentiable in ``args`` in the adjoint's own way:

* :class:`ImplicitAdjoint` (the default): at the fixed point ``x* = G(x*, theta)`` the
  implicit function theorem gives, for a cotangent ``v`` on ``x*``,

      (I - d_x G)^T w = v,      grad_theta = (d_theta G)^T w,

  exact for the discretised map (no unrolling; memory independent of the iteration count).
  The linear system is solved matrix-free with VJPs of G by a
  :mod:`~bayes_mfg.engine.linear_solvers` object.
* :class:`Unrolled`: reverse-mode autodiff through a fixed number of solver steps (a reference).

``stats`` is ``(status, residual, iterations, n_evaluations)``. A new adjoint subclasses
:class:`AbstractAdjoint`.
"""

from __future__ import annotations

import abc
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg import _reporting
from bayes_mfg._validation import check_choice, check_positive_float, check_positive_int
from bayes_mfg.engine._status import Status
from bayes_mfg.engine.fixed_point import AbstractSolver, FixedPointFn, iterate, unroll
from bayes_mfg.engine.linear_solvers import GMRES, AbstractLinearSolver, BiCGStab, Neumann, WithFallback, norm

Array = jax.Array

__all__ = ["AbstractAdjoint", "ImplicitAdjoint", "Unrolled", "AdjointInfo", "solve_adjoint", "LINEAR_SOLVERS"]

ON_FAILURE = ("warn", "nan", "ignore")

#: shorthands accepted by ``ImplicitAdjoint(linear_solver=...)``
LINEAR_SOLVERS: dict[str, Callable[[], AbstractLinearSolver]] = {
    "gmres": lambda: WithFallback(GMRES()),
    "bicgstab": lambda: WithFallback(BiCGStab()),
    "neumann": Neumann,
}


class AdjointInfo(NamedTuple):
    """Outcome of the adjoint solve ``(I - J^T) w = v``.

    Attributes
    ----------
    relative_residual
        ``|v - (I - J^T) w|_2 / |v|_2`` of the returned ``w``.
    converged
        ``relative_residual <= tol``.
    used_fallback
        True when the primary solve missed ``tol`` and a fallback was run after it.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import ImplicitAdjoint, Neumann
    >>> _, info = ImplicitAdjoint().solve_linear(lambda w: -1.5 * w, jnp.ones(3))      # J = -1.5 I
    >>> bool(info.converged), bool(info.used_fallback)
    (True, False)
    >>> _, info = ImplicitAdjoint(linear_solver=Neumann()).solve_linear(lambda w: -1.5 * w, jnp.ones(3))
    >>> bool(info.converged)                                                          # diverges
    False
    """

    relative_residual: Array
    converged: Array
    used_fallback: Array


def _stats(solver: AbstractSolver, state: Any, tol: float) -> tuple[Array, Array, Array, Array]:
    status = solver.terminate(state, tol)[1]
    return status, state.best_residual, state.iteration, state.n_evals


class AbstractAdjoint(abc.ABC):
    """How a fixed-point solve is differentiated (see the module); subclasses are frozen dataclasses.

    Examples
    --------
    An adjoint that differentiates nothing (a constant solution), written outside the package:

    >>> from dataclasses import dataclass
    >>> import jax
    >>> import bayes_mfg as bm
    >>> @dataclass(frozen=True)
    ... class Frozen(bm.engine.AbstractAdjoint):
    ...     def apply(self, solver, fn, x0, args, tol):
    ...         x, stats = bm.ImplicitAdjoint().apply(solver, fn, x0, args, tol)
    ...         return jax.lax.stop_gradient(x), stats
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> loss = lambda g: bm.equilibrium(game, {"gamma": g}, [0.5, 0.3, 0.2], adjoint=Frozen()).mu[-1, 0]
    >>> float(jax.grad(loss)(1.55))
    0.0
    """

    @abc.abstractmethod
    def apply(self, solver: AbstractSolver, fn: FixedPointFn, x0: Array, args: Any, tol: float) -> tuple[Array, tuple]:
        """Solve ``x = fn(x, args)`` from ``x0``; return ``(x, (status, residual, iterations, n_evals))``."""

    def check(self, solver: AbstractSolver) -> None:
        """Raise a ``TypeError`` if this adjoint cannot differentiate ``solver``'s solve."""
        return None  # (default: every one is accepted)


@dataclass(frozen=True)
class ImplicitAdjoint(AbstractAdjoint):
    """Implicit differentiation at the fixed point (the default).

    Parameters
    ----------
    linear_solver
        An :class:`~bayes_mfg.engine.AbstractLinearSolver`, or a shorthand: ``"gmres"``
        (default: ``WithFallback(GMRES())``, restarted GMRES then damped Richardson where it
        missed ``tol``), ``"bicgstab"`` (``WithFallback(BiCGStab())``) or ``"neumann"``
        (``Neumann()``: undamped iteration, for comparison only).
    tol
        Relative residual the adjoint solve must reach.
    on_failure
        What the gradient does when the adjoint (or the forward solve it relies on) did
        not converge: ``"warn"`` (a RuntimeWarning at run time, also under jit),
        ``"nan"`` (the gradient becomes NaN, e.g. so that NUTS rejects the step) or
        ``"ignore"``. Use :func:`bayes_mfg.adjoint_info` to inspect a solve.
    report_failures
        With ``on_failure="nan"``: compile a report of every failed backward pass, routed at
        run time to whatever listens (:func:`bayes_mfg.inference.recording`; nothing else
        pays for it but one host call per backward pass).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> params, mu0 = game.params(gamma=1.55), [0.5, 0.3, 0.2]
    >>> import jax
    >>> def loss(gamma):
    ...     eq = bm.equilibrium(game, game.params(gamma=gamma), mu0, adjoint=bm.ImplicitAdjoint(tol=1e-12))
    ...     return eq.mu[-1, 0]
    >>> g = jax.grad(loss)(1.55)  # exact for the discretised game, no unrolling
    >>> fd = (loss(1.55 + 1e-6) - loss(1.55 - 1e-6)) / 2e-6
    >>> bool(abs(g - fd) < 1e-7)
    True
    """

    linear_solver: AbstractLinearSolver | str = "gmres"
    tol: float = 1e-10
    on_failure: str = "warn"
    report_failures: bool = True

    def __post_init__(self) -> None:
        ls = self.linear_solver
        if isinstance(ls, str):
            check_choice("linear_solver", ls, tuple(LINEAR_SOLVERS))
            object.__setattr__(self, "linear_solver", LINEAR_SOLVERS[ls]())
        elif not isinstance(ls, AbstractLinearSolver):
            raise TypeError(f"linear_solver must be one of {tuple(LINEAR_SOLVERS)} or a "
                            f"bayes_mfg.engine.AbstractLinearSolver, got {type(ls).__name__}")
        check_positive_float("tol", self.tol)
        check_choice("on_failure", self.on_failure, ON_FAILURE)
        if not isinstance(self.report_failures, bool):
            raise TypeError(f"report_failures must be a bool, got {type(self.report_failures).__name__}")

    def apply(self, solver, fn, x0, args, tol):
        return _implicit_fixed_point(solver, self, fn, tol, x0, args)

    def solve_linear(self, vjp_x: Callable[[Array], Array], v: Array) -> tuple[Array, AdjointInfo]:
        """Solve ``(I - J^T) w = v`` where ``vjp_x(w) = J^T w``; return ``w`` and its diagnostics."""

        def op(w):
            return w - vjp_x(w)

        vnorm = norm(v)
        safe_v = jnp.where(vnorm > 0, v, jnp.ones_like(v))  # avoid 0/0 for a zero cotangent
        w, r, used_fallback = self.linear_solver.solve(op, safe_v, self.tol)
        res = norm(r) / norm(safe_v)
        res = jnp.where(jnp.isfinite(res), res, jnp.inf)
        w = jnp.where(vnorm > 0, w, jnp.zeros_like(v))
        res = jnp.where(vnorm > 0, res, 0.0)
        return w, AdjointInfo(res, res <= self.tol, used_fallback)

    def guard(self, grads: Any, info: AdjointInfo, forward_converged: Array) -> Any:
        """Warn about / poison gradients whose adjoint or forward solve failed, per ``on_failure``."""
        ok = info.converged & forward_converged
        if self.on_failure == "warn":
            jax.debug.callback(_warn, info.relative_residual, info.converged, forward_converged)
            return grads
        if self.on_failure == "nan":
            if self.report_failures:  # compiled in: reported to whatever listens at run time
                ok = ok & (_reporting.report_adjoint(info.converged, forward_converged) == 0)
            return jax.tree_util.tree_map(lambda g: jnp.where(ok, g, jnp.nan), grads)
        return grads


def solve_adjoint(adjoint: ImplicitAdjoint, vjp_x: Callable[[Array], Array], v: Array) -> tuple[Array, AdjointInfo]:
    """Solve ``(I - J^T) w = v`` where ``vjp_x(w) = J^T w`` with ``adjoint``'s linear solver.

    Parameters
    ----------
    adjoint
        The :class:`ImplicitAdjoint` (its linear solver and tolerance).
    vjp_x
        ``w -> J^T w`` with ``J = d_mu G`` at the fixed point.
    v
        The right-hand side (the cotangent of the fixed point).

    Returns
    -------
    tuple
        ``(w, AdjointInfo)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import ImplicitAdjoint, solve_adjoint
    >>> w, info = solve_adjoint(ImplicitAdjoint(), lambda w: 0.5 * w, jnp.array([1.0, 2.0]))  # J = 0.5 I
    >>> w.round(8).tolist(), bool(info.converged)
    ([2.0, 4.0], True)
    """
    return adjoint.solve_linear(vjp_x, v)


def _solve(solver, fn, tol, x0, args):
    state = iterate(solver, fn, x0, args, tol)
    return state.best_x, _stats(solver, state, tol)


@partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2, 3))
def _implicit_fixed_point(solver, adjoint, fn, tol, x0, args):
    return _solve(solver, fn, tol, x0, args)


def _implicit_fwd(solver, adjoint, fn, tol, x0, args):
    x, stats = _solve(solver, fn, tol, x0, args)
    return (x, stats), (x, args, stats[0] == Status.SUCCESS)


def _implicit_bwd(solver, adjoint, fn, tol, residuals, cotangents):
    x, args, forward_ok = residuals
    v = cotangents[0]
    _, vjp = jax.vjp(fn, x, args)
    w, info = adjoint.solve_linear(lambda w_: vjp(w_)[0], v)
    _, g_args = vjp(w)
    g_args = adjoint.guard(g_args, info, forward_ok)
    return jnp.zeros_like(x), g_args


_implicit_fixed_point.defvjp(_implicit_fwd, _implicit_bwd)


def _warn(relative_residual, adjoint_converged, forward_converged) -> None:
    if not np.all(adjoint_converged):
        warnings.warn(
            "bayes_mfg: the implicit-gradient adjoint solve did not converge "
            f"(relative residual {np.max(relative_residual):.3g}); the gradient is inaccurate. "
            "Give ImplicitAdjoint a stronger linear_solver (e.g. WithFallback(GMRES(restart=80))) "
            "or use on_failure='nan'.",
            RuntimeWarning,
            stacklevel=2,
        )
    if not np.all(forward_converged):
        warnings.warn(
            "bayes_mfg: differentiating an equilibrium solve that did not converge; "
            "the implicit gradient is only valid at a fixed point.",
            RuntimeWarning,
            stacklevel=2,
        )


@dataclass(frozen=True)
class Unrolled(AbstractAdjoint):
    """Reverse-mode autodiff through the solver's iterations (a reference, not a default).

    Runs exactly ``n_iter`` solver steps with ``lax.scan`` and differentiates through all
    of them: memory grows linearly with ``n_iter``. Use a contractive solver (e.g. damped
    Picard) and enough iterations for the derivative to converge too.

    Parameters
    ----------
    n_iter
        Number of solver steps run and differentiated through.

    Examples
    --------
    >>> import bayes_mfg as bm, jax
    >>> sir = bm.games.SIR(n_times=30)
    >>> def infected(beta, adjoint):
    ...     eq = bm.equilibrium(sir, {"beta": beta}, [0.95, 0.05, 0.0], solver=bm.Picard(damping=0.5), adjoint=adjoint)
    ...     return eq.mu[-1, 1]
    >>> g_unrolled = jax.grad(infected)(0.5, bm.Unrolled(n_iter=200))
    >>> g_implicit = jax.grad(infected)(0.5, bm.ImplicitAdjoint())
    >>> bool(abs(g_unrolled - g_implicit) < 1e-8)
    True
    """

    n_iter: int = 1000

    def __post_init__(self) -> None:
        check_positive_int("n_iter", self.n_iter)

    def apply(self, solver, fn, x0, args, tol):
        state = unroll(solver, fn, x0, args, self.n_iter)
        return state.best_x, _stats(solver, state, tol)
