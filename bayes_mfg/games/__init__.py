"""Games: the model side of the library (states, grid, costs, best responses)."""

from bayes_mfg.games.baseline import MeanFieldDynamics
from bayes_mfg.games.base import SCHEMES, Control, FiniteActionGame, Game, MeanFieldGame, ParameterSpec, Params
from bayes_mfg.games.discrete import (
    BeachBar,
    CrowdMotion,
    DiscreteTimeGame,
    LeftRight,
    RockPaperScissors,
    SusceptibleInfected,
)
from bayes_mfg.games.cybersecurity import Cybersecurity
from bayes_mfg.games.dependent import MeanFieldDependent
from bayes_mfg.games.linear_quadratic import LinearQuadratic, NeighbourLinearQuadratic
from bayes_mfg.games.mobility import MobilityNetwork, UrbanMobility
from bayes_mfg.games.sir import SIR

__all__ = [
    "MeanFieldGame",
    "Game",
    "DiscreteTimeGame",
    "BeachBar",
    "CrowdMotion",
    "LeftRight",
    "RockPaperScissors",
    "SusceptibleInfected",
    "FiniteActionGame",
    "Control",
    "ParameterSpec",
    "Params",
    "SCHEMES",
    "LinearQuadratic",
    "NeighbourLinearQuadratic",
    "Cybersecurity",
    "SIR",
    "MobilityNetwork",
    "UrbanMobility",
    "MeanFieldDependent",
    "MeanFieldDynamics",
]
