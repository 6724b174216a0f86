"""Implicit gradients of the equilibrium: finite differences, unrolled autodiff, hard cases."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import GRADIENT_CASES
from conftest import dirichlet

import bayes_mfg as bm
from bayes_mfg.engine import best_response_map

TIGHT = bm.Anderson(tol=1e-13, max_iter=400)
H = 1e-5


def gradient_cases():
    # lq8 under -m slow (CI budget, ~45 s): lq3 checks the same game in the default suite
    return [pytest.param(tuple(c), marks=pytest.mark.slow, id=c[0]) if c[0] == "lq8" else tuple(c) for c in GRADIENT_CASES]


def make_loss(game, weights, solver=TIGHT, adjoint=None):
    @jax.jit
    def loss(params, mu0):
        eq = bm.equilibrium(game, params, mu0, solver=solver, adjoint=adjoint)
        return jnp.sum(weights * eq.mu) + 0.1 * jnp.sum(eq.mu[-1] ** 2)

    return loss


def directional_fd(loss, params, mu0, d_params, d_mu0, h=H):
    plus = {k: params[k] + h * d_params.get(k, 0.0) for k in params}
    minus = {k: params[k] - h * d_params.get(k, 0.0) for k in params}
    return (loss(plus, mu0 + h * d_mu0) - loss(minus, mu0 - h * d_mu0)) / (2 * h)


def directional_grad(grads, d_params, d_mu0):
    g_params, g_mu0 = grads
    return sum(jnp.sum(g_params[k] * v) for k, v in d_params.items()) + jnp.sum(g_mu0 * d_mu0)


@pytest.mark.parametrize("case", gradient_cases(), ids=lambda c: c[0])
def test_implicit_gradient_matches_finite_differences_and_unrolled(case):
    name, game, base, scalar, other, mu0 = case
    rng = np.random.default_rng(11)
    params = game.params(**base)
    weights = jnp.asarray(rng.normal(size=(game.n_times, game.n_states)))
    loss = make_loss(game, weights)
    eq = bm.equilibrium(game, params, mu0, solver=TIGHT)
    assert float(eq.info.residual) <= 1e-13

    grads = jax.grad(loss, argnums=(0, 1))(params, mu0)
    zero_mu0 = jnp.zeros_like(mu0)
    tangent = jnp.asarray(rng.normal(size=mu0.shape))
    tangent = tangent - tangent.mean()  # stays on the simplex
    directions = {
        f"constant {scalar}": ({scalar: jnp.ones_like(params[scalar])}, zero_mu0),
        f"path {scalar}(t)": ({scalar: jnp.asarray(rng.normal(size=params[scalar].shape))}, zero_mu0),
        f"game parameter {other}": ({other: jnp.ones_like(params[other])}, zero_mu0),
        "mu0": ({}, tangent),
    }
    for label, (dp, dm) in directions.items():
        g = float(directional_grad(grads, dp, dm))
        fd = float(directional_fd(loss, params, mu0, dp, dm))
        assert abs(fd) > 1e-6, (name, label, fd)  # a meaningful derivative
        assert abs(g - fd) <= 1e-6 * abs(fd), f"{name} {label}: implicit {g!r} vs finite difference {fd!r}"

    # autodiff through an unrolled, converged solve (damped Picard, run far past convergence)
    unrolled = make_loss(game, weights, solver=bm.Picard(damping=0.3), adjoint=bm.Unrolled(n_iter=150))
    g_unrolled = jax.grad(unrolled, argnums=(0, 1))(params, mu0)
    for a, b in zip(jax.tree_util.tree_leaves(grads), jax.tree_util.tree_leaves(g_unrolled)):
        scale = float(jnp.max(jnp.abs(b))) + 1e-300
        assert float(jnp.max(jnp.abs(a - b))) <= 1e-8 * max(scale, 1.0), name


def spectral_radius(game, params, mu):
    p = game.params(**params)
    jac = jax.jacfwd(lambda x: best_response_map(game, x, p, mu[0]))(mu)
    n = mu.size
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(jac).reshape(n, n)))))


# ~55 s: under -m slow (CI budget); test_neumann_gradient_is_flagged_when_it_diverges stays
@pytest.mark.slow
def test_adjoint_exact_where_plain_neumann_iteration_diverges():
    """LQ with strong terminal congestion: the Picard map oscillates, rho(dG/dmu) > 1."""
    game = bm.games.LinearQuadratic(n_states=3)
    mu0 = jnp.array([0.5, 0.3, 0.2])
    params = game.params(terminal_congestion=20.0)
    weights = jnp.asarray(np.random.default_rng(3).normal(size=(100, 3)))
    eq = bm.equilibrium(game, params, mu0, solver=TIGHT)
    rho = spectral_radius(game, params, eq.mu)
    assert rho > 1.1

    neumann = bm.ImplicitAdjoint(linear_solver="neumann", on_failure="ignore")
    info = bm.adjoint_info(game, eq, params, mu0, weights, neumann)
    assert not bool(info.converged)
    assert not float(info.relative_residual) < 1.0  # diverged (inf or growing), not just slow
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the default adjoint must not warn
        good = bm.adjoint_info(game, eq, params, mu0, weights)
    assert bool(good.converged) and float(good.relative_residual) <= 1e-10

    loss = make_loss(game, weights)
    g = jax.grad(loss)(params, mu0)
    d = {"gamma": jnp.ones(100)}
    fd = float(directional_fd(loss, params, mu0, d, jnp.zeros(3)))
    assert abs(float(jnp.sum(g["gamma"])) - fd) <= 1e-6 * abs(fd)
    for solver in ("bicgstab",):
        g2 = jax.grad(make_loss(game, weights, adjoint=bm.ImplicitAdjoint(linear_solver=solver)))(params, mu0)
        np.testing.assert_allclose(g2["gamma"], g["gamma"], rtol=1e-7, atol=1e-12)
    unrolled = make_loss(game, weights, solver=bm.Picard(damping=0.5), adjoint=bm.Unrolled(n_iter=200))
    g3 = jax.grad(unrolled)(params, mu0)
    np.testing.assert_allclose(g3["gamma"], g["gamma"], rtol=0, atol=1e-8 * float(jnp.max(jnp.abs(g["gamma"]))))


def test_neumann_gradient_is_flagged_when_it_diverges():
    game = bm.games.LinearQuadratic(n_states=3)
    mu0 = jnp.array([0.5, 0.3, 0.2])
    weights = jnp.asarray(np.random.default_rng(3).normal(size=(100, 3)))
    nan_policy = make_loss(game, weights, adjoint=bm.ImplicitAdjoint(linear_solver="neumann", on_failure="nan"))
    g = jax.grad(nan_policy)(game.params(terminal_congestion=20.0), mu0)
    assert bool(jnp.all(jnp.isnan(g["gamma"])))  # flagged, not silently wrong
    warn_policy = make_loss(game, weights, adjoint=bm.ImplicitAdjoint(linear_solver="neumann"))
    with pytest.warns(RuntimeWarning, match="adjoint solve did not converge"):
        jax.block_until_ready(jax.grad(warn_policy)(game.params(terminal_congestion=20.0), mu0))


def test_gradient_of_unconverged_forward_solve_is_flagged():
    game = bm.games.LinearQuadratic(n_states=3)
    mu0 = jnp.array([0.5, 0.3, 0.2])
    loss = make_loss(
        game, jnp.ones((100, 3)), solver=bm.Picard(max_iter=2), adjoint=bm.ImplicitAdjoint(on_failure="nan")
    )
    g = jax.grad(loss)(game.params(terminal_congestion=20.0), mu0)
    assert bool(jnp.all(jnp.isnan(g["gamma"])))


@pytest.mark.slow  # 30-50 s in CI (suite budget); run with -m slow
def test_gradients_under_vmap_and_jit_match_single_solves():
    game = bm.games.LinearQuadratic(n_states=4)
    rng = np.random.default_rng(5)
    mu0s = jnp.stack([dirichlet(rng, 4, 2.0) for _ in range(3)])
    weights = jnp.asarray(rng.normal(size=(100, 4)))
    loss = make_loss(game, weights)

    def batch_loss(gamma):
        return jnp.sum(jax.vmap(lambda m: loss(game.params(gamma=gamma), m))(mu0s))

    g_batch = jax.jit(jax.grad(batch_loss))(1.3)
    g_single = sum(jax.grad(lambda gm, m=m: loss(game.params(gamma=gm), m))(1.3) for m in mu0s)
    np.testing.assert_allclose(g_batch, g_single, rtol=1e-10)
    # the solve nested inside a larger differentiated program (a solve feeding a solve)
    def chained(gamma):
        first = bm.equilibrium(game, {"gamma": gamma}, mu0s[0], solver=TIGHT)
        second = bm.equilibrium(game, {"gamma": gamma}, first.mu[-1], solver=TIGHT)
        return jnp.sum(weights * second.mu)

    g = float(jax.grad(chained)(1.3))
    fd = float((chained(1.3 + H) - chained(1.3 - H)) / (2 * H))
    assert abs(g - fd) <= 1e-6 * abs(fd)


def test_gradient_of_value_and_rates(rng):
    """Outputs computed from mu* (value, rates) are differentiable too."""
    game = bm.games.SIR()
    mu0 = jnp.array([0.97, 0.03, 0.0])

    @jax.jit
    def loss(beta):
        eq = bm.equilibrium(game, {"beta": beta}, mu0, solver=TIGHT)
        return jnp.sum(eq.value[0]) + jnp.sum(eq.rates[:, 0, 1])

    g = float(jax.grad(loss)(0.45))
    fd = float((loss(0.45 + H) - loss(0.45 - H)) / (2 * H))
    assert abs(g - fd) <= 1e-6 * abs(fd)
