"""Sweeps of continuous-time games: HJB (backward), Kolmogorov (forward) and the map G.

Time indexing (as in the seed paper's code, needed to reproduce its equilibria): with
``u_{N-1} = g(mu_{N-1})``,

* HJB step n (backward, n = N-2..0) uses the best response to ``(u_{n+1}, mu_n, p_n)``;
* Kolmogorov step n -> n+1 (forward) uses the best response to ``(u_n, mu_n, p_n)`` with
  ``mu_n`` the distribution being propagated.

A second-order scheme (:class:`~bayes_mfg.stepping.ExponentialMidpoint`) evaluates the best
response at the step's midpoint instead (:meth:`~bayes_mfg.stepping.Scheme.backward_step`,
:meth:`~bayes_mfg.stepping.Scheme.forward_step`); the policy-evaluation sweeps of the
diagnostics (exploitability, the epsilon-Nash gap, agent simulation) freeze the controls of
``(u_n, mu_n, p_n)`` over each step with every scheme.

Each step is the game's :class:`~bayes_mfg.stepping.Scheme` acting through the game's
:class:`~bayes_mfg.stepping.RateStructure` (dense or neighbours): this module never looks at
which scheme or structure it is. The family is registered with
:func:`bayes_mfg.engine.register_family`.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from bayes_mfg.engine._agents import agent_flow
from bayes_mfg.engine._sweep import head, sweep, tail
from bayes_mfg.engine.family import Family, Solution, register_family
from bayes_mfg.games.base import Array, ContinuousTimeGame, Control, Params

__all__ = ["hjb", "kolmogorov", "ForwardSweep", "policy_cost", "policy_rates", "step_rates", "best_response_map",
           "max_jump_probability",
           "dense_rates", "off_diagonal", "transition_matrix", "CONTINUOUS_TIME"]


def off_diagonal(game: ContinuousTimeGame, rates: Array) -> Array:
    """The rates with self-jumps set to 0 (the diagonal of dense rates, the padding entries
    ``neighbours[x, k] == x`` of neighbour-structured rates)."""
    return game.structure.off_diagonal(rates)


def dense_rates(game: ContinuousTimeGame, rates: Array) -> Array:
    """``(..., d, d)`` rates from a game's rates (``(..., d, K)`` for neighbour games; dense unchanged).

    Parameters
    ----------
    game
        The game (its rate structure).
    rates
        Rates as the game's sweeps produce them.

    Returns
    -------
    jax.Array

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> from bayes_mfg.engine.continuous_time import dense_rates
    >>> game = bm.games.NeighbourLinearQuadratic.ring(5, n_times=10)
    >>> eq = bm.equilibrium(game, {}, [0.2] * 5)
    >>> eq.rates.shape, dense_rates(game, eq.rates).shape
    ((9, 5, 2), (9, 5, 5))
    """
    return game.structure.to_dense(rates)


def transition_matrix(game: ContinuousTimeGame, rates: Array) -> Array:
    """``(d, d)`` one-step transition matrix ``P`` (``mu_{n+1} = mu_n P``) of the game's scheme.

    Parameters
    ----------
    game
        The game (its scheme, rate structure and ``dt``).
    rates
        One step's rates (``(d, d)``, or ``(d, K)`` for neighbour games).

    Returns
    -------
    jax.Array
        ``(d, d)`` stochastic matrix (for the stable schemes).

    Examples
    --------
    With a first-order scheme the equilibrium's rates are those the steps apply
    (a second-order scheme's are :func:`step_rates`):

    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20, scheme="implicit")
    >>> eq = bm.equilibrium(game, {"gamma": 1.55}, [0.5, 0.3, 0.2])
    >>> p = bm.engine.transition_matrix(game, eq.rates[0])
    >>> bool(jnp.allclose(eq.mu[0] @ p, eq.mu[1], atol=1e-12)), bool(jnp.allclose(p.sum(1), 1.0))
    (True, True)
    """
    return game.scheme.transition_matrix(game.structure, rates, game.dt)


def _control(game: ContinuousTimeGame, u: Array, mu: Array, p: Params) -> Control:
    c = game.control(u, mu, p)
    return Control(game.structure.off_diagonal(c.rates), c.cost)


def hjb(game: ContinuousTimeGame, mu: Array, params: Params) -> Array:
    """Backward sweep: the value path ``u`` (shape ``(N, d)``) given the mean-field path ``mu``.

    Parameters
    ----------
    game
        The game (costs, best response, grid, scheme).
    mu
        ``(N, d)`` mean-field path.
    params
        Parameter paths, as returned by ``game.params``.

    Returns
    -------
    jax.Array
        ``(N, d)`` value path, ``u[N - 1] = g(mu[N - 1])``.

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> params, mu0 = game.params(gamma=1.55), jnp.array([0.5, 0.3, 0.2])
    >>> eq = bm.equilibrium(game, params, mu0)
    >>> bool(jnp.allclose(bm.engine.hjb(game, eq.mu, params), eq.value))
    True
    """
    scheme, structure, dt = game.scheme, game.structure, game.dt
    u_last = game.terminal_cost(mu[-1], game.at_step(params, -1))

    def control(u, m, p):
        return _control(game, u, m, p)

    def step(u_next, xs):
        mu_n, mu_next, p_n, p_next = xs
        return scheme.backward_step(structure, control, u_next, (mu_n, mu_next), (p_n, p_next), dt), None

    return sweep(step, u_last, (mu[:-1], mu[1:], head(params), tail(params)), reverse=True)[0]


class ForwardSweep(NamedTuple):
    """Output of :func:`kolmogorov`.

    Attributes
    ----------
    mu
        ``(N, d)`` distribution path, ``mu[0] = mu0``.
    rates
        ``(N - 1, d, d)`` the frozen jump rates each step n -> n+1 applied (diagonal zero;
        ``Scheme.forward_step``): the best response to ``(u_n, mu_n, p_n)`` for a first-order
        scheme, rates built inside the step for a second-order one. For a game with
        ``neighbours`` (``(d, K)``), ``(N - 1, d, K)``: the rate of x -> neighbours[x, k].
    """

    mu: Array
    rates: Array


def kolmogorov(game: ContinuousTimeGame, u: Array, params: Params, mu0: Array) -> ForwardSweep:
    """Forward sweep: the distribution path driven by the best response to the value path ``u``.

    Parameters
    ----------
    game
        The game.
    u
        ``(N, d)`` value path.
    params
        Parameter paths, as returned by ``game.params``.
    mu0
        ``(d,)`` initial distribution.

    Returns
    -------
    ForwardSweep
        ``mu`` ``(N, d)`` and the ``rates`` used on each step.

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> game = bm.games.Cybersecurity(temperature=0.1)
    >>> params, mu0 = game.params(), jnp.full(4, 0.25)
    >>> eq = bm.equilibrium(game, params, mu0)
    >>> sweep = bm.engine.kolmogorov(game, eq.value, params, mu0)
    >>> float(jnp.max(jnp.abs(sweep.mu - eq.mu))) < 1e-10  # at the equilibrium: a fixed point
    True
    """
    scheme, structure, dt = game.scheme, game.structure, game.dt

    def control(u_, m, p):
        return _control(game, u_, m, p)

    def step(mu_n, xs):
        u_n, u_next, p_n, p_next = xs
        return scheme.forward_step(structure, control, mu_n, (u_n, u_next), (p_n, p_next), dt)

    mu, rates = sweep(step, mu0, (u[:-1], u[1:], head(params), tail(params)))
    return ForwardSweep(mu, rates)


def policy_rates(game: ContinuousTimeGame, value: Array, mu: Array, params: Params) -> Array:
    """``(N - 1, d, d)`` (or ``(N - 1, d, K)``) the players' best-response rates at the start of
    every step, ``a*_n = control(u_n, mu_n, p_n)``: the equilibrium's ``rates`` for every scheme.

    A first-order scheme applies exactly these rates over the step; a second-order one
    applies rates it builds from the controls inside the step (:func:`step_rates`).
    """
    return jax.vmap(lambda u_n, mu_n, p_n: _control(game, u_n, mu_n, p_n).rates)(value[:-1], mu[:-1], head(params))


def step_rates(game: ContinuousTimeGame, value: Array, mu: Array, params: Params) -> Array:
    """The frozen rates each step of the game's scheme applies to go from ``mu_n`` to
    ``mu_{n+1}`` (``Scheme.forward_step``; the same as :func:`policy_rates` for a first-order
    scheme), with the steps evaluated independently at the points of the path ``mu``."""
    scheme, structure, dt = game.scheme, game.structure, game.dt

    def control(u_, m, p):
        return _control(game, u_, m, p)

    def one(mu_n, u_n, u_next, p_n, p_next):
        return scheme.forward_step(structure, control, mu_n, (u_n, u_next), (p_n, p_next), dt)[1]

    return jax.vmap(one)(mu[:-1], value[:-1], value[1:], head(params), tail(params))


def policy_cost(game: ContinuousTimeGame, mu: Array, value: Array, params: Params) -> Array:
    """``(N, d)`` cost-to-go of the forward-sweep controls ``control(u_n, mu_n)`` against ``mu``."""
    scheme, structure, dt = game.scheme, game.structure, game.dt
    u_last = game.terminal_cost(mu[-1], game.at_step(params, -1))

    def step(j_next, xs):
        u_n, mu_n, p_n = xs
        c = _control(game, u_n, mu_n, p_n)
        return scheme.backward(structure, j_next, c.rates, c.cost, dt), None

    return sweep(step, u_last, (value[:-1], mu[:-1], head(params)), reverse=True)[0]


def best_response_map(game: ContinuousTimeGame, mu: Array, params: Params, mu0: Array) -> Array:
    """``G(mu) = Kolmogorov(HJB(mu))``: the flow of the population best-responding to ``mu``."""
    return kolmogorov(game, hjb(game, mu, params), params, mu0).mu


def max_jump_probability(game: ContinuousTimeGame, rates: Array) -> Array:
    """``dt * max_{n, x} sum_y a_n[x, y]``: explicit Euler stays on the simplex only if <= 1.

    Parameters
    ----------
    game
        The game (its ``dt``).
    rates
        ``(N - 1, d, d)`` (or ``(N - 1, d, K)``) off-diagonal jump rates.

    Returns
    -------
    jax.Array
        The scalar stability number.

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> eq = bm.equilibrium(game, game.params(gamma=1.55), jnp.array([0.5, 0.3, 0.2]))
    >>> float(bm.engine.max_jump_probability(game, eq.rates)) == float(eq.info.max_jump_probability)
    True
    """
    return game.dt * jnp.max(jnp.sum(rates, axis=-1))


class _ContinuousTime(Family):
    """The continuous-time family: G = Kolmogorov(HJB(mu)); the solution adds the value
    path, the rates of the forward sweep and the scheme's stability verdict."""

    def best_response_map(self, game, mu, params, mu0):
        return best_response_map(game, mu, params, mu0)

    def solution(self, game, mu, params, mu0):
        value = hjb(game, mu, params)
        flow = kolmogorov(game, value, params, mu0).mu
        rates = policy_rates(game, value, flow, params)
        jump = jax.lax.stop_gradient(max_jump_probability(game, rates))
        return Solution(value, rates, None, jump, game.scheme.unstable(jump))

    def exploitability(self, game, params, mu0, policy, regularised):
        """``policy``: the :class:`~bayes_mfg.Equilibrium` whose forward-sweep controls are scored;
        unregularised, a game with a ``temperature`` is compared with its hard best response."""
        if getattr(policy, "rates", None) is None:
            raise TypeError("for a continuous-time game, policy must be the Equilibrium whose controls are scored")
        return _exploitability(game, params, mu0, policy, _best_game(game, regularised))

    def transition_flows(self, game, eq, params):
        """``o_n(x) r_n[x, y]``: the scheme's occupation of ``x`` over step ``n`` times the rates
        the step applied (:func:`step_rates`)."""
        scheme, structure, dt = game.scheme, game.structure, game.dt
        rates = step_rates(game, eq.value, eq.mu, params)
        occ = jax.vmap(lambda m, m_next, r: scheme.occupation(structure, m, m_next, r, dt))(
            eq.mu[:-1], eq.mu[1:], rates)
        return occ[..., None] * structure.off_diagonal(rates)

    def sample_flow(self, game, params, mu0, policy, n_agents, key):
        if getattr(policy, "value", None) is None:
            raise TypeError("for a continuous-time game, policy must be the Equilibrium whose controls are played")
        return _sample_flow(game, params, mu0, policy, n_agents, key)

    def deviation_gain(self, game, params, mu0, policy, flow, regularised):
        j = fixed_policy_cost(game, policy.mu, policy.value, flow, params)
        return mu0 @ (j[0] - hjb(_best_game(game, regularised), flow, params)[0])


def _best_game(game: ContinuousTimeGame, regularised: bool) -> ContinuousTimeGame:
    """The game whose HJB value is the best response: unregularised, a game with a
    ``temperature`` is compared with its hard best response (``temperature = 0``)."""
    if not regularised and getattr(game, "temperature", 0.0) > 0 and dataclasses.is_dataclass(game):
        return dataclasses.replace(game, temperature=0.0)
    return game


def fixed_policy_cost(game: ContinuousTimeGame, mu: Array, value: Array, flow: Array, params: Params) -> Array:
    """``(N, d)`` cost-to-go of the equilibrium's feedback policy (chosen from ``value`` and ``mu``)
    played in the population ``flow`` (:meth:`~bayes_mfg.games.ContinuousTimeGame.policy_control`)."""
    scheme, structure, dt = game.scheme, game.structure, game.dt
    j_last = game.terminal_cost(flow[-1], game.at_step(params, -1))

    def step(j_next, xs):
        u_n, mu_n, m_n, p_n = xs
        c = game.policy_control(u_n, mu_n, m_n, p_n)
        return scheme.backward(structure, j_next, structure.off_diagonal(c.rates), c.cost, dt), None

    return sweep(step, j_last, (value[:-1], mu[:-1], flow[:-1], head(params)), reverse=True)[0]


def _sample_flow(game: ContinuousTimeGame, params: Params, mu0: Array, eq, n_agents: int, key: Array) -> Array:
    """``(N, d)`` empirical flow of ``n_agents`` agents playing the equilibrium's feedback policy, each
    step's moves drawn from the scheme's one-step transition matrix in the empirical population."""
    structure, scheme, dt = game.structure, game.scheme, game.dt

    def move(x, m, xs, k):
        u_n, mu_n, p_n = xs
        c = game.policy_control(u_n, mu_n, m, p_n)
        p_move = scheme.transition_matrix(structure, structure.off_diagonal(c.rates), dt)
        return jax.random.categorical(k, jnp.log(jnp.maximum(p_move[x], 0.0)))

    return agent_flow(move, mu0, n_agents, key, (eq.value[:-1], eq.mu[:-1], head(params)))


@jax.jit(static_argnums=(0, 4))
def _exploitability(game: ContinuousTimeGame, params: Params, mu0: Array, eq, best_game: ContinuousTimeGame) -> Array:
    """``mu0 . (J^pi_0 - u_0)``: the controls' cost-to-go minus the HJB value of ``best_game``."""
    j = policy_cost(game, eq.mu, eq.value, params)
    u = hjb(best_game, eq.mu, params)
    return mu0 @ (j[0] - u[0])


CONTINUOUS_TIME = _ContinuousTime()
register_family(ContinuousTimeGame, CONTINUOUS_TIME)
