"""The second-order schemes (Patankar: MPRK22 forward, Richardson-extrapolated implicit Euler
backward; exponential midpoint): observed order, hand computations of a step, mass and
positivity at LQ d = 32, finite-difference gradients, flows."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import dirichlet

import bayes_mfg as bm
from bayes_mfg.engine.continuous_time import step_rates
from bayes_mfg.stepping import ExponentialMidpoint, Patankar, as_scheme

TIGHT = bm.Anderson(tol=1e-13, max_iter=1000)


def _lq(n_states, steps, scheme):
    return bm.games.LinearQuadratic(n_states=n_states, n_times=steps + 1, scheme=scheme)


@pytest.mark.parametrize("scheme", ["midpoint", "patankar"])
def test_second_order_schemes_converge_at_second_order_and_implicit_euler_at_first(scheme):
    """Sup error of the value path on the grid against a 1600-step reference: halving dt
    divides it by about 4 with a second-order scheme and by about 2 with implicit Euler."""
    mu0 = jnp.array([0.2, 0.5, 0.3])
    ref = bm.equilibrium(_lq(3, 1600, "midpoint"), {"gamma": 1.55}, mu0, solver=TIGHT)

    def errors(scheme):
        out = []
        for n in (25, 50, 100):
            eq = bm.equilibrium(_lq(3, n, scheme), {"gamma": 1.55}, mu0, solver=TIGHT)
            assert bool(eq.converged)
            out.append(float(jnp.max(jnp.abs(eq.value - ref.value[:: 1600 // n]))))
        return np.array(out)

    second, imp = errors(scheme), errors("implicit")
    assert np.all((second[:-1] / second[1:] > 3.0) & (second[:-1] / second[1:] < 5.0)), second
    assert np.all((imp[:-1] / imp[1:] > 1.7) & (imp[:-1] / imp[1:] < 2.8)), imp
    assert second[-1] < imp[-1] / 10  # and far more accurate at equal steps


def test_forward_step_is_the_exponential_of_the_midpoint_rates():
    """With rates that do not depend on the value (mobility, c = 0) the step is exactly
    ``mu_{n+1} = mu_n expm(dt Q((q_n + q_{n+1}) / 2))``: the parameters are averaged over the step."""
    rng = np.random.default_rng(3)
    n_times = 6
    game = bm.games.MobilityNetwork(n_states=3, n_times=n_times, scheme="midpoint")
    q = jnp.asarray(rng.uniform(0.2, 2.0, size=(n_times, 3, 3)))
    mu0 = dirichlet(rng, 3)
    eq = bm.equilibrium(game, {"q": q, "c": 0.0}, mu0)
    applied = step_rates(game, eq.value, eq.mu, game.params(q=q, c=0.0))
    mu = mu0
    for n in range(n_times - 1):
        qm = 0.5 * (q[n] + q[n + 1]) * (1 - jnp.eye(3))
        mu = mu @ jax.scipy.linalg.expm(game.dt * (qm - jnp.diag(qm.sum(1))))
        np.testing.assert_allclose(eq.mu[n + 1], mu, atol=1e-13)
        np.testing.assert_allclose(applied[n], qm, atol=1e-13)  # the rates the step applied
        np.testing.assert_allclose(eq.rates[n], q[n] * (1 - np.eye(3)), atol=1e-13)  # the players' rates at t_n


@pytest.mark.parametrize("scheme", ["midpoint", "patankar"])
def test_lq32_mass_positivity_and_gradients_match_finite_differences(scheme):
    """The seed paper's LQ d = 32 (where explicit Euler leaves the simplex) solves with the
    second-order schemes; mass is conserved, the flow non-negative, the implicit gradient exact."""
    rng = np.random.default_rng(5)
    game = bm.games.LinearQuadratic(n_states=32, scheme=scheme)
    mu0 = dirichlet(rng, 32)
    eq = bm.equilibrium(game, {"gamma": 1.55}, mu0, solver=TIGHT)
    assert bool(eq.converged) and float(eq.info.max_jump_probability) > 1.0
    assert float(jnp.min(eq.mu)) >= 0.0
    np.testing.assert_allclose(jnp.sum(eq.mu, axis=1), 1.0, atol=1e-13)

    w = jnp.asarray(rng.normal(size=(game.n_times, 32)))

    @jax.jit
    def loss(gamma):
        return jnp.sum(w * bm.equilibrium(game, game.params(gamma=gamma), mu0, solver=TIGHT).mu)

    h = 1e-5
    g = float(jax.grad(loss)(1.55))
    fd = float((loss(1.55 + h) - loss(1.55 - h)) / (2 * h))
    assert abs(fd) > 1e-4
    assert abs(g - fd) <= 1e-6 * abs(fd), (g, fd)


def test_patankar_step_is_mprk22():
    """With rates that do not depend on the value (mobility, c = 0) one step is, by hand:
    ``m = mu (I - dt Q(q_n))^-1``, ``R = (mu / m * q_n + q_{n+1}) / 2``, ``mu' = mu (I - dt Q(R))^-1``."""
    rng = np.random.default_rng(4)
    n_times = 6
    game = bm.games.MobilityNetwork(n_states=3, n_times=n_times, scheme="patankar")
    q = np.asarray(rng.uniform(0.2, 3.0, size=(n_times, 3, 3))) * (1 - np.eye(3))
    mu0 = np.asarray(dirichlet(rng, 3))
    eq = bm.equilibrium(game, {"q": jnp.asarray(q), "c": 0.0}, jnp.asarray(mu0))
    applied = step_rates(game, eq.value, eq.mu, game.params(q=jnp.asarray(q), c=0.0))

    def generator(r):
        return r - np.diag(r.sum(1))

    mu, dt = mu0, game.dt
    for n in range(n_times - 1):
        m = np.linalg.solve((np.eye(3) - dt * generator(q[n])).T, mu)
        r = 0.5 * ((mu / m)[:, None] * q[n] + q[n + 1])
        mu = np.linalg.solve((np.eye(3) - dt * generator(r)).T, mu)
        np.testing.assert_allclose(eq.mu[n + 1], mu, atol=1e-13)
        np.testing.assert_allclose(applied[n], r, atol=1e-13)
        np.testing.assert_allclose(eq.rates[n], q[n], atol=1e-13)
    # a large step (dt * rate = 15) stays a distribution
    big = bm.games.MobilityNetwork(n_states=3, n_times=3, horizon=10.0, scheme="patankar")
    eq = bm.equilibrium(big, {"q": jnp.asarray(q[:3]), "c": 0.0}, jnp.asarray(mu0))
    assert float(jnp.min(eq.mu)) >= 0.0
    np.testing.assert_allclose(jnp.sum(eq.mu, axis=1), 1.0, atol=1e-14)


def test_patankar_on_neighbour_rates():
    """The Patankar scheme needs only the structure's solves: it runs on neighbour rates."""
    mu0 = jnp.array([0.4, 0.1, 0.2, 0.2, 0.1])
    errs = []
    ref = bm.equilibrium(bm.games.NeighbourLinearQuadratic.ring(5, n_times=801, scheme="patankar"), {"gamma": 1.2},
                         mu0, solver=TIGHT)
    for n in (25, 50, 100):
        eq = bm.equilibrium(bm.games.NeighbourLinearQuadratic.ring(5, n_times=n + 1, scheme="patankar"),
                            {"gamma": 1.2}, mu0, solver=TIGHT)
        assert bool(eq.converged) and float(jnp.min(eq.mu)) >= 0.0
        np.testing.assert_allclose(jnp.sum(eq.mu, axis=1), 1.0, atol=1e-13)
        errs.append(float(jnp.max(jnp.abs(eq.value - ref.value[:: 800 // n]))))
    assert errs[0] / errs[1] > 3.0 and errs[1] / errs[2] > 3.0, errs


@pytest.mark.parametrize("scheme", ["midpoint", "patankar"])
def test_second_order_flows_balance_and_refusals(scheme):
    game = bm.games.SIR(n_times=41, horizon=40.0, scheme=scheme)
    params = game.params(beta=0.6, gamma=0.2)
    eq = bm.equilibrium(game, params, jnp.array([0.98, 0.02, 0.0]))
    f = np.asarray(bm.engine.transition_flows(game, eq, params))
    balance = f.sum(axis=1) - f.sum(axis=2)
    np.testing.assert_allclose(balance, np.diff(np.asarray(eq.mu), axis=0), atol=1e-13)
    assert as_scheme("midpoint") == ExponentialMidpoint() and ExponentialMidpoint.order == 2
    assert as_scheme("patankar") == Patankar() and Patankar.order == 2
    with pytest.raises(ValueError, match="'midpoint' needs dense rates"):
        bm.games.NeighbourLinearQuadratic.ring(5, n_times=30, scheme="midpoint")


def test_patankar_gradient_stays_finite_when_a_state_empties():
    """Vaccination empties S (its mass falls to 1e-285): the Patankar weights mu_n / m of an
    empty state must not turn the gradient into NaN (it did before the weights had a floor)."""
    game = bm.games.SIR(horizon=40.0, n_times=41, scheme="patankar")
    mu0 = jnp.array([0.6, 0.05, 0.35])
    v = np.full(41, 0.05)

    def infections(beta):
        p = game.params(beta=beta, gamma=0.2, c_infected=0.0, vaccination=v)
        return bm.engine.transition_flows(game, bm.equilibrium(game, p, mu0, solver=TIGHT), p)[:, 0, 1].sum()

    p = game.params(beta=0.5, gamma=0.2, c_infected=0.0, vaccination=v)
    assert float(bm.equilibrium(game, p, mu0).mu[-1, 0]) < 1e-100
    g = float(jax.grad(infections)(0.5))
    fd = (float(infections(0.5 + 1e-6)) - float(infections(0.5 - 1e-6))) / 2e-6
    assert np.isfinite(g) and abs(g - fd) <= 1e-6 * abs(fd), (g, fd)
