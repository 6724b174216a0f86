"""Posterior recovery on synthetic data with known truth (slow: `make test-slow`)."""

import numpy as np
import pytest

import bayes_mfg as bm
from bayes_mfg.datasets import simulate

pytestmark = pytest.mark.slow

LQ8 = bm.games.LinearQuadratic(n_states=8)
T = LQ8.horizon


def arc(t):
    return 0.1 + 4 * 2.9 / T**2 * t * (T - t)


def hdi(x, prob=0.94):
    """Shortest interval holding ``prob`` of the draws (along axis 0)."""
    x = np.sort(x, axis=0)
    n = x.shape[0]
    k = int(np.floor(prob * n))
    widths = x[k:] - x[: n - k]
    i = np.argmin(widths, axis=0)
    take = lambda a, idx: np.take_along_axis(a, idx[None], axis=0)[0]  # noqa: E731
    return take(x[: n - k], i), take(x[k:], i)


def split_rhat(draws):
    """Split-R-hat of (chain, draw) draws (Gelman et al. BDA3)."""
    c, n = draws.shape
    half = n // 2
    s = np.concatenate([draws[:, :half], draws[:, half : 2 * half]], axis=0)
    m, n2 = s.shape
    w = s.var(axis=1, ddof=1).mean()
    b = n2 * s.mean(axis=1).var(ddof=1)
    return float(np.sqrt(((n2 - 1) / n2 * w + b / n2) / w))


def test_nuts_recovers_constant_gamma_lq8():
    sim = simulate(LQ8, {"gamma": 1.55}, 20, bm.observe.Dirichlet(1000.0), seed=11)
    model = bm.CalibrationModel(LQ8, {"gamma": bm.paths.Constant()}, bm.observe.Dirichlet(1000.0), record_mu=False)
    fit = bm.fit_nuts(model, sim.data, chains=2, warmup=300, samples=300, seed=1, progress_bar=False)
    g = fit.samples["gamma"]
    lo, hi = hdi(g.ravel())
    print(f"constant gamma: mean {g.mean():.4f}, 94% HDI [{lo:.4f}, {hi:.4f}], r_hat {split_rhat(g):.4f}, "
          f"divergences {fit.num_divergences}")
    assert abs(g.mean() - 1.55) < 0.05
    assert lo <= 1.55 <= hi
    assert split_rhat(g) < 1.01
    assert fit.num_divergences == 0


def test_nuts_spline_covers_arc_path():
    sim = simulate(LQ8, {"gamma": arc(LQ8.time_grid)}, 20, bm.observe.Dirichlet(1000.0), seed=12)
    path = bm.paths.TimeSpline.around(1.5, n_knots=8, smoothness=0.5)
    model = bm.CalibrationModel(LQ8, {"gamma": path}, bm.observe.Dirichlet(1000.0), record_mu=False)
    fit = bm.fit_nuts(model, sim.data, chains=2, warmup=300, samples=300, seed=2, progress_bar=False)
    paths = fit.samples["gamma_path"][:, :, 0, :]  # (chain, draw, time): same for every trajectory
    lo, hi = hdi(paths.reshape(-1, paths.shape[-1]))
    truth = arc(LQ8.time_grid)
    coverage = float(np.mean((lo <= truth) & (truth <= hi)))
    print(f"arc path: 94% band covers the truth at {100 * coverage:.1f}% of time points, "
          f"divergences {fit.num_divergences}")
    assert coverage >= 0.9


def _neural_rmse(sim_train, sim_test, truth_fn, steps=1500):
    path = bm.paths.Neural(inputs=("t", "mu"), hidden=(16, 16), init_value=1.5)
    model = bm.CalibrationModel(LQ8, {"gamma": path}, bm.observe.Dirichlet(1000.0), record_mu=False)
    fit = bm.fit_svi(model, sim_train.data, num_steps=steps, learning_rate=5e-3, progress_bar=False)
    test_model = bm.CalibrationModel(LQ8, {"gamma": path}, bm.observe.Dirichlet(1000.0), record_mu=False)
    held_out = bm.infer.SVIResult(test_model, sim_test.data, fit.guide, fit.params, fit.losses, 0, fit.svi, 0)
    learned = held_out.sample_posterior(1)["gamma_path"][0]  # (trajectory, time)
    return float(np.sqrt(np.mean((learned - truth_fn(sim_test)) ** 2)))


def test_neural_svi_learns_arc_path():
    train = simulate(LQ8, {"gamma": arc(LQ8.time_grid)}, 20, bm.observe.Dirichlet(1000.0), seed=13)
    test = simulate(LQ8, {"gamma": arc(LQ8.time_grid)}, 10, bm.observe.Dirichlet(1000.0), seed=14)
    rmse = _neural_rmse(train, test, lambda s: s.truth["gamma"])
    print(f"neural (t, mu) path, arc truth: held-out path RMSE {rmse:.4f}")
    assert rmse <= 0.15


def test_neural_svi_learns_mean_field_dependent_gamma():
    truth = {"gamma": lambda t, mu: 0.1 + 2.9 * mu[0]}
    train = simulate(LQ8, truth, 20, bm.observe.Dirichlet(1000.0), seed=15)
    test = simulate(LQ8, truth, 10, bm.observe.Dirichlet(1000.0), seed=16)
    rmse = _neural_rmse(train, test, lambda s: s.truth["gamma"])
    print(f"neural (t, mu) path, mean-field truth: held-out path RMSE {rmse:.4f}")
    assert rmse <= 0.2


def test_partially_observed_lq_recovers_gamma():
    sim = simulate(LQ8, {"gamma": 1.55}, 20, bm.observe.Dirichlet(1000.0), seed=17)
    v = np.array(sim.data.values)
    rng = np.random.default_rng(0)
    v[:, :, 7] = np.nan  # one state hidden
    v[rng.random(v.shape) < 0.2] = np.nan  # 20% of entries masked
    data = bm.Observations.from_arrays(v, sim.data.times, mu0=sim.data.mu0)
    model = bm.CalibrationModel(LQ8, {"gamma": bm.paths.Constant()}, bm.observe.Dirichlet(1000.0), record_mu=False)
    fit = bm.fit_svi(model, data, num_steps=500, learning_rate=0.02, progress_bar=False)
    g = float(fit.median()["gamma"])
    print(f"partially observed: MAP gamma {g:.4f}")
    assert abs(g - 1.55) < 0.1


def test_cybersecurity_map_recovers_identifiable_rates():
    from bayes_mfg.games.cybersecurity import RATE_PARAMETERS, REFERENCE_TRUTH

    game = bm.games.Cybersecurity(temperature=0.05)
    truth = dict(zip(RATE_PARAMETERS, REFERENCE_TRUTH))
    sim = simulate(game, truth, 20, bm.observe.Dirichlet(1000.0), seed=18)
    model = bm.CalibrationModel(game, {k: bm.paths.Constant() for k in RATE_PARAMETERS}, bm.observe.Dirichlet(1000.0),
                                record_mu=False)
    fit = bm.fit_svi(model, sim.data, num_steps=2000, learning_rate=0.01, progress_bar=False)
    est = fit.median()
    err = {k: abs(float(est[k]) - truth[k]) for k in RATE_PARAMETERS}
    print("cybersecurity MAP: " + ", ".join(f"{k} {float(est[k]):.3f} (truth {truth[k]})" for k in RATE_PARAMETERS))
    recovered = [k for k, e in err.items() if e < 0.05]
    # the recovery rates and attack factors drive the population flows directly
    assert {"q_rec_D", "q_rec_U", "q_inf_D", "q_inf_U"} <= set(recovered), err
