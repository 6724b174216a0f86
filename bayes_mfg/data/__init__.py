"""``Observations``: observed population trajectories (fractions or counts), with masks.

One container for everything the calibration model conditions on: several trajectories,
each observed at the same increasing times, one value per state (a share of the population
or a count), a mask saying which entries were observed, and optionally each trajectory's
initial distribution ``mu_0`` (``None``: latent, inferred by the model). Long-format CSV
files (``trajectory,time,state,value``) are read with :meth:`Observations.from_csv` and
written with :meth:`Observations.to_csv`.
"""

from bayes_mfg.data._observations import (
    KINDS,
    SIMPLEX_ATOL,
    ZERO_REPLACEMENT,
    Observations,
    interpolate_in_time,
    time_indices,
)

__all__ = ["KINDS", "SIMPLEX_ATOL", "ZERO_REPLACEMENT", "Observations", "interpolate_in_time", "time_indices"]
