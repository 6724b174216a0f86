"""The seed paper's experiment grid, reproduced with bayes_mfg (issue 10).

Cells: a system (LQ at several d, Cybersecurity, SIR), a truth case for the learned parameters
(constant, time-dependent "arc", mean-field-dependent) and an observation noise level
``1/kappa`` (Dirichlet(kappa mu) noise; 0 = exact shares). For every cell:

(a) the paper-style point estimate: a neural path ``gamma(t, mu_t)`` fitted by SVI with a
    point (delta) guide on the Dirichlet likelihood;
(b) the Bayesian fit: a constant (constant truth) or time-spline (otherwise) path by NUTS on
    the first ``bayes_trajectories`` training trajectories (above ``nuts_max_d`` states: SVI
    with a full-covariance normal guide, where NUTS is too slow for the machine);
(c) the no-game baseline (forward Kolmogorov with learned constant rates, no HJB) by SVI;
(d) wall time of each.

Metrics (on held-out test trajectories):

* ``param_rmse``: sqrt of the mean over time steps, test trajectories and parameters of the
  squared error of the path (a: the network's path; b: the posterior-mean path);
* ``traj_mse``: mean over observed entries of the squared error of the predicted shares
  (:func:`bayes_mfg.heldout_error`);
* ``coverage``: share of (time step, trajectory, parameter) entries where the 94% central
  posterior band covers the truth (b only);
* ``band_width``: median 94% band width relative to the truth's scale (its range over time,
  or its absolute value for a constant); ``identified``: ``yes`` when below 0.25 with
  coverage >= 0.8, ``overconfident`` when narrow but missing the truth, ``no`` when wide,
  ``not converged`` when the NUTS chains disagree (max split R-hat > 1.05);
* ``residual``: the equilibrium solver's max residual at the final parameters (a: the
  network's paths; b: the posterior-mean paths), on the test trajectories.

Every cell is written to ``<out>/cells/<key>.json`` as soon as it finishes; a rerun skips
finished cells (``--fresh`` recomputes). The table is written as Markdown and JSON.

Usage: ``python -m experiments.paper_grid [--profile reference|cpu|quick] [--only lq noise cyber sir]
[--out DIR] [--fresh]`` (``--quick`` = ``--profile quick``). Several processes started on one
``--out`` share the cells (each claims a cell with a lock file); the last one to finish writes
the table and the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.diagnostics import split_gelman_rubin

import bayes_mfg as bm
from bayes_mfg import problems
from bayes_mfg.datasets import simulate

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Settings:
    """Sizes of one run of the grid (the reference settings of [Thöni et al. 2026], or the quick ones).

    ``svi_batch``, ``baseline_batch``: trajectories per step of the neural fit and of the
    no-game baseline (minibatch SVI; None = all, the paper trains on batches of 10). ``nuts_max_d``: the Bayesian fit is NUTS up to this many
    states and SVI with a full-covariance normal guide (``bayes_svi_steps``) above it.
    """

    n_times: int = 100
    n_train: int = 200
    n_test: int = 20
    bayes_trajectories: int = 20
    svi_steps: int = 2000
    svi_batch: int | None = None
    baseline_steps: int = 1000
    baseline_batch: int | None = None
    nuts_warmup: int = 300
    nuts_samples: int = 300
    nuts_chains: int = 2
    nuts_max_d: int | None = None
    bayes_svi_steps: int = 1000
    hidden: tuple[int, ...] = (16, 16)
    spline_knots: int = 8


QUICK = Settings(n_times=20, n_train=4, n_test=2, bayes_trajectories=4, svi_steps=60, baseline_steps=60,
                 nuts_warmup=15, nuts_samples=15, nuts_chains=1, hidden=(8, 8), spline_knots=4)
#: what fits on 2 CPU cores in about 1.5 hours (two processes): the reference data (200 + 20
#: trajectories, N = 100), the neural fit and the baseline on batches of 20 (1000 steps = 100
#: epochs), NUTS on 10 trajectories up to d = 8 and a full-covariance normal SVI guide above
CPU = Settings(svi_steps=1000, svi_batch=20, baseline_batch=20, bayes_trajectories=10, nuts_warmup=150, nuts_samples=150,
               nuts_max_d=8, bayes_svi_steps=800)
PROFILES = {"reference": Settings(), "cpu": CPU, "quick": QUICK}


@dataclass(frozen=True)
class Cell:
    system: str
    d: int
    case: str
    noise: float  # 1/kappa; 0 = exact shares

    @property
    def key(self) -> str:
        return f"{self.system}-d{self.d}-{self.case}-noise{self.noise:g}"


# ----------------------------------------------------------------------------- systems
#: The cells' truth cases (the cell keys, and the result file names, say "mf") -> the catalogue's.
CASES = {"constant": "constant", "arc": "arc", "mf": "mean-field"}


# the reference problems and their truths: bayes_mfg.problems (docs/systems.md)
SYSTEMS: dict[str, dict[str, Callable]] = {
    "LQ": dict(game=lambda d, s: bm.games.LinearQuadratic(n_states=d, n_times=s.n_times), truth=problems.lq_truth),
    "Cybersecurity": dict(game=lambda d, s: bm.games.Cybersecurity(n_times=s.n_times), truth=problems.cybersecurity_truth),
    "SIR": dict(game=lambda d, s: bm.games.SIR(n_times=s.n_times), truth=problems.sir_truth),
}


def grid(quick: bool, only: tuple[str, ...]) -> list[Cell]:
    cells = []
    if "lq" in only:
        for d in ((3,) if quick else (3, 4, 8, 16, 32)):
            for case in (("constant", "arc") if quick else ("constant", "arc", "mf")):
                cells.append(Cell("LQ", d, case, 0.0 if quick else 1e-3))
    if "noise" in only and not quick:
        for noise in (0.0, 1e-4, 1e-3, 1e-2):
            cells.append(Cell("LQ", 8, "constant", noise))
            cells.append(Cell("Cybersecurity", 4, "constant", noise))
    for name, system, d in (("cyber", "Cybersecurity", 4), ("sir", "SIR", 3)):
        if name in only and not quick:
            cells += [Cell(system, d, case, 1e-3) for case in ("constant", "arc", "mf")]
    return list(dict.fromkeys(cells))


# ----------------------------------------------------------------------------- one cell
def _observation(noise: float) -> bm.observe.ObservationModel:
    # exact shares are fitted with a very tight Dirichlet (the paper's L2 loss, as a likelihood)
    return bm.observe.Dirichlet(1e6 if noise == 0 else 1.0 / noise)


def _truth_paths(sim, names) -> np.ndarray:
    """``(n_traj, N, n_params)`` true parameter paths of a simulation."""
    return np.stack([np.asarray(sim.truth[k], dtype=float).reshape(sim.mu.shape[0], sim.mu.shape[1]) for k in names], -1)


def _predicted_paths(fit, data, names, num_samples) -> np.ndarray:
    """``(samples, n_traj, N, n_params)`` parameter paths of a fit on ``data``'s trajectories."""
    pred = bm.posterior_predictive(fit, data, num_samples=num_samples)
    n_traj = data.values.shape[0]
    out = []
    for k in names:
        v = np.asarray(pred[f"{k}_path"], dtype=float)
        if not fit.model.paths[k].varies_by_trajectory:  # recorded once for all trajectories
            v = np.broadcast_to(v[:, None], (v.shape[0], n_traj, *v.shape[1:]))
        out.append(v.reshape(v.shape[0], n_traj, -1))
    return np.stack(out, -1)


def _max_residual(game, paths: np.ndarray, names, mu0: np.ndarray) -> float:
    """Largest solver residual of the equilibria at the given ``(n_traj, N, n_params)`` paths."""
    solve = jax.jit(jax.vmap(lambda p, m: bm.equilibrium(game, {k: p[:, i] for i, k in enumerate(names)}, m).info.residual))
    return float(jnp.max(solve(jnp.asarray(paths), jnp.asarray(mu0))))


def _latent_sites(model, data) -> set[str]:
    from bayes_mfg.inference.sites import LATENT_ROLES, site_roles

    return {k for k, v in site_roles(model, data).items() if v in LATENT_ROLES}


def truth_scale(truth: np.ndarray) -> np.ndarray:
    """Per parameter of ``(n_traj, N, n_params)`` true paths: the range over trajectories and
    time, or the mean absolute value where the truth is constant."""
    ptp = np.ptp(truth, axis=(0, 1))
    return np.where(ptp > 0, ptp, np.abs(truth).mean(axis=(0, 1)))


def _identified(width: float, coverage: float, r_hat: float = float("nan")) -> str:
    """``not converged``: NUTS chains disagree (split R-hat > 1.05), so the band is not a
    posterior; else ``yes``: a narrow band that covers the truth; ``overconfident``: narrow but
    missing it; ``no``: the data leave the path wide open."""
    if r_hat > 1.05:
        return "not converged"
    if width >= 0.25:
        return "no"
    return "yes" if coverage >= 0.8 else "overconfident"


def run_cell(cell: Cell, s: Settings, seed: int = 0) -> dict[str, Any]:
    system = SYSTEMS[cell.system]
    game = system["game"](cell.d, s)
    truth = system["truth"](game, CASES[cell.case])
    names = sorted(truth)
    obs = _observation(cell.noise)
    sim_obs = None if cell.noise == 0 else obs
    t0 = time.perf_counter()
    train = simulate(game, truth, s.n_train, sim_obs, seed=seed)
    test = simulate(game, truth, s.n_test, sim_obs, seed=seed + 1000)
    truth_test = _truth_paths(test, names)
    scale = truth_scale(truth_test)
    out: dict[str, Any] = dict(cell=asdict(cell), key=cell.key, settings=asdict(s), seconds_simulate=time.perf_counter() - t0)

    # (a) paper-style point estimate: neural path of (t, mu_t), SVI with a delta guide
    t0 = time.perf_counter()
    nets = {k: bm.paths.Neural(inputs=("t", "mu"), hidden=s.hidden, init_value=1.0, seed=seed) for k in names}
    model = bm.CalibrationModel(game, nets, obs, mu0_source="data", record_mu=False)
    fit = bm.fit_svi(model, train.data, guide="delta", num_steps=s.svi_steps, learning_rate=1e-2, seed=seed,
                     batch_size=s.svi_batch, progress_bar=False)
    paths = _predicted_paths(fit, test.data, names, num_samples=1)[0]
    out["point"] = dict(
        param_rmse=float(np.sqrt(np.mean((paths - truth_test) ** 2))),
        traj_mse=bm.heldout_error(fit, test.data, num_samples=1)["mse"],
        residual=_max_residual(game, paths, names, test.data.mu0),
        failed_steps=int(fit.n_failed_steps),
        seconds=time.perf_counter() - t0,
    )

    # (b) Bayesian: constant path or time spline by NUTS, on the first bayes_trajectories
    t0 = time.perf_counter()
    if cell.case == "constant":
        paths_b = {k: bm.paths.Constant() for k in names}
    else:
        paths_b = {k: bm.paths.TimeSpline.around(1.0, n_knots=s.spline_knots, scale=1.5, smoothness=1.5, centered=True)
                   for k in names}
    model_b = bm.CalibrationModel(game, paths_b, obs, mu0_source="data", record_mu=False)
    sub = train.data.subset(np.arange(s.bayes_trajectories))
    use_nuts = s.nuts_max_d is None or game.n_states <= s.nuts_max_d
    if use_nuts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fit_b = bm.fit_nuts(model_b, sub, num_chains=s.nuts_chains, num_warmup=s.nuts_warmup,
                                num_samples=s.nuts_samples, seed=seed, progress_bar=False, **({} if cell.case == "constant" else
                                                                  dict(init="laplace", dense_mass=True)))
        n_draws, divergences = s.nuts_chains * s.nuts_samples, int(fit_b.num_divergences)
        latent = [k for k, v in fit_b.samples.items() if k in _latent_sites(model_b, sub)]
        r_hat = (max(float(np.max(split_gelman_rubin(fit_b.samples[k]))) for k in latent)
                 if s.nuts_chains > 1 else float("nan"))
    else:
        fit_b = bm.fit_svi(model_b, sub, guide="multivariate", num_steps=s.bayes_svi_steps, learning_rate=1e-2,
                           seed=seed, progress_bar=False)
        n_draws, divergences, r_hat = 200, 0, float("nan")
    draws = _predicted_paths(fit_b, test.data, names, num_samples=min(n_draws, 200))
    lo, hi = np.quantile(draws, 0.03, axis=0), np.quantile(draws, 0.97, axis=0)
    width = float(np.median((hi - lo) / scale))
    coverage = float(np.mean((lo <= truth_test) & (truth_test <= hi)))
    out["bayes"] = dict(
        param_rmse=float(np.sqrt(np.mean((draws.mean(axis=0) - truth_test) ** 2))),
        coverage=coverage,
        band_width=width,
        identified=_identified(width, coverage, r_hat),
        traj_mse=bm.heldout_error(fit_b, test.data, num_samples=min(n_draws, 200))["mse"],
        residual=_max_residual(game, draws.mean(axis=0), names, test.data.mu0),
        method="NUTS" if use_nuts else "SVI (full-covariance normal)",
        divergences=divergences,
        max_r_hat=r_hat,
        seconds=time.perf_counter() - t0,
    )

    # (c) the no-game baseline: learned constant rates, no HJB
    t0 = time.perf_counter()
    baseline = bm.games.MeanFieldDynamics.like(game)
    model_c = bm.CalibrationModel(baseline, {"rates": bm.paths.Constant()}, obs, mu0_source="data", record_mu=False)
    fit_c = bm.fit_svi(model_c, train.data, guide="delta", num_steps=s.baseline_steps, learning_rate=2e-2, seed=seed,
                       batch_size=s.baseline_batch, progress_bar=False)
    out["baseline"] = dict(traj_mse=bm.heldout_error(fit_c, test.data, num_samples=1)["mse"],
                           seconds=time.perf_counter() - t0)
    out["game_vs_baseline_mse_ratio"] = out["point"]["traj_mse"] / out["baseline"]["traj_mse"]
    # the first test trajectory's paths, for the figures
    out["example"] = dict(names=names, t=np.asarray(game.time_grid).tolist(), truth=truth_test[0].tolist(),
                          point=paths[0].tolist(), bayes_mean=draws.mean(axis=0)[0].tolist(),
                          bayes_lo=lo[0].tolist(), bayes_hi=hi[0].tolist())
    return out


# ----------------------------------------------------------------------------- table
COLUMNS = ("cell", "point: param RMSE", "point: traj MSE", "bayes (method)", "bayes: param RMSE", "94% coverage", "band/scale",
           "identified?", "baseline traj MSE", "game/baseline", "max residual", "time [s]")


def row(r: dict[str, Any]) -> list[str]:
    p, b, c = r["point"], r["bayes"], r["baseline"]
    res = max(p["residual"], b["residual"])
    secs = p["seconds"] + b["seconds"] + c["seconds"] + r["seconds_simulate"]
    method = "SVI-MVN" if b.get("method", "NUTS").startswith("SVI") else "NUTS"
    if np.isfinite(b.get("max_r_hat", float("nan"))):
        method += f", R-hat {b['max_r_hat']:.2f}"
    return [r["key"], f"{p['param_rmse']:.3g}", f"{p['traj_mse']:.2e}", method, f"{b['param_rmse']:.3g}", f"{b['coverage']:.2f}",
            f"{b['band_width']:.2f}", b["identified"], f"{c['traj_mse']:.2e}",
            f"{r['game_vs_baseline_mse_ratio']:.3g}", f"{res:.1e}", f"{secs:.0f}"]


def summary(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per system: the game / no-game held-out MSE ratio (median, worst) and how many cells
    are identified, overconfident or not identified."""
    out = []
    for system in dict.fromkeys(r["cell"]["system"] for r in results):
        rs = [r for r in results if r["cell"]["system"] == system]
        ratios = np.array([r["game_vs_baseline_mse_ratio"] for r in rs])
        verdicts = [r["bayes"]["identified"] for r in rs]
        out.append(dict(system=system, cells=len(rs), ratio_median=float(np.median(ratios)), ratio_max=float(ratios.max()),
                        game_better=int(np.sum(ratios < 1)),
                        **{v: verdicts.count(v) for v in ("yes", "overconfident", "no", "not converged")}))
    return out


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(r)) + " |" for r in results]
    lines += ["", "| system | cells | game/baseline MSE: median | worst | game better | identified yes / overconfident / no / not converged |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {s['system']} | {s['cells']} | {s['ratio_median']:.3g} | {s['ratio_max']:.3g} | {s['game_better']} of {s['cells']} "
              f"| {s['yes']} / {s['overconfident']} / {s['no']} / {s['not converged']} |" for s in summary(results)]
    return "\n".join(lines)


def figures(results: list[dict[str, Any]], out: Path) -> list[Path]:
    """Per system: learned vs true path (first test trajectory, first parameter) with the 94%
    band for every cell; for LQ the parameter error against d; the error against noise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for system in sorted({r["cell"]["system"] for r in results}):
        rs = [r for r in results if r["cell"]["system"] == system]
        fig, axes = plt.subplots(1, len(rs), figsize=(3.2 * len(rs), 2.8), squeeze=False, constrained_layout=True)
        for ax, r in zip(axes[0], rs):
            e = r["example"]
            t = np.asarray(e["t"])
            ax.plot(t, np.asarray(e["truth"])[:, 0], "k-", label="truth")
            ax.plot(t, np.asarray(e["point"])[:, 0], "C1--", label="neural (SVI)")
            ax.plot(t, np.asarray(e["bayes_mean"])[:, 0], "C0-", label="posterior mean")
            ax.fill_between(t, np.asarray(e["bayes_lo"])[:, 0], np.asarray(e["bayes_hi"])[:, 0], color="C0", alpha=0.25,
                            label="94% band")
            ax.set(title=r["key"], xlabel="t", ylabel=e["names"][0])
        axes[0][0].legend(fontsize=7)
        path = out / f"paths_{system}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    lq = [r for r in results if r["cell"]["system"] == "LQ" and r["cell"]["noise"] == 1e-3]
    if lq:
        fig, ax = plt.subplots(figsize=(4.5, 3.2), constrained_layout=True)
        for case in sorted({r["cell"]["case"] for r in lq}):
            rs = sorted((r for r in lq if r["cell"]["case"] == case), key=lambda r: r["cell"]["d"])
            ax.plot([r["cell"]["d"] for r in rs], [r["point"]["param_rmse"] for r in rs], "o--", label=f"{case}: neural")
            ax.plot([r["cell"]["d"] for r in rs], [r["bayes"]["param_rmse"] for r in rs], "s-", label=f"{case}: posterior mean")
        ax.set(xscale="log", yscale="log", xlabel="number of states d", ylabel="parameter RMSE", title="LQ: error vs d")
        ax.legend(fontsize=7)
        fig.savefig(out / "error_vs_d.png", dpi=110)
        plt.close(fig)
        written.append(out / "error_vs_d.png")
    noisy = [r for r in results if r["cell"]["case"] == "constant" and r["cell"]["system"] in ("LQ", "Cybersecurity")]
    if len({r["cell"]["noise"] for r in noisy}) > 1:
        fig, ax = plt.subplots(figsize=(4.5, 3.2), constrained_layout=True)
        for system in ("LQ", "Cybersecurity"):
            rs = sorted((r for r in noisy if r["cell"]["system"] == system and r["cell"]["d"] in (4, 8)),
                        key=lambda r: r["cell"]["noise"])
            x = [max(r["cell"]["noise"], 1e-5) for r in rs]  # exact shares drawn at 1e-5
            ax.plot(x, [r["point"]["param_rmse"] for r in rs], "o--", label=f"{system}: neural")
            ax.plot(x, [r["bayes"]["param_rmse"] for r in rs], "s-", label=f"{system}: posterior mean")
        ax.set(xscale="log", yscale="log", xlabel="noise 1/kappa (0 drawn at 1e-5)", ylabel="parameter RMSE",
               title="error vs noise")
        ax.legend(fontsize=7)
        fig.savefig(out / "error_vs_noise.png", dpi=110)
        plt.close(fig)
        written.append(out / "error_vs_noise.png")
    return written


def _claim(path: Path) -> bool:
    """Take the cell whose result goes to ``path`` for this process: a lock file created
    atomically next to it (several processes started on one ``--out`` share the cells).
    A lock left by a process that is gone is taken over."""
    lock = path.with_suffix(".lock")
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            os.kill(int(lock.read_text() or 0), 0)
            return False  # its owner is still running
        except (ProcessLookupError, ValueError):
            lock.unlink(missing_ok=True)
            return _claim(path)
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    return True


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=sorted(PROFILES), default="reference",
                    help="reference: DESIGN 6 sizes (a GPU); cpu: about 1.5 h on 2 cores; quick: CI-sized")
    ap.add_argument("--quick", action="store_true", help="same as --profile quick (LQ d=3, two truth cases)")
    ap.add_argument("--only", nargs="+", default=["lq", "noise", "cyber", "sir"], choices=["lq", "noise", "cyber", "sir"])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--fresh", action="store_true", help="recompute finished cells")
    ap.add_argument("--report", action="store_true",
                    help="run nothing: write the table and figures of the cells finished so far, listing the others")
    args = ap.parse_args(argv)
    profile = "quick" if args.quick else args.profile
    settings = PROFILES[profile]
    out = args.out or HERE / "results" / ("paper_grid" if profile == "reference" else f"paper_grid_{profile}")
    (out / "cells").mkdir(parents=True, exist_ok=True)
    wanted = json.loads(json.dumps(asdict(settings)))
    cells = grid(profile == "quick", tuple(args.only))
    # the largest games first, so that processes sharing the grid finish close together
    for cell in [] if args.report else sorted(cells, key=lambda c: -SYSTEMS[c.system]["game"](c.d, settings).n_states):
        path = out / "cells" / f"{cell.key}.json"
        if path.exists() and not args.fresh:
            if json.loads(path.read_text())["settings"] == wanted:
                print(f"{cell.key}: done before (delete {path} or pass --fresh to recompute)", flush=True)
                continue
            print(f"{cell.key}: done before with other settings: recomputed", flush=True)
        if not _claim(path):
            print(f"{cell.key}: taken by another process", flush=True)
            continue
        try:
            t0 = time.perf_counter()
            result = run_cell(cell, settings)
            path.write_text(json.dumps(result, indent=1))
        finally:
            path.with_suffix(".lock").unlink(missing_ok=True)
            # every cell compiles new programs: free them (a long run otherwise exhausts the
            # process's memory mappings and LLVM fails with "Cannot allocate memory")
            jax.clear_caches()
        print(f"{cell.key}: {time.perf_counter() - t0:.0f} s  " + "  ".join(row(result)[1:]), flush=True)
    paths = [out / "cells" / f"{c.key}.json" for c in cells]
    results = [r for r in (json.loads(p.read_text()) for p in paths if p.exists()) if r["settings"] == wanted]
    missing = [c.key for c in cells if not any(r["key"] == c.key for r in results)]
    if missing and not args.report:
        print(f"\n{len(results)} of {len(cells)} cells finished (others still running elsewhere): no table yet")
        return results
    table = markdown(results) + "".join(f"\n\nNot finished: {k}" for k in missing)
    (out / "table.md").write_text(table + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print("\n" + table)
    for path in figures(results, out):
        print(f"figure: {path}")
    print(f"\nwrote {out / 'table.md'} and {out / 'results.json'} (profile {profile}, backend {jax.default_backend()})")
    return results


if __name__ == "__main__":
    main()
