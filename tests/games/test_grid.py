"""Continuous-state games on grids: geometry, exact chain solves, convergence to the Riccati
closed form, mass, gradients, and bad input refused before any solve."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bayes_mfg as bm
from bayes_mfg.games import Grid, GridCongestion, GridLinearQuadratic, gaussian_equilibrium
from bayes_mfg.stepping import Chain, Neighbours, chain_solve, generator

SIGMA, T, MEAN0, SD0 = 0.3, 1.0, 0.5, 0.2
LQ = {"coupling": 0.5, "target": -0.3, "state_weight": 2.0, "terminal_weight": 1.0}


def gaussian_mu0(x, mean=MEAN0, sd=SD0):
    w = np.exp(-((x - mean) ** 2) / (2 * sd**2))
    return w / w.sum()


def lq_game(n_points, n_times, **kw):
    return GridLinearQuadratic(grid=Grid.interval(n_points, -2.0, 2.0), sigma=SIGMA, horizon=T, n_times=n_times, **kw)


# ------------------------------------------------------------------ geometry
def test_grid_geometry_walls_circles_and_absorbing_states():
    g = Grid.interval(5, 0.0, 1.0, absorbing=(0,))
    assert g.spacing == (0.25,) and g.cell_volume == 0.25
    assert g.neighbours.tolist() == [[0, 0], [0, 2], [1, 3], [2, 4], [3, 4]]
    c = Grid.circle(4, length=2.0)
    assert c.spacing == (0.5,) and c.neighbours.tolist() == [[3, 1], [0, 2], [1, 3], [2, 0]]
    box = Grid.box((3, 4))
    # state (i, j) = 4 i + j; columns: i-1, i+1, j-1, j+1 (itself across a wall)
    assert box.neighbours[5].tolist() == [1, 9, 4, 6] and box.neighbours[0].tolist() == [0, 4, 0, 1]
    torus = Grid.torus((3, 4))
    assert torus.neighbours[0].tolist() == [8, 4, 3, 1]
    assert isinstance(g.structure, Chain) and isinstance(box.structure, Neighbours)
    assert not isinstance(box.structure, Chain)


@pytest.mark.parametrize("make, match", [
    (lambda: Grid.interval(2), "shape\\[0\\] must be an int >= 3"),
    (lambda: Grid.interval(10, 1.0, 1.0), "need finite lower < upper"),
    (lambda: Grid.interval(10, 1.0, 0.0), "need finite lower < upper"),
    (lambda: Grid.interval(10, absorbing=(10,)), "absorbing state must be an int in 0..9"),
    (lambda: Grid.interval(10, absorbing=(1, 1)), "repeated states"),
    (lambda: Grid((4, 4, 4), (0.0,) * 3, (1.0,) * 3, (False,) * 3), "1 or 2 axes"),
    (lambda: Grid((4,), (0.0,), (1.0,), (False, True)), "one entry per axis"),
    (lambda: Grid([4], (0.0,), (1.0,), (False,)), "must be a tuple"),
    (lambda: lq_game(11, 5, sigma=-0.1), "sigma"),
    (lambda: GridLinearQuadratic(grid=Grid.circle(10), sigma=0.1), "1-D interval"),
    (lambda: GridLinearQuadratic(grid="grid", sigma=0.1), "grid must be a bayes_mfg.games.Grid"),
    (lambda: GridCongestion(grid=Grid.box((4, 4)), sigma=0.1, goal=(0.5,)), "goal must be a tuple of 2"),
    (lambda: GridCongestion(grid=Grid.box((4, 4)), sigma=0.1, goal=(0.5, 2.0)), "outside the grid"),
    (lambda: GridCongestion(grid=Grid.box((4, 4)), sigma=0.1, kernel_width=0.0), "kernel_width"),
])
def test_bad_grid_input_is_refused_by_name(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# ------------------------------------------------------------------ the exact chain solve
def dense_chain(left, right, periodic):
    d = left.shape[0]
    x = jnp.arange(d)
    q = jnp.zeros((d, d))
    lm, rp = (x - 1) % d, (x + 1) % d
    q = q.at[x, lm].add(left).at[x, rp].add(right)
    return generator(q)


@settings(max_examples=20, deadline=None)
@given(d=st.sampled_from([3, 8]), periodic=st.booleans(), transpose=st.booleans(), dt=st.floats(1e-3, 1e3),
       seed=st.integers(0, 10_000))
def test_chain_solve_is_the_exact_tridiagonal_solve(d, periodic, transpose, dt, seed):
    rng = np.random.default_rng(seed)
    left, right = rng.exponential(size=d), rng.exponential(size=d)
    if not periodic:
        left[0] = right[-1] = 0.0
    b = rng.normal(size=d)
    x = chain_solve(jnp.asarray(left), jnp.asarray(right), dt, jnp.asarray(b), transpose=transpose, periodic=periodic)
    a = jnp.eye(d) - dt * dense_chain(jnp.asarray(left), jnp.asarray(right), periodic)
    np.testing.assert_allclose((a.T if transpose else a) @ x, b, rtol=0, atol=1e-11 * max(1.0, dt) * np.abs(b).max())


def test_chain_structure_agrees_with_the_neighbour_structure_and_its_gradient():
    chain = Chain(7, periodic=True)
    plain = Neighbours(chain.table)
    rates = jnp.asarray(np.random.default_rng(0).exponential(size=(7, 2)))
    b = jnp.linspace(0.1, 1.0, 7)
    for tr in (False, True):
        np.testing.assert_allclose(chain.solve(rates, 0.7, b, tr), plain.solve(rates, 0.7, b, tr), rtol=1e-12)
    g_chain = jax.grad(lambda r: chain.solve(r, 0.7, b, True) @ b)(rates)
    g_plain = jax.grad(lambda r: plain.solve(r, 0.7, b, True) @ b)(rates)
    np.testing.assert_allclose(g_chain, g_plain, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ the closed form
def test_grid_equilibrium_converges_to_the_riccati_gaussian_at_first_order():
    ref_m, ref_v = gaussian_equilibrium(LQ, SIGMA, T, MEAN0, SD0**2, [0.5 * T, T])
    errors = []
    for n, n_times in [(65, 17), (129, 33), (257, 65)]:
        game = lq_game(n, n_times)
        eq = bm.equilibrium(game, LQ, gaussian_mu0(game.points[:, 0]))
        assert bool(eq.converged)
        np.testing.assert_allclose(eq.mu.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        assert float(eq.mu.min()) >= 0.0
        mean, var = game.grid.moments(eq.mu[jnp.array([(n_times - 1) // 2, -1])])
        errors.append(np.abs(np.concatenate([mean[:, 0] - ref_m, var[:, 0] - ref_v])))
    errors = np.array(errors)
    order = np.log2(errors[:-1] / errors[1:])
    assert errors[-1].max() < 0.01
    assert np.all((order > 0.85) & (order < 1.2)), order


def test_riccati_reference_against_the_stationary_case():
    # q_T = sqrt(q kappa), no coupling: P is constant, the mean decays like exp(-P t / kappa) to the target
    p = {"control_weight": 2.0, "state_weight": 0.5, "terminal_weight": 1.0, "target": 0.3, "coupling": 0.0}
    m, v = gaussian_equilibrium(p, 0.4, 3.0, 1.0, 0.05, [0.0, 1.0, 3.0])
    rate = 1.0 / 2.0  # P / kappa
    np.testing.assert_allclose(m, 0.3 + 0.7 * np.exp(-rate * np.array([0.0, 1.0, 3.0])), rtol=1e-9)
    stat = 0.4**2 / (2 * rate)
    np.testing.assert_allclose(v, stat + (0.05 - stat) * np.exp(-2 * rate * np.array([0.0, 1.0, 3.0])), rtol=1e-9)
    with pytest.raises(ValueError, match="unknown parameter"):
        gaussian_equilibrium({"gamma": 1.0}, 0.4, 3.0, 1.0, 0.05, [0.0])


def test_implicit_steps_are_stable_where_euler_is_not():
    """h = 1/256 on [0, 1], sigma = 0.15, 100 steps: dt * (diffusion rate) ~ 7 per side."""
    grid = Grid.interval(257, 0.0, 1.0)
    mu0 = gaussian_mu0(grid.points[:, 0], 0.5, 0.1)
    implicit = GridCongestion(grid=grid, sigma=0.15, n_times=100)
    eq = bm.equilibrium(implicit, {}, mu0)
    assert bool(eq.converged) and float(eq.mu.min()) >= 0.0
    assert float(eq.info.max_jump_probability) > 5.0
    euler = GridCongestion(grid=grid, sigma=0.15, n_times=100, scheme="euler")
    with pytest.warns(RuntimeWarning, match="unstable|Euler"):
        bad = bm.equilibrium(euler, {}, mu0, solver=bm.Picard(max_iter=3))
    assert not bool(bad.converged) and int(bad.info.status) == bm.Status.EULER_UNSTABLE


# ------------------------------------------------------------------ gradients
def test_grid_gradients_match_finite_differences_and_unrolled_autodiff():
    game = lq_game(25, 8)
    x = jnp.asarray(game.points[:, 0])
    mu0 = jnp.asarray(gaussian_mu0(game.points[:, 0]))

    def loss(theta, shift, adjoint=None, solver=None):
        p = {**LQ, "state_weight": theta[0], "coupling": theta[1]}
        m0 = mu0 * jnp.exp(shift * x)
        extra = {} if adjoint is None else {"adjoint": adjoint, "solver": solver}
        eq = bm.equilibrium(game, p, m0 / m0.sum(), **extra)
        return jnp.sum(eq.mu[-1] * x**2) + eq.value[0] @ mu0

    theta = jnp.array([2.0, 0.5])
    g_theta, g_shift = jax.grad(loss, argnums=(0, 1))(theta, 0.0)
    e = 1e-6
    fd = [(loss(theta.at[i].add(e), 0.0) - loss(theta.at[i].add(-e), 0.0)) / (2 * e) for i in range(2)]
    np.testing.assert_allclose(g_theta, fd, rtol=1e-6)
    np.testing.assert_allclose(g_shift, (loss(theta, e) - loss(theta, -e)) / (2 * e), rtol=1e-6)
    unrolled = jax.grad(loss)(theta, 0.0, bm.Unrolled(n_iter=40), bm.Picard())
    np.testing.assert_allclose(g_theta, unrolled, rtol=1e-8)


def test_two_dimensional_congestion_spreads_the_crowd():
    grid = Grid.box((9, 9))
    mu0 = np.exp(-np.sum((grid.points - 0.5) ** 2, axis=1) / (2 * 0.15**2))
    mu0 /= mu0.sum()  # a crowd at the centre
    base = GridCongestion(grid=grid, sigma=0.1, n_times=11)
    calm = bm.equilibrium(base, {"congestion": 0.0, "attraction": 0.0, "terminal_weight": 0.0}, mu0)
    averse = bm.equilibrium(base, {"congestion": 0.05, "attraction": 0.0, "terminal_weight": 0.0}, mu0)
    assert bool(calm.converged) and bool(averse.converged)
    _, var_calm = grid.moments(calm.mu[-1])
    _, var_averse = grid.moments(averse.mu[-1])
    assert np.all(np.asarray(var_averse) > 1.2 * np.asarray(var_calm))
    np.testing.assert_allclose(averse.mu.sum(axis=1), 1.0, atol=1e-12)


def test_kernel_congestion_is_the_dense_kernel_product():
    game = GridCongestion(grid=Grid.torus((4, 5), (1.0, 2.0)), sigma=0.1, kernel_width=0.4)
    pts = game.points
    diff = pts[:, None, :] - pts[None, :, :]
    lengths = np.array([1.0, 2.0])
    diff = (diff + lengths / 2) % lengths - lengths / 2
    dense = np.exp(-np.sum(diff**2, axis=-1) / (2 * 0.4**2))
    mu = np.random.default_rng(1).dirichlet(np.ones(20))
    np.testing.assert_allclose(game.kernel_congestion(jnp.asarray(mu)), dense @ mu, rtol=1e-12)


def test_absorbing_states_keep_their_mass():
    grid = Grid.interval(21, 0.0, 1.0, absorbing=(0,))
    game = GridCongestion(grid=grid, sigma=0.2, n_times=21, goal=(0.0,))
    mu0 = gaussian_mu0(grid.points[:, 0], 0.6, 0.1)
    eq = bm.equilibrium(game, {"congestion": 0.0}, mu0)
    arrived = np.asarray(eq.mu[:, 0])
    assert np.all(np.diff(arrived) >= -1e-15) and arrived[-1] > arrived[0] + 0.05
    assert float(jnp.abs(eq.rates[:, 0]).max()) == 0.0


# ------------------------------------------------------------------ the meeting-time game
def meeting_mu0(game):
    x = game.points[:, 0]
    w = np.where(x > 0, np.exp(-((x - 0.6) ** 2) / (2 * 0.1**2)), 0.0)
    return w / w.sum()


def test_meeting_starts_after_the_schedule_and_responds_to_its_costs():
    game = bm.games.MeetingTime(n_times=41)
    mu0 = meeting_mu0(game)
    starts = {}
    for name, p in {"base": {}, "late is dear": {"lateness": 3.0}, "small quorum": {"quorum": 0.3},
                    "waiting is dear": {"waiting": 0.9}}.items():
        eq = bm.equilibrium(game, p, mu0)
        assert bool(eq.converged), name
        arrived = np.asarray(eq.mu[:, 0])
        assert np.all(np.diff(arrived) >= -1e-13) and arrived[-1] > 0.99, name  # absorbing, everyone arrives
        np.testing.assert_allclose(eq.mu.sum(axis=1), 1.0, atol=1e-12)
        starts[name] = float(game.start_time(eq.mu, game.params(**p)))
    assert all(t >= 1.0 for t in starts.values())  # never before the scheduled time
    # (at these settings the start tends to the schedule as dt -> 0: 1.079, 1.040, 1.020 with
    # implicit Euler on 41, 81, 161 points, 1.037, 1.005, 1.002 with the second-order default)
    assert starts["late is dear"] < starts["base"] and starts["small quorum"] < starts["base"]
    assert starts["waiting is dear"] > starts["base"]


def test_meeting_cost_weights_are_identified_only_as_ratios():
    game = bm.games.MeetingTime(n_times=31)
    mu0 = meeting_mu0(game)
    weights = {"lateness": 1.0, "inconvenience": 1.0, "waiting": 0.5, "terminal_penalty": 5.0, "control_weight": 1.0}
    one = bm.equilibrium(game, weights, mu0).mu
    three = bm.equilibrium(game, {k: 3.0 * v for k, v in weights.items()}, mu0).mu
    np.testing.assert_allclose(one, three, rtol=0, atol=1e-9)
    moved = bm.equilibrium(game, {**weights, "waiting": 1.5}, mu0).mu  # one weight alone: a different game
    assert float(jnp.abs(moved - one).max()) > 1e-3


def test_meeting_gradients_match_finite_differences():
    game = bm.games.MeetingTime(grid=Grid.interval(41, 0.0, 1.0, absorbing=(0,)), n_times=21)
    mu0 = meeting_mu0(game)

    def arrived_by_schedule(theta):
        eq = bm.equilibrium(game, {"quorum": theta[0], "waiting": theta[1]}, mu0)
        return eq.mu[10, 0] + eq.mu[14, 0]

    theta = jnp.array([0.7, 0.5])
    g = jax.grad(arrived_by_schedule)(theta)
    e = 1e-6
    fd = [(arrived_by_schedule(theta.at[i].add(e)) - arrived_by_schedule(theta.at[i].add(-e))) / (2 * e) for i in range(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-5)
    assert float(g[1]) < 0  # dearer waiting: fewer arrive early


@pytest.mark.parametrize("make, match", [
    (lambda: bm.games.MeetingTime(grid=Grid.interval(21, 0.0, 1.0)), "absorbing=\\(0,\\)"),
    (lambda: bm.games.MeetingTime(grid=Grid.interval(21, 0.5, 1.0, absorbing=(0,))), "Grid.interval\\(n, 0.0, L"),
    (lambda: bm.games.MeetingTime(smoothing=0.0), "smoothing"),
    (lambda: bm.games.MeetingTime().params(quorum=1.0), "quorum'\\] must be a real number in \\(0, 1\\)"),
    (lambda: bm.games.MeetingTime().params(quorum=0.0), "quorum"),
])
def test_bad_meeting_input_is_refused_before_any_solve(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_static_meeting_start_is_the_fixed_point_of_the_first_order_condition():
    from scipy.stats import norm

    for weights in [(1.0, 1.0, 1.5, 0.7), (2.0, 0.5, 1.0, 0.6), (1.0, 1.0, 0.5, 0.7), (1.0, 2.0, 1.0, 0.3)]:
        a, b, g, q = weights
        s, T = bm.games.static_meeting_start(a, b, g, q, scheduled=1.0, noise=0.1)
        cdf = lambda t, s=s: norm.cdf((t - s) / 0.1)  # noqa: E731  (the arrivals' law)
        assert T == pytest.approx(max(1.0, s + 0.1 * norm.ppf(q)), abs=1e-12)  # T = max(t_s, F^{-1}(theta))
        foc = a * (1 - cdf(1.0)) + b * (1 - cdf(T)) - g * cdf(T)  # the target's first-order condition
        assert foc == pytest.approx(0.0, abs=1e-12), weights
    with pytest.raises(ValueError, match="no static equilibrium"):
        bm.games.static_meeting_start(0.2, 0.1, 3.0, 0.7)
    with pytest.raises(ValueError, match="quorum must be in"):
        bm.games.static_meeting_start(1.0, 1.0, 1.0, 1.0)


def test_the_grid_meeting_game_moves_its_start_as_the_static_game_does():
    """Against the static fixed point of Guéant, Lasry & Lions: every cost weight and the quorum
    move the start the same way in the dynamic grid game (agents steering a diffusion) as in
    the static one (agents picking a noisy target)."""
    game = bm.games.MeetingTime(grid=Grid.interval(41, 0.0, 1.0, absorbing=(0,)), n_times=41)
    mu0 = meeting_mu0(game)
    base = {"lateness": 1.0, "inconvenience": 1.0, "waiting": 1.0, "quorum": 0.7}
    changes = {"lateness": 3.0, "inconvenience": 2.0, "waiting": 1.5, "quorum": 0.3}

    def grid_start(p):
        eq = bm.equilibrium(game, p, mu0)
        assert bool(eq.converged), p
        return float(game.start_time(eq.mu, game.params(**p)))

    def static_start(p):
        return bm.games.static_meeting_start(p["lateness"], p["inconvenience"], p["waiting"], p["quorum"])[1]

    t_grid, t_static = grid_start(base), static_start(base)
    assert t_static > 1.0 and t_grid > 1.0  # at the base weights the quorum sets the start in both
    for name, value in changes.items():
        p = {**base, name: value}
        d_static, d_grid = static_start(p) - t_static, grid_start(p) - t_grid
        assert abs(d_static) > 1e-6 and np.sign(d_grid) == np.sign(d_static), (name, d_static, d_grid)
