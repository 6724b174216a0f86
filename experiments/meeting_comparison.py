"""Meeting data: the game vs the game + a neural residual cost vs a neural Fokker–Planck model.

The data of :mod:`experiments.meeting_recovery` (arrival counts of 42 attendees per
interval, ``J`` meetings, exact sequential-binomial likelihood on the entry hazard) are fitted
by three models:

* **game**: the meeting-time game (quorum and three cost weights, kappa = 1 fixed);
* **game + neural residual**: the same game with a residual running cost ``r(t, x)``, a
  state-shared Bayesian network of time and distance (:class:`bayes_mfg.paths.NeuralField`
  on ``cost_residual``); still an equilibrium;
* **neural Fokker–Planck**: no game (:class:`bayes_mfg.games.GridDynamics`): the travel
  drift ``b(t, x)`` is a state-shared Bayesian network, no HJB, no quorum.

Each is fitted by SVI with a mean-field normal guide and compared by PSIS-LOO over meetings
(exact K-fold refits where Pareto k is bad), :func:`bayes_mfg.compare`.

Run::

    python -m experiments.meeting_comparison [--meetings 12] [--steps 1500]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import bayes_mfg as bm
from benchmarks._timing import save_report
from experiments.meeting_recovery import meeting_problem

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "meeting_comparison.json"


def models(n_meetings: int, seed: int):
    game_model, data, _ = meeting_problem(n_meetings, seed)
    game = game_model.game
    field = dict(points=game.points, inputs=("t", "x"), hidden=(8,), bayesian=True, prior_scale=0.5)
    residual = bm.CalibrationModel(
        game, {**game_model.paths, "cost_residual": bm.paths.NeuralField(**field)}, game_model.observation,
        readout=game_model.readout, mu0_source="data")
    dynamics = bm.games.GridDynamics(grid=game.grid, sigma=game.sigma, horizon=game.horizon, n_times=game.n_times)
    neural_fp = bm.CalibrationModel(
        dynamics, {"drift": bm.paths.NeuralField(**field, init_value=-0.5)}, game_model.observation,
        readout=game_model.readout, mu0_source="data")
    return {"game": game_model, "game + neural residual": residual, "neural Fokker-Planck": neural_fp}, data


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    ap.add_argument("--meetings", type=int, default=12)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--kfold", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    built, data = models(args.meetings, args.seed)
    fits, seconds = {}, {}
    for name, model in built.items():
        t = time.perf_counter()
        fits[name] = bm.fit_svi(model, data, guide="normal", num_steps=args.steps, learning_rate=0.02,
                                seed=args.seed, progress_bar=False)
        seconds[name] = time.perf_counter() - t
        print(f"{name}: SVI {args.steps} steps in {seconds[name]:.0f} s, final loss {float(fits[name].losses[-1]):.1f}")
    comparison = bm.compare(fits, unit="trajectory", kfold=args.kfold, seed=args.seed)
    print()
    print(comparison.to_markdown())
    rows = comparison.table.reset_index().to_dict(orient="records")
    return save_report(args.out, t0, False, comparison=rows, fit_seconds=seconds, meetings=args.meetings,
                       steps=args.steps, kfold=args.kfold, priors={"field_prior_scale": 0.5, "hidden": [8]})


if __name__ == "__main__":
    main()
