"""Identifiability, predictive checks, model comparison, SBC and reports (fast tests)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from scipy.stats import lognorm

import bayes_mfg as bm
from bayes_mfg.criticism import pointwise_log_likelihood, rank_test
from bayes_mfg.criticism._comparison import _kfold, _stacking_weights
from bayes_mfg.criticism._identifiability_report import combination, verdict
from bayes_mfg.stepping import Dense, ImplicitEuler

GAME = bm.games.LinearQuadratic(n_states=3, n_times=20)
OBS = bm.observe.Dirichlet(500.0)
PRIOR = dist.LogNormal(0.0, 0.5)


@pytest.fixture(scope="module")
def lq():
    sim = bm.datasets.simulate(GAME, {"gamma": 1.3}, 6, OBS, seed=1)
    test = bm.datasets.simulate(GAME, {"gamma": 1.3}, 3, OBS, seed=2)
    model = bm.CalibrationModel(GAME, {"gamma": PRIOR}, OBS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bm.fit_nuts(model, sim.data, num_chains=2, num_warmup=150, num_samples=150, seed=0, progress_bar=False)
    return sim, test, model, fit


# ---------------------------------------------------------------------------- no-game baseline
def test_mean_field_dynamics_moves_and_validation():
    sir = bm.games.MeanFieldDynamics.like(bm.games.SIR())
    assert sir.moves == ((0, 1), (1, 2))
    assert bm.games.MeanFieldDynamics(n_states=3).moves == ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1))
    with pytest.raises(ValueError, match="moves must be distinct pairs"):
        bm.games.MeanFieldDynamics(n_states=3, moves=((0, 0),))
    with pytest.raises(ValueError, match="moves must be distinct pairs"):
        bm.games.MeanFieldDynamics(n_states=3, moves=((0, 5),))
    with pytest.raises(TypeError, match="moves must be a sequence"):
        bm.games.MeanFieldDynamics(n_states=3, moves=(1, 2))
    with pytest.raises(TypeError, match="game must be"):
        bm.games.MeanFieldDynamics.like("lq")


def test_mean_field_dynamics_is_the_forward_equation_with_the_given_rates():
    base = bm.games.MeanFieldDynamics(n_states=3, moves=((0, 1), (1, 2), (2, 0)), n_times=30, scheme="implicit")
    rates = np.stack([np.linspace(0.2, 1.0, 30), np.full(30, 0.7), np.linspace(1.5, 0.1, 30)], axis=1)
    mu0 = jnp.array([0.6, 0.3, 0.1])
    eq = bm.equilibrium(base, base.params(rates=rates), mu0)
    assert bool(eq.info.converged) and int(eq.info.iterations) <= 3
    mu = np.asarray(mu0)
    a = np.zeros((3, 3))
    for n in range(29):
        a[0, 1], a[1, 2], a[2, 0] = rates[n]
        mu = mu @ np.asarray(ImplicitEuler().transition_matrix(Dense(), jnp.asarray(a), base.dt))
        np.testing.assert_allclose(np.asarray(eq.mu[n + 1]), mu, atol=1e-12)


# ---------------------------------------------------------------------------- data as a pytree
def test_observations_pytree_round_trip_and_jit_over_data(lq):
    sim, _, model, _ = lq
    leaves, treedef = jax.tree_util.tree_flatten(sim.data)
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    np.testing.assert_array_equal(back.values, sim.data.values)
    assert back.times.tolist() == sim.data.times.tolist() and back.state_names == sim.data.state_names
    from numpyro.infer.util import log_density

    params = {"gamma": jnp.asarray(1.2)}
    eager = log_density(model, (sim.data,), {}, params)[0]
    jitted = jax.jit(lambda d: log_density(model, (d,), {}, params)[0])(sim.data)
    np.testing.assert_allclose(float(jitted), float(eager), rtol=1e-12)


def test_sample_prior_solves_nothing_and_matches_the_prior(lq):
    sim, _, model, _ = lq
    draws = model.sample_prior(sim.data, 4000, seed=3)
    assert set(draws) == {"gamma", "gamma_path"}
    assert draws["gamma_path"].shape == (4000, 20)  # a constant is shared by the 6 trajectories: once
    np.testing.assert_array_equal(draws["gamma_path"], np.broadcast_to(draws["gamma"][:, None], (4000, 20)))
    # LogNormal(0, 0.5): median 1, mean exp(0.125)
    assert abs(np.median(draws["gamma"]) - 1.0) < 0.03
    assert abs(draws["gamma"].mean() - np.exp(0.125)) < 0.03


def test_log_prior_group_is_the_prior_density_of_each_draw(lq):
    _, _, _, fit = lq
    tree = fit.to_arviz()
    g = tree["posterior"]["gamma"].values
    expected = lognorm(s=0.5, scale=1.0).logpdf(g)
    np.testing.assert_allclose(tree["log_prior"]["lp"].values, expected, rtol=1e-10)


# ---------------------------------------------------------------------------- identifiability
def test_verdict_and_combination_wording():
    assert verdict(0.95) == "identified" and verdict(0.6) == "weakly identified" and verdict(0.1) == "not identified"
    assert combination(np.array([0.7, -0.7, 0.05]), ["a", "b", "c"]) == "0.71 a - 0.71 b"
    assert combination(np.array([-0.1, -0.99]), ["a", "b"]) == "0.99 b"


@pytest.mark.slow  # a statistical verdict on a fitted posterior
def test_lq_constant_gamma_is_reported_identified(lq):
    _, _, _, fit = lq
    rep = bm.identifiability(fit)
    row = rep.parameters.loc["gamma"]
    assert row["contraction"] > 0.9 and row["verdict"] == "identified"
    assert row["r_hat"] < 1.05 and row["ess_bulk"] > 50
    assert len(rep.directions) == 1 and rep.directions["verdict"].iloc[0] == "identified"
    assert "log(gamma)" in rep.directions["combination"].iloc[0]
    md = rep.to_markdown()
    assert "| gamma |" in md and "identified" in md
    assert rep.plot_contraction() is not None


@pytest.mark.slow  # 51 s in CI (a Laplace fit of a time spline): moved out of the default suite to keep it under 15 min
def test_identifiability_of_a_point_estimate_uses_the_laplace_spread(lq):
    sim, _, model, _ = lq
    fit = bm.fit_svi(model, sim.data, guide="delta", num_steps=300, learning_rate=0.05, progress_bar=False)
    rep = bm.identifiability(fit)
    assert "point estimate" in " ".join(rep.statements)
    assert 0.9 < rep.parameters.loc["gamma", "contraction"] < 1.0


def test_identifiability_input_errors(lq):
    sim, _, model, fit = lq
    tree = fit.to_arviz()
    with pytest.raises(TypeError, match="model="):
        bm.identifiability(tree)
    with pytest.raises(TypeError, match="fit must be"):
        bm.identifiability({"gamma": 1.0})
    with pytest.raises(ValueError, match="var_names"):
        bm.identifiability(fit, var_names=["beta"], laplace=False)
    with pytest.raises(ValueError, match="corr_threshold"):
        bm.identifiability(fit, corr_threshold=1.5)
    rep = bm.identifiability(tree, model=model, data=sim.data, laplace=False)
    assert rep.directions.empty and rep.parameters.loc["gamma", "verdict"] == "identified"


def test_identifiability_steps_on_synthetic_draws():
    from bayes_mfg.criticism._identifiability import (
        ParameterDraws,
        contraction_table,
        correlations,
        eigen_directions,
        findings,
    )

    rng = np.random.default_rng(0)
    post = np.stack([rng.normal(1.0, 0.1, (2, 400)), rng.normal(0.0, 0.8, (2, 400))], axis=-1)  # (chain, draw, 2)
    prior = rng.normal(0.0, 1.0, (4000, 2))
    draws = ParameterDraws(["a", "b"], ["a", "b"], post, prior, post, prior)
    assert not draws.degenerate and draws.flat.shape == (800, 2)
    table = contraction_table(draws, None)
    assert list(table["verdict"]) == ["identified", "not identified"]
    assert abs(table.loc["b", "contraction"] - 0.36) < 0.1 and table["r_hat"].lt(1.05).all()
    corr, strong = correlations(draws, None, 0.8)
    assert corr.shape == (2, 2) and strong.empty
    dirs, cond = eigen_directions(draws, np.diag([0.01, 0.64]))
    assert list(dirs["combination"]) == ["1.00 b", "1.00 a"]
    assert list(dirs["verdict"]) == ["not identified", "identified"]
    np.testing.assert_allclose(cond, 64.0)
    text = findings(table, dirs, strong, cond)
    assert text[0] == "identified (contraction >= 0.9): a" and text[-1].startswith("condition number")
    # a point estimate: no spread in the draws, contraction from the Laplace variances (unconstrained scale)
    point = ParameterDraws(["a", "b"], ["a", "b"], np.ones((1, 5, 2)), prior, np.ones((1, 5, 2)), prior)
    assert point.degenerate
    table = contraction_table(point, np.diag([0.01, 0.64]))
    assert table["sd"].isna().all() and abs(table.loc["a", "contraction"] - 0.99) < 0.01
    assert "point estimate" in findings(table, dirs, strong, cond, degenerate=True)[-1]


def test_site_roles_of_a_tree_alone_and_no_module_is_shadowed(lq):
    import importlib
    import inspect
    import types

    from bayes_mfg.criticism._fits import ROLES_ATTR, tree_site_roles

    fit_tree = lq[3].to_arviz()
    roles = tree_site_roles(fit_tree)
    assert (roles["gamma"], roles["gamma_path"]) == ("parameter", "path") and "mu" not in roles  # mu: on request
    tree = fit_tree.copy()
    tree.attrs = {k: v for k, v in fit_tree.attrs.items() if k != ROLES_ATTR}  # a tree saved without the roles
    stored = [*tree["posterior"].data_vars, *tree["posterior_deterministic"].data_vars]
    assert tree_site_roles(tree) == {k: roles[k] for k in stored}
    assert isinstance(importlib.import_module("bayes_mfg.criticism"), types.ModuleType)
    for name in ("identifiability", "posterior_predictive", "compare", "sbc", "report"):
        assert inspect.isfunction(getattr(bm, name)) and getattr(bm.criticism, name) is getattr(bm, name)


# ---------------------------------------------------------------------------- predictive
def test_posterior_predictive_on_new_trajectories(lq):
    _, test, _, fit = lq
    pred = bm.posterior_predictive(fit, test.data, num_samples=50)
    assert pred["mu"].shape == (50, 3, 20, 3) and pred["obs"].shape == (50, 3, 20, 3)
    assert pred["solver_converged"].all()
    np.testing.assert_allclose(pred["mu"].sum(-1), 1.0, atol=1e-10)
    # the calibrated path: a constant shared by the trajectories (stored once), one posterior draw per sample
    path = pred["gamma_path"]
    assert path.shape == (50, 20)
    np.testing.assert_array_equal(path, np.broadcast_to(path[:, :1], path.shape))
    assert np.isin(path[:, 0], np.asarray(fit.samples["gamma"]).ravel()).all()
    assert np.unique(path[:, 0]).size > 10
    err = bm.heldout_error(fit, test.data, num_samples=50)
    # the posterior mean is close to the truth: error ~ the Dirichlet noise sd (~0.02)
    assert err["n_entries"] == 180 and 0.005 < err["rmse"] < 0.04
    check = bm.predictive_check(fit, test.data, prob=0.9, num_samples=200)
    assert list(check.coverage.index) == ["s0", "s1", "s2", "all"]
    assert 0.75 < check.overall <= 1.0
    assert check.plot(trajectories=[0, 1]) is not None
    with pytest.raises(ValueError, match="prob"):
        bm.predictive_check(fit, prob=1.5)
    with pytest.raises(TypeError, match="fit must be"):
        bm.posterior_predictive(object())


def test_posterior_predictive_evaluates_a_neural_path_on_each_trajectory(lq):
    """A point network of (t, mu): one path per new trajectory (its own flow), the same in every draw."""
    sim, test, _, _ = lq
    model = bm.CalibrationModel(GAME, {"gamma": bm.paths.Neural(hidden=(4,), init_value=1.3)}, OBS, record_mu=False)
    fit = bm.fit_svi(model, sim.data, num_steps=5, progress_bar=False)
    path = bm.posterior_predictive(fit, test.data, num_samples=4)["gamma_path"]
    assert path.shape == (4, 3, 20) and np.isfinite(path).all()
    np.testing.assert_array_equal(path, np.broadcast_to(path[:1], path.shape))
    assert np.ptp(path[0], axis=0).max() > 1e-6  # trajectories see different mu_t


# ---------------------------------------------------------------------------- comparison
def test_pointwise_units_and_constant_units(lq):
    _, _, _, fit = lq
    tree = fit.to_arviz()
    assert pointwise_log_likelihood(tree, "trajectory").shape == (2, 150, 6)
    assert pointwise_log_likelihood(tree, "observation").shape == (2, 150, 120)
    # rows at t = 0 observe the given mu0: their likelihood is the same for every draw
    res = bm.loo(fit, unit="observation", kfold=None)
    assert np.all(np.isfinite(res.pointwise)) and res.pointwise.shape == (120,)
    assert np.all(res.pareto_k[::20] == 0)


@pytest.mark.slow  # 28 s in CI (suite budget); run with -m slow
def test_compare_refuses_a_single_fit_and_fits_to_different_data(lq):
    sim, _, model, fit = lq
    with pytest.raises(ValueError, match="at least 2"):
        bm.compare({"game": fit})
    other = bm.fit_svi(model, sim.data.subset([0, 1, 2]), num_steps=50, progress_bar=False)
    with pytest.raises(ValueError, match="different data"):
        bm.compare({"a": fit, "b": other}, kfold=None)


@pytest.mark.slow  # a statistical verdict: the game predicts its own data's new trajectories better
def test_compare_game_vs_no_game(lq):
    sim, test, model, fit = lq
    base = bm.games.MeanFieldDynamics.like(GAME)
    m_b = bm.CalibrationModel(base, {"rates": bm.paths.Constant()}, OBS)
    fit_b = bm.fit_svi(m_b, sim.data, guide="multivariate", num_steps=1500, learning_rate=0.02, progress_bar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = bm.compare({"game": fit, "no game": fit_b}, test_data=test.data, kfold=None)
    assert set(cmp.table.index) == {"game", "no game"}
    np.testing.assert_allclose(cmp.table["weight"].sum(), 1.0, atol=1e-8)
    d, se = cmp.difference("game", "no game")
    assert d > 0 and se > 0  # data from the game: the game predicts new trajectories better
    assert cmp.table.loc["game", "test_mse"] < cmp.table.loc["no game", "test_mse"]
    assert "elpd_diff" in cmp.to_markdown()


def test_stacking_weights_pick_the_better_model():
    rng = np.random.default_rng(0)
    a = rng.normal(-1.0, 0.1, 50)
    w = _stacking_weights(np.stack([a, a - 2.0], axis=1))
    assert w[0] > 0.99 and abs(w.sum() - 1) < 1e-12


@pytest.mark.parametrize("n_bad, kfold, chosen, refits", [(2, 5, "_reloo", 2), (4, 3, "_kfold", 3)])
def test_bad_k_refits_are_chosen_and_announced_before_they_start(lq, monkeypatch, n_bad, kfold, chosen, refits):
    """At most kfold bad units: refit those alone; more: K-fold of all. The warning comes first."""
    from bayes_mfg.criticism import _comparison

    _, _, _, fit = lq
    k = bm.loo(fit, kfold=None).pareto_k
    top = np.sort(k)
    monkeypatch.setattr(_comparison, "_good_k", lambda n: 0.5 * (top[-n_bad - 1] + top[-n_bad]))
    calls = []

    def record(name):
        def refit(*args, **kwargs):
            assert len(seen) == 1  # announced before any refit
            calls.append(name)
            return "refitted"
        return refit

    for name in ("_reloo", "_kfold"):
        monkeypatch.setattr(_comparison, name, record(name))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert bm.loo(fit, kfold=kfold, progress_bar=False) == "refitted"
    assert calls == [chosen]
    assert f"{n_bad} of 6 trajectories have Pareto k" in str(seen[0].message)
    assert f"starting {refits} refits" in str(seen[0].message)


@pytest.mark.slow  # 55 s: three SVI fits
def test_bad_pareto_k_units_alone_are_refitted_and_announced(lq, monkeypatch):
    """Two units of bad k (the threshold moved between the 2nd and 3rd largest k): a warning
    names the 2 refits before they start, and only those units' scores change, each to a
    leave-one-out score below its in-sample log predictive density."""
    from scipy.special import logsumexp

    from bayes_mfg.criticism import _comparison

    sim, _, model, _ = lq
    fit = bm.fit_svi(model, sim.data, guide="normal", num_steps=300, learning_rate=0.05, progress_bar=False)
    psis = bm.loo(fit, kfold=None)
    top = np.sort(psis.pareto_k)
    monkeypatch.setattr(_comparison, "_good_k", lambda n: 0.5 * (top[-3] + top[-2]))
    with pytest.warns(UserWarning, match=r"2 of 6 trajectories have Pareto k > .*starting 2 refits \(exact leave-one-out"):
        res = bm.loo(fit, kfold=5, progress_bar=False)
    bad = np.argsort(psis.pareto_k)[-2:]
    assert res.method == "psis-loo+reloo" and res.n_bad_k == 2 and np.isnan(res.p)
    same = np.setdiff1d(np.arange(6), bad)
    np.testing.assert_array_equal(res.pointwise[same], psis.pointwise[same])
    ll = _comparison.pointwise_log_likelihood(fit.to_arviz()).values.reshape(-1, 6)
    in_sample = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    assert np.all(np.isfinite(res.pointwise[bad])) and np.all(res.pointwise[bad] < in_sample[bad])
    assert res.elpd == pytest.approx(res.pointwise.sum())


@pytest.mark.slow  # a statistical agreement of K-fold and PSIS-LOO
def test_kfold_scores_every_unit_once(lq):
    sim, _, model, _ = lq
    fit = bm.fit_svi(model, sim.data, guide="normal", num_steps=400, learning_rate=0.05, progress_bar=False)
    res = _kfold(fit, "trajectory", 3, "m", 0, np.zeros(6), 0.7)
    assert res.method == "kfold" and res.pointwise.shape == (6,) and np.all(np.isfinite(res.pointwise))
    psis = bm.loo(fit, kfold=None)
    # a well-specified model with one parameter: K-fold and PSIS-LOO agree within a few nats
    assert abs(res.elpd - psis.elpd) < 5.0


# ~55 s: under -m slow (CI budget)
@pytest.mark.slow
# ---------------------------------------------------------------------------- SBC
def test_sbc_mechanics_and_a_point_estimate_is_rejected():
    design = bm.datasets.simulate(GAME, {"gamma": 1.0}, 3, bm.observe.Dirichlet(200.0), times=GAME.time_grid[::4]).data
    model = bm.CalibrationModel(GAME, {"gamma": PRIOR}, bm.observe.Dirichlet(200.0), record_mu=False)
    res = bm.sbc(model, design, 20, method="svi", guide="delta", num_samples=19, num_steps=300, learning_rate=0.05,
                 bins=5, seed=0)
    assert res.ranks.shape == (20, 1) and res.draws.shape == (20, 19, 1) and res.n_failed == 0
    assert set(np.unique(res.ranks["gamma"])) <= {0, 19}  # a point mass ranks every truth at an end
    assert res.rejected(0.01)
    assert res.plot() is not None
    with pytest.raises(ValueError, match="multiple of bins"):
        bm.sbc(model, design, 20, num_samples=20, bins=10)
    with pytest.raises(ValueError, match="method"):
        bm.sbc(model, design, 20, method="mcmc")


def test_rank_test_accepts_exact_posteriors_and_rejects_narrow_ones():
    rng = np.random.default_rng(1)
    truths = rng.normal(size=(200, 2))
    data = truths + rng.normal(size=(200, 2))  # y ~ N(theta, 1), theta ~ N(0, 1): posterior N(y/2, 1/2)
    exact = data[:, None] / 2 + np.sqrt(0.5) * rng.normal(size=(200, 99, 2))
    narrow = data[:, None] / 2 + 0.3 * np.sqrt(0.5) * rng.normal(size=(200, 99, 2))
    assert rank_test(exact, truths, ["a", "b"], 10)[2] > 0.01
    assert rank_test(narrow, truths, ["a", "b"], 10)[2] < 1e-6


# ~75 s: under -m slow (CI budget); the report's parts have their own default tests
@pytest.mark.slow
# ---------------------------------------------------------------------------- report
def test_report_html_and_markdown_and_cli(lq, tmp_path):
    sim, test, _, fit = lq
    out = bm.report(fit, tmp_path / "r.html", test_data=test.data, truth={"gamma": 1.3})
    text = out.read_text()
    assert text.count("<img") >= 3 and "Identifiability" in text and "held-out" in text
    assert "Time step" in text and "posterior means move by up to" in text  # bayes_mfg.time_step_check
    md = bm.report(fit, tmp_path / "r.md", identifiability=False, time_step=False)
    assert "Time step" not in md.read_text()
    assert (tmp_path / "r_figures").is_dir() and "![" in md.read_text()
    with pytest.raises(ValueError, match="must end in"):
        bm.report(fit, tmp_path / "r.pdf")
    bm.save(fit.to_arviz(), tmp_path / "a.nc")
    bm.save(fit.to_arviz(), tmp_path / "b.nc")
    from bayes_mfg.cli import main

    assert main(["report", str(tmp_path / "a.nc"), str(tmp_path / "b.nc"), "--names", "x", "y",
                 "--out", str(tmp_path / "cli.html")]) == 0
    assert "Model comparison" in (tmp_path / "cli.html").read_text()
    with pytest.raises(SystemExit):
        main(["report", str(tmp_path / "missing.nc"), "--out", str(tmp_path / "c.html")])
    # one saved fit: a DataTree is a Mapping, but it is one fit, not a dict of fits (issue 26)
    single = bm.report(bm.load(tmp_path / "a.nc"), tmp_path / "one.md", identifiability=False, time_step=False)
    assert "Model comparison" not in single.read_text() and "gamma" in single.read_text()



def test_sbc_shows_progress_over_its_fits(capsys):
    design = bm.datasets.simulate(GAME, {"gamma": 1.0}, 2, OBS, times=GAME.time_grid[::5]).data
    model = bm.CalibrationModel(GAME, {"gamma": PRIOR}, OBS, record_mu=False)

    def prior_draws(model, data, key):  # a "fit" that ignores the data: calibrated by construction
        return {"gamma": np.asarray(PRIOR.sample(key, (9,)))}

    res = bm.sbc(model, design, 4, method=prior_draws, num_samples=9, bins=2, seed=0)
    assert res.ranks.shape == (4, 1)
    err = capsys.readouterr().err
    assert "SBC fits" in err and "4/4" in err
    bm.sbc(model, design, 4, method=prior_draws, num_samples=9, bins=2, seed=0, progress_bar=False)
    assert "SBC fits" not in capsys.readouterr().err
    with pytest.raises(TypeError, match="progress_bar must be a bool"):
        bm.sbc(model, design, 4, method=prior_draws, num_samples=9, bins=2, progress_bar="yes")
