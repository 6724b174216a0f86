"""Readouts (linear functionals, histogram bins, flows) and the models of independent entries
(Binomial, Normal), alone and inside a CalibrationModel."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.handlers import seed, substitute, trace
from scipy import stats
from scipy.special import gammaln

import bayes_mfg as bm
from bayes_mfg.data import Observations
from bayes_mfg.observe import (
    Binomial,
    CoarseGrain,
    Dirichlet,
    Increments,
    Linear,
    MaskedBinomial,
    MaskedNormal,
    Multinomial,
    Normal,
    Poisson,
)

D, N = 5, 7


@pytest.fixture
def flow(rng):
    """(2, N, D) flows on the simplex."""
    return rng.dirichlet(np.ones(D), size=(2, N))


# ---------------------------------------------------------------------------- the readouts
def test_linear_is_the_weighted_sum_at_the_observed_times(flow, rng):
    w = rng.normal(size=(3, D))
    idx = np.array([0, 2, 6])
    out = np.asarray(Linear(w)(flow, idx))
    np.testing.assert_allclose(out, np.einsum("jnd,kd->jnk", flow[:, idx], w), atol=1e-14)
    assert out.shape == (2, 3, 3)


@pytest.mark.parametrize("w, kind", [([[0, 1, 1, 0, 0.5]], "probabilities"), ([[0, 2.0, 0, 0, 0]], "nonnegative"),
                                     ([[-1.0, 0, 0, 0, 1]], "real")])
def test_linear_says_what_its_outputs_are(w, kind):
    assert Linear(w).output_kind == kind


def test_coarse_grain_bins_are_shares_and_a_split_matrix_is_allowed(flow):
    bins = CoarseGrain([0, 0, 1, 2, 2], names=("a", "b", "c"))
    out = np.asarray(bins(flow, np.arange(N)))
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-14)
    np.testing.assert_allclose(out[..., 0], flow[..., 0] + flow[..., 1], atol=1e-14)
    split = np.array([[1, 0.5, 0, 0, 0], [0, 0.5, 1, 1, 1]])
    np.testing.assert_allclose(np.asarray(CoarseGrain(split)(flow, [3]))[:, 0, 0], flow[:, 3, 0] + 0.5 * flow[:, 3, 1])
    assert bins.output_kind == "shares" and bins.names == ("a", "b", "c")


def test_increments_are_differences_over_observation_intervals(flow):
    w = np.array([1.0, 0, 0, 0, 0])
    idx = np.array([2, 3, 6])
    out = np.asarray(Increments(w)(flow, idx))[..., 0]
    want = np.stack([flow[:, 2, 0] - flow[:, 0, 0], flow[:, 3, 0] - flow[:, 2, 0], flow[:, 6, 0] - flow[:, 3, 0]], -1)
    np.testing.assert_allclose(out, want, atol=1e-14)
    # the increments add up to the change over the whole window
    np.testing.assert_allclose(out.sum(-1), flow[:, 6, 0] - flow[:, 0, 0], atol=1e-14)
    with pytest.raises(ValueError, match="first observation time must be > 0"):
        Increments(w).check_times(np.array([0, 3]))
    assert Increments(w).output_kind == "real" and Increments(w, nonnegative=True).output_kind == "nonnegative"


@pytest.mark.parametrize("make, match", [
    (lambda: Linear(np.ones((2, 3, 4))), r"weights must have shape \(k, d\)"),
    (lambda: Linear([[np.nan, 1.0]]), "weights must be finite"),
    (lambda: Linear("ab"), "weights must be a numeric array"),
    (lambda: Linear([[1.0, 0.0]], names=("x", "y")), "names must be 1 distinct labels"),
    (lambda: Linear([[1.0, 0.0]], names="x"), "names must be a sequence of str"),
    (lambda: CoarseGrain([0, 2, 2]), r"bins \[1\] hold no state"),
    (lambda: CoarseGrain([0, 0, 0]), "at least 2 bins"),
    (lambda: CoarseGrain([0.0, 1.0]), "bins must be"),
    (lambda: CoarseGrain([-1, 0, 1]), "non-negative integers"),
    (lambda: CoarseGrain([[1.0, 0.5], [0.0, 0.2]]), "columns summing to 1"),
    (lambda: Increments([1.0, 0.0], nonnegative=1), "nonnegative must be a bool"),
])
def test_bad_readouts_are_refused(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# ---------------------------------------------------------------------------- Binomial and Normal
def test_masked_binomial_is_binomial_and_drops_unobserved_entries():
    p = jnp.array([[0.0, 0.3, 1.0], [0.2, 0.5, 0.9]])
    c = jnp.array([[0.0, 12.0, 42.0], [9.0, 20.0, 40.0]])
    mask = jnp.array([[True, True, True], [True, False, True]])
    lp = np.asarray(MaskedBinomial(p, 42.0, mask).log_prob(c))
    full = stats.binom.logpmf(np.asarray(c), 42, np.asarray(p))
    np.testing.assert_allclose(lp, [full[0].sum(), full[1, 0] + full[1, 2]], atol=1e-10)
    draws = np.asarray(MaskedBinomial(jnp.array([0.25]), 42.0).sample(jax.random.PRNGKey(0), (20000,)))
    assert abs(draws.mean() - 10.5) < 4 * np.sqrt(42 * 0.25 * 0.75 / 20000)


def test_masked_normal_is_normal_and_drops_unobserved_entries():
    loc, y = jnp.array([0.5, -1.0, 2.0]), jnp.array([0.4, -1.3, 9.0])
    lp = float(MaskedNormal(loc, 0.2, jnp.array([True, True, False])).log_prob(y))
    assert lp == pytest.approx(stats.norm.logpdf([0.4, -1.3], [0.5, -1.0], 0.2).sum(), abs=1e-12)


def test_binomial_and_normal_models_declare_their_sites(rng):
    p = rng.uniform(size=(2, 3, 1))
    tr = trace(seed(lambda: Binomial(total_count=42)("y", p), 0)).get_trace()
    assert tr["y"]["fn"].batch_shape == (2, 3) and tr["y"]["fn"].event_shape == (1,)
    tr = trace(seed(lambda: Normal(scale=dist.HalfNormal(1.0))("z", p), 0)).get_trace()
    assert "z_scale" in tr and tr["z"]["value"].shape == (2, 3, 1)
    with pytest.raises(ValueError, match="total_count is required"):
        Binomial(total_count=None)
    with pytest.raises(ValueError, match="total_count is required"):
        Binomial()
    with pytest.raises(ValueError, match="the same for every trajectory"):
        Binomial(total_count=np.full((2, 3, 1), 5))
    with pytest.raises(ValueError, match=">= 0"):
        Binomial(total_count=-1)


def test_a_histogram_of_agents_is_their_likelihood_up_to_the_multinomial_coefficient(rng):
    """log Multinomial(bin counts; n, A mu) = sum over agents of log p(agent's bin) + log(n! / prod c_b!):
    the histogram carries all the agents' information about mu (the counts are sufficient)."""
    mu = rng.dirichlet(np.ones(D))
    bins = CoarseGrain([0, 0, 1, 2, 2])
    probs = np.asarray(bins(mu[None], [0]))[0]
    np.testing.assert_allclose(probs, [mu[0] + mu[1], mu[2], mu[3] + mu[4]], atol=1e-15)
    agents = rng.choice(3, size=42, p=probs)
    counts = np.bincount(agents, minlength=3).astype(float)
    lp = float(Multinomial().distribution(probs[None]).log_prob(counts[None])[0])
    log_coef = gammaln(43.0) - gammaln(counts + 1.0).sum()
    assert lp == pytest.approx(np.log(probs[agents]).sum() + log_coef, abs=1e-10)


def test_observations_of_real_values():
    with pytest.raises(ValueError, match="n_states must be an int >= 2"):
        Observations.from_arrays(np.ones((1, 2, 1)), times=[0.0, 1.0], kind="values", n_states="3")
    with pytest.raises(ValueError, match="pass n_states=3"):
        Observations.from_arrays(np.ones((1, 2, 1)), times=[0.0, 1.0], kind="values", mu0=[[0.5, 0.5, 0.0]])
    data = Observations.from_arrays(np.array([[-0.5], [0.25]]), times=[0.0, 1.0], kind="values")
    assert data.n_states == 1 and data.values[0, 0, 0] == -0.5
    with pytest.raises(ValueError, match="no shares"):
        data.shares()
    with pytest.raises(ValueError, match=">= 2 states"):
        Observations.from_arrays(np.array([[1.0]]), times=[0.0])
    with pytest.raises(ValueError, match=r"mu0 must have shape \(1, 3\)"):
        Observations.from_arrays(np.array([[3.0]]), times=[1.0], kind="counts", mu0=[0.5, 0.5], n_states=3)


# ---------------------------------------------------------------------------- inside a model
SIR = bm.games.SIR(n_times=21, horizon=10.0)
TRUTH = {"beta": 0.6}
OBS_IDX = np.arange(2, 21, 2)


def _incidence_data(values, kind="counts"):
    mu0 = np.array([[0.97, 0.03, 0.0]])
    return Observations.from_arrays(values, SIR.time_grid[OBS_IDX], kind=kind, mu0=mu0, n_states=3,
                                    state_names=("new_cases",))


def test_model_likelihood_is_the_observation_of_the_readout():
    """Poisson incidence: the model's log-likelihood is the Poisson pmf of the susceptibles' decrease."""
    new_cases = Increments([-1.0, 0.0, 0.0], names=("new_cases",), nonnegative=True)
    data = _incidence_data(np.full((1, len(OBS_IDX), 1), 30.0))
    obs = Poisson(exposure=1000.0)
    model = bm.CalibrationModel(SIR, {"beta": dist.LogNormal(0.0, 1.0)}, obs, readout=new_cases, mu0_source="data",
                                record_mu=True)
    tr = trace(substitute(seed(model, 0), data=TRUTH)).get_trace(data)
    eq = bm.equilibrium(SIR, SIR.params(**TRUTH), data.mu0[0])
    s = np.asarray(eq.mu)[:, 0]
    inc = s[np.r_[0, OBS_IDX[:-1]]] - s[OBS_IDX]
    want = stats.poisson.logpmf(30.0, 1000.0 * inc + obs.rate_floor).sum()
    got = float(tr["obs"]["fn"].log_prob(tr["obs"]["value"]).sum())
    assert got == pytest.approx(want, rel=1e-9)
    np.testing.assert_allclose(np.asarray(tr["readout"]["value"])[0, :, 0], inc, atol=1e-9)
    assert model.site_dims()["obs"] == ("trajectory", "time", "observable")
    assert model.declared_site_roles()["readout"] == "equilibrium"


def test_gradient_through_a_readout_matches_finite_differences():
    attendance = Linear([[0.0, 1.0, 1.0]], names=("ill_or_recovered",))
    data = Observations.from_arrays(np.full((1, len(OBS_IDX), 1), 0.3), SIR.time_grid[OBS_IDX], kind="values",
                                    mu0=np.array([[0.97, 0.03, 0.0]]), n_states=3)
    model = bm.CalibrationModel(SIR, {"beta": dist.LogNormal(0.0, 1.0)}, Normal(scale=0.05), readout=attendance,
                                mu0_source="data")

    def loglik(beta):
        tr = trace(substitute(seed(model, 0), data={"beta": beta})).get_trace(data)
        return tr["obs"]["fn"].log_prob(tr["obs"]["value"]).sum()

    g = float(jax.grad(loglik)(0.6))
    h = 1e-5
    fd = (float(loglik(0.6 + h)) - float(loglik(0.6 - h))) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(observation=Dirichlet(100.0), readout=Linear([[0, 1.0, 0]])), "Dirichlet needs shares but the readout"),
    (dict(observation=Binomial(10), readout=Linear([[0, 2.0, 0]])), "Binomial needs probabilities"),
    (dict(observation=Poisson(), readout=Increments([-1.0, 0, 0])), "Poisson needs nonnegative"),
    (dict(observation=Normal(), readout=Linear([[0, 1.0]])), "readout reads 2 states but the game has 3"),
    (dict(observation=Normal(), readout="S"), "readout must be a bayes_mfg.observe.Readout"),
    # entry counts need the entry hazards: shares or plain functionals are not hazards
    (dict(observation=bm.observe.Arrivals(42)), "Arrivals needs hazards but the equilibrium shares"),
    (dict(observation=bm.observe.Arrivals(42), readout=Linear([[0, 1.0, 0]])), "Arrivals needs hazards"),
    (dict(observation=Dirichlet(100.0), readout=bm.observe.Hazard([0, 0, 1.0])), "Dirichlet needs shares"),
])
def test_a_model_refuses_a_readout_its_observation_cannot_use(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        bm.CalibrationModel(SIR, {"beta": dist.LogNormal(0.0, 1.0)}, **kwargs)


def test_a_model_refuses_data_that_do_not_fit_its_readout():
    model = bm.CalibrationModel(SIR, {"beta": dist.LogNormal(0.0, 1.0)}, Poisson(),
                                readout=Increments([-1.0, 0, 0], nonnegative=True), mu0_source="data")
    two = Observations.from_arrays(np.ones((1, 3, 2)), SIR.time_grid[[1, 2, 3]], kind="counts",
                                   mu0=np.array([[0.97, 0.03, 0.0]]), n_states=3)
    with pytest.raises(ValueError, match="data has 2 columns but the readout gives 1"):
        model.check_data(two)
    at_zero = Observations.from_arrays(np.ones((1, 2, 1)), SIR.time_grid[[0, 2]], kind="counts",
                                       mu0=np.array([[0.97, 0.03, 0.0]]), n_states=3)
    with pytest.raises(ValueError, match="first observation time must be > 0"):
        model.check_data(at_zero)
    wrong_mu0 = Observations.from_arrays(np.ones((1, 2, 1)), SIR.time_grid[[1, 2]], kind="counts",
                                         mu0=np.array([[0.5, 0.5]]), n_states=2)
    with pytest.raises(ValueError, match="data.mu0 has 2 states but the game has 3"):
        model.check_data(wrong_mu0)
    with pytest.raises(ValueError, match="read the observed shares"):
        bm.CalibrationModel(SIR, {"beta": bm.paths.Neural(inputs=("t", "mu"))}, Poisson(),
                            readout=Increments([-1.0, 0, 0], nonnegative=True))


@pytest.mark.slow  # 33 s in CI (budget): an SVI fit and its tree
def test_simulated_flow_data_fit_with_their_readout():
    """Simulate incidence counts, fit them with SVI and check the ArviZ output's coordinates."""
    new_cases = Increments([-1.0, 0.0, 0.0], names=("new_cases",), nonnegative=True)
    sim = bm.datasets.simulate(SIR, TRUTH, 1, Poisson(exposure=5000.0), readout=new_cases,
                               times=SIR.time_grid[OBS_IDX], mu0=[[0.97, 0.03, 0.0]], seed=3)
    assert sim.data.state_names == ("new_cases",) and sim.data.kind == "counts"
    model = bm.CalibrationModel(SIR, {"beta": dist.LogNormal(0.0, 1.0)}, Poisson(exposure=5000.0),
                                readout=new_cases, mu0_source="data", record_mu=True)
    fit = bm.fit_svi(model, sim.data, num_steps=150, learning_rate=0.05, seed=0)
    tree = fit.to_arviz(num_samples=50)
    assert tree["observed_data"]["obs"].dims == ("trajectory", "time", "observable")
    assert list(tree["posterior"]["mu"]["state"].values) == ["S", "I", "R"]
    assert tree["posterior"]["readout"].dims[-1] == "observable"
    beta = float(tree["posterior"]["beta"].mean())
    assert abs(beta - TRUTH["beta"]) < 0.05, beta


def test_hazard_binomials_factorise_the_multinomial_of_arrival_counts(rng):
    """sum_k log Binomial(c_k; r_k, h_k) = log Multinomial(c_0..c_K, never; n, (dA_k, 1 - A_K)) exactly."""
    arrived = np.concatenate([[0.0], np.sort(rng.uniform(0, 0.9, size=N - 1))])  # A_t on the grid, A_0 = 0
    flow = np.stack([arrived, 1.0 - arrived], axis=-1)[None]                     # (1, N, 2)
    idx = np.array([1, 3, 4, 6])
    hazard = bm.observe.Hazard([1.0, 0.0], name="arrived")
    h = np.asarray(hazard(flow, idx))
    cells = np.diff(np.r_[0.0, arrived[idx]])
    probs = np.r_[cells, 1.0 - arrived[idx[-1]]]
    counts = rng.multinomial(42, probs)
    risk = bm.observe.at_risk(counts[None, :-1], 42)
    lp = float(MaskedBinomial(h, risk).log_prob(counts[None, :-1, None].astype(float)).sum())
    assert lp == pytest.approx(stats.multinomial.logpmf(counts, 42, probs), abs=1e-10)
    assert hazard.output_kind == "hazards"
    with pytest.raises(ValueError, match="exceed n_agents"):
        bm.observe.at_risk([[30, 20]], 42)
    with pytest.raises(ValueError, match="indicator must be one"):
        bm.observe.Hazard([[1.0, 0.0], [0.0, 1.0]])


def test_arrivals_read_the_numbers_at_risk_off_the_counts(rng):
    """Arrivals(n) is the binomial of the numbers at risk (at_risk(counts, n)) row by row, and its
    draws are whole groups."""
    h = rng.uniform(0.05, 0.6, size=(3, 6, 1))
    counts = np.stack([rng.multinomial(42, np.r_[hj * np.cumprod(np.r_[1.0, 1 - hj[:-1]]),
                                                 np.prod(1 - hj)])[:-1] for hj in h[..., 0]])[..., None]
    arrivals = bm.observe.Arrivals(group_size=42).distribution(h)
    binomial = MaskedBinomial(jnp.asarray(h), jnp.asarray(bm.observe.at_risk(counts, 42)))
    np.testing.assert_allclose(arrivals.log_prob(counts.astype(float)), binomial.log_prob(counts.astype(float)),
                               atol=1e-10)
    draws = np.asarray(arrivals.sample(jax.random.PRNGKey(0), (4000,)))
    assert draws.shape == (4000, 3, 6, 1) and np.all(draws.sum(axis=-2) <= 42)
    mean = np.asarray(arrivals.mean)
    se = np.sqrt(mean * (1 - mean / 42) / 4000)
    assert np.all(np.abs(draws.mean(0) - mean) < 5 * se + 1e-9)
    too_many = counts.astype(float).copy()
    too_many[0, 1, 0] = 43.0
    assert np.isneginf(float(arrivals.log_prob(too_many)[0].sum()))
    with pytest.raises(ValueError, match="group_size must be an int >= 1"):
        bm.observe.Arrivals(group_size=0)
