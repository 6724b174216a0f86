"""Particles of the continuous SDE against the grid law: total variation as h shrinks.

The grid equilibrium of a :class:`~bayes_mfg.games.GridGame` is the upwind Markov-chain
(O(h)) approximation of a controlled diffusion. Here ``n_agents`` agents of the continuous
SDE ``dX = v(t, X) dt + sigma dW`` are simulated with diffrax
(:func:`bayes_mfg.games.simulate_particles`: Euler-Maruyama, SDE step 1/1024, walls by
reflection of the drift, the equilibrium's feedback velocity interpolated linearly in x,
piecewise constant in t), and their histogram is compared with the grid law coarse-grained
onto the same fixed bins (:func:`bayes_mfg.games.particle_check`): the total variation
``TV = 0.5 sum_bins |hist - mu|`` at t = T/4, T/2 and T, and its Monte Carlo floor (the
same TV for a multinomial sample of ``n_agents`` from the binned grid law itself: mean and
standard deviation over 50 draws). ``h`` and ``dt`` are halved together.

Cases:

* **linear-quadratic** (:class:`~bayes_mfg.games.GridLinearQuadratic`), the setting of
  ``experiments/grid_convergence.py``: ``[-2, 2]``, sigma = 0.3, T = 1, ``N(0.5, 0.2^2)``
  initial law, q = 2, q_T = 1, target -0.3, coupling 0.5; 32 bins of width 1/8. Also
  reported: the TV of the particles and of the grid law against the exact Gaussian
  equilibrium (:func:`bayes_mfg.games.gaussian_equilibrium`, binned by its CDF).
* **congestion at a wall** (:class:`~bayes_mfg.games.GridCongestion`): ``[0, 1]``,
  sigma = 0.3, T = 1, goal 0.9, attraction 4, terminal weight 4, congestion
  0.05 (``log rho``), ``N(0.3, 0.15^2)`` initial law; 16 bins of width 1/16 (about a fifth
  of the mass ends in the bin at the wall x = 1).

Run::

    python -m experiments.particles_vs_grid [--quick] [--agents 100000] [--out experiments/results/particles_vs_grid.json]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np
from scipy.stats import norm

import bayes_mfg as bm
from benchmarks._timing import markdown_table, save_report

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "particles_vs_grid.json"
SDE_STEPS = 1024  # SDE steps over [0, T] at every h
INV_H = (16, 32, 64, 128)
LQ = {"sigma": 0.3, "mean0": 0.5, "sd0": 0.2,
      "params": {"coupling": 0.5, "target": -0.3, "state_weight": 2.0, "terminal_weight": 1.0}}
CONGESTION = {"sigma": 0.3, "goal": 0.9, "mean0": 0.3, "sd0": 0.15,
              "params": {"attraction": 4.0, "congestion": 0.05, "terminal_weight": 4.0}}


def gaussian_mu0(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    w = np.exp(-((x - mean) ** 2) / (2 * sd**2))
    return w / w.sum()


def lq_case(inv_h: int) -> tuple:
    n = 4 * inv_h + 1
    game = bm.games.GridLinearQuadratic(grid=bm.games.Grid.interval(n, -2.0, 2.0), sigma=LQ["sigma"], n_times=inv_h + 1)
    return game, LQ["params"], gaussian_mu0(game.points[:, 0], LQ["mean0"], LQ["sd0"]), np.linspace(-2.0, 2.0, 33)


def congestion_case(inv_h: int) -> tuple:
    game = bm.games.GridCongestion(grid=bm.games.Grid.interval(inv_h + 1, 0.0, 1.0), sigma=CONGESTION["sigma"],
                                   n_times=inv_h + 1, goal=(CONGESTION["goal"],))
    mu0 = gaussian_mu0(game.points[:, 0], CONGESTION["mean0"], CONGESTION["sd0"])
    return game, CONGESTION["params"], mu0, np.linspace(0.0, 1.0, 17)


def run(name: str, make, inv_h: int, n_agents: int, seed: int) -> dict:
    game, params, mu0, edges = make(inv_h)
    eq = bm.equilibrium(game, params, mu0)
    n = game.n_times - 1
    steps = [n // 4, n // 2, n]
    t0 = time.perf_counter()
    particles = bm.games.simulate_particles(game, eq, n_agents, jax.random.key(seed), steps=steps,
                                            n_substeps=SDE_STEPS // n)
    jax.block_until_ready(particles.x)
    sim_s = time.perf_counter() - t0
    check = bm.games.particle_check(game, eq, particles, edges, jax.random.key(seed + 1))
    out = {"case": name, "h": 1.0 / inv_h, "d": game.n_states, "N": game.n_times, "converged": bool(eq.converged),
           "times": check.times, "tv": check.tv, "floor_mean": check.floor_mean, "floor_sd": check.floor_sd,
           "simulate_s": sim_s, "n_agents": n_agents, "sde_steps": SDE_STEPS, "bins": len(edges) - 1}
    if name == "linear-quadratic":
        mean, var = bm.games.gaussian_equilibrium(params, LQ["sigma"], game.horizon, LQ["mean0"], LQ["sd0"] ** 2,
                                                  check.times)
        exact = np.diff(norm.cdf(edges[None, :], mean[:, None], np.sqrt(var)[:, None]), axis=1)
        hist = np.asarray(bm.games.particle_histogram(game, particles.x, edges))
        grid = np.asarray(bm.games.bin_masses(game, eq.mu[np.asarray(steps)], edges))
        out["tv_particles_vs_gaussian"] = 0.5 * np.abs(hist - exact).sum(axis=1)
        out["tv_grid_vs_gaussian"] = 0.5 * np.abs(grid - exact).sum(axis=1)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the three coarsest h and 20000 agents")
    ap.add_argument("--agents", type=int, default=None, help="agents per simulation (default 100000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = ap.parse_args(argv)
    n_agents = args.agents or (20_000 if args.quick else 100_000)
    inv_hs = INV_H[:3] if args.quick else INV_H
    t0 = time.perf_counter()
    cases = []
    for name, make in (("linear-quadratic", lq_case), ("congestion at a wall", congestion_case)):
        rows = []
        for inv_h in inv_hs:
            c = run(name, make, inv_h, n_agents, args.seed)
            cases.append(c)
            prev = cases[-2] if len(rows) else None
            order = f"{np.log2(prev['tv'][1] / c['tv'][1]):.2f}" if prev else ""
            row = [f"1/{inv_h}", c["d"], c["N"], *(f"{v:.4f}" for v in c["tv"]), order,
                   *(f"{m:.4f} ± {s:.4f}" for m, s in zip(c["floor_mean"], c["floor_sd"]))]
            if "tv_particles_vs_gaussian" in c:
                row += [f"{c['tv_particles_vs_gaussian'][-1]:.4f}", f"{c['tv_grid_vs_gaussian'][-1]:.4f}"]
            rows.append(row + [f"{c['simulate_s']:.1f}"])
        header = ["h", "d", "N", "TV T/4", "TV T/2", "TV T", "order (T/2)", "MC floor T/4", "MC floor T/2",
                  "MC floor T"]
        if name == "linear-quadratic":
            header += ["TV particles vs Gaussian, T", "TV grid vs Gaussian, T"]
        print(f"\n### {name} ({n_agents} agents, {cases[-1]['bins']} bins)\n")
        print(markdown_table(header + ["simulate (s)"], rows))
    return save_report(args.out, t0, args.quick, setting={"lq": LQ, "congestion": CONGESTION, "sde_steps": SDE_STEPS,
                                                          "n_agents": n_agents, "seed": args.seed},
                       cases=cases)


if __name__ == "__main__":
    main()
