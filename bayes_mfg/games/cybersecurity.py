"""The cybersecurity game of [Carmona & Delarue 2018] (docs/references.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp

from bayes_mfg._validation import bounded
from bayes_mfg.games.base import Array, FiniteActionGame, ParameterSpec, Params
from bayes_mfg.stepping import DEFAULT_SCHEME, Scheme

DI, DS, UI, US = 0, 1, 2, 3

#: Truth of the seed paper's calibration experiment, in the order of ``RATE_PARAMETERS``.
REFERENCE_TRUTH = (0.5, 0.4, 0.4, 0.3, 0.4, 0.3, 0.3, 0.4)
RATE_PARAMETERS = ("q_rec_D", "q_rec_U", "q_inf_D", "q_inf_U", "beta_DD", "beta_DU", "beta_UU", "beta_UD")


@dataclass(frozen=True, kw_only=True)
class Cybersecurity(FiniteActionGame):
    """Four-state cybersecurity MFG: computers Defended/Undefended x Infected/Susceptible.

    States ``DI, DS, UI, US`` (0..3). Each computer chooses alpha in {0, 1}: with alpha = 1
    it switches between defended and undefended at rate ``switch_rate * alpha``.
    Infection and recovery rates::

        DI -> DS: q_rec_D           DS -> DI: v_H q_inf_D + beta_DD mu(DI) + beta_UD mu(UI)
        UI -> US: q_rec_U           US -> UI: v_H q_inf_U + beta_UU mu(UI) + beta_DU mu(DI)

    Running cost ``k_D 1{defended} + k_I 1{infected}`` (independent of alpha), terminal
    cost 0. Reference settings: T = 10, N = 100, v_H = 0.6, switch_rate = 0.8,
    k_D = 0.3, k_I = 0.5, rate parameters ``REFERENCE_TRUTH``; Picard damping 0.5.

    Parameters
    ----------
    temperature
        0 (default) for the exact argmin over alpha; > 0 for the soft-min (smooth map).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.Cybersecurity(n_times=40)
    >>> eq = bm.equilibrium(game, game.params(), [0.25, 0.25, 0.25, 0.25])
    >>> game.state_names, bool(eq.converged)
    (('DI', 'DS', 'UI', 'US'), True)
    """

    n_states: ClassVar[int] = 4
    horizon: float = 10.0
    n_times: int = 100
    scheme: Scheme | str = DEFAULT_SCHEME
    temperature: float = bounded(0.0, lower=0.0, lower_closed=True)

    state_names_default: ClassVar[tuple[str, ...]] = ("DI", "DS", "UI", "US")

    def __post_init__(self) -> None:
        self._validate_grid()

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        specs = {
            name: ParameterSpec((), truth, 0.0, doc)
            for name, truth, doc in zip(
                RATE_PARAMETERS,
                REFERENCE_TRUTH,
                (
                    "recovery rate when defended",
                    "recovery rate when undefended",
                    "hacker infection factor when defended",
                    "hacker infection factor when undefended",
                    "contagion defended -> defended",
                    "contagion defended -> undefended",
                    "contagion undefended -> undefended",
                    "contagion undefended -> defended",
                ),
            )
        }
        specs["v_H"] = ParameterSpec((), 0.6, 0.0, "hacker attack intensity")
        specs["switch_rate"] = ParameterSpec((), 0.8, 0.0, "speed of switching defence on/off")
        specs["k_D"] = ParameterSpec((), 0.3, None, "cost of being defended")
        specs["k_I"] = ParameterSpec((), 0.5, None, "cost of being infected")
        return specs

    def action_rates(self, mu: Array, p: Params) -> Array:
        base = jnp.zeros((4, 4), dtype=mu.dtype)
        base = base.at[DI, DS].set(p["q_rec_D"])
        base = base.at[DS, DI].set(p["v_H"] * p["q_inf_D"] + p["beta_DD"] * mu[DI] + p["beta_UD"] * mu[UI])
        base = base.at[UI, US].set(p["q_rec_U"])
        base = base.at[US, UI].set(p["v_H"] * p["q_inf_U"] + p["beta_UU"] * mu[UI] + p["beta_DU"] * mu[DI])
        switch = jnp.zeros((4, 4), dtype=mu.dtype)
        switch = switch.at[DI, UI].set(1.0).at[UI, DI].set(1.0).at[DS, US].set(1.0).at[US, DS].set(1.0)
        alphas = jnp.array([0.0, 1.0], dtype=mu.dtype)
        return base[None] + alphas[:, None, None] * p["switch_rate"] * switch[None]

    def action_cost(self, mu: Array, p: Params) -> Array:
        defended = jnp.array([1.0, 1.0, 0.0, 0.0], dtype=mu.dtype)
        infected = jnp.array([1.0, 0.0, 1.0, 0.0], dtype=mu.dtype)
        cost = p["k_D"] * defended + p["k_I"] * infected
        return jnp.broadcast_to(cost, (2, 4))

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return jnp.zeros_like(mu)
