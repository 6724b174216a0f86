"""Grid-game benchmark: continuous-state games on 1-D and 2-D grids, forward solve and gradient.

Run as::

    python -m benchmarks.grid_games [--quick] [--repeats 5] [--out benchmarks/results/grid_games.json]

Setting
-------
* 1-D: ``GridLinearQuadratic`` on ``Grid.interval(d, -2, 2)``, sigma = 0.3, T = 1, N = 100,
  for d in {257, 1025} (the issue's target case: d = 1025, N = 100). Rates live on the exact
  tridiagonal :class:`~bayes_mfg.stepping.Chain` structure.
* 2-D: ``GridCongestion`` on ``Grid.box((s, s))``, sigma = 0.1, T = 1, N = 50, congestion 0.05,
  for s in {16, 32, 64} (d = 256 ... 4096; Jacobi-iterated implicit steps on the
  :class:`~bayes_mfg.stepping.Neighbours` structure). ``--quick``: s in {16, 32}, 1-D d = 257 only.
Both from a Gaussian initial law, with ``Anderson()`` to its default tolerance and
``ImplicitAdjoint()``; the loss is the second moment of ``mu_T`` (1-D) or
``sum(W * mu*)`` with a fixed standard-normal W (2-D), differentiated with respect to one
cost weight.

Measured per case: the median time of the jitted forward solve and of the jitted
value-and-gradient over ``--repeats`` interleaved rounds after a compiling call of each
(``benchmarks/_timing.py``), the compile times, the solver's iterations and residual. The
2-D cost model is the least-squares slope of log(time) against log(d).
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

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "grid_games.json"


def one_d_case(d: int, n_times: int, repeats: int) -> dict:
    game = bm.games.GridLinearQuadratic(grid=bm.games.Grid.interval(d, -2.0, 2.0), sigma=0.3, n_times=n_times)
    x = game.points[:, 0]
    mu0 = np.exp(-((x - 0.5) ** 2) / (2 * 0.2**2))
    mu0 = jnp.asarray(mu0 / mu0.sum())
    x2 = jnp.asarray(x**2)

    def solve(q):
        return bm.equilibrium(game, {"state_weight": q, "target": -0.3}, mu0)

    def loss(q):
        return solve(q).mu[-1] @ x2

    return _time(game, solve, loss, 2.0, repeats, {"kind": "1-D interval", "d": d, "N": n_times})


def two_d_case(side: int, n_times: int, repeats: int) -> dict:
    grid = bm.games.Grid.box((side, side))
    game = bm.games.GridCongestion(grid=grid, sigma=0.1, n_times=n_times)
    mu0 = np.exp(-np.sum((grid.points - 0.3) ** 2, axis=1) / (2 * 0.15**2))
    mu0 = jnp.asarray(mu0 / mu0.sum())
    w = jnp.asarray(np.random.default_rng(1).standard_normal((n_times, grid.n_states)))

    def solve(c):
        return bm.equilibrium(game, {"congestion": c}, mu0)

    def loss(c):
        return jnp.sum(w * solve(c).mu)

    return _time(game, solve, loss, 0.05, repeats, {"kind": "2-D box", "d": grid.n_states, "N": n_times})


def _time(game, solve, loss, theta, repeats, row) -> dict:
    fwd = jax.jit(lambda t: solve(t).mu)
    grad = jax.jit(jax.value_and_grad(loss))
    timed = time_interleaved({"forward": (fwd, (theta,)), "gradient": (grad, (theta,))}, repeats)
    info = jax.jit(lambda t: solve(t).info)(theta)
    return {
        **row,
        "forward": timed["forward"][1],
        "gradient": timed["gradient"][1],
        "iterations": int(info.iterations),
        "residual": float(info.residual),
        "converged": bool(info.converged),
    }


def main(argv: list[str] | None = None) -> dict:
    args = benchmark_parser(__doc__, RESULTS_PATH).parse_args(argv)
    t0 = time.perf_counter()
    one_d = [one_d_case(d, 100, args.repeats) for d in ((257,) if args.quick else (257, 1025))]
    two_d = [two_d_case(s, 50, args.repeats) for s in ((16, 32) if args.quick else (16, 32, 64))]
    rows = [[c["kind"], c["d"], c["N"], f"{c['forward']['median_s']:.3f}", f"{c['gradient']['median_s']:.3f}",
             f"{c['forward']['compile_s']:.1f}", f"{c['gradient']['compile_s']:.1f}", c["iterations"], c["converged"]]
            for c in one_d + two_d]
    print(markdown_table(["grid", "d", "N", "forward s", "value+grad s", "fwd compile s", "grad compile s",
                          "iterations", "converged"], rows))
    d2 = [c["d"] for c in two_d]
    slopes = {"forward": slope(d2, [c["forward"]["median_s"] for c in two_d]),
              "gradient": slope(d2, [c["gradient"]["median_s"] for c in two_d])}
    print(f"\n2-D cost vs d: slope {slopes['forward']:.2f} (forward), {slopes['gradient']:.2f} (value+grad)")
    return save_report(args.out, t0, args.quick, one_d=one_d, two_d=two_d, two_d_slopes=slopes)


if __name__ == "__main__":
    main()
