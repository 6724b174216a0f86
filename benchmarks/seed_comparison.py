"""The library's default equilibrium gradient vs the seed paper's algorithm, and vmap vs a loop.

Run as::

    python -m benchmarks.seed_comparison [--quick] [--repeats 5] [--out benchmarks/results/seed_comparison.json]

Setting
-------
Systems: ``LinearQuadratic(n_states=d)`` for d in {8, 32} (T = 2, N = 100, gamma = 1.55) and
``Cybersecurity()`` (T = 10, N = 100, the 8 reference rates; exact argmin best response).
Data: J = 200 trajectories (``--quick``: 50) from ``bm.datasets.simulate`` with Dirichlet(1)
initial distributions and Dirichlet(1000) noise (seed 0), simulated with the library's
default scheme. The batch loss is the seed paper's squared error
``L(theta) = sum_j sum_{t, x} (mu*_j(t, x; theta) - y_j(t, x))^2``, evaluated at
``theta = 1.1 x truth`` (away from the minimum, where the gradient is not small). The
quantity timed is ``jax.jit(jax.value_and_grad(L))`` (all J equilibria and their adjoints,
vmapped over trajectories), median of ``--repeats`` calls after a compiling call.

Configurations (one row each per system):

* ``default``: the library's defaults: float64, implicit time step, ``Anderson()`` to
  ``max|G(mu) - mu| <= 1e-10``, ``ImplicitAdjoint()`` (GMRES to relative residual 1e-10).
* ``seed paper``: the seed paper's algorithm as its public code runs it, re-implemented here
  from its description: float32, explicit Euler time step (``scheme="euler"``), Picard
  ``mu <- (1 - lam) G(mu) + lam mu`` (lam = 0 for LQ, 0.5 for Cybersecurity) from ``mu0``
  repeated, stopped when the sup-norm change of consecutive iterates is <= 1e-5 (at least 2
  iterations, at most 1000; a NaN change stops the loop); implicit adjoint by the same damped
  fixed-point iteration ``w <- (1 - lam) (J^T w + v) + lam w`` from ``w = v``, same stopping
  rule. Its convergence flag is the Euler stability check ``dt * max out-rate <= 1`` and a
  finite result (the paper's loop has neither).
* ``seed algorithm, implicit step``: the same solver, adjoint and precision on the library's
  implicit time step (isolates the algorithm from the time-stepping scheme);
* ``seed algorithm, implicit step, float64, tol 1e-10``: the same again in float64 with both
  stopping thresholds at 1e-10, the accuracy class of the default: the comparison of the
  two algorithms at matched accuracy (Anderson + GMRES vs damped Picard + damped Neumann).

Gradient accuracy: relative error ``|g - g_ref| / |g_ref|`` (Euclidean norm over the
parameters) against the implicit gradient of the float64 loss *of the same discretised game*
(same scheme) solved with ``Anderson(tol=1e-13)`` and ``ImplicitAdjoint(tol=1e-13)``. The
reference itself is checked against fourth-order central differences (step 1e-3 relative
to each parameter; truncation O(h^4) ~ 1e-12, solver noise ~ 1e-13 / h = 1e-10): column
"reference vs FD". The differences are only meaningful where the loss is smooth: clipped
rates (at 0 or ``max_rate``) put kinks in it, which the stencil may straddle.

Second table: a batch of J solves (forward only, and value-and-gradient of the batch loss)
as one vmapped call vs a Python loop over the J trajectories: the loop calls the public
``bm.equilibrium`` once per trajectory (forward), resp. a jitted single-trajectory
value-and-gradient (gradient), and sums; LQ d = 8.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import bayes_mfg as bm
from bayes_mfg.engine import best_response_map, hjb, kolmogorov, max_jump_probability
from bayes_mfg.games.cybersecurity import RATE_PARAMETERS, REFERENCE_TRUTH
from benchmarks._timing import markdown_table, save_report, time_call

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "seed_comparison.json"
SEED_TOL = 1e-5
SEED_MAX_ITER = 1000


def systems():
    lq = {"gamma": 1.55}
    return {
        "LQ d=8": (lambda **kw: bm.games.LinearQuadratic(n_states=8, **kw), lq, 0.0),
        "LQ d=32": (lambda **kw: bm.games.LinearQuadratic(n_states=32, **kw), lq, 0.0),
        "Cybersecurity": (lambda **kw: bm.games.Cybersecurity(**kw), dict(zip(RATE_PARAMETERS, REFERENCE_TRUTH)), 0.5),
    }


def scheme_name(game) -> str:
    """``"implicit"``, ``"exponential"`` or ``"euler"``: the name of the game's time-stepping scheme."""
    return next(name for name, cls in bm.games.SCHEMES.items() if isinstance(game.scheme, cls))


def seed_paper_equilibrium(game, damping: float, tol: float = SEED_TOL):
    """``(params, mu0) -> (mu*, ok)``: damped Picard + damped-Neumann adjoint with the paper's stopping rule."""

    def g(x, params, mu0):
        return best_response_map(game, x, params, mu0)

    def loop(step, start, first):
        def cond(c):
            i, prev, cur = c
            return ((i < SEED_MAX_ITER) & (jnp.max(jnp.abs(cur - prev)) > tol)) | (i < 2)

        def body(c):
            i, _, cur = c
            return i + 1, cur, step(cur)

        return jax.lax.while_loop(cond, body, (0, start, first))[2]

    @jax.custom_vjp
    def solve(params, mu0):
        x0 = jnp.broadcast_to(mu0, (game.n_times, game.n_states))
        step = lambda x: (1.0 - damping) * g(x, params, mu0) + damping * x  # noqa: E731
        return loop(step, x0, step(x0))

    def fwd(params, mu0):
        x = solve(params, mu0)
        return x, (x, params, mu0)

    def bwd(res, v):
        x, params, mu0 = res
        _, vjp = jax.vjp(g, x, params, mu0)
        step = lambda w: (1.0 - damping) * (vjp(w)[0] + v) + damping * w  # noqa: E731
        w = loop(step, jnp.zeros_like(v), v)
        _, g_params, g_mu0 = vjp(w)
        return g_params, g_mu0

    solve.defvjp(fwd, bwd)

    def run(params, mu0):
        mu = solve(params, mu0)
        rates = kolmogorov(game, hjb(game, mu, params), params, mu0).rates
        ok = jnp.all(jnp.isfinite(mu))
        if scheme_name(game) == "euler":
            ok = ok & (max_jump_probability(game, rates) <= 1.0)
        return mu, ok

    return run


def configurations(make_game, damping: float) -> dict:
    seed = dict(dtype=jnp.float32, seed_damping=damping)
    return {
        "default": dict(game=make_game(), dtype=jnp.float64),
        "seed paper": dict(game=make_game(scheme="euler"), **seed),
        "seed algorithm, implicit step": dict(game=make_game(), **seed),
        "seed algorithm, implicit step, float64, tol 1e-10": dict(game=make_game(), dtype=jnp.float64,
                                                                  seed_damping=damping, seed_tol=1e-10),
    }


def batch_loss(game, names, dtype, seed_damping=None, solver=None, adjoint=None, seed_tol=SEED_TOL):
    """``L(theta) = sum_j |mu*_j(theta) - y_j|^2`` (equilibria vmapped over j) and whether all converged."""
    seed = None if seed_damping is None else seed_paper_equilibrium(game, seed_damping, seed_tol)

    def loss(theta, mu0, y):
        params = {k: v.astype(dtype) for k, v in game.params(**dict(zip(names, theta))).items()}

        def one(m, yj):
            if seed is not None:
                mu, ok = seed(params, m)
            else:
                eq = bm.equilibrium(game, params, m, solver=solver, adjoint=adjoint)
                mu, ok = eq.mu, eq.converged
            return jnp.sum((mu - yj) ** 2), ok

        values, ok = jax.vmap(one)(mu0, y)
        return jnp.sum(values), jnp.all(ok)

    return loss


def reference_gradient(game, names, theta, mu0, y):
    """The implicit gradient at tight tolerances, and its relative distance to finite differences.

    Reference: float64, ``Anderson(tol=1e-13)``, ``ImplicitAdjoint(tol=1e-13)``. Check of the
    reference: fourth-order central differences of the same loss (step 1e-3 relative). Where
    rates sit at a clip (0 or ``max_rate``) the loss has kinks and the differences are off by
    the kinks they straddle: that is what the check column then shows.
    """
    tight = batch_loss(game, names, jnp.float64, solver=bm.Anderson(tol=1e-13, max_iter=1000),
                       adjoint=bm.ImplicitAdjoint(tol=1e-13))
    value = jax.jit(lambda th: tight(th, mu0, y)[0])
    grad = np.asarray(jax.jit(jax.grad(lambda th: tight(th, mu0, y)[0]))(theta), dtype=np.float64)
    fd = []
    for i in range(len(names)):
        h = 1e-3 * max(1.0, abs(float(theta[i])))
        e = jnp.zeros_like(theta).at[i].set(h)
        fd.append((-value(theta + 2 * e) + 8 * value(theta + e) - 8 * value(theta - e) + value(theta - 2 * e)) / (12 * h))
    fd = np.array(fd, dtype=np.float64)
    return grad, float(np.linalg.norm(grad - fd) / np.linalg.norm(fd))


def run_system(label, make_game, truth, damping, n_traj, repeats):
    names = list(truth)
    sim = bm.datasets.simulate(make_game(), truth, n_traj, bm.observe.Dirichlet(1000.0), seed=0)
    mu0_64, y_64 = jnp.asarray(sim.data.mu0), jnp.asarray(sim.data.values)
    theta_64 = 1.1 * jnp.asarray([truth[k] for k in names], dtype=jnp.float64)
    references = {}
    rows = []
    for name, cfg in configurations(make_game, damping).items():
        game, dtype = cfg["game"], cfg["dtype"]
        scheme = scheme_name(game)
        if scheme not in references:
            references[scheme] = reference_gradient(game, names, theta_64, mu0_64, y_64)
        ref, ref_vs_fd = references[scheme]
        loss = batch_loss(game, names, dtype, cfg.get("seed_damping"), seed_tol=cfg.get("seed_tol", SEED_TOL))
        fn = jax.jit(jax.value_and_grad(loss, has_aux=True))
        args = (theta_64.astype(dtype), mu0_64.astype(dtype), y_64.astype(dtype))
        ((val, converged), grad), timing = time_call(fn, args, repeats)
        grad = np.asarray(grad, dtype=np.float64)
        with np.errstate(all="ignore"):
            err = float(np.linalg.norm(grad - ref) / np.linalg.norm(ref))
        rows.append({
            "system": label, "config": name, "scheme": scheme, "n_trajectories": n_traj, "dtype": str(val.dtype),
            "all_converged": bool(converged), "finite": bool(np.all(np.isfinite(grad))),
            "median_s": timing["median_s"], "compile_s": timing["compile_s"], "raw_s": timing["raw_s"],
            "grad_rel_error_vs_reference": err if np.isfinite(err) else None, "reference_rel_error_vs_fd": ref_vs_fd,
        })
    t_default = rows[0]["median_s"]
    for r in rows:
        r["time_ratio_over_default"] = r["median_s"] / t_default
    return rows


def vmap_vs_loop(n_traj, repeats):
    game = bm.games.LinearQuadratic(n_states=8)
    sim = bm.datasets.simulate(game, {"gamma": 1.55}, n_traj, bm.observe.Dirichlet(1000.0), seed=0)
    mu0, y = jnp.asarray(sim.data.mu0), jnp.asarray(sim.data.values)
    params = {"gamma": 1.55}

    # forward: one vmapped solve vs the public call in a Python loop
    batched_solve = jax.jit(jax.vmap(lambda m: bm.equilibrium(game, params, m).mu))
    mu_batched, t_fb = time_call(batched_solve, (mu0,), repeats)

    def loop_solve(mu0):
        return jnp.stack([bm.equilibrium(game, params, m).mu for m in mu0])

    mu_loop, t_fl = time_call(loop_solve, (mu0,), max(1, repeats // 2))

    # gradient: one vmapped value-and-grad vs a loop of jitted single-trajectory calls
    theta = jnp.asarray([1.1 * 1.55])
    loss = batch_loss(game, ["gamma"], jnp.float64)
    batched = jax.jit(jax.value_and_grad(loss, has_aux=True))
    (_, g_batched), t_gb = time_call(batched, (theta, mu0, y), repeats)
    single = jax.jit(jax.value_and_grad(loss, has_aux=True))

    def loop_grad(theta, mu0, y):
        total = 0.0
        for j in range(mu0.shape[0]):
            _, g = single(theta, mu0[j : j + 1], y[j : j + 1])
            total = total + g
        return total

    g_loop, t_gl = time_call(loop_grad, (theta, mu0, y), max(1, repeats // 2))
    return {
        "n_trajectories": n_traj,
        "forward": {"vmap_median_s": t_fb["median_s"], "loop_median_s": t_fl["median_s"],
                    "speedup": t_fl["median_s"] / t_fb["median_s"],
                    "max_abs_mu_difference": float(jnp.max(jnp.abs(mu_loop - mu_batched)))},
        "gradient": {"vmap_median_s": t_gb["median_s"], "loop_median_s": t_gl["median_s"],
                     "speedup": t_gl["median_s"] / t_gb["median_s"],
                     "max_abs_grad_difference": float(jnp.max(jnp.abs(g_loop - g_batched)))},
    }


def _e(x):
    return "n/a" if x is None else f"{x:.1e}"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="50 trajectories, LQ d=8 and Cybersecurity only")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = ap.parse_args(argv)
    n_traj = 50 if args.quick else 200
    t0 = time.perf_counter()
    rows = []
    for label, (make_game, truth, damping) in systems().items():
        if args.quick and label == "LQ d=32":
            continue
        rows += run_system(label, make_game, truth, damping, n_traj, args.repeats)
        print(f"  done: {label}", flush=True)
    loop = vmap_vs_loop(n_traj, args.repeats)

    print(f"\nValue and gradient of the batch loss over {n_traj} trajectories (median of {args.repeats} calls, "
          f"{jax.default_backend()})\n")
    print(markdown_table(
        ["system", "configuration", "scheme", "dtype", "converged", "time [s]", "time / default", "rel. error",
         "reference vs FD"],
        [[r["system"], r["config"], r["scheme"], r["dtype"], r["all_converged"], f"{r['median_s']:.4f}",
          f"{r['time_ratio_over_default']:.2f}", _e(r["grad_rel_error_vs_reference"]), _e(r["reference_rel_error_vs_fd"])]
         for r in rows]))
    f, g = loop["forward"], loop["gradient"]
    print(f"\nvmap vs Python loop over {n_traj} trajectories, LQ d=8:")
    print(markdown_table(
        ["what", "vmap [s]", "loop [s]", "speedup", "max abs difference"],
        [["forward solve", f"{f['vmap_median_s']:.4f}", f"{f['loop_median_s']:.4f}", f"{f['speedup']:.1f}x",
          f"{f['max_abs_mu_difference']:.1e}"],
         ["value and gradient", f"{g['vmap_median_s']:.4f}", f"{g['loop_median_s']:.4f}", f"{g['speedup']:.1f}x",
          f"{g['max_abs_grad_difference']:.1e}"]]))
    return save_report(args.out, t0, args.quick, rows=rows, vmap_vs_loop=loop)


if __name__ == "__main__":
    main()
