"""``bayes-mfg``: calibrate a mean field game to (simulated or CSV) population data.

Example::

    bayes-mfg calibrate --system lq --truth arc --path spline --method svi --guide normal --out outputs/lq

Without ``--data`` the data are simulated from a known truth (per system below) with
Dirichlet observation noise; with ``--data FILE`` they are read from a CSV in long format
(columns ``trajectory,time,state,value``; absent rows are missing entries).

Calibrated parameters: ``lq`` -> gamma (truth 1.55, an arc in time, or 0.1 + 2.9 mu_t(0));
``cybersecurity`` -> the 8 rate parameters (truth ``REFERENCE_TRUTH``); ``sir`` -> beta,
gamma (truth 0.4, 0.1); ``mobility`` -> b, c (truth 1, 1.5; base rates q fixed at a seeded
random draw in [0.2, 1]).

Outputs in ``--out``: ``posterior.nc`` (ArviZ DataTree), ``summary.csv``, ``summary.md``,
``trajectories.png`` and ``path.png``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import pathlib
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SYSTEMS = ("lq", "cybersecurity", "sir", "mobility")
PATHS = ("constant", "spline", "neural")
METHODS = ("svi", "nuts")
TRUTHS = ("constant", "arc", "mean-field")
# the same choices as bayes_mfg.infer (repeated so that `--help` does not import JAX;
# tests/test_cli.py checks they agree)
GUIDES = ("delta", "normal", "lowrank", "multivariate")
NUTS_INITS = ("prior", "laplace")

#: Prior / initial centre of each calibrated parameter (not the truth).
PRIOR_CENTRES = {
    "lq": {"gamma": 1.0},
    "cybersecurity": {},  # filled with 0.5 for each rate parameter
    "sir": {"beta": 0.5, "gamma": 0.15},
    "mobility": {"b": 1.0, "c": 1.0},
}


# ---------------------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bayes-mfg", description="Bayesian calibration of finite-state mean field games.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("calibrate", help="calibrate a game's parameters to population data",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--system", required=True, choices=SYSTEMS, help="the game")
    p.add_argument("--path", default="constant", choices=PATHS, help="parameter path (default constant)")
    p.add_argument("--method", default="svi", choices=METHODS, help="inference method (default svi)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--truth", default=None, choices=TRUTHS, help="lq only: truth of gamma (default constant 1.55)")
    p.add_argument("--states", type=int, default=None, help="number of states d (lq: default 8, mobility: default 4)")
    p.add_argument("--trajectories", type=int, default=20, help="simulated trajectories J (default 20)")
    p.add_argument("--steps", type=int, default=None, help="time steps N of the game (default: the game's)")
    p.add_argument("--concentration", type=float, default=1000.0, help="Dirichlet observation concentration (default 1000)")
    p.add_argument("--svi-steps", type=int, default=2000, help="SVI optimisation steps (default 2000)")
    p.add_argument("--learning-rate", type=float, default=1e-2, help="Adam learning rate (default 0.01)")
    p.add_argument("--guide", default="multivariate", choices=GUIDES,
                   help="SVI guide (default multivariate: full-covariance normal)")
    p.add_argument("--chains", type=int, default=2, help="NUTS chains (default 2)")
    p.add_argument("--warmup", type=int, default=500, help="NUTS warm-up iterations per chain (default 500)")
    p.add_argument("--nuts-init", default="laplace", choices=NUTS_INITS,
                   help="NUTS start: laplace (mode + Gaussian approximation as the dense mass matrix; default) or prior")
    p.add_argument("--samples", type=int, default=500,
                   help="NUTS draws per chain; for SVI the number of posterior draws (default 500)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--data", default=None, help="CSV (trajectory,time,state,value) instead of simulated data")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(subparser=p)
    r = sub.add_parser("report", help="write an uncertainty report (HTML or Markdown) from saved fits",
                       description="Report of one or several fits saved as NetCDF (bayes-mfg calibrate's posterior.nc): "
                                   "parameter table, paths, diagnostics, predictive coverage and, for several fits, "
                                   "a PSIS-LOO comparison. Identifiability needs the model: use bayes_mfg.report in Python.")
    r.add_argument("fits", nargs="+", help="NetCDF files written by bayes-mfg calibrate or bayes_mfg.save")
    r.add_argument("--out", required=True, help="output file (.html or .md)")
    r.add_argument("--names", nargs="+", default=None, help="model names (default: the files' parent folder names)")
    r.add_argument("--unit", default="trajectory", choices=("trajectory", "observation"),
                   help="unit left out by the comparison (default trajectory)")
    r.set_defaults(subparser=r)
    return parser


def _validate(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.command == "report":
        for f in args.fits:
            if not pathlib.Path(f).is_file():
                p.error(f"fits: no such file {f!r}")
        if pathlib.Path(args.out).suffix not in (".html", ".md"):
            p.error(f"--out must end in .html or .md, got {args.out!r}")
        if args.names is not None and len(args.names) != len(args.fits):
            p.error(f"--names: {len(args.names)} names for {len(args.fits)} fits")
        if args.names is not None and len(set(args.names)) != len(args.names):
            p.error("--names must be distinct")
        return
    if args.path == "neural" and args.method != "svi":
        p.error("--path neural is a point network fitted by SVI: use --method svi")
    if args.truth is not None and args.system != "lq":
        p.error("--truth applies to --system lq only")
    if args.truth is not None and args.data:
        p.error("--truth and --data exclude each other (the truth of CSV data is unknown)")
    if args.states is not None and args.system not in ("lq", "mobility"):
        p.error(f"--states applies to lq and mobility only ({args.system} has a fixed number of states)")
    if args.states is not None and args.states < 2:
        p.error("--states must be >= 2")
    for name in ("trajectories", "svi_steps", "chains", "warmup", "samples"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.steps is not None and args.steps < 2:
        p.error("--steps must be >= 2")
    for name in ("concentration", "learning_rate"):
        v = getattr(args, name)
        if not (math.isfinite(v) and v > 0):
            p.error(f"--{name.replace('_', '-')} must be a positive number")
    if args.seed < 0:
        p.error("--seed must be >= 0")
    if args.data and not pathlib.Path(args.data).is_file():
        p.error(f"--data: no such file {args.data!r}")


# ---------------------------------------------------------------------------- problem
@dataclass
class Problem:
    game: Any
    calibrated: tuple[str, ...]
    centres: dict[str, float]
    fixed: dict[str, Any] = field(default_factory=dict)
    truth: dict[str, Any] = field(default_factory=dict)  # for simulate()
    mu0: np.ndarray | None = None


def build_problem(args: argparse.Namespace) -> Problem:
    import bayes_mfg as bm
    from bayes_mfg.games.cybersecurity import RATE_PARAMETERS, REFERENCE_TRUTH

    rng = np.random.default_rng(args.seed + 12345)
    steps = {} if args.steps is None else {"n_steps": args.steps}
    J = args.trajectories
    if args.system == "lq":
        game = bm.games.LinearQuadratic(n_states=args.states or 8, **steps)
        kind = args.truth or "constant"
        if kind == "constant":
            gamma: Any = 1.55
        elif kind == "arc":
            t, T = np.asarray(game.time_grid), float(game.horizon)
            gamma = 0.1 + 4 * 2.9 / T**2 * t * (T - t)
        else:
            gamma = _mean_field_gamma
        return Problem(game, ("gamma",), dict(PRIOR_CENTRES["lq"]), truth={"gamma": gamma})
    if args.system == "cybersecurity":
        game = bm.games.Cybersecurity(**steps)
        return Problem(game, RATE_PARAMETERS, {k: 0.5 for k in RATE_PARAMETERS},
                       truth=dict(zip(RATE_PARAMETERS, REFERENCE_TRUTH)))
    if args.system == "sir":
        game = bm.games.SIR(**steps)
        infected = rng.uniform(0.01, 0.05, J)
        recovered = rng.uniform(0.001, 0.01, J)
        mu0 = np.stack([1.0 - infected - recovered, infected, recovered], axis=-1)
        return Problem(game, ("beta", "gamma"), dict(PRIOR_CENTRES["sir"]),
                       truth={"beta": 0.4, "gamma": 0.1}, mu0=mu0)
    d = args.states or 4
    game = bm.games.MobilityNetwork(n_states=d, **steps)
    q = rng.uniform(0.2, 1.0, (d, d))
    np.fill_diagonal(q, 0.0)
    return Problem(game, ("b", "c"), dict(PRIOR_CENTRES["mobility"]), fixed={"q": q},
                   truth={"q": q, "b": 1.0, "c": 1.5})


def _mean_field_gamma(t, mu):
    """The seed paper's mean-field-dependent truth gamma = 0.1 + 2.9 mu_t(0)."""
    return 0.1 + 2.9 * mu[0]


def build_path(args: argparse.Namespace, centre: float):
    import numpyro.distributions as dist

    import bayes_mfg as bm

    if args.path == "constant":
        return bm.paths.Constant(prior=dist.LogNormal(math.log(centre), 1.0))
    if args.path == "spline":
        # weakly informative: the first coefficient's 94% band spans centre * [0.1, 3.4] or so on
        # the softplus scale, and neighbouring knots may differ by 1 (see TimeSpline)
        return bm.paths.TimeSpline.around(centre, n_knots=12, link="softplus", scale=1.5, smoothness=1.0, centered=True)
    return bm.paths.Neural(inputs=("t", "mu"), init_value=centre, link="softplus", seed=args.seed)


# ---------------------------------------------------------------------------- CSV data
def read_csv(path: str | pathlib.Path, state_names: tuple[str, ...] | None = None):
    """Read long-format data (``trajectory,time,state,value``) into ``Observations``.

    Trajectories and states are labels (kept in order of first appearance, states matched
    to ``state_names`` when those are given, also by integer index); times must be numbers.
    A (trajectory, time, state) without a row is masked (missing).
    """
    import bayes_mfg as bm

    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"trajectory", "time", "state", "value"}
        if reader.fieldnames is None or not need <= {c.strip() for c in reader.fieldnames}:
            raise ValueError(f"{path}: CSV needs the columns {sorted(need)}, got {reader.fieldnames}")
        rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    if not rows:
        raise ValueError(f"{path}: no data rows")
    trajs: list[str] = []
    states: list[str] = list(state_names) if state_names is not None else []
    times: set[float] = set()
    parsed = []
    for i, r in enumerate(rows, start=2):
        try:
            t, v = float(r["time"]), float(r["value"]) if r["value"] != "" else float("nan")
        except ValueError:
            raise ValueError(f"{path}, line {i}: time and value must be numbers, got {r['time']!r}, {r['value']!r}") from None
        tr, st = r["trajectory"], r["state"]
        if tr not in trajs:
            trajs.append(tr)
        if st not in states:
            if state_names is not None and st.isdigit() and int(st) < len(state_names):
                st = state_names[int(st)]
            else:
                if state_names is not None:
                    raise ValueError(f"{path}, line {i}: unknown state {st!r}; expected one of {list(state_names)}")
                states.append(st)
        times.add(t)
        parsed.append((tr, t, st, v))
    tlist = sorted(times)
    values = np.full((len(trajs), len(tlist), len(states)), np.nan)
    ti = {t: k for k, t in enumerate(tlist)}
    ji = {tr: k for k, tr in enumerate(trajs)}
    si = {s: k for k, s in enumerate(states)}
    for tr, t, st, v in parsed:
        values[ji[tr], ti[t], si[st]] = v
    return bm.Observations.from_arrays(values, np.asarray(tlist), state_names=states, trajectory_names=trajs)


def write_csv(data, path: str | pathlib.Path) -> None:
    """Write ``Observations`` in the long CSV format read by :func:`read_csv` (observed entries only)."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["trajectory", "time", "state", "value"])
        for j, tr in enumerate(data.trajectory_names):
            for k, t in enumerate(data.times):
                for x, st in enumerate(data.state_names):
                    if data.mask[j, k, x]:
                        w.writerow([tr, repr(float(t)), st, repr(float(data.values[j, k, x]))])


# ---------------------------------------------------------------------------- summary
def _param_draws(tree, name: str) -> tuple[np.ndarray, str]:
    """(chain, draw) draws of a calibrated parameter and how they were obtained."""
    post = tree["posterior"]
    if name in post:
        return np.asarray(post[name].values, dtype=float), "value"
    path = np.asarray(post[f"{name}_path"].values, dtype=float)  # chain, draw, trajectory, time_step
    return path.reshape(*path.shape[:2], -1).mean(-1), "time-mean of path"


def _truth_scalar(truth_paths: dict[str, np.ndarray] | None, name: str) -> float:
    if not truth_paths or name not in truth_paths:
        return float("nan")
    return float(np.mean(truth_paths[name]))


def summarize(tree, names, *, method: str, truth_paths=None, failures: dict[str, int] | None = None) -> list[dict]:
    """One row per calibrated parameter: posterior mean, sd, 3%/97% quantiles, r_hat, ess_bulk, truth."""
    rows = []
    diag = {}
    post = tree["posterior"]
    n_chains = int(post.sizes.get("chain", 1))
    if method == "nuts" and n_chains >= 2:
        diag = _diagnostics(tree, [n for n in names if n in post])
    for name in names:
        draws, what = _param_draws(tree, name)
        flat = draws.reshape(-1)
        row = {
            "parameter": name,
            "statistic": what,
            "mean": float(np.mean(flat)),
            "sd": float(np.std(flat, ddof=1)) if flat.size > 1 else 0.0,
            "q3%": float(np.quantile(flat, 0.03)),
            "q97%": float(np.quantile(flat, 0.97)),
            "r_hat": float("nan"),
            "ess_bulk": float("nan"),
            "truth": _truth_scalar(truth_paths, name),
            "path_rmse": float("nan"),
        }
        if name in diag:
            row.update(diag[name])
        elif method == "nuts" and n_chains >= 2:
            row.update(_numpy_diagnostics(draws))
        if truth_paths and name in truth_paths and f"{name}_path" in post:
            fitted = np.asarray(post[f"{name}_path"].values, dtype=float).mean(axis=(0, 1))
            tp = np.broadcast_to(np.asarray(truth_paths[name], dtype=float), fitted.shape)
            row["path_rmse"] = float(np.sqrt(np.mean((fitted - tp) ** 2)))
        row.update(failures or {})
        rows.append(row)
    return rows


def _diagnostics(tree, names) -> dict[str, dict[str, float]]:
    """r_hat and ess_bulk of scalar posterior variables via arviz_stats (numpy fallback)."""
    out = {}
    try:
        import arviz_stats as azs

        s = azs.summary(tree, var_names=list(names), kind="diagnostics", round_to="none")
        for name in names:
            if name in s.index:
                out[name] = {"r_hat": float(s.loc[name, "r_hat"]), "ess_bulk": float(s.loc[name, "ess_bulk"])}
    except Exception:  # noqa: BLE001  (optional dependency path; fall back to numpy below)
        out = {}
    return out


def _numpy_diagnostics(draws: np.ndarray) -> dict[str, float]:
    """Split-R-hat and a simple (Geyer initial-positive-sequence) bulk ESS from (chain, draw) draws."""
    c, n = draws.shape
    half = n // 2
    if half < 2:
        return {"r_hat": float("nan"), "ess_bulk": float("nan")}
    x = np.concatenate([draws[:, :half], draws[:, n - half:]], axis=0)
    # rank-normalise (bulk)
    from scipy.special import ndtri  # scipy ships with jax

    r = np.argsort(np.argsort(x, axis=None)).reshape(x.shape) + 1
    z = ndtri((r - 0.375) / (x.size + 0.25))
    m, n2 = z.shape
    means = z.mean(1)
    w = z.var(1, ddof=1).mean()
    b = n2 * means.var(ddof=1)
    var = (n2 - 1) / n2 * w + b / n2
    rhat = float(np.sqrt(var / w)) if w > 0 else float("nan")
    # autocorrelation averaged over chains
    zc = z - means[:, None]
    acov = np.array([np.correlate(zc[i], zc[i], "full")[n2 - 1:] / n2 for i in range(m)])
    rho = 1.0 - (w - acov.mean(0)) / var
    rho[0] = 1.0
    tau, k = -1.0, 0
    while k + 1 < n2:
        p = rho[k] + rho[k + 1]
        if p < 0:
            break
        tau += 2 * p
        k += 2
    ess = m * n2 / max(tau, 1.0 / np.log10(m * n2))
    return {"r_hat": rhat, "ess_bulk": float(ess)}


COLUMNS = ("parameter", "statistic", "mean", "sd", "q3%", "q97%", "r_hat", "ess_bulk", "truth", "path_rmse")


def write_summary(rows: list[dict], out: pathlib.Path, header: dict[str, Any]) -> str:
    cols = list(COLUMNS) + [k for k in rows[0] if k not in COLUMNS]
    with open(out / "summary.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k) for k in cols})
    table = format_table(rows, cols)
    lines = ["# bayes-mfg calibration summary", ""]
    lines += [f"- **{k}**: {v}" for k, v in header.items()]
    lines += ["", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(k)) for k in cols) + " |")
    lines += ["", "Intervals are the 3% and 97% posterior quantiles (a 94% central interval). r_hat and ess_bulk are "
              "reported for NUTS with at least 2 chains. For time-varying paths the row summarises the time mean of "
              "the path (trajectory-averaged) and path_rmse is the RMSE of the posterior-mean path against the truth.",
              "", "![trajectories](trajectories.png)", "", "![path](path.png)", ""]
    (out / "summary.md").write_text("\n".join(lines))
    return table


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def format_table(rows: list[dict], cols) -> str:
    cells = [[str(c) for c in cols]] + [[_fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    return "\n".join("  ".join(c.rjust(wd) for c, wd in zip(row, widths)) for row in cells)


# ---------------------------------------------------------------------------- main
def calibrate(args: argparse.Namespace) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import bayes_mfg as bm
    from bayes_mfg.plots import plot_path, plot_trajectories

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    prob = build_problem(args)
    obs_model = bm.observe.Dirichlet(args.concentration)
    sim = None
    if args.data:
        try:
            data = read_csv(args.data, tuple(prob.game.state_names))
        except ValueError as exc:  # a bad data file: a clean message instead of a traceback
            raise SystemExit(f"bayes-mfg: error: {exc}") from exc
        if data.n_states != prob.game.n_states:
            raise SystemExit(f"bayes-mfg: --data has {data.n_states} states but the {args.system} game has {prob.game.n_states}")
        truth_paths = None
    else:
        sim = bm.datasets.simulate(prob.game, prob.truth, args.trajectories, obs_model, mu0=prob.mu0, seed=args.seed)
        data = sim.data
        truth_paths = {k: np.asarray(sim.truth[k]) for k in prob.calibrated if k in sim.truth}

    paths = {name: build_path(args, prob.centres[name]) for name in prob.calibrated}
    model = bm.CalibrationModel(prob.game, paths, obs_model, fixed=prob.fixed or None)
    progress = not args.no_progress
    failures: dict[str, int] = {}
    fit_start = time.perf_counter()
    if args.method == "svi":
        res = bm.fit_svi(model, data, guide=args.guide, num_steps=args.svi_steps, learning_rate=args.learning_rate,
                         seed=args.seed, progress_bar=progress)
        fit_time = time.perf_counter() - fit_start
        tree = res.to_arviz(num_samples=args.samples)
        failures["svi_failed_steps"] = int(res.n_failed_steps)
    else:
        res = bm.fit_nuts(model, data, chains=args.chains, warmup=args.warmup, samples=args.samples, seed=args.seed,
                          init=args.nuts_init, dense_mass=args.nuts_init == "laplace", progress_bar=progress)
        fit_time = time.perf_counter() - fit_start
        tree = res.to_arviz()
        failures["divergences"] = int(res.num_divergences)
    failures["rejected_failed_solves"] = int(res.failures.n_rejected)
    failures["adjoint_failures"] = int(res.failures.n_adjoint_failures)
    conv = np.asarray(tree["sample_stats"]["solver_converged"].values)
    failures["failed_solve_draws"] = int(np.sum(~conv.reshape(*conv.shape[:2], -1).all(-1)))
    tree.attrs["cli_arguments"] = json.dumps({k: v for k, v in vars(args).items() if k != "subparser"}, default=str)
    bm.save(tree, out / "posterior.nc")

    rows = summarize(tree, prob.calibrated, method=args.method, truth_paths=truth_paths, failures=failures)
    header = {
        "system": args.system,
        "path": args.path,
        "method": args.method + (f" (guide {args.guide}, {args.svi_steps} steps)" if args.method == "svi"
                                 else f" ({args.chains} chains, {args.warmup} warmup + {args.samples} draws)"),
        "data": args.data or f"simulated ({args.trajectories} trajectories, Dirichlet concentration {args.concentration:g}"
                             + (f", truth {args.truth}" if args.truth else "") + ")",
        "states x time steps": f"{prob.game.n_states} x {prob.game.n_steps}",
        "fit time (s)": f"{fit_time:.1f}",
    }
    table = write_summary(rows, out, header)

    truth_mu = None if sim is None else np.asarray(sim.mu)
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

    total = time.perf_counter() - start
    print(f"\nbayes-mfg calibrate: {args.system}, path {args.path}, {header['method']}")
    print(table)
    print(f"solver failures: {failures}; fit {fit_time:.1f} s, total {total:.1f} s; outputs in {out}")
    return {"tree": tree, "rows": rows, "fit_time": fit_time, "total_time": total, "out": out}


def report_command(args: argparse.Namespace) -> pathlib.Path:
    """``bayes-mfg report``: read the saved fits and write the report."""
    import matplotlib

    matplotlib.use("Agg")
    import bayes_mfg as bm

    names = args.names or [pathlib.Path(f).resolve().parent.name or pathlib.Path(f).stem for f in args.fits]
    if len(set(names)) != len(names):
        names = [pathlib.Path(f).stem + f"_{i}" for i, f in enumerate(args.fits)]
    try:
        trees = {n: bm.load(f) for n, f in zip(names, args.fits)}
    except (OSError, ValueError) as exc:
        raise SystemExit(f"bayes-mfg: error: cannot read a fit: {exc}") from exc
    for n, t in trees.items():
        missing = [g for g in ("posterior", "log_likelihood", "observed_data", "posterior_predictive") if g not in t.children]
        if missing:
            raise SystemExit(f"bayes-mfg: error: fit {n!r} lacks the group(s) {missing}")
    fits = trees if len(trees) > 1 else next(iter(trees.values()))
    out = bm.report(fits, args.out, compare_unit=args.unit)
    print(f"bayes-mfg report: wrote {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bayes-mfg``; returns 0 on success (argparse errors exit with status 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _validate(args.subparser, args)
    if args.command == "report":
        report_command(args)
    else:
        calibrate(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
