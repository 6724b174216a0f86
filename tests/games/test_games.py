"""The four reference games: formulas, best responses, parameter handling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import dirichlet

import bayes_mfg as bm
from bayes_mfg.games.cybersecurity import DI, DS, UI, US


def hamiltonian(game, u, mu, p, rates):
    """f(x, a, mu) + sum_y a[x, y] (u(y) - u(x)) for given rates (closed-form games)."""
    d = game.n_states
    off = 1 - jnp.eye(d)
    du = u[None, :] - u[:, None]
    if isinstance(game, bm.games.LinearQuadratic):
        f = p["gamma"] * jnp.sum(off * (rates - p["base_rate"]) ** 2, 1) + p["congestion"] * mu
    elif isinstance(game, bm.games.MobilityNetwork):
        q = p["q"] * off
        f = p["b"] * jnp.sum(off * (rates - q) ** 2, 1) + p["c"] * (rates * off) @ mu
    return f + jnp.sum(off * rates * du, 1)


@pytest.mark.parametrize(
    "game", [bm.games.LinearQuadratic(n_states=5), bm.games.MobilityNetwork(n_states=4)], ids=["lq", "mobility"]
)
def test_closed_form_best_response_minimises_hamiltonian(game, rng):
    params = game.params(**({"c": 0.7} if isinstance(game, bm.games.MobilityNetwork) else {}))
    p = game.at_step(params, 0)
    u = jnp.asarray(rng.normal(scale=3.0, size=game.n_states))
    mu = dirichlet(rng, game.n_states)
    c = game.control(u, mu, p)
    h_star = hamiltonian(game, u, mu, p, c.rates)
    np.testing.assert_allclose(c.cost + jnp.sum(c.rates * (u[None] - u[:, None]), 1), h_star, rtol=1e-12)
    for _ in range(50):
        other = jnp.clip(c.rates + jnp.asarray(rng.normal(scale=0.3, size=c.rates.shape)), 0.0, 100.0)
        assert np.all(hamiltonian(game, u, mu, p, other) >= h_star - 1e-12)


def test_lq_formulas_match_reference(rng):
    game = bm.games.LinearQuadratic(n_states=4)
    p = game.at_step(game.params(gamma=0.5), 0)
    u = jnp.array([0.0, 1.0, -3.0, 500.0])
    mu = jnp.array([0.1, 0.2, 0.3, 0.4])
    c = game.control(u, mu, p)
    expected = np.clip(2.0 - (u[None, :] - u[:, None]) / (2 * 0.5), 0, 100) * (1 - np.eye(4))
    np.testing.assert_allclose(c.rates, expected)
    assert c.rates[0, 3] == 0.0 and c.rates[3, 0] == 100.0  # both clips active
    np.testing.assert_allclose(game.terminal_cost(mu, p), 5.0 * np.array([3, 2, 1, 0]) + mu)


def test_cybersecurity_rates_and_argmin():
    game = bm.games.Cybersecurity()
    p = game.at_step(game.params(), 0)
    mu = jnp.array([0.1, 0.2, 0.3, 0.4])
    rates = game.action_rates(mu, p)
    assert rates.shape == (2, 4, 4)
    np.testing.assert_allclose(rates[0, DS, DI], 0.6 * 0.4 + 0.4 * 0.1 + 0.4 * 0.3)
    np.testing.assert_allclose(rates[0, US, UI], 0.6 * 0.3 + 0.3 * 0.3 + 0.3 * 0.1)
    np.testing.assert_allclose(rates[0, DI, DS], 0.5)
    np.testing.assert_allclose(rates[1, DI, UI] - rates[0, DI, UI], 0.8)
    # Switching is chosen exactly when the other defence status has a lower value.
    u = jnp.array([1.0, 0.0, 2.0, -1.0])  # DI prefers staying (UI worse), DS prefers switching (US better)
    pi = game.policy(u, mu, p)
    np.testing.assert_array_equal(pi[1], jnp.array([0.0, 1.0, 1.0, 0.0]))
    soft = bm.games.Cybersecurity(temperature=1e-3).policy(u, mu, p)
    np.testing.assert_allclose(soft, pi, atol=1e-12)
    warm = bm.games.Cybersecurity(temperature=10.0).policy(u, mu, p)
    assert np.all((warm > 0.4) & (warm < 0.6))


def test_sir_effort_closed_form():
    game = bm.games.SIR()
    p = game.at_step(game.params(beta=0.5, gamma=0.1), 0)
    mu = jnp.array([0.7, 0.2, 0.1])
    u = jnp.array([0.0, 3.0, 0.0])  # being infected is worse: effort reduces contacts
    alpha = game.effort(u, mu, p)
    np.testing.assert_allclose(alpha, 1 - 0.5 * 0.2 * 3.0 / 1.0)
    grid = jnp.linspace(0, 1, 2001)
    h = 0.5 * (1 - grid) ** 2 + 0.5 * grid * 0.2 * (u[1] - u[0])
    assert abs(float(grid[jnp.argmin(h)]) - float(alpha)) < 1e-3
    c = game.control(u, mu, p)
    np.testing.assert_allclose(c.rates[0, 1], 0.5 * alpha * 0.2)
    np.testing.assert_allclose(c.rates[1, 2], 0.1)
    np.testing.assert_allclose(c.cost, [0.5 * (1 - alpha) ** 2, 0.1, 0.0])


@pytest.mark.parametrize("scheme", ["implicit", "exponential", "midpoint"])
def test_mobility_without_congestion_is_the_no_game_baseline(rng, scheme):
    game = bm.games.MobilityNetwork(n_states=4, scheme=scheme)
    q = jnp.asarray(rng.uniform(0.1, 1.0, size=(4, 4)))
    mu0 = dirichlet(rng, 4)
    eq = bm.equilibrium(game, {"q": q, "c": 0.0}, mu0)
    assert bool(eq.info.converged)
    np.testing.assert_array_equal(eq.value, 0.0)
    np.testing.assert_allclose(eq.rates, jnp.broadcast_to(q * (1 - jnp.eye(4)), eq.rates.shape), atol=1e-14)
    # ... and the distribution follows the linear forward equation with rates q.
    Q = q * (1 - jnp.eye(4))
    Q = Q - jnp.diag(Q.sum(1))
    if scheme in ("exponential", "midpoint"):  # constant rates: the midpoint step is the exponential one
        step = jax.scipy.linalg.expm(game.dt * Q)
    else:
        step = jnp.linalg.inv(jnp.eye(4) - game.dt * Q)
    expected = mu0 @ jnp.linalg.matrix_power(step, game.n_times - 1)
    np.testing.assert_allclose(eq.mu[-1], expected, atol=1e-12)


def test_params_broadcast_and_paths():
    game = bm.games.LinearQuadratic(n_states=3, n_times=10)
    p = game.params(gamma=2.0)
    assert p["gamma"].shape == (10,) and p["congestion"].shape == (10,)
    path = jnp.linspace(0.5, 1.5, 10)
    np.testing.assert_array_equal(game.params(gamma=path)["gamma"], path)
    m = bm.games.MobilityNetwork(n_states=3, n_times=7).params()
    assert m["q"].shape == (7, 3, 3)
    assert game.state_names == ("s0", "s1", "s2")
    assert bm.games.Cybersecurity().state_names == ("DI", "DS", "UI", "US")
    np.testing.assert_allclose(game.time_grid[-1], 2.0)
    assert game.dt == pytest.approx(2.0 / 9)


def test_games_are_hashable_values():
    a = bm.games.LinearQuadratic(n_states=3)
    b = bm.games.LinearQuadratic(n_states=3)
    assert a == b and hash(a) == hash(b)
    assert a != bm.games.LinearQuadratic(n_states=3, scheme="euler")
