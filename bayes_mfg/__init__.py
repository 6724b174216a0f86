"""bayes_mfg: Bayesian calibration of finite-state mean field games.

Importing the package enables JAX's float64 mode (``jax_enable_x64``), because the
equilibrium solver and its implicit gradients are specified to float64 accuracy.
Set the environment variable ``BAYES_MFG_X64=0`` *before* importing to keep JAX's
float32 default; solvers then pick float32-appropriate tolerances from the dtype of
``mu0``.
"""

import os as _os

import jax as _jax

if _os.environ.get("BAYES_MFG_X64", "1") != "0":
    _jax.config.update("jax_enable_x64", True)

from bayes_mfg import datasets, games, observe, paths  # noqa: E402
from bayes_mfg.data import Observations  # noqa: E402
from bayes_mfg.failures import SolverFailures  # noqa: E402
from bayes_mfg.infer import LaplaceResult, NUTSResult, SVIResult, fit_nuts, fit_svi, laplace, load, save  # noqa: E402
from bayes_mfg.model import CalibrationModel  # noqa: E402
from bayes_mfg.identifiability import IdentifiabilityReport, identifiability  # noqa: E402
from bayes_mfg.predictive import (  # noqa: E402
    PredictiveCheck,
    heldout_error,
    heldout_log_density,
    posterior_predictive,
    predictive_check,
)  # noqa: E402
from bayes_mfg.comparison import Comparison, compare, loo  # noqa: E402
from bayes_mfg.sbc import SBCResult, sbc  # noqa: E402
from bayes_mfg.parallel import shard_trajectories  # noqa: E402
from bayes_mfg.report import report  # noqa: E402
from bayes_mfg.equilibrium import (  # noqa: E402
    Anderson,
    AdjointInfo,
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
    equilibrium,
    exploitability,
)


def _bind_numpyro_submodules() -> None:
    """Re-attach loaded ``numpyro.*`` submodules to their parent packages.

    ArviZ (arviz-base) imports NumPyro lazily (``importlib.util.LazyLoader``). When ArviZ is
    imported before NumPyro, loading NumPyro through that lazy module leaves some
    submodules, e.g. ``numpyro.distributions.distribution``, in ``sys.modules`` but not
    bound as attributes of their parent, and ``numpyro.factor`` then fails with
    "module 'numpyro.distributions' has no attribute 'distribution'". Binding them is
    what a normal import does; it is a no-op when nothing is missing.
    """
    import sys

    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith("numpyro."):
            continue
        parent_name, _, child = name.rpartition(".")
        parent = sys.modules.get(parent_name)
        if parent is not None and child not in vars(parent):
            setattr(parent, child, module)


_bind_numpyro_submodules()

__version__ = "0.1.0"

__all__ = [
    "games",
    "paths",
    "observe",
    "datasets",
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
    "Comparison",
    "sbc",
    "SBCResult",
    "shard_trajectories",
    "report",
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
    "ImplicitAdjoint",
    "Unrolled",
]
