"""Parameter paths ``gamma(t, x, mu)`` as NumPyro sub-models.

Every calibrated game parameter is a *path*: its value at each point of the game's time
grid, possibly different for each observed trajectory. A :class:`ParameterPath` is a
small NumPyro sub-model. Called inside a model as ``values = path(name, spec, ctx)``, it
declares its sample / param / deterministic sites (all named with the prefix ``name``) and
returns the parameter values with shape ``(n_traj, N, *spec.shape)``; trajectory ``j``
uses ``values[j]`` (shape ``(N, *spec.shape)``, what :meth:`Game.params` expects).

Five paths are provided:

* :class:`Constant`: one value for all times and trajectories, with a prior on the value;
* :class:`TimeSpline`: a clamped B-spline in time whose coefficients follow a Gaussian
  random walk (a smoothness prior), written non-centred for NUTS;
* :class:`Regression`: known covariates (policies, vaccination) with effects to learn,
  ``link(b + sum_k w_k z_k(t) + s(t))`` with an optional TimeSpline residual ``s``;
* :class:`Neural`: an equinox MLP of ``t / T`` and the observed shares ``mu_t`` of each
  trajectory (a point network trained by SVI, or Bayesian weights);
* :class:`Hierarchical`: per-trajectory paths drawn around a population Constant or
  TimeSpline.

Links
-----
Spline and neural paths compute an unconstrained ``eta`` and map it to the parameter's
scale with a link. With ``link="auto"`` a parameter with a lower bound (``spec.lower`` not
None) gets ``softplus`` and an unbounded one ``identity``. For the positive links::

    value = (spec.lower or 0) + floor + link(eta),     link in {softplus, exp}

so a bounded parameter stays at least ``floor`` above its bound for any ``eta``. A parameter
bounded on both sides (``spec.upper`` set too) gets ``logistic``,
``value = lower + floor + (upper - lower - 2 floor) sigmoid(eta)``. For
``identity``, ``value = eta`` (no bound is enforced, also when ``spec.lower`` is set).
:func:`inverse_link` inverts this map (used to centre priors and initialise networks at a
chosen value).
"""

from __future__ import annotations

from bayes_mfg.paths._base import ParameterPath
from bayes_mfg.paths._bspline import bspline_basis
from bayes_mfg.paths._context import PathContext
from bayes_mfg.paths._links import LINKS, apply_link, inverse_link
from bayes_mfg.paths.constant import Constant, as_path
from bayes_mfg.paths.hierarchical import Hierarchical
from bayes_mfg.paths.neural import ACTIVATIONS, Neural, NeuralField
from bayes_mfg.paths.regression import Regression
from bayes_mfg.paths.spline import TimeSpline

__all__ = [
    "PathContext",
    "ParameterPath",
    "Constant",
    "TimeSpline",
    "Regression",
    "Neural",
    "NeuralField",
    "Hierarchical",
    "as_path",
    "bspline_basis",
    "apply_link",
    "inverse_link",
    "LINKS",
    "ACTIVATIONS",
]

