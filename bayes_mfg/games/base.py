"""The game protocol for continuous-time finite-state MFGs with controlled jump rates.

A game is *data about the model*: the number of states ``d``, the time grid
``t_n = n * dt`` (``n = 0..N-1``, ``dt = T / (N - 1)``), the names and shapes of its
parameters, and two pure functions:

* ``control(u, mu, p) -> Control(rates, cost)``: the best response to a value vector
  ``u`` (length d) in the mean field ``mu`` (length d) with the parameters ``p`` of one
  time step: the jump rates ``a*[x, y] >= 0`` (x != y) that minimise the Hamiltonian
  ``f(x, a, mu) + sum_y a[x, y] (u(y) - u(x))``, and the running cost ``f(x, a*, mu)``;
* ``terminal_cost(mu_T, p) -> g`` (length d).

The HJB and Kolmogorov sweeps that turn these into the best-response map are written once,
in :mod:`bayes_mfg.engine.continuous_time`, for every game.

Parameters are a ``dict`` of arrays. Every parameter is a *path*: an array of shape
``(N, *shape)`` holding its value at each time step (a constant is a repeated value).
``game.params(gamma=1.55)`` builds and validates such a dict.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import (
    Bound,
    as_real_array,
    check_declared_fields,
    check_positive_float,
    check_positive_int,
    is_concrete,
)
from bayes_mfg.stepping import Dense, Neighbours, RateStructure, Scheme, as_scheme

Array = jax.Array
Params = dict[str, Array]


class Control(NamedTuple):
    """A best response at one time step.

    Attributes
    ----------
    rates
        ``(d, d)`` jump rates ``a[x, y]``; the diagonal is ignored (the sweeps build the
        generator ``Q = a - diag(sum_y a[x, y])`` themselves).
    cost
        ``(d,)`` running cost ``f(x, a*, mu)`` paid in each state at the chosen rates.

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> game = bm.games.LinearQuadratic(n_states=3)
    >>> c = game.control(jnp.zeros(3), jnp.ones(3) / 3, game.at_step(game.params(), 0))
    >>> c.rates.shape, c.cost.shape
    ((3, 3), (3,))
    """

    rates: Array
    cost: Array


@dataclass(frozen=True)
class ParameterSpec:
    """Description of one game parameter.

    Attributes
    ----------
    shape
        Shape of the parameter at one time step (``()`` for a scalar).
    default
        Default value (broadcast to ``shape``), or ``None`` when the user must give it.
    lower
        Strict lower bound (e.g. ``0.0`` for a positive parameter) or ``None``.
    doc
        One line saying what the parameter is.
    upper
        Strict upper bound (e.g. ``1.0`` for a fraction) or ``None``.
    lower_closed, upper_closed
        Whether the bound itself is allowed (``>=`` / ``<=`` instead of ``>`` / ``<``).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> bm.games.LinearQuadratic(n_states=3).parameter_specs()["gamma"].lower
    0.0
    """

    shape: tuple[int, ...] = ()
    default: float | None = None
    lower: float | None = None
    doc: str = ""
    upper: float | None = None
    lower_closed: bool = False
    upper_closed: bool = False
    dims: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.dims is not None and len(self.dims) != len(self.shape):
            raise ValueError(f"ParameterSpec: dims {self.dims} must name each of the {len(self.shape)} axes of shape "
                             f"{self.shape}")

    def axis_names(self, name: str) -> tuple[str, ...]:
        """The names of the parameter ``name``'s own axes: :attr:`dims`, else ``f"{name}_dim{i}"``."""
        if self.dims is not None:
            return tuple(self.dims)
        return tuple(f"{name}_dim{i}" for i in range(len(self.shape)))

    @property
    def bound(self) -> Bound:
        """The declared range of every entry (:class:`~bayes_mfg._validation.Bound`)."""
        return Bound(self.lower, self.upper, lower_closed=self.lower_closed, upper_closed=self.upper_closed)


class MeanFieldGame(abc.ABC):
    """What every mean field game has: ``d`` states, a time grid and named parameter paths.

    Two families build on it: :class:`Game` (continuous time, controlled jump rates, costs;
    the seed paper's formulation) and :class:`~bayes_mfg.games.DiscreteTimeGame` (discrete
    time, finite actions, rewards, entropy regularisation; MFGLib's formulation). Both are
    solved by the same :func:`~bayes_mfg.engine` (one fixed-point engine over the
    distribution path ``mu``, one implicit gradient) and calibrated by the same
    :class:`~bayes_mfg.CalibrationModel`.

    Subclasses are frozen dataclasses (hashable: a static argument of ``jax.jit``) that
    define ``n_states``, ``horizon`` and ``n_times`` (the ``N`` grid points
    ``t_n = n * horizon / (N - 1)``) and implement :meth:`parameter_specs`.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> isinstance(bm.games.LinearQuadratic(n_states=3), bm.games.MeanFieldGame)
    True
    """

    n_states: int
    horizon: float
    n_times: int

    state_names_default: ClassVar[tuple[str, ...] | None] = None
    #: The default solver's damping (``x <- x + (1 - damping) (G(x) - x)``); games whose best
    #: response is very sensitive to the crowd raise it.
    solver_damping: ClassVar[float] = 0.0
    #: Whether the default solver extrapolates (Anderson) or only relaxes (damped Picard:
    #: slower, but it converges where extrapolation stalls on a non-smooth map).
    solver_acceleration: ClassVar[bool] = True

    @abc.abstractmethod
    def parameter_specs(self) -> dict[str, ParameterSpec]:
        """Names, per-step shapes, defaults and bounds of the parameters."""

    # ----------------------------------------------------------------- rate structure
    @property
    def neighbours(self) -> np.ndarray | None:
        """Which moves the dynamics may use: ``None`` (dense) or an integer array ``(d, K)``.

        Dense games (the default) return rates of shape ``(d, d)`` from ``Game.control``
        (transition kernels ``(d, A, d)`` from ``DiscreteTimeGame.transition``). A game on a
        sparse graph returns ``neighbours[x, k]``, the k-th state reachable from x in one
        move (rows padded with x itself), and rates ``(d, K)`` (kernels ``(d, A, K)``):
        entry ``[x, k]`` (``[x, a, k]``) is for the move x -> neighbours[x, k]. The sweeps
        then cost O(d K) per step instead of O(d^2) (or O(d^3) for a dense implicit solve),
        and no d x d matrix is ever built.
        """
        return None

    @property
    def structure(self) -> RateStructure:
        """The rate structure the sweeps use: :class:`~bayes_mfg.stepping.Dense` or
        :class:`~bayes_mfg.stepping.Neighbours` built from :attr:`neighbours`."""
        nbr = self.neighbours
        return Dense() if nbr is None else Neighbours(nbr)

    # ----------------------------------------------------------------- the grid
    @property
    def dt(self) -> float:
        """Time step ``T / (N - 1)``."""
        return self.horizon / (self.n_times - 1)

    @property
    def time_grid(self) -> np.ndarray:
        """The ``N`` time points ``t_n = n * dt`` (a NumPy array: a constant under ``jit``)."""
        return np.linspace(0.0, self.horizon, self.n_times)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Labels of the states (used for named dimensions in outputs)."""
        if self.state_names_default is not None:
            return self.state_names_default
        return tuple(f"s{x}" for x in range(self.n_states))

    # ----------------------------------------------------------------- parameters
    def dim_coords(self) -> dict[str, list[str]]:
        """Labels of the parameters' named axes (:attr:`ParameterSpec.dims`) for ArviZ
        output, ``{dim: labels}``; ``"state"`` is labelled by :attr:`state_names`."""
        return {}

    def params(self, **values: Any) -> Params:
        """Build a validated parameter dict; every entry becomes a path ``(N, *shape)``.

        Each value may be given with its per-step shape (a constant path) or with shape
        ``(N, *shape)`` (one value per time step). Missing parameters take their default.

        Raises
        ------
        ValueError
            For an unknown name, a missing parameter without default, a wrong shape, NaN/inf
            values or a value outside a parameter's bounds (value checks run only
            on concrete arrays, so the function also works under ``jit``).
        """
        specs = self.parameter_specs()
        unknown = sorted(set(values) - set(specs))
        if unknown:
            raise ValueError(f"params: unknown parameter(s) {unknown} for {type(self).__name__}; expected names {sorted(specs)}")
        dtype = jnp.result_type(float)
        out: Params = {}
        for name, spec in specs.items():
            if name in values:
                value = values[name]
            elif spec.default is not None:
                value = spec.default
            else:
                raise ValueError(f"params['{name}'] is required for {type(self).__name__} ({spec.doc})")
            arr = as_real_array(f"params['{name}']", value, "real numbers (a float or an array of floats)")
            if not jnp.issubdtype(arr.dtype, jnp.floating):
                arr = arr.astype(dtype)
            path_shape = (self.n_times, *spec.shape)
            if arr.shape == spec.shape or (name not in values and arr.ndim == 0):
                arr = jnp.broadcast_to(arr, path_shape)
            elif arr.shape != path_shape:
                raise ValueError(
                    f"params['{name}'] must have shape {spec.shape} (constant) or {path_shape} "
                    f"(one value per time step), got {arr.shape}"
                )
            if is_concrete(arr):
                a = np.asarray(arr)
                if not np.all(np.isfinite(a)):
                    raise ValueError(f"params['{name}'] contains NaN or inf")
                bound = spec.bound
                outside = [v for v in (a.min(), a.max()) if not bound.contains(float(v))]
                if outside:
                    raise ValueError(f"params['{name}'] must be {bound.describe()} ({spec.doc}); "
                                     f"{'min' if outside[0] == a.min() else 'max'} value is {outside[0]:.6g}")
            out[name] = arr
        return out

    def at_step(self, params: Params, n: int | Array) -> Params:
        """Parameters of time step ``n``."""
        return {k: v[n] for k, v in params.items()}


class ContinuousTimeGame(MeanFieldGame):
    """Base class of a continuous-time finite-state mean field game (alias: ``Game``).

    Subclasses are frozen dataclasses (hashable, so a game can be a static argument of
    ``jax.jit``) that define ``n_states``, ``horizon`` (T > 0), ``n_times`` (N >= 2) and
    ``scheme`` (a :class:`~bayes_mfg.stepping.Scheme`, or one of the shorthands ``"implicit"``,
    ``"exponential"``, ``"euler"``, resolved to a scheme object by :meth:`_validate_grid`), and
    implement :meth:`parameter_specs`,
    :meth:`control` and :meth:`terminal_cost`.

    The time-stepping ``scheme`` is part of the discretised game:

    * ``"euler"``: explicit Euler for both HJB and Kolmogorov (the seed paper's scheme);
      keeps ``mu`` a probability vector only while ``dt * max_x sum_y a[x, y] <= 1``.
    * ``"implicit"``: rates frozen over each step, implicit Euler in the linear part,
      ``mu_{n+1} = mu_n (I - dt Q_n)^{-1}`` and ``u_n = (I - dt Q_n)^{-1} (u_{n+1} + dt f_n)``;
      ``(I - dt Q)^{-1}`` is a stochastic matrix for any dt, so the scheme is positivity-
      preserving and mass-conserving for any step size; one d x d solve per step.
    * ``"exponential"``: rates frozen over each step and the linear ODE solved exactly,
      ``mu_{n+1} = mu_n expm(dt Q_n)`` and ``u_n = expm(dt Q) u_{n+1} + int_0^dt expm(s Q) f ds``;
      positivity-preserving and mass-conserving for any step size (dense rates only).
    * ``"patankar"`` (the default, :data:`~bayes_mfg.stepping.DEFAULT_SCHEME`): second order;
      MPRK22 for the Kolmogorov step (positive and mass-conserving for any step size) and
      Richardson-extrapolated implicit Euler for the HJB step (:class:`~bayes_mfg.stepping.Patankar`).
    * ``"midpoint"``: second order; the exponential step with the controls of the step's
      midpoint (dense rates only, :class:`~bayes_mfg.stepping.ExponentialMidpoint`).

    ``docs/schemes.md`` measures their orders and costs.

    Examples
    --------
    A new game is a frozen dataclass with ``parameter_specs``, ``control`` and
    ``terminal_cost``; see :class:`LinearQuadratic` for a complete one.

    >>> import bayes_mfg as bm
    >>> game = bm.games.LinearQuadratic(n_states=4, horizon=2.0, n_times=5)
    >>> game.dt, game.time_grid.tolist()
    (0.5, [0.0, 0.5, 1.0, 1.5, 2.0])
    """

    scheme: Scheme

    def _validate_grid(self) -> None:
        check_declared_fields(self)
        check_positive_int("n_states", self.n_states, minimum=2)
        check_positive_float("horizon", self.horizon)
        check_positive_int("n_times", self.n_times, minimum=2)
        object.__setattr__(self, "scheme", as_scheme(self.scheme))
        self.scheme.check(self.structure)

    # ----------------------------------------------------------------- the model
    @abc.abstractmethod
    def control(self, u: Array, mu: Array, p: Params) -> Control:
        """Best-response rates and running cost for value ``u`` and mean field ``mu``.

        ``p`` holds the parameters of one time step (each of its per-step shape).
        """

    @abc.abstractmethod
    def terminal_cost(self, mu: Array, p: Params) -> Array:
        """Terminal cost ``g(x, mu_T)`` for all states (``p`` at the last time step)."""

    def policy_control(self, u: Array, mu_policy: Array, mu_env: Array, p: Params) -> Control:
        """The rates and running cost of the feedback policy that best responds to
        ``(u, mu_policy)``, played in a population ``mu_env``.

        ``control(u, mu, p)`` is ``policy_control(u, mu, mu, p)``. Telling the two apart
        scores a fixed policy against another flow (the epsilon-Nash check of
        :func:`bayes_mfg.epsilon_nash`): the policy is what the agent chose, the rates it
        meets and the costs it pays are the population's. Optional: the default raises
        ``NotImplementedError``; games whose chosen rates depend on ``u`` alone implement it
        as ``control(u, mu_env, p)``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define policy_control (needed to score its "
                                  "equilibrium policy against another flow)")

Game = ContinuousTimeGame


class FiniteActionGame(ContinuousTimeGame):
    """A game whose controls are a finite set of K actions.

    Subclasses implement :meth:`action_rates` (``(K, d, d)``: the rates out of each state
    when that state plays action k) and :meth:`action_cost` (``(K, d)``), and carry a field
    ``temperature`` (>= 0). The best response minimises the Hamiltonian per state,

        h[k, x] = cost[k, x] + sum_y rates[k, x, y] (u(y) - u(x)),

    exactly (``temperature == 0``: argmin, a piecewise-constant map) or softly
    (``temperature > 0``: the randomised policy ``pi(.|x) = softmax(-h[:, x] / temperature)``,
    whose rates and cost are the pi-averages; this makes the best-response map smooth).

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> isinstance(bm.games.Cybersecurity(), bm.games.FiniteActionGame)
    True
    """

    temperature: float

    @abc.abstractmethod
    def action_rates(self, mu: Array, p: Params) -> Array:
        """``(K, d, d)`` jump rates when state x plays action k (row x of slice k)."""

    @abc.abstractmethod
    def action_cost(self, mu: Array, p: Params) -> Array:
        """``(K, d)`` running cost of playing action k in state x."""

    def policy(self, u: Array, mu: Array, p: Params) -> Array:
        """``(K, d)`` probabilities of each action in each state (one-hot when temperature is 0)."""
        rates = self.action_rates(mu, p)
        du = u[None, :] - u[:, None]
        h = self.action_cost(mu, p) + jnp.sum(rates * du[None], axis=-1)
        if self.temperature == 0:
            return jax.nn.one_hot(jnp.argmin(h, axis=0), h.shape[0], axis=0, dtype=h.dtype)
        return jax.nn.softmax(-h / self.temperature, axis=0)

    def control(self, u: Array, mu: Array, p: Params) -> Control:
        return self.policy_control(u, mu, mu, p)

    def policy_control(self, u: Array, mu_policy: Array, mu_env: Array, p: Params) -> Control:
        pi = self.policy(u, mu_policy, p)
        rates = jnp.einsum("kx,kxy->xy", pi, self.action_rates(mu_env, p))
        cost = jnp.sum(pi * self.action_cost(mu_env, p), axis=0)
        return Control(rates, cost)
