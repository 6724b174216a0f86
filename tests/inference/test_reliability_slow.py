"""Slow reliability checks (``pytest -m slow``): NUTS over a prior with a non-converging
region against the exact truncated posterior, and 200-example property runs."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.infer.util import log_density
from test_reliability import _euler_problem, property_tests

import bayes_mfg as bm

pytestmark = pytest.mark.slow


def _exact_cdf(model, data, lo, hi, n=6001):
    """The posterior CDF of a scalar gamma by quadrature of the model's own log density."""
    grid = np.linspace(lo, hi, n)
    lp = np.asarray(jax.vmap(lambda g: log_density(model, (data,), {}, {"gamma": g})[0])(jnp.asarray(grid)))
    ok = np.isfinite(lp)
    w = np.exp(lp[ok] - lp[ok].max())
    cdf = np.cumsum(w)
    return grid[ok], cdf / cdf[-1]


def _ks(draws, grid, cdf):
    emp = np.searchsorted(np.sort(draws), grid, side="right") / draws.size
    return float(np.max(np.abs(emp - cdf)))


def test_nuts_with_a_non_converging_prior_region_gives_the_truncated_posterior():
    # Explicit Euler on the LQ game leaves the simplex for gamma below ~0.49: the prior
    # Uniform(0.1, 2) puts 21% of its mass there, and the likelihood peaks near the edge.
    wide, data = _euler_problem(dist.Uniform(0.1, 2.0))
    grid, cdf = _exact_cdf(wide, data, 0.1, 2.0)
    gamma_c = grid[0]  # first converging grid point
    assert 0.45 < gamma_c < 0.52
    assert cdf[np.searchsorted(grid, gamma_c + 0.01)] > 0.05  # real posterior mass at the edge
    narrow, _ = _euler_problem(dist.Uniform(float(gamma_c), 2.0))

    with pytest.warns(RuntimeWarning, match="hit a failed equilibrium solve"):
        fit_w = bm.fit_nuts(wide, data, num_chains=2, num_warmup=400, num_samples=1000, seed=0, progress_bar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the truncated prior never fails
        fit_n = bm.fit_nuts(narrow, data, num_chains=2, num_warmup=400, num_samples=1000, seed=0, progress_bar=False)
    f = fit_w.failures
    print(f"\nfailure region: gamma_c = {gamma_c:.4f}; rejected proposals {f.n_rejected} {f.by_phase}, "
          f"statuses {f.by_status}, failing gamma in {f.ranges['gamma']}; divergences after warm-up "
          f"{fit_w.num_divergences} (truncated prior: {fit_n.num_divergences}, failures {fit_n.failures.n_rejected})")
    assert f.n_rejected > 0 and f.by_status.keys() == {"EULER_UNSTABLE"} and f.ranges["gamma"][1] < gamma_c
    assert fit_n.failures.n_rejected == 0
    gw, gn = fit_w.samples["gamma"].ravel(), fit_n.samples["gamma"].ravel()
    assert gw.min() >= gamma_c - 2e-3
    for label, g, fit in (("wide prior", gw, fit_w), ("truncated prior", gn, fit_n)):
        table = bm.identifiability(fit, laplace=False).parameters
        ess, r_hat = float(table.loc["gamma", "ess_bulk"]), float(table.loc["gamma", "r_hat"])
        ks = _ks(g, grid, cdf)
        bound = 1.63 / np.sqrt(ess)  # 99% Kolmogorov bound at the effective sample size
        print(f"{label}: quantiles 5/50/95% {np.quantile(g, [0.05, 0.5, 0.95]).round(4)}, "
              f"exact {np.interp([0.05, 0.5, 0.95], cdf, grid).round(4)}; KS vs exact {ks:.4f} (bound {bound:.4f}, ESS {ess:.0f}, "
              f"r_hat {r_hat:.4f})")
        assert ks < bound and r_hat < 1.01


globals().update(property_tests(200))
