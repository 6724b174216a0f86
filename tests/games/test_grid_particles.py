"""Particles of the continuous SDE (diffrax) against grid laws: the feedback read off the rates,
the histogram within Monte Carlo error of the grid law, a wrong drift caught, reflection exact
against the image-sum law of reflected Brownian motion, 2-D against 1-D, first order in h,
and bad input refused before any simulation."""

import dataclasses

import jax
import numpy as np
import pytest
from scipy.stats import ks_2samp, kstest, norm

import bayes_mfg as bm
from bayes_mfg.games import (
    Grid,
    GridCongestion,
    GridLinearQuadratic,
    Particles,
    bin_masses,
    grid_velocity,
    particle_check,
    particle_histogram,
    simulate_particles,
)

SIGMA, T, MEAN0, SD0 = 0.3, 1.0, 0.5, 0.2
LQ = {"coupling": 0.5, "target": -0.3, "state_weight": 2.0, "terminal_weight": 1.0}


def lq(inv_h):
    """The setting of experiments/grid_convergence.py: [-2, 2], h = dt = 1 / inv_h."""
    game = GridLinearQuadratic(grid=Grid.interval(4 * inv_h + 1, -2.0, 2.0), sigma=SIGMA, horizon=T,
                               n_times=inv_h + 1)
    x = game.points[:, 0]
    mu0 = np.exp(-((x - MEAN0) ** 2) / (2 * SD0**2))
    return game, bm.equilibrium(game, LQ, mu0 / mu0.sum())


@pytest.fixture(scope="module")
def lq64():
    return lq(64)


# ------------------------------------------------------------------ the feedback
def test_grid_velocity_is_the_best_response_to_the_value(lq64):
    """Read off the rates, the velocity is ``(max(0, u(x) - u(x+h)) - max(0, u(x) - u(x-h))) / (kappa h)``
    with ``u = eq.value[n]`` on step n (the forward sweep's ``control(u_n)``), zero across walls."""
    game, eq = lq64
    v = np.asarray(grid_velocity(game, eq))[..., 0]
    u, h = np.asarray(eq.value[:-1]), game.grid.spacing[0]
    up = np.maximum(0.0, u[:, :-1] - u[:, 1:]) / h       # towards x + h, kappa = 1
    down = np.maximum(0.0, u[:, 1:] - u[:, :-1]) / h     # towards x - h
    expected = np.pad(up, ((0, 0), (0, 1))) - np.pad(down, ((0, 0), (1, 0)))
    np.testing.assert_allclose(v, expected, atol=1e-9)
    assert v.shape == (game.n_times - 1, game.n_states)


# ------------------------------------------------------------------ particles against the grid law
@pytest.fixture(scope="module")
def lq64_particles(lq64):
    game, eq = lq64
    steps = [0, 32, 64]
    good = simulate_particles(game, eq, 2000, jax.random.key(0), steps=steps, n_substeps=4)
    still = simulate_particles(game, eq, 2000, jax.random.key(0), steps=steps, n_substeps=4,
                               velocity=np.zeros((game.n_times - 1, game.n_states, 1)))
    return game, eq, good, still


def test_particle_histogram_matches_the_grid_law_within_monte_carlo_error(lq64_particles):
    """h = 1/64: the discretisation error (TV ~ 0.018 on these 16 bins, measured with 1e5 agents)
    is below the Monte Carlo error of 2000 agents (floor ~ 0.016 +- 0.007)."""
    game, eq, good, _ = lq64_particles
    assert isinstance(good, Particles) and good.x.shape == (3, 2000, 1)
    np.testing.assert_allclose(good.times, [0.0, 0.5, 1.0])
    check = particle_check(game, eq, good, 16, jax.random.key(1))
    assert np.all(check.tv < check.floor_mean + 4 * check.floor_sd), (check.tv, check.floor_mean, check.floor_sd)
    # the grid's own mean and variance, within 4 standard errors of 2000 agents
    mean, var = game.grid.moments(eq.mu[np.asarray(good.steps)])
    xs = np.asarray(good.x)[..., 0]
    assert np.all(np.abs(xs.mean(axis=1) - np.asarray(mean[:, 0])) < 4 * np.sqrt(np.asarray(var[:, 0]) / 2000))


def test_the_wrong_drift_is_caught(lq64_particles):
    """With v = 0 instead of the equilibrium feedback the same check fails by a wide margin."""
    game, eq, good, still = lq64_particles
    tv_good = particle_check(game, eq, good, 16, jax.random.key(1)).tv
    bad = particle_check(game, eq, still, 16, jax.random.key(1))
    # t = 0: both are the same draw from mu0; afterwards the still crowd is far off
    assert bad.tv[0] == tv_good[0]
    assert np.all(bad.tv[1:] > bad.floor_mean[1:] + 20 * bad.floor_sd[1:])
    assert np.all(bad.tv[1:] > 8 * tv_good[1:]), (bad.tv, tv_good)


# ------------------------------------------------------------------ reflection, exactly
def reflected_cdf(c, t, a, b, sigma, length):
    """``P(fold(U + sigma W_t) <= c)`` on ``[0, length]``, ``U ~ Uniform[a, b]``: the image sum."""
    s = sigma * np.sqrt(t)

    def cdf_y(y):  # E Phi((y - U) / s), with G(z) = z Phi(z) + phi(z) the antiderivative of Phi
        g = lambda z: z * norm.cdf(z) + norm.pdf(z)  # noqa: E731
        return s / (b - a) * (g((y - a) / s) - g((y - b) / s))

    c = np.asarray(c, dtype=float)
    return sum(cdf_y(2 * m * length + c) - cdf_y(2 * m * length - c) for m in range(-4, 5))


def zero_cost_game(grid, sigma, n_times):
    game = GridCongestion(grid=grid, sigma=sigma, n_times=n_times)
    return game, {"attraction": 0.0, "congestion": 0.0, "crowding": 0.0, "terminal_weight": 0.0}


def test_reflection_is_exact_for_brownian_motion_between_walls():
    """v = 0 on [0, 1], sigma = 0.5, from the cell of x = 0.1 ([0.05, 0.15]): the particles stay in
    [0, 1] and follow the image-sum law of Brownian motion reflected at both walls (heat equation
    with Neumann walls), by Kolmogorov-Smirnov and on 10 bins, at t = 0.1 (most agents have met the
    wall at 0) and t = 1 (several reflections at both walls)."""
    game, params = zero_cost_game(Grid.interval(11, 0.0, 1.0), 0.5, 11)
    mu0 = np.eye(11)[1]
    eq = bm.equilibrium(game, params, mu0)
    n = 20_000
    p = simulate_particles(game, eq, n, jax.random.key(5), steps=[1, 10], n_substeps=16,
                           velocity=np.zeros((10, 11, 1)))
    x = np.asarray(p.x)[..., 0]
    assert x.min() >= 0.0 and x.max() <= 1.0
    rng = np.random.default_rng(0)
    edges = np.linspace(0.0, 1.0, 11)
    for i, t in enumerate(p.times):
        cdf = lambda c, t=t: reflected_cdf(c, t, 0.05, 0.15, 0.5, 1.0)  # noqa: E731
        assert kstest(x[i], cdf).pvalue > 1e-3
        exact = np.diff(cdf(edges))
        tv = 0.5 * np.abs(np.asarray(particle_histogram(game, x[i][:, None], edges)) - exact).sum()
        floor = 0.5 * np.abs(rng.multinomial(n, exact / exact.sum(), size=200) / n - exact).sum(axis=1)
        assert tv < floor.mean() + 4 * floor.std(), (t, tv, floor.mean(), floor.std())
    # the check has teeth: the same particles against the law at a different time fail
    assert kstest(x[0], lambda c: reflected_cdf(c, 0.2, 0.05, 0.15, 0.5, 1.0)).pvalue < 1e-6


def test_a_circle_wraps_around():
    """v = 0 on a circle of length 1: ``X = Y mod 1``, the wrapped normal law."""
    game, params = zero_cost_game(Grid.circle(10), 0.3, 6)
    eq = bm.equilibrium(game, params, np.eye(10)[0])
    p = simulate_particles(game, eq, 10_000, jax.random.key(6), steps=[5], velocity=np.zeros((5, 10, 1)))
    x = np.asarray(p.x)[0, :, 0]
    assert x.min() >= 0.0 and x.max() < 1.0

    def cdf(c):  # U ~ Uniform[-0.05, 0.05] (the cell of x = 0), s = 0.3, wrapped onto [0, 1)
        s, g = 0.3, lambda z: z * norm.cdf(z) + norm.pdf(z)  # noqa: E731
        f = lambda y: s / 0.1 * (g((y + 0.05) / s) - g((y - 0.05) / s))  # noqa: E731
        return sum(f(m + np.asarray(c)) - f(m) for m in range(-4, 5))

    assert kstest(x, cdf).pvalue > 1e-3


def test_two_dimensions_match_one_when_the_game_separates():
    """With a separable cost (no congestion) the 2-D value is the sum of 1-D values, so each
    coordinate of the 2-D particles moves as the particles of the 1-D game: a check of the
    folding, the bilinear interpolation and the row-major indexing in 2-D."""
    params = {"attraction": 3.0, "congestion": 0.0, "crowding": 0.0, "terminal_weight": 3.0}
    box = GridCongestion(grid=Grid.box((17, 17)), sigma=0.3, n_times=17, goal=(0.8, 0.25))
    mu0 = np.zeros((17, 17))
    mu0[8, 8] = 1.0
    eq2 = bm.equilibrium(box, params, mu0.ravel())
    p2 = simulate_particles(box, eq2, 4000, jax.random.key(7), steps=[16], n_substeps=8)
    x2 = np.asarray(p2.x)[0]
    for k, goal in enumerate((0.8, 0.25)):
        line = GridCongestion(grid=Grid.interval(17, 0.0, 1.0), sigma=0.3, n_times=17, goal=(goal,))
        eq1 = bm.equilibrium(line, params, np.eye(17)[8])
        x1 = np.asarray(simulate_particles(line, eq1, 4000, jax.random.key(8 + k), steps=[16], n_substeps=8).x)[0, :, 0]
        assert ks_2samp(x2[:, k], x1).pvalue > 1e-3
        assert abs(x1.mean() - goal) < abs(0.5 - goal) / 2  # they moved towards the goal
    assert ks_2samp(x2[:, 0], x2[:, 1]).pvalue < 1e-6       # and the two axes did differ
    hist = particle_histogram(box, p2.x, (4, 2))
    assert hist.shape == (1, 8) and abs(float(hist.sum()) - 1.0) < 1e-12


# ------------------------------------------------------------------ bins
def test_bin_masses_spread_each_cell_over_the_bins():
    grid = Grid.interval(5, 0.0, 1.0)  # cells [0, 1/8], [1/8, 3/8], [3/8, 5/8], [5/8, 7/8], [7/8, 1]
    np.testing.assert_allclose(bin_masses(grid, np.eye(5), [0.0, 0.25, 1.0]),
                               [[1, 0], [0.5, 0.5], [0, 1], [0, 1], [0, 1]], atol=1e-15)
    circle = Grid.circle(4)  # the cell of x = 0 is [-1/8, 1/8]: half of it wraps into the last bin
    np.testing.assert_allclose(bin_masses(circle, np.eye(4)[0], 4), [0.5, 0, 0, 0.5], atol=1e-15)
    # edges past one period would count the wrapped cells twice (the masses summed to 1.5)
    with pytest.raises(ValueError, match="periodic"):
        bin_masses(circle, np.ones(4) / 4, [-0.25, 0.5, 1.25])
    assert float(bin_masses(circle, np.ones(4) / 4, [0.0, 0.3, 1.0]).sum()) == pytest.approx(1.0, abs=1e-14)
    box = Grid.box((3, 3))
    mu = np.random.default_rng(0).dirichlet(np.ones(9))
    assert abs(float(bin_masses(box, mu, (2, 3)).sum()) - 1.0) < 1e-14
    # on the same bins, grids of different h agree on a smooth law
    laws = []
    for n in (33, 129):
        x = np.linspace(0.0, 1.0, n)
        w = np.exp(-((x - 0.4) ** 2) / (2 * 0.1**2))
        laws.append(np.asarray(bin_masses(Grid.interval(n), w / w.sum(), 8)))
    assert 0.5 * np.abs(laws[0] - laws[1]).sum() < 0.01


# ------------------------------------------------------------------ first order in h
@pytest.mark.slow
def test_total_variation_falls_at_first_order_in_h():
    """h = 1/16, 1/32, 1/64 (dt = h), 50000 agents, 32 bins: TV(particles, grid) at T/2 about halves
    with h, from well above the Monte Carlo floor. Measured (experiments/particles_vs_grid.py,
    1e5 agents): 0.070, 0.036, 0.020."""
    tvs, floors = [], []
    for inv_h in (16, 32, 64):
        game, eq = lq(inv_h)
        p = simulate_particles(game, eq, 50_000, jax.random.key(inv_h), steps=[inv_h // 2], n_substeps=1024 // inv_h)
        c = particle_check(game, eq, p, np.linspace(-2.0, 2.0, 33), jax.random.key(1))
        tvs.append(float(c.tv[0]))
        floors.append((float(c.floor_mean[0]), float(c.floor_sd[0])))
    assert tvs[0] > floors[0][0] + 20 * floors[0][1]
    for a, b in zip(tvs, tvs[1:]):
        assert 0.35 < b / a < 0.7, tvs


# ------------------------------------------------------------------ bad input
def test_bad_input_is_refused_by_name(lq64):
    game, eq = lq64
    key = jax.random.key(0)
    cases = [
        (lambda: simulate_particles(game, eq, 0, key), ValueError, "n_agents"),
        (lambda: simulate_particles(game, eq, 10.5, key), TypeError, "n_agents"),
        (lambda: simulate_particles(game, eq, True, key), TypeError, "n_agents"),
        (lambda: simulate_particles(game, eq, 10, key, n_substeps=0), ValueError, "n_substeps"),
        (lambda: simulate_particles(game, eq, 10, 0), TypeError, "key"),
        (lambda: simulate_particles(game, eq, 10, jax.random.split(key, 3)), TypeError, "key"),
        (lambda: simulate_particles(game, eq, 10, key, steps=[3, 3]), ValueError, "steps"),
        (lambda: simulate_particles(game, eq, 10, key, steps=[game.n_times]), ValueError, "steps"),
        (lambda: simulate_particles(game, eq, 10, key, steps=[0.5]), TypeError, "steps"),
        (lambda: simulate_particles(game, eq, 10, key, velocity=np.zeros((3, 1))), ValueError, "velocity"),
        (lambda: simulate_particles(game, eq._replace(mu=eq.mu[None]), 10, key), ValueError, "eq.mu"),
        (lambda: simulate_particles(game, eq._replace(rates=eq.rates[:-1]), 10, key), ValueError, "eq.rates"),
        (lambda: simulate_particles(game, "eq", 10, key), TypeError, "eq must be an Equilibrium"),
        (lambda: simulate_particles(bm.games.LinearQuadratic(n_states=3), eq, 10, key), TypeError, "GridGame"),
        (lambda: simulate_particles(bm.games.MeetingTime(), eq, 10, key), ValueError, "game.grid.absorbing"),
        (lambda: bin_masses(game, eq.mu[0], [-1.0, 0.0, 1.0]), ValueError, "must cover the axis"),
        (lambda: bin_masses(game, eq.mu[0], [-2.0, 1.0, 0.0, 2.0]), ValueError, "strictly increasing"),
        (lambda: bin_masses(game, eq.mu[0], 0), ValueError, "bins\\[0\\]"),
        (lambda: bin_masses(game, eq.mu[0], "8"), TypeError, "bins must be"),
        (lambda: bin_masses(game, eq.mu[0][:-1], 8), ValueError, "mu must have shape"),
        (lambda: particle_histogram(game, np.zeros(5), 8), ValueError, "x must have shape"),
        (lambda: particle_check(game, eq, np.zeros((1, 5, 1)), 8, key), TypeError, "particles must be"),
    ]
    for call, err, match in cases:
        with pytest.raises(err, match=match):
            call()


def test_a_game_with_its_own_control_needs_an_explicit_velocity(lq64):
    game, eq = lq64

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Own(GridLinearQuadratic):
        def control(self, u, mu, p):
            return super().control(u, mu, p)

    own = Own(grid=game.grid, sigma=game.sigma, n_times=game.n_times)
    with pytest.raises(ValueError, match="overrides GridGame.control"):
        grid_velocity(own, eq)
    p = simulate_particles(own, eq, 10, jax.random.key(0), steps=[0], velocity=np.zeros((game.n_times - 1,
                                                                                         game.n_states, 1)))
    assert p.x.shape == (1, 10, 1)
