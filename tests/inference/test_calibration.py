"""Calibration pipeline: data container, simulation, NumPyro model, SVI/NUTS, ArviZ output."""

from unittest import mock

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
import xarray as xr
from numpyro.infer.util import log_density

import bayes_mfg as bm
from bayes_mfg.datasets import simulate, simulate_agents
from bayes_mfg.engine.continuous_time import step_rates

SMALL = bm.games.LinearQuadratic(n_states=3, n_times=20)


def small_sim(n_traj=4, seed=0, conc=2000.0, **kw):
    return simulate(SMALL, {"gamma": 1.2}, n_traj, bm.observe.Dirichlet(conc), seed=seed, **kw)


# ----------------------------------------------------------------------------- data
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"values": np.full((2, 3), 0.5), "times": [0, 1]}, "sum to 1"),
        ({"values": -np.ones((2, 2)) / 2, "times": [0, 1]}, "non-negative"),
        ({"values": np.full((2, 2), np.nan), "times": [0, 1]}, "no observed entry"),
        ({"values": np.full((2, 2), 0.5), "times": [1, 0]}, "strictly increasing"),
        ({"values": np.full((2, 2), 0.5), "times": [0, 1, 2]}, "times must have shape"),
        ({"values": np.full((2, 2), 0.5), "times": [0, 1], "mu0": [0.2, 0.2]}, "mu0 rows must sum to 1"),
        ({"values": np.full((1, 2, 2), 0.5), "times": [0, 1], "kind": "shares"}, "kind must be one of"),
        ({"values": np.full((2, 2), 0.5), "times": [0, 1], "kind": "counts"}, "non-integer"),
        ({"values": np.ones(4), "times": [0]}, "values must have shape"),
    ],
)
def test_observations_reject_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bm.Observations.from_arrays(**kwargs)


def test_observations_nan_is_masked_and_partial_rows_allowed():
    v = np.array([[[0.5, 0.5, 0.0], [0.3, np.nan, 0.2]]])
    obs = bm.Observations.from_arrays(v, [0.0, 1.0])
    assert obs.mask.tolist() == [[[True, True, True], [True, False, True]]]
    np.testing.assert_allclose(obs.shares()[0, 1], [0.6, np.nan, 0.4])
    with pytest.raises(ValueError, match="time grid"):
        bm.CalibrationModel(SMALL, {"gamma": bm.paths.Constant()}, bm.observe.Dirichlet()).check_data(
            bm.Observations.from_arrays(np.full((1, 2, 3), 1 / 3), [0.0, 0.05])
        )


# ----------------------------------------------------------------------------- simulation
def test_simulate_noise_free_is_the_equilibrium():
    sim = simulate(SMALL, {"gamma": 1.2}, 3, seed=3)
    for j in range(3):
        eq = bm.equilibrium(SMALL, {"gamma": 1.2}, sim.data.mu0[j])
        np.testing.assert_allclose(sim.data.values[j], eq.mu, atol=1e-14)
    np.testing.assert_allclose(sim.truth["gamma"], 1.2)


def test_simulate_mean_field_dependent_truth():
    sim = simulate(SMALL, {"gamma": lambda t, mu: 0.1 + 2.9 * mu[0]}, 2, seed=1)
    np.testing.assert_allclose(sim.truth["gamma"], 0.1 + 2.9 * sim.mu[..., 0], atol=1e-12)
    assert sim.truth["gamma"].shape == (2, 20)
    assert np.ptp(sim.truth["gamma"]) > 0.05  # genuinely varies along the equilibrium


def test_finite_population_converges_to_the_mean_field():
    params = SMALL.params(gamma=1.2)
    eq = bm.equilibrium(SMALL, params, jnp.array([0.6, 0.3, 0.1]))
    n = 20000
    counts = simulate_agents(SMALL, step_rates(SMALL, eq.value, eq.mu, params), eq.mu[0], n, jax.random.PRNGKey(0))
    assert counts.shape == (20, 3)
    np.testing.assert_array_equal(counts.sum(-1), n)
    # same one-step law as the scheme: binomial standard error <= sqrt(0.25 / n) = 0.0035
    assert float(jnp.max(jnp.abs(counts / n - eq.mu))) < 0.02


# ----------------------------------------------------------------------------- model
def test_model_log_density_gradient_matches_finite_differences():
    sim = small_sim()
    model = bm.CalibrationModel(SMALL, {"gamma": bm.paths.Constant()}, bm.observe.Dirichlet(2000.0))

    def logp(g):
        return log_density(model, (sim.data,), {}, {"gamma": g})[0]

    g = float(jax.grad(logp)(1.1))
    h = 1e-5
    fd = float((logp(1.1 + h) - logp(1.1 - h)) / (2 * h))
    assert abs(g - fd) <= 1e-6 * abs(fd)


def test_failed_solve_is_rejected_not_nan():
    sim = small_sim()
    model = bm.CalibrationModel(
        SMALL, {"gamma": bm.paths.Constant()}, bm.observe.Dirichlet(2000.0), solver=bm.Picard(max_iter=1),
        record_mu=True,
    )
    lp, tr = log_density(model, (sim.data,), {}, {"gamma": 1.1})
    assert float(lp) == -np.inf
    assert not bool(jnp.any(tr["solver_converged"]["value"]))
    assert bool(jnp.all(jnp.isfinite(tr["mu"]["value"])))


def test_numpyro_predictive_predicts_rather_than_echoing_the_data():
    """Plain ``Predictive(model, samples)(key, data)``: new observations around the equilibrium
    at each draw, the same as asking for them with ``observe=False``; the log density is unchanged."""
    from numpyro.infer import Predictive

    sim = small_sim(n_traj=2)
    model = bm.CalibrationModel(SMALL, {"gamma": bm.paths.Constant()}, bm.observe.Dirichlet(2000.0))
    samples = {"gamma": jnp.asarray([1.0, 1.2, 1.4])}
    key = jax.random.PRNGKey(0)
    plain = Predictive(model, samples, return_sites=["obs"])(key, sim.data)["obs"]
    asked = Predictive(model, samples, return_sites=["obs"])(key, sim.data, observe=False)["obs"]
    assert plain.shape == (3, *sim.data.values.shape)
    np.testing.assert_array_equal(plain, asked)
    assert not np.allclose(plain[0], sim.data.values)
    assert np.abs(np.asarray(plain[0]) - np.asarray(sim.data.values)).max() < 0.2  # noise around the equilibrium
    lp, tr = log_density(model, (sim.data,), {}, {"gamma": 1.2})  # outside Predictive: conditioned on the data
    np.testing.assert_array_equal(tr["obs"]["value"], sim.data.values)
    assert np.isfinite(float(lp))


def test_model_rejects_mismatched_configuration():
    with pytest.raises(ValueError, match="unknown parameter"):
        bm.CalibrationModel(SMALL, {"beta": bm.paths.Constant()}, bm.observe.Dirichlet())
    with pytest.raises(ValueError, match="cannot also be fixed"):
        bm.CalibrationModel(SMALL, {"gamma": bm.paths.Constant()}, bm.observe.Dirichlet(), fixed={"gamma": 1.0})
    model = bm.CalibrationModel(SMALL, {"gamma": bm.paths.Constant()}, bm.observe.Poisson())
    with pytest.raises(ValueError, match="data.kind"):
        model.check_data(small_sim().data)


def test_partially_observed_data_gives_finite_likelihood():
    sim = small_sim()
    v = np.array(sim.data.values)
    v[:, :, 2] = np.nan  # state 2 never observed
    v[:, ::3, :] = np.nan  # some times missing
    data = bm.Observations.from_arrays(v, sim.data.times, mu0=sim.data.mu0)
    model = bm.CalibrationModel(SMALL, {"gamma": bm.paths.Constant()}, bm.observe.Dirichlet(2000.0))
    lp = log_density(model, (data,), {}, {"gamma": 1.2})[0]
    assert np.isfinite(float(lp))
    ll = numpyro.infer.log_likelihood(model, {"gamma": jnp.array([1.2, 1.3])}, data)["obs"]
    assert ll.shape == (2, 4, 20)
    np.testing.assert_array_equal(ll[:, :, ::3], 0.0)  # missing rows contribute nothing


# ----------------------------------------------------------------------------- inference
@pytest.mark.slow  # posterior recovery
def test_svi_map_recovers_constant_gamma_on_small_game():
    sim = small_sim(n_traj=6, conc=5000.0)
    model = bm.CalibrationModel(SMALL, {"gamma": bm.paths.Constant()}, bm.observe.Dirichlet(5000.0))
    fit = bm.fit_svi(model, sim.data, num_steps=300, learning_rate=0.05, progress_bar=False)
    assert abs(float(fit.median()["gamma"]) - 1.2) < 0.1
    assert fit.losses.shape == (300,) and fit.n_failed_steps == 0
    tree = fit.to_arviz(num_samples=4)
    assert tree["svi_losses"]["loss"].shape == (300,)


# lowrank and multivariate under -m slow (CI budget: ~35 s); the three share fit_svi's code path
@pytest.mark.parametrize("guide", ["normal", pytest.param("lowrank", marks=pytest.mark.slow),
                                   pytest.param("multivariate", marks=pytest.mark.slow)])
def test_svi_gaussian_guides_fit_a_spline_path(guide):
    sim = small_sim(n_traj=3)
    model = bm.CalibrationModel(SMALL, {"gamma": bm.paths.TimeSpline.around(1.0, n_knots=4)}, bm.observe.Dirichlet(2000.0),
                                record_mu=False)
    fit = bm.fit_svi(model, sim.data, guide=guide, num_steps=150, learning_rate=0.02, progress_bar=False)
    assert fit.n_failed_steps == 0
    assert np.mean(fit.losses[-20:]) < np.mean(fit.losses[:20])
    draws = fit.sample_posterior(8)
    assert draws["gamma_path"].shape == (8, SMALL.n_times)  # a time spline is shared: recorded once
    assert np.all(np.isfinite(draws["gamma_path"])) and np.std(draws["gamma_z"], axis=0).min() > 0


@pytest.mark.slow  # 30-50 s in CI (suite budget); run with -m slow
def test_laplace_mode_and_hessian():
    from numpyro.infer.util import initialize_model

    sim = small_sim(n_traj=4, conc=5000.0)
    model = bm.CalibrationModel(SMALL, {"gamma": dist.LogNormal(0.0, 1.0)}, bm.observe.Dirichlet(5000.0), record_mu=False)
    approx = bm.laplace(model, sim.data)
    assert approx.converged and approx.site_names == ("gamma",)
    assert abs(float(approx.map_values["gamma"]) - 1.2) < 0.05
    # the Hessian (central differences of the implicit gradient) matches second differences of
    # the potential itself, U(z) = -log p, in the unconstrained (log gamma) coordinate
    info = initialize_model(jax.random.PRNGKey(0), model, model_args=(sim.data,))
    u = lambda z: float(info.potential_fn({"gamma": jnp.asarray(z)}))  # noqa: E731
    z, h = float(approx.z_map[0]), 1e-3
    second = (u(z + h) - 2 * u(z) + u(z - h)) / h**2
    assert approx.hessian.shape == (1, 1)
    np.testing.assert_allclose(approx.hessian[0, 0], second, rtol=1e-4)
    np.testing.assert_allclose(approx.covariance, 1.0 / approx.hessian)
    draws = approx.sample_unconstrained(jax.random.PRNGKey(1), 2000)
    assert abs(draws.std() / np.sqrt(approx.covariance[0, 0]) - 1) < 0.1


def test_laplace_rejects_point_networks():
    sim = small_sim(n_traj=2)
    model = bm.CalibrationModel(SMALL, {"gamma": bm.paths.Neural(hidden=(4,))}, bm.observe.Dirichlet(2000.0))
    with pytest.raises(ValueError, match="point-network"):
        bm.laplace(model, sim.data)


# ~55 s: under -m slow (CI budget); test_laplace_mode_and_hessian stays in the default suite
@pytest.mark.slow
def test_laplace_result_is_a_fit_with_draws_a_tree_and_a_refit():
    sim = small_sim(n_traj=3, conc=5000.0)
    model = bm.CalibrationModel(SMALL, {"gamma": dist.LogNormal(0.0, 1.0)}, bm.observe.Dirichlet(5000.0))
    approx = bm.laplace(model, sim.data)
    assert isinstance(approx, bm.Fit) and approx.method == "laplace" and approx.model is model
    draws = approx.posterior_draws(200, seed=1)
    assert set(draws) == {"gamma"} and draws["gamma"].shape == (200,) and np.all(draws["gamma"] > 0)
    # draws on the site's own scale: log gamma ~ Normal(z_map, covariance)
    assert abs(np.log(draws["gamma"]).mean() - approx.z_map[0]) < 4 * np.sqrt(approx.covariance[0, 0] / 200)
    tree = approx.to_arviz(num_samples=20)
    assert {"posterior", "posterior_predictive", "log_likelihood", "log_prior", "sample_stats"} <= set(tree.children)
    assert tree.posterior["gamma"].shape == (1, 20) and tree.attrs["bayes_mfg_method"] == "laplace"
    assert "solver_converged" in tree["sample_stats"] and "gamma_path" in tree.posterior
    # refit (K-fold) runs laplace again with the same model, seed and settings (checked on the
    # call, without a second optimisation: CI budget)
    new = small_sim(n_traj=3, conc=5000.0, seed=1).data
    with mock.patch("bayes_mfg.inference.laplace_approximation.laplace") as run:
        approx.refit(new)
    run.assert_called_once_with(model, new, seed=approx.seed, **approx.settings)


def test_site_roles_come_from_the_trace_not_from_names():
    from bayes_mfg.inference import SiteRole, site_roles

    sim = small_sim(n_traj=2)
    obs = bm.observe.Dirichlet(dist.LogNormal(7.0, 1.0))
    model = bm.CalibrationModel(SMALL, {"gamma": bm.paths.Neural(hidden=(4,), bayesian=True)}, obs, mu0_source="latent",
                                record_mu=True)
    roles = site_roles(model, sim.data)
    assert roles["mu0"] == SiteRole.LOCAL and roles["obs_concentration"] == "parameter"
    assert roles["gamma_path"] == "path" and roles["mu"] == "equilibrium" and roles["obs"] == "observation"
    assert {roles[k] for k in ("solver_converged", "solver_iterations", "solver_residual")} == {SiteRole.SOLVER}
    weights = [k for k, v in roles.items() if v == SiteRole.NETWORK]
    assert weights and all(k.startswith("gamma_net/") for k in weights)
    shared = bm.CalibrationModel(SMALL, {"gamma": bm.paths.Neural(hidden=(4,))}, obs, mu0_source="shared")
    roles = site_roles(shared, sim.data)
    assert roles["mu0"] == SiteRole.PARAMETER and [v for v in roles.values() if v == SiteRole.POINT]


@pytest.mark.slow  # 61 s in CI (budget); NUTS from Laplace draws
def test_nuts_laplace_init_uses_the_approximation():
    sim = small_sim(n_traj=3, conc=5000.0)
    model = bm.CalibrationModel(SMALL, {"gamma": bm.paths.TimeSpline.around(1.0, n_knots=4, centered=True)},
                                bm.observe.Dirichlet(5000.0), record_mu=False)
    fit = bm.fit_nuts(model, sim.data, num_chains=2, num_warmup=40, num_samples=40, init="laplace", dense_mass=True,
                      progress_bar=False)
    assert fit.laplace is not None and fit.laplace.site_names == ("gamma_w",)
    assert fit.settings["init"] == "laplace"
    assert fit.num_divergences == 0
    starts = np.asarray(fit.mcmc.get_samples(group_by_chain=True)["gamma_w"])[:, 0]
    assert not np.allclose(starts[0], starts[1])  # chains start from different Laplace draws
    with pytest.raises(ValueError, match="init must be one of"):
        bm.fit_nuts(model, sim.data, init="map", progress_bar=False)


@pytest.mark.slow  # 30-50 s in CI (suite budget); run with -m slow
def test_nuts_to_arviz_dims_coords_and_netcdf_round_trip(tmp_path):
    sim = small_sim(n_traj=3)
    model = bm.CalibrationModel(
        SMALL, {"gamma": bm.paths.TimeSpline(n_knots=4)}, bm.observe.Dirichlet(dist.LogNormal(7.0, 1.0)), record_mu=True
    )
    fit = bm.fit_nuts(model, sim.data, num_chains=2, num_warmup=20, num_samples=10, progress_bar=False)
    tree = fit.to_arviz()
    for group in ("posterior", "posterior_predictive", "log_likelihood", "sample_stats", "observed_data"):
        assert group in tree.children, group
    post = tree["posterior"]
    det = tree["posterior_deterministic"]
    assert det["gamma_path"].dims == ("chain", "draw", "time_step")  # shared by the trajectories: once
    assert tree["prior_deterministic"]["gamma_path"].dims == ("chain", "draw", "time_step")
    assert det["gamma_weights"].dims == ("chain", "draw", "gamma_knot")
    assert det["mu"].dims == ("chain", "draw", "trajectory", "time", "state")
    assert "obs_concentration" in post
    assert tree["log_likelihood"]["obs"].dims == ("chain", "draw", "trajectory", "time")
    assert tree["sample_stats"]["solver_residual"].dims == ("chain", "draw", "trajectory")
    assert float(tree["sample_stats"]["solver_residual"].max()) <= 1e-10
    assert list(det["state"].values) == ["s0", "s1", "s2"]
    np.testing.assert_allclose(det["time"].values, sim.data.times)
    assert tree.attrs["bayes_mfg_method"] == "nuts" and "version_jax" in tree.attrs
    path = tmp_path / "fit.nc"
    bm.save(tree, path)
    back = bm.load(path)
    for group in tree.children:
        xr.testing.assert_identical(back[group].to_dataset(), tree[group].to_dataset())
    assert back.attrs == tree.attrs


@pytest.mark.slow  # 61 s in CI (budget): an SVI fit and its tree
def test_bayesian_network_weights_reach_the_arviz_tree():
    """Network weight sites hold "/" ("gamma_net/layers[0].weight"), which xarray refuses:
    the tree names them with "." and its roles follow."""
    sim = small_sim(n_traj=2)
    model = bm.CalibrationModel(SMALL, {"gamma": bm.paths.Neural(inputs=("t",), hidden=(3,), bayesian=True)},
                                bm.observe.Dirichlet(500.0))
    fit = bm.fit_svi(model, sim.data, guide="normal", num_steps=20, progress_bar=False)
    tree = fit.to_arviz()
    names = [k for k in tree["posterior"].data_vars if k.startswith("gamma_net.")]
    assert names and "gamma_net.layers[0].weight" in names
    roles = bm.criticism._fits.tree_site_roles(tree)
    assert all(roles[k] == "network" for k in names)
