"""Time-stepping schemes of the continuous-time sweeps, as small objects.

With one step's off-diagonal rates ``a`` and running cost ``f`` frozen over the step and the
generator ``Q = a - diag(sum_y a[x, y])``, a scheme defines

* ``backward(structure, u_next, rates, cost, dt) -> u_n`` (the HJB step),
* ``forward(structure, mu, rates, dt) -> mu_next`` (the Kolmogorov step),
* ``transition_matrix(structure, rates, dt) -> P`` with ``mu_next = mu P`` (dense, for
  simulation and flow observations),
* ``unstable(max_jump_probability) -> bool`` (whether a solve with these rates left the
  scheme's domain of validity; reported as ``Status.EULER_UNSTABLE``),
* ``check(structure)`` (refuse a structure the scheme cannot step, at construction),
* ``backward_step`` / ``forward_step`` (one step of a sweep: where the controls are evaluated).

The operations on ``Q`` come from the game's :mod:`~bayes_mfg.stepping.structures` object, so
a scheme works for every rate structure that provides them. Schemes are frozen dataclasses
(hashable: part of the game, a static argument of ``jax.jit``). The three built in:

* :class:`Euler`: ``u_n = u_{n+1} + dt (f + Q u_{n+1})``, ``mu_{n+1} = mu_n + dt mu_n Q``
  (the seed paper's; a probability vector only while ``dt * max out-rate <= 1``);
* :class:`ImplicitEuler`: ``u_n = (I - dt Q)^{-1} (u_{n+1} + dt f)``,
  ``mu_{n+1} = mu_n (I - dt Q)^{-1}``; ``I - dt Q`` is a non-singular M-matrix with unit row
  sums, so ``(I - dt Q)^{-1}`` is stochastic for every dt: mass and positivity are kept;
* :class:`Exponential`: ``u_n = expm(dt Q) u_{n+1} + dt phi_1(dt Q) f``,
  ``mu_{n+1} = mu_n expm(dt Q)`` with ``phi_1(z) = (e^z - 1) / z``: the exact solution of the
  frozen-rate linear ODEs (dense rates only).

These three are first order in dt: the rates are frozen at one end of the step. A sweep
calls :meth:`Scheme.backward_step` and :meth:`Scheme.forward_step`, which choose where the best
response is evaluated (by default at the step's start, then the frozen-rate step above); the
fourth built-in scheme overrides them:

* :class:`ExponentialMidpoint`: the exponential step with the rates and the cost of the
  step's midpoint (from implicit-Euler half-step predictors): second order, stochastic for
  every dt (dense rates only).

A new scheme subclasses :class:`Scheme` and is passed to a game as ``scheme=MyScheme()``; the
strings ``"euler"``, ``"implicit"``, ``"exponential"`` and ``"midpoint"`` are shorthands for
the four above.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import jax
import jax.numpy as jnp

from bayes_mfg.stepping.linalg import expm_generator, generator
from bayes_mfg.stepping.structures import Dense, RateStructure

Array = jax.Array

__all__ = ["Scheme", "Euler", "ImplicitEuler", "Exponential", "ExponentialMidpoint", "Patankar", "SCHEMES",
           "DEFAULT_SCHEME", "as_scheme"]


def _dense_generator(structure: RateStructure, rates: Array) -> tuple[Array, Array]:
    """The dense generator of one step's rates and the identity of its size."""
    q = generator(structure.to_dense(rates))
    return q, jnp.eye(q.shape[-1], dtype=q.dtype)


class Scheme(abc.ABC):
    """A time step of the HJB (backward) and Kolmogorov (forward) equations (see the module).

    Subclasses are frozen dataclasses implementing :meth:`backward` and :meth:`forward`;
    :meth:`transition_matrix`, :meth:`unstable` and :meth:`check` have defaults.

    Examples
    --------
    A scheme written outside the package (the trapezoidal rule on dense rates), used by a game:

    >>> from dataclasses import dataclass
    >>> import jax.numpy as jnp
    >>> import bayes_mfg as bm
    >>> @dataclass(frozen=True)
    ... class Trapezoidal(bm.stepping.Scheme):
    ...     def backward(self, structure, u_next, rates, cost, dt):
    ...         q = bm.stepping.generator(rates); i = jnp.eye(q.shape[0])
    ...         return jnp.linalg.solve(i - dt / 2 * q, (i + dt / 2 * q) @ u_next + dt * cost)
    ...     def forward(self, structure, mu, rates, dt):
    ...         q = bm.stepping.generator(rates); i = jnp.eye(q.shape[0])
    ...         return jnp.linalg.solve((i - dt / 2 * q).T, mu @ (i + dt / 2 * q))
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=40, scheme=Trapezoidal())
    >>> bool(bm.equilibrium(game, {"gamma": 1.55}, [0.5, 0.3, 0.2]).converged)
    True
    """

    #: the shorthand string (``None`` for schemes defined outside the package)
    name: ClassVar[str | None] = None
    #: the order in dt of the global error of smooth solutions (the order table of
    #: ``docs/schemes.md`` measures it)
    order: ClassVar[int] = 1

    def backward_step(self, structure: RateStructure, control: Callable[[Array, Array, Any], Any], u_next: Array,
                      mu_step: tuple[Array, Array], params_step: tuple[Any, Any], dt: float) -> Array:
        """One HJB step ``u_{n+1} -> u_n`` of the sweep, choosing where the controls are evaluated.

        Parameters
        ----------
        structure
            The rate structure.
        control
            ``control(u, mu, p) -> Control`` (off-diagonal rates, running cost): the best
            response to the value ``u`` in the population ``mu`` with parameters ``p``.
        u_next
            ``(d,)`` the value at the step's end ``t_{n+1}``.
        mu_step, params_step
            ``(mu_n, mu_{n+1})`` and ``(p_n, p_{n+1})``: the population and the parameters at
            both ends of the step.
        dt
            The step.

        The default freezes the controls of ``(u_{n+1}, mu_n, p_n)`` over the step (first
        order; the seed paper's indexing) and applies :meth:`backward`.
        """
        c = control(u_next, mu_step[0], params_step[0])
        return self.backward(structure, u_next, c.rates, c.cost, dt)

    def forward_step(self, structure: RateStructure, control: Callable[[Array, Array, Any], Any], mu: Array,
                     u_step: tuple[Array, Array], params_step: tuple[Any, Any], dt: float) -> tuple[Array, Array]:
        """One Kolmogorov step ``mu_n -> mu_{n+1}``: ``(mu_{n+1}, rates)`` with ``rates`` the
        frozen rates the step applied (``mu_{n+1} = forward(mu_n, rates)``: what flows and
        simulations read).

        ``u_step = (u_n, u_{n+1})`` is the value at both ends; the other arguments are those of
        :meth:`backward_step`. The default freezes the controls of ``(u_n, mu_n, p_n)``.
        """
        rates = control(u_step[0], mu, params_step[0]).rates
        return self.forward(structure, mu, rates, dt), rates

    @abc.abstractmethod
    def backward(self, structure: RateStructure, u_next: Array, rates: Array, cost: Array, dt: float) -> Array:
        """``u_n`` from ``u_{n+1}`` with the step's rates and running cost."""

    @abc.abstractmethod
    def forward(self, structure: RateStructure, mu: Array, rates: Array, dt: float) -> Array:
        """``mu_{n+1}`` from ``mu_n`` with the step's rates."""

    def occupation(self, structure: RateStructure, mu: Array, mu_next: Array, rates: Array, dt: float) -> Array:
        """``(d,)`` the time the population spends in each state over the step, as the scheme integrates it.

        ``o(x) ~= integral_{t_n}^{t_{n+1}} mu_t(x) dt``, chosen so that the step is exactly
        ``mu_{n+1} = mu_n + o Q``: the mass moved along the jump ``x -> y`` over the step is
        ``o(x) a[x, y]`` (the flows of :func:`bayes_mfg.engine.transition_flows`). A scheme
        written outside the package implements it to be observed through flows (the
        trapezoidal rule: ``dt (mu_n + mu_{n+1}) / 2``).

        Parameters
        ----------
        structure
            The rate structure.
        mu, mu_next
            ``(d,)`` the distributions at the start and the end of the step.
        rates
            The step's (frozen) rates.
        dt
            The step.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not define occupation(): flows (transition counts) cannot be "
            "read from its steps (implement Scheme.occupation, or use 'implicit', 'exponential' or 'euler')"
        )

    def transition_matrix(self, structure: RateStructure, rates: Array, dt: float) -> Array:
        """``(d, d)`` one-step transition matrix ``P`` with ``mu_{n+1} = mu_n P``.

        The default applies :meth:`forward` to the rows of the identity (exact for every
        scheme that is linear in ``mu``, which all schemes of frozen rates are).
        """
        d = rates.shape[0]
        eye = jnp.eye(d, dtype=rates.dtype)
        return jax.vmap(lambda e: self.forward(structure, e, rates, dt))(eye)

    def unstable(self, max_jump_probability: Array) -> Array:
        """Whether rates with this ``dt * max out-rate`` break the scheme (default: never)."""
        return jnp.zeros(jnp.shape(max_jump_probability), bool)

    def check(self, structure: RateStructure) -> None:
        """Raise a ``ValueError`` if the scheme cannot step rates of this structure."""
        return None  # (default: every one is accepted)


@dataclass(frozen=True)
class Euler(Scheme):
    """Explicit Euler: ``u_n = u_{n+1} + dt (f + Q u_{n+1})``, ``mu_{n+1} = mu_n (I + dt Q)``.

    Stays on the simplex only while ``dt * max_x sum_y a[x, y] <= 1``; a solve past that is
    reported as ``Status.EULER_UNSTABLE``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.stepping import Dense, Euler
    >>> rates = jnp.array([[0.0, 2.0], [1.0, 0.0]])
    >>> Euler().forward(Dense(), jnp.array([1.0, 0.0]), rates, 0.1).tolist()
    [0.8, 0.2]
    """

    name: ClassVar[str] = "euler"

    def backward(self, structure, u_next, rates, cost, dt):
        return u_next + dt * (cost + structure.apply(rates, u_next))

    def forward(self, structure, mu, rates, dt):
        return mu + dt * structure.apply_transpose(rates, mu)

    def occupation(self, structure, mu, mu_next, rates, dt):
        return dt * mu  # mu_{n+1} = mu_n + dt mu_n Q

    def transition_matrix(self, structure, rates, dt):
        q, eye = _dense_generator(structure, rates)
        return eye + dt * q

    def unstable(self, max_jump_probability):
        return max_jump_probability > 1.0


@dataclass(frozen=True)
class ImplicitEuler(Scheme):
    """Implicit Euler in the linear part (rates frozen): stable, mass- and sign-preserving for every dt.

    ``u_n = (I - dt Q)^{-1} (u_{n+1} + dt f)`` and ``mu_{n+1} = mu_n (I - dt Q)^{-1}``; one
    M-matrix solve per step (dense: LU or unrolled elimination; neighbours: Jacobi).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.stepping import Dense, ImplicitEuler
    >>> rates = jnp.array([[0.0, 2.0], [1.0, 0.0]])
    >>> mu = ImplicitEuler().forward(Dense(), jnp.array([1.0, 0.0]), rates, 10.0)
    >>> [round(float(m), 6) for m in mu], round(float(mu.sum()), 12)
    ([0.354839, 0.645161], 1.0)
    """

    name: ClassVar[str] = "implicit"

    def backward(self, structure, u_next, rates, cost, dt):
        return structure.solve(rates, dt, u_next + dt * cost, transpose=False)

    def forward(self, structure, mu, rates, dt):
        return structure.solve(rates, dt, mu, transpose=True)

    def occupation(self, structure, mu, mu_next, rates, dt):
        return dt * mu_next  # mu_{n+1} = mu_n + dt mu_{n+1} Q

    def transition_matrix(self, structure, rates, dt):
        q, eye = _dense_generator(structure, rates)
        return jnp.linalg.inv(eye - dt * q)


@dataclass(frozen=True)
class Exponential(Scheme):
    """Exponential integrator: the frozen-rate linear ODEs solved exactly (dense rates only).

    ``mu_{n+1} = mu_n expm(dt Q)`` and ``u_n = expm(dt Q) u_{n+1} + dt phi_1(dt Q) f``, both
    from one exponential of the augmented matrix ``[[dt Q, dt f], [0, 0]]``. ``expm(dt Q)`` is
    stochastic for any dt; several times the cost of :class:`ImplicitEuler` (the midpoint rows of
    the cost table in ``docs/schemes.md`` use the same exponentials).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.stepping import Dense, Exponential
    >>> rates = jnp.array([[0.0, 1.0], [1.0, 0.0]])
    >>> mu = Exponential().forward(Dense(), jnp.array([1.0, 0.0]), rates, 1.0)
    >>> round(float(mu[1]), 10) == round(float((1 - jnp.exp(-2.0)) / 2), 10)
    True
    """

    name: ClassVar[str] = "exponential"

    def check(self, structure):
        if not isinstance(structure, Dense):
            raise ValueError(f"scheme must be 'implicit' or 'euler' for {structure!r} ('exponential' needs dense rates)")

    def backward(self, structure, u_next, rates, cost, dt):
        d = u_next.shape[0]
        q = generator(rates)
        aug = jnp.zeros((d + 1, d + 1), dtype=u_next.dtype)
        aug = aug.at[:d, :d].set(dt * q).at[:d, d].set(dt * cost)
        e = expm_generator(aug, scale_from=dt * q)
        return e[:d, :d] @ u_next + e[:d, d]

    def forward(self, structure, mu, rates, dt):
        return mu @ self.transition_matrix(structure, rates, dt)

    def occupation(self, structure, mu, mu_next, rates, dt):
        # integral_0^dt mu e^{sQ} ds = mu dt phi_1(dt Q) = (dt phi_1(dt Q^T) mu^T)^T: the last
        # column of expm([[dt Q^T, dt mu], [0, 0]])
        d = mu.shape[0]
        qt = generator(rates).T
        aug = jnp.zeros((d + 1, d + 1), dtype=mu.dtype)
        aug = aug.at[:d, :d].set(dt * qt).at[:d, d].set(dt * mu)
        return expm_generator(aug, scale_from=dt * qt)[:d, d]

    def transition_matrix(self, structure, rates, dt):
        q, eye = _dense_generator(structure, rates)
        p = expm_generator(dt * q)
        # expm of a generator has unit row sums: impose them on the diagonal, so that mass is
        # conserved to rounding whatever the number of squarings
        off = p * (1.0 - eye)
        return off + jnp.diag(1.0 - jnp.sum(off, axis=-1))


def _average(a: Any, b: Any) -> Any:
    """The average of two pytrees of arrays, leaf by leaf (integer and boolean leaves: ``a``)."""
    return jax.tree_util.tree_map(
        lambda x, y: 0.5 * (x + y) if jnp.issubdtype(jnp.result_type(x), jnp.inexact) else x, a, b)


@dataclass(frozen=True)
class ExponentialMidpoint(Exponential):
    """Exponential midpoint rule: second order in dt, stochastic steps for every dt (dense rates only).

    Each step applies the exact solution of the linear ODEs with the rates and the running
    cost frozen at the step's *midpoint* ``t_{n+1/2}`` instead of at one end:

    * HJB: ``u_n = expm(dt Q*) u_{n+1} + dt phi_1(dt Q*) f*`` with ``(Q*, f*)`` the best
      response to ``(u~, (mu_n + mu_{n+1}) / 2, (p_n + p_{n+1}) / 2)``, where ``u~`` is an
      implicit-Euler half step from ``u_{n+1}`` (a first-order predictor of ``u_{n+1/2}``);
    * Kolmogorov: ``mu_{n+1} = mu_n expm(dt Q*)`` with ``Q*`` the best response to
      ``((u_n + u_{n+1}) / 2, mu~, (p_n + p_{n+1}) / 2)``, ``mu~`` an implicit-Euler half step
      from ``mu_n``.

    The midpoint quadrature of the generator's integral has an ``O(dt^3)`` local error and the
    predictors' ``O(dt^2)`` error enters it multiplied by ``dt``: the global error is
    ``O(dt^2)`` for controls smooth in time (a best response that switches, such as a hard
    ``argmin``, can lower the observed order; ``docs/schemes.md`` measures it). ``expm`` of a
    generator is stochastic, so mass is conserved and distributions stay non-negative for every
    dt, as with :class:`ImplicitEuler`. Per step: two exponentials of ``(d + 1)``-matrices and
    two ``d``-solves, about 2x :class:`Exponential`. The frozen-rate operations
    (:meth:`backward`, :meth:`forward`, :meth:`occupation`, :meth:`transition_matrix`) are those
    of :class:`Exponential`, applied to the midpoint rates that :meth:`forward_step` returns.

    Examples
    --------
    Halving dt divides the error of the LQ equilibrium by about 4 (by 2 with implicit Euler):

    >>> import jax.numpy as jnp
    >>> import bayes_mfg as bm
    >>> mu0 = jnp.array([0.6, 0.3, 0.1])
    >>> def value(scheme, n):
    ...     game = bm.games.LinearQuadratic(n_states=3, n_times=n, scheme=scheme)
    ...     return bm.equilibrium(game, {"gamma": 1.55}, mu0, solver=bm.Anderson(tol=1e-13)).value[0]
    >>> ref = value("midpoint", 801)
    >>> e1, e2 = (float(jnp.abs(value("midpoint", n) - ref).max()) for n in (26, 51))
    >>> 3.5 < e1 / e2 < 4.5
    True
    """

    name: ClassVar[str] = "midpoint"
    order: ClassVar[int] = 2

    def check(self, structure):
        if not isinstance(structure, Dense):
            raise ValueError(f"scheme must be 'implicit' or 'euler' for {structure!r} ('midpoint' needs dense rates)")

    def backward_step(self, structure, control, u_next, mu_step, params_step, dt):
        mu_half, p_half = _average(*mu_step), _average(*params_step)
        c = control(u_next, mu_half, p_half)
        u_half = structure.solve(c.rates, dt / 2, u_next + dt / 2 * c.cost, transpose=False)
        c = control(u_half, mu_half, p_half)
        return self.backward(structure, u_next, c.rates, c.cost, dt)

    def forward_step(self, structure, control, mu, u_step, params_step, dt):
        u_half, p_half = _average(*u_step), _average(*params_step)
        mu_half = structure.solve(control(u_half, mu, p_half).rates, dt / 2, mu, transpose=True)
        rates = control(u_half, mu_half, p_half).rates
        return self.forward(structure, mu, rates, dt), rates


@dataclass(frozen=True)
class Patankar(ImplicitEuler):
    """Second order at about twice the cost of implicit Euler, positive and conservative for every dt.

    * Kolmogorov: the modified Patankar-Runge-Kutta scheme MPRK22 (Burchard, Deleersnijder &
      Meister 2003). With ``a`` the best response to ``(u_n, mu_n, p_n)``, a predictor
      ``m = mu_n (I - dt Q(a))^{-1}`` (an implicit Euler step), ``b`` the best response to
      ``(u_{n+1}, m, p_{n+1})`` and the Patankar weights ``r_x = mu_n(x) / m(x)``::

          mu_{n+1} = mu_n (I - dt Q(R))^{-1},   R[x, y] = (r_x a[x, y] + b[x, y]) / 2

      (Heun's trapezoid of the two stages' flows, each source's outflow weighted by its own
      unknown mass). ``R >= 0``, so ``I - dt Q(R)`` is an M-matrix with unit row sums: the step
      is stochastic for every dt. It is the only family of the four that escapes the
      Bolley-Crouzeix barrier (a *linear* one-step method that is positive for every dt is at
      most first order): the weights make it nonlinear in ``mu``. The step applies the
      frozen rates ``R`` by implicit Euler, so :meth:`forward_step` returns ``R`` and flows
      are ``dt mu_{n+1}(x) R[x, y]``. A state whose predicted mass is below ``sqrt(tiny)``
      (``1.5e-154`` in float64: an emptied compartment) gets the weight 1, so that the ratio
      and its derivative stay finite; it moves no appreciable mass either way.
    * HJB: Richardson extrapolation of implicit Euler with the controls frozen at each
      step's start, ``u_n = 2 Phi_{dt/2}(Phi_{dt/2}(u_{n+1})) - Phi_dt(u_{n+1})`` (the first
      half step and the whole step share the controls of ``(u_{n+1}, mu_{n+1}, p_{n+1})``; the
      second half step uses ``(u_{n+1/2}, (mu_n + mu_{n+1}) / 2, (p_n + p_{n+1}) / 2)``). Its
      amplification ``2 / (1 - z/2)^2 - 1 / (1 - z)`` tends to 0 as ``z -> -inf`` (L-stable); a
      value path needs no positivity.

    Three solves backward and two forward per step, each with the game's rate structure
    (dense, chain or neighbours): 1.1-2.5x :class:`ImplicitEuler` per gradient on the grids of
    ``benchmarks/schemes.py``, against 5-25x for :class:`ExponentialMidpoint`. Its observed
    order is measured there and in ``tests/engine/test_second_order.py``.

    Examples
    --------
    One Kolmogorov step far past explicit Euler's limit (``dt * rate = 20``) stays a distribution:

    >>> from types import SimpleNamespace
    >>> import jax.numpy as jnp
    >>> from bayes_mfg.stepping import Dense, Patankar
    >>> rates = jnp.array([[0.0, 2.0], [1.0, 0.0]])
    >>> def best_response(u, mu, p):
    ...     return SimpleNamespace(rates=rates, cost=jnp.zeros(2))
    >>> mu, applied = Patankar().forward_step(Dense(), best_response, jnp.array([1.0, 0.0]), (None, None),
    ...                                       (None, None), 10.0)
    >>> [round(float(m), 6) for m in mu], round(float(mu.sum()), 12), bool(applied.min() >= 0)
    ([0.135802, 0.864198], 1.0, True)
    """

    name: ClassVar[str] = "patankar"
    order: ClassVar[int] = 2

    def backward_step(self, structure, control, u_next, mu_step, params_step, dt):
        c = control(u_next, mu_step[1], params_step[1])
        whole = self.backward(structure, u_next, c.rates, c.cost, dt)
        u_half = self.backward(structure, u_next, c.rates, c.cost, dt / 2)
        c2 = control(u_half, _average(*mu_step), _average(*params_step))
        return 2.0 * self.backward(structure, u_half, c2.rates, c2.cost, dt / 2) - whole

    def forward_step(self, structure, control, mu, u_step, params_step, dt):
        a = control(u_step[0], mu, params_step[0]).rates
        pred = self.forward(structure, mu, a, dt)
        b = control(u_step[1], pred, params_step[1]).rates
        # Patankar weights mu_n / m; a (nearly) empty state moves (nearly) no mass, so below
        # sqrt(tiny) its weight is 1: the ratio and its derivative -mu / m^2 stay finite
        floor = jnp.sqrt(jnp.finfo(mu.dtype).tiny)
        weight = jnp.where(pred > floor, mu / jnp.maximum(pred, floor), 1.0)
        rates = 0.5 * (weight[:, None] * a + b)
        return self.forward(structure, mu, rates, dt), rates


SCHEMES: dict[str, type[Scheme]] = {cls.name: cls for cls in (ImplicitEuler, Exponential, Euler, ExponentialMidpoint,
                                                              Patankar)}

#: The scheme of every continuous-time game unless it is given: second order at about the
#: cost of implicit Euler (``docs/schemes.md`` has the order and cost tables behind the choice).
DEFAULT_SCHEME = "patankar"


def as_scheme(scheme: Any) -> Scheme:
    """A :class:`Scheme` from a scheme object or one of the shorthands ``"implicit"``,
    ``"exponential"``, ``"euler"``.

    Parameters
    ----------
    scheme
        A :class:`Scheme` (returned as is) or a shorthand.

    Returns
    -------
    Scheme

    Examples
    --------
    >>> from bayes_mfg.stepping import as_scheme
    >>> as_scheme("implicit"), as_scheme("euler").name
    (ImplicitEuler(), 'euler')

    Raises
    ------
    ValueError, TypeError
        For an unknown name or a value that is neither.
    """
    if isinstance(scheme, Scheme):
        return scheme
    if isinstance(scheme, str):
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {tuple(SCHEMES)} or a bayes_mfg.stepping.Scheme, got {scheme!r}")
        return SCHEMES[scheme]()
    raise TypeError(f"scheme must be a name in {tuple(SCHEMES)} or a bayes_mfg.stepping.Scheme, got {type(scheme).__name__}")
