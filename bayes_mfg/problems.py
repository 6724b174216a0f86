"""The reference problems: games with known parameter truths, for simulation studies.

One catalogue shared by the command line (``bayes-mfg calibrate``), the demo, the seed
paper's experiment grid (``experiments/paper_grid.py``) and the tests. The settings are
those of the seed paper's public code (documented in ``docs/systems.md``):

* **LQ** (:class:`~bayes_mfg.games.LinearQuadratic`): the control-cost weight ``gamma`` with
  ``b_min = 0.1``, ``b_max = 3.0`` and three truth cases: ``"constant"`` (``gamma = 1.55``),
  ``"arc"`` (``gamma(t) = b_min + 4 (b_max - b_min) t (T - t) / T^2``) and ``"mean-field"``
  (``gamma = b_min + (b_max - b_min) mu_t(0)``).
* **Cybersecurity** (:class:`~bayes_mfg.games.Cybersecurity`): the 8 rate parameters, truth
  ``REFERENCE_TRUTH``; ``"arc"`` scales each by ``0.04 t (T - t)`` (plus 1e-3, the rates
  must stay positive), ``"mean-field"`` by ``mu_t(DI)``.
* **SIR** (:class:`~bayes_mfg.games.SIR`): ``(beta, gamma)`` in ``[0.2, 0.6] x [0.05, 0.2]``:
  constant ``(0.4, 0.125)``, an arc over ``T = 40`` spanning each range, or ``beta`` growing
  with ``mu(I)`` and ``gamma`` with ``mu(S)``; initial shares with a few per cent infected.
* **Mobility** (:class:`~bayes_mfg.games.MobilityNetwork`): ``b = 1``, ``c = 1.5`` with base
  rates ``q`` fixed at a seeded uniform draw in ``[0.2, 1]``.

Each truth function returns ``{name: value}`` for :func:`bayes_mfg.datasets.simulate`
(a number, an ``(N,)`` path, or a function ``fn(t, mu)``); :func:`problem` bundles a game,
its truth, the calibrated parameters and where their priors are centred.

Examples
--------
>>> from bayes_mfg import problems
>>> prob = problems.problem("lq", n_states=3, n_times=20, truth="arc")
>>> prob.calibrated, prob.centres, prob.truth["gamma"].shape
(('gamma',), {'gamma': 1.0}, (20,))
>>> float(prob.truth["gamma"][0]), problems.lq_truth(prob.game)  # the arc starts at b_min
(0.1, {'gamma': 1.55})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayes_mfg._names import TRUTH_CASES
from bayes_mfg.games import SIR, Cybersecurity, LinearQuadratic, MeanFieldGame, MobilityNetwork
from bayes_mfg.games.cybersecurity import RATE_PARAMETERS, REFERENCE_TRUTH

__all__ = [
    "LQ_B_MAX",
    "LQ_B_MIN",
    "LQ_GAMMA",
    "PROBLEMS",
    "TRUTH_CASES",
    "Problem",
    "cybersecurity",
    "cybersecurity_truth",
    "lq",
    "lq_gamma_mean_field",
    "lq_truth",
    "mobility",
    "problem",
    "sir",
    "sir_initial_shares",
    "sir_truth",
]

#: The seed paper's range of the LQ control-cost weight and its constant truth.
LQ_B_MIN, LQ_B_MAX, LQ_GAMMA = 0.1, 3.0, 1.55


def _check_case(case: str) -> None:
    if case not in TRUTH_CASES:
        raise ValueError(f"truth case must be one of {TRUTH_CASES}, got {case!r}")


def _arc(game: MeanFieldGame) -> np.ndarray:
    """``4 t (T - t) / T^2`` on the game's grid: 0 at both ends, 1 at ``T / 2``."""
    t, horizon = np.asarray(game.time_grid), float(game.horizon)
    return 4.0 * t * (horizon - t) / horizon**2


# ----------------------------------------------------------------------------- truths
def lq_gamma_mean_field(t: Any, mu: Any) -> Any:
    """The seed paper's mean-field-dependent truth ``gamma = b_min + (b_max - b_min) mu_t(0)``."""
    return LQ_B_MIN + (LQ_B_MAX - LQ_B_MIN) * mu[0]


def lq_truth(game: MeanFieldGame, case: str = "constant") -> dict[str, Any]:
    """The seed paper's LQ truth of ``gamma`` (see the module docstring)."""
    _check_case(case)
    if case == "constant":
        return {"gamma": LQ_GAMMA}
    if case == "arc":
        return {"gamma": LQ_B_MIN + (LQ_B_MAX - LQ_B_MIN) * _arc(game)}
    return {"gamma": lq_gamma_mean_field}


def _scaled_by_first_share(value: float) -> Callable[[Any, Any], Any]:
    def rate(t: Any, mu: Any) -> Any:
        return value * mu[0]

    return rate


def cybersecurity_truth(game: MeanFieldGame, case: str = "constant") -> dict[str, Any]:
    """The seed paper's Cybersecurity truths: the 8 rates ``REFERENCE_TRUTH``, constant,
    times ``0.04 t (T - t)`` plus 1e-3 (the paper's arc, kept positive), or times ``mu_t(DI)``."""
    _check_case(case)
    base = dict(zip(RATE_PARAMETERS, REFERENCE_TRUTH))
    if case == "constant":
        return base
    if case == "arc":
        t, horizon = np.asarray(game.time_grid), float(game.horizon)
        return {k: v * 0.04 * t * (horizon - t) + 1e-3 for k, v in base.items()}
    return {k: _scaled_by_first_share(v) for k, v in base.items()}


def _sir_beta_mean_field(t: Any, mu: Any) -> Any:
    return 0.2 + 0.4 * mu[1]


def _sir_gamma_mean_field(t: Any, mu: Any) -> Any:
    return 0.05 + 0.15 * mu[0]


def sir_truth(game: MeanFieldGame, case: str = "constant") -> dict[str, Any]:
    """The seed paper's SIR truths of ``(beta, gamma)`` in ``[0.2, 0.6] x [0.05, 0.2]``.

    Mean-field case: ``beta`` grows with ``mu(I)`` and ``gamma`` with ``mu(S)`` (the paper's
    code swaps the two slots; each parameter is kept in its own range here).
    """
    _check_case(case)
    if case == "constant":
        return {"beta": 0.4, "gamma": 0.125}
    if case == "arc":
        t = np.asarray(game.time_grid)
        return {"beta": 0.2 + 0.001 * t * (40.0 - t), "gamma": 0.05 + 0.000375 * t * (40.0 - t)}
    return {"beta": _sir_beta_mean_field, "gamma": _sir_gamma_mean_field}


def sir_initial_shares(n_trajectories: int, seed: int = 0) -> np.ndarray:
    """``(n_trajectories, 3)`` initial (S, I, R) shares: 1-5% infected, 0.1-1% recovered."""
    rng = np.random.default_rng(seed)
    infected = rng.uniform(0.01, 0.05, n_trajectories)
    recovered = rng.uniform(0.001, 0.01, n_trajectories)
    return np.stack([1.0 - infected - recovered, infected, recovered], axis=-1)


# ----------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class Problem:
    """A game with a known truth, ready for simulation and calibration.

    Attributes
    ----------
    game
        The game.
    calibrated
        The names of the calibrated parameters.
    centres
        Where the prior (or the initial value) of each calibrated parameter is centred (not
        the truth).
    truth
        ``{name: value}`` for :func:`bayes_mfg.datasets.simulate` (calibrated and fixed).
    fixed
        Parameters held fixed in the calibration model (``CalibrationModel(fixed=...)``).
    mu0
        Initial distributions for the simulation, ``(n_trajectories, d)``, or None (the
        simulation's default draw).
    """

    game: MeanFieldGame
    calibrated: tuple[str, ...]
    centres: dict[str, float]
    truth: dict[str, Any]
    fixed: dict[str, Any] = field(default_factory=dict)
    mu0: np.ndarray | None = None


def _steps(n_times: int | None, horizon: float | None = None) -> dict[str, Any]:
    return {**({} if n_times is None else {"n_times": n_times}), **({} if horizon is None else {"horizon": horizon})}


def lq(n_states: int = 8, n_times: int | None = None, truth: str = "constant", horizon: float | None = None) -> Problem:
    """The LQ game with ``gamma`` calibrated (prior centre 1) and one of :data:`TRUTH_CASES`."""
    game = LinearQuadratic(n_states=n_states, **_steps(n_times, horizon))
    return Problem(game, ("gamma",), {"gamma": 1.0}, lq_truth(game, truth))


def cybersecurity(n_times: int | None = None, truth: str = "constant", horizon: float | None = None) -> Problem:
    """The Cybersecurity game with its 8 rates calibrated (prior centres 0.5)."""
    game = Cybersecurity(**_steps(n_times, horizon))
    return Problem(game, RATE_PARAMETERS, {k: 0.5 for k in RATE_PARAMETERS}, cybersecurity_truth(game, truth))


def sir(n_times: int | None = None, truth: str = "constant", n_trajectories: int | None = None,
        seed: int = 0, horizon: float | None = None) -> Problem:
    """The SIR game with ``(beta, gamma)`` calibrated (prior centres 0.5, 0.15).

    With ``n_trajectories`` the initial shares are :func:`sir_initial_shares` (a small
    outbreak; ``seed`` seeds them), otherwise the simulation's default.
    """
    game = SIR(**_steps(n_times, horizon))
    mu0 = None if n_trajectories is None else sir_initial_shares(n_trajectories, seed)
    return Problem(game, ("beta", "gamma"), {"beta": 0.5, "gamma": 0.15}, sir_truth(game, truth), mu0=mu0)


def mobility(n_states: int = 4, n_times: int | None = None, seed: int = 0, horizon: float | None = None) -> Problem:
    """The mobility network with ``(b, c)`` calibrated (prior centres 1, truth 1, 1.5) and the
    base rates ``q`` fixed at a seeded uniform draw in ``[0.2, 1]`` (zero diagonal)."""
    game = MobilityNetwork(n_states=n_states, **_steps(n_times, horizon))
    q = np.random.default_rng(seed).uniform(0.2, 1.0, (n_states, n_states))
    np.fill_diagonal(q, 0.0)
    return Problem(game, ("b", "c"), {"b": 1.0, "c": 1.0}, {"q": q, "b": 1.0, "c": 1.5}, fixed={"q": q})


#: The problem constructors by system name.
PROBLEMS: dict[str, Callable[..., Problem]] = {"lq": lq, "cybersecurity": cybersecurity, "sir": sir,
                                               "mobility": mobility}


def problem(system: str, **options: Any) -> Problem:
    """The reference problem ``system`` (a key of :data:`PROBLEMS`) built with ``options``."""
    if system not in PROBLEMS:
        raise ValueError(f"system must be one of {tuple(PROBLEMS)}, got {system!r}")
    return PROBLEMS[system](**options)
