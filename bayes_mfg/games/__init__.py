"""Games: the model side of the library (states, grid, costs, best responses)."""

from bayes_mfg.games.base import (
    ContinuousTimeGame,
    Control,
    FiniteActionGame,
    Game,
    MeanFieldGame,
    ParameterSpec,
    Params,
)
from bayes_mfg.games.baseline import MeanFieldDynamics
from bayes_mfg.games.beach_bar import BeachBar
from bayes_mfg.games.crowd_motion import CrowdMotion
from bayes_mfg.games.cybersecurity import Cybersecurity
from bayes_mfg.games.dependent import MeanFieldDependent
from bayes_mfg.games.discrete import DiscreteTimeGame
from bayes_mfg.games.el_farol import ElFarol
from bayes_mfg.games.grid import Grid, GridDynamics, GridGame
from bayes_mfg.games.grid_congestion import GridCongestion
from bayes_mfg.games.grid_linear_quadratic import GridLinearQuadratic, gaussian_equilibrium
from bayes_mfg.games.grid_particles import (
    ParticleCheck,
    Particles,
    bin_masses,
    grid_velocity,
    particle_check,
    particle_histogram,
    simulate_particles,
)
from bayes_mfg.games.left_right import LeftRight
from bayes_mfg.games.linear_quadratic import LinearQuadratic, NeighbourLinearQuadratic
from bayes_mfg.games.meeting_time import MeetingTime, static_meeting_start
from bayes_mfg.games.mobility import MobilityNetwork, UrbanMobility
from bayes_mfg.games.rock_paper_scissors import RockPaperScissors
from bayes_mfg.games.sir import SIR
from bayes_mfg.games.susceptible_infected import SusceptibleInfected
from bayes_mfg.stepping import SCHEMES

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
    "ContinuousTimeGame",
    "LinearQuadratic",
    "NeighbourLinearQuadratic",
    "Cybersecurity",
    "SIR",
    "MobilityNetwork",
    "UrbanMobility",
    "MeanFieldDependent",
    "MeanFieldDynamics",
    "Grid",
    "GridGame",
    "GridDynamics",
    "GridLinearQuadratic",
    "GridCongestion",
    "MeetingTime",
    "static_meeting_start",
    "ElFarol",
    "gaussian_equilibrium",
    "simulate_particles",
    "grid_velocity",
    "Particles",
    "bin_masses",
    "particle_histogram",
    "particle_check",
    "ParticleCheck",
]
