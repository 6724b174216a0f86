"""Epsilon-Nash check: is the mean-field equilibrium a good strategy for a finite population?

A mean-field equilibrium is an approximate Nash equilibrium of the N-player game: if all N
agents play the equilibrium policy, one agent's best deviation gains at most ``epsilon_N``,
and ``epsilon_N -> 0`` as N grows. This module measures it. For each N, ``n_reps``
populations of N agents (initial states drawn from ``mu0``) play the equilibrium policy in
the population they form (:meth:`~bayes_mfg.engine.Family.sample_flow`); against each
realised empirical flow ``m^N`` one agent's gain from best-responding instead,

    gain(m^N) = sum_x mu0(x) [ value of the policy against m^N (x) - best-response value against m^N (x) ]

(for costs; reversed for rewards, so that it is >= 0), is computed exactly
(:meth:`~bayes_mfg.engine.Family.deviation_gain`), and averaged. ``gain(mu*)`` is the
exploitability of the equilibrium itself (0 for regularised discrete-time games; ``O(dt)``
for continuous-time games, see :func:`bayes_mfg.exploitability`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import jax
import numpy as np

from bayes_mfg._validation import check_distribution, check_positive_int
from bayes_mfg.engine.family import family_of
from bayes_mfg.games.base import MeanFieldGame

__all__ = ["EpsilonNash", "epsilon_nash"]


@dataclass(frozen=True)
class EpsilonNash:
    """The result of :func:`epsilon_nash`.

    Attributes
    ----------
    n_agents
        The population sizes N.
    mean_gain, standard_error
        Mean gain of one deviating agent over the populations of each size, and its
        Monte Carlo standard error.
    rms_excess
        ``sqrt(mean((gain - limit)^2))``: how far a population's gain typically is from the
        mean-field one.
    limit
        The gain against the mean-field flow itself (N = infinity).
    slope
        Least-squares slope of ``log(mean_gain - limit)`` against ``log N`` over the sizes
        where the excess is above two standard errors (about -1 when the gain is quadratic in
        the flow's fluctuation, as at a regularised equilibrium); ``nan`` with fewer than two
        such sizes.
    spread_slope
        Least-squares slope of ``log(rms_excess)`` against ``log N`` (about -1/2 when the gain
        is linear in the fluctuation, -1 when quadratic).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.LeftRight(temperature=0.5)
    >>> eq = bm.equilibrium(game, {}, [1.0, 0.0, 0.0])
    >>> res = bm.epsilon_nash(game, {}, [1.0, 0.0, 0.0], eq, n_agents=(10, 100), n_reps=8)
    >>> res.n_agents, bool(res.mean_gain[1] < res.mean_gain[0])
    ((10, 100), True)
    """

    n_agents: tuple[int, ...]
    mean_gain: np.ndarray
    standard_error: np.ndarray
    rms_excess: np.ndarray
    limit: float
    slope: float
    spread_slope: float

    def to_markdown(self) -> str:
        """A table: N, mean gain, its standard error, the excess over the mean-field limit."""
        rows = ["| N | mean gain | standard error | mean gain - limit | rms(gain - limit) |", "|---|---|---|---|---|"]
        rows += [f"| {n} | {g:.3e} | {s:.1e} | {g - self.limit:.3e} | {r:.3e} |"
                 for n, g, s, r in zip(self.n_agents, self.mean_gain, self.standard_error, self.rms_excess)]
        return ("\n".join(rows) + f"\n\nmean-field limit {self.limit:.3e}; slope of log(mean gain - limit) "
                f"vs log N: {self.slope:.2f}; of log rms(gain - limit): {self.spread_slope:.2f}")


def epsilon_nash(
    game: MeanFieldGame,
    params: Mapping[str, Any] | None,
    mu0: Any,
    eq: Any,
    n_agents: Sequence[int] = (10, 100, 1000),
    *,
    n_reps: int = 64,
    seed: int = 0,
    regularised: bool = True,
) -> EpsilonNash:
    """The gain one agent gets by deviating from the equilibrium, in populations of N agents.

    Parameters
    ----------
    game, params, mu0
        The game, its parameters and the initial distribution the agents are drawn from.
    eq
        The :class:`~bayes_mfg.Equilibrium` of ``game`` at ``params`` from ``mu0``.
    n_agents
        Population sizes (ints >= 1).
    n_reps
        Populations simulated per size.
    seed
        Random seed.
    regularised
        Score the regularised game (soft best response; default) or the plain one, as in
        :func:`bayes_mfg.exploitability`.

    Returns
    -------
    EpsilonNash

    Raises
    ------
    NotImplementedError
        For a game family (or a continuous-time game without
        :meth:`~bayes_mfg.games.ContinuousTimeGame.policy_control`) that cannot simulate
        agents or score a policy against another flow.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.BeachBar(n_states=5, n_times=4, temperature=0.3)
    >>> eq = bm.equilibrium(game, {}, [0.2] * 5)
    >>> res = bm.epsilon_nash(game, {}, [0.2] * 5, eq, n_agents=(10, 1000), n_reps=16)
    >>> bool(res.mean_gain[0] > res.mean_gain[1] > 0), abs(res.limit) < 1e-8
    (True, True)
    """
    if not isinstance(game, MeanFieldGame):
        raise TypeError(f"game must be a bayes_mfg.games.MeanFieldGame, got {type(game).__name__}")
    sizes = tuple(check_positive_int("n_agents", n) for n in n_agents)
    if not sizes:
        raise ValueError("n_agents must list at least one population size")
    check_positive_int("n_reps", n_reps)
    if not isinstance(regularised, bool):
        raise TypeError(f"regularised must be a bool, got {type(regularised).__name__}")
    if getattr(eq, "mu", None) is None or np.shape(eq.mu) != (game.n_times, game.n_states):
        raise TypeError(f"eq must be the Equilibrium of the game (mu of shape {(game.n_times, game.n_states)})")
    family = family_of(game)
    params = game.params(**dict(params or {}))
    mu0 = check_distribution("mu0", mu0, game.n_states)

    def gain(flow):
        return family.deviation_gain(game, params, mu0, eq, flow, regularised)

    limit = float(jax.jit(gain)(eq.mu))
    key = jax.random.PRNGKey(seed)
    means, errors, spread = [], [], []
    for i, n in enumerate(sizes):
        keys = jax.random.split(jax.random.fold_in(key, i), n_reps)
        flows = jax.jit(jax.vmap(lambda k, n=n: family.sample_flow(game, params, mu0, eq, n, k)))(keys)
        gains = np.asarray(jax.jit(jax.vmap(gain))(flows))
        means.append(float(np.mean(gains)))
        errors.append(float(np.std(gains, ddof=1) / np.sqrt(n_reps)) if n_reps > 1 else float("nan"))
        spread.append(float(np.sqrt(np.mean((gains - limit) ** 2))))
    means_a, errors_a, spread_a = np.asarray(means), np.asarray(errors), np.asarray(spread)
    log_n = np.log(np.asarray(sizes, dtype=float))
    excess = means_a - limit
    clear = excess > 2 * errors_a
    slope = float(np.polyfit(log_n[clear], np.log(excess[clear]), 1)[0]) if clear.sum() >= 2 else float("nan")
    spread_slope = float(np.polyfit(log_n, np.log(spread_a), 1)[0]) if len(sizes) > 1 else float("nan")
    return EpsilonNash(sizes, means_a, errors_a, spread_a, limit, slope, spread_slope)

