"""``bayes-mfg``: calibrate a mean field game to (simulated or CSV) population data.

Example::

    bayes-mfg calibrate --system lq --truth arc --path spline --method svi --guide normal --out outputs/lq

Without ``--data`` the data are simulated from a known truth (the reference problems of
:mod:`bayes_mfg.problems`) with Dirichlet observation noise; with ``--data FILE`` they are
read from a CSV in long format (columns ``trajectory,time,state,value``; absent rows are
missing entries; :meth:`bayes_mfg.Observations.from_csv`).

Calibrated parameters: ``lq`` -> gamma (truth 1.55, an arc in time, or 0.1 + 2.9 mu_t(0));
``cybersecurity`` -> the 8 rate parameters (truth ``REFERENCE_TRUTH``); ``sir`` -> beta,
gamma (truth 0.4, 0.125); ``mobility`` -> b, c (truth 1, 1.5; base rates q fixed at a seeded
random draw in [0.2, 1]).

Outputs in ``--out``: ``posterior.nc`` (ArviZ DataTree), ``summary.csv``, ``summary.md``,
``trajectories.png`` and ``path.png``. ``bayes-mfg report FITS... --out report.html``
writes an uncertainty report of saved fits.

Modules: :mod:`~bayes_mfg.cli.parser` (options and their checks),
:mod:`~bayes_mfg.cli.commands` (the commands), :mod:`~bayes_mfg.cli.summary` (the summary
table, diagnostics from arviz-stats).
"""

from __future__ import annotations

import importlib
import os
import sys

from bayes_mfg.cli.parser import GUIDES, METHODS, NUTS_INITS, PATHS, SYSTEMS, TRUTHS, build_parser, parse, validate

__all__ = [
    "main",
    "build_parser",
    "parse",
    "validate",
    "build_problem",
    "build_path",
    "calibrate",
    "report_command",
    "summarize",
    "write_summary",
    "COLUMNS",
    "GUIDES",
    "METHODS",
    "NUTS_INITS",
    "PATHS",
    "SYSTEMS",
    "TRUTHS",
]


#: Names loaded on first use, so that ``bayes-mfg --help`` imports no JAX.
_LAZY = {"build_path": "commands", "build_problem": "commands", "calibrate": "commands",
         "report_command": "commands", "summarize": "summary", "write_summary": "summary", "COLUMNS": "summary"}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'bayes_mfg.cli' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bayes_mfg.cli.{_LAZY[name]}"), name)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bayes-mfg``; returns 0 on success, 2 for a usage or input error.

    Every error of the library (a bad option, a malformed data file, data the model cannot
    use, a fit that cannot start) is printed as one line ``bayes-mfg: error: ...`` and a
    ``hint:`` line, with exit status 2, never a traceback. An unexpected exception (a bug) is
    one line too, with status 1; ``BAYES_MFG_DEBUG=1`` shows its traceback.
    """
    args = parse(argv)
    try:
        from bayes_mfg.cli.commands import calibrate, report_command  # the heavy imports, after parsing

        if args.command == "report":
            report_command(args)
        else:
            calibrate(args)
    except (ValueError, TypeError, OSError, RuntimeError) as exc:
        print(f"bayes-mfg: error: {_one_line(exc)}\nhint: {_hint(args, exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001  (a bug: one line, not a traceback, unless asked for)
        if os.environ.get("BAYES_MFG_DEBUG") == "1":
            raise
        print(f"bayes-mfg: internal error: {type(exc).__name__}: {_one_line(exc)}\n"
              "hint: this is a bug; rerun with BAYES_MFG_DEBUG=1 for the traceback and report it", file=sys.stderr)
        return 1
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _hint(args: object, exc: BaseException) -> str:
    text = str(exc)
    if "time grid" in text:
        return ("the observation times must lie on the game's grid of --steps points over the --horizon: e.g. days "
                "0..40 need a grid with a point per day (--steps 41 --horizon 40, or 81, 121, ... for finer steps)")
    if getattr(args, "data", None) and ("line" in text or "CSV" in text or str(getattr(args, "data", "")) in text):
        return ("--data expects a comma-separated file with the columns trajectory,time,state,value, one row per "
                "entry (bayes_mfg.Observations.from_csv)")
    if "no valid starting point" in text:
        return "the equilibrium could not be solved at any start: try another --system setting or --method"
    command = getattr(args, "command", "calibrate")
    return f"bayes-mfg {command} --help lists the options and their ranges"
