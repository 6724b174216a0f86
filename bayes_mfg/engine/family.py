"""Game families, dispatched by registration.

A *family* is the part of the engine that knows how a kind of game turns a mean-field path
into a best response: the map ``G`` whose fixed point is the equilibrium, and what the
solution reports besides ``mu`` (values, rates or a policy, a stability number). The solve
driver (:func:`bayes_mfg.equilibrium`), the solvers, the adjoints and the calibration model
only ever call a family through this protocol, so a new kind of game is one subclass of
:class:`~bayes_mfg.games.MeanFieldGame`, one :class:`Family` and one
:func:`register_family` call — no edit to the engine.

Examples
--------
>>> import bayes_mfg as bm
>>> bm.engine.family_of(bm.games.LinearQuadratic(n_states=3)).__class__.__name__
'_ContinuousTime'
"""

from __future__ import annotations

import abc
import functools
from typing import Any, NamedTuple

import jax

from bayes_mfg.engine.solvers import Anderson, Picard
from bayes_mfg.games.base import MeanFieldGame, Params

Array = jax.Array

__all__ = ["Family", "Solution", "register_family", "family_of"]


class Solution(NamedTuple):
    """What a family reports at a solved fixed point ``mu``.

    Attributes
    ----------
    value
        ``(N, d)`` value function (cost-to-go, or soft value for reward games).
    rates
        The jump rates of the forward sweep, or ``None``.
    policy
        ``(N, d, A)`` policy, or ``None``.
    max_jump_probability
        A scalar stability number (``dt * max out-rate`` for continuous-time games, 0 else).
    unstable
        Whether the solution left the discretisation's domain (reported as
        ``Status.EULER_UNSTABLE``).

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> game = bm.games.NeighbourLinearQuadratic.ring(6, n_times=11)
    >>> params, mu0 = game.params(), jnp.full(6, 1 / 6)
    >>> mu = bm.equilibrium(game, params, mu0).mu
    >>> sol = bm.engine.family_of(game).solution(game, mu, params, mu0)
    >>> sol.value.shape, sol.rates.shape, sol.policy is None
    ((11, 6), (10, 6, 2), True)
    """

    value: Array
    rates: Array | None
    policy: Array | None
    max_jump_probability: Array
    unstable: Array


class Family(abc.ABC):
    """How a kind of game is solved: the map G and what its solution reports.

    Implement :meth:`best_response_map` and :meth:`solution`; override
    :meth:`default_solver` or :meth:`map_fn` (to expose more operations to solvers) if need
    be; then :func:`register_family` it for a game class.

    Examples
    --------
    A toy family (a population drifting towards state 0 at a given rate) and its game:

    >>> from dataclasses import dataclass
    >>> import jax.numpy as jnp
    >>> import bayes_mfg as bm
    >>> @dataclass(frozen=True)
    ... class Drift(bm.games.MeanFieldGame):
    ...     n_states: int = 2
    ...     horizon: float = 1.0
    ...     n_times: int = 5
    ...     def parameter_specs(self):
    ...         return {"rate": bm.games.ParameterSpec((), 0.5, 0.0, "drift rate")}
    >>> class DriftFamily(bm.engine.Family):
    ...     def best_response_map(self, game, mu, params, mu0):
    ...         step = lambda m, r: (m + r * jnp.array([m[1], -m[1]]), None)
    ...         return bm.engine.sweep(step, mu0, params["rate"][:-1])[0]
    ...     def solution(self, game, mu, params, mu0):
    ...         zero = jnp.zeros((), mu.dtype)
    ...         return bm.engine.Solution(jnp.zeros_like(mu), None, None, zero, jnp.zeros((), bool))
    >>> _ = bm.engine.register_family(Drift, DriftFamily())
    >>> eq = bm.equilibrium(Drift(), {"rate": 0.5}, [0.0, 1.0])
    >>> eq.mu[:, 1].round(12).tolist()
    [1.0, 0.5, 0.25, 0.125, 0.0625]
    """

    @abc.abstractmethod
    def best_response_map(self, game: Any, mu: Array, params: Params, mu0: Array) -> Array:
        """``(N, d)``: the flow of a population best-responding to the path ``mu``."""

    @abc.abstractmethod
    def solution(self, game: Any, mu: Array, params: Params, mu0: Array) -> Solution:
        """The :class:`Solution` at a solved fixed point ``mu``."""

    def default_solver(self, game: Any) -> Any:
        """The solver used when none is given: ``Anderson(damping=game.solver_damping)``, or
        ``Picard(damping=game.solver_damping, max_iter=3000)`` for a game that sets
        ``solver_acceleration = False`` (see :class:`~bayes_mfg.games.MeanFieldGame`)."""
        damping = getattr(game, "solver_damping", 0.0)
        if getattr(game, "solver_acceleration", True):
            return Anderson(damping=damping)
        return Picard(damping=damping, max_iter=3000)

    def map_fn(self, game: Any) -> "BestResponse":
        """``G`` as a fixed-point function ``fn(mu, (params, mu0))`` for the solvers."""
        return BestResponse(game, self)

    def exploitability(self, game: Any, params: Params, mu0: Array, policy: Any, regularised: bool) -> Array:
        """What one agent gains by deviating from ``policy`` against the flow it induces
        (:func:`bayes_mfg.exploitability`, which validates the arguments and calls this).

        Optional: the default raises ``NotImplementedError``, so a family that has no notion of
        a policy to score still solves and differentiates.
        """
        raise NotImplementedError(f"the game family {type(self).__name__} does not define exploitability")

    def transition_flows(self, game: Any, eq: Any, params: Params) -> Array:
        """``(N - 1, d, K)``: the mass moving along each jump (or kernel column) over each step
        of a solved equilibrium ``eq`` (:func:`bayes_mfg.engine.transition_flows`, which
        validates the arguments and calls this). Optional: the default raises
        ``NotImplementedError``."""
        raise NotImplementedError(f"the game family {type(self).__name__} does not define transition flows")

    def sample_flow(self, game: Any, params: Params, mu0: Array, policy: Any, n_agents: int, key: Array) -> Array:
        """``(N, d)``: the empirical flow of ``n_agents`` agents, drawn from ``mu0``, each playing
        ``policy`` in the population they form (:func:`bayes_mfg.epsilon_nash`). Optional."""
        raise NotImplementedError(f"the game family {type(self).__name__} does not define sample_flow")

    def deviation_gain(self, game: Any, params: Params, mu0: Array, policy: Any, flow: Array,
                       regularised: bool) -> Array:
        """What one agent starting from ``mu0`` gains by best-responding to ``flow`` instead of
        playing ``policy`` against it (:func:`bayes_mfg.epsilon_nash`). Optional."""
        raise NotImplementedError(f"the game family {type(self).__name__} does not define deviation_gain")


class BestResponse:
    """``fn(mu, (params, mu0)) = G(mu)``: a family's map as a solver's fixed-point function.

    Hashable by (game, family), so that it can be a static argument (``custom_vjp``).
    Families may subclass it to offer more operations to solvers that need them (e.g. the
    policy evaluations of online mirror descent).

    Parameters
    ----------
    game
        The game.
    family
        Its family.

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> game = bm.games.LinearQuadratic(n_states=3, n_times=20)
    >>> params, mu0 = game.params(gamma=1.55), jnp.array([0.5, 0.3, 0.2])
    >>> fn = bm.engine.family_of(game).map_fn(game)
    >>> fn(jnp.broadcast_to(mu0, (20, 3)), (params, mu0)).shape
    (20, 3)
    """

    def __init__(self, game: Any, family: Family) -> None:
        self.game, self.family = game, family

    def __call__(self, mu: Array, args: tuple[Params, Array]) -> Array:
        params, mu0 = args
        return self.family.best_response_map(self.game, mu, params, mu0)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (self.game, self.family) == (other.game, other.family)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.game, self.family))


@functools.singledispatch
def family_of(game: Any) -> Family:
    """The :class:`Family` registered for ``type(game)`` (or its nearest base class).

    Parameters
    ----------
    game
        A game.

    Returns
    -------
    Family

    Raises
    ------
    TypeError
        If no family is registered for the game's class or its bases.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> fam = bm.engine.family_of(bm.games.BeachBar())
    >>> fam is bm.engine.discrete_time.DISCRETE_TIME
    True
    """
    raise TypeError(
        f"no game family is registered for {type(game).__name__}: subclass bayes_mfg.games.ContinuousTimeGame "
        "or DiscreteTimeGame, or register one with bayes_mfg.engine.register_family"
    )


def register_family(game_type: type, family: Family) -> Family:
    """Register ``family`` for ``game_type`` and its subclasses; returns ``family``.

    Parameters
    ----------
    game_type
        A subclass of :class:`~bayes_mfg.games.MeanFieldGame`.
    family
        The :class:`Family` that solves its games.

    Returns
    -------
    Family
        ``family``.

    Examples
    --------
    See :class:`Family` for a complete one.

    >>> import bayes_mfg as bm
    >>> bm.engine.register_family(int, None)
    Traceback (most recent call last):
    ...
    TypeError: game_type must be a subclass of bayes_mfg.games.MeanFieldGame, got <class 'int'>

    Raises
    ------
    TypeError
        If ``game_type`` is not a subclass of :class:`~bayes_mfg.games.MeanFieldGame` or
        ``family`` is not a :class:`Family`.
    """
    if not (isinstance(game_type, type) and issubclass(game_type, MeanFieldGame)):
        raise TypeError(f"game_type must be a subclass of bayes_mfg.games.MeanFieldGame, got {game_type!r}")
    if not isinstance(family, Family):
        raise TypeError(f"family must be a bayes_mfg.engine.Family, got {type(family).__name__}")
    family_of.register(game_type, lambda game: family)
    return family
