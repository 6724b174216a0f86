"""Time of the national NUTS fit of the Japan COVID-19 study on this machine.

Run as::

    python -m benchmarks.japan_nuts [--models classical game] [--chains 2] [--warmup 300]
                                    [--samples 300] [--steps-per-day 4] [--scheme patankar]
    python -m benchmarks.japan_nuts --quick        # 1 chain x (20 + 20), classical only

Setting: the models of :mod:`experiments.japan_covid` (national daily cases 2020-10-01 ..
2021-07-31, the ``ReportedCounts`` observation of the ``S -> I`` flow, vaccination as a known
flow), on ``--steps-per-day`` steps a day with ``--scheme``, fitted as the study fits them:
``bm.fit_nuts(..., init="laplace")`` (the neural baseline starts from prior draws).

Measured, per model:

(a) the log density's value and gradient: the first call of ``jax.jit(jax.value_and_grad)``
    of the potential (tracing, compilation, one run), then the median of ``--repeats`` calls
    (``benchmarks/_timing.py``);
(b) the NUTS fit: wall time (Laplace start, compilation, warm-up and sampling), the leapfrog
    steps of the kept draws (``num_steps``), the wall time per kept leapfrog step, the worst
    bulk ESS and split R-hat over all latent sites, ESS per second, divergences.

The fit time is the number a user waits for. The wall time per kept leapfrog step counts the
warm-up's steps (not recorded by NumPyro) and the Laplace start too, so over (a)'s gradient
time it is an upper bound on the sampler's cost per gradient: about 2 when warm-up trees are
as deep as the kept ones. The diagnostics say
whether the fit converged: a time for an unconverged fit is the time of that run, not of a
posterior.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np

import bayes_mfg as bm
from benchmarks._timing import benchmark_parser, markdown_table, save_report
from benchmarks.calibration import gradient_time
from experiments.japan_covid import MODELS, build_model, load, masked


def nuts_time(model: bm.CalibrationModel, data: bm.Observations, chains: int, warmup: int, samples: int) -> dict:
    """(b): the fit as the study runs it, timed end to end, with its convergence diagnostics."""
    import arviz_stats as azs

    init = "prior" if any(isinstance(p, bm.paths.Neural) for p in model.paths.values()) else "laplace"
    t0 = time.perf_counter()
    fit = bm.fit_nuts(model, data, num_chains=chains, num_warmup=warmup, num_samples=samples, init=init, seed=0,
                      progress_bar=False)
    jax.block_until_ready(fit.samples)
    wall = time.perf_counter() - t0
    post = fit.to_arviz()["posterior"]
    rhat, ess = azs.rhat(post), azs.ess(post, method="bulk")
    worst_rhat = max(float(np.nanmax(np.asarray(rhat[v].values))) for v in rhat.data_vars)
    worst_ess = min(float(np.nanmin(np.asarray(ess[v].values))) for v in ess.data_vars)
    steps = np.asarray(fit.mcmc.get_extra_fields()["num_steps"])
    return {"chains": chains, "warmup": warmup, "samples": samples, "init": init,
            "chain_method": fit.settings["chain_method"], "wall_s": wall,
            "kept_leapfrog_steps": int(steps.sum()), "mean_leapfrog_steps": float(steps.mean()),
            "wall_s_per_kept_leapfrog_step": wall / max(int(steps.sum()), 1),
            "max_rhat": worst_rhat, "min_ess_bulk": worst_ess, "min_ess_per_s": worst_ess / wall,
            "divergences": fit.num_divergences, "converged": bool(worst_rhat < 1.01 and worst_ess > 400)}


def main(argv: list[str] | None = None) -> dict:
    ap = benchmark_parser(__doc__, Path(__file__).resolve().parent / "results" / "japan_nuts.json", repeats=20)
    ap.add_argument("--models", nargs="+", choices=MODELS, default=["classical", "game"])
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--steps-per-day", type=int, default=4)
    ap.add_argument("--scheme", default=bm.stepping.DEFAULT_SCHEME, choices=tuple(bm.stepping.SCHEMES))
    args = ap.parse_args(argv)
    if args.quick:
        args.models, args.chains, args.warmup, args.samples, args.repeats = ["classical"], 1, 20, 20, 5
    jax.config.update("jax_enable_x64", True)
    t0 = time.perf_counter()
    d, n_fit = load()
    train = masked(d.cases, np.arange(d.n_days) < n_fit)
    results: dict = {"fit_days": int(n_fit), "scheme": args.scheme, "steps_per_day": args.steps_per_day,
                     "models": {}}
    for kind in args.models:
        model = build_model(kind, d, args.scheme)
        if args.steps_per_day > 1:
            model = model.on_time_grid(args.steps_per_day * (model.game.n_times - 1) + 1)
        print(f"{kind}: gradient ...", flush=True)
        grad = gradient_time(model, train, args.repeats)
        print(f"{kind}: NUTS {args.chains} x ({args.warmup} + {args.samples}) ...", flush=True)
        nuts = nuts_time(model, train, args.chains, args.warmup, args.samples)
        nuts["wall_per_kept_step_over_gradient"] = nuts["wall_s_per_kept_leapfrog_step"] / grad["median_s"]
        results["models"][kind] = {"gradient": grad, "nuts": nuts, "n_times": model.game.n_times}
    rows = []
    for kind, r in results["models"].items():
        g, n = r["gradient"], r["nuts"]
        rows.append([kind, f"{g['compile_and_first_call_s']:.1f}", f"{1e3 * g['median_s']:.2f}",
                     f"{n['chains']} x ({n['warmup']} + {n['samples']})", f"{n['wall_s']:.0f}",
                     f"{n['mean_leapfrog_steps']:.0f}", f"{n['wall_per_kept_step_over_gradient']:.1f}",
                     f"{n['max_rhat']:.3f}", f"{n['min_ess_bulk']:.0f}", n["divergences"]])
    print(markdown_table(["model", "grad compile (s)", "grad median (ms)", "NUTS", "fit wall (s)",
                          "leapfrog / draw", "wall per kept step / grad", "max r-hat", "min ESS", "divergences"], rows))
    return save_report(args.out, t0, args.quick, **results)


if __name__ == "__main__":
    main()
