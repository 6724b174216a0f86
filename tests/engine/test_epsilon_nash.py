"""Epsilon-Nash: the equilibrium policy in finite populations (discrete- and continuous-time games)."""

import numpy as np
import pytest

import bayes_mfg as bm


def test_discrete_time_gain_vanishes_like_one_over_n():
    game = bm.games.BeachBar(n_states=5, n_times=6, temperature=0.3)
    mu0 = [0.2] * 5
    eq = bm.equilibrium(game, {}, mu0)
    res = bm.epsilon_nash(game, {}, mu0, eq, n_agents=(100, 1000), n_reps=32, seed=1)
    assert abs(res.limit) < 1e-10  # the regularised equilibrium is unexploitable in the mean field
    assert np.all(res.mean_gain > 2 * res.standard_error)  # a finite population is exploitable ...
    ratio = res.mean_gain[0] / res.mean_gain[1]
    assert 5 < ratio < 20  # ... by O(1/N): about 10x less for 10x the agents
    assert "| 1000 |" in res.to_markdown()


def test_continuous_time_gain_converges_to_the_mean_field_one():
    game = bm.games.LinearQuadratic(n_states=3, n_times=30, scheme="euler")
    params, mu0 = {"gamma": 1.55}, [0.6, 0.3, 0.1]
    eq = bm.equilibrium(game, params, mu0)
    res = bm.epsilon_nash(game, params, mu0, eq, n_agents=(10, 1000), n_reps=32, seed=2)
    # N = infinity is the exploitability of the equilibrium (O(dt) under Euler, >= 0)
    np.testing.assert_allclose(res.limit, float(bm.exploitability(game, params, mu0, eq)), rtol=1e-10)
    assert res.limit > 0
    assert res.rms_excess[1] < res.rms_excess[0] / 5  # fluctuations shrink like N^-1/2
    assert abs(res.mean_gain[1] - res.limit) < 4 * res.standard_error[1] + 1e-4


def test_finite_action_games_score_their_policy_against_the_population():
    game = bm.games.Cybersecurity(temperature=0.3, n_times=20)
    mu0 = [0.25] * 4
    eq = bm.equilibrium(game, {}, mu0)
    res = bm.epsilon_nash(game, {}, mu0, eq, n_agents=(20, 200), n_reps=16)
    np.testing.assert_allclose(res.limit, float(bm.exploitability(game, {}, mu0, eq)), rtol=1e-10)
    assert res.rms_excess[1] < res.rms_excess[0]


def test_epsilon_nash_refuses_what_it_cannot_score():
    sir = bm.games.SIR(n_times=10)
    mu0 = [0.9, 0.1, 0.0]
    eq = bm.equilibrium(sir, {}, mu0)
    with pytest.raises(NotImplementedError, match="SIR does not define policy_control"):
        bm.epsilon_nash(sir, {}, mu0, eq, n_agents=(10,), n_reps=2)
    game = bm.games.BeachBar(n_states=5, n_times=4)
    eq = bm.equilibrium(game, {}, [0.2] * 5)
    with pytest.raises(ValueError, match="n_agents must be an int >= 1"):
        bm.epsilon_nash(game, {}, [0.2] * 5, eq, n_agents=(0,))
    with pytest.raises(TypeError, match="eq must be the Equilibrium"):
        bm.epsilon_nash(game, {}, [0.2] * 5, eq.mu[:2])
