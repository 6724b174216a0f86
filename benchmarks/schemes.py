"""Time-stepping schemes: observed order in dt and the cost of accuracy.

Run as::

    python -m benchmarks.schemes [--quick] [--repeats 5] [--out benchmarks/results/schemes.json]

Setting
-------
Four games at their reference settings (the library defaults): ``LinearQuadratic`` with
d = 3 and d = 8 (T = 2, gamma = 1.55), ``SIR`` (T = 40) and ``Cybersecurity`` (T = 10, hard
best response), each with a fixed ``mu0``. Every equilibrium is solved by ``Anderson(tol=1e-13)``.

What is measured
----------------
1. **Order** (per game and scheme ``euler``, ``implicit``, ``exponential``, ``midpoint``,
   ``patankar``): the equilibrium on grids with ``N - 1 = 25, 50, 100, 200, 400`` steps
   (``--quick``: 25, 50, 100)
   against a reference solved with the second-order scheme on ``N - 1 = 3200`` steps (every
   coarse grid point is a reference grid point). Errors: the sup over the coarse grid of
   ``|mu - mu_ref|`` and of ``|u - u_ref|``; the observed order is the least-squares slope of
   ``log(error)`` on ``log(dt)``. The reference's own error is estimated from the same scheme
   on 1600 steps (``reference_self_error``: 4/3 of the 1600-vs-3200 difference for a second
   order scheme bounds it to leading order).
2. **Cost** on ``LinearQuadratic`` d = 8 and d = 32 (``--quick``: 8) and ``SIR``: for
   ``implicit``, ``patankar`` and ``midpoint`` on the same grids, the median time of a forward solve and of a
   value-and-gradient (``ImplicitAdjoint``, GMRES) of ``loss(gamma) = sum(W * mu*)`` with a
   fixed ``W``, interleaved over the schemes (``benchmarks/_timing.py``), next to the error
   of ``mu`` against the reference: so the error reached per second of gradient can be read
   off one table.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import bayes_mfg as bm
from benchmarks._timing import (
    benchmark_parser,
    log_log_slope,
    machine_info,
    markdown_table,
    time_interleaved,
    write_json,
)

OUT = Path(__file__).resolve().parent / "results" / "schemes.json"
SCHEMES = ("euler", "implicit", "exponential", "midpoint", "patankar")
COSTED = ("implicit", "patankar", "midpoint")
REF_STEPS = 3200
TOL = 1e-13


def games() -> dict[str, tuple]:
    """``{name: (game factory of n_times and scheme, params, mu0)}`` at the reference settings."""
    rng = np.random.default_rng(0)
    return {
        "LQ d=3": (lambda n, s: bm.games.LinearQuadratic(n_states=3, n_times=n, scheme=s), {"gamma": 1.55},
                   jnp.asarray(rng.dirichlet(np.ones(3)))),
        "LQ d=8": (lambda n, s: bm.games.LinearQuadratic(n_states=8, n_times=n, scheme=s), {"gamma": 1.55},
                   jnp.asarray(rng.dirichlet(np.ones(8)))),
        "SIR": (lambda n, s: bm.games.SIR(n_times=n, scheme=s), {}, jnp.array([0.98, 0.02, 0.0])),
        "Cybersecurity": (lambda n, s: bm.games.Cybersecurity(n_times=n, scheme=s), {}, jnp.full(4, 0.25)),
    }


def solve(make, params, mu0, steps: int, scheme: str):
    game = make(steps + 1, scheme)
    eq = bm.equilibrium(game, game.params(**params), mu0, solver=bm.Anderson(tol=TOL, max_iter=2000))
    return np.asarray(eq.mu), np.asarray(eq.value), bool(eq.converged)


def sup_error(path: np.ndarray, ref: np.ndarray) -> float:
    stride = (ref.shape[0] - 1) // (path.shape[0] - 1)
    return float(np.max(np.abs(path - ref[::stride])))


def observed_order(dts: list[float], errors: list[float], keep: list[int]) -> float:
    """Least-squares slope of log(error) on log(dt) over the grids ``keep`` (NaN with fewer than 2)."""
    if len(keep) < 2:
        return float("nan")
    return log_log_slope([dts[i] for i in keep], [errors[i] for i in keep])


def order_table(steps: tuple[int, ...]) -> dict:
    out = {}
    for name, (make, params, mu0) in games().items():
        mu_ref, u_ref, ok = solve(make, params, mu0, REF_STEPS, "midpoint")
        mu_half, u_half, _ = solve(make, params, mu0, REF_STEPS // 2, "midpoint")
        row = {"reference_converged": ok,
               "reference_self_error": {"mu": 4 / 3 * sup_error(mu_half, mu_ref),
                                        "value": 4 / 3 * sup_error(u_half, u_ref)},
               "schemes": {}}
        horizon = make(2, "implicit").horizon
        for scheme in SCHEMES:
            errs_mu, errs_u, conv = [], [], []
            for n in steps:
                mu, u, c = solve(make, params, mu0, n, scheme)
                finite = np.all(np.isfinite(mu)) and np.all(np.isfinite(u))
                errs_mu.append(sup_error(mu, mu_ref) if finite else float("nan"))
                errs_u.append(sup_error(u, u_ref) if finite else float("nan"))
                conv.append(c)
            dts = [horizon / n for n in steps]
            ok_idx = [i for i in range(len(steps)) if conv[i] and np.isfinite(errs_mu[i])]
            row["schemes"][scheme] = {"steps": list(steps), "dt": dts, "error_mu": errs_mu, "error_value": errs_u,
                                      "converged": conv, "order_mu": observed_order(dts, errs_mu, ok_idx),
                                      "order_value": observed_order(dts, errs_u, ok_idx)}
        out[name] = row
        print(f"{name}: reference self-error mu {row['reference_self_error']['mu']:.1e}", flush=True)
    return out


def cost_cases(quick: bool) -> dict[str, tuple]:
    """``{name: (game factory, scalar parameter differentiated, its value, other params, mu0)}``."""
    out = {}
    for d in ((8,) if quick else (8, 32)):
        mu0 = jnp.asarray(np.random.default_rng(0).dirichlet(np.ones(d)))
        out[f"LQ d={d}"] = (lambda n, s, d=d: bm.games.LinearQuadratic(n_states=d, n_times=n, scheme=s), "gamma", 1.55,
                            {}, mu0)
    out["SIR"] = (lambda n, s: bm.games.SIR(n_times=n, scheme=s), "beta", 0.5, {"gamma": 0.1},
                  jnp.array([0.98, 0.02, 0.0]))
    return out


def cost_table(cases: dict[str, tuple], steps: tuple[int, ...], repeats: int) -> dict:
    out = {}
    for name, (make, scalar, value, others, mu0) in cases.items():
        mu_ref, _, _ = solve(make, {scalar: value, **others}, mu0, REF_STEPS, "midpoint")
        rows: dict[str, list] = {}
        for n in steps:
            calls = {}
            for scheme in COSTED:
                game = make(n + 1, scheme)
                w = jnp.asarray(np.random.default_rng(1).standard_normal((n + 1, game.n_states)))

                def forward(theta, game=game, scalar=scalar, others=others, mu0=mu0):
                    p = game.params(**{scalar: theta, **others})
                    return bm.equilibrium(game, p, mu0, solver=bm.Anderson(tol=1e-10)).mu

                def loss(theta, forward=forward, w=w):
                    return jnp.sum(w * forward(theta))

                calls[f"{scheme} forward"] = (jax.jit(forward), (jnp.asarray(value),))
                calls[f"{scheme} gradient"] = (jax.jit(jax.value_and_grad(loss)), (jnp.asarray(value),))
            timed = time_interleaved(calls, repeats)
            for scheme in COSTED:
                mu = np.asarray(timed[f"{scheme} forward"][0])
                rows.setdefault(scheme, []).append({
                    "steps": n, "error_mu": sup_error(mu, mu_ref),
                    "forward": timed[f"{scheme} forward"][1], "gradient": timed[f"{scheme} gradient"][1]})
            print(f"{name} N-1={n}: timed", flush=True)
        out[name] = rows
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = benchmark_parser(__doc__, OUT, repeats=5)
    args = ap.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    t0 = time.perf_counter()
    steps = (25, 50, 100) if args.quick else (25, 50, 100, 200, 400)
    order = order_table(steps)
    rows = []
    for name, row in order.items():
        for scheme, r in row["schemes"].items():
            rows.append([name, scheme, *(f"{e:.2e}" for e in r["error_mu"]), f"{r['order_mu']:.2f}",
                         f"{r['order_value']:.2f}"])
    print("\nObserved order (sup error of mu on the grid; N - 1 = " + ", ".join(map(str, steps)) + ")")
    print(markdown_table(["game", "scheme", *(f"err mu, {n}" for n in steps), "order mu", "order u"], rows))
    cost = cost_table(cost_cases(args.quick), steps, args.repeats)
    rows = []
    for name, per in cost.items():
        for i, n in enumerate(steps):
            row = [name, n]
            for scheme in COSTED:
                r = per[scheme][i]
                row += [f"{r['error_mu']:.1e}", f"{r['forward']['median_s'] * 1e3:.2f}",
                        f"{r['gradient']['median_s'] * 1e3:.2f}"]
            rows.append(row)
    print("\nCost (median ms of a forward solve and of a value-and-gradient; sup error of mu against the reference)")
    print(markdown_table(["game", "N-1", *(f"{s} {c}" for s in COSTED for c in ("err", "fwd ms", "grad ms"))], rows))
    report = {"order": order, "cost": cost, "reference_steps": REF_STEPS, "tol": TOL, "machine": machine_info(),
              "quick": args.quick, "wall_s": time.perf_counter() - t0}
    print(f"\nwritten: {write_json(args.out, report)}")
    return report


if __name__ == "__main__":
    main()
