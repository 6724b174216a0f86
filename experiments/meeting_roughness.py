"""Why NUTS stalls on the meeting game: kinks in the gradient of its log density.

The upwind chain's rates use the positive and negative parts of the best-response drift,
``v^+ = max(v, 0)`` and ``v^- = max(-v, 0)``: the flow is continuous in the parameters but
its derivative jumps wherever a cell's optimal drift changes sign at some time. With little
diffusion per cell (cell Peclet number ``|v| h / (sigma^2 / 2)`` large) those jumps are large
and many, and NUTS's step-size adaptation, which needs a smooth potential, shrinks the step
until the trees hit their maximum depth.

For the data of :mod:`experiments.meeting_recovery` (3 meetings) this measures, along each
unconstrained direction through the prior medians, the derivative of the gradient of the
potential on 101 points of [-0.05, 0.05] (finite differences of the exact gradient): its
median (the smooth curvature) and its extremes (the jumps), for the experiment's game and
for variants; and the step sizes and tree sizes of 10 warm-up iterations of NUTS.

Run::

    python -m experiments.meeting_roughness
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import jax
import numpy as np
from numpyro.infer import MCMC, NUTS, init_to_median
from numpyro.infer.util import initialize_model

from bayes_mfg.inference.failures import without_reports
from benchmarks._timing import save_report
from experiments.meeting_recovery import meeting_problem

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "meeting_roughness.json"
VARIANTS = {"experiment (sigma 0.1)": {}, "smoothing 0.1": {"smoothing": 0.1}, "sigma 0.2": {"sigma": 0.2}}


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
    warm = warmup(model, data)
    print(f"\nNUTS warm-up (experiment's game): steps per iteration {warm['num_steps']}, "
          f"step sizes {warm['step_size']}")
    return save_report(RESULTS_PATH, t0, False, roughness=rows, warmup=warm)


if __name__ == "__main__":
    main()
