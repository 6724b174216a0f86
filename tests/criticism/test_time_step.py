"""The time-step check: the posterior re-weighted to a grid with half the step."""

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.infer.util import log_likelihood

import bayes_mfg as bm
from bayes_mfg.inference.failures import without_reports

MU0 = np.array([[0.97, 0.03, 0.0]])
TIMES = np.arange(1.0, 21.0)


class DrawsFit(bm.Fit):
    """A fit whose posterior is a given set of draws (the check needs nothing else)."""

    method = "draws"

    def __init__(self, model, data, draws):
        self.model, self.data, self._draws = model, data, draws

    def posterior_draws(self, num_samples=None, seed=0):
        n = len(next(iter(self._draws.values())))
        idx = np.linspace(0, n - 1, num_samples or n).round().astype(int)
        return {k: np.asarray(v)[idx] for k, v in self._draws.items()}

    def to_arviz(self):
        raise NotImplementedError

    def refit(self, data):
        raise NotImplementedError


def _sir_case(scheme: str, n_times: int):
    """Daily counts of an epidemic simulated on a fine grid, the model on ``n_times`` points."""
    obs = bm.observe.Poisson(exposure=300.0)
    truth = bm.games.SIR(n_times=401, horizon=20.0, scheme="patankar")
    sim = bm.datasets.simulate(truth, {"beta": 0.6, "gamma": 0.2, "c_infected": 0.0}, 1, obs, times=TIMES, mu0=MU0,
                               seed=0)
    game = bm.games.SIR(n_times=n_times, horizon=20.0, scheme=scheme)
    model = bm.CalibrationModel(game, {"beta": dist.LogNormal(-0.5, 0.5)}, obs, fixed={"gamma": 0.2, "c_infected": 0.0},
                                mu0_source="data")
    return model, sim.data, {"beta": _grid_posterior(model, sim.data)}


def _grid_posterior(model, data, n_draws=400):
    """Exact posterior draws of the scalar ``beta`` of ``model``: prior x likelihood on a fine
    grid (the likelihood of the model's own time grid), sampled by inverse CDF."""
    grid = np.linspace(0.3, 1.0, 801)
    logp = _total_loglik(model, data, {"beta": grid}) + np.asarray(dist.LogNormal(-0.5, 0.5).log_prob(grid))
    lo, hi = grid[logp > logp.max() - 30][[0, -1]]  # zoom on the mass, then sample
    grid = np.linspace(lo, hi, 801)
    logp = _total_loglik(model, data, {"beta": grid}) + np.asarray(dist.LogNormal(-0.5, 0.5).log_prob(grid))
    cdf = np.cumsum(np.exp(logp - logp.max()))
    return np.interp((np.arange(n_draws) + 0.5) / n_draws, cdf / cdf[-1], grid)


def _total_loglik(model, data, draws):
    ll = log_likelihood(without_reports(model), {k: jnp.asarray(v) for k, v in draws.items()}, data)["obs"]
    return np.asarray(ll).reshape(len(draws["beta"]), -1).sum(axis=1)


def test_check_reweights_by_the_likelihood_ratio_of_the_two_grids():
    model, data, draws = _sir_case("implicit", 21)
    check = bm.time_step_check(DrawsFit(model, data, draws), num_draws=400)
    delta = _total_loglik(model.on_time_grid(41), data, draws) - _total_loglik(model, data, draws)
    assert check.n_steps == 20 and check.refined_steps == 40 and check.n_failed == 0 and check.order == 1
    np.testing.assert_allclose(check.loglik_shift, delta.mean(), rtol=1e-10)
    # a well-behaved ratio: PSIS leaves the weights close to the plain normalised ratios
    w = np.exp(delta - delta.max())
    w /= w.sum()
    beta = draws["beta"]
    row = check.shifts.loc["beta"]
    np.testing.assert_allclose(row["mean"], beta.mean(), rtol=1e-12)
    np.testing.assert_allclose(row["refined_mean"], np.sum(w * beta), rtol=0, atol=0.1 * beta.std())
    assert abs(row["shift"]) == pytest.approx(check.max_shift)


@pytest.mark.slow
def test_first_order_coarse_grid_fails_and_second_order_passes():
    implicit = bm.time_step_check(DrawsFit(*_sir_case("implicit", 21)), num_draws=400)
    assert not implicit.passed and implicit.max_shift > 0.5
    assert implicit.suggested_steps > 40 and implicit.warning is not None and "n_times" in implicit.warning
    assert "FAILS" in implicit.summary()
    # the second-order scheme at dt = 0.25 still moves the posterior (0.35 sd here); its
    # suggested grid passes
    coarse = bm.time_step_check(DrawsFit(*_sir_case("patankar", 81)), num_draws=400)
    assert coarse.order == 2 and not coarse.passed and 0.1 < coarse.max_shift < implicit.max_shift / 3
    second = bm.time_step_check(DrawsFit(*_sir_case("patankar", coarse.suggested_steps + 1)), num_draws=400)
    assert second.passed and second.max_shift <= 0.1 and second.suggested_steps is None and second.warning is None
    assert "passes" in second.summary()


def test_bad_input_to_the_check():
    model, data, draws = _sir_case("patankar", 21)
    fit = DrawsFit(model, data, draws)
    with pytest.raises(TypeError, match="fit must be"):
        bm.time_step_check(object())
    with pytest.raises(ValueError, match="factor"):
        bm.time_step_check(fit, factor=1)
    with pytest.raises(ValueError, match="num_draws"):
        bm.time_step_check(fit, num_draws=5)
    with pytest.raises(ValueError, match="threshold"):
        bm.time_step_check(fit, threshold=-1.0)
    discrete = bm.games.RockPaperScissors()
    disc_model = bm.CalibrationModel(discrete, {next(iter(discrete.parameter_specs())): dist.LogNormal(0.0, 0.5)},
                                     bm.observe.Dirichlet(100.0))
    with pytest.raises(ValueError, match="continuous-time game"):
        bm.time_step_check(DrawsFit(disc_model, data, draws))


def test_model_on_a_finer_grid_interpolates_what_is_on_the_grid():
    game = bm.games.SIR(n_times=11, horizon=10.0)
    t = np.asarray(game.time_grid)
    z = np.stack([(t >= 4).astype(float), t / 10], axis=1)
    beta = bm.paths.Regression(z, names=("policy", "trend"), link="exp", center=0.5)
    model = bm.CalibrationModel(game, {"beta": beta}, bm.observe.Poisson(exposure=1e3),
                                fixed={"vaccination": np.linspace(0.0, 0.01, 11), "gamma": 0.2})
    fine = model.on_time_grid(21)
    assert fine.game.n_times == 21 and fine.game.horizon == 10.0 and fine.game.scheme == game.scheme
    np.testing.assert_allclose(fine.fixed["vaccination"], np.linspace(0.0, 0.01, 21))
    assert fine.fixed["gamma"] == 0.2
    zf = np.asarray(fine.paths["beta"].covariates)
    np.testing.assert_allclose(zf[::2], z)  # every old grid point keeps its value
    np.testing.assert_allclose(zf[7], [0.5, 0.35])  # t = 3.5: halfway
    with pytest.raises(ValueError, match="n_times"):
        model.on_time_grid(1)


@pytest.mark.slow
def test_boarding_school_r0_matches_the_rk4_reference_and_the_check_flags_the_old_default():
    """On dt = 0.1 day the second-order default gives the R0 of an RK4 integration of the same
    ODE (MAP 3.17, posterior median 3.22: the figures of the issue that asked for the scheme),
    while implicit Euler moves it by 6-7% and the time-step check says so."""
    from experiments.boarding_school_schemes import build_model

    data = bm.datasets.load_boarding_school_influenza()
    fits = {}
    for scheme in ("implicit", "patankar"):
        model = build_model(scheme)
        mode = bm.fit_svi(model, data, guide="delta", num_steps=3000, learning_rate=0.02, progress_bar=False)
        d = mode.posterior_draws(1)
        fits[scheme] = bm.fit_nuts(model, data, num_chains=2, num_warmup=500, num_samples=1000, seed=0,
                                   progress_bar=False)
        post = fits[scheme].posterior_draws()
        r0_map, r0_median = float(d["beta"][0] / d["gamma"][0]), float(np.median(post["beta"] / post["gamma"]))
        if scheme == "patankar":
            assert abs(r0_map / 3.17 - 1) < 0.01, r0_map
            assert abs(r0_median / 3.22 - 1) < 0.01, r0_median
        else:
            assert r0_map / 3.17 - 1 > 0.04 and r0_median / 3.22 - 1 > 0.04, (r0_map, r0_median)
    old, new = bm.time_step_check(fits["implicit"]), bm.time_step_check(fits["patankar"])
    assert not old.passed and old.max_shift > 0.5 and old.suggested_steps > 1000, old.summary()
    # measured: 0.95 sd (implicit) against 0.15 sd (patankar, over the 0.1 threshold); the
    # grid the check suggests for the second-order scheme passes
    assert new.max_shift < old.max_shift / 4, new.summary()
    if not new.passed:
        refined = bm.fit_nuts(build_model("patankar", new.suggested_steps + 1), data, num_chains=2, num_warmup=500,
                              num_samples=1000, seed=0, progress_bar=False)
        assert bm.time_step_check(refined).passed
