"""Cold against warm-started NUTS refits: the cross-validation refits of the README's no-game baseline.

Run as::

    python -m benchmarks.warm_refit [--out-dir benchmarks/results] [--folds 2]

The README's baseline (``MeanFieldDynamics`` of the LQ game, 20 trajectories, 2 chains of
500 warm-up + 1000 draws) is fitted once; then, for each of ``--folds`` folds (trajectory
``j`` left out), the fold is refitted cold (``fit.refit(data, warm_start=False)``: the original
start and warm-up) and warm (``fit.refit(data)``: the fit's last draws and mass matrix, a
125-iteration step-size warm-up), alternately, in one process. The table gives each refit's
wall time (compilation included: each refit builds its own sampler), its held-out log
predictive density of the left-out trajectory and the posterior mean and sd of the rates'
first entry; the medians and their ratio close it. JSON in ``<out-dir>/warm_refit.json``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks._timing import ROOT, machine_info, markdown_table, write_json


def run(out_dir: Path, folds: int) -> dict:
    import numpyro
    from scipy.special import logsumexp

    import bayes_mfg as bm

    game = bm.games.LinearQuadratic(n_states=3, n_times=50)
    obs = bm.observe.Dirichlet(500.0)
    sim = bm.datasets.simulate(game, {"gamma": 1.3}, 20, obs, seed=1)
    model = bm.CalibrationModel(bm.games.MeanFieldDynamics.like(game), {"rates": bm.paths.Constant()}, obs)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bm.fit_nuts(model, sim.data, num_chains=2, num_warmup=500, num_samples=1000, progress_bar=False)
    fit_s = time.perf_counter() - t0
    rows = []
    for j in range(folds):
        keep = np.arange(sim.data.n_trajectories) != j
        fold = bm.data.Observations.from_arrays(sim.data.values[keep], sim.data.times, mu0=sim.data.mu0[keep],
                                                state_names=sim.data.state_names)
        for how in ("cold", "warm"):
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = fit.refit(fold, warm_start=how == "warm")
            wall = time.perf_counter() - t
            draws = {k: np.asarray(v).reshape(-1, *np.shape(v)[2:]) for k, v in ref.samples.items() if k == "rates"}
            ll = np.asarray(numpyro.infer.log_likelihood(model, draws, sim.data)["obs"])[:, j].sum(-1)
            rates = draws["rates"].reshape(draws["rates"].shape[0], -1)[:, 0]
            rows.append({"fold": j, "refit": how, "wall_s": wall, "num_warmup": ref.settings["num_warmup"],
                         "heldout_lpd": float(logsumexp(ll) - np.log(ll.size)), "rate0_mean": float(rates.mean()),
                         "rate0_sd": float(rates.std()), "divergences": ref.num_divergences})
            print(rows[-1], flush=True)
    med = {h: float(np.median([r["wall_s"] for r in rows if r["refit"] == h])) for h in ("cold", "warm")}
    cols = list(rows[0])
    print(markdown_table(cols, [[f"{r[c]:.4g}" if isinstance(r[c], float) else r[c] for c in cols] for r in rows]))
    print(f"\nfull fit {fit_s:.1f} s; median refit: cold {med['cold']:.1f} s, warm {med['warm']:.1f} s, "
          f"ratio cold / warm {med['cold'] / med['warm']:.2f}")
    out = {"machine": machine_info(), "full_fit_s": fit_s, "rows": rows, "median_s": med,
           "ratio_cold_over_warm": med["cold"] / med["warm"]}
    write_json(out_dir / "warm_refit.json", out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--folds", type=int, default=2)
    args = p.parse_args()
    run(args.out_dir, args.folds)


if __name__ == "__main__":
    main()
