"""Sweeps of discrete-time games: soft Bellman (backward), distribution flow (forward), G.

For a :class:`~bayes_mfg.games.DiscreteTimeGame` (notation in :mod:`bayes_mfg.games.discrete`):

* backward, against a flow ``mu`` and with a rule ``V_t = aggregate(Q_t)``:
  ``Q_{N-1} = r_{N-1}``, ``Q_t = r_t + P_t V_{t+1}``; the rule is the soft maximum
  ``tau logsumexp(Q / tau)`` (the regularised best response), the hard maximum (the
  unregularised best response) or the policy average ``sum_a pi (Q - tau log pi)``
  (evaluation of a given policy, with or without the entropy bonus);
* forward: ``mu_{t+1}(x') = sum_{x, a} mu_t(x) pi_t(a|x) P_t(x'|x, a, mu_t)``;
* ``G(mu) = forward(softmax(Q(mu) / tau))``: the map whose fixed point is the equilibrium.

A game with ``neighbours`` gives ``(d, A, K)`` kernels; the expectation is then a gather and
the push-forward a gather over the table of incoming moves, O(d A K) per step.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp, xlogy

from bayes_mfg.equilibrium.dynamics import _column_action
from bayes_mfg.games.base import Array, Params
from bayes_mfg.games.discrete import DiscreteTimeGame


def _expectation(game: DiscreteTimeGame, kernel: Array, v: Array) -> Array:
    """``(d, A)``: ``sum_x' P[x, a, x'] v(x')``."""
    nbr = game.neighbours
    if nbr is None:
        return kernel @ v
    return jnp.sum(kernel * v[nbr][:, None, :], axis=-1)


def _push(game: DiscreteTimeGame, kernel: Array, mu: Array, pi: Array) -> Array:
    """``(d,)``: ``sum_{x, a} mu(x) pi(a|x) P[x, a, x']``."""
    nbr = game.neighbours
    if nbr is None:
        return jnp.einsum("x,xa,xay->y", mu, pi, kernel)
    moves = jnp.einsum("xa,xak->xk", pi, kernel)  # (d, K) probability of each move
    stay = jnp.sum(jnp.where(nbr == np.arange(nbr.shape[0])[:, None], moves, 0.0), axis=1)
    return _column_action(moves, nbr, mu) + mu * stay


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
    last = game.at_step(params, -1)
    pi_seq = None if policy is None else policy
    q_last = game.reward(mu[-1], last)
    v_last = aggregate(q_last, None if pi_seq is None else pi_seq[-1])

    def step(v_next, xs):
        mu_t, p_t, pi_t = xs
        q_t = game.reward(mu_t, p_t) + _expectation(game, game.transition(mu_t, p_t), v_next)
        v_t = aggregate(q_t, pi_t)
        return v_t, (v_t, q_t)

    head = {k: v[:-1] for k, v in params.items()}
    pis = None if pi_seq is None else pi_seq[:-1]
    _, (v_head, q_head) = jax.lax.scan(step, v_last, (mu[:-1], head, pis), reverse=True)
    return Backward(jnp.concatenate([v_head, v_last[None]]), jnp.concatenate([q_head, q_last[None]]))


def soft_policy(q: Array, tau: float) -> Array:
    """``pi(a|x) = softmax(Q(x, .) / tau)``."""
    return jax.nn.softmax(q / tau, axis=-1)


def forward(game: DiscreteTimeGame, policy: Array, params: Params, mu0: Array) -> Array:
    """``(N, d)`` flow of a population playing ``policy`` ``(N, d, A)`` from ``mu0``."""

    def step(mu_t, xs):
        pi_t, p_t = xs
        mu_next = _push(game, game.transition(mu_t, p_t), mu_t, pi_t)
        return mu_next, mu_next

    head = {k: v[:-1] for k, v in params.items()}
    _, tail = jax.lax.scan(step, mu0, (policy[:-1], head))
    return jnp.concatenate([mu0[None], tail])


def best_response_policy(game: DiscreteTimeGame, mu: Array, params: Params) -> tuple[Array, Array]:
    """The regularised best response to ``mu``: ``(V, pi)`` with ``V`` ``(N, d)``, ``pi`` ``(N, d, A)``."""
    tau = game.temperature
    b = backward(game, mu, params, soft_max(tau))
    return b.value, soft_policy(b.q, tau)


def best_response_map(game: DiscreteTimeGame, mu: Array, params: Params, mu0: Array) -> Array:
    """``G(mu)``: the flow of the population playing the regularised best response to ``mu``."""
    return forward(game, best_response_policy(game, mu, params)[1], params, mu0)


def mirror_descent(solver, game: DiscreteTimeGame, x0: Array, params: Params, mu0: Array, tol: float):
    """Run :class:`~bayes_mfg.equilibrium.solvers.OnlineMirrorDescent` from the path ``x0``.

    Returns a :class:`~bayes_mfg.equilibrium.solvers.PicardState` over the flow (``x`` the flow
    of the current policy, ``gx = G(x)``), so that the result is reported like every solver's.
    """
    from bayes_mfg.equilibrium.solvers import PicardState, _keep_best, _residual

    tau, eta = game.temperature, solver.learning_rate
    average = policy_average(tau)

    def flow_and_residual(y):
        pi = jax.nn.softmax(y, axis=-1)
        mu = forward(game, pi, params, mu0)
        gx = best_response_map(game, mu, params, mu0)
        return pi, mu, gx, _residual(mu, gx)

    y0 = backward(game, x0, params, soft_max(tau)).q / tau
    _, mu, gx, res = flow_and_residual(y0)
    zero = jnp.zeros((), jnp.int32)
    init = (y0, PicardState(mu, gx, res, mu, gx, res, zero, zero + 2))

    def cond(c):
        s = c[1]
        return (s.best_residual > tol) & (s.iteration < solver.max_iter) & jnp.isfinite(s.residual)

    def body(c):
        y, s = c
        pi = jax.nn.softmax(y, axis=-1)
        q = backward(game, s.x, params, average, pi).q
        y = (1.0 - eta * tau) * y + eta * q
        _, mu, gx, res = flow_and_residual(y)
        best = _keep_best(s.best_x, s.best_gx, s.best_residual, mu, gx, res)
        return y, PicardState(mu, gx, res, *best, s.iteration + 1, s.n_evals + 2)

    return jax.lax.while_loop(cond, body, init)[1]
