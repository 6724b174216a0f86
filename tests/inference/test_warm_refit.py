"""Warm-started NUTS refits (cross-validation folds): the fit's last draws, its adapted mass
matrix held fixed, a short step-size warm-up; the same posterior as a cold refit."""

import warnings

import numpy as np
import numpyro.distributions as dist
import pytest

import bayes_mfg as bm
from bayes_mfg.inference.nuts import warm_refit_warmup

GAME = bm.games.LinearQuadratic(n_states=3, n_times=20)
OBS = bm.observe.Dirichlet(300.0)


def _fits(num_warmup, num_samples, cold=True):
    sim = bm.datasets.simulate(GAME, {"gamma": 1.3}, 5, OBS, seed=4)
    model = bm.CalibrationModel(GAME, {"gamma": dist.LogNormal(0.0, 0.5)}, OBS)
    fold = bm.data.Observations.from_arrays(sim.data.values[1:], sim.data.times, mu0=sim.data.mu0[1:],
                                            state_names=sim.data.state_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = bm.fit_nuts(model, sim.data, num_chains=2, num_warmup=num_warmup, num_samples=num_samples, seed=1,
                           progress_bar=False)
        return full, full.refit(fold), (full.refit(fold, warm_start=False) if cold else None)


@pytest.fixture(scope="module")
def fits():
    return _fits(20, 20, cold=False)


@pytest.mark.slow  # 50 s in CI (suite budget); run with -m slow
def test_a_warm_refit_starts_from_the_fit_and_keeps_its_mass_matrix(fits):
    full, warm, _ = fits
    assert warm.settings["warm_start"] is True and "warm_start" not in full.settings
    assert warm.settings["num_warmup"] == warm_refit_warmup(20) == 20 and warm_refit_warmup(500) == 125
    assert warm_refit_warmup(200) == 100
    start = {k: np.asarray(v).mean(0) for k, v in full.mcmc.last_state.adapt_state.inverse_mass_matrix.items()}
    for k, v in warm.mcmc.last_state.adapt_state.inverse_mass_matrix.items():  # held fixed through warm-up
        np.testing.assert_allclose(np.asarray(v), np.broadcast_to(start[k], np.shape(v)), rtol=1e-12)


@pytest.mark.slow  # three NUTS fits, about 2 minutes on 2 cores
def test_a_warm_refit_samples_the_same_fold_posterior_as_a_cold_one():
    _, warm, cold = _fits(200, 400)
    assert warm.settings["num_warmup"] == 100 and cold.settings["num_warmup"] == 200
    g_warm, g_cold = warm.flat_samples()["gamma"], cold.flat_samples()["gamma"]
    assert np.unique(g_warm).size > 300  # the chains move
    assert abs(g_warm.mean() - g_cold.mean()) < 0.25 * g_cold.std()
    assert 0.75 < g_warm.std() / g_cold.std() < 1.33
    assert warm.num_divergences == 0


@pytest.mark.slow  # shares the 50 s fixture above
def test_warm_start_refuses_what_it_cannot_serve(fits):
    full, _, _ = fits
    with pytest.raises(ValueError, match="warm_start has 2 chains"):
        bm.fit_nuts(full.model, full.data, num_chains=3, warm_start=full, progress_bar=False)
    with pytest.raises(ValueError, match="warm_start replaces the initialisation"):
        bm.fit_nuts(full.model, full.data, num_chains=2, init="laplace", warm_start=full, progress_bar=False)
    with pytest.raises(ValueError, match="dense_mass"):
        bm.fit_nuts(full.model, full.data, num_chains=2, dense_mass=True, warm_start=full, progress_bar=False)
    with pytest.raises(TypeError, match="warm_start must be a NUTSResult"):
        bm.fit_nuts(full.model, full.data, num_chains=2, warm_start=object(), progress_bar=False)
