"""bayes_mfg: Bayesian calibration of finite-state mean field games.

Importing the package enables JAX's float64 mode (``jax_enable_x64``). This is the one
global setting the library changes, on purpose: the equilibrium is solved to
``max|G(mu) - mu| <= 1e-10`` and its implicit gradients are exact to ~1e-9 only in float64,
JAX's flag must be set before the first array is created, and a scientist who forgot a
``numpyro.enable_x64()`` call would otherwise get float32 solves (tolerance 1e-5) without
noticing. Set the environment variable ``BAYES_MFG_X64=0`` *before* importing to keep
JAX's float32 default; solvers then pick float32 tolerances from the dtype of ``mu0``, and
``bm.equilibrium`` warns (once per calling line) that it is solving in float32. Nothing
else happens at import (the NumPyro/ArviZ work-around in :mod:`bayes_mfg._compat` runs on
first use).

Layers, lowest first (checked by ``make lint``): ``stepping`` (schemes, rate structures)
< ``games`` < ``engine`` (solvers, adjoints, families) < ``paths`` / ``observe`` < ``model``
< ``inference`` < ``criticism`` < ``problems`` < ``cli``.
"""

import os as _os

import jax as _jax

if _os.environ.get("BAYES_MFG_X64", "1") != "0":
    _jax.config.update("jax_enable_x64", True)

from bayes_mfg import (  # noqa: E402
    criticism,  # noqa: E402
    datasets,
    engine,
    games,
    observe,
    paths,
    problems,  # noqa: E402
    stepping,
)
from bayes_mfg.criticism import (  # noqa: E402
    Comparison,
    IdentifiabilityReport,
    PredictiveCheck,
    SBCResult,
    compare,
    heldout_error,
    heldout_log_density,
    identifiability,
    lfo,
    loo,
    posterior_predictive,
    predictive_check,
    report,
    sbc,
    time_step_check,
)
from bayes_mfg.data import Observations  # noqa: E402
from bayes_mfg.engine import (  # noqa: E402
    AdjointInfo,
    Anderson,
    Equilibrium,
    FictitiousPlay,
    ImplicitAdjoint,
    OnlineMirrorDescent,
    Picard,
    SolverInfo,
    Status,
    Unrolled,
    adjoint_info,
    best_response_map,
    epsilon_nash,
    equilibrium,
    exploitability,
)
from bayes_mfg.inference import (  # noqa: E402
    Fit,
    LaplaceResult,
    NUTSResult,
    SolverFailures,
    SVIResult,
    fit_nuts,
    fit_svi,
    laplace,
    load,
    save,
)
from bayes_mfg.model import CalibrationModel  # noqa: E402
from bayes_mfg.parallel import shard_trajectories  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "games",
    "engine",
    "stepping",
    "problems",
    "paths",
    "observe",
    "datasets",
    "criticism",
    "Observations",
    "CalibrationModel",
    "fit_svi",
    "fit_nuts",
    "laplace",
    "identifiability",
    "IdentifiabilityReport",
    "posterior_predictive",
    "predictive_check",
    "PredictiveCheck",
    "heldout_error",
    "heldout_log_density",
    "compare",
    "loo",
    "lfo",
    "Comparison",
    "sbc",
    "SBCResult",
    "time_step_check",
    "shard_trajectories",
    "report",
    "Fit",
    "LaplaceResult",
    "SVIResult",
    "NUTSResult",
    "SolverFailures",
    "save",
    "load",
    "equilibrium",
    "best_response_map",
    "adjoint_info",
    "Equilibrium",
    "SolverInfo",
    "AdjointInfo",
    "Status",
    "Picard",
    "Anderson",
    "FictitiousPlay",
    "OnlineMirrorDescent",
    "exploitability",
    "epsilon_nash",
    "ImplicitAdjoint",
    "Unrolled",
]
