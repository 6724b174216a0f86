"""Time stepping of finite-state jump processes: rate structures, schemes, their linear algebra.

The lowest layer of the library (below ``games``): pure array operations on one time step's
jump rates. A game holds a :class:`Scheme` and exposes a :class:`RateStructure`; the engine's
sweeps call their methods and nothing else, so a new scheme or a new rate layout plugs in
without touching the engine.
"""

from bayes_mfg.stepping.linalg import (
    MAX_SQUARINGS,
    SMALL_SOLVE_MAX_D,
    chain_solve,
    column_action,
    expm_generator,
    generator,
    m_matrix_solve,
    neighbour_solve,
    row_action,
)
from bayes_mfg.stepping.schemes import (
    DEFAULT_SCHEME,
    SCHEMES,
    Euler,
    Exponential,
    ExponentialMidpoint,
    ImplicitEuler,
    Patankar,
    Scheme,
    as_scheme,
)
from bayes_mfg.stepping.structures import Chain, Dense, Neighbours, RateStructure

__all__ = [
    "Scheme",
    "Euler",
    "ImplicitEuler",
    "Exponential",
    "ExponentialMidpoint",
    "Patankar",
    "SCHEMES",
    "DEFAULT_SCHEME",
    "as_scheme",
    "RateStructure",
    "Dense",
    "Neighbours",
    "Chain",
    "generator",
    "expm_generator",
    "m_matrix_solve",
    "neighbour_solve",
    "chain_solve",
    "row_action",
    "column_action",
    "MAX_SQUARINGS",
    "SMALL_SOLVE_MAX_D",
]
