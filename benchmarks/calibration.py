"""Calibration benchmark: log-density gradients, NUTS and SVI on the linear-quadratic game.

Run as::

    python -m benchmarks.calibration [--quick] [--out benchmarks/results/calibration.json]

Setting: ``LinearQuadratic(n_states=8)`` (T = 2, N = 100), J trajectories (``--trajectories``,
default 200: the seed paper's training-set size; ``--quick``: 50) simulated with
the constant truth gamma = 1.55 (``seed=0``), Dirichlet observation noise with
concentration 1000, observed ``mu_0``; the model calibrates gamma.

Measured:

(a) the time of one gradient of the log density: the potential energy of the model with a
    constant gamma (``numpyro.infer.util.initialize_model``), ``jax.jit(jax.value_and_grad)``
    at the initial point; the median over ``--repeats`` (>= 20) calls after compilation
    (``benchmarks/_timing.py``);
(b) NUTS, 2 chains (sequential on one device unless several are configured) x 500 warm-up
    + 500 draws (``--quick``: 100 + 100): wall time (compilation included), bulk ESS of
    gamma, ESS per second, divergences and the posterior mean;
(c) SVI with a neural path ``gamma(t, mu_t)`` (point network, ``Neural(inputs=("t", "mu"))``,
    initialised flat at 1.0), 2000 Adam steps (``--quick``: 200): wall time and time per step
    (compilation included and, separately, the steady per-step time: the median of 10-100
    timed steps of a jitted update after a compiling one).
"""

from __future__ import annotations

import argparse
import pathlib
import time

import jax
import numpy as np
import numpyro.distributions as dist
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.infer.util import initialize_model

import bayes_mfg as bm
from benchmarks._timing import machine_info, time_call, write_json


def setup(n_states: int = 8, n_traj: int = 20, kappa: float = 1000.0, seed: int = 0):
    game = bm.games.LinearQuadratic(n_states=n_states)
    obs = bm.observe.Dirichlet(kappa)
    sim = bm.datasets.simulate(game, {"gamma": 1.55}, n_traj, obs, seed=seed)
    return game, obs, sim.data


def gradient_time(model, data, repeats: int) -> dict:
    init = initialize_model(jax.random.PRNGKey(0), model, model_args=(data,))
    vg = jax.jit(jax.value_and_grad(init.potential_fn))
    (value, grad), timing = time_call(vg, (init.param_info.z,), repeats)
    return {
        "compile_and_first_call_s": timing["compile_s"],
        "median_s": timing["median_s"],
        "min_s": timing["min_s"],
        "repeats": repeats,
        "potential_energy": float(value),
        "grad_finite": bool(all(np.all(np.isfinite(np.asarray(g))) for g in jax.tree.leaves(grad))),
    }


def nuts_run(model, data, warmup: int, samples: int, chains: int = 2) -> dict:
    try:
        import arviz_stats as azs
    except ImportError:  # e.g. a GPU image without ArviZ: the numpy estimates below
        azs = None

    t0 = time.perf_counter()
    res = bm.fit_nuts(model, data, num_chains=chains, num_warmup=warmup, num_samples=samples, seed=1,
                      progress_bar=False)
    gamma = res.samples["gamma"]
    jax.block_until_ready(gamma)
    wall = time.perf_counter() - t0
    draws = np.asarray(gamma)
    try:
        ess = float(azs.ess(draws, method="bulk"))
        rhat = float(azs.rhat(draws))
    except Exception:  # noqa: BLE001  (fallback: NumPyro's estimates, chains first)
        ess = float(effective_sample_size(draws))
        rhat = float(split_gelman_rubin(draws))
    steps = np.asarray(res.mcmc.get_extra_fields()["num_steps"])
    return {
        "chains": chains,
        "warmup": warmup,
        "samples": samples,
        "chain_method": res.settings["chain_method"],
        "wall_s": wall,
        "ess_bulk_gamma": ess,
        "ess_per_s": ess / wall,
        "r_hat_gamma": rhat,
        "divergences": res.num_divergences,
        "mean_leapfrog_steps": float(steps.mean()),
        "gamma_mean": float(np.mean(gamma)),
        "gamma_sd": float(np.std(gamma)),
    }


def svi_run(game, obs, data, steps: int) -> dict:
    path = bm.paths.Neural(inputs=("t", "mu"), init_value=1.0, link="softplus")
    model = bm.CalibrationModel(game, {"gamma": path}, obs)
    t0 = time.perf_counter()
    res = bm.fit_svi(model, data, guide="delta", num_steps=steps, learning_rate=1e-2, progress_bar=False)
    wall = time.perf_counter() - t0
    # steady state: a second short run reuses nothing compiled by SVI.run, so time a jitted update loop instead
    svi = res.svi
    state = svi.init(jax.random.PRNGKey(1), data)
    update = jax.jit(lambda s: svi.stable_update(s, data))
    n = max(10, min(100, steps // 10))

    def step():
        nonlocal state
        state, loss = update(state)
        return state, loss

    _, timing = time_call(step, (), n)
    per_step = timing["median_s"]
    fitted = np.asarray(res.sample_posterior(1)["gamma_path"])
    return {
        "steps": steps,
        "wall_s": wall,
        "time_per_step_s_incl_compile": wall / steps,
        "time_per_step_s_steady": per_step,
        "failed_steps": res.n_failed_steps,
        "final_loss": float(res.losses[-1]),
        "gamma_path_mean": float(fitted.mean()),
        "gamma_path_rmse_vs_truth": float(np.sqrt(np.mean((fitted - 1.55) ** 2))),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="NUTS 100 + 100, SVI 200 steps")
    parser.add_argument("--repeats", type=int, default=30, help="gradient calls timed (>= 20)")
    parser.add_argument("--trajectories", type=int, default=None, help="J (default 200; --quick: 50)")
    parser.add_argument("--draws", type=int, default=None, help="NUTS warm-up = draws per chain (default 500; --quick 100)")
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "calibration.json"))
    args = parser.parse_args(argv)
    repeats = max(20, args.repeats)
    warmup = samples = args.draws or (100 if args.quick else 500)
    svi_steps = 200 if args.quick else 2000
    n_traj = args.trajectories or (50 if args.quick else 200)

    game, obs, data = setup(n_traj=n_traj)
    model = bm.CalibrationModel(game, {"gamma": bm.paths.Constant(prior=dist.LogNormal(0.0, 1.0))}, obs)
    results = {"setting": {"game": "LinearQuadratic(n_states=8, T=2, N=100)", "trajectories": n_traj,
                           "observation": "Dirichlet(1000)", "truth_gamma": 1.55, "quick": args.quick},
               "machine": machine_info()}
    print("(a) log-density gradient ...", flush=True)
    results["gradient"] = gradient_time(model, data, repeats)
    print(f"    median {results['gradient']['median_s'] * 1e3:.2f} ms", flush=True)
    print(f"(b) NUTS 2 x ({warmup} + {samples}) ...", flush=True)
    results["nuts"] = nuts_run(model, data, warmup, samples)
    print(f"    {results['nuts']['wall_s']:.1f} s, ESS {results['nuts']['ess_bulk_gamma']:.0f}", flush=True)
    print(f"(c) SVI neural path, {svi_steps} steps ...", flush=True)
    results["svi_neural"] = svi_run(game, obs, data, svi_steps)

    g, n, s = results["gradient"], results["nuts"], results["svi_neural"]
    rows = [
        ("gradient of log density (median)", f"{g['median_s'] * 1e3:.2f} ms", f"compile+first {g['compile_and_first_call_s']:.1f} s"),
        (f"NUTS 2 x ({warmup}+{samples}) wall", f"{n['wall_s']:.1f} s", f"chain_method {n['chain_method']}"),
        ("NUTS ESS bulk (gamma)", f"{n['ess_bulk_gamma']:.0f}", f"r_hat {n['r_hat_gamma']:.3f}"),
        ("NUTS ESS / s", f"{n['ess_per_s']:.2f}", f"divergences {n['divergences']}"),
        ("NUTS gamma posterior", f"{n['gamma_mean']:.4f} +- {n['gamma_sd']:.4f}", "truth 1.55"),
        (f"SVI neural {svi_steps} steps wall", f"{s['wall_s']:.1f} s", f"failed steps {s['failed_steps']}"),
        ("SVI time per step", f"{s['time_per_step_s_steady'] * 1e3:.1f} ms",
         f"incl. compile {s['time_per_step_s_incl_compile'] * 1e3:.1f} ms"),
    ]
    w = max(len(r[0]) for r in rows)
    print()
    for a, b, c in rows:
        print(f"{a:<{w}}  {b:>18}  {c}")
    m = results["machine"]
    print(f"({n_traj} trajectories; backend {jax.default_backend()})")
    print(f"\npython {m['python']}, jax {m['jax']}, numpyro {m['numpyro']}, {m['cpu_count']} CPUs")
    out = write_json(args.out, results)
    print(f"written {out}")
    return results


if __name__ == "__main__":
    main()
