"""bayes_mfg: Bayesian calibration of finite-state mean field games.

Importing the package enables JAX's float64 mode (``jax_enable_x64``). This is the one
global setting the library changes, on purpose: the equilibrium is solved to
``max|G(mu) - mu| <= 1e-10`` and its implicit gradients are exact to ~1e-9 only in float64,
JAX's flag must be set before the first array is created, and a scientist who forgot a
``numpyro.enable_x64()`` call would otherwise get float32 solves (tolerance 1e-5) without
noticing. Set the environment variable ``BAYES_MFG_X64=0`` *before* importing to keep
JAX's float32 default; solvers then pick float32 tolerances from the dtype of ``mu0``, and
``bm.equilibrium`` warns (once per calling line) that it is solving in float32. Nothing
else happens at import: the public names are loaded on first use (PEP 562), so
``import bayes_mfg`` and ``bayes-mfg --help`` do not import JAX; the float64 flag is set
through ``JAX_ENABLE_X64`` before JAX is first imported, or with ``jax.config.update`` when
it already is (the NumPyro/ArviZ work-around in :mod:`bayes_mfg._compat` runs on first use
too).

Layers, lowest first (checked by ``make lint``): ``stepping`` (schemes, rate structures)
< ``games`` < ``engine`` (solvers, adjoints, families) < ``paths`` / ``observe`` < ``model``
< ``inference`` < ``criticism`` < ``problems`` < ``cli``.
"""

import importlib as _importlib
import os as _os
import sys as _sys
from typing import TYPE_CHECKING

_X64 = _os.environ.get("BAYES_MFG_X64", "1") != "0"
if "jax" in _sys.modules:
    _sys.modules["jax"].config.update("jax_enable_x64", _X64)
else:
    _os.environ["JAX_ENABLE_X64"] = "1" if _X64 else "0"

#: The submodule that defines each public name (loaded on first access).
_HOMES = {
    **dict.fromkeys(("criticism", "datasets", "engine", "games", "observe", "paths", "problems", "stepping"), None),
    **dict.fromkeys(("Comparison", "IdentifiabilityReport", "PredictiveCheck", "SBCResult", "compare", "heldout_error",
                     "heldout_log_density", "identifiability", "lfo", "loo", "posterior_predictive",
                     "predictive_check", "report", "sbc", "time_step_check"), "criticism"),
    "Observations": "data",
    **dict.fromkeys(("AdjointInfo", "Anderson", "Equilibrium", "FictitiousPlay", "ImplicitAdjoint",
                     "OnlineMirrorDescent", "Picard", "SolverInfo", "Status", "Unrolled", "adjoint_info",
                     "best_response_map", "epsilon_nash", "equilibrium", "exploitability"), "engine"),
    **dict.fromkeys(("Fit", "LaplaceResult", "NUTSResult", "SolverFailures", "SVIResult", "fit_nuts", "fit_svi",
                     "laplace", "load", "save"), "inference"),
    "CalibrationModel": "model",
    "shard_trajectories": "parallel",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name, ...)
    if home is ...:
        raise AttributeError(f"module 'bayes_mfg' has no attribute {name!r}")
    if home is None:
        value = _importlib.import_module(f"bayes_mfg.{name}")
    else:
        value = getattr(_importlib.import_module(f"bayes_mfg.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs: the names __getattr__ loads
    from bayes_mfg import criticism, datasets, engine, games, observe, paths, problems, stepping  # noqa: F401
    from bayes_mfg.criticism import (  # noqa: F401
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
    from bayes_mfg.data import Observations  # noqa: F401
    from bayes_mfg.engine import (  # noqa: F401
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
    from bayes_mfg.inference import (  # noqa: F401
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
    from bayes_mfg.model import CalibrationModel  # noqa: F401
    from bayes_mfg.parallel import shard_trajectories  # noqa: F401

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

if set(_HOMES) != set(__all__):  # pragma: no cover  (a developer's slip, caught at import)
    raise ImportError(f"bayes_mfg: __all__ and the lazy-import table differ: {set(_HOMES) ^ set(__all__)}")
