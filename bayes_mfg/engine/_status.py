"""Why an equilibrium solve stopped: the :class:`Status` codes (a leaf module)."""

from __future__ import annotations

import enum

__all__ = ["Status"]


class Status(enum.IntEnum):
    """Why the solve stopped (``SolverInfo.status``).

    Attributes
    ----------
    SUCCESS
        Converged: ``max|G(mu) - mu| <= tol``.
    MAX_ITERATIONS
        ``max_iter`` reached first.
    NONFINITE
        The map returned NaN/inf.
    EULER_UNSTABLE
        Explicit Euler with ``dt * max out-rate > 1`` (``mu`` would leave the simplex); more
        generally, the game's scheme reported the equilibrium rates outside its domain.

    Examples
    --------
    >>> import bayes_mfg as bm
    >>> bm.Status.EULER_UNSTABLE.value, bm.Status(0).name
    (3, 'SUCCESS')
    """

    SUCCESS = 0
    MAX_ITERATIONS = 1
    NONFINITE = 2
    EULER_UNSTABLE = 3

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Status.SUCCESS: "converged: max|G(mu) - mu| <= tol",
    Status.MAX_ITERATIONS: "not converged: max_iter reached before max|G(mu) - mu| <= tol "
    "(try Anderson(), more iterations or damping)",
    Status.NONFINITE: "failed: the best-response map returned NaN/inf (parameters or values overflow: "
    "give the parameters a prior with lighter tails or an upper bound, and keep float64)",
    Status.EULER_UNSTABLE: "unstable: explicit Euler with dt * max out-rate > 1 leaves the simplex; "
    "use scheme='implicit' (or 'exponential') or more time steps",
}
