"""State-shared fields on grids: the residual running cost of every grid game, the no-game
Fokker–Planck baseline (GridDynamics) and the NeuralField path that feeds both."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.handlers import seed, trace

import bayes_mfg as bm
from bayes_mfg.games import Grid, GridDynamics, GridLinearQuadratic

LQ = {"coupling": 0.5, "target": -0.3, "state_weight": 2.0, "terminal_weight": 1.0}


def lq_game(n=33, n_times=21):
    return GridLinearQuadratic(grid=Grid.interval(n, -2.0, 2.0), sigma=0.3, horizon=1.0, n_times=n_times)


def gaussian(x, mean=0.5, sd=0.2):
    w = np.exp(-((x - mean) ** 2) / (2 * sd**2))
    return w / w.sum()


# ------------------------------------------------------------------ the residual running cost
def test_a_constant_residual_cost_changes_no_flow_and_a_bump_repels_the_crowd():
    game = lq_game()
    x = game.points[:, 0]
    mu0 = gaussian(x)
    base = bm.equilibrium(game, LQ, mu0)
    const = bm.equilibrium(game, {**LQ, "cost_residual": np.full(game.n_states, 0.7)}, mu0)
    np.testing.assert_allclose(const.mu, base.mu, atol=1e-9)
    bump = np.where(x < -0.3, 2.0, 0.0)  # costly to stay left of the target
    pushed = bm.equilibrium(game, {**LQ, "cost_residual": bump}, mu0)
    left = x < -0.3
    assert float(pushed.mu[-1][left].sum()) < 0.5 * float(base.mu[-1][left].sum())
    assert "cost_residual" in game.parameter_specs() and game.parameter_specs()["cost_residual"].shape == (33,)


def test_the_residual_cost_gradient_matches_finite_differences():
    game = lq_game(n=21, n_times=11)
    x = game.points[:, 0]
    mu0 = gaussian(x)
    shape = np.exp(-((x + 0.5) ** 2) / 0.1)

    def loss(scale):
        eq = bm.equilibrium(game, {**LQ, "cost_residual": scale * jnp.asarray(shape)}, mu0)
        return jnp.sum(eq.mu[-1] * jnp.asarray(x))

    g = float(jax.grad(loss)(0.4))
    h = 1e-5
    fd = (float(loss(0.4 + h)) - float(loss(0.4 - h))) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-6, abs=1e-9)


# ------------------------------------------------------------------ the Fokker–Planck baseline
def test_grid_dynamics_rates_are_the_upwind_drift_and_move_the_mean():
    grid = Grid.interval(41, 0.0, 1.0)
    game = GridDynamics(grid=grid, sigma=0.05, horizon=0.4, n_times=41)
    b = np.where(np.arange(41) % 2 == 0, 0.5, -0.2)
    ctl = game.control(jnp.zeros(41), jnp.ones(41) / 41, game.at_step(game.params(drift=b), 0))
    h = grid.spacing[0]
    floor = 0.05**2 / (2 * h**2)
    interior = slice(1, 40)
    np.testing.assert_allclose(ctl.rates[interior, 1], floor + np.maximum(b, 0)[interior] / h, rtol=1e-12)
    np.testing.assert_allclose(ctl.rates[interior, 0], floor + np.maximum(-b, 0)[interior] / h, rtol=1e-12)
    assert float(ctl.rates[0, 0]) == 0.0 and float(ctl.rates[40, 1]) == 0.0  # no move across a wall
    mu0 = gaussian(grid.points[:, 0], mean=0.3, sd=0.05)
    eq = bm.equilibrium(game, {"drift": np.full(41, 0.5)}, mu0)
    mean = np.asarray(grid.moments(eq.mu)[0])[:, 0]
    assert bool(eq.converged) and abs(float(eq.mu[-1].sum()) - 1.0) < 1e-12
    # the mean travels at the drift (to O(dt + h): implicit steps damp it slightly)
    assert mean[-1] - mean[0] == pytest.approx(0.5 * 0.4, rel=0.1)
    assert int(eq.info.iterations) <= 2  # no value feeds back: one application of the map


def test_grid_dynamics_in_two_dimensions_has_a_drift_per_axis():
    game = GridDynamics(grid=Grid.box((9, 9)), sigma=0.05, horizon=0.3, n_times=11)
    assert game.parameter_specs()["drift"].shape == (81, 2)
    drift = np.tile([0.5, 0.0], (81, 1))
    mu0 = np.zeros(81)
    mu0[4 * 9 + 2] = 1.0  # (i, j) = (4, 2)
    eq = bm.equilibrium(game, {"drift": drift}, mu0)
    mean = np.asarray(game.grid.moments(eq.mu[-1])[0])
    assert mean[0] > 0.5 + 0.05 and abs(mean[1] - 0.25) < 0.02  # moves along axis 0 only


# ------------------------------------------------------------------ the NeuralField path
def _field_value(field, game, name, n_traj=2, mu_input=None):
    ctx = bm.paths.PathContext.from_game(game, mu_input=mu_input, n_trajectories=n_traj)
    spec = game.parameter_specs()[name]
    with seed(rng_seed=0):
        return field(name, spec, ctx)


def test_neural_field_is_one_network_of_time_and_position():
    game = GridDynamics(grid=Grid.interval(11), sigma=0.1, n_times=5)
    field = bm.paths.NeuralField(points=game.points, hidden=(8,), bayesian=True)
    value = np.asarray(_field_value(field, game, "drift"))
    assert value.shape == (2, 5, 11)
    np.testing.assert_allclose(value[0], value[1])  # ("t", "x"): shared by the trajectories
    # exchangeable: the value at a state depends on its coordinates only, so permuting the
    # points permutes the field
    perm = np.random.default_rng(0).permutation(11)
    other = bm.paths.NeuralField(points=game.points[perm], hidden=(8,), bayesian=True)
    lo, hi = game.points.min(), game.points.max()
    assert other.points.min() == lo and other.points.max() == hi
    np.testing.assert_allclose(np.asarray(_field_value(other, game, "drift"))[0], value[0][:, perm], atol=1e-12)


def test_neural_field_moments_read_the_observed_distribution():
    game = GridDynamics(grid=Grid.interval(11), sigma=0.1, n_times=5)
    field = bm.paths.NeuralField(points=game.points, inputs=("t", "moments"), hidden=(4,), bayesian=True)
    assert field.uses_mu_input
    mu = np.random.default_rng(1).dirichlet(np.ones(11), size=(2, 5))
    value = np.asarray(_field_value(field, game, "drift", mu_input=mu))
    assert value.shape == (2, 5, 11)
    np.testing.assert_allclose(value[..., 0], value[..., 7])  # no "x": the same at every state
    assert not np.allclose(value[0], value[1])  # trajectories with different flows differ
    with pytest.raises(ValueError, match="mu_input is None"):
        _field_value(field, game, "drift")


@pytest.mark.parametrize("make, match", [
    (lambda: bm.paths.NeuralField(), "points is required"),
    (lambda: bm.paths.NeuralField(points=[[0.0]]), "d >= 2"),
    (lambda: bm.paths.NeuralField(points="ab"), "numeric"),
    (lambda: bm.paths.NeuralField(points=np.zeros((3, 1)), inputs=("t", "mu")), "distinct names from"),
])
def test_bad_neural_fields_are_refused(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_a_neural_field_needs_one_value_per_state():
    game = lq_game(n=11, n_times=5)
    field = bm.paths.NeuralField(points=game.points)
    with pytest.raises(ValueError, match="one value per state"):
        _field_value(field, game, "coupling")
    with pytest.raises(ValueError, match="same at every state"):
        bad = bm.paths.NeuralField(points=game.points, init_value=np.linspace(0, 1, 11))
        _field_value(bad, game, "cost_residual")


def test_a_game_with_a_neural_residual_is_a_calibration_model():
    """The field's weights are sample sites of the model, its path has one value per state."""
    game = lq_game(n=17, n_times=9)
    mu0 = gaussian(game.points[:, 0])
    sim = bm.datasets.simulate(game, LQ, 1, bm.observe.Multinomial(total_count=200), mu0=[mu0], seed=0)
    field = bm.paths.NeuralField(points=game.points, hidden=(4,), bayesian=True, prior_scale=0.3)
    model = bm.CalibrationModel(game, {"coupling": dist.LogNormal(0.0, 1.0), "cost_residual": field},
                                bm.observe.Multinomial(), fixed={k: v for k, v in LQ.items() if k != "coupling"},
                                mu0_source="data")
    tr = trace(seed(model, 0)).get_trace(sim.data)
    weights = [k for k, v in tr.items() if k.startswith("cost_residual_net/") and v["type"] == "sample"]
    assert len(weights) == 4
    assert np.isfinite(float(tr["obs"]["fn"].log_prob(tr["obs"]["value"]).sum()))
    assert tr["cost_residual_path"]["value"].shape == (9, 17)  # a field of t and x only: shared, stored once
    assert not field.varies_by_trajectory
