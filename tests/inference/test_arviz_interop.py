"""Plain ArviZ on the library's DataTree: every call a NumPyro user would make, without arguments.

The table below is the interoperability record (docs/guide.md, "ArviZ"): each entry runs an
``az.*`` function on a NUTS fit's tree as it is, and checks what it returns against the
library's own figures where there is one (ELPD equal to ``bm.loo``, one summary row per
latent scalar, the prior group drawn from the model's priors).
"""

import warnings

import matplotlib
import numpy as np
import numpyro.distributions as dist
import pytest

import bayes_mfg as bm

matplotlib.use("Agg")
az = pytest.importorskip("arviz")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    game = bm.games.SIR(horizon=20.0, n_times=41)
    sim = bm.datasets.simulate(game, {"beta": 0.4, "gamma": 0.125}, 3, bm.observe.Dirichlet(400.0), seed=1)
    model = bm.CalibrationModel(game, {"beta": bm.paths.Constant(prior=dist.LogNormal(np.log(0.5), 1.0)),
                                       "gamma": bm.paths.Constant(prior=dist.LogNormal(np.log(0.15), 1.0))},
                                bm.observe.Dirichlet(dist.LogNormal(np.log(1000.0), 2.0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bm.fit_nuts(model, sim.data, num_chains=2, num_warmup=100, num_samples=100, progress_bar=False, seed=0)
    path = tmp_path_factory.mktemp("az") / "fit.nc"
    bm.save(fit.to_arviz(), path)
    return bm.load(path)  # what a user opens later: the saved file


LATENT = ("beta", "gamma", "obs_concentration")


def _summary(tree):
    table = az.summary(tree)
    assert list(table.index) == list(LATENT)  # compact: no paths, no mu, no masks
    return table


def _loo(tree):
    res = az.loo(tree)
    ours = bm.loo(tree, unit="observation", kfold=None)
    assert res.elpd == pytest.approx(ours.elpd, rel=1e-6)  # the same PSIS-LOO, unit = one observed row
    return res


def _compare(tree):
    table = az.compare({"a": tree, "b": tree})
    assert table["elpd"].iloc[0] == pytest.approx(table["elpd"].iloc[1])
    return table


def _prior_posterior(tree):
    prior = tree["prior"]
    assert set(prior.data_vars) == set(LATENT) and prior.sizes["draw"] == 500
    lognormal_median = float(np.median(prior["beta"].values))
    assert 0.5 / 1.5 < lognormal_median < 0.5 * 1.5  # drawn from the LogNormal(log 0.5, 1) prior
    return az.plot_prior_posterior(tree)


AZ_CALLS = {
    "summary": _summary,
    "ess": lambda t: az.ess(t),
    "rhat": lambda t: az.rhat(t),
    "plot_trace": lambda t: az.plot_trace(t),
    "plot_dist (plot_posterior)": lambda t: az.plot_dist(t),
    "plot_rank": lambda t: az.plot_rank(t),
    "plot_forest": lambda t: az.plot_forest(t),
    "plot_energy": lambda t: az.plot_energy(t),
    "plot_ppc_dist": lambda t: az.plot_ppc_dist(t),
    "loo": _loo,
    "compare": _compare,
    "plot_khat": lambda t: az.plot_khat(az.loo(t, pointwise=True)),
    "plot_prior_posterior": _prior_posterior,
    # a Dirichlet observes a whole row of shares: one log-likelihood per (trajectory, time)
    # for three observed numbers, and LOO-PIT is defined for scalar observations
    "plot_loo_pit": pytest.param(lambda t: az.plot_loo_pit(t), marks=pytest.mark.xfail(
        strict=True, raises=IndexError, reason="LOO-PIT needs one log-likelihood per observed number; "
                                              "a Dirichlet row has one for all its shares")),
}


@pytest.mark.parametrize("call", AZ_CALLS.values(), ids=AZ_CALLS.keys())
def test_plain_arviz_runs_on_the_tree(call, tree):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no 'invalid value' from a constant variable
        assert call(tree) is not None


def test_the_tree_layout_arviz_expects(tree):
    assert {"posterior", "prior", "posterior_predictive", "log_likelihood", "observed_data", "sample_stats",
            "posterior_deterministic"} <= set(tree.children)
    assert tree["constant_data"]["mu0"].dims == ("trajectory", "state")  # simulated data carry their mu0
    assert list(tree["observed_data"].data_vars) == ["obs"]  # the mask is a coordinate
    assert tree["observed_data"]["mask"].dtype == bool and bool(tree["observed_data"]["mask"].values.all())
    for group in tree.children:
        for name, var in tree[group].data_vars.items():
            assert not any("_dim" in d for d in var.dims), (group, name, var.dims)
    det = tree["posterior_deterministic"]
    assert "mu" not in det  # the equilibrium per draw only on request (record_mu=True)
    # a path shared by the trajectories is stored once, for the posterior and for the prior
    assert det["beta_path"].dims == ("chain", "draw", "time_step")
    assert tree["prior_deterministic"]["beta_path"].dims == ("chain", "draw", "time_step")
    prior_beta = tree["prior"]["beta"].values[..., None]
    np.testing.assert_allclose(tree["prior_deterministic"]["beta_path"].values, np.broadcast_to(
        prior_beta, tree["prior_deterministic"]["beta_path"].shape))


@pytest.mark.slow  # 30-50 s in CI (suite budget); run with -m slow
def test_known_initial_shares_are_constant_data():
    game = bm.games.SIR(horizon=4.0, n_times=9)
    sim = bm.datasets.simulate(game, {"beta": 0.4, "gamma": 0.125}, 2, bm.observe.Dirichlet(400.0), seed=1)
    model = bm.CalibrationModel(game, {"beta": bm.paths.Constant(prior=dist.LogNormal(np.log(0.5), 1.0))},
                                bm.observe.Dirichlet(400.0), fixed={"gamma": 0.125}, mu0_source="data")
    tree = bm.fit_svi(model, sim.data, guide="normal", num_steps=20, progress_bar=False).to_arviz(num_samples=10)
    np.testing.assert_allclose(tree["constant_data"]["mu0"].values, sim.data.mu0)
    assert tree["constant_data"]["mu0"].dims == ("trajectory", "state")


def test_every_parameter_axis_is_named():
    from bayes_mfg.games.base import ParameterSpec

    base = bm.games.MeanFieldDynamics.like(bm.games.SIR(n_times=5))
    model = bm.CalibrationModel(base, {"rates": bm.paths.Constant()}, bm.observe.Dirichlet(100.0))
    dims = model.site_dims()
    assert dims["rates"] == ("move",) and dims["rates_path"] == ("time_step", "move")  # shared: no trajectory axis
    hier = bm.CalibrationModel(base, {"rates": bm.paths.Hierarchical(bm.paths.Constant())}, bm.observe.Dirichlet(100.0))
    assert hier.site_dims()["rates_path"] == ("trajectory", "time_step", "move")
    assert base.dim_coords()["move"] == list(base.move_names) and len(base.move_names) == base.parameter_specs()[
        "rates"].shape[0]
    games = [bm.games.MobilityNetwork(n_states=3), bm.games.UrbanMobility(), bm.games.RockPaperScissors()]
    for game in games:
        for name, spec in game.parameter_specs().items():
            assert len(spec.axis_names(name)) == len(spec.shape)
            assert not any("_dim" in d for d in spec.axis_names(name)), (type(game).__name__, name)
    with pytest.raises(ValueError, match="must name each of the 2 axes"):
        ParameterSpec((2, 2), 0.0, dims=("state",))
