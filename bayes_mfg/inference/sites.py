"""The role of every site of a :class:`~bayes_mfg.CalibrationModel`, from one trace.

Criticism, reports and the ArviZ conversion need to tell a global parameter from a
per-trajectory latent, a neural path's weights, a recorded parameter path or a solver
diagnostic. They ask :func:`site_roles` instead of parsing site names: the roles come from
the site types of one trace of the model (sample / observed / deterministic / param), the
sites the model declares itself (:meth:`CalibrationModel.declared_site_roles`), the path
that created each site (the model tags them) and the sites' dims (``"trajectory"``).
"""

from __future__ import annotations

import enum
from typing import Any

import jax
import numpyro

from bayes_mfg.data import Observations
from bayes_mfg.inference.failures import without_reports
from bayes_mfg.model import PATH_TAG, CalibrationModel
from bayes_mfg.paths import Neural

__all__ = ["SiteRole", "LATENT_ROLES", "DETERMINISTIC_ROLES", "site_roles", "sites_with_role"]


class SiteRole(enum.StrEnum):
    """Roles of model sites (a ``str``: ``role == "parameter"`` works)."""

    #: a latent sample site shared by all trajectories
    PARAMETER = "parameter"
    #: a latent sample site with one value per trajectory (latent ``mu0``, hierarchical offsets)
    LOCAL = "local"
    #: a latent sample site of a neural path's weights (``Neural(bayesian=True)``)
    NETWORK = "network"
    #: a point-estimated parameter (a NumPyro ``param`` site, e.g. ``Neural(bayesian=False)``'s
    #: weights, fitted by SVI)
    POINT = "point"
    #: the deterministic site ``f"{name}_path"``: a parameter's values on the time grid
    PATH = "path"
    #: solver diagnostics (convergence, iterations, residual per trajectory)
    SOLVER = "solver"
    #: the equilibrium shares at the observed times (``mu``)
    EQUILIBRIUM = "equilibrium"
    #: the observation site (``obs``)
    OBSERVATION = "observation"
    #: any other deterministic site (e.g. spline weights, per-trajectory values)
    DERIVED = "derived"
    #: a log-density term (``equilibrium_failure``)
    FACTOR = "factor"


#: Roles of latent sample sites (what a posterior is over).
LATENT_ROLES = frozenset({SiteRole.PARAMETER, SiteRole.LOCAL, SiteRole.NETWORK})
#: Roles of deterministic sites (functions of the latent sites, recorded with every draw).
DETERMINISTIC_ROLES = frozenset({SiteRole.PATH, SiteRole.SOLVER, SiteRole.EQUILIBRIUM, SiteRole.DERIVED})


def site_roles(model: CalibrationModel, data: Observations, params: dict[str, Any] | None = None) -> dict[str, SiteRole]:
    """``{site: SiteRole}`` for every sample, deterministic and param site of ``model(data)``.

    Parameters
    ----------
    model, data
        The calibration model and observations it is evaluated on (one seeded trace; this
        solves the equilibria once, without failure reports).
    params
        Optional point values substituted into the trace (e.g. an SVI fit's ``params``).

    Returns
    -------
    dict
        In trace order; plates are left out.

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=10)
    >>> data = bm.datasets.simulate(game, {"gamma": 1.0}, 2, bm.observe.Dirichlet(500.0), seed=0).data
    >>> model = bm.CalibrationModel(game, {"gamma": dist.LogNormal(0.0, 1.0)}, bm.observe.Dirichlet(500.0))
    >>> roles = bm.inference.site_roles(model, data)
    >>> roles["gamma"], roles["gamma_path"], roles["solver_residual"], roles["obs"]
    (<SiteRole.PARAMETER: 'parameter'>, <SiteRole.PATH: 'path'>, <SiteRole.SOLVER: 'solver'>, <SiteRole.OBSERVATION: 'observation'>)
    """
    fn = numpyro.handlers.seed(without_reports(model), rng_seed=0)
    if params:
        fn = numpyro.handlers.substitute(fn, data=params)
    trace = _abstract_trace(fn, data)
    declared = model.declared_site_roles()
    dims = model.site_dims()
    roles: dict[str, SiteRole] = {}
    for name, site in trace.items():
        kind = site["type"]
        if kind not in ("sample", "deterministic", "param"):
            continue
        made_by = (site.get("infer") or {}).get(PATH_TAG)
        if name in declared:
            roles[name] = SiteRole(declared[name])
        elif kind == "param":
            roles[name] = SiteRole.POINT
        elif kind == "deterministic":
            roles[name] = SiteRole.DERIVED
        elif site["is_observed"]:
            roles[name] = SiteRole.FACTOR
        elif made_by is not None and isinstance(model.paths[made_by], Neural):
            roles[name] = SiteRole.NETWORK
        else:
            plated = any(frame.name == "trajectory" for frame in site.get("cond_indep_stack", ()))
            local = plated or "trajectory" in dims.get(name, ())
            roles[name] = SiteRole.LOCAL if local else SiteRole.PARAMETER
    return roles


def _abstract_trace(fn: Any, data: Observations) -> dict[str, dict[str, Any]]:
    """The sites of one trace of ``fn(data)`` (types, plates, tags), evaluated abstractly.

    Roles need the trace's structure, never its values, so the model runs under
    :func:`jax.eval_shape`: nothing is compiled or solved (a concrete trace compiled and ran
    every equilibrium of the data once, about as long as the fit's own first compile).
    """
    sites: dict[str, dict[str, Any]] = {}

    def structure() -> int:
        for name, site in numpyro.handlers.trace(fn).get_trace(data).items():
            sites[name] = {"type": site["type"], "is_observed": site.get("is_observed", False),
                           "infer": site.get("infer"), "cond_indep_stack": site.get("cond_indep_stack", ())}
        return 0

    jax.eval_shape(structure)
    return sites


def sites_with_role(roles: dict[str, SiteRole], *wanted: str) -> list[str]:
    """The sites of ``roles`` (from :func:`site_roles`) whose role is one of ``wanted``."""
    return [k for k, v in roles.items() if v in wanted]
