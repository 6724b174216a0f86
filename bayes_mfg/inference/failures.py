"""Counting the equilibrium and adjoint solves that fail during inference.

Inside a NumPyro model a failed solve is never a NaN: :class:`bayes_mfg.CalibrationModel`
adds ``-inf`` to the log density (NUTS: a divergent, rejected proposal; SVI: a skipped step)
and its adjoint makes the gradient NaN (on the next leapfrog step the momentum is NaN, so
the point gets zero weight and the trajectory stops: rejected too). This module makes
those rejections visible: while a :func:`recording` block runs, every model evaluation
with a failed solve reports, from inside the compiled sampler, the failing trajectories,
their :class:`~bayes_mfg.Status` and their parameter values, and ``fit_nuts`` /
``fit_svi`` return the tally as :class:`SolverFailures`.

The reports are host callbacks compiled into a model whenever it has
``report_failures=True`` (and into an ``ImplicitAdjoint(on_failure="nan")`` backward
pass), routed at run time to the recorders open then (:func:`bayes_mfg._reporting.listening`):
a program traced before a :func:`recording` opened reports inside it like any other.
Evaluations that should not report (posterior predictive draws, the Laplace
approximation, checkpoint templates) run :func:`without_reports` of the model, which
carries no callback at all.
"""

from __future__ import annotations

import dataclasses
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from bayes_mfg._reporting import listening
from bayes_mfg.engine import Status
from bayes_mfg.model import CalibrationModel

__all__ = ["MAX_EXAMPLES", "NoValidStart", "SolverFailures", "FailureRecorder", "explaining_failed_starts", "recording",
           "without_reports"]

#: How many failing parameter values are kept verbatim (the ranges cover all of them).
MAX_EXAMPLES = 20


def _range_text(name: str, lo: float, hi: float) -> str:
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return f"{name} non-finite (an overflowing proposal, e.g. the warm-up step-size search)"
    return f"{name} in [{lo:.4g}, {hi:.4g}]"


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

    @property
    def after_warmup(self) -> bool:
        """Whether anything failed outside NUTS warm-up: a rejected proposal in any other
        phase, or a non-converged adjoint solve.

        Warm-up rejections alone are expected (the step-size search tries huge steps, which
        can overflow a constrained parameter to ``inf``) and leave the draws unaffected:
        fits record them in :attr:`by_phase` but do not warn about them.
        """
        rest = {k: n for k, n in self.by_phase.items() if k != "warmup"}
        return bool(sum(rest.values()) or self.n_adjoint_failures)

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
                rng = ", ".join(_range_text(k, lo, hi) for k, (lo, hi) in self.ranges.items())
                parts.append(f"failing parameter values: {rng}")
            for name, n in self.by_status.items():
                parts.append(f"{n} x {Status[name].message}")
        if self.n_adjoint_failures:
            parts.append(
                f"{self.n_adjoint_failures} gradient evaluations had a non-converged adjoint solve (NaN gradient, "
                "rejected); give CalibrationModel(adjoint=ImplicitAdjoint(linear_solver=...)) a stronger linear solver, "
                "e.g. WithFallback(GMRES(restart=80))"
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

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> "SolverFailures":
        """Rebuild a tally from ``dataclasses.asdict`` of one, without its ``examples``
        (e.g. read back from a checkpoint)."""
        return cls(
            n_rejected=int(summary["n_rejected"]),
            n_failed_solves=int(summary["n_failed_solves"]),
            n_adjoint_failures=int(summary["n_adjoint_failures"]),
            by_status=dict(summary["by_status"]),
            by_phase=dict(summary["by_phase"]),
            ranges={k: tuple(v) for k, v in summary["ranges"].items()},
        )


class FailureRecorder:
    """The listener behind :func:`recording`: accumulates reports into :attr:`tally`
    (thread-safe: callbacks may come from XLA threads).

    ``phase`` names the phase of reports made without an iteration index; with
    ``num_warmup`` set, a report's iteration index (passed by ``fit_nuts``'s kernel) puts
    it in ``"warmup"`` or ``"sampling"``.
    """

    def __init__(self, phase: str = "sampling") -> None:
        self.lock = threading.Lock()
        self.tally = SolverFailures()
        self.phase = phase
        self.num_warmup: int | None = None

    def phase_of(self, iteration: int) -> str:
        """The phase of a report: from the sampler's iteration index when it passes one."""
        if self.num_warmup is None or iteration < 0:
            return self.phase
        return "warmup" if iteration < self.num_warmup else "sampling"

    def forward(self, ok: np.ndarray, status: np.ndarray, theta: dict[str, np.ndarray], iteration: int = -1) -> None:
        """One model evaluation: per-trajectory convergence ``ok``, Status codes, parameter values."""
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
        """One implicit-gradient backward pass: counted if an adjoint solve failed at a
        converged equilibrium."""
        n = int(np.sum(np.asarray(forward_ok, bool) & ~np.asarray(adjoint_ok, bool)))
        if n:
            with self.lock:
                self.tally.n_adjoint_failures += 1


@contextmanager
def recording(phase: str = "sampling") -> Iterator[FailureRecorder]:
    """Collect the failures reported by model evaluations run inside the block.

    Every model with ``report_failures=True`` (the default) and every
    ``ImplicitAdjoint(on_failure="nan")`` reports, whenever its program was traced.
    ``rec.phase`` may be changed inside the block (e.g. warm-up, then sampling);
    ``rec.tally`` is the :class:`SolverFailures`. Waits for pending callbacks on exit.

    Examples
    --------
    >>> from bayes_mfg.inference import recording
    >>> with recording("optimisation") as rec:
    ...     pass  # evaluate models, gradients, fits
    >>> rec.tally.n_rejected, rec.tally.n_adjoint_failures
    (0, 0)
    """
    rec = FailureRecorder(phase)
    with listening(rec):
        yield rec


def without_reports(model: CalibrationModel) -> CalibrationModel:
    """``model`` with ``report_failures=False``: no failure callback compiled into its
    evaluations (for predictive draws and other evaluations that are not part of a fit)."""
    if not model.report_failures:
        return model
    return dataclasses.replace(model, report_failures=False)


class NoValidStart(RuntimeError):
    """Every starting point a fit tried failed: the equilibrium solves did not converge there
    (or the log density was not finite). The message carries the failure tally."""


#: NumPyro's words when no starting point has a finite log density and gradient
_NUMPYRO_NO_START = "Cannot find valid initial parameters"


@contextmanager
def explaining_failed_starts(caller: str, rec: FailureRecorder | None = None) -> Iterator[None]:
    """Turn NumPyro's generic "Cannot find valid initial parameters" into :class:`NoValidStart`,
    which says that the equilibrium solves failed, with the tally of ``rec`` (status codes,
    parameter ranges, the fix), instead of a message that names nothing.

    Examples
    --------
    >>> from bayes_mfg.inference.failures import explaining_failed_starts
    >>> with explaining_failed_starts("fit_svi"):
    ...     pass
    """
    try:
        yield
    except RuntimeError as e:
        if _NUMPYRO_NO_START not in str(e):
            raise
        tally = rec.tally if rec is not None else SolverFailures()
        detail = (tally.message(caller) if tally else
                  f"{caller}: no failed solve was recorded, so the log density or its gradient was not finite "
                  "at every start (check the priors and the data)")
        raise NoValidStart(
            f"{caller}: no valid starting point: the log density was not finite at any of the starts tried "
            f"(NumPyro: {_NUMPYRO_NO_START.lower()}). {detail}. Try init_values=... inside the region where the "
            "equilibrium converges, a prior that excludes the failing region, or a solver with more iterations"
        ) from None
