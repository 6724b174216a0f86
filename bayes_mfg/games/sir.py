"""SIR epidemic game with social-distancing effort ([Thöni et al. 2026], docs/references.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp

from bayes_mfg.games.base import Array, Control, Game, ParameterSpec, Params
from bayes_mfg.stepping import DEFAULT_SCHEME, Scheme

S, I, R = 0, 1, 2


@dataclass(frozen=True, kw_only=True)
class SIR(Game):
    """Susceptible-Infected-Recovered game where susceptibles choose their contact level.

    A susceptible agent chooses alpha in [0, 1] (1 = no distancing). Rates and costs::

        S -> I: beta * alpha * mu(I)        I -> R: gamma        S -> R: v / mu(S)
        f(S) = (c_alpha / 2) (1 - alpha)^2,  f(I) = c_infected,  f(R) = 0,  g = 0

    Best response (closed form, minimising the Hamiltonian over [0, 1])::

        alpha* = clip(1 - beta mu(I) (u(I) - u(S)) / c_alpha, 0, 1)

    Reference settings: T = 40, N = 100, c_alpha = 1, c_infected = 0.1,
    beta in [0.2, 0.6], gamma in [0.05, 0.2]. With ``c_infected = 0`` nobody distances
    (``alpha* = 1``): the classical SIR.

    ``vaccination`` ``v(t)`` (default 0) is a known exogenous flow: the share of the whole
    population moved from S to R (immune) per unit time, e.g. daily first doses over the
    population. It enters as the rate ``v / mu(S)``, so the flow is ``v`` while there are
    susceptibles (exactly ``v`` per step for explicit Euler, ``v mu_{n+1}(S) / mu_n(S)`` for
    implicit Euler); susceptibles anticipate it in their value. Read it with
    ``Transitions([(0, 2)])``; new infections are ``Transitions([(0, 1)])``.

    Parameters
    ----------
    horizon, n_times, scheme
        Time grid and time-stepping scheme (see :class:`Game`).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.SIR(horizon=14.0, n_times=141)
    >>> eq = bm.equilibrium(game, game.params(beta=1.9, gamma=0.5, c_infected=0.0), [0.99, 0.01, 0.0])
    >>> round(float(eq.mu[:, 1].max()), 2)  # the classical SIR's peak, 1 - (1 + log(R0 S0)) / R0 = 0.388
    0.39
    """

    n_states: ClassVar[int] = 3
    horizon: float = 40.0
    n_times: int = 100
    scheme: Scheme | str = DEFAULT_SCHEME

    state_names_default: ClassVar[tuple[str, ...]] = ("S", "I", "R")

    def __post_init__(self) -> None:
        self._validate_grid()

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        return {
            "beta": ParameterSpec((), 0.4, 0.0, "infection rate per contact"),
            "gamma": ParameterSpec((), 0.1, 0.0, "recovery rate"),
            "c_alpha": ParameterSpec((), 1.0, 0.0, "cost weight of distancing effort"),
            "c_infected": ParameterSpec((), 0.1, None, "running cost of being infected"),
            "vaccination": ParameterSpec((), 0.0, 0.0, "exogenous flow S -> R per unit time, as a share of the "
                                         "whole population (vaccination; >= 0)", lower_closed=True),
        }

    def effort(self, u: Array, mu: Array, p: Params) -> Array:
        """Contact level alpha* of susceptibles (scalar in [0, 1])."""
        return jnp.clip(1.0 - p["beta"] * mu[I] * (u[I] - u[S]) / p["c_alpha"], 0.0, 1.0)

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        alpha = self.effort(u, mu, p)
        zero = jnp.zeros((), dtype=u.dtype)
        rates = jnp.zeros((3, 3), dtype=u.dtype)
        # the exogenous flow v (a share of the population per unit time) leaves S at rate v / mu(S)
        vaccinated = jnp.maximum(p["vaccination"], 0.0) / jnp.maximum(mu[S], 1e-9)
        rates = rates.at[S, I].set(p["beta"] * alpha * mu[I]).at[I, R].set(p["gamma"]).at[S, R].set(vaccinated)
        cost = jnp.stack([0.5 * p["c_alpha"] * (1.0 - alpha) ** 2, p["c_infected"] + zero, zero])
        return Control(rates, cost)

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return jnp.zeros_like(mu)
