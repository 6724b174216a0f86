"""Mobility games: agents move between zones; effort and destination congestion are costs.

* :class:`MobilityNetwork`: ``d`` zones with a full matrix of base rates ``q``.
* :class:`UrbanMobility`: named city zones plus one unobserved "outside" state, with
  structured, time-varying base rates (inflow into the city, outflow from it, transfers
  between zones split by attraction) and zone closures for counterfactuals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import jax.numpy as jnp

from bayes_mfg.games.base import Array, Control, Game, ParameterSpec, Params
from bayes_mfg.stepping import DEFAULT_SCHEME, Scheme


def congestion_best_response(
    q: Array, u: Array, crowd: Array, b: Array, c: Array, allowed: Array | None = None
) -> Control:
    """Best response and running cost of the congestion-aware mobility cost.

    With base rates ``q`` (diagonal ignored), value ``u``, crowding ``crowd[y]`` of each
    destination, effort weight ``b > 0`` and congestion weight ``c``::

        f(x, a)    = b * sum_{y != x} (a[x, y] - q[x, y])^2 + c * sum_{y != x} crowd[y] a[x, y]
        a*[x, y]   = max(0, q[x, y] - (c crowd[y] + u(y) - u(x)) / (2 b))

    (``a*`` minimises ``f(x, a) + sum_y a[x, y] (u(y) - u(x))`` over ``a >= 0``, one
    quadratic per pair.) With ``allowed`` (``(d,)``, 1 = may be entered, 0 = closed) the
    rates into closed states are 0 (pass ``q`` already zero there). Returns the rates ``a*``
    and the cost ``f(x, a*)``.
    """
    off = 1.0 - jnp.eye(q.shape[0], dtype=u.dtype)
    q = q * off
    du = u[None, :] - u[:, None]
    rates = jnp.maximum(0.0, q - (c * crowd[None, :] + du) / (2.0 * b)) * off
    if allowed is not None:
        rates = rates * allowed[None, :]
    cost = b * jnp.sum(off * (rates - q) ** 2, axis=1) + c * (rates @ crowd)
    return Control(rates, cost)


@dataclass(frozen=True, kw_only=True)
class MobilityNetwork(Game):
    """Agents move between ``d`` zones; deviating from habitual rates costs effort and
    crowded destinations cost congestion ([Thöni et al. 2026])::

        f(x, a, mu) = b * sum_{y != x} (a[x, y] - q[x, y])^2 + c * sum_{y != x} mu(y) a[x, y]
        g = 0
        a*[x, y]    = max(0, q[x, y] - (c mu(y) + u(y) - u(x)) / (2 b))

    Parameters ``q`` (``(d, d)`` base rates, diagonal ignored), ``b > 0`` (effort weight)
    and ``c >= 0`` (congestion weight); all may vary in time. With ``c = 0`` the value
    stays identically 0 and ``a* = q``: the no-game baseline (forward Kolmogorov with
    rates ``q``).

    Parameters
    ----------
    n_states
        Number of zones ``d``.
    horizon, n_times, scheme
        Time grid and time-stepping scheme (see :class:`Game`).

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> game = bm.games.MobilityNetwork(n_states=3, n_times=30)
    >>> eq = bm.equilibrium(game, game.params(q=np.full((3, 3), 0.5), c=2.0), [0.6, 0.3, 0.1])
    >>> bool(eq.converged)
    True
    """

    n_states: int
    horizon: float = 1.0
    n_times: int = 50
    scheme: Scheme | str = DEFAULT_SCHEME

    def __post_init__(self) -> None:
        self._validate_grid()

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        d = self.n_states
        return {
            "q": ParameterSpec((d, d), 0.5, 0.0, "base (habitual) jump rates", lower_closed=True,
                               dims=("state", "destination")),
            "b": ParameterSpec((), 1.0, 0.0, "effort cost weight"),
            "c": ParameterSpec((), 0.5, 0.0, "destination congestion weight", lower_closed=True),
        }

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        return congestion_best_response(p["q"], u, mu, p["b"], p["c"])

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return jnp.zeros_like(mu)


@dataclass(frozen=True, kw_only=True)
class UrbanMobility(Game):
    """City zones plus an unobserved "outside" state, with structured time-varying base rates.

    States: the ``K`` zones ``zone_names`` then ``"outside"`` (index ``K``). With the
    destination weights ``w = attraction / sum(attraction)`` and the open indicator
    ``o`` (``o_K = 1``: the outside never closes), the base rates are::

        q[outside, z](t) = inflow(t) * w_z * o_z          (arrivals into the city)
        q[z, outside](t) = outflow(t)                     (departures)
        q[z, z'](t)      = transfer(t) * w_z' * o_z'      (moves between zones, z != z')

    and agents best-respond to them with the congestion cost of :class:`MobilityNetwork`,
    crowding counted in the zones only (``crowd = (mu_0, ..., mu_{K-1}, 0)``)::

        f(x, a, mu) = b * sum_y (a[x, y] - q[x, y])^2 + c * sum_{y zone} mu(y) a[x, y],  g = 0
        a*[x, y]    = o_y * max(0, q[x, y] - (c crowd(y) + u(y) - u(x)) / (2 b))

    With ``c = 0`` the value is identically 0 and ``a* = q``: the no-game baseline
    (Kolmogorov dynamics with the same structured rates). Setting ``open[z] = 0`` over part
    of the horizon closes zone ``z`` (no one can enter it): a counterfactual.

    Parameters
    ----------
    zone_names
        Names of the ``K >= 1`` zones (the outside state is added last).
    horizon, n_times, scheme
        Time grid (e.g. hours of the day) and time-stepping scheme.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.UrbanMobility(zone_names=("north", "south"), horizon=10.0, n_times=41)
    >>> game.state_names
    ('north', 'south', 'outside')
    >>> eq = bm.equilibrium(game, game.params(c=0.0), [0.1, 0.1, 0.8])
    >>> float(abs(eq.value).max())  # no congestion: no game, the value is 0
    0.0
    """

    zone_names: tuple[str, ...] = ("zone0", "zone1")
    horizon: float = 15.0
    n_times: int = 61
    scheme: Scheme | str = DEFAULT_SCHEME

    def __post_init__(self) -> None:
        names = self.zone_names
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise TypeError(f"zone_names must be a sequence of zone names, got {type(names).__name__}")
        names = tuple(str(z) for z in names)
        if not names or len(set(names)) != len(names) or "outside" in names:
            raise ValueError(f"zone_names must be >= 1 distinct names other than 'outside', got {self.zone_names!r}")
        object.__setattr__(self, "zone_names", names)
        self._validate_grid()

    @property
    def n_states(self) -> int:  # type: ignore[override]
        return len(self.zone_names) + 1

    @property
    def n_zones(self) -> int:
        return len(self.zone_names)

    @property
    def state_names(self) -> tuple[str, ...]:
        return (*self.zone_names, "outside")

    def dim_coords(self) -> dict[str, list[str]]:
        return {"zone": list(self.zone_names)}

    def parameter_specs(self) -> dict[str, ParameterSpec]:
        k = self.n_zones
        return {
            "inflow": ParameterSpec((), 0.2, 0.0, "rate of arrival into the city (per unit time)"),
            "outflow": ParameterSpec((), 0.5, 0.0, "rate of departure from a zone to outside"),
            "transfer": ParameterSpec((), 0.2, 0.0, "rate of moving from a zone to another zone"),
            "attraction": ParameterSpec((k,), 1.0, 0.0, "relative attraction of each zone (normalised to sum 1)",
                                        dims=("zone",)),
            "b": ParameterSpec((), 1.0, 0.0, "effort cost weight (deviation from habitual rates)"),
            "c": ParameterSpec((), 0.5, 0.0, "congestion cost weight (crowded destination zones)", lower_closed=True),
            "open": ParameterSpec((k,), 1.0, 0.0, "1 = zone open, 0 = closed (no entry)", 1.0, lower_closed=True,
                                  upper_closed=True, dims=("zone",)),
        }

    def base_rates(self, p: Params) -> tuple[Array, Array]:
        """``(q, o)``: the base-rate matrix ``(K + 1, K + 1)`` and the open indicator of
        every state (``(K + 1,)``, 1 for outside) at one time step."""
        k = self.n_zones
        dtype = jnp.result_type(p["inflow"], float)
        o = jnp.concatenate([jnp.asarray(p["open"], dtype), jnp.ones((1,), dtype)])
        w = p["attraction"] / jnp.sum(p["attraction"])
        wz = jnp.concatenate([w, jnp.zeros((1,), dtype)]) * o
        is_zone = jnp.concatenate([jnp.ones((k,), dtype), jnp.zeros((1,), dtype)])
        outside = 1.0 - is_zone
        q = (outside[:, None] * p["inflow"] * wz[None, :]
             + is_zone[:, None] * outside[None, :] * p["outflow"]
             + is_zone[:, None] * p["transfer"] * wz[None, :])
        return q * (1.0 - jnp.eye(k + 1, dtype=dtype)), o

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        q, o = self.base_rates(p)
        crowd = mu * jnp.concatenate([jnp.ones((self.n_zones,), mu.dtype), jnp.zeros((1,), mu.dtype)])
        return congestion_best_response(q, u, crowd, p["b"], p["c"], allowed=o)

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return jnp.zeros_like(mu)
