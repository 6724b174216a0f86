"""HJB and Kolmogorov sweeps and the best-response map G, written once for every game.

Time indexing (as in the seed paper's code, needed to reproduce its equilibria): with
``u_{N-1} = g(mu_{N-1})``,

* HJB step n (backward, n = N-2..0) uses the best response to ``(u_{n+1}, mu_n, p_n)``;
* Kolmogorov step n -> n+1 (forward) uses the best response to ``(u_n, mu_n, p_n)`` with
  ``mu_n`` the distribution being propagated.

With rates ``a`` and cost ``f`` frozen over one step and generator
``Q = a - diag(sum_y a[x, y])``, the two schemes are

* ``euler``:        ``u_n = u_{n+1} + dt (f + Q u_{n+1})``,  ``mu_{n+1} = mu_n + dt mu_n Q``;
* ``exponential``:  ``u_n = expm(dt Q) u_{n+1} + dt phi_1(dt Q) f``,  ``mu_{n+1} = mu_n expm(dt Q)``,
  with ``phi_1(z) = (e^z - 1) / z``: the exact solution of the frozen-rate linear ODEs.
  ``expm(dt Q)`` is a stochastic matrix for any dt, so mass and positivity are kept.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import expm

from bayes_mfg.games.base import Array, Control, Game, Params


def generator(rates: Array) -> Array:
    """Generator ``Q`` of a jump process from off-diagonal rates (diagonal of ``rates`` ignored)."""
    d = rates.shape[-1]
    off = rates * (1.0 - jnp.eye(d, dtype=rates.dtype))
    return off - jnp.diag(jnp.sum(off, axis=-1))


def _backward_step(scheme: str, u_next: Array, control: Control, dt: float) -> Array:
    q = generator(control.rates)
    if scheme == "euler":
        return u_next + dt * (control.cost + q @ u_next)
    # Exponential integrator: expm of the augmented matrix [[dt Q, dt f], [0, 0]] holds
    # expm(dt Q) in its top-left block and dt phi_1(dt Q) f in its last column.
    d = u_next.shape[0]
    aug = jnp.zeros((d + 1, d + 1), dtype=u_next.dtype)
    aug = aug.at[:d, :d].set(dt * q).at[:d, d].set(dt * control.cost)
    e = expm(aug)
    return e[:d, :d] @ u_next + e[:d, d]


def _forward_step(scheme: str, mu: Array, rates: Array, dt: float) -> Array:
    q = generator(rates)
    if scheme == "euler":
        return mu + dt * (mu @ q)
    return mu @ expm(dt * q)


def hjb(game: Game, mu: Array, params: Params) -> Array:
    """Backward sweep: the value path ``u`` (shape ``(N, d)``) given the mean-field path ``mu``."""
    dt = game.dt
    u_last = game.terminal_cost(mu[-1], game.at_step(params, -1))

    def step(u_next, xs):
        mu_n, p_n = xs
        u_n = _backward_step(game.scheme, u_next, game.control(u_next, mu_n, p_n), dt)
        return u_n, u_n

    head = {k: v[:-1] for k, v in params.items()}
    _, u_head = jax.lax.scan(step, u_last, (mu[:-1], head), reverse=True)
    return jnp.concatenate([u_head, u_last[None]], axis=0)


class ForwardSweep(NamedTuple):
    """Output of :func:`kolmogorov`.

    Attributes
    ----------
    mu
        ``(N, d)`` distribution path, ``mu[0] = mu0``.
    rates
        ``(N - 1, d, d)`` jump rates used on each step n -> n+1 (diagonal zero).
    """

    mu: Array
    rates: Array


def kolmogorov(game: Game, u: Array, params: Params, mu0: Array) -> ForwardSweep:
    """Forward sweep: the distribution path driven by the best response to the value path ``u``."""
    dt = game.dt
    d = game.n_states

    def step(mu_n, xs):
        u_n, p_n = xs
        rates = game.control(u_n, mu_n, p_n).rates * (1.0 - jnp.eye(d, dtype=mu_n.dtype))
        mu_next = _forward_step(game.scheme, mu_n, rates, dt)
        return mu_next, (mu_next, rates)

    head = {k: v[:-1] for k, v in params.items()}
    _, (mu_tail, rates) = jax.lax.scan(step, mu0, (u[:-1], head))
    return ForwardSweep(jnp.concatenate([mu0[None], mu_tail], axis=0), rates)


def best_response_map(game: Game, mu: Array, params: Params, mu0: Array) -> Array:
    """The map ``G(mu) = Kolmogorov(HJB(mu))`` whose fixed point is the equilibrium.

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
    """
    return kolmogorov(game, hjb(game, mu, params), params, mu0).mu


def max_jump_probability(game: Game, rates: Array) -> Array:
    """``dt * max_{n, x} sum_y a_n[x, y]``: explicit Euler stays on the simplex only if <= 1."""
    return game.dt * jnp.max(jnp.sum(rates, axis=-1))
