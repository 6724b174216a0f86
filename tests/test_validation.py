"""Bad input raises ValueError/TypeError naming the argument, before any solve."""

import jax.numpy as jnp
import numpy as np
import pytest

import bayes_mfg as bm

LQ = bm.games.LinearQuadratic(n_states=3)
MU0 = jnp.array([0.2, 0.3, 0.5])


@pytest.mark.parametrize(
    "mu0, match",
    [
        (jnp.array([0.5, 0.6, 0.1]), "mu0 must sum to 1"),
        (jnp.array([1.2, -0.2, 0.0]), "mu0 must be non-negative"),
        (jnp.array([0.5, 0.5]), r"mu0 must have shape \(3,\)"),
        (jnp.array([[0.2, 0.3, 0.5]]), r"mu0 must have shape \(3,\)"),
        (jnp.array([np.nan, 0.5, 0.5]), "mu0 contains NaN"),
    ],
)
def test_mu0_checked(mu0, match):
    with pytest.raises(ValueError, match=match):
        bm.equilibrium(LQ, {}, mu0)


def test_mu0_required():
    with pytest.raises(ValueError, match="mu0"):
        bm.equilibrium(LQ, {})


@pytest.mark.parametrize(
    "params, match",
    [
        ({"gamma": np.nan}, r"params\['gamma'\] contains NaN"),
        ({"gamma": jnp.full(100, jnp.inf)}, r"params\['gamma'\] contains NaN or inf"),
        ({"gamma": -1.0}, r"params\['gamma'\] must be a real number > 0"),
        ({"gamma": jnp.ones(7)}, r"params\['gamma'\] must have shape \(\) \(constant\) or \(100,\)"),
        ({"gamm": 1.0}, "unknown parameter"),
    ],
)
def test_params_checked(params, match):
    with pytest.raises(ValueError, match=match):
        bm.equilibrium(LQ, params, MU0)


def test_params_must_be_mapping():
    with pytest.raises(TypeError, match="params must be a mapping"):
        bm.equilibrium(LQ, [1.0], MU0)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"n_states": 3, "horizon": -1.0}, ValueError, "horizon must be finite and > 0"),
        ({"n_states": 3, "horizon": float("nan")}, ValueError, "horizon"),
        ({"n_states": 1}, ValueError, "n_states must be an int >= 2"),
        ({"n_states": 3.0}, TypeError, "n_states must be an int"),
        ({"n_states": 3, "n_times": 1}, ValueError, "n_times must be an int >= 2"),
        ({"n_states": 3, "scheme": "rk4"}, ValueError, "scheme must be one of"),
    ],
)
def test_game_checked(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        bm.games.LinearQuadratic(**kwargs)


def test_other_arguments_checked():
    with pytest.raises(TypeError, match="game must be"):
        bm.equilibrium("LQ", {}, MU0)
    with pytest.raises(TypeError, match="solver must be"):
        bm.equilibrium(LQ, {}, MU0, solver="anderson")
    with pytest.raises(ValueError, match=r"init must have shape \(100, 3\)"):
        bm.equilibrium(LQ, {}, MU0, init=jnp.ones((3, 3)))
    with pytest.raises(ValueError, match="damping must be in"):
        bm.Picard(damping=1.0)
    with pytest.raises(ValueError, match="linear_solver must be one of"):
        bm.ImplicitAdjoint(linear_solver="lu")
    with pytest.raises(ValueError, match="temperature"):
        bm.games.Cybersecurity(temperature=-1.0)
