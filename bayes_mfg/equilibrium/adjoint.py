"""How the equilibrium is differentiated: implicit (adjoint linear solve) or unrolled.

At a fixed point ``x* = G(x*, theta)`` the implicit function theorem gives, for a
cotangent ``v`` on ``x*``,

    (I - d_x G)^T w = v,      grad_theta = (d_theta G)^T w,

exact for the discretised map (no unrolling; memory independent of the iteration count).
The linear system is solved matrix-free with VJPs of G: GMRES or BiCGStab, with damped
Richardson iteration ``w <- w + omega (v - (I - J^T) w)`` as fallback. ``"neumann"`` is
undamped Richardson (``w <- v + J^T w``, the seed paper's approach), which diverges when
the spectral radius of J is >= 1; it is offered for comparison, not as a default.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.sparse.linalg import bicgstab, gmres

from bayes_mfg._validation import check_choice, check_positive_float, check_positive_int

Array = jax.Array

LINEAR_SOLVERS = ("gmres", "bicgstab", "neumann")
ON_FAILURE = ("warn", "nan", "ignore")


class AdjointInfo(NamedTuple):
    """Outcome of the adjoint solve ``(I - J^T) w = v``.

    Attributes
    ----------
    relative_residual
        ``|v - (I - J^T) w|_2 / |v|_2`` of the returned ``w``.
    converged
        ``relative_residual <= tol``.
    used_fallback
        True when the Krylov solve missed ``tol`` and damped iteration was run after it.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
    >>> params, mu0 = game.params(gamma=1.55), [0.5, 0.3, 0.2]
    >>> import jax.numpy as jnp
    >>> eq = bm.equilibrium(game, params, mu0)
    >>> info = bm.adjoint_info(game, eq, {"gamma": 1.55}, mu0, jnp.ones((20, 3)))
    >>> bool(info.converged)
    True
    """

    relative_residual: Array
    converged: Array
    used_fallback: Array


@dataclass(frozen=True)
class ImplicitAdjoint:
    """Implicit differentiation at the fixed point (the default).

    Parameters
    ----------
    linear_solver
        ``"gmres"`` (default), ``"bicgstab"`` or ``"neumann"`` (undamped iteration;
        for comparison only).
    tol
        Relative residual the adjoint solve must reach.
    restart
        GMRES Krylov subspace size per cycle.
    max_iter
        Krylov cycles (GMRES) or iterations (BiCGStab, Neumann).
    fallback_damping
        Step ``omega`` of the damped-iteration fallback (in (0, 1]).
    fallback_max_iter
        Iterations of the fallback.
    on_failure
        What the gradient does when the adjoint (or the forward solve it relies on) did
        not converge: ``"warn"`` (a RuntimeWarning at run time, also under jit),
        ``"nan"`` (the gradient becomes NaN, e.g. so that NUTS rejects the step; counted
        by :func:`bayes_mfg.failures.recording`), or
        ``"ignore"``. Use :func:`bayes_mfg.adjoint_info` to inspect a solve.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
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

    linear_solver: str = "gmres"
    tol: float = 1e-10
    restart: int = 40
    max_iter: int = 50
    fallback_damping: float = 0.5
    fallback_max_iter: int = 5000
    on_failure: str = "warn"

    def __post_init__(self) -> None:
        check_choice("linear_solver", self.linear_solver, LINEAR_SOLVERS)
        check_positive_float("tol", self.tol)
        check_positive_int("restart", self.restart)
        check_positive_int("max_iter", self.max_iter)
        check_positive_float("fallback_damping", self.fallback_damping)
        if self.fallback_damping > 1:
            raise ValueError(f"fallback_damping must be in (0, 1], got {self.fallback_damping}")
        check_positive_int("fallback_max_iter", self.fallback_max_iter)
        check_choice("on_failure", self.on_failure, ON_FAILURE)


@dataclass(frozen=True)
class Unrolled:
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
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
    >>> params, mu0 = game.params(gamma=1.55), [0.5, 0.3, 0.2]
    >>> import jax
    >>> loss = lambda gamma: bm.equilibrium(game, game.params(gamma=gamma), mu0, solver=bm.Picard(damping=0.5),
    ...                                     adjoint=bm.Unrolled(n_iter=200)).mu[-1, 0]
    >>> g_unrolled = jax.grad(loss)(1.55)
    >>> g_implicit = jax.grad(lambda gamma: bm.equilibrium(game, game.params(gamma=gamma), mu0).mu[-1, 0])(1.55)
    >>> bool(abs(g_unrolled - g_implicit) < 1e-8)
    True
    """

    n_iter: int = 1000

    def __post_init__(self) -> None:
        check_positive_int("n_iter", self.n_iter)


def _norm(x: Array) -> Array:
    return jnp.sqrt(jnp.sum(x * x))


def _richardson(op: Callable[[Array], Array], v: Array, w0: Array, r0: Array, omega: float, tol: float,
                max_iter: int) -> tuple[Array, Array]:
    """``w <- w + omega (v - op(w))`` from ``w0`` (residual vector ``r0 = v - op(w0)``) until
    ``|v - op(w)|_2 <= tol |v|_2``; one application of ``op`` per iteration. Returns ``(w, r)``."""
    vnorm = _norm(v)

    def cond(c):
        k, _, r = c
        rel = _norm(r) / vnorm
        return (k < max_iter) & (rel > tol) & jnp.isfinite(rel)

    def body(c):
        k, w, r = c
        w = w + omega * r
        return k + 1, w, v - op(w)

    _, w, r = jax.lax.while_loop(cond, body, (0, w0, r0))
    return w, r


def solve_adjoint(adjoint: ImplicitAdjoint, vjp_x: Callable[[Array], Array], v: Array) -> tuple[Array, AdjointInfo]:
    """Solve ``(I - J^T) w = v`` where ``vjp_x(w) = J^T w``; return ``w`` and its diagnostics.

    Parameters
    ----------
    adjoint
        Linear solver settings.
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
    >>> from bayes_mfg.equilibrium import ImplicitAdjoint, solve_adjoint
    >>> w, info = solve_adjoint(ImplicitAdjoint(), lambda w: 0.5 * w, jnp.array([1.0, 2.0]))  # J = 0.5 I
    >>> w.round(8).tolist(), bool(info.converged)
    ([2.0, 4.0], True)
    """

    def op(w):
        return w - vjp_x(w)

    vnorm = _norm(v)
    safe_v = jnp.where(vnorm > 0, v, jnp.ones_like(v))  # avoid 0/0 for a zero cotangent

    def rel_res(r):
        x = _norm(r) / _norm(safe_v)
        return jnp.where(jnp.isfinite(x), x, jnp.inf)

    if adjoint.linear_solver == "neumann":  # undamped fixed-point iteration on w = v + J^T w
        w, r = _richardson(op, safe_v, safe_v, safe_v - op(safe_v), 1.0, adjoint.tol, adjoint.max_iter * adjoint.restart)
        res = rel_res(r)
        need_fallback = jnp.zeros((), bool)
    else:
        if adjoint.linear_solver == "gmres":
            w, _ = gmres(op, safe_v, x0=safe_v, tol=adjoint.tol / 10, atol=0.0, restart=adjoint.restart,
                         maxiter=adjoint.max_iter, solve_method="incremental")
        else:
            w, _ = bicgstab(op, safe_v, x0=safe_v, tol=adjoint.tol / 10, atol=0.0,
                            maxiter=adjoint.max_iter * adjoint.restart)
        finite = jnp.all(jnp.isfinite(w))
        w = jnp.where(finite, w, safe_v)
        r = safe_v - op(w)
        need_fallback = ~(rel_res(r) <= adjoint.tol)
        # Damped Richardson from the Krylov result, only where it missed the tolerance: a
        # while loop (not lax.cond), so under vmap converged entries cost no extra VJP.
        w, r = _richardson(op, safe_v, w, r, adjoint.fallback_damping, adjoint.tol,
                           adjoint.fallback_max_iter)
        res = rel_res(r)
    w = jnp.where(vnorm > 0, w, jnp.zeros_like(v))
    res = jnp.where(vnorm > 0, res, 0.0)
    return w, AdjointInfo(res, res <= adjoint.tol, need_fallback)


def _warn(relative_residual, adjoint_converged, forward_converged) -> None:
    import numpy as np

    if not np.all(adjoint_converged):
        warnings.warn(
            "bayes_mfg: the implicit-gradient adjoint solve did not converge "
            f"(relative residual {np.max(relative_residual):.3g}); the gradient is inaccurate. "
            "Increase ImplicitAdjoint(max_iter/restart) or use on_failure='nan'.",
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


def apply_failure_policy(adjoint: ImplicitAdjoint, grads, info: AdjointInfo, forward_converged: Array):
    """Warn about / poison gradients whose adjoint or forward solve failed, per ``on_failure``."""
    ok = info.converged & forward_converged
    if adjoint.on_failure == "warn":
        jax.debug.callback(_warn, info.relative_residual, info.converged, forward_converged)
        return grads
    if adjoint.on_failure == "nan":
        from bayes_mfg.failures import report_adjoint

        # counted by an active bayes_mfg.failures.recording (the callback returns 0)
        ok = ok & (report_adjoint(info.converged, forward_converged) == 0)
        return jax.tree_util.tree_map(lambda g: jnp.where(ok, g, jnp.nan), grads)
    return grads
