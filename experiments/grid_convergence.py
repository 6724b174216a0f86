"""Grid games against the closed form: the 1-D linear-quadratic MFG with a Gaussian initial law.

The equilibrium on the real line is Gaussian with mean and variance from Riccati equations
(:func:`bayes_mfg.games.gaussian_equilibrium`). On ``[-2, 2]`` (walls > 10 standard
deviations away) the upwind grid equilibrium (:class:`bayes_mfg.games.GridLinearQuadratic`,
implicit Euler) is computed on grids that halve ``h`` and ``dt`` together; reported: the
errors of the mean and variance at ``t = T / 2`` and ``t = T``, the observed order
``log2(e_h / e_{h/2})``, the mass error ``max_n |sum_x mu_n(x) - 1|``, and the gradient of
``E[X_T^2]`` with respect to the state weight against a central finite difference.

Setting: sigma = 0.3, T = 1, ``N(0.5, 0.2^2)`` initial law, control weight 1, state weight 2,
terminal weight 1, target -0.3, coupling 0.5.

Run::

    python -m experiments.grid_convergence [--quick] [--out experiments/results/grid_convergence.json]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import bayes_mfg as bm
from benchmarks._timing import markdown_table, save_report

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "grid_convergence.json"
SIGMA, T, MEAN0, SD0 = 0.3, 1.0, 0.5, 0.2
PARAMS = {"coupling": 0.5, "target": -0.3, "state_weight": 2.0, "terminal_weight": 1.0}
GRIDS = ((65, 17), (129, 33), (257, 65), (513, 129), (1025, 257))


def run_grid(n_points: int, n_times: int) -> dict:
    game = bm.games.GridLinearQuadratic(grid=bm.games.Grid.interval(n_points, -2.0, 2.0), sigma=SIGMA, horizon=T,
                                        n_times=n_times)
    x = game.points[:, 0]
    mu0 = np.exp(-((x - MEAN0) ** 2) / (2 * SD0**2))
    mu0 = jnp.asarray(mu0 / mu0.sum())
    x2 = jnp.asarray(x**2)

    def second_moment(q):
        return bm.equilibrium(game, {**PARAMS, "state_weight": q}, mu0).mu[-1] @ x2

    eq = bm.equilibrium(game, PARAMS, mu0)
    mean, var = game.grid.moments(eq.mu[jnp.array([(n_times - 1) // 2, -1])])
    ref_m, ref_v = bm.games.gaussian_equilibrium(PARAMS, SIGMA, T, MEAN0, SD0**2, [T / 2, T])
    q, e = PARAMS["state_weight"], 1e-5
    grad = float(jax.grad(second_moment)(q))
    fd = float((second_moment(q + e) - second_moment(q - e)) / (2 * e))
    return {
        "h": 4.0 / (n_points - 1), "d": n_points, "N": n_times, "converged": bool(eq.converged),
        "mean_error": np.abs(np.asarray(mean[:, 0]) - ref_m).tolist(),
        "var_error": np.abs(np.asarray(var[:, 0]) - ref_v).tolist(),
        "mass_error": float(jnp.max(jnp.abs(eq.mu.sum(axis=1) - 1.0))),
        "gradient": grad, "finite_difference": fd, "gradient_rel_error": abs(grad - fd) / abs(fd),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the three coarsest grids")
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cases = [run_grid(n, m) for n, m in (GRIDS[:3] if args.quick else GRIDS)]
    rows = []
    for i, c in enumerate(cases):
        order = ["", ""]
        if i:
            prev = cases[i - 1]
            order = [f"{np.log2(prev['mean_error'][1] / c['mean_error'][1]):.2f}",
                     f"{np.log2(prev['var_error'][1] / c['var_error'][1]):.2f}"]
            c["order_mean_T"], c["order_var_T"] = float(order[0]), float(order[1])
        rows.append([f"{c['h']:.5f}", c["N"], f"{c['mean_error'][0]:.2e}", f"{c['mean_error'][1]:.2e}",
                     f"{c['var_error'][0]:.2e}", f"{c['var_error'][1]:.2e}", *order, f"{c['mass_error']:.1e}",
                     f"{c['gradient_rel_error']:.1e}"])
    print(markdown_table(["h", "N", "|mean err| T/2", "|mean err| T", "|var err| T/2", "|var err| T",
                          "order mean", "order var", "mass err", "grad vs FD (rel)"], rows))
    return save_report(args.out, t0, args.quick, setting={"sigma": SIGMA, "horizon": T, "mean0": MEAN0, "sd0": SD0,
                                                          "params": PARAMS}, cases=cases)


if __name__ == "__main__":
    main()
