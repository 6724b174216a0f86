"""Matplotlib figures of solved games (labelled axes, one panel per quantity)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bayes_mfg.equilibrium.solve import Equilibrium
from bayes_mfg.games.base import Game


def plot_equilibrium(game: Game, eq: Equilibrium, *, title: str | None = None, states: Sequence[int] | None = None):
    """Distribution path, value function and total out-rate per state of one equilibrium.

    Returns the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    t = np.asarray(game.time_grid)
    states = list(range(game.n_states)) if states is None else list(states)
    names = game.state_names
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), constrained_layout=True)
    cmap = plt.get_cmap("viridis", max(len(states), 2))
    out_rate = np.asarray(eq.rates).sum(-1)
    for i, x in enumerate(states):
        kw = dict(color=cmap(i), label=names[x])
        axes[0].plot(t, np.asarray(eq.mu)[:, x], **kw)
        axes[1].plot(t, np.asarray(eq.value)[:, x], **kw)
        axes[2].plot(t[:-1], out_rate[:, x], **kw)
    axes[0].set(xlabel="time t", ylabel="mu_t(x)", title="distribution")
    axes[1].set(xlabel="time t", ylabel="u_t(x)", title="value")
    axes[2].set(xlabel="time t", ylabel="sum_y a*_t[x, y]", title="out-rate")
    if len(states) <= 8:
        axes[0].legend(fontsize=8, ncol=2)
    if title:
        fig.suptitle(title)
    return fig
