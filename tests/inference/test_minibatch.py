"""Minibatch SVI: the subsampled likelihood (``CalibrationModel(subsample_size=...)``,
``fit_svi(batch_size=...)``) is the full one's unbiased estimate, and fits agree."""

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.infer.util import log_density

import bayes_mfg as bm
from bayes_mfg.datasets import simulate

GAME = bm.games.LinearQuadratic(n_states=3, n_times=20)
OBS = bm.observe.Dirichlet(800.0)


@pytest.fixture(scope="module")
def sim():
    return simulate(GAME, {"gamma": 1.3}, 12, OBS, seed=3)


def _per_trajectory_loglik(model, data, params):
    """``(n_traj,)`` log-likelihood of every trajectory under the full model."""
    tr = numpyro.handlers.trace(numpyro.handlers.substitute(numpyro.handlers.seed(model, 0), data=params)).get_trace(data)
    site = tr["obs"]
    return np.asarray(site["fn"].log_prob(site["value"])).sum(-1)


@pytest.mark.parametrize("b", [1, 5, 12])
def test_subsampled_log_likelihood_is_the_scaled_sum_over_its_rows(sim, b):
    model = bm.CalibrationModel(GAME, {"gamma": dist.LogNormal(0.0, 0.5)}, OBS)
    params = {"gamma": 1.1}
    full = _per_trajectory_loglik(model, sim.data, params)
    for seed in range(3):
        fn = numpyro.handlers.substitute(numpyro.handlers.seed(model, seed), data=params)
        tr = numpyro.handlers.trace(fn).get_trace(sim.data, subsample_size=b)
        rows = np.asarray(tr["trajectory_batch"]["value"])
        assert rows.shape == (b,) and len(set(rows.tolist())) == b
        site = tr["obs"]
        scaled = float((site["scale"] or 1.0) * np.asarray(site["fn"].log_prob(site["value"])).sum())
        np.testing.assert_allclose(scaled, 12 / b * full[rows].sum(), rtol=1e-12)
        # the joint density: prior + scaled batch likelihood (the equilibrium factor is 0)
        lp, _ = log_density(numpyro.handlers.seed(model, seed), (sim.data,), {"subsample_size": b}, params)
        prior = float(dist.LogNormal(0.0, 0.5).log_prob(1.1))
        np.testing.assert_allclose(float(lp), prior + 12 / b * full[rows].sum(), rtol=1e-12)
    lp_full, _ = log_density(model, (sim.data,), {}, params)
    np.testing.assert_allclose(float(lp_full), prior + full.sum(), rtol=1e-12)


def test_mean_over_all_batches_is_the_full_log_likelihood(sim):
    """Averaging the scaled batch log-likelihood over random batches converges to the full
    one (unbiased): 400 batches of 3 of 12 trajectories, within 4 standard errors."""
    model = bm.CalibrationModel(GAME, {"gamma": dist.LogNormal(0.0, 0.5)}, OBS)
    params = {"gamma": 1.1}
    full = _per_trajectory_loglik(model, sim.data, params).sum()

    def estimate(key):
        fn = numpyro.handlers.substitute(numpyro.handlers.seed(model, key), data=params)
        site = numpyro.handlers.trace(fn).get_trace(sim.data, subsample_size=3)["obs"]
        return site["scale"] * site["fn"].log_prob(site["value"]).sum()

    est = jax.jit(jax.vmap(estimate))(jax.random.split(jax.random.PRNGKey(0), 400))
    est = np.asarray(est)
    assert abs(est.mean() - full) < 4 * est.std() / np.sqrt(len(est))
    assert est.std() > 0  # the batches differ


@pytest.mark.slow  # statistical agreement of two 1500-step fits
def test_minibatch_svi_agrees_with_full_batch_svi(sim):
    model = bm.CalibrationModel(GAME, {"gamma": dist.LogNormal(0.0, 0.5)}, OBS)
    full = bm.fit_svi(model, sim.data, num_steps=400, learning_rate=2e-2, progress_bar=False)
    # a decaying step size averages out the batch noise
    opt = __import__("optax").adam(__import__("optax").exponential_decay(2e-2, 400, 0.05))
    mb = bm.fit_svi(model, sim.data, num_steps=800, optimizer=opt, batch_size=4, progress_bar=False)
    g_full, g_mb = float(full.median()["gamma"]), float(mb.median()["gamma"])
    assert abs(g_full - 1.3) < 0.02
    assert abs(g_mb - g_full) < 0.01, (g_mb, g_full)
    assert mb.settings["batch_size"] == 4 and full.settings["batch_size"] == 12
    # the fitted model object is the full one: predictions cover every trajectory
    assert bm.heldout_error(mb, sim.data, num_samples=1)["mse"] < 1e-3


def test_minibatch_svi_trains_a_neural_path_of_the_observed_shares(sim):
    net = bm.paths.Neural(inputs=("t", "mu"), hidden=(8,), init_value=1.0, seed=0)
    model = bm.CalibrationModel(GAME, {"gamma": net}, OBS, mu0_source="data")
    fit = bm.fit_svi(model, sim.data, num_steps=300, learning_rate=1e-2, batch_size=4, progress_bar=False)
    assert fit.n_failed_steps == 0
    assert np.mean(fit.losses[-50:]) < np.mean(fit.losses[:10])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(batch_size=0), ValueError, r"subsample_size must be in \[1, 12\]"),
        (dict(batch_size=13), ValueError, r"subsample_size must be in \[1, 12\]"),
        (dict(batch_size=2.5), TypeError, "subsample_size must be an int"),
        (dict(batch_size=True), TypeError, "subsample_size must be an int"),
    ],
)
def test_bad_batch_size_is_refused(sim, kwargs, error, match):
    model = bm.CalibrationModel(GAME, {"gamma": dist.LogNormal(0.0, 0.5)}, OBS)
    with pytest.raises(error, match=match):
        bm.fit_svi(model, sim.data, num_steps=2, progress_bar=False, **kwargs)


def test_per_trajectory_latent_sites_refuse_subsampling(sim):
    latent_mu0 = bm.CalibrationModel(GAME, {"gamma": dist.LogNormal(0.0, 0.5)}, OBS, mu0_source="latent")
    with pytest.raises(ValueError, match=r"per-trajectory latent sites \['mu0'\]"):
        bm.fit_svi(latent_mu0, sim.data, num_steps=2, batch_size=4, progress_bar=False)
    wise = bm.CalibrationModel(GAME, {"gamma": bm.paths.Hierarchical(dist.LogNormal(0.0, 0.5), scale=dist.HalfNormal(0.2))}, OBS)
    with pytest.raises(ValueError, match="gamma_offsets"):
        bm.fit_svi(wise, sim.data, num_steps=2, batch_size=4, progress_bar=False)
