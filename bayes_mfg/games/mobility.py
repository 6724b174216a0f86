"""Mobility network game: zones (or stations) with base rates, effort and destination congestion."""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from bayes_mfg.games.base import Array, Control, Game, ParameterSpec, Params


@dataclass(frozen=True, kw_only=True)
class MobilityNetwork(Game):
    """Agents move between ``d`` zones; deviating from habitual rates costs effort and
    crowded destinations cost congestion (DESIGN section 6)::

        f(x, a, mu) = b * sum_{y != x} (a[x, y] - q[x, y])^2 + c * sum_{y != x} mu(y) a[x, y]
        g = 0
        a*[x, y]    = max(0, q[x, y] - (c mu(y) + u(y) - u(x)) / (2 b))

    Parameters ``q`` (``(d, d)`` base rates, diagonal ignored), ``b > 0`` (effort weight)
    and ``c >= 0`` (congestion weight); all may vary in time. With ``c = 0`` the value
    stays identically 0 and ``a* = q``: the no-game baseline (forward Kolmogorov with
    rates ``q``).
    """

    n_states: int
    horizon: float = 1.0
    n_steps: int = 50
    scheme: str = "implicit"

    def __post_init__(self) -> None:
        self._validate_grid()

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        d = self.n_states
        return {
            "q": ParameterSpec((d, d), 0.5, None, "base (habitual) jump rates"),
            "b": ParameterSpec((), 1.0, 0.0, "effort cost weight"),
            "c": ParameterSpec((), 0.5, None, "destination congestion weight"),
        }

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        off = 1.0 - jnp.eye(self.n_states, dtype=u.dtype)
        du = u[None, :] - u[:, None]
        q = p["q"] * off
        rates = jnp.maximum(0.0, q - (p["c"] * mu[None, :] + du) / (2.0 * p["b"])) * off
        cost = p["b"] * jnp.sum(off * (rates - q) ** 2, axis=1) + p["c"] * (rates @ mu)
        return Control(rates, cost)

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return jnp.zeros_like(mu)
