"""The one simulation loop of finite populations (the epsilon-Nash check)."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

Array = jax.Array

__all__ = ["agent_flow"]


def agent_flow(move: Callable[[Array, Array, Any, Array], Array], mu0: Array, n_agents: int, key: Array,
               xs: Any) -> Array:
    """``(N, d)`` empirical flow of ``n_agents`` agents whose states start as draws from ``mu0``.

    ``move(states, shares, x_n, key) -> next_states`` moves every agent one step, given the
    population's empirical shares and the step's inputs ``x_n`` (leading axis ``N - 1``).
    """
    d = mu0.shape[0]
    key, first = jax.random.split(key)
    states = jax.random.categorical(first, jnp.log(mu0), shape=(n_agents,))

    def shares(x):
        return jnp.zeros(d, mu0.dtype).at[x].add(1.0 / n_agents)

    def step(carry, x_n):
        x, k = carry
        k, sub = jax.random.split(k)
        m = shares(x)
        return (move(x, m, x_n, sub), k), m

    (last, _), flow = jax.lax.scan(step, (states, key), xs)
    return jnp.concatenate([flow, shares(last)[None]], axis=0)
