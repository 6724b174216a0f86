"""Criticism of a calibration: what the data identify, how well the fit predicts, which model
predicts best, whether the posteriors are calibrated, and a report of it all.

Every function takes a fit (:class:`bayes_mfg.inference.Fit`: a NUTS, SVI or Laplace
result) and uses only that interface, so a new kind of fit needs no change here.

* :func:`identifiability` (:class:`IdentifiabilityReport`): prior-to-posterior contraction,
  correlations, Laplace eigen-directions, power-scaling sensitivity;
* :func:`posterior_predictive`, :func:`predictive_check` (:class:`PredictiveCheck`),
  :func:`heldout_error`, :func:`heldout_log_density`: predictions on fitted or new trajectories;
* :func:`loo`, :func:`compare` (:class:`Comparison`): PSIS-LOO with a K-fold fallback;
* :func:`lfo`, :func:`psis_lfo` (:class:`LFOResult`): leave-future-out cross-validation of
  one long series (PSIS-LFO, refitting where Pareto k is bad, or exact);
* :func:`sbc` (:class:`SBCResult`), :func:`rank_test`: simulation-based calibration;
* :func:`time_step_check` (:class:`TimeStepCheck`): whether the game's time step moves the
  posterior (the draws re-weighted to a grid with half the step);
* :func:`report`: all of it in one HTML or Markdown file.

The implementation lives in private modules; the functions are exported here, so that
``bayes_mfg.criticism`` is the package and ``bayes_mfg.identifiability`` the function.
"""

from bayes_mfg.criticism._comparison import Comparison, ModelLOO, compare, loo, pointwise_log_likelihood
from bayes_mfg.criticism._identifiability import IdentifiabilityReport, identifiability
from bayes_mfg.criticism._lfo import LFOResult, lfo, psis_lfo
from bayes_mfg.criticism._predictive import (
    PredictiveCheck,
    heldout_error,
    heldout_log_density,
    posterior_predictive,
    predictive_check,
)
from bayes_mfg.criticism._report import report
from bayes_mfg.criticism._sbc import SBCResult, rank_test, sbc
from bayes_mfg.criticism._time_step import TIME_STEP_THRESHOLD, TimeStepCheck, time_step_check

__all__ = [
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
    "ModelLOO",
    "pointwise_log_likelihood",
    "lfo",
    "psis_lfo",
    "LFOResult",
    "sbc",
    "SBCResult",
    "rank_test",
    "time_step_check",
    "TimeStepCheck",
    "TIME_STEP_THRESHOLD",
    "report",
]
