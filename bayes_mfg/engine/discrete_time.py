"""Sweeps of discrete-time games: soft Bellman (backward), distribution flow (forward), G.

For a :class:`~bayes_mfg.games.DiscreteTimeGame` (notation in :mod:`bayes_mfg.games.discrete`):

* backward, against a flow ``mu`` and with a rule ``V_t = aggregate(Q_t)``:
  ``Q_{N-1} = r_{N-1}``, ``Q_t = r_t + P_t V_{t+1}``; the rule is the soft maximum
  ``tau logsumexp(Q / tau)`` (the regularised best response), the hard maximum (the
  unregularised best response) or the policy average ``sum_a pi (Q - tau log pi)``
  (evaluation of a given policy, with or without the entropy bonus);
* forward: ``mu_{t+1}(x') = sum_{x, a} mu_t(x) pi_t(a|x) P_t(x'|x, a, mu_t)``;
* ``G(mu) = forward(softmax(Q(mu) / tau))``: the map whose fixed point is the equilibrium.

The kernel expectations and push-forwards are the game's rate structure's
(:mod:`bayes_mfg.stepping.structures`): dense ``(d, A, d)`` kernels or neighbour
``(d, A, K)`` kernels, O(d A K) per step. The family is registered with
:func:`bayes_mfg.engine.register_family`.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp, xlogy

from bayes_mfg.engine._agents import agent_flow
from bayes_mfg.engine._sweep import head, sweep
from bayes_mfg.engine.family import BestResponse, Family, Solution, register_family
from bayes_mfg.games.base import Array, Params
from bayes_mfg.games.discrete import DiscreteTimeGame

__all__ = ["soft_max", "hard_max", "policy_average", "Backward", "backward", "soft_policy", "forward",
           "best_response_policy", "best_response_map", "DISCRETE_TIME"]


def soft_max(tau: float) -> Callable[[Array, Array | None], Array]:
    """Aggregate of the regularised best response: ``V = tau logsumexp(Q / tau)`` over actions."""
    return lambda q, _: tau * logsumexp(q / tau, axis=-1)


def hard_max(q: Array, _: Array | None) -> Array:
    """Aggregate of the unregularised best response: ``V = max_a Q``."""
    return jnp.max(q, axis=-1)


def policy_average(tau: float) -> Callable[[Array, Array], Array]:
    """Aggregate of policy evaluation: ``V = sum_a pi (Q - tau log pi)`` (``tau = 0``: no entropy bonus)."""
    return lambda q, pi: jnp.sum(pi * q, axis=-1) - tau * jnp.sum(xlogy(pi, pi), axis=-1)


class Backward(NamedTuple):
    """Output of :func:`backward`: values ``V`` ``(N, d)`` and action values ``Q`` ``(N, d, A)``."""

    value: Array
    q: Array


def backward(game: DiscreteTimeGame, mu: Array, params: Params, aggregate: Callable, policy: Array | None = None) -> Backward:
    """Backward recursion against the flow ``mu`` with ``V_t = aggregate(Q_t, pi_t)``.

    Parameters
    ----------
    game
        The discrete-time game.
    mu
        ``(N, d)`` flow the agent responds to.
    params
        Parameter paths (``game.params(...)``).
    aggregate
        :func:`soft_max`, :func:`hard_max` or :func:`policy_average` (or any ``(Q, pi) -> V``).
    policy
        ``(N, d, A)`` policy passed to ``aggregate`` (needed for :func:`policy_average`).

    Returns
    -------
    Backward
        ``value`` ``(N, d)`` and ``q`` ``(N, d, A)``.
    """
    structure = game.structure
    q_last = game.reward(mu[-1], game.at_step(params, -1))
    v_last = aggregate(q_last, None if policy is None else policy[-1])

    def step(v_next, xs):
        mu_t, p_t, pi_t = xs
        q_t = game.reward(mu_t, p_t) + structure.expectation(game.transition(mu_t, p_t), v_next)
        return aggregate(q_t, pi_t), q_t

    pis = None if policy is None else policy[:-1]
    value, q_head = sweep(step, v_last, (mu[:-1], head(params), pis), reverse=True)
    return Backward(value, jnp.concatenate([q_head, q_last[None]]))


def soft_policy(q: Array, tau: float) -> Array:
    """``pi(a|x) = softmax(Q(x, .) / tau)``."""
    return jax.nn.softmax(q / tau, axis=-1)


def forward(game: DiscreteTimeGame, policy: Array, params: Params, mu0: Array) -> Array:
    """``(N, d)`` flow of a population playing ``policy`` ``(N, d, A)`` from ``mu0``."""
    structure = game.structure

    def step(mu_t, xs):
        pi_t, p_t = xs
        return structure.push(game.transition(mu_t, p_t), mu_t, pi_t), None

    return sweep(step, mu0, (policy[:-1], head(params)))[0]


def best_response_policy(game: DiscreteTimeGame, mu: Array, params: Params) -> tuple[Array, Array]:
    """The regularised best response to ``mu``: ``(V, pi)`` with ``V`` ``(N, d)``, ``pi`` ``(N, d, A)``."""
    tau = game.temperature
    b = backward(game, mu, params, soft_max(tau))
    return b.value, soft_policy(b.q, tau)


def best_response_map(game: DiscreteTimeGame, mu: Array, params: Params, mu0: Array) -> Array:
    """``G(mu)``: the flow of the population playing the regularised best response to ``mu``."""
    return forward(game, best_response_policy(game, mu, params)[1], params, mu0)


class _PolicyBestResponse(BestResponse):
    """G with the policy operations online mirror descent uses (:class:`~bayes_mfg.engine.PolicyMap`)."""

    @property
    def temperature(self) -> float:
        return self.game.temperature

    def soft_logits(self, mu: Array, args: Any) -> Array:
        params, _ = args
        return backward(self.game, mu, params, soft_max(self.temperature)).q / self.temperature

    def flow(self, policy: Array, args: Any) -> Array:
        params, mu0 = args
        return forward(self.game, policy, params, mu0)

    def policy_values(self, mu: Array, policy: Array, args: Any) -> Array:
        params, _ = args
        return backward(self.game, mu, params, policy_average(self.temperature), policy).q


class _DiscreteTime(Family):
    """The discrete-time family: G = forward(softmax(Q(mu) / tau)); the solution is the soft
    value and the policy (no rates)."""

    def best_response_map(self, game, mu, params, mu0):
        return best_response_map(game, mu, params, mu0)

    def solution(self, game, mu, params, mu0):
        value, policy = best_response_policy(game, mu, params)
        zero = jnp.zeros((), mu.dtype)
        return Solution(value, None, policy, zero, jnp.zeros((), bool))

    def map_fn(self, game):
        return _PolicyBestResponse(game, self)

    def transition_flows(self, game, eq, params):
        """``mu_t(x) sum_a pi_t(a | x) P_t[x, a, y]``: the mass moving ``x -> y`` (``y != x``) from ``t`` to ``t + 1``."""
        structure = game.structure

        def step(mu_t, pi_t, p_t):
            moves = jnp.einsum("xa,xak->xk", pi_t, game.transition(mu_t, p_t))
            return mu_t[:, None] * structure.off_diagonal(moves)

        return jax.vmap(step)(eq.mu[:-1], eq.policy[:-1], head(params))

    def exploitability(self, game, params, mu0, policy, regularised):
        """``policy``: an ``(N, d, A)`` array ``pi_t(a | x)`` or an object with ``.policy``."""
        pi = jnp.asarray(getattr(policy, "policy", policy), dtype=mu0.dtype)
        shape = (game.n_times, game.n_states, game.n_actions)
        if pi.shape != shape:
            raise ValueError(f"policy must be an Equilibrium or an array of shape {shape} (N, d, A), got {pi.shape}")
        if not bool(jnp.all(jnp.abs(jnp.sum(pi, axis=-1) - 1.0) < 1e-6)) or bool(jnp.any(pi < 0)):
            raise ValueError("policy must hold probabilities: pi[t, x, :] >= 0 summing to 1")
        return _exploitability(game, params, mu0, pi, regularised)

    def sample_flow(self, game, params, mu0, policy, n_agents, key):
        return _sample_flow(game, params, mu0, jnp.asarray(policy.policy, mu0.dtype), n_agents, key)

    def deviation_gain(self, game, params, mu0, policy, flow, regularised):
        return _gain(game, params, mu0, jnp.asarray(policy.policy, mu0.dtype), flow, regularised)


def _gain(game: DiscreteTimeGame, params: Params, mu0: Array, pi: Array, mu: Array, regularised: bool) -> Array:
    """``mu0 . (V_best - V_pi)`` against the flow ``mu`` (soft values if ``regularised``)."""
    tau = game.temperature if regularised else 0.0
    best = soft_max(game.temperature) if regularised else hard_max
    v_best = backward(game, mu, params, best).value[0]
    v_pi = backward(game, mu, params, policy_average(tau), pi).value[0]
    return mu0 @ (v_best - v_pi)


@jax.jit(static_argnums=(0, 4))
def _exploitability(game: DiscreteTimeGame, params: Params, mu0: Array, pi: Array, regularised: bool) -> Array:
    """The gain against the flow ``pi`` itself induces."""
    return _gain(game, params, mu0, pi, forward(game, pi, params, mu0), regularised)


def _sample_flow(game: DiscreteTimeGame, params: Params, mu0: Array, pi: Array, n_agents: int, key: Array) -> Array:
    """``(N, d)`` empirical flow of ``n_agents`` agents drawing actions from ``pi`` and moves from the
    kernel of the empirical population."""
    d, structure = game.n_states, game.structure

    def move(x, m, xs, k):
        pi_t, p_t = xs
        k_act, k_move = jax.random.split(k)
        a = jax.random.categorical(k_act, jnp.log(pi_t[x]))
        col = jax.random.categorical(k_move, jnp.log(game.transition(m, p_t)[x, a]))  # (n,) move columns
        return jnp.take_along_axis(structure.destinations(x, d), col[:, None], axis=1)[:, 0]

    return agent_flow(move, mu0, n_agents, key, (pi[:-1], head(params)))


DISCRETE_TIME = _DiscreteTime()
register_family(DiscreteTimeGame, DISCRETE_TIME)
