"""The spreadsheet scenario: three towns' SIR shares typed into a CSV with the day-0 rows, fitted
from the command line with the default options.

The data: SIR with beta = 0.4, gamma = 0.125, initial shares (0.98, 0.02, 0), (0.97, 0.03, 0),
(0.99, 0.01, 0), Dirichlet(400) noise, simulated on a 1/3-day grid and printed for days 0..40
with three decimals (so some printed shares are 0.000 and rows sum to 1 within rounding); the
day-0 rows are the exact initial shares. The command must choose the grid from the days, learn
the noise, use the day-0 rows, and report a 94% predictive coverage near 94% and convergence.
"""

import csv

import numpy as np
import pytest

import bayes_mfg as bm
from bayes_mfg import cli

pytestmark = pytest.mark.slow

TOWNS = ("Aville", "Bburg", "Ctown")
MU0 = np.array([[0.98, 0.02, 0.0], [0.97, 0.03, 0.0], [0.99, 0.01, 0.0]])


def write_towns_csv(path):
    game = bm.games.SIR(horizon=40.0, n_times=121)
    sim = bm.datasets.simulate(game, {"beta": 0.4, "gamma": 0.125}, 3, bm.observe.Dirichlet(400.0), mu0=MU0, seed=3)
    times = np.asarray(sim.data.times)
    days = [int(np.argmin(abs(times - d))) for d in range(41)]
    shares = np.round(np.asarray(sim.data.values)[:, days], 3)
    shares[:, 0] = MU0
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["trajectory", "time", "state", "value"])
        for j, town in enumerate(TOWNS):
            for d in range(41):
                for x, state in enumerate("SIR"):
                    w.writerow([town, d, state, f"{shares[j, d, x]:.3f}"])
    return shares


def test_a_spreadsheet_fitted_with_the_default_options_is_honest(tmp_path, capsys):
    path = tmp_path / "towns.csv"
    shares = write_towns_csv(path)
    assert (shares == 0).any()  # printed zeros are part of the scenario
    out = tmp_path / "fit"
    assert cli.main(["calibrate", "--system", "sir", "--data", str(path), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    md = (out / "summary.md").read_text()
    assert "horizon 40, 121 grid points" in md  # the grid read off the days
    assert "**time step check**: " in md  # bayes_mfg.time_step_check ran (a default)
    assert "**convergence**: converged: the SVI loss reached a plateau" in md
    coverage = float(md.split("**predictive coverage**: ")[1].split("%")[0]) / 100
    assert abs(coverage - 0.94) <= 0.10, md
    assert "WARNING: predictive coverage" not in printed and "WARNING: failures" not in printed
    tree = bm.load(out / "posterior.nc")
    assert tree["posterior"].sizes["trajectory"] == 3
    # the fitted initial shares sit at the observed day-0 rows, not at a confident wrong start
    mu0 = tree["posterior"]["mu0"].mean(("chain", "draw")).values
    np.testing.assert_allclose(mu0, MU0, atol=0.01)
    rows = {r["parameter"]: r for r in csv.DictReader(open(out / "summary.csv"))}
    for name, truth in (("beta", 0.4), ("gamma", 0.125)):
        assert abs(float(rows[name]["mean"]) - truth) < 0.1 * truth, rows[name]
