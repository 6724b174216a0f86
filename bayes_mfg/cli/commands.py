"""The ``bayes-mfg`` commands: ``calibrate`` (simulate or read data, fit, summarise, plot) and ``report``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
import time
from typing import Any

import numpy as np
import numpyro.distributions as dist

from bayes_mfg import paths as mfg_paths
from bayes_mfg.cli.parser import NOISE_DEFAULTS
from bayes_mfg.cli.summary import diagnose, summarize, write_summary
from bayes_mfg.criticism import predictive_check, report, time_step_check
from bayes_mfg.data import Observations
from bayes_mfg.datasets import simulate
from bayes_mfg.games.base import ContinuousTimeGame
from bayes_mfg.inference import fit_nuts, fit_svi, load, save
from bayes_mfg.model import CalibrationModel
from bayes_mfg.observe import Dirichlet, LogisticNormal
from bayes_mfg.problems import Problem, problem

__all__ = ["build_path", "build_problem", "calibrate", "data_grid", "observation_model", "read_data", "report_command"]

#: Seed offset of the problem's own random draws (SIR initial shares, mobility base rates),
#: so that they differ from the simulation's draws for the same ``--seed``.
PROBLEM_SEED_OFFSET = 12345


#: Nominal probability of the summary's predictive intervals.
COVERAGE_PROB = 0.94

#: The most grid points a grid chosen from the data may have (beyond it, ask for --steps).
MAX_DATA_GRID_POINTS = 5001


def data_grid(times: np.ndarray, default_horizon: float, default_n_times: int, horizon: float | None = None,
              n_times: int | None = None) -> tuple[float, int]:
    """The time grid ``(T, N)`` of a game fitted to data observed at ``times``.

    ``T`` defaults to the last observed time. ``N`` defaults to the grid whose step ``g / k``
    divides the data's common time step ``g`` (every observed time ``t = m g``) and is at most
    the game's default step ``default_horizon / (default_n_times - 1)``: ``k = ceil(g / dt)``
    and ``N = T k / g + 1`` (daily data on the SIR game's default step 40/99: three steps a day).

    Raises
    ------
    ValueError
        If the times are not multiples of a common step, if ``T`` is not on the chosen grid,
        or if the grid would need more than :data:`MAX_DATA_GRID_POINTS` points; the message
        says to pass ``--steps`` (and ``--horizon``).
    """
    t = np.unique(np.asarray(times, dtype=np.float64))
    hint = "pass --steps and --horizon so that every observed time lies on the time grid t_n = n T / (N - 1)"
    if horizon is None:
        horizon = float(t[-1])
        if horizon <= 0:
            raise ValueError(f"--data: the last observed time is {horizon:g}, so the horizon cannot be read off it; {hint}")
    if n_times is not None:
        return horizon, n_times
    scale = max(horizon, 1.0)
    gaps = np.diff(np.concatenate([[0.0], t]))
    gaps = gaps[gaps > 1e-9 * scale]
    step = float(gaps.min()) if gaps.size else horizon
    multiples = np.round(np.concatenate([t, [horizon]]) / step)
    if not np.allclose(multiples * step, np.concatenate([t, [horizon]]), rtol=0.0, atol=1e-9 * scale):
        raise ValueError(f"--data: the observed times (and the horizon {horizon:g}) are not multiples of one time "
                         f"step (the smallest gap is {step:g}); {hint}")
    k = max(1, math.ceil(step / (default_horizon / (default_n_times - 1)) - 1e-9))
    n = int(multiples[-1]) * k + 1
    if n > MAX_DATA_GRID_POINTS:
        raise ValueError(f"--data: a grid through every observed time (step {step:g}) up to {horizon:g} needs {n} "
                         f"points, more than {MAX_DATA_GRID_POINTS}; {hint}")
    return horizon, n


def _problem_options(args: argparse.Namespace, n_times: int | None, horizon: float | None) -> dict[str, Any]:
    seed = args.seed + PROBLEM_SEED_OFFSET
    options: dict[str, Any] = {"n_times": n_times, "horizon": horizon}
    if args.system == "lq":
        options.update(n_states=args.states or 8, truth=args.truth or "constant")
    elif args.system == "sir":
        options.update(n_trajectories=args.trajectories, seed=seed, truth=args.truth or "constant")
    elif args.system == "cybersecurity":
        options.update(truth=args.truth or "constant")
    elif args.system == "mobility":
        options.update(n_states=args.states or 4, seed=seed)
    return options


def build_problem(args: argparse.Namespace, times: np.ndarray | None = None) -> Problem:
    """The reference problem (:mod:`bayes_mfg.problems`) selected by ``--system`` and its options.

    With ``times`` (the data's) the grid options left out are chosen by :func:`data_grid`.
    ``--prior NAME=MEDIAN`` moves a calibrated parameter's centre; ``--fix NAME=VALUE`` holds
    a game parameter fixed in the model (and, if it is not calibrated, in the simulation).
    """
    horizon, n_times = getattr(args, "horizon", None), args.steps
    if times is not None and (horizon is None or n_times is None):
        default = problem(args.system, **_problem_options(args, None, None)).game
        horizon, n_times = data_grid(times, default.horizon, default.n_times, horizon, n_times)
    prob = problem(args.system, **_problem_options(args, n_times, horizon))
    fixes = dict(getattr(args, "fix", []))
    specs = prob.game.parameter_specs()
    for name, _ in [*getattr(args, "prior", []), *fixes.items()]:
        if name not in specs:
            raise ValueError(f"--prior/--fix: unknown parameter {name!r} of the {args.system} game; "
                             f"expected one of {sorted(specs)}")
    priors = dict(getattr(args, "prior", []))
    for name in priors:
        if name not in prob.calibrated:
            raise ValueError(f"--prior {name}: {name!r} is not calibrated (calibrated: {list(prob.calibrated)})")
    calibrated = tuple(n for n in prob.calibrated if n not in fixes)
    if not calibrated:
        raise ValueError(f"--fix holds every calibrated parameter {list(prob.calibrated)} fixed: nothing is left to fit")
    fixed = {**prob.fixed, **{n: v[0] for n, v in fixes.items()}}
    truth = {**prob.truth, **{n: v[0] for n, v in fixes.items() if n not in prob.calibrated}}
    centres = {n: (priors[n][0] if n in priors else prob.centres[n]) for n in calibrated}
    return dataclasses.replace(prob, calibrated=calibrated, centres=centres, truth=truth, fixed=fixed)


def build_path(args: argparse.Namespace, centre: float, sd: float = 1.0) -> mfg_paths.ParameterPath:
    """The ``--path`` of a parameter whose prior (or initial value) is centred on ``centre``
    (``sd``: the log-scale sd of a constant's LogNormal prior)."""
    if args.path == "constant":
        return mfg_paths.Constant(prior=dist.LogNormal(math.log(centre), sd))
    if args.path == "spline":
        # weakly informative: the first coefficient's 94% band spans centre * [0.1, 3.4] or so on
        # the softplus scale, and neighbouring knots may differ by 1 (see TimeSpline)
        return mfg_paths.TimeSpline.around(centre, n_knots=12, link="softplus", scale=1.5, smoothness=1.0, centered=True)
    return mfg_paths.Neural(inputs=("t", "mu"), init_value=centre, link="softplus", seed=args.seed)


def observation_model(args: argparse.Namespace, for_simulation: bool = False) -> Dirichlet | LogisticNormal:
    """``--observation`` with its noise (``--concentration`` or ``--noise-scale``).

    A noise of ``learn`` (the default with ``--data``) is a LogNormal prior with median
    :data:`~bayes_mfg.cli.parser.NOISE_DEFAULTS` and log-scale sd 2 (Dirichlet) or 1
    (logistic normal); a simulation uses that median.
    """
    noise = args.concentration if args.observation == "dirichlet" else args.noise_scale
    if noise is None:
        noise = "learn" if args.data else NOISE_DEFAULTS[args.observation]
    if noise == "learn":
        median = NOISE_DEFAULTS[args.observation]
        noise = median if for_simulation else dist.LogNormal(math.log(median), 2.0 if args.observation == "dirichlet" else 1.0)
    return Dirichlet(noise) if args.observation == "dirichlet" else LogisticNormal(scale=noise)


def read_data(args: argparse.Namespace, state_names: tuple[str, ...]) -> Observations:
    """``--data`` read by :meth:`Observations.from_csv` (``--mu0 first``: the first rows are ``mu0``)."""
    data = Observations.from_csv(args.data, state_names, mu0="first" if args.mu0 == "first" else None)
    if data.n_states != len(state_names):
        raise ValueError(f"--data has {data.n_states} states but the {args.system} game has {len(state_names)}")
    return data


def _fit(args: argparse.Namespace, model: CalibrationModel, data: Observations) -> tuple[Any, Any, float, dict[str, int]]:
    """Fit by ``--method``; returns the fit, its DataTree, the fit time and the failure counts."""
    progress = not args.no_progress
    start = time.perf_counter()
    failures: dict[str, int] = {}
    if args.method == "svi":
        res = fit_svi(model, data, guide=args.guide, num_steps=args.svi_steps, learning_rate=args.learning_rate,
                      seed=args.seed, progress_bar=progress)
        fit_time = time.perf_counter() - start
        tree = res.to_arviz(num_samples=args.samples)
        failures["svi_failed_steps"] = int(res.n_failed_steps)
    else:
        res = fit_nuts(model, data, num_chains=args.chains, num_warmup=args.warmup, num_samples=args.samples,
                       seed=args.seed, init=args.nuts_init, dense_mass=args.nuts_init == "laplace", progress_bar=progress)
        fit_time = time.perf_counter() - start
        tree = res.to_arviz()
        failures["divergences"] = int(res.num_divergences)
    failures["rejected_failed_solves"] = int(res.failures.n_rejected)
    failures["adjoint_failures"] = int(res.failures.n_adjoint_failures)
    conv = np.asarray(tree["sample_stats"]["solver_converged"].values)
    failures["failed_solve_draws"] = int(np.sum(~conv.reshape(*conv.shape[:2], -1).all(-1)))
    return res, tree, fit_time, failures


def _plot(tree: Any, prob: Problem, data: Observations, truth_mu: np.ndarray | None,
          truth_paths: dict[str, np.ndarray] | None, out: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayes_mfg.plots import plot_path, plot_trajectories

    fig = plot_trajectories(tree, trajectories=tuple(range(min(3, data.n_trajectories))), truth_mu=truth_mu)
    fig.savefig(out / "trajectories.png", dpi=100)
    plt.close(fig)
    names = list(prob.calibrated)
    ncol = min(4, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), constrained_layout=True, squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        truth = None if truth_paths is None else truth_paths[name][0]
        plot_path(tree, name, truth=truth, trajectory=0, ax=ax)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    fig.savefig(out / "path.png", dpi=100)
    plt.close(fig)


def _simulated_times(args: argparse.Namespace, game: Any) -> np.ndarray:
    """Observation times of simulated data: the default grid's times whenever ``--steps``
    refines it (so a finer grid, as the time-step check advises, refits the same kind of
    data rather than more of it), else every point of the chosen grid."""
    grid = np.asarray(game.time_grid)
    default = np.asarray(problem(args.system, **_problem_options(args, None, game.horizon)).game.time_grid)
    nearest = np.abs(grid[None, :] - default[:, None]).min(axis=1)
    return default if np.all(nearest <= 1e-9 * max(1.0, float(game.horizon))) else grid


def calibrate(args: argparse.Namespace) -> dict[str, Any]:
    """``bayes-mfg calibrate``: writes posterior.nc, summary.csv/.md, trajectories.png, path.png."""
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    obs_model = observation_model(args)
    truth_mu = truth_paths = None
    if args.data:
        state_names = tuple(problem(args.system, **_problem_options(args, None, None)).game.state_names)
        data = read_data(args, state_names)
        prob = build_problem(args, np.asarray(data.times))
    else:
        prob = build_problem(args)
        sim = simulate(prob.game, prob.truth, args.trajectories, observation_model(args, for_simulation=True),
                       times=_simulated_times(args, prob.game), mu0=prob.mu0, seed=args.seed)
        data, truth_mu = sim.data, np.asarray(sim.mu)
        truth_paths = {k: np.asarray(sim.truth[k]) for k in prob.calibrated if k in sim.truth}

    sds = {name: values[1] for name, values in args.prior if len(values) > 1}
    paths = {name: build_path(args, prob.centres[name], sds.get(name, 1.0)) for name in prob.calibrated}
    model = CalibrationModel(prob.game, paths, obs_model, fixed=prob.fixed or None)
    res, tree, fit_time, failures = _fit(args, model, data)
    checkable = args.time_step_check and isinstance(prob.game, ContinuousTimeGame)  # a discrete-time step is the model
    check = time_step_check(res, num_draws=50, seed=args.seed) if checkable else None
    tree.attrs["cli_arguments"] = json.dumps({k: v for k, v in vars(args).items() if k != "subparser"}, default=str)
    save(tree, out / "posterior.nc")

    rows = summarize(tree, prob.calibrated, method=args.method, truth_paths=truth_paths, failures=failures)
    coverage = predictive_check(res, prob=COVERAGE_PROB, seed=args.seed).overall
    diagnosis = diagnose(rows, method=args.method, coverage=coverage, prob=COVERAGE_PROB, failures=failures,
                         losses=getattr(res, "losses", None), n_chains=args.chains if args.method == "nuts" else 1)
    noise = obs_model.concentration if args.observation == "dirichlet" else obs_model.scale
    header = {
        "system": args.system,
        "path": args.path,
        "method": args.method + (f" (guide {args.guide}, {args.svi_steps} steps)" if args.method == "svi"
                                 else f" ({args.chains} chains, {args.warmup} warmup + {args.samples} draws)"),
        "data": (f"{args.data} ({data.n_trajectories} trajectories, {len(data.times)} times, initial distributions "
                 + ("the first rows)" if args.mu0 == "first" else "fitted)")) if args.data
                else f"simulated ({args.trajectories} trajectories" + (f", truth {args.truth}" if args.truth else "") + ")",
        "observation model": f"{args.observation}, " + (f"{'concentration' if args.observation == 'dirichlet' else 'scale'} "
                                                         + (f"{noise:g}" if isinstance(noise, float) else f"learned ({noise!r})")),
        "game": f"{prob.game.n_states} states, horizon {prob.game.horizon:g}, {prob.game.n_times} grid points"
                + (f", fixed {sorted(prob.fixed)}" if prob.fixed else ""),
        **diagnosis.header(),
        "fit time (s)": f"{fit_time:.1f}",
    }
    if check is not None:
        header["time step check"] = (f"{'passes' if check.passed else 'FAILS'}: posterior means move by up to "
                                     f"{check.max_shift:.2f} sd with dt / 2 ({check.scheme})")
    table = write_summary(rows, out, header)
    _plot(tree, prob, data, truth_mu, truth_paths, out)

    total = time.perf_counter() - start
    print(f"\nbayes-mfg calibrate: {args.system}, path {args.path}, {header['method']}")
    print(table)
    print(f"solver failures: {failures}; fit {fit_time:.1f} s, total {total:.1f} s; outputs in {out}")
    warnings = list(diagnosis.warnings) + ([check.warning] if check is not None and check.warning is not None else [])
    print(f"{diagnosis.convergence}\npredictive coverage: {header['predictive coverage']}")
    for line in warnings:
        print(f"WARNING: {line}")
    return {"tree": tree, "rows": rows, "diagnosis": diagnosis, "warnings": warnings, "fit_time": fit_time, "total_time": total, "out": out, "time_step": check}


def report_command(args: argparse.Namespace) -> pathlib.Path:
    """``bayes-mfg report``: read the saved fits and write the report."""
    import matplotlib

    matplotlib.use("Agg")

    names = args.names or [pathlib.Path(f).resolve().parent.name or pathlib.Path(f).stem for f in args.fits]
    if len(set(names)) != len(names):
        names = [pathlib.Path(f).stem + f"_{i}" for i, f in enumerate(args.fits)]
    try:
        trees = {n: load(f) for n, f in zip(names, args.fits)}
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read a fit: {exc}") from exc
    for n, t in trees.items():
        missing = [g for g in ("posterior", "log_likelihood", "observed_data", "posterior_predictive") if g not in t.children]
        if missing:
            raise ValueError(f"fit {n!r} lacks the group(s) {missing}")
    fits = trees if len(trees) > 1 else next(iter(trees.values()))
    out = report(fits, args.out, compare_unit=args.unit)
    print(f"bayes-mfg report: wrote {out}")
    return out
