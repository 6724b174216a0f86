"""The no-game baseline: mean-field dynamics with learned jump rates and no HJB.

The seed paper's "MF dynamics" baseline: the population follows the forward Kolmogorov
equation with jump rates that are learned directly (constant, time paths, or networks of
``(t, mu)``), not derived from a best response to a value function. Written as a
:class:`Game` whose best response ignores the value, it plugs into everything a game
does: :class:`bayes_mfg.CalibrationModel`, every path and observation model, the
ArviZ output and :func:`bayes_mfg.compare`. Its "equilibrium" is reached after one
application of the map (the Kolmogorov sweep does not depend on the mean-field guess).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg.games.base import Array, Control, Game, ParameterSpec, Params
from bayes_mfg.stepping import DEFAULT_SCHEME, Scheme


@dataclass(frozen=True, kw_only=True)
class MeanFieldDynamics(Game):
    """Forward Kolmogorov dynamics with learned rates on a set of allowed moves (no game).

    With ``moves = ((x_1, y_1), ..., (x_K, y_K))`` and the parameter ``rates`` of shape
    ``(K,)`` (>= 0)::

        a[x_k, y_k](t) = rates_k(t),   d mu_t / dt = mu_t Q(a(t)),   no value function.

    Parameters
    ----------
    n_states
        Number of states ``d >= 2``.
    moves
        Allowed jumps ``(x, y)``, ``x != y`` (default: all ``d (d - 1)`` pairs).
    horizon, n_times, scheme
        As for every game; use the calibrated game's values (see :meth:`like`).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> base = bm.games.MeanFieldDynamics.like(bm.games.SIR())
    >>> base.moves  # S -> I and I -> R, the moves the SIR game uses
    ((0, 1), (1, 2))
    """

    n_states: int
    moves: tuple[tuple[int, int], ...] | None = None
    horizon: float = 2.0
    n_times: int = 100
    scheme: Scheme | str = DEFAULT_SCHEME

    def __post_init__(self) -> None:
        self._validate_grid()
        d = self.n_states
        if self.moves is None:
            moves = tuple((x, y) for x in range(d) for y in range(d) if x != y)
        else:
            try:
                moves = tuple((int(x), int(y)) for x, y in self.moves)
            except (TypeError, ValueError):
                raise TypeError(f"moves must be a sequence of (x, y) state pairs, got {self.moves!r}") from None
            bad = [m for m in moves if not (0 <= m[0] < d and 0 <= m[1] < d) or m[0] == m[1]]
            if bad or not moves or len(set(moves)) != len(moves):
                raise ValueError(
                    f"moves must be distinct pairs (x, y) with x != y in 0..{d - 1}; got invalid {bad or moves}"
                )
        object.__setattr__(self, "moves", moves)

    @classmethod
    def like(cls, game: Game, *, n_probes: int = 16, seed: int = 0, **params: Any) -> MeanFieldDynamics:
        """The baseline on ``game``'s states and grid, with the moves its best response uses.

        A move ``(x, y)`` is kept when the game's best response puts a positive rate on it
        for some of ``n_probes`` random values ``u`` and distributions ``mu`` (with the
        game's default parameters, overridden by ``params``).
        """
        if not isinstance(game, Game):
            raise TypeError(f"game must be a bayes_mfg.games.Game, got {type(game).__name__}")
        p = game.at_step(game.params(**params), 0)
        ku, km = jax.random.split(jax.random.PRNGKey(seed))
        d = game.n_states
        us = 5.0 * jax.random.normal(ku, (n_probes, d))
        mus = jax.random.dirichlet(km, jnp.ones(d), (n_probes,))
        rates = jax.vmap(lambda u, mu: game.control(u, mu, p).rates)(us, mus)
        used = np.asarray(jnp.any(rates > 0, axis=0)) & ~np.eye(d, dtype=bool)
        moves = tuple((int(x), int(y)) for x, y in zip(*np.nonzero(used)))
        return cls(n_states=d, moves=moves or None, horizon=game.horizon, n_times=game.n_times, scheme=game.scheme)

    @property
    def move_names(self) -> tuple[str, ...]:
        """Labels ``"x->y"`` of the moves (the coordinates of ``rates``)."""
        return tuple(f"{x}->{y}" for x, y in self.moves)

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        return {"rates": ParameterSpec((len(self.moves),), 1.0, 0.0, "jump rate of each allowed move",
                                        lower_closed=True, dims=("move",))}

    def dim_coords(self) -> dict[str, list[str]]:
        return {"move": list(self.move_names)}

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        src = np.array([m[0] for m in self.moves])
        dst = np.array([m[1] for m in self.moves])
        rates = jnp.zeros((self.n_states, self.n_states), dtype=mu.dtype).at[src, dst].set(p["rates"])
        return Control(rates, jnp.zeros(self.n_states, dtype=mu.dtype))

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return jnp.zeros(self.n_states, dtype=mu.dtype)
