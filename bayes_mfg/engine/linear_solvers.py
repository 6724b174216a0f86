"""Matrix-free linear solvers for the adjoint system ``(I - J^T) w = v``.

Each solver is a frozen dataclass with ``solve(op, v, tol, w0=None, r0=None) -> (w, r, used_fallback)``
where ``op(w) = (I - J^T) w`` is applied through VJPs of G, ``r = v - op(w)`` is the returned
residual vector and ``tol`` the relative residual ``|r|_2 / |v|_2`` to reach. A solver that
misses ``tol`` returns its best ``w``; the adjoint reports the miss. Built in:

* :class:`GMRES` and :class:`BiCGStab` (``jax.scipy.sparse.linalg``);
* :class:`Richardson`: ``w <- w + omega (v - op(w))``, convergent when the spectral radius of
  ``I - omega (I - J^T)`` is below 1 (damping ``omega < 1`` helps where J has eigenvalues
  near -1, which the undamped Picard map of a congestion game has);
* :class:`Neumann`: undamped Richardson, ``w <- v + J^T w`` (the seed paper's adjoint), which
  diverges when the spectral radius of J is >= 1: for comparison, not as a default;
* :class:`WithFallback`: run ``primary``, then ``fallback`` from its result where it missed
  ``tol`` (a while loop, not ``lax.cond``: under ``vmap`` converged entries pay no extra VJP).

Lineax (patrick-kidger/lineax) was weighed: its GMRES/BiCGStab report breakdown and
stagnation, but it has no Richardson fallback from a Krylov result, and these four wrappers
are shorter than the adapter they would need.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
from jax.scipy.sparse.linalg import bicgstab, gmres

from bayes_mfg._validation import check_positive_float, check_positive_int

Array = jax.Array
Operator = Callable[[Array], Array]

__all__ = ["AbstractLinearSolver", "GMRES", "BiCGStab", "Richardson", "Neumann", "WithFallback", "norm"]


def norm(x: Array) -> Array:
    return jnp.sqrt(jnp.sum(x * x))


class AbstractLinearSolver(abc.ABC):
    """A matrix-free solver of ``op(w) = v`` (see the module); subclasses are frozen dataclasses.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import GMRES, ImplicitAdjoint
    >>> w, r, _ = GMRES().solve(lambda w: 2.0 * w, jnp.array([1.0, 4.0]), 1e-12)
    >>> w.round(10).tolist()
    [0.5, 2.0]
    >>> ImplicitAdjoint(linear_solver=GMRES(restart=80)).linear_solver.restart
    80
    """

    @abc.abstractmethod
    def solve(self, op: Operator, v: Array, tol: float, w0: Array | None = None,
              r0: Array | None = None) -> tuple[Array, Array, Array]:
        """``(w, v - op(w), used_fallback)`` from the start ``w0`` (default ``v``)."""


def _start(op: Operator, v: Array, w0: Array | None, r0: Array | None) -> tuple[Array, Array]:
    w = v if w0 is None else w0
    return w, (v - op(w)) if r0 is None else r0


@dataclass(frozen=True)
class Richardson(AbstractLinearSolver):
    """Damped Richardson iteration ``w <- w + damping (v - op(w))``; one ``op`` per iteration.

    Parameters
    ----------
    damping
        The step ``omega`` in (0, 1].
    max_iter
        Iterations.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import Richardson
    >>> w, r, _ = Richardson(damping=0.5).solve(lambda w: 1.5 * w, jnp.array([3.0]), 1e-12)
    >>> round(float(w[0]), 9)
    2.0
    """

    damping: float = 0.5
    max_iter: int = 5000

    def __post_init__(self) -> None:
        check_positive_float("damping", self.damping)
        if self.damping > 1:
            raise ValueError(f"damping must be in (0, 1], got {self.damping}")
        check_positive_int("max_iter", self.max_iter)

    def solve(self, op, v, tol, w0=None, r0=None):
        w, r = _start(op, v, w0, r0)
        vnorm = norm(v)

        def cond(c):
            k, _, r = c
            rel = norm(r) / vnorm
            return (k < self.max_iter) & (rel > tol) & jnp.isfinite(rel)

        def body(c):
            k, w, r = c
            w = w + self.damping * r
            return k + 1, w, v - op(w)

        _, w, r = jax.lax.while_loop(cond, body, (0, w, r))
        return w, r, jnp.zeros((), bool)


@dataclass(frozen=True)
class Neumann(Richardson):
    """Undamped Richardson ``w <- v + J^T w`` (the Neumann series; the seed paper's adjoint).

    Parameters
    ----------
    max_iter
        Iterations (default 2000).

    Examples
    --------
    Converges only while the spectral radius of ``J`` is below 1:

    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import Neumann
    >>> op = lambda w: w - 0.5 * w                     # J = 0.5
    >>> round(float(Neumann().solve(op, jnp.array([1.0]), 1e-12)[0][0]), 9)
    2.0
    >>> op = lambda w: w + 1.5 * w                     # J = -1.5: the iteration diverges
    >>> w, r, _ = Neumann(max_iter=100).solve(op, jnp.array([1.0]), 1e-12)
    >>> bool(abs(r[0]) > 1e10)                       # the residual grows like 1.5^k
    True
    """

    damping: float = field(default=1.0, init=False)
    max_iter: int = 2000


@dataclass(frozen=True)
class GMRES(AbstractLinearSolver):
    """Restarted GMRES (``jax.scipy.sparse.linalg.gmres``, incremental Arnoldi).

    Parameters
    ----------
    restart
        Krylov subspace size per cycle.
    max_iter
        Restart cycles.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import GMRES
    >>> a = jnp.array([[2.0, 1.0], [0.0, 3.0]])
    >>> w, r, _ = GMRES(restart=2).solve(lambda w: a @ w, jnp.array([3.0, 3.0]), 1e-12)
    >>> w.round(10).tolist()
    [1.0, 1.0]
    """

    restart: int = 40
    max_iter: int = 50

    def __post_init__(self) -> None:
        check_positive_int("restart", self.restart)
        check_positive_int("max_iter", self.max_iter)

    def solve(self, op, v, tol, w0=None, r0=None):
        w, _ = gmres(op, v, x0=v if w0 is None else w0, tol=tol / 10, atol=0.0, restart=self.restart,
                     maxiter=self.max_iter, solve_method="incremental")
        w = jnp.where(jnp.all(jnp.isfinite(w)), w, v)
        return w, v - op(w), jnp.zeros((), bool)


@dataclass(frozen=True)
class BiCGStab(AbstractLinearSolver):
    """BiCGStab (``jax.scipy.sparse.linalg.bicgstab``).

    Parameters
    ----------
    max_iter
        Iterations.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import BiCGStab
    >>> op = lambda w: w - 0.5 * jnp.roll(w, 1)          # I - J^T with J a scaled cyclic shift
    >>> w, r, _ = BiCGStab().solve(op, jnp.array([0.5, 0.5, 0.5]), 1e-12)
    >>> w.round(10).tolist()
    [1.0, 1.0, 1.0]
    """

    max_iter: int = 2000

    def __post_init__(self) -> None:
        check_positive_int("max_iter", self.max_iter)

    def solve(self, op, v, tol, w0=None, r0=None):
        w, _ = bicgstab(op, v, x0=v if w0 is None else w0, tol=tol / 10, atol=0.0, maxiter=self.max_iter)
        w = jnp.where(jnp.all(jnp.isfinite(w)), w, v)
        return w, v - op(w), jnp.zeros((), bool)


@dataclass(frozen=True)
class WithFallback(AbstractLinearSolver):
    """``primary``, then ``fallback`` from its result wherever it missed ``tol``.

    Parameters
    ----------
    primary
        The first solver (default :class:`GMRES`).
    fallback
        Run from the primary's ``(w, r)``; it returns at once where ``tol`` is met
        (default ``Richardson(damping=0.5, max_iter=5000)``).

    Examples
    --------
    One GMRES step cannot solve a 2 x 2 system; Richardson finishes the job:

    >>> import jax.numpy as jnp
    >>> from bayes_mfg.engine import GMRES, Richardson, WithFallback
    >>> a = jnp.array([[1.2, 0.1], [0.0, 0.8]])
    >>> solver = WithFallback(GMRES(restart=1, max_iter=1), Richardson(damping=0.9))
    >>> w, r, used = solver.solve(lambda w: a @ w, jnp.array([1.3, 0.8]), 1e-12)
    >>> w.round(9).tolist(), bool(used)
    ([1.0, 1.0], True)
    """

    primary: AbstractLinearSolver = field(default_factory=GMRES)
    fallback: AbstractLinearSolver = field(default_factory=Richardson)

    def __post_init__(self) -> None:
        for name in ("primary", "fallback"):
            if not isinstance(getattr(self, name), AbstractLinearSolver):
                raise TypeError(f"{name} must be a bayes_mfg.engine.AbstractLinearSolver, "
                                f"got {type(getattr(self, name)).__name__}")

    def solve(self, op, v, tol, w0=None, r0=None):
        w, r, _ = self.primary.solve(op, v, tol, w0, r0)
        missed = ~(norm(r) / norm(v) <= tol)
        w, r, _ = self.fallback.solve(op, v, tol, w, r)
        return w, r, missed
