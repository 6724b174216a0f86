"""The ``bayes-mfg`` argument parser and the checks of its options (imports no JAX: ``--help`` is instant)."""

from __future__ import annotations

import argparse
import math
import pathlib

from bayes_mfg._names import GUIDES, NUTS_INITS, SYSTEM_NAMES, TRUTH_CASES

__all__ = ["GUIDES", "METHODS", "NUTS_INITS", "PATHS", "SYSTEMS", "TRUTHS", "build_parser", "validate"]

SYSTEMS = SYSTEM_NAMES
PATHS = ("constant", "spline", "neural")
METHODS = ("svi", "nuts")
TRUTHS = TRUTH_CASES

CALIBRATE = "Calibrate a mean field game's parameters to simulated or CSV population data."


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bayes_mfg")
    except PackageNotFoundError:  # a source tree that is not installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``bayes-mfg`` (sub-commands ``calibrate`` and ``report``)."""
    parser = argparse.ArgumentParser(prog="bayes-mfg", description="Bayesian calibration of finite-state mean field games.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("calibrate", help="calibrate a game's parameters to population data", description=CALIBRATE)
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
    p.add_argument("--no-time-step-check", dest="time_step_check", action="store_false",
                   help="skip the check that halving dt does not move the posterior (bayes_mfg.time_step_check)")
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


def validate(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject inconsistent options with ``p.error`` (exit status 2) before any work is done."""
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
