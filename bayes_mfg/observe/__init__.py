"""Observation models: the noise linking the equilibrium distribution to the data.

An observation model turns the predicted population shares ``mu`` of shape
``(n_traj, n_times, d)`` (each row on the simplex; entries may be exactly 0) into a
likelihood for an :class:`~bayes_mfg.data.Observations` container, by declaring one NumPyro
sample site::

    obs_model = Dirichlet(concentration=dist.LogNormal(7.0, 1.0))
    obs_model("y", mu, data)            # observed site "y" plus the parameter site "y_concentration"
    obs_model("y", mu)                  # no data: the site is sampled (prior / posterior predictive)

Every model's site has ``batch_shape == (n_traj, n_times)`` and ``event_shape == (d,)``:
``numpyro.infer.log_likelihood`` gives one pointwise log-likelihood per (trajectory, time),
the unit of PSIS-LOO, the same for every observation model.

Masks
-----
An entry with ``mask == False`` contributes nothing, and a row with no observed entry has
log-probability exactly 0. The share-type models use aggregation so that a partially
observed row needs no imputation:

* if ``X ~ Dirichlet(alpha)`` then ``X_S / sum(X_S) ~ Dirichlet(alpha_S)`` for the observed
  states ``S``;
* if ``C ~ Multinomial(n, p)`` then ``C_S | sum(C_S) ~ Multinomial(sum(C_S), p_S / sum(p_S))``;
* if ``X = softmax(log mu + scale * eps)`` with iid standard normal ``eps`` then
  ``X_S / sum(X_S) = softmax(log mu_S + scale * eps_S)``.

So a row with a single observed state carries no information under those models
(log-probability 0). The count models ``Poisson`` and ``NegativeBinomial`` are independent
across states and simply drop unobserved states.

Known and learned parameters
----------------------------
Every scalar parameter of a model (``concentration``, ``exposure``, ``scale``) is either
*known* (a finite float > 0) or *learned* (a scalar ``numpyro.distributions.Distribution``
with non-negative support, the prior): a learned parameter ``p`` of the site ``name`` is the
sample site ``f"{name}_{p}"``. The numerical floors (``alpha_floor``, ``rate_floor``,
``mu_floor``) are always known.

Readouts
--------
The data's columns need not be the states: a :class:`Readout` maps the equilibrium flow to
what is observed (:class:`Linear` functionals ``<w, mu_t>``, :class:`CoarseGrain`
histogram bins, :class:`Increments` changes over the observation intervals, :class:`Hazard`
entries into an absorbing set, with :func:`at_risk`, :class:`Transitions` flows along
jumps from the equilibrium's rates) and the model
observes that (``CalibrationModel(..., readout=...)``). :class:`Binomial` (counts out of a
known number of trials), :class:`Arrivals` (a group's entries per interval, the exact
likelihood on a :class:`Hazard`), :class:`ReportedCounts` (incidence counts with a reporting
fraction and day-of-week effects) and :class:`Normal` (real values, ``kind="values"``) model
independent entries such as one functional; each model states what it ``needs`` (shares,
probabilities, non-negative or real values) and a model pairing it with a readout giving
something else is refused.

The distributions behind the sites (:class:`MaskedDirichlet`, :class:`MaskedMultinomial`,
:class:`MaskedPoisson`, :class:`MaskedNegativeBinomial`, :class:`MaskedLogisticNormal`,
:class:`MaskedBinomial`, :class:`MaskedNormal`)
take a ``state_mask`` and can be used on their own; their ``sample`` ignores the mask and
draws the full vector.
"""

from __future__ import annotations

from bayes_mfg.observe._base import ObservationModel
from bayes_mfg.observe.distributions import (
    MaskedBinomial,
    MaskedDirichlet,
    MaskedLogisticNormal,
    MaskedMultinomial,
    MaskedNegativeBinomial,
    MaskedNormal,
    MaskedPoisson,
    SequentialBinomial,
)
from bayes_mfg.observe.models import (
    Arrivals,
    Binomial,
    Dirichlet,
    LogisticNormal,
    Multinomial,
    NegativeBinomial,
    Normal,
    Poisson,
    ReportedCounts,
)
from bayes_mfg.observe.readouts import CoarseGrain, Hazard, Increments, Linear, Readout, Transitions, at_risk

__all__ = [
    "ObservationModel",
    "Dirichlet",
    "Multinomial",
    "Poisson",
    "NegativeBinomial",
    "ReportedCounts",
    "LogisticNormal",
    "Binomial",
    "Arrivals",
    "Normal",
    "Readout",
    "Linear",
    "CoarseGrain",
    "Increments",
    "Hazard",
    "Transitions",
    "at_risk",
    "MaskedBinomial",
    "MaskedNormal",
    "SequentialBinomial",
    "MaskedDirichlet",
    "MaskedMultinomial",
    "MaskedPoisson",
    "MaskedNegativeBinomial",
    "MaskedLogisticNormal",
]
