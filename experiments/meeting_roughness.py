"""Why NUTS stalls on the meeting game: narrow bands where the equilibrium moves steeply.

For the data of :mod:`experiments.meeting_recovery` (3 meetings) this measures

* along each unconstrained direction through the prior medians, the derivative of the
  gradient of the potential on 101 points of [-0.05, 0.05] (finite differences of the exact
  gradient): its median (the smooth curvature) and its extremes, for the experiment's game
  and for variants;
* along the waiting cost (the other weights fixed), for the experiment's game and the same
  game on a 4x finer time grid, the solver's iterations and the start time of every meeting: where the fixed-point map's Jacobian nears an eigenvalue 1 the damped
  Picard iterations spike and the start time moves many times faster than elsewhere (a
  near-fold of the equilibrium: waiting longer delays the quorum, which makes waiting dearer);
* the step sizes and tree sizes of 10 warm-up iterations of NUTS.

Run::

    python -m experiments.meeting_roughness
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import MCMC, NUTS, init_to_median
from numpyro.infer.util import initialize_model

import bayes_mfg as bm
from bayes_mfg.inference.failures import without_reports
from benchmarks._timing import save_report
from experiments.meeting_recovery import meeting_problem

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "meeting_roughness.json"
VARIANTS = {"experiment (sigma 0.1)": {}, "smoothing 0.1": {"smoothing": 0.1}, "sigma 0.2": {"sigma": 0.2},
            "161 time points (dt / 4)": {"n_times": 161}}
#: The games scanned along the waiting cost: the experiment's and the one on a 4x finer time grid.
SCANNED = ("experiment (sigma 0.1)", "161 time points (dt / 4)")


def roughness(model, data, directions=("waiting", "lateness")) -> dict:
    info = initialize_model(jax.random.PRNGKey(0), without_reports(model), model_args=(data,),
                            init_strategy=init_to_median)
    z = info.param_info.z
    grad = jax.jit(jax.grad(info.potential_fn))
    ts = np.linspace(-0.05, 0.05, 101)
    out = {}
    for k in directions:
        g = np.array([float(grad({**z, k: z[k] + t})[k]) for t in ts])
        dg = np.diff(g) / np.diff(ts)
        out[k] = {"median": float(np.median(dg)), "min": float(dg.min()), "max": float(dg.max())}
    return out


def line_scan(model, data, base: dict, name: str = "waiting", values: tuple = (0.60, 0.64, 21)) -> dict:
    """Solver iterations and start times ``T_j`` of every meeting along ``name`` on
    ``np.linspace(*values)``."""
    values = np.linspace(*values)
    game = model.game
    mu0 = jnp.asarray(data.mu0)
    iters, starts = [], []
    for v in values:
        p = game.params(**{**base, name: float(v)})
        eq = jax.vmap(lambda m, p=p: bm.equilibrium(game, p, m, solver=model.solver))(mu0)
        if not bool(np.all(eq.info.converged)):
            raise RuntimeError(f"{name} = {v}: a solve did not converge")
        iters.append(np.asarray(eq.info.iterations).tolist())
        starts.append([float(game.start_time(eq.mu[j], p)) for j in range(mu0.shape[0])])
    return {"values": np.asarray(values).tolist(), "iterations": iters, "start_time": starts, "base": base}


def warmup(model, data, n: int = 10) -> dict:
    mcmc = MCMC(NUTS(without_reports(model), dense_mass=True, init_strategy=init_to_median), num_warmup=n,
                num_samples=1, progress_bar=False)
    mcmc.warmup(jax.random.PRNGKey(0), data, collect_warmup=True,
                extra_fields=("num_steps", "adapt_state.step_size"))
    f = mcmc.get_extra_fields()
    return {"num_steps": np.asarray(f["num_steps"]).tolist(),
            "step_size": np.asarray(f["adapt_state.step_size"]).round(5).tolist()}


def main(argv: list[str] | None = None) -> dict:
    t0 = time.perf_counter()
    model, data, _ = meeting_problem(3, 0)
    rows = {}
    for name, change in VARIANTS.items():
        m = dataclasses.replace(model, game=dataclasses.replace(model.game, **change))
        rows[name] = roughness(m, data)
    print("| game | direction | median d(grad)/dz | min | max |\n|---|---|---|---|---|")
    for name, r in rows.items():
        for k, v in r.items():
            print(f"| {name} | {k} | {v['median']:.0f} | {v['min']:.0f} | {v['max']:.0f} |")
    scans = {}
    print("\n| game | meeting | Picard iterations (min-max) | |dT/d waiting| (median) | (max) |\n|---|---|---|---|---|")
    for name in SCANNED:
        m = dataclasses.replace(model, game=dataclasses.replace(model.game, **VARIANTS[name]))
        scan = scans[name] = line_scan(m, data, {"quorum": 0.7, "lateness": 1.2, "inconvenience": 0.73})
        it, st = np.array(scan["iterations"]), np.array(scan["start_time"])
        slope = np.abs(np.diff(st, axis=0)) / np.diff(scan["values"])[:, None]
        for j in range(it.shape[1]):
            print(f"| {name} | {j} | {it[:, j].min()}-{it[:, j].max()} | {np.median(slope[:, j]):.2f} | "
                  f"{slope[:, j].max():.2f} |")
    warm = warmup(model, data)
    print(f"\nNUTS warm-up (experiment's game): steps per iteration {warm['num_steps']}, "
          f"step sizes {warm['step_size']}")
    return save_report(RESULTS_PATH, t0, False, roughness=rows, line_scan=scans, warmup=warm)


if __name__ == "__main__":
    main()
