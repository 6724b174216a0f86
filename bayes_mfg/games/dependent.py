"""Games whose parameters are functions of time and of the mean field itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import jax.numpy as jnp

from bayes_mfg.games.base import Array, Control, Game, ParameterSpec, Params

#: ``fn(t, mu) -> value``: a parameter as a function of time and the current distribution.
ParameterFunction = Callable[[Array, Array], Array]


@dataclass(frozen=True, eq=False)
class MeanFieldDependent(Game):
    """Wrap ``base`` so that some of its parameters are functions ``gamma(t, mu_t)``.

    Inside the best-response map the parameter at step ``n`` is ``fn(t_n, mu_n)`` with
    ``mu_n`` the mean field the population responds to (HJB) or the distribution being
    propagated (Kolmogorov); at the equilibrium both are ``mu*_n``. So the parameter depends
    on the equilibrium itself, e.g. the seed paper's truth ``gamma = 0.1 + 2.9 mu_t(0)``, and
    the implicit gradient differentiates through ``fn`` like any other part of ``G``.

    Parameters
    ----------
    base
        The game whose parameters are replaced.
    functions
        Mapping ``name -> fn(t, mu)``; ``fn`` returns the parameter's per-step shape.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> lq = bm.games.LinearQuadratic(n_states=3)
    >>> game = bm.games.MeanFieldDependent(lq, {"gamma": lambda t, mu: 0.1 + 2.9 * mu[0]})
    >>> sorted(game.parameter_specs())[:2]
    ['base_rate', 'congestion']
    """

    base: Game
    functions: Any  # tuple of (name, fn) pairs after __post_init__ (hashable)

    def __post_init__(self) -> None:
        if not isinstance(self.base, Game):
            raise TypeError(f"base must be a bayes_mfg.games.Game, got {type(self.base).__name__}")
        items = tuple(self.functions.items()) if isinstance(self.functions, dict) else tuple(self.functions)
        specs = self.base.parameter_specs()
        for name, fn in items:
            if name not in specs:
                raise ValueError(f"functions: unknown parameter {name!r} for {type(self.base).__name__}; expected one of {sorted(specs)}")
            if not callable(fn):
                raise TypeError(f"functions[{name!r}] must be callable fn(t, mu), got {type(fn).__name__}")
        if not items:
            raise ValueError("functions must name at least one parameter")
        object.__setattr__(self, "functions", items)

    def __hash__(self) -> int:
        return hash((self.base, self.functions))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MeanFieldDependent) and self.base == other.base and self.functions == other.functions

    # the grid is the base game's
    @property
    def n_states(self) -> int:  # type: ignore[override]
        return self.base.n_states

    @property
    def horizon(self) -> float:  # type: ignore[override]
        return self.base.horizon

    @property
    def n_times(self) -> int:  # type: ignore[override]
        return self.base.n_times

    @property
    def scheme(self):  # type: ignore[override]
        return self.base.scheme

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.base.state_names

    @property
    def neighbours(self):  # type: ignore[override]
        return self.base.neighbours

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        replaced = {name for name, _ in self.functions}
        specs = {k: v for k, v in self.base.parameter_specs().items() if k not in replaced}
        specs["t"] = ParameterSpec((), 0.0, None, "time (filled in with the game's time grid)")
        return specs

    def params(self, **values: Any) -> Params:
        if "t" not in values:
            values = {**values, "t": self.time_grid}
        return super().params(**values)

    def _resolve(self, mu: Array, p: Params) -> Params:
        q = dict(p)
        t = q.pop("t")
        for name, fn in self.functions:
            q[name] = jnp.asarray(fn(t, mu), dtype=mu.dtype)
        return q

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        return self.base.control(u, mu, self._resolve(mu, p))

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return self.base.terminal_cost(mu, self._resolve(mu, p))

    def evaluate(self, mu_path: Array) -> dict[str, Array]:
        """The dependent parameters along a distribution path ``(N, d)``: name -> ``(N, *shape)``."""
        import jax

        t = self.time_grid
        return {name: jax.vmap(fn)(t, mu_path) for name, fn in self.functions}
