"""Continuous-state games on grids: the upwind Markov-chain approximation of a controlled diffusion.

An agent at ``X_t`` in an interval, a circle, a box or a torus moves by
``dX = v dt + sigma dW`` and pays ``int (kappa / 2) |v|^2 + F(X_t, mu_t) dt + g(X_T, mu_T)``.
On a grid of spacing ``h_k`` along axis k, the Markov-chain approximation of [Kushner & Dupuis 2001]
replaces the diffusion by jumps to the 2 n_dim grid neighbours,
with rates

    a[x, x +- h_k e_k] = sigma^2 / (2 h_k^2) + v_k^{+-} / h_k,

a diffusion floor plus the upwind part of the drift (``v_k^+`` and ``v_k^-``: the speeds
towards the upper and lower neighbour, each ``>= 0``). The chain's generator acting on a
smooth ``f`` is ``sigma^2/2 Laplacian f + v . grad f + O(h)``: a consistent, monotone
scheme. The control cost is ``(kappa / 2) sum_k (v_k^+)^2 + (v_k^-)^2``, quadratic in the
rates above the floor, and the best response to a value ``u`` is closed form::

    v_k^{+-}(x) = max(0, -(u(x +- h_k e_k) - u(x))) / (kappa h_k).

Walls reflect (the move across them is missing); absorbing states have no moves. The rates
live on the game's :class:`~bayes_mfg.stepping.Chain` (1-D: exact O(d) implicit steps) or
:class:`~bayes_mfg.stepping.Neighbours` (2-D: 4 moves per cell) structure: no ``d x d``
matrix is ever built, and the default implicit Euler scheme is stable for every ``dt``.

A game on a grid subclasses :class:`GridGame` with ``cost_specs``, ``running_cost``
(``F``) and ``terminal_cost`` (``g``); :class:`~bayes_mfg.games.GridLinearQuadratic` is the
reference one (a Gaussian equilibrium with a closed form). Every grid game but
:class:`GridDynamics` (which has no costs) also has the parameter ``cost_residual``
``r(t, x)`` (shape ``(d,)``, default 0) added to ``F``: a state-shared neural field on it (:class:`~bayes_mfg.paths.NeuralField`) makes the game plus a
learned residual cost, still an equilibrium. :class:`GridDynamics` is the no-game baseline on
the same grid: a learned drift field, no HJB.
"""

from __future__ import annotations

import abc
import functools
import math
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import Bound, bounded
from bayes_mfg.games.base import Array, ContinuousTimeGame, Control, ParameterSpec, Params
from bayes_mfg.stepping import DEFAULT_SCHEME, Chain, Neighbours, RateStructure, Scheme

__all__ = ["Grid", "GridDynamics", "GridGame"]


@dataclass(frozen=True)
class Grid:
    """A regular grid on an interval, a circle, a box or a torus (1 or 2 axes).

    Along a walled axis the points include both ends, ``h = (upper - lower) / (n - 1)``; along
    a periodic axis ``h = (upper - lower) / n`` (``upper`` is ``lower``). States are the
    points in row-major order (``x = i * n_1 + j`` in 2-D). Build one with :meth:`interval`,
    :meth:`circle`, :meth:`box` or :meth:`torus`.

    Parameters
    ----------
    shape
        Points per axis (each ``>= 3``: the stencil needs a point on each side).
    lower, upper
        Ends per axis (``lower < upper``).
    periodic
        Whether each axis wraps around.
    absorbing
        States with no moves out (e.g. an "arrived" state).

    Examples
    --------
    >>> from bayes_mfg.games import Grid
    >>> grid = Grid.interval(5, 0.0, 1.0)
    >>> grid.n_states, grid.spacing, grid.points[:, 0].tolist()
    (5, (0.25,), [0.0, 0.25, 0.5, 0.75, 1.0])
    >>> Grid.torus((4, 8)).neighbours.shape
    (32, 4)
    """

    shape: tuple[int, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    periodic: tuple[bool, ...]
    absorbing: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in ("shape", "lower", "upper", "periodic", "absorbing"):
            if not isinstance(getattr(self, name), tuple):
                raise TypeError(f"Grid.{name} must be a tuple, got {type(getattr(self, name)).__name__}")
        n_dim = len(self.shape)
        if n_dim not in (1, 2):
            raise ValueError(f"Grid.shape must have 1 or 2 axes, got {self.shape}")
        if not (len(self.lower) == len(self.upper) == len(self.periodic) == n_dim):
            raise ValueError(f"Grid.lower, upper and periodic must have one entry per axis ({n_dim}), got "
                             f"{len(self.lower)}, {len(self.upper)}, {len(self.periodic)}")
        for k, n in enumerate(self.shape):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 3:
                raise ValueError(f"Grid.shape[{k}] must be an int >= 3 (the stencil needs a point on each side), got {n!r}")
            if not isinstance(self.periodic[k], (bool, np.bool_)):
                raise TypeError(f"Grid.periodic[{k}] must be a bool (does axis {k} wrap around?), got "
                                f"{self.periodic[k]!r}")
            for side in ("lower", "upper"):
                Bound().check(f"Grid.{side}[{k}]", getattr(self, side)[k])
            lo, hi = float(self.lower[k]), float(self.upper[k])
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"Grid axis {k}: need finite lower < upper, got lower={lo}, upper={hi}")
        d = int(np.prod(self.shape))
        for a in self.absorbing:
            if not isinstance(a, (int, np.integer)) or isinstance(a, bool) or not 0 <= a < d:
                raise ValueError(f"Grid.absorbing: each absorbing state must be an int in 0..{d - 1}, got {a!r}")
        if len(set(self.absorbing)) != len(self.absorbing):
            raise ValueError(f"Grid.absorbing has repeated states: {self.absorbing}")

    # ----------------------------------------------------------------- constructors
    @classmethod
    def interval(cls, n_points: int, lower: float = 0.0, upper: float = 1.0, *,
                 absorbing: tuple[int, ...] = ()) -> Grid:
        """``n_points`` points on ``[lower, upper]`` with reflecting walls."""
        return cls((n_points,), (float(lower), ), (float(upper),), (False,), tuple(absorbing))

    @classmethod
    def circle(cls, n_points: int, length: float = 1.0) -> Grid:
        """``n_points`` points on a circle of circumference ``length``."""
        return cls((n_points,), (0.0,), (float(length),), (True,))

    @classmethod
    def box(cls, shape: tuple[int, int], lower: tuple[float, float] = (0.0, 0.0),
            upper: tuple[float, float] = (1.0, 1.0), *, absorbing: tuple[int, ...] = ()) -> Grid:
        """A 2-D box with reflecting walls, ``shape`` points per axis."""
        return cls(tuple(shape), tuple(map(float, lower)), tuple(map(float, upper)), (False, False), tuple(absorbing))

    @classmethod
    def torus(cls, shape: tuple[int, int], lengths: tuple[float, float] = (1.0, 1.0)) -> Grid:
        """A 2-D periodic grid, ``shape`` points per axis."""
        return cls(tuple(shape), (0.0, 0.0), tuple(map(float, lengths)), (True, True))

    # ----------------------------------------------------------------- geometry
    @property
    def n_dim(self) -> int:
        return len(self.shape)

    @property
    def n_states(self) -> int:
        return int(np.prod(self.shape))

    @property
    def spacing(self) -> tuple[float, ...]:
        """``h_k`` per axis."""
        return tuple((hi - lo) / (n if per else n - 1)
                     for n, lo, hi, per in zip(self.shape, self.lower, self.upper, self.periodic))

    @property
    def cell_volume(self) -> float:
        """``prod_k h_k``: ``mu(x) / cell_volume`` is the density at ``x``."""
        return float(np.prod(self.spacing))

    @functools.cached_property
    def points(self) -> np.ndarray:
        """``(d, n_dim)`` coordinates of the states."""
        axes = [lo + h * np.arange(n) for n, lo, h in zip(self.shape, self.lower, self.spacing)]
        return np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)

    @functools.cached_property
    def neighbours(self) -> np.ndarray:
        """``(d, 2 n_dim)`` moves: columns ``2k`` and ``2k + 1`` step down and up axis k (``x`` itself
        across a wall and in an absorbing state)."""
        idx = np.arange(self.n_states).reshape(self.shape)
        cols = []
        for k, (n, per) in enumerate(zip(self.shape, self.periodic)):
            for step in (-1, 1):
                moved = np.roll(idx, -step, axis=k)  # moved[i] = idx[i + step]
                if not per:
                    edge = [slice(None)] * self.n_dim
                    edge[k] = 0 if step < 0 else n - 1
                    moved[tuple(edge)] = idx[tuple(edge)]
                cols.append(moved.ravel())
        table = np.stack(cols, axis=1).astype(np.int32)
        if self.absorbing:
            table[list(self.absorbing)] = np.asarray(self.absorbing, dtype=np.int32)[:, None]
        return table

    @property
    def move_spacing(self) -> np.ndarray:
        """``(2 n_dim,)``: the length ``h_k`` of each column's move."""
        return np.repeat(np.asarray(self.spacing), 2)

    @functools.cached_property
    def structure(self) -> RateStructure:
        """:class:`~bayes_mfg.stepping.Chain` in 1-D (exact O(d) solves), else
        :class:`~bayes_mfg.stepping.Neighbours`."""
        if self.n_dim == 1:
            return Chain(self.shape[0], periodic=self.periodic[0], absorbing=self.absorbing)
        return Neighbours(self.neighbours)

    def moments(self, mu: Any) -> tuple[Array, Array]:
        """Mean ``(..., n_dim)`` and variance ``(..., n_dim)`` of ``mu`` (``(..., d)``) along each
        axis (walled axes only: a mean on a circle is not a number)."""
        x = jnp.asarray(self.points, dtype=jnp.asarray(mu).dtype)
        mass = jnp.sum(mu, axis=-1, keepdims=True)
        mean = (mu @ x) / mass
        var = (mu @ x**2) / mass - mean**2
        return mean, var


@dataclass(frozen=True, kw_only=True)
class GridGame(ContinuousTimeGame):
    """Base class of a continuous-state game on a :class:`Grid` (the formulation in the module).

    Subclasses are frozen dataclasses that implement :meth:`cost_specs` (the parameters of
    ``F`` and ``g``), :meth:`running_cost` and :meth:`terminal_cost`; the parameter
    ``control_weight`` (``kappa``) is shared by all.

    Parameters
    ----------
    grid
        The state space.
    sigma
        Diffusion coefficient ``>= 0`` (a modelling choice, fixed).
    horizon, n_times
        Time horizon T and number of time points N.
    scheme
        ``"patankar"`` (default: second order, positive for every dt), ``"implicit"`` (first
        order, positive for every dt) or ``"euler"`` (stable only while ``dt * max out-rate
        <= 1``: ``dt sigma^2 / h^2 <= 1 / n_dim`` at least).

    Examples
    --------
    A potential well on a circle (``F = depth * (1 - cos(2 pi x))``, no terminal cost):

    >>> from dataclasses import dataclass
    >>> import jax.numpy as jnp, bayes_mfg as bm
    >>> @dataclass(frozen=True, kw_only=True)
    ... class Well(bm.games.GridGame):
    ...     def cost_specs(self):
    ...         return {"depth": bm.games.ParameterSpec((), 1.0, None, "depth of the well")}
    ...     def running_cost(self, mu, p):
    ...         return p["depth"] * (1 - jnp.cos(2 * jnp.pi * jnp.asarray(self.points[:, 0])))
    ...     def terminal_cost(self, mu, p):
    ...         return jnp.zeros_like(mu)
    >>> game = Well(grid=bm.games.Grid.circle(32), sigma=0.2, n_times=21)
    >>> eq = bm.equilibrium(game, {"depth": 2.0}, [1 / 32] * 32)
    >>> bool(eq.converged), bool(eq.mu[-1, 0] > eq.mu[-1, 16])   # the crowd gathers at x = 0
    (True, True)
    """

    grid: Grid
    sigma: float = bounded(lower=0.0, lower_closed=True)
    horizon: float = 1.0
    n_times: int = 100
    scheme: Scheme | str = DEFAULT_SCHEME

    def __post_init__(self) -> None:
        if not isinstance(self.grid, Grid):
            raise TypeError(f"grid must be a bayes_mfg.games.Grid, got {type(self.grid).__name__}")
        self._validate_grid()

    # ----------------------------------------------------------------- the state space
    @property
    def n_states(self) -> int:  # type: ignore[override]
        return self.grid.n_states

    @property
    def neighbours(self) -> np.ndarray:
        return self.grid.neighbours

    @property
    def structure(self) -> RateStructure:
        return self.grid.structure

    @property
    def points(self) -> np.ndarray:
        """``(d, n_dim)`` coordinates of the states."""
        return self.grid.points

    # ----------------------------------------------------------------- the model
    def parameter_specs(self) -> dict[str, ParameterSpec]:
        return {"control_weight": ParameterSpec((), 1.0, 0.0, "kappa in the control cost kappa/2 |v|^2"),
                "cost_residual": ParameterSpec((self.n_states,), 0.0, None,
                                               "r(t, x): a residual running cost added to F (0: the game as written)",
                                               dims=("state",)),
                **self.cost_specs()}

    @abc.abstractmethod
    def cost_specs(self) -> dict[str, ParameterSpec]:
        """The parameters of ``F`` and ``g``."""

    @abc.abstractmethod
    def running_cost(self, mu: Array, p: Params) -> Array:
        """``(d,)``: ``F(x, mu; theta)`` at every state."""

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        nbr, h = self.grid.neighbours, jnp.asarray(self.grid.move_spacing, dtype=u.dtype)
        real = jnp.asarray(nbr != np.arange(nbr.shape[0])[:, None], dtype=u.dtype)
        speed = jnp.maximum(0.0, u[:, None] - u[nbr]) / (p["control_weight"] * h)  # v >= 0 per move
        rates = real * (self.sigma**2 / (2.0 * h**2) + speed / h)
        cost = (0.5 * p["control_weight"] * jnp.sum(real * speed**2, axis=1) + self.running_cost(mu, p)
                + p["cost_residual"])
        return Control(rates, cost)

    def policy_control(self, u: Array, mu_policy: Array, mu_env: Array, p: Params) -> Control:
        """The chosen rates depend on ``u`` alone: ``control(u, mu_env, p)``."""
        return self.control(u, mu_env, p)

    # ----------------------------------------------------------------- cost terms for subclasses
    def log_density(self, mu: Array, floor: float = 1e-300) -> Array:
        """``log(mu(x) / cell_volume)``: the local congestion term of crowd-averse games."""
        return jnp.log(jnp.maximum(mu, floor) / self.grid.cell_volume)


@dataclass(frozen=True, kw_only=True)
class GridDynamics(GridGame):
    """The no-game baseline on a grid: a Fokker–Planck equation with a learned drift field.

    The population moves by ``dX = b(t, X) dt + sigma dW`` with the drift ``b`` a parameter
    (``"drift"``, shape ``(d,)`` in 1-D and ``(d, 2)`` in 2-D: the velocity at every grid
    point), discretised by the same upwind chain as the games,
    ``a[x, x +- h_k e_k] = sigma^2 / (2 h_k^2) + b_k^{+-}(x) / h_k``. The rates do not
    depend on any value function (the engine's backward sweep still runs, on zero costs,
    and its result is not used) nor on ``mu``, so the "equilibrium" is reached in one
    application of the map. It has no costs, hence no ``cost_residual``. With a
    :class:`~bayes_mfg.paths.NeuralField` on ``drift`` it is a neural Fokker–Planck model of the flow, the baseline a fitted game must beat.

    Parameters
    ----------
    grid, sigma, horizon, n_times, scheme
        As for :class:`GridGame`.

    Examples
    --------
    A constant drift to the right on [0, 1]:

    >>> import numpy as np, bayes_mfg as bm
    >>> game = bm.games.GridDynamics(grid=bm.games.Grid.interval(21), sigma=0.1, n_times=11)
    >>> eq = bm.equilibrium(game, {"drift": np.full(21, 0.5)}, np.ones(21) / 21)
    >>> m0, m1 = game.grid.moments(eq.mu[0])[0], game.grid.moments(eq.mu[-1])[0]
    >>> bool(eq.converged), bool(m1[0] > m0[0])
    (True, True)
    """

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        shape = (self.n_states,) if self.grid.n_dim == 1 else (self.n_states, self.grid.n_dim)
        return {"drift": ParameterSpec(shape, 0.0, None, "b(t, x): the velocity at every grid point")}

    def cost_specs(self) -> dict[str, ParameterSpec]:
        return {}

    def running_cost(self, mu: Array, p: Params) -> Array:
        return jnp.zeros_like(mu)

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return jnp.zeros_like(mu)

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        nbr, h = self.grid.neighbours, jnp.asarray(self.grid.move_spacing, dtype=mu.dtype)
        real = jnp.asarray(nbr != np.arange(nbr.shape[0])[:, None], dtype=mu.dtype)
        b = jnp.reshape(p["drift"], (self.n_states, self.grid.n_dim))
        # columns 2k and 2k + 1 move down and up axis k: speeds b_k^- and b_k^+
        speed = jnp.stack([jnp.maximum(-b, 0.0), jnp.maximum(b, 0.0)], axis=-1).reshape(self.n_states, -1)
        rates = real * (self.sigma**2 / (2.0 * h**2) + speed / h)
        return Control(rates, jnp.zeros(self.n_states, dtype=mu.dtype))
