"""The shared catalogue of solved games: ``(id, game, params, scalar, other, mu0)`` cases.

Reused by the solver tests (every solver reaches the same equilibrium), the gradient tests
(implicit vs finite differences vs unrolled) and the fast-path tests; one place to add a
game to all of them. ``scalar`` names a parameter to perturb as a constant and as a path,
``other`` a second game parameter.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

import bayes_mfg as bm


class Case(NamedTuple):
    id: str
    game: Any
    params: dict
    scalar: str
    other: str
    mu0: Any


def _dirichlet(rng, d, alpha):
    return jnp.asarray(rng.dirichlet(alpha * np.ones(d)))


def cases() -> list[Case]:
    rng = np.random.default_rng(7)
    q = rng.uniform(0.2, 1.5, size=(4, 4))
    return [
        Case("lq3", bm.games.LinearQuadratic(n_states=3), {"gamma": 1.55}, "gamma", "terminal_congestion",
             _dirichlet(rng, 3, 3.0)),
        Case("lq8", bm.games.LinearQuadratic(n_states=8), {"gamma": 0.9}, "gamma", "congestion", _dirichlet(rng, 8, 3.0)),
        Case("cyber-softmin", bm.games.Cybersecurity(temperature=0.1), {}, "beta_DD", "k_I", _dirichlet(rng, 4, 3.0)),
        Case("sir", bm.games.SIR(), {"beta": 0.5, "gamma": 0.1}, "beta", "gamma", jnp.array([0.95, 0.04, 0.01])),
        Case("mobility", bm.games.MobilityNetwork(n_states=4), {"q": q, "c": 1.5}, "c", "q", _dirichlet(rng, 4, 3.0)),
        Case("lq-ring5", bm.games.NeighbourLinearQuadratic.ring(5, n_times=30), {"gamma": 1.2}, "gamma", "congestion",
             _dirichlet(rng, 5, 3.0)),
        Case("beach-bar", bm.games.BeachBar(n_states=5, n_times=4, temperature=0.2), {}, "crowd_aversion",
             "distance_weight", _dirichlet(rng, 5, 3.0)),
    ]


CASES = cases()
#: the continuous-time cases the gradient tests were calibrated on
GRADIENT_CASES = [c for c in CASES if c.id in ("lq3", "lq8", "cyber-softmin", "sir", "mobility")] + [
    # the default scheme is second order (patankar); the first-order implicit scheme too
    Case("sir-implicit", bm.games.SIR(scheme="implicit"), {"beta": 0.5, "gamma": 0.1}, "beta", "gamma",
         jnp.array([0.95, 0.04, 0.01])),
]
