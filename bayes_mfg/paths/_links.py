"""Links from an unconstrained ``eta`` to a parameter's scale, and their inverses (see :mod:`bayes_mfg.paths`)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import check_choice
from bayes_mfg.games.base import ParameterSpec

__all__ = ["LINKS", "apply_link", "inverse_link", "resolve_link"]

Array = jax.Array

#: Accepted values of the ``link`` field of :class:`TimeSpline` and :class:`Neural`.
LINKS = ("auto", "identity", "softplus", "exp", "logistic")


def resolve_link(link: str, spec: ParameterSpec) -> str:
    check_choice("link", link, LINKS)
    if link == "auto":
        if spec.upper is not None:
            return "logistic"
        return "identity" if spec.lower is None else "softplus"
    if link == "logistic" and (spec.lower is None or spec.upper is None):
        raise ValueError("link='logistic' needs a parameter with both a lower and an upper bound")
    return link


def _logistic_range(spec: ParameterSpec, floor: float) -> tuple[float, float]:
    """``(base, width)``: the logistic link maps onto ``(base, base + width)``, ``floor`` inside the bounds."""
    lo, hi = float(spec.lower), float(spec.upper)  # type: ignore[arg-type]
    return lo + floor, hi - lo - 2 * floor


def apply_link(eta: Any, spec: ParameterSpec, link: str = "auto", floor: float = 1e-3) -> Array:
    """Map an unconstrained ``eta`` to the parameter's scale.

    ``identity``: ``eta``; ``softplus`` / ``exp``: ``(spec.lower or 0) + floor + link(eta)``;
    ``logistic``: ``lower + floor + (upper - lower - 2 floor) sigmoid(eta)`` (``"auto"`` picks
    logistic when ``spec.upper`` is set, softplus when only ``spec.lower`` is, identity
    otherwise).

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
    kind = resolve_link(link, spec)
    eta = jnp.asarray(eta)
    if kind == "identity":
        return eta
    if kind == "logistic":
        base, width = _logistic_range(spec, float(floor))
        return base + width * jax.nn.sigmoid(eta)
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
    kind = resolve_link(link, spec)
    v = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{argname} must be finite, got {value!r}")
    if kind == "identity":
        return v
    if kind == "logistic":
        base, width = _logistic_range(spec, float(floor))
        u = (v - base) / width
        if np.any((u <= 0) | (u >= 1)):
            raise ValueError(f"{argname} must be inside ({base:.6g}, {base + width:.6g}) for the logistic link, "
                             f"got values in [{v.min():.6g}, {v.max():.6g}]")
        return np.log(u) - np.log1p(-u)
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
