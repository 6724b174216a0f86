"""Epsilon-Nash tables: one agent's gain from deviating, in populations of N agents.

For a discrete-time game (BeachBar, 5 positions, 6 nights, tau = 0.3, uniform start), a
continuous-time game with closed-form rates (LinearQuadratic, d = 3, N = 50 time points,
explicit Euler, gamma = 1.55) and a finite-action game (Cybersecurity, tau = 0.3, 50 time
points, implicit Euler), :func:`bayes_mfg.epsilon_nash` simulates 64 populations of each size
N in {10, 100, 1000, 3000} playing the equilibrium policy and scores one agent's best
deviation against each realised flow. Printed: the tables and slopes; written: JSON.

Run::

    python -m experiments.epsilon_nash [--out experiments/results/epsilon_nash.json]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import bayes_mfg as bm
from benchmarks._timing import save_report

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "epsilon_nash.json"
SIZES = (10, 100, 1000, 3000)


def cases() -> dict:
    return {
        "BeachBar (discrete time, tau 0.3)": (bm.games.BeachBar(n_states=5, n_times=6, temperature=0.3), {}, [0.2] * 5),
        "LinearQuadratic (d 3, Euler)": (bm.games.LinearQuadratic(n_states=3, n_times=50, scheme="euler"),
                                         {"gamma": 1.55}, [0.6, 0.3, 0.1]),
        "Cybersecurity (tau 0.3, implicit)": (bm.games.Cybersecurity(temperature=0.3, n_times=50), {}, [0.25] * 4),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    ap.add_argument("--reps", type=int, default=64)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    out = {}
    for name, (game, params, mu0) in cases().items():
        eq = bm.equilibrium(game, params, mu0)
        res = bm.epsilon_nash(game, params, mu0, eq, n_agents=SIZES, n_reps=args.reps)
        print(f"\n### {name}\n\n{res.to_markdown()}")
        out[name] = {"n_agents": res.n_agents, "mean_gain": res.mean_gain, "standard_error": res.standard_error,
                     "rms_excess": res.rms_excess, "limit": res.limit, "slope": res.slope,
                     "spread_slope": res.spread_slope}
    return save_report(args.out, t0, False, cases=out, reps=args.reps)


if __name__ == "__main__":
    main()
