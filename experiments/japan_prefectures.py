"""COVID-19 in Japan's 47 prefectures: hierarchical transmission paths around a national one.

Data: :func:`bayes_mfg.datasets.japan_covid` with ``level="prefectures"``: 47 trajectories of
daily reported cases, 2020-10-01 .. 2021-07-31 (the national study's fit window).

Model: the SIR distancing game (:class:`bayes_mfg.games.SIR`, days as in
:mod:`experiments.japan_covid`; the national vaccination flow in every prefecture) with

* ``log beta_j(t)``: a 12-knot spline per prefecture around a national spline,
  ``w_j = w + sigma z_j`` (:class:`bayes_mfg.paths.Hierarchical`, ``sigma ~ HalfNormal(0.3)``);
* ``gamma``, ``c_infected``, the reporting fraction, the weekday effects and the dispersion
  shared by all prefectures;
* ``mu0_j`` from each prefecture's first week and earlier cases (reporting 0.25), given;
* cases ``~ ReportedCounts(population_j, ...)`` on the ``S -> I`` flow.

Fitted by SVI (a mean-field normal guide, optax Adam): NUTS on 47 x 397-step games with
~650 latent coordinates is beyond a 2-core session. Reported: the fit time, the national
path and the spread, each prefecture's R_t = beta_j(t) / gamma at three dates, PSIS-LOO
across prefectures (Pareto k per prefecture), and a small-multiples figure (observed vs
posterior predictive, ``docs/assets/japan_prefectures.png``).

Run::

    python -m experiments.japan_prefectures            # ~15 minutes on 2 cores
    python -m experiments.japan_prefectures --quick
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np
import numpyro.distributions as dist

import bayes_mfg as bm
from benchmarks._timing import save_report
from experiments.japan_covid import FIT_END, PAD, START, grid_series

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "japan_prefectures.json"
FIGURE_PATH = Path(__file__).resolve().parents[1] / "docs" / "assets" / "japan_prefectures.png"


def initial_laws(d, reporting: float = 0.25) -> np.ndarray:
    """``(n_traj, 3)``: infected = 7 days of the first week's cases, removed = earlier cases, over reporting."""
    y = d.cases.values[:, :7, 0].mean(axis=1)
    infected = np.maximum(7 * y, 1.0) / (reporting * d.population)
    removed = d.cumulative_before / (reporting * d.population)
    return np.stack([1.0 - infected - removed, infected, removed], axis=1)


def build(d, pooled: bool = False) -> tuple[bm.CalibrationModel, bm.Observations]:
    """The hierarchical model (or, ``pooled=True``, one national beta path for every prefecture)."""
    n_times = d.n_days + PAD + 1
    game = bm.games.SIR(horizon=float(n_times - 1), n_times=n_times)
    vacc = grid_series(d.covariates["vaccination_rate"], n_times)
    beta = bm.paths.TimeSpline(n_knots=12, link="exp", loc=np.log(0.2), scale=0.5, smoothness=0.3)
    if not pooled:
        beta = bm.paths.Hierarchical(beta, scale=dist.HalfNormal(0.3))
    paths = {"beta": beta, "gamma": dist.LogNormal(np.log(1.0 / 7.0), 0.15),
             "c_infected": dist.LogNormal(np.log(1000.0), 1.5)}
    obs = bm.observe.ReportedCounts(population=tuple(d.population), reporting=dist.Beta(4.0, 12.0),
                                    concentration=dist.Exponential(0.05), weekday_origin=int(d.weekday[0]))
    model = bm.CalibrationModel(game, paths, obs, readout=bm.observe.Transitions([(0, 1)], names=("new_cases",)),
                                fixed={"c_alpha": 1.0, "vaccination": vacc}, mu0_source="data")
    data = bm.Observations.from_arrays(d.cases.values, d.cases.times, kind="counts", mu0=initial_laws(d),
                                       state_names=("new_cases",), trajectory_names=d.cases.trajectory_names,
                                       n_states=3)
    return model, data


def small_multiples(d, pred: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(7, 7, figsize=(16, 14), sharex=True)
    y = d.cases.values[:, :, 0]
    lo, med, hi = np.quantile(pred[..., 0], [0.05, 0.5, 0.95], axis=0)
    days = np.arange(d.n_days)
    for j, ax in enumerate(axes.flat):
        if j >= y.shape[0]:
            ax.axis("off")
            continue
        ax.fill_between(days, lo[j], hi[j], color="C0", alpha=0.3, lw=0)
        ax.plot(days, med[j], color="C0", lw=1)
        ax.plot(days, y[j], ".", color="k", ms=1.5)
        ax.set_title(d.cases.trajectory_names[j], fontsize=8)
        ax.tick_params(labelsize=6)
    fig.suptitle(f"Daily reported cases {START} .. {FIT_END}: observed (dots), posterior predictive median and 90% "
                 "band (SIR game, hierarchical beta, SVI)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--figure", type=Path, default=FIGURE_PATH)
    ap.add_argument("--kfold", type=int, default=5,
                    help="folds of the exact K-fold LOO across prefectures (0: PSIS-LOO only)")
    ap.add_argument("--quick", action="store_true", help="5 prefectures, 60 days, 50 steps")
    args = ap.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    t0 = time.perf_counter()
    if args.quick:
        d = bm.datasets.japan_covid(START, "2020-11-29", level="prefectures",
                                    prefectures=["Hokkaido", "Tokyo", "Osaka", "Fukuoka", "Okinawa"])
        args.steps = 50
    else:
        d = bm.datasets.japan_covid(START, FIT_END, level="prefectures")
    model, data = build(d)
    t1 = time.perf_counter()
    fit = bm.fit_svi(model, data, guide="normal", num_steps=args.steps, learning_rate=0.01, seed=0, progress_bar=False)
    fit_s = time.perf_counter() - t1
    tree = fit.to_arviz()
    post = tree["posterior"]
    gamma = np.asarray(post["gamma"].values).reshape(-1)
    beta = np.asarray(tree["posterior_deterministic"]["beta_path"].values)  # (chain, draw, n_traj, N)
    beta = beta.reshape(-1, *beta.shape[-2:])
    r_t = beta / gamma[:, None, None]
    dates = {str(d.dates[k]): k for k in (0, d.n_days // 2, d.n_days - 1)}
    names = list(d.cases.trajectory_names)
    rt = {name: {day: [float(v) for v in np.quantile(r_t[:, j, k], [0.03, 0.5, 0.97])] for day, k in dates.items()}
          for j, name in enumerate(names)}
    loo = bm.loo(fit, unit="trajectory", kfold=None)
    k_hat = np.asarray(loo.pareto_k).reshape(-1)
    pred = bm.posterior_predictive(fit, data, num_samples=200)["obs"][:, :, :, :]
    small_multiples(d, pred, args.figure)
    spread = np.asarray(post["beta_spread"].values).reshape(-1)
    comparison = None
    if args.kfold:
        # exact K-fold across prefectures (PSIS fails: k > 0.7 for every prefecture), against one
        # national beta path for all: does the hierarchy predict a prefecture left out better?
        pooled_model, _ = build(d, pooled=True)
        t2 = time.perf_counter()
        fit_pooled = bm.fit_svi(pooled_model, data, guide="normal", num_steps=args.steps, learning_rate=0.01,
                                seed=0, progress_bar=False)
        cmp = bm.compare({"hierarchical": fit, "pooled": fit_pooled}, unit="trajectory", kfold=args.kfold)
        diff, dse = cmp.difference("hierarchical", "pooled")
        comparison = {"kfold": args.kfold, "seconds": time.perf_counter() - t2,
                      "table": {name: {k: (v if isinstance(v, str) else float(v)) for k, v in row.items()}
                                for name, row in cmp.table.to_dict(orient="index").items()},
                      "hierarchical_minus_pooled": [diff, dse],
                      "pointwise": {name: dict(zip(names, np.asarray(m.pointwise).tolist()))
                                    for name, m in cmp.models.items()}}
        print(cmp.to_markdown(), flush=True)
    summary = {
        "prefectures": len(names), "days": d.n_days, "svi_steps": args.steps, "fit_seconds": fit_s,
        "final_loss": float(np.asarray(fit.losses)[-1]),
        "spread": [float(v) for v in np.quantile(spread, [0.03, 0.5, 0.97])],
        "gamma": [float(v) for v in np.quantile(gamma, [0.03, 0.5, 0.97])],
        "loo": {"elpd": float(loo.elpd), "se": float(loo.se), "pareto_k": dict(zip(names, k_hat.tolist())),
                "n_bad_k": int(np.sum(k_hat > 0.7))},
        "r_t": rt,
        "kfold_comparison": comparison,
    }
    print(f"47-prefecture SVI ({args.steps} steps): {fit_s:.0f} s; spread sigma median {summary['spread'][1]:.3f}; "
          f"LOO elpd {loo.elpd:.1f} +- {loo.se:.1f}, {summary['loo']['n_bad_k']} prefectures with k > 0.7")
    return save_report(args.out, t0, args.quick, **summary)


if __name__ == "__main__":
    main()
