"""Crowd motion towards a moving attractor on a ``rows x cols`` grid (MFGLib's ``crowd_motion``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import bounded
from bayes_mfg.games.base import Array, ParameterSpec, Params
from bayes_mfg.games.discrete import DiscreteTimeGame, log_crowd

__all__ = ["CrowdMotion"]


_GRID_MOVES = ((1, 0), (-1, 0), (0, 1), (0, -1), (0, 0))



@dataclass(frozen=True, kw_only=True)
class CrowdMotion(DiscreteTimeGame):
    """Crowd motion towards a moving attractor on a ``rows x cols`` grid (MFGLib's ``crowd_motion``).

    Actions move (+1, 0), (-1, 0), (0, +1), (0, -1) or stay; then a noise step of the same five
    displacements with probabilities ``(q, q, q, q, p_still)``, ``q = (1 - p_still)/4``; the
    position is clamped to the grid (MFGLib's grid is clamped too, despite its "torus" names).
    The reward, for state ``s = (i, j)`` and the attractor ``b_t`` (a parameter path of shape
    ``(2,)``, default the centre ``(rows // 2, cols // 2)``)::

        r_t(s, a, mu) = attraction * (1 - (|i - b_t0| + |j - b_t1|) / (rows + cols)) - crowd_aversion * log(mu(s) + eps)

    States are numbered ``i * cols + j``. The dynamics are neighbour-structured: each state has
    13 destinations (two steps at most), so a step costs O(d) and no d x d kernel is built.
    MFGLib draws its attractor path from torch's random generator; pass that path as
    ``bar_location`` (``(N, 2)``) to reproduce its instance.

    Parameters
    ----------
    rows, cols
        Grid size (``d = rows * cols`` states).
    n_times
        Time points ``N = T + 1``.
    temperature
        Entropy regularisation ``tau > 0``.
    p_still
        Probability that the noise step is 0.
    log_eps
        ``eps`` inside ``log(mu + eps)``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.CrowdMotion(rows=5, cols=5, n_times=4)
    >>> eq = bm.equilibrium(game, {}, [1 / 25] * 25)
    >>> bool(eq.converged), game.neighbours.shape
    (True, (25, 13))
    """

    rows: int = bounded(20, lower=1, lower_closed=True, integer=True)
    cols: int = bounded(20, lower=1, lower_closed=True, integer=True)
    n_times: int = 4
    temperature: float = bounded(0.1, lower=0.0)
    p_still: float = bounded(0.5, lower=0.0, upper=1.0, lower_closed=True, upper_closed=True)
    log_eps: float = bounded(1e-10, lower=0.0)

    def __post_init__(self) -> None:
        self._validate_grid()

    @property
    def n_states(self) -> int:  # type: ignore[override]
        return self.rows * self.cols

    n_actions: ClassVar[int] = 5  # type: ignore[misc]

    @property
    def _offsets(self) -> list[tuple[int, int]]:
        return sorted({(a[0] + e[0], a[1] + e[1]) for a in _GRID_MOVES for e in _GRID_MOVES})

    @property
    def neighbours(self) -> np.ndarray:
        i, j = np.divmod(np.arange(self.n_states), self.cols)
        cols = [np.clip(i + di, 0, self.rows - 1) * self.cols + np.clip(j + dj, 0, self.cols - 1) for di, dj in self._offsets]
        return np.stack(cols, axis=1)

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        centre = np.array([self.rows // 2, self.cols // 2], dtype=float)
        return {
            "attraction": ParameterSpec((), 10.0, None, "reward scale of closeness to the attractor"),
            "crowd_aversion": ParameterSpec((), 1.0, None, "weight of -log(mu(s) + eps)"),
            "bar_location": ParameterSpec((2,), centre, None, "(row, col) of the attractor", dims=("axis",)),
        }

    def transition(self, mu: Array, p: Params) -> Array:
        q = (1.0 - self.p_still) / 4.0
        noise = (q, q, q, q, self.p_still)
        index = {o: k for k, o in enumerate(self._offsets)}
        kernel = np.zeros((5, len(index)))
        for a, (ai, aj) in enumerate(_GRID_MOVES):
            for (ei, ej), w in zip(_GRID_MOVES, noise):
                kernel[a, index[(ai + ei, aj + ej)]] += w
        return jnp.broadcast_to(jnp.asarray(kernel, mu.dtype), (self.n_states, *kernel.shape))

    def reward(self, mu: Array, p: Params) -> Array:
        i, j = np.divmod(np.arange(self.n_states), self.cols)
        b = p["bar_location"]
        dist = jnp.abs(i - b[0]) + jnp.abs(j - b[1])
        r = p["attraction"] * (1.0 - dist / (self.rows + self.cols)) - p["crowd_aversion"] * log_crowd(mu, self.log_eps)
        return jnp.broadcast_to(r[:, None], (self.n_states, 5))
