"""The linear-quadratic reference game (the seed paper's LQ system, DESIGN section 6)."""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from bayes_mfg.games.base import Array, Control, Game, ParameterSpec, Params


@dataclass(frozen=True, kw_only=True)
class LinearQuadratic(Game):
    """Linear-quadratic MFG on ``d`` states with all-to-all controlled jumps.

    Running and terminal cost, for states x, y = 0..d-1::

        f(x, a, mu) = gamma * sum_{y != x} (a[x, y] - base_rate)^2 + congestion * mu(x)
        g(x, mu_T)  = terminal_scale * (d - 1 - x) + terminal_congestion * mu_T(x)

    Best response (closed form)::

        a*[x, y] = clip(base_rate - (u(y) - u(x)) / (2 gamma), 0, max_rate)

    Reference settings: T = 2, N = 100, base_rate = 2, congestion = 0.1,
    terminal_scale = 5, terminal_congestion = 1, max_rate = 100, gamma in [0.1, 3]
    (constant truth 1.55).

    Parameters
    ----------
    n_states
        Number of states ``d >= 2``.
    horizon, n_steps
        Time horizon T and number of grid points N.
    scheme
        ``"implicit"`` (default) or ``"exponential"`` (both stable for any dt), or ``"euler"``
        (the seed paper's; stable only while dt * max out-rate <= 1).
    max_rate
        Upper clip of the rates (a fixed modelling choice, not a parameter).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
    >>> eq = bm.equilibrium(game, game.params(gamma=1.55), [0.5, 0.3, 0.2])
    >>> bool(eq.converged), eq.mu.shape
    (True, (20, 3))
    """

    n_states: int
    horizon: float = 2.0
    n_steps: int = 100
    scheme: str = "implicit"
    max_rate: float = 100.0

    def __post_init__(self) -> None:
        self._validate_grid()

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        return {
            "gamma": ParameterSpec((), 1.55, 0.0, "control-cost weight"),
            "base_rate": ParameterSpec((), 2.0, None, "preferred jump rate"),
            "congestion": ParameterSpec((), 0.1, None, "running congestion cost weight"),
            "terminal_scale": ParameterSpec((), 5.0, None, "terminal cost slope over states"),
            "terminal_congestion": ParameterSpec((), 1.0, None, "terminal congestion cost weight"),
        }

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        off = 1.0 - jnp.eye(self.n_states, dtype=u.dtype)
        du = u[None, :] - u[:, None]
        rates = jnp.clip(p["base_rate"] - du / (2.0 * p["gamma"]), 0.0, self.max_rate) * off
        cost = p["gamma"] * jnp.sum(off * (rates - p["base_rate"]) ** 2, axis=1) + p["congestion"] * mu
        return Control(rates, cost)

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        slope = jnp.arange(self.n_states - 1, -1, -1, dtype=mu.dtype)
        return p["terminal_scale"] * slope + p["terminal_congestion"] * mu
