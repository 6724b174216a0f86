"""The equilibrium engine: solver, adjoint and game-family protocols, and the solve driver.

Layer: above :mod:`bayes_mfg.games` and :mod:`bayes_mfg.stepping`, below paths, observation
models and inference. Everything here is an object with a small protocol:

* solvers (:class:`AbstractSolver`: ``init``/``step``/``terminate``/``check``) run by
  :func:`iterate`;
* adjoints (:class:`AbstractAdjoint`: ``apply``) with matrix-free linear solvers
  (:class:`AbstractLinearSolver`);
* game families (:class:`Family`), found by :func:`family_of` after :func:`register_family`;
* the sweeps of the two built-in families (:mod:`~bayes_mfg.engine.continuous_time`,
  :mod:`~bayes_mfg.engine.discrete_time`), built on :func:`sweep`.

Time-stepping schemes and rate structures are one layer down, in :mod:`bayes_mfg.stepping`.
"""

from bayes_mfg.engine import continuous_time, discrete_time  # registers the two built-in families
from bayes_mfg.engine._status import Status
from bayes_mfg.engine._sweep import sweep
from bayes_mfg.engine.adjoint import AbstractAdjoint, AdjointInfo, ImplicitAdjoint, Unrolled, solve_adjoint
from bayes_mfg.engine.continuous_time import dense_rates, hjb, kolmogorov, max_jump_probability, transition_matrix
from bayes_mfg.engine.epsilon_nash import EpsilonNash, epsilon_nash
from bayes_mfg.engine.exploitability import exploitability
from bayes_mfg.engine.family import BestResponse, Family, Solution, family_of, register_family
from bayes_mfg.engine.fixed_point import AbstractSolver, FixedPointState, SolverState, default_tol, iterate, unroll
from bayes_mfg.engine.flows import transition_flows
from bayes_mfg.engine.linear_solvers import GMRES, AbstractLinearSolver, BiCGStab, Neumann, Richardson, WithFallback
from bayes_mfg.engine.mirror_descent import MirrorDescentState, OnlineMirrorDescent, PolicyMap
from bayes_mfg.engine.solve import (
    Equilibrium,
    SolverInfo,
    adjoint_info,
    best_response_map,
    check_solver,
    default_solver,
    equilibrium,
)
from bayes_mfg.engine.solvers import Anderson, AndersonState, FictitiousPlay, Picard, PicardState

__all__ = [
    "equilibrium",
    "adjoint_info",
    "exploitability",
    "epsilon_nash",
    "EpsilonNash",
    "best_response_map",
    "hjb",
    "kolmogorov",
    "dense_rates",
    "transition_matrix",
    "max_jump_probability",
    "transition_flows",
    "Equilibrium",
    "SolverInfo",
    "Status",
    "AbstractSolver",
    "SolverState",
    "FixedPointState",
    "PicardState",
    "AndersonState",
    "MirrorDescentState",
    "Picard",
    "Anderson",
    "FictitiousPlay",
    "OnlineMirrorDescent",
    "PolicyMap",
    "AbstractAdjoint",
    "ImplicitAdjoint",
    "Unrolled",
    "AdjointInfo",
    "solve_adjoint",
    "AbstractLinearSolver",
    "GMRES",
    "BiCGStab",
    "Richardson",
    "Neumann",
    "WithFallback",
    "Family",
    "Solution",
    "BestResponse",
    "family_of",
    "register_family",
    "sweep",
    "iterate",
    "unroll",
    "default_tol",
    "default_solver",
    "check_solver",
    "continuous_time",
    "discrete_time",
]
