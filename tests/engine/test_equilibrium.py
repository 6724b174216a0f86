"""Equilibrium solves: residuals, stability, conservation, failure reporting, jit/vmap."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import dirichlet

import bayes_mfg as bm
from bayes_mfg.engine import best_response_map, hjb, kolmogorov
from bayes_mfg.engine.continuous_time import policy_rates, step_rates

ARC = lambda game: 0.1 + 4 * 2.9 / game.horizon**2 * game.time_grid * (game.horizon - game.time_grid)  # noqa: E731


def reference_settings(rng):
    """The reference systems of DESIGN section 6 at their reference settings."""
    cases = []
    for d in (3, 4, 8, 16, 32):
        game = bm.games.LinearQuadratic(n_states=d)
        cases.append((f"lq{d}-constant", game, {"gamma": 1.55}, dirichlet(rng, d)))
        cases.append((f"lq{d}-arc", game, {"gamma": ARC(game)}, dirichlet(rng, d)))
    cases.append(("cybersecurity", bm.games.Cybersecurity(), {}, dirichlet(rng, 4)))
    cases.append(("cybersecurity-soft", bm.games.Cybersecurity(temperature=0.05), {}, dirichlet(rng, 4)))
    for beta, gamma in ((0.2, 0.05), (0.6, 0.2), (0.6, 0.05)):
        cases.append((f"sir-{beta}-{gamma}", bm.games.SIR(), {"beta": beta, "gamma": gamma}, jnp.array([0.99, 0.01, 0.0])))
    q = jnp.asarray(rng.uniform(0.1, 1.5, size=(6, 6)))
    cases.append(("mobility", bm.games.MobilityNetwork(n_states=6), {"q": q, "b": 0.5, "c": 2.0}, dirichlet(rng, 6)))
    return cases


@pytest.mark.slow  # 58 s in CI (budget)
def test_reference_settings_converge_without_nan(rng):
    for name, game, params, mu0 in reference_settings(rng):
        solvers = (bm.Anderson(), bm.Picard(damping=0.5)) if game.n_states <= 8 else (bm.Anderson(),)
        for solver in solvers:
            eq = bm.equilibrium(game, params, mu0, solver=solver)
            assert bool(eq.info.converged), (name, solver, eq.message())
            assert float(eq.info.residual) <= 1e-10, name
            for arr in (eq.mu, eq.value, eq.rates):
                assert bool(jnp.all(jnp.isfinite(arr))), name
            # the reported residual is the true one
            g = best_response_map(game, eq.mu, game.params(**params), mu0)
            np.testing.assert_allclose(jnp.max(jnp.abs(g - eq.mu)), eq.info.residual, rtol=1e-6, atol=1e-15)
            np.testing.assert_allclose(eq.mu.sum(1), 1.0, atol=1e-12)
            assert float(eq.mu.min()) >= -1e-14


def test_value_and_rates_are_consistent_with_the_path(rng):
    game = bm.games.LinearQuadratic(n_states=4)
    params = game.params(gamma=0.8)
    mu0 = dirichlet(rng, 4)
    eq = bm.equilibrium(game, params, mu0)
    np.testing.assert_allclose(eq.value, hjb(game, eq.mu, params), atol=1e-13)
    np.testing.assert_allclose(eq.rates, policy_rates(game, eq.value, eq.mu, params), atol=1e-13)
    # the rates the steps applied: the sweep's, equal to the steps evaluated on the path
    np.testing.assert_allclose(kolmogorov(game, eq.value, params, mu0).rates, step_rates(game, eq.value, eq.mu, params),
                               atol=1e-9)
    assert eq.rates.shape == (99, 4, 4)
    np.testing.assert_array_equal(eq.mu[0], mu0)


def test_euler_unstable_setting_is_flagged_not_silent(rng):
    """The seed paper's LQ d = 32 setting: dt * out-rate > 1 under explicit Euler."""
    game = bm.games.LinearQuadratic(n_states=32, scheme="euler")
    mu0 = dirichlet(rng, 32)
    with pytest.warns(RuntimeWarning, match="explicit Euler"):
        eq = bm.equilibrium(game, {"gamma": 1.55}, mu0, solver=bm.Picard(max_iter=20))
    assert not bool(eq.info.converged)
    assert int(eq.info.status) == bm.Status.EULER_UNSTABLE
    assert float(eq.info.max_jump_probability) > 1.0
    assert bool(jnp.all(jnp.isfinite(eq.mu)))
    # the stable scheme solves the same setting
    stable = bm.equilibrium(bm.games.LinearQuadratic(n_states=32), {"gamma": 1.55}, mu0)
    assert bool(stable.info.converged) and float(stable.info.max_jump_probability) > 1.0


@pytest.mark.parametrize("scheme", ["implicit", "exponential", "midpoint"])
def test_stable_schemes_and_euler_agree_as_dt_shrinks(rng, scheme):
    mu0 = dirichlet(rng, 3)
    errs = []
    for n in (100, 200, 400):
        a = bm.equilibrium(bm.games.LinearQuadratic(n_states=3, n_times=n, scheme="euler"), {}, mu0)
        b = bm.equilibrium(bm.games.LinearQuadratic(n_states=3, n_times=n, scheme=scheme), {}, mu0)
        errs.append(float(jnp.max(jnp.abs(a.mu[-1] - b.mu[-1]))))
    # all three discretise the same ODEs: the gap shrinks at least linearly with dt
    assert errs[0] / errs[1] > 1.8 and errs[1] / errs[2] > 1.8, errs
    assert errs[2] < 5e-3, errs


def test_max_iterations_reported(rng):
    game = bm.games.LinearQuadratic(n_states=3)
    with pytest.warns(RuntimeWarning, match="max_iter reached"):
        eq = bm.equilibrium(game, {"terminal_congestion": 20.0}, dirichlet(rng, 3), solver=bm.Picard(max_iter=3))
    assert not bool(eq.info.converged)
    assert int(eq.info.status) == bm.Status.MAX_ITERATIONS
    assert int(eq.info.iterations) == 3 and float(eq.info.residual) > 1e-10


def test_undamped_picard_fails_where_anderson_converges(rng):
    """terminal_congestion = 20: the Picard map oscillates (spectral radius > 1)."""
    game = bm.games.LinearQuadratic(n_states=3)
    mu0 = dirichlet(rng, 3)
    with pytest.warns(RuntimeWarning):
        picard = bm.equilibrium(game, {"terminal_congestion": 20.0}, mu0, solver=bm.Picard(max_iter=300))
    assert not bool(picard.info.converged)
    anderson = bm.equilibrium(game, {"terminal_congestion": 20.0}, mu0, solver=bm.Anderson())
    assert bool(anderson.info.converged)
    damped = bm.equilibrium(game, {"terminal_congestion": 20.0}, mu0, solver=bm.Picard(damping=0.5))
    assert bool(damped.info.converged)
    assert int(anderson.info.n_evaluations) < int(damped.info.n_evaluations)
    np.testing.assert_allclose(anderson.mu, damped.mu, atol=1e-9)


def test_warm_start_needs_fewer_iterations(rng):
    game = bm.games.LinearQuadratic(n_states=8)
    mu0 = dirichlet(rng, 8)
    cold = bm.equilibrium(game, {"gamma": 1.0}, mu0)
    warm = bm.equilibrium(game, {"gamma": 1.0001}, mu0, init=cold.mu)
    assert bool(warm.info.converged) and int(warm.info.iterations) < int(cold.info.iterations)


def test_jit_and_vmap_over_initial_distributions(rng):
    game = bm.games.LinearQuadratic(n_states=4)
    mu0s = jnp.stack([dirichlet(rng, 4) for _ in range(3)])
    solve = jax.jit(jax.vmap(lambda m: bm.equilibrium(game, {"gamma": 1.2}, m)))
    batch = solve(mu0s)
    assert batch.mu.shape == (3, 100, 4) and batch.info.converged.shape == (3,)
    assert bool(jnp.all(batch.info.converged))
    for i in range(3):
        one = bm.equilibrium(game, {"gamma": 1.2}, mu0s[i])
        np.testing.assert_allclose(batch.mu[i], one.mu, atol=1e-10)


# mass conservation, non-negativity and the residual at convergence over random games:
# tests/inference/test_reliability.py (25 examples) and tests/inference/test_reliability_slow.py (200 examples)


def test_anderson_safeguard_restarts_and_evaluates_g_once_per_step():
    # A map whose Anderson extrapolation overshoots: G(x) = x_star + s(x) with a steep,
    # saturating nonlinearity. The safeguard must reject some steps, the solve must
    # still converge, and every step must cost exactly one evaluation of G (under vmap
    # too: no branch evaluates G twice).
    from bayes_mfg.engine import iterate

    target = jnp.linspace(-1.0, 1.0, 6)

    def fn(x, args):
        return target + 0.9 * jnp.tanh(args * (x - target)) / args

    solver = bm.Anderson(memory=5, restart_factor=1.5, max_iter=200)
    states = jax.vmap(lambda a: iterate(solver, fn, jnp.full(6, 3.0), a, 1e-12))(jnp.array([1.0, 20.0]))
    assert bool(jnp.all(states.best_residual <= 1e-12))
    assert np.array_equal(np.asarray(states.n_evals), np.asarray(states.iteration) + 1)
    assert int(jnp.max(states.n_restarts)) >= 1
    np.testing.assert_allclose(np.asarray(states.best_x), np.broadcast_to(target, (2, 6)), atol=1e-11)


@pytest.mark.parametrize("d", [3, 8, 12, 13])
def test_m_matrix_solve_matches_lapack_and_its_gradient(rng, d):
    from bayes_mfg.stepping import generator, m_matrix_solve

    rates = jnp.asarray(rng.random((d, d)) * 50.0)
    b = jnp.asarray(rng.random(d))

    def both(r, v):
        m = jnp.eye(d) - 0.05 * generator(r)
        return m_matrix_solve(m, v) @ v, jnp.linalg.solve(m, v) @ v

    ours, ref = both(rates, b)
    np.testing.assert_allclose(ours, ref, rtol=1e-13)
    g_ours = jax.grad(lambda r, v: both(r, v)[0], argnums=(0, 1))(rates, b)
    g_ref = jax.grad(lambda r, v: both(r, v)[1], argnums=(0, 1))(rates, b)
    for a, r in zip(g_ours, g_ref):
        np.testing.assert_allclose(a, r, rtol=1e-11, atol=1e-14)
