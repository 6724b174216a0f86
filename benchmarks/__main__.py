"""Run the benchmark suite: ``python -m benchmarks [--quick] [--only NAME ...] [--out-dir DIR]``.

Each benchmark prints its tables and writes ``DIR/<name>.json`` (default
``benchmarks/results`` on CPU and ``benchmarks/results/<backend>`` on an accelerator, so
GPU results are kept apart from CPU results); all of them time through one harness,
``benchmarks/_timing.py``:

* ``scaling``: forward solve and gradient vs d (dense and sparse rates) and N;
* ``seed_comparison``: the default gradient vs the seed paper's algorithm, vmap vs a loop;
* ``equilibrium``: the forward solvers and gradient methods on LQ, including a congested regime;
* ``calibration``: log-density gradient, NUTS (ESS per second) and SVI (steps per second);
* ``grid_games``: continuous-state games on 1-D and 2-D grids (forward and gradient vs d).

At the end it prints the headline: the median forward solve (``Anderson``) and
value-and-gradient (``ImplicitAdjoint``, GMRES) of the linear-quadratic game at d = 8 and
d = 32, from every benchmark that measured them (``--quick`` leaves d = 32 out of
``equilibrium``), and writes it to ``DIR/headline.json``.

Run on their own (long, not part of the suite): ``python -m benchmarks.schemes`` (the time
steppers' order and cost) and ``python -m benchmarks.japan_nuts`` (the national NUTS fit of
the Japan COVID-19 study) and ``python -m benchmarks.readme_example`` (the README's first
example, statement by statement, as a new user first runs it).

The seed paper's grid, MFGLib parity and the real-data analyses are experiments, not
benchmarks: ``python -m experiments.<name>``.
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

import jax

from benchmarks._timing import markdown_table, write_json

BENCHMARKS = ("scaling", "seed_comparison", "equilibrium", "calibration", "grid_games")
HEADLINE_DIMS = (8, 32)


def headline(reports: dict[str, dict]) -> list[dict]:
    """``[{"source", "d", "forward_median_s", "gradient_median_s"}]`` for LQ at d in {8, 32}."""
    rows = []
    for case in reports.get("equilibrium", {}).get("cases", []):
        if case["regime"] == "baseline" and case["d"] in HEADLINE_DIMS:
            rows.append({"source": "equilibrium (baseline regime)", "d": case["d"],
                         "forward_median_s": case["forward"]["anderson"]["timing"]["median_s"],
                         "gradient_median_s": case["gradient"]["implicit-gmres"]["timing"]["median_s"]})
    for case in reports.get("scaling", {}).get("cases", []):
        if case["kind"] == "dense" and case["N"] == 100 and case["d"] in HEADLINE_DIMS:
            rows.append({"source": "scaling (dense, N = 100)", "d": case["d"],
                         "forward_median_s": case["forward_median_s"], "gradient_median_s": case["gradient_median_s"]})
    return rows


def main(argv: list[str] | None = None) -> dict[str, dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the small settings of every benchmark")
    ap.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    ap.add_argument("--out-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    backend = jax.default_backend()
    out_dir = args.out_dir or Path(__file__).resolve().parent / "results" / ("" if backend == "cpu" else backend)
    reports = {}
    for name in args.only:
        print(f"\n===== {name} ({backend}) =====", flush=True)
        t0 = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        reports[name] = module.main([*(["--quick"] if args.quick else []), "--out", str(out_dir / f"{name}.json")])
        print(f"===== {name}: {time.perf_counter() - t0:.0f} s =====", flush=True)
    rows = headline(reports)
    if rows:
        print(f"\nHeadline: linear-quadratic game, median times [ms] ({backend})\n")
        print(markdown_table(["source", "d", "forward", "value and gradient"],
                             [[r["source"], r["d"], f"{r['forward_median_s'] * 1e3:.2f}",
                               f"{r['gradient_median_s'] * 1e3:.2f}"] for r in rows]))
        write_json(out_dir / "headline.json", {"backend": backend, "quick": args.quick, "rows": rows})
    return reports


if __name__ == "__main__":
    main()
