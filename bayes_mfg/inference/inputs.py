"""What every fit checks and decides about its inputs before it compiles anything: the
model and data, how the data enter the compiled loop, and where the optimiser or
sampler starts."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import Any, Callable

from numpyro.infer.initialization import init_to_median

from bayes_mfg.data import Observations
from bayes_mfg.model import CalibrationModel
from bayes_mfg.parallel import is_sharded

__all__ = ["check_fit_args", "data_as_argument", "init_strategy"]


def check_fit_args(model: Any, data: Any) -> None:
    """Raise TypeError / ValueError unless ``model`` is a CalibrationModel and ``data`` fit it."""
    if not isinstance(model, CalibrationModel):
        raise TypeError(f"model must be a bayes_mfg.CalibrationModel, got {type(model).__name__}")
    model.check_data(data)


def data_as_argument(model: CalibrationModel, data: Observations, caller: str) -> bool:
    """Whether to pass ``data`` to the compiled loop as an argument rather than a constant:
    when it is sharded over several devices (:func:`bayes_mfg.shard_trajectories`), because
    XLA partitions a computation by the shardings of its arguments, not of captured
    constants. Not possible for paths that read the observed shares (they need concrete data)."""
    if not is_sharded(data):
        return False
    if any(p.uses_mu_input for p in model.paths.values()):
        warnings.warn(f"{caller}: data are sharded over devices, but a parameter path reads the observed shares "
                      "(needs the data as constants): the fit runs, not partitioned across devices",
                      RuntimeWarning, stacklevel=3)
        return False
    return True


def init_strategy(model: CalibrationModel, data: Observations, init_values: Mapping[str, Any] | None,
                  caller: str) -> Callable:
    """NumPyro init strategy: ``init_values`` where given, the prior medians for every other site.

    The keys are checked against the model's latent sample sites (one prior trace, no solve):
    a misspelt or unknown key is a ``ValueError`` naming it, never dropped. (NumPyro's own
    ``init_to_value`` starts the sites it is not given at uniform draws; here a partial dict
    leaves them at the documented default, the prior medians.)
    """
    median = init_to_median(num_samples=15)
    if init_values is None:
        return median
    if not isinstance(init_values, Mapping):
        raise TypeError(f"{caller}: init_values must be a dict {{site name: value}} or None, "
                        f"got {type(init_values).__name__}")
    latent = model.prior_sites(data)
    unknown = sorted(str(k) for k in set(init_values) - set(latent))
    if unknown:
        raise ValueError(f"{caller}: init_values has unknown site name(s) {unknown}; the model's latent sites are "
                         f"{sorted(latent)}")
    return functools.partial(_init_to_given, values=dict(init_values), fallback=median)


def _init_to_given(site: dict | None = None, *, values: dict, fallback: Callable) -> Any:
    """A site's value from ``values`` when given, else ``fallback``'s (a partial: NumPyro's form)."""
    if site is None:
        return functools.partial(_init_to_given, values=values, fallback=fallback)
    if site["type"] == "sample" and not site["is_observed"] and site["name"] in values:
        return values[site["name"]]
    return fallback(site)
