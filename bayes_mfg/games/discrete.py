"""Discrete-time, entropy-regularised finite state-action mean field games ([MFGLib], docs/references.md).

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
by the same engine as the continuous-time games (:func:`bayes_mfg.engine`); the
sweeps live in :mod:`bayes_mfg.engine.discrete_time`. As ``tau -> 0`` the policy tends to
the (unregularised) best response; ``tau > 0`` makes ``G`` smooth, which implicit gradients
and NUTS need.

The example games (MFGLib's environments) live in one module each:
:mod:`~bayes_mfg.games.beach_bar`, :mod:`~bayes_mfg.games.left_right`,
:mod:`~bayes_mfg.games.rock_paper_scissors`, :mod:`~bayes_mfg.games.susceptible_infected`
and :mod:`~bayes_mfg.games.crowd_motion`.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import jax.numpy as jnp

from bayes_mfg._validation import check_declared_fields, check_positive_float, check_positive_int
from bayes_mfg.games.base import Array, MeanFieldGame, Params

__all__ = ["DiscreteTimeGame", "log_crowd"]


class DiscreteTimeGame(MeanFieldGame):
    """Base class of a discrete-time finite state-action mean field game.

    Subclasses are frozen dataclasses with fields ``n_states`` (``d``), ``n_times`` (``N = T + 1``
    time points) and ``temperature`` (``tau > 0``), a class constant (or property) ``n_actions`` (``A``),
    and implement :meth:`parameter_specs`, :meth:`transition` and :meth:`reward`. Parameters
    are paths over the ``N`` time points, exactly as for :class:`~bayes_mfg.games.Game`, so
    the same :class:`~bayes_mfg.paths.ParameterPath` objects calibrate them.

    The grid is ``t = 0, 1, ..., T``: ``horizon == T == n_times - 1`` and ``dt == 1``.
    ``Equilibrium.value`` holds the soft value ``V`` (a reward: larger is better) and
    ``Equilibrium.policy`` the ``(N, d, A)`` policy ``pi_t(a | x)``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.BeachBar(n_states=5, n_times=4)
    >>> game.horizon, game.dt, game.n_actions
    (3.0, 1.0, 3)
    """

    n_actions: int
    temperature: float

    action_names_default: ClassVar[tuple[str, ...] | None] = None
    #: The number of states of a game whose state space is fixed by its definition, else None.
    fixed_states: ClassVar[int | None] = None
    #: the damping of the default solver (see :attr:`MeanFieldGame.solver_damping`): soft best
    #: responses to a crowd-aversion reward (``log mu``) overshoot; undamped extrapolation stalls
    #: on crowd motion at ``tau = 0.1`` (residual 3e-2 after 500 iterations on an 8 x 8 grid)
    #: where ``damping=0.5`` converges in 50 (measured)
    solver_damping: ClassVar[float] = 0.5

    def __post_init__(self) -> None:
        self._validate_grid()

    def _validate_grid(self) -> None:
        check_declared_fields(self)
        if self.fixed_states is not None and self.n_states != self.fixed_states:
            raise ValueError(f"n_states must be {self.fixed_states} for {type(self).__name__}, got {self.n_states}")
        check_positive_int("n_states", self.n_states, minimum=2)
        check_positive_int("n_times", self.n_times, minimum=2)
        check_positive_int("n_actions", self.n_actions)
        check_positive_float("temperature", self.temperature)

    @property
    def horizon(self) -> float:  # type: ignore[override]
        """``T = N - 1`` (the last time point)."""
        return float(self.n_times - 1)

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


def log_crowd(mu: Array, eps: float) -> Array:
    """``log(mu + eps)``: the crowd-aversion term of beach bar and crowd motion."""
    return jnp.log(mu + eps)
