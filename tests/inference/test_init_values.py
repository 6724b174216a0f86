"""``init_values``: unknown keys are errors (before any solve), a partial dict keeps the rest at
the documented default (the prior medians), in every fit that takes it."""

import jax
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.infer.initialization import init_to_median

import bayes_mfg as bm
import bayes_mfg.inference.svi as svi_module
from bayes_mfg.inference.inputs import init_strategy

LQ = bm.games.LinearQuadratic(n_states=3, n_times=10)
OBS = bm.observe.Dirichlet(500.0)
MODEL = bm.CalibrationModel(LQ, {"gamma": dist.LogNormal(0.0, 0.5), "base_rate": dist.LogNormal(0.5, 0.3)}, OBS)
DATA = bm.Observations.from_arrays(np.array([[[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]]]),
                                   [float(t) for t in LQ.time_grid[:2]], mu0=[[0.5, 0.3, 0.2]])


@pytest.mark.parametrize("fit", [
    lambda **kw: bm.fit_svi(MODEL, DATA, num_steps=2, **kw),
    lambda **kw: bm.fit_nuts(MODEL, DATA, num_warmup=2, num_samples=2, num_chains=1, **kw),
    lambda **kw: bm.fit_nuts(MODEL, DATA, num_warmup=2, num_samples=2, num_chains=1, init="laplace", **kw),
    lambda **kw: bm.laplace(MODEL, DATA, **kw),
], ids=["svi", "nuts", "nuts-laplace", "laplace"])
def test_a_misspelt_init_value_is_an_error_naming_it(fit, monkeypatch):
    # refused before any equilibrium is solved
    monkeypatch.setattr(bm.CalibrationModel, "__call__",
                        lambda *a, **k: pytest.fail("the model (an equilibrium solve) ran before init_values was checked"))
    with pytest.raises(ValueError, match=r"init_values has unknown site name\(s\) \['gamm'\].*latent sites are "
                                         r"\['base_rate', 'gamma'\]"):
        fit(init_values={"gamm": 50.0})
    with pytest.raises(TypeError, match="init_values must be a dict"):
        fit(init_values=[("gamma", 1.0)])


def _site(name, fn, key):
    return {"type": "sample", "is_observed": False, "name": name, "fn": fn, "value": None, "infer": {},
            "kwargs": {"rng_key": key, "sample_shape": ()}}


def test_a_partial_init_dict_keeps_the_other_sites_at_the_prior_median():
    # NumPyro's init_to_value would start base_rate at a uniform draw in (-2, 2) unconstrained
    strategy = init_strategy(MODEL, DATA, {"gamma": 2.0}, "test")
    median = init_to_median(num_samples=15)
    key = jax.random.PRNGKey(3)
    gamma, base = _site("gamma", dist.LogNormal(0.0, 0.5), key), _site("base_rate", dist.LogNormal(0.5, 0.3), key)
    assert float(strategy(gamma)) == 2.0                                   # the given value
    assert float(strategy(base)) == float(median(base))                     # the documented default
    assert abs(np.log(float(strategy(base))) - 0.5) < 0.3                    # near the prior median exp(0.5)


def test_the_guide_name_is_checked_before_any_solve(monkeypatch):
    monkeypatch.setattr(svi_module, "site_roles", lambda *a, **k: pytest.fail("traced the model first"))
    with pytest.raises(ValueError, match=r"guide must be one of"):
        bm.fit_svi(MODEL, DATA, guide="flow")


EULER = bm.games.LinearQuadratic(n_states=3, n_times=20, scheme="euler")  # unstable for gamma < ~0.49


@pytest.mark.parametrize("fit", [
    pytest.param(lambda m, d: bm.fit_svi(m, d, num_steps=2), marks=pytest.mark.slow),  # 100 failing starts: ~20 s
    lambda m, d: bm.fit_nuts(m, d, num_warmup=2, num_samples=2, num_chains=1),
    pytest.param(lambda m, d: bm.laplace(m, d), marks=pytest.mark.slow),
], ids=["svi", "nuts", "laplace"])
def test_a_fit_where_every_solve_fails_says_so_with_the_tally(fit):
    obs = bm.observe.Dirichlet(15.0)
    data = bm.datasets.simulate(EULER, {"gamma": 0.52}, 2, obs, seed=1).data
    model = bm.CalibrationModel(EULER, {"gamma": bm.paths.Constant(prior=dist.Uniform(0.1, 0.3))}, obs)
    with pytest.raises(bm.inference.NoValidStart, match=r"no valid starting point.*hit a failed equilibrium solve.*"
                                                          r"failing parameter values: gamma in \[0\.1.*scheme='implicit'"):
        fit(model, data)
