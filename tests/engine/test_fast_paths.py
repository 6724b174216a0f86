"""The fast paths give the reference path's equilibrium (1e-10) and gradients (1e-8).

Fast paths checked here: neighbour-structured (sparse) rates against the same game with
dense (d, d) rates; the unrolled small-d elimination against LAPACK; a vmapped batch of
trajectories against one solve per trajectory; a warm start against a cold start; float32
opt-in.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bayes_mfg as bm
from bayes_mfg.engine import dense_rates
from bayes_mfg.games.base import Control, Game
from bayes_mfg.stepping import m_matrix_solve, neighbour_solve

TIGHT = dict(solver=bm.Anderson(tol=1e-13, max_iter=300), adjoint=bm.ImplicitAdjoint(tol=1e-13))


@dataclass(frozen=True)
class DenseTwin(Game):
    """The same game as ``base`` with its neighbour-structured rates expanded to (d, d)."""

    base: Game

    @property
    def n_states(self):  # type: ignore[override]
        return self.base.n_states

    @property
    def horizon(self):  # type: ignore[override]
        return self.base.horizon

    @property
    def n_times(self):  # type: ignore[override]
        return self.base.n_times

    @property
    def scheme(self):  # type: ignore[override]
        return self.base.scheme

    def parameter_specs(self):
        return self.base.parameter_specs()

    def control(self, u, mu, p):
        c = self.base.control(u, mu, p)
        return Control(dense_rates(self.base, c.rates[None])[0], c.cost)

    def terminal_cost(self, mu, p):
        return self.base.terminal_cost(mu, p)


def _mu0(d, seed=0):
    return jnp.asarray(np.random.default_rng(seed).dirichlet(np.ones(d)))


# an irregular graph: a ring with chords and one state of out-degree 1 (padding in the table)
IRREGULAR = ((1, 7), (2,), (3, 0, 5), (4,), (5, 1), (6,), (7, 2), (0, 4))


@pytest.mark.parametrize("graph, scheme", [("torus", "implicit"), ("irregular", "euler")])
def test_neighbour_game_matches_its_dense_twin(graph, scheme):
    if graph == "torus":
        game = bm.games.NeighbourLinearQuadratic.torus(3, 4, n_times=30, scheme=scheme)
    else:
        game = bm.games.NeighbourLinearQuadratic(moves=IRREGULAR, target=3, n_times=30, scheme=scheme)
    twin = DenseTwin(game)
    assert twin.neighbours is None and game.neighbours is not None
    d = game.n_states
    mu0 = _mu0(d)
    weights = jnp.asarray(np.random.default_rng(1).normal(size=(game.n_times, d)))

    def loss(g, theta, m0):
        eq = bm.equilibrium(g, {"gamma": theta[0], "base_rate": theta[1], "congestion": theta[2]}, m0, **TIGHT)
        return jnp.sum(weights * eq.mu), eq

    theta = jnp.array([1.2, 1.5, 0.4])
    (_, eq_sparse), g_sparse = jax.value_and_grad(loss, argnums=(1, 2), has_aux=True)(game, theta, mu0)
    (_, eq_dense), g_dense = jax.value_and_grad(loss, argnums=(1, 2), has_aux=True)(twin, theta, mu0)
    assert bool(eq_sparse.converged) and bool(eq_dense.converged)
    np.testing.assert_allclose(eq_sparse.mu, eq_dense.mu, rtol=0, atol=1e-10)
    np.testing.assert_allclose(eq_sparse.value, eq_dense.value, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dense_rates(game, eq_sparse.rates), eq_dense.rates, rtol=0, atol=1e-10)
    for gs, gd in zip(g_sparse, g_dense):
        np.testing.assert_allclose(gs, gd, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("transpose", [False, True])
def test_neighbour_solve_and_its_derivatives_match_a_dense_solve(transpose):
    game = bm.games.NeighbourLinearQuadratic(moves=IRREGULAR, n_times=5)
    nbr, d = game.neighbours, game.n_states
    rng = np.random.default_rng(2)
    rates = jnp.asarray(rng.uniform(0.0, 30.0, nbr.shape))  # dt * out-rate up to 60: r close to 1
    b = jnp.asarray(rng.uniform(size=d))
    dt = 1.0

    def dense(rates, b):
        a = dense_rates(game, rates[None])[0]
        m = jnp.eye(d) - dt * (a - jnp.diag(a.sum(1)))
        return jnp.linalg.solve(m.T if transpose else m, b)

    def sparse(rates, b):
        return neighbour_solve(rates * (nbr != np.arange(d)[:, None]), nbr, dt, b, transpose)

    np.testing.assert_allclose(sparse(rates, b), dense(rates, b), rtol=1e-13, atol=0)
    w = jnp.asarray(rng.normal(size=d))
    gs = jax.grad(lambda r, b: w @ sparse(r, b), argnums=(0, 1))(rates, b)
    gd = jax.grad(lambda r, b: w @ dense(r, b), argnums=(0, 1))(rates, b)
    for x, y in zip(gs, gd):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-14)


def test_neighbour_gradient_matches_central_differences_and_unrolling():
    game = bm.games.NeighbourLinearQuadratic.ring(6, n_times=20, target=2)
    mu0 = _mu0(6, seed=3)

    def loss(gamma, adjoint=None, solver=None):
        kw = TIGHT if adjoint is None else dict(solver=solver, adjoint=adjoint)
        return jnp.sum(bm.equilibrium(game, {"gamma": gamma}, mu0, **kw).mu[-1] * jnp.arange(6.0))

    g = jax.grad(loss)(1.3)
    h = 1e-5
    fd = (loss(1.3 + h) - loss(1.3 - h)) / (2 * h)
    assert abs(g - fd) <= 1e-6 * abs(fd)
    g_unrolled = jax.grad(lambda x: loss(x, bm.Unrolled(n_iter=80), bm.Picard(damping=0.3)))(1.3)
    assert abs(g - g_unrolled) <= 1e-8 * abs(g)


def test_small_d_elimination_matches_lapack_with_derivatives():
    rng = np.random.default_rng(4)
    d = 7
    rates = jnp.asarray(rng.uniform(0, 5, (d, d)))
    b = jnp.asarray(rng.uniform(size=d))

    def matrix(rates):
        q = rates * (1 - jnp.eye(d))
        return jnp.eye(d) - 0.3 * (q - jnp.diag(q.sum(1)))

    np.testing.assert_allclose(m_matrix_solve(matrix(rates), b), jnp.linalg.solve(matrix(rates), b), rtol=1e-13)
    ga = jax.grad(lambda r: jnp.sum(m_matrix_solve(matrix(r), b) ** 2))(rates)
    gb = jax.grad(lambda r: jnp.sum(jnp.linalg.solve(matrix(r), b) ** 2))(rates)
    np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-15)


# under -m slow (CI budget, ~40 s each): test_gradients_under_vmap_and_jit_match_single_solves covers vmapped solves
@pytest.mark.parametrize("game", [pytest.param(bm.games.LinearQuadratic(n_states=4, n_times=30), marks=pytest.mark.slow),
                                  pytest.param(bm.games.NeighbourLinearQuadratic.ring(5, n_times=30),
                                               marks=pytest.mark.slow)], ids=["dense", "neighbour"])
def test_vmapped_batch_matches_one_solve_per_trajectory(game):
    d = game.n_states
    mu0 = jnp.asarray(np.random.default_rng(5).dirichlet(np.ones(d), 6))
    gammas = jnp.linspace(0.8, 2.0, 6)

    def one(gamma, m0):
        return bm.equilibrium(game, {"gamma": gamma}, m0).mu

    batched = jax.jit(jax.vmap(one))(gammas, mu0)
    looped = jnp.stack([one(g, m) for g, m in zip(gammas, mu0)])
    np.testing.assert_allclose(batched, looped, rtol=0, atol=1e-10)

    def batch_loss(gamma):
        return jnp.sum(jax.vmap(lambda m: one(gamma, m)[-1, 0])(mu0))

    g_batched = jax.grad(batch_loss)(1.4)
    g_looped = sum(jax.grad(lambda g, m=m: one(g, m)[-1, 0])(1.4) for m in mu0)
    np.testing.assert_allclose(g_batched, g_looped, rtol=1e-8)


def test_warm_start_gives_the_cold_start_equilibrium_in_fewer_iterations():
    game = bm.games.LinearQuadratic(n_states=5, n_times=40)
    mu0 = _mu0(5, seed=6)
    cold = bm.equilibrium(game, {"gamma": 1.5}, mu0)
    warm = bm.equilibrium(game, {"gamma": 1.52}, mu0, init=cold.mu)
    ref = bm.equilibrium(game, {"gamma": 1.52}, mu0)
    np.testing.assert_allclose(warm.mu, ref.mu, rtol=0, atol=1e-10)
    assert int(warm.info.n_evaluations) < int(ref.info.n_evaluations)


def test_float32_is_opt_in_and_float64_is_the_default():
    game = bm.games.NeighbourLinearQuadratic.ring(5, n_times=20)
    mu0 = _mu0(5)
    eq64 = bm.equilibrium(game, {"gamma": 1.5}, mu0)
    with pytest.warns(UserWarning, match="solving in float32"):
        eq32 = bm.equilibrium(game, {"gamma": jnp.float32(1.5)}, mu0.astype(jnp.float32))
    assert eq64.mu.dtype == jnp.float64 and eq32.mu.dtype == jnp.float32 and eq32.value.dtype == jnp.float32
    assert bool(eq32.converged)  # to the float32 default tolerance 1e-5
    np.testing.assert_allclose(eq32.mu, eq64.mu, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(moves=((1,), (0,), (0, 3))), r"moves\[2\]"),
        (dict(moves=((1,), (0,)), target=5), "target must be a state"),
        (dict(moves=((1,), (1,))), r"moves\[1\]"),
        (dict(moves=((1,), (0,), (0,)), target=2), "every state must reach target 2"),
        (dict(moves=((1,), (0,)), scheme="exponential"), "scheme must be 'implicit' or 'euler'"),
    ],
)
def test_neighbour_game_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bm.games.NeighbourLinearQuadratic(**kwargs)
    with pytest.raises(TypeError, match="moves must be a tuple"):
        bm.games.NeighbourLinearQuadratic(moves=[[1], [0]])
