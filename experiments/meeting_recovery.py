"""Meeting-game calibration at seed B's sizes: NUTS posteriors of the quorum and cost weights.

Synthetic truth: the meeting-time game (:class:`bayes_mfg.games.MeetingTime`, 41 distance
cells on [0, 1], 41 time points on [0, 2], scheduled start t_s = 1, sigma = 0.1) with
quorum 0.7, lateness 1, inconvenience 1, waiting 0.5 and the control weight kappa = 1
fixed (the weights are identified only relative to one of them). Each of ``J`` meetings has
its own spread of attendees' distances (a Gaussian centred between 0.3 and 0.8, sd 0.12)
and 42 attendees; the data are the numbers of attendees arriving in each interval of 0.1
(20 intervals), drawn from the equilibrium's arrival law. Their exact likelihood is
``Binomial(at-risk count, entry hazard)`` per interval (:class:`bayes_mfg.observe.Arrivals` on
the :class:`bayes_mfg.observe.Hazard` readout).

Reported: for every parameter the posterior mean, sd, 94% HDI, whether it covers the
truth, R-hat and bulk ESS; divergences; the implied start time T_j of every meeting
(posterior mean and 94% interval against the truth).

Run::

    python -m experiments.meeting_recovery [--meetings 12] [--warmup 400] [--samples 400]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

import bayes_mfg as bm
from benchmarks._timing import save_report

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "meeting_recovery.json"
TRUTH = {"quorum": 0.7, "lateness": 1.0, "inconvenience": 1.0, "waiting": 0.5}
ATTENDEES = 42


def meeting_game() -> bm.games.MeetingTime:
    return bm.games.MeetingTime(grid=bm.games.Grid.interval(41, 0.0, 1.0, absorbing=(0,)), n_times=41)


def meeting_starts(game: bm.games.MeetingTime, n_meetings: int) -> np.ndarray:
    """``(J, d)`` initial laws of the distances: Gaussians centred between 0.3 and 0.8."""
    x = game.points[:, 0]
    out = []
    for c in np.linspace(0.3, 0.8, n_meetings):
        m = np.where(x > 0, np.exp(-((x - c) ** 2) / (2 * 0.12**2)), 0.0)
        out.append(m / m.sum())
    return np.array(out)


def meeting_problem(n_meetings: int = 12, seed: int = 0):
    """``(model, data, truth_mu)``: arrival counts of ``n_meetings`` meetings of 42 attendees."""
    game = meeting_game()
    mu0 = meeting_starts(game, n_meetings)
    params = game.params(**TRUTH)
    mu = np.asarray(jax.vmap(lambda m: bm.equilibrium(game, params, m).mu)(jnp.asarray(mu0)))
    idx = np.arange(2, game.n_times, 2)                                   # t = 0.1, 0.2, ..., 2.0
    arrived = mu[:, idx, 0]
    cells = np.diff(np.concatenate([mu[:, :1, 0], arrived], axis=1), axis=1)
    probs = np.concatenate([cells, 1.0 - arrived[:, -1:]], axis=1).clip(0.0, None)
    rng = np.random.default_rng(seed)
    counts = np.array([rng.multinomial(ATTENDEES, p / p.sum())[:-1] for p in probs], dtype=float)
    data = bm.Observations.from_arrays(counts[..., None], game.time_grid[idx], kind="counts", mu0=mu0,
                                       n_states=game.n_states, state_names=("arrived",))
    hazard = bm.observe.Hazard(np.eye(game.n_states)[0], name="arrived")
    observation = bm.observe.Arrivals(group_size=ATTENDEES)
    priors = {
        "quorum": dist.Uniform(0.3, 0.95),
        "lateness": dist.LogNormal(0.0, 1.0),
        "inconvenience": dist.LogNormal(0.0, 1.0),
        "waiting": dist.LogNormal(0.0, 1.0),
    }
    model = bm.CalibrationModel(game, priors, observation, readout=hazard, mu0_source="data")
    return model, data, mu


def start_times(game: bm.games.MeetingTime, mu: np.ndarray, quorum: np.ndarray) -> np.ndarray:
    """``(S, J)`` start times of flows ``mu`` ``(S, J, N, d)`` for quorums ``quorum`` ``(S,)``."""
    base = game.params()

    def one(m, q):
        return game.start_time(m, {**base, "quorum": jnp.broadcast_to(q, base["quorum"].shape)})

    return np.asarray(jax.vmap(lambda ms, q: jax.vmap(lambda m: one(m, q))(ms))(jnp.asarray(mu), jnp.asarray(quorum)))


def summarise(fit, model, data, truth_mu) -> dict:
    import arviz_stats as azs

    tree = fit.to_arviz()
    post = tree["posterior"]
    rows = {}
    for name, true in TRUTH.items():
        draws = np.asarray(post[name].values).reshape(-1)
        lo, hi = np.asarray(azs.hdi(draws, prob=0.94)).reshape(-1)[:2]
        rhat = float(azs.rhat(post[name]))
        ess = float(azs.ess(post[name]))
        rows[name] = {"truth": true, "mean": float(draws.mean()), "sd": float(draws.std()), "hdi94": [float(lo), float(hi)],
                      "covers": bool(lo <= true <= hi), "rhat": rhat, "ess_bulk": ess}
    for a, b in (("inconvenience", "lateness"), ("waiting", "lateness")):
        r = np.asarray(post[a].values).reshape(-1) / np.asarray(post[b].values).reshape(-1)
        lo, hi = np.asarray(azs.hdi(r, prob=0.94)).reshape(-1)[:2]
        true = TRUTH[a] / TRUTH[b]
        rows[f"{a}/{b}"] = {"truth": true, "mean": float(r.mean()), "sd": float(r.std()),
                            "hdi94": [float(lo), float(hi)], "covers": bool(lo <= true <= hi)}
    game = model.game
    # start times need the whole flow: re-solve 200 thinned posterior draws on the grid
    draws = fit.posterior_draws(num_samples=200)
    quorum = np.asarray(draws["quorum"]).reshape(-1)
    flows = []
    for s in range(len(quorum)):
        p = game.params(**{k: float(np.asarray(draws[k]).reshape(-1)[s]) for k in TRUTH})
        flows.append(np.asarray(jax.vmap(lambda m, p=p: bm.equilibrium(game, p, m).mu)(jnp.asarray(data.mu0))))
    starts = start_times(game, np.array(flows), quorum)
    true_starts = start_times(game, truth_mu[None], np.array([TRUTH["quorum"]]))[0]
    lo, hi = np.quantile(starts, [0.03, 0.97], axis=0)
    start = {"truth": true_starts.tolist(), "mean": starts.mean(0).tolist(), "lo94": lo.tolist(), "hi94": hi.tolist(),
             "covered": int(np.sum((lo <= true_starts) & (true_starts <= hi))), "n_meetings": len(true_starts)}
    divergences = int(np.asarray(tree["sample_stats"]["diverging"].values).sum())
    return {"parameters": rows, "start_time": start, "divergences": divergences,
            "rejected_solves": fit.failures.n_rejected}


def table(summary: dict) -> str:
    lines = ["| parameter | truth | mean | sd | 94% HDI | covers | R-hat | ESS |", "|---|---|---|---|---|---|---|---|"]
    for name, r in summary["parameters"].items():
        lines.append(f"| {name} | {r['truth']:.3g} | {r['mean']:.3g} | {r['sd']:.2g} | "
                     f"[{r['hdi94'][0]:.3g}, {r['hdi94'][1]:.3g}] | {r['covers']} | "
                     f"{r.get('rhat', float('nan')):.3f} | {r.get('ess_bulk', float('nan')):.0f} |")
    s = summary["start_time"]
    lines.append(f"\nstart times: {s['covered']} of {s['n_meetings']} meetings' true T_j inside the 94% interval; "
                 f"divergences {summary['divergences']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS_PATH)
    ap.add_argument("--meetings", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=400)
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dense", action="store_true", help="a dense mass matrix (the cost weights share a ridge)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    model, data, truth_mu = meeting_problem(args.meetings, args.seed)
    fit = bm.fit_nuts(model, data, num_chains=args.chains, num_warmup=args.warmup, num_samples=args.samples,
                      dense_mass=args.dense, seed=args.seed, progress_bar=False)
    fit_s = time.perf_counter() - t0
    summary = summarise(fit, model, data, truth_mu)
    print(table(summary))
    print(f"\nNUTS {args.chains} chains x ({args.warmup} + {args.samples}): {fit_s:.0f} s")
    return save_report(args.out, t0, False, summary=summary, meetings=args.meetings, attendees=ATTENDEES,
                       chains=args.chains, warmup=args.warmup, samples=args.samples, dense_mass=args.dense,
                       fit_seconds=fit_s)


if __name__ == "__main__":
    main()
