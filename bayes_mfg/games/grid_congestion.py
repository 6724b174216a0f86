"""A crowd-averse game on a 1-D or 2-D grid: a potential, local and non-local congestion, a goal."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import bounded
from bayes_mfg.games.base import Array, ParameterSpec, Params
from bayes_mfg.games.grid import GridGame

__all__ = ["GridCongestion"]


@dataclass(frozen=True, kw_only=True)
class GridCongestion(GridGame):
    """Agents heading for a goal, averse to crowds nearby and where they stand.

    With ``|x - goal|`` the distance to the goal (the shortest way round on periodic axes),
    ``rho = mu / cell_volume`` the density and ``K_l`` a Gaussian kernel of width
    ``kernel_width`` (``K_l(x, y) = exp(-|x - y|^2 / (2 l^2))``)::

        F(x, mu) = attraction / 2 |x - goal|^2 + congestion log rho(x)
                   + crowding sum_y K_l(x, y) mu(y)
        g(x, mu_T) = terminal_weight / 2 |x - goal|^2

    ``log rho`` is the local congestion of the Lasry-Lions crowd models; the kernel term is
    non-local (it sees the crowd within ``~ kernel_width``). The kernel is applied axis by
    axis (it is a product of 1-D kernels), so no ``d x d`` matrix is formed.

    Parameters
    ----------
    grid
        A 1-D or 2-D :class:`~bayes_mfg.games.Grid`.
    sigma, horizon, n_times, scheme
        As in :class:`~bayes_mfg.games.GridGame`.
    goal
        Coordinates of the goal (default: the centre of the grid).
    kernel_width
        ``l > 0`` of the non-local term.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.GridCongestion(grid=bm.games.Grid.torus((8, 8)), sigma=0.2, n_times=11)
    >>> eq = bm.equilibrium(game, {"congestion": 0.05}, [1 / 64] * 64)
    >>> bool(eq.converged), eq.rates.shape
    (True, (10, 64, 4))
    """

    goal: tuple[float, ...] | None = None
    kernel_width: float = bounded(0.1, lower=0.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.goal is not None:
            if not isinstance(self.goal, tuple) or len(self.goal) != self.grid.n_dim:
                raise ValueError(f"goal must be a tuple of {self.grid.n_dim} coordinates, got {self.goal!r}")
            for k, (c, lo, hi) in enumerate(zip(self.goal, self.grid.lower, self.grid.upper)):
                if not lo <= float(c) <= hi:
                    raise ValueError(f"goal[{k}] = {c} is outside the grid's axis [{lo}, {hi}]")

    def cost_specs(self) -> dict[str, ParameterSpec]:
        return {
            "attraction": ParameterSpec((), 1.0, None, "weight of |x - goal|^2 / 2 in the running cost"),
            "congestion": ParameterSpec((), 0.1, 0.0, "weight of the local congestion log(density)", lower_closed=True),
            "crowding": ParameterSpec((), 0.0, 0.0, "weight of the non-local kernel congestion", lower_closed=True),
            "terminal_weight": ParameterSpec((), 1.0, None, "weight of |x - goal|^2 / 2 at the horizon"),
        }

    def _axis_offsets(self, k: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``a - b`` along axis k (wrapped to the shortest way round on a periodic axis)."""
        diff = a - b
        if self.grid.periodic[k]:
            length = self.grid.upper[k] - self.grid.lower[k]
            diff = (diff + length / 2) % length - length / 2
        return diff

    @functools.cached_property
    def goal_distance2(self) -> np.ndarray:
        """``(d,)`` squared distance of every state to the goal."""
        goal = self.goal or tuple((lo + hi) / 2 for lo, hi in zip(self.grid.lower, self.grid.upper))
        pts = self.grid.points
        return sum(self._axis_offsets(k, pts[:, k], np.float64(goal[k])) ** 2 for k in range(self.grid.n_dim))

    @functools.cached_property
    def axis_kernels(self) -> tuple[np.ndarray, ...]:
        """The 1-D kernel matrix of each axis (``n_k x n_k``)."""
        out = []
        for k, (n, lo, h) in enumerate(zip(self.grid.shape, self.grid.lower, self.grid.spacing)):
            x = lo + h * np.arange(n)
            out.append(np.exp(-self._axis_offsets(k, x[:, None], x[None, :]) ** 2 / (2 * self.kernel_width**2)))
        return tuple(out)

    def kernel_congestion(self, mu: Array) -> Array:
        """``(d,)``: ``sum_y K_l(x, y) mu(y)``, one axis at a time."""
        field = mu.reshape(self.grid.shape)
        for k, kern in enumerate(self.axis_kernels):
            field = jnp.moveaxis(jnp.tensordot(jnp.asarray(kern, dtype=mu.dtype), field, axes=([1], [k])), 0, k)
        return field.reshape(-1)

    def running_cost(self, mu: Array, p: Params) -> Array:
        d2 = jnp.asarray(self.goal_distance2, dtype=mu.dtype)
        return (0.5 * p["attraction"] * d2 + p["congestion"] * self.log_density(mu)
                + p["crowding"] * self.kernel_congestion(mu))

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return 0.5 * p["terminal_weight"] * jnp.asarray(self.goal_distance2, dtype=mu.dtype)
