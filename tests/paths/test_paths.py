"""Tests of bayes_mfg.paths: parameter paths as NumPyro sub-models."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpyro import handlers
from numpyro.infer import Predictive

from bayes_mfg.games import LinearQuadratic
from bayes_mfg.games.base import ParameterSpec
from bayes_mfg.paths import (
    Constant,
    Hierarchical,
    Neural,
    PathContext,
    TimeSpline,
    apply_link,
    as_path,
    bspline_basis,
    inverse_link,
)

N, T, D, J = 50, 2.0, 3, 4
SHAPES = [(), (2, 2)]


def make_ctx(seed: int = 0, n_traj: int = J) -> PathContext:
    rng = np.random.default_rng(seed)
    mu = rng.dirichlet(np.ones(D), size=(n_traj, N))
    return PathContext(jnp.linspace(0.0, T, N), T, jnp.asarray(mu), n_traj)


CTX = make_ctx()


def positive(shape=()):
    return ParameterSpec(shape, 1.0, 0.0, "positive")


def unbounded(shape=()):
    return ParameterSpec(shape, 0.0, None, "unbounded")


def run(path, spec, ctx=CTX, seed=0, data=None, name="g"):
    """Run a path once; return (values, trace)."""
    fn = path if data is None else handlers.substitute(path, data=data)
    tr = handlers.trace(handlers.seed(fn, seed)).get_trace(name, spec, ctx)
    with handlers.seed(rng_seed=seed):
        with handlers.substitute(data=data or {}):
            values = path(name, spec, ctx)
    return values, tr


def all_paths():
    return {
        "constant": Constant(),
        "spline": TimeSpline(n_knots=6),
        "spline_hyper": TimeSpline(n_knots=6, smoothness=dist.HalfNormal(0.3)),
        "spline_centered": TimeSpline(n_knots=6, centered=True),
        "neural": Neural(hidden=(8, 8)),
        "neural_bayes": Neural(hidden=(8,), bayesian=True),
        "neural_t": Neural(inputs=("t",), hidden=(8,)),
        "hier_spline": Hierarchical(TimeSpline(n_knots=6)),
        "hier_constant": Hierarchical(Constant()),
    }


EXPECTED_SITES = {
    "constant": {"g"},
    "spline": {"g_z", "g_weights"},
    "spline_hyper": {"g_z", "g_weights", "g_smoothness"},
    "spline_centered": {"g_w", "g_weights"},
    "neural": set(),
    "neural_bayes": set(),
    "neural_t": set(),
    "hier_spline": {"g_z", "g_weights", "g_spread", "g_offsets", "g_trajectory_weights"},
    "hier_constant": {"g", "g_spread", "g_offsets", "g_trajectory_values"},
}


# ============================================================================ shapes and sites
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", sorted(EXPECTED_SITES))
@pytest.mark.parametrize("bounded", [True, False])
def test_shapes_sites_and_dims(kind, shape, bounded):
    path = all_paths()[kind]
    spec = positive(shape) if bounded else unbounded(shape)
    values, tr = run(path, spec)
    assert values.shape == (J, N, *shape)
    assert bool(jnp.all(jnp.isfinite(values)))
    declared = {k for k, v in tr.items() if v["type"] in ("sample", "deterministic", "param") and "_net" not in k}
    assert declared == EXPECTED_SITES[kind]
    dims = path.site_dims("g", spec)
    assert set(dims) == declared
    for site, names in dims.items():
        # one name per non-sample axis of the traced value
        assert len(names) == jnp.ndim(tr[site]["value"]), site
        assert all(n == "trajectory" or n.startswith("g_") for n in names)
    if kind.startswith("hier"):
        assert dims["g_offsets"][0] == "trajectory"
        assert tr["g_offsets"]["value"].shape[0] == J
    if kind.startswith("neural"):
        assert tr["g_net$params"]["type"] == "param"


def test_site_shapes_follow_spec():
    spec = positive((2, 2))
    _, tr = run(TimeSpline(n_knots=5), spec)
    assert tr["g_z"]["value"].shape == (5, 2, 2)
    _, tr = run(Hierarchical(TimeSpline(n_knots=5)), spec)
    assert tr["g_offsets"]["value"].shape == (J, 5, 2, 2)
    _, tr = run(Constant(), spec)
    assert tr["g"]["value"].shape == (2, 2)
    # the whole (2, 2) value is one event: one log-density term per draw
    assert tr["g"]["fn"].event_shape == (2, 2) and tr["g"]["fn"].batch_shape == ()


def test_constant_is_constant_and_prior_respects_bound():
    spec = ParameterSpec((), 1.0, 0.5, "shifted")
    values, tr = run(Constant(), spec)
    assert bool(jnp.all(values == tr["g"]["value"]))
    draws = Predictive(lambda: Constant()("g", spec, CTX), num_samples=2000)(jax.random.key(1))["g"]
    assert float(draws.min()) > 0.5
    # lower + LogNormal(0, 1): the median is lower + 1
    assert abs(float(jnp.median(draws)) - 1.5) < 0.1
    # default prior for an unbounded parameter is Normal(0, 1): negative values occur
    draws = Predictive(lambda: Constant()("g", unbounded(), CTX), num_samples=500)(jax.random.key(1))["g"]
    assert float(draws.min()) < 0


def test_constant_prior_shapes():
    values, tr = run(Constant(dist.Gamma(2.0, 1.0)), positive((2, 2)))
    assert tr["g"]["value"].shape == (2, 2) and values.shape == (J, N, 2, 2)
    values, _ = run(Constant(dist.Normal(jnp.zeros(2), 1.0)), unbounded((3, 2)))
    assert values.shape == (J, N, 3, 2)
    with pytest.raises(ValueError, match="prior"):
        run(Constant(dist.Normal(jnp.zeros(3), 1.0)), unbounded((2, 2)))


# ============================================================================ positivity
LARGE = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)


@given(st.lists(LARGE, min_size=6, max_size=6), st.sampled_from(["softplus", "exp"]), st.sampled_from([0.0, 0.5]))
def test_spline_positive_for_extreme_latents(zs, link, lower):
    spec = ParameterSpec((), 1.0, lower, "p")
    path = TimeSpline(n_knots=6, link=link, smoothness=5.0, scale=10.0)
    values, _ = run(path, spec, data={"g_z": jnp.asarray(zs)})
    # (>= is False for NaN; exp may overflow to +inf for eta > 709, softplus stays finite)
    assert bool(jnp.all(values >= lower + path.floor))
    if link == "softplus":
        assert bool(jnp.all(jnp.isfinite(values)))


@given(st.lists(LARGE, min_size=6, max_size=6), st.floats(min_value=0.0, max_value=0.5))
def test_hierarchical_positive_for_extreme_latents(zs, spread):
    # |spread * z| <= 500 (a 500-sigma offset): exp(log(1e-3) - 500) is still > 0 in float64
    spec = positive()
    offsets = jnp.outer(jnp.asarray([1.0, -1.0, 3.0, -3.0]), jnp.asarray(zs))
    path = Hierarchical(TimeSpline(n_knots=6))
    values, _ = run(path, spec, data={"g_z": jnp.asarray(zs), "g_offsets": offsets, "g_spread": spread})
    assert bool(jnp.all(values >= path.population.floor))
    data = {"g": 1e-3, "g_offsets": jnp.asarray(zs[:J]), "g_spread": spread}
    values, _ = run(Hierarchical(Constant()), spec, data=data)
    assert bool(jnp.all(values > 0.0))


@pytest.mark.parametrize("factor", [-300.0, 30.0, 300.0])
@pytest.mark.parametrize("bayesian", [False, True])
def test_neural_positive_for_extreme_weights(factor, bayesian):
    spec = positive((2, 2))
    path = Neural(hidden=(8,), bayesian=bayesian, link="exp")
    _, tr = run(path, spec)
    data = {
        k: jax.tree.map(lambda a: factor * a, v["value"])
        for k, v in tr.items()
        if v["type"] in ("sample", "param")
    }
    values, _ = run(path, spec, data=data)
    assert bool(jnp.all(values >= path.floor))


def test_link_roundtrip_and_floor():
    for spec in (positive(), ParameterSpec((), 1.0, -2.0, "p"), unbounded()):
        for link in ("auto", "identity", "softplus", "exp"):
            identity = link == "identity" or (link == "auto" and spec.lower is None)
            lo = -np.inf if identity else (spec.lower or 0.0) + 1e-3
            values = np.array([-5.0, 0.0, 1e-2, 1.0, 40.0, 900.0])
            values = values[values > lo]
            eta = inverse_link(values, spec, link)
            back = np.asarray(apply_link(eta, spec, link))
            np.testing.assert_allclose(back, values, rtol=1e-10, atol=1e-10)
    # the floor keeps a bounded parameter strictly above its bound
    assert float(apply_link(-1e4, positive())) == pytest.approx(1e-3)
    assert float(apply_link(-1e4, unbounded(), "softplus", floor=0.1)) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="value"):
        inverse_link(0.0005, positive())


# ============================================================================ B-splines
@pytest.mark.parametrize("degree,n_knots", [(0, 4), (1, 2), (2, 5), (3, 4), (3, 8), (3, 20)])
def test_bspline_basis_partition_of_unity(degree, n_knots):
    times = np.linspace(0.0, T, 37)
    B = bspline_basis(times, n_knots, degree, T)
    assert B.shape == (37, n_knots)
    assert np.all(B >= -1e-15)
    np.testing.assert_allclose(B.sum(axis=1), 1.0, atol=1e-12)
    # clamped: the end coefficients are interpolated exactly
    assert B[0, 0] == pytest.approx(1.0) and B[-1, -1] == pytest.approx(1.0)
    # each basis function is used somewhere on a fine grid
    assert np.all(B.max(axis=0) > 0)


def test_bspline_basis_known_values():
    # degree 1 on 3 coefficients over [0, 2]: hat functions with peaks at 0, 1, 2
    B = bspline_basis(np.array([0.0, 0.5, 1.0, 1.5, 2.0]), 3, 1, 2.0)
    expected = [[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0], [0, 0.5, 0.5], [0, 0, 1]]
    np.testing.assert_allclose(B, expected, atol=1e-14)
    # degree 3 with 4 coefficients is the Bernstein basis on [0, T]
    t = np.linspace(0.0, T, 11)
    s = t / T
    bern = np.stack([(1 - s) ** 3, 3 * s * (1 - s) ** 2, 3 * s**2 * (1 - s), s**3], axis=1)
    np.testing.assert_allclose(bspline_basis(t, 4, 3, T), bern, atol=1e-13)


def test_bspline_basis_traced_grid_matches_numpy():
    path = TimeSpline(n_knots=7)
    spec = positive()

    @jax.jit
    def values(times, z):
        ctx = PathContext(times, T, None, 2)
        with handlers.substitute(data={"g_z": z}):
            return path("g", spec, ctx)

    z = jnp.asarray(np.random.default_rng(3).normal(size=7))
    eager, _ = run(path, spec, ctx=PathContext(CTX.times, T, None, 2), data={"g_z": z})
    np.testing.assert_allclose(values(CTX.times, z), eager, rtol=1e-12, atol=1e-12)


def test_bspline_basis_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_knots"):
        bspline_basis(np.linspace(0, 1, 5), 3, 3)
    with pytest.raises(ValueError, match="times"):
        bspline_basis(np.array([0.0, 1.5]), 5, 3, 1.0)


# ============================================================================ TimeSpline
@pytest.mark.parametrize("c", [-2.0, 0.0, 1.3])
def test_spline_flat_at_loc(c):
    path = TimeSpline(n_knots=6, loc=c)
    values, tr = run(path, positive(), data={"g_z": jnp.zeros(6)})
    np.testing.assert_allclose(values, 1e-3 + jax.nn.softplus(c), rtol=1e-12)
    np.testing.assert_allclose(tr["g_weights"]["value"], c)
    exp_path = TimeSpline(n_knots=6, loc=c, link="exp", floor=0.0)
    values, _ = run(exp_path, ParameterSpec((), 1.0, 1.0, "p"), data={"g_z": jnp.zeros(6)})
    np.testing.assert_allclose(values, 1.0 + np.exp(c), rtol=1e-12)
    values, _ = run(TimeSpline(n_knots=6, loc=c), unbounded((2, 2)), data={"g_z": jnp.zeros((6, 2, 2))})
    np.testing.assert_allclose(values, c, rtol=1e-12, atol=1e-14)


def test_spline_around_centres_on_value():
    path = TimeSpline.around(2.5, n_knots=5, smoothness=0.2)
    values, _ = run(path, ParameterSpec((), 1.0, 0.5, "p"), data={"g_z": jnp.zeros(5)})
    np.testing.assert_allclose(values, 2.5, rtol=1e-12)
    per_component = TimeSpline.around([[1.0, 2.0], [3.0, 4.0]], n_knots=5)
    values, _ = run(per_component, positive((2, 2)), data={"g_z": jnp.zeros((5, 2, 2))})
    np.testing.assert_allclose(values[1, 7], [[1.0, 2.0], [3.0, 4.0]], rtol=1e-12)
    with pytest.raises(TypeError, match="loc"):
        TimeSpline.around(1.0, loc=0.3)


@pytest.mark.parametrize("centered", [False, True])
def test_spline_prior_increments_match_smoothness(centered):
    """The increments w_k - w_{k-1} are iid Normal(0, tau) in both parameterisations.

    With S draws and K - 1 increments each, the sample std has relative standard error
    about 1 / sqrt(2 S (K - 1)) (= 0.4% here); 4% is a 10-sigma tolerance. The first
    coefficient (S draws, 1.1% standard error) is checked to 6%.
    """
    tau, scale, loc, K, S = 0.3, 2.0, 0.7, 8, 4000
    path = TimeSpline(n_knots=K, smoothness=tau, scale=scale, loc=loc, centered=centered)
    spec = unbounded()
    w = Predictive(lambda: path("g", spec, CTX), num_samples=S)(jax.random.key(7))["g_weights"]
    assert w.shape == (S, K)
    inc = np.diff(np.asarray(w), axis=1)
    assert abs(inc.std() / tau - 1) < 0.04
    assert abs(inc.mean()) < 5 * tau / np.sqrt(inc.size)
    assert abs(np.asarray(w[:, 0]).std() / scale - 1) < 0.06
    assert abs(float(w[:, 0].mean()) - loc) < 5 * scale / np.sqrt(S)
    # the increments are uncorrelated (a random walk, not a smoothed white noise)
    r = np.corrcoef(inc[:, 2], inc[:, 3])[0, 1]
    assert abs(r) < 5 / np.sqrt(S)


def test_spline_centered_rejects_a_smoothness_hyperprior():
    with pytest.raises(ValueError, match="centered=True needs a fixed smoothness"):
        TimeSpline(smoothness=dist.HalfNormal(0.3), centered=True)
    with pytest.raises(TypeError, match="centered must be a bool"):
        TimeSpline(centered="yes")


def test_spline_smoothness_hyperprior():
    path = TimeSpline(n_knots=5, smoothness=dist.HalfNormal(0.3))
    draws = Predictive(lambda: path("g", unbounded(), CTX), num_samples=2000)(jax.random.key(2))
    tau = np.asarray(draws["g_smoothness"])
    inc = np.diff(np.asarray(draws["g_weights"]), axis=1)
    # conditionally on tau the increments have std tau
    z = inc / tau[:, None]
    assert abs(z.std() - 1) < 0.05
    assert tau.min() > 0


# ============================================================================ Neural
def test_neural_point_registers_params_and_uses_mu():
    path = Neural(hidden=(8, 8))
    spec = positive()
    values, tr = run(path, spec)
    params = [k for k, v in tr.items() if v["type"] == "param"]
    assert params == ["g_net$params"]
    assert not any(v["type"] == "sample" for v in tr.values())
    leaves = jax.tree.leaves(tr["g_net$params"]["value"])
    assert len(leaves) == 6 and all(leaf.dtype == jnp.float64 for leaf in leaves)
    # trajectory-wise: each trajectory sees its own observed shares
    assert float(jnp.abs(values[0] - values[1]).max()) > 1e-6
    other, _ = run(path, spec, ctx=make_ctx(seed=5))
    assert float(jnp.abs(values - other).max()) > 1e-6


def test_neural_time_only_ignores_mu():
    path = Neural(inputs=("t",), hidden=(8,))
    spec = positive((2, 2))
    values, _ = run(path, spec)
    other, _ = run(path, spec, ctx=make_ctx(seed=5))
    np.testing.assert_array_equal(values, other)
    np.testing.assert_array_equal(values[0], values[3])
    # but it does vary in time
    assert float(jnp.abs(values[0, 0] - values[0, -1]).max()) > 1e-6
    # and it does not need mu_input at all
    no_mu, _ = run(path, spec, ctx=PathContext(CTX.times, T, None, J))
    np.testing.assert_array_equal(values, no_mu)
    with pytest.raises(ValueError, match="mu_input"):
        run(Neural(), spec, ctx=PathContext(CTX.times, T, None, J))


@pytest.mark.parametrize(
    "spec,init", [(positive(), 1.55), (ParameterSpec((), 1.0, 0.5, "p"), 0.8), (unbounded((2, 2)), -3.0)]
)
def test_neural_init_value(spec, init):
    for seed in range(3):
        values, _ = run(Neural(init_value=init, seed=seed), spec)
        assert float(jnp.abs(values - init).max()) < 0.05


def test_neural_deterministic_given_seed():
    spec = positive()
    a, _ = run(Neural(seed=3), spec)
    b, _ = run(Neural(seed=3), spec)
    c, _ = run(Neural(seed=4), spec)
    np.testing.assert_array_equal(a, b)
    assert float(jnp.abs(a - c).max()) > 1e-6


def test_neural_bayesian_sites_and_seeds():
    path = Neural(hidden=(8,), bayesian=True, prior_scale=0.7)
    spec = positive()
    values0, tr = run(path, spec, seed=0)
    samples = {k: v for k, v in tr.items() if v["type"] == "sample"}
    assert set(samples) == {f"g_net/layers[{i}].{w}" for i in range(2) for w in ("weight", "bias")}
    for site in samples.values():
        base = site["fn"]
        while not isinstance(base, dist.Normal):
            base = base.base_dist
        assert float(jnp.max(base.scale)) == pytest.approx(0.7)
        assert float(jnp.max(jnp.abs(base.loc))) == 0.0
    values1, _ = run(path, spec, seed=1)
    assert float(jnp.abs(values0 - values1).max()) > 1e-3


def test_neural_bayesian_init_value_centres_last_bias():
    path = Neural(hidden=(8,), bayesian=True, init_value=2.0, prior_scale=0.5)
    _, tr = run(path, positive())
    fn = tr["g_net/layers[1].bias"]["fn"]
    while not isinstance(fn, dist.Normal):
        fn = fn.base_dist
    np.testing.assert_allclose(fn.loc, inverse_link(2.0, positive()), rtol=1e-12)


def test_neural_gradient_wrt_params():
    path = Neural(hidden=(8,))
    spec = positive((2, 2))
    _, tr = run(path, spec)
    params = tr["g_net$params"]["value"]

    def total(p):
        with handlers.substitute(data={"g_net$params": p}):
            return jnp.sum(path("g", spec, CTX))

    grads = jax.grad(total)(params)
    leaves = jax.tree.leaves(grads)
    assert leaves and all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)
    assert sum(float(jnp.abs(g).sum()) for g in leaves) > 0


def test_neural_built_inside_jit_leaks_no_tracer():
    path = Neural(hidden=(4,))
    spec = positive()

    @jax.jit
    def f(mu):
        ctx = PathContext(CTX.times, T, mu, J)
        return handlers.seed(path, 0)("g", spec, ctx)

    inside = f(CTX.mu_input)
    outside, _ = run(path, spec)
    np.testing.assert_allclose(inside, outside, rtol=1e-12)
    for net in path._nets.values():
        assert not any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(eqx.filter(net, eqx.is_array)))


# ============================================================================ Hierarchical
@pytest.mark.parametrize("population", [TimeSpline(n_knots=6), Constant()])
@pytest.mark.parametrize("spec", [positive(), unbounded((2, 2))])
def test_hierarchical_spread(population, spec):
    path = Hierarchical(population)
    values, tr = run(path, spec)
    assert float(tr["g_spread"]["value"]) > 0
    assert float(jnp.abs(values[0] - values[1]).max()) > 1e-6

    values0, tr0 = run(path, spec, data={"g_spread": 0.0})
    if isinstance(population, TimeSpline):
        pop_eta = jnp.tensordot(population.basis(CTX), tr0["g_weights"]["value"], axes=1)
        expected = population.apply_link(pop_eta, spec)
    else:
        expected = jnp.broadcast_to(tr0["g"]["value"], values0.shape[1:])
    for j in range(J):
        np.testing.assert_allclose(values0[j], expected, rtol=1e-12, atol=1e-14)


def test_hierarchical_constant_is_lognormal_for_positive():
    spec = ParameterSpec((), 1.0, 0.5, "p")
    z = jnp.array([0.0, 1.0, -1.0, 2.0])
    values, _ = run(Hierarchical(Constant()), spec, data={"g": 2.5, "g_spread": 0.3, "g_offsets": z})
    expected = 0.5 + 2.0 * np.exp(0.3 * np.array([0.0, 1.0, -1.0, 2.0]))
    np.testing.assert_allclose(values[:, 10], expected, rtol=1e-12)
    values, _ = run(Hierarchical(Constant(), scale=0.3), unbounded(), data={"g": 2.5, "g_offsets": z})
    np.testing.assert_allclose(values[:, -1], 2.5 + 0.3 * np.array([0.0, 1.0, -1.0, 2.0]), rtol=1e-12)


def test_hierarchical_fixed_scale_has_no_spread_site():
    path = Hierarchical(TimeSpline(n_knots=5), scale=0.0)
    values, tr = run(path, positive())
    assert "g_spread" not in tr and "g_spread" not in path.site_dims("g", positive())
    np.testing.assert_allclose(values[0], values[3])


# ============================================================================ validation
def test_bad_arguments_raise_naming_the_argument():
    with pytest.raises(ValueError, match="link"):
        TimeSpline(link="logit")
    with pytest.raises(ValueError, match="link"):
        Neural(link="sigmoid")
    with pytest.raises(ValueError, match="n_knots"):
        TimeSpline(n_knots=3, degree=3)
    with pytest.raises(ValueError, match="floor"):
        TimeSpline(floor=-1.0)
    with pytest.raises(ValueError, match="smoothness"):
        TimeSpline(smoothness=-0.1)
    with pytest.raises(ValueError, match="center"):
        TimeSpline(loc=1.0, center=2.0)
    with pytest.raises(ValueError, match="inputs"):
        Neural(inputs=())
    with pytest.raises(ValueError, match="inputs"):
        Neural(inputs=("t", "x"))
    with pytest.raises(ValueError, match="hidden"):
        Neural(hidden=(8, 4))
    with pytest.raises(ValueError, match="activation"):
        Neural(activation="swishy")
    with pytest.raises(TypeError, match="prior"):
        Constant(prior=1.0)
    with pytest.raises(TypeError, match="prior"):
        Constant(prior="Normal(0, 1)")
    with pytest.raises(ValueError, match="prior"):
        run(Constant(dist.Normal(0.0, 1.0)), positive())
    with pytest.raises(TypeError, match="population"):
        Hierarchical(Neural())
    with pytest.raises(TypeError, match="scale"):
        Hierarchical(Constant(), scale="wide")
    with pytest.raises(ValueError, match="scale"):
        Hierarchical(Constant(), scale=dist.Normal(0.0, 1.0))
    with pytest.raises(ValueError, match="mu_input"):
        run(TimeSpline(), positive(), ctx=PathContext(CTX.times, T, CTX.mu_input[:, :10], J))
    with pytest.raises(TypeError, match="ctx"):
        TimeSpline()("g", positive(), (CTX.times, T, None, J))
    with pytest.raises(ValueError, match="init_value"):
        run(Neural(init_value=1e-4), positive())


def test_as_path():
    p = TimeSpline()
    assert as_path(p) is p
    c = as_path(dist.Gamma(2.0, 2.0))
    assert isinstance(c, Constant) and isinstance(c.prior, dist.Gamma)
    with pytest.raises(TypeError, match="x must be"):
        as_path(1.55)


def test_context_from_game():
    game = LinearQuadratic(n_states=D, n_times=N, horizon=T)
    ctx = PathContext.from_game(game, CTX.mu_input)
    assert ctx.n_trajectories == J and ctx.times.shape == (N,)
    values, _ = run(Hierarchical(TimeSpline()), positive(), ctx=ctx)
    assert values.shape == (J, N)
    # one trajectory's values are what game.params accepts
    params = game.params(gamma=values[0])
    assert params["gamma"].shape == (N,)
    with pytest.raises(ValueError, match="mu_input"):
        PathContext.from_game(game, CTX.mu_input[..., :2])
