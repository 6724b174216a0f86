"""Flow (incidence) observations: transition flows of the equilibrium, the Transitions readout
and ReportedCounts (reporting fraction, day-of-week effects, negative binomial noise)."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from jax.scipy.special import gammaln
from numpyro.infer.util import log_likelihood

import bayes_mfg as bm
from bayes_mfg.engine import transition_flows
from bayes_mfg.observe import ReportedCounts, Transitions

SIR_TRUTH = {"beta": 0.6, "gamma": 0.2, "c_infected": 0.0}
MU0 = np.array([0.98, 0.02, 0.0])


def _balance_error(game, eq, params) -> float:
    """max |mu_{n+1} - mu_n - (inflow - outflow)| over steps and states."""
    f = np.asarray(transition_flows(game, eq, params))
    if f.shape[-1] != game.n_states:  # neighbour layout: expand to dense
        f = np.asarray(game.structure.to_dense(jnp.asarray(f)))
    balance = f.sum(axis=1) - f.sum(axis=2)
    return float(np.abs(balance - np.diff(np.asarray(eq.mu), axis=0)).max())


@pytest.mark.parametrize("scheme", ["implicit", "euler", "exponential"])
def test_flows_conserve_mass_step_by_step(scheme):
    game = bm.games.SIR(horizon=20.0, n_times=41, scheme=scheme)
    params = game.params(beta=0.6, gamma=0.2, c_infected=0.4)  # distancing: rates depend on the value
    eq = bm.equilibrium(game, params, MU0)
    assert _balance_error(game, eq, params) < 1e-11
    f = np.asarray(transition_flows(game, eq, params))
    assert f.min() >= 0.0 and np.all(np.diagonal(f, axis1=1, axis2=2) == 0.0)
    assert np.all(f[:, 1, 0] == 0.0)  # no I -> S jump in SIR


def test_flows_on_neighbour_rates_and_discrete_time():
    ring = bm.games.NeighbourLinearQuadratic.ring(6, n_times=21)
    p = ring.params()
    eq = bm.equilibrium(ring, p, np.array([0.4, 0.2, 0.1, 0.1, 0.1, 0.1]))
    assert transition_flows(ring, eq, p).shape == (20, 6, 2)
    # the neighbour implicit step is a Jacobi solve (converged to ~1e-11), not an exact one
    assert _balance_error(ring, eq, p) < 1e-9
    game = bm.games.SusceptibleInfected()
    p = game.params()
    eq = bm.equilibrium(game, p, np.full(game.n_states, 1.0 / game.n_states))
    # mu* = push(mu*) up to the fixed point's residual (tol 1e-10), not to rounding
    assert _balance_error(game, eq, p) < max(1e-12, 10 * float(eq.info.residual))


def test_exponential_occupation_is_the_time_integral():
    """o = integral_0^dt mu e^{sQ} ds, checked by Simpson's rule on 2001 points."""
    from jax.scipy.linalg import expm

    from bayes_mfg.stepping import Dense, Exponential, generator

    rates = jnp.array([[0.0, 2.0, 0.5], [0.3, 0.0, 1.0], [0.0, 0.7, 0.0]])
    mu, dt = jnp.array([0.6, 0.3, 0.1]), 0.8
    q = generator(rates)
    s = np.linspace(0.0, dt, 2001)
    path = np.stack([np.asarray(mu @ expm(t * q)) for t in s])
    w = np.ones_like(s)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    simpson = (dt / 2000 / 3) * (w[:, None] * path).sum(0)
    mu_next = Exponential().forward(Dense(), mu, rates, dt)
    occ = Exponential().occupation(Dense(), mu, mu_next, rates, dt)
    np.testing.assert_allclose(np.asarray(occ), simpson, atol=1e-12)
    np.testing.assert_allclose(np.asarray(mu + occ @ q), np.asarray(mu_next), atol=1e-13)


def _hand_sir_daily_infections(beta, gamma, mu0, n_days):
    """Implicit Euler by hand (dt = 1, rates frozen at mu_n): S -> I flow = dt mu_{n+1}(S) a_n[S, I]."""
    mu = np.array(mu0, dtype=float)
    out = []
    for _ in range(n_days):
        a = np.array([[0.0, beta * mu[1], 0.0], [0.0, 0.0, gamma], [0.0, 0.0, 0.0]])
        q = a - np.diag(a.sum(1))
        nxt = np.linalg.solve((np.eye(3) - q).T, mu)
        out.append(nxt[0] * a[0, 1])
        mu = nxt
    return np.array(out)


def _nb_logpmf(y, mean, phi):
    return (gammaln(y + phi) - gammaln(phi) - gammaln(y + 1) + phi * np.log(phi / (phi + mean))
            + y * np.log(mean / (phi + mean)))


def test_flow_likelihood_equals_a_hand_computation():
    """3-state toy (SIR without distancing, 10 days): pointwise log-likelihood of reported
    daily infections under NB noise, reporting 0.3 and weekday effects, against numpy."""
    n_days, population, reporting, phi = 10, 5e4, 0.3, 12.0
    game = bm.games.SIR(horizon=float(n_days), n_times=n_days + 1, scheme="implicit")
    hand_flow = _hand_sir_daily_infections(0.6, 0.2, MU0, n_days)
    weekday = np.array([0.1, -0.05, 0.02, 0.0, 0.08, -0.2, 0.05])
    weekday -= weekday.mean()
    origin = 3  # day 1 is a Thursday
    days = (origin + np.arange(n_days)) % 7
    mean = population * reporting * np.exp(weekday[days]) * hand_flow
    y = np.array([310, 340, 420, 530, 610, 640, 850, 1050, 1160, 1400], dtype=float)
    hand = np.asarray(_nb_logpmf(y, mean, phi))

    data = bm.Observations.from_arrays(y[None, :, None], np.arange(1.0, n_days + 1), kind="counts",
                                       mu0=MU0[None], n_states=3, state_names=("new_cases",))
    obs = ReportedCounts(population=population, reporting=dist.Beta(2.0, 5.0),
                         concentration=dist.Exponential(0.1), weekday_origin=origin)
    model = bm.CalibrationModel(game, {"beta": dist.LogNormal(-0.5, 0.5), "gamma": dist.LogNormal(-1.6, 0.3)}, obs,
                                readout=Transitions([(0, 1)], names=("new_cases",)), mu0_source="data",
                                fixed={"c_infected": 0.0})
    draw = {"beta": jnp.array([0.6]), "gamma": jnp.array([0.2]), "obs_reporting": jnp.array([reporting]),
            "obs_concentration": jnp.array([phi]), "obs_weekday": jnp.asarray(weekday)[None]}
    ll = log_likelihood(model, draw, data)["obs"]
    np.testing.assert_allclose(np.asarray(ll).reshape(-1), hand, rtol=1e-10, atol=1e-8)
    # ArviZ labels the seven effects by weekday (the observation model declares its site dims)
    assert model.site_dims()["obs_weekday"] == ("weekday",)
    assert model.observation.coords("obs") == {"weekday": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}
    assert "obs_weekday" not in bm.CalibrationModel(
        game, model.paths, ReportedCounts(population=population), readout=model.readout, mu0_source="data",
        fixed={"c_infected": 0.0}).site_dims()
    # masked days contribute exactly 0, the others are unchanged
    gaps = y[None, :, None].copy()
    gaps[0, [2, 7], 0] = np.nan
    holed = bm.Observations.from_arrays(gaps, np.arange(1.0, n_days + 1), kind="counts", mu0=MU0[None], n_states=3,
                                        state_names=("new_cases",))
    ll_holed = np.asarray(log_likelihood(model, draw, holed)["obs"]).reshape(-1)
    np.testing.assert_allclose(ll_holed, np.where(np.isin(np.arange(n_days), [2, 7]), 0.0, hand), rtol=1e-10,
                               atol=1e-8)
    # the weekday effects matter: without them the likelihood differs
    assert np.max(np.abs(np.asarray(_nb_logpmf(y, mean / np.exp(weekday[days]), phi)) - hand)) > 0.05


def _daily_flow_mean(game, readout, theta, mu0, adjoint=None, solver=None):
    params = game.params(beta=theta[0], gamma=theta[1], c_infected=0.3)
    eq = bm.equilibrium(game, params, mu0, adjoint=adjoint, solver=solver)
    return readout(readout.from_equilibrium(game, eq, params), jnp.arange(1, game.n_times))


def test_flow_mean_gradients_match_finite_differences_and_unrolled():
    game = bm.games.SIR(horizon=15.0, n_times=16)
    readout = Transitions([(0, 1), [(1, 2)]], names=("infections", "recoveries"))
    weights = jnp.linspace(1.0, 2.0, 30).reshape(15, 2)

    def loss(theta, mu0, **kw):
        return jnp.sum(weights * _daily_flow_mean(game, readout, theta, mu0, **kw))

    theta = jnp.array([0.7, 0.25])
    mu0 = jnp.asarray(MU0)
    g_theta, g_mu0 = jax.jit(jax.grad(loss, argnums=(0, 1)))(theta, mu0)
    f = jax.jit(loss)
    eps = 1e-6
    fd = np.array([(f(theta + eps * e, mu0) - f(theta - eps * e, mu0)) / (2 * eps) for e in jnp.eye(2)])
    np.testing.assert_allclose(np.asarray(g_theta), fd, rtol=1e-6, atol=1e-9)
    v = jnp.array([-1.0, 1.0, 0.0])  # a direction inside the simplex
    fd_mu0 = (f(theta, mu0 + eps * v) - f(theta, mu0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(float(g_mu0 @ v), float(fd_mu0), rtol=1e-6, atol=1e-9)
    unrolled = jax.grad(lambda t: loss(t, mu0, adjoint=bm.engine.Unrolled(n_iter=60),
                                       solver=bm.engine.Picard(damping=0.0)))(theta)
    np.testing.assert_allclose(np.asarray(g_theta), np.asarray(unrolled), rtol=1e-8)


def test_simulate_with_flows_and_fit_data_shapes():
    game = bm.games.SIR(horizon=12.0, n_times=13)
    cases = Transitions([(0, 1)], names=("new_cases",))
    sim = bm.datasets.simulate(game, SIR_TRUTH, 2, bm.observe.Poisson(exposure=1e4), times=np.arange(1.0, 13.0),
                               readout=cases, mu0=np.stack([MU0, MU0]))
    assert sim.data.values.shape == (2, 12, 1) and sim.data.state_names == ("new_cases",)
    flows = -np.diff(sim.mu[0, :, 0])  # SIR without vaccination: infections = fall of S
    assert abs(sim.data.values[0, :, 0].sum() / (1e4 * flows.sum()) - 1.0) < 0.1
    with pytest.raises(ValueError, match="n_agents"):
        bm.datasets.simulate(game, SIR_TRUTH, 1, times=np.arange(1.0, 13.0), readout=cases, n_agents=100,
                             observation=bm.observe.Poisson(exposure=1e4))


def test_bad_flow_readouts_and_reported_counts():
    with pytest.raises(TypeError, match="pairs"):
        Transitions("S->I")
    with pytest.raises(TypeError, match="pairs"):
        Transitions([])
    with pytest.raises(ValueError, match="distinct"):
        Transitions([(1, 1)])
    with pytest.raises(ValueError, match="state 5"):
        Transitions([(0, 5)]).bind(bm.games.SIR())
    ring = bm.games.NeighbourLinearQuadratic.ring(6, n_times=11)
    with pytest.raises(ValueError, match="neighbours"):
        Transitions([(0, 3)]).bind(ring)
    Transitions([(0, 1), (0, 5)]).bind(ring)  # the ring's neighbours of 0 are 1 and 5
    with pytest.raises(ValueError, match="reporting"):
        ReportedCounts(population=1e4, reporting=1.5)
    with pytest.raises(ValueError, match="reporting"):
        ReportedCounts(population=1e4, reporting=dist.LogNormal(0.0, 1.0))
    with pytest.raises(ValueError, match="weekday_origin"):
        ReportedCounts(population=1e4, weekday_origin=7)
    with pytest.raises(TypeError, match="population"):
        ReportedCounts(population=dist.LogNormal(0.0, 1.0))
    with pytest.raises(ValueError, match="times"):
        ReportedCounts(population=1e4, weekday_origin=0).weekdays([0.5, 1.5])
    with pytest.raises(ValueError, match="first observation time"):
        Transitions([(0, 1)]).check_times(np.array([0, 1, 2]))


def test_reported_counts_per_trajectory_population():
    obs = ReportedCounts(population=(1e4, 1e6), reporting=0.5)
    flows = np.full((2, 3, 1), 1e-3)
    np.testing.assert_allclose(np.asarray(obs.distribution(flows).mean)[:, 0, 0], [5.0, 500.0])
    with pytest.raises(ValueError, match="one per trajectory"):
        obs.distribution(np.full((3, 3, 1), 1e-3))
    with pytest.raises(ValueError, match="population"):
        ReportedCounts(population=(1e4, -1.0))
