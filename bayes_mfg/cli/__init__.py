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

from bayes_mfg.cli.commands import build_path, build_problem, calibrate, report_command
from bayes_mfg.cli.parser import GUIDES, METHODS, NUTS_INITS, PATHS, SYSTEMS, TRUTHS, build_parser, validate
from bayes_mfg.cli.summary import COLUMNS, summarize, write_summary

__all__ = [
    "main",
    "build_parser",
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bayes-mfg``; returns 0 on success (argparse errors exit with status 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    validate(args.subparser, args)
    if args.command == "report":
        report_command(args)
    else:
        calibrate(args)
    return 0
