"""Discrete-time entropy-regularised MFGs: equilibrium, implicit gradients, exploitability, solvers.

Reference figures for MFGLib's environments (exploitability of the uniform policy, its
unregularised definition, default settings) were produced by running mfglib 0.3.0 with
``torch.set_default_dtype(torch.float64)``: our values must agree to ~1e-12.
"""

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bayes_mfg as bm
from bayes_mfg.engine import default_solver, discrete_time
from bayes_mfg.games.discrete import DiscreteTimeGame

TIGHT = dict(tol=1e-13, max_iter=2000)

# (game, mu0, calibrated parameters, values): small instances of four environments
GRADIENT_CASES = {
    "beach_bar": (bm.games.BeachBar(n_states=5, n_times=6, temperature=0.3), [0.1, 0.2, 0.3, 0.25, 0.15],
                  ("distance_weight", "move_cost", "crowd_aversion"), (1.0, 0.2, 0.8)),
    "susceptible_infected": (bm.games.SusceptibleInfected(n_times=21, temperature=0.2), [0.4, 0.6],
                             ("infection_rate", "recovery", "distancing_cost", "infected_cost"), (0.81, 0.3, 0.5, 1.0)),
    "crowd_motion": (bm.games.CrowdMotion(rows=4, cols=5, n_times=5, temperature=0.5), [0.05] * 20,
                     ("attraction", "crowd_aversion"), (3.0, 1.0)),
    "left_right": (bm.games.LeftRight(temperature=0.2), [1.0, 0.0, 0.0], ("left_cost", "right_cost"), (1.0, 2.0)),
}


def _loss(game, mu0, names, adjoint=None):
    def loss(theta):
        eq = bm.equilibrium(game, dict(zip(names, theta)), jnp.asarray(mu0), adjoint=adjoint,
                            solver=default_solver(game, **TIGHT))
        weights = (jnp.arange(eq.mu.size).reshape(eq.mu.shape) % 7) / 7.0
        return jnp.sum(weights * eq.mu**2) + 0.1 * jnp.dot(eq.value[0], jnp.asarray(mu0))

    return loss


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_implicit_gradient_matches_finite_differences_and_unrolled(case):
    game, mu0, names, values = GRADIENT_CASES[case]
    theta = jnp.asarray(values)
    loss = _loss(game, mu0, names)
    grad = jax.grad(loss)(theta)
    h = 1e-5
    fd = jnp.array([(loss(theta.at[i].add(h)) - loss(theta.at[i].add(-h))) / (2 * h) for i in range(theta.size)])
    unrolled = jax.grad(_loss(game, mu0, names, bm.Unrolled(n_iter=300)))(theta)
    scale = float(jnp.max(jnp.abs(fd)))
    assert scale > 1e-3  # the loss depends on every case's parameters
    assert float(jnp.max(jnp.abs(grad - fd))) <= 1e-6 * scale
    assert float(jnp.max(jnp.abs(grad - unrolled))) <= 1e-8 * scale


def _env(name):
    return {
        "beach_bar": (bm.games.BeachBar(), [0.25] * 4),
        "left_right": (bm.games.LeftRight(), [1.0, 0.0, 0.0]),
        "rock_paper_scissors": (bm.games.RockPaperScissors(), [1.0, 0.0, 0.0, 0.0]),
        "susceptible_infected": (bm.games.SusceptibleInfected(), [0.4, 0.6]),
    }[name]


@pytest.mark.parametrize(
    "name, expected",
    # mfglib 0.3.0, exploitability_score(env, uniform policy), default environments, float64
    [("beach_bar", 1.2212622552965304), ("left_right", 0.25), ("rock_paper_scissors", 0.33333333333333337),
     ("susceptible_infected", 5.466873913228518)],
)
def test_uniform_policy_exploitability_matches_mfglib(name, expected):
    game, mu0 = _env(name)
    uniform = jnp.full((game.n_times, game.n_states, game.n_actions), 1.0 / game.n_actions)
    value = float(bm.exploitability(game, {}, mu0, uniform, regularised=False))
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_crowd_motion_uniform_exploitability_matches_mfglib():
    """MFGLib's default crowd motion (20 x 20, T = 3) with its seed-0 attractor path."""
    game = bm.games.CrowdMotion()
    bar = np.array([[10, 10], [10, 10], [9, 11], [9, 11]], dtype=float)
    uniform = jnp.full((4, 400, 5), 0.2)
    value = float(bm.exploitability(game, {"bar_location": bar}, [1 / 400] * 400, uniform, regularised=False))
    assert value == pytest.approx(1.4674829515747234, rel=1e-12)


@pytest.mark.parametrize("name", ["beach_bar", "left_right", "rock_paper_scissors", "susceptible_infected"])
def test_equilibrium_is_a_regularised_nash_equilibrium(name):
    game, mu0 = _env(name)
    eq = bm.equilibrium(game, {}, mu0)
    assert bool(eq.converged) and float(eq.info.residual) <= 1e-10
    assert eq.rates is None and eq.policy.shape == (game.n_times, game.n_states, game.n_actions)
    np.testing.assert_allclose(np.sum(eq.mu, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.sum(eq.policy, axis=-1), 1.0, atol=1e-12)
    # the flow is the one the policy induces, and the policy is the soft best response to it
    np.testing.assert_allclose(discrete_time.forward(game, eq.policy, game.params(), jnp.asarray(mu0)), eq.mu, atol=1e-10)
    assert abs(float(bm.exploitability(game, {}, mu0, eq))) <= 1e-8
    assert float(bm.exploitability(game, {}, mu0, eq, regularised=False)) > 1e-6


@pytest.mark.filterwarnings("ignore:bayes_mfg.engine")
@pytest.mark.parametrize("solver", [bm.OnlineMirrorDescent, bm.FictitiousPlay])
def test_exploitability_falls_to_zero_as_the_solver_converges(solver):
    game, mu0 = bm.games.BeachBar(n_states=6, n_times=5, temperature=0.2), [1 / 6] * 6
    scores = [float(bm.exploitability(game, {}, mu0, bm.equilibrium(game, {}, mu0, solver=solver(max_iter=k))))
              for k in (1, 3, 9, 27, 81)]
    assert all(b < a for a, b in zip(scores, scores[1:])), scores
    assert scores[0] > 1.0, scores
    assert scores[-1] <= (1e-8 if solver is bm.OnlineMirrorDescent else 1e-5), scores


def test_unregularised_exploitability_falls_as_temperature_falls():
    for game_type, mu0 in [(bm.games.BeachBar, [0.25] * 4), (bm.games.LeftRight, [1.0, 0.0, 0.0])]:
        scores = []
        for tau in (1.0, 0.3, 0.1, 0.03):
            game = game_type(temperature=tau)
            eq = bm.equilibrium(game, {}, mu0, solver=bm.OnlineMirrorDescent(learning_rate=1.0))
            assert bool(eq.converged)
            scores.append(float(bm.exploitability(game, {}, mu0, eq, regularised=False)))
        assert all(b < a for a, b in zip(scores, scores[1:])), (game_type.__name__, scores)
        assert scores[-1] < 0.1 * scores[0]


def test_left_right_equilibrium_splits_two_to_one():
    eq = bm.equilibrium(bm.games.LeftRight(temperature=1e-3), {}, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(eq.mu[1], [0.0, 2 / 3, 1 / 3], atol=2e-3)


def test_solvers_reach_the_same_equilibrium():
    game, mu0 = bm.games.BeachBar(n_states=5, n_times=5, temperature=0.2), [0.2] * 5
    ref = bm.equilibrium(game, {}, mu0, solver=bm.Anderson(tol=1e-12))
    omd = bm.equilibrium(game, {}, mu0, solver=bm.OnlineMirrorDescent(tol=1e-12))
    picard = bm.equilibrium(game, {}, mu0, solver=bm.Picard(damping=0.7, tol=1e-12, max_iter=5000))
    for eq in (omd, picard):
        assert bool(eq.converged)
        np.testing.assert_allclose(eq.mu, ref.mu, atol=1e-11)
        np.testing.assert_allclose(eq.policy, ref.policy, atol=1e-9)
    with pytest.warns(RuntimeWarning, match="max_iter"):
        fp = bm.equilibrium(game, {}, mu0, solver=bm.FictitiousPlay(max_iter=200))
    assert 1e-12 < float(fp.info.residual) < 1e-3  # converging, at fictitious play's 1/k rate
    np.testing.assert_allclose(fp.mu, ref.mu, atol=1e-3)


@dataclass(frozen=True, kw_only=True)
class DenseBeachBar(DiscreteTimeGame):
    """The beach bar with its kernel expanded to ``(d, A, d)`` (no neighbour structure)."""

    base: bm.games.BeachBar

    def __post_init__(self):
        self._validate_grid()

    n_states = property(lambda self: self.base.n_states)
    n_times = property(lambda self: self.base.n_times)
    temperature = property(lambda self: self.base.temperature)
    n_actions = property(lambda self: self.base.n_actions)

    def parameter_specs(self):
        return self.base.parameter_specs()

    def reward(self, mu, p):
        return self.base.reward(mu, p)

    def transition(self, mu, p):
        nbr = self.base.neighbours
        sparse = self.base.transition(mu, p)
        dense = jnp.zeros((self.n_states, self.n_actions, self.n_states))
        rows = np.repeat(np.arange(self.n_states), nbr.shape[1])
        for a in range(self.n_actions):
            dense = dense.at[rows, a, nbr.ravel()].add(sparse[:, a, :].ravel())
        return dense


def test_neighbour_kernels_match_their_dense_expansion():
    base = bm.games.BeachBar(n_states=7, n_times=6, temperature=0.2)
    dense = DenseBeachBar(base=base)
    mu0 = jnp.array([0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2])
    a, b = bm.equilibrium(base, {}, mu0), bm.equilibrium(dense, {}, mu0)
    np.testing.assert_allclose(a.mu, b.mu, atol=1e-12)
    np.testing.assert_allclose(a.policy, b.policy, atol=1e-12)
    grad = lambda g: jax.grad(lambda c: jnp.sum(bm.equilibrium(g, {"crowd_aversion": c}, mu0).mu[-1] ** 2))(0.8)  # noqa: E731
    np.testing.assert_allclose(grad(base), grad(dense), rtol=1e-9)


def test_continuous_time_exploitability_is_order_dt():
    """Euler: the HJB sweep is the exact programme of the chain, so >= 0; it falls like dt."""
    scores = []
    for n in (25, 50, 100):
        game = bm.games.LinearQuadratic(n_states=3, n_times=n, scheme="euler")
        eq = bm.equilibrium(game, {}, [0.5, 0.3, 0.2])
        scores.append(float(bm.exploitability(game, {}, [0.5, 0.3, 0.2], eq)))
    assert all(s >= 0 for s in scores)
    assert scores[1] < 0.6 * scores[0] and scores[2] < 0.6 * scores[1], scores


def test_continuous_soft_best_response_is_exploitable_by_the_hard_one():
    game = bm.games.Cybersecurity(temperature=0.3)
    mu0 = [0.25] * 4
    eq = bm.equilibrium(game, {}, mu0)
    soft = float(bm.exploitability(game, {}, mu0, eq))
    hard = float(bm.exploitability(game, {}, mu0, eq, regularised=False))
    assert hard > soft + 1e-4


def test_calibration_model_runs_on_a_discrete_time_game():
    import numpyro.distributions as dist
    from numpyro.infer.util import log_density

    from bayes_mfg.datasets import simulate

    game = bm.games.SusceptibleInfected(n_times=11, temperature=0.2)
    sim = simulate(game, {"distancing_cost": 0.5}, 3, bm.observe.Dirichlet(500.0), seed=0)
    model = bm.CalibrationModel(game, {"distancing_cost": dist.LogNormal(0.0, 1.0)}, bm.observe.Dirichlet(500.0))
    assert model.solver == bm.Anderson(damping=0.5, tol=1e-10, max_iter=300)

    def logp(c):
        return log_density(model, (sim.data,), {}, {"distancing_cost": c})[0]

    value, grad = jax.value_and_grad(logp)(0.6)
    h = 1e-5
    assert np.isfinite(float(value))
    assert float(grad) == pytest.approx(float((logp(0.6 + h) - logp(0.6 - h)) / (2 * h)), rel=1e-6)


def test_plot_shows_action_shares_for_a_discrete_time_game():
    import matplotlib

    matplotlib.use("Agg")
    from bayes_mfg.plots import plot_equilibrium

    game = bm.games.SusceptibleInfected(n_times=11)
    fig = plot_equilibrium(game, bm.equilibrium(game, {}, [0.4, 0.6]))
    assert [ax.get_title() for ax in fig.axes] == ["distribution", "soft value", "action shares"]
    shares = np.stack([line.get_ydata() for line in fig.axes[2].get_lines()], axis=1)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-12)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="temperature"):
        bm.games.BeachBar(temperature=0.0)
    with pytest.raises(ValueError, match="bar_location"):
        bm.games.BeachBar(n_states=4, bar_location=4)
    with pytest.raises(ValueError, match="n_states must be 3"):
        bm.games.LeftRight(n_states=4)
    game = bm.games.BeachBar()
    with pytest.raises(ValueError, match="policy must be an Equilibrium or an array of shape"):
        bm.exploitability(game, {}, [0.25] * 4, jnp.ones((3, 4, 2)) / 2)
    with pytest.raises(ValueError, match="probabilities"):
        bm.exploitability(game, {}, [0.25] * 4, jnp.ones((3, 4, 3)))
    with pytest.raises(TypeError, match="DiscreteTimeGame"):
        bm.equilibrium(bm.games.LinearQuadratic(n_states=3), {}, [0.5, 0.3, 0.2], solver=bm.OnlineMirrorDescent())
    with pytest.raises(ValueError, match="learning_rate \\* temperature"):
        bm.equilibrium(bm.games.BeachBar(temperature=2.0), {}, [0.25] * 4, solver=bm.OnlineMirrorDescent())
    with pytest.raises(TypeError, match="Equilibrium"):
        bm.exploitability(bm.games.LinearQuadratic(n_states=3), {}, [0.5, 0.3, 0.2], jnp.ones((3, 3)))
    with pytest.raises(ValueError, match="n_agents"):
        bm.datasets.simulate(game, {}, 2, n_agents=10)


@pytest.mark.slow
def test_nuts_recovers_a_reward_parameter_of_susceptible_infected():
    """The cost of keeping distance, from 20 noisy population flows (the other costs known)."""
    import numpyro.distributions as dist

    from bayes_mfg.datasets import simulate

    game = bm.games.SusceptibleInfected(n_times=31, temperature=0.1)
    sim = simulate(game, {"distancing_cost": 0.5}, 20, bm.observe.Dirichlet(1000.0), seed=3)
    model = bm.CalibrationModel(game, {"distancing_cost": dist.LogNormal(0.0, 1.0)}, bm.observe.Dirichlet(1000.0),
                                record_mu=False)
    fit = bm.fit_nuts(model, sim.data, num_chains=2, num_warmup=300, num_samples=300, seed=1, progress_bar=False)
    draws = np.sort(fit.samples["distancing_cost"].ravel())
    k = int(np.floor(0.94 * draws.size))
    i = int(np.argmin(draws[k:] - draws[: draws.size - k]))
    lo, hi = draws[i], draws[i + k]
    print(f"distancing_cost: truth 0.5, mean {draws.mean():.5f}, sd {draws.std():.5f}, 94% HDI [{lo:.5f}, {hi:.5f}], "
          f"divergences {fit.num_divergences}")
    assert lo <= 0.5 <= hi
    assert hi - lo < 0.05
    assert fit.num_divergences == 0


def test_mirror_descent_is_an_ordinary_solver_unrolled_gradients_agree():
    """Online mirror descent runs through the same driver and adjoints as every solver: its
    gradient unrolled through 300 steps equals the implicit one."""
    game = bm.games.BeachBar(n_states=5, n_times=4, temperature=0.2)
    mu0 = [0.2] * 5

    def loss(w, adjoint):
        eq = bm.equilibrium(game, {"crowd_aversion": w}, mu0, solver=bm.OnlineMirrorDescent(), adjoint=adjoint)
        return eq.mu[-1, 0]

    implicit = jax.grad(loss)(1.0, bm.ImplicitAdjoint())
    unrolled = jax.grad(loss)(1.0, bm.Unrolled(n_iter=300))
    assert abs(float(implicit)) > 1e-6
    np.testing.assert_allclose(unrolled, implicit, rtol=1e-7)
