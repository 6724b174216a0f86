"""Clamped B-spline bases on ``[0, T]`` (the time basis of :class:`~bayes_mfg.paths.TimeSpline`)."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayes_mfg._validation import check_positive_float, check_positive_int, is_concrete
from bayes_mfg.paths._context import PathContext

__all__ = ["bspline_basis", "grid_basis"]

Array = jax.Array


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


def grid_basis(ctx: PathContext, n_knots: int, degree: int) -> Array:
    """The basis on the context's grid: cached NumPy when the grid is concrete, jax otherwise."""
    if is_concrete(ctx.times) and is_concrete(ctx.horizon):
        return jnp.asarray(bspline_basis(np.asarray(ctx.times), n_knots, degree, float(ctx.horizon)))
    if not is_concrete(ctx.horizon):
        raise ValueError("ctx.horizon must be a concrete number (not traced) for a TimeSpline path")
    horizon = float(ctx.horizon)
    knots = _clamped_knots(n_knots, degree, horizon)
    t = jnp.clip(jnp.asarray(ctx.times), 0.0, horizon)
    return _cox_de_boor(t, knots, n_knots, degree, jnp)
