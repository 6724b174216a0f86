"""What every fit checks and decides about its inputs before it compiles anything: the
model and data, how the data enter the compiled loop, and where the optimiser or
sampler starts."""

from __future__ import annotations

import warnings
from typing import Any, Callable

from numpyro.infer.initialization import init_to_median, init_to_value

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


def init_strategy(init_values: dict | None) -> Callable:
    """NumPyro init strategy: ``init_values`` where given, else the prior medians."""
    return init_to_value(values=init_values) if init_values else init_to_median(num_samples=15)
