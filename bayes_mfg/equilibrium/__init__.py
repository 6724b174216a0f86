"""The equilibrium engine: sweeps, fixed-point solvers, implicit differentiation."""

from bayes_mfg.equilibrium.adjoint import AdjointInfo, ImplicitAdjoint, Unrolled, solve_adjoint
from bayes_mfg.equilibrium.dynamics import best_response_map, generator, hjb, kolmogorov, max_jump_probability
from bayes_mfg.equilibrium.exploitability import exploitability
from bayes_mfg.equilibrium.solve import Equilibrium, SolverInfo, Status, adjoint_info, equilibrium
from bayes_mfg.equilibrium.solvers import Anderson, FictitiousPlay, OnlineMirrorDescent, Picard, iterate, unroll

__all__ = [
    "equilibrium",
    "adjoint_info",
    "exploitability",
    "best_response_map",
    "hjb",
    "kolmogorov",
    "generator",
    "max_jump_probability",
    "Equilibrium",
    "SolverInfo",
    "Status",
    "Picard",
    "Anderson",
    "FictitiousPlay",
    "OnlineMirrorDescent",
    "ImplicitAdjoint",
    "Unrolled",
    "AdjointInfo",
    "solve_adjoint",
    "iterate",
    "unroll",
]
