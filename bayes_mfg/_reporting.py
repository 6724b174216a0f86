"""Run-time routing of solver-failure reports from compiled code to listeners (a leaf module).

Whether a computation *reports* its failed solves is a static choice made where it is built
(``CalibrationModel(report_failures=True)``, ``ImplicitAdjoint(on_failure="nan")``): the
host callback is then compiled into the program, whatever is listening at trace time. At
run time each report goes to the listeners registered *then* (:func:`listening`), or
nowhere. A program traced outside a listening block and evaluated inside one therefore
reports like any other (reading a registry at trace time, as an earlier design did,
silently dropped those reports).

A listener is any object with two methods:

* ``forward(ok, status, theta, iteration)``: one model evaluation's per-trajectory
  convergence flags ``ok`` ``(n_traj,)``, :class:`~bayes_mfg.engine.Status` codes,
  parameter values ``{name: (n_traj, ...)}`` and the sampler's iteration index (-1: unknown);
* ``adjoint(adjoint_ok, forward_ok)``: one implicit-gradient backward pass.

The inference layer's :func:`bayes_mfg.inference.recording` is such a listener.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial
from typing import Any, Iterator, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import is_concrete

__all__ = ["Listener", "listening", "report_forward", "report_adjoint"]


class Listener(Protocol):
    def forward(self, ok: np.ndarray, status: np.ndarray, theta: dict[str, np.ndarray], iteration: int) -> None: ...

    def adjoint(self, adjoint_ok: np.ndarray, forward_ok: np.ndarray) -> None: ...


_LOCK = threading.Lock()
_LISTENERS: list[Listener] = []


def _current() -> list[Listener]:
    with _LOCK:
        return list(_LISTENERS)


@contextmanager
def listening(listener: Listener) -> Iterator[Listener]:
    """Route every report made while the block runs to ``listener``; waits on exit for the
    callbacks still in flight (``jax.effects_barrier``)."""
    with _LOCK:
        _LISTENERS.append(listener)
    try:
        yield listener
    finally:
        jax.effects_barrier()
        with _LOCK:
            _LISTENERS.remove(listener)


def _align(v: Any, lead: tuple[int, ...], base: int) -> np.ndarray:
    """Broadcast an argument of a batched callback to the batch shape ``lead``: under ``vmap``
    arguments carry leading batch axes (size 1 for the levels they were not batched over)."""
    v = np.asarray(v)
    prefix, core = v.shape[: v.ndim - base], v.shape[v.ndim - base:]
    if len(prefix) > len(lead):
        v = v.reshape(prefix[len(prefix) - len(lead):] + core)
    else:
        v = v.reshape((1,) * (len(lead) - len(prefix)) + prefix + core)
    return np.broadcast_to(v, lead + core)


def _host_forward(ndims: dict[str, int], ok, status, theta, iteration) -> np.ndarray:
    ok = np.asarray(ok, dtype=bool)
    lead = ok.shape[:-1]  # ok depends on the parameters: batched wherever the model is
    listeners = _current()
    if listeners and not ok.all():
        status = _align(status, lead, 1)
        iteration = _align(iteration, lead, 0)
        theta = {k: _align(v, lead, ndims[k]) for k, v in theta.items()}
        for idx in np.ndindex(*lead):
            if not ok[idx].all():
                for listener in listeners:
                    listener.forward(ok[idx], status[idx], {k: v[idx] for k, v in theta.items()}, int(iteration[idx]))
    return np.zeros(lead, dtype=np.float32)


def report_forward(ok: jax.Array, status: jax.Array, theta: dict[str, jax.Array], iteration: Any = None) -> jax.Array:
    """Report one model evaluation's failed trajectories (``ok`` is ``(n_traj,)``).

    Returns a float32 zero that the caller must add to its output (so that the report is not
    removed as dead code). Traced: one ``pure_callback`` per evaluation (one host call for a
    whole ``vmap`` batch), never on gradients (its inputs are constants to autodiff).
    Concrete (NumPyro's first, eager traces of a model): reported directly.
    """
    ok, status, theta = jax.tree_util.tree_map(jax.lax.stop_gradient, (ok, status, dict(theta)))
    ndims = {k: jnp.ndim(v) for k, v in theta.items()}
    it = jnp.asarray(-1 if iteration is None else iteration, dtype=jnp.int32)
    if is_concrete((ok, status, theta, it)):
        # an eager pure_callback returns an array committed to one device, which cannot be
        # combined with arrays sharded over several (bayes_mfg.shard_trajectories)
        _host_forward(ndims, *jax.device_get((ok, status, theta, it)))
        return jnp.zeros((), jnp.float32)
    return jax.pure_callback(
        partial(_host_forward, ndims), jax.ShapeDtypeStruct((), jnp.float32), ok, status, theta, it,
        vmap_method="expand_dims",
    )


def _host_adjoint(adjoint_ok, forward_ok) -> np.ndarray:
    for listener in _current():
        listener.adjoint(np.asarray(adjoint_ok, bool), np.asarray(forward_ok, bool))
    return np.zeros(np.broadcast_shapes(np.shape(adjoint_ok), np.shape(forward_ok)), dtype=np.float32)


def report_adjoint(adjoint_ok: jax.Array, forward_ok: jax.Array) -> jax.Array:
    """Report one implicit-gradient backward pass; returns zeros the caller must use."""
    if is_concrete((adjoint_ok, forward_ok)):
        _host_adjoint(*jax.device_get((adjoint_ok, forward_ok)))
        return jnp.zeros(jnp.shape(adjoint_ok), jnp.float32)
    return jax.pure_callback(
        _host_adjoint, jax.ShapeDtypeStruct(jnp.shape(adjoint_ok), jnp.float32), adjoint_ok, forward_ok,
        vmap_method="expand_dims",
    )
