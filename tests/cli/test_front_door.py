"""The command line as a front door: the grid from the data, noise/mu0/prior/fix options, a TOML
config, and the summary's convergence, coverage and failure statements."""

import numpy as np
import pytest

from bayes_mfg.cli import parse
from bayes_mfg.cli.commands import build_problem, data_grid, observation_model
from bayes_mfg.cli.summary import diagnose, loss_plateau


def _args(*extra, tmp="out"):
    return parse(["calibrate", "--out", str(tmp), *extra])


def test_the_grid_is_read_off_daily_data():
    days = np.arange(41.0)
    assert data_grid(days, 40.0, 100) == (40.0, 121)  # three steps a day: 1/3 <= 40/99
    assert data_grid(days, 40.0, 41) == (40.0, 41)  # the default step is a day already
    assert data_grid(np.arange(0.0, 21.0, 2.0), 40.0, 100) == (20.0, 51)  # every other day: 5 steps of 0.4
    assert data_grid(days, 40.0, 100, horizon=50.0) == (50.0, 151)  # beyond the data
    assert data_grid(days, 40.0, 100, n_times=81) == (40.0, 81)  # what the user asks for
    with pytest.raises(ValueError, match="not multiples of one time step.*time grid"):
        data_grid(np.array([0.0, 0.3, 0.7]), 40.0, 100)
    with pytest.raises(ValueError, match="needs 400001 points.*--steps"):
        data_grid(np.array([0.0, 1e-4, 40.0]), 40.0, 100)
    with pytest.raises(ValueError, match="horizon cannot be read"):
        data_grid(np.array([0.0]), 40.0, 100)


def test_a_csv_on_days_gets_the_grid_and_a_learned_concentration(tmp_path):
    args = _args("--system", "sir", "--data", __file__, tmp=tmp_path)  # any existing file: only the flags matter
    prob = build_problem(args, np.arange(41.0))
    assert (prob.game.horizon, prob.game.n_times) == (40.0, 121)
    obs = observation_model(args)
    assert obs.concentration.__class__.__name__ == "LogNormal"
    assert observation_model(args, for_simulation=True).concentration == 1000.0
    assert observation_model(_args("--system", "sir", tmp=tmp_path)).concentration == 1000.0
    fixed = observation_model(_args("--system", "sir", "--concentration", "250", tmp=tmp_path))
    assert fixed.concentration == 250.0
    ln = observation_model(_args("--system", "sir", "--observation", "logistic-normal", "--noise-scale", "learn",
                                 tmp=tmp_path))
    assert type(ln).__name__ == "LogisticNormal" and ln.scale.__class__.__name__ == "LogNormal"


def test_prior_and_fix_change_the_calibration(tmp_path):
    args = _args("--system", "sir", "--prior", "beta=0.3,0.5", "--fix", "gamma=0.125", tmp=tmp_path)
    prob = build_problem(args)
    assert prob.calibrated == ("beta",) and prob.centres == {"beta": 0.3} and prob.fixed == {"gamma": 0.125}
    with pytest.raises(ValueError, match="unknown parameter 'delta' of the sir game"):
        build_problem(_args("--system", "sir", "--fix", "delta=1", tmp=tmp_path))
    with pytest.raises(ValueError, match="nothing is left to fit"):
        build_problem(_args("--system", "sir", "--fix", "beta=0.4", "--fix", "gamma=0.1", tmp=tmp_path))


@pytest.mark.parametrize("argv, message", [
    (["--system", "sir", "--concentration", "-1"], "expected 'learn' or a positive number"),
    (["--system", "sir", "--observation", "logistic-normal", "--concentration", "9"], "use --noise-scale"),
    (["--system", "sir", "--mu0", "first"], "--mu0 applies to --data"),
    (["--system", "sir", "--prior", "beta"], "expected NAME=NUMBER"),
    (["--system", "sir", "--prior", "beta=-1"], "MEDIAN > 0"),
    (["--system", "sir", "--fix", "beta=1", "--fix", "beta=2"], "named twice"),
    (["--system", "sir", "--prior", "beta=1", "--fix", "beta=2"], "the same parameter"),
    (["--system", "sir", "--horizon", "0"], "--horizon must be a positive number"),
    ([], "--system is required"),
])
def test_bad_front_door_options_are_usage_errors(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _args(*argv, tmp=tmp_path)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_a_toml_config_sets_options_and_flags_win(tmp_path, capsys):
    config = tmp_path / "fit.toml"
    config.write_text('system = "sir"\nhorizon = 40\nsvi-steps = 500\nno_progress = true\nconcentration = "learn"\n'
                      '[prior]\nbeta = [0.3, 0.5]\n[fix]\ngamma = 0.125\n')
    args = parse(["calibrate", "--config", str(config), "--out", str(tmp_path), "--svi-steps", "700"])
    assert (args.system, args.horizon, args.svi_steps, args.no_progress, args.concentration) == (
        "sir", 40.0, 700, True, "learn")
    assert args.prior == [("beta", (0.3, 0.5))] and args.fix == [("gamma", (0.125,))]
    for text, message in [('sytem = "sir"\n', "unknown key 'sytem'"), ('system = "weather"\n', "is not one of"),
                          ("steps = 1.5\n", "expected an integer, got 1.5"), ("no-progress = 1\n", "true or false"),
                          ("system = [\n", "not valid TOML")]:
        config.write_text(text)
        with pytest.raises(SystemExit):
            parse(["calibrate", "--config", str(config), "--out", str(tmp_path)])
        assert message in capsys.readouterr().err, text


def test_loss_plateau_tells_a_flat_loss_from_a_falling_one():
    rng = np.random.default_rng(0)
    flat = 100.0 + rng.normal(0.0, 1.0, 2000)
    assert loss_plateau(flat)[0]
    falling = flat - np.linspace(0.0, 20.0, 2000)
    assert not loss_plateau(falling)[0]
    assert not loss_plateau(np.r_[flat[:-1], np.nan])[0]
    assert not loss_plateau(flat[:3])[0]


def test_diagnose_states_convergence_and_warns_on_each_problem():
    rows = [{"r_hat": 1.002, "ess_bulk": 900.0}, {"r_hat": 1.004, "ess_bulk": 650.0}]
    good = diagnose(rows, method="nuts", coverage=0.88, prob=0.9, failures={"divergences": 0}, n_chains=2)
    assert good.converged and good.warnings == () and good.convergence.startswith("converged: max r_hat 1.004")
    assert set(good.header()) == {"convergence", "predictive coverage", "failures"}
    bad = diagnose([{"r_hat": 1.05, "ess_bulk": 90.0}], method="nuts", coverage=0.6, prob=0.9,
                   failures={"divergences": 3}, n_chains=2)
    assert bad.converged is False and len(bad.warnings) == 3
    assert any("coverage 60.0%" in w for w in bad.warnings) and any("divergences" in w for w in bad.warnings)
    one_chain = diagnose(rows, method="nuts", coverage=0.9, prob=0.9, failures={}, n_chains=1)
    assert one_chain.converged is None and "2 chains" in one_chain.warnings[0]
    svi = diagnose(rows, method="svi", coverage=0.9, prob=0.9, failures={}, losses=np.linspace(10.0, 0.0, 1000))
    assert svi.converged is False and "--svi-steps" in svi.warnings[0]


def test_a_short_svi_run_is_never_called_converged():
    short = diagnose([{}], method="svi", coverage=0.9, prob=0.9, failures={}, losses=np.full(30, 5.0))
    assert short.converged is False and "30 SVI steps are too few" in short.convergence


def test_the_demo_fits_the_identified_sir_arc_and_a_finer_grid_keeps_the_data_times():
    from bayes_mfg.cli.commands import _simulated_times
    from bayes_mfg.demo import DEMO_ARGS

    args = parse([*DEMO_ARGS, "--out", "out"])
    prob = build_problem(args)
    assert (args.system, args.truth, args.path) == ("sir", "arc", "spline")
    assert prob.calibrated == ("beta", "gamma") and np.ptp(prob.truth["beta"]) > 0.3  # a time-varying truth
    default = np.asarray(prob.game.time_grid)
    np.testing.assert_array_equal(_simulated_times(args, prob.game), default)
    finer = build_problem(parse([*DEMO_ARGS, "--out", "out", "--steps", "199"])).game  # dt / 2: the same data times
    np.testing.assert_allclose(_simulated_times(args, finer), default, atol=1e-12)
    coarse = build_problem(parse([*DEMO_ARGS, "--out", "out", "--steps", "51"])).game  # not a refinement: its own grid
    np.testing.assert_array_equal(_simulated_times(args, coarse), np.asarray(coarse.time_grid))
