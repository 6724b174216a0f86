"""Extension points: a new solver, a new scheme and a new game family defined here, outside
the package, solve and differentiate through the unchanged engine (issue 22's must-show)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bayes_mfg as bm
from bayes_mfg.engine import AbstractSolver, Family, Solution, register_family
from bayes_mfg.games import MeanFieldGame, ParameterSpec
from bayes_mfg.stepping import Scheme

MU0 = jnp.array([0.5, 0.3, 0.2])


# ------------------------------------------------------------------ a new solver
class HalvingState(NamedTuple):
    x: jax.Array
    gx: jax.Array
    residual: jax.Array
    best_x: jax.Array
    best_residual: jax.Array
    iteration: jax.Array
    n_evals: jax.Array


@dataclass(frozen=True)
class Halving(AbstractSolver):
    """x <- (x + G(x)) / 2 (a damped Picard written from scratch: no library helper)."""

    tol: float | None = None
    max_iter: int = 500

    def init(self, fn, x0, args):
        gx = fn(x0, args)
        r = jnp.max(jnp.abs(gx - x0))
        zero = jnp.zeros((), jnp.int32)
        return HalvingState(x0, gx, r, x0, r, zero, zero + 1)

    def step(self, fn, state, args):
        x = 0.5 * (state.x + state.gx)
        gx = fn(x, args)
        r = jnp.max(jnp.abs(gx - x))
        better = r < state.best_residual
        return HalvingState(x, gx, r, jnp.where(better, x, state.best_x), jnp.minimum(r, state.best_residual),
                            state.iteration + 1, state.n_evals + 1)


def test_a_solver_defined_outside_solves_and_differentiates():
    game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    eq = bm.equilibrium(game, {"gamma": 1.55}, MU0, solver=Halving())
    ref = bm.equilibrium(game, {"gamma": 1.55}, MU0)
    assert bool(eq.converged) and int(eq.info.iterations) > int(ref.info.iterations)
    np.testing.assert_allclose(eq.mu, ref.mu, atol=1e-9)

    def loss(gamma, solver):
        return bm.equilibrium(game, {"gamma": gamma}, MU0, solver=solver).mu[-1, 0]

    g = jax.grad(loss)(1.55, Halving())
    np.testing.assert_allclose(g, jax.grad(loss)(1.55, bm.Anderson()), rtol=1e-7)
    fd = (loss(1.55 + 1e-6, Halving()) - loss(1.55 - 1e-6, Halving())) / 2e-6
    np.testing.assert_allclose(g, fd, rtol=1e-5)


# ------------------------------------------------------------------ a new scheme
@dataclass(frozen=True)
class CrankNicolson(Scheme):
    """The trapezoidal rule on the frozen-rate linear ODEs (dense rates), written here."""

    def backward(self, structure, u_next, rates, cost, dt):
        q = bm.stepping.generator(rates)
        eye = jnp.eye(q.shape[0], dtype=q.dtype)
        return jnp.linalg.solve(eye - 0.5 * dt * q, (eye + 0.5 * dt * q) @ u_next + dt * cost)

    def forward(self, structure, mu, rates, dt):
        q = bm.stepping.generator(rates)
        eye = jnp.eye(q.shape[0], dtype=q.dtype)
        return jnp.linalg.solve((eye - 0.5 * dt * q).T, mu @ (eye + 0.5 * dt * q))


def test_a_scheme_defined_outside_solves_and_differentiates():
    game = bm.games.LinearQuadratic(n_states=3, n_times=40, scheme=CrankNicolson())
    eq = bm.equilibrium(game, {"gamma": 1.55}, MU0)
    assert bool(eq.converged)
    np.testing.assert_allclose(eq.mu.sum(axis=1), 1.0, atol=1e-12)
    # a different discretisation of the same game: close to the implicit one, not equal
    implicit = bm.equilibrium(bm.games.LinearQuadratic(n_states=3, n_times=40), {"gamma": 1.55}, MU0)
    gap = float(jnp.max(jnp.abs(eq.mu - implicit.mu)))
    assert 1e-6 < gap < 5e-2

    def loss(gamma):
        return bm.equilibrium(game, {"gamma": gamma}, MU0).mu[-1, 0]

    fd = (loss(1.55 + 1e-6) - loss(1.55 - 1e-6)) / 2e-6
    np.testing.assert_allclose(jax.grad(loss)(1.55), fd, rtol=1e-5)


# ------------------------------------------------------------------ a new game family
@dataclass(frozen=True)
class Imitation(MeanFieldGame):
    """A toy family with no value function: a population imitating the crowd.

    G(mu)_{n+1} = (1 - rate) G(mu)_n + rate * softmax(beta * mu_n), G(mu)_0 = mu0; the map
    is a contraction in mu for small beta, so the fixed point is unique.
    """

    n_states: int = 3
    horizon: float = 1.0
    n_times: int = 10

    def parameter_specs(self):
        return {"beta": ParameterSpec((), 1.0, None, "imitation strength"),
                "rate": ParameterSpec((), 0.3, 0.0, "mixing rate")}


class ImitationFamily(Family):
    def best_response_map(self, game, mu, params, mu0):
        def step(m, xs):
            mu_n, b, r = xs
            return (1 - r) * m + r * jax.nn.softmax(b * mu_n), None

        return bm.engine.sweep(step, mu0, (mu[:-1], params["beta"][:-1], params["rate"][:-1]))[0]

    def solution(self, game, mu, params, mu0):
        zero = jnp.zeros((), mu.dtype)
        return Solution(jnp.zeros_like(mu), None, None, zero, jnp.zeros((), bool))


register_family(Imitation, ImitationFamily())


def test_a_game_family_defined_outside_solves_and_differentiates():
    game = Imitation()
    eq = bm.equilibrium(game, {"beta": 2.0}, MU0)
    assert bool(eq.converged) and eq.rates is None
    np.testing.assert_allclose(bm.best_response_map(game, eq.mu, game.params(beta=2.0), MU0), eq.mu, atol=1e-10)

    def loss(beta):
        return bm.equilibrium(game, {"beta": beta}, MU0).mu[-1, 0]

    fd = (loss(2.0 + 1e-6) - loss(2.0 - 1e-6)) / 2e-6
    g = jax.grad(loss)(2.0)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    unrolled = jax.grad(lambda b: bm.equilibrium(game, {"beta": b}, MU0, solver=bm.Picard(),
                                                 adjoint=bm.Unrolled(n_iter=200)).mu[-1, 0])(2.0)
    np.testing.assert_allclose(g, unrolled, rtol=1e-8)


def test_exploitability_is_the_familys_own_and_optional():
    game = Imitation()
    eq = bm.equilibrium(game, {"beta": 2.0}, MU0)
    with pytest.raises(NotImplementedError, match="ImitationFamily does not define exploitability"):
        bm.exploitability(game, {"beta": 2.0}, MU0, eq)

    class Scored(ImitationFamily):
        """Scores a path by its distance from the best response to it."""

        def exploitability(self, game, params, mu0, policy, regularised):
            return jnp.sum(jnp.abs(self.best_response_map(game, policy.mu, params, mu0) - policy.mu))

    @dataclass(frozen=True)
    class ScoredImitation(Imitation):
        pass

    register_family(ScoredImitation, Scored())
    scored = ScoredImitation()
    at_fixed_point = bm.exploitability(scored, {"beta": 2.0}, MU0, bm.equilibrium(scored, {"beta": 2.0}, MU0))
    off = bm.exploitability(scored, {"beta": 2.0}, MU0, bm.equilibrium(scored, {"beta": 0.0}, MU0))
    assert float(at_fixed_point) < 1e-9 < 1e-3 < float(off)


def test_a_game_without_a_family_is_refused_by_name():
    @dataclass(frozen=True)
    class Orphan(Imitation.__mro__[1]):  # MeanFieldGame, no family registered
        n_states: int = 2
        horizon: float = 1.0
        n_times: int = 3

        def parameter_specs(self):
            return {}

    with pytest.raises(TypeError, match="no game family is registered for Orphan"):
        bm.equilibrium(Orphan(), {}, [0.5, 0.5])
