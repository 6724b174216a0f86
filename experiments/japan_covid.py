"""COVID-19 in Japan from daily reported cases: the SIR distancing game with policy covariates
vs a classical SIR with a free transmission path vs a neural no-game baseline.

Data: :func:`bayes_mfg.datasets.japan_covid` (MHLW national daily cases, OWID vaccinations,
OxCGRT stringency, Tokyo's states of emergency, the Olympics), 2020-10-01 .. 2021-10-03.
Fit on 2020-10-01 .. 2021-07-31 (304 days), forecast 2021-08-01 .. 2021-10-03 (64 days).

The clock is in days (``t = 0``: the start of 2020-10-01); the game runs 28 days past the
forecast window so that the horizon's end (no future to fear) does not bend the forecast.
Every model observes the daily reported cases as

    cases_t ~ NB2(N * reporting * exp(w[weekday(t)]) * F_t, phi),   F_t = flow S -> I over day t

(:class:`bayes_mfg.observe.Transitions` on the equilibrium's rates,
:class:`bayes_mfg.observe.ReportedCounts`: reporting ~ Beta(4, 12), seven zero-sum weekday
effects, phi learned) with ``N`` the 2020 census population. Vaccination (people with a first
dose per day, OWID) is a known flow S -> R in the two SIR models. Models:

* ``game``: :class:`bayes_mfg.games.SIR` with the cost of infection ``c_infected`` learned
  (susceptibles distance when infections are common); ``log beta(t) = b + w_emergency z_1(t)
  + w_stringency z_2(t) + w_olympics z_3(t) + s(t)`` (:class:`bayes_mfg.paths.Regression`;
  ``s`` a 10-knot spline: variants, seasons, behaviour);
* ``classical``: ``c_infected = 0`` (no distancing), ``log beta(t)`` a free 16-knot spline;
* ``neural``: :class:`bayes_mfg.games.MeanFieldDynamics` (no value function): the rates
  ``S -> I`` and ``I -> R`` are a Bayesian MLP of ``t`` and the covariates (the neural part of
  arXiv 2504.13228, without the game).

Reported (``experiments/results/japan_covid.json``): per model the forecast MAE of
``log(1 + cases)``, the 90% predictive coverage, the peak height and date error against the
observed peak of the window (25,978 on 2021-08-20), PSIS-LFO over the forecast window, and
the game's policy effects (``exp(w)``: the factor on beta; associational).

Run::

    python -m experiments.japan_covid                          # NUTS, 2 chains
    python -m experiments.japan_covid --fit svi --lfo          # SVI fits, PSIS-LFO with SVI refits
    python -m experiments.japan_covid --quick                  # CI-sized smoke run
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

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "japan_covid.json"
START, END, FIT_END = "2020-10-01", "2021-10-03", "2021-07-31"
PAD = 28  # days the game runs past the last observation
MODELS = ("game", "classical", "neural")
COVARIATES = ("state_of_emergency", "stringency", "olympics")


def grid_series(x: np.ndarray, n_times: int) -> np.ndarray:
    """A daily series (day ``n`` = grid step ``n -> n+1``) on ``n_times`` grid points, the last value carried on."""
    return np.concatenate([x, np.full(n_times - len(x), x[-1])])


def load(start: str = START, end: str = END, fit_end: str = FIT_END):
    """``(dataset, n_fit)``: the data and the number of fitted days."""
    d = bm.datasets.japan_covid(start, end)
    n_fit = int(np.searchsorted(d.dates, np.datetime64(fit_end)) + 1)
    if not 0 < n_fit < d.n_days:
        raise ValueError(f"fit_end must fall inside ({start}, {end}), got {fit_end}")
    return d, n_fit


def covariate_matrix(d, n_times: int) -> np.ndarray:
    """``(n_times, 3)``: emergency (0/1), (stringency - 50) / 10, Olympics (0/1)."""
    z = [d.covariates["state_of_emergency"], (d.covariates["stringency"] - 50.0) / 10.0, d.covariates["olympics"]]
    return np.stack([grid_series(np.asarray(c, dtype=float), n_times) for c in z], axis=1)


def initial_law(d, reporting: float = 0.25) -> np.ndarray:
    """Prior mean of ``mu0``: infected = 7 days of the first week's cases, removed = all cases
    before the window, both divided by the reporting fraction."""
    n = float(d.population[0])
    y = d.cases.values[0, :7, 0]
    infected = 7 * y.mean() / (reporting * n)
    removed = float(d.cumulative_before[0]) / (reporting * n)
    return np.array([1.0 - infected - removed, infected, removed])


def masked(data: bm.Observations, keep: np.ndarray) -> bm.Observations:
    """The same observations with the rows outside ``keep`` masked."""
    vals = np.where(data.mask, data.values, np.nan)
    vals[:, ~keep] = np.nan
    return bm.Observations.from_arrays(vals, data.times, kind=data.kind, state_names=data.state_names,
                                       trajectory_names=data.trajectory_names, n_states=3)


def build_model(kind: str, d, scheme: str = bm.stepping.DEFAULT_SCHEME) -> bm.CalibrationModel:
    """The calibration model ``kind`` (one of :data:`MODELS`) for the dataset ``d``, its game
    stepped by ``scheme``."""
    n_times = d.n_days + PAD + 1
    horizon = float(n_times - 1)
    z = covariate_matrix(d, n_times)
    vacc = grid_series(d.covariates["vaccination_rate"], n_times)
    obs = bm.observe.ReportedCounts(population=float(d.population[0]), reporting=dist.Beta(4.0, 12.0),
                                    concentration=dist.Exponential(0.02), weekday_origin=int(d.weekday[0]))
    cases = bm.observe.Transitions([(0, 1)], names=("new_cases",))
    m0 = initial_law(d)
    shared = dict(readout=cases, mu0_source="shared", mu0_concentration=tuple(2.5e5 * m0))
    gamma = dist.LogNormal(np.log(1.0 / 7.0), 0.15)
    if kind == "game":
        game = bm.games.SIR(horizon=horizon, n_times=n_times, scheme=scheme)
        beta = bm.paths.Regression(z, names=COVARIATES, link="exp", effect_scale=0.5,
                                   residual=bm.paths.TimeSpline(n_knots=24, link="exp", loc=np.log(0.2), scale=0.5,
                                                                smoothness=0.3))
        paths = {"beta": beta, "gamma": gamma, "c_infected": dist.LogNormal(np.log(1000.0), 1.5)}
        return bm.CalibrationModel(game, paths, obs, fixed={"c_alpha": 1.0, "vaccination": vacc}, **shared)
    if kind == "classical":
        game = bm.games.SIR(horizon=horizon, n_times=n_times, scheme=scheme)
        beta = bm.paths.TimeSpline(n_knots=24, link="exp", loc=np.log(0.2), scale=0.5, smoothness=0.3)
        return bm.CalibrationModel(game, {"beta": beta, "gamma": gamma}, obs,
                                   fixed={"c_infected": 0.0, "vaccination": vacc}, **shared)
    if kind == "neural":
        game = bm.games.MeanFieldDynamics(n_states=3, moves=((0, 1), (1, 2)), horizon=horizon, n_times=n_times,
                                          scheme=scheme)
        net = bm.paths.Neural(inputs=("t",), hidden=(8,), covariates=z, bayesian=True, prior_scale=1.0,
                              link="exp", floor=0.0, init_value=np.array([0.2 * m0[1], 1.0 / 7.0]))
        return bm.CalibrationModel(game, {"rates": net}, obs, **shared)
    raise ValueError(f"kind must be one of {MODELS}, got {kind!r}")


def forecast_scores(pred_obs: np.ndarray, y: np.ndarray, dates: np.ndarray, window: np.ndarray) -> dict:
    """MAE of log(1 + cases) of the predictive median, 90% coverage, and the peak errors."""
    draws = pred_obs[:, 0, :, 0][:, window]          # (S, n_window)
    obs = y[window]
    med = np.median(draws, axis=0)
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    peak_obs = int(np.argmax(obs))
    peaks = draws.max(axis=1)
    peak_days = draws.argmax(axis=1)
    day = dates[window]
    return {
        "mae_log": float(np.mean(np.abs(np.log1p(med) - np.log1p(obs)))),
        "coverage90": float(np.mean((lo <= obs) & (obs <= hi))),
        "observed_peak": {"cases": float(obs[peak_obs]), "date": str(day[peak_obs])},
        "peak_height_ratio": float(np.median(peaks) / obs[peak_obs]),
        "peak_height_interval90": [float(np.quantile(peaks, 0.05)), float(np.quantile(peaks, 0.95))],
        "peak_date_error_days": float(np.median(peak_days) - peak_obs),
        "median_path": med.tolist(), "lo90": lo.tolist(), "hi90": hi.tolist(),
    }


def effects_table(fit) -> dict:
    """Posterior of exp(w_k) (the factor on beta when covariate k grows by 1) for the game."""
    post = fit.to_arviz()["posterior"]
    w = np.asarray(post["beta_effects"].values).reshape(-1, len(COVARIATES))
    out = {}
    for k, name in enumerate(COVARIATES):
        f = np.exp(w[:, k])
        lo, med, hi = np.quantile(f, [0.03, 0.5, 0.97])
        out[name] = {"factor_median": float(med), "factor_94": [float(lo), float(hi)], "prob_below_1": float(np.mean(f < 1))}
    return out


def run(args) -> dict:
    t0 = time.perf_counter()
    d, n_fit = load()
    keep = np.arange(d.n_days) < n_fit
    train = masked(d.cases, keep)
    window = ~keep
    y = d.cases.values[0, :, 0]
    results: dict = {"fit_days": int(n_fit), "forecast_days": int(window.sum()), "models": {}}
    results["scheme"] = args.scheme
    results["steps_per_day"] = args.steps_per_day
    results["inference"] = (f"NUTS, {args.chains} chains x ({args.warmup} + {args.samples})" if args.fit == "nuts"
                            else f"SVI, mean-field normal guide, {args.steps} Adam steps (lr 0.01)")
    for kind in args.models:
        model = build_model(kind, d, args.scheme)
        if args.steps_per_day > 1:  # the library's refinement: grid inputs interpolated linearly in time
            model = model.on_time_grid(args.steps_per_day * (model.game.n_times - 1) + 1)
        t1 = time.perf_counter()
        fit = fit_model(model, train, args)
        fit_s = time.perf_counter() - t1
        pred = bm.posterior_predictive(fit, d.cases, num_samples=args.predictive, seed=args.seed)
        row = {"fit_seconds": fit_s, "forecast": forecast_scores(pred["obs"], y, d.dates, window)}
        if args.fit == "nuts":
            import arviz_stats as azs

            tree = fit.to_arviz()
            rhat = azs.rhat(tree["posterior"])
            ess = azs.ess(tree["posterior"], method="bulk")
            row["max_rhat"] = max(float(np.nanmax(np.asarray(rhat[v].values))) for v in rhat.data_vars)
            row["min_ess_bulk"] = min(float(np.nanmin(np.asarray(ess[v].values))) for v in ess.data_vars)
            row["min_ess_per_second"] = row["min_ess_bulk"] / fit_s
            row["divergences"] = int(np.asarray(tree["sample_stats"]["diverging"].values).sum())
        else:
            losses = np.asarray(fit.losses)
            tenth = max(len(losses) // 10, 1)
            row["final_loss"] = float(losses[-1])
            # a convergence hint for SVI: mean loss of the last tenth of the steps minus the tenth before
            row["loss_change_last_tenth"] = float(losses[-tenth:].mean() - losses[-2 * tenth:-tenth].mean())
        if kind == "game":
            row["effects"] = effects_table(fit)
        if args.time_step_check:
            check = bm.time_step_check(fit, num_draws=args.check_draws, seed=args.seed)
            row["time_step_check"] = {"passed": check.passed, "max_shift": check.max_shift,
                                      "pareto_k": check.pareto_k, "loglik_shift": check.loglik_shift,
                                      "loglik_shift_sd": check.loglik_shift_sd,
                                      "suggested_steps": check.suggested_steps, "n_failed": check.n_failed}
            print(check.summary().splitlines()[0], flush=True)
        f = row["forecast"]
        print(f"{kind:9s} fit {fit_s:6.0f} s  MAE(log) {f['mae_log']:.3f}  cov90 {f['coverage90']:.2f}  "
              f"peak x{f['peak_height_ratio']:.2f}  date {f['peak_date_error_days']:+.0f} d", flush=True)
        if args.lfo:
            t2 = time.perf_counter()
            n_rows = min(d.n_days, n_fit + args.lfo_days)
            head = bm.Observations.from_arrays(d.cases.values[:, :n_rows], d.cases.times[:n_rows], kind="counts",
                                               state_names=d.cases.state_names, n_states=3)
            res = bm.lfo(model, head, min_times=int(n_fit), fit=lambda m, data: fit_model(m, data, args),
                         num_samples=args.predictive, seed=args.seed)
            row["lfo"] = {"days": int(n_rows - n_fit), "elpd": float(res.elpd), "se": float(res.se),
                          "n_refits": int(res.n_refits), "pointwise": np.asarray(res.pointwise).tolist(),
                          "refits": [int(i) for i in res.refits], "seconds": time.perf_counter() - t2,
                          "max_pareto_k": float(np.nanmax(res.pareto_k)) if np.any(np.isfinite(res.pareto_k)) else None}
            print(f"{kind:9s} PSIS-LFO elpd {res.elpd:.1f} +- {res.se:.1f} ({res.n_refits} fits)", flush=True)
        results["models"][kind] = row
        save_report(args.out, t0, args.quick, **results)  # after every model: a long run keeps what it measured
        # each refit compiles anew; release the machine code of this model's fits before the next
        # model (a run of all three with LFO crashed in XLA with "Cannot allocate memory" otherwise)
        jax.clear_caches()
    return save_report(args.out, t0, args.quick, **results)


def fit_model(model: bm.CalibrationModel, data: bm.Observations, args) -> bm.inference.Fit:
    """The fit of ``args.fit``: NUTS (started from a Laplace approximation) or SVI (normal guide)."""
    if args.fit == "nuts":
        # a Bayesian network's weights have no Laplace start here (random_eqx_module): prior draws
        init = "prior" if any(isinstance(p, bm.paths.Neural) for p in model.paths.values()) else "laplace"
        return bm.fit_nuts(model, data, num_chains=args.chains, num_warmup=args.warmup, num_samples=args.samples,
                           init=init, seed=args.seed, progress_bar=False)
    return bm.fit_svi(model, data, guide="normal", num_steps=args.steps, learning_rate=0.01, seed=args.seed,
                      progress_bar=False)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--fit", choices=("nuts", "svi"), default="nuts")
    ap.add_argument("--steps", type=int, default=3000, help="SVI steps")
    ap.add_argument("--lfo", action="store_true", help="PSIS-LFO over the forecast window (refits with --fit)")
    ap.add_argument("--lfo-days", type=int, default=64, help="days of the forecast window scored by PSIS-LFO")
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=400)
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--predictive", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-step-check", action="store_true",
                    help="bm.time_step_check of every fit (do the posterior means move with dt / 2?)")
    ap.add_argument("--check-draws", type=int, default=100, help="draws of the time-step check")
    ap.add_argument("--steps-per-day", type=int, default=1, help="time steps of the games per day")
    ap.add_argument("--scheme", default=bm.stepping.DEFAULT_SCHEME, choices=tuple(bm.stepping.SCHEMES),
                    help="time stepping of the games (the published runs: implicit)")
    ap.add_argument("--quick", action="store_true", help="a smoke run (20 + 20 draws, 1 chain)")
    args = ap.parse_args(argv)
    if args.quick:
        args.chains, args.warmup, args.samples, args.predictive, args.steps = 1, 20, 20, 20, 50
    jax.config.update("jax_enable_x64", True)
    return run(args)


if __name__ == "__main__":
    main()
