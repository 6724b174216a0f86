"""Parity with MFGLib: our equilibrium policies scored by MFGLib, next to MFGLib's own solvers.

For each shared environment (MFGLib's defaults: beach bar, left-right, rock-paper-scissors,
susceptible-infected, crowd motion) this solves our entropy-regularised equilibrium over a
ladder of temperatures ``tau``, scores every policy with MFGLib's ``exploitability_score``
(unregularised, MFGLib's definition) and with :func:`bayes_mfg.exploitability`
(``regularised=False``; the two must agree), and runs MFGLib's solvers (fictitious play,
online mirror descent, prior descent) for ``--iterations`` iterations.

MFGLib needs PyTorch; it may live in another Python environment, so the two sides meet
through files: ``--mfglib-python`` (or ``BAYES_MFG_MFGLIB_PYTHON``) names an interpreter with
``mfglib`` installed, which runs ``experiments/_mfglib_side.py``. Without one the script says
so and stops.

Usage: ``python -m experiments.mfglib_parity [--mfglib-python PATH] [--iterations 100] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import bayes_mfg as bm

HERE = Path(__file__).resolve().parent
TAUS = (1.0, 0.3, 0.1, 0.03, 0.01)

# MFGLib's seed-0 attractor path of the default crowd motion (T = 3), read off an mfglib run
CROWD_BAR = np.array([[10, 10], [10, 10], [9, 11], [9, 11]], dtype=float)


def environments():
    """name -> (game factory of tau, mu0, params): MFGLib's default instances."""
    return {
        "beach_bar": (lambda tau: bm.games.BeachBar(temperature=tau), [0.25] * 4, {}),
        "left_right": (lambda tau: bm.games.LeftRight(temperature=tau), [1.0, 0.0, 0.0], {}),
        "rock_paper_scissors": (lambda tau: bm.games.RockPaperScissors(temperature=tau), [1.0, 0.0, 0.0, 0.0], {}),
        "susceptible_infected": (lambda tau: bm.games.SusceptibleInfected(temperature=tau), [0.4, 0.6], {}),
        "crowd_motion": (lambda tau: bm.games.CrowdMotion(temperature=tau), [1 / 400] * 400, {"bar_location": CROWD_BAR}),
    }


def find_mfglib_python(given: str | None) -> str | None:
    """An interpreter that can ``import mfglib``: the given one, the env var, or this one."""
    for candidate in (given, os.environ.get("BAYES_MFG_MFGLIB_PYTHON"), sys.executable):
        if candidate and (shutil.which(candidate) or Path(candidate).exists()):
            probe = subprocess.run([candidate, "-c", "import mfglib.alg"], capture_output=True)
            if probe.returncode == 0:
                return candidate
    return None


def _solve(game, mu0, params):
    """Our equilibrium: the default solver, then online mirror descent if that does not converge."""
    for solver in (None, bm.OnlineMirrorDescent(learning_rate=1.0, max_iter=5000)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            eq = bm.equilibrium(game, params, mu0, solver=solver)
            eq.mu.block_until_ready()
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            eq = bm.equilibrium(game, params, mu0, solver=solver)
            eq.mu.block_until_ready()
            warm = time.perf_counter() - t0
        if bool(eq.converged):
            break
    return eq, ("Anderson" if solver is None else "OnlineMirrorDescent"), first, warm


def ours(taus):
    rows, policies = [], {}
    for name, (make, mu0, params) in environments().items():
        for tau in taus:
            game = make(tau)
            eq, solver, first, warm = _solve(game, mu0, params)
            score = float(bm.exploitability(game, params, mu0, eq, regularised=False))
            rows.append(dict(env=name, tau=tau, solver=solver, converged=bool(eq.converged),
                             residual=float(eq.info.residual), iterations=int(eq.info.iterations),
                             seconds_first_call=first, seconds_warm=warm, exploitability_ours=score))
            policies[f"{name}__tau={tau}"] = np.asarray(eq.policy)
    return rows, policies


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mfglib-python", default=None, help="interpreter with mfglib installed")
    ap.add_argument("--iterations", type=int, default=100, help="iterations of each MFGLib solver")
    ap.add_argument("--quick", action="store_true", help="three temperatures, 20 MFGLib iterations")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "mfglib_parity.json")
    args = ap.parse_args(argv)
    python = find_mfglib_python(args.mfglib_python)
    if python is None:
        print("mfglib is not available (pass --mfglib-python or set BAYES_MFG_MFGLIB_PYTHON): nothing to compare")
        return
    taus = TAUS[:3] if args.quick else TAUS
    iterations = 20 if args.quick else args.iterations
    rows, policies = ours(taus)
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "policies.npz", **policies)
        subprocess.run([python, str(HERE / "_mfglib_side.py"), str(Path(tmp) / "policies.npz"),
                        str(Path(tmp) / "mfglib.json"), str(iterations)], check=True)
        theirs = json.loads((Path(tmp) / "mfglib.json").read_text())
    for row in rows:
        row["exploitability_mfglib"] = theirs["envs"][row["env"]]["ours"][f"tau={row['tau']}"]

    print(f"\nOur policies (equilibria of the tau-regularised game), scored by MFGLib {theirs['mfglib']} and by us")
    print(f"{'environment':22s} {'tau':>6s} {'solver':>20s} {'iters':>6s} {'expl (MFGLib)':>14s} {'expl (ours)':>12s} "
          f"{'1st call [s]':>12s} {'warm [s]':>9s}")
    for r in rows:
        print(f"{r['env']:22s} {r['tau']:6.2g} {r['solver']:>20s} {r['iterations']:6d} {r['exploitability_mfglib']:14.3e} "
              f"{r['exploitability_ours']:12.3e} {r['seconds_first_call']:12.3f} {r['seconds_warm']:9.4f}"
              + ("" if r["converged"] else "  NOT CONVERGED"))
    print(f"\nBest of each side ({iterations} MFGLib iterations; MFGLib's times include its per-iteration scoring)")
    print(f"{'environment':22s} {'ours: expl':>11s} {'tau':>6s} {'warm [s]':>9s} | {'MFGLib best solver':>20s} "
          f"{'expl':>10s} {'at iter':>7s} {'time to it [s]':>14s}")
    summary = {}
    for name in environments():
        mine = [r for r in rows if r["env"] == name and r["converged"]]
        best_ours = min(mine, key=lambda r: r["exploitability_mfglib"]) if mine else None
        solvers = theirs["envs"][name]["mfglib"]
        best_name = min(solvers, key=lambda s: solvers[s]["best_exploitability"])
        b = solvers[best_name]
        summary[name] = dict(ours=best_ours, mfglib_best_solver=best_name, mfglib=b)
        o = best_ours or dict(exploitability_mfglib=float("nan"), tau=float("nan"), seconds_warm=float("nan"))
        print(f"{name:22s} {o['exploitability_mfglib']:11.3e} {o['tau']:6.2g} {o['seconds_warm']:9.4f} | {best_name:>20s} "
              f"{b['best_exploitability']:10.3e} {b['best_iteration']:7d} {b['seconds_to_best']:14.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(rows=rows, mfglib=theirs, summary=summary, iterations=iterations), indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
