"""``equilibrium``: solve ``mu* = G(mu*; params, mu0)`` and make it differentiable.

The driver knows nothing about game families, solvers or adjoints beyond their protocols:
the game's :class:`~bayes_mfg.engine.Family` (found by registration) supplies ``G`` and the
solution's extras, the :class:`~bayes_mfg.engine.AbstractSolver` iterates, the
:class:`~bayes_mfg.engine.AbstractAdjoint` makes the result differentiable.
"""

from __future__ import annotations

import dataclasses
import warnings
from functools import partial
from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import check_distribution, check_finite, is_concrete
from bayes_mfg.engine._status import Status
from bayes_mfg.engine.adjoint import AbstractAdjoint, AdjointInfo, ImplicitAdjoint
from bayes_mfg.engine.family import family_of
from bayes_mfg.engine.fixed_point import AbstractSolver, default_tol
from bayes_mfg.games.base import Array, MeanFieldGame, Params

__all__ = ["Equilibrium", "SolverInfo", "equilibrium", "adjoint_info", "default_solver", "check_solver",
           "best_response_map"]


class SolverInfo(NamedTuple):
    """Diagnostics of an equilibrium solve (every field is an array, so it survives jit/vmap).

    Attributes
    ----------
    iterations
        Solver iterations taken.
    n_evaluations
        Evaluations of the best-response map G (the cost measure across solvers).
    residual
        ``max|G(mu) - mu|`` at the returned ``mu``.
    converged
        ``status == Status.SUCCESS``.
    status
        A :class:`Status` code.
    max_jump_probability
        ``dt * max_{n,x} sum_y a[x, y]`` over the equilibrium rates; explicit Euler needs <= 1
        (continuous-time games; 0 for discrete-time games).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> params, mu0 = game.params(gamma=1.55), [0.5, 0.3, 0.2]
    >>> info = bm.equilibrium(game, params, mu0).info
    >>> bool(info.converged), bm.Status(int(info.status)).name
    (True, 'SUCCESS')
    """

    iterations: Array
    n_evaluations: Array
    residual: Array
    converged: Array
    status: Array
    max_jump_probability: Array


class Equilibrium(NamedTuple):
    """A solved mean field game.

    Attributes
    ----------
    mu
        ``(N, d)`` equilibrium distribution path, ``mu[0] = mu0``.
    value
        ``(N, d)`` value function: the cost-to-go ``u`` (the HJB solution against ``mu``) of a
        continuous-time game, the soft value ``V`` (a reward) of a discrete-time game.
    rates
        ``(N - 1, d, d)`` equilibrium jump rates ``a*_n[x, y]``: the players' best response at
        the start of each step n -> n+1 (``control(u_n, mu_n, p_n)``; a second-order scheme
        moves mass with rates built inside the step, ``bayes_mfg.engine.continuous_time.step_rates``). For a game with ``neighbours`` (``(d, K)``): ``(N - 1, d, K)``, the rate of the jump
        x -> neighbours[x, k] (``bayes_mfg.engine.dense_rates`` expands them). ``None`` for a
        discrete-time game.
    info
        :class:`SolverInfo`.
    policy
        ``(N, d, A)`` equilibrium policy ``pi_t(a | x)`` of a discrete-time game (``None`` for
        continuous-time games).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> params, mu0 = game.params(gamma=1.55), [0.5, 0.3, 0.2]
    >>> eq = bm.equilibrium(game, params, mu0)
    >>> eq.mu.shape, eq.value.shape, eq.rates.shape
    ((20, 3), (20, 3), (19, 3, 3))
    """

    mu: Array
    value: Array
    rates: Array | None
    info: SolverInfo
    policy: Array | None = None

    @property
    def converged(self) -> bool | Array:
        return self.info.converged

    def message(self) -> str:
        """Human-readable status (for a single, concrete solve)."""
        status = np.asarray(self.info.status)
        if status.ndim:
            counts = {Status(int(s)).name: int(np.sum(status == s)) for s in np.unique(status)}
            return f"batch of {status.size} solves: {counts}"
        return f"{Status(int(status)).message} (residual {float(self.info.residual):.3g}, {int(self.info.iterations)} iterations)"


def best_response_map(game: MeanFieldGame, mu: Array, params: Params, mu0: Array) -> Array:
    """The map ``G(mu)`` whose fixed point is the equilibrium (the game family's).

    Continuous-time games: ``Kolmogorov(HJB(mu))``; discrete-time games: the flow under the
    soft best response ``forward(softmax(Q(mu) / tau))``.

    Parameters
    ----------
    game
        The game.
    mu
        ``(N, d)`` mean-field path the population best-responds to.
    params
        Parameter paths, as returned by ``game.params(...)``.
    mu0
        ``(d,)`` initial distribution.

    Returns
    -------
    Array
        ``(N, d)`` distribution path of the population playing the best response to ``mu``.

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> game = bm.games.MobilityNetwork(n_states=4)
    >>> params, mu0 = game.params(c=1.5), jnp.full(4, 0.25)
    >>> mu = bm.equilibrium(game, params, mu0).mu          # a fixed point of G
    >>> float(jnp.max(jnp.abs(bm.best_response_map(game, mu, params, mu0) - mu))) < 1e-10
    True
    """
    return family_of(game).best_response_map(game, mu, params, mu0)


@partial(jax.jit, static_argnums=(0, 1, 2))
def _equilibrium(game: MeanFieldGame, solver: AbstractSolver, adjoint: AbstractAdjoint, params: Params,
                 mu0: Array, x0: Array) -> Equilibrium:
    family = family_of(game)
    tol = default_tol(solver, x0.dtype)
    mu, (status, res, iters, evals) = adjoint.apply(solver, family.map_fn(game), x0, (params, mu0), tol)
    mu = mu.at[0].set(mu0)  # exact: G(mu)[0] = mu0 (extrapolation may round it by an ulp)
    sol = family.solution(game, mu, params, mu0)
    status = jnp.where(sol.unstable, Status.EULER_UNSTABLE, status).astype(jnp.int32)
    info = SolverInfo(iters, evals, res, status == Status.SUCCESS, status, sol.max_jump_probability)
    return Equilibrium(mu, sol.value, sol.rates, info, sol.policy)


def default_solver(game: MeanFieldGame, **settings: Any) -> AbstractSolver:
    """The game family's default solver, with ``settings`` (e.g. ``tol``, ``max_iter``) replaced.

    The game chooses through its class attributes ``solver_damping`` (default 0; 0.5 for
    discrete-time games, 0.8 for El Farol) and ``solver_acceleration`` (default True):
    ``Anderson(damping=solver_damping)``, or damped ``Picard(damping=solver_damping,
    max_iter=3000)`` when acceleration is off (the meeting-time game, where Anderson stalls).

    Parameters
    ----------
    game
        The game.
    **settings
        Fields of the solver to replace.

    Returns
    -------
    AbstractSolver

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> bm.engine.default_solver(bm.games.BeachBar(), max_iter=50)
    Anderson(memory=5, damping=0.5, tol=None, max_iter=50, regularization=1e-10, restart_factor=10.0)
    """
    return dataclasses.replace(family_of(game).default_solver(game), **settings)


def check_solver(solver: Any, game: MeanFieldGame) -> None:
    """Raise a ``TypeError``/``ValueError`` unless ``solver`` can solve ``game``.

    Parameters
    ----------
    solver
        Any object; it must be an :class:`~bayes_mfg.engine.AbstractSolver` whose
        ``check(game)`` passes.
    game
        The game.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> bm.engine.check_solver(bm.OnlineMirrorDescent(), bm.games.LinearQuadratic(n_states=3))
    Traceback (most recent call last):
    ...
    TypeError: solver=OnlineMirrorDescent works on policies: it needs a game whose family exposes them (a DiscreteTimeGame), got LinearQuadratic
    """
    if not isinstance(solver, AbstractSolver):
        raise TypeError("solver must be a bayes_mfg.engine.AbstractSolver (Picard, Anderson, FictitiousPlay, "
                        f"OnlineMirrorDescent or your own), got {type(solver).__name__}")
    solver.check(game)


def check_adjoint(adjoint: Any, solver: AbstractSolver) -> None:
    """Raise a ``TypeError`` unless ``adjoint`` can differentiate ``solver``'s solve."""
    if not isinstance(adjoint, AbstractAdjoint):
        raise TypeError(f"adjoint must be a bayes_mfg.engine.AbstractAdjoint (ImplicitAdjoint, Unrolled or your own), "
                        f"got {type(adjoint).__name__}")
    adjoint.check(solver)


def equilibrium(
    game: MeanFieldGame,
    params: Mapping[str, Any] | None = None,
    mu0: Any = None,
    *,
    solver: AbstractSolver | None = None,
    adjoint: AbstractAdjoint | None = None,
    init: Any = None,
) -> Equilibrium:
    """Solve the mean field game ``mu* = G(mu*)`` over the whole time grid.

    ``G(mu)`` is the distribution path of a population that best-responds to ``mu``: a
    backward HJB sweep for the value ``u`` against ``mu``, then a forward Kolmogorov
    sweep from ``mu0`` under the best-response rates (see
    :mod:`bayes_mfg.engine.continuous_time`). The solve is differentiable with respect to
    ``params`` and ``mu0``: by default through the implicit function theorem at the fixed
    point (:class:`ImplicitAdjoint`), never by unrolling the iterations.

    Parameters
    ----------
    game
        A :class:`bayes_mfg.games.Game` (continuous time) or
        :class:`bayes_mfg.games.DiscreteTimeGame`.
    params
        Parameter values: a dict as built by ``game.params(...)``, or a partial dict of
        constants/paths (missing entries take the game's defaults). ``None``: defaults.
    mu0
        ``(d,)`` initial distribution (non-negative, sums to 1).
    solver
        Any :class:`~bayes_mfg.engine.AbstractSolver`: :class:`Anderson` (default;
        ``damping=0.5`` for discrete-time games), :class:`Picard`, :class:`FictitiousPlay`,
        (discrete-time games) :class:`OnlineMirrorDescent`, or one of your own.
    adjoint
        Any :class:`~bayes_mfg.engine.AbstractAdjoint`: :class:`ImplicitAdjoint` (default),
        :class:`Unrolled`, or one of your own.
    init
        Optional ``(N, d)`` warm start for the mean-field path (default: ``mu0`` repeated).

    Returns
    -------
    Equilibrium
        ``mu``, ``value``, ``rates`` and ``info`` (iterations, residual, converged, status).
        Non-convergence is reported in ``info`` (and warned about when called outside
        ``jit``/``vmap``); it is never silent.

    Raises
    ------
    ValueError, TypeError
        For invalid inputs (checked before any solve).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> import jax.numpy as jnp
    >>> game = bm.games.LinearQuadratic(n_states=3)
    >>> eq = bm.equilibrium(game, {"gamma": 1.55}, jnp.array([0.5, 0.3, 0.2]))
    >>> bool(eq.info.converged), eq.mu.shape
    (True, (100, 3))
    """
    if not isinstance(game, MeanFieldGame):
        raise TypeError(f"game must be a bayes_mfg.games.MeanFieldGame, got {type(game).__name__}")
    family_of(game)  # a registered family, or a TypeError naming the game
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping from parameter name to value, got {type(params).__name__}")
    given = dict(params)
    params = game.params(**params)
    if mu0 is None:
        raise ValueError("mu0 is required: the (d,) initial distribution")
    mu0 = check_distribution("mu0", mu0, game.n_states)
    # The precision follows mu0 and the values the caller gave (Python numbers are weakly
    # typed), not the defaults filled in: float32 inputs give a float32 solve (opt-in).
    dtype = jnp.result_type(mu0, *[v if isinstance(v, (int, float)) else jnp.asarray(v) for v in given.values()])
    mu0 = mu0.astype(dtype)
    params = {k: v.astype(dtype) for k, v in params.items()}
    if jnp.dtype(dtype) != jnp.float64:
        # shown once per calling line (Python's default warning filter)
        warnings.warn(f"bayes_mfg.equilibrium: solving in {jnp.dtype(dtype).name} (default tolerance 1e-5, "
                      "gradients to about 1e-4); the library's accuracy claims are for float64", UserWarning,
                      stacklevel=2)
    solver = default_solver(game) if solver is None else solver
    check_solver(solver, game)
    adjoint = ImplicitAdjoint() if adjoint is None else adjoint
    check_adjoint(adjoint, solver)
    shape = (game.n_times, game.n_states)
    if init is None:
        x0 = jnp.broadcast_to(mu0, shape)
    else:
        x0 = jnp.asarray(init, dtype=dtype)
        if x0.shape != shape:
            raise ValueError(f"init must have shape {shape} (a mean-field path), got {x0.shape}")
        check_finite("init", x0)
    x0 = x0.at[0].set(mu0)

    result = _equilibrium(game, solver, adjoint, params, mu0, x0)
    if is_concrete(result.info.status):
        status = np.asarray(result.info.status)
        if np.any(status != Status.SUCCESS):
            warnings.warn(f"bayes_mfg.equilibrium: {result.message()}", RuntimeWarning, stacklevel=2)
    return result


def adjoint_info(
    game: MeanFieldGame,
    result: Equilibrium,
    params: Mapping[str, Any],
    mu0: Any,
    cotangent: Any,
    adjoint: ImplicitAdjoint | None = None,
) -> AdjointInfo:
    """Run the adjoint solve for ``cotangent`` at a solved equilibrium and report how it went.

    Solves ``(I - d_mu G(mu*))^T w = cotangent`` exactly as the implicit gradient does and
    returns its :class:`AdjointInfo` (relative residual, converged, whether the fallback ran).

    Parameters
    ----------
    game, params, mu0
        The game, its parameters and the initial distribution of the solved equilibrium.
    result
        The :class:`Equilibrium` returned by :func:`equilibrium` for them.
    cotangent
        ``(N, d)`` the cotangent of ``mu`` (e.g. the gradient of a loss in ``mu``).
    adjoint
        The :class:`ImplicitAdjoint` settings (default ``ImplicitAdjoint()``).

    Returns
    -------
    AdjointInfo

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> params, mu0 = game.params(gamma=1.55), [0.5, 0.3, 0.2]
    >>> import jax.numpy as jnp
    >>> eq = bm.equilibrium(game, params, mu0)
    >>> float(bm.adjoint_info(game, eq, {"gamma": 1.55}, mu0, jnp.ones((20, 3))).relative_residual) < 1e-10
    True
    """
    adjoint = ImplicitAdjoint() if adjoint is None else adjoint
    params = game.params(**params)
    mu0 = check_distribution("mu0", mu0, game.n_states)
    v = jnp.asarray(cotangent, dtype=result.mu.dtype)
    if v.shape != result.mu.shape:
        raise ValueError(f"cotangent must have shape {result.mu.shape}, got {v.shape}")
    _, vjp = jax.vjp(lambda x_: best_response_map(game, x_, params, mu0), result.mu)
    return adjoint.solve_linear(lambda w_: vjp(w_)[0], v)[1]
