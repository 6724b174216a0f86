"""Scaling benchmark: forward solve and implicit gradient vs the number of states d and of steps N.

Run as::

    python -m benchmarks.scaling [--quick] [--repeats 5] [--out benchmarks/results/scaling.json]

Setting
-------
* Dense rates: ``LinearQuadratic(n_states=d)`` (all-to-all moves, d (d - 1) rates per step)
  for d in {3, 8, 32, 128} at N = 100, and N in {50, 100, 400} at d = 8.
* Sparse rates: ``NeighbourLinearQuadratic.torus(s, s)`` (d = s^2 states, moves to the 4
  adjacent cells, 4 d rates per step, target state 0) for d in {64, 256, 1024, 4096} at N = 100,
  and N in {50, 100, 400} at d = 1024.
(``--quick``: dense d in {3, 8, 32}, sparse d in {256, 1024}, N in {50, 100}.)
Both at gamma = 1.55 and the other parameters at their defaults, T = 2, the default
(implicit) time step, ``Anderson()`` to 1e-10 and ``ImplicitAdjoint()``; ``mu0`` is a
Dirichlet(1) draw (seed 0) and the loss is ``sum(W * mu*)`` with a fixed standard-normal W
(seed 1).

Measured per case: the median time of the jitted forward solve and of the jitted
value-and-gradient (with respect to gamma) over ``--repeats`` interleaved rounds after a
compiling call of each (``benchmarks/_timing.py``),
their ratio, the solver's iterations and final residual, and the temporary memory XLA
allocates for the gradient (``compiled.memory_analysis().temp_size_in_bytes``, where the
backend reports it). The cost model is reported as the least-squares slope of log(time)
against log(d) (dense), log(number of nonzero rates per step) (sparse) and log(N).
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import bayes_mfg as bm
from benchmarks._timing import benchmark_parser, markdown_table, save_report, time_interleaved
from benchmarks._timing import log_log_slope as slope

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "scaling.json"


def dense_game(d: int, n: int):
    return bm.games.LinearQuadratic(n_states=d, n_times=n)


def sparse_game(d: int, n: int):
    side = int(round(d**0.5))
    if side * side != d:
        raise ValueError(f"sparse sizes must be squares (torus side x side), got d = {d}")
    return bm.games.NeighbourLinearQuadratic.torus(side, side, n_times=n)


def nonzero_rates(game) -> int:
    nbr = game.neighbours
    d = game.n_states
    return d * (d - 1) if nbr is None else int(np.sum(nbr != np.arange(d)[:, None]))


def measure(kind: str, game, repeats: int) -> dict:
    d, n = game.n_states, game.n_times
    mu0 = jnp.asarray(np.random.default_rng(0).dirichlet(np.ones(d)))
    w = jnp.asarray(np.random.default_rng(1).normal(size=(n, d)))
    forward = jax.jit(lambda g: bm.equilibrium(game, {"gamma": g}, mu0))
    grad = jax.jit(jax.value_and_grad(lambda g: jnp.sum(w * bm.equilibrium(game, {"gamma": g}, mu0).mu)))
    timed = time_interleaved({"forward": (forward, (1.55,)), "gradient": (grad, (1.55,))}, repeats)
    (eq, t_fwd), ((_, g), t_grad) = timed["forward"], timed["gradient"]
    try:
        mem = grad.lower(1.55).compile().memory_analysis()
        temp = int(mem.temp_size_in_bytes) if mem is not None else None
    except Exception:  # noqa: BLE001  (not every backend reports it)
        temp = None
    return {
        "kind": kind, "d": d, "N": n, "nonzero_rates_per_step": nonzero_rates(game),
        "iterations": int(eq.info.iterations), "residual": float(eq.info.residual), "converged": bool(eq.converged),
        "forward_median_s": t_fwd["median_s"], "gradient_median_s": t_grad["median_s"],
        "gradient_over_forward": t_grad["median_s"] / t_fwd["median_s"],
        "forward_compile_s": t_fwd["compile_s"], "gradient_compile_s": t_grad["compile_s"],
        "gradient_temp_bytes": temp, "gradient_finite": bool(np.isfinite(float(g))),
    }


def main(argv: list[str] | None = None) -> dict:
    args = benchmark_parser(__doc__, RESULTS_PATH).parse_args(argv)
    dense_d = (3, 8, 32) if args.quick else (3, 8, 32, 128)
    sparse_d = (256, 1024) if args.quick else (64, 256, 1024, 4096)
    steps = (50, 100) if args.quick else (50, 100, 400)
    t0 = time.perf_counter()
    cases = []
    plan = [("dense", d, 100) for d in dense_d] + [("dense", 8, n) for n in steps if n != 100]
    plan += [("sparse", d, 100) for d in sparse_d] + [("sparse", 1024, n) for n in steps if n != 100]
    for kind, d, n in plan:
        game = dense_game(d, n) if kind == "dense" else sparse_game(d, n)
        cases.append(measure(kind, game, args.repeats))
        c = cases[-1]
        print(f"  {kind} d={d} N={n}: forward {c['forward_median_s']:.4f} s, gradient {c['gradient_median_s']:.4f} s",
              flush=True)

    def pick(kind, vary):
        fixed = {"d": 8 if kind == "dense" else 1024} if vary == "N" else {"N": 100}
        rows = [c for c in cases if c["kind"] == kind and all(c[k] == v for k, v in fixed.items())]
        return sorted(rows, key=lambda c: c[vary])

    slopes = {}
    for kind, x_of in (("dense", lambda c: c["d"]), ("sparse", lambda c: c["nonzero_rates_per_step"])):
        rows = pick(kind, "d")
        label = "log d" if kind == "dense" else "log nonzero rates"
        for what in ("forward", "gradient"):
            slopes[f"{kind}: {what} vs {label}"] = slope([x_of(c) for c in rows], [c[f"{what}_median_s"] for c in rows])
        rows = pick(kind, "N")
        for what in ("forward", "gradient"):
            slopes[f"{kind}: {what} vs log N"] = slope([c["N"] for c in rows], [c[f"{what}_median_s"] for c in rows])

    print(f"\nForward solve and gradient (median of {args.repeats} calls, {jax.default_backend()})\n")
    rows = [[c["kind"], c["d"], c["N"], c["nonzero_rates_per_step"], c["iterations"], f"{c['residual']:.1e}",
             f"{c['forward_median_s']:.4f}", f"{c['gradient_median_s']:.4f}", f"{c['gradient_over_forward']:.2f}",
             "n/a" if c["gradient_temp_bytes"] is None else f"{c['gradient_temp_bytes'] / 2**20:.1f}"] for c in cases]
    print(markdown_table(["rates", "d", "N", "nonzero rates / step", "iterations", "residual", "forward [s]",
                          "gradient [s]", "gradient / forward", "gradient temp memory [MiB]"], rows))
    print()
    print(markdown_table(["log-log slope", "value"], [[k, f"{v:.2f}"] for k, v in slopes.items()]))
    return save_report(args.out, t0, args.quick, cases=cases, slopes=slopes)


if __name__ == "__main__":
    main()
