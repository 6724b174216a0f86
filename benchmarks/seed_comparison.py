"""The library's default equilibrium gradient vs the seed paper's algorithm, and vmap vs a loop.

Run as::

    python -m benchmarks.seed_comparison [--quick] [--repeats 5] [--out benchmarks/results/seed_comparison.json]

Setting
-------
Systems: ``LinearQuadratic(n_states=d)`` for d in {8, 32} (T = 2, N = 100, gamma = 1.55) and
``Cybersecurity()`` (T = 10, N = 100, the 8 reference rates; exact argmin best response).
Both configurations use the game's default time step (implicit, stable for every dt), so
the comparison isolates the fixed-point solver, the adjoint and the precision.
Data: J = 200 trajectories (``--quick``: 50) from ``bm.datasets.simulate`` with Dirichlet(1)
initial distributions and Dirichlet(1000) noise (seed 0). The batch loss is the seed
paper's squared error ``L(theta) = sum_j sum_{t, x} (mu*_j(t, x; theta) - y_j(t, x))^2`` and
the quantity timed is ``jax.jit(jax.value_and_grad(L))`` (all J equilibria and their
adjoints, vmapped), median of ``--repeats`` calls after a compiling call.

Configurations:

* ``default``: float64, ``Anderson()`` to ``max|G(mu) - mu| <= 1e-10``,
  ``ImplicitAdjoint()`` (GMRES to relative residual 1e-10);
* ``seed paper``: float32 inputs, ``Picard`` (undamped for LQ; damping 0.5 for
  Cybersecurity, as the paper does) stopped at ``max|G(mu) - mu| <= 1e-5``, plain Neumann
  adjoint ``w <- v + J^T w`` stopped at relative change 1e-5 (``ImplicitAdjoint(
  linear_solver="neumann", tol=1e-5)``).

Gradient accuracy: relative error ``|g - g_fd| / |g_fd|`` (Euclidean norms over the
parameters) against central finite differences of the float64 loss solved to 1e-12
(step 1e-5 relative to each parameter).

Second table: the default gradient over the J trajectories as one vmapped call vs a Python
loop over the trajectories calling a jitted single-trajectory gradient (summed), LQ d = 8.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import bayes_mfg as bm
from benchmarks.equilibrium import machine_info, time_call
from bayes_mfg.games.cybersecurity import RATE_PARAMETERS, REFERENCE_TRUTH

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "seed_comparison.json"


def systems():
    lq = {"gamma": 1.55}
    return {
        "LQ d=8": (bm.games.LinearQuadratic(n_states=8), lq, 0.0),
        "LQ d=32": (bm.games.LinearQuadratic(n_states=32), lq, 0.0),
        "Cybersecurity": (bm.games.Cybersecurity(), dict(zip(RATE_PARAMETERS, REFERENCE_TRUTH)), 0.5),
    }


def configurations(damping: float) -> dict:
    return {
        "default": dict(dtype=jnp.float64, solver=bm.Anderson(), adjoint=bm.ImplicitAdjoint()),
        "seed paper": dict(dtype=jnp.float32, solver=bm.Picard(damping=damping, tol=1e-5),
                           adjoint=bm.ImplicitAdjoint(linear_solver="neumann", tol=1e-5, max_iter=2000,
                                                      on_failure="ignore")),
    }


def batch_loss(game, names, solver, adjoint):
    """``L(theta) = sum_j |mu*_j(theta) - y_j|^2`` with the equilibria vmapped over j."""

    def loss(theta, mu0, y):
        def one(m, yj):
            eq = bm.equilibrium(game, dict(zip(names, theta)), m, solver=solver, adjoint=adjoint)
            return jnp.sum((eq.mu - yj) ** 2), eq.converged

        values, converged = jax.vmap(one)(mu0, y)
        return jnp.sum(values), jnp.all(converged)

    return loss


def run_system(label, game, truth, damping, n_traj, repeats):
    names = list(truth)
    sim = bm.datasets.simulate(game, truth, n_traj, bm.observe.Dirichlet(1000.0), seed=0)
    mu0_64, y_64 = jnp.asarray(sim.data.mu0), jnp.asarray(sim.data.values)
    theta_64 = jnp.asarray([truth[k] for k in names], dtype=jnp.float64)

    # reference: central differences of the float64 loss at a tight tolerance
    tight = batch_loss(game, names, bm.Anderson(tol=1e-12), bm.ImplicitAdjoint(tol=1e-12))
    value = jax.jit(lambda th: tight(th, mu0_64, y_64)[0])
    steps = 1e-5 * jnp.maximum(1.0, jnp.abs(theta_64))
    fd = np.array([(value(theta_64 + h * e) - value(theta_64 - h * e)) / (2 * h)
                   for h, e in zip(steps, jnp.eye(len(names)))])

    rows = []
    for name, cfg in configurations(damping).items():
        dt = cfg["dtype"]
        loss = batch_loss(game, names, cfg["solver"], cfg["adjoint"])
        fn = jax.jit(jax.value_and_grad(loss, has_aux=True))
        args = (theta_64.astype(dt), mu0_64.astype(dt), y_64.astype(dt))
        ((val, converged), grad), timing = time_call(fn, args, repeats)
        grad = np.asarray(grad, dtype=np.float64)
        rows.append({
            "system": label, "config": name, "n_trajectories": n_traj, "dtype": str(val.dtype),
            "all_converged": bool(converged), "median_s": timing["median_s"], "compile_s": timing["compile_s"],
            "raw_s": timing["raw_s"], "grad_rel_error_vs_fd": float(np.linalg.norm(grad - fd) / np.linalg.norm(fd)),
        })
    base = {r["config"]: r for r in rows}
    for r in rows:
        r["time_ratio_seed_over_default"] = base["seed paper"]["median_s"] / base["default"]["median_s"]
    return rows


def vmap_vs_loop(n_traj, repeats):
    game = bm.games.LinearQuadratic(n_states=8)
    sim = bm.datasets.simulate(game, {"gamma": 1.55}, n_traj, bm.observe.Dirichlet(1000.0), seed=0)
    mu0, y = jnp.asarray(sim.data.mu0), jnp.asarray(sim.data.values)
    theta = jnp.asarray([1.55])
    loss = batch_loss(game, ["gamma"], bm.Anderson(), bm.ImplicitAdjoint())
    batched = jax.jit(jax.value_and_grad(loss, has_aux=True))
    (_, g_batched), t_batched = time_call(batched, (theta, mu0, y), repeats)
    single = jax.jit(jax.value_and_grad(loss, has_aux=True))

    def loop(theta, mu0, y):
        total = 0.0
        for j in range(mu0.shape[0]):
            (_, _), g = single(theta, mu0[j : j + 1], y[j : j + 1])
            total = total + g
        return total

    g_loop, t_loop = time_call(loop, (theta, mu0, y), max(1, repeats // 2))
    return {
        "n_trajectories": n_traj, "vmap_median_s": t_batched["median_s"], "loop_median_s": t_loop["median_s"],
        "speedup": t_loop["median_s"] / t_batched["median_s"],
        "max_abs_grad_difference": float(jnp.max(jnp.abs(g_loop - g_batched))),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="50 trajectories, LQ d=8 and Cybersecurity only")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = ap.parse_args(argv)
    n_traj = 50 if args.quick else 200
    t0 = time.perf_counter()
    rows = []
    for label, (game, truth, damping) in systems().items():
        if args.quick and label == "LQ d=32":
            continue
        rows += run_system(label, game, truth, damping, n_traj, args.repeats)
    loop = vmap_vs_loop(n_traj, args.repeats)

    print(f"\nGradient of the batch loss over {n_traj} trajectories (median of {args.repeats} calls)\n")
    print("| system | config | dtype | converged | time [s] | seed / default | rel. error vs FD |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['system']} | {r['config']} | {r['dtype']} | {r['all_converged']} | {r['median_s']:.4f} | "
              f"{r['time_ratio_seed_over_default']:.2f} | {r['grad_rel_error_vs_fd']:.2e} |")
    print(f"\nvmap vs Python loop, LQ d=8, {n_traj} trajectories: vmap {loop['vmap_median_s']:.4f} s, "
          f"loop {loop['loop_median_s']:.4f} s, speedup {loop['speedup']:.1f}x "
          f"(max |grad difference| {loop['max_abs_grad_difference']:.1e})")
    out = {"rows": rows, "vmap_vs_loop": loop, "machine": machine_info(), "quick": args.quick,
           "wall_s": time.perf_counter() - t0}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(f"\nwritten: {args.out}")
    return out


if __name__ == "__main__":
    main()
