"""Left or right (MFGLib's ``left_right``): a one-shot congestion game, ``T = 1``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import bounded
from bayes_mfg.games.base import Array, ParameterSpec, Params
from bayes_mfg.games.discrete import DiscreteTimeGame

__all__ = ["LeftRight"]


@dataclass(frozen=True, kw_only=True)
class LeftRight(DiscreteTimeGame):
    """Left or right (MFGLib's ``left_right``): a one-shot congestion game, ``T = 1``.

    States 0 (start), 1 (left), 2 (right); action 0 leads to left, 1 to right, from any state.
    The reward depends on the state only: ``r(left) = -left_cost * mu(left)``,
    ``r(right) = -right_cost * mu(right)``, ``r(start) = 0``. Defaults 1 and 2 (MFGLib's); the
    unregularised equilibrium from ``mu0 = (1, 0, 0)`` sends 2/3 left and 1/3 right.

    Parameters
    ----------
    n_states
        3 (fixed by the game).
    n_times
        2 by default (MFGLib's ``T = 1``: one decision); more time points repeat the game.
    temperature
        Entropy regularisation ``tau > 0``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LeftRight(temperature=1e-3)
    >>> eq = bm.equilibrium(game, {}, [1.0, 0.0, 0.0])
    >>> [round(abs(float(m)), 2) for m in eq.mu[1]]
    [0.0, 0.67, 0.33]
    """

    n_states: int = 3
    n_times: int = 2
    temperature: float = bounded(0.1, lower=0.0)

    fixed_states: ClassVar[int] = 3
    state_names_default: ClassVar[tuple[str, ...]] = ("start", "left", "right")
    action_names_default: ClassVar[tuple[str, ...]] = ("left", "right")

    n_actions: ClassVar[int] = 2  # type: ignore[misc]

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        return {
            "left_cost": ParameterSpec((), 1.0, None, "congestion cost on the left"),
            "right_cost": ParameterSpec((), 2.0, None, "congestion cost on the right"),
        }

    def transition(self, mu: Array, p: Params) -> Array:
        kernel = np.zeros((3, 2, 3))
        kernel[:, 0, 1] = kernel[:, 1, 2] = 1.0
        return jnp.asarray(kernel, mu.dtype)

    def reward(self, mu: Array, p: Params) -> Array:
        r = jnp.stack([jnp.zeros_like(mu[0]), -p["left_cost"] * mu[1], -p["right_cost"] * mu[2]])
        return jnp.broadcast_to(r[:, None], (3, 2))
