"""Compile counts: a repeated call with new values and the same shapes must not trace again.

In the style of BlackJAX's ``tests/test_compilation.py``. Two counters:

* a Python-side counter inside the function we jit (Python runs only while JAX traces), so
  ``count == 1`` after several calls means one trace;
* :func:`jax.monitoring` trace and compile events, which also see every ``jax.jit`` inside
  the library (``bm.equilibrium`` is jitted internally): a warm call must record none.

A retrace costs a compilation (seconds) per call: inside NUTS or SVI that turns a minutes
run into hours, so these counts are part of the contract of the public API.
"""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.infer import SVI, Trace_ELBO
from numpyro.infer.util import log_density

import bayes_mfg as bm

TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def jax_events():
    """``{"traces": [...], "compiles": [...]}``: names of the functions JAX traced/compiled meanwhile."""
    seen = {"traces": [], "compiles": []}

    def listener(event, duration, **kwargs):
        if event == TRACE_EVENT:
            seen["traces"].append(kwargs.get("fun_name"))
        elif event == COMPILE_EVENT:
            seen["compiles"].append(kwargs.get("fun_name"))

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield seen
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def game():
    # a grid no other test uses (17 time points): the first call here must trace, whatever ran
    # before in the same process
    return bm.games.LinearQuadratic(n_states=3, n_times=17)


@pytest.fixture(scope="module")
def data():
    return bm.datasets.simulate(game(), {"gamma": 1.55}, 4, bm.observe.Dirichlet(500.0), seed=0).data


@pytest.fixture(scope="module")
def model():
    return bm.CalibrationModel(game(), {"gamma": dist.LogNormal(0.0, 1.0)}, bm.observe.Dirichlet(500.0))


def test_the_event_counter_sees_traces_and_compiles():
    """Guards the other tests against passing vacuously (e.g. if JAX renamed its events)."""
    f = jax.jit(lambda x: jnp.sin(x) * 2.0)
    with jax_events() as first:
        jax.block_until_ready(f(jnp.ones(5)))
    with jax_events() as again:
        jax.block_until_ready(f(jnp.zeros(5)))
    with jax_events() as new_shape:
        jax.block_until_ready(f(jnp.ones(6)))
    assert len(first["traces"]) >= 1 and len(first["compiles"]) >= 1
    assert again == {"traces": [], "compiles": []}
    assert len(new_shape["traces"]) >= 1


def test_equilibrium_traces_once_per_game_solver_and_shapes():
    mu0 = jnp.asarray([0.5, 0.3, 0.2])

    def solve(g, gamma):
        eq = bm.equilibrium(g, {"gamma": jnp.asarray(gamma)}, mu0, solver=bm.Anderson())
        return float(jnp.sum(eq.mu)), bool(eq.converged)

    with jax_events() as first:
        assert solve(game(), 1.55)[1]
    assert len(first["traces"]) >= 1  # the first call traces and compiles
    # new parameter values, a new (equal) game and a new (equal) solver: nothing traced again
    for gamma in (1.2, 2.0):
        with jax_events() as again:
            assert solve(game(), gamma)[1]
        assert again == {"traces": [], "compiles": []}, f"bm.equilibrium retraced at gamma={gamma}: {again}"


def test_equilibrium_gradient_under_jit_traces_once():
    mu0 = jnp.asarray([0.5, 0.3, 0.2])
    g = game()
    weights = jnp.asarray(np.random.default_rng(1).standard_normal((g.n_times, g.n_states)))
    count = {"traces": 0}

    def loss(gamma):
        count["traces"] += 1
        return jnp.sum(weights * bm.equilibrium(g, {"gamma": gamma}, mu0).mu)

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    jax.block_until_ready(value_and_grad(jnp.asarray(1.55)))
    for gamma in (1.2, 2.0, 1.7):
        with jax_events() as again:
            value, grad = jax.block_until_ready(value_and_grad(jnp.asarray(gamma)))
        assert again == {"traces": [], "compiles": []}
        assert np.isfinite(float(grad))
    assert count["traces"] == 1


def _latent_sites(model, data):
    tr = numpyro.handlers.trace(numpyro.handlers.seed(model, jax.random.PRNGKey(0))).get_trace(data)
    return {k: s["value"] for k, s in tr.items() if s["type"] == "sample" and not s["is_observed"]}


def test_model_log_density_traces_once(model, data):
    sites = _latent_sites(model, data)
    assert "gamma" in sites
    count = {"traces": 0}

    def logp(params):
        count["traces"] += 1
        return log_density(model, (data,), {}, params)[0]

    value_and_grad = jax.jit(jax.value_and_grad(logp))
    jax.block_until_ready(value_and_grad(sites))
    for scale in (0.8, 1.1, 1.3):
        params = jax.tree.map(lambda v, s=scale: v * s if jnp.issubdtype(v.dtype, jnp.floating) else v, sites)
        with jax_events() as again:
            value, grad = jax.block_until_ready(value_and_grad(params))
        assert again == {"traces": [], "compiles": []}
        assert np.isfinite(float(value)) and np.isfinite(float(grad["gamma"]))
    assert count["traces"] == 1


def delta_guide(data):
    """A point guide for gamma (an autoguide would add seconds of eager initialisation)."""
    loc = numpyro.param("gamma_loc", 1.0, constraint=dist.constraints.positive)
    numpyro.sample("gamma", dist.Delta(loc))


def test_svi_step_traces_once(model, data):
    svi = SVI(model, delta_guide, numpyro.optim.Adam(1e-2), Trace_ELBO())
    state = svi.init(jax.random.PRNGKey(0), data)
    count = {"traces": 0}

    def step(state):
        count["traces"] += 1
        return svi.update(state, data)

    step = jax.jit(step)
    state, loss = jax.block_until_ready(step(state))
    losses = [float(loss)]
    for _ in range(4):
        with jax_events() as again:
            state, loss = jax.block_until_ready(step(state))
        assert again == {"traces": [], "compiles": []}
        losses.append(float(loss))
    assert count["traces"] == 1
    assert np.all(np.isfinite(losses))
