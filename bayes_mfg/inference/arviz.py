"""Assembling a fit's ArviZ ``DataTree``: groups, dims, coordinates and attributes.

Every fit converts to the same layout: groups posterior, posterior_predictive,
log_likelihood, log_prior, observed_data and sample_stats (the sampler's statistics plus
the equilibrium solver's convergence, iterations and residual per draw and trajectory),
dims ``chain, draw, trajectory, time, state, time_step`` and the parameters' own dims; the
attributes record the method, its settings, the model and the library versions.
"""

from __future__ import annotations

import importlib.metadata as md
import json
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import xarray as xr
from numpyro.infer import Predictive
from numpyro.infer.util import log_density

from bayes_mfg._compat import rebind_numpyro_submodules
from bayes_mfg._tree import DETERMINISTIC_GROUP, PRIOR_DETERMINISTIC_GROUP
from bayes_mfg.data import Observations
from bayes_mfg.inference.failures import SolverFailures, without_reports
from bayes_mfg.inference.sites import DETERMINISTIC_ROLES, LATENT_ROLES, SiteRole
from bayes_mfg.model import CalibrationModel

__all__ = ["PRIOR_DRAWS", "VERSIONED_PACKAGES", "prior_group", "versions", "fit_attrs", "build_datatree", "tree_name", "log_prior", "predict_and_loglik",
           "draws_with_deterministic", "single_chain_tree"]

#: Packages whose versions are recorded in the attributes of every DataTree.
VERSIONED_PACKAGES = ("bayes_mfg", "jax", "jaxlib", "numpyro", "optax", "arviz", "arviz-base", "arviz-stats",
                      "xarray", "numpy", "h5netcdf")


def versions() -> dict[str, str]:
    """``{package: version}`` of :data:`VERSIONED_PACKAGES` (``"unknown"`` if not installed)."""
    out = {}
    for pkg in VERSIONED_PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def fit_attrs(model: CalibrationModel, method: str, seed: int, settings: dict) -> dict[str, Any]:
    """The attributes of a fit's DataTree: method, seed, model parts, ``setting_*`` and ``version_*``."""
    out = {
        "inference_library": "numpyro",
        "bayes_mfg_method": method,
        "seed": seed,
        "game": repr(model.game),
        "observation": repr(model.observation),
        "paths": repr(dict(model.paths)),
        "solver": repr(model.solver),
        "adjoint": repr(model.adjoint),
        **{f"setting_{k}": v for k, v in settings.items()},
    }
    out.update({f"version_{k}": v for k, v in versions().items()})
    return out


#: DataTree attribute holding the sites' roles ``{site: role}`` (JSON), so that a saved tree
#: can be criticised without its model.
SITE_ROLES_ATTR = "bayes_mfg_site_roles"


def tree_name(site: str) -> str:
    """The variable name of sample site ``site`` in a DataTree: ``"/"`` (a network's weight
    sites, ``"gamma_net/layers[0].weight"``) becomes ``"."``, which xarray allows."""
    return site.replace("/", ".")


def build_datatree(
    model: CalibrationModel,
    data: Observations,
    roles: dict[str, SiteRole],
    draws: dict[str, np.ndarray],
    predictive_obs: np.ndarray,
    log_lik: np.ndarray,
    sample_stats: dict[str, np.ndarray],
    attrs: dict[str, Any],
    extra_groups: dict[str, xr.Dataset] | None = None,
    log_prior_draws: np.ndarray | None = None,
) -> xr.DataTree:
    """Assemble the DataTree; every array has leading (chain, draw) dims. Sites of role
    ``"solver"`` go to sample_stats, the other draws (but ``obs``) to posterior."""
    from arviz_base import from_dict  # ArviZ is imported only when a tree is built

    rebind_numpyro_submodules()  # where ArviZ is first used (see bayes_mfg._compat)

    # xarray names may not hold "/", which Bayesian network weights do ("gamma_net/layers[0].weight")
    draws = {tree_name(k): v for k, v in draws.items()}
    roles = {tree_name(k): v for k, v in roles.items()}
    dims = {tree_name(k): v for k, v in model.site_dims().items()}
    solver = [k for k in draws if roles.get(k) == SiteRole.SOLVER]
    kept = {k: v for k, v in draws.items() if k not in solver and roles.get(k) != SiteRole.OBSERVATION}
    posterior = {k: v for k, v in kept.items() if roles.get(k) in LATENT_ROLES}
    deterministic = {k: v for k, v in kept.items() if k not in posterior}
    stats = dict(sample_stats)
    stats.update({k: draws[k] for k in solver})
    observed = np.where(data.mask, data.values, np.nan)
    coords = {
        "trajectory": list(data.trajectory_names),
        "time": np.asarray(data.times),
        "state": list(data.state_names),
        "time_step": np.asarray(model.game.time_grid),
    }
    coords.update(model.game.dim_coords())  # labelled axes of the game's parameters (e.g. moves)
    for name, path in model.paths.items():  # labelled axes of path sites (covariate names)
        coords.update(path.coords(name))
    coords.update(model.observation.coords("obs"))  # labelled axes of observation parameter sites
    if model.readout is not None:  # the data's columns are the readout's outputs, not the states
        coords["state"] = list(model.game.state_names)
        coords[model.observed_dim] = list(data.state_names)
    tree = from_dict(
        {
            "posterior": posterior,
            **({DETERMINISTIC_GROUP: deterministic} if deterministic else {}),
            "posterior_predictive": {"obs": predictive_obs},
            "log_likelihood": {"obs": log_lik},
            **({"log_prior": {"lp": log_prior_draws}} if log_prior_draws is not None else {}),
            "sample_stats": stats,
            "observed_data": {"obs": observed},
        },
        coords=coords,
        dims={k: list(v) for k, v in dims.items()},
    )
    tree.attrs.update({k: str(v) for k, v in attrs.items()})
    tree.attrs[SITE_ROLES_ATTR] = json.dumps({k: str(v) for k, v in roles.items()}, sort_keys=True)
    # the mask is a coordinate of the observations, not a data variable (ArviZ plots every data variable)
    tree["observed_data"] = tree["observed_data"].to_dataset().assign_coords(
        mask=(("trajectory", "time", model.observed_dim), np.asarray(data.mask)))
    latent = [k for k in posterior if roles.get(k) in LATENT_ROLES]
    if latent:
        paths = [k for k in deterministic if roles.get(k) == SiteRole.PATH]
        prior, prior_paths = prior_group(model, data, latent, paths, dims, coords, int(attrs.get("seed", 0)))
        tree["prior"] = xr.DataTree(prior)
        if paths:
            tree[PRIOR_DETERMINISTIC_GROUP] = xr.DataTree(prior_paths)
    if data.mu0 is not None and not model.uses_latent_mu0(data):
        tree["constant_data"] = xr.DataTree(xr.Dataset(
            {"mu0": (("trajectory", "state"), np.asarray(data.mu0))},
            coords={"trajectory": coords["trajectory"], "state": list(model.game.state_names)}))
    for name, ds in (extra_groups or {}).items():
        tree[name] = xr.DataTree(ds)
    return tree


#: Number of prior draws in a DataTree's ``prior`` group.
PRIOR_DRAWS = 500


def prior_group(model: CalibrationModel, data: Observations, names: list[str], paths: list[str],
                dims: dict[str, Any], coords: dict[str, Any], seed: int) -> tuple[xr.Dataset, xr.Dataset]:
    """The ``prior`` group and its deterministic companion: :data:`PRIOR_DRAWS` prior draws
    (one chain) of the latent sites ``names`` and of the path sites ``paths`` (tree names),
    with the posterior's dims; no equilibrium is solved."""
    draws = {tree_name(k): v for k, v in model.sample_prior(data, num_samples=PRIOR_DRAWS, seed=seed + 7).items()}

    def group(sites: list[str]) -> xr.Dataset:
        out = {}
        for name in sites:
            value = np.asarray(draws[name])[None]
            own = list(dims.get(name, ()))[: value.ndim - 2]
            own += [f"{name}_dim_{i}" for i in range(len(own), value.ndim - 2)]
            out[name] = (("chain", "draw", *own), value)
        used = {d for _, (ds, _) in out.items() for d in ds}
        return xr.Dataset(out, coords={k: v for k, v in coords.items() if k in used}).assign_coords(
            chain=[0], draw=np.arange(PRIOR_DRAWS))

    return group(names), group([k for k in paths if k in draws])


def log_prior(model: CalibrationModel, data: Observations, samples: dict[str, Any], params: dict | None = None) -> np.ndarray:
    """Log prior density of each draw, ``(n_draws,)``: the sum over the latent sites.

    ``samples`` holds flat draws ``{site: (n_draws, ...)}`` on the sites' own scale
    (as in the ``posterior`` group). Evaluated on the prior part of the model
    (:meth:`CalibrationModel.parameters`) plus the learned observation-noise parameters,
    so no equilibrium is solved.
    """
    fn = model.parameters if not params else numpyro.handlers.substitute(model.parameters, data=params)
    obs_sites = {f"obs_{f}": getattr(model.observation, f) for f in model.observation.learned}

    def one(draw):
        lp, _ = log_density(fn, (data,), {}, {k: v for k, v in draw.items() if k not in obs_sites})
        for site, prior in obs_sites.items():
            lp = lp + jnp.sum(prior.log_prob(draw[site]))
        return lp

    return np.asarray(jax.vmap(one)(samples))


def predict_and_loglik(model: CalibrationModel, data: Observations, latent_flat: dict[str, Any], params: dict | None,
                       seed: int, num_samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive draws of ``obs`` and pointwise log-likelihood for flat draws.

    ``latent_flat`` may be empty (a model whose only unknowns are point-network params);
    then ``num_samples`` identical draws are made. The model runs without failure reports.
    """
    quiet = without_reports(model)
    fn = quiet if not params else numpyro.handlers.substitute(quiet, data=params)
    key = jax.random.PRNGKey(seed + 1)
    if latent_flat:
        obs = Predictive(fn, posterior_samples=latent_flat, return_sites=["obs"], batch_ndims=1)(key, data, observe=False)
        ll = numpyro.infer.log_likelihood(fn, latent_flat, data)["obs"]
    else:
        obs = Predictive(fn, num_samples=num_samples, return_sites=["obs"])(key, data, observe=False)
        ll = numpyro.infer.log_likelihood(fn, {}, data, batch_ndims=0)["obs"]
        ll = jnp.broadcast_to(ll, (num_samples, *ll.shape))
    return np.asarray(obs["obs"]), np.asarray(ll)


def draws_with_deterministic(model: CalibrationModel, data: Observations, latent: dict[str, Any], params: dict | None,
                             key: Any, num_samples: int) -> dict[str, np.ndarray]:
    """``latent`` draws ``{site: (S, ...)}`` plus every deterministic site of the model at
    them (one model run per draw, without failure reports); with no latent site,
    ``num_samples`` copies of the deterministic prediction."""
    quiet = without_reports(model)
    fn = numpyro.handlers.substitute(quiet, data=params) if params else quiet
    if latent:
        pred = Predictive(fn, posterior_samples=latent, batch_ndims=1)
    else:  # only point networks: every draw is the same deterministic prediction
        pred = Predictive(fn, num_samples=num_samples)
    out = {**latent, **pred(key, data)}
    return {k: np.asarray(v) for k, v in out.items() if k not in ("obs", "equilibrium_failure")}


def single_chain_tree(
    model: CalibrationModel,
    data: Observations,
    roles: dict[str, SiteRole],
    draws: dict[str, np.ndarray],
    params: dict | None,
    seed: int,
    attrs: dict[str, Any],
    failures: SolverFailures,
    extra_groups: dict[str, xr.Dataset] | None = None,
) -> xr.DataTree:
    """The DataTree of an approximation's draws (SVI guide, Laplace): one chain of the
    flat ``draws`` (from :func:`draws_with_deterministic`)."""
    num_samples = next(iter(draws.values())).shape[0]
    latent = {k: jnp.asarray(v) for k, v in draws.items() if roles.get(k) in LATENT_ROLES}
    obs, ll = predict_and_loglik(model, data, latent, params, seed, num_samples)
    keep = {k: np.asarray(v)[None] for k, v in draws.items() if roles.get(k) in LATENT_ROLES | DETERMINISTIC_ROLES}
    lp = np.asarray(log_prior(model, data, latent, params))[None] if latent else None
    tree = build_datatree(model, data, roles, keep, obs[None], ll[None], {}, attrs, extra_groups, lp)
    tree["sample_stats"].attrs.update(failures.to_attrs())
    return tree
