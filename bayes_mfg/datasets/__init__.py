"""Data for calibration: synthetic trajectories from a game, and real datasets.

* :func:`simulate`, :func:`simulate_agents`: equilibrium trajectories with observation
  noise, or finite populations of agents.
* :func:`load_auckland_pedestrians`: Auckland CBD hourly pedestrian counts (CC BY 4.0,
  optional extra ``bayes_mfg[data]``), zones x hours, one trajectory per day.
* :func:`load_boarding_school_influenza`: the 1978 boarding-school influenza outbreak
  (BMJ 1978; 14 daily counts, shipped with the package).
* :func:`japan_covid` (:class:`JapanCovid`): COVID-19 in Japan, newly confirmed cases per day,
  national or by prefecture, 2020-09-01 .. 2021-12-31 (MHLW open data, shipped with the
  package), with covariates: vaccinations (OWID), policy stringency (OxCGRT), Tokyo's states
  of emergency, the Olympics; 2020 census populations.
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
from bayes_mfg.datasets.japan_covid import JapanCovid, japan_covid

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
    "JapanCovid",
    "japan_covid",
]
