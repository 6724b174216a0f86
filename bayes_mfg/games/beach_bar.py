"""The beach bar process (Perrin et al. 2020; MFGLib's ``beach_bar``), entropy-regularised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import bounded
from bayes_mfg.games.base import Array, ParameterSpec, Params
from bayes_mfg.games.discrete import DiscreteTimeGame, log_crowd

__all__ = ["BeachBar"]


@dataclass(frozen=True, kw_only=True)
class BeachBar(DiscreteTimeGame):
    """The beach bar process (Perrin et al. 2020; MFGLib's ``beach_bar``), entropy-regularised.

    States ``x = 0..d-1`` along a beach with a bar at ``bar_location``. Actions ``a = 0, 1, 2``
    move -1, 0, +1; then a noise step -1, 0, +1 with probabilities
    ``((1 - p_still)/2, p_still, (1 - p_still)/2)``; positions are clamped to ``[0, d-1]``.
    Reward::

        r(x, a, mu) = -distance_weight * dist(x, bar) - move_cost * |a - 1| - crowd_aversion * log(mu(x) + eps)

    with ``dist`` the circular distance ``min((x - bar) mod d, (bar - x) mod d)``. The defaults
    (``distance_weight = 1``, ``move_cost = 1/d``, ``crowd_aversion = 1``, ``eps = 1e-20``,
    ``p_still = 0.5``, ``d = 4``, ``T = 2``) are MFGLib's.

    Parameters
    ----------
    n_states, n_times
        Beach positions ``d`` and time points ``N = T + 1``.
    temperature
        Entropy regularisation ``tau > 0``.
    bar_location
        State of the bar.
    p_still
        Probability that the noise step is 0.
    log_eps
        ``eps`` inside ``log(mu + eps)``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.BeachBar(n_states=5, n_times=4, temperature=0.1)
    >>> eq = bm.equilibrium(game, {}, [0.2] * 5)
    >>> bool(eq.converged), eq.policy.shape
    (True, (4, 5, 3))
    """

    n_states: int = 4
    n_times: int = 3
    temperature: float = bounded(0.1, lower=0.0)
    bar_location: int = bounded(2, lower=0, lower_closed=True, integer=True)
    p_still: float = bounded(0.5, lower=0.0, upper=1.0, lower_closed=True, upper_closed=True)
    log_eps: float = bounded(1e-20, lower=0.0)

    action_names_default: ClassVar[tuple[str, ...]] = ("left", "stay", "right")

    def __post_init__(self) -> None:
        self._validate_grid()
        if not 0 <= self.bar_location < self.n_states:
            raise ValueError(f"bar_location must be in [0, {self.n_states - 1}], got {self.bar_location}")

    n_actions: ClassVar[int] = 3  # type: ignore[misc]

    @property
    def neighbours(self) -> np.ndarray:
        x = np.arange(self.n_states)
        return np.stack([np.clip(x + k, 0, self.n_states - 1) for k in range(-2, 3)], axis=1)

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        return {
            "distance_weight": ParameterSpec((), 1.0, None, "weight of the distance to the bar"),
            "move_cost": ParameterSpec((), 1.0 / self.n_states, None, "cost of moving one step"),
            "crowd_aversion": ParameterSpec((), 1.0, None, "weight of -log(mu(x) + eps)"),
        }

    def transition(self, mu: Array, p: Params) -> Array:
        q = (1.0 - self.p_still) / 2.0
        noise = np.array([q, self.p_still, q])
        kernel = np.zeros((self.n_actions, 5))  # offsets -2..2 (clamped by ``neighbours``)
        for a in range(3):
            kernel[a, a : a + 3] = noise
        return jnp.broadcast_to(jnp.asarray(kernel, mu.dtype), (self.n_states, 3, 5))

    def reward(self, mu: Array, p: Params) -> Array:
        x = np.arange(self.n_states)
        dist = np.minimum((x - self.bar_location) % self.n_states, (self.bar_location - x) % self.n_states)
        move = np.abs(np.arange(3) - 1.0)
        state = -p["distance_weight"] * dist - p["crowd_aversion"] * log_crowd(mu, self.log_eps)
        return state[:, None] - p["move_cost"] * move[None, :]
