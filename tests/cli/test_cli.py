"""The ``bayes-mfg calibrate`` command line: outputs, option validation, CSV data (``Observations.from_csv``)."""

import csv

import numpy as np
import pytest

import bayes_mfg as bm
from bayes_mfg import cli

TINY = ["--states", "3", "--trajectories", "3", "--steps", "20", "--svi-steps", "30", "--samples", "20",
        "--no-progress"]


@pytest.fixture(scope="module")
def lq_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lq")
    rc = cli.main(["calibrate", "--system", "lq", "--path", "constant", "--method", "svi", "--out", str(out), *TINY,
                   "--no-time-step-check"])  # the check runs in the slow spreadsheet test
    return rc, out


def test_calibrate_writes_all_outputs(lq_run):
    rc, out = lq_run
    assert rc == 0
    for name in ("posterior.nc", "summary.csv", "summary.md", "trajectories.png", "path.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    md = (out / "summary.md").read_text()
    assert "**convergence**: NOT converged: 30 SVI steps are too few" in md
    assert "**predictive coverage**: " in md and "**failures**: " in md


def test_posterior_netcdf_groups_and_dims(lq_run):
    _, out = lq_run
    tree = bm.load(out / "posterior.nc")
    for group in ("posterior", "posterior_predictive", "log_likelihood", "observed_data", "sample_stats"):
        assert group in tree.children, group
    post = tree["posterior"]
    assert post["gamma"].dims == ("chain", "draw")
    assert post["gamma"].shape == (1, 20)
    assert np.all(post["gamma"].values > 0)
    det = tree["posterior_deterministic"]  # the paths and mu: not in posterior (ArviZ's default view)
    assert list(post.data_vars) == ["gamma"]
    assert det["gamma_path"].dims == ("chain", "draw", "time_step")  # shared by the 3 trajectories: once
    assert det["gamma_path"].shape[2:] == (20,)
    assert tree["posterior_predictive"]["obs"].dims == ("chain", "draw", "trajectory", "time", "state")
    assert tree["observed_data"]["obs"].shape == (3, 20, 3)
    assert bool(tree["observed_data"]["mask"].values.all()) and "mask" not in tree["observed_data"].data_vars


def test_summary_csv_has_gamma_row(lq_run):
    _, out = lq_run
    with open(out / "summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["parameter"] for r in rows] == ["gamma"]
    row = rows[0]
    assert float(row["truth"]) == pytest.approx(1.55)
    assert float(row["q3%"]) <= float(row["mean"]) <= float(row["q97%"])
    assert float(row["sd"]) > 0
    assert int(row["failed_solve_draws"]) == 0
    assert "| gamma |" in (out / "summary.md").read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["calibrate", "--system", "lq", "--path", "neural", "--method", "nuts"], "--method svi"),
        (["calibrate", "--system", "weather"], "invalid choice"),
        (["calibrate", "--system", "mobility", "--truth", "arc"], "--truth applies to --system lq, sir, cybersecurity only"),
        (["calibrate", "--system", "cybersecurity", "--states", "5"], "--states"),
        (["calibrate", "--system", "lq", "--trajectories", "0"], "--trajectories must be >= 1"),
        (["calibrate", "--system", "lq", "--data", "/nonexistent/file.csv"], "no such file"),
    ],
)
def test_bad_options_are_argparse_errors(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv, "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_read_csv_missing_rows_are_masked(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        "trajectory,time,state,value\n"
        "a,0.0,s0,0.5\na,0.0,s1,0.5\n"
        "a,1.0,s0,0.25\n"  # s1 at t=1 missing
        "b,0.0,s0,0.1\nb,0.0,s1,0.9\nb,1.0,s0,0.3\nb,1.0,s1,0.7\n"
    )
    data = bm.Observations.from_csv(path, ("s0", "s1"))
    assert data.trajectory_names == ("a", "b")
    np.testing.assert_allclose(data.times, [0.0, 1.0])
    assert data.mask.shape == (2, 2, 2)
    assert not data.mask[0, 1, 1] and data.mask.sum() == 7
    assert data.values[1, 1, 1] == pytest.approx(0.7)


def test_read_csv_rejects_bad_columns(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("traj,t,state,value\n0,0,s0,1\n")
    with pytest.raises(ValueError, match="columns"):
        bm.Observations.from_csv(path)


def test_observations_csv_round_trip(tmp_path):
    game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    values = np.random.default_rng(3).dirichlet(np.ones(3), size=(2, 5))
    data = bm.Observations.from_arrays(values, game.time_grid[::4])
    data.to_csv(tmp_path / "data.csv")
    back = bm.Observations.from_csv(tmp_path / "data.csv", tuple(game.state_names))
    np.testing.assert_array_equal(back.values, data.values)
    np.testing.assert_array_equal(back.times, data.times)


@pytest.mark.slow  # a second CLI calibration (the CSV I/O itself is tested without it, above)
def test_csv_data_round_trip(tmp_path):
    game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    sim = bm.datasets.simulate(game, {"gamma": 1.55}, 2, bm.observe.Dirichlet(1000.0), seed=3)
    path = tmp_path / "data.csv"
    sim.data.to_csv(path)
    back = bm.Observations.from_csv(path, tuple(game.state_names))
    np.testing.assert_array_equal(back.values, sim.data.values)
    np.testing.assert_array_equal(back.times, sim.data.times)
    out = tmp_path / "out"
    rc = cli.main(["calibrate", "--system", "lq", "--states", "3", "--steps", "20", "--data", str(path),
                   "--guide", "delta", "--svi-steps", "20", "--samples", "5", "--no-progress", "--no-time-step-check",
                   "--out", str(out)])
    assert rc == 0
    tree = bm.load(out / "posterior.nc")
    np.testing.assert_allclose(tree["observed_data"]["obs"].values, sim.data.values)
    assert "mu0" in tree["posterior"]  # CSV data carry no mu0: it is inferred
    with open(out / "summary.csv") as fh:
        row = next(csv.DictReader(fh))
    assert row["parameter"] == "gamma" and row["truth"] == "nan"
    assert "time step check" not in (out / "summary.md").read_text()


def test_cli_choices_match_the_library():
    from bayes_mfg import cli
    from bayes_mfg import inference as infer

    assert cli.GUIDES == infer.GUIDES
    assert cli.NUTS_INITS == infer.NUTS_INITS


def test_summary_diagnostics_come_from_arviz_stats():
    import arviz_stats as azs
    import xarray as xr

    rng = np.random.default_rng(0)
    gamma = rng.normal(1.5, 0.1, (2, 50))
    path = rng.normal(1.0, 0.1, (2, 50, 3, 4))
    post = xr.Dataset({"gamma": (("chain", "draw"), gamma),
                       "beta_path": (("chain", "draw", "trajectory", "time_step"), path)})
    tree = xr.DataTree.from_dict({"posterior": post})
    rows = cli.summarize(tree, ["gamma", "beta"], method="nuts", truth_paths={"beta": np.ones(4)})
    assert [r["statistic"] for r in rows] == ["value", "time-mean of path"]
    assert rows[0]["r_hat"] == pytest.approx(float(azs.rhat(gamma)))
    assert rows[0]["ess_bulk"] == pytest.approx(float(azs.ess(gamma, method="bulk")))
    assert rows[1]["r_hat"] == pytest.approx(float(azs.rhat(path.reshape(2, 50, -1).mean(-1))))
    assert rows[1]["path_rmse"] > 0
    svi = cli.summarize(tree, ["gamma"], method="svi")
    assert np.isnan(svi[0]["r_hat"]) and np.isnan(svi[0]["ess_bulk"])


def _csv(tmp_path, text):
    path = tmp_path / "data.csv"
    path.write_text(text)
    return str(path)


#: every error path of the commands after option parsing: (argv builder, message, hint)
CLI_ERRORS = {
    "duplicate csv row": (lambda p: ["calibrate", "--system", "sir", "--data", _csv(
        p, "trajectory,time,state,value\n0,0,S,0.9\n0,0,S,0.9\n")], "was already given on line 2", "--data expects"),
    "wide csv off the simplex": (lambda p: ["calibrate", "--system", "sir", "--data", _csv(
        p, "trajectory;time;S;I;R\n0;0;0,5;0,2;0,1\n")], "fractions must sum to 1 within", "--data expects"),
    "decimal comma": (lambda p: ["calibrate", "--system", "sir", "--data", _csv(
        p, "trajectory,time,state,value\n0,0,S,0,9\n")], "5 fields where the header has 4", "--data expects"),
    "unknown state": (lambda p: ["calibrate", "--system", "sir", "--data", _csv(
        p, "trajectory,time,state,value\n0,0,X,1\n")], "unknown state 'X'", "--data expects"),
    "off-grid times": (lambda p: ["calibrate", "--system", "sir", "--steps", "7", "--horizon", "1", "--data", _csv(
        p, "trajectory,time,state,value\n0,0,S,0.99\n0,0,I,0.01\n0,0,R,0\n0,0.13,S,0.9\n0,0.13,I,0.1\n0,0.13,R,0\n")],
        "must lie on the game's time grid", "--steps"),
    "report of a damaged fit": (lambda p: ["report", _csv(p, "not netcdf"), "--out", str(p / "r.html")],
                                "cannot read a fit", "report --help"),
}


@pytest.mark.parametrize("case", sorted(CLI_ERRORS))
def test_every_cli_error_is_one_line_and_a_hint_with_status_2(case, tmp_path, capsys):
    build, message, hint = CLI_ERRORS[case]
    argv = build(tmp_path)
    if argv[0] == "calibrate":
        argv += ["--out", str(tmp_path / "x")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("bayes-mfg: error:") and lines[1].startswith("hint:"), err
    assert message in lines[0] and hint in lines[1] and "Traceback" not in err


def test_an_unexpected_exception_is_one_line_with_status_1(tmp_path, capsys, monkeypatch):
    import bayes_mfg.cli.commands as commands

    monkeypatch.setattr(commands, "calibrate", lambda args: {}["boom"])
    assert cli.main(["calibrate", "--system", "sir", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bayes-mfg: internal error: KeyError") and "Traceback" not in err
    monkeypatch.setenv("BAYES_MFG_DEBUG", "1")
    with pytest.raises(KeyError):
        cli.main(["calibrate", "--system", "sir", "--out", str(tmp_path / "x")])


def test_help_and_version_import_no_jax_and_answer_within_a_second():
    import subprocess
    import sys
    import time

    probe = ("import sys, contextlib, io\n"
             "from bayes_mfg import cli\n"
             "for argv in (['--version'], ['calibrate', '--help']):\n"
             "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:\n"
             "        cli.main(argv)\n"
             "    assert out.getvalue().strip(), argv\n"
             "print(sorted(m for m in ('jax', 'numpy', 'numpyro', 'arviz') if m in sys.modules))\n")
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    assert run.stdout.strip() == "[]", run.stdout + run.stderr
    assert elapsed < 1.0, f"--help and --version took {elapsed:.2f} s"
