"""Two checkouts of the library, timed against each other in one run (before/after a change).

Run as::

    python -m benchmarks.versus --baseline /path/to/other/checkout [--rounds 6] [--calls 20]

Each round starts one child process per checkout (in alternating order, so slow drifts of
the machine fall on both equally); the child imports ``bayes_mfg`` from its checkout and times,
through the same protocol as ``benchmarks/_timing.py`` (a warm-up call excluded, then
``--calls`` consecutive calls with ``block_until_ready``), the headline settings: the
forward solve (default solver, ``Anderson``) and ``jax.value_and_grad`` of
``loss(gamma) = sum(W * mu*(gamma))`` (default ``ImplicitAdjoint``) on
``LinearQuadratic(n_states=d)`` (T = 2, N = 100, implicit scheme) at ``gamma = 1.55`` with
``mu0 ~ Dirichlet(1)`` (``default_rng(0)``) and standard-normal ``W`` (``default_rng(1)``),
for d in ``--dims`` (default 8 and 32). Only public API present in both checkouts is used.
It prints, per case, the median over rounds of each checkout's per-round medians and the
ratio current / baseline, and writes all raw numbers to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks._timing import machine_info, markdown_table, write_json

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = ROOT / "benchmarks" / "results" / "versus.json"

CHILD = r"""
import json, statistics, sys, time
import jax, jax.numpy as jnp, numpy as np
import bayes_mfg as bm
dims, calls = json.loads(sys.argv[1]), int(sys.argv[2])
out = {"bayes_mfg": bm.__file__}
for d in dims:
    game = bm.games.LinearQuadratic(n_states=d)
    mu0 = jnp.asarray(np.random.default_rng(0).dirichlet(np.ones(d)))
    w = jnp.asarray(np.random.default_rng(1).normal(size=(len(game.time_grid), d)))  # both namings
    forward = jax.jit(lambda g: bm.equilibrium(game, {"gamma": g}, mu0).mu)
    grad = jax.jit(jax.value_and_grad(lambda g: jnp.sum(w * bm.equilibrium(game, {"gamma": g}, mu0).mu)))
    for name, fn in (("forward", forward), ("gradient", grad)):
        t0 = time.perf_counter(); jax.block_until_ready(fn(1.55)); compile_s = time.perf_counter() - t0
        raw = []
        for _ in range(calls):
            t0 = time.perf_counter(); jax.block_until_ready(fn(1.55)); raw.append(time.perf_counter() - t0)
        out[f"{name}-d{d}"] = {"median_s": statistics.median(raw), "compile_s": compile_s, "raw_s": raw}
print("RESULT " + json.dumps(out))
"""


def run_child(tree: Path, dims: list[int], calls: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(dims), str(calls)], cwd=tree, env=env,
                          capture_output=True, text=True, check=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, required=True, help="the other checkout (its root folder)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--dims", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = ap.parse_args(argv)
    trees = {"baseline": args.baseline.resolve(), "current": ROOT}
    rounds: dict[str, list[dict]] = {k: [] for k in trees}
    for r in range(args.rounds):
        order = list(trees) if r % 2 == 0 else list(trees)[::-1]
        for name in order:
            rounds[name].append(run_child(trees[name], args.dims, args.calls))
            print(f"round {r + 1}/{args.rounds}: {name} done", flush=True)
    cases = [k for k in rounds["current"][0] if k != "bayes_mfg"]
    rows, summary = [], {}
    for case in cases:
        med = {name: statistics.median(x[case]["median_s"] for x in rounds[name]) for name in trees}
        comp = {name: statistics.median(x[case]["compile_s"] for x in rounds[name]) for name in trees}
        ratio = med["current"] / med["baseline"]
        summary[case] = {"median_s": med, "compile_s": comp, "ratio_current_over_baseline": ratio}
        rows.append([case, f"{med['baseline'] * 1e3:.3f}", f"{med['current'] * 1e3:.3f}", f"{ratio:.3f}",
                     f"{comp['baseline']:.2f}", f"{comp['current']:.2f}"])
    print(markdown_table(["case", "baseline [ms]", "current [ms]", "current / baseline",
                          "compile baseline [s]", "compile current [s]"], rows))
    report = {"machine": machine_info(), "trees": {k: str(v) for k, v in trees.items()}, "rounds": args.rounds,
              "calls": args.calls, "summary": summary, "raw": rounds}
    write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()
