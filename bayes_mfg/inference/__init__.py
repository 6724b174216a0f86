"""Inference for a :class:`~bayes_mfg.CalibrationModel`: SVI, NUTS and the Laplace approximation.

``fit_svi``, ``fit_nuts`` and ``laplace`` return a :class:`Fit` (``SVIResult``,
``NUTSResult``, ``LaplaceResult``) with the fitted model and data, ``posterior_draws()``,
``to_arviz()`` (an ``xarray.DataTree``: posterior, posterior_predictive, log_likelihood,
log_prior, observed_data, sample_stats with the equilibrium solver's diagnostics) and
``refit(data)``. ``site_roles`` says what every site of a model is; ``recording`` counts
the failed equilibrium and adjoint solves of the model evaluations run inside it
(``SolverFailures``); ``save`` / ``load`` write and read a DataTree as NetCDF.

Modules: :mod:`~bayes_mfg.inference.results` (the ``Fit`` interface),
:mod:`~bayes_mfg.inference.sites`, :mod:`~bayes_mfg.inference.svi`,
:mod:`~bayes_mfg.inference.nuts`, :mod:`~bayes_mfg.inference.laplace_approximation`,
:mod:`~bayes_mfg.inference.arviz` (DataTree assembly), :mod:`~bayes_mfg.inference.checkpoint`,
:mod:`~bayes_mfg.inference.failures`, :mod:`~bayes_mfg.inference.io`,
:mod:`~bayes_mfg.inference.inputs`.
"""

from bayes_mfg.inference.arviz import log_prior
from bayes_mfg.inference.failures import FailureRecorder, NoValidStart, SolverFailures, recording, without_reports
from bayes_mfg.inference.io import load, save
from bayes_mfg.inference.laplace_approximation import LaplaceResult, laplace
from bayes_mfg.inference.nuts import CHAIN_METHODS, NUTS_INITS, NUTSResult, fit_nuts
from bayes_mfg.inference.results import Fit
from bayes_mfg.inference.sites import SiteRole, site_roles
from bayes_mfg.inference.svi import GUIDES, SVIResult, fit_svi

__all__ = [
    "NoValidStart",
    "Fit",
    "SiteRole",
    "site_roles",
    "fit_svi",
    "fit_nuts",
    "laplace",
    "SVIResult",
    "NUTSResult",
    "LaplaceResult",
    "SolverFailures",
    "FailureRecorder",
    "recording",
    "without_reports",
    "log_prior",
    "save",
    "load",
    "GUIDES",
    "CHAIN_METHODS",
    "NUTS_INITS",
]
