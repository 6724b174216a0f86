"""Run the benchmark suite: ``python -m benchmarks [--quick] [--only NAME ...] [--out-dir DIR]``.

Each benchmark prints its tables and writes ``DIR/<name>.json`` (default
``benchmarks/results`` on CPU and ``benchmarks/results/<backend>`` on an accelerator, so
GPU results are kept apart from CPU results):

* ``scaling``: forward solve and gradient vs d (dense and sparse rates) and N;
* ``seed_comparison``: the default gradient vs the seed paper's algorithm, vmap vs a loop;
* ``equilibrium``: the forward solvers and gradient methods on LQ, including a congested regime;
* ``calibration``: log-density gradient, NUTS (ESS per second) and SVI (steps per second).
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

import jax

BENCHMARKS = ("scaling", "seed_comparison", "equilibrium", "calibration")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the small settings of every benchmark")
    ap.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    ap.add_argument("--out-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    backend = jax.default_backend()
    out_dir = args.out_dir or Path(__file__).resolve().parent / "results" / ("" if backend == "cpu" else backend)
    for name in args.only:
        print(f"\n===== {name} ({backend}) =====", flush=True)
        t0 = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        flag = "--output" if name == "equilibrium" else "--out"
        module.main([*(["--quick"] if args.quick else []), flag, str(out_dir / f"{name}.json")])
        print(f"===== {name}: {time.perf_counter() - t0:.0f} s =====", flush=True)


if __name__ == "__main__":
    main()
