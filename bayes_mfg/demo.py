"""``python -m bayes_mfg.demo``: solve the reference games and plot an equilibrium.

Solves the LQ game (d = 8, constant and "arc" gamma), Cybersecurity, SIR and a small
mobility network, prints solver diagnostics and one implicit gradient, and writes a figure
to ``outputs/demo_equilibrium.png``.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np

import bayes_mfg as bm


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs", help="folder for the figure")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)

    lq = bm.games.LinearQuadratic(n_states=8)
    t = lq.time_grid
    arc = 0.1 + 4 * 2.9 / lq.horizon**2 * t * (lq.horizon - t)
    cases = [
        ("LQ d=8, gamma=1.55", lq, {"gamma": 1.55}, rng.dirichlet(np.ones(8))),
        ("LQ d=8, arc gamma(t)", lq, {"gamma": arc}, rng.dirichlet(np.ones(8))),
        ("LQ d=32 (Euler-unstable setting)", bm.games.LinearQuadratic(n_states=32), {}, rng.dirichlet(np.ones(32))),
        ("Cybersecurity", bm.games.Cybersecurity(), {}, np.full(4, 0.25)),
        ("SIR", bm.games.SIR(), {"beta": 0.5}, np.array([0.99, 0.01, 0.0])),
        ("Mobility d=5", bm.games.MobilityNetwork(n_states=5), {"c": 2.0}, rng.dirichlet(np.ones(5))),
    ]
    print(f"{'game':36s} {'converged':>9s} {'iters':>5s} {'G evals':>7s} {'residual':>9s} {'dt*rate':>7s} {'time s':>7s}")
    results = {}
    for name, game, params, mu0 in cases:
        start = time.perf_counter()
        eq = bm.equilibrium(game, params, jnp.asarray(mu0))
        jax.block_until_ready(eq.mu)
        elapsed = time.perf_counter() - start
        i = eq.info
        print(
            f"{name:36s} {bool(i.converged)!s:>9s} {int(i.iterations):5d} {int(i.n_evaluations):7d} "
            f"{float(i.residual):9.1e} {float(i.max_jump_probability):7.2f} {elapsed:7.2f}"
        )
        results[name] = (game, eq)

    mu0 = jnp.asarray(cases[0][3])

    def loss(gamma):
        return jnp.sum(bm.equilibrium(lq, {"gamma": gamma}, mu0).mu[-1] * jnp.arange(8.0))

    g = jax.grad(loss)(1.55)
    print(f"\nd/dgamma E[state at T] for LQ d=8 (implicit gradient): {float(g):.6f}")

    import matplotlib

    matplotlib.use("Agg")
    from bayes_mfg.plots import plot_equilibrium

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    game, eq = results["LQ d=8, arc gamma(t)"]
    fig = plot_equilibrium(game, eq, title="LQ game, d = 8, arc gamma(t): equilibrium")
    path = out / "demo_equilibrium.png"
    fig.savefig(path, dpi=110)
    print(f"figure written to {path}")


if __name__ == "__main__":
    main()
