"""The ``bayes-mfg`` commands: ``calibrate`` (simulate or read data, fit, summarise, plot) and ``report``."""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import time
from typing import Any

import numpy as np
import numpyro.distributions as dist

from bayes_mfg import paths as mfg_paths
from bayes_mfg.cli.summary import summarize, write_summary
from bayes_mfg.criticism import report, time_step_check
from bayes_mfg.data import Observations
from bayes_mfg.datasets import simulate
from bayes_mfg.games.base import ContinuousTimeGame
from bayes_mfg.inference import fit_nuts, fit_svi, load, save
from bayes_mfg.model import CalibrationModel
from bayes_mfg.observe import Dirichlet
from bayes_mfg.problems import Problem, problem

__all__ = ["build_path", "build_problem", "calibrate", "report_command"]

#: Seed offset of the problem's own random draws (SIR initial shares, mobility base rates),
#: so that they differ from the simulation's draws for the same ``--seed``.
PROBLEM_SEED_OFFSET = 12345


def build_problem(args: argparse.Namespace) -> Problem:
    """The reference problem (:mod:`bayes_mfg.problems`) selected by ``--system`` and its options."""
    seed = args.seed + PROBLEM_SEED_OFFSET
    options: dict[str, Any] = {"n_times": args.steps}
    if args.system == "lq":
        options.update(n_states=args.states or 8, truth=args.truth or "constant")
    elif args.system == "sir":
        options.update(n_trajectories=args.trajectories, seed=seed)
    elif args.system == "mobility":
        options.update(n_states=args.states or 4, seed=seed)
    return problem(args.system, **options)


def build_path(args: argparse.Namespace, centre: float) -> mfg_paths.ParameterPath:
    """The ``--path`` of a parameter whose prior (or initial value) is centred on ``centre``."""
    if args.path == "constant":
        return mfg_paths.Constant(prior=dist.LogNormal(math.log(centre), 1.0))
    if args.path == "spline":
        # weakly informative: the first coefficient's 94% band spans centre * [0.1, 3.4] or so on
        # the softplus scale, and neighbouring knots may differ by 1 (see TimeSpline)
        return mfg_paths.TimeSpline.around(centre, n_knots=12, link="softplus", scale=1.5, smoothness=1.0, centered=True)
    return mfg_paths.Neural(inputs=("t", "mu"), init_value=centre, link="softplus", seed=args.seed)


def _read_data(args: argparse.Namespace, prob: Problem) -> Observations:
    data = Observations.from_csv(args.data, tuple(prob.game.state_names))  # errors: one line, by cli.main
    if data.n_states != prob.game.n_states:
        raise ValueError(f"--data has {data.n_states} states but the {args.system} game has {prob.game.n_states}")
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


def calibrate(args: argparse.Namespace) -> dict[str, Any]:
    """``bayes-mfg calibrate``: writes posterior.nc, summary.csv/.md, trajectories.png, path.png."""
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    prob = build_problem(args)
    obs_model = Dirichlet(args.concentration)
    truth_mu = truth_paths = None
    if args.data:
        data = _read_data(args, prob)
    else:
        sim = simulate(prob.game, prob.truth, args.trajectories, obs_model, mu0=prob.mu0, seed=args.seed)
        data, truth_mu = sim.data, np.asarray(sim.mu)
        truth_paths = {k: np.asarray(sim.truth[k]) for k in prob.calibrated if k in sim.truth}

    paths = {name: build_path(args, prob.centres[name]) for name in prob.calibrated}
    model = CalibrationModel(prob.game, paths, obs_model, fixed=prob.fixed or None)
    res, tree, fit_time, failures = _fit(args, model, data)
    checkable = args.time_step_check and isinstance(prob.game, ContinuousTimeGame)  # a discrete-time step is the model
    check = time_step_check(res, num_draws=50, seed=args.seed) if checkable else None
    tree.attrs["cli_arguments"] = json.dumps({k: v for k, v in vars(args).items() if k != "subparser"}, default=str)
    save(tree, out / "posterior.nc")

    rows = summarize(tree, prob.calibrated, method=args.method, truth_paths=truth_paths, failures=failures)
    header = {
        "system": args.system,
        "path": args.path,
        "method": args.method + (f" (guide {args.guide}, {args.svi_steps} steps)" if args.method == "svi"
                                 else f" ({args.chains} chains, {args.warmup} warmup + {args.samples} draws)"),
        "data": args.data or f"simulated ({args.trajectories} trajectories, Dirichlet concentration {args.concentration:g}"
                             + (f", truth {args.truth}" if args.truth else "") + ")",
        "states x time steps": f"{prob.game.n_states} x {prob.game.n_times}",
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
    if check is not None and check.warning is not None:
        print(f"WARNING: {check.warning}")
    return {"tree": tree, "rows": rows, "fit_time": fit_time, "total_time": total, "out": out, "time_step": check}


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
