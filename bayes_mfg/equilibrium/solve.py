"""``equilibrium``: solve ``mu* = G(mu*; params, mu0)`` and make it differentiable."""

from __future__ import annotations

import enum
import warnings
from functools import partial
from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import check_distribution, check_finite, is_concrete
from bayes_mfg.equilibrium.adjoint import (
    AdjointInfo,
    ImplicitAdjoint,
    Unrolled,
    apply_failure_policy,
    solve_adjoint,
)
from bayes_mfg.equilibrium import discrete_time
from bayes_mfg.equilibrium.dynamics import best_response_map, hjb, kolmogorov, max_jump_probability
from bayes_mfg.equilibrium.solvers import (
    Anderson,
    FictitiousPlay,
    OnlineMirrorDescent,
    Picard,
    Solver,
    default_tol,
    iterate,
    unroll,
)
from bayes_mfg.games.base import Array, Game, MeanFieldGame, Params
from bayes_mfg.games.discrete import DiscreteTimeGame


class Status(enum.IntEnum):
    """Why the solve stopped (``SolverInfo.status``).

    Attributes
    ----------
    SUCCESS
        Converged: ``max|G(mu) - mu| <= tol``.
    MAX_ITERATIONS
        ``max_iter`` reached first.
    NONFINITE
        The map returned NaN/inf.
    EULER_UNSTABLE
        Explicit Euler with ``dt * max out-rate > 1`` (``mu`` would leave the simplex).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> bm.Status.EULER_UNSTABLE.value, bm.Status(0).name
    (3, 'SUCCESS')
    """

    SUCCESS = 0
    MAX_ITERATIONS = 1
    NONFINITE = 2
    EULER_UNSTABLE = 3

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Status.SUCCESS: "converged: max|G(mu) - mu| <= tol",
    Status.MAX_ITERATIONS: "not converged: max_iter reached before max|G(mu) - mu| <= tol "
    "(try Anderson(), more iterations or damping)",
    Status.NONFINITE: "failed: the best-response map returned NaN/inf (parameters or values overflow: "
    "give the parameters a prior with lighter tails or an upper bound, and keep float64)",
    Status.EULER_UNSTABLE: "unstable: explicit Euler with dt * max out-rate > 1 leaves the simplex; "
    "use scheme='implicit' (or 'exponential') or more time steps",
}


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
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
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
        ``(N - 1, d, d)`` equilibrium jump rates ``a*[x, y]`` used on each step n -> n+1.
        For a game with ``neighbours`` (``(d, K)``): ``(N - 1, d, K)``, the rate of the jump
        x -> neighbours[x, k] (``dynamics.dense_rates`` expands them). ``None`` for a
        discrete-time game.
    info
        :class:`SolverInfo`.
    policy
        ``(N, d, A)`` equilibrium policy ``pi_t(a | x)`` of a discrete-time game (``None`` for
        continuous-time games).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
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


def _fixed_point_fn(game: MeanFieldGame):
    def fn(x, args):
        params, mu0 = args
        return best_response_map(game, x, params, mu0)

    return fn


def _solve(game: MeanFieldGame, solver: Solver, x0: Array, params: Params, mu0: Array):
    tol = default_tol(solver, x0.dtype)
    if isinstance(solver, OnlineMirrorDescent):
        state = discrete_time.mirror_descent(solver, game, x0, params, mu0, tol)
    else:
        state = iterate(solver, _fixed_point_fn(game), x0, (params, mu0), tol)
    return state.best_x, _raw_info(state, tol)


def _raw_info(state, tol):
    res = state.best_residual
    status = jnp.where(
        res <= tol,
        Status.SUCCESS,
        jnp.where(jnp.isfinite(state.residual), Status.MAX_ITERATIONS, Status.NONFINITE),
    ).astype(jnp.int32)
    return status, res, state.iteration, state.n_evals


@partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _implicit_fixed_point(game, solver, adjoint, x0, params, mu0):
    return _solve(game, solver, x0, params, mu0)


def _implicit_fwd(game, solver, adjoint, x0, params, mu0):
    x, info = _solve(game, solver, x0, params, mu0)
    return (x, info), (x, params, mu0, info[0] == Status.SUCCESS)


def _implicit_bwd(game, solver, adjoint, residuals, cotangents):
    x, params, mu0, forward_ok = residuals
    v = cotangents[0]
    _, vjp = jax.vjp(lambda x_, p_, m_: best_response_map(game, x_, p_, m_), x, params, mu0)
    w, ainfo = solve_adjoint(adjoint, lambda w_: vjp(w_)[0], v)
    _, g_params, g_mu0 = vjp(w)
    g_params, g_mu0 = apply_failure_policy(adjoint, (g_params, g_mu0), ainfo, forward_ok)
    return jnp.zeros_like(x), g_params, g_mu0


_implicit_fixed_point.defvjp(_implicit_fwd, _implicit_bwd)


def _unrolled_fixed_point(game, solver, adjoint, x0, params, mu0):
    tol = default_tol(solver, x0.dtype)
    state = unroll(solver, _fixed_point_fn(game), x0, (params, mu0), adjoint.n_iter)
    return state.best_x, _raw_info(state, tol)


@partial(jax.jit, static_argnums=(0, 1, 2))
def _equilibrium(game: MeanFieldGame, solver: Solver, adjoint, params: Params, mu0: Array, x0: Array) -> Equilibrium:
    if isinstance(adjoint, Unrolled):
        mu, (status, res, iters, evals) = _unrolled_fixed_point(game, solver, adjoint, x0, params, mu0)
    else:
        mu, (status, res, iters, evals) = _implicit_fixed_point(game, solver, adjoint, x0, params, mu0)
    mu = mu.at[0].set(mu0)  # exact: G(mu)[0] = mu0 (extrapolation may round it by an ulp)
    if isinstance(game, DiscreteTimeGame):
        value, policy = discrete_time.best_response_policy(game, mu, params)
        info = SolverInfo(iters, evals, res, status == Status.SUCCESS, status, jnp.zeros((), mu.dtype))
        return Equilibrium(mu, value, None, info, policy)
    value = hjb(game, mu, params)
    rates = kolmogorov(game, value, params, mu0).rates
    jump = jax.lax.stop_gradient(max_jump_probability(game, rates))
    if game.scheme == "euler":
        status = jnp.where(jump > 1.0, Status.EULER_UNSTABLE, status)
        status = status.astype(jnp.int32)
    info = SolverInfo(iters, evals, res, status == Status.SUCCESS, status, jump)
    return Equilibrium(mu, value, rates, info)


def default_solver(game: MeanFieldGame, **settings: Any) -> Anderson:
    """The default solver: ``Anderson()``, damped by 0.5 for discrete-time games.

    Soft best responses to a crowd-aversion reward (``log mu``) overshoot: undamped
    extrapolation stalls on crowd motion at ``tau = 0.1`` (residual 3e-2 after 500 iterations
    on an 8 x 8 grid) where ``damping=0.5`` converges in 50 (measured).
    """
    if isinstance(game, DiscreteTimeGame):
        settings = {"damping": 0.5, **settings}
    return Anderson(**settings)


def check_solver(solver: Any, game: MeanFieldGame) -> None:
    """Raise a ``TypeError``/``ValueError`` unless ``solver`` can solve ``game``."""
    if not isinstance(solver, (Picard, Anderson, FictitiousPlay, OnlineMirrorDescent)):
        raise TypeError(f"solver must be Picard, Anderson, FictitiousPlay or OnlineMirrorDescent, got {type(solver).__name__}")
    if isinstance(solver, OnlineMirrorDescent):
        if not isinstance(game, DiscreteTimeGame):
            raise TypeError("solver=OnlineMirrorDescent works on policies: it needs a DiscreteTimeGame, "
                            f"got {type(game).__name__}")
        if solver.learning_rate * game.temperature > 1.0:
            raise ValueError(f"OnlineMirrorDescent needs learning_rate * temperature <= 1, got "
                             f"{solver.learning_rate} * {game.temperature}")


def equilibrium(
    game: MeanFieldGame,
    params: Mapping[str, Any] | None = None,
    mu0: Any = None,
    *,
    solver: Solver | None = None,
    adjoint: ImplicitAdjoint | Unrolled | None = None,
    init: Any = None,
) -> Equilibrium:
    """Solve the mean field game ``mu* = G(mu*)`` over the whole time grid.

    ``G(mu)`` is the distribution path of a population that best-responds to ``mu``: a
    backward HJB sweep for the value ``u`` against ``mu``, then a forward Kolmogorov
    sweep from ``mu0`` under the best-response rates (see
    :mod:`bayes_mfg.equilibrium.dynamics`). The solve is differentiable with respect to
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
        :class:`Anderson` (default; ``damping=0.5`` for discrete-time games), :class:`Picard`, :class:`FictitiousPlay` or (discrete-time
        games) :class:`OnlineMirrorDescent`.
    adjoint
        :class:`ImplicitAdjoint` (default) or :class:`Unrolled`.
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
        raise TypeError(f"game must be a bayes_mfg.games.Game or DiscreteTimeGame, got {type(game).__name__}")
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
    solver = default_solver(game) if solver is None else solver
    check_solver(solver, game)
    adjoint = ImplicitAdjoint() if adjoint is None else adjoint
    if not isinstance(adjoint, (ImplicitAdjoint, Unrolled)):
        raise TypeError(f"adjoint must be ImplicitAdjoint or Unrolled, got {type(adjoint).__name__}")
    if isinstance(adjoint, Unrolled) and isinstance(solver, OnlineMirrorDescent):
        raise TypeError("adjoint=Unrolled needs a solver that iterates G (Picard, Anderson or FictitiousPlay), "
                        "not OnlineMirrorDescent")
    shape = (game.n_steps, game.n_states)
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
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
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
    return solve_adjoint(adjoint, lambda w_: vjp(w_)[0], v)[1]
