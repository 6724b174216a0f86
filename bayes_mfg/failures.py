"""Counting the equilibrium and adjoint solves that fail during inference.

Inside a NumPyro model a failed solve is never a NaN: :class:`bayes_mfg.CalibrationModel`
adds ``-inf`` to the log density (NUTS: a divergent, rejected proposal; SVI: a skipped step)
and its adjoint makes the gradient NaN (on the next leapfrog step the momentum is NaN, so
the point gets zero weight and the trajectory stops: rejected too). This module makes
those rejections visible: while a :func:`recording` context is active, every model
evaluation with a failed solve reports, from inside the compiled sampler, the failing
trajectories, their :class:`~bayes_mfg.equilibrium.Status` and their parameter values,
and ``fit_nuts`` / ``fit_svi`` return the tally as :class:`SolverFailures`.

The reports are host callbacks (``jax.pure_callback``, one per model evaluation and one per
implicit-gradient backward pass, batched under ``vmap``) emitted only when a model is traced
inside :func:`recording`; elsewhere (``Predictive``, ``laplace``, SBC) the model carries none.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial
from dataclasses import dataclass, field
from typing import Any, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import is_concrete

#: How many failing parameter values are kept verbatim (the ranges cover all of them).
MAX_EXAMPLES = 20


@dataclass
class SolverFailures:
    """Tally of failed solves seen by a fit.

    Attributes
    ----------
    n_rejected
        Model evaluations (proposals / optimisation steps) with at least one failed
        equilibrium solve: each was given log density ``-inf`` and rejected.
    n_failed_solves
        Failed per-trajectory equilibrium solves (a proposal may fail on several trajectories).
    n_adjoint_failures
        Gradient evaluations whose implicit adjoint solve did not converge at a converged
        equilibrium (the gradient was NaN, so the step was rejected).
    by_status
        ``{Status name: count}`` over the failed equilibrium solves.
    by_phase
        Rejected evaluations per phase (``"warmup"``, ``"sampling"``, ``"optimisation"``, ...).
    ranges
        ``{parameter: (min, max)}`` over every failed solve's parameter values (paths: over time).
    examples
        Parameter values of the first :data:`MAX_EXAMPLES` rejected proposals (their first
        failing trajectory; ``{parameter: value}``, a path constant in time given as that
        constant).

    Examples
    --------
    >>> fit = bm.fit_nuts(model, data)  # doctest: +SKIP
    >>> print(fit.failures.message())   # doctest: +SKIP
    """

    n_rejected: int = 0
    n_failed_solves: int = 0
    n_adjoint_failures: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_phase: dict[str, int] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.n_rejected or self.n_adjoint_failures)

    def merged(self, other: "SolverFailures") -> "SolverFailures":
        """The tally of two runs (e.g. before and after resuming from a checkpoint)."""
        add = lambda a, b: {k: a.get(k, 0) + b.get(k, 0) for k in {**a, **b}}  # noqa: E731
        ranges = dict(self.ranges)
        for k, (lo, hi) in other.ranges.items():
            old = ranges.get(k, (lo, hi))
            ranges[k] = (min(old[0], lo), max(old[1], hi))
        return SolverFailures(
            self.n_rejected + other.n_rejected,
            self.n_failed_solves + other.n_failed_solves,
            self.n_adjoint_failures + other.n_adjoint_failures,
            add(self.by_status, other.by_status),
            add(self.by_phase, other.by_phase),
            ranges,
            (self.examples + other.examples)[:MAX_EXAMPLES],
        )

    def message(self, what: str = "fit") -> str:
        """One paragraph: counts, phases, the failing parameter ranges and how to fix it."""
        from bayes_mfg.equilibrium import Status

        if not self:
            return f"{what}: no failed equilibrium or adjoint solve"
        parts = []
        if self.n_rejected:
            phases = ", ".join(f"{n} {p}" for p, n in self.by_phase.items())
            parts.append(
                f"{what}: {self.n_rejected} proposals ({phases}) hit a failed equilibrium solve "
                f"({self.n_failed_solves} trajectory solves) and were rejected"
            )
            if self.ranges:
                rng = ", ".join(f"{k} in [{lo:.4g}, {hi:.4g}]" for k, (lo, hi) in self.ranges.items())
                parts.append(f"failing parameter values: {rng}")
            for name, n in self.by_status.items():
                parts.append(f"{n} x {Status[name].message}")
        if self.n_adjoint_failures:
            parts.append(
                f"{self.n_adjoint_failures} gradient evaluations had a non-converged adjoint solve (NaN gradient, "
                "rejected); increase ImplicitAdjoint(max_iter/restart) in CalibrationModel(adjoint=...)"
            )
        return "; ".join(parts)

    def to_attrs(self, prefix: str = "solver_failures_") -> dict[str, Any]:
        """Flat attributes for an ArviZ group (NetCDF-safe: numbers and strings)."""
        return {
            f"{prefix}rejected": int(self.n_rejected),
            f"{prefix}failed_solves": int(self.n_failed_solves),
            f"{prefix}adjoint": int(self.n_adjoint_failures),
            **{f"{prefix}phase_{k}": int(v) for k, v in self.by_phase.items()},
            **{f"{prefix}status_{k}": int(v) for k, v in self.by_status.items()},
            **{f"{prefix}range_{k}": [float(lo), float(hi)] for k, (lo, hi) in self.ranges.items()},
        }


class _Recorder:
    """Thread-safe accumulator behind :func:`recording` (callbacks may come from XLA threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tally = SolverFailures()
        self.phase = "sampling"
        self.num_warmup: int | None = None

    def phase_of(self, iteration: int) -> str:
        """The phase of a report: from the sampler's iteration index when it passes one."""
        if self.num_warmup is None or iteration < 0:
            return self.phase
        return "warmup" if iteration < self.num_warmup else "sampling"

    def forward(self, ok: np.ndarray, status: np.ndarray, theta: dict[str, np.ndarray], iteration: int = -1) -> None:
        from bayes_mfg.equilibrium import Status

        ok = np.asarray(ok, dtype=bool)
        if ok.all():
            return
        bad = np.flatnonzero(~ok)
        phase = self.phase_of(int(iteration))
        with self.lock:
            t = self.tally
            t.n_rejected += 1
            t.n_failed_solves += len(bad)
            t.by_phase[phase] = t.by_phase.get(phase, 0) + 1
            for j in bad:
                name = Status(int(np.asarray(status)[j])).name
                t.by_status[name] = t.by_status.get(name, 0) + 1
                for k, v in theta.items():
                    vj = np.asarray(v)[j]
                    if vj.size:
                        lo, hi = float(np.min(vj)), float(np.max(vj))
                        old = t.ranges.get(k, (lo, hi))
                        t.ranges[k] = (min(old[0], lo), max(old[1], hi))
            if len(t.examples) < MAX_EXAMPLES:  # the first failing trajectory of this proposal
                vals = {k: np.asarray(v)[bad[0]] for k, v in theta.items()}
                t.examples.append({k: (v[0] if v.ndim and np.all(v == v[:1]) else v) for k, v in vals.items()})

    def adjoint(self, adjoint_ok: np.ndarray, forward_ok: np.ndarray) -> None:
        n = int(np.sum(np.asarray(forward_ok, bool) & ~np.asarray(adjoint_ok, bool)))
        if n:
            with self.lock:
                self.tally.n_adjoint_failures += 1


_ACTIVE: list[_Recorder] = []


@contextmanager
def recording(phase: str = "sampling") -> Iterator[_Recorder]:
    """Collect the failures reported by model evaluations run inside the block.

    ``rec.phase`` may be changed inside the block (e.g. warm-up, then sampling);
    ``rec.tally`` is the :class:`SolverFailures`. Waits for pending callbacks on exit.
    """
    rec = _Recorder()
    rec.phase = phase
    _ACTIVE.append(rec)
    try:
        yield rec
    finally:
        jax.effects_barrier()
        _ACTIVE.remove(rec)


def _host_forward(ndims: dict[str, int], ok, status, theta, iteration) -> np.ndarray:
    """Host side of :func:`report_forward`. Under ``vmap`` the arrays carry leading batch
    axes (size 1 for unbatched ones); every batch element is one model evaluation."""
    ok = np.asarray(ok, dtype=bool)
    lead = ok.shape[:-1]  # ok depends on the parameters: batched wherever the model is

    def align(v, base: int) -> np.ndarray:
        v = np.asarray(v)
        prefix, core = v.shape[: v.ndim - base], v.shape[v.ndim - base:]
        if len(prefix) > len(lead):  # size-1 axes of vmap levels this argument was not batched over
            v = v.reshape(prefix[len(prefix) - len(lead):] + core)
        else:
            v = v.reshape((1,) * (len(lead) - len(prefix)) + prefix + core)
        return np.broadcast_to(v, lead + core)

    status = align(status, 1)
    iteration = align(iteration, 0)
    theta = {k: align(v, ndims[k]) for k, v in theta.items()}
    if not ok.all():
        for idx in np.ndindex(*lead):
            if not ok[idx].all():
                for rec in list(_ACTIVE):
                    rec.forward(ok[idx], status[idx], {k: v[idx] for k, v in theta.items()}, int(iteration[idx]))
    return np.zeros(lead, dtype=np.float32)


def report_forward(ok: jax.Array, status: jax.Array, theta: dict[str, jax.Array], iteration: Any = None) -> jax.Array:
    """Inside a model: report the failing trajectories (``ok`` is ``(n_traj,)``) to the
    active recorders, with the sampler's iteration index when known.

    Returns a float32 zero that the caller must add to its output (so the report is not
    removed as dead code). Only while a :func:`recording` is active when the model is
    traced does this emit anything: one ``pure_callback`` per model evaluation (one call for
    a whole ``vmap`` batch), never on gradients (its inputs are constants to autodiff).
    """
    if not _ACTIVE:
        return jnp.zeros((), jnp.float32)
    ok, status, theta = jax.tree_util.tree_map(jax.lax.stop_gradient, (ok, status, dict(theta)))
    ndims = {k: jnp.ndim(v) for k, v in theta.items()}
    it = jnp.asarray(-1 if iteration is None else iteration, dtype=jnp.int32)
    if is_concrete((ok, status, theta, it)):
        # evaluated eagerly (NumPyro's first traces of the model): report directly. An eager
        # pure_callback returns an array committed to one device, which cannot be combined
        # with arrays sharded over several (bayes_mfg.shard_trajectories).
        _host_forward(ndims, *jax.device_get((ok, status, theta, it)))
        return jnp.zeros((), jnp.float32)
    return jax.pure_callback(
        partial(_host_forward, ndims),
        jax.ShapeDtypeStruct((), jnp.float32),
        ok,
        status,
        theta,
        it,
        vmap_method="expand_dims",
    )


def _host_adjoint(adjoint_ok: np.ndarray, forward_ok: np.ndarray) -> np.ndarray:
    for rec in list(_ACTIVE):
        rec.adjoint(adjoint_ok, forward_ok)
    return np.zeros(np.broadcast_shapes(np.shape(adjoint_ok), np.shape(forward_ok)), dtype=np.float32)


def report_adjoint(adjoint_ok: jax.Array, forward_ok: jax.Array) -> jax.Array:
    """Inside an implicit-gradient backward pass: report a failed adjoint solve. Returns a
    zero the caller must use (so the report is not dead code); one host call per
    (batched) backward pass, and nothing unless a :func:`recording` was active at trace time."""
    if not _ACTIVE:
        return jnp.zeros(jnp.shape(adjoint_ok), jnp.float32)
    if is_concrete((adjoint_ok, forward_ok)):  # eager: report directly (see report_forward)
        _host_adjoint(*jax.device_get((adjoint_ok, forward_ok)))
        return jnp.zeros(jnp.shape(adjoint_ok), jnp.float32)
    return jax.pure_callback(
        _host_adjoint,
        jax.ShapeDtypeStruct(jnp.shape(adjoint_ok), jnp.float32),
        adjoint_ok,
        forward_ok,
        vmap_method="expand_dims",
    )
