"""Susceptible-infected with voluntary distancing (MFGLib's ``susceptible_infected``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp

from bayes_mfg._validation import bounded
from bayes_mfg.games.base import Array, ParameterSpec, Params
from bayes_mfg.games.discrete import DiscreteTimeGame

__all__ = ["SusceptibleInfected"]


@dataclass(frozen=True, kw_only=True)
class SusceptibleInfected(DiscreteTimeGame):
    """Susceptible-infected with voluntary distancing (MFGLib's ``susceptible_infected``).

    States S (0) and I (1); actions 0 (go out) and 1 (keep distance). A susceptible agent who
    goes out is infected with probability ``infection_rate * mu(I)`` (clipped to [0, 1]); one
    who keeps distance stays susceptible; an infected agent recovers with probability
    ``recovery``. Reward ``-infected_cost * [x = I] - distancing_cost * [a = distance]``.
    Defaults (MFGLib's): ``infection_rate = 0.81``, ``recovery = 0.3``,
    ``distancing_cost = 0.5``, ``infected_cost = 1``, ``T = 50``.

    Parameters
    ----------
    n_states
        2 (fixed by the game).
    n_times
        Time points ``N = T + 1``.
    temperature
        Entropy regularisation ``tau > 0``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.SusceptibleInfected(n_times=11, temperature=0.1)
    >>> eq = bm.equilibrium(game, {}, [0.4, 0.6])
    >>> bool(eq.converged), eq.policy.shape
    (True, (11, 2, 2))
    """

    n_states: int = 2
    n_times: int = 51
    temperature: float = bounded(0.1, lower=0.0)

    fixed_states: ClassVar[int] = 2
    state_names_default: ClassVar[tuple[str, ...]] = ("S", "I")
    action_names_default: ClassVar[tuple[str, ...]] = ("out", "distance")

    n_actions: ClassVar[int] = 2  # type: ignore[misc]

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        return {
            "infection_rate": ParameterSpec((), 0.81, 0.0, "infection probability per unit of mu(I) when going out"),
            "recovery": ParameterSpec((), 0.3, 0.0, "recovery probability per step", 1.0, lower_closed=True,
                                      upper_closed=True),
            "distancing_cost": ParameterSpec((), 0.5, None, "cost of keeping distance"),
            "infected_cost": ParameterSpec((), 1.0, None, "cost of being infected"),
        }

    def transition(self, mu: Array, p: Params) -> Array:
        infect = jnp.clip(p["infection_rate"] * mu[1], 0.0, 1.0)
        heal = jnp.clip(p["recovery"], 0.0, 1.0)
        s_out = jnp.stack([1.0 - infect, infect])
        s_dist = jnp.stack([jnp.ones_like(infect), jnp.zeros_like(infect)])
        i_any = jnp.stack([heal, 1.0 - heal])
        return jnp.stack([jnp.stack([s_out, s_dist]), jnp.stack([i_any, i_any])])

    def reward(self, mu: Array, p: Params) -> Array:
        z = jnp.zeros_like(mu[0])
        return jnp.stack([
            jnp.stack([z, -p["distancing_cost"] + z]),
            jnp.stack([-p["infected_cost"] + z, -p["infected_cost"] - p["distancing_cost"]]),
        ])
