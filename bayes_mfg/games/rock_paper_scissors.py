"""Rock-paper-scissors as a population game (MFGLib's ``rock_paper_scissors``), ``T = 1``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import bounded
from bayes_mfg.games.base import Array, ParameterSpec, Params
from bayes_mfg.games.discrete import DiscreteTimeGame

__all__ = ["RockPaperScissors"]


@dataclass(frozen=True, kw_only=True)
class RockPaperScissors(DiscreteTimeGame):
    """Rock-paper-scissors as a population game (MFGLib's ``rock_paper_scissors``), ``T = 1``.

    States 0 (start), 1 rock, 2 paper, 3 scissors; action k leads to state 1 + k. The reward of
    holding sign i is ``sum_j payoff[i, j] mu(j)`` over the three signs, with MFGLib's default
    ``payoff = [[0, -1, 2], [4, 0, -2], [-3, 6, 0]]`` (rock: 2 mu(scissors) - mu(paper), ...).

    Parameters
    ----------
    n_states
        4 (fixed by the game).
    n_times
        2 by default (MFGLib's ``T = 1``: one decision); more time points repeat the game.
    temperature
        Entropy regularisation ``tau > 0``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.RockPaperScissors(temperature=0.5)
    >>> bool(bm.equilibrium(game, {}, [1.0, 0.0, 0.0, 0.0]).converged)
    True
    """

    n_states: int = 4
    n_times: int = 2
    temperature: float = bounded(0.1, lower=0.0)

    fixed_states: ClassVar[int] = 4
    state_names_default: ClassVar[tuple[str, ...]] = ("start", "rock", "paper", "scissors")
    action_names_default: ClassVar[tuple[str, ...]] = ("rock", "paper", "scissors")

    n_actions: ClassVar[int] = 3  # type: ignore[misc]

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        default = np.array([[0.0, -1.0, 2.0], [4.0, 0.0, -2.0], [-3.0, 6.0, 0.0]])
        return {"payoff": ParameterSpec((3, 3), default, None, "payoff[i, j] of sign i against sign j",
                                                dims=("sign", "opponent_sign"))}

    def transition(self, mu: Array, p: Params) -> Array:
        kernel = np.zeros((4, 3, 4))
        for k in range(3):
            kernel[:, k, 1 + k] = 1.0
        return jnp.asarray(kernel, mu.dtype)

    def reward(self, mu: Array, p: Params) -> Array:
        r = jnp.concatenate([jnp.zeros_like(mu[:1]), p["payoff"] @ mu[1:]])
        return jnp.broadcast_to(r[:, None], (4, 3))
