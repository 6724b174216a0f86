"""``python -m bayes_mfg.demo``: calibrate a time-dependent parameter of the LQ game.

The main job of the package, end to end: simulate 20 noisy trajectories (Dirichlet
observation noise, concentration 1000) of the linear-quadratic game with d = 8 states
whose control-cost weight follows the "arc" gamma(t) = 0.1 + 4 * 2.9 / T^2 * t (T - t)
(the reference problem :func:`bayes_mfg.problems.lq`, ``truth="arc"``), then recover gamma(t) with a B-spline path (12 knots, random-walk prior) fitted by SVI with
a full-covariance normal guide. The data pin gamma(t) down only near the horizon; the
posterior band says so (narrow near T, prior-wide in the middle). It is the command line::

    bayes-mfg calibrate --system lq --truth arc --path spline --method svi --guide multivariate \\
        --states 8 --trajectories 20 --svi-steps 1500 --learning-rate 0.02 --out outputs/demo

Outputs (in ``--out``, default ``outputs/demo``): ``posterior.nc``, ``summary.csv``,
``summary.md``, ``trajectories.png``, ``path.png``. Extra arguments are passed on to the
command line (e.g. ``--svi-steps 300`` for a quicker run).
"""

from __future__ import annotations

import argparse
import sys
import time

from bayes_mfg import cli

DEMO_ARGS = [
    "calibrate", "--system", "lq", "--truth", "arc", "--path", "spline", "--method", "svi", "--guide", "multivariate",
    "--states", "8", "--trajectories", "20", "--svi-steps", "1500", "--learning-rate", "0.02",
    "--samples", "300", "--seed", "0",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs/demo", help="output folder (default outputs/demo)")
    args, extra = parser.parse_known_args(argv)
    start = time.perf_counter()
    rc = cli.main([*DEMO_ARGS, "--out", args.out, *extra])
    print(f"demo wall time: {time.perf_counter() - start:.1f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
