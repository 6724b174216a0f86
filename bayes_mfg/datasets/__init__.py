"""Data for calibration: synthetic trajectories from a game, and two real datasets.

* :func:`simulate`, :func:`simulate_agents`: equilibrium trajectories with observation
  noise, or finite populations of agents.
* :func:`load_auckland_pedestrians`: Auckland CBD hourly pedestrian counts (CC BY 4.0,
  optional extra ``bayes_mfg[data]``), zones x hours, one trajectory per day.
* :func:`load_boarding_school_influenza`: the 1978 boarding-school influenza outbreak
  (BMJ 1978; 14 daily counts, shipped with the package).
"""

from bayes_mfg.datasets._simulate import Simulation, simulate, simulate_agents
from bayes_mfg.datasets.auckland import (
    OUTSIDE,
    ZONE_ANCHORS,
    PedestrianCounts,
    assign_zones,
    load_auckland_pedestrians,
)
from bayes_mfg.datasets.influenza import (
    BOARDING_SCHOOL_IN_BED,
    BOARDING_SCHOOL_POPULATION,
    load_boarding_school_influenza,
)

__all__ = [
    "Simulation",
    "simulate",
    "simulate_agents",
    "PedestrianCounts",
    "load_auckland_pedestrians",
    "assign_zones",
    "ZONE_ANCHORS",
    "OUTSIDE",
    "load_boarding_school_influenza",
    "BOARDING_SCHOOL_IN_BED",
    "BOARDING_SCHOOL_POPULATION",
]
