"""The ``bayes-mfg`` argument parser and the checks of its options (imports no JAX: ``--help`` is instant)."""

from __future__ import annotations

import argparse
import math
import pathlib

from bayes_mfg._names import GUIDES, NUTS_INITS, SYSTEM_NAMES, TRUTH_CASES

__all__ = ["GUIDES", "METHODS", "NUTS_INITS", "PATHS", "SYSTEMS", "TRUTHS", "build_parser", "parse", "validate"]

SYSTEMS = SYSTEM_NAMES
PATHS = ("constant", "spline", "neural")
METHODS = ("svi", "nuts")
TRUTHS = TRUTH_CASES
#: The reference problems that take a --truth case.
TRUTH_SYSTEMS = ("lq", "sir", "cybersecurity")
OBSERVATIONS = ("dirichlet", "logistic-normal")
MU0_CHOICES = ("fit", "first")

#: The default noise of each observation model: (value for simulated data, median of the prior when learned).
NOISE_DEFAULTS = {"dirichlet": 1000.0, "logistic-normal": 0.05}


def _learn_or_positive(text: str) -> str | float:
    if text == "learn":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'learn' or a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected 'learn' or a positive number, got {text!r}")
    return value


def _assignment(text: str) -> tuple[str, tuple[float, ...]]:
    """``NAME=V[,V...]`` -> ``(NAME, (V, ...))`` with finite numbers."""
    name, sep, rest = text.partition("=")
    try:
        values = tuple(float(v) for v in rest.split(","))
    except ValueError:
        values = ()
    if not sep or not name.strip() or not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER[,NUMBER], got {text!r}")
    return name.strip(), values

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
    p.add_argument("--system", default=None, choices=SYSTEMS, help="the game (required, here or in --config)")
    p.add_argument("--path", default="constant", choices=PATHS, help="parameter path (default constant)")
    p.add_argument("--method", default="svi", choices=METHODS, help="inference method (default svi)")
    p.add_argument("--out", default=None, help="output folder (required, here or in --config)")
    p.add_argument("--truth", default=None, choices=TRUTHS, help="lq, sir, cybersecurity: the truth case of the simulated parameters "
                   "(default constant; see bayes_mfg.problems)")
    p.add_argument("--states", type=int, default=None, help="number of states d (lq: default 8, mobility: default 4)")
    p.add_argument("--trajectories", type=int, default=20, help="simulated trajectories J (default 20)")
    p.add_argument("--steps", type=int, default=None,
                   help="grid points N of the game (default: the game's; with --data, a grid whose step divides the "
                        "data's time step, at most the game's default step; simulated data stay on the default "
                        "grid's times when N refines it)")
    p.add_argument("--horizon", type=float, default=None,
                   help="time horizon T of the game (default: the game's; with --data, the last observed time)")
    p.add_argument("--observation", default="dirichlet", choices=OBSERVATIONS,
                   help="observation model of the shares (default dirichlet)")
    p.add_argument("--concentration", type=_learn_or_positive, default=None,
                   help="Dirichlet concentration: a number or 'learn' (a LogNormal(log 1000, 2) prior); "
                        "default learn with --data, 1000 for simulated data")
    p.add_argument("--noise-scale", type=_learn_or_positive, default=None,
                   help="logistic-normal scale: a number or 'learn' (a LogNormal(log 0.05, 1) prior); "
                        "default learn with --data, 0.05 for simulated data")
    p.add_argument("--mu0", default=None, choices=MU0_CHOICES,
                   help="with --data: 'fit' (default: infer the initial distributions, started at and informed by "
                        "the observed first rows) or 'first' (the first rows are the initial distributions, exactly)")
    p.add_argument("--prior", action="append", default=[], type=_assignment, metavar="NAME=MEDIAN[,SD]",
                   help="prior of a calibrated parameter: LogNormal with this median and log-scale sd (default 1); "
                        "for --path spline/neural the median centres the path (repeatable)")
    p.add_argument("--fix", action="append", default=[], type=_assignment, metavar="NAME=VALUE",
                   help="hold a game parameter fixed at VALUE (a calibrated one is then not calibrated; repeatable)")
    p.add_argument("--config", default=None, metavar="FILE.toml",
                   help="options from a TOML file (keys: the long option names, e.g. horizon = 40, "
                        "prior = ['beta=0.5,1']); flags on the command line win")
    p.add_argument("--svi-steps", type=int, default=4000, help="SVI optimisation steps (default 4000)")
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


def _config_defaults(p: argparse.ArgumentParser, path: str) -> dict[str, object]:
    """The options of a TOML config file as parser defaults, each checked like its flag."""
    import tomllib

    try:
        with open(path, "rb") as f:
            config = tomllib.load(f)
    except OSError as exc:
        p.error(f"--config: cannot read {path!r} ({exc.strerror})")
    except tomllib.TOMLDecodeError as exc:
        p.error(f"--config {path}: not valid TOML ({exc})")
    actions = {a.dest: a for a in p._actions if a.dest not in ("help", "config", "subparser")}
    flags = {a.dest: a.option_strings[-1] for a in actions.values()}
    defaults: dict[str, object] = {}
    for key, value in config.items():
        dest = key.replace("-", "_")
        if dest not in actions:
            p.error(f"--config {path}: unknown key {key!r}; expected one of {sorted(k.replace('_', '-') for k in flags)}")
        action = actions[dest]
        where = f"--config {path}: {key}"
        if isinstance(action, argparse._AppendAction):  # prior, fix: ['beta=0.5,1'] or a table {beta = [0.5, 1]}
            if isinstance(value, dict):
                value = [f"{k}=" + ",".join(str(v) for v in (x if isinstance(x, list) else [x])) for k, x in value.items()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                p.error(f"{where} must be a list of 'NAME=...' strings or a table")
            items = value
        elif isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
            if not isinstance(value, bool):
                p.error(f"{where} must be true or false")
            defaults[dest] = value if isinstance(action, argparse._StoreTrueAction) else not value
            continue
        else:
            if isinstance(value, dict | list | bool):
                p.error(f"{where} must be a number or a string")
            items = [str(value)]
        converted = []
        for item in items:
            try:
                v = action.type(item) if action.type is not None else item
            except argparse.ArgumentTypeError as exc:
                p.error(f"{where}: {exc}")
            except ValueError:
                p.error(f"{where}: expected {'an integer' if action.type is int else 'a number'}, got {value!r}")
            if action.choices is not None and v not in action.choices:
                p.error(f"{where}: {v!r} is not one of {list(action.choices)}")
            converted.append(v)
        defaults[dest] = converted if isinstance(action, argparse._AppendAction) else converted[0]
    return defaults


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check the command line (and ``--config``); usage errors exit with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "calibrate" and args.config is not None:
        args.subparser.set_defaults(**_config_defaults(args.subparser, args.config))
        args = parser.parse_args(argv)
    validate(args.subparser, args)
    return args


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
    for name in ("system", "out"):
        if getattr(args, name) is None:
            p.error(f"--{name} is required (on the command line or in --config)")
    if args.path == "neural" and args.method != "svi":
        p.error("--path neural is a point network fitted by SVI: use --method svi")
    if args.truth is not None and args.system not in TRUTH_SYSTEMS:
        p.error(f"--truth applies to --system {', '.join(TRUTH_SYSTEMS)} only")
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
    if not (math.isfinite(args.learning_rate) and args.learning_rate > 0):
        p.error("--learning-rate must be a positive number")
    if args.horizon is not None and not (math.isfinite(args.horizon) and args.horizon > 0):
        p.error("--horizon must be a positive number")
    if args.concentration is not None and args.observation != "dirichlet":
        p.error("--concentration is the Dirichlet's: with --observation logistic-normal use --noise-scale")
    if args.noise_scale is not None and args.observation != "logistic-normal":
        p.error("--noise-scale is the logistic normal's: with --observation dirichlet use --concentration")
    if args.mu0 is not None and not args.data:
        p.error("--mu0 applies to --data (simulated data start at their known initial distributions)")
    for name, values in args.prior:
        if len(values) > 2 or values[0] <= 0 or (len(values) == 2 and values[1] <= 0):
            p.error(f"--prior {name}: expected NAME=MEDIAN[,SD] with MEDIAN > 0 and SD > 0")
    for flag in ("prior", "fix"):
        names = [name for name, _ in getattr(args, flag)]
        if len(set(names)) != len(names):
            p.error(f"--{flag}: a parameter is named twice in {names}")
    for name, values in args.fix:
        if len(values) != 1:
            p.error(f"--fix {name}: expected NAME=VALUE (one number)")
    both = {name for name, _ in args.prior} & {name for name, _ in args.fix}
    if both:
        p.error(f"--prior and --fix name the same parameter(s) {sorted(both)}")
    if args.seed < 0:
        p.error("--seed must be >= 0")
    if args.data and not pathlib.Path(args.data).is_file():
        p.error(f"--data: no such file {args.data!r}")
