"""Influenza in an English boarding school, January-February 1978.

Source
------
Anonymous (Communicable Disease Surveillance Centre), "Influenza in a boarding school",
British Medical Journal 1978; 1(6112): 587 (4 March 1978). 763 boys were at risk; the
outbreak started from one boy; the report gives the number of boys confined to bed on
each of the 14 days 22 January - 4 February 1978. The 14 numbers are facts from that
report and ship with the package (no download).

Representation
--------------
An SIR population with ``S, I, R`` shares; "confined to bed" is read as the infected
state ``I``. Time is in days since 21 January 1978 (day 0: one infected boy), so the 14
counts are the observations of ``I`` at ``t = 1, ..., 14``; ``S`` and ``R`` are not
observed (masked). ``mu0 = (762, 1, 0) / 763``.
"""

from __future__ import annotations

import numpy as np

from bayes_mfg.data import Observations

__all__ = ["BOARDING_SCHOOL_POPULATION", "BOARDING_SCHOOL_IN_BED", "load_boarding_school_influenza"]

#: Number of boys at risk.
BOARDING_SCHOOL_POPULATION = 763

#: Boys confined to bed on days 1..14 (22 January - 4 February 1978), BMJ 1978;1:587.
BOARDING_SCHOOL_IN_BED = (3, 8, 26, 76, 225, 298, 258, 233, 189, 128, 68, 29, 14, 4)

CITATION = 'Anonymous (1978). "Influenza in a boarding school". British Medical Journal 1(6112): 587.'


def load_boarding_school_influenza() -> Observations:
    """The 1978 boarding-school influenza outbreak as one SIR count trajectory.

    Returns
    -------
    Observations
        Kind ``"counts"``, shape ``(1, 14, 3)`` with states ``("S", "I", "R")``; only ``I``
        is observed (the number of boys in bed); ``times = 1..14`` (days since 21 January
        1978); ``mu0 = (762, 1, 0) / 763``. Model it with a count likelihood with exposure
        ``BOARDING_SCHOOL_POPULATION`` (763), e.g.
        ``bayes_mfg.observe.NegativeBinomial(exposure=763.0, concentration=...)``.

    Examples
    --------
    >>> from bayes_mfg.datasets import load_boarding_school_influenza
    >>> flu = load_boarding_school_influenza()
    >>> flu.values.shape, int(flu.values[0, :, 1].max())
    ((1, 14, 3), 298)
    """
    n = len(BOARDING_SCHOOL_IN_BED)
    values = np.full((1, n, 3), np.nan)
    values[0, :, 1] = BOARDING_SCHOOL_IN_BED
    pop = BOARDING_SCHOOL_POPULATION
    mu0 = np.array([[pop - 1, 1, 0]]) / pop
    return Observations.from_arrays(values, np.arange(1, n + 1, dtype=float), kind="counts", mu0=mu0,
                                    state_names=("S", "I", "R"), trajectory_names=("1978",))
