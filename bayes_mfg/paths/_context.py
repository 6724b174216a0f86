"""The context a parameter path is evaluated in: time grid, horizon, observed shares."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from bayes_mfg._validation import check_positive_float, check_positive_int, is_concrete
from bayes_mfg.games.base import MeanFieldGame

__all__ = ["PathContext", "check_context"]

Array = jax.Array


class PathContext(NamedTuple):
    """What a path may depend on: the time grid and the observed population shares.

    Attributes
    ----------
    times
        ``(N,)`` the game's time grid ``game.time_grid``.
    horizon
        The horizon T (``times`` spans ``[0, T]``).
    mu_input
        ``(n_traj, N, d)`` observed population shares interpolated on the grid (the
        inputs of :class:`Neural` paths), or None when no path needs them.
    n_trajectories
        Number of observed trajectories ``n_traj``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> ctx = bm.paths.PathContext.from_game(bm.games.LinearQuadratic(n_states=3, n_times=20), n_trajectories=4)
    >>> ctx.times.shape, ctx.n_trajectories
    ((20,), 4)
    """

    times: Array
    horizon: float
    mu_input: Array | None
    n_trajectories: int

    @classmethod
    def from_game(cls, game: MeanFieldGame, mu_input: Any = None, n_trajectories: int | None = None) -> PathContext:
        """Context on ``game``'s grid; ``n_trajectories`` defaults to ``mu_input.shape[0]``.

        Raises
        ------
        ValueError
            If neither ``mu_input`` nor ``n_trajectories`` is given, or they disagree, or
            ``mu_input`` does not have shape ``(n_traj, game.n_times, game.n_states)``.
        """
        if not isinstance(game, MeanFieldGame):
            raise TypeError(f"game must be a bayes_mfg.games.MeanFieldGame, got {type(game).__name__}")
        mu = None if mu_input is None else jnp.asarray(mu_input)
        if n_trajectories is None:
            if mu is None:
                raise ValueError("PathContext.from_game needs mu_input or n_trajectories")
            n_trajectories = int(mu.shape[0]) if mu.ndim == 3 else -1
        ctx = cls(game.time_grid, float(game.horizon), mu, n_trajectories)
        ctx = check_context(ctx)
        if mu is not None and mu.shape[-1] != game.n_states:
            raise ValueError(f"mu_input must have {game.n_states} states (last axis), got shape {mu.shape}")
        return ctx


def check_context(ctx: Any) -> PathContext:
    if not isinstance(ctx, PathContext):
        raise TypeError(f"ctx must be a PathContext, got {type(ctx).__name__}")
    times = jnp.asarray(ctx.times)
    if times.ndim != 1 or times.shape[0] < 2:
        raise ValueError(f"ctx.times must be a 1-D grid with at least 2 points, got shape {times.shape}")
    horizon = ctx.horizon
    if is_concrete(horizon):
        horizon = check_positive_float("ctx.horizon", horizon)
    n_traj = check_positive_int("ctx.n_trajectories", ctx.n_trajectories)
    mu = ctx.mu_input
    if mu is not None:
        mu = jnp.asarray(mu)
        if mu.ndim != 3 or mu.shape[:2] != (n_traj, times.shape[0]):
            raise ValueError(
                f"ctx.mu_input must have shape (n_trajectories, N, d) = ({n_traj}, {times.shape[0]}, d), got {mu.shape}"
            )
    return PathContext(times, horizon, mu, n_traj)
