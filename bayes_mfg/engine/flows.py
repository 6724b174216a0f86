"""Transition flows of a solved equilibrium: how much mass moves along each jump per step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax

from bayes_mfg.engine.family import family_of
from bayes_mfg.engine.solve import Equilibrium
from bayes_mfg.games.base import MeanFieldGame

__all__ = ["transition_flows"]

Array = jax.Array


def transition_flows(game: MeanFieldGame, eq: Equilibrium, params: Mapping[str, Any]) -> Array:
    """The expected mass moving along every jump over every time step of an equilibrium.

    For a continuous-time game stepped by a scheme with frozen rates ``a_n`` on step
    ``n -> n+1``, the mass moving ``x -> y`` is

        F_n[x, y] = o_n(x) a_n[x, y],      o_n = Scheme.occupation(mu_n, mu_{n+1})

    with ``o_n(x)`` the time spent in ``x`` over the step as the scheme integrates it
    (``dt mu_{n+1}`` for implicit Euler, ``dt mu_n`` for explicit Euler,
    ``mu_n dt phi_1(dt Q_n)`` for the exponential scheme). It is exact for the discretised
    system: ``mu_{n+1}(y) - mu_n(y) = sum_x F_n[x, y] - sum_z F_n[y, z]``. For a discrete-time
    game it is ``F_t[x, y] = mu_t(x) sum_a pi_t(a | x) P_t[x, a, y]`` for ``y != x``.

    Multiplied by a population size, summed over an observation interval and over the
    jumps of interest (``S -> I``: new infections), these are the means of flow (incidence)
    counts: :class:`bayes_mfg.observe.Transitions` reads them. Their gradients follow the
    equilibrium's implicit gradient (the rates are smooth functions of the solved ``mu``).

    Parameters
    ----------
    game
        The game that was solved.
    eq
        Its :class:`~bayes_mfg.Equilibrium` (one solve: ``eq.mu`` of shape ``(N, d)``; use
        ``jax.vmap`` over a batch).
    params
        The parameters of the solve (constants or paths, as passed to
        :func:`bayes_mfg.equilibrium`).

    Returns
    -------
    jax.Array
        ``(N - 1, d, K)`` in the layout of the game's rates (``eq.rates``): ``K = d`` for
        dense rates (column ``y``: the jump ``x -> y``; the diagonal is 0), the neighbour
        slots for a game with ``neighbours`` (:class:`~bayes_mfg.stepping.Neighbours`; the
        padded self-slots are 0).

    Raises
    ------
    TypeError
        If ``eq`` is not an Equilibrium or ``params`` not a mapping.
    ValueError
        If ``eq`` is a batch or does not belong to ``game``.
    NotImplementedError
        If the game's family or scheme does not define flows.

    Examples
    --------
    New infections of an SIR epidemic per day sum to the fall of the susceptibles:

    >>> import bayes_mfg as bm, numpy as np
    >>> game = bm.games.SIR(horizon=20.0, n_times=21)
    >>> params = game.params(beta=0.6, gamma=0.2, c_infected=0.0)
    >>> eq = bm.equilibrium(game, params, [0.99, 0.01, 0.0])
    >>> flows = bm.engine.transition_flows(game, eq, params)
    >>> flows.shape
    (20, 3, 3)
    >>> bool(np.allclose(flows[:, 0, 1], -np.diff(eq.mu[:, 0]), atol=1e-12))
    True
    """
    if not isinstance(game, MeanFieldGame):
        raise TypeError(f"game must be a bayes_mfg.games.MeanFieldGame, got {type(game).__name__}")
    if not isinstance(eq, Equilibrium):
        raise TypeError(f"eq must be a bayes_mfg.Equilibrium, got {type(eq).__name__}")
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping from parameter name to value, got {type(params).__name__}")
    shape = (game.n_times, game.n_states)
    if tuple(eq.mu.shape) != shape:
        raise ValueError(f"eq.mu must have shape {shape} (one solve of this game; jax.vmap over a batch), "
                         f"got {tuple(eq.mu.shape)}")
    p = {k: v.astype(eq.mu.dtype) for k, v in game.params(**params).items()}
    return family_of(game).transition_flows(game, eq, p)
