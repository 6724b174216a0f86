"""Identifiability, LOO comparison, SBC and predictive calibration on synthetic truths (slow)."""

import warnings

import numpy as np
import numpyro.distributions as dist
import pytest

import bayes_mfg as bm
from bayes_mfg import problems

pytestmark = pytest.mark.slow


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def test_cybersecurity_report_flags_weak_combinations_and_identified_rates():
    from bayes_mfg.games.cybersecurity import RATE_PARAMETERS

    game = bm.games.Cybersecurity(temperature=0.05, n_times=50)
    truth = problems.cybersecurity_truth(game)
    obs = bm.observe.Dirichlet(300.0)
    sim = bm.datasets.simulate(game, truth, 5, obs, times=game.time_grid[::5], seed=18)
    prior = bm.paths.Constant(dist.LogNormal(np.log(0.4), 0.5))
    model = bm.CalibrationModel(game, {k: prior for k in RATE_PARAMETERS}, obs, record_mu=False)
    fit = _quiet(bm.fit_nuts, model, sim.data, num_chains=2, num_warmup=300, num_samples=300, init="laplace",
                 dense_mass=True,
                 seed=0, progress_bar=False)
    rep = bm.identifiability(fit)
    print(rep.to_markdown())
    weak = rep.weak_directions()
    assert len(weak) >= 1  # some combination of the 8 rates is not pinned down
    assert "beta" in weak["combination"].iloc[0]  # the weakest involves the contagion rates
    assert rep.directions["verdict"].iloc[-1] == "identified"
    assert {"q_rec_U", "q_rec_D"} <= set(rep.identified())
    assert rep.condition_number > 100
    assert (rep.parameters["r_hat"] < 1.05).all()


def test_loo_prefers_the_time_varying_path_on_arc_data():
    game = bm.games.LinearQuadratic(n_states=4, n_times=40)
    arc = problems.lq_truth(game, "arc")["gamma"]
    obs = bm.observe.Dirichlet(1000.0)
    sim = bm.datasets.simulate(game, {"gamma": arc}, 12, obs, seed=3)
    m_c = bm.CalibrationModel(game, {"gamma": bm.paths.Constant()}, obs, record_mu=False)
    spline = bm.paths.TimeSpline.around(1.0, n_knots=6, link="softplus", scale=1.5, smoothness=1.0, centered=True)
    m_s = bm.CalibrationModel(game, {"gamma": spline}, obs, record_mu=False)
    f_c = _quiet(bm.fit_nuts, m_c, sim.data, num_chains=2, num_warmup=300, num_samples=300, seed=0, progress_bar=False)
    f_s = _quiet(bm.fit_nuts, m_s, sim.data, num_chains=2, num_warmup=300, num_samples=300, init="laplace",
                 dense_mass=True,
                 seed=0, progress_bar=False)
    cmp = _quiet(bm.compare, {"constant": f_c, "spline": f_s})
    print(cmp.to_markdown())
    d, se = cmp.difference("spline", "constant")
    print(f"arc: elpd(spline) - elpd(constant) = {d:.1f} (se {se:.1f})")
    assert cmp.table.index[0] == "spline"
    assert d > 2 * se


def test_game_does_not_falsely_beat_the_no_game_baseline():
    game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    base = bm.games.MeanFieldDynamics.like(game)
    obs = bm.observe.Dirichlet(500.0)
    sim = bm.datasets.simulate(base, {"rates": np.linspace(0.3, 1.5, 6)}, 8, obs, seed=3)
    m_g = bm.CalibrationModel(game, {"gamma": bm.paths.Constant()}, obs, record_mu=False)
    m_b = bm.CalibrationModel(base, {"rates": bm.paths.Constant()}, obs, record_mu=False)
    f_g = _quiet(bm.fit_nuts, m_g, sim.data, num_chains=2, num_warmup=300, num_samples=300, seed=0, progress_bar=False)
    f_b = _quiet(bm.fit_nuts, m_b, sim.data, num_chains=2, num_warmup=300, num_samples=300, seed=0, progress_bar=False)
    cmp = _quiet(bm.compare, {"game": f_g, "no game": f_b})
    print(cmp.to_markdown())
    d, se = cmp.difference("game", "no game")
    print(f"no-game data: elpd(game) - elpd(no game) = {d:.1f} (se {se:.1f})")
    assert d <= 2 * se


def test_sbc_nuts_is_calibrated_and_a_narrow_posterior_is_rejected():
    game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    obs = bm.observe.Dirichlet(200.0)
    design = bm.datasets.simulate(game, {"gamma": 1.0}, 4, obs, times=game.time_grid[::3], seed=0).data
    model = bm.CalibrationModel(game, {"gamma": dist.LogNormal(0.0, 0.5)}, obs, record_mu=False)
    res = bm.sbc(model, design, 100, method="nuts", num_samples=99, thin=2, num_warmup=200, bins=10, seed=1)
    print(res.to_markdown())
    assert len(res.ranks) >= 95
    assert not res.rejected(0.01)
    # the same simulations, posterior draws shrunk to half their spread: overconfident
    d = res.draws
    narrow = res.with_draws(d.mean(axis=1, keepdims=True) + 0.5 * (d - d.mean(axis=1, keepdims=True)), "nuts x 0.5")
    print(narrow.to_markdown())
    assert narrow.rejected(0.01)


def test_heldout_90pct_predictive_intervals_cover_85_to_95pct():
    game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    obs = bm.observe.Dirichlet(500.0)
    sim = bm.datasets.simulate(game, {"gamma": 1.3}, 10, obs, seed=5)
    test = bm.datasets.simulate(game, {"gamma": 1.3}, 10, obs, seed=6)
    model = bm.CalibrationModel(game, {"gamma": dist.LogNormal(0.0, 0.5)}, obs)
    fit = _quiet(bm.fit_nuts, model, sim.data, num_chains=2, num_warmup=300, num_samples=300, seed=0,
                 progress_bar=False)
    check = bm.predictive_check(fit, test.data, prob=0.9, num_samples=600)
    print(check.to_markdown())
    assert 0.85 <= check.overall <= 0.95
