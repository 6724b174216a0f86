"""Tests of the observation models (bayes_mfg.observe)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.handlers import seed, trace
from scipy import integrate, stats

from bayes_mfg.data import Observations
from bayes_mfg.observe import (
    Dirichlet,
    LogisticNormal,
    MaskedDirichlet,
    MaskedLogisticNormal,
    MaskedMultinomial,
    Multinomial,
    NegativeBinomial,
    ObservationModel,
    Poisson,
)

ATOL = 1e-10
N_TRAJ, N_TIMES, D = 2, 3, 4
TIMES = np.arange(N_TIMES, dtype=float)


# ---------------------------------------------------------------------------- fixtures / helpers
@pytest.fixture
def mu(rng):
    """(2, 3, 4) shares with exact zeros in two places."""
    m = rng.dirichlet(np.ones(D), size=(N_TRAJ, N_TIMES))
    m[0, 1, 2] = 0.0
    m[1, 2, 0] = 0.0
    return m / m.sum(-1, keepdims=True)


def fractions_like(rng, mu):
    x = np.stack([[rng.dirichlet(50 * row + 0.5) for row in traj] for traj in mu])
    return x / x.sum(-1, keepdims=True)


def counts_like(rng, mu, n=200):
    return np.stack([[rng.multinomial(n, row) for row in traj] for traj in mu]).astype(float)


def observations(rng, mu, kind, nan_pattern=None):
    values = fractions_like(rng, mu) if kind == "fractions" else counts_like(rng, mu)
    if nan_pattern is not None:
        values = np.where(nan_pattern, np.nan, values)
    return Observations.from_arrays(values, TIMES, kind=kind)


# The masking pattern used throughout: row (0, 0) fully observed, (0, 1) states {0, 1, 3},
# (0, 2) nothing observed, (1, 0) a single state, (1, 1) states {1, 2}, (1, 2) fully observed.
MISSING = np.zeros((N_TRAJ, N_TIMES, D), dtype=bool)
MISSING[0, 1, 2] = True
MISSING[0, 2, :] = True
MISSING[1, 0, 1:] = True
MISSING[1, 1, [0, 3]] = True


def ref_dirichlet(x, alpha):
    return stats.dirichlet.logpdf(x, alpha)


def ref_multinomial(c, p):
    return stats.multinomial.logpmf(c, n=c.sum(), p=p / p.sum())


def ref_logistic_normal(x, mu, scale):
    """Density on the simplex via the additive log-ratio chart (reference state 0)."""
    k = len(x)
    y = np.log(x[1:] / x[0])
    mean = np.log(mu[1:] / mu[0])
    cov = scale**2 * (np.eye(k - 1) + np.ones((k - 1, k - 1)))
    return stats.multivariate_normal.logpdf(y, mean, cov) - np.log(x).sum()


MODELS = {
    "dirichlet": lambda **kw: Dirichlet(**kw),
    "multinomial": lambda **kw: Multinomial(),
    "poisson": lambda **kw: Poisson(**kw),
    "negbin": lambda **kw: NegativeBinomial(**kw),
    "logistic_normal": lambda **kw: LogisticNormal(**kw),
}
KIND = {"dirichlet": "fractions", "logistic_normal": "fractions"}


def kind_of(key):
    return KIND.get(key, "counts")


# ---------------------------------------------------------------------------- fully observed rows
def test_dirichlet_matches_scipy(rng, mu):
    data = observations(rng, mu, "fractions")
    model = Dirichlet(concentration=50.0)
    lp = np.asarray(model.distribution(mu).log_prob(data.values))
    assert lp.shape == (N_TRAJ, N_TIMES)
    ref = [[ref_dirichlet(data.values[j, n], 50.0 * mu[j, n] + 1e-8) for n in range(N_TIMES)] for j in range(N_TRAJ)]
    np.testing.assert_allclose(lp, ref, rtol=0, atol=ATOL)


def test_multinomial_matches_scipy(rng, mu):
    data = observations(rng, mu, "counts")
    lp = np.asarray(Multinomial().distribution(mu).log_prob(data.values))
    ref = [[ref_multinomial(data.values[j, n], mu[j, n]) for n in range(N_TIMES)] for j in range(N_TRAJ)]
    assert np.all(np.isfinite(lp))
    np.testing.assert_allclose(lp, ref, rtol=0, atol=ATOL)


def test_poisson_matches_scipy(rng, mu):
    data = observations(rng, mu, "counts")
    lp = np.asarray(Poisson(exposure=230.0).distribution(mu).log_prob(data.values))
    ref = stats.poisson.logpmf(data.values, 230.0 * mu + 1e-12).sum(-1)
    np.testing.assert_allclose(lp, ref, rtol=0, atol=ATOL)


def test_negative_binomial_matches_scipy(rng, mu):
    data = observations(rng, mu, "counts")
    phi = 3.5
    lp = np.asarray(NegativeBinomial(exposure=230.0, concentration=phi).distribution(mu).log_prob(data.values))
    mean = 230.0 * mu + 1e-12
    ref = stats.nbinom.logpmf(data.values, n=phi, p=phi / (phi + mean)).sum(-1)
    np.testing.assert_allclose(lp, ref, rtol=0, atol=ATOL)


def test_logistic_normal_matches_reference(rng, mu):
    data = observations(rng, mu, "fractions")
    lp = np.asarray(LogisticNormal(scale=0.3).distribution(mu).log_prob(data.values))
    ref = [
        [ref_logistic_normal(data.values[j, n], mu[j, n] + 1e-12, 0.3) for n in range(N_TIMES)] for j in range(N_TRAJ)
    ]
    np.testing.assert_allclose(lp, ref, rtol=0, atol=ATOL)


def test_logistic_normal_is_a_density_on_the_simplex():
    # d = 2: the density of (x, 1 - x) over x in (0, 1) must integrate to 1 (Jacobian included).
    fn = MaskedLogisticNormal(jnp.log(jnp.array([0.3, 0.7])), 0.4)
    density = jax.jit(lambda x: jnp.exp(fn.log_prob(jnp.stack([x, 1.0 - x]))))
    f = lambda x: float(density(x))  # noqa: E731
    total, err = integrate.quad(f, 0.0, 1.0, limit=200)
    assert abs(total - 1.0) < 1e-7


def test_multinomial_impossible_count_is_minus_inf():
    fn = MaskedMultinomial(jnp.array([0.5, 0.5, 0.0]))
    assert np.isneginf(float(fn.log_prob(jnp.array([3.0, 2.0, 1.0]))))
    assert np.isfinite(float(fn.log_prob(jnp.array([3.0, 2.0, 0.0]))))


# ---------------------------------------------------------------------------- masks
def test_dirichlet_partial_rows_use_the_renormalised_subvector(rng, mu):
    data = observations(rng, mu, "fractions", MISSING)
    c = 40.0
    lp = np.asarray(Dirichlet(concentration=c).distribution(mu, data.mask).log_prob(data.values))
    alpha = c * mu + 1e-8
    S = [0, 1, 3]
    x = data.values[0, 1, S]
    assert lp[0, 1] == pytest.approx(ref_dirichlet(x / x.sum(), alpha[0, 1, S]), abs=ATOL)
    S = [1, 2]
    x = data.values[1, 1, S]
    assert lp[1, 1] == pytest.approx(ref_dirichlet(x / x.sum(), alpha[1, 1, S]), abs=ATOL)
    assert lp[0, 2] == 0.0  # nothing observed
    assert lp[1, 0] == 0.0  # a single observed state carries no information
    assert lp[0, 0] == pytest.approx(ref_dirichlet(data.values[0, 0], alpha[0, 0]), abs=ATOL)


def test_multinomial_partial_rows_condition_on_the_observed_total(rng, mu):
    data = observations(rng, mu, "counts", MISSING)
    lp = np.asarray(Multinomial().distribution(mu, data.mask).log_prob(data.values))
    for (j, n), S in {(0, 1): [0, 1, 3], (1, 1): [1, 2], (1, 2): [0, 1, 2, 3]}.items():
        assert lp[j, n] == pytest.approx(ref_multinomial(data.values[j, n, S], mu[j, n, S]), abs=ATOL)
    assert lp[0, 2] == 0.0 and lp[1, 0] == 0.0


@pytest.mark.parametrize("key", ["poisson", "negbin"])
def test_independent_count_models_sum_over_observed_states(rng, mu, key):
    data = observations(rng, mu, "counts", MISSING)
    model = Poisson(exposure=200.0) if key == "poisson" else NegativeBinomial(exposure=200.0, concentration=2.0)
    lp = np.asarray(model.distribution(mu, data.mask).log_prob(data.values))
    mean = 200.0 * mu + 1e-12
    if key == "poisson":
        terms = stats.poisson.logpmf(data.values, mean)
    else:
        terms = stats.nbinom.logpmf(data.values, n=2.0, p=2.0 / (2.0 + mean))
    ref = np.where(data.mask, terms, 0.0).sum(-1)
    np.testing.assert_allclose(lp, ref, rtol=0, atol=ATOL)
    assert lp[0, 2] == 0.0
    assert lp[1, 0] == pytest.approx(terms[1, 0, 0], abs=ATOL)  # a single state does count here


def test_logistic_normal_partial_rows(rng, mu):
    data = observations(rng, mu, "fractions", MISSING)
    lp = np.asarray(LogisticNormal(scale=0.2).distribution(mu, data.mask).log_prob(data.values))
    S = [0, 1, 3]
    x = data.values[0, 1, S]
    assert lp[0, 1] == pytest.approx(ref_logistic_normal(x / x.sum(), mu[0, 1, S] + 1e-12, 0.2), abs=ATOL)
    assert lp[0, 2] == 0.0 and lp[1, 0] == 0.0


@pytest.mark.parametrize("key", list(MODELS))
def test_masked_entries_are_ignored(rng, mu, key):
    """Garbage in masked entries changes nothing; masked rows are exactly 0."""
    data = observations(rng, mu, kind_of(key), MISSING)
    fn = MODELS[key]().distribution(mu, data.mask)
    garbage = np.where(data.mask, data.values, 7.0)
    lp = np.asarray(fn.log_prob(data.values))
    np.testing.assert_array_equal(lp, np.asarray(fn.log_prob(garbage)))
    assert lp[0, 2] == 0.0
    assert np.all(np.isfinite(lp))


def test_validate_sample_checks_observed_entries_only(rng, mu):
    data = observations(rng, mu, "fractions", MISSING)
    fn = Dirichlet().distribution(mu, data.mask)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bool(np.all(fn._validate_sample(data.values)))
    bad = np.array(data.values)
    bad[0, 1, 0] = 1.5
    with pytest.warns(UserWarning, match="outside the support"):
        ok = fn._validate_sample(bad)
    assert not bool(ok[0, 1])


# ---------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("key", list(MODELS))
def test_sampling_without_data_returns_full_draws(mu, key):
    model = MODELS[key]()
    with seed(rng_seed=1):
        y = model("y", jnp.asarray(mu), total_count=50)
    y = np.asarray(y)
    assert y.shape == (N_TRAJ, N_TIMES, D)
    assert np.all(np.isfinite(y)) and np.all(y >= 0)
    if kind_of(key) == "fractions":
        np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-12)
    else:
        np.testing.assert_array_equal(y, np.round(y))


def test_dirichlet_samples_are_on_the_simplex_with_mean_mu():
    mu = jnp.array([0.5, 0.3, 0.15, 0.05, 0.0])
    c, n = 50.0, 4000
    x = np.asarray(Dirichlet(concentration=c).distribution(mu).sample(jax.random.PRNGKey(0), (n,)))
    assert x.shape == (n, 5)
    assert np.all(x >= 0)
    np.testing.assert_allclose(x.sum(-1), 1.0, atol=1e-12)
    # sd of one share is sqrt(mu (1 - mu) / (c + 1)); the mean of n draws has sd / sqrt(n).
    se = np.sqrt(np.asarray(mu) * (1 - np.asarray(mu)) / (c + 1) / n)
    assert np.all(np.abs(x.mean(0) - np.asarray(mu)) <= 5 * se + 1e-12)
    assert np.all(x[:, -1] < 1e-6)  # a zero share stays (essentially) zero


def test_multinomial_samples_sum_to_total_count():
    mu = jnp.array([[[0.2, 0.5, 0.3, 0.0]] * 3] * 2)
    total = np.array([[10, 0, 1000], [7, 3, 5]])
    with seed(rng_seed=3):
        y = np.asarray(Multinomial(total_count=total)("y", mu))
    np.testing.assert_array_equal(y.sum(-1), total)
    assert np.all(y[..., 3] == 0)
    # the call argument takes precedence over the field
    with seed(rng_seed=3):
        y2 = np.asarray(Multinomial(total_count=total)("y", mu, total_count=20))
    np.testing.assert_array_equal(y2.sum(-1), 20)
    # mean of many draws ~ n p (binomial standard error per component)
    p = np.array([0.2, 0.5, 0.3, 0.0])
    draws = np.asarray(MaskedMultinomial(jnp.asarray(p), 100).sample(jax.random.PRNGKey(5), (4000,)))
    se = np.sqrt(100 * p * (1 - p) / 4000)
    assert np.all(np.abs(draws.mean(0) - 100 * p) <= 5 * se + 1e-12)


def test_multinomial_with_data_draws_use_observed_totals(rng, mu):
    data = observations(rng, mu, "counts")
    tr = trace(seed(lambda: Multinomial()("y", jnp.asarray(mu), data), 0)).get_trace()
    fn = tr["y"]["fn"]
    y = np.asarray(fn.sample(jax.random.PRNGKey(0)))
    np.testing.assert_array_equal(y.sum(-1), data.values.sum(-1))


def test_negative_binomial_samples_match_mean_and_variance():
    mean, phi, n = 40.0, 4.0, 20000
    fn = NegativeBinomial(exposure=100.0, concentration=phi, rate_floor=1e-12).distribution(jnp.array([0.4, 0.6]))
    c = np.asarray(fn.sample(jax.random.PRNGKey(2), (n,)))[:, 0]
    var = mean + mean**2 / phi  # 440
    assert abs(c.mean() - mean) < 5 * np.sqrt(var / n)
    assert abs(c.var() / var - 1.0) < 0.1  # relative sd of the sample variance is ~ 0.03 here


def test_logistic_normal_samples_match_log_prob_covariance():
    """The log-ratios of draws have the mean and covariance used by log_prob."""
    mu = np.array([0.5, 0.3, 0.2])
    s, n = 0.3, 4000
    x = np.asarray(LogisticNormal(scale=s).distribution(jnp.asarray(mu)).sample(jax.random.PRNGKey(4), (n,)))
    np.testing.assert_allclose(x.sum(-1), 1.0, atol=1e-12)
    y = np.log(x[:, 1:] / x[:, :1])
    target_cov = s**2 * (np.eye(2) + 1.0)
    assert np.all(np.abs(y.mean(0) - np.log(mu[1:] / mu[0])) < 5 * np.sqrt(np.diag(target_cov) / n))
    np.testing.assert_allclose(np.cov(y.T), target_cov, atol=0.02)  # entries ~0.09-0.18, se ~0.003


# ---------------------------------------------------------------------------- learned parameters
LEARNED = {
    "dirichlet": (lambda p: Dirichlet(concentration=p), ["concentration"]),
    "poisson": (lambda p: Poisson(exposure=p), ["exposure"]),
    "negbin": (lambda p: NegativeBinomial(exposure=p, concentration=p), ["exposure", "concentration"]),
    "logistic_normal": (lambda p: LogisticNormal(scale=p), ["scale"]),
}


@pytest.mark.parametrize("key", list(LEARNED))
def test_learned_parameters_are_sample_sites(rng, mu, key):
    make, params = LEARNED[key]
    model = make(dist.LogNormal(0.0, 1.0))
    data = observations(rng, mu, kind_of(key))
    tr = trace(seed(lambda: model("obs", jnp.asarray(mu), data), 0)).get_trace()
    assert set(tr) == {"obs"} | {f"obs_{p}" for p in params}
    assert model.learned == tuple(params)
    assert set(model.site_names("obs")) == set(tr)
    assert tr["obs"]["is_observed"] and not tr[f"obs_{params[0]}"]["is_observed"]
    known = make(2.0)
    tr_known = trace(seed(lambda: known("obs", jnp.asarray(mu), data), 0)).get_trace()
    assert list(tr_known) == ["obs"]


@pytest.mark.parametrize("key", list(MODELS))
def test_log_likelihood_is_pointwise_per_trajectory_and_time(rng, mu, key):
    data = observations(rng, mu, kind_of(key), MISSING)
    model = LEARNED[key][0](dist.Gamma(2.0, 1.0)) if key in LEARNED else Multinomial()
    mu_j = jnp.asarray(mu)

    def fn(data=None):
        model("y", mu_j, data)

    n_draws = 5
    samples = {f"y_{p}": jnp.linspace(0.5, 3.0, n_draws) for p in model.learned}
    if not samples:  # Multinomial has no parameter: give log_likelihood a dummy batch
        samples = {"_": jnp.zeros(n_draws)}
        ll = numpyro.infer.log_likelihood(fn, samples, data=data, batch_ndims=1)["y"]
    else:
        ll = numpyro.infer.log_likelihood(fn, samples, data=data)["y"]
    assert ll.shape == (n_draws, N_TRAJ, N_TIMES)
    i = 3
    values = {p: samples[f"y_{p}"][i] for p in model.learned}
    direct = model.distribution(mu_j, data.mask, **values).log_prob(data.values)
    np.testing.assert_allclose(ll[i], direct, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(ll[:, 0, 2]), 0.0)


# ---------------------------------------------------------------------------- jit / vmap / grad
@pytest.mark.parametrize("key", list(MODELS))
def test_grad_wrt_mu_is_finite_with_zero_shares(rng, mu, key):
    data = observations(rng, mu, kind_of(key), MISSING)
    values = np.array(data.values)
    if kind_of(key) == "counts":  # a zero share has zero count (else the likelihood is 0)
        values = np.where(mu == 0, 0.0, values)
    model = MODELS[key]()
    mask = jnp.asarray(data.mask)

    def loglik(m):
        return jnp.sum(model.distribution(m, mask).log_prob(values))

    g = np.asarray(jax.grad(loglik)(jnp.asarray(mu)))
    assert np.all(np.isfinite(g))
    assert np.any(g != 0.0)
    np.testing.assert_array_equal(g[0, 2], 0.0)  # a fully masked row has no influence
    assert np.isfinite(float(jax.jit(loglik)(jnp.asarray(mu))))


def test_jit_and_vmap_agree_with_eager(rng, mu):
    data = observations(rng, mu, "fractions", MISSING)
    model = Dirichlet(concentration=dist.LogNormal(3.0, 1.0))
    mask = jnp.asarray(data.mask)

    def lp(c, m):
        return model.distribution(m, mask, concentration=c).log_prob(data.values)

    cs = jnp.array([5.0, 50.0, 500.0])
    batched = jax.vmap(lp, in_axes=(0, None))(cs, jnp.asarray(mu))
    assert batched.shape == (3, N_TRAJ, N_TIMES)
    for i, c in enumerate(cs):
        np.testing.assert_allclose(batched[i], lp(c, jnp.asarray(mu)), rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(jax.jit(lp)(c, jnp.asarray(mu)), lp(c, jnp.asarray(mu)), rtol=1e-11, atol=1e-11)
    # a distribution is a pytree: it can be returned from jit
    fn = jax.jit(lambda m: MaskedDirichlet(50.0 * m + 1e-8, mask))(jnp.asarray(mu))
    assert fn.batch_shape == (N_TRAJ, N_TIMES) and fn.event_shape == (D,)
    np.testing.assert_allclose(fn.log_prob(data.values), lp(50.0, jnp.asarray(mu)), rtol=1e-11)


# ---------------------------------------------------------------------------- bad inputs
def test_wrong_data_kind_names_the_fitting_models(rng, mu):
    counts = observations(rng, mu, "counts")
    fractions = observations(rng, mu, "fractions")
    with pytest.raises(ValueError, match="data.kind is 'counts'.*Multinomial, Binomial, Poisson, NegativeBinomial or Arrivals"):
        Dirichlet()("y", mu, counts)
    with pytest.raises(ValueError, match="data.kind is 'fractions'.*Dirichlet or LogisticNormal"):
        Poisson()("y", mu, fractions)


@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda: Dirichlet(concentration=-1.0), ValueError, "Dirichlet.concentration"),
        (lambda: Dirichlet(concentration=0.0), ValueError, "Dirichlet.concentration"),
        (lambda: Dirichlet(concentration=float("nan")), ValueError, "Dirichlet.concentration"),
        (lambda: Dirichlet(concentration=float("inf")), ValueError, "Dirichlet.concentration"),
        (lambda: Dirichlet(concentration="big"), TypeError, "Dirichlet.concentration"),
        (lambda: Dirichlet(concentration=True), TypeError, "Dirichlet.concentration"),
        (lambda: Dirichlet(concentration=dist.Normal(0.0, 1.0)), ValueError, "Dirichlet.concentration.*support"),
        (lambda: Dirichlet(concentration=dist.LogNormal(jnp.zeros(2), 1.0)), ValueError, "scalar"),
        (lambda: Dirichlet(alpha_floor=0.0), ValueError, "alpha_floor"),
        (lambda: Poisson(exposure=-5), ValueError, "Poisson.exposure"),
        (lambda: Poisson(rate_floor=-1e-12), ValueError, "rate_floor"),
        (lambda: NegativeBinomial(concentration=[1.0]), TypeError, "NegativeBinomial.concentration"),
        (lambda: LogisticNormal(scale=-0.1), ValueError, "LogisticNormal.scale"),
        (lambda: Multinomial(total_count=-3), ValueError, "total_count"),
        (lambda: Multinomial(total_count=[1.5, 2.0]), ValueError, "total_count"),
        (lambda: Multinomial(total_count="ten"), TypeError, "total_count"),
    ],
)
def test_bad_parameters(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_shape_and_type_errors(rng, mu):
    data = observations(rng, mu, "fractions")
    with pytest.raises(ValueError, match="mu must have the shape of data.values"):
        Dirichlet()("y", mu[:, :2], data)
    with pytest.raises(ValueError, match=r"mu must have shape \(n_traj, n_times, d\)"):
        Dirichlet()("y", mu[0])
    with pytest.raises(TypeError, match="data must be an Observations"):
        Dirichlet()("y", mu, data.values)
    with pytest.raises(TypeError, match="name"):
        Dirichlet()(3, mu, data)
    with pytest.raises(ValueError, match="total_count"):
        with seed(rng_seed=0):
            Multinomial()("y", mu)
    with pytest.raises(ValueError, match="total_count must broadcast"):
        with seed(rng_seed=0):
            Multinomial()("y", mu, total_count=np.ones(5, dtype=int))
    with pytest.raises(ValueError, match="concentration is learned"):
        Dirichlet(concentration=dist.LogNormal(0.0, 1.0)).distribution(mu)
    with pytest.raises(TypeError, match="state_mask must be a bool array"):
        MaskedDirichlet(jnp.ones(3), jnp.array([1, 0, 1]))


def test_models_are_hashable_and_abstract_base_is_abstract():
    assert hash(Dirichlet(concentration=5.0)) == hash(Dirichlet(concentration=5.0))
    assert Multinomial(total_count=np.array([[1, 2]])) == Multinomial(total_count=[[1, 2]])
    with pytest.raises(TypeError):
        ObservationModel()
