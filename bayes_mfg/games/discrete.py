"""Discrete-time, entropy-regularised finite state-action mean field games (DESIGN 2b).

The formulation of MFGLib and OpenSpiel: time points ``t = 0..T`` (``N = T + 1`` grid points),
``d`` states, ``A`` actions, a transition kernel ``P_t(x' | x, a, mu_t)``, a reward
``r_t(x, a, mu_t)`` collected at every time point (including ``T``) and a temperature
``tau > 0``. A representative agent maximises ``E[sum_t r_t(x_t, a_t, mu_t) + tau H(pi_t(.|x_t))]``
(``H`` the entropy); against a fixed flow ``mu`` the optimum is the soft Bellman recursion

    Q_t(x, a) = r_t(x, a, mu_t) + sum_x' P_t(x' | x, a, mu_t) V_{t+1}(x')     (V_{T+1} = 0)
    V_t(x)    = tau * log sum_a exp(Q_t(x, a) / tau)
    pi_t(a|x) = exp((Q_t(x, a) - V_t(x)) / tau)

and the population then moves as

    mu_{t+1}(x') = sum_{x, a} mu_t(x) pi_t(a | x) P_t(x' | x, a, mu_t).

The equilibrium is the fixed point ``mu* = G(mu*)`` of that map, solved and differentiated
by the same engine as the continuous-time games (:func:`bayes_mfg.equilibrium`); the
sweeps live in :mod:`bayes_mfg.equilibrium.discrete_time`. As ``tau -> 0`` the policy tends to
the (unregularised) best response; ``tau > 0`` makes ``G`` smooth, which implicit gradients
and NUTS need.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import check_positive_float, check_positive_int
from bayes_mfg.games.base import Array, MeanFieldGame, ParameterSpec, Params


class DiscreteTimeGame(MeanFieldGame):
    """Base class of a discrete-time finite state-action mean field game.

    Subclasses are frozen dataclasses with fields ``n_states`` (``d``), ``n_steps`` (``N = T + 1``
    time points) and ``temperature`` (``tau > 0``), a class constant (or property) ``n_actions`` (``A``),
    and implement :meth:`parameter_specs`, :meth:`transition` and :meth:`reward`. Parameters
    are paths over the ``N`` time points, exactly as for :class:`~bayes_mfg.games.Game`, so
    the same :class:`~bayes_mfg.paths.ParameterPath` objects calibrate them.

    The grid is ``t = 0, 1, ..., T``: ``horizon == T == n_steps - 1`` and ``dt == 1``.
    ``Equilibrium.value`` holds the soft value ``V`` (a reward: larger is better) and
    ``Equilibrium.policy`` the ``(N, d, A)`` policy ``pi_t(a | x)``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.BeachBar(n_states=5, n_steps=4)
    >>> game.horizon, game.dt, game.n_actions
    (3.0, 1.0, 3)
    """

    n_actions: int
    temperature: float

    action_names_default: ClassVar[tuple[str, ...] | None] = None
    #: The number of states of a game whose state space is fixed by its definition, else None.
    fixed_states: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        self._validate_grid()

    def _validate_grid(self) -> None:
        if self.fixed_states is not None and self.n_states != self.fixed_states:
            raise ValueError(f"n_states must be {self.fixed_states} for {type(self).__name__}, got {self.n_states}")
        check_positive_int("n_states", self.n_states, minimum=2)
        check_positive_int("n_steps", self.n_steps, minimum=2)
        check_positive_int("n_actions", self.n_actions)
        check_positive_float("temperature", self.temperature)

    @property
    def horizon(self) -> float:  # type: ignore[override]
        """``T = N - 1`` (the last time point)."""
        return float(self.n_steps - 1)

    @property
    def action_names(self) -> tuple[str, ...]:
        """Labels of the actions."""
        if self.action_names_default is not None:
            return self.action_names_default
        return tuple(f"a{k}" for k in range(self.n_actions))

    @abc.abstractmethod
    def transition(self, mu: Array, p: Params) -> Array:
        """Transition kernel at one time step for the distribution ``mu``.

        Returns ``P[x, a, x']`` (``(d, A, d)``, rows summing to 1 over ``x'``), or for a game
        with ``neighbours`` (``(d, K)``) the ``(d, A, K)`` probabilities of moving from x to
        ``neighbours[x, k]`` (the self-padding entries carry the probability of staying).
        ``p`` holds the parameters of that time step.
        """

    @abc.abstractmethod
    def reward(self, mu: Array, p: Params) -> Array:
        """``(d, A)`` reward ``r(x, a, mu)`` at one time step."""


def _log_crowd(mu: Array, eps: float) -> Array:
    """``log(mu + eps)``: the crowd-aversion term of beach bar and crowd motion."""
    return jnp.log(mu + eps)


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
    n_states, n_steps
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
    >>> game = bm.games.BeachBar(n_states=5, n_steps=4, temperature=0.1)
    >>> eq = bm.equilibrium(game, {}, [0.2] * 5)
    >>> bool(eq.converged), eq.policy.shape
    (True, (4, 5, 3))
    """

    n_states: int = 4
    n_steps: int = 3
    temperature: float = 0.1
    bar_location: int = 2
    p_still: float = 0.5
    log_eps: float = 1e-20

    action_names_default: ClassVar[tuple[str, ...]] = ("left", "stay", "right")

    def __post_init__(self) -> None:
        self._validate_grid()
        if not 0 <= self.bar_location < self.n_states:
            raise ValueError(f"bar_location must be in [0, {self.n_states - 1}], got {self.bar_location}")
        if not 0.0 <= self.p_still <= 1.0:
            raise ValueError(f"p_still must be in [0, 1], got {self.p_still}")
        check_positive_float("log_eps", self.log_eps)

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
        state = -p["distance_weight"] * dist - p["crowd_aversion"] * _log_crowd(mu, self.log_eps)
        return state[:, None] - p["move_cost"] * move[None, :]


@dataclass(frozen=True, kw_only=True)
class LeftRight(DiscreteTimeGame):
    """Left or right (MFGLib's ``left_right``): a one-shot congestion game, ``T = 1``.

    States 0 (start), 1 (left), 2 (right); action 0 leads to left, 1 to right, from any state.
    The reward depends on the state only: ``r(left) = -left_cost * mu(left)``,
    ``r(right) = -right_cost * mu(right)``, ``r(start) = 0``. Defaults 1 and 2 (MFGLib's); the
    unregularised equilibrium from ``mu0 = (1, 0, 0)`` sends 2/3 left and 1/3 right.

    Parameters
    ----------
    n_states, n_steps
        3 and 2 (fixed by the game).
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
    n_steps: int = 2
    temperature: float = 0.1

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


@dataclass(frozen=True, kw_only=True)
class RockPaperScissors(DiscreteTimeGame):
    """Rock-paper-scissors as a population game (MFGLib's ``rock_paper_scissors``), ``T = 1``.

    States 0 (start), 1 rock, 2 paper, 3 scissors; action k leads to state 1 + k. The reward of
    holding sign i is ``sum_j payoff[i, j] mu(j)`` over the three signs, with MFGLib's default
    ``payoff = [[0, -1, 2], [4, 0, -2], [-3, 6, 0]]`` (rock: 2 mu(scissors) - mu(paper), ...).

    Parameters
    ----------
    n_states, n_steps
        4 and 2 (fixed by the game).
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
    n_steps: int = 2
    temperature: float = 0.1

    fixed_states: ClassVar[int] = 4
    state_names_default: ClassVar[tuple[str, ...]] = ("start", "rock", "paper", "scissors")
    action_names_default: ClassVar[tuple[str, ...]] = ("rock", "paper", "scissors")

    n_actions: ClassVar[int] = 3  # type: ignore[misc]

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        default = np.array([[0.0, -1.0, 2.0], [4.0, 0.0, -2.0], [-3.0, 6.0, 0.0]])
        return {"payoff": ParameterSpec((3, 3), default, None, "payoff[i, j] of sign i against sign j")}

    def transition(self, mu: Array, p: Params) -> Array:
        kernel = np.zeros((4, 3, 4))
        for k in range(3):
            kernel[:, k, 1 + k] = 1.0
        return jnp.asarray(kernel, mu.dtype)

    def reward(self, mu: Array, p: Params) -> Array:
        r = jnp.concatenate([jnp.zeros_like(mu[:1]), p["payoff"] @ mu[1:]])
        return jnp.broadcast_to(r[:, None], (4, 3))


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
    n_steps
        Time points ``N = T + 1``.
    temperature
        Entropy regularisation ``tau > 0``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.SusceptibleInfected(n_steps=11, temperature=0.1)
    >>> eq = bm.equilibrium(game, {}, [0.4, 0.6])
    >>> bool(eq.converged), eq.policy.shape
    (True, (11, 2, 2))
    """

    n_states: int = 2
    n_steps: int = 51
    temperature: float = 0.1

    fixed_states: ClassVar[int] = 2
    state_names_default: ClassVar[tuple[str, ...]] = ("S", "I")
    action_names_default: ClassVar[tuple[str, ...]] = ("out", "distance")

    n_actions: ClassVar[int] = 2  # type: ignore[misc]

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        return {
            "infection_rate": ParameterSpec((), 0.81, 0.0, "infection probability per unit of mu(I) when going out"),
            "recovery": ParameterSpec((), 0.3, 0.0, "recovery probability per step"),
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
    n_steps
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
    >>> game = bm.games.CrowdMotion(rows=5, cols=5, n_steps=4)
    >>> eq = bm.equilibrium(game, {}, [1 / 25] * 25)
    >>> bool(eq.converged), game.neighbours.shape
    (True, (25, 13))
    """

    rows: int = 20
    cols: int = 20
    n_steps: int = 4
    temperature: float = 0.1
    p_still: float = 0.5
    log_eps: float = 1e-10

    def __post_init__(self) -> None:
        check_positive_int("rows", self.rows)
        check_positive_int("cols", self.cols)
        self._validate_grid()
        if not 0.0 <= self.p_still <= 1.0:
            raise ValueError(f"p_still must be in [0, 1], got {self.p_still}")
        check_positive_float("log_eps", self.log_eps)

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
            "bar_location": ParameterSpec((2,), centre, None, "(row, col) of the attractor"),
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
        r = p["attraction"] * (1.0 - dist / (self.rows + self.cols)) - p["crowd_aversion"] * _log_crowd(mu, self.log_eps)
        return jnp.broadcast_to(r[:, None], (self.n_states, 5))
