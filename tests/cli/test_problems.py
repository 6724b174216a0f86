"""The reference-problem catalogue (bayes_mfg.problems) shared by the CLI, the paper grid and the tests."""

import numpy as np
import pytest

import bayes_mfg as bm
from bayes_mfg import problems


def test_lq_truth_cases():
    game = bm.games.LinearQuadratic(n_states=3, n_times=21)
    t, T = np.asarray(game.time_grid), game.horizon
    assert problems.lq_truth(game)["gamma"] == 1.55
    arc = problems.lq_truth(game, "arc")["gamma"]
    np.testing.assert_allclose(arc, 0.1 + 4 * 2.9 / T**2 * t * (T - t), atol=1e-14)
    assert arc[0] == pytest.approx(0.1) and arc.max() == pytest.approx(3.0)
    mf = problems.lq_truth(game, "mean-field")["gamma"]
    assert mf(0.0, np.array([0.5, 0.3, 0.2])) == pytest.approx(0.1 + 2.9 * 0.5)
    with pytest.raises(ValueError, match="truth case"):
        problems.lq_truth(game, "mf")


def test_cybersecurity_and_sir_truths():
    from bayes_mfg.games.cybersecurity import RATE_PARAMETERS, REFERENCE_TRUTH

    cyber = bm.games.Cybersecurity(n_times=11)
    assert problems.cybersecurity_truth(cyber) == dict(zip(RATE_PARAMETERS, REFERENCE_TRUTH))
    arc = problems.cybersecurity_truth(cyber, "arc")
    assert all(np.all(v > 0) for v in arc.values())
    mf = problems.cybersecurity_truth(cyber, "mean-field")
    assert mf["q_rec_D"](0.0, np.array([0.5, 0.5, 0.0, 0.0])) == pytest.approx(0.25)
    sir = bm.games.SIR(n_times=11)
    for case in problems.TRUTH_CASES:
        truth = problems.sir_truth(sir, case)
        assert sorted(truth) == ["beta", "gamma"]
    arc = problems.sir_truth(sir, "arc")
    assert 0.2 <= arc["beta"].min() and arc["beta"].max() <= 0.6 + 1e-12
    assert 0.05 <= arc["gamma"].min() and arc["gamma"].max() <= 0.2 + 1e-12


@pytest.mark.parametrize("system", sorted(problems.PROBLEMS))
def test_every_problem_simulates(system):
    options = {"n_times": 10} | ({"n_trajectories": 2} if system == "sir" else {})
    prob = problems.problem(system, **options)
    assert set(prob.calibrated) <= set(prob.truth) and set(prob.calibrated) == set(prob.centres)
    assert set(prob.truth) <= set(prob.game.parameter_specs())
    sim = bm.datasets.simulate(prob.game, prob.truth, 2, mu0=prob.mu0, seed=0)
    assert np.all(np.isfinite(np.asarray(sim.mu)))


def test_seeded_draws_and_unknown_system():
    a, b = problems.mobility(n_states=3, seed=1), problems.mobility(n_states=3, seed=1)
    np.testing.assert_array_equal(a.fixed["q"], b.fixed["q"])
    assert np.all(np.diag(a.fixed["q"]) == 0)
    mu0 = problems.sir_initial_shares(4, seed=2)
    np.testing.assert_allclose(mu0.sum(-1), 1.0)
    with pytest.raises(ValueError, match="system"):
        problems.problem("weather")


def test_the_light_choice_names_match_what_they_name():
    from bayes_mfg import _names, problems
    from bayes_mfg.inference import svi

    assert tuple(problems.PROBLEMS) == _names.SYSTEM_NAMES
    assert set(svi.GUIDES) == set(_names.GUIDES)
    for case in _names.TRUTH_CASES:
        problems.lq(truth=case, n_times=5)
