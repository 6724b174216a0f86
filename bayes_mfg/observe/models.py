"""The observation models: Dirichlet, Multinomial, Poisson, NegativeBinomial, LogisticNormal, Binomial, Normal, Arrivals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayes_mfg.data import Observations
from bayes_mfg.observe._base import ObservationModel, check_floor, check_param, check_total_count
from bayes_mfg.observe.distributions import (
    MaskedBinomial,
    MaskedDirichlet,
    MaskedLogisticNormal,
    MaskedMultinomial,
    MaskedNegativeBinomial,
    MaskedNormal,
    MaskedPoisson,
    SequentialBinomial,
)

__all__ = ["Arrivals", "Binomial", "Dirichlet", "LogisticNormal", "Multinomial", "NegativeBinomial", "Normal", "Poisson"]

Array = jax.Array


@dataclass(frozen=True)
class Dirichlet(ObservationModel):
    """Dirichlet noise on observed shares (the seed paper's observation model).

    Each row ``x_t ~ Dirichlet(alpha_t)`` with ``alpha_t = concentration * mu_t + alpha_floor``:
    mean ``mu_t`` (up to the floor) and variance ``mu (1 - mu) / (concentration + 1)``, so
    ``1 / concentration`` is the noise level. Partially observed rows use the renormalised
    observed shares under ``Dirichlet(alpha_S)`` (see :class:`MaskedDirichlet`).

    Attributes
    ----------
    concentration
        Known float > 0 or a prior (site ``f"{name}_concentration"``).
    alpha_floor
        Added to every concentration so that zero shares never give ``alpha = 0``.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.Dirichlet(500.0).distribution(np.array([0.5, 0.3, 0.2]))
    >>> d.event_shape, round(float(d.log_prob(np.array([0.5, 0.3, 0.2]))), 3)
    ((3,), 6.128)
    """

    concentration: float | dist.Distribution = 1000.0
    alpha_floor: float = 1e-8

    kind: ClassVar[str] = "fractions"
    param_fields: ClassVar[tuple[str, ...]] = ("concentration",)

    def __post_init__(self) -> None:
        self._validate_params()
        object.__setattr__(self, "alpha_floor", check_floor("Dirichlet", "alpha_floor", self.alpha_floor))

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        alpha = params["concentration"][..., None] * mu + self.alpha_floor
        return MaskedDirichlet(alpha, state_mask)


def as_hashable_total(value: Any, owner: str = "Multinomial", shape: str = "(n_traj, n_times)", max_ndim: int = 2,
                      hint: str = "") -> int | tuple | None:
    """``total_count`` as an int or nested tuples (so the model stays hashable), checked:
    integers >= 0, concrete, at most ``max_ndim`` axes (``shape`` names them in the error)."""
    if value is None:
        return None
    checked = check_total_count(f"{owner}.total_count", value)
    if isinstance(checked, int):
        return checked
    if isinstance(checked, jax.Array):
        raise TypeError(f"{owner}.total_count must be concrete (an int or an integer array), got a traced array")
    ints = np.asarray(checked, dtype=np.int64)
    if ints.ndim > max_ndim:
        raise ValueError(f"{owner}.total_count must broadcast to {shape}, got shape {ints.shape}{hint}")
    return int(ints) if ints.ndim == 0 else _nested_tuple(ints.tolist())


def _nested_tuple(x: Any) -> Any:
    return tuple(_nested_tuple(v) for v in x) if isinstance(x, list) else x


@dataclass(frozen=True)
class Multinomial(ObservationModel):
    """Multinomial sampling of counts: per row ``counts_t ~ Multinomial(total_t, mu_t)``.

    When observing, the likelihood is that of the observed counts given their total
    (aggregation: ``c_S | sum(c_S) ~ Multinomial(sum(c_S), mu_S / sum(mu_S))``), so the row
    totals need not be known and ``total_count`` is not used. When sampling without data
    the number of trials must be given, as the field or as the call's ``total_count``
    argument (which takes precedence); with data and no explicit total, draws use the
    observed row totals.

    Attributes
    ----------
    total_count
        ``None``, an int >= 0, or an integer array broadcastable to ``(n_traj, n_times)``
        (stored as nested tuples so the model stays hashable).

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.Multinomial().distribution(np.array([0.5, 0.5]), total_count=10)
    >>> round(float(np.exp(d.log_prob(np.array([5.0, 5.0])))), 4)
    0.2461
    """

    total_count: int | tuple | None = None

    kind: ClassVar[str] = "counts"

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_count", as_hashable_total(self.total_count))

    def _call_total_count(self, total_count: Any, data: Observations | None) -> Any:
        if total_count is not None:
            return total_count
        if self.total_count is not None:
            return np.asarray(self.total_count, dtype=np.float64)
        if data is not None:
            return np.where(data.mask, data.values, 0.0).sum(-1)
        raise ValueError(
            "Multinomial needs total_count (the number of trials per row) to sample without data: "
            "set Multinomial(total_count=...) or pass total_count=... to the call"
        )

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        if total_count is not None:
            try:
                jnp.broadcast_shapes(jnp.shape(total_count), mu.shape[:-1])
            except ValueError:
                raise ValueError(
                    f"total_count must broadcast to the row shape {mu.shape[:-1]}, got shape {jnp.shape(total_count)}"
                ) from None
        return MaskedMultinomial(mu, total_count, state_mask)


@dataclass(frozen=True)
class Poisson(ObservationModel):
    """Independent Poisson counts: ``counts[x] ~ Poisson(exposure * mu[x] + rate_floor)``.

    ``exposure`` is the population size (the scale linking shares to counts). Unobserved
    states are dropped; no renormalisation (``exposure`` carries the scale).

    Attributes
    ----------
    exposure
        Known float > 0 or a prior (site ``f"{name}_exposure"``).
    rate_floor
        Added to every rate so that zero shares never give rate 0.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.Poisson(exposure=100.0).distribution(np.array([0.2, 0.8]))
    >>> d.mean.round(6).tolist()
    [20.0, 80.0]
    """

    exposure: float | dist.Distribution = 1000.0
    rate_floor: float = 1e-12

    kind: ClassVar[str] = "counts"
    param_fields: ClassVar[tuple[str, ...]] = ("exposure",)
    needs: ClassVar[str] = "nonnegative"

    def __post_init__(self) -> None:
        self._validate_params()
        object.__setattr__(self, "rate_floor", check_floor("Poisson", "rate_floor", self.rate_floor))

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        return MaskedPoisson(params["exposure"][..., None] * mu + self.rate_floor, state_mask)


@dataclass(frozen=True)
class NegativeBinomial(ObservationModel):
    """Independent over-dispersed counts (NB2): mean ``m = exposure * mu[x] + rate_floor``,
    variance ``m + m^2 / concentration``.

    As ``concentration -> inf`` this tends to :class:`Poisson`. Unobserved states are dropped.

    Attributes
    ----------
    exposure
        Known float > 0 or a prior (site ``f"{name}_exposure"``).
    concentration
        Dispersion ``phi``: known float > 0 or a prior (site ``f"{name}_concentration"``).
    rate_floor
        Added to every mean so that zero shares never give mean 0.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np, numpyro.distributions as dist
    >>> obs = bm.observe.NegativeBinomial(exposure=763.0, concentration=dist.Exponential(0.1))
    >>> obs.learned
    ('concentration',)
    >>> d = obs.distribution(np.array([0.9, 0.1, 0.0]), concentration=10.0)
    >>> d.mean.round(3).tolist()
    [686.7, 76.3, 0.0]
    """

    exposure: float | dist.Distribution = 1000.0
    concentration: float | dist.Distribution = 10.0
    rate_floor: float = 1e-12

    kind: ClassVar[str] = "counts"
    param_fields: ClassVar[tuple[str, ...]] = ("exposure", "concentration")
    needs: ClassVar[str] = "nonnegative"

    def __post_init__(self) -> None:
        self._validate_params()
        object.__setattr__(self, "rate_floor", check_floor("NegativeBinomial", "rate_floor", self.rate_floor))

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        mean = params["exposure"][..., None] * mu + self.rate_floor
        return MaskedNegativeBinomial(mean, params["concentration"][..., None], state_mask)


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ReportedCounts(ObservationModel):
    """Reported counts of a flow (incidence): a reporting fraction, day-of-week effects and
    over-dispersion.

    For a flow ``f_t`` (a share of the population per interval, e.g. a
    :class:`~bayes_mfg.observe.Transitions` readout of ``S -> I``) the count reported for the
    interval ending at ``t`` is negative binomial (NB2) with

        mean = population * reporting * exp(w[day(t)]) * f_t + rate_floor,
        variance = mean + mean^2 / concentration,

    where ``w`` are seven day-of-week log effects summing to zero (site
    ``f"{name}_weekday"``, prior ``ZeroSumNormal(weekday_scale)``: they move cases between
    weekdays, not the weekly total) and ``day(t) = (weekday_origin + t - 1) mod 7`` the
    weekday of the report day ``(t - 1, t]`` for times in days (``t = 1`` is the first day).

    Attributes
    ----------
    population
        Size of the population ``N`` (known, > 0), or one size per trajectory ``(n_traj,)``
        (prefectures of a country).
    reporting
        The fraction of events reported, in (0, 1]: a known float or a prior (site
        ``f"{name}_reporting"``, e.g. ``Beta(2, 5)``). It is confounded with the flow's
        level (a larger epidemic seen less completely gives the same counts): it needs an
        informative prior or data on the population's immunity.
    concentration
        Dispersion ``phi`` (> 0): a known float or a prior (site ``f"{name}_concentration"``).
    weekday_origin
        Weekday (0 = Monday ... 6 = Sunday) of the first day ``(0, 1]``; None (default): no
        day-of-week effects. With it the observation times must be whole days.
    weekday_scale
        Prior scale of the log effects ``w`` (default 0.2: about +-20%).
    rate_floor
        Added to every mean so that zero flows never give mean 0.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np, numpyro.distributions as dist
    >>> obs = bm.observe.ReportedCounts(population=1e6, reporting=0.4, concentration=dist.Exponential(0.1),
    ...                                 weekday_origin=3)
    >>> obs.learned
    ('concentration', 'weekday')
    >>> obs.weekdays([1, 2, 3, 4]).tolist()  # Thu, Fri, Sat, Sun
    [3, 4, 5, 6]
    >>> d = obs.distribution(np.array([[1e-3]]), concentration=20.0)
    >>> d.mean.round(3).tolist()
    [[400.0]]
    """

    population: float | tuple[float, ...] = 1.0
    reporting: float | dist.Distribution = 1.0
    concentration: float | dist.Distribution = 10.0
    weekday_origin: int | None = None
    weekday_scale: float = 0.2
    rate_floor: float = 1e-12

    kind: ClassVar[str] = "counts"
    param_fields: ClassVar[tuple[str, ...]] = ("reporting", "concentration")
    needs: ClassVar[str] = "nonnegative"

    def __post_init__(self) -> None:
        if isinstance(self.population, dist.Distribution):
            raise TypeError("ReportedCounts.population must be a known float (the population size), not a prior")
        if np.ndim(self.population) == 0:
            object.__setattr__(self, "population", check_param("ReportedCounts", "population", self.population))
        else:
            pop = np.asarray(self.population, dtype=np.float64)
            if pop.ndim != 1 or pop.size < 1 or not np.all(np.isfinite(pop)) or np.any(pop <= 0):
                raise ValueError("ReportedCounts.population must be a float > 0 or one value > 0 per trajectory "
                                 f"(n_traj,), got {self.population!r}")
            object.__setattr__(self, "population", tuple(float(v) for v in pop))
        self._validate_params()
        r = self.reporting
        if not isinstance(r, dist.Distribution) and r > 1.0:
            raise ValueError(f"ReportedCounts.reporting must be in (0, 1] (a fraction of the events), got {r}")
        if isinstance(r, dist.Distribution):
            upper = getattr(r.support, "upper_bound", None)
            if upper is None or not bool(np.all(np.asarray(upper) <= 1.0)):
                raise ValueError("ReportedCounts.reporting: a prior must have support in (0, 1] (e.g. Beta), "
                                 f"got {type(r).__name__} with support {r.support}")
        if self.weekday_origin is not None:
            w = self.weekday_origin
            if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or not 0 <= w <= 6:
                raise ValueError(f"ReportedCounts.weekday_origin must be None or an int in 0..6 (0 = Monday), got {w!r}")
            object.__setattr__(self, "weekday_origin", int(w))
        object.__setattr__(self, "weekday_scale", check_param("ReportedCounts", "weekday_scale", self.weekday_scale))
        if isinstance(self.weekday_scale, dist.Distribution):
            raise TypeError("ReportedCounts.weekday_scale must be a known float > 0")
        object.__setattr__(self, "rate_floor", check_floor("ReportedCounts", "rate_floor", self.rate_floor))

    @property
    def learned(self) -> tuple[str, ...]:
        return super().learned + (("weekday",) if self.weekday_origin is not None else ())

    @property
    def weekday(self) -> dist.Distribution:
        """The prior of the seven log effects (Monday first): ``ZeroSumNormal(weekday_scale)``."""
        return dist.ZeroSumNormal(self.weekday_scale, event_shape=(7,))

    def site_dims(self, name: str) -> dict[str, tuple[str, ...]]:
        """``{f"{name}_weekday": ("weekday",)}`` with day-of-week effects, else none."""
        return {f"{name}_weekday": ("weekday",)} if self.weekday_origin is not None else {}

    def coords(self, name: str) -> dict[str, list[str]]:
        """``{"weekday": ["Mon", ..., "Sun"]}`` with day-of-week effects, else none."""
        return {"weekday": list(WEEKDAYS)} if self.weekday_origin is not None else {}

    def weekdays(self, times: Any) -> np.ndarray:
        """``(n_times,)`` the weekday (0 = Monday) of the report day ``(t - 1, t]`` of every time."""
        if self.weekday_origin is None:
            raise ValueError("ReportedCounts.weekdays: no weekday_origin was given (no day-of-week effects)")
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        days = np.rint(t)
        if not np.allclose(t, days, atol=1e-9, rtol=0) or np.any(days < 1):
            raise ValueError("times: day-of-week effects need observation times in whole days >= 1 "
                             f"(the report day (t - 1, t]), got {t[:5].tolist()}...")
        return ((self.weekday_origin + days.astype(np.int64) - 1) % 7).astype(np.int64)

    def _population(self, mu: Array) -> Array | float:
        if isinstance(self.population, float):
            return self.population
        n = len(self.population)
        if mu.ndim < 3 or mu.shape[-3] != n:
            raise ValueError(f"ReportedCounts.population has {n} values (one per trajectory) but the flows have "
                             f"shape {mu.shape} (n_traj, n_times, k)")
        return jnp.asarray(self.population, dtype=mu.dtype)[:, None, None]

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        scale = self._population(mu) * params["reporting"][..., None]
        return MaskedNegativeBinomial(scale * mu + self.rate_floor, params["concentration"][..., None], state_mask)

    def __call__(self, name: str, mu: Any, data: Observations | None = None, *, total_count: Any = None,
                 times: Any = None) -> Array:
        """As :meth:`ObservationModel.__call__`; with day-of-week effects the site
        ``f"{name}_weekday"`` is declared first and the times are ``data.times`` (or
        ``times`` when ``data`` is None)."""
        if self.weekday_origin is not None:
            t = data.times if isinstance(data, Observations) else times
            if t is None:
                raise ValueError("times: ReportedCounts with day-of-week effects needs the observation times "
                                 "(pass data or times=)")
            day = self.weekdays(t)
            w = numpyro.sample(f"{name}_weekday", self.weekday)
            mu = jnp.asarray(mu) * jnp.exp(w)[day][:, None]
        return super().__call__(name, mu, data, total_count=total_count)


@dataclass(frozen=True)
class LogisticNormal(ObservationModel):
    """Logistic-normal noise on observed shares: ``x_t = softmax(log(mu_t + mu_floor) + scale * eps)``
    with ``eps ~ N(0, I_d)``.

    Equivalently the additive log-ratios ``log(x_i / x_ref)`` are Gaussian around
    ``log(mu_i / mu_ref)`` with covariance ``scale^2 (I + 1 1^T)``; ``scale`` is roughly the
    relative error of each share. The likelihood is a density on the simplex (Jacobian
    included, see :class:`MaskedLogisticNormal`), so it is comparable with
    :class:`Dirichlet` on the same data. Partially observed rows use the renormalised
    observed shares (the model is closed under sub-compositions).

    Attributes
    ----------
    scale
        Known float > 0 or a prior (site ``f"{name}_scale"``).
    mu_floor
        Added to ``mu`` before the log so that zero shares give a finite location.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.LogisticNormal(scale=0.1).distribution(np.array([0.5, 0.3, 0.2]))
    >>> d.batch_shape, d.event_shape
    ((), (3,))
    """

    scale: float | dist.Distribution = 0.1
    mu_floor: float = 1e-12

    kind: ClassVar[str] = "fractions"
    param_fields: ClassVar[tuple[str, ...]] = ("scale",)

    def __post_init__(self) -> None:
        self._validate_params()
        object.__setattr__(self, "mu_floor", check_floor("LogisticNormal", "mu_floor", self.mu_floor))

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        return MaskedLogisticNormal(jnp.log(mu + self.mu_floor), params["scale"], state_mask)


@dataclass(frozen=True)
class Binomial(ObservationModel):
    """Independent binomial counts: ``y[j] ~ Binomial(total_count, p[j])`` for predicted
    probabilities ``p`` (e.g. ``p = <w, mu_t>`` the share of agents in a region, through a
    :class:`~bayes_mfg.observe.Linear` readout).

    Each entry is a count of successes among ``total_count`` independent agents (the
    attendance of a bar of 42 regulars). Unobserved entries are dropped.

    Attributes
    ----------
    total_count
        Numbers of trials (required): an int >= 0 or an integer array broadcastable to
        ``(n_times, k)``, the same for every trajectory (stored as nested tuples so the model
        stays hashable). Totals that differ between trajectories are refused: they would not
        follow the trajectories through subsampling or into held-out data. For a group's
        entries into an absorbing set (whose numbers at risk shrink with the counts) use
        :class:`Arrivals`.

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.Binomial(total_count=42).distribution(np.array([0.25]))
    >>> d.mean.tolist()
    [10.5]
    """

    total_count: int | tuple | None = None

    kind: ClassVar[str] = "counts"
    needs: ClassVar[str] = "probabilities"

    def __post_init__(self) -> None:
        if self.total_count is None:
            raise ValueError("Binomial.total_count is required: the number of trials of every entry")
        stored = as_hashable_total(self.total_count, "Binomial", "(n_times, k), the same for every trajectory", 2,
                                   " (for a group's entries into an absorbing set use Arrivals)")
        object.__setattr__(self, "total_count", stored)

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        n = np.asarray(self.total_count, dtype=np.float64)
        try:
            np.broadcast_shapes(n.shape, mu.shape)
        except ValueError:
            raise ValueError(f"Binomial.total_count must broadcast to {mu.shape}, got shape {n.shape}") from None
        return MaskedBinomial(mu, jnp.asarray(n, dtype=mu.dtype), state_mask)


@dataclass(frozen=True)
class Normal(ObservationModel):
    """Independent normal noise on real-valued observables: ``y[j] ~ Normal(m[j], scale)``
    for predicted values ``m`` (e.g. a mean position ``<x, mu_t>`` through a
    :class:`~bayes_mfg.observe.Linear` readout). Data of ``kind="values"``.

    Attributes
    ----------
    scale
        Standard deviation: a known float > 0 or a prior (site ``f"{name}_scale"``).

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.Normal(scale=0.1).distribution(np.array([0.5, -1.0]))
    >>> d.mean.tolist(), d.event_shape
    ([0.5, -1.0], (2,))
    """

    scale: float | dist.Distribution = 0.1

    kind: ClassVar[str] = "values"
    param_fields: ClassVar[tuple[str, ...]] = ("scale",)
    needs: ClassVar[str] = "real"

    def __post_init__(self) -> None:
        self._validate_params()

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        return MaskedNormal(mu, params["scale"][..., None], state_mask)


@dataclass(frozen=True)
class Arrivals(ObservationModel):
    """Entries of a group of agents into an absorbing set, counted per observation interval.

    The exact likelihood of a group of ``group_size`` independent agents whose entry times
    follow the flow: with a :class:`~bayes_mfg.observe.Hazard` readout ``h_k`` (the
    probability that an agent still outside at ``t_{k-1}`` enters by ``t_k``), the counts
    are ``c_k ~ Binomial(r_k, h_k)``, ``r_k = group_size - sum_{l<k} c_l``: the multinomial
    of the group's entry intervals, one factor per (trajectory, interval). The numbers at
    risk are read off the counts themselves (:class:`SequentialBinomial`), so the model
    does not depend on the data set and predictive draws are whole groups.

    Attributes
    ----------
    group_size
        Agents per group (an int >= 1, the same for every trajectory).

    Examples
    --------
    >>> import bayes_mfg as bm, numpy as np
    >>> d = bm.observe.Arrivals(group_size=42).distribution(np.array([[0.5], [0.5], [1.0]]))
    >>> d.mean[:, 0].tolist()   # half arrive in the first interval, half the rest in the second
    [21.0, 10.5, 10.5]
    """

    group_size: int = 1

    kind: ClassVar[str] = "counts"
    needs: ClassVar[str] = "hazards"
    rows_independent: ClassVar[bool] = False

    def __post_init__(self) -> None:
        n = self.group_size
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"Arrivals.group_size must be an int >= 1 (agents per group), got {n!r}")
        object.__setattr__(self, "group_size", int(n))

    def _make(self, mu: Array, state_mask: Any, total_count: Any, params: dict[str, Array]) -> dist.Distribution:
        if mu.ndim < 2:
            raise ValueError(f"Arrivals needs rows of intervals: hazards of shape (..., K, k), got {mu.shape}")
        return SequentialBinomial(mu, float(self.group_size), state_mask)
