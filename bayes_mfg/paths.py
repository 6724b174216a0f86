"""Parameter paths ``gamma(t, x, mu)`` as NumPyro sub-models.

Every calibrated game parameter is a *path*: its value at each point of the game's time
grid, possibly different for each observed trajectory. A :class:`ParameterPath` is a
small NumPyro sub-model. Called inside a model as ``values = path(name, spec, ctx)``, it
declares its sample / param / deterministic sites (all named with the prefix ``name``) and
returns the parameter values with shape ``(n_traj, N, *spec.shape)``; trajectory ``j``
uses ``values[j]`` (shape ``(N, *spec.shape)``, what :meth:`Game.params` expects).

Four paths are provided:

* :class:`Constant`: one value for all times and trajectories, with a prior on the value;
* :class:`TimeSpline`: a clamped B-spline in time whose coefficients follow a Gaussian
  random walk (a smoothness prior), written non-centred for NUTS;
* :class:`Neural`: an equinox MLP of ``t / T`` and the observed shares ``mu_t`` of each
  trajectory (a point network trained by SVI, or Bayesian weights);
* :class:`Hierarchical`: per-trajectory paths drawn around a population Constant or
  TimeSpline.

Links
-----
Spline and neural paths compute an unconstrained ``eta`` and map it to the parameter's
scale with a link. With ``link="auto"`` a parameter with a lower bound (``spec.lower`` not
None) gets ``softplus`` and an unbounded one ``identity``. For the positive links::

    value = (spec.lower or 0) + floor + link(eta),     link in {softplus, exp}

so a bounded parameter stays at least ``floor`` above its bound for any ``eta``; for
``identity``, ``value = eta`` (no bound is enforced, also when ``spec.lower`` is set).
:func:`inverse_link` inverts this map (used to centre priors and initialise networks at a
chosen value).
"""

from __future__ import annotations

import abc
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.contrib.module import eqx_module, random_eqx_module
from numpyro.distributions import constraints

from bayes_mfg._validation import check_choice, check_positive_float, check_positive_int, is_concrete
from bayes_mfg.games.base import MeanFieldGame, ParameterSpec

__all__ = [
    "PathContext",
    "ParameterPath",
    "Constant",
    "TimeSpline",
    "Neural",
    "Hierarchical",
    "as_path",
    "bspline_basis",
    "apply_link",
    "inverse_link",
    "LINKS",
]

Array = jax.Array

#: Accepted values of the ``link`` field of :class:`TimeSpline` and :class:`Neural`.
LINKS = ("auto", "identity", "softplus", "exp")

#: Activations accepted by name in :class:`Neural` (a callable is accepted as well).
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "softplus": jax.nn.softplus,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
    "sigmoid": jax.nn.sigmoid,
    "elu": jax.nn.elu,
}

NEURAL_INPUTS = ("t", "mu")


# ============================================================================ context
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
    >>> ctx = bm.paths.PathContext.from_game(bm.games.LinearQuadratic(n_states=3, n_steps=20), n_trajectories=4)
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
            ``mu_input`` does not have shape ``(n_traj, game.n_steps, game.n_states)``.
        """
        if not isinstance(game, MeanFieldGame):
            raise TypeError(f"game must be a bayes_mfg.games.Game or DiscreteTimeGame, got {type(game).__name__}")
        mu = None if mu_input is None else jnp.asarray(mu_input)
        if n_trajectories is None:
            if mu is None:
                raise ValueError("PathContext.from_game needs mu_input or n_trajectories")
            n_trajectories = int(mu.shape[0]) if mu.ndim == 3 else -1
        ctx = cls(game.time_grid, float(game.horizon), mu, n_trajectories)
        ctx = _check_context(ctx)
        if mu is not None and mu.shape[-1] != game.n_states:
            raise ValueError(f"mu_input must have {game.n_states} states (last axis), got shape {mu.shape}")
        return ctx


def _check_context(ctx: Any) -> PathContext:
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


# ============================================================================ links
def _resolve_link(link: str, spec: ParameterSpec) -> str:
    check_choice("link", link, LINKS)
    if link == "auto":
        return "identity" if spec.lower is None else "softplus"
    return link


def apply_link(eta: Any, spec: ParameterSpec, link: str = "auto", floor: float = 1e-3) -> Array:
    """Map an unconstrained ``eta`` to the parameter's scale.

    ``identity``: ``eta``; ``softplus`` / ``exp``: ``(spec.lower or 0) + floor + link(eta)``
    (``"auto"`` picks softplus when ``spec.lower`` is set, identity otherwise).

    Parameters
    ----------
    eta
        Unconstrained values (any shape).
    spec
        The parameter's :class:`~bayes_mfg.games.ParameterSpec` (its lower bound).
    link
        One of :data:`LINKS`.
    floor
        Margin kept above the lower bound by the positive links.

    Returns
    -------
    jax.Array
        Values on the parameter's scale, the shape of ``eta``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> spec = bm.games.LinearQuadratic(n_states=3).parameter_specs()["gamma"]  # lower bound 0
    >>> float(bm.paths.apply_link(-50.0, spec))  # softplus link: never below lower + floor
    0.001
    """
    kind = _resolve_link(link, spec)
    eta = jnp.asarray(eta)
    if kind == "identity":
        return eta
    base = (0.0 if spec.lower is None else float(spec.lower)) + float(floor)
    return base + (jax.nn.softplus(eta) if kind == "softplus" else jnp.exp(eta))


def inverse_link(
    value: Any, spec: ParameterSpec, link: str = "auto", floor: float = 1e-3, *, argname: str = "value"
) -> np.ndarray:
    """The ``eta`` at which :func:`apply_link` returns ``value`` (NumPy, elementwise).

    Parameters
    ----------
    value
        Values on the parameter's scale.
    spec, link, floor
        As for :func:`apply_link`.
    argname
        The name used for ``value`` in error messages.

    Returns
    -------
    numpy.ndarray
        ``eta`` with ``apply_link(eta) == value``.

    Raises
    ------
    ValueError
        For a positive link and a ``value`` at or below ``(spec.lower or 0) + floor``, or a
        non-finite ``value``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> spec = bm.games.LinearQuadratic(n_states=3).parameter_specs()["gamma"]
    >>> eta = bm.paths.inverse_link(1.55, spec)
    >>> round(float(bm.paths.apply_link(eta, spec)), 12)
    1.55
    """
    kind = _resolve_link(link, spec)
    v = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{argname} must be finite, got {value!r}")
    if kind == "identity":
        return v
    base = (0.0 if spec.lower is None else float(spec.lower)) + float(floor)
    y = v - base
    if np.any(y <= 0):
        raise ValueError(
            f"{argname} must be > lower + floor = {base:.6g} for the {kind} link, got min value {v.min():.6g}"
        )
    if kind == "softplus":
        # log(expm1(y)) written so that it neither overflows for large y nor loses digits for small y
        return y + np.log(-np.expm1(-y))
    return np.log(y)


# ============================================================================ B-splines
def _clamped_knots(n_knots: int, degree: int, horizon: float) -> np.ndarray:
    inner = np.linspace(0.0, horizon, n_knots - degree + 1)
    return np.concatenate([np.zeros(degree), inner, np.full(degree, horizon)])


def _cox_de_boor(t: Any, knots: np.ndarray, n_knots: int, degree: int, xp: Any) -> Any:
    """``(len(t), n_knots)`` basis by the Cox-de Boor recursion, with numpy or jax.numpy."""
    t = t[:, None]
    left, right = knots[:-1], knots[1:]
    basis = xp.where((t >= left) & (t < right), 1.0, 0.0)
    # the right end belongs to the last non-empty interval (so that rows still sum to 1 there)
    last = np.zeros(len(knots) - 1)
    last[n_knots - 1] = 1.0
    basis = xp.where(t >= knots[-1], last, basis)
    for k in range(1, degree + 1):
        m = len(knots) - 1 - k
        lo, hi = knots[:m], knots[k : k + m]
        lo1, hi1 = knots[1 : 1 + m], knots[k + 1 : k + 1 + m]
        den_a = hi - lo
        den_b = hi1 - lo1
        a = xp.where(den_a > 0, (t - lo) / np.where(den_a > 0, den_a, 1.0), 0.0)
        b = xp.where(den_b > 0, (hi1 - t) / np.where(den_b > 0, den_b, 1.0), 0.0)
        basis = a * basis[:, :m] + b * basis[:, 1 : m + 1]
    return basis


@functools.lru_cache(maxsize=64)
def _basis_cached(times_bytes: bytes, n: int, horizon: float, n_knots: int, degree: int) -> np.ndarray:
    times = np.frombuffer(times_bytes, dtype=np.float64, count=n)
    out = _cox_de_boor(times, _clamped_knots(n_knots, degree, horizon), n_knots, degree, np)
    out.setflags(write=False)
    return out


def bspline_basis(times: Any, n_knots: int, degree: int = 3, horizon: float | None = None) -> np.ndarray:
    """Clamped B-spline basis on ``[0, T]`` evaluated at ``times``.

    The knot vector repeats 0 and T ``degree + 1`` times and spaces the interior knots
    evenly, so there are ``n_knots`` basis functions (coefficients); the first equals 1 at
    t = 0 and the last at t = T. Every row is non-negative and sums to 1 (partition of
    unity), so equal coefficients give a flat path.

    Parameters
    ----------
    times
        1-D times in ``[0, T]``.
    n_knots
        Number of basis functions, ``>= degree + 1``.
    degree
        Polynomial degree (0 = piecewise constant, 3 = cubic).
    horizon
        T; defaults to ``times[-1]``.

    Returns
    -------
    numpy.ndarray
        ``(len(times), n_knots)``, read-only (cached per grid).

    Examples
    --------
    >>> import numpy as np, bayes_mfg as bm
    >>> B = bm.paths.bspline_basis(np.linspace(0.0, 2.0, 5), n_knots=4, degree=3)
    >>> B.shape, np.allclose(B.sum(axis=1), 1.0)
    ((5, 4), True)
    """
    degree = check_positive_int("degree", degree, minimum=0)
    n_knots = check_positive_int("n_knots", n_knots, minimum=degree + 1)
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array, got shape {t.shape}")
    horizon = check_positive_float("horizon", t[-1] if horizon is None else horizon)
    tol = 1e-9 * horizon
    if not np.all(np.isfinite(t)) or t.min() < -tol or t.max() > horizon + tol:
        raise ValueError(
            f"times must lie in [0, horizon] = [0, {horizon:.6g}], got range [{t.min():.6g}, {t.max():.6g}]"
        )
    t = np.ascontiguousarray(np.clip(t, 0.0, horizon))
    return _basis_cached(t.tobytes(), t.size, horizon, n_knots, degree)


def _grid_basis(ctx: PathContext, n_knots: int, degree: int) -> Array:
    """The basis on the context's grid: cached NumPy when the grid is concrete, jax otherwise."""
    if is_concrete(ctx.times) and is_concrete(ctx.horizon):
        return jnp.asarray(bspline_basis(np.asarray(ctx.times), n_knots, degree, float(ctx.horizon)))
    if not is_concrete(ctx.horizon):
        raise ValueError("ctx.horizon must be a concrete number (not traced) for a TimeSpline path")
    horizon = float(ctx.horizon)
    knots = _clamped_knots(n_knots, degree, horizon)
    t = jnp.clip(jnp.asarray(ctx.times), 0.0, horizon)
    return _cox_de_boor(t, knots, n_knots, degree, jnp)


# ============================================================================ helpers
def _dims(name: str, spec: ParameterSpec) -> tuple[str, ...]:
    return tuple(f"{name}_dim{i}" for i in range(len(spec.shape)))


def _freeze(x: Any, argname: str) -> float | tuple:
    """A hashable copy of a float or array-like (a nested tuple)."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{argname} must be a real number or an array of them, got {type(x).__name__}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{argname} must be finite, got {x!r}")
    return float(a) if a.ndim == 0 else tuple(_freeze(v, argname) for v in a)


def _as_shape(value: Any, shape: tuple[int, ...], argname: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    try:
        return np.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(
            f"{argname} has shape {a.shape}, which does not broadcast to the parameter shape {shape}"
        ) from None


def _std_normal(shape: tuple[int, ...]) -> dist.Distribution:
    d = dist.Normal(0.0, 1.0)
    return d.expand(shape).to_event(len(shape)) if shape else d


def _check_distribution(argname: str, value: Any) -> None:
    if not isinstance(value, dist.Distribution):
        raise TypeError(f"{argname} must be a numpyro.distributions.Distribution, got {type(value).__name__}")


def _check_scalar_distribution(argname: str, value: Any) -> None:
    _check_distribution(argname, value)
    if value.batch_shape + value.event_shape != ():
        raise ValueError(
            f"{argname} must be a scalar distribution, got batch shape {value.batch_shape} "
            f"and event shape {value.event_shape}"
        )


def _lower_bound_of(support: Any) -> Any:
    while isinstance(support, constraints.independent):
        support = support.base_constraint
    if support is constraints.real:
        return -np.inf
    return getattr(support, "lower_bound", None)


def _broadcast_path(values: Array, n_traj: int, n_steps: int, shape: tuple[int, ...]) -> Array:
    return jnp.broadcast_to(values, (n_traj, n_steps, *shape))


# ============================================================================ base
class ParameterPath(abc.ABC):
    """A parameter path ``gamma(t, mu)``: a NumPyro sub-model returning parameter values.

    Examples
    --------
    The four paths of this module subclass it:

    >>> import bayes_mfg as bm
    >>> all(issubclass(p, bm.paths.ParameterPath) for p in (bm.paths.Constant, bm.paths.TimeSpline, bm.paths.Neural, bm.paths.Hierarchical))
    True
    """

    @abc.abstractmethod
    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        """Declare this path's NumPyro sites (all named with prefix ``name``) and return the
        values, shape ``(n_traj, N, *spec.shape)`` (possibly a broadcast array)."""

    @property
    def uses_mu_input(self) -> bool:
        """Whether the path reads the observed shares ``ctx.mu_input`` (a (t, mu) network)."""
        return False

    @abc.abstractmethod
    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        """Each site this path declares -> names of its non-sample dims (for ArviZ).

        ``"trajectory"`` labels per-trajectory axes, ``f"{name}_knot"`` spline
        coefficients and ``f"{name}_dim{i}"`` the parameter's own axes. Neural weights are
        not listed.
        """


class _LinkedPath(ParameterPath):
    """Shared link handling of the paths with an unconstrained ``eta``."""

    link: str
    floor: float

    def _check_link_fields(self) -> None:
        check_choice("link", self.link, LINKS)
        object.__setattr__(self, "floor", check_positive_float("floor", self.floor, allow_zero=True))

    def resolved_link(self, spec: ParameterSpec) -> str:
        """The link used for ``spec`` (``"auto"`` resolved)."""
        return _resolve_link(self.link, spec)

    def apply_link(self, eta: Any, spec: ParameterSpec) -> Array:
        """``eta`` -> parameter values with this path's link and floor."""
        return apply_link(eta, spec, self.link, self.floor)

    def inverse_link(self, value: Any, spec: ParameterSpec, *, argname: str = "value") -> np.ndarray:
        """The ``eta`` giving ``value`` with this path's link and floor."""
        return inverse_link(value, spec, self.link, self.floor, argname=argname)


# ============================================================================ Constant
@dataclass(frozen=True)
class Constant(ParameterPath):
    """One value for all times and trajectories, with a prior on the value itself.

    Site ``name``: the value, shape ``spec.shape``, drawn from ``prior`` (a scalar prior is
    expanded to ``spec.shape`` with independent components).

    Parameters
    ----------
    prior
        A NumPyro distribution on the parameter's own scale. Default: ``LogNormal(0, 1)``
        shifted to start at ``spec.lower`` for a bounded parameter (``lower + exp(N(0, 1))``),
        ``Normal(0, 1)`` for an unbounded one. For a bounded parameter the prior's support
        must lie above ``spec.lower`` (checked when the support says so).

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> path = bm.paths.Constant(prior=dist.LogNormal(0.0, 0.5))
    >>> model = bm.CalibrationModel(bm.games.LinearQuadratic(n_states=3), {"gamma": path}, bm.observe.Dirichlet(500.0))
    >>> model.parameter_names
    ('gamma',)
    """

    prior: dist.Distribution | None = None

    def __post_init__(self) -> None:
        if self.prior is not None:
            _check_distribution("prior", self.prior)

    def prior_for(self, spec: ParameterSpec) -> dist.Distribution:
        """The prior of site ``name`` for ``spec``: event shape ``spec.shape``.

        Raises
        ------
        ValueError
            If the prior's shape does not fit ``spec.shape`` or its support reaches below
            ``spec.lower``.
        """
        shape = tuple(spec.shape)
        if self.prior is None:
            if spec.lower is None:
                base: dist.Distribution = dist.Normal(0.0, 1.0)
            elif float(spec.lower) == 0.0:
                base = dist.LogNormal(0.0, 1.0)
            else:
                shift = dist.transforms.AffineTransform(float(spec.lower), 1.0, domain=constraints.positive)
                base = dist.TransformedDistribution(dist.LogNormal(0.0, 1.0), shift)
            return base.expand(shape).to_event(len(shape)) if shape else base
        prior = self.prior
        if spec.lower is not None:
            bound = _lower_bound_of(prior.support)
            if bound is not None and is_concrete(bound) and np.any(np.asarray(bound) < float(spec.lower)):
                raise ValueError(
                    f"prior has support {prior.support}, which reaches below the parameter's lower bound "
                    f"{spec.lower}; use a prior supported above it (e.g. LogNormal)"
                )
        full = tuple(prior.batch_shape) + tuple(prior.event_shape)
        ev = tuple(prior.event_shape)
        if full == shape:
            return prior.to_event(len(prior.batch_shape)) if prior.batch_shape else prior
        if len(ev) <= len(shape) and shape[len(shape) - len(ev) :] == ev:
            batch = shape[: len(shape) - len(ev)]
            try:
                ok = tuple(np.broadcast_shapes(tuple(prior.batch_shape), batch)) == batch
            except ValueError:
                ok = False
            if ok:
                return prior.expand(batch).to_event(len(batch)) if batch else prior
        raise ValueError(f"prior has shape {full} (batch + event), which does not fit the parameter shape {shape}")

    def _sample_value(self, name: str, spec: ParameterSpec) -> Array:
        return numpyro.sample(name, self.prior_for(spec))

    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        ctx = _check_context(ctx)
        value = self._sample_value(name, spec)
        return _broadcast_path(value, ctx.n_trajectories, ctx.times.shape[0], tuple(spec.shape))

    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        return {name: _dims(name, spec)}


# ============================================================================ TimeSpline
@dataclass(frozen=True)
class TimeSpline(_LinkedPath):
    """A smooth path in time: a clamped B-spline with a random-walk prior on its coefficients.

    Model (independently for each component of a non-scalar parameter)::

        eta(t)  = sum_k B_k(t) w_k            (B: clamped B-spline basis on [0, T])
        w_0     ~ Normal(loc, scale)
        w_k - w_{k-1} ~ Normal(0, tau),  k = 1..n_knots-1
        value(t) = link(eta(t))               (see the module docstring)

    Since the basis rows sum to 1, equal coefficients give a flat path; ``tau`` is the
    typical change of ``eta`` between neighbouring knots.

    Two equivalent parameterisations (the prior is the same; the posterior geometry that
    NUTS sees is not):

    * non-centred (default): ``z ~ Normal(0, 1)``, ``w = loc + cumsum([scale z_0, tau z_1, ...])``.
      Best when the data are weak everywhere, and required with a ``smoothness``
      hyperprior (no funnel between ``tau`` and the increments);
    * centred (``centered=True``): ``w ~ MultivariateNormal(loc, C)`` with the random-walk
      covariance ``C[k, l] = scale^2 + tau^2 min(k, l)``. Best when the data pin down a
      few knots sharply and leave others to the prior (a likelihood that constrains single
      coefficients is axis-aligned in ``w`` but oblique in ``z``, and an oblique narrow
      direction forces NUTS to tiny steps and long trees).

    Sites: non-centred ``f"{name}_z"`` (sample, ``(n_knots, *shape)``) and
    ``f"{name}_weights"`` (deterministic ``w``, same shape); centred ``f"{name}_w"`` (sample,
    ``(*shape, n_knots)``: knots last, as the multivariate normal's event) and
    ``f"{name}_weights"`` (deterministic, ``(n_knots, *shape)``); when ``smoothness`` is a
    distribution, ``f"{name}_smoothness"`` (sample, scalar).

    Parameters
    ----------
    n_knots
        Number of spline coefficients, ``>= degree + 1``.
    degree
        Spline degree (3: cubic).
    link, floor
        Link to the parameter's scale (``"auto"``, ``"identity"``, ``"softplus"``,
        ``"exp"``) and the margin kept above a lower bound.
    loc, scale
        Prior mean and standard deviation of the first coefficient (on the ``eta`` scale);
        ``loc`` may be an array broadcasting to the parameter's shape.
    smoothness
        ``tau``: a float >= 0 or a scalar distribution (a hyperprior, e.g. HalfNormal).
    center
        If given, a value on the parameter's own scale at which to centre the prior:
        ``loc = inverse_link(center)`` (computed with the parameter's spec). See
        :meth:`around`. Cannot be combined with a non-zero ``loc``.
    centered
        Sample the coefficients ``w`` directly (see above) instead of the increments.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> path = bm.paths.TimeSpline.around(1.0, n_knots=6, smoothness=0.3)  # prior centred on gamma(t) = 1
    >>> game = bm.games.LinearQuadratic(n_states=3, n_steps=20)
    >>> model = bm.CalibrationModel(game, {"gamma": path}, bm.observe.Dirichlet(500.0))
    >>> sorted(model.site_dims())[:3]
    ['gamma_path', 'gamma_weights', 'gamma_z']
    """

    n_knots: int = 8
    degree: int = 3
    link: str = "auto"
    floor: float = 1e-3
    loc: Any = 0.0
    scale: float = 1.0
    smoothness: Any = 0.5
    center: Any = None
    centered: bool = False

    def __post_init__(self) -> None:
        degree = check_positive_int("degree", self.degree, minimum=0)
        if not isinstance(self.centered, bool):
            raise TypeError(f"centered must be a bool, got {type(self.centered).__name__}")
        check_positive_int("n_knots", self.n_knots, minimum=degree + 1)
        self._check_link_fields()
        object.__setattr__(self, "loc", _freeze(self.loc, "loc"))
        object.__setattr__(self, "scale", check_positive_float("scale", self.scale))
        if isinstance(self.smoothness, dist.Distribution):
            _check_scalar_distribution("smoothness", self.smoothness)
            if self.centered:
                raise ValueError("centered=True needs a fixed smoothness (a hyperprior on it makes a funnel); "
                                 "use the non-centred default with a smoothness distribution")
        else:
            object.__setattr__(self, "smoothness", check_positive_float("smoothness", self.smoothness, allow_zero=True))
        if self.center is not None:
            object.__setattr__(self, "center", _freeze(self.center, "center"))
            if np.any(np.asarray(self.loc) != 0.0):
                raise ValueError("center and loc cannot both be set (center sets loc = inverse_link(center))")

    @classmethod
    def around(cls, value: Any, **kwargs: Any) -> TimeSpline:
        """A TimeSpline whose prior is centred on the flat path at ``value``.

        ``loc`` becomes ``inverse_link(value)`` for the parameter's spec (at call time), so
        with all ``z = 0`` the path equals ``value``. Other fields are passed through.
        """
        if "loc" in kwargs:
            raise TypeError("around() sets loc from value; do not pass loc")
        return cls(center=value, **kwargs)

    def loc_for(self, spec: ParameterSpec) -> np.ndarray:
        """``loc`` broadcast to ``spec.shape`` (from ``center`` when that is set)."""
        if self.center is not None:
            loc = self.inverse_link(_as_shape(self.center, tuple(spec.shape), "center"), spec, argname="center")
            return np.asarray(loc)
        return _as_shape(self.loc, tuple(spec.shape), "loc")

    def basis(self, ctx: PathContext) -> Array:
        """``(N, n_knots)`` spline basis on the context's grid."""
        return _grid_basis(ctx, self.n_knots, self.degree)

    def _sample_weights(self, name: str, spec: ParameterSpec) -> Array:
        shape = tuple(spec.shape)
        loc = self.loc_for(spec)
        if isinstance(self.smoothness, dist.Distribution):
            tau = numpyro.sample(f"{name}_smoothness", self.smoothness)
        else:
            tau = self.smoothness
        if self.centered:
            k = np.arange(self.n_knots)
            cov = self.scale**2 + tau**2 * np.minimum(k[:, None], k[None, :])
            prior = dist.MultivariateNormal(jnp.asarray(loc)[..., None] * jnp.ones(self.n_knots),
                                            scale_tril=jnp.asarray(np.linalg.cholesky(cov)))
            w = numpyro.sample(f"{name}_w", prior.to_event(len(shape)) if shape else prior)
            return numpyro.deterministic(f"{name}_weights", jnp.moveaxis(w, -1, 0))
        z = numpyro.sample(f"{name}_z", _std_normal((self.n_knots, *shape)))
        steps = jnp.concatenate([self.scale * z[:1], tau * z[1:]], axis=0)
        w = jnp.asarray(loc) + jnp.cumsum(steps, axis=0)
        return numpyro.deterministic(f"{name}_weights", w)

    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        ctx = _check_context(ctx)
        w = self._sample_weights(name, spec)
        eta = jnp.tensordot(self.basis(ctx), w, axes=1)  # (N, *shape)
        values = self.apply_link(eta, spec)
        return _broadcast_path(values, ctx.n_trajectories, ctx.times.shape[0], tuple(spec.shape))

    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        knot = (f"{name}_knot", *_dims(name, spec))
        out = {f"{name}_weights": knot}
        if self.centered:
            out[f"{name}_w"] = (*_dims(name, spec), f"{name}_knot")
        else:
            out[f"{name}_z"] = knot
        if isinstance(self.smoothness, dist.Distribution):
            out[f"{name}_smoothness"] = ()
        return out


# ============================================================================ Neural
@dataclass(frozen=True)
class Neural(_LinkedPath):
    """A trajectory-wise path ``gamma(t, mu_t)``: an equinox MLP of time and observed shares.

    For trajectory j at grid time t_n the network sees the features::

        [t_n / T]  (if "t" in inputs)  ++  mu_input[j, n, :]  (if "mu" in inputs)

    and outputs ``prod(spec.shape)`` numbers, reshaped to ``spec.shape`` and mapped by the
    link. With ``inputs=("t",)`` the path is the same for all trajectories.

    The network is an ``equinox.nn.MLP`` registered through :mod:`numpyro.contrib.module`:

    * ``bayesian=False``: ``eqx_module(f"{name}_net", net)``, one param site
      ``f"{name}_net$params"`` (the network's arrays, fitted by SVI / MAP);
    * ``bayesian=True``: ``random_eqx_module(f"{name}_net", net, prior)``: a sample site per
      weight array, ``f"{name}_net/layers[i].weight"`` and ``.../layers[i].bias`` with
      ``Normal(0, prior_scale)`` priors (the last bias centred on ``inverse_link(init_value)``
      when ``init_value`` is given), plus the unused param site above.

    The eager network is built once per input/output size and parameter spec,
    deterministically from ``seed`` (also when the model is traced by ``jit``).

    Parameters
    ----------
    inputs
        Non-empty subset of ``("t", "mu")``.
    hidden
        Hidden layer widths, all equal (``eqx.nn.MLP`` has one width); ``()`` is a linear map.
    activation
        Name in :data:`ACTIVATIONS` or a callable.
    link, floor
        See the module docstring.
    bayesian, prior_scale
        Bayesian weights with ``Normal(0, prior_scale)`` priors.
    init_value
        If given (parameter scale, broadcasting to ``spec.shape``), the last layer's bias is
        set to ``inverse_link(init_value)`` and its weights scaled by ``init_weight_scale``,
        so the initial path is nearly flat at ``init_value``.
    seed
        Seed of the initial weights.
    init_weight_scale
        Factor on the last layer's initial weights when ``init_value`` is given.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> path = bm.paths.Neural(inputs=("t", "mu"), hidden=(16, 16), init_value=1.0)  # a point network (SVI)
    >>> path.uses_mu_input
    True
    """

    inputs: tuple[str, ...] = ("t", "mu")
    hidden: tuple[int, ...] = (16, 16)
    activation: str | Callable[[Array], Array] = "tanh"
    link: str = "auto"
    floor: float = 1e-3
    bayesian: bool = False
    prior_scale: float = 1.0
    init_value: Any = None
    seed: int = 0
    init_weight_scale: float = 0.1
    _nets: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        inputs = (self.inputs,) if isinstance(self.inputs, str) else self.inputs
        try:
            inputs = tuple(inputs)
        except TypeError:
            raise TypeError(f"inputs must be a tuple of names from {NEURAL_INPUTS}, got {self.inputs!r}") from None
        if not inputs:
            raise ValueError(f"inputs must be a non-empty subset of {NEURAL_INPUTS}, got {self.inputs!r}")
        bad = [x for x in inputs if x not in NEURAL_INPUTS]
        if bad or len(set(inputs)) != len(inputs):
            raise ValueError(f"inputs must be distinct names from {NEURAL_INPUTS}, got {self.inputs!r}")
        object.__setattr__(self, "inputs", inputs)
        try:
            hidden = tuple(self.hidden)
        except TypeError:
            raise TypeError(f"hidden must be a tuple of layer widths, got {self.hidden!r}") from None
        for h in hidden:
            check_positive_int("hidden", h)
        if len(set(hidden)) > 1:
            raise ValueError(f"hidden widths must all be equal (equinox.nn.MLP has one width), got {hidden}")
        object.__setattr__(self, "hidden", hidden)
        if isinstance(self.activation, str):
            check_choice("activation", self.activation, tuple(ACTIVATIONS))
        elif not callable(self.activation):
            raise TypeError(f"activation must be a name in {tuple(ACTIVATIONS)} or a callable, got {self.activation!r}")
        self._check_link_fields()
        if not isinstance(self.bayesian, (bool, np.bool_)):
            raise TypeError(f"bayesian must be a bool, got {type(self.bayesian).__name__}")
        object.__setattr__(self, "prior_scale", check_positive_float("prior_scale", self.prior_scale))
        if self.init_value is not None:
            object.__setattr__(self, "init_value", _freeze(self.init_value, "init_value"))
        check_positive_int("seed", self.seed, minimum=0)
        scale = check_positive_float("init_weight_scale", self.init_weight_scale, allow_zero=True)
        object.__setattr__(self, "init_weight_scale", scale)

    # ------------------------------------------------------------------ network
    def _activation_fn(self) -> Callable[[Array], Array]:
        return ACTIVATIONS[self.activation] if isinstance(self.activation, str) else self.activation

    def _init_eta(self, spec: ParameterSpec, out_size: int) -> np.ndarray | None:
        if self.init_value is None:
            return None
        value = _as_shape(self.init_value, tuple(spec.shape), "init_value")
        return np.asarray(self.inverse_link(value, spec, argname="init_value")).reshape(out_size)

    def network(self, in_size: int, spec: ParameterSpec) -> eqx.nn.MLP:
        """The eager (initial) network for ``in_size`` features and ``spec`` (cached)."""
        out_size = max(1, math.prod(spec.shape))
        key = (in_size, out_size, tuple(spec.shape), spec.lower)
        net = self._nets.get(key)
        if net is None:
            # built eagerly even inside a jit trace, so the cache never holds tracers
            with jax.ensure_compile_time_eval():
                net = eqx.nn.MLP(
                    in_size,
                    out_size,
                    self.hidden[0] if self.hidden else 1,
                    len(self.hidden),
                    activation=self._activation_fn(),
                    key=jax.random.key(self.seed),
                )
                eta0 = self._init_eta(spec, out_size)
                if eta0 is not None:
                    last = net.layers[-1]
                    net = eqx.tree_at(
                        lambda m: (m.layers[-1].weight, m.layers[-1].bias),
                        net,
                        (last.weight * self.init_weight_scale, jnp.asarray(eta0, dtype=last.bias.dtype)),
                    )
            self._nets[key] = net
        return net

    def _prior(self, net: eqx.nn.MLP, spec: ParameterSpec) -> Any:
        base = dist.Normal(0.0, self.prior_scale)
        eta0 = self._init_eta(spec, int(net.layers[-1].bias.shape[0]))
        if eta0 is None:
            return base
        last_bias = f"layers[{len(net.layers) - 1}].bias"

        def prior(site: str, shape: tuple[int, ...]) -> dist.Distribution:
            if site == last_bias:
                return dist.Normal(jnp.asarray(eta0), self.prior_scale)
            return base

        return prior

    @property
    def uses_mu_input(self) -> bool:
        return "mu" in self.inputs

    def features(self, ctx: PathContext) -> Array:
        """``(n_traj, N, n_features)`` network inputs, or ``(N, 1)`` when only time is used."""
        ctx = _check_context(ctx)
        t = jnp.asarray(ctx.times) / ctx.horizon
        if "mu" not in self.inputs:
            return t[:, None]
        if ctx.mu_input is None:
            raise ValueError('ctx.mu_input is None but this Neural path has "mu" in its inputs')
        mu = jnp.asarray(ctx.mu_input)
        if "t" not in self.inputs:
            return mu
        tt = jnp.broadcast_to(t[None, :, None], (*mu.shape[:2], 1)).astype(mu.dtype)
        return jnp.concatenate([tt, mu], axis=-1)

    # ------------------------------------------------------------------ model
    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        ctx = _check_context(ctx)
        shape = tuple(spec.shape)
        x = self.features(ctx)
        in_size = int(x.shape[-1])
        net0 = self.network(in_size, spec)
        if self.bayesian:
            net = random_eqx_module(f"{name}_net", net0, prior=self._prior(net0, spec))
        else:
            net = eqx_module(f"{name}_net", net0)
        flat = x.reshape(-1, in_size)
        eta = jax.vmap(net)(flat).reshape(*x.shape[:-1], *shape)
        values = self.apply_link(eta, spec)
        return _broadcast_path(values, ctx.n_trajectories, ctx.times.shape[0], shape)

    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        return {}


# ============================================================================ Hierarchical
@dataclass(frozen=True)
class Hierarchical(ParameterPath):
    """Per-trajectory paths drawn around a population path (non-centred).

    With a :class:`TimeSpline` population (coefficients ``w``, ``(n_knots, *shape)``)::

        w_j = w + sigma z_j,   z_j ~ Normal(0, 1),   value_j(t) = link(B(t) w_j)

    With a :class:`Constant` population (value ``theta``)::

        theta_j = lower + exp(log(theta - lower) + sigma z_j)   (spec.lower set: log-normal)
        theta_j = theta + sigma z_j                             (unbounded)

    For a bounded parameter with a Constant population the per-trajectory values stay
    strictly above ``spec.lower`` as long as ``exp(sigma z_j)`` does not underflow (float64:
    ``sigma z_j > -700`` or so, far beyond what the priors put mass on); no ``floor`` is
    added so that ``sigma = 0`` reproduces the population value exactly.

    Sites: the population's own sites (same ``name`` prefix), ``f"{name}_spread"``
    (sample ``sigma ~ scale``, scalar; absent when ``scale`` is a number),
    ``f"{name}_offsets"`` (sample ``z``: ``(n_traj, n_knots, *shape)`` or
    ``(n_traj, *shape)``), and the deterministic ``f"{name}_trajectory_weights"`` (spline)
    or ``f"{name}_trajectory_values"`` (constant). The offsets carry an explicit leading
    trajectory axis (no plate), so the path can be used inside or beside the model's own
    ``"trajectory"`` plate.

    Parameters
    ----------
    population
        A :class:`Constant` or :class:`TimeSpline` (a distribution is read as
        ``Constant(prior=...)``).
    scale
        Prior of the spread ``sigma`` (scalar distribution with non-negative support;
        default ``HalfNormal(0.5)``), or a fixed number >= 0.

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> path = bm.paths.Hierarchical(dist.LogNormal(0.0, 0.5), scale=dist.HalfNormal(0.2))
    >>> type(path.population).__name__
    'Constant'
    """

    population: Any
    scale: Any = None

    def __post_init__(self) -> None:
        pop = Constant(prior=self.population) if isinstance(self.population, dist.Distribution) else self.population
        if not isinstance(pop, (Constant, TimeSpline)):
            raise TypeError(f"population must be a Constant or a TimeSpline, got {type(self.population).__name__}")
        object.__setattr__(self, "population", pop)
        if self.scale is None:
            object.__setattr__(self, "scale", dist.HalfNormal(0.5))
        elif isinstance(self.scale, dist.Distribution):
            _check_scalar_distribution("scale", self.scale)
            bound = _lower_bound_of(self.scale.support)
            if bound is not None and is_concrete(bound) and float(bound) < 0:
                raise ValueError(
                    f"scale must have non-negative support (e.g. HalfNormal), got support {self.scale.support}"
                )
        else:
            object.__setattr__(self, "scale", check_positive_float("scale", self.scale, allow_zero=True))

    def _spread(self, name: str) -> Any:
        if isinstance(self.scale, dist.Distribution):
            return numpyro.sample(f"{name}_spread", self.scale)
        return self.scale

    def __call__(self, name: str, spec: ParameterSpec, ctx: PathContext) -> Array:
        ctx = _check_context(ctx)
        shape = tuple(spec.shape)
        n_traj = ctx.n_trajectories
        pop = self.population
        if isinstance(pop, TimeSpline):
            w = pop._sample_weights(name, spec)
            sigma = self._spread(name)
            z = numpyro.sample(f"{name}_offsets", _std_normal((n_traj, pop.n_knots, *shape)))
            wj = numpyro.deterministic(f"{name}_trajectory_weights", w[None] + sigma * z)
            eta = jnp.tensordot(wj, pop.basis(ctx), axes=((1,), (1,)))  # (n_traj, *shape, N)
            eta = jnp.moveaxis(eta, -1, 1)
            return pop.apply_link(eta, spec)
        theta = jnp.asarray(pop._sample_value(name, spec))
        sigma = self._spread(name)
        z = numpyro.sample(f"{name}_offsets", _std_normal((n_traj, *shape)))
        if spec.lower is not None:
            lower = float(spec.lower)
            theta_j = lower + jnp.exp(jnp.log(theta - lower)[None] + sigma * z)
        else:
            theta_j = theta[None] + sigma * z
        theta_j = numpyro.deterministic(f"{name}_trajectory_values", theta_j)
        return _broadcast_path(theta_j[:, None], n_traj, ctx.times.shape[0], shape)

    def site_dims(self, name: str, spec: ParameterSpec) -> dict[str, tuple[str, ...]]:
        out = dict(self.population.site_dims(name, spec))
        if isinstance(self.scale, dist.Distribution):
            out[f"{name}_spread"] = ()
        dims = _dims(name, spec)
        if isinstance(self.population, TimeSpline):
            per = ("trajectory", f"{name}_knot", *dims)
            out[f"{name}_offsets"] = per
            out[f"{name}_trajectory_weights"] = per
        else:
            per = ("trajectory", *dims)
            out[f"{name}_offsets"] = per
            out[f"{name}_trajectory_values"] = per
        return out


# ============================================================================ as_path
def as_path(x: Any) -> ParameterPath:
    """``x`` itself for a :class:`ParameterPath`, ``Constant(prior=x)`` for a distribution.

    Parameters
    ----------
    x
        A :class:`ParameterPath` or a NumPyro ``Distribution``.

    Returns
    -------
    ParameterPath

    Raises
    ------
    TypeError
        For anything else.

    Examples
    --------
    >>> import bayes_mfg as bm, numpyro.distributions as dist
    >>> bm.paths.as_path(dist.LogNormal(0.0, 1.0))
    Constant(prior=<numpyro.distributions.continuous.LogNormal object at ...>)
    """
    if isinstance(x, ParameterPath):
        return x
    if isinstance(x, dist.Distribution):
        return Constant(prior=x)
    raise TypeError(f"x must be a ParameterPath or a numpyro Distribution, got {type(x).__name__}")
