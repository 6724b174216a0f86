"""Every solver reaches the same equilibrium on every case of the shared catalogue."""

import jax.numpy as jnp
import numpy as np
import pytest
from cases import CASES

import bayes_mfg as bm

SOLVERS = {
    "anderson": lambda game: bm.engine.default_solver(game, tol=1e-12, max_iter=500),
    "picard(0.5)": lambda game: bm.Picard(damping=0.5, tol=1e-12, max_iter=5000),
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_solvers_agree_and_the_residual_is_what_they_report(case):
    ref = None
    for name, make in SOLVERS.items():
        eq = bm.equilibrium(case.game, case.params, case.mu0, solver=make(case.game))
        assert bool(eq.converged), (case.id, name, eq.message())
        params = case.game.params(**case.params)
        g = bm.best_response_map(case.game, eq.mu, params, jnp.asarray(case.mu0))
        residual = float(jnp.max(jnp.abs(g - eq.mu)))
        assert residual <= 1e-12 and residual == pytest.approx(float(eq.info.residual), abs=1e-13), (case.id, name)
        np.testing.assert_allclose(eq.mu.sum(axis=-1), 1.0, atol=1e-12)
        if ref is None:
            ref = eq.mu
        else:
            np.testing.assert_allclose(eq.mu, ref, atol=1e-10, err_msg=f"{case.id}: {name} vs anderson")
