"""When does the meeting start? The meeting-time game of [Guéant, Lasry & Lions 2011] on a grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from bayes_mfg._validation import bounded, check_positive_float, check_positive_int
from bayes_mfg.games.base import Array, ParameterSpec, Params
from bayes_mfg.games.grid import Grid, GridGame

__all__ = ["MeetingTime", "static_meeting_start"]


def _default_grid() -> Grid:
    return Grid.interval(81, 0.0, 1.0, absorbing=(0,))


@dataclass(frozen=True, kw_only=True)
class MeetingTime(GridGame):
    """Agents travel to a meeting that starts once a quorum has arrived.

    The state is the distance ``x`` to the venue on ``Grid.interval(n, 0, L, absorbing=(0,))``:
    state 0 is "arrived" (absorbing). Agents move by ``dX = v dt + sigma dW`` with the control
    cost ``(kappa / 2) v^2``. The meeting is scheduled at ``t_s`` and starts at
    ``T = max(t_s, first t with mu_t(0) >= theta)``, when a fraction ``theta`` (the quorum) has
    arrived. An agent arriving at ``tau`` pays [Guéant, Lasry & Lions 2011]

        lateness [tau - t_s]^+ + inconvenience [tau - T]^+ + waiting [T - tau]^+,

    written here as flow costs, so that the game is a grid game: while travelling, an agent
    pays ``lateness`` per unit time after ``t_s`` and ``inconvenience`` per unit time after
    the start; once arrived, ``waiting`` per unit time before the start. Arrivals only grow,
    so "after the start" is ``t > t_s`` and ``mu_t(0) >= theta`` at the same time ``t``: the
    cost is local in time. Both indicators are smoothed (logistic, widths ``time_smoothing``
    in time and ``smoothing`` in arrived mass) so that the best-response map is
    differentiable in ``theta``, ``t_s`` and ``mu``. At the horizon an agent still travelling
    pays ``terminal_penalty`` per unit distance.

    Multiplying every cost weight and ``kappa`` by the same factor leaves the equilibrium
    unchanged: from the population alone the weights are identified only as ratios (fix one,
    e.g. ``control_weight``, or put a prior on the ratios).

    Parameters
    ----------
    grid
        ``Grid.interval(n, 0, L, absorbing=(0,))`` (default ``n = 81``, ``L = 1``).
    sigma
        Diffusion of the travel (default 0.1).
    horizon, n_times, scheme
        Time window ``[0, horizon]`` (default 2: the meeting is scheduled at 1) and grid
        (``n_times >= 3``).
    smoothing
        Width of the quorum indicator in arrived mass (default 0.02).
    time_smoothing
        Width of the ``t > t_s`` indicator (default: one time step).

    Examples
    --------
    >>> import numpy as np, bayes_mfg as bm
    >>> game = bm.games.MeetingTime(n_times=41)
    >>> x = game.points[:, 0]
    >>> mu0 = np.where(x > 0, np.exp(-(x - 0.6) ** 2 / (2 * 0.1**2)), 0.0); mu0 /= mu0.sum()
    >>> eq = bm.equilibrium(game, {}, mu0)
    >>> bool(eq.converged), 1.0 < float(game.start_time(eq.mu, game.params())) < 1.5
    (True, True)
    """

    grid: Grid = field(default_factory=_default_grid)
    sigma: float = bounded(0.1, lower=0.0, lower_closed=True)
    horizon: float = 2.0
    n_times: int = 81
    smoothing: float = bounded(0.02, lower=0.0)
    time_smoothing: float | None = bounded(None, lower=0.0, optional=True)

    #: The default solver is damped Picard (``damping=0.5``): Anderson extrapolation stalls on
    #: this map (the quorum switch makes it nearly non-smooth). Measured on 41 cells x 41 times,
    #: 12 meetings x 12 parameter draws: Anderson (undamped, or damped 0.5-0.85) converged in
    #: 119-124 of 144 solves within 500 iterations; Picard(0.5) in all 144 (at most 225 iterations).
    solver_damping: ClassVar[float] = 0.5
    solver_acceleration: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        g = self.grid
        if g.n_dim != 1 or g.periodic[0] or g.lower[0] != 0.0 or 0 not in g.absorbing:
            raise ValueError("MeetingTime needs grid = Grid.interval(n, 0.0, L, absorbing=(0,)): distances to the "
                             "venue, state 0 ('arrived') absorbing")
        check_positive_int("n_times", self.n_times, minimum=3)

    def cost_specs(self) -> dict[str, ParameterSpec]:
        return {
            "lateness": ParameterSpec((), 1.0, 0.0, "cost per unit time of travelling after the scheduled time"),
            "inconvenience": ParameterSpec((), 1.0, 0.0, "cost per unit time of travelling after the actual start"),
            "waiting": ParameterSpec((), 0.5, 0.0, "cost per unit time of waiting at the venue before the start"),
            "quorum": ParameterSpec((), 0.7, 0.0, "theta: the fraction that must arrive for the start", upper=1.0),
            "scheduled": ParameterSpec((), 1.0, None, "t_s: the scheduled start"),
            "terminal_penalty": ParameterSpec((), 5.0, 0.0, "cost per unit distance still to go at the horizon"),
        }

    def params(self, **values: Any) -> Params:
        """As :meth:`MeanFieldGame.params`, plus the clock ``t_n`` (entry ``"clock"``, not a
        parameter: it is always the time grid)."""
        values.pop("clock", None)
        out = super().params(**values)
        out["clock"] = jnp.asarray(self.time_grid, dtype=out["quorum"].dtype)
        return out

    def _started(self, mu: Array, p: Params) -> tuple[Array, Array]:
        """Smoothed ``1{t > t_s}`` and ``1{t > T}`` at the clock ``p["clock"]``."""
        width = self.dt if self.time_smoothing is None else self.time_smoothing
        late = jax.nn.sigmoid((p["clock"] - p["scheduled"]) / width)
        return late, late * jax.nn.sigmoid((mu[0] - p["quorum"]) / self.smoothing)

    def running_cost(self, mu: Array, p: Params) -> Array:
        late, started = self._started(mu, p)
        travelling = p["lateness"] * late + p["inconvenience"] * started
        arrived = p["waiting"] * (1.0 - started)
        return jnp.where(jnp.arange(self.n_states) == 0, arrived, travelling)

    def terminal_cost(self, mu: Array, p: Params) -> Array:
        return p["terminal_penalty"] * jnp.asarray(self.points[:, 0], dtype=mu.dtype)

    def start_time(self, mu: Array, params: Params) -> Array:
        """The start ``T = max(t_s, first t with mu_t(0) >= theta)`` of a flow ``mu`` ``(N, d)``
        (the quorum crossing interpolated linearly between time points; the horizon if the
        quorum is never reached). ``params`` holds ``quorum`` (and ``scheduled``, default the game's),
        constants or paths as made by :meth:`params`."""
        t = jnp.asarray(self.time_grid, dtype=mu.dtype)
        # a constant parameter or its path (game.params(...)): the value at t = 0
        theta = jnp.reshape(jnp.asarray(params["quorum"], dtype=mu.dtype), (-1,))[0]
        default = self.parameter_specs()["scheduled"].default
        scheduled = jnp.reshape(jnp.asarray(params.get("scheduled", default), dtype=mu.dtype), (-1,))[0]
        arrived = mu[:, 0]
        above = arrived >= theta
        k = jnp.argmax(above)  # first time point at or above the quorum
        k0 = jnp.maximum(k - 1, 0)
        frac = jnp.clip((theta - arrived[k0]) / jnp.maximum(arrived[k] - arrived[k0], 1e-300), 0.0, 1.0)
        crossing = jnp.where(k > 0, t[k0] + frac * (t[k] - t[k0]), t[0])
        crossing = jnp.where(jnp.any(above), crossing, t[-1])
        return jnp.maximum(scheduled, crossing)


def static_meeting_start(lateness: float, inconvenience: float, waiting: float, quorum: float,
                         scheduled: float = 1.0, noise: float = 0.1) -> tuple[float, float]:
    """The static meeting game of [Guéant, Lasry & Lions 2011]: ``(target, start)`` in closed form.

    Every agent picks a target time ``s`` and arrives at ``tau = s + noise * eps``
    (``eps ~ N(0, 1)``), paying in expectation ``lateness [tau - t_s]^+ + inconvenience
    [tau - T]^+ + waiting [T - tau]^+``; the meeting starts at ``T = max(t_s, F^{-1}(theta))``
    with ``F`` the arrivals' law. The first-order condition
    ``lateness P(tau > t_s) + inconvenience P(tau > T) = waiting P(tau < T)`` and identical
    agents give the fixed point in closed form. With ``r = (waiting theta - inconvenience
    (1 - theta)) / lateness``:

    * if ``0 < r < 1`` and ``theta > 1 - r``, the quorum sets the start:
      ``s = t_s - noise Phi^{-1}(1 - r)`` and ``T = s + noise Phi^{-1}(theta)``;
    * else, if ``theta <= p = (lateness + inconvenience) / (lateness + inconvenience + waiting)``,
      the meeting starts on time: ``T = t_s``, ``s = t_s - noise Phi^{-1}(p)``.

    This is the reference the dynamic grid game (:class:`MeetingTime`: agents steer a
    diffusion instead of picking a noisy target) is compared with: the same costs and
    quorum, the same direction of every comparative static.

    Parameters
    ----------
    lateness, inconvenience, waiting
        The cost weights (> 0).
    quorum
        ``theta`` in (0, 1).
    scheduled
        ``t_s``.
    noise
        Standard deviation of the arrival around the target (> 0).

    Returns
    -------
    tuple of float
        ``(target s, start T)``.

    Raises
    ------
    ValueError
        For bad arguments, or weights with no equilibrium of this form (``r >= 1``: being
        late is so cheap relative to waiting that every agent wants to arrive after the
        others).

    Examples
    --------
    >>> from bayes_mfg.games import static_meeting_start
    >>> static_meeting_start(1.0, 1.0, 0.5, 0.7)[1]   # waiting is cheap: on time
    1.0
    >>> s, T = static_meeting_start(1.0, 1.0, 1.5, 0.7)  # the quorum sets the start
    >>> round(s, 4), round(T, 4)
    (1.0674, 1.1199)
    """
    from scipy.stats import norm

    for name, v in (("lateness", lateness), ("inconvenience", inconvenience), ("waiting", waiting), ("noise", noise)):
        check_positive_float(name, v)
    if not 0.0 < float(quorum) < 1.0:
        raise ValueError(f"quorum must be in (0, 1), got {quorum!r}")
    a, b, g, q, ts, sd = (float(v) for v in (lateness, inconvenience, waiting, quorum, scheduled, noise))
    r = (g * q - b * (1.0 - q)) / a
    if 0.0 < r < 1.0 and q > 1.0 - r:
        target = ts - sd * float(norm.ppf(1.0 - r))
        return target, target + sd * float(norm.ppf(q))
    p = (a + b) / (a + b + g)
    if q <= p:
        return ts - sd * float(norm.ppf(p)), ts
    raise ValueError(f"no static equilibrium for these weights (r = {r:.3g}): waiting is too dear relative to "
                     "lateness and inconvenience, every agent wants to arrive after the quorum")
