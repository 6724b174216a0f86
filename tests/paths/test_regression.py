"""Covariate-driven paths (Regression) and known exogenous flows (vaccination in SIR)."""

import dataclasses

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

import bayes_mfg as bm
from bayes_mfg.engine import transition_flows
from bayes_mfg.observe import Transitions
from bayes_mfg.paths import PathContext, Regression, TimeSpline

GAME = bm.games.SIR(horizon=20.0, n_times=21)
SPEC = GAME.parameter_specs()["beta"]


def _values(path, seed=0, n_traj=1, **fixed):
    ctx = PathContext.from_game(GAME, n_trajectories=n_traj)
    with numpyro.handlers.trace() as tr, numpyro.handlers.seed(rng_seed=seed):
        with numpyro.handlers.condition(data=fixed):
            out = path("beta", SPEC, ctx)
    return np.asarray(out), tr


def test_regression_is_the_linear_predictor_on_the_link_scale():
    t = GAME.time_grid
    z = np.stack([(t >= 8).astype(float), t / 20.0], axis=1)
    path = Regression(z, names=("emergency", "trend"), link="exp", floor=0.0)
    w, b = np.array([-0.5, 0.3]), np.log(0.4)
    values, tr = _values(path, beta_effects=w, beta_intercept=b)
    np.testing.assert_allclose(values[0], np.exp(b + z @ w), rtol=1e-12)
    assert tr["beta_effects"]["fn"].event_shape == (2,)
    assert path.coords("beta") == {"beta_covariate": ["emergency", "trend"]}


def test_regression_with_a_spline_residual_and_per_trajectory_covariates():
    t = GAME.time_grid
    z = np.stack([np.outer([0.0, 1.0], (t >= 8).astype(float))], axis=-1)  # (2, N, 1): only trajectory 1
    path = Regression(z, residual=TimeSpline(n_knots=4, smoothness=0.2, link="exp"), link="exp", floor=0.0)
    values, tr = _values(path, n_traj=2, beta_effects=np.array([-1.0]))
    assert "beta_intercept" not in tr and "beta_residual_z" in tr
    ratio = values[1] / values[0]
    np.testing.assert_allclose(ratio, np.exp(-1.0 * (t >= 8)), rtol=1e-12)
    with pytest.raises(ValueError, match="2 trajectories"):
        _values(path, n_traj=3)


def test_regression_bad_input():
    with pytest.raises(ValueError, match="covariates must have shape"):
        Regression(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="finite"):
        Regression(np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="names"):
        Regression(np.zeros((21, 2)), names=("a",))
    with pytest.raises(TypeError, match="residual"):
        Regression(np.zeros(21), residual=bm.paths.Constant(dist.Normal()))
    with pytest.raises(ValueError, match="residual.link"):
        Regression(np.zeros(21), residual=TimeSpline(n_knots=4), link="exp")
    with pytest.raises(ValueError, match="center"):
        Regression(np.zeros(21), residual=TimeSpline(n_knots=4), center=0.3)
    wrong_length = Regression(np.zeros(20), names=("z",))  # 20 points, the grid has 21
    with pytest.raises(ValueError, match="covariates of 'beta' have 20 time points"):
        bm.CalibrationModel(GAME, {"beta": wrong_length}, bm.observe.Poisson(exposure=1e4),
                            readout=Transitions([(0, 1)]), mu0_source="data")


def test_vaccination_is_an_exogenous_flow_s_to_r():
    game = dataclasses.replace(GAME, scheme="implicit")  # the hand formula below is implicit Euler's
    v = np.where(game.time_grid >= 5, 0.01, 0.0)
    params = game.params(beta=0.5, gamma=0.2, c_infected=0.3, vaccination=v)
    mu0 = np.array([0.97, 0.03, 0.0])
    eq = bm.equilibrium(game, params, mu0)
    flows = np.asarray(transition_flows(game, eq, params))
    # implicit Euler: the step's flow is dt v_n mu_{n+1}(S) / mu_n(S)
    mu = np.asarray(eq.mu)
    # (the rates are those of the sweep G(mu*), equal to mu* up to the solver tolerance 1e-10)
    np.testing.assert_allclose(flows[:, 0, 2], v[:-1] * mu[1:, 0] / mu[:-1, 0], rtol=1e-8, atol=1e-15)
    unvaccinated = bm.equilibrium(game, game.params(beta=0.5, gamma=0.2, c_infected=0.3), mu0)
    assert float(eq.mu[-1, 1]) < float(unvaccinated.mu[-1, 1])  # fewer infected at the end
    with pytest.raises(ValueError, match="vaccination"):
        game.params(vaccination=-0.01)
    # the gradient w.r.t. beta is exact with a vaccination flow too
    def infections(beta):
        p = game.params(beta=beta, gamma=0.2, c_infected=0.3, vaccination=v)
        return transition_flows(game, bm.equilibrium(game, p, mu0), p)[:, 0, 1].sum()

    g = float(jax.grad(infections)(0.5))
    fd = (float(infections(0.5 + 1e-6)) - float(infections(0.5 - 1e-6))) / 2e-6
    assert abs(g - fd) <= 1e-6 * max(1.0, abs(fd))


@pytest.mark.slow
def test_regression_effect_recovered_from_daily_cases():
    """NUTS recovers an emergency's effect on beta from 40 days of simulated reported cases."""
    game = bm.games.SIR(horizon=40.0, n_times=41)
    t = game.time_grid
    emergency = ((t >= 15) & (t < 30)).astype(float)
    vacc = np.where(t > 20, 0.004, 0.0)
    cases = Transitions([(0, 1)], names=("new_cases",))
    sim = bm.datasets.simulate(game, {"beta": 0.5 * np.exp(-0.6 * emergency), "gamma": 0.2, "c_infected": 0.0,
                                      "vaccination": vacc}, 1,
                               bm.observe.NegativeBinomial(exposure=1e5, concentration=50.0),
                               times=np.arange(1.0, 41.0), readout=cases, mu0=np.array([[0.995, 0.005, 0.0]]))
    beta = Regression(emergency, names=("emergency",), link="exp", center=0.4)
    model = bm.CalibrationModel(game, {"beta": beta, "gamma": dist.LogNormal(-1.6, 0.3)},
                                bm.observe.NegativeBinomial(exposure=1e5, concentration=dist.Exponential(0.05)),
                                readout=cases, mu0_source="data", fixed={"c_infected": 0.0, "vaccination": vacc})
    fit = bm.fit_nuts(model, sim.data, num_warmup=300, num_samples=300, num_chains=2, progress_bar=False)
    post = fit.to_arviz()["posterior"]
    import arviz_stats as azs

    effect = np.asarray(post["beta_effects"].values).reshape(-1)
    lo, hi = np.asarray(azs.hdi(effect, prob=0.94)).reshape(-1)[:2]
    assert lo <= -0.6 <= hi and hi - lo < 0.4
    assert float(azs.rhat(post["beta_effects"]).max()) < 1.01


def test_neural_path_reads_covariates():
    t = GAME.time_grid
    z = np.stack([(t >= 8).astype(float), np.sin(t)], axis=1)
    path = bm.paths.Neural(inputs=("t",), hidden=(4,), covariates=z)
    ctx = PathContext.from_game(GAME, n_trajectories=1)
    feats = np.asarray(path.features(ctx))
    np.testing.assert_allclose(feats, np.column_stack([t / GAME.horizon, z]))
    plain = bm.paths.Neural(inputs=("t",), hidden=(4,))
    assert plain.features(ctx).shape == (GAME.n_times, 1)
    with pytest.raises(ValueError, match="covariates of 'beta' have 20 time points"):
        bm.CalibrationModel(GAME, {"beta": bm.paths.Neural(inputs=("t",), covariates=z[:20])},
                            bm.observe.Poisson(exposure=1e4), readout=Transitions([(0, 1)]), mu0_source="data")
    with pytest.raises(ValueError, match="covariates must be finite"):
        bm.paths.Neural(inputs=("t",), covariates=np.full((21, 1), np.nan))
