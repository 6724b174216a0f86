"""The linear-quadratic reference game (the LQ system of [Thöni et al. 2026], docs/references.md)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import bounded, check_declared_fields, check_positive_int
from bayes_mfg.games.base import Array, Control, Game, ParameterSpec, Params
from bayes_mfg.stepping import DEFAULT_SCHEME, Scheme


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
    horizon, n_times
        Time horizon T and number of grid points N.
    scheme
        ``"patankar"`` (default, second order), ``"midpoint"`` (second order), ``"implicit"`` or
        ``"exponential"`` (first order; all four stable for any dt), or ``"euler"`` (the seed
        paper's; stable only while dt * max out-rate <= 1).
    max_rate
        Upper clip of the rates (a fixed modelling choice, not a parameter).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> eq = bm.equilibrium(game, game.params(gamma=1.55), [0.5, 0.3, 0.2])
    >>> bool(eq.converged), eq.mu.shape
    (True, (20, 3))
    """

    n_states: int
    horizon: float = 2.0
    n_times: int = 100
    scheme: Scheme | str = DEFAULT_SCHEME
    max_rate: float = bounded(100.0, lower=0.0)

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

    def policy_control(self, u: Array, mu_policy: Array, mu_env: Array, p: Params) -> Control:
        """The chosen rates depend on ``u`` alone: ``control(u, mu_env, p)``."""
        return self.control(u, mu_env, p)

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        slope = jnp.arange(self.n_states - 1, -1, -1, dtype=mu.dtype)
        return p["terminal_scale"] * slope + p["terminal_congestion"] * mu


def _hop_distances(neighbours: np.ndarray, target: int) -> np.ndarray:
    """Breadth-first hop distance from every state to ``target`` along the moves."""
    d = neighbours.shape[0]
    reverse: list[list[int]] = [[] for _ in range(d)]
    for x in range(d):
        for y in neighbours[x]:
            if y != x:
                reverse[y].append(x)
    dist = np.full(d, -1, dtype=np.int64)
    dist[target] = 0
    frontier = [target]
    while frontier:
        nxt = []
        for y in frontier:
            for x in reverse[y]:
                if dist[x] < 0:
                    dist[x] = dist[y] + 1
                    nxt.append(x)
        frontier = nxt
    return dist


@dataclass(frozen=True, kw_only=True)
class NeighbourLinearQuadratic(Game):
    """The linear-quadratic game on a sparse graph: agents jump only to neighbouring states.

    With ``N(x)`` the states reachable from x in one jump (``moves[x]``) and ``h(x)`` the
    number of hops from x to the ``target`` state::

        f(x, a, mu) = gamma * sum_{y in N(x)} (a[x, y] - base_rate)^2 + congestion * mu(x)
        g(x, mu_T)  = terminal_scale * h(x) + terminal_congestion * mu_T(x)
        a*[x, y]    = clip(base_rate - (u(y) - u(x)) / (2 gamma), 0, max_rate),  y in N(x)

    This is :class:`LinearQuadratic` with the all-to-all moves replaced by the edges of a
    graph (on the complete graph with ``h(x) = d - 1 - x`` it is the same game). Its rates are
    neighbour-structured (``neighbours`` is a ``(d, K)`` table, K the largest out-degree), so
    one equilibrium iteration costs O(N d K): state spaces of 10^3 - 10^4 states are cheap.
    Build one with :meth:`ring` or :meth:`torus`, or pass ``moves`` (one tuple of
    destination states per state).

    Parameters
    ----------
    moves
        ``moves[x]`` = the states x may jump to (no self-loops).
    target
        The state the terminal cost pulls towards (``h(target) = 0``); every state must
        reach it.
    horizon, n_times, scheme, max_rate
        As in :class:`LinearQuadratic`; ``scheme`` is ``"patankar"`` (default), ``"implicit"`` or
        ``"euler"`` (neighbour rates: no exponential schemes).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.NeighbourLinearQuadratic.torus(4, 4, n_times=20)
    >>> game.n_states, game.neighbours.shape
    (16, (16, 4))
    >>> eq = bm.equilibrium(game, {"gamma": 1.55}, [1 / 16] * 16)
    >>> bool(eq.converged), eq.rates.shape
    (True, (19, 16, 4))
    """

    moves: tuple[tuple[int, ...], ...]
    target: int = bounded(0, lower=0, lower_closed=True, integer=True)
    horizon: float = 2.0
    n_times: int = 100
    scheme: Scheme | str = DEFAULT_SCHEME
    max_rate: float = bounded(100.0, lower=0.0)

    def __post_init__(self) -> None:
        check_declared_fields(self)  # target's type first: the checks below compare it with d
        if not isinstance(self.moves, tuple) or not all(isinstance(m, tuple) for m in self.moves):
            raise TypeError("moves must be a tuple of tuples of ints (moves[x] = the states x may jump to)")
        d = len(self.moves)
        if d < 2:
            raise ValueError(f"moves must describe at least 2 states, got {d}")
        for x, m in enumerate(self.moves):
            if len(m) == 0 or any(not isinstance(y, (int, np.integer)) or not 0 <= y < d or y == x for y in m):
                raise ValueError(f"moves[{x}] must be a non-empty tuple of other states in 0..{d - 1}, got {m}")
        if not self.target < d:
            raise ValueError(f"target must be a state in 0..{d - 1}, got {self.target}")
        self._validate_grid()  # (refuses scheme="exponential": it needs dense rates)
        if np.any(self.hops < 0):
            raise ValueError(f"every state must reach target {self.target} along moves; "
                             f"states {np.flatnonzero(self.hops < 0).tolist()[:10]} cannot")

    @property
    def n_states(self) -> int:  # type: ignore[override]
        return len(self.moves)

    @functools.cached_property
    def neighbours(self) -> np.ndarray:  # type: ignore[override]
        k = max(len(m) for m in self.moves)
        return np.array([m + (x,) * (k - len(m)) for x, m in enumerate(self.moves)], dtype=np.int32)

    @functools.cached_property
    def hops(self) -> np.ndarray:
        """Hop distance from each state to ``target`` (``-1`` where unreachable)."""
        return _hop_distances(self.neighbours, self.target)

    @classmethod
    def ring(cls, n_states: int, **kwargs: Any) -> NeighbourLinearQuadratic:
        """A cycle of ``n_states`` states; each moves to its two neighbours."""
        check_positive_int("n_states", n_states, minimum=3)
        return cls(moves=tuple(((x - 1) % n_states, (x + 1) % n_states) for x in range(n_states)), **kwargs)

    @classmethod
    def torus(cls, rows: int, cols: int, **kwargs: Any) -> NeighbourLinearQuadratic:
        """A ``rows x cols`` periodic grid (state ``i * cols + j``); moves to the 4 adjacent cells."""
        check_positive_int("rows", rows, minimum=3)
        check_positive_int("cols", cols, minimum=3)
        moves = tuple(
            tuple(((i + di) % rows) * cols + (j + dj) % cols for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)))
            for i in range(rows)
            for j in range(cols)
        )
        return cls(moves=moves, **kwargs)

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        return LinearQuadratic.parameter_specs(self)  # type: ignore[arg-type]

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        nbr = self.neighbours
        real = jnp.asarray(nbr != np.arange(nbr.shape[0])[:, None], dtype=u.dtype)
        du = u[nbr] - u[:, None]
        rates = jnp.clip(p["base_rate"] - du / (2.0 * p["gamma"]), 0.0, self.max_rate) * real
        cost = p["gamma"] * jnp.sum(real * (rates - p["base_rate"]) ** 2, axis=1) + p["congestion"] * mu
        return Control(rates, cost)

    def policy_control(self, u: Array, mu_policy: Array, mu_env: Array, p: Params) -> Control:
        """The chosen rates depend on ``u`` alone: ``control(u, mu_env, p)``."""
        return self.control(u, mu_env, p)

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return p["terminal_scale"] * jnp.asarray(self.hops, dtype=mu.dtype) + p["terminal_congestion"] * mu
