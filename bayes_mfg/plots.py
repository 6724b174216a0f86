"""Matplotlib figures of solved games (labelled axes, one panel per quantity)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bayes_mfg._tree import PRIOR_DETERMINISTIC_GROUP, posterior_variables
from bayes_mfg.engine import Equilibrium
from bayes_mfg.games.base import MeanFieldGame


def plot_equilibrium(game: MeanFieldGame, eq: Equilibrium, *, title: str | None = None,
                     states: Sequence[int] | None = None):
    """Distribution path, value function and total out-rate per state of one equilibrium.

    When the equilibrium carries a policy (discrete-time games) the third panel shows the
    population's action shares ``sum_x mu_t(x) pi_t(a | x)`` instead of out-rates, whatever
    the game's family. Returns the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    t = np.asarray(game.time_grid)
    states = list(range(game.n_states)) if states is None else list(states)
    names = game.state_names
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), constrained_layout=True)
    cmap = plt.get_cmap("viridis", max(len(states), 2))
    discrete = eq.policy is not None
    for i, x in enumerate(states):
        kw = dict(color=cmap(i), label=names[x])
        axes[0].plot(t, np.asarray(eq.mu)[:, x], **kw)
        axes[1].plot(t, np.asarray(eq.value)[:, x], **kw)
        if not discrete:
            axes[2].plot(t[:-1], np.asarray(eq.rates).sum(-1)[:, x], **kw)
    axes[0].set(xlabel="time t", ylabel="mu_t(x)", title="distribution")
    if discrete:
        shares = np.einsum("tx,txa->ta", np.asarray(eq.mu), np.asarray(eq.policy))
        for a, name in enumerate(game.action_names):
            axes[2].plot(t, shares[:, a], label=name)
        axes[2].legend(fontsize=8)
        axes[1].set(xlabel="time t", ylabel="V_t(x) (reward)", title="soft value")
        axes[2].set(xlabel="time t", ylabel="sum_x mu_t(x) pi_t(a|x)", title="action shares")
    else:
        axes[1].set(xlabel="time t", ylabel="u_t(x)", title="value")
        axes[2].set(xlabel="time t", ylabel="sum_y a*_t[x, y]", title="out-rate")
    if len(states) <= 8:
        axes[0].legend(fontsize=8, ncol=2)
    if title:
        fig.suptitle(title)
    return fig


def _band(draws: np.ndarray, prob: float = 0.94) -> tuple[np.ndarray, np.ndarray]:
    """Central ``prob`` quantile band over the leading (sample) axis."""
    lo = (1.0 - prob) / 2.0
    return np.quantile(draws, lo, axis=0), np.quantile(draws, 1.0 - lo, axis=0)


def _flat_samples(da) -> np.ndarray:
    """``(chain, draw, ...)`` DataArray -> ``(chain * draw, ...)`` numpy array."""
    v = np.asarray(da.values, dtype=float)
    return v.reshape(-1, *v.shape[2:])


def plot_trajectories(
    tree,
    trajectories: Sequence[int] = (0, 1, 2),
    states: Sequence[int] | None = None,
    truth_mu: np.ndarray | None = None,
):
    """Observed shares against the fitted equilibrium, for a few trajectories and states.

    One row per trajectory, one panel per state: observed values (dots), the 94%
    posterior-predictive band of ``obs`` (light) and, when the fit recorded the equilibrium
    (``CalibrationModel(record_mu=True)``), the posterior mean of ``mu`` (line) and its 94%
    band (dark), else the predictive mean (line); ``truth_mu``
    (``(n_traj, N, d)`` on the game's grid ``time_step``), if given, dashed. For a model
    with a readout (data columns that are functionals, bins or flows of ``mu``) the panels
    are the data's columns and the bands those of the recorded ``readout``; ``truth_mu``
    is then given on the columns too. The legend sits below the panels; when only some
    states are shown the title says which.

    Parameters
    ----------
    tree
        An ArviZ ``DataTree`` from ``SVIResult.to_arviz`` / ``NUTSResult.to_arviz``.
    trajectories
        Trajectory indices (those beyond the data are dropped).
    states
        State indices (default: up to 4 spread over the states).

    Returns the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    observed = tree["observed_data"]["obs"]
    n_traj, _, d = observed.shape
    times = np.asarray(observed["time"].values, dtype=float)
    column = observed.dims[-1]  # "state", or the readout's dimension
    state_names = [str(s) for s in observed[column].values]
    trajectories = [j for j in trajectories if 0 <= j < n_traj] or [0]
    if states is None:
        states = sorted(set(np.linspace(0, d - 1, min(d, 4)).round().astype(int).tolist()))
    states = list(states)
    post = posterior_variables(tree)
    signal = "readout" if column != "state" else "mu"
    mu = _flat_samples(post[signal]) if signal in post else None
    pred = _flat_samples(tree["posterior_predictive"]["obs"]) if "posterior_predictive" in tree else None
    grid = np.asarray(post["time_step"].values, dtype=float) if "time_step" in post.coords else None
    obs = np.asarray(observed.values, dtype=float)

    fig, axes = plt.subplots(
        len(trajectories), len(states), figsize=(3.3 * len(states), 2.6 * len(trajectories)),
        constrained_layout=True, squeeze=False, sharex=True,
    )
    for r, j in enumerate(trajectories):
        for c, x in enumerate(states):
            ax = axes[r, c]
            if pred is not None:
                lo, hi = _band(pred[:, j, :, x])
                ax.fill_between(times, lo, hi, color="tab:blue", alpha=0.18, lw=0, label="94% predictive")
            if mu is not None:
                lo, hi = _band(mu[:, j, :, x])
                ax.fill_between(times, lo, hi, color="tab:blue", alpha=0.45, lw=0, label=f"94% band of {signal}")
                ax.plot(times, mu[:, j, :, x].mean(0), color="tab:blue", lw=1.5, label=f"posterior mean {signal}")
            elif pred is not None:
                ax.plot(times, pred[:, j, :, x].mean(0), color="tab:blue", lw=1.5, label="predictive mean")
            if truth_mu is not None and grid is not None and j < len(truth_mu):
                ax.plot(grid, np.asarray(truth_mu)[j, :, x], "k--", lw=1, label="true mu")
            ax.plot(times, obs[j, :, x], "o", ms=2.5, color="tab:orange", label="observed")
            ax.set_title(f"trajectory {observed['trajectory'].values[j]}, {column} {state_names[x]}", fontsize=9)
            if r == len(trajectories) - 1:
                ax.set_xlabel("time t")
            if c == 0:
                ax.set_ylabel("share mu_t(x)" if signal == "mu" else "observed quantity")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8, frameon=False)
    if len(states) < d:
        fig.suptitle(f"{column}s {', '.join(state_names[x] for x in states)} ({len(states)} of {d} shown)", fontsize=10)
    return fig


def plot_path(tree, name: str, truth=None, trajectory: int = 0, ax=None):
    """Posterior of a parameter path ``name(t)`` for one trajectory: mean and 94% band, vs ``truth``.

    Uses the deterministic ``f"{name}_path"`` (dims chain, draw, [trajectory,] time_step,
    ...; a path shared by all trajectories has no trajectory dim and ``trajectory`` is
    then ignored); non-scalar parameters are averaged over their extra dims. ``truth`` is
    a scalar or an ``(N,)`` path on the time grid. The 94% band of the prior draws of the
    path (group ``prior_deterministic``, when the tree has it) is drawn behind, in grey.
    Draws into ``ax`` when given. Returns the ``Figure``.
    """
    import matplotlib.pyplot as plt

    post = posterior_variables(tree)
    key = f"{name}_path"
    if key not in post:
        raise KeyError(f"the posterior has no {key!r}; calibrated paths: {[k[:-5] for k in post if k.endswith('_path')]}")
    da = post[key]
    if "trajectory" in da.dims:
        n_traj = da.sizes["trajectory"]
        if not 0 <= trajectory < n_traj:
            raise ValueError(f"trajectory must be in [0, {n_traj}), got {trajectory}")
        label = f"trajectory {da['trajectory'].values[trajectory]}"
    else:
        label = "all trajectories"

    def time_draws(arr) -> np.ndarray:  # (samples, N): this trajectory, extra dims averaged
        if "trajectory" in arr.dims:
            arr = arr.isel(trajectory=trajectory)
        flat = _flat_samples(arr)
        return flat.reshape(flat.shape[0], flat.shape[1], -1).mean(-1)

    draws = time_draws(da)
    t = np.asarray(da["time_step"].values, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.5), constrained_layout=True)
    else:
        fig = ax.figure
    prior = None
    if PRIOR_DETERMINISTIC_GROUP in tree.children and key in tree[PRIOR_DETERMINISTIC_GROUP]:
        prior = _band(time_draws(tree[PRIOR_DETERMINISTIC_GROUP][key]))
    lo, hi = _band(draws)
    shown = [lo, hi] if truth is None else [lo, hi, np.broadcast_to(np.asarray(truth, dtype=float), t.shape)]
    # the axis frames the posterior (and truth) with room around it; a wider prior band is clipped
    bottom, top = float(np.min(shown)), float(np.max(shown))
    pad = 0.5 * max(top - bottom, 1e-3 * max(abs(top), 1.0))
    bottom, top = bottom - pad, top + pad
    if prior is not None:
        clipped = bool(np.min(prior[0]) < bottom or np.max(prior[1]) > top)
        ax.fill_between(t, prior[0], prior[1], color="0.6", alpha=0.25, lw=0,
                        label="94% prior band" + (" (clipped)" if clipped else ""))
    ax.fill_between(t, lo, hi, color="tab:green", alpha=0.3, lw=0, label="94% band")
    ax.plot(t, draws.mean(0), color="tab:green", lw=1.8, label="posterior mean")
    if truth is not None:
        ax.plot(t, shown[2], "k--", lw=1.2, label="truth")
    ax.set(xlabel="time t", ylabel=name, title=f"{name}(t), {label}", ylim=(bottom, top))
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)  # below the data
    return fig
