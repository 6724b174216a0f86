"""The common interface of fitted posteriors: :class:`Fit`.

:class:`~bayes_mfg.inference.NUTSResult`, :class:`~bayes_mfg.inference.SVIResult` and
:class:`~bayes_mfg.inference.LaplaceResult` implement it. Code that criticises a fit
(predictive checks, identifiability, model comparison, reports) uses only this interface
(``isinstance(fit, Fit)``, :meth:`Fit.posterior_draws`, :meth:`Fit.to_arviz`,
:meth:`Fit.refit`, :meth:`Fit.site_roles`), never the concrete classes, so a new kind of
fit plugs in by subclassing :class:`Fit`.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from bayes_mfg.data import Observations
from bayes_mfg.inference.sites import SiteRole, site_roles
from bayes_mfg.model import CalibrationModel

if TYPE_CHECKING:  # typing only
    import xarray as xr

__all__ = ["Fit"]


class Fit(abc.ABC):
    """A fitted posterior of a :class:`~bayes_mfg.CalibrationModel` given observations.

    Every result of :func:`~bayes_mfg.fit_nuts`, :func:`~bayes_mfg.fit_svi` and
    :func:`~bayes_mfg.laplace` is a ``Fit``; the criticism functions (identifiability,
    predictive checks, LOO and K-fold refits) need nothing else of it.

    Attributes
    ----------
    model
        The fitted :class:`~bayes_mfg.CalibrationModel`.
    data
        The :class:`~bayes_mfg.Observations` it was fitted to.
    method
        ``"nuts"``, ``"svi"`` or ``"laplace"`` (a class attribute).

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=10)
    >>> sim = bm.datasets.simulate(game, {"gamma": 1.3}, 4, bm.observe.Dirichlet(500.0), seed=0)
    >>> model = bm.CalibrationModel(game, {"gamma": dist.LogNormal(0.0, 0.5)}, bm.observe.Dirichlet(500.0))
    >>> fit = bm.fit_svi(model, sim.data, guide="delta", num_steps=50, progress_bar=False)  # doctest: +SKIP
    >>> isinstance(fit, bm.Fit), fit.method, sorted(fit.posterior_draws(num_samples=10))  # doctest: +SKIP
    (True, 'svi', ['gamma'])
    """

    model: CalibrationModel
    data: Observations
    method: ClassVar[str]

    @abc.abstractmethod
    def posterior_draws(self, num_samples: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """Posterior draws of every latent sample site, ``{site: (S, ...)}`` (chains
        concatenated): sites of role ``"parameter"``, ``"local"`` and ``"network"`` (select
        with :meth:`site_roles`), on the sites' own (constrained) scale.

        ``num_samples``: for a sampler, thin the kept draws evenly to this many (None: all of
        them); for an approximation, the number of draws (None: 500). ``seed`` seeds draws
        from an approximation.
        """

    @abc.abstractmethod
    def to_arviz(self) -> "xr.DataTree":
        """ArviZ ``DataTree`` with the groups posterior, posterior_predictive,
        log_likelihood, log_prior, observed_data and sample_stats."""

    @abc.abstractmethod
    def refit(self, data: Observations) -> "Fit":
        """The same method with the same settings (and seed) fitted to other ``data``
        (e.g. the folds of K-fold cross-validation)."""

    def point_params(self) -> dict[str, Any]:
        """Point-estimated model parameters (NumPyro ``param`` sites, e.g. a non-Bayesian
        neural path's weights) to substitute into the model with the draws; ``{}`` unless
        the method estimates some (SVI)."""
        return {}

    def site_roles(self) -> dict[str, SiteRole]:
        """``{site: SiteRole}`` of the fitted model on the fitted data (one trace, cached)."""
        cached = self.__dict__.get("_site_roles_cache")
        if cached is None:
            cached = site_roles(self.model, self.data, self.point_params() or None)
            self.__dict__["_site_roles_cache"] = cached  # also on frozen dataclasses
        return dict(cached)
