"""What the criticism functions accept: a :class:`~bayes_mfg.inference.Fit`, or an ArviZ
``DataTree`` (with its model and data where they are needed), and which sites they report."""

from __future__ import annotations

import json
from typing import Any, Mapping

import xarray as xr

from bayes_mfg._tree import posterior_variables
from bayes_mfg.data import Observations
from bayes_mfg.inference import Fit
from bayes_mfg.inference.arviz import SITE_ROLES_ATTR
from bayes_mfg.inference.sites import site_roles
from bayes_mfg.model import CalibrationModel


def check_fit(fit: Any) -> Fit:
    """``fit`` if it is a :class:`~bayes_mfg.inference.Fit` (NUTS, SVI or Laplace result), else TypeError."""
    if not isinstance(fit, Fit):
        raise TypeError(f"fit must be a bayes_mfg Fit (NUTS, SVI or Laplace result), got {type(fit).__name__}")
    return fit


def tree_and_fit(fit: Any) -> tuple[xr.DataTree, Fit | None]:
    """``(DataTree, fit or None)`` from a fit or from a ``DataTree`` alone."""
    if isinstance(fit, Fit):
        return fit.to_arviz(), fit
    if isinstance(fit, xr.DataTree):
        return fit, None
    raise TypeError(f"each fit must be a bayes_mfg Fit (NUTS, SVI or Laplace result) or an ArviZ DataTree, "
                    f"got {type(fit).__name__}")


def fit_parts(fit: Any, model: CalibrationModel | None, data: Observations | None):
    """``(tree, model, data, fit_or_None)`` from a :class:`~bayes_mfg.inference.Fit` or a ``DataTree``."""
    if isinstance(fit, Fit):
        return fit.to_arviz(), fit.model, fit.data, fit
    if isinstance(fit, xr.DataTree):
        if not isinstance(model, CalibrationModel):
            raise TypeError("model= (the CalibrationModel that produced the DataTree) is required with a "
                            "DataTree input")
        if not isinstance(data, Observations):
            raise TypeError("data= (the Observations that were fitted) is required with a DataTree input")
        if "posterior" not in fit.children:
            raise ValueError("the DataTree has no posterior group")
        return fit, model, data, None
    raise TypeError(f"fit must be a bayes_mfg Fit (NUTS, SVI or Laplace result) or an ArviZ DataTree, "
                    f"got {type(fit).__name__}")


ROLES_ATTR = SITE_ROLES_ATTR


def tree_site_roles(tree: xr.DataTree) -> dict[str, str]:
    """``{site: role}`` of the posterior's sites from a ``DataTree`` alone (no model).

    Read from the tree's ``bayes_mfg_site_roles`` attribute (written with the tree); a tree
    without it gets roles from its dims: ``"path"`` (a ``time_step`` dim), ``"equilibrium"``
    (``mu``'s dims), ``"local"`` (a ``trajectory`` dim) and ``"parameter"`` (neural-path
    weights cannot be told apart then).
    """
    text = tree.attrs.get(ROLES_ATTR)
    if text:
        return {k: str(v) for k, v in json.loads(text).items()}
    roles = {}
    for name, var in posterior_variables(tree).data_vars.items():
        dims = set(var.dims)
        if "time_step" in dims:
            roles[name] = "path"
        elif {"trajectory", "time", "state"} <= dims:
            roles[name] = "equilibrium"
        else:
            roles[name] = "local" if "trajectory" in dims else "parameter"
    return roles


def default_parameters(model: CalibrationModel, data: Observations,
                       roles: Mapping[str, str] | None = None) -> list[str]:
    """Latent sites reported by default: every path and noise parameter except network
    weights (identified only up to the network's symmetries) and latent ``mu0``.

    ``roles``: the model's :func:`~bayes_mfg.inference.site_roles` if known (a fit's
    :meth:`~bayes_mfg.inference.Fit.site_roles`); else they are computed (one trace).
    """
    roles = site_roles(model, data) if roles is None else roles
    return [s for s in model.prior_sites(data) if s != "mu0" and roles.get(s) != "network"]


def global_sites(model: CalibrationModel, data: Observations, roles: Mapping[str, str] | None = None) -> list[str]:
    """Latent sites shared by all trajectories (not of role ``"local"``; ``mu0`` only when
    shared); ``roles`` as for :func:`default_parameters`."""
    roles = site_roles(model, data) if roles is None else roles
    return [s for s in model.prior_sites(data) if roles.get(s) != "local"]


__all__ = ["check_fit", "tree_and_fit", "fit_parts", "tree_site_roles", "default_parameters", "global_sites"]
