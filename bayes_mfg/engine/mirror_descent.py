"""Online mirror descent on policy logits: a solver for families whose map exposes policies.

It is an ordinary :class:`~bayes_mfg.engine.AbstractSolver` run by the same driver as every
other; what it needs of the fixed-point function is the :class:`PolicyMap` protocol (the
discrete-time family provides it), checked by :meth:`OnlineMirrorDescent.check`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import jax
import jax.numpy as jnp

from bayes_mfg._validation import check_positive_float
from bayes_mfg.engine.family import family_of
from bayes_mfg.engine.fixed_point import AbstractSolver, check_stopping, extended_state, keep_best, residual

Array = jax.Array

__all__ = ["OnlineMirrorDescent", "MirrorDescentState", "PolicyMap"]


@runtime_checkable
class PolicyMap(Protocol):
    """What online mirror descent needs of the fixed-point function ``fn`` (besides ``fn(mu, args) = G(mu)``).

    Attributes
    ----------
    temperature
        The entropy temperature ``tau > 0``.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.BeachBar(n_states=5, n_times=4, temperature=0.2)
    >>> isinstance(bm.engine.family_of(game).map_fn(game), bm.engine.PolicyMap)
    True
    """

    temperature: float

    def soft_logits(self, mu: Array, args: Any) -> Array:
        """``(N, d, A)`` ``Q_tau(mu) / tau``: the logits of the soft best response to ``mu``."""

    def flow(self, policy: Array, args: Any) -> Array:
        """``(N, d)`` the flow of a population playing ``policy``."""

    def policy_values(self, mu: Array, policy: Array, args: Any) -> Array:
        """``(N, d, A)`` regularised action values of ``policy`` against ``mu``."""


class MirrorDescentState(extended_state("MirrorDescentFields", ("logits",))):
    """State of online mirror descent: the common solver fields over the flow, plus logits.

    Attributes
    ----------
    x, gx, residual, best_x, best_gx, best_residual, iteration, n_evals
        As in :class:`~bayes_mfg.engine.FixedPointState`, with ``x`` the flow of the current
        policy and ``gx = G(x)``.
    logits
        ``(N, d, A)`` policy logits ``y`` (``pi = softmax(y)``).

    Examples
    --------
    >>> import bayes_mfg as bm, jax.numpy as jnp
    >>> game = bm.games.BeachBar(n_states=5, n_times=4, temperature=0.2)
    >>> params, mu0 = game.params(), jnp.full(5, 0.2)
    >>> fn = bm.engine.family_of(game).map_fn(game)
    >>> state = bm.OnlineMirrorDescent().init(fn, jnp.broadcast_to(mu0, (4, 5)), (params, mu0))
    >>> state.logits.shape, int(state.n_evals)
    ((4, 5, 3), 2)
    """

    __slots__ = ()


@dataclass(frozen=True)
class OnlineMirrorDescent(AbstractSolver):
    """Online mirror descent on the policy logits (discrete-time games).

    With logits ``y`` ``(N, d, A)`` and ``pi = softmax(y)``, one step evaluates the policy
    against its own flow and moves the logits towards its regularised action values,

        y <- (1 - eta * tau) y + eta * Q_tau^{pi, mu^pi}

    where ``mu^pi`` is the flow induced by ``pi`` and ``Q_tau^{pi, mu}`` the action values of
    ``pi`` with the entropy bonus ``tau H``. Its fixed point is ``y = Q / tau``, i.e.
    ``pi = softmax(Q / tau)``: the regularised equilibrium. With ``tau = 0`` this is MFGLib's
    online mirror descent ``y <- y + eta Q``. The start is the soft best response to the
    initial path (``init``, default ``mu0`` repeated). Each step costs a policy evaluation
    and an evaluation of G (for the residual ``max|G(mu) - mu|`` on which it stops, as every
    solver does): ``n_evals`` counts both.

    Parameters
    ----------
    learning_rate
        ``eta > 0``; ``eta * tau <= 1`` is required (checked before the solve).
    tol, max_iter
        As in :class:`~bayes_mfg.engine.Picard`.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> game = bm.games.BeachBar(n_states=5, n_times=4, temperature=0.2)
    >>> eq = bm.equilibrium(game, {}, [0.2] * 5, solver=bm.OnlineMirrorDescent(learning_rate=1.0))
    >>> bool(eq.converged), float(eq.info.residual) <= 1e-10
    (True, True)
    """

    learning_rate: float = 1.0
    tol: float | None = None
    max_iter: int = 2000

    def __post_init__(self) -> None:
        check_positive_float("learning_rate", self.learning_rate)
        check_stopping(self.tol, self.max_iter)

    def check(self, game: Any) -> None:
        fn = family_of(game).map_fn(game)
        if not isinstance(fn, PolicyMap):
            raise TypeError("solver=OnlineMirrorDescent works on policies: it needs a game whose family exposes them "
                            f"(a DiscreteTimeGame), got {type(game).__name__}")
        if self.learning_rate * fn.temperature > 1.0:
            raise ValueError(f"OnlineMirrorDescent needs learning_rate * temperature <= 1, got "
                             f"{self.learning_rate} * {fn.temperature}")

    def _evaluate(self, fn: PolicyMap, logits: Array, args: Any):
        mu = fn.flow(jax.nn.softmax(logits, axis=-1), args)
        gx = fn(mu, args)
        return mu, gx, residual(mu, gx)

    def init(self, fn: PolicyMap, x0: Array, args: Any) -> MirrorDescentState:
        y0 = fn.soft_logits(x0, args)
        mu, gx, res = self._evaluate(fn, y0, args)
        zero = jnp.zeros((), jnp.int32)
        return MirrorDescentState(mu, gx, res, mu, gx, res, zero, zero + 2, y0)

    def step(self, fn: PolicyMap, state: MirrorDescentState, args: Any) -> MirrorDescentState:
        tau, eta = fn.temperature, self.learning_rate
        y = state.logits
        q = fn.policy_values(state.x, jax.nn.softmax(y, axis=-1), args)
        y = (1.0 - eta * tau) * y + eta * q
        mu, gx, res = self._evaluate(fn, y, args)
        best = keep_best(state.best_x, state.best_gx, state.best_residual, mu, gx, res)
        return MirrorDescentState(mu, gx, res, *best, state.iteration + 1, state.n_evals + 2, y)
