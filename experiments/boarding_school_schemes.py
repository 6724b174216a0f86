"""R0 of the 1978 boarding-school outbreak by time-stepping scheme, against an RK4 reference.

The Stan case study's classical SIR (Grinsztajn, Semenova, Margossian & Riou 2021, "Bayesian
workflow for disease transmission modeling in Stan"): beta ~ N(2, 1) truncated at 0,
gamma ~ N(0.4, 0.5) truncated at 0, 1/phi ~ Exponential(5), boys in bed ~ NB2(763 I(t), phi),
``mu0 = (762, 1, 0) / 763``; the library's :class:`bayes_mfg.games.SIR` with
``c_infected = 0`` on 14 days with ``dt = 0.1`` day (141 grid points).

Per scheme (``implicit``, ``exponential``, ``euler``, ``midpoint``, ``patankar``):

* the MAP of R0 = beta / gamma (``fit_svi(guide="delta")``, 3000 Adam steps, lr 0.02: the mode
  of the density of the unconstrained parameters, as Stan's optimiser reports it);
* the NUTS posterior of R0 (2 chains x (500 + 1000)): median and 90% interval;
* :func:`bayes_mfg.time_step_check` of the NUTS fit (does halving dt move the posterior?).

References: the MAP of the same posterior with the ODE integrated by an adaptive 8th-order
Runge-Kutta (``scipy.integrate.solve_ivp(method="DOP853", rtol=atol=1e-11)``, Nelder-Mead on
the unconstrained parameters), and a NUTS fit with the second-order scheme on a 4x finer grid
(dt = 0.025, 561 points). The issue that asked for a second-order scheme quotes RK4: MAP 3.17,
posterior median 3.22 (90%: 2.82-3.71).

Run::

    python -m experiments.boarding_school_schemes            # about 10 minutes on 2 cores
    python -m experiments.boarding_school_schemes --quick    # 1 chain, 200 + 200
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np
import numpyro.distributions as dist
from numpyro.distributions.transforms import PowerTransform

import bayes_mfg as bm
from benchmarks._timing import markdown_table, save_report

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "boarding_school_schemes.json"
SCHEMES = ("implicit", "exponential", "euler", "midpoint", "patankar")
POPULATION = bm.datasets.BOARDING_SCHOOL_POPULATION


def build_model(scheme: str, n_times: int = 141, game_model: bool = False) -> bm.CalibrationModel:
    """The Stan case study's classical SIR on ``n_times`` grid points over 14 days; with
    ``game_model`` the SIR game instead (the cost of infection ``c_infected ~ LogNormal(0, 1.5)``
    learned: susceptibles distance)."""
    game = bm.games.SIR(horizon=14.0, n_times=n_times, scheme=scheme)
    paths = {"beta": dist.TruncatedNormal(2.0, 1.0, low=0.0), "gamma": dist.TruncatedNormal(0.4, 0.5, low=0.0)}
    fixed = {"c_alpha": 1.0}
    if game_model:
        paths["c_infected"] = dist.LogNormal(0.0, 1.5)
    else:
        fixed["c_infected"] = 0.0
    phi = dist.TransformedDistribution(dist.Exponential(5.0), PowerTransform(-1.0))
    obs = bm.observe.NegativeBinomial(exposure=float(POPULATION), concentration=phi)
    return bm.CalibrationModel(game, paths, obs, fixed=fixed, mu0_source="data")


def game_maps(data: bm.Observations) -> dict:
    """MAP of the SIR game's parameters by scheme on dt = 0.1 and with Patankar on dt = 0.025."""
    out = {}
    for label, scheme, n_times in (("implicit, dt = 0.1", "implicit", 141), ("patankar, dt = 0.1", "patankar", 141),
                                   ("patankar, dt = 0.025", "patankar", 561)):
        fit = bm.fit_svi(build_model(scheme, n_times, game_model=True), data, guide="delta", num_steps=4000,
                         learning_rate=0.02, progress_bar=False)
        d = fit.posterior_draws(1)
        out[label] = {k: float(np.asarray(d[k]).reshape(-1)[0]) for k in ("beta", "gamma", "c_infected")}
        print(label, out[label], flush=True)
    return out


def rk_map(data: bm.Observations) -> dict:
    """MAP of (beta, gamma, 1/phi) with the ODE integrated by DOP853 (unconstrained parameters)."""
    from scipy.integrate import solve_ivp
    from scipy.optimize import minimize
    from scipy.stats import expon, nbinom, norm

    y = np.asarray(data.values[0, :, 1])
    n = float(POPULATION)

    def infected(beta, gamma):
        def rhs(t, x):
            return [-beta * x[0] * x[1] / n, beta * x[0] * x[1] / n - gamma * x[1], gamma * x[1]]

        return solve_ivp(rhs, (0.0, 14.0), [n - 1, 1.0, 0.0], t_eval=np.arange(1, 15), rtol=1e-11, atol=1e-11,
                         method="DOP853").y[1]

    def neg_log_post(z):
        beta, gamma, phi_inv = np.exp(z)
        mean = np.maximum(infected(beta, gamma), 1e-12)
        phi = 1.0 / phi_inv
        lp = nbinom.logpmf(y, phi, phi / (phi + mean)).sum()
        lp += norm.logpdf(beta, 2, 1) + norm.logpdf(gamma, 0.4, 0.5) + expon.logpdf(phi_inv, scale=0.2)
        return -(lp + z.sum())  # + log Jacobian of the exp transform

    res = minimize(neg_log_post, np.log([1.7, 0.5, 0.1]), method="Nelder-Mead",
                   options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    beta, gamma, _ = np.exp(res.x)
    return {"beta": float(beta), "gamma": float(gamma), "r0": float(beta / gamma), "converged": bool(res.success)}


def r0_summary(fit) -> dict:
    d = fit.posterior_draws()
    r0 = np.asarray(d["beta"]) / np.asarray(d["gamma"])
    q = np.quantile(r0, [0.05, 0.5, 0.95])
    return {"median": float(q[1]), "interval90": [float(q[0]), float(q[2])]}


def run(args) -> dict:
    t0 = time.perf_counter()
    data = bm.datasets.load_boarding_school_influenza()
    nuts = dict(num_chains=args.chains, num_warmup=args.warmup, num_samples=args.samples, seed=0, progress_bar=False)
    if args.game_maps:
        return save_report(args.out, t0, args.quick, game_maps=game_maps(data))
    out: dict = {"rk_map": rk_map(data), "schemes": {}, "nuts": nuts}
    print(f"DOP853 MAP R0 {out['rk_map']['r0']:.4f}", flush=True)
    for scheme in args.schemes:
        model = build_model(scheme)
        t1 = time.perf_counter()
        mode = bm.fit_svi(model, data, guide="delta", num_steps=3000, learning_rate=0.02, progress_bar=False)
        d = mode.posterior_draws(1)
        map_s = time.perf_counter() - t1
        t1 = time.perf_counter()
        fit = bm.fit_nuts(model, data, **nuts)
        nuts_s = time.perf_counter() - t1
        check = bm.time_step_check(fit)
        row = {"map_r0": float(d["beta"][0] / d["gamma"][0]), "map_seconds": map_s, "nuts_seconds": nuts_s,
               "posterior_r0": r0_summary(fit), "time_step_check": {
                   "passed": check.passed, "max_shift": check.max_shift, "pareto_k": check.pareto_k,
                   "loglik_shift": check.loglik_shift, "suggested_steps": check.suggested_steps}}
        out["schemes"][scheme] = row
        print(f"{scheme:12s} MAP R0 {row['map_r0']:.4f}  posterior median {row['posterior_r0']['median']:.4f}  "
              f"check {'passes' if check.passed else 'FAILS'} (shift {check.max_shift:.2f} sd)", flush=True)
    fine = bm.fit_nuts(build_model("patankar", 561), data, **nuts)
    out["fine_grid_patankar_561"] = r0_summary(fine)
    rows = [[s, f"{r['map_r0']:.3f}", f"{r['posterior_r0']['median']:.3f}",
             "{:.2f}-{:.2f}".format(*r["posterior_r0"]["interval90"]),
             f"{r['time_step_check']['max_shift']:.2f} ({'passes' if r['time_step_check']['passed'] else 'fails'})"]
            for s, r in out["schemes"].items()]
    rows.append(["DOP853 ODE", f"{out['rk_map']['r0']:.3f}", "", "", ""])
    rows.append(["patankar, dt = 0.025", "", f"{out['fine_grid_patankar_561']['median']:.3f}",
                 "{:.2f}-{:.2f}".format(*out["fine_grid_patankar_561"]["interval90"]), ""])
    print(markdown_table(["scheme (dt = 0.1)", "MAP R0", "median R0", "90%", "time-step shift (sd)"], rows))
    return save_report(args.out, t0, args.quick, **out)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    ap.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=SCHEMES)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--game-maps", action="store_true",
                    help="only the MAPs of the SIR game's parameters (dt = 0.1 vs 0.025), to --out")
    args = ap.parse_args(argv)
    if args.quick:
        args.chains, args.warmup, args.samples = 1, 200, 200
    jax.config.update("jax_enable_x64", True)
    return run(args)


if __name__ == "__main__":
    main()
